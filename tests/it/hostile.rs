//! Hostile tenant text (issue 12): the demo tenant with names, tags, a management-group cycle, a
//! snapshot label and a saved query full of terminal escapes, bidi overrides, forged lines and
//! Markdown/HTML, imported through the CLI; every human-facing output of every command must show
//! that text inert (no control or format character but azpath's own newlines, no forged line, no
//! Markdown that renders), while JSON keeps it exact.

use azpath::escape::is_unsafe;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Marks the text that follows a hostile newline: no output line may start with it.
const FORGED: &str = "FORGED-LINE";

/// The pieces the tester used: screen clear, window title, OSC-8 link, BEL, CR, backspace, bidi
/// override and isolate, zero-width space, a newline that forges a line, and Markdown/HTML.
fn hostile(base: &str) -> String {
    format!(
        "{base}\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\\r\u{8}\u{202e}txt\u{2066}\u{200b}\n{FORGED} <!-- # heading <script>alert(1)</script> -->"
    )
}

const CI_SP: &str = "40000000-0000-4000-8000-000000000001";
const DAVE: &str = "10000000-0000-4000-8000-000000000004";
const STORAGE: &str = "/subscriptions/5b000000-0000-4000-8000-000000000001/resourceGroups/rg-ml/providers/Microsoft.Storage/storageAccounts/stmltraining";

/// The demo tenant with hostile names on a pipeline service principal, a user, a group, a storage
/// account, a key vault's tag, a management group, and a management-group parent cycle whose ids
/// are hostile (so the import warning quotes them).
fn hostile_facts() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo/tenant.json")).unwrap();
    let mut facts: Value = serde_json::from_str(&text).unwrap();
    let rename = |list: &mut Value, key: &str, id: &str, field: &str, base: &str| {
        let item = list.as_array_mut().unwrap().iter_mut().find(|o| o[key] == id).expect(id);
        item[field] = json!(hostile(base));
    };
    rename(&mut facts["graph"]["servicePrincipals"], "id", CI_SP, "displayName", "gh-ml-pipeline");
    rename(&mut facts["graph"]["users"], "id", DAVE, "displayName", "Dave");
    let group = facts["graph"]["groups"][0]["id"].as_str().unwrap().to_string();
    rename(&mut facts["graph"]["groups"], "id", &group, "displayName", "grp");
    rename(&mut facts["arm"]["resources"], "id", STORAGE, "name", "stmltraining");
    for r in facts["arm"]["resources"].as_array_mut().unwrap() {
        if r["tags"].is_object() {
            for v in r["tags"].as_object_mut().unwrap().values_mut() {
                *v = json!(hostile(v.as_str().unwrap_or("tag")));
            }
        }
    }
    let mgs = facts["arm"]["managementGroups"].as_array_mut().unwrap();
    let mg = mgs.iter_mut().find(|m| m["name"] == "mg-ai-platform").unwrap();
    mg["properties"]["displayName"] = json!(hostile("AI Platform"));
    let mg_id = |n: &str| format!("/providers/Microsoft.Management/managementGroups/{}", hostile(n).replace('/', "-"));
    for (me, parent) in [("cycle-a", "cycle-b"), ("cycle-b", "cycle-a")] {
        mgs.push(json!({
            "id": mg_id(me),
            "type": "Microsoft.Management/managementGroups",
            "name": hostile(me).replace('/', "-"),
            "properties": {"displayName": hostile(me), "parent": {"id": mg_id(parent)}}
        }));
    }
    facts
}

struct Run {
    stdout: String,
    stderr: String,
}

fn azpath(db: &Path, args: &[&str]) -> Run {
    let out = crate::support::run_azpath(db, args);
    let run = Run {
        stdout: String::from_utf8(out.stdout).expect("output is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("errors are UTF-8"),
    };
    assert!(out.status.code().is_some_and(|c| c < 2), "azpath {args:?} failed: {}", run.stderr);
    run
}

/// Text a person reads: nothing unsafe but newlines, no line that a name forged.
fn assert_inert(what: &str, text: &str) {
    let bad: Vec<char> = text.chars().filter(|&c| c != '\n' && is_unsafe(c)).collect();
    assert!(bad.is_empty(), "{what}: unsafe characters {bad:?} in:\n{text}");
    for line in text.lines() {
        assert!(!line.trim_start().to_ascii_uppercase().starts_with(FORGED), "{what}: a name forged the line {line:?}");
    }
}

/// A Markdown document: inert, every `<` escaped, and the only headings azpath's own.
fn assert_inert_markdown(what: &str, text: &str, headings: &[&str]) {
    assert_inert(what, text);
    // Fenced code blocks (the report's DOT source) are text; their own escaping is DOT's.
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let ticks: String = line.chars().take_while(|&c| c == '`').collect();
        match &fence {
            Some(f) if line == f => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks.clone()),
            None => {}
        }
        if fence.is_some() || ticks.len() >= 3 {
            continue;
        }
        let prose: Vec<char> = without_code_spans(line).chars().collect();
        for (i, &c) in prose.iter().enumerate() {
            assert!(c != '<' || i > 0 && prose[i - 1] == '\\', "{what}: a raw `<` in the line {line:?}");
        }
    }
    for line in text.lines().filter(|l| l.starts_with('#')) {
        assert!(headings.iter().any(|h| line.starts_with(h)), "{what}: heading {line:?} came from a name");
    }
}

/// A Markdown line without its code spans (a run of backticks to the next run of the same length),
/// where `<` is only text.
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run = |i: usize| chars[i..].iter().take_while(|&&c| c == '`').count();
    let (mut out, mut i) = (String::new(), 0);
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = run(i);
        let close = (i + n..chars.len()).find(|&j| chars[j] == '`' && (j == 0 || chars[j - 1] != '`') && run(j) == n);
        i = close.map_or(chars.len(), |j| j + n);
    }
    out
}

/// Every string value in a JSON document.
fn json_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        _ => {}
    }
}

/// JSON stays exact: it parses, and no string in it carries azpath's visible escapes (`\u{1b}`).
/// Returns whether the raw hostile text is in it.
fn assert_exact_json(what: &str, text: &str) -> bool {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{text}"));
    let mut all = Vec::new();
    json_strings(&v, &mut all);
    assert!(!all.iter().any(|s| s.contains("\\u{1b}")), "{what}: JSON values were escaped for a terminal");
    all.iter().any(|s| s.contains("\u{1b}[2J\u{1b}]0;pwned\u{7}") && s.contains(&format!("\n{FORGED}")))
}

/// SARIF is JSON that GitHub shows to people: every string in it is inert.
fn assert_inert_sarif(what: &str, text: &str) {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{text}"));
    let mut all = Vec::new();
    json_strings(&v, &mut all);
    for s in all {
        assert!(!s.chars().any(azpath::escape::is_unsafe), "{what}: a raw control or format character in {s:?}");
    }
}

/// DOT a person renders: inert apart from its own line structure, and it parses.
fn assert_inert_dot(what: &str, text: &str) {
    assert_inert(what, text);
    assert!(graphviz_rust::parse(text).is_ok(), "{what}: DOT does not parse:\n{text}");
}

#[test]
fn hostile_tenant_text_is_inert_in_every_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let facts = dir.path().join("hostile.json");
    std::fs::write(&facts, serde_json::to_string_pretty(&hostile_facts()).unwrap()).unwrap();
    let facts = facts.to_str().unwrap();
    let label = hostile("label");

    // import: the cycle warning quotes the hostile management-group ids.
    let imported = azpath(&db, &["-v", "import", facts, "--label", &label]);
    assert!(imported.stderr.contains("form a parent cycle"), "{}", imported.stderr);
    assert!(imported.stderr.contains("\\u{1b}[2"), "escapes are shown visibly: {}", imported.stderr);
    assert_inert("import", &imported.stderr);
    // A second snapshot without the CI principal's Contributor, for the diff.
    let mut fewer = hostile_facts();
    fewer["arm"]["roleAssignments"].as_array_mut().unwrap().retain(|a| a["id"] != crate::support::CI_CONTRIBUTOR);
    let fewer_file = dir.path().join("fewer.json");
    std::fs::write(&fewer_file, serde_json::to_string(&fewer).unwrap()).unwrap();
    assert_inert("import", &azpath(&db, &["import", fewer_file.to_str().unwrap(), "--label", &label]).stderr);

    let sp = format!("id:{CI_SP}");
    let storage = format!("id:{}", STORAGE.to_ascii_lowercase());
    let queries = dir.path().join("queries");
    std::fs::create_dir(&queries).unwrap();
    // A JSON string is a valid TOML basic string (`\u001b`, `\n`, `\"` escapes).
    let toml_string = |s: String| serde_json::to_string(&s).unwrap();
    // A hostile query *name* is refused (it becomes a file name; cli.rs tests that); the
    // description is free text and must be inert.
    let qname = "hostile-query".to_string();
    let query = format!(
        "name = {}\ndescription = {}\nseverity = \"high\"\nfrom = \"pipeline\"\nto = \"crown-jewels\"\n",
        toml_string(qname.clone()),
        toml_string(hostile("description"))
    );
    std::fs::write(queries.join("hostile.toml"), &query).unwrap();
    let qdir = queries.to_str().unwrap();

    let commands: Vec<Vec<&str>> = vec![
        vec!["paths", "--from", "pipeline", "--to", "crown-jewels", "--snapshot", "1"],
        vec!["paths", "--from", "pipeline", "--to", "crown-jewels", "--explain", "--snapshot", "1"],
        vec!["paths", "--from", "kind:User", "--to", "crown-jewels", "--explain", "--snapshot", "1"],
        vec!["explain", &sp, &storage, "--snapshot", "1"],
        vec!["reach", &sp, "--paths", "--snapshot", "1"],
        vec!["reach", "kind:User", "--paths", "--snapshot", "1"],
        vec!["who-can-reach", &storage, "--paths", "--snapshot", "1"],
        vec!["snapshots", "-v"],
        vec!["-v", "snapshots"],
        vec!["query", "run", "--queries", qdir, &qname, "--explain", "--snapshot", "1"],
        vec!["query", "run", "--all", "--snapshot", "1"],
        vec!["diff", "1", "2"],
        vec!["diff", "2", "1"],
        vec!["diff", "1", "--assume-activated"],
        vec!["fix", "--snapshot", "1"],
        vec!["chokepoints", "--snapshot", "1"],
    ];
    let (mut seen_hostile, mut exact_json) = (0, 0);
    for cmd in &commands {
        let formats: &[&str] = match cmd[0] {
            "snapshots" | "-v" => &["table", "json"],
            "diff" | "fix" => &["table", "markdown", "json", "dot"],
            "chokepoints" => &["table", "markdown", "json"],
            "paths" | "query" => &["table", "json", "dot", "markdown", "sarif"],
            _ => &["table", "json", "dot"],
        };
        for format in formats {
            let mut args = cmd.clone();
            args.extend(["--format", format]);
            let run = azpath(&db, &args);
            let what = format!("azpath {args:?}");
            assert_inert(&format!("{what} (stderr)"), &run.stderr);
            match *format {
                "json" => exact_json += usize::from(assert_exact_json(&what, &run.stdout)),
                "sarif" => assert_inert_sarif(&what, &run.stdout),
                "dot" => assert_inert_dot(&what, &run.stdout),
                "markdown" => assert_inert_markdown(
                    &what,
                    &run.stdout,
                    &[
                        "# azpath diff",
                        "## By query",
                        "## Attack paths",
                        "## Facts",
                        "## azpath: ",
                        "### paths from ",
                        "### [",
                    ],
                ),
                _ => assert_inert(&what, &run.stdout),
            }
            if *format != "json" && run.stdout.contains(FORGED) {
                seen_hostile += 1;
            }
        }
    }
    // The hostile names were really shown (escaped), not just absent.
    assert!(seen_hostile >= 20, "hostile text appeared in only {seen_hostile} outputs");
    assert!(exact_json >= 10, "hostile text was exact in only {exact_json} JSON documents");

    // The Markdown audit report shares the escaping.
    let report = dir.path().join("report.md");
    azpath(&db, &["report", "--snapshot", "1", "--queries", qdir, "--output", report.to_str().unwrap()]);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains(FORGED));
    assert_inert_markdown("report.md", &text, &["# Attack-path report", "## ", "### ", "#### "]);

    // An error quoting hostile names (a selector naming several nodes).
    let out = Command::new(env!("CARGO_BIN_EXE_azpath"))
        .arg("--db")
        .arg(&db)
        .args(["explain", "name:*FORGED*", &storage, "--snapshot", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("name one node") && err.contains(FORGED), "{err}");
    assert_inert("explain error", &err);
}

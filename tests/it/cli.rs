//! The binary as a user runs it: exit codes, errors, and output formats.

use crate::support::run_azpath as azpath;

#[test]
fn demo_prints_the_headline_and_how_to_explore() {
    let dir = tempfile::tempdir().unwrap();
    let out = azpath(&dir.path().join("x.db"), &["demo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Headline: 3 of 5 pipeline identities reach"), "{text}");
    assert!(text.contains("stmltraining"));
    assert!(text.contains("Explore further"));
    assert!(!text.contains('\x1b'), "NO_COLOR must mean no escape codes");
}

#[test]
fn paths_json_is_versioned_and_explains_every_hop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let out = azpath(&db, &["paths", "--from", "pipeline", "--to", "stmltraining", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "azpath.paths/1");
    let paths = v["paths"].as_array().unwrap();
    assert!(!paths.is_empty());
    for p in paths {
        for hop in p["path"].as_array().unwrap() {
            assert!(!hop["reason"].as_str().unwrap().is_empty());
            assert!(!hop["evidence"].as_array().unwrap().is_empty(), "{hop}");
        }
    }
}

#[test]
fn explain_prints_the_role_assignment_behind_a_hop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let out = azpath(&db, &["paths", "--from", "pipeline", "--to", "stmltraining", "--explain"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("role assignment: /subscriptions/"), "{text}");
    assert!(text.contains("matched action: Microsoft.Storage/storageAccounts/listkeys/action"), "{text}");
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": \"azpath-facts/1\", \"tenant\": ").unwrap();
    let out = azpath(&db, &["import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not a valid azpath facts file"), "{err}");
    assert!(!err.contains("panicked"));

    let out = azpath(&db, &["paths"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no azpath database at"));

    assert!(azpath(&db, &["demo"]).status.success());
    let out = azpath(&db, &["paths", "--snapshot", "99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no snapshot"));
    let out = azpath(&db, &["paths", "--from", "nobody-by-this-name"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no node"));
}

#[test]
fn search_bounds_over_their_limits_are_clear_errors_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    for (args, needle) in [
        (&["paths", "--max-hops", "18446744073709551615"][..], "the limit is 64 hops"),
        (&["reach", "pipeline", "--max-hops", "65"][..], "the limit is 64 hops"),
        (&["who-can-reach", "tier0", "--max-hops", "1000"][..], "the limit is 64 hops"),
        (&["paths", "--k", "0"][..], "between 1 and 100"),
        (&["paths", "--k", "101"][..], "between 1 and 100"),
    ] {
        let out = azpath(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
    // At the limits, they run.
    assert!(azpath(&db, &["paths", "--max-hops", "64", "--k", "2"]).status.success());
}

/// Issue 12, classes 5 and 7: no command destroys the database, creates one it should not, or
/// leaves one behind when it fails.
#[test]
fn no_command_overwrites_creates_or_leaves_behind_a_database_by_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let err = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).to_string();

    // Read-only commands on a missing database: a clear error, and no file.
    for args in [&["snapshots"][..], &["paths"], &["reach", "pipeline"], &["diff", "1", "2"], &["report"]] {
        let out = azpath(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(err(&out).contains("no azpath database at"), "{args:?}: {}", err(&out));
        assert!(!db.exists(), "{args:?} created the database");
    }
    // A failed import (bad input, a device) leaves no database behind.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"format":"azpath-facts/1","tenant":{"id":"t"},"collectedAt":"yesterday"}"#).unwrap();
    for file in [bad.to_str().unwrap(), "/dev/zero", dir.path().to_str().unwrap()] {
        let out = azpath(&db, &["import", file]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(!db.exists(), "a failed import of {file} left a database: {}", err(&out));
    }
    assert!(err(&azpath(&db, &["import", "/dev/zero"])).contains("does not start with a JSON object"));

    // --output pointed at the database (directly, through `..`, a symlink or its -wal) is refused.
    assert!(azpath(&db, &["demo"]).status.success());
    let before = std::fs::read(&db).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let link = dir.path().join("link.db");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&db, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&db, &link).unwrap();
    let via_dots = sub.join("..").join("x.db");
    let wal = dir.path().join("x.db-wal");
    let targets = [&db, &via_dots, &link, &wal];
    for target in targets {
        let t = target.to_str().unwrap();
        for args in [
            &["paths", "--output", t][..],
            &["report", "--output", t],
            &["synth", "--output", t],
            &["snapshots", "--output", t],
            &["paths", "--format", "dot", "--render", "svg", "--output", t],
        ] {
            let out = azpath(&db, args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(err(&out).contains("refusing to overwrite it"), "{args:?}: {}", err(&out));
        }
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database is unchanged");
    assert!(azpath(&db, &["paths"]).status.success());

    // Another program's SQLite file is refused, untouched.
    let other = dir.path().join("other.db");
    std::fs::write(&other, b"").unwrap();
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY);").unwrap();
    drop(conn);
    let before = std::fs::read(&other).unwrap();
    let out = azpath(&other, &["demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("is not an azpath database"), "{}", err(&out));
    assert_eq!(std::fs::read(&other).unwrap(), before);

    // An error's cause is printed once, not twice.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a_u8; 4096]).unwrap();
    let text = err(&azpath(&junk, &["snapshots"]));
    assert_eq!(text.matches("file is not a database").count(), 1, "{text}");
}

/// Issue 12, classes 5 and 6: saved-query names never become paths, absurd inputs are errors.
#[test]
fn hostile_saved_queries_and_synth_counts_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let queries = dir.path().join("q");
    std::fs::create_dir(&queries).unwrap();
    let q = |name: &str, from: &str| {
        format!("name = {name:?}\ndescription = \"d\"\nseverity = \"high\"\nfrom = {from:?}\nto = \"crown-jewels\"\n")
    };
    std::fs::write(queries.join("escape.toml"), q("../../escaped", "pipeline")).unwrap();
    let out_dir = dir.path().join("out");
    let out = azpath(
        &db,
        &["export", "dot", "--all", "--queries", queries.to_str().unwrap(), "--out-dir", out_dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(text.contains("is not a valid query name"), "{text}");
    assert!(!dir.path().join("escaped.dot").exists() && !dir.path().parent().unwrap().join("escaped.dot").exists());

    // 20,000 `not`s in a saved query: an error naming the limit, not a stack overflow.
    std::fs::write(queries.join("escape.toml"), q("deep", &"not ".repeat(20_000))).unwrap();
    let out = azpath(&db, &["query", "list", "--queries", queries.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the limit is 4096"));
    let deep = format!("{}pipeline{}", "(".repeat(10_000), ")".repeat(10_000));
    let out = azpath(&db, &["reach", &deep]);
    assert_eq!(out.status.code(), Some(2));

    for args in
        [&["synth", "--users", "0"][..], &["synth", "--service-principals", "0"], &["synth", "--users", "999999999999"]]
    {
        let out = azpath(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(text.contains("is not in") && !text.contains("panicked"), "{args:?}: {text}");
    }
}

#[test]
fn rules_are_listed_and_documented() {
    let dir = tempfile::tempdir().unwrap();
    let out = azpath(&dir.path().join("x.db"), &["rules", "rbac-re-enable-keys"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Must not fire"), "{text}");
}

#[test]
fn query_run_speaks_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let run = |format: &str| {
        let out = azpath(&db, &["query", "run", "pipeline-to-tier0", "pipeline-to-secrets", "--format", format]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run("table");
    assert!(table.contains("[CRITICAL] pipeline-to-tier0") && table.contains("[HIGH] pipeline-to-secrets"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["schema"], "azpath.query-run/1");
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| !r["paths"].as_array().unwrap().is_empty() && r["query"]["name"].is_string()));
    let dot = run("dot");
    assert!(dot.contains("kv-ml-secrets"), "{dot}");
    assert!(graphviz_rust::parse(&dot).is_ok(), "{dot}");
}

#[test]
fn ci_gates_exit_1_on_findings_and_0_without() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let out = azpath(&db, &["query", "run", "pipeline-to-tier0", "--fail-on-findings"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    // The backup pipeline reaches no crown jewel: a clean gate.
    let out =
        azpath(&db, &["paths", "--from", "platform=\"Azure DevOps\"", "--to", "crown-jewels", "--fail-on-findings"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No path"));
}

/// A table without `--paths` is made from each result's summary, not its path: it must read as the
/// `--paths` table does without its path lines (same results, order, hops, effort and marks).
#[test]
fn reach_tables_without_paths_are_the_path_tables_less_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    for args in
        [&["reach", "kind:ExternalIdentity"][..], &["who-can-reach", "jewel:training-data"], &["reach", "pipeline"]]
    {
        let text = |extra: &[&str]| {
            let out = azpath(&db, &[args, extra].concat());
            assert!(out.status.success(), "{args:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let with_paths = text(&["--paths"]);
        let without: String =
            with_paths.lines().filter(|l| !l.starts_with("      ")).map(|l| format!("{l}\n")).collect();
        let summed = text(&[]);
        assert!(summed.lines().count() > 10 && summed.contains("[PIM]"), "{summed}");
        assert_eq!(summed, without, "{args:?}");
    }
}

#[test]
fn reach_who_can_reach_k_paths_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let out = azpath(&db, &["reach", "Carol Okafor"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("StorageAccount (2)") && text.contains("stmlcurated"), "{text}");

    // kv-platform (an RBAC vault): Key Vault Contributor Frank cannot read it; tenant control can
    // (a Global Administrator elevates to User Access Administrator at the root scope).
    let out = azpath(&db, &["who-can-reach", "kv-platform"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("IT Admin") && !text.contains("Frank Moreau"), "{text}");

    let out = azpath(&db, &["paths", "--from", "IT Admin", "--to", "stmltraining", "--k", "3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let costs: Vec<u64> = v["paths"].as_array().unwrap().iter().map(|p| p["cost"].as_u64().unwrap()).collect();
    assert_eq!(costs.len(), 3, "{v}");
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");

    let out = azpath(&db, &["explain", "Dave Lindqvist", "stmltraining"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("role eligibility schedule (PIM)") && text.contains("[PIM: requires activation]"), "{text}");

    let out = azpath(&db, &["explain", "kind:User", "stmltraining"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name one node"));
}

#[test]
fn selector_errors_show_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let out = azpath(&db, &["paths", "--from", "kind:User and (pipeline"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("column 24") && err.contains("expected `)`") && err.contains('^'), "{err}");
}

/// A facts file from a pipe whose first chunk is only blank lines is read, not refused as "not
/// JSON" (the first-byte check waits for a byte that is not blank).
#[test]
fn import_reads_a_pipe_that_starts_with_blank_lines() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_azpath"))
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["import", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"  \n").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(azpath::demo::TENANT_JSON.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A large tenant's import runs for minutes: with `-v` it says when each stage is done and how long
/// it took; without, only the summary.
#[test]
fn import_with_v_reports_each_stage() {
    let err = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).to_string();
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("t.json");
    assert!(azpath(&dir.path().join("unused.db"), &["synth", "--output", facts.to_str().unwrap()]).status.success());
    let db = dir.path().join("a.db");
    let out = azpath(&db, &["-v", "import", facts.to_str().unwrap()]);
    assert!(out.status.success(), "{}", err(&out));
    let text = err(&out);
    let stages = [
        "azpath: read ",
        "azpath: parsed the facts in ",
        "derived the attack edges in ",
        "azpath: wrote snapshot #1 in ",
    ];
    let at: Vec<usize> = stages.iter().map(|s| text.find(s).unwrap_or_else(|| panic!("{s:?} in {text}"))).collect();
    assert!(at.is_sorted(), "stages in order: {text}");
    assert!(text.find("azpath: imported ").unwrap() > at[3], "{text}");
    let quiet = err(&azpath(&db, &["import", facts.to_str().unwrap()]));
    assert!(stages.iter().all(|s| !quiet.contains(s)), "{quiet}");
}

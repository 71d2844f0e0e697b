//! The binary as a user runs it: exit codes, errors, and output formats.

use std::process::Command;

fn azpath(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_azpath")).arg("--db").arg(db).args(args).env("NO_COLOR", "1").output().unwrap()
}

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("no snapshot"));

    assert!(azpath(&db, &["demo"]).status.success());
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

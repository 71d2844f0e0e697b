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
    assert!(text.contains("Headline: 2 of 4 pipeline identities reach"), "{text}");
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
fn rules_are_listed_and_documented() {
    let dir = tempfile::tempdir().unwrap();
    let out = azpath(&dir.path().join("x.db"), &["rules", "rbac-re-enable-keys"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Must not fire"), "{text}");
}

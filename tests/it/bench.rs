//! benches/scale.py and benches/peers/peers.py read the binary's `-v` lines: a changed line must
//! break this test, not the benchmark silently.

use crate::support::run_azpath;
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};

const SCALE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scale.py");
const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/peers.py");

fn python(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new("python3")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (the benchmark scripts need it)");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs azpath and returns its stderr, failing on a non-zero exit.
fn stderr_of(db: &std::path::Path, args: &[&str]) -> String {
    let out = run_azpath(db, args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "azpath {args:?} failed: {err}");
    err
}

#[test]
fn the_benchmark_scripts_read_every_verbose_line_the_binary_prints() {
    let dir = tempfile::tempdir().unwrap();
    let (db, facts) = (dir.path().join("a.db"), dir.path().join("facts.json"));
    let facts = facts.to_str().unwrap();
    let mut err = stderr_of(&db, &["synth", "--seed", "3", "--output", facts]);
    err += &stderr_of(&db, &["-v", "import", facts]);
    err += &stderr_of(&db, &["-v", "import", facts]);
    err += &stderr_of(&db, &["-v", "paths", "--snapshot", "1", "--format", "json"]);
    err += &stderr_of(&db, &["-v", "who-can-reach", "tier0", "--snapshot", "1"]);
    err += &stderr_of(&db, &["-v", "diff", "1", "2"]);

    let out = python(&[SCALE, "--parse-stderr", "-"], &err);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arity = |line: &str| read[line].as_array().map(Vec::len);
    // Each line the scripts read, with the numbers it carries.
    assert_eq!(arity("imported"), Some(3), "`imported ... as snapshot #N ...: N nodes, M attack edges`: {err}");
    assert_eq!(arity("load"), Some(4), "`loaded snapshot #N (N nodes, M edges) in X ms`: {err}");
    assert_eq!(arity("paths"), Some(5), "`N sources, M targets, P paths in X ms (search Y ms, then details)`: {err}");
    assert_eq!(arity("results"), Some(2), "`N results in X ms`: {err}");
    assert_eq!(arity("diff"), Some(1), "`diff took X ms`: {err}");
    // And the numbers are the real ones: the second import is snapshot 2, and the edges loaded are
    // the edges imported.
    assert_eq!(read["imported"][0], 2.0);
    assert_eq!(read["load"][2], read["imported"][2]);
    assert!(read["paths"][4].as_f64().unwrap() <= read["paths"][3].as_f64().unwrap(), "search within the whole");

    // Nothing else is taken for a timing line.
    let out = python(&[SCALE, "--parse-stderr", "-"], "azpath: loaded snapshot #1 in 3 ms\nazpath: 3 results\n");
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "{}");
}

#[test]
fn the_benchmark_scripts_explain_themselves_and_refuse_bad_arguments() {
    for script in [SCALE, PEERS] {
        let out = python(&[script, "--help"], "");
        assert!(out.status.success(), "{script} --help: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("usage:"));
    }
    let out = python(&[SCALE, "--sizes", "2m"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown size '2m'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

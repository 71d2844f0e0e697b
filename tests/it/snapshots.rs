//! The CLI's exact output on the built-in demo tenant, locked down as insta snapshots
//! (tests/it/snapshots/*.snap), so that a refactor can show its output is byte-identical.
//!
//! Each case runs the real binary in a fresh temporary folder holding a new `demo.db` loaded with
//! `azpath --db demo.db demo`. The binary runs inside that folder with a relative `--db`, so the
//! database name it prints is always `demo.db`. The only value that changes from run to run, a
//! snapshot's import time, is replaced by a filter.
//!
//! To accept a deliberate change of output: `INSTA_UPDATE=always cargo test --test it snapshots`
//! (or `cargo insta review`), then review and commit the changed .snap files.

use crate::support::CI_CONTRIBUTOR;
use std::path::Path;
use std::process::{Command, Stdio};

/// Appended to every snapshotted output, so that its trailing newlines count.
const END: &str = "[end of output]";

/// A temporary folder with `demo.db` in it, loaded with the demo tenant `loads` times.
struct Demo {
    dir: tempfile::TempDir,
}

impl Demo {
    fn loaded(loads: usize) -> Demo {
        let demo = Demo { dir: tempfile::tempdir().unwrap() };
        for _ in 0..loads {
            demo.run(&["demo"]);
        }
        demo
    }

    /// `azpath --db demo.db ARGS` in the folder; it must succeed. Returns its stdout.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_azpath"))
            .current_dir(self.dir.path())
            .arg("--db")
            .arg("demo.db")
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("AZPATH_DB")
            .env_remove("AZPATH_QUERIES")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "azpath {args:?} failed with {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Snapshots `text` under `name`, with run-specific values (import time, temp folder) masked.
///
/// insta ignores trailing newlines and reads CRLF as LF; so that the snapshot still pins every
/// byte, the text must have no CR and gets an end marker after its last newline.
fn snap(demo: &Demo, name: &str, text: &str) {
    assert!(!text.contains('\r'), "{name}: output has a carriage return");
    let text = format!("{text}{END}");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.add_filter(r#""imported_at": "[^"]*""#, r#""imported_at": "[imported_at]""#);
    settings.add_filter(&regex_escape(&demo.path().display().to_string()), "[tmpdir]");
    settings.bind(|| insta::assert_snapshot!(name, &text));
}

/// `text` as a regular expression matching only itself.
fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// One fresh demo database per case: `azpath ARGS` stdout snapshotted as `name`.
fn case(name: &str, args: &[&str]) {
    let demo = Demo::loaded(1);
    let out = demo.run(args);
    snap(&demo, name, &out);
}

#[test]
fn demo_table() {
    let demo = Demo::loaded(0);
    let out = demo.run(&["demo"]);
    snap(&demo, "demo_table", &out);
}

#[test]
fn demo_json() {
    let demo = Demo::loaded(0);
    let out = demo.run(&["demo", "--format", "json"]);
    snap(&demo, "demo_json", &out);
}

#[test]
fn demo_dot() {
    let demo = Demo::loaded(0);
    let out = demo.run(&["demo", "--format", "dot"]);
    snap(&demo, "demo_dot", &out);
}

#[test]
fn paths_pipeline_to_crown_jewels_table() {
    case("paths_pipeline_to_crown_jewels_table", &["paths", "--from", "pipeline", "--to", "crown-jewels"]);
}

#[test]
fn paths_pipeline_to_crown_jewels_explain() {
    case(
        "paths_pipeline_to_crown_jewels_explain",
        &["paths", "--from", "pipeline", "--to", "crown-jewels", "--explain"],
    );
}

#[test]
fn paths_pipeline_to_crown_jewels_json() {
    case(
        "paths_pipeline_to_crown_jewels_json",
        &["paths", "--from", "pipeline", "--to", "crown-jewels", "--format", "json"],
    );
}

#[test]
fn paths_pipeline_to_crown_jewels_dot() {
    case(
        "paths_pipeline_to_crown_jewels_dot",
        &["paths", "--from", "pipeline", "--to", "crown-jewels", "--format", "dot"],
    );
}

#[test]
fn paths_carol_to_stmlcurated_k3_explain() {
    case(
        "paths_carol_to_stmlcurated_k3_explain",
        &["paths", "--from", "Carol Okafor", "--to", "stmlcurated", "--k", "3", "--explain"],
    );
}

#[test]
fn reach_external_identities_paths_table() {
    case("reach_external_identities_paths_table", &["reach", "kind:ExternalIdentity", "--paths"]);
}

#[test]
fn reach_external_identities_paths_json() {
    case("reach_external_identities_paths_json", &["reach", "kind:ExternalIdentity", "--paths", "--format", "json"]);
}

#[test]
fn who_can_reach_training_data_paths_table() {
    case("who_can_reach_training_data_paths_table", &["who-can-reach", "jewel:training-data", "--paths"]);
}

#[test]
fn explain_dave_to_stmltraining_table() {
    case("explain_dave_to_stmltraining_table", &["explain", "Dave Lindqvist", "stmltraining"]);
}

#[test]
fn explain_dave_to_stmltraining_json() {
    case("explain_dave_to_stmltraining_json", &["explain", "Dave Lindqvist", "stmltraining", "--format", "json"]);
}

#[test]
fn query_list() {
    case("query_list", &["query", "list"]);
}

#[test]
fn query_run_all_table() {
    case("query_run_all_table", &["query", "run", "--all"]);
}

#[test]
fn query_run_all_explain() {
    case("query_run_all_explain", &["query", "run", "--all", "--explain"]);
}

#[test]
fn query_run_all_json() {
    case("query_run_all_json", &["query", "run", "--all", "--format", "json"]);
}

#[test]
fn query_run_all_dot() {
    case("query_run_all_dot", &["query", "run", "--all", "--format", "dot"]);
}

#[test]
fn rules_list() {
    case("rules_list", &["rules"]);
}

#[test]
fn rules_rbac_list_keys() {
    let demo = Demo::loaded(0);
    assert!(demo.run(&["rules"]).lines().any(|l| l.split_whitespace().next() == Some("rbac-list-keys")));
    let out = demo.run(&["rules", "rbac-list-keys"]);
    snap(&demo, "rules_rbac_list_keys", &out);
}

#[test]
fn snapshots_verbose_table() {
    case("snapshots_verbose_table", &["snapshots", "-v"]);
}

#[test]
fn snapshots_json() {
    case("snapshots_json", &["snapshots", "--format", "json"]);
}

#[test]
fn report_markdown_file() {
    let demo = Demo::loaded(1);
    let out = demo.run(&["report", "--output", "report.md"]);
    assert_eq!(out, "", "the report goes to the file only");
    let report = std::fs::read_to_string(demo.path().join("report.md")).unwrap();
    snap(&demo, "report_markdown_file", &report);
}

/// Two loads of the demo: snapshots #1 and #2 are the same tenant, so nothing changed.
fn diff_of_two_demo_loads(name: &str, format: &str) {
    let demo = Demo::loaded(2);
    let out = demo.run(&["diff", "1", "2", "--format", format]);
    snap(&demo, name, &out);
}

#[test]
fn diff_two_loads_table() {
    diff_of_two_demo_loads("diff_two_loads_table", "table");
}

#[test]
fn diff_two_loads_json() {
    diff_of_two_demo_loads("diff_two_loads_json", "json");
}

#[test]
fn diff_two_loads_markdown() {
    diff_of_two_demo_loads("diff_two_loads_markdown", "markdown");
}

#[test]
fn diff_two_loads_dot() {
    diff_of_two_demo_loads("diff_two_loads_dot", "dot");
}

/// What if gh-ml-pipeline's standing Contributor on rg-ml became PIM-eligible?
fn diff_make_eligible(name: &str, format: &str) {
    let demo = Demo::loaded(1);
    // The id is the one `paths --explain` shows as the role assignment behind a pipeline hop.
    let explained = demo.run(&["paths", "--from", "pipeline", "--to", "crown-jewels", "--explain"]);
    assert!(explained.contains(&format!("role assignment: {CI_CONTRIBUTOR}")), "{explained}");
    let out = demo.run(&["diff", "latest", "--make-eligible", CI_CONTRIBUTOR, "--format", format]);
    snap(&demo, name, &out);
}

#[test]
fn diff_make_eligible_table() {
    diff_make_eligible("diff_make_eligible_table", "table");
}

#[test]
fn diff_make_eligible_json() {
    diff_make_eligible("diff_make_eligible_json", "json");
}

#[test]
fn diff_make_eligible_markdown() {
    diff_make_eligible("diff_make_eligible_markdown", "markdown");
}

#[test]
fn diff_make_eligible_dot() {
    diff_make_eligible("diff_make_eligible_dot", "dot");
}

#[test]
fn diff_assume_activated_table() {
    case("diff_assume_activated_table", &["diff", "latest", "--assume-activated"]);
}

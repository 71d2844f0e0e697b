//! `fix` end to end on the demo tenant: the plan closes every headline path, an independent what-if
//! confirms it, protected facts are never cut, and the CLI's formats and errors.

use crate::support::CI_CONTRIBUTOR;
use azpath::diff::WhatIf;
use azpath::fix::{ChangeKind, Costs, NODE_BUDGET};
use azpath::graph::AttackGraph;
use azpath::query::PathOptions;
use azpath::store::Store;
use std::process::Command;

fn demo_store() -> (Store, i64) {
    let mut store = Store::open_in_memory().unwrap();
    let s = azpath::import_facts(&mut store, azpath::demo::raw(), Some("demo")).unwrap();
    (store, s.snapshot)
}

fn ask(keep: &[&str]) -> azpath::FixAsk {
    azpath::FixAsk {
        from: "pipeline".into(),
        to: "crown-jewels".into(),
        options: PathOptions::default(),
        keep: keep.iter().map(|k| k.to_string()).collect(),
        costs: Costs::default(),
        node_budget: NODE_BUDGET,
        rederive: true,
    }
}

#[test]
fn the_plan_closes_every_headline_path_and_a_fresh_what_if_agrees() {
    let (store, snap) = demo_store();
    let out = azpath::fix_snapshot(&store, snap, &ask(&[])).unwrap();
    let headline = azpath::demo::headline(&out.graph);
    assert!(!headline.pipeline_paths.is_empty());
    assert!(!out.plan.impossible && !out.plan.changes.is_empty());
    assert_eq!(out.check.method, "re-derived");
    assert!(out.check.remaining.is_empty(), "left open: {:?}", out.check.remaining);
    // Independently: apply the plan's what-if to the parsed facts, derive, and search the headline.
    let facts = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let after = AttackGraph::from_facts(&out.plan.what_if().apply(&facts).unwrap());
    let h = azpath::demo::headline(&after);
    assert!(h.pipeline_paths.is_empty(), "{} headline paths remain", h.pipeline_paths.len());
    // The cost is the sum of the changes, each change counted once.
    assert_eq!(out.plan.cost, out.plan.changes.iter().map(|c| c.cost).sum::<u32>());
    let mut facts_named: Vec<_> = out.plan.changes.iter().map(|c| (c.kind, c.fact, c.subject.clone())).collect();
    facts_named.dedup();
    assert_eq!(facts_named.len(), out.plan.changes.len());
    assert!(out.plan.lower_bound <= out.plan.cost);
}

/// identity-sync's Graph permission (an app role assignment): in the free plan, replaceable.
const SYNC_GRAPH_PERMISSION: &str = "AAAAQAAAAECAAAAAAAAABAAAAIMAAABAgAAAAAAAAAI";

#[test]
fn protected_facts_are_never_cut() {
    let (store, snap) = demo_store();
    let free = azpath::fix_snapshot(&store, snap, &ask(&[])).unwrap();
    assert!(free.plan.changes.iter().any(|c| c.subject == SYNC_GRAPH_PERMISSION));
    let kept = azpath::fix_snapshot(&store, snap, &ask(&[&format!("fact:{SYNC_GRAPH_PERMISSION}")])).unwrap();
    assert!(!kept.plan.impossible);
    assert!(kept.plan.changes.iter().all(|c| c.subject != SYNC_GRAPH_PERMISSION));
    assert!(kept.check.remaining.is_empty(), "{:?}", kept.check.remaining);
    assert!(kept.plan.cost >= free.plan.lower_bound);
    // The CI service principal's Contributor is the only changeable fact on the GitHub app's own
    // path (the app is a pipeline source; app -> SP is no change): protected, no cut exists, and
    // the output says it is the protection.
    let none = azpath::fix_snapshot(&store, snap, &ask(&[&format!("fact:{CI_CONTRIBUTOR}")])).unwrap();
    assert!(none.plan.impossible && none.plan.blocked_by_protection && none.plan.changes.is_empty());
    assert!(!none.check.remaining.is_empty());
}

#[test]
fn a_key_setting_is_one_change_for_every_principal_listing_keys() {
    // Make role changes dearer than a setting: the plan prefers turning key access off, and each
    // resource's setting is one change however many edges it removes.
    let (store, snap) = demo_store();
    let mut a = ask(&[]);
    a.costs = Costs { role_assignment: 500, pipeline_grant: 500, key_setting: 1, ..Costs::default() };
    let out = azpath::fix_snapshot(&store, snap, &a).unwrap();
    let settings: Vec<_> = out.plan.changes.iter().filter(|c| c.kind == ChangeKind::KeySetting).collect();
    assert!(!settings.is_empty());
    let mut objects: Vec<_> = settings.iter().map(|c| c.object.clone()).collect();
    objects.dedup();
    assert_eq!(objects.len(), settings.len());
    assert!(out.check.remaining.is_empty(), "{:?}", out.check.remaining);
    assert!(
        WhatIf { disable_keys: objects, ..Default::default() }
            .apply(&azpath::facts::parse(&azpath::demo::raw()).unwrap())
            .is_ok()
    );
}

#[test]
fn without_eligible_hops_a_standing_assignment_may_become_eligible_and_the_re_derivation_agrees() {
    // Removal dear, making eligible cheap: where eligible hops do not count, the plan makes
    // standing assignments eligible, and re-deriving the facts with them eligible leaves no path.
    let (store, snap) = demo_store();
    let mut a = ask(&[]);
    a.options.without_eligible = true;
    a.costs = Costs { role_assignment: 100, make_eligible: 1, ..Costs::default() };
    let out = azpath::fix_snapshot(&store, snap, &a).unwrap();
    let eligible: Vec<_> = out.plan.changes.iter().filter(|c| c.kind == ChangeKind::MakeEligible).collect();
    assert!(!eligible.is_empty(), "{:?}", out.plan.changes);
    assert_eq!(out.check.method, "re-derived");
    assert!(out.check.remaining.is_empty(), "left open: {:?}", out.check.remaining);
    assert_eq!(out.plan.what_if().make_eligible.len(), eligible.len());
    // With eligible hops counted, making eligible closes nothing: it is never offered.
    let mut counted = a.clone();
    counted.options.without_eligible = false;
    let out = azpath::fix_snapshot(&store, snap, &counted).unwrap();
    assert!(!out.plan.changes.iter().any(|c| c.kind == ChangeKind::MakeEligible));
}

fn azpath_cli(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_azpath")).arg("--db").arg(db).args(args).env("NO_COLOR", "1").output().unwrap()
}

#[test]
fn cli_formats_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath_cli(&db, &["demo"]).status.success());
    let out = azpath_cli(&db, &["fix", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "azpath.fix/1");
    assert!(["exact", "best-found"].contains(&v["status"].as_str().unwrap()));
    assert_eq!(v["verification"]["remaining"].as_array().unwrap().len(), 0);
    let first = &v["changes"][0];
    assert!(first["command"].as_str().unwrap().starts_with("az "), "{first}");
    assert!(!first["evidence"].as_array().unwrap().is_empty());

    let table = String::from_utf8(azpath_cli(&db, &["fix", "--query", "pipeline-to-secrets"]).stdout).unwrap();
    assert!(table.contains("no path remains"), "{table}");
    let md = String::from_utf8(azpath_cli(&db, &["fix", "--format", "markdown"]).stdout).unwrap();
    assert!(md.contains("| # | Change |"), "{md}");
    let dot = String::from_utf8(azpath_cli(&db, &["fix", "--format", "dot"]).stdout).unwrap();
    assert!(dot.starts_with("digraph") || dot.contains("digraph"), "{dot}");

    let costs = dir.path().join("costs.toml");
    std::fs::write(&costs, "role-assignmnt = 3\n").unwrap();
    let bad = azpath_cli(&db, &["fix", "--costs", costs.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("role-assignmnt"));
    let hops = azpath_cli(&db, &["fix", "--max-hops", "3"]);
    assert_eq!(hops.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&hops.stderr).contains("hop limit"));
}

//! Diff end to end on the demo tenant: a what-if equals the real second snapshot, and CI gates.

use crate::support::CI_CONTRIBUTOR;
use azpath::diff::{self, WhatIf};
use azpath::graph::AttackGraph;
use azpath::query::saved;
use azpath::store::Store;
use serde_json::json;

fn graph(facts: &azpath::facts::Facts) -> AttackGraph {
    AttackGraph::from_facts(facts)
}

/// The demo with the CI service principal's Contributor moved from standing to PIM-eligible, as a
/// second collection would show it.
fn demo_with_eligible_ci() -> azpath::facts::RawFacts {
    let mut raw = azpath::demo::raw();
    let list = raw.arm.get_mut("roleAssignments").unwrap().as_array_mut().unwrap();
    let i = list.iter().position(|a| a["id"] == CI_CONTRIBUTOR).unwrap();
    let mut a = list.remove(i);
    a["properties"]["status"] = json!("Provisioned");
    a["properties"]["startDateTime"] = json!("2026-01-01T00:00:00Z");
    a["properties"]["endDateTime"] = json!("2027-01-01T00:00:00Z");
    raw.arm.get_mut("roleEligibilitySchedules").unwrap().as_array_mut().unwrap().push(a);
    raw
}

/// The facts with shared-key access re-enabled on the archive storage account (its ReadOnly lock
/// still in place).
fn with_archive_keys_enabled(raw: azpath::facts::RawFacts) -> azpath::facts::RawFacts {
    let text = serde_json::to_string(&raw).unwrap();
    let i = text.find("storageAccounts/stmlarchive\"").unwrap();
    let j = i + text[i..].find("\"allowSharedKeyAccess\":false").unwrap();
    let after =
        format!("{}\"allowSharedKeyAccess\":true{}", &text[..j], &text[j + "\"allowSharedKeyAccess\":false".len()..]);
    azpath::facts::RawFacts::from_json(&after).unwrap()
}

/// The facts with the archive account's ReadOnly lock lifted and shared-key access re-enabled: the
/// backup pipeline can list its keys again.
fn with_archive_unlocked_and_keys_enabled(raw: azpath::facts::RawFacts) -> azpath::facts::RawFacts {
    let mut raw = with_archive_keys_enabled(raw);
    let locks = raw.arm.get_mut("locks").unwrap().as_array_mut().unwrap();
    let before = locks.len();
    locks.retain(|l| l["name"] != "archive-readonly");
    assert_eq!(locks.len(), before - 1);
    raw
}

#[test]
fn the_archive_lock_keeps_re_enabled_keys_closed() {
    // Re-enabling shared keys would let the backup pipeline list the archive's keys, but listKeys
    // is a POST that the account's ReadOnly lock blocks, and the pipeline cannot delete the lock.
    let queries = saved::builtin();
    let before = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let keys_on = azpath::facts::parse(&with_archive_keys_enabled(azpath::demo::raw())).unwrap();
    let unlocked = azpath::facts::parse(&with_archive_unlocked_and_keys_enabled(azpath::demo::raw())).unwrap();
    let facts = diff::diff_facts(&before, &keys_on);
    assert_eq!(facts.len(), 1, "{facts:?}");
    let closed = diff::diff_paths(&graph(&before), &graph(&keys_on), &queries, &facts).unwrap();
    assert!(closed.is_empty(), "the lock holds: {closed:?}");
    let facts = diff::diff_facts(&before, &unlocked);
    assert!(facts.iter().any(|f| f.category == "lock" && f.change == diff::Change::Removed), "{facts:?}");
    let opened = diff::diff_paths(&graph(&before), &graph(&unlocked), &queries, &facts).unwrap();
    assert!(
        opened.iter().any(|p| p.change == diff::PathChange::Opened && p.target.ends_with("/stmlarchive")),
        "{opened:?}"
    );
}

#[test]
fn a_what_if_equals_the_real_second_snapshot() {
    let queries = saved::builtin();
    let before = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let real = azpath::facts::parse(&demo_with_eligible_ci()).unwrap();
    let planned = WhatIf { make_eligible: vec![CI_CONTRIBUTOR.into()], ..Default::default() }.apply(&before).unwrap();
    let (ga, gr, gp) = (graph(&before), graph(&real), graph(&planned));
    let strip = |v: Vec<diff::PathDiff>| {
        v.into_iter().map(|p| (p.query, p.change, p.source, p.target, p.before, p.after)).collect::<Vec<_>>()
    };
    let real_diff = diff::diff_paths(&ga, &gr, &queries, &[]).unwrap();
    let planned_diff = diff::diff_paths(&ga, &gp, &queries, &[]).unwrap();
    assert!(!real_diff.is_empty());
    assert!(real_diff.iter().any(|p| p.change == diff::PathChange::NowNeedsActivation));
    assert!(
        !real_diff.iter().any(|p| p.change == diff::PathChange::Closed),
        "eligible, not removed: reachability stays"
    );
    assert_eq!(strip(real_diff), strip(planned_diff));
}

#[test]
fn the_cli_gates_on_new_paths() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut store = Store::open(&db).unwrap();
    azpath::import_facts(&mut store, azpath::demo::raw(), Some("before")).unwrap();
    // After: someone lifted the archive account's ReadOnly lock and re-enabled shared keys, so the
    // backup pipeline can list its keys.
    azpath::import_facts(&mut store, with_archive_unlocked_and_keys_enabled(azpath::demo::raw()), Some("after"))
        .unwrap();
    drop(store);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_azpath")).arg("--db").arg(&db).args(args).output().unwrap()
    };
    let out = run(&["diff", "before", "after", "--fail-on-new-paths"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("[OPENED]") && text.contains("stmlarchive"), "{text}");
    assert!(text.contains("allowSharedKeyAccess=false -> allowSharedKeyAccess=true"), "{text}");
    assert!(
        // Opened: the backup pipeline lists the keys, and the CI pipeline adds itself to grp-ml-platform,
        // whose Storage Account Contributor on the archive's group no lock stops any more.
        text.contains("By query\n") && text.contains("  external-identities-to-anything: 2 opened, 1 easier\n"),
        "{text}"
    );
    let out = run(&["diff", "before", "before", "--fail-on-new-paths"]);
    assert_eq!(out.status.code(), Some(0));
    // The diagram: added hops green, unchanged faded; Graphviz accepts it.
    let out = run(&["diff", "before", "after", "--format", "dot"]);
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.contains("+ added") && dot.contains("#15803d") && dot.contains("stmlarchive"), "{dot}");
    assert!(dot.contains("- removed") && dot.contains("unchanged"), "the legend explains the diff colours");
    assert!(
        dot.lines().filter(|l| l.contains(" -> n")).all(|l| l.contains("tooltip=")),
        "every drawn hop carries its reason, read from both snapshots: {dot}"
    );
    let parsed = graphviz_rust::parse(&dot);
    assert!(parsed.is_ok(), "{parsed:?}");
    let out = run(&["diff", "before", "after", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "azpath.diff/1");
}

/// Two stored snapshots of the demo: before, and after the CI Contributor became eligible and a
/// storage account lost its lock and re-enabled shared keys.
fn stored_pair(db: &std::path::Path) -> (i64, i64) {
    let mut store = Store::open(db).unwrap();
    let a = azpath::import_facts(&mut store, azpath::demo::raw(), Some("before")).unwrap().snapshot;
    let b = azpath::import_facts(
        &mut store,
        with_archive_unlocked_and_keys_enabled(demo_with_eligible_ci()),
        Some("after"),
    )
    .unwrap()
    .snapshot;
    (a, b)
}

#[test]
fn stored_snapshots_diff_like_their_facts_with_or_without_a_fact_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let (a, b) = stored_pair(&db);
    let queries = saved::builtin();
    let store = Store::open(&db).unwrap();
    let fa = azpath::facts::parse(&store.load_raw(a).unwrap()).unwrap();
    let fb = azpath::facts::parse(&store.load_raw(b).unwrap()).unwrap();
    let expected_facts = diff::diff_facts(&fa, &fb);
    let expected_paths = diff::diff_paths(&graph(&fa), &graph(&fb), &queries, &expected_facts).unwrap();
    assert!(expected_facts.iter().any(|f| f.change == diff::Change::Changed), "{expected_facts:?}");
    assert!(expected_facts.iter().any(|f| f.category == "role eligibility"), "{expected_facts:?}");
    assert!(store.fact_digest(a).unwrap().is_some(), "imports write a fact index");
    drop(store);
    let strip = |v: &[diff::PathDiff]| {
        v.iter()
            .map(|p| {
                (p.query.clone(), p.change, p.source.clone(), p.target.clone(), azpath::report::diff::causes_text(p))
            })
            .collect::<Vec<_>>()
    };
    let stored = azpath::diff_snapshots(&db, a, Some(b), &WhatIf::default(), &queries).unwrap();
    assert_eq!(stored.facts, expected_facts, "the digest path finds exactly the facts a full comparison finds");
    assert_eq!(strip(&stored.paths), strip(&expected_paths));
    assert!(
        stored
            .paths
            .iter()
            .any(|p| azpath::report::diff::causes_text(p).iter().any(|c| c.contains("allowSharedKeyAccess")))
    );
    // Snapshots imported before fact indexes existed (or with an older index) fall back to raw facts.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE fact_digests SET version = version - 1 WHERE snapshot_id = ?1", [a]).unwrap();
    drop(conn);
    assert!(Store::open(&db).unwrap().fact_digest(a).unwrap().is_none(), "an old index is not used");
    let fallback = azpath::diff_snapshots(&db, a, Some(b), &WhatIf::default(), &queries).unwrap();
    assert_eq!(fallback.facts, expected_facts);
    assert_eq!(strip(&fallback.paths), strip(&expected_paths));
}

#[test]
fn a_stored_what_if_matches_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let (a, _) = stored_pair(&db);
    let queries = saved::builtin();
    let plan = WhatIf { make_eligible: vec![CI_CONTRIBUTOR.into()], ..Default::default() };
    let stored = azpath::diff_snapshots(&db, a, None, &plan, &queries).unwrap();
    let before = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let planned = plan.apply(&before).unwrap();
    let facts = diff::diff_facts(&before, &planned);
    let expected = diff::diff_paths(&graph(&before), &graph(&planned), &queries, &facts).unwrap();
    assert_eq!(stored.facts, facts);
    assert_eq!(stored.paths, expected);
    assert!(stored.paths.iter().any(|p| p.change == diff::PathChange::NowNeedsActivation));
    assert!(!stored.paths.iter().any(|p| p.change == diff::PathChange::Closed), "eligible, not removed");
}

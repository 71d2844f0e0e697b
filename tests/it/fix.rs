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

/// A small tenant (not the demo): users ann, bob and cy each own the application legacy-sync,
/// whose service principal is Owner of three resource groups.
fn stale_app_tenant() -> azpath::rules::testkit::T {
    let mut t = azpath::rules::testkit::T::new();
    let (app, sp) = t.app("legacy-sync");
    for u in ["ann", "bob", "cy"] {
        let id = t.user(u);
        t.owner("applicationOwners", &app, &id);
    }
    for rg in ["rg-a", "rg-b", "rg-c"] {
        let rg = t.rg(rg);
        t.assign(&sp, "Owner", &rg);
    }
    t
}

/// Imports `t` through the CLI into a new database; returns the directory (kept alive) and the db.
fn imported(t: &azpath::rules::testkit::T) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, serde_json::to_string(&t.raw()).unwrap()).unwrap();
    let out = azpath_cli(&db, &["import", facts.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, db)
}

fn fix_json(db: &std::path::Path, dir: &std::path::Path, costs: &str, extra: &[&str]) -> serde_json::Value {
    let file = dir.join("costs.toml");
    std::fs::write(&file, costs).unwrap();
    let mut args = vec!["fix", "--from", "kind:User", "--to", "kind:ResourceGroup", "--format", "json", "--costs"];
    args.push(file.to_str().unwrap());
    args.extend(extra);
    let out = azpath_cli(db, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn deleting_a_stale_application_or_its_service_principal_is_chosen_when_cheapest_and_verified() {
    let (dir, db) = imported(&stale_app_tenant());
    // At default costs the three ownerships (3 each) are cheapest.
    let v = fix_json(&db, dir.path(), "", &[]);
    assert_eq!(v["status"], "exact");
    assert!(v["changes"].as_array().unwrap().iter().all(|c| c["kind"] == "ownership"), "{v}");
    // Ownerships dearer (30) than the three assignments (30) and deleting the SP (25): delete it.
    let v = fix_json(&db, dir.path(), "ownership = 10\n", &[]);
    assert_eq!((v["status"].as_str(), v["cost"].as_u64()), (Some("exact"), Some(25)), "{v}");
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{v}");
    assert_eq!(changes[0]["kind"], "delete-service-principal");
    assert_eq!(changes[0]["deletes"], serde_json::json!(["sp-legacy-sync"]));
    assert!(changes[0]["command"].as_str().unwrap().starts_with("az ad sp delete --id sp-legacy-sync && "));
    assert_eq!(changes[0]["closes"].as_array().unwrap().len(), 9);
    assert_eq!(v["verification"]["method"], "re-derived");
    assert_eq!(v["verification"]["remaining"], serde_json::json!([]));
    assert_eq!(v["verification"]["extra_rounds"], 0);
    // Deleting the SP alone dear, grants dearer (36 on either side): the application goes, with
    // its SP, still one change (30).
    let costs = "ownership = 12\nrole-assignment = 12\ndelete-service-principal = 100\n";
    let v = fix_json(&db, dir.path(), costs, &[]);
    let changes = v["changes"].as_array().unwrap();
    assert_eq!((changes.len(), v["cost"].as_u64()), (1, Some(30)), "{v}");
    assert_eq!(changes[0]["kind"], "delete-application");
    assert_eq!(changes[0]["deletes"], serde_json::json!(["app-legacy-sync", "sp-legacy-sync"]));
    let command = changes[0]["command"].as_str().unwrap();
    assert!(command.contains("az ad app delete --id app-legacy-sync"), "{command}");
    assert!(command.contains("deletedItems/app-legacy-sync") && command.contains("deletedItems/sp-legacy-sync"));
    assert_eq!(v["verification"]["remaining"], serde_json::json!([]));
    // Kept: the plan falls back to the grants, and never deletes what --keep names.
    let v = fix_json(&db, dir.path(), "ownership = 10\n", &["--keep", "fact:sp-legacy-sync"]);
    assert!(v["changes"].as_array().unwrap().iter().all(|c| c.get("deletes").is_none()), "{v}");
    assert_eq!(v["verification"]["remaining"], serde_json::json!([]));
    // The table names the change.
    let file = dir.path().join("costs.toml");
    std::fs::write(&file, "ownership = 10\n").unwrap();
    let args = ["fix", "--from", "kind:User", "--to", "kind:ResourceGroup", "--costs", file.to_str().unwrap()];
    let table = String::from_utf8(azpath_cli(&db, &args).stdout).unwrap();
    assert!(table.contains("delete the service principal") && table.contains("no path remains"), "{table}");
}

#[test]
fn deleting_a_user_assigned_identity_is_verified_by_re_deriving() {
    // Three users can run code on a VM that carries user-assigned identity id-batch, whose
    // service principal is Owner of three resource groups; the VM's own system-assigned identity
    // holds nothing. Removing grants costs 20 each (60 on either side); deleting the identity 30.
    use azpath::rules::testkit::T;
    use serde_json::json;
    let mut t = T::new();
    let rg = t.rg("rg-compute");
    let uami = t.resource(
        &rg,
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "id-batch",
        json!({"properties": {"principalId": "sp-id-batch"}}),
    );
    t.push_sp("sp-id-batch", "id-batch", "ManagedIdentity");
    let vm = t.resource(
        &rg,
        "Microsoft.Compute/virtualMachines",
        "vm-batch",
        json!({"identity": {"type": "SystemAssigned, UserAssigned", "principalId": "sp-vm-batch",
            "userAssignedIdentities": {uami.clone(): {"principalId": "sp-id-batch"}}}}),
    );
    for u in ["ann", "bob", "cy"] {
        let id = t.user(u);
        t.assign(&id, "Virtual Machine Contributor", &vm);
    }
    for name in ["rg-a", "rg-b", "rg-c"] {
        let target = t.rg(name);
        t.assign("sp-id-batch", "Owner", &target);
    }
    let mut store = Store::open_in_memory().unwrap();
    let snap = azpath::import_facts(&mut store, t.raw(), Some("uami")).unwrap().snapshot;
    let mut a = ask(&[]);
    a.from = "kind:User".into();
    a.to = "name:rg-a,name:rg-b,name:rg-c".into();
    a.costs = Costs { role_assignment: 20, ..Costs::default() };
    let out = azpath::fix_snapshot(&store, snap, &a).unwrap();
    let kinds: Vec<_> = out.plan.changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::DeleteManagedIdentity], "{:?}", out.plan.changes);
    let c = &out.plan.changes[0];
    assert_eq!(c.deletes, [uami.to_ascii_lowercase(), "sp-id-batch".to_string()]);
    assert_eq!(c.command(&out.graph), format!("az identity delete --ids {}", uami.to_ascii_lowercase()));
    assert_eq!(out.check.method, "re-derived");
    assert!(out.check.remaining.is_empty(), "{:?}", out.check.remaining);
    // The re-derived graph has neither the identity nor its service principal.
    let facts = azpath::facts::parse(&t.raw()).unwrap();
    let after = AttackGraph::from_facts(&out.plan.what_if().apply(&facts).unwrap());
    assert!(after.node_index(&uami.to_ascii_lowercase()).is_none() && after.node_index("sp-id-batch").is_none());
    // The VM's system-assigned identity is never a deletion.
    assert!(out.plan.changes.iter().all(|c| !c.deletes.iter().any(|d| d == "sp-vm-batch")));
}

/// A small tenant (not the demo): a GitHub Actions pipeline's service principal holds its only
/// deployment role, Contributor, at the subscription, which also holds the access-policy-mode
/// vault kv-prod in rg-secrets: it can grant itself the vault's secrets. Its deployments go to
/// rg-app and rg-web.
fn pipeline_contributor_tenant() -> (azpath::rules::testkit::T, String) {
    use azpath::rules::testkit::{SUB, T};
    let mut t = T::new();
    let (app, sp) = t.app("gh-deploy");
    t.fic(&app, "https://token.actions.githubusercontent.com", "repo:contoso/web:ref:refs/heads/main");
    let contributor = t.assign(&sp, "Contributor", SUB);
    let secrets = t.rg("rg-secrets");
    t.resource(
        &secrets,
        "Microsoft.KeyVault/vaults",
        "kv-prod",
        serde_json::json!({"properties": {"enableRbacAuthorization": false, "accessPolicies": []}}),
    );
    for rg in ["rg-app", "rg-web"] {
        let rg = t.rg(rg);
        t.storage(&rg, &format!("st{}", &rg[rg.len() - 3..]), false);
    }
    (t, contributor)
}

#[test]
fn narrowing_a_pipelines_only_role_is_chosen_over_removing_it_and_verified() {
    let (t, contributor) = pipeline_contributor_tenant();
    let (_dir, db) = imported(&t);
    let run = |extra: &[&str]| -> (serde_json::Value, Option<i32>) {
        let mut args = vec!["fix", "--from", "pipeline", "--to", "kind:KeyVault", "--format", "json"];
        args.extend(extra);
        let out = azpath_cli(&db, &args);
        assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        (serde_json::from_slice(&out.stdout).unwrap(), out.status.code())
    };
    let (v, code) = run(&[]);
    assert_eq!(code, Some(0));
    assert_eq!((v["status"].as_str(), v["cost"].as_u64()), (Some("exact"), Some(9)), "{v}");
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{v}");
    let c = &changes[0];
    assert_eq!(c["kind"], "narrow-scope");
    assert!(c["subject"].as_str().unwrap().eq_ignore_ascii_case(&contributor), "{c}");
    let sub = azpath::rules::testkit::SUB.to_ascii_lowercase();
    assert_eq!(
        c["scopes"],
        serde_json::json!([format!("{sub}/resourcegroups/rg-app"), format!("{sub}/resourcegroups/rg-web")])
    );
    let command = c["command"].as_str().unwrap();
    assert!(command.starts_with("az role assignment delete --ids "), "{command}");
    assert!(command.contains("az role assignment create --assignee-object-id sp-gh-deploy --assignee-principal-type ServicePrincipal --role b24988ac-6180-42a0-ab88-20f7382dd24c"), "{command}");
    assert_eq!(v["verification"]["method"], "re-derived");
    assert_eq!(v["verification"]["remaining"], serde_json::json!([]));
    assert_eq!(v["verification"]["extra_rounds"], 0);
    // The table lists where the pipeline keeps its role.
    let table =
        String::from_utf8(azpath_cli(&db, &["fix", "--from", "pipeline", "--to", "kind:KeyVault"]).stdout).unwrap();
    assert!(
        table.contains("narrow the Azure role assignment's scope") && table.contains("keeps it at: rg-app"),
        "{table}"
    );
    assert!(table.contains("no path remains"), "{table}");
    // Protected, the pipeline's grant is not narrowed either: its service principal is a source,
    // so no plan remains, and the output says the protection is why.
    let (v, code) = run(&["--keep", &format!("fact:{contributor}")]);
    assert_eq!((code, v["status"].as_str(), v["blocked_by_protection"].as_bool()), (Some(1), Some("none"), Some(true)));
    assert_eq!(v["changes"], serde_json::json!([]));
    // Independently: the re-derived graph still lets the pipeline reach its own resource groups.
    let mut store = Store::open_in_memory().unwrap();
    let snap = azpath::import_facts(&mut store, t.raw(), Some("p")).unwrap().snapshot;
    let mut a = ask(&[]);
    a.to = "kind:KeyVault".into();
    let out = azpath::fix_snapshot(&store, snap, &a).unwrap();
    let facts = azpath::facts::parse(&t.raw()).unwrap();
    let after = out.plan.what_if().apply(&facts).unwrap();
    let kept: Vec<_> =
        after.role_assignments.iter().filter(|a| a.principal_id == "sp-gh-deploy").map(|a| a.scope.clone()).collect();
    assert_eq!(kept, [format!("{sub}/resourcegroups/rg-app"), format!("{sub}/resourcegroups/rg-web")]);
    let g = AttackGraph::from_facts(&after);
    let sp = g.node_index("sp-gh-deploy").unwrap();
    assert!(g.out_edges(sp).any(|e| g.edge(e).target.contains("rg-app")), "the pipeline keeps its role on rg-app");
}

#[test]
fn every_rule_behind_azure_grants_is_judged_narrowable_or_not() {
    // Narrowing trusts a list of rules whose grants are checked on the edge's target (or an ARM
    // ancestor of it): a new rule with Azure grants behind its edges must be judged first.
    use azpath::fix::{NARROWABLE_RULES, NOT_NARROWABLE_RULES};
    use azpath::model::EvidenceKind;
    let ids: Vec<&str> = azpath::rules::RULES.iter().map(|r| r.id).collect();
    for r in NARROWABLE_RULES.iter().chain(NOT_NARROWABLE_RULES) {
        assert!(ids.contains(r), "no rule {r}");
        assert!(!(NARROWABLE_RULES.contains(r) && NOT_NARROWABLE_RULES.contains(r)), "{r} is in both lists");
    }
    // Every rule fires on the demo (tests/it/demo.rs), so its edges show which rules use grants.
    let g = AttackGraph::from_facts(&azpath::facts::parse(&azpath::demo::raw()).unwrap());
    let grant =
        |ev: &azpath::model::Evidence| matches!(ev.kind, EvidenceKind::RoleAssignment | EvidenceKind::RoleEligibility);
    let with_grants: Vec<_> =
        g.edges().filter(|e| e.evidence().iter().chain(e.alternatives.iter().flatten()).any(grant)).collect();
    let mut rules: Vec<&str> = with_grants.iter().map(|e| &*e.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    assert!(rules.len() >= 15, "{rules:?}");
    let mut unjudged: Vec<&str> = with_grants
        .iter()
        .map(|e| &*e.rule)
        .filter(|r| !NARROWABLE_RULES.contains(r) && !NOT_NARROWABLE_RULES.contains(r))
        .collect();
    unjudged.sort_unstable();
    unjudged.dedup();
    assert!(unjudged.is_empty(), "rules with Azure grants not judged for narrowing: {unjudged:?}");
}

/// The stored graph can lag its facts (a snapshot derived by an older azpath, say): the plan cuts
/// the stored paths, the re-derivation finds one they did not show, and `fix` plans again on the
/// re-derived graph (reading the facts a second time) until no path remains.
#[test]
fn a_path_the_stored_graph_did_not_show_is_planned_in_a_further_round() {
    use azpath::rules::testkit::T;
    let tenant = |second_grant: bool| {
        let mut t = T::new();
        let (app, sp) = t.app("gh-deploy");
        t.fic(&app, "https://token.actions.githubusercontent.com", "repo:contoso/web:ref:refs/heads/main");
        let rg = t.rg("rg-secrets");
        let vault = t.resource(
            &rg,
            "Microsoft.KeyVault/vaults",
            "kv-prod",
            serde_json::json!({"properties": {"enableRbacAuthorization": true}}),
        );
        t.assign(&sp, "Key Vault Secrets User", &vault);
        if second_grant {
            t.assign(&sp, "Key Vault Secrets Officer", &rg);
        }
        t
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let snapshot = {
        let mut store = Store::open(&db).unwrap();
        azpath::import_facts(&mut store, tenant(false).raw(), None).unwrap().snapshot
    };
    // The stored facts gain the second grant; the stored edges do not.
    let later = azpath::facts::CompactFacts::from(tenant(true).raw());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE raw_facts SET body = ?1 WHERE snapshot_id = ?2 AND side = 'arm' AND collection = 'roleAssignments'",
            rusqlite::params![later.arm["roleAssignments"], snapshot],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let store = Store::open(&db).unwrap();
    let mut asked = ask(&[]);
    asked.to = "kind:KeyVault".into();
    let out = azpath::fix_snapshot(&store, snapshot, &asked).unwrap();
    assert_eq!(out.check.method, "re-derived");
    assert_eq!(out.check.extra_rounds, 1, "{:?}", out.plan.changes);
    assert!(out.check.remaining.is_empty(), "{:?}", out.check.remaining);
    assert!(!out.plan.exact, "a plan grown by rounds is not claimed minimal");
    let removed: Vec<&str> = out.plan.changes.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(removed.len(), 2, "both grants go: {removed:?}");
}

#[test]
fn chokepoints_within_a_bound_count_at_least_the_easiest_paths_pairs() {
    let (_dir, db) = {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db");
        let out = azpath_cli(&db, &["demo"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (dir, db)
    };
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["chokepoints", "--top", "0", "--format", "json"];
        args.extend(extra);
        let out = azpath_cli(&db, &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (easiest, within) = (run(&[]), run(&["--within", "5"]));
    assert_eq!(easiest["within"], serde_json::Value::Null);
    assert_eq!(within["within"], 5);
    assert_eq!(easiest["pairs"], within["pairs"]);
    assert!(within["paths"].as_u64() > easiest["paths"].as_u64(), "{within}");
    // Every chokepoint of the easiest paths is one within the bound, on at least as many pairs.
    let count = |v: &serde_json::Value, what: &serde_json::Value| {
        v["chokepoints"].as_array().unwrap().iter().find(|c| &c["what"] == what).map(|c| c["pairs"].as_u64().unwrap())
    };
    for c in easiest["chokepoints"].as_array().unwrap() {
        assert!(count(&within, &c["what"]) >= Some(c["pairs"].as_u64().unwrap()), "{c}");
    }
}

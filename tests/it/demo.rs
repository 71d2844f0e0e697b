//! End to end on the built-in demo tenant: every planted path is found hop by hop, and no decoy is
//! a path. See `src/demo/README.md` for the tenant.

use crate::support::*;
use azpath::model::EdgeKind::{self, *};
use azpath::model::NodeKind;

fn kinds(steps: &[(EdgeKind, String)]) -> Vec<EdgeKind> {
    steps.iter().map(|s| s.0).collect()
}

#[test]
fn github_actions_reaches_training_data_through_contributor_list_keys() {
    let g = demo_graph();
    let p = path(&g, named(&g, GITHUB), named(&g, "stmltraining")).expect("planted path 1");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s), [AuthenticatesAs, AuthenticatesAs, ListKeys], "{s:?}");
    assert_eq!(s[0].1, "gh-ml-pipeline");
    let last = g.edge(*p.edges.last().unwrap());
    assert!(last.reason(&g).contains("Contributor on rg-ml"), "{}", last.reason(&g));
    assert!(last.evidence().iter().any(|e| e.kind == azpath::model::EvidenceKind::RoleAssignment));
    assert!(last.evidence().iter().any(|e| e.value.contains("allowSharedKeyAccess")));
    assert!(!p.requires_activation(&g));
}

#[test]
fn the_ci_sp_owns_another_app_and_reaches_openai_keys() {
    let g = demo_graph();
    let p = path(&g, named(&g, GITHUB), named(&g, "oai-prod")).expect("planted path 2");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s), [AuthenticatesAs, AuthenticatesAs, AddSecret, AuthenticatesAs, ListKeys], "{s:?}");
    assert_eq!(s[2].1, "openai-batch-scorer");
    let add = g.edge(p.edges[2]);
    assert!(add.evidence().iter().any(|e| e.kind == azpath::model::EvidenceKind::OwnedByGrant), "{:?}", add.evidence());
    assert!(g.edge(p.edges[4]).reason(&g).contains("Cognitive Services Contributor"));
}

#[test]
fn data_scientists_reach_curated_data_through_the_compute_identity() {
    let g = demo_graph();
    let carol = named(&g, "Carol Okafor");
    let p = path(&g, carol, named(&g, "stmlcurated")).expect("planted path 3");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s)[..5], [MemberOf, MemberOf, ExecuteOn, RunCodeAs, AuthenticatesAs], "{s:?}");
    assert!(matches!(s[5].0, ReadData | WriteData));
    assert_eq!(s[1].1, "grp-data-science");
    assert_eq!(s[2].1, "gpu-cluster");
    assert!(g.edge(p.edges[2]).reason(&g).contains("AzureML Data Scientist"));
    assert!(g.edge(p.edges[5]).reason(&g).contains("Storage Blob Data Contributor"));
}

#[test]
fn the_access_policy_vault_is_reached_by_set_access_policy() {
    let g = demo_graph();
    let p = path(&g, named(&g, GITHUB), named(&g, "kv-ml-secrets")).expect("planted path 4");
    assert_eq!(kinds(&steps(&g, &p)), [AuthenticatesAs, AuthenticatesAs, SetAccessPolicy]);
}

#[test]
fn the_pim_eligible_owner_needs_activation() {
    let g = demo_graph();
    let dave = named(&g, "Dave Lindqvist");
    let p = path(&g, dave, named(&g, "stmltraining")).expect("planted path 5");
    assert!(p.requires_activation(&g));
    assert!(g.edge(p.edges[0]).evidence().iter().any(|e| e.kind == azpath::model::EvidenceKind::RoleEligibility));
    let rg = named_kind(&g, "rg-ml", NodeKind::ResourceGroup);
    let own = path(&g, dave, rg).unwrap();
    assert_eq!(kinds(&steps(&g, &own)), [AssignRoles]);
    assert!(own.cost > AssignRoles.base_cost() + 5, "eligible costs more than active");
}

#[test]
fn write_on_a_key_disabled_account_is_a_costlier_re_enable_keys_path() {
    let g = demo_graph();
    let p = path(&g, named(&g, GITHUB), named(&g, "stmlfeatures")).expect("planted subtle case");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s), [AuthenticatesAs, AuthenticatesAs, ReEnableKeys], "{s:?}");
    let e = g.edge(p.edges[2]);
    assert!(e.reason(&g).contains("configuration change"));
    assert!(e.cost > ListKeys.base_cost());
}

#[test]
fn terraform_reaches_the_tenant_through_graph_permissions() {
    let g = demo_graph();
    let tenant = g.node_ids().find(|&i| g.node(i).kind == NodeKind::Tenant).unwrap();
    let p = path(&g, named(&g, TERRAFORM), tenant).expect("planted tier-0 path");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s), [AuthenticatesAs, AuthenticatesAs, HasRole, AddSecret, HasRole, GrantAnyRole], "{s:?}");
    assert_eq!(s[3].1, "identity-sync");
}

#[test]
fn tenant_control_elevates_to_the_root_scope_of_azure() {
    // kv-platform has no Azure role assignment that any pipeline holds: Terraform reaches it only as
    // Global Administrator, elevating to User Access Administrator at `/`.
    let g = demo_graph();
    let p = path(&g, named(&g, TERRAFORM), named(&g, "kv-platform")).expect("tier 0 reaches every vault");
    let s = steps(&g, &p);
    let elevate = s.iter().position(|(k, to)| *k == AssignRoles && to == "Tenant Root Group").expect("{s:?}");
    assert_eq!(s[elevate - 1].1, "tenant Contoso ML", "{s:?}");
    assert!(s[elevate + 1..].iter().all(|(k, _)| *k == Contains), "{s:?}");
    let h = azpath::demo::headline(&g);
    assert!(h.pipeline_paths.iter().any(|p| g.node(p.target).name == "kv-platform"), "shown in the headline");
}

#[test]
fn helpdesk_resets_non_admins_only() {
    let g = demo_graph();
    let helpdesk = g.node_ids().find(|&i| g.node(i).name == "Helpdesk Administrator").expect("Mallory's role");
    let reset: Vec<String> = g
        .out_edges(helpdesk)
        .filter(|&e| g.edge_kind(e) == ResetCredential)
        .map(|e| g.node(g.edge_target(e)).name.to_string())
        .collect();
    assert!(reset.contains(&"Bob Fischer".to_string()) && reset.contains(&"Dave Lindqvist".to_string()), "{reset:?}");
    // Global, Privileged Role, Cloud Application and AI Administrators are admins; Mallory herself is
    // eligible for Application Administrator (contested: conditional); IT Admin is also in a
    // role-assignable group.
    for admin in ["IT Admin", "Ivan Petrov", "Judy Adeyemi", "Grace Kim"] {
        assert!(!reset.contains(&admin.to_string()), "{admin} is protected: {reset:?}");
    }
    let p = path(&g, named(&g, "Mallory Quinn"), named(&g, "stmltraining")).unwrap();
    assert!(kinds(&steps(&g, &p)).contains(&ResetCredential), "{:?}", steps(&g, &p));
}

/// The targets of `kind` edges out of a node.
fn targets(g: &azpath::graph::AttackGraph, from: azpath::graph::NodeId, kind: EdgeKind) -> Vec<String> {
    g.out_edges(from).filter(|&e| g.edge_kind(e) == kind).map(|e| g.node(g.edge_target(e)).name.to_string()).collect()
}

#[test]
fn a_helpdesk_scoped_to_the_contractors_unit_resets_carol_and_nobody_else() {
    let g = demo_graph();
    let olivia = named(&g, "Olivia Brennan");
    assert_eq!(targets(&g, olivia, ResetCredential), ["Carol Okafor"], "only the unit's member");
    let e = g.out_edges(olivia).map(|e| g.edge(e)).find(|e| e.kind == ResetCredential).unwrap();
    assert!(e.reason(&g).contains("ML contractors") && !e.requires_activation, "{}", e.reason(&g));
    assert!(e.evidence().iter().any(|ev| ev.kind == azpath::model::EvidenceKind::AdministrativeUnit));
    // Her Groups Administrator on the unit is PIM-eligible: the unit's group, after activation.
    let add: Vec<_> = g.out_edges(olivia).map(|e| g.edge(e)).filter(|e| e.kind == AddMember).collect();
    let contractors = add.iter().find(|e| g.node(named(&g, "grp-ds-contractors")).id == &*e.target).unwrap();
    assert!(contractors.requires_activation, "{contractors:?}");
    assert!(!targets(&g, olivia, AddMember).contains(&"grp-auditors".to_string()), "a group outside the unit");
}

#[test]
fn nobody_but_tenant_control_reaches_the_restricted_security_team() {
    let g = demo_graph();
    let frank = named(&g, "Frank Moreau");
    let into: Vec<String> = g
        .edges()
        .filter(|e| *e.target == *g.node(frank).id && e.kind != MemberOf)
        .map(|e| g.node(g.node_index(&e.source).unwrap()).name.to_string())
        .collect();
    // Helpdesk and Global Administrator tenant-wide reset everyone else, but not a member of a
    // restricted management unit; the tenant can scope a role to the unit.
    assert_eq!(into, ["tenant Contoso ML"], "{into:?}");
    let p = path(&g, named(&g, "Mallory Quinn"), frank).expect("through tenant control only");
    assert!(steps(&g, &p).iter().any(|(_, to)| to == "tenant Contoso ML"), "{:?}", steps(&g, &p));
}

#[test]
fn an_hr_sync_that_writes_users_can_join_a_dynamic_group_conditionally() {
    let g = demo_graph();
    let perm = named(&g, "Microsoft Graph User.ReadWrite.All");
    let e = g.out_edges(perm).map(|e| g.edge(e)).find(|e| e.kind == AddMember).expect("the dynamic group");
    assert_eq!(g.node(g.node_index(&e.target).unwrap()).name, "grp-all-data-science");
    assert!(e.conditional && e.reason(&g).contains("user.department -eq \"Data Science\""), "{}", e.reason(&g));
    assert_eq!(targets(&g, perm, AddMember), ["grp-all-data-science"], "assigned groups are not reached");
}

#[test]
fn the_ci_pipeline_adds_members_to_ordinary_groups_not_the_role_assignable_one() {
    let g = demo_graph();
    let perm = g.node_ids().find(|&i| g.node(i).name == "Microsoft Graph GroupMember.ReadWrite.All").unwrap();
    let groups: Vec<String> = g
        .out_edges(perm)
        .filter(|&e| g.edge_kind(e) == AddMember)
        .map(|e| g.node(g.edge_target(e)).name.to_string())
        .collect();
    assert!(groups.contains(&"grp-data-science".to_string()), "{groups:?}");
    assert!(!groups.contains(&"grp-tier0-admins".to_string()), "role-assignable: {groups:?}");
}

#[test]
fn the_function_host_master_key_runs_code_as_the_scoring_function() {
    let g = demo_graph();
    let p = path(&g, named(&g, "Kai Tanaka"), named(&g, "oai-prod")).expect("planted path 14");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s), [ExecuteOn, RunCodeAs, ReadData], "{s:?}");
    let e = g.edge(p.edges[0]);
    assert_eq!(&*e.rule, "rbac-function-master-key");
    assert!(e.reason(&g).contains("Function Key Reader") && e.reason(&g).contains("master key"), "{}", e.reason(&g));
}

#[test]
fn publishing_credentials_work_on_the_staging_slot_only() {
    let g = demo_graph();
    let lena = named(&g, "Lena Vogel");
    let slot = named_kind(&g, "func-scoring/staging", NodeKind::FunctionApp);
    let p = path(&g, lena, named(&g, "oai-prod")).expect("planted path 15");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s), [ExecuteOn, RunCodeAs, ReadData], "{s:?}");
    assert_eq!(g.edge_target(p.edges[0]), slot, "through the slot, whose SCM site allows basic auth");
    assert_eq!(g.edge_rule(p.edges[0]), "rbac-publishing-credentials");
    assert_eq!(s[1].1, "func-scoring/slots/staging", "the slot's own identity");
    // Production's SCM site refuses basic auth and the role cannot change that.
    let prod = named_kind(&g, "func-scoring", NodeKind::FunctionApp);
    assert!(g.out_edges(lena).all(|e| g.edge_target(e) != prod));
}

#[test]
fn a_managed_identity_operator_with_a_logic_app_right_runs_code_as_the_training_identity() {
    let g = demo_graph();
    let nora = named(&g, "Nora Haddad");
    let p = path(&g, nora, named(&g, "stmlcurated")).expect("planted path 16");
    let s = steps(&g, &p);
    assert_eq!(kinds(&s)[..2], [RunCodeAs, AuthenticatesAs], "{s:?}");
    assert_eq!(s[0].1, "uami-aml-training");
    let e = g.edge(p.edges[0]);
    assert_eq!(&*e.rule, "rbac-attach-identity");
    let kinds_of: Vec<_> = e.evidence().iter().map(|ev| ev.kind).collect();
    use azpath::model::EvidenceKind::{Carrier, ComputeGrantedBy, RoleAssignment};
    assert!([RoleAssignment, ComputeGrantedBy, Carrier].iter().all(|k| kinds_of.contains(k)), "{:?}", e.evidence());
    assert!(e.cost > ExecuteOn.base_cost() + RunCodeAs.base_cost(), "{}", e.cost);
    let fix = azpath::export::markdown::fix(&g, &e).expect("a fix for the attach hop");
    assert!(fix.contains("Managed Identity Operator") && fix.contains("Logic App Contributor"), "{fix}");
    // A compute's own identity only follows from running code there: no fix of its own.
    let own = g.out_edges(named_kind(&g, "func-scoring", NodeKind::FunctionApp)).find(|&x| g.edge_kind(x) == RunCodeAs);
    assert!(azpath::export::markdown::fix(&g, &g.edge(own.unwrap())).is_none());
}

#[test]
fn a_service_sas_is_a_key_to_the_training_data() {
    let g = demo_graph();
    let ravi = named(&g, "Ravi Menon");
    let t = named(&g, "stmltraining");
    let sas = g.out_edges(ravi).find(|&e| g.edge_kind(e) == ListKeys && g.edge_target(e) == t).expect("service SAS");
    assert_eq!(g.edge_rule(sas), "rbac-list-sas");
}

#[test]
fn decoys_are_not_paths() {
    let g = demo_graph();
    // Reader everywhere, key operator on a key-disabled account, listKeys-only on a local-auth-disabled
    // AI account, Key Vault Contributor on an RBAC vault, AI Administrator, an expired eligibility.
    // Also: App Service plan rights, function keys and Managed Identity Operator without a compute right.
    for decoy in ["Frank Moreau", "Grace Kim", "Erin Castillo", "Paula Ortiz"] {
        assert_eq!(reached_jewels(&g, named(&g, decoy)), Vec::<String>::new(), "{decoy} must reach nothing");
        let out: Vec<_> = g.out_edges(named(&g, decoy)).map(|e| g.edge_kind(e)).collect();
        assert!(out.iter().all(|k| *k == MemberOf), "{decoy} has attack edges: {out:?}");
    }
    // Reader everywhere reaches one thing: Microsoft lets Reader pull images from a registry (its
    // `*/read` includes `registries/pull/read`), so the auditors can read the model images in
    // crmlprod, and nothing else.
    for decoy in ["Audit Reader", "grp-auditors"] {
        assert_eq!(reached_jewels(&g, named(&g, decoy)), ["crmlprod"], "{decoy}");
        let out: Vec<_> = g
            .out_edges(named(&g, decoy))
            .map(|e| (g.edge_kind(e), g.node(g.edge_target(e)).name.to_string()))
            .filter(|(k, _)| *k != MemberOf)
            .collect();
        assert_eq!(out, [(ReadData, "crmlprod".to_string())], "{decoy}");
    }
    for sp in ["backup-operator", "eval-runner"] {
        let ix = named_kind(&g, sp, NodeKind::ServicePrincipal);
        assert_eq!(g.out_edges(ix).count(), 0, "{sp} must have no attack edge");
    }
    for target in ["stmlarchive", "oai-eval", "kv-platform"] {
        let t = named(&g, target);
        for source in ["Audit Reader", "Frank Moreau", "Grace Kim", "Erin Castillo"] {
            assert!(path(&g, named(&g, source), t).is_none(), "{source} -> {target}");
        }
    }
    assert!(!g.nodes.iter().any(|n| n.name == "AI Administrator"));
}

#[test]
fn the_archive_lock_stops_the_platform_team_and_the_delete_lock_changes_nothing() {
    // Decoy g: grp-ml-platform's Storage Account Contributor on rg-data-archive could turn the
    // archive's shared keys back on and list them, but stmlarchive is ReadOnly-locked, and the role
    // cannot delete locks.
    let g = demo_graph();
    let team = named(&g, "grp-ml-platform");
    assert_eq!(g.out_edges(team).count(), 0, "the lock leaves the team no attack edge");
    let raw = azpath::demo::raw();
    let without = |name: &str| {
        let mut raw = raw.clone();
        raw.arm.get_mut("locks").unwrap().as_array_mut().unwrap().retain(|l| l["name"] != name);
        azpath::rules::derive(&azpath::facts::parse(&raw).unwrap())
    };
    let demo = azpath::rules::derive(&azpath::facts::parse(&raw).unwrap());
    let unlocked = without("archive-readonly");
    let team_id = "20000000-0000-4000-8000-000000000004";
    let re_enable: Vec<_> = unlocked.edges.iter().filter(|e| &*e.source == team_id && e.kind == ReEnableKeys).collect();
    assert_eq!(re_enable.len(), 1, "without the lock the decoy would be a path");
    assert!(re_enable[0].target.ends_with("/stmlarchive"));
    // The CanNotDelete lock on rg-ml blocks deletes only: nothing derived depends on it.
    assert_eq!(without("ml-prod-nodelete").edges, demo.edges);
    assert!(demo.edges.iter().all(|e| !e.removes_lock()), "no demo edge needs a lock deleted");
}

#[test]
fn decoy_targets_are_crown_jewels_so_their_absence_means_something() {
    let g = demo_graph();
    for target in ["stmlarchive", "oai-eval", "kv-platform"] {
        assert!(g.node(named(&g, target)).crown_jewel().is_some(), "{target}");
    }
}

#[test]
fn the_headline_lists_pipelines_with_and_without_paths() {
    let g = demo_graph();
    let h = azpath::demo::headline(&g);
    let sources: std::collections::BTreeSet<&str> = h.pipeline_paths.iter().map(|p| g.node(p.source).name).collect();
    // The self-hosted GitHub runner VM (tagged ci=github-actions-self-hosted) is a pipeline source.
    assert_eq!(sources, [TERRAFORM, GITHUB, "vm-build-agent"].into_iter().collect());
    let contained: Vec<&str> = h.contained.iter().map(|&c| g.node(c).name).collect();
    assert_eq!(contained.len(), 2, "{contained:?}");
    assert!(contained.iter().any(|c| c.contains("ml-platform/backup")));
    assert!(contained.iter().any(|c| c.contains("contoso-ml/evals")));
}

#[test]
fn the_demo_is_big_enough_and_every_rule_fires_on_it() {
    let raw = azpath::demo::raw();
    let facts = azpath::facts::parse(&raw).unwrap();
    let objects = facts.users.len()
        + facts.groups.len()
        + facts.service_principals.len()
        + facts.applications.len()
        + facts.resources.len();
    assert!(objects >= 40, "{objects}");
    let derived = azpath::rules::derive(&facts);
    assert!(derived.warnings.is_empty(), "{:?}", derived.warnings);
    for rule in azpath::rules::RULES {
        assert!(derived.edges.iter().any(|e| &*e.rule == rule.id), "rule {} never fires on the demo tenant", rule.id);
    }
}

/// The import derives with `derive_owned`, which frees the facts before merging the rules'
/// edges: it must give what `derive` gives, merged alternatives and pruned role nodes included,
/// on the demo (every rule fires) and on a synthetic tenant (many duplicate hops).
#[test]
fn deriving_from_owned_facts_gives_what_deriving_from_borrowed_ones_gives() {
    let synth = azpath::synth::SynthSpec::small(7);
    for raw in [azpath::demo::raw(), azpath::synth::generate(&synth)] {
        let facts = azpath::facts::parse(&raw).unwrap();
        let borrowed = azpath::rules::derive(&facts);
        assert!(borrowed.edges.iter().any(|e| !e.alternatives.is_empty()), "some hop has several derivations");
        assert_eq!(azpath::rules::derive_owned(facts), borrowed);
    }
}

/// Rules run on every core, each into its own list (`rules::derive`), so a rule may only push its
/// own edges: run after every other rule's edges, each rule must add the same edges it adds alone
/// and leave the others untouched.
#[test]
fn each_rule_adds_the_same_edges_whatever_ran_before_it() {
    let facts = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let ctx = azpath::rules::Context::new(&facts);
    let alone: Vec<Vec<azpath::model::Edge>> = azpath::rules::RULES
        .iter()
        .map(|r| {
            let mut own = Vec::new();
            (r.derive)(&ctx, &mut own);
            own
        })
        .collect();
    let all = alone.concat();
    assert!(all.len() > 100, "the demo derives edges");
    for (r, own) in azpath::rules::RULES.iter().zip(&alone) {
        let mut after_all = all.clone();
        (r.derive)(&ctx, &mut after_all);
        assert!(after_all[..all.len()] == all[..], "{} changed other rules' edges", r.id);
        assert!(after_all[all.len()..] == own[..], "{} added different edges after the others", r.id);
    }
}

/// `Derived::ends` names each edge's own source and target, which the graph is built from without
/// looking ids up again.
#[test]
fn derived_ends_point_at_each_edges_own_nodes() {
    let facts = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let d = azpath::rules::derive(&facts);
    assert_eq!(d.ends.len(), d.edges.len());
    for (e, &(s, t)) in d.edges.iter().zip(&d.ends) {
        assert_eq!((&*d.nodes[s as usize].id, &*d.nodes[t as usize].id), (&*e.source, &*e.target));
    }
}

/// What `fix` verifies with: the same hops at the same costs as the full derivation, only
/// without the merged alternatives (which the demo has: its rules derive some hops twice).
#[test]
fn the_search_only_derivation_has_the_same_hops_and_costs() {
    let facts = azpath::facts::parse(&azpath::demo::raw()).unwrap();
    let (full, lean) = (azpath::rules::derive(&facts), azpath::rules::derive_for_search(&facts));
    let hops = |d: &azpath::rules::Derived| -> Vec<_> {
        d.edges.iter().map(|e| (e.source.clone(), e.target.clone(), e.kind, e.requires_activation, e.cost)).collect()
    };
    assert_eq!(hops(&full), hops(&lean));
    assert_eq!(full.nodes, lean.nodes);
    assert!(full.edges.iter().any(|e| !e.alternatives.is_empty()));
    assert!(lean.edges.iter().all(|e| e.alternatives.is_empty()));
}

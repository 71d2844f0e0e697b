//! Every shipped saved query, run on the demo tenant, with its expected findings.

use crate::support::{DEVOPS, GITHUB, TERRAFORM, demo_graph};
use azpath::query::{self, saved};

fn run(name: &str) -> Vec<(String, String)> {
    let g = demo_graph();
    let q = saved::find(name, None).unwrap();
    let paths =
        query::paths(&g, &query::select(&g, &q.from).unwrap(), &query::select(&g, &q.to).unwrap(), &q.options).unwrap();
    let mut pairs: Vec<(String, String)> =
        paths.iter().map(|p| (g.node(p.source).name.to_string(), g.node(p.target).name.to_string())).collect();
    pairs.sort();
    pairs
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    v.sort();
    v
}

#[test]
fn pipeline_to_training_data() {
    let mut want = vec![];
    for source in [GITHUB, TERRAFORM] {
        for target in ["stmlcurated", "stmlfeatures", "stmltraining"] {
            want.push((source, target));
        }
    }
    // The self-hosted runner's identity reads stmltraining and, rewriting mlw-prod's scripts, gets
    // gpu-cluster's identity, which writes stmlcurated.
    want.push(("vm-build-agent", "stmlcurated"));
    want.push(("vm-build-agent", "stmltraining"));
    assert_eq!(run("pipeline-to-training-data"), pairs(&want));
}

#[test]
fn pipeline_to_models() {
    // Terraform controls the tenant, and so (elevating to the root scope) every model.
    // GitHub's Contributor on rg-ml can push images to crmlprod, the workspace's model registry.
    let mut want = vec![(GITHUB, "crmlprod"), (GITHUB, "oai-prod")];
    for t in ["crmlprod", "mlw-prod", "oai-eval", "oai-prod"] {
        want.push((TERRAFORM, t));
    }
    assert_eq!(run("pipeline-to-models"), pairs(&want));
}

#[test]
fn pipeline_to_secrets() {
    let want = [(GITHUB, "kv-ml-secrets"), (TERRAFORM, "kv-ml-secrets"), (TERRAFORM, "kv-platform")];
    assert_eq!(run("pipeline-to-secrets"), pairs(&want));
}

#[test]
fn pipeline_to_tier0() {
    assert_eq!(run("pipeline-to-tier0"), pairs(&[(TERRAFORM, "Tenant Root Group"), (TERRAFORM, "tenant Contoso ML")]));
}

#[test]
fn anyone_to_openai_keys_ends_by_getting_keys() {
    // oai-eval (local auth off, listKeys-only custom role) is the decoy: nobody gets its keys.
    assert_eq!(
        run("anyone-to-openai-keys"),
        pairs(&[
            (GITHUB, "oai-prod"),
            (TERRAFORM, "oai-prod"),
            ("IT Admin", "oai-prod"),
            // Tenant control (Privileged Role Administrator, RoleManagement.ReadWrite.Directory) takes
            // Global Administrator, which adds a secret to openai-batch-scorer.
            ("Ivan Petrov", "oai-prod"),
            ("identity-sync", "oai-prod"),
            ("Judy Adeyemi", "oai-prod"),
            ("Mallory Quinn", "oai-prod"),
            ("openai-batch-scorer", "oai-prod"),
        ])
    );
}

#[test]
fn eligible_only_escalations() {
    let mut want = vec![];
    // cosmos-features: his eligible Owner re-enables its keys (disableLocalAuth=true) after activation.
    for t in ["cosmos-features", "crmlprod", "kv-ml-secrets", "mlw-prod", "stmlcurated", "stmlfeatures", "stmltraining"]
    {
        want.push(("Dave Lindqvist", t));
    }
    // Henry reaches stmlcurated without PIM since his build agent's identity writes blobs in
    // mlw-prod's default storage, rewriting the scripts gpu-cluster runs (conditional).
    // Mallory is eligible for Application Administrator (-> tenant -> everything) and holds Helpdesk
    // Administrator: resetting Alice's or Henry's password reaches training data and oai-prod without
    // PIM, so those are not eligible-only; resetting Dave's needs his eligible Owner on rg-ml.
    // (crmlprod is reachable without PIM: resetting Audit Reader's password, whose Reader pulls images.)
    for t in [
        "Tenant Root Group",
        "kv-ml-secrets",
        "kv-platform",
        "mlw-prod",
        "oai-eval",
        "stmlarchive",
        "stmlfeatures",
        "tenant Contoso ML",
    ] {
        want.push(("Mallory Quinn", t));
    }
    // Henry reaches stmltraining without PIM (his VM's identity), so it is not eligible-only.
    assert_eq!(run("eligible-only-escalations"), pairs(&want));
}

#[test]
fn external_identities_to_anything() {
    let found = run("external-identities-to-anything");
    let from = |s: &str| found.iter().filter(|p| p.0 == s).map(|p| p.1.as_str()).collect::<Vec<_>>();
    // The Azure DevOps backup identity reaches its own app and service principal, and nothing else.
    assert_eq!(from(DEVOPS), ["backup-operator", "backup-operator"]);
    assert!(from(TERRAFORM).contains(&"tenant Contoso ML"));
    assert!(from(GITHUB).contains(&"stmltraining"));
    assert!(!from(GITHUB).contains(&"tenant Contoso ML"));
    assert!(!found.iter().any(|p| p.0.contains("contoso-ml/evals") && p.1 == "oai-eval"));
    // Terraform controls the tenant: as Global Administrator it resets any user's password and
    // elevates to the root scope of Azure.
    assert!(from(TERRAFORM).contains(&"IT Admin") && from(TERRAFORM).contains(&"kv-platform"));
    // Terraform also reaches the dynamic group grp-all-data-science and identity-sync's Graph
    // User.ReadWrite.All (which can create a user that matches the group's rule).
    assert!(from(TERRAFORM).contains(&"grp-all-data-science"));
    // The training pipeline and Terraform also reach cosmos-features (107 before it was added).
    assert!(from(GITHUB).contains(&"cosmos-features") && from(TERRAFORM).contains(&"cosmos-features"));
    // GitHub's Contributor on rg-ml (and Terraform) also reach the Flex Consumption app
    // func-features and its identity, and GitHub lists mlw-prod's evals-lake connection secret,
    // eval-runner's client secret (AuthenticatesAs its service principal).
    assert!(from(GITHUB).contains(&"func-features") && from(GITHUB).contains(&"eval-runner"));
    // Both reach cosmos-eval-logs (Contributor on rg-ml lists its keys): 124 before it was added.
    assert!(from(GITHUB).contains(&"cosmos-eval-logs") && from(TERRAFORM).contains(&"cosmos-eval-logs"));
    assert_eq!(found.len(), 126, "{found:#?}");
}

#[test]
fn users_to_global_admin() {
    assert_eq!(
        run("users-to-global-admin"),
        pairs(&[
            ("IT Admin", "Tenant Root Group"),
            ("IT Admin", "tenant Contoso ML"),
            ("Ivan Petrov", "Tenant Root Group"),
            ("Ivan Petrov", "tenant Contoso ML"),
            ("Mallory Quinn", "Tenant Root Group"),
            ("Mallory Quinn", "tenant Contoso ML")
        ])
    );
}

#[test]
fn every_shipped_query_has_a_test_here() {
    let source = include_str!("queries.rs");
    for q in saved::builtin() {
        assert!(source.contains(&format!("run(\"{}\")", q.name)), "saved query {} has no test", q.name);
    }
}

/// A blast-radius table is made from each result's summary (`reach_summary`), without its path:
/// node, cost, hops and whether it needs an activation must be those of the path `reach` finds,
/// in the same order, both ways, with and without a hop limit (dense and sparse labels).
#[test]
fn reach_summaries_are_those_of_the_paths_found() {
    use azpath::graph::{AttackGraph, Reached, SearchOptions};
    let synth = azpath::synth::SynthSpec::small(7);
    for raw in [azpath::demo::raw(), azpath::synth::generate(&synth)] {
        let g = AttackGraph::from_facts(&azpath::facts::parse(&raw).unwrap());
        let pipeline = azpath::query::select(&g, "pipeline").unwrap();
        let jewels = azpath::query::select(&g, "crown-jewels").unwrap();
        let mut activations = 0;
        for opts in [SearchOptions::default(), SearchOptions { max_hops: Some(3), ..Default::default() }] {
            let paths = g.reach(&pipeline, &opts);
            let summed: Vec<Reached> = paths.iter().map(|p| Reached::of(p, &g, false)).collect();
            assert!(summed.len() > 10);
            assert_eq!(g.reach_summary(&pipeline, &opts), summed);
            activations += summed.iter().filter(|r| r.needs_activation).count();
            let paths = g.who_can_reach(&jewels, &opts);
            let summed: Vec<Reached> = paths.iter().map(|p| Reached::of(p, &g, true)).collect();
            assert!(summed.len() > 10);
            assert_eq!(g.who_can_reach_summary(&jewels, &opts), summed);
            activations += summed.iter().filter(|r| r.needs_activation).count();
        }
        assert!(activations > 0, "some results need a PIM activation, so the flag is checked");
        // Through the query layer, which can keep only what needs an activation.
        for only_eligible in [false, true] {
            let opts = azpath::query::PathOptions { only_eligible, ..Default::default() };
            let paths = azpath::query::reach(&g, &pipeline, &opts).unwrap();
            let summed: Vec<Reached> = paths.iter().map(|p| Reached::of(p, &g, false)).collect();
            assert_eq!(azpath::query::reach_summary(&g, &pipeline, &opts).unwrap(), summed);
            let paths = azpath::query::who_can_reach(&g, &jewels, &opts).unwrap();
            let summed: Vec<Reached> = paths.iter().map(|p| Reached::of(p, &g, true)).collect();
            assert_eq!(azpath::query::who_can_reach_summary(&g, &jewels, &opts).unwrap(), summed);
        }
    }
}

#[test]
fn an_id_selector_finds_the_node_a_scan_finds() {
    use azpath::graph::AttackGraph;
    use azpath::query::select::Selector;
    let g = crate::support::demo_graph();
    // The same nodes in reverse id order: ids are then found through a map, not a binary search.
    let nodes: Vec<_> = g.nodes.to_nodes().into_iter().rev().collect();
    let reversed = AttackGraph::new(nodes, Vec::new());
    assert!(g.nodes.ids_strictly_sorted() && !reversed.nodes.ids_strictly_sorted());
    for g in [&g, &reversed] {
        let mut ids: Vec<String> = g.nodes.iter().map(|n| n.id.to_string()).collect();
        ids.extend(["nope".to_string(), String::new(), format!("{}x", ids[0])]);
        for id in ids {
            let text = format!("id:\"{id}\"");
            let Ok(sel) = Selector::parse(&text) else { continue };
            let scanned: Vec<_> = g.node_ids().filter(|&n| sel.matches(g.node(n))).collect();
            assert_eq!(query::select(g, &text).unwrap(), scanned, "{text}");
        }
    }
}

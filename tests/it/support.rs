//! Shared helpers: load the demo tenant and look up paths by display name.

use azpath::graph::{AttackGraph, Path};
use azpath::model::EdgeKind;
use azpath::model::SnapshotInfo;
use azpath::store::Store;
use std::collections::HashSet;

/// The demo's pipeline identities, by display name.
pub const GITHUB: &str = "GitHub Actions: repo:contoso-ml/training-pipeline:ref:refs/heads/main";
pub const TERRAFORM: &str = "Terraform Cloud: organization:contoso:project:ml:workspace:prod:run_phase:apply";
pub const DEVOPS: &str = "Azure DevOps: sc://contoso/ml-platform/backup";
/// The demo's standing Contributor of the CI service principal on rg-ml: the assignment behind its
/// ListKeys, SetAccessPolicy, ReEnableKeys and AddSecret hops (what-if tests make it eligible).
pub const CI_CONTRIBUTOR: &str = "/subscriptions/5b000000-0000-4000-8000-000000000001/resourceGroups/rg-ml/providers/Microsoft.Authorization/roleAssignments/70000000-0000-4000-8000-000000000001";

/// The demo tenant imported into a fresh store and loaded back as a graph with every edge's reason
/// and evidence (as the tests inspect them), and its snapshot.
pub fn demo() -> (AttackGraph, SnapshotInfo) {
    let mut store = Store::open_in_memory().unwrap();
    let s = azpath::import_facts(&mut store, azpath::demo::raw(), Some("demo")).unwrap();
    let snap = store.resolve(&s.snapshot.to_string()).unwrap();
    let (nodes, edges) = store.load_graph(s.snapshot).unwrap();
    (AttackGraph::new(nodes, edges), snap)
}

pub fn demo_graph() -> AttackGraph {
    demo().0
}

/// The node index of the single node with this display name (and kind, when names repeat).
pub fn named(g: &AttackGraph, name: &str) -> azpath::graph::NodeId {
    let hits: Vec<_> = g.node_ids().filter(|&i| g.node(i).name == name).collect();
    assert_eq!(hits.len(), 1, "expected one node named {name:?}, found {}", hits.len());
    hits[0]
}

pub fn named_kind(g: &AttackGraph, name: &str, kind: azpath::model::NodeKind) -> azpath::graph::NodeId {
    let hits: Vec<_> = g.node_ids().filter(|&i| g.node(i).name == name && g.node(i).kind == kind).collect();
    assert_eq!(hits.len(), 1, "expected one {kind} named {name:?}, found {}", hits.len());
    hits[0]
}

pub fn path(g: &AttackGraph, from: azpath::graph::NodeId, to: azpath::graph::NodeId) -> Option<Path> {
    g.easiest_paths(from, &HashSet::from([to])).into_iter().next()
}

/// The edge kinds and the names of the nodes a path walks through, after the source.
pub fn steps(g: &AttackGraph, p: &Path) -> Vec<(EdgeKind, String)> {
    p.edges
        .iter()
        .map(|&e| {
            let edge = g.edge(e);
            let to = g.node(g.node_index(&edge.target).unwrap());
            (edge.kind, to.name.to_string())
        })
        .collect()
}

/// Every crown jewel a node reaches.
pub fn reached_jewels(g: &AttackGraph, from: azpath::graph::NodeId) -> Vec<String> {
    let jewels: HashSet<_> = g.node_ids().filter(|&i| g.node(i).crown_jewel().is_some()).collect();
    let mut out: Vec<String> =
        g.easiest_paths(from, &jewels).iter().map(|p| g.node(p.target).name.to_string()).collect();
    out.sort();
    out
}

/// Runs the azpath binary on `db` with `args` (colour off) and returns what it did.
pub fn run_azpath(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_azpath"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

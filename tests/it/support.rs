//! Shared helpers: load the demo tenant and look up paths by display name.

use azpath::graph::{AttackGraph, Path};
use azpath::model::EdgeKind;
use azpath::store::Store;
use std::collections::HashSet;

pub fn demo_graph() -> AttackGraph {
    let mut store = Store::open_in_memory().unwrap();
    let s = azpath::import_facts(&mut store, azpath::demo::raw(), Some("demo")).unwrap();
    // The complete graph, reasons and evidence included, as the tests inspect them.
    let (nodes, edges) = store.load_graph(s.snapshot).unwrap();
    AttackGraph::new(nodes, edges)
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
            let edge = &g.edges[e];
            let to = g.node(g.node_index(&edge.target).unwrap());
            (edge.kind, to.name.clone())
        })
        .collect()
}

/// Every crown jewel a node reaches.
pub fn reached_jewels(g: &AttackGraph, from: azpath::graph::NodeId) -> Vec<String> {
    let jewels: HashSet<_> = g.node_ids().filter(|&i| g.node(i).crown_jewel().is_some()).collect();
    let mut out: Vec<String> = g.easiest_paths(from, &jewels).iter().map(|p| g.node(p.target).name.clone()).collect();
    out.sort();
    out
}

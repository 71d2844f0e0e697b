//! azpath: a graph-based identity attack-path analyzer for Azure and Entra ID.
//!
//! The pipeline, one module per stage: [`facts`] (Azure's JSON to typed facts) -> [`rules`] (facts
//! to attack edges) -> [`store`] (SQLite snapshots) -> [`graph`] (petgraph, easiest paths) ->
//! [`query`] (selectors and path queries) -> [`report`] / [`export`] (text, JSON, DOT, Markdown), with
//! [`collect`] reading live tenants and [`diff`] comparing snapshots. See `docs/ARCHITECTURE.md`.

pub mod collect;
pub mod demo;
pub mod diff;
pub mod export;
pub mod facts;
pub mod graph;
pub mod model;
pub mod query;
pub mod rbac;
pub mod report;
pub mod rules;
pub mod store;
pub mod synth;

use facts::RawFacts;
use store::Store;

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub snapshot: i64,
    pub nodes: usize,
    pub edges: usize,
    pub redacted: usize,
    pub warnings: Vec<String>,
    pub skipped: Vec<String>,
}

/// The whole offline pipeline for one facts file: redact credentials, parse, derive edges, and
/// write one snapshot (in one transaction).
pub fn import_facts(store: &mut Store, mut raw: RawFacts, label: Option<&str>) -> anyhow::Result<ImportSummary> {
    let redacted = raw.redact_secrets();
    let facts = facts::parse(&raw)?;
    let derived = rules::derive(&facts);
    let snapshot = store.write_snapshot(&raw, &derived, label)?;
    Ok(ImportSummary {
        snapshot,
        nodes: derived.nodes.len(),
        edges: derived.edges.len(),
        redacted,
        warnings: derived.warnings,
        skipped: facts.skipped,
    })
}

/// Loads a stored snapshot into an attack graph for searching: edges come without their reasons
/// and evidence, which [`explain_paths`] reads for the paths that are shown.
pub fn load_graph(store: &Store, snapshot: i64) -> anyhow::Result<graph::AttackGraph> {
    let (nodes, edges) = store.load_structure(snapshot)?;
    Ok(graph::AttackGraph::new(nodes, edges))
}

/// Reads the reasons and evidence of every edge on `paths` into the graph, before printing them.
pub fn explain_paths(
    store: &Store,
    snapshot: i64,
    g: &mut graph::AttackGraph,
    paths: &[graph::Path],
) -> anyhow::Result<()> {
    let mut wanted: Vec<usize> = paths.iter().flat_map(|p| p.edges.iter().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted.retain(|&e| g.edges[e].reason.is_empty());
    for (e, (reason, evidence)) in wanted.iter().zip(store.load_edge_details(snapshot, &wanted)?) {
        g.edges[*e].reason = reason;
        g.edges[*e].evidence = evidence;
    }
    Ok(())
}

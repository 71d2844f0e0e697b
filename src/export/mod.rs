//! Exports for reports: DOT diagrams of query results ([`dot`]), rendering them with Graphviz
//! ([`render`], the only part that runs a program), the Markdown audit report and CI summary
//! ([`markdown`]), SARIF for code scanning ([`sarif`]); and the graph for other tools
//! (`docs/interop.md`): BloodHound CE OpenGraph ([`opengraph`]), GraphML ([`graphml`]) and
//! `neo4j-admin` import files ([`neo4j_csv`]). The JSON documents are `report`'s; their schemas are
//! in `docs/json-schema.md`.

pub mod dot;
pub mod graphml;
pub mod markdown;
pub mod neo4j_csv;
pub mod opengraph;
pub mod render;
pub mod sarif;

pub use dot::{DEFAULT_MAX_PATHS, DotOptions, paths_dot};

use crate::escape::one_line;
use crate::graph::{AttackGraph, Path};
use crate::query::{self, saved};

use crate::model::SnapshotInfo;

/// The caption of a diagram: what was asked, of which snapshot, how many paths.
pub fn title(what: &str, snap: &SnapshotInfo, paths: usize) -> String {
    format!(
        "azpath: {}\ntenant {} ({}), snapshot #{} collected {}: {paths} path{}",
        one_line(what),
        one_line(&snap.tenant_name),
        one_line(&snap.tenant_id),
        snap.id,
        one_line(&snap.collected_at),
        if paths == 1 { "" } else { "s" }
    )
}

/// A saved query's diagram caption: "name (severity): description".
pub fn query_caption(q: &saved::SavedQuery) -> String {
    format!("{} ({}): {}", one_line(&q.name), q.severity, one_line(&q.description))
}

/// The committed examples in `exports/` (file stem, caption, paths): the demo's headline (every
/// pipeline identity's easiest path to every crown jewel) and the saved queries
/// pipeline-to-training-data and pipeline-to-tier0. Load the paths' evidence before drawing them.
pub fn examples(g: &AttackGraph) -> Result<Vec<(String, String, Vec<Path>)>, query::QueryError> {
    let mut out = vec![(
        "demo-headline".to_string(),
        "every pipeline identity's easiest path to every crown jewel (azpath demo)".to_string(),
        crate::demo::headline(g).pipeline_paths,
    )];
    for name in ["pipeline-to-training-data", "pipeline-to-tier0"] {
        let q = saved::builtin().into_iter().find(|q| q.name == name).expect("a shipped query");
        let paths = q.run(g)?;
        out.push((q.name.clone(), query_caption(&q), paths));
    }
    Ok(out)
}

/// What a graph export holds: every node and edge of the graph, or only those on some paths
/// (a query's result). Nodes sorted by id, edges in the graph's (sorted) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub nodes: Vec<crate::graph::NodeId>,
    pub edges: Vec<usize>,
}

impl Selection {
    /// The whole graph.
    pub fn all(g: &AttackGraph) -> Selection {
        Selection::sorted(g, g.node_ids().collect(), (0..g.edge_count()).collect())
    }

    /// The nodes and edges that `paths` walk, each once.
    pub fn of_paths(g: &AttackGraph, paths: &[Path]) -> Selection {
        let nodes = paths.iter().flat_map(|p| p.nodes(g)).collect();
        let edges = paths.iter().flat_map(|p| p.edges.iter().copied()).collect();
        Selection::sorted(g, nodes, edges)
    }

    fn sorted(g: &AttackGraph, mut nodes: Vec<crate::graph::NodeId>, mut edges: Vec<usize>) -> Selection {
        nodes.sort_by(|a, b| g.node(*a).id.cmp(g.node(*b).id));
        nodes.dedup();
        edges.sort_unstable();
        edges.dedup();
        Selection { nodes, edges }
    }
}

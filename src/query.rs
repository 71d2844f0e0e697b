//! Queries over a loaded attack graph: which nodes a selector names, and the easiest paths between
//! two selections. Pure; printing is `report`'s job.
//!
//! Selectors (a first, small set; a full expression language is planned): `pipeline` (pipeline
//! identities: external CI identities and service principals tagged `azpath:pipeline`),
//! `crown-jewels` (training data, models, their secrets, tier 0), `tier0`, `kind:KIND`, a node id, or
//! a display name (exact, case-insensitive). A comma separates alternatives.

use crate::graph::{AttackGraph, Path};
use crate::model::NodeKind;
use petgraph::graph::NodeIndex;
use std::collections::HashSet;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("unknown node kind {0:?} in `kind:`; kinds are: {1}")]
    UnknownKind(String, String),
    #[error("selector {0:?} matches no node in this snapshot")]
    NoMatch(String),
}

/// The nodes a selector names, sorted by id.
pub fn select(g: &AttackGraph, selector: &str) -> Result<Vec<NodeIndex>, SelectError> {
    let mut out: Vec<NodeIndex> = Vec::new();
    for part in selector.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let before = out.len();
        let lower = part.to_ascii_lowercase();
        for ix in g.graph.node_indices() {
            let n = g.node(ix);
            let hit = match lower.as_str() {
                "pipeline" => n.is_pipeline(),
                "crown-jewels" | "crown-jewel" => n.crown_jewel().is_some(),
                "tier0" => n.crown_jewel() == Some("tier0"),
                _ => match lower.strip_prefix("kind:") {
                    Some(k) => {
                        let kind = NodeKind::parse(k).ok_or_else(|| {
                            SelectError::UnknownKind(
                                k.into(),
                                NodeKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
                            )
                        })?;
                        n.kind == kind
                    }
                    None => n.id == lower || n.id == part || n.name.eq_ignore_ascii_case(part),
                },
            };
            if hit {
                out.push(ix);
            }
        }
        if out.len() == before {
            return Err(SelectError::NoMatch(part.into()));
        }
    }
    out.sort_by(|a, b| g.node(*a).id.cmp(&g.node(*b).id));
    out.dedup();
    Ok(out)
}

/// The easiest path for every (source, target) pair with one, sorted by source then target id.
pub fn paths(g: &AttackGraph, sources: &[NodeIndex], targets: &[NodeIndex]) -> Vec<Path> {
    let targets: HashSet<NodeIndex> = targets.iter().copied().collect();
    let mut out = Vec::new();
    for &s in sources {
        out.extend(g.easiest_paths(s, &targets));
    }
    out
}

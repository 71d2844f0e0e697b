//! Queries over a loaded attack graph: selectors pick nodes, and path queries find how sources reach
//! targets. Pure; printing is `report`'s job. Saved queries (`queries/*.toml`) are in [`saved`].

pub mod saved;
pub mod select;

use crate::graph::NodeId;
use crate::graph::{AttackGraph, PairQuery, Path, Reached, SearchOptions};
use crate::model::EdgeKind;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub use select::{Selector, SelectorError};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Selector(#[from] SelectorError),
    #[error("selector {0:?} matches no node in this snapshot")]
    NoMatch(String),
    #[error("{option} is {value}; {allowed}")]
    Limit { option: &'static str, value: usize, allowed: String },
}

/// The longest path a search looks for. Real attack paths are a handful of hops (the demo's
/// longest is 11); a larger bound only makes a hop-limited search slower.
pub const MAX_HOPS_LIMIT: usize = 64;
/// The most paths per pair `k` may ask for (Yen's algorithm grows with k squared).
pub const K_LIMIT: usize = 100;

/// The nodes a selector names, sorted by id. An empty result is not an error here.
pub fn select(g: &AttackGraph, selector: &str) -> Result<Vec<NodeId>, QueryError> {
    let sel = Selector::parse(selector)?;
    // One id is looked up, not matched against every node (millions, in a large tenant).
    if let Selector::Id(id) = &sel {
        return Ok(g.node_index(id).into_iter().collect());
    }
    let mut out: Vec<NodeId> = g.node_ids().filter(|&i| sel.matches(g.node(i))).collect();
    out.sort_by_key(|n| g.id_rank(*n));
    Ok(out)
}

/// Like [`select`], but a selector that matches nothing is an error (a typo should not look like
/// "no paths").
pub fn select_some(g: &AttackGraph, selector: &str) -> Result<Vec<NodeId>, QueryError> {
    let out = select(g, selector)?;
    if out.is_empty() { Err(QueryError::NoMatch(selector.into())) } else { Ok(out) }
}

/// Options of a path query, shared by the CLI and saved queries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathOptions {
    /// At most this many hops.
    pub max_hops: Option<usize>,
    /// Ignore edges that need a PIM activation.
    pub without_eligible: bool,
    /// Only (source, target) pairs that are reachable solely through PIM-eligible assignments.
    pub only_eligible: bool,
    /// Never walk edges of these kinds.
    pub exclude_edges: Vec<EdgeKind>,
    /// Never pass through nodes this selector names.
    pub avoid: Option<String>,
    /// The last hop must be one of these kinds (e.g. ListKeys: "who can get the keys").
    pub last_edge: Vec<EdgeKind>,
    /// Show the k easiest loopless paths per pair instead of one.
    pub k: Option<usize>,
    /// Show every path as easy as the easiest (at most 100 per pair).
    pub all_equal: bool,
}

/// At most this many equally easy paths per pair.
pub const ALL_EQUAL_LIMIT: usize = 100;

impl PathOptions {
    /// Rejects bounds that make no sense or would make a search run for hours, naming the limit.
    pub fn check(&self) -> Result<(), QueryError> {
        if let Some(h) = self.max_hops
            && h > MAX_HOPS_LIMIT
        {
            let allowed = format!("the limit is {MAX_HOPS_LIMIT} hops (leave it out for no limit)");
            return Err(QueryError::Limit { option: "max_hops (--max-hops)", value: h, allowed });
        }
        if let Some(k) = self.k
            && !(1..=K_LIMIT).contains(&k)
        {
            let allowed = format!("it must be between 1 and {K_LIMIT} paths per pair");
            return Err(QueryError::Limit { option: "k (--k)", value: k, allowed });
        }
        Ok(())
    }

    /// The graph-level search options these path options stand for (selectors resolved).
    pub fn search(&self, g: &AttackGraph) -> Result<SearchOptions, QueryError> {
        self.check()?;
        let avoid = match &self.avoid {
            Some(sel) => select(g, sel)?,
            None => vec![],
        };
        Ok(SearchOptions {
            max_hops: self.max_hops,
            excluded_kinds: self.exclude_edges.clone(),
            avoid,
            without_eligible: self.without_eligible,
        })
    }
}

/// Drops sources that are only another source under a different name: a service principal that a
/// selected external identity or application already signs in as (`AuthenticatesAs` chains). The
/// entry point is reported once, with the whole chain as its path.
pub fn entry_points(g: &AttackGraph, sources: &[NodeId]) -> Vec<NodeId> {
    let set: HashSet<NodeId> = sources.iter().copied().collect();
    let mut aliased = HashSet::new();
    for &s in sources {
        let mut stack = vec![s];
        while let Some(n) = stack.pop() {
            for e in g.out_edges(n) {
                if g.edge_kind(e) == EdgeKind::AuthenticatesAs {
                    let t = g.edge_target(e);
                    let walk_on = if set.contains(&t) { t != s && aliased.insert(t) } else { true };
                    if walk_on {
                        stack.push(t);
                    }
                }
            }
        }
    }
    sources.iter().copied().filter(|s| !aliased.contains(s)).collect()
}

/// Paths from every source to every target: the easiest per pair, or the k easiest, or all equally
/// easy ones. Sorted by source id, then target id, then cost. With `only_eligible`, only pairs
/// that are reachable solely through PIM-eligible assignments.
pub fn paths(
    g: &AttackGraph,
    sources: &[NodeId],
    targets: &[NodeId],
    opts: &PathOptions,
) -> Result<Vec<Path>, QueryError> {
    let search = opts.search(g)?;
    let sources = entry_points(g, sources);
    let easiest = g.easiest_pairs(
        &PairQuery { sources: &sources, targets, last_kinds: &opts.last_edge, only_eligible: opts.only_eligible },
        &search,
    );
    if opts.k.is_none() && !opts.all_equal {
        return Ok(easiest);
    }
    let mut out = Vec::new();
    for p in easiest {
        let (s, t) = (p.source, p.target);
        let more = match (opts.k, opts.all_equal) {
            (_, true) => g.all_easiest(s, t, ALL_EQUAL_LIMIT, &search),
            (Some(k), _) if k > 1 => g.k_easiest(s, t, k, &search),
            _ => vec![],
        };
        let more: Vec<Path> = if opts.last_edge.is_empty() {
            more
        } else {
            more.into_iter()
                .filter(|m| m.edges.last().is_some_and(|&e| opts.last_edge.contains(&g.edge_kind(e))))
                .collect()
        };
        if more.is_empty() { out.push(p) } else { out.extend(more) }
    }
    Ok(out)
}

/// Blast radius: everything the sources can gain, each with its easiest path from the nearest
/// source. With `only_eligible`, only what needs a PIM activation to reach.
pub fn reach(g: &AttackGraph, sources: &[NodeId], opts: &PathOptions) -> Result<Vec<Path>, QueryError> {
    whole_graph(g, opts, |o| g.reach(sources, o), |p| p.target)
}

/// [`reach`], each path summed up (node, cost, hops, whether it needs an activation) without being
/// made: for a blast-radius table of millions.
pub fn reach_summary(g: &AttackGraph, sources: &[NodeId], opts: &PathOptions) -> Result<Vec<Reached>, QueryError> {
    whole_graph(g, opts, |o| g.reach_summary(sources, o), |r| r.node)
}

/// Everyone who can reach any of the targets, each with its easiest path to the nearest one.
pub fn who_can_reach(g: &AttackGraph, targets: &[NodeId], opts: &PathOptions) -> Result<Vec<Path>, QueryError> {
    whole_graph(g, opts, |o| g.who_can_reach(targets, o), |p| p.source)
}

/// [`who_can_reach`], each path summed up without being made.
pub fn who_can_reach_summary(
    g: &AttackGraph,
    targets: &[NodeId],
    opts: &PathOptions,
) -> Result<Vec<Reached>, QueryError> {
    whole_graph(g, opts, |o| g.who_can_reach_summary(targets, o), |r| r.node)
}

/// A whole-graph search's results under `opts`; with `only_eligible`, only those whose node (`node`)
/// the same search without PIM-eligible edges does not find.
fn whole_graph<T>(
    g: &AttackGraph,
    opts: &PathOptions,
    search: impl Fn(&SearchOptions) -> Vec<T>,
    node: impl Fn(&T) -> NodeId,
) -> Result<Vec<T>, QueryError> {
    let options = opts.search(g)?;
    let mut found = search(&options);
    if opts.only_eligible {
        let now: HashSet<NodeId> =
            search(&SearchOptions { without_eligible: true, ..options }).iter().map(&node).collect();
        found.retain(|r| !now.contains(&node(r)));
    }
    Ok(found)
}

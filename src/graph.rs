//! The attack graph in memory and the path searches over it.
//!
//! Pure: built from derived nodes and edges, no I/O. The searches run over compressed adjacency
//! arrays (CSR) built once, because they are the hot loop on million-edge tenants; callers name
//! nodes by [`NodeId`] (a position in [`AttackGraph::nodes`]) and edges by their position
//! ([`AttackGraph::edge`]).
//!
//! A graph derived in memory holds its [`Edge`]s; a graph loaded from the store holds only columns
//! (ends, cost, kind, rule, flags) and makes an [`Edge`] when one is asked for, so loading ten
//! million edges allocates nothing per edge.
//!
//! "Easiest" is the lowest total edge cost, then the fewest hops. Every search enforces the one
//! traversal rule that is not a property of single edges: `Contains` is followed only from a scope
//! reached by `AssignRoles` or `Contains` (a scope the attacker fully controls), never after a
//! data-plane or identity edge. So a search state is a node plus "reached with control of it".

use crate::model::{Alternatives, Detail, Edge, EdgeKind, FastMap, NameOf, Node};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

mod nodes;
pub use nodes::{NodeParts, NodeRef, NodeTable, PropsRef, StrColumn};

/// A node of one [`AttackGraph`]: its position in [`AttackGraph::nodes`]. Only meaningful for the
/// graph it came from; across snapshots a node is named by its Azure id ([`Node::id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The position in [`AttackGraph::nodes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One path: the edges walked, in order, as edge positions ([`AttackGraph::edge`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub source: NodeId,
    pub target: NodeId,
    pub edges: Vec<usize>,
    pub cost: u32,
}

impl Path {
    pub fn hops(&self) -> usize {
        self.edges.len()
    }

    pub fn requires_activation(&self, g: &AttackGraph) -> bool {
        self.edges.iter().any(|&e| g.edge_requires_activation(e))
    }

    /// The nodes walked through, source first.
    pub fn nodes(&self, g: &AttackGraph) -> Vec<NodeId> {
        let mut v = vec![self.source];
        v.extend(self.edges.iter().map(|&e| g.edge_target(e)));
        v
    }
}

/// A node a whole-graph search reached, with its easiest path's cost, length and whether it needs a
/// PIM activation, but not the path: what a blast-radius table prints, for millions of nodes
/// without a path (an allocation) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    /// The node reached (`reach`), or the node that reaches (`who-can-reach`).
    pub node: NodeId,
    pub cost: u32,
    pub hops: u32,
    pub needs_activation: bool,
}

impl Reached {
    /// The summary of a path of [`AttackGraph::reach`] (or of
    /// [`AttackGraph::who_can_reach`], `reverse`).
    pub fn of(p: &Path, g: &AttackGraph, reverse: bool) -> Reached {
        Reached {
            node: if reverse { p.source } else { p.target },
            cost: p.cost,
            hops: p.hops() as u32,
            needs_activation: p.requires_activation(g),
        }
    }
}

/// Limits on which paths count.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// At most this many hops.
    pub max_hops: Option<usize>,
    /// Never walk edges of these kinds.
    pub excluded_kinds: Vec<EdgeKind>,
    /// Never pass through (or end at) these nodes.
    pub avoid: Vec<NodeId>,
    /// Never walk an edge that needs a PIM activation.
    pub without_eligible: bool,
}

/// Which pairs [`AttackGraph::easiest_pairs`] looks for.
#[derive(Debug, Clone, Copy)]
pub struct PairQuery<'a> {
    pub sources: &'a [NodeId],
    pub targets: &'a [NodeId],
    /// The last hop into a target must be one of these kinds (empty: any kind).
    pub last_kinds: &'a [EdgeKind],
    /// Only pairs that need a PIM activation: reachable, but not without eligible edges.
    pub only_eligible: bool,
}

/// Compressed adjacency: the edges leaving (or entering) node `n` are the slots
/// `offsets[n]..offsets[n + 1]`, in ascending edge id order. Each slot carries what the search reads
/// (edge id, the node at the other end, cost, kind) side by side, so a node's edges are one
/// sequential read.
struct Csr {
    offsets: Vec<u32>,
    edge_ids: Vec<u32>,
    other: Vec<u32>,
    cost: Vec<u32>,
    kind: Vec<EdgeKind>,
}

impl Csr {
    fn new(n: usize, ends: &[u32], other_ends: &[u32], costs: &[u32], kinds: &[EdgeKind]) -> Csr {
        let mut offsets = vec![0u32; n + 1];
        for &s in ends {
            offsets[s as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let m = ends.len();
        let (mut edge_ids, mut other, mut cost) = (vec![0u32; m], vec![0u32; m], vec![0u32; m]);
        let mut kind = vec![EdgeKind::MemberOf; m];
        // Two halves of the nodes, with about as many edges each, filled on two threads: each scans
        // every edge and places those of its nodes, so each writes only its own half of the arrays.
        let mid = if m < 1 << 16 { n } else { offsets.partition_point(|&o| (o as usize) < m / 2).min(n) };
        let split = offsets[mid] as usize;
        let mut fill = offsets[..n].to_vec();
        let (fill_low, fill_high) = fill.split_at_mut(mid);
        let (ids_low, ids_high) = edge_ids.split_at_mut(split);
        let (other_low, other_high) = other.split_at_mut(split);
        let (cost_low, cost_high) = cost.split_at_mut(split);
        let (kind_low, kind_high) = kind.split_at_mut(split);
        let columns = Columns { ends, other_ends, costs, kinds };
        std::thread::scope(|scope| {
            if mid < n {
                let high = Slots {
                    fill: fill_high,
                    first_node: mid,
                    first_slot: split,
                    edge_ids: ids_high,
                    other: other_high,
                    cost: cost_high,
                    kind: kind_high,
                };
                scope.spawn(move || high.place(&columns));
            }
            Slots {
                fill: fill_low,
                first_node: 0,
                first_slot: 0,
                edge_ids: ids_low,
                other: other_low,
                cost: cost_low,
                kind: kind_low,
            }
            .place(&columns);
        });
        Csr { offsets, edge_ids, other, cost, kind }
    }

    fn slots(&self, n: u32) -> std::ops::Range<usize> {
        self.offsets[n as usize] as usize..self.offsets[n as usize + 1] as usize
    }

    fn of(&self, n: u32) -> &[u32] {
        &self.edge_ids[self.slots(n)]
    }
}

/// The edge columns a [`Csr`] is built from (ends: the end it groups edges by).
#[derive(Clone, Copy)]
struct Columns<'a> {
    ends: &'a [u32],
    other_ends: &'a [u32],
    costs: &'a [u32],
    kinds: &'a [EdgeKind],
}

/// The slots of a range of nodes, starting at node `first_node` and slot `first_slot`, with each
/// node's next free slot in `fill`.
struct Slots<'a> {
    fill: &'a mut [u32],
    first_node: usize,
    first_slot: usize,
    edge_ids: &'a mut [u32],
    other: &'a mut [u32],
    cost: &'a mut [u32],
    kind: &'a mut [EdgeKind],
}

impl Slots<'_> {
    /// Places every edge whose end is one of these nodes, in edge id order.
    fn place(self, c: &Columns) {
        let nodes = self.first_node..self.first_node + self.fill.len();
        for (e, &s) in c.ends.iter().enumerate() {
            if !nodes.contains(&(s as usize)) {
                continue;
            }
            let at = &mut self.fill[s as usize - self.first_node];
            let slot = *at as usize - self.first_slot;
            self.edge_ids[slot] = e as u32;
            self.other[slot] = c.other_ends[e];
            self.cost[slot] = c.costs[e];
            self.kind[slot] = c.kinds[e];
            *at += 1;
        }
    }
}

/// A stored snapshot's edges as columns, one entry per edge in stored order: what
/// [`AttackGraph::from_columns`] builds a graph from without making an [`Edge`] each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeColumns {
    /// Ends, as positions in the node list.
    pub source: Vec<u32>,
    pub target: Vec<u32>,
    pub cost: Vec<u32>,
    pub kind: Vec<EdgeKind>,
    /// Rule ids, each once; `rule` holds each edge's position in it.
    pub rules: Vec<Arc<str>>,
    pub rule: Vec<u16>,
    pub requires_activation: Vec<bool>,
    pub conditional: Vec<bool>,
}

impl EdgeColumns {
    pub fn len(&self) -> usize {
        self.source.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// Whether every column has one entry per edge and every rule code names a rule.
    pub fn is_consistent(&self) -> bool {
        let n = self.len();
        [self.target.len(), self.cost.len(), self.kind.len(), self.rule.len()]
            .into_iter()
            .chain([self.requires_activation.len(), self.conditional.len()])
            .all(|l| l == n)
            && self.rule.iter().all(|&r| (r as usize) < self.rules.len())
    }
}

/// The edges' fields the search arrays do not hold.
enum EdgeList {
    /// Derived in memory: every edge whole, with its reason and evidence.
    Full(Vec<Edge>),
    /// Loaded from the store: rules and conditions as columns, and the reasons and evidence read
    /// so far (for the edges shown; [`AttackGraph::set_detail`]).
    Stored {
        rules: Vec<Arc<str>>,
        rule: Vec<u16>,
        conditional: Vec<bool>,
        details: FastMap<u32, (Arc<Detail>, Alternatives)>,
    },
}

pub struct AttackGraph {
    pub nodes: NodeTable,
    edges: EdgeList,
    /// Each edge's ends, as node positions (the CSR arrays' source).
    edge_source: Vec<u32>,
    edge_target: Vec<u32>,
    /// Every stored or derived cost is at least 1 (every base cost is); the search relies on it.
    edge_cost: Vec<u32>,
    edge_kind: Vec<EdgeKind>,
    edge_eligible: Vec<bool>,
    /// The largest edge cost: the search's bucket ring has more buckets than this.
    max_cost: u32,
    /// Node lookup by id; `None` when nodes are in strictly increasing id order (as the store
    /// keeps them), where a binary search finds them without a copy of every id.
    index: Option<HashMap<String, NodeId>>,
    /// Each node's rank in id order, for sorting results by id without comparing strings;
    /// `None` when that is its position (the store keeps nodes in id order).
    id_rank: Option<Vec<u32>>,
    /// The adjacency of each direction, built when a search first walks it: most queries walk
    /// one (at 10M edges each is 140 MB, and building it most of a load's remaining time).
    out: OnceLock<Csr>,
    inc: OnceLock<Csr>,
}

/// A search state: node index, and whether it was reached with full control of it as a scope.
type State = (u32, bool);

/// What the filters of one search allow.
#[derive(Clone)]
struct Filter {
    kinds: u64,
    /// Per node; empty when nothing is avoided.
    avoid: Vec<bool>,
    /// One more node not to pass through (the target of a last-edge search), if any.
    also_avoid: Option<u32>,
    /// Yen's spur bans: an edge taken from a given state.
    banned_edges: HashSet<(State, u32)>,
    /// Yen's root path: states (node * 2 + control) a spur path may not enter; empty when none.
    banned_states: Vec<bool>,
    no_eligible: bool,
    max_hops: Option<usize>,
    /// Nothing is excluded or avoided: the search can skip the per-edge checks.
    open: bool,
}

impl Filter {
    fn new(g: &AttackGraph, opts: &SearchOptions) -> Filter {
        let mut avoid = Vec::new();
        if !opts.avoid.is_empty() {
            avoid = vec![false; g.nodes.len()];
            for n in &opts.avoid {
                avoid[n.index()] = true;
            }
        }
        Filter {
            kinds: opts.excluded_kinds.iter().fold(0, |m, k| m | (1 << *k as u32)),
            avoid,
            also_avoid: None,
            banned_edges: HashSet::new(),
            banned_states: Vec::new(),
            no_eligible: opts.without_eligible,
            max_hops: opts.max_hops,
            open: opts.excluded_kinds.is_empty() && opts.avoid.is_empty() && !opts.without_eligible,
        }
    }

    /// Whether node `n` may not be passed through.
    fn avoids(&self, n: u32) -> bool {
        (!self.avoid.is_empty() && self.avoid[n as usize]) || self.also_avoid == Some(n)
    }

    fn allows(&self, g: &AttackGraph, e: u32, to: State) -> bool {
        let kind = g.edge_kind[e as usize];
        self.kinds & (1 << kind as u32) == 0
            && !self.avoids(to.0)
            && (self.banned_states.is_empty() || !self.banned_states[to.0 as usize * 2 + to.1 as usize])
            && (!self.no_eligible || !g.edge_eligible[e as usize])
    }

    /// The same filter, ignoring PIM-eligible edges.
    fn without_eligible(&self) -> Filter {
        Filter { no_eligible: true, open: false, ..self.clone() }
    }
}

/// Labels of a finished search: for each reached state, its (cost, hops) and the edge and state
/// it was reached from. Dense arrays when hops are unlimited; a map keyed by (state, hops) when a
/// hop limit makes the hop count part of the state.
struct Labels {
    dense: Option<Dense>,
    sparse: SparseLabels,
    /// Searched along edges (the previous node of a state is its edge's source) or against them.
    forward: bool,
    /// The dense states (node * 2 + control) this search labelled, so that reading the results
    /// and resetting for the next search cost what the search visited, not the graph's size. Kept
    /// only when `track` is set (labels reused across many searches): a single whole-graph search
    /// does not pay for it.
    touched: Vec<u32>,
    track: bool,
}

impl Labels {
    /// Forgets the last search, keeping the memory for the next one.
    fn reset(&mut self, forward: bool) {
        debug_assert!(self.track || self.dense.is_none(), "dense labels reset only when tracked");
        if let Some((dist, pred)) = &mut self.dense {
            for &i in &self.touched {
                dist[i as usize] = UNSEEN;
                pred[i as usize] = NO_EDGE;
            }
        }
        self.touched.clear();
        self.sparse.clear();
        self.forward = forward;
    }

    /// The nodes this search reached, each once, in index order.
    fn reached_nodes(&self) -> Vec<u32> {
        debug_assert!(self.track || self.dense.is_none(), "dense labels list their states only when tracked");
        let mut v: Vec<u32> = match &self.dense {
            Some(_) => self.touched.iter().map(|i| i / 2).collect(),
            None => self.sparse.keys().map(|k| k.0).collect(),
        };
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// A search's starting state, its distance, and the edge it was entered by (for a last-edge search,
/// whose start states are one hop from the target).
type Seed = (State, Dist, Option<(u32, State, u32)>);

/// (cost, hops) of a reached state.
type Dist = (u32, u32);
/// A state with its hop count (always 0 in dense labels).
type Key = (State, u32);
/// Per state, its labels at different hop counts: each one's hops, distance, and the edge and
/// (state, hops) it was reached from. Keyed by state so that reading one node's labels costs that
/// node's labels, not the whole map; a Pareto front (no label both costlier and longer than
/// another), so the lists stay short.
type SparseLabels = HashMap<State, Vec<SparseLabel>>;
type SparseLabel = (u32, Dist, Option<(u32, Key)>);
/// Per state (node * 2 + control): its distance, and the edge it was reached by with the previous
/// state's control flag packed as `edge << 1 | flag` (the previous node is the edge's other end).
type Dense = (Vec<Dist>, Vec<u32>);

const UNSEEN: (u32, u32) = (u32::MAX, u32::MAX);
const NO_EDGE: u32 = u32::MAX;

impl NameOf for AttackGraph {
    fn name_of(&self, id: &str) -> Option<&str> {
        self.node_index(id).map(|n| self.nodes.name(n.index()))
    }
}

impl AttackGraph {
    /// The attack graph of a tenant's facts, derived in memory (no store): every rule's edges with
    /// their reasons and evidence.
    pub fn from_facts(facts: &crate::facts::Facts) -> AttackGraph {
        let d = crate::rules::derive(facts);
        AttackGraph::with_ends(d.nodes, d.edges, d.ends)
    }

    /// The graph of [`crate::rules::derive_for_search`]: for searching only (no alternatives).
    pub fn from_facts_for_search(facts: &crate::facts::Facts) -> AttackGraph {
        let d = crate::rules::derive_for_search(facts);
        AttackGraph::with_ends(d.nodes, d.edges, d.ends)
    }

    /// Builds the graph. Edges whose ends are not among `nodes` are dropped (the store never has any).
    pub fn new(nodes: Vec<Node>, edges: Vec<Edge>) -> AttackGraph {
        let index: crate::model::FastMap<&str, u32> =
            nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i as u32)).collect();
        let mut ends = Vec::with_capacity(edges.len());
        let edges: Vec<Edge> = edges
            .into_iter()
            .filter(|e| match (index.get(&*e.source), index.get(&*e.target)) {
                (Some(&s), Some(&t)) => {
                    ends.push((s, t));
                    true
                }
                _ => false,
            })
            .collect();
        drop(index);
        AttackGraph::with_ends(nodes, edges, ends)
    }

    /// Builds the graph from edges whose ends are already known as positions in `nodes`, skipping
    /// a lookup by id per edge end.
    pub fn with_ends(nodes: Vec<Node>, edges: Vec<Edge>, ends: Vec<(u32, u32)>) -> AttackGraph {
        AttackGraph::full(NodeTable::from_nodes(&nodes), edges, ends)
    }

    fn full(nodes: NodeTable, edges: Vec<Edge>, ends: Vec<(u32, u32)>) -> AttackGraph {
        assert_eq!(edges.len(), ends.len(), "one pair of ends per edge");
        let (source, target): (Vec<u32>, Vec<u32>) = ends.into_iter().unzip();
        // One pass over the (large) edge structs for everything the searches read.
        let mut cost = Vec::with_capacity(edges.len());
        let mut kind = Vec::with_capacity(edges.len());
        let mut eligible = Vec::with_capacity(edges.len());
        for e in &edges {
            cost.push(e.cost.max(1));
            kind.push(e.kind);
            eligible.push(e.requires_activation);
        }
        AttackGraph::build(nodes, EdgeList::Full(edges), [source, target, cost], kind, eligible)
    }

    /// Builds the graph from a stored snapshot's edge columns: no [`Edge`] is made until one is
    /// asked for. Edges naming a node past the end of `nodes`, or columns of different lengths,
    /// are the caller's to rule out (the store checks them as it decodes; anything missed panics
    /// on its first read, never reads another edge's field).
    pub fn from_columns(nodes: NodeTable, columns: EdgeColumns) -> AttackGraph {
        debug_assert!(columns.is_consistent(), "one entry per edge in every column");
        let EdgeColumns { source, target, mut cost, kind, rules, rule, requires_activation, conditional } = columns;
        for c in &mut cost {
            *c = (*c).max(1);
        }
        let edges = EdgeList::Stored { rules, rule, conditional, details: FastMap::default() };
        AttackGraph::build(nodes, edges, [source, target, cost], kind, requires_activation)
    }

    fn build(
        nodes: NodeTable,
        edges: EdgeList,
        [edge_source, edge_target, edge_cost]: [Vec<u32>; 3],
        edge_kind: Vec<EdgeKind>,
        edge_eligible: Vec<bool>,
    ) -> AttackGraph {
        // Checked where the ends come from (derive, the store's decoder); building the adjacency
        // below indexes by every end anyway.
        debug_assert!(
            edge_source.iter().chain(&edge_target).all(|&n| (n as usize) < nodes.len()),
            "every edge end is a node"
        );
        let max_cost = edge_cost.iter().copied().max().unwrap_or(1);
        // The rank of each node in id order, for sorting results by id without comparing strings.
        // The store keeps nodes in id order already (the table knows whether they are), and then
        // the rank is the position and ids are found by binary search instead of a map.
        let (index, id_rank) = if nodes.ids_strictly_sorted() {
            (None, None)
        } else {
            let index = (0..nodes.len()).map(|i| (nodes.id(i).to_string(), NodeId(i as u32))).collect();
            let mut order: Vec<u32> = (0..nodes.len() as u32).collect();
            order.sort_by(|&a, &b| nodes.id(a as usize).cmp(nodes.id(b as usize)));
            let mut rank = vec![0; nodes.len()];
            for (r, &n) in order.iter().enumerate() {
                rank[n as usize] = r as u32;
            }
            (Some(index), Some(rank))
        };
        AttackGraph {
            edge_cost,
            edge_kind,
            edge_eligible,
            max_cost,
            nodes,
            edges,
            edge_source,
            edge_target,
            index,
            id_rank,
            out: OnceLock::new(),
            inc: OnceLock::new(),
        }
    }

    /// The same nodes (at the same positions) and every edge but those at positions `cut`, for
    /// searching (a loaded graph's copy has none of the reasons and evidence read so far).
    pub fn without_edges(&self, cut: &[usize]) -> AttackGraph {
        let mut gone = vec![false; self.edge_count()];
        for &e in cut {
            gone[e] = true;
        }
        let kept = (0..self.edge_count()).filter(|&e| !gone[e]);
        match &self.edges {
            EdgeList::Full(edges) => {
                let (edges, ends) =
                    kept.map(|e| (edges[e].clone(), (self.edge_source[e], self.edge_target[e]))).unzip();
                AttackGraph::full(self.nodes.clone(), edges, ends)
            }
            EdgeList::Stored { rules, rule, conditional, .. } => {
                let mut columns = EdgeColumns { rules: rules.clone(), ..EdgeColumns::default() };
                for e in kept {
                    columns.source.push(self.edge_source[e]);
                    columns.target.push(self.edge_target[e]);
                    columns.cost.push(self.edge_cost[e]);
                    columns.kind.push(self.edge_kind[e]);
                    columns.rule.push(rule[e]);
                    columns.requires_activation.push(self.edge_eligible[e]);
                    columns.conditional.push(conditional[e]);
                }
                AttackGraph::from_columns(self.nodes.clone(), columns)
            }
        }
    }

    /// How many edges the graph has.
    pub fn edge_count(&self) -> usize {
        self.edge_source.len()
    }

    /// Edge `e`: borrowed from a derived graph, made from the columns of a loaded one (with the
    /// reason and evidence read so far; [`Edge::has_detail`] says whether they were).
    pub fn edge(&self, e: usize) -> Cow<'_, Edge> {
        match &self.edges {
            EdgeList::Full(edges) => Cow::Borrowed(&edges[e]),
            EdgeList::Stored { rules, rule, conditional, details } => {
                let id = |n: u32| Arc::from(self.nodes.id(n as usize));
                let (source, target) = (id(self.edge_source[e]), id(self.edge_target[e]));
                let mut edge = Edge::bare(source, target, self.edge_kind[e], rules[rule[e] as usize].clone());
                edge.requires_activation = self.edge_eligible[e];
                edge.conditional = conditional[e];
                edge.cost = self.edge_cost[e];
                if let Some((detail, alternatives)) = details.get(&(e as u32)) {
                    edge.detail = detail.clone();
                    edge.alternatives = alternatives.clone();
                }
                Cow::Owned(edge)
            }
        }
    }

    /// Every edge in position order (see [`edge`](Self::edge)).
    pub fn edges(&self) -> impl ExactSizeIterator<Item = Cow<'_, Edge>> + '_ {
        (0..self.edge_count()).map(|e| self.edge(e))
    }

    /// Every edge, owned: for building another graph from this one's edges.
    pub fn to_edges(&self) -> Vec<Edge> {
        self.edges().map(Cow::into_owned).collect()
    }

    pub fn edge_kind(&self, e: usize) -> EdgeKind {
        self.edge_kind[e]
    }

    /// The cost the searches add up for edge `e`.
    pub fn edge_cost(&self, e: usize) -> u32 {
        self.edge_cost[e]
    }

    /// Whether edge `e` needs a PIM activation first.
    pub fn edge_requires_activation(&self, e: usize) -> bool {
        self.edge_eligible[e]
    }

    /// Whether edge `e` depends on a condition azpath does not evaluate.
    pub fn edge_conditional(&self, e: usize) -> bool {
        match &self.edges {
            EdgeList::Full(edges) => edges[e].conditional,
            EdgeList::Stored { conditional, .. } => conditional[e],
        }
    }

    /// The id of the rule that made edge `e`.
    pub fn edge_rule(&self, e: usize) -> &str {
        match &self.edges {
            EdgeList::Full(edges) => &edges[e].rule,
            EdgeList::Stored { rules, rule, .. } => &rules[rule[e] as usize],
        }
    }

    /// Whether edge `e`'s reason and evidence are known (always, on a derived graph).
    pub fn has_detail(&self, e: usize) -> bool {
        match &self.edges {
            EdgeList::Full(edges) => edges[e].has_detail(),
            EdgeList::Stored { details, .. } => details.contains_key(&(e as u32)),
        }
    }

    /// Gives edge `e` its reason and evidence (read from the store for the edges shown).
    pub fn set_detail(&mut self, e: usize, detail: Arc<Detail>, alternatives: Alternatives) {
        match &mut self.edges {
            EdgeList::Full(edges) => {
                edges[e].detail = detail;
                edges[e].alternatives = alternatives;
            }
            EdgeList::Stored { details, .. } => {
                details.insert(e as u32, (detail, alternatives));
            }
        }
    }

    /// Where node `n` comes in the order of node ids: sorting by it sorts by id.
    pub fn id_rank(&self, n: NodeId) -> u32 {
        self.id_rank.as_ref().map_or(n.0, |rank| rank[n.index()])
    }

    /// The node with this (normalised Azure) id.
    pub fn node_index(&self, id: &str) -> Option<NodeId> {
        match &self.index {
            Some(index) => index.get(id).copied(),
            None => self.nodes.position_in_sorted(id).map(|i| NodeId(i as u32)),
        }
    }

    /// Node `n`, borrowed from the node table.
    pub fn node(&self, n: NodeId) -> NodeRef<'_> {
        self.nodes.get(n.index())
    }

    /// Every node, in position order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// Where edge `e` starts.
    pub fn edge_source(&self, e: usize) -> NodeId {
        NodeId(self.edge_source[e])
    }

    /// Where edge `e` ends.
    pub fn edge_target(&self, e: usize) -> NodeId {
        NodeId(self.edge_target[e])
    }

    /// The edges leaving each node (built on first use).
    fn out(&self) -> &Csr {
        self.out.get_or_init(|| {
            Csr::new(self.nodes.len(), &self.edge_source, &self.edge_target, &self.edge_cost, &self.edge_kind)
        })
    }

    /// The edges entering each node (built on first use).
    fn inc(&self) -> &Csr {
        self.inc.get_or_init(|| {
            Csr::new(self.nodes.len(), &self.edge_target, &self.edge_source, &self.edge_cost, &self.edge_kind)
        })
    }

    /// The edge ids leaving a node, for callers that walk the graph themselves.
    pub fn out_edges(&self, n: NodeId) -> impl Iterator<Item = usize> + '_ {
        self.out().of(n.0).iter().map(|&e| e as usize)
    }

    /// The easiest path from `source` to each of `targets` it can reach, sorted by target id.
    pub fn easiest_paths(&self, source: NodeId, targets: &HashSet<NodeId>) -> Vec<Path> {
        self.easiest_paths_with(source, targets, &SearchOptions::default())
    }

    pub fn easiest_paths_with(&self, source: NodeId, targets: &HashSet<NodeId>, opts: &SearchOptions) -> Vec<Path> {
        let filter = Filter::new(self, opts);
        let s = source.index() as u32;
        let labels = self.forward(&[(s, false)], &filter);
        let mut out: Vec<Path> = targets
            .iter()
            .filter(|t| t.index() as u32 != s)
            .filter_map(|t| self.forward_path(&labels, t.index() as u32))
            .collect();
        out.sort_by_key(|p| self.id_rank(p.target));
        out
    }

    /// The easiest path of every (source, target) pair, sorted by source id then target id.
    ///
    /// One search per source (forward) or per target (backward), whichever is fewer; a last-edge
    /// search is always backward, since the target may not be passed through before its last hop.
    /// The searches share one set of labels, reset between them, so each costs what it visits:
    /// "every principal to every crown jewel" is thousands of small searches, not thousands of
    /// passes over the whole graph.
    pub fn easiest_pairs(&self, q: &PairQuery, opts: &SearchOptions) -> Vec<Path> {
        self.easiest_pairs_in(q, opts, q.sources.len() > q.targets.len())
    }

    fn easiest_pairs_in(&self, q: &PairQuery, opts: &SearchOptions, backward: bool) -> Vec<Path> {
        if opts.max_hops == Some(0) {
            return vec![];
        }
        let backward = backward || !q.last_kinds.is_empty();
        let filter = Filter::new(self, opts);
        let active = filter.without_eligible();
        let mut is_source = vec![false; self.nodes.len()];
        let mut is_target = vec![false; self.nodes.len()];
        for s in q.sources.iter().filter(|s| !filter.avoids(s.index() as u32)) {
            is_source[s.index()] = true;
        }
        for t in q.targets.iter().filter(|t| !filter.avoids(t.index() as u32)) {
            is_target[t.index()] = true;
        }
        let mut labels = self.new_labels(&filter, !backward);
        labels.track = true;
        let mut out = Vec::new();
        let mut starts: Vec<u32> = (if backward { q.targets } else { q.sources })
            .iter()
            .map(|n| n.index() as u32)
            .filter(|&n| if backward { is_target[n as usize] } else { is_source[n as usize] })
            .collect();
        if q.only_eligible {
            // Only a start beyond some eligible hop (a target after one, a source before one) can
            // have pairs that need PIM: one search from all eligible hops at once finds them.
            let beyond = self.beyond_eligible_hops(&filter, !backward);
            starts.retain(|&n| !states_of(&beyond, n).is_empty());
        }
        // Ends reached without PIM in the current start's search, stamped with that start.
        let mut without_pim = if q.only_eligible { vec![u32::MAX; self.nodes.len()] } else { vec![] };
        for start in starts {
            let wanted = |n: u32| n != start && if backward { is_source[n as usize] } else { is_target[n as usize] };
            if q.only_eligible {
                // A pair reachable without PIM is not a finding: search without eligible hops
                // first, then with them, and keep only the ends the second search alone reached.
                self.search_from(start, backward, q.last_kinds, &active, &mut labels);
                for n in labels.reached_nodes() {
                    if best_end(&labels, n, |flag| !backward || !flag).is_some() {
                        without_pim[n as usize] = start;
                    }
                }
                self.search_from(start, backward, q.last_kinds, &filter, &mut labels);
                out.extend(self.paths_found(&labels, backward, |n| wanted(n) && without_pim[n as usize] != start));
            } else {
                self.search_from(start, backward, q.last_kinds, &filter, &mut labels);
                out.extend(self.paths_found(&labels, backward, wanted));
            }
        }
        out.sort_by_key(|p| (self.id_rank(p.source), self.id_rank(p.target)));
        out
    }

    /// Everything reachable from an eligible hop's far end (forward from its head), or that reaches
    /// its near end (`backward`, into its tail), under `filter` without a hop limit.
    fn beyond_eligible_hops(&self, filter: &Filter, backward: bool) -> Labels {
        let unlimited = Filter { max_hops: None, ..filter.clone() };
        let seeds: Vec<Seed> = (0..self.edge_count() as u32)
            .filter(|&e| self.edge_eligible[e as usize])
            .filter_map(|e| {
                let (s, t, kind) =
                    (self.edge_source[e as usize], self.edge_target[e as usize], self.edge_kind[e as usize]);
                let ok = unlimited.open || unlimited.allows(self, e, (t, kind.grants_control_of_scope()));
                let state =
                    if backward { (s, kind == EdgeKind::Contains) } else { (t, kind.grants_control_of_scope()) };
                ok.then_some((state, (0, 0), None))
            })
            .collect();
        let mut labels = self.new_labels(&unlimited, !backward);
        self.dijkstra(&seeds, &unlimited, &mut labels);
        labels
    }

    /// One search of [`easiest_pairs`](Self::easiest_pairs): from a source to every target, or
    /// into a target from every source (with `last_kinds`, starting one allowed hop out of it).
    fn search_from(&self, start: u32, backward: bool, last_kinds: &[EdgeKind], filter: &Filter, labels: &mut Labels) {
        labels.reset(!backward);
        if !backward || last_kinds.is_empty() {
            self.dijkstra(&[((start, false), (0, 0), None)], filter, labels);
            return;
        }
        // Start one hop out, at the sources of the allowed last edges, and never pass through the
        // target itself before that hop.
        let inc = self.inc();
        let seeds: Vec<Seed> = inc
            .slots(start)
            .filter(|&slot| last_kinds.contains(&inc.kind[slot]))
            .filter_map(|slot| {
                let (e, kind) = (inc.edge_ids[slot], inc.kind[slot]);
                let from = (inc.other[slot], kind == EdgeKind::Contains);
                (filter.allows(self, e, from) && from.0 != start).then_some((
                    from,
                    (inc.cost[slot], 1),
                    Some((e, (start, false), 0)),
                ))
            })
            .collect();
        let not_through = Filter { also_avoid: Some(start), open: false, ..filter.clone() };
        self.dijkstra(&seeds, &not_through, labels);
    }

    /// The easiest paths of a finished [`search_from`](Self::search_from) to (or from) every
    /// reached node that `wanted` accepts.
    fn paths_found(&self, labels: &Labels, backward: bool, wanted: impl Fn(u32) -> bool) -> Vec<Path> {
        labels
            .reached_nodes()
            .into_iter()
            .filter(|&n| wanted(n))
            .filter_map(|n| if backward { self.backward_path(labels, n) } else { self.forward_path(labels, n) })
            .collect()
    }

    /// How many nodes the sources reach (the search alone, without building paths): for measuring.
    pub fn reachable_count(&self, sources: &[NodeId], opts: &SearchOptions) -> usize {
        let labels = self.search_from_sources(sources, opts);
        (0..self.nodes.len() as u32).filter(|&n| !states_of(&labels, n).is_empty()).count()
    }

    /// The whole-graph search forward from `sources` (each entered without control of it).
    fn search_from_sources(&self, sources: &[NodeId], opts: &SearchOptions) -> Labels {
        let starts: Vec<State> = sources.iter().map(|s| (s.index() as u32, false)).collect();
        self.forward(&starts, &Filter::new(self, opts))
    }

    /// The whole-graph search backward into `targets`.
    fn search_into_targets(&self, targets: &[NodeId], opts: &SearchOptions) -> Labels {
        let target_set: HashSet<u32> = targets.iter().map(|t| t.index() as u32).collect();
        self.backward(&target_set, &Filter::new(self, opts))
    }

    /// Everything reachable from any of `sources`: for each node, the easiest path from the
    /// nearest source (blast radius). Sorted by cost, then node id.
    pub fn reach(&self, sources: &[NodeId], opts: &SearchOptions) -> Vec<Path> {
        self.sorted_paths(&self.search_from_sources(sources, opts), sources)
    }

    /// [`reach`](Self::reach), each path summed up ([`Reached::of`]) without being made.
    pub fn reach_summary(&self, sources: &[NodeId], opts: &SearchOptions) -> Vec<Reached> {
        self.sorted_summaries(&self.search_from_sources(sources, opts), sources)
    }

    /// [`who_can_reach`](Self::who_can_reach), each path summed up without being made.
    pub fn who_can_reach_summary(&self, targets: &[NodeId], opts: &SearchOptions) -> Vec<Reached> {
        self.sorted_summaries(&self.search_into_targets(targets, opts), targets)
    }

    /// Everyone who can reach any of `targets`: for each node, its easiest path to the nearest
    /// target. Sorted by cost, then node id.
    pub fn who_can_reach(&self, targets: &[NodeId], opts: &SearchOptions) -> Vec<Path> {
        self.sorted_paths(&self.search_into_targets(targets, opts), targets)
    }

    /// The easiest path of every node a whole-graph search reached (to it, or from it when the
    /// search ran backward), except the search's own `starts`; sorted by cost, then node id.
    /// The nodes are sorted first and each path is built in that order, so no path is moved.
    fn sorted_paths(&self, labels: &Labels, starts: &[NodeId]) -> Vec<Path> {
        let backward = !labels.forward;
        let order = self.reached_in_order(labels, starts);
        // Sized up front: grown by doubling, every path was copied and twice the memory faulted in.
        let mut out: Vec<Path> = Vec::with_capacity(order.len());
        let path_of = |n| if backward { self.backward_path(labels, n) } else { self.forward_path(labels, n) };
        let Some((_, pred)) = &labels.dense else {
            out.extend(order.into_iter().filter_map(path_of));
            return out;
        };
        // A path is the path of the state it was reached from and one edge. That state is cheaper,
        // so its node came earlier: when that node's path ends in that same state, the path is
        // copied from it and one edge added, instead of walking the labels back hop by hop.
        let ends = if backward { &self.edge_target } else { &self.edge_source };
        // Per node: the position of its path in `out`, shifted left, and the flag of its end state.
        let mut built = vec![u32::MAX; self.nodes.len()];
        for n in order {
            let Some(((state, _), d)) = best_end(labels, n, |flag| !backward || !flag) else { continue };
            let packed = pred[state.0 as usize * 2 + state.1 as usize];
            // The edge this state was reached by, and the path to (or from) the state before it.
            let before = (packed != NO_EDGE).then_some((packed >> 1) as usize).and_then(|e| {
                let from = built[ends[e] as usize];
                (from != u32::MAX && from & 1 == packed & 1).then(|| (e, &out[(from >> 1) as usize]))
            });
            let path = match before {
                Some((e, before)) if backward => {
                    let edges = [&[e][..], &before.edges].concat();
                    Path { source: NodeId(n), target: before.target, edges, cost: d.0 }
                }
                Some((e, before)) => {
                    let edges = [&before.edges[..], &[e]].concat();
                    Path { source: before.source, target: NodeId(n), edges, cost: d.0 }
                }
                None => path_of(n).expect("a reached node has a path"),
            };
            debug_assert_eq!(Some(&path), path_of(n).as_ref());
            built[n as usize] = (out.len() as u32) << 1 | state.1 as u32;
            out.push(path);
        }
        out
    }

    /// The nodes a whole-graph search reached, but its `starts`: by cost, then node id.
    fn reached_in_order(&self, labels: &Labels, starts: &[NodeId]) -> Vec<u32> {
        let backward = !labels.forward;
        let mut is_start = vec![false; self.nodes.len()];
        for n in starts {
            is_start[n.index()] = true;
        }
        // (cost, node) of each reached node, in id order.
        let reached_at = |n: u32| {
            if is_start[n as usize] {
                return None;
            }
            Some((best_end(labels, n, |flag| !backward || !flag)?.1.0, n))
        };
        let reached: Vec<(u32, u32)> = match &self.id_rank {
            None => (0..self.nodes.len() as u32).filter_map(reached_at).collect(),
            Some(ranks) => {
                let mut by_id = vec![0u32; self.nodes.len()];
                for (n, &rank) in ranks.iter().enumerate() {
                    by_id[rank as usize] = n as u32;
                }
                by_id.into_iter().filter_map(reached_at).collect()
            }
        };
        by_cost(reached)
    }

    /// [`sorted_paths`](Self::sorted_paths), summed up: cost and hops are the end state's label,
    /// and whether a path needs an activation is worked out once per state, from the state
    /// before it (the walk back stops at the first state already known).
    fn sorted_summaries(&self, labels: &Labels, starts: &[NodeId]) -> Vec<Reached> {
        let backward = !labels.forward;
        let order = self.reached_in_order(labels, starts);
        let Some((_, pred)) = &labels.dense else {
            // Hop-limited searches keep sparse labels: their paths are made and summed up.
            let path_of = |n| if backward { self.backward_path(labels, n) } else { self.forward_path(labels, n) };
            return order.into_iter().filter_map(path_of).map(|p| Reached::of(&p, self, backward)).collect();
        };
        let ends = if backward { &self.edge_target } else { &self.edge_source };
        // Per state: 0 not worked out yet, 1 no activation on its path, 2 an activation.
        let mut needs = vec![0u8; pred.len()];
        let mut chain = Vec::new();
        let mut out = Vec::with_capacity(order.len());
        for n in order {
            let Some(((state, _), d)) = best_end(labels, n, |flag| !backward || !flag) else { continue };
            let mut at = state.0 as usize * 2 + state.1 as usize;
            // Back to a start, or to a state already worked out.
            let mut known = loop {
                if needs[at] != 0 {
                    break needs[at] == 2;
                }
                let packed = pred[at];
                if packed == NO_EDGE {
                    break false;
                }
                chain.push(at);
                let e = (packed >> 1) as usize;
                at = ends[e] as usize * 2 + (packed & 1) as usize;
            };
            while let Some(s) = chain.pop() {
                known |= self.edge_eligible[(pred[s] >> 1) as usize];
                needs[s] = 1 + known as u8;
            }
            out.push(Reached { node: NodeId(n), cost: d.0, hops: d.1, needs_activation: known });
        }
        out
    }

    /// The `k` easiest loopless paths from `source` to `target` (Yen's algorithm), easiest first.
    pub fn k_easiest(&self, source: NodeId, target: NodeId, k: usize, opts: &SearchOptions) -> Vec<Path> {
        let (s, t) = (source.index() as u32, target.index() as u32);
        if s == t || k == 0 {
            return vec![];
        }
        let base = Filter::new(self, opts);
        let Some(first) = self.forward_path(&self.forward(&[(s, false)], &base), t) else { return vec![] };
        let mut found = vec![first];
        let mut candidates: Vec<Path> = Vec::new();
        while found.len() < k {
            let last = found.last().expect("at least one path").clone();
            let last_states = self.states(&last);
            for i in 0..last.edges.len() {
                let root = &last.edges[..i];
                let spur_state = last_states[i];
                let mut filter = Filter::new(self, opts);
                for p in &found {
                    if p.edges.len() > i && p.edges[..i] == *root {
                        filter.banned_edges.insert((spur_state, p.edges[i] as u32));
                    }
                }
                filter.banned_states = vec![false; self.nodes.len() * 2];
                for &st in &last_states[..i] {
                    filter.banned_states[st.0 as usize * 2 + st.1 as usize] = true;
                }
                filter.open = false;
                filter.max_hops = opts.max_hops.map(|h| h.saturating_sub(i));
                if filter.max_hops == Some(0) {
                    continue;
                }
                let labels = self.forward(&[spur_state], &filter);
                let Some(spur_path) = self.forward_path(&labels, t) else { continue };
                let mut edges = root.to_vec();
                edges.extend(spur_path.edges);
                let cost = edges.iter().map(|&e| self.edge_cost[e]).sum();
                let candidate = Path { source: NodeId(s), target: NodeId(t), edges, cost };
                if self.is_simple(&candidate) && !found.contains(&candidate) && !candidates.contains(&candidate) {
                    candidates.push(candidate);
                }
            }
            // Easiest, then fewest hops, then the lowest edge ids: deterministic.
            let Some(best) = candidates
                .iter()
                .enumerate()
                .min_by(|(_, a), (_, b)| (a.cost, a.hops(), &a.edges).cmp(&(b.cost, b.hops(), &b.edges)))
                .map(|(i, _)| i)
            else {
                break;
            };
            found.push(candidates.swap_remove(best));
        }
        found
    }

    /// Every path as easy as the easiest one (at most `limit`), for "all equally easy paths".
    pub fn all_easiest(&self, source: NodeId, target: NodeId, limit: usize, opts: &SearchOptions) -> Vec<Path> {
        let mut k = 8.min(limit.max(1));
        loop {
            let paths = self.k_easiest(source, target, k, opts);
            let Some(best) = paths.first().map(|p| p.cost) else { return vec![] };
            let equal: Vec<Path> = paths.iter().filter(|p| p.cost == best).cloned().collect();
            if equal.len() < paths.len() || paths.len() < k || k >= limit {
                return equal.into_iter().take(limit).collect();
            }
            k = (k * 2).min(limit);
        }
    }

    /// The search states a path walks through: each node with whether it was entered with control.
    fn states(&self, p: &Path) -> Vec<State> {
        let mut v = vec![(p.source.0, false)];
        v.extend(p.edges.iter().map(|&e| (self.edge_target[e], self.edge_kind[e].grants_control_of_scope())));
        v
    }

    /// Loopless in the search's sense: no state twice. A node may appear twice only when the
    /// second visit has gained control of it (e.g. code on a VM assigns itself Owner of the VM).
    fn is_simple(&self, p: &Path) -> bool {
        let states = self.states(p);
        let mut seen = HashSet::with_capacity(states.len());
        states.into_iter().all(|n| seen.insert(n))
    }

    fn new_labels(&self, filter: &Filter, forward: bool) -> Labels {
        let dense = filter.max_hops.is_none().then(|| {
            let n = self.nodes.len() * 2;
            (vec![UNSEEN; n], vec![NO_EDGE; n])
        });
        Labels { dense, sparse: HashMap::new(), forward, touched: Vec::new(), track: false }
    }

    /// Dijkstra from `starts` along edges; `Contains` only from controlled states.
    fn forward(&self, starts: &[State], filter: &Filter) -> Labels {
        let mut labels = self.new_labels(filter, true);
        let seeds: Vec<Seed> = starts.iter().map(|&st| (st, (0, 0), None)).collect();
        self.dijkstra(&seeds, filter, &mut labels);
        labels
    }

    /// Dijkstra from `targets` against edge direction. A backward state (n, true) means the next
    /// forward hop from n is `Contains`, so n must have been entered by a control edge; a path can
    /// only start at a (n, false) state.
    fn backward(&self, targets: &HashSet<u32>, filter: &Filter) -> Labels {
        let mut starts: Vec<State> = targets.iter().map(|&t| (t, false)).collect();
        starts.sort();
        let mut labels = self.new_labels(filter, false);
        let seeds: Vec<Seed> = starts.iter().map(|&st| (st, (0, 0), None)).collect();
        self.dijkstra(&seeds, filter, &mut labels);
        labels
    }

    /// Dijkstra with a bucket queue (Dial's algorithm): edge costs are small positive integers, so
    /// a ring of buckets indexed by cost replaces the binary heap and keeps the search close
    /// to BFS speed. Every edge costs at least 1, so nothing is added to the bucket being drained:
    /// each state is settled once, at its lowest (cost, hops).
    ///
    /// `labels` must be fresh or reset, in the direction to search. Seeds may start above cost 0
    /// (at most one edge's cost), which the ring of more than `max_cost` buckets holds.
    fn dijkstra(&self, seeds: &[Seed], filter: &Filter, labels: &mut Labels) {
        let forward = labels.forward;
        match &mut labels.dense {
            Some((dist, pred)) => {
                let mut sink = DenseSink { dist, pred, touched: &mut labels.touched, track: labels.track };
                self.dijkstra_into(seeds, filter, forward, &mut sink)
            }
            None => self.dijkstra_into(seeds, filter, forward, &mut SparseSink(&mut labels.sparse)),
        }
    }

    /// The search loop, compiled once per kind of labels so the hot loop indexes plain arrays.
    fn dijkstra_into(&self, seeds: &[Seed], filter: &Filter, forward: bool, labels: &mut impl LabelSink) {
        // More buckets than the largest edge cost, as a power of two: a cost's bucket is a mask,
        // not a division, on every push and pop.
        let ring = (self.max_cost as usize + 1).next_power_of_two();
        let mask = ring - 1;
        let mut buckets: Vec<Vec<(u32, u32, bool)>> = vec![Vec::new(); ring];
        let mut pending = 0usize;
        for &(st, d, from) in seeds {
            if d < labels.get(st, d.1) {
                labels.set(st, d.1, d, from);
                buckets[d.0 as usize & mask].push((d.1, st.0, st.1));
                pending += 1;
            }
        }
        let csr = if forward { self.out() } else { self.inc() };
        let mut cost = 0u32;
        while pending > 0 {
            let Some((hops, n, flag)) = buckets[cost as usize & mask].pop() else {
                cost += 1;
                continue;
            };
            pending -= 1;
            let state = (n, flag);
            // Stale: a better label replaced this one (or, with a hop limit, dominated it away).
            if labels.get(state, hops) != (cost, hops) {
                continue;
            }
            if filter.max_hops.is_some_and(|h| hops as usize >= h) {
                continue;
            }
            for slot in csr.slots(n) {
                let (e, kind) = (csr.edge_ids[slot], csr.kind[slot]);
                let (next_node, next_flag) = if forward {
                    if kind == EdgeKind::Contains && !flag {
                        continue;
                    }
                    (csr.other[slot], kind.grants_control_of_scope())
                } else {
                    if flag && !kind.grants_control_of_scope() {
                        continue;
                    }
                    (csr.other[slot], kind == EdgeKind::Contains)
                };
                let next = (next_node, next_flag);
                if !filter.open && !filter.allows(self, e, next)
                    || (forward && !filter.banned_edges.is_empty() && filter.banned_edges.contains(&(state, e)))
                {
                    continue;
                }
                let cand = (cost + csr.cost[slot], hops + 1);
                if cand < labels.get(next, cand.1) && !labels.dominated(next, cand.1, cand) {
                    labels.set(next, cand.1, cand, Some((e, state, hops)));
                    buckets[cand.0 as usize & mask].push((cand.1, next.0, next.1));
                    pending += 1;
                }
            }
        }
    }

    fn forward_path(&self, labels: &Labels, t: u32) -> Option<Path> {
        let (end, d) = best_end(labels, t, |_| true)?;
        let (mut edges, source, cost) = self.walk_back(labels, end, d);
        edges.reverse();
        Some(Path { source: NodeId(source), target: NodeId(t), edges, cost })
    }

    fn backward_path(&self, labels: &Labels, s: u32) -> Option<Path> {
        let (start, d) = best_end(labels, s, |flag| !flag)?;
        let (edges, target, cost) = self.walk_back(labels, start, d);
        Some(Path { source: NodeId(s), target: NodeId(target), edges, cost })
    }

    /// From a state with label `d` back to where its search started: the edges in the order
    /// walked, the node reached, and the cost of the walk.
    fn walk_back(&self, labels: &Labels, key: Key, d: Dist) -> (Vec<usize>, u32, u32) {
        // A label's hop count is its path's length: one allocation per path.
        let mut edges = Vec::with_capacity(d.1 as usize);
        if let Some((_, pred)) = &labels.dense {
            // Dense labels are final before anything is reached from them, so a state's cost is
            // its chain's: the chain is walked without reading each edge's cost.
            let ends = if labels.forward { &self.edge_source } else { &self.edge_target };
            let (mut node, mut flag) = key.0;
            loop {
                let packed = pred[node as usize * 2 + flag as usize];
                if packed == NO_EDGE {
                    break;
                }
                edges.push((packed >> 1) as usize);
                (node, flag) = (ends[(packed >> 1) as usize], packed & 1 == 1);
            }
            debug_assert_eq!(d.0, edges.iter().map(|&e| self.edge_cost[e]).sum::<u32>());
            return (edges, node, d.0);
        }
        // Labels keyed by hops: each names the edge and the (state, hops) it was reached from.
        let mut cur = key;
        while let Some((e, prev)) =
            labels.sparse.get(&cur.0).and_then(|v| v.iter().find(|l| l.0 == cur.1)).and_then(|l| l.2)
        {
            edges.push(e as usize);
            cur = prev;
        }
        let cost = edges.iter().map(|&e| self.edge_cost[e]).sum();
        (edges, cur.0.0, cost)
    }
}

/// Where a search writes its labels: dense arrays, or a map when hops are part of the state.
trait LabelSink {
    fn get(&self, st: State, hops: u32) -> Dist;
    /// Labels `st` with distance `d`, reached by edge `from.0` from state `from.1` at hops `from.2`.
    fn set(&mut self, st: State, hops: u32, d: Dist, from: Option<(u32, State, u32)>);
    /// Whether `st` already has a label no costlier at no more hops than `hops` (only labels
    /// keyed by hops can be dominated without being equal).
    fn dominated(&self, _st: State, _hops: u32, _d: Dist) -> bool {
        false
    }
}

struct DenseSink<'a> {
    dist: &'a mut [Dist],
    pred: &'a mut [u32],
    touched: &'a mut Vec<u32>,
    track: bool,
}

impl LabelSink for DenseSink<'_> {
    #[inline(always)]
    fn get(&self, st: State, _hops: u32) -> Dist {
        self.dist[st.0 as usize * 2 + st.1 as usize]
    }

    #[inline(always)]
    fn set(&mut self, st: State, _hops: u32, d: Dist, from: Option<(u32, State, u32)>) {
        let i = st.0 as usize * 2 + st.1 as usize;
        if self.track && self.dist[i] == UNSEEN {
            self.touched.push(i as u32);
        }
        self.dist[i] = d;
        self.pred[i] = from.map_or(NO_EDGE, |(e, prev, _)| (e << 1) | prev.1 as u32);
    }
}

struct SparseSink<'a>(&'a mut SparseLabels);

impl LabelSink for SparseSink<'_> {
    fn get(&self, st: State, hops: u32) -> Dist {
        self.0.get(&st).and_then(|v| v.iter().find(|l| l.0 == hops)).map_or(UNSEEN, |l| l.1)
    }

    fn set(&mut self, st: State, hops: u32, d: Dist, from: Option<(u32, State, u32)>) {
        let from = from.map(|(e, prev, ph)| (e, (prev, ph)));
        let labels = self.0.entry(st).or_default();
        // Labels this one dominates (no cheaper, no shorter) can never lead anywhere better.
        labels.retain(|l| !(l.0 >= hops && l.1.0 >= d.0) || l.0 == hops);
        match labels.iter_mut().find(|l| l.0 == hops) {
            Some(l) => *l = (hops, d, from),
            None => labels.push((hops, d, from)),
        }
    }

    fn dominated(&self, st: State, hops: u32, d: Dist) -> bool {
        self.0.get(&st).is_some_and(|v| v.iter().any(|l| l.0 <= hops && l.1.0 <= d.0))
    }
}

/// The nodes of `(cost, node)` pairs, sorted by cost and otherwise in the order given.
fn by_cost(mut reached: Vec<(u32, u32)>) -> Vec<u32> {
    let top = reached.iter().map(|r| r.0 as usize).max().unwrap_or(0);
    if top > 4 * reached.len() {
        reached.sort_by_key(|r| r.0);
        return reached.into_iter().map(|r| r.1).collect();
    }
    // Costs are small integers: a counting sort is two passes instead of a comparison sort.
    let mut at = vec![0u32; top + 2];
    for r in &reached {
        at[r.0 as usize + 1] += 1;
    }
    for c in 1..at.len() {
        at[c] += at[c - 1];
    }
    let mut order = vec![0u32; reached.len()];
    for &(cost, n) in &reached {
        order[at[cost as usize] as usize] = n;
        at[cost as usize] += 1;
    }
    order
}

/// Every reached state of node `n` (with its hop count) and its distance.
fn states_of(l: &Labels, n: u32) -> Vec<(Key, Dist)> {
    match &l.dense {
        Some((dist, _)) => [false, true]
            .into_iter()
            .map(|flag| (((n, flag), 0), dist[n as usize * 2 + flag as usize]))
            .filter(|(_, d)| *d != UNSEEN)
            .collect(),
        None => [false, true]
            .into_iter()
            .flat_map(|flag| l.sparse.get(&(n, flag)).into_iter().flatten().map(move |v| (((n, flag), v.0), v.1)))
            .collect(),
    }
}

/// The cheapest reached state of node `n` whose flag `ok` accepts, with its hop count.
fn best_end(l: &Labels, n: u32, ok: impl Fn(bool) -> bool) -> Option<((State, u32), (u32, u32))> {
    let mut best: Option<((State, u32), (u32, u32))> = None;
    let mut consider = |key: (State, u32), d: (u32, u32)| {
        if d != UNSEEN && ok(key.0.1) && best.is_none_or(|b| (d, key.0.1) < (b.1, b.0.0.1)) {
            best = Some((key, d));
        }
    };
    match &l.dense {
        Some((dist, _)) => {
            for flag in [false, true] {
                consider(((n, flag), 0), dist[n as usize * 2 + flag as usize]);
            }
        }
        None => {
            for flag in [false, true] {
                for v in l.sparse.get(&(n, flag)).into_iter().flatten() {
                    consider(((n, flag), v.0), v.1);
                }
            }
        }
    }
    best.filter(|(_, d)| d.1 > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeKind;

    /// Large enough for the two-thread build: every node's slots hold its edges in id order, with
    /// their other end, cost and kind.
    #[test]
    fn adjacency_lists_each_nodes_edges_in_id_order() {
        let (n, m) = (3_000usize, 100_000usize);
        let mut x: u64 = 42;
        let mut next = |bound: usize| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) as usize) % bound
        };
        // Skewed ends, so the halves are not equal in nodes.
        let ends: Vec<u32> = (0..m).map(|_| (next(n) * next(n) / n) as u32).collect();
        let other: Vec<u32> = (0..m).map(|_| next(n) as u32).collect();
        let costs: Vec<u32> = (0..m).map(|_| 1 + next(9) as u32).collect();
        let kinds: Vec<EdgeKind> = (0..m).map(|_| [EdgeKind::MemberOf, EdgeKind::Contains][next(2)]).collect();
        let csr = Csr::new(n, &ends, &other, &costs, &kinds);
        let mut want = vec![Vec::new(); n];
        for (e, &end) in ends.iter().enumerate() {
            want[end as usize].push(e as u32);
        }
        for node in 0..n as u32 {
            assert_eq!(csr.of(node), &want[node as usize][..], "node {node}");
            for slot in csr.slots(node) {
                let e = csr.edge_ids[slot] as usize;
                assert_eq!((csr.other[slot], csr.cost[slot], csr.kind[slot]), (other[e], costs[e], kinds[e]));
            }
        }
    }

    #[test]
    fn nodes_are_found_by_id_whether_or_not_they_come_in_id_order() {
        let ids = ["b", "d", "a", "c"];
        let shuffled: Vec<Node> = ids.iter().map(|id| Node::new(*id, NodeKind::User, *id)).collect();
        let mut sorted = shuffled.clone();
        sorted.sort_by(|x, y| x.id.cmp(&y.id));
        for nodes in [shuffled, sorted] {
            let edges = vec![e("a", "b", EdgeKind::MemberOf, 1)];
            let g = AttackGraph::new(nodes, edges);
            for id in ids {
                let n = g.node_index(id).unwrap_or_else(|| panic!("{id} is found"));
                assert_eq!(g.node(n).id, id);
                // Ranks follow id order in either layout.
                assert_eq!(g.id_rank(n), ["a", "b", "c", "d"].iter().position(|x| *x == id).unwrap() as u32);
            }
            assert_eq!(g.node_index("e"), None);
            assert_eq!(g.node_index(""), None);
        }
    }

    fn e(s: &str, t: &str, kind: EdgeKind, cost: u32) -> Edge {
        Edge { cost, ..Edge::new(s, t, kind, "test", String::new()) }
    }

    fn graph(ids: &[&str], edges: Vec<Edge>) -> AttackGraph {
        AttackGraph::new(ids.iter().map(|i| Node::new(*i, NodeKind::Resource, *i)).collect(), edges)
    }

    fn ix(g: &AttackGraph, id: &str) -> NodeId {
        g.node_index(id).unwrap()
    }

    fn path_ids(g: &AttackGraph, p: &Path) -> Vec<String> {
        p.nodes(g).into_iter().map(|n| g.node(n).id.to_string()).collect()
    }

    #[test]
    fn picks_the_cheapest_not_the_shortest() {
        let g = graph(
            &["a", "b", "c", "t"],
            vec![
                e("a", "t", EdgeKind::ReEnableKeys, 8),
                e("a", "b", EdgeKind::MemberOf, 1),
                e("b", "c", EdgeKind::MemberOf, 1),
                e("c", "t", EdgeKind::ListKeys, 2),
            ],
        );
        let paths = g.easiest_paths(ix(&g, "a"), &HashSet::from([ix(&g, "t")]));
        assert_eq!(path_ids(&g, &paths[0]), ["a", "b", "c", "t"]);
        assert_eq!(paths[0].cost, 4);
        let short = SearchOptions { max_hops: Some(2), ..Default::default() };
        let paths = g.easiest_paths_with(ix(&g, "a"), &HashSet::from([ix(&g, "t")]), &short);
        assert_eq!(path_ids(&g, &paths[0]), ["a", "t"], "a hop limit trades effort for length");
    }

    #[test]
    fn contains_is_walked_only_from_controlled_scopes() {
        let g = graph(
            &["p", "rg", "sa", "child", "q"],
            vec![
                e("p", "rg", EdgeKind::AssignRoles, 2),
                e("rg", "sa", EdgeKind::Contains, 1),
                e("sa", "child", EdgeKind::Contains, 1),
                e("q", "sa", EdgeKind::ReadData, 2),
            ],
        );
        let child = HashSet::from([ix(&g, "child")]);
        assert_eq!(g.easiest_paths(ix(&g, "p"), &child).len(), 1);
        assert!(g.easiest_paths(ix(&g, "q"), &child).is_empty(), "no Contains after a data-plane edge");
        let who: Vec<String> = g
            .who_can_reach(&[ix(&g, "child")], &SearchOptions::default())
            .iter()
            .map(|p| g.node(p.source).id.to_string())
            .collect();
        assert_eq!(who, ["p"], "a scope is no starting point: only whoever controls it walks Contains");
    }

    #[test]
    fn filters_exclude_kinds_avoid_nodes_and_eligibility() {
        let mut eligible = e("a", "t", EdgeKind::AssignRoles, 12);
        eligible.requires_activation = true;
        let g = graph(
            &["a", "b", "t"],
            vec![eligible, e("a", "b", EdgeKind::MemberOf, 1), e("b", "t", EdgeKind::ListKeys, 2)],
        );
        let t = HashSet::from([ix(&g, "t")]);
        let via = |opts: SearchOptions| g.easiest_paths_with(ix(&g, "a"), &t, &opts).first().map(|p| path_ids(&g, p));
        assert_eq!(via(SearchOptions::default()).unwrap(), ["a", "b", "t"]);
        assert_eq!(via(SearchOptions { avoid: vec![ix(&g, "b")], ..Default::default() }).unwrap(), ["a", "t"]);
        assert_eq!(
            via(SearchOptions { excluded_kinds: vec![EdgeKind::ListKeys], ..Default::default() }).unwrap(),
            ["a", "t"]
        );
        let strict = SearchOptions { avoid: vec![ix(&g, "b")], without_eligible: true, ..Default::default() };
        assert_eq!(via(strict), None);
    }

    #[test]
    fn unreachable_targets_give_no_path() {
        let g = graph(&["a", "b"], vec![e("b", "a", EdgeKind::MemberOf, 1)]);
        assert!(g.easiest_paths(ix(&g, "a"), &HashSet::from([ix(&g, "b")])).is_empty());
        assert!(g.reach(&[ix(&g, "a")], &SearchOptions::default()).is_empty());
    }

    /// A tiny deterministic generator, so the property tests need no extra crate and are reproducible.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// Every state-simple path from s to t that respects the Contains rule, as (cost, hops, edges).
    fn all_simple_paths(g: &AttackGraph, s: NodeId, t: NodeId) -> Vec<(u32, usize, Vec<usize>)> {
        fn go(
            g: &AttackGraph,
            n: NodeId,
            control: bool,
            t: NodeId,
            seen: &mut Vec<(NodeId, bool)>,
            edges: &mut Vec<usize>,
            out: &mut Vec<(u32, usize, Vec<usize>)>,
        ) {
            if n == t && !edges.is_empty() {
                out.push((edges.iter().map(|&e| g.edge_cost(e)).sum(), edges.len(), edges.clone()));
                return;
            }
            // Every edge by its ends, not through the search's adjacency arrays: an independent check.
            for ei in (0..g.edge_count()).filter(|&ei| g.edge_source(ei) == n) {
                let edge = g.edge(ei);
                let next = (g.edge_target(ei), edge.kind.grants_control_of_scope());
                if (edge.kind == EdgeKind::Contains && !control) || seen.contains(&next) {
                    continue;
                }
                seen.push(next);
                edges.push(ei);
                go(g, next.0, edge.kind.grants_control_of_scope(), t, seen, edges, out);
                edges.pop();
                seen.pop();
            }
        }
        let mut out = Vec::new();
        go(g, s, false, t, &mut vec![(s, false)], &mut Vec::new(), &mut out);
        out.sort();
        out
    }

    fn random_graph(rng: &mut Lcg) -> AttackGraph {
        let kinds =
            [EdgeKind::MemberOf, EdgeKind::AssignRoles, EdgeKind::Contains, EdgeKind::ReadData, EdgeKind::ListKeys];
        let n = 2 + rng.next(6) as usize;
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let mut edges = Vec::new();
        for _ in 0..rng.next(3 * n as u64 + 1) {
            let (a, b) = (rng.next(n as u64) as usize, rng.next(n as u64) as usize);
            if a != b {
                let mut edge =
                    e(&ids[a], &ids[b], kinds[rng.next(kinds.len() as u64) as usize], 1 + rng.next(9) as u32);
                edge.requires_activation = rng.next(4) == 0;
                edges.push(edge);
            }
        }
        graph(&ids.iter().map(String::as_str).collect::<Vec<_>>(), edges)
    }

    fn assert_walkable(g: &AttackGraph, p: &Path) {
        let mut at = p.source.0;
        let mut control = false;
        for &ei in &p.edges {
            assert_eq!(g.edge_source[ei], at);
            assert!(g.edge_kind(ei) != EdgeKind::Contains || control);
            control = g.edge_kind(ei).grants_control_of_scope();
            at = g.edge_target[ei];
        }
        assert_eq!(NodeId(at), p.target);
        assert_eq!(p.cost, p.edges.iter().map(|&e| g.edge_cost(e)).sum::<u32>());
    }

    #[test]
    fn searches_match_brute_force_on_random_graphs() {
        let mut rng = Lcg(7);
        for round in 0..400 {
            let g = random_graph(&mut rng);
            let s = ix(&g, "n0");
            let reach = g.reach(&[s], &SearchOptions::default());
            // Whole-graph results leave out their starts and come by cost, then node id.
            let in_order = |v: &[Path], end: fn(&Path) -> NodeId| {
                v.windows(2).all(|w| (w[0].cost, g.id_rank(end(&w[0]))) < (w[1].cost, g.id_rank(end(&w[1]))))
            };
            assert!(reach.iter().all(|p| p.target != s) && in_order(&reach, |p| p.target), "round {round}");
            for t in g.node_ids().filter(|&t| t != s) {
                let all = all_simple_paths(&g, s, t);
                let best = all.iter().map(|p| p.0).min();
                let found = g.easiest_paths(s, &HashSet::from([t]));
                assert_eq!(found.first().map(|p| p.cost), best, "round {round}, easiest to {}", g.node(t).id);
                found.iter().for_each(|p| assert_walkable(&g, p));
                assert_eq!(reach.iter().find(|p| p.target == t).map(|p| p.cost), best, "round {round}, reach");
                let back = g.who_can_reach(&[t], &SearchOptions::default());
                assert!(back.iter().all(|p| p.source != t) && in_order(&back, |p| p.source), "round {round}");
                assert_eq!(back.iter().find(|p| p.source == s).map(|p| p.cost), best, "round {round}, who-can-reach");
                back.iter().for_each(|p| assert_walkable(&g, p));
                // Hop-limited search equals the best simple path within the limit.
                let limit = 1 + rng.next(3) as usize;
                let opts = SearchOptions { max_hops: Some(limit), ..Default::default() };
                let within = all.iter().filter(|p| p.1 <= limit).map(|p| p.0).min();
                let got = g.easiest_paths_with(s, &HashSet::from([t]), &opts);
                assert_eq!(got.first().map(|p| p.cost), within, "round {round}, max hops {limit}");
                assert!(got.iter().all(|p| p.hops() <= limit));
                // Yen: the k easiest loopless paths have the k smallest costs of all simple paths.
                let k = 1 + rng.next(4) as usize;
                let yen = g.k_easiest(s, t, k, &SearchOptions::default());
                let want: Vec<u32> = all.iter().map(|p| p.0).take(k).collect();
                assert_eq!(yen.iter().map(|p| p.cost).collect::<Vec<_>>(), want, "round {round}, k={k}");
                yen.iter().for_each(|p| assert_walkable(&g, p));
                let distinct: HashSet<&Vec<usize>> = yen.iter().map(|p| &p.edges).collect();
                assert_eq!(distinct.len(), yen.len());
                // Pair searches, both directions: plain, ending with a given kind, only through PIM.
                let ending =
                    all.iter().filter(|p| g.edge_kind(*p.2.last().unwrap()) == EdgeKind::ListKeys).map(|p| p.0).min();
                let active = all.iter().filter(|p| p.2.iter().all(|&e| !g.edge_requires_activation(e))).count();
                let only_pim = (!all.is_empty() && active == 0).then_some(best).flatten();
                for backward in [false, true] {
                    let pair_with = |last: &[EdgeKind], only_eligible, opts: &SearchOptions| {
                        let q = PairQuery { sources: &[s], targets: &[t], last_kinds: last, only_eligible };
                        let got = g.easiest_pairs_in(&q, opts, backward);
                        got.iter().for_each(|p| assert_walkable(&g, p));
                        assert!(opts.max_hops.is_none_or(|h| got.iter().all(|p| p.hops() <= h)));
                        got.first().map(|p| p.cost)
                    };
                    let pair = |last: &[EdgeKind], only_eligible| pair_with(last, only_eligible, &Default::default());
                    assert_eq!(pair(&[], false), best, "round {round}, pairs backward={backward}");
                    assert_eq!(pair(&[EdgeKind::ListKeys], false), ending, "round {round}, ending with ListKeys");
                    assert_eq!(pair(&[], true), only_pim, "round {round}, only through PIM, backward={backward}");
                    assert_eq!(pair_with(&[], false, &opts), within, "round {round}, pairs within {limit} hops");
                    let ending_within = all
                        .iter()
                        .filter(|p| p.1 <= limit && g.edge_kind(*p.2.last().unwrap()) == EdgeKind::ListKeys)
                        .map(|p| p.0)
                        .min();
                    assert_eq!(pair_with(&[EdgeKind::ListKeys], false, &opts), ending_within, "round {round}");
                }
            }
        }
    }
}

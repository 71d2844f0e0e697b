//! The attack graph in memory (petgraph) and the easiest-path search over it.
//!
//! Pure: built from derived nodes and edges, no I/O. "Easiest" is the lowest total edge cost, then the
//! fewest hops. The search enforces the one traversal rule that is not a property of single edges:
//! `Contains` is followed only from a scope reached by `AssignRoles` or `Contains` (a scope the
//! attacker fully controls), never after a data-plane or identity edge.

use crate::model::{Edge, EdgeKind, Node};
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

pub struct AttackGraph {
    /// Node weights index `nodes`, edge weights index `edges`.
    pub graph: DiGraph<usize, usize>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    index: HashMap<String, NodeIndex>,
}

/// One path: the edges walked, in order, as indices into [`AttackGraph::edges`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub source: usize,
    pub target: usize,
    pub edges: Vec<usize>,
    pub cost: u32,
}

impl Path {
    pub fn hops(&self) -> usize {
        self.edges.len()
    }

    pub fn requires_activation(&self, g: &AttackGraph) -> bool {
        self.edges.iter().any(|&e| g.edges[e].requires_activation)
    }
}

/// Search state: a node, and whether it was reached with full control of it as a scope.
type State = (NodeIndex, bool);

impl AttackGraph {
    /// Builds the graph. Edges whose ends are not among `nodes` are dropped (the store never has any).
    pub fn new(nodes: Vec<Node>, edges: Vec<Edge>) -> AttackGraph {
        let mut graph = DiGraph::with_capacity(nodes.len(), edges.len());
        let mut index = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            index.insert(n.id.clone(), graph.add_node(i));
        }
        for (i, e) in edges.iter().enumerate() {
            if let (Some(&s), Some(&t)) = (index.get(&e.source), index.get(&e.target)) {
                graph.add_edge(s, t, i);
            }
        }
        AttackGraph { graph, nodes, edges, index }
    }

    pub fn node_index(&self, id: &str) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    pub fn node(&self, ix: NodeIndex) -> &Node {
        &self.nodes[self.graph[ix]]
    }

    /// The easiest path from `source` to each of `targets` it can reach, sorted by target id.
    pub fn easiest_paths(&self, source: NodeIndex, targets: &HashSet<NodeIndex>) -> Vec<Path> {
        let (dist, pred) = self.search(source);
        let mut out = Vec::new();
        for &t in targets {
            if t == source {
                continue;
            }
            let best = [(t, false), (t, true)]
                .into_iter()
                .filter_map(|s| dist.get(&s).map(|d| (*d, s)))
                .min_by_key(|(d, s)| (*d, s.1));
            let Some((_, state)) = best else { continue };
            let mut edges = Vec::new();
            let mut cur = state;
            while let Some(&(prev, e)) = pred.get(&cur) {
                edges.push(self.graph[e]);
                cur = prev;
            }
            edges.reverse();
            let cost = edges.iter().map(|&e| self.edges[e].cost).sum();
            out.push(Path { source: self.graph[source], target: self.graph[t], edges, cost });
        }
        out.sort_by(|a, b| self.nodes[a.target].id.cmp(&self.nodes[b.target].id));
        out
    }

    /// Dijkstra over (node, controls-scope) states. Ties break on hop count, then on insertion
    /// order, which follows the sorted edge list, so results are reproducible.
    #[allow(clippy::type_complexity)]
    fn search(&self, source: NodeIndex) -> (HashMap<State, (u32, usize)>, HashMap<State, (State, EdgeIndex)>) {
        let mut dist: HashMap<State, (u32, usize)> = HashMap::new();
        let mut pred: HashMap<State, (State, EdgeIndex)> = HashMap::new();
        let mut heap = BinaryHeap::new();
        let start = (source, false);
        dist.insert(start, (0, 0));
        heap.push(Reverse((0u32, 0usize, source.index(), false)));
        while let Some(Reverse((cost, hops, n, control))) = heap.pop() {
            let state = (NodeIndex::new(n), control);
            if dist.get(&state).is_some_and(|&d| d < (cost, hops)) {
                continue;
            }
            for er in self.graph.edges(state.0) {
                let edge = &self.edges[*er.weight()];
                if edge.kind == EdgeKind::Contains && !control {
                    continue;
                }
                let next = (er.target(), edge.kind.grants_control_of_scope());
                let cand = (cost + edge.cost, hops + 1);
                if dist.get(&next).is_none_or(|&d| cand < d) {
                    dist.insert(next, cand);
                    pred.insert(next, (state, er.id()));
                    heap.push(Reverse((cand.0, cand.1, next.0.index(), next.1)));
                }
            }
        }
        (dist, pred)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeKind;

    fn e(s: &str, t: &str, kind: EdgeKind, cost: u32) -> Edge {
        Edge {
            source: s.into(),
            target: t.into(),
            kind,
            rule: "test".into(),
            reason: String::new(),
            evidence: vec![],
            requires_activation: false,
            conditional: false,
            cost,
        }
    }

    fn graph(ids: &[&str], edges: Vec<Edge>) -> AttackGraph {
        AttackGraph::new(ids.iter().map(|i| Node::new(*i, NodeKind::Resource, *i)).collect(), edges)
    }

    fn path_ids(g: &AttackGraph, p: &Path) -> Vec<String> {
        let mut v = vec![g.nodes[p.source].id.clone()];
        v.extend(p.edges.iter().map(|&i| g.edges[i].target.clone()));
        v
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
        let t = HashSet::from([g.node_index("t").unwrap()]);
        let paths = g.easiest_paths(g.node_index("a").unwrap(), &t);
        assert_eq!(path_ids(&g, &paths[0]), ["a", "b", "c", "t"]);
        assert_eq!(paths[0].cost, 4);
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
        let child = HashSet::from([g.node_index("child").unwrap()]);
        assert_eq!(g.easiest_paths(g.node_index("p").unwrap(), &child).len(), 1);
        assert!(g.easiest_paths(g.node_index("q").unwrap(), &child).is_empty(), "no Contains after a data-plane edge");
    }

    #[test]
    fn unreachable_targets_give_no_path() {
        let g = graph(&["a", "b"], vec![e("b", "a", EdgeKind::MemberOf, 1)]);
        let t = HashSet::from([g.node_index("b").unwrap()]);
        assert!(g.easiest_paths(g.node_index("a").unwrap(), &t).is_empty());
    }

    /// A tiny deterministic generator, so the property test needs no extra crate and is reproducible.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// The cheapest walk by exhaustive search over (node, control) states, never repeating a state.
    fn brute_force(g: &AttackGraph, s: NodeIndex, t: NodeIndex) -> Option<u32> {
        fn go(g: &AttackGraph, state: State, t: NodeIndex, seen: &mut Vec<State>, cost: u32, best: &mut Option<u32>) {
            if state.0 == t {
                *best = Some(best.map_or(cost, |b| b.min(cost)));
            }
            for er in g.graph.edges(state.0) {
                let e = &g.edges[*er.weight()];
                if e.kind == EdgeKind::Contains && !state.1 {
                    continue;
                }
                let next = (er.target(), e.kind.grants_control_of_scope());
                if seen.contains(&next) {
                    continue;
                }
                seen.push(next);
                go(g, next, t, seen, cost + e.cost, best);
                seen.pop();
            }
        }
        let mut best = None;
        go(g, (s, false), t, &mut vec![(s, false)], 0, &mut best);
        best
    }

    #[test]
    fn dijkstra_matches_brute_force_on_random_graphs() {
        let kinds =
            [EdgeKind::MemberOf, EdgeKind::AssignRoles, EdgeKind::Contains, EdgeKind::ReadData, EdgeKind::ListKeys];
        let mut rng = Lcg(7);
        for round in 0..300 {
            let n = 2 + rng.next(6) as usize;
            let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
            let mut edges = Vec::new();
            for _ in 0..rng.next(3 * n as u64 + 1) {
                let (a, b) = (rng.next(n as u64) as usize, rng.next(n as u64) as usize);
                if a != b {
                    edges.push(e(
                        &ids[a],
                        &ids[b],
                        kinds[rng.next(kinds.len() as u64) as usize],
                        1 + rng.next(9) as u32,
                    ));
                }
            }
            let g = graph(&ids.iter().map(String::as_str).collect::<Vec<_>>(), edges);
            let s = g.node_index("n0").unwrap();
            for t in g.graph.node_indices().filter(|&t| t != s) {
                let found = g.easiest_paths(s, &HashSet::from([t])).first().map(|p| p.cost);
                assert_eq!(found, brute_force(&g, s, t), "round {round}, target {}", g.node(t).id);
                if let Some(p) = g.easiest_paths(s, &HashSet::from([t])).first() {
                    // The path is walkable: consecutive, and Contains only after a control edge.
                    let mut at = &g.nodes[p.source].id;
                    let mut control = false;
                    for &ei in &p.edges {
                        let edge = &g.edges[ei];
                        assert_eq!(&edge.source, at);
                        assert!(edge.kind != EdgeKind::Contains || control);
                        control = edge.kind.grants_control_of_scope();
                        at = &edge.target;
                    }
                    assert_eq!(at, &g.node(t).id);
                }
            }
        }
    }
}

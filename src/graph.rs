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
}

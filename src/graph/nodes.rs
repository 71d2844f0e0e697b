//! The graph's nodes, kept column by column: every id in one string, every name in another, the
//! properties' keys coded by number and their values in a third, each with the offsets where its
//! items end.
//!
//! Why columns instead of a `Vec<Node>`: a 10M-edge tenant has 2.3 million nodes and about 13
//! million property strings, and loading them as `Node`s made one allocation per string, most of
//! the graph load's time (fresh pages being zeroed, then filled). Columns are a handful of
//! allocations, filled by copying the stored blob; a [`NodeRef`] borrows one node's fields from
//! them when a caller asks.

use crate::model::{Node, NodeKind, Props};
use serde::Serialize;
use serde::ser::SerializeMap;

/// Strings stored end to end: item `i` is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
/// Every end is checked when the column is made, so reading an item cannot fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrColumn {
    text: String,
    ends: Vec<usize>,
}

impl StrColumn {
    /// The column of `text` cut at `ends`; `None` unless the ends rise (or stay) from 0 to
    /// `text.len()` and each falls between two characters.
    pub fn from_parts(text: String, ends: Vec<usize>) -> Option<StrColumn> {
        let mut last = 0;
        for &end in &ends {
            if end < last || !text.is_char_boundary(end) {
                return None;
            }
            last = end;
        }
        (last == text.len()).then_some(StrColumn { text, ends })
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

fn strictly_sorted(ids: &StrColumn) -> bool {
    (1..ids.len()).all(|i| ids.get(i - 1) < ids.get(i))
}

/// The nodes of one graph, by position ([`super::NodeId`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTable {
    ids: StrColumn,
    names: StrColumn,
    kinds: Vec<NodeKind>,
    /// Property keys, each once, in order of first use.
    keys: Vec<String>,
    /// Node `i`'s properties are the pairs `props_at[i]..props_at[i + 1]`, in key order.
    props_at: Vec<usize>,
    /// Per pair: its key's position in `keys`, and (at the same position) its value.
    key_of: Vec<u32>,
    values: StrColumn,
    /// Whether the ids are in strictly increasing order (as the store keeps them): worked out
    /// where the table is made, which for a load is the thread decoding the nodes.
    ids_sorted: bool,
}

/// The parts a stored [`NodeTable`] is made from (see [`NodeTable::from_parts`]).
pub struct NodeParts {
    pub ids: StrColumn,
    pub names: StrColumn,
    pub kinds: Vec<NodeKind>,
    pub keys: Vec<String>,
    /// How many properties each node has.
    pub prop_counts: Vec<u16>,
    pub key_of: Vec<u32>,
    pub values: StrColumn,
}

impl Default for NodeTable {
    /// The table of no nodes.
    fn default() -> NodeTable {
        NodeTable {
            ids: StrColumn::default(),
            names: StrColumn::default(),
            kinds: Vec::new(),
            keys: Vec::new(),
            props_at: vec![0],
            key_of: Vec::new(),
            values: StrColumn::default(),
            ids_sorted: true,
        }
    }
}

impl NodeTable {
    /// The table of `nodes`, in their order.
    pub fn from_nodes<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> NodeTable {
        let mut t = NodeTable::default();
        let mut code_of: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        for n in nodes {
            t.ids.push(&n.id);
            t.names.push(&n.name);
            t.kinds.push(n.kind);
            for (k, v) in &n.props {
                let code = match code_of.get(k.as_str()) {
                    Some(&c) => c,
                    None => {
                        let c = t.keys.len() as u32;
                        t.keys.push(k.clone());
                        code_of.insert(k, c);
                        c
                    }
                };
                t.key_of.push(code);
                t.values.push(v);
            }
            t.props_at.push(t.key_of.len());
        }
        t.ids_sorted = strictly_sorted(&t.ids);
        t
    }

    /// The table of stored parts, checked: one id, name, kind and property count per node, one
    /// key code (naming a key) and value per property, keys in strictly increasing order within a
    /// node (as [`Props`] keeps them). `Err` says which check failed.
    pub fn from_parts(parts: NodeParts) -> Result<NodeTable, &'static str> {
        let NodeParts { ids, names, kinds, keys, prop_counts, key_of, values } = parts;
        let n = ids.len();
        if names.len() != n || kinds.len() != n || prop_counts.len() != n {
            return Err("the node columns disagree on the node count");
        }
        let mut props_at = Vec::with_capacity(n + 1);
        props_at.push(0);
        let mut at = 0usize;
        for &c in &prop_counts {
            at += c as usize;
            props_at.push(at);
        }
        if at != key_of.len() || at != values.len() {
            return Err("the property columns disagree on the property count");
        }
        if key_of.iter().any(|&k| k as usize >= keys.len()) {
            return Err("a property key code names no key");
        }
        for w in props_at.windows(2) {
            let codes = &key_of[w[0]..w[1]];
            if codes.windows(2).any(|p| keys[p[0] as usize] >= keys[p[1] as usize]) {
                return Err("a node's property keys are not in increasing order");
            }
        }
        let ids_sorted = strictly_sorted(&ids);
        Ok(NodeTable { ids, names, kinds, keys, props_at, key_of, values, ids_sorted })
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Node `i`, borrowed.
    pub fn get(&self, i: usize) -> NodeRef<'_> {
        NodeRef {
            id: self.ids.get(i),
            kind: self.kinds[i],
            name: self.names.get(i),
            props: PropsRef::Table { table: self, pairs: (self.props_at[i], self.props_at[i + 1]) },
        }
    }

    pub fn id(&self, i: usize) -> &str {
        self.ids.get(i)
    }

    pub fn name(&self, i: usize) -> &str {
        self.names.get(i)
    }

    pub fn kind(&self, i: usize) -> NodeKind {
        self.kinds[i]
    }

    /// The code of property key `key`, if any node has it: with [`NodeTable::with_key`], a test
    /// for one property over millions of nodes that reads no key or value text.
    pub fn key_code(&self, key: &str) -> Option<u32> {
        self.keys.iter().position(|k| k == key).map(|c| c as u32)
    }

    /// Per node, whether it has the property whose key has code `code`: one pass in node order.
    pub fn with_key(&self, code: u32) -> Vec<bool> {
        self.props_at.windows(2).map(|w| self.key_of[w[0]..w[1]].contains(&code)).collect()
    }

    pub fn iter(&self) -> NodeIter<'_> {
        self.into_iter()
    }

    /// Every node, owned.
    pub fn to_nodes(&self) -> Vec<Node> {
        self.iter().map(|n| n.to_node()).collect()
    }

    /// Whether the ids are in strictly increasing order (as the store keeps them).
    pub fn ids_strictly_sorted(&self) -> bool {
        self.ids_sorted
    }

    /// The position of the node with id `id`, when the ids are strictly sorted.
    pub fn position_in_sorted(&self, id: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.ids.get(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

impl<'a> IntoIterator for &'a NodeTable {
    type Item = NodeRef<'a>;
    type IntoIter = NodeIter<'a>;
    fn into_iter(self) -> NodeIter<'a> {
        NodeIter { table: self, next: 0 }
    }
}

/// The nodes of a [`NodeTable`], in position order.
pub struct NodeIter<'a> {
    table: &'a NodeTable,
    next: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = NodeRef<'a>;
    fn next(&mut self) -> Option<NodeRef<'a>> {
        let n = (self.next < self.table.len()).then(|| self.table.get(self.next))?;
        self.next += 1;
        Some(n)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.table.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for NodeIter<'_> {}

/// One node of a [`NodeTable`], borrowed: the fields of a [`Node`].
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'a> {
    pub id: &'a str,
    pub kind: NodeKind,
    pub name: &'a str,
    pub props: PropsRef<'a>,
}

impl<'a> NodeRef<'a> {
    pub fn prop(&self, key: &str) -> Option<&'a str> {
        self.props.get(key)
    }

    /// The crown-jewel category (`training-data`, `model`, `secrets`, `sensitive-data`, `tier0`), if any.
    pub fn crown_jewel(&self) -> Option<&'a str> {
        self.prop("crown_jewel")
    }

    pub fn is_pipeline(&self) -> bool {
        self.prop("pipeline").is_some()
    }

    pub fn to_node(&self) -> Node {
        Node {
            id: self.id.to_string(),
            kind: self.kind,
            name: self.name.to_string(),
            props: self.props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Props>(),
        }
    }
}

/// Serialised as a [`Node`] is.
impl Serialize for NodeRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", self.id)?;
        m.serialize_entry("kind", &self.kind)?;
        m.serialize_entry("name", self.name)?;
        if !self.props.is_empty() {
            m.serialize_entry("props", &self.props)?;
        }
        m.end()
    }
}

/// A plain [`Node`], borrowed: for code that holds one outside a graph (and for tests).
impl<'a> From<&'a Node> for NodeRef<'a> {
    fn from(n: &'a Node) -> NodeRef<'a> {
        NodeRef { id: &n.id, kind: n.kind, name: &n.name, props: PropsRef::Props(&n.props) }
    }
}

/// One node's properties, borrowed, in key order.
#[derive(Clone, Copy)]
pub enum PropsRef<'a> {
    /// From a [`NodeTable`]: the node's range of pairs.
    Table { table: &'a NodeTable, pairs: (usize, usize) },
    /// From a plain [`Node`].
    Props(&'a Props),
}

impl std::fmt::Debug for PropsRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> PropsRef<'a> {
    /// The value of `key` (a node has a handful of properties: a scan beats a search).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        match *self {
            PropsRef::Table { table: t, pairs } => {
                (pairs.0..pairs.1).find(|&p| t.keys[t.key_of[p] as usize] == key).map(|p| t.values.get(p))
            }
            PropsRef::Props(props) => props.get(key),
        }
    }

    pub fn iter(self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (in_table, plain) = match self {
            PropsRef::Table { table, pairs } => (Some((table, pairs.0..pairs.1)), None),
            PropsRef::Props(props) => (None, Some(props)),
        };
        let from_table = in_table
            .into_iter()
            .flat_map(|(t, pairs)| pairs.map(move |p| (t.keys[t.key_of[p] as usize].as_str(), t.values.get(p))));
        from_table.chain(plain.into_iter().flat_map(|props| props.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }

    pub fn keys(self) -> impl Iterator<Item = &'a str> + 'a {
        self.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        match *self {
            PropsRef::Table { pairs, .. } => pairs.1 - pairs.0,
            PropsRef::Props(props) => props.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Serialised as a JSON object, as [`Props`] is.
impl Serialize for PropsRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Node> {
        vec![
            Node::new("a", NodeKind::User, "Ann").with_prop("upn", "ann@x").with_prop("pipeline", "gh"),
            Node::new("b", NodeKind::Group, "Bé, ünïcode"),
            Node::new("c", NodeKind::KeyVault, "").with_prop("crown_jewel", "secrets"),
        ]
    }

    /// The parts a store would hand back for `t`.
    fn parts_of(t: &NodeTable) -> NodeParts {
        NodeParts {
            ids: t.ids.clone(),
            names: t.names.clone(),
            kinds: t.kinds.clone(),
            keys: t.keys.clone(),
            prop_counts: t.props_at.windows(2).map(|w| (w[1] - w[0]) as u16).collect(),
            key_of: t.key_of.clone(),
            values: t.values.clone(),
        }
    }

    #[test]
    fn a_table_gives_back_the_nodes_it_was_made_from() {
        let nodes = sample();
        let t = NodeTable::from_nodes(&nodes);
        assert_eq!(t.to_nodes(), nodes);
        let a = t.get(0);
        assert_eq!((a.id, a.kind, a.name), ("a", NodeKind::User, "Ann"));
        assert_eq!(a.prop("upn"), Some("ann@x"));
        assert!(a.is_pipeline() && a.crown_jewel().is_none());
        assert_eq!(a.props.keys().collect::<Vec<_>>(), ["pipeline", "upn"], "key order, as Props keeps it");
        assert!(t.get(1).props.is_empty());
        assert_eq!(t.get(2).crown_jewel(), Some("secrets"));
        assert_eq!(serde_json::to_value(t.get(0)).unwrap(), serde_json::to_value(&nodes[0]).unwrap());
        assert_eq!(serde_json::to_value(t.get(1)).unwrap(), serde_json::to_value(&nodes[1]).unwrap());
        assert!(t.ids_strictly_sorted());
        assert_eq!(t.position_in_sorted("c"), Some(2));
        assert_eq!(t.position_in_sorted("bb"), None);
    }

    #[test]
    fn a_key_code_finds_the_nodes_with_that_property() {
        let t = NodeTable::from_nodes(&sample());
        let jewel = t.key_code("crown_jewel").unwrap();
        assert_eq!(t.with_key(jewel), [false, false, true]);
        assert_eq!(t.with_key(t.key_code("upn").unwrap()), [true, false, false]);
        assert_eq!(t.key_code("tag:env"), None);
        assert!(NodeTable::from_nodes(&[]).with_key(0).is_empty());
    }

    #[test]
    fn sortedness_is_known_whichever_way_the_table_is_made() {
        let mut nodes = sample();
        for (ids, sorted) in [(["a", "b", "c"], true), (["a", "c", "b"], false), (["a", "a", "c"], false)] {
            for (n, id) in nodes.iter_mut().zip(ids) {
                n.id = id.into();
            }
            let t = NodeTable::from_nodes(&nodes);
            assert_eq!(t.ids_strictly_sorted(), sorted, "{ids:?}");
            assert_eq!(NodeTable::from_parts(parts_of(&t)).unwrap().ids_strictly_sorted(), sorted, "{ids:?}");
        }
        assert!(NodeTable::from_nodes(&[]).ids_strictly_sorted());
        assert_eq!(NodeTable::from_nodes(&[]), NodeTable::default());
    }

    #[test]
    fn string_columns_reject_ends_that_do_not_fit_their_text() {
        assert!(StrColumn::from_parts("abc".into(), vec![1, 3]).is_some());
        assert!(StrColumn::from_parts(String::new(), vec![]).is_some());
        assert!(StrColumn::from_parts("abc".into(), vec![2]).is_none(), "must end at the text's end");
        assert!(StrColumn::from_parts("abc".into(), vec![2, 1, 3]).is_none(), "ends must rise");
        assert!(StrColumn::from_parts("abc".into(), vec![4]).is_none(), "past the end");
        assert!(StrColumn::from_parts("é".into(), vec![1, 2]).is_none(), "inside a character");
    }

    #[test]
    fn stored_parts_are_checked() {
        let t = NodeTable::from_nodes(&sample());
        let parts = || parts_of(&t);
        assert_eq!(NodeTable::from_parts(parts()).unwrap(), t);
        let mut p = parts();
        p.kinds.pop();
        assert!(NodeTable::from_parts(p).is_err());
        let mut p = parts();
        p.prop_counts[1] = 1;
        assert!(NodeTable::from_parts(p).is_err(), "one property too many");
        let mut p = parts();
        p.key_of[0] = 9;
        assert!(NodeTable::from_parts(p).is_err(), "a key code past the keys");
        let mut p = parts();
        p.key_of.swap(0, 1);
        assert!(NodeTable::from_parts(p).is_err(), "keys out of order");
    }
}

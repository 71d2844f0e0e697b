//! A snapshot's search structure as a few binary blobs (table `graph_blobs`), so loading a graph
//! decodes a handful of byte strings instead of reading a row per node and per edge.
//!
//! Every blob is little-endian and starts with a 12-byte header: magic `azpg`, format version
//! (u16), column tag (u16, so a blob stored in the wrong column is caught) and item count (u32).
//! Fixed-width columns are length-checked against that count before anything is read; the others
//! must be read exactly to their end. Kinds and rules are dictionary-coded by their stored names,
//! not enum positions, so reordering an enum never changes what a blob means.

use super::{Result, StoreError, Structure};
use crate::graph::EdgeColumns;
use crate::model::{Edge, EdgeKind, Node, NodeKind};
use std::collections::HashMap;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"azpg";
/// Bumped when the layout changes; a blob of another version is ignored and the rows are read.
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 12;

/// Which column a blob belongs to (its header's tag).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Column {
    /// Per node: id, name, and props (a u16 count of key/value pairs), each a length-prefixed string.
    Nodes = 1,
    NodeKinds = 2,
    /// Per edge: u32 source, u32 target (node positions).
    EdgeEnds = 3,
    /// Per edge: u32 cost.
    EdgeCosts = 4,
    EdgeKinds = 5,
    EdgeRules = 6,
    /// Per edge: one byte, bit 0 requires activation, bit 1 conditional.
    EdgeFlags = 7,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Nodes => "nodes",
            Column::NodeKinds => "node kinds",
            Column::EdgeEnds => "edge ends",
            Column::EdgeCosts => "edge costs",
            Column::EdgeKinds => "edge kinds",
            Column::EdgeRules => "edge rules",
            Column::EdgeFlags => "edge flags",
        }
    }
}

const ACTIVATION: u8 = 1;
const CONDITIONAL: u8 = 2;

/// The encoded blobs of one snapshot, in the order of the `graph_blobs` columns.
pub struct GraphBlobs {
    pub nodes: Vec<u8>,
    pub node_kinds: Vec<u8>,
    pub edge_ends: Vec<u8>,
    pub edge_costs: Vec<u8>,
    pub edge_kinds: Vec<u8>,
    pub edge_rules: Vec<u8>,
    pub edge_flags: Vec<u8>,
}

/// Encodes nodes (in stored order) and edges with their ends as node positions. `None` when the
/// snapshot does not fit the format (over 65,535 distinct kinds or rules, or over u32 items):
/// then only rows are written, and loads read them.
pub fn encode(nodes: &[&Node], edges: &[Edge], ends: &[(u32, u32)]) -> Option<GraphBlobs> {
    let node_count = u32::try_from(nodes.len()).ok()?;
    let edge_count = u32::try_from(edges.len()).ok()?;
    let mut blob = header(Column::Nodes, node_count);
    for n in nodes {
        put_str(&mut blob, &n.id)?;
        put_str(&mut blob, &n.name)?;
        blob.extend_from_slice(&u16::try_from(n.props.len()).ok()?.to_le_bytes());
        for (k, v) in &n.props {
            put_str(&mut blob, k)?;
            put_str(&mut blob, v)?;
        }
    }
    let mut ends_blob = header(Column::EdgeEnds, edge_count);
    ends_blob.reserve(edges.len() * 8);
    for &(s, t) in ends {
        ends_blob.extend_from_slice(&s.to_le_bytes());
        ends_blob.extend_from_slice(&t.to_le_bytes());
    }
    let mut costs = header(Column::EdgeCosts, edge_count);
    costs.extend(edges.iter().flat_map(|e| e.cost.to_le_bytes()));
    let mut flags = header(Column::EdgeFlags, edge_count);
    flags.extend(
        edges.iter().map(|e| {
            (if e.requires_activation { ACTIVATION } else { 0 }) | (if e.conditional { CONDITIONAL } else { 0 })
        }),
    );
    Some(GraphBlobs {
        nodes: blob,
        node_kinds: dictionary(Column::NodeKinds, nodes.iter().map(|n| n.kind.as_str()))?,
        edge_ends: ends_blob,
        edge_costs: costs,
        edge_kinds: dictionary(Column::EdgeKinds, edges.iter().map(|e| e.kind.as_str()))?,
        edge_rules: dictionary(Column::EdgeRules, edges.iter().map(|e| &*e.rule))?,
        edge_flags: flags,
    })
}

fn header(column: Column, count: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(column as u16).to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Option<()> {
    out.extend_from_slice(&u32::try_from(s.len()).ok()?.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Some(())
}

/// A dictionary-coded column: u16 name count, the names, then a u16 code per item.
fn dictionary<'a>(column: Column, items: impl ExactSizeIterator<Item = &'a str>) -> Option<Vec<u8>> {
    let mut out = header(column, u32::try_from(items.len()).ok()?);
    let mut names: Vec<&str> = Vec::new();
    let mut code_of: HashMap<&str, u16> = HashMap::new();
    let mut codes = Vec::with_capacity(items.len() * 2);
    for item in items {
        let code = match code_of.get(item) {
            Some(&c) => c,
            None => {
                let c = u16::try_from(names.len()).ok()?;
                names.push(item);
                code_of.insert(item, c);
                c
            }
        };
        codes.extend_from_slice(&code.to_le_bytes());
    }
    out.extend_from_slice(&u16::try_from(names.len()).ok()?.to_le_bytes());
    for n in names {
        put_str(&mut out, n)?;
    }
    out.extend_from_slice(&codes);
    Some(out)
}

/// The stored blobs of one snapshot, borrowed from the row that holds them.
pub struct StoredBlobs<'a> {
    pub nodes: &'a [u8],
    pub node_kinds: &'a [u8],
    pub edge_ends: &'a [u8],
    pub edge_costs: &'a [u8],
    pub edge_kinds: &'a [u8],
    pub edge_rules: &'a [u8],
    pub edge_flags: &'a [u8],
}

/// Decodes a snapshot's blobs. `Ok(None)` when they were written in another format version (the
/// caller reads the rows); `Corrupt` when they are truncated, mislabelled or inconsistent.
pub fn decode(snapshot: i64, stored: &StoredBlobs) -> Result<Option<Structure>> {
    let corrupt = |column: Column, what: &str| {
        StoreError::Corrupt(format!("graph blob {} of snapshot {snapshot}: {what}", column.name()))
    };
    // Read every header first: a version this build does not know means "ignore the blobs".
    let columns = [
        (Column::Nodes, stored.nodes),
        (Column::NodeKinds, stored.node_kinds),
        (Column::EdgeEnds, stored.edge_ends),
        (Column::EdgeCosts, stored.edge_costs),
        (Column::EdgeKinds, stored.edge_kinds),
        (Column::EdgeRules, stored.edge_rules),
        (Column::EdgeFlags, stored.edge_flags),
    ];
    let mut counts = [0usize; 7];
    let mut bodies: [&[u8]; 7] = [&[]; 7];
    for (i, &(column, blob)) in columns.iter().enumerate() {
        if blob.len() < HEADER_LEN || &blob[..4] != MAGIC {
            return Err(corrupt(column, "no header"));
        }
        if u16::from_le_bytes([blob[4], blob[5]]) != FORMAT_VERSION {
            return Ok(None);
        }
        if u16::from_le_bytes([blob[6], blob[7]]) != column as u16 {
            return Err(corrupt(column, "holds another column"));
        }
        counts[i] = u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize;
        bodies[i] = &blob[HEADER_LEN..];
    }
    let (node_count, edge_count) = (counts[0], counts[2]);
    if counts[1] != node_count || counts[3..].iter().any(|&c| c != edge_count) {
        return Err(StoreError::Corrupt(format!("graph blobs of snapshot {snapshot} disagree on their counts")));
    }
    let [nodes_body, node_kinds_body, ends_body, costs_body, edge_kinds_body, rules_body, flags_body] = bodies;

    // Fixed-width columns: the length is checked once, then read without further checks.
    for (column, body, width) in
        [(Column::EdgeEnds, ends_body, 8), (Column::EdgeCosts, costs_body, 4), (Column::EdgeFlags, flags_body, 1)]
    {
        if body.len() != edge_count * width {
            return Err(corrupt(column, &format!("{} bytes for {edge_count} edges", body.len())));
        }
    }

    // Nodes and edges decode on two threads: neither needs the other. (The nodes in two halves on
    // two threads as well was measured slower: 1.26x the load's wall time at 10M, more page faults.)
    let (kind_names, kind_codes) = read_dictionary(Column::NodeKinds, node_kinds_body, node_count, &corrupt)?;
    let kinds = parse_names(&kind_names, NodeKind::parse, Column::NodeKinds, &corrupt)?;
    let (nodes, edges) = std::thread::scope(|scope| {
        let nodes = scope.spawn(|| decode_nodes(nodes_body, &kinds, kind_codes, &corrupt));
        let bodies = EdgeBodies {
            ends: ends_body,
            costs: costs_body,
            kinds: edge_kinds_body,
            rules: rules_body,
            flags: flags_body,
        };
        let edges = decode_edges(&bodies, edge_count, node_count, &corrupt);
        (nodes.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), edges)
    });
    // A node error first: it says more than an edge naming a node that is not there.
    Ok(Some((nodes?, edges?)))
}

/// Decodes the nodes in `body`, which holds exactly those whose kind `codes` are given.
fn decode_nodes(
    body: &[u8],
    kinds: &[NodeKind],
    codes: &[u8],
    corrupt: &impl Fn(Column, &str) -> StoreError,
) -> Result<Vec<Node>> {
    let mut reader = Reader { bytes: body, at: 0 };
    let mut nodes = Vec::with_capacity(codes.len() / 2);
    let bad_nodes = |what: &str| corrupt(Column::Nodes, what);
    for code in codes.chunks_exact(2) {
        let kind = *kinds
            .get(u16::from_le_bytes([code[0], code[1]]) as usize)
            .ok_or_else(|| corrupt(Column::NodeKinds, "a code outside its names"))?;
        let id = reader.string().ok_or_else(|| bad_nodes("truncated or not UTF-8"))?;
        let name = reader.string().ok_or_else(|| bad_nodes("truncated or not UTF-8"))?;
        let prop_count = reader.u16().ok_or_else(|| bad_nodes("truncated"))?;
        let mut props = crate::model::Props::with_capacity(prop_count as usize);
        for _ in 0..prop_count {
            let k = reader.string().ok_or_else(|| bad_nodes("truncated or not UTF-8"))?;
            let v = reader.string().ok_or_else(|| bad_nodes("truncated or not UTF-8"))?;
            props.insert(k, v);
        }
        nodes.push(Node { id, kind, name, props });
    }
    if reader.at != body.len() {
        return Err(bad_nodes("bytes after the last node"));
    }
    Ok(nodes)
}

/// The per-edge blob bodies (headers removed; fixed-width ones already length-checked).
struct EdgeBodies<'a> {
    ends: &'a [u8],
    costs: &'a [u8],
    kinds: &'a [u8],
    rules: &'a [u8],
    flags: &'a [u8],
}

/// The edge columns, each checked: ends name one of the `node_count` nodes, codes one of the names.
fn decode_edges(
    bodies: &EdgeBodies,
    count: usize,
    node_count: usize,
    corrupt: &impl Fn(Column, &str) -> StoreError,
) -> Result<EdgeColumns> {
    let (kind_names, kind_codes) = read_dictionary(Column::EdgeKinds, bodies.kinds, count, corrupt)?;
    let edge_kinds = parse_names(&kind_names, EdgeKind::parse, Column::EdgeKinds, corrupt)?;
    let (rule_names, rule_codes) = read_dictionary(Column::EdgeRules, bodies.rules, count, corrupt)?;
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let code = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    let (source, target): (Vec<u32>, Vec<u32>) = bodies.ends.chunks_exact(8).map(|b| (word(b), word(&b[4..]))).unzip();
    if let Some(e) = source.iter().chain(&target).position(|&n| n as usize >= node_count) {
        return Err(corrupt(Column::EdgeEnds, &format!("edge {} names a missing node", e % count.max(1))));
    }
    let kind = kind_codes
        .chunks_exact(2)
        .map(|b| edge_kinds.get(code(b) as usize).copied())
        .collect::<Option<Vec<EdgeKind>>>()
        .ok_or_else(|| corrupt(Column::EdgeKinds, "a code outside its names"))?;
    let rule: Vec<u16> = rule_codes.chunks_exact(2).map(code).collect();
    if rule.iter().any(|&r| r as usize >= rule_names.len()) {
        return Err(corrupt(Column::EdgeRules, "a code outside its names"));
    }
    Ok(EdgeColumns {
        source,
        target,
        cost: bodies.costs.chunks_exact(4).map(word).collect(),
        kind,
        rules: rule_names.iter().map(|r| Arc::from(r.as_str())).collect(),
        rule,
        requires_activation: bodies.flags.iter().map(|f| f & ACTIVATION != 0).collect(),
        conditional: bodies.flags.iter().map(|f| f & CONDITIONAL != 0).collect(),
    })
}

/// Reads a dictionary-coded body: its names, and its codes (two bytes per item, length checked).
fn read_dictionary<'a>(
    column: Column,
    body: &'a [u8],
    items: usize,
    corrupt: &impl Fn(Column, &str) -> StoreError,
) -> Result<(Vec<String>, &'a [u8])> {
    let mut reader = Reader { bytes: body, at: 0 };
    let count = reader.u16().ok_or_else(|| corrupt(column, "truncated"))?;
    let names = (0..count)
        .map(|_| reader.string().ok_or_else(|| corrupt(column, "truncated or not UTF-8")))
        .collect::<Result<Vec<String>>>()?;
    let codes = &body[reader.at..];
    if codes.len() != items * 2 {
        return Err(corrupt(column, &format!("{} code bytes for {items} items", codes.len())));
    }
    Ok((names, codes))
}

fn parse_names<T>(
    names: &[String],
    parse: impl Fn(&str) -> Option<T>,
    column: Column,
    corrupt: &impl Fn(Column, &str) -> StoreError,
) -> Result<Vec<T>> {
    names.iter().map(|n| parse(n).ok_or_else(|| corrupt(column, &format!("unknown kind {n}")))).collect()
}

/// A cursor over a variable-width body; every read is bounds-checked (`None` past the end).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn str(&mut self) -> Option<&str> {
        let len = self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
        std::str::from_utf8(self.take(len as usize)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }
}

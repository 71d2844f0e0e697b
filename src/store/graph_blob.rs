//! A snapshot's search structure as a few binary blobs (table `graph_blobs`), so loading a graph
//! decodes a handful of byte strings instead of reading a row per node and per edge.
//!
//! Every blob is little-endian and starts with a 12-byte header: magic `azpg`, format version
//! (u16), column tag (u16, so a blob stored in the wrong column is caught) and item count (u32).
//! Fixed-width columns are length-checked against that count before anything is read; the others
//! must be read exactly to their end. Kinds and rules are dictionary-coded by their stored names,
//! not enum positions, so reordering an enum never changes what a blob means.
//!
//! Format 2 stores the nodes as the columns of a [`NodeTable`] (ids end to end with their end
//! offsets, names likewise, property keys coded): loading copies a few byte strings instead of
//! allocating every id, name and property. Format 1 blobs (one record per node) still load.

use super::{Result, StoreError, Structure};
use crate::graph::{EdgeColumns, NodeParts, NodeTable, StrColumn};
use crate::model::{Edge, EdgeKind, Node, NodeKind};
use std::collections::HashMap;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"azpg";
/// Bumped when the layout changes; a blob of a version this build does not know is ignored and
/// the rows are read.
pub const FORMAT_VERSION: u16 = 2;
/// The first format: the nodes blob holds one record per node (id, name, props).
const FORMAT_RECORDS: u16 = 1;
const HEADER_LEN: usize = 12;

/// Which column a blob belongs to (its header's tag).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Column {
    /// Format 2: the ids (a u32 end offset per node, then the text), the names (likewise), the
    /// property keys (u32 count, each a length-prefixed string), a u16 property count per node, a
    /// u32 key code per property, the values (a u32 end offset per property, then the text).
    /// Format 1: per node, id, name, and props (a u16 count of key/value pairs), each a
    /// length-prefixed string.
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
    pub fn name(self) -> &'static str {
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
    put_column(&mut blob, || nodes.iter().map(|n| n.id.as_str()))?;
    put_column(&mut blob, || nodes.iter().map(|n| n.name.as_str()))?;
    let mut keys: Vec<&str> = Vec::new();
    let mut code_of: HashMap<&str, u32> = HashMap::new();
    let mut codes = Vec::new();
    for n in nodes {
        for (k, _) in &n.props {
            let code = *code_of.entry(k).or_insert_with(|| {
                keys.push(k);
                (keys.len() - 1) as u32
            });
            codes.extend_from_slice(&code.to_le_bytes());
        }
    }
    blob.extend_from_slice(&u32::try_from(keys.len()).ok()?.to_le_bytes());
    for k in keys {
        put_str(&mut blob, k)?;
    }
    for n in nodes {
        blob.extend_from_slice(&u16::try_from(n.props.len()).ok()?.to_le_bytes());
    }
    blob.extend_from_slice(&codes);
    put_column(&mut blob, || nodes.iter().flat_map(|n| n.props.iter().map(|(_, v)| v.as_str())))?;
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

impl GraphBlobs {
    /// Each blob with its column's tag: the `graph_parts` rows.
    pub fn parts(&self) -> [(i64, &[u8]); 7] {
        [
            (Column::Nodes as i64, &self.nodes),
            (Column::NodeKinds as i64, &self.node_kinds),
            (Column::EdgeEnds as i64, &self.edge_ends),
            (Column::EdgeCosts as i64, &self.edge_costs),
            (Column::EdgeKinds as i64, &self.edge_kinds),
            (Column::EdgeRules as i64, &self.edge_rules),
            (Column::EdgeFlags as i64, &self.edge_flags),
        ]
    }
}

fn header(column: Column, count: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(column as u16).to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out
}

/// Strings as a [`StrColumn`] keeps them: a u32 end offset each, then their text end to end.
fn put_column<'a, I: Iterator<Item = &'a str>>(out: &mut Vec<u8>, items: impl Fn() -> I) -> Option<()> {
    let mut end = 0u32;
    for s in items() {
        end = end.checked_add(u32::try_from(s.len()).ok()?)?;
        out.extend_from_slice(&end.to_le_bytes());
    }
    out.reserve(end as usize);
    for s in items() {
        out.extend_from_slice(s.as_bytes());
    }
    Some(())
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

impl<'a> StoredBlobs<'a> {
    fn node_blobs(&self) -> NodeBlobs<'a> {
        NodeBlobs { nodes: self.nodes, node_kinds: self.node_kinds }
    }

    fn edge_blobs(&self) -> EdgeBlobs<'a> {
        EdgeBlobs {
            ends: self.edge_ends,
            costs: self.edge_costs,
            kinds: self.edge_kinds,
            rules: self.edge_rules,
            flags: self.edge_flags,
        }
    }
}

/// The node blobs of one snapshot.
pub struct NodeBlobs<'a> {
    pub nodes: &'a [u8],
    pub node_kinds: &'a [u8],
}

/// The edge blobs of one snapshot.
pub struct EdgeBlobs<'a> {
    pub ends: &'a [u8],
    pub costs: &'a [u8],
    pub kinds: &'a [u8],
    pub rules: &'a [u8],
    pub flags: &'a [u8],
}

/// Decoded nodes or edges, with the format version they were stored in (which the other half's
/// must match).
pub struct Decoded<T> {
    version: u16,
    pub value: T,
}

/// Decodes a snapshot's blobs (a `graph_blobs` row), nodes and edges on two threads. `Ok(None)`
/// when they were written in a format version this build does not know (the caller reads the
/// rows); `Corrupt` when they are truncated, mislabelled or inconsistent.
pub fn decode(snapshot: i64, stored: &StoredBlobs) -> Result<Option<Structure>> {
    // Neither half needs the other. (The nodes in two halves on two threads as well was measured
    // slower: 1.26x the load's wall time at 10M, more page faults.)
    let (nodes, edges) = std::thread::scope(|scope| {
        let nodes = scope.spawn(|| decode_nodes(snapshot, &stored.node_blobs()));
        let edges = decode_edges(snapshot, &stored.edge_blobs());
        (nodes.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), edges)
    });
    // A node error first: it says more than an edge naming a node that is not there.
    let (Some(nodes), Some(edges)) = (nodes?, edges?) else { return Ok(None) };
    join(snapshot, nodes, edges).map(Some)
}

/// The structure of decoded nodes and edges, once they are checked to belong together: the same
/// format version, and every edge end one of the nodes.
pub fn join(snapshot: i64, nodes: Decoded<NodeTable>, edges: Decoded<EdgeColumns>) -> Result<Structure> {
    if nodes.version != edges.version {
        return Err(corrupt(snapshot, Column::Nodes, "of another format version than the edge columns"));
    }
    let (count, node_count) = (edges.value.len(), nodes.value.len());
    let ends = edges.value.source.iter().chain(&edges.value.target);
    if let Some(e) = ends.clone().position(|&n| n as usize >= node_count) {
        return Err(corrupt(snapshot, Column::EdgeEnds, &format!("edge {} names a missing node", e % count.max(1))));
    }
    Ok((nodes.value, edges.value))
}

fn corrupt(snapshot: i64, column: Column, what: &str) -> StoreError {
    StoreError::Corrupt(format!("graph blob {} of snapshot {snapshot}: {what}", column.name()))
}

/// One half's format version, and each blob's item count and body.
type Headers<'a, const N: usize> = (u16, [(usize, &'a [u8]); N]);

/// Reads the headers of one half's blobs, all of the same version: `None` for a version this
/// build does not know.
fn headers<const N: usize>(snapshot: i64, columns: [(Column, &[u8]); N]) -> Result<Option<Headers<'_, N>>> {
    let mut out = [(0, &[][..]); N];
    let mut version = None;
    for (i, (column, blob)) in columns.into_iter().enumerate() {
        if blob.len() < HEADER_LEN || &blob[..4] != MAGIC {
            return Err(corrupt(snapshot, column, "no header"));
        }
        let v = u16::from_le_bytes([blob[4], blob[5]]);
        if v != FORMAT_VERSION && v != FORMAT_RECORDS {
            return Ok(None);
        }
        if *version.get_or_insert(v) != v {
            return Err(corrupt(snapshot, column, "of another format version than the other columns"));
        }
        if u16::from_le_bytes([blob[6], blob[7]]) != column as u16 {
            return Err(corrupt(snapshot, column, "holds another column"));
        }
        out[i] = (u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize, &blob[HEADER_LEN..]);
    }
    if out.iter().any(|&(count, _)| count != out[0].0) {
        return Err(StoreError::Corrupt(format!("graph blobs of snapshot {snapshot} disagree on their counts")));
    }
    Ok(version.map(|v| (v, out)))
}

/// Decodes the node blobs; `None` when they are of a format version this build does not know.
pub fn decode_nodes(snapshot: i64, blobs: &NodeBlobs) -> Result<Option<Decoded<NodeTable>>> {
    let corrupt = |column: Column, what: &str| corrupt(snapshot, column, what);
    let Some((version, [(node_count, nodes_body), (_, kinds_body)])) =
        headers(snapshot, [(Column::Nodes, blobs.nodes), (Column::NodeKinds, blobs.node_kinds)])?
    else {
        return Ok(None);
    };
    let (kind_names, kind_codes) = read_dictionary(Column::NodeKinds, kinds_body, node_count, &corrupt)?;
    let names = parse_names(&kind_names, NodeKind::parse, Column::NodeKinds, &corrupt)?;
    let kinds = kind_codes
        .chunks_exact(2)
        .map(|code| names.get(u16::from_le_bytes([code[0], code[1]]) as usize).copied())
        .collect::<Option<Vec<NodeKind>>>()
        .ok_or_else(|| corrupt(Column::NodeKinds, "a code outside its names"))?;
    let value = if version == FORMAT_RECORDS {
        NodeTable::from_nodes(&decode_node_records(nodes_body, kinds, &corrupt)?)
    } else {
        decode_node_columns(nodes_body, kinds, &corrupt)?
    };
    Ok(Some(Decoded { version, value }))
}

/// Decodes a format 2 nodes `body` (see [`Column::Nodes`]) of as many nodes as `kinds` has.
fn decode_node_columns(
    body: &[u8],
    kinds: Vec<NodeKind>,
    corrupt: &impl Fn(Column, &str) -> StoreError,
) -> Result<NodeTable> {
    let bad = |what: &str| corrupt(Column::Nodes, what);
    let n = kinds.len();
    let mut reader = Reader { bytes: body, at: 0 };
    let ids = reader.column(n).ok_or_else(|| bad("ids truncated, not UTF-8, or cut where no item ends"))?;
    let names = reader.column(n).ok_or_else(|| bad("names truncated, not UTF-8, or cut where no item ends"))?;
    let key_count = reader.u32().ok_or_else(|| bad("truncated"))?;
    let keys = (0..key_count)
        .map(|_| reader.string().ok_or_else(|| bad("property keys truncated or not UTF-8")))
        .collect::<Result<Vec<String>>>()?;
    let prop_counts: Vec<u16> =
        reader.words(n, 2).ok_or_else(|| bad("truncated"))?.map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    let pairs: usize = prop_counts.iter().map(|&c| c as usize).sum();
    let key_of: Vec<u32> = reader.words(pairs, 4).ok_or_else(|| bad("truncated"))?.map(word).collect();
    let values =
        reader.column(pairs).ok_or_else(|| bad("property values truncated, not UTF-8, or cut where no item ends"))?;
    if reader.at != body.len() {
        return Err(bad("bytes after the last column"));
    }
    NodeTable::from_parts(NodeParts { ids, names, kinds, keys, prop_counts, key_of, values }).map_err(bad)
}

fn word(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Decodes a format 1 nodes `body`, which holds exactly the nodes whose `kinds` are given.
fn decode_node_records(
    body: &[u8],
    kinds: Vec<NodeKind>,
    corrupt: &impl Fn(Column, &str) -> StoreError,
) -> Result<Vec<Node>> {
    let mut reader = Reader { bytes: body, at: 0 };
    let mut nodes = Vec::with_capacity(kinds.len());
    let bad_nodes = |what: &str| corrupt(Column::Nodes, what);
    for kind in kinds {
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

/// Decodes the edge blobs, each checked (lengths, codes naming one of their names), but not
/// against the nodes: [`join`] checks the ends. `None` when they are of a format version this build
/// does not know.
pub fn decode_edges(snapshot: i64, blobs: &EdgeBlobs) -> Result<Option<Decoded<EdgeColumns>>> {
    let corrupt = |column: Column, what: &str| corrupt(snapshot, column, what);
    let columns = [
        (Column::EdgeEnds, blobs.ends),
        (Column::EdgeCosts, blobs.costs),
        (Column::EdgeKinds, blobs.kinds),
        (Column::EdgeRules, blobs.rules),
        (Column::EdgeFlags, blobs.flags),
    ];
    let Some((version, [(count, ends), (_, costs), (_, kinds), (_, rules), (_, flags)])) = headers(snapshot, columns)?
    else {
        return Ok(None);
    };
    // Fixed-width columns: the length is checked once, then read without further checks.
    for (column, body, width) in
        [(Column::EdgeEnds, ends, 8), (Column::EdgeCosts, costs, 4), (Column::EdgeFlags, flags, 1)]
    {
        if body.len() != count * width {
            return Err(corrupt(column, &format!("{} bytes for {count} edges", body.len())));
        }
    }
    let (kind_names, kind_codes) = read_dictionary(Column::EdgeKinds, kinds, count, &corrupt)?;
    let edge_kinds = parse_names(&kind_names, EdgeKind::parse, Column::EdgeKinds, &corrupt)?;
    let (rule_names, rule_codes) = read_dictionary(Column::EdgeRules, rules, count, &corrupt)?;
    let code = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    let (source, target): (Vec<u32>, Vec<u32>) = ends.chunks_exact(8).map(|b| (word(b), word(&b[4..]))).unzip();
    let kind = kind_codes
        .chunks_exact(2)
        .map(|b| edge_kinds.get(code(b) as usize).copied())
        .collect::<Option<Vec<EdgeKind>>>()
        .ok_or_else(|| corrupt(Column::EdgeKinds, "a code outside its names"))?;
    let rule: Vec<u16> = rule_codes.chunks_exact(2).map(code).collect();
    if rule.iter().any(|&r| r as usize >= rule_names.len()) {
        return Err(corrupt(Column::EdgeRules, "a code outside its names"));
    }
    let value = EdgeColumns {
        source,
        target,
        cost: costs.chunks_exact(4).map(word).collect(),
        kind,
        rules: rule_names.iter().map(|r| Arc::from(r.as_str())).collect(),
        rule,
        requires_activation: flags.iter().map(|f| f & ACTIVATION != 0).collect(),
        conditional: flags.iter().map(|f| f & CONDITIONAL != 0).collect(),
    };
    Ok(Some(Decoded { version, value }))
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

    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(word)
    }

    /// The next `count` items of `width` bytes.
    fn words(&mut self, count: usize, width: usize) -> Option<std::slice::ChunksExact<'_, u8>> {
        Some(self.take(count.checked_mul(width)?)?.chunks_exact(width))
    }

    /// A [`StrColumn`] of `count` items: their u32 end offsets, then their text.
    fn column(&mut self, count: usize) -> Option<StrColumn> {
        let ends: Vec<usize> = self.words(count, 4)?.map(|b| word(b) as usize).collect();
        let text = std::str::from_utf8(self.take(ends.last().copied().unwrap_or(0))?).ok()?;
        StrColumn::from_parts(text.to_owned(), ends)
    }

    fn str(&mut self) -> Option<&str> {
        let len = self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
        std::str::from_utf8(self.take(len as usize)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Edge;

    fn sample() -> (Vec<Node>, Vec<Edge>, Vec<(u32, u32)>) {
        let nodes = vec![
            Node::new("a", NodeKind::User, "Ann").with_prop("upn", "ann@x").with_prop("pipeline", "gh"),
            Node::new("b", NodeKind::Group, "Bé"),
            Node::new("c", NodeKind::KeyVault, "kv").with_prop("crown_jewel", "secrets"),
        ];
        let edges = vec![
            Edge::bare("a".into(), "b".into(), EdgeKind::MemberOf, "r1".into()),
            Edge::bare("b".into(), "c".into(), EdgeKind::ReadSecrets, "r2".into()),
        ];
        (nodes, edges, vec![(0, 1), (1, 2)])
    }

    fn stored(b: &GraphBlobs) -> StoredBlobs<'_> {
        StoredBlobs {
            nodes: &b.nodes,
            node_kinds: &b.node_kinds,
            edge_ends: &b.edge_ends,
            edge_costs: &b.edge_costs,
            edge_kinds: &b.edge_kinds,
            edge_rules: &b.edge_rules,
            edge_flags: &b.edge_flags,
        }
    }

    /// The nodes blob as format 1 wrote it: per node, id, name and props as length-prefixed strings.
    fn format_1_nodes(nodes: &[Node]) -> Vec<u8> {
        let mut blob = header(Column::Nodes, nodes.len() as u32);
        blob[4..6].copy_from_slice(&FORMAT_RECORDS.to_le_bytes());
        for n in nodes {
            put_str(&mut blob, &n.id).unwrap();
            put_str(&mut blob, &n.name).unwrap();
            blob.extend_from_slice(&(n.props.len() as u16).to_le_bytes());
            for (k, v) in &n.props {
                put_str(&mut blob, k).unwrap();
                put_str(&mut blob, v).unwrap();
            }
        }
        blob
    }

    #[test]
    fn nodes_come_back_as_they_were_encoded() {
        let (nodes, edges, ends) = sample();
        let refs: Vec<&Node> = nodes.iter().collect();
        let blobs = encode(&refs, &edges, &ends).unwrap();
        let (table, columns) = decode(1, &stored(&blobs)).unwrap().unwrap();
        assert_eq!(table, NodeTable::from_nodes(&nodes));
        assert_eq!(table.to_nodes(), nodes);
        assert_eq!((columns.source, columns.target), (vec![0, 1], vec![1, 2]));
    }

    #[test]
    fn format_1_blobs_still_load_and_versions_may_not_be_mixed() {
        let (nodes, edges, ends) = sample();
        let refs: Vec<&Node> = nodes.iter().collect();
        let mut blobs = encode(&refs, &edges, &ends).unwrap();
        let want = decode(1, &stored(&blobs)).unwrap().unwrap();
        blobs.nodes = format_1_nodes(&nodes);
        let mixed = decode(1, &stored(&blobs)).map(|_| ()).unwrap_err();
        assert!(matches!(mixed, StoreError::Corrupt(ref m) if m.contains("format version")), "{mixed}");
        // Every other column's layout is the same in both formats: only the version differs.
        for b in [
            &mut blobs.node_kinds,
            &mut blobs.edge_ends,
            &mut blobs.edge_costs,
            &mut blobs.edge_kinds,
            &mut blobs.edge_rules,
            &mut blobs.edge_flags,
        ] {
            b[4..6].copy_from_slice(&FORMAT_RECORDS.to_le_bytes());
        }
        assert_eq!(decode(1, &stored(&blobs)).unwrap().unwrap(), want);
    }

    #[test]
    fn damaged_node_columns_are_corrupt_never_a_panic() {
        let (nodes, edges, ends) = sample();
        let refs: Vec<&Node> = nodes.iter().collect();
        let blobs = encode(&refs, &edges, &ends).unwrap();
        type Damage = fn(&mut Vec<u8>);
        let cases: &[(&str, Damage)] = &[
            // The ids' three ends, then their text.
            ("ids' ends falling", |b| b[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&9u32.to_le_bytes())),
            ("an id that is not UTF-8", |b| b[HEADER_LEN + 12] = 0xff),
            // The blob ends with three u16 property counts, three u32 key codes, and the values:
            // three u32 ends and 14 bytes of text.
            ("a key code past the keys", |b| {
                let at = b.len() - 14 - 12 - 12;
                b[at..at + 4].copy_from_slice(&7u32.to_le_bytes());
            }),
            ("a node's keys out of order", |b| {
                let at = b.len() - 14 - 12 - 12;
                let (first, second) = (b[at..at + 4].to_vec(), b[at + 4..at + 8].to_vec());
                b[at..at + 4].copy_from_slice(&second);
                b[at + 4..at + 8].copy_from_slice(&first);
            }),
            ("a property count too large", |b| {
                let at = b.len() - 14 - 12 - 12 - 6;
                b[at..at + 2].copy_from_slice(&3u16.to_le_bytes());
            }),
        ];
        for (what, damage) in cases {
            let mut damaged = GraphBlobs { nodes: blobs.nodes.clone(), ..encode(&refs, &edges, &ends).unwrap() };
            damage(&mut damaged.nodes);
            let err = decode(1, &stored(&damaged)).map(|_| ()).expect_err(what);
            assert!(matches!(err, StoreError::Corrupt(_)), "{what}: {err}");
        }
        // Cut anywhere, the blob is an error, never a panic.
        for len in HEADER_LEN..blobs.nodes.len() {
            let cut = GraphBlobs { nodes: blobs.nodes[..len].to_vec(), ..encode(&refs, &edges, &ends).unwrap() };
            assert!(decode(1, &stored(&cut)).is_err(), "cut at {len}");
        }
    }
}

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
    /// Format 2: every edge's source (u32, a node position), then every edge's target. Format 1:
    /// per edge, u32 source and u32 target.
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
    ends_blob.extend(ends.iter().flat_map(|&(s, _)| s.to_le_bytes()));
    ends_blob.extend(ends.iter().flat_map(|&(_, t)| t.to_le_bytes()));
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

/// Where a blob's bytes come from: a slice already in memory (a `graph_blobs` row, a test), or a
/// blob read piece by piece (a `graph_parts` row, read by the store straight into the arrays it
/// decodes into: no copy of the whole blob is made first).
pub trait Source {
    /// The blob's length in bytes.
    fn len(&self) -> usize;
    /// Fills `out` with the bytes from `at` (which the caller keeps within `len`).
    fn read_at(&mut self, at: usize, out: &mut [u8]) -> std::io::Result<()>;
}

impl Source for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_at(&mut self, at: usize, out: &mut [u8]) -> std::io::Result<()> {
        out.copy_from_slice(&self[at..at + out.len()]);
        Ok(())
    }
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

/// The node blobs of one snapshot.
pub struct NodeBlobs<S> {
    pub nodes: S,
    pub node_kinds: S,
}

/// The edge blobs of one snapshot.
pub struct EdgeBlobs<S> {
    pub ends: S,
    pub costs: S,
    pub kinds: S,
    pub rules: S,
    pub flags: S,
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
        let nodes =
            scope.spawn(|| decode_nodes(snapshot, NodeBlobs { nodes: stored.nodes, node_kinds: stored.node_kinds }));
        let edges = decode_edges(
            snapshot,
            EdgeBlobs {
                ends: stored.edge_ends,
                costs: stored.edge_costs,
                kinds: stored.edge_kinds,
                rules: stored.edge_rules,
                flags: stored.edge_flags,
            },
        );
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

/// Why a read of a blob failed.
enum Fail {
    /// It ended before what its counts promised (or a length is past any blob's size).
    Truncated,
    /// A read of the blob failed (SQLite's error).
    Read(std::io::Error),
}

type Read<T> = std::result::Result<T, Fail>;

/// Reading one blob, bounds-checked, from its start.
struct Cursor<S> {
    src: S,
    at: usize,
    column: Column,
    snapshot: i64,
}

impl<S: Source> Cursor<S> {
    /// The blob's error for `fail`, saying what was read.
    fn error(&self, fail: Fail, what: &str) -> StoreError {
        match fail {
            Fail::Truncated => corrupt(self.snapshot, self.column, &format!("{what} truncated")),
            Fail::Read(e) => corrupt(self.snapshot, self.column, &format!("{what} could not be read: {e}")),
        }
    }

    fn fill(&mut self, out: &mut [u8]) -> Read<()> {
        let end = self.at.checked_add(out.len()).filter(|&e| e <= self.src.len()).ok_or(Fail::Truncated)?;
        self.src.read_at(self.at, out).map_err(Fail::Read)?;
        self.at = end;
        Ok(())
    }

    /// The next `n` bytes, in a buffer of their own.
    fn bytes(&mut self, n: usize) -> Read<Vec<u8>> {
        if n > self.src.len().saturating_sub(self.at) {
            return Err(Fail::Truncated);
        }
        let mut out = vec![0; n];
        self.fill(&mut out)?;
        Ok(out)
    }

    fn u16(&mut self) -> Read<u16> {
        let mut b = [0; 2];
        self.fill(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    fn u32(&mut self) -> Read<u32> {
        let mut b = [0; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// The next `count` items of `WIDTH` bytes each, made by `make`: read a piece at a time into
    /// a small buffer, so only the array made is allocated.
    fn items<T, const WIDTH: usize>(&mut self, count: usize, make: impl Fn([u8; WIDTH]) -> T) -> Read<Vec<T>> {
        let total = count.checked_mul(WIDTH).ok_or(Fail::Truncated)?;
        if total > self.src.len().saturating_sub(self.at) {
            return Err(Fail::Truncated);
        }
        let mut out = Vec::with_capacity(count);
        let mut buf = vec![0u8; total.min(1 << 20) / WIDTH * WIDTH];
        let mut left = total;
        while left > 0 {
            let size = left.min(buf.len());
            let piece = &mut buf[..size];
            self.fill(piece)?;
            out.extend(piece.chunks_exact(WIDTH).map(|b| make(b.try_into().expect("WIDTH bytes"))));
            left -= piece.len();
        }
        Ok(out)
    }

    fn u32s(&mut self, count: usize) -> Read<Vec<u32>> {
        self.items(count, u32::from_le_bytes)
    }

    fn u16s(&mut self, count: usize) -> Read<Vec<u16>> {
        self.items(count, u16::from_le_bytes)
    }

    /// A length-prefixed string (`None` inside: not UTF-8).
    fn string(&mut self) -> Read<Option<String>> {
        let len = self.u32()? as usize;
        Ok(String::from_utf8(self.bytes(len)?).ok())
    }

    /// A [`StrColumn`] of `count` items: their u32 end offsets, then their text (`None` inside:
    /// not UTF-8, or ends that do not fit it).
    fn column(&mut self, count: usize) -> Read<Option<StrColumn>> {
        let ends: Vec<usize> = self.items(count, |b| u32::from_le_bytes(b) as usize)?;
        let text = self.bytes(ends.last().copied().unwrap_or(0))?;
        Ok(String::from_utf8(text).ok().and_then(|text| StrColumn::from_parts(text, ends)))
    }

    fn at_end(&self) -> bool {
        self.at == self.src.len()
    }
}

/// Reads the headers of one half's blobs, all of the same version: `None` for a version this
/// build does not know; else the version, and each blob's item count and cursor (past its header).
#[allow(clippy::type_complexity)]
fn headers<S: Source, const N: usize>(
    snapshot: i64,
    blobs: [(Column, S); N],
) -> Result<Option<(u16, [(usize, Cursor<S>); N])>> {
    let mut version = None;
    let mut out = Vec::with_capacity(N);
    for (column, src) in blobs {
        let mut cursor = Cursor { src, at: 0, column, snapshot };
        let mut head = [0u8; HEADER_LEN];
        match cursor.fill(&mut head) {
            Ok(()) if &head[..4] == MAGIC => {}
            Ok(()) | Err(Fail::Truncated) => return Err(corrupt(snapshot, column, "no header")),
            Err(fail) => return Err(cursor.error(fail, "the header")),
        }
        let v = u16::from_le_bytes([head[4], head[5]]);
        if v != FORMAT_VERSION && v != FORMAT_RECORDS {
            return Ok(None);
        }
        if *version.get_or_insert(v) != v {
            return Err(corrupt(snapshot, column, "of another format version than the other columns"));
        }
        if u16::from_le_bytes([head[6], head[7]]) != column as u16 {
            return Err(corrupt(snapshot, column, "holds another column"));
        }
        out.push((u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize, cursor));
    }
    if out.iter().any(|(count, _)| *count != out[0].0) {
        return Err(StoreError::Corrupt(format!("graph blobs of snapshot {snapshot} disagree on their counts")));
    }
    let Ok(out) = <[(usize, Cursor<S>); N]>::try_from(out) else { unreachable!("one header per blob") };
    Ok(version.map(|v| (v, out)))
}

/// Decodes the node blobs; `None` when they are of a format version this build does not know.
pub fn decode_nodes<S: Source>(snapshot: i64, blobs: NodeBlobs<S>) -> Result<Option<Decoded<NodeTable>>> {
    let Some((version, [(node_count, mut nodes), (_, mut kinds)])) =
        headers(snapshot, [(Column::Nodes, blobs.nodes), (Column::NodeKinds, blobs.node_kinds)])?
    else {
        return Ok(None);
    };
    let kinds = read_kinds(&mut kinds, node_count, NodeKind::parse)?;
    let value = if version == FORMAT_RECORDS {
        let body = nodes.bytes(nodes.src.len() - HEADER_LEN).map_err(|f| nodes.error(f, "the nodes"))?;
        NodeTable::from_nodes(&decode_node_records(&body, kinds, &|what| corrupt(snapshot, Column::Nodes, what))?)
    } else {
        decode_node_columns(&mut nodes, kinds)?
    };
    Ok(Some(Decoded { version, value }))
}

/// Decodes a format 2 nodes blob (see [`Column::Nodes`]) of as many nodes as `kinds` has.
fn decode_node_columns<S: Source>(nodes: &mut Cursor<S>, kinds: Vec<NodeKind>) -> Result<NodeTable> {
    let n = kinds.len();
    let bad = |nodes: &Cursor<S>, what: &str| corrupt(nodes.snapshot, Column::Nodes, what);
    let column = |nodes: &mut Cursor<S>, count: usize, what: &str| match nodes.column(count) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(bad(nodes, &format!("{what} not UTF-8, or cut where no item ends"))),
        Err(f) => Err(nodes.error(f, what)),
    };
    let ids = column(nodes, n, "ids")?;
    let names = column(nodes, n, "names")?;
    let key_count = nodes.u32().map_err(|f| nodes.error(f, "property keys"))?;
    let mut keys = Vec::new();
    for _ in 0..key_count {
        match nodes.string() {
            Ok(Some(k)) => keys.push(k),
            Ok(None) => return Err(bad(nodes, "a property key not UTF-8")),
            Err(f) => return Err(nodes.error(f, "property keys")),
        }
    }
    let prop_counts = nodes.u16s(n).map_err(|f| nodes.error(f, "property counts"))?;
    let pairs: usize = prop_counts.iter().map(|&c| c as usize).sum();
    let key_of = nodes.u32s(pairs).map_err(|f| nodes.error(f, "property keys"))?;
    let values = column(nodes, pairs, "property values")?;
    if !nodes.at_end() {
        return Err(bad(nodes, "bytes after the last column"));
    }
    NodeTable::from_parts(NodeParts { ids, names, kinds, keys, prop_counts, key_of, values }).map_err(|e| bad(nodes, e))
}

/// Decodes a format 1 nodes `body`, which holds exactly the nodes whose `kinds` are given.
fn decode_node_records(body: &[u8], kinds: Vec<NodeKind>, bad: &impl Fn(&str) -> StoreError) -> Result<Vec<Node>> {
    let mut reader = Reader { bytes: body, at: 0 };
    let mut nodes = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let id = reader.string().ok_or_else(|| bad("truncated or not UTF-8"))?;
        let name = reader.string().ok_or_else(|| bad("truncated or not UTF-8"))?;
        let prop_count = reader.u16().ok_or_else(|| bad("truncated"))?;
        let mut props = crate::model::Props::with_capacity(prop_count as usize);
        for _ in 0..prop_count {
            let k = reader.string().ok_or_else(|| bad("truncated or not UTF-8"))?;
            let v = reader.string().ok_or_else(|| bad("truncated or not UTF-8"))?;
            props.insert(k, v);
        }
        nodes.push(Node { id, kind, name, props });
    }
    if reader.at != body.len() {
        return Err(bad("bytes after the last node"));
    }
    Ok(nodes)
}

/// Decodes the edge blobs, each checked (lengths, codes naming one of their names), but not
/// against the nodes: [`join`] checks the ends. `None` when they are of a format version this build
/// does not know.
pub fn decode_edges<S: Source>(snapshot: i64, blobs: EdgeBlobs<S>) -> Result<Option<Decoded<EdgeColumns>>> {
    let columns = [
        (Column::EdgeEnds, blobs.ends),
        (Column::EdgeCosts, blobs.costs),
        (Column::EdgeKinds, blobs.kinds),
        (Column::EdgeRules, blobs.rules),
        (Column::EdgeFlags, blobs.flags),
    ];
    let Some((version, [(count, mut ends), (_, mut costs), (_, mut kinds), (_, mut rules), (_, mut flags)])) =
        headers(snapshot, columns)?
    else {
        return Ok(None);
    };
    // Fixed-width columns: the length is checked once, then read.
    for (c, width) in [(&ends, 8), (&costs, 4), (&flags, 1)] {
        let body = c.src.len() - HEADER_LEN;
        if Some(body) != count.checked_mul(width) {
            return Err(corrupt(snapshot, c.column, &format!("{body} bytes for {count} edges")));
        }
    }
    let (source, target) = if version == FORMAT_RECORDS {
        // Format 1: each edge's source and target side by side.
        let pairs =
            ends.items(count, |b: [u8; 8]| (word(&b[..4]), word(&b[4..]))).map_err(|f| ends.error(f, "ends"))?;
        pairs.into_iter().unzip()
    } else {
        let source = ends.u32s(count).map_err(|f| ends.error(f, "sources"))?;
        (source, ends.u32s(count).map_err(|f| ends.error(f, "targets"))?)
    };
    let cost = costs.u32s(count).map_err(|f| costs.error(f, "costs"))?;
    let flags = flags.bytes(count).map_err(|f| flags.error(f, "flags"))?;
    let kind = read_kinds(&mut kinds, count, EdgeKind::parse)?;
    let (rule_names, rule) = read_dictionary(&mut rules, count)?;
    if rule.iter().any(|&r| r as usize >= rule_names.len()) {
        return Err(corrupt(snapshot, Column::EdgeRules, "a code outside its names"));
    }
    let value = EdgeColumns {
        source,
        target,
        cost,
        kind,
        rules: rule_names.iter().map(|r| Arc::from(r.as_str())).collect(),
        rule,
        requires_activation: flags.iter().map(|f| f & ACTIVATION != 0).collect(),
        conditional: flags.iter().map(|f| f & CONDITIONAL != 0).collect(),
    };
    Ok(Some(Decoded { version, value }))
}

fn word(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads a dictionary-coded blob to its end: its names, and a u16 code per item.
fn read_dictionary<S: Source>(blob: &mut Cursor<S>, items: usize) -> Result<(Vec<String>, Vec<u16>)> {
    let count = blob.u16().map_err(|f| blob.error(f, "the names"))?;
    let mut names = Vec::with_capacity(count as usize);
    for _ in 0..count {
        match blob.string() {
            Ok(Some(name)) => names.push(name),
            Ok(None) => return Err(corrupt(blob.snapshot, blob.column, "a name not UTF-8")),
            Err(f) => return Err(blob.error(f, "the names")),
        }
    }
    let left = blob.src.len() - blob.at;
    if Some(left) != items.checked_mul(2) {
        return Err(corrupt(blob.snapshot, blob.column, &format!("{left} code bytes for {items} items")));
    }
    let codes = blob.u16s(items).map_err(|f| blob.error(f, "the codes"))?;
    Ok((names, codes))
}

/// A dictionary-coded column of kinds (node or edge kinds), each name parsed: an unknown name or a
/// code past the names is a corrupt-store error naming the blob.
fn read_kinds<S: Source, T: Copy>(
    blob: &mut Cursor<S>,
    items: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>> {
    let (names, codes) = read_dictionary(blob, items)?;
    let kinds = names
        .iter()
        .map(|n| parse(n).ok_or_else(|| corrupt(blob.snapshot, blob.column, &format!("unknown kind {n}"))))
        .collect::<Result<Vec<T>>>()?;
    codes
        .into_iter()
        .map(|code| kinds.get(code as usize).copied())
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| corrupt(blob.snapshot, blob.column, "a code outside its names"))
}

/// A cursor over a format 1 nodes body in memory; every read is bounds-checked (`None` past the end).
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

    fn string(&mut self) -> Option<String> {
        let len = self.take(4).map(word)?;
        std::str::from_utf8(self.take(len as usize)?).ok().map(str::to_owned)
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
            Edge::bare("c".into(), "a".into(), EdgeKind::MemberOf, "r1".into()),
        ];
        (nodes, edges, vec![(0, 1), (1, 2), (2, 0)])
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
        assert_eq!((columns.source, columns.target), (vec![0, 1, 2], vec![1, 2, 0]));
    }

    /// The edge ends blob as format 1 wrote it: each edge's source and target side by side.
    fn format_1_ends(ends: &[(u32, u32)]) -> Vec<u8> {
        let mut blob = header(Column::EdgeEnds, ends.len() as u32);
        blob[4..6].copy_from_slice(&FORMAT_RECORDS.to_le_bytes());
        blob.extend(ends.iter().flat_map(|&(s, t)| [s.to_le_bytes(), t.to_le_bytes()]).flatten());
        blob
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
        // The ends side by side; every other column's layout is the same in both formats.
        blobs.edge_ends = format_1_ends(&ends);
        for b in [
            &mut blobs.node_kinds,
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

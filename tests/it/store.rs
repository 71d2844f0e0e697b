//! The store: snapshots are reproducible, re-derivable, and written all or nothing.

use azpath::model::{Edge, EdgeKind, Node, NodeKind};
use azpath::rules::Derived;
use azpath::store::Store;

fn count(store: &Store) -> usize {
    store.snapshots().unwrap().len()
}

#[test]
fn importing_the_same_facts_twice_gives_identical_derived_edges() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let a = azpath::import_facts(&mut store, azpath::demo::raw(), None).unwrap();
    let b = azpath::import_facts(&mut store, azpath::demo::raw(), None).unwrap();
    assert_ne!(a.snapshot, b.snapshot);
    let (na, ea) = store.load_graph(a.snapshot).unwrap();
    let (nb, eb) = store.load_graph(b.snapshot).unwrap();
    assert!(!ea.is_empty());
    assert_eq!(na, nb);
    assert_eq!(ea, eb);
}

#[test]
fn stored_raw_facts_re_derive_to_the_same_edges() {
    let mut store = Store::open_in_memory().unwrap();
    let a = azpath::import_facts(&mut store, azpath::demo::raw(), None).unwrap();
    let raw = store.load_raw(a.snapshot).unwrap();
    let b = azpath::import_facts(&mut store, raw, Some("rederived")).unwrap();
    assert_eq!(store.load_graph(a.snapshot).unwrap(), store.load_graph(b.snapshot).unwrap());
    assert_eq!(store.resolve("rederived").unwrap().id, b.snapshot);
    assert_eq!(store.resolve("latest").unwrap().id, b.snapshot);
    assert_eq!(store.resolve("previous").unwrap().id, a.snapshot);
}

#[test]
fn a_failure_mid_write_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    azpath::import_facts(&mut store, azpath::demo::raw(), None).unwrap();
    let before = store.snapshots().unwrap();
    // Nodes are written, then an edge naming a node that does not exist violates a foreign key
    // halfway through the transaction.
    let mut derived =
        Derived { nodes: vec![Node::new("a", NodeKind::User, "a")], edges: vec![], ends: vec![], warnings: vec![] };
    derived.edges.push(Edge::bare("a".into(), "missing".into(), EdgeKind::MemberOf, "test".into()));
    assert!(store.write_snapshot(&azpath::demo::raw().into(), &derived, &[], None).is_err());
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.snapshots().unwrap(), before);
    assert!(store.load_raw(before.last().unwrap().id + 1).is_err(), "no raw facts of the failed snapshot remain");
}

#[test]
fn a_malformed_facts_file_is_an_error_and_writes_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let mut raw = azpath::demo::raw();
    raw.arm.insert(
        "resources".into(),
        serde_json::json!([{"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/x",
        "type": "Microsoft.Storage/storageAccounts", "properties": {"allowSharedKeyAccess": "nope"}}]),
    );
    let err = azpath::import_facts(&mut store, raw, None).unwrap_err();
    assert!(format!("{err:#}").contains("allowSharedKeyAccess"), "{err:#}");
    assert_eq!(count(&store), 0);
}

#[test]
fn secrets_never_reach_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    let mut raw = azpath::demo::raw();
    let sps = raw.graph.get_mut("servicePrincipals").unwrap().as_array_mut().unwrap();
    sps[0]["passwordCredentials"] = serde_json::json!([{"keyId": "k", "secretText": "SUPER-SECRET-VALUE-123"}]);
    let s = azpath::import_facts(&mut store, raw, None).unwrap();
    assert!(s.redacted >= 1);
    // Most of a snapshot is stored compressed (raw facts, fact index, edge texts), where the bytes
    // of the file would not show a secret: read back, none of it holds one either.
    let needle = "SUPER-SECRET-VALUE-123";
    let raw = store.load_raw(s.snapshot).unwrap();
    let raw: String = raw.graph.values().chain(raw.arm.values()).map(String::as_str).collect();
    assert!(raw.contains("passwordCredentials") && !raw.contains(needle));
    let mut g = azpath::load_graph(&store, s.snapshot).unwrap();
    let all: Vec<usize> = (0..g.edge_count()).collect();
    azpath::explain_edges(&store, s.snapshot, &mut g, &all).unwrap();
    let edges = format!("{:?} {:?}", g.to_edges(), g.nodes);
    assert!(edges.contains("RoleAssignment") && !edges.contains(needle));
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    let wal = std::fs::read(dir.path().join("a.db-wal")).unwrap_or_default();
    let needle = b"SUPER-SECRET-VALUE-123";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    assert!(!wal.windows(needle.len()).any(|w| w == needle));
}

/// A database file holding the demo tenant as one snapshot, and that snapshot's id.
fn demo_db(dir: &tempfile::TempDir) -> (std::path::PathBuf, i64) {
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    let snapshot = azpath::import_facts(&mut store, azpath::demo::raw(), None).unwrap().snapshot;
    (path, snapshot)
}

/// A database holding the demo tenant twice: as azpath writes it (graph parts, no rows), and as a
/// row per node and edge (as before schema v4, or a snapshot too large for the blobs); their ids.
fn demo_db_with_rows(dir: &tempfile::TempDir) -> (std::path::PathBuf, i64, i64) {
    let (path, parts) = demo_db(dir);
    let raw = azpath::demo::raw();
    let facts = azpath::facts::parse(&raw).unwrap();
    let derived = azpath::rules::derive(&facts);
    let records = azpath::facts::index::fact_list(&facts);
    let mut store = Store::open(&path).unwrap();
    store.write_rows_only(true);
    let rows = store.write_snapshot(&raw.into(), &derived, &records, None).unwrap();
    (path, parts, rows)
}

/// Since schema v8 a snapshot with graph parts has no row per node or edge; one written as rows
/// has no parts. Each edge's reason, evidence and alternatives read the same from both.
#[test]
fn a_snapshot_with_graph_parts_has_no_rows_and_its_details_read_as_from_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, parts, rows) = demo_db_with_rows(&dir);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let count = |table: &str, snapshot: i64| -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table} WHERE snapshot_id = ?1"), [snapshot], |r| r.get(0))
            .unwrap()
    };
    assert_eq!((count("nodes", parts), count("edges", parts), count("graph_parts", parts)), (0, 0, 7));
    assert!(count("edge_text_ids", parts) > 0);
    assert!(count("nodes", rows) > 50 && count("edges", rows) > 100);
    assert_eq!((count("graph_parts", rows), count("edge_text_ids", rows)), (0, 0));
    assert!(count("edge_alternatives", parts) > 0, "the demo has edges made more than one way");
    assert_eq!(count("edge_alternatives", parts), count("edge_alternatives", rows));
    let store = Store::open_existing(&path).unwrap();
    let edges = store.load_structure(parts).unwrap().1.len();
    let all: Vec<usize> = (0..edges).collect();
    let few: Vec<usize> = (0..edges).rev().step_by(7).collect();
    let from_parts = store.load_edge_details(parts, &all).unwrap();
    assert_eq!(from_parts, store.load_edge_details(rows, &all).unwrap());
    assert!(from_parts.iter().any(|d| !d.alternatives.is_empty()));
    let picked: Vec<_> = few.iter().map(|&e| from_parts[e].clone()).collect();
    assert_eq!(store.load_edge_details(parts, &few).unwrap(), picked);
    // An edge past the last is a corrupt-store error, as it is from rows.
    for snapshot in [parts, rows] {
        let err = store.load_edge_details(snapshot, &[edges]).unwrap_err();
        assert!(err.to_string().contains(&format!("has no edge {edges}")), "{err}");
    }
    drop(store);
    // Deleting a snapshot deletes its parts, texts and alternatives with it.
    conn.execute("PRAGMA foreign_keys = ON", []).unwrap();
    conn.execute("DELETE FROM snapshots WHERE id = ?1", [parts]).unwrap();
    for table in ["graph_parts", "edge_text_ids", "packed_edge_texts", "edge_alternatives"] {
        assert_eq!(count(table, parts), 0, "{table}");
    }
}

/// The graph blobs are encoded from the derived positions while the rows are written; where a
/// position does not name the edge's node (a `Derived` not made by the rules), the rows use the
/// node the edge names, and so must the blobs.
#[test]
fn graph_blobs_follow_the_rows_where_a_derived_position_is_wrong() {
    let raw = azpath::demo::raw();
    let mut derived = azpath::rules::derive(&azpath::facts::parse(&raw).unwrap());
    let last = derived.edges.len() - 1;
    derived.ends.swap(3, last);
    derived.ends[7] = (derived.ends[7].1, derived.ends[7].0);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let raw = azpath::facts::CompactFacts::from(raw);
    let snapshot = store.write_snapshot(&raw, &derived, &[], None).unwrap();
    store.write_rows_only(true);
    let as_rows = store.write_snapshot(&raw, &derived, &[], None).unwrap();
    let from_blobs = store.load_structure_from_blobs(snapshot).unwrap().expect("graph blobs");
    assert_eq!(from_blobs, store.load_structure_from_rows(as_rows).unwrap());
    let at = |id: &str| from_blobs.0.iter().position(|n| n.id == id).unwrap() as u32;
    for e in [3, 7, last] {
        let edge = &derived.edges[e];
        assert_eq!((from_blobs.1.source[e], from_blobs.1.target[e]), (at(&edge.source), at(&edge.target)));
    }
}

#[test]
fn the_graph_blobs_load_the_same_structure_as_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snapshot, as_rows) = demo_db_with_rows(&dir);
    let store = Store::open_existing(&path).unwrap();
    let from_blobs = store.load_structure_from_blobs(snapshot).unwrap().expect("a new snapshot has graph blobs");
    let from_rows = store.load_structure_from_rows(as_rows).unwrap();
    let (nodes, edges) = &from_blobs;
    // The demo exercises every field the blobs carry, so equality below means something.
    assert!(nodes.iter().any(|n| !n.props.is_empty()));
    assert!(edges.requires_activation.contains(&true) && edges.conditional.contains(&true));
    assert!(edges.cost.iter().any(|&c| c != edges.cost[0]) && edges.kind.iter().any(|&k| k != edges.kind[0]));
    assert!(edges.rules.len() > 10 && edges.is_consistent());
    assert_eq!(from_blobs, from_rows, "same nodes, edges (ends, kinds, costs, flags, rules)");
    assert_eq!(store.load_structure(snapshot).unwrap(), from_rows);
    // And the graph built from them answers the same: its headline is the demo's.
    let g = azpath::load_graph(&store, snapshot).unwrap();
    let rows_graph = azpath::graph::AttackGraph::from_columns(from_rows.0, from_rows.1);
    let (a, b) = (azpath::demo::headline(&g), azpath::demo::headline(&rows_graph));
    assert!(!a.pipeline_paths.is_empty());
    assert_eq!((a.pipeline_paths, a.contained, a.user_paths), (b.pipeline_paths, b.contained, b.user_paths));
}

#[test]
fn a_loaded_graph_makes_the_stored_edges_and_the_details_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snapshot) = demo_db(&dir);
    let store = Store::open_existing(&path).unwrap();
    let (_, stored) = store.load_graph(snapshot).unwrap();
    let mut g = azpath::load_graph(&store, snapshot).unwrap();
    assert_eq!(g.edge_count(), stored.len());
    // Before their details are read, edges are whole but for their reason and evidence.
    assert!((0..g.edge_count()).all(|e| !g.has_detail(e) && !g.edge(e).has_detail()));
    for (e, want) in stored.iter().enumerate() {
        let got = g.edge(e);
        assert_eq!(
            (&got.source, &got.target, got.kind, &got.rule),
            (&want.source, &want.target, want.kind, &want.rule)
        );
        assert_eq!(
            (got.cost, got.requires_activation, got.conditional),
            (want.cost, want.requires_activation, want.conditional)
        );
        assert_eq!((g.edge_kind(e), g.edge_cost(e), g.edge_rule(e)), (want.kind, want.cost, &*want.rule));
        assert_eq!(
            (g.edge_requires_activation(e), g.edge_conditional(e)),
            (want.requires_activation, want.conditional)
        );
    }
    // Read for some edges, the details are theirs, and only theirs.
    let some: Vec<usize> = (0..g.edge_count()).step_by(3).collect();
    azpath::explain_edges(&store, snapshot, &mut g, &some).unwrap();
    for e in 0..g.edge_count() {
        assert_eq!(g.has_detail(e), e % 3 == 0, "edge {e}");
    }
    let all: Vec<usize> = (0..g.edge_count()).collect();
    azpath::explain_edges(&store, snapshot, &mut g, &all).unwrap();
    assert_eq!(g.to_edges(), stored, "every field, reasons, evidence and alternatives included");
    // And they are the edges derived in memory from the same facts.
    let derived = azpath::graph::AttackGraph::from_facts(&azpath::facts::parse(&azpath::demo::raw()).unwrap());
    assert_eq!(derived.edge_count(), g.edge_count());
    let key = |e: &azpath::model::Edge| (e.source.clone(), e.target.clone(), e.kind, e.reason(&g));
    let mut a: Vec<_> = g.edges().map(|e| key(&e)).collect();
    let mut b: Vec<_> = derived.edges().map(|e| key(&e)).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn a_graph_without_some_edges_is_the_same_whether_derived_or_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snapshot) = demo_db(&dir);
    let store = Store::open_existing(&path).unwrap();
    let loaded = azpath::load_graph(&store, snapshot).unwrap();
    let (nodes, edges) = store.load_graph(snapshot).unwrap();
    let derived = azpath::graph::AttackGraph::new(nodes, edges);
    let cut: Vec<usize> = (0..loaded.edge_count()).step_by(4).collect();
    let (a, b) = (loaded.without_edges(&cut), derived.without_edges(&cut));
    assert_eq!(a.edge_count(), loaded.edge_count() - cut.len());
    assert_eq!(a.nodes, loaded.nodes, "the nodes stay at their positions");
    let kept: Vec<usize> = (0..loaded.edge_count()).filter(|e| e % 4 != 0).collect();
    for (i, &e) in kept.iter().enumerate() {
        assert_eq!(
            (a.edge_source(i), a.edge_target(i), a.edge_kind(i)),
            (loaded.edge_source(e), loaded.edge_target(e), loaded.edge_kind(e))
        );
        let (x, y) = (a.edge(i), b.edge(i));
        assert_eq!((&x.source, &x.target, x.kind, &x.rule, x.cost), (&y.source, &y.target, y.kind, &y.rule, y.cost));
    }
    let (ha, hb) = (azpath::demo::headline(&a), azpath::demo::headline(&b));
    assert_eq!((ha.pipeline_paths, ha.user_paths), (hb.pipeline_paths, hb.user_paths));
}

/// Reads, and writes back, the `graph_parts` body of a blob named as its `graph_blobs` column was.
fn part_sql(column: &str) -> (String, String) {
    let columns = ["nodes", "node_kinds", "edge_ends", "edge_costs", "edge_kinds", "edge_rules", "edge_flags"];
    let part = columns.iter().position(|c| *c == column).unwrap() + 1;
    (
        format!("SELECT body FROM graph_parts WHERE part = {part}"),
        format!("UPDATE graph_parts SET body = ?1 WHERE part = {part}"),
    )
}

/// A snapshot written by schema v4 to v6 has its blobs in one `graph_blobs` row, its nodes in the
/// first format (a record per node): it loads the same.
#[test]
fn a_snapshot_with_a_graph_blobs_row_of_the_first_format_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snapshot) = demo_db(&dir);
    let expected = Store::open_existing(&path).unwrap().load_structure(snapshot).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let part = |column: &str| -> Vec<u8> {
        let mut blob: Vec<u8> = conn.query_row(&part_sql(column).0, [], |r| r.get(0)).unwrap();
        blob[4..6].copy_from_slice(&1u16.to_le_bytes()); // format 1: same layout but for the nodes
        blob
    };
    // Format 1 kept each edge's source and target side by side; format 2 every source first.
    let split = part("edge_ends");
    let count = (split.len() - 12) / 8;
    let word = |i: usize| &split[12 + 4 * i..16 + 4 * i];
    let mut ends = split[..12].to_vec();
    for e in 0..count {
        ends.extend_from_slice(word(e));
        ends.extend_from_slice(word(count + e));
    }
    let mut nodes = part("nodes")[..12].to_vec();
    let put = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    for n in expected.0.iter() {
        put(&mut nodes, n.id);
        put(&mut nodes, n.name);
        nodes.extend_from_slice(&(n.props.len() as u16).to_le_bytes());
        for (k, v) in n.props.iter() {
            put(&mut nodes, k);
            put(&mut nodes, v);
        }
    }
    conn.execute(
        "INSERT INTO graph_blobs (snapshot_id, nodes, node_kinds, edge_ends, edge_costs, edge_kinds, edge_rules, edge_flags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            snapshot,
            nodes,
            part("node_kinds"),
            ends,
            part("edge_costs"),
            part("edge_kinds"),
            part("edge_rules"),
            part("edge_flags")
        ],
    )
    .unwrap();
    assert_eq!(conn.execute("DELETE FROM graph_parts WHERE snapshot_id = ?1", [snapshot]).unwrap(), 7);
    drop(conn);
    let store = Store::open_existing(&path).unwrap();
    assert_eq!(store.load_structure_from_blobs(snapshot).unwrap().expect("the graph_blobs row"), expected);
}

#[test]
fn a_missing_graph_part_is_a_corrupt_store_error() {
    for part in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let (path, snapshot) = demo_db(&dir);
        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(conn.execute("DELETE FROM graph_parts WHERE part = ?1", [part]).unwrap(), 1);
        drop(conn);
        let store = Store::open_existing(&path).unwrap();
        let err = store.load_structure(snapshot).unwrap_err();
        assert!(matches!(err, azpath::store::StoreError::Corrupt(ref m) if m.contains("missing")), "{err}");
    }
}

#[test]
fn a_snapshot_without_graph_blobs_loads_from_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snapshot, as_rows) = demo_db_with_rows(&dir);
    let store = Store::open_existing(&path).unwrap();
    let expected = store.load_structure(snapshot).unwrap();
    // As written by an azpath before schema v4: rows only.
    assert!(store.load_structure_from_blobs(as_rows).unwrap().is_none());
    assert_eq!(store.load_structure(as_rows).unwrap(), expected);
}

#[test]
fn graph_blobs_of_a_future_format_version_are_ignored_for_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, snapshot, as_rows) = demo_db_with_rows(&dir);
    let expected = Store::open_existing(&path).unwrap().load_structure_from_rows(as_rows).unwrap();
    // The rows' snapshot given the other's parts, of a version this build does not know.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO graph_parts (snapshot_id, part, body) SELECT ?1, part, body FROM graph_parts WHERE snapshot_id = ?2",
        [as_rows, snapshot],
    )
    .unwrap();
    let mut blob: Vec<u8> = conn.query_row(&part_sql("edge_costs").0, [], |r| r.get(0)).unwrap();
    blob[4] = 99; // the format version
    conn.execute(&part_sql("edge_costs").1, [blob]).unwrap();
    drop(conn);
    let store = Store::open_existing(&path).unwrap();
    assert!(store.load_structure_from_blobs(as_rows).unwrap().is_none());
    assert_eq!(store.load_structure(as_rows).unwrap(), expected);
    // A snapshot that has only parts (since schema v8) cannot fall back: a clear error, not an
    // empty graph.
    let err = store.load_structure(snapshot).unwrap_err();
    assert!(err.to_string().contains("neither graph parts this build reads nor rows"), "{err}");
}

#[test]
fn truncated_or_corrupt_graph_blobs_are_a_corrupt_store_error_not_a_panic() {
    type Damage = fn(&mut Vec<u8>);
    let cases: &[(&str, &str, Damage)] = &[
        ("edge ends cut short by a byte", "edge_ends", |b| {
            b.pop();
        }),
        ("edge costs with a byte too many", "edge_costs", |b| b.push(0)),
        ("nodes cut mid-string", "nodes", |b| b.truncate(b.len() - 3)),
        ("nodes with bytes after the last", "nodes", |b| b.extend_from_slice(b"xx")),
        ("only half a header", "edge_flags", |b| b.truncate(6)),
        ("wrong magic", "edge_kinds", |b| b[0] = b'X'),
        ("another column's tag", "edge_rules", |b| b[6] = 3),
        ("a count that disagrees", "node_kinds", |b| b[8] = b[8].wrapping_add(1)),
        ("an edge naming a node past the end", "edge_ends", |b| b[12..16].copy_from_slice(&u32::MAX.to_le_bytes())),
        ("a kind code outside its names", "edge_kinds", |b| {
            let n = b.len();
            b[n - 2..].copy_from_slice(&u16::MAX.to_le_bytes())
        }),
        ("a name length past the end", "edge_rules", |b| b[14..18].copy_from_slice(&u32::MAX.to_le_bytes())),
        ("a kind name this build does not know", "node_kinds", |b| {
            // The first name's first letter: `kind` names are ASCII letters; make it unknown.
            b[18] = b'#'
        }),
        ("an id that is not UTF-8", "nodes", |b| {
            // The ids' text follows one u32 end per node: its first byte is after the last end.
            let count = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
            b[12 + 4 * count] = 0xff
        }),
        ("ids' ends past their text", "nodes", |b| b[12..16].copy_from_slice(&u32::MAX.to_le_bytes())),
    ];
    for (what, column, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (path, snapshot) = demo_db(&dir);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut blob: Vec<u8> = conn.query_row(&part_sql(column).0, [], |r| r.get(0)).unwrap();
        damage(&mut blob);
        conn.execute(&part_sql(column).1, [blob]).unwrap();
        drop(conn);
        let store = Store::open_existing(&path).unwrap();
        let err = store.load_structure(snapshot).expect_err(what);
        assert!(matches!(err, azpath::store::StoreError::Corrupt(_)), "{what}: {err}");
        assert!(azpath::load_graph(&store, snapshot).is_err(), "{what}");
    }
}

/// A process killed while it writes a snapshot (`kill -9`, a crash, the OOM killer) loses nothing: the
/// earlier snapshots are intact, the half-written one is gone, and the next import works.
#[test]
fn an_import_killed_while_writing_loses_nothing() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let facts = dir.path().join("t.json");
    let ok = |out: std::process::Output| assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    ok(crate::support::run_azpath(&db, &["demo"]));
    ok(crate::support::run_azpath(&db, &["synth", "--preset", "100k", "--output", facts.to_str().unwrap()]));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_azpath"))
        .args(["-v", "--db"])
        .arg(&db)
        .arg("import")
        .arg(&facts)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `-v` says when the edges are derived: what follows is the write.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("derived the attack edges") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the import ended without deriving");
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "the import finished before it was killed ({status}); the test needs a larger tenant"
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(count(&store), 1);
    assert_eq!(store_check(&db), "ok");
    drop(store);
    ok(crate::support::run_azpath(&db, &["import", facts.to_str().unwrap()]));
    assert_eq!(count(&Store::open(&db).unwrap()), 2);
}

/// SQLite's own check of the file.
fn store_check(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

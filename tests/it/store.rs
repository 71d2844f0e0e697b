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
    let mut derived = Derived { nodes: vec![Node::new("a", NodeKind::User, "a")], edges: vec![], warnings: vec![] };
    derived.edges.push(Edge {
        source: "a".into(),
        target: "missing".into(),
        kind: EdgeKind::MemberOf,
        rule: "test".into(),
        reason: String::new(),
        evidence: vec![],
        requires_activation: false,
        conditional: false,
        cost: 1,
    });
    assert!(store.write_snapshot(&azpath::demo::raw(), &derived, &Default::default(), None).is_err());
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
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    let wal = std::fs::read(dir.path().join("a.db-wal")).unwrap_or_default();
    let needle = b"SUPER-SECRET-VALUE-123";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    assert!(!wal.windows(needle.len()).any(|w| w == needle));
}

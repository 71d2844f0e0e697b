//! The SQLite store: one file, one snapshot per collection or import. The only module that knows SQL.
//!
//! A snapshot keeps the raw facts it was built from (so edges can be re-derived when rules improve)
//! and the derived nodes and edges with their evidence. Writing a snapshot is one transaction: an
//! interrupted or failed import leaves the database exactly as it was.

use crate::facts::CompactFacts;
use crate::facts::index::{self, FactRecord};
use crate::files;
use crate::model::{Detail, Edge, EdgeKind, Evidence, EvidenceText, FactRef, FactText, FastMap, Node, NodeKind, Text};
use crate::rules::Derived;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

mod edge_text;
mod graph_blob;

/// `PRAGMA application_id` of an azpath database ("azpt"), so that azpath never writes its tables
/// into some other program's SQLite file.
pub const APPLICATION_ID: i32 = 0x617a_7074;

/// The page cache for reading (in KiB, allocated only as used): 256 MiB, so that the parts of a
/// large snapshot's graph and the details read for its paths stay cached.
const CACHE_KIB: i64 = 262_144;

/// The page cache while a snapshot is written. A snapshot is mostly blobs appended once (graph
/// parts, compressed texts and facts), so pages that spill to the WAL mid-transaction are written
/// there once, as at the commit: at 256 MiB the cache was 220 MB of a dense 256 MB AzureHound
/// import's peak heap, and the import peaked at 1,111–1,124 MiB against 986–993 MiB with 16 MiB,
/// for the same write time. (Before schema v4, a row per node and edge, a small cache doubled the
/// import time.)
const WRITE_CACHE_KIB: i64 = 16_384;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE snapshots (
    id            INTEGER PRIMARY KEY,
    imported_at   TEXT NOT NULL,
    collected_at  TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    tenant_name   TEXT NOT NULL,
    source        TEXT NOT NULL,
    label         TEXT,
    azpath_version TEXT NOT NULL,
    completeness  TEXT NOT NULL,
    warnings      TEXT NOT NULL
);
CREATE TABLE raw_facts (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    side        TEXT NOT NULL,
    collection  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, side, collection)
);
CREATE TABLE nodes (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    props       TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, id)
) WITHOUT ROWID;
CREATE TABLE edges (
    snapshot_id INTEGER NOT NULL,
    source      TEXT NOT NULL,
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    requires_activation INTEGER NOT NULL,
    conditional INTEGER NOT NULL,
    cost        INTEGER NOT NULL,
    FOREIGN KEY (snapshot_id, source) REFERENCES nodes(snapshot_id, id) ON DELETE CASCADE,
    FOREIGN KEY (snapshot_id, target) REFERENCES nodes(snapshot_id, id) ON DELETE CASCADE
);
CREATE INDEX edges_by_snapshot ON edges (snapshot_id, source);
"#,
    r#"
-- v2: edges refer to nodes by their position (ix) and keep reasons and evidence in a side table,
-- so loading a graph reads a few compact integers per edge; details are read for printed paths.
CREATE TABLE nodes_v2 (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    ix          INTEGER NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    props       TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, ix)
) WITHOUT ROWID;
INSERT INTO nodes_v2 SELECT snapshot_id, ROW_NUMBER() OVER (PARTITION BY snapshot_id ORDER BY id) - 1, id, kind, name, props FROM nodes;
CREATE TABLE edges_v2 (
    snapshot_id INTEGER NOT NULL,
    ix          INTEGER NOT NULL,
    src         INTEGER NOT NULL,
    dst         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    requires_activation INTEGER NOT NULL,
    conditional INTEGER NOT NULL,
    cost        INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, ix),
    FOREIGN KEY (snapshot_id, src) REFERENCES nodes_v2(snapshot_id, ix) ON DELETE CASCADE,
    FOREIGN KEY (snapshot_id, dst) REFERENCES nodes_v2(snapshot_id, ix) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE edge_details (
    snapshot_id INTEGER NOT NULL,
    ix          INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, ix),
    FOREIGN KEY (snapshot_id, ix) REFERENCES edges_v2(snapshot_id, ix) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TEMP TABLE old_edges AS
    SELECT snapshot_id, ROW_NUMBER() OVER (PARTITION BY snapshot_id ORDER BY rowid) - 1 AS ix, * FROM edges;
INSERT INTO edges_v2
    SELECT e.snapshot_id, e.ix, s.ix, t.ix, e.kind, e.rule, e.requires_activation, e.conditional, e.cost
    FROM old_edges e
    JOIN nodes_v2 s ON s.snapshot_id = e.snapshot_id AND s.id = e.source
    JOIN nodes_v2 t ON t.snapshot_id = e.snapshot_id AND t.id = e.target;
INSERT INTO edge_details SELECT snapshot_id, ix, reason, evidence FROM old_edges;
DROP TABLE temp.old_edges;
DROP TABLE edges;
DROP TABLE nodes;
ALTER TABLE nodes_v2 RENAME TO nodes;
ALTER TABLE edges_v2 RENAME TO edges;
CREATE UNIQUE INDEX nodes_by_id ON nodes (snapshot_id, id);
"#,
    // v3: a fact index per snapshot, so a diff reads two digests instead of parsing raw facts; and
    // node and edge counts kept with the snapshot, so listing or resolving snapshots is instant.
    r#"
ALTER TABLE snapshots ADD COLUMN node_count INTEGER;
ALTER TABLE snapshots ADD COLUMN edge_count INTEGER;
UPDATE snapshots SET
    node_count = (SELECT COUNT(*) FROM nodes n WHERE n.snapshot_id = snapshots.id),
    edge_count = (SELECT COUNT(*) FROM edges e WHERE e.snapshot_id = snapshots.id);
CREATE TABLE fact_digests (
    snapshot_id INTEGER PRIMARY KEY REFERENCES snapshots(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    digest      BLOB NOT NULL
);
CREATE TABLE facts (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    key_hash    INTEGER NOT NULL,
    category    TEXT NOT NULL,
    key         TEXT NOT NULL,
    text        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ids         TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, key_hash, key)
) WITHOUT ROWID;
"#,
    // v4: each snapshot's search structure as binary blobs (see `graph_blob`), so loading a graph
    // decodes a few byte strings instead of reading a row per node and edge. Snapshots written
    // before have none and load from their rows.
    r#"
CREATE TABLE graph_blobs (
    snapshot_id INTEGER PRIMARY KEY REFERENCES snapshots(id) ON DELETE CASCADE,
    nodes       BLOB NOT NULL,
    node_kinds  BLOB NOT NULL,
    edge_ends   BLOB NOT NULL,
    edge_costs  BLOB NOT NULL,
    edge_kinds  BLOB NOT NULL,
    edge_rules  BLOB NOT NULL,
    edge_flags  BLOB NOT NULL
);
"#,
    // v5: edge reasons and evidence as shared templates (`model::Detail`): one `edge_texts` row per
    // distinct detail, which each edge names, instead of a row of text per edge (a tenant's
    // membership edges share one). Alternatives, on few edges, get a table of their own. Snapshots
    // written before keep their `edge_details` rows (their edges' `detail` is NULL). The fact
    // index's records in deflated chunks of consecutive key hashes (`fact_chunks`), not a row each
    // (`facts`, which snapshots written before keep).
    r#"
ALTER TABLE edges ADD COLUMN detail INTEGER;
CREATE TABLE edge_texts (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, id)
) WITHOUT ROWID;
CREATE TABLE fact_chunks (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    first       INTEGER NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (snapshot_id, first)
) WITHOUT ROWID;
CREATE TABLE edge_alternatives (
    snapshot_id  INTEGER NOT NULL,
    ix           INTEGER NOT NULL,
    alternatives TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, ix),
    FOREIGN KEY (snapshot_id, ix) REFERENCES edges(snapshot_id, ix) ON DELETE CASCADE
) WITHOUT ROWID;
"#,
    // v6: edge texts compressed (`edge_text`): each `edge_texts` row's reason and evidence as one
    // zstd frame, against a dictionary trained on the snapshot's texts (a tenant's texts repeat the
    // same names and templates: an eighth of the size). Snapshots written before keep their
    // `edge_texts` rows, and have no dictionary row. Raw facts bodies and fact chunks are zstd
    // frames too (chunks of length-prefixed records, not JSON rows): told from the deflate streams
    // of v5 by zstd's magic number, so they need no column of their own.
    r#"
CREATE TABLE edge_text_dictionaries (
    snapshot_id INTEGER PRIMARY KEY REFERENCES snapshots(id) ON DELETE CASCADE,
    dictionary  BLOB NOT NULL
);
CREATE TABLE packed_edge_texts (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (snapshot_id, id)
) WITHOUT ROWID;
"#,
    // v7: the graph blobs (format 2, nodes as columns) one row each, `part` being the blob's column
    // tag, so that a load reads the node blobs and the edge blobs on two connections at once (the
    // blobs of one row are read together, by one thread). Snapshots written before keep their
    // `graph_blobs` row.
    r#"
CREATE TABLE graph_parts (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    part        INTEGER NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (snapshot_id, part)
);
"#,
    // v8: a snapshot with graph parts has no row per node or edge: the parts hold everything a
    // load reads, and each edge's text id is kept in `edge_text_ids`, a little-endian u32 per edge
    // in rows of EDGE_TEXT_CHUNK edges (one row read per edge shown; one blob of them all would
    // be read through SQLite's overflow chain to its offset). The rows were 40% of the database
    // and a third of an import's write. An edge's alternatives now belong to its
    // snapshot, not to an edge row (there may be none). Snapshots written before keep their rows.
    r#"
CREATE TABLE edge_text_ids (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    first       INTEGER NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (snapshot_id, first)
);
CREATE TABLE edge_alternatives_v8 (
    snapshot_id  INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    ix           INTEGER NOT NULL,
    alternatives TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, ix)
) WITHOUT ROWID;
INSERT INTO edge_alternatives_v8 SELECT snapshot_id, ix, alternatives FROM edge_alternatives;
DROP TABLE edge_alternatives;
ALTER TABLE edge_alternatives_v8 RENAME TO edge_alternatives;
"#,
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}")]
    Open { path: String, source: rusqlite::Error },
    #[error(
        "no azpath database at {0}; `azpath demo`, `azpath import FILE` or `azpath collect` makes one (or pass --db)"
    )]
    Missing(String),
    #[error(
        "{0} is not an azpath database (it is a SQLite file holding other tables); azpath will not add its tables to it; pass --db with a new file name"
    )]
    Foreign(String),
    #[error(
        "database {path} was written by a newer azpath (schema version {found}, this build knows {known}); upgrade azpath"
    )]
    TooNew { path: String, found: i64, known: i64 },
    #[error("no snapshot matches {0:?}; `azpath snapshots` lists them")]
    NoSnapshot(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot create or protect database file {path}")]
    Io { path: String, source: std::io::Error },
}

type Result<T> = std::result::Result<T, StoreError>;

pub use crate::model::SnapshotInfo;

/// A graph as path search needs it: nodes, and the edges (without reasons and evidence) as columns.
pub type Structure = (crate::graph::NodeTable, crate::graph::EdgeColumns);

pub struct Store {
    conn: Connection,
    /// The path as shown in messages.
    path: String,
    /// The database file, for a second connection that reads beside `conn`; `None` in memory.
    file: Option<std::path::PathBuf>,
    permission_notes: Vec<String>,
    /// Write snapshots as a row per node and edge, without graph parts (tests of that path).
    rows_only: bool,
}

impl Store {
    /// Opens (or creates, readable by the owner only) the database at `path`, migrating its schema.
    /// For commands that write a snapshot.
    pub fn open(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        if !path.exists() {
            files::create_new(path).map_err(|source| StoreError::Io { path: shown.clone(), source })?;
        }
        Store::open_file(path, shown)
    }

    /// Opens an existing database; a missing one is an error, not a new empty file. For commands
    /// that only read, so a mistyped `--db` is reported instead of silently creating a database.
    pub fn open_existing(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        if !path.exists() {
            return Err(StoreError::Missing(shown));
        }
        Store::open_file(path, shown)
    }

    /// Opens a database file that exists: checks it is ours, makes it (and its `-wal` and `-shm`)
    /// owner-only if others could read it ([`Store::permission_notes`] says what it did, for the
    /// CLI to warn), then migrates it.
    fn open_file(path: &Path, shown: String) -> Result<Store> {
        let mut notes = Vec::new();
        // A database someone else owns (a shared copy an auditor reads) cannot be tightened: that
        // is said, not an error, so it can still be read.
        let tighten = |notes: &mut Vec<String>| {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let file = std::path::PathBuf::from(file);
                match files::tighten(&file) {
                    Ok(false) => {}
                    Ok(true) => {
                        notes.push(format!("{} was readable by other users; made it owner-only (0600)", file.display()))
                    }
                    Err(e) => notes.push(format!(
                        "{} is readable by other users and could not be made owner-only: {e}",
                        file.display()
                    )),
                }
            }
        };
        // A file marked as ours is made private before SQLite opens it, so the -wal and -shm it
        // creates inherit owner-only permissions. Any other file is checked first: someone else's
        // is refused before anything about it (even its mode) is changed.
        let ours = header_application_id(path) == Some(APPLICATION_ID);
        if ours {
            tighten(&mut notes);
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: shown.clone(), source })?;
        // SQLite opens lazily: the first read tells whether the file is a database at all.
        Store::claim(&conn, &shown)?;
        if !ours {
            tighten(&mut notes);
        }
        let mut store = Store::init(conn, shown)?;
        store.permission_notes = notes;
        store.file = Some(path.to_path_buf());
        Ok(store)
    }

    /// What opening the database did about files others could read: made them owner-only, or
    /// could not (one sentence each).
    pub fn permission_notes(&self) -> &[String] {
        &self.permission_notes
    }

    /// Checks that the file is ours (our application id, or an older azpath schema) or empty, and
    /// marks an empty one as ours; refuses a SQLite file of some other program.
    fn claim(conn: &Connection, shown: &str) -> Result<()> {
        let open_err = |source| StoreError::Open { path: shown.to_string(), source };
        let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(open_err)?;
        if app == APPLICATION_ID {
            return Ok(());
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(open_err)?;
        let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(open_err)?;
        let has_snapshots: bool = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(open_err)?
            > 0;
        let empty = app == 0 && version == 0 && objects == 0;
        let older_azpath = app == 0 && version > 0 && has_snapshots;
        if !(empty || older_azpath) {
            return Err(StoreError::Foreign(shown.to_string()));
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID).map_err(open_err)?;
        Ok(())
    }

    /// Deletes the database at `path` (and its -wal and -shm) if it is an azpath database holding
    /// no snapshot; used when the command that created it failed. Best effort: anything else is
    /// left alone.
    pub fn remove_if_empty(path: &Path) {
        let Ok(store) = Store::open_existing(path) else { return };
        if store.snapshot_count().ok() != Some(0) {
            return;
        }
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }

    /// How many snapshots the database holds.
    pub fn snapshot_count(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))?)
    }

    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, ":memory:".into())
    }

    fn init(conn: Connection, path: String) -> Result<Store> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        // WAL lets readers query while a collection is being written.
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut store = Store { conn, path, file: None, permission_notes: Vec::new(), rows_only: false };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: self.path.clone(), found: version, known });
        }
        let tx = self.conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes a snapshot (raw facts, nodes, edges) in one transaction and returns its id. On any
    /// error nothing is written. The raw facts and the fact records are compressed first, on both
    /// cores ([`write_packed`](Self::write_packed) takes them already compressed).
    pub fn write_snapshot(
        &mut self,
        raw: &CompactFacts,
        derived: &Derived,
        records: &[FactRecord],
        label: Option<&str>,
    ) -> Result<i64> {
        let (raw, index) = std::thread::scope(|scope| {
            let index = scope.spawn(|| PackedIndex::new(records));
            (PackedRaw::new(raw.clone()), index.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        });
        self.write_packed(&raw, derived, &index, label)
    }

    /// Writes a snapshot whose raw facts and fact index are already compressed.
    pub fn write_packed(
        &mut self,
        raw: &PackedRaw,
        derived: &Derived,
        index: &PackedIndex,
        label: Option<&str>,
    ) -> Result<i64> {
        let rows_only = self.rows_only;
        self.writing(|store| store.write_snapshot_rows(raw, derived, index, label, rows_only))
    }

    /// Runs a snapshot's write with the connection set for it: without SQLite's foreign-key
    /// lookups per row (the rows of a new snapshot only refer to each other, and the writer checks
    /// every edge's ends itself), and with the smaller page cache of [`WRITE_CACHE_KIB`]. Both are
    /// switched around the transaction (the key pragma cannot change inside one).
    fn writing<T>(&mut self, write: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        self.conn.pragma_update(None, "cache_size", -WRITE_CACHE_KIB)?;
        let written = write(self);
        self.conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        written
    }

    /// From now on, writes snapshots as a row per node and per edge without graph parts: as azpath
    /// did before schema v4, and still does for a snapshot too large for the blob format. For tests
    /// of that path.
    #[doc(hidden)]
    pub fn write_rows_only(&mut self, rows_only: bool) {
        self.rows_only = rows_only;
    }

    fn write_snapshot_rows(
        &mut self,
        raw: &PackedRaw,
        derived: &Derived,
        index: &PackedIndex,
        label: Option<&str>,
        rows_only: bool,
    ) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let completeness = serde_json::to_string(&raw.completeness_with_missing).expect("serialisable");
        let warnings = serde_json::to_string(&derived.warnings).expect("serialisable");
        tx.execute(
            "INSERT INTO snapshots (imported_at, collected_at, tenant_id, tenant_name, source, label, azpath_version, completeness, warnings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                raw.collected_at,
                raw.tenant.id.to_ascii_lowercase(),
                raw.tenant.display_name.clone().unwrap_or_else(|| raw.tenant.id.clone()),
                raw.source.clone().unwrap_or_else(|| "import".into()),
                label,
                env!("CARGO_PKG_VERSION"),
                completeness,
                warnings,
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut raw_rows =
                tx.prepare("INSERT INTO raw_facts (snapshot_id, side, collection, body) VALUES (?1, ?2, ?3, ?4)")?;
            raw_rows.execute(params![id, "meta", "file", raw.meta])?;
            // Nodes are written in id order; an edge names its ends by that position.
            let mut order: Vec<&Node> = derived.nodes.iter().collect();
            order.sort_by(|a, b| a.id.cmp(&b.id));
            // Derived nodes come in that order already, each id once, with each edge's ends as
            // positions: those are used where they name the edge's ids, and ids are looked up (in
            // a map built only then) where they do not.
            let positions_kept = derived.ends.len() == derived.edges.len()
                && order.iter().zip(&derived.nodes).all(|(a, b)| std::ptr::eq(*a, b))
                && order.windows(2).all(|w| w[0].id != w[1].id);
            let position = std::cell::OnceCell::new();
            let position = || -> &crate::model::FastMap<&str, usize> {
                position.get_or_init(|| order.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect())
            };
            // One text row per shared detail (edges made the same way hold the same `Arc`), numbered
            // in the order edges first name them.
            let mut text_ids: FastMap<*const Detail, u32> = FastMap::default();
            let mut distinct: Vec<&Detail> = Vec::new();
            let edge_texts: Vec<u32> = derived
                .edges
                .iter()
                .map(|e| {
                    *text_ids.entry(Arc::as_ptr(&e.detail)).or_insert_with(|| {
                        distinct.push(&e.detail);
                        (distinct.len() - 1) as u32
                    })
                })
                .collect();
            drop(text_ids);
            // While the ends are checked, the other cores encode the graph blobs (when the derived
            // positions are the ends: always, for a snapshot `rules::derive` made) and render and
            // compress the texts.
            std::thread::scope(|scope| -> Result<()> {
                let order = &order;
                let early = (positions_kept && !rows_only)
                    .then(|| scope.spawn(|| graph_blob::encode(order, &derived.edges, &derived.ends)));
                let packed = scope.spawn(|| {
                    edge_text::pack(&distinct, |d| edge_text::PlainText {
                        reason: reason_text(&d.reason),
                        evidence: evidence_text(&d.evidence),
                    })
                });
                // Each edge's ends as node positions: the derived ones where they name the edge's
                // nodes, else looked up. Only kept once one differs from the derived positions the
                // early blobs were encoded from (never, for a snapshot `rules::derive` made).
                let mut ends_derived = early.is_some();
                let mut ends = Vec::with_capacity(if ends_derived { 0 } else { derived.edges.len() });
                for (ix, e) in derived.edges.iter().enumerate() {
                    let kept = if positions_kept { Some(derived.ends[ix]) } else { None };
                    let end = |n: &str, at: Option<u32>| {
                        if let Some(at) = at
                            && order.get(at as usize).is_some_and(|node| node.id == n)
                        {
                            return Ok(at);
                        }
                        position().get(n).map(|&at| at as u32).ok_or_else(|| {
                            StoreError::Corrupt(format!("edge {} -> {}: no node {n}", e.source, e.target))
                        })
                    };
                    let found = (end(&e.source, kept.map(|k| k.0))?, end(&e.target, kept.map(|k| k.1))?);
                    if ends_derived && derived.ends[ix] != found {
                        ends_derived = false;
                        ends.extend_from_slice(&derived.ends[..ix]);
                    }
                    if !ends_derived {
                        ends.push(found);
                    }
                }
                let mut alternatives =
                    tx.prepare("INSERT INTO edge_alternatives (snapshot_id, ix, alternatives) VALUES (?1, ?2, ?3)")?;
                for (ix, e) in derived.edges.iter().enumerate() {
                    if !e.alternatives.is_empty() {
                        alternatives.execute(params![id, ix as i64, alternatives_text(&e.alternatives)])?;
                    }
                }
                let packed = packed.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                tx.execute(
                    "INSERT INTO edge_text_dictionaries (snapshot_id, dictionary) VALUES (?1, ?2)",
                    params![id, packed.dictionary],
                )?;
                let mut texts =
                    tx.prepare("INSERT INTO packed_edge_texts (snapshot_id, id, body) VALUES (?1, ?2, ?3)")?;
                for (text_id, body) in packed.bodies().enumerate() {
                    texts.execute(params![id, text_id as i64, body])?;
                }
                let early = early.map(|encoding| encoding.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
                let ends = if ends_derived { &derived.ends } else { &ends };
                let blobs = match early {
                    Some(blobs) if ends_derived => blobs,
                    _ if rows_only => None,
                    _ => graph_blob::encode(order, &derived.edges, ends),
                };
                if let Some(b) = blobs {
                    // The parts hold all a load reads, and `edge_text_ids` each edge's text id: no
                    // row per node or edge (schema v8).
                    let mut parts =
                        tx.prepare("INSERT INTO graph_parts (snapshot_id, part, body) VALUES (?1, ?2, zeroblob(?3))")?;
                    for (part, body) in b.parts() {
                        parts.execute(params![id, part, body.len() as i64])?;
                        write_blob(&tx, c"graph_parts", body)?;
                    }
                    let mut chunks =
                        tx.prepare("INSERT INTO edge_text_ids (snapshot_id, first, body) VALUES (?1, ?2, ?3)")?;
                    let mut body = Vec::with_capacity(EDGE_TEXT_CHUNK * 4);
                    for (i, ids) in edge_texts.chunks(EDGE_TEXT_CHUNK).enumerate() {
                        body.clear();
                        body.extend(ids.iter().flat_map(|t| t.to_le_bytes()));
                        chunks.execute(params![id, (i * EDGE_TEXT_CHUNK) as i64, body])?;
                    }
                    return Ok(());
                }
                // Too large for the blob format: a row per node and per edge, which loads read.
                let mut ins = tx.prepare(
                    "INSERT INTO nodes (snapshot_id, ix, id, kind, name, props) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for (ix, n) in order.iter().enumerate() {
                    let props = serde_json::to_string(&n.props).expect("serialisable");
                    ins.execute(params![id, ix as i64, n.id, n.kind.as_str(), n.name, props])?;
                }
                let mut ins = tx.prepare(
                    "INSERT INTO edges (snapshot_id, ix, src, dst, kind, rule, requires_activation, conditional, cost, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for (ix, (e, &(src, dst))) in derived.edges.iter().zip(ends).enumerate() {
                    ins.execute(params![
                        id,
                        ix as i64,
                        src as i64,
                        dst as i64,
                        e.kind.as_str(),
                        e.rule,
                        e.requires_activation,
                        e.conditional,
                        e.cost,
                        edge_texts[ix]
                    ])?;
                }
                Ok(())
            })?;
            tx.execute(
                "INSERT INTO fact_digests (snapshot_id, version, digest) VALUES (?1, ?2, ?3)",
                params![id, index::FACT_INDEX_VERSION, index.digest],
            )?;
            let mut raw_bodies = tx.prepare(
                "INSERT INTO raw_facts (snapshot_id, side, collection, body) VALUES (?1, ?2, ?3, zeroblob(?4))",
            )?;
            for (side, name, body) in &raw.bodies {
                raw_bodies.execute(params![id, side, name, body.len() as i64])?;
                write_blob(&tx, c"raw_facts", body)?;
            }
            let mut chunks = tx.prepare("INSERT INTO fact_chunks (snapshot_id, first, body) VALUES (?1, ?2, ?3)")?;
            for (first, body) in &index.chunks {
                chunks.execute(params![id, first, body])?;
            }
        }
        tx.execute(
            "UPDATE snapshots SET node_count = ?2, edge_count = ?3 WHERE id = ?1",
            params![id, derived.nodes.len() as i64, derived.edges.len() as i64],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// All snapshots, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, imported_at, collected_at, tenant_id, tenant_name, source, label, azpath_version, completeness, warnings,
                    node_count, edge_count
             FROM snapshots s ORDER BY s.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, i64>(10)?,
                r.get::<_, i64>(11)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                imported_at,
                collected_at,
                tenant_id,
                tenant_name,
                source,
                label,
                azpath_version,
                c,
                w,
                nodes,
                edges,
            ) = row?;
            out.push(SnapshotInfo {
                id,
                imported_at,
                collected_at,
                tenant_id,
                tenant_name,
                source,
                label,
                azpath_version,
                completeness: serde_json::from_str(&c)
                    .map_err(|e| StoreError::Corrupt(format!("snapshot {id} completeness: {e}")))?,
                warnings: serde_json::from_str(&w)
                    .map_err(|e| StoreError::Corrupt(format!("snapshot {id} warnings: {e}")))?,
                nodes,
                edges,
            });
        }
        Ok(out)
    }

    /// Resolves a snapshot reference: a number, a label, `latest`, or `previous`.
    pub fn resolve(&self, reference: &str) -> Result<SnapshotInfo> {
        let all = self.snapshots()?;
        let found = match reference {
            "latest" => all.last(),
            "previous" => all.len().checked_sub(2).and_then(|i| all.get(i)),
            r => match r.parse::<i64>() {
                Ok(n) => all.iter().find(|s| s.id == n),
                Err(_) => all.iter().rev().find(|s| s.label.as_deref() == Some(r)),
            },
        };
        found.cloned().ok_or_else(|| StoreError::NoSnapshot(reference.into()))
    }

    /// The derived nodes and edges of a snapshot, complete with reasons and evidence.
    pub fn load_graph(&self, snapshot: i64) -> Result<(Vec<Node>, Vec<Edge>)> {
        let (nodes, columns) = self.load_structure(snapshot)?;
        let all: Vec<usize> = (0..columns.len()).collect();
        let ids: Vec<Arc<str>> = nodes.iter().map(|n| Arc::from(n.id)).collect();
        let edges = all
            .iter()
            .zip(self.load_edge_details(snapshot, &all)?)
            .map(|(&e, d)| Edge {
                requires_activation: columns.requires_activation[e],
                conditional: columns.conditional[e],
                cost: columns.cost[e],
                detail: d.detail,
                alternatives: d.alternatives.into(),
                ..Edge::bare(
                    ids[columns.source[e] as usize].clone(),
                    ids[columns.target[e] as usize].clone(),
                    columns.kind[e],
                    columns.rules[columns.rule[e] as usize].clone(),
                )
            })
            .collect();
        Ok((nodes.to_nodes(), edges))
    }

    /// Nodes and edges without the edges' reasons and evidence (empty): what path search needs,
    /// read fast. [`load_edge_details`](Self::load_edge_details) fills in the edges shown to a user.
    /// Also each edge's ends as positions in the node list. Read from the snapshot's graph blobs;
    /// from its rows when it has none (written before schema v4, or too large for the format).
    pub fn load_structure(&self, snapshot: i64) -> Result<Structure> {
        if let Some(found) = self.load_structure_from_blobs(snapshot)? {
            return Ok(found);
        }
        let rows = self.load_structure_from_rows(snapshot)?;
        // A snapshot written since schema v8 has no rows: its parts are all there is.
        let stored: Option<i64> = self
            .conn
            .query_row("SELECT node_count FROM snapshots WHERE id = ?1", [snapshot], |r| r.get(0))
            .optional()?
            .flatten();
        if rows.0.is_empty() && stored.is_some_and(|n| n > 0) {
            return Err(StoreError::Corrupt(format!(
                "snapshot {snapshot} has neither graph parts this build reads nor rows"
            )));
        }
        Ok(rows)
    }

    /// The structure decoded from the snapshot's graph blobs; `None` when it has none (or they are
    /// of a format version this build does not read). The node blobs are read and decoded on a
    /// second connection while this one reads the edge blobs: at 10M edges, 270 MB and 170 MB.
    pub fn load_structure_from_blobs(&self, snapshot: i64) -> Result<Option<Structure>> {
        let parts: i64 =
            self.conn.query_row("SELECT count(*) FROM graph_parts WHERE snapshot_id = ?1", [snapshot], |r| r.get(0))?;
        if parts == 0 {
            return self.load_structure_from_blob_row(snapshot);
        }
        // A second connection that cannot be opened only costs the parallel read.
        let beside = self.file.as_ref().and_then(|file| {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(file, flags).ok()?;
            conn.busy_timeout(std::time::Duration::from_secs(10)).ok()?;
            Some(conn)
        });
        let (nodes, edges) = std::thread::scope(|scope| {
            let nodes = beside.map(|conn| scope.spawn(move || read_node_parts(&conn, snapshot)));
            let edges = read_edge_parts(&self.conn, snapshot);
            let nodes = match nodes.map(|thread| thread.join().unwrap_or_else(|p| std::panic::resume_unwind(p))) {
                // The second connection failed where this one may not (a read-only open of a
                // database whose WAL it cannot map): read them here.
                None | Some(Err(StoreError::Sql(_))) => read_node_parts(&self.conn, snapshot),
                Some(read) => read,
            };
            (nodes, edges)
        });
        let (Some(nodes), Some(edges)) = (nodes?, edges?) else { return Ok(None) };
        graph_blob::join(snapshot, nodes, edges).map(Some)
    }

    /// The structure from a snapshot's `graph_blobs` row (written by schema v4 to v6).
    fn load_structure_from_blob_row(&self, snapshot: i64) -> Result<Option<Structure>> {
        let mut stmt = self.conn.prepare(
            "SELECT nodes, node_kinds, edge_ends, edge_costs, edge_kinds, edge_rules, edge_flags
             FROM graph_blobs WHERE snapshot_id = ?1",
        )?;
        let mut rows = stmt.query([snapshot])?;
        let Some(r) = rows.next()? else { return Ok(None) };
        let blob = |i: usize| -> Result<&[u8]> {
            r.get_ref(i)?.as_blob().map_err(|e| StoreError::Corrupt(format!("graph blobs of snapshot {snapshot}: {e}")))
        };
        let stored = graph_blob::StoredBlobs {
            nodes: blob(0)?,
            node_kinds: blob(1)?,
            edge_ends: blob(2)?,
            edge_costs: blob(3)?,
            edge_kinds: blob(4)?,
            edge_rules: blob(5)?,
            edge_flags: blob(6)?,
        };
        graph_blob::decode(snapshot, &stored)
    }

    /// The structure read row by row from the `nodes` and `edges` tables: snapshots without graph
    /// blobs, and a reference the blobs are checked against.
    pub fn load_structure_from_rows(&self, snapshot: i64) -> Result<Structure> {
        let mut stmt =
            self.conn.prepare("SELECT id, kind, name, props FROM nodes WHERE snapshot_id = ?1 ORDER BY ix")?;
        let mut nodes = Vec::new();
        let mut rows = stmt.query([snapshot])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let kind_text = r.get_ref(1)?.as_str().map_err(|e| StoreError::Corrupt(format!("node {id}: {e}")))?;
            let kind = NodeKind::parse(kind_text)
                .ok_or_else(|| StoreError::Corrupt(format!("node {id}: unknown kind {kind_text}")))?;
            let props_text = r.get_ref(3)?.as_str().map_err(|e| StoreError::Corrupt(format!("node {id}: {e}")))?;
            let props = if props_text == "{}" {
                Default::default()
            } else {
                serde_json::from_str(props_text).map_err(|e| StoreError::Corrupt(format!("node {id}: {e}")))?
            };
            nodes.push(Node { id, kind, name: r.get(2)?, props });
        }
        let mut stmt = self.conn.prepare(
            "SELECT src, dst, kind, rule, requires_activation, conditional, cost FROM edges WHERE snapshot_id = ?1 ORDER BY ix",
        )?;
        let mut edges = crate::graph::EdgeColumns::default();
        let mut rows = stmt.query([snapshot])?;
        // Rules are numbered in order of first appearance, as the graph blobs number them.
        let mut rule_codes: HashMap<String, u16> = HashMap::new();
        while let Some(r) = rows.next()? {
            let (src, dst) = (r.get::<_, i64>(0)?, r.get::<_, i64>(1)?);
            let end = |n: i64| u32::try_from(n).ok().filter(|&n| (n as usize) < nodes.len());
            let (Some(source), Some(target)) = (end(src), end(dst)) else {
                return Err(StoreError::Corrupt(format!("edge {src} -> {dst} names a missing node")));
            };
            let kind_text = r.get_ref(2)?.as_str().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let kind = EdgeKind::parse(kind_text)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown edge kind {kind_text}")))?;
            let rule_text = r.get_ref(3)?.as_str().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let rule = match rule_codes.get(rule_text) {
                Some(&code) => code,
                None => {
                    let code = u16::try_from(edges.rules.len())
                        .map_err(|_| StoreError::Corrupt("over 65,535 distinct rules".into()))?;
                    edges.rules.push(Arc::from(rule_text));
                    rule_codes.insert(rule_text.to_string(), code);
                    code
                }
            };
            edges.source.push(source);
            edges.target.push(target);
            edges.kind.push(kind);
            edges.rule.push(rule);
            edges.requires_activation.push(r.get(4)?);
            edges.conditional.push(r.get(5)?);
            edges.cost.push(r.get(6)?);
        }
        Ok((crate::graph::NodeTable::from_nodes(&nodes), edges))
    }

    /// The reason and evidence of the given edges (positions in the snapshot's edge list), in order.
    pub fn load_edge_details(&self, snapshot: i64, edges: &[usize]) -> Result<Vec<EdgeDetails>> {
        // Many edges: one pass over each table beats a lookup each.
        self.edge_details(snapshot, edges, edges.len() > 200_000)
    }

    fn edge_details(&self, snapshot: i64, edges: &[usize], many: bool) -> Result<Vec<EdgeDetails>> {
        // One read transaction for all the lookups below, not one per statement (each of which
        // would take and release the database's read lock).
        let _read = if self.conn.is_autocommit() { Some(self.conn.unchecked_transaction()?) } else { None };
        let text_ids = self.detail_ids(snapshot, edges, many)?;
        let mut texts: HashMap<i64, Arc<Detail>> = HashMap::new();
        let mut alternatives: HashMap<usize, String> = HashMap::new();
        // Texts are packed since schema v6 (a dictionary row says so), plain `edge_texts` before.
        let dictionary: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT dictionary FROM edge_text_dictionaries WHERE snapshot_id = ?1", [snapshot], |r| r.get(0))
            .optional()?;
        let mut unpacker = dictionary.map(|d| edge_text::Unpacker::new(snapshot, &d)).transpose()?;
        let (all_texts, one_text) = if unpacker.is_some() {
            (
                "SELECT body, id FROM packed_edge_texts WHERE snapshot_id = ?1",
                "SELECT body FROM packed_edge_texts WHERE snapshot_id = ?1 AND id = ?2",
            )
        } else {
            (
                "SELECT reason, evidence, id FROM edge_texts WHERE snapshot_id = ?1",
                "SELECT reason, evidence FROM edge_texts WHERE snapshot_id = ?1 AND id = ?2",
            )
        };
        let mut read_text = |id: i64, r: &rusqlite::Row| -> Result<Detail> {
            let (reason, evidence) = match &mut unpacker {
                Some(unpacker) => {
                    let t = unpacker.unpack(id, r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?)?;
                    (t.reason, t.evidence)
                }
                None => (r.get(0)?, r.get(1)?),
            };
            parse_text(id, &reason, &evidence)
        };
        if many {
            let mut stmt = self.conn.prepare(all_texts)?;
            let last = stmt.column_count() - 1;
            let mut rows = stmt.query([snapshot])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(last)?;
                texts.insert(id, Arc::new(read_text(id, r)?));
            }
            let mut stmt =
                self.conn.prepare("SELECT ix, alternatives FROM edge_alternatives WHERE snapshot_id = ?1")?;
            let mut rows = stmt.query([snapshot])?;
            while let Some(r) = rows.next()? {
                alternatives.insert(r.get::<_, i64>(0)? as usize, r.get(1)?);
            }
        }
        let mut text_stmt = self.conn.prepare_cached(one_text)?;
        let mut alt_stmt = self
            .conn
            .prepare_cached("SELECT alternatives FROM edge_alternatives WHERE snapshot_id = ?1 AND ix = ?2")?;
        let mut old = Vec::new();
        let mut out: Vec<Option<EdgeDetails>> = vec![None; edges.len()];
        for (i, (&ix, text_id)) in edges.iter().zip(text_ids).enumerate() {
            let Some(text_id) = text_id else {
                old.push(i);
                continue;
            };
            let detail = match texts.get(&text_id) {
                Some(d) => d.clone(),
                None if many => return Err(StoreError::Corrupt(format!("edge {ix} names missing text {text_id}"))),
                None => {
                    let mut rows = text_stmt.query(params![snapshot, text_id])?;
                    let row = rows
                        .next()?
                        .ok_or_else(|| StoreError::Corrupt(format!("edge {ix} names missing text {text_id}")))?;
                    let detail = Arc::new(read_text(text_id, row)?);
                    texts.entry(text_id).or_insert(detail).clone()
                }
            };
            let alternatives = match if many {
                alternatives.remove(&ix)
            } else {
                alt_stmt.query_row(params![snapshot, ix as i64], |r| r.get::<_, String>(0)).optional()?
            } {
                Some(text) => parse_alternatives(ix, &text)?,
                None => Vec::new(),
            };
            out[i] = Some(EdgeDetails { detail, alternatives });
        }
        if !old.is_empty() {
            let wanted: Vec<usize> = old.iter().map(|&i| edges[i]).collect();
            for (i, d) in old.into_iter().zip(self.load_old_edge_details(snapshot, &wanted)?) {
                out[i] = Some(d);
            }
        }
        Ok(out.into_iter().map(|d| d.expect("every edge was read")).collect())
    }

    /// Each edge's `edge_texts` id; `None` for an edge of a snapshot written before schema v5.
    fn detail_ids(&self, snapshot: i64, edges: &[usize], many: bool) -> Result<Vec<Option<i64>>> {
        let missing = |ix: usize| StoreError::Corrupt(format!("snapshot {snapshot} has no edge {ix}"));
        if let Some(ids) = self.chunked_detail_ids(snapshot, edges, many)? {
            return Ok(ids);
        }
        if many {
            // By position: edge positions run from 0, and a large tenant has ten million of them.
            let mut all: Vec<Option<Option<i64>>> = Vec::new();
            let mut stmt = self.conn.prepare("SELECT ix, detail FROM edges WHERE snapshot_id = ?1")?;
            let mut rows = stmt.query([snapshot])?;
            while let Some(r) = rows.next()? {
                let at: i64 = r.get(0)?;
                let ix = usize::try_from(at)
                    .map_err(|_| StoreError::Corrupt(format!("snapshot {snapshot} has an edge at position {at}")))?;
                if ix >= all.len() {
                    all.resize(ix + 1, None);
                }
                all[ix] = Some(r.get(1)?);
            }
            return edges.iter().map(|&ix| all.get(ix).copied().flatten().ok_or_else(|| missing(ix))).collect();
        }
        let mut stmt = self.conn.prepare_cached("SELECT detail FROM edges WHERE snapshot_id = ?1 AND ix = ?2")?;
        edges
            .iter()
            .map(|&ix| {
                stmt.query_row(params![snapshot, ix as i64], |r| r.get(0)).optional()?.ok_or_else(|| missing(ix))
            })
            .collect()
    }

    /// Each edge's text id from `edge_text_ids` (since schema v8), each chunk read and checked
    /// once; `None` for a snapshot that keeps them in its edge rows.
    fn chunked_detail_ids(&self, snapshot: i64, edges: &[usize], many: bool) -> Result<Option<Vec<Option<i64>>>> {
        let chunked: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM edge_text_ids WHERE snapshot_id = ?1)")?
            .query_row([snapshot], |r| r.get(0))?;
        if !chunked {
            return Ok(None);
        }
        let missing = |ix: usize| StoreError::Corrupt(format!("snapshot {snapshot} has no edge {ix}"));
        let decode = |first: usize, body: Vec<u8>| -> Result<Vec<u32>> {
            if !body.len().is_multiple_of(4) || body.len() > EDGE_TEXT_CHUNK * 4 {
                return Err(StoreError::Corrupt(format!(
                    "edge text ids of snapshot {snapshot} from edge {first}: {} bytes",
                    body.len()
                )));
            }
            Ok(body.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        let mut chunks: HashMap<usize, Vec<u32>> = HashMap::new();
        if many {
            let mut stmt = self.conn.prepare("SELECT first, body FROM edge_text_ids WHERE snapshot_id = ?1")?;
            let mut rows = stmt.query([snapshot])?;
            while let Some(r) = rows.next()? {
                let first = r.get::<_, i64>(0)? as usize;
                chunks.insert(first, decode(first, r.get(1)?)?);
            }
        }
        let mut one =
            self.conn.prepare_cached("SELECT body FROM edge_text_ids WHERE snapshot_id = ?1 AND first = ?2")?;
        let mut ids = Vec::with_capacity(edges.len());
        for &ix in edges {
            let first = ix - ix % EDGE_TEXT_CHUNK;
            let chunk = match chunks.entry(first) {
                std::collections::hash_map::Entry::Occupied(chunk) => chunk.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let body: Option<Vec<u8>> =
                        one.query_row(params![snapshot, first as i64], |r| r.get(0)).optional()?;
                    slot.insert(decode(first, body.ok_or_else(|| missing(ix))?)?)
                }
            };
            let id = chunk.get(ix - first).ok_or_else(|| missing(ix))?;
            ids.push(Some(i64::from(*id)));
        }
        Ok(Some(ids))
    }

    /// The details of edges stored before schema v5: a row of text per edge in `edge_details`.
    fn load_old_edge_details(&self, snapshot: i64, edges: &[usize]) -> Result<Vec<EdgeDetails>> {
        let mut out = Vec::with_capacity(edges.len());
        if edges.len() > 200_000 {
            let mut stmt = self
                .conn
                .prepare("SELECT ix, reason, evidence FROM edge_details WHERE snapshot_id = ?1 ORDER BY ix")?;
            let mut all: HashMap<usize, (String, String)> = HashMap::new();
            let wanted: std::collections::HashSet<usize> = edges.iter().copied().collect();
            let mut rows = stmt.query([snapshot])?;
            while let Some(r) = rows.next()? {
                let ix = r.get::<_, i64>(0)? as usize;
                if wanted.contains(&ix) {
                    all.insert(ix, (r.get(1)?, r.get(2)?));
                }
            }
            for ix in edges {
                let (reason, evidence) =
                    all.remove(ix).ok_or_else(|| StoreError::Corrupt(format!("edge {ix} has no details")))?;
                out.push(parse_details(*ix, reason, &evidence)?);
            }
        } else {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT reason, evidence FROM edge_details WHERE snapshot_id = ?1 AND ix = ?2")?;
            // In index order: neighbouring lookups then share B-tree pages.
            let mut order: Vec<usize> = (0..edges.len()).collect();
            order.sort_unstable_by_key(|&i| edges[i]);
            let mut found = vec![None; edges.len()];
            for i in order {
                let ix = edges[i];
                let (reason, evidence): (String, String) = stmt
                    .query_row(params![snapshot, ix as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                    .ok_or_else(|| StoreError::Corrupt(format!("edge {ix} has no details")))?;
                found[i] = Some(parse_details(ix, reason, &evidence)?);
            }
            out.extend(found.into_iter().map(|f| f.expect("every position was looked up")));
        }
        Ok(out)
    }

    /// A snapshot's fact digest, if it has one of the current [`FACT_INDEX_VERSION`] (snapshots
    /// imported by older versions have none; a diff then reads their raw facts).
    ///
    /// [`FACT_INDEX_VERSION`]: index::FACT_INDEX_VERSION
    pub fn fact_digest(&self, snapshot: i64) -> Result<Option<index::FactDigest>> {
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row("SELECT version, digest FROM fact_digests WHERE snapshot_id = ?1", [snapshot], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((version, blob)) = row else { return Ok(None) };
        if version != index::FACT_INDEX_VERSION {
            return Ok(None);
        }
        if blob.len() % 24 != 0 {
            return Err(StoreError::Corrupt(format!("fact digest of snapshot {snapshot} has {} bytes", blob.len())));
        }
        Ok(Some(
            blob.chunks_exact(24)
                .map(|c| {
                    let key = u128::from_le_bytes(c[..16].try_into().expect("16 bytes"));
                    (key, u64::from_le_bytes(c[16..].try_into().expect("8 bytes")))
                })
                .collect(),
        ))
    }

    /// The fact records of a snapshot with the given key hashes (from its digest), by key.
    pub fn fact_records(&self, snapshot: i64, keys: &[u128]) -> Result<HashMap<String, FactRecord>> {
        let chunked: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM fact_chunks WHERE snapshot_id = ?1)",
            [snapshot],
            |r| r.get(0),
        )?;
        if !chunked {
            return self.fact_rows(snapshot, keys);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT first, body FROM fact_chunks WHERE snapshot_id = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1",
        )?;
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let mut out = HashMap::with_capacity(keys.len());
        // Keys in order: consecutive keys mostly share a chunk, read once.
        let mut chunk: Option<(i64, Vec<FactRecord>)> = None;
        for k in sorted {
            let at = chunk_position(k);
            let (first, body): (i64, Vec<u8>) =
                stmt.query_row(params![snapshot, at], |r| Ok((r.get(0)?, r.get(1)?))).optional()?.ok_or_else(|| {
                    StoreError::Corrupt(format!("snapshot {snapshot}'s fact digest names a missing fact"))
                })?;
            if chunk.as_ref().is_none_or(|(f, _)| *f != first) {
                chunk = Some((first, unpack_facts(snapshot, &body)?));
            }
            // A chunk's records are in key hash order.
            let records = &chunk.as_ref().expect("read above").1;
            let at = records
                .binary_search_by_key(&k, |r| index::fact_key_hash(&r.key))
                .map_err(|_| StoreError::Corrupt(format!("snapshot {snapshot}'s fact digest names a missing fact")))?;
            out.insert(records[at].key.clone(), records[at].clone());
        }
        Ok(out)
    }

    /// [`fact_records`](Self::fact_records) of a snapshot written before schema v5: a row per fact.
    fn fact_rows(&self, snapshot: i64, keys: &[u128]) -> Result<HashMap<String, FactRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT category, key, text, detail FROM facts WHERE snapshot_id = ?1 AND key_hash = ?2")?;
        let mut out = HashMap::with_capacity(keys.len());
        for &k in keys {
            let mut found = false;
            let mut rows = stmt.query(params![snapshot, k as u64 as i64])?;
            while let Some(r) = rows.next()? {
                let key: String = r.get(1)?;
                if index::fact_key_hash(&key) != k {
                    continue;
                }
                let category_text: String = r.get(0)?;
                let category = index::FACT_CATEGORIES
                    .iter()
                    .copied()
                    .find(|c| *c == category_text)
                    .ok_or_else(|| StoreError::Corrupt(format!("fact {key}: unknown category {category_text}")))?;
                out.insert(key.clone(), FactRecord { category, key, text: r.get(2)?, detail: r.get(3)? });
                found = true;
            }
            if !found {
                return Err(StoreError::Corrupt(format!("snapshot {snapshot}'s fact digest names a missing fact")));
            }
        }
        Ok(out)
    }

    /// The raw facts a snapshot was built from, to re-derive it with the current rules: each
    /// collection as the compact text stored, parsed only by the facts parser, an object at a time.
    pub fn load_raw(&self, snapshot: i64) -> Result<CompactFacts> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Meta {
            format: String,
            tenant: crate::facts::TenantInfo,
            collected_at: String,
            #[serde(default)]
            source: Option<String>,
            #[serde(default)]
            completeness: Vec<crate::facts::CompletenessNote>,
        }
        let meta: Option<String> = self
            .conn
            .query_row("SELECT body FROM raw_facts WHERE snapshot_id = ?1 AND side = 'meta'", [snapshot], |r| r.get(0))
            .optional()?;
        let meta = meta.ok_or_else(|| StoreError::NoSnapshot(snapshot.to_string()))?;
        let meta: Meta = serde_json::from_str(&meta)
            .map_err(|e| StoreError::Corrupt(format!("raw facts of snapshot {snapshot}: {e}")))?;
        let mut raw = CompactFacts {
            format: meta.format,
            tenant: meta.tenant,
            collected_at: meta.collected_at,
            source: meta.source,
            graph: Default::default(),
            arm: Default::default(),
            completeness: meta.completeness,
            redacted: 0,
        };
        let mut stmt = self
            .conn
            .prepare("SELECT side, collection, body FROM raw_facts WHERE snapshot_id = ?1 AND side != 'meta'")?;
        let mut rows = stmt.query([snapshot])?;
        while let Some(r) = rows.next()? {
            let (side, collection): (String, String) = (r.get(0)?, r.get(1)?);
            let body = unpack_raw(snapshot, r.get_ref(2)?)?;
            let map = match side.as_str() {
                "graph" => &mut raw.graph,
                "arm" => &mut raw.arm,
                other => return Err(StoreError::Corrupt(format!("raw facts of snapshot {snapshot}: side {other:?}"))),
            };
            map.insert(collection, body);
        }
        Ok(raw)
    }
}

/// Writes `body` into the `body` column of the row just inserted into `table` (with
/// `zeroblob(len)` there), through SQLite's incremental blob I/O: a blob bound as a parameter is
/// copied by SQLite and then again into the row's record, which for the nodes part of a 500k-node
/// snapshot (91 MB) was the import's peak memory.
fn write_blob(tx: &rusqlite::Transaction, table: &std::ffi::CStr, body: &[u8]) -> Result<()> {
    let row = tx.last_insert_rowid();
    let mut blob = tx.blob_open(rusqlite::MAIN_DB, table, c"body", row, false)?;
    blob.write_at(body, 0)?;
    Ok(())
}

/// Records per fact chunk: a diff reads the chunk of each fact that changed, so small enough to
/// read one quickly, large enough to compress well and to keep the table a tenth of a row per fact.
const FACT_CHUNK: usize = 256;

/// A fact key hash's place among chunks: its high 64 bits, as an integer that sorts like them.
fn chunk_position(hash: u128) -> i64 {
    ((hash >> 64) as u64 ^ (1 << 63)) as i64
}

/// A snapshot's fact index as stored: the digest of every fact, and the records (ordered by key
/// hash, see `index::fact_list`) in compressed chunks, each keyed by its first record's
/// [`chunk_position`]; records that share a position share a chunk. Made as soon as the records
/// are, so they can be freed before the rules' edges are at their largest.
pub struct PackedIndex {
    digest: Vec<u8>,
    chunks: Vec<(i64, Vec<u8>)>,
}

impl PackedIndex {
    pub fn new(records: &[FactRecord]) -> PackedIndex {
        PackedIndex::of(&index::PackedRecords::from_records(records))
    }

    /// The index of records already packed ([`index::PackedRecords::of`] the facts).
    pub fn of(records: &index::PackedRecords) -> PackedIndex {
        let digest = records.digest();
        let mut blob = Vec::with_capacity(digest.len() * 24);
        for (k, d) in &digest {
            blob.extend_from_slice(&k.to_le_bytes());
            blob.extend_from_slice(&d.to_le_bytes());
        }
        drop(digest);
        // Chunk bounds first (cheap), then each half of the chunks packed and compressed on a
        // core of its own: compressing ten million records is seconds of work.
        let mut bounds = Vec::new();
        let mut start = 0;
        while start < records.len() {
            let mut end = (start + FACT_CHUNK).min(records.len());
            while end < records.len() && chunk_position(records.hash(end)) == chunk_position(records.hash(end - 1)) {
                end += 1;
            }
            bounds.push((start, end));
            start = end;
        }
        let pack = |bounds: &[(usize, usize)]| -> Vec<(i64, Vec<u8>)> {
            let mut compressor = zstd::bulk::Compressor::new(BULK_LEVEL).expect("zstd takes its own levels");
            let mut rows = Vec::new();
            bounds
                .iter()
                .map(|&(start, end)| {
                    rows.clear();
                    for i in start..end {
                        rows.extend_from_slice(records.packed(i));
                    }
                    (chunk_position(records.hash(start)), compress_exact(&mut compressor, &rows))
                })
                .collect()
        };
        let (front, back) = bounds.split_at(bounds.len() / 2);
        let chunks = std::thread::scope(|scope| {
            let back = scope.spawn(|| pack(back));
            let mut chunks = pack(front);
            chunks.extend(back.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            chunks
        });
        PackedIndex { digest: blob, chunks }
    }
}

/// zstd's level for what is written in bulk (the raw facts, the fact index): its fastest standard
/// level, which compresses these texts smaller than deflate's fastest, and faster (at 1M: 40 MB of
/// deflate streams became 28 MB).
const BULK_LEVEL: i32 = 1;

/// `bytes` as one zstd frame, in an allocation of its size (zstd's own result keeps room for the
/// worst case: as much as the input, for every chunk of a ten-million-fact index).
fn compress_exact(compressor: &mut zstd::bulk::Compressor, bytes: &[u8]) -> Vec<u8> {
    let mut frame = compressor.compress(bytes).expect("compressing to memory does not fail");
    frame.shrink_to_fit();
    frame
}

/// The most a stored blob may unpack to: a bound against a corrupt or hostile database.
const MAX_UNPACKED_BYTES: usize = 1 << 32;

/// zstd frames start with this (little-endian 0xFD2FB528); a raw deflate stream, as azpath wrote
/// before schema v6, never does (a stored block's length check would fail at its fourth byte).
fn is_zstd(body: &[u8]) -> bool {
    body.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

fn unzstd(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(body)
        .ok()
        .flatten()
        .ok_or_else(|| std::io::Error::other("a frame without its size"))?;
    let size = usize::try_from(size).ok().filter(|&s| s <= MAX_UNPACKED_BYTES);
    let size = size.ok_or_else(|| std::io::Error::other("a frame larger than azpath writes"))?;
    zstd::bulk::decompress(body, size)
}

/// A fact chunk's records: zstd-packed records since schema v6, deflated JSON rows before.
fn unpack_facts(snapshot: i64, body: &[u8]) -> Result<Vec<FactRecord>> {
    let corrupt = |e: String| StoreError::Corrupt(format!("fact index of snapshot {snapshot}: {e}"));
    let category_named = |category: &str, key: &str| {
        index::FACT_CATEGORIES
            .iter()
            .copied()
            .find(|c| *c == category)
            .ok_or_else(|| corrupt(format!("fact {key}: unknown category {category}")))
    };
    if !is_zstd(body) {
        let rows: Vec<[String; 4]> =
            serde_json::from_reader(flate2::read::DeflateDecoder::new(body)).map_err(|e| corrupt(e.to_string()))?;
        return rows
            .into_iter()
            .map(|[category, key, text, detail]| {
                Ok(FactRecord { category: category_named(&category, &key)?, key, text, detail })
            })
            .collect();
    }
    let bytes = unzstd(body).map_err(|e| corrupt(e.to_string()))?;
    let mut rest = &bytes[..];
    let field = |rest: &mut &[u8]| -> Result<String> {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt("a record cut short".into()))?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > tail.len() {
            return Err(corrupt("a record cut short".into()));
        }
        let (text, tail) = tail.split_at(len);
        *rest = tail;
        String::from_utf8(text.to_vec()).map_err(|e| corrupt(e.to_string()))
    };
    let mut out = Vec::new();
    while !rest.is_empty() {
        let category = field(&mut rest)?;
        let (key, text, detail) = (field(&mut rest)?, field(&mut rest)?, field(&mut rest)?);
        out.push(FactRecord { category: category_named(&category, &key)?, key, text, detail });
    }
    Ok(out)
}

/// A snapshot's raw facts as stored: each collection's text compressed, and what the snapshot row
/// says of the file. Made right after the facts are parsed, freeing each text as it is compressed.
pub struct PackedRaw {
    collected_at: String,
    tenant: crate::facts::TenantInfo,
    source: Option<String>,
    /// The facts file's header (format, tenant, collection time, source, completeness notes).
    meta: String,
    /// Its completeness notes with the collections it lacks added.
    completeness_with_missing: Vec<crate::model::CompletenessNote>,
    bodies: Vec<(&'static str, String, Vec<u8>)>,
}

impl PackedRaw {
    pub fn new(raw: CompactFacts) -> PackedRaw {
        let completeness_with_missing = raw.completeness_with_missing();
        let mut bodies = Vec::new();
        let mut header = raw;
        for (side, map) in [("graph", std::mem::take(&mut header.graph)), ("arm", std::mem::take(&mut header.arm))] {
            for (name, body) in map {
                bodies.push((side, name, pack_raw_body(&body)));
            }
        }
        PackedRaw::from_parts(header, completeness_with_missing, bodies)
    }

    /// A facts file whose collections were packed one at a time ([`pack_raw_body`], as
    /// `facts::parse_consuming` hands them on): its header, what it lacked before its collections
    /// were taken out, and the collections as (side, name, body) in any order.
    pub fn from_parts(
        header: CompactFacts,
        completeness_with_missing: Vec<crate::model::CompletenessNote>,
        mut bodies: Vec<(&'static str, String, Vec<u8>)>,
    ) -> PackedRaw {
        // As a facts file lists them: Graph's collections, then ARM's, each by name.
        bodies.sort_unstable_by(|a, b| (a.0 != "graph", &a.1).cmp(&(b.0 != "graph", &b.1)));
        let meta = serde_json::json!({"format": header.format, "tenant": header.tenant, "collectedAt": header.collected_at,
            "source": header.source, "completeness": header.completeness});
        PackedRaw {
            collected_at: header.collected_at,
            tenant: header.tenant,
            source: header.source,
            meta: meta.to_string(),
            completeness_with_missing,
            bodies,
        }
    }
}

/// One collection of a facts file as [`PackedRaw`] stores it.
pub fn pack_raw_body(text: &str) -> Vec<u8> {
    let mut compressor = zstd::bulk::Compressor::new(BULK_LEVEL).expect("zstd takes its own levels");
    compress_exact(&mut compressor, text.as_bytes())
}

/// A raw facts body as stored: a zstd frame since schema v6, deflated before that, and text
/// before schema v5.
fn unpack_raw(snapshot: i64, value: rusqlite::types::ValueRef) -> Result<String> {
    use std::io::Read as _;
    let corrupt = |e: String| StoreError::Corrupt(format!("raw facts of snapshot {snapshot}: {e}"));
    match value {
        rusqlite::types::ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(|e| corrupt(e.to_string())),
        rusqlite::types::ValueRef::Blob(b) if is_zstd(b) => {
            String::from_utf8(unzstd(b).map_err(|e| corrupt(e.to_string()))?).map_err(|e| corrupt(e.to_string()))
        }
        rusqlite::types::ValueRef::Blob(b) => {
            let mut text = String::new();
            flate2::read::DeflateDecoder::new(b).read_to_string(&mut text).map_err(|e| corrupt(e.to_string()))?;
            Ok(text)
        }
        other => Err(corrupt(format!("a body of type {:?}", other.data_type()))),
    }
}

/// An edge's reason and evidence, and the evidence of the other derivations merged into it
/// ([`Edge::alternatives`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeDetails {
    pub detail: Arc<Detail>,
    pub alternatives: Vec<Vec<Evidence>>,
}

/// The evidence column of `edge_details` (before schema v5): a list of evidence, or, for an edge
/// with alternatives, `{"evidence": [...], "alternatives": [[...], ...]}`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StoredDetails {
    Plain(Vec<StoredEvidence>),
    Merged { evidence: Vec<StoredEvidence>, alternatives: Vec<Vec<StoredEvidence>> },
}

fn parse_details(ix: usize, reason: String, text: &str) -> Result<EdgeDetails> {
    let corrupt = |e: String| StoreError::Corrupt(format!("edge {ix} evidence: {e}"));
    let typed = |list: Vec<StoredEvidence>| -> Result<Vec<EvidenceText>> {
        list.into_iter().map(|e| e.into_evidence().map_err(corrupt)).collect()
    };
    let (evidence, alternatives) = match serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))? {
        StoredDetails::Plain(list) => (typed(list)?, Vec::new()),
        StoredDetails::Merged { evidence, alternatives } => {
            (typed(evidence)?, alternatives.into_iter().map(|a| Ok(literal(typed(a)?))).collect::<Result<_>>()?)
        }
    };
    Ok(EdgeDetails { detail: Arc::new(Detail { reason: Text::literal(reason), evidence }), alternatives })
}

/// A row of `edge_texts`: the reason (a [`Text`] as JSON) and the evidence.
fn parse_text(id: i64, reason: &str, evidence: &str) -> Result<Detail> {
    let corrupt = |e: String| StoreError::Corrupt(format!("edge text {id}: {e}"));
    let reason: Text = serde_json::from_str(reason).map_err(|e| corrupt(e.to_string()))?;
    let list: Vec<StoredEvidence> = serde_json::from_str(evidence).map_err(|e| corrupt(e.to_string()))?;
    let evidence = list.into_iter().map(|e| e.into_evidence().map_err(corrupt)).collect::<Result<_>>()?;
    Ok(Detail { reason, evidence })
}

fn parse_alternatives(ix: usize, text: &str) -> Result<Vec<Vec<Evidence>>> {
    let corrupt = |e: String| StoreError::Corrupt(format!("edge {ix} alternatives: {e}"));
    let lists: Vec<Vec<StoredEvidence>> = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    lists
        .into_iter()
        .map(|list| Ok(literal(list.into_iter().map(|e| e.into_evidence().map_err(corrupt)).collect::<Result<_>>()?)))
        .collect()
}

/// Evidence that names no edge end (alternatives are stored rendered).
fn literal(list: Vec<EvidenceText>) -> Vec<Evidence> {
    list.iter().map(|e| e.render("", "")).collect()
}

fn reason_text(reason: &Text) -> String {
    serde_json::to_string(reason).expect("serialisable")
}

/// Evidence as stored: typed, without the fact keys its kind and value imply (an assignment's
/// evidence names its own fact), which are restored on reading.
fn evidence_text(evidence: &[EvidenceText]) -> String {
    let stored: Vec<EvidenceText> = evidence
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let (Some(FactText::Ref(fact)), [crate::model::Piece::Text(value)]) = (&e.fact, e.value.pieces())
                && index::implied_fact_key(e.kind, value).map(|k| FactRef::of(&k)) == Some(*fact)
            {
                e.fact = None;
            }
            e
        })
        .collect();
    serde_json::to_string(&stored).expect("serialisable")
}

fn alternatives_text(alternatives: &[Vec<Evidence>]) -> String {
    let lists: Vec<String> = alternatives
        .iter()
        .map(|a| evidence_text(&a.iter().cloned().map(EvidenceText::from).collect::<Vec<_>>()))
        .collect();
    format!("[{}]", lists.join(","))
}

/// Evidence as read back: typed (`kind`, with the fact's key), or `label`/`value` text as azpath wrote
/// it before evidence was typed.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StoredEvidence {
    Typed(EvidenceText),
    Legacy { label: String, value: String },
}

impl StoredEvidence {
    fn into_evidence(self) -> std::result::Result<EvidenceText, String> {
        use crate::model::EvidenceKind as K;
        let (label, value) = match self {
            StoredEvidence::Typed(mut e) => {
                if let (None, [crate::model::Piece::Text(value)]) = (&e.fact, e.value.pieces()) {
                    e.fact = index::implied_fact_key(e.kind, value).map(|k| FactText::Ref(FactRef::of(&k)));
                }
                return Ok(e);
            }
            StoredEvidence::Legacy { label, value } => (label, value),
        };
        let kind = K::from_label(&label).ok_or_else(|| format!("unknown evidence label {label:?}"))?;
        let mut ev = Evidence::new(kind, value);
        if matches!(kind, K::Role | K::DirectoryRole | K::GraphPermission) {
            // Written as "Name (id)" by `Evidence::named`.
            ev.name = ev.value.rsplit_once(" (").filter(|_| ev.value.ends_with(')')).map(|(n, _)| n.to_string());
        }
        ev.fact = index::implied_fact_key(kind, &ev.value).map(|k| FactRef::of(&k));
        Ok(ev.into())
    }
}

/// The application id in a SQLite file's header (big-endian at byte 68), read without SQLite.
fn header_application_id(path: &Path) -> Option<i32> {
    use std::io::Read as _;
    let mut header = [0u8; 72];
    std::fs::File::open(path).ok()?.read_exact(&mut header).ok()?;
    header
        .starts_with(b"SQLite format 3\0")
        .then(|| i32::from_be_bytes([header[68], header[69], header[70], header[71]]))
}

/// How many edges' text ids one `edge_text_ids` row holds (16 KiB: a few pages).
const EDGE_TEXT_CHUNK: usize = 4096;

/// One `graph_parts` body, read a piece at a time (SQLite's incremental blob I/O) straight into the
/// arrays decoded from it: read as a column value, SQLite would first copy the whole blob into a
/// buffer of its own (440 MB at 10M edges, all of it fresh pages to fault in).
struct PartBlob<'conn>(rusqlite::blob::Blob<'conn>);

impl graph_blob::Source for PartBlob<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn read_at(&mut self, at: usize, out: &mut [u8]) -> std::io::Result<()> {
        self.0.read_at_exact(out, at).map_err(std::io::Error::other)
    }
}

/// Opens `parts` of a snapshot's `graph_parts`, in the order asked.
fn open_parts<const N: usize>(
    conn: &Connection,
    snapshot: i64,
    parts: [graph_blob::Column; N],
) -> Result<[PartBlob<'_>; N]> {
    let mut rowid = conn.prepare_cached("SELECT rowid FROM graph_parts WHERE snapshot_id = ?1 AND part = ?2")?;
    let mut blobs = Vec::with_capacity(N);
    for part in parts {
        let row: i64 = rowid.query_row(params![snapshot, part as i64], |r| r.get(0)).optional()?.ok_or_else(|| {
            StoreError::Corrupt(format!("graph blob {} of snapshot {snapshot}: missing", part.name()))
        })?;
        blobs.push(PartBlob(conn.blob_open(rusqlite::MAIN_DB, c"graph_parts", c"body", row, true)?));
    }
    let Ok(blobs) = <[PartBlob<'_>; N]>::try_from(blobs) else { unreachable!("one blob per part") };
    Ok(blobs)
}

/// The node blobs of a snapshot's `graph_parts`, decoded.
fn read_node_parts(conn: &Connection, snapshot: i64) -> Result<Option<graph_blob::Decoded<crate::graph::NodeTable>>> {
    use graph_blob::Column::*;
    let [nodes, node_kinds] = open_parts(conn, snapshot, [Nodes, NodeKinds])?;
    graph_blob::decode_nodes(snapshot, graph_blob::NodeBlobs { nodes, node_kinds })
}

/// The edge blobs of a snapshot's `graph_parts`, decoded.
fn read_edge_parts(conn: &Connection, snapshot: i64) -> Result<Option<graph_blob::Decoded<crate::graph::EdgeColumns>>> {
    use graph_blob::Column::*;
    let [ends, costs, kinds, rules, flags] =
        open_parts(conn, snapshot, [EdgeEnds, EdgeCosts, EdgeKinds, EdgeRules, EdgeFlags])?;
    graph_blob::decode_edges(snapshot, graph_blob::EdgeBlobs { ends, costs, kinds, rules, flags })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The import packs its fact index from the facts straight away; it must be the index the
    /// record list gives, chunk for chunk (the demo, and a synthetic tenant of many chunks).
    #[test]
    fn the_index_packed_from_the_facts_is_the_index_of_their_record_list() {
        let synth = crate::synth::generate(&crate::synth::SynthSpec::small(7));
        for (raw, many) in [(crate::demo::raw(), false), (synth, true)] {
            let facts = crate::facts::parse(&raw).unwrap();
            let from_list = PackedIndex::new(&index::fact_list(&facts));
            let packed = PackedIndex::of(&index::PackedRecords::of(&facts));
            assert!(!many || from_list.chunks.len() > 1, "{} chunks", from_list.chunks.len());
            assert_eq!(packed.digest, from_list.digest);
            assert_eq!(packed.chunks, from_list.chunks);
        }
    }

    #[test]
    fn a_version_1_database_is_migrated_without_losing_edges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO snapshots VALUES (1, 't', 't', 'tid', 'T', 'demo', NULL, '0.1.0', '[]', '[]');
             INSERT INTO nodes VALUES (1, 'b', 'Group', 'g', '{}'), (1, 'a', 'User', 'u', '{\"upn\":\"u@x\"}');
             INSERT INTO edges (snapshot_id, source, target, kind, rule, reason, evidence, requires_activation, conditional, cost)
                VALUES (1, 'a', 'b', 'MemberOf', 'group-membership', 'u is a member of g', '[{\"label\":\"role assignment\",\"value\":\"/x/RA\"}]', 0, 0, 1);",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let (nodes, edges) = store.load_graph(1).unwrap();
        assert_eq!(nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(nodes[0].prop("upn"), Some("u@x"));
        assert_eq!(edges.len(), 1);
        assert_eq!((&*edges[0].source, &*edges[0].target, edges[0].kind), ("a", "b", EdgeKind::MemberOf));
        assert_eq!(edges[0].reason(&nodes), "u is a member of g");
        // Evidence stored as text before it was typed comes back typed, with its fact's key.
        let want = Evidence::new(crate::model::EvidenceKind::RoleAssignment, "/x/RA").of_fact("role assignment|/x/ra");
        assert_eq!(edges[0].evidence(), vec![want]);
        let info = &store.snapshots().unwrap()[0];
        assert_eq!((info.nodes, info.edges), (2, 1), "v3 counts existing snapshots");
        assert_eq!(store.fact_digest(1).unwrap(), None, "no fact index: a diff reads the raw facts");
    }

    #[test]
    fn details_round_trip_and_plain_evidence_is_stored_as_before() {
        use crate::model::EvidenceKind::{GroupMembership, Role, RoleAssignment};
        use crate::model::{End, Piece};
        let ra = |id: &str| Evidence::new(RoleAssignment, id).of_fact(&format!("role assignment|{id}"));
        let evidence = vec![ra("/x/ra1"), Evidence::new(Role, "Owner")];
        let typed: Vec<EvidenceText> = evidence.iter().cloned().map(EvidenceText::from).collect();
        let plain = evidence_text(&typed);
        // Literal evidence is stored as azpath stored it before templates, its implied fact left out.
        assert!(plain.starts_with('[') && !plain.contains("\"fact\""), "{plain}");
        assert_eq!(parse_details(0, "r".into(), &plain).unwrap().detail.evidence, typed);
        assert_eq!(
            parse_text(0, "\"r\"", &plain).unwrap(),
            Detail { reason: Text::literal("r"), evidence: typed.clone() }
        );
        // A template naming the edge's ends round-trips, and renders per edge.
        let member = Detail {
            reason: Text::new(vec![
                Piece::Name { name: End::Source },
                Piece::Text(" is in ".into()),
                Piece::Name { name: End::Target },
            ]),
            evidence: vec![EvidenceText {
                kind: GroupMembership,
                value: Text::new(vec![Piece::Text("group ".into()), Piece::Id { id: End::Target }]),
                name: None,
                fact: Some(FactText::Key { category: "membership".into(), ends: vec![End::Target, End::Source] }),
            }],
        };
        let back = parse_text(3, &reason_text(&member.reason), &evidence_text(&member.evidence)).unwrap();
        assert_eq!(back, member);
        let rendered = back.evidence[0].render("U1", "G1");
        assert_eq!(rendered.value, "group G1");
        assert_eq!(rendered.fact, Some(FactRef::of("membership|g1|u1")));
        // Alternatives are stored rendered, on their own.
        let alternatives = vec![vec![ra("/x/ra2")], vec![]];
        assert_eq!(parse_alternatives(0, &alternatives_text(&alternatives)).unwrap(), alternatives);
        // Before schema v5, an edge with alternatives kept them beside its evidence.
        let merged = serde_json::json!({"evidence": evidence, "alternatives": alternatives}).to_string();
        let old = parse_details(0, "r".into(), &merged).unwrap();
        assert_eq!((old.detail.evidence.clone(), old.alternatives), (typed, alternatives));
        assert!(
            matches!(parse_details(7, String::new(), "{\"evidence\": 1}"), Err(StoreError::Corrupt(m)) if m.contains("edge 7"))
        );
        assert!(matches!(parse_text(9, "1", "[]"), Err(StoreError::Corrupt(m)) if m.contains("edge text 9")));
    }

    /// Edge texts are stored packed (`edge_text`), one row per shared detail, and read back as
    /// derived, by lookup and by a pass over the table; a snapshot written before schema v6 has
    /// plain `edge_texts` rows and no dictionary, and reads the same.
    #[test]
    fn edge_texts_are_packed_and_plain_rows_of_older_snapshots_still_read() {
        let mut store = Store::open_in_memory().unwrap();
        let raw = crate::facts::CompactFacts::from(crate::demo::raw());
        let facts = crate::facts::parse(&raw).unwrap();
        let derived = crate::rules::derive(&facts);
        let id = store.write_snapshot(&raw, &derived, &index::fact_list(&facts), None).unwrap();
        let all: Vec<usize> = (0..derived.edges.len()).collect();
        let want: Vec<(Detail, Vec<Vec<Evidence>>)> =
            derived.edges.iter().map(|e| ((*e.detail).clone(), e.alternatives.to_vec())).collect();
        assert!(want.iter().any(|(_, a)| !a.is_empty()), "the demo has edges with alternatives");
        let read = |store: &Store, many: bool| -> Vec<(Detail, Vec<Vec<Evidence>>)> {
            let got = store.edge_details(id, &all, many).unwrap();
            got.into_iter().map(|d| ((*d.detail).clone(), d.alternatives)).collect()
        };
        assert_eq!(read(&store, false), want);
        assert_eq!(read(&store, true), want);
        let rows = |table: &str| -> i64 {
            store.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
        };
        let distinct: std::collections::HashSet<*const Detail> =
            derived.edges.iter().map(|e| Arc::as_ptr(&e.detail)).collect();
        assert_eq!(rows("packed_edge_texts"), distinct.len() as i64);
        assert!(distinct.len() < derived.edges.len(), "edges made the same way share a text");
        assert_eq!((rows("edge_texts"), rows("edge_text_dictionaries")), (0, 1));

        // As an azpath before schema v6 wrote them: plain rows, no dictionary.
        let dictionary: Vec<u8> =
            store.conn.query_row("SELECT dictionary FROM edge_text_dictionaries", [], |r| r.get(0)).unwrap();
        let mut unpacker = edge_text::Unpacker::new(id, &dictionary).unwrap();
        let packed: Vec<(i64, Vec<u8>)> = {
            let mut stmt = store.conn.prepare("SELECT id, body FROM packed_edge_texts").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
        };
        for (text, body) in &packed {
            let t = unpacker.unpack(*text, body).unwrap();
            store
                .conn
                .execute(
                    "INSERT INTO edge_texts (snapshot_id, id, reason, evidence) VALUES (?1, ?2, ?3, ?4)",
                    params![id, text, t.reason, t.evidence],
                )
                .unwrap();
        }
        store.conn.execute("DELETE FROM packed_edge_texts", []).unwrap();
        store.conn.execute("DELETE FROM edge_text_dictionaries", []).unwrap();
        assert_eq!(read(&store, false), want);
        assert_eq!(read(&store, true), want);

        // A damaged packed body is a corrupt store, named, not a panic.
        let mut store = Store::open_in_memory().unwrap();
        let id = store.write_snapshot(&raw, &derived, &[], None).unwrap();
        store.conn.execute("UPDATE packed_edge_texts SET body = x'28b52ffd00' WHERE id = 2", []).unwrap();
        let text = |e: &usize| -> i64 { store.detail_ids(id, &[*e], false).unwrap()[0].unwrap() };
        let edge = all.iter().find(|e| text(e) == 2).unwrap();
        for many in [false, true] {
            let e = store.edge_details(id, &[*edge], many).unwrap_err();
            assert!(matches!(&e, StoreError::Corrupt(m) if m.contains("edge text 2 of snapshot 1")), "{e}");
        }
    }

    #[test]
    fn raw_facts_are_stored_compressed_and_read_back_exactly_and_older_rows_still_read() {
        let mut store = Store::open_in_memory().unwrap();
        let raw = crate::facts::CompactFacts::from(crate::demo::raw());
        let facts = crate::facts::parse(&raw).unwrap();
        let records = crate::facts::index::fact_list(&facts);
        let id = store.write_snapshot(&raw, &crate::rules::derive(&facts), &records, None).unwrap();
        let back = store.load_raw(id).unwrap();
        assert_eq!((&back.graph, &back.arm), (&raw.graph, &raw.arm));
        let (stored, text): (i64, i64) = store
            .conn
            .query_row(
                "SELECT SUM(LENGTH(body)), SUM(typeof(body) = 'text') FROM raw_facts WHERE snapshot_id = ?1 AND side != 'meta'",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let plain: usize = raw.graph.values().chain(raw.arm.values()).map(String::len).sum();
        assert!(text == 0 && (stored as usize) * 3 < plain, "{stored} bytes stored for {plain}");
        let body: Vec<u8> = store
            .conn
            .query_row("SELECT body FROM raw_facts WHERE snapshot_id = ?1 AND collection = 'users'", [id], |r| r.get(0))
            .unwrap();
        assert!(is_zstd(&body));
        let users = &raw.graph["users"];
        let set_users = |body: &dyn rusqlite::ToSql| {
            let sql = "UPDATE raw_facts SET body = ?1 WHERE snapshot_id = ?2 AND collection = 'users'";
            store.conn.execute(sql, params![body, id]).unwrap();
        };
        // A body deflated (schema v5) reads as it was.
        let deflated = {
            use std::io::Write as _;
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(users.as_bytes()).unwrap();
            z.finish().unwrap()
        };
        set_users(&deflated);
        assert_eq!(&store.load_raw(id).unwrap().graph["users"], users);
        // A body written as text (before bodies were compressed) reads as it was.
        set_users(users);
        assert_eq!(&store.load_raw(id).unwrap().graph["users"], users);
        set_users(&[0u8, 0xff].as_slice());
        assert!(matches!(store.load_raw(id), Err(StoreError::Corrupt(m)) if m.contains("raw facts of snapshot")));
        // A zstd frame cut short, or claiming no size, is corrupt too.
        for damaged in [&body[..body.len() - 3], &[0x28, 0xb5, 0x2f, 0xfd, 0x00][..]] {
            set_users(&damaged);
            assert!(matches!(store.load_raw(id), Err(StoreError::Corrupt(m)) if m.contains("raw facts of snapshot")));
        }
    }

    #[test]
    fn fact_records_are_read_from_their_chunks_and_from_rows_of_older_snapshots() {
        let mut store = Store::open_in_memory().unwrap();
        let raw = crate::facts::CompactFacts::from(crate::synth::generate(&crate::synth::SynthSpec::small(3)));
        let facts = crate::facts::parse(&raw).unwrap();
        let records = crate::facts::index::fact_list(&facts);
        assert!(records.len() > 3 * FACT_CHUNK, "several chunks: {}", records.len());
        let id = store.write_snapshot(&raw, &crate::rules::derive(&facts), &records, None).unwrap();
        let chunks: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM fact_chunks WHERE snapshot_id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(chunks as usize, records.len().div_ceil(FACT_CHUNK));
        // Every record, by the hashes of the digest, and a few (first, last, across a boundary).
        let digest = store.fact_digest(id).unwrap().unwrap();
        let all: Vec<u128> = digest.iter().map(|(k, _)| *k).collect();
        let want: HashMap<String, FactRecord> = records.iter().map(|r| (r.key.clone(), r.clone())).collect();
        assert_eq!(store.fact_records(id, &all).unwrap(), want);
        let some = [all[0], all[FACT_CHUNK - 1], all[FACT_CHUNK], all[all.len() - 1]];
        assert_eq!(store.fact_records(id, &some).unwrap().len(), 4);
        assert!(matches!(store.fact_records(id, &[7]), Err(StoreError::Corrupt(_))));
        // Chunks written as deflated JSON rows (schema v5) read the same.
        let bodies: Vec<(i64, Vec<u8>)> = {
            let mut stmt = store.conn.prepare("SELECT first, body FROM fact_chunks").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
        };
        for (first, body) in &bodies {
            use std::io::Write as _;
            let rows: Vec<[String; 4]> = unpack_facts(id, body)
                .unwrap()
                .into_iter()
                .map(|r| [r.category.to_string(), r.key, r.text, r.detail])
                .collect();
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&serde_json::to_vec(&rows).unwrap()).unwrap();
            store
                .conn
                .execute("UPDATE fact_chunks SET body = ?1 WHERE first = ?2", params![z.finish().unwrap(), first])
                .unwrap();
        }
        assert_eq!(store.fact_records(id, &all).unwrap(), want);
        // A packed chunk cut inside a record, or naming a category azpath does not know, is corrupt.
        let mut packed = Vec::new();
        let r0 = &records[0];
        index::put_record(&mut packed, r0.category, &r0.key, &r0.text, &r0.detail);
        let cut = zstd::bulk::compress(&packed[..packed.len() - 1], 1).unwrap();
        packed[4] = b'X';
        let unknown = zstd::bulk::compress(&packed, 1).unwrap();
        for (body, says) in [(cut, "cut short"), (unknown, "unknown category X")] {
            assert!(matches!(unpack_facts(id, &body), Err(StoreError::Corrupt(m)) if m.contains(says)));
        }
        // A snapshot written before chunks keeps a row per fact.
        store.conn.execute("DELETE FROM fact_chunks WHERE snapshot_id = ?1", [id]).unwrap();
        let r = &records[5];
        store
            .conn
            .execute(
                "INSERT INTO facts (snapshot_id, key_hash, category, key, text, detail, ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '')",
                params![id, index::fact_key_hash(&r.key) as u64 as i64, r.category, r.key, r.text, r.detail],
            )
            .unwrap();
        let one = store.fact_records(id, &[index::fact_key_hash(&r.key)]).unwrap();
        assert_eq!(one.get(&r.key), Some(r));
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        Store::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }

    #[test]
    fn readers_never_create_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        let err = Store::open_existing(&path).err().unwrap();
        assert!(matches!(err, StoreError::Missing(_)), "{err}");
        assert!(err.to_string().contains("no azpath database at"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn refuses_another_programs_sqlite_file_and_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'x');",
        )
        .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        for open in [Store::open, Store::open_existing] {
            let err = open(&path).err().unwrap();
            assert!(matches!(err, StoreError::Foreign(_)), "{err}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "not a byte changed");
        let tables: Vec<String> = Connection::open(&path)
            .unwrap()
            .prepare("SELECT name FROM sqlite_master")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(tables, ["customers"]);
        // A file that is not SQLite at all is a clear error too.
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello, this is not a database ".repeat(40)).unwrap();
        let err = Store::open(&text).err().unwrap();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
    }

    #[test]
    fn new_and_older_azpath_databases_are_claimed_with_the_application_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let store = Store::open(&path).unwrap();
        let app: i32 = store.conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
        assert_eq!(app, APPLICATION_ID);
        assert_eq!(store.snapshot_count().unwrap(), 0);
        drop(store);
        Store::open_existing(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_database_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let store = Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert!(store.permission_notes().is_empty(), "a new database needs no tightening");
        let (wal, shm) = (dir.path().join("x.db-wal"), dir.path().join("x.db-shm"));
        assert_eq!((mode(&wal), mode(&shm)), (0o600, 0o600), "SQLite gives its -wal and -shm the database's mode");
        drop(store);
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_readable_database_and_its_wal_and_shm_are_made_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let keep_open = Store::open(&path).unwrap();
        let files = [path.clone(), dir.path().join("x.db-wal"), dir.path().join("x.db-shm")];
        for f in &files {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let shown: Vec<String> = files
            .iter()
            .map(|f| format!("{} was readable by other users; made it owner-only (0600)", f.display()))
            .collect();
        assert_eq!(store.permission_notes(), shown.as_slice());
        for f in &files {
            assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
        }
        assert!(Store::open(&path).unwrap().permission_notes().is_empty(), "once private, no more warnings");
        drop((keep_open, store));
    }

    /// Edge text ids kept in chunks read the same as from a row per edge, one edge at a time or
    /// all at once, across chunk boundaries; a damaged chunk is a corrupt store, not a panic.
    #[test]
    fn text_ids_in_chunks_read_as_rows_do() {
        let raw = crate::facts::CompactFacts::from(crate::demo::raw());
        let mut derived = crate::rules::derive(&crate::facts::parse(&raw).unwrap());
        // The demo's edges many times over: more than two chunks.
        let (edges, ends) = (derived.edges.clone(), derived.ends.clone());
        while derived.edges.len() <= 2 * EDGE_TEXT_CHUNK {
            derived.edges.extend(edges.iter().cloned());
            derived.ends.extend(ends.iter().copied());
        }
        let mut store = Store::open_in_memory().unwrap();
        let chunked = store.write_snapshot(&raw, &derived, &[], None).unwrap();
        store.write_rows_only(true);
        let rows = store.write_snapshot(&raw, &derived, &[], None).unwrap();
        let chunks: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM edge_text_ids WHERE snapshot_id = ?1", [chunked], |r| r.get(0))
            .unwrap();
        assert_eq!(chunks as usize, derived.edges.len().div_ceil(EDGE_TEXT_CHUNK));
        let all: Vec<usize> = (0..derived.edges.len()).collect();
        let some: Vec<usize> = [EDGE_TEXT_CHUNK - 1, EDGE_TEXT_CHUNK, 3, derived.edges.len() - 1, 3].to_vec();
        for many in [false, true] {
            let want = store.detail_ids(rows, &all, many).unwrap();
            assert_eq!(store.detail_ids(chunked, &all, many).unwrap(), want);
            let picked: Vec<_> = some.iter().map(|&e| want[e]).collect();
            assert_eq!(store.detail_ids(chunked, &some, many).unwrap(), picked);
            let past = store.detail_ids(chunked, &[derived.edges.len()], many).unwrap_err();
            assert!(past.to_string().contains("has no edge"), "{past}");
        }
        store
            .conn
            .execute("UPDATE edge_text_ids SET body = x'010203' WHERE first = ?1", [EDGE_TEXT_CHUNK as i64])
            .unwrap();
        let err = store.detail_ids(chunked, &[EDGE_TEXT_CHUNK + 1], false).unwrap_err();
        assert!(err.to_string().contains("3 bytes"), "{err}");
    }

    /// Snapshots are written in WAL so that another azpath can open the database and read the
    /// earlier snapshots while one is being written, even once the writer's pages spill from its
    /// cache into the file (in a rollback journal that takes an exclusive lock: readers fail).
    #[test]
    fn a_reader_opens_and_reads_while_a_snapshot_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut writer = Store::open(&path).unwrap();
        let raw = crate::facts::CompactFacts::from(crate::demo::raw());
        let facts = crate::facts::parse(&raw).unwrap();
        let records = crate::facts::index::fact_list(&facts);
        writer.write_snapshot(&raw, &crate::rules::derive(&facts), &records, None).unwrap();
        writer.conn.pragma_update(None, "cache_size", 10).unwrap();
        let tx = writer.conn.unchecked_transaction().unwrap();
        tx.execute("INSERT INTO snapshots (imported_at, collected_at, tenant_id, tenant_name, source, azpath_version, completeness, warnings) VALUES ('', '', 't', 't', 'test', '0', '[]', '[]')", []).unwrap();
        let id = tx.last_insert_rowid();
        for i in 0..20_000 {
            tx.execute(
                "INSERT INTO nodes (snapshot_id, ix, id, kind, name, props) VALUES (?1, ?2, ?3, 'User', ?3, '{}')",
                params![id, i, format!("user-{i:08}-{}", "x".repeat(100))],
            )
            .unwrap();
        }
        let reader = Store::open_existing(&path).unwrap();
        assert_eq!(reader.snapshot_count().unwrap(), 1);
        assert!(reader.load_structure(1).unwrap().0.len() > 10);
        tx.commit().unwrap();
        assert_eq!(reader.snapshot_count().unwrap(), 2);
    }
}

#[cfg(test)]
mod foreign_key_tests {
    use super::*;

    /// The snapshot writer switches foreign keys off for its own rows; they must be back on after
    /// it, or deleting a snapshot would leave its nodes and edges behind.
    #[test]
    fn foreign_keys_are_enforced_again_after_a_snapshot_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("fk.db")).unwrap();
        let raw = crate::facts::CompactFacts::from(crate::demo::raw());
        let facts = crate::facts::parse(&raw).unwrap();
        let records = crate::facts::index::fact_list(&facts);
        store.write_snapshot(&raw, &crate::rules::derive(&facts), &records, None).unwrap();
        let on: i64 = store.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(on, 1);
        store.conn.execute("DELETE FROM snapshots WHERE id = 1", []).unwrap();
        for table in [
            "nodes",
            "edges",
            "edge_details",
            "edge_texts",
            "packed_edge_texts",
            "edge_text_dictionaries",
            "edge_alternatives",
            "facts",
            "fact_chunks",
            "graph_blobs",
            "graph_parts",
            "edge_text_ids",
        ] {
            let left: i64 = store.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(left, 0, "{table} kept rows of a deleted snapshot");
        }
    }
}

//! Where responses go: the [`Accumulator`] turns pages into a [`RawFacts`] (`azpath-facts/1`), and
//! the optional [`Archive`] keeps every page (redacted) so that `azpath ingest` can replay them
//! offline through the very same accumulator.
//!
//! Archive layout (`--save-raw DIR`):
//! - `DIR/responses.jsonl`: one [`Record`] per line, in arrival order;
//! - `DIR/manifest.json`: written last, only when the collection finished; without it an archive
//!   is incomplete and `ingest` refuses it.

use crate::facts::raw::{FORMAT, RawFacts, TenantInfo};
use crate::facts::{CompletenessNote, ids::norm};
use crate::files;
use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const ARCHIVE_FORMAT: &str = "azpath-raw/1";

/// Where a page's items belong in the facts file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    /// `graph` or `arm`.
    pub side: String,
    /// The collection key (`users`, `groupMembers`, `resources`, ...).
    pub collection: String,
    /// For relationship collections: the parent object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The body is one object (a single GET), not a `value` list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single: bool,
    /// A relationship collection (keyed by parent id) named as a whole, without a parent: what
    /// [`Record::Read`] declares when there are no parents to key by.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keyed: bool,
}

impl Dest {
    pub fn graph(collection: &str) -> Dest {
        Dest { side: "graph".into(), collection: collection.into(), parent: None, single: false, keyed: false }
    }
    pub fn arm(collection: &str) -> Dest {
        Dest { side: "arm".into(), collection: collection.into(), parent: None, single: false, keyed: false }
    }
    /// A relationship collection as a whole (`graph.groupMembers`), for [`Record::Read`].
    pub fn graph_keyed(collection: &str) -> Dest {
        Dest { keyed: true, ..Dest::graph(collection) }
    }
    pub fn child_of(mut self, parent: &str) -> Dest {
        self.parent = Some(parent.to_string());
        self
    }
    /// A relationship collection (keyed by parent id) as a whole, with no parent.
    pub fn keyed(mut self) -> Dest {
        self.keyed = true;
        self
    }
    pub fn single(mut self) -> Dest {
        self.single = true;
        self
    }
    /// `graph.groupMembers`, as completeness notes name collections.
    pub fn what(&self) -> String {
        format!("{}.{}", self.side, self.collection)
    }
}

/// One line of `responses.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub enum Record {
    /// A page of a list (or one object), already redacted.
    Page { dest: Dest, body: Value },
    /// Something that could not be read.
    Missing { note: CompletenessNote },
    /// A collection read in full that may hold nothing: every per-scope or per-object list of it
    /// was asked for, and there were no scopes or objects to ask about (no subscriptions, no
    /// groups). An empty answer is a complete answer, not a gap.
    Read { dest: Dest },
}

/// What `manifest.json` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub tenant: TenantInfo,
    pub collected_at: String,
    pub records: u64,
}

/// Removes credentials (by name, by shape, in value bags) with the facts module's own rules, so
/// the archive, the database and the parsers agree on what a secret is. Returns the body and how
/// many properties were removed or values replaced.
pub fn redact(mut body: Value) -> (Value, usize) {
    let removed = crate::facts::redact::redact_value(&mut body);
    (body, removed)
}

/// Builds the facts from pages, in any order; the result is sorted so that the same responses
/// give the same facts however they interleaved.
#[derive(Default)]
pub struct Accumulator {
    lists: BTreeMap<(String, String), Vec<Value>>,
    keyed: BTreeMap<(String, String), BTreeMap<String, Vec<Value>>>,
    notes: BTreeSet<CompletenessNote>,
    /// Objects received, for progress.
    pub objects: u64,
}

impl Accumulator {
    /// Adds one page (or single object). Returns how many objects it held.
    pub fn add(&mut self, dest: &Dest, body: Value) -> usize {
        let items: Vec<Value> = if dest.single {
            vec![body]
        } else {
            match body {
                Value::Object(mut m) => match m.remove("value") {
                    Some(Value::Array(v)) => v,
                    _ => vec![],
                },
                _ => vec![],
            }
        };
        let n = items.len();
        self.objects += n as u64;
        let key = (dest.side.clone(), dest.collection.clone());
        match &dest.parent {
            Some(p) => self.keyed.entry(key).or_default().entry(p.clone()).or_default().extend(items),
            None if dest.keyed => {
                self.keyed.entry(key).or_default();
            }
            None => self.lists.entry(key).or_default().extend(items),
        }
        n
    }

    /// Declares a collection as read (possibly empty), so it is not reported "not collected". A
    /// keyed collection without a parent is declared as a whole (`{}` when it has no parents).
    pub fn touch(&mut self, dest: &Dest) {
        let key = (dest.side.clone(), dest.collection.clone());
        match &dest.parent {
            Some(p) => {
                self.keyed.entry(key).or_default().entry(p.clone()).or_default();
            }
            None if dest.keyed => {
                self.keyed.entry(key).or_default();
            }
            None => {
                self.lists.entry(key).or_default();
            }
        }
    }

    pub fn missing(&mut self, note: CompletenessNote) {
        self.notes.insert(note);
    }

    pub fn notes(&self) -> impl Iterator<Item = &CompletenessNote> {
        self.notes.iter()
    }

    /// The ids of a list collection's items so far (for the requests that fan out from them).
    pub fn ids(&self, side: &str, collection: &str) -> Vec<String> {
        self.ids_where(side, collection, |_| true).into_iter().collect()
    }

    /// The ids of a list collection's items of one ARM type (lower case).
    pub fn ids_of_type(&self, side: &str, collection: &str, ty: &str) -> BTreeSet<String> {
        self.ids_where(side, collection, |v| {
            v.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(ty))
        })
    }

    fn ids_where(&self, side: &str, collection: &str, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
        let key = (side.to_string(), collection.to_string());
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        for v in self.lists.get(&key).into_iter().flatten().filter(|v| keep(v)) {
            if let Some(id) = v.get("id").and_then(Value::as_str)
                && seen.insert(norm(id))
            {
                out.insert(id.to_string());
            }
        }
        out
    }

    /// The facts file. Lists are sorted by id and de-duplicated (ARM lists role assignments at,
    /// above and below each subscription, so one assignment arrives many times); for resources,
    /// the copy with `properties` (from a provider's own list) wins over the generic one.
    pub fn finish(self, tenant: TenantInfo, collected_at: String) -> RawFacts {
        let mut graph = BTreeMap::new();
        let mut arm = BTreeMap::new();
        for ((side, name), items) in self.lists {
            let value = Value::Array(sorted_unique(items));
            if side == "graph" {
                graph.insert(name, value)
            } else {
                arm.insert(name, value)
            };
        }
        for ((side, name), parents) in self.keyed {
            let map: serde_json::Map<String, Value> =
                parents.into_iter().map(|(p, items)| (p, Value::Array(sorted_unique(items)))).collect();
            if side == "graph" {
                graph.insert(name, Value::Object(map))
            } else {
                arm.insert(name, Value::Object(map))
            };
        }
        RawFacts {
            format: FORMAT.into(),
            tenant,
            collected_at,
            source: Some("collect".into()),
            graph,
            arm,
            completeness: self.notes.into_iter().collect(),
        }
    }
}

fn sorted_unique(items: Vec<Value>) -> Vec<Value> {
    let mut keyed: Vec<(String, bool, Value)> = items
        .into_iter()
        .map(|v| {
            let id = v.get("id").and_then(Value::as_str).map(norm).unwrap_or_default();
            let rich = v.get("properties").is_some_and(|p| !p.is_null());
            (id, rich, v)
        })
        .collect();
    // Richest first within an id, then a stable tiebreak on the text so the output is reproducible.
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then_with(|| a.2.to_string().cmp(&b.2.to_string())));
    keyed.dedup_by(|later, first| !first.0.is_empty() && later.0 == first.0);
    keyed.into_iter().map(|(_, _, v)| v).collect()
}

/// The raw archive being written.
pub struct Archive {
    dir: PathBuf,
    out: Mutex<BufWriter<std::fs::File>>,
    records: std::sync::atomic::AtomicU64,
}

impl Archive {
    /// Creates `dir` (which must be empty or absent) and its `responses.jsonl`, owner-only.
    pub fn create(dir: &Path) -> Result<Archive> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            bail!("{} is not empty; the raw archive needs a new or empty directory", dir.display());
        }
        files::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("responses.jsonl");
        let file = files::create_new(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Archive { dir: dir.to_path_buf(), out: Mutex::new(BufWriter::new(file)), records: Default::default() })
    }

    pub fn write(&self, record: &Record) -> Result<()> {
        self.write_raw(record)
    }

    /// Writes any record-shaped value (the collector serialises pages by reference).
    pub fn write_raw<T: Serialize>(&self, record: &T) -> Result<()> {
        let line = serde_json::to_string(record)?;
        let mut out = self.out.lock().expect("archive lock");
        writeln!(out, "{line}").with_context(|| format!("cannot write to {}", self.dir.display()))?;
        self.records.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Flushes the responses and writes the manifest that marks the archive complete.
    pub fn finish(self, tenant: &TenantInfo, collected_at: &str) -> Result<()> {
        let mut out = self.out.into_inner().expect("archive lock");
        out.flush()?;
        out.get_ref().sync_all()?;
        let manifest = Manifest {
            format: ARCHIVE_FORMAT.into(),
            tenant: tenant.clone(),
            collected_at: collected_at.into(),
            records: self.records.into_inner(),
        };
        let path = self.dir.join("manifest.json");
        let mut f = files::create_new(&path).with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(serde_json::to_string_pretty(&manifest)?.as_bytes())?;
        f.sync_all()?;
        Ok(())
    }
}

/// Rebuilds the facts from an archive, through the same [`Accumulator`] a live collection uses.
pub fn replay(dir: &Path) -> Result<RawFacts> {
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath).with_context(|| {
        format!(
            "{} has no manifest.json: not a raw archive, or the collection that wrote it did not finish",
            dir.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an azpath raw-archive manifest", mpath.display()))?;
    if manifest.format != ARCHIVE_FORMAT {
        bail!("{} has format {:?}; this azpath reads {ARCHIVE_FORMAT:?}", mpath.display(), manifest.format);
    }
    let rpath = dir.join("responses.jsonl");
    let file = std::fs::File::open(&rpath).with_context(|| format!("cannot open {}", rpath.display()))?;
    let mut acc = Accumulator::default();
    let mut count = 0u64;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", rpath.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not an archive record", rpath.display(), i + 1))?;
        match record {
            Record::Page { dest, body } => {
                acc.add(&dest, body);
            }
            Record::Missing { note } => acc.missing(note),
            Record::Read { dest } => acc.touch(&dest),
        }
        count += 1;
    }
    if count != manifest.records {
        bail!(
            "{} holds {count} records but its manifest says {}; the archive is damaged",
            rpath.display(),
            manifest.records
        );
    }
    Ok(acc.finish(manifest.tenant, manifest.collected_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicates_collapse_and_rich_copies_win() {
        let mut acc = Accumulator::default();
        let d = Dest::arm("resources");
        acc.add(&d, json!({"value": [{"id": "/A", "type": "t"}, {"id": "/b"}]}));
        acc.add(&d, json!({"value": [{"id": "/a", "type": "t", "properties": {"x": 1}}]}));
        let raw = acc.finish(TenantInfo { id: "t".into(), display_name: None, default_domain: None }, "now".into());
        let list = raw.arm["resources"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["properties"]["x"], 1);
    }

    #[test]
    fn a_declared_relationship_collection_is_an_empty_map_not_a_list() {
        let mut acc = Accumulator::default();
        let members = Dest::graph("administrativeUnitMembers");
        acc.add(&members.clone().keyed(), json!({"value": []}));
        let raw = acc.finish(TenantInfo { id: "t".into(), display_name: None, default_domain: None }, "now".into());
        assert_eq!(raw.graph["administrativeUnitMembers"], json!({}));
        let mut acc = Accumulator::default();
        acc.add(&members.clone().keyed(), json!({"value": []}));
        acc.add(&members.child_of("au-1"), json!({"value": [{"id": "u"}]}));
        let raw = acc.finish(TenantInfo { id: "t".into(), display_name: None, default_domain: None }, "now".into());
        assert_eq!(raw.graph["administrativeUnitMembers"], json!({"au-1": [{"id": "u"}]}));
    }

    #[test]
    fn collections_read_empty_are_present_and_empty() {
        let mut acc = Accumulator::default();
        acc.touch(&Dest::graph_keyed("groupMembers"));
        acc.touch(&Dest::arm("locks"));
        acc.add(&Dest::arm("resources"), json!({"value": []}));
        let raw = acc.finish(TenantInfo { id: "t".into(), display_name: None, default_domain: None }, "now".into());
        assert_eq!(raw.graph["groupMembers"], json!({}));
        assert_eq!(raw.arm["locks"], json!([]));
        assert_eq!(raw.arm["resources"], json!([]));
        let notes = raw.completeness_with_missing();
        assert!(!notes.iter().any(|n| ["graph.groupMembers", "arm.locks", "arm.resources"].contains(&n.what.as_str())));
        assert!(notes.iter().any(|n| n.what == "graph.groupOwners"), "what was never read is still a gap");
    }

    #[test]
    fn redaction_uses_the_facts_rules() {
        let v =
            redact(json!({"value": [{"id": "x", "properties": {"primaryKey": "k", "allowSharedKeyAccess": false}}]})).0;
        assert!(v.pointer("/value/0/properties/primaryKey").is_none());
        assert_eq!(v.pointer("/value/0/properties/allowSharedKeyAccess"), Some(&json!(false)));
    }
}

//! azpath: a graph-based identity attack-path analyzer for Azure and Entra ID.
//!
//! The pipeline, one module per stage: [`facts`] (Azure's JSON to typed facts) -> [`rules`] (facts
//! to attack edges) -> [`store`] (SQLite snapshots) -> [`graph`] (CSR adjacency, easiest paths) ->
//! [`query`] (selectors and path queries) -> [`report`] / [`export`] (text, JSON, DOT, Markdown), with
//! [`collect`] reading live tenants and [`diff`] comparing snapshots. See `docs/ARCHITECTURE.md`.

pub mod collect;
pub mod demo;
pub mod diff;
pub mod escape;
pub mod export;
pub mod facts;
pub mod files;
pub mod fix;
pub mod glob;
pub mod graph;
pub mod interop;
pub mod model;
pub mod query;
pub mod rbac;
pub mod report;
pub mod rules;
pub mod store;
pub mod synth;

use facts::CompactFacts;
use store::Store;

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub snapshot: i64,
    pub nodes: usize,
    pub edges: usize,
    pub redacted: usize,
    pub warnings: Vec<String>,
    pub skipped: Vec<String>,
}

/// The whole offline pipeline for one facts file: redact credentials, parse, derive edges, and
/// write one snapshot (in one transaction).
pub fn import_facts(
    store: &mut Store,
    raw: impl Into<CompactFacts>,
    label: Option<&str>,
) -> anyhow::Result<ImportSummary> {
    prepare(raw)?.write(store, label)
}

/// A facts file redacted, parsed and derived, ready to be written as a snapshot. Preparing before
/// opening the database means bad input fails before anything is created or written.
pub struct Prepared {
    raw: store::PackedRaw,
    derived: rules::Derived,
    index: store::PackedIndex,
    redacted: usize,
    skipped: Vec<String>,
    /// How long each stage took, for `-v`: a large tenant's import runs for minutes.
    pub timings: PrepareTimings,
}

/// The wall time of each stage of [`prepare`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PrepareTimings {
    /// Parsing the facts into their typed form, compressing each collection's text once read.
    pub parse: std::time::Duration,
    /// Building and compressing the fact index (while the rules' context is built: a part of
    /// `derive`'s time).
    pub pack: std::time::Duration,
    /// Running the rules, the merge of their edges included.
    pub derive: std::time::Duration,
}

/// Redacts, parses and derives a facts file (see [`Prepared`]). Facts given as JSON values are
/// redacted and turned into compact text first; a [`CompactFacts`] read from a file already is.
pub fn prepare(raw: impl Into<CompactFacts>) -> anyhow::Result<Prepared> {
    let mut raw = raw.into();
    let redacted = raw.redacted;
    let started = std::time::Instant::now();
    // Each collection's text is compressed as stored as soon as the parser is done with it, and
    // freed: the facts are never held beside the whole text (for an AzureHound collection, most
    // of the file).
    let missing = raw.completeness_with_missing();
    let bodies = std::sync::Mutex::new(Vec::new());
    let mut facts = facts::parse_consuming(&mut raw, &|side, name, text| {
        let body = store::pack_raw_body(&text);
        drop(text);
        bodies.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((side, name, body));
    })?;
    let bodies = bodies.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let raw = store::PackedRaw::from_parts(raw, missing, bodies);
    let parse = started.elapsed();
    let skipped = std::mem::take(&mut facts.skipped);
    let started = std::time::Instant::now();
    // The fact index (for diffs) is built and compressed while the rules' context is built on
    // the other core, and is done before the rules run on every core: its records are freed
    // before the edges are made, rather than held beside them.
    let (derived, (index, pack)) = rules::derive_owned_beside(facts, |facts| {
        let started = std::time::Instant::now();
        let index = store::PackedIndex::of(&facts::index::PackedRecords::of(facts));
        (index, started.elapsed())
    });
    let timings = PrepareTimings { parse, pack, derive: started.elapsed() };
    Ok(Prepared { raw, derived, index, redacted, skipped, timings })
}

impl Prepared {
    /// Writes the snapshot (one transaction) and says what it holds.
    pub fn write(self, store: &mut Store, label: Option<&str>) -> anyhow::Result<ImportSummary> {
        let snapshot = store.write_packed(&self.raw, &self.derived, &self.index, label)?;
        let Prepared { raw, mut derived, index, redacted, skipped, .. } = self;
        let summary = ImportSummary {
            snapshot,
            nodes: derived.nodes.len(),
            edges: derived.edges.len(),
            redacted,
            warnings: std::mem::take(&mut derived.warnings),
            skipped,
        };
        // Millions of nodes and edges take half a second to free: not on the way to the answer.
        free_later((raw, derived, index));
        Ok(summary)
    }
}

/// Loads a stored snapshot into an attack graph for searching: edges come without their reasons
/// and evidence, which [`explain_paths`] reads for the paths that are shown.
pub fn load_graph(store: &Store, snapshot: i64) -> anyhow::Result<graph::AttackGraph> {
    let (nodes, edges) = store.load_structure(snapshot)?;
    Ok(graph::AttackGraph::from_columns(nodes, edges))
}

/// Reads the reasons and evidence of every edge on `paths` into the graph, before printing them.
pub fn explain_paths(
    store: &Store,
    snapshot: i64,
    g: &mut graph::AttackGraph,
    paths: &[graph::Path],
) -> anyhow::Result<()> {
    let edges: Vec<usize> = paths.iter().flat_map(|p| p.edges.iter().copied()).collect();
    explain_edges(store, snapshot, g, &edges)
}

/// Reads the reasons and evidence of the given edges into the graph (those it lacks).
pub fn explain_edges(store: &Store, snapshot: i64, g: &mut graph::AttackGraph, edges: &[usize]) -> anyhow::Result<()> {
    let mut wanted = edges.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    wanted.retain(|&e| !g.has_detail(e));
    for (&e, d) in wanted.iter().zip(store.load_edge_details(snapshot, &wanted)?) {
        g.set_detail(e, d.detail, d.alternatives.into());
    }
    Ok(())
}

pub use diff::SnapshotDiff;

/// Compares snapshot `a` (before) with snapshot `b` (after), or with `a` itself when `b` is `None`,
/// with `what_if` applied to the after side first.
///
/// Two stored snapshots are compared without re-deriving anything: each side's graph is loaded and
/// its queries run on a thread of its own, the facts are compared by their stored digests, and only
/// the changed paths' evidence is read. A what-if re-derives the after side from its raw facts.
pub fn diff_snapshots(
    db: &std::path::Path,
    a: i64,
    b: Option<i64>,
    what_if: &diff::WhatIf,
    queries: &[query::saved::SavedQuery],
) -> anyhow::Result<SnapshotDiff> {
    let side = |snapshot: i64| -> anyhow::Result<(graph::AttackGraph, Vec<diff::QueryPairs>)> {
        let store = Store::open_existing(db)?;
        let g = load_graph(&store, snapshot)?;
        let pairs = diff::query_pairs(&g, queries)?;
        Ok((g, pairs))
    };
    let store = Store::open_existing(db)?;
    let stored_b = b.filter(|_| what_if.is_empty());
    let ((mut ga, pa), (mut gb, pb), facts) = match stored_b {
        Some(b) => std::thread::scope(|scope| {
            let before = scope.spawn(|| side(a));
            let after = side(b);
            let facts = stored_fact_changes(&store, a, b);
            let before = before.join().map_err(|_| anyhow::anyhow!("the before side of the diff panicked"))?;
            anyhow::Ok((before?, after?, facts?))
        })?,
        None => {
            let base = b.unwrap_or(a);
            let planned_from = facts::parse(&store.load_raw(base)?)?;
            let before_facts = if base == a { planned_from.clone() } else { facts::parse(&store.load_raw(a)?)? };
            let after_facts = what_if.apply(&planned_from).map_err(anyhow::Error::msg)?;
            let gb = graph::AttackGraph::from_facts(&after_facts);
            let pb = diff::query_pairs(&gb, queries)?;
            (side(a)?, (gb, pb), diff::diff_facts(&before_facts, &after_facts))
        }
    };
    let changes = diff::changed_pairs(&ga, &gb, &pa, &pb);
    // Causes come from the evidence of the hops one side has and the other lacks: read just those.
    let unmatched = diff::unmatched_edges(&ga, &gb, &changes);
    explain_edges(&store, a, &mut ga, &unmatched.0)?;
    if let Some(b) = stored_b {
        explain_edges(&store, b, &mut gb, &unmatched.1)?;
    }
    let paths = diff::describe(&ga, &gb, changes, &unmatched, &facts);
    Ok(SnapshotDiff { before: ga, after: gb, facts, paths })
}

/// The fact changes between two stored snapshots: by their digests when both have one (then only
/// the differing facts are read), else by re-reading both snapshots' raw facts.
fn stored_fact_changes(store: &Store, a: i64, b: i64) -> anyhow::Result<Vec<diff::FactChange>> {
    if let (Some(da), Some(db)) = (store.fact_digest(a)?, store.fact_digest(b)?) {
        let (removed, added, changed) = diff::digest_diff(&da, &db);
        let before = store.fact_records(a, &[removed, changed.clone()].concat())?;
        let after = store.fact_records(b, &[added, changed].concat())?;
        return Ok(diff::fact_changes(&before, &after));
    }
    let fa = facts::parse(&store.load_raw(a)?)?;
    let fb = facts::parse(&store.load_raw(b)?)?;
    Ok(diff::diff_facts(&fa, &fb))
}

/// What `fix` is asked of one snapshot.
#[derive(Debug, Clone)]
pub struct FixAsk {
    pub from: String,
    pub to: String,
    pub options: query::PathOptions,
    /// Protected: selectors (their nodes' changes) or `fact:ID` (a change naming that id).
    pub keep: Vec<String>,
    pub costs: fix::Costs,
    pub node_budget: usize,
    /// Verify by re-deriving the snapshot's facts with the plan applied (the diff's what-if);
    /// otherwise by removing the plan's edges from the loaded graph.
    pub rederive: bool,
}

/// `fix` on a stored snapshot: the plan, the headline paths before it, and its verification.
pub struct FixOutcome {
    pub graph: graph::AttackGraph,
    pub plan: fix::Plan,
    /// The easiest path of each (source, target) pair before the plan.
    pub before: Vec<graph::Path>,
    pub query: fix::FixQuery,
    pub check: fix::Verification,
    /// Wall time of each phase (`-v` prints them): where a slow `fix` spends it.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// How many times a plan is extended when re-deriving shows paths the stored edges did not
/// foresee: an effect of a change that the rules do not record as an alternative derivation, or
/// a snapshot stored before alternatives were (then a hop derived twice keeps one fact's evidence).
const FIX_ROUNDS: usize = 3;

/// `fix` on a stored snapshot, loading its graph.
pub fn fix_snapshot(store: &Store, snapshot: i64, ask: &FixAsk) -> anyhow::Result<FixOutcome> {
    fix_graph(store, snapshot, load_graph(store, snapshot)?, ask)
}

/// `fix` on a snapshot's graph already loaded by the caller (reasons and evidence are read here
/// for the edges the plan needs); the graph comes back in the outcome.
pub fn fix_graph(store: &Store, snapshot: i64, mut g: graph::AttackGraph, ask: &FixAsk) -> anyhow::Result<FixOutcome> {
    for (set, what) in [
        (ask.options.max_hops.is_some(), "a hop limit"),
        (!ask.options.last_edge.is_empty(), "a last-edge kind"),
        (ask.options.only_eligible, "only-eligible"),
        (ask.options.k.is_some() || ask.options.all_equal, "k paths per pair"),
    ] {
        if set {
            anyhow::bail!("fix cuts every path, so it does not take {what}; drop that option");
        }
    }
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |what: &'static str, timings: &mut Vec<(&'static str, std::time::Duration)>| {
        timings.push((what, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let q = fix_query(&g, ask)?;
    let relevant = fix::relevant_edges(&g, &q);
    explain_edges(store, snapshot, &mut g, &relevant)?;
    let before = fix::pair_paths(&g, &q);
    explain_paths(store, snapshot, &mut g, &before)?;
    lap("evidence", &mut timings);
    let mut plan = fix::solve(&g, &q, &ask.costs);
    lap("plan", &mut timings);
    let check = if plan.impossible {
        fix::Verification { method: "none (no plan)", remaining: pairs_of(&g, &before), extra_rounds: 0 }
    } else if ask.rederive {
        let raw = store.load_raw(snapshot)?;
        lap("load raw facts", &mut timings);
        // The first round changes the parsed facts in place; a further round (rare) reads them again.
        let mut facts = Some(facts::parse(&raw)?);
        drop(raw);
        lap("parse facts", &mut timings);
        let mut extra_rounds = 0;
        loop {
            let original = match facts.take() {
                Some(f) => f,
                None => facts::parse(&store.load_raw(snapshot)?)?,
            };
            let after = plan.what_if().apply_owned(original).map_err(anyhow::Error::msg)?;
            lap("apply what-if", &mut timings);
            // Searching needs no alternatives: derived without them, unless paths are left.
            let ga = graph::AttackGraph::from_facts_for_search(&after);
            lap("re-derive", &mut timings);
            let qa = fix_query(&ga, ask)?;
            let remaining = fix::pair_paths(&ga, &qa);
            lap("search again", &mut timings);
            if remaining.is_empty() || extra_rounds == FIX_ROUNDS {
                let check =
                    fix::Verification { method: "re-derived", remaining: pairs_of(&ga, &remaining), extra_rounds };
                free_later((ga, after));
                break check;
            }
            // Paths the stored edges did not foresee: plan again on the re-derived graph (with
            // every derivation of each hop, which the plan must cut) and add.
            free_later(ga);
            let ga = graph::AttackGraph::from_facts(&after);
            free_later(after);
            let qa = fix_query(&ga, ask)?;
            let remaining = fix::pair_paths(&ga, &qa);
            lap("re-derive for planning", &mut timings);
            let more = fix::solve(&ga, &qa, &ask.costs);
            lap("plan again", &mut timings);
            if more.impossible || more.changes.is_empty() {
                let check =
                    fix::Verification { method: "re-derived", remaining: pairs_of(&ga, &remaining), extra_rounds };
                free_later(ga);
                break check;
            }
            extra_rounds += 1;
            plan.exact = false;
            plan.cost += more.cost;
            plan.changes.extend(more.changes.into_iter().map(|mut c| {
                c.edges.clear(); // its edges are the re-derived graph's, not this one's
                c
            }));
        }
    } else {
        let remaining = fix::remaining_without_edges(&g, &q, &plan.cut_edges());
        lap("remove edges and search", &mut timings);
        fix::Verification { method: "edges-removed", remaining, extra_rounds: 0 }
    };
    Ok(FixOutcome { graph: g, plan, before, query: q, check, timings })
}

/// Frees a large value (a re-derived tenant: millions of strings) on another thread, so the answer
/// does not wait for it.
fn free_later<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

fn fix_query(g: &graph::AttackGraph, ask: &FixAsk) -> anyhow::Result<fix::FixQuery> {
    let mut q = fix::FixQuery {
        sources: query::select_some(g, &ask.from)?,
        targets: query::select_some(g, &ask.to)?,
        options: ask.options.search(g)?,
        node_budget: ask.node_budget,
        ..Default::default()
    };
    for k in &ask.keep {
        match k.strip_prefix("fact:") {
            Some(id) => q.keep_facts.push(id.trim().to_string()),
            None => q.keep_nodes.extend(query::select_some(g, k)?),
        }
    }
    Ok(q)
}

fn pairs_of(g: &graph::AttackGraph, paths: &[graph::Path]) -> Vec<(String, String)> {
    paths.iter().map(|p| (g.node(p.source).id.to_string(), g.node(p.target).id.to_string())).collect()
}

/// `chokepoints` on a stored snapshot: the easiest path of every (source, target) pair of the ask,
/// and the facts and nodes ranked by how many of those paths they lie on.
/// `within`: also count each pair's paths that cost at most this much more than its easiest
/// (see [`fix::paths_within`]).
pub fn chokepoints_snapshot(
    store: &Store,
    snapshot: i64,
    mut g: graph::AttackGraph,
    ask: &FixAsk,
    within: Option<u32>,
) -> anyhow::Result<Chokepoints> {
    let q = fix_query(&g, ask)?;
    let easiest = fix::pair_paths(&g, &q);
    let pairs = easiest.len();
    let (paths, truncated) = match within {
        Some(_) if pairs > WITHIN_MAX_PAIRS => anyhow::bail!(
            "chokepoints --within lists up to {} paths for each (source, target) pair, and this query has {} pairs \
             (at most {WITHIN_MAX_PAIRS}): narrow --from or --to, or leave --within out",
            fix::WITHIN_LIMIT,
            pairs
        ),
        Some(extra) => fix::paths_within(&g, &q, &easiest, extra),
        None => (easiest, 0),
    };
    explain_paths(store, snapshot, &mut g, &paths)?;
    let ranked = fix::chokepoints(&g, &paths);
    Ok(Chokepoints { graph: g, pairs, paths: paths.len(), truncated, ranked })
}

/// The most pairs `chokepoints --within` takes: each pair's paths are listed one by one (a
/// k-easiest-paths search per pair), which on a 1M-edge tenant takes about 0.3 s a pair.
pub const WITHIN_MAX_PAIRS: usize = 200;

/// What [`chokepoints_snapshot`] found.
pub struct Chokepoints {
    pub graph: graph::AttackGraph,
    /// Source-target pairs with a path.
    pub pairs: usize,
    /// Paths counted (one per pair without `within`).
    pub paths: usize,
    /// Pairs with more paths within the bound than [`fix::WITHIN_LIMIT`] (the rest were not counted).
    pub truncated: usize,
    /// Most pairs first.
    pub ranked: Vec<fix::Chokepoint>,
}

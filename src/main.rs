//! The azpath command line. The only place that writes to stdout, stderr or output files.

use anyhow::{Context as _, Result, bail};
use azpath::graph::AttackGraph;
use azpath::model::EdgeKind;
use azpath::query::{self, PathOptions, saved};
use azpath::report::{self, Style};
use azpath::store::{SnapshotInfo, Store};
use azpath::{demo, facts::RawFacts, rules};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const EXAMPLES: &str = "\
Examples:
  azpath demo                                      load the built-in demo tenant and show its attack paths
  azpath import tenant.json --label before-pim     import a facts file (docs/facts-format.md) as a snapshot
  azpath paths --from pipeline --to crown-jewels   easiest path from every pipeline identity to every crown jewel
  azpath paths --from 'Carol Okafor' --to stmlcurated --k 3 --explain
  azpath reach 'kind:ExternalIdentity and platform=\"GitHub Actions\"'
  azpath who-can-reach 'jewel:training-data' --without-eligible
  azpath query run pipeline-to-tier0 --fail-on-findings
  azpath rules rbac-list-keys                      what a rule does and when it must not fire

Selectors: pipeline, crown-jewels, tier0, all, kind:KIND, name:GLOB, id:ID, jewel:CATEGORY,
tag:KEY[=VALUE], KEY=VALUE, a name or id; combine with and, or, not and parentheses.

Exit codes: 0 success, 1 findings (with --fail-on-findings), 2 error (bad input, unreadable database,
nothing matched).";

#[derive(Parser)]
#[command(name = "azpath", version, about = "Identity attack paths in Azure and Entra ID: from pipeline identities to training data, models, secrets and the tenant.", after_help = EXAMPLES)]
struct Cli {
    /// The SQLite database holding snapshots (created owner-only if missing).
    #[arg(long, global = true, env = "AZPATH_DB", default_value = "azpath.db")]
    db: PathBuf,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    /// A Graphviz DOT diagram of the paths (render it with --render svg|png).
    Dot,
}

/// What `--render` makes of a DOT diagram (with the Graphviz `dot` program).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum RenderArg {
    Svg,
    Png,
}

impl RenderArg {
    fn format(self) -> azpath::export::render::RenderFormat {
        match self {
            RenderArg::Svg => azpath::export::render::RenderFormat::Svg,
            RenderArg::Png => azpath::export::render::RenderFormat::Png,
        }
    }
}

/// Where and how to print.
#[derive(Args)]
struct OutputArgs {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the output here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// With --format dot: render the diagram with Graphviz `dot` (to --output, default exports/diagram.svg|png).
    #[arg(long, value_enum)]
    render: Option<RenderArg>,
    /// With --format dot: draw at most this many paths (the most severe); 0 for all.
    #[arg(long, default_value_t = azpath::export::DEFAULT_MAX_PATHS)]
    max_paths: usize,
}

fn edge_kind(s: &str) -> Result<EdgeKind, String> {
    EdgeKind::parse(s).ok_or_else(|| {
        let kinds: Vec<&str> = EdgeKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown edge kind {s:?}; kinds are: {}", kinds.join(", "))
    })
}

/// Limits shared by every path search.
#[derive(Args, Clone)]
struct SearchArgs {
    /// Snapshot: a number, a label, `latest` or `previous`.
    #[arg(long, default_value = "latest")]
    snapshot: String,
    /// At most this many hops.
    #[arg(long)]
    max_hops: Option<usize>,
    /// Ignore PIM-eligible assignments (what is reachable right now, without activation).
    #[arg(long, conflicts_with = "only_eligible")]
    without_eligible: bool,
    /// Only results that exist solely through PIM-eligible assignments.
    #[arg(long)]
    only_eligible: bool,
    /// Never walk edges of this kind (repeatable), e.g. --exclude-edge ReEnableKeys.
    #[arg(long = "exclude-edge", value_parser = edge_kind)]
    exclude_edges: Vec<EdgeKind>,
    /// Never pass through nodes this selector names.
    #[arg(long)]
    avoid: Option<String>,
}

impl SearchArgs {
    fn options(&self) -> PathOptions {
        PathOptions {
            max_hops: self.max_hops,
            without_eligible: self.without_eligible,
            only_eligible: self.only_eligible,
            exclude_edges: self.exclude_edges.clone(),
            avoid: self.avoid.clone(),
            ..PathOptions::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Load the built-in demo tenant as a new snapshot and show which pipeline identities reach which crown jewels.
    Demo {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Import a facts file (Graph/ARM JSON, see docs/facts-format.md) as a new snapshot.
    Import {
        file: PathBuf,
        /// A name for the snapshot, usable wherever a snapshot is asked for.
        #[arg(long)]
        label: Option<String>,
    },
    /// List the stored snapshots, with what each could not collect.
    Snapshots {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Attack paths from each selected source to each selected target (the easiest per pair by default).
    Paths {
        /// Sources (a selector).
        #[arg(long, default_value = "pipeline")]
        from: String,
        /// Targets (a selector).
        #[arg(long, default_value = "crown-jewels")]
        to: String,
        #[command(flatten)]
        search: SearchArgs,
        /// The last hop must be of this kind (repeatable), e.g. --last-edge ListKeys.
        #[arg(long = "last-edge", value_parser = edge_kind)]
        last_edges: Vec<EdgeKind>,
        /// The k easiest loopless paths per pair (Yen's algorithm).
        #[arg(long, conflicts_with = "all_equal")]
        k: Option<usize>,
        /// Every path as easy as the easiest, per pair (at most 100).
        #[arg(long)]
        all_equal: bool,
        /// Print the evidence behind every hop (role assignment, role, scope, matched action, resource setting).
        #[arg(long)]
        explain: bool,
        /// Exit with code 1 when any path is found (for CI gates).
        #[arg(long)]
        fail_on_findings: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Blast radius: everything the selected identities can gain, grouped by kind.
    Reach {
        selector: String,
        #[command(flatten)]
        search: SearchArgs,
        /// Show the easiest path to each node.
        #[arg(long)]
        paths: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Everyone who can reach the selected nodes, grouped by kind.
    WhoCanReach {
        selector: String,
        #[command(flatten)]
        search: SearchArgs,
        /// Show each one's easiest path.
        #[arg(long)]
        paths: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Every hop of the easiest path between two nodes with the facts behind it, or (--edge) the direct edges between them.
    Explain {
        /// The source (a selector naming one node).
        from: String,
        /// The target (a selector naming one node).
        to: String,
        /// Explain the direct edges from FROM to TO instead of a path.
        #[arg(long)]
        edge: bool,
        #[arg(long, default_value = "latest")]
        snapshot: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Write DOT diagrams (and rendered SVG/PNG) of saved queries or the demo headline into a folder.
    Export {
        #[command(subcommand)]
        action: ExportAction,
    },
    /// A Markdown audit report: snapshot scope, findings of every saved query by severity, paths in
    /// words with evidence, suggested fixes and diagrams.
    Report {
        #[arg(long, default_value = "latest")]
        snapshot: String,
        #[arg(long, env = "AZPATH_QUERIES")]
        queries: Option<PathBuf>,
        /// Where to write the report.
        #[arg(long, default_value = "exports/report.md")]
        output: PathBuf,
        /// Also render each diagram (next to the report) and link it.
        #[arg(long, value_enum)]
        render: Option<RenderArg>,
        /// Draw at most this many paths per diagram.
        #[arg(long, default_value_t = azpath::export::DEFAULT_MAX_PATHS)]
        max_paths: usize,
    },
    /// Saved queries (queries/*.toml): list them, or run them.
    Query {
        #[command(subcommand)]
        action: QueryAction,
    },
    /// List the rules, or show one rule's documentation.
    Rules { id: Option<String> },
    /// Read a live tenant from Microsoft Graph and ARM into a new snapshot (docs/collector.md).
    Collect(azpath::collect::CollectArgs),
    /// Build a snapshot offline from a raw archive written by `collect --save-raw DIR`.
    Ingest(azpath::collect::IngestArgs),
    /// Generate a synthetic tenant (deterministic for a seed) as a facts file, or import it directly.
    Synth {
        /// A size preset: `small` (~2k edges) or `1m` (~1M edges); the counts below override it.
        #[arg(long, default_value = "small")]
        preset: String,
        #[arg(long)]
        users: Option<usize>,
        #[arg(long)]
        groups: Option<usize>,
        #[arg(long)]
        service_principals: Option<usize>,
        #[arg(long)]
        subscriptions: Option<usize>,
        #[arg(long)]
        resources: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the facts file here (default: stdout).
        #[arg(long, conflicts_with = "import")]
        output: Option<PathBuf>,
        /// Import it as a snapshot instead of writing a file.
        #[arg(long)]
        import: bool,
    },
    /// Re-derive a snapshot's edges from its stored raw facts with this version's rules, as a new snapshot.
    Rederive {
        #[arg(long, default_value = "latest")]
        snapshot: String,
    },
    /// Compare two snapshots (or one with a planned change) at the level of attack paths and facts.
    ///
    /// Examples: `azpath diff previous latest`; `azpath diff latest --make-eligible ID` (what if this
    /// standing assignment became PIM-eligible?); `azpath diff latest --assume-activated`.
    Diff {
        /// The "before" snapshot: a number, a label, `latest` or `previous`.
        a: String,
        /// The "after" snapshot; without it, A with the what-if changes below.
        b: Option<String>,
        /// Compare these saved queries (name or file, repeatable); default: every saved query.
        #[arg(long = "query")]
        queries: Vec<String>,
        #[arg(long = "queries", env = "AZPATH_QUERIES")]
        queries_dir: Option<PathBuf>,
        /// What if every PIM eligibility were active?
        #[arg(long)]
        assume_activated: bool,
        /// What if this role assignment or eligibility (Azure or directory) were removed? (repeatable)
        #[arg(long = "remove-assignment")]
        remove: Vec<String>,
        /// What if this active assignment were PIM-eligible instead? (repeatable)
        #[arg(long = "make-eligible")]
        make_eligible: Vec<String>,
        /// Exit with code 1 when any attack path opened (for CI gates on infrastructure changes).
        #[arg(long)]
        fail_on_new_paths: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: DiffFormat,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum DiffFormat {
    Table,
    Json,
    Markdown,
    /// Every changed path in one diagram: added hops green, removed red, unchanged faded.
    Dot,
}

#[derive(Subcommand)]
enum ExportAction {
    /// One DOT file per saved query (by name, or --all) and/or the demo headline, into a folder.
    Dot {
        names: Vec<String>,
        /// Every saved query.
        #[arg(long)]
        all: bool,
        /// The headline of `azpath demo`: every pipeline identity's easiest path to every crown jewel.
        #[arg(long)]
        headline: bool,
        #[arg(long, env = "AZPATH_QUERIES")]
        queries: Option<PathBuf>,
        #[arg(long, default_value = "latest")]
        snapshot: String,
        #[arg(long, default_value = "exports")]
        out_dir: PathBuf,
        /// Also render each diagram with Graphviz `dot`.
        #[arg(long, value_enum)]
        render: Option<RenderArg>,
        #[arg(long, default_value_t = azpath::export::DEFAULT_MAX_PATHS)]
        max_paths: usize,
    },
}

#[derive(Subcommand)]
enum QueryAction {
    /// List the saved queries.
    List {
        /// A directory of your own queries (*.toml), added to the built-in library.
        #[arg(long, env = "AZPATH_QUERIES")]
        queries: Option<PathBuf>,
    },
    /// Run saved queries by name or file (or --all) and print their findings by severity.
    Run {
        names: Vec<String>,
        /// Run every saved query.
        #[arg(long)]
        all: bool,
        #[arg(long, env = "AZPATH_QUERIES")]
        queries: Option<PathBuf>,
        #[arg(long, default_value = "latest")]
        snapshot: String,
        /// Print the evidence behind every hop.
        #[arg(long)]
        explain: bool,
        /// Exit with code 1 when any query finds a path (for CI gates).
        #[arg(long)]
        fail_on_findings: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("azpath: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn style_for(output: &Option<PathBuf>) -> Style {
    let color = output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    Style { color }
}

fn emit(output: &Option<PathBuf>, text: &str) -> Result<()> {
    match output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to stdout"),
            }
        }
    }
}

/// The `query run` JSON document: one paths document per query.
#[derive(serde::Serialize)]
struct QueryRunJson<'a> {
    results: Vec<report::PathsJson<'a>>,
    schema: &'static str,
}

fn json(value: &impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// A DOT diagram of `paths` with the options of `out`.
fn dot_text(
    out: &OutputArgs,
    g: &AttackGraph,
    snap: &SnapshotInfo,
    paths: &[azpath::graph::Path],
    what: &str,
) -> String {
    let title = azpath::export::title(what, snap, paths.len());
    let opts = azpath::export::DotOptions { title, max_paths: out.max_paths, ..Default::default() };
    azpath::export::paths_dot(g, paths, &opts)
}

/// Like [`emit`], but with --format dot --render the DOT text is rendered by Graphviz and the image
/// written to --output (default `exports/diagram.svg|png`).
fn emit_out(out: &OutputArgs, text: &str) -> Result<()> {
    let Some(render) = out.render.filter(|_| out.format == Format::Dot) else {
        if out.render.is_some() {
            bail!("--render needs --format dot");
        }
        return emit(&out.output, text);
    };
    let format = render.format();
    let image = azpath::export::render::render(text, format)?;
    let path = out.output.clone().unwrap_or_else(|| PathBuf::from(format!("exports/diagram.{}", format.as_str())));
    write_file(&path, &image)?;
    eprintln!("azpath: wrote {}", path.display());
    Ok(())
}

/// Writes a file, creating its folder.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Opens the database and loads a snapshot's graph.
fn load(db: &Path, snapshot: &str, verbose: u8) -> Result<(Store, SnapshotInfo, AttackGraph)> {
    let started = Instant::now();
    let store = Store::open(db)?;
    let snap = store.resolve(snapshot)?;
    let g = azpath::load_graph(&store, snap.id)?;
    if verbose > 0 {
        eprintln!(
            "azpath: loaded snapshot #{} ({} nodes, {} edges) in {:.1} ms",
            snap.id,
            g.nodes.len(),
            g.edges.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok((store, snap, g))
}

fn completeness_note(snap: &SnapshotInfo) -> String {
    if snap.completeness.is_empty() {
        String::new()
    } else {
        format!(
            "\nNote: snapshot #{} lacks {} collection(s) (`azpath snapshots -v`); a missing path may be uncollected, not absent.\n",
            snap.id,
            snap.completeness.len()
        )
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let verbose = cli.verbose;
    let db = cli.db;
    let db_shown = db.display().to_string();
    let mut code = ExitCode::SUCCESS;
    match cli.command {
        Command::Collect(args) => return azpath::collect::run_collect(&db, verbose, args),
        Command::Ingest(args) => return azpath::collect::run_ingest(&db, args),
        Command::Rules { id } => {
            let text = match id {
                None => {
                    let mut s = String::new();
                    for r in rules::RULES {
                        let kinds: Vec<&str> = r.edges.iter().map(|k| k.as_str()).collect();
                        s.push_str(&format!("{:<30} {:<28} {}\n", r.id, kinds.join(","), r.summary));
                    }
                    s
                }
                Some(id) => match rules::RULES.iter().find(|r| r.id == id) {
                    Some(r) => {
                        let kinds: Vec<&str> = r.edges.iter().map(|k| k.as_str()).collect();
                        format!("{}\nedges: {}\n\n{}\n\n{}\n", r.id, kinds.join(", "), r.summary, r.doc)
                    }
                    None => bail!("no rule {id:?}; `azpath rules` lists them"),
                },
            };
            emit(&None, &text)?;
        }
        Command::Demo { out } => {
            let started = Instant::now();
            let mut store = Store::open(&db)?;
            let summary = azpath::import_facts(&mut store, demo::raw(), Some("demo"))?;
            let snap = store.resolve(&summary.snapshot.to_string())?;
            let mut g = azpath::load_graph(&store, snap.id)?;
            let h = demo::headline(&g);
            let shown: Vec<_> = h.pipeline_paths.iter().chain(&h.user_paths).cloned().collect();
            azpath::explain_paths(&store, snap.id, &mut g, &shown)?;
            let text = match out.format {
                Format::Table => demo::headline_text(&g, &h, &snap, &db_shown, style_for(&out.output)),
                Format::Json => json(&demo::headline_json(&g, &h, &snap))?,
                Format::Dot => dot_text(
                    &out,
                    &g,
                    &snap,
                    &h.pipeline_paths,
                    "every pipeline identity's easiest path to every crown jewel",
                ),
            };
            emit_out(&out, &text)?;
            if verbose > 0 {
                eprintln!("azpath: demo took {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Command::Import { file, label } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let raw = RawFacts::from_json(&text)
                .with_context(|| format!("{} is not a valid azpath facts file", file.display()))?;
            let mut store = Store::open(&db)?;
            let s = azpath::import_facts(&mut store, raw, label.as_deref())
                .with_context(|| format!("cannot import {}", file.display()))?;
            eprintln!(
                "azpath: imported {} as snapshot #{} in {db_shown}: {} nodes, {} attack edges{}",
                file.display(),
                s.snapshot,
                s.nodes,
                s.edges,
                if s.redacted > 0 {
                    format!(" ({} credential fields removed before storing)", s.redacted)
                } else {
                    String::new()
                }
            );
            for w in s.warnings.iter().chain(if verbose > 0 { s.skipped.iter() } else { [].iter() }) {
                eprintln!("azpath: note: {w}");
            }
        }
        Command::Snapshots { out } => {
            let store = Store::open(&db)?;
            let snaps = store.snapshots()?;
            let text = match out.format {
                Format::Json => json(&serde_json::to_value(&snaps)?)?,
                Format::Table => snapshots_table(&snaps, verbose),
                Format::Dot => bail!("--format dot draws paths; `snapshots` has none"),
            };
            emit(&out.output, &text)?;
        }
        Command::Paths { from, to, search, last_edges, k, all_equal, explain, fail_on_findings, out } => {
            let (store, snap, mut g) = load(&db, &search.snapshot, verbose)?;
            let started = Instant::now();
            let sources = query::select_some(&g, &from)?;
            let targets = query::select_some(&g, &to)?;
            let opts = PathOptions { last_edge: last_edges, k, all_equal, ..search.options() };
            let paths = query::paths(&g, &sources, &targets, &opts)?;
            azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
            if verbose > 0 {
                eprintln!(
                    "azpath: {} sources, {} targets, {} paths in {:.1} ms",
                    sources.len(),
                    targets.len(),
                    paths.len(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
            let text = match out.format {
                Format::Json => json(&report::paths_json(&g, &snap, &paths))?,
                Format::Dot => dot_text(&out, &g, &snap, &paths, &format!("paths from {from} to {to}")),
                Format::Table => {
                    let mut text = report::paths_text(&g, &paths, explain, style_for(&out.output));
                    if paths.is_empty() {
                        text.push_str(&format!("No path from {from:?} to {to:?} in snapshot #{}.\n", snap.id));
                    }
                    text + &completeness_note(&snap)
                }
            };
            emit_out(&out, &text)?;
            if fail_on_findings && !paths.is_empty() {
                code = ExitCode::from(1);
            }
        }
        Command::Reach { selector, search, paths, out } => {
            reach_command(&db, &selector, &search, paths, &out, false, verbose)?;
        }
        Command::WhoCanReach { selector, search, paths, out } => {
            reach_command(&db, &selector, &search, paths, &out, true, verbose)?;
        }
        Command::Explain { from, to, edge, snapshot, out } => {
            let (store, snap, mut g) = load(&db, &snapshot, verbose)?;
            let one = |sel: &str| -> Result<petgraph::graph::NodeIndex> {
                let found = query::select_some(&g, sel)?;
                if found.len() > 1 {
                    let names: Vec<String> = found.iter().take(5).map(|&n| report::label(g.node(n))).collect();
                    bail!(
                        "{sel:?} names {} nodes ({}{}); name one node (an id is always unique)",
                        found.len(),
                        names.join(", "),
                        if found.len() > 5 { ", ..." } else { "" }
                    );
                }
                Ok(found[0])
            };
            let (s, t) = (one(&from)?, one(&to)?);
            let paths = if edge {
                g.out_edges(s)
                    .filter(|&e| g.edge_target[e] as usize == t.index())
                    .map(|e| azpath::graph::Path {
                        source: s.index(),
                        target: t.index(),
                        edges: vec![e],
                        cost: g.edges[e].cost,
                    })
                    .collect()
            } else {
                query::paths(&g, &[s], &[t], &PathOptions::default())?
            };
            if paths.is_empty() {
                bail!("no {} from {from:?} to {to:?} in snapshot #{}", if edge { "edge" } else { "path" }, snap.id);
            }
            azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
            let text = match out.format {
                Format::Json => json(&report::paths_json(&g, &snap, &paths))?,
                Format::Dot => dot_text(&out, &g, &snap, &paths, &format!("explain {from} -> {to}")),
                Format::Table => report::paths_text(&g, &paths, true, style_for(&out.output)),
            };
            emit_out(&out, &text)?;
        }
        Command::Export {
            action: ExportAction::Dot { names, all, headline, queries, snapshot, out_dir, render, max_paths },
        } => {
            let mut chosen: Vec<saved::SavedQuery> = if all {
                saved::library(queries.as_deref())?
            } else {
                names.iter().map(|n| saved::find(n, queries.as_deref())).collect::<Result<_, _>>()?
            };
            if chosen.is_empty() && !headline {
                bail!("name one or more saved queries, or --all, or --headline; `azpath query list` shows them");
            }
            let (store, snap, mut g) = load(&db, &snapshot, verbose)?;
            let mut diagrams = Vec::new();
            if headline {
                let paths = demo::headline(&g).pipeline_paths;
                diagrams.push((
                    "demo-headline".to_string(),
                    "every pipeline identity's easiest path to every crown jewel (azpath demo)".to_string(),
                    paths,
                ));
            }
            for q in chosen.drain(..) {
                let paths = query::paths(&g, &query::select(&g, &q.from)?, &query::select(&g, &q.to)?, &q.options)?;
                let sev = format!("{:?}", q.severity).to_lowercase();
                diagrams.push((q.name.clone(), format!("{} ({sev}): {}", q.name, q.description), paths));
            }
            for (name, what, paths) in &diagrams {
                azpath::explain_paths(&store, snap.id, &mut g, paths)?;
                let opts = azpath::export::DotOptions {
                    title: azpath::export::title(what, &snap, paths.len()),
                    max_paths,
                    ..Default::default()
                };
                let text = azpath::export::paths_dot(&g, paths, &opts);
                let file = format!("{name}.dot");
                write_file(&out_dir.join(&file), text.as_bytes())?;
                eprintln!("azpath: wrote {} ({} paths)", out_dir.join(&file).display(), paths.len());
                if let Some(r) = render {
                    let f = r.format();
                    let image = azpath::export::render::render(&text, f)?;
                    let image = match f {
                        azpath::export::render::RenderFormat::Svg => {
                            azpath::export::render::stamp_svg(&String::from_utf8_lossy(&image), &file, &text)
                                .into_bytes()
                        }
                        azpath::export::render::RenderFormat::Png => image,
                    };
                    let path = out_dir.join(format!("{name}.{}", f.as_str()));
                    write_file(&path, &image)?;
                    eprintln!("azpath: wrote {}", path.display());
                }
            }
        }
        Command::Report { snapshot, queries, output, render, max_paths } => {
            use azpath::export::markdown::{self, Finding, ReportOptions};
            let (store, snap, mut g) = load(&db, &snapshot, verbose)?;
            let mut findings = Vec::new();
            for q in saved::library(queries.as_deref())? {
                let paths = query::paths(&g, &query::select(&g, &q.from)?, &query::select(&g, &q.to)?, &q.options)?;
                azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
                findings.push(Finding { query: q, paths, svg: None });
            }
            if let Some(r) = render {
                let f = r.format();
                let dir = output.parent().map(Path::to_path_buf).unwrap_or_default();
                for finding in findings.iter_mut().filter(|f| !f.paths.is_empty()) {
                    let opts = azpath::export::DotOptions {
                        title: azpath::export::title(&finding.query.name, &snap, finding.paths.len()),
                        max_paths,
                        ..Default::default()
                    };
                    let text = azpath::export::paths_dot(&g, &finding.paths, &opts);
                    let file = format!("report-{}.{}", finding.query.name, f.as_str());
                    write_file(&dir.join(&file), &azpath::export::render::render(&text, f)?)?;
                    finding.svg = Some(file);
                }
            }
            let opts = ReportOptions { diagram_max_paths: max_paths, ..ReportOptions::default() };
            let text = markdown::report(&g, &snap, &findings, &opts);
            write_file(&output, text.as_bytes())?;
            eprintln!("azpath: wrote {}", output.display());
        }
        Command::Query { action: QueryAction::List { queries } } => {
            let lib = saved::library(queries.as_deref())?;
            let mut s = String::new();
            for q in lib {
                s.push_str(&format!(
                    "{:<34} {:<9} {}\n{:<34} {:<9} from: {}  to: {}\n",
                    q.name,
                    format!("{:?}", q.severity).to_lowercase(),
                    q.description,
                    "",
                    "",
                    q.from,
                    q.to
                ));
            }
            emit(&None, &s)?;
        }
        Command::Query {
            action: QueryAction::Run { names, all, queries, snapshot, explain, fail_on_findings, out },
        } => {
            let chosen: Vec<saved::SavedQuery> = if all {
                saved::library(queries.as_deref())?
            } else if names.is_empty() {
                bail!("name one or more saved queries, or --all; `azpath query list` shows them")
            } else {
                names.iter().map(|n| saved::find(n, queries.as_deref())).collect::<Result<_, _>>()?
            };
            let (store, snap, mut g) = load(&db, &snapshot, verbose)?;
            let style = style_for(&out.output);
            let mut found = Vec::new();
            for q in &chosen {
                let sources = query::select(&g, &q.from)?;
                let targets = query::select(&g, &q.to)?;
                let paths = query::paths(&g, &sources, &targets, &q.options)?;
                azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
                found.push(paths);
            }
            let findings: usize = found.iter().map(Vec::len).sum();
            // Build only the output asked for: a million-edge tenant can have 100,000s of paths.
            let text = match out.format {
                Format::Table => {
                    let mut text = String::new();
                    for (q, paths) in chosen.iter().zip(&found) {
                        let sev = format!("{:?}", q.severity).to_uppercase();
                        text.push_str(&format!(
                            "\n{} {}: {} finding{}\n{}\n",
                            style.bold(&format!("[{sev}]")),
                            style.bold(&q.name),
                            paths.len(),
                            if paths.len() == 1 { "" } else { "s" },
                            style.dim(&q.description)
                        ));
                        text.push_str(&report::paths_text(&g, paths, explain, style));
                    }
                    text + &completeness_note(&snap)
                }
                Format::Json => {
                    let results = chosen
                        .iter()
                        .zip(&found)
                        .map(|(q, paths)| {
                            let query = Some(serde_json::to_value(q)?);
                            Ok(report::PathsJson { query, ..report::paths_json(&g, &snap, paths) })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    json(&QueryRunJson { results, schema: "azpath.query-run/1" })?
                }
                Format::Dot => {
                    let names: Vec<&str> = chosen.iter().map(|q| q.name.as_str()).collect();
                    let all: Vec<_> = found.concat();
                    dot_text(&out, &g, &snap, &all, &format!("saved queries {}", names.join(", ")))
                }
            };
            emit_out(&out, &text)?;
            if fail_on_findings && findings > 0 {
                code = ExitCode::from(1);
            }
        }
        Command::Synth {
            preset,
            users,
            groups,
            service_principals,
            subscriptions,
            resources,
            seed,
            output,
            import,
        } => {
            let base = match preset.as_str() {
                "small" => azpath::synth::SynthSpec::small(seed),
                "1m" => azpath::synth::SynthSpec::one_million_edges(seed),
                other => bail!("unknown preset {other:?}; presets are small and 1m"),
            };
            let spec = azpath::synth::SynthSpec {
                users: users.unwrap_or(base.users),
                groups: groups.unwrap_or(base.groups).max(1),
                service_principals: service_principals.unwrap_or(base.service_principals),
                subscriptions: subscriptions.unwrap_or(base.subscriptions),
                resources: resources.unwrap_or(base.resources),
                seed,
            };
            let raw = azpath::synth::generate(&spec);
            if import {
                let mut store = Store::open(&db)?;
                let s = azpath::import_facts(&mut store, raw, Some(&format!("synth-{seed}")))?;
                eprintln!(
                    "azpath: synthetic tenant imported as snapshot #{}: {} nodes, {} attack edges",
                    s.snapshot, s.nodes, s.edges
                );
            } else {
                emit(&output, &(serde_json::to_string(&raw)? + "\n"))?;
            }
        }
        Command::Diff {
            a,
            b,
            queries,
            queries_dir,
            assume_activated,
            remove,
            make_eligible,
            fail_on_new_paths,
            format,
            output,
        } => {
            let what_if = azpath::diff::WhatIf { assume_activated, remove, make_eligible };
            if b.is_none() && what_if.is_empty() {
                bail!(
                    "name a second snapshot, or a planned change (--assume-activated, --remove-assignment, --make-eligible)"
                );
            }
            let chosen: Vec<saved::SavedQuery> = if queries.is_empty() {
                saved::library(queries_dir.as_deref())?
            } else {
                queries.iter().map(|n| saved::find(n, queries_dir.as_deref())).collect::<Result<_, _>>()?
            };
            let started = Instant::now();
            let (text, opened) = diff_command(&db, &a, b.as_deref(), &what_if, &chosen, format)?;
            if verbose > 0 {
                eprintln!("azpath: diff took {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
            }
            emit(&output, &text)?;
            if fail_on_new_paths && opened > 0 {
                code = ExitCode::from(1);
            }
        }
        Command::Rederive { snapshot } => {
            let mut store = Store::open(&db)?;
            let snap = store.resolve(&snapshot)?;
            let raw = store.load_raw(snap.id)?;
            let label = format!("rederived-{}", snap.id);
            let s = azpath::import_facts(&mut store, raw, Some(&label))?;
            eprintln!(
                "azpath: re-derived snapshot #{} as #{}: {} nodes, {} attack edges (was {} edges)",
                snap.id, s.snapshot, s.nodes, s.edges, snap.edges
            );
        }
    }
    Ok(code)
}

/// `diff`: the report text and how many paths opened.
fn diff_command(
    db: &Path,
    a: &str,
    b: Option<&str>,
    what_if: &azpath::diff::WhatIf,
    queries: &[saved::SavedQuery],
    format: DiffFormat,
) -> Result<(String, usize)> {
    use azpath::diff;
    let store = Store::open(db)?;
    let snap_a = store.resolve(a)?;
    let snap_b = b.map(|b| store.resolve(b)).transpose()?;
    drop(store);
    let label_b = match (&snap_b, what_if.is_empty()) {
        (Some(s), true) => format!("snapshot #{}", s.id),
        (Some(s), false) => format!("snapshot #{} with the planned change", s.id),
        (None, _) => format!("snapshot #{} with the planned change", snap_a.id),
    };
    let azpath::SnapshotDiff { before: mut graph_a, after: mut graph_b, facts: fact_changes, paths: path_changes } =
        azpath::diff_snapshots(db, snap_a.id, snap_b.as_ref().map(|s| s.id), what_if, queries)?;
    let opened = diff::new_paths(&path_changes, queries);
    let header = format!("Comparing snapshot #{} (before) with {label_b} (after).\n", snap_a.id);
    let text = match format {
        DiffFormat::Json => json(&serde_json::json!({
            "schema": "azpath.diff/1",
            "before": {"snapshot": snap_a.id},
            "after": label_b,
            "what_if": {"assume_activated": what_if.assume_activated, "remove": what_if.remove, "make_eligible": what_if.make_eligible},
            "paths": path_changes,
            "facts": fact_changes,
        }))?,
        DiffFormat::Table => header + &diff::report_text(&fact_changes, &path_changes, false),
        DiffFormat::Markdown => {
            diff::report_text(&fact_changes, &path_changes, true).replacen("\n", &format!("\n\n{header}"), 1)
        }
        DiffFormat::Dot => {
            // The diagram shows every hop's role and reason: read them for all drawn hops.
            let store = Store::open(db)?;
            let drawn = |after: bool| -> Vec<usize> {
                path_changes
                    .iter()
                    .flat_map(move |p| if after { &p.after_edges } else { &p.before_edges })
                    .copied()
                    .collect()
            };
            azpath::explain_edges(&store, snap_a.id, &mut graph_a, &drawn(false))?;
            if let (Some(b), true) = (&snap_b, what_if.is_empty()) {
                azpath::explain_edges(&store, b.id, &mut graph_b, &drawn(true))?;
            }
            let (view, paths, marks) = diff::diff_view(&graph_a, &graph_b, &path_changes);
            let opts = azpath::export::dot::DotOptions {
                title: format!(
                    "azpath diff: snapshot #{} -> {label_b}: {} changed paths",
                    snap_a.id,
                    path_changes.len()
                ),
                max_paths: 0,
                diff: Some(marks),
                ..Default::default()
            };
            azpath::export::dot::paths_dot(&view, &paths, &opts)
        }
    };
    // The process ends right after printing: freeing two million-edge graphs piece by piece
    // would only delay the exit (by about half a second at a million edges).
    std::mem::forget((graph_a, graph_b));
    Ok((text, opened))
}

/// `reach` (forward from the selection) and `who-can-reach` (backward to it).
fn reach_command(
    db: &Path,
    selector: &str,
    search: &SearchArgs,
    show_paths: bool,
    out: &OutputArgs,
    reverse: bool,
    verbose: u8,
) -> Result<()> {
    let (store, snap, mut g) = load(db, &search.snapshot, verbose)?;
    let started = Instant::now();
    let chosen = query::select_some(&g, selector)?;
    let opts = search.options();
    let mut found = if reverse { query::who_can_reach(&g, &chosen, &opts)? } else { query::reach(&g, &chosen, &opts)? };
    if !reverse {
        found.retain(|p| !chosen.iter().any(|c| c.index() == p.target));
    }
    if verbose > 0 {
        eprintln!("azpath: {} results in {:.1} ms", found.len(), started.elapsed().as_secs_f64() * 1000.0);
    }
    let text = match out.format {
        Format::Json => {
            azpath::explain_paths(&store, snap.id, &mut g, &found)?;
            json(&report::reach_json(&g, &snap, &found, reverse))?
        }
        Format::Dot => {
            azpath::explain_paths(&store, snap.id, &mut g, &found)?;
            let what = if reverse { format!("who can reach {selector}") } else { format!("what {selector} reaches") };
            dot_text(out, &g, &snap, &found, &what)
        }
        Format::Table => {
            let what = if reverse { "can reach" } else { "reaches" };
            let mut text = format!("{selector:?} {what} {} node(s) in snapshot #{}:\n", found.len(), snap.id);
            if reverse {
                text = format!("{} node(s) can reach {selector:?} in snapshot #{}:\n", found.len(), snap.id);
            }
            text + &report::reach_text(&g, &found, reverse, show_paths, style_for(&out.output))
                + &completeness_note(&snap)
        }
    };
    emit_out(out, &text)
}

fn snapshots_table(snaps: &[SnapshotInfo], verbose: u8) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(["id", "label", "tenant", "collected", "source", "nodes", "edges", "not collected"]);
    for s in snaps {
        t.add_row([
            s.id.to_string(),
            s.label.clone().unwrap_or_default(),
            s.tenant_name.clone(),
            s.collected_at.clone(),
            s.source.clone(),
            s.nodes.to_string(),
            s.edges.to_string(),
            s.completeness.len().to_string(),
        ]);
    }
    let mut text = format!("{t}\n");
    if verbose > 0 {
        for s in snaps {
            for c in &s.completeness {
                text.push_str(&format!(
                    "#{}: not collected: {} {}: {}\n",
                    s.id,
                    c.what,
                    c.scope.as_deref().unwrap_or(""),
                    c.reason
                ));
            }
            for w in &s.warnings {
                text.push_str(&format!("#{}: {w}\n", s.id));
            }
        }
    }
    text
}

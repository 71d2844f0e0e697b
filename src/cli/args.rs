//! The command line's arguments: every command and flag, with its help. Parsing only; what each
//! command does is in the sibling modules.

use azpath::model::EdgeKind;
use azpath::query::PathOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
pub struct Cli {
    /// The SQLite database holding snapshots (created owner-only if missing).
    #[arg(long, global = true, env = "AZPATH_DB", default_value = "azpath.db")]
    pub db: PathBuf,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// A Graphviz DOT diagram of the paths (render it with --render svg|png).
    Dot,
    /// SARIF 2.1.0 for GitHub code scanning (`paths` and `query run` only).
    Sarif,
    /// A Markdown summary for a CI job (`paths` and `query run` only).
    Markdown,
}

impl Format {
    /// The name given to --format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Dot => "dot",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
        }
    }
}

/// What `fix` prints.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FixFormat {
    Table,
    Json,
    Markdown,
    /// The headline paths with the plan's cuts marked.
    Dot,
}

/// What `--render` makes of a DOT diagram (with the Graphviz `dot` program).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RenderArg {
    Svg,
    Png,
}

impl RenderArg {
    pub fn format(self) -> azpath::export::render::RenderFormat {
        match self {
            RenderArg::Svg => azpath::export::render::RenderFormat::Svg,
            RenderArg::Png => azpath::export::render::RenderFormat::Png,
        }
    }
}

/// Where and how to print.
#[derive(Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the output here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// With --format dot: render the diagram with Graphviz `dot` (to --output, default exports/diagram.svg|png).
    #[arg(long, value_enum)]
    pub render: Option<RenderArg>,
    /// With --format dot: draw at most this many paths (the most severe); 0 for all.
    #[arg(long, default_value_t = azpath::export::DEFAULT_MAX_PATHS)]
    pub max_paths: usize,
}

fn edge_kind(s: &str) -> Result<EdgeKind, String> {
    EdgeKind::parse(s).ok_or_else(|| {
        let kinds: Vec<&str> = EdgeKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown edge kind {s:?}; kinds are: {}", kinds.join(", "))
    })
}

/// Limits shared by every path search.
#[derive(Args, Clone)]
pub struct SearchArgs {
    /// Snapshot: a number, a label, `latest` or `previous`.
    #[arg(long, default_value = "latest")]
    pub snapshot: String,
    /// At most this many hops (up to 64; no limit when left out).
    #[arg(long)]
    pub max_hops: Option<usize>,
    /// Ignore PIM-eligible assignments (what is reachable right now, without activation).
    #[arg(long, conflicts_with = "only_eligible")]
    pub without_eligible: bool,
    /// Only results that exist solely through PIM-eligible assignments.
    #[arg(long)]
    pub only_eligible: bool,
    /// Never walk edges of this kind (repeatable), e.g. --exclude-edge ReEnableKeys.
    #[arg(long = "exclude-edge", value_parser = edge_kind)]
    pub exclude_edges: Vec<EdgeKind>,
    /// Never pass through nodes this selector names.
    #[arg(long)]
    pub avoid: Option<String>,
}

impl SearchArgs {
    pub fn options(&self) -> PathOptions {
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

/// Collections of other tools that `import` reads.
#[derive(Subcommand)]
pub enum ImportFrom {
    /// An AzureHound collection (`azurehound list` output: JSON, or a zip of JSON files), as one
    /// snapshot; see docs/azurehound.md for what maps to what and what AzureHound cannot know.
    Azurehound {
        /// The collection's files, all of one tenant.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A name for the snapshot.
        #[arg(long)]
        label: Option<String>,
        /// When the collection was made (RFC 3339); PIM eligibilities are evaluated at it. Default:
        /// the newest file's modification time (AzureHound writes its file as it finishes).
        #[arg(long)]
        collected_at: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum Command {
    /// Load the built-in demo tenant as a new snapshot and show which pipeline identities reach which crown jewels.
    Demo {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Import a facts file (Graph/ARM JSON, see docs/facts-format.md) as a new snapshot, or another
    /// tool's collection (`azpath import azurehound FILE...`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Import {
        #[command(subcommand)]
        from: Option<ImportFrom>,
        #[arg(required = true)]
        file: Option<PathBuf>,
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
        /// The k easiest loopless paths per pair (Yen's algorithm; 1 to 100).
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
    /// The cheapest set of changes (role assignments, memberships, owners, permissions, federated
    /// credentials, access policies, key settings) that cuts every path from the sources to the
    /// targets, each with its evidence and `az` command, verified by re-deriving the graph.
    Fix {
        /// Sources (a selector).
        #[arg(long, default_value = "pipeline", conflicts_with = "query")]
        from: String,
        /// Targets (a selector).
        #[arg(long, default_value = "crown-jewels", conflicts_with = "query")]
        to: String,
        /// Take the sources, targets and options of this saved query instead.
        #[arg(long)]
        query: Option<String>,
        /// The saved-query directory for --query.
        #[arg(long, env = "AZPATH_QUERIES")]
        queries: Option<PathBuf>,
        /// Never change this (repeatable): a selector (the facts of its nodes' edges) or fact:ID (an
        /// assignment, credential, member, owner or resource id).
        #[arg(long)]
        keep: Vec<String>,
        /// A TOML file of change costs (docs/fix.md lists the keys and defaults).
        #[arg(long)]
        costs: Option<PathBuf>,
        /// Branch-and-bound nodes to search before settling for the best plan found.
        #[arg(long, default_value_t = azpath::fix::NODE_BUDGET)]
        budget: usize,
        /// Verify by removing the plan's edges from the stored graph instead of re-deriving the
        /// facts with the plan applied (faster on large tenants, blind to edges a rule derived twice).
        #[arg(long)]
        quick_verify: bool,
        #[command(flatten)]
        search: SearchArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: FixFormat,
        /// Write the output here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Facts and nodes ranked by how many (source, target) pairs' easiest paths they lie on.
    Chokepoints {
        /// Sources (a selector).
        #[arg(long, default_value = "pipeline", conflicts_with = "query")]
        from: String,
        /// Targets (a selector).
        #[arg(long, default_value = "crown-jewels", conflicts_with = "query")]
        to: String,
        /// Take the sources, targets and options of this saved query instead.
        #[arg(long)]
        query: Option<String>,
        /// The saved-query directory for --query.
        #[arg(long, env = "AZPATH_QUERIES")]
        queries: Option<PathBuf>,
        /// Show this many (0 for all).
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Count every path of a pair that costs at most COST more than its easiest one (up to 20
        /// per pair, for at most 200 pairs), not only the easiest.
        #[arg(long, value_name = "COST")]
        within: Option<u32>,
        #[command(flatten)]
        search: SearchArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: FixFormat,
        /// Write the output here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
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
    Collect(super::collect::CollectArgs),
    /// Build a snapshot offline from a raw archive written by `collect --save-raw DIR`.
    Ingest(super::collect::IngestArgs),
    /// Generate a synthetic tenant (deterministic for a seed) as a facts file, or import it directly.
    Synth {
        /// A size preset: `small` (~2k edges), `100k`, `1m` or `10m` (~100k, 1M, 10M edges); the counts below override it.
        #[arg(long, default_value = "small")]
        preset: String,
        /// Users (at least 1: the planted paths start from users).
        #[arg(long, value_parser = synth_count(1))]
        users: Option<usize>,
        #[arg(long, value_parser = synth_count(1))]
        groups: Option<usize>,
        /// Service principals (at least 1: the planted pipeline is one).
        #[arg(long, value_parser = synth_count(1))]
        service_principals: Option<usize>,
        #[arg(long, value_parser = synth_count(1))]
        subscriptions: Option<usize>,
        #[arg(long, value_parser = synth_count(0))]
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
pub enum DiffFormat {
    Table,
    Json,
    Markdown,
    /// Every changed path in one diagram: added hops green, removed red, unchanged faded.
    Dot,
}

#[derive(Subcommand)]
pub enum ExportAction {
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
    /// The graph (or saved queries' results) as BloodHound CE OpenGraph JSON (docs/interop.md).
    Opengraph {
        #[command(flatten)]
        graph: GraphExportArgs,
        /// Write the JSON here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Also write the extension schema BloodHound needs to path-find over azpath's kinds.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// The graph (or saved queries' results) as GraphML, for Gephi, yEd, networkx and the like.
    Graphml {
        #[command(flatten)]
        graph: GraphExportArgs,
        /// Write the GraphML here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// The graph (or saved queries' results) as nodes.csv and relationships.csv for
    /// `neo4j-admin database import full` (docs/interop.md).
    Csv {
        #[command(flatten)]
        graph: GraphExportArgs,
        /// The folder to write nodes.csv and relationships.csv into.
        #[arg(long, default_value = "exports/neo4j")]
        out_dir: PathBuf,
    },
}

/// What a graph export holds: the whole graph, or the paths of saved queries.
#[derive(Args)]
pub struct GraphExportArgs {
    /// Only the nodes and edges on these saved queries' paths (name or file); default: the whole graph.
    pub names: Vec<String>,
    /// Only the nodes and edges on every saved query's paths.
    #[arg(long)]
    pub all: bool,
    #[arg(long, env = "AZPATH_QUERIES")]
    pub queries: Option<PathBuf>,
    #[arg(long, default_value = "latest")]
    pub snapshot: String,
}

#[derive(Subcommand)]
pub enum QueryAction {
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

/// The most of any one thing `synth` makes: 50 million (importing a tenant of that size needs tens
/// of GiB; writing it as a file, its memberships as integers: a few GB).
pub const SYNTH_MAX_COUNT: u64 = 50_000_000;

/// A `synth` count between `min` and [`SYNTH_MAX_COUNT`]; clap names the range when it is not.
fn synth_count(min: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(min..=SYNTH_MAX_COUNT)
}

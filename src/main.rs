//! The azpath command line. The only place that writes to stdout, stderr or output files.

use anyhow::{Context as _, Result, bail};
use azpath::report::{self, Style};
use azpath::store::Store;
use azpath::{demo, facts::RawFacts, query, rules};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const EXAMPLES: &str = "\
Examples:
  azpath demo                                      load the built-in demo tenant and show its attack paths
  azpath import tenant.json --label before-pim     import a facts file (docs/facts-format.md) as a snapshot
  azpath paths --from pipeline --to crown-jewels   easiest path from every pipeline identity to every crown jewel
  azpath paths --from carol --to stmlcurated --explain
  azpath paths --from pipeline --to tier0 --format json --output paths.json
  azpath rules rbac-list-keys                      what a rule does and when it must not fire

Exit codes: 0 success, 2 error (bad input, unreadable database, nothing matched).";

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
}

#[derive(Subcommand)]
enum Command {
    /// Load the built-in demo tenant as a new snapshot and show which pipeline identities reach which crown jewels.
    Demo {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Write the output here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
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
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The easiest attack path from each selected source to each selected target.
    ///
    /// Selectors: `pipeline`, `crown-jewels`, `tier0`, `kind:KIND`, a node id, or a display name;
    /// separate alternatives with commas.
    Paths {
        /// Sources.
        #[arg(long, default_value = "pipeline")]
        from: String,
        /// Targets.
        #[arg(long, default_value = "crown-jewels")]
        to: String,
        /// Snapshot: a number, a label, `latest` or `previous`.
        #[arg(long, default_value = "latest")]
        snapshot: String,
        /// Print the evidence behind every hop (role assignment, role, scope, matched action, resource setting).
        #[arg(long)]
        explain: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// List the rules, or show one rule's documentation.
    Rules { id: Option<String> },
    /// Re-derive a snapshot's edges from its stored raw facts with this version's rules, as a new snapshot.
    Rederive {
        #[arg(long, default_value = "latest")]
        snapshot: String,
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

fn run(cli: Cli) -> Result<ExitCode> {
    let verbose = cli.verbose;
    let db_shown = cli.db.display().to_string();
    match cli.command {
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
        Command::Demo { format, output } => {
            let started = Instant::now();
            let mut store = Store::open(&cli.db)?;
            let summary = azpath::import_facts(&mut store, demo::raw(), Some("demo"))?;
            let snap = store.resolve(&summary.snapshot.to_string())?;
            let g = azpath::load_graph(&store, snap.id)?;
            let h = demo::headline(&g);
            let text = match format {
                Format::Table => demo::headline_text(&g, &h, &snap, &db_shown, style_for(&output)),
                Format::Json => serde_json::to_string_pretty(&demo::headline_json(&g, &h, &snap))? + "\n",
            };
            emit(&output, &text)?;
            if verbose > 0 {
                eprintln!("azpath: demo took {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Command::Import { file, label } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let raw = RawFacts::from_json(&text)
                .with_context(|| format!("{} is not a valid azpath facts file", file.display()))?;
            let mut store = Store::open(&cli.db)?;
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
        Command::Snapshots { format } => {
            let store = Store::open(&cli.db)?;
            let snaps = store.snapshots()?;
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&snaps)? + "\n",
                Format::Table => {
                    let mut t = comfy_table::Table::new();
                    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
                    t.set_header(["id", "label", "tenant", "collected", "source", "nodes", "edges", "not collected"]);
                    for s in &snaps {
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
                        for s in &snaps {
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
            };
            emit(&None, &text)?;
        }
        Command::Paths { from, to, snapshot, explain, format, output } => {
            let store = Store::open(&cli.db)?;
            let snap = store.resolve(&snapshot)?;
            let started = Instant::now();
            let g = azpath::load_graph(&store, snap.id)?;
            let sources = query::select(&g, &from)?;
            let targets = query::select(&g, &to)?;
            let paths = query::paths(&g, &sources, &targets);
            if verbose > 0 {
                eprintln!(
                    "azpath: snapshot #{}: {} sources, {} targets, {} paths in {:.1} ms",
                    snap.id,
                    sources.len(),
                    targets.len(),
                    paths.len(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&report::paths_json(&g, &snap, &paths))? + "\n",
                Format::Table => {
                    let style = style_for(&output);
                    let mut text = report::paths_text(&g, &paths, explain, style);
                    if paths.is_empty() {
                        text.push_str(&format!("No path from {from:?} to {to:?} in snapshot #{}.\n", snap.id));
                    }
                    if !snap.completeness.is_empty() {
                        text.push_str(&format!(
                            "\nNote: snapshot #{} lacks {} collection(s) (`azpath snapshots -v`); a missing path may be uncollected, not absent.\n",
                            snap.id,
                            snap.completeness.len()
                        ));
                    }
                    text
                }
            };
            emit(&output, &text)?;
        }
        Command::Rederive { snapshot } => {
            let mut store = Store::open(&cli.db)?;
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
    Ok(ExitCode::SUCCESS)
}

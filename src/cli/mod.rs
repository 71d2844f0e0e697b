//! The command line: arguments (`args`), one function per command (grouped by what they work on),
//! and the output helpers they share (`output`). The only code that writes to stdout, stderr or
//! output files; everything it prints is computed by the library.

pub mod args;
mod collect;
mod diff;
mod fix;
mod interop;
mod output;
mod paths;
mod queries;
mod tenant;

use anyhow::Result;
use args::{Cli, Command, ExportAction, ImportFrom, QueryAction};
use std::path::Path;
use std::process::ExitCode;

/// What every command gets from the global flags.
pub struct Ctx<'a> {
    pub db: &'a Path,
    pub verbose: u8,
}

/// Exit code 1: the command found what `--fail-on-...` asked it to fail on.
pub fn findings(found: bool) -> ExitCode {
    if found { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Runs one command; the caller turns an error into exit code 2. A database the command created
/// and left without a snapshot (a failed import, an interrupted collection) is removed again, so a
/// failure leaves the disk as it was.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let db = cli.db.clone();
    let db_existed = db.exists();
    output::protect(&db);
    let result = dispatch(cli);
    if result.is_err() && !db_existed {
        azpath::store::Store::remove_if_empty(&db);
    }
    result
}

/// Every message in an error's chain, once: a cause whose text the message before it already
/// contains (rusqlite's "database is locked" inside "database is locked") is not repeated.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // SQLite's own causes read "Error code 26: file is not a database".
        let gist = text.rsplit(": ").next().unwrap_or(&text).trim();
        if out.contains(text.trim()) || (!gist.is_empty() && out.contains(gist)) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let ctx = Ctx { db: &cli.db, verbose: cli.verbose };
    match cli.command {
        Command::Collect(args) => collect::collect(&ctx, args),
        Command::Ingest(args) => collect::ingest(&ctx, args),
        Command::Rules { id } => tenant::rules(id.as_deref()),
        Command::Demo { out } => tenant::demo(&ctx, &out),
        Command::Import { from: Some(ImportFrom::Azurehound { files, label, collected_at }), .. } => {
            tenant::import_azurehound(&ctx, &files, label.as_deref(), collected_at.as_deref())
        }
        Command::Import { file: Some(file), label, .. } => tenant::import(&ctx, &file, label.as_deref()),
        Command::Import { from: None, file: None, .. } => {
            anyhow::bail!("import needs a FILE (or `import azurehound FILE...`)")
        }
        Command::Snapshots { out } => tenant::snapshots(&ctx, &out),
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
            let counts = tenant::SynthCounts { users, groups, service_principals, subscriptions, resources };
            tenant::synth(&ctx, &preset, counts, seed, output, import)
        }
        Command::Rederive { snapshot } => tenant::rederive(&ctx, &snapshot),
        Command::Paths { from, to, search, last_edges, k, all_equal, explain, fail_on_findings, out } => {
            let ask = paths::PathsAsk { from, to, last_edges, k, all_equal, explain };
            paths::paths(&ctx, &ask, &search, &out).map(|n| findings(fail_on_findings && n > 0))
        }
        Command::Fix { from, to, query, queries, keep, costs, budget, quick_verify, search, format, output } => {
            let ask = fix::FixArgs { from, to, query, queries, keep, costs, budget, quick_verify };
            fix::fix(&ctx, ask, &search, format, &output)
        }
        Command::Chokepoints { from, to, query, queries, top, within, search, format, output } => {
            let ask =
                fix::FixArgs { from, to, query, queries, keep: vec![], costs: None, budget: 0, quick_verify: true };
            fix::chokepoints(&ctx, ask, top, within, &search, format, &output)
        }
        Command::Reach { selector, search, paths, out } => paths::reach(&ctx, &selector, &search, paths, &out, false),
        Command::WhoCanReach { selector, search, paths, out } => {
            paths::reach(&ctx, &selector, &search, paths, &out, true)
        }
        Command::Explain { from, to, edge, snapshot, out } => paths::explain(&ctx, &from, &to, edge, &snapshot, &out),
        Command::Export {
            action: ExportAction::Dot { names, all, headline, queries, snapshot, out_dir, render, max_paths },
        } => {
            let chosen = azpath::query::saved::choose(&names, all, queries.as_deref())?;
            queries::export_dot(&ctx, chosen, headline, &snapshot, &out_dir, render, max_paths)
        }
        Command::Export { action: ExportAction::Opengraph { graph, output, schema } } => {
            interop::opengraph(&ctx, &graph, &output, schema.as_deref())
        }
        Command::Export { action: ExportAction::Graphml { graph, output } } => interop::graphml(&ctx, &graph, &output),
        Command::Export { action: ExportAction::Csv { graph, out_dir } } => interop::csv(&ctx, &graph, &out_dir),
        Command::Report { snapshot, queries, output, render, max_paths } => {
            queries::report(&ctx, &snapshot, queries.as_deref(), &output, render, max_paths)
        }
        Command::Query { action: QueryAction::List { queries } } => queries::list(queries.as_deref()),
        Command::Query {
            action: QueryAction::Run { names, all, queries, snapshot, explain, fail_on_findings, out },
        } => {
            if names.is_empty() && !all {
                anyhow::bail!("name one or more saved queries, or --all; `azpath query list` shows them");
            }
            let chosen = azpath::query::saved::choose(&names, all, queries.as_deref())?;
            queries::run(&ctx, &chosen, &snapshot, explain, &out).map(|n| findings(fail_on_findings && n > 0))
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
            let what_if = azpath::diff::WhatIf { assume_activated, remove, make_eligible, ..Default::default() };
            if b.is_none() && what_if.is_empty() {
                anyhow::bail!(
                    "name a second snapshot, or a planned change (--assume-activated, --remove-assignment, --make-eligible)"
                );
            }
            let chosen = azpath::query::saved::choose(&queries, queries.is_empty(), queries_dir.as_deref())?;
            diff::diff(&ctx, &a, b.as_deref(), &what_if, &chosen, format, &output)
                .map(|opened| findings(fail_on_new_paths && opened > 0))
        }
    }
}

//! `azpath fix`: the cheapest verified plan that cuts every path of a query.

use super::Ctx;
use super::args::{FixFormat, SearchArgs};
use super::output::{completeness_note, emit, json, load};
use anyhow::{Context, Result};
use azpath::escape::terminal;
use azpath::export::dot::{DotOptions, paths_dot};
use azpath::fix::{Costs, pairs_closed};
use azpath::query::{PathOptions, saved};
use azpath::report::fix::{Asked, choke_text, chokepoints_markdown, fix_json, fix_markdown, fix_text};
use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// What `fix` was asked on the command line, besides the search options and output.
pub struct FixArgs {
    pub from: String,
    pub to: String,
    pub query: Option<String>,
    pub queries: Option<PathBuf>,
    pub keep: Vec<String>,
    pub costs: Option<PathBuf>,
    pub budget: usize,
    pub quick_verify: bool,
}

/// Reads a costs file: TOML with any of the keys of `azpath::fix::Costs` (docs/fix.md).
pub fn read_costs(path: &Option<PathBuf>) -> Result<Costs> {
    let Some(path) = path else { return Ok(Costs::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read costs file {}", path.display()))?;
    Costs::from_toml(&text).map_err(|e| anyhow::anyhow!("{} is not a valid costs file: {e}", path.display()))
}

/// The library's ask: a saved query's or the flags' sources, targets and options (the search flags
/// add to a saved query's options).
fn fix_ask(args: &FixArgs, search: &SearchArgs) -> Result<azpath::FixAsk> {
    let (from, to, options) = match &args.query {
        Some(name) => {
            let q = saved::find(name, args.queries.as_deref())?;
            (q.from, q.to, q.options)
        }
        None => (args.from.clone(), args.to.clone(), PathOptions::default()),
    };
    let cli = search.options();
    let options = PathOptions {
        max_hops: cli.max_hops.or(options.max_hops),
        without_eligible: cli.without_eligible || options.without_eligible,
        only_eligible: cli.only_eligible || options.only_eligible,
        exclude_edges: [options.exclude_edges, cli.exclude_edges].concat(),
        avoid: cli.avoid.or(options.avoid),
        ..options
    };
    Ok(azpath::FixAsk {
        from,
        to,
        options,
        keep: args.keep.clone(),
        costs: read_costs(&args.costs)?,
        node_budget: args.budget,
        rederive: !args.quick_verify,
    })
}

/// `azpath chokepoints`: facts and nodes by the number of pairs whose easiest path they lie on.
pub fn chokepoints(
    ctx: &Ctx,
    args: FixArgs,
    top: usize,
    within: Option<u32>,
    search: &SearchArgs,
    format: FixFormat,
    output: &Option<PathBuf>,
) -> Result<ExitCode> {
    let (store, snap, g) = load(ctx.db, &search.snapshot, ctx.verbose)?;
    let ask = fix_ask(&args, search)?;
    let found = azpath::chokepoints_snapshot(&store, snap.id, ManuallyDrop::into_inner(g), &ask, within)?;
    let (g, mut ranked) = (found.graph, found.ranked);
    if top > 0 {
        ranked.truncate(top);
    }
    let which = match within {
        Some(extra) => format!("paths within {extra} of the easiest ({} counted)", found.paths),
        None => "easiest paths".to_string(),
    };
    if found.truncated > 0 {
        eprintln!(
            "azpath: {} pair(s) have more than {} paths within the bound; their cheapest {} were counted",
            found.truncated,
            azpath::fix::WITHIN_LIMIT,
            azpath::fix::WITHIN_LIMIT
        );
    }
    let text = match format {
        FixFormat::Json => json(&serde_json::json!({
            "schema": "azpath.chokepoints/1",
            "snapshot": snap.id,
            "from": ask.from,
            "to": ask.to,
            "pairs": found.pairs,
            "within": within,
            "paths": found.paths,
            "truncated_pairs": found.truncated,
            "chokepoints": ranked,
        }))?,
        FixFormat::Markdown => chokepoints_markdown(&g, &ranked, found.pairs, within),
        FixFormat::Table | FixFormat::Dot => {
            if format == FixFormat::Dot {
                anyhow::bail!("chokepoints has no diagram; use --format table, json or markdown");
            }
            let mut s = format!(
                "{} (source, target) pairs from {:?} to {:?}; on how many pairs' {which}:\n",
                found.pairs,
                terminal(&ask.from),
                terminal(&ask.to)
            );
            for c in &ranked {
                s.push_str(&format!("{:>6}  {}\n", c.pairs, terminal(&choke_text(&g, &c.what))));
            }
            s + &completeness_note(&snap)
        }
    };
    emit(output, &text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn fix(
    ctx: &Ctx,
    args: FixArgs,
    search: &SearchArgs,
    format: FixFormat,
    output: &Option<PathBuf>,
) -> Result<ExitCode> {
    let (store, snap, g) = load(ctx.db, &search.snapshot, ctx.verbose)?;
    let ask = fix_ask(&args, search)?;
    let (from, to) = (ask.from.clone(), ask.to.clone());
    let started = Instant::now();
    let outcome = azpath::fix_graph(&store, snap.id, ManuallyDrop::into_inner(g), &ask)?;
    if ctx.verbose > 0 {
        eprintln!(
            "azpath: fix: {} candidate changes over {} arcs, {} search nodes, verified ({}) in {:.1} ms total",
            outcome.plan.candidates,
            outcome.plan.arcs,
            outcome.plan.search_nodes,
            outcome.check.method,
            started.elapsed().as_secs_f64() * 1000.0
        );
        let phases: Vec<String> =
            outcome.timings.iter().map(|(what, t)| format!("{what} {:.1} ms", t.as_secs_f64() * 1000.0)).collect();
        eprintln!("azpath: fix: phases: {}", phases.join(", "));
    }
    let g = &outcome.graph;
    let closed = pairs_closed(&outcome.plan, &outcome.before);
    let asked = Asked { from: &from, to: &to };
    let (plan, before, check) = (&outcome.plan, &outcome.before, &outcome.check);
    let text = match format {
        FixFormat::Json => json(&fix_json(g, &snap, &asked, plan, before, &closed, check))?,
        FixFormat::Table => fix_text(g, &asked, plan, before, &closed, check) + &completeness_note(&snap),
        FixFormat::Markdown => fix_markdown(g, &asked, plan, before, &closed, check),
        FixFormat::Dot => {
            let marks: HashMap<usize, azpath::diff::DiffMark> = before
                .iter()
                .flat_map(|p| p.edges.iter().copied())
                .map(|e| (e, azpath::diff::DiffMark::Unchanged))
                .chain(plan.cut_edges().into_iter().map(|e| (e, azpath::diff::DiffMark::Removed)))
                .collect();
            let opts = DotOptions {
                title: format!("fix {from} -> {to}: cut edges in red (snapshot #{})", snap.id),
                max_paths: 0,
                diff: Some(marks),
                ..DotOptions::default()
            };
            paths_dot(g, before, &opts)
        }
    };
    emit(output, &text)?;
    // Paths left open (a plan that could not close them) are findings for scripts.
    Ok(if outcome.check.remaining.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

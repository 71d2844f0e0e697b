//! Path commands on one snapshot: `paths`, `reach`, `who-can-reach`, `explain`.

use super::Ctx;
use super::args::{Format, OutputArgs, SearchArgs};
use super::output::{
    completeness_note, dot_text, emit_json, emit_out, emit_with, findings_format_error, findings_formats_only, json,
    load, no_render, style_for,
};
use anyhow::{Result, bail};
use azpath::escape::terminal;
use azpath::export::markdown::{self, SummarySection};
use azpath::export::sarif;
use azpath::graph::{Path as GraphPath, Reached};
use azpath::model::EdgeKind;
use azpath::query::saved::Severity;
use azpath::query::{self, PathOptions};
use azpath::report;
use std::process::ExitCode;
use std::time::Instant;

/// What `paths` asks, besides the search limits.
pub struct PathsAsk {
    pub from: String,
    pub to: String,
    pub last_edges: Vec<EdgeKind>,
    pub k: Option<usize>,
    pub all_equal: bool,
    pub explain: bool,
}

/// `azpath paths`: the paths found, and how many (for `--fail-on-findings`).
pub fn paths(ctx: &Ctx, ask: &PathsAsk, search: &SearchArgs, out: &OutputArgs) -> Result<usize> {
    if out.render.is_some() && out.format != Format::Dot {
        anyhow::bail!("--render needs --format dot");
    }
    let (store, snap, mut g) = load(ctx.db, &search.snapshot, ctx.verbose)?;
    let started = Instant::now();
    let sources = query::select_some(&g, &ask.from)?;
    let targets = query::select_some(&g, &ask.to)?;
    let opts =
        PathOptions { last_edge: ask.last_edges.clone(), k: ask.k, all_equal: ask.all_equal, ..search.options() };
    let paths = query::paths(&g, &sources, &targets, &opts)?;
    // The search alone (selection included) is what benches/peers compares with other graph libraries.
    let searched_ms = started.elapsed().as_secs_f64() * 1000.0;
    azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
    if ctx.verbose > 0 {
        eprintln!(
            "azpath: {} sources, {} targets, {} paths in {:.1} ms (search {searched_ms:.1} ms, then details)",
            sources.len(),
            targets.len(),
            paths.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let (from, to) = (&ask.from, &ask.to);
    let text = match out.format {
        // Written as it is serialised: on a large tenant it is hundreds of megabytes.
        Format::Json => {
            emit_json(out, &report::paths_json(&g, &snap, &paths))?;
            return Ok(paths.len());
        }
        Format::Dot => dot_text(out, &g, &snap, &paths, &format!("paths from {from} to {to}")),
        Format::Table => {
            let mut text = report::paths_text(&g, &paths, ask.explain, style_for(&out.output));
            if paths.is_empty() {
                text.push_str(&format!("No path from {from:?} to {to:?} in snapshot #{}.\n", snap.id));
            }
            text + &completeness_note(&snap)
        }
        Format::Sarif => {
            let title = format!("paths from {from} to {to}");
            let rule = sarif::RuleFindings {
                id: "paths".to_string(),
                description: format!("Attack paths {title}"),
                severity: Severity::Medium,
                file: None,
                paths: &paths,
            };
            json(&sarif::sarif(&g, &[rule]))?
        }
        Format::Markdown => {
            let section = SummarySection {
                title: format!("paths from {from} to {to}"),
                description: String::new(),
                severity: None,
                paths: &paths,
            };
            markdown::findings_summary(&g, &snap, &[section])
        }
    };
    emit_out(out, &text)?;
    Ok(paths.len())
}

/// `azpath reach` (forward from the selection) and `who-can-reach` (`reverse`: backward to it).
pub fn reach(
    ctx: &Ctx,
    selector: &str,
    search: &SearchArgs,
    show_paths: bool,
    out: &OutputArgs,
    reverse: bool,
) -> Result<ExitCode> {
    findings_formats_only(out, if reverse { "who-can-reach" } else { "reach" })?;
    let (store, snap, mut g) = load(ctx.db, &search.snapshot, ctx.verbose)?;
    let started = Instant::now();
    let chosen = query::select_some(&g, selector)?;
    let opts = search.options();
    // Neither search lists the selected nodes themselves. A table without paths needs only each
    // result's summary: no path is made (millions, at 10M).
    if out.format == Format::Table && !show_paths {
        let found = if reverse {
            query::who_can_reach_summary(&g, &chosen, &opts)?
        } else {
            query::reach_summary(&g, &chosen, &opts)?
        };
        if ctx.verbose > 0 {
            eprintln!("azpath: {} results in {:.1} ms", found.len(), started.elapsed().as_secs_f64() * 1000.0);
        }
        no_render(out)?;
        emit_with(&out.output, |w| {
            w.write_all(reach_header(selector, found.len(), snap.id, reverse).as_bytes())?;
            report::reach_text(w, &g, &found, None, style_for(&out.output))?;
            w.write_all(completeness_note(&snap).as_bytes())?;
            w.flush()
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let found = if reverse { query::who_can_reach(&g, &chosen, &opts)? } else { query::reach(&g, &chosen, &opts)? };
    if ctx.verbose > 0 {
        eprintln!("azpath: {} results in {:.1} ms", found.len(), started.elapsed().as_secs_f64() * 1000.0);
    }
    let text = match out.format {
        Format::Json => {
            azpath::explain_paths(&store, snap.id, &mut g, &found)?;
            // Written as it is made: millions of results would not fit in memory as one text.
            emit_json(out, &report::reach_json(&g, &snap, &found, reverse))?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Dot => {
            azpath::explain_paths(&store, snap.id, &mut g, &found)?;
            let what = if reverse { format!("who can reach {selector}") } else { format!("what {selector} reaches") };
            dot_text(out, &g, &snap, &found, &what)
        }
        Format::Table => {
            let summary: Vec<Reached> = found.iter().map(|p| Reached::of(p, &g, reverse)).collect();
            let mut text = reach_header(selector, found.len(), snap.id, reverse).into_bytes();
            report::reach_text(&mut text, &g, &summary, Some(&found), style_for(&out.output))?;
            String::from_utf8(text)? + &completeness_note(&snap)
        }
        f @ (Format::Sarif | Format::Markdown) => {
            return Err(findings_format_error(f, if reverse { "who-can-reach" } else { "reach" }));
        }
    };
    emit_out(out, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// The first line of a `reach` or `who-can-reach` table.
fn reach_header(selector: &str, count: usize, snapshot: i64, reverse: bool) -> String {
    if reverse {
        format!("{count} node(s) can reach {selector:?} in snapshot #{snapshot}:\n")
    } else {
        format!("{selector:?} reaches {count} node(s) in snapshot #{snapshot}:\n")
    }
}

/// `azpath explain FROM TO`: every hop of the easiest path with its evidence, or (`edge`) the
/// direct edges between the two.
pub fn explain(ctx: &Ctx, from: &str, to: &str, edge: bool, snapshot: &str, out: &OutputArgs) -> Result<ExitCode> {
    findings_formats_only(out, "explain")?;
    let (store, snap, mut g) = load(ctx.db, snapshot, ctx.verbose)?;
    let one = |sel: &str| -> Result<azpath::graph::NodeId> {
        let found = query::select_some(&g, sel)?;
        if found.len() > 1 {
            let names: Vec<String> =
                found.iter().take(5).map(|&n| terminal(&report::label(g.node(n))).into_owned()).collect();
            bail!(
                "{sel:?} names {} nodes ({}{}); name one node (an id is always unique)",
                found.len(),
                names.join(", "),
                if found.len() > 5 { ", ..." } else { "" }
            );
        }
        Ok(found[0])
    };
    let (s, t) = (one(from)?, one(to)?);
    let paths: Vec<GraphPath> = if edge {
        g.out_edges(s)
            .filter(|&e| g.edge_target(e) == t)
            .map(|e| GraphPath { source: s, target: t, edges: vec![e], cost: g.edge_cost(e) })
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
        Format::Dot => dot_text(out, &g, &snap, &paths, &format!("explain {from} -> {to}")),
        Format::Table => report::paths_text(&g, &paths, true, style_for(&out.output)),
        f @ (Format::Sarif | Format::Markdown) => return Err(findings_format_error(f, "explain")),
    };
    emit_out(out, &text)?;
    Ok(ExitCode::SUCCESS)
}

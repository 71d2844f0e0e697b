//! `azpath diff`: two snapshots, or one with a planned change, compared at the level of attack paths.

use super::Ctx;
use super::args::DiffFormat;
use super::output::{emit, json};
use anyhow::Result;
use azpath::diff::{self, WhatIf};
use azpath::query::saved::SavedQuery;
use azpath::report::diff as words;
use std::path::PathBuf;
use std::time::Instant;

/// Prints the diff; returns how many attack paths opened (for `--fail-on-new-paths`).
pub fn diff(
    ctx: &Ctx,
    a: &str,
    b: Option<&str>,
    what_if: &WhatIf,
    queries: &[SavedQuery],
    format: DiffFormat,
    output: &Option<PathBuf>,
) -> Result<usize> {
    let started = Instant::now();
    let store = super::output::open_existing_store(ctx.db)?;
    let snap_a = store.resolve(a)?;
    let snap_b = b.map(|b| store.resolve(b)).transpose()?;
    drop(store);
    let stored_b = snap_b.as_ref().filter(|_| what_if.is_empty());
    let label_b = match (&snap_b, stored_b) {
        (Some(s), Some(_)) => format!("snapshot #{}", s.id),
        (Some(s), None) => format!("snapshot #{} with the planned change", s.id),
        (None, _) => format!("snapshot #{} with the planned change", snap_a.id),
    };
    let mut d = azpath::diff_snapshots(ctx.db, snap_a.id, snap_b.as_ref().map(|s| s.id), what_if, queries)?;
    let opened = diff::new_paths(&d.paths, queries);
    let header = format!("Comparing snapshot #{} (before) with {label_b} (after).\n", snap_a.id);
    let text = match format {
        DiffFormat::Json => json(&words::diff_json(&d, snap_a.id, &label_b, what_if))?,
        DiffFormat::Table => header + &words::diff_text(&d, false),
        DiffFormat::Markdown => words::diff_text(&d, true).replacen("\n", &format!("\n\n{header}"), 1),
        DiffFormat::Dot => {
            // The diagram shows every hop's role and reason: read them for all drawn hops.
            let store = super::output::open_existing_store(ctx.db)?;
            let drawn = |after: bool| -> Vec<usize> { d.paths.iter().flat_map(|p| p.edges(after)).copied().collect() };
            let (before_edges, after_edges) = (drawn(false), drawn(true));
            azpath::explain_edges(&store, snap_a.id, &mut d.before, &before_edges)?;
            if let Some(b) = stored_b {
                azpath::explain_edges(&store, b.id, &mut d.after, &after_edges)?;
            }
            let (view, paths, marks) = diff::diff_view(&d.before, &d.after, &d.paths);
            let opts = azpath::export::DotOptions {
                title: format!("azpath diff: snapshot #{} -> {label_b}: {} changed paths", snap_a.id, d.paths.len()),
                max_paths: 0,
                diff: Some(marks),
                ..Default::default()
            };
            azpath::export::paths_dot(&view, &paths, &opts)
        }
    };
    if ctx.verbose > 0 {
        eprintln!("azpath: diff took {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    }
    emit(output, &text)?;
    // The process ends right after printing: freeing two million-edge graphs piece by piece
    // would only delay the exit (by about half a second at a million edges).
    std::mem::forget(d);
    Ok(opened)
}

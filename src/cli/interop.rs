//! Graph exports for other tools: `export opengraph` (BloodHound CE), `export graphml`,
//! `export csv` (neo4j-admin import files). See `docs/interop.md`.

use super::Ctx;
use super::args::GraphExportArgs;
use super::output::{emit, json, load, write_file};
use anyhow::Result;
use azpath::escape::terminal;
use azpath::export::{Selection, graphml, neo4j_csv, opengraph};
use azpath::graph::AttackGraph;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Loads the snapshot and picks what to export: the whole graph, or the saved queries' paths;
/// with every chosen edge's reason and evidence read.
fn selected(ctx: &Ctx, args: &GraphExportArgs) -> Result<(AttackGraph, Selection)> {
    let chosen = if args.names.is_empty() && !args.all {
        None
    } else {
        Some(azpath::query::saved::choose(&args.names, args.all, args.queries.as_deref())?)
    };
    let (store, snap, mut g) = load(ctx.db, &args.snapshot, ctx.verbose)?;
    let sel = match chosen {
        None => Selection::all(&g),
        Some(queries) => {
            let mut paths = Vec::new();
            for q in &queries {
                paths.extend(q.run(&g)?);
            }
            Selection::of_paths(&g, &paths)
        }
    };
    azpath::explain_edges(&store, snap.id, &mut g, &sel.edges)?;
    Ok((ManuallyDrop::into_inner(g), sel))
}

fn wrote(path: &Path, sel: &Selection) {
    eprintln!(
        "azpath: wrote {} ({} nodes, {} edges)",
        terminal(&path.display().to_string()),
        sel.nodes.len(),
        sel.edges.len()
    );
}

/// `azpath export opengraph`: the OpenGraph document, and with `--schema` BloodHound's extension schema.
pub fn opengraph(
    ctx: &Ctx,
    args: &GraphExportArgs,
    output: &Option<PathBuf>,
    schema: Option<&Path>,
) -> Result<ExitCode> {
    let (g, sel) = selected(ctx, args)?;
    emit(output, &json(&opengraph::opengraph(&g, &sel))?)?;
    if let Some(path) = output {
        wrote(path, &sel);
    }
    if let Some(path) = schema {
        write_file(path, json(&opengraph::extension_schema())?.as_bytes())?;
        eprintln!("azpath: wrote {}", terminal(&path.display().to_string()));
    }
    Ok(ExitCode::SUCCESS)
}

/// `azpath export graphml`.
pub fn graphml(ctx: &Ctx, args: &GraphExportArgs, output: &Option<PathBuf>) -> Result<ExitCode> {
    let (g, sel) = selected(ctx, args)?;
    emit(output, &graphml::graphml(&g, &sel))?;
    if let Some(path) = output {
        wrote(path, &sel);
    }
    Ok(ExitCode::SUCCESS)
}

/// `azpath export csv`: nodes.csv and relationships.csv in `out_dir`.
pub fn csv(ctx: &Ctx, args: &GraphExportArgs, out_dir: &Path) -> Result<ExitCode> {
    let (g, sel) = selected(ctx, args)?;
    let files = neo4j_csv::neo4j_csv(&g, &sel)?;
    write_file(&out_dir.join("nodes.csv"), files.nodes.as_bytes())?;
    write_file(&out_dir.join("relationships.csv"), files.relationships.as_bytes())?;
    wrote(out_dir, &sel);
    Ok(ExitCode::SUCCESS)
}

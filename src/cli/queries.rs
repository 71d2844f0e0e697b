//! Saved-query commands: `query list`, `query run`, `export dot`, `report`.

use super::Ctx;
use super::args::{Format, OutputArgs, RenderArg};
use super::output::{
    completeness_note, diagram, dot_text, emit, emit_out, json, load, style_for, write_file, write_image,
};
use anyhow::{Result, bail};
use azpath::escape::terminal;
use azpath::export::markdown::{self, Finding, ReportOptions, SummarySection};
use azpath::export::sarif;
use azpath::query::saved::{self, SavedQuery};
use azpath::report;
use std::mem::ManuallyDrop;
use std::path::Path;
use std::process::ExitCode;

/// `azpath query list`.
pub fn list(dir: Option<&Path>) -> Result<ExitCode> {
    let mut s = String::new();
    for q in saved::library(dir)? {
        s.push_str(&format!(
            "{:<34} {:<9} {}\n{:<34} {:<9} from: {}  to: {}\n",
            terminal(&q.name),
            q.severity,
            terminal(&q.description),
            "",
            "",
            terminal(&q.from),
            terminal(&q.to)
        ));
    }
    emit(&None, &s)?;
    Ok(ExitCode::SUCCESS)
}

/// The `query run` JSON document: one paths document per query.
#[derive(serde::Serialize)]
struct QueryRunJson<'a> {
    results: Vec<report::PathsJson<'a>>,
    schema: &'static str,
}

/// `azpath query run`: each query's findings by severity; returns how many paths were found.
pub fn run(ctx: &Ctx, chosen: &[SavedQuery], snapshot: &str, explain: bool, out: &OutputArgs) -> Result<usize> {
    let (store, snap, mut g) = load(ctx.db, snapshot, ctx.verbose)?;
    let style = style_for(&out.output);
    let mut found = Vec::new();
    for q in chosen {
        let paths = q.run(&g)?;
        azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
        found.push(paths);
    }
    let findings: usize = found.iter().map(Vec::len).sum();
    // Build only the output asked for: a million-edge tenant can have 100,000s of paths.
    let text = match out.format {
        Format::Table => {
            let mut text = String::new();
            for (q, paths) in chosen.iter().zip(&found) {
                let sev = q.severity.as_str().to_ascii_uppercase();
                text.push_str(&format!(
                    "\n{} {}: {} finding{}\n{}\n",
                    style.bold(&format!("[{sev}]")),
                    style.bold(&terminal(&q.name)),
                    paths.len(),
                    if paths.len() == 1 { "" } else { "s" },
                    style.dim(&terminal(&q.description))
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
            dot_text(out, &g, &snap, &all, &format!("saved queries {}", names.join(", ")))
        }
        Format::Sarif => {
            let rules: Vec<_> =
                chosen.iter().zip(&found).map(|(q, paths)| sarif::RuleFindings::of_query(q, paths)).collect();
            json(&sarif::sarif(&g, &rules))?
        }
        Format::Markdown => {
            let sections: Vec<_> = chosen
                .iter()
                .zip(&found)
                .map(|(q, paths)| SummarySection {
                    title: q.name.clone(),
                    description: q.description.clone(),
                    severity: Some(q.severity),
                    paths,
                })
                .collect();
            markdown::findings_summary(&g, &snap, &sections)
        }
    };
    emit_out(out, &text)?;
    Ok(findings)
}

/// `azpath export dot`: one DOT file (and image) per saved query and/or the demo headline.
pub fn export_dot(
    ctx: &Ctx,
    chosen: Vec<SavedQuery>,
    headline: bool,
    snapshot: &str,
    out_dir: &Path,
    render: Option<RenderArg>,
    max_paths: usize,
) -> Result<ExitCode> {
    if chosen.is_empty() && !headline {
        bail!("name one or more saved queries, or --all, or --headline; `azpath query list` shows them");
    }
    let (store, snap, mut g) = load(ctx.db, snapshot, ctx.verbose)?;
    let mut diagrams = Vec::new();
    if headline {
        let paths = azpath::demo::headline(&g).pipeline_paths;
        let what = "every pipeline identity's easiest path to every crown jewel (azpath demo)";
        diagrams.push(("demo-headline".to_string(), what.to_string(), paths));
    }
    for q in chosen {
        let paths = q.run(&g)?;
        diagrams.push((q.name.clone(), azpath::export::query_caption(&q), paths));
    }
    for (name, what, paths) in &diagrams {
        azpath::explain_paths(&store, snap.id, &mut g, paths)?;
        let text = diagram(&g, &snap, paths, what, max_paths);
        let file = format!("{name}.dot");
        write_file(&out_dir.join(&file), text.as_bytes())?;
        eprintln!("azpath: wrote {} ({} paths)", terminal(&out_dir.join(&file).display().to_string()), paths.len());
        if let Some(r) = render {
            let path = out_dir.join(format!("{name}.{}", r.format().as_str()));
            write_image(&path, &text, r.format(), Some(&file))?;
            eprintln!("azpath: wrote {}", terminal(&path.display().to_string()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `azpath report`: the Markdown audit report of every saved query, with rendered diagrams on request.
pub fn report(
    ctx: &Ctx,
    snapshot: &str,
    queries: Option<&Path>,
    output: &Path,
    render: Option<RenderArg>,
    max_paths: usize,
) -> Result<ExitCode> {
    let (store, snap, mut g) = load(ctx.db, snapshot, ctx.verbose)?;
    let mut findings = Vec::new();
    for q in saved::library(queries)? {
        let paths = q.run(&g)?;
        azpath::explain_paths(&store, snap.id, &mut g, &paths)?;
        findings.push(Finding { query: q, paths, svg: None });
    }
    if let Some(r) = render {
        let dir = output.parent().map(Path::to_path_buf).unwrap_or_default();
        for finding in findings.iter_mut().filter(|f| !f.paths.is_empty()) {
            let text = diagram(&g, &snap, &finding.paths, &finding.query.name, max_paths);
            let file = format!("report-{}.{}", finding.query.name, r.format().as_str());
            write_image(&dir.join(&file), &text, r.format(), None)?;
            finding.svg = Some(file);
        }
    }
    // The fix plan reads more evidence into the same graph and hands it back.
    let (fix_first, g) = fix_first(&store, &snap, ManuallyDrop::into_inner(g))?;
    let opts = ReportOptions { diagram_max_paths: max_paths, fix_first: Some(fix_first), ..ReportOptions::default() };
    let text = markdown::report(&g, &snap, &findings, &opts);
    write_file(output, text.as_bytes())?;
    eprintln!("azpath: wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// The report's "Fix first" section: `fix` pipeline -> crown-jewels (verified by re-deriving) and
/// the ten chokepoints its paths share most.
fn fix_first(
    store: &azpath::store::Store,
    snap: &azpath::model::SnapshotInfo,
    g: azpath::graph::AttackGraph,
) -> Result<(String, azpath::graph::AttackGraph)> {
    use azpath::report::fix::{Asked, chokepoints_markdown, fix_markdown};
    let ask = azpath::FixAsk {
        from: "pipeline".into(),
        to: "crown-jewels".into(),
        options: azpath::query::PathOptions::default(),
        keep: vec![],
        costs: azpath::fix::Costs::default(),
        node_budget: azpath::fix::NODE_BUDGET,
        rederive: true,
    };
    let out = azpath::fix_graph(store, snap.id, g, &ask)?;
    let closed = azpath::fix::pairs_closed(&out.plan, &out.before);
    let asked = Asked { from: &ask.from, to: &ask.to };
    let mut s = fix_markdown(&out.graph, &asked, &out.plan, &out.before, &closed, &out.check);
    let mut ranked = azpath::fix::chokepoints(&out.graph, &out.before);
    ranked.truncate(10);
    s.push('\n');
    s.push_str(&chokepoints_markdown(&out.graph, &ranked, out.before.len(), None));
    s.push_str("\n`azpath fix` and `azpath chokepoints` print these with every command and evidence (docs/fix.md).\n");
    Ok((s, out.graph))
}

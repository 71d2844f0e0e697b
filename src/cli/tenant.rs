//! Commands that load or list snapshots, and the rule book: `demo`, `import`, `snapshots`,
//! `synth`, `rederive`, `rules`.

use super::Ctx;
use super::args::{Format, OutputArgs};
use super::output::{dot_text, emit, emit_out, json, style_for};
use anyhow::{Context as _, Result, bail};
use azpath::escape::terminal;
use azpath::model::SnapshotInfo;
use azpath::{demo as demo_tenant, facts::CompactFacts, rules as rule_book};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// `azpath rules [ID]`: every rule on a line, or one rule's documentation.
pub fn rules(id: Option<&str>) -> Result<ExitCode> {
    let kinds = |r: &rule_book::Rule, sep: &str| r.edges.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(sep);
    let text = match id {
        None => {
            rule_book::RULES.iter().map(|r| format!("{:<30} {:<28} {}\n", r.id, kinds(r, ","), r.summary)).collect()
        }
        Some(id) => match rule_book::RULES.iter().find(|r| r.id == id) {
            Some(r) => format!("{}\nedges: {}\n\n{}\n\n{}\n", r.id, kinds(r, ", "), r.summary, r.doc),
            None => bail!("no rule {id:?}; `azpath rules` lists them"),
        },
    };
    emit(&None, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// `azpath demo`: load the demo tenant as a new snapshot and print its headline.
pub fn demo(ctx: &Ctx, out: &OutputArgs) -> Result<ExitCode> {
    super::output::findings_formats_only(out, "demo")?;
    let started = Instant::now();
    let mut store = super::output::open_store(ctx.db)?;
    let summary = azpath::import_facts(&mut store, demo_tenant::raw(), Some("demo"))?;
    let snap = store.resolve(&summary.snapshot.to_string())?;
    let mut g = azpath::load_graph(&store, snap.id)?;
    let h = demo_tenant::headline(&g);
    let shown: Vec<_> = h.pipeline_paths.iter().chain(&h.user_paths).cloned().collect();
    azpath::explain_paths(&store, snap.id, &mut g, &shown)?;
    let text = match out.format {
        Format::Table => {
            demo_tenant::headline_text(&g, &h, &snap, &ctx.db.display().to_string(), style_for(&out.output))
        }
        Format::Json => json(&demo_tenant::headline_json(&g, &h, &snap))?,
        Format::Dot => {
            dot_text(out, &g, &snap, &h.pipeline_paths, "every pipeline identity's easiest path to every crown jewel")
        }
        f @ (Format::Sarif | Format::Markdown) => return Err(super::output::findings_format_error(f, "demo")),
    };
    emit_out(out, &text)?;
    if ctx.verbose > 0 {
        eprintln!("azpath: demo took {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(ExitCode::SUCCESS)
}

/// The largest facts file `import` reads: 8 GiB, several times a 10M-edge tenant's. It is read as a
/// stream; what stays in memory is its collections as compact text, at most about its own size.
pub const MAX_FACTS_BYTES: u64 = 8 << 30;

/// Reads a facts file as a stream (redacting each object as it is read), refusing what cannot be
/// one before reading it all: more than [`MAX_FACTS_BYTES`], or a first byte that cannot start a
/// JSON object (`/dev/zero`, a binary).
fn read_facts(file: &Path) -> Result<CompactFacts> {
    use std::io::{BufRead as _, Read as _};
    let shown = file.display();
    let f = std::fs::File::open(file).with_context(|| format!("cannot read {shown}"))?;
    let meta = f.metadata().with_context(|| format!("cannot read {shown}"))?;
    if meta.is_dir() {
        bail!("{shown} is a directory; `azpath ingest DIR` reads a raw archive");
    }
    let too_big = || anyhow::anyhow!("{shown} is larger than the {} GiB limit for a facts file", MAX_FACTS_BYTES >> 30);
    if meta.len() > MAX_FACTS_BYTES {
        return Err(too_big());
    }
    let read = std::cell::Cell::new(0u64);
    let counted = CountedRead { inner: f, read: &read };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, counted.take(MAX_FACTS_BYTES + 1));
    if reader.fill_buf().with_context(|| format!("cannot read {shown}"))?.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    // Skip to the first byte that is not blank: a device or binary file is rejected without
    // reading on (a pipe may hand over the leading blanks a few bytes at a time).
    let mut blanks = 0;
    let first = loop {
        let buf = reader.fill_buf().with_context(|| format!("cannot read {shown}"))?;
        if let Some(at) = buf.iter().position(|b| !b.is_ascii_whitespace()) {
            let first = buf[at];
            reader.consume(at);
            break Some(first);
        }
        let n = buf.len();
        reader.consume(n);
        blanks += n;
        if n == 0 || blanks > 65536 {
            break None;
        }
    };
    if first != Some(b'{') {
        bail!("{shown} is not a valid azpath facts file: it does not start with a JSON object (`{{`)");
    }
    let facts = CompactFacts::read(reader);
    if read.get() > MAX_FACTS_BYTES {
        return Err(too_big());
    }
    facts.with_context(|| format!("{shown} is not a valid azpath facts file"))
}

/// A reader that counts the bytes it hands over.
struct CountedRead<'c, R> {
    inner: R,
    read: &'c std::cell::Cell<u64>,
}

impl<R: std::io::Read> std::io::Read for CountedRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// `azpath import FILE`: a facts file as a new snapshot.
pub fn import(ctx: &Ctx, file: &Path, label: Option<&str>) -> Result<ExitCode> {
    let started = Instant::now();
    let raw = read_facts(file)?;
    if ctx.verbose > 0 {
        eprintln!("azpath: read {} in {:.1} s", terminal(&file.display().to_string()), started.elapsed().as_secs_f64());
    }
    // Everything that can be wrong with the input fails here, before the database is touched.
    let prepared = azpath::prepare(raw).with_context(|| format!("cannot import {}", file.display()))?;
    let s = write_prepared(ctx, prepared, label).with_context(|| format!("cannot import {}", file.display()))?;
    let redacted = if s.redacted > 0 {
        format!(" ({} credential fields removed before storing)", s.redacted)
    } else {
        String::new()
    };
    print_imported(ctx, &terminal(&file.display().to_string()), &redacted, &s);
    Ok(ExitCode::SUCCESS)
}

/// Writes a prepared snapshot; with `-v`, first says how long each stage of preparing it took,
/// then how long the write took (a large tenant's import runs for minutes).
fn write_prepared(ctx: &Ctx, prepared: azpath::Prepared, label: Option<&str>) -> Result<azpath::ImportSummary> {
    if ctx.verbose > 0 {
        let t = prepared.timings;
        eprintln!(
            "azpath: parsed the facts in {:.1} s, derived the attack edges in {:.1} s (indexing the facts alongside: {:.1} s)",
            t.parse.as_secs_f64(),
            t.derive.as_secs_f64(),
            t.pack.as_secs_f64()
        );
    }
    let mut store = super::output::open_store(ctx.db)?;
    let started = Instant::now();
    let s = prepared.write(&mut store, label)?;
    if ctx.verbose > 0 {
        eprintln!("azpath: wrote snapshot #{} in {:.1} s", s.snapshot, started.elapsed().as_secs_f64());
    }
    Ok(s)
}

/// The summary of an import on stderr: the snapshot, its size, and its notes (with `-v`, also what
/// the parser skipped).
fn print_imported(ctx: &Ctx, what: &str, suffix: &str, s: &azpath::ImportSummary) {
    eprintln!(
        "azpath: imported {what} as snapshot #{} in {}: {} nodes, {} attack edges{suffix}",
        s.snapshot,
        terminal(&ctx.db.display().to_string()),
        s.nodes,
        s.edges,
    );
    let skipped = if ctx.verbose > 0 { s.skipped.as_slice() } else { &[] };
    for w in s.warnings.iter().chain(skipped) {
        eprintln!("azpath: note: {}", terminal(w));
    }
}

/// `azpath snapshots`: what is stored, and (with -v) what each snapshot could not collect.
pub fn snapshots(ctx: &Ctx, out: &OutputArgs) -> Result<ExitCode> {
    super::output::findings_formats_only(out, "snapshots")?;
    let store = super::output::open_existing_store(ctx.db)?;
    let snaps = store.snapshots()?;
    let text = match out.format {
        Format::Json => json(&serde_json::to_value(&snaps)?)?,
        Format::Table => snapshots_table(&snaps, ctx.verbose),
        Format::Dot => bail!("--format dot draws paths; `snapshots` has none"),
        f @ (Format::Sarif | Format::Markdown) => return Err(super::output::findings_format_error(f, "snapshots")),
    };
    emit(&out.output, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn snapshots_table(snaps: &[SnapshotInfo], verbose: u8) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(["id", "label", "tenant", "collected", "source", "nodes", "edges", "not collected"]);
    // Every cell through `terminal`: a label or tenant name with a newline would add a row.
    for s in snaps {
        t.add_row([
            s.id.to_string(),
            terminal(s.label.as_deref().unwrap_or_default()).into_owned(),
            terminal(&s.tenant_name).into_owned(),
            terminal(&s.collected_at).into_owned(),
            terminal(&s.source).into_owned(),
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
                    terminal(&c.what),
                    terminal(c.scope.as_deref().unwrap_or("")),
                    terminal(&c.reason)
                ));
            }
            for w in &s.warnings {
                text.push_str(&format!("#{}: {}\n", s.id, terminal(w)));
            }
        }
    }
    text
}

/// The counts `synth` takes from the command line, each overriding the preset's.
pub struct SynthCounts {
    pub users: Option<usize>,
    pub groups: Option<usize>,
    pub service_principals: Option<usize>,
    pub subscriptions: Option<usize>,
    pub resources: Option<usize>,
}

/// `azpath synth`: a deterministic synthetic tenant, written out or imported.
pub fn synth(
    ctx: &Ctx,
    preset: &str,
    counts: SynthCounts,
    seed: u64,
    output: Option<PathBuf>,
    import: bool,
) -> Result<ExitCode> {
    let Some(base) = azpath::synth::SynthSpec::preset(preset, seed) else {
        bail!("unknown preset {preset:?}; presets are {}", azpath::synth::PRESETS.join(", "));
    };
    let spec = azpath::synth::SynthSpec {
        users: counts.users.unwrap_or(base.users),
        groups: counts.groups.unwrap_or(base.groups).max(1),
        service_principals: counts.service_principals.unwrap_or(base.service_principals),
        subscriptions: counts.subscriptions.unwrap_or(base.subscriptions),
        resources: counts.resources.unwrap_or(base.resources),
        seed,
    };
    if import {
        let mut store = super::output::open_store(ctx.db)?;
        let s = azpath::import_facts(&mut store, azpath::synth::compact(&spec), Some(&format!("synth-{seed}")))?;
        eprintln!(
            "azpath: synthetic tenant imported as snapshot #{}: {} nodes, {} attack edges",
            s.snapshot, s.nodes, s.edges
        );
    } else {
        super::output::emit_with(&output, |out| azpath::synth::write(&spec, out))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `azpath rederive`: today's rules over a stored snapshot's raw facts, as a new snapshot.
pub fn rederive(ctx: &Ctx, snapshot: &str) -> Result<ExitCode> {
    let mut store = super::output::open_existing_store(ctx.db)?;
    let snap = store.resolve(snapshot)?;
    let mut raw = store.load_raw(snap.id)?;
    // Today's redaction rules too, should they be stricter than those that stored the facts.
    raw.redact_secrets();
    let label = format!("rederived-{}", snap.id);
    let s = azpath::import_facts(&mut store, raw, Some(&label))?;
    eprintln!(
        "azpath: re-derived snapshot #{} as #{}: {} nodes, {} attack edges (was {} edges)",
        snap.id, s.snapshot, s.nodes, s.edges, snap.edges
    );
    Ok(ExitCode::SUCCESS)
}

/// `azpath import azurehound FILE...`: an AzureHound collection as a new snapshot, with what was
/// read, mapped and skipped per record kind.
pub fn import_azurehound(
    ctx: &Ctx,
    files: &[PathBuf],
    label: Option<&str>,
    collected_at: Option<&str>,
) -> Result<ExitCode> {
    use azpath::interop::azurehound::AzureHoundReader;
    let started = Instant::now();
    let mut reader = AzureHoundReader::new();
    let mut newest = None;
    for file in files {
        let shown = terminal(&file.display().to_string()).into_owned();
        let meta = std::fs::metadata(file).with_context(|| format!("cannot read {shown}"))?;
        if meta.is_dir() {
            bail!("{shown} is a directory; give AzureHound's JSON or zip files");
        }
        newest = newest.max(meta.modified().ok());
        reader.read_path(file).with_context(|| format!("cannot read {shown}"))?;
    }
    let collected_at = match (collected_at, newest) {
        (Some(at), _) => at.to_string(),
        (None, Some(t)) => chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (None, None) => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let (raw, report) = reader.finish(&collected_at)?;
    let read_secs = started.elapsed().as_secs_f64();
    eprint!("{}", azurehound_report_text(&report, ctx.verbose > 0));
    if ctx.verbose > 0 {
        eprintln!(
            "azpath: read {:.1} MB in {read_secs:.2} s ({:.0} MB/s)",
            report.bytes as f64 / 1e6,
            report.bytes as f64 / 1e6 / read_secs.max(1e-9)
        );
    }
    let what = files.iter().map(|f| terminal(&f.display().to_string()).into_owned()).collect::<Vec<_>>().join(", ");
    let prepared = azpath::prepare(raw).with_context(|| format!("cannot import {what}"))?;
    let s = write_prepared(ctx, prepared, label).with_context(|| format!("cannot import {what}"))?;
    print_imported(ctx, &format!("{what} (AzureHound, {} records)", report.records()), "", &s);
    Ok(ExitCode::SUCCESS)
}

/// The per-kind counts of an AzureHound import, one line a kind, then file problems.
fn azurehound_report_text(report: &azpath::interop::azurehound::ImportReport, examples: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let width = report.kinds.keys().map(|k| k.len()).max().unwrap_or(0);
    for (kind, count) in &report.kinds {
        let _ = write!(
            out,
            "azpath: {:<width$}  read {:>8}  mapped {:>8}  skipped {:>6}",
            terminal(kind),
            count.read,
            count.mapped,
            count.skipped_total()
        );
        let reasons: Vec<String> = count.skipped.iter().map(|(why, n)| format!("{n} {}", terminal(why))).collect();
        if !reasons.is_empty() {
            let _ = write!(out, " ({})", reasons.join("; "));
        }
        out.push('\n');
        if examples {
            for e in &count.examples {
                let _ = writeln!(out, "azpath:   e.g. {}", terminal(e));
            }
        }
    }
    for problem in &report.problems {
        let _ = writeln!(out, "azpath: warning: {}", terminal(problem));
    }
    out
}

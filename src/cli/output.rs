//! Where output goes: stdout or `--output`, colour or not, DOT diagrams rendered or not, and the
//! notes every result carries. The only code that writes (with `collect`'s progress display).

use super::args::{Format, OutputArgs};
use anyhow::{Context as _, Result, bail};
use azpath::export::render::{self, RenderFormat};
use azpath::graph::{AttackGraph, Path as GraphPath};
use azpath::model::SnapshotInfo;
use azpath::report::Style;
use azpath::store::Store;
use std::io::{IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// ANSI colours only when writing to a terminal and `NO_COLOR` is unset.
pub fn style_for(output: &Option<PathBuf>) -> Style {
    let color = output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    Style { color }
}

/// The database of this run, which no output file may overwrite.
static DATABASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Records the run's database, so [`emit`] and [`write_file`] refuse to overwrite it.
pub fn protect(db: &Path) {
    let _ = DATABASE.set(db.to_path_buf());
}

/// Where `path` really is: symlinks and `..` resolved, also for a file that does not exist yet.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Some(parent.canonicalize().ok()?.join(path.file_name()?))
}

/// Refuses an output path that is the database or one of its -wal, -shm or -journal files.
fn check_not_database(path: &Path) -> Result<()> {
    let Some(db) = DATABASE.get() else { return Ok(()) };
    let (Some(target), Some(db_file)) = (resolved(path), resolved(db)) else { return Ok(()) };
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut protected = db_file.as_os_str().to_owned();
        protected.push(suffix);
        if target.as_os_str() == protected {
            bail!(
                "{} is the database{}; refusing to overwrite it with output (choose another --output)",
                path.display(),
                if suffix.is_empty() { String::new() } else { format!("'s {suffix} file") }
            );
        }
    }
    Ok(())
}

/// Writes `text` to `output`, or to stdout.
pub fn emit(output: &Option<PathBuf>, text: &str) -> Result<()> {
    match output {
        Some(path) => {
            check_not_database(path)?;
            azpath::files::write(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
        }
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

/// Like [`emit`], for output written in pieces by `write` (a file too large to hold as text).
pub fn emit_with(output: &Option<PathBuf>, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    match output {
        Some(path) => {
            check_not_database(path)?;
            let mut file = azpath::files::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            write(&mut file).with_context(|| format!("cannot write {}", path.display()))
        }
        None => match write(&mut std::io::stdout().lock()) {
            // A closed pipe (`| head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.context("cannot write to stdout"),
        },
    }
}

/// A JSON document as [`json`] prints it, written to stdout or `--output` as it is serialised:
/// for documents too large to hold as one text (`reach` on a large tenant).
pub fn emit_json(out: &OutputArgs, value: &impl serde::Serialize) -> Result<()> {
    no_render(out)?;
    emit_with(&out.output, |w| {
        // 1 MiB at a time: a 200 MB document in 8 KiB writes spent a tenth of its time in them.
        let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
        serde_json::to_writer_pretty(&mut w, value)?;
        w.write_all(b"\n")?;
        w.flush()
    })
}

/// `--render` is for diagrams only.
pub fn no_render(out: &OutputArgs) -> Result<()> {
    if out.render.is_some() {
        bail!("--render needs --format dot");
    }
    Ok(())
}

/// Like [`emit`], but with --format dot --render the DOT text is rendered by Graphviz and the image
/// written to --output (default `exports/diagram.svg|png`).
pub fn emit_out(out: &OutputArgs, text: &str) -> Result<()> {
    let Some(render) = out.render.filter(|_| out.format == Format::Dot) else {
        no_render(out)?;
        return emit(&out.output, text);
    };
    let format = render.format();
    let path = out.output.clone().unwrap_or_else(|| PathBuf::from(format!("exports/diagram.{}", format.as_str())));
    write_image(&path, text, format, None)?;
    eprintln!("azpath: wrote {}", path.display());
    Ok(())
}

/// Refuses `--format sarif|markdown` for a command other than `paths` and `query run`, before it
/// does anything: those formats report findings, which only those two commands have.
pub fn findings_formats_only(out: &OutputArgs, command: &str) -> Result<()> {
    match out.format {
        Format::Sarif | Format::Markdown => Err(findings_format_error(out.format, command)),
        _ => Ok(()),
    }
}

/// The error for `--format sarif|markdown` on a command without findings.
pub fn findings_format_error(format: Format, command: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "--format {} reports findings, for `azpath paths` and `azpath query run`; `{command}` takes table, json or dot",
        format.name()
    )
}

/// A JSON document, pretty-printed, with a final newline.
pub fn json(value: &impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// A DOT diagram of `paths`, captioned with what was asked and the snapshot.
pub fn diagram(g: &AttackGraph, snap: &SnapshotInfo, paths: &[GraphPath], what: &str, max_paths: usize) -> String {
    let title = azpath::export::title(what, snap, paths.len());
    let opts = azpath::export::DotOptions { title, max_paths, ..Default::default() };
    azpath::export::paths_dot(g, paths, &opts)
}

/// A DOT diagram of `paths` with the options of `out`.
pub fn dot_text(out: &OutputArgs, g: &AttackGraph, snap: &SnapshotInfo, paths: &[GraphPath], what: &str) -> String {
    diagram(g, snap, paths, what, out.max_paths)
}

/// Renders a DOT diagram with Graphviz into `path`. With `stamp_as` (the name of the DOT file it
/// was rendered from) an SVG carries a comment naming that file and its hash, so a stale image is
/// detectable.
pub fn write_image(path: &Path, dot: &str, format: RenderFormat, stamp_as: Option<&str>) -> Result<()> {
    let image = render::render(dot, format)?;
    let image = match (format, stamp_as) {
        (RenderFormat::Svg, Some(name)) => render::stamp_svg(&String::from_utf8_lossy(&image), name, dot).into_bytes(),
        _ => image,
    };
    write_file(path, &image)
}

/// Writes a file, owner-only, creating its folder (owner-only too).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    check_not_database(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        azpath::files::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    azpath::files::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Opens (or creates) the database for a command that writes a snapshot, saying on stderr when an
/// existing one (or its `-wal`/`-shm`) was readable by others and has been made owner-only.
pub fn open_store(db: &Path) -> Result<Store> {
    warn_tightened(Store::open(db)?)
}

/// Opens an existing database for a command that only reads (a missing one is an error), with the
/// same warning as [`open_store`].
pub fn open_existing_store(db: &Path) -> Result<Store> {
    warn_tightened(Store::open_existing(db)?)
}

fn warn_tightened(store: Store) -> Result<Store> {
    for note in store.permission_notes() {
        eprintln!("azpath: warning: {}", azpath::escape::terminal(note));
    }
    Ok(store)
}

/// Opens the database and loads a snapshot's graph. The graph is never freed: the process ends
/// when the command does, and the kernel takes a ten-million-edge graph back faster than freeing
/// its allocations one by one (about a tenth of a 10M-edge query's CPU samples went to freeing).
pub fn load(db: &Path, snapshot: &str, verbose: u8) -> Result<(Store, SnapshotInfo, ManuallyDrop<AttackGraph>)> {
    let started = Instant::now();
    let store = open_existing_store(db)?;
    let snap = store.resolve(snapshot)?;
    let g = azpath::load_graph(&store, snap.id)?;
    if verbose > 0 {
        eprintln!(
            "azpath: loaded snapshot #{} ({} nodes, {} edges) in {:.1} ms",
            snap.id,
            g.nodes.len(),
            g.edge_count(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok((store, snap, ManuallyDrop::new(g)))
}

/// The note under every result from a snapshot that lacks collections.
pub fn completeness_note(snap: &SnapshotInfo) -> String {
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

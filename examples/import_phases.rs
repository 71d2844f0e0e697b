//! Times the phases of an import and the peak memory after each (a profiling aid, not a test).
//! Usage: cargo run --release --example import_phases -- FACTS.json DB
//!    or: cargo run --release --example import_phases -- --azurehound COLLECTION.json DB
use std::time::Instant;

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / 100.0
}

fn rss() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get =
        |k: &str| s.lines().find(|l| l.starts_with(k)).map(|l| l[k.len()..].trim().to_string()).unwrap_or_default();
    format!("cpu {:>7.2} rss {} hwm {}", cpu(), get("VmRSS:"), get("VmHWM:"))
}

fn main() -> anyhow::Result<()> {
    // The options the azpath binary sets (src/main.rs: purge delay 100 ms, no huge pages), so the
    // memory figures are the binary's.
    // SAFETY: setting an option is a plain store in mimalloc.
    unsafe {
        libmimalloc_sys::mi_option_set(15, 100);
        libmimalloc_sys::mi_option_set(43, 0);
    }
    let mut args: Vec<String> = std::env::args().collect();
    let azurehound = args.get(1).is_some_and(|a| a == "--azurehound");
    if azurehound {
        args.remove(1);
    }
    let t = Instant::now();
    let raw = if azurehound {
        let mut reader = azpath::interop::azurehound::AzureHoundReader::new();
        reader.read_path(std::path::Path::new(&args[1]))?;
        reader.finish("2026-11-01T00:00:00Z")?.0
    } else {
        let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&args[1])?);
        azpath::facts::CompactFacts::read(file)?
    };
    eprintln!("read      {:>7.2} s  {}  (streamed, redacted: {})", t.elapsed().as_secs_f64(), rss(), raw.redacted);
    let t = Instant::now();
    let facts = azpath::facts::parse(&raw)?;
    eprintln!("parse     {:>7.2} s  {}", t.elapsed().as_secs_f64(), rss());
    let t = Instant::now();
    let raw = azpath::store::PackedRaw::new(raw);
    eprintln!("pack raw  {:>7.2} s  {}", t.elapsed().as_secs_f64(), rss());
    let t = Instant::now();
    let records = azpath::facts::index::fact_list(&facts);
    let count = records.len();
    let index = azpath::store::PackedIndex::new(&records);
    drop(records);
    eprintln!("index     {:>7.2} s  {}  ({count} records, packed)", t.elapsed().as_secs_f64(), rss());
    let t = Instant::now();
    let derived = azpath::rules::derive_owned(facts);
    eprintln!("derive    {:>7.2} s  {}  ({} edges)", t.elapsed().as_secs_f64(), rss(), derived.edges.len());
    let _ = std::fs::remove_file(&args[2]);
    let mut store = azpath::store::Store::open(std::path::Path::new(&args[2]))?;
    let t = Instant::now();
    store.write_packed(&raw, &derived, &index, None)?;
    eprintln!("write     {:>7.2} s  {}", t.elapsed().as_secs_f64(), rss());
    Ok(())
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

//! The reading and mapping stage of `azpath import azurehound`, alone: reads AzureHound files
//! into facts and prints what it read, how fast and how much text it keeps, without parsing the
//! facts, deriving edges or writing a snapshot. For the benchmark in docs/azurehound.md:
//! `/usr/bin/time -f '%e s %M KB' target/release/examples/azurehound_read FILE...`

use azpath::interop::azurehound::AzureHoundReader;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!files.is_empty(), "usage: azurehound_read FILE...");
    let started = Instant::now();
    let mut reader = AzureHoundReader::new();
    for f in &files {
        reader.read_path(std::path::Path::new(f))?;
    }
    let (raw, report) = reader.finish("2026-11-01T00:00:00Z")?;
    let secs = started.elapsed().as_secs_f64();
    let mapped: u64 = report.kinds.values().map(|k| k.mapped).sum();
    let skipped: u64 = report.kinds.values().map(|k| k.skipped_total()).sum();
    // What the facts keep: each collection's redacted compact text.
    let kept: usize = raw.graph.values().chain(raw.arm.values()).map(String::len).sum();
    println!(
        "{:.1} MB, {} records ({mapped} mapped, {skipped} skipped) in {secs:.2} s: {:.0} MB/s; {} graph and {} arm \
         collections, {:.1} MB of compact text kept ({:.0} bytes per mapped record)",
        report.bytes as f64 / 1e6,
        report.records(),
        report.bytes as f64 / 1e6 / secs,
        raw.graph.len(),
        raw.arm.len(),
        kept as f64 / 1e6,
        kept as f64 / mapped.max(1) as f64,
    );
    for p in &report.problems {
        println!("problem: {p}");
    }
    Ok(())
}

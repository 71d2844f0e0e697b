//! Diff benchmark (issue 6's target: two ~1M-edge snapshots with all saved queries in under 5 s).
//!
//! Run: `cargo bench --bench diff` (`-- --preset small` for a quick run). The second snapshot is the
//! first with 2% of its role assignments removed and another 2% made PIM-eligible.
//!
//! The headline is `azpath::diff_snapshots`, the function behind `azpath diff A B`, timed from the
//! database on disk to the finished report data (median of 5 runs, with min and max). A breakdown follows: the stages
//! of one side run alone, and each saved query on one graph, so the slow parts are visible.

use azpath::diff::{self, WhatIf};
use azpath::query::saved;
use azpath::store::Store;
use azpath::synth::{self, SynthSpec};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let preset = std::env::args().skip_while(|a| a != "--preset").nth(1).unwrap_or_else(|| "1m".into());
    let spec = if preset == "small" { SynthSpec::small(42) } else { SynthSpec::one_million_edges(42) };
    let a = synth::generate(&spec);
    let mut b = a.clone();
    let list = b.arm.get_mut("roleAssignments").expect("assignments").as_array_mut().expect("a list");
    let n = list.len();
    let mut moved = Vec::new();
    let mut i = 0;
    list.retain(|x| {
        i += 1;
        match i % 50 {
            0 => false,
            1 => {
                moved.push(x.clone());
                false
            }
            _ => true,
        }
    });
    for mut x in moved {
        x["properties"]["status"] = serde_json::json!("Provisioned");
        x["properties"]["startDateTime"] = serde_json::json!("2026-01-01T00:00:00Z");
        x["properties"]["endDateTime"] = serde_json::json!("2027-12-31T00:00:00Z");
        b.arm.get_mut("roleEligibilitySchedules").expect("schedules").as_array_mut().expect("a list").push(x);
    }
    println!("synthetic tenant {spec:?}: {n} role assignments, 2% removed and 2% made eligible in the second snapshot");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("diff.db");
    let mut store = Store::open(&db).expect("db");
    let t = Instant::now();
    let sa = azpath::import_facts(&mut store, a, None).expect("import a");
    println!("import a: {:.1} s", t.elapsed().as_secs_f64());
    let sb = azpath::import_facts(&mut store, b, None).expect("import b");
    println!("edges: {} and {}", sa.edges, sb.edges);
    let queries = saved::builtin();

    // The headline: what `azpath diff A B` does, end to end.
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        let d =
            azpath::diff_snapshots(&db, sa.snapshot, Some(sb.snapshot), &WhatIf::default(), &queries).expect("diff");
        runs.push(t.elapsed());
        last = Some(d);
    }
    runs.sort();
    let d = last.expect("five runs");
    println!(
        "diff_snapshots, all {} saved queries: median {:.0} ms (min {:.0}, max {:.0} of {} runs)   target < 5000 ms",
        queries.len(),
        ms(runs[runs.len() / 2]),
        ms(runs[0]),
        ms(runs[runs.len() - 1]),
        runs.len()
    );
    println!("  {} fact changes, {} path changes", d.facts.len(), d.paths.len());

    // Breakdown, one thing at a time.
    let t = Instant::now();
    let da = store.fact_digest(sa.snapshot).expect("digest").expect("a digest");
    let db_ = store.fact_digest(sb.snapshot).expect("digest").expect("a digest");
    let (removed, added, changed) = diff::digest_diff(&da, &db_);
    println!(
        "  fact digests read and compared       {:>7.0} ms ({} facts; {} removed, {} added, {} changed)",
        ms(t.elapsed()),
        da.len(),
        removed.len(),
        added.len(),
        changed.len()
    );
    let t = Instant::now();
    let g = azpath::load_graph(&store, sb.snapshot).expect("load");
    println!("  one graph loaded                     {:>7.0} ms", ms(t.elapsed()));
    let mut total = Duration::ZERO;
    for q in &queries {
        let t = Instant::now();
        let pairs = diff::query_pairs(&g, std::slice::from_ref(q)).expect("query");
        total += t.elapsed();
        println!("  {:<36} {:>7.0} ms ({} pairs)", q.name, ms(t.elapsed()), pairs[0].paths.len());
    }
    println!("  all queries on one graph             {:>7.0} ms", ms(total));
}

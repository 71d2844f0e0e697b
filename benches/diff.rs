//! Diff benchmark (issue 6's target: two ~1M-edge snapshots with all saved queries in under 5 s).
//!
//! Run: `cargo bench --bench diff` (`-- --preset small` for a quick run). The second snapshot is the
//! first with 2% of its role assignments removed and another 2% made PIM-eligible. Prints the time of
//! each stage and of each saved query's path diff, so the slow ones are visible.

use azpath::diff;
use azpath::query::saved;
use azpath::store::Store;
use azpath::synth::{self, SynthSpec};
use std::time::Instant;

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
    let mut store = Store::open(&dir.path().join("diff.db")).expect("db");
    let sa = azpath::import_facts(&mut store, a, None).expect("import a");
    let sb = azpath::import_facts(&mut store, b, None).expect("import b");
    println!("edges: {} and {}", sa.edges, sb.edges);

    let total = Instant::now();
    let t = Instant::now();
    let fa = azpath::facts::parse(&store.load_raw(sa.snapshot).expect("raw a")).expect("parse a");
    let fb = azpath::facts::parse(&store.load_raw(sb.snapshot).expect("raw b")).expect("parse b");
    println!("read + parse both snapshots' facts  {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    let t = Instant::now();
    let mut ga = azpath::load_graph(&store, sa.snapshot).expect("load a");
    let mut gb = azpath::load_graph(&store, sb.snapshot).expect("load b");
    println!("load both graphs                    {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    let t = Instant::now();
    let facts = diff::diff_facts(&fa, &fb);
    println!(
        "fact diff                           {:.0} ms  ({} changes)",
        t.elapsed().as_secs_f64() * 1000.0,
        facts.len()
    );
    for q in saved::builtin() {
        let t = Instant::now();
        let qs = std::slice::from_ref(&q);
        let pa = diff::paths_to_explain(&ga, qs).expect("paths a");
        let pb = diff::paths_to_explain(&gb, qs).expect("paths b");
        azpath::explain_paths(&store, sa.snapshot, &mut ga, &pa).expect("explain a");
        azpath::explain_paths(&store, sb.snapshot, &mut gb, &pb).expect("explain b");
        let d = diff::diff_paths(&ga, &gb, qs, &facts).expect("diff");
        println!(
            "  {:<34} {:>8.0} ms  ({} + {} pairs, {} changes)",
            q.name,
            t.elapsed().as_secs_f64() * 1000.0,
            pa.len(),
            pb.len(),
            d.len()
        );
    }
    println!("total diff                          {:.0} ms   target < 5000 ms", total.elapsed().as_secs_f64() * 1000.0);
}

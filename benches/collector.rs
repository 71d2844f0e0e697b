//! Collector benchmark (not a timed test): `cargo bench --bench collector`.
//!
//! Runs the live collector against the fake Azure of `tests/collect/` with 20 ms latency per
//! request, for a tenant of 50k users, 5k groups, 2k service principals, 200 subscriptions and
//! 20k resources, and reports requests made, wall time, peak memory and the lower bound
//! `(requests / max concurrency) x latency`. The fake runs in a child process (this binary,
//! re-executed), so the peak memory (`VmHWM`) is the collector's alone.
//!
//! Knobs (environment): `AZPATH_BENCH_CONCURRENCY` (16), `AZPATH_BENCH_LATENCY_MS` (20),
//! `AZPATH_BENCH_SCALE` (1.0: multiplies every count).

#[path = "../tests/collect/fake.rs"]
mod fake;
#[path = "../tests/collect/tenant.rs"]
mod tenant;

use azpath::collect::{self, AuthMethod, AuthSettings, Cloud, Endpoints, Options, Progress, RetryPolicy};
use std::io::{BufRead, Read, Write};
use std::time::{Duration, Instant};

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn scale() -> tenant::Scale {
    let f: f64 = env_num("AZPATH_BENCH_SCALE", 1.0);
    let n = |x: f64| ((x * f).round() as usize).max(1);
    tenant::Scale {
        users: n(50_000.0),
        groups: n(5_000.0),
        members_per_group: 10,
        service_principals: n(2_000.0),
        applications: n(1_000.0),
        subscriptions: n(200.0),
        resources_per_subscription: 100,
    }
}

/// `VmHWM` (peak resident memory) of this process, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Child mode: serve the fake tenant until stdin closes.
fn serve(latency: Duration) {
    let t = tenant::generate(scale());
    let fake = fake::FakeAzure::start(t.data, fake::Faults { latency, ..fake::Faults::default() });
    println!("{} {} {} {}", fake.login_url, fake.graph_url, fake.arm_url, fake.ca_pem.display());
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let seen = &fake.seen;
    eprintln!(
        "fake Azure: {} API requests, {} $batch items, {} token requests, peak {} in flight",
        seen.api_requests.load(std::sync::atomic::Ordering::SeqCst),
        seen.batch_items.load(std::sync::atomic::Ordering::SeqCst),
        seen.token_requests.load(std::sync::atomic::Ordering::SeqCst),
        seen.peak_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    );
}

fn main() {
    let latency = Duration::from_millis(env_num("AZPATH_BENCH_LATENCY_MS", 20));
    if std::env::args().any(|a| a == "--serve-fake") {
        return serve(latency);
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` support
    }
    let concurrency: usize = env_num("AZPATH_BENCH_CONCURRENCY", 16);
    let s = scale();
    eprintln!("generating the fake tenant: {s:?}");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--serve-fake")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the fake Azure");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 4, "fake Azure did not start: {line:?}");
    // SAFETY: single-threaded at this point; the collector reads the secret from the environment.
    unsafe { std::env::set_var("AZURE_CLIENT_SECRET", fake::CLIENT_SECRET) };
    let opts = Options {
        endpoints: Endpoints::new(Cloud::Public, Some(parts[0]), Some(parts[1]), Some(parts[2])).unwrap(),
        auth: AuthSettings {
            method: AuthMethod::Secret,
            tenant_id: Some(fake::TENANT.into()),
            client_id: Some(fake::CLIENT_ID.into()),
            ..Default::default()
        },
        ca_cert: Some(parts[3].into()),
        concurrency,
        retry: RetryPolicy::default(),
        save_raw: None,
        graph: true,
        arm: true,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let base = peak_mib();
    let started = Instant::now();
    let out = rt
        .block_on(collect::collect(
            &opts,
            std::sync::Arc::new(|_: &str| {}),
            Progress::hidden(),
            std::future::pending(),
        ))
        .expect("collection succeeds");
    let wall = started.elapsed();
    let peak_collect = peak_mib();
    let st = &out.stats;
    let bound = latency.mul_f64(st.requests as f64 / concurrency as f64);
    let imported = Instant::now();
    let db_dir = tempfile::tempdir().unwrap();
    let mut store = azpath::store::Store::open(&db_dir.path().join("bench.db")).unwrap();
    let summary = azpath::import_facts(&mut store, out.raw, None).unwrap();
    let import_time = imported.elapsed();
    let peak_import = peak_mib();
    drop(child.stdin.take());
    let _ = child.wait();
    println!("collector benchmark: {s:?}");
    println!("  latency {} ms per request, concurrency {concurrency}", latency.as_millis());
    println!(
        "  requests {} (retries {}, throttled {}), objects {}, {:.1} MiB received, {} not collected",
        st.requests,
        st.retries,
        st.throttles,
        st.objects,
        st.bytes as f64 / 1048576.0,
        st.missing
    );
    println!(
        "  wall time {:.2} s; lower bound (requests / concurrency) x latency = {:.2} s; ratio {:.2}",
        wall.as_secs_f64(),
        bound.as_secs_f64(),
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  peak memory (VmHWM): {base:.0} MiB before, {peak_collect:.0} MiB after collection, {peak_import:.0} MiB after writing the snapshot"
    );
    println!(
        "  snapshot: {} nodes, {} edges, written in {:.2} s (SQLite file)",
        summary.nodes,
        summary.edges,
        import_time.as_secs_f64()
    );
    println!("  peak requests in flight: {}", st.peak_in_flight);
}

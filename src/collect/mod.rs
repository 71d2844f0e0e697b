//! The live collector: reads a tenant from Microsoft Graph and ARM into a [`RawFacts`]
//! (`azpath-facts/1`), which then goes through the same parsers, rules and store as an imported
//! file. See `docs/collector.md`.
//!
//! The only module that touches the network. Nothing is written to the database until the whole
//! collection has succeeded, and then in one transaction ([`crate::import_facts`]); a failed or
//! cancelled run leaves the database as it was. What could not be read (403/404 per subscription,
//! per group, per API) is recorded in the facts' completeness notes instead of failing the run.

pub mod auth;
pub mod cloud;
pub mod http;
mod plan;
pub mod progress;
pub mod sink;

pub use auth::{AuthMethod, AuthSettings};
pub use cloud::{Cloud, Endpoints};
pub use http::{Log, RetryPolicy};
pub use progress::Progress;

use crate::facts::RawFacts;
use anyhow::{Result, anyhow};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything a collection needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    pub endpoints: Endpoints,
    pub auth: AuthSettings,
    /// An extra root CA (PEM) trusted for every request: token, Graph and ARM.
    pub ca_cert: Option<PathBuf>,
    /// Requests in flight at most (Graph and ARM together).
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Keep every (redacted) response in this directory for `azpath ingest`.
    pub save_raw: Option<PathBuf>,
    pub graph: bool,
    pub arm: bool,
}

/// What a finished collection produced.
pub struct Outcome {
    pub raw: RawFacts,
    pub stats: RunStats,
}

/// Figures for the final summary.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub objects: u64,
    pub requests: u64,
    pub retries: u64,
    pub throttles: u64,
    pub bytes: u64,
    pub missing: usize,
    pub elapsed: Duration,
    /// Most requests that were ever in flight together (never above the configured bound).
    pub peak_in_flight: u64,
    /// Tokens fetched (Graph + ARM); more than two means tokens were refreshed during the run.
    pub tokens_fetched: u64,
    pub credential: String,
    /// Credential fields removed from the responses before they were archived or stored.
    pub redacted: u64,
}

/// The run was cancelled (Ctrl-C) before it finished; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("collection interrupted; nothing was written to the database")]
pub struct Interrupted;

/// Collects the tenant, or stops cleanly when `cancel` completes first (dropping every request in
/// flight; a partial raw archive is left without its manifest, so it cannot be ingested).
pub async fn collect(
    opts: &Options,
    log: Log,
    progress: Progress,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<Outcome> {
    let started = Instant::now();
    let collected_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let client = http::build_client(opts.ca_cert.as_deref(), opts.retry.timeout)?;
    let creds = Arc::new(auth::Credentials::new(&opts.auth, &opts.endpoints.authority, client.clone())?);
    let graph_tokens = auth::TokenSource::new(creds.clone(), opts.endpoints.graph_scope.clone());
    let arm_tokens = auth::TokenSource::new(creds.clone(), opts.endpoints.arm_scope.clone());
    let archive = opts.save_raw.as_deref().map(sink::Archive::create).transpose()?;
    let run = Arc::new(plan::Run {
        http: http::Http::new(client, graph_tokens, arm_tokens, opts.concurrency, opts.retry.clone(), log),
        endpoints: opts.endpoints.clone(),
        acc: Mutex::new(sink::Accumulator::default()),
        archive,
        progress,
        redacted: Default::default(),
    });
    let work = {
        let run = run.clone();
        let (graph, arm) = (opts.graph, opts.arm);
        let tenant_hint = opts.auth.tenant_id.clone().or_else(|| std::env::var("AZURE_TENANT_ID").ok());
        async move {
            let tenant = plan::tenant(&run, tenant_hint.as_deref()).await?;
            let g =
                async { if graph { AbortOnDrop::new(tokio::spawn(plan::graph(run.clone()))).await? } else { Ok(()) } };
            let a = async {
                if arm {
                    AbortOnDrop::new(tokio::spawn(plan::arm(run.clone(), tenant.id.clone()))).await?
                } else {
                    Ok(())
                }
            };
            futures::try_join!(g, a)?;
            Ok::<_, anyhow::Error>(tenant)
        }
    };
    // Every spawned part is aborted when its handle is dropped, which a cancelled `select!` does.
    let work = AbortOnDrop::new(tokio::spawn(work));
    let tenant = tokio::select! {
        r = work => r??,
        () = cancel => return Err(Interrupted.into()),
    };
    run.progress.finish();
    let run = Arc::try_unwrap(run).map_err(|_| anyhow!("internal error: collection tasks still running"))?;
    let acc = run.acc.into_inner().expect("accumulator lock");
    let objects = acc.objects;
    let raw = acc.finish(tenant.clone(), collected_at.clone());
    if let Some(a) = run.archive {
        a.finish(&tenant, &collected_at)?;
    }
    let h = &run.http;
    let stats = RunStats {
        objects,
        requests: h.stats.requests.load(Ordering::Relaxed),
        retries: h.stats.retries.load(Ordering::Relaxed),
        throttles: h.stats.throttles.load(Ordering::Relaxed),
        bytes: h.stats.bytes.load(Ordering::Relaxed),
        missing: raw.completeness.len(),
        elapsed: started.elapsed(),
        peak_in_flight: h.slots.peak.load(Ordering::Relaxed),
        tokens_fetched: h.tokens(http::Api::Graph).fetched.load(Ordering::Relaxed)
            + h.tokens(http::Api::Arm).fetched.load(Ordering::Relaxed),
        credential: creds.chosen_name().await.unwrap_or("none").to_string(),
        redacted: run.redacted.load(Ordering::Relaxed),
    };
    Ok(Outcome { raw, stats })
}

/// A task handle that aborts the task when dropped, so cancelling the collection future stops
/// every request in flight.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    fn new(h: tokio::task::JoinHandle<T>) -> Self {
        AbortOnDrop(h)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| r.map_err(|e| anyhow!("collection task failed: {e}")))
    }
}

/// Rebuilds the facts of a raw archive (`collect --save-raw DIR`) offline.
pub fn ingest(dir: &std::path::Path) -> Result<RawFacts> {
    sink::replay(dir)
}

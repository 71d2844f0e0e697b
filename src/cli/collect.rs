//! `azpath collect` and `azpath ingest`: options, the Ctrl-C handling, and the summary on stderr.
//! The collector (`azpath::collect`) reads and returns the facts with its figures; this prints them.

use super::Ctx;
use anyhow::{Context as _, Result};
use azpath::collect::{AuthMethod, AuthSettings, Cloud, Endpoints, Log, Options, Outcome, Progress, RetryPolicy};
use azpath::escape::terminal;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Read a live tenant from Microsoft Graph and ARM into a new snapshot.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Sign-in (--auth auto tries them in this order): client secret (AZURE_TENANT_ID, AZURE_CLIENT_ID,
AZURE_CLIENT_SECRET), client certificate (AZURE_CLIENT_CERTIFICATE_PATH), workload identity
(AZURE_FEDERATED_TOKEN_FILE), managed identity, Azure CLI (`az login`). Secrets are read from the
environment only. HTTPS_PROXY and NO_PROXY are honoured. See docs/collector.md.")]
pub struct CollectArgs {
    /// Tenant id or domain (default: AZURE_TENANT_ID, or the signed-in account's tenant).
    #[arg(long, env = "AZURE_TENANT_ID")]
    pub tenant: Option<String>,
    /// How to sign in.
    #[arg(long, value_enum, env = "AZPATH_AUTH", default_value = "auto")]
    pub auth: AuthMethod,
    /// Application (client) id for secret, certificate and workload-identity sign-in, or the client
    /// id of a user-assigned managed identity.
    #[arg(long, env = "AZURE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// PKCS#12 (.pfx) certificate for certificate sign-in (password: AZURE_CLIENT_CERTIFICATE_PASSWORD).
    #[arg(long, env = "AZURE_CLIENT_CERTIFICATE_PATH")]
    pub client_certificate: Option<PathBuf>,
    /// National cloud.
    #[arg(long, value_enum, env = "AZPATH_CLOUD", default_value = "public")]
    pub cloud: Cloud,
    /// Login authority instead of the cloud's (must be https).
    #[arg(long, env = "AZURE_AUTHORITY_HOST")]
    pub authority_host: Option<String>,
    /// Microsoft Graph root instead of the cloud's (token scope `{url}/.default`).
    #[arg(long, env = "AZPATH_GRAPH_URL")]
    pub graph_url: Option<String>,
    /// ARM root instead of the cloud's (token scope `{url}/.default`).
    #[arg(long, env = "AZPATH_ARM_URL")]
    pub arm_url: Option<String>,
    /// Extra root CA (PEM) to trust for every request (TLS-inspecting proxies, private endpoints).
    #[arg(long, env = "AZPATH_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Requests in flight at most (Graph and ARM together).
    #[arg(long, env = "AZPATH_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Attempts per request before giving up (5xx, dropped connections; 429 gets twice as many).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Keep every (redacted) response in this new directory, for `azpath ingest DIR`.
    #[arg(long, value_name = "DIR")]
    pub save_raw: Option<PathBuf>,
    /// Read only Microsoft Graph (Entra ID), not ARM.
    #[arg(long, conflicts_with = "arm_only")]
    pub graph_only: bool,
    /// Read only ARM (Azure resources and RBAC), not Graph.
    #[arg(long)]
    pub arm_only: bool,
    /// A name for the snapshot.
    #[arg(long)]
    pub label: Option<String>,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Build a snapshot offline from a raw archive written by `collect --save-raw DIR`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The archive directory.
    pub dir: PathBuf,
    /// A name for the snapshot.
    #[arg(long)]
    pub label: Option<String>,
}

impl CollectArgs {
    /// The collector's options from the command line.
    pub fn options(&self) -> Result<Options> {
        let endpoints = Endpoints::new(
            self.cloud,
            self.authority_host.as_deref(),
            self.graph_url.as_deref(),
            self.arm_url.as_deref(),
        )?;
        Ok(Options {
            endpoints,
            auth: AuthSettings {
                method: self.auth,
                tenant_id: self.tenant.clone(),
                client_id: self.client_id.clone(),
                certificate: self.client_certificate.clone(),
                federated_token_file: None,
            },
            ca_cert: self.ca_cert.clone(),
            concurrency: self.concurrency as usize,
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                timeout: Duration::from_secs(self.timeout.max(1)),
                ..RetryPolicy::default()
            },
            save_raw: self.save_raw.clone(),
            graph: !self.arm_only,
            arm: !self.graph_only,
        })
    }
}

/// `azpath collect`: collect, then write one snapshot. Ctrl-C before the write leaves the
/// database untouched.
pub fn collect(ctx: &Ctx, args: CollectArgs) -> Result<ExitCode> {
    let (db, verbose) = (ctx.db, ctx.verbose);
    let opts = args.options()?;
    // Open (and migrate) the database first: a bad path should fail before a long collection.
    let mut store = super::output::open_store(db)?;
    let progress = if args.quiet { Progress::hidden() } else { Progress::for_terminal() };
    let log: Log = if verbose > 0 {
        let shown = progress.clone();
        Arc::new(move |line: &str| {
            let line = terminal(line);
            if shown.is_visible() {
                shown.println(&format!("azpath: {line}"));
            } else {
                eprintln!("azpath: {line}");
            }
        })
    } else {
        Arc::new(|_: &str| {})
    };
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let outcome: Outcome = rt.block_on(async {
        let cancel = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        azpath::collect::collect(&opts, log, progress, cancel).await
    })?;
    drop(rt);
    let s = &outcome.stats;
    let notes = outcome.raw.completeness.clone();
    let summary = azpath::import_facts(&mut store, outcome.raw, args.label.as_deref())
        .context("the collected facts could not be stored")?;
    eprintln!(
        "azpath: collected snapshot #{} in {}: {} objects, {} requests ({} retries, {} throttled), {:.1} MiB, {} not collected, {:.1} s (signed in with {})",
        summary.snapshot,
        db.display(),
        s.objects,
        s.requests,
        s.retries,
        s.throttles,
        s.bytes as f64 / 1048576.0,
        s.missing,
        s.elapsed.as_secs_f64(),
        s.credential
    );
    let redacted = s.redacted + summary.redacted as u64;
    let redacted =
        if redacted > 0 { format!(" ({redacted} credential fields removed before storing)") } else { String::new() };
    eprintln!("azpath: {} nodes, {} attack edges{redacted}", summary.nodes, summary.edges);
    print_missing(&notes, verbose);
    if let Some(dir) = &args.save_raw {
        eprintln!(
            "azpath: raw responses kept in {} (`azpath ingest {}` rebuilds this snapshot)",
            dir.display(),
            dir.display()
        );
    }
    for w in &summary.warnings {
        eprintln!("azpath: note: {}", terminal(w));
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists what was not collected: grouped by collection and reason, every scope with `-v`.
fn print_missing(notes: &[azpath::model::CompletenessNote], verbose: u8) {
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<&str>> = Default::default();
    for n in notes {
        groups.entry((n.what.as_str(), n.reason.as_str())).or_default().push(n.scope.as_deref().unwrap_or("(all)"));
    }
    if !groups.is_empty() {
        eprintln!("azpath: not collected (a missing path there may be uncollected, not absent):");
    }
    for ((what, reason), scopes) in groups {
        let (what, reason) = (terminal(what), terminal(reason));
        let scopes: Vec<_> = scopes.into_iter().map(terminal).collect();
        if verbose > 0 || scopes.len() <= 3 {
            eprintln!("  {what}: {reason}: {}", scopes.join(", "));
        } else {
            eprintln!("  {what}: {reason}: {} scopes, e.g. {} (-v lists all)", scopes.len(), scopes[0]);
        }
    }
}

/// `azpath ingest DIR`.
pub fn ingest(ctx: &Ctx, args: IngestArgs) -> Result<ExitCode> {
    let db = ctx.db;
    let raw = azpath::collect::ingest(&args.dir)?;
    let failed = || format!("cannot import the archive {}", args.dir.display());
    let prepared = azpath::prepare(raw).with_context(failed)?;
    let mut store = super::output::open_store(db)?;
    let s = prepared.write(&mut store, args.label.as_deref()).with_context(failed)?;
    eprintln!(
        "azpath: ingested {} as snapshot #{} in {}: {} nodes, {} attack edges",
        args.dir.display(),
        s.snapshot,
        db.display(),
        s.nodes,
        s.edges
    );
    Ok(ExitCode::SUCCESS)
}

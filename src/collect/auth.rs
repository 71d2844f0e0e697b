//! Credentials: azure_identity's credentials, chained in an order like the Azure SDKs'
//! `DefaultAzureCredential` (which azure_identity 1.x does not ship), and a per-scope token cache
//! that refreshes before expiry so that long runs never send an expired token.
//!
//! Secrets come from the environment only (never a command-line argument, which other users can see
//! in the process list). Tokens are held as [`Secret`]s, whose `Debug` does not print them, and are
//! never logged or stored.

use anyhow::{Result, anyhow, bail};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, SecretBytes, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientCertificateCredential, ClientCertificateCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use clap::ValueEnum;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum AuthMethod {
    /// The first that is configured and works: client secret or certificate (environment),
    /// workload identity, managed identity, Azure CLI.
    #[default]
    Auto,
    /// A service principal's secret from AZURE_CLIENT_SECRET (with AZURE_TENANT_ID, AZURE_CLIENT_ID).
    Secret,
    /// A service principal's PKCS#12 certificate (AZURE_CLIENT_CERTIFICATE_PATH or --client-certificate).
    Certificate,
    /// A federated token file (AZURE_FEDERATED_TOKEN_FILE), as in AKS and GitHub Actions.
    WorkloadIdentity,
    /// The managed identity of the Azure VM, App Service or Function running azpath.
    ManagedIdentity,
    /// `az login`.
    Cli,
}

/// What the credential chain needs; values come from options or the usual AZURE_* variables.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub method: AuthMethod,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub certificate: Option<PathBuf>,
    pub federated_token_file: Option<PathBuf>,
}

/// The members of the `auto` chain, in the order they are tried.
const CHAIN: [&str; 5] = ["client secret", "client certificate", "workload identity", "managed identity", "Azure CLI"];

/// One credential of the chain, by name (for error messages).
struct Candidate {
    name: &'static str,
    credential: Arc<dyn TokenCredential>,
    /// Managed identity off Azure only finds out by timing out; bound that in the auto chain.
    probe_timeout: Option<Duration>,
}

/// A credential chain; the first member that returns a token is used for the rest of the run.
pub struct Credentials {
    candidates: Vec<Candidate>,
    chosen: Mutex<Option<usize>>,
    /// Members of the `auto` chain left out at set-up, and why.
    skipped: Vec<(String, String)>,
    auto: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An azure_identity error in one line: its message and the causes it wraps (a PKCS#12 error's
/// OpenSSL reason, an I/O error), without the SDK's troubleshooting link. These messages hold no
/// secrets: Entra's error descriptions, file paths, the CLI's stderr.
fn describe(e: &azure_core::Error) -> String {
    let mut text = String::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let part = err.to_string();
        let part: Vec<&str> =
            part.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("To troubleshoot, visit")).collect();
        let part = part.join(" ");
        if !part.is_empty() && !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        next = err.source();
    }
    text
}

/// What is missing, as "A, B and C".
fn missing(items: &[(&str, bool)]) -> String {
    let names: Vec<&str> = items.iter().filter(|(_, present)| !present).map(|(n, _)| *n).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl Credentials {
    /// Builds the chain. `transport` is the collector's own HTTP client, so token requests trust the
    /// same extra CA and use the same proxy as Graph and ARM requests.
    pub fn new(settings: &AuthSettings, authority: &url::Url, transport: reqwest::Client) -> Result<Credentials> {
        let client_options = || {
            let mut o = ClientOptions {
                transport: Some(Transport::new(Arc::new(transport.clone()))),
                // A few quick retries: a misconfigured CA or authority should fail in seconds, not minutes.
                retry: RetryOptions::exponential(ExponentialRetryOptions {
                    max_retries: 3,
                    max_total_elapsed: azure_core::time::Duration::seconds(20),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let mut custom = CustomConfiguration::default();
            custom.authority_host = authority.as_str().trim_end_matches('/').to_string();
            o.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
            o
        };
        let tenant = settings.tenant_id.clone().or_else(|| env("AZURE_TENANT_ID"));
        let client_id = settings.client_id.clone().or_else(|| env("AZURE_CLIENT_ID"));
        let secret = env("AZURE_CLIENT_SECRET");
        let cert_path =
            settings.certificate.clone().or_else(|| env("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from));
        let token_file =
            settings.federated_token_file.clone().or_else(|| env("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from));
        let method = settings.method;
        let auto = method == AuthMethod::Auto;
        let mut candidates = Vec::new();
        let mut skipped = Vec::new();
        // A credential that cannot be set up (an unreadable file, a managed-identity environment
        // azure_identity does not support): in `auto` one more reason in the final error, and the
        // chain goes on; asked for by name, the error itself.
        let mut unavailable = |name: &str, why: String| -> Result<()> {
            if auto {
                skipped.push((name.to_string(), why));
                Ok(())
            } else {
                bail!("{name} sign-in: {why}")
            }
        };
        let tenant_what = "a tenant (--tenant or AZURE_TENANT_ID)";
        let client_what = "a client id (--client-id or AZURE_CLIENT_ID)";

        if auto || method == AuthMethod::Secret {
            match (&tenant, &client_id, &secret) {
                (Some(t), Some(c), Some(s)) => {
                    let o = ClientSecretCredentialOptions { client_options: client_options() };
                    match ClientSecretCredential::new(t, c.clone(), Secret::new(s.clone()), Some(o)) {
                        Ok(cred) => {
                            candidates.push(Candidate { name: "client secret", credential: cred, probe_timeout: None })
                        }
                        Err(e) => unavailable("client secret", describe(&e))?,
                    }
                }
                _ => unavailable(
                    "client secret",
                    format!(
                        "needs {} (the secret is read from the environment only, never a command-line argument)",
                        missing(&[
                            (tenant_what, tenant.is_some()),
                            (client_what, client_id.is_some()),
                            ("AZURE_CLIENT_SECRET", secret.is_some())
                        ])
                    ),
                )?,
            }
        }
        if auto || method == AuthMethod::Certificate {
            match (&tenant, &client_id, &cert_path) {
                (Some(t), Some(c), Some(p)) => match std::fs::read(p) {
                    Err(e) => unavailable("client certificate", format!("cannot read {}: {e}", p.display()))?,
                    Ok(bytes) => {
                        let o = ClientCertificateCredentialOptions {
                            client_options: client_options(),
                            password: env("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Secret::new),
                        };
                        match ClientCertificateCredential::new(t.clone(), c.clone(), SecretBytes::new(bytes), Some(o)) {
                            Ok(cred) => candidates.push(Candidate {
                                name: "client certificate",
                                credential: cred,
                                probe_timeout: None,
                            }),
                            Err(e) => {
                                let detail = describe(&e);
                                let hint = if detail.contains("mac verify failure") {
                                    "the password (AZURE_CLIENT_CERTIFICATE_PASSWORD) is wrong or missing"
                                } else if detail.contains("from DER failed") {
                                    "not a binary PKCS#12 (.pfx) file"
                                } else {
                                    "PKCS#12 with an RSA key expected"
                                };
                                unavailable(
                                    "client certificate",
                                    format!("{} is not a usable PKCS#12 file: {hint} ({detail})", p.display()),
                                )?
                            }
                        }
                    }
                },
                _ => unavailable(
                    "client certificate",
                    format!(
                        "needs {}",
                        missing(&[
                            (tenant_what, tenant.is_some()),
                            (client_what, client_id.is_some()),
                            ("--client-certificate FILE or AZURE_CLIENT_CERTIFICATE_PATH", cert_path.is_some())
                        ])
                    ),
                )?,
            }
        }
        if auto || method == AuthMethod::WorkloadIdentity {
            match (&tenant, &client_id, &token_file) {
                (Some(t), Some(c), Some(f)) => {
                    let mut o = WorkloadIdentityCredentialOptions {
                        client_id: Some(c.clone()),
                        tenant_id: Some(t.clone()),
                        token_file_path: Some(f.clone()),
                        ..Default::default()
                    };
                    o.credential_options.client_options = client_options();
                    match WorkloadIdentityCredential::new(Some(o)) {
                        Ok(cred) => candidates.push(Candidate {
                            name: "workload identity",
                            credential: cred,
                            probe_timeout: None,
                        }),
                        Err(e) => unavailable("workload identity", describe(&e))?,
                    }
                }
                _ => unavailable(
                    "workload identity",
                    format!(
                        "needs {}",
                        missing(&[
                            (tenant_what, tenant.is_some()),
                            (client_what, client_id.is_some()),
                            ("AZURE_FEDERATED_TOKEN_FILE", token_file.is_some())
                        ])
                    ),
                )?,
            }
        }
        if auto || method == AuthMethod::ManagedIdentity {
            // Managed identity tokens come from the local host (IMDS or App Service), not the
            // authority, so only the transport is shared.
            let mut o = ManagedIdentityCredentialOptions::default();
            o.client_options.transport = Some(Transport::new(Arc::new(transport.clone())));
            if let Some(c) = settings.client_id.clone().or_else(|| env("AZURE_MANAGED_IDENTITY_CLIENT_ID")) {
                o.user_assigned_id = Some(UserAssignedId::ClientId(c));
            }
            match ManagedIdentityCredential::new(Some(o)) {
                Ok(cred) => {
                    let on_app_service = env("IDENTITY_ENDPOINT").is_some();
                    candidates.push(Candidate {
                        name: "managed identity",
                        credential: cred,
                        probe_timeout: (auto && !on_app_service).then_some(Duration::from_secs(3)),
                    });
                }
                Err(e) => unavailable("managed identity", describe(&e))?,
            }
        }
        if auto || method == AuthMethod::Cli {
            let o = AzureCliCredentialOptions { tenant_id: tenant.clone(), ..Default::default() };
            match AzureCliCredential::new(Some(o)) {
                Ok(cred) => candidates.push(Candidate { name: "Azure CLI", credential: cred, probe_timeout: None }),
                Err(e) => unavailable("Azure CLI", describe(&e))?,
            }
        }
        Ok(Credentials { candidates, chosen: Mutex::new(None), skipped, auto })
    }

    /// A token for `scope`; on first use, tries the chain in order and keeps the first that works.
    async fn get(&self, scope: &str) -> Result<azure_core::credentials::AccessToken> {
        let mut chosen = self.chosen.lock().await;
        if let Some(i) = *chosen {
            let c = &self.candidates[i];
            return c
                .credential
                .get_token(&[scope], None)
                .await
                .map_err(|e| anyhow!("{} sign-in failed for {scope}: {}", c.name, describe(&e)));
        }
        let mut errors: Vec<(&str, String)> =
            self.skipped.iter().map(|(name, why)| (name.as_str(), why.clone())).collect();
        for (i, c) in self.candidates.iter().enumerate() {
            let scopes = [scope];
            let attempt = c.credential.get_token(&scopes, None);
            let result = match c.probe_timeout {
                Some(t) => match tokio::time::timeout(t, attempt).await {
                    Ok(r) => r.map_err(|e| describe(&e)),
                    Err(_) => Err(format!("no answer within {} s (not running on Azure?)", t.as_secs())),
                },
                None => attempt.await.map_err(|e| describe(&e)),
            };
            match result {
                Ok(token) => {
                    *chosen = Some(i);
                    return Ok(token);
                }
                Err(why) => errors.push((c.name, why)),
            }
        }
        if !self.auto
            && let [(name, why)] = &errors[..]
        {
            bail!("{name} sign-in failed for {scope}: {why}");
        }
        // In the chain's order, whether a member was left out at set-up or tried and failed.
        errors.sort_by_key(|(name, _)| CHAIN.iter().position(|n| n == name));
        let list: Vec<String> = errors.iter().map(|(name, why)| format!("{name}: {why}")).collect();
        bail!("no credential could sign in for {scope} (--auth auto tried, in order):\n  - {}", list.join("\n  - "))
    }

    /// The name of the credential in use (after the first token).
    pub async fn chosen_name(&self) -> Option<&'static str> {
        self.chosen.lock().await.map(|i| self.candidates[i].name)
    }
}

/// A cached token for one scope.
struct Cached {
    token: Secret,
    refresh_at: std::time::Instant,
}

/// Tokens for one scope (Graph or ARM), refreshed before they expire.
pub struct TokenSource {
    credentials: Arc<Credentials>,
    scope: String,
    cached: Mutex<Option<Cached>>,
    /// How many tokens were fetched (for tests of refresh).
    pub fetched: std::sync::atomic::AtomicU64,
}

impl TokenSource {
    pub fn new(credentials: Arc<Credentials>, scope: String) -> TokenSource {
        TokenSource { credentials, scope, cached: Mutex::new(None), fetched: Default::default() }
    }

    /// The current token, fetching a new one when a quarter of its lifetime (at most 5 minutes)
    /// is left, so that a request never leaves with a token about to expire.
    pub async fn token(&self) -> Result<Secret> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && std::time::Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let t = self.credentials.get(&self.scope).await?;
        self.fetched.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lifetime = (t.expires_on - azure_core::time::OffsetDateTime::now_utc()).whole_milliseconds().max(0) as u64;
        let margin = (lifetime / 4).min(300_000);
        let refresh_at = std::time::Instant::now() + Duration::from_millis(lifetime - margin);
        let token = t.token.clone();
        *cached = Some(Cached { token: t.token, refresh_at });
        Ok(token)
    }

    /// Forgets the cached token (after a 401), so the next request signs in again.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

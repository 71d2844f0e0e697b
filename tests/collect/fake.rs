//! A fake Azure: a real HTTPS server (hyper + rustls, with a test CA made by rcgen at start) that
//! serves a tenant in Microsoft Graph and ARM shapes (`../shared/reference/api-examples/`), with
//! the Entra token endpoint, on three ports (login, Graph, ARM) so that Graph and ARM tokens have
//! different audiences. It can page with small pages, answer 429 with `Retry-After`, fail with
//! 500/503, drop connections, deny paths with 403 and delay every response.
//!
//! Besides the client secret, the token endpoint accepts the sign-ins of [`SignIn`]: a client
//! assertion signed by a registered certificate's key, or a registered federated token; a fourth,
//! plain-HTTP listener stands in for the managed-identity endpoints (App Service's
//! `IDENTITY_ENDPOINT`, and IMDS when reached through `HTTP_PROXY`).
//!
//! Shared by the tests (`tests/collect/`) and the benchmark (`benches/collector.rs`).
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The tenant the fake serves: lists by request path (lower case, no query), single objects by
/// path, and lists that need a `$filter` (PIM for Groups) by `path|value`.
#[derive(Default, Clone)]
pub struct Data {
    pub lists: HashMap<String, Vec<Value>>,
    pub singles: HashMap<String, Value>,
    pub filtered: HashMap<String, Vec<Value>>,
    /// Paths (lower case) whose list must be asked with a filter (400 otherwise).
    pub filter_required: Vec<String>,
}

/// Faults and pacing.
#[derive(Clone)]
pub struct Faults {
    /// Items per page at most (Graph and ARM), whatever `$top` says.
    pub page_size: usize,
    /// Delay before every API answer (a `$batch` counts once).
    pub latency: Duration,
    /// Every n-th API request answers 429 with `Retry-After: 1` (0: never).
    pub throttle_every: u64,
    /// Every n-th API request answers 500 or 503 (alternating).
    pub fail_every: u64,
    /// Every n-th API request drops the connection without an answer.
    pub drop_every: u64,
    /// Every n-th request inside a `$batch` answers 429 with `Retry-After: 1`.
    pub batch_item_throttle_every: u64,
    /// Requests whose path contains one of these (lower case) answer 403.
    pub deny: Vec<String>,
    /// Token lifetime in seconds.
    pub token_lifetime: u64,
    /// ARM's `x-ms-ratelimit-remaining-subscription-reads` value to send.
    pub arm_remaining_reads: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            page_size: 1000,
            latency: Duration::ZERO,
            throttle_every: 0,
            fail_every: 0,
            drop_every: 0,
            batch_item_throttle_every: 0,
            deny: vec![],
            token_lifetime: 3599,
            arm_remaining_reads: 11999,
        }
    }
}

pub const TENANT: &str = "a1b2c3d4-0000-4000-8000-00000000aaaa";
pub const CLIENT_ID: &str = "2b3c4d5e-6f70-4182-9384-a5b6c7d8e9f0";
/// The client secret the token endpoint accepts; must never appear in any output.
pub const CLIENT_SECRET: &str = "Zs8Q~fake-client-secret-DO-NOT-STORE";

/// The sign-ins the fake accepts besides [`CLIENT_SECRET`] (none by default).
#[derive(Default, Clone)]
pub struct SignIn {
    /// The certificate (DER) registered on the app [`CLIENT_ID`]: a client assertion (RS256 JWT)
    /// whose `x5t` is its SHA-1 thumbprint and whose signature its public key verifies is accepted.
    pub certificate_der: Option<Vec<u8>>,
    /// The federated token trusted for the app: accepted as a client assertion, byte for byte.
    pub federated_token: Option<String>,
    /// Managed identity: the App Service `IDENTITY_HEADER` value the `/msi/token` endpoint expects
    /// (None: that endpoint answers 401 to everyone).
    pub identity_header: Option<String>,
    /// Managed identity: the machine has a system-assigned identity.
    pub system_assigned: bool,
    /// Managed identity: the client id of a user-assigned identity it holds.
    pub user_assigned_client_id: Option<String>,
}

/// One request to the managed-identity listener.
#[derive(Debug, Clone)]
pub struct MiRequest {
    pub method: String,
    /// The request target as sent: a path, or an absolute URL when it came through a proxy.
    pub uri: String,
    /// Headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// Query parameters.
    pub query: HashMap<String, String>,
}

/// What the fake saw.
#[derive(Default)]
pub struct Seen {
    pub api_requests: AtomicU64,
    pub batch_items: AtomicU64,
    pub token_requests: AtomicU64,
    pub in_flight: AtomicI64,
    pub peak_in_flight: AtomicI64,
    pub unauthorized: AtomicU64,
    pub faults_injected: AtomicU64,
    /// Every access token issued (to check none leaks).
    pub tokens: Mutex<Vec<String>>,
    /// Every API request: method and path (with its query).
    pub requests: Mutex<Vec<String>>,
    /// The form of every request to the token endpoint.
    pub token_forms: Mutex<Vec<HashMap<String, String>>>,
    /// Every request to the managed-identity listener.
    pub mi_requests: Mutex<Vec<MiRequest>>,
}

impl Seen {
    /// The paths requested so far, with their methods ("GET /subscriptions/...").
    pub fn paths(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Login,
    Graph,
    Arm,
    /// Plain HTTP: App Service's managed-identity endpoint, and IMDS through a proxy.
    ManagedIdentity,
}

/// token -> (audience scope, expiry)
type Issued = Arc<Mutex<HashMap<String, (String, Instant)>>>;

struct State {
    data: Data,
    faults: Faults,
    signin: SignIn,
    seen: Arc<Seen>,
    tokens: Issued,
    login_base: String,
    graph_base: String,
    arm_base: String,
}

/// A running fake Azure; stops when dropped.
pub struct FakeAzure {
    pub login_url: String,
    pub graph_url: String,
    pub arm_url: String,
    /// The managed-identity listener (plain HTTP): App Service's endpoint is `{mi_url}/msi/token`;
    /// as an HTTP proxy it answers IMDS (`http://169.254.169.254/metadata/identity/oauth2/token`).
    pub mi_url: String,
    /// The test CA's certificate (PEM), for `--ca-cert`.
    pub ca_pem: PathBuf,
    pub seen: Arc<Seen>,
    tokens: Issued,
    token_lifetime: u64,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tls_config(dir: &std::path::Path) -> (Arc<rustls::ServerConfig>, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "azpath fake Azure test CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let ca_path = dir.join("fake-azure-ca.pem");
    std::fs::write(&ca_path, ca_cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone()], key)
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (Arc::new(cfg), ca_path)
}

impl FakeAzure {
    /// Starts the three listeners on their own runtime (so a test or benchmark runtime does not
    /// share threads with the server it measures).
    pub fn start(data: Data, faults: Faults) -> FakeAzure {
        FakeAzure::start_with(data, faults, SignIn::default())
    }

    /// Starts with more ways to sign in than the client secret.
    pub fn start_with(data: Data, faults: Faults, signin: SignIn) -> FakeAzure {
        let dir = tempfile::tempdir().unwrap();
        let (tls, ca_pem) = tls_config(dir.path());
        let seen = Arc::new(Seen::default());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let seen2 = seen.clone();
        let tokens: Issued = Arc::default();
        let tokens2 = tokens.clone();
        let token_lifetime = faults.token_lifetime;
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let mut listeners = Vec::new();
                for _ in 0..4 {
                    listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
                }
                let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
                let url = |a: &SocketAddr| format!("https://127.0.0.1:{}", a.port());
                let state = Arc::new(State {
                    data,
                    faults,
                    signin,
                    seen: seen2,
                    tokens: tokens2,
                    login_base: url(&addrs[0]),
                    graph_base: url(&addrs[1]),
                    arm_base: url(&addrs[2]),
                });
                addr_tx.send(addrs.clone()).unwrap();
                let mut tasks = Vec::new();
                let roles = [Role::Login, Role::Graph, Role::Arm, Role::ManagedIdentity];
                for (listener, role) in listeners.into_iter().zip(roles) {
                    let (state, tls) = (state.clone(), tls.clone());
                    let tls = (role != Role::ManagedIdentity).then_some(tls);
                    tasks.push(tokio::spawn(async move { serve(listener, role, state, tls).await }));
                }
                let _ = shutdown_rx.await;
                for t in tasks {
                    t.abort();
                }
            });
        });
        let addrs = addr_rx.recv().unwrap();
        let url = |a: &SocketAddr| format!("https://127.0.0.1:{}", a.port());
        FakeAzure {
            login_url: url(&addrs[0]),
            graph_url: url(&addrs[1]),
            arm_url: url(&addrs[2]),
            mi_url: format!("http://127.0.0.1:{}", addrs[3].port()),
            ca_pem,
            seen,
            tokens,
            token_lifetime,
            _dir: dir,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub fn tokens(&self) -> Vec<String> {
        self.seen.tokens.lock().unwrap().clone()
    }

    /// Issues a token for `scope` outside any sign-in (what a stand-in `az` hands out: the CLI's
    /// cached token), with its expiry as a Unix time.
    pub fn issue_token(&self, scope: &str) -> (String, u64) {
        let t = issue(&self.tokens, &self.seen, scope, self.token_lifetime);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        (t, now + self.token_lifetime)
    }

    /// The token endpoint's forms seen so far.
    pub fn token_forms(&self) -> Vec<HashMap<String, String>> {
        self.seen.token_forms.lock().unwrap().clone()
    }

    /// The managed-identity requests seen so far.
    pub fn mi_requests(&self) -> Vec<MiRequest> {
        self.seen.mi_requests.lock().unwrap().clone()
    }
}

/// A fresh token for `scope`, remembered with its expiry.
fn issue(tokens: &Issued, seen: &Seen, scope: &str, lifetime: u64) -> String {
    let mut all = seen.tokens.lock().unwrap();
    let n = all.len() as u64 + 1;
    let t = format!("eyJfake.{n:04}.{}", std::process::id() as u64 * 7919 + n * 104729);
    tokens.lock().unwrap().insert(t.clone(), (scope.to_string(), Instant::now() + Duration::from_secs(lifetime)));
    all.push(t.clone());
    t
}

/// Serves one listener: HTTPS with `tls`, plain HTTP without.
async fn serve(
    listener: tokio::net::TcpListener,
    role: Role,
    state: Arc<State>,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let (acceptor, state) = (acceptor.clone(), state.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { handle(role, state, req).await }
            });
            let server = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            match acceptor {
                Some(a) => {
                    let Ok(stream) = a.accept(tcp).await else { return };
                    let _ = server.serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                }
                None => {
                    let _ = server.serve_connection(hyper_util::rt::TokioIo::new(tcp), svc).await;
                }
            }
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn respond(status: u16, headers: &[(&str, String)], body: &Value) -> Resp {
    let mut b = Response::builder().status(status).header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// Dropping the connection: hyper closes it when the service fails.
#[derive(Debug)]
struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}
impl std::error::Error for Dropped {}

struct InFlight<'a>(&'a Seen);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(role: Role, state: Arc<State>, req: Request<hyper::body::Incoming>) -> Result<Resp, Dropped> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if role == Role::Login {
        return Ok(token(&state, parts.uri.path(), &body));
    }
    if role == Role::ManagedIdentity {
        return Ok(managed_identity(&state, &parts));
    }
    let seen = &state.seen;
    let n = seen.api_requests.fetch_add(1, Ordering::SeqCst) + 1;
    seen.requests.lock().unwrap().push(format!("{} {}", parts.method, parts.uri));
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.peak_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(seen);
    if !state.faults.latency.is_zero() {
        tokio::time::sleep(state.faults.latency).await;
    }
    // Authentication: a token we issued, for this API's audience, not expired.
    let base = if role == Role::Graph { &state.graph_base } else { &state.arm_base };
    let auth = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let ok = auth.strip_prefix("Bearer ").is_some_and(|t| {
        state
            .tokens
            .lock()
            .unwrap()
            .get(t)
            .is_some_and(|(aud, exp)| *aud == format!("{base}/.default") && *exp > Instant::now())
    });
    if !ok {
        seen.unauthorized.fetch_add(1, Ordering::SeqCst);
        return Ok(respond(
            401,
            &[],
            &json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty or invalid."}}),
        ));
    }
    let f = &state.faults;
    let every = |k: u64| k > 0 && n.is_multiple_of(k);
    if every(f.drop_every) {
        seen.faults_injected.fetch_add(1, Ordering::SeqCst);
        return Err(Dropped);
    }
    if every(f.throttle_every) {
        seen.faults_injected.fetch_add(1, Ordering::SeqCst);
        return Ok(throttled(role));
    }
    if every(f.fail_every) {
        seen.faults_injected.fetch_add(1, Ordering::SeqCst);
        let status = if (n / f.fail_every).is_multiple_of(2) { 503 } else { 500 };
        return Ok(respond(
            status,
            &[],
            &json!({"error": {"code": "InternalServerError", "message": "Something went wrong (fake)."}}),
        ));
    }
    let path = percent_decode(parts.uri.path());
    let query = parts.uri.query().unwrap_or("").to_string();
    if role == Role::Graph && parts.method == hyper::Method::POST && path == "/v1.0/$batch" {
        return Ok(batch(&state, &body));
    }
    let (status, headers, body) = get(&state, role, &path, &query);
    Ok(respond(status, &headers, &body))
}

fn throttled(role: Role) -> Resp {
    match role {
        Role::Graph => respond(
            429,
            &[("Retry-After", "1".into()), ("x-ms-throttle-information", "ResourceUnitLimitExceeded".into())],
            &json!({"error": {"code": "TooManyRequests", "message": "Too many requests.", "innerError": {"date": "2026-09-01T10:00:00"}}}),
        ),
        _ => respond(
            429,
            &[("Retry-After", "1".into()), ("x-ms-ratelimit-remaining-subscription-reads", "0".into())],
            &json!({"error": {"code": "SubscriptionRequestsThrottled", "message": "Number of 'read' requests exceeded. Please try again after '1' seconds."}}),
        ),
    }
}

fn token(state: &State, path: &str, body: &[u8]) -> Resp {
    state.seen.token_requests.fetch_add(1, Ordering::SeqCst);
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    state.seen.token_forms.lock().unwrap().push(form.clone());
    let bad = |code: u32, desc: &str| {
        respond(401, &[], &json!({"error": "invalid_client", "error_description": desc, "error_codes": [code]}))
    };
    if path != format!("/{TENANT}/oauth2/v2.0/token") {
        return respond(
            400,
            &[],
            &json!({"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found.", "error_codes": [90002]}),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return bad(700016, "AADSTS700016: Application not found.");
    }
    match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(secret), None) => {
            if secret != CLIENT_SECRET {
                return bad(7000215, "AADSTS7000215: Invalid client secret provided.");
            }
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return bad(
                    50027,
                    "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                );
            }
            let federated = state.signin.federated_token.as_deref() == Some(assertion.as_str());
            let names_a_certificate = assertion
                .split('.')
                .next()
                .and_then(|h| azure_core::base64::decode_url_safe(h).ok())
                .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
                .is_some_and(|h| h.get("x5t").is_some());
            if !federated && !names_a_certificate {
                return bad(70021, "AADSTS70021: No matching federated identity record found for presented assertion.");
            }
            if !federated {
                let aud = format!("{}/{TENANT}/oauth2/v2.0/token", state.login_base);
                if let Err(why) = verify_assertion(assertion, state.signin.certificate_der.as_deref(), &aud) {
                    return bad(700027, &format!("AADSTS700027: Client assertion failed signature validation: {why}."));
                }
            }
        }
        _ => {
            return bad(
                7000216,
                "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            );
        }
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    if scope != format!("{}/.default", state.graph_base) && scope != format!("{}/.default", state.arm_base) {
        return respond(
            400,
            &[],
            &json!({"error": "invalid_scope", "error_description": format!("AADSTS70011: invalid scope {scope}"), "error_codes": [70011]}),
        );
    }
    let lifetime = state.faults.token_lifetime;
    let t = issue(&state.tokens, &state.seen, &scope, lifetime);
    respond(
        200,
        &[],
        &json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": t}),
    )
}

/// Checks a certificate client assertion as Entra does: an RS256 JWT whose `x5t` names the
/// registered certificate (SHA-1 thumbprint, base64), signed by its key, for this token endpoint
/// (`aud`), issued by and about the app (`iss`, `sub`), and current (`nbf`, `exp`).
pub fn verify_assertion(jwt: &str, certificate_der: Option<&[u8]>, aud: &str) -> Result<(), String> {
    use azure_core::base64;
    let cert_der = certificate_der.ok_or("no certificate is registered for the app")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, sig] = parts[..] else { return Err("not a JWS compact serialization".into()) };
    let json = |part: &str| -> Result<Value, String> {
        let bytes = base64::decode_url_safe(part).map_err(|e| format!("bad base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("bad JSON: {e}"))
    };
    let (header, payload) = (json(h)?, json(p)?);
    if header["alg"] != "RS256" || header["typ"] != "JWT" {
        return Err(format!("unexpected header {header}"));
    }
    let cert = openssl::x509::X509::from_der(cert_der).map_err(|e| e.to_string())?;
    let thumbprint = cert.digest(openssl::hash::MessageDigest::sha1()).map_err(|e| e.to_string())?;
    let x5t = header["x5t"].as_str().ok_or("no x5t")?;
    if base64::decode(x5t).map_err(|e| e.to_string())? != thumbprint.to_vec() {
        return Err("x5t is not the registered certificate's thumbprint".into());
    }
    let key = cert.public_key().map_err(|e| e.to_string())?;
    let signature = base64::decode_url_safe(sig).map_err(|e| e.to_string())?;
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
    verifier.update(format!("{h}.{p}").as_bytes()).map_err(|e| e.to_string())?;
    if !verifier.verify(&signature).map_err(|e| e.to_string())? {
        return Err("the signature does not verify with the certificate's key".into());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (nbf, exp) = (payload["nbf"].as_i64().unwrap_or(i64::MAX), payload["exp"].as_i64().unwrap_or(0));
    if payload["aud"] != aud
        || payload["iss"] != CLIENT_ID
        || payload["sub"] != CLIENT_ID
        || payload["jti"].as_str().is_none_or(str::is_empty)
        || nbf > now + 60
        || exp < now
    {
        return Err(format!("unexpected claims {payload}"));
    }
    Ok(())
}

/// The managed-identity endpoints (2019-08-01 protocol): App Service's `/msi/token` (the
/// `X-IDENTITY-HEADER` secret required) and IMDS (the `Metadata: true` header required), asked
/// for one `resource`, optionally a user-assigned `client_id`. Answers in their shape: `expires_on`
/// as a string of Unix seconds.
fn managed_identity(state: &State, parts: &hyper::http::request::Parts) -> Resp {
    let headers: HashMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let query: HashMap<String, String> = params(parts.uri.query().unwrap_or("")).into_iter().collect();
    state.seen.mi_requests.lock().unwrap().push(MiRequest {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: headers.clone(),
        query: query.clone(),
    });
    let error =
        |status: u16, desc: &str| respond(status, &[], &json!({"error": "invalid_request", "error_description": desc}));
    let imds = parts.uri.host() == Some("169.254.169.254") && parts.uri.path() == "/metadata/identity/oauth2/token";
    if imds {
        if headers.get("metadata").map(String::as_str) != Some("true") {
            return error(400, "Required metadata header not specified");
        }
    } else if parts.uri.path() == "/msi/token" {
        let expected = state.signin.identity_header.as_deref();
        if expected.is_none() || headers.get("x-identity-header").map(String::as_str) != expected {
            return error(401, "The X-IDENTITY-HEADER is missing or wrong.");
        }
    } else {
        return error(404, "Not found.");
    }
    if query.get("api-version").map(String::as_str) != Some("2019-08-01") {
        return error(400, "Unsupported api-version.");
    }
    let resource = query.get("resource").cloned().unwrap_or_default();
    if resource != state.graph_base && resource != state.arm_base {
        return error(400, &format!("Invalid resource {resource}."));
    }
    let has_identity = match query.get("client_id") {
        Some(c) => state.signin.user_assigned_client_id.as_ref() == Some(c),
        None => state.signin.system_assigned,
    };
    if !has_identity || query.contains_key("object_id") || query.contains_key("msi_res_id") {
        return error(400, "Identity not found");
    }
    let lifetime = state.faults.token_lifetime;
    let t = issue(&state.tokens, &state.seen, &format!("{resource}/.default"), lifetime);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    respond(
        200,
        &[],
        &json!({"access_token": t, "expires_on": (now + lifetime).to_string(), "resource": resource, "token_type": "Bearer"}),
    )
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn params(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// One GET: a page of a list, one object, or an error, in the API's shapes.
fn get(state: &State, role: Role, path: &str, query: &str) -> (u16, Vec<(&'static str, String)>, Value) {
    let q = params(query);
    let param = |k: &str| q.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    let lower = path.to_ascii_lowercase();
    let mut headers = Vec::new();
    if role == Role::Arm {
        headers.push(("x-ms-ratelimit-remaining-subscription-reads", state.faults.arm_remaining_reads.to_string()));
    }
    if state.faults.deny.iter().any(|d| lower.contains(d.as_str())) {
        let body = match role {
            Role::Graph => {
                json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}})
            }
            _ => {
                json!({"error": {"code": "AuthorizationFailed", "message": format!("The client does not have authorization to perform action over scope '{path}'.")}})
            }
        };
        return (403, headers, body);
    }
    let (key, is_graph) = match role {
        Role::Graph => match lower.strip_prefix("/v1.0") {
            Some(rest) => (rest.to_string(), true),
            None => {
                return (
                    404,
                    headers,
                    json!({"error": {"code": "Request_ResourceNotFound", "message": "Unknown version."}}),
                );
            }
        },
        _ => {
            if param("api-version").is_none() {
                return (
                    400,
                    headers,
                    json!({"error": {"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests."}}),
                );
            }
            (lower.clone(), false)
        }
    };
    if let Some(v) = state.data.singles.get(&key) {
        return (200, headers, v.clone());
    }
    let list: &[Value] = if state.data.filter_required.contains(&key) {
        let Some(filter) = param("$filter") else {
            return (
                400,
                headers,
                json!({"error": {"code": "BadRequest", "message": "The filter on groupId or principalId is required."}}),
            );
        };
        let value = filter.split('\'').nth(1).unwrap_or("").to_ascii_lowercase();
        state.data.filtered.get(&format!("{key}|{value}")).map(Vec::as_slice).unwrap_or(&[])
    } else {
        match state.data.lists.get(&key) {
            Some(l) => l,
            None => {
                let body = if is_graph {
                    json!({"error": {"code": "Request_ResourceNotFound", "message": format!("Resource '{path}' does not exist.")}})
                } else {
                    json!({"error": {"code": "ResourceNotFound", "message": format!("The resource '{path}' was not found.")}})
                };
                return (404, headers, body);
            }
        }
    };
    let skip: usize = param("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
    let top: usize = param("$top").and_then(|s| s.parse().ok()).unwrap_or(if is_graph { 100 } else { 1000 });
    let size = top.min(state.faults.page_size).max(1);
    let select: Option<Vec<String>> = param("$select").map(|s| s.split(',').map(str::to_string).collect());
    let page: Vec<Value> = list
        .iter()
        .skip(skip)
        .take(size)
        .map(|v| match (&select, is_graph) {
            (Some(fields), true) => project(v, fields),
            _ => v.clone(),
        })
        .collect();
    let next = (skip + size < list.len()).then(|| {
        let kept: Vec<(String, String)> =
            q.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")).cloned().collect();
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            s.append_pair(k, v);
        }
        s.append_pair("$skiptoken", &(skip + size).to_string());
        let base = if is_graph { &state.graph_base } else { &state.arm_base };
        format!("{base}{path}?{}", s.finish())
    });
    let body = if is_graph {
        let mut b = json!({"@odata.context": format!("{}/v1.0/$metadata#{}", state.graph_base, key.trim_start_matches('/')), "value": page});
        if let Some(n) = next {
            b["@odata.nextLink"] = json!(n);
        }
        b
    } else {
        let mut b = json!({"value": page});
        if let Some(n) = next {
            b["nextLink"] = json!(n);
        }
        b
    };
    (200, headers, body)
}

/// `$select` keeps the named properties (and `@odata.type`, which Graph always sends for mixed
/// directory-object lists).
fn project(v: &Value, fields: &[String]) -> Value {
    let Some(m) = v.as_object() else { return v.clone() };
    let out: serde_json::Map<String, Value> = m
        .iter()
        .filter(|(k, _)| k.as_str() == "@odata.type" || fields.iter().any(|f| f == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(out)
}

fn batch(state: &State, body: &[u8]) -> Resp {
    let Ok(req): Result<Value, _> = serde_json::from_slice(body) else {
        return respond(400, &[], &json!({"error": {"code": "BadRequest", "message": "Invalid batch payload."}}));
    };
    let requests = req.get("requests").and_then(Value::as_array).cloned().unwrap_or_default();
    if requests.is_empty() || requests.len() > 20 {
        return respond(
            400,
            &[],
            &json!({"error": {"code": "BadRequest", "message": "The batch must hold 1 to 20 requests."}}),
        );
    }
    let mut responses = Vec::new();
    // Graph answers in any order: reverse it to make sure the collector matches on ids.
    for r in requests.iter().rev() {
        let id = r.get("id").cloned().unwrap_or(Value::Null);
        let url = r.get("url").and_then(Value::as_str).unwrap_or("");
        let k = state.seen.batch_items.fetch_add(1, Ordering::SeqCst) + 1;
        let every = state.faults.batch_item_throttle_every;
        if every > 0 && k.is_multiple_of(every) {
            responses.push(
                json!({"id": id, "status": 429, "headers": {"Retry-After": "1", "Content-Type": "application/json"},
                "body": {"error": {"code": "TooManyRequests", "message": "Too many requests."}}}),
            );
            continue;
        }
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let (status, _, body) = get(state, Role::Graph, &format!("/v1.0{}", percent_decode(path)), query);
        responses
            .push(json!({"id": id, "status": status, "headers": {"Content-Type": "application/json"}, "body": body}));
    }
    respond(200, &[], &json!({"responses": responses}))
}

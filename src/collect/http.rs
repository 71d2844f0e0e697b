//! The collector's HTTP layer: one reqwest client (rustls, the extra CA, HTTPS_PROXY) for tokens,
//! Graph and ARM; a bounded number of requests in flight; and a retry policy of its own, because no
//! retry middleware honours `Retry-After`:
//!
//! - 429: wait `Retry-After` (or back off) and hold *every* request to that API until then, so a
//!   throttled run slows down instead of hammering;
//! - 500/502/503/504, timeouts and dropped connections: capped exponential backoff with jitter;
//! - 401: sign in again once (the token may have been revoked or expired early);
//! - ARM's `x-ms-ratelimit-remaining-*-reads` headers: pause before the budget runs out.
//!
//! Anything else (403, 404, 400, ...) is returned to the caller, which records it as "not
//! collected". Tokens are only ever put in the `Authorization` header and never logged.

use super::auth::TokenSource;
use crate::facts::redact::scrub_text;
use anyhow::{Context as _, Result, anyhow};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Which API a request goes to: each has its own token and its own throttling state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Graph,
    Arm,
}

/// Whether a request is on a sequential chain (a next page, a top-level list) and should overtake
/// the queue of fan-out requests; otherwise one long chain would wait behind thousands of batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High,
    Low,
}

/// Retry and pacing settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, including the first.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt.
    pub base_delay: Duration,
    /// Backoff cap (also caps an absurd `Retry-After`, at ten times this).
    pub max_delay: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Counters for the final summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttles: AtomicU64,
    pub bytes: AtomicU64,
}

/// A response that the retry policy did not absorb.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// `403 AuthorizationFailed: message` for completeness notes (Graph and ARM error shapes).
    pub fn reason(&self) -> String {
        error_reason(self.status.as_u16(), &self.body)
    }
}

/// A short reason from an error body: status, error code and (shortened) message.
pub fn error_reason(status: u16, body: &Value) -> String {
    let code = body.pointer("/error/code").and_then(Value::as_str).unwrap_or("");
    // Error messages quote requests back (a SAS URL, a key in a bad connection string).
    let code = scrub_text(code);
    let raw_msg = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
    let mut msg = scrub_text(raw_msg).into_owned();
    if msg.len() > 160 {
        let mut cut = 160;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
        msg.push('…');
    }
    match (code.is_empty(), msg.is_empty()) {
        (true, true) => format!("{status}"),
        (false, true) => format!("{status} {code}"),
        (true, false) => format!("{status}: {msg}"),
        (false, false) => format!("{status} {code}: {msg}"),
    }
}

/// Builds the one HTTP client: rustls with the platform's roots plus `ca_cert` (PEM, may hold
/// several certificates), proxies from HTTPS_PROXY/NO_PROXY.
pub fn build_client(ca_cert: Option<&Path>, timeout: Duration) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("azpath/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path).with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| anyhow!("{} is not a PEM certificate: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(anyhow!("{} holds no PEM certificate", path.display()));
        }
        b = b.tls_certs_merge(certs);
    }
    b.build().map_err(|e| anyhow!("cannot set up HTTPS: {e}"))
}

/// A counting semaphore with two queues: high-priority waiters are served first, each queue in
/// arrival order.
pub struct Slots {
    state: Mutex<SlotState>,
    /// Highest number of slots ever in use (checked by tests).
    pub peak: AtomicU64,
    capacity: usize,
}

struct SlotState {
    free: usize,
    high: VecDeque<oneshot::Sender<()>>,
    low: VecDeque<oneshot::Sender<()>>,
}

/// One request in flight; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
}

impl Slots {
    pub fn new(capacity: usize) -> Arc<Slots> {
        let capacity = capacity.max(1);
        Arc::new(Slots {
            state: Mutex::new(SlotState { free: capacity, high: VecDeque::new(), low: VecDeque::new() }),
            peak: AtomicU64::new(0),
            capacity,
        })
    }

    pub async fn acquire(self: &Arc<Self>, priority: Priority) -> Slot {
        let rx = {
            let mut s = self.state.lock().expect("slots lock");
            if s.free > 0 && (priority == Priority::High || s.high.is_empty()) {
                s.free -= 1;
                self.note_use(&s);
                return Slot { slots: self.clone() };
            }
            let (tx, rx) = oneshot::channel();
            match priority {
                Priority::High => s.high.push_back(tx),
                Priority::Low => s.low.push_back(tx),
            }
            rx
        };
        let mut waiter = Waiter { rx: Some(rx), slots: self.clone() };
        let rx = waiter.rx.as_mut().expect("set above");
        // The sender is only dropped when handing over fails, which cannot happen while we wait.
        let _ = rx.await;
        waiter.rx = None;
        Slot { slots: self.clone() }
    }

    fn note_use(&self, s: &SlotState) {
        let used = (self.capacity - s.free) as u64;
        self.peak.fetch_max(used, Ordering::Relaxed);
    }

    fn release(&self) {
        let mut s = self.state.lock().expect("slots lock");
        loop {
            let next = s.high.pop_front().or_else(|| s.low.pop_front());
            match next {
                Some(tx) => {
                    if tx.send(()).is_ok() {
                        return; // handed over: the slot stays in use
                    }
                }
                None => {
                    s.free += 1;
                    return;
                }
            }
        }
    }
}

/// A queued acquire; if it is cancelled after being handed a slot, the slot is given back.
struct Waiter {
    rx: Option<oneshot::Receiver<()>>,
    slots: Arc<Slots>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.slots.release();
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// "Do not send to this API before": set by 429s and low ARM read budgets.
#[derive(Default)]
struct Gate {
    until: Mutex<Option<Instant>>,
}

impl Gate {
    fn hold_until(&self, t: Instant) {
        let mut u = self.until.lock().expect("gate lock");
        if u.is_none_or(|cur| cur < t) {
            *u = Some(t);
        }
    }

    async fn wait(&self) {
        loop {
            let until = *self.until.lock().expect("gate lock");
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => return,
            }
        }
    }
}

/// A log line sink (the CLI prints them with `-v`; tests capture them). Never given a token.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The shared HTTP state of one collection.
pub struct Http {
    client: reqwest::Client,
    graph_tokens: TokenSource,
    arm_tokens: TokenSource,
    pub slots: Arc<Slots>,
    graph_gate: Gate,
    arm_gate: Gate,
    pub stats: Stats,
    policy: RetryPolicy,
    log: Log,
}

/// Below this many remaining ARM reads, pause before the next request.
const ARM_LOW_READS: u64 = 25;

impl Http {
    pub fn new(
        client: reqwest::Client,
        graph_tokens: TokenSource,
        arm_tokens: TokenSource,
        concurrency: usize,
        policy: RetryPolicy,
        log: Log,
    ) -> Http {
        Http {
            client,
            graph_tokens,
            arm_tokens,
            slots: Slots::new(concurrency),
            graph_gate: Gate::default(),
            arm_gate: Gate::default(),
            stats: Stats::default(),
            policy,
            log,
        }
    }

    pub fn tokens(&self, api: Api) -> &TokenSource {
        match api {
            Api::Graph => &self.graph_tokens,
            Api::Arm => &self.arm_tokens,
        }
    }

    fn gate(&self, api: Api) -> &Gate {
        match api {
            Api::Graph => &self.graph_gate,
            Api::Arm => &self.arm_gate,
        }
    }

    pub fn log(&self, line: &str) {
        (self.log)(line)
    }

    /// GET `url` (absolute, used verbatim) as JSON.
    pub async fn get(&self, api: Api, url: &str, priority: Priority) -> Result<Reply> {
        self.send(api, reqwest::Method::GET, url, None, priority).await
    }

    /// POST a JSON body (Graph `$batch`).
    pub async fn post(&self, api: Api, url: &str, body: &Value, priority: Priority) -> Result<Reply> {
        self.send(api, reqwest::Method::POST, url, Some(body), priority).await
    }

    /// Sends with retries; returns the first response that is not retryable. Errors only when the
    /// retries are exhausted or sign-in fails: a run that cannot read reliably must not pretend to
    /// be complete.
    async fn send(
        &self,
        api: Api,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        priority: Priority,
    ) -> Result<Reply> {
        let shown = shown_url(url);
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            self.gate(api).wait().await;
            let outcome = {
                let _slot = self.slots.acquire(priority).await;
                // The gate may have closed while we queued for a slot.
                self.gate(api).wait().await;
                // Taken only now: a token taken before queueing could expire in the queue.
                let token = self.tokens(api).token().await?;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let mut req = self.client.request(method.clone(), url).bearer_auth(token.secret());
                if let Some(b) = body {
                    req = req.json(b);
                }
                match req.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        match resp.bytes().await {
                            Ok(bytes) => Ok((status, headers, bytes)),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            };
            let delay = match outcome {
                Err(e) => {
                    let why =
                        if e.is_timeout() { "timed out".to_string() } else { format!("failed ({})", root_cause(&e)) };
                    self.backoff_or_fail(attempt, &shown, &why)?
                }
                Ok((status, headers, bytes)) => {
                    self.stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    if api == Api::Arm {
                        self.pace_arm(&headers);
                    }
                    let retry_after = retry_after(&headers);
                    match status.as_u16() {
                        200..=299 | 400..=428 | 430..=499 if status != StatusCode::UNAUTHORIZED => {
                            let body = if bytes.is_empty() {
                                Value::Null
                            } else {
                                serde_json::from_slice(&bytes).map_err(|e| {
                                    anyhow!("{shown} answered {status} with a body that is not JSON: {e}")
                                })?
                            };
                            return Ok(Reply { status, body });
                        }
                        401 if !reauthenticated => {
                            reauthenticated = true;
                            self.tokens(api).invalidate().await;
                            self.log(&format!("401 from {shown}: signing in again"));
                            Duration::ZERO
                        }
                        401 => {
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            return Err(anyhow!(
                                "{shown} refused the token twice ({}); check the identity and the audience",
                                error_reason(401, &body)
                            ));
                        }
                        429 => {
                            self.stats.throttles.fetch_add(1, Ordering::Relaxed);
                            let wait =
                                retry_after.unwrap_or_else(|| self.backoff(attempt)).min(self.policy.max_delay * 10);
                            self.gate(api).hold_until(Instant::now() + wait);
                            self.log(&format!("throttled by {shown}: waiting {:.1} s", wait.as_secs_f64()));
                            if attempt >= self.policy.max_attempts * 2 {
                                return Err(anyhow!("{shown} kept answering 429 after {attempt} attempts; giving up"));
                            }
                            // Throttling is the service asking us to wait, not a failure: it gets
                            // twice the attempts.
                            self.stats.retries.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        500 | 502 | 503 | 504 => {
                            let d = self.backoff_or_fail(attempt, &shown, &format!("answered {status}"))?;
                            retry_after.map_or(d, |r| r.max(d))
                        }
                        _ => {
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            return Err(anyhow!("{shown} answered {}", error_reason(status.as_u16(), &body)));
                        }
                    }
                }
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.policy.base_delay.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let capped = exp.min(self.policy.max_delay);
        // Jitter (50-100 %) so that parallel retries do not arrive together.
        let nanos = Instant::now().elapsed().subsec_nanos() ^ std::process::id().wrapping_mul(2_654_435_761);
        let frac = 0.5 + (nanos % 1000) as f64 / 2000.0;
        capped.mul_f64(frac)
    }

    fn backoff_or_fail(&self, attempt: u32, shown: &str, why: &str) -> Result<Duration> {
        if attempt >= self.policy.max_attempts {
            return Err(anyhow!("{shown} {why}; giving up after {attempt} attempts"));
        }
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        let d = self.backoff(attempt);
        self.log(&format!("{shown} {why}: retry {attempt} in {:.1} s", d.as_secs_f64()));
        Ok(d)
    }

    /// ARM reports the remaining read budget; when it runs low, pause all ARM requests briefly so
    /// the bucket refills instead of running into 429s.
    fn pace_arm(&self, headers: &reqwest::header::HeaderMap) {
        let remaining = headers
            .iter()
            .filter(|(k, _)| {
                let k = k.as_str();
                k.starts_with("x-ms-ratelimit-remaining-") && k.ends_with("reads")
            })
            .filter_map(|(_, v)| v.to_str().ok()?.trim().parse::<u64>().ok())
            .min();
        if let Some(r) = remaining
            && r < ARM_LOW_READS
        {
            let pause = if r == 0 { Duration::from_secs(5) } else { Duration::from_millis(200 * (ARM_LOW_READS - r)) };
            self.arm_gate.hold_until(Instant::now() + pause);
            self.log(&format!("ARM read budget low ({r} left): pausing {:.1} s", pause.as_secs_f64()));
        }
    }
}

/// `Retry-After` in seconds (Graph and ARM send seconds; an HTTP date is not used by either).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// The URL without its query (a skip token is noise in a log line).
pub fn shown_url(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reasons_name_status_code_and_message() {
        let body = serde_json::json!({"error": {"code": "AuthorizationFailed", "message": "no"}});
        assert_eq!(error_reason(403, &body), "403 AuthorizationFailed: no");
        assert_eq!(error_reason(404, &Value::Null), "404");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "17".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(17)));
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[tokio::test]
    async fn high_priority_waiters_overtake_low_ones() {
        let slots = Slots::new(1);
        let held = slots.acquire(Priority::Low).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, p) in [("low1", Priority::Low), ("low2", Priority::Low), ("high", Priority::High)] {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _s = slots.acquire(p).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["high", "low1", "low2"]);
        assert_eq!(slots.peak.load(Ordering::Relaxed), 1);
    }
}

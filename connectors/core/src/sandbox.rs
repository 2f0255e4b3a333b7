//! Shared building blocks of the platform sandboxes (feature `sandbox`).
//!
//! A sandbox is a local simulator of one platform's API (see the platform crates'
//! `sandbox` modules). Every sandbox is assembled from the same parts:
//!
//! * [`SandboxOptions`] (seed, data volumes, rate limits, fault rate) and the
//!   [`SandboxBanner`] printed as the first stdout line of `cartgate sandbox`.
//! * [`Faults`]: runtime-switchable fault injection, applied to the platform's API routes
//!   by [`fault_middleware`] (wired by [`router_with_faults`]).
//! * [`TokenBucket`]: a keyed token-bucket limiter for platforms whose rate limits are
//!   simulated.
//! * [`seeded_rng`] and friends: deterministic data generation, and [`SANDBOX_EPOCH`], the
//!   fixed "now" seeded dates are relative to, so data is identical on every run.
//! * [`serve`]: runs the app with graceful shutdown and returns a [`SandboxHandle`].
//!
//! # Control routes
//!
//! Mounted by [`router_with_faults`] under `/__sandbox`; never faulted, never authenticated
//! (a sandbox only listens on loopback). Bodies are JSON.
//!
//! | route | does |
//! |---|---|
//! | `GET /__sandbox/faults` | the fault state: `{"rate", "forced": {"kind", "remaining", "status"} \| null, "timeout_ms", "slow_ms"}` |
//! | `PUT /__sandbox/faults` | change it: `{"kind": "server_error"\|"timeout"\|"slow"\|"rate_limited"\|"truncated"\|null, "count": N\|null, "rate": F\|null, "delay_ms": N\|null, "status": 500\|502\|503\|null}`; answers the new state. |
//! | `DELETE /__sandbox/faults` | back to no faults at all (forced mode off, rate 0) |
//! | `GET /__sandbox/stats` | `{"requests": N, "faults_injected": N}` (API requests only) |
//! | `PUT /__sandbox/hold` | `{"count": N}`: hold the next N API requests at the door (before authentication and handlers) until released; answers the hold state `{"remaining", "waiting"}` |
//! | `GET /__sandbox/hold` | the hold state: `remaining` requests still to be held, `waiting` requests held now |
//! | `DELETE /__sandbox/hold` | release every held request (they then run as usual) and hold no more |
//! | `POST /__sandbox/simulate` | `{"event": "order.created"\|"order.updated"\|"product.created"\|"product.updated"\|"product.deleted"\|"customer.created"\|"customer.updated", "id"?: "…"}`: a change made in the shop itself (storefront or admin, not through the API), see below; answers `{"id", "event"}` |
//! | `GET /__sandbox/outbox` | the webhooks the sandbox sent: `{"queued", "delivered", "failed", "dropped", "attempts"}` |
//!
//! Holding makes races deterministic in tests: hold a request, act while it waits (the hold
//! state says when it arrived), then release it.
//!
//! # Simulated changes and webhooks
//!
//! `POST /__sandbox/simulate` changes the sandbox's data as the shop would: `order.created`
//! places a new order with a line item; `order.updated` changes an order's note (and
//! status where the platform has a free one); `product.created` adds a product;
//! `product.updated` renames one; `product.deleted` deletes one; `customer.created` adds a
//! customer; `customer.updated` changes a customer's name. `id` picks the object of an
//! update or delete (the id the connector uses; default: the newest such object); an
//! unknown id answers 404, a creation with an id 400. The object's modification time (and
//! creation time for new ones) is the sandbox's clock, which moves one second per write
//! from [`SANDBOX_EPOCH`], so updated-since polling sees the change. It answers the
//! object's id as the connector uses it. Body errors answer 400 `{"error"}` ([`Simulate`]).
//!
//! Where the platform pushes webhooks (Shopify, WooCommerce) and one is registered for the
//! change, the sandbox sends it with the platform's own headers, body and signature, for
//! simulated changes and for changes made through its API alike. Sending happens in the
//! background ([`WebhookOutbox`]): at most 3 attempts of 5 s each, no redirects followed,
//! never delaying the API answer.
//!
//! `PUT` semantics: a key that is absent leaves that setting alone. `"kind": null` switches the
//! forced mode off; a kind switches it on for the next `count` API requests (`count` null or
//! absent: until switched off). `rate` (0..=1) is the probability that an API request meets
//! a random fault; it is drawn from an RNG seeded by the sandbox seed, so a given seed and
//! request sequence faults the same requests every run. `delay_ms` sets how long `timeout`
//! hangs (default 30 000 ms) or `slow` waits before answering (default 1 500 ms): the one
//! named by `kind`, or both when `kind` is absent or another kind. `status` pins the status
//! of `server_error` (default: one of 500/502/503 drawn from the RNG).
//!
//! Platform sandboxes add their own control routes (e.g. WooCommerce's
//! `/__sandbox/extensions`) by merging a router into the one this module builds.
//!
//! # Faults
//!
//! * `server_error` — 500, 502 or 503 with a platform-ish body ([`FaultResponses`]).
//! * `timeout` — the request hangs (default 30 s: longer than a typical 20 s client
//!   timeout), then answers 504 if the client is still there.
//! * `slow` — the request is served correctly after a delay (default 1.5 s).
//! * `rate_limited` — 429 with `Retry-After: 1` and the platform's body.
//! * `truncated` — the real response with its body cut in half and a `Content-Length`
//!   matching the cut body: a JSON parse error for the client, not a transport error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::webhook::EventType;

/// Options every sandbox accepts (`cartgate sandbox <platform> ...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxOptions {
    pub seed: u64,
    pub orders: usize,
    pub products: usize,
    pub customers: usize,
    /// Simulate the platform's rate limits (429 + its headers).
    pub rate_limits: bool,
    /// Probability in 0..=1 that any API request meets a random injected fault.
    pub fault_rate: f64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 42,
            orders: 60,
            products: 25,
            customers: 30,
            rate_limits: false,
            fault_rate: 0.0,
        }
    }
}

/// The first stdout line of `cartgate sandbox`: `{"platform", "base_url", "credentials"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxBanner {
    pub platform: String,
    pub base_url: String,
    /// Can be POSTed as-is as `credentials` to /v1/stores.
    pub credentials: Value,
}

/// A running sandbox. Dropping it does not stop the server; call `shutdown`.
pub struct SandboxHandle {
    pub banner: SandboxBanner,
    pub shutdown: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

// ---------------------------------------------------------------------------------------
// Deterministic data helpers
// ---------------------------------------------------------------------------------------

/// The fixed "now" of seeded data (2025-06-01T12:00:00Z, Unix seconds). Seeded dates are
/// spread before it, never relative to the wall clock, so every run serves the same data.
pub const SANDBOX_EPOCH: i64 = 1_748_779_200;

/// Customer names of seeded data, with the variety a mapping needs (non-ASCII, non-Latin
/// scripts, apostrophes, hyphens): (first name, last name, ASCII e-mail stem).
pub const SEED_NAMES: [(&str, &str, &str); 16] = [
    ("Zoë", "Ångström", "zoe.angstrom"),
    ("健", "渡辺", "ken.watanabe"),
    ("José", "Müller", "jose.muller"),
    ("Ingrid", "Nilsson", "ingrid.nilsson"),
    ("Amara", "Okafor", "amara.okafor"),
    ("Ólafur", "Jónsson", "olafur.jonsson"),
    ("Wei", "Chen", "wei.chen"),
    ("Fatima", "Al-Sayed", "fatima.alsayed"),
    ("Liam", "O'Brien", "liam.obrien"),
    ("Søren", "Kierkegaard", "soren.kierkegaard"),
    ("Aiko", "Tanaka", "aiko.tanaka"),
    ("Jean-Luc", "Lefèvre", "jeanluc.lefevre"),
    ("Łukasz", "Żółć", "lukasz.zolc"),
    ("Emily", "Smith", "emily.smith"),
    ("Олег", "Петров", "oleg.petrov"),
    ("Noah", "Johnson", "noah.johnson"),
];

/// An RNG for one named stream of seeded data. Deriving a stream per kind of object
/// (`"customers"`, `"orders"`, ...) keeps, e.g., the customers identical when only the
/// number of orders changes.
pub fn seeded_rng(seed: u64, stream: &str) -> StdRng {
    // FNV-1a over the stream name, mixed into the seed: stable across Rust versions,
    // unlike `std::hash`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    StdRng::seed_from_u64(seed ^ h.rotate_left(17))
}

/// `n` random lowercase hex digits (API keys, order keys, hashes).
pub fn random_hex(rng: &mut impl Rng, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| char::from(HEX[rng.gen_range(0..16)]))
        .collect()
}

/// One element of a non-empty slice, uniformly.
///
/// # Panics
/// When `items` is empty (a programming error: seed tables are constants).
pub fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

// ---------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------

/// What an injected fault does to one request (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500/502/503 with a platform-ish body.
    ServerError,
    /// Hang (default 30 s), then 504.
    Timeout,
    /// Answer correctly after a delay (default 1.5 s).
    Slow,
    /// 429 + `Retry-After: 1`.
    RateLimited,
    /// 200 with the real JSON body cut in half (and a matching `Content-Length`).
    Truncated,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::ServerError,
        FaultKind::Timeout,
        FaultKind::Slow,
        FaultKind::RateLimited,
        FaultKind::Truncated,
    ];
}

/// The forced mode: every API request meets `kind`, for `remaining` more requests
/// (`None`: until switched off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedFault {
    pub kind: FaultKind,
    pub remaining: Option<u32>,
    /// Status for `server_error`; `None` draws 500/502/503.
    pub status: Option<u16>,
}

/// A snapshot of the fault state (what `GET /__sandbox/faults` answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultsState {
    pub rate: f64,
    pub forced: Option<ForcedFault>,
    pub timeout_ms: u64,
    pub slow_ms: u64,
}

/// Request counters (what `GET /__sandbox/stats` answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SandboxStats {
    pub requests: u64,
    pub faults_injected: u64,
}

/// The decision for one request: which fault, with its parameters resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ServerError(StatusCode),
    Timeout(Duration),
    Slow(Duration),
    RateLimited,
    Truncated,
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::ServerError(_) => FaultKind::ServerError,
            Fault::Timeout(_) => FaultKind::Timeout,
            Fault::Slow(_) => FaultKind::Slow,
            Fault::RateLimited => FaultKind::RateLimited,
            Fault::Truncated => FaultKind::Truncated,
        }
    }
}

/// A canned response body for a fault, in the platform's style.
#[derive(Debug, Clone)]
pub struct CannedResponse {
    pub content_type: &'static str,
    pub body: String,
}

impl CannedResponse {
    pub fn json(body: Value) -> Self {
        CannedResponse {
            content_type: "application/json; charset=UTF-8",
            body: body.to_string(),
        }
    }
    pub fn html(body: impl Into<String>) -> Self {
        CannedResponse {
            content_type: "text/html; charset=UTF-8",
            body: body.into(),
        }
    }
}

/// How a platform's failures look. `server_error` receives the status to answer.
#[derive(Clone)]
pub struct FaultResponses {
    pub server_error: Arc<dyn Fn(StatusCode) -> CannedResponse + Send + Sync>,
    pub rate_limited: CannedResponse,
}

impl Default for FaultResponses {
    /// nginx-style HTML pages for 5xx (what a proxy in front of any platform answers), a
    /// generic JSON body for 429.
    fn default() -> Self {
        FaultResponses {
            server_error: Arc::new(|status| {
                let reason = status.canonical_reason().unwrap_or("Error");
                CannedResponse::html(format!(
                    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                    code = status.as_u16()
                ))
            }),
            rate_limited: CannedResponse::json(
                json!({"error": "too_many_requests", "message": "Too many requests"}),
            ),
        }
    }
}

impl std::fmt::Debug for FaultResponses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultResponses").finish_non_exhaustive()
    }
}

const DEFAULT_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_SLOW_MS: u64 = 1_500;
const SERVER_ERROR_STATUSES: [u16; 3] = [500, 502, 503];

#[derive(Debug)]
struct FaultsInner {
    rate: f64,
    rng: StdRng,
    forced: Option<ForcedFault>,
    timeout_ms: u64,
    slow_ms: u64,
    stats: SandboxStats,
}

/// Runtime-switchable fault injection state. Cheap to clone (an `Arc`); every clone sees
/// the same state.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultsInner>>,
    responses: FaultResponses,
    hold: Hold,
}

/// What `GET /__sandbox/hold` answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldState {
    /// API requests still to be held.
    pub remaining: u32,
    /// API requests held now, waiting for the release.
    pub waiting: u32,
}

/// Holds API requests at the door until released (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Hold(Arc<HoldInner>);

#[derive(Debug, Default)]
struct HoldInner {
    state: Mutex<HoldState>,
    released: tokio::sync::Notify,
}

impl Hold {
    fn lock(&self) -> MutexGuard<'_, HoldState> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold the next `count` API requests.
    pub fn set(&self, count: u32) -> HoldState {
        let mut s = self.lock();
        s.remaining = count;
        *s
    }

    pub fn state(&self) -> HoldState {
        *self.lock()
    }

    /// Let every held request go, and hold no more.
    pub fn release(&self) -> HoldState {
        let mut s = self.lock();
        s.remaining = 0;
        s.waiting = 0;
        self.0.released.notify_waiters();
        *s
    }

    /// Waits for the release when this request is one to hold.
    async fn pass(&self) {
        let released = self.0.released.notified();
        tokio::pin!(released);
        {
            let mut s = self.lock();
            if s.remaining == 0 {
                return;
            }
            s.remaining -= 1;
            s.waiting += 1;
            // Registered before the lock is released, so a release cannot be missed.
            released.as_mut().enable();
        }
        released.await;
    }
}

/// A change to the fault state: the body of `PUT /__sandbox/faults`. Outer `None` = the key
/// was absent (leave alone); `Some(None)` = explicit `null`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FaultsUpdate {
    #[serde(default, deserialize_with = "present")]
    pub kind: Option<Option<FaultKind>>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub status: Option<u16>,
}

/// Distinguishes `"kind": null` (Some(None)) from an absent key (None, via `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl Faults {
    /// Fault state with a random fault `rate` (clamped to 0..=1) drawn from an RNG seeded
    /// with `seed`; no forced mode.
    pub fn new(seed: u64, rate: f64) -> Self {
        Faults {
            inner: Arc::new(Mutex::new(FaultsInner {
                rate: clamp_rate(rate),
                rng: seeded_rng(seed, "faults"),
                forced: None,
                timeout_ms: DEFAULT_TIMEOUT_MS,
                slow_ms: DEFAULT_SLOW_MS,
                stats: SandboxStats::default(),
            })),
            responses: FaultResponses::default(),
            hold: Hold::default(),
        }
    }

    /// The hold of API requests (`/__sandbox/hold`).
    pub fn hold(&self) -> &Hold {
        &self.hold
    }

    /// From the sandbox options (`seed`, `fault_rate`).
    pub fn from_options(opts: &SandboxOptions) -> Self {
        Faults::new(opts.seed, opts.fault_rate)
    }

    /// Use the platform's own error bodies.
    pub fn with_responses(mut self, responses: FaultResponses) -> Self {
        self.responses = responses;
        self
    }

    pub fn responses(&self) -> &FaultResponses {
        &self.responses
    }

    fn lock(&self) -> MutexGuard<'_, FaultsInner> {
        // The lock is never held across an await or a panic-prone call; recover anyway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Force `kind` on the next `count` API requests (`None`: until switched off).
    pub fn force(&self, kind: FaultKind, count: Option<u32>) {
        self.lock().forced = Some(ForcedFault {
            kind,
            remaining: count,
            status: None,
        });
    }

    /// Force 5xx answers with a fixed `status` (e.g. "the next 2 requests answer 503").
    pub fn force_server_error(&self, status: StatusCode, count: Option<u32>) {
        self.lock().forced = Some(ForcedFault {
            kind: FaultKind::ServerError,
            remaining: count,
            status: Some(status.as_u16()),
        });
    }

    /// Switch the forced mode off (the random rate stays).
    pub fn clear_forced(&self) {
        self.lock().forced = None;
    }

    /// No faults at all: forced mode off, rate 0.
    pub fn reset(&self) {
        let mut s = self.lock();
        s.forced = None;
        s.rate = 0.0;
    }

    pub fn set_rate(&self, rate: f64) {
        self.lock().rate = clamp_rate(rate);
    }

    /// How long `timeout` hangs.
    pub fn set_timeout_delay(&self, d: Duration) {
        self.lock().timeout_ms = duration_ms(d);
    }

    /// How long `slow` waits before answering.
    pub fn set_slow_delay(&self, d: Duration) {
        self.lock().slow_ms = duration_ms(d);
    }

    /// Apply a `PUT /__sandbox/faults` body (see the module docs).
    pub fn apply(&self, update: &FaultsUpdate) -> Result<FaultsState, String> {
        if let Some(rate) = update.rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err("rate must be between 0 and 1".into());
            }
        }
        if let Some(status) = update.status {
            if !(500..=599).contains(&status) {
                return Err("status must be a 5xx status".into());
            }
        }
        let mut s = self.lock();
        if let Some(rate) = update.rate {
            s.rate = rate;
        }
        if let Some(ms) = update.delay_ms {
            match update.kind {
                Some(Some(FaultKind::Timeout)) => s.timeout_ms = ms,
                Some(Some(FaultKind::Slow)) => s.slow_ms = ms,
                _ => {
                    s.timeout_ms = ms;
                    s.slow_ms = ms;
                }
            }
        }
        match update.kind {
            Some(Some(kind)) => {
                s.forced = Some(ForcedFault {
                    kind,
                    remaining: update.count,
                    status: update.status,
                })
            }
            Some(None) => s.forced = None,
            None => {}
        }
        Ok(snapshot(&s))
    }

    pub fn state(&self) -> FaultsState {
        snapshot(&self.lock())
    }

    pub fn stats(&self) -> SandboxStats {
        self.lock().stats
    }

    /// Count one API request and decide its fault, if any. A forced fault wins over the
    /// random rate and is consumed (when counted) by this call.
    pub fn next_fault(&self) -> Option<Fault> {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.stats.requests += 1;
        let mut chosen: Option<(FaultKind, Option<u16>)> = None;
        if let Some(forced) = s.forced.as_mut() {
            match forced.remaining {
                Some(0) => {}
                Some(n) => {
                    forced.remaining = Some(n - 1);
                    chosen = Some((forced.kind, forced.status));
                }
                None => chosen = Some((forced.kind, forced.status)),
            }
            if forced.remaining == Some(0) {
                s.forced = None;
            }
        }
        let rate = s.rate;
        if chosen.is_none() && rate > 0.0 && s.rng.gen_bool(rate) {
            let kind = *pick(&mut s.rng, &FaultKind::ALL);
            chosen = Some((kind, None));
        }
        let (kind, status) = chosen?;
        s.stats.faults_injected += 1;
        Some(match kind {
            FaultKind::ServerError => {
                let code = status.unwrap_or_else(|| *pick(&mut s.rng, &SERVER_ERROR_STATUSES));
                Fault::ServerError(
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                )
            }
            FaultKind::Timeout => Fault::Timeout(Duration::from_millis(s.timeout_ms)),
            FaultKind::Slow => Fault::Slow(Duration::from_millis(s.slow_ms)),
            FaultKind::RateLimited => Fault::RateLimited,
            FaultKind::Truncated => Fault::Truncated,
        })
    }
}

fn snapshot(s: &FaultsInner) -> FaultsState {
    FaultsState {
        rate: s.rate,
        forced: s.forced,
        timeout_ms: s.timeout_ms,
        slow_ms: s.slow_ms,
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn canned(status: StatusCode, canned: &CannedResponse) -> Response {
    let mut resp = (status, canned.body.clone()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(canned.content_type),
    );
    resp
}

/// Largest body the `truncated` fault buffers (sandbox answers are far smaller).
const TRUNCATE_BUFFER_LIMIT: usize = 64 * 1024 * 1024;

/// Axum middleware applying [`Faults`] to every request it wraps (use with
/// `axum::middleware::from_fn_with_state(faults, fault_middleware)`).
pub async fn fault_middleware(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    faults.hold.pass().await;
    let Some(fault) = faults.next_fault() else {
        return next.run(req).await;
    };
    tracing::debug!(fault = ?fault.kind(), path = %req.uri().path(), "sandbox: injecting fault");
    match fault {
        Fault::ServerError(status) => canned(status, &(faults.responses.server_error)(status)),
        Fault::RateLimited => {
            let mut resp = canned(
                StatusCode::TOO_MANY_REQUESTS,
                &faults.responses.rate_limited,
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        Fault::Timeout(d) => {
            tokio::time::sleep(d).await;
            canned(
                StatusCode::GATEWAY_TIMEOUT,
                &(faults.responses.server_error)(StatusCode::GATEWAY_TIMEOUT),
            )
        }
        Fault::Slow(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Fault::Truncated => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = match axum::body::to_bytes(body, TRUNCATE_BUFFER_LIMIT).await {
                Ok(b) => b,
                Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
            let cut = bytes.slice(..bytes.len() / 2);
            // The length must describe the cut body, so the client reads a complete (but
            // unparseable) body instead of failing on the transport.
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(cut.len()));
            Response::from_parts(parts, Body::from(cut))
        }
    }
}

/// The `/__sandbox` control routes for `faults` (see the module docs).
pub fn control_router(faults: Faults) -> Router {
    async fn get_faults(State(f): State<Faults>) -> Json<FaultsState> {
        Json(f.state())
    }
    async fn put_faults(State(f): State<Faults>, body: axum::body::Bytes) -> Response {
        let update: FaultsUpdate = match serde_json::from_slice(&body) {
            Ok(u) => u,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": format!("invalid body: {e}")})),
                )
                    .into_response()
            }
        };
        match f.apply(&update) {
            Ok(state) => Json(state).into_response(),
            Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
        }
    }
    async fn delete_faults(State(f): State<Faults>) -> Json<FaultsState> {
        f.reset();
        Json(f.state())
    }
    async fn stats(State(f): State<Faults>) -> Json<SandboxStats> {
        Json(f.stats())
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct HoldBody {
        count: u32,
    }
    async fn get_hold(State(f): State<Faults>) -> Json<HoldState> {
        Json(f.hold.state())
    }
    async fn put_hold(State(f): State<Faults>, body: axum::body::Bytes) -> Response {
        match serde_json::from_slice::<HoldBody>(&body) {
            Ok(b) => Json(f.hold.set(b.count)).into_response(),
            Err(e) => (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("invalid body: {e}")})),
            )
                .into_response(),
        }
    }
    async fn delete_hold(State(f): State<Faults>) -> Json<HoldState> {
        Json(f.hold.release())
    }
    Router::new()
        .route(
            "/__sandbox/faults",
            get(get_faults).put(put_faults).delete(delete_faults),
        )
        .route("/__sandbox/stats", get(stats))
        .route(
            "/__sandbox/hold",
            get(get_hold).put(put_hold).delete(delete_hold),
        )
        .with_state(faults)
}

/// The whole sandbox app: `api` behind the fault middleware, plus the control routes
/// (unfaulted). Merge further platform control routes into the result as needed.
pub fn router_with_faults(api: Router, faults: Faults) -> Router {
    api.layer(axum::middleware::from_fn_with_state(
        faults.clone(),
        fault_middleware,
    ))
    .merge(control_router(faults))
}

/// How long in-flight requests (e.g. a hanging `timeout` fault) may delay a shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serve `app` on `listener` until `SandboxHandle::shutdown` is sent. Shutdown is graceful
/// for up to 2 s, then in-flight requests are dropped. Dropping the handle without sending
/// keeps the server running.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    banner: SandboxBanner,
) -> SandboxHandle {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        if rx.await.is_err() {
            // Handle dropped without a shutdown: run forever, as documented.
            std::future::pending::<()>().await;
        }
        let _ = fired_tx.send(());
    };
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(signal);
        let grace = async move {
            if fired_rx.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            r = server => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "sandbox server stopped");
                }
            }
            _ = grace => {}
        }
    });
    SandboxHandle {
        banner,
        shutdown: tx,
        task,
    }
}

// ---------------------------------------------------------------------------------------
// Simulated shop changes and outgoing webhooks
// ---------------------------------------------------------------------------------------

/// The body of `POST /__sandbox/simulate` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulate {
    pub event: EventType,
    /// The object to change or delete (updates and deletes only); `None`: the sandbox
    /// picks one (the newest).
    pub id: Option<String>,
}

impl Simulate {
    /// Reads a simulate body: `{"event": "<event type>", "id"?: "<id>" | <integer>}`.
    pub fn parse(body: &[u8]) -> Result<Simulate, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or("the body must be a JSON object {\"event\": …}")?;
        if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "event" | "id")) {
            return Err(format!(
                "unknown field {k:?}: expected event and optionally id"
            ));
        }
        let event: EventType = obj
            .get("event")
            .and_then(Value::as_str)
            .ok_or("event is required: one of order.created, order.updated, product.created, product.updated, product.deleted, customer.created, customer.updated")?
            .parse()?;
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
            Some(_) => return Err("id must be a non-empty string or a positive integer".into()),
        };
        if id.is_some() && event.is_creation() {
            return Err(format!("{event} creates a new object: it takes no id"));
        }
        Ok(Simulate { event, id })
    }
}

/// Why a simulated change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulateError {
    /// The `id` names no object of that kind (404).
    NotFound(String),
    /// The shop has nothing to change (no object of that kind at all) (409).
    Nothing(String),
}

/// A platform's handler of simulated changes: makes the change in its data (and sends its
/// webhooks) and answers the object's id as the connector uses it.
pub type SimulateFn = Arc<dyn Fn(&Simulate) -> Result<String, SimulateError> + Send + Sync>;

/// `POST /__sandbox/simulate` around a platform's handler: 200 `{"id"}`, 400 `{"error"}`
/// for a body that is not a known event, 404 for an unknown id, 409 when there is
/// nothing to change.
pub fn simulate_router(handler: SimulateFn) -> Router {
    async fn simulate(State(h): State<SimulateFn>, body: axum::body::Bytes) -> Response {
        let req = match Simulate::parse(&body) {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
        };
        match h(&req) {
            Ok(id) => Json(json!({"id": id, "event": req.event})).into_response(),
            Err(SimulateError::NotFound(e)) => {
                (StatusCode::NOT_FOUND, Json(json!({"error": e}))).into_response()
            }
            Err(SimulateError::Nothing(e)) => {
                (StatusCode::CONFLICT, Json(json!({"error": e}))).into_response()
            }
        }
    }
    Router::new()
        .route("/__sandbox/simulate", axum::routing::post(simulate))
        .with_state(handler)
}

/// One webhook a sandbox sends, built (and signed) when the change happens.
pub struct OutgoingWebhook {
    pub url: String,
    pub headers: Vec<(axum::http::HeaderName, HeaderValue)>,
    pub body: axum::body::Bytes,
    /// Told whether the delivery finally succeeded (a 2xx within the attempts).
    pub on_done: Option<Box<dyn FnOnce(bool) + Send>>,
}

/// What `GET /__sandbox/outbox` answers: webhooks queued since the start, and how they
/// ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxStats {
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Not sent because the queue was full.
    pub dropped: u64,
    pub attempts: u64,
}

impl OutboxStats {
    /// Every queued webhook has ended (delivered, failed or dropped).
    pub fn idle(&self) -> bool {
        self.delivered + self.failed + self.dropped >= self.queued
    }
}

/// How a sandbox sends its webhooks: at most [`OUTBOX_ATTEMPTS`] attempts of
/// [`OUTBOX_TIMEOUT`] each, backing off 250 ms then 1 s; a 2xx is success, redirects are
/// not followed. At most [`OUTBOX_CONCURRENCY`] deliveries at once; at most
/// [`OUTBOX_CAPACITY`] waiting, more are dropped (and counted).
pub const OUTBOX_ATTEMPTS: u32 = 3;
pub const OUTBOX_TIMEOUT: Duration = Duration::from_secs(5);
pub const OUTBOX_CONCURRENCY: usize = 32;
pub const OUTBOX_CAPACITY: usize = 10_000;

/// The queue of a sandbox's outgoing webhooks, sent in the background so an API answer
/// never waits on a receiver. Cheap to clone. Its task ends when every clone is dropped.
#[derive(Clone)]
pub struct WebhookOutbox {
    tx: tokio::sync::mpsc::Sender<OutgoingWebhook>,
    stats: Arc<Mutex<OutboxStats>>,
}

impl std::fmt::Debug for WebhookOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookOutbox").finish_non_exhaustive()
    }
}

impl WebhookOutbox {
    /// Starts the sender task; call within a Tokio runtime.
    pub fn start() -> WebhookOutbox {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<OutgoingWebhook>(OUTBOX_CAPACITY);
        let stats = Arc::new(Mutex::new(OutboxStats::default()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(OUTBOX_TIMEOUT)
            .user_agent("cartgate-sandbox-webhooks")
            .build()
            .unwrap_or_default();
        let permits = Arc::new(tokio::sync::Semaphore::new(OUTBOX_CONCURRENCY));
        let counters = stats.clone();
        tokio::spawn(async move {
            while let Some(hook) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let client = client.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    let OutgoingWebhook {
                        url,
                        headers,
                        body,
                        on_done,
                    } = hook;
                    let ok = deliver(&client, &url, &headers, &body, &counters).await;
                    {
                        let mut s = counters.lock().unwrap_or_else(|e| e.into_inner());
                        if ok {
                            s.delivered += 1;
                        } else {
                            s.failed += 1;
                        }
                    }
                    if let Some(done) = on_done {
                        done(ok);
                    }
                    drop(permit);
                });
            }
        });
        WebhookOutbox { tx, stats }
    }

    /// Queues one webhook; never waits. A full queue drops it (counted).
    pub fn send(&self, hook: OutgoingWebhook) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        s.queued += 1;
        if let Err(e) = self.tx.try_send(hook) {
            s.dropped += 1;
            drop(s);
            let hook = match e {
                tokio::sync::mpsc::error::TrySendError::Full(h)
                | tokio::sync::mpsc::error::TrySendError::Closed(h) => h,
            };
            if let Some(done) = hook.on_done {
                done(false);
            }
        }
    }

    pub fn stats(&self) -> OutboxStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET /__sandbox/outbox`: the [`OutboxStats`].
    pub fn router(&self) -> Router {
        async fn outbox(State(o): State<WebhookOutbox>) -> Json<OutboxStats> {
            Json(o.stats())
        }
        Router::new()
            .route("/__sandbox/outbox", get(outbox))
            .with_state(self.clone())
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    headers: &[(axum::http::HeaderName, HeaderValue)],
    body: &axum::body::Bytes,
    stats: &Mutex<OutboxStats>,
) -> bool {
    for attempt in 0..OUTBOX_ATTEMPTS {
        if attempt > 0 {
            let backoff = if attempt == 1 { 250 } else { 1_000 };
            tokio::time::sleep(Duration::from_millis(backoff)).await;
        }
        stats.lock().unwrap_or_else(|e| e.into_inner()).attempts += 1;
        let mut req = client.post(url).body(body.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => return true,
            Ok(resp) => {
                tracing::debug!(status = %resp.status(), attempt, "sandbox webhook refused")
            }
            Err(e) => tracing::debug!(error = %e, attempt, "sandbox webhook not delivered"),
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// Rate limiting
// ---------------------------------------------------------------------------------------

/// A keyed token bucket: `rate` tokens per second, at most `burst` stored, one per request.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl TokenBucket {
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        TokenBucket {
            rate: rate_per_sec.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Take a token for `key`. `Err(wait)` when empty: how long until the next token.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key.to_owned()).or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(entry.1).as_secs_f64();
        entry.0 = (entry.0 + elapsed * self.rate).min(self.burst);
        entry.1 = now;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - entry.0) / self.rate))
        }
    }
}

/// A `Retry-After` value in whole seconds (at least 1) for a wait.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_by_default_and_requests_counted() {
        let f = Faults::new(1, 0.0);
        for _ in 0..100 {
            assert_eq!(f.next_fault(), None);
        }
        assert_eq!(
            f.stats(),
            SandboxStats {
                requests: 100,
                faults_injected: 0
            }
        );
    }

    #[test]
    fn forced_with_count_runs_out() {
        let f = Faults::new(1, 0.0);
        f.force_server_error(StatusCode::SERVICE_UNAVAILABLE, Some(2));
        assert_eq!(
            f.next_fault(),
            Some(Fault::ServerError(StatusCode::SERVICE_UNAVAILABLE))
        );
        assert_eq!(f.state().forced.and_then(|x| x.remaining), Some(1));
        assert_eq!(
            f.next_fault(),
            Some(Fault::ServerError(StatusCode::SERVICE_UNAVAILABLE))
        );
        assert_eq!(f.state().forced, None, "forced mode ends when used up");
        assert_eq!(f.next_fault(), None);
        assert_eq!(f.stats().faults_injected, 2);
        assert_eq!(f.stats().requests, 3);
    }

    #[test]
    fn forced_without_count_lasts_until_cleared() {
        let f = Faults::new(1, 0.0);
        f.force(FaultKind::Timeout, None);
        for _ in 0..10 {
            assert_eq!(
                f.next_fault(),
                Some(Fault::Timeout(Duration::from_millis(DEFAULT_TIMEOUT_MS)))
            );
        }
        f.clear_forced();
        assert_eq!(f.next_fault(), None);
    }

    #[test]
    fn forced_wins_over_rate() {
        let f = Faults::new(1, 1.0);
        f.force(FaultKind::Truncated, Some(1));
        assert_eq!(f.next_fault(), Some(Fault::Truncated));
        // Then the rate (1.0) applies again: always some fault.
        assert!(f.next_fault().is_some());
    }

    #[test]
    fn rate_is_roughly_honoured_and_seeded() {
        let draw = |seed| {
            let f = Faults::new(seed, 0.25);
            (0..2000)
                .map(|_| f.next_fault().map(|x| x.kind()))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7), "same seed, same faults");
        let hits = a.iter().filter(|x| x.is_some()).count();
        assert!((350..650).contains(&hits), "{hits} faults of 2000 at 25%");
        for kind in FaultKind::ALL {
            assert!(a.contains(&Some(kind)), "{kind:?} is drawn too");
        }
    }

    #[test]
    fn update_semantics() {
        let f = Faults::new(1, 0.0);
        let u: FaultsUpdate =
            serde_json::from_value(json!({"kind": "slow", "count": 3, "delay_ms": 10})).unwrap();
        let s = f.apply(&u).unwrap();
        assert_eq!(
            s.forced,
            Some(ForcedFault {
                kind: FaultKind::Slow,
                remaining: Some(3),
                status: None
            })
        );
        assert_eq!(s.slow_ms, 10);
        assert_eq!(s.timeout_ms, DEFAULT_TIMEOUT_MS);
        // Absent kind leaves the forced mode alone; rate changes.
        let s = f
            .apply(&serde_json::from_value(json!({"rate": 0.5})).unwrap())
            .unwrap();
        assert!(s.forced.is_some());
        assert_eq!(s.rate, 0.5);
        // Explicit null switches it off.
        let s = f
            .apply(&serde_json::from_value(json!({"kind": null})).unwrap())
            .unwrap();
        assert_eq!(s.forced, None);
        assert!(f
            .apply(&serde_json::from_value(json!({"rate": 2.0})).unwrap())
            .is_err());
        assert!(serde_json::from_value::<FaultsUpdate>(json!({"kind": "nope"})).is_err());
        f.reset();
        assert_eq!(f.state().rate, 0.0);
    }

    #[test]
    fn server_error_status_is_5xx() {
        let f = Faults::new(3, 0.0);
        f.force(FaultKind::ServerError, None);
        for _ in 0..20 {
            match f.next_fault() {
                Some(Fault::ServerError(s)) => {
                    assert!(SERVER_ERROR_STATUSES.contains(&s.as_u16()))
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn token_bucket_bursts_then_refills() {
        let b = TokenBucket::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.check_at("k", t0).is_ok());
        }
        let wait = b.check_at("k", t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100));
        assert!(b.check_at("other", t0).is_ok(), "keys are independent");
        assert!(b.check_at("k", t0 + Duration::from_millis(150)).is_ok());
        assert_eq!(retry_after_secs(wait), 1);
    }

    #[test]
    fn seeded_helpers_are_deterministic() {
        let a = random_hex(&mut seeded_rng(5, "keys"), 40);
        assert_eq!(a, random_hex(&mut seeded_rng(5, "keys"), 40));
        assert_ne!(a, random_hex(&mut seeded_rng(5, "other"), 40));
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

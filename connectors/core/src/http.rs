//! The one upstream HTTP client every connector uses.
//!
//! It owns: a pooled `reqwest::Client` with a connect timeout; the SSRF rules (http(s) only;
//! no address of the block list below unless allowed, checked on literal IPs, on every IPv4
//! address an IPv6 address embeds, and on every DNS answer; no redirect to another origin,
//! no `Referer`); and the retry contract (below).
//!
//! # Retry contract
//!
//! * Every call of one request shares one deadline ([`CallContext::deadline`], else
//!   [`UpstreamConfig::deadline`] from the call's start): no attempt, wait or queueing runs
//!   past it, so an upstream failure is answered as such before the gateway's own request
//!   timeout.
//! * One attempt of an idempotent call lasts at most [`UpstreamConfig::attempt_timeout`]
//!   (and never past the deadline). A call that may not be sent twice gets all the time left
//!   before the deadline instead: cutting it short would lose its answer, not gain a retry.
//! * Idempotent calls are retried on 429, 5xx, timeouts, refused or dropped connections and
//!   cut bodies, up to [`UpstreamConfig::max_retries`] times, after full-jitter exponential
//!   backoff that honours `Retry-After`. The waits between attempts (not the attempts) add
//!   up to at most [`UpstreamConfig::max_retry_wait`]; a retry starts only when at least
//!   [`MIN_RETRY_ATTEMPT`] (or the attempt timeout, if shorter) is left before the deadline.
//! * Per store at most [`UpstreamConfig::per_store_concurrency`] attempts are in flight (a
//!   [`StoreGate`] each session owns); a call waits at most [`UpstreamConfig::queue_wait`]
//!   for a slot, then fails with [`ConnectorError::Busy`].
//!
//! Per-store budgets (platform rate limits) are kept by the [`Pacer`] the client carries;
//! a call its connector paces ([`RequestSpec::paced`]) gets a 429 answered as it is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use ipnet::{Ipv4Net, Ipv6Net};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Semaphore;
use url::Url;

use crate::pace::{LocalPacer, Pacer};
use crate::{CallContext, ConnectorError, Result};

/// Limits of upstream calls. Every one is documented in the README.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Allow loopback/private/link-local targets (demo and tests; never in production).
    pub allow_private: bool,
    pub connect_timeout: Duration,
    /// Longest attempt of an idempotent call, headers and body (see the retry contract).
    pub attempt_timeout: Duration,
    /// Time all the calls of one request may take together when the [`CallContext`] sets
    /// no deadline (counted from each call's start then).
    pub deadline: Duration,
    /// Attempts after the first for idempotent calls.
    pub max_retries: u32,
    /// Total time one call may spend waiting between attempts (attempts not counted).
    pub max_retry_wait: Duration,
    pub base_backoff: Duration,
    /// Concurrent upstream attempts per store.
    pub per_store_concurrency: usize,
    /// Longest wait for a free slot of the store's gate before [`ConnectorError::Busy`].
    pub queue_wait: Duration,
    /// Largest upstream body read.
    pub max_body_bytes: usize,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            allow_private: false,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(25),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(10),
            base_backoff: Duration::from_millis(200),
            per_store_concurrency: 4,
            queue_wait: Duration::from_secs(10),
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// A retry is started only when at least this much time (or the attempt timeout, if
/// shorter) is left before the deadline after its wait.
pub const MIN_RETRY_ATTEMPT: Duration = Duration::from_secs(1);

/// Redirects followed within one origin, at most.
const MAX_REDIRECTS: usize = 5;

// ---------------------------------------------------------------------------------------
// SSRF: the one block list
// ---------------------------------------------------------------------------------------

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv4 ranges a user-supplied URL must not reach (IANA special-purpose ranges that are not
/// globally reachable, plus multicast and reserved), with what each is.
pub const FORBIDDEN_V4: &[(Ipv4Net, &str)] = &[
    (
        v4(0, 0, 0, 0, 8),
        "\"this network\" (0.0.0.0 reaches the host itself)",
    ),
    (v4(10, 0, 0, 0, 8), "private"),
    (v4(100, 64, 0, 0, 10), "carrier-grade NAT shared"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local (cloud metadata)"),
    (v4(172, 16, 0, 0, 12), "private"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignment"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 88, 99, 0, 24), "6to4 relay anycast"),
    (v4(192, 168, 0, 0, 16), "private"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(240, 0, 0, 0, 4), "reserved or broadcast"),
];

/// IPv6 ranges a user-supplied URL must not reach. Teredo (`2001::/32`, inside the IETF
/// assignments) is refused whole: its client address is obfuscated and a relay forwards
/// to whatever IPv4 address it names; no shop is reached through it.
pub const FORBIDDEN_V6: &[(Ipv6Net, &str)] = &[
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), "unspecified"),
    (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), "loopback"),
    (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48), "local-use NAT64"),
    (v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64), "discard-only"),
    (
        v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23),
        "IETF protocol assignment (incl. Teredo)",
    ),
    (v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32), "documentation"),
    (v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20), "documentation"),
    (v6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16), "segment routing"),
    (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7), "unique local"),
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), "link-local"),
    (v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10), "site-local"),
    (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), "multicast"),
];

/// Where an IPv6 form carries an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// The last 32 bits.
    Last32,
    /// Bits 16..48 (6to4).
    Bits16To48,
}

/// IPv6 forms that embed an IPv4 address; the embedded address is checked against
/// [`FORBIDDEN_V4`] (a public IPv4 address stays reachable through them, e.g. behind
/// DNS64/NAT64).
pub const EMBEDS_V4: &[(Ipv6Net, Embedding, &str)] = &[
    (
        v6(0, 0, 0, 0, 0, 0, 0, 0, 96),
        Embedding::Last32,
        "IPv4-compatible",
    ),
    (
        v6(0, 0, 0, 0, 0, 0xffff, 0, 0, 96),
        Embedding::Last32,
        "IPv4-mapped",
    ),
    (
        v6(0, 0, 0, 0, 0xffff, 0, 0, 0, 96),
        Embedding::Last32,
        "IPv4-translated",
    ),
    (
        v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96),
        Embedding::Last32,
        "NAT64",
    ),
    (
        v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16),
        Embedding::Bits16To48,
        "6to4",
    ),
];

/// The IPv4 address an IPv6 address embeds, if it is of one of the [`EMBEDS_V4`] forms.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let (_, how, _) = EMBEDS_V4.iter().find(|(net, _, _)| net.contains(&ip))?;
    let o = ip.octets();
    Some(match how {
        Embedding::Last32 => Ipv4Addr::new(o[12], o[13], o[14], o[15]),
        Embedding::Bits16To48 => Ipv4Addr::new(o[2], o[3], o[4], o[5]),
    })
}

/// Why a user-supplied URL must not reach this address (`None`: it may).
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => FORBIDDEN_V4
            .iter()
            .find(|(net, _)| net.contains(&v4))
            .map(|(_, why)| *why),
        IpAddr::V6(v6) => FORBIDDEN_V6
            .iter()
            .find(|(net, _)| net.contains(&v6))
            .map(|(_, why)| *why)
            .or_else(|| embedded_ipv4(v6).and_then(|v4| forbidden_reason(IpAddr::V4(v4)))),
    }
}

/// Is this address one a user-supplied URL must not reach?
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_some()
}

/// `localhost`, `*.localhost` (RFC 6761: loopback by definition), with or without the
/// final dot.
fn is_localhost_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A DNS answer held only forbidden addresses (found again in a reqwest error's sources).
#[derive(Debug)]
struct ForbiddenResolution;

impl std::fmt::Display for ForbiddenResolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host name resolves only to addresses cartgate may not reach")
    }
}

impl std::error::Error for ForbiddenResolution {}

/// A redirect the client refused to follow (found again in a reqwest error's sources).
#[derive(Debug)]
enum RedirectRefused {
    OtherOrigin(String),
    TooMany,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedirectRefused::OtherOrigin(origin) => write!(
                f,
                "the platform redirects to another origin ({origin}); cartgate follows no \
                 redirect off the store's URL: connect the store with the URL it redirects to"
            ),
            RedirectRefused::TooMany => {
                write!(f, "the platform redirected more than {MAX_REDIRECTS} times")
            }
        }
    }
}

impl std::error::Error for RedirectRefused {}

/// DNS resolver that drops forbidden addresses, so a hostname cannot smuggle a private IP.
struct SsrfSafeResolver {
    allow_private: bool,
}

impl Resolve for SsrfSafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| allow_private || !is_forbidden_ip(a.ip()))
                .collect();
            if addrs.is_empty() && !all.is_empty() {
                return Err(Box::new(ForbiddenResolution) as Box<_>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A client builder for calls to user-supplied URLs outside `Upstream` (webhook
/// deliveries): every DNS answer checked against the SSRF rules, no redirects followed, no
/// `Referer`. Check the URL itself with [`check_target`] before each call.
pub fn ssrf_safe_client(allow_private: bool) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .user_agent(concat!("cartgate/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(SsrfSafeResolver { allow_private }))
}

/// Checks a user-supplied URL: http(s), a host, no credentials and (unless
/// `allow_private`) no forbidden literal IP, no `localhost`. Host names are checked again on
/// every resolution by the clients' resolver.
pub fn check_target(url: &Url, allow_private: bool) -> Result<()> {
    let refuse = |why: String| Err(ConnectorError::InvalidTarget(why));
    if !matches!(url.scheme(), "http" | "https") {
        return refuse(format!(
            "URL scheme {:?} is not allowed: use http or https",
            url.scheme()
        ));
    }
    let Some(host) = url.host() else {
        return refuse("URL has no host".into());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("URL must not carry credentials".into());
    }
    if allow_private {
        return Ok(());
    }
    let ip = match host {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(d) if is_localhost_name(d) => {
            return refuse("URL points at a loopback address (localhost)".into())
        }
        url::Host::Domain(_) => return Ok(()),
    };
    match forbidden_reason(ip) {
        Some(why) => refuse(format!(
            "URL points at an address cartgate may not reach ({why})"
        )),
        None => Ok(()),
    }
}

/// One upstream request, built by a connector.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// Safe to send twice: GET/HEAD always, writes only when the platform makes them so.
    pub idempotent: bool,
    /// The caller paces this call through a [`Pacer`] (per-operation budgets): a 429 is
    /// answered as it is, for the caller's budget to decide when to send again, instead of
    /// being retried here on a backoff that knows nothing of the budget.
    pub paced: bool,
}

impl RequestSpec {
    pub fn new(method: Method, url: Url) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD);
        RequestSpec {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            paced: false,
        }
    }

    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        self.body = Some(Bytes::from(body.to_string()));
        self
    }

    pub fn header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl UpstreamResponse {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| ConnectorError::bad_body("JSON body", e))
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The answer as the proxy passes it on: JSON when it parses, else the text, `null` when
    /// empty.
    pub fn into_proxy_response(self) -> crate::model::ProxyResponse {
        let body = if self.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&self.body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&self.body).into_owned())
            })
        };
        crate::model::ProxyResponse {
            status: self.status.as_u16(),
            body,
        }
    }
}

/// Bounds concurrent upstream attempts of one store.
#[derive(Debug, Clone)]
pub struct StoreGate {
    permits: Arc<Semaphore>,
    size: usize,
}

impl StoreGate {
    pub fn new(permits: usize) -> Self {
        let size = permits.max(1);
        StoreGate {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }
}

/// The shared, pooled upstream client. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    config: Arc<UpstreamConfig>,
    pacer: Arc<dyn Pacer>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("config", &self.config)
            .field("pacer", &self.pacer)
            .finish()
    }
}

fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

impl Upstream {
    /// An upstream client with in-process pacing ([`LocalPacer`]).
    pub fn new(config: UpstreamConfig) -> Self {
        Self::with_pacer(config, Arc::new(LocalPacer::default()))
    }

    /// An upstream client whose per-store budgets live in `pacer` (e.g. shared through Redis).
    pub fn with_pacer(config: UpstreamConfig, pacer: Arc<dyn Pacer>) -> Self {
        // Same origin only (scheme, host and port of the URL the call was built for): a
        // platform redirecting elsewhere is an answer to report, not a place to go.
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if !same_origin {
                let origin = attempt.url().origin().ascii_serialization();
                attempt.error(RedirectRefused::OtherOrigin(origin))
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(RedirectRefused::TooMany)
            } else {
                attempt.follow()
            }
        });
        // No client-wide timeout: each attempt gets its own (see `send`).
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(32)
            .redirect(redirect)
            .referer(false)
            .user_agent(concat!("cartgate/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(SsrfSafeResolver {
                allow_private: config.allow_private,
            }))
            .build()
            .expect("a static reqwest configuration builds");
        Upstream {
            client,
            config: Arc::new(config),
            pacer,
        }
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    /// The per-store budgets connectors pace their calls with (see [`crate::pace`]).
    pub fn pacer(&self) -> &Arc<dyn Pacer> {
        &self.pacer
    }

    pub fn gate(&self) -> StoreGate {
        StoreGate::new(self.config.per_store_concurrency)
    }

    /// Checks a user-supplied base URL ([`check_target`] with this client's setting).
    pub fn check_url(&self, url: &Url) -> Result<()> {
        check_target(url, self.config.allow_private)
    }

    /// Sends one request under the retry contract (module docs): SSRF check, per-store
    /// gate, per-attempt timeouts, retries of idempotent requests, the request's deadline.
    /// Answers with the response for any status the connector must interpret (2xx, 4xx);
    /// turns lasting 429s, 5xx and transport failures into errors.
    pub async fn send(
        &self,
        cx: &CallContext,
        gate: &StoreGate,
        spec: RequestSpec,
    ) -> Result<UpstreamResponse> {
        self.check_url(&spec.url)?;
        let deadline = cx
            .deadline
            .unwrap_or_else(|| Instant::now() + self.config.deadline);
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            let outcome = self.gated_attempt(cx, gate, &spec, deadline).await;
            // A 2xx JSON answer that does not parse was cut short on the way (a dropped
            // connection behind a proxy, a crashed worker): transient, worth a retry.
            let outcome = match outcome {
                Ok(r)
                    if spec.idempotent
                        && r.status.is_success()
                        && is_json(&r.headers)
                        && serde_json::from_slice::<serde::de::IgnoredAny>(&r.body).is_err() =>
                {
                    Err(ConnectorError::Unavailable(
                        "the platform's JSON answer was cut short".into(),
                    ))
                }
                other => other,
            };
            let retry_after = match &outcome {
                Ok(r) if r.status == StatusCode::TOO_MANY_REQUESTS && spec.paced => None,
                Ok(r) if r.status == StatusCode::TOO_MANY_REQUESTS => {
                    Some(parse_retry_after(&r.headers))
                }
                Ok(r) if r.status.is_server_error() => Some(parse_retry_after(&r.headers)),
                Ok(_) => None,
                Err(ConnectorError::Unavailable(_)) => Some(None),
                Err(_) => None,
            };
            let Some(retry_after) = retry_after else {
                return outcome;
            };
            let backoff = self.backoff(attempt);
            let wait = retry_after.map_or(backoff, |ra| ra.max(backoff));
            let time_for_attempt = MIN_RETRY_ATTEMPT.min(self.config.attempt_timeout);
            let can_retry = spec.idempotent
                && attempt < self.config.max_retries
                && waited + wait <= self.config.max_retry_wait
                && Instant::now() + wait + time_for_attempt <= deadline;
            if !can_retry {
                return match outcome {
                    Ok(r) if r.status == StatusCode::TOO_MANY_REQUESTS => {
                        Err(ConnectorError::RateLimited { retry_after })
                    }
                    Ok(r) => Err(ConnectorError::Unavailable(format!(
                        "the platform answered {} after {} attempt(s)",
                        r.status,
                        attempt + 1
                    ))),
                    Err(e) => Err(e),
                };
            }
            tracing::debug!(attempt, ?wait, "retrying upstream call");
            tokio::time::sleep(wait).await;
            waited += wait;
            attempt += 1;
        }
    }

    /// One attempt: a slot of the store's gate (waiting at most the queue wait), then the
    /// request, bounded by the attempt timeout (idempotent calls) and the deadline.
    async fn gated_attempt(
        &self,
        cx: &CallContext,
        gate: &StoreGate,
        spec: &RequestSpec,
        deadline: Instant,
    ) -> Result<UpstreamResponse> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ConnectorError::Unavailable(
                "no time was left for the platform within this request's deadline".into(),
            ));
        }
        let queue_wait = self.config.queue_wait.min(left);
        let _permit = match tokio::time::timeout(queue_wait, gate.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(ConnectorError::Unavailable("store gate closed".into())),
            Err(_) => {
                return Err(ConnectorError::Busy(format!(
                    "this store already has {} upstream calls in flight and none finished \
                     within {} ms; retry shortly or send fewer requests at once",
                    gate.size,
                    queue_wait.as_millis()
                )))
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = if spec.idempotent {
            self.config.attempt_timeout.min(left)
        } else {
            left
        };
        cx.count_call();
        match tokio::time::timeout(limit, self.attempt(spec)).await {
            Ok(outcome) => outcome,
            Err(_) if !spec.idempotent => Err(ConnectorError::Unavailable(
                "the platform did not answer within this request's deadline; the change may \
                 still have been applied"
                    .into(),
            )),
            Err(_) if limit < self.config.attempt_timeout => Err(ConnectorError::Unavailable(
                "the platform did not answer within this request's deadline".into(),
            )),
            Err(_) => Err(ConnectorError::Unavailable(format!(
                "the platform did not answer within {} ms",
                limit.as_millis()
            ))),
        }
    }

    /// Full-jitter exponential backoff.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self.config.base_backoff * 2u32.saturating_pow(attempt.min(10));
        let ms = cap.as_millis().max(1) as u64;
        Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
    }

    async fn attempt(&self, spec: &RequestSpec) -> Result<UpstreamResponse> {
        let mut req = self
            .client
            .request(spec.method.clone(), spec.url.clone())
            .headers(spec.headers.clone());
        if let Some(body) = &spec.body {
            req = req.body(body.clone());
        }
        let mut resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > self.config.max_body_bytes {
                return Err(ConnectorError::upstream(
                    Some(status.as_u16()),
                    format!(
                        "the platform's answer exceeds {} bytes",
                        self.config.max_body_bytes
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(UpstreamResponse {
            status,
            headers,
            body: Bytes::from(body),
        })
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// The first error of `T` among `e`'s sources.
fn find_source<'e, T: std::error::Error + 'static>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        cur = err.source();
    }
    None
}

fn transport_error(e: reqwest::Error) -> ConnectorError {
    // Never include the URL: it may carry query-string credentials.
    let e = e.without_url();
    if let Some(refused) = find_source::<ForbiddenResolution>(&e) {
        return ConnectorError::InvalidTarget(refused.to_string());
    }
    if let Some(refused) = find_source::<RedirectRefused>(&e) {
        return ConnectorError::upstream(None, refused.to_string());
    }
    if e.is_timeout() {
        ConnectorError::Unavailable("the platform did not answer in time".into())
    } else if e.is_connect() {
        ConnectorError::Unavailable(format!("could not connect to the platform: {e}"))
    } else if e.is_body() || e.is_decode() {
        // A truncated body is transient (a dropped connection): worth a retry.
        ConnectorError::Unavailable(format!("the platform's answer was cut short: {e}"))
    } else {
        ConnectorError::Unavailable(format!("upstream request failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every range of the block list, written independently of the tables, with whether the
    /// address just before and just after it may be reached.
    const V4_RANGES: &[(&str, bool, bool)] = &[
        ("0.0.0.0/8", false, true),
        ("10.0.0.0/8", true, true),
        ("100.64.0.0/10", true, true),
        ("127.0.0.0/8", true, true),
        ("169.254.0.0/16", true, true),
        ("172.16.0.0/12", true, true),
        ("192.0.0.0/24", true, true),
        ("192.0.2.0/24", true, true),
        ("192.88.99.0/24", true, true),
        ("192.168.0.0/16", true, true),
        ("198.18.0.0/15", true, true),
        ("198.51.100.0/24", true, true),
        ("203.0.113.0/24", true, true),
        ("224.0.0.0/4", true, false),
        ("240.0.0.0/4", false, false),
    ];

    const V6_RANGES: &[(&str, bool, bool)] = &[
        ("::/128", false, false),
        ("::1/128", false, false),
        ("64:ff9b:1::/48", true, true),
        ("100::/64", true, true),
        ("2001::/23", true, true),
        ("2001:db8::/32", true, true),
        ("3fff::/20", true, true),
        ("5f00::/16", true, true),
        ("fc00::/7", true, true),
        ("fe80::/10", true, false),
        ("fec0::/10", false, false),
        ("ff00::/8", false, false),
    ];

    fn v4_step(ip: Ipv4Addr, up: bool) -> Option<Ipv4Addr> {
        let n = u32::from(ip);
        (if up {
            n.checked_add(1)
        } else {
            n.checked_sub(1)
        })
        .map(Ipv4Addr::from)
    }

    fn v6_step(ip: Ipv6Addr, up: bool) -> Option<Ipv6Addr> {
        let n = u128::from(ip);
        (if up {
            n.checked_add(1)
        } else {
            n.checked_sub(1)
        })
        .map(Ipv6Addr::from)
    }

    #[test]
    fn the_tables_are_exactly_the_tested_ranges() {
        let tables: Vec<String> = FORBIDDEN_V4.iter().map(|(n, _)| n.to_string()).collect();
        let tested: Vec<String> = V4_RANGES.iter().map(|(n, _, _)| n.to_string()).collect();
        assert_eq!(tables, tested);
        let tables: Vec<String> = FORBIDDEN_V6.iter().map(|(n, _)| n.to_string()).collect();
        let tested: Vec<String> = V6_RANGES.iter().map(|(n, _, _)| n.to_string()).collect();
        assert_eq!(tables, tested);
        for (net, _, _) in EMBEDS_V4 {
            assert_eq!(*net, net.trunc(), "{net} is a network address");
        }
    }

    #[test]
    fn every_v4_range_inside_edges_and_just_outside() {
        for (cidr, before_ok, after_ok) in V4_RANGES {
            let net: Ipv4Net = cidr.parse().unwrap();
            for ip in [net.network(), net.broadcast(), v4_mid(net)] {
                assert!(is_forbidden_ip(ip.into()), "{ip} in {cidr}");
            }
            if let Some(before) = v4_step(net.network(), false) {
                assert_eq!(
                    !is_forbidden_ip(before.into()),
                    *before_ok,
                    "{before} before {cidr}"
                );
            }
            if let Some(after) = v4_step(net.broadcast(), true) {
                assert_eq!(
                    !is_forbidden_ip(after.into()),
                    *after_ok,
                    "{after} after {cidr}"
                );
            }
        }
    }

    fn v4_mid(net: Ipv4Net) -> Ipv4Addr {
        let (a, b) = (u32::from(net.network()), u32::from(net.broadcast()));
        Ipv4Addr::from(a + (b - a) / 2)
    }

    #[test]
    fn every_v6_range_inside_edges_and_just_outside() {
        for (cidr, before_ok, after_ok) in V6_RANGES {
            let net: Ipv6Net = cidr.parse().unwrap();
            for ip in [net.network(), net.broadcast()] {
                assert!(is_forbidden_ip(ip.into()), "{ip} in {cidr}");
            }
            if let Some(before) = v6_step(net.network(), false) {
                assert_eq!(
                    !is_forbidden_ip(before.into()),
                    *before_ok,
                    "{before} before {cidr}"
                );
            }
            if let Some(after) = v6_step(net.broadcast(), true) {
                assert_eq!(
                    !is_forbidden_ip(after.into()),
                    *after_ok,
                    "{after} after {cidr}"
                );
            }
        }
    }

    /// Every IPv6 form embedding an IPv4 address is held to the IPv4 rules, at both ends of
    /// every IPv4 range; public IPv4 addresses stay reachable through them.
    #[test]
    fn every_embedding_of_every_v4_range() {
        fn embed(net: Ipv6Net, how: Embedding, v4: Ipv4Addr) -> Ipv6Addr {
            let mut o = net.network().octets();
            match how {
                Embedding::Last32 => o[12..16].copy_from_slice(&v4.octets()),
                Embedding::Bits16To48 => o[2..6].copy_from_slice(&v4.octets()),
            }
            Ipv6Addr::from(o)
        }
        let public: [Ipv4Addr; 3] = [
            "8.8.8.8".parse().unwrap(),
            "93.184.216.34".parse().unwrap(),
            "1.0.0.1".parse().unwrap(),
        ];
        for (prefix, how, name) in EMBEDS_V4 {
            for (cidr, _, _) in V4_RANGES {
                let net: Ipv4Net = cidr.parse().unwrap();
                for v4 in [net.network(), net.broadcast()] {
                    let ip = embed(*prefix, *how, v4);
                    assert_eq!(embedded_ipv4(ip), Some(v4), "{name} {ip}");
                    assert!(is_forbidden_ip(ip.into()), "{name} {ip} embeds {v4}");
                }
            }
            for v4 in public {
                let ip = embed(*prefix, *how, v4);
                assert!(
                    !is_forbidden_ip(ip.into()),
                    "{name} {ip} embeds public {v4}"
                );
            }
            // Just outside the prefix, nothing is embedded.
            if let Some(after) = v6_step(prefix.broadcast(), true) {
                assert_ne!(
                    EMBEDS_V4
                        .iter()
                        .find(|(n, _, _)| n.contains(&after))
                        .map(|e| e.2),
                    Some(*name),
                    "{after} after {prefix}"
                );
            }
        }
        // 6to4 and NAT64 beside their prefixes are ordinary global addresses.
        for ok in [
            "2001:ffff::1",
            "2003::1",
            "64:ff9b::1:0:1",
            "64:ff9b:0:1::1",
        ] {
            assert!(!is_forbidden_ip(ok.parse().unwrap()), "{ok}");
        }
    }

    #[test]
    fn url_spellings() {
        let up = Upstream::new(UpstreamConfig::default());
        for u in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://0/",
            "http://0.0.0.0/",
            "http://10.0.0.1:8080/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://2852039166/",
            "http://100.100.100.200/",
            "http://198.18.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://localhost/",
            "http://LOCALHOST:8080/",
            "http://localhost./",
            "http://api.localhost/",
            "http://[::]/",
            "http://[::1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:0:a00:1]/",
            "http://[::7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[2002:c0a8:101:1::]/",
            "http://[64:ff9b::a00:1]/",
            "http://[64:ff9b::10.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[2001:db8::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fc00::1]/",
            "http://[fe80::1]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://[100::1]/",
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://user:pw@example.com/",
        ] {
            let got = up.check_url(&Url::parse(u).unwrap());
            assert!(
                matches!(got, Err(ConnectorError::InvalidTarget(_))),
                "{u}: {got:?}"
            );
        }
        for u in [
            "https://example.com/",
            "http://localhost.example.com/",
            "http://93.184.216.34/",
            "http://8.8.8.8/",
            "http://[2606:2800:220:1::1]/",
            "http://[::ffff:93.184.216.34]/",
            "http://[64:ff9b::5db8:d822]/",
            "http://[2002:5db8:d822::1]/",
            "http://[2001:200::1]/",
        ] {
            assert!(up.check_url(&Url::parse(u).unwrap()).is_ok(), "{u}");
        }
        let open = Upstream::new(UpstreamConfig {
            allow_private: true,
            ..Default::default()
        });
        assert!(open
            .check_url(&Url::parse("http://127.0.0.1/").unwrap())
            .is_ok());
        assert!(open
            .check_url(&Url::parse("ftp://127.0.0.1/").unwrap())
            .is_err());
    }

    /// A name is checked again when it resolves: one that resolves only into the block list
    /// is refused before any connection, as an invalid target (not a transient failure).
    #[tokio::test]
    async fn a_name_resolving_only_to_forbidden_addresses_is_refused() {
        let resolver = SsrfSafeResolver {
            allow_private: false,
        };
        let err = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved"),
            Err(e) => e,
        };
        assert!(err.downcast_ref::<ForbiddenResolution>().is_some(), "{err}");
        let open = SsrfSafeResolver {
            allow_private: true,
        };
        assert!(open.resolve("localhost".parse().unwrap()).await.is_ok());

        // Through the client (past check_url, which would refuse `localhost` itself).
        let up = Upstream::new(UpstreamConfig::default());
        let spec = RequestSpec::new(Method::GET, Url::parse("http://localhost:9/").unwrap());
        let got = up.attempt(&spec).await;
        assert!(
            matches!(got, Err(ConnectorError::InvalidTarget(_))),
            "{got:?}"
        );
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
    }
}

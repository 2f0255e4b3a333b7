//! The one upstream HTTP client every connector uses.
//!
//! It owns: a pooled `reqwest::Client` with connect and request timeouts; the SSRF rules
//! (http(s) only, no private, loopback, link-local, unique-local or metadata addresses unless
//! allowed, checked on literal IPs and on every DNS answer, no redirects to another host);
//! and the retry policy (idempotent calls only, on 429/5xx/timeouts, jittered exponential
//! backoff that honours `Retry-After`, within a bounded total wait).
//!
//! Per-store concurrency is bounded by a [`StoreGate`] that each session owns; per-store
//! budgets (platform rate limits) are kept by the [`Pacer`] the client carries.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
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
    /// Timeout of one attempt, headers and body.
    pub request_timeout: Duration,
    /// Attempts after the first for idempotent calls.
    pub max_retries: u32,
    /// Total time one call may spend waiting between attempts.
    pub max_retry_wait: Duration,
    pub base_backoff: Duration,
    /// Concurrent upstream calls per store.
    pub per_store_concurrency: usize,
    /// Largest upstream body read.
    pub max_body_bytes: usize,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            allow_private: false,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(10),
            base_backoff: Duration::from_millis(200),
            per_store_concurrency: 4,
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Is this address one a user-supplied URL must not reach?
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // includes 169.254.169.254 (cloud metadata)
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 IETF protocol
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_ip(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local (incl. fd00:ec2::254)
                || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 can reach private IPv4
        }
    }
}

/// DNS resolver that drops forbidden addresses, so a hostname cannot smuggle a private IP.
struct SsrfSafeResolver {
    allow_private: bool,
}

impl Resolve for SsrfSafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_forbidden_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(
                    format!("{host} resolves only to addresses cartgate may not reach").into(),
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
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

/// Bounds concurrent upstream calls of one store.
#[derive(Debug, Clone)]
pub struct StoreGate(Arc<Semaphore>);

impl StoreGate {
    pub fn new(permits: usize) -> Self {
        StoreGate(Arc::new(Semaphore::new(permits.max(1))))
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
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            let same_host = attempt
                .previous()
                .first()
                .is_some_and(|first| first.host_str() == attempt.url().host_str());
            if attempt.previous().len() >= 5 || !same_host {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(32)
            .redirect(redirect)
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

    /// Checks a user-supplied base URL: http(s), a host, and (unless allowed) no literal
    /// forbidden IP. Hostnames are checked again on every resolution.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConnectorError::Validation(format!(
                "URL scheme {:?} is not allowed: use http or https",
                url.scheme()
            )));
        }
        let Some(host) = url.host() else {
            return Err(ConnectorError::Validation("URL has no host".into()));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConnectorError::Validation(
                "URL must not carry credentials".into(),
            ));
        }
        if self.config.allow_private {
            return Ok(());
        }
        let ip = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
                return Err(ConnectorError::Validation(
                    "URL points at a private or loopback address".into(),
                ))
            }
            url::Host::Domain(_) => None,
        };
        if ip.is_some_and(is_forbidden_ip) {
            return Err(ConnectorError::Validation(
                "URL points at a private or loopback address".into(),
            ));
        }
        Ok(())
    }

    /// Sends one request: SSRF check, per-store gate, retries for idempotent requests.
    /// Answers with the response for any status the connector must interpret (2xx, 4xx);
    /// turns lasting 429s, 5xx and transport failures into errors.
    pub async fn send(
        &self,
        cx: &CallContext,
        gate: &StoreGate,
        spec: RequestSpec,
    ) -> Result<UpstreamResponse> {
        self.check_url(&spec.url)?;
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            let outcome = {
                let _permit = gate
                    .0
                    .acquire()
                    .await
                    .map_err(|_| ConnectorError::Unavailable("store gate closed".into()))?;
                cx.count_call();
                self.attempt(&spec).await
            };
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
            let can_retry = spec.idempotent
                && attempt < self.config.max_retries
                && started.elapsed() + wait <= self.config.max_retry_wait;
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
            attempt += 1;
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

fn transport_error(e: reqwest::Error) -> ConnectorError {
    // Never include the URL: it may carry query-string credentials.
    let e = e.without_url();
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

    #[test]
    fn forbidden_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn check_url_refuses_private_and_odd_schemes() {
        let up = Upstream::new(UpstreamConfig::default());
        for u in [
            "http://127.0.0.1/",
            "http://localhost:8080/",
            "http://169.254.169.254/latest",
            "ftp://example.com/",
            "http://user:pw@example.com/",
            "http://[::1]/",
        ] {
            assert!(up.check_url(&Url::parse(u).unwrap()).is_err(), "{u}");
        }
        assert!(up
            .check_url(&Url::parse("https://example.com/").unwrap())
            .is_ok());
        let open = Upstream::new(UpstreamConfig {
            allow_private: true,
            ..Default::default()
        });
        assert!(open
            .check_url(&Url::parse("http://127.0.0.1/").unwrap())
            .is_ok());
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
    }
}

//! Helpers for connector tests against their sandboxes (feature `sandbox`): a sandbox on a
//! loopback port with sessions of its connector ([`TestSandbox`]), the upstream settings
//! tests use, list parameters, walking every page of a list, and a webhook receiver on a
//! loopback port ([`WebhookReceiver`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::http::{Upstream, UpstreamConfig};
use crate::model::{Order, Product};
use crate::page::{Filters, ListParams, Page};
use crate::sandbox::SandboxHandle;
use crate::{CallContext, Connector, Result, StoreSession};

/// A platform's sandbox on a loopback port, and sessions of its connector opened from the
/// sandbox's credentials through the public `Connector` API, as the gateway opens them.
pub struct TestSandbox {
    pub handle: SandboxHandle,
    connector: Arc<dyn Connector>,
    /// The upstream settings of [`TestSandbox::session`].
    config: UpstreamConfig,
    http: reqwest::Client,
}

impl TestSandbox {
    /// Starts a sandbox with `start` on a free loopback port; [`TestSandbox::session`] opens
    /// `connector` with `config`.
    pub async fn start<F, Fut>(
        connector: Arc<dyn Connector>,
        config: UpstreamConfig,
        start: F,
    ) -> TestSandbox
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut,
        Fut: Future<Output = std::io::Result<SandboxHandle>>,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        TestSandbox {
            handle: start(listener).await.expect("sandbox starts"),
            connector,
            config,
            http: reqwest::Client::new(),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.handle.banner.base_url.trim_end_matches('/')
    }

    pub fn credentials(&self) -> Value {
        self.handle.banner.credentials.clone()
    }

    pub fn session_with(&self, creds: &Value, config: UpstreamConfig) -> Arc<dyn StoreSession> {
        let creds = self
            .connector
            .parse_credentials(creds)
            .expect("sandbox credentials are valid");
        self.connector
            .open(&creds, Upstream::new(config))
            .expect("session opens")
    }

    pub fn session(&self) -> Arc<dyn StoreSession> {
        self.session_with(&self.credentials(), self.config.clone())
    }

    /// Calls a `/__sandbox/{path}` control route (PUT with a body, GET without); answers
    /// its JSON and fails the test on an error status.
    pub async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/__sandbox/{path}", self.base());
        let req = match body {
            Some(b) => self.http.put(&url).json(&b),
            None => self.http.get(&url),
        };
        let resp = req.send().await.expect("control route answers");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.json().await.expect("control routes answer JSON")
    }

    /// Sets the fault injection (`PUT /__sandbox/faults`).
    pub async fn faults(&self, body: Value) {
        self.control("faults", Some(body)).await;
    }

    /// The shared HTTP client, for calls a test makes to the sandbox itself.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `POST /__sandbox/simulate {"event", "id"?}`: answers the id of the changed object;
    /// fails the test on an error status.
    pub async fn simulate(&self, event: crate::EventType, id: Option<&str>) -> String {
        let mut body = serde_json::json!({ "event": event });
        if let Some(id) = id {
            body["id"] = Value::String(id.to_owned());
        }
        let url = format!("{}/__sandbox/simulate", self.base());
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .expect("simulate answers");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        let v: Value = resp.json().await.expect("simulate answers JSON");
        v["id"].as_str().expect("simulate answers an id").to_owned()
    }

    /// `GET /__sandbox/outbox`.
    pub async fn outbox(&self) -> crate::sandbox::OutboxStats {
        serde_json::from_value(self.control("outbox", None).await).expect("outbox stats")
    }

    /// Waits (up to `within`) until every webhook the sandbox queued has ended.
    pub async fn outbox_idle(&self, within: Duration) -> crate::sandbox::OutboxStats {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let stats = self.outbox().await;
            if stats.idle() || tokio::time::Instant::now() >= deadline {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One request a [`WebhookReceiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on a free loopback port: every POST it gets is kept (at most
/// 10,000) and answered with the status of [`WebhookReceiver::answer_with`] (200 at
/// first). Stops when dropped.
pub struct WebhookReceiver {
    /// `http://127.0.0.1:{port}/hooks`.
    pub url: url::Url,
    rx: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Received>>,
    status: Arc<std::sync::atomic::AtomicU16>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        use axum::extract::State;
        type St = (
            tokio::sync::mpsc::Sender<Received>,
            Arc<std::sync::atomic::AtomicU16>,
        );
        async fn receive(
            State((tx, status)): State<St>,
            uri: axum::http::Uri,
            headers: axum::http::HeaderMap,
            body: axum::body::Bytes,
        ) -> axum::http::StatusCode {
            let _ = tx.try_send(Received {
                path: uri.path().to_owned(),
                headers,
                body,
            });
            axum::http::StatusCode::from_u16(status.load(std::sync::atomic::Ordering::Relaxed))
                .unwrap_or(axum::http::StatusCode::OK)
        }
        let (tx, rx) = tokio::sync::mpsc::channel(10_000);
        let status = Arc::new(std::sync::atomic::AtomicU16::new(200));
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state((tx, status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        WebhookReceiver {
            url: url::Url::parse(&format!("http://{addr}/hooks")).expect("a URL"),
            rx: tokio::sync::Mutex::new(rx),
            status,
            _stop: stop,
        }
    }

    /// The status answered from now on.
    pub fn answer_with(&self, status: u16) {
        self.status
            .store(status, std::sync::atomic::Ordering::Relaxed);
    }

    /// The next request, if one comes within `within`.
    pub async fn next(&self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.rx.lock().await.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next request `keep` accepts, within `within`; others are dropped.
    pub async fn next_where(
        &self,
        within: Duration,
        keep: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let r = self.next(left).await?;
            if keep(&r) {
                return Some(r);
            }
        }
    }

    /// Every request received so far (without waiting).
    pub async fn drain(&self) -> Vec<Received> {
        let mut rx = self.rx.lock().await;
        let mut out = Vec::new();
        while let Ok(r) = rx.try_recv() {
            out.push(r);
        }
        out
    }
}

/// A call context without `include=raw`.
pub fn cx() -> CallContext {
    CallContext::new(false)
}

/// Every product of the session, in pages of `limit`.
pub async fn all_products(s: &dyn StoreSession, limit: u32, filters: Filters) -> Vec<Product> {
    all_pages(limit, filters, |p| async move {
        s.list_products(&cx(), &p).await
    })
    .await
}

/// Every order of the session, in pages of `limit`.
pub async fn all_orders(s: &dyn StoreSession, limit: u32, filters: Filters) -> Vec<Order> {
    all_pages(
        limit,
        filters,
        |p| async move { s.list_orders(&cx(), &p).await },
    )
    .await
}

/// Loopback allowed, short backoff, bounded retry wait.
pub fn upstream_config(max_retry_wait: Duration) -> UpstreamConfig {
    UpstreamConfig {
        allow_private: true,
        base_backoff: Duration::from_millis(20),
        max_retry_wait,
        ..Default::default()
    }
}

pub fn params(limit: u32, filters: Filters) -> ListParams {
    ListParams {
        limit,
        state: None,
        filters,
    }
}

/// Every item of a list, following the connector's paging state; fails the test on an
/// error, on a page larger than `limit`, or when paging does not end.
pub async fn all_pages<T, F, Fut>(limit: u32, filters: Filters, mut page: F) -> Vec<T>
where
    F: FnMut(ListParams) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut p = params(limit, filters);
    let mut out = Vec::new();
    loop {
        let got = page(p.clone()).await.expect("a page");
        assert!(got.items.len() <= limit as usize, "a page over the limit");
        out.extend(got.items);
        match got.next {
            Some(next) => p.state = Some(next),
            None => return out,
        }
        assert!(out.len() < 10_000, "paging does not end");
    }
}

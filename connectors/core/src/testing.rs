//! Helpers for connector tests against their sandboxes (feature `sandbox`): a sandbox on a
//! loopback port with sessions of its connector ([`TestSandbox`]), the upstream settings
//! tests use, list parameters, and walking every page of a list.

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

//! Starts gateways and sandboxes for tests and talks to them like a client would.

use std::sync::Arc;
use std::time::Duration;

use cartgate::{AppState, Registry, Settings};
use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "test-admin-token";

pub struct Gateway {
    pub url: String,
    pub state: Arc<AppState>,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut s = Settings::from_env().expect("default settings");
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.data_dir = data_dir.to_path_buf();
    s.master_key = None;
    s.admin_token = Some(ADMIN_TOKEN.into());
    s.allow_private_upstreams = true;
    s.redis_url = None;
    s.rate_limit_per_second = 1000;
    s.rate_limit_burst = 1000;
    s.upstream_max_retry_wait_secs = 5;
    s
}

impl Gateway {
    pub async fn start() -> Gateway {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Gateway {
        let data_dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(data_dir.path());
        tweak(&mut settings);
        Self::start_in(data_dir, settings).await
    }

    /// A gateway whose `CARTGATE_PUBLIC_URL` is its own address, so platforms' webhooks
    /// (the sandboxes') reach its /inbound routes.
    pub async fn start_public(tweak: impl FnOnce(&mut Settings)) -> Gateway {
        let data_dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(data_dir.path());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        settings.public_url = Some(format!("http://{}", listener.local_addr().unwrap()));
        tweak(&mut settings);
        Self::start_on(listener, data_dir, settings).await
    }

    pub async fn start_in(data_dir: tempfile::TempDir, settings: Settings) -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, data_dir, settings).await
    }

    pub async fn start_on(
        listener: tokio::net::TcpListener,
        data_dir: tempfile::TempDir,
        settings: Settings,
    ) -> Gateway {
        let url = format!("http://{}", listener.local_addr().unwrap());
        // A gateway stopped in this process releases its storage once its background tasks
        // have wound down: wait for that instead of failing on the file lock.
        let mut attempt = 0;
        let state = loop {
            match AppState::build(settings.clone(), Registry::for_settings(&settings)).await {
                Ok(s) => break s,
                Err(e) if attempt < 50 && e.to_string().contains("in use") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{e:#}"),
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(cartgate::run(state.clone(), listener, async {
            let _ = rx.await;
        }));
        Gateway {
            url,
            state,
            data_dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it, releasing the storage.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.data_dir, dir)
    }

    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        admin_call(&self.url, method, path, body).await
    }

    /// A new account through the /admin API, with a client holding its first key.
    pub async fn account(&self, name: &str) -> Client {
        create_account(&self.url, name).await
    }
}

/// One /admin call with the test admin token to the gateway at `base`.
pub async fn admin_call(
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http()
        .request(method, format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A new account on the gateway at `base`, with a client holding its first key.
pub async fn create_account(base: &str, name: &str) -> Client {
    let (status, body) = admin_call(
        base,
        Method::POST,
        "/admin/accounts",
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Client {
        base: base.to_owned(),
        key: body["api_key"].as_str().unwrap().to_owned(),
        account_id: body["account_id"].as_str().unwrap().to_owned(),
        key_id: body["key_id"].as_str().unwrap().to_owned(),
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A loopback port nothing listens on right now (for a process that binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An API client of one account.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub key: String,
    pub account_id: String,
    pub key_id: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Resp {
    /// Asserts a problem+json error with the given status and code.
    pub fn problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            "application/problem+json",
            "{self:?}"
        );
        assert!(
            self.body["request_id"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{self:?}"
        );
        assert!(
            self.body["title"].is_string() && self.body["detail"].is_string(),
            "{self:?}"
        );
    }
}

impl Client {
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {r:?}");
        r.body
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }

    /// Connects a store; returns its id.
    pub async fn connect(&self, platform: &str, credentials: &Value) -> String {
        let r = self
            .post(
                "/v1/stores",
                json!({ "platform": platform, "name": "Test store", "credentials": credentials }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Every page of a list, following next_cursor.
    pub async fn all(&self, path_with_query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let sep = if path_with_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let path = match &cursor {
                Some(c) => format!("{path_with_query}{sep}cursor={c}"),
                None => path_with_query.to_owned(),
            };
            let page = self.ok(&path).await;
            out.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
        panic!("paging did not end");
    }
}

pub struct WooSandbox {
    pub handle: SandboxHandle,
}

impl WooSandbox {
    pub async fn start() -> WooSandbox {
        Self::start_with(SandboxOptions::default()).await
    }

    pub async fn start_with(opts: SandboxOptions) -> WooSandbox {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = cartgate_woocommerce::sandbox::start(listener, opts)
            .await
            .unwrap();
        WooSandbox { handle }
    }

    pub fn credentials(&self) -> Value {
        self.handle.banner.credentials.clone()
    }

    pub fn base(&self) -> &str {
        &self.handle.banner.base_url
    }

    /// Sets the sandbox's fault injection (see the sandbox's /__sandbox/faults).
    pub async fn faults(&self, body: Value) {
        let r = http()
            .put(format!("{}/__sandbox/faults", self.base()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    /// Calls one of the sandbox's `/__sandbox` control routes; answers its JSON.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = http().request(method, format!("{}/__sandbox/{path}", self.base()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Holds every API request at the sandbox's door until [`WooSandbox::release`].
    pub async fn hold(&self) {
        self.control(Method::PUT, "hold", Some(json!({"count": 1000})))
            .await;
    }

    /// Waits until `n` requests are held.
    pub async fn wait_held(&self, n: u64) {
        for _ in 0..500 {
            let s = self.control(Method::GET, "hold", None).await;
            if s["waiting"].as_u64().unwrap() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no request reached the sandbox");
    }

    pub async fn release(&self) {
        self.control(Method::DELETE, "hold", None).await;
    }

    /// Reads wc/v3 directly with the sandbox's own credentials.
    pub async fn wc(&self, path: &str) -> Value {
        let c = self.credentials();
        http()
            .get(format!("{}/wp-json/wc/v3{path}", self.base()))
            .basic_auth(
                c["consumer_key"].as_str().unwrap(),
                c["consumer_secret"].as_str(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A gateway, an account and a connected WooCommerce sandbox store.
pub struct World {
    pub gw: Gateway,
    pub woo: WooSandbox,
    pub client: Client,
    pub store: String,
}

impl World {
    pub async fn new() -> World {
        let gw = Gateway::start().await;
        let woo = WooSandbox::start().await;
        let client = gw.account("acme").await;
        let store = client.connect("woocommerce", &woo.credentials()).await;
        World {
            gw,
            woo,
            client,
            store,
        }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/v1/stores/{}{rest}", self.store)
    }
}

//! A webhook subscriber for tests: an HTTP server on loopback that records every request
//! and answers with the statuses it is told to (200 once they run out), and the independent
//! Standard Webhooks verifier.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    got: Vec<Received>,
    answers: VecDeque<u16>,
    delay: Option<Duration>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        async fn take(
            State(s): State<Arc<Mutex<Inner>>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            let (status, delay) = {
                let mut i = s.lock().unwrap();
                let status = i.answers.pop_front().unwrap_or(200);
                i.got.push(Received {
                    headers,
                    body,
                    status,
                });
                (status, i.delay)
            };
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            StatusCode::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", post(take))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inner }
    }

    /// The next requests answer these statuses.
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().answers.extend(statuses);
    }

    /// Forget the statuses still to answer: 200 from now on.
    pub fn clear_answers(&self) {
        self.inner.lock().unwrap().answers.clear();
    }

    pub fn delay(&self, d: Option<Duration>) {
        self.inner.lock().unwrap().delay = d;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().got.clone()
    }

    /// Waits until `pred` holds for what was received (fails the test after `within`).
    pub async fn wait_for(
        &self,
        within: Duration,
        what: &str,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let until = std::time::Instant::now() + within;
        loop {
            let got = self.received();
            if pred(&got) {
                return got;
            }
            if std::time::Instant::now() > until {
                panic!(
                    "the receiver did not get {what} within {within:?}; got {} requests",
                    got.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Receiver {
    /// Waits until `n` distinct events (`webhook-id`s) were answered 200; answers the
    /// object ids they carried.
    pub async fn wait_delivered(
        &self,
        n: usize,
        within: Duration,
    ) -> std::collections::HashSet<String> {
        let delivered = |g: &[Received]| {
            g.iter()
                .filter(|r| r.status == 200)
                .map(|r| r.header("webhook-id").to_owned())
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        let got = self
            .wait_for(within, "every event delivered", |g| delivered(g) >= n)
            .await;
        got.iter()
            .filter(|r| r.status == 200)
            .map(|r| {
                r.json()["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

/// Verifies a delivery with the Standard Webhooks reference library (Python, from
/// scripts/sdk-venv.sh); answers the verified payload, or `None` when the venv is not set
/// up (the caller says it skipped that check). Panics when the signature does not verify.
pub fn verify_with_reference_library(secret: &str, r: &Received) -> Option<Value> {
    let venv = std::env::var_os("CARTGATE_SDK_VENV")?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body.path(), &r.body).unwrap();
    let headers = serde_json::json!({
        "webhook-id": r.header("webhook-id"),
        "webhook-timestamp": r.header("webhook-timestamp"),
        "webhook-signature": r.header("webhook-signature"),
    });
    let mut child = std::process::Command::new(std::path::Path::new(&venv).join("bin/python"))
        .arg(root.join("tests/webhooks/verify.py"))
        .arg(secret)
        .arg(body.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(headers.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference verifier refused the delivery: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

//! The upstream client against small local servers on 127.0.0.1: redirects (same origin
//! only, no `Referer`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use cartgate_connector::http::{RequestSpec, Upstream, UpstreamConfig};
use cartgate_connector::{CallContext, ConnectorError};
use http::Method;
use url::Url;

/// Serves the app `make` builds for its own base URL (`http://127.0.0.1:PORT`) on a
/// loopback port; answers that base URL.
async fn serve_as(make: impl FnOnce(&str) -> Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = make(&url);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn serve(app: Router) -> String {
    serve_as(|_| app).await
}

fn config() -> UpstreamConfig {
    UpstreamConfig {
        allow_private: true,
        base_backoff: Duration::from_millis(20),
        ..Default::default()
    }
}

fn get_spec(url: &str) -> RequestSpec {
    RequestSpec::new(Method::GET, Url::parse(url).unwrap())
}

#[derive(Clone, Default)]
struct Seen {
    hits: Arc<AtomicU32>,
    referers: Arc<Mutex<Vec<String>>>,
}

async fn record(State(seen): State<Seen>, headers: HeaderMap) -> &'static str {
    seen.hits.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = headers.get(header::REFERER) {
        seen.referers
            .lock()
            .unwrap()
            .push(r.to_str().unwrap_or("?").to_owned());
    }
    "landed"
}

#[tokio::test]
async fn a_redirect_to_another_port_is_refused_and_not_followed() {
    let other = Seen::default();
    let other_url = serve(
        Router::new()
            .route("/target", get(record))
            .with_state(other.clone()),
    )
    .await;
    let target = format!("{other_url}/target");
    let redirector = serve(Router::new().route(
        "/start",
        get(move || async move { Redirect::temporary(&target) }),
    ))
    .await;
    let up = Upstream::new(config());
    let got = up
        .send(
            &CallContext::default(),
            &up.gate(),
            get_spec(&format!("{redirector}/start?secret=s3cr3t")),
        )
        .await;
    match got {
        Err(ConnectorError::Upstream { message, .. }) => {
            assert!(message.contains("another origin"), "{message}");
            assert!(message.contains(&other_url), "names the origin: {message}");
            assert!(
                !message.contains("s3cr3t"),
                "no URL with its query: {message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The same port under another name (same address, another origin).
    let renamed = Seen::default();
    let renamed_state = renamed.clone();
    let same_port_other_name = serve_as(move |base| {
        let target = base.replace("127.0.0.1", "localhost") + "/target";
        Router::new()
            .route(
                "/start",
                get(move || async move { Redirect::temporary(&target) }),
            )
            .route("/target", get(record))
            .with_state(renamed_state)
    })
    .await;
    let got = up
        .send(
            &CallContext::default(),
            &up.gate(),
            get_spec(&format!("{same_port_other_name}/start")),
        )
        .await;
    assert!(
        matches!(got, Err(ConnectorError::Upstream { .. })),
        "{got:?}"
    );
    assert_eq!(renamed.hits.load(Ordering::SeqCst), 0, "never followed");
    assert_eq!(other.hits.load(Ordering::SeqCst), 0, "never followed");
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_without_referer() {
    let seen = Seen::default();
    let app = Router::new()
        .route("/start", get(|| async { Redirect::temporary("/final") }))
        .route("/final", get(record))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .with_state(seen.clone());
    let base = serve(app).await;
    let up = Upstream::new(config());
    let r = up
        .send(
            &CallContext::default(),
            &up.gate(),
            get_spec(&format!("{base}/start")),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"landed");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
    assert!(seen.referers.lock().unwrap().is_empty(), "no Referer sent");
    // A loop ends as an upstream error, not a hang or a 3xx passed on.
    let got = up
        .send(
            &CallContext::default(),
            &up.gate(),
            get_spec(&format!("{base}/loop")),
        )
        .await;
    assert!(
        matches!(got, Err(ConnectorError::Upstream { .. })),
        "{got:?}"
    );
}

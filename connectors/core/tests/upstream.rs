//! The upstream client against small local servers on 127.0.0.1: redirects (same origin
//! only, no `Referer`) and the retry contract (per-attempt timeouts retried within the
//! deadline, writes given the whole deadline, the store gate's bounded queue).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
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

/// Answers after `hang` for the first `hanging` requests, at once afterwards.
fn flaky(hanging: u32, hang: Duration, hits: Arc<AtomicU32>) -> Router {
    let handler = move || {
        let hits = hits.clone();
        async move {
            if hits.fetch_add(1, Ordering::SeqCst) < hanging {
                tokio::time::sleep(hang).await;
            }
            "{\"ok\":true}".into_response()
        }
    };
    Router::new()
        .route("/r", get(handler.clone()))
        .route("/w", post(handler))
}

/// The attempt timeout is longer than the whole retry-wait budget: a timed-out attempt is
/// still retried, because only the waits between attempts count against that budget.
#[tokio::test]
async fn a_timed_out_attempt_is_retried() {
    let hits = Arc::new(AtomicU32::new(0));
    let base = serve(flaky(1, Duration::from_secs(30), hits.clone())).await;
    let up = Upstream::new(UpstreamConfig {
        attempt_timeout: Duration::from_millis(400),
        max_retry_wait: Duration::from_millis(100),
        ..config()
    });
    let cx = CallContext::default();
    let t = Instant::now();
    let r = up
        .send(&cx, &up.gate(), get_spec(&format!("{base}/r")))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(cx.calls(), 2);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// Every attempt hangs: the call ends at the request's deadline with `Unavailable`, having
/// tried again as long as an attempt fitted.
#[tokio::test]
async fn the_deadline_bounds_every_attempt_and_wait() {
    let hits = Arc::new(AtomicU32::new(0));
    let base = serve(flaky(u32::MAX, Duration::from_secs(30), hits.clone())).await;
    let up = Upstream::new(UpstreamConfig {
        attempt_timeout: Duration::from_millis(500),
        max_retries: 10,
        ..config()
    });
    let cx = CallContext::default().with_deadline(Instant::now() + Duration::from_millis(1500));
    let t = Instant::now();
    let got = up
        .send(&cx, &up.gate(), get_spec(&format!("{base}/r")))
        .await;
    let took = t.elapsed();
    assert!(
        matches!(got, Err(ConnectorError::Unavailable(_))),
        "{got:?}"
    );
    assert!(took <= Duration::from_millis(1700), "{took:?}");
    assert!(
        cx.calls() >= 2,
        "retried within the deadline: {}",
        cx.calls()
    );
    // Nothing is left for a second call of the same request.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = up
        .send(&cx, &up.gate(), get_spec(&format!("{base}/r")))
        .await;
    assert!(
        matches!(got, Err(ConnectorError::Unavailable(_))),
        "{got:?}"
    );
}

/// A write is sent once and may take all the time left before the deadline: cutting it at
/// the attempt timeout would lose its answer, not gain a retry.
#[tokio::test]
async fn a_write_gets_the_whole_deadline() {
    let hits = Arc::new(AtomicU32::new(0));
    let base = serve(flaky(1, Duration::from_millis(700), hits.clone())).await;
    let up = Upstream::new(UpstreamConfig {
        attempt_timeout: Duration::from_millis(200),
        ..config()
    });
    let cx = CallContext::default().with_deadline(Instant::now() + Duration::from_secs(5));
    let spec = RequestSpec::new(Method::POST, Url::parse(&format!("{base}/w")).unwrap());
    let r = up.send(&cx, &up.gate(), spec.clone()).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "sent once");

    // Past the deadline it is cut, once, and the error says the change may have happened.
    let slow = serve(flaky(u32::MAX, Duration::from_secs(30), Arc::default())).await;
    let spec = RequestSpec::new(Method::POST, Url::parse(&format!("{slow}/w")).unwrap());
    let cx = CallContext::default().with_deadline(Instant::now() + Duration::from_millis(500));
    match up.send(&cx, &up.gate(), spec).await {
        Err(ConnectorError::Unavailable(m)) => assert!(m.contains("may still"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(cx.calls(), 1);
}

/// With the store's only slot held by a hanging call, the next call waits the queue wait
/// and fails as `Busy` without sending anything.
#[tokio::test]
async fn a_full_store_gate_fails_fast_as_busy() {
    let hits = Arc::new(AtomicU32::new(0));
    let base = serve(flaky(1, Duration::from_secs(3), hits.clone())).await;
    let up = Upstream::new(UpstreamConfig {
        per_store_concurrency: 1,
        queue_wait: Duration::from_millis(300),
        attempt_timeout: Duration::from_secs(5),
        ..config()
    });
    let gate = up.gate();
    let first = {
        let (up, gate, url) = (up.clone(), gate.clone(), format!("{base}/r"));
        tokio::spawn(async move {
            up.send(&CallContext::default(), &gate, get_spec(&url))
                .await
                .map(|r| r.status)
        })
    };
    while hits.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let t = Instant::now();
    let got = up
        .send(
            &CallContext::default(),
            &gate,
            get_spec(&format!("{base}/r")),
        )
        .await;
    assert!(matches!(got, Err(ConnectorError::Busy(_))), "{got:?}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(hits.load(Ordering::SeqCst), 1, "nothing sent");
    assert_eq!(first.await.unwrap().unwrap(), StatusCode::OK);
}

/// A paced call (the connector keeps the platform's budget) gets the platform's 429 as it
/// is, at once; an unpaced read is retried on its own backoff.
#[tokio::test]
async fn a_paced_call_gets_its_429_back_unretried() {
    let seen = Seen::default();
    let base = serve(
        Router::new()
            .route(
                "/limited",
                get(|State(seen): State<Seen>| async move {
                    seen.hits.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::TOO_MANY_REQUESTS, "slow down")
                }),
            )
            .with_state(seen.clone()),
    )
    .await;
    let up = Upstream::new(config());
    let mut spec = get_spec(&format!("{base}/limited"));
    spec.paced = true;
    let got = up
        .send(&CallContext::default(), &up.gate(), spec)
        .await
        .unwrap();
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1, "sent once");

    let got = up
        .send(
            &CallContext::default(),
            &up.gate(),
            get_spec(&format!("{base}/limited")),
        )
        .await;
    assert!(
        matches!(got, Err(ConnectorError::RateLimited { .. })),
        "{got:?}"
    );
    assert!(seen.hits.load(Ordering::SeqCst) > 2, "retried");
}

//! The request log: own calls only, route templates without query values, retention,
//! only validated and bounded values, and an entry for every answer (timeouts and panics
//! included).

use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;
use cartgate::storage::LogRecord;

/// Sends a request with our own request id (to find its entry); returns the status.
async fn send_as(c: &Client, base: &str, method: Method, path: &str, id: &str) -> StatusCode {
    http()
        .request(method, format!("{base}{path}"))
        .bearer_auth(&c.key)
        .header("x-request-id", id)
        .send()
        .await
        .unwrap()
        .status()
}

/// The entry of the request with `request_id`, once it has been written.
async fn entry_of(c: &Client, request_id: &str) -> Value {
    for _ in 0..50 {
        let page = c.ok("/v1/logs?limit=250").await;
        if let Some(e) = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["request_id"] == request_id)
        {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no log entry for {request_id}");
}

/// `cartgate_requests_total` for one route and status, from the gateway's /metrics.
async fn requests_total(base: &str, route: &str, status: u16) -> u64 {
    let text = http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (route, status) = (format!("route=\"{route}\""), format!("status=\"{status}\""));
    text.lines()
        .filter(|l| l.starts_with("cartgate_requests_total{"))
        .filter(|l| l.contains(&route) && l.contains(&status))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

async fn logs_until(c: &Client, path: &str, want: usize) -> Vec<Value> {
    for _ in 0..50 {
        let got = c.ok(path).await["data"].as_array().unwrap().clone();
        if got.len() >= want {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("request log did not reach {want} entries");
}

#[tokio::test]
async fn own_calls_only_without_query_values() {
    let w = World::new().await;
    let other = w.gw.account("other").await;
    w.client
        .ok(&w.path("/customers?email=secret.person%40example.com"))
        .await;
    w.client.get(&w.path("/orders/999999")).await;
    other.ok("/v1/stores").await;

    let mine = logs_until(&w.client, "/v1/logs", 3).await;
    let text = serde_json::to_string(&mine).unwrap();
    assert!(
        !text.contains("secret.person"),
        "no query values in the log"
    );
    assert!(mine
        .iter()
        .all(|e| e["route"].as_str().unwrap().starts_with("/v1/")));
    assert!(mine
        .iter()
        .any(|e| e["route"] == "/v1/stores/{store_id}/customers"
            && e["store_id"] == w.store.as_str()));
    let miss = mine
        .iter()
        .find(|e| e["status"] == 404)
        .expect("the 404 is logged");
    assert_eq!(miss["error_code"], "not_found");
    assert!(miss["upstream_calls"].as_u64().unwrap() >= 1);
    let theirs = logs_until(&other, "/v1/logs", 1).await;
    assert!(
        theirs.iter().all(|e| e["store_id"].is_null()),
        "the other account sees only its own"
    );
    assert!(!serde_json::to_string(&theirs).unwrap().contains(&w.store));

    let only_404 = w.client.ok("/v1/logs?status=404").await;
    assert!(only_404["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["status"] == 404));
    let by_store = w.client.ok(&format!("/v1/logs?store_id={}", w.store)).await;
    assert!(by_store["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["store_id"] == w.store.as_str()));
}

#[tokio::test]
async fn entries_past_retention_are_purged_automatically() {
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let old = LogRecord {
        id: "log_old".into(),
        account_id: c.account_id.clone(),
        request_id: "req_old".into(),
        at: Utc::now() - chrono::Duration::days(31),
        method: "GET".into(),
        route: "/v1/stores".into(),
        store_id: None,
        status: 200,
        latency_ms: 1,
        upstream_calls: 0,
        error_code: None,
    };
    // Written while no gateway runs, so that only the restarted gateway's purge pass can
    // remove them (a first pass of the running one, late on a busy machine, cannot).
    let dir = gw.stop().await;
    {
        use cartgate::storage::{Logs, Webhooks};
        let path = dir.path().join("cartgate.redb");
        // The stopped gateway's last connections may hold the file for a moment.
        let mut storage = None;
        for _ in 0..50 {
            match cartgate::storage::embedded::EmbeddedStorage::open(&path) {
                Ok(s) => {
                    storage = Some(s);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let storage = storage.expect("the stopped gateway lets go of its store");
        storage.append_logs(&[old]).await.unwrap();
        // An inbound webhook id past its dedupe window goes in the same pass (before the log).
        assert!(storage
            .remember_inbound("st_1", "platform-delivery-1", Duration::from_millis(1))
            .await
            .unwrap());
    }
    // Restart: the purger runs at start and then hourly.
    let settings = test_settings(dir.path());
    let gw = Gateway::start_in(dir, settings).await;
    let mut purged = false;
    for _ in 0..50 {
        let all = gw
            .state
            .storage
            .list_logs(
                &c.account_id,
                &cartgate::storage::LogQuery {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if all.iter().all(|e| e.id != "log_old") {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(purged, "the 31-day-old entry was purged");
    assert_eq!(
        gw.state.storage.purge_inbound(Utc::now()).await.unwrap(),
        0,
        "the purger forgot the expired inbound id already"
    );
}

#[tokio::test]
async fn only_validated_bounded_values_are_logged() {
    let w = World::new().await;
    let base = w.gw.url.clone();
    // 10 KB of CR/LF, a right-to-left override and markup where a store id goes.
    let junk = format!("st_{}", "%0D%0A%E2%80%AE%3Cscript%3E".repeat(400));
    assert!(junk.len() > 10_000);
    let status = send_as(
        &w.client,
        &base,
        Method::GET,
        &format!("/v1/stores/{junk}/orders"),
        "req-junk",
    )
    .await;
    assert!(status == 400 || status == 404, "{status}");
    // A long extension method on a /v1 route (405) is cut to a bounded length.
    let method = Method::from_bytes("LONG".repeat(1000).as_bytes()).unwrap();
    let status = send_as(&w.client, &base, method, "/v1/stores", "req-method").await;
    assert_eq!(status, 405);
    // A well-formed id is logged even when no such store exists.
    let unknown = "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b";
    let status = send_as(
        &w.client,
        &base,
        Method::GET,
        &format!("/v1/stores/{unknown}"),
        "req-unknown",
    )
    .await;
    assert_eq!(status, 404);

    let e = entry_of(&w.client, "req-junk").await;
    assert_eq!(e["store_id"], Value::Null, "{e}");
    assert_eq!(e["route"], "/v1/stores/{store_id}/orders");
    assert_eq!(e["error_code"], "validation_failed");
    let e = entry_of(&w.client, "req-method").await;
    assert!(e["method"].as_str().unwrap().len() <= 16, "{e}");
    assert_eq!(e["error_code"], "method_not_allowed");
    let e = entry_of(&w.client, "req-unknown").await;
    assert_eq!(e["store_id"], unknown);
    assert_eq!(e["error_code"], "not_found");

    let all = w.client.ok("/v1/logs?limit=250").await;
    for e in all["data"].as_array().unwrap() {
        let size = serde_json::to_string(e).unwrap().len();
        assert!(size < 1024, "a {size}-byte entry: {e}");
    }
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("script") && !text.contains('\u{202e}') && !text.contains("\\r"));
}

#[tokio::test]
async fn creating_a_store_logs_its_id() {
    let gw = Gateway::start().await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let r = http()
        .post(format!("{}/v1/stores", gw.url))
        .bearer_auth(&c.key)
        .header("x-request-id", "req-create")
        .json(&json!({"platform": "woocommerce", "name": "Shop", "credentials": woo.credentials()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let store: Value = r.json().await.unwrap();
    let e = entry_of(&c, "req-create").await;
    assert_eq!(e["route"], "/v1/stores");
    assert_eq!(e["status"], 201);
    assert_eq!(e["store_id"], store["id"], "{e}");
    let by_store = c
        .ok(&format!(
            "/v1/logs?store_id={}",
            store["id"].as_str().unwrap()
        ))
        .await;
    assert!(by_store["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["request_id"] == "req-create"));
}

#[tokio::test]
async fn a_timed_out_request_is_logged_and_counted() {
    let gw = Gateway::start_with(|s| {
        s.request_timeout_secs = 1;
        // Upstream calls may outlast the request, so the gateway's own timeout answers (504)
        // rather than the upstream deadline (503), which is otherwise shorter.
        s.upstream_deadline_secs = Some(10);
    })
    .await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    let route = "/v1/stores/{store_id}/orders";
    let before = requests_total(&gw.url, route, 504).await;
    woo.faults(json!({"kind": "timeout"})).await;

    let r = http()
        .get(format!("{}/v1/stores/{store}/orders", gw.url))
        .bearer_auth(&c.key)
        .header("x-request-id", "req-slow")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);

    let e = entry_of(&c, "req-slow").await;
    assert_eq!(e["status"], 504, "{e}");
    assert_eq!(e["error_code"], "timeout");
    assert_eq!(e["route"], route);
    assert_eq!(e["store_id"], store.as_str());
    assert!(e["upstream_calls"].as_u64().unwrap() >= 1, "{e}");
    assert!(e["latency_ms"].as_u64().unwrap() >= 1000, "{e}");
    assert!(requests_total(&gw.url, route, 504).await > before);
}

#[tokio::test]
async fn a_panicking_handler_is_logged_and_counted() {
    // The real stack around a route that panics, served by the real server.
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let route = "/v1/stores/{store_id}/panics";
    let v1 = axum::Router::new().route(
        route,
        axum::routing::get(|| async {
            if true {
                panic!("a handler bug");
            }
        }),
    );
    let app = cartgate::api::stack(gw.state.clone(), v1, axum::Router::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cartgate::server::serve(
        listener,
        app,
        gw.state.settings.connection_limits(),
        async {
            let _ = stopped.await;
        },
    ));
    let before = requests_total(&gw.url, route, 500).await;

    let store = "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b";
    let r = http()
        .get(format!("{base}/v1/stores/{store}/panics"))
        .bearer_auth(&c.key)
        .header("x-request-id", "req-panic")
        .send()
        .await
        .unwrap();
    let resp = Resp {
        status: r.status(),
        headers: r.headers().clone(),
        body: r.json().await.unwrap(),
    };
    resp.problem(500, "internal_error");

    let e = entry_of(&c, "req-panic").await;
    assert_eq!(e["status"], 500, "{e}");
    assert_eq!(e["error_code"], "internal_error");
    assert_eq!(e["route"], route);
    assert_eq!(e["store_id"], store);
    assert!(requests_total(&gw.url, route, 500).await > before);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// The log pages like every list: its cursors walk every entry once, newest first, and are
/// bound to the account and to the filters they were issued for.
#[tokio::test]
async fn log_cursors_page_and_are_bound_to_their_filters() {
    let w = World::new().await;
    for _ in 0..5 {
        w.client.ok("/v1/stores").await;
    }
    let all = logs_until(&w.client, "/v1/logs?status=200&limit=250", 6).await;
    let mut walked = Vec::new();
    let mut path = "/v1/logs?status=200&limit=2".to_owned();
    loop {
        let page = w.client.ok(&path).await;
        walked.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/logs?status=200&limit=2&cursor={c}"),
            None => break,
        }
    }
    // The walk logs requests of its own (newer than `all`); each entry comes once, newest
    // first, and every entry of `all` is on some page.
    let key = |e: &Value| (e["at"].as_str().unwrap().to_owned(), e["id"].to_string());
    let keys: Vec<_> = walked.iter().map(key).collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    for e in &all {
        assert!(keys.contains(&key(e)), "{e} is on a page");
    }

    let first = w.client.ok("/v1/logs?status=200&limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    w.client
        .get(&format!("/v1/logs?status=404&limit=1&cursor={cursor}"))
        .await
        .problem(400, "invalid_cursor");
    let other = w.gw.account("other").await;
    other
        .get(&format!("/v1/logs?status=200&limit=1&cursor={cursor}"))
        .await
        .problem(400, "invalid_cursor");
    w.client
        .ok(&format!("/v1/logs?status=200&limit=1&cursor={cursor}"))
        .await;
}

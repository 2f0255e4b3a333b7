//! Amazon through the gateway, beside the shared suites: the app's Login with Amazon
//! credentials from the gateway's settings, a revoked authorization turning the store
//! `auth_failed`, Amazon's usage plans kept so that no Amazon 429 reaches a client (2,000
//! orders within 1.2 × the time the buckets allow), and a request that would wait past its
//! deadline answered 429 `upstream_rate_limited` at once.

use std::time::{Duration, Instant};

use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;
use crate::platforms::start_sandbox;

async fn control(sandbox: &SandboxHandle, path: &str, body: Option<Value>) -> Value {
    let url = format!(
        "{}/__sandbox/{path}",
        sandbox.banner.base_url.trim_end_matches('/')
    );
    let req = match body {
        Some(b) => http().put(&url).json(&b),
        None => http().get(&url),
    };
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn app_credentials_default_to_the_gateways_settings() {
    let sandbox = start_sandbox("amazon", SandboxOptions::default()).await;
    let mut creds = sandbox.banner.credentials.clone();
    let app = creds.as_object_mut().unwrap();
    let id = app.remove("client_id").unwrap();
    let secret = app.remove("client_secret").unwrap();

    // Without the settings, the store must carry the app's credentials.
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "amazon", "name": "No app", "credentials": creds}),
        )
        .await;
    r.problem(400, "validation_failed");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("CARTGATE_AMAZON_LWA_CLIENT_ID"),
        "{r:?}"
    );
    drop(gw);

    let gw = Gateway::start_with(|s| {
        s.amazon_lwa_client_id = id.as_str().map(str::to_owned);
        s.amazon_lwa_client_secret = secret.as_str().map(str::to_owned);
    })
    .await;
    let c = gw.account("a").await;
    let store = c.connect("amazon", &creds).await;
    let page = c.ok(&format!("/v1/stores/{store}/orders?limit=3")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    // A store's own app wins over the default: a wrong one is refused.
    let mut own = creds.clone();
    own["client_id"] = id.clone();
    own["client_secret"] = json!("amzn1.oa2-cs.v1.wrong");
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "amazon", "name": "Own app", "credentials": own}),
        )
        .await;
    r.problem(422, "store_auth_failed");
    assert!(!r.body.to_string().contains("wrong"), "{r:?}");
}

#[tokio::test]
async fn a_revoked_authorization_marks_the_store_and_recovers() {
    let w = crate::platforms::PlatformWorld::new("amazon").await;
    let c = &w.client;
    control(
        &w.sandbox,
        "settings",
        Some(json!({"refresh_token_valid": false})),
    )
    .await;
    // The cached access token still works until it expires: expire it.
    let r = http()
        .delete(format!(
            "{}/__sandbox/tokens",
            w.sandbox.banner.base_url.trim_end_matches('/')
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    c.get(&w.path("/orders?limit=1"))
        .await
        .problem(422, "store_auth_failed");
    assert_eq!(c.ok(&w.path("")).await["status"], "auth_failed");
    control(
        &w.sandbox,
        "settings",
        Some(json!({"refresh_token_valid": true})),
    )
    .await;
    assert_eq!(
        c.get(&w.path("/orders?limit=1")).await.status,
        StatusCode::OK
    );
    assert_eq!(c.ok(&w.path("")).await["status"], "active");
}

/// Amazon's searchOrders plan (0.0056 requests/s, burst 20), 1000 times faster: 2,000
/// orders in pages of 50 are 40 calls, 20 from the burst and 20 at 5.6/s. The gateway
/// keeps within 1.2 × that minimum and no Amazon 429 reaches the client.
#[tokio::test]
async fn reading_2000_amazon_orders_keeps_to_the_usage_plan() {
    let sandbox = start_sandbox(
        "amazon",
        SandboxOptions {
            orders: 2000,
            products: 5,
            rate_limits: true,
            ..Default::default()
        },
    )
    .await;
    let gw = Gateway::start().await;
    let client = gw.account("busy").await;
    let store = client.connect("amazon", &sandbox.banner.credentials).await;
    let scale = 1000.0;
    // Full buckets and zeroed counters for the timed walk.
    control(
        &sandbox,
        "rate_limits",
        Some(json!({"enabled": true, "scale": scale})),
    )
    .await;

    let started = Instant::now();
    // `all` asserts 200 on every page: no throttling reaches the client.
    let orders = client
        .all(&format!("/v1/stores/{store}/orders?limit=50"))
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(orders.len(), 2000);

    let limits = control(&sandbox, "rate_limits", None).await;
    let search = &limits["operations"]["searchOrders"];
    let calls = search["requests"].as_f64().unwrap();
    assert_eq!(search["throttled"], 0, "Amazon answered no 429: {limits}");
    let rate = 0.0056 * scale;
    let burst = 20.0;
    let ideal = (calls - burst).max(0.0) / rate;
    let ratio = elapsed / ideal;
    println!(
        "amazon through the gateway: 2000 orders in {calls} searchOrders calls, plan {rate}/s \
         burst {burst}: elapsed {elapsed:.2}s, ideal {ideal:.2}s, ratio {ratio:.3}"
    );
    assert_eq!(calls, 40.0, "{limits}");
    assert!(
        elapsed >= ideal * 0.95,
        "faster than the plan allows? {elapsed:.2}s < {ideal:.2}s"
    );
    assert!(
        ratio <= 1.2,
        "{elapsed:.2}s is over 1.2 × the ideal {ideal:.2}s"
    );
}

/// With Amazon's real plan, the 21st search would wait about 3 minutes: the client gets
/// 429 `upstream_rate_limited` with Retry-After at once instead of a hanging request, and
/// Amazon never answered 429.
#[tokio::test]
async fn a_wait_past_the_deadline_is_answered_429_at_once() {
    let sandbox = start_sandbox(
        "amazon",
        SandboxOptions {
            rate_limits: true,
            ..Default::default()
        },
    )
    .await;
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let store = c.connect("amazon", &sandbox.banner.credentials).await;
    control(
        &sandbox,
        "rate_limits",
        Some(json!({"enabled": true, "scale": 1.0})),
    )
    .await;
    let mut id = String::new();
    for _ in 0..20 {
        let page = c.ok(&format!("/v1/stores/{store}/orders?limit=1")).await;
        id = page["data"][0]["id"].as_str().unwrap().to_owned();
    }
    let started = Instant::now();
    let r = c.get(&format!("/v1/stores/{store}/orders?limit=1")).await;
    assert!(started.elapsed() < Duration::from_secs(3), "at once");
    r.problem(429, "upstream_rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((60..=200).contains(&retry), "{retry}");
    // Other operations have their own buckets: one order still reads.
    let one = c.ok(&format!("/v1/stores/{store}/orders/{id}")).await;
    assert_eq!(one["id"], id.as_str());
    let limits = control(&sandbox, "rate_limits", None).await;
    assert_eq!(
        limits["operations"]["searchOrders"]["throttled"], 0,
        "{limits}"
    );
}

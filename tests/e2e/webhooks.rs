//! The webhook stream end to end: subscriptions over the API, changes made in a sandbox
//! shop reaching a subscriber as signed, unified events (checked with the Standard Webhooks
//! reference library), retries, deliveries and their attempts, and bad input.

use std::time::Duration;

use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;
use crate::platforms::start_sandbox;
use crate::receiver::{verify_with_reference_library, Received, Receiver};

const WAIT: Duration = Duration::from_secs(20);

/// Fast polling and retries, loopback subscribers allowed.
fn quick(s: &mut cartgate::Settings) {
    s.poll_interval_secs = 1;
    s.webhook_retry_schedule = "1,1,1".into();
    s.webhook_timeout_secs = 2;
}

pub async fn simulate(sandbox: &SandboxHandle, event: &str) -> String {
    let r = http()
        .post(format!(
            "{}/__sandbox/simulate",
            sandbox.banner.base_url.trim_end_matches('/')
        ))
        .json(&json!({ "event": event }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "simulate {event}: {}", r.status());
    let v: Value = r.json().await.unwrap();
    v["id"]
        .as_str()
        .expect("simulate answers the id")
        .to_owned()
}

async fn subscribe(c: &Client, body: Value) -> (String, String) {
    let r = c.post("/v1/webhooks", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Checks one delivery as a subscriber would: Standard Webhooks headers, a signature the
/// reference library verifies, and the envelope.
fn check_delivery(secret: &str, r: &Received, event: &str, store: &str) -> Value {
    let id = r.header("webhook-id");
    assert!(id.starts_with("evt_"), "{id}");
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    assert!(r.header("webhook-signature").starts_with("v1,"));
    assert_eq!(r.header("content-type"), "application/json");
    match verify_with_reference_library(secret, r) {
        Some(payload) => assert_eq!(payload, r.json()),
        None => eprintln!("skipped the reference verifier: CARTGATE_SDK_VENV is not set"),
    }
    let body = r.json();
    assert_eq!(body["id"], id);
    assert_eq!(body["type"], event);
    assert_eq!(body["store_id"], store);
    assert!(body["occurred_at"].is_string());
    body
}

#[tokio::test]
async fn subscriptions_are_managed_per_account() {
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let other = gw.account("b").await;
    let rx = Receiver::start().await;

    let r = c.post("/v1/webhooks", json!({"url": rx.url})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_"));
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["event_types"].as_array().unwrap().len(), 7);
    assert!(r.body["store_ids"].is_null());

    let got = c.ok(&format!("/v1/webhooks/{id}")).await;
    assert!(
        got.get("secret").is_none(),
        "the secret is shown once: {got}"
    );
    let listed = c.ok("/v1/webhooks").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    let patched = c
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"event_types": ["order.created"], "status": "disabled", "description": "ops"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.body["event_types"], json!(["order.created"]));
    assert_eq!(patched.body["status"], "disabled");

    let rotated = c
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    assert!(rotated.body["secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));

    // Bad input.
    for bad in [
        json!({"url": "not a url"}),
        json!({"url": "ftp://example.com/x"}),
        json!({"url": rx.url, "event_types": ["order.shipped"]}),
        json!({"url": rx.url, "event_types": []}),
        json!({"url": rx.url, "store_ids": ["st_00000000000000000000000000000000"]}),
        json!({"url": rx.url, "extra": 1}),
    ] {
        c.post("/v1/webhooks", bad.clone())
            .await
            .problem(400, "validation_failed");
    }
    // Another account sees nothing of it.
    other
        .get(&format!("/v1/webhooks/{id}"))
        .await
        .problem(404, "not_found");
    other
        .send(Method::DELETE, &format!("/v1/webhooks/{id}"), None)
        .await
        .problem(404, "not_found");
    assert_eq!(
        other.ok("/v1/webhooks").await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let del = c
        .send(Method::DELETE, &format!("/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    c.get(&format!("/v1/webhooks/{id}"))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn private_subscriber_urls_are_refused_without_the_switch() {
    let gw = Gateway::start_with(|s| s.allow_private_upstreams = false).await;
    let c = gw.account("a").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://[::ffff:127.0.0.1]/hook",
    ] {
        c.post("/v1/webhooks", json!({ "url": url }))
            .await
            .problem(400, "validation_failed");
    }
}

/// A polled platform (Magento): a change in the shop reaches the subscriber as one signed,
/// unified event whose data is what the API answers for the object.
#[tokio::test]
async fn polled_changes_reach_the_subscriber_signed() {
    let gw = Gateway::start_with(quick).await;
    let shop = start_sandbox("magento", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("magento", &shop.banner.credentials).await;
    assert_eq!(
        c.ok(&format!("/v1/stores/{store}")).await["events"],
        "polled"
    );
    let rx = Receiver::start().await;
    let (_, secret) = subscribe(&c, json!({"url": rx.url, "event_types": ["order.created"]})).await;
    // The first poll sets the store's watermarks; changes after it are events.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let order_id = simulate(&shop, "order.created").await;
    let got = rx
        .wait_for(WAIT, "the order.created event", |g| !g.is_empty())
        .await;
    let body = check_delivery(&secret, &got[0], "order.created", &store);
    assert_eq!(body["data"]["id"], order_id.as_str());
    let order = c.ok(&format!("/v1/stores/{store}/orders/{order_id}")).await;
    assert_eq!(body["data"], order, "data is the unified order");
}

/// Amazon is polled (SP-API pushes nothing the gateway could verify): an order placed and
/// a listing renamed in Seller Central reach the subscriber as unified events; its stores
/// are not polled for customers, which Amazon does not have.
#[tokio::test]
async fn amazon_changes_are_polled() {
    let gw = Gateway::start_with(quick).await;
    let shop = start_sandbox("amazon", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("amazon", &shop.banner.credentials).await;
    assert_eq!(
        c.ok(&format!("/v1/stores/{store}")).await["events"],
        "polled"
    );
    let rx = Receiver::start().await;
    let (_, secret) = subscribe(
        &c,
        json!({"url": rx.url, "event_types": ["order.created", "product.updated"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let order_id = simulate(&shop, "order.created").await;
    let sku = simulate(&shop, "product.updated").await;
    let got = rx
        .wait_for(WAIT, "the order and product events", |g| {
            g.iter().any(|r| r.json()["type"] == "order.created")
                && g.iter().any(|r| r.json()["type"] == "product.updated")
        })
        .await;
    let order_event = got
        .iter()
        .find(|r| r.json()["type"] == "order.created")
        .unwrap();
    let body = check_delivery(&secret, order_event, "order.created", &store);
    assert_eq!(body["data"]["id"], order_id.as_str());
    let order = c.ok(&format!("/v1/stores/{store}/orders/{order_id}")).await;
    assert_eq!(body["data"], order, "data is the unified order");
    let product_event = got
        .iter()
        .find(|r| r.json()["type"] == "product.updated")
        .unwrap();
    let body = check_delivery(&secret, product_event, "product.updated", &store);
    let product = &body["data"];
    assert!(
        product["sku"] == sku.as_str()
            || product["variants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["sku"] == sku.as_str()),
        "{sku}: {product}"
    );
    assert!(
        product["name"].as_str().unwrap().ends_with("(updated)")
            || product["variants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"].as_str().is_some_and(|n| n.ends_with("(updated)")))
    );
}

/// Pushed platforms: the gateway registers the platform's webhooks, the sandbox sends them
/// signed to /inbound, and the subscriber gets the unified event.
#[tokio::test]
async fn pushed_changes_reach_the_subscriber_for_woocommerce_and_shopify() {
    for platform in ["woocommerce", "shopify"] {
        let gw = Gateway::start_public(quick).await;
        let shop = start_sandbox(platform, SandboxOptions::default()).await;
        let c = gw.account("a").await;
        let store = c.connect(platform, &shop.banner.credentials).await;
        assert_eq!(
            c.ok(&format!("/v1/stores/{store}")).await["events"],
            "native"
        );
        let rx = Receiver::start().await;
        let (_, secret) = subscribe(&c, json!({"url": rx.url, "store_ids": [store]})).await;
        let product = simulate(&shop, "product.updated").await;
        let got = rx
            .wait_for(WAIT, "product.updated", |g| {
                g.iter().any(|r| r.json()["type"] == "product.updated")
            })
            .await;
        let r = got
            .iter()
            .find(|r| r.json()["type"] == "product.updated")
            .unwrap();
        let body = check_delivery(&secret, r, "product.updated", &store);
        assert_eq!(body["data"]["id"], product.as_str(), "{platform}");
        // A change made through cartgate is a change too (the platform says so).
        let orders = c.ok(&format!("/v1/stores/{store}/orders?limit=50")).await;
        let order = orders["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["fulfillment_status"] == "unfulfilled" && o["status"] == "processing")
            .expect("an order to ship")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let shipped = c
            .post(
                &format!("/v1/stores/{store}/orders/{order}/shipments"),
                json!({"carrier": "DHL", "tracking_number": "JJD0001"}),
            )
            .await;
        assert_eq!(
            shipped.status,
            StatusCode::CREATED,
            "{platform}: {shipped:?}"
        );
        rx.wait_for(WAIT, "order.updated after a shipment", |g| {
            g.iter().any(|r| {
                r.json()["type"] == "order.updated" && r.json()["data"]["id"] == order.as_str()
            })
        })
        .await;
        gw.stop().await;
    }
}

/// Inbound webhooks whose signature is missing or wrong publish nothing and answer 401; a
/// platform delivery id seen before is dropped.
#[tokio::test]
async fn forged_and_replayed_inbound_webhooks_publish_nothing() {
    let gw = Gateway::start_public(quick).await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    let rx = Receiver::start().await;
    subscribe(&c, json!({"url": rx.url})).await;
    let inbound = format!("{}/inbound/woocommerce/{store}", gw.url);
    let body = json!({"id": 1, "name": "x"}).to_string();
    for sig in [None, Some("AAAA"), Some("not base64!")] {
        let mut req = http()
            .post(&inbound)
            .header("content-type", "application/json")
            .header("x-wc-webhook-topic", "product.updated")
            .header("x-wc-webhook-delivery-id", "42")
            .body(body.clone());
        if let Some(s) = sig {
            req = req.header("x-wc-webhook-signature", s);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{sig:?}");
    }
    // Unknown store, or a store of another platform: 404, nothing published.
    let r = http()
        .post(format!("{}/inbound/shopify/{store}", gw.url))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        rx.received()
            .iter()
            .all(|r| r.json()["type"] != "product.updated"),
        "nothing published from forged webhooks"
    );
}

/// A receiver that fails gets the same event again (same webhook-id) on the schedule; the
/// delivery shows every attempt; a manual retry sends it again at once.
#[tokio::test]
async fn failed_deliveries_are_retried_and_visible() {
    let gw = Gateway::start_with(quick).await;
    let shop = start_sandbox("magento", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    c.connect("magento", &shop.banner.credentials).await;
    let rx = Receiver::start().await;
    rx.answer(&[500, 302]);
    let (wh, _) = subscribe(
        &c,
        json!({"url": rx.url, "event_types": ["customer.created"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    simulate(&shop, "customer.created").await;
    let got = rx.wait_for(WAIT, "three attempts", |g| g.len() >= 3).await;
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one event, one webhook-id: {ids:?}"
    );

    let mut delivery = Value::Null;
    for _ in 0..100 {
        let list = c.ok(&format!("/v1/webhooks/{wh}/deliveries")).await;
        delivery = list["data"][0].clone();
        if delivery["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{delivery}");
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(
        attempts[1]["status_code"], 302,
        "redirects are not followed"
    );
    assert_eq!(attempts[2]["status_code"], 200);
    assert!(delivery["id"].as_str().unwrap().starts_with("dlv_"));
    let failed = c
        .ok(&format!("/v1/webhooks/{wh}/deliveries?status=failed"))
        .await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 0);

    let did = delivery["id"].as_str().unwrap();
    let retried = c
        .post(
            &format!("/v1/webhooks/{wh}/deliveries/{did}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{retried:?}");
    rx.wait_for(WAIT, "the manual retry", |g| g.len() >= 4)
        .await;
    let other = gw.account("b").await;
    other
        .post(
            &format!("/v1/webhooks/{wh}/deliveries/{did}/retry"),
            json!({}),
        )
        .await
        .problem(404, "not_found");
}

/// `cartgate serve` on the embedded store, killed with SIGKILL while deliveries are queued
/// and in flight (none has succeeded yet): after a restart every event is still delivered
/// (same `webhook-id`s; duplicates only as at-least-once allows).
#[tokio::test]
async fn the_embedded_store_loses_no_event_to_a_kill_9() {
    use crate::cli::{bin, Proc};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let start = || {
        Proc(
            bin()
                .arg("serve")
                .env("CARTGATE_LISTEN", format!("127.0.0.1:{port}"))
                .env("CARTGATE_DATA_DIR", dir.path())
                .env("CARTGATE_ADMIN_TOKEN", ADMIN_TOKEN)
                .env("CARTGATE_ALLOW_PRIVATE_UPSTREAMS", "true")
                .env("CARTGATE_PUBLIC_URL", &base)
                .env("CARTGATE_WEBHOOK_TIMEOUT_SECS", "1")
                .env("CARTGATE_WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1,1,1,1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let ready = || async {
        for _ in 0..100 {
            if http().get(format!("{base}/healthz")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the gateway did not start");
    };
    let mut serve = start();
    ready().await;
    let c = create_account(&base, "k").await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    let rx = Receiver::start().await;
    // Until the kill no attempt succeeds, and slow answers keep some in flight.
    rx.answer(&[500; 1000]);
    rx.delay(Some(Duration::from_millis(300)));
    let (wh, _) = subscribe(
        &c,
        json!({"url": rx.url, "event_types": ["product.updated"], "store_ids": [store]}),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(simulate(&shop, "product.updated").await);
    }
    // Every event is queued (the platform's webhooks all arrived), some are in flight.
    for _ in 0..200 {
        let queued = c
            .ok(&format!("/v1/webhooks/{wh}/deliveries?limit=50"))
            .await;
        if queued["data"].as_array().unwrap().len() >= ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rx.wait_for(WAIT, "failed first attempts", |g| g.len() >= ids.len())
        .await;
    // SIGKILL: no graceful anything.
    let _ = serve.0.kill();
    let _ = serve.0.wait();
    drop(serve);
    assert!(rx.received().iter().all(|r| r.status == 500));
    // From now on the receiver accepts everything.
    rx.clear_answers();
    rx.delay(None);
    let _serve = start();
    ready().await;
    let objects = rx.wait_delivered(ids.len(), Duration::from_secs(40)).await;
    for id in &ids {
        assert!(objects.contains(id), "product {id} was delivered");
    }
}

/// A platform webhook delivered twice (the platform retrying, or a replay) is published
/// once; a subscriber that cannot be reached gets the event once it is back.
#[tokio::test]
async fn replayed_inbound_webhooks_are_dropped_and_unreachable_receivers_retried() {
    let gw = Gateway::start_public(quick).await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    // A subscriber URL where nothing listens yet.
    let port = free_port();
    let (wh, _) = subscribe(
        &c,
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "event_types": ["customer.updated"]}),
    )
    .await;
    let record = gw.state.storage.get_store(&store).await.unwrap().unwrap();
    let secret = gw.state.native_webhook_secret(&record).unwrap().unwrap();
    let body = json!({"id": 7001, "email": "replay@example.com", "first_name": "Re",
        "last_name": "Play", "billing": {}, "shipping": {}})
    .to_string();
    let sig = cartgate_connector::webhook::hmac_sha256_base64(secret.as_bytes(), body.as_bytes());
    for _ in 0..3 {
        let r = http()
            .post(format!("{}/inbound/woocommerce/{store}", gw.url))
            .header("content-type", "application/json")
            .header("x-wc-webhook-topic", "customer.updated")
            .header("x-wc-webhook-resource", "customer")
            .header("x-wc-webhook-event", "updated")
            .header("x-wc-webhook-delivery-id", "replayed-1")
            .header("x-wc-webhook-signature", &sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Attempts fail while nothing listens: "could not connect", retried.
    let mut delivery = Value::Null;
    for _ in 0..100 {
        let list = c.ok(&format!("/v1/webhooks/{wh}/deliveries")).await;
        assert!(
            list["data"].as_array().unwrap().len() <= 1,
            "one event: {list}"
        );
        delivery = list["data"][0].clone();
        if delivery["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = &delivery["attempts"][0];
    assert!(first["status_code"].is_null(), "{delivery}");
    assert!(
        first["error"].as_str().unwrap().contains("connect"),
        "{delivery}"
    );
    // The receiver comes up on that port: the retry gets through.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |b: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&b).unwrap());
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    for _ in 0..200 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one delivery of one event: {got:?}");
    assert_eq!(got[0]["data"]["email"], "replay@example.com");
}

/// A subscription whose attempts have all failed for five days is disabled, with the reason
/// in the API; `PATCH {"status": "active"}` turns it back on.
#[tokio::test]
async fn a_subscription_failing_for_five_days_is_disabled() {
    let gw = Gateway::start_public(quick).await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    c.connect("woocommerce", &shop.banner.credentials).await;
    let rx = Receiver::start().await;
    rx.answer(&[500; 100]);
    let (wh, _) = subscribe(
        &c,
        json!({"url": rx.url, "event_types": ["product.updated"]}),
    )
    .await;
    // It has been failing since six days ago (as the gateway records it).
    let mut sub = gw
        .state
        .storage
        .get_subscription(&wh)
        .await
        .unwrap()
        .unwrap();
    sub.failing_since = Some(chrono::Utc::now() - chrono::Duration::days(6));
    assert_eq!(
        gw.state.storage.update_subscription(&sub).await.unwrap(),
        cartgate::storage::CasOutcome::Written
    );
    simulate(&shop, "product.updated").await;
    let mut got = Value::Null;
    for _ in 0..200 {
        got = c.ok(&format!("/v1/webhooks/{wh}")).await;
        if got["status"] == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got["status"], "disabled", "{got}");
    assert!(
        got["disabled_reason"].as_str().unwrap().contains("failed"),
        "{got}"
    );
    let on = c
        .patch(&format!("/v1/webhooks/{wh}"), json!({"status": "active"}))
        .await;
    assert_eq!(on.body["status"], "active", "{on:?}");
    assert!(on.body["disabled_reason"].is_null());
}

/// After `rotate-secret` a delivery is signed with the new and the previous secret (both
/// verify with the reference library), so receivers can switch without missing an event.
#[tokio::test]
async fn a_rotated_secret_signs_beside_the_previous_one() {
    let gw = Gateway::start_public(quick).await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    let rx = Receiver::start().await;
    let (wh, old) = subscribe(
        &c,
        json!({"url": rx.url, "event_types": ["product.updated"]}),
    )
    .await;
    let rotated = c
        .post(&format!("/v1/webhooks/{wh}/rotate-secret"), json!({}))
        .await;
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    simulate(&shop, "product.updated").await;
    let got = rx.wait_for(WAIT, "the event", |g| !g.is_empty()).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    check_delivery(&new, &got[0], "product.updated", &store);
    check_delivery(&old, &got[0], "product.updated", &store);
}

/// A subscriber that answers slowly does not hold up another subscription's deliveries,
/// even with more of its deliveries due than an instance sends at once (256).
#[tokio::test]
async fn a_slow_subscriber_does_not_hold_up_the_others() {
    let gw = Gateway::start_public(|s| {
        quick(s);
        s.webhook_timeout_secs = 10;
    })
    .await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    c.connect("woocommerce", &shop.banner.credentials).await;
    let slow = Receiver::start().await;
    slow.delay(Some(Duration::from_secs(6)));
    let fast = Receiver::start().await;
    subscribe(
        &c,
        json!({"url": slow.url, "event_types": ["product.updated"]}),
    )
    .await;
    subscribe(
        &c,
        json!({"url": fast.url, "event_types": ["product.updated"]}),
    )
    .await;
    let started = std::time::Instant::now();
    for _ in 0..300 {
        simulate(&shop, "product.updated").await;
    }
    fast.wait_delivered(300, WAIT).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the fast subscriber waited for the slow one: {:?}",
        started.elapsed()
    );
}

/// Disconnecting a store removes the webhooks the gateway registered on the platform.
#[tokio::test]
async fn disconnecting_removes_the_platforms_webhooks() {
    let gw = Gateway::start_public(quick).await;
    let shop = start_sandbox("woocommerce", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    let creds = shop.banner.credentials.clone();
    let registered = || async {
        let hooks: Value = http()
            .get(format!(
                "{}/wp-json/wc/v3/webhooks",
                shop.banner.base_url.trim_end_matches('/')
            ))
            .basic_auth(
                creds["consumer_key"].as_str().unwrap(),
                creds["consumer_secret"].as_str(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        hooks.as_array().unwrap().len()
    };
    assert_eq!(registered().await, 7, "one per event type");
    let del = c
        .send(Method::DELETE, &format!("/v1/stores/{store}"), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(registered().await, 0);
}

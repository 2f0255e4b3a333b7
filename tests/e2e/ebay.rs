//! eBay through the gateway, beyond the shared suites: the app's credentials from the
//! gateway's settings, Notification API registration with eBay's `challenge_code`
//! handshake at /inbound, ECDSA-signed pushes (one event per new order, forged ones
//! refused), order updates polled beside the pushes, and polling when pushes cannot be had.

use std::time::Duration;

use cartgate_connector::sandbox::SandboxOptions;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;
use crate::platforms::start_sandbox;
use crate::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(20);

fn quick(s: &mut cartgate::Settings) {
    s.poll_interval_secs = 1;
    s.webhook_retry_schedule = "1,1,1".into();
    s.webhook_timeout_secs = 2;
}

async fn simulate(base: &str, event: &str) -> String {
    let r = http()
        .post(format!("{}/__sandbox/simulate", base.trim_end_matches('/')))
        .json(&json!({ "event": event }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "simulate {event}: {}", r.status());
    let v: Value = r.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

async fn pushes(base: &str) -> Vec<Value> {
    let v: Value = http()
        .get(format!("{}/__sandbox/pushes", base.trim_end_matches('/')))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .or_else(|| v["pushes"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn new_orders_are_pushed_once_and_updates_polled() {
    let gw = Gateway::start_public(|s| {
        quick(s);
        s.ebay_alert_email = Some("ops@example.com".into());
    })
    .await;
    let shop = start_sandbox("ebay", SandboxOptions::default()).await;
    let base = shop.banner.base_url.clone();
    let c = gw.account("a").await;
    let store = c.connect("ebay", &shop.banner.credentials).await;
    assert_eq!(
        c.ok(&format!("/v1/stores/{store}")).await["events"],
        "native",
        "registered: the sandbox validated /inbound with its challenge first"
    );
    let rx = Receiver::start().await;
    let r = c
        .post("/v1/webhooks", json!({"url": rx.url, "store_ids": [store]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    // The first poll (of order updates) sets its watermark.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let order_id = simulate(&base, "order.created").await;
    let got = rx
        .wait_for(WAIT, "order.created", |g| {
            g.iter().any(|r| r.json()["type"] == "order.created")
        })
        .await;
    let created: Vec<&crate::receiver::Received> = got
        .iter()
        .filter(|r| r.json()["type"] == "order.created")
        .collect();
    assert_eq!(created[0].json()["data"]["id"], order_id.as_str());
    let order = c.ok(&format!("/v1/stores/{store}/orders/{order_id}")).await;
    assert_eq!(
        created[0].json()["data"],
        order,
        "data is the unified order"
    );
    let lines = order["line_items"].as_array().unwrap().len();
    let pushed = pushes(&base)
        .await
        .into_iter()
        .filter(|p| p["topic"] == "ORDER_CONFIRMATION")
        .count();
    assert_eq!(pushed, lines, "eBay pushes one message per line item");
    // Several pushes, one event (the order's delivery id), and no second one from polling.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        rx.received()
            .iter()
            .filter(|r| r.json()["type"] == "order.created")
            .count(),
        1
    );

    // A shipment made through cartgate is an update, found by lastmodifieddate.
    let r = c
        .post(
            &format!("/v1/stores/{store}/orders/{order_id}/shipments"),
            json!({"carrier": "UPS", "tracking_number": "1ZE2E0001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    rx.wait_for(WAIT, "order.updated after the shipment", |g| {
        g.iter().any(|r| {
            r.json()["type"] == "order.updated" && r.json()["data"]["id"] == order_id.as_str()
        })
    })
    .await;

    // Disconnecting removes the destination and its subscription.
    let r = c
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/stores/{store}"),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{r:?}");
}

#[tokio::test]
async fn forged_pushes_are_refused_and_the_challenge_is_answered() {
    let gw = Gateway::start_public(|s| {
        quick(s);
        s.ebay_alert_email = Some("ops@example.com".into());
    })
    .await;
    let shop = start_sandbox("ebay", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("ebay", &shop.banner.credentials).await;
    let rx = Receiver::start().await;
    c.post("/v1/webhooks", json!({"url": rx.url})).await;
    let inbound = format!("{}/inbound/ebay/{store}", gw.url);

    // eBay's endpoint validation: hex SHA-256 of code, verification token, endpoint.
    let endpoint = format!("{}/inbound/ebay/{store}", gw.url);
    let secret = shop.banner.credentials["client_secret"].as_str().unwrap();
    let token = cartgate_ebay::inbound::verification_token(secret, &endpoint);
    let r = http()
        .get(format!("{inbound}?challenge_code=abc123"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["challengeResponse"],
        cartgate_ebay::inbound::challenge_response("abc123", &token, &endpoint)
    );
    let r = http().get(&inbound).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = http()
        .get(format!(
            "{}/inbound/woocommerce/{store}?challenge_code=x",
            gw.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A push signed by the sandbox's key for another body, no signature, garbage, a key
    // eBay does not know: 401, nothing published.
    let body = json!({"metadata": {"topic": "ORDER_CONFIRMATION", "schemaVersion": "1.0", "deprecated": false},
        "notification": {"notificationId": "n-forged", "eventDate": "2025-06-01T12:00:00.000Z",
        "publishDate": "2025-06-01T12:00:00.000Z", "publishAttemptCount": 1, "data": {"orderId": "01-00000-00001"}}})
    .to_string();
    let kid = {
        let v: Value = http()
            .get(format!(
                "{}/__sandbox/settings",
                shop.banner.base_url.trim_end_matches('/')
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["signing_key_id"].as_str().unwrap().to_owned()
    };
    use base64::Engine as _;
    let header = |kid: &str, sig: &str| {
        base64::engine::general_purpose::STANDARD.encode(
            json!({"alg": "ecdsa", "kid": kid, "signature": sig, "digest": "SHA1"}).to_string(),
        )
    };
    let wrong_sig = "MEUCIQDw1t3p4t2p2v8lJm3rYc0Gq0YyHkIYyqg3x7d4A5i9nAIgSWmR7H6m0l2uDmP8t6h3pP0s1j6X6V4m2B6cQ8pXf3s=";
    for h in [
        None,
        Some("not base64!".to_owned()),
        Some(header(&kid, wrong_sig)),
        Some(header("00000000-0000-0000-0000-000000000000", wrong_sig)),
    ] {
        let mut req = http()
            .post(&inbound)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(h) = &h {
            req = req.header("x-ebay-signature", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{h:?}");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        rx.received()
            .iter()
            .all(|r| r.json()["type"] != "order.created"),
        "nothing published from forged pushes"
    );
}

#[tokio::test]
async fn without_an_alert_email_new_orders_are_polled() {
    let gw = Gateway::start_public(quick).await;
    let shop = start_sandbox("ebay", SandboxOptions::default()).await;
    let c = gw.account("a").await;
    let store = c.connect("ebay", &shop.banner.credentials).await;
    assert_eq!(
        c.ok(&format!("/v1/stores/{store}")).await["events"],
        "polled",
        "eBay creates no destination for an app without notification config"
    );
    let rx = Receiver::start().await;
    c.post(
        "/v1/webhooks",
        json!({"url": rx.url, "event_types": ["order.created"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let order_id = simulate(&shop.banner.base_url, "order.created").await;
    let got = rx
        .wait_for(WAIT, "the polled order.created", |g| !g.is_empty())
        .await;
    assert_eq!(got[0].json()["data"]["id"], order_id.as_str());
}

#[tokio::test]
async fn the_app_credentials_come_from_the_gateway_settings() {
    let shop = start_sandbox("ebay", SandboxOptions::default()).await;
    let creds = shop.banner.credentials.clone();
    let mut bare = creds.clone();
    let obj = bare.as_object_mut().unwrap();
    obj.remove("client_id");
    obj.remove("client_secret");

    // Without them anywhere: refused before any call.
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    c.post(
        "/v1/stores",
        json!({"platform": "ebay", "name": "no app", "credentials": bare}),
    )
    .await
    .problem(400, "validation_failed");
    gw.stop().await;

    let gw = Gateway::start_with(|s| {
        s.ebay_client_id = creds["client_id"].as_str().map(str::to_owned);
        s.ebay_client_secret = creds["client_secret"].as_str().map(str::to_owned);
    })
    .await;
    let c = gw.account("a").await;
    let store = c.connect("ebay", &bare).await;
    let info = c.ok(&format!("/v1/stores/{store}/info")).await;
    assert!(info["name"].is_string(), "{info}");
    // The store's own pair wins over the gateway's.
    let mut wrong = bare.clone();
    wrong["client_id"] = json!("someone-else");
    wrong["client_secret"] = json!("not-theirs");
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "ebay", "name": "wrong app", "credentials": wrong}),
        )
        .await;
    assert!(
        r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{r:?}"
    );
}

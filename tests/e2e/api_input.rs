//! Bad input: every one answers problem+json with a stable code, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn authentication_errors() {
    let w = World::new().await;
    let url = format!("{}/v1/stores", w.gw.url);
    let r = http().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    let r = http()
        .get(&url)
        .bearer_auth("cg_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http()
        .get(&url)
        .header("x-api-key", &w.client.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "X-API-Key is accepted");
    let r = http()
        .get(&url)
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_bodies() {
    let w = World::new().await;
    let c = &w.client;
    let url = format!("{}/v1/stores", w.gw.url);
    let r = http()
        .post(&url)
        .bearer_auth(&c.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "validation_failed"
    );
    c.post(
        "/v1/stores",
        json!({"platform": "woocommerce", "name": "x", "credentials": {}, "extra": 1}),
    )
    .await
    .problem(400, "validation_failed");
    c.post(&w.path("/products"), json!({"name": "x", "price": 12.5}))
        .await
        .problem(400, "validation_failed");
    c.post(&w.path("/products"), json!({"name": "x", "price": "-1"}))
        .await
        .problem(400, "validation_failed");
    c.post(&w.path("/orders/1/shipments"), json!({"carrier": "UPS"}))
        .await
        .problem(400, "validation_failed");
    c.patch(&w.path("/products/1"), json!({}))
        .await
        .problem(400, "validation_failed");
}

#[tokio::test]
async fn limits_cursors_and_filters() {
    let w = World::new().await;
    let c = &w.client;
    for q in [
        "limit=0",
        "limit=1000",
        "limit=abc",
        "created_from=yesterday",
        "status=shipped",
        "include=everything",
        "bogus=1",
    ] {
        c.get(&w.path(&format!("/orders?{q}")))
            .await
            .problem(400, "validation_failed");
    }
    c.get(&w.path("/orders?cursor=garbage"))
        .await
        .problem(400, "invalid_cursor");
    let page = c.ok(&w.path("/orders?limit=2")).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    // Flip one character of the payload: the signature no longer matches.
    let mut tampered = cursor.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    c.get(&w.path(&format!("/orders?cursor={tampered}")))
        .await
        .problem(400, "invalid_cursor");
    // A cursor is bound to its list, store and filters.
    c.get(&w.path(&format!("/products?cursor={cursor}")))
        .await
        .problem(400, "invalid_cursor");
    c.get(&w.path(&format!("/orders?cursor={cursor}&status=completed")))
        .await
        .problem(400, "invalid_cursor");
    c.ok(&w.path(&format!("/orders?cursor={cursor}"))).await;
    // A filter the platform cannot apply is refused, never ignored.
    c.get(&w.path("/customers?created_from=2024-01-01T00:00:00Z"))
        .await
        .problem(501, "unsupported_operation");
}

#[tokio::test]
async fn hostile_ids_and_routes() {
    let w = World::new().await;
    let c = &w.client;
    for id in ["..", "%2e%2e", "a%2Fb", "1%3Fx=1", "%25"] {
        let r = c.get(&w.path(&format!("/orders/{id}"))).await;
        assert!(r.status.is_client_error(), "{id}: {r:?}");
        assert!(r.body["code"].is_string(), "{id}: {r:?}");
    }
    c.get(&w.path("/orders/999999"))
        .await
        .problem(404, "not_found");
    c.get("/v1/nothing-here").await.problem(404, "not_found");
    c.send(Method::PUT, "/v1/stores", None)
        .await
        .problem(405, "method_not_allowed");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let w = World::new().await;
    let big = "x".repeat(12 * 1024 * 1024);
    let r = http()
        .post(format!("{}{}", w.gw.url, w.path("/products")))
        .bearer_auth(&w.client.key)
        .header("content-type", "application/json")
        .body(format!("{{\"name\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn rate_limit_per_key_with_headers() {
    let gw = Gateway::start_with(|s| {
        s.rate_limit_per_second = 1;
        s.rate_limit_burst = 3;
    })
    .await;
    let c = gw.account("a").await;
    let other = gw.account("b").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = c.get("/v1/stores").await;
        assert!(r.headers.contains_key("ratelimit-limit"), "{r:?}");
        assert!(r.headers.contains_key("ratelimit-remaining"));
        assert!(r.headers.contains_key("ratelimit-reset"));
        statuses.push(r.status.as_u16());
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            r.problem(429, "rate_limited");
            assert!(
                r.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert_eq!(statuses[4], 429, "{statuses:?}");
    // Another key has its own budget.
    other.ok("/v1/stores").await;
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let w = World::new().await;
    let r = http()
        .get(format!("{}/v1/stores/st_nope", w.gw.url))
        .bearer_auth(&w.client.key)
        .header("x-request-id", "my-trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "my-trace-123");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], "my-trace-123");
    let r = http()
        .get(format!("{}/healthz", w.gw.url))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
}

#[tokio::test]
async fn health_readiness_metrics_spec_and_docs() {
    let w = World::new().await;
    w.client.ok(&w.path("/orders?limit=1")).await;
    let get = |p: &str| http().get(format!("{}{p}", w.gw.url)).send();
    let r = get("/healthz").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("cartgate_requests_total"), "{metrics}");
    assert!(
        metrics.contains("/v1/stores/{store_id}/orders"),
        "metrics are labelled by route template"
    );
    let spec: serde_json::Value = get("/openapi.json").await.unwrap().json().await.unwrap();
    assert_eq!(
        spec,
        serde_json::to_value(cartgate::api::openapi()).unwrap()
    );
    // Swagger UI is served from the binary (works offline).
    let r = get("/docs/").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("swagger"));
    let r = get("/docs/swagger-ui.css").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

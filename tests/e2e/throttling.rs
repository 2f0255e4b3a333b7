//! Shopify's cost bucket through the gateway: a client reading 500 orders page by page sees
//! no error, and the gateway keeps close to the fastest pace the bucket allows.

use std::time::Instant;

use cartgate_connector::sandbox::SandboxOptions;
use cartgate_shopify::sandbox::ThrottleConfig;
use serde_json::{json, Value};

use crate::harness::*;

/// The bound: a query must find its requested cost in the bucket (size `B`, refilled at `R`)
/// and is charged its actual cost, so the last request `k` cannot go before
/// `ideal = max(0, Σ_{i<k} actual_i + requested_k − B) / R`.
fn ideal_secs(charges: &[(f64, f64)], bucket: f64, rate: f64) -> f64 {
    let (last_requested, _) = charges.last().copied().unwrap_or_default();
    let before: f64 = charges[..charges.len().saturating_sub(1)]
        .iter()
        .map(|c| c.1)
        .sum();
    (before + last_requested - bucket).max(0.0) / rate
}

#[tokio::test]
async fn reading_500_shopify_orders_keeps_to_the_cost_bucket() {
    // Shopify's Standard bucket is 2000 points at 100/s; the same shape, faster, keeps the
    // test short (the ratio does not depend on the scale).
    let throttle = ThrottleConfig {
        enabled: true,
        maximum_available: 1000.0,
        restore_rate: 3000.0,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let opts = SandboxOptions {
        orders: 500,
        ..Default::default()
    };
    let sandbox = cartgate_shopify::sandbox::start_with(listener, opts, throttle)
        .await
        .unwrap();
    let gw = Gateway::start().await;
    let client = gw.account("busy").await;
    let store = client.connect("shopify", &sandbox.banner.credentials).await;
    let control = format!("{}/__sandbox/throttle", sandbox.banner.base_url);
    // A full bucket and an empty charge history for the timed walk.
    let r = http().put(&control).json(&json!({})).send().await.unwrap();
    assert!(r.status().is_success());

    let started = Instant::now();
    // `all` asserts 200 on every page: no throttling reaches the client.
    let orders = client
        .all(&format!("/v1/stores/{store}/orders?limit=50"))
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(orders.len(), 500);

    let t: Value = http()
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let charges: Vec<(f64, f64)> = t["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let ideal = ideal_secs(&charges, throttle.maximum_available, throttle.restore_rate);
    let ratio = elapsed / ideal;
    println!(
        "shopify through the gateway: 500 orders in {} upstream queries ({} THROTTLED answers), \
         bucket {} @ {}/s: elapsed {elapsed:.2}s, ideal {ideal:.2}s, ratio {ratio:.3}",
        charges.len(),
        t["throttled"],
        throttle.maximum_available,
        throttle.restore_rate
    );
    assert!(ideal > 1.0, "the bucket binds: ideal {ideal:.2}s");
    assert!(
        elapsed >= ideal * 0.95,
        "faster than the bucket allows? {elapsed:.2}s < {ideal:.2}s"
    );
    assert!(
        ratio <= 1.2,
        "{elapsed:.2}s is over 1.2 × the ideal {ideal:.2}s"
    );
}

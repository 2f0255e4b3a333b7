//! Upstream faults injected by the sandbox: reads survive transient faults through retries;
//! a lasting outage answers upstream_unavailable quickly instead of hanging.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn transient_faults_are_retried() {
    let w = World::new().await;
    for kind in ["server_error", "rate_limited", "truncated"] {
        w.woo.faults(json!({"kind": kind, "count": 2})).await;
        let r = w.client.get(&w.path("/orders?limit=5")).await;
        assert_eq!(r.status.as_u16(), 200, "{kind}: {r:?}");
        assert_eq!(r.body["data"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn a_lasting_outage_fails_fast() {
    let gw = Gateway::start_with(|s| s.upstream_max_retry_wait_secs = 2).await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "server_error"})).await;
    let t = Instant::now();
    c.get(&format!("/v1/stores/{store}/orders"))
        .await
        .problem(503, "upstream_unavailable");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_platform_times_out() {
    let gw = Gateway::start_with(|s| {
        s.upstream_timeout_secs = 1;
        s.upstream_max_retry_wait_secs = 1;
    })
    .await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "timeout"})).await;
    let t = Instant::now();
    c.get(&format!("/v1/stores/{store}/orders/1"))
        .await
        .problem(503, "upstream_unavailable");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
}

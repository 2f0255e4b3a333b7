//! The request log: own calls only, route templates without query values, retention.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::harness::*;
use cartgate::storage::LogRecord;

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
    gw.state.storage.append_logs(&[old]).await.unwrap();
    // Restart: the purger runs at start and then hourly.
    let dir = gw.stop().await;
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
}

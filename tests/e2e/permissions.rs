//! Credentials the platform accepts but that may not do something (a read-only WooCommerce
//! key, a Shopify token without write scopes): 403 `store_permission_denied`, and the store
//! stays active. Only refused credentials mark a store `auth_failed`.

use serde_json::{json, Value};

use crate::harness::*;
use crate::platforms::PlatformWorld;

async fn control(w: &PlatformWorld, path: &str, body: Value) {
    let url = format!("{}{path}", w.sandbox.banner.base_url.trim_end_matches('/'));
    let r = http().put(url).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

async fn read_only_credentials_cannot_write(
    platform: &str,
    control_path: &str,
    read_only: Value,
    read_write: Value,
) {
    let w = PlatformWorld::new(platform).await;
    let products = w.client.ok(&w.path("/products?limit=1")).await;
    let id = products["data"][0]["id"].as_str().unwrap().to_owned();
    let product = w.path(&format!("/products/{id}"));

    control(&w, control_path, read_only).await;
    let r = w.client.patch(&product, json!({"name": "Renamed"})).await;
    r.problem(403, "store_permission_denied");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("may not do this"), "{detail}");
    // Reads still work, and the store was not marked as having bad credentials.
    w.client.ok(&w.path("/orders?limit=1")).await;
    assert_eq!(w.client.ok(&w.path("")).await["status"], "active");
    assert_ne!(
        w.client.ok(&product).await["name"],
        "Renamed",
        "nothing was written"
    );

    control(&w, control_path, read_write).await;
    let r = w.client.patch(&product, json!({"name": "Renamed"})).await;
    assert!(r.status.is_success(), "{r:?}");
    assert_eq!(w.client.ok(&product).await["name"], "Renamed");
}

#[tokio::test]
async fn a_read_only_woocommerce_key_gets_store_permission_denied() {
    read_only_credentials_cannot_write(
        "woocommerce",
        "/__sandbox/key",
        json!({"permissions": "read"}),
        json!({"permissions": "read_write"}),
    )
    .await;
}

#[tokio::test]
async fn a_shopify_token_without_write_scopes_gets_store_permission_denied() {
    read_only_credentials_cannot_write(
        "shopify",
        "/__sandbox/access",
        json!({"read_only": true}),
        json!({"read_only": false}),
    )
    .await;
}

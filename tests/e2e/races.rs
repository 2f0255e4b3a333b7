//! Two things at once must not undo each other: a read that ends in `store_auth_failed`
//! while the user deletes the store or replaces its credentials records the status only on
//! the record it was computed from. Each race is made deterministic by holding the read at
//! the sandbox's door (`/__sandbox/hold`) until the other change has landed; both storage
//! backends.

use cartgate::crypto::MasterKey;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;
use crate::redis_server::RedisServer;

/// A gateway on the embedded store, or on a throwaway Redis.
async fn gateway(redis: Option<&RedisServer>) -> Gateway {
    match redis {
        None => Gateway::start().await,
        Some(r) => {
            let url = r.url();
            Gateway::start_with(move |s| {
                s.redis_url = Some(url);
                s.master_key = Some(MasterKey::generate().to_base64());
            })
            .await
        }
    }
}

/// Starts a read of the store that the sandbox holds; answers its pending response.
async fn held_read(c: &Client, woo: &WooSandbox, store: &str) -> tokio::task::JoinHandle<Resp> {
    woo.hold().await;
    let (c2, path) = (c.clone(), format!("/v1/stores/{store}/customers/1"));
    let read = tokio::spawn(async move { c2.get(&path).await });
    woo.wait_held(1).await;
    read
}

/// The merchant deletes the key, then the held read goes on and is refused.
async fn refuse_and_release(woo: &WooSandbox) {
    woo.control(Method::PUT, "key", Some(json!({"revoked": true})))
        .await;
    woo.release().await;
}

async fn delete_during_a_failing_read(redis: Option<&RedisServer>) {
    let gw = gateway(redis).await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;

    let read = held_read(&c, &woo, &store).await;
    let del = c
        .send(Method::DELETE, &format!("/v1/stores/{store}"), None)
        .await;
    assert_eq!(del.status.as_u16(), 204, "{del:?}");
    refuse_and_release(&woo).await;
    read.await.unwrap().problem(422, "store_auth_failed");

    // The store stays deleted: not listed, not readable, gone from storage.
    c.get(&format!("/v1/stores/{store}"))
        .await
        .problem(404, "not_found");
    let list = c.ok("/v1/stores").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");
    assert!(gw.state.storage.get_store(&store).await.unwrap().is_none());
}

async fn new_credentials_during_a_failing_read(redis: Option<&RedisServer>) {
    let gw = gateway(redis).await;
    let old = WooSandbox::start().await;
    let new = WooSandbox::start_with(cartgate_connector::sandbox::SandboxOptions {
        seed: 7,
        ..Default::default()
    })
    .await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &old.credentials()).await;

    let read = held_read(&c, &old, &store).await;
    let patched = c
        .patch(
            &format!("/v1/stores/{store}"),
            json!({"credentials": new.credentials()}),
        )
        .await;
    assert_eq!(patched.status.as_u16(), 200, "{patched:?}");
    refuse_and_release(&old).await;
    read.await.unwrap().problem(422, "store_auth_failed");

    // The new credentials stand: the store is active and reads the new shop.
    let s = c.ok(&format!("/v1/stores/{store}")).await;
    assert_eq!(s["status"], "active", "{s}");
    let before = new.control(Method::GET, "stats", None).await["requests"]
        .as_u64()
        .unwrap();
    c.ok(&format!("/v1/stores/{store}/customers/1")).await;
    let after = new.control(Method::GET, "stats", None).await["requests"]
        .as_u64()
        .unwrap();
    assert!(after > before, "the read went to the new shop");
}

#[tokio::test]
async fn a_failing_read_never_brings_back_a_deleted_store() {
    delete_during_a_failing_read(None).await;
}

#[tokio::test]
async fn a_failing_read_never_brings_back_a_deleted_store_on_redis() {
    let redis = RedisServer::start();
    delete_during_a_failing_read(Some(&redis)).await;
}

#[tokio::test]
async fn a_failing_read_never_reverts_new_credentials() {
    new_credentials_during_a_failing_read(None).await;
}

#[tokio::test]
async fn a_failing_read_never_reverts_new_credentials_on_redis() {
    let redis = RedisServer::start();
    new_credentials_during_a_failing_read(Some(&redis)).await;
}

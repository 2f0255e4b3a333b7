//! `Idempotency-Key` on /v1 writes, on both storage backends: retries answer what the first
//! call answered (read again) without writing twice; another request with the key is a
//! conflict; a call while the first runs is refused; keys are per account and expire.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;
use crate::redis_server::RedisServer;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[derive(Clone, Copy)]
pub enum Backend {
    Embedded,
    Redis,
}

/// A world (gateway, WooCommerce sandbox, account, store) on `backend`; the Redis, when
/// there is one, lives as long as the returned value.
async fn world_on(
    backend: Backend,
    tweak: impl FnOnce(&mut cartgate::Settings),
) -> (World, Option<RedisServer>) {
    let redis = match backend {
        Backend::Embedded => None,
        Backend::Redis => Some(RedisServer::start()),
    };
    let url = redis.as_ref().map(RedisServer::url);
    let gw = Gateway::start_with(|s| {
        if let Some(url) = url {
            s.redis_url = Some(url);
            s.master_key = Some(MASTER_KEY.into());
        }
        tweak(s);
    })
    .await;
    let woo = WooSandbox::start().await;
    let client = gw.account("acme").await;
    let store = client.connect("woocommerce", &woo.credentials()).await;
    (
        World {
            gw,
            woo,
            client,
            store,
        },
        redis,
    )
}

/// A call with an `Idempotency-Key`.
async fn keyed(c: &Client, method: Method, path: &str, key: &str, body: Value) -> Resp {
    let resp = http()
        .request(method, format!("{}{path}", c.base))
        .bearer_auth(&c.key)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn replayed(r: &Resp) -> bool {
    r.headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// The order's trackings as the sandbox holds them (not through the gateway).
async fn trackings(w: &World, order: &str) -> usize {
    let c = w.woo.credentials();
    let v: Value = http()
        .get(format!(
            "{}/wp-json/wc-shipment-tracking/v3/orders/{order}/shipment-trackings",
            w.woo.base()
        ))
        .basic_auth(
            c["consumer_key"].as_str().unwrap(),
            c["consumer_secret"].as_str(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array().expect("a list of trackings").len()
}

async fn processing_orders(w: &World) -> Vec<String> {
    w.client
        .all(&w.path("/orders?status=processing&limit=50"))
        .await
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn sandbox_requests(w: &World) -> u64 {
    let v: Value = http()
        .get(format!("{}/__sandbox/stats", w.woo.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"].as_u64().unwrap()
}

pub async fn a_retried_shipment_ships_once(backend: Backend) {
    let (w, _redis) = world_on(backend, |_| {}).await;
    let c = &w.client;
    let orders = processing_orders(&w).await;
    let (order, other) = (&orders[0], &orders[1]);
    let path = w.path(&format!("/orders/{order}/shipments"));
    let body = json!({"carrier": "UPS", "tracking_number": "1Z999AA10123456784"});
    assert_eq!(trackings(&w, order).await, 0);

    let first = keyed(c, Method::POST, &path, "ship-1", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert!(!replayed(&first));
    assert_eq!(trackings(&w, order).await, 1);

    for _ in 0..2 {
        let again = keyed(c, Method::POST, &path, "ship-1", body.clone()).await;
        assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
        assert!(replayed(&again), "{:?}", again.headers);
        assert_eq!(again.body, first.body, "the same order, read again");
        assert_eq!(trackings(&w, order).await, 1, "shipped once");
    }

    // The key belongs to that request: another body, or another order, is a conflict.
    let other_body = json!({"carrier": "UPS", "tracking_number": "1Z999AA10000000000"});
    keyed(c, Method::POST, &path, "ship-1", other_body)
        .await
        .problem(409, "idempotency_conflict");
    let other_path = w.path(&format!("/orders/{other}/shipments"));
    keyed(c, Method::POST, &other_path, "ship-1", body.clone())
        .await
        .problem(409, "idempotency_conflict");
    assert_eq!(trackings(&w, other).await, 0);
    assert_eq!(trackings(&w, order).await, 1);

    // Without a key, nothing changes: every call writes.
    let r = c.post(&other_path, body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(!replayed(&r));
}

pub async fn a_call_while_the_first_runs_is_refused(backend: Backend) {
    let (w, _redis) = world_on(backend, |_| {}).await;
    let orders = processing_orders(&w).await;
    let order = orders[0].clone();
    let path = w.path(&format!("/orders/{order}/shipments"));
    let body = json!({"carrier": "DHL", "tracking_number": "JD014600003"});
    // The first upstream request of the first call is held for 3 s.
    w.woo
        .faults(json!({"kind": "slow", "count": 1, "delay_ms": 3000}))
        .await;
    let before = sandbox_requests(&w).await;
    let first = {
        let (c, path, body) = (w.client.clone(), path.clone(), body.clone());
        tokio::spawn(async move { keyed(&c, Method::POST, &path, "held", body).await })
    };
    // Once the first call has reached the platform, it holds the key.
    for _ in 0..200 {
        if sandbox_requests(&w).await > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        sandbox_requests(&w).await > before,
        "the first call started"
    );
    let busy = keyed(&w.client, Method::POST, &path, "held", body.clone()).await;
    busy.problem(409, "idempotency_in_progress");
    assert_eq!(busy.headers.get("retry-after").unwrap(), "1");
    // Another body while it runs is still a conflict, not "in progress".
    keyed(
        &w.client,
        Method::POST,
        &path,
        "held",
        json!({"carrier": "DHL", "tracking_number": "X"}),
    )
    .await
    .problem(409, "idempotency_conflict");

    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let again = keyed(&w.client, Method::POST, &path, "held", body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
    assert!(replayed(&again));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(trackings(&w, &order).await, 1);
}

pub async fn stores_and_products_replay(backend: Backend) {
    let (w, _redis) = world_on(backend, |_| {}).await;
    let c = &w.client;

    // Connecting a store.
    let connect =
        json!({"platform": "woocommerce", "name": "Second", "credentials": w.woo.credentials()});
    let first = keyed(c, Method::POST, "/v1/stores", "store-1", connect.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let again = keyed(c, Method::POST, "/v1/stores", "store-1", connect).await;
    assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    assert_eq!(
        c.ok("/v1/stores").await["data"].as_array().unwrap().len(),
        2
    );

    // Renaming it: the replay reads the store as it is now.
    let store = first.body["id"].as_str().unwrap();
    let rename = keyed(
        c,
        Method::PATCH,
        &format!("/v1/stores/{store}"),
        "rename-1",
        json!({"name": "Renamed"}),
    )
    .await;
    assert_eq!(rename.status, StatusCode::OK, "{rename:?}");
    let again = keyed(
        c,
        Method::PATCH,
        &format!("/v1/stores/{store}"),
        "rename-1",
        json!({"name": "Renamed"}),
    )
    .await;
    assert_eq!((again.status, replayed(&again)), (StatusCode::OK, true));
    assert_eq!(again.body["name"], "Renamed");

    // Creating a product.
    let count = || async {
        c.ok(&w.path("/products/count")).await["count"]
            .as_u64()
            .unwrap()
    };
    let before = count().await;
    let product = json!({"name": "Idempotent mug", "price": "9.50", "sku": "IDEM-MUG"});
    let first = keyed(
        c,
        Method::POST,
        &w.path("/products"),
        "mug",
        product.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let again = keyed(c, Method::POST, &w.path("/products"), "mug", product).await;
    assert_eq!(
        (again.status, replayed(&again)),
        (StatusCode::CREATED, true)
    );
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["name"], "Idempotent mug");
    assert_eq!(count().await, before + 1, "created once");

    // Updating it. A first call refused before any upstream write frees the key: the
    // corrected call may use it.
    let id = first.body["id"].as_str().unwrap();
    let path = w.path(&format!("/products/{id}"));
    keyed(c, Method::PATCH, &path, "price", json!({"price": "-1"}))
        .await
        .problem(400, "validation_failed");
    let update = json!({"price": "11.00"});
    let first = keyed(c, Method::PATCH, &path, "price", update.clone()).await;
    assert_eq!(
        (first.status, replayed(&first)),
        (StatusCode::OK, false),
        "{first:?}"
    );
    // Changed meanwhile by someone else: the replay shows the product as it is now.
    let r = c.patch(&path, json!({"name": "Renamed mug"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let again = keyed(c, Method::PATCH, &path, "price", update).await;
    assert_eq!((again.status, replayed(&again)), (StatusCode::OK, true));
    assert_eq!(again.body["id"], id);
    assert_eq!(again.body["name"], "Renamed mug", "read again, not stored");
}

pub async fn keys_are_per_account(backend: Backend) {
    let (w, _redis) = world_on(backend, |_| {}).await;
    let other = w.gw.account("globex").await;
    let other_store = other.connect("woocommerce", &w.woo.credentials()).await;
    let product = json!({"name": "Shared key mug"});
    let a = keyed(
        &w.client,
        Method::POST,
        &w.path("/products"),
        "same-key",
        product.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    // The same key and body from another account is that account's own first call.
    let path = format!("/v1/stores/{other_store}/products");
    let b = keyed(&other, Method::POST, &path, "same-key", product.clone()).await;
    assert_eq!(
        (b.status, replayed(&b)),
        (StatusCode::CREATED, false),
        "{b:?}"
    );
    assert_ne!(a.body["id"], b.body["id"]);
    // And a key of one account never replays the other's resource.
    let b2 = keyed(&other, Method::POST, &path, "same-key", product).await;
    assert!(replayed(&b2));
    assert_eq!(b2.body["id"], b.body["id"]);
}

pub async fn keys_expire_after_the_ttl(backend: Backend) {
    let (w, _redis) = world_on(backend, |s| s.idempotency_ttl_secs = 2).await;
    let c = &w.client;
    let path = w.path("/products");
    let first = keyed(
        c,
        Method::POST,
        &path,
        "short",
        json!({"name": "Short-lived"}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = keyed(
        c,
        Method::POST,
        &path,
        "short",
        json!({"name": "Short-lived"}),
    )
    .await;
    assert!(replayed(&again));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = keyed(
        c,
        Method::POST,
        &path,
        "short",
        json!({"name": "Short-lived"}),
    )
    .await;
    assert_eq!(
        (after.status, replayed(&after)),
        (StatusCode::CREATED, false),
        "{after:?}"
    );
    assert_ne!(
        after.body["id"], first.body["id"],
        "the expired key ran again"
    );
    // And the key now holds the new call, with its own lifetime.
    let r = keyed(c, Method::POST, &path, "short", json!({"name": "Other"})).await;
    r.problem(409, "idempotency_conflict");
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $( #[tokio::test] async fn $name() { super::$name(super::Backend::Embedded).await } )*
        }
        mod redis {
            $( #[tokio::test] async fn $name() { super::$name(super::Backend::Redis).await } )*
        }
    };
}

on_both_backends!(
    a_retried_shipment_ships_once,
    a_call_while_the_first_runs_is_refused,
    stores_and_products_replay,
    keys_are_per_account,
    keys_expire_after_the_ttl,
);

#[tokio::test]
async fn bad_keys_are_refused() {
    let w = World::new().await;
    let url = format!("{}{}", w.gw.url, w.path("/products"));
    let send = |values: Vec<reqwest::header::HeaderValue>| {
        let mut req = http()
            .post(&url)
            .bearer_auth(&w.client.key)
            .json(&json!({"name": "x"}));
        for v in values {
            req = req.header("idempotency-key", v);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let headers = r.headers().clone();
            Resp {
                status,
                headers,
                body: r.json().await.unwrap(),
            }
        }
    };
    use reqwest::header::HeaderValue as H;
    for bad in [
        vec![H::from_static("")],
        vec![H::from_str(&"k".repeat(256)).unwrap()],
        vec![H::from_bytes(b"caf\xc3\xa9").unwrap()],
        vec![H::from_static("one"), H::from_static("two")],
    ] {
        send(bad).await.problem(400, "validation_failed");
    }
    let ok = send(vec![H::from_str(&"k".repeat(255)).unwrap()]).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    // GET and DELETE ignore the header.
    let r = http()
        .get(format!("{}{}", w.gw.url, w.path("/products?limit=1")))
        .bearer_auth(&w.client.key)
        .header("idempotency-key", "")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// An error after the upstream write began is kept and replayed with its code: the write may
/// have happened, so only a new key tries again.
#[tokio::test]
async fn an_error_after_an_upstream_write_began_is_replayed() {
    let w = World::new().await;
    let c = &w.client;
    let orders = processing_orders(&w).await;
    let path = w.path(&format!("/orders/{}/shipments", orders[0]));
    let body = json!({"carrier": "UPS", "tracking_number": "1", "line_items": [{"line_item_id": "no-such-line", "quantity": 1}]});
    let first = keyed(c, Method::POST, &path, "bad-line", body.clone()).await;
    first.problem(422, "validation_failed");
    assert!(!replayed(&first));
    let again = keyed(c, Method::POST, &path, "bad-line", body).await;
    again.problem(422, "validation_failed");
    assert!(replayed(&again));
    let request_id = first.body["request_id"].as_str().unwrap();
    assert!(
        again.body["detail"].as_str().unwrap().contains(request_id),
        "{again:?}"
    );
    // A corrected request needs a new key.
    let fixed = json!({"carrier": "UPS", "tracking_number": "1"});
    keyed(c, Method::POST, &path, "bad-line", fixed.clone())
        .await
        .problem(409, "idempotency_conflict");
    let r = keyed(c, Method::POST, &path, "fixed-line", fixed).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

/// A client that gave up (here: the gateway's own timeout answered first) retries with the
/// same key: it is told to wait while the first call still runs, then gets its result, and
/// the order is shipped once.
#[tokio::test]
async fn a_retry_after_a_timeout_gets_the_first_calls_result() {
    let gw = Gateway::start_with(|s| {
        s.request_timeout_secs = 1;
        // Upstream calls may outlast the request, so the gateway's own timeout answers (504)
        // rather than the upstream deadline (503), which is otherwise shorter.
        s.upstream_deadline_secs = Some(10);
    })
    .await;
    let woo = WooSandbox::start().await;
    let client = gw.account("acme").await;
    let store = client.connect("woocommerce", &woo.credentials()).await;
    let w = World {
        gw,
        woo,
        client,
        store,
    };
    let order = processing_orders(&w).await[0].clone();
    let path = w.path(&format!("/orders/{order}/shipments"));
    let body = json!({"carrier": "UPS", "tracking_number": "1Z-TIMEOUT"});
    w.woo
        .faults(json!({"kind": "slow", "count": 1, "delay_ms": 2500}))
        .await;
    let first = keyed(&w.client, Method::POST, &path, "slow-ship", body.clone()).await;
    first.problem(504, "timeout");
    keyed(&w.client, Method::POST, &path, "slow-ship", body.clone())
        .await
        .problem(409, "idempotency_in_progress");
    let mut last = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = keyed(&w.client, Method::POST, &path, "slow-ship", body.clone()).await;
        if r.status != StatusCode::CONFLICT {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("the first call ended");
    assert_eq!(
        (r.status, replayed(&r)),
        (StatusCode::CREATED, true),
        "{r:?}"
    );
    assert!(r.body["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["tracking_number"] == "1Z-TIMEOUT"));
    assert_eq!(trackings(&w, &order).await, 1, "shipped once");
}

/// Proxied calls: a read is sent again; a write is answered with the platform's status only,
/// since its body is store data the gateway does not keep.
#[tokio::test]
async fn proxied_writes_are_not_sent_twice() {
    let w = World::new().await;
    let c = &w.client;
    let count = || async {
        c.ok(&w.path("/products/count")).await["count"]
            .as_u64()
            .unwrap()
    };
    let before = count().await;
    let create = json!({"method": "POST", "path": "/products", "body": {"name": "Proxied mug", "type": "simple"}});
    let first = keyed(
        c,
        Method::POST,
        &w.path("/proxy"),
        "proxy-1",
        create.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["status"], 201);
    assert_eq!(first.body["body"]["name"], "Proxied mug");
    let again = keyed(c, Method::POST, &w.path("/proxy"), "proxy-1", create).await;
    assert_eq!((again.status, replayed(&again)), (StatusCode::OK, true));
    assert_eq!(again.body, json!({"status": 201, "body": null}));
    assert_eq!(count().await, before + 1, "created once");

    let read = json!({"method": "GET", "path": "/products", "query": {"per_page": "1"}});
    let first = keyed(c, Method::POST, &w.path("/proxy"), "proxy-2", read.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let again = keyed(c, Method::POST, &w.path("/proxy"), "proxy-2", read).await;
    assert_eq!((again.status, replayed(&again)), (StatusCode::OK, true));
    assert_eq!(again.body["status"], 200);
    assert!(
        again.body["body"].is_array(),
        "a read is sent again: {again:?}"
    );
}

#[test]
fn every_v1_write_documents_the_header_and_its_conflicts() {
    let spec = serde_json::to_value(cartgate::api::openapi()).unwrap();
    let mut writes = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["post", "patch"] {
            let Some(op) = item.get(method).filter(|_| path.starts_with("/v1/")) else {
                continue;
            };
            writes += 1;
            let params = op["parameters"].as_array().unwrap();
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{method} {path}"
            );
            assert!(op["responses"]["409"].is_object(), "{method} {path}");
        }
    }
    assert!(writes >= 7, "{writes}");
}

/// What an idempotency record holds on Redis: no key in clear, no store data.
#[tokio::test]
async fn redis_records_hold_no_key_and_no_store_data() {
    let (w, redis) = world_on(Backend::Redis, |_| {}).await;
    let redis = redis.unwrap();
    let order = processing_orders(&w).await[0].clone();
    let body = json!({"carrier": "UPS", "tracking_number": "1Z-PRIVATE-CHECK"});
    let key = "my-secret-retry-key-0001";
    let r = keyed(
        &w.client,
        Method::POST,
        &w.path(&format!("/orders/{order}/shipments")),
        key,
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let dump = redis.dump();
    assert!(dump.contains("cg:idem:{"), "{dump}");
    let mut needles = vec![key.to_owned(), "1Z-PRIVATE-CHECK".to_owned()];
    crate::privacy::strings_of(&r.body["customer"], &mut needles);
    crate::privacy::strings_of(&r.body["billing_address"], &mut needles);
    assert!(needles.len() > 3, "{needles:?}");
    for n in &needles {
        assert!(!dump.contains(n.as_str()), "{n:?} is in Redis");
    }
}

#[test]
fn the_ttl_setting_is_documented_and_checked() {
    let out = crate::cli::bin()
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(help.contains("CARTGATE_IDEMPOTENCY_TTL_SECS"), "{help}");
    assert!(help.contains("[default: 86400]"), "{help}");
    let out = crate::cli::bin()
        .args(["serve", "--idempotency-ttl-secs", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("idempotency-ttl-secs"),
        "{out:?}"
    );
}

//! Platforms, connecting stores, tenancy, credential handling and master-key rotation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn platforms_list_woocommerce_with_credential_fields() {
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let body = c.ok("/v1/platforms").await;
    let woo = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "woocommerce")
        .expect("woocommerce listed");
    let fields: Vec<&str> = woo["credential_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for f in ["url", "consumer_key", "consumer_secret", "endpoint"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert!(woo["operations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "orders.list"));
}

#[tokio::test]
async fn connect_validates_against_the_store_first() {
    let gw = Gateway::start().await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;

    let mut wrong = woo.credentials();
    wrong["consumer_secret"] = json!("cs_wrong");
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "woocommerce", "name": "x", "credentials": wrong}),
        )
        .await;
    r.problem(422, "store_auth_failed");

    // Nothing listens on port 9 of loopback: unreachable.
    let mut unreachable = woo.credentials();
    unreachable["url"] = json!("http://127.0.0.1:9");
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "woocommerce", "name": "x", "credentials": unreachable}),
        )
        .await;
    r.problem(503, "upstream_unavailable");

    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "nope", "name": "x", "credentials": {}}),
        )
        .await;
    r.problem(400, "validation_failed");
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "woocommerce", "name": "x", "credentials": {"url": woo.base()}}),
        )
        .await;
    r.problem(400, "validation_failed");

    assert_eq!(
        c.ok("/v1/stores").await["data"].as_array().unwrap().len(),
        0,
        "failed connects saved nothing"
    );

    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "woocommerce", "name": "Main", "credentials": woo.credentials()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["platform"], "woocommerce");
    assert!(
        r.body.get("credentials").is_none(),
        "credentials are never returned"
    );
    let id = r.body["id"].as_str().unwrap();
    let got = c.ok(&format!("/v1/stores/{id}")).await;
    assert_eq!(got["name"], "Main");
    assert_eq!(got["status"], "active");
    assert!(!got
        .to_string()
        .contains(woo.credentials()["consumer_secret"].as_str().unwrap()));
}

/// Requests the WooCommerce sandbox has served (API routes only).
async fn sandbox_requests(woo: &WooSandbox) -> u64 {
    let stats: serde_json::Value = http()
        .get(format!("{}/__sandbox/stats", woo.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["requests"].as_u64().unwrap()
}

/// Every spelling of a forbidden address, as the store URL or as its `endpoint`, is refused
/// by the gateway's own check: 400 validation_failed, and nothing reaches the address.
#[tokio::test]
async fn ssrf_rules_apply_without_the_private_switch() {
    let gw = Gateway::start_with(|s| s.allow_private_upstreams = false).await;
    let woo = WooSandbox::start().await;
    let port = woo
        .base()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let c = gw.account("a").await;
    let mut urls: Vec<String> = [
        "http://169.254.169.254",
        "http://localhost:1",
        "file:///etc/passwd",
        "http://[::7f00:1]/",
        "http://[0:0:0:0:0:ffff:7f00:1]/",
    ]
    .map(str::to_owned)
    .to_vec();
    for host in [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "localhost.",
        "[::7f00:1]",
        "[::127.0.0.1]",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::]",
        "[64:ff9b::7f00:1]",
    ] {
        urls.push(format!("http://{host}:{port}"));
    }
    for url in &urls {
        for field in ["url", "endpoint"] {
            let mut creds = woo.credentials();
            creds[field] = json!(url);
            c.post(
                "/v1/stores",
                json!({"platform": "woocommerce", "name": "x", "credentials": creds}),
            )
            .await
            .problem(400, "validation_failed");
        }
    }
    assert_eq!(
        sandbox_requests(&woo).await,
        0,
        "nothing reached the sandbox"
    );
    assert_eq!(
        c.ok("/v1/stores").await["data"].as_array().unwrap().len(),
        0,
        "nothing saved"
    );
}

/// A store URL that redirects to another origin (here: another port of the same host) is
/// not followed: the connect fails as upstream_error naming where it redirects, and the
/// other origin is never reached.
#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let gw = Gateway::start().await;
    let woo = WooSandbox::start().await;
    let target = woo.base().trim_end_matches('/').to_owned();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let to = format!("{target}{uri}");
        async move { axum::response::Redirect::temporary(&to) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = gw.account("a").await;
    let mut creds = woo.credentials();
    creds["url"] = json!(redirector);
    let r = c
        .post(
            "/v1/stores",
            json!({"platform": "woocommerce", "name": "x", "credentials": creds}),
        )
        .await;
    r.problem(502, "upstream_error");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("another origin"), "{detail}");
    assert_eq!(
        sandbox_requests(&woo).await,
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn rename_replace_credentials_and_delete() {
    let w = World::new().await;
    let c = &w.client;
    let r = c.patch(&w.path(""), json!({"name": "Renamed"})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(c.ok(&w.path("")).await["name"], "Renamed");

    let mut wrong = w.woo.credentials();
    wrong["consumer_key"] = json!("ck_wrong");
    c.patch(&w.path(""), json!({"credentials": wrong}))
        .await
        .problem(422, "store_auth_failed");
    // The old credentials still work.
    c.ok(&w.path("/info")).await;

    let r = c
        .patch(&w.path(""), json!({"credentials": w.woo.credentials()}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    c.patch(&w.path(""), json!({"colour": "red"}))
        .await
        .problem(400, "validation_failed");

    let r = c.send(Method::DELETE, &w.path(""), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    c.get(&w.path("")).await.problem(404, "not_found");
    c.get(&w.path("/orders")).await.problem(404, "not_found");
    // The sealed credentials are gone from storage.
    assert!(w
        .gw
        .state
        .storage
        .get_store(&w.store)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn another_accounts_store_is_not_found() {
    let w = World::new().await;
    let other = w.gw.account("other").await;
    for path in [
        "",
        "/info",
        "/orders",
        "/orders/1",
        "/products/count",
        "/customers",
    ] {
        other.get(&w.path(path)).await.problem(404, "not_found");
    }
    other
        .patch(&w.path(""), json!({"name": "mine"}))
        .await
        .problem(404, "not_found");
    other
        .send(Method::DELETE, &w.path(""), None)
        .await
        .problem(404, "not_found");
    assert_eq!(
        other.ok("/v1/stores").await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Still there for its owner.
    w.client.ok(&w.path("")).await;
}

#[tokio::test]
async fn store_status_follows_the_platform() {
    let w = World::new().await;
    // Revoke the keys on the "platform" side by swapping the sealed credentials for wrong ones
    // through the API is impossible (validated), so point the session at a refusing sandbox:
    // a second sandbox with another seed has other keys.
    let other = WooSandbox::start_with(cartgate_connector::sandbox::SandboxOptions {
        seed: 7,
        ..Default::default()
    })
    .await;
    let mut creds = w.woo.credentials();
    creds["url"] = json!(other.base());
    // Direct storage edit simulates keys revoked by the merchant after connecting.
    let mut rec =
        w.gw.state
            .storage
            .get_store(&w.store)
            .await
            .unwrap()
            .unwrap();
    let sealed = w.gw.state.master_key().seal(
        &serde_json::to_vec(&creds).unwrap(),
        &cartgate::state::credentials_context(&w.store),
    );
    rec.credentials = sealed;
    rec.updated_at = chrono::Utc::now();
    assert_eq!(
        w.gw.state.storage.update_store(&rec).await.unwrap(),
        cartgate::storage::CasOutcome::Written
    );

    w.client
        .get(&w.path("/orders"))
        .await
        .problem(422, "store_auth_failed");
    assert_eq!(w.client.ok(&w.path("")).await["status"], "auth_failed");
}

#[tokio::test]
async fn master_key_rotation_reseals_everything() {
    let w = World::new().await;
    let before = std::fs::read_to_string(w.gw.data_dir.path().join("master.key")).unwrap();
    let (status, body) =
        w.gw.admin(Method::POST, "/admin/rotate-master-key", None)
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored_in"], "file");
    assert!(
        body["master_key"].is_null(),
        "a file-held key is not echoed"
    );
    let after = std::fs::read_to_string(w.gw.data_dir.path().join("master.key")).unwrap();
    assert_ne!(before, after);
    let rec =
        w.gw.state
            .storage
            .get_store(&w.store)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(rec.credentials.key_id, body["key_id"].as_str().unwrap());
    // Re-sealing only keeps the key.
    let (status, again) =
        w.gw.admin(
            Method::POST,
            "/admin/rotate-master-key?reseal_only=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["key_id"], body["key_id"]);
    assert!(again["master_key"].is_null());
    assert_eq!(
        std::fs::read_to_string(w.gw.data_dir.path().join("master.key")).unwrap(),
        after
    );
    // Still works in this process…
    w.client.ok(&w.path("/orders?limit=1")).await;

    // …and after a restart with only the new key: the old one is not needed.
    let client = w.client.clone();
    let store = w.store.clone();
    let _woo = w.woo;
    let dir = w.gw.stop().await;
    let settings = test_settings(dir.path());
    let gw2 = Gateway::start_in(dir, settings).await;
    let c2 = Client {
        base: gw2.url.clone(),
        ..client
    };
    c2.ok(&format!("/v1/stores/{store}/orders?limit=1")).await;
}

#[tokio::test]
async fn keys_created_listed_and_revoked_at_once() {
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    c.ok("/v1/stores").await;
    let (s, k2) = gw
        .admin(
            Method::POST,
            &format!("/admin/accounts/{}/keys", c.account_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, list) = gw
        .admin(
            Method::GET,
            &format!("/admin/accounts/{}/keys", c.account_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&c.key), "keys are never listed");

    let (s, _) = gw
        .admin(
            Method::POST,
            &format!("/admin/keys/{}/revoke", c.key_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    c.get("/v1/stores").await.problem(401, "unauthorized");
    let c2 = Client {
        key: k2["api_key"].as_str().unwrap().into(),
        ..c.clone()
    };
    c2.ok("/v1/stores").await;

    // The admin API needs the admin token.
    let r = http()
        .post(format!("{}/admin/accounts", gw.url))
        .bearer_auth("nope")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http()
        .post(format!("{}/admin/accounts", gw.url))
        .bearer_auth(&c2.key)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "an API key is not an admin token"
    );
}

/// `GET /v1/stores` and the admin key list are paged like every other list: oldest first,
/// `limit` and a signed `cursor` bound to the account.
#[tokio::test]
async fn stores_and_keys_are_listed_a_page_at_a_time() {
    let gw = Gateway::start().await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let mut connected = Vec::new();
    for _ in 0..5 {
        connected.push(
            c.connect("woocommerce", &woo.handle.banner.credentials)
                .await,
        );
    }
    let first = c.ok("/v1/stores?limit=2").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let listed: Vec<String> = c
        .all("/v1/stores?limit=2")
        .await
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, connected, "every store once, oldest first");
    let last = c.ok("/v1/stores?limit=5").await;
    assert!(last["next_cursor"].is_null(), "{last}");

    let cursor = first["next_cursor"].as_str().unwrap();
    let other = gw.account("b").await;
    other
        .get(&format!("/v1/stores?cursor={cursor}"))
        .await
        .problem(400, "invalid_cursor");
    c.get("/v1/stores?limit=0")
        .await
        .problem(400, "validation_failed");
    c.get("/v1/stores?limit=251")
        .await
        .problem(400, "validation_failed");
    c.get("/v1/stores?cursor=forged")
        .await
        .problem(400, "invalid_cursor");

    for _ in 0..3 {
        let (s, _) = gw
            .admin(
                Method::POST,
                &format!("/admin/accounts/{}/keys", c.account_id),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(k) => format!("/admin/accounts/{}/keys?limit=3&cursor={k}", c.account_id),
            None => format!("/admin/accounts/{}/keys?limit=3", c.account_id),
        };
        let (s, page) = gw.admin(Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        keys.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(n) => cursor = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(keys[0], c.key_id, "the first key first");
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "in creation (id) order");
}

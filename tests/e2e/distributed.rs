//! The distributed mode: two `cartgate serve` processes sharing one throwaway Redis.

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::cli::{bin, Proc};
use crate::harness::*;
use crate::redis_server::RedisServer;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// One gateway process on Redis.
struct Instance {
    base: String,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl Instance {
    async fn start(redis: &RedisServer, extra: &[(&str, &str)]) -> Instance {
        Self::start_on(redis, free_port(), extra).await
    }

    async fn start_on(redis: &RedisServer, port: u16, extra: &[(&str, &str)]) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = bin();
        cmd.arg("serve")
            .env("CARTGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("CARTGATE_DATA_DIR", dir.path())
            .env("CARTGATE_REDIS_URL", redis.url())
            .env("CARTGATE_MASTER_KEY", MASTER_KEY)
            .env("CARTGATE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("CARTGATE_ALLOW_PRIVATE_UPSTREAMS", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let proc = Proc(cmd.spawn().unwrap());
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http().get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "gateway on Redis did not get ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Instance {
            base,
            _proc: proc,
            _dir: dir,
        }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        admin_call(&self.base, method, path, body).await
    }

    async fn account(&self, name: &str) -> Client {
        create_account(&self.base, name).await
    }

    /// SIGKILL: the process gets no chance to finish anything.
    fn kill(&mut self) {
        let _ = self._proc.0.kill();
        let _ = self._proc.0.wait();
    }
}

/// The same client, talking to another instance.
fn via(c: &Client, other: &Instance) -> Client {
    Client {
        base: other.base.clone(),
        ..c.clone()
    }
}

#[tokio::test]
async fn two_instances_serve_as_one_and_nothing_sensitive_reaches_redis() {
    let redis = RedisServer::start();
    let woo = WooSandbox::start().await;
    let (a, b) = tokio::join!(Instance::start(&redis, &[]), Instance::start(&redis, &[]));

    // A store connected through A is used through B.
    let on_a = a.account("acme").await;
    let on_b = via(&on_a, &b);
    let store = on_a.connect("woocommerce", &woo.credentials()).await;
    let orders = on_b
        .ok(&format!("/v1/stores/{store}/orders?limit=20&include=raw"))
        .await;
    let orders = orders["data"].as_array().unwrap().clone();
    assert_eq!(orders.len(), 20);
    let customers = on_b.all(&format!("/v1/stores/{store}/customers")).await;
    assert!(!customers.is_empty());
    assert_eq!(on_b.ok("/v1/stores").await["data"][0]["id"], store.as_str());

    // New credentials saved through B are used by A at once (no stale session).
    let mut wrong = woo.credentials();
    wrong["consumer_secret"] = json!("cs_wrong");
    let r = on_b
        .send(
            Method::PATCH,
            &format!("/v1/stores/{store}"),
            Some(json!({ "credentials": wrong })),
        )
        .await;
    r.problem(422, "store_auth_failed");
    let r = on_b
        .patch(
            &format!("/v1/stores/{store}"),
            json!({ "credentials": woo.credentials(), "name": "Renamed" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        on_a.ok(&format!("/v1/stores/{store}")).await["name"],
        "Renamed"
    );

    // A key revoked on A is refused on B within a second.
    let second = a.account("other").await;
    let second_b = via(&second, &b);
    assert_eq!(second_b.get("/v1/stores").await.status, StatusCode::OK);
    let (status, body) = a
        .admin(
            Method::POST,
            &format!("/admin/keys/{}/revoke", second.key_id),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let revoked_at = Instant::now();
    loop {
        let r = second_b.get("/v1/stores").await;
        if r.status == StatusCode::UNAUTHORIZED {
            r.problem(401, "unauthorized");
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "the revoked key still worked on the other instance after a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Let the log writers flush, then look at everything Redis holds and has on disk.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !on_a.ok("/v1/logs").await["data"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the request log is kept in Redis"
    );
    let everything = format!("{}\n{}", redis.dump(), redis.files());
    assert!(everything.contains("cg:{cg}:store:"), "the dump is real");
    let mut needles = Vec::new();
    for o in &orders {
        crate::privacy::strings_of(&o["customer"], &mut needles);
        crate::privacy::strings_of(&o["billing_address"], &mut needles);
        crate::privacy::strings_of(&o["shipping_address"], &mut needles);
    }
    for c in &customers {
        crate::privacy::strings_of(&c["email"], &mut needles);
    }
    let creds = woo.credentials();
    needles.push(creds["consumer_secret"].as_str().unwrap().to_owned());
    needles.push(creds["consumer_key"].as_str().unwrap().to_owned());
    needles.push(on_a.key.clone());
    needles.push(MASTER_KEY.to_owned());
    needles.retain(|n| n.chars().count() >= 6);
    assert!(needles.len() > 20, "enough store data to look for");
    for n in &needles {
        assert!(
            !everything.contains(n.as_str()),
            "Redis holds {n:?} in clear"
        );
    }
}

#[tokio::test]
async fn the_rate_limit_is_shared_across_instances() {
    let redis = RedisServer::start();
    let limits = [
        ("CARTGATE_RATE_LIMIT_PER_SECOND", "10"),
        ("CARTGATE_RATE_LIMIT_BURST", "10"),
    ];
    let (a, b) = tokio::join!(
        Instance::start(&redis, &limits),
        Instance::start(&redis, &limits)
    );
    let client = a.account("busy").await;
    let clients = [client.clone(), via(&client, &b)];

    // Two clients per instance hammer GET /v1/stores for a few seconds.
    let window = Duration::from_secs(4);
    let accepted = Arc::new(AtomicU32::new(0));
    let limited = Arc::new(AtomicU32::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let c = clients[i % 2].clone();
        let (accepted, limited) = (accepted.clone(), limited.clone());
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < window {
                let r = c.get("/v1/stores").await;
                match r.status {
                    StatusCode::OK => accepted.fetch_add(1, Ordering::Relaxed),
                    StatusCode::TOO_MANY_REQUESTS => {
                        assert!(r.headers.contains_key("retry-after"));
                        limited.fetch_add(1, Ordering::Relaxed)
                    }
                    other => panic!("unexpected {other}: {r:?}"),
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let accepted = f64::from(accepted.load(Ordering::Relaxed));
    // A full burst at once, then the sustained rate.
    let allowed = 10.0 + 10.0 * elapsed;
    println!(
        "accepted {accepted} of {} requests in {elapsed:.2}s across two instances; the limit allows {allowed:.1}",
        accepted as u32 + limited.load(Ordering::Relaxed)
    );
    assert!(
        limited.load(Ordering::Relaxed) > 0,
        "the clients did reach the limit"
    );
    assert!(
        (accepted - allowed).abs() <= allowed * 0.05,
        "accepted {accepted}, allowed {allowed:.1}: not within 5%"
    );
}

#[tokio::test]
async fn redis_outage_gives_503_then_recovers_with_nothing_lost() {
    let mut redis = RedisServer::start();
    let woo = WooSandbox::start().await;
    let gw = Instance::start(&redis, &[]).await;
    let client = gw.account("steady").await;
    let store = client.connect("woocommerce", &woo.credentials()).await;
    assert_eq!(
        client.ok(&format!("/v1/stores/{store}")).await["id"],
        store.as_str()
    );

    redis.kill();
    let down = Instant::now();
    let r = client.get(&format!("/v1/stores/{store}")).await;
    r.problem(503, "storage_unavailable");
    assert!(
        down.elapsed() < Duration::from_secs(5),
        "failed fast, not a hang"
    );
    let ready = http()
        .get(format!("{}/readyz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    redis.restart();
    let back = Instant::now();
    loop {
        let r = client.get(&format!("/v1/stores/{store}")).await;
        if r.status == StatusCode::OK {
            assert_eq!(
                r.body["id"],
                store.as_str(),
                "the store survived the restart"
            );
            break;
        }
        r.problem(503, "storage_unavailable");
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "the gateway did not recover by itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = http()
        .get(format!("{}/readyz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    // The account, its key and the store's credentials all came back: a real call works.
    let orders = client
        .ok(&format!("/v1/stores/{store}/orders?limit=3"))
        .await;
    assert_eq!(orders["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn admin_commands_work_on_redis_beside_running_instances() {
    let redis = RedisServer::start();
    let gw = Instance::start(&redis, &[]).await;
    // No gateway answers at this CARTGATE_LISTEN: the command opens Redis itself, while
    // another instance is serving from it.
    let port = free_port();
    let out = bin()
        .args(["admin", "account", "create", "From the CLI", "--json"])
        .env("CARTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CARTGATE_REDIS_URL", redis.url())
        .env("CARTGATE_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = created["api_key"].as_str().unwrap();
    let r = http()
        .get(format!("{}/v1/stores", gw.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the running instance accepts the new key"
    );

    // Without the shared master key the CLI refuses, saying why.
    let out = bin()
        .args(["admin", "account", "create", "x"])
        .env("CARTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CARTGATE_REDIS_URL", redis.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CARTGATE_MASTER_KEY"));
}

/// Two instances reading one Shopify store at once through Redis share its cost bucket, so
/// between them they keep (nearly) within it; two instances pacing alone each believe they
/// own the whole bucket and Shopify answers THROTTLED to most of their queries. Both walks
/// must end without an error reaching the client; the shared one must meet at most a third
/// of the unshared one's THROTTLED answers (seen here: 2–12 against 66–77, of 80 queries).
#[tokio::test]
async fn instances_share_a_shopify_stores_cost_bucket() {
    use cartgate_shopify::sandbox::ThrottleConfig;
    let throttle = ThrottleConfig {
        enabled: true,
        maximum_available: 1000.0,
        restore_rate: 3000.0,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let opts = cartgate_connector::sandbox::SandboxOptions {
        orders: 250,
        ..Default::default()
    };
    let shopify = cartgate_shopify::sandbox::start_with(listener, opts, throttle)
        .await
        .unwrap();
    let control = format!("{}/__sandbox/throttle", shopify.banner.base_url);
    // Both instances read every order at once; answers the sandbox's THROTTLED count.
    let walk = |x: Client, y: Client, store_x: String, store_y: String| {
        let control = control.clone();
        async move {
            let r = http().put(&control).json(&json!({})).send().await.unwrap();
            assert!(r.status().is_success());
            let (px, py) = (
                format!("/v1/stores/{store_x}/orders?limit=50"),
                format!("/v1/stores/{store_y}/orders?limit=50"),
            );
            let (from_x, from_y) = tokio::join!(x.all(&px), y.all(&py));
            assert_eq!((from_x.len(), from_y.len()), (250, 250));
            let t: Value = http()
                .get(&control)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                t["charges"].as_array().unwrap().len(),
                t["throttled"].as_u64().unwrap(),
            )
        }
    };

    // Shared: two processes on one Redis, one store.
    let redis = RedisServer::start();
    let (a, b) = tokio::join!(Instance::start(&redis, &[]), Instance::start(&redis, &[]));
    let on_a = a.account("twins").await;
    let store = on_a.connect("shopify", &shopify.banner.credentials).await;
    let (queries, shared) = walk(on_a.clone(), via(&on_a, &b), store.clone(), store).await;

    // Alone: two gateways, each with its own budget for the same shop.
    let (x, y) = tokio::join!(Gateway::start(), Gateway::start());
    let (cx, cy) = tokio::join!(x.account("x"), y.account("y"));
    let sx = cx.connect("shopify", &shopify.banner.credentials).await;
    let sy = cy.connect("shopify", &shopify.banner.credentials).await;
    let (_, alone) = walk(cx, cy, sx, sy).await;

    println!("two instances, {queries} queries: {shared} THROTTLED sharing the bucket through Redis, {alone} pacing alone");
    assert!(
        alone > 20,
        "without sharing the bucket is overdrawn: {alone}"
    );
    assert!(
        shared * 3 <= alone,
        "sharing keeps within the bucket: {shared} THROTTLED vs {alone} alone"
    );
}

/// Amazon's usage plans are per seller and app: two instances on one Redis share each
/// operation's bucket, so reading one seller's orders from both at once meets no Amazon 429;
/// two gateways pacing alone each spend the whole burst and Amazon refuses the excess
/// (absorbed: the clients still see every page).
#[tokio::test]
async fn instances_share_an_amazon_sellers_usage_plan() {
    let sandbox = crate::platforms::start_sandbox(
        "amazon",
        cartgate_connector::sandbox::SandboxOptions {
            orders: 400,
            products: 5,
            rate_limits: true,
            ..Default::default()
        },
    )
    .await;
    let control = format!(
        "{}/__sandbox/rate_limits",
        sandbox.banner.base_url.trim_end_matches('/')
    );
    // searchOrders at 0.0056/s × 1000 with its burst of 20; both read all 400 orders in
    // pages of 20 (40 calls between them); answers Amazon's 429s.
    let walk = |x: Client, y: Client, store_x: String, store_y: String| {
        let control = control.clone();
        async move {
            let r = http()
                .put(&control)
                .json(&json!({"enabled": true, "scale": 1000.0}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let (px, py) = (
                format!("/v1/stores/{store_x}/orders?limit=20"),
                format!("/v1/stores/{store_y}/orders?limit=20"),
            );
            let (from_x, from_y) = tokio::join!(x.all(&px), y.all(&py));
            assert_eq!((from_x.len(), from_y.len()), (400, 400));
            let t: Value = http()
                .get(&control)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            t["operations"]["searchOrders"]["throttled"]
                .as_u64()
                .unwrap()
        }
    };

    let redis = RedisServer::start();
    let (a, b) = tokio::join!(Instance::start(&redis, &[]), Instance::start(&redis, &[]));
    let on_a = a.account("twins").await;
    let store = on_a.connect("amazon", &sandbox.banner.credentials).await;
    let shared = walk(on_a.clone(), via(&on_a, &b), store.clone(), store).await;

    let (x, y) = tokio::join!(Gateway::start(), Gateway::start());
    let (cx, cy) = tokio::join!(x.account("x"), y.account("y"));
    let sx = cx.connect("amazon", &sandbox.banner.credentials).await;
    let sy = cy.connect("amazon", &sandbox.banner.credentials).await;
    let alone = walk(cx, cy, sx, sy).await;

    println!("two instances, 40 searchOrders: {shared} Amazon 429s sharing the plan through Redis, {alone} pacing alone");
    assert!(
        alone >= 5,
        "without sharing the burst is overdrawn: {alone}"
    );
    assert_eq!(shared, 0, "sharing keeps within the plan");
}

/// A rolling master-key rotation, as the README describes it: instances restarted one by
/// one with the new key (the old one in CARTGATE_PREVIOUS_MASTER_KEYS) read what the old
/// key sealed; an instance not yet restarted answers a clear 503 for what the new key
/// sealed, never a 500; `rotate-master-key --reseal-only` finishes, after which the old
/// key is needed nowhere.
#[tokio::test]
async fn a_rolling_master_key_rotation_strands_nothing() {
    use cartgate::crypto::MasterKey;
    const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let old_id = MasterKey::from_base64(MASTER_KEY).unwrap().id().to_owned();
    let new_id = MasterKey::from_base64(NEW_KEY).unwrap().id().to_owned();
    let rolled: &[(&str, &str)] = &[
        ("CARTGATE_MASTER_KEY", NEW_KEY),
        ("CARTGATE_PREVIOUS_MASTER_KEYS", MASTER_KEY),
    ];
    let redis = RedisServer::start();
    let woo = WooSandbox::start().await;
    let old = Instance::start(&redis, &[]).await;
    let on_old = old.account("rolling").await;
    let first = on_old.connect("woocommerce", &woo.credentials()).await;

    // One instance restarted with the new key reads what the old key sealed, and seals
    // what it writes with the new one.
    let rolled_a = Instance::start(&redis, rolled).await;
    let on_rolled = via(&on_old, &rolled_a);
    on_rolled
        .ok(&format!("/v1/stores/{first}/orders?limit=2"))
        .await;
    let second = on_rolled.connect("woocommerce", &woo.credentials()).await;
    assert!(
        redis.dump().contains(&new_id),
        "the new key seals new writes"
    );

    // The instance still on the old key cannot open that store: a clear 503.
    on_old
        .get(&format!("/v1/stores/{second}/orders?limit=2"))
        .await
        .problem(503, "master_key_unavailable");
    on_old
        .ok(&format!("/v1/stores/{first}/orders?limit=2"))
        .await;

    // It is restarted onto the new key too; then the rotation is finished from the CLI.
    drop(old);
    let rolled_b = Instance::start(&redis, rolled).await;
    for store in [&first, &second] {
        via(&on_old, &rolled_b)
            .ok(&format!("/v1/stores/{store}/orders?limit=2"))
            .await;
    }
    let port = free_port();
    let out = bin()
        .args(["admin", "rotate-master-key", "--reseal-only"])
        .env("CARTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CARTGATE_REDIS_URL", redis.url())
        .envs(rolled.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&new_id), "{stdout}");
    assert!(
        stdout.contains("CARTGATE_PREVIOUS_MASTER_KEYS is no longer needed"),
        "{stdout}"
    );
    assert!(
        !redis.dump().contains(&old_id),
        "nothing in Redis is sealed with the old key any more"
    );

    // An instance given only the new key serves everything, as do the running ones.
    let fresh = Instance::start(&redis, &[("CARTGATE_MASTER_KEY", NEW_KEY)]).await;
    for instance in [&fresh, &rolled_a, &rolled_b] {
        for store in [&first, &second] {
            via(&on_old, instance)
                .ok(&format!("/v1/stores/{store}/orders?limit=2"))
                .await;
        }
    }
}

/// Two instances share the webhook queue on Redis; one is SIGKILLed while it holds
/// deliveries: the other takes them over once their leases pass, and every event is
/// delivered (duplicates only as at-least-once allows, under the same `webhook-id`).
#[tokio::test]
async fn a_killed_instance_loses_no_webhook_delivery() {
    let redis = RedisServer::start();
    let quick = [
        ("CARTGATE_WEBHOOK_TIMEOUT_SECS", "1"),
        ("CARTGATE_WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1,1,1,1,1,1"),
    ];
    let b = Instance::start(&redis, &quick).await;
    let mut with_public = quick.to_vec();
    with_public.push(("CARTGATE_PUBLIC_URL", &b.base));
    let mut a = Instance::start(&redis, &with_public).await;
    let c = a.account("wh").await;
    let shop = crate::platforms::start_sandbox("woocommerce", Default::default()).await;
    // Connected through A, the platform pushes to B (the public URL).
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    let rx = crate::receiver::Receiver::start().await;
    rx.answer(&[500; 1000]);
    rx.delay(Some(Duration::from_millis(300)));
    let sub = c
        .post(
            "/v1/webhooks",
            json!({"url": rx.url, "event_types": ["product.updated"], "store_ids": [store]}),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{sub:?}");
    let wh = sub.body["id"].as_str().unwrap().to_owned();
    let mut products = Vec::new();
    for _ in 0..20 {
        products.push(crate::webhooks::simulate(&shop, "product.updated").await);
    }
    for _ in 0..200 {
        let q = c
            .ok(&format!("/v1/webhooks/{wh}/deliveries?limit=50"))
            .await;
        if q["data"].as_array().unwrap().len() >= products.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both instances are attempting; kill A mid-flight.
    rx.wait_for(Duration::from_secs(20), "attempts", |g| g.len() >= 20)
        .await;
    a.kill();
    rx.clear_answers();
    rx.delay(None);
    let delivered = rx
        .wait_delivered(products.len(), Duration::from_secs(45))
        .await;
    for p in &products {
        assert!(delivered.contains(p), "product {p} delivered");
    }
    // What the events carried (product names, prices) is nowhere in Redis: the queue held
    // references only.
    let dump = redis.dump();
    let mut carried = Vec::new();
    for r in rx.received().iter().filter(|r| r.status == 200) {
        let data = r.json()["data"].clone();
        for field in ["name", "sku", "description"] {
            if let Some(v) = data[field].as_str().filter(|v| v.len() >= 6) {
                carried.push(v.to_owned());
            }
        }
    }
    assert!(!carried.is_empty(), "the events carried product data");
    for v in &carried {
        assert!(!dump.contains(v.as_str()), "{v:?} is in Redis");
    }
}

/// Redis restarts while deliveries are queued: nothing queued is lost (Redis persists with
/// `appendfsync always` here), the instance reconnects by itself and delivers every event.
#[tokio::test]
async fn webhook_deliveries_survive_a_redis_restart() {
    let mut redis = RedisServer::start();
    let quick = [
        ("CARTGATE_WEBHOOK_TIMEOUT_SECS", "1"),
        ("CARTGATE_WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1,1,1,1,1,1"),
    ];
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let mut env = quick.to_vec();
    env.push(("CARTGATE_PUBLIC_URL", &public));
    let a = Instance::start_on(&redis, port, &env).await;
    let c = a.account("wh").await;
    let shop = crate::platforms::start_sandbox("woocommerce", Default::default()).await;
    let store = c.connect("woocommerce", &shop.banner.credentials).await;
    let rx = crate::receiver::Receiver::start().await;
    rx.answer(&[500; 1000]);
    let sub = c
        .post(
            "/v1/webhooks",
            json!({"url": rx.url, "event_types": ["product.updated"], "store_ids": [store]}),
        )
        .await;
    let wh = sub.body["id"].as_str().unwrap().to_owned();
    let mut products = Vec::new();
    for _ in 0..5 {
        products.push(crate::webhooks::simulate(&shop, "product.updated").await);
    }
    for _ in 0..200 {
        let q = c.ok(&format!("/v1/webhooks/{wh}/deliveries")).await;
        if q["data"].as_array().unwrap().len() >= products.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    redis.restart();
    rx.clear_answers();
    let delivered = rx
        .wait_delivered(products.len(), Duration::from_secs(40))
        .await;
    for p in &products {
        assert!(delivered.contains(p), "product {p} delivered");
    }
}

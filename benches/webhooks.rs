//! Webhook delivery benchmark: signed platform webhooks arrive at /inbound, fan out to 10
//! subscriptions, and reach a local receiver. Reports deliveries per second and the latency
//! from the platform's POST to /inbound to the subscriber receiving the event (p50, p99),
//! on the embedded store, and on Redis when `CARTGATE_BENCH_REDIS_URL` is set.
//!
//!   cargo bench --bench webhooks                      # embedded store
//!   CARTGATE_BENCH_REDIS_URL=redis://127.0.0.1:6379/ cargo bench --bench webhooks
//!   EVENTS=500 cargo bench --bench webhooks
//!
//! Everything listens on 127.0.0.1; the run sends a bounded number of events and stops.
//! The inbound webhooks are WooCommerce customer webhooks signed with the store's own
//! secret (their payload maps to the unified customer, so no platform read is needed: the
//! figure is the gateway's own cost).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use cartgate::{AppState, Registry, Settings};
use cartgate_connector::sandbox::SandboxOptions;
use serde_json::{json, Value};

const SUBSCRIPTIONS: usize = 10;

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let redis = std::env::var("CARTGATE_BENCH_REDIS_URL").ok();

    let data = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut s = Settings::from_env()?;
    s.data_dir = data.path().to_path_buf();
    s.allow_private_upstreams = true;
    s.public_url = Some(base.clone());
    s.rate_limit_per_second = 100_000;
    s.rate_limit_burst = 100_000;
    s.admin_token = Some("bench".into());
    if let Some(url) = &redis {
        s.redis_url = Some(url.clone());
        s.master_key = Some(cartgate::crypto::MasterKey::generate().to_base64());
    }
    let state = AppState::build(s, Registry::builtin()).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cartgate::run(state.clone(), listener, async {
        let _ = stopped.await;
    }));

    // The shop, the account, the store (its platform webhooks registered).
    let shop_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let shop =
        cartgate_woocommerce::sandbox::start(shop_listener, SandboxOptions::default()).await?;
    let account =
        cartgate::admin::create_account(state.storage.as_ref(), &state.signers, "bench").await?;
    let http = reqwest::Client::new();
    let store: Value = http
        .post(format!("{base}/v1/stores"))
        .bearer_auth(&account.api_key)
        .json(&json!({"platform": "woocommerce", "name": "bench", "credentials": shop.banner.credentials}))
        .send()
        .await?
        .json()
        .await?;
    let store_id = store["id"].as_str().expect("store connected").to_owned();
    let record = state.storage.get_store(&store_id).await?.expect("stored");
    let secret = state
        .native_webhook_secret(&record)
        .map_err(|e| anyhow::anyhow!(e.detail))?
        .expect("platform webhooks registered");

    // The receiver, and 10 subscriptions to it.
    let arrivals: Arrivals = Arc::default();
    async fn take(State(a): State<Arrivals>, body: Bytes) -> &'static str {
        let now = Instant::now();
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            let key = v["data"]["id"].as_str().unwrap_or_default().to_owned();
            a.lock().unwrap().entry(key).or_default().push(now);
        }
        "ok"
    }
    let rx = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let rx_url = format!("http://{}/hook", rx.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(rx, app).await });
    for _ in 0..SUBSCRIPTIONS {
        let r = http
            .post(format!("{base}/v1/webhooks"))
            .bearer_auth(&account.api_key)
            .json(&json!({"url": rx_url, "event_types": ["customer.updated"]}))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "subscribing: {}", r.status());
    }

    // Send the platform's webhooks, a few at a time, as a platform would.
    let inbound = format!("{base}/inbound/woocommerce/{store_id}");
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut batch = tokio::task::JoinSet::new();
    for n in 0..events {
        let id = 100_000 + n;
        let body = json!({
            "id": id, "email": format!("bench{n}@example.com"), "first_name": "Bench",
            "last_name": format!("{n}"), "role": "customer", "username": format!("bench{n}"),
            "date_created_gmt": "2026-01-01T00:00:00", "date_modified_gmt": "2026-01-01T00:00:00",
            "billing": {}, "shipping": {}
        })
        .to_string();
        let signature =
            cartgate_connector::webhook::hmac_sha256_base64(secret.as_bytes(), body.as_bytes());
        sent.insert(id.to_string(), Instant::now());
        let req = http
            .post(&inbound)
            .header("content-type", "application/json")
            .header("x-wc-webhook-topic", "customer.updated")
            .header("x-wc-webhook-resource", "customer")
            .header("x-wc-webhook-event", "updated")
            .header("x-wc-webhook-delivery-id", format!("bench-{n}"))
            .header("x-wc-webhook-signature", signature)
            .body(body);
        batch.spawn(async move { req.send().await.map(|r| r.status()) });
        if batch.len() >= 16 {
            while let Some(r) = batch.join_next().await {
                let status = r??;
                anyhow::ensure!(status.is_success(), "inbound answered {status}");
            }
        }
    }
    while let Some(r) = batch.join_next().await {
        r??;
    }
    let want = events * SUBSCRIPTIONS;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got: usize = arrivals.lock().unwrap().values().map(Vec::len).sum();
        if got >= want || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu() - cpu_before;
    let arrivals = arrivals.lock().unwrap().clone();
    let delivered: usize = arrivals.values().map(Vec::len).sum();
    let mut latencies: Vec<Duration> = arrivals
        .iter()
        .flat_map(|(id, times)| {
            let t0 = sent[id];
            times.iter().map(move |t| t.duration_since(t0))
        })
        .collect();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "webhooks ({}): {events} inbound × {SUBSCRIPTIONS} subscriptions = {delivered}/{want} \
         deliveries in {:.2}s: {:.0} deliveries/s; inbound→subscriber p50 {:.1} ms, p99 {:.1} ms; \
         CPU of the whole bench process (gateway, receiver, sender) {:.0} µs per delivery",
        if redis.is_some() { "Redis" } else { "embedded" },
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        cpu.as_secs_f64() * 1e6 / delivered.max(1) as f64,
    );
    let _ = stop.send(());
    let _ = server.await;
    let _ = shop.shutdown.send(());
    anyhow::ensure!(
        delivered >= want,
        "only {delivered} of {want} deliveries arrived"
    );
    Ok(())
}

/// CPU time (user + system) of this process so far, from /proc.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

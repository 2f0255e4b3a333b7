//! `cartgate demo`: the gateway on a fresh embedded store, every platform's sandbox on
//! loopback, a demo account with an API key and one connected store per platform.

use std::time::Duration;

use anyhow::Context;
use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use serde::Serialize;
use serde_json::json;

use crate::config::Settings;
use crate::registry::Registry;
use crate::state::AppState;

#[derive(Serialize)]
pub struct DemoStore {
    pub id: String,
    pub platform: String,
    /// The sandbox's base URL (its `/__sandbox/simulate` makes changes in the shop).
    pub sandbox_url: String,
}

#[derive(Serialize)]
pub struct DemoInfo {
    pub gateway_url: String,
    pub api_key: String,
    pub stores: Vec<DemoStore>,
}

pub async fn run(mut settings: Settings, json_out: bool) -> anyhow::Result<()> {
    // A throwaway data dir: the demo never touches a real installation's data.
    let data = tempfile::Builder::new()
        .prefix("cartgate-demo-")
        .tempdir()?;
    settings.data_dir = data.path().to_path_buf();
    settings.master_key = None;
    settings.allow_private_upstreams = true; // the sandboxes are on loopback
                                             // The eBay sandbox's app has no notification config yet: give it one, so it pushes.
    if settings.ebay_alert_email.is_none() {
        settings.ebay_alert_email = Some("demo@cartgate.invalid".into());
    }
    let registry = Registry::for_settings(&settings);

    let mut sandboxes: Vec<(String, SandboxHandle)> = Vec::new();
    for p in registry.all() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let handle = (p.start_sandbox)(listener, SandboxOptions::default()).await?;
        sandboxes.push((p.connector.descriptor().id.to_owned(), handle));
    }

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {} (set CARTGATE_LISTEN)", settings.listen))?;
    let addr = listener.local_addr()?;
    // The sandboxes push their webhooks to this gateway.
    if settings.public_url.is_none() {
        settings.public_url = Some(format!("http://{addr}"));
    }
    let state = AppState::build(settings, registry).await?;
    let account =
        crate::admin::create_account(state.storage.as_ref(), &state.signers, "demo").await?;
    let server = tokio::spawn(crate::run(state, listener, crate::cli::shutdown_signal()));

    let gateway_url = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut stores = Vec::new();
    for (platform, handle) in &sandboxes {
        let resp = client
            .post(format!("{gateway_url}/v1/stores"))
            .bearer_auth(&account.api_key)
            .json(&json!({
                "platform": platform,
                "name": format!("Demo {platform} store"),
                "credentials": handle.banner.credentials,
            }))
            .send()
            .await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!("connecting the {platform} sandbox failed ({status}): {body}");
        }
        stores.push(DemoStore {
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            platform: platform.clone(),
            sandbox_url: handle.banner.base_url.trim_end_matches('/').to_owned(),
        });
    }

    // A subscriber that prints every event it receives, subscribed to everything.
    let watcher = if json_out {
        None
    } else {
        let url = start_watcher().await?;
        let resp = client
            .post(format!("{gateway_url}/v1/webhooks"))
            .bearer_auth(&account.api_key)
            .json(&json!({"url": url, "description": "cartgate demo: prints events"}))
            .send()
            .await?;
        if !resp.status().is_success() {
            anyhow::bail!("subscribing the demo watcher failed ({})", resp.status());
        }
        Some(url)
    };

    let info = DemoInfo {
        gateway_url: gateway_url.clone(),
        api_key: account.api_key.clone(),
        stores,
    };
    if json_out {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        print_welcome(&info, data.path(), watcher.as_deref());
    }

    let result = server.await.context("gateway task")?;
    for (_, h) in sandboxes {
        let _ = h.shutdown.send(());
    }
    result
}

/// A loopback subscriber that prints each event's type, store and object id.
async fn start_watcher() -> anyhow::Result<String> {
    async fn print(body: axum::body::Bytes) -> axum::http::StatusCode {
        if let Ok(e) = serde_json::from_slice::<serde_json::Value>(&body) {
            println!(
                "webhook: {} store {} object {}",
                e["type"].as_str().unwrap_or("?"),
                e["store_id"].as_str().unwrap_or("?"),
                e["data"]["id"].as_str().unwrap_or("?")
            );
        }
        axum::http::StatusCode::NO_CONTENT
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let app = axum::Router::new().route("/events", axum::routing::post(print));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn print_welcome(info: &DemoInfo, data: &std::path::Path, watcher: Option<&str>) {
    let first = info
        .stores
        .first()
        .map(|s| s.id.as_str())
        .unwrap_or("STORE_ID");
    println!("cartgate demo is running at {}", info.gateway_url);
    println!("  data dir (temporary): {}", data.display());
    println!("  API key: {}", info.api_key);
    for s in &info.stores {
        println!("  store {:<12} {}", s.platform, s.id);
    }
    println!("\nTry:");
    println!(
        "  curl -s -H 'Authorization: Bearer {}' {}/v1/stores",
        info.api_key, info.gateway_url
    );
    println!(
        "  curl -s -H 'Authorization: Bearer {}' '{}/v1/stores/{first}/orders?limit=5&status=completed'",
        info.api_key, info.gateway_url
    );
    println!(
        "  curl -s -H 'Authorization: Bearer {}' '{}/v1/stores/{first}/products?limit=3'",
        info.api_key, info.gateway_url
    );
    if let Some(url) = watcher {
        println!(
            "\nWebhooks: a subscriber at {url} prints every event here. Make a change in a shop:"
        );
        for s in &info.stores {
            println!(
                "  curl -s -X POST {}/__sandbox/simulate -H 'content-type: application/json' -d '{{\"event\": \"order.created\"}}'   # {}",
                s.sandbox_url, s.platform
            );
        }
        println!("  (WooCommerce, Shopify and eBay push at once; Magento and Amazon are polled every CARTGATE_POLL_INTERVAL_SECS)");
    }
    println!(
        "\nAPI docs: {}/docs   (Ctrl-C stops everything)",
        info.gateway_url
    );
}

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
    let registry = Registry::builtin();

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
        });
    }

    let info = DemoInfo {
        gateway_url: gateway_url.clone(),
        api_key: account.api_key.clone(),
        stores,
    };
    if json_out {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        print_welcome(&info, data.path());
    }

    let result = server.await.context("gateway task")?;
    for (_, h) in sandboxes {
        let _ = h.shutdown.send(());
    }
    result
}

fn print_welcome(info: &DemoInfo, data: &std::path::Path) {
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
        "  curl -s -H 'Authorization: Bearer {}' {}/v1/stores/{first}/products/count",
        info.api_key, info.gateway_url
    );
    println!(
        "\nAPI docs: {}/docs   (Ctrl-C stops everything)",
        info.gateway_url
    );
}

//! The `cartgate` binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cartgate"));
    // Never inherit a developer's settings.
    for (k, _) in std::env::vars() {
        if k.starts_with("CARTGATE_") {
            c.env_remove(k);
        }
    }
    c
}

/// Kills the child when dropped.
pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn first_line(child: &mut Child) -> Value {
    let out = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[test]
fn serve_help_lists_every_setting_with_defaults() {
    let out = bin().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    // Collapse the help's line wrapping.
    let help = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for (env, default) in [
        ("CARTGATE_LISTEN", Some("127.0.0.1:8080")),
        ("CARTGATE_DATA_DIR", Some("./data")),
        ("CARTGATE_MASTER_KEY", None),
        ("CARTGATE_ADMIN_TOKEN", None),
        ("CARTGATE_PUBLIC_URL", None),
        ("CARTGATE_ALLOW_PRIVATE_UPSTREAMS", Some("false")),
        ("CARTGATE_LOG_RETENTION_DAYS", Some("30")),
        ("CARTGATE_RATE_LIMIT_PER_SECOND", Some("20")),
        ("CARTGATE_RATE_LIMIT_BURST", Some("40")),
        ("CARTGATE_REDIS_URL", None),
        ("CARTGATE_MAX_BODY_BYTES", Some("1048576")),
        ("CARTGATE_REQUEST_TIMEOUT_SECS", Some("30")),
        ("CARTGATE_HEADER_READ_TIMEOUT_SECS", Some("10")),
        ("CARTGATE_IDLE_TIMEOUT_SECS", Some("60")),
        ("CARTGATE_MAX_CONNECTIONS", Some("10000")),
        ("CARTGATE_UPSTREAM_TIMEOUT_SECS", Some("10")),
        ("CARTGATE_UPSTREAM_DEADLINE_SECS", None),
        ("CARTGATE_UPSTREAM_MAX_RETRIES", Some("3")),
        ("CARTGATE_UPSTREAM_MAX_RETRY_WAIT_SECS", Some("10")),
        ("CARTGATE_UPSTREAM_CONCURRENCY_PER_STORE", Some("4")),
        ("CARTGATE_UPSTREAM_QUEUE_WAIT_SECS", Some("10")),
        ("CARTGATE_IDEMPOTENCY_TTL_SECS", Some("86400")),
        ("CARTGATE_POLL_INTERVAL_SECS", Some("60")),
        (
            "CARTGATE_WEBHOOK_RETRY_SCHEDULE",
            Some("5,300,1800,7200,18000,36000,86400,86400,86400"),
        ),
        ("CARTGATE_WEBHOOK_TIMEOUT_SECS", Some("15")),
        ("CARTGATE_SHOPIFY_API_VERSION", Some("2026-10")),
        ("CARTGATE_AMAZON_LWA_CLIENT_ID", None),
        ("CARTGATE_AMAZON_LWA_CLIENT_SECRET", None),
    ] {
        assert!(help.contains(env), "{env} missing from --help");
        if let Some(d) = default {
            assert!(
                help.contains(&format!("[default: {d}]")),
                "default {d} of {env} missing"
            );
        }
    }
}

/// The upstream deadline must end before the request timeout: `serve` refuses to start
/// otherwise, saying why; unset, it is derived from the request timeout.
#[test]
fn an_upstream_deadline_past_the_request_timeout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("serve")
        .env("CARTGATE_DATA_DIR", dir.path())
        .env("CARTGATE_LISTEN", "127.0.0.1:0")
        .env("CARTGATE_REQUEST_TIMEOUT_SECS", "20")
        .env("CARTGATE_UPSTREAM_DEADLINE_SECS", "25")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("upstream_deadline_secs (25)") && err.contains("request_timeout_secs (20)"),
        "{err}"
    );
    let mut s = cartgate::Settings::from_env().unwrap();
    assert_eq!(s.upstream_deadline(), Duration::from_secs(25));
    s.request_timeout_secs = 8;
    assert_eq!(s.upstream_deadline(), Duration::from_secs(4));
    s.upstream_deadline_secs = Some(7);
    assert_eq!(s.upstream_deadline(), Duration::from_secs(7));
    assert!(s.validate().is_ok());
    s.upstream_deadline_secs = Some(8);
    assert!(s.validate().is_err());
}

/// The Amazon app's LWA id and secret go together: `serve` refuses one without the other.
#[test]
fn an_amazon_app_id_without_its_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("serve")
        .env("CARTGATE_DATA_DIR", dir.path())
        .env("CARTGATE_LISTEN", "127.0.0.1:0")
        .env(
            "CARTGATE_AMAZON_LWA_CLIENT_ID",
            "amzn1.application-oa2-client.x",
        )
        .env_remove("CARTGATE_AMAZON_LWA_CLIENT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CARTGATE_AMAZON_LWA_CLIENT_SECRET"), "{err}");
}

#[test]
fn openapi_command_matches_the_committed_spec() {
    let out = bin().arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed"),
    )
    .unwrap();
    assert!(
        printed == committed,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
    assert!(printed["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[test]
fn normalize_maps_one_object_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cat.json");
    std::fs::write(&f, r#"{"id": 15, "name": "Clothing", "slug": "clothing", "parent": 0, "description": "", "display": "default", "image": null, "menu_order": 0, "count": 36}"#).unwrap();
    let out = bin()
        .args(["normalize", "woocommerce", "category"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["id"], "15");
    assert_eq!(v["name"], "Clothing");
    assert!(v["parent_id"].is_null() && v["description"].is_null());

    std::fs::write(&f, "{oops").unwrap();
    for args in [
        vec!["normalize", "woocommerce", "category", f.to_str().unwrap()],
        vec!["normalize", "woocommerce", "invoice", f.to_str().unwrap()],
        vec!["normalize", "nope", "order", f.to_str().unwrap()],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    }
}

#[tokio::test]
async fn sandbox_prints_postable_credentials_first() {
    let mut child = Proc(
        bin()
            .args(["sandbox", "woocommerce", "--orders", "5"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let banner = first_line(&mut child.0);
    assert_eq!(banner["platform"], "woocommerce");
    let gw = Gateway::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &banner["credentials"]).await;
    assert_eq!(
        c.ok(&format!("/v1/stores/{store}/orders/count")).await["count"],
        5
    );
}

#[tokio::test]
async fn demo_json_prints_a_working_setup() {
    let mut child = Proc(
        bin()
            .args(["demo", "--json"])
            .env("CARTGATE_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let info = first_line(&mut child.0);
    let c = Client {
        base: info["gateway_url"].as_str().unwrap().into(),
        key: info["api_key"].as_str().unwrap().into(),
        account_id: String::new(),
        key_id: String::new(),
    };
    let stores = info["stores"].as_array().unwrap();
    for platform in ["woocommerce", "magento", "shopify", "amazon"] {
        assert!(
            stores.iter().any(|s| s["platform"] == platform),
            "{platform} in {stores:?}"
        );
    }
    for s in stores {
        let id = s["id"].as_str().unwrap();
        let page = c.ok(&format!("/v1/stores/{id}/orders?limit=5")).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn admin_commands_work_directly_and_through_a_running_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let env = |c: &mut Command| {
        c.env("CARTGATE_DATA_DIR", dir.path())
            .env("CARTGATE_LISTEN", &listen)
            .env("CARTGATE_ADMIN_TOKEN", "tok");
    };
    // No gateway running: straight to the storage.
    let mut c = bin();
    env(&mut c);
    let out = c
        .args(["admin", "account", "create", "Acme", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let account = created["account_id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();

    let mut c = bin();
    env(&mut c);
    let _serve = Proc(
        c.arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://{listen}");
    for _ in 0..100 {
        if http().get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = Client {
        base: base.clone(),
        key: key.clone(),
        account_id: account.clone(),
        key_id: String::new(),
    };
    client.ok("/v1/stores").await;

    // Gateway running: through its /admin API, same environment.
    let mut c = bin();
    env(&mut c);
    let out = c
        .args(["admin", "key", "create", "--account", &account, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let k2: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut c = bin();
    env(&mut c);
    let out = c
        .args(["admin", "key", "list", "--account", &account, "--json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let first_key_id = list[0]["id"].as_str().unwrap();
    let mut c = bin();
    env(&mut c);
    let out = c
        .args(["admin", "key", "revoke", first_key_id])
        .output()
        .unwrap();
    assert!(out.status.success());
    client.get("/v1/stores").await.problem(401, "unauthorized");
    let c2 = Client {
        key: k2["api_key"].as_str().unwrap().into(),
        ..client.clone()
    };
    c2.ok("/v1/stores").await;

    let mut c = bin();
    env(&mut c);
    let out = c.args(["admin", "rotate-master-key"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c2.ok("/v1/stores").await;
}

/// `cartgate normalize` for every platform, on each crate's fixtures of every kind.
#[test]
fn normalize_every_platform_and_kind() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
    for (platform, fixtures) in [
        (
            "woocommerce",
            [
                "order_normal.json",
                "product_variable.json",
                "customer_with_addresses.json",
                "category_nested.json",
            ],
        ),
        (
            "shopify",
            [
                "order_partially_fulfilled.json",
                "product_variants.json",
                "customer_with_addresses.json",
                "collection.json",
            ],
        ),
        (
            "magento",
            [
                "order_normal.json",
                "product_configurable.json",
                "customer_with_addresses.json",
                "category.json",
            ],
        ),
    ] {
        for (kind, file) in ["order", "product", "customer", "category"]
            .iter()
            .zip(fixtures)
        {
            let path = root.join(platform).join("tests/fixtures").join(file);
            assert!(path.exists(), "{}", path.display());
            let out = bin()
                .args(["normalize", platform, kind])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{platform} {kind}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(v["id"].is_string(), "{platform} {kind}: {v}");
            assert!(v.get("raw").is_none());
        }
    }
}

#[test]
fn a_bad_webhook_retry_schedule_is_refused() {
    for schedule in ["5,abc", "0", "5,700000", &"1,".repeat(25)] {
        let out = bin()
            .args(["serve"])
            .env("CARTGATE_WEBHOOK_RETRY_SCHEDULE", schedule)
            .env("CARTGATE_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{schedule:?} was accepted");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("webhook_retry_schedule"), "{said}");
    }
}

/// A Shopify API version that is not a quarterly `YYYY-MM` release of 2026-01 or later
/// (environment or config file) stops `serve` before it listens, saying which and why.
#[test]
fn a_bad_shopify_api_version_is_refused() {
    for (version, says) in [
        ("2025-01", "older than 2026-01"),
        ("2026-08", "January, April, July and October"),
        ("latest", "YYYY-MM"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = bin()
            .arg("serve")
            .env("CARTGATE_DATA_DIR", dir.path())
            .env("CARTGATE_LISTEN", "127.0.0.1:0")
            .env("CARTGATE_SHOPIFY_API_VERSION", version)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{version} was accepted");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("shopify-api-version") && said.contains(says),
            "{version}: {said}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cartgate.toml");
    std::fs::write(&file, "shopify_api_version = \"2024-10\"\n").unwrap();
    let out = bin()
        .args(["serve", "--config"])
        .arg(&file)
        .env("CARTGATE_DATA_DIR", dir.path())
        .env("CARTGATE_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the file's version was accepted");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("shopify"), "{said}");
}

/// The configured Shopify API version is the path every Shopify call takes (the sandbox
/// counts the versions asked for) and the store info says so.
#[tokio::test]
async fn the_configured_shopify_api_version_is_spoken() {
    let gw = Gateway::start_with(|s| {
        s.shopify_api_version = cartgate_shopify::ApiVersion::parse("2026-07").unwrap();
    })
    .await;
    let sandbox = crate::platforms::start_sandbox(
        "shopify",
        cartgate_connector::sandbox::SandboxOptions::default(),
    )
    .await;
    let client = gw.account("acme").await;
    let store = client.connect("shopify", &sandbox.banner.credentials).await;
    let info = client.ok(&format!("/v1/stores/{store}/info")).await;
    assert_eq!(info["platform_version"], "Admin API 2026-07", "{info}");
    client
        .ok(&format!("/v1/stores/{store}/orders?limit=3"))
        .await;
    let asked: Value = reqwest::get(format!(
        "{}/__sandbox/api-versions",
        sandbox.banner.base_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let asked = asked["requested"].as_object().unwrap();
    assert!(asked["2026-07"].as_u64().unwrap() >= 2, "{asked:?}");
    assert_eq!(asked.len(), 1, "only the configured version: {asked:?}");

    // Without the setting: the default.
    let gw = Gateway::start().await;
    let client = gw.account("acme").await;
    let store = client.connect("shopify", &sandbox.banner.credentials).await;
    let info = client.ok(&format!("/v1/stores/{store}/info")).await;
    assert_eq!(
        info["platform_version"],
        format!("Admin API {}", cartgate_shopify::DEFAULT_API_VERSION)
    );
}

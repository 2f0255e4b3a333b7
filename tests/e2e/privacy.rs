//! After a full run against every platform's sandbox, no customer name, email or address and
//! no secret credential in clear appears anywhere in the data dir or in the gateway's logs (at
//! debug level).

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::cli::{bin, Proc};
use crate::harness::*;

pub fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.chars().count() >= 6 => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_of(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings_of(x, out)),
        _ => {}
    }
}

fn all_bytes(dir: &std::path::Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_bytes(&p, out);
        } else {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
}

#[tokio::test]
async fn no_store_data_or_secret_at_rest_or_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("gateway.log");
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(&log_path).unwrap();
    let serve = Proc(
        bin()
            .arg("serve")
            .env("CARTGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("CARTGATE_DATA_DIR", &data)
            .env("CARTGATE_ADMIN_TOKEN", "tok")
            .env("CARTGATE_ALLOW_PRIVATE_UPSTREAMS", "true")
            .env("CARTGATE_LOG", "debug")
            .env("CARTGATE_RATE_LIMIT_PER_SECOND", "10000")
            .env("CARTGATE_RATE_LIMIT_BURST", "10000")
            .env("CARTGATE_PUBLIC_URL", &base)
            .env("CARTGATE_POLL_INTERVAL_SECS", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if http().get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let acct: Value = http()
        .post(format!("{base}/admin/accounts"))
        .bearer_auth("tok")
        .json(&serde_json::json!({"name": "p"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = Client {
        base: base.clone(),
        key: acct["api_key"].as_str().unwrap().into(),
        account_id: String::new(),
        key_id: String::new(),
    };
    // A webhook subscriber: events carry customer data through the gateway.
    let rx = crate::receiver::Receiver::start().await;
    let sub = c
        .post("/v1/webhooks", serde_json::json!({ "url": rx.url }))
        .await;
    assert_eq!(sub.status.as_u16(), 201, "{sub:?}");
    // Every platform: a full run of reads with raw payloads, filters carrying PII, a write.
    let mut needles = Vec::new();
    let mut sandboxes = Vec::new();
    for platform in cartgate::Registry::builtin().ids() {
        let sandbox = crate::platforms::start_sandbox(platform, Default::default()).await;
        let creds = sandbox.banner.credentials.clone();
        let store = c.connect(platform, &creds).await;
        let p = |rest: &str| format!("/v1/stores/{store}{rest}");
        let orders = c.all(&p("/orders?limit=50&include=raw")).await;
        // eBay and Amazon have no customers (501): their buyers are on their orders.
        let has_customers = cartgate::Registry::builtin()
            .get(platform)
            .unwrap()
            .connector
            .descriptor()
            .operations
            .contains(&"customers.list");
        let customers = if has_customers {
            c.all(&p("/customers?limit=50&include=raw")).await
        } else {
            Vec::new()
        };
        c.all(&p("/products?limit=50")).await;
        for cu in &customers {
            if let Some(email) = cu["email"].as_str() {
                let q: String = url::form_urlencoded::byte_serialize(email.as_bytes()).collect();
                c.ok(&p(&format!("/customers?email={q}"))).await;
            }
        }
        let oid = orders[0]["id"].as_str().unwrap();
        c.ok(&p(&format!("/orders/{oid}?include=raw"))).await;
        // Amazon's filters carry buyer data too.
        for o in orders.iter().take(3) {
            if let Some(t) = o["updated_at"].as_str() {
                c.ok(&p(&format!("/orders?updated_from={t}&limit=5"))).await;
            }
        }
        c.get(&p("/orders/does-not-exist")).await;
        // A write with an Idempotency-Key, retried: its record holds no store data and no
        // key in clear.
        let key = format!("privacy-retry-key-{platform}");
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let r = http()
                .post(format!("{base}{}", p(&format!("/orders/{oid}/shipments"))))
                .bearer_auth(&c.key)
                .header("idempotency-key", &key)
                .json(&serde_json::json!({"carrier": "UPS", "tracking_number": "1Z-PRIVACY"}))
                .send()
                .await
                .unwrap();
            statuses.push(r.status());
        }
        assert_eq!(
            statuses[0], statuses[1],
            "{platform}: the retry answers the same"
        );
        needles.push(key);

        // What must not leak: customers' emails, names and addresses, and secret credentials.
        let mut seen = Vec::new();
        for x in customers.iter().chain(orders.iter()) {
            for key in ["customer", "billing_address", "shipping_address"] {
                strings_of(&x[key], &mut seen);
            }
            for key in ["email", "addresses"] {
                strings_of(&x[key], &mut seen);
            }
            if let (Some(f), Some(l)) = (x["first_name"].as_str(), x["last_name"].as_str()) {
                seen.push(format!("{f} {l}"));
            }
        }
        seen.retain(|s| s.contains('@') || s.contains(' ') || !s.is_ascii());
        assert!(
            seen.len() > 20,
            "{platform}: the run saw customer data: {}",
            seen.len()
        );
        needles.extend(seen);
        let descriptor = &cartgate::Registry::builtin()
            .get(platform)
            .unwrap()
            .connector
            .descriptor();
        for field in descriptor.credential_fields.iter().filter(|f| f.secret) {
            if let Some(secret) = creds[field.name].as_str() {
                needles.push(secret.to_owned());
            }
        }
        let event = if has_customers {
            "customer.created"
        } else {
            "order.created"
        };
        sandboxes.push((sandbox, store, event));
    }
    // Changes in every shop reach the subscriber, pushed or polled (the first poll only sets
    // the watermarks, so wait for it); what they carried must not be at rest either. A new
    // customer where the platform has customers, else a new order with its buyer.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (sandbox, _, event) in &sandboxes {
        let r = http()
            .post(format!(
                "{}/__sandbox/simulate",
                sandbox.banner.base_url.trim_end_matches('/')
            ))
            .json(&serde_json::json!({ "event": event }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let got = rx
        .wait_for(
            Duration::from_secs(30),
            "a customer.created (or, without customers, order.created) per platform",
            |g| {
                sandboxes.iter().all(|(_, store, event)| {
                    g.iter().any(|r| {
                        let e = r.json();
                        e["type"] == *event && e["store_id"] == store.as_str()
                    })
                })
            },
        )
        .await;
    for r in got.iter().filter(|r| {
        let t = r.json()["type"].clone();
        t == "customer.created" || t == "order.created"
    }) {
        let mut seen = Vec::new();
        let data = r.json()["data"].clone();
        for key in [
            "email",
            "addresses",
            "customer",
            "billing_address",
            "shipping_address",
        ] {
            strings_of(&data[key], &mut seen);
        }
        seen.retain(|s| s.contains('@') || s.contains(' ') || !s.is_ascii());
        needles.extend(seen);
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // the request log is written in batches
    drop(serve);
    needles.sort();
    needles.dedup();

    let mut haystack = Vec::new();
    all_bytes(&data, &mut haystack);
    let logs = std::fs::read(&log_path).unwrap();
    assert!(!logs.is_empty(), "the gateway logged at debug level");
    for (what, bytes) in [("data dir", &haystack), ("gateway log", &logs)] {
        for n in &needles {
            let found = bytes.windows(n.len()).any(|w| w == n.as_bytes());
            assert!(!found, "{n:?} found in the {what}");
        }
    }
}

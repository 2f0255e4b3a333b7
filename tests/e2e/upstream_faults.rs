//! Upstream faults injected by the sandbox: reads survive transient faults through retries
//! (hangs included, within the request's upstream deadline); a lasting outage answers
//! upstream_unavailable quickly instead of hanging; a store at its concurrency limit answers
//! upstream_busy after a bounded queue wait.

use std::time::{Duration, Instant};

use cartgate_connector::sandbox::SandboxOptions;
use futures::StreamExt;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn transient_faults_are_retried() {
    let w = World::new().await;
    for kind in ["server_error", "rate_limited", "truncated"] {
        w.woo.faults(json!({"kind": kind, "count": 2})).await;
        let r = w.client.get(&w.path("/orders?limit=5")).await;
        assert_eq!(r.status.as_u16(), 200, "{kind}: {r:?}");
        assert_eq!(r.body["data"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn a_lasting_outage_fails_fast() {
    let gw = Gateway::start_with(|s| s.upstream_max_retry_wait_secs = 2).await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "server_error"})).await;
    let t = Instant::now();
    c.get(&format!("/v1/stores/{store}/orders"))
        .await
        .problem(503, "upstream_unavailable");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_platform_times_out() {
    let gw = Gateway::start_with(|s| {
        s.upstream_timeout_secs = 1;
        s.upstream_max_retry_wait_secs = 1;
    })
    .await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "timeout"})).await;
    let t = Instant::now();
    c.get(&format!("/v1/stores/{store}/orders/1"))
        .await
        .problem(503, "upstream_unavailable");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
}

/// One upstream attempt times out (longer than the whole retry-wait budget): it is retried,
/// because only the waits between attempts count against that budget.
#[tokio::test]
async fn a_timed_out_attempt_is_retried() {
    let gw = Gateway::start_with(|s| {
        s.upstream_timeout_secs = 1;
        s.upstream_max_retry_wait_secs = 1;
    })
    .await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "timeout", "count": 1})).await;
    let t = Instant::now();
    let r = c.get(&format!("/v1/stores/{store}/orders?limit=2")).await;
    assert_eq!(r.status.as_u16(), 200, "{r:?}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
}

/// An attempt timeout longer than the request's upstream deadline is cut at the deadline:
/// a hanging platform is answered as 503 upstream_unavailable before the gateway's own
/// request timeout (504) strikes.
#[tokio::test]
async fn a_hanging_platform_is_answered_before_the_request_timeout() {
    let gw = Gateway::start_with(|s| {
        s.request_timeout_secs = 6; // upstream deadline: 3 s (half of it)
        s.upstream_timeout_secs = 20;
    })
    .await;
    assert_eq!(gw.state.upstream.config().deadline, Duration::from_secs(3));
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "timeout"})).await;
    let t = Instant::now();
    c.get(&format!("/v1/stores/{store}/orders/1"))
        .await
        .problem(503, "upstream_unavailable");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "took {took:?}"
    );
}

/// With the store's upstream slots all held by hanging calls, another request waits the
/// queue wait and answers 503 upstream_busy with Retry-After, long before any timeout;
/// the held request ends at its deadline as upstream_unavailable.
#[tokio::test]
async fn a_store_at_its_concurrency_limit_answers_upstream_busy() {
    let gw = Gateway::start_with(|s| {
        s.upstream_concurrency_per_store = 1;
        s.upstream_queue_wait_secs = 1;
        s.upstream_deadline_secs = Some(4);
    })
    .await;
    let woo = WooSandbox::start().await;
    let c = gw.account("a").await;
    let store = c.connect("woocommerce", &woo.credentials()).await;
    woo.faults(json!({"kind": "timeout"})).await;
    let held = {
        // A list read is one upstream call (an order read is two, in parallel).
        let (c, path) = (c.clone(), format!("/v1/stores/{store}/orders?limit=2"));
        tokio::spawn(async move {
            let t = Instant::now();
            (c.get(&path).await, t.elapsed())
        })
    };
    // The held request is at the sandbox once the sandbox has counted it.
    let stats = format!("{}/__sandbox/stats", woo.base());
    let t = Instant::now();
    loop {
        let s: serde_json::Value = http()
            .get(&stats)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["requests"].as_u64().unwrap() > 0 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the first request never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = Instant::now();
    let r = c.get(&format!("/v1/stores/{store}/orders?limit=3")).await;
    r.problem(503, "upstream_busy");
    assert_eq!(r.headers.get("retry-after").unwrap(), "1");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    let (r, took) = held.await.unwrap();
    r.problem(503, "upstream_unavailable");
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

/// The goal of the retry contract, on every platform: with 10% of upstream requests
/// meeting a random fault (server errors, hangs, slow answers, 429s, cut bodies), at least
/// 99.9% of reads succeed, and every other answer is a stable upstream code that arrives
/// within the upstream deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_absorb_a_ten_percent_fault_rate_on_every_platform() {
    const READS_PER_PLATFORM: usize = 350;
    const IN_FLIGHT_PER_PLATFORM: usize = 8;
    let gw = Gateway::start_with(|s| {
        // The sandbox's hang lasts 30 s and its slow answer 1.5 s: attempts of 3 s let a
        // slow answer through and cut a hang short. The retry waits may sum to 3 s (three
        // 429s with Retry-After: 1).
        s.upstream_timeout_secs = 3;
        s.upstream_max_retry_wait_secs = 3;
    })
    .await;
    let deadline = gw.state.upstream.config().deadline;
    let c = gw.account("a").await;

    let mut runs = Vec::new();
    for platform in cartgate::Registry::builtin().ids() {
        let sandbox = crate::platforms::start_sandbox(platform, SandboxOptions::default()).await;
        let store = c.connect(platform, &sandbox.banner.credentials).await;
        let base = format!("/v1/stores/{store}");
        let mut paths = vec![
            format!("{base}/orders?limit=5"),
            format!("{base}/products?limit=5"),
        ];
        for kind in ["orders", "products"] {
            let page = c.ok(&format!("{base}/{kind}?limit=10")).await;
            for item in page["data"].as_array().unwrap() {
                paths.push(format!("{base}/{kind}/{}", item["id"].as_str().unwrap()));
            }
        }
        let control = format!(
            "{}/__sandbox",
            sandbox.banner.base_url.trim_end_matches('/')
        );
        let r = http()
            .put(format!("{control}/faults"))
            .json(&json!({"rate": 0.1}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        runs.push((platform, sandbox, control, paths));
    }

    let started = Instant::now();
    let results = futures::future::join_all(runs.iter().map(|(platform, _, _, paths)| {
        let c = c.clone();
        async move {
            let answers: Vec<(Resp, Duration)> =
                futures::stream::iter((0..READS_PER_PLATFORM).map(|i| {
                    let c = c.clone();
                    let path = paths[i % paths.len()].clone();
                    async move {
                        let t = Instant::now();
                        (c.get(&path).await, t.elapsed())
                    }
                }))
                .buffer_unordered(IN_FLIGHT_PER_PLATFORM)
                .collect()
                .await;
            (*platform, answers)
        }
    }))
    .await;
    let wall = started.elapsed();

    let mut total = 0;
    let mut failed = Vec::new();
    for (platform, answers) in &results {
        for (r, took) in answers {
            total += 1;
            if r.status.as_u16() == 200 {
                continue;
            }
            failed.push(format!("{platform}: {r:?} after {took:?}"));
            assert!(
                [
                    "upstream_unavailable",
                    "upstream_rate_limited",
                    "upstream_busy"
                ]
                .contains(&r.body["code"].as_str().unwrap_or("")),
                "{platform}: {r:?}"
            );
            r.problem(r.status.as_u16(), r.body["code"].as_str().unwrap());
            assert!(
                *took <= deadline + Duration::from_secs(2),
                "{platform}: {took:?}"
            );
        }
    }
    let mut injected = 0;
    for (platform, _, control, _) in &runs {
        let stats: serde_json::Value = http()
            .get(format!("{control}/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (requests, faults) = (
            stats["requests"].as_u64().unwrap(),
            stats["faults_injected"].as_u64().unwrap(),
        );
        eprintln!("{platform}: {requests} upstream requests, {faults} faults injected");
        assert!(
            faults * 20 >= requests,
            "{platform}: faults were injected: {stats}"
        );
        injected += faults;
    }
    eprintln!(
        "{total} reads in {wall:?}: {} failed, {injected} faults injected",
        failed.len()
    );
    assert!(
        failed.len() * 1000 <= total,
        "fewer than 99.9% of {total} reads succeeded: {failed:#?}"
    );
    assert!(wall < Duration::from_secs(60), "took {wall:?}");
}

//! Lists the gateway keeps itself scale with the page, not with the data: the time to read
//! one page of 50 of an account's stores (`GET /v1/stores`' storage call) in a store of
//! 100 stores, against the same page in a store of 100,000 stores over 1,000 accounts. For
//! reference it also times the full scan the embedded store did before the per-account
//! index (read every store, keep the account's).
//!
//!   cargo bench --bench lists                                   # embedded store
//!   CARTGATE_BENCH_REDIS_URL=redis://127.0.0.1:6379/ cargo bench --bench lists
//!   STORES=20000 ROUNDS=500 cargo bench --bench lists
//!
//! The large store is loaded in bulk (one redb transaction, or one Redis pipeline) in the
//! layout of a version without the index, so opening it also exercises the index build.
//! The Redis run uses database 15 of the given server and flushes it before and after.

use std::time::{Duration, Instant};

use cartgate::crypto::MasterKey;
use cartgate::storage::embedded::EmbeddedStorage;
use cartgate::storage::redis::RedisStorage;
use cartgate::storage::{Storage, StoreRecord, StoreStatus};
use chrono::Utc;

const PAGE: usize = 50;
const PER_ACCOUNT: usize = 100;

fn record(account: usize, n: usize, sealed: &cartgate::crypto::Sealed) -> StoreRecord {
    let now = Utc::now();
    StoreRecord {
        // UUIDv7-like: ordered by creation within an account.
        id: format!("st_{account:06}{n:026}"),
        account_id: format!("ac_{account:06}"),
        platform: "woocommerce".into(),
        name: format!("Store {n}"),
        credentials: sealed.clone(),
        status: StoreStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
        native_webhooks: None,
    }
}

/// Mean time of one page read of the middle account, over `rounds` reads of pages spread
/// over its stores.
async fn page_time(s: &dyn Storage, accounts: usize, rounds: usize) -> Duration {
    let account = format!("ac_{:06}", accounts / 2);
    let started = Instant::now();
    for i in 0..rounds {
        let after = (i % 2 == 1).then(|| format!("st_{:06}{:026}", accounts / 2, 25));
        let page = s
            .list_stores(&account, after.as_deref(), PAGE)
            .await
            .expect("page");
        assert_eq!(page.len(), PAGE, "a full page");
    }
    started.elapsed() / rounds as u32
}

fn embedded_with(dir: &std::path::Path, accounts: usize) -> EmbeddedStorage {
    let path = dir.join(format!("lists-{accounts}.redb"));
    let sealed = MasterKey::generate().seal(b"{}", "store:bench");
    {
        let db = redb::Database::create(&path).expect("db");
        let tx = db.begin_write().expect("tx");
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("stores");
            let mut t = tx.open_table(def).expect("table");
            for a in 0..accounts {
                for n in 0..PER_ACCOUNT {
                    let r = record(a, n, &sealed);
                    t.insert(r.id.as_str(), serde_json::to_vec(&r).unwrap().as_slice())
                        .expect("insert");
                }
            }
        }
        tx.commit().expect("commit");
    }
    EmbeddedStorage::open(&path).expect("open builds the index")
}

/// The embedded store's list before the index: every store read, the account's kept.
fn full_scan(dir: &std::path::Path, accounts: usize, rounds: usize) -> Duration {
    let db = redb::Database::open(dir.join(format!("lists-{accounts}.redb"))).expect("db");
    let account = format!("ac_{:06}", accounts / 2);
    let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("stores");
    let started = Instant::now();
    for _ in 0..rounds {
        let tx = db.begin_read().expect("tx");
        let t = tx.open_table(def).expect("table");
        let mut mine: Vec<StoreRecord> = Vec::new();
        for row in redb::ReadableTable::iter(&t).expect("iter") {
            let (_, v) = row.expect("row");
            let r: StoreRecord = serde_json::from_slice(v.value()).expect("record");
            if r.account_id == account {
                mine.push(r);
            }
        }
        mine.sort_by(|a, b| a.id.cmp(&b.id));
        mine.truncate(PAGE);
        assert_eq!(mine.len(), PAGE);
    }
    started.elapsed() / rounds as u32
}

async fn redis_with(url: &str, accounts: usize) -> RedisStorage {
    let client = ::redis::Client::open(url).expect("redis url");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: () = ::redis::cmd("FLUSHDB").query_async(&mut c).await.unwrap();
    let sealed = MasterKey::generate().seal(b"{}", "store:bench");
    for a in 0..accounts {
        let mut pipe = ::redis::pipe();
        for n in 0..PER_ACCOUNT {
            let r = record(a, n, &sealed);
            pipe.set(
                format!("cg:{{cg}}:store:{}", r.id),
                serde_json::to_string(&r).unwrap(),
            )
            .ignore()
            .zadd(
                format!("cg:{{cg}}:account-store-ids:{}", r.account_id),
                &r.id,
                0,
            )
            .ignore();
        }
        let _: () = pipe.query_async(&mut c).await.unwrap();
    }
    let conn = cartgate::storage::redis::connect(url).expect("connect");
    RedisStorage::new(conn, Duration::from_secs(3600))
}

fn redis_db15(url: &str) -> String {
    let mut u = url::Url::parse(url).expect("redis url");
    u.set_path("/15");
    u.to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let large_accounts = env("STORES", 100_000) / PER_ACCOUNT;
    let rounds = env("ROUNDS", 2_000);
    let dir = tempfile::tempdir()?;

    let small = embedded_with(dir.path(), 1);
    let large = embedded_with(dir.path(), large_accounts);
    // Warm both (redb's cache), then measure.
    page_time(&small, 1, 50).await;
    page_time(&large, large_accounts, 50).await;
    let t_small = page_time(&small, 1, rounds).await;
    let t_large = page_time(&large, large_accounts, rounds).await;
    drop((small, large));
    let scan_rounds = (rounds / 100).max(3);
    let scan_small = full_scan(dir.path(), 1, scan_rounds);
    let scan_large = full_scan(dir.path(), large_accounts, scan_rounds);
    let total = large_accounts * PER_ACCOUNT;
    println!(
        "embedded: a page of {PAGE} stores: {t_small:?} with {PER_ACCOUNT} stores, {t_large:?} \
         with {total} stores over {large_accounts} accounts: ratio {:.2}x",
        t_large.as_secs_f64() / t_small.as_secs_f64()
    );
    println!(
        "embedded, full scan as before the index: {scan_small:?} with {PER_ACCOUNT} stores, \
         {scan_large:?} with {total}: ratio {:.0}x",
        scan_large.as_secs_f64() / scan_small.as_secs_f64()
    );

    if let Ok(url) = std::env::var("CARTGATE_BENCH_REDIS_URL") {
        let url = redis_db15(&url);
        let small = redis_with(&url, 1).await;
        page_time(&small, 1, 50).await;
        let r_small = page_time(&small, 1, rounds).await;
        let large = redis_with(&url, large_accounts).await;
        page_time(&large, large_accounts, 50).await;
        let r_large = page_time(&large, large_accounts, rounds).await;
        println!(
            "redis: a page of {PAGE} stores: {r_small:?} with {PER_ACCOUNT} stores, {r_large:?} \
             with {total} stores: ratio {:.2}x",
            r_large.as_secs_f64() / r_small.as_secs_f64()
        );
        let client = ::redis::Client::open(url.as_str())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        let _: () = ::redis::cmd("FLUSHDB").query_async(&mut c).await?;
    }
    Ok(())
}

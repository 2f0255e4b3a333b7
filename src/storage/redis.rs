//! Redis storage: many gateway instances sharing one Redis (`CARTGATE_REDIS_URL`).
//!
//! # Key design
//!
//! Every key starts with `cg:`. Values are the same JSON records the embedded store keeps;
//! credentials and gateway secrets are sealed (AES-256-GCM) before they get here, so Redis
//! never holds a secret or a store's data in clear.
//!
//! The control plane (accounts, API keys, stores, sealed meta) is small — a few hundred bytes
//! per record — and shares the hash tag `{cg}`, so that the writes that touch several keys
//! (a key and its digest index, a store and its account's set, a master-key rotation that
//! re-seals everything) are single `MULTI`/`EXEC` transactions even on Redis Cluster:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:{cg}:account:<account_id>` | string | account record |
//! | `cg:{cg}:apikey:<key_id>` | string | API-key record (HMAC digest, never the key) |
//! | `cg:{cg}:apikey-digest:<hex digest>` | string | key id |
//! | `cg:{cg}:account-keys:<account_id>` | set | key ids |
//! | `cg:{cg}:store:<store_id>` | string | store record, credentials sealed |
//! | `cg:{cg}:account-stores:<account_id>` | set | store ids |
//! | `cg:{cg}:stores` | set | every store id (rotation) |
//! | `cg:{cg}:meta:<name>` | string | sealed gateway secrets |
//! | `cg:{cg}:metas` | set | meta names (rotation) |
//!
//! The traffic-heavy keys are spread over the cluster, one slot per account or bucket:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:log:{<account_id>}` | sorted set | request-log entries scored by time (µs) |
//! | `cg:idem:{<account_id>}:<hmac of key>` | string | idempotency-key record, no body; expires by itself (lease, then retention) |
//!
//! Log retention is enforced by Redis itself: each append trims entries older than the
//! retention from that account's set and sets the key to expire one retention after its last
//! write, so an idle account's log disappears without any gateway running. The gateway's
//! hourly purge (`purge_logs`) is a second, belt-and-braces pass.
//!
//! The API rate limit (`cg:rl:…`) and the upstream budgets (`cg:pace:…`) share this Redis
//! but are not storage: their keys are documented in `src/ratelimit/`.
//!
//! Durability: what Redis acknowledged survives a restart when Redis persists it
//! (`appendonly yes`; `appendfsync always` to lose nothing, `everysec` to lose at most a
//! second). The tests run Redis with `appendonly yes` and `appendfsync always`.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::AsyncCommands;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;

/// How long one Redis command may take before the request fails with `storage_unavailable`.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

fn to_json<T: Serialize>(v: &T) -> StorageResult<String> {
    serde_json::to_string(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(s: &str) -> StorageResult<T> {
    serde_json::from_str(s).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

mod keys {
    pub fn account(id: &str) -> String {
        format!("cg:{{cg}}:account:{id}")
    }
    pub fn api_key(id: &str) -> String {
        format!("cg:{{cg}}:apikey:{id}")
    }
    pub fn digest(d: &str) -> String {
        format!("cg:{{cg}}:apikey-digest:{d}")
    }
    pub fn account_keys(account: &str) -> String {
        format!("cg:{{cg}}:account-keys:{account}")
    }
    pub fn store(id: &str) -> String {
        format!("cg:{{cg}}:store:{id}")
    }
    pub fn account_stores(account: &str) -> String {
        format!("cg:{{cg}}:account-stores:{account}")
    }
    pub const STORES: &str = "cg:{cg}:stores";
    pub fn meta(name: &str) -> String {
        format!("cg:{{cg}}:meta:{name}")
    }
    pub const METAS: &str = "cg:{cg}:metas";
    pub fn log(account: &str) -> String {
        format!("cg:log:{{{account}}}")
    }
    pub const LOG_PATTERN: &str = "cg:log:*";
}

/// Connects lazily and reconnects by itself: while Redis is away every call fails fast with
/// `Unavailable` (after [`RESPONSE_TIMEOUT`] at most), and the first call after it returns
/// succeeds again.
pub fn connect(url: &str) -> StorageResult<ConnectionManager> {
    let client = ::redis::Client::open(url).map_err(|e| {
        StorageError::Unavailable(format!("CARTGATE_REDIS_URL is not a Redis URL: {e}"))
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)
}

#[derive(Clone)]
pub struct RedisStorage {
    conn: ConnectionManager,
    retention: Duration,
}

impl RedisStorage {
    /// `retention`: how long request-log entries are kept (Redis trims and expires past it).
    pub fn new(conn: ConnectionManager, retention: Duration) -> Self {
        RedisStorage { conn, retention }
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    async fn get_json<T: DeserializeOwned>(&self, key: String) -> StorageResult<Option<T>> {
        let v: Option<String> = self.conn().get(key).await.map_err(unavailable)?;
        v.as_deref().map(from_json).transpose()
    }

    async fn get_many<T: DeserializeOwned>(&self, keys: Vec<String>) -> StorageResult<Vec<T>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One slot ({cg}): MGET is fine on Cluster too.
        let vals: Vec<Option<String>> = self.conn().mget(keys).await.map_err(unavailable)?;
        vals.into_iter().flatten().map(|v| from_json(&v)).collect()
    }
}

#[async_trait]
impl Storage for RedisStorage {
    async fn put_account(&self, a: &AccountRecord) -> StorageResult<()> {
        let _: () = self
            .conn()
            .set(keys::account(&a.id), to_json(a)?)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_account(&self, id: &str) -> StorageResult<Option<AccountRecord>> {
        self.get_json(keys::account(id)).await
    }

    async fn put_api_key(&self, k: &ApiKeyRecord) -> StorageResult<()> {
        let _: () = ::redis::pipe()
            .atomic()
            .set(keys::api_key(&k.id), to_json(k)?)
            .ignore()
            .set(keys::digest(&k.digest), &k.id)
            .ignore()
            .sadd(keys::account_keys(&k.account_id), &k.id)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> StorageResult<Option<ApiKeyRecord>> {
        self.get_json(keys::api_key(id)).await
    }

    async fn find_api_key(&self, digest: &str) -> StorageResult<Option<ApiKeyRecord>> {
        // One round trip: the digest index and the record it points at.
        const FIND: &str = r#"
            local id = redis.call('GET', KEYS[1])
            if not id then return false end
            return redis.call('GET', ARGV[1] .. id)
        "#;
        let v: Option<String> = ::redis::Script::new(FIND)
            .key(keys::digest(digest))
            .arg(keys::api_key(""))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let record: Option<ApiKeyRecord> = v.as_deref().map(from_json).transpose()?;
        Ok(record.filter(|r| r.digest == digest))
    }

    async fn list_api_keys(&self, account_id: &str) -> StorageResult<Vec<ApiKeyRecord>> {
        let ids: Vec<String> = self
            .conn()
            .smembers(keys::account_keys(account_id))
            .await
            .map_err(unavailable)?;
        let mut out: Vec<ApiKeyRecord> = self
            .get_many(ids.iter().map(|i| keys::api_key(i)).collect())
            .await?;
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        const INSERT: &str = r#"
            if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
                redis.call('SADD', KEYS[2], ARGV[2])
                redis.call('SADD', KEYS[3], ARGV[2])
                return 1
            end
            return 0
        "#;
        let created: u32 = ::redis::Script::new(INSERT)
            .key(keys::store(&s.id))
            .key(keys::account_stores(&s.account_id))
            .key(keys::STORES)
            .arg(to_json(s)?)
            .arg(&s.id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(created == 1)
    }

    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome> {
        let next = StoreRecord {
            version: s.version + 1,
            ..s.clone()
        };
        let outcome: Vec<i32> = ::redis::Script::new(CAS_STORES)
            .key(keys::store(&s.id))
            .arg(s.version)
            .arg(to_json(&next)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match outcome.first() {
            Some(0) => CasOutcome::Written,
            Some(1) => CasOutcome::Stale,
            _ => CasOutcome::Missing,
        })
    }

    async fn get_store(&self, id: &str) -> StorageResult<Option<StoreRecord>> {
        self.get_json(keys::store(id)).await
    }

    async fn list_stores(&self, account_id: &str) -> StorageResult<Vec<StoreRecord>> {
        let ids: Vec<String> = self
            .conn()
            .smembers(keys::account_stores(account_id))
            .await
            .map_err(unavailable)?;
        let mut out: Vec<StoreRecord> = self
            .get_many(ids.iter().map(|i| keys::store(i)).collect())
            .await?;
        out.retain(|s| s.account_id == account_id);
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn delete_store(&self, id: &str) -> StorageResult<bool> {
        let Some(s) = self.get_store(id).await? else {
            return Ok(false);
        };
        let (deleted,): (u32,) = ::redis::pipe()
            .atomic()
            .del(keys::store(id))
            .srem(keys::account_stores(&s.account_id), id)
            .ignore()
            .srem(keys::STORES, id)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }

    async fn get_meta(&self, key: &str) -> StorageResult<Option<Sealed>> {
        self.get_json(keys::meta(key)).await
    }

    async fn put_meta(&self, key: &str, value: &Sealed) -> StorageResult<()> {
        let _: () = ::redis::pipe()
            .atomic()
            .set(keys::meta(key), to_json(value)?)
            .ignore()
            .sadd(keys::METAS, key)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_meta_if_absent(&self, key: &str, value: &Sealed) -> StorageResult<bool> {
        const SETNX: &str = r#"
            if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
                redis.call('SADD', KEYS[2], ARGV[2])
                return 1
            end
            return 0
        "#;
        let created: u32 = ::redis::Script::new(SETNX)
            .key(keys::meta(key))
            .key(keys::METAS)
            .arg(to_json(value)?)
            .arg(key)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(created == 1)
    }

    async fn all_sealed(&self) -> StorageResult<SealedSet> {
        let ids: Vec<String> = self
            .conn()
            .smembers(keys::STORES)
            .await
            .map_err(unavailable)?;
        let stores = self
            .get_many(ids.iter().map(|i| keys::store(i)).collect())
            .await?;
        let names: Vec<String> = self
            .conn()
            .smembers(keys::METAS)
            .await
            .map_err(unavailable)?;
        let mut meta = Vec::with_capacity(names.len());
        for name in names {
            if let Some(v) = self.get_meta(&name).await? {
                meta.push((name, v));
            }
        }
        Ok(SealedSet { stores, meta })
    }

    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Vec<String>> {
        // The stores compare-and-set in one script (their keys share the `{cg}` slot); the
        // meta values are written as they are.
        let script = ::redis::Script::new(CAS_STORES);
        let mut stores = script.prepare_invoke();
        for s in &set.stores {
            let next = StoreRecord {
                version: s.version + 1,
                ..s.clone()
            };
            stores
                .key(keys::store(&s.id))
                .arg(s.version)
                .arg(to_json(&next)?);
        }
        let outcomes: Vec<i32> = if set.stores.is_empty() {
            Vec::new()
        } else {
            stores
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?
        };
        if !set.meta.is_empty() {
            let mut pipe = ::redis::pipe();
            pipe.atomic();
            for (k, v) in &set.meta {
                pipe.set(keys::meta(k), to_json(v)?).ignore();
            }
            let _: () = pipe
                .query_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
        }
        Ok(set
            .stores
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| *o != 0)
            .map(|(s, _)| s.id.clone())
            .collect())
    }

    async fn append_logs(&self, entries: &[LogRecord]) -> StorageResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let retention_ms = self.retention.as_millis() as i64;
        let cutoff = micros(Utc::now()) - retention_ms * 1000;
        let mut by_account: std::collections::BTreeMap<&str, Vec<&LogRecord>> = Default::default();
        for e in entries {
            by_account.entry(&e.account_id).or_default().push(e);
        }
        // Not one transaction across accounts (their keys live in different slots); each
        // account's part is atomic.
        let mut pipe = ::redis::pipe();
        for (account, items) in by_account {
            let key = keys::log(account);
            pipe.cmd("MULTI").ignore();
            for e in items {
                pipe.zadd(&key, to_json(e)?, micros(e.at)).ignore();
            }
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({cutoff}"))
                .ignore();
            pipe.pexpire(&key, retention_ms).ignore();
            pipe.cmd("EXEC").ignore();
        }
        let _: () = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn list_logs(&self, account_id: &str, q: &LogQuery) -> StorageResult<Vec<LogRecord>> {
        const BATCH: isize = 256;
        let key = keys::log(account_id);
        let max = match (&q.before, q.to) {
            (Some((at, _)), _) => micros(*at).to_string(),
            (None, Some(to)) => micros(to).to_string(),
            (None, None) => "+inf".to_owned(),
        };
        let min = q.from.map_or("-inf".to_owned(), |f| micros(f).to_string());
        let mut out = Vec::new();
        let mut offset: isize = 0;
        while out.len() < q.limit {
            let page: Vec<String> = self
                .conn()
                .zrevrangebyscore_limit(&key, &max, &min, offset, BATCH)
                .await
                .map_err(unavailable)?;
            let n = page.len();
            for raw in page {
                let e: LogRecord = from_json(&raw)?;
                if !q.matches(&e) {
                    continue;
                }
                out.push(e);
                if out.len() >= q.limit {
                    break;
                }
            }
            if (n as isize) < BATCH {
                break;
            }
            offset += BATCH;
        }
        // Same score: newest first by id, like the embedded store's key order.
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let mut conn = self.conn();
        let mut log_keys = Vec::new();
        {
            let mut iter: ::redis::AsyncIter<String> = conn
                .scan_match(keys::LOG_PATTERN)
                .await
                .map_err(unavailable)?;
            while let Some(k) = futures::StreamExt::next(&mut iter).await {
                log_keys.push(k.map_err(unavailable)?);
            }
        }
        let mut n = 0u64;
        for key in log_keys {
            let removed: u64 = ::redis::cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({}", micros(before)))
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            n += removed;
        }
        Ok(n)
    }

    async fn ping(&self) -> StorageResult<()> {
        let _: String = ::redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    // ---- Idempotency keys: `cg:idem:{<account_id>}:<key digest>`, expired by Redis (PX).

    async fn idempotency_begin(
        &self,
        account_id: &str,
        key_digest: &str,
        claim: &IdempotencyRecord,
    ) -> StorageResult<IdempotencyBegin> {
        // SET NX with the lease as PX, or the record that holds the key.
        const BEGIN: &str = r#"
            local v = redis.call('GET', KEYS[1])
            if v then return v end
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return false
        "#;
        let existing: Option<String> = ::redis::Script::new(BEGIN)
            .key(idempotency_key(account_id, key_digest))
            .arg(to_json(claim)?)
            .arg(millis_until(claim.expires_at))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match existing {
            None => IdempotencyBegin::Started,
            Some(v) => IdempotencyBegin::of_existing(from_json(&v)?, &claim.fingerprint),
        })
    }

    async fn idempotency_complete(
        &self,
        account_id: &str,
        key_digest: &str,
        done: &IdempotencyRecord,
    ) -> StorageResult<bool> {
        self.idempotency_settle(
            idempotency_key(account_id, key_digest),
            &done.owner,
            Some((to_json(done)?, millis_until(done.expires_at))),
        )
        .await
    }

    async fn idempotency_release(
        &self,
        account_id: &str,
        key_digest: &str,
        owner: &str,
    ) -> StorageResult<bool> {
        self.idempotency_settle(idempotency_key(account_id, key_digest), owner, None)
            .await
    }

    async fn purge_idempotency(&self, _now: DateTime<Utc>) -> StorageResult<u64> {
        Ok(0) // Redis expires every record by itself (PX).
    }
}

/// Compare-and-set of store records. For each key i: ARGV[2i-1] is the version the caller
/// read, ARGV[2i] the record to write. Writes only where the stored record exists and still
/// has that version (`version` absent reads as 0, like serde's default). Answers per key
/// 0 written, 1 stale, 2 missing.
const CAS_STORES: &str = r#"
local out = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if not current then
    out[i] = 2
  elseif tonumber(cjson.decode(current).version or 0) ~= tonumber(ARGV[2 * i - 1]) then
    out[i] = 1
  else
    redis.call('SET', key, ARGV[2 * i])
    out[i] = 0
  end
end
return out
"#;

// ---- Idempotency keys.

fn idempotency_key(account_id: &str, key_digest: &str) -> String {
    format!("cg:idem:{{{account_id}}}:{key_digest}")
}

/// Milliseconds from now until `t`, at least 1 (a PX of 0 is an error).
fn millis_until(t: DateTime<Utc>) -> i64 {
    (t - Utc::now()).num_milliseconds().max(1)
}

impl RedisStorage {
    /// Completes (`Some((record, px))`) or releases (`None`) the in-progress claim of `owner`,
    /// in one script so a claim that expired and was taken by another call is left alone.
    async fn idempotency_settle(
        &self,
        key: String,
        owner: &str,
        done: Option<(String, i64)>,
    ) -> StorageResult<bool> {
        const SETTLE: &str = r#"
            local v = redis.call('GET', KEYS[1])
            if not v then return 0 end
            local ok, r = pcall(cjson.decode, v)
            if not ok or r['owner'] ~= ARGV[1] or r['outcome'] ~= nil then return 0 end
            if ARGV[2] == '' then
                redis.call('DEL', KEYS[1])
            else
                redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
            end
            return 1
        "#;
        let (record, px) = done.unwrap_or_default();
        let settled: u32 = ::redis::Script::new(SETTLE)
            .key(key)
            .arg(owner)
            .arg(record)
            .arg(px)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(settled == 1)
    }
}

//! Redis storage: many gateway instances sharing one Redis (`CARTGATE_REDIS_URL`).
//!
//! # Key design
//!
//! Every key starts with `cg:`. Values are the same JSON records the embedded store keeps;
//! credentials, webhook secrets and gateway secrets are sealed (AES-256-GCM) before they get
//! here, and webhook deliveries hold event references, so Redis never holds a secret or a
//! store's data in clear. Each concern's keys are listed in its
//! file; all of them, and the two kinds of key outside storage, are:
//!
//! | keys | concern |
//! |---|---|
//! | `cg:{cg}:account:…`, `cg:{cg}:apikey:…`, `cg:{cg}:apikey-digest:…`, `cg:{cg}:account-keys:…` | accounts and API keys (`accounts.rs`) |
//! | `cg:{cg}:store:…`, `cg:{cg}:account-stores:…`, `cg:{cg}:stores` | stores (`stores.rs`) |
//! | `cg:{cg}:meta:…`, `cg:{cg}:metas` | sealed gateway secrets (`secrets.rs`) |
//! | `cg:log:{<account_id>}` | request log (`logs.rs`) |
//! | `cg:idem:{<account_id>}:…` | idempotency keys (`idempotency.rs`) |
//! | `cg:{cg}:webhook:…`, `cg:{cg}:account-webhooks:…`, `cg:{cg}:webhooks` | webhook subscriptions (`webhooks.rs`) |
//! | `cg:whq:{<n>}`, `cg:whl:{<n>}`, `cg:whf:{<n>}`, `cg:dlv:{<n>}:…` | the webhook delivery queue in 16 shards: queue, leases, finished, records (`webhooks.rs`) |
//! | `cg:whd:{<subscription_id>}` | a subscription's deliveries, for listing (`webhooks.rs`) |
//! | `cg:inbound:{<store_id>}:…`, `cg:poll:{<store_id>}`, `cg:poll-lease:{<store_id>}` | inbound dedupe ids, poll state and lease (`webhooks.rs`) |
//! | `cg:rl:{<key_id>}` | the API rate limit (not storage: `src/ratelimit/redis.rs`) |
//! | `cg:pace:{<hmac of bucket>}` | upstream budgets (not storage: `src/ratelimit/pace.rs`) |
//!
//! The control plane (accounts, API keys, stores, webhook subscriptions, sealed meta) is
//! small — a few hundred bytes per record — and shares the hash tag `{cg}`, so that the
//! writes that touch several keys (a key and its digest index, a store and its account's
//! set, a master-key rotation that re-seals everything) are single `MULTI`/`EXEC` transactions or scripts even on Redis
//! Cluster. The traffic-heavy keys are spread over the cluster, one slot per account,
//! bucket, store, subscription or delivery-queue shard.
//!
//! Durability: what Redis acknowledged survives a restart when Redis persists it
//! (`appendonly yes`; `appendfsync always` to lose nothing, `everysec` to lose at most a
//! second). The tests run Redis with `appendonly yes` and `appendfsync always`.

mod accounts;
mod idempotency;
mod logs;
mod secrets;
mod stores;
mod webhooks;

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::AsyncCommands;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{unavailable, CasOutcome, IfMissing, Put, Storage, StorageError, StorageResult};

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

/// Compare-and-set of JSON records. ARGV[1] is `create` or `update`; for each key i,
/// ARGV[2i] is the version the caller read and ARGV[2i+1] the record to write. Writes only
/// where the stored record exists and still has that version (`version` absent reads as 0,
/// like serde's default), or, with `create`, where none is stored and the caller read
/// version 0. Answers per key 0 written, 1 stale, 2 missing.
const CAS: &str = r#"
local create = ARGV[1] == 'create'
local out = {}
for i, key in ipairs(KEYS) do
  local expected = tonumber(ARGV[2 * i])
  local current = redis.call('GET', key)
  if not current then
    if create and expected == 0 then
      redis.call('SET', key, ARGV[2 * i + 1])
      out[i] = 0
    else
      out[i] = 2
    end
  elseif tonumber(cjson.decode(current).version or 0) ~= expected then
    out[i] = 1
  else
    redis.call('SET', key, ARGV[2 * i + 1])
    out[i] = 0
  end
end
return out
"#;

/// A script's answer to a conditional write: 0 written, 1 stale, 2 missing.
fn cas_outcome(answer: i32) -> CasOutcome {
    match answer {
        0 => CasOutcome::Written,
        1 => CasOutcome::Stale,
        _ => CasOutcome::Missing,
    }
}

/// A record for [`RedisStorage::cas_records`]: its key, the version the caller read, and the
/// JSON of the record to write (at that version + 1).
type CasRecord = (String, u64, String);

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

    /// The records whose ids the set `index` holds, each at `key(id)` (one slot).
    async fn get_indexed<T: DeserializeOwned>(
        &self,
        index: &str,
        key: impl Fn(&str) -> String,
    ) -> StorageResult<Vec<T>> {
        let ids: Vec<String> = self.conn().smembers(index).await.map_err(unavailable)?;
        self.get_many(ids.iter().map(|id| key(id)).collect()).await
    }

    /// Compare-and-set of each record in one script (their keys must share a slot): answers
    /// what happened to each, in order.
    async fn cas_records(
        &self,
        records: &[CasRecord],
        if_missing: IfMissing,
    ) -> StorageResult<Vec<CasOutcome>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let script = ::redis::Script::new(CAS);
        let mut invocation = script.prepare_invoke();
        invocation.arg(match if_missing {
            IfMissing::Refuse => "update",
            IfMissing::Create => "create",
        });
        for (key, read_at, next) in records {
            invocation.key(key).arg(read_at).arg(next);
        }
        let outcomes: Vec<i32> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(outcomes.into_iter().map(cas_outcome).collect())
    }

    /// The compare-and-set of one record: `next` (at `expected + 1`) at `key`.
    async fn update<T: Serialize>(
        &self,
        key: String,
        expected: u64,
        next: &T,
        if_missing: IfMissing,
    ) -> StorageResult<CasOutcome> {
        let outcomes = self
            .cas_records(&[(key, expected, to_json(next)?)], if_missing)
            .await?;
        Ok(outcomes.first().copied().unwrap_or(CasOutcome::Missing))
    }

    /// Runs `pipe`, whose replies are all ignored.
    async fn exec(&self, pipe: &::redis::Pipeline) -> StorageResult<()> {
        pipe.query_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    /// Deletes `key` and removes `member` from each of the `indexes`, in one transaction
    /// (the keys must share a slot); answers whether `key` existed.
    async fn delete(&self, key: String, indexes: &[Index], member: &str) -> StorageResult<bool> {
        let mut pipe = ::redis::pipe();
        pipe.atomic().del(key);
        for index in indexes {
            match index {
                Index::Set(k) => pipe.srem(k, member).ignore(),
                Index::Ordered(k) => pipe.zrem(k, member).ignore(),
            };
        }
        let (deleted,): (u32,) = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }

    /// Runs `pipe`, whose scripts are all `script`, loading `script` into Redis first when
    /// Redis does not know it (a restarted or new Redis): pipelined scripts are not loaded
    /// by themselves as a single invocation is.
    async fn query_scripted<T: ::redis::FromRedisValue>(
        &self,
        script: &::redis::Script,
        pipe: &::redis::Pipeline,
    ) -> StorageResult<T> {
        let no_script = ::redis::ErrorKind::Server(::redis::ServerErrorKind::NoScript);
        match pipe.query_async(&mut self.conn()).await {
            Err(e) if e.kind() == no_script => {
                script
                    .prepare_invoke()
                    .load_async(&mut self.conn())
                    .await
                    .map_err(unavailable)?;
                pipe.query_async(&mut self.conn())
                    .await
                    .map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    /// Writes `value` at `key`, [`Put::Always`] or only when the key has none yet
    /// ([`Put::IfAbsent`]), and then adds `member` to each of the `indexes`, in one script
    /// (the keys must share a slot); answers whether it wrote.
    async fn put<T: Serialize>(
        &self,
        key: String,
        value: &T,
        indexes: &[Index],
        member: &str,
        when: Put,
    ) -> StorageResult<bool> {
        const PUT: &str = r#"
            if ARGV[3] == 'if-absent' then
                if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
            else
                redis.call('SET', KEYS[1], ARGV[1])
            end
            for i = 2, #KEYS do
                if ARGV[2 + i] == 'ordered' then
                    redis.call('ZADD', KEYS[i], 0, ARGV[2])
                else
                    redis.call('SADD', KEYS[i], ARGV[2])
                end
            end
            return 1
        "#;
        let script = ::redis::Script::new(PUT);
        let mut invocation = script.key(key);
        for index in indexes {
            invocation.key(index.key());
        }
        invocation.arg(to_json(value)?).arg(member).arg(match when {
            Put::Always => "always",
            Put::IfAbsent => "if-absent",
        });
        for index in indexes {
            invocation.arg(index.kind());
        }
        let written: u32 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(written == 1)
    }

    /// A page of the records an ordered index holds, in id order after `after`, each at
    /// `prefix` + id, in one round trip: the index range and the records. `legacy` is the
    /// unordered set the same ids were kept in before the index existed: its ids move into
    /// the index on the first read (writes no longer add to it; deletes still remove from it,
    /// so nothing deleted comes back).
    async fn page_ordered<T: DeserializeOwned>(
        &self,
        index: &str,
        legacy: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<T>> {
        const PAGE: &str = r#"
            local legacy = redis.call('SMEMBERS', KEYS[2])
            if #legacy > 0 then
                for _, id in ipairs(legacy) do redis.call('ZADD', KEYS[1], 0, id) end
                redis.call('DEL', KEYS[2])
            end
            local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
            if #ids == 0 then return {} end
            local keys = {}
            for i, id in ipairs(ids) do keys[i] = ARGV[3] .. id end
            return redis.call('MGET', unpack(keys))
        "#;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let min = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let vals: Vec<Option<String>> = ::redis::Script::new(PAGE)
            .key(index)
            .key(legacy)
            .arg(min)
            .arg(limit)
            .arg(prefix)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        vals.into_iter().flatten().map(|v| from_json(&v)).collect()
    }
}

/// An index a record's id is kept in: an unordered set, or an ordered one (a sorted set
/// with every score 0, read in id order with ZRANGEBYLEX).
#[derive(Debug, Clone)]
pub(super) enum Index {
    Set(String),
    Ordered(String),
}

impl Index {
    fn key(&self) -> &str {
        match self {
            Index::Set(k) | Index::Ordered(k) => k,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Index::Set(_) => "set",
            Index::Ordered(_) => "ordered",
        }
    }
}

#[async_trait]
impl Storage for RedisStorage {
    async fn ping(&self) -> StorageResult<()> {
        let _: String = ::redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

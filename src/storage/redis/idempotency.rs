//! Idempotency keys in Redis, one slot per account.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:idem:{<account_id>}:<hmac of key>` | string | idempotency-key record, no body; expires by itself (lease, then retention) |
//!
//! Redis expires every record by itself (`PX`), so there is nothing to purge.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{from_json, to_json, unavailable, RedisStorage};
use crate::storage::{IdempotencyBegin, IdempotencyKeys, IdempotencyRecord, StorageResult};

fn idempotency_key(account_id: &str, key_digest: &str) -> String {
    format!("cg:idem:{{{account_id}}}:{key_digest}")
}

/// Milliseconds from now until `t`, at least 1 (a PX of 0 is an error).
fn millis_until(t: DateTime<Utc>) -> i64 {
    (t - Utc::now()).num_milliseconds().max(1)
}

#[async_trait]
impl IdempotencyKeys for RedisStorage {
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

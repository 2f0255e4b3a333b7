//! Stores in Redis (slot `{cg}`).
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:{cg}:store:<store_id>` | string | store record, credentials sealed |
//! | `cg:{cg}:account-stores:<account_id>` | set | store ids |
//! | `cg:{cg}:stores` | set | every store id (rotation) |
//!
//! Conditional writes are one Lua script ([`CAS_STORES`]) over any number of stores, so a
//! single update and a rotation's batch are the same compare-and-set.

use async_trait::async_trait;

use super::{to_json, unavailable, RedisStorage};
use crate::storage::{CasOutcome, Put, StorageResult, StoreRecord, Stores};

pub(super) mod keys {
    pub fn store(id: &str) -> String {
        format!("cg:{{cg}}:store:{id}")
    }
    pub fn account_stores(account: &str) -> String {
        format!("cg:{{cg}}:account-stores:{account}")
    }
    pub const STORES: &str = "cg:{cg}:stores";
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

impl RedisStorage {
    /// Writes each of `stores` as [`Stores::update_store`] does, in one script (their keys
    /// share the `{cg}` slot); answers what happened to each, in order.
    pub(super) async fn cas_stores(
        &self,
        stores: &[StoreRecord],
    ) -> StorageResult<Vec<CasOutcome>> {
        if stores.is_empty() {
            return Ok(Vec::new());
        }
        let script = ::redis::Script::new(CAS_STORES);
        let mut invocation = script.prepare_invoke();
        for s in stores {
            invocation
                .key(keys::store(&s.id))
                .arg(s.version)
                .arg(to_json(&s.next_version())?);
        }
        let outcomes: Vec<i32> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(outcomes
            .into_iter()
            .map(|o| match o {
                0 => CasOutcome::Written,
                1 => CasOutcome::Stale,
                _ => CasOutcome::Missing,
            })
            .collect())
    }
}

#[async_trait]
impl Stores for RedisStorage {
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        let indexes = [keys::account_stores(&s.account_id), keys::STORES.to_owned()];
        self.put(keys::store(&s.id), s, &indexes, &s.id, Put::IfAbsent)
            .await
    }

    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome> {
        let outcomes = self.cas_stores(std::slice::from_ref(s)).await?;
        Ok(outcomes.first().copied().unwrap_or(CasOutcome::Missing))
    }

    async fn get_store(&self, id: &str) -> StorageResult<Option<StoreRecord>> {
        self.get_json(keys::store(id)).await
    }

    async fn list_stores(&self, account_id: &str) -> StorageResult<Vec<StoreRecord>> {
        let mut out: Vec<StoreRecord> = self
            .get_indexed(&keys::account_stores(account_id), keys::store)
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
}

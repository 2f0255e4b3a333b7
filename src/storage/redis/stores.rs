//! Stores in Redis (slot `{cg}`).
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:{cg}:store:<store_id>` | string | store record, credentials sealed |
//! | `cg:{cg}:account-store-ids:<account_id>` | sorted set, scores 0 | store ids, read in id order |
//! | `cg:{cg}:account-stores:<account_id>` | set | store ids written before the ordered index (moved into it on the first list) |
//! | `cg:{cg}:stores` | set | every store id (rotation) |
//!
//! Conditional writes are one Lua script (`RedisStorage::cas_records`) over any number of
//! records, so a single update and a rotation's batch are the same compare-and-set.

use async_trait::async_trait;

use super::{Index, RedisStorage};
use crate::storage::{CasOutcome, IfMissing, Put, StorageResult, StoreRecord, Stores};

pub(super) mod keys {
    pub fn store(id: &str) -> String {
        format!("cg:{{cg}}:store:{id}")
    }
    pub fn account_store_ids(account: &str) -> String {
        format!("cg:{{cg}}:account-store-ids:{account}")
    }
    /// The unordered set of an account's store ids before `account_store_ids` existed.
    pub fn legacy_account_stores(account: &str) -> String {
        format!("cg:{{cg}}:account-stores:{account}")
    }
    pub const STORES: &str = "cg:{cg}:stores";
}

#[async_trait]
impl Stores for RedisStorage {
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        let indexes = [
            Index::Ordered(keys::account_store_ids(&s.account_id)),
            Index::Set(keys::STORES.to_owned()),
        ];
        self.put(keys::store(&s.id), s, &indexes, &s.id, Put::IfAbsent)
            .await
    }

    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome> {
        let key = keys::store(&s.id);
        self.update(key, s.version, &s.next_version(), IfMissing::Refuse)
            .await
    }

    async fn get_store(&self, id: &str) -> StorageResult<Option<StoreRecord>> {
        self.get_json(keys::store(id)).await
    }

    async fn get_stores(&self, ids: &[String]) -> StorageResult<Vec<StoreRecord>> {
        self.get_many(ids.iter().map(|id| keys::store(id)).collect())
            .await
    }

    async fn list_stores(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<StoreRecord>> {
        let mut out: Vec<StoreRecord> = self
            .page_ordered(
                &keys::account_store_ids(account_id),
                &keys::legacy_account_stores(account_id),
                &keys::store(""),
                after,
                limit,
            )
            .await?;
        out.retain(|s| s.account_id == account_id);
        Ok(out)
    }

    async fn delete_store(&self, id: &str) -> StorageResult<bool> {
        let Some(s) = self.get_store(id).await? else {
            return Ok(false);
        };
        let indexes = [
            Index::Ordered(keys::account_store_ids(&s.account_id)),
            Index::Set(keys::legacy_account_stores(&s.account_id)),
            Index::Set(keys::STORES.to_owned()),
        ];
        self.delete(keys::store(id), &indexes, id).await
    }
}

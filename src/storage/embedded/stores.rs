//! Stores in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `stores` | store id → StoreRecord (credentials sealed) |
//! | `account_stores` | `account id/store id` → "" (an account's stores in id order) |
//!
//! redb write transactions are serialized, so a compare-and-set (`EmbeddedStorage::update`)
//! is a read and a write in one of them.

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition};

use super::{from_json, index_key, to_json, unavailable, EmbeddedStorage, IndexTable, JsonTable};
use crate::storage::{CasOutcome, IfMissing, StorageResult, StoreRecord, Stores};

pub(super) const STORES: JsonTable = TableDefinition::new("stores");
pub(super) const ACCOUNT_STORES: IndexTable = TableDefinition::new("account_stores");

#[async_trait]
impl Stores for EmbeddedStorage {
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        let bytes = to_json(s)?;
        let (id, indexed) = (s.id.clone(), index_key(&s.account_id, &s.id));
        self.write(move |tx| {
            let mut stores = tx.open_table(STORES).map_err(unavailable)?;
            if stores.get(id.as_str()).map_err(unavailable)?.is_some() {
                return Ok(false);
            }
            stores
                .insert(id.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            tx.open_table(ACCOUNT_STORES)
                .map_err(unavailable)?
                .insert(indexed.as_str(), "")
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome> {
        self.update(
            STORES,
            s.id.clone(),
            s.version,
            &s.next_version(),
            IfMissing::Refuse,
        )
        .await
    }

    async fn get_store(&self, id: &str) -> StorageResult<Option<StoreRecord>> {
        self.get(STORES, id.to_owned()).await
    }

    async fn get_stores(&self, ids: &[String]) -> StorageResult<Vec<StoreRecord>> {
        self.get_many(STORES, ids)
    }

    async fn list_stores(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<StoreRecord>> {
        self.page_indexed(ACCOUNT_STORES, STORES, account_id, after, limit)
            .await
    }

    async fn delete_store(&self, id: &str) -> StorageResult<bool> {
        let id = id.to_owned();
        self.write(move |tx| {
            let removed = tx
                .open_table(STORES)
                .map_err(unavailable)?
                .remove(id.as_str())
                .map_err(unavailable)?
                .map(|v| from_json::<StoreRecord>(v.value()))
                .transpose()?;
            let Some(s) = removed else { return Ok(false) };
            tx.open_table(ACCOUNT_STORES)
                .map_err(unavailable)?
                .remove(index_key(&s.account_id, &s.id).as_str())
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}

//! Stores in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `stores` | store id → StoreRecord (credentials sealed) |
//!
//! redb write transactions are serialized, so a compare-and-set (`EmbeddedStorage::update`)
//! is a read and a write in one of them.

use async_trait::async_trait;
use redb::TableDefinition;

use super::{unavailable, EmbeddedStorage, JsonTable, Put};
use crate::storage::{CasOutcome, IfMissing, StorageResult, StoreRecord, Stores};

pub(super) const STORES: JsonTable = TableDefinition::new("stores");

#[async_trait]
impl Stores for EmbeddedStorage {
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        self.put(STORES, s.id.clone(), s, Put::IfAbsent).await
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

    async fn list_stores(&self, account_id: &str) -> StorageResult<Vec<StoreRecord>> {
        let account_id = account_id.to_owned();
        let mut stores = self
            .scan(STORES, move |s: &StoreRecord| s.account_id == account_id)
            .await?;
        stores.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(stores)
    }

    async fn delete_store(&self, id: &str) -> StorageResult<bool> {
        let id = id.to_owned();
        self.write(move |tx| {
            let existed = tx
                .open_table(STORES)
                .map_err(unavailable)?
                .remove(id.as_str())
                .map_err(unavailable)?
                .is_some();
            Ok(existed)
        })
        .await
    }
}

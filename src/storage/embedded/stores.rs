//! Stores in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `stores` | store id → StoreRecord (credentials sealed) |
//!
//! redb write transactions are serialized, so a compare-and-set ([`cas`]) is a read and a
//! write in one of them.

use async_trait::async_trait;
use redb::{ReadableTable, Table, TableDefinition};

use super::{from_json, to_json, unavailable, EmbeddedStorage, JsonTable, Put};
use crate::storage::{CasOutcome, StorageResult, StoreRecord, Stores};

pub(super) const STORES: JsonTable = TableDefinition::new("stores");

/// Within a write transaction: writes `next` (a record serialized at `expected + 1`) as
/// store `id` only when the stored record exists and still has version `expected`.
pub(super) fn cas(
    t: &mut Table<&'static str, &'static [u8]>,
    id: &str,
    expected: u64,
    next: &[u8],
) -> StorageResult<CasOutcome> {
    let current = t
        .get(id)
        .map_err(unavailable)?
        .map(|v| from_json::<StoreRecord>(v.value()))
        .transpose()?;
    Ok(match current {
        None => CasOutcome::Missing,
        Some(c) if c.version != expected => CasOutcome::Stale,
        Some(_) => {
            t.insert(id, next).map_err(unavailable)?;
            CasOutcome::Written
        }
    })
}

#[async_trait]
impl Stores for EmbeddedStorage {
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        self.put(STORES, s.id.clone(), s, Put::IfAbsent).await
    }

    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome> {
        let expected = s.version;
        let bytes = to_json(&s.next_version())?;
        let id = s.id.clone();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let outcome = {
                let mut t = tx.open_table(STORES).map_err(unavailable)?;
                cas(&mut t, &id, expected, &bytes)?
            };
            if outcome == CasOutcome::Written {
                tx.commit().map_err(unavailable)?;
            }
            Ok(outcome)
        })
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

//! Sealed gateway secrets in redb, and the master-key rotation's reads and writes.
//!
//! | table | key → value |
//! |---|---|
//! | `meta` | name → Sealed |
//!
//! A rotation reads `stores` and `meta` in one read transaction and writes them back in one
//! write transaction, the stores conditionally (`super::cas`).

use async_trait::async_trait;
use redb::TableDefinition;

use super::stores::STORES;
use super::{cas, rows, to_json, unavailable, EmbeddedStorage, JsonTable, Put};
use crate::crypto::Sealed;
use crate::storage::{CasOutcome, IfMissing, SealedSet, Secrets, StorageResult};

pub(super) const META: JsonTable = TableDefinition::new("meta");

#[async_trait]
impl Secrets for EmbeddedStorage {
    async fn get_meta(&self, key: &str) -> StorageResult<Option<Sealed>> {
        self.get(META, key.to_owned()).await
    }

    async fn put_meta(&self, key: &str, value: &Sealed) -> StorageResult<()> {
        self.put(META, key.to_owned(), value, Put::Always)
            .await
            .map(drop)
    }

    async fn put_meta_if_absent(&self, key: &str, value: &Sealed) -> StorageResult<bool> {
        self.put(META, key.to_owned(), value, Put::IfAbsent).await
    }

    async fn all_sealed(&self) -> StorageResult<SealedSet> {
        self.blocking(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let stores = rows(&tx, STORES)?;
            Ok(SealedSet {
                stores: stores.into_iter().map(|(_, s)| s).collect(),
                meta: rows(&tx, META)?,
            })
        })
        .await
    }

    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Vec<String>> {
        let stores: Vec<(String, u64, Vec<u8>)> = set
            .stores
            .iter()
            .map(|s| Ok((s.id.clone(), s.version, to_json(&s.next_version())?)))
            .collect::<StorageResult<_>>()?;
        let meta: Vec<(String, Vec<u8>)> = set
            .meta
            .iter()
            .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
            .collect::<StorageResult<_>>()?;
        self.write(move |tx| {
            let mut skipped = Vec::new();
            {
                let mut t = tx.open_table(STORES).map_err(unavailable)?;
                for (id, expected, v) in &stores {
                    if cas(&mut t, id, *expected, v, IfMissing::Refuse)? != CasOutcome::Written {
                        skipped.push(id.clone());
                    }
                }
                let mut t = tx.open_table(META).map_err(unavailable)?;
                for (k, v) in &meta {
                    t.insert(k.as_str(), v.as_slice()).map_err(unavailable)?;
                }
            }
            Ok(skipped)
        })
        .await
    }
}

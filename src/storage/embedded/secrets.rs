//! Sealed gateway secrets in redb, and the master-key rotation's reads and writes.
//!
//! | table | key → value |
//! |---|---|
//! | `meta` | name → Sealed |
//!
//! A rotation reads `stores`, `webhooks` and `meta` in one read transaction and writes them
//! back in one write transaction, stores and subscriptions conditionally (`super::cas`).

use async_trait::async_trait;
use redb::TableDefinition;
use serde::Serialize;

use super::stores::STORES;
use super::webhooks::WEBHOOKS;
use super::{cas, rows, to_json, unavailable, EmbeddedStorage, JsonTable, Put};
use crate::crypto::Sealed;
use crate::storage::{CasOutcome, IfMissing, SealedSet, Secrets, Skipped, StorageResult};

/// A record to write conditionally: id, the version it was read at, the next one's JSON.
type Versioned = (String, u64, Vec<u8>);

fn versioned<T: Serialize>(id: &str, read_at: u64, next: &T) -> StorageResult<Versioned> {
    Ok((id.to_owned(), read_at, to_json(next)?))
}

fn values<T>(rows: Vec<(String, T)>) -> Vec<T> {
    rows.into_iter().map(|(_, v)| v).collect()
}

/// Writes each record that still has the version it was read at; answers the others' ids.
fn cas_all(
    tx: &redb::WriteTransaction,
    table: JsonTable,
    records: &[Versioned],
) -> StorageResult<Vec<String>> {
    let mut t = tx.open_table(table).map_err(unavailable)?;
    let mut skipped = Vec::new();
    for (id, expected, v) in records {
        if cas(&mut t, id, *expected, v, IfMissing::Refuse)? != CasOutcome::Written {
            skipped.push(id.clone());
        }
    }
    Ok(skipped)
}

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
            Ok(SealedSet {
                stores: values(rows(&tx, STORES)?),
                subscriptions: values(rows(&tx, WEBHOOKS)?),
                meta: rows(&tx, META)?,
            })
        })
        .await
    }

    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Skipped> {
        let stores: Vec<Versioned> = set
            .stores
            .iter()
            .map(|s| versioned(&s.id, s.version, &s.next_version()))
            .collect::<StorageResult<_>>()?;
        let subscriptions: Vec<Versioned> = set
            .subscriptions
            .iter()
            .map(|s| versioned(&s.id, s.version, &s.next_version()))
            .collect::<StorageResult<_>>()?;
        let meta: Vec<(String, Vec<u8>)> = set
            .meta
            .iter()
            .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
            .collect::<StorageResult<_>>()?;
        self.write(move |tx| {
            let skipped = Skipped {
                stores: cas_all(tx, STORES, &stores)?,
                subscriptions: cas_all(tx, WEBHOOKS, &subscriptions)?,
            };
            let mut t = tx.open_table(META).map_err(unavailable)?;
            for (k, v) in &meta {
                t.insert(k.as_str(), v.as_slice()).map_err(unavailable)?;
            }
            Ok(skipped)
        })
        .await
    }
}

//! Sealed gateway secrets in Redis (slot `{cg}`), and the master-key rotation's reads and
//! writes.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:{cg}:meta:<name>` | string | sealed gateway secrets |
//! | `cg:{cg}:metas` | set | meta names (rotation) |
//!
//! A rotation writes the stores and webhook subscriptions (all in slot `{cg}`) in one
//! compare-and-set script (`RedisStorage::cas_records`) and the meta values in one
//! transaction.

use ::redis::AsyncCommands;
use async_trait::async_trait;

use super::stores::keys as store_keys;
use super::webhooks::keys as webhook_keys;
use super::{to_json, unavailable, CasRecord, Index, RedisStorage};
use crate::crypto::Sealed;
use crate::storage::{CasOutcome, IfMissing, Put, SealedSet, Secrets, Skipped, StorageResult};

mod keys {
    pub fn meta(name: &str) -> String {
        format!("cg:{{cg}}:meta:{name}")
    }
    pub const METAS: &str = "cg:{cg}:metas";
}

#[async_trait]
impl Secrets for RedisStorage {
    async fn get_meta(&self, key: &str) -> StorageResult<Option<Sealed>> {
        self.get_json(keys::meta(key)).await
    }

    async fn put_meta(&self, key: &str, value: &Sealed) -> StorageResult<()> {
        let indexes = [Index::Set(keys::METAS.to_owned())];
        self.put(keys::meta(key), value, &indexes, key, Put::Always)
            .await
            .map(drop)
    }

    async fn put_meta_if_absent(&self, key: &str, value: &Sealed) -> StorageResult<bool> {
        let indexes = [Index::Set(keys::METAS.to_owned())];
        self.put(keys::meta(key), value, &indexes, key, Put::IfAbsent)
            .await
    }

    async fn all_sealed(&self) -> StorageResult<SealedSet> {
        let stores = self
            .get_indexed(store_keys::STORES, store_keys::store)
            .await?;
        let subscriptions = self
            .get_indexed(webhook_keys::WEBHOOKS, webhook_keys::webhook)
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
        Ok(SealedSet {
            stores,
            subscriptions,
            meta,
        })
    }

    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Skipped> {
        // Stores and subscriptions compare-and-set in one script; the meta values are
        // written as they are.
        let mut records: Vec<CasRecord> = Vec::new();
        for s in &set.stores {
            records.push((
                store_keys::store(&s.id),
                s.version,
                to_json(&s.next_version())?,
            ));
        }
        for s in &set.subscriptions {
            records.push((
                webhook_keys::webhook(&s.id),
                s.version,
                to_json(&s.next_version())?,
            ));
        }
        let outcomes = self.cas_records(&records, IfMissing::Refuse).await?;
        if !set.meta.is_empty() {
            let mut pipe = ::redis::pipe();
            pipe.atomic();
            for (k, v) in &set.meta {
                pipe.set(keys::meta(k), to_json(v)?).ignore();
            }
            self.exec(&pipe).await?;
        }
        let (stores, subscriptions) = outcomes.split_at(set.stores.len());
        let skipped = |ids: Vec<&String>, outcomes: &[CasOutcome]| {
            ids.into_iter()
                .zip(outcomes)
                .filter(|(_, o)| **o != CasOutcome::Written)
                .map(|(id, _)| id.clone())
                .collect()
        };
        Ok(Skipped {
            stores: skipped(set.stores.iter().map(|s| &s.id).collect(), stores),
            subscriptions: skipped(
                set.subscriptions.iter().map(|s| &s.id).collect(),
                subscriptions,
            ),
        })
    }
}

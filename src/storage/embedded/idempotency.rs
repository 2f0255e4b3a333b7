//! Idempotency keys in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `idempotency` | `{account_id}/{key digest}` → IdempotencyRecord (no body, no store data) |
//!
//! Expired records read as absent and are purged hourly. The table is created by the first
//! write that needs it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition};

use super::{from_json, to_json, unavailable, EmbeddedStorage, JsonTable};
use crate::storage::{IdempotencyBegin, IdempotencyKeys, IdempotencyRecord, StorageResult};

const IDEMPOTENCY: JsonTable = TableDefinition::new("idempotency");

fn idempotency_key(account_id: &str, key_digest: &str) -> String {
    format!("{account_id}/{key_digest}")
}

#[async_trait]
impl IdempotencyKeys for EmbeddedStorage {
    async fn idempotency_begin(
        &self,
        account_id: &str,
        key_digest: &str,
        claim: &IdempotencyRecord,
    ) -> StorageResult<IdempotencyBegin> {
        let key = idempotency_key(account_id, key_digest);
        let bytes = to_json(claim)?;
        let fingerprint = claim.fingerprint.clone();
        self.write(move |tx| {
            let found = {
                let mut t = tx.open_table(IDEMPOTENCY).map_err(unavailable)?;
                let existing: Option<IdempotencyRecord> = t
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|v| from_json(v.value()))
                    .transpose()?
                    .filter(|r: &IdempotencyRecord| r.expires_at > Utc::now());
                if existing.is_none() {
                    t.insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                existing
            };
            Ok(match found {
                None => IdempotencyBegin::Started,
                Some(r) => IdempotencyBegin::of_existing(r, &fingerprint),
            })
        })
        .await
    }

    async fn idempotency_complete(
        &self,
        account_id: &str,
        key_digest: &str,
        done: &IdempotencyRecord,
    ) -> StorageResult<bool> {
        let bytes = to_json(done)?;
        let owner = done.owner.clone();
        self.idempotency_settle(idempotency_key(account_id, key_digest), owner, Some(bytes))
            .await
    }

    async fn idempotency_release(
        &self,
        account_id: &str,
        key_digest: &str,
        owner: &str,
    ) -> StorageResult<bool> {
        self.idempotency_settle(
            idempotency_key(account_id, key_digest),
            owner.to_owned(),
            None,
        )
        .await
    }

    async fn purge_idempotency(&self, now: DateTime<Utc>) -> StorageResult<u64> {
        self.purge_expired(IDEMPOTENCY, move |v| {
            Ok(from_json::<IdempotencyRecord>(v)?.expires_at <= now)
        })
        .await
    }
}

impl EmbeddedStorage {
    /// Completes (`Some(record)`) or releases (`None`) the in-progress claim of `owner`.
    async fn idempotency_settle(
        &self,
        key: String,
        owner: String,
        done: Option<Vec<u8>>,
    ) -> StorageResult<bool> {
        self.write(move |tx| {
            let settled = {
                let mut t = tx.open_table(IDEMPOTENCY).map_err(unavailable)?;
                let held = match t.get(key.as_str()).map_err(unavailable)? {
                    Some(v) => {
                        let r: IdempotencyRecord = from_json(v.value())?;
                        r.owner == owner && r.outcome.is_none() && r.expires_at > Utc::now()
                    }
                    None => false,
                };
                if held {
                    match &done {
                        Some(bytes) => {
                            t.insert(key.as_str(), bytes.as_slice())
                                .map_err(unavailable)?;
                        }
                        None => {
                            t.remove(key.as_str()).map_err(unavailable)?;
                        }
                    }
                }
                held
            };
            Ok(settled)
        })
        .await
    }
}

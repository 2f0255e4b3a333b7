//! The embedded backend: one redb file (`<data dir>/cartgate.redb`).
//!
//! Tables (keys are strings, values JSON), each described in the file of its concern:
//! `accounts`, `api_keys`, `api_key_digests` (`accounts.rs`); `stores` (`stores.rs`); `meta`
//! (`secrets.rs`); `logs`, `logs_by_time` (`logs.rs`); `idempotency` (`idempotency.rs`);
//! `webhooks`, `account_webhooks`, `deliveries`, `deliveries_by_subscription`,
//! `delivery_queue`, `delivery_slots`, `deliveries_finished`, `inbound_ids`, `poll_state`,
//! `poll_leases` (`webhooks.rs`).
//!
//! redb is synchronous; writes and scans run on the blocking pool, point reads inline (see
//! `EmbeddedStorage::read`). redb holds an exclusive file lock, so one process owns the
//! file (the admin CLI talks to a running gateway over HTTP).

mod accounts;
mod idempotency;
mod logs;
mod secrets;
mod stores;
mod webhooks;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{unavailable, CasOutcome, IfMissing, Put, Storage, StorageError, StorageResult};

/// A table of JSON records by string key.
type JsonTable = TableDefinition<'static, &'static str, &'static [u8]>;

pub struct EmbeddedStorage {
    db: Arc<Database>,
}

fn to_json<T: Serialize>(v: &T) -> StorageResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(b: &[u8]) -> StorageResult<T> {
    serde_json::from_slice(b).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl EmbeddedStorage {
    pub fn open(path: &Path) -> StorageResult<Self> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StorageError::Unavailable(format!(
                "{} is in use by another cartgate process",
                path.display()
            )),
            other => unavailable(other),
        })?;
        // Create every table up front so readers never meet a missing table (the
        // idempotency table excepted: the first write that needs it creates it).
        let tx = db.begin_write().map_err(unavailable)?;
        for t in [
            accounts::ACCOUNTS,
            accounts::API_KEYS,
            stores::STORES,
            secrets::META,
            logs::LOGS,
            webhooks::WEBHOOKS,
            webhooks::DELIVERIES,
            webhooks::DELIVERY_SLOTS,
            webhooks::INBOUND_IDS,
            webhooks::POLL_STATE,
            webhooks::POLL_LEASES,
        ] {
            tx.open_table(t).map_err(unavailable)?;
        }
        for t in [
            accounts::API_KEY_DIGESTS,
            logs::LOGS_BY_TIME,
            webhooks::ACCOUNT_WEBHOOKS,
            webhooks::DELIVERIES_BY_SUBSCRIPTION,
            webhooks::DELIVERY_QUEUE,
            webhooks::DELIVERIES_FINISHED,
        ] {
            tx.open_table(t).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
        Ok(EmbeddedStorage { db: Arc::new(db) })
    }

    async fn blocking<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> StorageResult<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(unavailable)?
    }

    /// Runs `f` in one write transaction on the blocking pool and commits what it wrote;
    /// nothing is written when `f` fails.
    async fn write<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StorageResult<T> + Send + 'static,
    {
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let out = f(&tx)?;
            tx.commit().map_err(unavailable)?;
            Ok(out)
        })
        .await
    }

    /// Runs the conditional write `f` in one write transaction on the blocking pool and
    /// commits only when it answers [`CasOutcome::Written`] (a refused write costs no commit).
    async fn write_cas<F>(&self, f: F) -> StorageResult<CasOutcome>
    where
        F: FnOnce(&WriteTransaction) -> StorageResult<CasOutcome> + Send + 'static,
    {
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let outcome = f(&tx)?;
            if outcome == CasOutcome::Written {
                tx.commit().map_err(unavailable)?;
            }
            Ok(outcome)
        })
        .await
    }

    /// The compare-and-set of one record: `next` (at `expected + 1`) under `key` in `table`.
    async fn update<T: Serialize>(
        &self,
        table: JsonTable,
        key: String,
        expected: u64,
        next: &T,
        if_missing: IfMissing,
    ) -> StorageResult<CasOutcome> {
        let bytes = to_json(next)?;
        self.write_cas(move |tx| {
            let mut t = tx.open_table(table).map_err(unavailable)?;
            cas(&mut t, &key, expected, &bytes, if_missing)
        })
        .await
    }

    /// Writes `value` under `key` in `table`, [`Put::Always`] or only when the key has no
    /// value yet ([`Put::IfAbsent`]); answers whether it wrote.
    async fn put<T: Serialize + Send + Sync>(
        &self,
        table: JsonTable,
        key: String,
        value: &T,
        when: Put,
    ) -> StorageResult<bool> {
        let bytes = to_json(value)?;
        self.write(move |tx| {
            let mut t = tx.open_table(table).map_err(unavailable)?;
            if when == Put::IfAbsent && t.get(key.as_str()).map_err(unavailable)?.is_some() {
                return Ok(false);
            }
            t.insert(key.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    /// Deletes the rows of `table` whose value `expired` says has expired: found in a read
    /// transaction, so writers wait only for the deletes, and each checked again before it
    /// is deleted (it may have been written anew since). A table not created yet has none.
    /// Answers how many it deleted.
    async fn purge_expired(
        &self,
        table: JsonTable,
        expired: impl Fn(&[u8]) -> StorageResult<bool> + Clone + Send + 'static,
    ) -> StorageResult<u64> {
        let is_expired = expired.clone();
        let found: Vec<String> = self
            .blocking(move |db| {
                let tx = db.begin_read().map_err(unavailable)?;
                let t = match tx.open_table(table) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                    Err(e) => return Err(unavailable(e)),
                };
                let mut out = Vec::new();
                for row in t.iter().map_err(unavailable)? {
                    let (k, v) = row.map_err(unavailable)?;
                    if is_expired(v.value())? {
                        out.push(k.value().to_owned());
                    }
                }
                Ok(out)
            })
            .await?;
        if found.is_empty() {
            return Ok(0);
        }
        self.write(move |tx| {
            let mut n = 0u64;
            let mut t = tx.open_table(table).map_err(unavailable)?;
            for key in found {
                let still_expired = match t.get(key.as_str()).map_err(unavailable)? {
                    Some(v) => expired(v.value())?,
                    None => false,
                };
                if still_expired {
                    t.remove(key.as_str()).map_err(unavailable)?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }

    /// Point reads run inline: the control-plane tables are small and served from redb's
    /// cache in microseconds, while a hop to the blocking pool costs two context switches
    /// (they were the largest cost of a proxied GET in the load benchmark). Writes (fsync)
    /// and scans go to the blocking pool.
    fn read<T>(&self, f: impl FnOnce(&Database) -> StorageResult<T>) -> StorageResult<T> {
        f(&self.db)
    }

    async fn get<T: DeserializeOwned + Send + 'static>(
        &self,
        table: JsonTable,
        key: String,
    ) -> StorageResult<Option<T>> {
        self.read(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let t = tx.open_table(table).map_err(unavailable)?;
            match t.get(key.as_str()).map_err(unavailable)? {
                Some(v) => from_json(v.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn scan<T: DeserializeOwned + Send + 'static>(
        &self,
        table: JsonTable,
        keep: impl Fn(&T) -> bool + Send + 'static,
    ) -> StorageResult<Vec<T>> {
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let mut out = rows(&tx, table)?;
            out.retain(|(_, item)| keep(item));
            Ok(out.into_iter().map(|(_, item)| item).collect())
        })
        .await
    }
}

/// The version of any stored record (absent reads as 0, like the records' serde default).
#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    version: u64,
}

/// Within a write transaction: writes `next` (a record serialized at `expected + 1`) under
/// `key` only when the stored record exists and still has version `expected` (or, with
/// [`IfMissing::Create`], when none is stored and `expected` is 0).
fn cas(
    t: &mut Table<&'static str, &'static [u8]>,
    key: &str,
    expected: u64,
    next: &[u8],
    if_missing: IfMissing,
) -> StorageResult<CasOutcome> {
    let stored = t
        .get(key)
        .map_err(unavailable)?
        .map(|v| from_json::<Version>(v.value()).map(|r| r.version))
        .transpose()?;
    let outcome = match stored {
        None if if_missing == IfMissing::Create && expected == 0 => CasOutcome::Written,
        None => CasOutcome::Missing,
        Some(version) if version != expected => CasOutcome::Stale,
        Some(_) => CasOutcome::Written,
    };
    if outcome == CasOutcome::Written {
        t.insert(key, next).map_err(unavailable)?;
    }
    Ok(outcome)
}

/// Every row of `table`, by key.
fn rows<T: DeserializeOwned>(
    tx: &ReadTransaction,
    table: JsonTable,
) -> StorageResult<Vec<(String, T)>> {
    let t = tx.open_table(table).map_err(unavailable)?;
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        out.push((k.value().to_owned(), from_json(v.value())?));
    }
    Ok(out)
}

#[async_trait]
impl Storage for EmbeddedStorage {
    async fn ping(&self) -> StorageResult<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(unavailable))
            .await
    }
}

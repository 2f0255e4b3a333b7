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

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{
    Database, ReadTransaction, ReadableTable, ReadableTableMetadata, Table, TableDefinition,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{unavailable, CasOutcome, IfMissing, Put, Storage, StorageError, StorageResult};

/// A table of JSON records by string key.
type JsonTable = TableDefinition<'static, &'static str, &'static [u8]>;

/// An ordered index: the key is everything, the value empty.
type IndexTable = TableDefinition<'static, &'static str, &'static str>;

/// The key of `id` in its owner's ordered index (`owner/id`): a range over `owner/` is the
/// owner's records in id order (ids are UUIDv7, so creation order).
fn index_key(owner: &str, id: &str) -> String {
    format!("{owner}/{id}")
}

/// The id at the end of an index key.
fn last_segment(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The owner of a stored record, for indexing it.
#[derive(Deserialize)]
struct Owned {
    id: String,
    account_id: String,
}

/// The per-account indexes of records, with the table each indexes. An index missing
/// beside a table that has records (a store written before the index existed) is built
/// when the store is opened.
const ACCOUNT_INDEXES: [(IndexTable, JsonTable); 2] = [
    (accounts::ACCOUNT_KEYS, accounts::API_KEYS),
    (stores::ACCOUNT_STORES, stores::STORES),
];

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
            accounts::ACCOUNT_KEYS,
            stores::ACCOUNT_STORES,
            logs::LOGS_BY_TIME,
            webhooks::ACCOUNT_WEBHOOKS,
            webhooks::DELIVERIES_BY_SUBSCRIPTION,
            webhooks::DELIVERY_QUEUE,
            webhooks::DELIVERIES_FINISHED,
        ] {
            tx.open_table(t).map_err(unavailable)?;
        }
        for (index, records) in ACCOUNT_INDEXES {
            let mut index = tx.open_table(index).map_err(unavailable)?;
            if !index.is_empty().map_err(unavailable)? {
                continue;
            }
            for row in tx
                .open_table(records)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (_, v) = row.map_err(unavailable)?;
                let r: Owned = from_json(v.value())?;
                index
                    .insert(index_key(&r.account_id, &r.id).as_str(), "")
                    .map_err(unavailable)?;
            }
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

    /// A page of `owner`'s records in id order, after the id `after`: read through the
    /// owner's range of `index`, so it costs the page, not the table.
    async fn page_indexed<T: DeserializeOwned + Send + 'static>(
        &self,
        index: IndexTable,
        records: JsonTable,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<T>> {
        let prefix = format!("{owner}/");
        let lo = match after {
            Some(a) => Bound::Excluded(index_key(owner, a)),
            None => Bound::Included(prefix.clone()),
        };
        let hi = format!("{prefix}\u{10ffff}");
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let index = tx.open_table(index).map_err(unavailable)?;
            let records = tx.open_table(records).map_err(unavailable)?;
            let lo = lo.as_ref().map(String::as_str);
            let mut out = Vec::new();
            for row in index
                .range::<&str>((lo, Bound::Excluded(hi.as_str())))
                .map_err(unavailable)?
            {
                if out.len() >= limit {
                    break;
                }
                let (k, _) = row.map_err(unavailable)?;
                if let Some(v) = records.get(last_segment(k.value())).map_err(unavailable)? {
                    out.push(from_json(v.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    /// The records of `table` under these keys that exist, in one read.
    fn get_many<T: DeserializeOwned>(
        &self,
        table: JsonTable,
        keys: &[String],
    ) -> StorageResult<Vec<T>> {
        self.read(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let t = tx.open_table(table).map_err(unavailable)?;
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                if let Some(v) = t.get(k.as_str()).map_err(unavailable)? {
                    out.push(from_json(v.value())?);
                }
            }
            Ok(out)
        })
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

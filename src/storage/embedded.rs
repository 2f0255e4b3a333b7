//! The embedded backend: one redb file (`<data dir>/cartgate.redb`).
//!
//! Tables (keys are strings, values JSON):
//! - `accounts`: account id → AccountRecord
//! - `api_keys`: key id → ApiKeyRecord; `api_key_digests`: digest → key id
//! - `stores`: store id → StoreRecord (credentials sealed)
//! - `meta`: name → Sealed
//! - `logs`: `{account_id}/{at_micros:020}/{log_id}` → LogRecord, so one account's entries
//!   are a contiguous, time-ordered range; `logs_by_time`: `{at_micros:020}/{account}/{id}`
//!   → "" for purging by age without scanning every account.
//! - `idempotency`: `{account_id}/{key digest}` → IdempotencyRecord (no body, no store
//!   data); expired records read as absent and are purged hourly.
//!
//! redb is synchronous; every call runs on the blocking pool. redb holds an exclusive file
//! lock, so one process owns the file (the admin CLI talks to a running gateway over HTTP).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{Database, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;

const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");
const API_KEY_DIGESTS: TableDefinition<&str, &str> = TableDefinition::new("api_key_digests");
const STORES: TableDefinition<&str, &[u8]> = TableDefinition::new("stores");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const LOGS: TableDefinition<&str, &[u8]> = TableDefinition::new("logs");
const LOGS_BY_TIME: TableDefinition<&str, &str> = TableDefinition::new("logs_by_time");

pub struct EmbeddedStorage {
    db: Arc<Database>,
}

fn to_json<T: Serialize>(v: &T) -> StorageResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(b: &[u8]) -> StorageResult<T> {
    serde_json::from_slice(b).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn micros(t: DateTime<Utc>) -> u64 {
    t.timestamp_micros().max(0) as u64
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
        // Create every table up front so readers never meet a missing table.
        let tx = db.begin_write().map_err(unavailable)?;
        for t in [ACCOUNTS, API_KEYS, STORES, META, LOGS] {
            tx.open_table(t).map_err(unavailable)?;
        }
        for t in [API_KEY_DIGESTS, LOGS_BY_TIME] {
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

    async fn put<T: Serialize + Send + Sync>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
        value: &T,
    ) -> StorageResult<()> {
        let bytes = to_json(value)?;
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            tx.open_table(table)
                .map_err(unavailable)?
                .insert(key.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
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
        table: TableDefinition<'static, &'static str, &'static [u8]>,
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
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        keep: impl Fn(&T) -> bool + Send + 'static,
    ) -> StorageResult<Vec<T>> {
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let t = tx.open_table(table).map_err(unavailable)?;
            let mut out = Vec::new();
            for row in t.iter().map_err(unavailable)? {
                let (_, v) = row.map_err(unavailable)?;
                let item: T = from_json(v.value())?;
                if keep(&item) {
                    out.push(item);
                }
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl Storage for EmbeddedStorage {
    async fn put_account(&self, a: &AccountRecord) -> StorageResult<()> {
        self.put(ACCOUNTS, a.id.clone(), a).await
    }

    async fn get_account(&self, id: &str) -> StorageResult<Option<AccountRecord>> {
        self.get(ACCOUNTS, id.to_owned()).await
    }

    async fn put_api_key(&self, k: &ApiKeyRecord) -> StorageResult<()> {
        let bytes = to_json(k)?;
        let (id, digest) = (k.id.clone(), k.digest.clone());
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            tx.open_table(API_KEYS)
                .map_err(unavailable)?
                .insert(id.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            tx.open_table(API_KEY_DIGESTS)
                .map_err(unavailable)?
                .insert(digest.as_str(), id.as_str())
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn get_api_key(&self, id: &str) -> StorageResult<Option<ApiKeyRecord>> {
        self.get(API_KEYS, id.to_owned()).await
    }

    async fn find_api_key(&self, digest: &str) -> StorageResult<Option<ApiKeyRecord>> {
        self.read(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let digests = tx.open_table(API_KEY_DIGESTS).map_err(unavailable)?;
            let Some(id) = digests.get(digest).map_err(unavailable)? else {
                return Ok(None);
            };
            let keys = tx.open_table(API_KEYS).map_err(unavailable)?;
            match keys.get(id.value()).map_err(unavailable)? {
                Some(v) => from_json(v.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn list_api_keys(&self, account_id: &str) -> StorageResult<Vec<ApiKeyRecord>> {
        let account_id = account_id.to_owned();
        let mut keys = self
            .scan(API_KEYS, move |k: &ApiKeyRecord| k.account_id == account_id)
            .await?;
        keys.sort_by_key(|k| k.created_at);
        Ok(keys)
    }

    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool> {
        let bytes = to_json(s)?;
        let id = s.id.clone();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let created = {
                let mut t = tx.open_table(STORES).map_err(unavailable)?;
                if t.get(id.as_str()).map_err(unavailable)?.is_some() {
                    false
                } else {
                    t.insert(id.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                    true
                }
            };
            tx.commit().map_err(unavailable)?;
            Ok(created)
        })
        .await
    }

    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome> {
        let expected = s.version;
        let bytes = to_json(&StoreRecord {
            version: expected + 1,
            ..s.clone()
        })?;
        let id = s.id.clone();
        // redb write transactions are serialized: the check and the write are one step.
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let outcome = {
                let mut t = tx.open_table(STORES).map_err(unavailable)?;
                let current = t
                    .get(id.as_str())
                    .map_err(unavailable)?
                    .map(|v| from_json::<StoreRecord>(v.value()))
                    .transpose()?;
                match current {
                    None => CasOutcome::Missing,
                    Some(c) if c.version != expected => CasOutcome::Stale,
                    Some(_) => {
                        t.insert(id.as_str(), bytes.as_slice())
                            .map_err(unavailable)?;
                        CasOutcome::Written
                    }
                }
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
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let existed = tx
                .open_table(STORES)
                .map_err(unavailable)?
                .remove(id.as_str())
                .map_err(unavailable)?
                .is_some();
            tx.commit().map_err(unavailable)?;
            Ok(existed)
        })
        .await
    }

    async fn get_meta(&self, key: &str) -> StorageResult<Option<Sealed>> {
        self.get(META, key.to_owned()).await
    }

    async fn put_meta(&self, key: &str, value: &Sealed) -> StorageResult<()> {
        self.put(META, key.to_owned(), value).await
    }

    async fn put_meta_if_absent(&self, key: &str, value: &Sealed) -> StorageResult<bool> {
        let bytes = to_json(value)?;
        let key = key.to_owned();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let created = {
                let mut t = tx.open_table(META).map_err(unavailable)?;
                if t.get(key.as_str()).map_err(unavailable)?.is_some() {
                    false
                } else {
                    t.insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                    true
                }
            };
            tx.commit().map_err(unavailable)?;
            Ok(created)
        })
        .await
    }

    async fn all_sealed(&self) -> StorageResult<SealedSet> {
        self.blocking(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let mut set = SealedSet::default();
            for row in tx
                .open_table(STORES)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (_, v) = row.map_err(unavailable)?;
                set.stores.push(from_json(v.value())?);
            }
            for row in tx
                .open_table(META)
                .map_err(unavailable)?
                .iter()
                .map_err(unavailable)?
            {
                let (k, v) = row.map_err(unavailable)?;
                set.meta.push((k.value().to_owned(), from_json(v.value())?));
            }
            Ok(set)
        })
        .await
    }

    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Vec<String>> {
        let stores: Vec<(String, u64, Vec<u8>)> = set
            .stores
            .iter()
            .map(|s| {
                let next = StoreRecord {
                    version: s.version + 1,
                    ..s.clone()
                };
                Ok((s.id.clone(), s.version, to_json(&next)?))
            })
            .collect::<StorageResult<_>>()?;
        let meta: Vec<(String, Vec<u8>)> = set
            .meta
            .iter()
            .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
            .collect::<StorageResult<_>>()?;
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let mut skipped = Vec::new();
            {
                let mut t = tx.open_table(STORES).map_err(unavailable)?;
                for (id, expected, v) in &stores {
                    let current = t
                        .get(id.as_str())
                        .map_err(unavailable)?
                        .map(|c| from_json::<StoreRecord>(c.value()))
                        .transpose()?;
                    if current.is_some_and(|c| c.version == *expected) {
                        t.insert(id.as_str(), v.as_slice()).map_err(unavailable)?;
                    } else {
                        skipped.push(id.clone());
                    }
                }
                let mut t = tx.open_table(META).map_err(unavailable)?;
                for (k, v) in &meta {
                    t.insert(k.as_str(), v.as_slice()).map_err(unavailable)?;
                }
            }
            tx.commit().map_err(unavailable)?;
            Ok(skipped)
        })
        .await
    }

    async fn append_logs(&self, entries: &[LogRecord]) -> StorageResult<()> {
        let rows: Vec<(String, String, Vec<u8>)> = entries
            .iter()
            .map(|e| {
                let at = micros(e.at);
                Ok((
                    format!("{}/{:020}/{}", e.account_id, at, e.id),
                    format!("{:020}/{}/{}", at, e.account_id, e.id),
                    to_json(e)?,
                ))
            })
            .collect::<StorageResult<_>>()?;
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            {
                let mut logs = tx.open_table(LOGS).map_err(unavailable)?;
                let mut by_time = tx.open_table(LOGS_BY_TIME).map_err(unavailable)?;
                for (key, time_key, bytes) in &rows {
                    logs.insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                    by_time.insert(time_key.as_str(), "").map_err(unavailable)?;
                }
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_logs(&self, account_id: &str, q: &LogQuery) -> StorageResult<Vec<LogRecord>> {
        let lo = format!("{}/{:020}/", account_id, q.from.map_or(0, micros));
        let hi = match &q.before {
            Some((at, id)) => format!("{}/{:020}/{}", account_id, micros(*at), id),
            None => format!(
                "{}/{:020}/\u{10ffff}",
                account_id,
                q.to.map_or(u64::MAX / 10, micros)
            ),
        };
        let q = q.clone();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let t = tx.open_table(LOGS).map_err(unavailable)?;
            let mut out = Vec::new();
            for row in t
                .range(lo.as_str()..hi.as_str())
                .map_err(unavailable)?
                .rev()
            {
                let (_, v) = row.map_err(unavailable)?;
                let e: LogRecord = from_json(v.value())?;
                if !q.matches(&e) {
                    continue;
                }
                out.push(e);
                if out.len() >= q.limit {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let hi = format!("{:020}/", micros(before));
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let mut n = 0u64;
            {
                let mut by_time = tx.open_table(LOGS_BY_TIME).map_err(unavailable)?;
                let mut logs = tx.open_table(LOGS).map_err(unavailable)?;
                let old: Vec<String> = by_time
                    .range(..hi.as_str())
                    .map_err(unavailable)?
                    .map(|r| r.map(|(k, _)| k.value().to_owned()))
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                for tk in old {
                    let mut parts = tk.splitn(3, '/');
                    if let (Some(at), Some(acct), Some(id)) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        logs.remove(format!("{acct}/{at}/{id}").as_str())
                            .map_err(unavailable)?;
                    }
                    by_time.remove(tk.as_str()).map_err(unavailable)?;
                    n += 1;
                }
            }
            tx.commit().map_err(unavailable)?;
            Ok(n)
        })
        .await
    }

    async fn ping(&self) -> StorageResult<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(unavailable))
            .await
    }

    // ---- Idempotency keys: `idempotency`, `{account_id}/{key digest}` → IdempotencyRecord.

    async fn idempotency_begin(
        &self,
        account_id: &str,
        key_digest: &str,
        claim: &IdempotencyRecord,
    ) -> StorageResult<IdempotencyBegin> {
        let key = idempotency_key(account_id, key_digest);
        let bytes = to_json(claim)?;
        let fingerprint = claim.fingerprint.clone();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
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
            tx.commit().map_err(unavailable)?;
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
        // Find the expired keys in a read transaction, so writers wait only for the deletes.
        let expired: Vec<String> = self
            .blocking(move |db| {
                let tx = db.begin_read().map_err(unavailable)?;
                let t = match tx.open_table(IDEMPOTENCY) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                    Err(e) => return Err(unavailable(e)),
                };
                let mut out = Vec::new();
                for row in t.iter().map_err(unavailable)? {
                    let (k, v) = row.map_err(unavailable)?;
                    let r: IdempotencyRecord = from_json(v.value())?;
                    if r.expires_at <= now {
                        out.push(k.value().to_owned());
                    }
                }
                Ok(out)
            })
            .await?;
        if expired.is_empty() {
            return Ok(0);
        }
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let mut n = 0u64;
            {
                let mut t = tx.open_table(IDEMPOTENCY).map_err(unavailable)?;
                for key in expired {
                    // Re-checked: the key may have been claimed anew since the scan.
                    let still_expired = match t.get(key.as_str()).map_err(unavailable)? {
                        Some(v) => from_json::<IdempotencyRecord>(v.value())?.expires_at <= now,
                        None => false,
                    };
                    if still_expired {
                        t.remove(key.as_str()).map_err(unavailable)?;
                        n += 1;
                    }
                }
            }
            tx.commit().map_err(unavailable)?;
            Ok(n)
        })
        .await
    }
}

// ---- Idempotency keys (their table is created by the first write that needs it).

const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");

fn idempotency_key(account_id: &str, key_digest: &str) -> String {
    format!("{account_id}/{key_digest}")
}

impl EmbeddedStorage {
    /// Completes (`Some(record)`) or releases (`None`) the in-progress claim of `owner`.
    async fn idempotency_settle(
        &self,
        key: String,
        owner: String,
        done: Option<Vec<u8>>,
    ) -> StorageResult<bool> {
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
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
            tx.commit().map_err(unavailable)?;
            Ok(settled)
        })
        .await
    }
}

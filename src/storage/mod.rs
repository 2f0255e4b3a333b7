//! Storage: the one trait the gateway persists through, and its backends.
//!
//! What is stored (and nothing else): accounts, API-key digests, stores with sealed
//! credentials, sealed gateway secrets, request logs without bodies or query values, and
//! idempotency-key records (a key digest, a request fingerprint and how the call ended).
//! No order, product or customer data ever passes through this module.
//!
//! Backends: [`embedded::EmbeddedStorage`] (redb, one file, the default) and
//! [`redis::RedisStorage`] (`CARTGATE_REDIS_URL`, shared by many instances). Both run the same
//! test-suite (`tests/e2e/storage.rs`).

pub mod embedded;
pub mod redis;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::Sealed;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend cannot be reached or failed; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// The error of a backend call that failed (`map_err(unavailable)`).
pub fn unavailable(e: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub account_id: String,
    /// Hex HMAC-SHA256 of the key; the key itself is never stored.
    pub digest: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreStatus {
    Active,
    /// The platform refused the stored credentials on the last call.
    AuthFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRecord {
    pub id: String,
    pub account_id: String,
    pub platform: String,
    pub name: String,
    /// The connector's canonical credentials JSON, sealed with the store id as context.
    pub credentials: Sealed,
    pub status: StoreStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write; conditional writes ([`Storage::update_store`]) apply only to
    /// the version they were computed from. Records written before versions existed read
    /// as 0.
    #[serde(default)]
    pub version: u64,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; the stored version is now the caller's plus one.
    Written,
    /// The record changed since the caller read it: nothing written.
    Stale,
    /// The record is gone (deleted meanwhile): nothing written, nothing recreated.
    Missing,
}

/// One request-log entry: no bodies, no query values, no store data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogRecord {
    pub id: String,
    pub account_id: String,
    pub request_id: String,
    pub at: DateTime<Utc>,
    pub method: String,
    /// The route template, e.g. `/v1/stores/{store_id}/orders/{order_id}`.
    pub route: String,
    pub store_id: Option<String>,
    pub status: u16,
    pub latency_ms: u64,
    pub upstream_calls: u32,
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub store_id: Option<String>,
    pub status: Option<u16>,
    /// Return entries strictly older than this (at, id) position: newest first paging.
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: usize,
}

impl LogQuery {
    /// Whether an entry of the account's log range answers the query: within the times,
    /// strictly before the cursor position (newest first), of the store and status asked.
    pub fn matches(&self, e: &LogRecord) -> bool {
        self.from.is_none_or(|from| e.at >= from)
            && self.to.is_none_or(|to| e.at <= to)
            && self
                .before
                .as_ref()
                .is_none_or(|(at, id)| (e.at, &e.id) < (*at, id))
            && self
                .store_id
                .as_ref()
                .is_none_or(|s| e.store_id.as_ref() == Some(s))
            && self.status.is_none_or(|s| e.status == s)
    }
}

/// Sealed gateway secrets live under this meta key.
pub const META_SECRETS: &str = "gateway_secrets";

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    async fn put_account(&self, a: &AccountRecord) -> StorageResult<()>;
    async fn get_account(&self, id: &str) -> StorageResult<Option<AccountRecord>>;

    async fn put_api_key(&self, k: &ApiKeyRecord) -> StorageResult<()>;
    async fn get_api_key(&self, id: &str) -> StorageResult<Option<ApiKeyRecord>>;
    async fn find_api_key(&self, digest: &str) -> StorageResult<Option<ApiKeyRecord>>;
    async fn list_api_keys(&self, account_id: &str) -> StorageResult<Vec<ApiKeyRecord>>;

    /// Creates a store; answers false (writing nothing) when the id is taken.
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool>;
    /// Compare-and-set: writes `s` with `version = s.version + 1` only when the stored record
    /// exists and still has `s.version`. A store deleted meanwhile is never recreated.
    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome>;
    async fn get_store(&self, id: &str) -> StorageResult<Option<StoreRecord>>;
    async fn list_stores(&self, account_id: &str) -> StorageResult<Vec<StoreRecord>>;
    /// Removes the store and its sealed credentials for good.
    async fn delete_store(&self, id: &str) -> StorageResult<bool>;

    async fn get_meta(&self, key: &str) -> StorageResult<Option<Sealed>>;
    async fn put_meta(&self, key: &str, value: &Sealed) -> StorageResult<()>;
    /// Writes `value` only when `key` has none yet; answers whether it wrote. Instances
    /// starting together agree on one set of gateway secrets through this.
    async fn put_meta_if_absent(&self, key: &str, value: &Sealed) -> StorageResult<bool>;

    /// Every sealed value, for master-key rotation.
    async fn all_sealed(&self) -> StorageResult<SealedSet>;
    /// Writes re-sealed values at once (one transaction where the backend has them). Each
    /// store is written as [`Storage::update_store`] would: only when it still has the
    /// version it was read at. Answers the ids of the stores skipped because they changed
    /// or were deleted meanwhile; the caller re-reads and re-seals those.
    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Vec<String>>;

    /// Appends a batch of entries (one transaction where the backend has them).
    async fn append_logs(&self, entries: &[LogRecord]) -> StorageResult<()>;
    /// Newest first.
    async fn list_logs(&self, account_id: &str, q: &LogQuery) -> StorageResult<Vec<LogRecord>>;
    /// Deletes entries older than `before`; returns how many.
    async fn purge_logs(&self, before: DateTime<Utc>) -> StorageResult<u64>;

    /// Cheap liveness probe for /readyz.
    async fn ping(&self) -> StorageResult<()>;

    // ---- Idempotency keys (`Idempotency-Key` on /v1 writes; src/idempotency.rs). Records
    // hold a key digest, a request fingerprint, who holds the key and how the call ended:
    // never a body, never store data.

    /// Claims the key `key_digest` of `account_id` for the call described by `claim` (an
    /// in-progress record: `outcome` is `None`, `expires_at` is the end of its lease). In
    /// one atomic step: inserts `claim` when the key is free (absent or expired) and answers
    /// `Started`; otherwise reports what holds it.
    async fn idempotency_begin(
        &self,
        account_id: &str,
        key_digest: &str,
        claim: &IdempotencyRecord,
    ) -> StorageResult<IdempotencyBegin>;
    /// Records how the call holding the key ended (`done.owner` must still hold it, in
    /// progress); kept until `done.expires_at`. Answers false when the claim was lost (its
    /// lease expired and another call took the key, or the key was released).
    async fn idempotency_complete(
        &self,
        account_id: &str,
        key_digest: &str,
        done: &IdempotencyRecord,
    ) -> StorageResult<bool>;
    /// Frees the key when `owner` still holds it in progress (the call changed nothing, so
    /// a retry may run); answers whether it did.
    async fn idempotency_release(
        &self,
        account_id: &str,
        key_digest: &str,
        owner: &str,
    ) -> StorageResult<bool>;
    /// Deletes records expired at `now`; returns how many. (Redis expires them by itself.)
    async fn purge_idempotency(&self, now: DateTime<Utc>) -> StorageResult<u64>;
}

/// Everything sealed under the master key.
#[derive(Debug, Clone, Default)]
pub struct SealedSet {
    pub stores: Vec<StoreRecord>,
    pub meta: Vec<(String, Sealed)>,
}

/// One idempotency key's record: never a body, never store data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Hex HMAC-SHA256 (gateway secret) of the request's SHA-256 (method, path, body
    /// bytes): bodies may hold credentials, so not a plain hash.
    pub fingerprint: String,
    /// A random token of the call that holds (or held) the key.
    pub owner: String,
    /// The request id of that call, to find it in the request log.
    pub request_id: String,
    pub started_at: DateTime<Utc>,
    /// In progress: the end of the lease; done: the end of the retention.
    pub expires_at: DateTime<Utc>,
    /// How the call ended; `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<IdempotentOutcome>,
}

/// How a call with an idempotency key ended, enough to answer its replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdempotentOutcome {
    /// Answered `status` with the resource at `path` (a `/v1` GET path): a replay reads it
    /// again.
    Resource { status: u16, path: String },
    /// The call only reads (a proxied GET): a replay runs it again.
    Rerun,
    /// A proxied write the platform answered with `upstream_status`; its body is store
    /// data and is not kept.
    Proxied { status: u16, upstream_status: u16 },
    /// A success without a resource to read again.
    Bare { status: u16 },
    /// A problem with this status and code, answered after the call may have written
    /// upstream.
    Failed { status: u16, code: String },
}

/// What [`Storage::idempotency_begin`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyBegin {
    /// The key was free and is now claimed by the caller.
    Started,
    /// Another call with the same request holds it and is still running.
    InProgress,
    /// The key was used for a different request.
    Conflict,
    /// A call with the same request ended like this.
    Done(IdempotencyRecord),
}

impl IdempotencyBegin {
    /// What an existing, unexpired record means for a call with `fingerprint`.
    pub fn of_existing(existing: IdempotencyRecord, fingerprint: &str) -> Self {
        if existing.fingerprint != fingerprint {
            IdempotencyBegin::Conflict
        } else if existing.outcome.is_none() {
            IdempotencyBegin::InProgress
        } else {
            IdempotencyBegin::Done(existing)
        }
    }
}

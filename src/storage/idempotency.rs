//! Idempotency keys (`Idempotency-Key` on /v1 writes; `crate::idempotency` is the layer).
//! Records hold a key digest, a request fingerprint, who holds the key and how the call
//! ended: never a body, never store data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StorageResult;

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

/// What [`IdempotencyKeys::idempotency_begin`] found.
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

#[async_trait]
pub trait IdempotencyKeys: Send + Sync {
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

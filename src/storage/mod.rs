//! Storage: the one trait the gateway persists through, and its backends.
//!
//! What is stored (and nothing else): accounts, API-key digests, stores with sealed
//! credentials, sealed gateway secrets, request logs without bodies or query values,
//! idempotency-key records (a key digest, a request fingerprint and how the call ended),
//! webhook subscriptions with sealed secrets, webhook deliveries (event references and
//! attempts, never the event's data), platform webhook delivery ids (dedupe) and poll
//! watermarks. No order, product or customer data ever passes through this module.
//!
//! One file per concern, each with its records and its trait: [`accounts`] (accounts and
//! API keys), [`stores`] (stores and their compare-and-set), [`secrets`] (sealed gateway
//! secrets and the master-key rotation's view of everything sealed), [`logs`] (the request
//! log), [`idempotency`] (idempotency keys), [`webhooks`] (subscriptions, the delivery queue
//! with its leases, inbound dedupe ids, poll state). [`Storage`] is all of them plus a liveness
//! probe; the gateway holds an `Arc<dyn Storage>`, on which every concern's methods are
//! callable without importing its trait.
//!
//! Backends, one folder each with one file per concern: [`embedded::EmbeddedStorage`] (redb,
//! one file, the default) and [`redis::RedisStorage`] (`CARTGATE_REDIS_URL`, shared by many
//! instances). Both run the same test-suite (`tests/e2e/storage.rs` and, for webhooks,
//! `tests/e2e/storage/webhooks.rs`). Conditional writes share one helper per backend
//! (`update`, over the backend's compare-and-set, and `IfMissing`). A new concern adds its
//! file here, its trait to [`Storage`]'s supertraits and one file to each backend.
//!
//! This module depends on nothing of the gateway but the sealed-value type; the rate
//! limiter and the upstream pacer (`crate::ratelimit`) use its error type and no more.

pub mod accounts;
pub mod embedded;
pub mod idempotency;
pub mod logs;
pub mod redis;
pub mod secrets;
pub mod stores;
pub mod webhooks;

use async_trait::async_trait;

pub use accounts::{AccountRecord, Accounts, ApiKeyRecord};
pub use idempotency::{IdempotencyBegin, IdempotencyKeys, IdempotencyRecord, IdempotentOutcome};
pub use logs::{LogQuery, LogRecord, Logs};
pub use secrets::{SealedSet, Secrets, Skipped, META_SECRETS};
pub use stores::{CasOutcome, StoreRecord, StoreStatus, Stores};
pub use webhooks::{
    Attempt, Claimed, DeliveryQuery, DeliveryRecord, DeliveryStatus, EventRef, PollState,
    SubscriptionRecord, SubscriptionStatus, Webhooks, MAX_ATTEMPTS_KEPT,
};

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

/// When a backend's `put` of a record writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Put {
    Always,
    /// Only when the key has no value yet: creating a store, agreeing on gateway secrets.
    IfAbsent,
}

/// What a backend's conditional write does where no record is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfMissing {
    /// Nothing: the record was deleted, and stays so ([`CasOutcome::Missing`]).
    Refuse,
    /// Creates it, when the caller read version 0 (it never existed): poll state.
    Create,
}

/// Everything the gateway stores. Each backend implements every concern and this, so a
/// backend that misses a concern does not compile.
#[async_trait]
pub trait Storage:
    Accounts + Stores + Secrets + Logs + IdempotencyKeys + Webhooks + Send + Sync + 'static
{
    /// Cheap liveness probe for /readyz.
    async fn ping(&self) -> StorageResult<()>;
}

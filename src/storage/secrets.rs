//! Sealed gateway secrets ("meta" values), and everything sealed under the master key at
//! once (store credentials, webhook secrets, meta values), for its rotation.

use async_trait::async_trait;

use super::{StorageResult, StoreRecord, SubscriptionRecord};
use crate::crypto::Sealed;

/// Sealed gateway secrets live under this meta key.
pub const META_SECRETS: &str = "gateway_secrets";

/// Everything sealed under the master key.
#[derive(Debug, Clone, Default)]
pub struct SealedSet {
    /// Their `credentials`.
    pub stores: Vec<StoreRecord>,
    /// Their `secret` and `previous_secret`.
    pub subscriptions: Vec<SubscriptionRecord>,
    pub meta: Vec<(String, Sealed)>,
}

/// The records [`Secrets::replace_sealed`] did not write because they changed or were
/// deleted since they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub stores: Vec<String>,
    pub subscriptions: Vec<String>,
}

#[async_trait]
pub trait Secrets: Send + Sync {
    async fn get_meta(&self, key: &str) -> StorageResult<Option<Sealed>>;
    async fn put_meta(&self, key: &str, value: &Sealed) -> StorageResult<()>;
    /// Writes `value` only when `key` has none yet; answers whether it wrote. Instances
    /// starting together agree on one set of gateway secrets through this.
    async fn put_meta_if_absent(&self, key: &str, value: &Sealed) -> StorageResult<bool>;

    /// Every sealed value, for master-key rotation.
    async fn all_sealed(&self) -> StorageResult<SealedSet>;
    /// Writes re-sealed values at once (one transaction where the backend has them). Each
    /// store and subscription is written as [`Stores::update_store`](super::Stores::update_store)
    /// would: only when it still has the version it was read at. Answers the ids of those
    /// skipped because they changed or were deleted meanwhile; the caller re-reads and
    /// re-seals them.
    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Skipped>;
}

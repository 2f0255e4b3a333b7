//! Sealed gateway secrets ("meta" values), and everything sealed under the master key at
//! once, for its rotation.

use async_trait::async_trait;

use super::{StorageResult, StoreRecord};
use crate::crypto::Sealed;

/// Sealed gateway secrets live under this meta key.
pub const META_SECRETS: &str = "gateway_secrets";

/// Everything sealed under the master key.
#[derive(Debug, Clone, Default)]
pub struct SealedSet {
    pub stores: Vec<StoreRecord>,
    pub meta: Vec<(String, Sealed)>,
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
    /// store is written as [`Stores::update_store`](super::Stores::update_store) would: only
    /// when it still has the version it was read at. Answers the ids of the stores skipped
    /// because they changed or were deleted meanwhile; the caller re-reads and re-seals
    /// those.
    async fn replace_sealed(&self, set: &SealedSet) -> StorageResult<Vec<String>>;
}

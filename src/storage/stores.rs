//! Stores: a merchant's shop on a platform, with its credentials sealed under the master key.
//! Every write after the first is a compare-and-set on the record's version.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::StorageResult;
use crate::crypto::Sealed;

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
    /// Bumped by every write; conditional writes ([`Stores::update_store`]) apply only to
    /// the version they were computed from. Records written before versions existed read
    /// as 0.
    #[serde(default)]
    pub version: u64,
    /// The platform webhooks the gateway registered for this store (none: it is polled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_webhooks: Option<NativeWebhooks>,
}

/// Platform webhooks registered for a store: their ids on the platform (to remove them on
/// disconnect) and the secret the platform signs them with (WooCommerce), sealed with the
/// context `store-webhooks:{store_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeWebhooks {
    pub ids: Vec<String>,
    pub secret: Sealed,
}

impl StoreRecord {
    /// The record a conditional write of `self` stores: the same with the next version.
    pub fn next_version(&self) -> StoreRecord {
        StoreRecord {
            version: self.version + 1,
            ..self.clone()
        }
    }
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

#[async_trait]
pub trait Stores: Send + Sync {
    /// Creates a store; answers false (writing nothing) when the id is taken.
    async fn insert_store(&self, s: &StoreRecord) -> StorageResult<bool>;
    /// Compare-and-set: writes `s` with `version = s.version + 1` only when the stored record
    /// exists and still has `s.version`. A store deleted meanwhile is never recreated.
    async fn update_store(&self, s: &StoreRecord) -> StorageResult<CasOutcome>;
    async fn get_store(&self, id: &str) -> StorageResult<Option<StoreRecord>>;
    /// The stores among `ids` that exist, in one read.
    async fn get_stores(&self, ids: &[String]) -> StorageResult<Vec<StoreRecord>>;
    /// A page of an account's stores in id order (creation order: ids are UUIDv7), after
    /// the store id `after`; served from a per-account index, so it costs the page.
    async fn list_stores(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<StoreRecord>>;
    /// Removes the store and its sealed credentials for good.
    async fn delete_store(&self, id: &str) -> StorageResult<bool>;
}

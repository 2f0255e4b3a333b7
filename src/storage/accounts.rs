//! Accounts and their API keys. A key is stored as its HMAC digest, never as itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StorageResult;

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

#[async_trait]
pub trait Accounts: Send + Sync {
    async fn put_account(&self, a: &AccountRecord) -> StorageResult<()>;
    async fn get_account(&self, id: &str) -> StorageResult<Option<AccountRecord>>;

    async fn put_api_key(&self, k: &ApiKeyRecord) -> StorageResult<()>;
    async fn get_api_key(&self, id: &str) -> StorageResult<Option<ApiKeyRecord>>;
    async fn find_api_key(&self, digest: &str) -> StorageResult<Option<ApiKeyRecord>>;
    /// A page of an account's keys in id order (creation order), after the key id
    /// `after`; served from a per-account index.
    async fn list_api_keys(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<ApiKeyRecord>>;
}

//! Accounts and API keys in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `accounts` | account id → AccountRecord |
//! | `api_keys` | key id → ApiKeyRecord (HMAC digest, never the key) |
//! | `api_key_digests` | digest → key id |
//! | `account_keys` | `account id/key id` → "" (an account's keys in id order) |

use async_trait::async_trait;
use redb::TableDefinition;

use super::{
    from_json, index_key, to_json, unavailable, EmbeddedStorage, IndexTable, JsonTable, Put,
};
use crate::storage::{AccountRecord, Accounts, ApiKeyRecord, StorageResult};

pub(super) const ACCOUNTS: JsonTable = TableDefinition::new("accounts");
pub(super) const API_KEYS: JsonTable = TableDefinition::new("api_keys");
pub(super) const API_KEY_DIGESTS: TableDefinition<&str, &str> =
    TableDefinition::new("api_key_digests");
pub(super) const ACCOUNT_KEYS: IndexTable = TableDefinition::new("account_keys");

#[async_trait]
impl Accounts for EmbeddedStorage {
    async fn put_account(&self, a: &AccountRecord) -> StorageResult<()> {
        self.put(ACCOUNTS, a.id.clone(), a, Put::Always)
            .await
            .map(drop)
    }

    async fn get_account(&self, id: &str) -> StorageResult<Option<AccountRecord>> {
        self.get(ACCOUNTS, id.to_owned()).await
    }

    async fn put_api_key(&self, k: &ApiKeyRecord) -> StorageResult<()> {
        let bytes = to_json(k)?;
        let (id, digest) = (k.id.clone(), k.digest.clone());
        let indexed = index_key(&k.account_id, &k.id);
        self.write(move |tx| {
            tx.open_table(API_KEYS)
                .map_err(unavailable)?
                .insert(id.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            tx.open_table(API_KEY_DIGESTS)
                .map_err(unavailable)?
                .insert(digest.as_str(), id.as_str())
                .map_err(unavailable)?;
            tx.open_table(ACCOUNT_KEYS)
                .map_err(unavailable)?
                .insert(indexed.as_str(), "")
                .map_err(unavailable)?;
            Ok(())
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

    async fn list_api_keys(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<ApiKeyRecord>> {
        self.page_indexed(ACCOUNT_KEYS, API_KEYS, account_id, after, limit)
            .await
    }
}

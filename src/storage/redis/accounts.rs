//! Accounts and API keys in Redis (slot `{cg}`).
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:{cg}:account:<account_id>` | string | account record |
//! | `cg:{cg}:apikey:<key_id>` | string | API-key record (HMAC digest, never the key) |
//! | `cg:{cg}:apikey-digest:<hex digest>` | string | key id |
//! | `cg:{cg}:account-key-ids:<account_id>` | sorted set, scores 0 | key ids, read in id order |
//! | `cg:{cg}:account-keys:<account_id>` | set | key ids written before the ordered index (moved into it on the first list) |

use ::redis::AsyncCommands;
use async_trait::async_trait;

use super::{from_json, to_json, unavailable, RedisStorage};
use crate::storage::{AccountRecord, Accounts, ApiKeyRecord, StorageResult};

mod keys {
    pub fn account(id: &str) -> String {
        format!("cg:{{cg}}:account:{id}")
    }
    pub fn api_key(id: &str) -> String {
        format!("cg:{{cg}}:apikey:{id}")
    }
    pub fn digest(d: &str) -> String {
        format!("cg:{{cg}}:apikey-digest:{d}")
    }
    pub fn account_key_ids(account: &str) -> String {
        format!("cg:{{cg}}:account-key-ids:{account}")
    }
    /// The unordered set of an account's key ids before `account_key_ids` existed.
    pub fn legacy_account_keys(account: &str) -> String {
        format!("cg:{{cg}}:account-keys:{account}")
    }
}

#[async_trait]
impl Accounts for RedisStorage {
    async fn put_account(&self, a: &AccountRecord) -> StorageResult<()> {
        let _: () = self
            .conn()
            .set(keys::account(&a.id), to_json(a)?)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_account(&self, id: &str) -> StorageResult<Option<AccountRecord>> {
        self.get_json(keys::account(id)).await
    }

    async fn put_api_key(&self, k: &ApiKeyRecord) -> StorageResult<()> {
        let _: () = ::redis::pipe()
            .atomic()
            .set(keys::api_key(&k.id), to_json(k)?)
            .ignore()
            .set(keys::digest(&k.digest), &k.id)
            .ignore()
            .zadd(keys::account_key_ids(&k.account_id), &k.id, 0)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> StorageResult<Option<ApiKeyRecord>> {
        self.get_json(keys::api_key(id)).await
    }

    async fn find_api_key(&self, digest: &str) -> StorageResult<Option<ApiKeyRecord>> {
        // One round trip: the digest index and the record it points at.
        const FIND: &str = r#"
            local id = redis.call('GET', KEYS[1])
            if not id then return false end
            return redis.call('GET', ARGV[1] .. id)
        "#;
        let v: Option<String> = ::redis::Script::new(FIND)
            .key(keys::digest(digest))
            .arg(keys::api_key(""))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let record: Option<ApiKeyRecord> = v.as_deref().map(from_json).transpose()?;
        Ok(record.filter(|r| r.digest == digest))
    }

    async fn list_api_keys(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<ApiKeyRecord>> {
        let mut out: Vec<ApiKeyRecord> = self
            .page_ordered(
                &keys::account_key_ids(account_id),
                &keys::legacy_account_keys(account_id),
                &keys::api_key(""),
                after,
                limit,
            )
            .await?;
        out.retain(|k| k.account_id == account_id);
        Ok(out)
    }
}

//! Account, key and master-key operations. One implementation, used by the /admin HTTP API
//! and by `cartgate admin …` when no gateway is running.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::{generate_api_key, MasterKey, Signers};
use crate::state::{credentials_context, SECRETS_CONTEXT};
use crate::storage::{AccountRecord, ApiKeyRecord, SealedSet, Storage, StorageError, META_SECRETS};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Crypto(String),
}

/// A new API key, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewKey {
    pub key_id: String,
    pub account_id: String,
    /// The key itself. It is not stored and cannot be shown again.
    pub api_key: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewAccount {
    pub account_id: String,
    pub name: String,
    pub key_id: String,
    /// The account's first API key, shown once.
    pub api_key: String,
}

/// A key as listed: never the key itself.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub account_id: String,
    /// The first characters of the key.
    pub prefix: String,
    pub created_at: chrono::DateTime<Utc>,
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

impl From<ApiKeyRecord> for KeyInfo {
    fn from(k: ApiKeyRecord) -> Self {
        KeyInfo {
            id: k.id,
            account_id: k.account_id,
            prefix: k.prefix,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

pub async fn create_account(
    storage: &dyn Storage,
    signers: &Signers,
    name: &str,
) -> Result<NewAccount, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AdminError::Invalid(
            "account name must be 1 to 200 characters".into(),
        ));
    }
    let account = AccountRecord {
        id: format!("acct_{}", uuid::Uuid::now_v7().simple()),
        name: name.to_owned(),
        created_at: Utc::now(),
    };
    storage.put_account(&account).await?;
    let key = create_key(storage, signers, &account.id).await?;
    Ok(NewAccount {
        account_id: account.id,
        name: account.name,
        key_id: key.key_id,
        api_key: key.api_key,
    })
}

pub async fn create_key(
    storage: &dyn Storage,
    signers: &Signers,
    account_id: &str,
) -> Result<NewKey, AdminError> {
    if storage.get_account(account_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("no account {account_id}")));
    }
    let api_key = generate_api_key();
    let record = ApiKeyRecord {
        id: format!("key_{}", uuid::Uuid::now_v7().simple()),
        account_id: account_id.to_owned(),
        digest: signers.api_key_digest(&api_key),
        prefix: api_key.chars().take(8).collect(),
        created_at: Utc::now(),
        revoked_at: None,
    };
    storage.put_api_key(&record).await?;
    Ok(NewKey {
        key_id: record.id,
        account_id: account_id.to_owned(),
        api_key,
    })
}

pub async fn list_keys(
    storage: &dyn Storage,
    account_id: &str,
) -> Result<Vec<KeyInfo>, AdminError> {
    if storage.get_account(account_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("no account {account_id}")));
    }
    Ok(storage
        .list_api_keys(account_id)
        .await?
        .into_iter()
        .map(KeyInfo::from)
        .collect())
}

/// Revokes a key; it is refused from the next request on.
pub async fn revoke_key(storage: &dyn Storage, key_id: &str) -> Result<KeyInfo, AdminError> {
    let Some(mut key) = storage.get_api_key(key_id).await? else {
        return Err(AdminError::NotFound(format!("no key {key_id}")));
    };
    if key.revoked_at.is_none() {
        key.revoked_at = Some(Utc::now());
        storage.put_api_key(&key).await?;
    }
    Ok(KeyInfo::from(key))
}

/// Re-seals every sealed value under `new` in one go, so `old` is no longer needed.
pub async fn reseal_all(
    storage: &dyn Storage,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize, AdminError> {
    let set = storage.all_sealed().await?;
    let mut out = SealedSet::default();
    for mut store in set.stores {
        let ctx = credentials_context(&store.id);
        let plain = old
            .open(&store.credentials, &ctx)
            .map_err(|e| AdminError::Crypto(format!("store {}: {e}", store.id)))?;
        store.credentials = new.seal(&plain, &ctx);
        out.stores.push(store);
    }
    for (key, sealed) in set.meta {
        let ctx = if key == META_SECRETS {
            SECRETS_CONTEXT.to_owned()
        } else {
            format!("meta:{key}")
        };
        let plain = old
            .open(&sealed, &ctx)
            .map_err(|e| AdminError::Crypto(format!("{key}: {e}")))?;
        out.meta.push((key, new.seal(&plain, &ctx)));
    }
    let n = out.stores.len() + out.meta.len();
    storage.replace_sealed(&out).await?;
    Ok(n)
}

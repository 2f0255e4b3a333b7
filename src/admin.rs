//! Account, key and master-key operations. One implementation, used by the /admin HTTP API
//! and by `cartgate admin …` when no gateway is running.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::{generate_api_key, KeyRing, MasterKey, Sealed, Signers};
use crate::state::{credentials_context, write_key_file, MasterKeySource, SECRETS_CONTEXT};
use crate::storage::webhooks::secret_context;
use crate::storage::{
    AccountRecord, ApiKeyRecord, SealedSet, Storage, StorageError, StoreRecord, SubscriptionRecord,
    META_SECRETS,
};

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
    #[error("{0}")]
    Io(String),
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

/// A page of an account's keys in creation order, after the key id `after`.
pub async fn list_keys(
    storage: &dyn Storage,
    account_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<KeyInfo>, AdminError> {
    if storage.get_account(account_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("no account {account_id}")));
    }
    Ok(storage
        .list_api_keys(account_id, after, limit)
        .await?
        .into_iter()
        .map(KeyInfo::from)
        .collect())
}

/// Every key of an account, read a page at a time (the CLI's list).
pub async fn all_keys(storage: &dyn Storage, account_id: &str) -> Result<Vec<KeyInfo>, AdminError> {
    const PAGE: usize = 250;
    let mut out: Vec<KeyInfo> = Vec::new();
    loop {
        let after = out.last().map(|k| k.id.clone());
        let page = list_keys(storage, account_id, after.as_deref(), PAGE).await?;
        let done = page.len() < PAGE;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
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

/// The outcome of a master-key rotation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RotatedMasterKey {
    /// Id of the master key everything is now sealed with.
    pub key_id: String,
    /// Where that key lives: `file` (the data dir's master.key) or `env`
    /// (CARTGATE_MASTER_KEY).
    pub stored_in: String,
    /// Only when a key was generated and the old one came from CARTGATE_MASTER_KEY: the new
    /// key, shown once. Set it as CARTGATE_MASTER_KEY before the next restart.
    pub master_key: Option<String>,
    /// Sealed values re-sealed.
    pub resealed: usize,
}

/// Rotates the master key: with `generate`, a new key takes over (written to the key file
/// when the key came from one); without, the current key stays and only what is still
/// sealed under a previous key is re-sealed (the last step of a rolling rotation, see the
/// README). Everything is re-sealed in one storage transaction. Returns the ring to use
/// from now on: it still opens values sealed under the old keys, so instances that have not
/// switched yet cannot strand data this instance needs.
pub async fn rotate_master_key(
    storage: &dyn Storage,
    ring: &KeyRing,
    source: &MasterKeySource,
    generate: bool,
) -> Result<(KeyRing, RotatedMasterKey), AdminError> {
    let next = if generate {
        ring.rotated_to(MasterKey::generate())
    } else {
        ring.clone()
    };
    let new = next.current();
    let key_file = match source {
        MasterKeySource::File(path) if generate => Some(path),
        _ => None,
    };
    // Write the key file first: if that fails nothing changed; if re-sealing then fails,
    // the old key file is put back.
    if let Some(path) = key_file {
        write_key_file(path, new).map_err(|e| AdminError::Io(format!("{e:#}")))?;
    }
    let resealed = match reseal_all(storage, ring, new).await {
        Ok(n) => n,
        Err(e) => {
            if let Some(path) = key_file {
                let _ = write_key_file(path, ring.current());
            }
            return Err(e);
        }
    };
    let out = RotatedMasterKey {
        key_id: new.id().to_owned(),
        stored_in: match source {
            MasterKeySource::File(_) => "file".into(),
            MasterKeySource::Env => "env".into(),
        },
        master_key: (generate && matches!(source, MasterKeySource::Env)).then(|| new.to_base64()),
        resealed,
    };
    tracing::info!(key_id = new.id(), resealed, generate, "master key rotated");
    Ok((next, out))
}

/// Re-seals every sealed value under `new` in one go, opening each with whichever key of
/// `ring` sealed it, so the other keys are no longer needed.
pub async fn reseal_all(
    storage: &dyn Storage,
    ring: &KeyRing,
    new: &MasterKey,
) -> Result<usize, AdminError> {
    let set = storage.all_sealed().await?;
    let mut out = SealedSet {
        stores: set
            .stores
            .into_iter()
            .map(|s| reseal_store(ring, new, s))
            .collect::<Result<_, _>>()?,
        subscriptions: set
            .subscriptions
            .into_iter()
            .map(|s| reseal_subscription(ring, new, s))
            .collect::<Result<_, _>>()?,
        meta: Vec::new(),
    };
    for (key, sealed) in set.meta {
        let ctx = if key == META_SECRETS {
            SECRETS_CONTEXT.to_owned()
        } else {
            format!("meta:{key}")
        };
        let plain = ring
            .open(&sealed, &ctx)
            .map_err(|e| AdminError::Crypto(format!("{key}: {e}")))?;
        out.meta.push((key, new.seal(&plain, &ctx)));
    }
    let mut n = out.meta.len();
    // Each store and subscription is re-sealed only if it still has the version read above:
    // one changed meanwhile (new credentials, a status change, a rotated webhook secret) is
    // read again and re-sealed as it is now, never overwritten with what it was; one deleted
    // meanwhile stays deleted.
    for _round in 0..RESEAL_ROUNDS {
        let skipped = storage.replace_sealed(&out).await?;
        n += out.stores.len() + out.subscriptions.len()
            - skipped.stores.len()
            - skipped.subscriptions.len();
        out = SealedSet::default();
        for id in skipped.stores {
            if let Some(store) = storage.get_store(&id).await? {
                out.stores.push(reseal_store(ring, new, store)?);
            }
        }
        for id in skipped.subscriptions {
            if let Some(s) = storage.get_subscription(&id).await? {
                out.subscriptions.push(reseal_subscription(ring, new, s)?);
            }
        }
        if out.stores.is_empty() && out.subscriptions.is_empty() {
            return Ok(n);
        }
    }
    Err(AdminError::Storage(StorageError::Unavailable(format!(
        "{} store(s) and {} webhook subscription(s) kept changing during the rotation; run it \
         again",
        out.stores.len(),
        out.subscriptions.len()
    ))))
}

/// How often a rotation re-reads stores that changed while it re-sealed them.
const RESEAL_ROUNDS: usize = 10;

fn reseal_store(
    ring: &KeyRing,
    new: &MasterKey,
    mut store: StoreRecord,
) -> Result<StoreRecord, AdminError> {
    let ctx = credentials_context(&store.id);
    let plain = ring
        .open(&store.credentials, &ctx)
        .map_err(|e| AdminError::Crypto(format!("store {}: {e}", store.id)))?;
    store.credentials = new.seal(&plain, &ctx);
    if let Some(native) = store.native_webhooks.as_mut() {
        let ctx = crate::webhooks::native::secret_context(&store.id);
        let plain = ring
            .open(&native.secret, &ctx)
            .map_err(|e| AdminError::Crypto(format!("store {} webhooks: {e}", store.id)))?;
        native.secret = new.seal(&plain, &ctx);
    }
    Ok(store)
}

/// Re-seals a webhook subscription's secret and, while it is still honoured, the previous
/// one.
fn reseal_subscription(
    ring: &KeyRing,
    new: &MasterKey,
    mut s: SubscriptionRecord,
) -> Result<SubscriptionRecord, AdminError> {
    let ctx = secret_context(&s.id);
    let reseal = |sealed: &Sealed| {
        ring.open(sealed, &ctx)
            .map(|plain| new.seal(&plain, &ctx))
            .map_err(|e| AdminError::Crypto(format!("webhook {}: {e}", s.id)))
    };
    let secret = reseal(&s.secret)?;
    let previous = match &s.previous_secret {
        Some((sealed, until)) => Some((reseal(sealed)?, *until)),
        None => None,
    };
    s.secret = secret;
    s.previous_secret = previous;
    Ok(s)
}

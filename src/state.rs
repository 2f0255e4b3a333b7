//! Application state and its bootstrap: storage, master key, gateway secrets, the upstream
//! client, the connector registry and the cache of open store sessions.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use cartgate_connector::http::Upstream;
use cartgate_connector::{CallContext, ConnectorError, StoreSession};
use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::crypto::{CryptoError, GatewaySecrets, KeyRing, MasterKey, Signers};
use crate::error::{ApiError, ApiResult};
use crate::logsink::LogSink;
use crate::ratelimit::pace::RedisPacer;
use crate::ratelimit::redis::RedisRateLimiter;
use crate::ratelimit::{ApiLimit, ApiRateLimiter};
use crate::registry::Registry;
use crate::storage::embedded::EmbeddedStorage;
use crate::storage::redis::RedisStorage;
use crate::storage::{
    AccountRecord, CasOutcome, Storage, StorageError, StoreRecord, StoreStatus, META_SECRETS,
};

/// Where the master key came from; rotation writes it back to the same place.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    Env,
    File(PathBuf),
}

/// Open sessions kept, per store id and invalidated by `updated_at`; the least recently
/// used goes first when full.
const SESSION_CACHE_MAX: std::num::NonZeroUsize = std::num::NonZeroUsize::new(10_000).unwrap();

/// An open session and the `updated_at` of the store record it was opened from.
type CachedSession = (DateTime<Utc>, Arc<dyn StoreSession>);

pub struct AppState {
    pub settings: Settings,
    pub storage: Arc<dyn Storage>,
    pub registry: Registry,
    pub upstream: Upstream,
    pub signers: Signers,
    pub master: RwLock<Arc<KeyRing>>,
    pub master_source: MasterKeySource,
    pub rate_limiter: ApiLimit,
    pub log_sink: LogSink,
    sessions: Mutex<lru::LruCache<String, CachedSession>>,
    /// The webhook delivery worker, once the background work has started. Weak: the worker
    /// holds the state, and the state must drop (closing the embedded store) once the
    /// background work has stopped.
    webhooks: std::sync::OnceLock<std::sync::Weak<crate::webhooks::deliver::Deliverer>>,
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(d) => {
                tracing::error!(error = %d, "storage unavailable");
                ApiError::storage_unavailable("the gateway's storage is unavailable; retry shortly")
            }
            StorageError::Corrupt(d) => ApiError::internal(format!("corrupt record: {d}")),
        }
    }
}

pub const SECRETS_CONTEXT: &str = "meta:gateway_secrets";

pub fn credentials_context(store_id: &str) -> String {
    format!("store:{store_id}")
}

/// Reads or creates the master key per the settings, with the previous keys that still
/// open (`CARTGATE_PREVIOUS_MASTER_KEYS`).
pub fn load_master_key(settings: &Settings) -> anyhow::Result<(KeyRing, MasterKeySource)> {
    let previous = settings
        .previous_master_keys
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, k)| {
            MasterKey::from_base64(k)
                .with_context(|| format!("CARTGATE_PREVIOUS_MASTER_KEYS, key {}", i + 1))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (current, source) = load_current_master_key(settings)?;
    Ok((KeyRing::new(current, previous), source))
}

fn load_current_master_key(settings: &Settings) -> anyhow::Result<(MasterKey, MasterKeySource)> {
    if let Some(b64) = &settings.master_key {
        let key = MasterKey::from_base64(b64).context("CARTGATE_MASTER_KEY")?;
        return Ok((key, MasterKeySource::Env));
    }
    if settings.redis_url.is_some() {
        anyhow::bail!(
            "CARTGATE_REDIS_URL is set but CARTGATE_MASTER_KEY is not: every instance sharing \
             the Redis must be given the same master key (base64 of 32 random bytes, e.g. \
             `openssl rand -base64 32`)"
        );
    }
    ensure_data_dir(settings)?;
    let path = settings.data_dir.join("master.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let key = MasterKey::from_base64(&text).with_context(|| path.display().to_string())?;
        return Ok((key, MasterKeySource::File(path)));
    }
    let key = MasterKey::generate();
    write_key_file(&path, &key)?;
    tracing::warn!(
        path = %path.display(),
        "CARTGATE_MASTER_KEY is not set: generated a master key file; back it up, or set \
         CARTGATE_MASTER_KEY in production"
    );
    Ok((key, MasterKeySource::File(path)))
}

/// Writes a key file with mode 0600, atomically (temp file + rename).
pub fn write_key_file(path: &std::path::Path, key: &MasterKey) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("key.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(key.to_base64().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn ensure_data_dir(settings: &Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ =
            std::fs::set_permissions(&settings.data_dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// The configured storage backend, and the Redis connection when it is Redis.
pub fn open_backend(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn Storage>, Option<redis::aio::ConnectionManager>)> {
    if let Some(url) = &settings.redis_url {
        let conn = crate::storage::redis::connect(url)?;
        let retention =
            std::time::Duration::from_secs(u64::from(settings.log_retention_days.max(1)) * 86_400);
        let storage = RedisStorage::new(conn.clone(), retention);
        return Ok((Arc::new(storage), Some(conn)));
    }
    ensure_data_dir(settings)?;
    let storage = EmbeddedStorage::open(&settings.data_dir.join("cartgate.redb"))?;
    Ok((Arc::new(storage), None))
}

/// Opens the configured storage backend.
pub fn open_storage(settings: &Settings) -> anyhow::Result<Arc<dyn Storage>> {
    Ok(open_backend(settings)?.0)
}

/// Waits for the storage to answer at start-up (Redis may be starting beside us).
async fn wait_for_storage(storage: &dyn Storage) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + STARTUP_STORAGE_WAIT;
    loop {
        match storage.ping().await {
            Ok(()) => return Ok(()),
            Err(e) if std::time::Instant::now() >= deadline => {
                anyhow::bail!("storage did not answer within {STARTUP_STORAGE_WAIT:?}: {e}")
            }
            Err(e) => {
                tracing::warn!(error = %e, "waiting for storage");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// How long `serve` waits for its storage at start-up before giving up.
const STARTUP_STORAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Unseals the gateway secrets, creating them on first start.
pub async fn load_secrets(storage: &dyn Storage, master: &KeyRing) -> anyhow::Result<Signers> {
    match storage.get_meta(META_SECRETS).await? {
        Some(sealed) => {
            let plain = master.open(&sealed, SECRETS_CONTEXT).map_err(|e| {
                anyhow::anyhow!(
                    "cannot unseal the gateway secrets with master key {}: {e}. Is \
                     CARTGATE_MASTER_KEY the key this store was created with (or, during a \
                     rotation, is the old one in CARTGATE_PREVIOUS_MASTER_KEYS)?",
                    master.current().id()
                )
            })?;
            let secrets: GatewaySecrets = serde_json::from_slice(&plain)?;
            Ok(Signers::new(&secrets))
        }
        None => {
            let secrets = GatewaySecrets::generate();
            let sealed = master.seal(&serde_json::to_vec(&secrets)?, SECRETS_CONTEXT);
            if storage.put_meta_if_absent(META_SECRETS, &sealed).await? {
                Ok(Signers::new(&secrets))
            } else {
                // Another instance created them first: use theirs.
                Box::pin(load_secrets(storage, master)).await
            }
        }
    }
}

impl AppState {
    pub async fn build(settings: Settings, registry: Registry) -> anyhow::Result<Arc<Self>> {
        let (master, master_source) = load_master_key(&settings)?;
        let (storage, redis) = open_backend(&settings)?;
        wait_for_storage(storage.as_ref()).await?;
        let signers = load_secrets(storage.as_ref(), &master).await?;
        let (upstream, rate_limiter) = match redis {
            None => (
                Upstream::new(settings.upstream_config()),
                ApiLimit::Local(ApiRateLimiter::new(
                    settings.rate_limit_per_second,
                    settings.rate_limit_burst,
                )),
            ),
            Some(conn) => {
                let hasher = signers.clone();
                let pacer = RedisPacer::new(conn.clone(), move |bucket| {
                    hasher.api_key_digest(&format!("upstream-budget:{bucket}"))
                });
                (
                    Upstream::with_pacer(settings.upstream_config(), Arc::new(pacer)),
                    ApiLimit::Shared(RedisRateLimiter::new(
                        conn,
                        settings.rate_limit_per_second,
                        settings.rate_limit_burst,
                    )),
                )
            }
        };
        let (log_sink, _writer) = LogSink::start(storage.clone());
        Ok(Arc::new(AppState {
            log_sink,
            settings,
            storage,
            registry,
            upstream,
            signers,
            master: RwLock::new(Arc::new(master)),
            master_source,
            rate_limiter,
            sessions: Mutex::new(lru::LruCache::new(SESSION_CACHE_MAX)),
            webhooks: std::sync::OnceLock::new(),
        }))
    }

    /// The webhook delivery worker (none before the background work started: admin CLI,
    /// tests that build a state alone).
    pub fn webhooks(&self) -> Option<Arc<crate::webhooks::deliver::Deliverer>> {
        self.webhooks.get().and_then(std::sync::Weak::upgrade)
    }

    pub fn set_webhooks(&self, d: &Arc<crate::webhooks::deliver::Deliverer>) {
        let _ = self.webhooks.set(Arc::downgrade(d));
    }

    pub fn master_key(&self) -> Arc<KeyRing> {
        self.master.read().expect("master key lock").clone()
    }

    /// The account's store, or 404 — also for another account's store, so ids leak nothing.
    pub async fn store_of(
        &self,
        account: &AccountRecord,
        store_id: &str,
    ) -> ApiResult<StoreRecord> {
        match self.storage.get_store(store_id).await? {
            Some(s) if s.account_id == account.id => Ok(s),
            _ => Err(ApiError::not_found(format!("no store {store_id}"))),
        }
    }

    /// Unseals a store's canonical credentials.
    pub fn open_credentials(&self, store: &StoreRecord) -> ApiResult<serde_json::Value> {
        let plain = self
            .master_key()
            .open(&store.credentials, &credentials_context(&store.id))
            .map_err(|e| match e {
                CryptoError::UnknownKey(id) => ApiError::master_key_unavailable(format!(
                    "this store's credentials are sealed with master key {id}, which this \
                     gateway instance does not hold; give it that key (CARTGATE_MASTER_KEY or \
                     CARTGATE_PREVIOUS_MASTER_KEYS) and restart it"
                )),
                other => ApiError::internal(other),
            })?;
        serde_json::from_slice(&plain).map_err(ApiError::internal)
    }

    /// The secret a platform signs a store's webhooks with (WooCommerce), when the gateway
    /// registered them.
    pub fn native_webhook_secret(&self, store: &StoreRecord) -> ApiResult<Option<String>> {
        let Some(native) = &store.native_webhooks else {
            return Ok(None);
        };
        let plain = self
            .master_key()
            .open(
                &native.secret,
                &crate::webhooks::native::secret_context(&store.id),
            )
            .map_err(ApiError::internal)?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(ApiError::internal)
    }

    /// The open session of a store, reusing the cached one while the record is unchanged.
    pub fn session(&self, store: &StoreRecord) -> ApiResult<Arc<dyn StoreSession>> {
        if let Some((stamp, s)) = self.sessions.lock().expect("sessions lock").get(&store.id) {
            if *stamp == store.updated_at {
                return Ok(s.clone());
            }
        }
        let platform = self
            .registry
            .get(&store.platform)
            .ok_or_else(|| ApiError::internal(format!("unknown platform {}", store.platform)))?;
        let creds = self.open_credentials(store)?;
        let session = platform.connector.open(&creds, self.upstream.clone())?;
        self.sessions
            .lock()
            .expect("sessions lock")
            .put(store.id.clone(), (store.updated_at, session.clone()));
        Ok(session)
    }

    pub fn forget_session(&self, store_id: &str) {
        self.sessions.lock().expect("sessions lock").pop(store_id);
    }

    pub fn forget_all_sessions(&self) {
        self.sessions.lock().expect("sessions lock").clear();
    }

    /// Runs one connector operation for a store of the account, keeping the store's status
    /// in step with what the platform says of its credentials.
    pub async fn with_store<T, F, Fut>(
        &self,
        account: &AccountRecord,
        store_id: &str,
        cx: &CallContext,
        op: F,
    ) -> ApiResult<T>
    where
        F: FnOnce(Arc<dyn StoreSession>, CallContext) -> Fut,
        Fut: std::future::Future<Output = Result<T, ConnectorError>>,
    {
        let store = self.store_of(account, store_id).await?;
        let session = self.session(&store)?;
        let result = op(session, cx.clone()).await;
        let new_status = match &result {
            Err(ConnectorError::AuthFailed(_)) => Some(StoreStatus::AuthFailed),
            Ok(_) if store.status == StoreStatus::AuthFailed => Some(StoreStatus::Active),
            _ => None,
        };
        if let Some(status) = new_status.filter(|s| *s != store.status) {
            // The status describes the credentials of the record read above: it applies to
            // that version only. A store deleted or changed meanwhile (new credentials, a
            // rotation) is left as it is, never recreated or reverted.
            let updated = StoreRecord {
                status,
                ..store.clone()
            };
            match self.storage.update_store(&updated).await {
                Ok(CasOutcome::Written) => {}
                Ok(outcome) => {
                    tracing::debug!(?outcome, "store changed meanwhile; status not recorded")
                }
                Err(e) => tracing::warn!(error = %e, "could not record the store's status"),
            }
        }
        result.map_err(ApiError::from)
    }
}

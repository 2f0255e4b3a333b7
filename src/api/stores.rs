//! Connected stores: connect (validated against the platform first), list, get, rename or
//! replace credentials, disconnect (credentials destroyed), and the shop's own info.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use cartgate_connector::model::StoreInfo;
use cartgate_connector::CallContext;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::calls::StorePath;
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiJson, ApiPath, ApiQuery, Scope};
use super::lists::{CursorScope, IdPage, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Produced;
use crate::middleware::LogStoreId;
use crate::state::{credentials_context, AppState};
use crate::storage::{CasOutcome, StoreRecord, StoreStatus};

/// A connected store. Credentials are never returned.
#[derive(Serialize, ToSchema)]
pub struct Store {
    #[schema(example = "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b")]
    pub id: String,
    #[schema(example = "woocommerce")]
    pub platform: String,
    pub name: String,
    pub status: StoreStatus,
    /// How this store's changes reach webhook subscribers: `native` (the platform's own
    /// webhooks, registered by the gateway) or `polled`.
    pub events: cartgate_connector::connector::EventSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&StoreRecord> for Store {
    fn from(s: &StoreRecord) -> Self {
        Store {
            id: s.id.clone(),
            platform: s.platform.clone(),
            name: s.name.clone(),
            status: s.status,
            events: if s.native_webhooks.is_some() {
                cartgate_connector::connector::EventSource::Native
            } else {
                cartgate_connector::connector::EventSource::Polled
            },
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StoreList {
    pub data: Vec<Store>,
    /// Always null: every store of the account is in one page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectStore {
    /// A platform id from GET /v1/platforms.
    #[schema(example = "woocommerce")]
    pub platform: String,
    /// Your name for the store (1..=200 characters).
    pub name: String,
    /// The platform's credential fields (GET /v1/platforms); every platform also accepts
    /// `endpoint`, a base URL replacing its production host.
    #[schema(value_type = Object)]
    pub credentials: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStore {
    pub name: Option<String>,
    /// Replaces all credentials; validated against the platform before they are saved.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Value>,
}

/// A new store id: `st_` and a UUIDv7 in simple form (32 lowercase hex digits).
pub fn new_store_id() -> String {
    format!("st_{}", uuid::Uuid::now_v7().simple())
}

/// Whether `s` has exactly the shape of [`new_store_id`]'s ids. The request log records a
/// store id only when it has.
pub fn is_store_id(s: &str) -> bool {
    s.strip_prefix("st_").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// What a store write answered, for idempotent replays: the store, read again.
fn store_produced(store_id: &str) -> Extension<Produced> {
    Extension(Produced::Resource(format!("/v1/stores/{store_id}")))
}

fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::validation("name must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

/// Parses credentials with the platform's connector and proves them by reading the shop.
async fn validated_credentials(
    state: &AppState,
    platform: &str,
    raw: &Value,
    cx: &CallContext,
) -> ApiResult<Value> {
    let p = state.registry.get(platform).ok_or_else(|| {
        ApiError::validation(format!(
            "unknown platform {platform:?}; known: {}",
            state.registry.ids().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let canonical = p
        .connector
        .parse_credentials(raw)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let session = p.connector.open(&canonical, state.upstream.clone())?;
    session.info(cx).await?;
    Ok(canonical)
}

fn seal(state: &AppState, store_id: &str, creds: &Value) -> ApiResult<crate::crypto::Sealed> {
    let bytes = serde_json::to_vec(creds).map_err(ApiError::internal)?;
    Ok(state
        .master_key()
        .seal(&bytes, &credentials_context(store_id)))
}

/// Connect a store. The credentials are checked against the platform before anything is
/// saved; they are sealed at rest and never returned.
#[utoipa::path(post, path = "/v1/stores", tag = "stores", operation_id = "createStore",
    request_body = ConnectStore,
    responses((status = 201, body = Store), CommonErrors, UpstreamErrors),
    security(("api_key" = [])))]
pub async fn create_store(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiJson(body): ApiJson<ConnectStore>,
) -> ApiResult<(
    StatusCode,
    Extension<LogStoreId>,
    Extension<Produced>,
    Json<Store>,
)> {
    let name = check_name(&body.name)?;
    let creds =
        validated_credentials(&state, &body.platform, &body.credentials, &scope.cx(false)).await?;
    let now = Utc::now();
    let id = new_store_id();
    let record = StoreRecord {
        credentials: seal(&state, &id, &creds)?,
        id,
        account_id: scope.account.id.clone(),
        platform: body.platform,
        name,
        status: StoreStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
        native_webhooks: None,
    };
    if !state.storage.insert_store(&record).await? {
        return Err(ApiError::internal(
            "a new store id collided with an existing one",
        ));
    }
    crate::webhooks::native::register(&state, &record).await;
    Ok((
        StatusCode::CREATED,
        Extension(LogStoreId(record.id.clone())),
        store_produced(&record.id),
        Json(Store::from(&record)),
    ))
}

/// This account's stores, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/stores", tag = "stores", operation_id = "listStores",
    params(PageParams),
    responses((status = 200, body = StoreList), CommonErrors), security(("api_key" = [])))]
pub async fn list_stores(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<StoreList>> {
    let page = IdPage::read(
        CursorScope {
            signers: &state.signers,
            owner: &scope.account.id,
            resource: "stores",
        },
        &q,
    )?;
    let rows = state
        .storage
        .list_stores(&scope.account.id, page.after.as_deref(), page.fetch())
        .await?;
    let (rows, next_cursor) = page.finish(rows, |s| &s.id);
    Ok(Json(StoreList {
        data: rows.iter().map(Store::from).collect(),
        next_cursor,
    }))
}

/// One store, with its status (`auth_failed` once the platform refused its credentials).
#[utoipa::path(get, path = "/v1/stores/{store_id}", tag = "stores", operation_id = "getStore",
    params(("store_id" = String, Path)),
    responses((status = 200, body = Store), CommonErrors), security(("api_key" = [])))]
pub async fn get_store(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
) -> ApiResult<Json<Store>> {
    let store = state.store_of(&scope.account, &p.store_id).await?;
    Ok(Json(Store::from(&store)))
}

/// Rename a store or replace its credentials (validated first).
#[utoipa::path(patch, path = "/v1/stores/{store_id}", tag = "stores", operation_id = "updateStore",
    params(("store_id" = String, Path)), request_body = UpdateStore,
    responses((status = 200, body = Store), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn update_store(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiJson(body): ApiJson<UpdateStore>,
) -> ApiResult<(Extension<Produced>, Json<Store>)> {
    let name = body.name.as_deref().map(check_name).transpose()?;
    let first = state.store_of(&scope.account, &p.store_id).await?;
    let credentials = match &body.credentials {
        Some(raw) => {
            let creds =
                validated_credentials(&state, &first.platform, raw, &scope.cx(false)).await?;
            Some(seal(&state, &first.id, &creds)?)
        }
        None => None,
    };
    // Apply the change to the record as it is now: another write may have landed while the
    // credentials were validated (a rename, a status change). Compare-and-set, re-read on a
    // conflict; a store deleted meanwhile stays deleted (404).
    let replaced = first.clone();
    let mut store = first;
    loop {
        if let Some(name) = &name {
            store.name = name.clone();
        }
        if let Some(sealed) = &credentials {
            store.credentials = sealed.clone();
            store.status = StoreStatus::Active;
            store.native_webhooks = None;
        }
        store.updated_at = Utc::now().max(store.updated_at + chrono::Duration::microseconds(1));
        match state.storage.update_store(&store).await? {
            CasOutcome::Written => break,
            CasOutcome::Missing => {
                return Err(ApiError::not_found(format!("no store {}", p.store_id)))
            }
            CasOutcome::Stale => store = state.store_of(&scope.account, &p.store_id).await?,
        }
    }
    store.version += 1;
    state.forget_session(&store.id);
    if credentials.is_some() {
        // The platform's webhooks follow the credentials: removed with the old ones,
        // registered with the new ones.
        crate::webhooks::native::unregister(&state, &replaced).await;
        crate::webhooks::native::register(&state, &store).await;
    }
    Ok((store_produced(&store.id), Json(Store::from(&store))))
}

/// Disconnect a store: its credentials are destroyed.
#[utoipa::path(delete, path = "/v1/stores/{store_id}", tag = "stores", operation_id = "deleteStore",
    params(("store_id" = String, Path)),
    responses((status = 204, description = "Disconnected"), CommonErrors), security(("api_key" = [])))]
pub async fn delete_store(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
) -> ApiResult<StatusCode> {
    let store = state.store_of(&scope.account, &p.store_id).await?;
    crate::webhooks::native::unregister(&state, &store).await;
    state.storage.delete_store(&store.id).await?;
    state.storage.delete_poll_state(&store.id).await?;
    state.forget_session(&store.id);
    Ok(StatusCode::NO_CONTENT)
}

/// The shop itself: name, URL, currency, timezone, platform version.
#[utoipa::path(get, path = "/v1/stores/{store_id}/info", tag = "stores", operation_id = "getStoreInfo",
    params(("store_id" = String, Path)),
    responses((status = 200, body = StoreInfo), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn store_info(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
) -> ApiResult<Json<StoreInfo>> {
    let info = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.info(&cx).await },
        )
        .await?;
    Ok(Json(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_have_one_shape() {
        for _ in 0..100 {
            assert!(is_store_id(&new_store_id()));
        }
        let good = "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b";
        assert!(is_store_id(good));
        for bad in [
            "",
            "st_",
            "st_0190F1C2A7B37D2E8C4B5A6D7E8F9A0B",
            "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0",
            "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b0",
            "xx_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b",
            "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0\u{202e}",
            "st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0\n",
            "st_0190f1c2-a7b3-7d2e-8c4b-5a6d7e8f",
        ] {
            assert!(!is_store_id(bad), "{bad:?}");
        }
    }
}

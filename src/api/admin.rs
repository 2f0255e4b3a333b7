//! /admin over HTTP, authorized by `Authorization: Bearer $CARTGATE_ADMIN_TOKEN`.
//! Off (404) when no admin token is configured.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath};
use crate::admin::{self, AdminError, KeyInfo, NewAccount, NewKey};
use crate::crypto::{constant_time_eq, MasterKey};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::{write_key_file, AppState, MasterKeySource};

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(d) => ApiError::not_found(d),
            AdminError::Invalid(d) => ApiError::validation(d),
            AdminError::Storage(s) => s.into(),
            AdminError::Crypto(d) => ApiError::internal(d),
        }
    }
}

pub async fn require_admin(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(expected) = state
        .settings
        .admin_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return ApiError::not_found("the admin API is off: set CARTGATE_ADMIN_TOKEN")
            .into_response();
    };
    let presented = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(presented, expected) {
        return ApiError::unauthorized("a valid admin token is required").into_response();
    }
    next.run(req).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub name: String,
}

#[derive(Deserialize)]
pub struct AccountPath {
    pub account_id: String,
}

#[derive(Deserialize)]
pub struct KeyPath {
    pub key_id: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub data: Vec<KeyInfo>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RotatedMasterKey {
    /// Id of the new master key.
    pub key_id: String,
    /// Where the new key lives: `file` (the data dir's master.key was replaced) or `env`.
    pub stored_in: String,
    /// Only when the old key came from CARTGATE_MASTER_KEY: the new key, shown once. Set
    /// it as CARTGATE_MASTER_KEY before the next restart.
    pub master_key: Option<String>,
    /// Sealed values re-sealed.
    pub resealed: usize,
}

/// Create an account and its first API key (shown once).
#[utoipa::path(post, path = "/admin/accounts", tag = "admin", operation_id = "adminCreateAccount",
    request_body = CreateAccount,
    responses((status = 201, body = NewAccount), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("admin_token" = [])))]
pub async fn create_account(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateAccount>,
) -> ApiResult<(StatusCode, Json<NewAccount>)> {
    let a = admin::create_account(state.storage.as_ref(), &state.signers, &body.name).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Create another API key for an account (shown once).
#[utoipa::path(post, path = "/admin/accounts/{account_id}/keys", tag = "admin", operation_id = "adminCreateKey",
    params(("account_id" = String, Path)),
    responses((status = 201, body = NewKey), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin_token" = [])))]
pub async fn create_key(
    State(state): State<Arc<AppState>>,
    ApiPath(p): ApiPath<AccountPath>,
) -> ApiResult<(StatusCode, Json<NewKey>)> {
    let k = admin::create_key(state.storage.as_ref(), &state.signers, &p.account_id).await?;
    Ok((StatusCode::CREATED, Json(k)))
}

/// An account's keys (never the keys themselves).
#[utoipa::path(get, path = "/admin/accounts/{account_id}/keys", tag = "admin", operation_id = "adminListKeys",
    params(("account_id" = String, Path)),
    responses((status = 200, body = KeyList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin_token" = [])))]
pub async fn list_keys(
    State(state): State<Arc<AppState>>,
    ApiPath(p): ApiPath<AccountPath>,
) -> ApiResult<Json<KeyList>> {
    let data = admin::list_keys(state.storage.as_ref(), &p.account_id).await?;
    Ok(Json(KeyList { data }))
}

/// Revoke a key: refused from the next request on.
#[utoipa::path(post, path = "/admin/keys/{key_id}/revoke", tag = "admin", operation_id = "adminRevokeKey",
    params(("key_id" = String, Path)),
    responses((status = 200, body = KeyInfo), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin_token" = [])))]
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    ApiPath(p): ApiPath<KeyPath>,
) -> ApiResult<Json<KeyInfo>> {
    Ok(Json(
        admin::revoke_key(state.storage.as_ref(), &p.key_id).await?,
    ))
}

/// Generate a new master key and re-seal every credential and secret under it, so the old
/// key is no longer needed.
#[utoipa::path(post, path = "/admin/rotate-master-key", tag = "admin", operation_id = "adminRotateMasterKey",
    responses((status = 200, body = RotatedMasterKey), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("admin_token" = [])))]
pub async fn rotate_master_key(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<RotatedMasterKey>> {
    let out = rotate(&state).await?;
    Ok(Json(out))
}

/// Rotation inside a running gateway: re-seal, persist the new key where the old one was,
/// then switch the in-memory key. Shared with the CLI's direct mode.
pub async fn rotate(state: &AppState) -> ApiResult<RotatedMasterKey> {
    let old = state.master_key();
    let new = MasterKey::generate();
    // Write the key file first: if that fails nothing changed; if re-sealing then fails,
    // the old key is still in memory and the file is restored.
    if let MasterKeySource::File(path) = &state.master_source {
        write_key_file(path, &new).map_err(ApiError::internal)?;
    }
    let resealed = match admin::reseal_all(state.storage.as_ref(), &old, &new).await {
        Ok(n) => n,
        Err(e) => {
            if let MasterKeySource::File(path) = &state.master_source {
                let _ = write_key_file(path, &old);
            }
            return Err(e.into());
        }
    };
    *state.master.write().expect("master key lock") = Arc::new(new);
    state.forget_all_sessions();
    let new = state.master_key();
    let (stored_in, master_key) = match &state.master_source {
        MasterKeySource::File(_) => ("file".to_owned(), None),
        MasterKeySource::Env => ("env".to_owned(), Some(new.to_base64())),
    };
    tracing::info!(key_id = new.id(), resealed, "master key rotated");
    Ok(RotatedMasterKey {
        key_id: new.id().to_owned(),
        stored_in,
        master_key,
        resealed,
    })
}

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

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::lists::{CursorScope, IdPage, PageParams};
use crate::admin::{self, AdminError, KeyInfo, NewAccount, NewKey, RotatedMasterKey};
use crate::crypto::constant_time_eq;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(d) => ApiError::not_found(d),
            AdminError::Invalid(d) => ApiError::validation(d),
            AdminError::Storage(s) => s.into(),
            AdminError::Crypto(d) => ApiError::master_key_unavailable(d),
            AdminError::Io(d) => ApiError::internal(d),
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
    /// The next page's cursor; `null` on the last page.
    pub next_cursor: Option<String>,
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

/// An account's keys (never the keys themselves), oldest first, a page at a time.
#[utoipa::path(get, path = "/admin/accounts/{account_id}/keys", tag = "admin", operation_id = "adminListKeys",
    params(("account_id" = String, Path), PageParams),
    responses((status = 200, body = KeyList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("admin_token" = [])))]
pub async fn list_keys(
    State(state): State<Arc<AppState>>,
    ApiPath(p): ApiPath<AccountPath>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<KeyList>> {
    let page = IdPage::read(
        CursorScope {
            signers: &state.signers,
            owner: &p.account_id,
            resource: "keys",
        },
        &q,
    )?;
    let rows = admin::list_keys(
        state.storage.as_ref(),
        &p.account_id,
        page.after.as_deref(),
        page.fetch(),
    )
    .await?;
    let (data, next_cursor) = page.finish(rows, |k| &k.id);
    Ok(Json(KeyList { data, next_cursor }))
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateParams {
    /// Keep the current master key and only re-seal what is still sealed under a previous
    /// one (CARTGATE_PREVIOUS_MASTER_KEYS): the last step of a rolling rotation.
    #[serde(default)]
    pub reseal_only: bool,
}

/// Generate a new master key and re-seal every credential and secret under it, so the old
/// key is no longer needed; or, with `reseal_only`, re-seal under the current key.
#[utoipa::path(post, path = "/admin/rotate-master-key", tag = "admin", operation_id = "adminRotateMasterKey",
    params(RotateParams),
    responses((status = 200, body = RotatedMasterKey), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json",
         description = "master_key_unavailable: a sealed value names a key this instance does not hold")),
    security(("admin_token" = [])))]
pub async fn rotate_master_key(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<RotateParams>,
) -> ApiResult<Json<RotatedMasterKey>> {
    let ring = state.master_key();
    let (next, out) = admin::rotate_master_key(
        state.storage.as_ref(),
        &ring,
        &state.master_source,
        !p.reseal_only,
    )
    .await?;
    *state.master.write().expect("master key lock") = Arc::new(next);
    state.forget_all_sessions();
    Ok(Json(out))
}

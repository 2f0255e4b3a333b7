//! The escape hatch: a raw call relative to the platform's API root, with the stored
//! credentials.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use cartgate_connector::model::{ProxyRequest, ProxyResponse};

use super::calls::StorePath;
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiJson, ApiPath, Scope};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Produced;
use crate::state::AppState;

/// Escape hatch: a raw call relative to the platform's API root, sent with the stored
/// credentials. The answer is the platform's status and JSON body, untouched.
#[utoipa::path(post, path = "/v1/stores/{store_id}/proxy", tag = "proxy", operation_id = "proxy",
    params(("store_id" = String, Path)), request_body = ProxyRequest,
    responses((status = 200, body = ProxyResponse), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn proxy(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiJson(body): ApiJson<ProxyRequest>,
) -> ApiResult<(Extension<Produced>, Json<ProxyResponse>)> {
    let method = body.http_method().map_err(ApiError::invalid_input)?;
    body.checked_path("the platform's API root")
        .map_err(ApiError::invalid_input)?;
    let read_only = method == http::Method::GET;
    if !read_only {
        scope.writes_upstream();
    }
    let req = ProxyRequest {
        method: method.to_string(),
        ..body
    };
    let resp = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.proxy(&cx, &req).await },
        )
        .await?;
    // Idempotent replays: a read is sent again; a write answers the platform's status only
    // (its body is store data, which the gateway does not keep).
    let produced = if read_only {
        Produced::ReadOnly
    } else {
        Produced::Proxied {
            upstream_status: resp.status,
        }
    };
    Ok((Extension(produced), Json(resp)))
}

//! The tower stack's own layers. The order they are applied in lives in `api::router`;
//! each layer here does one thing.

use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::api::stores::is_store_id;
use crate::error::{problem_response, ApiError, Code, ErrorCode, REQUEST_ID};
use crate::ratelimit::Decision;
use crate::state::AppState;
use crate::storage::{AccountRecord, LogRecord};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of a request, also in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The authenticated caller, inserted by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: AccountRecord,
    pub key_id: String,
}

/// Upstream calls made while serving a request; handlers hand it to connectors.
#[derive(Debug, Clone, Default)]
pub struct UpstreamCalls(pub Arc<AtomicU32>);

fn acceptable_request_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic())
}

/// Takes the client's `x-request-id` when it is sane, else makes one; echoes it, and makes
/// it available to every error body through a task-local.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("req_{}", uuid::Uuid::now_v7().simple()));
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}

/// Turns bare error responses of other layers and of axum itself (unknown route, wrong
/// method, body limit, unsupported media type) into problem+json, so every error a client
/// sees has the same shape. Must sit inside `request_id` (for the id in the body).
pub async fn problem_bodies(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.extensions().get::<ErrorCode>().is_some()
    {
        return resp;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => (Code::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (
            Code::MethodNotAllowed,
            "this route does not accept that method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            Code::PayloadTooLarge,
            "the request body exceeds the gateway's limit",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (Code::ValidationFailed, "send the body as application/json")
        }
        s if s.is_client_error() => (Code::ValidationFailed, "the request is invalid"),
        _ => (
            Code::InternalError,
            "an internal error occurred; quote the request_id when reporting it",
        ),
    };
    let mut out = problem_response(status, code, detail.to_owned());
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// A panic in a handler becomes a logged 500 problem, never a dropped connection.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    ApiError::internal("handler panicked").into_response()
}

/// Bounds the whole request; the client gets a 504 problem, never a hang.
pub async fn timeout(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::timeout(limit).into_response(),
    }
}

fn presented_key(req: &Request) -> Option<&str> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    req.headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// API-key authentication: digest the presented key, look the digest up, refuse revoked keys.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(key) = presented_key(&req).filter(|k| !k.is_empty()) else {
        return ApiError::unauthorized(
            "send your API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )
        .into_response();
    };
    let digest = state.signers.api_key_digest(key);
    let record = match state.storage.find_api_key(&digest).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(record) = record.filter(|r| r.revoked_at.is_none()) else {
        return ApiError::unauthorized("the API key is unknown or revoked").into_response();
    };
    let account = match state.storage.get_account(&record.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return ApiError::unauthorized("the API key's account is gone").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    req.extensions_mut().insert(Caller {
        account,
        key_id: record.id,
    });
    next.run(req).await
}

/// Per-key rate limit with `RateLimit-*` headers on every answer and `Retry-After` on 429.
pub async fn rate_limit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(caller) = req.extensions().get::<Caller>() else {
        return ApiError::internal("rate limit layer runs before authentication").into_response();
    };
    let limit = HeaderValue::from(state.settings.rate_limit_burst.max(1));
    let decision = match state.rate_limiter.check(&caller.key_id).await {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match decision {
        Decision::Allowed {
            remaining,
            reset_secs,
        } => {
            let mut resp = next.run(req).await;
            let h = resp.headers_mut();
            h.insert("ratelimit-limit", limit);
            h.insert("ratelimit-remaining", HeaderValue::from(remaining));
            h.insert("ratelimit-reset", HeaderValue::from(reset_secs));
            resp
        }
        Decision::Limited { retry_after } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            metrics::counter!("cartgate_rate_limited_total").increment(1);
            let mut resp = ApiError::rate_limited(secs).into_response();
            let h = resp.headers_mut();
            h.insert("ratelimit-limit", limit);
            h.insert("ratelimit-remaining", HeaderValue::from(0));
            h.insert("ratelimit-reset", HeaderValue::from(secs));
            resp
        }
    }
}

/// What the request log knows of an admitted `/v1` request (one that passed authentication
/// and the rate limit). [`log_context`] fills it in; [`request_log`], further out, writes it.
#[derive(Debug)]
struct Admitted {
    account_id: String,
    route: String,
    store_id: Option<String>,
    calls: UpstreamCalls,
}

/// Shared between [`request_log`] and [`log_context`] through the request's extensions, so
/// the entry survives the inner future being dropped (timeout) or unwinding (panic).
#[derive(Debug, Clone, Default)]
struct LogSlot(Arc<OnceLock<Admitted>>);

/// A store id for the request log, set by a handler on its response (`POST /v1/stores`
/// names the store it created). Logged only when it is a well-formed store id.
#[derive(Debug, Clone)]
pub struct LogStoreId(pub String);

/// Writes one request-log entry per admitted `/v1` request and feeds the Prometheus metrics,
/// from the answer the client gets: it sits outside the panic catcher and the timeout, so a
/// panic (500) or a timeout (504) is logged and counted like any other answer. Entries hold
/// the route template, never the raw path, its query or a body; a `store_id` only when it
/// is a well-formed store id (see [`crate::logsink`] for the bounds of every field).
pub async fn request_log(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());

    let resp = next.run(req).await;

    let Some(admitted) = slot.0.get() else {
        return resp; // not a /v1 route, or refused before the limiter let it through
    };
    let latency = started.elapsed();
    let status = resp.status().as_u16();
    metrics::counter!("cartgate_requests_total", "route" => admitted.route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("cartgate_request_duration_seconds", "route" => admitted.route.clone())
        .record(latency.as_secs_f64());
    let store_id = resp
        .extensions()
        .get::<LogStoreId>()
        .map(|s| s.0.clone())
        .filter(|s| is_store_id(s))
        .or_else(|| admitted.store_id.clone());
    state.log_sink.record(LogRecord {
        id: format!("log_{}", uuid::Uuid::now_v7().simple()),
        account_id: admitted.account_id.clone(),
        request_id,
        at: Utc::now(),
        method,
        route: admitted.route.clone(),
        store_id,
        status,
        latency_ms: latency.as_millis() as u64,
        upstream_calls: admitted.calls.0.load(std::sync::atomic::Ordering::Relaxed),
        error_code: resp
            .extensions()
            .get::<ErrorCode>()
            .map(|c| c.0.as_str().to_owned()),
    });
    resp
}

/// Marks a `/v1` request as admitted for [`request_log`]: the caller, the route template,
/// the path's `store_id` when it is a well-formed store id (never the raw, unchecked
/// value: that may be kilobytes of anything), and the upstream-call counter handlers use.
/// Sits inside authentication and the rate limiter, so refused requests are not logged.
pub async fn log_context(mut req: Request, next: Next) -> Response {
    let Some(slot) = req.extensions().get::<LogSlot>().cloned() else {
        return next.run(req).await; // a stack without the request log (not `api::stack`)
    };
    let Some(caller) = req.extensions().get::<Caller>() else {
        return ApiError::internal("the log context runs before authentication").into_response();
    };
    let account_id = caller.account.id.clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let store_id = {
        let (mut parts, body) = req.into_parts();
        let params = <RawPathParams as axum::extract::FromRequestParts<()>>::from_request_parts(
            &mut parts,
            &(),
        )
        .await
        .ok();
        req = Request::from_parts(parts, body);
        params.and_then(|p| {
            p.iter()
                .find(|(k, v)| *k == "store_id" && is_store_id(v))
                .map(|(_, v)| v.to_owned())
        })
    };
    let calls = UpstreamCalls::default();
    req.extensions_mut().insert(calls.clone());
    let _ = slot.0.set(Admitted {
        account_id,
        route,
        store_id,
        calls,
    });
    next.run(req).await
}

//! Extractors whose rejections are problem+json with stable codes, and the `Scope` a
//! handler receives from authentication.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use cartgate_connector::util::valid_id;
use cartgate_connector::CallContext;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};
use crate::idempotency::UpstreamWrite;
use crate::middleware::{Caller, UpstreamCalls};
use crate::state::AppState;
use crate::storage::AccountRecord;

/// A JSON body; malformed JSON, unknown fields and wrong types are `validation_failed`,
/// an oversized body `payload_too_large`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::BytesRejection(r))
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Code::PayloadTooLarge,
                    "the request body exceeds the gateway's limit",
                ))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::validation(
                "send the body as JSON with `Content-Type: application/json`",
            )),
            Err(e) => Err(ApiError::validation(e.body_text())),
        }
    }
}

/// Query parameters; unknown parameters and bad values are `validation_failed`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(ApiQuery)
            .map_err(|e| ApiError::validation(format!("invalid query: {e}")))
    }
}

/// Path parameters; each must be a safe id (no `/`, no `..`, printable ASCII, ≤128).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::validation(e.body_text()))?;
        for (name, value) in raw.iter() {
            if !valid_id(value) {
                return Err(ApiError::validation(format!(
                    "path parameter {name} is not a valid id"
                )));
            }
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::validation(e.body_text()))
    }
}

/// The authenticated account of a `/v1` request, its upstream-call counter and the
/// deadline of its upstream calls.
pub struct Scope {
    pub account: AccountRecord,
    calls: UpstreamCalls,
    write: UpstreamWrite,
    upstream_deadline: Instant,
}

impl Scope {
    pub fn cx(&self, include_raw: bool) -> CallContext {
        CallContext {
            include_raw,
            upstream_calls: self.calls.0.clone(),
            deadline: Some(self.upstream_deadline),
            background: false,
        }
    }

    /// Marks that the handler starts writing upstream: an error from here on keeps the
    /// request's idempotency key (the write may have happened).
    pub fn writes_upstream(&self) {
        self.write.begin();
    }
}

impl FromRequestParts<Arc<AppState>> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        // Counted from here, a moment after the request timeout started: the deadline is
        // shorter than that timeout by a margin far larger than authentication takes.
        let upstream_deadline = Instant::now() + state.upstream.config().deadline;
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))?;
        let calls = parts
            .extensions
            .get::<UpstreamCalls>()
            .cloned()
            .unwrap_or_default();
        let write = parts
            .extensions
            .get::<UpstreamWrite>()
            .cloned()
            .unwrap_or_default();
        Ok(Scope {
            account: caller.account,
            calls,
            write,
            upstream_deadline,
        })
    }
}

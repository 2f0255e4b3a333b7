//! The gateway's one error type and the one place errors become HTTP responses.
//!
//! Use the constructors (`ApiError::not_found`, `::validation`, …) for what a client may
//! see; `ApiError::internal` for everything else, which is logged with its cause and
//! answered as a bare 500 whose detail reveals nothing. Every error response is
//! `application/problem+json` (RFC 9457) with a stable `code` and the `request_id`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cartgate_connector::ConnectorError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

tokio::task_local! {
    /// The request id of the request being served; set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// Every problem `code` the API answers: the one list, documented in the spec as the enum
/// of `Problem.code`, each with its title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// 401: missing, unknown or revoked API key (or admin token).
    Unauthorized,
    /// 404: no such route, or no such object of this account.
    NotFound,
    /// 405: the route does not take this method.
    MethodNotAllowed,
    /// 400 (the gateway's checks) or 422 (the platform refused the input).
    ValidationFailed,
    /// 400: a cursor that is malformed, altered, or of another list or filter set.
    InvalidCursor,
    /// 413: the body exceeds the limit.
    PayloadTooLarge,
    /// 429: this API key's rate limit.
    RateLimited,
    /// 409: the Idempotency-Key was used for another request.
    IdempotencyConflict,
    /// 409: a call with this Idempotency-Key is still running.
    IdempotencyInProgress,
    /// 501: the platform cannot do this.
    UnsupportedOperation,
    /// 422: the platform refused the stored credentials; the store is `auth_failed`.
    StoreAuthFailed,
    /// 403: the credentials are valid but may not do this.
    StorePermissionDenied,
    /// 429: the platform keeps rate limiting this store.
    UpstreamRateLimited,
    /// 503: the platform is unreachable or kept failing, or the request's upstream deadline
    /// passed.
    UpstreamUnavailable,
    /// 503 with Retry-After: the store's upstream slots stayed taken for the queue wait.
    UpstreamBusy,
    /// 502: the platform answered something unusable, or redirected to another origin.
    UpstreamError,
    /// 504: the request took longer than the gateway's request timeout.
    Timeout,
    /// 503: the gateway's storage is unavailable.
    StorageUnavailable,
    /// 503: credentials are sealed with a master key this instance lacks.
    MasterKeyUnavailable,
    /// 500: anything else; quote the request id.
    InternalError,
}

impl Code {
    pub const ALL: [Code; 20] = [
        Code::Unauthorized,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::ValidationFailed,
        Code::InvalidCursor,
        Code::PayloadTooLarge,
        Code::RateLimited,
        Code::IdempotencyConflict,
        Code::IdempotencyInProgress,
        Code::UnsupportedOperation,
        Code::StoreAuthFailed,
        Code::StorePermissionDenied,
        Code::UpstreamRateLimited,
        Code::UpstreamUnavailable,
        Code::UpstreamBusy,
        Code::UpstreamError,
        Code::Timeout,
        Code::StorageUnavailable,
        Code::MasterKeyUnavailable,
        Code::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthorized => "unauthorized",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::ValidationFailed => "validation_failed",
            Code::InvalidCursor => "invalid_cursor",
            Code::PayloadTooLarge => "payload_too_large",
            Code::RateLimited => "rate_limited",
            Code::IdempotencyConflict => "idempotency_conflict",
            Code::IdempotencyInProgress => "idempotency_in_progress",
            Code::UnsupportedOperation => "unsupported_operation",
            Code::StoreAuthFailed => "store_auth_failed",
            Code::StorePermissionDenied => "store_permission_denied",
            Code::UpstreamRateLimited => "upstream_rate_limited",
            Code::UpstreamUnavailable => "upstream_unavailable",
            Code::UpstreamBusy => "upstream_busy",
            Code::UpstreamError => "upstream_error",
            Code::Timeout => "timeout",
            Code::StorageUnavailable => "storage_unavailable",
            Code::MasterKeyUnavailable => "master_key_unavailable",
            Code::InternalError => "internal_error",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Code::Unauthorized => "Unauthorized",
            Code::NotFound => "Not found",
            Code::MethodNotAllowed => "Method not allowed",
            Code::ValidationFailed => "Validation failed",
            Code::InvalidCursor => "Invalid cursor",
            Code::PayloadTooLarge => "Payload too large",
            Code::RateLimited => "Rate limited",
            Code::IdempotencyConflict => "Idempotency key conflict",
            Code::IdempotencyInProgress => "Idempotent request in progress",
            Code::UnsupportedOperation => "Unsupported operation",
            Code::StoreAuthFailed => "Store authentication failed",
            Code::StorePermissionDenied => "Store permission denied",
            Code::UpstreamRateLimited => "Upstream rate limited",
            Code::UpstreamUnavailable => "Upstream unavailable",
            Code::UpstreamBusy => "Upstream busy",
            Code::UpstreamError => "Upstream error",
            Code::Timeout => "Timeout",
            Code::StorageUnavailable => "Storage unavailable",
            Code::MasterKeyUnavailable => "Master key unavailable",
            Code::InternalError => "Internal error",
        }
    }

    /// The code named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Code> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The problem+json body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `https://cartgate.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: Code,
    pub request_id: Option<String>,
}

/// The code of an error response, left in the response extensions for the request log.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub Code);

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub detail: String,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, Code::Unauthorized, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, Code::NotFound, detail)
    }
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Code::ValidationFailed, detail)
    }
    /// A gateway-side check of the request (one written in core, e.g.
    /// `NewShipment::validate`) refused it: 400, with the check's own message.
    pub fn invalid_input(e: ConnectorError) -> Self {
        Self::validation(e.to_string())
    }
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Code::InvalidCursor, detail)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                Code::RateLimited,
                "too many requests for this API key; retry after the time in Retry-After",
            )
        }
    }
    pub fn storage_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::StorageUnavailable,
            detail,
        )
    }
    /// A sealed value names a master key this instance was not given (a rotation across
    /// instances is under way, or the instance has the wrong key).
    pub fn master_key_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::MasterKeyUnavailable,
            detail,
        )
    }
    /// The request took longer than `limit` (the gateway's request timeout).
    pub fn timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            Code::Timeout,
            format!("the request took longer than {}s", limit.as_secs()),
        )
    }
    /// Logs the cause; the client sees only that something went wrong and the request id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::InternalError,
            "an internal error occurred; quote the request_id when reporting it",
        )
    }
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::NotFound(d) => ApiError::not_found(d),
            // The platform refused the input: 422. Our own URL rules refused it: 400, like
            // every other check of the gateway's own.
            ConnectorError::Validation(d) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::ValidationFailed, d)
            }
            ConnectorError::InvalidTarget(d) => ApiError::validation(d),
            ConnectorError::Unsupported(d) => {
                ApiError::new(StatusCode::NOT_IMPLEMENTED, Code::UnsupportedOperation, d)
            }
            ConnectorError::AuthFailed(d) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::StoreAuthFailed, d)
            }
            ConnectorError::PermissionDenied(d) => {
                ApiError::new(StatusCode::FORBIDDEN, Code::StorePermissionDenied, d)
            }
            ConnectorError::RateLimited { retry_after } => ApiError {
                retry_after: Some(retry_after.map_or(1, |d| d.as_secs().max(1))),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    Code::UpstreamRateLimited,
                    "the platform is rate limiting this store; retry later",
                )
            },
            ConnectorError::Unavailable(d) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::UpstreamUnavailable,
                d,
            ),
            ConnectorError::Busy(d) => ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Code::UpstreamBusy, d)
            },
            // A platform webhook at /inbound whose signature is missing or wrong.
            ConnectorError::InvalidSignature(d) => ApiError::unauthorized(d),
            ConnectorError::Upstream { status, message } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                match status {
                    Some(s) => format!("the platform answered {s}: {message}"),
                    None => message,
                },
            ),
        }
    }
}

/// The problem+json response for a status and code; used by `ApiError` and by the layer
/// that turns bare error responses of other layers (413, 405, …) into problems.
pub fn problem_response(status: StatusCode, code: Code, detail: String) -> Response {
    let body = Problem {
        type_uri: format!("https://cartgate.dev/problems/{code}"),
        title: code.title().to_owned(),
        status: status.as_u16(),
        detail,
        code,
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = (status, json).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp.extensions_mut().insert(ErrorCode(code));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = problem_response(self.status, self.code, self.detail);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn each_code_has_one_name_everywhere() {
        for code in Code::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str(), "serde and as_str agree");
            assert_eq!(Code::parse(code.as_str()), Some(code));
            assert!(!code.title().is_empty());
        }
        assert_eq!(Code::parse("no_such_code"), None);
        let unique: std::collections::HashSet<_> = Code::ALL.iter().collect();
        assert_eq!(unique.len(), Code::ALL.len());
    }
}

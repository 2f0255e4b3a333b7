//! The gateway's one error type and the one place errors become HTTP responses.
//!
//! Use the constructors (`ApiError::not_found`, `::validation`, …) for what a client may
//! see; `ApiError::internal` for everything else, which is logged with its cause and
//! answered as a bare 500 whose detail reveals nothing. Every error response is
//! `application/problem+json` (RFC 9457) with a stable `code` and the `request_id`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cartgate_connector::ConnectorError;
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The request id of the request being served; set by the request-id middleware.
    pub static REQUEST_ID: String;
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
    /// Stable machine-readable code, e.g. `not_found`, `rate_limited`.
    pub code: String,
    pub request_id: Option<String>,
}

/// The code of an error response, left in the response extensions for the request log.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_failed", detail)
    }
    /// A gateway-side check of the request (one written in core, e.g.
    /// `NewShipment::validate`) refused it: 400, with the check's own message.
    pub fn invalid_input(e: ConnectorError) -> Self {
        Self::validation(e.to_string())
    }
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_cursor", detail)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this API key; retry after the time in Retry-After",
            )
        }
    }
    pub fn storage_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            detail,
        )
    }
    /// A sealed value names a master key this instance was not given (a rotation across
    /// instances is under way, or the instance has the wrong key).
    pub fn master_key_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "master_key_unavailable",
            detail,
        )
    }
    /// Logs the cause; the client sees only that something went wrong and the request id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; quote the request_id when reporting it",
        )
    }

    fn title(&self) -> &'static str {
        match self.code {
            "unauthorized" => "Unauthorized",
            "not_found" => "Not found",
            "validation_failed" => "Validation failed",
            "invalid_cursor" => "Invalid cursor",
            "payload_too_large" => "Payload too large",
            "rate_limited" => "Rate limited",
            "method_not_allowed" => "Method not allowed",
            "unsupported_operation" => "Unsupported operation",
            "store_auth_failed" => "Store authentication failed",
            "store_permission_denied" => "Store permission denied",
            "upstream_rate_limited" => "Upstream rate limited",
            "upstream_unavailable" => "Upstream unavailable",
            "upstream_error" => "Upstream error",
            "timeout" => "Timeout",
            "storage_unavailable" => "Storage unavailable",
            "master_key_unavailable" => "Master key unavailable",
            "idempotency_conflict" => "Idempotency key reused",
            "idempotency_in_progress" => "Idempotency key in use",
            _ => "Internal error",
        }
    }
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::NotFound(d) => ApiError::not_found(d),
            ConnectorError::Validation(d) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", d)
            }
            ConnectorError::Unsupported(d) => {
                ApiError::new(StatusCode::NOT_IMPLEMENTED, "unsupported_operation", d)
            }
            ConnectorError::AuthFailed(d) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "store_auth_failed", d)
            }
            ConnectorError::PermissionDenied(d) => {
                ApiError::new(StatusCode::FORBIDDEN, "store_permission_denied", d)
            }
            ConnectorError::RateLimited { retry_after } => ApiError {
                retry_after: Some(retry_after.map_or(1, |d| d.as_secs().max(1))),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "upstream_rate_limited",
                    "the platform is rate limiting this store; retry later",
                )
            },
            ConnectorError::Unavailable(d) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable", d)
            }
            ConnectorError::Upstream { status, message } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
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
pub fn problem_response(
    status: StatusCode,
    code: &'static str,
    title: &str,
    detail: String,
) -> Response {
    let body = Problem {
        type_uri: format!("https://cartgate.dev/problems/{code}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        code: code.to_owned(),
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
        let mut resp = problem_response(self.status, self.code, self.title(), self.detail);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

//! The one error type connectors return. The gateway maps each variant to exactly one
//! problem+json `code` (see `src/error.rs` of the gateway); connectors never build HTTP
//! responses themselves.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The object does not exist on the platform (or is not visible to these credentials).
    #[error("{0}")]
    NotFound(String),
    /// The request is invalid for this platform: bad credentials shape, a field the
    /// platform rejects (its own message is kept), a mutation's userErrors.
    #[error("{0}")]
    Validation(String),
    /// cartgate's own rules refuse the URL a call would reach (not http(s), credentials in
    /// the URL, an address in the SSRF block list, a name resolving only into it). Nothing
    /// was sent. The gateway answers 400 `validation_failed`, unlike a platform's own
    /// refusal (`Validation`, 422).
    #[error("{0}")]
    InvalidTarget(String),
    /// The platform cannot do this at all (an operation, a filter, a field).
    #[error("{0}")]
    Unsupported(String),
    /// The platform refused the stored credentials: they are wrong, revoked or expired.
    /// The gateway marks the store `auth_failed`.
    #[error("{0}")]
    AuthFailed(String),
    /// The platform accepted the credentials but they may not do this (a read-only key, a
    /// missing access scope). The store stays usable for what they may do.
    #[error("{0}")]
    PermissionDenied(String),
    /// The platform kept answering 429 beyond our bounded retry budget.
    #[error("the platform is rate limiting this store")]
    RateLimited { retry_after: Option<Duration> },
    /// Could not reach the platform, or it kept failing (5xx, timeouts) after retries, or
    /// the request's upstream deadline passed.
    #[error("{0}")]
    Unavailable(String),
    /// The store's upstream calls are all in use and none freed up within the queue wait
    /// (`UpstreamConfig::queue_wait`); nothing was sent for this call.
    #[error("{0}")]
    Busy(String),
    /// An inbound platform webhook whose signature is missing or does not verify (the
    /// gateway answers 401 and records no event). The text names what is wrong, never a
    /// received value.
    #[error("{0}")]
    InvalidSignature(String),
    /// The platform answered something we cannot use (unexpected status, malformed body).
    #[error("{message}")]
    Upstream {
        status: Option<u16>,
        message: String,
    },
}

impl ConnectorError {
    pub fn upstream(status: Option<u16>, message: impl Into<String>) -> Self {
        ConnectorError::Upstream {
            status,
            message: message.into(),
        }
    }

    /// A malformed or truncated upstream body.
    pub fn bad_body(what: &str, err: impl std::fmt::Display) -> Self {
        ConnectorError::Upstream {
            status: None,
            message: format!("the platform sent an unreadable {what}: {err}"),
        }
    }
}

pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

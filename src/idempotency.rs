//! Idempotent writes: the `Idempotency-Key` header on every POST and PATCH under `/v1`.
//!
//! One layer ([`idempotency`]) on the `/v1` routes, inside authentication (keys are per
//! account) and inside the request log (replays and refusals are logged like any answer).
//! A request with a key:
//!
//! 1. claims the key in storage with a *lease* (`CARTGATE_REQUEST_TIMEOUT_SECS` + 30 s), in
//!    one atomic step. A key held by a running call with the same request is 409
//!    `idempotency_in_progress`; a key used for another request (fingerprint: SHA-256 of
//!    method, path and body bytes, stored as an HMAC) is 409 `idempotency_conflict`; a
//!    finished call is replayed;
//! 2. runs the handler in its own task, so the outcome is recorded even when the client
//!    hangs up or the gateway's timeout answers first (bounded by the lease less 15 s);
//! 3. records how the call ended — never a body, since store data is never stored:
//!    * a success: its status and what it produced, named by the handler with a
//!      [`Produced`] response extension (the GET path of the store, order or product);
//!      replays read that resource again and answer it with the original status;
//!    * an error before the handler started writing upstream (validation, not found,
//!      refused credentials, storage, …) or a 429: nothing was changed, so the key is
//!      released and a corrected retry may run with it;
//!    * an error once an upstream write began: its status and code, replayed as a problem
//!      with that code (the write may or may not have happened; a new key tries again).
//!
//! Replays carry `Idempotent-Replayed: true`. Records are kept `CARTGATE_IDEMPOTENCY_TTL_SECS`
//! (24 h) after the call ended, stored under an HMAC of account and key (never the key).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::Utc;
use futures::FutureExt;
use tower::ServiceExt;

use crate::error::{ApiError, Code, ErrorCode, REQUEST_ID};
use crate::middleware::{Caller, RequestId, UpstreamCalls};
use crate::state::AppState;
use crate::storage::{IdempotencyBegin, IdempotencyRecord, IdempotentOutcome};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header on replays.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// How much longer than the request timeout a claim lasts before another call may take the
/// key (a crashed instance does not block it for longer).
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// What the layer needs: the application, and the `/v1` routes without their layers, through
/// which a replay reads a resource again as the same account.
#[derive(Clone)]
pub struct IdempotencyLayer {
    app: Arc<AppState>,
    reads: Router,
}

impl IdempotencyLayer {
    pub fn new(app: Arc<AppState>, reads: Router) -> Self {
        IdempotencyLayer { app, reads }
    }
}

/// What a successful write produced, set by its handler as a response extension; a replay
/// answers from it.
#[derive(Debug, Clone)]
pub enum Produced {
    /// The resource at this `/v1` GET path: a replay reads it again.
    Resource(String),
    /// The request only reads (a proxied GET): a replay runs it again.
    ReadOnly,
    /// A proxied write the platform answered with this status; its body is not kept.
    Proxied { upstream_status: u16 },
}

/// A request extension: a handler marks when it starts writing upstream. An error after the
/// mark keeps the key (the write may have happened); an error before it frees the key.
#[derive(Debug, Clone, Default)]
pub struct UpstreamWrite(Arc<AtomicBool>);

impl UpstreamWrite {
    pub fn begin(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn started(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// 1..=255 printable ASCII characters (space included).
fn valid_key(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= MAX_KEY_LEN && b.iter().all(|c| (0x20..=0x7e).contains(c))
}

/// SHA-256 of method, path (with query) and body bytes (stored under an HMAC).
fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [method.as_str().as_bytes(), path.as_bytes()] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    ctx.update(body);
    hex::encode(ctx.finish().as_ref())
}

fn conflict(code: Code, detail: &str) -> Response {
    ApiError::new(StatusCode::CONFLICT, code, detail).into_response()
}

/// The layer (see the module docs).
pub async fn idempotency(
    State(layer): State<IdempotencyLayer>,
    req: Request,
    next: Next,
) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH) {
        return next.run(req).await;
    }
    let mut values = req.headers().get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return next.run(req).await;
    };
    if values.next().is_some() || !valid_key(value) {
        return ApiError::validation(
            "send one Idempotency-Key header of 1 to 255 printable ASCII characters",
        )
        .into_response();
    }
    // Printable ASCII only (checked above), so the key is a string.
    let key = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let Some(account) = req
        .extensions()
        .get::<Caller>()
        .map(|c| c.account.id.clone())
    else {
        return ApiError::internal("idempotency layer runs before authentication").into_response();
    };

    // The body is read here (within the body limit) to fingerprint it, then handed on.
    let (parts, body) = req.into_parts();
    let read = Request::from_parts(parts.clone(), body);
    let bytes = match Bytes::from_request(read, &()).await {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::payload_too_large(layer.app.settings.max_body_bytes).into_response()
        }
        Err(_) => {
            return ApiError::validation("the request body could not be read").into_response()
        }
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let settings = &layer.app.settings;
    let now = Utc::now();
    // Keyed like the key itself: a body may hold credentials (PATCH /v1/stores), and an
    // HMAC cannot be checked against guesses without the gateway's secret.
    let fingerprint = layer.app.signers.api_key_digest(&format!(
        "idempotency-fingerprint\0{}",
        fingerprint(&parts.method, path, &bytes)
    ));
    let claim = IdempotencyRecord {
        fingerprint,
        owner: uuid::Uuid::new_v4().simple().to_string(),
        request_id: parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
        started_at: now,
        expires_at: now + settings.request_timeout() + LEASE_MARGIN,
        outcome: None,
    };
    // Per account, and under an HMAC: the storage never sees the key itself.
    let digest = layer
        .app
        .signers
        .api_key_digest(&format!("idempotency-key\0{account}\0{key}"));
    let mut req = Request::from_parts(parts, Body::from(bytes));

    let storage = layer.app.storage.clone();
    match storage.idempotency_begin(&account, &digest, &claim).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(IdempotencyBegin::Started) => {}
        Ok(IdempotencyBegin::InProgress) => {
            metrics::counter!("cartgate_idempotency_total", "outcome" => "in_progress")
                .increment(1);
            let mut resp = conflict(
                Code::IdempotencyInProgress,
                "a request with this Idempotency-Key is still running; retry once it has ended",
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            return resp;
        }
        Ok(IdempotencyBegin::Conflict) => {
            metrics::counter!("cartgate_idempotency_total", "outcome" => "conflict").increment(1);
            return conflict(
                Code::IdempotencyConflict,
                "this Idempotency-Key was used for a different request (method, path or body); \
                 use a new key for a new request",
            );
        }
        Ok(IdempotencyBegin::Done(record)) => {
            metrics::counter!("cartgate_idempotency_total", "outcome" => "replayed").increment(1);
            return replay(&layer, record, req, next).await;
        }
    }

    let write = UpstreamWrite::default();
    req.extensions_mut().insert(write.clone());
    let limit = settings.request_timeout() + LEASE_MARGIN / 2;
    let ttl = Duration::from_secs(settings.idempotency_ttl_secs);
    let request_id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
    // Detached: a client hanging up or the gateway's timeout must not leave the key's
    // outcome unrecorded while the platform may have written.
    let task = tokio::spawn(REQUEST_ID.scope(request_id, async move {
        let run = std::panic::AssertUnwindSafe(next.run(req)).catch_unwind();
        let resp = match tokio::time::timeout(limit, run).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(_)) => ApiError::internal("a handler panicked").into_response(),
            Err(_) => ApiError::timeout(limit).into_response(),
        };
        let outcome = outcome_of(&resp, write.started());
        settle(&*storage, &account, &digest, claim, outcome, ttl).await;
        resp
    }));
    task.await.unwrap_or_else(|e| {
        ApiError::internal(format!("idempotent call failed: {e}")).into_response()
    })
}

/// What to record of a call's answer; `None`: nothing changed, free the key.
fn outcome_of(resp: &Response, write_started: bool) -> Option<IdempotentOutcome> {
    let status = resp.status();
    let code = status.as_u16();
    if status.is_success() {
        Some(match resp.extensions().get::<Produced>() {
            Some(Produced::Resource(path)) => IdempotentOutcome::Resource {
                status: code,
                path: path.clone(),
            },
            Some(Produced::ReadOnly) => IdempotentOutcome::Rerun,
            Some(Produced::Proxied { upstream_status }) => IdempotentOutcome::Proxied {
                status: code,
                upstream_status: *upstream_status,
            },
            None => IdempotentOutcome::Bare { status: code },
        })
    } else if !write_started || status == StatusCode::TOO_MANY_REQUESTS {
        None
    } else {
        Some(IdempotentOutcome::Failed {
            status: code,
            code: resp
                .extensions()
                .get::<ErrorCode>()
                .map_or(Code::InternalError, |c| c.0)
                .as_str()
                .to_owned(),
        })
    }
}

/// Records how the call ended, or frees the key when it changed nothing.
async fn settle(
    storage: &dyn crate::storage::Storage,
    account: &str,
    digest: &str,
    claim: IdempotencyRecord,
    outcome: Option<IdempotentOutcome>,
    ttl: Duration,
) {
    let recorded = outcome.is_some();
    let result = match outcome {
        Some(outcome) => {
            let done = IdempotencyRecord {
                expires_at: Utc::now() + ttl,
                outcome: Some(outcome),
                ..claim
            };
            storage.idempotency_complete(account, digest, &done).await
        }
        None => {
            storage
                .idempotency_release(account, digest, &claim.owner)
                .await
        }
    };
    metrics::counter!("cartgate_idempotency_total", "outcome" => if recorded { "recorded" } else { "released" })
        .increment(1);
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!("an idempotency key's lease ended before its call did"),
        Err(e) => tracing::warn!(error = %e, "could not record an idempotency key's outcome"),
    }
}

/// Answers a retry from the recorded outcome of the first call.
async fn replay(
    layer: &IdempotencyLayer,
    record: IdempotencyRecord,
    req: Request,
    next: Next,
) -> Response {
    let status = |s: u16| StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match record.outcome {
        // Only a proxied GET: running it again is reading again.
        None | Some(IdempotentOutcome::Rerun) => next.run(req).await,
        Some(IdempotentOutcome::Resource { status: s, path }) => {
            let mut get = Request::new(Body::empty());
            *get.method_mut() = Method::GET;
            match path.parse() {
                Ok(uri) => *get.uri_mut() = uri,
                Err(e) => return ApiError::internal(format!("recorded path: {e}")).into_response(),
            }
            let ext = req.extensions();
            if let Some(c) = ext.get::<Caller>() {
                get.extensions_mut().insert(c.clone());
            }
            if let Some(r) = ext.get::<RequestId>() {
                get.extensions_mut().insert(r.clone());
            }
            if let Some(u) = ext.get::<UpstreamCalls>() {
                get.extensions_mut().insert(u.clone());
            }
            let mut read = match layer.reads.clone().oneshot(get).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if read.status().is_success() {
                *read.status_mut() = status(s);
            }
            read
        }
        Some(IdempotentOutcome::Proxied {
            status: s,
            upstream_status,
        }) => (
            status(s),
            Json(serde_json::json!({ "status": upstream_status, "body": null })),
        )
            .into_response(),
        Some(IdempotentOutcome::Bare { status: s }) => status(s).into_response(),
        Some(IdempotentOutcome::Failed { status: s, code }) => ApiError::new(
            status(s),
            Code::parse(&code).unwrap_or(Code::InternalError),
            format!(
                "replay: the first request with this Idempotency-Key ({}) answered {code} after \
                 it began writing to the platform; its details are not kept. Check the \
                 resource, and send a new key to try again",
                record.request_id
            ),
        )
        .into_response(),
    };
    resp.headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    resp
}

/// Documents the header, the replay header and the 409 answers on every POST and PATCH
/// under `/v1` of the generated spec, so no write route can miss them.
pub fn document(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::Header;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, Required, ResponseBuilder, Type};

    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the same key with the same request within \
             CARTGATE_IDEMPOTENCY_TTL_SECS (24 h) answers what the first call answered (the \
             resource read again, with `Idempotent-Replayed: true`) instead of writing again. \
             Keys are per account; 1 to 255 printable ASCII characters, e.g. a UUID.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_LEN))
                .pattern(Some("^[\\x20-\\x7E]+$")),
        ))
        .build();
    let conflict = ResponseBuilder::new()
        .description(
            "idempotency_conflict: the Idempotency-Key was used for a different request; or \
             idempotency_in_progress: a request with this key is still running (see \
             Retry-After)",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    let mut replayed = Header::new(ObjectBuilder::new().schema_type(Type::String));
    replayed.description =
        Some("`true` when the answer replays an earlier call with the same Idempotency-Key".into());

    for (path, item) in spec.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for op in [item.post.as_mut(), item.patch.as_mut()]
            .into_iter()
            .flatten()
        {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(parameter.clone());
            for (status, resp) in op.responses.responses.iter_mut() {
                if let (true, utoipa::openapi::RefOr::T(r)) = (status.starts_with('2'), resp) {
                    r.headers
                        .insert("Idempotent-Replayed".into(), replayed.clone());
                }
            }
            op.responses
                .responses
                .insert("409".into(), conflict.clone().into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        let ok = |s: &str| valid_key(&HeaderValue::from_str(s).unwrap());
        assert!(ok("a"));
        assert!(ok("order 42 / retry"));
        assert!(ok(&"k".repeat(255)));
        assert!(!ok(""));
        assert!(!ok(&"k".repeat(256)));
        assert!(!valid_key(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
        assert!(!valid_key(&HeaderValue::from_bytes(b"a\tb").unwrap()));
    }

    #[test]
    fn the_fingerprint_separates_method_path_and_body() {
        let f = fingerprint(&Method::POST, "/v1/stores", b"{}");
        assert_eq!(f, fingerprint(&Method::POST, "/v1/stores", b"{}"));
        assert_ne!(f, fingerprint(&Method::PATCH, "/v1/stores", b"{}"));
        assert_ne!(f, fingerprint(&Method::POST, "/v1/stores/x", b"{}"));
        assert_ne!(f, fingerprint(&Method::POST, "/v1/stores", b"{ }"));
        assert_ne!(
            fingerprint(&Method::POST, "/v1/a", b"b"),
            fingerprint(&Method::POST, "/v1/ab", b"")
        );
    }
}

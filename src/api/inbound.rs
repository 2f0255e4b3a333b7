//! `POST /inbound/{platform}/{store_id}`: where platforms push their webhooks.
//!
//! Not authenticated by API key: the platform's own signature is checked first, in constant
//! time, by the store's connector (`Connector::verify_inbound`), before anything is parsed.
//! A missing or wrong signature is 401 and publishes nothing; a platform delivery id seen
//! before (the platform retrying, or a replay) is acknowledged and dropped; anything else is
//! queued for the subscribers and acknowledged at once (platforms retry, and eventually
//! remove, webhooks that answer slowly).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use cartgate_connector::webhook::Inbound;
use cartgate_connector::CallContext;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::webhooks::{publish, NewEvent};

/// How long a platform delivery id is remembered to drop duplicates.
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(3 * 86_400);

#[derive(Deserialize)]
pub struct InboundPath {
    pub platform: String,
    pub store_id: String,
}

/// A platform's webhook for one store.
#[utoipa::path(post, path = "/inbound/{platform}/{store_id}", tag = "webhooks",
    operation_id = "receivePlatformWebhook",
    params(("platform" = String, Path), ("store_id" = String, Path)),
    request_body(content = Object, content_type = "application/json",
        description = "The platform's webhook, as it sends it (checked against its signature header)"),
    responses(
        (status = 200, description = "Accepted (or a duplicate, dropped)"),
        (status = 401, description = "Missing or wrong signature", body = crate::error::Problem),
        (status = 404, description = "No such store", body = crate::error::Problem),
    ))]
pub async fn receive(
    State(state): State<Arc<AppState>>,
    Path(p): Path<InboundPath>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let not_found = || ApiError::not_found("no such store for this platform");
    if !cartgate_connector::util::valid_id(&p.store_id) {
        return Err(not_found());
    }
    let store = state
        .storage
        .get_store(&p.store_id)
        .await?
        .filter(|s| s.platform == p.platform)
        .ok_or_else(not_found)?;
    let platform = state.registry.get(&store.platform).ok_or_else(not_found)?;
    let credentials = state.open_credentials(&store)?;
    let secret = state.native_webhook_secret(&store)?;
    // A platform whose signature needs the platform (eBay's keys by id) verifies through
    // the store's session; the others without I/O.
    let by_session = match state.session(&store) {
        Ok(session) => {
            session
                .verify_inbound(&CallContext::new(false), &headers, &body)
                .await
        }
        Err(_) => None,
    };
    let verified = match by_session {
        Some(v) => v,
        None => platform
            .connector
            .verify_inbound(&credentials, secret.as_deref(), &headers, &body),
    };
    let event = match verified {
        Ok(Inbound::Event(e)) => e,
        Ok(Inbound::Ignored) => return Ok((StatusCode::OK, Json(json!({"accepted": false})))),
        Err(e) => {
            metrics::counter!("cartgate_inbound_refused_total", "platform" => store.platform.clone())
                .increment(1);
            return Err(e.into());
        }
    };
    if !state
        .storage
        .remember_inbound(&store.id, &event.delivery_id, DEDUPE_WINDOW)
        .await?
    {
        return Ok((
            StatusCode::OK,
            Json(json!({"accepted": false, "duplicate": true})),
        ));
    }
    let deliverer = state.webhooks();
    publish(
        &state,
        deliverer.as_deref(),
        &store,
        NewEvent {
            event_type: event.event_type.as_str(),
            object_id: event.object_id,
            occurred_at: event.occurred_at.unwrap_or_else(chrono::Utc::now),
            data: event.data,
        },
    )
    .await?;
    Ok((StatusCode::OK, Json(json!({"accepted": true}))))
}

/// The most query parameters a callback validation may carry, and the longest value.
const MAX_CHALLENGE_PARAMS: usize = 8;
const MAX_CHALLENGE_VALUE: usize = 512;

/// A platform's validation of a store's callback URL (eBay's `challenge_code`): answered
/// by the store's connector from the store's credentials and the exact callback URL.
#[utoipa::path(get, path = "/inbound/{platform}/{store_id}", tag = "webhooks",
    operation_id = "validatePlatformWebhookEndpoint",
    params(("platform" = String, Path), ("store_id" = String, Path),
        ("challenge_code" = Option<String>, Query, description = "eBay's endpoint validation challenge")),
    responses(
        (status = 200, description = "The platform's expected answer, e.g. eBay's `{\"challengeResponse\": …}`"),
        (status = 400, description = "No or malformed challenge", body = crate::error::Problem),
        (status = 404, description = "No such store", body = crate::error::Problem),
        (status = 501, description = "The platform validates no callback URL", body = crate::error::Problem),
    ))]
pub async fn challenge(
    State(state): State<Arc<AppState>>,
    Path(p): Path<InboundPath>,
    Query(query): Query<std::collections::BTreeMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let not_found = || ApiError::not_found("no such store for this platform");
    if !cartgate_connector::util::valid_id(&p.store_id) {
        return Err(not_found());
    }
    if query.len() > MAX_CHALLENGE_PARAMS || query.values().any(|v| v.len() > MAX_CHALLENGE_VALUE) {
        return Err(ApiError::validation(
            "the validation request carries too many or too long parameters",
        ));
    }
    let store = state
        .storage
        .get_store(&p.store_id)
        .await?
        .filter(|s| s.platform == p.platform)
        .ok_or_else(not_found)?;
    let platform = state.registry.get(&store.platform).ok_or_else(not_found)?;
    let endpoint = crate::webhooks::native::callback(&state, &store).ok_or_else(|| {
        ApiError::from(cartgate_connector::ConnectorError::Unsupported(
            "the gateway has no CARTGATE_PUBLIC_URL, so no callback URL to validate".into(),
        ))
    })?;
    let credentials = state.open_credentials(&store)?;
    // The request's own shape is checked by the connector before anything else: a bad
    // one is the caller's error (400), not the platform's.
    let answer = platform
        .connector
        .inbound_challenge(&credentials, endpoint.as_str(), &query)
        .map_err(|e| match e {
            cartgate_connector::ConnectorError::Validation(_) => ApiError::invalid_input(e),
            other => other.into(),
        })?;
    Ok(Json(answer))
}

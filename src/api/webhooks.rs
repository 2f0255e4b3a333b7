//! Webhook subscriptions and their deliveries (`/v1/webhooks`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::calls::produced;
use super::docs::CommonErrors;
use super::extract::{ApiJson, ApiPath, ApiQuery, Scope};
use super::lists::{limit, CursorScope, IdPage, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Produced;
use crate::state::AppState;
use crate::storage::webhooks::{
    Attempt, DeliveryQuery, DeliveryRecord, DeliveryStatus, SubscriptionRecord, SubscriptionStatus,
};
use crate::storage::CasOutcome;
use crate::webhooks::sign::Secret;
use crate::webhooks::{event_type_names, secret_context, EventType};

/// How long deliveries are also signed with the secret a rotation replaced.
pub const ROTATION_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Subscriptions an account may have.
pub const MAX_SUBSCRIPTIONS: usize = 100;
const MAX_URL_LEN: usize = 2048;
const MAX_DESCRIPTION: usize = 500;
const MAX_STORE_IDS: usize = 1000;

/// A webhook subscription. The secret is shown once, when created or rotated.
#[derive(Serialize, ToSchema)]
pub struct Webhook {
    #[schema(example = "wh_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b")]
    pub id: String,
    pub url: String,
    /// The event types delivered.
    #[schema(example = json!(["order.created", "order.updated"]))]
    pub event_types: Vec<String>,
    /// The stores whose events are delivered; null: every store of the account, present
    /// and future.
    pub store_ids: Option<Vec<String>>,
    pub description: Option<String>,
    pub status: SubscriptionStatus,
    /// Why the gateway disabled it, when it did (every attempt failing for 5 days).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer that created or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&SubscriptionRecord> for Webhook {
    fn from(s: &SubscriptionRecord) -> Self {
        Webhook {
            id: s.id.clone(),
            url: s.url.clone(),
            event_types: s.event_types.clone(),
            store_ids: s.store_ids.clone(),
            description: s.description.clone(),
            status: s.status,
            disabled_reason: s.disabled_reason.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where events are POSTed: http(s), reachable from the gateway (private addresses
    /// are refused unless CARTGATE_ALLOW_PRIVATE_UPSTREAMS is set).
    pub url: String,
    /// Default: every event type.
    pub event_types: Option<Vec<String>>,
    /// Default: every store of the account, present and future.
    pub store_ids: Option<Vec<String>>,
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// An empty list is refused; send null to deliver every store's events.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub store_ids: Option<Option<Vec<String>>>,
    pub description: Option<String>,
    /// `active` (re-enables a disabled subscription) or `disabled`.
    pub status: Option<SubscriptionStatus>,
}

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub data: Vec<Webhook>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Page size, 1..=250 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// pending, delivered or failed.
    pub status: Option<DeliveryStatus>,
}

/// One event sent (or to be sent) to one subscription, with every attempt.
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    #[schema(example = "dlv_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b")]
    pub id: String,
    /// The event's id: the `webhook-id` header of every attempt.
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub store_id: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&DeliveryRecord> for Delivery {
    fn from(d: &DeliveryRecord) -> Self {
        Delivery {
            id: d.id.clone(),
            event_id: d.event.id.clone(),
            event_type: d.event.event_type.clone(),
            store_id: d.event.store_id.clone(),
            status: d.status,
            attempts: d.attempts.clone(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub data: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct WebhookPath {
    pub webhook_id: String,
}

#[derive(Deserialize)]
pub struct DeliveryPath {
    pub webhook_id: String,
    pub delivery_id: String,
}

fn check_url(state: &AppState, url: &str) -> ApiResult<String> {
    let url = url.trim();
    if url.is_empty() || url.len() > MAX_URL_LEN {
        return Err(ApiError::validation(format!(
            "url must be 1 to {MAX_URL_LEN} characters"
        )));
    }
    let parsed = url::Url::parse(url)
        .map_err(|_| ApiError::validation("url must be an absolute http(s) URL"))?;
    cartgate_connector::http::check_target(&parsed, state.settings.allow_private_upstreams)
        .map_err(ApiError::invalid_input)?;
    Ok(parsed.to_string())
}

fn check_event_types(types: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    let Some(types) = types else {
        return Ok(event_type_names().map(str::to_owned).collect());
    };
    if types.is_empty() {
        return Err(ApiError::validation(
            "event_types must not be empty; omit it for every event type",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for t in types {
        if let Err(e) = t.parse::<EventType>() {
            return Err(ApiError::validation(e));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

async fn check_store_ids(
    state: &AppState,
    scope: &Scope,
    ids: Option<Vec<String>>,
) -> ApiResult<Option<Vec<String>>> {
    let Some(ids) = ids else { return Ok(None) };
    if ids.is_empty() || ids.len() > MAX_STORE_IDS {
        return Err(ApiError::validation(format!(
            "store_ids must list 1 to {MAX_STORE_IDS} stores; omit it for every store"
        )));
    }
    // Another account's store is unknown here too: ids leak nothing.
    let known: std::collections::HashSet<String> = state
        .storage
        .get_stores(&ids)
        .await?
        .into_iter()
        .filter(|s| s.account_id == scope.account.id)
        .map(|s| s.id)
        .collect();
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !known.contains(&id) {
            return Err(ApiError::validation(format!("no store {id}")));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

fn check_description(d: Option<String>) -> ApiResult<Option<String>> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(ApiError::validation(format!(
            "description must be at most {MAX_DESCRIPTION} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn seal_secret(state: &AppState, id: &str, secret: &Secret) -> crate::crypto::Sealed {
    state
        .master_key()
        .seal(secret.expose().as_bytes(), &secret_context(id))
}

/// The account's subscription, or 404 (also for another account's).
async fn subscription_of(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> ApiResult<SubscriptionRecord> {
    match state.storage.get_subscription(id).await? {
        Some(s) if s.account_id == scope.account.id => Ok(s),
        _ => Err(ApiError::not_found(format!("no webhook {id}"))),
    }
}

/// Applies `change` to the account's subscription as it is when the write lands
/// (compare-and-set, re-read on a conflict); a subscription deleted meanwhile is 404.
async fn change_subscription(
    state: &AppState,
    scope: &Scope,
    id: &str,
    mut change: impl FnMut(&mut SubscriptionRecord),
) -> ApiResult<SubscriptionRecord> {
    let mut s = subscription_of(state, scope, id).await?;
    loop {
        change(&mut s);
        s.updated_at = Utc::now();
        match state.storage.update_subscription(&s).await? {
            CasOutcome::Written => return Ok(s),
            CasOutcome::Missing => return Err(ApiError::not_found(format!("no webhook {id}"))),
            CasOutcome::Stale => s = subscription_of(state, scope, id).await?,
        }
    }
}

fn webhook_produced(id: &str) -> Extension<Produced> {
    produced(format!("/v1/webhooks/{id}"))
}

/// Subscribe to events. The answer carries the signing secret, shown this once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = CreateWebhook,
    responses((status = 201, body = Webhook), CommonErrors), security(("api_key" = [])))]
pub async fn create_webhook(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Extension<Produced>, Json<Webhook>)> {
    let url = check_url(&state, &body.url)?;
    let event_types = check_event_types(body.event_types)?;
    let store_ids = check_store_ids(&state, &scope, body.store_ids).await?;
    let description = check_description(body.description)?;
    let existing = state
        .storage
        .account_subscriptions(&scope.account.id)
        .await?;
    if existing.len() >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::validation(format!(
            "an account may have at most {MAX_SUBSCRIPTIONS} webhook subscriptions"
        )));
    }
    let now = Utc::now();
    let id = format!("wh_{}", uuid::Uuid::now_v7().simple());
    let secret = Secret::generate();
    let record = SubscriptionRecord {
        secret: seal_secret(&state, &id, &secret),
        id,
        account_id: scope.account.id.clone(),
        url,
        event_types,
        store_ids,
        description,
        status: SubscriptionStatus::Active,
        disabled_reason: None,
        previous_secret: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    if !state.storage.insert_subscription(&record).await? {
        return Err(ApiError::internal("a new webhook id collided"));
    }
    let mut out = Webhook::from(&record);
    out.secret = Some(secret.expose());
    Ok((StatusCode::CREATED, webhook_produced(&record.id), Json(out)))
}

/// This account's subscriptions, oldest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    params(PageParams),
    responses((status = 200, body = WebhookList), CommonErrors), security(("api_key" = [])))]
pub async fn list_webhooks(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<WebhookList>> {
    let page = IdPage::read(
        CursorScope {
            signers: &state.signers,
            owner: &scope.account.id,
            resource: "webhooks",
        },
        &q,
    )?;
    let rows = state
        .storage
        .list_subscriptions(&scope.account.id, page.after.as_deref(), page.fetch())
        .await?;
    let (rows, next_cursor) = page.finish(rows, |s| &s.id);
    Ok(Json(WebhookList {
        data: rows.iter().map(Webhook::from).collect(),
        next_cursor,
    }))
}

/// One subscription.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}", tag = "webhooks", operation_id = "getWebhook",
    params(("webhook_id" = String, Path)),
    responses((status = 200, body = Webhook), CommonErrors), security(("api_key" = [])))]
pub async fn get_webhook(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<WebhookPath>,
) -> ApiResult<Json<Webhook>> {
    let s = subscription_of(&state, &scope, &p.webhook_id).await?;
    Ok(Json(Webhook::from(&s)))
}

/// Change the URL, event types, stores, description or status (`active` re-enables a
/// subscription the gateway disabled).
#[utoipa::path(patch, path = "/v1/webhooks/{webhook_id}", tag = "webhooks", operation_id = "updateWebhook",
    params(("webhook_id" = String, Path)), request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), CommonErrors), security(("api_key" = [])))]
pub async fn update_webhook(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<WebhookPath>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> ApiResult<(Extension<Produced>, Json<Webhook>)> {
    let url = body
        .url
        .as_deref()
        .map(|u| check_url(&state, u))
        .transpose()?;
    let event_types = body
        .event_types
        .map(|t| check_event_types(Some(t)))
        .transpose()?;
    let store_ids = match body.store_ids {
        Some(ids) => Some(check_store_ids(&state, &scope, ids).await?),
        None => None,
    };
    let description = body
        .description
        .map(|d| check_description(Some(d)))
        .transpose()?;
    let s = change_subscription(&state, &scope, &p.webhook_id, |s| {
        if let Some(u) = &url {
            s.url = u.clone();
        }
        if let Some(t) = &event_types {
            s.event_types = t.clone();
        }
        if let Some(ids) = &store_ids {
            s.store_ids = ids.clone();
        }
        if let Some(d) = &description {
            s.description = d.clone();
        }
        if let Some(status) = body.status {
            s.status = status;
            if status == SubscriptionStatus::Active {
                s.disabled_reason = None;
                s.failing_since = None;
            }
        }
    })
    .await?;
    Ok((webhook_produced(&s.id), Json(Webhook::from(&s))))
}

/// Unsubscribe: no further deliveries; its delivery history goes too.
#[utoipa::path(delete, path = "/v1/webhooks/{webhook_id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(("webhook_id" = String, Path)),
    responses((status = 204, description = "Deleted"), CommonErrors), security(("api_key" = [])))]
pub async fn delete_webhook(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<WebhookPath>,
) -> ApiResult<StatusCode> {
    let s = subscription_of(&state, &scope, &p.webhook_id).await?;
    state.storage.delete_subscription(&s.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once. For 24 hours deliveries carry a signature with
/// each secret (space-separated in `webhook-signature`), so receivers can switch without
/// missing an event.
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}/rotate-secret", tag = "webhooks",
    operation_id = "rotateWebhookSecret", params(("webhook_id" = String, Path)),
    responses((status = 200, body = Webhook), CommonErrors), security(("api_key" = [])))]
pub async fn rotate_secret(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<WebhookPath>,
) -> ApiResult<Json<Webhook>> {
    let secret = Secret::generate();
    let sealed = |id: &str| seal_secret(&state, id, &secret);
    let s = change_subscription(&state, &scope, &p.webhook_id, |s| {
        s.previous_secret = Some((s.secret.clone(), Utc::now() + ROTATION_OVERLAP));
        s.secret = sealed(&s.id);
    })
    .await?;
    let mut out = Webhook::from(&s);
    out.secret = Some(secret.expose());
    Ok(Json(out))
}

/// The subscription's deliveries, newest first, each with every attempt.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    operation_id = "listWebhookDeliveries",
    params(("webhook_id" = String, Path), DeliveryParams),
    responses((status = 200, body = DeliveryList), CommonErrors), security(("api_key" = [])))]
pub async fn list_deliveries(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<WebhookPath>,
    ApiQuery(q): ApiQuery<DeliveryParams>,
) -> ApiResult<Json<DeliveryList>> {
    let s = subscription_of(&state, &scope, &p.webhook_id).await?;
    let limit = limit(q.limit)? as usize;
    let cursors = CursorScope {
        signers: &state.signers,
        owner: &s.id,
        resource: "deliveries",
    };
    let before = cursors
        .state(&q.cursor, &q.status)?
        .map(serde_json::from_value::<(DateTime<Utc>, String)>)
        .transpose()
        .map_err(|_| ApiError::invalid_cursor("the cursor is malformed"))?;
    let mut rows = state
        .storage
        .list_deliveries(
            &s.id,
            &DeliveryQuery {
                status: q.status,
                before,
                limit: limit + 1,
            },
        )
        .await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .and_then(|l| cursors.issue(&q.status, Some(serde_json::json!([l.created_at, l.id]))))
    } else {
        None
    };
    Ok(Json(DeliveryList {
        data: rows.iter().map(Delivery::from).collect(),
        next_cursor,
    }))
}

/// Send a delivery again now (also a failed one); answers it as queued.
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    tag = "webhooks", operation_id = "retryWebhookDelivery",
    params(("webhook_id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 202, body = Delivery), CommonErrors), security(("api_key" = [])))]
pub async fn retry_delivery(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<DeliveryPath>,
) -> ApiResult<(StatusCode, Extension<Produced>, Json<Delivery>)> {
    let s = subscription_of(&state, &scope, &p.webhook_id).await?;
    let not_found = || ApiError::not_found(format!("no delivery {}", p.delivery_id));
    for _ in 0..10 {
        let mut d = state
            .storage
            .get_delivery(&p.delivery_id)
            .await?
            .filter(|d| d.subscription_id == s.id)
            .ok_or_else(not_found)?;
        d.status = DeliveryStatus::Pending;
        d.next_attempt_at = Some(Utc::now());
        match state.storage.update_delivery(&d).await? {
            CasOutcome::Written => {
                if let Some(w) = state.webhooks() {
                    w.wake();
                }
                d.version += 1;
                return Ok((
                    StatusCode::ACCEPTED,
                    produced(format!("/v1/webhooks/{}/deliveries/{}", s.id, d.id)),
                    Json(Delivery::from(&d)),
                ));
            }
            CasOutcome::Missing => return Err(not_found()),
            CasOutcome::Stale => continue,
        }
    }
    Err(ApiError::internal(
        "a delivery kept changing during a manual retry",
    ))
}

/// One delivery, with every attempt.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}",
    tag = "webhooks", operation_id = "getWebhookDelivery",
    params(("webhook_id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 200, body = Delivery), CommonErrors), security(("api_key" = [])))]
pub async fn get_delivery(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<DeliveryPath>,
) -> ApiResult<Json<Delivery>> {
    let s = subscription_of(&state, &scope, &p.webhook_id).await?;
    state
        .storage
        .get_delivery(&p.delivery_id)
        .await?
        .filter(|d| d.subscription_id == s.id)
        .map(|d| Json(Delivery::from(&d)))
        .ok_or_else(|| ApiError::not_found(format!("no delivery {}", p.delivery_id)))
}

//! The webhook stream: one signed, reliable stream of unified events from every platform.
//!
//! * Sources: platforms that push (Shopify, WooCommerce) reach `POST /inbound/{platform}/
//!   {store_id}` (src/api/inbound.rs), verified by their connector; the others are polled
//!   ([`poll`]). Both end in [`publish`].
//! * [`publish`] fans an event out to the account's matching subscriptions as queued
//!   deliveries (references only, never store data).
//! * [`deliver::Deliverer`] claims due deliveries with a lease, builds and signs each body
//!   ([`sign`]), sends it, and schedules retries.
//! * `crate::background::Supervisor` runs the delivery worker and the poller beside the
//!   other background work, and stops them gracefully.

pub mod deliver;
pub mod native;
pub mod poll;
pub mod sign;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::state::AppState;
use crate::storage::webhooks::{
    DeliveryRecord, DeliveryStatus, EventRef, SubscriptionRecord, SubscriptionStatus,
};
use crate::storage::StoreRecord;

pub use cartgate_connector::webhook::EventType;

/// The unified event types, as subscribers name them.
pub fn event_type_names() -> impl Iterator<Item = &'static str> {
    EventType::ALL.into_iter().map(EventType::as_str)
}

pub use crate::storage::webhooks::secret_context;

/// An event about to be published (its store is `publish`'s).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    pub object_id: String,
    pub occurred_at: DateTime<Utc>,
    /// The unified object, when the source carried it (kept in memory only, for the first
    /// attempts).
    pub data: Option<Value>,
}

/// Does `sub` want events of this type from this store?
pub fn matches(sub: &SubscriptionRecord, event_type: &str, store_id: &str) -> bool {
    sub.status == SubscriptionStatus::Active
        && sub.event_types.iter().any(|t| t == event_type)
        && sub
            .store_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|s| s == store_id))
}

/// Queues one delivery of the event per matching subscription of the store's account;
/// answers how many.
pub async fn publish(
    state: &AppState,
    deliverer: Option<&deliver::Deliverer>,
    store: &StoreRecord,
    e: NewEvent,
) -> crate::storage::StorageResult<usize> {
    let subs = state
        .storage
        .account_subscriptions(&store.account_id)
        .await?;
    let now = Utc::now();
    let event = EventRef {
        id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
        event_type: e.event_type.to_owned(),
        store_id: store.id.clone(),
        object_id: e.object_id,
        occurred_at: e.occurred_at,
    };
    let deliveries: Vec<DeliveryRecord> = subs
        .iter()
        .filter(|s| matches(s, e.event_type, &store.id))
        .map(|s| DeliveryRecord {
            id: format!("dlv_{}", uuid::Uuid::now_v7().simple()),
            subscription_id: s.id.clone(),
            account_id: s.account_id.clone(),
            event: event.clone(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now),
            created_at: now,
            version: 0,
        })
        .collect();
    if deliveries.is_empty() {
        return Ok(0);
    }
    if let (Some(d), Some(data)) = (deliverer, e.data) {
        d.hold_body(&event.id, data);
    }
    state.storage.enqueue_deliveries(&deliveries).await?;
    metrics::counter!("cartgate_webhook_events_total", "type" => e.event_type).increment(1);
    if let Some(d) = deliverer {
        d.wake();
    }
    Ok(deliveries.len())
}

/// The event's object as the platform has it now (a retry carries the current state).
pub async fn read_object(state: &AppState, event: &EventRef) -> Result<Value, String> {
    if event.event_type == "product.deleted" {
        return Ok(json!({ "id": event.object_id }));
    }
    let store = state
        .storage
        .get_store(&event.store_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the store was disconnected".to_owned())?;
    let session = state.session(&store).map_err(|e| e.detail)?;
    let cx = cartgate_connector::CallContext::new(false);
    let id = event.object_id.as_str();
    let value = match event.event_type.split('.').next() {
        Some("order") => session.get_order(&cx, id).await.map(|o| json!(o)),
        Some("product") => session.get_product(&cx, id).await.map(|p| json!(p)),
        Some("customer") => session.get_customer(&cx, id).await.map(|c| json!(c)),
        _ => return Err(format!("unknown event type {}", event.event_type)),
    };
    value.map_err(|e| format!("reading the object from the platform: {e}"))
}

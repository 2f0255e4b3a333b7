//! Polling: the event source of platforms that do not push (Magento), and of stores whose
//! native webhooks could not be registered (no `CARTGATE_PUBLIC_URL`, no Shopify app
//! secret, registration refused).
//!
//! Every `CARTGATE_POLL_INTERVAL_SECS` each such store is polled by one instance (a lease
//! per store): orders, products and customers updated since the store's watermark, within
//! the store's upstream budget like any other call. An object created since the watermark is
//! `*.created`, otherwise `*.updated`. Watermarks are the store's own `updated_at` times
//! (not the gateway's clock, so skew between the two loses nothing) and live in storage
//! (compare-and-set), so a restart neither loses nor repeats a window. The first poll of a
//! store only sets its watermarks from its newest objects: history is not replayed. Deletions cannot be seen by polling, so polled
//! stores have no `product.deleted`. Only the lists a platform has and filters by
//! `updated_from` are polled (an eBay store: its orders, by `lastmodifieddate`).

use std::sync::Arc;
use std::time::Duration;

use cartgate_connector::connector::EventSource;
use cartgate_connector::{CallContext, Filters, ListParams, Page, StoreSession};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::deliver::Deliverer;
use super::{publish, NewEvent};
use crate::state::AppState;
use crate::storage::webhooks::PollState;
use crate::storage::{CasOutcome, StoreRecord};

/// Objects read per list and poll at most; past it the watermark moves only to the oldest
/// change seen, so the rest come in the next poll (some may then be sent twice, as at-least-
/// once allows), never lost.
pub const MAX_PER_POLL: usize = 2_000;
const PAGE: u32 = 100;
const LISTS: [&str; 3] = ["orders", "products", "customers"];

/// Does this store get (some of) its events by polling? Every store without registered
/// platform webhooks does, and one whose platform pushes only some event types (eBay
/// pushes new orders; order updates are polled).
pub fn is_polled(state: &AppState, store: &StoreRecord) -> bool {
    store.native_webhooks.is_none() || !polled_types(state, store).is_empty()
}

/// The event types polled for a store with registered platform webhooks: those its
/// platform's descriptor says are polled (`EventSource::Polled`).
fn polled_types(state: &AppState, store: &StoreRecord) -> Vec<&'static str> {
    let Some(platform) = state.registry.get(&store.platform) else {
        return Vec::new();
    };
    platform
        .connector
        .descriptor()
        .webhook_events
        .iter()
        .filter(|e| matches!(e.source, EventSource::Polled))
        .map(|e| e.event_type)
        .collect()
}

/// Polls every polled store each interval until `shutdown`.
pub async fn run(
    state: Arc<AppState>,
    deliverer: Arc<Deliverer>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let interval = Duration::from_secs(state.settings.poll_interval_secs);
    let owner = format!("poll_{}", uuid::Uuid::new_v4().simple());
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = poll_all(&state, &deliverer, &owner, interval).await {
            tracing::warn!(error = %e, "polling stores failed; next round at the interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn poll_all(
    state: &Arc<AppState>,
    deliverer: &Deliverer,
    owner: &str,
    interval: Duration,
) -> anyhow::Result<()> {
    let stores = state.storage.all_sealed().await?.stores;
    for store in stores.iter().filter(|s| is_polled(state, s)) {
        // One instance per store and interval; the lease ends with the interval.
        if !state.storage.claim_poll(&store.id, owner, interval).await? {
            continue;
        }
        if let Err(e) = poll_store(state, Some(deliverer), store).await {
            tracing::info!(store = %store.id, error = %e, "polling a store failed");
        }
    }
    Ok(())
}

/// One poll of one store; answers how many events it published.
pub async fn poll_store(
    state: &AppState,
    deliverer: Option<&Deliverer>,
    store: &StoreRecord,
) -> anyhow::Result<usize> {
    let session = state
        .session(store)
        .map_err(|e| anyhow::anyhow!(e.detail))?;
    // With platform webhooks, only the event types the platform does not push.
    let only: Option<Vec<&str>> = store
        .native_webhooks
        .is_some()
        .then(|| polled_types(state, store));
    let wanted = |event_type: &str| only.as_ref().is_none_or(|o| o.contains(&event_type));
    let lists: Vec<&str> = polled_lists(state, store)
        .into_iter()
        .filter(|list| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|t| t.starts_with(&list[..list.len() - 1])))
        })
        .collect();
    let mut poll = match state.storage.get_poll_state(&store.id).await? {
        Some(p) => p,
        None => {
            // First poll: start at the newest change the store shows now (the store's own
            // clock, not ours), and do not replay its history.
            let mut watermarks = std::collections::BTreeMap::new();
            for list in lists.iter().copied() {
                let newest = newest_change(session.as_ref(), list).await?;
                watermarks.insert(list.to_owned(), newest);
            }
            let first = PollState {
                store_id: store.id.clone(),
                watermarks,
                version: 0,
            };
            state.storage.put_poll_state(&first).await?;
            return Ok(0);
        }
    };
    let mut published = 0;
    for list in lists.iter().copied() {
        let since = poll
            .watermarks
            .get(list)
            .copied()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let changes = changed_since(session.as_ref(), list, since).await?;
        let mut newest = since;
        let mut oldest = None::<DateTime<Utc>>;
        for c in &changes {
            newest = newest.max(c.updated_at);
            oldest = Some(oldest.map_or(c.updated_at, |o| o.min(c.updated_at)));
        }
        for c in changes.iter().rev() {
            let created = c.created_at.is_some_and(|t| t > since);
            let event_type = match (list, created) {
                ("orders", true) => "order.created",
                ("orders", false) => "order.updated",
                ("products", true) => "product.created",
                ("products", false) => "product.updated",
                ("customers", true) => "customer.created",
                _ => "customer.updated",
            };
            if !wanted(event_type) {
                continue;
            }
            published += publish(
                state,
                deliverer,
                store,
                NewEvent {
                    event_type,
                    object_id: c.id.clone(),
                    occurred_at: c.updated_at,
                    data: Some(c.object.clone()),
                },
            )
            .await?;
        }
        let mark = if changes.len() >= MAX_PER_POLL {
            oldest.unwrap_or(since)
        } else {
            newest
        };
        poll.watermarks.insert(list.to_owned(), mark);
    }
    match state.storage.put_poll_state(&poll).await? {
        CasOutcome::Written => {}
        other => tracing::info!(store = %store.id, ?other, "poll state changed meanwhile"),
    }
    Ok(published)
}

/// The lists of `store` that can be polled: those its platform lists and filters by
/// `updated_from` (eBay has no customers, and its inventory items carry no timestamps).
fn polled_lists(state: &AppState, store: &StoreRecord) -> Vec<&'static str> {
    let Some(platform) = state.registry.get(&store.platform) else {
        return Vec::new();
    };
    let d = platform.connector.descriptor();
    LISTS
        .into_iter()
        .filter(|list| {
            d.operations.contains(&format!("{list}.list").as_str())
                && d.filters
                    .get(list)
                    .is_some_and(|f| f.contains(&"updated_from"))
        })
        .collect()
}

/// The latest `updated_at` among the newest objects of a list (the store's clock); the
/// earliest time when the list is empty, so that anything later is a change.
async fn newest_change(session: &dyn StoreSession, list: &str) -> anyhow::Result<DateTime<Utc>> {
    let params = ListParams {
        limit: PAGE,
        state: None,
        filters: Filters::default(),
    };
    let (items, _) = page_of(session, list, &params).await?;
    Ok(items
        .iter()
        .filter_map(|v| time(v, "updated_at"))
        .max()
        .unwrap_or(DateTime::<Utc>::MIN_UTC))
}

struct Change {
    id: String,
    created_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    object: Value,
}

/// The objects of `list` updated after `since`, newest first, at most [`MAX_PER_POLL`].
async fn changed_since(
    session: &dyn StoreSession,
    list: &str,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<Change>> {
    let mut params = ListParams {
        limit: PAGE,
        state: None,
        filters: Filters {
            updated_from: Some(since),
            ..Default::default()
        },
    };
    let mut out = Vec::new();
    loop {
        let (items, next) = page_of(session, list, &params).await?;
        for v in items {
            let updated_at = time(&v, "updated_at");
            // The filter is inclusive on most platforms: what was at the watermark was seen.
            let Some(updated_at) = updated_at.filter(|t| *t > since) else {
                continue;
            };
            out.push(Change {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                created_at: time(&v, "created_at"),
                updated_at,
                object: v,
            });
        }
        match next {
            Some(state) if out.len() < MAX_PER_POLL => params.state = Some(state),
            _ => return Ok(out),
        }
    }
}

/// One page of `list` as JSON objects, and the paging state of the next.
async fn page_of(
    session: &dyn StoreSession,
    list: &str,
    params: &ListParams,
) -> anyhow::Result<(Vec<Value>, Option<Value>)> {
    let cx = CallContext::new(false);
    Ok(match list {
        "orders" => values(session.list_orders(&cx, params).await?),
        "products" => values(session.list_products(&cx, params).await?),
        _ => values(session.list_customers(&cx, params).await?),
    })
}

fn values<T: serde::Serialize>(page: Page<T>) -> (Vec<Value>, Option<Value>) {
    (
        page.items
            .iter()
            .filter_map(|i| serde_json::to_value(i).ok())
            .collect(),
        page.next,
    )
}

fn time(v: &Value, field: &str) -> Option<DateTime<Utc>> {
    v[field]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

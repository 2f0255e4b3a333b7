//! Polling: the event source of platforms that do not push (Magento, Amazon), of event
//! types a platform does not push (eBay's order updates), and of stores whose native
//! webhooks could not be registered (no `CARTGATE_PUBLIC_URL`, no Shopify app secret,
//! registration refused).
//!
//! Every `CARTGATE_POLL_INTERVAL_SECS` each such store is polled by one instance (a lease
//! per store): the orders, products and customers (those its platform can list by update
//! time) updated since the store's watermark. The poller is background work: a platform paced by
//! budgets (Shopify's cost bucket, Amazon's per-operation usage plans) lets it use only what
//! the budget holds right now beyond half of it, kept for client requests, and a list with
//! nothing to spare is polled again next round, its watermark unchanged. On Amazon, whose
//! `searchOrders` refills one request per 180 s (burst 20), orders are polled at every
//! interval until the budget is half spent, then about once every 3 minutes. An object
//! created since the watermark is `*.created`, otherwise `*.updated`. Watermarks are the store's own `updated_at` times
//! (not the gateway's clock, so skew between the two loses nothing) and live in storage
//! (compare-and-set), so a restart neither loses nor repeats a window. The first poll of a
//! store only sets its watermarks from its newest objects: history is not replayed. Deletions cannot be seen by polling, so polled
//! stores have no `product.deleted`. Only the lists a platform has and filters by
//! `updated_from` are polled (an eBay store: its orders, by `lastmodifieddate`).

use std::sync::Arc;
use std::time::Duration;

use cartgate_connector::connector::{ChangeOrder, EventSource};
use cartgate_connector::{CallContext, ConnectorError, Filters, ListParams, Page, StoreSession};
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

/// The platform's budget had nothing to spare for background reads this round (a paced
/// platform keeps a share of it for client requests, see `CallContext::background`).
fn budget_spent(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<ConnectorError>(),
        Some(ConnectorError::RateLimited { .. })
    )
}

/// One poll of one store; answers how many events it published. A list whose upstream
/// budget has nothing to spare is left for the next round, its watermark unchanged.
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
    let chronological = session.change_order() == ChangeOrder::Chronological;
    let mut poll = match state.storage.get_poll_state(&store.id).await? {
        Some(p) => p,
        None => PollState {
            store_id: store.id.clone(),
            watermarks: std::collections::BTreeMap::new(),
            version: 0,
        },
    };
    let mut published = 0;
    for list in lists.iter().copied() {
        let Some(since) = poll.watermarks.get(list).copied() else {
            // First poll of this list: start at the newest change the store shows now
            // (the store's own clock, not ours; a platform whose lists come oldest first
            // stamps with the real clock, so now), and do not replay its history.
            if chronological {
                poll.watermarks.insert(list.to_owned(), Utc::now());
                continue;
            }
            match newest_change(session.as_ref(), list).await {
                Ok(newest) => {
                    poll.watermarks.insert(list.to_owned(), newest);
                }
                Err(e) if budget_spent(&e) => {}
                Err(e) => return Err(e),
            }
            continue;
        };
        let walk = match changed_since(session.as_ref(), list, since).await {
            Ok(w) => w,
            Err(e) if budget_spent(&e) => {
                tracing::debug!(store = %store.id, list, "no upstream budget to spare; next round");
                continue;
            }
            Err(e) => return Err(e),
        };
        let changes = &walk.changes;
        let mut newest = since;
        let mut oldest = None::<DateTime<Utc>>;
        for c in changes {
            newest = newest.max(c.updated_at);
            oldest = Some(oldest.map_or(c.updated_at, |o| o.min(c.updated_at)));
        }
        // Oldest change first.
        let in_order: Box<dyn Iterator<Item = &Change> + Send> = if chronological {
            Box::new(changes.iter())
        } else {
            Box::new(changes.iter().rev())
        };
        for c in in_order {
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
        // A walk cut short: oldest-first lists resume after the last change seen; newest-
        // first ones move only to the oldest change seen (the rest come next time, some
        // perhaps twice, as at-least-once allows).
        let mark = if walk.cut_short && !chronological {
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
) -> anyhow::Result<Walk> {
    let mut params = ListParams {
        limit: PAGE,
        state: None,
        filters: Filters {
            updated_from: Some(since),
            ..Default::default()
        },
    };
    let mut changes = Vec::new();
    loop {
        let (items, next) = match page_of(session, list, &params).await {
            Ok(page) => page,
            // The budget ran out after some pages: what was read is a walk cut short.
            Err(e) if budget_spent(&e) && params.state.is_some() => {
                return Ok(Walk {
                    changes,
                    cut_short: true,
                })
            }
            Err(e) => return Err(e),
        };
        for v in items {
            let updated_at = time(&v, "updated_at");
            // The filter is inclusive on most platforms: what was at the watermark was seen.
            let Some(updated_at) = updated_at.filter(|t| *t > since) else {
                continue;
            };
            changes.push(Change {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                created_at: time(&v, "created_at"),
                updated_at,
                object: v,
            });
        }
        match next {
            Some(state) if changes.len() < MAX_PER_POLL => params.state = Some(state),
            Some(_) => {
                return Ok(Walk {
                    changes,
                    cut_short: true,
                })
            }
            None => {
                return Ok(Walk {
                    changes,
                    cut_short: false,
                })
            }
        }
    }
}

/// The changes one poll read of a list, and whether it stopped before the end.
struct Walk {
    changes: Vec<Change>,
    cut_short: bool,
}

/// One page of `list` as JSON objects, and the paging state of the next.
async fn page_of(
    session: &dyn StoreSession,
    list: &str,
    params: &ListParams,
) -> anyhow::Result<(Vec<Value>, Option<Value>)> {
    // Background work: a paced platform lets it use only what client requests leave.
    let cx = CallContext::for_background();
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

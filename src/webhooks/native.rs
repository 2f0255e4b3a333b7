//! Native webhooks: on connect (and on new credentials) the gateway registers the
//! platform's own webhooks pointing at `CARTGATE_PUBLIC_URL/inbound/{platform}/{store_id}`;
//! on disconnect it removes them. A store whose registration is not possible (no public
//! URL, a platform that does not push, the platform refusing) is polled instead
//! (`poll::is_polled`).

use cartgate_connector::CallContext;
use rand::RngCore;

use crate::state::AppState;
use crate::storage::stores::NativeWebhooks;
use crate::storage::{CasOutcome, StoreRecord};

/// The sealing context of a store's webhook secret.
pub fn secret_context(store_id: &str) -> String {
    format!("store-webhooks:{store_id}")
}

/// Where the platform pushes a store's webhooks (and validates that URL).
pub fn callback(state: &AppState, store: &StoreRecord) -> Option<url::Url> {
    let base = state.settings.public_url.as_deref()?.trim_end_matches('/');
    url::Url::parse(&format!("{base}/inbound/{}/{}", store.platform, store.id)).ok()
}

/// Registers the platform's webhooks for `store` and records them on the store record (a
/// compare-and-set: a store changed or deleted meanwhile has them removed again). Failures
/// are logged and leave the store polled.
pub async fn register(state: &AppState, store: &StoreRecord) {
    let Some(callback) = callback(state, store) else {
        return;
    };
    let (Some(platform), Ok(credentials)) = (
        state.registry.get(&store.platform),
        state.open_credentials(store),
    ) else {
        return;
    };
    // E.g. Shopify without the app's secret: its webhooks could not be verified.
    if !platform.connector.native_webhooks(&credentials) {
        return;
    }
    let Ok(session) = state.session(store) else {
        return;
    };
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    let cx = CallContext::new(false);
    let ids = match session.register_webhooks(&cx, &callback, &secret).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::info!(store = %store.id, error = %e, "native webhooks not registered; the store is polled");
            return;
        }
    };
    let sealed = state
        .master_key()
        .seal(secret.as_bytes(), &secret_context(&store.id));
    let mut record = store.clone();
    for _ in 0..5 {
        record.native_webhooks = Some(NativeWebhooks {
            ids: ids.clone(),
            secret: sealed.clone(),
        });
        match state.storage.update_store(&record).await {
            Ok(CasOutcome::Written) => return,
            Ok(CasOutcome::Stale) => match state.storage.get_store(&store.id).await {
                Ok(Some(fresh)) if fresh.updated_at == store.updated_at => record = fresh,
                // New credentials or gone: these registrations belong to nothing.
                _ => break,
            },
            Ok(CasOutcome::Missing) | Err(_) => break,
        }
    }
    let _ = session.unregister_webhooks(&cx, &ids).await;
}

/// Removes the platform webhooks registered for `store` (best effort: the platform may be
/// unreachable or the credentials revoked; the platform then stops by itself once /inbound
/// answers 404 for the deleted store).
pub async fn unregister(state: &AppState, store: &StoreRecord) {
    let Some(native) = &store.native_webhooks else {
        return;
    };
    let Ok(session) = state.session(store) else {
        return;
    };
    if let Err(e) = session
        .unregister_webhooks(&CallContext::new(false), &native.ids)
        .await
    {
        tracing::info!(store = %store.id, error = %e, "could not remove the platform's webhooks");
    }
}

//! The HTTP API: every route in one place ([`router`]) and the order of the tower stack.

pub mod admin;
pub mod calls;
pub mod categories;
pub mod customers;
pub mod docs;
pub mod extract;
pub mod health;
pub mod inbound;
pub mod lists;
pub mod locations;
pub mod logs;
pub mod orders;
pub mod platforms;
pub mod products;
pub mod proxy;
pub mod stores;
pub mod webhooks;

use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::middleware;
use crate::state::AppState;

/// The `/v1` routes, documented by the same declaration that routes them.
fn v1() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(platforms::list_platforms))
        .routes(routes!(stores::create_store, stores::list_stores))
        .routes(routes!(
            stores::get_store,
            stores::update_store,
            stores::delete_store
        ))
        .routes(routes!(stores::store_info))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::count_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::create_shipment))
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(products::count_products))
        .routes(routes!(products::get_product, products::update_product))
        .routes(routes!(products::update_variant))
        .routes(routes!(customers::list_customers))
        .routes(routes!(customers::count_customers))
        .routes(routes!(customers::get_customer))
        .routes(routes!(categories::list_categories))
        .routes(routes!(categories::get_category))
        .routes(routes!(locations::list_locations))
        .routes(routes!(proxy::proxy))
        .routes(routes!(logs::list_logs))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::get_delivery))
        .routes(routes!(webhooks::retry_delivery))
}

/// Where platforms push their webhooks: authenticated by the platform's signature, not by
/// an API key.
fn inbound_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(inbound::receive, inbound::challenge))
}

fn admin_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(admin::create_account))
        .routes(routes!(admin::create_key, admin::list_keys))
        .routes(routes!(admin::revoke_key))
        .routes(routes!(admin::rotate_master_key))
}

fn health_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}

/// The OpenAPI document, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut spec) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(v1())
        .merge(admin_routes())
        .merge(health_routes())
        .merge(inbound_routes())
        .split_for_parts();
    crate::idempotency::document(&mut spec);
    spec
}

/// The whole application with its tower stack.
pub fn router(state: Arc<AppState>) -> Router {
    let (v1, _) = v1().split_for_parts();
    let (admin, _) = admin_routes().split_for_parts();
    let (health, _) = health_routes().split_for_parts();
    let (inbound, _) = inbound_routes().split_for_parts();
    let admin = admin.layer(from_fn_with_state(state.clone(), admin::require_admin));
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi());
    let rest = Router::new()
        .merge(admin)
        .merge(health)
        .merge(inbound)
        .merge(docs);
    stack(state, v1, rest)
}

/// The tower stack around `v1` (the authenticated, logged routes) and `rest` (admin,
/// health, docs). [`router`] is this with the real routes; tests build it around their
/// own routes (a panicking handler) to check what the stack makes of them.
pub fn stack(
    state: Arc<AppState>,
    v1: Router<Arc<AppState>>,
    rest: Router<Arc<AppState>>,
) -> Router {
    // Per-route layers of /v1, innermost first: the log context must see the caller (so it
    // sits inside authentication) and must not admit refused requests (inside the limiter).
    // The same routes without layers: idempotent replays read a resource again through them.
    let replays = crate::idempotency::IdempotencyLayer::new(
        state.clone(),
        v1.clone().with_state(state.clone()),
    );
    // Idempotency keys are per account (inside authentication) and their replays and
    // refusals are logged (inside the log context).
    let v1 = v1
        .layer(from_fn_with_state(replays, crate::idempotency::idempotency))
        .layer(from_fn(middleware::log_context))
        .layer(from_fn_with_state(state.clone(), middleware::rate_limit))
        .layer(from_fn_with_state(state.clone(), middleware::authenticate));
    let max_body = state.settings.max_body_bytes;

    Router::new()
        .merge(v1)
        .merge(rest)
        .with_state(state.clone())
        // The stack, innermost first (the last `.layer` is the outermost):
        // body limit — rejects oversized bodies before any handler reads them;
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        // timeout — bounds everything below, upstream calls included;
        .layer(from_fn_with_state(state.clone(), middleware::timeout))
        // problem bodies — turns bare errors from the layers below into problem+json;
        .layer(from_fn(middleware::problem_bodies))
        // panic catcher — a panicking handler becomes a 500 problem;
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        // request log — writes the entry of a request the log context admitted, from the
        // answer the client gets: outside the panic catcher and the timeout, so a 500 from
        // a panic and a 504 are logged and counted too;
        .layer(from_fn_with_state(state, middleware::request_log))
        // tracing span — one span per request, without query strings (they may hold
        // emails or SKUs);
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .extensions()
                .get::<middleware::RequestId>()
                .map(|r| r.0.as_str())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        // request id — outermost, so every layer and every error body has it.
        .layer(from_fn(middleware::request_id))
}

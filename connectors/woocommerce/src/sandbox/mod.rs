//! A local simulator of the WooCommerce REST API wc/v3 (plus the Shipment Tracking
//! extension's routes), faithful to the documented paths, parameters, auth schemes,
//! paging headers and error bodies (../shared/platform-specs/woocommerce). Data is seeded
//! deterministically (see `data`).
//!
//! # Served
//!
//! * `GET /wp-json/` (the WordPress index: name, url, home, gmt_offset, timezone_string,
//!   namespaces, routes) and `GET /wp-json/wc/v3` — public.
//! * Under `/wp-json/wc/v3` (HTTP Basic `consumer_key:consumer_secret`, or the same as
//!   query parameters): `orders` (list), `orders/{id}` (GET, PUT/POST), `orders/{id}/notes`
//!   (GET, POST), `orders/{id}/refunds[/{refund_id}]` (GET), `refunds` (GET, WooCommerce
//!   9.0+), `products` (list, POST), `products/{id}` (GET, PUT/POST),
//!   `products/{id}/variations` (list), `products/{id}/variations/{vid}` (GET, PUT/POST),
//!   `products/categories[/{id}]`, `customers[/{id}]`, `system_status`,
//!   `settings/{general,products}[/{id}]` (GET; a setting also PUT/POST/PATCH
//!   `{"value"}`), `data/currencies/current`.
//! * Shipment Tracking: `GET|POST /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings`,
//!   `GET|DELETE …/shipment-trackings/{tracking_id}`.
//! * Also under `/wp-json/wc/v3`: `DELETE products/{id}` (`force=true` deletes, otherwise
//!   the trash), `POST customers`, `PUT|POST customers/{id}`, and the webhooks:
//!   `GET|POST webhooks`, `GET|PUT|POST|DELETE webhooks/{id}` (see `hooks`).
//!
//! # Webhooks and simulated changes
//!
//! Webhooks registered through `/wc/v3/webhooks` receive WooCommerce's ping, then every
//! change of their topic: `PUT orders/{id}` and adding a shipment tracking are
//! `order.updated`; product create, update (a variation's update is its parent's),
//! delete and trash are `product.created|updated|deleted`; customer create and update
//! are `customer.created|updated`; and `POST /__sandbox/simulate` (see
//! [`cartgate_connector::sandbox`]) the topic of its event. Order notes change no order
//! and send nothing, as in WooCommerce. Headers, signature and the disabling after five
//! failures are described in `hooks`. `GET /__sandbox/outbox` counts what was sent.
//!
//! Unknown routes, and known routes with another method, answer 404 `rest_no_route`, as
//! WordPress does. The store is in Berlin (Europe/Berlin, local dates in CET/CEST) and
//! sells in EUR; orders come in EUR, USD, GBP and JPY.
//!
//! # Control routes
//!
//! Besides the shared `/__sandbox/faults` and `/__sandbox/stats`
//! (see [`cartgate_connector::sandbox`]): `GET|PUT /__sandbox/extensions`
//! `{"shipment_tracking": bool}` switches the tracking extension (default on); when off
//! its routes answer 404 `rest_no_route` and its namespace leaves `/wp-json/`, like a
//! store without the plugin. `GET|PUT /__sandbox/key` `{"permissions": "read" | "write" |
//! "read_write", "revoked": bool}` (either key) sets the consumer key's permissions (default
//! `read_write`); a method they do not cover answers 401 `woocommerce_rest_authentication_error`
//! "The API key provided does not have read|write permissions.", as `WC_REST_Authentication`
//! does. `revoked: true` is the merchant deleting the key: every call then answers 401
//! "Consumer key is invalid.", as for any unknown key. `GET|PUT /__sandbox/version`
//! `{"woocommerce": "9.4.2"}` sets the WooCommerce version simulated (default 9.4.2):
//! before 9.0 `GET /wc/v3/refunds` does not exist (404 `rest_no_route`, not in the
//! index), before 9.2 products and variations have no `global_unique_id` (not served,
//! ignored in writes).
//!
//! # Catalogue and order details
//!
//! The store keeps weights in kg and dimensions in cm (`settings/products`, changeable
//! through the settings API; stored numbers stay as they are, as in WooCommerce). A
//! variation without its own weight or side is served with its parent's, as the REST
//! API's `view` context does. `global_unique_id` is unique across products and
//! variations (400 `product_invalid_global_unique_id`). Refunds are seeded, not created
//! through the API (`POST …/refunds` is not simulated); each refund line names the order
//! line it gives back in the meta `_refunded_item_id`.
//!
//! # Rate limits
//!
//! WooCommerce core has none. With `SandboxOptions::rate_limits` the sandbox simulates a
//! per-consumer-key token bucket (10 requests/s, burst 20) answering 429
//! `woocommerce_rest_too_many_requests` with `Retry-After`, as hosts and security plugins
//! in front of stores do.

// Helpers answer early with the platform's error response; the sandbox is not a hot path.
#![allow(clippy::result_large_err)]

mod data;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use cartgate_connector::sandbox::{
    random_hex, retry_after_secs, router_with_faults, seeded_rng, serve, simulate_router,
    CannedResponse, FaultResponses, Faults, SandboxBanner, SandboxHandle, SandboxOptions, Simulate,
    SimulateError, TokenBucket, WebhookOutbox, SANDBOX_EPOCH,
};
use cartgate_connector::webhook::EventType;
use serde_json::{json, Value};

use data::Db;

struct Sandbox {
    db: Mutex<Db>,
    consumer_key: String,
    consumer_secret: String,
    base_url: String,
    tracking: AtomicBool,
    /// The key's `permissions`: read, write or read_write.
    key_permissions: Mutex<String>,
    /// The merchant deleted the key (`/__sandbox/key` `revoked`).
    key_revoked: AtomicBool,
    limiter: Option<TokenBucket>,
    /// Outgoing webhooks (see `hooks`).
    outbox: WebhookOutbox,
    /// The WooCommerce version simulated (`/__sandbox/version`): before 9.0 there is no
    /// `GET /wc/v3/refunds`, before 9.2 no `global_unique_id`.
    version: Mutex<String>,
}

/// The WooCommerce version the sandbox simulates unless told otherwise.
const WC_VERSION: &str = "9.4.2";

impl Sandbox {
    fn version(&self) -> String {
        self.version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the simulated WooCommerce is `major.minor` or later.
    fn at_least(&self, major: u32, minor: u32) -> bool {
        let v = self.version();
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (a, b) >= (major, minor)
    }

    /// A product or variation as this version serves it: `global_unique_id` only since
    /// 9.2.
    fn render(&self, mut v: Value) -> Value {
        if !self.at_least(9, 2) {
            if let Some(o) = v.as_object_mut() {
                o.remove("global_unique_id");
            }
        }
        v
    }

    /// A variation as the REST API's `view` context serves it: without a weight or a
    /// side of its own it shows its parent's (`WC_Product_Variation::get_weight`, …).
    fn render_variation(&self, db: &Db, pid: i64, mut v: Value) -> Value {
        if let Some(p) = db.products.get(&pid) {
            if v["weight"].as_str().is_none_or(str::is_empty) {
                v["weight"] = p["weight"].clone();
            }
            for side in ["length", "width", "height"] {
                if v["dimensions"][side].as_str().is_none_or(str::is_empty) {
                    v["dimensions"][side] = p["dimensions"][side].clone();
                }
            }
        }
        self.render(v)
    }
}

type S = Arc<Sandbox>;

/// How WordPress/WooCommerce hosts fail: PHP fatals answer WordPress's JSON error, the
/// proxy in front answers 502/503/504 pages; a 429 uses WooCommerce's error body.
fn fault_responses() -> FaultResponses {
    let default = FaultResponses::default();
    let proxy_page = default.server_error.clone();
    FaultResponses {
        server_error: Arc::new(move |status| {
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                CannedResponse::json(json!({
                    "code": "internal_server_error",
                    "message": "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>",
                    "data": {"status": 500},
                    "additional_errors": []
                }))
            } else {
                proxy_page(status)
            }
        }),
        rate_limited: CannedResponse::json(json!({
            "code": "woocommerce_rest_too_many_requests",
            "message": "Too many requests. Please wait and try again.",
            "data": {"status": 429}
        })),
    }
}

/// The WooCommerce error body `{code, message, data: {status}}`.
fn wc_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message, "data": {"status": status.as_u16()}})),
    )
        .into_response()
}

fn invalid_param(param: &str, why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "code": "rest_invalid_param",
            "message": format!("Invalid parameter(s): {param}"),
            "data": {"status": 400, "params": {param: why}}
        })),
    )
        .into_response()
}

pub async fn start(
    listener: tokio::net::TcpListener,
    opts: SandboxOptions,
) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let db = Db::seed(&opts, &base_url);
    let state = Arc::new(Sandbox {
        consumer_key: db.consumer_key.clone(),
        consumer_secret: db.consumer_secret.clone(),
        db: Mutex::new(db),
        base_url: base_url.clone(),
        tracking: AtomicBool::new(true),
        key_permissions: Mutex::new("read_write".into()),
        key_revoked: AtomicBool::new(false),
        limiter: opts.rate_limits.then(|| TokenBucket::new(10.0, 20)),
        outbox: WebhookOutbox::start(),
        version: Mutex::new(WC_VERSION.into()),
    });
    let wc = Router::new()
        .route("/wp-json/wc/v3/orders", get(list_orders))
        .route(
            "/wp-json/wc/v3/orders/{id}",
            get(get_order).put(update_order).post(update_order),
        )
        .route(
            "/wp-json/wc/v3/orders/{id}/notes",
            get(list_notes).post(create_note),
        )
        .route(
            "/wp-json/wc/v3/orders/{id}/refunds",
            get(list_order_refunds),
        )
        .route(
            "/wp-json/wc/v3/orders/{id}/refunds/{rid}",
            get(get_order_refund),
        )
        .route("/wp-json/wc/v3/refunds", get(list_refunds))
        .route(
            "/wp-json/wc/v3/products",
            get(list_products).post(create_product),
        )
        .route("/wp-json/wc/v3/products/categories", get(list_categories))
        .route("/wp-json/wc/v3/products/categories/{id}", get(get_category))
        .route(
            "/wp-json/wc/v3/products/{id}",
            get(get_product)
                .put(update_product)
                .post(update_product)
                .delete(delete_product),
        )
        .route(
            "/wp-json/wc/v3/products/{id}/variations",
            get(list_variations),
        )
        .route(
            "/wp-json/wc/v3/products/{id}/variations/{vid}",
            get(get_variation)
                .put(update_variation)
                .post(update_variation),
        )
        .route(
            "/wp-json/wc/v3/customers",
            get(list_customers).post(create_customer),
        )
        .route(
            "/wp-json/wc/v3/customers/{id}",
            get(get_customer).put(update_customer).post(update_customer),
        )
        .route(
            "/wp-json/wc/v3/webhooks",
            get(hooks::list_webhooks).post(hooks::create_webhook),
        )
        .route(
            "/wp-json/wc/v3/webhooks/{id}",
            get(hooks::get_webhook)
                .put(hooks::update_webhook)
                .post(hooks::update_webhook)
                .delete(hooks::delete_webhook),
        )
        .route("/wp-json/wc/v3/system_status", get(system_status))
        .route("/wp-json/wc/v3/settings/{group}", get(settings_group))
        .route(
            "/wp-json/wc/v3/settings/{group}/{id}",
            get(setting)
                .put(update_setting)
                .post(update_setting)
                .patch(update_setting),
        )
        .route(
            "/wp-json/wc/v3/data/currencies/current",
            get(current_currency),
        )
        .route(
            "/wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings",
            get(list_trackings).post(create_tracking),
        )
        .route(
            "/wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings/{tid}",
            get(get_tracking).delete(delete_tracking),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        // Before authentication: a store without the extension has no such route at all.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extension_gate,
        ))
        .route("/wp-json", get(index))
        .route("/wp-json/", get(index))
        .route("/wp-json/wc/v3", get(namespace_index))
        // WordPress answers a known path with an unsupported method like an unknown path.
        .method_not_allowed_fallback(no_route)
        .fallback(no_route)
        .with_state(state.clone());
    let faults = Faults::from_options(&opts).with_responses(fault_responses());
    let control = Router::new()
        .route(
            "/__sandbox/extensions",
            get(get_extensions).put(set_extensions),
        )
        .route("/__sandbox/key", get(get_key).put(set_key))
        .route("/__sandbox/version", get(get_version).put(set_version))
        .with_state(state.clone());
    let outbox = state.outbox.router();
    let simulated = state.clone();
    let app = router_with_faults(wc, faults)
        .merge(control)
        .merge(simulate_router(Arc::new(move |req: &Simulate| {
            simulate(&simulated, req)
        })))
        .merge(outbox);
    let banner = SandboxBanner {
        platform: "woocommerce".into(),
        base_url: base_url.clone(),
        credentials: json!({
            "url": base_url,
            "consumer_key": state.consumer_key,
            "consumer_secret": state.consumer_secret,
        }),
    };
    Ok(serve(listener, app, banner).await)
}

fn no_route_response() -> Response {
    wc_error(
        StatusCode::NOT_FOUND,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
}

async fn no_route() -> Response {
    no_route_response()
}

/// The Shipment Tracking routes exist only while the extension is "installed".
async fn extension_gate(State(s): State<S>, req: Request, next: Next) -> Response {
    if req
        .uri()
        .path()
        .starts_with("/wp-json/wc-shipment-tracking/")
        && !s.tracking.load(Ordering::Relaxed)
    {
        return no_route_response();
    }
    next.run(req).await
}

/// The permission error WooCommerce answers to a request that authenticated no user:
/// its code and message depend on the operation.
fn permission_error(req: &Request) -> Response {
    let single = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| p.as_str().ends_with('}'));
    let (code, message) = match (req.method().as_str(), single) {
        ("GET", true) => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ),
        ("GET", false) => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ),
        ("DELETE", _) => (
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ),
        (_, false) => (
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
        (_, true) => (
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ),
    };
    wc_error(StatusCode::UNAUTHORIZED, code, message)
}

/// HTTP Basic or query-string consumer key/secret, as docs/authentication.md describes
/// ("Authentication over HTTPS"; the sandbox accepts them over plain HTTP too, and does
/// not implement the OAuth 1.0a scheme). Then the simulated per-key rate limit.
async fn authenticate(State(s): State<S>, req: Request, next: Next) -> Response {
    let mut presented: Option<(String, String)> = None;
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(b64) = v.strip_prefix("Basic ") {
            if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                if let Some((k, sec)) = String::from_utf8_lossy(&raw).split_once(':') {
                    presented = Some((k.to_owned(), sec.to_owned()));
                }
            }
        }
    }
    if presented.is_none() {
        let q: Vec<(String, String)> =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
        let get = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let Some(k) = get("consumer_key") {
            presented = Some((k, get("consumer_secret").unwrap_or_default()));
        }
    }
    // WooCommerce looks the key up first, then compares the secret.
    match presented {
        None => return permission_error(&req),
        Some((k, _)) if k != s.consumer_key || s.key_revoked.load(Ordering::Relaxed) => {
            return wc_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Consumer key is invalid.",
            )
        }
        Some((_, sec)) if sec != s.consumer_secret => {
            return wc_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Consumer secret is invalid.",
            )
        }
        Some(_) => {}
    }
    let read = matches!(req.method().as_str(), "GET" | "HEAD");
    let permissions = s.key_permissions.lock().expect("sandbox lock").clone();
    let (needed, granted) = if read {
        ("read", permissions != "write")
    } else {
        ("write", permissions != "read")
    };
    if !granted {
        return wc_error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            &format!("The API key provided does not have {needed} permissions."),
        );
    }
    if let Some(l) = &s.limiter {
        if let Err(wait) = l.check(&s.consumer_key) {
            let mut r = wc_error(
                StatusCode::TOO_MANY_REQUESTS,
                "woocommerce_rest_too_many_requests",
                "Too many requests. Please wait and try again.",
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
            return r;
        }
    }
    next.run(req).await
}

async fn set_extensions(State(s): State<S>, Json(body): Json<Value>) -> Json<Value> {
    if let Some(on) = body.get("shipment_tracking").and_then(Value::as_bool) {
        s.tracking.store(on, Ordering::Relaxed);
    }
    Json(json!({"shipment_tracking": s.tracking.load(Ordering::Relaxed)}))
}

async fn set_key(State(s): State<S>, Json(body): Json<Value>) -> Response {
    let bad = |msg: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response();
    let permissions = match body.get("permissions") {
        None => None,
        Some(p) => match p.as_str() {
            Some(p @ ("read" | "write" | "read_write")) => Some(p.to_owned()),
            _ => return bad("permissions must be read, write or read_write"),
        },
    };
    let revoked = match body.get("revoked") {
        None => None,
        Some(r) => match r.as_bool() {
            Some(r) => Some(r),
            None => return bad("revoked must be true or false"),
        },
    };
    if permissions.is_none() && revoked.is_none() {
        return bad("send permissions and/or revoked");
    }
    if let Some(p) = permissions {
        *s.key_permissions.lock().expect("sandbox lock") = p;
    }
    if let Some(r) = revoked {
        s.key_revoked.store(r, Ordering::Relaxed);
    }
    get_key(State(s)).await.into_response()
}

async fn get_key(State(s): State<S>) -> Json<Value> {
    Json(json!({
        "permissions": *s.key_permissions.lock().expect("sandbox lock"),
        "revoked": s.key_revoked.load(Ordering::Relaxed),
    }))
}

async fn get_version(State(s): State<S>) -> Json<Value> {
    Json(json!({"woocommerce": s.version()}))
}

/// `{"woocommerce": "8.9.1"}`: the WooCommerce version to simulate (`major.minor.patch`).
async fn set_version(State(s): State<S>, Json(body): Json<Value>) -> Response {
    let Some(v) = body.get("woocommerce").and_then(Value::as_str).filter(|v| {
        let parts: Vec<&str> = v.split('.').collect();
        (2..=3).contains(&parts.len()) && parts.iter().all(|p| p.parse::<u32>().is_ok())
    }) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "send {\"woocommerce\": \"major.minor.patch\"}"})),
        )
            .into_response();
    };
    *s.version.lock().unwrap_or_else(|e| e.into_inner()) = v.to_owned();
    get_version(State(s)).await.into_response()
}

async fn get_extensions(State(s): State<S>) -> Json<Value> {
    Json(json!({"shipment_tracking": s.tracking.load(Ordering::Relaxed)}))
}

/// The routes this sandbox serves, as WordPress lists them (regex paths, methods).
const WC_ROUTES: [(&str, &[&str]); 20] = [
    ("/wc/v3", &["GET"]),
    ("/wc/v3/orders", &["GET"]),
    ("/wc/v3/orders/(?P<id>[\\d]+)", &["GET", "POST", "PUT"]),
    ("/wc/v3/orders/(?P<order_id>[\\d]+)/notes", &["GET", "POST"]),
    ("/wc/v3/orders/(?P<order_id>[\\d]+)/refunds", &["GET"]),
    (
        "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds/(?P<id>[\\d]+)",
        &["GET"],
    ),
    ("/wc/v3/products", &["GET", "POST"]),
    (
        "/wc/v3/products/(?P<id>[\\d]+)",
        &["GET", "POST", "PUT", "DELETE"],
    ),
    (
        "/wc/v3/products/(?P<product_id>[\\d]+)/variations",
        &["GET"],
    ),
    (
        "/wc/v3/products/(?P<product_id>[\\d]+)/variations/(?P<id>[\\d]+)",
        &["GET", "POST", "PUT"],
    ),
    ("/wc/v3/products/categories", &["GET"]),
    ("/wc/v3/products/categories/(?P<id>[\\d]+)", &["GET"]),
    ("/wc/v3/customers", &["GET", "POST"]),
    ("/wc/v3/customers/(?P<id>[\\d]+)", &["GET", "POST", "PUT"]),
    ("/wc/v3/webhooks", &["GET", "POST"]),
    (
        "/wc/v3/webhooks/(?P<id>[\\d]+)",
        &["GET", "POST", "PUT", "DELETE"],
    ),
    ("/wc/v3/system_status", &["GET"]),
    ("/wc/v3/settings/(?P<group_id>[\\w-]+)", &["GET"]),
    (
        "/wc/v3/settings/(?P<group_id>[\\w-]+)/(?P<id>[\\w-]+)",
        &["GET", "POST", "PUT", "PATCH"],
    ),
    ("/wc/v3/data/currencies/current", &["GET"]),
];

/// `GET /wc/v3/refunds`, since WooCommerce 9.0 (listed only from that version on).
const REFUNDS_ROUTE: (&str, &[&str]) = ("/wc/v3/refunds", &["GET"]);

const TRACKING_ROUTES: [(&str, &[&str]); 2] = [
    (
        "/wc-shipment-tracking/v3/orders/(?P<order_id>[\\d]+)/shipment-trackings",
        &["GET", "POST"],
    ),
    (
        "/wc-shipment-tracking/v3/orders/(?P<order_id>[\\d]+)/shipment-trackings/(?P<tracking_id>[\\w-]+)",
        &["GET", "DELETE"],
    ),
];

/// `routes` as the WordPress index lists them (`{path: {namespace, methods, endpoints}}`).
fn route_map(routes: &[(&str, &[&str])]) -> Value {
    let mut m = serde_json::Map::new();
    for (path, methods) in routes {
        let ns = path
            .trim_start_matches('/')
            .splitn(3, '/')
            .take(2)
            .collect::<Vec<_>>()
            .join("/");
        m.insert(
            (*path).to_owned(),
            json!({"namespace": ns, "methods": methods,
                   "endpoints": methods.iter().map(|m| json!({"methods": [m], "args": {}})).collect::<Vec<_>>()}),
        );
    }
    Value::Object(m)
}

/// The wc/v3 routes of the simulated version.
fn wc_routes(s: &Sandbox) -> Value {
    let mut routes = WC_ROUTES.to_vec();
    if s.at_least(9, 0) {
        routes.push(REFUNDS_ROUTE);
    }
    route_map(&routes)
}

/// `GET /wp-json/`: the WordPress site index (public).
async fn index(State(s): State<S>) -> Json<Value> {
    let tracking = s.tracking.load(Ordering::Relaxed);
    let mut ns = vec![
        "oembed/1.0",
        "wc/v1",
        "wc/v2",
        "wc/v3",
        "wc/store/v1",
        "wp/v2",
    ];
    let mut routes = wc_routes(&s);
    if tracking {
        ns.push("wc-shipment-tracking/v3");
        if let (Some(r), Value::Object(t)) = (routes.as_object_mut(), route_map(&TRACKING_ROUTES)) {
            r.extend(t);
        }
    }
    Json(json!({
        // WordPress keeps the site title through esc_html.
        "name": data::esc_html("Cartgate's Sandbox Shop & Café"),
        "description": "Ein WooCommerce-Shop, simuliert von cartgate",
        "url": s.base_url,
        "home": s.base_url,
        // The offset now in effect for the time zone (CEST at the seed epoch).
        "gmt_offset": data::gmt_offset_hours(SANDBOX_EPOCH).to_string(),
        "timezone_string": "Europe/Berlin",
        "namespaces": ns,
        "authentication": {},
        "routes": routes,
        "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
    }))
}

/// `GET /wp-json/wc/v3`: the namespace index (public).
async fn namespace_index(State(s): State<S>) -> Json<Value> {
    Json(json!({"namespace": "wc/v3", "routes": wc_routes(&s),
        "_links": {"up": [{"href": format!("{}/wp-json/", s.base_url)}]}}))
}

type Q = Query<BTreeMap<String, String>>;

/// page/per_page/offset paging with X-WP-Total, X-WP-TotalPages and Link headers.
fn paged(s: &Sandbox, route: &str, q: &BTreeMap<String, String>, items: Vec<Value>) -> Response {
    let parse = |k: &str, d: i64| -> Result<i64, Response> {
        match q.get(k) {
            None => Ok(d),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| invalid_param(k, &format!("{k} is not of type integer."))),
        }
    };
    let per_page = match parse("per_page", 10) {
        Ok(v) if (1..=100).contains(&v) => v as usize,
        Ok(_) => {
            return invalid_param(
                "per_page",
                "per_page must be between 1 (inclusive) and 100 (inclusive)",
            )
        }
        Err(r) => return r,
    };
    let page = match parse("page", 1) {
        Ok(v) if v >= 1 => v as usize,
        Ok(_) => return invalid_param("page", "page must be greater than or equal to 1"),
        Err(r) => return r,
    };
    let offset = match q.get("offset") {
        Some(_) => match parse("offset", 0) {
            Ok(v) if v >= 0 => Some(v as usize),
            Ok(_) => return invalid_param("offset", "offset must be greater than or equal to 0"),
            Err(r) => return r,
        },
        None => None,
    };
    let total = items.len();
    let start = offset.unwrap_or((page - 1).saturating_mul(per_page));
    let body: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    let pages = total.div_ceil(per_page);
    let mut headers = HeaderMap::new();
    headers.insert("x-wp-total", HeaderValue::from(total as u64));
    headers.insert("x-wp-totalpages", HeaderValue::from(pages as u64));
    // Like WordPress: the request's own query with `page` replaced (minus credentials).
    let link = |p: usize, rel: &str| -> String {
        let mut params: Vec<(&str, String)> = q
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page" | "consumer_key" | "consumer_secret"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        params.push(("page", p.to_string()));
        let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
        format!("<{}/wp-json/wc/v3{route}?{qs}>; rel=\"{rel}\"", s.base_url)
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link((page - 1).min(pages.max(1)), "prev"));
    }
    if page < pages {
        links.push(link(page + 1, "next"));
    }
    if !links.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert(header::LINK, v);
        }
    }
    (headers, Json(Value::Array(body))).into_response()
}

/// A sortable view of one field.
#[derive(PartialEq, PartialOrd)]
enum SortKey {
    Num(f64),
    Text(String),
}

fn sort_key(item: &Value, orderby: &str, include: &[i64]) -> SortKey {
    let text = |k: &str| SortKey::Text(item[k].as_str().unwrap_or("").to_lowercase());
    let num = |k: &str| {
        SortKey::Num(match &item[k] {
            Value::Number(n) => n.as_f64().unwrap_or(0.0),
            Value::String(s) => s.parse().unwrap_or(0.0),
            _ => 0.0,
        })
    };
    match orderby {
        "date" | "registered_date" => text("date_created_gmt"),
        "modified" => text("date_modified_gmt"),
        "include" => {
            let id = item["id"].as_i64().unwrap_or(0);
            SortKey::Num(include.iter().position(|x| *x == id).unwrap_or(usize::MAX) as f64)
        }
        "title" | "name" if item["name"].is_string() => text("name"),
        // Users sort by display name (first and last name here).
        "name" => SortKey::Text(
            format!(
                "{} {}",
                item["first_name"].as_str().unwrap_or(""),
                item["last_name"].as_str().unwrap_or("")
            )
            .to_lowercase(),
        ),
        "title" => num("id"),
        "slug" if item["slug"].is_string() => text("slug"),
        "description" => text("description"),
        "price" => num("price"),
        "popularity" => num("total_sales"),
        "rating" => num("average_rating"),
        "count" => num("count"),
        _ => num("id"),
    }
}

/// Sorts by `orderby` (one of `allowed`, default `default`) and `order` (asc|desc,
/// default `default_order`), ties broken by id like WordPress.
fn sort(
    items: &mut [Value],
    q: &BTreeMap<String, String>,
    allowed: &[&str],
    default: &str,
    default_order: &str,
) -> Result<(), Response> {
    let orderby = q.get("orderby").map(String::as_str).unwrap_or(default);
    if !allowed.contains(&orderby) {
        return Err(invalid_param(
            "orderby",
            &format!("orderby is not one of {}.", allowed.join(", ")),
        ));
    }
    let desc = match q.get("order").map(String::as_str).unwrap_or(default_order) {
        "desc" => true,
        "asc" => false,
        _ => return Err(invalid_param("order", "order is not one of asc, desc.")),
    };
    let include = id_list(q, "include").unwrap_or_default();
    items.sort_by(|a, b| {
        let ord = sort_key(a, orderby, &include)
            .partial_cmp(&sort_key(b, orderby, &include))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a["id"].as_i64().cmp(&b["id"].as_i64()));
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
    Ok(())
}

/// after/before/modified_after/modified_before (ISO 8601, compared with the GMT dates).
fn date_filter(item: &Value, q: &BTreeMap<String, String>) -> Result<bool, Response> {
    for (param, field, after) in [
        ("after", "date_created_gmt", true),
        ("before", "date_created_gmt", false),
        ("modified_after", "date_modified_gmt", true),
        ("modified_before", "date_modified_gmt", false),
    ] {
        if let Some(v) = q.get(param) {
            let bound = parse_time(v)
                .ok_or_else(|| invalid_param(param, &format!("{param} is not a valid date.")))?;
            let t = item[field]
                .as_str()
                .and_then(parse_time)
                .unwrap_or_default();
            if (after && t <= bound) || (!after && t >= bound) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn parse_time(s: &str) -> Option<chrono::NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok()
}

fn id_list(q: &BTreeMap<String, String>, k: &str) -> Option<Vec<i64>> {
    q.get(k)
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
}

fn matches_search(item: &Value, q: &BTreeMap<String, String>, fields: &[&str]) -> bool {
    match q.get("search") {
        None => true,
        Some(term) => {
            let term = term.to_lowercase();
            fields.iter().any(|f| {
                item.pointer(f)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase().contains(&term))
            })
        }
    }
}

fn common(item: &Value, q: &BTreeMap<String, String>) -> Result<bool, Response> {
    if let Some(inc) = id_list(q, "include") {
        if !inc.contains(&item["id"].as_i64().unwrap_or(0)) {
            return Ok(false);
        }
    }
    if let Some(exc) = id_list(q, "exclude") {
        if exc.contains(&item["id"].as_i64().unwrap_or(0)) {
            return Ok(false);
        }
    }
    date_filter(item, q)
}

macro_rules! tryr {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

// After `tryr!`: it uses the macro.
mod hooks;

const ORDER_STATUSES: [&str; 8] = [
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
];

/// The `orderby` values the route index allows per collection (plus `modified`, which
/// current WooCommerce accepts for posts).
const POST_ORDERBY: [&str; 6] = ["date", "id", "include", "title", "slug", "modified"];
const PRODUCT_ORDERBY: [&str; 9] = [
    "date",
    "id",
    "include",
    "title",
    "slug",
    "modified",
    "price",
    "popularity",
    "rating",
];
const CUSTOMER_ORDERBY: [&str; 4] = ["id", "include", "name", "registered_date"];
const TERM_ORDERBY: [&str; 7] = [
    "id",
    "include",
    "name",
    "slug",
    "term_group",
    "description",
    "count",
];

/// A `status` list parameter (comma separated), each value in `allowed`.
fn status_list(
    q: &BTreeMap<String, String>,
    allowed: &[&str],
) -> Result<Option<Vec<String>>, Response> {
    match q.get("status").map(String::as_str) {
        None | Some("any") | Some("") => Ok(None),
        Some(v) => {
            let list: Vec<String> = v.split(',').map(|x| x.trim().to_owned()).collect();
            if let Some(bad) = list
                .iter()
                .position(|x| !allowed.contains(&x.as_str()) && x.as_str() != "any")
            {
                return Err(invalid_param(
                    "status",
                    &format!("status[{bad}] is not one of any, {}.", allowed.join(", ")),
                ));
            }
            Ok(if list.iter().any(|x| x == "any") {
                None
            } else {
                Some(list)
            })
        }
    }
}

fn int_param(q: &BTreeMap<String, String>, k: &str) -> Result<Option<i64>, Response> {
    match q.get(k) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| invalid_param(k, &format!("{k} is not of type integer."))),
    }
}

fn lock(s: &Sandbox) -> std::sync::MutexGuard<'_, Db> {
    // Handlers never panic while holding the lock; recover from poisoning anyway.
    s.db.lock().unwrap_or_else(|e| e.into_inner())
}

async fn list_orders(State(s): State<S>, Query(q): Q) -> Response {
    let statuses = tryr!(status_list(&q, &ORDER_STATUSES));
    let customer = tryr!(int_param(&q, "customer"));
    let product = tryr!(int_param(&q, "product"));
    let mut items = Vec::new();
    {
        let db = lock(&s);
        for o in db.orders.values() {
            let st = o["status"].as_str().unwrap_or("");
            let status_ok = match &statuses {
                // "any" means every status but trash.
                None => st != "trash",
                Some(l) => l.iter().any(|x| x == st),
            };
            if !status_ok || !tryr!(common(o, &q)) {
                continue;
            }
            if customer.is_some_and(|c| o["customer_id"].as_i64() != Some(c)) {
                continue;
            }
            if product.is_some_and(|p| {
                !o["line_items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|l| l["product_id"].as_i64() == Some(p))
            }) {
                continue;
            }
            if !matches_search(
                o,
                &q,
                &[
                    "/number",
                    "/billing/first_name",
                    "/billing/last_name",
                    "/billing/email",
                    "/billing/company",
                    "/shipping/first_name",
                    "/shipping/last_name",
                ],
            ) && !search_line_items(o, &q)
            {
                continue;
            }
            items.push(o.clone());
        }
    }
    tryr!(sort(&mut items, &q, &POST_ORDERBY, "date", "desc"));
    paged(&s, "/orders", &q, items)
}

/// Order search also matches line item names, as WooCommerce's does.
fn search_line_items(o: &Value, q: &BTreeMap<String, String>) -> bool {
    let Some(term) = q.get("search").map(|t| t.to_lowercase()) else {
        return true;
    };
    o["line_items"].as_array().into_iter().flatten().any(|l| {
        l["name"]
            .as_str()
            .is_some_and(|n| n.to_lowercase().contains(&term))
    })
}

fn not_found(code: &str) -> Response {
    wc_error(StatusCode::NOT_FOUND, code, "Invalid ID.")
}

fn parse_id(id: &str) -> Option<i64> {
    id.parse().ok()
}

/// A request body as JSON; WordPress answers malformed JSON with `rest_invalid_json`.
fn json_body(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            wc_error(
                StatusCode::BAD_REQUEST,
                "rest_invalid_json",
                "Invalid JSON body passed.",
            )
        })
}

async fn get_order(State(s): State<S>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let db = lock(&s);
    match db.orders.get(&id) {
        Some(o) => Json(o.clone()).into_response(),
        None => not_found("woocommerce_rest_shop_order_invalid_id"),
    }
}

fn status_label(s: &str) -> &'static str {
    match s {
        "pending" => "Pending payment",
        "processing" => "Processing",
        "on-hold" => "On hold",
        "completed" => "Completed",
        "cancelled" => "Cancelled",
        "refunded" => "Refunded",
        "failed" => "Failed",
        _ => "Trash",
    }
}

/// Merges `meta_data` entries into `existing`: by id when given, else by key; new keys
/// get a fresh id.
fn merge_meta(existing: &mut Value, updates: &[Value], next_id: &mut impl FnMut() -> i64) {
    let Some(list) = existing.as_array_mut() else {
        return;
    };
    for u in updates {
        let Some(key) = u["key"].as_str() else {
            continue;
        };
        let found = list.iter_mut().find(|m| {
            (u["id"].is_i64() && m["id"] == u["id"]) || (!u["id"].is_i64() && m["key"] == key)
        });
        match found {
            Some(m) => {
                m["key"] = json!(key);
                m["value"] = u["value"].clone();
            }
            None => list.push(json!({"id": next_id(), "key": key, "value": u["value"]})),
        }
    }
}

async fn update_order(State(s): State<S>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    if !db.orders.contains_key(&id) {
        return not_found("woocommerce_rest_shop_order_invalid_id");
    }
    let new_status = match body.get("status") {
        None => None,
        Some(v) => match v.as_str().filter(|x| ORDER_STATUSES.contains(x)) {
            Some(x) => Some(x.to_owned()),
            None => {
                return invalid_param(
                    "status",
                    &format!("status is not one of {}.", ORDER_STATUSES.join(", ")),
                )
            }
        },
    };
    for k in ["customer_note", "transaction_id"] {
        if body.get(k).is_some_and(|v| !v.is_string()) {
            return invalid_param(k, &format!("{k} is not of type string."));
        }
    }
    let now = db.now();
    let mut meta_id = 900_000 + now - SANDBOX_EPOCH;
    let Some(o) = db.orders.get_mut(&id) else {
        return not_found("woocommerce_rest_shop_order_invalid_id");
    };
    let old_status = o["status"].as_str().unwrap_or("").to_owned();
    if let Some(st) = &new_status {
        o["status"] = json!(st);
        if matches!(st.as_str(), "processing" | "completed") && o["date_paid"].is_null() {
            data::set_date(o, "date_paid", now);
        }
        if st == "completed" {
            data::set_date(o, "date_completed", now);
        }
    }
    for k in ["customer_note", "transaction_id"] {
        if let Some(v) = body.get(k) {
            o[k] = v.clone();
        }
    }
    for k in ["billing", "shipping"] {
        if let Some(fields) = body.get(k).and_then(Value::as_object) {
            for (f, v) in fields {
                if o[k].get(f).is_some() && v.is_string() {
                    o[k][f] = v.clone();
                }
            }
        }
    }
    if let Some(meta) = body.get("meta_data").and_then(Value::as_array) {
        merge_meta(&mut o["meta_data"], meta, &mut || {
            meta_id += 1;
            meta_id
        });
    }
    data::set_date(o, "date_modified", now);
    let out = o.clone();
    // WooCommerce records status changes as a system note.
    if let Some(st) = new_status.filter(|st| *st != old_status) {
        let msg = format!(
            "Order status changed from {} to {}.",
            status_label(&old_status),
            status_label(&st)
        );
        db.add_note(id, now, &msg, false, "system");
    }
    hooks::emit(&s, &mut db, "order.updated", id);
    Json(out).into_response()
}

async fn list_notes(State(s): State<S>, Path(id): Path<String>, Query(q): Q) -> Response {
    let Some(oid) = parse_id(&id) else {
        return no_route_response();
    };
    let db = lock(&s);
    if !db.orders.contains_key(&oid) {
        return wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        );
    }
    let kind = q.get("type").map(String::as_str).unwrap_or("any");
    if !["any", "customer", "internal"].contains(&kind) {
        return invalid_param("type", "type is not one of any, customer, internal.");
    }
    // Newest first, like WooCommerce; not paginated.
    let notes: Vec<Value> = db
        .notes
        .get(&oid)
        .into_iter()
        .flatten()
        .rev()
        .filter(|n| match kind {
            "customer" => n["customer_note"] == true,
            "internal" => n["customer_note"] == false,
            _ => true,
        })
        .cloned()
        .collect();
    Json(notes).into_response()
}

async fn create_note(State(s): State<S>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(oid) = parse_id(&id) else {
        return no_route_response();
    };
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    if !db.orders.contains_key(&oid) {
        return wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        );
    }
    let Some(text) = body
        .get("note")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return missing_param("note");
    };
    let customer_note = body
        .get("customer_note")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let by_user = body
        .get("added_by_user")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = db.now();
    let author = if by_user { "admin" } else { "WooCommerce" };
    let note = db.add_note(oid, now, text, customer_note, author);
    (StatusCode::CREATED, Json(note)).into_response()
}

/// The `orderby` values of refund lists (docs: refunds).
const REFUND_ORDERBY: [&str; 6] = ["date", "modified", "id", "include", "title", "slug"];

/// `GET /refunds` (WooCommerce 9.0+, docs: "Retrieve a list of refunds"): every refund of
/// the store with its `parent_id`, paged, filtered by `include`, `exclude`, `after`,
/// `before` and `parent_exclude`. The docs list `parent` too, but
/// `WC_REST_Refunds_Controller::prepare_objects_query` unsets the `post_parent__in` it
/// becomes, so it filters nothing, here as there.
async fn list_refunds(State(s): State<S>, Query(q): Q) -> Response {
    if !s.at_least(9, 0) {
        return no_route_response();
    }
    let parent_exclude = id_list(&q, "parent_exclude");
    let mut items = Vec::new();
    {
        let db = lock(&s);
        for r in db.refunds.values() {
            let of = r["parent_id"].as_i64().unwrap_or(0);
            if parent_exclude.as_ref().is_some_and(|l| l.contains(&of)) || !tryr!(common(r, &q)) {
                continue;
            }
            items.push(r.clone());
        }
    }
    tryr!(sort(&mut items, &q, &REFUND_ORDERBY, "date", "desc"));
    paged(&s, "/refunds", &q, items)
}

/// A refund as the order's own route serves it: without `parent_id`.
fn order_refund_view(r: &Value) -> Value {
    let mut r = r.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("parent_id");
    }
    r
}

fn invalid_order() -> Response {
    wc_error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_invalid_order_id",
        "Invalid order ID.",
    )
}

/// `GET /orders/{id}/refunds` (docs: order refunds, "List all refunds"), newest first.
async fn list_order_refunds(State(s): State<S>, Path(id): Path<String>, Query(q): Q) -> Response {
    let Some(oid) = parse_id(&id) else {
        return no_route_response();
    };
    let mut items: Vec<Value> = {
        let db = lock(&s);
        if !db.orders.contains_key(&oid) {
            return invalid_order();
        }
        db.refunds
            .values()
            .filter(|r| r["parent_id"].as_i64() == Some(oid))
            .map(order_refund_view)
            .collect()
    };
    tryr!(sort(&mut items, &q, &REFUND_ORDERBY, "date", "desc"));
    paged(&s, &format!("/orders/{oid}/refunds"), &q, items)
}

async fn get_order_refund(State(s): State<S>, Path((id, rid)): Path<(String, String)>) -> Response {
    let (Some(oid), Some(rid)) = (parse_id(&id), parse_id(&rid)) else {
        return no_route_response();
    };
    let db = lock(&s);
    if !db.orders.contains_key(&oid) {
        return invalid_order();
    }
    match db
        .refunds
        .get(&rid)
        .filter(|r| r["parent_id"].as_i64() == Some(oid))
    {
        Some(r) => Json(order_refund_view(r)).into_response(),
        None => wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_invalid_order_refund_id",
            "Invalid order refund ID.",
        ),
    }
}

fn missing_param(name: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "code": "rest_missing_callback_param",
            "message": format!("Missing parameter(s): {name}"),
            "data": {"status": 400, "params": [name]}
        })),
    )
        .into_response()
}

fn tracking_order(db: &Db, id: &str) -> Result<i64, Response> {
    let oid = parse_id(id).ok_or_else(no_route_response)?;
    if db.orders.contains_key(&oid) {
        Ok(oid)
    } else {
        Err(wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_shop_order_invalid_id",
            "Invalid order ID.",
        ))
    }
}

fn tracking_not_found() -> Response {
    wc_error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_shop_order_invalid_tracking_id",
        "Invalid tracking ID.",
    )
}

async fn list_trackings(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = lock(&s);
    let oid = tryr!(tracking_order(&db, &id));
    Json(db.trackings.get(&oid).cloned().unwrap_or_default()).into_response()
}

async fn create_tracking(State(s): State<S>, Path(id): Path<String>, body: Bytes) -> Response {
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    let oid = tryr!(tracking_order(&db, &id));
    let str_field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
            .to_owned()
    };
    let number = str_field("tracking_number");
    if number.is_empty() {
        return missing_param("tracking_number");
    }
    let custom = str_field("custom_tracking_provider");
    let provider = str_field("tracking_provider");
    // A predefined provider gets its tracking link; a custom one carries its own.
    let (provider, link) = match (custom.is_empty(), data::provider_link(&provider, &number)) {
        (true, Some((name, link))) => (name.to_owned(), link),
        (true, None) => (provider, str_field("custom_tracking_link")),
        (false, _) => (custom, str_field("custom_tracking_link")),
    };
    let now = db.now();
    let shipped = match body.get("date_shipped") {
        None | Some(Value::Null) => data::gmt(now)[..10].to_owned(),
        Some(Value::String(d)) if d.is_empty() => data::gmt(now)[..10].to_owned(),
        Some(Value::String(d)) => {
            match chrono::NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d") {
                Ok(date) => date.format("%Y-%m-%d").to_string(),
                Err(_) => {
                    return invalid_param("date_shipped", "date_shipped is not a valid date.")
                }
            }
        }
        Some(Value::Number(n)) => match n
            .as_i64()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        {
            Some(t) => t.format("%Y-%m-%d").to_string(),
            None => return invalid_param("date_shipped", "date_shipped is not a valid date."),
        },
        Some(_) => return invalid_param("date_shipped", "date_shipped is not a valid date."),
    };
    // The extension's ids are md5 hex digests; a seeded stream stands in for md5.
    let mut rng = seeded_rng(
        u64::try_from(now).unwrap_or(0),
        &format!("tracking/{oid}/{number}"),
    );
    let t = json!({
        "tracking_id": random_hex(&mut rng, 32),
        "tracking_provider": provider,
        "tracking_link": link,
        "tracking_number": number,
        "date_shipped": shipped,
    });
    db.trackings.entry(oid).or_default().push(t.clone());
    if let Some(o) = db.orders.get_mut(&oid) {
        data::set_date(o, "date_modified", now);
    }
    // The extension saves the order's meta: an order.updated.
    hooks::emit(&s, &mut db, "order.updated", oid);
    (StatusCode::CREATED, Json(t)).into_response()
}

async fn get_tracking(State(s): State<S>, Path((id, tid)): Path<(String, String)>) -> Response {
    let db = lock(&s);
    let oid = tryr!(tracking_order(&db, &id));
    let found = db
        .trackings
        .get(&oid)
        .and_then(|l| l.iter().find(|t| t["tracking_id"] == tid.as_str()));
    match found {
        Some(t) => Json(t.clone()).into_response(),
        None => tracking_not_found(),
    }
}

async fn delete_tracking(State(s): State<S>, Path((id, tid)): Path<(String, String)>) -> Response {
    let mut db = lock(&s);
    let oid = tryr!(tracking_order(&db, &id));
    let Some(list) = db.trackings.get_mut(&oid) else {
        return tracking_not_found();
    };
    match list.iter().position(|t| t["tracking_id"] == tid.as_str()) {
        // Answers the deleted tracking, as WordPress answers deletions.
        Some(i) => Json(list.remove(i)).into_response(),
        None => tracking_not_found(),
    }
}

const PRODUCT_STATUSES: [&str; 4] = ["draft", "pending", "private", "publish"];

async fn list_products(State(s): State<S>, Query(q): Q) -> Response {
    let statuses = tryr!(status_list(&q, &PRODUCT_STATUSES));
    let skus: Option<Vec<&str>> = q.get("sku").map(|v| v.split(',').map(str::trim).collect());
    if let Some(t) = q.get("type") {
        if !["simple", "grouped", "external", "variable"].contains(&t.as_str()) {
            return invalid_param(
                "type",
                "type is not one of simple, grouped, external, variable.",
            );
        }
    }
    let mut items = Vec::new();
    {
        let db = lock(&s);
        // `category` takes ids (comma separated) and, as a WordPress taxonomy query,
        // includes their subcategories.
        let categories = q.get("category").map(|v| {
            let roots: Vec<i64> = v.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            db.with_descendants(&roots)
        });
        for p in db.products.values() {
            let st = p["status"].as_str().unwrap_or("");
            // "any" leaves the trash out.
            if statuses.is_none() && st == "trash" {
                continue;
            }
            if statuses
                .as_ref()
                .is_some_and(|l| !l.iter().any(|x| x == st))
            {
                continue;
            }
            if let Some(skus) = &skus {
                if !skus.iter().any(|x| p["sku"] == *x) {
                    continue;
                }
            }
            if let Some(cats) = &categories {
                if !p["categories"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|x| x["id"].as_i64().is_some_and(|id| cats.contains(&id)))
                {
                    continue;
                }
            }
            if q.get("type").is_some_and(|t| p["type"] != t.as_str()) {
                continue;
            }
            if q.get("slug").is_some_and(|v| p["slug"] != v.as_str()) {
                continue;
            }
            if !tryr!(common(p, &q))
                || !matches_search(p, &q, &["/name", "/description", "/short_description"])
            {
                continue;
            }
            items.push(s.render(p.clone()));
        }
    }
    tryr!(sort(&mut items, &q, &PRODUCT_ORDERBY, "date", "desc"));
    paged(&s, "/products", &q, items)
}

async fn get_product(State(s): State<S>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let db = lock(&s);
    match db.products.get(&id) {
        Some(p) => Json(s.render(p.clone())).into_response(),
        None => not_found("woocommerce_rest_product_invalid_id"),
    }
}

/// A decimal price string or "" (WooCommerce's price fields are strings).
fn price_param(body: &Value, k: &str) -> Result<Option<String>, Response> {
    match body.get(k) {
        None => Ok(None),
        Some(Value::String(v)) if v.is_empty() => Ok(Some(String::new())),
        Some(Value::String(v)) if data::cents(v).is_some_and(|c| c >= 0) => {
            Ok(Some(data::money(data::cents(v).unwrap_or(0), 2)))
        }
        Some(_) => Err(invalid_param(k, &format!("{k} is not of type string."))),
    }
}

/// `wc_format_decimal` as WooCommerce stores a weight or a side: the decimal, or `""`.
fn format_decimal(v: &str) -> String {
    let v = v.trim();
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() && !v.is_empty() => v.to_owned(),
        _ => String::new(),
    }
}

/// Applies the writable fields of a product (`variation` false) or variation body.
/// `gtin`: whether this version knows `global_unique_id` (older ones ignore it, as
/// WordPress ignores any parameter a route does not declare).
fn apply_product_fields(
    db: &Db,
    p: &mut Value,
    body: &Value,
    now: i64,
    variation: bool,
    gtin: bool,
) -> Result<(), Response> {
    let text_fields: &[&str] = if variation {
        &["description", "sku"]
    } else {
        &["name", "description", "short_description", "sku", "slug"]
    };
    for k in text_fields {
        if let Some(v) = body.get(*k) {
            if !v.is_string() {
                return Err(invalid_param(k, &format!("{k} is not of type string.")));
            }
            let v = v.as_str().unwrap_or("").trim();
            // WooCommerce filters names and descriptions through kses (`&` → `&amp;`).
            p[*k] = match *k {
                "name" | "description" | "short_description" => json!(data::kses(v)),
                _ => json!(v),
            };
        }
    }
    if let Some(st) = body.get("status") {
        if !PRODUCT_STATUSES.contains(&st.as_str().unwrap_or("")) {
            return Err(invalid_param(
                "status",
                "status is not one of draft, pending, private, publish.",
            ));
        }
        p["status"] = st.clone();
    }
    for k in ["regular_price", "sale_price"] {
        if let Some(v) = price_param(body, k)? {
            p[k] = json!(v);
        }
    }
    if let Some(ms) = body.get("manage_stock") {
        let Some(ms) = ms.as_bool() else {
            return Err(invalid_param(
                "manage_stock",
                "manage_stock is not of type boolean.",
            ));
        };
        p["manage_stock"] = json!(ms);
    }
    if let Some(q) = body.get("stock_quantity") {
        let Some(n) = q.as_i64() else {
            return Err(invalid_param(
                "stock_quantity",
                "stock_quantity is not of type integer.",
            ));
        };
        p["stock_quantity"] = json!(n);
    }
    if let Some(w) = body.get("weight") {
        let Some(w) = w.as_str() else {
            return Err(invalid_param("weight", "weight is not of type string."));
        };
        p["weight"] = json!(format_decimal(w));
    }
    if let Some(d) = body.get("dimensions") {
        let Some(d) = d.as_object() else {
            return Err(invalid_param(
                "dimensions",
                "dimensions is not of type object.",
            ));
        };
        for side in ["length", "width", "height"] {
            match d.get(side) {
                None => {}
                Some(Value::String(v)) => p["dimensions"][side] = json!(format_decimal(v)),
                Some(_) => {
                    return Err(invalid_param(
                        "dimensions",
                        &format!("dimensions[{side}] is not of type string."),
                    ))
                }
            }
        }
    }
    for k in ["virtual", "downloadable"] {
        if let Some(v) = body.get(k) {
            let Some(v) = v.as_bool() else {
                return Err(invalid_param(k, &format!("{k} is not of type boolean.")));
            };
            p[k] = json!(v);
        }
    }
    if !variation && p.get("shipping_required").is_some() {
        p["shipping_required"] = json!(p["virtual"] != true);
    }
    if let (true, Some(g)) = (gtin, body.get("global_unique_id")) {
        let Some(g) = g.as_str() else {
            return Err(invalid_param(
                "global_unique_id",
                "global_unique_id is not of type string.",
            ));
        };
        let g = g.trim();
        // Unique across products and variations (`wc_product_has_global_unique_id`).
        let me = p["id"].as_i64();
        if !g.is_empty()
            && db
                .products
                .values()
                .chain(db.variations.values())
                .any(|x| x["global_unique_id"] == g && x["id"].as_i64() != me)
        {
            return Err(wc_error(
                StatusCode::BAD_REQUEST,
                "product_invalid_global_unique_id",
                "Invalid or duplicated GTIN, UPC, EAN or ISBN.",
            ));
        }
        p["global_unique_id"] = json!(g);
    }
    if let Some(st) = body.get("stock_status") {
        if !["instock", "outofstock", "onbackorder"].contains(&st.as_str().unwrap_or("")) {
            return Err(invalid_param(
                "stock_status",
                "stock_status is not one of instock, outofstock, onbackorder.",
            ));
        }
        p["stock_status"] = st.clone();
    }
    if !variation {
        if let Some(c) = body.get("categories") {
            let Some(c) = c.as_array() else {
                return Err(invalid_param(
                    "categories",
                    "categories is not of type array.",
                ));
            };
            p["categories"] = db.category_refs(c.iter().filter_map(|x| x["id"].as_i64()));
        }
        if let Some(imgs) = body.get("images").and_then(Value::as_array) {
            p["images"] = Value::Array(
                imgs.iter()
                    .enumerate()
                    .filter_map(|(i, im)| {
                        let src = im["src"].as_str()?;
                        let mut v = json!({"id": im["id"].as_i64().unwrap_or(now * 10 + i as i64),
                            "src": src, "name": im["name"].as_str().unwrap_or(""), "alt": im["alt"].as_str().unwrap_or("")});
                        data::set_date(&mut v, "date_created", now);
                        data::set_date(&mut v, "date_modified", now);
                        Some(v)
                    })
                    .collect(),
            );
        }
    }
    data::derive_product_fields(p);
    data::set_date(p, "date_modified", now);
    Ok(())
}

fn sku_taken(db: &Db, sku: Option<&str>, except: i64) -> bool {
    let Some(sku) = sku.map(str::trim).filter(|s| !s.is_empty()) else {
        return false;
    };
    db.products
        .values()
        .chain(db.variations.values())
        .any(|p| p["sku"] == sku && p["id"].as_i64() != Some(except))
}

fn duplicated_sku() -> Response {
    wc_error(
        StatusCode::BAD_REQUEST,
        "product_invalid_sku",
        "Invalid or duplicated SKU.",
    )
}

async fn create_product(State(s): State<S>, body: Bytes) -> Response {
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    if sku_taken(&db, body.get("sku").and_then(Value::as_str), -1) {
        return duplicated_sku();
    }
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("simple");
    if !["simple", "grouped", "external", "variable"].contains(&kind) {
        return invalid_param(
            "type",
            "type is not one of simple, grouped, external, variable.",
        );
    }
    let id = db.next_id();
    let now = db.now();
    let mut p = data::blank_product(&db.base, id, now);
    p["type"] = json!(kind);
    // WooCommerce names an unnamed product "Product".
    p["name"] = json!("Product");
    // New products land in Uncategorized unless told otherwise.
    p["categories"] = db.category_refs([15]);
    tryr!(apply_product_fields(
        &db,
        &mut p,
        &body,
        now,
        false,
        s.at_least(9, 2)
    ));
    if body.get("slug").is_none() {
        p["slug"] = json!(data::slugify(p["name"].as_str().unwrap_or("product")));
    }
    data::set_date(&mut p, "date_created", now);
    db.products.insert(id, p.clone());
    db.recount_categories();
    hooks::emit(&s, &mut db, "product.created", id);
    (StatusCode::CREATED, Json(s.render(p))).into_response()
}

async fn update_product(State(s): State<S>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(pid) = parse_id(&id) else {
        return no_route_response();
    };
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    let Some(mut p) = db.products.get(&pid).cloned() else {
        return not_found("woocommerce_rest_product_invalid_id");
    };
    if sku_taken(&db, body.get("sku").and_then(Value::as_str), pid) {
        return duplicated_sku();
    }
    let now = db.now();
    tryr!(apply_product_fields(
        &db,
        &mut p,
        &body,
        now,
        false,
        s.at_least(9, 2)
    ));
    db.products.insert(pid, p.clone());
    db.recount_categories();
    hooks::emit(&s, &mut db, "product.updated", pid);
    Json(s.render(p)).into_response()
}

/// `DELETE /products/{id}`: `force=true` deletes (with the variations), otherwise the
/// product moves to the trash (`status: trash`, left out of lists); both answer the
/// product and send `product.deleted`.
async fn delete_product(State(s): State<S>, Path(id): Path<String>, Query(q): Q) -> Response {
    let Some(pid) = parse_id(&id) else {
        return no_route_response();
    };
    let force = tryr!(bool_param(&q, "force")).unwrap_or(false);
    let mut db = lock(&s);
    if !db.products.contains_key(&pid) {
        return not_found("woocommerce_rest_product_invalid_id");
    }
    let now = db.now();
    let out = if force {
        db.delete_product(pid)
    } else {
        db.products.get_mut(&pid).map(|p| {
            p["status"] = json!("trash");
            data::set_date(p, "date_modified", now);
            p.clone()
        })
    };
    db.recount_categories();
    hooks::emit(&s, &mut db, "product.deleted", pid);
    match out {
        Some(p) => Json(s.render(p)).into_response(),
        None => not_found("woocommerce_rest_product_invalid_id"),
    }
}

async fn list_variations(State(s): State<S>, Path(id): Path<String>, Query(q): Q) -> Response {
    let Some(pid) = parse_id(&id) else {
        return no_route_response();
    };
    let statuses = tryr!(status_list(&q, &PRODUCT_STATUSES));
    let mut items: Vec<Value> = {
        let db = lock(&s);
        let Some(p) = db.products.get(&pid) else {
            return not_found("woocommerce_rest_product_invalid_id");
        };
        let skus: Option<Vec<&str>> = q.get("sku").map(|v| v.split(',').map(str::trim).collect());
        let mut out = Vec::new();
        for v in p["variations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_i64().and_then(|v| db.variations.get(&v)))
        {
            let st = v["status"].as_str().unwrap_or("");
            if statuses
                .as_ref()
                .is_some_and(|l| !l.iter().any(|x| x == st))
            {
                continue;
            }
            if skus
                .as_ref()
                .is_some_and(|l| !l.iter().any(|x| v["sku"] == *x))
            {
                continue;
            }
            if !tryr!(common(v, &q)) {
                continue;
            }
            out.push(s.render_variation(&db, pid, v.clone()));
        }
        out
    };
    tryr!(sort(&mut items, &q, &POST_ORDERBY, "date", "desc"));
    paged(&s, &format!("/products/{pid}/variations"), &q, items)
}

/// The variation `vid` of product `pid`, if it is one.
fn variation_of(db: &Db, pid: i64, vid: i64) -> Option<i64> {
    let p = db.products.get(&pid)?;
    p["variations"]
        .as_array()?
        .iter()
        .any(|x| x.as_i64() == Some(vid))
        .then_some(vid)
}

async fn get_variation(State(s): State<S>, Path((pid, vid)): Path<(String, String)>) -> Response {
    let (Some(pid), Some(vid)) = (parse_id(&pid), parse_id(&vid)) else {
        return no_route_response();
    };
    let db = lock(&s);
    match variation_of(&db, pid, vid).and_then(|v| db.variations.get(&v)) {
        Some(v) => Json(s.render_variation(&db, pid, v.clone())).into_response(),
        None => not_found("woocommerce_rest_product_variation_invalid_id"),
    }
}

async fn update_variation(
    State(s): State<S>,
    Path((pid, vid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (Some(pid), Some(vid)) = (parse_id(&pid), parse_id(&vid)) else {
        return no_route_response();
    };
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    let Some(mut v) = variation_of(&db, pid, vid).and_then(|v| db.variations.get(&v).cloned())
    else {
        return not_found("woocommerce_rest_product_variation_invalid_id");
    };
    if sku_taken(&db, body.get("sku").and_then(Value::as_str), vid) {
        return duplicated_sku();
    }
    let now = db.now();
    tryr!(apply_product_fields(
        &db,
        &mut v,
        &body,
        now,
        true,
        s.at_least(9, 2)
    ));
    db.variations.insert(vid, v.clone());
    // WooCommerce syncs the parent: its price is the cheapest variation's.
    let cheapest = db
        .products
        .get(&pid)
        .and_then(|p| p["variations"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|x| x.as_i64().and_then(|x| db.variations.get(&x)))
        .filter_map(|x| x["price"].as_str().and_then(data::cents))
        .min();
    if let Some(p) = db.products.get_mut(&pid) {
        if let Some(c) = cheapest {
            p["price"] = json!(data::money(c, 2));
        }
        data::derive_product_fields(p);
        data::set_date(p, "date_modified", now);
    }
    // The parent changed with it: a product.updated of the parent.
    hooks::emit(&s, &mut db, "product.updated", pid);
    Json(s.render_variation(&db, pid, v)).into_response()
}

fn bool_param(q: &BTreeMap<String, String>, k: &str) -> Result<Option<bool>, Response> {
    match q.get(k).map(String::as_str) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0" | "") => Ok(Some(false)),
        Some(_) => Err(invalid_param(k, &format!("{k} is not of type boolean."))),
    }
}

async fn list_categories(State(s): State<S>, Query(q): Q) -> Response {
    let parent = tryr!(int_param(&q, "parent"));
    let hide_empty = tryr!(bool_param(&q, "hide_empty")).unwrap_or(false);
    let include = id_list(&q, "include");
    let exclude = id_list(&q, "exclude");
    let mut items: Vec<Value> = {
        let db = lock(&s);
        db.categories
            .values()
            .filter(|c| parent.is_none_or(|p| c["parent"].as_i64() == Some(p)))
            .filter(|c| !hide_empty || c["count"].as_i64().unwrap_or(0) > 0)
            .filter(|c| q.get("slug").is_none_or(|v| c["slug"] == v.as_str()))
            .filter(|c| matches_search(c, &q, &["/name", "/slug"]))
            .filter(|c| {
                let id = c["id"].as_i64().unwrap_or(0);
                include.as_ref().is_none_or(|l| l.contains(&id))
                    && exclude.as_ref().is_none_or(|l| !l.contains(&id))
            })
            .cloned()
            .collect()
    };
    tryr!(sort(&mut items, &q, &TERM_ORDERBY, "name", "asc"));
    paged(&s, "/products/categories", &q, items)
}

async fn get_category(State(s): State<S>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let db = lock(&s);
    match db.categories.get(&id) {
        Some(c) => Json(c.clone()).into_response(),
        None => wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_term_invalid",
            "Resource does not exist.",
        ),
    }
}

const ROLES: [&str; 8] = [
    "all",
    "administrator",
    "editor",
    "author",
    "contributor",
    "subscriber",
    "customer",
    "shop_manager",
];

async fn list_customers(State(s): State<S>, Query(q): Q) -> Response {
    let role = q.get("role").map(String::as_str).unwrap_or("customer");
    if !ROLES.contains(&role) {
        return invalid_param("role", &format!("role is not one of {}.", ROLES.join(", ")));
    }
    let include = id_list(&q, "include");
    let exclude = id_list(&q, "exclude");
    let mut items: Vec<Value> = {
        let db = lock(&s);
        let mut out = Vec::new();
        for c in db.customers.values() {
            let id = c["id"].as_i64().unwrap_or(0);
            if role != "all" && c["role"] != role {
                continue;
            }
            if q.get("email")
                .is_some_and(|e| !c["email"].as_str().unwrap_or("").eq_ignore_ascii_case(e))
            {
                continue;
            }
            if include.as_ref().is_some_and(|l| !l.contains(&id))
                || exclude.as_ref().is_some_and(|l| l.contains(&id))
            {
                continue;
            }
            if !matches_search(c, &q, &["/email", "/first_name", "/last_name", "/username"]) {
                continue;
            }
            out.push(c.clone());
        }
        out
    };
    tryr!(sort(&mut items, &q, &CUSTOMER_ORDERBY, "name", "asc"));
    paged(&s, "/customers", &q, items)
}

async fn get_customer(State(s): State<S>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let db = lock(&s);
    match db.customers.get(&id) {
        Some(c) => Json(c.clone()).into_response(),
        None => wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_invalid_id",
            "Invalid resource ID.",
        ),
    }
}

fn customer_fields(c: &mut Value, body: &Value) -> Result<(), Response> {
    for k in ["first_name", "last_name", "username"] {
        if let Some(v) = body.get(k) {
            let Some(v) = v.as_str() else {
                return Err(invalid_param(k, &format!("{k} is not of type string.")));
            };
            c[k] = json!(v.trim());
        }
    }
    for k in ["billing", "shipping"] {
        if let Some(fields) = body.get(k) {
            let Some(fields) = fields.as_object() else {
                return Err(invalid_param(k, &format!("{k} is not of type object.")));
            };
            for (f, v) in fields {
                if c[k].get(f).is_some() && v.is_string() {
                    c[k][f] = v.clone();
                }
            }
        }
    }
    Ok(())
}

fn email_param(db: &Db, body: &Value, except: i64) -> Result<Option<String>, Response> {
    let Some(v) = body.get("email") else {
        return Ok(None);
    };
    let email = v.as_str().map(str::trim).unwrap_or("");
    let valid = email
        .split_once('@')
        .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !email.contains(' '));
    if !valid {
        return Err(wc_error(
            StatusCode::BAD_REQUEST,
            "registration-error-invalid-email",
            "Please provide a valid email address.",
        ));
    }
    if db.customers.values().any(|c| {
        c["id"].as_i64() != Some(except)
            && c["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
    }) {
        return Err(wc_error(
            StatusCode::BAD_REQUEST,
            "registration-error-email-exists",
            "An account is already registered with your email address. <a href=\"#\" class=\"showlogin\">Please log in.</a>",
        ));
    }
    Ok(Some(email.to_owned()))
}

/// `POST /customers` (docs/customers.md): `email` required and unique.
async fn create_customer(State(s): State<S>, body: Bytes) -> Response {
    let body = tryr!(json_body(&body));
    if body.get("email").is_none_or(Value::is_null) {
        return missing_param("email");
    }
    let mut db = lock(&s);
    let email = tryr!(email_param(&db, &body, 0)).unwrap_or_default();
    let now = db.now();
    let id = 1 + db.customers.keys().next_back().copied().unwrap_or(1);
    let mut c = db.new_customer(id, &email, "", "", now);
    tryr!(customer_fields(&mut c, &body));
    db.customers.insert(id, c.clone());
    hooks::emit(&s, &mut db, "customer.created", id);
    (StatusCode::CREATED, Json(c)).into_response()
}

async fn update_customer(State(s): State<S>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    let Some(mut c) = db.customers.get(&id).cloned() else {
        return wc_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_invalid_id",
            "Invalid resource ID.",
        );
    };
    if let Some(email) = tryr!(email_param(&db, &body, id)) {
        c["email"] = json!(email);
    }
    tryr!(customer_fields(&mut c, &body));
    let now = db.now();
    data::set_date(&mut c, "date_modified", now);
    db.customers.insert(id, c.clone());
    hooks::emit(&s, &mut db, "customer.updated", id);
    Json(c).into_response()
}

/// `POST /__sandbox/simulate`: the change in the data, then the webhooks of its topic.
fn simulate(s: &S, req: &Simulate) -> Result<String, SimulateError> {
    let id = match &req.id {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            SimulateError::NotFound(format!("no object with id {raw:?}: ids are numbers"))
        })?),
    };
    let mut db = lock(s);
    let (topic, made) = match req.event {
        EventType::OrderCreated => ("order.created", db.simulate_order_created()),
        EventType::OrderUpdated => ("order.updated", db.simulate_order_updated(id)),
        EventType::ProductCreated => ("product.created", db.simulate_product_created()),
        EventType::ProductUpdated => ("product.updated", db.simulate_product_updated(id)),
        EventType::ProductDeleted => ("product.deleted", db.simulate_product_deleted(id)),
        EventType::CustomerCreated => ("customer.created", db.simulate_customer_created()),
        EventType::CustomerUpdated => ("customer.updated", db.simulate_customer_updated(id)),
    };
    let Some(made) = made else {
        let what = req.event.as_str().split('.').next().unwrap_or("object");
        return Err(match id {
            Some(id) => SimulateError::NotFound(format!("no {what} {id}")),
            None => SimulateError::Nothing(if req.event.is_creation() {
                format!("the shop has nothing to make a new {what} from")
            } else {
                format!("the shop has no {what} to change")
            }),
        });
    };
    hooks::emit(s, &mut db, topic, made);
    Ok(made.to_string())
}

async fn system_status(State(s): State<S>) -> Json<Value> {
    let db = lock(&s);
    let tracking = s.tracking.load(Ordering::Relaxed);
    let mut plugins = vec![
        json!({"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": s.version(),
        "version_latest": WC_VERSION, "url": "https://woocommerce.com/", "author_name": "Automattic", "author_url": "https://woocommerce.com", "network_activated": false}),
    ];
    if tracking {
        plugins.push(json!({"plugin": "woocommerce-shipment-tracking/woocommerce-shipment-tracking.php", "name": "WooCommerce Shipment Tracking",
            "version": "2.6.0", "version_latest": "2.6.0", "url": "https://woocommerce.com/products/shipment-tracking/", "author_name": "WooCommerce",
            "author_url": "https://woocommerce.com", "network_activated": false}));
    }
    Json(json!({
        "environment": {
            "home_url": s.base_url, "site_url": s.base_url, "store_id": "", "version": s.version(),
            "log_directory": "/var/www/html/wp-content/uploads/wc-logs/", "log_directory_writable": true,
            "wp_version": "6.7.1", "wp_multisite": false, "wp_memory_limit": 268_435_456, "wp_debug_mode": false,
            "wp_cron": true, "language": "de_DE", "external_object_cache": null,
            "server_info": "nginx/1.26.2", "php_version": "8.2.26", "php_post_max_size": 67_108_864,
            "php_max_execution_time": 30, "php_max_input_vars": 1000, "curl_version": "8.5.0, OpenSSL/3.0.13",
            "suhosin_installed": false, "max_upload_size": 67_108_864, "mysql_version": "8.0.40",
            "mysql_version_string": "8.0.40", "default_timezone": "UTC", "fsockopen_or_curl_enabled": true,
            "soapclient_enabled": true, "domdocument_enabled": true, "gzip_enabled": true, "mbstring_enabled": true,
            "remote_post_successful": true, "remote_post_response": 200, "remote_get_successful": true, "remote_get_response": 200
        },
        "database": {"wc_database_version": s.version(), "database_prefix": "wp_", "database_tables": {}, "database_size": {"data": 4.2, "index": 1.1}},
        "active_plugins": plugins,
        "inactive_plugins": [],
        "dropins_mu_plugins": {"dropins": [], "mu_plugins": []},
        "theme": {"name": "Storefront", "version": "4.6.0", "version_latest": "4.6.0", "author_url": "https://woocommerce.com/",
            "is_child_theme": false, "has_woocommerce_support": true, "has_woocommerce_file": false, "has_outdated_templates": false,
            "overrides": [], "parent_name": "", "parent_version": "", "parent_version_latest": "", "parent_author_url": ""},
        "settings": {
            "api_enabled": true, "force_ssl": false, "currency": db.currency, "currency_symbol": "&euro;",
            "currency_position": "right_space", "thousand_separator": ".", "decimal_separator": ",", "number_of_decimals": 2,
            "geolocation_enabled": false,
            "taxonomies": {"external": "external", "grouped": "grouped", "simple": "simple", "variable": "variable"},
            "product_visibility_terms": {"exclude-from-catalog": "exclude-from-catalog", "exclude-from-search": "exclude-from-search",
                "featured": "featured", "outofstock": "outofstock"},
            "woocommerce_com_connected": "no"
        },
        "security": {"secure_connection": false, "hide_errors": true},
        "pages": [],
        "post_type_counts": [
            {"type": "product", "count": db.products.len()},
            {"type": "product_variation", "count": db.variations.len()},
            {"type": "shop_order", "count": db.orders.len()}
        ]
    }))
}

/// A setting's definition: `{id, label, description, type, default, options?, tip}`.
fn setting_def(
    id: &str,
    label: &str,
    desc: &str,
    kind: &str,
    default: &str,
    options: Option<Value>,
) -> Value {
    let mut v = json!({"id": id, "label": label, "description": desc, "type": kind, "default": default, "tip": desc});
    if let Some(o) = options {
        v["options"] = o;
    }
    v
}

/// The "general" settings group (the values in effect are added by [`settings`]).
fn general_defs(db: &Db) -> Vec<Value> {
    let select = |id, label, desc, default, options| {
        setting_def(id, label, desc, "select", default, Some(options))
    };
    let text = |id, label, desc, kind, default| setting_def(id, label, desc, kind, default, None);
    vec![
        text("woocommerce_store_address", "Address line 1", "The street address for your business location.", "text", ""),
        text("woocommerce_store_address_2", "Address line 2", "An additional, optional address line for your business location.", "text", ""),
        text("woocommerce_store_city", "City", "The city in which your business is located.", "text", ""),
        select("woocommerce_default_country", "Country / State", "The country and state or province, if any, in which your business is located.",
            "US:CA", json!({"DE:BE": "Germany — Berlin", "US:CA": "United States (US) — California", "GB": "United Kingdom (UK)"})),
        text("woocommerce_store_postcode", "Postcode / ZIP", "The postal code, if any, in which your business is located.", "text", ""),
        select("woocommerce_allowed_countries", "Selling location(s)", "This option lets you limit which countries you are willing to sell to.",
            "all", json!({"all": "Sell to all countries", "all_except": "Sell to all countries, except for…", "specific": "Sell to specific countries"})),
        select("woocommerce_calc_taxes", "Enable taxes", "Enable tax rates and calculations", "no", json!({"yes": "Yes", "no": "No"})),
        select("woocommerce_enable_coupons", "Enable coupons", "Enable the use of coupon codes", "yes", json!({"yes": "Yes", "no": "No"})),
        select("woocommerce_currency", "Currency", "This controls what currency prices are listed at in the catalog and which currency gateways will take payments in.",
            "USD", json!({"EUR": "Euro (&euro;)", "USD": "United States (US) dollar (&#36;)", "GBP": "Pound sterling (&pound;)", "JPY": "Japanese yen (&yen;)"})),
        select("woocommerce_currency_pos", "Currency position", "This controls the position of the currency symbol.", "left",
            json!({"left": "Left", "right": "Right", "left_space": "Left with space", "right_space": "Right with space"})),
        text("woocommerce_price_thousand_sep", "Thousand separator", "This sets the thousand separator of displayed prices.", "text", ","),
        text("woocommerce_price_decimal_sep", "Decimal separator", "This sets the decimal separator of displayed prices.", "text", "."),
        text("woocommerce_price_num_decimals", "Number of decimals", "This sets the number of decimal points shown in displayed prices.", "number", "2"),
    ]
    .into_iter()
    .map(|mut v| {
        // The shop's own values (Berlin, EUR, …).
        let value = match v["id"].as_str().unwrap_or_default() {
            "woocommerce_store_address" => "Friedrichstraße 43".to_owned(),
            "woocommerce_store_city" => "Berlin".to_owned(),
            "woocommerce_default_country" => "DE:BE".to_owned(),
            "woocommerce_store_postcode" => "10117".to_owned(),
            "woocommerce_calc_taxes" => "yes".to_owned(),
            "woocommerce_currency" => db.currency.clone(),
            "woocommerce_currency_pos" => "right_space".to_owned(),
            "woocommerce_price_thousand_sep" => ".".to_owned(),
            "woocommerce_price_decimal_sep" => ",".to_owned(),
            _ => v["default"].as_str().unwrap_or_default().to_owned(),
        };
        v["value"] = json!(value);
        v
    })
    .collect()
}

/// The "products" settings group's general section, where WooCommerce keeps the
/// measurement units (`woocommerce_weight_unit`, `woocommerce_dimension_unit`).
fn product_defs() -> Vec<Value> {
    let select = |id, label, desc, default, options| {
        setting_def(id, label, desc, "select", default, Some(options))
    };
    let check = |id, label, desc, default| setting_def(id, label, desc, "checkbox", default, None);
    vec![
        setting_def("woocommerce_shop_page_id", "Shop page", "This sets the base page of your shop - this is where your product archive will be.", "select", "",
            Some(json!({"5": "Shop"}))),
        check("woocommerce_cart_redirect_after_add", "Add to cart behaviour", "Redirect to the cart page after successful addition", "no"),
        check("woocommerce_enable_ajax_add_to_cart", "Add to cart behaviour", "Enable AJAX add to cart buttons on archives", "yes"),
        setting_def("woocommerce_placeholder_image", "Placeholder image", "This is the attachment ID, or image URL, used for placeholder images in the product catalog. Products with no image will use this.", "text", "", None),
        select("woocommerce_weight_unit", "Weight unit", "This controls what unit you will define weights in.", "kg",
            json!({"kg": "kg", "g": "g", "lbs": "lbs", "oz": "oz"})),
        select("woocommerce_dimension_unit", "Dimensions unit", "This controls what unit you will define lengths in.", "cm",
            json!({"m": "m", "cm": "cm", "mm": "mm", "in": "in", "yd": "yd"})),
        check("woocommerce_enable_reviews", "Enable reviews", "Enable product reviews", "yes"),
        check("woocommerce_enable_review_rating", "Product ratings", "Enable star rating on reviews", "yes"),
    ]
    .into_iter()
    .map(|mut v| {
        v["value"] = match v["id"].as_str().unwrap_or_default() {
            "woocommerce_shop_page_id" => json!("5"),
            _ => v["default"].clone(),
        };
        v
    })
    .collect()
}

/// A settings group with the values in effect (changes through the API included), each
/// setting with its `group_id` and links; `None` for a group not simulated.
fn settings(db: &Db, group: &str) -> Option<Vec<Value>> {
    let defs = match group {
        "general" => general_defs(db),
        "products" => product_defs(),
        _ => return None,
    };
    Some(
        defs.into_iter()
            .map(|mut v| {
                let id = v["id"].as_str().unwrap_or_default().to_owned();
                if let Some(changed) = db.settings.get(&id) {
                    v["value"] = json!(changed);
                }
                v["group_id"] = json!(group);
                v["_links"] = json!({
                    "self": [{"href": format!("{}/wp-json/wc/v3/settings/{group}/{id}", db.base)}],
                    "collection": [{"href": format!("{}/wp-json/wc/v3/settings/{group}", db.base)}],
                });
                v
            })
            .collect(),
    )
}

fn invalid_group() -> Response {
    wc_error(
        StatusCode::NOT_FOUND,
        "rest_setting_setting_group_invalid",
        "Invalid setting group.",
    )
}

fn invalid_setting() -> Response {
    wc_error(
        StatusCode::NOT_FOUND,
        "rest_setting_setting_invalid",
        "Invalid setting.",
    )
}

/// The "general" and "products" groups are simulated; other groups answer as unknown
/// ones do.
async fn settings_group(State(s): State<S>, Path(group): Path<String>) -> Response {
    match settings(&lock(&s), &group) {
        Some(list) => Json(list).into_response(),
        None => invalid_group(),
    }
}

async fn setting(State(s): State<S>, Path((group, id)): Path<(String, String)>) -> Response {
    let Some(list) = settings(&lock(&s), &group) else {
        return invalid_group();
    };
    match list.into_iter().find(|v| v["id"] == id.as_str()) {
        Some(v) => Json(v).into_response(),
        None => invalid_setting(),
    }
}

/// `PUT|POST|PATCH /settings/{group}/{id}` with `{"value": …}`: a select takes one of
/// its options, a checkbox `yes` or `no`, anything else a string; otherwise 400
/// `rest_setting_value_invalid`, as `WC_REST_Setting_Options_Controller` answers.
async fn update_setting(
    State(s): State<S>,
    Path((group, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    let Some(list) = settings(&db, &group) else {
        return invalid_group();
    };
    let Some(def) = list.into_iter().find(|v| v["id"] == id.as_str()) else {
        return invalid_setting();
    };
    let value = match body.get("value") {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return missing_param("value"),
    };
    let valid = match def["type"].as_str() {
        Some("select") => def["options"].get(&value).is_some(),
        Some("checkbox") => matches!(value.as_str(), "yes" | "no"),
        _ => true,
    };
    if !valid {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "rest_setting_value_invalid",
            "An invalid setting value was passed.",
        );
    }
    if id == "woocommerce_currency" {
        db.currency = value.clone();
    }
    db.settings.insert(id.clone(), value);
    let updated = settings(&db, &group)
        .and_then(|l| l.into_iter().find(|v| v["id"] == id.as_str()))
        .unwrap_or(def);
    Json(updated).into_response()
}

/// `GET /data/currencies/current` (docs/data.md): the store currency.
async fn current_currency(State(s): State<S>) -> Json<Value> {
    let db = lock(&s);
    Json(
        json!({"code": db.currency, "name": "Euro", "symbol": "&euro;",
        "_links": {"collection": [{"href": format!("{}/wp-json/wc/v3/data/currencies", s.base_url)}]}}),
    )
}

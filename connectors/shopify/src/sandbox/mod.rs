//! A local simulator of Shopify's GraphQL Admin API (2026-10): a real GraphQL endpoint
//! (async-graphql) serving the part of the Admin schema the connector uses, with
//! Shopify's own type, field, argument and enum names, global ids
//! (`gid://shopify/Order/123`), connections with `pageInfo`, the `query:` search syntax
//! for the filters used (see `search`), query cost with `throttleStatus`, `THROTTLED`
//! errors when the bucket is empty (switchable), `userErrors` on mutations, and the
//! shared fault injection. Data is seeded deterministically (see `data`).
//!
//! # Served
//!
//! * `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`, body
//!   `{"query", "variables"?, "operationName"?}`. Any `YYYY-MM` version (or `unstable`)
//!   is answered, with one schema: 2026-10's, the connector's default (and whatever
//!   version a gateway is configured with is served at its path). `X-Shopify-API-Version`
//!   names the version asked for, or [`OLDEST_SUPPORTED`] for an older one, as Shopify
//!   falls forward from a version it no longer supports. The rules of 2026-04 and later
//!   apply at every path: the inventory mutations need an `@idempotent(key:)` directive
//!   (without one the field answers a GraphQL error; a repeated key with the same input
//!   answers the first outcome again without applying twice, with another input
//!   `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`) and a `changeFromQuantity` per change (`null`
//!   skips the check; a value that is not the current quantity is
//!   `CHANGE_FROM_QUANTITY_STALE`); `compareQuantity`/`ignoreCompareQuantity` are gone;
//!   a location not stocking an item starts stocking it (2026-10 dropped
//!   `ITEM_NOT_STOCKED_AT_LOCATION`); `displayFulfillmentStatus` answers
//!   `FULFILLMENT_NOT_REQUIRED` for an order with nothing shipped and nothing left to
//!   ship. `GET /__sandbox/api-versions` counts the requests per version asked for
//!   (`{"requested": {"2026-10": 12}}`). A missing or wrong token
//!   answers 401 `{"errors": "[API] Invalid API key or access token (unrecognized login
//!   or wrong password)"}`; a body without `query` 400 `{"errors": {"query": "Required
//!   parameter missing or invalid"}}`. Other paths answer 404 `{"errors": "Not Found"}`.
//! * GraphQL errors and `userErrors` come with HTTP 200, as on Shopify.
//!
//! # Cost and throttling
//!
//! Every answer carries `extensions.cost {requestedQueryCost, actualQueryCost,
//! throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}}`, computed by
//! [`crate::cost`]. A query whose requested cost exceeds 1000 answers
//! `MAX_COST_EXCEEDED`. With rate limits on (`SandboxOptions::rate_limits`), each access
//! token has a leaky bucket (default: Shopify's Standard plan, 2000 points restoring at
//! 100/s): a query needs its requested cost available, is charged it, and is refunded
//! the difference to the actual cost after running; a query that does not fit answers
//! HTTP 200 `{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
//! …}}]}` and is charged nothing. With rate limits off the bucket reads full and reports
//! a restore rate of 1 000 000 points/s, so paced clients never wait on it.
//!
//! # Control routes
//!
//! Besides the shared `/__sandbox/faults` and `/__sandbox/stats`
//! (see [`cartgate_connector::sandbox`]): `GET|PUT /__sandbox/throttle`
//! `{"enabled": bool, "maximum_available": f64, "restore_rate": f64}` (keys optional on
//! PUT); a PUT refills every bucket. `GET|PUT /__sandbox/access` `{"read_only": bool}`
//! leaves the access token only `read_*` scopes: every mutation then answers HTTP 200 with
//! `ACCESS_DENIED` for its first field (`requiredAccess` naming the write scope) and
//! `data: {field: null}`, as Shopify answers a token missing a scope; webhook
//! subscriptions, which need read scopes only, still work.

//!
//! # Webhooks and simulated changes
//!
//! `webhookSubscriptionCreate(topic:, webhookSubscription: {callbackUrl, format: JSON})`,
//! `webhookSubscriptionDelete(id:)` and `webhookSubscriptions(…, callbackUrl:, topics:)`
//! are served for the topics `ORDERS_CREATE`, `ORDERS_UPDATED`, `PRODUCTS_CREATE`,
//! `PRODUCTS_UPDATE`, `PRODUCTS_DELETE`, `CUSTOMERS_CREATE` and `CUSTOMERS_UPDATE`, with
//! Shopify's `userErrors` (blank or invalid address, the same topic and address twice,
//! an unknown subscription). Unlike Shopify, http:// addresses are accepted, so a local
//! receiver can subscribe. Subscribed changes are sent as [`hooks`] describes:
//! `fulfillmentCreate` is an `orders/updated`; `productCreate` a `products/create`;
//! `productUpdate`, `productVariantsBulkUpdate` and the inventory mutations a
//! `products/update`; and `POST /__sandbox/simulate` (see
//! [`cartgate_connector::sandbox`]) the topic of its event. The banner's credentials
//! carry the app's `api_secret_key`, which signs them. `GET /__sandbox/outbox` counts what
//! was sent.

#![allow(clippy::result_large_err)]

mod data;
pub mod hooks;
mod schema;
pub mod search;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cartgate_connector::sandbox::{
    router_with_faults, serve, simulate_router, CannedResponse, FaultResponses, Faults,
    SandboxBanner, SandboxHandle, SandboxOptions, Simulate, SimulateError, WebhookOutbox,
};
use cartgate_connector::webhook::EventType;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cost::{Costed, MAX_QUERY_COST};
pub use data::SHOP_DOMAIN;

/// The bucket of Shopify's Standard plan as documented for 2025-01 (100 points/s; a
/// bucket of 20 seconds' worth).
pub const STANDARD_BUCKET: f64 = 2000.0;
pub const STANDARD_RESTORE_RATE: f64 = 100.0;

/// The restore rate reported while throttling is off.
pub const UNLIMITED_RESTORE_RATE: f64 = 1_000_000.0;

/// The simulated cost bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThrottleConfig {
    /// Throttle at all (from `SandboxOptions::rate_limits` by default).
    pub enabled: bool,
    pub maximum_available: f64,
    pub restore_rate: f64,
}

impl ThrottleConfig {
    pub fn standard(enabled: bool) -> Self {
        ThrottleConfig {
            enabled,
            maximum_available: STANDARD_BUCKET,
            restore_rate: STANDARD_RESTORE_RATE,
        }
    }
}

struct Bucket {
    available: f64,
    at: Instant,
}

struct Throttle {
    config: ThrottleConfig,
    buckets: HashMap<String, Bucket>,
    /// `(requestedQueryCost, actualQueryCost)` of every executed query since the last
    /// `PUT /__sandbox/throttle`, so a test can compute what the bucket allowed.
    charges: Vec<(u64, u64)>,
    /// `THROTTLED` answers since the last `PUT`.
    throttled: u64,
}

impl Throttle {
    fn bucket(&mut self, token: &str) -> &mut Bucket {
        let cfg = self.config;
        let b = self.buckets.entry(token.to_owned()).or_insert(Bucket {
            available: cfg.maximum_available,
            at: Instant::now(),
        });
        let now = Instant::now();
        b.available = (b.available + now.duration_since(b.at).as_secs_f64() * cfg.restore_rate)
            .min(cfg.maximum_available);
        b.at = now;
        if !cfg.enabled {
            b.available = cfg.maximum_available;
        }
        b
    }

    /// With throttling off the bucket does not bind: it reads full and restores at
    /// [`UNLIMITED_RESTORE_RATE`], so a paced client never waits on it.
    fn status(&mut self, token: &str) -> Value {
        let cfg = self.config;
        let available = self.bucket(token).available;
        let rate = if cfg.enabled {
            cfg.restore_rate
        } else {
            UNLIMITED_RESTORE_RATE
        };
        json!({
            "maximumAvailable": cfg.maximum_available,
            "currentlyAvailable": available.floor().max(0.0),
            "restoreRate": rate,
        })
    }
}

struct Sandbox {
    schema: schema::SandboxSchema,
    token: String,
    throttle: Mutex<Throttle>,
    /// The token has read scopes only.
    read_only: std::sync::atomic::AtomicBool,
    /// Requests per API version asked for.
    versions: Mutex<std::collections::BTreeMap<String, u64>>,
}

/// The oldest version Shopify still serves on the sandbox's date (2026-11): older ones
/// fall forward to it.
pub const OLDEST_SUPPORTED: &str = "2026-01";

type S = Arc<Sandbox>;

fn fault_responses() -> FaultResponses {
    let default = FaultResponses::default();
    let proxy_page = default.server_error.clone();
    FaultResponses {
        server_error: Arc::new(move |status| {
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                CannedResponse::json(json!({"errors": "Internal Server Error"}))
            } else {
                proxy_page(status)
            }
        }),
        rate_limited: CannedResponse::json(json!({
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
        })),
    }
}

/// Starts the sandbox with Shopify's Standard bucket (throttling when
/// `opts.rate_limits`).
pub async fn start(
    listener: tokio::net::TcpListener,
    opts: SandboxOptions,
) -> std::io::Result<SandboxHandle> {
    let throttle = ThrottleConfig::standard(opts.rate_limits);
    start_with(listener, opts, throttle).await
}

/// Starts the sandbox with a given cost bucket (e.g. a small one for fast tests).
pub async fn start_with(
    listener: tokio::net::TcpListener,
    opts: SandboxOptions,
    throttle: ThrottleConfig,
) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let db = data::Db::seed(&opts);
    let token = db.access_token.clone();
    let api_secret_key = db.api_secret_key.clone();
    let db = Arc::new(Mutex::new(db));
    let hooks = Arc::new(hooks::Hooks::new(WebhookOutbox::start(), opts.seed));
    let state = Arc::new(Sandbox {
        schema: schema::build(db.clone(), Some(hooks.clone())),
        token: token.clone(),
        throttle: Mutex::new(Throttle {
            config: throttle,
            buckets: HashMap::new(),
            charges: Vec::new(),
            throttled: 0,
        }),
        read_only: std::sync::atomic::AtomicBool::new(false),
        versions: Mutex::new(Default::default()),
    });
    let api = Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .fallback(not_found)
        .with_state(state.clone());
    let faults = Faults::from_options(&opts).with_responses(fault_responses());
    let control = Router::new()
        .route("/__sandbox/throttle", get(get_throttle).put(set_throttle))
        .route("/__sandbox/access", get(get_access).put(set_access))
        .route("/__sandbox/api-versions", get(get_versions))
        .with_state(state);
    let outbox = hooks.outbox.router();
    let app = router_with_faults(api, faults)
        .merge(control)
        .merge(simulate_router(Arc::new(move |req: &Simulate| {
            simulate(&db, &hooks, req)
        })))
        .merge(outbox);
    let banner = SandboxBanner {
        platform: "shopify".into(),
        base_url: base_url.clone(),
        credentials: json!({
            "shop": SHOP_DOMAIN,
            "access_token": token,
            "api_secret_key": api_secret_key,
            "endpoint": base_url,
        }),
    };
    Ok(serve(listener, app, banner).await)
}

/// The sandbox's schema in SDL (for the test that checks it against Shopify's).
pub fn schema_sdl() -> String {
    schema::build(
        Arc::new(Mutex::new(data::Db::seed(&SandboxOptions {
            orders: 0,
            products: 0,
            customers: 0,
            ..Default::default()
        }))),
        None,
    )
    .sdl()
}

/// `n` seeded orders as the order nodes the connector maps (the `CartgateOrder`
/// selection), for benches and tests. Runs the sandbox's schema in-process.
pub fn seeded_order_nodes(seed: u64, n: usize) -> Vec<Value> {
    let opts = SandboxOptions {
        seed,
        orders: n,
        ..Default::default()
    };
    let schema = schema::build(Arc::new(Mutex::new(data::Db::seed(&opts))), None);
    let mut out = Vec::with_capacity(n);
    let mut after: Option<String> = None;
    loop {
        let vars = json!({
            "first": 250, "after": after, "query": null, "lineItems": 50, "fulfillments": 20,
            "shippingLines": 5, "transactions": 20, "refunds": 5, "refundLines": 20,
        });
        let req = async_graphql::Request::new(crate::queries::ORDERS)
            .variables(async_graphql::Variables::from_json(vars));
        let resp = futures::executor::block_on(schema.execute(req));
        let data = resp.data.into_json().unwrap_or(Value::Null);
        let conn = &data["orders"];
        if let Some(nodes) = conn["nodes"].as_array() {
            out.extend(nodes.iter().cloned());
        }
        match conn["pageInfo"]["endCursor"].as_str() {
            Some(c) if conn["pageInfo"]["hasNextPage"] == json!(true) => after = Some(c.to_owned()),
            _ => return out,
        }
    }
}

/// `POST /__sandbox/simulate`: the change in the data, then the webhook of its topic.
fn simulate(
    db: &Mutex<data::Db>,
    hooks: &hooks::Hooks,
    req: &Simulate,
) -> Result<String, SimulateError> {
    use data::Topic;
    let id = match &req.id {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
            SimulateError::NotFound(format!("no object with id {raw:?}: ids are numbers"))
        })?),
    };
    let mut d = db.lock().unwrap_or_else(|e| e.into_inner());
    let (topic, made) = match req.event {
        EventType::OrderCreated => (Topic::OrdersCreate, d.simulate_order_created()),
        EventType::OrderUpdated => (Topic::OrdersUpdated, d.simulate_order_updated(id)),
        EventType::ProductCreated => (Topic::ProductsCreate, d.simulate_product_created()),
        EventType::ProductUpdated => (Topic::ProductsUpdate, d.simulate_product_updated(id)),
        EventType::ProductDeleted => (Topic::ProductsDelete, d.simulate_product_deleted(id)),
        EventType::CustomerCreated => (Topic::CustomersCreate, d.simulate_customer_created()),
        EventType::CustomerUpdated => (Topic::CustomersUpdate, d.simulate_customer_updated(id)),
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
    let at = d.clock();
    hooks::emit(hooks, &d, topic, made, at);
    Ok(made.to_string())
}

fn shopify_error(status: StatusCode, errors: Value) -> Response {
    (status, Json(json!({ "errors": errors }))).into_response()
}

async fn not_found() -> Response {
    shopify_error(StatusCode::NOT_FOUND, json!("Not Found"))
}

/// The bucket's settings plus what it charged since the last `PUT`:
/// `{enabled, maximum_available, restore_rate, charges: [[requested, actual], ...], throttled}`.
async fn get_throttle(State(s): State<S>) -> Json<Value> {
    let t = s.throttle.lock().unwrap_or_else(|e| e.into_inner());
    let mut v = serde_json::to_value(t.config).unwrap_or_else(|_| json!({}));
    v["charges"] = json!(t.charges);
    v["throttled"] = json!(t.throttled);
    Json(v)
}

async fn set_throttle(State(s): State<S>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "expected a JSON object"})),
            )
                .into_response()
        }
    };
    let mut t = s.throttle.lock().unwrap_or_else(|e| e.into_inner());
    let mut cfg = t.config;
    if let Some(b) = patch.get("enabled").and_then(Value::as_bool) {
        cfg.enabled = b;
    }
    for (key, slot) in [
        ("maximum_available", &mut cfg.maximum_available),
        ("restore_rate", &mut cfg.restore_rate),
    ] {
        if let Some(v) = patch.get(key) {
            match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => *slot = x,
                _ => {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": format!("{key} must be a positive number")})),
                    )
                        .into_response()
                }
            }
        }
    }
    t.config = cfg;
    t.buckets.clear();
    t.charges.clear();
    t.throttled = 0;
    Json(cfg).into_response()
}

async fn get_versions(State(s): State<S>) -> Json<Value> {
    let v = s.versions.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({ "requested": *v }))
}

/// The version that answers a request for `asked`.
fn served(asked: &str) -> String {
    if asked != "unstable" && asked < OLDEST_SUPPORTED {
        OLDEST_SUPPORTED.to_owned()
    } else {
        asked.to_owned()
    }
}

async fn get_access(State(s): State<S>) -> Json<Value> {
    use std::sync::atomic::Ordering;
    Json(json!({"read_only": s.read_only.load(Ordering::Relaxed)}))
}

async fn set_access(State(s): State<S>, Json(body): Json<Value>) -> Response {
    use std::sync::atomic::Ordering;
    match body.get("read_only").and_then(Value::as_bool) {
        Some(on) => {
            s.read_only.store(on, Ordering::Relaxed);
            get_access(State(s)).await.into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "read_only must be a boolean"})),
        )
            .into_response(),
    }
}

/// The write scope a mutation field needs (`requiredAccess` of Shopify's ACCESS_DENIED).
fn write_scope(field: &str) -> &'static str {
    if field.starts_with("inventory") {
        "`write_inventory` access scope."
    } else if field.starts_with("fulfillment") {
        "`write_merchant_managed_fulfillment_orders` access scope."
    } else if field.starts_with("customer") {
        "`write_customers` access scope."
    } else if field.starts_with("order") {
        "`write_orders` access scope."
    } else {
        "`write_products` access scope."
    }
}

fn valid_version(v: &str) -> bool {
    v == "unstable"
        || (v.len() == 7
            && v.as_bytes()[4] == b'-'
            && v[..4].bytes().all(|b| b.is_ascii_digit())
            && v[5..].bytes().all(|b| b.is_ascii_digit()))
}

async fn graphql(
    State(s): State<S>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !valid_version(&version) {
        return shopify_error(StatusCode::NOT_FOUND, json!("Not Found"));
    }
    *s.versions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(version.clone())
        .or_default() += 1;
    let version = served(&version);
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if token.is_empty() || token != s.token {
        return shopify_error(
            StatusCode::UNAUTHORIZED,
            json!("[API] Invalid API key or access token (unrecognized login or wrong password)"),
        );
    }
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(query) = req
        .get("query")
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
    else {
        return shopify_error(
            StatusCode::BAD_REQUEST,
            json!({"query": "Required parameter missing or invalid"}),
        );
    };
    let op = req.get("operationName").and_then(Value::as_str);
    let vars = match req.get("variables") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return shopify_error(
                StatusCode::BAD_REQUEST,
                json!({"variables": "must be a JSON object"}),
            )
        }
    };
    let costed = Costed::parse(query, op).ok();
    if s.read_only.load(std::sync::atomic::Ordering::Relaxed) {
        // Subscribing to webhooks needs the topics' read scopes only.
        if let Some(field) = costed.as_ref().and_then(|c| {
            c.mutation_fields()
                .into_iter()
                .find(|f| !f.starts_with("webhookSubscription"))
        }) {
            let required = write_scope(field);
            return answer(
                &version,
                json!({
                    "errors": [{
                        "message": format!("Access denied for {field} field. Required access: {required}"),
                        "path": [field],
                        "extensions": {
                            "code": "ACCESS_DENIED",
                            "documentation": "https://shopify.dev/api/usage/access-scopes",
                            "requiredAccess": required
                        }
                    }],
                    "data": {field: null}
                }),
            );
        }
    }
    let requested = costed
        .as_ref()
        .and_then(|c| c.requested(&vars))
        .unwrap_or(0);

    // Cost checks come before execution.
    if requested > MAX_QUERY_COST {
        let status = s
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .status(token);
        return answer(
            &version,
            json!({
                "errors": [{
                    "message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"),
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST, "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}
                }],
                "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status}}
            }),
        );
    }
    {
        let mut t = s.throttle.lock().unwrap_or_else(|e| e.into_inner());
        let enabled = t.config.enabled;
        let b = t.bucket(token);
        if enabled && (requested as f64) > b.available {
            t.throttled += 1;
            let status = t.status(token);
            return answer(
                &version,
                json!({
                    "errors": [{
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}
                    }],
                    "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status}}
                }),
            );
        }
        b.available -= requested as f64;
    }

    let mut gql = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(vars.clone()));
    if let Some(op) = op {
        gql = gql.operation_name(op);
    }
    let resp = s.schema.execute(gql).await;
    let mut out = serde_json::to_value(&resp).unwrap_or_else(|_| json!({}));
    let data = out.get("data").cloned().unwrap_or(Value::Null);
    let actual = match (&costed, resp.errors.is_empty() || !data.is_null()) {
        (Some(c), true) => c.actual(&vars, &data).unwrap_or(requested).min(requested),
        _ => 0,
    };
    let status = {
        let mut t = s.throttle.lock().unwrap_or_else(|e| e.into_inner());
        let max = t.config.maximum_available;
        let b = t.bucket(token);
        b.available = (b.available + (requested - actual) as f64).min(max);
        t.charges.push((requested, actual));
        t.status(token)
    };
    if let Some(obj) = out.as_object_mut() {
        if obj.get("data").is_some_and(Value::is_null) && obj.contains_key("errors") {
            obj.remove("data");
        }
        obj.insert(
            "extensions".into(),
            json!({"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}),
        );
    }
    answer(&version, out)
}

fn answer(version: &str, body: Value) -> Response {
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(version) {
        resp.headers_mut().insert("x-shopify-api-version", v);
    }
    resp
}

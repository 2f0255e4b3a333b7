//! A local simulator of the Magento 2.4 REST API (/V1), faithful to the documented paths,
//! `searchCriteria` semantics, auth schemes and error bodies
//! (../shared/platform-specs/magento, admin-schema-2.4.9.yaml). Data is seeded
//! deterministically (see `data`).
//!
//! # Served
//!
//! Every route under `/rest/{store_code}/V1/…` (store codes `default`, `de` and the admin
//! scope `all`) and `/rest/V1/…` (Magento's alias of the default store view):
//!
//! * `POST integration/admin/token` (public: admin user name and password → token)
//! * `GET orders` (search), `GET orders/{id}`, `POST order/{orderId}/ship`,
//!   `GET shipments`, `GET creditmemos`, `GET invoices` (searches)
//! * `GET products` (search), `POST products`, `GET|PUT products/{sku}`,
//!   `GET products/attributes/{attributeCode}` (code or id),
//!   `GET configurable-products/{sku}/children`, `GET configurable-products/{sku}/options/all`,
//!   `GET stockItems/{productSku}`, `PUT products/{productSku}/stockItems/{itemId}`
//! * MSI, while switched on: `GET inventory/sources`, `GET|POST inventory/source-items`
//!   (three sources: `default`, `berlin`, and the disabled `outlet_paris`; saving a source
//!   item of an unknown source answers 400 `Could not save Source Item`; the default
//!   source keeps the legacy stock item in step, as Magento does)
//! * `GET customers/search`, `GET customers/{customerId}`
//! * `GET categories/list`, `GET categories/{categoryId}`
//! * `GET store/storeConfigs` (`weight_unit` `lbs` for `default`, `kgs` for `de`),
//!   `store/storeViews`, `store/storeGroups`, `store/websites`
//!
//! Unknown routes (and known paths with another method) answer 404
//! `{"message": "Request does not match any route."}`, as Magento does. Errors are
//! Magento's `{message, parameters}` bodies.
//!
//! # Authentication
//!
//! * OAuth 1.0a (HMAC-SHA256), checked for real: consumer key and token, timestamp,
//!   nonce not used before (as Magento records them), and the signature recomputed from the
//!   request as Magento does (query parameters decoded with `rawurldecode`, so a `+` stays
//!   a plus) and compared in constant time.
//! * `Authorization: Bearer` with the integration's access token (Magento's "Allow OAuth
//!   Access Tokens to be used as standalone Bearer tokens", on by default here), or with an
//!   admin token from `POST integration/admin/token`, which expires (default 4 hours).
//!
//! Failures answer 401 `The consumer isn't authorized to access %resources.`.
//!
//! # searchCriteria
//!
//! `filter_groups` (AND) of `filters` (OR) with `field`, `value`, `condition_type` (eq,
//! neq, gt, gteq, lt, lteq, like, nlike, in, nin, null, notnull, finset, from, to);
//! `sortOrders`; `pageSize` (at most 300) and `currentPage`. Both the snake_case and the
//! camelCase spellings are read, as Magento does. A `currentPage` past the last page
//! answers the last page again, with the same `total_count`: clients must stop by
//! `total_count`.
//!
//! # Control routes
//!
//! Besides the shared `/__sandbox/faults` and `/__sandbox/stats`
//! (see [`cartgate_connector::sandbox`]): `GET|PUT /__sandbox/settings`
//! `{"msi": bool, "bearer_integration_tokens": bool, "admin_token_lifetime_seconds": n}`;
//! `GET` also shows the admin user and password, and how many admin tokens were issued.
//! The admin token lifetime can also be set at start with the environment variable
//! `CARTGATE_SANDBOX_MAGENTO_ADMIN_TOKEN_SECONDS` (default 14400, Magento's 4 hours).
//!
//! # Simulated changes
//!
//! `POST /__sandbox/simulate` (see [`cartgate_connector::sandbox`]) changes the data only:
//! Magento core sends no webhooks. `order.created` copies the newest `new`/`pending` order
//! with fresh ids; `order.updated` adds an admin comment to its status history; products
//! are created, renamed or deleted (a configurable one with its children); customers are
//! created or renamed. `updated_at` (and `created_at` of new objects) is the sandbox clock,
//! so `updated_at` searchCriteria see the change.
//!
//! # Rate limits
//!
//! Magento core has none. With `SandboxOptions::rate_limits` the sandbox simulates a
//! per-credential token bucket (10 requests/s, burst 20) answering 429 with `Retry-After`,
//! as hosts and WAFs in front of stores do.

// Helpers answer early with the platform's error response; the sandbox is not a hot path.
#![allow(clippy::result_large_err)]

mod data;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use cartgate_connector::sandbox::{
    random_hex, retry_after_secs, router_with_faults, seeded_rng, serve, simulate_router,
    CannedResponse, FaultResponses, Faults, SandboxBanner, SandboxHandle, SandboxOptions, Simulate,
    SimulateError, TokenBucket,
};
use cartgate_connector::webhook::EventType;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use crate::oauth;
use data::{date, minor_of, num, Db};

/// N raw orders as the sandbox seeds them (`GET /V1/orders/{id}` bodies), for benches and
/// fixtures: deterministic for a seed.
pub fn seeded_orders(n: usize, seed: u64) -> Vec<Value> {
    let opts = SandboxOptions {
        seed,
        orders: n,
        ..Default::default()
    };
    Db::seed(&opts).orders.into_values().collect()
}

/// Magento's default admin token lifetime: 4 hours.
const DEFAULT_ADMIN_TOKEN_LIFETIME: Duration = Duration::from_secs(4 * 3600);
/// Largest pageSize (Magento 2.4.7's default input limit).
const MAX_PAGE_SIZE: usize = 300;
/// How far in the future an OAuth timestamp may be (Magento's TIME_DEVIATION).
const TIME_DEVIATION: i64 = 600;

struct Sandbox {
    db: Mutex<Db>,
    base_url: String,
    msi: AtomicBool,
    bearer_integration: AtomicBool,
    admin_lifetime_secs: AtomicU64,
    admin_tokens: Mutex<HashMap<String, Instant>>,
    tokens_issued: AtomicU64,
    nonces: Mutex<HashSet<String>>,
    limiter: Option<TokenBucket>,
    token_rng: Mutex<rand::rngs::StdRng>,
}

type S = Arc<Sandbox>;

/// Magento's error body.
fn mg_error(status: StatusCode, message: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({ "message": message });
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (status, Json(body)).into_response()
}

fn no_route() -> Response {
    mg_error(
        StatusCode::NOT_FOUND,
        "Request does not match any route.",
        None,
    )
}

fn bad_request(message: &str, parameters: Option<Value>) -> Response {
    mg_error(StatusCode::BAD_REQUEST, message, parameters)
}

/// How Magento hosts fail: Magento's own "Internal Error" JSON for 500, the proxy's pages
/// for 502/503/504.
fn fault_responses() -> FaultResponses {
    let default = FaultResponses::default();
    let proxy_page = default.server_error.clone();
    FaultResponses {
        server_error: Arc::new(move |status| {
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                CannedResponse::json(json!({
                    "message": "Internal Error. Details are available in Magento log file. Report ID: webapi-6655f3c1a1b2c"
                }))
            } else {
                proxy_page(status)
            }
        }),
        rate_limited: CannedResponse::json(
            json!({"message": "Too many requests. Try again later."}),
        ),
    }
}

pub async fn start(
    listener: tokio::net::TcpListener,
    opts: SandboxOptions,
) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let db = Db::seed(&opts);
    let credentials = json!({
        "url": base_url,
        "consumer_key": db.consumer_key,
        "consumer_secret": db.consumer_secret,
        "access_token": db.access_token,
        "access_token_secret": db.access_token_secret,
    });
    let state = Arc::new(Sandbox {
        db: Mutex::new(db),
        base_url: base_url.clone(),
        msi: AtomicBool::new(true),
        bearer_integration: AtomicBool::new(true),
        admin_lifetime_secs: AtomicU64::new(
            std::env::var("CARTGATE_SANDBOX_MAGENTO_ADMIN_TOKEN_SECONDS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(DEFAULT_ADMIN_TOKEN_LIFETIME.as_secs()),
        ),
        admin_tokens: Mutex::new(HashMap::new()),
        tokens_issued: AtomicU64::new(0),
        nonces: Mutex::new(HashSet::new()),
        limiter: opts.rate_limits.then(|| TokenBucket::new(10.0, 20)),
        token_rng: Mutex::new(seeded_rng(opts.seed, "admin-tokens")),
    });
    let api = Router::new().fallback(dispatch).with_state(state.clone());
    let faults = Faults::from_options(&opts).with_responses(fault_responses());
    let control = Router::new()
        .route("/__sandbox/settings", get(get_settings).put(put_settings))
        .with_state(state.clone());
    let simulated = state.clone();
    let app = router_with_faults(api, faults)
        .merge(control)
        .merge(simulate_router(Arc::new(move |req: &Simulate| {
            simulate(&simulated, req)
        })));
    let banner = SandboxBanner {
        platform: "magento".into(),
        base_url,
        credentials,
    };
    Ok(serve(listener, app, banner).await)
}

fn settings(s: &Sandbox) -> Value {
    let db = lock(s);
    json!({
        "msi": s.msi.load(Ordering::Relaxed),
        "bearer_integration_tokens": s.bearer_integration.load(Ordering::Relaxed),
        "admin_token_lifetime_seconds": s.admin_lifetime_secs.load(Ordering::Relaxed),
        "admin_tokens_issued": s.tokens_issued.load(Ordering::Relaxed),
        "admin": {"username": db.admin_username, "password": db.admin_password},
    })
}

async fn get_settings(State(s): State<S>) -> Json<Value> {
    Json(settings(&s))
}

async fn put_settings(State(s): State<S>, Json(body): Json<Value>) -> Json<Value> {
    if let Some(on) = body.get("msi").and_then(Value::as_bool) {
        s.msi.store(on, Ordering::Relaxed);
    }
    if let Some(on) = body
        .get("bearer_integration_tokens")
        .and_then(Value::as_bool)
    {
        s.bearer_integration.store(on, Ordering::Relaxed);
    }
    if let Some(secs) = body
        .get("admin_token_lifetime_seconds")
        .and_then(Value::as_u64)
    {
        s.admin_lifetime_secs.store(secs, Ordering::Relaxed);
    }
    Json(settings(&s))
}

/// `POST /__sandbox/simulate`: Magento has no webhooks, so the change is only made in the
/// data (with `updated_at` on the sandbox clock, for updated-since polling).
fn simulate(s: &Sandbox, req: &Simulate) -> Result<String, SimulateError> {
    let id = match &req.id {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            SimulateError::NotFound(format!("no object with id {raw:?}: ids are numbers"))
        })?),
    };
    let mut db = lock(s);
    let made = match req.event {
        EventType::OrderCreated => db.simulate_order_created(),
        EventType::OrderUpdated => db.simulate_order_updated(id),
        EventType::ProductCreated => db.simulate_product_created(),
        EventType::ProductUpdated => db.simulate_product_updated(id),
        EventType::ProductDeleted => db.simulate_product_deleted(id),
        EventType::CustomerCreated => db.simulate_customer_created(),
        EventType::CustomerUpdated => db.simulate_customer_updated(id),
    };
    made.map(|id| id.to_string()).ok_or_else(|| {
        let what = req.event.as_str().split('.').next().unwrap_or("object");
        match id {
            Some(id) => SimulateError::NotFound(format!("no {what} {id}")),
            None => SimulateError::Nothing(if req.event.is_creation() {
                format!("the shop has nothing to make a new {what} from")
            } else {
                format!("the shop has no {what} to change")
            }),
        }
    })
}

fn lock(s: &Sandbox) -> std::sync::MutexGuard<'_, Db> {
    // Handlers never panic while holding the lock; recover from poisoning anyway.
    s.db.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// Routing and authentication
// ---------------------------------------------------------------------------------------

/// Store view ids by code (`all` is the admin scope, store 0).
fn store_id(code: &str) -> Option<i64> {
    match code {
        "default" => Some(1),
        "de" => Some(2),
        "all" => Some(0),
        _ => None,
    }
}

/// One API request, routed.
struct Call<'a> {
    method: &'a Method,
    /// The path segments after `/V1/`, percent-decoded.
    seg: Vec<String>,
    query: Vec<(String, String)>,
    body: &'a Bytes,
}

async fn dispatch(
    State(s): State<S>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/rest/") else {
        return no_route();
    };
    let (code, v1) = match rest.strip_prefix("V1/") {
        Some(v1) => ("default", v1),
        None => match rest.split_once("/V1/") {
            Some((code, v1)) => (code, v1),
            None => return no_route(),
        },
    };
    if store_id(code).is_none() {
        return mg_error(
            StatusCode::BAD_REQUEST,
            "The store that was requested wasn't found. Verify the store and try again.",
            None,
        );
    }
    let seg: Vec<String> = v1
        .split('/')
        .filter(|x| !x.is_empty())
        .map(|x| percent_decode_str(x).decode_utf8_lossy().into_owned())
        .collect();
    let raw_query = uri.query().unwrap_or("");
    let call = Call {
        method: &method,
        seg,
        query: php_query(raw_query),
        body: &body,
    };
    let Some(route) = route(&s, &call) else {
        return no_route();
    };
    if route != Route::AdminToken {
        if let Err(r) = authenticate(&s, &method, &uri, &headers, route) {
            return r;
        }
    }
    handle(&s, route, &call)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    AdminToken,
    Orders,
    Order,
    Ship,
    Shipments,
    CreditMemos,
    Invoices,
    Products,
    ProductCreate,
    Product,
    ProductPut,
    Attribute,
    Children,
    Options,
    StockItem,
    StockItemPut,
    Sources,
    SourceItems,
    SourceItemsPost,
    CustomersSearch,
    Customer,
    CategoriesList,
    Category,
    StoreConfigs,
    StoreViews,
    StoreGroups,
    Websites,
}

fn route(s: &Sandbox, c: &Call) -> Option<Route> {
    let seg: Vec<&str> = c.seg.iter().map(String::as_str).collect();
    let get = c.method == Method::GET;
    let post = c.method == Method::POST;
    let put = c.method == Method::PUT;
    let msi = s.msi.load(Ordering::Relaxed);
    Some(match seg.as_slice() {
        ["integration", "admin", "token"] if post => Route::AdminToken,
        ["orders"] if get => Route::Orders,
        ["orders", _] if get => Route::Order,
        ["order", _, "ship"] if post => Route::Ship,
        ["shipments"] if get => Route::Shipments,
        ["creditmemos"] if get => Route::CreditMemos,
        ["invoices"] if get => Route::Invoices,
        ["products"] if get => Route::Products,
        ["products"] if post => Route::ProductCreate,
        ["products", "attributes", _] if get => Route::Attribute,
        ["products", _] if get => Route::Product,
        ["products", _] if put => Route::ProductPut,
        ["products", _, "stockItems", _] if put => Route::StockItemPut,
        ["configurable-products", _, "children"] if get => Route::Children,
        ["configurable-products", _, "options", "all"] if get => Route::Options,
        ["stockItems", _] if get => Route::StockItem,
        ["inventory", "sources"] if get && msi => Route::Sources,
        ["inventory", "source-items"] if get && msi => Route::SourceItems,
        ["inventory", "source-items"] if post && msi => Route::SourceItemsPost,
        ["customers", "search"] if get => Route::CustomersSearch,
        ["customers", _] if get => Route::Customer,
        ["categories", "list"] if get => Route::CategoriesList,
        ["categories", _] if get => Route::Category,
        ["store", "storeConfigs"] if get => Route::StoreConfigs,
        ["store", "storeViews"] if get => Route::StoreViews,
        ["store", "storeGroups"] if get => Route::StoreGroups,
        ["store", "websites"] if get => Route::Websites,
        _ => return None,
    })
}

/// The ACL resource Magento names when refusing a route.
fn acl_resource(r: Route) -> &'static str {
    match r {
        Route::Orders | Route::Order => "Magento_Sales::actions_view",
        Route::Ship | Route::Shipments => "Magento_Sales::ship",
        Route::CreditMemos => "Magento_Sales::sales_creditmemo",
        Route::Invoices => "Magento_Sales::sales_invoice",
        Route::Products
        | Route::ProductCreate
        | Route::Product
        | Route::ProductPut
        | Route::Children
        | Route::Options => "Magento_Catalog::products",
        Route::Attribute => "Magento_Catalog::attributes_attributes",
        Route::StockItem | Route::StockItemPut => "Magento_CatalogInventory::cataloginventory",
        Route::Sources | Route::SourceItems | Route::SourceItemsPost => {
            "Magento_InventoryApi::source"
        }
        Route::CustomersSearch | Route::Customer => "Magento_Customer::customer",
        Route::CategoriesList | Route::Category => "Magento_Catalog::categories",
        Route::StoreConfigs | Route::StoreViews | Route::StoreGroups | Route::Websites => {
            "Magento_Backend::store"
        }
        Route::AdminToken => "anonymous",
    }
}

fn unauthorized(route: Route) -> Response {
    mg_error(
        StatusCode::UNAUTHORIZED,
        "The consumer isn't authorized to access %resources.",
        Some(json!({"resources": acl_resource(route)})),
    )
}

/// PHP's `rawurldecode`: `%XX` only, a `+` stays a plus.
fn rawurldecode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The query as PHP's `$_GET` reads it (for `searchCriteria`): `+` is a space.
fn php_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                rawurldecode(&k.replace('+', " ")),
                rawurldecode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Checks the request's credentials; then the simulated rate limit.
fn authenticate(
    s: &Sandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    route: Route,
) -> Result<(), Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let who = if let Some(params) = oauth::parse_authorization(auth) {
        verify_oauth(s, method, uri, headers, &params).map_err(|()| unauthorized(route))?;
        "oauth".to_owned()
    } else if let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    {
        let token = token.trim();
        let integration = {
            let db = lock(s);
            s.bearer_integration.load(Ordering::Relaxed) && token == db.access_token
        };
        if integration {
            "bearer".to_owned()
        } else {
            let valid = s
                .admin_tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(token)
                .is_some_and(|exp| Instant::now() < *exp);
            if !valid {
                return Err(unauthorized(route));
            }
            "admin".to_owned()
        }
    } else {
        return Err(unauthorized(route));
    };
    if let Some(l) = &s.limiter {
        if let Err(wait) = l.check(&who) {
            let mut r = mg_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests. Try again later.",
                None,
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
            return Err(r);
        }
    }
    Ok(())
}

/// Magento's OAuth check (Magento\Framework\Oauth\Oauth::validateAccessTokenRequest):
/// consumer, token, timestamp and nonce, then the signature over the URL it was sent to
/// and the query parameters as `rawurldecode` reads them, compared in constant time.
fn verify_oauth(
    s: &Sandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(), ()> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (key, secret, token, token_secret) = {
        let db = lock(s);
        (
            db.consumer_key.clone(),
            db.consumer_secret.clone(),
            db.access_token.clone(),
            db.access_token_secret.clone(),
        )
    };
    if get("oauth_consumer_key") != Some(key.as_str()) || get("oauth_token") != Some(&token) {
        return Err(());
    }
    if get("oauth_signature_method") != Some(oauth::SIGNATURE_METHOD) {
        // Magento also accepts HMAC-SHA1; the sandbox simulates what cartgate sends.
        return Err(());
    }
    if get("oauth_version").is_some_and(|v| v != "1.0") {
        return Err(());
    }
    let ts: i64 = get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or(())?;
    if ts <= 0 || ts > chrono::Utc::now().timestamp() + TIME_DEVIATION {
        return Err(());
    }
    let nonce = get("oauth_nonce").filter(|n| !n.is_empty()).ok_or(())?;
    let signature = get("oauth_signature").ok_or(())?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| ())?;
    // The URL as Magento sees it: scheme, Host header, path (the query is signed as
    // parameters, not as part of the URL).
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let url = url::Url::parse(&format!("http://{host}{}", uri.path())).map_err(|_| ())?;
    let mut signed: Vec<(String, String)> = Vec::new();
    for pair in uri.query().unwrap_or("").split('&') {
        // Magento's _extractQueryStringParams: exactly one '=', rawurldecode both sides,
        // protocol parameters come from the header only.
        let parts: Vec<&str> = pair.split('=').collect();
        if parts.len() == 2 && !parts[0].starts_with("oauth_") {
            signed.push((rawurldecode(parts[0]), rawurldecode(parts[1])));
        }
    }
    signed.extend(
        params
            .iter()
            .filter(|(k, _)| k != "oauth_signature")
            .cloned(),
    );
    let base = oauth::signature_base_string(method.as_str(), &url, &signed);
    let key = oauth::signing_key(&secret, &token_secret);
    ring::hmac::verify(&key, base.as_bytes(), &sig).map_err(|_| ())?;
    // The nonce is recorded once the request is otherwise valid, as Magento saves it.
    let fresh = s
        .nonces
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(nonce.to_owned());
    if !fresh {
        return Err(());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// searchCriteria
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Criteria {
    groups: Vec<Vec<(String, String, String)>>,
    sort: Vec<(String, String)>,
    page_size: Option<usize>,
    current_page: usize,
}

/// Reads `searchCriteria[…]` parameters in either spelling (Magento maps snake_case and
/// camelCase to the same setters).
fn criteria(q: &[(String, String)]) -> Result<Criteria, Response> {
    let mut groups: std::collections::BTreeMap<
        usize,
        std::collections::BTreeMap<usize, Map<String, Value>>,
    > = Default::default();
    let mut sorts: std::collections::BTreeMap<usize, Map<String, Value>> = Default::default();
    let mut c = Criteria {
        current_page: 1,
        ..Default::default()
    };
    for (k, v) in q {
        let Some(rest) = k.strip_prefix("searchCriteria") else {
            continue;
        };
        let parts: Vec<&str> = rest
            .split('[')
            .filter_map(|p| p.strip_suffix(']'))
            .collect();
        let canon = |p: &str| match p {
            "filterGroups" => "filter_groups".to_owned(),
            "conditionType" => "condition_type".to_owned(),
            "sortOrders" => "sort_orders".to_owned(),
            "pageSize" => "page_size".to_owned(),
            "currentPage" => "current_page".to_owned(),
            other => other.to_owned(),
        };
        let parts: Vec<String> = parts.into_iter().map(canon).collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let int = |s: &str, _name: &str| -> Result<usize, Response> {
            s.parse::<usize>().map_err(|_| {
                bad_request(
                    "The \"%1\" value's type is invalid. The \"%2\" type was expected. Verify and try again.",
                    Some(json!([s, "int"])),
                )
            })
        };
        match parts.as_slice() {
            ["filter_groups", g, "filters", f, field] => {
                let g = int(g, "index")?;
                let f = int(f, "index")?;
                groups
                    .entry(g)
                    .or_default()
                    .entry(f)
                    .or_default()
                    .insert((*field).to_owned(), json!(v));
            }
            ["sort_orders", n, field] => {
                let n = int(n, "index")?;
                sorts
                    .entry(n)
                    .or_default()
                    .insert((*field).to_owned(), json!(v));
            }
            ["page_size"] => {
                let n = int(v, "int")?;
                if n > MAX_PAGE_SIZE {
                    return Err(bad_request(
                        "Maximum SearchCriteria pageSize is %max",
                        Some(json!({"max": MAX_PAGE_SIZE})),
                    ));
                }
                c.page_size = Some(n);
            }
            ["current_page"] => c.current_page = int(v, "int")?.max(1),
            _ => {}
        }
    }
    for (_, filters) in groups {
        let mut group = Vec::new();
        for (_, f) in filters {
            let field = f
                .get("field")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let value = f
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let cond = f
                .get("condition_type")
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty())
                .unwrap_or("eq")
                .to_owned();
            if field.is_empty() {
                return Err(bad_request(
                    "\"%fieldName\" is required. Enter and try again.",
                    Some(json!({"fieldName": "field"})),
                ));
            }
            const CONDS: [&str; 15] = [
                "eq", "neq", "gt", "gteq", "lt", "lteq", "like", "nlike", "in", "nin", "null",
                "notnull", "finset", "from", "to",
            ];
            if !CONDS.contains(&cond.as_str()) {
                return Err(bad_request(
                    "Invalid value of \"%value\" provided for the %fieldName field.",
                    Some(json!({"value": cond, "fieldName": "condition_type"})),
                ));
            }
            group.push((field, value, cond));
        }
        c.groups.push(group);
    }
    for (_, s) in sorts {
        let field = s
            .get("field")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let dir = s
            .get("direction")
            .and_then(Value::as_str)
            .unwrap_or("ASC")
            .to_ascii_uppercase();
        if dir != "ASC" && dir != "DESC" {
            return Err(bad_request(
                "The sort order \"%1\" is invalid. Verify the sort order and try again.",
                Some(json!([dir])),
            ));
        }
        if !field.is_empty() {
            c.sort.push((field, dir));
        }
    }
    Ok(c)
}

/// A field of an object as a searchable scalar: top level (with the resource's aliases),
/// then custom attributes.
fn field_value(item: &Value, field: &str) -> Option<Value> {
    let direct = match field {
        "entity_id" if item.get("entity_id").is_none() => item.get("id"),
        f => item.get(f),
    };
    if let Some(v) = direct {
        return Some(v.clone());
    }
    item.get("custom_attributes")?
        .as_array()?
        .iter()
        .find(|a| a["attribute_code"] == field)
        .map(|a| a["value"].clone())
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => i32::from(*b).to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Compares numerically when both sides are numbers, else as text (dates compare right).
fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn like(value: &str, pattern: &str) -> bool {
    // SQL LIKE with % wildcards, case-insensitive (MySQL's default collation).
    let value = value.to_lowercase();
    let parts: Vec<String> = pattern
        .to_lowercase()
        .split('%')
        .map(str::to_owned)
        .collect();
    if parts.len() == 1 {
        return value == parts[0];
    }
    let mut pos = 0usize;
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        if i == 0 {
            if !value.starts_with(p.as_str()) {
                return false;
            }
            pos = p.len();
        } else if i == parts.len() - 1 {
            return value[pos..].ends_with(p.as_str());
        } else {
            match value[pos..].find(p.as_str()) {
                Some(at) => pos += at + p.len(),
                None => return false,
            }
        }
    }
    true
}

fn matches(item: &Value, field: &str, value: &str, cond: &str) -> bool {
    let v = field_value(item, field);
    let list = || -> Vec<String> { value.split(',').map(|x| x.trim().to_owned()).collect() };
    let values: Vec<String> = match &v {
        Some(Value::Array(a)) => a.iter().map(as_text).collect(),
        Some(x) => vec![as_text(x)],
        None => Vec::new(),
    };
    let present = v.as_ref().is_some_and(|x| !x.is_null());
    let any = |f: &dyn Fn(&str) -> bool| values.iter().any(|x| f(x));
    use std::cmp::Ordering::*;
    match cond {
        "eq" => any(&|x| compare(x, value) == Equal),
        "neq" => !any(&|x| compare(x, value) == Equal),
        "gt" => present && any(&|x| compare(x, value) == Greater),
        "gteq" | "from" => present && any(&|x| compare(x, value) != Less),
        "lt" => present && any(&|x| compare(x, value) == Less),
        "lteq" | "to" => present && any(&|x| compare(x, value) != Greater),
        "like" => any(&|x| like(x, value)),
        "nlike" => !any(&|x| like(x, value)),
        "in" => {
            let l = list();
            any(&|x| l.iter().any(|y| compare(x, y) == Equal))
        }
        "nin" => {
            let l = list();
            !any(&|x| l.iter().any(|y| compare(x, y) == Equal))
        }
        "null" => !present,
        "notnull" => present,
        "finset" => any(&|x| x.split(',').any(|y| y.trim() == value)),
        _ => false,
    }
}

/// Filters, sorts and pages `items` as Magento's collection processor does, and renders
/// the search result `{items, search_criteria, total_count}`. A page past the end answers
/// the last page (Magento's collections clamp `currentPage`).
fn search(items: Vec<Value>, q: &[(String, String)]) -> Response {
    let c = match criteria(q) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut found: Vec<Value> = items
        .into_iter()
        .filter(|i| {
            c.groups
                .iter()
                .all(|g| g.iter().any(|(f, v, cond)| matches(i, f, v, cond)))
        })
        .collect();
    if !c.sort.is_empty() {
        found.sort_by(|a, b| {
            for (field, dir) in &c.sort {
                let x = field_value(a, field)
                    .map(|v| as_text(&v))
                    .unwrap_or_default();
                let y = field_value(b, field)
                    .map(|v| as_text(&v))
                    .unwrap_or_default();
                let o = compare(&x, &y);
                let o = if dir == "DESC" { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let total = found.len();
    let page_items: Vec<Value> = match c.page_size {
        Some(size) if size > 0 => {
            let last = total.div_ceil(size).max(1);
            let page = c.current_page.min(last);
            found
                .into_iter()
                .skip((page - 1) * size)
                .take(size)
                .collect()
        }
        _ => found,
    };
    let mut sc = json!({
        "filter_groups": c.groups.iter().map(|g| json!({
            "filters": g.iter().map(|(f, v, cond)| json!({"field": f, "value": v, "condition_type": cond})).collect::<Vec<_>>()
        })).collect::<Vec<_>>()
    });
    if !c.sort.is_empty() {
        sc["sort_orders"] = json!(c
            .sort
            .iter()
            .map(|(f, d)| json!({"field": f, "direction": d}))
            .collect::<Vec<_>>());
    }
    if let Some(size) = c.page_size {
        sc["page_size"] = json!(size);
        // Echoed as asked, as Magento does, even when the page served is clamped.
        sc["current_page"] = json!(c.current_page);
    }
    Json(json!({"items": page_items, "search_criteria": sc, "total_count": total})).into_response()
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

fn json_body(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Err(bad_request("The request body is empty.", None));
    }
    serde_json::from_slice(body).map_err(|_| {
        bad_request(
            "Decoding error: \nSyntax error\nThe JSON couldn't be decoded.",
            None,
        )
    })
}

macro_rules! tryr {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn order_not_found() -> Response {
    mg_error(
        StatusCode::NOT_FOUND,
        "The entity that was requested doesn't exist. Verify the entity and try again.",
        None,
    )
}

fn product_not_found() -> Response {
    mg_error(
        StatusCode::NOT_FOUND,
        "The product that was requested doesn't exist. Verify the product and try again.",
        None,
    )
}

fn no_such_entity(field: &str, value: &str) -> Response {
    let v: Value = value
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(value));
    mg_error(
        StatusCode::NOT_FOUND,
        "No such entity with %fieldName = %fieldValue",
        Some(json!({"fieldName": field, "fieldValue": v})),
    )
}

fn handle(s: &Sandbox, route: Route, c: &Call) -> Response {
    let seg = |n: usize| c.seg.get(n).map(String::as_str).unwrap_or("");
    match route {
        Route::AdminToken => admin_token(s, c.body),
        Route::Orders => {
            let items: Vec<Value> = lock(s).orders.values().cloned().collect();
            search(items, &c.query)
        }
        Route::Order => {
            let db = lock(s);
            match seg(1).parse::<i64>().ok().and_then(|id| db.orders.get(&id)) {
                Some(o) => Json(o.clone()).into_response(),
                None => order_not_found(),
            }
        }
        Route::Ship => ship(s, seg(1), c.body),
        Route::Shipments => {
            let items: Vec<Value> = lock(s).shipments.values().cloned().collect();
            search(items, &c.query)
        }
        Route::CreditMemos => {
            let items: Vec<Value> = lock(s).credit_memos.values().cloned().collect();
            search(items, &c.query)
        }
        Route::Invoices => {
            let items: Vec<Value> = lock(s).invoices.values().cloned().collect();
            search(items, &c.query)
        }
        Route::Products => {
            let items: Vec<Value> = lock(s).products.values().cloned().collect();
            search(items, &c.query)
        }
        Route::ProductCreate => save_product(s, None, c.body),
        Route::Product => {
            let db = lock(s);
            match db.product_by_sku(seg(1)) {
                Some(id) => Json(db.products[&id].clone()).into_response(),
                None => product_not_found(),
            }
        }
        Route::ProductPut => save_product(s, Some(seg(1)), c.body),
        Route::Attribute => {
            let db = lock(s);
            let code = seg(2);
            let found = db.attributes.values().find(|a| {
                a["attribute_code"] == code || code.parse::<i64>().ok() == a["attribute_id"].as_i64()
            });
            match found {
                Some(a) => Json(a.clone()).into_response(),
                None => mg_error(
                    StatusCode::NOT_FOUND,
                    "The attribute with a \"%1\" attributeCode doesn't exist. Verify the attribute and try again.",
                    Some(json!([code])),
                ),
            }
        }
        Route::Children => {
            let db = lock(s);
            let Some(id) = db.product_by_sku(seg(1)) else {
                return product_not_found();
            };
            // LinkManagement::getChildren: attributes only, no extension attributes.
            let kids: Vec<Value> = db
                .children(id)
                .iter()
                .filter_map(|k| db.products.get(k))
                .map(|k| {
                    let mut k = k.clone();
                    if let Some(o) = k.as_object_mut() {
                        o.remove("extension_attributes");
                        o.remove("media_gallery_entries");
                        o.remove("product_links");
                        o.remove("options");
                        o.remove("tier_prices");
                    }
                    k
                })
                .collect();
            Json(kids).into_response()
        }
        Route::Options => {
            let db = lock(s);
            let Some(id) = db.product_by_sku(seg(1)) else {
                return product_not_found();
            };
            let opts = db.products[&id]["extension_attributes"]["configurable_product_options"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Json(opts).into_response()
        }
        Route::StockItem => {
            let db = lock(s);
            match db.product_by_sku(seg(1)) {
                Some(id) => Json(db.products[&id]["extension_attributes"]["stock_item"].clone())
                    .into_response(),
                None => product_not_found(),
            }
        }
        Route::StockItemPut => put_stock_item(s, seg(1), seg(3), c.body),
        Route::Sources => {
            let sources = lock(s).sources.clone();
            search(sources, &c.query)
        }
        Route::SourceItems => {
            let items: Vec<Value> = lock(s).source_items.values().cloned().collect();
            search(items, &c.query)
        }
        Route::SourceItemsPost => post_source_items(s, c.body),
        Route::CustomersSearch => {
            let items: Vec<Value> = lock(s).customers.values().cloned().collect();
            search(items, &c.query)
        }
        Route::Customer => {
            let db = lock(s);
            match seg(1).parse::<i64>().ok().and_then(|id| db.customers.get(&id)) {
                Some(x) => Json(x.clone()).into_response(),
                None => no_such_entity("customerId", seg(1)),
            }
        }
        Route::CategoriesList => {
            let items: Vec<Value> = lock(s).categories.values().cloned().collect();
            search(items, &c.query)
        }
        Route::Category => {
            let db = lock(s);
            match seg(1).parse::<i64>().ok().and_then(|id| db.categories.get(&id)) {
                Some(x) => Json(x.clone()).into_response(),
                None => no_such_entity("id", seg(1)),
            }
        }
        Route::StoreConfigs => Json(store_configs(s)).into_response(),
        Route::StoreViews => Json(json!([
            {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0, "is_active": 1},
            {"id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1, "is_active": 1},
            {"id": 2, "code": "de", "name": "Deutsche Store View", "website_id": 1, "store_group_id": 1, "is_active": 1}
        ]))
        .into_response(),
        Route::StoreGroups => Json(json!([
            {"id": 0, "website_id": 0, "root_category_id": 0, "default_store_id": 0, "name": "Default", "code": "default"},
            {"id": 1, "website_id": 1, "root_category_id": 2, "default_store_id": 1, "name": "Cartgate Sandbox Store", "code": "main_website_store"}
        ]))
        .into_response(),
        Route::Websites => Json(json!([
            {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0},
            {"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1}
        ]))
        .into_response(),
    }
}

fn store_configs(s: &Sandbox) -> Value {
    let base = format!("{}/", s.base_url);
    let cfg = |id: i64, code: &str, locale: &str, display: &str, tz: &str, weight: &str| {
        json!({
            "id": id,
            "code": code,
            "website_id": 1,
            "locale": locale,
            "base_currency_code": "USD",
            "default_display_currency_code": display,
            "timezone": tz,
            "weight_unit": weight,
            "base_url": base,
            "base_link_url": base,
            "base_static_url": format!("{base}static/version1700000000/"),
            "base_media_url": format!("{base}media/"),
            "secure_base_url": base,
            "secure_base_link_url": base,
            "secure_base_static_url": format!("{base}static/version1700000000/"),
            "secure_base_media_url": format!("{base}media/")
        })
    };
    json!([
        cfg(1, "default", "en_US", "USD", "America/Los_Angeles", "lbs"),
        cfg(2, "de", "de_DE", "EUR", "Europe/Berlin", "kgs"),
    ])
}

fn admin_token(s: &Sandbox, body: &Bytes) -> Response {
    let b = tryr!(json_body(body));
    for field in ["username", "password"] {
        if b.get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return bad_request(
                "\"%fieldName\" is required. Enter and try again.",
                Some(json!({"fieldName": field})),
            );
        }
    }
    let ok = {
        let db = lock(s);
        b["username"] == db.admin_username.as_str() && b["password"] == db.admin_password.as_str()
    };
    if !ok {
        return mg_error(
            StatusCode::UNAUTHORIZED,
            "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.",
            None,
        );
    }
    let token = {
        let mut rng = s.token_rng.lock().unwrap_or_else(|e| e.into_inner());
        random_hex(&mut *rng, 32)
    };
    let lifetime = Duration::from_secs(s.admin_lifetime_secs.load(Ordering::Relaxed));
    s.admin_tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), Instant::now() + lifetime);
    s.tokens_issued.fetch_add(1, Ordering::Relaxed);
    Json(Value::String(token)).into_response()
}

fn shipment_error(msg: &str) -> Response {
    bad_request(
        &format!("Shipment Document Validation Error(s):\n{msg}"),
        None,
    )
}

/// `POST /V1/order/{orderId}/ship`: validates like Magento's ShipOrder, records the
/// shipment with its tracks, updates the shipped quantities and the order state.
fn ship(s: &Sandbox, order_id: &str, body: &Bytes) -> Response {
    let b = if body.is_empty() {
        json!({})
    } else {
        tryr!(json_body(body))
    };
    let mut db = lock(s);
    let Some(oid) = order_id
        .parse::<i64>()
        .ok()
        .filter(|id| db.orders.contains_key(id))
    else {
        return order_not_found();
    };
    let order = db.orders[&oid].clone();
    let state = order["state"].as_str().unwrap_or("");
    if matches!(
        state,
        "canceled" | "closed" | "holded" | "payment_review" | "complete"
    ) {
        return shipment_error("The order does not allow a shipment to be created.");
    }
    let items = order["items"].as_array().cloned().unwrap_or_default();
    let left = |i: &Value| {
        i["qty_ordered"].as_i64().unwrap_or(0)
            - i["qty_shipped"].as_i64().unwrap_or(0)
            - i["qty_canceled"].as_i64().unwrap_or(0)
    };
    let mut to_ship: Vec<(i64, i64)> = Vec::new();
    let asked = b["items"].as_array().cloned().unwrap_or_default();
    if asked.is_empty() {
        for i in &items {
            if i.get("parent_item_id").is_none() && i["is_virtual"] != 1 && left(i) > 0 {
                to_ship.push((i["item_id"].as_i64().unwrap_or(0), left(i)));
            }
        }
    } else {
        for a in &asked {
            let id = a["order_item_id"].as_i64().unwrap_or(0);
            let qty = minor_of(&a["qty"], 0);
            let Some(i) = items.iter().find(|i| i["item_id"] == id) else {
                return shipment_error("You can't create a shipment without products.");
            };
            if qty <= 0 || qty > left(i) {
                return shipment_error(&format!(
                    "The quantity to ship must not be greater than the unshipped quantity for the product: {}",
                    i["sku"].as_str().unwrap_or("")
                ));
            }
            to_ship.push((id, qty));
        }
    }
    if to_ship.is_empty() {
        return shipment_error("You can't create a shipment without products.");
    }
    let tracks_in = b["tracks"].as_array().cloned().unwrap_or_default();
    for t in &tracks_in {
        for f in ["track_number", "title", "carrier_code"] {
            if t.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                return shipment_error(&format!("Please enter a {f}."));
            }
        }
    }
    let now = db.now();
    let sid = db.next_id();
    let mut o = order;
    let mut ship_items = Vec::new();
    if let Some(list) = o["items"].as_array_mut() {
        for (id, qty) in &to_ship {
            for i in list.iter_mut() {
                // The parent line and its child line ship together.
                let hit = i["item_id"] == *id || i["parent_item_id"] == *id;
                if hit {
                    let q = i["qty_shipped"].as_i64().unwrap_or(0) + qty;
                    i["qty_shipped"] = json!(q);
                    i["updated_at"] = json!(date(now));
                }
                if i["item_id"] == *id {
                    ship_items.push(json!({
                        "entity_id": sid * 100 + id, "name": i["name"], "parent_id": sid,
                        "price": i["price"], "product_id": i["product_id"], "sku": i["sku"],
                        "weight": 1, "order_item_id": id, "qty": qty
                    }));
                }
            }
        }
    }
    let mut tracks = Vec::new();
    for t in &tracks_in {
        let tid = db.next_id();
        tracks.push(json!({
            "order_id": oid, "created_at": date(now), "entity_id": tid, "parent_id": sid,
            "updated_at": date(now), "weight": null, "qty": null,
            "description": t.get("description").cloned().unwrap_or(Value::Null),
            "track_number": t["track_number"], "title": t["title"], "carrier_code": t["carrier_code"]
        }));
    }
    let all_shipped = o["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|i| i.get("parent_item_id").is_some() || i["is_virtual"] == 1 || left(i) <= 0);
    let paid = minor_of(&o["total_paid"], 4) >= minor_of(&o["grand_total"], 4)
        && o.get("total_paid").is_some();
    let (new_state, new_status) = if all_shipped && paid {
        ("complete", "complete")
    } else {
        ("processing", "processing")
    };
    o["state"] = json!(new_state);
    o["status"] = json!(new_status);
    o["updated_at"] = json!(date(now));
    let new_items = o["items"].clone();
    if let Some(assign) = o["extension_attributes"]["shipping_assignments"].as_array_mut() {
        if let Some(first) = assign.first_mut() {
            first["items"] = new_items;
        }
    }
    if let Some(h) = o["status_histories"].as_array_mut() {
        h.insert(
            0,
            json!({
                "comment": b.pointer("/comment/comment").cloned().unwrap_or(Value::Null),
                "created_at": date(now), "entity_id": db.next_id(), "entity_name": "shipment",
                "is_customer_notified": i32::from(b["notify"] == true), "is_visible_on_front": 0,
                "parent_id": oid, "status": new_status
            }),
        );
        // Magento records a history entry only with a comment.
        if h[0]["comment"].is_null() {
            h.remove(0);
        }
    }
    let total_qty: i64 = to_ship.iter().map(|(_, q)| q).sum();
    let mut shipment = json!({
        "billing_address_id": o["billing_address_id"],
        "created_at": date(now),
        "email_sent": i32::from(b["notify"] == true),
        "entity_id": sid,
        "increment_id": format!("{:09}", sid),
        "order_id": oid,
        "packages": [],
        "store_id": o["store_id"],
        "total_qty": total_qty,
        "updated_at": date(now),
        "items": ship_items,
        "tracks": tracks,
        "comments": []
    });
    if let Some(cid) = o.get("customer_id") {
        shipment["customer_id"] = cid.clone();
    }
    db.shipments.insert(sid, shipment);
    db.orders.insert(oid, o);
    Json(json!(sid)).into_response()
}

fn price_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|p| p.is_finite() && *p >= 0.0)
}

/// `POST /V1/products` and `PUT /V1/products/{sku}`: Magento's save is an upsert by SKU
/// (or by `id` when given, which renames the SKU).
fn save_product(s: &Sandbox, url_sku: Option<&str>, body: &Bytes) -> Response {
    let b = tryr!(json_body(body));
    let Some(p) = b.get("product").and_then(Value::as_object).cloned() else {
        return bad_request(
            "\"%fieldName\" is required. Enter and try again.",
            Some(json!({"fieldName": "product"})),
        );
    };
    let mut db = lock(s);
    let body_sku = p.get("sku").and_then(Value::as_str).map(str::to_owned);
    let by_id = p
        .get("id")
        .and_then(Value::as_i64)
        .filter(|id| db.products.contains_key(id));
    let existing = by_id.or_else(|| {
        url_sku
            .and_then(|u| db.product_by_sku(u))
            .or_else(|| body_sku.as_deref().and_then(|b| db.product_by_sku(b)))
    });
    let sku = body_sku.or_else(|| url_sku.map(str::to_owned));
    let Some(sku) = sku.filter(|x| !x.trim().is_empty()) else {
        return bad_request(
            "The \"%fieldName\" attribute value is empty. Set the attribute and try again.",
            Some(json!({"fieldName": "sku"})),
        );
    };
    if let Some(other) = db.product_by_sku(&sku) {
        if Some(other) != existing {
            return bad_request(
                "The product was unable to be saved. Please try again.",
                None,
            );
        }
    }
    let now = db.now();
    let id = match existing {
        Some(id) => id,
        None => {
            let Some(name) = p
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
            else {
                return bad_request(
                    "The \"%fieldName\" attribute value is empty. Set the attribute and try again.",
                    Some(json!({"fieldName": "name"})),
                );
            };
            let id = db.next_id();
            let type_id = p.get("type_id").and_then(Value::as_str).unwrap_or("simple");
            let mut fresh = data::product_json(
                id,
                &sku,
                name,
                0,
                type_id,
                p.get("visibility").and_then(Value::as_i64).unwrap_or(4),
                p.get("status").and_then(Value::as_i64).unwrap_or(1),
                now,
            );
            fresh["extension_attributes"]["stock_item"] = data::stock_item(id, id, 0, true);
            db.products.insert(id, fresh);
            if s.msi.load(Ordering::Relaxed) && type_id != "virtual" && type_id != "configurable" {
                db.source_items.insert(
                    (sku.clone(), "default".into()),
                    json!({"sku": sku, "source_code": "default", "quantity": 0, "status": 0}),
                );
            }
            id
        }
    };
    let old_sku = db.products[&id]["sku"].as_str().unwrap_or("").to_owned();
    let msi = s.msi.load(Ordering::Relaxed);
    let Some(prod) = db.products.get_mut(&id) else {
        return product_not_found();
    };
    prod["sku"] = json!(sku);
    for key in ["name", "status", "visibility", "weight", "attribute_set_id"] {
        if let Some(v) = p.get(key) {
            prod[key] = v.clone();
        }
    }
    if let Some(v) = p.get("price") {
        let Some(price) = price_of(v) else {
            return bad_request(
                "Invalid product data: %1",
                Some(json!(["Product price must be a non-negative number."])),
            );
        };
        prod["price"] = num((price * 10_000.0).round() as i64, 4);
    }
    if let Some(attrs) = p.get("custom_attributes").and_then(Value::as_array) {
        for a in attrs {
            if let Some(code) = a.get("attribute_code").and_then(Value::as_str) {
                data::set_attribute(prod, code, a.get("value").cloned().unwrap_or(Value::Null));
            }
        }
    }
    if let Some(ext) = p.get("extension_attributes") {
        if let Some(links) = ext.get("category_links") {
            prod["extension_attributes"]["category_links"] = links.clone();
        }
        if let Some(q) = ext.pointer("/stock_item/qty").map(|q| minor_of(q, 0)) {
            prod["extension_attributes"]["stock_item"]["qty"] = json!(q);
            prod["extension_attributes"]["stock_item"]["is_in_stock"] = json!(q > 0);
        }
    }
    prod["updated_at"] = json!(date(now));
    let out = prod.clone();
    if old_sku != sku {
        if let Some(item) = db.source_items.remove(&(old_sku.clone(), "default".into())) {
            let mut item = item;
            item["sku"] = json!(sku);
            db.source_items
                .insert((sku.clone(), "default".into()), item);
        }
    }
    if msi {
        if let Some(q) = out["extension_attributes"]["stock_item"]["qty"].as_i64() {
            if let Some(si) = db.source_items.get_mut(&(sku.clone(), "default".into())) {
                si["quantity"] = json!(q);
                si["status"] = json!(i32::from(q > 0));
            }
        }
    }
    Json(out).into_response()
}

fn put_stock_item(s: &Sandbox, sku: &str, item_id: &str, body: &Bytes) -> Response {
    let b = tryr!(json_body(body));
    let Some(item) = b.get("stockItem").and_then(Value::as_object) else {
        return bad_request(
            "\"%fieldName\" is required. Enter and try again.",
            Some(json!({"fieldName": "stockItem"})),
        );
    };
    let mut db = lock(s);
    let Some(id) = db.product_by_sku(sku) else {
        return product_not_found();
    };
    let now = db.now();
    let msi = s.msi.load(Ordering::Relaxed);
    let Some(p) = db.products.get_mut(&id) else {
        return product_not_found();
    };
    let stock = &mut p["extension_attributes"]["stock_item"];
    if item_id.parse::<i64>().ok() != stock["item_id"].as_i64() {
        return bad_request(
            "The stock item was unable to be saved. Please try again.",
            None,
        );
    }
    let qty = item.get("qty").map(|q| minor_of(q, 0));
    if let Some(q) = qty {
        stock["qty"] = json!(q);
        stock["is_in_stock"] = json!(q > 0);
    }
    for key in ["manage_stock", "use_config_manage_stock", "is_in_stock"] {
        if let Some(v) = item.get(key) {
            stock[key] = v.clone();
        }
    }
    let item_id = stock["item_id"].clone();
    p["updated_at"] = json!(date(now));
    if let (true, Some(q)) = (msi, qty) {
        if let Some(si) = db.source_items.get_mut(&(sku.to_owned(), "default".into())) {
            si["quantity"] = json!(q);
            si["status"] = json!(i32::from(q > 0));
        }
    }
    Json(item_id).into_response()
}

fn post_source_items(s: &Sandbox, body: &Bytes) -> Response {
    let b = tryr!(json_body(body));
    let Some(items) = b.get("sourceItems").and_then(Value::as_array) else {
        return bad_request(
            "\"%fieldName\" is required. Enter and try again.",
            Some(json!({"fieldName": "sourceItems"})),
        );
    };
    let mut db = lock(s);
    let now = db.now();
    for it in items {
        let (Some(sku), Some(source)) = (
            it.get("sku").and_then(Value::as_str),
            it.get("source_code").and_then(Value::as_str),
        ) else {
            return bad_request("Validation Failed", None);
        };
        let Some(pid) = db.product_by_sku(sku) else {
            return bad_request("Validation Failed", None);
        };
        if !db.sources.iter().any(|x| x["source_code"] == source) {
            // Magento's source item table refers to the source: saving fails.
            return bad_request("Could not save Source Item", None);
        }
        let qty = it.get("quantity").map(|q| minor_of(q, 0)).unwrap_or(0);
        let status = it
            .get("status")
            .and_then(Value::as_i64)
            .unwrap_or(i64::from(qty > 0));
        db.source_items.insert(
            (sku.to_owned(), source.to_owned()),
            json!({"sku": sku, "source_code": source, "quantity": qty, "status": status}),
        );
        // The default source keeps the legacy stock item in step, as Magento does.
        if let Some(p) = db.products.get_mut(&pid) {
            if source == "default" {
                p["extension_attributes"]["stock_item"]["qty"] = json!(qty);
                p["extension_attributes"]["stock_item"]["is_in_stock"] = json!(status == 1);
            }
            p["updated_at"] = json!(date(now));
        }
    }
    Json(json!([])).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("Joust Duffle Bag", "%duffle%"));
        assert!(like("MB01", "MB%"));
        assert!(!like("MB01", "%X%"));
        assert!(like("abc", "abc"));
    }

    #[test]
    fn criteria_read_both_spellings() {
        let q = php_query("searchCriteria%5BfilterGroups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=state&searchCriteria[filter_groups][0][filters][0][value]=new&searchCriteria[pageSize]=5&searchCriteria[current_page]=2");
        let c = criteria(&q).expect("valid");
        assert_eq!(
            c.groups,
            vec![vec![("state".into(), "new".into(), "eq".into())]]
        );
        assert_eq!(c.page_size, Some(5));
        assert_eq!(c.current_page, 2);
        assert!(criteria(&php_query("searchCriteria[pageSize]=301")).is_err());
    }

    #[test]
    fn seeded_orders_are_deterministic() {
        assert_eq!(seeded_orders(5, 1), seeded_orders(5, 1));
        assert_eq!(seeded_orders(100, 42).len(), 100);
    }
}

//! A local simulator of the Amazon Selling Partner API (SP-API) operations cartgate uses,
//! with the Login with Amazon (LWA) token endpoint, faithful to the official models
//! (../shared/platform-specs/amazon/models): same paths, parameters, headers and error
//! bodies. Data is seeded deterministically (see `data`).
//!
//! # Served
//!
//! | route | operation (model) | rate (req/s) | burst |
//! |---|---|---|---|
//! | `POST /auth/o2/token` | LWA token exchange (`grant_type=refresh_token`) | – | – |
//! | `GET /orders/2026-01-01/orders` | `searchOrders` (orders_2026-01-01) | 0.0056 | 20 |
//! | `GET /orders/2026-01-01/orders/{orderId}` | `getOrder` (orders_2026-01-01) | 0.5 | 30 |
//! | `POST /orders/v0/orders/{orderId}/shipmentConfirmation` | `confirmShipment` (ordersV0) | 2 | 10 |
//! | `GET /listings/2021-08-01/items/{sellerId}` | `searchListingsItems` | 5 | 5 |
//! | `GET /listings/2021-08-01/items/{sellerId}/{sku}` | `getListingsItem` | 5 | 10 |
//! | `PATCH /listings/2021-08-01/items/{sellerId}/{sku}` | `patchListingsItem` | 5 | 5 |
//! | `PUT /listings/2021-08-01/items/{sellerId}/{sku}` | `putListingsItem` | 5 | 10 |
//! | `DELETE /listings/2021-08-01/items/{sellerId}/{sku}` | `deleteListingsItem` | 5 | 5 |
//! | `GET /fba/inventory/v1/summaries` | `getInventorySummaries` (fbaInventory) | 2 | 2 |
//! | `GET /sellers/v1/marketplaceParticipations` | `getMarketplaceParticipations` (sellers) | 0.016 | 15 |
//! | `GET /sellers/v1/account` | `getAccount` (sellers) | 0.016 | 15 |
//!
//! The deprecated Orders v0 reads (getOrders, getOrder, getOrderItems, getOrderAddress,
//! getOrderBuyerInfo) are not served: cartgate must not build on them. Any other path
//! answers 404 `{"errors": [{"code": "NotFound", "message": "Resource not found", …}]}`.
//!
//! Every SP-API answer carries `x-amzn-RequestId`; answers of a known operation with
//! status 200, 204, 400 or 404 also `x-amzn-RateLimit-Limit` (the operation's rate in
//! requests per second), as the models declare. Errors are SP-API's
//! `{"errors": [{"code", "message", "details"}]}` (FBA inventory's wrapper is its
//! `GetInventorySummariesResponse`, also with `errors`).
//!
//! Array parameters are comma-separated (Swagger `csv`); repeating the parameter works
//! too. Times are ISO 8601 (an offset or `Z`; without one, UTC).
//!
//! # Authentication
//!
//! `POST /auth/o2/token` takes a form (or JSON) body `grant_type=refresh_token`,
//! `refresh_token`, `client_id`, `client_secret` (the banner's credentials) and answers
//! `{"access_token": "Atza|…", "token_type": "bearer", "expires_in": 3600,
//! "refresh_token"}`. LWA's errors: 400 `invalid_request` (a missing parameter), 401
//! `invalid_client` (wrong client id or secret), 400 `unsupported_grant_type`, 400
//! `invalid_grant` (unknown or revoked refresh token), each as
//! `{"error", "error_description"}`. The token endpoint is not subject to the fault
//! injection (it is another host in production); see `lwa_failures` below.
//!
//! SP-API routes need `x-amz-access-token: <access token>` (no SigV4 signing, as SP-API
//! since October 2023). Missing or unknown: 403 `Unauthorized` "Access to requested
//! resource is denied." (details "The access token you provided is revoked, malformed or
//! invalid." for an unknown one); expired: 403 with details "The access token you
//! provided has expired.". The lifetime is 3600 s by default
//! (`CARTGATE_SANDBOX_AMAZON_TOKEN_SECONDS` at start, or `/__sandbox/settings`).
//!
//! # Rate limits
//!
//! Per-operation token buckets as the models document them (table above), one per app
//! (client id) and operation: a request takes a token; an empty bucket answers 429
//! `QuotaExceeded` ("You exceeded your quota for the requested resource.") with
//! `x-amzn-RequestId` only, as the models declare. Switched on by
//! `SandboxOptions::rate_limits` (`cartgate sandbox amazon --rate-limits on`). A scale
//! factor multiplies every rate (bursts stay): `CARTGATE_SANDBOX_AMAZON_RATE_SCALE` at
//! start (default 1) or `/__sandbox/rate_limits`, so tests run Amazon's shape faster;
//! `x-amzn-RateLimit-Limit` reports the scaled rate. With rate limits off nothing is
//! refused and the header reports 1000000 requests/s, so a client pacing from it never
//! waits.
//!
//! # Behaviour worth knowing
//!
//! * `searchOrders` needs exactly one of `createdAfter` / `lastUpdatedAfter`; the other
//!   bound's `…Before` may not be given with it; an explicit `…Before` must be at least
//!   two minutes before the request. Without one, everything up to the request time is
//!   included (no settle delay: writes show at once) and the answer's
//!   `createdBefore` / `lastUpdatedBefore` says that bound. Results are sorted by the
//!   filtered time, then order id, up to `maxResultsPerPage` (1..=100, default 100);
//!   `pagination.nextToken` is passed back as `paginationToken` with the same other
//!   parameters (else 400). `includedData` chooses the datasets (none by default).
//! * PII is gated by the app's roles: with `pii_access` off (`/__sandbox/settings`)
//!   orders carry no buyer name, e-mail or company and no recipient name, street, phone.
//!   Pending orders, Amazon-fulfilled orders (city, region, postal code, country only)
//!   and old orders carry no PII anyway.
//! * `confirmShipment`: merchant-fulfilled `UNSHIPPED` / `PARTIALLY_SHIPPED` orders only
//!   (Amazon-fulfilled: 400), `marketplaceId` of the order, `packageReferenceId` a positive
//!   number as a string and unique per order, `carrierCode` (with `carrierName` when it is
//!   `Other`), `trackingNumber`, `shipDate` (ISO 8601, not before the order), order items
//!   of the order with at most their unshipped quantity. 204; the package then shows in
//!   `packages` (carrier = `carrierName` or `carrierCode`, `shippingService` =
//!   `shippingMethod`) and the status moves to `PARTIALLY_SHIPPED` or `SHIPPED`.
//! * Listings: `patchListingsItem` applies `add`/`replace`/`merge`/`delete` on
//!   `/attributes/{name}` (top level only, else 400 "Invalid path provided in patch at
//!   index of N."). Unknown attributes answer 200 `INVALID` with issue `90000900`, bad
//!   values `4000001`, a product type other than the listing's `4000003`; a submission for
//!   an unknown SKU is `ACCEPTED` and lists nothing, as Amazon does. `purchasable_offer`
//!   (`our_price[0].schedule[0].value_with_tax`) sets the offer price,
//!   `fulfillment_availability` (`DEFAULT` with `quantity`) the merchant-fulfilled stock.
//!   `putListingsItem` creates or replaces (`LISTING` needs `item_name` and
//!   `condition_type`: else `INVALID` with `90220`); a `child_parent_sku_relationship`
//!   joins the child to its parent's variation family. Writes apply at once; `mode=
//!   VALIDATION_PREVIEW` only validates.
//! * Amazon-fulfilled listings carry `fulfillment_availability` `AMAZON_NA` without a
//!   quantity: their stock is in `getInventorySummaries` (NA pool, shared by US, CA and
//!   MX). Some SKUs are both merchant- and Amazon-fulfilled.
//! * Writes are stamped with the wall clock (never going back); seeded data is older,
//!   spread before 2025-06-01T12:00:00Z (`SANDBOX_EPOCH`): orders up to 400 days before
//!   it, listings up to 420 days.
//!
//! # Control routes
//!
//! Besides the shared `/__sandbox/faults`, `/__sandbox/stats` and `/__sandbox/hold`
//! (see [`cartgate_connector::sandbox`]; they apply to the SP-API routes):
//!
//! * `GET|PUT /__sandbox/settings` `{"pii_access": bool, "token_lifetime_seconds": n,
//!   "refresh_token_valid": bool, "lwa_failures": n}` (keys optional on PUT):
//!   `refresh_token_valid: false` revokes the refresh token (LWA answers `invalid_grant`),
//!   `lwa_failures: n` makes the next n token requests answer 500 `server_error`. `GET`
//!   also shows `tokens_issued`.
//! * `DELETE /__sandbox/tokens` expires every access token issued so far (they answer the
//!   "expired" 403 from then on): answers `{"expired": n}`.
//! * `GET|PUT /__sandbox/rate_limits` `{"enabled": bool, "scale": f64, "operations":
//!   {operationId: {"rate": f64, "burst": n}}}` (keys optional on PUT; a PUT refills every
//!   bucket and zeroes the counters). `GET` adds per operation the `effective_rate`,
//!   `requests` (that reached the limiter) and `throttled` (429s).
//! * `POST /__sandbox/simulate` (see [`cartgate_connector::sandbox`]): changes made in
//!   Seller Central. `order.created` places a merchant-fulfilled US order (its quantity
//!   taken off the merchant stock); `order.updated` moves an order on (a pre-order
//!   becomes pending, a pending order is paid, an unshipped one gets a buyer cancellation
//!   request, a shipped one is delivered); `product.created` lists a new SKU;
//!   `product.updated` renames a listing; `product.deleted` deletes one (a parent with its
//!   children). Ids are order ids and SKUs (default: the newest). Customers: 409, Amazon
//!   has none.

// Helpers answer early with the platform's error response; the sandbox is not a hot path.
#![allow(clippy::result_large_err)]

mod data;
mod listings;
mod orders;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cartgate_connector::sandbox::{
    random_hex, router_with_faults, serve, simulate_router, CannedResponse, FaultResponses, Faults,
    SandboxBanner, SandboxHandle, SandboxOptions, Simulate, SimulateError,
};
use cartgate_connector::webhook::EventType;
use percent_encoding::percent_decode_str;
use rand::Rng;
use serde_json::{json, Value};

pub use data::{BR, CA, MX, US};

/// The access token lifetime LWA gives: one hour.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The rate `x-amzn-RateLimit-Limit` reports while rate limits are off.
pub const UNLIMITED_RATE: f64 = 1_000_000.0;

/// N raw orders as the sandbox seeds them, with every `includedData` dataset (the
/// `order` of a `getOrder` answer asking for all of them): deterministic for a seed.
pub fn seeded_orders(n: usize, seed: u64) -> Vec<Value> {
    let opts = SandboxOptions {
        seed,
        orders: n,
        ..Default::default()
    };
    let db = data::Db::seed(&opts);
    let mut orders: Vec<&data::Order> = db.orders.values().collect();
    orders.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    orders.into_iter().map(|o| o.doc.clone()).collect()
}

/// The seeded listings as `getListingsItem` answers them with every dataset, for every
/// marketplace they are listed in: deterministic for a seed.
pub fn seeded_listings(products: usize, seed: u64) -> Vec<Value> {
    let opts = SandboxOptions {
        seed,
        products,
        orders: 0,
        ..Default::default()
    };
    let db = data::Db::seed(&opts);
    let sets: Vec<String> = listings::READ_DATASETS
        .iter()
        .map(|s| s.to_string())
        .collect();
    db.listings
        .values()
        .map(|l| listings::render(&db, l, &l.marketplaces, &sets))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Requests and replies
// ---------------------------------------------------------------------------------------

/// A request's query parameters, in order.
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: &str) -> Query {
        Query {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of an array parameter: comma-separated, or repeated.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A handler's answer: status and JSON body (none for 204).
pub struct Reply {
    status: StatusCode,
    body: Option<Value>,
}

impl Reply {
    pub fn empty(status: StatusCode) -> Reply {
        Reply { status, body: None }
    }
}

pub fn sp_json(status: StatusCode, body: Value) -> Reply {
    Reply {
        status,
        body: Some(body),
    }
}

/// SP-API's error body.
pub fn sp_error(status: StatusCode, code: &str, message: &str, details: &str) -> Reply {
    sp_json(
        status,
        json!({"errors": [{"code": code, "message": message, "details": details}]}),
    )
}

pub(crate) fn random_hex32(rng: &mut impl Rng) -> String {
    random_hex(rng, 32)
}

// ---------------------------------------------------------------------------------------
// Operations and their rate limits
// ---------------------------------------------------------------------------------------

/// The SP-API operations served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    SearchOrders,
    GetOrder,
    ConfirmShipment,
    SearchListingsItems,
    GetListingsItem,
    PatchListingsItem,
    PutListingsItem,
    DeleteListingsItem,
    GetInventorySummaries,
    GetMarketplaceParticipations,
    GetAccount,
}

impl Op {
    pub const ALL: [Op; 11] = [
        Op::SearchOrders,
        Op::GetOrder,
        Op::ConfirmShipment,
        Op::SearchListingsItems,
        Op::GetListingsItem,
        Op::PatchListingsItem,
        Op::PutListingsItem,
        Op::DeleteListingsItem,
        Op::GetInventorySummaries,
        Op::GetMarketplaceParticipations,
        Op::GetAccount,
    ];

    /// The model's `operationId`.
    pub fn id(self) -> &'static str {
        match self {
            Op::SearchOrders => "searchOrders",
            Op::GetOrder => "getOrder",
            Op::ConfirmShipment => "confirmShipment",
            Op::SearchListingsItems => "searchListingsItems",
            Op::GetListingsItem => "getListingsItem",
            Op::PatchListingsItem => "patchListingsItem",
            Op::PutListingsItem => "putListingsItem",
            Op::DeleteListingsItem => "deleteListingsItem",
            Op::GetInventorySummaries => "getInventorySummaries",
            Op::GetMarketplaceParticipations => "getMarketplaceParticipations",
            Op::GetAccount => "getAccount",
        }
    }

    /// The usage plan the model documents: (requests per second, burst).
    pub fn usage_plan(self) -> (f64, u32) {
        match self {
            Op::SearchOrders => (0.0056, 20),
            Op::GetOrder => (0.5, 30),
            Op::ConfirmShipment => (2.0, 10),
            Op::SearchListingsItems => (5.0, 5),
            Op::GetListingsItem => (5.0, 10),
            Op::PatchListingsItem => (5.0, 5),
            Op::PutListingsItem => (5.0, 10),
            Op::DeleteListingsItem => (5.0, 5),
            Op::GetInventorySummaries => (2.0, 2),
            Op::GetMarketplaceParticipations | Op::GetAccount => (0.016, 15),
        }
    }

    fn from_id(id: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.id() == id)
    }
}

struct Limits {
    enabled: bool,
    scale: f64,
    plans: HashMap<Op, (f64, u32)>,
    /// (client id, operation) → (tokens, last refill).
    buckets: HashMap<(String, Op), (f64, Instant)>,
    /// Per operation: (requests that reached the limiter, 429s).
    counts: HashMap<Op, (u64, u64)>,
}

impl Limits {
    fn new(enabled: bool, scale: f64) -> Limits {
        Limits {
            enabled,
            scale,
            plans: Op::ALL.iter().map(|o| (*o, o.usage_plan())).collect(),
            buckets: HashMap::new(),
            counts: HashMap::new(),
        }
    }

    fn plan(&self, op: Op) -> (f64, u32) {
        let (rate, burst) = self
            .plans
            .get(&op)
            .copied()
            .unwrap_or_else(|| op.usage_plan());
        (rate * self.scale, burst)
    }

    /// Takes a token for `who` and `op`; false when the bucket is empty.
    fn take(&mut self, who: &str, op: Op) -> bool {
        let enabled = self.enabled;
        let (rate, burst) = self.plan(op);
        let c = self.counts.entry(op).or_default();
        c.0 += 1;
        if !enabled {
            return true;
        }
        let now = Instant::now();
        let b = self
            .buckets
            .entry((who.to_owned(), op))
            .or_insert((f64::from(burst), now));
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * rate).min(f64::from(burst));
        b.1 = now;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            c.1 += 1;
            false
        }
    }

    /// The `x-amzn-RateLimit-Limit` value for `op`.
    fn header(&self, op: Op) -> String {
        let rate = if self.enabled {
            self.plan(op).0
        } else {
            UNLIMITED_RATE
        };
        let s = format!("{rate:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }

    fn state(&self) -> Value {
        let ops: serde_json::Map<String, Value> = Op::ALL
            .iter()
            .map(|op| {
                let (rate, burst) = self.plans.get(op).copied().unwrap_or(op.usage_plan());
                let (requests, throttled) = self.counts.get(op).copied().unwrap_or_default();
                (
                    op.id().to_owned(),
                    json!({
                        "rate": rate,
                        "burst": burst,
                        "effective_rate": rate * self.scale,
                        "requests": requests,
                        "throttled": throttled,
                    }),
                )
            })
            .collect();
        json!({"enabled": self.enabled, "scale": self.scale, "operations": ops})
    }
}

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

struct Settings {
    pii_access: bool,
    token_lifetime: Duration,
    refresh_token_valid: bool,
    lwa_failures: u32,
}

struct Token {
    expires: Instant,
    client_id: String,
}

struct Sandbox {
    db: Mutex<data::Db>,
    settings: Mutex<Settings>,
    tokens: Mutex<HashMap<String, Token>>,
    tokens_issued: AtomicU64,
    limits: Mutex<Limits>,
    requests: AtomicU64,
    seed: u64,
}

type S = Arc<Sandbox>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Handlers never panic while holding a lock; recover from poisoning anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn env_number(name: &str) -> Option<f64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x > 0.0)
}

/// How SP-API fails: its own error bodies for 500 and 503, API Gateway's for 502 and 504.
fn fault_responses() -> FaultResponses {
    FaultResponses {
        server_error: Arc::new(|status| match status.as_u16() {
            503 => CannedResponse::json(json!({"errors": [{
                "code": "ServiceUnavailable",
                "message": "Service is temporarily unavailable. Please try again.",
                "details": "",
            }]})),
            502 => CannedResponse::json(json!({"message": "Internal server error"})),
            504 => CannedResponse::json(json!({"message": "Endpoint request timed out"})),
            _ => CannedResponse::json(json!({"errors": [{
                "code": "InternalFailure",
                "message": "We encountered an internal error. Please try again.",
                "details": "",
            }]})),
        }),
        rate_limited: CannedResponse::json(json!({"errors": [{
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }]})),
    }
}

/// Starts the sandbox on `listener` (bind it to 127.0.0.1).
pub async fn start(
    listener: tokio::net::TcpListener,
    opts: SandboxOptions,
) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let db = data::Db::seed(&opts);
    let credentials = json!({
        "refresh_token": db.refresh_token,
        "client_id": db.client_id,
        "client_secret": db.client_secret,
        "selling_partner_id": db.seller_id,
        "endpoint": base_url,
        "lwa_endpoint": format!("{base_url}/auth/o2/token"),
    });
    let lifetime = env_number("CARTGATE_SANDBOX_AMAZON_TOKEN_SECONDS")
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    let scale = env_number("CARTGATE_SANDBOX_AMAZON_RATE_SCALE").unwrap_or(1.0);
    let state = Arc::new(Sandbox {
        db: Mutex::new(db),
        settings: Mutex::new(Settings {
            pii_access: true,
            token_lifetime: lifetime,
            refresh_token_valid: true,
            lwa_failures: 0,
        }),
        tokens: Mutex::new(HashMap::new()),
        tokens_issued: AtomicU64::new(0),
        limits: Mutex::new(Limits::new(opts.rate_limits, scale)),
        requests: AtomicU64::new(0),
        seed: opts.seed,
    });
    let api = Router::new().fallback(dispatch).with_state(state.clone());
    let faults = Faults::from_options(&opts).with_responses(fault_responses());
    let control = Router::new()
        .route("/auth/o2/token", post(lwa_token))
        .route("/__sandbox/settings", get(get_settings).put(put_settings))
        .route("/__sandbox/tokens", delete(expire_tokens))
        .route(
            "/__sandbox/rate_limits",
            get(get_rate_limits).put(put_rate_limits),
        )
        .with_state(state.clone());
    let simulated = state.clone();
    let app = router_with_faults(api, faults)
        .merge(control)
        .merge(simulate_router(Arc::new(move |req: &Simulate| {
            simulate(&simulated, req)
        })));
    let banner = SandboxBanner {
        platform: "amazon".into(),
        base_url,
        credentials,
    };
    Ok(serve(listener, app, banner).await)
}

// ---------------------------------------------------------------------------------------
// Login with Amazon
// ---------------------------------------------------------------------------------------

fn lwa_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (
        status,
        Json(json!({"error_description": description, "error": error})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `POST /auth/o2/token`.
async fn lwa_token(State(s): State<S>, headers: HeaderMap, body: Bytes) -> Response {
    {
        let mut st = lock(&s.settings);
        if st.lwa_failures > 0 {
            st.lwa_failures -= 1;
            return lwa_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The authorization server encountered an unexpected condition",
            );
        }
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    let params: HashMap<String, String> = if json_body {
        match serde_json::from_slice::<serde_json::Map<String, Value>>(&body) {
            Ok(m) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect(),
            Err(_) => {
                return lwa_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request body is not valid JSON",
                )
            }
        }
    } else {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let missing = |k: &str| {
        lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("The request is missing a required parameter : {k}"),
        )
    };
    let Some(grant) = p("grant_type") else {
        return missing("grant_type");
    };
    let (client_id, client_secret, refresh_token) = {
        let db = lock(&s.db);
        (
            db.client_id.clone(),
            db.client_secret.clone(),
            db.refresh_token.clone(),
        )
    };
    if p("client_id") != Some(client_id.as_str())
        || p("client_secret") != Some(client_secret.as_str())
    {
        return lwa_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    if grant != "refresh_token" {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        );
    }
    let Some(given) = p("refresh_token") else {
        return missing("refresh_token");
    };
    let (valid, lifetime) = {
        let st = lock(&s.settings);
        (st.refresh_token_valid, st.token_lifetime)
    };
    if !valid || given != refresh_token {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
    }
    let n = s.tokens_issued.fetch_add(1, Ordering::Relaxed) + 1;
    let token = {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = cartgate_connector::sandbox::seeded_rng(s.seed ^ n, "access-tokens");
        let body: String = (0..280)
            .map(|_| char::from(B64[rng.gen_range(0..B64.len())]))
            .collect();
        format!("Atza|IwEB{body}")
    };
    lock(&s.tokens).insert(
        token.clone(),
        Token {
            expires: Instant::now() + lifetime,
            client_id: client_id.clone(),
        },
    );
    let mut r = Json(json!({
        "access_token": token,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

// ---------------------------------------------------------------------------------------
// Control routes
// ---------------------------------------------------------------------------------------

fn settings_json(s: &Sandbox) -> Value {
    let st = lock(&s.settings);
    json!({
        "pii_access": st.pii_access,
        "token_lifetime_seconds": st.token_lifetime.as_secs_f64(),
        "refresh_token_valid": st.refresh_token_valid,
        "lwa_failures": st.lwa_failures,
        "tokens_issued": s.tokens_issued.load(Ordering::Relaxed),
    })
}

async fn get_settings(State(s): State<S>) -> Json<Value> {
    Json(settings_json(&s))
}

fn control_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

async fn put_settings(State(s): State<S>, body: Bytes) -> Response {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&body) else {
        return control_error("expected a JSON object");
    };
    let mut next = {
        let st = lock(&s.settings);
        Settings {
            pii_access: st.pii_access,
            token_lifetime: st.token_lifetime,
            refresh_token_valid: st.refresh_token_valid,
            lwa_failures: st.lwa_failures,
        }
    };
    for (k, v) in &patch {
        match (k.as_str(), v) {
            ("pii_access", Value::Bool(b)) => next.pii_access = *b,
            ("refresh_token_valid", Value::Bool(b)) => next.refresh_token_valid = *b,
            ("token_lifetime_seconds", v) => match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => {
                    next.token_lifetime = Duration::from_secs_f64(x)
                }
                _ => return control_error("token_lifetime_seconds must be a positive number"),
            },
            ("lwa_failures", v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => next.lwa_failures = n,
                None => return control_error("lwa_failures must be a non-negative integer"),
            },
            (k, _) => return control_error(&format!("unknown or mistyped setting {k:?}")),
        }
    }
    *lock(&s.settings) = next;
    Json(settings_json(&s)).into_response()
}

async fn expire_tokens(State(s): State<S>) -> Json<Value> {
    let now = Instant::now();
    let mut tokens = lock(&s.tokens);
    let mut n = 0;
    for t in tokens.values_mut() {
        if t.expires > now {
            t.expires = now;
            n += 1;
        }
    }
    Json(json!({"expired": n}))
}

async fn get_rate_limits(State(s): State<S>) -> Json<Value> {
    Json(lock(&s.limits).state())
}

async fn put_rate_limits(State(s): State<S>, body: Bytes) -> Response {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&body) else {
        return control_error("expected a JSON object");
    };
    let mut l = lock(&s.limits);
    let mut enabled = l.enabled;
    let mut scale = l.scale;
    let mut plans = l.plans.clone();
    for (k, v) in &patch {
        match k.as_str() {
            "enabled" => match v.as_bool() {
                Some(b) => enabled = b,
                None => return control_error("enabled must be a boolean"),
            },
            "scale" => match v.as_f64() {
                Some(x) if x > 0.0 && x.is_finite() => scale = x,
                _ => return control_error("scale must be a positive number"),
            },
            "operations" => {
                let Some(ops) = v.as_object() else {
                    return control_error("operations must be an object keyed by operationId");
                };
                for (id, plan) in ops {
                    let Some(op) = Op::from_id(id) else {
                        return control_error(&format!("unknown operation {id:?}"));
                    };
                    let entry = plans.entry(op).or_insert(op.usage_plan());
                    if let Some(r) = plan.get("rate") {
                        match r.as_f64() {
                            Some(x) if x > 0.0 && x.is_finite() => entry.0 = x,
                            _ => return control_error("rate must be a positive number"),
                        }
                    }
                    if let Some(b) = plan.get("burst") {
                        match b.as_u64().and_then(|n| u32::try_from(n).ok()) {
                            Some(n) if n >= 1 => entry.1 = n,
                            _ => return control_error("burst must be a positive integer"),
                        }
                    }
                }
            }
            other => return control_error(&format!("unknown setting {other:?}")),
        }
    }
    l.enabled = enabled;
    l.scale = scale;
    l.plans = plans;
    l.buckets.clear();
    l.counts.clear();
    Json(l.state()).into_response()
}

/// `POST /__sandbox/simulate`.
fn simulate(s: &Sandbox, req: &Simulate) -> Result<String, SimulateError> {
    let mut db = lock(&s.db);
    match req.event {
        EventType::OrderCreated => Ok(db.new_order()),
        EventType::OrderUpdated => {
            let id = match &req.id {
                Some(id) if db.orders.contains_key(id) => id.clone(),
                Some(id) => return Err(SimulateError::NotFound(format!("no order {id}"))),
                None => db
                    .orders
                    .values()
                    .max_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)))
                    .map(|o| o.id.clone())
                    .ok_or_else(|| {
                        SimulateError::Nothing("the seller has no order to change".into())
                    })?,
            };
            orders::simulate_update(&mut db, &id);
            Ok(id)
        }
        EventType::ProductCreated => Ok(db.new_listing()),
        EventType::ProductUpdated | EventType::ProductDeleted => {
            let sku = match &req.id {
                Some(sku) if db.listings.contains_key(sku) => sku.clone(),
                Some(sku) => return Err(SimulateError::NotFound(format!("no listing {sku}"))),
                None => db
                    .listings
                    .values()
                    .max_by(|a, b| a.created.cmp(&b.created).then_with(|| a.sku.cmp(&b.sku)))
                    .map(|l| l.sku.clone())
                    .ok_or_else(|| {
                        SimulateError::Nothing("the seller has no listing to change".into())
                    })?,
            };
            if req.event == EventType::ProductUpdated {
                listings::simulate_update(&mut db, &sku);
            } else {
                let all: Vec<String> = data::marketplaces()
                    .iter()
                    .map(|m| m.id.to_owned())
                    .collect();
                listings::remove_listing(&mut db, &sku, &all);
            }
            Ok(sku)
        }
        EventType::CustomerCreated | EventType::CustomerUpdated => Err(SimulateError::Nothing(
            "Amazon gives sellers no customer accounts".into(),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// SP-API dispatch
// ---------------------------------------------------------------------------------------

enum Route {
    SearchOrders,
    GetOrder(String),
    ConfirmShipment(String),
    SearchListings(String),
    Listing(Op, String, String),
    InventorySummaries,
    Participations,
    Account,
}

impl Route {
    fn op(&self) -> Op {
        match self {
            Route::SearchOrders => Op::SearchOrders,
            Route::GetOrder(_) => Op::GetOrder,
            Route::ConfirmShipment(_) => Op::ConfirmShipment,
            Route::SearchListings(_) => Op::SearchListingsItems,
            Route::Listing(op, ..) => *op,
            Route::InventorySummaries => Op::GetInventorySummaries,
            Route::Participations => Op::GetMarketplaceParticipations,
            Route::Account => Op::GetAccount,
        }
    }
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let seg: Vec<String> = path
        .split('/')
        .filter(|x| !x.is_empty())
        .map(|x| percent_decode_str(x).decode_utf8_lossy().into_owned())
        .collect();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let get = method == Method::GET;
    Some(match seg.as_slice() {
        ["orders", "2026-01-01", "orders"] if get => Route::SearchOrders,
        ["orders", "2026-01-01", "orders", id] if get => Route::GetOrder((*id).to_owned()),
        ["orders", "v0", "orders", id, "shipmentConfirmation"] if method == Method::POST => {
            Route::ConfirmShipment((*id).to_owned())
        }
        ["listings", "2021-08-01", "items", seller] if get => {
            Route::SearchListings((*seller).to_owned())
        }
        ["listings", "2021-08-01", "items", seller, sku] => {
            let op = match *method {
                Method::GET => Op::GetListingsItem,
                Method::PATCH => Op::PatchListingsItem,
                Method::PUT => Op::PutListingsItem,
                Method::DELETE => Op::DeleteListingsItem,
                _ => return None,
            };
            Route::Listing(op, (*seller).to_owned(), (*sku).to_owned())
        }
        ["fba", "inventory", "v1", "summaries"] if get => Route::InventorySummaries,
        ["sellers", "v1", "marketplaceParticipations"] if get => Route::Participations,
        ["sellers", "v1", "account"] if get => Route::Account,
        _ => return None,
    })
}

impl Sandbox {
    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let mut rng = cartgate_connector::sandbox::seeded_rng(self.seed ^ n, "request-ids");
        let h = random_hex(&mut rng, 32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    fn respond(&self, reply: Reply, op: Option<Op>) -> Response {
        let mut r = match reply.body {
            Some(body) => (reply.status, Json(body)).into_response(),
            None => reply.status.into_response(),
        };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.request_id()) {
            h.insert("x-amzn-RequestId", v);
        }
        if let Some(op) = op {
            if matches!(reply.status.as_u16(), 200 | 204 | 400 | 404) {
                if let Ok(v) = HeaderValue::from_str(&lock(&self.limits).header(op)) {
                    h.insert("x-amzn-RateLimit-Limit", v);
                }
            }
        }
        r
    }

    /// The app (client id) of a valid access token.
    fn authenticate(&self, headers: &HeaderMap) -> Result<String, Reply> {
        let denied = |details: &str| {
            sp_error(
                StatusCode::FORBIDDEN,
                "Unauthorized",
                "Access to requested resource is denied.",
                details,
            )
        };
        let Some(token) = headers
            .get("x-amz-access-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Err(denied(""));
        };
        let tokens = lock(&self.tokens);
        match tokens.get(token) {
            None => Err(denied(
                "The access token you provided is revoked, malformed or invalid.",
            )),
            Some(t) if Instant::now() >= t.expires => {
                Err(denied("The access token you provided has expired."))
            }
            Some(t) => Ok(t.client_id.clone()),
        }
    }
}

async fn dispatch(
    State(s): State<S>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = route(&method, uri.path()) else {
        return s.respond(
            sp_error(StatusCode::NOT_FOUND, "NotFound", "Resource not found", ""),
            None,
        );
    };
    let op = route.op();
    let who = match s.authenticate(&headers) {
        Ok(w) => w,
        Err(r) => return s.respond(r, None),
    };
    if !lock(&s.limits).take(&who, op) {
        return s.respond(
            sp_error(
                StatusCode::TOO_MANY_REQUESTS,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
                "",
            ),
            None,
        );
    }
    if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        let json_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
        if !json_type {
            return s.respond(
                sp_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    "The request payload is in an unsupported format.",
                    "",
                ),
                None,
            );
        }
    }
    let q = Query::parse(uri.query().unwrap_or(""));
    let pii = lock(&s.settings).pii_access;
    let reply = {
        let mut db = lock(&s.db);
        match &route {
            Route::SearchOrders => {
                let now = chrono::Utc::now().timestamp();
                orders::search_orders(&db, &q, pii, now)
            }
            Route::GetOrder(id) => orders::get_order(&db, id, &q, pii),
            Route::ConfirmShipment(id) => orders::confirm_shipment(&mut db, id, &body),
            Route::SearchListings(seller) => listings::search_items(&db, seller, &q),
            Route::Listing(op, seller, sku) => match op {
                Op::GetListingsItem => listings::get_item(&db, seller, sku, &q),
                Op::PatchListingsItem => listings::patch_item(&mut db, seller, sku, &q, &body),
                Op::PutListingsItem => listings::put_item(&mut db, seller, sku, &q, &body),
                _ => listings::delete_item(&mut db, seller, sku, &q),
            },
            Route::InventorySummaries => listings::inventory_summaries(&db, &q),
            Route::Participations => listings::participations(&db),
            Route::Account => account(&db),
        }
    };
    s.respond(reply, Some(op))
}

/// `GET /sellers/v1/account`.
fn account(db: &data::Db) -> Reply {
    let participations = match listings::participations(db).body {
        Some(Value::Object(mut o)) => o.remove("payload").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let (name, line1, city, state, postal, country) = data::SHIP_FROM;
    let _ = name;
    sp_json(
        StatusCode::OK,
        json!({"payload": {
            "marketplaceParticipationList": participations,
            "businessType": "PRIVATE_LIMITED",
            "sellingPlan": "PROFESSIONAL",
            "business": {
                "name": format!("{} LLC", db.store_name),
                "registeredBusinessAddress": {
                    "addressLine1": line1,
                    "city": city,
                    "stateOrProvinceCode": state,
                    "postalCode": postal,
                    "countryCode": country,
                },
            },
        }}),
    )
}

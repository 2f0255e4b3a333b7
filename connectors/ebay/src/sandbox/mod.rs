//! A local simulator of the eBay Sell APIs the connector speaks, faithful to eBay's official
//! OpenAPI 3 contracts (../shared/platform-specs/ebay/openapi: `sell_fulfillment_v1`,
//! `sell_inventory_v1`, `sell_account_v1`, `commerce_identity_v1`,
//! `commerce_notification_v1`): their paths, parameters and encodings, error bodies and OAuth
//! scopes. Data is seeded deterministically (see `data`); `tests/sandbox_spec.rs` validates
//! every answer the connector uses against the contracts' schemas.
//!
//! # Served
//!
//! Everything is served from one base URL (eBay spreads these over `api.ebay.com`,
//! `apiz.ebay.com` and the identity host); the banner's `endpoint` and `auth_endpoint` are
//! both that base.
//!
//! * `POST /identity/v1/oauth2/token`: OAuth 2 token endpoint (see "Authentication").
//! * Sell Fulfillment `/sell/fulfillment/v1`: `GET order` (getOrders), `GET order/{orderId}`,
//!   `GET|POST order/{orderId}/shipping_fulfillment`,
//!   `GET order/{orderId}/shipping_fulfillment/{fulfillmentId}`.
//! * Sell Inventory `/sell/inventory/v1`: `GET inventory_item`, `GET|PUT|DELETE
//!   inventory_item/{sku}`, `GET|PUT|DELETE inventory_item_group/{inventoryItemGroupKey}`,
//!   `GET|POST offer`, `GET|PUT|DELETE offer/{offerId}`, `POST offer/{offerId}/publish`,
//!   `POST bulk_update_price_quantity`, `GET location`, `GET location/{merchantLocationKey}`.
//! * Sell Account `/sell/account/v1`: `GET privilege`.
//! * Commerce Identity `/commerce/identity/v1`: `GET user/`.
//! * Notification `/commerce/notification/v1`: `GET|PUT config`, `GET|POST destination`,
//!   `GET|PUT|DELETE destination/{id}`, `GET public_key/{public_key_id}`, `GET|POST
//!   subscription`, `GET|PUT|DELETE subscription/{id}`, `POST
//!   subscription/{id}/{enable|disable|test}`, `GET topic`, `GET topic/{topic_id}`.
//!
//! [`served_routes`] lists them with the scopes each accepts (the contract's `security`).
//! Unknown paths answer 404 with eBay's gateway body (`errorId` 2002, domain `ACCESS`).
//!
//! # Authentication
//!
//! `POST /identity/v1/oauth2/token` takes `application/x-www-form-urlencoded` bodies with
//! HTTP Basic `client_id:client_secret`:
//!
//! * `grant_type=refresh_token&refresh_token=…[&scope=…]`: a user access token
//!   (`token_type` "User Access Token"). `scope` (space-separated) must be a subset of the
//!   refresh token's scopes (absent: all of them), else 400 `invalid_scope`. A wrong or
//!   revoked refresh token is 400 `invalid_grant`.
//! * `grant_type=client_credentials[&scope=…]`: an application token ("Application Access
//!   Token") with `https://api.ebay.com/oauth/api_scope` only.
//! * Wrong client credentials: 401 `invalid_client`; another grant: 400
//!   `unsupported_grant_type`; a missing parameter: 400 `invalid_request`.
//!
//! Access tokens expire after `expires_in` seconds: 7200 by default (eBay's two hours), or
//! `CARTGATE_SANDBOX_EBAY_TOKEN_SECONDS` at start, or `access_token_seconds` in
//! `PUT /__sandbox/settings`. API calls without a token answer 401 `errorId` 1002, with an
//! unknown or expired one 401 `errorId` 1001 ("Invalid access token"), and with a token
//! lacking every scope the contract lists for the operation 403 `errorId` 1100 ("Access
//! denied" / "Insufficient permissions to fulfill the request.").
//!
//! # Sell Fulfillment
//!
//! `getOrders` reads `filter` (`creationdate:[start..end]`, `lastmodifieddate:[start..]`,
//! `orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}` or `{FULFILLED|IN_PROGRESS}`),
//! `orderIds` (at most 50; the other parameters are then ignored), `limit` (1..=200,
//! default 50), `offset` (records, default 0) and `fieldGroups` (`TAX_BREAKDOWN` adds
//! `taxType` to line items' `taxes`). As eBay requires, the filter's `[`, `]`, `{`, `|`, `}`
//! must be percent-encoded: a query with them raw is refused (400, `errorId` 30800). Dates
//! are ISO 8601 UTC; the errors are the contract's (30700 unknown filter, 30800 bad value,
//! 30810 date format, 30820 no start date, 30830 range over two years (measured up to the
//! sandbox clock at most, the "now" of its data), 30840 start after end, 30850 dates after
//! the wall clock, 30900 more than 50 ids, 31000 offset, 31100 limit, 32800
//! field group). Without a filter, orders created in the 90 days before the sandbox clock
//! are returned (eBay: the last 90 days). With both date filters only `creationdate`
//! counts. Orders come newest first; the page has `href`, `total`, `limit`, `offset`, and
//! `next`/`prev` when there are such pages. As on eBay, `cancelStatus.cancelRequests` is
//! always empty in getOrders; `getOrder` fills it. Cancelled orders are reported with
//! `orderFulfillmentStatus` `FULFILLED` (nothing is left to ship), as eBay is reported to
//! do: `cancelStatus.cancelState` says they were cancelled.
//!
//! `createShippingFulfillment` takes one package: `lineItems` (`lineItemId`, `quantity`,
//! default 1), `shippingCarrierCode` and `trackingNumber` (both or neither), `shippedDate`
//! (default now). It answers 201 with `Location` naming the new fulfillment (its id is the
//! tracking number, as on eBay, or a generated number without one), marks the line items
//! and the order `IN_PROGRESS` or `FULFILLED`, adds the order's `fulfillmentHrefs`, moves
//! its `lastModifiedDate`, and pushes `ITEM_MARKED_SHIPPED`. Errors: 32100 unknown order
//! (404), 32200 unknown line item, 32210 a line item twice, 32300 carrier or tracking
//! number missing or invalid, 32500 shipped date invalid or in the future, 32600 invalid
//! input (no line items, a quantity beyond what is left to ship, a cancelled order), 34500
//! a tracking number the order already has.
//!
//! # Sell Inventory
//!
//! Inventory items by SKU (`createOrReplaceInventoryItem` replaces the whole item and needs
//! `Content-Language`; SKUs are letters, digits, `-` and `_`, at most 50: else 25707;
//! weight units `POUND|KILOGRAM|OUNCE|GRAM`, dimension units `INCH|FEET|CENTIMETER|METER`,
//! else 25715; `availabilityDistributions` must name known locations, else 25709). Missing
//! items answer 404 `errorId` 25710. `getInventoryItems` and `getOffers` read `offset` as
//! a *page number* and `limit` (1..=200, default 25 and 100), as their contract says; their
//! `next` links are the way to page. Item groups carry `variantSKUs` and `variesBy`; an item
//! in a group lists it in `groupIds` and `inventoryItemGroupKeys`.
//!
//! Offers: `getOffers?sku=` (required, else 25709; a SKU without offers answers 404
//! `errorId` 25713, as eBay does), `createOffer` (needs an existing SKU, `marketplaceId`
//! and `format`; one offer per SKU, marketplace and format, else 25002), `updateOffer`
//! (replaces the offer, 204), `deleteOffer`, `publishOffer` (needs price 25003, quantity
//! 25004, `categoryId` 25005, the three listing policies 25007/25008/25009, a known
//! location 25012, a product title 25016; answers `listingId`). `bulkUpdatePriceQuantity`
//! takes at most 25 requests (else 25709) and answers 200, or 207 when some failed, with a
//! status per SKU/offer. Two locations are seeded: a warehouse and a store.
//!
//! Bodies that are not JSON answer 400 `errorId` 2004 (domain `ACCESS`).
//!
//! # Notification API and pushes
//!
//! A destination needs an alert config first (`PUT config`, else 409 `errorId` 195003).
//! Creating or enabling a destination runs eBay's endpoint validation: the sandbox calls
//! `GET {endpoint}?challenge_code=…` and expects 200 with
//! `{"challengeResponse": hex(SHA-256(challengeCode + verificationToken + endpoint))}`,
//! else 409 `errorId` 195020 (the verification token must be 32 to 80 letters, digits, `_`
//! or `-`: 195019). Unlike eBay, `http://` endpoints are accepted (the sandbox is local).
//! Subscriptions (`topicId`, `destinationId`, `status`, `payload` `{format: JSON,
//! schemaVersion: 1.0, deliveryProtocol: HTTPS}`) to the user topics need a user token
//! with `commerce.notification.subscription` (else 403 195011).
//!
//! Pushes go to every enabled subscription of an enabled destination: `ORDER_CONFIRMATION`
//! for each line item of a new order (`data`: `orderId`, `lineItemId`, `sellerId`,
//! `marketplaceId`) and `ITEM_MARKED_SHIPPED` for each line item of a new shipping
//! fulfillment (`data` also `fulfillmentId`); `POST subscription/{id}/test` pushes a test
//! message of the topic. eBay's published schemas of these topics are not in
//! platform-specs; the envelope (`metadata`, `notification` with `notificationId`,
//! `eventDate`, `publishDate`, `publishAttemptCount`, `data`) is that of eBay's official
//! SDK test vectors. Each push is signed as eBay signs: `X-EBAY-SIGNATURE` is base64 of
//! `{"alg":"ecdsa","kid":…,"signature":base64(DER ECDSA P-256 over SHA-1 of the body),
//! "digest":"SHA1"}`, the body being the compact JSON sent. The key is generated from the
//! seed; `GET public_key/{kid}` serves it as eBay does (`{key, algorithm: "ECDSA",
//! digest: "SHA1"}`, PEM without line breaks; an application token suffices).
//!
//! # Control routes
//!
//! The shared ones (see [`cartgate_connector::sandbox`]): faults, stats, hold, simulate,
//! outbox. Besides: `GET|PUT /__sandbox/settings` `{"access_token_seconds": n,
//! "refresh_token_scopes": [...], "refresh_token_revoked": bool, "expire_access_tokens":
//! true (PUT only: every issued access token expires now)}`; `GET` also shows the signing
//! key id and how many access tokens were issued. `GET /__sandbox/pushes`: the last 1000
//! pushes sent (`topic`, `endpoint`, `notificationId`, `data`).
//!
//! `POST /__sandbox/simulate`: `order.created` copies the newest paid, unshipped order with
//! fresh ids, created now, and pushes `ORDER_CONFIRMATION`; `order.updated` marks a pending
//! payment paid, or else records a buyer's cancel request (`cancelState` `IN_PROGRESS`);
//! `product.created` adds an inventory item without offer; `product.updated` renames an
//! item (by SKU) or a group (by key); `product.deleted` deletes an item and its offers.
//! Customers do not exist on eBay: `customer.*` answers 409. The sandbox clock moves one
//! second per write from the seed epoch, so `lastmodifieddate` polling sees the change.
//!
//! # Rate limits
//!
//! With `SandboxOptions::rate_limits`, a token bucket per access token (5 requests/s, burst
//! 10) answers 429 with eBay's body (`errorId` 2001) and `Retry-After`.

// Helpers answer early with the platform's error response; the sandbox is not a hot path.
#![allow(clippy::result_large_err)]

mod data;
mod fulfillment;
mod inventory;
mod notify;

use std::collections::HashMap;
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
    SimulateError, TokenBucket, WebhookOutbox,
};
use cartgate_connector::webhook::EventType;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use data::Db;

/// eBay's OAuth scopes the sandbox knows.
pub mod scope {
    pub const API: &str = "https://api.ebay.com/oauth/api_scope";
    pub const FULFILLMENT: &str = "https://api.ebay.com/oauth/api_scope/sell.fulfillment";
    pub const FULFILLMENT_RO: &str =
        "https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly";
    pub const INVENTORY: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory";
    pub const INVENTORY_RO: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory.readonly";
    pub const ACCOUNT: &str = "https://api.ebay.com/oauth/api_scope/sell.account";
    pub const ACCOUNT_RO: &str = "https://api.ebay.com/oauth/api_scope/sell.account.readonly";
    pub const IDENTITY_RO: &str = "https://api.ebay.com/oauth/api_scope/commerce.identity.readonly";
    pub const IDENTITY_NAME_RO: &str =
        "https://api.ebay.com/oauth/api_scope/commerce.identity.name.readonly";
    pub const IDENTITY_ADDRESS_RO: &str =
        "https://api.ebay.com/oauth/api_scope/commerce.identity.address.readonly";
    pub const IDENTITY_EMAIL_RO: &str =
        "https://api.ebay.com/oauth/api_scope/commerce.identity.email.readonly";
    pub const IDENTITY_PHONE_RO: &str =
        "https://api.ebay.com/oauth/api_scope/commerce.identity.phone.readonly";
    pub const NOTIFICATION: &str =
        "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription";
    pub const NOTIFICATION_RO: &str =
        "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription.readonly";

    /// The scopes of the seeded refresh token (what the seller consented to).
    pub const GRANTED: [&str; 6] = [
        API,
        FULFILLMENT,
        INVENTORY,
        ACCOUNT,
        IDENTITY_RO,
        NOTIFICATION,
    ];
}

/// eBay's user access token lifetime: two hours.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7200);
/// How many pushes `GET /__sandbox/pushes` keeps.
const PUSH_LOG: usize = 1000;

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    expires: Instant,
    scopes: Vec<String>,
    /// A user token (refresh-token grant) rather than an application token.
    user: bool,
}

struct Auth {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    refresh_scopes: Vec<String>,
    revoked: bool,
    lifetime: Duration,
    tokens: HashMap<String, Token>,
    issued: u64,
    rng: rand::rngs::StdRng,
}

pub(crate) struct Sandbox {
    db: Mutex<Db>,
    auth: Mutex<Auth>,
    pub(crate) base_url: String,
    limiter: Option<TokenBucket>,
    pub(crate) notify: notify::Notifier,
}

type S = Arc<Sandbox>;

impl Sandbox {
    pub(crate) fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        // Handlers never panic while holding the lock; recover from poisoning anyway.
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn auth(&self) -> std::sync::MutexGuard<'_, Auth> {
        self.auth.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How eBay fails: its JSON error for 500 (`errorId` 2003), the edge's pages for 502/503/504,
/// and 429 with `errorId` 2001.
fn fault_responses() -> FaultResponses {
    let default = FaultResponses::default();
    let proxy_page = default.server_error.clone();
    FaultResponses {
        server_error: Arc::new(move |status| {
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                CannedResponse::json(error_body(&[err_doc(
                    2003,
                    "ACCESS",
                    None,
                    "APPLICATION",
                    "Internal error",
                    Some("There was a problem with an eBay internal system or process. Contact eBay developer support for assistance"),
                    &[],
                )]))
            } else {
                proxy_page(status)
            }
        }),
        rate_limited: CannedResponse::json(too_many_body()),
    }
}

fn too_many_body() -> Value {
    error_body(&[err_doc(
        2001,
        "ACCESS",
        None,
        "REQUEST",
        "Too many requests",
        Some("The request limit has been reached for the resource."),
        &[],
    )])
}

/// Starts the sandbox on `listener`. The banner's credentials are what a store of the
/// connector takes: `refresh_token`, `client_id`, `client_secret`, `marketplace_id`,
/// `endpoint` and `auth_endpoint` (both the sandbox's base URL).
pub async fn start(
    listener: tokio::net::TcpListener,
    opts: SandboxOptions,
) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let db = Db::seed(&opts, &base_url);
    let mut rng = seeded_rng(opts.seed, "ebay-credentials");
    let client_id = format!(
        "Cartgate-cartgate-SBX-{}-{}",
        random_hex(&mut rng, 8),
        random_hex(&mut rng, 8)
    );
    let client_secret = format!(
        "SBX-{}-{}",
        random_hex(&mut rng, 12),
        random_hex(&mut rng, 12)
    );
    let refresh_token = format!(
        "v^1.1#i^1#r^1#p^3#I^3#f^0#t^{}",
        base64::engine::general_purpose::STANDARD.encode(random_hex(&mut rng, 48))
    );
    let lifetime = std::env::var("CARTGATE_SANDBOX_EBAY_TOKEN_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    let credentials = json!({
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
        "marketplace_id": "EBAY_US",
        "endpoint": base_url,
        "auth_endpoint": base_url,
    });
    let state = Arc::new(Sandbox {
        db: Mutex::new(db),
        auth: Mutex::new(Auth {
            client_id,
            client_secret,
            refresh_token,
            refresh_scopes: scope::GRANTED.iter().map(|s| (*s).to_owned()).collect(),
            revoked: false,
            lifetime,
            tokens: HashMap::new(),
            issued: 0,
            rng: seeded_rng(opts.seed, "ebay-tokens"),
        }),
        base_url: base_url.clone(),
        limiter: opts.rate_limits.then(|| TokenBucket::new(5.0, 10)),
        notify: notify::Notifier::new(opts.seed, WebhookOutbox::start()),
    });
    let api = Router::new().fallback(dispatch).with_state(state.clone());
    let faults = Faults::from_options(&opts).with_responses(fault_responses());
    let control = Router::new()
        .route("/__sandbox/settings", get(get_settings).put(put_settings))
        .route("/__sandbox/pushes", get(get_pushes))
        .with_state(state.clone());
    let simulated = state.clone();
    let app = router_with_faults(api, faults)
        .merge(control)
        .merge(state.notify.outbox.router())
        .merge(simulate_router(Arc::new(move |req: &Simulate| {
            simulate(&simulated, req)
        })));
    let banner = SandboxBanner {
        platform: "ebay".into(),
        base_url,
        credentials,
    };
    Ok(serve(listener, app, banner).await)
}

// ---------------------------------------------------------------------------------------
// Control routes
// ---------------------------------------------------------------------------------------

fn settings(s: &Sandbox) -> Value {
    let a = s.auth();
    json!({
        "access_token_seconds": a.lifetime.as_secs(),
        "refresh_token_scopes": a.refresh_scopes,
        "refresh_token_revoked": a.revoked,
        "access_tokens_issued": a.issued,
        "signing_key_id": s.notify.kid(),
    })
}

async fn get_settings(State(s): State<S>) -> Json<Value> {
    Json(settings(&s))
}

async fn put_settings(State(s): State<S>, body: Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => Value::Object(m),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "the body must be a JSON object"})),
            )
                .into_response()
        }
    };
    let known = [
        "access_token_seconds",
        "refresh_token_scopes",
        "refresh_token_revoked",
        "expire_access_tokens",
    ];
    if let Some(k) = body
        .as_object()
        .and_then(|m| m.keys().find(|k| !known.contains(&k.as_str())))
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("unknown setting {k:?}: expected one of {known:?}")})),
        )
            .into_response();
    }
    {
        let mut a = s.auth();
        if let Some(v) = body.get("access_token_seconds") {
            match v.as_u64() {
                Some(n) => a.lifetime = Duration::from_secs(n),
                None => {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": "access_token_seconds must be a whole number"})),
                    )
                        .into_response()
                }
            }
        }
        if let Some(v) = body.get("refresh_token_scopes") {
            match v.as_array().and_then(|a| {
                a.iter()
                    .map(|x| x.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            }) {
                Some(list) => a.refresh_scopes = list,
                None => {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": "refresh_token_scopes must be a list of scope URLs"})),
                    )
                        .into_response()
                }
            }
        }
        if let Some(v) = body.get("refresh_token_revoked").and_then(Value::as_bool) {
            a.revoked = v;
        }
        if body.get("expire_access_tokens").and_then(Value::as_bool) == Some(true) {
            let now = Instant::now();
            for t in a.tokens.values_mut() {
                t.expires = now;
            }
        }
    }
    Json(settings(&s)).into_response()
}

async fn get_pushes(State(s): State<S>) -> Json<Value> {
    Json(Value::Array(s.notify.log()))
}

/// `POST /__sandbox/simulate` (see the module docs).
fn simulate(s: &S, req: &Simulate) -> Result<String, SimulateError> {
    match req.event {
        EventType::OrderCreated => {
            let id = s.db().new_order_like_newest().ok_or_else(|| {
                SimulateError::Nothing("the shop has no paid order to copy".into())
            })?;
            notify::push_order_confirmation(s, &id);
            Ok(id)
        }
        EventType::OrderUpdated => fulfillment::simulate_update(s, req.id.as_deref()),
        EventType::ProductCreated => Ok(inventory::simulate_created(s)),
        EventType::ProductUpdated => inventory::simulate_updated(s, req.id.as_deref()),
        EventType::ProductDeleted => inventory::simulate_deleted(s, req.id.as_deref()),
        EventType::CustomerCreated | EventType::CustomerUpdated => Err(SimulateError::Nothing(
            "eBay has no customers: buyers exist only on their orders".into(),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// One entry of eBay's `errors` array.
pub(crate) fn err_doc(
    id: u32,
    domain: &str,
    subdomain: Option<&str>,
    category: &str,
    message: &str,
    long: Option<&str>,
    params: &[(&str, &str)],
) -> Value {
    let mut e = json!({"errorId": id, "domain": domain, "category": category, "message": message});
    if let Some(sd) = subdomain {
        e["subdomain"] = json!(sd);
    }
    if let Some(l) = long {
        e["longMessage"] = json!(l);
    }
    if !params.is_empty() {
        e["parameters"] = Value::Array(
            params
                .iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect(),
        );
    }
    e
}

pub(crate) fn error_body(errors: &[Value]) -> Value {
    json!({ "errors": errors })
}

pub(crate) fn error_response(status: StatusCode, errors: &[Value]) -> Response {
    (status, Json(error_body(errors))).into_response()
}

/// An ACCESS-domain error (eBay's gateway: auth, routing, malformed requests).
fn access_error(status: StatusCode, id: u32, message: &str, long: &str) -> Response {
    error_response(
        status,
        &[err_doc(
            id,
            "ACCESS",
            None,
            "REQUEST",
            message,
            Some(long),
            &[],
        )],
    )
}

fn not_found_route() -> Response {
    access_error(
        StatusCode::NOT_FOUND,
        2002,
        "Resource not found",
        "The requested resource was not found. Check the URI path and the HTTP method.",
    )
}

/// The 400 eBay answers for a body it cannot read (`errorId` 2004).
pub(crate) fn invalid_body(reason: &str) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        &[err_doc(
            2004,
            "ACCESS",
            None,
            "REQUEST",
            "Invalid request",
            Some("The request has errors. For help, see the documentation for this API."),
            &[("reason", reason)],
        )],
    )
}

pub(crate) fn json_ok(v: Value) -> Response {
    Json(v).into_response()
}

/// 201 with a `Location` header and an empty JSON object.
pub(crate) fn created(location: &str, body: Value) -> Response {
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------

/// Every operation the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Token,
    GetOrders,
    GetOrder,
    GetFulfillments,
    CreateFulfillment,
    GetFulfillment,
    GetItems,
    GetItem,
    PutItem,
    DeleteItem,
    GetGroup,
    PutGroup,
    DeleteGroup,
    GetOffers,
    CreateOffer,
    GetOffer,
    PutOffer,
    DeleteOffer,
    PublishOffer,
    BulkPriceQuantity,
    GetLocations,
    GetLocation,
    GetPrivileges,
    GetUser,
    GetConfig,
    PutConfig,
    GetDestinations,
    CreateDestination,
    GetDestination,
    PutDestination,
    DeleteDestination,
    GetPublicKey,
    GetSubscriptions,
    CreateSubscription,
    GetSubscription,
    PutSubscription,
    DeleteSubscription,
    EnableSubscription,
    DisableSubscription,
    TestSubscription,
    GetTopics,
    GetTopic,
}

const ALL_OPS: [Op; 42] = [
    Op::Token,
    Op::GetOrders,
    Op::GetOrder,
    Op::GetFulfillments,
    Op::CreateFulfillment,
    Op::GetFulfillment,
    Op::GetItems,
    Op::GetItem,
    Op::PutItem,
    Op::DeleteItem,
    Op::GetGroup,
    Op::PutGroup,
    Op::DeleteGroup,
    Op::GetOffers,
    Op::CreateOffer,
    Op::GetOffer,
    Op::PutOffer,
    Op::DeleteOffer,
    Op::PublishOffer,
    Op::BulkPriceQuantity,
    Op::GetLocations,
    Op::GetLocation,
    Op::GetPrivileges,
    Op::GetUser,
    Op::GetConfig,
    Op::PutConfig,
    Op::GetDestinations,
    Op::CreateDestination,
    Op::GetDestination,
    Op::PutDestination,
    Op::DeleteDestination,
    Op::GetPublicKey,
    Op::GetSubscriptions,
    Op::CreateSubscription,
    Op::GetSubscription,
    Op::PutSubscription,
    Op::DeleteSubscription,
    Op::EnableSubscription,
    Op::DisableSubscription,
    Op::TestSubscription,
    Op::GetTopics,
    Op::GetTopic,
];

impl Op {
    /// (contract file stem, method, path template as the contract writes it).
    fn contract(self) -> (&'static str, &'static str, &'static str) {
        const F: &str = "sell_fulfillment_v1_oas3";
        const I: &str = "sell_inventory_v1_oas3";
        const N: &str = "commerce_notification_v1_oas3";
        match self {
            Op::Token => ("", "POST", "/identity/v1/oauth2/token"),
            Op::GetOrders => (F, "GET", "/order"),
            Op::GetOrder => (F, "GET", "/order/{orderId}"),
            Op::GetFulfillments => (F, "GET", "/order/{orderId}/shipping_fulfillment"),
            Op::CreateFulfillment => (F, "POST", "/order/{orderId}/shipping_fulfillment"),
            Op::GetFulfillment => (
                F,
                "GET",
                "/order/{orderId}/shipping_fulfillment/{fulfillmentId}",
            ),
            Op::GetItems => (I, "GET", "/inventory_item"),
            Op::GetItem => (I, "GET", "/inventory_item/{sku}"),
            Op::PutItem => (I, "PUT", "/inventory_item/{sku}"),
            Op::DeleteItem => (I, "DELETE", "/inventory_item/{sku}"),
            Op::GetGroup => (I, "GET", "/inventory_item_group/{inventoryItemGroupKey}"),
            Op::PutGroup => (I, "PUT", "/inventory_item_group/{inventoryItemGroupKey}"),
            Op::DeleteGroup => (I, "DELETE", "/inventory_item_group/{inventoryItemGroupKey}"),
            Op::GetOffers => (I, "GET", "/offer"),
            Op::CreateOffer => (I, "POST", "/offer"),
            Op::GetOffer => (I, "GET", "/offer/{offerId}"),
            Op::PutOffer => (I, "PUT", "/offer/{offerId}"),
            Op::DeleteOffer => (I, "DELETE", "/offer/{offerId}"),
            Op::PublishOffer => (I, "POST", "/offer/{offerId}/publish"),
            Op::BulkPriceQuantity => (I, "POST", "/bulk_update_price_quantity"),
            Op::GetLocations => (I, "GET", "/location"),
            Op::GetLocation => (I, "GET", "/location/{merchantLocationKey}"),
            Op::GetPrivileges => ("sell_account_v1_oas3", "GET", "/privilege"),
            Op::GetUser => ("commerce_identity_v1_oas3", "GET", "/user/"),
            Op::GetConfig => (N, "GET", "/config"),
            Op::PutConfig => (N, "PUT", "/config"),
            Op::GetDestinations => (N, "GET", "/destination"),
            Op::CreateDestination => (N, "POST", "/destination"),
            Op::GetDestination => (N, "GET", "/destination/{destination_id}"),
            Op::PutDestination => (N, "PUT", "/destination/{destination_id}"),
            Op::DeleteDestination => (N, "DELETE", "/destination/{destination_id}"),
            Op::GetPublicKey => (N, "GET", "/public_key/{public_key_id}"),
            Op::GetSubscriptions => (N, "GET", "/subscription"),
            Op::CreateSubscription => (N, "POST", "/subscription"),
            Op::GetSubscription => (N, "GET", "/subscription/{subscription_id}"),
            Op::PutSubscription => (N, "PUT", "/subscription/{subscription_id}"),
            Op::DeleteSubscription => (N, "DELETE", "/subscription/{subscription_id}"),
            Op::EnableSubscription => (N, "POST", "/subscription/{subscription_id}/enable"),
            Op::DisableSubscription => (N, "POST", "/subscription/{subscription_id}/disable"),
            Op::TestSubscription => (N, "POST", "/subscription/{subscription_id}/test"),
            Op::GetTopics => (N, "GET", "/topic"),
            Op::GetTopic => (N, "GET", "/topic/{topic_id}"),
        }
    }

    /// The scopes that grant the operation (any one of them), as the contract's `security`.
    fn scopes(self) -> &'static [&'static str] {
        use scope::*;
        match self {
            Op::Token => &[],
            Op::GetOrders | Op::GetOrder | Op::GetFulfillments | Op::GetFulfillment => {
                &[FULFILLMENT, FULFILLMENT_RO]
            }
            Op::CreateFulfillment => &[FULFILLMENT],
            Op::GetItems | Op::GetItem | Op::GetGroup | Op::GetOffers | Op::GetOffer => {
                &[INVENTORY_RO, INVENTORY]
            }
            Op::GetLocations | Op::GetLocation => &[INVENTORY_RO, INVENTORY],
            Op::PutItem
            | Op::DeleteItem
            | Op::PutGroup
            | Op::DeleteGroup
            | Op::CreateOffer
            | Op::PutOffer
            | Op::DeleteOffer
            | Op::PublishOffer
            | Op::BulkPriceQuantity => &[INVENTORY],
            Op::GetPrivileges => &[ACCOUNT, ACCOUNT_RO],
            Op::GetUser => &[
                IDENTITY_RO,
                IDENTITY_NAME_RO,
                IDENTITY_ADDRESS_RO,
                IDENTITY_EMAIL_RO,
                IDENTITY_PHONE_RO,
            ],
            Op::GetConfig
            | Op::PutConfig
            | Op::GetDestinations
            | Op::CreateDestination
            | Op::GetDestination
            | Op::PutDestination
            | Op::DeleteDestination
            | Op::GetPublicKey
            | Op::GetTopics
            | Op::GetTopic => &[API],
            Op::GetSubscriptions | Op::GetSubscription => &[API, NOTIFICATION_RO, NOTIFICATION],
            Op::CreateSubscription
            | Op::PutSubscription
            | Op::DeleteSubscription
            | Op::EnableSubscription
            | Op::DisableSubscription
            | Op::TestSubscription => &[API, NOTIFICATION],
        }
    }
}

/// One served route: the contract it belongs to and the scopes that grant it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRoute {
    /// The contract's file stem under platform-specs/ebay/openapi (`""` for the token
    /// endpoint, which has no OpenAPI contract).
    pub contract: &'static str,
    pub method: &'static str,
    /// The path as the contract writes it (relative to its `basePath`).
    pub path: &'static str,
    pub scopes: &'static [&'static str],
}

/// Every API route the sandbox serves (for the contract test).
pub fn served_routes() -> Vec<ServedRoute> {
    ALL_OPS
        .iter()
        .map(|op| {
            let (contract, method, path) = op.contract();
            ServedRoute {
                contract,
                method,
                path,
                scopes: op.scopes(),
            }
        })
        .collect()
}

/// One API request, routed.
pub(crate) struct Call<'a> {
    pub seg: Vec<String>,
    pub query: Vec<(String, String)>,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    pub token: Token,
    /// The request URL's path and query, for `href`s.
    pub path: &'a str,
}

impl Call<'_> {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Result<Value, Response> {
        if self.body.is_empty() {
            return Err(invalid_body("the request body is empty"));
        }
        serde_json::from_slice(self.body)
            .map_err(|e| invalid_body(&format!("the request body is not JSON: {e}")))
    }
}

const PREFIXES: [(&str, u8); 5] = [
    ("/sell/fulfillment/v1", b'F'),
    ("/sell/inventory/v1", b'I'),
    ("/sell/account/v1", b'A'),
    ("/commerce/identity/v1", b'U'),
    ("/commerce/notification/v1", b'N'),
];

fn route(method: &Method, path: &str) -> Option<(Op, Vec<String>)> {
    if path == "/identity/v1/oauth2/token" {
        return (method == Method::POST).then(|| (Op::Token, vec![]));
    }
    let (rest, api) = PREFIXES
        .iter()
        .find_map(|(p, api)| path.strip_prefix(p).map(|r| (r, *api)))?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let seg: Vec<String> = rest
        .split('/')
        .filter(|x| !x.is_empty())
        .map(|x| percent_decode_str(x).decode_utf8_lossy().into_owned())
        .collect();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let m = method.as_str();
    let op = match (api, s.as_slice(), m) {
        (b'F', ["order"], "GET") => Op::GetOrders,
        (b'F', ["order", _], "GET") => Op::GetOrder,
        (b'F', ["order", _, "shipping_fulfillment"], "GET") => Op::GetFulfillments,
        (b'F', ["order", _, "shipping_fulfillment"], "POST") => Op::CreateFulfillment,
        (b'F', ["order", _, "shipping_fulfillment", _], "GET") => Op::GetFulfillment,
        (b'I', ["inventory_item"], "GET") => Op::GetItems,
        (b'I', ["inventory_item", _], "GET") => Op::GetItem,
        (b'I', ["inventory_item", _], "PUT") => Op::PutItem,
        (b'I', ["inventory_item", _], "DELETE") => Op::DeleteItem,
        (b'I', ["inventory_item_group", _], "GET") => Op::GetGroup,
        (b'I', ["inventory_item_group", _], "PUT") => Op::PutGroup,
        (b'I', ["inventory_item_group", _], "DELETE") => Op::DeleteGroup,
        (b'I', ["offer"], "GET") => Op::GetOffers,
        (b'I', ["offer"], "POST") => Op::CreateOffer,
        (b'I', ["offer", _], "GET") => Op::GetOffer,
        (b'I', ["offer", _], "PUT") => Op::PutOffer,
        (b'I', ["offer", _], "DELETE") => Op::DeleteOffer,
        (b'I', ["offer", _, "publish"], "POST") => Op::PublishOffer,
        (b'I', ["bulk_update_price_quantity"], "POST") => Op::BulkPriceQuantity,
        (b'I', ["location"], "GET") => Op::GetLocations,
        (b'I', ["location", _], "GET") => Op::GetLocation,
        (b'A', ["privilege"], "GET") => Op::GetPrivileges,
        (b'U', ["user"], "GET") => Op::GetUser,
        (b'N', ["config"], "GET") => Op::GetConfig,
        (b'N', ["config"], "PUT") => Op::PutConfig,
        (b'N', ["destination"], "GET") => Op::GetDestinations,
        (b'N', ["destination"], "POST") => Op::CreateDestination,
        (b'N', ["destination", _], "GET") => Op::GetDestination,
        (b'N', ["destination", _], "PUT") => Op::PutDestination,
        (b'N', ["destination", _], "DELETE") => Op::DeleteDestination,
        (b'N', ["public_key", _], "GET") => Op::GetPublicKey,
        (b'N', ["subscription"], "GET") => Op::GetSubscriptions,
        (b'N', ["subscription"], "POST") => Op::CreateSubscription,
        (b'N', ["subscription", _], "GET") => Op::GetSubscription,
        (b'N', ["subscription", _], "PUT") => Op::PutSubscription,
        (b'N', ["subscription", _], "DELETE") => Op::DeleteSubscription,
        (b'N', ["subscription", _, "enable"], "POST") => Op::EnableSubscription,
        (b'N', ["subscription", _, "disable"], "POST") => Op::DisableSubscription,
        (b'N', ["subscription", _, "test"], "POST") => Op::TestSubscription,
        (b'N', ["topic"], "GET") => Op::GetTopics,
        (b'N', ["topic", _], "GET") => Op::GetTopic,
        _ => return None,
    };
    Some((op, seg))
}

/// Decodes a query string as eBay's servlets do (`+` is a space).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

async fn dispatch(
    State(s): State<S>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some((op, seg)) = route(&method, path) else {
        return not_found_route();
    };
    if op == Op::Token {
        return token_endpoint(&s, &headers, &body);
    }
    let token = match authenticate(&s, &headers, op) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let raw_query = uri.query().unwrap_or("");
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or(path);
    let call = Call {
        seg,
        query: parse_query(raw_query),
        raw_query,
        headers: &headers,
        body: &body,
        token,
        path: path_and_query,
    };
    match op {
        Op::Token => unreachable_token(),
        Op::GetOrders
        | Op::GetOrder
        | Op::GetFulfillments
        | Op::CreateFulfillment
        | Op::GetFulfillment => fulfillment::handle(&s, op, &call),
        Op::GetPrivileges => json_ok(s.db().privileges.clone()),
        Op::GetUser => json_ok(s.db().user.clone()),
        Op::GetConfig
        | Op::PutConfig
        | Op::GetDestinations
        | Op::CreateDestination
        | Op::GetDestination
        | Op::PutDestination
        | Op::DeleteDestination
        | Op::GetPublicKey
        | Op::GetSubscriptions
        | Op::CreateSubscription
        | Op::GetSubscription
        | Op::PutSubscription
        | Op::DeleteSubscription
        | Op::EnableSubscription
        | Op::DisableSubscription
        | Op::TestSubscription
        | Op::GetTopics
        | Op::GetTopic => notify::handle(&s, op, &call).await,
        _ => inventory::handle(&s, op, &call),
    }
}

fn unreachable_token() -> Response {
    not_found_route()
}

// ---------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------

fn authenticate(s: &Sandbox, headers: &HeaderMap, op: Op) -> Result<Token, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(bearer) = bearer.filter(|b| !b.is_empty()) else {
        return Err(access_error(
            StatusCode::UNAUTHORIZED,
            1002,
            "Missing access token",
            "Access token is missing in the Authorization HTTP request header.",
        ));
    };
    let token = {
        let a = s.auth();
        a.tokens
            .get(bearer)
            .filter(|t| t.expires > Instant::now())
            .cloned()
    };
    let Some(token) = token else {
        return Err(access_error(
            StatusCode::UNAUTHORIZED,
            1001,
            "Invalid access token",
            "Invalid access token. Check the value of the Authorization HTTP request header.",
        ));
    };
    if !op
        .scopes()
        .iter()
        .any(|sc| token.scopes.iter().any(|t| t == sc))
    {
        return Err(access_error(
            StatusCode::FORBIDDEN,
            1100,
            "Access denied",
            "Insufficient permissions to fulfill the request.",
        ));
    }
    if let Some(limiter) = &s.limiter {
        if let Err(wait) = limiter.check(bearer) {
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(too_many_body())).into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs(wait).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Err(resp);
        }
    }
    Ok(token)
}

/// An OAuth error body (RFC 6749 §5.2), as eBay's identity service answers.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn token_endpoint(s: &Sandbox, headers: &HeaderMap, body: &Bytes) -> Response {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request is missing a required parameter or malformed: the body must be application/x-www-form-urlencoded",
        );
    }
    let mut a = s.auth();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    let client_ok = basic
        .as_deref()
        .and_then(|b| b.split_once(':'))
        .is_some_and(|(id, secret)| id == a.client_id && secret == a.client_secret);
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let form = parse_query(&String::from_utf8_lossy(body));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let requested: Option<Vec<String>> =
        get("scope").map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
    let (scopes, user) = match get("grant_type") {
        Some("refresh_token") => {
            let Some(rt) = get("refresh_token").filter(|r| !r.is_empty()) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "request is missing a required parameter or malformed.",
                );
            };
            if rt != a.refresh_token || a.revoked {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the provided authorization refresh token is invalid or was issued to another client",
                );
            }
            let granted = a.refresh_scopes.clone();
            let scopes = match requested {
                None => granted,
                Some(req) => {
                    if req.is_empty() || !req.iter().all(|r| granted.contains(r)) {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "the requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner",
                        );
                    }
                    req
                }
            };
            (scopes, true)
        }
        Some("client_credentials") => {
            let scopes = requested.unwrap_or_else(|| vec![scope::API.to_owned()]);
            if scopes.is_empty() || scopes.iter().any(|s| s != scope::API) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "the requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client",
                );
            }
            (scopes, false)
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "request is missing a required parameter or malformed.",
            )
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant type in request is not supported by the authorization server",
            )
        }
    };
    let secret = random_hex(&mut a.rng, 64);
    let access = format!(
        "v^1.1#i^1#p^3#r^{}#I^3#f^0#t^{}",
        u8::from(user),
        base64::engine::general_purpose::STANDARD.encode(secret)
    );
    let lifetime = a.lifetime;
    a.issued += 1;
    // Forget long-expired tokens so the map stays bounded.
    let now = Instant::now();
    a.tokens
        .retain(|_, t| t.expires + Duration::from_secs(3600) > now);
    a.tokens.insert(
        access.clone(),
        Token {
            expires: now + lifetime,
            scopes,
            user,
        },
    );
    json_ok(json!({
        "access_token": access,
        "expires_in": lifetime.as_secs(),
        "token_type": if user { "User Access Token" } else { "Application Access Token" },
    }))
}

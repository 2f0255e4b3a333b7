//! A local simulator of the WooCommerce REST API wc/v3 (plus the Shipment Tracking
//! extension's routes), faithful to the documented paths, parameters, auth schemes,
//! paging headers and error bodies. Data is seeded deterministically.
//!
//! Sandbox-only control routes (besides the shared `/__sandbox/faults` and `/stats`):
//! `PUT /__sandbox/extensions {"shipment_tracking": bool}` switches the tracking extension
//! (default on); when off its routes answer 404 `rest_no_route` like a store without it.

// Helpers answer early with the platform's error response; the sandbox is not a hot path.
#![allow(clippy::result_large_err)]

mod data;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use base64::Engine;
use cartgate_connector::sandbox::{
    router_with_faults, serve, Faults, SandboxBanner, SandboxHandle, SandboxOptions, TokenBucket,
};
use serde_json::{json, Value};

use data::Db;

struct Sandbox {
    db: Mutex<Db>,
    consumer_key: String,
    consumer_secret: String,
    base_url: String,
    tracking: AtomicBool,
    limiter: Option<TokenBucket>,
}

type S = Arc<Sandbox>;

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
    let db = Db::seed(&opts);
    let state = Arc::new(Sandbox {
        consumer_key: db.consumer_key.clone(),
        consumer_secret: db.consumer_secret.clone(),
        db: Mutex::new(db),
        base_url: base_url.clone(),
        tracking: AtomicBool::new(true),
        limiter: opts.rate_limits.then(|| TokenBucket::new(10.0, 20)),
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
            "/wp-json/wc/v3/products",
            get(list_products).post(create_product),
        )
        .route("/wp-json/wc/v3/products/categories", get(list_categories))
        .route("/wp-json/wc/v3/products/categories/{id}", get(get_category))
        .route(
            "/wp-json/wc/v3/products/{id}",
            get(get_product).put(update_product).post(update_product),
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
        .route("/wp-json/wc/v3/customers", get(list_customers))
        .route("/wp-json/wc/v3/customers/{id}", get(get_customer))
        .route("/wp-json/wc/v3/system_status", get(system_status))
        .route("/wp-json/wc/v3/settings/general", get(settings_general))
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .route("/wp-json", get(index))
        .route("/wp-json/", get(index))
        .fallback(|| async {
            wc_error(
                StatusCode::NOT_FOUND,
                "rest_no_route",
                "No route was found matching the URL and request method.",
            )
        })
        .with_state(state.clone());
    let faults = Faults::from_options(&opts);
    let control = Router::new()
        .route("/__sandbox/extensions", put(set_extensions))
        .with_state(state.clone());
    let app = router_with_faults(wc, faults).merge(control);
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

/// HTTP Basic or query-string consumer key/secret, as docs/authentication.md describes.
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
        let q: BTreeMap<String, String> =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
        if let (Some(k), Some(sec)) = (q.get("consumer_key"), q.get("consumer_secret")) {
            presented = Some((k.clone(), sec.clone()));
        }
    }
    match presented {
        Some((k, sec)) if k == s.consumer_key && sec == s.consumer_secret => {}
        Some(_) => {
            return wc_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Consumer secret is invalid.",
            )
        }
        None => {
            return wc_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
            )
        }
    }
    if req
        .uri()
        .path()
        .starts_with("/wp-json/wc-shipment-tracking/")
        && !s.tracking.load(Ordering::Relaxed)
    {
        return wc_error(
            StatusCode::NOT_FOUND,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        );
    }
    if let Some(l) = &s.limiter {
        if let Err(wait) = l.check(&s.consumer_key) {
            let mut r = wc_error(
                StatusCode::TOO_MANY_REQUESTS,
                "woocommerce_rest_too_many_requests",
                "Too many requests. Please wait and try again.",
            );
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
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

async fn index(State(s): State<S>) -> Json<Value> {
    let mut ns = vec![
        "oembed/1.0",
        "wc/v1",
        "wc/v2",
        "wc/v3",
        "wc/store/v1",
        "wp/v2",
    ];
    if s.tracking.load(Ordering::Relaxed) {
        ns.push("wc-shipment-tracking/v3");
    }
    Json(json!({
        "name": "Cartgate Sandbox Shop",
        "description": "A WooCommerce store simulated by cartgate",
        "url": s.base_url,
        "home": s.base_url,
        "gmt_offset": "1",
        "timezone_string": "Europe/Berlin",
        "namespaces": ns,
    }))
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
    let start = offset.unwrap_or((page - 1) * per_page);
    let body: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    let pages = total.div_ceil(per_page);
    let mut headers = HeaderMap::new();
    headers.insert("x-wp-total", HeaderValue::from(total as u64));
    headers.insert("x-wp-totalpages", HeaderValue::from(pages as u64));
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!(
            "<{}/wp-json/wc/v3{route}?page={}>; rel=\"prev\"",
            s.base_url,
            page - 1
        ));
    }
    if page < pages {
        links.push(format!(
            "<{}/wp-json/wc/v3{route}?page={}>; rel=\"next\"",
            s.base_url,
            page + 1
        ));
    }
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        if !links.is_empty() {
            headers.insert(header::LINK, v);
        }
    }
    (headers, Json(Value::Array(body))).into_response()
}

/// Sorts by `orderby` (date, id, modified, title/name) and `order` (asc|desc, default desc).
fn sort(items: &mut [Value], q: &BTreeMap<String, String>, default: &str) -> Result<(), Response> {
    let orderby = q.get("orderby").map(String::as_str).unwrap_or(default);
    let key = match orderby {
        "date" => "date_created_gmt",
        "modified" => "date_modified_gmt",
        "id" | "include" => "id",
        "title" | "name" | "slug" => "name",
        _ => {
            return Err(invalid_param(
                "orderby",
                "orderby is not one of date, id, include, title, slug, modified.",
            ))
        }
    };
    let desc = match q.get("order").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(invalid_param("order", "order is not one of asc, desc.")),
    };
    items.sort_by(|a, b| {
        let ord = match (&a[key], &b[key]) {
            (Value::Number(x), Value::Number(y)) => x.as_i64().cmp(&y.as_i64()),
            (x, y) => x
                .as_str()
                .unwrap_or("")
                .cmp(y.as_str().unwrap_or(""))
                .then(a["id"].as_i64().cmp(&b["id"].as_i64())),
        };
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

async fn list_orders(State(s): State<S>, Query(q): Q) -> Response {
    let statuses: Option<Vec<String>> = match q.get("status").map(String::as_str) {
        None | Some("any") => None,
        Some(v) => {
            let list: Vec<String> = v.split(',').map(|x| x.trim().to_owned()).collect();
            if let Some(bad) = list
                .iter()
                .find(|x| !ORDER_STATUSES.contains(&x.as_str()) && x.as_str() != "any")
            {
                return invalid_param(
                    "status",
                    &format!(
                        "status[0] is not one of {}; {bad} given",
                        ORDER_STATUSES.join(", ")
                    ),
                );
            }
            Some(list)
        }
    };
    let customer = q.get("customer").and_then(|v| v.parse::<i64>().ok());
    let product = q.get("product").and_then(|v| v.parse::<i64>().ok());
    let mut items = Vec::new();
    {
        let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
        for o in db.orders.values() {
            let st = o["status"].as_str().unwrap_or("");
            let status_ok = match &statuses {
                None => st != "trash",
                Some(l) => l.iter().any(|x| x == st || x == "any"),
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
                ],
            ) {
                continue;
            }
            items.push(o.clone());
        }
    }
    tryr!(sort(&mut items, &q, "date"));
    paged(&s, "/orders", &q, items)
}

fn not_found(code: &str) -> Response {
    wc_error(StatusCode::NOT_FOUND, code, "Invalid ID.")
}

fn parse_id(id: &str) -> Option<i64> {
    id.parse().ok()
}

async fn get_order(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    match parse_id(&id).and_then(|i| db.orders.get(&i)) {
        Some(o) => Json(o.clone()).into_response(),
        None => not_found("woocommerce_rest_shop_order_invalid_id"),
    }
}

async fn update_order(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let now = db.now();
    let Some(o) = parse_id(&id).and_then(|i| db.orders.get_mut(&i)) else {
        return not_found("woocommerce_rest_shop_order_invalid_id");
    };
    if let Some(st) = body.get("status").and_then(Value::as_str) {
        if !ORDER_STATUSES.contains(&st) {
            return invalid_param("status", "status is not one of the order statuses.");
        }
        o["status"] = json!(st);
        if st == "completed" {
            o["date_completed"] = json!(now);
            o["date_completed_gmt"] = json!(now);
        }
    }
    if let Some(n) = body.get("customer_note") {
        o["customer_note"] = n.clone();
    }
    o["date_modified"] = json!(now);
    o["date_modified_gmt"] = json!(now);
    Json(o.clone()).into_response()
}

async fn list_notes(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let Some(oid) = parse_id(&id).filter(|i| db.orders.contains_key(i)) else {
        return not_found("woocommerce_rest_order_invalid_id");
    };
    let mut notes = db.notes.get(&oid).cloned().unwrap_or_default();
    notes.reverse();
    Json(notes).into_response()
}

async fn create_note(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let Some(oid) = parse_id(&id).filter(|i| db.orders.contains_key(i)) else {
        return not_found("woocommerce_rest_order_invalid_id");
    };
    let Some(text) = body.get("note").and_then(Value::as_str) else {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "rest_missing_callback_param",
            "Missing parameter(s): note",
        );
    };
    let now = db.now();
    let nid = db.next_id();
    let note = json!({
        "id": nid, "author": "system", "date_created": now, "date_created_gmt": now,
        "note": text, "customer_note": body.get("customer_note").and_then(Value::as_bool).unwrap_or(false),
    });
    db.notes.entry(oid).or_default().push(note.clone());
    (StatusCode::CREATED, Json(note)).into_response()
}

async fn list_trackings(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let Some(oid) = parse_id(&id).filter(|i| db.orders.contains_key(i)) else {
        return not_found("woocommerce_rest_shop_order_invalid_id");
    };
    Json(db.trackings.get(&oid).cloned().unwrap_or_default()).into_response()
}

async fn create_tracking(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let Some(oid) = parse_id(&id).filter(|i| db.orders.contains_key(i)) else {
        return not_found("woocommerce_rest_shop_order_invalid_id");
    };
    let Some(number) = body
        .get("tracking_number")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "rest_missing_callback_param",
            "Missing parameter(s): tracking_number",
        );
    };
    let provider = body
        .get("custom_tracking_provider")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| body.get("tracking_provider").and_then(Value::as_str))
        .unwrap_or("")
        .to_owned();
    let link = body
        .get("custom_tracking_link")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let date = body
        .get("date_shipped")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| db.now()[..10].to_owned());
    let tid = format!("{:x}", md5ish(&format!("{oid}{number}{}", db.next_id())));
    let t = json!({"tracking_id": tid, "tracking_provider": provider, "tracking_link": link, "tracking_number": number, "date_shipped": date});
    db.trackings.entry(oid).or_default().push(t.clone());
    (StatusCode::CREATED, Json(t)).into_response()
}

fn md5ish(s: &str) -> u64 {
    // Tracking ids look like hex digests; a stable hash is enough for a simulator.
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

async fn get_tracking(State(s): State<S>, Path((id, tid)): Path<(String, String)>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let found = parse_id(&id)
        .and_then(|i| db.trackings.get(&i))
        .and_then(|l| l.iter().find(|t| t["tracking_id"] == tid.as_str()));
    match found {
        Some(t) => Json(t.clone()).into_response(),
        None => not_found("woocommerce_rest_shop_order_invalid_id"),
    }
}

async fn delete_tracking(State(s): State<S>, Path((id, tid)): Path<(String, String)>) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let Some(list) = parse_id(&id).and_then(|i| db.trackings.get_mut(&i)) else {
        return not_found("woocommerce_rest_shop_order_invalid_id");
    };
    match list.iter().position(|t| t["tracking_id"] == tid.as_str()) {
        Some(i) => Json(list.remove(i)).into_response(),
        None => not_found("woocommerce_rest_shop_order_invalid_id"),
    }
}

const PRODUCT_STATUSES: [&str; 5] = ["any", "draft", "pending", "private", "publish"];

async fn list_products(State(s): State<S>, Query(q): Q) -> Response {
    let status = q.get("status").map(String::as_str).unwrap_or("any");
    if !PRODUCT_STATUSES.contains(&status) {
        return invalid_param(
            "status",
            "status is not one of any, draft, pending, private, publish.",
        );
    }
    let skus: Option<Vec<&str>> = q.get("sku").map(|v| v.split(',').map(str::trim).collect());
    let category = q.get("category").and_then(|v| v.parse::<i64>().ok());
    let mut items = Vec::new();
    {
        let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
        for p in db.products.values() {
            if status != "any" && p["status"] != status {
                continue;
            }
            if let Some(skus) = &skus {
                if !skus.iter().any(|x| p["sku"] == *x) {
                    continue;
                }
            }
            if category.is_some_and(|c| {
                !p["categories"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|x| x["id"].as_i64() == Some(c))
            }) {
                continue;
            }
            if q.get("type").is_some_and(|t| p["type"] != t.as_str()) {
                continue;
            }
            if !tryr!(common(p, &q)) || !matches_search(p, &q, &["/name", "/sku"]) {
                continue;
            }
            items.push(p.clone());
        }
    }
    tryr!(sort(&mut items, &q, "date"));
    paged(&s, "/products", &q, items)
}

async fn get_product(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    match parse_id(&id).and_then(|i| db.products.get(&i)) {
        Some(p) => Json(p.clone()).into_response(),
        None => not_found("woocommerce_rest_product_invalid_id"),
    }
}

/// Applies the writable fields of a product or variation body.
fn apply_product_fields(p: &mut Value, body: &Value, now: &str) -> Result<(), Response> {
    for k in ["name", "description", "short_description", "sku"] {
        if let Some(v) = body.get(k) {
            if !v.is_string() {
                return Err(invalid_param(k, &format!("{k} is not of type string.")));
            }
            p[k] = v.clone();
        }
    }
    if let Some(st) = body.get("status") {
        if !["draft", "pending", "private", "publish"].contains(&st.as_str().unwrap_or("")) {
            return Err(invalid_param(
                "status",
                "status is not one of draft, pending, private, publish.",
            ));
        }
        p["status"] = st.clone();
    }
    if let Some(rp) = body.get("regular_price") {
        let Some(rp) = rp.as_str() else {
            return Err(invalid_param(
                "regular_price",
                "regular_price is not of type string.",
            ));
        };
        p["regular_price"] = json!(rp);
        if p["sale_price"].as_str().unwrap_or("").is_empty() {
            p["price"] = json!(rp);
        }
    }
    if let Some(ms) = body.get("manage_stock") {
        p["manage_stock"] = ms.clone();
    }
    if let Some(q) = body.get("stock_quantity") {
        let Some(n) = q.as_i64() else {
            return Err(invalid_param(
                "stock_quantity",
                "stock_quantity is not of type integer.",
            ));
        };
        p["stock_quantity"] = json!(n);
        p["stock_status"] = json!(if n > 0 { "instock" } else { "outofstock" });
    }
    if let Some(c) = body.get("categories").and_then(Value::as_array) {
        p["categories"] = json!(c.iter().map(|x| json!({"id": x["id"]})).collect::<Vec<_>>());
    }
    p["date_modified"] = json!(now);
    p["date_modified_gmt"] = json!(now);
    Ok(())
}

fn sku_taken(db: &Db, sku: Option<&str>, except: i64) -> bool {
    let Some(sku) = sku.filter(|s| !s.is_empty()) else {
        return false;
    };
    db.products
        .values()
        .chain(db.variations.values())
        .any(|p| p["sku"] == sku && p["id"].as_i64() != Some(except))
}

async fn create_product(State(s): State<S>, Json(body): Json<Value>) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    if body
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "rest_missing_callback_param",
            "Missing parameter(s): name",
        );
    }
    if sku_taken(&db, body.get("sku").and_then(Value::as_str), -1) {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "product_invalid_sku",
            "Invalid or duplicated SKU.",
        );
    }
    let id = db.next_id();
    let now = db.now();
    let mut p = data::blank_product(id, &s.base_url, &now);
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        p["type"] = json!(t);
    }
    p["status"] = json!("publish");
    tryr!(apply_product_fields(&mut p, &body, &now));
    p["date_created"] = json!(now);
    p["date_created_gmt"] = json!(now);
    db.products.insert(id, p.clone());
    (StatusCode::CREATED, Json(p)).into_response()
}

async fn update_product(
    State(s): State<S>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let now = db.now();
    let Some(pid) = parse_id(&id).filter(|i| db.products.contains_key(i)) else {
        return not_found("woocommerce_rest_product_invalid_id");
    };
    if sku_taken(&db, body.get("sku").and_then(Value::as_str), pid) {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "product_invalid_sku",
            "Invalid or duplicated SKU.",
        );
    }
    let Some(p) = db.products.get_mut(&pid) else {
        return not_found("woocommerce_rest_product_invalid_id");
    };
    tryr!(apply_product_fields(p, &body, &now));
    Json(p.clone()).into_response()
}

async fn list_variations(State(s): State<S>, Path(id): Path<String>, Query(q): Q) -> Response {
    let items: Vec<Value> = {
        let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = parse_id(&id).and_then(|i| db.products.get(&i)) else {
            return not_found("woocommerce_rest_product_invalid_id");
        };
        p["variations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_i64().and_then(|v| db.variations.get(&v)).cloned())
            .collect()
    };
    let mut items = items;
    tryr!(sort(&mut items, &q, "date"));
    paged(&s, &format!("/products/{id}/variations"), &q, items)
}

fn variation_of(db: &Db, pid: &str, vid: &str) -> Option<i64> {
    let p = db.products.get(&parse_id(pid)?)?;
    let v = parse_id(vid)?;
    p["variations"]
        .as_array()?
        .iter()
        .any(|x| x.as_i64() == Some(v))
        .then_some(v)
}

async fn get_variation(State(s): State<S>, Path((pid, vid)): Path<(String, String)>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    match variation_of(&db, &pid, &vid).and_then(|v| db.variations.get(&v)) {
        Some(v) => Json(v.clone()).into_response(),
        None => not_found("woocommerce_rest_product_variation_invalid_id"),
    }
}

async fn update_variation(
    State(s): State<S>,
    Path((pid, vid)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    let now = db.now();
    let Some(v) = variation_of(&db, &pid, &vid) else {
        return not_found("woocommerce_rest_product_variation_invalid_id");
    };
    if sku_taken(&db, body.get("sku").and_then(Value::as_str), v) {
        return wc_error(
            StatusCode::BAD_REQUEST,
            "product_invalid_sku",
            "Invalid or duplicated SKU.",
        );
    }
    let Some(var) = db.variations.get_mut(&v) else {
        return not_found("woocommerce_rest_product_variation_invalid_id");
    };
    tryr!(apply_product_fields(var, &body, &now));
    let out = var.clone();
    if let Some(p) = parse_id(&pid).and_then(|p| db.products.get_mut(&p)) {
        p["date_modified"] = json!(now);
        p["date_modified_gmt"] = json!(now);
    }
    Json(out).into_response()
}

async fn list_categories(State(s): State<S>, Query(q): Q) -> Response {
    let parent = q.get("parent").and_then(|v| v.parse::<i64>().ok());
    let mut items: Vec<Value> = {
        let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
        db.categories
            .values()
            .filter(|c| parent.is_none_or(|p| c["parent"].as_i64() == Some(p)))
            .filter(|c| matches_search(c, &q, &["/name"]))
            .filter(|c| {
                id_list(&q, "include")
                    .is_none_or(|inc| inc.contains(&c["id"].as_i64().unwrap_or(0)))
            })
            .cloned()
            .collect()
    };
    // Categories sort by name ascending by default.
    let mut q2 = q.clone();
    q2.entry("order".into()).or_insert_with(|| "asc".into());
    tryr!(sort(&mut items, &q2, "name"));
    paged(&s, "/products/categories", &q, items)
}

async fn get_category(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    match parse_id(&id).and_then(|i| db.categories.get(&i)) {
        Some(c) => Json(c.clone()).into_response(),
        None => not_found("woocommerce_rest_term_invalid"),
    }
}

async fn list_customers(State(s): State<S>, Query(q): Q) -> Response {
    let role = q.get("role").map(String::as_str).unwrap_or("customer");
    let mut items: Vec<Value> = {
        let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for c in db.customers.values() {
            if role != "all" && c["role"] != role {
                continue;
            }
            if q.get("email")
                .is_some_and(|e| !c["email"].as_str().unwrap_or("").eq_ignore_ascii_case(e))
            {
                continue;
            }
            if id_list(&q, "include")
                .is_some_and(|inc| !inc.contains(&c["id"].as_i64().unwrap_or(0)))
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
    let mut q2 = q.clone();
    q2.entry("order".into()).or_insert_with(|| "asc".into());
    q2.entry("orderby".into()).or_insert_with(|| "name".into());
    if q2.get("orderby").map(String::as_str) == Some("registered_date") {
        q2.insert("orderby".into(), "date".into());
    }
    tryr!(sort(&mut items, &q2, "name"));
    paged(&s, "/customers", &q, items)
}

async fn get_customer(State(s): State<S>, Path(id): Path<String>) -> Response {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    match parse_id(&id).and_then(|i| db.customers.get(&i)) {
        Some(c) => Json(c.clone()).into_response(),
        None => not_found("woocommerce_rest_invalid_id"),
    }
}

async fn system_status(State(s): State<S>) -> Json<Value> {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({
        "environment": {"home_url": s.base_url, "site_url": s.base_url, "version": "9.4.2", "wp_version": "6.7.1", "language": "en_US", "default_timezone": "UTC"},
        "settings": {"currency": db.currency, "currency_symbol": "&euro;", "currency_position": "left", "thousand_separator": ",", "decimal_separator": ".", "number_of_decimals": 2},
        "active_plugins": [],
    }))
}

async fn settings_general(State(s): State<S>) -> Json<Value> {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!([
        {"id": "woocommerce_currency", "label": "Currency", "type": "select", "default": "USD", "value": db.currency},
        {"id": "woocommerce_default_country", "label": "Selling location(s)", "type": "select", "default": "US:CA", "value": "DE:BE"},
    ]))
}

async fn current_currency(State(s): State<S>) -> Json<Value> {
    let db = s.db.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({"code": db.currency, "name": "Euro", "symbol": "&euro;"}))
}

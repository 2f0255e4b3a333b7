//! Webhooks: the `/wc/v3/webhooks` routes (docs/webhooks.md) and the deliveries.
//!
//! A webhook is `{id, name, status, topic, resource, event, hooks, delivery_url,
//! date_created[_gmt], date_modified[_gmt], _links}`; `secret` is write-only (never
//! answered). Topics: `{coupon,customer,order,product}.{created,updated,deleted}`; statuses
//! `active`, `paused`, `disabled`. Errors as WooCommerce answers them: a missing `topic` or
//! `delivery_url` is 400 `rest_missing_callback_param`, an unknown topic
//! `woocommerce_rest_webhook_invalid_topic`, a delivery URL that is not http(s)
//! `woocommerce_rest_webhook_invalid_delivery_url`, an unknown id 404
//! `woocommerce_rest_webhook_invalid_id`, a DELETE without `force=true` 501
//! `woocommerce_rest_trash_not_supported`.
//!
//! Creating an active webhook sends WooCommerce's ping: a POST of `webhook_id={id}`
//! (form-encoded, no signature and no `X-WC-Webhook-*` headers). Then every change of a
//! subscribed topic, through the API or `/__sandbox/simulate`, is POSTed to each active
//! webhook of the topic: the resource as `GET` answers it (`{"id"}` for a deletion), with
//! `X-WC-Webhook-Source` (the site URL with a trailing slash), `-Topic`, `-Resource`,
//! `-Event`, `-Signature` (base64 HMAC-SHA256 of the body keyed with the webhook's
//! secret), `-ID` and `-Delivery-ID`. As documented, a webhook whose deliveries failed 5
//! times in a row (no 2xx after the outbox's attempts) is set `disabled`; a success resets
//! the count, and setting it `active` again through the API re-enables it.

use axum::http::{HeaderName, HeaderValue};
use cartgate_connector::sandbox::{random_hex, seeded_rng, OutgoingWebhook};
use cartgate_connector::webhook::hmac_sha256_base64;

use super::*;

/// Failed deliveries in a row after which a webhook is disabled (docs/webhooks.md).
pub const MAX_FAILURES: u32 = 5;

const RESOURCES: [&str; 4] = ["coupon", "customer", "order", "product"];
const EVENTS: [&str; 3] = ["created", "updated", "deleted"];
const STATUSES: [&str; 3] = ["active", "paused", "disabled"];
const USER_AGENT: &str = "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)";

/// One webhook as stored: the JSON as answered, its secret and failure count.
#[derive(Debug, Clone)]
pub struct WebhookRec {
    pub json: Value,
    pub secret: String,
    pub failures: u32,
}

/// The action hooks WooCommerce binds to a topic (read-only `hooks`).
fn topic_hooks(topic: &str) -> Vec<&'static str> {
    match topic {
        "order.created" => vec!["woocommerce_new_order"],
        "order.updated" => vec![
            "woocommerce_process_shop_order_meta",
            "woocommerce_api_edit_order",
            "woocommerce_order_edit_status",
            "woocommerce_order_status_changed",
        ],
        "customer.created" => vec![
            "user_register",
            "woocommerce_created_customer",
            "woocommerce_api_create_customer",
        ],
        "customer.updated" => vec!["profile_update", "woocommerce_update_customer"],
        "customer.deleted" => vec!["delete_user"],
        "product.created" => vec![
            "woocommerce_process_product_meta",
            "woocommerce_new_product",
        ],
        "product.updated" => vec![
            "woocommerce_process_product_meta",
            "woocommerce_update_product",
            "woocommerce_update_product_variation",
        ],
        "coupon.created" => vec![
            "woocommerce_process_shop_coupon_meta",
            "woocommerce_api_create_coupon",
        ],
        "coupon.updated" => vec![
            "woocommerce_process_shop_coupon_meta",
            "woocommerce_api_edit_coupon",
        ],
        _ => vec!["wp_trash_post"],
    }
}

fn valid_topic(topic: &str) -> bool {
    topic
        .split_once('.')
        .is_some_and(|(r, e)| RESOURCES.contains(&r) && EVENTS.contains(&e))
}

fn valid_url(u: &str) -> bool {
    url::Url::parse(u)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn invalid_id() -> Response {
    wc_error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_webhook_invalid_id",
        "Invalid ID.",
    )
}

fn str_field<'a>(body: &'a Value, k: &str) -> Result<Option<&'a str>, Response> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid_param(k, &format!("{k} is not of type string."))),
    }
}

/// Applies the writable fields (name, status, topic, delivery_url, secret).
fn apply(rec: &mut WebhookRec, body: &Value, now: i64) -> Result<(), Response> {
    if let Some(name) = str_field(body, "name")? {
        rec.json["name"] = json!(name);
    }
    if let Some(status) = str_field(body, "status")? {
        if !STATUSES.contains(&status) {
            return Err(invalid_param(
                "status",
                "status is not one of active, paused, disabled.",
            ));
        }
        if status == "active" {
            rec.failures = 0;
        }
        rec.json["status"] = json!(status);
    }
    if let Some(topic) = str_field(body, "topic")? {
        if !valid_topic(topic) {
            return Err(wc_error(
                StatusCode::BAD_REQUEST,
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            ));
        }
        let (resource, event) = topic.split_once('.').unwrap_or_default();
        rec.json["topic"] = json!(topic);
        rec.json["resource"] = json!(resource);
        rec.json["event"] = json!(event);
        rec.json["hooks"] = json!(topic_hooks(topic));
    }
    if let Some(url) = str_field(body, "delivery_url")? {
        if !valid_url(url) {
            return Err(wc_error(
                StatusCode::BAD_REQUEST,
                "woocommerce_rest_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            ));
        }
        rec.json["delivery_url"] = json!(url);
    }
    if let Some(secret) = str_field(body, "secret")? {
        rec.secret = secret.to_owned();
    }
    data::set_date(&mut rec.json, "date_modified", now);
    Ok(())
}

pub async fn list_webhooks(State(s): State<S>, Query(q): Q) -> Response {
    let status = q.get("status").map(String::as_str).unwrap_or("all");
    if status != "all" && !STATUSES.contains(&status) {
        return invalid_param(
            "status",
            "status is not one of all, active, paused, disabled.",
        );
    }
    let include = id_list(&q, "include");
    let exclude = id_list(&q, "exclude");
    let mut items: Vec<Value> = lock(&s)
        .webhooks
        .values()
        .map(|w| w.json.clone())
        .filter(|w| status == "all" || w["status"] == status)
        .filter(|w| {
            let id = w["id"].as_i64().unwrap_or(0);
            include.as_ref().is_none_or(|l| l.contains(&id))
                && exclude.as_ref().is_none_or(|l| !l.contains(&id))
        })
        .filter(|w| matches_search(w, &q, &["/name"]))
        .collect();
    tryr!(sort(
        &mut items,
        &q,
        &["date", "id", "include", "title", "slug"],
        "date",
        "desc"
    ));
    paged(&s, "/webhooks", &q, items)
}

pub async fn create_webhook(State(s): State<S>, body: Bytes) -> Response {
    let body = tryr!(json_body(&body));
    let missing: Vec<&str> = ["topic", "delivery_url"]
        .into_iter()
        .filter(|k| body.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return missing_param(&missing.join(", "));
    }
    let mut db = lock(&s);
    let now = db.now();
    let id = db.next_webhook_id();
    let base = db.base.clone();
    let mut rec = WebhookRec {
        json: json!({
            "id": id,
            "name": format!("Webhook created on {}", data::local(now)),
            "status": "active", "topic": "", "resource": "", "event": "", "hooks": [],
            "delivery_url": "",
            "date_created": "", "date_created_gmt": "", "date_modified": "", "date_modified_gmt": "",
            "_links": {
                "self": [{"href": format!("{base}/wp-json/wc/v3/webhooks/{id}")}],
                "collection": [{"href": format!("{base}/wp-json/wc/v3/webhooks")}],
            },
        }),
        // WooCommerce's default: a hash of the user (the sandbox's key stands in).
        secret: random_hex(&mut seeded_rng(id as u64, "wc/webhook-secret"), 32),
        failures: 0,
    };
    tryr!(apply(&mut rec, &body, now));
    data::set_date(&mut rec.json, "date_created", now);
    let out = rec.json.clone();
    if rec.json["status"] == "active" {
        s.outbox.send(OutgoingWebhook {
            url: rec.json["delivery_url"].as_str().unwrap_or("").to_owned(),
            headers: vec![
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                ),
                (header::USER_AGENT, HeaderValue::from_static(USER_AGENT)),
            ],
            body: Bytes::from(format!("webhook_id={id}")),
            on_done: None,
        });
    }
    db.webhooks.insert(id, rec);
    (StatusCode::CREATED, Json(out)).into_response()
}

pub async fn get_webhook(State(s): State<S>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    match lock(&s).webhooks.get(&id) {
        Some(w) => Json(w.json.clone()).into_response(),
        None => invalid_id(),
    }
}

pub async fn update_webhook(State(s): State<S>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let body = tryr!(json_body(&body));
    let mut db = lock(&s);
    let Some(mut rec) = db.webhooks.get(&id).cloned() else {
        return invalid_id();
    };
    let now = db.now();
    tryr!(apply(&mut rec, &body, now));
    let out = rec.json.clone();
    db.webhooks.insert(id, rec);
    Json(out).into_response()
}

pub async fn delete_webhook(State(s): State<S>, Path(id): Path<String>, Query(q): Q) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_route_response();
    };
    let force = tryr!(bool_param(&q, "force")).unwrap_or(false);
    let mut db = lock(&s);
    if !db.webhooks.contains_key(&id) {
        return invalid_id();
    }
    if !force {
        return wc_error(
            StatusCode::NOT_IMPLEMENTED,
            "woocommerce_rest_trash_not_supported",
            "Webhooks do not support trashing.",
        );
    }
    match db.webhooks.remove(&id) {
        Some(w) => Json(w.json).into_response(),
        None => invalid_id(),
    }
}

/// Sends `topic` (e.g. `order.updated`) about the resource `id` to every active webhook
/// of the topic. Call with the data already changed (and the lock held).
pub fn emit(s: &S, db: &mut Db, topic: &'static str, id: i64) {
    let targets: Vec<(i64, String, String)> = db
        .webhooks
        .iter()
        .filter(|(_, w)| w.json["topic"] == topic && w.json["status"] == "active")
        .map(|(wid, w)| {
            (
                *wid,
                w.json["delivery_url"].as_str().unwrap_or("").to_owned(),
                w.secret.clone(),
            )
        })
        .collect();
    if targets.is_empty() {
        return;
    }
    let (resource, event) = topic.split_once('.').unwrap_or_default();
    let payload = if event == "deleted" {
        Some(json!({ "id": id }))
    } else {
        match resource {
            "order" => db.orders.get(&id).cloned(),
            "product" => db.products.get(&id).cloned(),
            "customer" => db.customers.get(&id).cloned(),
            _ => None,
        }
    };
    let Some(payload) = payload else { return };
    let body = Bytes::from(serde_json::to_vec(&payload).unwrap_or_default());
    let source = format!("{}/", db.base);
    for (wid, url, secret) in targets {
        let delivery = db.next_delivery_id();
        let signature = hmac_sha256_base64(secret.as_bytes(), &body);
        let pairs = [
            ("content-type", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
            ("x-wc-webhook-source", source.clone()),
            ("x-wc-webhook-topic", topic.to_owned()),
            ("x-wc-webhook-resource", resource.to_owned()),
            ("x-wc-webhook-event", event.to_owned()),
            ("x-wc-webhook-signature", signature),
            ("x-wc-webhook-id", wid.to_string()),
            ("x-wc-webhook-delivery-id", delivery),
        ];
        let headers = pairs
            .into_iter()
            .filter_map(|(k, v)| {
                Some((HeaderName::from_static(k), HeaderValue::from_str(&v).ok()?))
            })
            .collect();
        let sandbox = s.clone();
        s.outbox.send(OutgoingWebhook {
            url,
            headers,
            body: body.clone(),
            on_done: Some(Box::new(move |ok| record(&sandbox, wid, ok))),
        });
    }
}

/// Counts a delivery's outcome; the 5th failure in a row disables the webhook.
fn record(s: &Sandbox, id: i64, ok: bool) {
    let mut db = lock(s);
    let now = db.clock();
    let Some(w) = db.webhooks.get_mut(&id) else {
        return;
    };
    if ok {
        w.failures = 0;
        return;
    }
    w.failures += 1;
    if w.failures >= MAX_FAILURES && w.json["status"] == "active" {
        w.json["status"] = json!("disabled");
        data::set_date(&mut w.json, "date_modified", now);
    }
}

impl Db {
    /// Webhooks have their own table: their own ids.
    pub fn next_webhook_id(&mut self) -> i64 {
        1 + self.webhooks.keys().next_back().copied().unwrap_or(0)
    }

    /// A delivery id: 32 hex digits, like WooCommerce's hash.
    pub fn next_delivery_id(&mut self) -> String {
        self.deliveries += 1;
        random_hex(&mut seeded_rng(self.deliveries as u64, "wc/delivery"), 32)
    }
}

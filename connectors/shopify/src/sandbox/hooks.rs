//! The sandbox's webhooks: what Shopify sends to each `webhookSubscriptionCreate`
//! subscription when a subscribed change happens (through the API or
//! `/__sandbox/simulate`).
//!
//! A delivery is an HTTP POST of the object in the legacy REST format (JSON; `id`,
//! `admin_graphql_api_id`, snake_case fields, money as strings, times in RFC 3339), or
//! `{"id"}` for `products/delete`, with Shopify's headers:
//!
//! | header | value |
//! |---|---|
//! | `X-Shopify-Topic` | `orders/create`, `orders/updated`, `products/create`, `products/update`, `products/delete`, `customers/create`, `customers/update` |
//! | `X-Shopify-Hmac-Sha256` | base64 of HMAC-SHA256 of the raw body, keyed with the app's API secret key (the banner's `api_secret_key`) |
//! | `X-Shopify-Shop-Domain` | `cartgate-demo.myshopify.com` |
//! | `X-Shopify-API-Version` | the connector's default version (2026-10) |
//! | `X-Shopify-Webhook-Id` | a UUID per delivery (the same on retries of it) |
//! | `X-Shopify-Event-Id` | a UUID per change (shared by the subscriptions it reaches) |
//! | `X-Shopify-Triggered-At` | when the change happened (the sandbox clock), RFC 3339 |
//!
//! The REST bodies carry the fields of Shopify's REST fixtures
//! (../shared/platform-specs/shopify/rest-fixtures) that the sandbox has data for, plus
//! `admin_graphql_api_id` (and a product's `status`, a customer's `phone`), which the
//! current REST format has and those older fixtures lack.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderName, HeaderValue};
use cartgate_connector::sandbox::{OutgoingWebhook, WebhookOutbox};
use cartgate_connector::webhook::hmac_sha256_base64;
use chrono::{SecondsFormat, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::data::*;

/// Where and how the sandbox sends its webhooks.
pub struct Hooks {
    pub outbox: WebhookOutbox,
    /// Numbers the deliveries and events (their UUIDs).
    counter: AtomicU64,
    seed: u64,
}

impl Hooks {
    pub fn new(outbox: WebhookOutbox, seed: u64) -> Hooks {
        Hooks {
            outbox,
            counter: AtomicU64::new(0),
            seed,
        }
    }

    /// A deterministic version-4-shaped UUID.
    fn uuid(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.seed;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (x >> 32) as u32,
            (x >> 16) as u16,
            x & 0xfff,
            (n >> 12) & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }
}

fn time(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn money(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

fn address(a: &AddressRec) -> Value {
    let name = [a.first_name.as_deref(), a.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "first_name": a.first_name, "last_name": a.last_name, "name": name,
        "company": a.company, "address1": a.address1, "address2": a.address2.clone().unwrap_or_default(),
        "city": a.city, "province": a.province, "province_code": a.province_code, "zip": a.zip,
        "country": a.country, "country_code": a.country_code, "phone": a.phone,
    })
}

fn customer_address(a: &AddressRec, default: bool) -> Value {
    let mut v = address(a);
    v["id"] = json!(a.id);
    v["country_name"] = json!(a.country);
    v["default"] = json!(default);
    v
}

fn tax_lines(taxes: &[TaxRec]) -> Vec<Value> {
    taxes
        .iter()
        .map(|t| json!({"title": t.title, "rate": t.rate.normalize().to_string().parse::<f64>().unwrap_or(0.0), "price": money(t.amount)}))
        .collect()
}

fn state(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// A customer in the REST format (also the `customer` of an order).
pub fn customer_json(c: &CustomerRec) -> Value {
    let addresses: Vec<Value> = c
        .addresses
        .iter()
        .enumerate()
        .map(|(i, a)| customer_address(a, i == 0))
        .collect();
    json!({
        "id": c.id,
        "admin_graphql_api_id": gid("Customer", c.id),
        "email": c.email,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "phone": c.phone,
        "state": state(c.state),
        "note": null,
        "tags": "",
        "verified_email": true,
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
        "default_address": addresses.first().cloned(),
        "addresses": addresses,
    })
}

/// A product in the REST format.
pub fn product_json(p: &ProductRec) -> Value {
    let variants: Vec<Value> = p
        .variants
        .iter()
        .map(|v| {
            let opt = |i: usize| v.options.get(i).map(|(_, value)| value.clone());
            json!({
                "id": v.id,
                "admin_graphql_api_id": gid("ProductVariant", v.id),
                "product_id": p.id,
                "title": v.title,
                "price": money(v.price),
                "compare_at_price": null,
                "sku": v.sku.clone().unwrap_or_default(),
                "position": v.position,
                "inventory_policy": "deny",
                "inventory_management": if v.tracked { json!("shopify") } else { Value::Null },
                "inventory_quantity": v.quantity(),
                "fulfillment_service": "manual",
                "requires_shipping": v.requires_shipping,
                "grams": crate::sandbox::data::round_grams(v.grams()),
                "taxable": true,
                "option1": opt(0),
                "option2": opt(1),
                "option3": opt(2),
                "created_at": time(v.created_at),
                "updated_at": time(v.updated_at),
            })
        })
        .collect();
    let images: Vec<Value> = p
        .images
        .iter()
        .enumerate()
        .map(|(i, (id, src))| {
            json!({"id": id, "product_id": p.id, "position": i + 1, "src": src,
                   "created_at": time(p.created_at), "updated_at": time(p.updated_at)})
        })
        .collect();
    let mut option_names: Vec<&str> = Vec::new();
    for v in &p.variants {
        for (name, _) in &v.options {
            if !option_names.contains(&name.as_str()) {
                option_names.push(name);
            }
        }
    }
    json!({
        "id": p.id,
        "admin_graphql_api_id": gid("Product", p.id),
        "title": p.title,
        "body_html": p.description_html,
        "vendor": p.vendor,
        "product_type": p.product_type,
        "handle": p.handle,
        "status": p.status.to_ascii_lowercase(),
        "tags": "",
        "template_suffix": null,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
        "published_at": (p.status == "ACTIVE").then(|| time(p.created_at)),
        "variants": variants,
        "images": images,
        "options": option_names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
    })
}

/// An order in the REST format.
pub fn order_json(db: &Db, o: &OrderRec) -> Value {
    let line_items: Vec<Value> = o
        .line_items
        .iter()
        .map(|l| {
            let product = l.product_id.and_then(|p| db.products.get(&p));
            let variant = product
                .zip(l.variant_id)
                .and_then(|(p, v)| p.variants.iter().find(|x| x.id == v));
            let done = o.fulfilled_qty(l.id);
            json!({
                "id": l.id,
                "admin_graphql_api_id": gid("LineItem", l.id),
                "name": l.name,
                "title": product.map_or(l.name.as_str(), |p| p.title.as_str()),
                "variant_title": variant.map(|v| v.title.clone()).filter(|t| t != "Default Title"),
                "sku": l.sku,
                "vendor": product.map(|p| p.vendor.clone()),
                "quantity": l.quantity,
                "price": money(l.unit_price),
                "product_id": l.product_id,
                "variant_id": l.variant_id,
                "product_exists": product.is_some(),
                "fulfillment_service": "manual",
                "fulfillment_status": if done >= l.quantity { json!("fulfilled") } else if done > 0 { json!("partial") } else { Value::Null },
                "requires_shipping": l.requires_shipping,
                "taxable": !l.taxes.is_empty(),
                "grams": variant.map_or(0, |v| crate::sandbox::data::round_grams(v.grams())),
                "properties": [],
                "tax_lines": tax_lines(&l.taxes),
            })
        })
        .collect();
    let fulfillments: Vec<Value> = o
        .fulfillments
        .iter()
        .map(|f| {
            let numbers: Vec<&str> = f
                .tracking
                .iter()
                .filter_map(|t| t.number.as_deref())
                .collect();
            let urls: Vec<&str> = f.tracking.iter().filter_map(|t| t.url.as_deref()).collect();
            json!({
                "id": f.id,
                "admin_graphql_api_id": gid("Fulfillment", f.id),
                "order_id": o.id,
                "status": f.status.to_ascii_lowercase(),
                "service": "manual",
                "tracking_company": f.tracking.first().and_then(|t| t.company.clone()),
                "tracking_number": numbers.first(),
                "tracking_numbers": numbers,
                "tracking_url": urls.first(),
                "tracking_urls": urls,
                "created_at": time(f.created_at),
                "updated_at": time(f.created_at),
            })
        })
        .collect();
    let fulfillment_status = match o.display_fulfillment() {
        "FULFILLED" => json!("fulfilled"),
        "PARTIALLY_FULFILLED" => json!("partial"),
        _ => Value::Null,
    };
    let shipping_lines: Vec<Value> = o
        .shipping_lines
        .iter()
        .map(|l| {
            json!({"code": l.code, "title": l.title, "price": money(l.discounted()), "source": l.source, "tax_lines": tax_lines(&l.taxes)})
        })
        .collect();
    let mut taxes: Vec<TaxRec> = Vec::new();
    for t in o
        .line_items
        .iter()
        .flat_map(|l| &l.taxes)
        .chain(o.shipping_lines.iter().flat_map(|l| &l.taxes))
    {
        match taxes
            .iter_mut()
            .find(|x| x.title == t.title && x.rate == t.rate)
        {
            Some(x) => x.amount += t.amount,
            None => taxes.push(t.clone()),
        }
    }
    json!({
        "id": o.id,
        "admin_graphql_api_id": gid("Order", o.id),
        "name": o.name(),
        "number": o.number.saturating_sub(1000),
        "order_number": o.number,
        "email": o.email,
        "note": o.note,
        "created_at": time(o.created_at),
        "updated_at": time(o.updated_at),
        "closed_at": o.closed_at.map(time),
        "cancelled_at": o.cancelled_at.map(time),
        "cancel_reason": o.cancel_reason.map(str::to_ascii_lowercase),
        "currency": SHOP_CURRENCY,
        "financial_status": o.financial.to_ascii_lowercase(),
        "fulfillment_status": fulfillment_status,
        "confirmed": true,
        "test": false,
        "tags": o.tags.join(", "),
        "taxes_included": o.taxes_included,
        "total_weight": o.total_weight_grams,
        "tax_lines": tax_lines(&taxes),
        "discount_codes": o.discount_codes.iter().map(|c| json!({"code": c, "amount": money(
            o.line_items.iter().filter_map(|l| l.discount.as_ref()).chain(o.shipping_lines.iter().filter_map(|l| l.discount.as_ref()))
                .filter(|(code, _)| code == c).map(|(_, d)| *d).sum::<Decimal>()
        )})).collect::<Vec<_>>(),
        "total_line_items_price": money(o.lines_total()),
        "subtotal_price": money(o.subtotal()),
        "total_discounts": money(o.discounts),
        "total_tax": money(o.tax),
        "total_price": money(o.total()),
        // An order's customer carries the default address only.
        "customer": o.customer_id.and_then(|c| db.customers.get(&c)).map(|c| {
            let mut v = customer_json(c);
            if let Some(obj) = v.as_object_mut() {
                obj.remove("addresses");
            }
            v
        }),
        "billing_address": o.billing.as_ref().map(address),
        "shipping_address": o.shipping_address.as_ref().map(address),
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "fulfillments": fulfillments,
    })
}

/// The webhook body of `topic` for object `id`, `None` when the object is gone (except
/// for `products/delete`, whose body is `{"id"}`).
pub fn payload(db: &Db, topic: Topic, id: u64) -> Option<Value> {
    match topic {
        Topic::OrdersCreate | Topic::OrdersUpdated => db.orders.get(&id).map(|o| order_json(db, o)),
        Topic::ProductsCreate | Topic::ProductsUpdate => db.products.get(&id).map(product_json),
        Topic::ProductsDelete => Some(json!({ "id": id })),
        Topic::CustomersCreate | Topic::CustomersUpdate => db.customers.get(&id).map(customer_json),
    }
}

/// Sends `topic` about object `id` (changed at `at`, sandbox clock) to every subscription
/// of the topic, signed with the app's API secret key.
pub fn emit(hooks: &Hooks, db: &Db, topic: Topic, id: u64, at: i64) {
    let subs: Vec<&WebhookRec> = db.webhooks.values().filter(|w| w.topic == topic).collect();
    if subs.is_empty() {
        return;
    }
    let Some(body) = payload(db, topic, id) else {
        return;
    };
    let body = axum::body::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let signature = hmac_sha256_base64(db.api_secret_key.as_bytes(), &body);
    let event_id = hooks.uuid();
    let triggered = Utc
        .timestamp_opt(at, 0)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Nanos, true);
    for sub in subs {
        let header = |name: &'static str, value: &str| {
            HeaderValue::from_str(value)
                .ok()
                .map(|v| (HeaderName::from_static(name), v))
        };
        let headers = [
            header("content-type", "application/json"),
            header("x-shopify-topic", topic.header()),
            header("x-shopify-hmac-sha256", &signature),
            header("x-shopify-shop-domain", SHOP_DOMAIN),
            header("x-shopify-api-version", crate::DEFAULT_API_VERSION),
            header("x-shopify-webhook-id", &hooks.uuid()),
            header("x-shopify-event-id", &event_id),
            header("x-shopify-triggered-at", &triggered),
        ]
        .into_iter()
        .flatten()
        .collect();
        hooks.outbox.send(OutgoingWebhook {
            url: sub.callback_url.clone(),
            headers,
            body: body.clone(),
            on_done: None,
        });
    }
}

//! Deterministic seeded data with the variety a mapping needs: every order status, refunds
//! (full in one or two refunds by line, one unit of a line, an amount without lines),
//! guest orders, missing optional fields, non-ASCII names, several currencies (JPY with no
//! decimals), tax-inclusive and tax-exclusive orders, several tax rates (19 % and 7 % in
//! one order, shipping taxed), two coupon codes, four payment methods, flat rate, free
//! shipping and local pickup, variable products with Size/Colour options, weights (kg),
//! dimensions (cm) and GTINs on some products and variations only, virtual and
//! downloadable records, drafts and private products, products without sku or images,
//! nested categories, customers with and without addresses, order notes and shipment
//! trackings.
//!
//! Objects are kept as the JSON the API serves (`serde_json::Value`): the simulator's job
//! is to answer documented shapes, and handlers filter and patch those shapes directly.
//!
//! The store is in Berlin (`Europe/Berlin`): local dates (`date_created`) are CET/CEST,
//! `*_gmt` dates are UTC, both without a zone suffix, as WordPress writes them.

use std::collections::BTreeMap;

use cartgate_connector::sandbox::SEED_NAMES as NAMES;
use cartgate_connector::sandbox::{random_hex, seeded_rng, SandboxOptions, SANDBOX_EPOCH};
use chrono::{DateTime, Datelike, NaiveDate, Weekday};
use rand::Rng;
use serde_json::{json, Value};

pub struct Db {
    /// The sandbox's own URL, for `_links` and permalinks.
    pub base: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub currency: String,
    pub orders: BTreeMap<i64, Value>,
    pub products: BTreeMap<i64, Value>,
    pub variations: BTreeMap<i64, Value>,
    pub customers: BTreeMap<i64, Value>,
    pub categories: BTreeMap<i64, Value>,
    pub notes: BTreeMap<i64, Vec<Value>>,
    pub trackings: BTreeMap<i64, Vec<Value>>,
    /// Refunds by id, as `GET /wc/v3/refunds` serves them (with `parent_id`).
    pub refunds: BTreeMap<i64, Value>,
    /// Settings changed through `PUT /wc/v3/settings/{group}/{id}`, by setting id.
    pub settings: BTreeMap<String, String>,
    pub webhooks: BTreeMap<i64, super::hooks::WebhookRec>,
    /// Webhook deliveries made (their ids).
    pub deliveries: i64,
    next_id: i64,
    writes: i64,
}

/// (address_1, city, state, postcode, country, phone).
const PLACES: [(&str, &str, &str, &str, &str, &str); 6] = [
    (
        "Friedrichstraße 43",
        "Berlin",
        "BE",
        "10117",
        "DE",
        "+49 30 1234567",
    ),
    (
        "969 Market",
        "San Francisco",
        "CA",
        "94103",
        "US",
        "(555) 555-5555",
    ),
    (
        "10 Downing Street",
        "London",
        "",
        "SW1A 2AA",
        "GB",
        "+44 20 7946 0958",
    ),
    (
        "千代田1-1",
        "千代田区",
        "JP13",
        "100-0001",
        "JP",
        "+81 3-1234-5678",
    ),
    (
        "5 Rue de Rivoli",
        "Paris",
        "",
        "75001",
        "FR",
        "+33 1 23 45 67 89",
    ),
    (
        "Drottninggatan 1",
        "Stockholm",
        "",
        "111 51",
        "SE",
        "+46 8 123 456",
    ),
];

/// (code, decimals, units per 1 EUR in hundredths, tax rate id, label, percent).
const CURRENCIES: [(&str, u32, i64, i64, &str, i64); 4] = [
    ("EUR", 2, 100, 1, "MwSt.", 19),
    ("USD", 2, 108, 0, "", 0),
    ("GBP", 2, 85, 2, "VAT", 20),
    ("JPY", 0, 16_500, 3, "消費税", 10),
];

/// Product weights in the store's unit (kg).
const WEIGHTS: [&str; 5] = ["0.35", "1.2", "0.08", "2.5", "0.6"];

/// The first 12 digits of the sandbox's GTIN-13s (a German GS1 prefix).
const GTIN_PREFIX: u64 = 400_638_000_000;

/// A GTIN-13 (EAN) from its first 12 digits, with the check digit.
pub fn ean13(first12: u64) -> String {
    let digits = format!("{:012}", first12 % 1_000_000_000_000);
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// Seconds of the EU summer-time offset at `secs` (UTC): CEST from the last Sunday of
/// March to the last Sunday of October, 01:00 UTC both.
fn berlin_offset(secs: i64) -> i64 {
    let Some(t) = DateTime::from_timestamp(secs, 0) else {
        return 3600;
    };
    let last_sunday = |month: u32| -> i64 {
        let last = match month {
            3 => NaiveDate::from_ymd_opt(t.year(), 3, 31),
            _ => NaiveDate::from_ymd_opt(t.year(), 10, 31),
        };
        last.map(|d| {
            let back = i64::from(d.weekday().num_days_from_sunday());
            (d - chrono::Duration::days(back))
                .and_hms_opt(1, 0, 0)
                .map(|x| x.and_utc().timestamp())
                .unwrap_or(0)
        })
        .unwrap_or(0)
    };
    debug_assert_eq!(Weekday::Sun.num_days_from_sunday(), 0);
    if secs >= last_sunday(3) && secs < last_sunday(10) {
        7200
    } else {
        3600
    }
}

fn fmt(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC (the `*_gmt` fields).
pub fn gmt(secs: i64) -> String {
    fmt(secs)
}

/// The same instant in the store's time zone (the fields without `_gmt`).
pub fn local(secs: i64) -> String {
    fmt(secs + berlin_offset(secs))
}

/// The store's UTC offset in hours at `secs` (the index's `gmt_offset`).
pub fn gmt_offset_hours(secs: i64) -> i64 {
    berlin_offset(secs) / 3600
}

/// Sets `field` (local) and `field_gmt` (UTC) to the instant `secs`.
pub fn set_date(v: &mut Value, field: &str, secs: i64) {
    v[field] = json!(local(secs));
    v[format!("{field}_gmt")] = json!(gmt(secs));
}

/// A money string: `decimals` = 2 gives "12.50", 0 gives "1650" (JPY).
pub fn money(minor: i64, decimals: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    if decimals == 0 {
        format!("{sign}{m}")
    } else {
        let p = 10u64.pow(decimals);
        format!(
            "{sign}{}.{:0w$}",
            m / p,
            m % p,
            w = usize::try_from(decimals).unwrap_or(2)
        )
    }
}

/// Minor units of a 2-decimal price string ("12.50" → 1250).
pub fn cents(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac: String = frac.chars().chain("00".chars()).take(2).collect();
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

/// WordPress's `sanitize_title`, close enough: accents folded, other non-ASCII letters
/// percent-encoded (as WordPress does for e.g. Japanese slugs), words joined by '-'.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let folded = match c {
            'à' | 'á' | 'â' | 'ä' | 'å' | 'ã' => "a",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ò' | 'ó' | 'ô' | 'ö' | 'ø' | 'ō' | 'õ' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ç' => "c",
            'ñ' => "n",
            'ß' => "ss",
            'ł' => "l",
            'ż' | 'ź' => "z",
            'ć' => "c",
            _ => "",
        };
        if !folded.is_empty() {
            out.push_str(folded);
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c.is_alphanumeric() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02x}"));
            }
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Text as WordPress stores what it filters through kses (product names and descriptions,
/// `wp_kses_normalize_entities`): a `&` that does not start a character reference becomes
/// `&amp;`; references are kept. The REST API then serves the stored text, which is why a
/// real store answers `Fish &amp; Chips` for a product named "Fish & Chips".
pub fn kses(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let reference = tail[1..].find(';').map(|j| &tail[..j + 2]).filter(|r| {
            let inner = &r[1..r.len() - 1];
            inner.len() <= 32
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'#')
                && cartgate_connector::lenient::decode_entities(r) != *r
        });
        match reference {
            Some(r) => {
                out.push_str(r);
                rest = &tail[r.len()..];
            }
            None => {
                out.push_str("&amp;");
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text as `esc_html` stores it (term names, the site title): [`kses`]'s `&` plus
/// `<`, `>`, `"` and `'` (`&#039;`, as WordPress writes it).
pub fn esc_html(s: &str) -> String {
    kses(s)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#039;")
}

fn links(base: &str, path: &str, collection: &str) -> Value {
    json!({
        "self": [{"href": format!("{base}/wp-json/wc/v3{path}")}],
        "collection": [{"href": format!("{base}/wp-json/wc/v3{collection}")}],
    })
}

fn address(
    first: &str,
    last: &str,
    company: &str,
    place: usize,
    contact: Option<(&str, &str)>,
) -> Value {
    let (a1, city, state, pc, country, _) = PLACES[place % PLACES.len()];
    let mut a = json!({
        "first_name": first, "last_name": last, "company": company,
        "address_1": a1, "address_2": "", "city": city, "state": state,
        "postcode": pc, "country": country,
    });
    if let Some((email, phone)) = contact {
        a["email"] = json!(email);
        a["phone"] = json!(phone);
    }
    a
}

/// All fields empty: what WooCommerce serves for an address never entered.
fn empty_address(with_contact: bool) -> Value {
    let mut a = json!({"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "", "state": "", "postcode": "", "country": ""});
    if with_contact {
        a["email"] = json!("");
        a["phone"] = json!("");
    }
    a
}

fn image(base: &str, id: i64, name: &str, secs: i64) -> Value {
    let mut v = json!({
        "id": id,
        "src": format!("{base}/wp-content/uploads/2024/05/{name}.jpg"),
        "name": name, "alt": "",
    });
    set_date(&mut v, "date_created", secs);
    set_date(&mut v, "date_modified", secs);
    v
}

/// A new product with every documented field at WooCommerce's defaults.
pub fn blank_product(base: &str, id: i64, secs: i64) -> Value {
    let mut p = json!({
        "id": id, "name": "", "slug": format!("product-{id}"), "permalink": format!("{base}/product/product-{id}/"),
        "date_created": "", "date_created_gmt": "", "date_modified": "", "date_modified_gmt": "",
        "type": "simple", "status": "publish", "featured": false, "catalog_visibility": "visible",
        "description": "", "short_description": "", "sku": "", "price": "", "regular_price": "", "sale_price": "",
        "date_on_sale_from": null, "date_on_sale_from_gmt": null, "date_on_sale_to": null, "date_on_sale_to_gmt": null,
        "price_html": "", "on_sale": false, "purchasable": false, "total_sales": 0, "virtual": false, "downloadable": false,
        "downloads": [], "download_limit": -1, "download_expiry": -1, "external_url": "", "button_text": "",
        "tax_status": "taxable", "tax_class": "", "manage_stock": false, "stock_quantity": null, "stock_status": "instock",
        "backorders": "no", "backorders_allowed": false, "backordered": false, "sold_individually": false,
        "global_unique_id": "",
        "weight": "", "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": true,
        "shipping_taxable": true, "shipping_class": "", "shipping_class_id": 0, "reviews_allowed": true,
        "average_rating": "0.00", "rating_count": 0, "related_ids": [], "upsell_ids": [], "cross_sell_ids": [],
        "parent_id": 0, "purchase_note": "", "categories": [], "tags": [], "images": [], "attributes": [],
        "default_attributes": [], "variations": [], "grouped_products": [], "menu_order": 0, "meta_data": [],
        "_links": links(base, &format!("/products/{id}"), "/products"),
    });
    set_date(&mut p, "date_created", secs);
    set_date(&mut p, "date_modified", secs);
    p
}

/// A new variation of `parent` with every documented field at WooCommerce's defaults.
pub fn blank_variation(base: &str, id: i64, parent: i64, secs: i64) -> Value {
    let mut v = json!({
        "id": id, "date_created": "", "date_created_gmt": "", "date_modified": "", "date_modified_gmt": "",
        "description": "", "permalink": format!("{base}/product/product-{parent}/"),
        "sku": "", "global_unique_id": "", "price": "", "regular_price": "", "sale_price": "",
        "date_on_sale_from": null, "date_on_sale_from_gmt": null, "date_on_sale_to": null, "date_on_sale_to_gmt": null,
        "on_sale": false, "status": "publish", "purchasable": false, "virtual": false, "downloadable": false,
        "downloads": [], "download_limit": -1, "download_expiry": -1, "tax_status": "taxable", "tax_class": "",
        "manage_stock": false, "stock_quantity": null, "stock_status": "instock", "backorders": "no",
        "backorders_allowed": false, "backordered": false, "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "", "shipping_class_id": 0,
        "image": null, "attributes": [], "menu_order": 0, "meta_data": [],
        "_links": {
            "self": [{"href": format!("{base}/wp-json/wc/v3/products/{parent}/variations/{id}")}],
            "collection": [{"href": format!("{base}/wp-json/wc/v3/products/{parent}/variations")}],
            "up": [{"href": format!("{base}/wp-json/wc/v3/products/{parent}")}],
        },
    });
    set_date(&mut v, "date_created", secs);
    set_date(&mut v, "date_modified", secs);
    v
}

/// Keeps `price`, `on_sale`, `purchasable`, `stock_status` and `price_html` consistent
/// with the prices and stock, as WooCommerce does on save.
pub fn derive_product_fields(p: &mut Value) {
    let regular = p["regular_price"].as_str().unwrap_or("").to_owned();
    let sale = p["sale_price"].as_str().unwrap_or("").to_owned();
    let on_sale = !sale.is_empty() && cents(&sale) < cents(&regular);
    if p["type"] != "variable" {
        p["price"] = json!(if on_sale { &sale } else { &regular });
    }
    p["on_sale"] = json!(on_sale);
    let price = p["price"].as_str().unwrap_or("").to_owned();
    p["purchasable"] = json!(!price.is_empty());
    let html = if price.is_empty() {
        String::new()
    } else {
        format!("<span class=\"woocommerce-Price-amount amount\"><bdi>{price}&nbsp;<span class=\"woocommerce-Price-currencySymbol\">&euro;</span></bdi></span>")
    };
    // Variations have no price_html.
    if p.get("type").is_some() {
        p["price_html"] = json!(html);
    }
    if p["manage_stock"] == true {
        if let Some(q) = p["stock_quantity"].as_i64() {
            p["stock_status"] = json!(if q > 0 { "instock" } else { "outofstock" });
        }
    } else {
        p["stock_quantity"] = Value::Null;
    }
}

/// Tracking link of the Shipment Tracking extension's predefined providers.
pub fn provider_link(provider: &str, number: &str) -> Option<(&'static str, String)> {
    let key: String = provider
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let (name, url) = match key.as_str() {
        "dhl" | "dhlde" => (
            "DHL",
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=",
        ),
        "dpd" | "dpdde" => ("DPD", "https://tracking.dpd.de/parcelstatus?query="),
        "ups" => ("UPS", "https://www.ups.com/track?loc=en_US&tracknum="),
        "fedex" => ("Fedex", "https://www.fedex.com/fedextrack/?trknbr="),
        "usps" => (
            "USPS",
            "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=",
        ),
        "royalmail" => (
            "Royal Mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/",
        ),
        _ => return None,
    };
    Some((name, format!("{url}{number}")))
}

/// A sellable line: (product id, variation id, name, sku, unit price in EUR cents,
/// variation attributes as line-item meta).
type Sellable = (i64, i64, String, String, i64, Vec<LineMeta>);

/// A variation attribute as order-item meta: the key (`pa_size`, or the custom attribute's
/// sanitized name), the stored value (the term slug for a global attribute), and what
/// WooCommerce 4.x+ serves beside them as `display_key` / `display_value` (the
/// attribute's label and the term's name).
#[derive(Clone)]
pub struct LineMeta {
    pub key: String,
    pub value: String,
    pub display_key: String,
    pub display_value: String,
}

/// The reduced German VAT rate's label (rate id 4, 7 %).
const REDUCED_LABEL: &str = "MwSt. ermäßigt";

/// Minor units of a money string with `dp` decimals (`"16.50"` → 1650, JPY `"825"` → 825).
fn minor(s: &str, dp: u32) -> i64 {
    if dp == 0 {
        s.parse().unwrap_or(0)
    } else {
        cents(s).unwrap_or(0)
    }
}

/// What one seeded refund gives back: order items (line items, or the shipping line)
/// with the units, net amount and tax refunded, and the amount in minor units.
pub struct RefundPlan {
    pub items: Vec<RefundItem>,
    pub amount: i64,
    pub reason: &'static str,
}

pub struct RefundItem {
    /// The order's line item or shipping line, as served.
    pub item: Value,
    pub quantity: i64,
    pub net: i64,
    pub tax: i64,
}

impl RefundPlan {
    /// All units of these lines (and the shipping line, if given).
    pub fn lines(lines: &[Value], shipping: Option<&Value>, reason: &'static str) -> RefundPlan {
        let items: Vec<RefundItem> = lines
            .iter()
            .chain(shipping)
            .map(|l| {
                let dp = dp_of(l);
                RefundItem {
                    item: l.clone(),
                    quantity: l["quantity"].as_i64().unwrap_or(0),
                    net: minor(l["total"].as_str().unwrap_or("0"), dp),
                    tax: minor(l["total_tax"].as_str().unwrap_or("0"), dp),
                }
            })
            .collect();
        let amount = items.iter().map(|x| x.net + x.tax).sum();
        RefundPlan {
            items,
            amount,
            reason,
        }
    }

    /// One unit of a line, its share of the line's net amount and tax.
    pub fn one_unit(line: &Value, reason: &'static str) -> RefundPlan {
        let dp = dp_of(line);
        let qty = line["quantity"].as_i64().unwrap_or(1).max(1);
        let share = |k: &str| (minor(line[k].as_str().unwrap_or("0"), dp) + qty / 2) / qty;
        let (net, tax) = (share("total"), share("total_tax"));
        RefundPlan {
            items: vec![RefundItem {
                item: line.clone(),
                quantity: 1,
                net,
                tax,
            }],
            amount: net + tax,
            reason,
        }
    }
}

/// The decimals an order item's amounts are written with.
fn dp_of(item: &Value) -> u32 {
    match item["total"].as_str().and_then(|t| t.split_once('.')) {
        Some((_, frac)) => u32::try_from(frac.len()).unwrap_or(2),
        None => 0,
    }
}

/// A refund as `GET /wc/v3/refunds` serves it (the order's refunds route serves the same
/// without `parent_id`): negative quantities and amounts, and each refunded item's order
/// item in the meta `_refunded_item_id`. Item ids come from the order items' sequence.
#[allow(clippy::too_many_arguments)]
pub fn refund_doc(
    base: &str,
    order_id: i64,
    id: i64,
    secs: i64,
    plan: &RefundPlan,
    dp: u32,
    refunded_payment: bool,
    item_ids: &mut i64,
) -> Value {
    let mut line_items = Vec::new();
    let mut shipping_lines = Vec::new();
    for x in &plan.items {
        let item_id = *item_ids;
        *item_ids += 1;
        let original = x.item["id"].as_i64().unwrap_or(0).to_string();
        let meta = json!([{"id": item_id * 10, "key": "_refunded_item_id", "value": original,
            "display_key": "_refunded_item_id", "display_value": original}]);
        let taxes: Vec<Value> = x.item["taxes"]
            .as_array()
            .into_iter()
            .flatten()
            .take(1)
            .map(|t| json!({"id": t["id"], "total": money(-x.tax, dp), "subtotal": money(-x.tax, dp)}))
            .collect();
        if x.item.get("method_id").is_some() {
            shipping_lines.push(json!({
                "id": item_id, "method_title": x.item["method_title"], "method_id": x.item["method_id"],
                "instance_id": x.item["instance_id"], "total": money(-x.net, dp), "total_tax": money(-x.tax, dp),
                "taxes": taxes, "meta_data": meta,
            }));
            continue;
        }
        let unit = -(x.net as f64) / x.quantity.max(1) as f64 / 10f64.powi(dp as i32);
        let price = if unit.fract() == 0.0 {
            json!(unit as i64)
        } else {
            json!(unit)
        };
        line_items.push(json!({
            "id": item_id, "name": x.item["name"], "product_id": x.item["product_id"],
            "variation_id": x.item["variation_id"], "quantity": -x.quantity, "tax_class": x.item["tax_class"],
            "subtotal": money(-x.net, dp), "subtotal_tax": money(-x.tax, dp), "total": money(-x.net, dp),
            "total_tax": money(-x.tax, dp), "taxes": taxes, "meta_data": meta, "sku": x.item["sku"],
            "global_unique_id": "", "price": price,
        }));
    }
    let mut r = json!({
        "id": id, "parent_id": order_id, "date_created": "", "date_created_gmt": "",
        "amount": money(plan.amount, dp), "reason": plan.reason, "refunded_by": 1,
        "refunded_payment": refunded_payment, "meta_data": [], "line_items": line_items,
        "shipping_lines": shipping_lines, "tax_lines": [], "fee_lines": [],
        "_links": {
            "self": [{"href": format!("{base}/wp-json/wc/v3/orders/{order_id}/refunds/{id}")}],
            "collection": [{"href": format!("{base}/wp-json/wc/v3/orders/{order_id}/refunds")}],
            "up": [{"href": format!("{base}/wp-json/wc/v3/orders/{order_id}")}],
        },
    });
    set_date(&mut r, "date_created", secs);
    r
}

impl LineMeta {
    pub fn json(&self, id: i64) -> Value {
        json!({"id": id, "key": self.key, "value": self.value,
               "display_key": self.display_key, "display_value": self.display_value})
    }
}

impl Db {
    /// The sandbox clock for writes: starts at the fixed epoch and moves one second per
    /// write, so a sequence of writes gives the same dates every run.
    pub fn now(&mut self) -> i64 {
        self.writes += 1;
        SANDBOX_EPOCH + self.writes
    }

    /// The next post id (products, variations, orders, refunds share WordPress's posts
    /// table, so one sequence).
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// `[{id, name, slug}]` for category ids that exist (unknown ids are dropped, as
    /// WooCommerce ignores them).
    pub fn category_refs(&self, ids: impl IntoIterator<Item = i64>) -> Value {
        Value::Array(
            ids.into_iter()
                .filter_map(|id| self.categories.get(&id))
                .map(|c| json!({"id": c["id"], "name": c["name"], "slug": c["slug"]}))
                .collect(),
        )
    }

    /// Category ids and all their descendants (a category filter includes children).
    pub fn with_descendants(&self, roots: &[i64]) -> Vec<i64> {
        let mut out: Vec<i64> = roots.to_vec();
        let mut i = 0;
        while i < out.len() {
            let id = out[i];
            out.extend(
                self.categories
                    .values()
                    .filter(|c| c["parent"].as_i64() == Some(id))
                    .filter_map(|c| c["id"].as_i64()),
            );
            i += 1;
        }
        out
    }

    /// Term counts: published products assigned directly, as WordPress counts them.
    pub fn recount_categories(&mut self) {
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for p in self.products.values().filter(|p| p["status"] == "publish") {
            for c in p["categories"].as_array().into_iter().flatten() {
                if let Some(id) = c["id"].as_i64() {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
        for (id, c) in self.categories.iter_mut() {
            c["count"] = json!(counts.get(id).copied().unwrap_or(0));
        }
    }

    pub fn add_note(
        &mut self,
        order: i64,
        secs: i64,
        text: &str,
        customer_note: bool,
        author: &str,
    ) -> Value {
        let id = self.next_note_id();
        let base = &self.base;
        let mut n = json!({"id": id, "author": author, "date_created": "", "date_created_gmt": "", "note": text, "customer_note": customer_note,
        "_links": {
            "self": [{"href": format!("{base}/wp-json/wc/v3/orders/{order}/notes/{id}")}],
            "collection": [{"href": format!("{base}/wp-json/wc/v3/orders/{order}/notes")}],
            "up": [{"href": format!("{base}/wp-json/wc/v3/orders/{order}")}],
        }});
        set_date(&mut n, "date_created", secs);
        self.notes.entry(order).or_default().push(n.clone());
        n
    }

    /// Order notes are comments: their own id sequence.
    fn next_note_id(&mut self) -> i64 {
        1 + self
            .notes
            .values()
            .flatten()
            .filter_map(|n| n["id"].as_i64())
            .max()
            .unwrap_or(800)
    }

    pub fn seed(opts: &SandboxOptions, base: &str) -> Db {
        let mut keys = seeded_rng(opts.seed, "woocommerce/keys");
        let mut db = Db {
            base: base.trim_end_matches('/').to_owned(),
            consumer_key: format!("ck_{}", random_hex(&mut keys, 40)),
            consumer_secret: format!("cs_{}", random_hex(&mut keys, 40)),
            currency: "EUR".into(),
            orders: BTreeMap::new(),
            products: BTreeMap::new(),
            variations: BTreeMap::new(),
            customers: BTreeMap::new(),
            categories: BTreeMap::new(),
            notes: BTreeMap::new(),
            trackings: BTreeMap::new(),
            refunds: BTreeMap::new(),
            settings: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            deliveries: 0,
            next_id: 0,
            writes: 0,
        };
        db.seed_categories();
        db.seed_customers(opts);
        db.seed_products(opts);
        db.seed_orders(opts);
        db.recount_categories();
        db
    }

    fn seed_categories(&mut self) {
        // (id, name, parent, description, image id): three levels under Clothing.
        let cats = [
            (15, "Uncategorized", 0, "", 0),
            (16, "Clothing", 0, "Everything to wear", 90),
            (17, "Hoodies", 16, "", 0),
            (18, "Zip Hoodies", 17, "Hoodies with a zip", 0),
            (19, "T-shirts", 16, "", 91),
            (20, "Music", 0, "", 0),
            (21, "Vinyl", 20, "Records, 12 inch", 0),
            (
                22,
                "Accessoires & Küche",
                0,
                "Becher, Mützen – alles für zu Hause",
                0,
            ),
        ];
        for (id, name, parent, desc, img) in cats {
            let image = if img == 0 {
                Value::Null
            } else {
                image(
                    &self.base,
                    img,
                    &slugify(name),
                    SANDBOX_EPOCH - 800 * 86_400,
                )
            };
            self.categories.insert(
                id,
                json!({
                    // WordPress keeps term names through esc_html: `Accessoires &amp; Küche`.
                    "id": id, "name": esc_html(name), "slug": slugify(name), "parent": parent,
                    "description": desc, "display": "default", "image": image, "menu_order": 0, "count": 0,
                    "_links": links(&self.base, &format!("/products/categories/{id}"), "/products/categories"),
                }),
            );
        }
    }

    fn seed_customers(&mut self, opts: &SandboxOptions) {
        let mut rng = seeded_rng(opts.seed, "woocommerce/customers");
        let two_years = 730 * 86_400;
        // The shop's administrator: a user, not a customer (hidden by the default role).
        let admin_created = SANDBOX_EPOCH - 800 * 86_400;
        let mut admin = json!({
            "id": 1, "email": "admin@sandbox.invalid", "first_name": "Shop", "last_name": "Admin",
            "role": "administrator", "username": "admin", "billing": empty_address(true),
            "shipping": empty_address(false), "is_paying_customer": false,
            "avatar_url": format!("https://secure.gravatar.com/avatar/{}?s=96&d=mm&r=g", random_hex(&mut rng, 32)),
            "meta_data": [], "_links": links(&self.base, "/customers/1", "/customers"),
        });
        set_date(&mut admin, "date_created", admin_created);
        set_date(&mut admin, "date_modified", admin_created);
        self.customers.insert(1, admin);
        for i in 0..opts.customers {
            let id = 2 + i as i64;
            let (f, l, stem) = NAMES[i % NAMES.len()];
            // Past the 16 names, a numeric suffix keeps e-mails unique.
            let email = if i < NAMES.len() {
                format!("{stem}@example.com")
            } else {
                format!("{stem}{id}@example.com")
            };
            let created = SANDBOX_EPOCH - rng.gen_range(60 * 86_400..two_years);
            let modified = (created + rng.gen_range(0..200 * 86_400)).min(SANDBOX_EPOCH);
            let place = rng.gen_range(0..PLACES.len());
            // Every fourth customer never entered an address.
            let has_address = i % 4 != 3;
            let phone = if i % 3 == 1 { "" } else { PLACES[place].5 };
            let billing = if has_address {
                address(
                    f,
                    l,
                    if i % 5 == 0 {
                        "Ångström & Söhne GmbH"
                    } else {
                        ""
                    },
                    place,
                    Some((&email, phone)),
                )
            } else {
                let mut a = empty_address(true);
                a["email"] = json!(email);
                a
            };
            let shipping = if has_address && i % 2 == 0 {
                address(f, l, "", place, None)
            } else {
                empty_address(false)
            };
            let mut c = json!({
                "id": id, "email": email, "first_name": f, "last_name": l, "role": "customer",
                "username": email.split('@').next().unwrap_or_default(), "billing": billing, "shipping": shipping,
                "is_paying_customer": false,
                "avatar_url": format!("https://secure.gravatar.com/avatar/{}?s=96&d=mm&r=g", random_hex(&mut rng, 32)),
                "meta_data": [], "_links": links(&self.base, &format!("/customers/{id}"), "/customers"),
            });
            set_date(&mut c, "date_created", created);
            set_date(&mut c, "date_modified", modified);
            self.customers.insert(id, c);
        }
    }

    fn seed_products(&mut self, opts: &SandboxOptions) {
        let base = self.base.clone();
        let mut rng = seeded_rng(opts.seed, "woocommerce/products");
        // Its own stream, so the products' other random values stay as they were.
        let mut ids = seeded_rng(opts.seed, "woocommerce/downloads");
        self.next_id = 100;
        // (name, category ids, variable?)
        let kinds: [(&str, &[i64], bool); 7] = [
            ("Zip Hoodie", &[18], true),
            ("T-Shirt", &[19], true),
            ("Vinyl «Ünïcode»", &[21], false),
            // Stored as WordPress does (see `kses`): `Beanie &amp; Schal`, and a name
            // typed with references keeps them (`Mug &ldquo;珈琲&rdquo;`).
            ("Beanie & Schal", &[16, 22], false),
            ("Mug &ldquo;珈琲&rdquo;", &[22], false),
            ("Poster", &[], false),
            ("Classic Hoodie", &[17], true),
        ];
        let sizes = ["S", "M", "L", "XL"];
        let colours = ["Black", "Grün"];
        for i in 0..opts.products {
            let (kind, cats, variable) = kinds[i % kinds.len()];
            let id = self.next_id();
            let created = SANDBOX_EPOCH - rng.gen_range(400 * 86_400..800 * 86_400);
            let modified = (created + rng.gen_range(0..420 * 86_400)).min(SANDBOX_EPOCH - 3600);
            let mut p = blank_product(&base, id, created);
            set_date(&mut p, "date_modified", modified);
            // Slugs and file names come from the text a person reads; name and
            // descriptions are stored as WordPress stores them.
            let plain_kind = cartgate_connector::lenient::decode_entities(kind).into_owned();
            let html_kind = kses(kind);
            let slug = slugify(&format!("{plain_kind} #{}", i + 1));
            p["slug"] = json!(slug);
            p["permalink"] = json!(format!("{base}/product/{slug}/"));
            p["name"] = json!(format!("{html_kind} #{}", i + 1));
            p["description"] = json!(if i % 5 == 4 {
                String::new()
            } else {
                format!("<p>{html_kind} — made with care in Berlin.</p>\n")
            });
            p["short_description"] = json!(if i % 2 == 0 {
                format!("<p>{html_kind}</p>\n")
            } else {
                String::new()
            });
            p["status"] = json!(match i % 11 {
                8 => "draft",
                9 => "private",
                10 if i > 20 => "pending",
                _ => "publish",
            });
            // Some products have no sku at all.
            let sku = if i % 6 == 5 {
                String::new()
            } else {
                format!("WOO-{:04}", i + 1)
            };
            p["sku"] = json!(sku);
            p["featured"] = json!(i % 8 == 0);
            p["total_sales"] = json!(rng.gen_range(0..300));
            // A digital edition of every other record: virtual and downloadable, nothing to
            // ship, so no weight or size.
            let digital = plain_kind.starts_with("Vinyl") && i % 2 == 1;
            if digital {
                p["virtual"] = json!(true);
                p["downloadable"] = json!(true);
                p["shipping_required"] = json!(false);
                p["downloads"] = json!([{"id": random_hex(&mut ids, 32), "name": "MP3 (320 kbit/s)",
                    "file": format!("{base}/wp-content/uploads/woocommerce_uploads/{slug}.zip")}]);
                p["download_limit"] = json!(5);
                p["download_expiry"] = json!(30);
            } else {
                // In the store's unit (kg, see the product settings); every third has none.
                if i % 3 != 2 {
                    p["weight"] = json!(WEIGHTS[i % WEIGHTS.len()]);
                }
                // In cm; some with all three sides, some with the length only.
                p["dimensions"] = match i % 4 {
                    1 => json!({"length": "30", "width": "20", "height": "4.5"}),
                    3 => json!({"length": "60", "width": "", "height": ""}),
                    _ => json!({"length": "", "width": "", "height": ""}),
                };
            }
            // A GTIN-13 on two products of three (WooCommerce 9.2's `global_unique_id`).
            if i % 3 != 1 {
                p["global_unique_id"] = json!(ean13(GTIN_PREFIX + 1000 * i as u64));
            }
            // An empty category list reads back as Uncategorized, as in WooCommerce.
            let cat_ids: Vec<i64> = if cats.is_empty() {
                vec![15]
            } else {
                cats.to_vec()
            };
            p["categories"] = self.category_refs(cat_ids);
            // Every fifth product has no image; some have two.
            if i % 5 != 3 {
                let mut imgs = vec![image(
                    &base,
                    self.next_id(),
                    &format!("{}-front", slugify(&plain_kind)),
                    created,
                )];
                if i % 4 == 0 {
                    imgs.push(image(
                        &base,
                        self.next_id(),
                        &format!("{}-back", slugify(&plain_kind)),
                        created,
                    ));
                }
                p["images"] = Value::Array(imgs);
            }
            let base_cents = rng.gen_range(5..90) * 100 + [0, 50, 90, 99][i % 4];
            if variable {
                p["type"] = json!("variable");
                // 2–4 variations over Size (global attribute pa_size, id 1) and, for some
                // products, Colour (a custom attribute: id 0).
                let n = 2 + i % 3;
                let with_colour = i % 2 == 1;
                let mut attrs = vec![
                    json!({"id": 1, "name": "Size", "slug": "pa_size", "position": 0, "visible": true, "variation": true,
                    "options": sizes[..n.min(4)].to_vec()}),
                ];
                if with_colour {
                    attrs.push(json!({"id": 0, "name": "Colour", "slug": "colour", "position": 1, "visible": true, "variation": true, "options": colours}));
                }
                p["attributes"] = Value::Array(attrs);
                p["default_attributes"] = json!([{"id": 1, "name": "Size", "option": sizes[0]}]);
                let mut var_ids = Vec::new();
                let mut prices = Vec::new();
                for k in 0..n {
                    let vid = self.next_id();
                    var_ids.push(vid);
                    let mut v = blank_variation(&base, vid, id, created);
                    set_date(&mut v, "date_modified", modified);
                    let size = sizes[k % 4];
                    let colour = colours[k % 2];
                    v["permalink"] = json!(format!(
                        "{base}/product/{}/?attribute_pa_size={}",
                        p["slug"].as_str().unwrap_or_default(),
                        size.to_lowercase()
                    ));
                    v["sku"] = json!(if sku.is_empty() || k == 2 {
                        String::new()
                    } else {
                        format!("{sku}-{size}")
                    });
                    let vc = base_cents + 200 * k as i64;
                    v["regular_price"] = json!(money(vc, 2));
                    if k == 1 && i % 3 == 0 {
                        v["sale_price"] = json!(money(vc - 300, 2));
                    }
                    // The first variation has its own weight; the others inherit the
                    // product's (WooCommerce serves the parent's when a variation has none).
                    if k == 0 && i % 3 != 2 {
                        v["weight"] = json!("0.62");
                    }
                    if k != 1 {
                        v["global_unique_id"] =
                            json!(ean13(GTIN_PREFIX + 1000 * i as u64 + 1 + k as u64));
                    }
                    v["manage_stock"] = json!(k != 3);
                    v["stock_quantity"] = json!(rng.gen_range(0..25));
                    let mut va = vec![json!({"id": 1, "name": "Size", "option": size})];
                    if with_colour {
                        va.push(json!({"id": 0, "name": "Colour", "option": colour}));
                    }
                    v["attributes"] = Value::Array(va);
                    if k == 0 && i % 5 != 3 {
                        v["image"] = image(
                            &base,
                            self.next_id(),
                            &format!("{}-{}", slugify(&plain_kind), size.to_lowercase()),
                            created,
                        );
                    }
                    derive_product_fields(&mut v);
                    prices.push(cents(v["price"].as_str().unwrap_or("0")).unwrap_or(0));
                    self.variations.insert(vid, v);
                }
                // A variable product's own prices: price is the cheapest variation,
                // regular/sale are empty (WooCommerce keeps them on the variations).
                p["price"] = json!(money(prices.iter().copied().min().unwrap_or(0), 2));
                p["variations"] = json!(var_ids);
            } else {
                p["regular_price"] = json!(money(base_cents, 2));
                if i % 7 == 3 {
                    p["sale_price"] = json!(money(base_cents * 8 / 10, 2));
                }
                if i % 4 != 0 {
                    p["manage_stock"] = json!(true);
                    p["stock_quantity"] = json!(if i % 9 == 2 { 0 } else { rng.gen_range(1..80) });
                }
            }
            derive_product_fields(&mut p);
            self.products.insert(id, p);
        }
    }

    /// Sellable lines: (product id, variation id, name, sku, unit price in EUR cents,
    /// variation attributes as line-item meta).
    fn catalogue(&self) -> Vec<Sellable> {
        let mut out = Vec::new();
        for (id, p) in self
            .products
            .iter()
            .filter(|(_, p)| p["status"] == "publish")
        {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let vars: Vec<i64> = p["variations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .collect();
            if vars.is_empty() {
                out.push((
                    *id,
                    0,
                    name.clone(),
                    p["sku"].as_str().unwrap_or_default().to_owned(),
                    cents(p["price"].as_str().unwrap_or("0")).unwrap_or(0),
                    vec![],
                ));
            }
            for vid in vars {
                let Some(v) = self.variations.get(&vid) else {
                    continue;
                };
                let opts: Vec<LineMeta> = v["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let name = a["name"].as_str().unwrap_or_default();
                        let option = a["option"].as_str().unwrap_or_default();
                        let (key, value) = if a["id"] == 1 {
                            ("pa_size".to_owned(), option.to_lowercase())
                        } else {
                            (name.to_lowercase(), option.to_owned())
                        };
                        LineMeta {
                            key,
                            value,
                            display_key: name.to_owned(),
                            display_value: option.to_owned(),
                        }
                    })
                    .collect();
                let label: Vec<&str> = v["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["option"].as_str())
                    .collect();
                out.push((
                    *id,
                    vid,
                    format!("{name} - {}", label.join(", ")),
                    v["sku"].as_str().unwrap_or_default().to_owned(),
                    cents(v["price"].as_str().unwrap_or("0")).unwrap_or(0),
                    opts,
                ));
            }
        }
        out
    }

    fn seed_orders(&mut self, opts: &SandboxOptions) {
        let base = self.base.clone();
        let mut rng = seeded_rng(opts.seed, "woocommerce/orders");
        let catalogue = self.catalogue();
        let customer_ids: Vec<i64> = self
            .customers
            .values()
            .filter(|c| c["role"] == "customer")
            .filter_map(|c| c["id"].as_i64())
            .collect();
        // Cycled so the first ten orders already hold every case.
        let statuses = [
            "processing",
            "completed",
            "completed+partial-refund",
            "refunded",
            "cancelled",
            "on-hold",
            "pending",
            "failed",
            "processing",
            "completed",
        ];
        let two_years = 730 * 86_400;
        let n = opts.orders.max(1) as i64;
        let mut paying: Vec<i64> = Vec::new();
        let mut line_id = 1i64;
        for i in 0..opts.orders {
            let id = self.next_id();
            let created =
                SANDBOX_EPOCH - two_years + (i as i64) * (two_years / n) + rng.gen_range(0..20_000);
            let (status, partial_refund) = match statuses[i % statuses.len()] {
                "completed+partial-refund" => ("completed", true),
                s => (s, false),
            };
            // Mostly EUR; USD, GBP and JPY (no decimals) throughout.
            let cur = match i % 7 {
                1 | 5 => 1,
                3 => 2,
                6 => 3,
                _ => 0,
            };
            let (currency, dp, rate, tax_id, tax_label, tax_pct) = CURRENCIES[cur];
            let guest = i % 5 == 2 || customer_ids.is_empty();
            let place = i % PLACES.len();
            let (cid, f, l, email) = if guest {
                let (f, l, stem) = NAMES[(i * 7 + 3) % NAMES.len()];
                (0i64, f, l, format!("{stem}.guest{id}@example.org"))
            } else {
                let c = &self.customers[&customer_ids[(i * 3) % customer_ids.len()]];
                (
                    c["id"].as_i64().unwrap_or(0),
                    NAMES[((c["id"].as_i64().unwrap_or(2) - 2) as usize) % NAMES.len()].0,
                    NAMES[((c["id"].as_i64().unwrap_or(2) - 2) as usize) % NAMES.len()].1,
                    c["email"].as_str().unwrap_or_default().to_owned(),
                )
            };
            // Amounts in the order currency's minor units (JPY has none).
            let conv = |eur_cents: i64| -> i64 {
                let v = eur_cents * rate / 100;
                if dp == 0 {
                    (v + 50) / 100
                } else {
                    v
                }
            };
            let pct = |x: i64, p: i64| -> i64 { (x * p + 50) / 100 };
            // Tax-inclusive prices on every other EUR order, as German shops show them
            // (WooCommerce's line amounts are net either way; the flag says how the buyer
            // saw them).
            let prices_include_tax = currency == "EUR" && i % 2 == 0;
            // Two coupons: ten percent off, or five.
            let coupon = match i % 8 {
                1 => Some(("zehnprozent", 10)),
                5 => Some(("sommer5", 5)),
                _ => None,
            };
            // Taxes per rate id: (rate code, label, percent, cart tax, shipping tax).
            let mut taxes: BTreeMap<i64, (String, &str, i64, i64, i64)> = BTreeMap::new();
            let rate_code = |label: &str, priority: i64| {
                format!("{}-{}-{priority}", PLACES[place].4, label.to_uppercase())
            };
            let mut lines = Vec::new();
            let (mut sub_sum, mut total_sum, mut tax_sum, mut sub_tax_sum) =
                (0i64, 0i64, 0i64, 0i64);
            for k in 0..(1 + i % 3) {
                if catalogue.is_empty() {
                    break;
                }
                let (pid, vid, name, sku, unit_eur, meta) =
                    &catalogue[(i * 5 + k * 3) % catalogue.len()];
                let qty = 1 + ((i + k) % 3) as i64;
                let unit = conv(*unit_eur);
                let subtotal = unit * qty;
                let total = match coupon {
                    Some((_, off)) => subtotal - pct(subtotal, off),
                    None => subtotal,
                };
                // In EUR the second line is at the reduced rate (7 %), as books and food
                // are in Germany: such orders have two tax lines.
                let (rate_id, label, percent, class) = if tax_id == 1 && k == 1 {
                    (4, REDUCED_LABEL, 7, "reduced-rate")
                } else {
                    (tax_id, tax_label, tax_pct, "")
                };
                let (sub_tax, tot_tax) = if rate_id == 0 {
                    (0, 0)
                } else {
                    (pct(subtotal, percent), pct(total, percent))
                };
                sub_sum += subtotal;
                total_sum += total;
                tax_sum += tot_tax;
                sub_tax_sum += sub_tax;
                let line_taxes = if rate_id == 0 {
                    json!([])
                } else {
                    taxes
                        .entry(rate_id)
                        .or_insert_with(|| {
                            (
                                rate_code(label, if rate_id == 4 { 2 } else { 1 }),
                                label,
                                percent,
                                0,
                                0,
                            )
                        })
                        .3 += tot_tax;
                    json!([{"id": rate_id, "total": money(tot_tax, dp), "subtotal": money(sub_tax, dp)}])
                };
                let meta: Vec<Value> = meta
                    .iter()
                    .enumerate()
                    .map(|(m, lm)| lm.json(line_id * 10 + m as i64))
                    .collect();
                // `price` is a number, the unit price after discounts.
                let price = (total as f64 / qty as f64) / 10f64.powi(dp as i32);
                // PHP encodes a whole float as an integer (`"price": 3`).
                let price = if price.fract() == 0.0 {
                    json!(price as i64)
                } else {
                    json!(price)
                };
                lines.push(json!({
                    "id": line_id, "name": name, "product_id": pid, "variation_id": vid, "quantity": qty,
                    "tax_class": class, "subtotal": money(subtotal, dp), "subtotal_tax": money(sub_tax, dp),
                    "total": money(total, dp), "total_tax": money(tot_tax, dp), "taxes": line_taxes, "meta_data": meta,
                    "sku": sku, "global_unique_id": "", "price": price,
                }));
                line_id += 1;
            }
            // Every sixth order is shipped nowhere (a download, a pickup): an empty
            // shipping address, and no shipping line unless picked up in the shop.
            let no_shipping = i % 6 == 5;
            let local_pickup = i % 12 == 11;
            let free_shipping = !no_shipping && i % 8 == 7;
            let shipping_total = if no_shipping || free_shipping {
                0
            } else {
                conv(490)
            };
            // Shipping is taxed at the standard rate in EUR.
            let shipping_tax = if tax_id == 1 {
                pct(shipping_total, tax_pct)
            } else {
                0
            };
            if shipping_tax > 0 {
                taxes
                    .entry(tax_id)
                    .or_insert_with(|| (rate_code(tax_label, 1), tax_label, tax_pct, 0, 0))
                    .4 += shipping_tax;
            }
            let mut shipping_lines = Vec::new();
            if !no_shipping || local_pickup {
                let (title, method, instance) = if local_pickup {
                    ("Local pickup", "local_pickup", "3")
                } else if free_shipping {
                    ("Free shipping", "free_shipping", "2")
                } else {
                    ("Flat rate", "flat_rate", "1")
                };
                let taxes = if shipping_tax > 0 {
                    json!([{"id": tax_id, "total": money(shipping_tax, dp), "subtotal": ""}])
                } else {
                    json!([])
                };
                shipping_lines.push(json!({"id": line_id, "method_title": title, "method_id": method, "instance_id": instance,
                    "total": money(shipping_total, dp), "total_tax": money(shipping_tax, dp), "taxes": taxes, "meta_data": []}));
                line_id += 1;
            }
            let fee = if i % 9 == 4 { conv(250) } else { 0 };
            let fee_lines = if fee > 0 {
                let l = json!([{"id": line_id, "name": "Geschenkverpackung", "tax_class": "", "tax_status": "none", "amount": money(fee, dp), "total": money(fee, dp), "total_tax": money(0, dp), "taxes": [], "meta_data": []}]);
                line_id += 1;
                l
            } else {
                json!([])
            };
            let discount = sub_sum - total_sum;
            let coupon_lines = match coupon {
                Some((code, _)) => {
                    let l = json!([{"id": line_id, "code": code, "discount": money(discount, dp), "discount_tax": money(sub_tax_sum - tax_sum, dp), "meta_data": []}]);
                    line_id += 1;
                    l
                }
                None => json!([]),
            };
            let tax_lines: Vec<Value> = taxes
                .into_iter()
                .map(|(rate_id, (code, label, percent, cart, ship))| {
                    let l = json!({"id": line_id, "rate_code": code, "rate_id": rate_id, "label": label,
                        "compound": false, "tax_total": money(cart, dp), "shipping_tax_total": money(ship, dp),
                        "rate_percent": percent, "meta_data": []});
                    line_id += 1;
                    l
                })
                .collect();
            let total = total_sum + shipping_total + fee + tax_sum + shipping_tax;
            let paid = matches!(status, "processing" | "completed" | "refunded");
            let modified = (created + 86_400 * (1 + (i as i64 % 20))).min(SANDBOX_EPOCH - 60);
            let (pm, pm_title) = match (paid, i % 3) {
                // Paid in the shop when picked up.
                _ if local_pickup => ("cod", "Cash on delivery"),
                (_, 0) if status == "on-hold" || status == "pending" => {
                    ("bacs", "Direct bank transfer")
                }
                (_, 0) => ("stripe", "Credit Card (Stripe)"),
                (_, 1) => ("paypal", "PayPal"),
                _ => ("bacs", "Direct bank transfer"),
            };
            // Refunds: all of a cancelled purchase, in one refund or in two; one unit of
            // the first line; an amount without lines (a goodwill refund).
            let refunded_payment = !matches!(pm, "bacs" | "cod");
            let mut plans: Vec<RefundPlan> = Vec::new();
            if status == "refunded" && i % 20 == 13 && lines.len() > 1 {
                plans.push(RefundPlan::lines(&lines[..1], None, "Artikel beschädigt"));
                plans.push(RefundPlan::lines(
                    &lines[1..],
                    shipping_lines.first(),
                    "Kunde hat storniert",
                ));
            } else if status == "refunded" {
                plans.push(RefundPlan::lines(
                    &lines,
                    shipping_lines.first(),
                    "Kunde hat storniert",
                ));
            } else if partial_refund && i % 20 == 12 {
                plans.push(RefundPlan {
                    items: Vec::new(),
                    amount: conv(500),
                    reason: "Kulanz",
                });
            } else if let (true, Some(first)) = (partial_refund, lines.first()) {
                plans.push(RefundPlan::one_unit(first, ""));
            }
            // A full refund gives back the fees too: its amount is the order total.
            let fully = status == "refunded";
            let planned: i64 = plans.iter().map(|p| p.amount).sum();
            if let (true, Some(last)) = (fully, plans.last_mut()) {
                last.amount += total - planned;
            }
            let mut refunds = Vec::new();
            for (n, plan) in plans.iter().enumerate() {
                let rid = self.next_id();
                let when = modified - 3600 * (plans.len() - n) as i64;
                let doc = refund_doc(
                    &base,
                    id,
                    rid,
                    when,
                    plan,
                    dp,
                    refunded_payment,
                    &mut line_id,
                );
                // The order lists its refunds newest first.
                refunds.insert(0, json!({"id": rid, "reason": plan.reason, "total": format!("-{}", money(plan.amount, dp))}));
                self.refunds.insert(rid, doc);
            }
            let admin_created = i % 10 == 9;
            let mut o = json!({
                "id": id, "parent_id": 0, "number": format!("{id}"), "order_key": format!("wc_order_{}", random_hex(&mut rng, 13)),
                "created_via": if admin_created { "admin" } else { "checkout" }, "version": "9.4.2", "status": status, "currency": currency,
                "date_created": "", "date_created_gmt": "", "date_modified": "", "date_modified_gmt": "",
                "discount_total": money(discount, dp), "discount_tax": money(sub_tax_sum - tax_sum, dp),
                "shipping_total": money(shipping_total, dp), "shipping_tax": money(shipping_tax, dp),
                "cart_tax": money(tax_sum, dp), "total": money(total, dp), "total_tax": money(tax_sum + shipping_tax, dp),
                "prices_include_tax": prices_include_tax, "customer_id": cid,
                "customer_ip_address": if admin_created { String::new() } else { format!("203.0.113.{}", i % 250 + 1) },
                "customer_user_agent": if admin_created { "" } else { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" },
                "customer_note": if i % 7 == 0 { "Bitte vor 10 Uhr liefern — merci!" } else { "" },
                // Missing optional fields: no company mostly, no phone for every third.
                "billing": address(f, l, if i % 4 == 0 { "Ångström AB" } else { "" }, place, Some((&email, if i % 3 == 0 { "" } else { PLACES[place].5 }))),
                "shipping": if no_shipping { empty_address(false) } else { address(f, l, "", place, None) },
                "payment_method": pm, "payment_method_title": pm_title,
                "transaction_id": if paid && refunded_payment { format!("ch_{}", random_hex(&mut rng, 24)) } else { String::new() },
                "date_paid": null, "date_paid_gmt": null, "date_completed": null, "date_completed_gmt": null,
                "cart_hash": if admin_created { String::new() } else { random_hex(&mut rng, 32) },
                "meta_data": [{"id": id * 10, "key": "_wc_order_attribution_source_type", "value": if admin_created { "admin" } else { "typein" }}],
                "line_items": lines, "tax_lines": tax_lines, "shipping_lines": shipping_lines,
                "fee_lines": fee_lines, "coupon_lines": coupon_lines, "refunds": refunds,
                "payment_url": format!("{base}/checkout/order-pay/{id}/"),
                "_links": links(&self.base, &format!("/orders/{id}"), "/orders"),
            });
            if cid != 0 {
                o["_links"]["customer"] =
                    json!([{"href": format!("{base}/wp-json/wc/v3/customers/{cid}")}]);
            }
            set_date(&mut o, "date_created", created);
            set_date(&mut o, "date_modified", modified);
            if paid {
                set_date(&mut o, "date_paid", created + 120);
                if cid != 0 {
                    paying.push(cid);
                }
            }
            if status == "completed" || status == "refunded" {
                set_date(
                    &mut o,
                    "date_completed",
                    (created + 2 * 86_400).min(modified),
                );
            }
            self.orders.insert(id, o);

            // Notes: WooCommerce's own status-change notes, a customer note on some.
            let label = |s: &str| match s {
                "pending" => "Pending payment",
                "processing" => "Processing",
                "on-hold" => "On hold",
                "completed" => "Completed",
                "cancelled" => "Cancelled",
                "refunded" => "Refunded",
                "failed" => "Failed",
                _ => "Draft",
            };
            if status != "pending" {
                let from = if matches!(status, "completed" | "refunded") {
                    "processing"
                } else {
                    "pending"
                };
                let msg = format!(
                    "Order status changed from {} to {}.",
                    label(from),
                    label(status)
                );
                self.add_note(id, modified, &msg, false, "system");
            }
            if i % 6 == 1 {
                self.add_note(
                    id,
                    modified,
                    "Danke für Ihre Bestellung! Ihr Paket ist unterwegs.",
                    true,
                    "WooCommerce",
                );
            }
            // Shipment Tracking: completed orders that ship get a tracking number.
            if status == "completed" && !no_shipping {
                let provider = ["DHL", "UPS", "DPD"][i % 3];
                let number = format!(
                    "{}",
                    100_000_000_000i64 + rng.gen_range(0..899_999_999_999i64)
                );
                let (name, link) =
                    provider_link(provider, &number).unwrap_or((provider, String::new()));
                let shipped = (created + 86_400).min(modified);
                self.trackings.entry(id).or_default().push(json!({
                    "tracking_id": random_hex(&mut rng, 32), "tracking_provider": name, "tracking_link": link,
                    "tracking_number": number, "date_shipped": gmt(shipped)[..10].to_owned(),
                }));
            }
        }
        for cid in paying {
            if let Some(c) = self.customers.get_mut(&cid) {
                c["is_paying_customer"] = json!(true);
            }
        }
    }
}

/// A name with a `(renamed N)` suffix for the `N`th write, replacing an earlier one.
fn renamed(s: &str, n: i64) -> String {
    let stem = match s.rfind(" (renamed ") {
        Some(i) if s.ends_with(')') => &s[..i],
        _ => s,
    };
    format!("{stem} (renamed {n})")
}

/// Changes the shop makes by itself (`POST /__sandbox/simulate`, and the webhooks' own
/// bookkeeping). Each answers the object's id; `None`: no such object.
impl Db {
    /// The sandbox clock as of the last write (see [`Db::now`]).
    pub fn clock(&self) -> i64 {
        SANDBOX_EPOCH + self.writes
    }

    /// A new order placed at checkout: one unit of the first sellable product, by the first
    /// customer (a guest without customers), paid, processing.
    pub fn simulate_order_created(&mut self) -> Option<i64> {
        let (pid, vid, name, sku, unit, meta) = self.catalogue().into_iter().next()?;
        let now = self.now();
        let id = self.next_id();
        let base = self.base.clone();
        let customer = self
            .customers
            .values()
            .find(|c| c["role"] == "customer")
            .cloned();
        let (cid, first, last, email) = match &customer {
            Some(c) => (
                c["id"].as_i64().unwrap_or(0),
                c["first_name"].as_str().unwrap_or("").to_owned(),
                c["last_name"].as_str().unwrap_or("").to_owned(),
                c["email"].as_str().unwrap_or("").to_owned(),
            ),
            None => (
                0,
                "Guest".into(),
                "Checkout".into(),
                format!("guest{id}@example.org"),
            ),
        };
        let line_id = 1 + self
            .orders
            .values()
            .flat_map(|o| {
                [
                    "line_items",
                    "tax_lines",
                    "shipping_lines",
                    "fee_lines",
                    "coupon_lines",
                ]
                .map(|k| o[k].clone())
            })
            .flat_map(|l| l.as_array().cloned().unwrap_or_default())
            .filter_map(|l| l["id"].as_i64())
            .max()
            .unwrap_or(0);
        let tax = (unit * 19 + 50) / 100;
        let shipping = 490;
        let meta: Vec<Value> = meta
            .iter()
            .enumerate()
            .map(|(m, lm)| lm.json(line_id * 10 + m as i64))
            .collect();
        let price = unit as f64 / 100.0;
        let price = if price.fract() == 0.0 {
            json!(price as i64)
        } else {
            json!(price)
        };
        let mut o = json!({
            "id": id, "parent_id": 0, "number": format!("{id}"), "order_key": format!("wc_order_sim{id}"),
            "created_via": "checkout", "version": "9.4.2", "status": "processing", "currency": "EUR",
            "date_created": "", "date_created_gmt": "", "date_modified": "", "date_modified_gmt": "",
            "discount_total": money(0, 2), "discount_tax": money(0, 2),
            "shipping_total": money(shipping, 2), "shipping_tax": money(0, 2),
            "cart_tax": money(tax, 2), "total": money(unit + tax + shipping, 2), "total_tax": money(tax, 2),
            "prices_include_tax": false, "customer_id": cid,
            "customer_ip_address": "203.0.113.7",
            "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            "customer_note": "",
            "billing": address(&first, &last, "", 0, Some((&email, ""))),
            "shipping": address(&first, &last, "", 0, None),
            "payment_method": "paypal", "payment_method_title": "PayPal",
            "transaction_id": format!("PAY-SIM{id}"),
            "date_paid": null, "date_paid_gmt": null, "date_completed": null, "date_completed_gmt": null,
            "cart_hash": "",
            "meta_data": [],
            "line_items": [{
                "id": line_id, "name": name, "product_id": pid, "variation_id": vid, "quantity": 1,
                "tax_class": "", "subtotal": money(unit, 2), "subtotal_tax": money(tax, 2),
                "total": money(unit, 2), "total_tax": money(tax, 2),
                "taxes": [{"id": 1, "total": money(tax, 2), "subtotal": money(tax, 2)}], "meta_data": meta,
                "sku": sku, "price": price,
            }],
            "tax_lines": [{"id": line_id + 2, "rate_code": "DE-MWST.-1", "rate_id": 1, "label": "MwSt.", "compound": false,
                "tax_total": money(tax, 2), "shipping_tax_total": money(0, 2), "rate_percent": 19, "meta_data": []}],
            "shipping_lines": [{"id": line_id + 1, "method_title": "Flat rate", "method_id": "flat_rate", "instance_id": "1",
                "total": money(shipping, 2), "total_tax": money(0, 2), "taxes": [], "meta_data": []}],
            "fee_lines": [], "coupon_lines": [], "refunds": [],
            "payment_url": format!("{base}/checkout/order-pay/{id}/"),
            "_links": links(&base, &format!("/orders/{id}"), "/orders"),
        });
        if cid != 0 {
            o["_links"]["customer"] =
                json!([{"href": format!("{base}/wp-json/wc/v3/customers/{cid}")}]);
        }
        set_date(&mut o, "date_created", now);
        set_date(&mut o, "date_modified", now);
        set_date(&mut o, "date_paid", now);
        self.orders.insert(id, o);
        self.add_note(
            id,
            now,
            "Order status changed from Pending payment to Processing.",
            false,
            "system",
        );
        Some(id)
    }

    /// The customer-provided note changed in the admin.
    pub fn simulate_order_updated(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.orders.keys().next_back().copied())?;
        if !self.orders.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes;
        let o = self.orders.get_mut(&id)?;
        o["customer_note"] = json!(format!("Changed in the admin (edit {n})."));
        set_date(o, "date_modified", now);
        Some(id)
    }

    /// A new published simple product.
    pub fn simulate_product_created(&mut self) -> Option<i64> {
        let now = self.now();
        let id = self.next_id();
        let mut p = blank_product(&self.base, id, now);
        let name = format!("Simulated Product {}", self.writes);
        p["slug"] = json!(slugify(&name));
        p["permalink"] = json!(format!("{}/product/{}/", self.base, slugify(&name)));
        p["name"] = json!(kses(&name));
        p["sku"] = json!(format!("SIM-{id}"));
        p["regular_price"] = json!(money(1900, 2));
        p["manage_stock"] = json!(true);
        p["stock_quantity"] = json!(10);
        p["categories"] = self.category_refs([15]);
        derive_product_fields(&mut p);
        self.products.insert(id, p);
        self.recount_categories();
        Some(id)
    }

    /// The product renamed in the admin.
    pub fn simulate_product_updated(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.products.keys().next_back().copied())?;
        if !self.products.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes;
        let p = self.products.get_mut(&id)?;
        p["name"] = json!(renamed(p["name"].as_str().unwrap_or("Product"), n));
        set_date(p, "date_modified", now);
        Some(id)
    }

    /// The product deleted permanently in the admin (with its variations).
    pub fn simulate_product_deleted(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.products.keys().next_back().copied())?;
        self.delete_product(id)?;
        self.now();
        Some(id)
    }

    /// Removes a product and its variations; answers what the product was.
    pub fn delete_product(&mut self, id: i64) -> Option<Value> {
        let p = self.products.remove(&id)?;
        for v in p["variations"].as_array().into_iter().flatten() {
            if let Some(v) = v.as_i64() {
                self.variations.remove(&v);
            }
        }
        self.recount_categories();
        Some(p)
    }

    /// A customer account registered at the storefront.
    pub fn simulate_customer_created(&mut self) -> Option<i64> {
        let now = self.now();
        let id = 1 + self.customers.keys().next_back().copied().unwrap_or(1);
        let (first, last, stem) = NAMES[(id as usize) % NAMES.len()];
        let email = format!("{stem}.{id}@example.com");
        let c = self.new_customer(id, &email, first, last, now);
        self.customers.insert(id, c);
        Some(id)
    }

    /// A customer as WooCommerce creates one: empty addresses but the billing e-mail.
    pub fn new_customer(&self, id: i64, email: &str, first: &str, last: &str, now: i64) -> Value {
        let mut billing = empty_address(true);
        billing["email"] = json!(email);
        let mut c = json!({
            "id": id, "email": email, "first_name": first, "last_name": last, "role": "customer",
            "username": email.split('@').next().unwrap_or_default(), "billing": billing,
            "shipping": empty_address(false), "is_paying_customer": false,
            "avatar_url": format!("https://secure.gravatar.com/avatar/{:032x}?s=96&d=mm&r=g", id),
            "meta_data": [], "_links": links(&self.base, &format!("/customers/{id}"), "/customers"),
        });
        set_date(&mut c, "date_created", now);
        set_date(&mut c, "date_modified", now);
        c
    }

    /// The customer's first name changed in the admin.
    pub fn simulate_customer_updated(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| {
            self.customers
                .iter()
                .rev()
                .find(|(_, c)| c["role"] == "customer")
                .map(|(id, _)| *id)
        })?;
        if !self.customers.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes;
        let c = self.customers.get_mut(&id)?;
        c["first_name"] = json!(renamed(c["first_name"].as_str().unwrap_or("Customer"), n));
        set_date(c, "date_modified", now);
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_time_follows_summer_time() {
        // 2025-01-15T12:00:00Z is CET (+1), 2025-07-15T12:00:00Z is CEST (+2).
        assert_eq!(local(1_736_942_400), "2025-01-15T13:00:00");
        assert_eq!(gmt(1_736_942_400), "2025-01-15T12:00:00");
        assert_eq!(local(1_752_580_800), "2025-07-15T14:00:00");
    }

    #[test]
    fn money_and_slugs() {
        assert_eq!(money(1250, 2), "12.50");
        assert_eq!(money(-5, 2), "-0.05");
        assert_eq!(money(1650, 0), "1650");
        assert_eq!(cents("12.5"), Some(1250));
        assert_eq!(slugify("Accessoires & Küche"), "accessoires-kuche");
        assert_eq!(slugify("Mug 珈琲"), "mug-%e7%8f%88%e7%90%b2");
    }

    #[test]
    fn text_is_stored_as_wordpress_stores_it() {
        assert_eq!(kses("Fish & Chips"), "Fish &amp; Chips");
        assert_eq!(
            kses("Fish &amp; Chips"),
            "Fish &amp; Chips",
            "references are kept"
        );
        assert_eq!(
            kses("Tom&#8217;s &ndash; A&B;"),
            "Tom&#8217;s &ndash; A&amp;B;"
        );
        assert_eq!(kses("& x &; &bogus; &"), "&amp; x &amp;; &amp;bogus; &amp;");
        assert_eq!(kses("<b>x</b>"), "<b>x</b>");
        assert_eq!(
            esc_html("Cartgate's <Shop> & \"Café\""),
            "Cartgate&#039;s &lt;Shop&gt; &amp; &quot;Café&quot;"
        );
        let db = Db::seed(&SandboxOptions::default(), "http://127.0.0.1:1");
        assert_eq!(db.categories[&22]["name"], "Accessoires &amp; Küche");
        assert_eq!(db.categories[&22]["slug"], "accessoires-kuche");
        let names: Vec<&str> = db
            .products
            .values()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(names.contains(&"Beanie &amp; Schal #4"), "{names:?}");
        assert!(names.contains(&"Mug &ldquo;珈琲&rdquo; #5"), "{names:?}");
        let beanie = db
            .products
            .values()
            .find(|p| p["name"] == "Beanie &amp; Schal #4");
        assert_eq!(beanie.unwrap()["slug"], "beanie-schal-4");
    }

    #[test]
    fn seeding_is_deterministic_and_varied() {
        let opts = SandboxOptions::default();
        let (a, b) = (
            Db::seed(&opts, "http://127.0.0.1:1"),
            Db::seed(&opts, "http://127.0.0.1:1"),
        );
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.products, b.products);
        assert_eq!(a.consumer_key, b.consumer_key);
        assert!(a.consumer_key.starts_with("ck_") && a.consumer_key.len() == 43);
        let currencies: std::collections::BTreeSet<_> = a
            .orders
            .values()
            .map(|o| o["currency"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(currencies.len(), 4);
        assert!(a.orders.values().any(|o| o["customer_id"] == 0));
        // Line items reference real products and variations.
        for o in a.orders.values() {
            for l in o["line_items"].as_array().into_iter().flatten() {
                let pid = l["product_id"].as_i64().unwrap_or(0);
                assert!(a.products.contains_key(&pid));
                let vid = l["variation_id"].as_i64().unwrap_or(0);
                assert!(vid == 0 || a.variations.contains_key(&vid));
            }
        }
    }
}

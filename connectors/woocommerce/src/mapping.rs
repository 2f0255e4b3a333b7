//! Pure mapping of wc/v3 payloads to the unified model, and of unified writes back to
//! wc/v3 request bodies. No I/O here: the connector (`client.rs`) fetches, this maps.
//!
//! Payloads are read through private, lenient serde structs that name only the fields we
//! use. WooCommerce is inconsistent about types (line-item `price` is a number while every
//! other amount is a string, ids are integers, `manage_stock` of a variation may be the
//! string `"parent"`), so the helpers below accept either form instead of failing a whole
//! page over one odd field. Only a missing id or a non-object fails a mapping.
//!
//! WordPress keeps text HTML-escaped (kses turns `&` into `&amp;`, term and site names go
//! through `esc_html`, generated variation names use `&ndash;`), so every plain-text field
//! (names, SKUs, address lines, carriers, notes) is read with `lenient::plain_text`, which
//! decodes character references once. Descriptions are HTML and stay as sent; e-mails,
//! phones, codes and URLs are not text to decode.
//!
//! The table of what maps to what lives in `docs/mapping/woocommerce.md`.

use std::collections::BTreeMap;

use cartgate_connector::lenient::{
    decimal, id_text, int, list_or_empty, object_or_default, parse, plain_text, require_id, text,
    with_scale_of,
};
use cartgate_connector::model::*;
use cartgate_connector::util::{money, non_empty, utc_time};
use cartgate_connector::{ConnectorError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

/// `manage_stock`: `true`/`false`, or `"parent"` on a variation whose stock is the
/// parent's (WooCommerce then reports the parent's `stock_quantity` on the variation).
fn stock_managed<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(text(d)?.is_some_and(|s| matches!(s.trim(), "true" | "parent" | "yes" | "1")))
}

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

/// `billing` / `shipping` of orders and customers. Shipping has no email (and a phone only
/// since WooCommerce 5.6); the missing fields simply stay `None`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcAddress {
    #[serde(deserialize_with = "plain_text")]
    first_name: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    last_name: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    company: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    address_1: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    address_2: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    city: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    state: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    postcode: Option<String>,
    #[serde(deserialize_with = "text")]
    country: Option<String>,
    #[serde(deserialize_with = "text")]
    email: Option<String>,
    #[serde(deserialize_with = "text")]
    phone: Option<String>,
}

impl WcAddress {
    /// `None` when WooCommerce sent only empty strings (a guest without shipping, a
    /// customer who never checked out).
    fn to_unified(&self) -> Option<Address> {
        let a = Address {
            first_name: non_empty(self.first_name.as_deref()),
            last_name: non_empty(self.last_name.as_deref()),
            company: non_empty(self.company.as_deref()),
            line1: non_empty(self.address_1.as_deref()),
            line2: non_empty(self.address_2.as_deref()),
            city: non_empty(self.city.as_deref()),
            region: non_empty(self.state.as_deref()),
            postal_code: non_empty(self.postcode.as_deref()),
            // WooCommerce stores ISO 3166-1 alpha-2 already; normalise the case only.
            country_code: non_empty(self.country.as_deref()).map(|c| c.to_ascii_uppercase()),
            phone: non_empty(self.phone.as_deref()),
            email: non_empty(self.email.as_deref()),
        };
        (!a.is_empty()).then_some(a)
    }
}

// ---------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcOrder {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "text")]
    number: Option<String>,
    #[serde(deserialize_with = "text")]
    status: Option<String>,
    #[serde(deserialize_with = "text")]
    currency: Option<String>,
    #[serde(deserialize_with = "text")]
    date_created_gmt: Option<String>,
    #[serde(deserialize_with = "text")]
    date_modified_gmt: Option<String>,
    #[serde(deserialize_with = "text")]
    date_paid_gmt: Option<String>,
    #[serde(deserialize_with = "text")]
    discount_total: Option<String>,
    #[serde(deserialize_with = "text")]
    shipping_total: Option<String>,
    #[serde(deserialize_with = "text")]
    total: Option<String>,
    #[serde(deserialize_with = "text")]
    total_tax: Option<String>,
    #[serde(deserialize_with = "text")]
    customer_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    customer_note: Option<String>,
    #[serde(deserialize_with = "object_or_default")]
    billing: WcAddress,
    #[serde(deserialize_with = "object_or_default")]
    shipping: WcAddress,
    #[serde(deserialize_with = "list_or_empty")]
    line_items: Vec<WcLineItem>,
    #[serde(deserialize_with = "list_or_empty")]
    refunds: Vec<WcRefund>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcLineItem {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    product_id: Option<String>,
    #[serde(deserialize_with = "text")]
    variation_id: Option<String>,
    #[serde(deserialize_with = "int")]
    quantity: Option<i64>,
    #[serde(deserialize_with = "text")]
    subtotal: Option<String>,
    #[serde(deserialize_with = "text")]
    total: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    sku: Option<String>,
    /// A number in wc/v3 (`"price": 3`), unlike every other amount.
    #[serde(deserialize_with = "text")]
    price: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcRefund {
    /// Negative, e.g. `"-10.00"`.
    #[serde(deserialize_with = "text")]
    total: Option<String>,
}

/// wc order status word → unified status. `checkout-draft` is the block checkout's
/// not-yet-placed order: for a merchant it is a pending order.
pub fn order_status(wc: &str) -> OrderStatus {
    match wc {
        "pending" | "checkout-draft" => OrderStatus::Pending,
        "processing" => OrderStatus::Processing,
        "on-hold" => OrderStatus::OnHold,
        "completed" => OrderStatus::Completed,
        "cancelled" => OrderStatus::Cancelled,
        "refunded" => OrderStatus::Refunded,
        "failed" => OrderStatus::Failed,
        _ => OrderStatus::Unknown,
    }
}

/// Unified order status (as the gateway validated it) → the wc word to filter by.
/// `unknown` has no wc equivalent.
pub fn order_status_to_wc(unified: &str) -> Result<&'static str> {
    Ok(match unified {
        "pending" => "pending",
        "processing" => "processing",
        "on_hold" => "on-hold",
        "completed" => "completed",
        "cancelled" => "cancelled",
        "refunded" => "refunded",
        "failed" => "failed",
        other => {
            return Err(ConnectorError::Unsupported(format!(
                "WooCommerce cannot filter orders by status {other:?}"
            )))
        }
    })
}

fn payment_status(o: &WcOrder, wc_status: &str) -> PaymentStatus {
    // Refund totals are negative in wc/v3; compare magnitudes.
    let refunded: Decimal = o
        .refunds
        .iter()
        .filter_map(|r| r.total.as_deref().and_then(decimal))
        .map(|d| d.abs())
        .sum();
    let total = o.total.as_deref().and_then(decimal);
    let fully_refunded = refunded > Decimal::ZERO && total.is_some_and(|t| refunded >= t);
    if wc_status == "refunded" || fully_refunded {
        PaymentStatus::Refunded
    } else if refunded > Decimal::ZERO {
        PaymentStatus::PartiallyRefunded
    } else if non_empty(o.date_paid_gmt.as_deref()).is_some() {
        PaymentStatus::Paid
    } else if wc_status == "cancelled" {
        PaymentStatus::Voided
    } else if wc_status == "failed" {
        // A failed payment may or may not have been retried elsewhere: we cannot tell.
        PaymentStatus::Unknown
    } else {
        PaymentStatus::Pending
    }
}

/// Fulfillment from the wc status and whether any shipment is known. WooCommerce has no
/// fulfillment state of its own: `completed` is its "shipped" signal.
pub fn fulfillment_status(platform_status: Option<&str>, has_shipments: bool) -> FulfillmentStatus {
    match platform_status {
        Some("completed") => FulfillmentStatus::Fulfilled,
        _ if has_shipments => FulfillmentStatus::Partial,
        _ => FulfillmentStatus::Unfulfilled,
    }
}

/// Sets an order's shipments (fetched separately) and recomputes its fulfillment status.
pub fn attach_shipments(order: &mut Order, shipments: Vec<Shipment>) {
    order.fulfillment_status =
        fulfillment_status(order.platform_status.as_deref(), !shipments.is_empty());
    order.shipments = shipments;
}

/// Exact decimal sum of the line subtotals (before discounts), keeping the store's scale;
/// `None` when one is unreadable rather than a wrong number.
fn subtotal(lines: &[WcLineItem]) -> Option<String> {
    let mut sum = Decimal::ZERO;
    for l in lines {
        sum += decimal(l.subtotal.as_deref()?)?;
    }
    Some(sum.to_string())
}

fn line_item(l: &WcLineItem) -> Result<LineItem> {
    let id = require_id(l.id.as_deref(), "WooCommerce order line item")?;
    let quantity = l.quantity.unwrap_or(0);
    let sub = l.subtotal.as_deref().and_then(decimal);
    // `price` is a JSON number in wc/v3 (`3` for 3.00): render it with the scale of the
    // line's own amounts so it reads like them. Without it, subtotal / quantity.
    let unit_price = l
        .price
        .as_deref()
        .and_then(decimal)
        .or_else(|| {
            let sub = sub?;
            // Bounded so 10.00 / 3 does not print 28 digits.
            (quantity > 0).then(|| (sub / Decimal::from(quantity)).round_dp(10))
        })
        .map(|p| with_scale_of(p, sub).to_string());
    Ok(LineItem {
        id,
        product_id: id_text(l.product_id.as_deref()),
        variant_id: id_text(l.variation_id.as_deref()),
        sku: non_empty(l.sku.as_deref()),
        name: l.name.clone().unwrap_or_default(),
        quantity,
        unit_price,
        total: money(l.total.as_deref()),
        tax_total: None,
        tax_lines: Vec::new(),
        discount_total: None,
        refunded_quantity: None,
        weight: None,
        requires_shipping: None,
        variant_options: Default::default(),
    })
}

/// Maps one wc/v3 order (`GET /wc/v3/orders/{id}`). Shipments are not part of the order
/// resource: the connector adds them with [`attach_shipments`].
pub fn order(raw: &Value) -> Result<Order> {
    let o: WcOrder = parse(raw, "WooCommerce order")?;
    let id = require_id(o.id.as_deref(), "WooCommerce order")?;
    let wc_status = non_empty(o.status.as_deref());
    let status_word = wc_status.as_deref().unwrap_or("");
    let billing = o.billing.to_unified();
    let customer_id = id_text(o.customer_id.as_deref());
    let customer = OrderCustomer {
        id: customer_id,
        email: non_empty(o.billing.email.as_deref()),
        first_name: non_empty(o.billing.first_name.as_deref()),
        last_name: non_empty(o.billing.last_name.as_deref()),
        phone: non_empty(o.billing.phone.as_deref()),
    };
    let line_items = o
        .line_items
        .iter()
        .map(line_item)
        .collect::<Result<Vec<_>>>()?;
    Ok(Order {
        id,
        number: non_empty(o.number.as_deref()),
        status: order_status(status_word),
        payment_status: payment_status(&o, status_word),
        fulfillment_status: fulfillment_status(wc_status.as_deref(), false),
        platform_status: wc_status.clone(),
        currency: non_empty(o.currency.as_deref()).map(|c| c.to_ascii_uppercase()),
        subtotal: subtotal(&o.line_items),
        shipping_total: money(o.shipping_total.as_deref()),
        tax_total: money(o.total_tax.as_deref()),
        discount_total: money(o.discount_total.as_deref()),
        total: money(o.total.as_deref()),
        customer: (customer != OrderCustomer::default()).then_some(customer),
        billing_address: billing,
        shipping_address: o.shipping.to_unified(),
        line_items,
        shipments: Vec::new(),
        note: non_empty(o.customer_note.as_deref()),
        created_at: utc_time(o.date_created_gmt.as_deref()),
        updated_at: utc_time(o.date_modified_gmt.as_deref()),
        raw: None,
        shipping_lines: Vec::new(),
        payment_method: None,
        prices_include_tax: None,
        tax_lines: Vec::new(),
        discount_codes: Vec::new(),
        refunds: Vec::new(),
        refunded_total: None,
        total_weight: None,
        tags: Vec::new(),
        customer_note: None,
        paid_at: None,
        fulfilled_at: None,
    })
}

// ---------------------------------------------------------------------------------------
// Shipments
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcTracking {
    #[serde(deserialize_with = "text")]
    tracking_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    tracking_provider: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    custom_tracking_provider: Option<String>,
    #[serde(deserialize_with = "text")]
    tracking_link: Option<String>,
    #[serde(deserialize_with = "text")]
    custom_tracking_link: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    tracking_number: Option<String>,
    #[serde(deserialize_with = "text")]
    date_shipped: Option<String>,
}

/// The extension answers `date_shipped` as `YYYY-MM-DD`, some versions as a Unix
/// timestamp; both are taken as UTC.
fn shipped_at(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    if let Some(t) = utc_time(Some(s)) {
        return Some(t);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Maps one tracking of the Shipment Tracking extension
/// (`GET /wc-shipment-tracking/v3/orders/{id}/shipment-trackings`).
pub fn shipment_from_tracking(raw: &Value) -> Result<Shipment> {
    let t: WcTracking = parse(raw, "WooCommerce shipment tracking")?;
    let id = require_id(t.tracking_id.as_deref(), "WooCommerce shipment tracking")?;
    Ok(Shipment {
        id,
        // A custom provider is stored in its own field; the predefined one otherwise.
        carrier: non_empty(t.custom_tracking_provider.as_deref())
            .or_else(|| non_empty(t.tracking_provider.as_deref())),
        tracking_number: non_empty(t.tracking_number.as_deref()),
        tracking_url: non_empty(t.tracking_link.as_deref())
            .or_else(|| non_empty(t.custom_tracking_link.as_deref())),
        created_at: shipped_at(t.date_shipped.as_deref()),
    })
}

/// Prefix of the order note cartgate writes when the Shipment Tracking extension is
/// absent. The whole first line is `Shipped with {carrier}: {tracking_number}[ {url}]`;
/// later lines are free text (the shipped items). Documented in docs/mapping/woocommerce.md.
pub const SHIPMENT_NOTE_PREFIX: &str = "Shipped with ";

/// The order note recording a shipment without the extension.
pub fn shipment_note(s: &NewShipment) -> String {
    let mut note = format!(
        "{SHIPMENT_NOTE_PREFIX}{}: {}",
        s.carrier.trim(),
        s.tracking_number.trim()
    );
    if let Some(url) = non_empty(s.tracking_url.as_deref()) {
        note.push(' ');
        note.push_str(&url);
    }
    if let Some(lines) = s.line_items.as_ref().filter(|l| !l.is_empty()) {
        let items: Vec<String> = lines
            .iter()
            .map(|l| format!("{} x {}", l.line_item_id, l.quantity))
            .collect();
        note.push_str("\nItems (line item id x quantity): ");
        note.push_str(&items.join(", "));
    }
    note
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcNote {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    /// WordPress filters notes through kses, which stores a bare `&` (in a carrier name or
    /// a tracking URL's query) as `&amp;`: decoded before the note is parsed.
    #[serde(deserialize_with = "plain_text")]
    note: Option<String>,
    #[serde(deserialize_with = "text")]
    date_created_gmt: Option<String>,
}

/// Reads a shipment back from an order note written by [`shipment_note`]; `None` for
/// every other note (and for notes that do not parse: they are the merchant's, not ours).
pub fn shipment_from_note(raw: &Value) -> Option<Shipment> {
    let n: WcNote = serde_json::from_value(raw.clone()).ok()?;
    let id = id_text(n.id.as_deref())?;
    let text = n.note?;
    let first = text.lines().next()?.trim();
    let rest = first.strip_prefix(SHIPMENT_NOTE_PREFIX)?;
    // The carrier ends at the last ": " before the tracking number; URLs contain "://",
    // never ": ", so splitting at the last ": " keeps carriers like "DHL: Express" whole.
    let (carrier, tail) = rest.rsplit_once(": ")?;
    let mut parts = tail.split_whitespace();
    let number = parts.next()?;
    let url = parts
        .next()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    Some(Shipment {
        id: format!("note-{id}"),
        carrier: non_empty(Some(carrier)),
        tracking_number: non_empty(Some(number)),
        tracking_url: url.map(str::to_owned),
        created_at: utc_time(n.date_created_gmt.as_deref()),
    })
}

// ---------------------------------------------------------------------------------------
// Products and variations
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcProduct {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    description: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    sku: Option<String>,
    #[serde(deserialize_with = "text")]
    status: Option<String>,
    #[serde(deserialize_with = "text")]
    price: Option<String>,
    #[serde(deserialize_with = "stock_managed")]
    manage_stock: bool,
    #[serde(deserialize_with = "int")]
    stock_quantity: Option<i64>,
    #[serde(deserialize_with = "list_or_empty")]
    images: Vec<WcImage>,
    #[serde(deserialize_with = "list_or_empty")]
    categories: Vec<WcRef>,
    #[serde(deserialize_with = "text")]
    date_created_gmt: Option<String>,
    #[serde(deserialize_with = "text")]
    date_modified_gmt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcImage {
    #[serde(deserialize_with = "text")]
    src: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcRef {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcVariation {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    /// Only newer WooCommerce versions send a variation name.
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    sku: Option<String>,
    #[serde(deserialize_with = "text")]
    price: Option<String>,
    #[serde(deserialize_with = "stock_managed")]
    manage_stock: bool,
    #[serde(deserialize_with = "int")]
    stock_quantity: Option<i64>,
    #[serde(deserialize_with = "list_or_empty")]
    attributes: Vec<WcVariationAttribute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcVariationAttribute {
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    option: Option<String>,
}

/// wc post status → unified product status. `future` (scheduled) is not live yet, so it is
/// a draft; `trash` is gone from the shop, so archived.
pub fn product_status(wc: &str) -> ProductStatus {
    match wc {
        "publish" => ProductStatus::Active,
        "private" | "trash" => ProductStatus::Archived,
        _ => ProductStatus::Draft, // draft, pending, future, auto-draft
    }
}

/// Unified product status → wc post status for filters and writes.
pub fn product_status_to_wc(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::Active => "publish",
        ProductStatus::Draft => "draft",
        ProductStatus::Archived => "private",
    }
}

/// Unified product status word (a filter value) → wc post status.
pub fn product_status_word_to_wc(unified: &str) -> Result<&'static str> {
    match unified {
        "active" => Ok("publish"),
        "draft" => Ok("draft"),
        "archived" => Ok("private"),
        other => Err(ConnectorError::Unsupported(format!(
            "WooCommerce cannot filter products by status {other:?}"
        ))),
    }
}

/// Maps one variation (`GET /wc/v3/products/{id}/variations`).
pub fn variant(raw: &Value) -> Result<Variant> {
    let v: WcVariation = parse(raw, "WooCommerce product variation")?;
    let id = require_id(v.id.as_deref(), "WooCommerce product variation")?;
    // An empty option means "any value of this attribute": not a fixed option.
    let options: BTreeMap<String, String> = v
        .attributes
        .iter()
        .filter_map(|a| {
            Some((
                non_empty(a.name.as_deref())?,
                non_empty(a.option.as_deref())?,
            ))
        })
        .collect();
    // Older stores send no variation name; the option values are what a merchant sees.
    let name = non_empty(v.name.as_deref()).or_else(|| {
        let values: Vec<&str> = v
            .attributes
            .iter()
            .filter_map(|a| a.option.as_deref().map(str::trim).filter(|o| !o.is_empty()))
            .collect();
        (!values.is_empty()).then(|| values.join(" / "))
    });
    Ok(Variant {
        id,
        sku: non_empty(v.sku.as_deref()),
        name,
        price: money(v.price.as_deref()),
        quantity: v.stock_quantity.filter(|_| v.manage_stock),
        options,
        barcode: None,
        weight: None,
        dimensions: None,
        requires_shipping: None,
        inventory_levels: Vec::new(),
    })
}

/// Maps one product with its variations (empty for anything but a variable product).
/// `currency` is the store's: wc products carry no currency of their own.
pub fn product(raw: &Value, variations: &[Value], currency: Option<&str>) -> Result<Product> {
    let p: WcProduct = parse(raw, "WooCommerce product")?;
    let id = require_id(p.id.as_deref(), "WooCommerce product")?;
    let platform_status = non_empty(p.status.as_deref());
    Ok(Product {
        id,
        name: p.name.clone().unwrap_or_default(),
        description: non_empty(p.description.as_deref()),
        sku: non_empty(p.sku.as_deref()),
        status: product_status(platform_status.as_deref().unwrap_or("")),
        platform_status,
        price: money(p.price.as_deref()),
        currency: non_empty(currency).map(|c| c.to_ascii_uppercase()),
        // Without stock management WooCommerce reports only in/out of stock, no number.
        quantity: p.stock_quantity.filter(|_| p.manage_stock),
        images: p
            .images
            .iter()
            .filter_map(|i| non_empty(i.src.as_deref()))
            .collect(),
        category_ids: p
            .categories
            .iter()
            .filter_map(|c| id_text(c.id.as_deref()))
            .collect(),
        variants: variations.iter().map(variant).collect::<Result<_>>()?,
        created_at: utc_time(p.date_created_gmt.as_deref()),
        updated_at: utc_time(p.date_modified_gmt.as_deref()),
        raw: None,
        barcode: None,
        weight: None,
        dimensions: None,
        requires_shipping: None,
        inventory_levels: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------
// Customers and categories
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcCustomer {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "text")]
    email: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    first_name: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    last_name: Option<String>,
    #[serde(deserialize_with = "object_or_default")]
    billing: WcAddress,
    #[serde(deserialize_with = "object_or_default")]
    shipping: WcAddress,
    #[serde(deserialize_with = "text")]
    date_created_gmt: Option<String>,
    #[serde(deserialize_with = "text")]
    date_modified_gmt: Option<String>,
}

/// Maps one customer (`GET /wc/v3/customers/{id}`). WooCommerce keeps a customer's phone
/// only on the billing address.
pub fn customer(raw: &Value) -> Result<Customer> {
    let c: WcCustomer = parse(raw, "WooCommerce customer")?;
    let id = require_id(c.id.as_deref(), "WooCommerce customer")?;
    Ok(Customer {
        id,
        email: non_empty(c.email.as_deref()),
        first_name: non_empty(c.first_name.as_deref()),
        last_name: non_empty(c.last_name.as_deref()),
        phone: non_empty(c.billing.phone.as_deref()),
        addresses: [c.billing.to_unified(), c.shipping.to_unified()]
            .into_iter()
            .flatten()
            .collect(),
        created_at: utc_time(c.date_created_gmt.as_deref()),
        updated_at: utc_time(c.date_modified_gmt.as_deref()),
        raw: None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcCategory {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    parent: Option<String>,
    #[serde(deserialize_with = "text")]
    description: Option<String>,
}

/// Maps one product category (`GET /wc/v3/products/categories/{id}`); parent `0` is the root.
pub fn category(raw: &Value) -> Result<Category> {
    let c: WcCategory = parse(raw, "WooCommerce product category")?;
    let id = require_id(c.id.as_deref(), "WooCommerce product category")?;
    Ok(Category {
        id,
        name: c.name.unwrap_or_default(),
        parent_id: id_text(c.parent.as_deref()),
        description: non_empty(c.description.as_deref()),
        raw: None,
    })
}

// ---------------------------------------------------------------------------------------
// Writes: unified → wc/v3 bodies
// ---------------------------------------------------------------------------------------

/// A price the client sent, checked and canonicalised; wc/v3 wants prices as strings.
fn price_field(p: &str) -> Result<String> {
    let d = decimal(p)
        .filter(|d| !d.is_sign_negative())
        .ok_or_else(|| {
            ConnectorError::Validation(format!(
                "price must be a non-negative decimal string like \"19.99\", got {p:?}"
            ))
        })?;
    Ok(d.to_string())
}

fn quantity_fields(body: &mut Map<String, Value>, quantity: Option<i64>) {
    if let Some(q) = quantity {
        // WooCommerce ignores stock_quantity unless stock management is on.
        body.insert("manage_stock".into(), Value::Bool(true));
        body.insert("stock_quantity".into(), json!(q));
    }
}

fn category_refs(ids: &[String]) -> Result<Value> {
    let refs = ids
        .iter()
        .map(|id| {
            id.trim()
                .parse::<u64>()
                .map(|n| json!({ "id": n }))
                .map_err(|_| {
                    ConnectorError::Validation(format!(
                        "category id {id:?} is not a WooCommerce category id (a positive integer)"
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Array(refs))
}

/// `POST /wc/v3/products` body for a new simple product. Status defaults to draft, as the
/// unified API documents (WooCommerce's own default would publish it).
pub fn new_product_body(p: &NewProduct) -> Result<Value> {
    let name = non_empty(Some(&p.name))
        .ok_or_else(|| ConnectorError::Validation("name must not be empty".into()))?;
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    body.insert("type".into(), json!("simple"));
    body.insert(
        "status".into(),
        json!(product_status_to_wc(
            p.status.unwrap_or(ProductStatus::Draft)
        )),
    );
    if let Some(d) = &p.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(sku) = non_empty(p.sku.as_deref()) {
        body.insert("sku".into(), json!(sku));
    }
    if let Some(price) = &p.price {
        body.insert("regular_price".into(), json!(price_field(price)?));
    }
    quantity_fields(&mut body, p.quantity);
    if !p.category_ids.is_empty() {
        body.insert("categories".into(), category_refs(&p.category_ids)?);
    }
    Ok(Value::Object(body))
}

/// `PUT /wc/v3/products/{id}` body with only the fields present. The unified `price` is
/// the regular price: a running sale (`sale_price`) keeps precedence in WooCommerce.
pub fn product_update_body(u: &ProductUpdate) -> Result<Value> {
    let mut body = Map::new();
    if let Some(name) = &u.name {
        let name = non_empty(Some(name))
            .ok_or_else(|| ConnectorError::Validation("name must not be empty".into()))?;
        body.insert("name".into(), json!(name));
    }
    if let Some(d) = &u.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(s) = u.status {
        body.insert("status".into(), json!(product_status_to_wc(s)));
    }
    if let Some(price) = &u.price {
        body.insert("regular_price".into(), json!(price_field(price)?));
    }
    quantity_fields(&mut body, u.quantity);
    if let Some(sku) = &u.sku {
        // An empty sku clears it, which WooCommerce accepts.
        body.insert("sku".into(), json!(sku.trim()));
    }
    Ok(Value::Object(body))
}

/// `PUT /wc/v3/products/{pid}/variations/{vid}` body.
pub fn variant_update_body(u: &VariantUpdate) -> Result<Value> {
    let mut body = Map::new();
    if let Some(price) = &u.price {
        body.insert("regular_price".into(), json!(price_field(price)?));
    }
    quantity_fields(&mut body, u.quantity);
    if let Some(sku) = &u.sku {
        body.insert("sku".into(), json!(sku.trim()));
    }
    Ok(Value::Object(body))
}

/// Predefined providers of the Shipment Tracking extension (its `tracking_provider`
/// names). Anything else goes as `custom_tracking_provider` with the client's link.
const KNOWN_PROVIDERS: &[&str] = &[
    "Australia Post",
    "Canada Post",
    "Deutsche Post DHL",
    "DHL",
    "DHL US",
    "DPD",
    "FedEx",
    "Fedex",
    "La Poste",
    "Parcelforce",
    "PostNL",
    "Royal Mail",
    "TNT Express (consignment)",
    "UPS",
    "USPS",
];

/// `POST /wc-shipment-tracking/v3/orders/{id}/shipment-trackings` body.
pub fn tracking_body(s: &NewShipment) -> Value {
    let carrier = s.carrier.trim();
    let known = KNOWN_PROVIDERS
        .iter()
        .find(|p| p.eq_ignore_ascii_case(carrier));
    let mut body = Map::new();
    body.insert("tracking_number".into(), json!(s.tracking_number.trim()));
    match known {
        Some(p) => {
            body.insert("tracking_provider".into(), json!(p));
        }
        None => {
            body.insert("custom_tracking_provider".into(), json!(carrier));
            if let Some(url) = non_empty(s.tracking_url.as_deref()) {
                body.insert("custom_tracking_link".into(), json!(url));
            }
        }
    }
    body.insert(
        "date_shipped".into(),
        json!(Utc::now().format("%Y-%m-%d").to_string()),
    );
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_round_trip() {
        let s = NewShipment {
            carrier: "La Poste: Colissimo".into(),
            tracking_number: "6A123".into(),
            tracking_url: Some("https://example.com/t?n=6A123".into()),
            line_items: None,
            notify_customer: false,
        };
        let note =
            json!({"id": 9, "note": shipment_note(&s), "date_created_gmt": "2024-01-02T03:04:05"});
        let got = shipment_from_note(&note).expect("our note parses");
        assert_eq!(got.id, "note-9");
        assert_eq!(got.carrier.as_deref(), Some("La Poste: Colissimo"));
        assert_eq!(got.tracking_number.as_deref(), Some("6A123"));
        assert_eq!(
            got.tracking_url.as_deref(),
            Some("https://example.com/t?n=6A123")
        );
        assert!(shipment_from_note(&json!({"id": 1, "note": "Order ok!!!"})).is_none());
    }

    #[test]
    fn shipped_dates() {
        assert_eq!(
            shipped_at(Some("2016-08-11")).map(|t| t.to_rfc3339()),
            Some("2016-08-11T00:00:00+00:00".into())
        );
        assert_eq!(
            shipped_at(Some("1470873600")).map(|t| t.to_rfc3339()),
            Some("2016-08-11T00:00:00+00:00".into())
        );
    }
}

//! Pure mapping of Magento 2 REST (/V1) payloads to the unified model, and of unified
//! writes back to Magento request bodies. No I/O here: the connector (`client.rs`) fetches,
//! this maps.
//!
//! Magento sends amounts as JSON numbers (`165`, `36.39`), dates as UTC
//! `YYYY-MM-DD HH:MM:SS` without a zone, ids as integers and flags as `0`/`1`. Amounts are
//! read through their JSON text (never through an `f64` sum), rounded to Magento's own
//! precision (4 places) and shown with the currency's minor unit (`165` → `"165.00"`,
//! JPY `1650` → `"1650"`).
//!
//! Magento keeps text as entered and escapes it on output without double-encoding, so
//! names entered with entities (Luma's `LumaTech&trade;`, `&amp;`) show decoded in the
//! store: plain-text fields (names, SKUs, address lines, notes, carriers, option labels)
//! are read with `lenient::plain_text` and decoded once. Descriptions are HTML and stay.
//!
//! The table of what maps to what lives in `docs/mapping/magento.md`.

use std::collections::BTreeMap;

use cartgate_connector::model::*;
use cartgate_connector::util::{non_empty, utc_time};
use cartgate_connector::{ConnectorError, Result};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use cartgate_connector::lenient::{
    decimal, decoded, flag, id_text, int, list_or_empty, object_or_default, parse, plain_text,
    require_id, text, with_scale_of,
};

// ---------------------------------------------------------------------------------------
// Amounts
// ---------------------------------------------------------------------------------------

/// ISO 4217 currencies without minor units (amounts shown without decimals).
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

fn minor_units(currency: Option<&str>) -> u32 {
    match currency {
        Some(c) if ZERO_DECIMAL.contains(&c.to_ascii_uppercase().as_str()) => 0,
        _ => 2,
    }
}

/// A Magento amount (a JSON number, sometimes a string) as a unified money string: exact
/// decimal, Magento's 4-place precision, at least the currency's minor unit.
pub fn amount(raw: Option<&str>, currency: Option<&str>) -> Option<String> {
    let d = decimal(raw?)?;
    Some(scaled(d, currency).to_string())
}

fn scaled(d: Decimal, currency: Option<&str>) -> Decimal {
    let mut out = d.round_dp(4).normalize();
    let units = minor_units(currency);
    if out.scale() < units {
        out.rescale(units);
    }
    out
}

fn dec(raw: Option<&str>) -> Decimal {
    raw.and_then(decimal).unwrap_or(Decimal::ZERO)
}

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

/// An order address (`sales-data-order-address-interface`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgOrderAddress {
    #[serde(deserialize_with = "plain_text")]
    firstname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    lastname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    company: Option<String>,
    #[serde(deserialize_with = "strings")]
    street: Vec<String>,
    #[serde(deserialize_with = "plain_text")]
    city: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    region: Option<String>,
    #[serde(deserialize_with = "text")]
    region_code: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    postcode: Option<String>,
    #[serde(deserialize_with = "text")]
    country_id: Option<String>,
    #[serde(deserialize_with = "text")]
    telephone: Option<String>,
    #[serde(deserialize_with = "text")]
    email: Option<String>,
}

/// A list of plain-text lines (`street`), decoded like `lenient::plain_text`; a single
/// string is one line, other values are skipped.
fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(decoded(s)),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Value::String(s) => s.lines().map(|l| decoded(l.to_owned())).collect(),
        _ => Vec::new(),
    })
}

/// `street` lines → line1 and line2 (further lines joined to line2 with ", ").
fn street_lines(street: &[String]) -> (Option<String>, Option<String>) {
    let lines: Vec<String> = street.iter().filter_map(|l| non_empty(Some(l))).collect();
    let line1 = lines.first().cloned();
    let line2 = (lines.len() > 1).then(|| lines[1..].join(", "));
    (line1, line2)
}

/// Magento stores a region as a code (`CA`) when the country has a region list, else as
/// free text; the code wins when both are there.
fn region(code: Option<&str>, name: Option<&str>) -> Option<String> {
    non_empty(code).or_else(|| non_empty(name))
}

impl MgOrderAddress {
    fn to_unified(&self) -> Option<Address> {
        let (line1, line2) = street_lines(&self.street);
        let a = Address {
            first_name: non_empty(self.firstname.as_deref()),
            last_name: non_empty(self.lastname.as_deref()),
            company: non_empty(self.company.as_deref()),
            line1,
            line2,
            city: non_empty(self.city.as_deref()),
            region: region(self.region_code.as_deref(), self.region.as_deref()),
            postal_code: non_empty(self.postcode.as_deref()),
            country_code: non_empty(self.country_id.as_deref()).map(|c| c.to_ascii_uppercase()),
            phone: phone(self.telephone.as_deref()),
            email: non_empty(self.email.as_deref()),
        };
        (!a.is_empty()).then_some(a)
    }
}

/// Stores that make the telephone optional still send a placeholder dash sometimes.
fn phone(s: Option<&str>) -> Option<String> {
    non_empty(s).filter(|p| p != "-" && p != "0")
}

// ---------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgOrder {
    #[serde(deserialize_with = "text")]
    entity_id: Option<String>,
    #[serde(deserialize_with = "text")]
    increment_id: Option<String>,
    #[serde(deserialize_with = "text")]
    state: Option<String>,
    #[serde(deserialize_with = "text")]
    status: Option<String>,
    #[serde(deserialize_with = "text")]
    order_currency_code: Option<String>,
    #[serde(deserialize_with = "text")]
    subtotal: Option<String>,
    #[serde(deserialize_with = "text")]
    shipping_amount: Option<String>,
    #[serde(deserialize_with = "text")]
    tax_amount: Option<String>,
    #[serde(deserialize_with = "text")]
    discount_amount: Option<String>,
    #[serde(deserialize_with = "text")]
    grand_total: Option<String>,
    #[serde(deserialize_with = "text")]
    total_paid: Option<String>,
    #[serde(deserialize_with = "text")]
    total_refunded: Option<String>,
    #[serde(deserialize_with = "text")]
    total_invoiced: Option<String>,
    #[serde(deserialize_with = "text")]
    customer_id: Option<String>,
    #[serde(deserialize_with = "flag")]
    customer_is_guest: bool,
    #[serde(deserialize_with = "text")]
    customer_email: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    customer_firstname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    customer_lastname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    customer_note: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
    #[serde(deserialize_with = "text")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    items: Vec<MgOrderItem>,
    #[serde(deserialize_with = "object_or_default")]
    billing_address: MgOrderAddress,
    #[serde(deserialize_with = "object_or_default")]
    payment: MgPayment,
    #[serde(deserialize_with = "list_or_empty")]
    status_histories: Vec<MgStatusHistory>,
    #[serde(deserialize_with = "object_or_default")]
    extension_attributes: MgOrderExtension,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgPayment {
    #[serde(deserialize_with = "text")]
    amount_authorized: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgStatusHistory {
    #[serde(deserialize_with = "plain_text")]
    comment: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
    #[serde(deserialize_with = "text")]
    entity_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgOrderExtension {
    #[serde(deserialize_with = "list_or_empty")]
    shipping_assignments: Vec<MgShippingAssignment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgShippingAssignment {
    #[serde(deserialize_with = "object_or_default")]
    shipping: MgShipping,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgShipping {
    #[serde(deserialize_with = "object_or_default")]
    address: MgOrderAddress,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgOrderItem {
    #[serde(deserialize_with = "text")]
    item_id: Option<String>,
    #[serde(deserialize_with = "text")]
    parent_item_id: Option<String>,
    #[serde(deserialize_with = "text")]
    product_id: Option<String>,
    #[serde(deserialize_with = "text")]
    product_type: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    sku: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    qty_ordered: Option<String>,
    #[serde(deserialize_with = "text")]
    qty_shipped: Option<String>,
    #[serde(deserialize_with = "text")]
    qty_canceled: Option<String>,
    #[serde(deserialize_with = "text")]
    qty_refunded: Option<String>,
    #[serde(deserialize_with = "text")]
    price: Option<String>,
    #[serde(deserialize_with = "text")]
    row_total: Option<String>,
    #[serde(deserialize_with = "text")]
    discount_amount: Option<String>,
    #[serde(deserialize_with = "flag")]
    is_virtual: bool,
}

impl MgOrderItem {
    /// A child line of a configurable (or bundle) parent line.
    fn is_child(&self) -> bool {
        id_text(self.parent_item_id.as_deref()).is_some()
    }
}

/// Magento order state → unified status. The state (not the status, which merchants can
/// add their own of) is what decides; `closed` is Magento's "fully refunded".
pub fn order_status(state: Option<&str>, status: Option<&str>) -> OrderStatus {
    let word = |w: &str| match w {
        "new" | "pending" | "pending_payment" => Some(OrderStatus::Pending),
        "processing" => Some(OrderStatus::Processing),
        "holded" | "payment_review" | "fraud" => Some(OrderStatus::OnHold),
        "complete" => Some(OrderStatus::Completed),
        "closed" => Some(OrderStatus::Refunded),
        "canceled" => Some(OrderStatus::Cancelled),
        _ => None,
    };
    state
        .and_then(word)
        .or_else(|| status.and_then(word))
        .unwrap_or(OrderStatus::Unknown)
}

/// Unified order status (a filter value) → the Magento states it covers. Magento has no
/// failed orders (a failed payment leaves the order `pending_payment` or cancels it).
pub fn order_states_for(unified: &str) -> Result<&'static [&'static str]> {
    Ok(match unified {
        "pending" => &["new", "pending_payment"],
        "processing" => &["processing"],
        "on_hold" => &["holded", "payment_review"],
        "completed" => &["complete"],
        "cancelled" => &["canceled"],
        "refunded" => &["closed"],
        other => {
            return Err(ConnectorError::Unsupported(format!(
                "Magento cannot filter orders by status {other:?}: it has no such orders"
            )))
        }
    })
}

fn payment_status(o: &MgOrder, state: Option<&str>) -> PaymentStatus {
    let total = dec(o.grand_total.as_deref());
    let paid = dec(o.total_paid.as_deref());
    let refunded = dec(o.total_refunded.as_deref());
    let invoiced = dec(o.total_invoiced.as_deref());
    let authorized = dec(o.payment.amount_authorized.as_deref());
    if refunded > Decimal::ZERO {
        if refunded >= total || state == Some("closed") {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        }
    } else if state == Some("closed") {
        PaymentStatus::Refunded
    } else if paid > Decimal::ZERO && paid >= total {
        PaymentStatus::Paid
    } else if paid > Decimal::ZERO {
        PaymentStatus::PartiallyPaid
    } else if total.is_zero() && matches!(state, Some("processing" | "complete")) {
        // A free order is invoiced at once.
        PaymentStatus::Paid
    } else if state == Some("canceled") {
        PaymentStatus::Voided
    } else if authorized > Decimal::ZERO || invoiced > Decimal::ZERO {
        // Authorized online, or invoiced offline and not yet marked paid.
        PaymentStatus::Authorized
    } else {
        PaymentStatus::Pending
    }
}

/// Fulfillment from the shipped quantities of the top-level, non-virtual lines.
fn fulfillment_status(items: &[MgOrderItem], state: Option<&str>) -> FulfillmentStatus {
    let mut shippable = Decimal::ZERO;
    let mut shipped = Decimal::ZERO;
    for i in items.iter().filter(|i| !i.is_child() && !i.is_virtual) {
        let want = dec(i.qty_ordered.as_deref()) - dec(i.qty_canceled.as_deref());
        shippable += want.max(Decimal::ZERO);
        shipped += dec(i.qty_shipped.as_deref()).min(want.max(Decimal::ZERO));
    }
    if shippable.is_zero() {
        // Virtual-only or fully cancelled: nothing to ship. A completed virtual order is done.
        return if state == Some("complete") {
            FulfillmentStatus::Fulfilled
        } else {
            FulfillmentStatus::Unfulfilled
        };
    }
    if shipped >= shippable {
        FulfillmentStatus::Fulfilled
    } else if shipped > Decimal::ZERO {
        FulfillmentStatus::Partial
    } else {
        FulfillmentStatus::Unfulfilled
    }
}

/// Whole quantities only: Magento keeps `qty_ordered` as a decimal (`2.0000`).
fn quantity(raw: Option<&str>) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    // Decimal quantities (is_qty_decimal) are rounded up: the unified model counts units.
    dec(raw).ceil().to_i64().unwrap_or(0)
}

/// The unified lines: one per top-level Magento line. A configurable product is ordered as
/// a parent line (the configurable product, carrying the chosen child's sku and the price)
/// plus a child line (the simple product, price 0): the child is folded into its parent,
/// whose `variant_id` becomes the child's product id. Bundle children are folded likewise.
fn line_items(items: &[MgOrderItem], currency: Option<&str>) -> Result<Vec<LineItem>> {
    let mut out = Vec::new();
    for i in items.iter().filter(|i| !i.is_child()) {
        let id = require_id(i.item_id.as_deref(), "Magento order item")?;
        let child = (i.product_type.as_deref() == Some("configurable"))
            .then(|| {
                items
                    .iter()
                    .find(|c| id_text(c.parent_item_id.as_deref()).as_deref() == Some(id.as_str()))
            })
            .flatten();
        let row = dec(i.row_total.as_deref());
        let discount = dec(i.discount_amount.as_deref()).abs();
        let total = i
            .row_total
            .as_deref()
            .and_then(decimal)
            .map(|_| scaled(row - discount, currency).to_string());
        let unit_price = amount(i.price.as_deref(), currency).or_else(|| {
            let q = quantity(i.qty_ordered.as_deref());
            (q > 0 && i.row_total.is_some())
                .then(|| with_scale_of((row / Decimal::from(q)).round_dp(4), Some(row)))
                .map(|d| scaled(d, currency).to_string())
        });
        out.push(LineItem {
            id,
            product_id: id_text(i.product_id.as_deref()),
            variant_id: child.and_then(|c| id_text(c.product_id.as_deref())),
            sku: non_empty(i.sku.as_deref()),
            name: i.name.clone().unwrap_or_default(),
            quantity: quantity(i.qty_ordered.as_deref()),
            unit_price,
            total,
            tax_total: None,
            tax_lines: Vec::new(),
            discount_total: None,
            refunded_quantity: None,
            weight: None,
            requires_shipping: None,
            variant_options: Default::default(),
        });
    }
    Ok(out)
}

/// `platform_status` of an order: `state/status`, e.g. `processing/fraud`.
fn platform_status(state: Option<&str>, status: Option<&str>) -> Option<String> {
    match (non_empty(state), non_empty(status)) {
        (Some(a), Some(b)) => Some(format!("{a}/{b}")),
        (Some(a), None) => Some(a),
        (None, Some(b)) => Some(b),
        (None, None) => None,
    }
}

/// Maps one Magento order (`GET /V1/orders/{id}` or an item of `GET /V1/orders`).
/// Shipments are not part of the order resource: the connector adds them with
/// [`attach_shipments`].
pub fn order(raw: &Value) -> Result<Order> {
    let o: MgOrder = parse(raw, "Magento order")?;
    let id = require_id(o.entity_id.as_deref(), "Magento order")?;
    let currency = non_empty(o.order_currency_code.as_deref()).map(|c| c.to_ascii_uppercase());
    let cur = currency.as_deref();
    let state = non_empty(o.state.as_deref());
    let status = non_empty(o.status.as_deref());
    let billing = o.billing_address.to_unified();
    let customer = OrderCustomer {
        id: if o.customer_is_guest {
            None
        } else {
            id_text(o.customer_id.as_deref())
        },
        email: non_empty(o.customer_email.as_deref())
            .or_else(|| non_empty(o.billing_address.email.as_deref())),
        first_name: non_empty(o.customer_firstname.as_deref())
            .or_else(|| non_empty(o.billing_address.firstname.as_deref())),
        last_name: non_empty(o.customer_lastname.as_deref())
            .or_else(|| non_empty(o.billing_address.lastname.as_deref())),
        phone: phone(o.billing_address.telephone.as_deref()),
    };
    let shipping_address = o
        .extension_attributes
        .shipping_assignments
        .first()
        .and_then(|a| a.shipping.address.to_unified());
    // The customer's own note first; otherwise the newest comment of the order history.
    let note = non_empty(o.customer_note.as_deref()).or_else(|| {
        o.status_histories
            .iter()
            .filter(|h| non_empty(h.comment.as_deref()).is_some())
            .max_by_key(|h| {
                (
                    utc_time(h.created_at.as_deref()),
                    h.entity_id
                        .as_deref()
                        .and_then(|x| x.parse::<i64>().ok())
                        .unwrap_or(0),
                )
            })
            .and_then(|h| non_empty(h.comment.as_deref()))
    });
    Ok(Order {
        id,
        number: non_empty(o.increment_id.as_deref()),
        status: order_status(state.as_deref(), status.as_deref()),
        payment_status: payment_status(&o, state.as_deref()),
        fulfillment_status: fulfillment_status(&o.items, state.as_deref()),
        platform_status: platform_status(state.as_deref(), status.as_deref()),
        currency: currency.clone(),
        subtotal: amount(o.subtotal.as_deref(), cur),
        shipping_total: amount(o.shipping_amount.as_deref(), cur),
        tax_total: amount(o.tax_amount.as_deref(), cur),
        // Magento keeps discounts negative (`-5`); the unified total is a magnitude.
        discount_total: o
            .discount_amount
            .as_deref()
            .and_then(decimal)
            .map(|d| scaled(d.abs(), cur).to_string()),
        total: amount(o.grand_total.as_deref(), cur),
        customer: (customer != OrderCustomer::default()).then_some(customer),
        billing_address: billing,
        shipping_address,
        line_items: line_items(&o.items, cur)?,
        shipments: Vec::new(),
        note,
        created_at: utc_time(o.created_at.as_deref()),
        updated_at: utc_time(o.updated_at.as_deref()),
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

/// Sets an order's shipments (fetched separately from `/V1/shipments`). Fulfillment comes
/// from the shipped quantities and is already right.
pub fn attach_shipments(order: &mut Order, shipments: Vec<Shipment>) {
    order.shipments = shipments;
}

/// The lines still to ship of a raw order: top-level item id → remaining quantity.
pub fn remaining_to_ship(raw: &Value) -> Result<BTreeMap<String, i64>> {
    let o: MgOrder = parse(raw, "Magento order")?;
    let mut out = BTreeMap::new();
    for i in o.items.iter().filter(|i| !i.is_child()) {
        let id = require_id(i.item_id.as_deref(), "Magento order item")?;
        let left = quantity(i.qty_ordered.as_deref())
            - quantity(i.qty_canceled.as_deref())
            - quantity(i.qty_shipped.as_deref());
        out.insert(id, if i.is_virtual { 0 } else { left.max(0) });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Shipments
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgShipment {
    #[serde(deserialize_with = "text")]
    entity_id: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    tracks: Vec<MgTrack>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgTrack {
    #[serde(deserialize_with = "text")]
    entity_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    track_number: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    title: Option<String>,
    #[serde(deserialize_with = "text")]
    carrier_code: Option<String>,
    #[serde(deserialize_with = "text")]
    description: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
}

/// Maps one Magento shipment (`sales-data-shipment-interface`) to unified shipments: one
/// per tracking number (Magento allows several tracks per shipment), or one without
/// tracking when it has none. Ids are the shipment id, suffixed `-{track id}` when the
/// shipment has more than one track. Magento has no tracking URL: cartgate keeps the one
/// a client gives in the track's `description`, and reads it back from there.
pub fn shipments(raw: &Value) -> Result<Vec<Shipment>> {
    let s: MgShipment = parse(raw, "Magento shipment")?;
    let id = require_id(s.entity_id.as_deref(), "Magento shipment")?;
    let created = utc_time(s.created_at.as_deref());
    if s.tracks.is_empty() {
        return Ok(vec![Shipment {
            id,
            carrier: None,
            tracking_number: None,
            tracking_url: None,
            created_at: created,
        }]);
    }
    let many = s.tracks.len() > 1;
    Ok(s.tracks
        .iter()
        .enumerate()
        .map(|(n, t)| Shipment {
            id: if many {
                format!(
                    "{id}-{}",
                    id_text(t.entity_id.as_deref()).unwrap_or_else(|| (n + 1).to_string())
                )
            } else {
                id.clone()
            },
            carrier: non_empty(t.title.as_deref())
                .or_else(|| non_empty(t.carrier_code.as_deref()).filter(|c| c != CUSTOM_CARRIER)),
            tracking_number: non_empty(t.track_number.as_deref()),
            tracking_url: non_empty(t.description.as_deref())
                .filter(|d| d.starts_with("https://") || d.starts_with("http://")),
            created_at: utc_time(t.created_at.as_deref()).or(created),
        })
        .collect())
}

/// Magento's carrier code for a carrier it has no module for.
pub const CUSTOM_CARRIER: &str = "custom";

/// Carrier codes of Magento's shipping modules, by the names clients use.
const CARRIERS: &[(&str, &str)] = &[
    ("ups", "ups"),
    ("united parcel service", "ups"),
    ("usps", "usps"),
    ("united states postal service", "usps"),
    ("fedex", "fedex"),
    ("federal express", "fedex"),
    ("dhl", "dhl"),
];

/// The body of `POST /V1/order/{orderId}/ship`. `items` are (order item id, qty); empty
/// means "everything left", as Magento does it.
pub fn ship_body(s: &NewShipment, items: &[(String, i64)]) -> Result<Value> {
    let carrier = s.carrier.trim();
    let code = CARRIERS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(carrier))
        .map_or(CUSTOM_CARRIER, |(_, code)| code);
    let mut track = Map::new();
    track.insert("track_number".into(), json!(s.tracking_number.trim()));
    track.insert("title".into(), json!(carrier));
    track.insert("carrier_code".into(), json!(code));
    if let Some(url) = non_empty(s.tracking_url.as_deref()) {
        track.insert("description".into(), json!(url));
    }
    let items = items
        .iter()
        .map(|(id, qty)| {
            let n: u64 = id.parse().map_err(|_| {
                ConnectorError::Validation(format!("line item id {id:?} is not a Magento id"))
            })?;
            Ok(json!({"order_item_id": n, "qty": qty}))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "items": items,
        "notify": s.notify_customer,
        "tracks": [Value::Object(track)],
    }))
}

// ---------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgProduct {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    sku: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    price: Option<String>,
    #[serde(deserialize_with = "text")]
    status: Option<String>,
    #[serde(deserialize_with = "text")]
    type_id: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
    #[serde(deserialize_with = "text")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "object_or_default")]
    extension_attributes: MgProductExtension,
    #[serde(deserialize_with = "list_or_empty")]
    media_gallery_entries: Vec<MgMedia>,
    #[serde(deserialize_with = "list_or_empty")]
    custom_attributes: Vec<MgAttribute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgProductExtension {
    #[serde(deserialize_with = "list_or_empty")]
    category_links: Vec<MgCategoryLink>,
    #[serde(deserialize_with = "object_or_default")]
    stock_item: MgStockItem,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgCategoryLink {
    #[serde(deserialize_with = "text")]
    category_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgStockItem {
    #[serde(deserialize_with = "int")]
    qty: Option<i64>,
    #[serde(deserialize_with = "text")]
    manage_stock: Option<String>,
    #[serde(deserialize_with = "text")]
    item_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgMedia {
    #[serde(deserialize_with = "text")]
    file: Option<String>,
    #[serde(deserialize_with = "text")]
    media_type: Option<String>,
    #[serde(deserialize_with = "flag")]
    disabled: bool,
    #[serde(deserialize_with = "int")]
    position: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgAttribute {
    #[serde(deserialize_with = "text")]
    attribute_code: Option<String>,
    /// A string for most attributes, an array for multi-selects (`category_ids`).
    value: Value,
}

fn attribute<'a>(attrs: &'a [MgAttribute], code: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|a| a.attribute_code.as_deref() == Some(code))
        .map(|a| &a.value)
}

fn attribute_text(attrs: &[MgAttribute], code: &str) -> Option<String> {
    match attribute(attrs, code)? {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Magento product status: 1 enabled, 2 disabled. There is no archived product.
pub fn product_status(raw: Option<&str>) -> ProductStatus {
    match raw.map(str::trim) {
        Some("1") => ProductStatus::Active,
        _ => ProductStatus::Draft,
    }
}

/// Unified product status → Magento's status code.
pub fn product_status_code(s: ProductStatus) -> Result<u8> {
    match s {
        ProductStatus::Active => Ok(1),
        ProductStatus::Draft => Ok(2),
        ProductStatus::Archived => Err(ConnectorError::Unsupported(
            "Magento products have no archived status (only enabled or disabled)".into(),
        )),
    }
}

/// Unified product status word (a filter value) → Magento's status code.
pub fn product_status_filter(unified: &str) -> Result<u8> {
    match unified {
        "active" => Ok(1),
        "draft" => Ok(2),
        other => Err(ConnectorError::Unsupported(format!(
            "Magento cannot filter products by status {other:?}"
        ))),
    }
}

/// What a product's mapping needs besides the product itself.
#[derive(Debug, Clone, Default)]
pub struct ProductContext<'a> {
    /// The store's media URL, e.g. `https://shop.example.com/media/`. Without it images are
    /// site-relative (`/media/catalog/product/m/b/mb01.jpg`).
    pub media_url: Option<&'a str>,
    /// The store's base currency (Magento products carry none of their own).
    pub currency: Option<&'a str>,
    /// The variants (configurable products), already mapped with [`variant`].
    pub variants: Vec<Variant>,
}

/// One configurable option with its values' labels, as the connector assembles it from
/// `/V1/configurable-products/{sku}/options/all` and the attribute's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurableOption {
    /// The attribute code (`size`), how a child product names its value.
    pub code: String,
    /// The option label (`Size`), the unified option name.
    pub label: String,
    /// Option id (`value_index`, as text) → its label (`M`).
    pub values: BTreeMap<String, String>,
}

/// Maps one configurable option of `options/all` (`attribute_id`, `label`) together with
/// the attribute metadata of `GET /V1/products/attributes/{attribute_id}`. Labels are
/// plain text (decoded once); value keys stay as Magento stores them.
pub fn configurable_option(option: &Value, attribute: &Value) -> Option<ConfigurableOption> {
    let code = non_empty(attribute.get("attribute_code")?.as_str())?;
    let label = option
        .get("label")
        .and_then(Value::as_str)
        .and_then(|l| non_empty(Some(l)))
        .or_else(|| non_empty(attribute.get("default_frontend_label")?.as_str()))
        .map(decoded)
        .unwrap_or_else(|| code.clone());
    let values = attribute
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let value = match o.get("value")? {
                Value::String(s) => non_empty(Some(s))?,
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((value, decoded(non_empty(o.get("label")?.as_str())?)))
        })
        .collect();
    Some(ConfigurableOption {
        code,
        label,
        values,
    })
}

/// `{base}/media/catalog/product{file}` (Magento's product media path).
fn image_url(media_url: Option<&str>, file: &str) -> String {
    let file = if file.starts_with('/') {
        file.to_owned()
    } else {
        format!("/{file}")
    };
    match media_url {
        Some(m) => format!("{}/catalog/product{file}", m.trim_end_matches('/')),
        None => format!("/media/catalog/product{file}"),
    }
}

/// Maps one child product of a configurable product to a variant. `options` say which of
/// its attributes are the configurable ones and how their values read; `quantity` comes
/// from the child's stock item (see the connector).
pub fn variant(
    raw: &Value,
    options: &[ConfigurableOption],
    quantity: Option<i64>,
    currency: Option<&str>,
) -> Result<Variant> {
    let p: MgProduct = parse(raw, "Magento child product")?;
    let id = require_id(p.id.as_deref(), "Magento child product")?;
    let opts: BTreeMap<String, String> = options
        .iter()
        .filter_map(|o| {
            let value = attribute_text(&p.custom_attributes, &o.code)?;
            // Labels are decoded already; a value without a label is text of its own.
            let label = o
                .values
                .get(&value)
                .cloned()
                .unwrap_or_else(|| decoded(value));
            Some((o.label.clone(), label))
        })
        .collect();
    let qty = quantity.or_else(|| stock_qty(&p.extension_attributes.stock_item));
    Ok(Variant {
        id,
        sku: non_empty(p.sku.as_deref()),
        name: non_empty(p.name.as_deref()),
        price: amount(p.price.as_deref(), currency),
        quantity: qty,
        options: opts,
        barcode: None,
        weight: None,
        dimensions: None,
        requires_shipping: None,
        inventory_levels: Vec::new(),
    })
}

/// The stock quantity when Magento manages stock for the product.
fn stock_qty(s: &MgStockItem) -> Option<i64> {
    let managed = s
        .manage_stock
        .as_deref()
        .is_none_or(|m| matches!(m, "true" | "1"));
    s.qty.filter(|_| managed)
}

/// The stock item id and quantity of a raw product (`extension_attributes.stock_item`).
pub fn stock_item(raw: &Value) -> (Option<String>, Option<i64>) {
    let Ok(p) = parse::<MgProduct>(raw, "Magento product") else {
        return (None, None);
    };
    let s = &p.extension_attributes.stock_item;
    (id_text(s.item_id.as_deref()), s.qty)
}

/// Is this a configurable product (whose children are its variants)?
pub fn is_configurable(raw: &Value) -> bool {
    raw.get("type_id").and_then(Value::as_str) == Some("configurable")
}

/// The SKU of a raw product: Magento's product routes are keyed by it.
pub fn product_sku(raw: &Value) -> Option<String> {
    match raw.get("sku")? {
        Value::String(s) => non_empty(Some(s)),
        _ => None,
    }
}

/// Maps one product (`catalog-data-product-interface`). The quantity of a configurable
/// product is the sum of its variants' (Magento keeps none of its own).
pub fn product(raw: &Value, cx: &ProductContext<'_>) -> Result<Product> {
    let p: MgProduct = parse(raw, "Magento product")?;
    let id = require_id(p.id.as_deref(), "Magento product")?;
    let currency = non_empty(cx.currency).map(|c| c.to_ascii_uppercase());
    let mut media: Vec<&MgMedia> = p
        .media_gallery_entries
        .iter()
        .filter(|m| !m.disabled && m.media_type.as_deref().is_none_or(|t| t == "image"))
        .collect();
    media.sort_by_key(|m| m.position.unwrap_or(i64::MAX));
    let images = media
        .iter()
        .filter_map(|m| non_empty(m.file.as_deref()))
        .map(|f| image_url(cx.media_url, &f))
        .collect();
    let mut category_ids: Vec<String> = p
        .extension_attributes
        .category_links
        .iter()
        .filter_map(|l| id_text(l.category_id.as_deref()))
        .collect();
    if category_ids.is_empty() {
        // Older stores send the links only as the `category_ids` custom attribute.
        if let Some(Value::Array(ids)) = attribute(&p.custom_attributes, "category_ids") {
            category_ids = ids
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => id_text(Some(s)),
                    Value::Number(n) => id_text(Some(&n.to_string())),
                    _ => None,
                })
                .collect();
        }
    }
    let configurable = p.type_id.as_deref() == Some("configurable");
    let quantity = if configurable {
        let qs: Vec<i64> = cx.variants.iter().filter_map(|v| v.quantity).collect();
        (!qs.is_empty()).then(|| qs.iter().sum())
    } else {
        stock_qty(&p.extension_attributes.stock_item)
    };
    // A configurable product has no price of its own: the lowest variant price is shown.
    let price = amount(p.price.as_deref(), currency.as_deref())
        .filter(|pr| !(configurable && decimal(pr).is_some_and(|d| d.is_zero())))
        .or_else(|| {
            cx.variants
                .iter()
                .filter_map(|v| v.price.as_deref().and_then(decimal))
                .min()
                .map(|d| scaled(d, currency.as_deref()).to_string())
        });
    let status_word = non_empty(p.status.as_deref());
    Ok(Product {
        id,
        name: p.name.clone().unwrap_or_default(),
        description: attribute_text(&p.custom_attributes, "description"),
        sku: non_empty(p.sku.as_deref()),
        status: product_status(status_word.as_deref()),
        platform_status: status_word.map(|s| match s.as_str() {
            "1" => "enabled".to_owned(),
            "2" => "disabled".to_owned(),
            other => other.to_owned(),
        }),
        price,
        currency,
        quantity,
        images,
        category_ids,
        variants: cx.variants.clone(),
        created_at: utc_time(p.created_at.as_deref()),
        updated_at: utc_time(p.updated_at.as_deref()),
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
struct MgCustomer {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "text")]
    email: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    firstname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    lastname: Option<String>,
    #[serde(deserialize_with = "text")]
    default_billing: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
    #[serde(deserialize_with = "text")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    addresses: Vec<MgCustomerAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgCustomerAddress {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    firstname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    lastname: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    company: Option<String>,
    #[serde(deserialize_with = "strings")]
    street: Vec<String>,
    #[serde(deserialize_with = "plain_text")]
    city: Option<String>,
    #[serde(deserialize_with = "object_or_default")]
    region: MgRegion,
    #[serde(deserialize_with = "plain_text")]
    postcode: Option<String>,
    #[serde(deserialize_with = "text")]
    country_id: Option<String>,
    #[serde(deserialize_with = "text")]
    telephone: Option<String>,
    #[serde(deserialize_with = "flag")]
    default_billing: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgRegion {
    #[serde(deserialize_with = "text")]
    region_code: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    region: Option<String>,
}

impl MgCustomerAddress {
    fn to_unified(&self, email: Option<&str>) -> Option<Address> {
        let (line1, line2) = street_lines(&self.street);
        let a = Address {
            first_name: non_empty(self.firstname.as_deref()),
            last_name: non_empty(self.lastname.as_deref()),
            company: non_empty(self.company.as_deref()),
            line1,
            line2,
            city: non_empty(self.city.as_deref()),
            region: region(
                self.region.region_code.as_deref(),
                self.region.region.as_deref(),
            ),
            postal_code: non_empty(self.postcode.as_deref()),
            country_code: non_empty(self.country_id.as_deref()).map(|c| c.to_ascii_uppercase()),
            phone: phone(self.telephone.as_deref()),
            email: non_empty(email),
        };
        (!a.is_empty()).then_some(a)
    }
}

/// Maps one customer (`customer-data-customer-interface`). Magento keeps phone numbers on
/// addresses only: the default billing address's, else the first address's.
pub fn customer(raw: &Value) -> Result<Customer> {
    let c: MgCustomer = parse(raw, "Magento customer")?;
    let id = require_id(c.id.as_deref(), "Magento customer")?;
    let billing = c.addresses.iter().find(|a| {
        a.default_billing
            || (c.default_billing.is_some()
                && id_text(a.id.as_deref()) == id_text(c.default_billing.as_deref()))
    });
    let phone_number = billing
        .and_then(|a| phone(a.telephone.as_deref()))
        .or_else(|| {
            c.addresses
                .iter()
                .find_map(|a| phone(a.telephone.as_deref()))
        });
    Ok(Customer {
        id,
        email: non_empty(c.email.as_deref()),
        first_name: non_empty(c.firstname.as_deref()),
        last_name: non_empty(c.lastname.as_deref()),
        phone: phone_number,
        addresses: c
            .addresses
            .iter()
            .filter_map(|a| a.to_unified(None))
            .collect(),
        created_at: utc_time(c.created_at.as_deref()),
        updated_at: utc_time(c.updated_at.as_deref()),
        raw: None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgCategory {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "text")]
    parent_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    custom_attributes: Vec<MgAttribute>,
}

/// The invisible root of Magento's category tree ("Root Catalog").
pub const TREE_ROOT_ID: &str = "1";

/// Maps one category (`catalog-data-category-interface`). The store roots (level 1, e.g.
/// "Default Category", id 2) hang under the invisible tree root (id 1): their parent is
/// `null`, as it would be for any top category.
pub fn category(raw: &Value) -> Result<Category> {
    let c: MgCategory = parse(raw, "Magento category")?;
    let id = require_id(c.id.as_deref(), "Magento category")?;
    Ok(Category {
        id,
        name: c.name.unwrap_or_default(),
        parent_id: id_text(c.parent_id.as_deref()).filter(|p| p != TREE_ROOT_ID),
        description: attribute_text(&c.custom_attributes, "description"),
        raw: None,
    })
}

// ---------------------------------------------------------------------------------------
// Writes: unified → Magento bodies
// ---------------------------------------------------------------------------------------

/// A price the client sent, checked and canonicalised; Magento wants a number.
pub fn price_value(p: &str) -> Result<Value> {
    let d = decimal(p)
        .filter(|d| !d.is_sign_negative())
        .ok_or_else(|| {
            ConnectorError::Validation(format!(
                "price must be a non-negative decimal string like \"19.99\", got {p:?}"
            ))
        })?;
    // The decimal's own text is valid JSON number syntax: no float rounding on the way.
    let n: serde_json::Number = serde_json::from_str(&d.normalize().to_string())
        .map_err(|_| ConnectorError::Validation(format!("price {p:?} is out of range")))?;
    Ok(Value::Number(n))
}

fn category_links(ids: &[String]) -> Result<Value> {
    ids.iter()
        .enumerate()
        .map(|(n, id)| {
            let id = id.trim();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConnectorError::Validation(format!(
                    "category id {id:?} is not a Magento category id (a positive integer)"
                )));
            }
            Ok(json!({"position": n, "category_id": id}))
        })
        .collect::<Result<Vec<_>>>()
        .map(Value::Array)
}

/// `POST /V1/products` body for a new simple product (attribute set 4, "Default";
/// visible in catalog and search). The quantity is not part of it (see the connector). Status defaults to disabled (draft), as the unified API
/// documents. A SKU is required by Magento: absent, one is derived from the name.
pub fn new_product_body(p: &NewProduct) -> Result<Value> {
    let name = non_empty(Some(&p.name))
        .ok_or_else(|| ConnectorError::Validation("name must not be empty".into()))?;
    let sku = non_empty(p.sku.as_deref()).unwrap_or_else(|| sku_from_name(&name));
    let mut product = Map::new();
    product.insert("sku".into(), json!(sku));
    product.insert("name".into(), json!(name));
    product.insert("attribute_set_id".into(), json!(4));
    product.insert("type_id".into(), json!("simple"));
    product.insert("visibility".into(), json!(4));
    product.insert(
        "status".into(),
        json!(product_status_code(
            p.status.unwrap_or(ProductStatus::Draft)
        )?),
    );
    product.insert(
        "price".into(),
        match &p.price {
            Some(pr) => price_value(pr)?,
            None => json!(0),
        },
    );
    // The quantity is set afterwards through the stock (source) item, like any update:
    // the schema's stock item wants every one of its fields.
    if !p.category_ids.is_empty() {
        product.insert(
            "extension_attributes".into(),
            json!({"category_links": category_links(&p.category_ids)?}),
        );
    }
    if let Some(d) = &p.description {
        product.insert(
            "custom_attributes".into(),
            json!([{"attribute_code": "description", "value": d}]),
        );
    }
    Ok(json!({ "product": Value::Object(product) }))
}

/// A SKU from a product name: ASCII letters and digits, words joined by `-`, at most 64.
pub fn sku_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let mut sku: String = out.chars().take(64).collect();
    if sku.is_empty() {
        sku = "product".into();
    }
    sku
}

/// `PUT /V1/products/{sku}` body with only the fields present (`sku` renames the product).
/// Quantity is not part of it: Magento's stock lives in stock items / source items.
pub fn product_update_body(sku: &str, u: &ProductUpdate) -> Result<Value> {
    let mut product = Map::new();
    product.insert("sku".into(), json!(sku));
    if let Some(name) = &u.name {
        let name = non_empty(Some(name))
            .ok_or_else(|| ConnectorError::Validation("name must not be empty".into()))?;
        product.insert("name".into(), json!(name));
    }
    if let Some(s) = u.status {
        product.insert("status".into(), json!(product_status_code(s)?));
    }
    if let Some(price) = &u.price {
        product.insert("price".into(), price_value(price)?);
    }
    if let Some(d) = &u.description {
        product.insert(
            "custom_attributes".into(),
            json!([{"attribute_code": "description", "value": d}]),
        );
    }
    if let Some(new_sku) = &u.sku {
        let new_sku = non_empty(Some(new_sku))
            .ok_or_else(|| ConnectorError::Validation("sku must not be empty".into()))?;
        product.insert("sku".into(), json!(new_sku));
    }
    Ok(json!({ "product": Value::Object(product) }))
}

/// Whether an update body changes anything but the key.
pub fn body_changes(body: &Value) -> bool {
    body.pointer("/product")
        .and_then(Value::as_object)
        .is_some_and(|p| p.len() > 1)
}

/// `PUT /V1/products/{sku}/stockItems/{itemId}` body: the current stock item (as Magento
/// served it; the schema wants every field) with the new quantity, stock status and stock
/// management switched on.
pub fn stock_item_body(current: &Value, qty: i64) -> Value {
    let mut item = match current {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    item.insert("qty".into(), json!(qty));
    item.insert("is_in_stock".into(), json!(qty > 0));
    item.insert("manage_stock".into(), json!(true));
    item.insert("use_config_manage_stock".into(), json!(false));
    json!({ "stockItem": Value::Object(item) })
}

/// The stock item object of a raw product, when it has one with an id.
pub fn stock_item_object(raw: &Value) -> Option<&Value> {
    raw.pointer("/extension_attributes/stock_item")
        .filter(|s| s.get("item_id").is_some_and(|i| !i.is_null()))
}

/// `POST /V1/inventory/source-items` body (MSI).
pub fn source_items_body(sku: &str, source_code: &str, qty: i64) -> Value {
    json!({"sourceItems": [{
        "sku": sku,
        "source_code": source_code,
        "quantity": qty,
        "status": i32::from(qty > 0),
    }]})
}

/// Magento's error message with its placeholders filled: `%1`, `%2`… from a `parameters`
/// array, `%name` from a `parameters` object.
pub fn error_message(body: &Value) -> Option<String> {
    let mut msg = body.get("message")?.as_str()?.to_owned();
    match body.get("parameters") {
        Some(Value::Array(params)) => {
            // From the highest index down, so %1 does not eat the start of %10.
            for (n, p) in params.iter().enumerate().rev() {
                msg = msg.replace(&format!("%{}", n + 1), &scalar(p));
            }
        }
        Some(Value::Object(params)) => {
            let mut keys: Vec<&String> = params.keys().collect();
            keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
            for k in keys {
                msg = msg.replace(&format!("%{k}"), &scalar(&params[k.as_str()]));
            }
        }
        _ => {}
    }
    non_empty(Some(&msg))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_take_the_currency_scale() {
        assert_eq!(amount(Some("165"), Some("USD")).as_deref(), Some("165.00"));
        assert_eq!(amount(Some("36.39"), Some("EUR")).as_deref(), Some("36.39"));
        assert_eq!(amount(Some("1650"), Some("JPY")).as_deref(), Some("1650"));
        assert_eq!(
            amount(Some("1.23456"), Some("USD")).as_deref(),
            Some("1.2346")
        );
        assert_eq!(amount(Some("x"), Some("USD")), None);
    }

    #[test]
    fn error_placeholders() {
        let b = json!({"message": "Invalid product data: %1", "parameters": ["Invalid attribute set entity type"]});
        assert_eq!(
            error_message(&b).unwrap(),
            "Invalid product data: Invalid attribute set entity type"
        );
        let b = json!({"message": "No such entity with %fieldName = %fieldValue", "parameters": {"fieldName": "id", "fieldValue": 7}});
        assert_eq!(error_message(&b).unwrap(), "No such entity with id = 7");
    }

    #[test]
    fn quantities_and_skus() {
        assert_eq!(quantity(Some("2.0000")), 2);
        assert_eq!(quantity(Some("1.5")), 2);
        assert_eq!(quantity(None), 0);
        assert_eq!(sku_from_name("Zoë's T-Shirt (XL)"), "zo-s-t-shirt-xl");
        assert_eq!(sku_from_name("東京"), "product");
        assert_eq!(price_value("19.90").unwrap(), json!(19.9));
        assert!(price_value("-1").is_err());
    }
}

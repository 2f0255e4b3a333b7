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
use chrono::{DateTime, Utc};
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
    subtotal_incl_tax: Option<String>,
    #[serde(deserialize_with = "text")]
    shipping_tax_amount: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    shipping_description: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    coupon_code: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    discount_description: Option<String>,
    #[serde(deserialize_with = "text")]
    weight: Option<String>,
    #[serde(deserialize_with = "text")]
    store_id: Option<String>,
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
    #[serde(deserialize_with = "text")]
    method: Option<String>,
    /// The values of the payment's additional information, without their keys.
    #[serde(deserialize_with = "strings")]
    additional_information: Vec<String>,
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
    /// `sales_order_tax` rows (2.4.7+, `Magento\Tax\Model\Plugin\AddTaxesExtensionAttribute`).
    #[serde(deserialize_with = "list_or_empty")]
    taxes: Vec<MgTax>,
    /// What the order was placed with (set while converting the quote; older stores and
    /// extensions serve it on reads too).
    #[serde(deserialize_with = "list_or_empty")]
    applied_taxes: Vec<MgTax>,
    #[serde(deserialize_with = "list_or_empty")]
    item_applied_taxes: Vec<MgItemAppliedTaxes>,
    #[serde(deserialize_with = "list_or_empty")]
    payment_additional_info: Vec<MgKeyValue>,
    /// Adobe Commerce's several coupons per order.
    #[serde(deserialize_with = "strings")]
    coupon_codes: Vec<String>,
}

/// An order-level tax: `tax-data-order-tax-interface` or
/// `tax-data-order-tax-details-applied-tax-interface`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgTax {
    #[serde(deserialize_with = "text")]
    tax_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    code: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    title: Option<String>,
    #[serde(deserialize_with = "text")]
    percent: Option<String>,
    #[serde(deserialize_with = "text")]
    amount: Option<String>,
}

/// `tax-data-order-tax-details-item-interface`: the taxes of one item (or of shipping).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgItemAppliedTaxes {
    #[serde(rename = "type", deserialize_with = "text")]
    kind: Option<String>,
    #[serde(deserialize_with = "text")]
    item_id: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    applied_taxes: Vec<MgTax>,
}

/// `tax-data-order-tax-item-interface`: one rate on one item (`itemized_taxes`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgTaxItem {
    #[serde(deserialize_with = "text")]
    tax_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    tax_code: Option<String>,
    #[serde(deserialize_with = "text")]
    tax_percent: Option<String>,
    #[serde(deserialize_with = "text")]
    amount: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgKeyValue {
    #[serde(deserialize_with = "text")]
    key: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    value: Option<String>,
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
    /// `{carrier code}_{method code}`, e.g. `flatrate_flatrate`.
    #[serde(deserialize_with = "text")]
    method: Option<String>,
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
    qty_invoiced: Option<String>,
    #[serde(deserialize_with = "text")]
    price: Option<String>,
    #[serde(deserialize_with = "text")]
    row_total: Option<String>,
    #[serde(deserialize_with = "text")]
    discount_amount: Option<String>,
    #[serde(deserialize_with = "text")]
    tax_amount: Option<String>,
    #[serde(deserialize_with = "text")]
    tax_percent: Option<String>,
    #[serde(deserialize_with = "text")]
    price_incl_tax: Option<String>,
    #[serde(deserialize_with = "text")]
    weight: Option<String>,
    #[serde(deserialize_with = "flag")]
    is_virtual: bool,
    #[serde(deserialize_with = "object_or_default")]
    product_option: MgProductOption,
    #[serde(deserialize_with = "object_or_default")]
    extension_attributes: MgOrderItemExtension,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgProductOption {
    #[serde(deserialize_with = "object_or_default")]
    extension_attributes: MgProductOptionExtension,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgProductOptionExtension {
    #[serde(deserialize_with = "list_or_empty")]
    configurable_item_options: Vec<MgConfigurableItemOption>,
}

/// The chosen value of one configurable attribute: `option_id` is the attribute id,
/// `option_value` the value's option id.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgConfigurableItemOption {
    #[serde(deserialize_with = "text")]
    option_id: Option<String>,
    #[serde(deserialize_with = "text")]
    option_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgOrderItemExtension {
    #[serde(deserialize_with = "list_or_empty")]
    itemized_taxes: Vec<MgTaxItem>,
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

/// What an order's mapping needs besides the order itself: store settings and the
/// documents Magento keeps apart from the order. The connector reads them once per page of
/// orders (never once per order); `cartgate normalize` has none of them.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderContext<'a> {
    /// The weight unit of the order's store view (`storeConfigs` `weight_unit`); without
    /// it no weight is shown.
    pub weight_unit: Option<WeightUnit>,
    /// Configurable attributes by attribute id (labels of options and values), for the
    /// lines' `variant_options`.
    pub attributes: Option<&'a BTreeMap<String, ConfigurableOption>>,
    /// The order's credit memos (`GET /V1/creditmemos`), when read.
    pub credit_memos: Option<&'a [Value]>,
    /// The order's invoices (`GET /V1/invoices`), when read.
    pub invoices: Option<&'a [Value]>,
    /// The order's shipments (`GET /V1/shipments`), when read.
    pub shipments: Option<&'a [Value]>,
}

/// A percentage (`19`, `8.25`) as the model's fraction (`"0.19"`, `"0.0825"`), exactly.
pub fn rate_fraction(percent: Option<&str>) -> Option<String> {
    let p = decimal(percent?)?;
    Some((p / Decimal::ONE_HUNDRED).normalize().to_string())
}

/// Tax lines summed per (title, rate), in the order first seen.
fn tax_lines<'a>(
    taxes: impl IntoIterator<Item = (Option<String>, Option<String>, Option<&'a str>)>,
    currency: Option<&str>,
) -> Vec<TaxLine> {
    let mut out: Vec<(Option<String>, Option<String>, Option<Decimal>)> = Vec::new();
    for (title, rate, amount) in taxes {
        let amount = amount.and_then(decimal);
        match out.iter_mut().find(|t| t.0 == title && t.1 == rate) {
            Some(t) => {
                t.2 = match (t.2, amount) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                }
            }
            None => out.push((title, rate, amount)),
        }
    }
    out.into_iter()
        .map(|(title, rate, amount)| TaxLine {
            title,
            rate,
            amount: amount.map(|a| scaled(a, currency).to_string()),
        })
        .collect()
}

/// Order-level taxes: the `taxes` Magento 2.4.7+ serves on reads (`sales_order_tax`, one
/// per rate, shipping tax included), else the `applied_taxes` of order placement.
fn order_tax_lines(ext: &MgOrderExtension, currency: Option<&str>) -> Vec<TaxLine> {
    let source = if ext.taxes.is_empty() {
        &ext.applied_taxes
    } else {
        &ext.taxes
    };
    tax_lines(
        source.iter().map(|t| {
            (
                non_empty(t.title.as_deref()).or_else(|| non_empty(t.code.as_deref())),
                rate_fraction(t.percent.as_deref()),
                t.amount.as_deref(),
            )
        }),
        currency,
    )
}

/// A line's taxes: its `itemized_taxes` (2.4.7+; titles from the order's `taxes`), else
/// its entry of `item_applied_taxes`, else one line from its own `tax_percent` and
/// `tax_amount` (without a title) when it was taxed.
fn line_tax_lines(
    item: &MgOrderItem,
    id: &str,
    ext: &MgOrderExtension,
    currency: Option<&str>,
) -> Vec<TaxLine> {
    let itemized = &item.extension_attributes.itemized_taxes;
    if !itemized.is_empty() {
        return tax_lines(
            itemized.iter().map(|t| {
                let order_tax = ext.taxes.iter().find(|o| {
                    id_text(o.tax_id.as_deref()).is_some()
                        && id_text(o.tax_id.as_deref()) == id_text(t.tax_id.as_deref())
                });
                (
                    order_tax
                        .and_then(|o| non_empty(o.title.as_deref()))
                        .or_else(|| non_empty(t.tax_code.as_deref())),
                    rate_fraction(t.tax_percent.as_deref()),
                    t.amount.as_deref(),
                )
            }),
            currency,
        );
    }
    if let Some(applied) = ext.item_applied_taxes.iter().find(|a| {
        a.kind.as_deref().is_none_or(|k| k == "product")
            && id_text(a.item_id.as_deref()).as_deref() == Some(id)
    }) {
        return tax_lines(
            applied.applied_taxes.iter().map(|t| {
                (
                    non_empty(t.title.as_deref()).or_else(|| non_empty(t.code.as_deref())),
                    rate_fraction(t.percent.as_deref()),
                    t.amount.as_deref(),
                )
            }),
            currency,
        );
    }
    let taxed = item
        .tax_amount
        .as_deref()
        .and_then(decimal)
        .is_some_and(|t| !t.is_zero());
    if taxed {
        let rate = rate_fraction(item.tax_percent.as_deref())
            .filter(|r| decimal(r).is_some_and(|d| !d.is_zero()));
        return tax_lines([(None, rate, item.tax_amount.as_deref())], currency);
    }
    Vec::new()
}

/// `{"Color": "Orange", "Size": "M"}` from a configurable line's chosen options, with the
/// labels of the attributes' metadata; options whose attribute or value is unknown are
/// left out.
fn variant_options(
    item: &MgOrderItem,
    attributes: Option<&BTreeMap<String, ConfigurableOption>>,
) -> BTreeMap<String, String> {
    let Some(attributes) = attributes else {
        return BTreeMap::new();
    };
    item.product_option
        .extension_attributes
        .configurable_item_options
        .iter()
        .filter_map(|o| {
            let attr = attributes.get(&id_text(o.option_id.as_deref())?)?;
            let value = attr.values.get(&id_text(o.option_value.as_deref())?)?;
            Some((attr.label.clone(), value.clone()))
        })
        .collect()
}

/// The unified lines: one per top-level Magento line. A configurable product is ordered as
/// a parent line (the configurable product, carrying the chosen child's sku and the price)
/// plus a child line (the simple product, price 0): the child is folded into its parent,
/// whose `variant_id` becomes the child's product id. Bundle children are folded likewise.
fn line_items(o: &MgOrder, currency: Option<&str>, cx: &OrderContext<'_>) -> Result<Vec<LineItem>> {
    let items = &o.items;
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
            tax_total: amount(i.tax_amount.as_deref(), currency),
            tax_lines: line_tax_lines(i, &id, &o.extension_attributes, currency),
            discount_total: i
                .discount_amount
                .as_deref()
                .and_then(decimal)
                .map(|d| scaled(d.abs(), currency).to_string()),
            refunded_quantity: Some(quantity(i.qty_refunded.as_deref())),
            // Virtual items weigh nothing and Magento sends no weight for them.
            weight: Weight::from_parts(i.weight.as_deref(), cx.weight_unit)
                .filter(|_| !i.is_virtual),
            requires_shipping: Some(!i.is_virtual),
            variant_options: variant_options(i, cx.attributes),
            id,
            product_id: id_text(i.product_id.as_deref()),
            variant_id: child.and_then(|c| id_text(c.product_id.as_deref())),
            sku: non_empty(i.sku.as_deref()),
            name: i.name.clone().unwrap_or_default(),
            quantity: quantity(i.qty_ordered.as_deref()),
            unit_price,
            total,
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

/// Magento's offline payment methods, whose title is the first value of the payment's
/// additional information (`method_title`, as Adobe's order samples show).
const OFFLINE_METHODS: [&str; 5] = [
    "checkmo",
    "banktransfer",
    "cashondelivery",
    "purchaseorder",
    "free",
];

fn payment_method(o: &MgOrder) -> Option<PaymentMethod> {
    let code = non_empty(o.payment.method.as_deref())?;
    let keyed = o
        .extension_attributes
        .payment_additional_info
        .iter()
        .find(|kv| kv.key.as_deref() == Some("method_title"))
        .and_then(|kv| non_empty(kv.value.as_deref()));
    let title = keyed.or_else(|| {
        OFFLINE_METHODS
            .contains(&code.as_str())
            .then(|| non_empty(o.payment.additional_information.first().map(String::as_str)))
            .flatten()
    });
    Some(PaymentMethod {
        code: Some(code),
        title,
    })
}

/// The method the buyer chose: `shipping_description` ("Flat Rate - Fixed") and the
/// shipping assignment's method (`flatrate_flatrate`, carrier code before the first `_`).
/// Virtual orders have none.
fn shipping_lines(o: &MgOrder, currency: Option<&str>) -> Vec<ShippingLine> {
    let code = o
        .extension_attributes
        .shipping_assignments
        .iter()
        .find_map(|a| non_empty(a.shipping.method.as_deref()));
    let title = non_empty(o.shipping_description.as_deref());
    if code.is_none() && title.is_none() {
        return Vec::new();
    }
    let carrier = code
        .as_deref()
        .and_then(|c| c.split_once('_').map(|(carrier, _)| carrier).or(Some(c)))
        .and_then(|c| non_empty(Some(c)));
    vec![ShippingLine {
        title,
        carrier,
        code,
        price: amount(o.shipping_amount.as_deref(), currency),
        tax: amount(o.shipping_tax_amount.as_deref(), currency),
    }]
}

/// The coupon codes: `coupon_code`, else Adobe Commerce's `coupon_codes`. Magento does not
/// split a discount by rule: the order's discount is the code's amount only when one code
/// and one rule (one `discount_description` label) made it.
fn discount_codes(o: &MgOrder, currency: Option<&str>) -> Vec<DiscountCode> {
    let mut codes: Vec<String> = Vec::new();
    for c in non_empty(o.coupon_code.as_deref()).into_iter().chain(
        o.extension_attributes
            .coupon_codes
            .iter()
            .filter_map(|c| non_empty(Some(c))),
    ) {
        if !codes.contains(&c) {
            codes.push(c);
        }
    }
    let one_rule = o
        .discount_description
        .as_deref()
        .is_none_or(|d| !d.contains(", "));
    let whole = (codes.len() == 1 && one_rule)
        .then(|| {
            o.discount_amount
                .as_deref()
                .and_then(decimal)
                .map(|d| scaled(d.abs(), currency).to_string())
        })
        .flatten();
    codes
        .into_iter()
        .map(|code| DiscountCode {
            code,
            amount: whole.clone(),
        })
        .collect()
}

/// A credit memo (`sales-data-creditmemo-interface`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgCreditMemo {
    #[serde(deserialize_with = "text")]
    entity_id: Option<String>,
    #[serde(deserialize_with = "text")]
    grand_total: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    items: Vec<MgCreditMemoItem>,
    #[serde(deserialize_with = "list_or_empty")]
    comments: Vec<MgStatusHistory>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgCreditMemoItem {
    #[serde(deserialize_with = "text")]
    order_item_id: Option<String>,
    #[serde(deserialize_with = "text")]
    qty: Option<String>,
    #[serde(deserialize_with = "text")]
    row_total: Option<String>,
    #[serde(deserialize_with = "text")]
    discount_amount: Option<String>,
}

/// The refunds of an order from its credit memos, oldest first: the memo's `grand_total`
/// (positive, as Magento keeps it), its first comment as the reason, and per refunded
/// line (quantity > 0) `row_total` − `discount_amount`. Memo items of child lines
/// (configurable or bundle children) count towards their parent line.
fn refunds(o: &MgOrder, memos: &[Value], currency: Option<&str>) -> Result<Vec<Refund>> {
    let parent_of: BTreeMap<String, String> = o
        .items
        .iter()
        .filter_map(|i| {
            Some((
                id_text(i.item_id.as_deref())?,
                id_text(i.parent_item_id.as_deref())?,
            ))
        })
        .collect();
    let mut out = Vec::new();
    for raw in memos {
        let m: MgCreditMemo = parse(raw, "Magento credit memo")?;
        let id = require_id(m.entity_id.as_deref(), "Magento credit memo")?;
        // (line id, quantity of the line itself, amount)
        let mut lines: Vec<(String, Option<i64>, Decimal)> = Vec::new();
        for item in &m.items {
            let Some(item_id) = id_text(item.order_item_id.as_deref()) else {
                continue;
            };
            let qty = quantity(item.qty.as_deref());
            if qty <= 0 {
                continue;
            }
            let line = parent_of.get(&item_id).cloned();
            let is_child = line.is_some();
            let line = line.unwrap_or(item_id);
            let amount =
                dec(item.row_total.as_deref()) - dec(item.discount_amount.as_deref()).abs();
            let own = (!is_child).then_some(qty);
            match lines.iter_mut().find(|l| l.0 == line) {
                Some(l) => {
                    l.1 = l.1.or(own);
                    l.2 += amount;
                }
                None => lines.push((line, own, amount)),
            }
        }
        let line_items = lines
            .into_iter()
            .map(|(line_item_id, qty, amount)| RefundLine {
                line_item_id,
                quantity: qty.unwrap_or(0),
                amount: Some(scaled(amount, currency).to_string()),
            })
            .filter(|l| l.quantity > 0)
            .collect();
        out.push(Refund {
            id,
            amount: m
                .grand_total
                .as_deref()
                .and_then(decimal)
                .map(|d| scaled(d.abs(), currency).to_string()),
            reason: m
                .comments
                .iter()
                .min_by_key(|c| {
                    (
                        utc_time(c.created_at.as_deref()),
                        numeric(c.entity_id.as_deref()),
                    )
                })
                .and_then(|c| non_empty(c.comment.as_deref())),
            created_at: utc_time(m.created_at.as_deref()),
            line_items,
        });
    }
    out.sort_by_key(|r| (r.created_at, numeric(Some(&r.id))));
    Ok(out)
}

fn numeric(s: Option<&str>) -> i64 {
    s.and_then(|x| x.trim().parse::<i64>().ok()).unwrap_or(0)
}

/// An invoice (`sales-data-invoice-interface`); `state` 2 is paid.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgInvoice {
    #[serde(deserialize_with = "text")]
    state: Option<String>,
    #[serde(deserialize_with = "text")]
    created_at: Option<String>,
}

/// When the order became paid: the newest paid invoice, once the order is paid in full
/// (`total_paid` ≥ `grand_total`).
fn paid_at(o: &MgOrder, invoices: &[Value]) -> Result<Option<DateTime<Utc>>> {
    let paid_in_full = o.total_paid.as_deref().and_then(decimal).is_some()
        && dec(o.total_paid.as_deref()) >= dec(o.grand_total.as_deref());
    if !paid_in_full {
        return Ok(None);
    }
    let mut newest = None;
    for raw in invoices {
        let i: MgInvoice = parse(raw, "Magento invoice")?;
        if i.state.as_deref().map(str::trim) == Some("2") {
            newest = newest.max(utc_time(i.created_at.as_deref()));
        }
    }
    Ok(newest)
}

/// Maps one Magento order (`GET /V1/orders/{id}` or an item of `GET /V1/orders`) alone, as
/// `cartgate normalize` does: see [`order_with`].
pub fn order(raw: &Value) -> Result<Order> {
    order_with(raw, &OrderContext::default())
}

/// Maps one Magento order with what the connector read beside it (see [`OrderContext`]):
/// without credit memos `refunds` is empty, without invoices `paid_at` is null, without
/// shipments `shipments` is empty and `fulfilled_at` null, without the store's weight unit
/// weights are null, without attribute labels `variant_options` are empty.
pub fn order_with(raw: &Value, cx: &OrderContext<'_>) -> Result<Order> {
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
    // Staff notes: the newest comment of the order's history (the buyer's own note is
    // `customer_note`).
    let note = o
        .status_histories
        .iter()
        .filter(|h| non_empty(h.comment.as_deref()).is_some())
        .max_by_key(|h| {
            (
                utc_time(h.created_at.as_deref()),
                numeric(h.entity_id.as_deref()),
            )
        })
        .and_then(|h| non_empty(h.comment.as_deref()));
    let fulfillment_status = fulfillment_status(&o.items, state.as_deref());
    let mut shipments = Vec::new();
    let mut fulfilled_at = None;
    if let Some(raw_shipments) = cx.shipments {
        let mut newest = None;
        for s in raw_shipments {
            shipments.extend(self::shipments(s)?);
            let created = s.get("created_at").and_then(Value::as_str);
            newest = newest.max(utc_time(created));
        }
        if fulfillment_status == FulfillmentStatus::Fulfilled {
            fulfilled_at = newest;
        }
    }
    let refunds = match cx.credit_memos {
        Some(m) => refunds(&o, m, cur)?,
        None => Vec::new(),
    };
    let refunded_total = match o.total_refunded.as_deref().and_then(decimal) {
        Some(t) => Some(scaled(t.abs(), cur).to_string()),
        // Magento leaves `total_refunded` unset until a credit memo is made.
        None => Some(
            scaled(
                refunds
                    .iter()
                    .filter_map(|r| r.amount.as_deref().and_then(decimal))
                    .sum(),
                cur,
            )
            .to_string(),
        ),
    };
    let paid_at = match cx.invoices {
        Some(i) => paid_at(&o, i)?,
        None => None,
    };
    // Magento keeps every amount both ways (`price`/`price_incl_tax`,
    // `subtotal`/`subtotal_incl_tax`) whatever the catalog's tax setting; cartgate maps the
    // tax-exclusive ones.
    let prices_include_tax = (o.subtotal_incl_tax.is_some()
        || o.items.iter().any(|i| i.price_incl_tax.is_some()))
    .then_some(false);
    Ok(Order {
        id,
        number: non_empty(o.increment_id.as_deref()),
        status: order_status(state.as_deref(), status.as_deref()),
        payment_status: payment_status(&o, state.as_deref()),
        fulfillment_status,
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
        line_items: line_items(&o, cur, cx)?,
        shipments,
        shipping_lines: shipping_lines(&o, cur),
        payment_method: payment_method(&o),
        prices_include_tax,
        tax_lines: order_tax_lines(&o.extension_attributes, cur),
        discount_codes: discount_codes(&o, cur),
        refunds,
        refunded_total,
        total_weight: Weight::from_parts(o.weight.as_deref(), cx.weight_unit),
        // Magento orders have no tags.
        tags: Vec::new(),
        note,
        customer_note: non_empty(o.customer_note.as_deref()),
        paid_at,
        fulfilled_at,
        created_at: utc_time(o.created_at.as_deref()),
        updated_at: utc_time(o.updated_at.as_deref()),
        raw: None,
    })
}

/// The store id of a raw order (its store view), to pick the store's settings.
pub fn order_store_id(raw: &Value) -> Option<String> {
    id_text(Some(&match raw.get("store_id")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    }))
}

/// The attribute ids of the configurable options chosen on a raw order's lines.
pub fn order_option_attributes(raw: &Value) -> Vec<String> {
    let Ok(o) = parse::<MgOrder>(raw, "Magento order") else {
        return Vec::new();
    };
    let mut ids: Vec<String> = o
        .items
        .iter()
        .flat_map(|i| {
            &i.product_option
                .extension_attributes
                .configurable_item_options
        })
        .filter_map(|c| id_text(c.option_id.as_deref()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Which of the documents kept apart from the order a raw order has: (credit memos,
/// invoices, shipments). Magento counts every credit memo in `total_refunded`, every
/// invoice in the lines' `qty_invoiced` (and `total_invoiced`, 0 for a free order) and
/// every shipment in the lines' `qty_shipped`, so an order without them needs no search.
pub fn order_documents(raw: &Value) -> (bool, bool, bool) {
    let Ok(o) = parse::<MgOrder>(raw, "Magento order") else {
        return (false, false, false);
    };
    let positive = |s: Option<&str>| s.and_then(decimal).is_some_and(|d| !d.is_zero());
    (
        positive(o.total_refunded.as_deref()),
        positive(o.total_invoiced.as_deref())
            || positive(o.total_paid.as_deref())
            || o.items.iter().any(|i| positive(i.qty_invoiced.as_deref())),
        o.items.iter().any(|i| positive(i.qty_shipped.as_deref())),
    )
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
    weight: Option<String>,
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
    /// The store view's weight unit (`storeConfigs` `weight_unit`); without it no weight.
    pub weight_unit: Option<WeightUnit>,
    /// Where the product's stock is (a product without variants).
    pub stock: Stock,
    /// The variants (configurable products), already mapped with [`variant`].
    pub variants: Vec<Variant>,
}

/// Where the store keeps an item's stock, as the connector found out.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Stock {
    /// Not known (a lone payload): the legacy stock item's quantity, no levels.
    #[default]
    Unknown,
    /// A store without MSI: one stock, the `default` location.
    SingleStock,
    /// MSI: the item's source items (`GET /V1/inventory/source-items`), one level per
    /// source it is assigned to.
    Sources(Vec<InventoryLevel>),
}

/// The location id of a store without MSI (Magento's one legacy stock), the same as MSI's
/// default source.
pub const DEFAULT_LOCATION: &str = "default";

/// The quantity and levels of an item whose legacy stock item says `legacy` (`None`: stock
/// not managed, so neither).
pub fn stock_levels(legacy: Option<i64>, stock: &Stock) -> (Option<i64>, Vec<InventoryLevel>) {
    let Some(q) = legacy else {
        return (None, Vec::new());
    };
    match stock {
        Stock::Unknown => (Some(q), Vec::new()),
        Stock::SingleStock => (
            Some(q),
            vec![InventoryLevel {
                location_id: DEFAULT_LOCATION.into(),
                available: q,
            }],
        ),
        Stock::Sources(levels) => (
            Some(levels.iter().map(|l| l.available).sum()),
            levels.clone(),
        ),
    }
}

/// MSI source items (`inventory-api-data-source-item-interface`) as levels per SKU, in the
/// order Magento lists them; quantities are whole units (rounded down).
pub fn source_item_levels(items: &[Value]) -> BTreeMap<String, Vec<InventoryLevel>> {
    use rust_decimal::prelude::ToPrimitive;
    let mut out: BTreeMap<String, Vec<InventoryLevel>> = BTreeMap::new();
    for i in items {
        let (Some(sku), Some(source)) = (
            i.get("sku")
                .and_then(Value::as_str)
                .and_then(|s| non_empty(Some(s))),
            i.get("source_code")
                .and_then(Value::as_str)
                .and_then(|s| non_empty(Some(s))),
        ) else {
            continue;
        };
        let qty = match i.get("quantity") {
            Some(Value::Number(n)) => decimal(&n.to_string()),
            Some(Value::String(s)) => decimal(s),
            _ => None,
        }
        .and_then(|d| d.floor().to_i64())
        .unwrap_or(0);
        let levels = out.entry(sku).or_default();
        if !levels.iter().any(|l| l.location_id == source) {
            levels.push(InventoryLevel {
                location_id: source,
                available: qty,
            });
        }
    }
    out
}

/// An MSI source (`inventory-api-data-source-interface`) as a location: its code is the
/// id inventory levels refer to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MgSource {
    #[serde(deserialize_with = "text")]
    source_code: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    enabled: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    street: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    city: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    region: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    postcode: Option<String>,
    #[serde(deserialize_with = "text")]
    country_id: Option<String>,
    #[serde(deserialize_with = "text")]
    phone: Option<String>,
    #[serde(deserialize_with = "text")]
    email: Option<String>,
}

/// Maps one MSI source to a location; `enabled` false makes it inactive.
pub fn location(raw: &Value) -> Result<Location> {
    let s: MgSource = parse(raw, "Magento inventory source")?;
    let id = non_empty(s.source_code.as_deref()).ok_or_else(|| {
        ConnectorError::bad_body("Magento inventory source", "it has no source_code")
    })?;
    let address = Address {
        line1: non_empty(s.street.as_deref()),
        city: non_empty(s.city.as_deref()),
        region: non_empty(s.region.as_deref()),
        postal_code: non_empty(s.postcode.as_deref()),
        country_code: non_empty(s.country_id.as_deref()).map(|c| c.to_ascii_uppercase()),
        phone: phone(s.phone.as_deref()),
        email: non_empty(s.email.as_deref()),
        ..Default::default()
    };
    Ok(Location {
        id,
        name: non_empty(s.name.as_deref()),
        address: (!address.is_empty()).then_some(address),
        active: !matches!(s.enabled.as_deref().map(str::trim), Some("false" | "0")),
    })
}

/// The one location of a store without MSI: Magento's legacy stock.
pub fn single_stock_location() -> Location {
    Location {
        id: DEFAULT_LOCATION.into(),
        name: Some("Default Stock".into()),
        address: None,
        active: true,
    }
}

/// Magento's product types without anything to ship.
fn ships(type_id: Option<&str>) -> Option<bool> {
    type_id.map(|t| !matches!(t, "virtual" | "downloadable"))
}

/// What a variant's mapping needs besides the child product.
#[derive(Debug, Clone, Default)]
pub struct VariantContext<'a> {
    /// The configurable options of the parent, with their labels.
    pub options: &'a [ConfigurableOption],
    /// The child's legacy stock quantity (the children route carries no stock item: the
    /// connector reads it by a product search); `None` when stock is not managed.
    pub quantity: Option<i64>,
    pub stock: Stock,
    pub currency: Option<&'a str>,
    pub weight_unit: Option<WeightUnit>,
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
pub fn variant(raw: &Value, cx: &VariantContext<'_>) -> Result<Variant> {
    let p: MgProduct = parse(raw, "Magento child product")?;
    let id = require_id(p.id.as_deref(), "Magento child product")?;
    let opts: BTreeMap<String, String> = cx
        .options
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
    let legacy = cx
        .quantity
        .or_else(|| stock_qty(&p.extension_attributes.stock_item));
    let (quantity, inventory_levels) = stock_levels(legacy, &cx.stock);
    Ok(Variant {
        id,
        sku: non_empty(p.sku.as_deref()),
        name: non_empty(p.name.as_deref()),
        price: amount(p.price.as_deref(), cx.currency),
        quantity,
        options: opts,
        // Magento has no standard barcode or dimension attributes.
        barcode: None,
        weight: Weight::from_parts(p.weight.as_deref(), cx.weight_unit),
        dimensions: None,
        requires_shipping: ships(p.type_id.as_deref()),
        inventory_levels,
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
    let (quantity, inventory_levels) = if configurable {
        // Stock is the children's: the variants carry the levels.
        let qs: Vec<i64> = cx.variants.iter().filter_map(|v| v.quantity).collect();
        ((!qs.is_empty()).then(|| qs.iter().sum()), Vec::new())
    } else {
        stock_levels(stock_qty(&p.extension_attributes.stock_item), &cx.stock)
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
        weight: Weight::from_parts(p.weight.as_deref(), cx.weight_unit),
        dimensions: None,
        requires_shipping: ships(p.type_id.as_deref()),
        inventory_levels,
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

/// Refuses what Magento cannot store: it has no standard barcode (GTIN) or dimension
/// attributes.
pub fn refuse_unwritable(barcode: &Option<String>, dimensions: &Option<Dimensions>) -> Result<()> {
    if barcode.is_some() {
        return Err(ConnectorError::Unsupported(
            "Magento has no barcode field: \"barcode\" cannot be written (a store's own attribute can be set through the proxy)".into(),
        ));
    }
    if dimensions.is_some() {
        return Err(ConnectorError::Unsupported(
            "Magento has no dimension fields: \"dimensions\" cannot be written".into(),
        ));
    }
    Ok(())
}

/// A weight in the store's unit, as Magento's `weight` attribute (a number, 4 decimals).
pub fn weight_value(w: &Weight, store_unit: WeightUnit) -> Result<Value> {
    let v = w.value_in(store_unit)?;
    serde_json::from_str::<serde_json::Number>(&v)
        .map(Value::Number)
        .map_err(|_| ConnectorError::Validation(format!("weight {v:?} is out of range")))
}

/// `PUT /V1/products/{sku}` body with only the fields present (`sku` renames the product).
/// Quantity is not part of it: Magento's stock lives in stock items / source items. A
/// weight is converted to `weight_unit`, the store's.
pub fn product_update_body(
    sku: &str,
    u: &ProductUpdate,
    weight_unit: Option<WeightUnit>,
) -> Result<Value> {
    refuse_unwritable(&u.barcode, &u.dimensions)?;
    let mut product = Map::new();
    product.insert("sku".into(), json!(sku));
    if let Some(w) = &u.weight {
        let unit = weight_unit.ok_or_else(|| {
            ConnectorError::upstream(None, "Magento's store configuration names no weight unit")
        })?;
        product.insert("weight".into(), weight_value(w, unit)?);
    }
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

/// `POST /V1/inventory/source-items` body (MSI): one source item per `(source, quantity)`,
/// in stock when the quantity is positive.
pub fn source_items_body(sku: &str, levels: &[(String, i64)]) -> Value {
    let items: Vec<Value> = levels
        .iter()
        .map(|(source, qty)| {
            json!({
                "sku": sku,
                "source_code": source,
                "quantity": qty,
                "status": i32::from(*qty > 0),
            })
        })
        .collect();
    json!({ "sourceItems": items })
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

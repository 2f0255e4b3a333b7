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
    decimal, flag, id_text, int, list_or_empty, object_or_default, parse, plain_text, require_id,
    text, with_scale_of,
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
    #[serde(deserialize_with = "text")]
    date_completed_gmt: Option<String>,
    #[serde(deserialize_with = "opt_flag")]
    prices_include_tax: Option<bool>,
    #[serde(deserialize_with = "text")]
    payment_method: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    payment_method_title: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    tax_lines: Vec<WcTaxLine>,
    #[serde(deserialize_with = "list_or_empty")]
    shipping_lines: Vec<WcShippingLine>,
    #[serde(deserialize_with = "list_or_empty")]
    coupon_lines: Vec<WcCouponLine>,
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
    #[serde(deserialize_with = "text")]
    total_tax: Option<String>,
    /// One entry per tax rate: `{id: rate_id, total, subtotal}`.
    #[serde(deserialize_with = "list_or_empty")]
    taxes: Vec<WcLineTax>,
    #[serde(deserialize_with = "list_or_empty")]
    meta_data: Vec<WcMeta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcLineTax {
    /// The tax rate's id (`tax_lines[].rate_id`).
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    /// After discounts; `""` for a rate that no longer applies.
    #[serde(deserialize_with = "text")]
    total: Option<String>,
}

/// `meta_data[]` of an order item. WooCommerce 4.x and later add `display_key` and
/// `display_value` (the attribute's label and the term's name, tags stripped).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcMeta {
    #[serde(deserialize_with = "text")]
    key: Option<String>,
    /// Objects and lists (plugins' structured meta) read as absent.
    #[serde(deserialize_with = "plain_text")]
    value: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    display_key: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    display_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcTaxLine {
    #[serde(deserialize_with = "text")]
    rate_id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    label: Option<String>,
    /// A number (`19`, `7.5`) since WooCommerce 3.7; older orders lack it.
    #[serde(deserialize_with = "text")]
    rate_percent: Option<String>,
    /// Without shipping tax.
    #[serde(deserialize_with = "text")]
    tax_total: Option<String>,
    #[serde(deserialize_with = "text")]
    shipping_tax_total: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcShippingLine {
    #[serde(deserialize_with = "plain_text")]
    method_title: Option<String>,
    #[serde(deserialize_with = "text")]
    method_id: Option<String>,
    #[serde(deserialize_with = "text")]
    total: Option<String>,
    #[serde(deserialize_with = "text")]
    total_tax: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcCouponLine {
    /// Coupon codes are lower-cased slugs, not text to decode.
    #[serde(deserialize_with = "text")]
    code: Option<String>,
    /// Before tax.
    #[serde(deserialize_with = "text")]
    discount: Option<String>,
}

/// The order's own summary of a refund, `refunds[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcRefund {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    reason: Option<String>,
    /// Negative, e.g. `"-10.00"`.
    #[serde(deserialize_with = "text")]
    total: Option<String>,
}

/// A refund resource (`GET /wc/v3/refunds`, `GET /wc/v3/orders/{id}/refunds`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcRefundDetail {
    #[serde(deserialize_with = "text")]
    id: Option<String>,
    #[serde(deserialize_with = "text")]
    date_created_gmt: Option<String>,
    /// Positive here, unlike the order's `refunds[].total`.
    #[serde(deserialize_with = "text")]
    amount: Option<String>,
    #[serde(deserialize_with = "plain_text")]
    reason: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    line_items: Vec<WcRefundLine>,
}

/// A refunded line: negative quantity and amounts, and the order line it gives back in the
/// meta `_refunded_item_id`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcRefundLine {
    #[serde(deserialize_with = "int")]
    quantity: Option<i64>,
    #[serde(deserialize_with = "text")]
    total: Option<String>,
    #[serde(deserialize_with = "text")]
    total_tax: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    meta_data: Vec<WcMeta>,
}

/// A boolean that may be absent (`None`), sent as `true`/`false`, `1`/`0` or `"yes"`/`"no"`.
fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    Ok(text(d)?.and_then(|s| match s.trim() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }))
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

/// A decimal percentage (`19`, `7.5`) as the unified fraction (`"0.19"`, `"0.075"`).
fn rate_fraction(percent: Option<&str>) -> Option<String> {
    let p = decimal(percent?)?;
    Some((p / Decimal::ONE_HUNDRED).normalize().to_string())
}

/// An amount WooCommerce stores negative (refunds), as a positive one with its scale.
fn positive(s: Option<&str>) -> Option<String> {
    decimal(s?).map(|d| d.abs().to_string())
}

/// The order's tax rates by `rate_id`: (title, rate fraction).
fn tax_rates(o: &WcOrder) -> BTreeMap<String, (Option<String>, Option<String>)> {
    o.tax_lines
        .iter()
        .filter_map(|t| {
            Some((
                id_text(t.rate_id.as_deref())?,
                (
                    non_empty(t.label.as_deref()),
                    rate_fraction(t.rate_percent.as_deref()),
                ),
            ))
        })
        .collect()
}

/// Order-level taxes: each `tax_lines[]` entry with its shipping tax added, entries of the
/// same title and rate summed (WooCommerce keeps one per rate id, and two rate ids may
/// share both, e.g. the same VAT in two regions).
fn order_tax_lines(o: &WcOrder) -> Vec<TaxLine> {
    let mut out: Vec<(TaxLine, Option<Decimal>)> = Vec::new();
    for t in &o.tax_lines {
        let title = non_empty(t.label.as_deref());
        let rate = rate_fraction(t.rate_percent.as_deref());
        // `None` when an amount is unreadable: no number rather than a wrong one.
        let amount = [t.tax_total.as_deref(), t.shipping_tax_total.as_deref()]
            .into_iter()
            .try_fold(Decimal::ZERO, |sum, s| match s.map(str::trim) {
                None | Some("") => Some(sum),
                Some(v) => Some(sum + decimal(v)?),
            });
        match out
            .iter_mut()
            .find(|(l, _)| l.title == title && l.rate == rate)
        {
            Some((_, sum)) => *sum = sum.zip(amount).map(|(a, b)| a + b),
            None => out.push((
                TaxLine {
                    title,
                    rate,
                    amount: None,
                },
                amount,
            )),
        }
    }
    out.into_iter()
        .map(|(mut l, sum)| {
            l.amount = sum.map(|d| d.to_string());
            l
        })
        .collect()
}

/// A variation line's options from its meta (`pa_size: m` shown as `Size: M`); empty for
/// simple products. Keys starting with `_` are WooCommerce's own, not options.
fn line_options(l: &WcLineItem) -> BTreeMap<String, String> {
    if id_text(l.variation_id.as_deref()).is_none() {
        return BTreeMap::new();
    }
    l.meta_data
        .iter()
        .filter(|m| m.key.as_deref().is_some_and(|k| !k.starts_with('_')))
        .filter_map(|m| {
            let key = m.key.as_deref()?;
            let name = non_empty(m.display_key.as_deref())
                .or_else(|| non_empty(Some(key.strip_prefix("pa_").unwrap_or(key))))?;
            let value =
                non_empty(m.display_value.as_deref()).or_else(|| non_empty(m.value.as_deref()))?;
            Some((name, value))
        })
        .collect()
}

fn line_item(
    l: &WcLineItem,
    rates: &BTreeMap<String, (Option<String>, Option<String>)>,
    has_refunds: bool,
) -> Result<LineItem> {
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
    let total = l.total.as_deref().and_then(decimal);
    let tax_lines = l
        .taxes
        .iter()
        .filter_map(|t| {
            let amount = money(t.total.as_deref())?;
            let (title, rate) = id_text(t.id.as_deref())
                .and_then(|id| rates.get(&id).cloned())
                .unwrap_or_default();
            Some(TaxLine {
                title,
                rate,
                amount: Some(amount),
            })
        })
        .collect();
    Ok(LineItem {
        id,
        product_id: id_text(l.product_id.as_deref()),
        variant_id: id_text(l.variation_id.as_deref()),
        sku: non_empty(l.sku.as_deref()),
        name: l.name.clone().unwrap_or_default(),
        quantity,
        unit_price,
        total: money(l.total.as_deref()),
        tax_total: money(l.total_tax.as_deref()),
        tax_lines,
        // subtotal is before discounts, total after.
        discount_total: sub
            .zip(total)
            .map(|(s, t)| with_scale_of(s - t, Some(s)).to_string()),
        // Which lines a refund gave back is on the refund resources ([`attach_refunds`]).
        refunded_quantity: (!has_refunds).then_some(0),
        // WooCommerce's line items carry neither weight nor whether they ship.
        weight: None,
        requires_shipping: None,
        variant_options: line_options(l),
    })
}

/// Maps one wc/v3 order (`GET /wc/v3/orders/{id}`). Shipments are not part of the order
/// resource: the connector adds them with [`attach_shipments`]; which lines were refunded
/// is on the refund resources, added with [`attach_refunds`] (until then each refund has
/// no `created_at` and no lines, and lines of a refunded order no `refunded_quantity`).
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
    let rates = tax_rates(&o);
    let line_items = o
        .line_items
        .iter()
        .map(|l| line_item(l, &rates, !o.refunds.is_empty()))
        .collect::<Result<Vec<_>>>()?;
    let refunds: Vec<Refund> = o
        .refunds
        .iter()
        .filter_map(|r| {
            Some(Refund {
                id: id_text(r.id.as_deref())?,
                amount: positive(r.total.as_deref()),
                reason: non_empty(r.reason.as_deref()),
                created_at: None,
                line_items: Vec::new(),
            })
        })
        .collect();
    // Exact, with the store's scale; zero with the order total's scale when none.
    let refunded_total = o
        .refunds
        .iter()
        .try_fold(Decimal::ZERO, |sum, r| {
            Some(sum + decimal(r.total.as_deref()?)?.abs())
        })
        .map(|sum| with_scale_of(sum, o.total.as_deref().and_then(decimal)).to_string());
    let payment_method = PaymentMethod {
        code: non_empty(o.payment_method.as_deref()),
        title: non_empty(o.payment_method_title.as_deref()),
    };
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
        shipping_lines: o
            .shipping_lines
            .iter()
            .map(|s| ShippingLine {
                title: non_empty(s.method_title.as_deref()),
                code: non_empty(s.method_id.as_deref()),
                // WooCommerce's methods (flat rate, free shipping, local pickup) name no
                // carrier.
                carrier: None,
                price: money(s.total.as_deref()),
                tax: money(s.total_tax.as_deref()),
            })
            .collect(),
        payment_method: (payment_method.code.is_some() || payment_method.title.is_some())
            .then_some(payment_method),
        prices_include_tax: o.prices_include_tax,
        tax_lines: order_tax_lines(&o),
        discount_codes: o
            .coupon_lines
            .iter()
            .filter_map(|c| {
                Some(DiscountCode {
                    code: non_empty(c.code.as_deref())?,
                    amount: money(c.discount.as_deref()),
                })
            })
            .collect(),
        refunds,
        refunded_total,
        // WooCommerce orders have no weight and no tags.
        total_weight: None,
        tags: Vec::new(),
        // Staff notes are order notes, a separate resource (GET …/orders/{id}/notes).
        note: None,
        customer_note: non_empty(o.customer_note.as_deref()),
        paid_at: utc_time(o.date_paid_gmt.as_deref()),
        fulfilled_at: utc_time(o.date_completed_gmt.as_deref()),
        created_at: utc_time(o.date_created_gmt.as_deref()),
        updated_at: utc_time(o.date_modified_gmt.as_deref()),
        raw: None,
    })
}

/// Completes an order's refunds from the refund resources (`GET /wc/v3/refunds`, or the
/// order's `GET /wc/v3/orders/{id}/refunds`): the date, the lines each gave back (the
/// refund line's `_refunded_item_id` meta names the order line) and each line's
/// `refunded_quantity`. Refunds of other orders in `details` are ignored. When a refund of
/// the order is missing from `details` (deleted meanwhile), lines keep `refunded_quantity`
/// null rather than a wrong count.
pub fn attach_refunds(order: &mut Order, details: &[Value]) -> Result<()> {
    let mut found = 0;
    for raw in details {
        let d: WcRefundDetail = parse(raw, "WooCommerce refund")?;
        let Some(id) = id_text(d.id.as_deref()) else {
            continue;
        };
        let Some(r) = order.refunds.iter_mut().find(|r| r.id == id) else {
            continue;
        };
        found += 1;
        r.created_at = utc_time(d.date_created_gmt.as_deref());
        if let Some(amount) = positive(d.amount.as_deref()) {
            r.amount = Some(amount);
        }
        if let Some(reason) = non_empty(d.reason.as_deref()) {
            r.reason = Some(reason);
        }
        r.line_items = d
            .line_items
            .iter()
            .filter_map(|l| {
                let line_item_id = l
                    .meta_data
                    .iter()
                    .find(|m| m.key.as_deref() == Some("_refunded_item_id"))
                    .and_then(|m| id_text(m.value.as_deref()))?;
                // The line's refund with its tax: what the buyer got back for it.
                let amount = match (
                    l.total.as_deref().and_then(decimal),
                    l.total_tax.as_deref().map(str::trim),
                ) {
                    (Some(t), None | Some("")) => Some(t.abs()),
                    (Some(t), Some(tax)) => decimal(tax).map(|x| t.abs() + x.abs()),
                    (None, _) => None,
                };
                Some(RefundLine {
                    line_item_id,
                    quantity: l.quantity.unwrap_or(0).abs(),
                    amount: amount.map(|a| a.to_string()),
                })
            })
            .collect();
    }
    if found == order.refunds.len() {
        for line in &mut order.line_items {
            let n = order
                .refunds
                .iter()
                .flat_map(|r| &r.line_items)
                .filter(|l| l.line_item_id == line.id)
                .map(|l| l.quantity)
                .sum();
            line.refunded_quantity = Some(n);
        }
    }
    Ok(())
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
    /// In the store's weight unit; `""` when not set.
    #[serde(deserialize_with = "text")]
    weight: Option<String>,
    #[serde(deserialize_with = "object_or_default")]
    dimensions: WcDimensions,
    #[serde(deserialize_with = "flag", rename = "virtual")]
    is_virtual: bool,
    /// GTIN, UPC, EAN or ISBN, since WooCommerce 9.2.
    #[serde(deserialize_with = "plain_text")]
    global_unique_id: Option<String>,
}

/// In the store's dimension unit; each `""` when not set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcDimensions {
    #[serde(deserialize_with = "text")]
    length: Option<String>,
    #[serde(deserialize_with = "text")]
    width: Option<String>,
    #[serde(deserialize_with = "text")]
    height: Option<String>,
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
    /// In the store's weight unit; `""` when not set.
    #[serde(deserialize_with = "text")]
    weight: Option<String>,
    #[serde(deserialize_with = "object_or_default")]
    dimensions: WcDimensions,
    #[serde(deserialize_with = "flag", rename = "virtual")]
    is_virtual: bool,
    /// GTIN, UPC, EAN or ISBN, since WooCommerce 9.2.
    #[serde(deserialize_with = "plain_text")]
    global_unique_id: Option<String>,
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

/// The id of WooCommerce's one stock location: wc/v3 keeps one stock number per product
/// or variation, so a store has exactly one place stock is kept.
pub const DEFAULT_LOCATION: &str = "default";

/// WooCommerce's dimension units: the unified ones and yards, which the unified model
/// does not have (sides in yards are read and written as inches, 1 yd = 36 in exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionUnit {
    Unit(LengthUnit),
    Yard,
}

impl DimensionUnit {
    /// `woocommerce_dimension_unit`: `m`, `cm`, `mm`, `in` or `yd`.
    pub fn parse(word: &str) -> Option<DimensionUnit> {
        match word.trim().to_ascii_lowercase().as_str() {
            "yd" | "yard" | "yards" => Some(DimensionUnit::Yard),
            other => LengthUnit::parse(other).map(DimensionUnit::Unit),
        }
    }
}

const INCHES_PER_YARD: i64 = 36;

/// The store's measurement units, from its product settings (`woocommerce_weight_unit`,
/// `woocommerce_dimension_unit`). `None` where unknown: weights and dimensions then read
/// as `null` and cannot be written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Units {
    pub weight: Option<WeightUnit>,
    pub dimension: Option<DimensionUnit>,
}

impl Units {
    /// From `GET /wc/v3/settings/products` (a list of `{id, value, …}`); settings missing or
    /// naming a unit cartgate does not know stay `None`.
    pub fn from_settings(settings: &Value) -> Units {
        let value = |id: &str| {
            settings
                .as_array()?
                .iter()
                .find(|s| s.get("id").and_then(Value::as_str) == Some(id))?
                .get("value")?
                .as_str()
                .map(str::to_owned)
        };
        Units {
            weight: value("woocommerce_weight_unit").and_then(|w| WeightUnit::parse(&w)),
            dimension: value("woocommerce_dimension_unit").and_then(|d| DimensionUnit::parse(&d)),
        }
    }
}

impl WcDimensions {
    fn unified(&self, units: &Units) -> Option<Dimensions> {
        let (l, w, h) = (
            self.length.as_deref(),
            self.width.as_deref(),
            self.height.as_deref(),
        );
        match units.dimension? {
            DimensionUnit::Unit(unit) => Dimensions::from_parts(l, w, h, Some(unit)),
            DimensionUnit::Yard => {
                // Exact: the same lengths in inches.
                let inches = |s: Option<&str>| {
                    decimal(s?).map(|y| (y * Decimal::from(INCHES_PER_YARD)).to_string())
                };
                let (l, w, h) = (inches(l), inches(w), inches(h));
                Dimensions::from_parts(
                    l.as_deref(),
                    w.as_deref(),
                    h.as_deref(),
                    Some(LengthUnit::In),
                )
            }
        }
    }
}

/// One level at the one location, when the stock is counted.
fn levels(quantity: Option<i64>) -> Vec<InventoryLevel> {
    quantity
        .map(|available| InventoryLevel {
            location_id: DEFAULT_LOCATION.to_owned(),
            available,
        })
        .into_iter()
        .collect()
}

/// Maps one variation (`GET /wc/v3/products/{id}/variations`). A variation without its
/// own weight or dimensions is served with its parent's (WooCommerce's `view` context).
pub fn variant(raw: &Value, units: &Units) -> Result<Variant> {
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
    let quantity = v.stock_quantity.filter(|_| v.manage_stock);
    Ok(Variant {
        id,
        sku: non_empty(v.sku.as_deref()),
        name,
        price: money(v.price.as_deref()),
        quantity,
        options,
        barcode: non_empty(v.global_unique_id.as_deref()),
        weight: Weight::from_parts(v.weight.as_deref(), units.weight),
        dimensions: v.dimensions.unified(units),
        // WooCommerce ships everything that is not virtual (`needs_shipping()`): a
        // downloadable product that is not virtual still ships.
        requires_shipping: Some(!v.is_virtual),
        inventory_levels: levels(quantity),
    })
}

/// Maps one product with its variations (empty for anything but a variable product).
/// `currency` is the store's: wc products carry no currency of their own; `units` are the
/// store's measurement units (weights and dimensions are numbers without a unit).
pub fn product(
    raw: &Value,
    variations: &[Value],
    currency: Option<&str>,
    units: &Units,
) -> Result<Product> {
    let p: WcProduct = parse(raw, "WooCommerce product")?;
    let id = require_id(p.id.as_deref(), "WooCommerce product")?;
    let platform_status = non_empty(p.status.as_deref());
    // Without stock management WooCommerce reports only in/out of stock, no number.
    let quantity = p.stock_quantity.filter(|_| p.manage_stock);
    Ok(Product {
        id,
        name: p.name.clone().unwrap_or_default(),
        description: non_empty(p.description.as_deref()),
        sku: non_empty(p.sku.as_deref()),
        status: product_status(platform_status.as_deref().unwrap_or("")),
        platform_status,
        price: money(p.price.as_deref()),
        currency: non_empty(currency).map(|c| c.to_ascii_uppercase()),
        quantity,
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
        variants: variations
            .iter()
            .map(|v| variant(v, units))
            .collect::<Result<_>>()?,
        created_at: utc_time(p.date_created_gmt.as_deref()),
        updated_at: utc_time(p.date_modified_gmt.as_deref()),
        raw: None,
        barcode: non_empty(p.global_unique_id.as_deref()),
        weight: Weight::from_parts(p.weight.as_deref(), units.weight),
        dimensions: p.dimensions.unified(units),
        // WooCommerce ships everything that is not virtual (`needs_shipping()`): a
        // downloadable product that is not virtual still ships.
        requires_shipping: Some(!p.is_virtual),
        inventory_levels: levels(quantity),
    })
}

/// The store's one location: named after the site, at the store address of the general
/// settings (`GET /wc/v3/settings/general`: `woocommerce_store_address`, `…_address_2`,
/// `…_city`, `…_postcode`, and `woocommerce_default_country` as `CC` or `CC:STATE`).
pub fn default_location(site_name: Option<&str>, general_settings: &Value) -> Location {
    let value = |id: &str| {
        general_settings
            .as_array()
            .and_then(|l| {
                l.iter()
                    .find(|s| s.get("id").and_then(Value::as_str) == Some(id))
            })
            .and_then(|s| s.get("value"))
            .and_then(Value::as_str)
            .map(cartgate_connector::lenient::decode_entities)
            .and_then(|v| non_empty(Some(&v)))
    };
    let (country, region) = match value("woocommerce_default_country") {
        Some(c) => match c.split_once(':') {
            Some((c, s)) => (non_empty(Some(c)), non_empty(Some(s))),
            None => (Some(c), None),
        },
        None => (None, None),
    };
    let address = Address {
        line1: value("woocommerce_store_address"),
        line2: value("woocommerce_store_address_2"),
        city: value("woocommerce_store_city"),
        postal_code: value("woocommerce_store_postcode"),
        region,
        country_code: country.map(|c| c.to_ascii_uppercase()),
        ..Default::default()
    };
    Location {
        id: DEFAULT_LOCATION.to_owned(),
        name: site_name
            .map(cartgate_connector::lenient::decode_entities)
            .and_then(|n| non_empty(Some(&n))),
        address: (!address.is_empty()).then_some(address),
        active: true,
    }
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

/// The fields product and variation writes share: stock (as a total or at the one
/// location), barcode, and weight and dimensions converted to the store's units.
fn shared_write_fields(
    body: &mut Map<String, Value>,
    quantity: Option<i64>,
    levels: Option<&[InventoryLevel]>,
    barcode: Option<&str>,
    weight: Option<&Weight>,
    dimensions: Option<&Dimensions>,
    units: &Units,
) -> Result<()> {
    quantity_fields(body, quantity);
    if let Some(levels) = levels {
        // The gateway checked the list (1..=250 distinct ids, sane amounts); WooCommerce
        // has the one location, so the list is that one entry.
        let mut at_default = None;
        for l in levels {
            if l.location_id != DEFAULT_LOCATION {
                return Err(ConnectorError::Validation(format!(
                    "unknown location {:?}: a WooCommerce store has one location, {DEFAULT_LOCATION:?}",
                    l.location_id
                )));
            }
            at_default = Some(l.available);
        }
        quantity_fields(body, at_default);
    }
    if let Some(b) = barcode {
        body.insert("global_unique_id".into(), json!(b.trim()));
    }
    if let Some(w) = weight {
        let unit = units.weight.ok_or_else(|| unknown_unit("weight"))?;
        body.insert("weight".into(), json!(w.value_in(unit)?));
    }
    if let Some(d) = dimensions {
        let unit = units.dimension.ok_or_else(|| unknown_unit("dimension"))?;
        let mut sides = Map::new();
        for (name, side) in [
            ("length", &d.length),
            ("width", &d.width),
            ("height", &d.height),
        ] {
            let value = match unit {
                DimensionUnit::Unit(u) => Dimensions::side_in(side, d.unit, u)?,
                DimensionUnit::Yard => Dimensions::side_in(side, d.unit, LengthUnit::In)?
                    .and_then(|inches| decimal(&inches))
                    .map(|inches| {
                        (inches / Decimal::from(INCHES_PER_YARD))
                            .round_dp(4)
                            .normalize()
                            .to_string()
                    }),
            };
            // A side not given is left as it is (WooCommerce sets the sides it is sent).
            if let Some(v) = value {
                sides.insert(name.into(), json!(v));
            }
        }
        body.insert("dimensions".into(), Value::Object(sides));
    }
    Ok(())
}

fn unknown_unit(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "cartgate cannot tell this store's {what} unit (WooCommerce's product settings are not \
         readable with this API key, or name a unit cartgate does not know), so it cannot \
         convert the {what} to it"
    ))
}

/// `PUT /wc/v3/products/{id}` body with only the fields present. The unified `price` is
/// the regular price: a running sale (`sale_price`) keeps precedence in WooCommerce.
pub fn product_update_body(u: &ProductUpdate, units: &Units) -> Result<Value> {
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
    if let Some(sku) = &u.sku {
        // An empty sku clears it, which WooCommerce accepts.
        body.insert("sku".into(), json!(sku.trim()));
    }
    shared_write_fields(
        &mut body,
        u.quantity,
        u.inventory_levels.as_deref(),
        u.barcode.as_deref(),
        u.weight.as_ref(),
        u.dimensions.as_ref(),
        units,
    )?;
    Ok(Value::Object(body))
}

/// `PUT /wc/v3/products/{pid}/variations/{vid}` body.
pub fn variant_update_body(u: &VariantUpdate, units: &Units) -> Result<Value> {
    let mut body = Map::new();
    if let Some(price) = &u.price {
        body.insert("regular_price".into(), json!(price_field(price)?));
    }
    if let Some(sku) = &u.sku {
        body.insert("sku".into(), json!(sku.trim()));
    }
    shared_write_fields(
        &mut body,
        u.quantity,
        u.inventory_levels.as_deref(),
        u.barcode.as_deref(),
        u.weight.as_ref(),
        u.dimensions.as_ref(),
        units,
    )?;
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

//! Pure mapping of GraphQL Admin API nodes to the unified model, of unified
//! filters to Shopify's search syntax, and of unified writes to mutation inputs. No I/O:
//! the connector (`client.rs`) fetches, this maps.
//!
//! Input is the node JSON as the documents in [`crate::queries`] select it. Reading is
//! lenient: a missing or oddly typed field is absent (`null`), only a missing or
//! malformed `id` fails a mapping. The table of what maps to what lives in
//! `docs/mapping/shopify.md`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use cartgate_connector::model::*;
use cartgate_connector::util::{money, non_empty, utc_time};
use cartgate_connector::{ConnectorError, Filters, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------

/// The numeric tail of a global id: `gid://shopify/Order/123` → `123` (a query string
/// such as `?inventory_item_id=…` is dropped). Bare numbers pass through.
pub fn gid_tail(gid: &str) -> Option<String> {
    let gid = gid.trim();
    let path = gid.split('?').next().unwrap_or(gid);
    let tail = path.rsplit('/').next()?;
    (!tail.is_empty() && tail.len() <= 20 && tail.bytes().all(|b| b.is_ascii_digit()))
        .then(|| tail.to_owned())
}

/// Is `id` a unified Shopify id (the digits of a global id)?
pub fn is_numeric_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// The global id of a unified id, e.g. `gid("Order", "123")`. Shopify ids are numbers, so
/// anything else cannot name an object: `NotFound`, as for a number that names none.
pub fn gid(kind: &str, id: &str) -> Result<String> {
    if is_numeric_id(id) {
        Ok(format!("gid://shopify/{kind}/{id}"))
    } else {
        Err(ConnectorError::NotFound(format!(
            "Shopify has no such {}",
            kind_word(kind)
        )))
    }
}

fn kind_word(kind: &str) -> &'static str {
    match kind {
        "Order" => "order",
        "Product" => "product",
        "ProductVariant" => "variant",
        "Customer" => "customer",
        "Collection" => "category",
        "LineItem" => "line item",
        _ => "object",
    }
}

// ---------------------------------------------------------------------------------------
// Lenient readers
// ---------------------------------------------------------------------------------------

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn text(v: &Value, ptr: &str) -> Option<String> {
    non_empty(s(v, ptr))
}

fn int(v: &Value, ptr: &str) -> Option<i64> {
    match v.pointer(ptr)? {
        Value::Number(n) => n.as_i64(),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// Minor digits of a currency (ISO 4217): 0 for JPY and friends, 3 for the dinars, else 2.
pub fn currency_digits(code: &str) -> u32 {
    match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount (`Decimal` scalars arrive as strings such as `"25.0"`; numbers are read
/// too), padded to the currency's minor digits (`"25.00"`) but never rounded.
fn amount_in(v: &Value, ptr: &str, currency: Option<&str>) -> Option<String> {
    let text = match v.pointer(ptr)? {
        Value::String(t) => money(Some(t))?,
        Value::Number(n) => money(Some(&n.to_string()))?,
        _ => return None,
    };
    let Some(digits) = currency.map(currency_digits) else {
        return Some(text);
    };
    let mut d = Decimal::from_str(&text).ok()?;
    if d.scale() < digits {
        d.rescale(digits);
    }
    Some(d.to_string())
}

fn time(v: &Value, ptr: &str) -> Option<DateTime<Utc>> {
    utc_time(s(v, ptr))
}

fn list<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The nodes of a connection selected with `nodes` or `edges { node }`.
fn nodes<'a>(v: &'a Value, ptr: &str) -> Vec<&'a Value> {
    let Some(conn) = v.pointer(ptr) else {
        return Vec::new();
    };
    if let Some(n) = conn.get("nodes").and_then(Value::as_array) {
        return n.iter().filter(|x| x.is_object()).collect();
    }
    conn.get("edges")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(|e| e.get("node"))
                .filter(|x| x.is_object())
                .collect()
        })
        .unwrap_or_default()
}

fn tail_at(v: &Value, ptr: &str) -> Option<String> {
    s(v, ptr).and_then(gid_tail)
}

fn object<'a>(raw: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    raw.as_object().ok_or_else(|| {
        ConnectorError::bad_body(&format!("Shopify {what}"), "expected a JSON object")
    })
}

fn require_id(raw: &Value, what: &str) -> Result<String> {
    tail_at(raw, "/id").ok_or_else(|| {
        ConnectorError::bad_body(&format!("Shopify {what}"), "missing or malformed global id")
    })
}

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

/// A `MailingAddress`; `None` when absent or empty.
pub fn address(v: &Value, email: Option<&str>) -> Option<Address> {
    if !v.is_object() {
        return None;
    }
    let a = Address {
        first_name: text(v, "/firstName"),
        last_name: text(v, "/lastName"),
        company: text(v, "/company"),
        line1: text(v, "/address1"),
        line2: text(v, "/address2"),
        city: text(v, "/city"),
        region: text(v, "/provinceCode").or_else(|| text(v, "/province")),
        postal_code: text(v, "/zip"),
        country_code: text(v, "/countryCodeV2").map(|c| c.to_ascii_uppercase()),
        phone: text(v, "/phone"),
        email: None,
    };
    if a.is_empty() {
        return None;
    }
    Some(Address {
        email: non_empty(email),
        ..a
    })
}

// ---------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------

/// `displayFinancialStatus` → payment status. `EXPIRED` (an authorization that lapsed
/// uncaptured) reads as `voided`: no money will be collected.
pub fn payment_status(financial: Option<&str>) -> PaymentStatus {
    match financial.unwrap_or("") {
        "PENDING" => PaymentStatus::Pending,
        "AUTHORIZED" => PaymentStatus::Authorized,
        "PAID" => PaymentStatus::Paid,
        "PARTIALLY_PAID" => PaymentStatus::PartiallyPaid,
        "PARTIALLY_REFUNDED" => PaymentStatus::PartiallyRefunded,
        "REFUNDED" => PaymentStatus::Refunded,
        "VOIDED" | "EXPIRED" => PaymentStatus::Voided,
        _ => PaymentStatus::Unknown,
    }
}

/// `displayFulfillmentStatus` → fulfillment status. Only shipped goods count: the
/// waiting states (OPEN, PENDING_FULFILLMENT, SCHEDULED, ON_HOLD, REQUEST_DECLINED),
/// RESTOCKED and FULFILLMENT_NOT_REQUIRED (2026-10: nothing shipped and nothing left to
/// ship, e.g. cancelled or refunded first; older versions say UNFULFILLED) are
/// unfulfilled; IN_PROGRESS (some work done) is partial.
pub fn fulfillment_status(display: Option<&str>) -> FulfillmentStatus {
    match display.unwrap_or("") {
        "FULFILLED" => FulfillmentStatus::Fulfilled,
        "PARTIALLY_FULFILLED" | "IN_PROGRESS" => FulfillmentStatus::Partial,
        "UNFULFILLED"
        | "FULFILLMENT_NOT_REQUIRED"
        | "RESTOCKED"
        | "OPEN"
        | "PENDING_FULFILLMENT"
        | "SCHEDULED"
        | "ON_HOLD"
        | "REQUEST_DECLINED" => FulfillmentStatus::Unfulfilled,
        _ => FulfillmentStatus::Unknown,
    }
}

/// The unified order status, first rule that applies (mirrored by [`order_status_query`]):
/// cancelled (`cancelledAt`), refunded, failed (payment VOIDED or EXPIRED), completed
/// (closed, or FULFILLED), on_hold (fulfillment ON_HOLD), pending (payment PENDING),
/// processing (paid, partially paid or refunded, authorized), otherwise unknown.
pub fn order_status(
    cancelled: bool,
    closed: bool,
    financial: Option<&str>,
    fulfillment: Option<&str>,
) -> OrderStatus {
    let fin = financial.unwrap_or("");
    let ful = fulfillment.unwrap_or("");
    if cancelled {
        OrderStatus::Cancelled
    } else if fin == "REFUNDED" {
        OrderStatus::Refunded
    } else if matches!(fin, "VOIDED" | "EXPIRED") {
        OrderStatus::Failed
    } else if closed || ful == "FULFILLED" {
        OrderStatus::Completed
    } else if ful == "ON_HOLD" {
        OrderStatus::OnHold
    } else if fin == "PENDING" {
        OrderStatus::Pending
    } else if matches!(
        fin,
        "PAID" | "PARTIALLY_PAID" | "PARTIALLY_REFUNDED" | "AUTHORIZED"
    ) {
        OrderStatus::Processing
    } else {
        OrderStatus::Unknown
    }
}

const NOT_CLOSED_BY_PAYMENT: &str =
    "-financial_status:refunded -financial_status:voided -financial_status:expired";

/// The search terms selecting orders of one unified status (see [`order_status`]).
pub fn order_status_query(unified: &str) -> Result<String> {
    let q = match unified {
        "cancelled" => "status:cancelled".to_owned(),
        "refunded" => "-status:cancelled financial_status:refunded".to_owned(),
        "failed" => {
            "-status:cancelled (financial_status:voided OR financial_status:expired)".to_owned()
        }
        "completed" => format!(
            "-status:cancelled {NOT_CLOSED_BY_PAYMENT} (status:closed OR fulfillment_status:fulfilled)"
        ),
        "on_hold" => format!("status:open {NOT_CLOSED_BY_PAYMENT} fulfillment_status:on_hold"),
        "pending" => "status:open financial_status:pending -fulfillment_status:fulfilled -fulfillment_status:on_hold".to_owned(),
        "processing" => "status:open -fulfillment_status:fulfilled -fulfillment_status:on_hold (financial_status:paid OR financial_status:partially_paid OR financial_status:partially_refunded OR financial_status:authorized)".to_owned(),
        other => {
            return Err(ConnectorError::Unsupported(format!(
                "Shopify cannot filter orders by status {other:?}"
            )))
        }
    };
    Ok(q)
}

fn search_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Shopify compares at whole seconds: an inclusive bound with a fraction is rounded
/// inwards (`from` up, `to` down).
fn date_terms(f: &Filters, out: &mut Vec<String>) {
    let up = |t: DateTime<Utc>| {
        let floor = t - chrono::TimeDelta::nanoseconds(i64::from(t.timestamp_subsec_nanos()));
        if floor == t {
            t
        } else {
            floor + chrono::TimeDelta::seconds(1)
        }
    };
    if let Some(t) = f.created_from {
        out.push(format!("created_at:>='{}'", search_time(up(t))));
    }
    if let Some(t) = f.created_to {
        out.push(format!("created_at:<='{}'", search_time(t)));
    }
    if let Some(t) = f.updated_from {
        out.push(format!("updated_at:>='{}'", search_time(up(t))));
    }
    if let Some(t) = f.updated_to {
        out.push(format!("updated_at:<='{}'", search_time(t)));
    }
}

/// A search value, quoted when it holds anything but plain characters.
fn quoted(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'));
    if plain {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn joined(terms: Vec<String>) -> Option<String> {
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// `orders(query:)` for unified filters.
pub fn orders_query(f: &Filters) -> Result<Option<String>> {
    crate::FILTERS.check("orders", f)?;
    let mut terms = Vec::new();
    date_terms(f, &mut terms);
    if let Some(st) = &f.status {
        terms.push(order_status_query(st)?);
    }
    Ok(joined(terms))
}

/// `products(query:)` for unified filters.
pub fn products_query(f: &Filters) -> Result<Option<String>> {
    crate::FILTERS.check("products", f)?;
    let mut terms = Vec::new();
    date_terms(f, &mut terms);
    if let Some(st) = &f.status {
        let word = match st.as_str() {
            "active" => "ACTIVE",
            "draft" => "DRAFT",
            "archived" => "ARCHIVED",
            other => {
                return Err(ConnectorError::Unsupported(format!(
                    "Shopify cannot filter products by status {other:?}"
                )))
            }
        };
        terms.push(format!("status:{word}"));
    }
    if let Some(sku) = &f.sku {
        terms.push(format!("sku:{}", quoted(sku)));
    }
    Ok(joined(terms))
}

/// `customers(query:)` for unified filters.
pub fn customers_query(f: &Filters) -> Result<Option<String>> {
    crate::FILTERS.check("customers", f)?;
    Ok(f.email.as_deref().map(|e| format!("email:{}", quoted(e))))
}

/// The platform words of an order: `FINANCIAL/FULFILLMENT`, plus `/CANCELLED` or `/CLOSED`.
fn platform_status(
    financial: Option<&str>,
    fulfillment: Option<&str>,
    cancelled: bool,
    closed: bool,
) -> Option<String> {
    let mut words: Vec<&str> = [financial, fulfillment].into_iter().flatten().collect();
    if cancelled {
        words.push("CANCELLED");
    } else if closed {
        words.push("CLOSED");
    }
    (!words.is_empty()).then(|| words.join("/"))
}

/// A decimal at `ptr`: Shopify's `Decimal`/`Money` scalars arrive as strings, `Float`s
/// (tax rates, weights) as numbers, read through their JSON text so `0.06` stays `0.06`.
fn dec_at(v: &Value, ptr: &str) -> Option<Decimal> {
    match v.pointer(ptr)? {
        Value::String(t) => Decimal::from_str(t.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        _ => None,
    }
}

/// An amount rendered like [`amount_in`] renders Shopify's: padded to the currency's minor
/// digits, never rounded.
fn money_text(d: Decimal, currency: Option<&str>) -> String {
    let mut d = d.normalize();
    let digits = currency.map(currency_digits).unwrap_or(2);
    if d.scale() < digits {
        d.rescale(digits);
    }
    d.to_string()
}

/// A `TaxLine`'s rate as a fraction (`rate`, a Float such as `0.06`; else
/// `ratePercentage / 100`).
fn tax_rate(t: &Value) -> Option<String> {
    let rate = dec_at(t, "/rate")
        .or_else(|| dec_at(t, "/ratePercentage").map(|p| p / Decimal::from(100)))?;
    Some(rate.normalize().to_string())
}

/// The `TaxLine`s at `ptr`.
fn tax_lines(v: &Value, ptr: &str, currency: Option<&str>) -> Vec<TaxLine> {
    list(v, ptr)
        .iter()
        .filter(|t| t.is_object())
        .map(|t| TaxLine {
            title: text(t, "/title"),
            rate: tax_rate(t),
            amount: amount_in(t, "/priceSet/shopMoney/amount", currency),
        })
        .collect()
}

/// Tax lines summed per title and rate, in the order they first appear.
fn merge_tax_lines(
    lines: impl IntoIterator<Item = TaxLine>,
    currency: Option<&str>,
) -> Vec<TaxLine> {
    let mut out: Vec<(TaxLine, Option<Decimal>)> = Vec::new();
    for t in lines {
        let amount = t.amount.as_deref().and_then(|a| Decimal::from_str(a).ok());
        match out
            .iter_mut()
            .find(|(o, _)| o.title == t.title && o.rate == t.rate)
        {
            Some((_, sum)) => {
                *sum = match (*sum, amount) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            }
            None => out.push((t, amount)),
        }
    }
    out.into_iter()
        .map(|(t, sum)| TaxLine {
            amount: sum.map(|d| money_text(d, currency)),
            ..t
        })
        .collect()
}

/// The sum of the amounts at `amount_ptr` of the objects at `ptr`; `None` when the list
/// is absent, zero when it is empty.
fn sum_of(v: &Value, ptr: &str, amount_ptr: &str) -> Option<Decimal> {
    let items = v.pointer(ptr)?.as_array()?;
    Some(items.iter().filter_map(|x| dec_at(x, amount_ptr)).sum())
}

/// Shopify's weight units (`WeightUnit`).
pub fn weight_unit(word: &str) -> Option<WeightUnit> {
    WeightUnit::parse(word)
}

/// The `WeightUnit` word of a unified unit.
pub fn weight_unit_to_shopify(u: WeightUnit) -> &'static str {
    match u {
        WeightUnit::G => "GRAMS",
        WeightUnit::Kg => "KILOGRAMS",
        WeightUnit::Oz => "OUNCES",
        WeightUnit::Lb => "POUNDS",
    }
}

/// A `Weight {unit value}`; `None` when absent or zero (Shopify keeps `0` for a product
/// whose weight was left blank).
fn weight(v: &Value, ptr: &str) -> Option<Weight> {
    let w = v.pointer(ptr)?;
    let value = dec_at(w, "/value").filter(|d| !d.is_zero())?;
    Weight::from_parts(
        Some(&value.to_string()),
        s(w, "/unit").and_then(weight_unit),
    )
}

/// Option name to value, without Shopify's `Title: Default Title`.
fn options(v: &Value, ptr: &str) -> BTreeMap<String, String> {
    list(v, ptr)
        .iter()
        .filter_map(|o| Some((text(o, "/name")?, text(o, "/value")?)))
        .filter(|(n, val)| (n.as_str(), val.as_str()) != DEFAULT_OPTION)
        .collect()
}

/// `refunded`: units refunded per line item id, from the order's refunds (`None` when the
/// node carries no refunds to say).
fn line_item(
    v: &Value,
    currency: Option<&str>,
    refunded: Option<&HashMap<String, i64>>,
) -> Option<LineItem> {
    let amount = |v: &Value, p: &str| amount_in(v, p, currency);
    let id = tail_at(v, "/id")?;
    let tax_lines = tax_lines(v, "/taxLines", currency);
    Some(LineItem {
        product_id: tail_at(v, "/product/id"),
        variant_id: tail_at(v, "/variant/id"),
        sku: text(v, "/sku"),
        name: text(v, "/name").unwrap_or_default(),
        quantity: int(v, "/quantity").unwrap_or(0),
        unit_price: amount(v, "/originalUnitPriceSet/shopMoney/amount"),
        total: amount(v, "/discountedTotalSet/shopMoney/amount"),
        tax_total: sum_of(v, "/taxLines", "/priceSet/shopMoney/amount")
            .map(|d| money_text(d, currency)),
        tax_lines,
        discount_total: sum_of(
            v,
            "/discountAllocations",
            "/allocatedAmountSet/shopMoney/amount",
        )
        .map(|d| money_text(d, currency)),
        refunded_quantity: refunded.map(|r| r.get(&id).copied().unwrap_or(0)),
        weight: weight(v, "/variant/inventoryItem/measurement/weight"),
        requires_shipping: v.get("requiresShipping").and_then(Value::as_bool),
        variant_options: options(v, "/variant/selectedOptions"),
        id,
    })
}

/// The order's `ShippingLine`s (removed ones are not asked for). `price` is before tax:
/// Shopify's discounted price includes the tax when the order's prices do.
fn shipping_lines(raw: &Value, taxes_included: bool, currency: Option<&str>) -> Vec<ShippingLine> {
    nodes(raw, "/shippingLines")
        .into_iter()
        .map(|l| {
            let tax = sum_of(l, "/taxLines", "/priceSet/shopMoney/amount");
            let price = dec_at(l, "/discountedPriceSet/shopMoney/amount")
                .or_else(|| dec_at(l, "/originalPriceSet/shopMoney/amount"))
                .map(|p| {
                    if taxes_included {
                        p - tax.unwrap_or_default()
                    } else {
                        p
                    }
                });
            ShippingLine {
                title: text(l, "/title"),
                code: text(l, "/code"),
                carrier: text(l, "/source"),
                price: price.map(|d| money_text(d, currency)),
                tax: tax.map(|d| money_text(d, currency)),
            }
        })
        .collect()
}

/// Successful transactions of these kinds.
fn successful<'a>(raw: &'a Value, kinds: &'a [&str]) -> impl Iterator<Item = &'a Value> + 'a {
    list(raw, "/transactions").iter().filter(move |t| {
        s(t, "/status") == Some("SUCCESS") && s(t, "/kind").is_some_and(|k| kinds.contains(&k))
    })
}

/// How the buyer paid: the first successful sale or authorization that is not a gift
/// card (else the first one, else the first of `paymentGatewayNames`).
fn payment_method(raw: &Value) -> Option<PaymentMethod> {
    let paid: Vec<&Value> = successful(raw, &["SALE", "AUTHORIZATION", "CAPTURE"]).collect();
    let t = paid
        .iter()
        .find(|t| s(t, "/gateway") != Some("gift_card"))
        .or(paid.first());
    if let Some(t) = t {
        let m = PaymentMethod {
            code: text(t, "/gateway"),
            title: text(t, "/formattedGateway"),
        };
        if m.code.is_some() || m.title.is_some() {
            return Some(m);
        }
    }
    let name = list(raw, "/paymentGatewayNames")
        .iter()
        .find_map(|n| non_empty(n.as_str()))?;
    Some(PaymentMethod {
        code: Some(name.clone()),
        title: Some(name),
    })
}

/// When the order became paid: the last successful sale or capture, for orders Shopify
/// reports paid (or refunded since).
fn paid_at(raw: &Value, financial: Option<&str>) -> Option<DateTime<Utc>> {
    if !matches!(financial, Some("PAID" | "PARTIALLY_REFUNDED" | "REFUNDED")) {
        return None;
    }
    successful(raw, &["SALE", "CAPTURE"])
        .filter_map(|t| time(t, "/processedAt"))
        .max()
}

/// When the order became fully fulfilled: its last successful fulfillment, for orders
/// Shopify reports FULFILLED (`closedAt` is when the order was archived, not shipped).
fn fulfilled_at(raw: &Value, fulfillment: Option<&str>) -> Option<DateTime<Utc>> {
    if fulfillment != Some("FULFILLED") {
        return None;
    }
    list(raw, "/fulfillments")
        .iter()
        .filter(|f| s(f, "/status") == Some("SUCCESS"))
        .filter_map(|f| time(f, "/createdAt"))
        .max()
}

/// The order's refunds, amounts positive.
fn refunds(raw: &Value, currency: Option<&str>) -> Vec<Refund> {
    list(raw, "/refunds")
        .iter()
        .filter_map(|r| {
            Some(Refund {
                id: tail_at(r, "/id")?,
                amount: dec_at(r, "/totalRefundedSet/shopMoney/amount")
                    .map(|d| money_text(d.abs(), currency)),
                reason: text(r, "/note"),
                created_at: time(r, "/createdAt"),
                line_items: nodes(r, "/refundLineItems")
                    .into_iter()
                    .filter_map(|l| {
                        Some(RefundLine {
                            line_item_id: tail_at(l, "/lineItem/id")?,
                            quantity: int(l, "/quantity").unwrap_or(0),
                            amount: dec_at(l, "/subtotalSet/shopMoney/amount")
                                .map(|d| money_text(d.abs(), currency)),
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// `discountCodes`, each with what its allocations took off the lines and shipping.
fn discount_codes(raw: &Value, currency: Option<&str>) -> Vec<DiscountCode> {
    let mut allocated: HashMap<String, Decimal> = HashMap::new();
    let allocations = nodes(raw, "/lineItems")
        .into_iter()
        .chain(nodes(raw, "/shippingLines"))
        .flat_map(|x| list(x, "/discountAllocations"));
    for a in allocations {
        if let (Some(code), Some(d)) = (
            text(a, "/discountApplication/code"),
            dec_at(a, "/allocatedAmountSet/shopMoney/amount"),
        ) {
            *allocated.entry(code).or_default() += d;
        }
    }
    let mut seen = HashSet::new();
    list(raw, "/discountCodes")
        .iter()
        .filter_map(|c| non_empty(c.as_str()))
        .filter(|c| seen.insert(c.clone()))
        .map(|code| DiscountCode {
            amount: allocated.get(&code).map(|d| money_text(*d, currency)),
            code,
        })
        .collect()
}

/// Fulfillments that shipped something (not CANCELLED, ERROR or FAILURE) as shipments:
/// the first tracking entry of each.
pub fn shipments(order: &Value) -> Vec<Shipment> {
    let mut out: Vec<Shipment> = list(order, "/fulfillments")
        .iter()
        .filter(|f| !matches!(s(f, "/status"), Some("CANCELLED" | "ERROR" | "FAILURE")))
        .filter_map(|f| {
            let track = list(f, "/trackingInfo").first();
            Some(Shipment {
                id: tail_at(f, "/id")?,
                carrier: track.and_then(|t| text(t, "/company")),
                tracking_number: track.and_then(|t| text(t, "/number")),
                tracking_url: track.and_then(|t| text(t, "/url")),
                created_at: time(f, "/createdAt"),
            })
        })
        .collect();
    out.sort_by_key(|s| s.created_at);
    out
}

/// One `Order` node.
pub fn order(raw: &Value) -> Result<Order> {
    object(raw, "order")?;
    let id = require_id(raw, "order")?;
    let financial = s(raw, "/displayFinancialStatus");
    let fulfillment = s(raw, "/displayFulfillmentStatus");
    let cancelled = s(raw, "/cancelledAt").is_some();
    let closed = raw.get("closed").and_then(Value::as_bool).unwrap_or(false);
    let email = text(raw, "/email");
    let billing = raw
        .get("billingAddress")
        .and_then(|a| address(a, email.as_deref()));
    let shipping = raw.get("shippingAddress").and_then(|a| address(a, None));
    let customer = match raw.get("customer").filter(|c| c.is_object()) {
        Some(c) => Some(OrderCustomer {
            id: tail_at(c, "/id"),
            email: text(c, "/email").or_else(|| email.clone()),
            first_name: text(c, "/firstName"),
            last_name: text(c, "/lastName"),
            phone: text(c, "/phone").or_else(|| text(raw, "/phone")),
        }),
        // A guest checkout: who ordered is on the order and its billing address.
        None => {
            let b = billing.clone().unwrap_or_default();
            let guest = OrderCustomer {
                id: None,
                email: email.clone(),
                first_name: b.first_name,
                last_name: b.last_name,
                phone: text(raw, "/phone").or(b.phone),
            };
            (guest != OrderCustomer::default()).then_some(guest)
        }
    };
    let currency = text(raw, "/currencyCode");
    let amount = |v: &Value, p: &str| amount_in(v, p, currency.as_deref());
    let cur = currency.as_deref();
    let taxes_included = raw.get("taxesIncluded").and_then(Value::as_bool);
    let refunds = refunds(raw, cur);
    let mut refunded: HashMap<String, i64> = HashMap::new();
    for l in refunds.iter().flat_map(|r| &r.line_items) {
        *refunded.entry(l.line_item_id.clone()).or_default() += l.quantity;
    }
    let shipping_lines = shipping_lines(raw, taxes_included.unwrap_or(false), cur);
    let shipping_taxes = nodes(raw, "/shippingLines")
        .into_iter()
        .flat_map(|l| tax_lines(l, "/taxLines", cur));
    Ok(Order {
        id,
        number: text(raw, "/name"),
        status: order_status(cancelled, closed, financial, fulfillment),
        payment_status: payment_status(financial),
        fulfillment_status: fulfillment_status(fulfillment),
        platform_status: platform_status(financial, fulfillment, cancelled, closed),
        currency: currency.clone(),
        subtotal: amount(raw, "/subtotalPriceSet/shopMoney/amount"),
        shipping_total: amount(raw, "/totalShippingPriceSet/shopMoney/amount"),
        tax_total: amount(raw, "/totalTaxSet/shopMoney/amount"),
        discount_total: amount(raw, "/totalDiscountsSet/shopMoney/amount"),
        total: amount(raw, "/totalPriceSet/shopMoney/amount"),
        customer,
        billing_address: billing,
        shipping_address: shipping,
        line_items: nodes(raw, "/lineItems")
            .into_iter()
            .filter_map(|l| {
                let known = raw.get("refunds").is_some_and(Value::is_array);
                line_item(l, cur, known.then_some(&refunded))
            })
            .collect(),
        shipments: shipments(raw),
        // Shopify's one order note is what the buyer wrote at checkout (staff may edit
        // it); there is no separate staff note.
        note: None,
        customer_note: text(raw, "/note"),
        created_at: time(raw, "/createdAt"),
        updated_at: time(raw, "/updatedAt"),
        raw: None,
        shipping_lines,
        payment_method: payment_method(raw),
        prices_include_tax: taxes_included,
        tax_lines: merge_tax_lines(
            tax_lines(raw, "/taxLines", cur)
                .into_iter()
                .chain(shipping_taxes),
            cur,
        ),
        discount_codes: discount_codes(raw, cur),
        refunds,
        refunded_total: amount(raw, "/totalRefundedSet/shopMoney/amount"),
        // `totalWeight` is in grams; 0 for an order of weightless (or unweighed) goods.
        total_weight: dec_at(raw, "/totalWeight")
            .filter(|g| !g.is_zero())
            .and_then(|g| Weight::from_parts(Some(&g.to_string()), Some(WeightUnit::G))),
        tags: list(raw, "/tags")
            .iter()
            .filter_map(|t| non_empty(t.as_str()))
            .collect(),
        paid_at: paid_at(raw, financial),
        fulfilled_at: fulfilled_at(raw, fulfillment),
    })
}

// ---------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------

pub fn product_status(word: &str) -> ProductStatus {
    match word {
        "ACTIVE" => ProductStatus::Active,
        "ARCHIVED" => ProductStatus::Archived,
        _ => ProductStatus::Draft,
    }
}

pub fn product_status_to_shopify(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::Active => "ACTIVE",
        ProductStatus::Draft => "DRAFT",
        ProductStatus::Archived => "ARCHIVED",
    }
}

/// The option Shopify gives a product without options: `Title: Default Title`.
const DEFAULT_OPTION: (&str, &str) = ("Title", "Default Title");

/// The `available` quantity per location of an inventory item (only where Shopify tracks
/// its stock).
fn inventory_levels(item: &Value) -> Vec<InventoryLevel> {
    nodes(item, "/inventoryLevels")
        .into_iter()
        .filter_map(|l| {
            let available = list(l, "/quantities")
                .iter()
                .find(|q| s(q, "/name") == Some("available"))
                .and_then(|q| int(q, "/quantity"))?;
            Some(InventoryLevel {
                location_id: tail_at(l, "/location/id")?,
                available,
            })
        })
        .collect()
}

pub fn variant(v: &Value, currency: Option<&str>) -> Result<Variant> {
    let id = require_id(v, "variant")?;
    let tracked = v
        .pointer("/inventoryItem/tracked")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let item = v.get("inventoryItem").cloned().unwrap_or(Value::Null);
    Ok(Variant {
        id,
        sku: text(v, "/sku"),
        name: text(v, "/title").filter(|t| t != DEFAULT_OPTION.1),
        price: amount_in(v, "/price", currency),
        quantity: if tracked {
            int(v, "/inventoryQuantity")
        } else {
            None
        },
        options: options(v, "/selectedOptions"),
        barcode: text(v, "/barcode"),
        weight: weight(&item, "/measurement/weight"),
        dimensions: None,
        requires_shipping: item.get("requiresShipping").and_then(Value::as_bool),
        inventory_levels: if tracked {
            inventory_levels(&item)
        } else {
            Vec::new()
        },
    })
}

/// One `Product` node; `currency` is the shop's (products carry none).
pub fn product(raw: &Value, currency: Option<&str>) -> Result<Product> {
    object(raw, "product")?;
    let id = require_id(raw, "product")?;
    let variants: Vec<Variant> = nodes(raw, "/variants")
        .into_iter()
        .filter_map(|v| variant(v, currency).ok())
        .collect();
    let status_word = text(raw, "/status");
    let single = (variants.len() == 1).then(|| &variants[0]);
    let price = match single {
        Some(v) => v.price.clone(),
        None => variants
            .iter()
            .filter_map(|v| v.price.as_deref().and_then(|p| Decimal::from_str(p).ok()))
            .min()
            .map(|d| d.to_string()),
    };
    let tracks = raw
        .get("tracksInventory")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Product {
        id,
        name: text(raw, "/title").unwrap_or_default(),
        description: text(raw, "/descriptionHtml"),
        sku: single.and_then(|v| v.sku.clone()),
        status: product_status(status_word.as_deref().unwrap_or("")),
        platform_status: status_word,
        price,
        currency: non_empty(currency),
        quantity: if tracks {
            int(raw, "/totalInventory")
        } else {
            None
        },
        images: nodes(raw, "/media")
            .into_iter()
            .filter_map(|m| text(m, "/image/url"))
            .collect(),
        category_ids: nodes(raw, "/collections")
            .into_iter()
            .filter_map(|c| tail_at(c, "/id"))
            .collect(),
        // A product with one variant (Shopify's "Default Title") reads like its variant.
        barcode: single.and_then(|v| v.barcode.clone()),
        weight: single.and_then(|v| v.weight.clone()),
        dimensions: None,
        requires_shipping: single.and_then(|v| v.requires_shipping),
        inventory_levels: single
            .map(|v| v.inventory_levels.clone())
            .unwrap_or_default(),
        variants,
        created_at: time(raw, "/createdAt"),
        updated_at: time(raw, "/updatedAt"),
        raw: None,
    })
}

// ---------------------------------------------------------------------------------------
// Customers, categories, shop
// ---------------------------------------------------------------------------------------

pub fn customer(raw: &Value) -> Result<Customer> {
    object(raw, "customer")?;
    Ok(Customer {
        id: require_id(raw, "customer")?,
        email: text(raw, "/email"),
        first_name: text(raw, "/firstName"),
        last_name: text(raw, "/lastName"),
        phone: text(raw, "/phone"),
        addresses: list(raw, "/addresses")
            .iter()
            .filter_map(|a| address(a, None))
            .collect(),
        created_at: time(raw, "/createdAt"),
        updated_at: time(raw, "/updatedAt"),
        raw: None,
    })
}

/// A `Collection` as a category: collections are flat (no parent).
pub fn category(raw: &Value) -> Result<Category> {
    object(raw, "collection")?;
    Ok(Category {
        id: require_id(raw, "collection")?,
        name: text(raw, "/title").unwrap_or_default(),
        parent_id: None,
        description: text(raw, "/descriptionHtml").or_else(|| text(raw, "/description")),
        raw: None,
    })
}

/// A `Location` node; `None` without an id.
pub fn location(v: &Value) -> Option<Location> {
    let a = v.get("address").filter(|a| a.is_object());
    let address = a.and_then(|a| {
        let addr = Address {
            line1: text(a, "/address1"),
            line2: text(a, "/address2"),
            city: text(a, "/city"),
            region: text(a, "/provinceCode").or_else(|| text(a, "/province")),
            postal_code: text(a, "/zip"),
            country_code: text(a, "/countryCode").map(|c| c.to_ascii_uppercase()),
            phone: text(a, "/phone"),
            ..Address::default()
        };
        (!addr.is_empty()).then_some(addr)
    });
    Some(Location {
        id: tail_at(v, "/id")?,
        name: text(v, "/name"),
        address,
        active: v.get("isActive").and_then(Value::as_bool).unwrap_or(true),
    })
}

/// The `shop` object, read through `version`.
pub fn store_info(shop: &Value, version: &crate::ApiVersion) -> StoreInfo {
    StoreInfo {
        name: text(shop, "/name"),
        url: text(shop, "/url")
            .or_else(|| text(shop, "/myshopifyDomain").map(|d| format!("https://{d}"))),
        currency: text(shop, "/currencyCode"),
        timezone: text(shop, "/ianaTimezone"),
        platform_version: Some(format!("Admin API {version}")),
    }
}

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

fn price_input(p: &str) -> Result<String> {
    let d = Decimal::from_str(p.trim())
        .map_err(|_| ConnectorError::Validation(format!("price {p:?} is not a decimal amount")))?;
    if d.is_sign_negative() {
        return Err(ConnectorError::Validation(
            "price must not be negative".into(),
        ));
    }
    Ok(d.to_string())
}

/// GraphQL `Int` is 32-bit.
pub fn quantity_input(q: i64) -> Result<i32> {
    i32::try_from(q).map_err(|_| {
        ConnectorError::Validation(format!("quantity {q} is out of range for Shopify"))
    })
}

fn title_input(name: &str) -> Result<String> {
    non_empty(Some(name)).ok_or_else(|| ConnectorError::Validation("name must not be empty".into()))
}

/// `ProductCreateInput`. Price, sku and quantity go to the default variant afterwards.
pub fn product_create_input(p: &NewProduct) -> Result<Value> {
    let mut input = Map::new();
    input.insert("title".into(), json!(title_input(&p.name)?));
    if let Some(d) = non_empty(p.description.as_deref()) {
        input.insert("descriptionHtml".into(), json!(d));
    }
    input.insert(
        "status".into(),
        json!(product_status_to_shopify(
            p.status.unwrap_or(ProductStatus::Draft)
        )),
    );
    if !p.category_ids.is_empty() {
        let ids = p
            .category_ids
            .iter()
            .map(|c| {
                gid("Collection", c)
                    .map_err(|_| ConnectorError::Validation(format!("no such category {c:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        input.insert("collectionsToJoin".into(), json!(ids));
    }
    if let Some(p) = &p.price {
        price_input(p)?;
    }
    if let Some(q) = p.quantity {
        quantity_input(q)?;
    }
    Ok(Value::Object(input))
}

/// `ProductUpdateInput` for the product-level fields; `None` when none changes.
pub fn product_update_input(product_gid: &str, u: &ProductUpdate) -> Result<Option<Value>> {
    let mut input = Map::new();
    if let Some(n) = &u.name {
        input.insert("title".into(), json!(title_input(n)?));
    }
    if let Some(d) = &u.description {
        input.insert("descriptionHtml".into(), json!(d));
    }
    if let Some(st) = u.status {
        input.insert("status".into(), json!(product_status_to_shopify(st)));
    }
    if input.is_empty() {
        return Ok(None);
    }
    input.insert("id".into(), json!(product_gid));
    Ok(Some(Value::Object(input)))
}

/// What one `productVariantsBulkUpdate` input changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantChange<'a> {
    pub price: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub barcode: Option<&'a str>,
    /// The weight to keep, already in the unit to keep it in.
    pub weight: Option<(String, WeightUnit)>,
    /// A quantity is about to be set: the item becomes tracked.
    pub track: bool,
}

/// The weight to write: `w` converted to the unit the variant keeps its weight in
/// (`current`), else to the shop's weight unit.
pub fn weight_to_write(
    w: &Weight,
    current: Option<WeightUnit>,
    shop: Option<WeightUnit>,
) -> Result<(String, WeightUnit)> {
    let unit = current.or(shop).unwrap_or(w.unit);
    Ok((w.value_in(unit)?, unit))
}

/// One `ProductVariantsBulkInput` (price and barcode; sku, tracking and weight on the
/// inventory item); `None` when nothing changes.
pub fn variant_input(variant_gid: &str, c: &VariantChange<'_>) -> Result<Option<Value>> {
    let mut input = Map::new();
    if let Some(p) = c.price {
        input.insert("price".into(), json!(price_input(p)?));
    }
    if let Some(b) = c.barcode {
        input.insert("barcode".into(), json!(b.trim()));
    }
    let mut item = Map::new();
    if let Some(s) = c.sku {
        item.insert("sku".into(), json!(s.trim()));
    }
    if c.track {
        item.insert("tracked".into(), json!(true));
    }
    if let Some((value, unit)) = &c.weight {
        let v: f64 = value.parse().map_err(|_| {
            ConnectorError::Validation("weight.value must be a decimal such as \"1.5\"".into())
        })?;
        item.insert(
            "measurement".into(),
            json!({"weight": {"value": v, "unit": weight_unit_to_shopify(*unit)}}),
        );
    }
    if !item.is_empty() {
        input.insert("inventoryItem".into(), Value::Object(item));
    }
    if input.is_empty() {
        return Ok(None);
    }
    input.insert("id".into(), json!(variant_gid));
    Ok(Some(Value::Object(input)))
}

/// An `InventoryAdjustQuantitiesInput` applying `changes` (item gid, location gid, delta)
/// to `available`; `None` when every delta is zero. Each change passes
/// `changeFromQuantity: null` explicitly (mandatory from 2026-04): a difference applies
/// on top of whatever Shopify holds, so a sale recorded between our read and this write
/// is kept rather than refused or overwritten.
pub fn inventory_changes_input(changes: &[(String, String, i64)]) -> Result<Option<Value>> {
    let mut out = Vec::new();
    for (item, location, delta) in changes {
        if *delta == 0 {
            continue;
        }
        out.push(json!({
            "inventoryItemId": item,
            "locationId": location,
            "delta": quantity_input(*delta)?,
            "changeFromQuantity": null,
        }));
    }
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "name": "available",
        "reason": "correction",
        "changes": out,
    })))
}

/// The change bringing the item's `available` total over all locations (`total`, as
/// read) to `quantity` by adjusting one location by the difference; `None` when there is
/// nothing to change. A delta, unlike an absolute set, cannot undo a sale Shopify records
/// between our read and this write.
pub fn inventory_adjust_input(
    item_gid: &str,
    location_gid: &str,
    total: i64,
    quantity: i64,
) -> Result<Option<Value>> {
    quantity_input(quantity)?;
    inventory_changes_input(&[(
        item_gid.to_owned(),
        location_gid.to_owned(),
        quantity - total,
    )])
}

/// The changes setting `available` to `wanted` (location gid, quantity) at exactly these
/// locations, by their difference to `current` (location gid, quantity as read; a
/// location not stocking the item counts 0: from 2026-10 Shopify stocks it there).
pub fn inventory_levels_input(
    item_gid: &str,
    current: &[(String, i64)],
    wanted: &[(String, i64)],
) -> Result<Option<Value>> {
    let changes = wanted
        .iter()
        .map(|(loc, q)| {
            quantity_input(*q)?;
            let now = current
                .iter()
                .find(|(l, _)| l == loc)
                .map_or(0, |(_, n)| *n);
            Ok((item_gid.to_owned(), loc.clone(), q - now))
        })
        .collect::<Result<Vec<_>>>()?;
    inventory_changes_input(&changes)
}

/// One line of a fulfillment order still to ship.
struct FoLine {
    fo: String,
    id: String,
    line_item: String,
    remaining: i64,
}

/// `FulfillmentInput` for `fulfillmentCreate` from the order's fulfillment orders (the
/// `order` node of the `CartgateFulfillmentOrders` query): everything still open, or the
/// lines asked for, spread over the open fulfillment orders that hold them.
pub fn fulfillment_input(order_node: &Value, s: &NewShipment) -> Result<Value> {
    s.validate()?;
    let mut known: HashSet<String> = HashSet::new();
    let mut open: Vec<FoLine> = Vec::new();
    for fo in nodes(order_node, "/fulfillmentOrders") {
        let Some(fo_id) = text(fo, "/id") else {
            continue;
        };
        let workable = matches!(s_str(fo, "/status"), "OPEN" | "IN_PROGRESS");
        for l in nodes(fo, "/lineItems") {
            let (Some(id), Some(li)) = (text(l, "/id"), tail_at(l, "/lineItem/id")) else {
                continue;
            };
            known.insert(li.clone());
            let remaining = int(l, "/remainingQuantity").unwrap_or(0);
            if workable && remaining > 0 {
                open.push(FoLine {
                    fo: fo_id.clone(),
                    id,
                    line_item: li,
                    remaining,
                });
            }
        }
    }
    let mut by_fo: Vec<(String, Vec<Value>)> = Vec::new();
    let mut push = |fo: &str, line: Option<Value>| {
        let pos = match by_fo.iter().position(|(f, _)| f == fo) {
            Some(p) => p,
            None => {
                by_fo.push((fo.to_owned(), Vec::new()));
                by_fo.len() - 1
            }
        };
        if let Some(l) = line {
            by_fo[pos].1.push(l);
        }
    };
    match s.line_items.as_deref().filter(|l| !l.is_empty()) {
        None => {
            if open.is_empty() {
                return Err(ConnectorError::Validation(
                    "the order has nothing left to ship".into(),
                ));
            }
            for l in &open {
                push(&l.fo, None);
            }
        }
        Some(lines) => {
            let mut seen = HashSet::new();
            let mut remaining: HashMap<&str, i64> = HashMap::new();
            for l in &open {
                *remaining.entry(l.line_item.as_str()).or_default() += l.remaining;
            }
            for want in lines {
                if !seen.insert(want.line_item_id.as_str()) {
                    return Err(ConnectorError::Validation(format!(
                        "line item {:?} is listed twice",
                        want.line_item_id
                    )));
                }
                if !known.contains(&want.line_item_id) {
                    return Err(ConnectorError::Validation(format!(
                        "order has no line item {:?}",
                        want.line_item_id
                    )));
                }
                let left = remaining
                    .get(want.line_item_id.as_str())
                    .copied()
                    .unwrap_or(0);
                if want.quantity < 1 || want.quantity > left {
                    return Err(ConnectorError::Validation(format!(
                        "line item {:?}: quantity must be between 1 and {left} (what is left to ship)",
                        want.line_item_id
                    )));
                }
                let mut need = want.quantity;
                for l in open.iter().filter(|l| l.line_item == want.line_item_id) {
                    if need == 0 {
                        break;
                    }
                    let take = need.min(l.remaining);
                    need -= take;
                    push(&l.fo, Some(json!({"id": l.id, "quantity": take})));
                }
            }
        }
    }
    let by_fo: Vec<Value> = by_fo
        .into_iter()
        .map(|(fo, lines)| {
            if lines.is_empty() {
                json!({"fulfillmentOrderId": fo})
            } else {
                json!({"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": lines})
            }
        })
        .collect();
    let mut tracking = Map::new();
    tracking.insert("company".into(), json!(s.carrier.trim()));
    tracking.insert("number".into(), json!(s.tracking_number.trim()));
    if let Some(u) = non_empty(s.tracking_url.as_deref()) {
        tracking.insert("url".into(), json!(u));
    }
    Ok(json!({
        "lineItemsByFulfillmentOrder": by_fo,
        "trackingInfo": tracking,
        "notifyCustomer": s.notify_customer,
    }))
}

fn s_str<'a>(v: &'a Value, ptr: &str) -> &'a str {
    s(v, ptr).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gids() {
        assert_eq!(gid_tail("gid://shopify/Order/123").as_deref(), Some("123"));
        assert_eq!(
            gid_tail("gid://shopify/InventoryItem/9?foo=1").as_deref(),
            Some("9")
        );
        assert_eq!(gid_tail("gid://shopify/Order/abc"), None);
        assert_eq!(gid("Order", "77").unwrap(), "gid://shopify/Order/77");
        assert!(matches!(
            gid("Order", "7a"),
            Err(ConnectorError::NotFound(_))
        ));
        assert!(matches!(gid("Order", ""), Err(ConnectorError::NotFound(_))));
    }

    #[test]
    fn search_terms() {
        let f = Filters {
            created_from: Some("2025-01-01T00:00:00.5Z".parse().unwrap()),
            status: Some("cancelled".into()),
            ..Default::default()
        };
        assert_eq!(
            orders_query(&f).unwrap().unwrap(),
            "created_at:>='2025-01-01T00:00:01Z' status:cancelled"
        );
        let f = Filters {
            sku: Some("A B".into()),
            ..Default::default()
        };
        assert_eq!(products_query(&f).unwrap().unwrap(), "sku:\"A B\"");
        let f = Filters {
            sku: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(
            customers_query(&f),
            Err(ConnectorError::Unsupported(_))
        ));
        assert!(order_status_query("unknown").is_err());
    }
}

//! Pure eBay Sell API ⇄ unified mapping: no I/O (also behind `cartgate normalize`).
//!
//! * Orders: a Sell Fulfillment `Order` (read with `fieldGroups=TAX_BREAKDOWN`, so totals
//!   include eBay's collect-and-remit taxes), with its `ShippingFulfillment`s as shipments.
//! * Products: a Sell Inventory inventory item (by SKU) with its offers is a product without
//!   variants; an inventory item group is a product whose variants are its member items.
//!   Price, currency and listing status come from the offer on the store's marketplace;
//!   quantities, weights, sizes, barcodes and stock per location from the inventory item.
//! * Locations: inventory locations (`merchantLocationKey`).
//!
//! What stays `null` and why is written down in docs/mapping/ebay.md.

use std::collections::BTreeMap;
use std::str::FromStr;

use cartgate_connector::model::*;
use cartgate_connector::util::{non_empty, utc_time, Decimal};
use cartgate_connector::{ConnectorError, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::marketplace::Marketplace;

// ---------------------------------------------------------------------------------------
// Small readers
// ---------------------------------------------------------------------------------------

/// A non-empty string at `ptr` (numbers read as their text).
fn text(v: &Value, ptr: &str) -> Option<String> {
    match v.pointer(ptr)? {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn time(v: &Value, ptr: &str) -> Option<DateTime<Utc>> {
    utc_time(text(v, ptr).as_deref())
}

fn decimal(s: &str) -> Option<Decimal> {
    Decimal::from_str(s.trim()).ok()
}

/// An eBay `Amount`'s value (`{value, currency}`), canonical; `None` when absent.
fn amount(v: &Value, ptr: &str) -> Option<Decimal> {
    text(v, &format!("{ptr}/value")).and_then(|s| decimal(&s))
}

fn money_of(d: Decimal) -> Money {
    d.to_string()
}

fn sum(items: impl IntoIterator<Item = Decimal>) -> Decimal {
    items.into_iter().fold(Decimal::ZERO, |a, b| a + b)
}

/// A quantity as eBay sends it (integer, or a whole number as text).
fn int(v: &Value, ptr: &str) -> Option<i64> {
    match v.pointer(ptr)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The longest eBay message passed on to clients.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// eBay's own words for a refusal: the first error's `longMessage` (else `message`) from
/// `{errors: [{errorId, domain, category, message, longMessage, parameters}]}`, with its
/// `errorId`, cut to [`MAX_MESSAGE_CHARS`].
pub fn error_detail(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("errors").and_then(Value::as_array)?.first()?;
    let words = text(e, "/longMessage").or_else(|| text(e, "/message"))?;
    let words: String = words.chars().take(MAX_MESSAGE_CHARS).collect();
    Some(match text(e, "/errorId") {
        Some(id) => format!("{words} (eBay error {id})"),
        None => words,
    })
}

/// The `errorId`s of an eBay error body.
pub fn error_ids(body: &[u8]) -> Vec<i64> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| {
            list(&v, "/errors")
                .iter()
                .filter_map(|e| int(e, "/errorId"))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Addresses and people
// ---------------------------------------------------------------------------------------

/// `"Ana María de la Cruz"` → (`"Ana María de la"`, `"Cruz"`): eBay keeps one full name.
pub fn split_name(full: Option<String>) -> (Option<String>, Option<String>) {
    let Some(full) = full else {
        return (None, None);
    };
    match full.trim().rsplit_once(char::is_whitespace) {
        Some((first, last)) => (non_empty(Some(first)), non_empty(Some(last))),
        None => (Some(full.trim().to_owned()), None),
    }
}

/// An `ExtendedContact` (`fullName`, `companyName`, `contactAddress`, `primaryPhone`,
/// `email`) as an address.
fn contact_address(c: &Value) -> Option<Address> {
    let (first_name, last_name) = split_name(text(c, "/fullName"));
    let a = Address {
        first_name,
        last_name,
        company: text(c, "/companyName"),
        line1: text(c, "/contactAddress/addressLine1"),
        line2: text(c, "/contactAddress/addressLine2"),
        city: text(c, "/contactAddress/city"),
        region: text(c, "/contactAddress/stateOrProvince"),
        postal_code: text(c, "/contactAddress/postalCode"),
        country_code: text(c, "/contactAddress/countryCode").map(|c| c.to_ascii_uppercase()),
        phone: text(c, "/primaryPhone/phoneNumber"),
        email: text(c, "/email"),
    };
    (!a.is_empty()).then_some(a)
}

// ---------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------

/// The unified status of an order (see docs/mapping/ebay.md): cancellation first, then
/// the payment, then the fulfillment.
pub fn order_status(o: &Value) -> OrderStatus {
    let cancel = text(o, "/cancelStatus/cancelState");
    let payment = text(o, "/orderPaymentStatus");
    let fulfillment = text(o, "/orderFulfillmentStatus");
    match (
        cancel.as_deref(),
        payment.as_deref(),
        fulfillment.as_deref(),
    ) {
        (Some("CANCELED"), _, _) => OrderStatus::Cancelled,
        (_, Some("FULLY_REFUNDED"), _) => OrderStatus::Refunded,
        (_, Some("FAILED"), _) => OrderStatus::Failed,
        (_, Some("PENDING"), _) => OrderStatus::Pending,
        (_, _, Some("FULFILLED")) => OrderStatus::Completed,
        (Some("IN_PROGRESS"), _, _) => OrderStatus::OnHold,
        (_, _, Some("NOT_STARTED" | "IN_PROGRESS")) => OrderStatus::Processing,
        _ => OrderStatus::Unknown,
    }
}

fn payment_status(o: &Value) -> PaymentStatus {
    match text(o, "/orderPaymentStatus").as_deref() {
        Some("PAID") => PaymentStatus::Paid,
        Some("PENDING") => PaymentStatus::Pending,
        Some("PARTIALLY_REFUNDED") => PaymentStatus::PartiallyRefunded,
        Some("FULLY_REFUNDED") => PaymentStatus::Refunded,
        _ => PaymentStatus::Unknown,
    }
}

fn fulfillment_status(o: &Value) -> FulfillmentStatus {
    match text(o, "/orderFulfillmentStatus").as_deref() {
        Some("NOT_STARTED") => FulfillmentStatus::Unfulfilled,
        Some("IN_PROGRESS") => FulfillmentStatus::Partial,
        Some("FULFILLED") => FulfillmentStatus::Fulfilled,
        _ => FulfillmentStatus::Unknown,
    }
}

/// `NOT_STARTED/PAID`, with `/CANCELED` (or another cancel state) when one was requested.
fn order_platform_status(o: &Value) -> Option<String> {
    let mut words: Vec<String> = [
        text(o, "/orderFulfillmentStatus"),
        text(o, "/orderPaymentStatus"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(c) = text(o, "/cancelStatus/cancelState").filter(|c| c != "NONE_REQUESTED") {
        words.push(c);
    }
    (!words.is_empty()).then(|| words.join("/"))
}

/// What eBay's payment method words read as.
fn payment_title(code: &str) -> String {
    match code {
        "EBAY" => "eBay managed payments".into(),
        "CREDIT_CARD" => "Credit card".into(),
        "PAYPAL" => "PayPal".into(),
        "CASH_ON_DELIVERY" => "Cash on delivery".into(),
        "CASH_ON_PICKUP" => "Cash on pickup".into(),
        "CASH_IN_PERSON" => "Cash in person".into(),
        "PERSONAL_CHECK" => "Personal check".into(),
        "MONEY_ORDER" => "Money order".into(),
        "CASHIER_CHECK" => "Cashier's check".into(),
        "ESCROW" => "Escrow".into(),
        "INTEGRATED_MERCHANT_CREDIT_CARD" => "Credit card (merchant account)".into(),
        other => other.to_owned(),
    }
}

fn tax_lines_of(line: &Value) -> Vec<TaxLine> {
    list(line, "/taxes")
        .iter()
        .chain(list(line, "/ebayCollectAndRemitTaxes"))
        .filter_map(|t| {
            let amount = amount(t, "/amount")?;
            Some(TaxLine {
                title: text(t, "/taxType"),
                rate: None,
                amount: Some(money_of(amount)),
            })
        })
        .collect()
}

fn line_item(l: &Value, refunds_of_line: &mut Vec<(String, RefundLine)>) -> Result<LineItem> {
    let id = text(l, "/lineItemId")
        .ok_or_else(|| ConnectorError::bad_body("order", "a line item has no lineItemId"))?;
    let quantity = int(l, "/quantity").unwrap_or(0);
    let cost = amount(l, "/lineItemCost");
    let unit_price = cost.and_then(|c| {
        (quantity > 0).then(|| {
            let mut u = c / Decimal::from(quantity);
            u.rescale(c.scale().max(2));
            money_of(u)
        })
    });
    let promotions: Vec<Decimal> = list(l, "/appliedPromotions")
        .iter()
        .filter_map(|p| amount(p, "/discountAmount"))
        .map(|d| d.abs())
        .collect();
    let discounted = amount(l, "/discountedLineItemCost");
    let discount = if !promotions.is_empty() {
        Some(sum(promotions))
    } else {
        match (cost, discounted) {
            (Some(c), Some(d)) => Some((c - d).max(Decimal::ZERO)),
            // No discount: zero, in the line's own scale ("0.00").
            (Some(c), None) => {
                let mut zero = Decimal::ZERO;
                zero.rescale(c.scale());
                Some(zero)
            }
            _ => None,
        }
    };
    let total = discounted.or(cost);
    let tax_lines = tax_lines_of(l);
    let tax_total = sum(tax_lines
        .iter()
        .filter_map(|t| t.amount.as_deref().and_then(decimal)));
    let variant_options: BTreeMap<String, String> = list(l, "/variationAspects")
        .iter()
        .filter_map(|a| Some((text(a, "/name")?, text(a, "/value")?)))
        .collect();
    let sku = text(l, "/sku");
    let is_variation = !variant_options.is_empty() || text(l, "/legacyVariationId").is_some();
    for r in list(l, "/refunds") {
        let Some(refund_id) = text(r, "/refundId") else {
            continue;
        };
        let refunded = amount(r, "/amount");
        // eBay refunds amounts, not units: a refund of the whole line is all its units.
        let whole = matches!((refunded, total), (Some(a), Some(t)) if a >= t && t > Decimal::ZERO);
        refunds_of_line.push((
            refund_id,
            RefundLine {
                line_item_id: id.clone(),
                quantity: if whole { quantity } else { 0 },
                amount: refunded.map(money_of),
            },
        ));
    }
    Ok(LineItem {
        id,
        // A standalone inventory item's product id is its SKU; a variation's product is its
        // inventory item group, which the order does not name.
        product_id: if is_variation { None } else { sku.clone() },
        variant_id: if is_variation { sku.clone() } else { None },
        sku,
        name: text(l, "/title").unwrap_or_default(),
        quantity,
        unit_price,
        total: total.map(money_of),
        tax_total: Some(money_of(tax_total)),
        tax_lines,
        discount_total: discount.map(money_of),
        refunded_quantity: None,
        weight: None,
        requires_shipping: None,
        variant_options,
    })
}

/// One `ShippingFulfillment` as a shipment.
pub fn shipment(f: &Value) -> Option<Shipment> {
    Some(Shipment {
        id: text(f, "/fulfillmentId")?,
        carrier: text(f, "/shippingCarrierCode"),
        tracking_number: text(f, "/shipmentTrackingNumber"),
        tracking_url: None,
        created_at: time(f, "/shippedDate"),
    })
}

fn shipping_lines(o: &Value) -> Vec<ShippingLine> {
    let delivery = amount(o, "/pricingSummary/deliveryCost");
    list(o, "/fulfillmentStartInstructions")
        .iter()
        .enumerate()
        .filter_map(|(n, f)| {
            // The order's delivery cost belongs to its (first) shipping plan.
            let price = if n == 0 { delivery.map(money_of) } else { None };
            // In-store pickup (a pickup step, whatever shipping step eBay adds beside it).
            if f.pointer("/pickupStep").is_some_and(Value::is_object) {
                Some(ShippingLine {
                    title: Some(match text(f, "/pickupStep/merchantLocationKey") {
                        Some(k) => format!("Pickup at {k}"),
                        None => "Pickup".into(),
                    }),
                    code: text(f, "/fulfillmentInstructionsType"),
                    carrier: None,
                    price,
                    tax: None,
                })
            } else if f.pointer("/shippingStep").is_some_and(Value::is_object) {
                Some(ShippingLine {
                    title: text(f, "/shippingStep/shippingServiceCode"),
                    code: text(f, "/shippingStep/shippingServiceCode"),
                    carrier: text(f, "/shippingStep/shippingCarrierCode"),
                    price,
                    tax: None,
                })
            } else {
                None
            }
        })
        .collect()
}

/// Sums tax lines by title, in the order titles first appear.
fn merge_tax_lines(lines: impl IntoIterator<Item = TaxLine>) -> Vec<TaxLine> {
    let mut out: Vec<(Option<String>, Decimal)> = Vec::new();
    for t in lines {
        let Some(a) = t.amount.as_deref().and_then(decimal) else {
            continue;
        };
        match out.iter_mut().find(|(title, _)| *title == t.title) {
            Some((_, total)) => *total += a,
            None => out.push((t.title, a)),
        }
    }
    out.into_iter()
        .map(|(title, a)| TaxLine {
            title,
            rate: None,
            amount: Some(money_of(a)),
        })
        .collect()
}

/// A Sell Fulfillment `Order` with its shipping fulfillments (`None`: not read; the order's
/// `shipments` are then empty).
pub fn order(o: &Value, fulfillments: Option<&[Value]>) -> Result<Order> {
    if !o.is_object() {
        return Err(ConnectorError::bad_body("order", "expected a JSON object"));
    }
    let id = text(o, "/orderId")
        .ok_or_else(|| ConnectorError::bad_body("order", "it has no orderId"))?;
    let mut refund_lines = Vec::new();
    let line_items = list(o, "/lineItems")
        .iter()
        .map(|l| line_item(l, &mut refund_lines))
        .collect::<Result<Vec<_>>>()?;
    let ps = |f: &str| amount(o, &format!("/pricingSummary/{f}"));
    let discount = match (ps("priceDiscount"), ps("deliveryDiscount")) {
        (None, None) => Decimal::ZERO,
        (a, b) => a.unwrap_or_default().abs() + b.unwrap_or_default().abs(),
    };
    let tax_lines = merge_tax_lines(line_items.iter().flat_map(|l| l.tax_lines.clone()));
    let tax_total = ps("tax").or_else(|| {
        Some(sum(tax_lines
            .iter()
            .filter_map(|t| t.amount.as_deref().and_then(decimal))))
    });
    let refunds: Vec<Refund> = list(o, "/paymentSummary/refunds")
        .iter()
        .filter_map(|r| {
            let id = text(r, "/refundId").or_else(|| text(r, "/refundReferenceId"))?;
            Some(Refund {
                line_items: refund_lines
                    .iter()
                    .filter(|(rid, _)| *rid == id)
                    .map(|(_, l)| l.clone())
                    .collect(),
                amount: amount(r, "/amount").map(|a| money_of(a.abs())),
                reason: None,
                created_at: time(r, "/refundDate"),
                id,
            })
        })
        .collect();
    let refunded_total = sum(list(o, "/paymentSummary/refunds")
        .iter()
        .filter(|r| text(r, "/refundStatus").as_deref() != Some("FAILED"))
        .filter_map(|r| amount(r, "/amount"))
        .map(|a| a.abs()));
    let payments = list(o, "/paymentSummary/payments");
    let payment_method = payments
        .first()
        .and_then(|p| text(p, "/paymentMethod"))
        .map(|code| PaymentMethod {
            title: Some(payment_title(&code)),
            code: Some(code),
        });
    let paid_at = payments
        .iter()
        .filter(|p| text(p, "/paymentStatus").as_deref() != Some("FAILED"))
        .filter_map(|p| time(p, "/paymentDate"))
        .min()
        .filter(|_| {
            !matches!(
                text(o, "/orderPaymentStatus").as_deref(),
                Some("PENDING" | "FAILED")
            )
        });
    let shipments: Vec<Shipment> = fulfillments
        .unwrap_or_default()
        .iter()
        .filter_map(shipment)
        .collect();
    let fulfilled_at = if text(o, "/orderFulfillmentStatus").as_deref() == Some("FULFILLED") {
        shipments.iter().filter_map(|s| s.created_at).max()
    } else {
        None
    };
    let buyer = o.pointer("/buyer/buyerRegistrationAddress");
    let customer = {
        let (first_name, last_name) = split_name(buyer.and_then(|b| text(b, "/fullName")));
        let c = OrderCustomer {
            // eBay has no buyer API: the buyer's user name stays in `raw`.
            id: None,
            email: buyer.and_then(|b| text(b, "/email")),
            first_name,
            last_name,
            phone: buyer.and_then(|b| text(b, "/primaryPhone/phoneNumber")),
        };
        (c != OrderCustomer::default()).then_some(c)
    };
    let ship_to = list(o, "/fulfillmentStartInstructions")
        .iter()
        .find_map(|f| f.pointer("/shippingStep/shipTo"))
        .and_then(contact_address);
    Ok(Order {
        number: text(o, "/salesRecordReference").or_else(|| Some(id.clone())),
        id,
        status: order_status(o),
        payment_status: payment_status(o),
        fulfillment_status: fulfillment_status(o),
        platform_status: order_platform_status(o),
        currency: text(o, "/pricingSummary/total/currency")
            .or_else(|| text(o, "/pricingSummary/priceSubtotal/currency")),
        subtotal: ps("priceSubtotal").map(money_of),
        shipping_total: ps("deliveryCost").map(money_of),
        tax_total: tax_total.map(money_of),
        discount_total: Some(money_of(discount)),
        total: ps("total").map(money_of),
        customer,
        billing_address: buyer.and_then(contact_address),
        shipping_address: ship_to,
        line_items,
        shipments,
        shipping_lines: shipping_lines(o),
        payment_method,
        prices_include_tax: None,
        tax_lines,
        discount_codes: Vec::new(),
        refunds,
        refunded_total: Some(money_of(refunded_total)),
        total_weight: None,
        tags: Vec::new(),
        note: None,
        customer_note: text(o, "/buyerCheckoutNotes"),
        paid_at,
        fulfilled_at,
        created_at: time(o, "/creationDate"),
        updated_at: time(o, "/lastModifiedDate"),
        raw: None,
    })
}

// ---------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------

/// eBay's weight unit words (`packageWeightAndSize.weight.unit`).
pub fn weight_unit(word: &str) -> Option<WeightUnit> {
    Some(match word {
        "POUND" => WeightUnit::Lb,
        "KILOGRAM" => WeightUnit::Kg,
        "OUNCE" => WeightUnit::Oz,
        "GRAM" => WeightUnit::G,
        _ => return None,
    })
}

pub fn ebay_weight_unit(u: WeightUnit) -> &'static str {
    match u {
        WeightUnit::Lb => "POUND",
        WeightUnit::Kg => "KILOGRAM",
        WeightUnit::Oz => "OUNCE",
        WeightUnit::G => "GRAM",
    }
}

/// eBay's length unit words (`packageWeightAndSize.dimensions.unit`); eBay has no mm.
pub fn length_unit(word: &str) -> Option<LengthUnit> {
    Some(match word {
        "INCH" => LengthUnit::In,
        "FEET" => LengthUnit::Ft,
        "CENTIMETER" => LengthUnit::Cm,
        "METER" => LengthUnit::M,
        _ => return None,
    })
}

/// The eBay unit a length is written in: its own, except millimetres, which eBay lacks
/// (written in centimetres).
pub fn ebay_length_unit(u: LengthUnit) -> (LengthUnit, &'static str) {
    match u {
        LengthUnit::In => (LengthUnit::In, "INCH"),
        LengthUnit::Ft => (LengthUnit::Ft, "FEET"),
        LengthUnit::Cm | LengthUnit::Mm => (LengthUnit::Cm, "CENTIMETER"),
        LengthUnit::M => (LengthUnit::M, "METER"),
    }
}

fn item_weight(item: &Value) -> Option<Weight> {
    let unit = text(item, "/packageWeightAndSize/weight/unit").and_then(|u| weight_unit(&u));
    Weight::from_parts(
        text(item, "/packageWeightAndSize/weight/value").as_deref(),
        unit,
    )
    .filter(|w| decimal(&w.value).is_some_and(|d| !d.is_zero()))
}

/// The item's package dimensions.
pub fn item_dimensions(item: &Value) -> Option<Dimensions> {
    let d = "/packageWeightAndSize/dimensions";
    Dimensions::from_parts(
        text(item, &format!("{d}/length")).as_deref(),
        text(item, &format!("{d}/width")).as_deref(),
        text(item, &format!("{d}/height")).as_deref(),
        text(item, &format!("{d}/unit")).and_then(|u| length_unit(&u)),
    )
}

/// The item's GTIN: its first UPC, else EAN, else ISBN.
fn item_barcode(item: &Value) -> Option<String> {
    ["upc", "ean", "isbn"].iter().find_map(|k| {
        list(item, &format!("/product/{k}"))
            .iter()
            .find_map(|v| non_empty(v.as_str()))
    })
}

fn item_levels(item: &Value) -> Vec<InventoryLevel> {
    list(
        item,
        "/availability/shipToLocationAvailability/availabilityDistributions",
    )
    .iter()
    .filter_map(|d| {
        Some(InventoryLevel {
            location_id: text(d, "/merchantLocationKey")?,
            available: int(d, "/quantity").unwrap_or(0),
        })
    })
    .collect()
}

fn item_quantity(item: &Value) -> Option<i64> {
    int(item, "/availability/shipToLocationAvailability/quantity")
}

/// The offer a product shows on this marketplace: a fixed-price one first.
pub fn offer_for<'a>(offers: &'a [Value], marketplace: &Marketplace) -> Option<&'a Value> {
    let here: Vec<&Value> = offers
        .iter()
        .filter(|o| text(o, "/marketplaceId").is_none_or(|m| m == marketplace.id))
        .collect();
    here.iter()
        .find(|o| text(o, "/format").as_deref() == Some("FIXED_PRICE"))
        .or_else(|| here.first())
        .copied()
}

/// An offer's status: published and listed is `active`; unpublished (or no offer) is
/// `draft`; a listing that ended is `archived`.
fn offer_status(offer: Option<&Value>) -> (ProductStatus, Option<String>) {
    let Some(o) = offer else {
        return (ProductStatus::Draft, None);
    };
    let status = text(o, "/status");
    let listing = text(o, "/listing/listingStatus");
    let platform = match (&status, &listing) {
        (Some(s), Some(l)) => Some(format!("{s}/{l}")),
        (Some(s), None) => Some(s.clone()),
        (None, l) => l.clone(),
    };
    let unified = match (status.as_deref(), listing.as_deref()) {
        (_, Some("ENDED" | "EBAY_ENDED" | "INACTIVE")) => ProductStatus::Archived,
        (Some("PUBLISHED"), _) => ProductStatus::Active,
        _ => ProductStatus::Draft,
    };
    (unified, platform)
}

fn offer_price(offer: Option<&Value>) -> (Option<Money>, Option<String>) {
    let Some(o) = offer else {
        return (None, None);
    };
    (
        amount(o, "/pricingSummary/price").map(money_of),
        text(o, "/pricingSummary/price/currency"),
    )
}

/// The SKU of an inventory item (list entries carry it; single reads are keyed by it).
pub fn item_sku(item: &Value) -> Option<String> {
    text(item, "/sku")
}

/// The inventory item group keys an item belongs to.
pub fn item_groups(item: &Value) -> Vec<String> {
    list(item, "/inventoryItemGroupKeys")
        .iter()
        .chain(list(item, "/groupIds"))
        .filter_map(|v| non_empty(v.as_str()))
        .fold(Vec::new(), |mut acc, k| {
            if !acc.contains(&k) {
                acc.push(k);
            }
            acc
        })
}

fn images(v: &Value, ptr: &str) -> Vec<String> {
    list(v, ptr)
        .iter()
        .filter_map(|u| non_empty(u.as_str()))
        .collect()
}

/// An inventory item (with its `sku`) and its offers as a product without variants.
pub fn product(item: &Value, offers: &[Value], marketplace: &Marketplace) -> Result<Product> {
    if !item.is_object() {
        return Err(ConnectorError::bad_body(
            "inventory item",
            "expected a JSON object",
        ));
    }
    let sku = item_sku(item)
        .ok_or_else(|| ConnectorError::bad_body("inventory item", "it has no sku"))?;
    let offer = offer_for(offers, marketplace);
    let (status, platform_status) = offer_status(offer);
    let (price, currency) = offer_price(offer);
    Ok(Product {
        id: sku.clone(),
        name: text(item, "/product/title").unwrap_or_else(|| sku.clone()),
        description: text(item, "/product/description"),
        sku: Some(sku),
        status,
        platform_status,
        price,
        currency: currency.or_else(|| Some(marketplace.currency.to_owned())),
        quantity: item_quantity(item),
        barcode: item_barcode(item),
        weight: item_weight(item),
        dimensions: item_dimensions(item),
        requires_shipping: None,
        inventory_levels: item_levels(item),
        images: images(item, "/product/imageUrls"),
        category_ids: Vec::new(),
        variants: Vec::new(),
        created_at: None,
        updated_at: None,
        raw: None,
    })
}

/// The option names of a group (`variesBy.specifications[].name`).
fn group_option_names(group: &Value) -> Vec<String> {
    list(group, "/variesBy/specifications")
        .iter()
        .filter_map(|s| text(s, "/name"))
        .collect()
}

/// One member item of a group as a variant: its options are its aspects named by the
/// group's `variesBy`.
pub fn variant(
    item: &Value,
    offers: &[Value],
    option_names: &[String],
    marketplace: &Marketplace,
) -> Result<Variant> {
    let sku = item_sku(item)
        .ok_or_else(|| ConnectorError::bad_body("inventory item", "it has no sku"))?;
    let (price, _) = offer_price(offer_for(offers, marketplace));
    let options = option_names
        .iter()
        .filter_map(|name| {
            let value = match item.pointer(&format!("/product/aspects/{}", pointer_escape(name)))? {
                Value::Array(vs) => vs.iter().find_map(|v| non_empty(v.as_str()))?,
                Value::String(s) => non_empty(Some(s))?,
                _ => return None,
            };
            Some((name.clone(), value))
        })
        .collect();
    Ok(Variant {
        id: sku.clone(),
        sku: Some(sku),
        name: text(item, "/product/title"),
        price,
        quantity: item_quantity(item),
        barcode: item_barcode(item),
        weight: item_weight(item),
        dimensions: item_dimensions(item),
        requires_shipping: None,
        inventory_levels: item_levels(item),
        options,
    })
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// An inventory item group and its member items (each with its offers, in the group's
/// `variantSKUs` order) as a product with variants.
pub fn group_product(
    group: &Value,
    members: &[(Value, Vec<Value>)],
    marketplace: &Marketplace,
) -> Result<Product> {
    if !group.is_object() {
        return Err(ConnectorError::bad_body(
            "inventory item group",
            "expected a JSON object",
        ));
    }
    let key = text(group, "/inventoryItemGroupKey").ok_or_else(|| {
        ConnectorError::bad_body("inventory item group", "it has no inventoryItemGroupKey")
    })?;
    let names = group_option_names(group);
    let variants = members
        .iter()
        .map(|(item, offers)| variant(item, offers, &names, marketplace))
        .collect::<Result<Vec<_>>>()?;
    let statuses: Vec<(ProductStatus, Option<String>)> = members
        .iter()
        .map(|(_, offers)| offer_status(offer_for(offers, marketplace)))
        .collect();
    let status = if statuses.iter().any(|(s, _)| *s == ProductStatus::Active) {
        ProductStatus::Active
    } else if statuses.is_empty() || statuses.iter().any(|(s, _)| *s == ProductStatus::Draft) {
        ProductStatus::Draft
    } else {
        ProductStatus::Archived
    };
    let platform_status = statuses
        .iter()
        .find(|(s, _)| *s == status)
        .and_then(|(_, p)| p.clone());
    let (price, currency) = members
        .iter()
        .map(|(_, offers)| offer_price(offer_for(offers, marketplace)))
        .find(|(p, _)| p.is_some())
        .unwrap_or((None, None));
    let quantities: Vec<i64> = variants.iter().filter_map(|v| v.quantity).collect();
    let mut images = images(group, "/imageUrls");
    if images.is_empty() {
        images = members
            .iter()
            .flat_map(|(item, _)| self::images(item, "/product/imageUrls"))
            .collect();
    }
    Ok(Product {
        id: key,
        name: text(group, "/title")
            .or_else(|| members.first().and_then(|(i, _)| text(i, "/product/title")))
            .unwrap_or_default(),
        description: text(group, "/description"),
        sku: None,
        status,
        platform_status,
        price,
        currency: currency.or_else(|| Some(marketplace.currency.to_owned())),
        quantity: (!quantities.is_empty()).then(|| quantities.iter().sum()),
        barcode: None,
        weight: None,
        dimensions: None,
        requires_shipping: None,
        inventory_levels: Vec::new(),
        images,
        category_ids: Vec::new(),
        variants,
        created_at: None,
        updated_at: None,
        raw: None,
    })
}

/// The group's member SKUs, in its order.
pub fn group_skus(group: &Value) -> Vec<String> {
    list(group, "/variantSKUs")
        .iter()
        .filter_map(|v| non_empty(v.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Locations and the store
// ---------------------------------------------------------------------------------------

/// An `InventoryLocationResponse` as a location.
pub fn location(l: &Value) -> Result<Location> {
    let id = text(l, "/merchantLocationKey").ok_or_else(|| {
        ConnectorError::bad_body("inventory location", "it has no merchantLocationKey")
    })?;
    let a = "/location/address";
    let address = Address {
        line1: text(l, &format!("{a}/addressLine1")),
        line2: text(l, &format!("{a}/addressLine2")),
        city: text(l, &format!("{a}/city")),
        region: text(l, &format!("{a}/stateOrProvince")),
        postal_code: text(l, &format!("{a}/postalCode")),
        country_code: text(l, &format!("{a}/country")).map(|c| c.to_ascii_uppercase()),
        phone: text(l, "/phone"),
        ..Default::default()
    };
    Ok(Location {
        id,
        name: text(l, "/name"),
        address: (!address.is_empty()).then_some(address),
        active: text(l, "/merchantLocationStatus").as_deref() != Some("DISABLED"),
    })
}

/// The Commerce Identity `getUser` answer as the store's info.
pub fn store_info(user: &Value, marketplace: &Marketplace) -> StoreInfo {
    let username = text(user, "/username");
    StoreInfo {
        name: text(user, "/businessAccount/name")
            .or_else(|| text(user, "/businessAccount/doingBusinessAs"))
            .or_else(|| username.clone()),
        url: username.map(|u| {
            format!(
                "https://{}/usr/{}",
                marketplace.site,
                cartgate_connector::util::encode_segment(&u)
            )
        }),
        currency: Some(marketplace.currency.to_owned()),
        timezone: None,
        platform_version: Some("Sell APIs v1".into()),
    }
}

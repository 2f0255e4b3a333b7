//! Pure mapping of SP-API payloads to the unified model, and of unified writes to SP-API
//! request bodies. No I/O here: the session (`client.rs`) fetches, this maps.
//!
//! Sources, as Amazon's models describe them (../shared/platform-specs/amazon/models):
//!
//! * orders: `Order` of the Orders API **v2026-01-01** (`searchOrders`, `getOrder`), read
//!   with `includedData` BUYER, RECIPIENT, PROCEEDS, PROMOTION, FULFILLMENT, PACKAGES and
//!   PAYMENT. Buyer and recipient data are there only as far as the app's roles allow:
//!   absent PII maps to `null`, never to an error;
//! * products: `Item` of the Listings Items API 2021-08-01 (summaries, attributes, offers,
//!   fulfillmentAvailability, relationships), one marketplace at a time; a variation
//!   parent and its children make one product with variants; FBA stock from the FBA
//!   Inventory API's `fulfillableQuantity`;
//! * the shop: `MarketplaceParticipation` of the Sellers API.
//!
//! Amounts are Amazon's decimal strings, kept exact. The table of what maps to what, and
//! what Amazon lacks, lives in `docs/mapping/amazon.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use cartgate_connector::lenient::{decimal, list_or_empty, parse, require_id, text};
use cartgate_connector::model::*;
use cartgate_connector::util::{non_empty, utc_time, valid_id, Decimal};
use cartgate_connector::{ConnectorError, Result};
use serde::Deserialize;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------

/// Prefix of an id that carries its SKU base64url-encoded.
const ENCODED: &str = "~";

/// The unified id of a SKU: the SKU itself when it can travel in a URL path as an id
/// (printable ASCII without `/ \ ? # %`), else `~` and its UTF-8 base64url-encoded.
/// Amazon SKUs may hold spaces and any Unicode letter.
pub fn sku_id(sku: &str) -> String {
    if valid_id(sku) && !sku.starts_with(ENCODED) {
        sku.to_owned()
    } else {
        format!(
            "{ENCODED}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sku)
        )
    }
}

/// The SKU an id names (see [`sku_id`]); `None` for an id no SKU maps to.
pub fn id_sku(id: &str) -> Option<String> {
    match id.strip_prefix(ENCODED) {
        Some(b64) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|s| !s.trim().is_empty() && sku_id(s) == id),
        None => (!id.trim().is_empty()).then(|| id.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Money {
    #[serde(deserialize_with = "text")]
    amount: Option<String>,
    #[serde(deserialize_with = "text")]
    currency_code: Option<String>,
}

impl Money {
    fn value(&self) -> Option<Decimal> {
        self.amount.as_deref().and_then(decimal)
    }
    fn currency(&self) -> Option<String> {
        non_empty(self.currency_code.as_deref()).map(|c| c.to_ascii_uppercase())
    }
}

/// Zero as an amount of `currency` (`"0.00"`, yen `"0"`), for a category the proceeds
/// leave out.
fn zero(currency: Option<&str>) -> String {
    match currency {
        Some("JPY") => "0".into(),
        _ => "0.00".into(),
    }
}

fn show(d: Decimal) -> String {
    d.to_string()
}

// ---------------------------------------------------------------------------------------
// Orders (v2026-01-01)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AzOrder {
    #[serde(deserialize_with = "text")]
    order_id: Option<String>,
    #[serde(deserialize_with = "text")]
    created_time: Option<String>,
    #[serde(deserialize_with = "text")]
    last_updated_time: Option<String>,
    sales_channel: Option<SalesChannel>,
    buyer: Option<Buyer>,
    recipient: Option<Recipient>,
    proceeds: Option<OrderProceeds>,
    payment: Option<OrderPayment>,
    fulfillment: Option<OrderFulfillment>,
    #[serde(deserialize_with = "list_or_empty")]
    order_items: Vec<OrderItem>,
    #[serde(deserialize_with = "list_or_empty")]
    packages: Vec<Package>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SalesChannel {
    #[serde(deserialize_with = "text")]
    marketplace_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Buyer {
    #[serde(deserialize_with = "text")]
    buyer_name: Option<String>,
    #[serde(deserialize_with = "text")]
    buyer_email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Recipient {
    delivery_address: Option<AzAddress>,
    delivery_preference: Option<DeliveryPreference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DeliveryPreference {
    #[serde(deserialize_with = "text")]
    address_instruction: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AzAddress {
    #[serde(deserialize_with = "text")]
    name: Option<String>,
    #[serde(deserialize_with = "text")]
    company_name: Option<String>,
    #[serde(deserialize_with = "text")]
    address_line1: Option<String>,
    #[serde(deserialize_with = "text")]
    address_line2: Option<String>,
    #[serde(deserialize_with = "text")]
    address_line3: Option<String>,
    #[serde(deserialize_with = "text")]
    city: Option<String>,
    #[serde(deserialize_with = "text")]
    state_or_region: Option<String>,
    #[serde(deserialize_with = "text")]
    postal_code: Option<String>,
    #[serde(deserialize_with = "text")]
    country_code: Option<String>,
    #[serde(deserialize_with = "text")]
    phone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OrderProceeds {
    grand_total: Option<Money>,
    #[serde(deserialize_with = "list_or_empty")]
    breakdowns: Vec<Breakdown>,
}

/// A proceeds breakdown, of the order or of an item.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Breakdown {
    #[serde(rename = "type", deserialize_with = "text")]
    kind: Option<String>,
    subtotal: Option<Money>,
    #[serde(deserialize_with = "list_or_empty")]
    detailed_breakdowns: Vec<DetailedBreakdown>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DetailedBreakdown {
    #[serde(deserialize_with = "text")]
    subtype: Option<String>,
    value: Option<Money>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OrderPayment {
    #[serde(deserialize_with = "list_or_empty")]
    payment_executions: Vec<PaymentExecution>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PaymentExecution {
    #[serde(deserialize_with = "text")]
    payment_method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OrderFulfillment {
    #[serde(deserialize_with = "text")]
    fulfillment_status: Option<String>,
    #[serde(deserialize_with = "text")]
    fulfilled_by: Option<String>,
    #[serde(deserialize_with = "text")]
    fulfillment_service_level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OrderItem {
    #[serde(deserialize_with = "text")]
    order_item_id: Option<String>,
    quantity_ordered: Option<i64>,
    product: ItemProduct,
    proceeds: Option<ItemProceeds>,
    promotion: Option<ItemPromotion>,
    fulfillment: Option<ItemFulfillment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ItemProduct {
    #[serde(deserialize_with = "text")]
    asin: Option<String>,
    #[serde(deserialize_with = "text")]
    title: Option<String>,
    #[serde(deserialize_with = "text")]
    seller_sku: Option<String>,
    price: Option<ItemPrice>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ItemPrice {
    unit_price: Option<Money>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ItemProceeds {
    proceeds_total: Option<Money>,
    #[serde(deserialize_with = "list_or_empty")]
    breakdowns: Vec<Breakdown>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ItemPromotion {
    #[serde(deserialize_with = "list_or_empty")]
    breakdowns: Vec<PromotionBreakdown>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PromotionBreakdown {
    #[serde(deserialize_with = "text")]
    promotion_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ItemFulfillment {
    quantity_fulfilled: Option<i64>,
    quantity_unfulfilled: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Package {
    #[serde(deserialize_with = "text")]
    package_reference_id: Option<String>,
    #[serde(deserialize_with = "text")]
    created_time: Option<String>,
    #[serde(deserialize_with = "text")]
    carrier: Option<String>,
    #[serde(deserialize_with = "text")]
    ship_time: Option<String>,
    #[serde(deserialize_with = "text")]
    tracking_number: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    package_items: Vec<PackageItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PackageItem {
    #[serde(deserialize_with = "text")]
    order_item_id: Option<String>,
    quantity: Option<i64>,
}

/// The breakdown of `kind` (`ITEM`, `SHIPPING`, `TAX`, `DISCOUNT`, …), summed when Amazon
/// lists it more than once.
fn category(breakdowns: &[Breakdown], kind: &str) -> Option<Decimal> {
    let mut found = None::<Decimal>;
    for b in breakdowns
        .iter()
        .filter(|b| b.kind.as_deref() == Some(kind))
    {
        if let Some(v) = b.subtotal.as_ref().and_then(Money::value) {
            found = Some(found.unwrap_or_default() + v);
        }
    }
    found
}

/// The part of a TAX breakdown charged on `subtype` (`ITEM`, `SHIPPING`, …).
fn tax_on(breakdowns: &[Breakdown], subtype: &str) -> Option<Decimal> {
    let mut found = None::<Decimal>;
    for b in breakdowns
        .iter()
        .filter(|b| b.kind.as_deref() == Some("TAX"))
    {
        for d in b
            .detailed_breakdowns
            .iter()
            .filter(|d| d.subtype.as_deref() == Some(subtype))
        {
            if let Some(v) = d.value.as_ref().and_then(Money::value) {
                found = Some(found.unwrap_or_default() + v);
            }
        }
    }
    found
}

/// The unified statuses of an order's `fulfillmentStatus`. Amazon authorizes payment
/// before an order is Unshipped and charges it as it ships.
pub fn order_statuses(status: &str) -> (OrderStatus, PaymentStatus, FulfillmentStatus) {
    use FulfillmentStatus as F;
    use OrderStatus as O;
    use PaymentStatus as P;
    match status {
        "PENDING" | "PENDING_AVAILABILITY" => (O::Pending, P::Pending, F::Unfulfilled),
        "UNSHIPPED" => (O::Processing, P::Authorized, F::Unfulfilled),
        "PARTIALLY_SHIPPED" => (O::Processing, P::PartiallyPaid, F::Partial),
        "SHIPPED" => (O::Completed, P::Paid, F::Fulfilled),
        "CANCELLED" => (O::Cancelled, P::Voided, F::Unfulfilled),
        "UNFULFILLABLE" => (O::Failed, P::Unknown, F::Unfulfilled),
        _ => (O::Unknown, P::Unknown, F::Unknown),
    }
}

/// The `fulfillmentStatuses` of a unified order status filter (none: nothing matches).
pub fn fulfillment_statuses(status: &str) -> &'static [&'static str] {
    match status {
        "pending" => &["PENDING", "PENDING_AVAILABILITY"],
        "processing" => &["UNSHIPPED", "PARTIALLY_SHIPPED"],
        "completed" => &["SHIPPED"],
        "cancelled" => &["CANCELLED"],
        "failed" => &["UNFULFILLABLE"],
        _ => &[],
    }
}

/// A full name split where most names split: first word, then the rest.
fn split_name(full: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(full) = non_empty(full) else {
        return (None, None);
    };
    match full.split_once(char::is_whitespace) {
        Some((first, rest)) => (non_empty(Some(first)), non_empty(Some(rest))),
        None => (Some(full), None),
    }
}

fn address(a: &AzAddress) -> Option<Address> {
    let (first_name, last_name) = split_name(a.name.as_deref());
    let line2 = [a.address_line2.as_deref(), a.address_line3.as_deref()]
        .into_iter()
        .filter_map(non_empty)
        .collect::<Vec<_>>()
        .join(", ");
    let out = Address {
        first_name,
        last_name,
        company: non_empty(a.company_name.as_deref()),
        line1: non_empty(a.address_line1.as_deref()),
        line2: non_empty(Some(&line2)),
        city: non_empty(a.city.as_deref()),
        region: non_empty(a.state_or_region.as_deref()),
        postal_code: non_empty(a.postal_code.as_deref()),
        country_code: non_empty(a.country_code.as_deref()).map(|c| c.to_ascii_uppercase()),
        phone: non_empty(a.phone.as_deref()),
        email: None,
    };
    (!out.is_empty()).then_some(out)
}

/// What the buyer saw for a shipping speed category.
fn service_level_title(code: &str) -> String {
    match code {
        "STANDARD" => "Standard".into(),
        "EXPEDITED" => "Expedited".into(),
        "FREE_ECONOMY" => "Free Economy".into(),
        "NEXT_DAY" => "Next Day".into(),
        "PRIORITY" => "Priority".into(),
        "SAME_DAY" => "Same Day".into(),
        "SECOND_DAY" => "Second Day".into(),
        "SCHEDULED" => "Scheduled".into(),
        other => other.into(),
    }
}

/// Whether the proceeds' item amounts include tax: Amazon lists TAX apart, and its grand
/// total either adds it (tax-exclusive amounts) or not (tax inside the amounts). `None`
/// when the figures cannot tell (no tax, or totals that add up neither way).
fn prices_include_tax(p: &OrderProceeds) -> Option<bool> {
    let grand = p.grand_total.as_ref()?.value()?;
    let tax = category(&p.breakdowns, "TAX").filter(|t| !t.is_zero())?;
    let mut without_tax = Decimal::ZERO;
    for b in &p.breakdowns {
        let v = b
            .subtotal
            .as_ref()
            .and_then(Money::value)
            .unwrap_or_default();
        match b.kind.as_deref() {
            Some("TAX") => {}
            Some("DISCOUNT") => without_tax -= v.abs(),
            _ => without_tax += v,
        }
    }
    if grand == without_tax + tax {
        Some(false)
    } else if grand == without_tax {
        Some(true)
    } else {
        None
    }
}

/// Maps one v2026-01-01 `Order` (as `searchOrders` lists it and `getOrder` answers it).
pub fn order(raw: &Value) -> Result<Order> {
    let o: AzOrder = parse(raw, "Amazon order")?;
    let id = require_id(o.order_id.as_deref(), "Amazon order")?;
    let fulfillment = o.fulfillment.unwrap_or_default();
    let platform_status = non_empty(fulfillment.fulfillment_status.as_deref());
    let (status, payment_status, fulfillment_status) =
        order_statuses(platform_status.as_deref().unwrap_or(""));
    let proceeds = o.proceeds.unwrap_or_default();
    let breakdowns = &proceeds.breakdowns;
    let currency = proceeds
        .grand_total
        .as_ref()
        .and_then(Money::currency)
        .or_else(|| {
            o.order_items.iter().find_map(|i| {
                i.product
                    .price
                    .as_ref()
                    .and_then(|p| p.unit_price.as_ref())
                    .and_then(Money::currency)
            })
        });
    let cur = currency.as_deref();
    let has_proceeds = proceeds.grand_total.is_some() || !breakdowns.is_empty();
    // A category the proceeds leave out is zero; without proceeds at all, unknown.
    let amount = |kind: &str| -> Option<String> {
        match category(breakdowns, kind) {
            Some(v) => Some(show(if kind == "DISCOUNT" { v.abs() } else { v })),
            None if has_proceeds => Some(zero(cur)),
            None => None,
        }
    };

    let line_items: Vec<LineItem> = o
        .order_items
        .iter()
        .map(|i| line_item(i, cur))
        .collect::<Result<_>>()?;
    let subtotal = category(breakdowns, "ITEM").map(show).or_else(|| {
        let mut sum = Decimal::ZERO;
        for l in &line_items {
            sum += l.total.as_deref().and_then(decimal)?;
        }
        (!line_items.is_empty()).then(|| show(sum))
    });

    let items_shipping_tax = o.order_items.iter().fold(None::<Decimal>, |acc, i| {
        match i
            .proceeds
            .as_ref()
            .and_then(|p| tax_on(&p.breakdowns, "SHIPPING"))
        {
            Some(v) => Some(acc.unwrap_or_default() + v),
            None => acc,
        }
    });
    let shipping_lines = match non_empty(fulfillment.fulfillment_service_level.as_deref()) {
        Some(code) => vec![ShippingLine {
            title: Some(service_level_title(&code)),
            code: Some(code),
            carrier: None,
            price: amount("SHIPPING"),
            // The items' tax on shipping; no tax at all is zero, tax without a shipping
            // part unknown.
            tax: items_shipping_tax.map(show).or_else(|| {
                (has_proceeds && category(breakdowns, "TAX").is_none()).then(|| zero(cur))
            }),
        }],
        None => Vec::new(),
    };
    let tax_lines = match category(breakdowns, "TAX") {
        Some(t) => vec![TaxLine {
            title: None,
            rate: None,
            amount: Some(show(t)),
        }],
        None => Vec::new(),
    };
    let mut promotions = BTreeSet::new();
    for i in &o.order_items {
        for p in i.promotion.iter().flat_map(|p| &p.breakdowns) {
            if let Some(id) = non_empty(p.promotion_id.as_deref()) {
                promotions.insert(id);
            }
        }
    }
    let discount_codes = promotions
        .into_iter()
        .map(|code| DiscountCode { code, amount: None })
        .collect();

    let customer = o.buyer.as_ref().and_then(|b| {
        let (first_name, last_name) = split_name(b.buyer_name.as_deref());
        let c = OrderCustomer {
            id: None,
            email: non_empty(b.buyer_email.as_deref()),
            first_name,
            last_name,
            phone: None,
        };
        (c != OrderCustomer::default()).then_some(c)
    });
    let recipient = o.recipient.unwrap_or_default();
    let shipments: Vec<Shipment> = o
        .packages
        .iter()
        .filter_map(|p| {
            Some(Shipment {
                id: non_empty(p.package_reference_id.as_deref())?,
                carrier: non_empty(p.carrier.as_deref()),
                tracking_number: non_empty(p.tracking_number.as_deref()),
                tracking_url: None,
                created_at: utc_time(p.created_time.as_deref())
                    .or_else(|| utc_time(p.ship_time.as_deref())),
            })
        })
        .collect();
    let fulfilled_at = (fulfillment_status == FulfillmentStatus::Fulfilled)
        .then(|| {
            o.packages
                .iter()
                .filter_map(|p| {
                    utc_time(p.ship_time.as_deref()).or_else(|| utc_time(p.created_time.as_deref()))
                })
                .max()
        })
        .flatten();
    let payment_method = o
        .payment
        .iter()
        .flat_map(|p| &p.payment_executions)
        .find_map(|e| non_empty(e.payment_method.as_deref()))
        .map(|m| PaymentMethod {
            code: Some(m.clone()),
            title: Some(m),
        });

    Ok(Order {
        number: Some(id.clone()),
        id,
        status,
        payment_status,
        fulfillment_status,
        platform_status,
        currency: currency.clone(),
        subtotal,
        shipping_total: amount("SHIPPING"),
        tax_total: amount("TAX"),
        discount_total: amount("DISCOUNT"),
        total: proceeds
            .grand_total
            .as_ref()
            .and_then(Money::value)
            .map(show),
        customer,
        billing_address: None,
        shipping_address: recipient.delivery_address.as_ref().and_then(address),
        line_items,
        shipments,
        shipping_lines,
        payment_method,
        prices_include_tax: prices_include_tax(&proceeds),
        tax_lines,
        discount_codes,
        refunds: Vec::new(),
        refunded_total: None,
        total_weight: None,
        tags: Vec::new(),
        note: None,
        customer_note: recipient
            .delivery_preference
            .and_then(|d| non_empty(d.address_instruction.as_deref())),
        paid_at: None,
        fulfilled_at,
        created_at: utc_time(o.created_time.as_deref()),
        updated_at: utc_time(o.last_updated_time.as_deref()),
        raw: None,
    })
}

fn line_item(i: &OrderItem, currency: Option<&str>) -> Result<LineItem> {
    let id = require_id(i.order_item_id.as_deref(), "Amazon order item")?;
    let quantity = i.quantity_ordered.unwrap_or(0);
    let unit = i
        .product
        .price
        .as_ref()
        .and_then(|p| p.unit_price.as_ref())
        .and_then(Money::value);
    let breakdowns: &[Breakdown] = i.proceeds.as_ref().map_or(&[], |p| &p.breakdowns);
    let has_proceeds = i
        .proceeds
        .as_ref()
        .is_some_and(|p| p.proceeds_total.is_some() || !p.breakdowns.is_empty());
    let total = category(breakdowns, "ITEM").or_else(|| unit.map(|u| u * Decimal::from(quantity)));
    let tax = category(breakdowns, "TAX");
    let sku = non_empty(i.product.seller_sku.as_deref());
    Ok(LineItem {
        id,
        product_id: sku.as_deref().map(sku_id),
        variant_id: None,
        name: non_empty(i.product.title.as_deref())
            .or_else(|| sku.clone())
            .or_else(|| non_empty(i.product.asin.as_deref()))
            .unwrap_or_default(),
        sku,
        quantity,
        unit_price: unit.map(show),
        total: total.map(show),
        tax_total: tax
            .map(show)
            .or_else(|| has_proceeds.then(|| zero(currency))),
        tax_lines: tax
            .map(|t| {
                vec![TaxLine {
                    title: None,
                    rate: None,
                    amount: Some(show(t)),
                }]
            })
            .unwrap_or_default(),
        discount_total: category(breakdowns, "DISCOUNT")
            .map(|d| show(d.abs()))
            .or_else(|| has_proceeds.then(|| zero(currency))),
        refunded_quantity: None,
        weight: None,
        requires_shipping: None,
        variant_options: BTreeMap::new(),
    })
}

/// What `confirmShipment` needs of an order: who fulfils it, its marketplace, and each
/// line's units not yet in a package.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippingFacts {
    pub fulfilled_by_amazon: bool,
    pub marketplace_id: Option<String>,
    pub status: Option<String>,
    /// Order item id → units still to ship, in the order's item order.
    pub remaining: Vec<(String, i64)>,
    /// The next free `packageReferenceId` (Amazon wants positive numbers, unique in the
    /// order).
    pub next_package_id: u64,
}

/// Reads [`ShippingFacts`] from a v2026-01-01 order.
pub fn shipping_facts(raw: &Value) -> Result<ShippingFacts> {
    let o: AzOrder = parse(raw, "Amazon order")?;
    let fulfillment = o.fulfillment.unwrap_or_default();
    let mut packed: HashMap<String, i64> = HashMap::new();
    let mut next_package_id = 1;
    for p in &o.packages {
        if let Some(n) = p
            .package_reference_id
            .as_deref()
            .and_then(|r| r.trim().parse::<u64>().ok())
        {
            next_package_id = next_package_id.max(n.saturating_add(1));
        }
        for i in &p.package_items {
            if let Some(id) = non_empty(i.order_item_id.as_deref()) {
                *packed.entry(id).or_default() += i.quantity.unwrap_or(0);
            }
        }
    }
    let remaining = o
        .order_items
        .iter()
        .filter_map(|i| {
            let id = non_empty(i.order_item_id.as_deref())?;
            let ordered = i.quantity_ordered.unwrap_or(0);
            let left = i
                .fulfillment
                .as_ref()
                .and_then(|f| {
                    f.quantity_unfulfilled
                        .or_else(|| f.quantity_fulfilled.map(|q| ordered - q))
                })
                .unwrap_or_else(|| ordered - packed.get(&id).copied().unwrap_or(0));
            Some((id, left.clamp(0, ordered.max(0))))
        })
        .collect();
    Ok(ShippingFacts {
        fulfilled_by_amazon: fulfillment.fulfilled_by.as_deref() == Some("AMAZON"),
        marketplace_id: o
            .sales_channel
            .and_then(|s| non_empty(s.marketplace_id.as_deref())),
        status: non_empty(fulfillment.fulfillment_status.as_deref()),
        remaining,
        next_package_id,
    })
}

/// Amazon's carrier codes for the carriers clients name most (its `CarrierCode` list);
/// any other carrier goes as `Other` with its name.
const CARRIER_CODES: &[&str] = &[
    "Amazon Shipping",
    "Australia Post",
    "Blue Dart",
    "BRT",
    "Canada Post",
    "China Post",
    "Chronopost",
    "Colissimo",
    "Correios",
    "Correos",
    "Delhivery",
    "Deutsche Post",
    "DHL",
    "DHL eCommerce",
    "DHL Express",
    "DPD",
    "FedEx",
    "GLS",
    "Hermes",
    "India Post",
    "Japan Post",
    "La Poste",
    "OnTrac",
    "Parcelforce",
    "Poste Italiane",
    "PostNL",
    "Purolator",
    "Royal Mail",
    "Sagawa Express",
    "SF Express",
    "TNT",
    "UPS",
    "USPS",
    "Yamato Transport",
    "Yodel",
];

/// `carrierCode` and `carrierName` for the carrier a client named.
pub fn carrier_fields(carrier: &str) -> (String, String) {
    let name = carrier.trim();
    match CARRIER_CODES.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        Some(code) => ((*code).to_owned(), (*code).to_owned()),
        None => ("Other".to_owned(), name.to_owned()),
    }
}

/// The `confirmShipment` body (Orders API v0): one package, its reference a positive
/// number as a string.
pub fn confirm_shipment_body(
    marketplace_id: &str,
    package_id: u64,
    s: &NewShipment,
    items: &[(String, i64)],
    ship_date: chrono::DateTime<chrono::Utc>,
) -> Value {
    let (code, name) = carrier_fields(&s.carrier);
    json!({
        "marketplaceId": marketplace_id,
        "packageDetail": {
            "packageReferenceId": package_id.to_string(),
            "carrierCode": code,
            "carrierName": name,
            "trackingNumber": s.tracking_number.trim(),
            "shipDate": ship_date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "orderItems": items
                .iter()
                .map(|(id, q)| json!({"orderItemId": id, "quantity": q}))
                .collect::<Vec<_>>(),
        }
    })
}

// ---------------------------------------------------------------------------------------
// Listings (2021-08-01)
// ---------------------------------------------------------------------------------------

/// What a listing maps against: the marketplace read, the FBA stock of its SKUs and the
/// location id FBA stock is shown at.
#[derive(Debug, Clone)]
pub struct ProductContext<'a> {
    pub marketplace_id: &'a str,
    /// SKU → FBA `fulfillableQuantity` (FBA Inventory API), for the SKUs Amazon fulfils.
    pub fba: &'a HashMap<String, i64>,
    /// The FBA location id (see [`fba_location`]).
    pub fba_location: &'a str,
}

/// The merchant-fulfilled stock's location id: Amazon's `DEFAULT` fulfillment channel.
pub const MFN_LOCATION: &str = "DEFAULT";

/// The FBA location id of a marketplace: Amazon's fulfillment channel code of its region
/// (`AMAZON_NA`, `AMAZON_EU`, `AMAZON_FE`).
pub fn fba_location(marketplace_id: &str) -> &'static str {
    match crate::region_of(marketplace_id) {
        Some(crate::Region::Eu) => "AMAZON_EU",
        Some(crate::Region::Fe) => "AMAZON_FE",
        _ => "AMAZON_NA",
    }
}

/// The two places Amazon keeps a seller's stock.
pub fn locations(fba_location_id: &str) -> Vec<Location> {
    vec![
        Location {
            id: MFN_LOCATION.into(),
            name: Some("Merchant-fulfilled (the seller's own stock)".into()),
            address: None,
            active: true,
        },
        Location {
            id: fba_location_id.into(),
            name: Some(format!(
                "Fulfilled by Amazon ({})",
                fba_location_id.trim_start_matches("AMAZON_")
            )),
            address: None,
            active: true,
        },
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Item {
    #[serde(deserialize_with = "text")]
    sku: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    summaries: Vec<Summary>,
    attributes: Map<String, Value>,
    #[serde(deserialize_with = "list_or_empty")]
    offers: Vec<Offer>,
    #[serde(deserialize_with = "list_or_empty")]
    fulfillment_availability: Vec<Availability>,
    #[serde(deserialize_with = "list_or_empty")]
    relationships: Vec<RelationshipsByMarketplace>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Summary {
    #[serde(deserialize_with = "text")]
    marketplace_id: Option<String>,
    #[serde(deserialize_with = "text")]
    product_type: Option<String>,
    #[serde(deserialize_with = "strings")]
    status: Vec<String>,
    #[serde(deserialize_with = "text")]
    item_name: Option<String>,
    #[serde(deserialize_with = "text")]
    created_date: Option<String>,
    #[serde(deserialize_with = "text")]
    last_updated_date: Option<String>,
    main_image: Option<Image>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Image {
    #[serde(deserialize_with = "text")]
    link: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Offer {
    #[serde(deserialize_with = "text")]
    marketplace_id: Option<String>,
    #[serde(deserialize_with = "text")]
    offer_type: Option<String>,
    price: Option<Money>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Availability {
    #[serde(deserialize_with = "text")]
    fulfillment_channel_code: Option<String>,
    quantity: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RelationshipsByMarketplace {
    #[serde(deserialize_with = "text")]
    marketplace_id: Option<String>,
    #[serde(deserialize_with = "list_or_empty")]
    relationships: Vec<Relationship>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Relationship {
    #[serde(rename = "type", deserialize_with = "text")]
    kind: Option<String>,
    #[serde(deserialize_with = "strings")]
    child_skus: Vec<String>,
    #[serde(deserialize_with = "strings")]
    parent_skus: Vec<String>,
    variation_theme: Option<VariationTheme>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VariationTheme {
    #[serde(deserialize_with = "strings")]
    attributes: Vec<String>,
}

impl Item {
    fn summary(&self, marketplace: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|s| s.marketplace_id.as_deref() == Some(marketplace))
            .or_else(|| self.summaries.first())
    }

    fn variation<'a>(
        &'a self,
        marketplace: &'a str,
    ) -> impl Iterator<Item = &'a Relationship> + 'a {
        let of_marketplace = self
            .relationships
            .iter()
            .any(|r| r.marketplace_id.as_deref() == Some(marketplace));
        self.relationships
            .iter()
            .filter(move |r| {
                !of_marketplace
                    || r.marketplace_id.is_none()
                    || r.marketplace_id.as_deref() == Some(marketplace)
            })
            .flat_map(|r| &r.relationships)
            .filter(|r| r.kind.as_deref() == Some("VARIATION"))
    }

    /// The first value of attribute `name` for the marketplace (or for every marketplace).
    fn attribute(&self, name: &str, marketplace: &str) -> Option<&Value> {
        let values = self.attributes.get(name)?.as_array()?;
        values
            .iter()
            .find(|v| v.get("marketplace_id").and_then(Value::as_str) == Some(marketplace))
            .or_else(|| {
                values
                    .iter()
                    .find(|v| v.get("marketplace_id").is_none_or(Value::is_null))
            })
            .or_else(|| values.first())
    }

    fn attribute_text(&self, name: &str, marketplace: &str) -> Option<String> {
        scalar_text(self.attribute(name, marketplace)?.get("value")?)
    }

    fn offer_price(&self, marketplace: &str) -> Option<&Money> {
        let of = |m: Option<&str>| {
            self.offers.iter().find(|o| {
                o.marketplace_id.as_deref() == m
                    && o.offer_type.as_deref().is_none_or(|t| t == "B2C")
            })
        };
        of(Some(marketplace))
            .or_else(|| of(None))
            .and_then(|o| o.price.as_ref())
    }
}

/// A list of strings; anything else in it (or instead of it) is left out.
fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().and_then(|s| non_empty(Some(s))))
                .collect()
        })
        .unwrap_or_default())
}

/// A JSON scalar as text (`30.0` → `"30.0"`, `"4006381333931"` stays).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A `{value, unit}` measure of the listing's attributes.
fn measure(v: &Value) -> (Option<String>, Option<String>) {
    (
        v.get("value").and_then(scalar_text),
        v.get("unit").and_then(Value::as_str).map(str::to_owned),
    )
}

/// Shipping tools want the package: `item_package_*`, else the item's own `item_*`.
fn weight_of(item: &Item, marketplace: &str) -> Option<Weight> {
    ["item_package_weight", "item_weight"].iter().find_map(|n| {
        let (value, unit) = measure(item.attribute(n, marketplace)?);
        Weight::from_parts(
            value.as_deref(),
            unit.as_deref().and_then(WeightUnit::parse),
        )
    })
}

fn dimensions_of(item: &Item, marketplace: &str) -> Option<Dimensions> {
    ["item_package_dimensions", "item_dimensions"]
        .iter()
        .find_map(|n| {
            let d = item.attribute(n, marketplace)?;
            let sides: Vec<(Option<String>, Option<LengthUnit>)> = ["length", "width", "height"]
                .iter()
                .map(|s| {
                    let (v, u) = d.get(*s).map(measure).unwrap_or_default();
                    (v, u.as_deref().and_then(LengthUnit::parse))
                })
                .collect();
            let unit = sides.iter().find_map(|(_, u)| *u)?;
            // Sides in another unit than the first are converted to it.
            let side = |i: usize| -> Option<String> {
                let (v, u) = &sides[i];
                Dimensions::side_in(v, u.unwrap_or(unit), unit)
                    .ok()
                    .flatten()
            };
            Dimensions::from_parts(
                side(0).as_deref(),
                side(1).as_deref(),
                side(2).as_deref(),
                Some(unit),
            )
        })
}

fn barcode_of(item: &Item, marketplace: &str) -> Option<String> {
    item.attribute_text("externally_assigned_product_identifier", marketplace)
}

/// Stock of one SKU per location: `DEFAULT` as the listing says, FBA as the FBA Inventory
/// API says (a listing Amazon fulfils names an `AMAZON_*` channel).
fn levels_of(item: &Item, sku: &str, cx: &ProductContext) -> Vec<InventoryLevel> {
    let mut out = Vec::new();
    if let Some(a) = item
        .fulfillment_availability
        .iter()
        .find(|a| a.fulfillment_channel_code.as_deref() == Some(MFN_LOCATION))
    {
        out.push(InventoryLevel {
            location_id: MFN_LOCATION.into(),
            available: a.quantity.unwrap_or(0).max(0),
        });
    }
    let by_amazon = item.fulfillment_availability.iter().any(|a| {
        a.fulfillment_channel_code
            .as_deref()
            .is_some_and(|c| c.starts_with("AMAZON"))
    });
    if by_amazon || cx.fba.contains_key(sku) {
        out.push(InventoryLevel {
            location_id: cx.fba_location.into(),
            available: cx.fba.get(sku).copied().unwrap_or(0).max(0),
        });
    }
    out
}

fn total(levels: &[InventoryLevel]) -> Option<i64> {
    (!levels.is_empty()).then(|| levels.iter().map(|l| l.available).sum())
}

/// Is this listing a variation child (its family is shown under its parent)?
pub fn parent_sku(raw: &Value, marketplace: &str) -> Option<String> {
    let item: Item = serde_json::from_value(raw.clone()).ok()?;
    let parent = item
        .variation(marketplace)
        .find_map(|r| r.parent_skus.first().cloned());
    parent.and_then(|p| non_empty(Some(&p)))
}

/// Is this listing a variation parent?
pub fn is_parent(raw: &Value, marketplace: &str) -> bool {
    serde_json::from_value::<Item>(raw.clone()).is_ok_and(|item| {
        item.variation(marketplace)
            .any(|r| r.variation_theme.is_some() || !r.child_skus.is_empty())
    })
}

/// The SKU of a listing item.
pub fn item_sku(raw: &Value) -> Option<String> {
    raw.get("sku")
        .and_then(Value::as_str)
        .and_then(|s| non_empty(Some(s)))
}

/// The product type Amazon files a listing under in the marketplace (patches need it).
pub fn product_type(raw: &Value, marketplace: &str) -> Option<String> {
    let item: Item = serde_json::from_value(raw.clone()).ok()?;
    item.summary(marketplace)
        .and_then(|s| non_empty(s.product_type.as_deref()))
}

fn status_of(summary: Option<&Summary>) -> (ProductStatus, Option<String>) {
    let words: Vec<&str> = summary
        .map(|s| s.status.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let status = if words.contains(&"BUYABLE") {
        ProductStatus::Active
    } else {
        ProductStatus::Draft
    };
    (status, (!words.is_empty()).then(|| words.join(",")))
}

fn name_of(item: &Item, marketplace: &str) -> Option<String> {
    item.attribute_text("item_name", marketplace).or_else(|| {
        item.summary(marketplace)
            .and_then(|s| non_empty(s.item_name.as_deref()))
    })
}

/// Maps a listing and, for a variation parent, its children (as `searchListingsItems`
/// answers them with `variationParentSku`) to one product.
pub fn product(raw: &Value, children: &[Value], cx: &ProductContext) -> Result<Product> {
    let item: Item = parse(raw, "Amazon listing")?;
    let sku = require_id(item.sku.as_deref(), "Amazon listing")?;
    let m = cx.marketplace_id;
    let summary = item.summary(m);
    let theme: Vec<String> = item
        .variation(m)
        .filter_map(|r| r.variation_theme.as_ref())
        .flat_map(|t| t.attributes.iter().cloned())
        .collect();
    let variants = children
        .iter()
        .map(|c| variant(c, &theme, cx))
        .collect::<Result<Vec<_>>>()?;
    let kids: Vec<Item> = children
        .iter()
        .filter_map(|c| serde_json::from_value(c.clone()).ok())
        .collect();

    let (mut status, platform_status) = status_of(summary);
    if kids
        .iter()
        .any(|k| status_of(k.summary(m)).0 == ProductStatus::Active)
    {
        status = ProductStatus::Active;
    }
    let own_levels = if variants.is_empty() {
        levels_of(&item, &sku, cx)
    } else {
        Vec::new()
    };
    let quantity = if variants.is_empty() {
        total(&own_levels)
    } else {
        let qs: Vec<i64> = variants.iter().filter_map(|v| v.quantity).collect();
        (!qs.is_empty()).then(|| qs.iter().sum())
    };
    let price = item.offer_price(m);
    let currency = price.and_then(Money::currency).or_else(|| {
        kids.iter()
            .find_map(|k| k.offer_price(m).and_then(Money::currency))
    });
    let times = |f: fn(&Summary) -> Option<&str>| {
        std::iter::once(summary)
            .chain(kids.iter().map(|k| k.summary(m)))
            .flatten()
            .filter_map(|s| utc_time(f(s)))
            .collect::<Vec<_>>()
    };
    let created = utc_time(summary.and_then(|s| s.created_date.as_deref()))
        .or_else(|| times(|s| s.created_date.as_deref()).into_iter().min());
    let updated = times(|s| s.last_updated_date.as_deref()).into_iter().max();
    Ok(Product {
        id: sku_id(&sku),
        name: name_of(&item, m).unwrap_or_else(|| sku.clone()),
        description: item.attribute_text("product_description", m),
        sku: Some(sku),
        status,
        platform_status,
        price: price.and_then(Money::value).map(show),
        currency,
        quantity,
        barcode: barcode_of(&item, m),
        weight: weight_of(&item, m),
        dimensions: dimensions_of(&item, m),
        requires_shipping: None,
        inventory_levels: own_levels,
        images: summary
            .and_then(|s| s.main_image.as_ref())
            .and_then(|i| non_empty(i.link.as_deref()))
            .into_iter()
            .collect(),
        category_ids: Vec::new(),
        variants,
        created_at: created,
        updated_at: updated,
        raw: None,
    })
}

fn variant(raw: &Value, theme: &[String], cx: &ProductContext) -> Result<Variant> {
    let item: Item = parse(raw, "Amazon listing")?;
    let sku = require_id(item.sku.as_deref(), "Amazon listing")?;
    let m = cx.marketplace_id;
    let levels = levels_of(&item, &sku, cx);
    let options = theme
        .iter()
        .filter_map(|a| Some((a.clone(), item.attribute_text(a, m)?)))
        .collect();
    Ok(Variant {
        id: sku_id(&sku),
        name: name_of(&item, m),
        price: item.offer_price(m).and_then(Money::value).map(show),
        quantity: total(&levels),
        barcode: barcode_of(&item, m),
        weight: weight_of(&item, m),
        dimensions: dimensions_of(&item, m),
        requires_shipping: None,
        inventory_levels: levels,
        options,
        sku: Some(sku),
    })
}

/// FBA stock by SKU from one `getInventorySummaries` answer (`fulfillableQuantity` when
/// details were asked for, else `totalQuantity`).
pub fn fba_quantities(raw: &Value) -> HashMap<String, i64> {
    let summaries = raw
        .pointer("/payload/inventorySummaries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    summaries
        .iter()
        .filter_map(|s| {
            let sku = non_empty(s.get("sellerSku")?.as_str())?;
            let q = s
                .pointer("/inventoryDetails/fulfillableQuantity")
                .or_else(|| s.get("totalQuantity"))
                .and_then(Value::as_i64)?;
            Some((sku, q))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The shop (Sellers API)
// ---------------------------------------------------------------------------------------

/// One marketplace the seller participates in.
#[derive(Debug, Clone, PartialEq)]
pub struct Marketplace {
    pub id: String,
    pub store_name: Option<String>,
    pub country_code: Option<String>,
    pub currency: Option<String>,
    pub language: Option<String>,
    pub domain: Option<String>,
    pub participating: bool,
}

/// The marketplaces of a `getMarketplaceParticipations` answer.
pub fn marketplaces(raw: &Value) -> Result<Vec<Marketplace>> {
    let list = raw
        .get("payload")
        .and_then(Value::as_array)
        .ok_or_else(|| ConnectorError::bad_body("marketplace participations", "no payload"))?;
    Ok(list
        .iter()
        .filter_map(|p| {
            let m = p.get("marketplace")?;
            let s = |v: &Value, k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .and_then(|x| non_empty(Some(x)))
            };
            Some(Marketplace {
                id: s(m, "id")?,
                store_name: s(p, "storeName"),
                country_code: s(m, "countryCode"),
                currency: s(m, "defaultCurrencyCode"),
                language: s(m, "defaultLanguageCode"),
                domain: s(m, "domainName"),
                participating: p
                    .pointer("/participation/isParticipating")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            })
        })
        .collect())
}

/// The shop as one marketplace shows it.
pub fn store_info(m: &Marketplace) -> StoreInfo {
    StoreInfo {
        name: m.store_name.clone(),
        url: m.domain.as_deref().map(|d| {
            if d.starts_with("http") {
                d.to_owned()
            } else {
                format!("https://{d}")
            }
        }),
        currency: m.currency.clone(),
        timezone: None,
        platform_version: Some("SP-API (Orders v2026-01-01, Listings Items 2021-08-01)".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Writes (Listings Items API)
// ---------------------------------------------------------------------------------------

/// Where and in what language a listing's attributes are written.
#[derive(Debug, Clone)]
pub struct WriteContext<'a> {
    pub marketplace_id: &'a str,
    /// e.g. `en_US`, for text attributes.
    pub language_tag: &'a str,
    pub currency: Option<&'a str>,
}

fn text_attribute(value: &str, w: &WriteContext) -> Value {
    json!([{"value": value, "language_tag": w.language_tag, "marketplace_id": w.marketplace_id}])
}

fn number(s: &str) -> Value {
    // A decimal string as a JSON number (Amazon's measures are numbers), exactly.
    serde_json::from_str::<serde_json::Number>(s.trim())
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(s.trim().to_owned()))
}

pub fn price_attribute(price: &str, w: &WriteContext) -> Value {
    let mut offer = json!({
        "marketplace_id": w.marketplace_id,
        "our_price": [{"schedule": [{"value_with_tax": number(price)}]}],
    });
    if let Some(c) = w.currency {
        offer["currency"] = json!(c);
    }
    json!([offer])
}

/// `fulfillment_availability` with the merchant-fulfilled quantity set and every other
/// channel of the listing (`listing`'s `fulfillmentAvailability`, e.g. `AMAZON_NA`) kept:
/// the attribute is replaced whole, and leaving FBA out would take the listing off it.
pub fn quantity_attribute(listing: Option<&Value>, quantity: i64) -> Value {
    let mut out = vec![json!({"fulfillment_channel_code": MFN_LOCATION, "quantity": quantity})];
    let channels = listing
        .and_then(|l| l.get("fulfillmentAvailability"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for c in channels {
        match c.get("fulfillmentChannelCode").and_then(Value::as_str) {
            Some(code) if code != MFN_LOCATION && !code.is_empty() => {
                out.push(json!({"fulfillment_channel_code": code}));
            }
            _ => {}
        }
    }
    Value::Array(out)
}

fn weight_unit_word(u: WeightUnit) -> &'static str {
    match u {
        WeightUnit::G => "grams",
        WeightUnit::Kg => "kilograms",
        WeightUnit::Oz => "ounces",
        WeightUnit::Lb => "pounds",
    }
}

fn length_unit_word(u: LengthUnit) -> &'static str {
    match u {
        LengthUnit::Mm => "millimeters",
        LengthUnit::Cm => "centimeters",
        LengthUnit::M => "meters",
        LengthUnit::In => "inches",
        LengthUnit::Ft => "feet",
    }
}

pub fn weight_attribute(wt: &Weight, w: &WriteContext) -> Value {
    json!([{
        "value": number(&wt.value),
        "unit": weight_unit_word(wt.unit),
        "marketplace_id": w.marketplace_id,
    }])
}

pub fn dimensions_attribute(d: &Dimensions, w: &WriteContext) -> Value {
    let mut out = json!({"marketplace_id": w.marketplace_id});
    for (side, v) in [
        ("length", &d.length),
        ("width", &d.width),
        ("height", &d.height),
    ] {
        if let Some(v) = v {
            out[side] = json!({"value": number(v), "unit": length_unit_word(d.unit)});
        }
    }
    json!([out])
}

/// The identifier type Amazon files a barcode under, by its length: UPC (12), EAN (8 or
/// 13), GTIN (14); ISBNs (10, or 13 starting 978/979) as ISBN.
pub fn barcode_attribute(code: &str, w: &WriteContext) -> Value {
    let code = code.trim();
    let digits = code.chars().all(|c| c.is_ascii_digit());
    let kind = match (code.len(), digits) {
        (12, true) => "upc",
        (13, true) if code.starts_with("978") || code.starts_with("979") => "isbn",
        (8 | 13, true) => "ean",
        (14, true) => "gtin",
        (10, _) => "isbn",
        _ => "ean",
    };
    json!([{"type": kind, "value": code, "marketplace_id": w.marketplace_id}])
}

/// One `replace` patch of a listing attribute.
pub fn replace(attribute: &str, value: Value) -> Value {
    json!({"op": "replace", "path": format!("/attributes/{attribute}"), "value": value})
}

/// The attributes of a new listing from the unified fields, over the client's own
/// `platform_fields.attributes` (a unified field wins over the same attribute there).
pub fn new_listing_attributes(
    p: &NewProduct,
    given: Option<&Map<String, Value>>,
    w: &WriteContext,
) -> Map<String, Value> {
    let mut attrs = given.cloned().unwrap_or_default();
    // A listing needs its condition; new goods unless the client says otherwise.
    attrs
        .entry("condition_type")
        .or_insert_with(|| json!([{"value": "new_new", "marketplace_id": w.marketplace_id}]));
    attrs.insert("item_name".into(), text_attribute(p.name.trim(), w));
    if let Some(d) = non_empty(p.description.as_deref()) {
        attrs.insert("product_description".into(), text_attribute(&d, w));
    }
    if let Some(price) = &p.price {
        attrs.insert("purchasable_offer".into(), price_attribute(price, w));
    }
    if let Some(q) = p.quantity {
        attrs.insert(
            "fulfillment_availability".into(),
            quantity_attribute(None, q),
        );
    }
    attrs
}

pub fn name_attribute(name: &str, w: &WriteContext) -> Value {
    text_attribute(name.trim(), w)
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// The first `{code, message, details}` of an SP-API error body (`{"errors": [...]}`).
pub fn error_of(body: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("errors")?.as_array()?.first()?;
    let code = e
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(d) = e
        .get("details")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
    {
        message = format!("{message} ({d})");
    }
    Some((code, message))
}

/// The issues of a listings submission with severity ERROR, as one message.
pub fn submission_errors(raw: &Value) -> Option<String> {
    let issues = raw.get("issues")?.as_array()?;
    let errors: Vec<String> = issues
        .iter()
        .filter(|i| i.get("severity").and_then(Value::as_str) == Some("ERROR"))
        .filter_map(|i| i.get("message").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_ids_round_trip() {
        for sku in [
            "ABC-123",
            "GM-ZDPI-9B4E",
            "a b",
            "Tasse/rot",
            "100%",
            "~x",
            "Überjacke",
            "..",
        ] {
            let id = sku_id(sku);
            assert!(valid_id(&id), "{sku} → {id}");
            assert_eq!(id_sku(&id).as_deref(), Some(sku), "{sku}");
        }
        assert_eq!(sku_id("ABC-123"), "ABC-123");
        assert_eq!(id_sku("~!!"), None);
        // An encoded form of a SKU that travels as itself is not a second id for it.
        let plain = format!(
            "~{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("ABC")
        );
        assert_eq!(id_sku(&plain), None);
    }

    #[test]
    fn statuses_and_filters_agree() {
        for s in [
            "PENDING",
            "PENDING_AVAILABILITY",
            "UNSHIPPED",
            "PARTIALLY_SHIPPED",
            "SHIPPED",
            "CANCELLED",
            "UNFULFILLABLE",
        ] {
            let unified = serde_json::to_value(order_statuses(s).0).unwrap();
            assert!(
                fulfillment_statuses(unified.as_str().unwrap()).contains(&s),
                "{s} is found by its unified status"
            );
        }
        assert!(fulfillment_statuses("refunded").is_empty());
    }

    #[test]
    fn carriers_and_barcodes() {
        assert_eq!(carrier_fields("ups"), ("UPS".into(), "UPS".into()));
        assert_eq!(
            carrier_fields(" Schenker "),
            ("Other".into(), "Schenker".into())
        );
        let w = WriteContext {
            marketplace_id: "ATVPDKIKX0DER",
            language_tag: "en_US",
            currency: Some("USD"),
        };
        assert_eq!(barcode_attribute("4006381333931", &w)[0]["type"], "ean");
        assert_eq!(barcode_attribute("036000291452", &w)[0]["type"], "upc");
        assert_eq!(barcode_attribute("9780306406157", &w)[0]["type"], "isbn");
        assert_eq!(barcode_attribute("10036000291459", &w)[0]["type"], "gtin");
        assert_eq!(
            price_attribute("19.90", &w)[0]["our_price"][0]["schedule"][0]["value_with_tax"],
            json!(19.90)
        );
        assert_eq!(
            weight_attribute(
                &Weight {
                    value: "1.5".into(),
                    unit: WeightUnit::Kg
                },
                &w
            )[0]["unit"],
            "kilograms"
        );
    }

    #[test]
    fn names_split_at_the_first_space() {
        assert_eq!(
            split_name(Some("John Smith")),
            (Some("John".into()), Some("Smith".into()))
        );
        assert_eq!(
            split_name(Some("Jean-Luc  de la Lefèvre")),
            (Some("Jean-Luc".into()), Some("de la Lefèvre".into()))
        );
        assert_eq!(split_name(Some("Cher")), (Some("Cher".into()), None));
        assert_eq!(split_name(Some("  ")), (None, None));
    }
}

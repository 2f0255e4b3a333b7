//! The unified commerce model: what every connector maps its platform's payloads into.
//!
//! Conventions (see DESIGN.md): money is a decimal string beside an ISO 4217 `currency`,
//! times are RFC 3339 UTC, countries ISO 3166-1 alpha-2, ids are strings, absent data is
//! `null` (never `""`), and every object keeps the platform's own status words in
//! `platform_status` so nothing is lost in the mapping.
//!
//! This module is pure data: no I/O, no platform knowledge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::util::Decimal;

/// A decimal amount as a string, e.g. `"19.99"`. Never a float.
pub type Money = String;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Processing,
    OnHold,
    Completed,
    Cancelled,
    Refunded,
    Failed,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Authorized,
    Paid,
    PartiallyPaid,
    PartiallyRefunded,
    Refunded,
    Voided,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfillmentStatus {
    Unfulfilled,
    Partial,
    Fulfilled,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Active,
    Draft,
    Archived,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    /// State, province or region code as the platform gives it.
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Address {
    /// True when every field is absent; mappers return `None` instead of an empty address.
    pub fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderCustomer {
    /// `null` for guest checkouts.
    pub id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LineItem {
    pub id: String,
    pub product_id: Option<String>,
    pub variant_id: Option<String>,
    pub sku: Option<String>,
    pub name: String,
    pub quantity: i64,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub unit_price: Option<Money>,
    #[schema(value_type = Option<String>, example = "39.98")]
    pub total: Option<Money>,
    /// Tax on this line (all units, after discounts).
    #[schema(value_type = Option<String>, example = "3.20")]
    pub tax_total: Option<Money>,
    pub tax_lines: Vec<TaxLine>,
    /// Discounts applied to this line (all units).
    #[schema(value_type = Option<String>, example = "4.00")]
    pub discount_total: Option<Money>,
    /// Units refunded so far; `0` when none, `null` where the platform does not say.
    pub refunded_quantity: Option<i64>,
    /// Weight of one unit, as the order reports it.
    pub weight: Option<Weight>,
    /// `false` for virtual and downloadable items.
    pub requires_shipping: Option<bool>,
    /// The variant's options, e.g. `{"Size": "M"}`; empty for simple products.
    pub variant_options: std::collections::BTreeMap<String, String>,
}

/// A mass, as the store keeps it (no unit conversion on reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    /// Decimal string, e.g. `"1.25"`.
    #[schema(example = "1.25")]
    pub value: String,
    pub unit: WeightUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WeightUnit {
    G,
    Kg,
    Oz,
    Lb,
}

/// Outer dimensions of one unit, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    /// Decimal string; `null` when the store leaves it blank.
    #[schema(example = "30")]
    pub length: Option<String>,
    #[schema(example = "20")]
    pub width: Option<String>,
    #[schema(example = "10")]
    pub height: Option<String>,
    pub unit: LengthUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LengthUnit {
    Mm,
    Cm,
    M,
    In,
    Ft,
}

impl WeightUnit {
    /// Grams in one unit.
    fn grams(self) -> Decimal {
        match self {
            WeightUnit::G => Decimal::ONE,
            WeightUnit::Kg => Decimal::from(1000),
            WeightUnit::Oz => Decimal::new(28_349_523_125, 9),
            WeightUnit::Lb => Decimal::new(45_359_237, 5),
        }
    }

    /// Parses a platform's unit word (`kg`, `KGS`, `lbs`, `GRAMS`, `OUNCES`, …).
    pub fn parse(word: &str) -> Option<WeightUnit> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "g" | "gram" | "grams" | "gr" => WeightUnit::G,
            "kg" | "kgs" | "kilogram" | "kilograms" => WeightUnit::Kg,
            "oz" | "ounce" | "ounces" => WeightUnit::Oz,
            "lb" | "lbs" | "pound" | "pounds" => WeightUnit::Lb,
            _ => return None,
        })
    }
}

impl LengthUnit {
    /// Millimetres in one unit.
    fn millimetres(self) -> Decimal {
        match self {
            LengthUnit::Mm => Decimal::ONE,
            LengthUnit::Cm => Decimal::from(10),
            LengthUnit::M => Decimal::from(1000),
            LengthUnit::In => Decimal::new(254, 1),
            LengthUnit::Ft => Decimal::new(3048, 1),
        }
    }

    /// Parses a platform's unit word (`cm`, `CENTIMETERS`, `inch`, `yd` is not one).
    pub fn parse(word: &str) -> Option<LengthUnit> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "mm" | "millimeter" | "millimeters" | "millimetre" | "millimetres" => LengthUnit::Mm,
            "cm" | "centimeter" | "centimeters" | "centimetre" | "centimetres" => LengthUnit::Cm,
            "m" | "meter" | "meters" | "metre" | "metres" => LengthUnit::M,
            "in" | "inch" | "inches" => LengthUnit::In,
            "ft" | "foot" | "feet" => LengthUnit::Ft,
            _ => return None,
        })
    }
}

/// A non-negative decimal string, canonical; `None` for anything else.
fn non_negative(s: &str) -> Option<Decimal> {
    s.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
}

/// Converts a decimal between units given the size of each in a common base, rounded to
/// what a store keeps (at most 4 decimals), trailing zeros dropped.
fn convert(value: Decimal, from: Decimal, to: Decimal) -> String {
    (value * from / to).round_dp(4).normalize().to_string()
}

impl Weight {
    /// Builds a weight from a platform's value and unit; `None` when either is missing or
    /// the value is blank, unreadable or negative.
    pub fn from_parts(value: Option<&str>, unit: Option<WeightUnit>) -> Option<Weight> {
        let value = non_negative(value?)?;
        Some(Weight {
            value: value.normalize().to_string(),
            unit: unit?,
        })
    }

    /// The same weight in `unit` (to at most 4 decimals), for a store that keeps one unit.
    pub fn value_in(&self, unit: WeightUnit) -> crate::Result<String> {
        let v = non_negative(&self.value).ok_or_else(|| invalid("weight.value"))?;
        Ok(convert(v, self.unit.grams(), unit.grams()))
    }
}

impl Dimensions {
    /// Builds dimensions from a platform's values; `None` when all three are blank.
    pub fn from_parts(
        length: Option<&str>,
        width: Option<&str>,
        height: Option<&str>,
        unit: Option<LengthUnit>,
    ) -> Option<Dimensions> {
        let read = |s: Option<&str>| s.and_then(non_negative).map(|d| d.normalize().to_string());
        let (length, width, height) = (read(length), read(width), read(height));
        if length.is_none() && width.is_none() && height.is_none() {
            return None;
        }
        Some(Dimensions {
            length,
            width,
            height,
            unit: unit?,
        })
    }

    /// One side in `unit` (to at most 4 decimals); `None` where the side is blank.
    pub fn side_in(
        side: &Option<String>,
        from: LengthUnit,
        unit: LengthUnit,
    ) -> crate::Result<Option<String>> {
        side.as_deref()
            .map(|s| {
                let v = non_negative(s).ok_or_else(|| invalid("dimensions"))?;
                Ok(convert(v, from.millimetres(), unit.millimetres()))
            })
            .transpose()
    }
}

fn invalid(field: &str) -> crate::ConnectorError {
    crate::ConnectorError::Validation(format!(
        "{field} must be a non-negative decimal string such as \"1.5\""
    ))
}

/// A tax charged on an order or a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaxLine {
    /// The tax's name as the store calls it, e.g. `"VAT"`.
    pub title: Option<String>,
    /// The rate as a decimal fraction: `"0.2"` is 20 %.
    #[schema(example = "0.2")]
    pub rate: Option<String>,
    #[schema(value_type = Option<String>, example = "3.20")]
    pub amount: Option<Money>,
}

/// The shipping method the buyer chose and paid for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShippingLine {
    /// What the buyer saw, e.g. `"Flat rate"`.
    pub title: Option<String>,
    /// The platform's method code, e.g. `"flat_rate"` or `"flatrate_flatrate"`.
    pub code: Option<String>,
    /// The carrier or source the platform names for it, when it names one.
    pub carrier: Option<String>,
    /// What the buyer paid for it, before tax.
    #[schema(value_type = Option<String>, example = "10.00")]
    pub price: Option<Money>,
    #[schema(value_type = Option<String>, example = "2.00")]
    pub tax: Option<Money>,
}

/// How the buyer paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethod {
    /// The platform's gateway or method code, e.g. `"stripe"` or `"checkmo"`.
    pub code: Option<String>,
    /// What the buyer saw, e.g. `"Credit card (Stripe)"`.
    pub title: Option<String>,
}

/// A coupon or discount code used on an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiscountCode {
    pub code: String,
    /// What it took off the order, where the platform says.
    #[schema(value_type = Option<String>, example = "5.00")]
    pub amount: Option<Money>,
}

/// Money given back to the buyer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: String,
    /// A positive amount.
    #[schema(value_type = Option<String>, example = "19.99")]
    pub amount: Option<Money>,
    pub reason: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// The lines refunded; empty for a refund of an amount only.
    pub line_items: Vec<RefundLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RefundLine {
    /// The order's `line_items[].id`.
    pub line_item_id: String,
    pub quantity: i64,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub amount: Option<Money>,
}

/// Stock of one item at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryLevel {
    /// A `GET …/locations` id.
    pub location_id: String,
    /// Units available to sell there (may be negative where the platform oversells).
    pub available: i64,
}

/// A place stock is kept: a Shopify location, a Magento source, a warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: String,
    pub name: Option<String>,
    pub address: Option<Address>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub id: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    /// The human-facing order number, which may differ from `id`.
    pub number: Option<String>,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfillment_status: FulfillmentStatus,
    /// The platform's own status words, e.g. `"wc-on-hold"` or `"PARTIALLY_REFUNDED"`.
    pub platform_status: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = Option<String>, example = "35.00")]
    pub subtotal: Option<Money>,
    #[schema(value_type = Option<String>, example = "10.00")]
    pub shipping_total: Option<Money>,
    #[schema(value_type = Option<String>, example = "1.35")]
    pub tax_total: Option<Money>,
    #[schema(value_type = Option<String>, example = "0.00")]
    pub discount_total: Option<Money>,
    #[schema(value_type = Option<String>, example = "46.35")]
    pub total: Option<Money>,
    pub customer: Option<OrderCustomer>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub line_items: Vec<LineItem>,
    pub shipments: Vec<Shipment>,
    /// The shipping methods the buyer chose and paid for.
    pub shipping_lines: Vec<ShippingLine>,
    pub payment_method: Option<PaymentMethod>,
    /// Whether the order's prices (line prices, `subtotal`) include tax.
    pub prices_include_tax: Option<bool>,
    /// Order-level taxes, shipping tax included where the platform splits it.
    pub tax_lines: Vec<TaxLine>,
    pub discount_codes: Vec<DiscountCode>,
    pub refunds: Vec<Refund>,
    /// Sum of the refunds; `"0"`-like when none, `null` where the platform does not say.
    #[schema(value_type = Option<String>, example = "0.00")]
    pub refunded_total: Option<Money>,
    pub total_weight: Option<Weight>,
    pub tags: Vec<String>,
    /// Staff notes.
    pub note: Option<String>,
    /// What the buyer wrote at checkout.
    pub customer_note: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The untouched platform payload; present only with `?include=raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    pub id: String,
    pub sku: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    /// The total over locations.
    pub quantity: Option<i64>,
    /// GTIN, EAN, UPC or ISBN, where the platform keeps one.
    pub barcode: Option<String>,
    pub weight: Option<Weight>,
    pub dimensions: Option<Dimensions>,
    pub requires_shipping: Option<bool>,
    /// Stock per location where the platform keeps it so.
    pub inventory_levels: Vec<InventoryLevel>,
    /// Option name to value, e.g. `{"Size": "M"}`.
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub sku: Option<String>,
    pub status: ProductStatus,
    pub platform_status: Option<String>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub currency: Option<String>,
    /// The total over locations (and over variants).
    pub quantity: Option<i64>,
    /// GTIN, EAN, UPC or ISBN, where the platform keeps one.
    pub barcode: Option<String>,
    pub weight: Option<Weight>,
    pub dimensions: Option<Dimensions>,
    pub requires_shipping: Option<bool>,
    /// Stock per location of a product without variants, where the platform keeps it so.
    pub inventory_levels: Vec<InventoryLevel>,
    pub images: Vec<String>,
    pub category_ids: Vec<String>,
    pub variants: Vec<Variant>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub addresses: Vec<Address>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

/// Objects that can carry their untouched platform payload (`?include=raw`).
pub trait WithRaw {
    fn set_raw(&mut self, raw: Value);
}

macro_rules! with_raw {
    ($($t:ty),*) => {$(
        impl WithRaw for $t {
            fn set_raw(&mut self, raw: Value) {
                self.raw = Some(raw);
            }
        }
    )*};
}
with_raw!(Order, Product, Customer, Category);

/// The shop itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoreInfo {
    pub name: Option<String>,
    pub url: Option<String>,
    pub currency: Option<String>,
    /// IANA zone name or UTC offset, as the platform gives it.
    pub timezone: Option<String>,
    pub platform_version: Option<String>,
}

/// `POST …/orders/{order_id}/shipments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    /// Ship only these lines; all lines when absent.
    pub line_items: Option<Vec<ShipmentLine>>,
    #[serde(default)]
    pub notify_customer: bool,
}

impl NewShipment {
    /// What every platform needs of a shipment: a carrier and a tracking number, a tracking
    /// URL (when given) that is http(s), and line items (when given) with valid ids and
    /// quantities of at least 1. The gateway checks it before any platform call.
    pub fn validate(&self) -> crate::Result<()> {
        if self.carrier.trim().is_empty() || self.tracking_number.trim().is_empty() {
            return Err(crate::ConnectorError::Validation(
                "carrier and tracking_number must not be empty".into(),
            ));
        }
        if let Some(u) = crate::util::non_empty(self.tracking_url.as_deref()) {
            let ok = url::Url::parse(&u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(crate::ConnectorError::Validation(
                    "tracking_url must be an http(s) URL".into(),
                ));
            }
        }
        for line in self.line_items.iter().flatten() {
            if line.quantity < 1 || !crate::util::valid_id(&line.line_item_id) {
                return Err(crate::ConnectorError::Validation(
                    "each line item needs a valid line_item_id and a quantity of at least 1".into(),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    pub line_item_id: String,
    pub quantity: i64,
}

/// `POST …/products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    pub sku: Option<String>,
    /// Defaults to `draft`.
    pub status: Option<ProductStatus>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub quantity: Option<i64>,
    #[serde(default)]
    pub category_ids: Vec<String>,
    /// Fields only one platform understands, named as that platform names them (Amazon:
    /// `product_type`, `requirements` and `attributes` of its Listings Items API). A platform
    /// that takes none refuses them (501 `unsupported_operation`) rather than ignore them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub platform_fields: Option<serde_json::Map<String, Value>>,
}

/// `PATCH …/products/{product_id}`: only the fields present are changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ProductStatus>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub quantity: Option<i64>,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// Stored in the store's own unit (converted when `unit` differs).
    pub weight: Option<Weight>,
    /// Stored in the store's own unit (converted when `unit` differs).
    pub dimensions: Option<Dimensions>,
    /// Sets the available quantity at these locations (a product without variants);
    /// others are left as they are. Not together with `quantity`.
    pub inventory_levels: Option<Vec<InventoryLevel>>,
}

/// `PATCH …/products/{product_id}/variants/{variant_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantUpdate {
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    /// The total; on a store with several locations the difference is applied at the
    /// primary one. Not together with `inventory_levels`.
    pub quantity: Option<i64>,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub weight: Option<Weight>,
    pub dimensions: Option<Dimensions>,
    /// Sets the available quantity at these locations; others are left as they are.
    pub inventory_levels: Option<Vec<InventoryLevel>>,
}

/// The most units any write may set, at a location or in total.
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// The most locations one write may set.
pub const MAX_INVENTORY_LEVELS: usize = 250;

/// Checks the fields product and variant writes share, before any platform call.
fn validate_stock_fields(
    price: &Option<Money>,
    quantity: Option<i64>,
    barcode: &Option<String>,
    weight: &Option<Weight>,
    dimensions: &Option<Dimensions>,
    levels: &Option<Vec<InventoryLevel>>,
) -> crate::Result<()> {
    let bad = |m: &str| Err(crate::ConnectorError::Validation(m.into()));
    if price.as_deref().is_some_and(|p| non_negative(p).is_none()) {
        return bad("price must be a non-negative decimal string such as \"19.99\"");
    }
    if quantity.is_some_and(|q| !(0..=MAX_QUANTITY).contains(&q)) {
        return bad("quantity must be between 0 and 1000000000");
    }
    if barcode
        .as_deref()
        .is_some_and(|b| b.trim().is_empty() || b.len() > 64 || b.chars().any(char::is_control))
    {
        return bad("barcode must be 1 to 64 printable characters");
    }
    if weight
        .as_ref()
        .is_some_and(|w| non_negative(&w.value).is_none())
    {
        return Err(invalid("weight.value"));
    }
    if let Some(d) = dimensions {
        let sides = [&d.length, &d.width, &d.height];
        if sides.iter().all(|s| s.is_none())
            || sides
                .iter()
                .any(|s| s.as_deref().is_some_and(|v| non_negative(v).is_none()))
        {
            return bad("dimensions need at least one of length, width, height, each a non-negative decimal string");
        }
    }
    if let Some(levels) = levels {
        if quantity.is_some() {
            return bad("send quantity or inventory_levels, not both");
        }
        if levels.is_empty() || levels.len() > MAX_INVENTORY_LEVELS {
            return bad("inventory_levels must hold 1 to 250 locations");
        }
        let mut seen = std::collections::HashSet::new();
        for l in levels {
            if !crate::util::valid_id(&l.location_id) || !seen.insert(l.location_id.as_str()) {
                return bad("each inventory level needs a valid location_id, once");
            }
            if !(0..=MAX_QUANTITY).contains(&l.available) {
                return bad("inventory_levels[].available must be between 0 and 1000000000");
            }
        }
    }
    Ok(())
}

impl NewProduct {
    /// What every platform needs of a new product; checked by the gateway first.
    pub fn validate(&self) -> crate::Result<()> {
        if self.name.trim().is_empty() {
            return Err(crate::ConnectorError::Validation(
                "name must not be empty".into(),
            ));
        }
        validate_stock_fields(&self.price, self.quantity, &None, &None, &None, &None)
    }
}

impl ProductUpdate {
    /// What every platform needs of a product update; checked by the gateway first.
    pub fn validate(&self) -> crate::Result<()> {
        if *self == ProductUpdate::default() {
            return Err(crate::ConnectorError::Validation(
                "send at least one field to change".into(),
            ));
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(crate::ConnectorError::Validation(
                "name must not be empty".into(),
            ));
        }
        validate_stock_fields(
            &self.price,
            self.quantity,
            &self.barcode,
            &self.weight,
            &self.dimensions,
            &self.inventory_levels,
        )
    }
}

impl VariantUpdate {
    /// What every platform needs of a variant update; checked by the gateway first.
    pub fn validate(&self) -> crate::Result<()> {
        if *self == VariantUpdate::default() {
            return Err(crate::ConnectorError::Validation(
                "send at least one field to change".into(),
            ));
        }
        validate_stock_fields(
            &self.price,
            self.quantity,
            &self.barcode,
            &self.weight,
            &self.dimensions,
            &self.inventory_levels,
        )
    }
}

/// `POST …/proxy`: a raw call relative to the platform's API root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyRequest {
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// Relative to the API root, e.g. `/orders/123/notes` for WooCommerce's wc/v3.
    pub path: String,
    #[serde(default)]
    pub query: std::collections::BTreeMap<String, String>,
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
}

impl ProxyRequest {
    /// The method, one of GET, POST, PUT, PATCH or DELETE (any case).
    pub fn http_method(&self) -> crate::Result<http::Method> {
        use http::Method;
        Ok(match self.method.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            _ => {
                return Err(crate::ConnectorError::Validation(
                    "proxy method must be GET, POST, PUT, PATCH or DELETE".into(),
                ))
            }
        })
    }

    /// The path, checked to stay under the platform's API root (named `root` in errors): one
    /// leading `/`, no empty segment, no scheme, query, fragment, backslash or control character, no `.`/`..`
    /// segments and no encoded slashes.
    pub fn checked_path(&self, root: &str) -> crate::Result<&str> {
        let path = self.path.as_str();
        let bad = |why: String| {
            Err(crate::ConnectorError::Validation(format!(
                "proxy path {why}"
            )))
        };
        if !path.starts_with('/') || path.contains("//") {
            return bad(format!(
                "must start with a single '/' and be relative to {root}"
            ));
        }
        if path.contains("://")
            || path.contains(['?', '#', '\\'])
            || path.chars().any(char::is_control)
        {
            return bad("must be a plain path: put parameters in `query`".into());
        }
        for seg in path.split('/') {
            let decoded = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
            if decoded == "." || decoded == ".." || decoded.contains(['/', '\\']) {
                return bad("must not contain '.' or '..' segments or encoded slashes".into());
            }
        }
        Ok(path)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProxyResponse {
    pub status: u16,
    #[schema(value_type = Object)]
    pub body: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(method: &str, path: &str) -> ProxyRequest {
        ProxyRequest {
            method: method.into(),
            path: path.into(),
            query: Default::default(),
            body: None,
        }
    }

    #[test]
    fn proxy_paths_stay_under_the_api_root() {
        for ok in ["/orders", "/orders/12/notes", "/products/MB01/media"] {
            assert!(proxy("GET", ok).checked_path("/V1").is_ok(), "{ok}");
        }
        for bad in [
            "orders",
            "//evil.example/x",
            "/../../admin",
            "/orders/%2e%2e/x",
            "/a/%2F/b",
            "/orders?x=1",
            "http://evil/",
            "/a\\b",
            "/a\u{7}b",
        ] {
            assert!(proxy("GET", bad).checked_path("/V1").is_err(), "{bad}");
        }
    }

    #[test]
    fn weights_convert_to_the_store_unit() {
        let w = |v: &str, unit| Weight {
            value: v.into(),
            unit,
        };
        assert_eq!(
            w("1.5", WeightUnit::Kg).value_in(WeightUnit::G).unwrap(),
            "1500"
        );
        assert_eq!(
            w("1.5", WeightUnit::Kg).value_in(WeightUnit::Kg).unwrap(),
            "1.5"
        );
        assert_eq!(
            w("1.5", WeightUnit::Kg).value_in(WeightUnit::Lb).unwrap(),
            "3.3069"
        );
        assert_eq!(
            w("16", WeightUnit::Oz).value_in(WeightUnit::Lb).unwrap(),
            "1"
        );
        assert_eq!(
            w("1", WeightUnit::Lb).value_in(WeightUnit::G).unwrap(),
            "453.5924"
        );
        assert!(w("-1", WeightUnit::G).value_in(WeightUnit::Kg).is_err());
        assert_eq!(WeightUnit::parse("KGS"), Some(WeightUnit::Kg));
        assert_eq!(WeightUnit::parse("lbs"), Some(WeightUnit::Lb));
        assert_eq!(WeightUnit::parse("OUNCES"), Some(WeightUnit::Oz));
        assert_eq!(WeightUnit::parse("stone"), None);
        assert_eq!(
            Weight::from_parts(Some(" 0.250 "), Some(WeightUnit::Kg)),
            Some(w("0.25", WeightUnit::Kg))
        );
        assert_eq!(Weight::from_parts(Some(""), Some(WeightUnit::Kg)), None);
        assert_eq!(Weight::from_parts(Some("2"), None), None);
    }

    #[test]
    fn dimensions_read_and_convert() {
        let d =
            Dimensions::from_parts(Some("30"), Some(""), Some("10.50"), LengthUnit::parse("cm"))
                .unwrap();
        assert_eq!(d.length.as_deref(), Some("30"));
        assert_eq!(d.width, None);
        assert_eq!(d.height.as_deref(), Some("10.5"));
        assert_eq!(
            Dimensions::from_parts(None, Some(" "), None, Some(LengthUnit::M)),
            None
        );
        assert_eq!(
            Dimensions::side_in(&d.length, LengthUnit::Cm, LengthUnit::In).unwrap(),
            Some("11.811".into())
        );
        assert_eq!(
            Dimensions::side_in(&None, LengthUnit::Cm, LengthUnit::In).unwrap(),
            None
        );
        assert_eq!(LengthUnit::parse("INCHES"), Some(LengthUnit::In));
    }

    #[test]
    fn updates_are_checked_before_any_platform_call() {
        let level = |id: &str, n| InventoryLevel {
            location_id: id.into(),
            available: n,
        };
        let ok = VariantUpdate {
            inventory_levels: Some(vec![level("1", 3), level("2", 0)]),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let refused = [
            VariantUpdate::default(),
            VariantUpdate {
                quantity: Some(1),
                ..ok.clone()
            },
            VariantUpdate {
                inventory_levels: Some(vec![level("1", 3), level("1", 4)]),
                ..Default::default()
            },
            VariantUpdate {
                inventory_levels: Some(vec![level("1", -1)]),
                ..Default::default()
            },
            VariantUpdate {
                inventory_levels: Some(vec![]),
                ..Default::default()
            },
            VariantUpdate {
                barcode: Some(" ".into()),
                ..Default::default()
            },
            VariantUpdate {
                weight: Some(Weight {
                    value: "1e3x".into(),
                    unit: WeightUnit::G,
                }),
                ..Default::default()
            },
            VariantUpdate {
                dimensions: Some(Dimensions {
                    length: None,
                    width: None,
                    height: None,
                    unit: LengthUnit::Cm,
                }),
                ..Default::default()
            },
            VariantUpdate {
                price: Some("-2".into()),
                ..Default::default()
            },
        ];
        for u in refused {
            assert!(u.validate().is_err(), "{u:?}");
        }
        assert!(ProductUpdate {
            name: Some(" ".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn proxy_methods() {
        assert_eq!(
            proxy("patch", "/x").http_method().unwrap(),
            http::Method::PATCH
        );
        assert!(proxy("TRACE", "/x").http_method().is_err());
    }
}

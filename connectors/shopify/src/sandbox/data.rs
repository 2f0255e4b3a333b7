//! Deterministic seeded data with the variety a mapping needs: every display financial
//! status, partially and fully fulfilled orders (with tracking), refunds (full and
//! partial), cancellations, closed orders, an order on hold, guest checkouts (with and
//! without an e-mail), orders presented in EUR, GBP, JPY and CAD (shop money in USD),
//! products with Size/Color variants, default-variant products, drafts and archived
//! products, untracked inventory, products without sku or images, non-ASCII names
//! (Zoë, Müller, 東京), customers without addresses or phone, and flat collections.
//!
//! For shipping and invoicing: tax-exclusive and tax-inclusive orders (`taxesIncluded`)
//! with several rates (US 6 %, Canadian GST 5 % + PST 7 % as two lines, German 19 % and
//! British 20 % VAT included, 8 % sales tax), shipping taxed like the goods; the discount
//! codes `WELCOME10` (10 % of the lines) and `FREESHIP` (the shipping line); shipping
//! lines for free shipping, a flat rate, a carrier-calculated rate (UPS, with a
//! `carrierIdentifier`), express, and local pickup (titled with the location's name, as
//! Shopify does); payments through Shopify Payments, PayPal, cash on delivery and a gift
//! card plus a card (their transactions: sales, authorizations and captures, voids,
//! refunds); full refunds (every line), partial refunds of one unit of a line and a refund
//! of an amount only; tags; two locations with addresses and stock split between them;
//! weights in grams, kilograms, ounces and pounds, products without weight (none, or
//! Shopify's blank `0`), EAN-13 barcodes (some products without), and a gift card that
//! needs no shipping (and no tax).
//!
//! Records are plain Rust structs; `schema.rs` serves them with Shopify's names.

use std::collections::BTreeMap;

use cartgate_connector::sandbox::{pick, random_hex, seeded_rng, SandboxOptions, SANDBOX_EPOCH};
use rand::Rng;
use rust_decimal::Decimal;

pub const SHOP_DOMAIN: &str = "cartgate-demo.myshopify.com";
pub const SHOP_CURRENCY: &str = "USD";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressRec {
    pub id: u64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

/// A tax charged on a line or a shipping line.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxRec {
    pub title: &'static str,
    /// A fraction: `0.06` is 6 %.
    pub rate: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct LineItemRec {
    pub id: u64,
    pub name: String,
    pub sku: Option<String>,
    pub quantity: i64,
    pub unit_price: Decimal,
    pub product_id: Option<u64>,
    pub variant_id: Option<u64>,
    /// The fulfillment-order line that holds it.
    pub fo_line_id: u64,
    pub requires_shipping: bool,
    pub taxes: Vec<TaxRec>,
    /// The discount code's allocation to this line, if one applied.
    pub discount: Option<(String, Decimal)>,
}

impl LineItemRec {
    pub fn discount_amount(&self) -> Decimal {
        self.discount.as_ref().map_or(Decimal::ZERO, |(_, d)| *d)
    }
}

/// A shipping method the buyer chose.
#[derive(Debug, Clone)]
pub struct ShippingLineRec {
    pub id: u64,
    pub title: String,
    pub code: String,
    pub source: &'static str,
    pub carrier_identifier: Option<String>,
    /// Before discounts (tax included when the order's prices include tax).
    pub price: Decimal,
    pub taxes: Vec<TaxRec>,
    /// The discount code's allocation to this line, if one applied.
    pub discount: Option<(String, Decimal)>,
}

impl ShippingLineRec {
    pub fn discounted(&self) -> Decimal {
        self.price - self.discount.as_ref().map_or(Decimal::ZERO, |(_, d)| *d)
    }
}

/// A payment transaction (`OrderTransaction`).
#[derive(Debug, Clone)]
pub struct TransactionRec {
    pub id: u64,
    /// `SALE`, `AUTHORIZATION`, `CAPTURE`, `VOID`, `REFUND`.
    pub kind: &'static str,
    /// `SUCCESS`, `PENDING`, `FAILURE`.
    pub status: &'static str,
    pub gateway: &'static str,
    pub formatted_gateway: &'static str,
    pub processed_at: i64,
    pub amount: Decimal,
}

/// Money given back: by lines (line item id, quantity, subtotal) or an amount only.
#[derive(Debug, Clone)]
pub struct RefundRec {
    pub id: u64,
    pub created_at: i64,
    pub note: Option<String>,
    pub amount: Decimal,
    pub lines: Vec<(u64, i64, Decimal)>,
}

#[derive(Debug, Clone)]
pub struct TrackingRec {
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FulfillmentRec {
    pub id: u64,
    pub name: String,
    pub status: &'static str,
    pub created_at: i64,
    pub tracking: Vec<TrackingRec>,
    /// (line item id, quantity)
    pub lines: Vec<(u64, i64)>,
}

#[derive(Debug, Clone)]
pub struct OrderRec {
    pub id: u64,
    pub number: u64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub cancel_reason: Option<&'static str>,
    pub financial: &'static str,
    pub on_hold: bool,
    pub presentment_currency: &'static str,
    /// Presentment units per shop unit.
    pub rate: Decimal,
    pub shipping: Decimal,
    pub tax: Decimal,
    pub discounts: Decimal,
    pub refunded: Decimal,
    pub customer_id: Option<u64>,
    pub billing: Option<AddressRec>,
    pub shipping_address: Option<AddressRec>,
    pub line_items: Vec<LineItemRec>,
    pub fulfillments: Vec<FulfillmentRec>,
    pub fulfillment_order_id: u64,
    pub tags: Vec<String>,
    pub taxes_included: bool,
    pub discount_codes: Vec<String>,
    pub shipping_lines: Vec<ShippingLineRec>,
    pub transactions: Vec<TransactionRec>,
    pub refunds: Vec<RefundRec>,
    /// Of the goods that ship, as ordered.
    pub total_weight_grams: u64,
}

impl OrderRec {
    pub fn name(&self) -> String {
        format!("#{}", self.number)
    }

    pub fn fulfilled_qty(&self, line_item: u64) -> i64 {
        self.fulfillments
            .iter()
            .filter(|f| f.status == "SUCCESS")
            .flat_map(|f| f.lines.iter())
            .filter(|(l, _)| *l == line_item)
            .map(|(_, q)| q)
            .sum()
    }

    /// What is left to ship of a line: nothing once the order is cancelled or refunded.
    pub fn remaining(&self, line: &LineItemRec) -> i64 {
        if self.cancelled_at.is_some() || self.financial == "REFUNDED" {
            0
        } else {
            (line.quantity - self.fulfilled_qty(line.id)).max(0)
        }
    }

    /// As 2026-10 reports it: an order with nothing shipped and nothing left to ship
    /// (cancelled or refunded first) is `FULFILLMENT_NOT_REQUIRED`, no longer
    /// `UNFULFILLED`.
    pub fn display_fulfillment(&self) -> &'static str {
        let total: i64 = self.line_items.iter().map(|l| l.quantity).sum();
        let done: i64 = self
            .line_items
            .iter()
            .map(|l| self.fulfilled_qty(l.id).min(l.quantity))
            .sum();
        let left: i64 = self.line_items.iter().map(|l| self.remaining(l)).sum();
        if total > 0 && done >= total {
            "FULFILLED"
        } else if done > 0 {
            "PARTIALLY_FULFILLED"
        } else if self.on_hold {
            "ON_HOLD"
        } else if total > 0 && left == 0 {
            "FULFILLMENT_NOT_REQUIRED"
        } else {
            "UNFULFILLED"
        }
    }

    pub fn fulfillment_order_status(&self) -> &'static str {
        if self.cancelled_at.is_some() {
            return "CANCELLED";
        }
        let left: i64 = self.line_items.iter().map(|l| self.remaining(l)).sum();
        if left == 0 {
            "CLOSED"
        } else if self.on_hold {
            "ON_HOLD"
        } else if self.line_items.iter().any(|l| self.fulfilled_qty(l.id) > 0) {
            "IN_PROGRESS"
        } else {
            "OPEN"
        }
    }

    pub fn lines_total(&self) -> Decimal {
        self.line_items
            .iter()
            .map(|l| l.unit_price * Decimal::from(l.quantity))
            .sum()
    }

    /// The lines after their discounts (tax included when the prices include it).
    pub fn subtotal(&self) -> Decimal {
        self.lines_total()
            - self
                .line_items
                .iter()
                .map(LineItemRec::discount_amount)
                .sum::<Decimal>()
    }

    pub fn total(&self) -> Decimal {
        let tax = if self.taxes_included {
            Decimal::ZERO
        } else {
            self.tax
        };
        self.subtotal() + self.shipping + tax
    }
}

#[derive(Debug, Clone)]
pub struct VariantRec {
    pub id: u64,
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// Value and `WeightUnit` word; `None`: Shopify has no weight for it.
    pub weight: Option<(Decimal, &'static str)>,
    pub requires_shipping: bool,
    pub price: Decimal,
    pub position: i32,
    pub inventory_item_id: u64,
    pub tracked: bool,
    /// Available quantity per location stocking it.
    pub stock: BTreeMap<u64, i64>,
    pub options: Vec<(String, String)>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl VariantRec {
    pub fn quantity(&self) -> i64 {
        self.stock.values().sum()
    }

    /// Grams in one unit (0 without a weight).
    pub fn grams(&self) -> Decimal {
        self.weight
            .map_or(Decimal::ZERO, |(v, unit)| v * grams_per(unit))
    }
}

/// Whole grams, as REST payloads and `Order.totalWeight` give them.
pub fn round_grams(g: Decimal) -> u64 {
    round_to(g, 0).try_into().unwrap_or(0)
}

/// Grams in one unit of a `WeightUnit`.
pub fn grams_per(unit: &str) -> Decimal {
    match unit {
        "KILOGRAMS" => Decimal::from(1000),
        "OUNCES" => Decimal::new(28_349_523_125, 9),
        "POUNDS" => Decimal::new(45_359_237, 5),
        _ => Decimal::ONE,
    }
}

#[derive(Debug, Clone)]
pub struct ProductRec {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    pub status: &'static str,
    pub vendor: String,
    pub product_type: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// (media id, url)
    pub images: Vec<(u64, String)>,
    pub collection_ids: Vec<u64>,
    pub variants: Vec<VariantRec>,
}

impl ProductRec {
    pub fn tracks_inventory(&self) -> bool {
        self.variants.iter().any(|v| v.tracked)
    }
    pub fn total_inventory(&self) -> i64 {
        self.variants
            .iter()
            .filter(|v| v.tracked)
            .map(VariantRec::quantity)
            .sum()
    }
}

#[derive(Debug, Clone)]
pub struct CustomerRec {
    pub id: u64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub state: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
    pub addresses: Vec<AddressRec>,
}

#[derive(Debug, Clone)]
pub struct CollectionRec {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct LocationRec {
    pub id: u64,
    pub name: &'static str,
    pub active: bool,
    /// address1, city, province code, zip, country code.
    pub address: (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
}

/// The webhook topics the sandbox sends (Shopify's `WebhookSubscriptionTopic` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    OrdersCreate,
    OrdersUpdated,
    ProductsCreate,
    ProductsUpdate,
    ProductsDelete,
    CustomersCreate,
    CustomersUpdate,
}

impl Topic {
    /// The topic as webhooks name it in `X-Shopify-Topic`.
    pub fn header(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "orders/create",
            Topic::OrdersUpdated => "orders/updated",
            Topic::ProductsCreate => "products/create",
            Topic::ProductsUpdate => "products/update",
            Topic::ProductsDelete => "products/delete",
            Topic::CustomersCreate => "customers/create",
            Topic::CustomersUpdate => "customers/update",
        }
    }
}

/// One webhook subscription (`webhookSubscriptionCreate`).
#[derive(Debug, Clone)]
pub struct WebhookRec {
    pub id: u64,
    pub topic: Topic,
    pub callback_url: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct Db {
    pub access_token: String,
    /// The app's API secret key: signs webhooks.
    pub api_secret_key: String,
    pub webhooks: BTreeMap<u64, WebhookRec>,
    pub orders: BTreeMap<u64, OrderRec>,
    pub products: BTreeMap<u64, ProductRec>,
    pub customers: BTreeMap<u64, CustomerRec>,
    pub collections: BTreeMap<u64, CollectionRec>,
    pub locations: Vec<LocationRec>,
    next_id: u64,
    writes: i64,
}

/// (first name, last name, ASCII e-mail stem).
const NAMES: [(&str, &str, &str); 14] = [
    ("Zoë", "Ångström", "zoe.angstrom"),
    ("健", "渡辺", "ken.watanabe"),
    ("José", "Müller", "jose.muller"),
    ("Ingrid", "Nilsson", "ingrid.nilsson"),
    ("Amara", "Okafor", "amara.okafor"),
    ("Wei", "Chen", "wei.chen"),
    ("Fatima", "Al-Sayed", "fatima.alsayed"),
    ("Liam", "O'Brien", "liam.obrien"),
    ("Søren", "Kierkegaard", "soren.kierkegaard"),
    ("Aiko", "Tanaka", "aiko.tanaka"),
    ("Łukasz", "Żółć", "lukasz.zolc"),
    ("Emily", "Smith", "emily.smith"),
    ("Олег", "Петров", "oleg.petrov"),
    ("Noah", "Johnson", "noah.johnson"),
];

/// (address1, city, province, province code, zip, country, country code, phone)
type Place = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const PLACES: [Place; 6] = [
    (
        "150 Elgin Street",
        "Ottawa",
        Some("Ontario"),
        Some("ON"),
        "K2P 1L4",
        "Canada",
        "CA",
        "+1 613-555-0101",
    ),
    (
        "969 Market Street",
        "San Francisco",
        Some("California"),
        Some("CA"),
        "94103",
        "United States",
        "US",
        "+1 415-555-0199",
    ),
    (
        "Friedrichstraße 43",
        "Berlin",
        None,
        None,
        "10117",
        "Germany",
        "DE",
        "+49 30 1234567",
    ),
    (
        "1-1 Marunouchi, Chiyoda-ku",
        "東京",
        Some("Tokyo"),
        Some("JP-13"),
        "100-0005",
        "Japan",
        "JP",
        "+81 3-1234-5678",
    ),
    (
        "10 Downing Street",
        "London",
        None,
        None,
        "SW1A 2AA",
        "United Kingdom",
        "GB",
        "+44 20 7946 0000",
    ),
    (
        "Rue de Rivoli 99",
        "Paris",
        None,
        None,
        "75001",
        "France",
        "FR",
        "+33 1 23 45 67 89",
    ),
];

/// (code, presentment units per USD, decimals)
const CURRENCIES: [(&str, &str, u32); 5] = [
    ("USD", "1", 2),
    ("EUR", "0.92", 2),
    ("GBP", "0.79", 2),
    ("JPY", "151", 0),
    ("CAD", "1.36", 2),
];

const CARRIERS: [(&str, &str); 4] = [
    ("UPS", "https://www.ups.com/track?tracknum="),
    (
        "USPS",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
    ),
    (
        "DHL Express",
        "https://www.dhl.com/en/express/tracking.html?AWB=",
    ),
    (
        "Canada Post",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/details/",
    ),
];

const COLLECTIONS: [(&str, &str); 6] = [
    ("Summer Collection", "<p>Light things for warm days.</p>"),
    ("Accessories", "<p>Bags, socks and small joys.</p>"),
    ("Sale", ""),
    ("Kids", "<p>For the little ones.</p>"),
    ("Home & Living", "<p>Mugs, throws &amp; more.</p>"),
    ("東京 Selection", "<p>Picked in 東京.</p>"),
];

/// (title, product type, price, has Size/Color variants, weight (value, `WeightUnit`)
/// where the merchant entered one (`"0"`: left blank, as Shopify stores it), ships,
/// has barcodes)
type ProductSpec = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    Option<(&'static str, &'static str)>,
    bool,
    bool,
);
const PRODUCTS: [ProductSpec; 12] = [
    (
        "Classic Tee",
        "Shirts",
        "25.00",
        true,
        Some(("180", "GRAMS")),
        true,
        true,
    ),
    (
        "Zoë's Café Mug",
        "Home",
        "14.50",
        false,
        Some(("0.35", "KILOGRAMS")),
        true,
        true,
    ),
    (
        "東京 Tote Bag",
        "Bags",
        "32.00",
        false,
        Some(("6.5", "OUNCES")),
        true,
        true,
    ),
    (
        "Müller Wool Socks",
        "Socks",
        "12.99",
        true,
        Some(("3.2", "OUNCES")),
        true,
        true,
    ),
    (
        "Linen Shorts",
        "Shorts",
        "45.00",
        true,
        Some(("0.6", "POUNDS")),
        true,
        true,
    ),
    (
        "Gift Card",
        "Gift Cards",
        "50.00",
        false,
        None,
        false,
        false,
    ),
    (
        "Rain Jacket",
        "Outerwear",
        "129.00",
        true,
        Some(("650", "GRAMS")),
        true,
        true,
    ),
    (
        "Enamel Pin",
        "Accessories",
        "7.50",
        false,
        Some(("0", "KILOGRAMS")),
        true,
        false,
    ),
    (
        "Kids Hoodie",
        "Kids",
        "38.00",
        true,
        Some(("0.45", "KILOGRAMS")),
        true,
        true,
    ),
    (
        "Throw Blanket",
        "Home",
        "89.90",
        false,
        Some(("2.8", "POUNDS")),
        true,
        true,
    ),
    ("Straw Hat", "Hats", "29.00", false, None, true, true),
    (
        "Canvas Sneakers",
        "Shoes",
        "74.00",
        true,
        Some(("1.9", "POUNDS")),
        true,
        true,
    ),
];

/// An EAN-13 for a number: a 12-digit body and its check digit.
pub fn ean13(n: u64) -> String {
    let body = format!("400{:09}", n % 1_000_000_000);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Tax regimes of the seeded orders: (prices include tax, tax lines (title, rate)).
const REGIMES: [(bool, &[(&str, &str)]); 5] = [
    (false, &[("State Tax", "0.06")]),
    (false, &[("GST", "0.05"), ("PST", "0.07")]),
    (true, &[("MwSt", "0.19")]),
    (true, &[("VAT", "0.2")]),
    (false, &[("Sales Tax", "0.08")]),
];

/// Payment gateways: (gateway, what the buyer saw).
const GATEWAYS: [(&str, &str); 3] = [
    ("shopify_payments", "Shopify Payments"),
    ("paypal", "PayPal Express Checkout"),
    ("Cash on Delivery (COD)", "Cash on Delivery (COD)"),
];

/// The taxes on an amount: added on top (`included` false) or contained in it.
fn taxes_on(amount: Decimal, included: bool, rates: &[(&'static str, &str)]) -> Vec<TaxRec> {
    let total_rate: Decimal = rates.iter().map(|(_, r)| dec(r)).sum();
    rates
        .iter()
        .map(|(title, r)| {
            let rate = dec(r);
            let tax = if included {
                amount * rate / (Decimal::ONE + total_rate)
            } else {
                amount * rate
            };
            TaxRec {
                title,
                rate,
                amount: round_to(tax, 2),
            }
        })
        .collect()
}

const SIZES: [&str; 3] = ["S", "M", "L"];
const COLORS: [&str; 2] = ["Red", "Blue"];

pub fn handleize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn round_to(d: Decimal, decimals: u32) -> Decimal {
    d.round_dp_with_strategy(
        decimals,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    )
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn address(rng: &mut impl Rng, id: u64, name: (&str, &str, &str), company: bool) -> AddressRec {
    let p = pick(rng, &PLACES);
    AddressRec {
        id,
        first_name: Some(name.0.into()),
        last_name: Some(name.1.into()),
        company: company.then(|| "Acme GmbH".to_owned()),
        address1: Some(p.0.into()),
        address2: rng.gen_bool(0.3).then(|| "Suite 5".to_owned()),
        city: Some(p.1.into()),
        province: p.2.map(Into::into),
        province_code: p.3.map(Into::into),
        zip: Some(p.4.into()),
        country: Some(p.5.into()),
        country_code: Some(p.6.into()),
        phone: rng.gen_bool(0.7).then(|| p.7.to_owned()),
    }
}

impl Db {
    pub fn now(&mut self) -> i64 {
        self.writes += 1;
        SANDBOX_EPOCH + self.writes
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn primary_location(&self) -> u64 {
        self.locations[0].id
    }

    pub fn seed(opts: &SandboxOptions) -> Db {
        let mut db = Db {
            access_token: format!(
                "shpat_{}",
                random_hex(&mut seeded_rng(opts.seed, "token"), 32)
            ),
            api_secret_key: format!(
                "shpss_{}",
                random_hex(&mut seeded_rng(opts.seed, "api-secret-key"), 32)
            ),
            webhooks: BTreeMap::new(),
            orders: BTreeMap::new(),
            products: BTreeMap::new(),
            customers: BTreeMap::new(),
            collections: BTreeMap::new(),
            locations: vec![
                LocationRec {
                    id: 61_000_000_001,
                    name: "Main Warehouse",
                    active: true,
                    address: ("150 Elgin Street", "Ottawa", "ON", "K2P 1L4", "CA"),
                },
                LocationRec {
                    id: 61_000_000_002,
                    name: "Pop-up Store",
                    active: true,
                    address: ("220 Yonge Street", "Toronto", "ON", "M5B 2H1", "CA"),
                },
            ],
            next_id: 90_000_000_000,
            writes: 0,
        };
        let primary = db.primary_location();
        let secondary = db.locations[1].id;
        let day = 86_400;

        // Collections
        for (i, (title, desc)) in COLLECTIONS.iter().enumerate() {
            let id = 3_000_000_001 + i as u64;
            db.collections.insert(
                id,
                CollectionRec {
                    id,
                    title: (*title).into(),
                    handle: handleize(title),
                    description_html: (*desc).into(),
                    updated_at: SANDBOX_EPOCH - 200 * day + i as i64 * 3600,
                },
            );
        }
        let collection_ids: Vec<u64> = db.collections.keys().copied().collect();

        // Products
        let mut rng = seeded_rng(opts.seed, "products");
        // Stock at the second location comes from its own stream, so the rest of the seed
        // stays as it was before there was any.
        let mut second = seeded_rng(opts.seed, "second-location");
        let mut media_id = 30_000_000_000;
        let mut variant_id = 40_000_000_000;
        let mut item_id = 44_000_000_000;
        for i in 0..opts.products {
            let (title, ptype, price, has_variants, weight, ships, barcodes) =
                PRODUCTS[i % PRODUCTS.len()];
            let round = i / PRODUCTS.len();
            let title = if round == 0 {
                title.to_owned()
            } else {
                format!("{title} {}", round + 1)
            };
            let id = 8_000_000_001 + i as u64;
            let created = SANDBOX_EPOCH - (300 - i as i64 % 280) * day + rng.gen_range(0..day);
            let updated = created + rng.gen_range(0..60) * day;
            let status = match i % 10 {
                7 => "DRAFT",
                9 => "ARCHIVED",
                _ => "ACTIVE",
            };
            let tracked = i % 6 != 5;
            let sku_base = (i % 8 != 3).then(|| format!("CG-{:03}", i + 1));
            let base_price = dec(price);
            let mut variants = Vec::new();
            let combos: Vec<Vec<(String, String)>> = if has_variants {
                SIZES
                    .iter()
                    .flat_map(|s| {
                        COLORS.iter().map(move |c| {
                            vec![
                                ("Size".to_owned(), (*s).to_owned()),
                                ("Color".to_owned(), (*c).to_owned()),
                            ]
                        })
                    })
                    .collect()
            } else {
                vec![vec![("Title".to_owned(), "Default Title".to_owned())]]
            };
            for (pos, opts_) in combos.into_iter().enumerate() {
                variant_id += 1;
                item_id += 1;
                let title = opts_
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ");
                let sku = sku_base.as_ref().map(|b| {
                    if has_variants {
                        format!("{b}-{}", title.replace(" / ", "-").to_uppercase())
                    } else {
                        b.clone()
                    }
                });
                let price = if has_variants && opts_[0].1 == "L" {
                    base_price + Decimal::from(2)
                } else {
                    base_price
                };
                // Stock at the primary location; every third product is also stocked at
                // the pop-up store (the others are not stocked there at all).
                let mut stock = BTreeMap::new();
                stock.insert(primary, rng.gen_range(0..40));
                if i % 3 == 0 {
                    stock.insert(secondary, second.gen_range(0..15));
                }
                variants.push(VariantRec {
                    id: variant_id,
                    title,
                    sku,
                    barcode: barcodes.then(|| ean13(variant_id)),
                    weight: weight.map(|(v, unit)| (dec(v), unit)),
                    requires_shipping: ships,
                    price,
                    position: pos as i32 + 1,
                    inventory_item_id: item_id,
                    tracked,
                    stock,
                    options: opts_,
                    created_at: created,
                    updated_at: updated,
                });
            }
            let images = if i % 5 == 4 {
                Vec::new()
            } else {
                (0..rng.gen_range(1..=2))
                    .map(|k| {
                        media_id += 1;
                        (
                            media_id,
                            format!(
                                "https://cdn.shopify.com/s/files/1/0000/0001/products/{}-{}.jpg",
                                handleize(&title),
                                k + 1
                            ),
                        )
                    })
                    .collect()
            };
            let mut cols: Vec<u64> = collection_ids
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.3))
                .collect();
            cols.sort_unstable();
            db.products.insert(
                id,
                ProductRec {
                    id,
                    handle: handleize(&title),
                    description_html: if i % 7 == 6 {
                        String::new()
                    } else {
                        format!("<p>{title}: made to last.</p>")
                    },
                    title,
                    status,
                    vendor: "Cartgate Demo".into(),
                    product_type: ptype.into(),
                    created_at: created,
                    updated_at: updated,
                    images,
                    collection_ids: cols,
                    variants,
                },
            );
        }

        // Customers
        let mut rng = seeded_rng(opts.seed, "customers");
        let mut address_id = 70_000_000_000;
        for i in 0..opts.customers {
            let id = 7_000_000_001 + i as u64;
            let name = NAMES[i % NAMES.len()];
            let created = SANDBOX_EPOCH - (400 - i as i64 % 380) * day + rng.gen_range(0..day);
            let n_addr = match i % 5 {
                0 => 0,
                1 => 2,
                _ => 1,
            };
            let addresses = (0..n_addr)
                .map(|k| {
                    address_id += 1;
                    address(&mut rng, address_id, name, k == 1)
                })
                .collect();
            db.customers.insert(
                id,
                CustomerRec {
                    id,
                    first_name: (i % 11 != 10).then(|| name.0.to_owned()),
                    last_name: Some(name.1.to_owned()),
                    email: Some(format!("{}{}@example.com", name.2, i / NAMES.len() + 1)),
                    phone: (i % 3 != 0).then(|| format!("+1613555{:04}", 1000 + i)),
                    state: if i % 9 == 8 { "DISABLED" } else { "ENABLED" },
                    created_at: created,
                    updated_at: created + rng.gen_range(0..90) * day,
                    addresses,
                },
            );
        }
        let customer_ids: Vec<u64> = db.customers.keys().copied().collect();

        // Orders
        let mut rng = seeded_rng(opts.seed, "orders");
        let product_ids: Vec<u64> = db.products.keys().copied().collect();
        let mut line_id = 12_000_000_000;
        let mut fulfillment_id = 9_000_000_000;
        for i in 0..opts.orders {
            let id = 5_000_000_001 + i as u64;
            // Oldest first, about two hours apart, within the last ~5 months.
            let created = SANDBOX_EPOCH - 150 * day
                + (i as i64 * 150 * day) / (opts.orders.max(1) as i64)
                + rng.gen_range(0..3600);
            let guest = customer_ids.is_empty() || i % 5 == 3;
            let customer = (!guest).then(|| customer_ids[rng.gen_range(0..customer_ids.len())]);
            let cust = customer.and_then(|c| db.customers.get(&c)).cloned();
            let name = NAMES[rng.gen_range(0..NAMES.len())];
            let email = match (&cust, i % 10) {
                (Some(c), _) => c.email.clone(),
                (None, 8) => None,
                (None, _) => Some(format!("guest.{}@example.org", name.2)),
            };
            let currency = match i % 20 {
                3 | 11 | 17 => CURRENCIES[1],
                5 | 13 => CURRENCIES[2],
                7 | 19 => CURRENCIES[3],
                9 => CURRENCIES[4],
                _ => CURRENCIES[0],
            };
            let financial = match i % 25 {
                0 | 12 => "PENDING",
                3 | 20 => "AUTHORIZED",
                5 => "PARTIALLY_PAID",
                7 | 15 | 23 => "PARTIALLY_REFUNDED",
                9 | 18 => "REFUNDED",
                14 => "VOIDED",
                21 => "EXPIRED",
                _ => "PAID",
            };
            // Line items
            let (taxes_included, rates) = REGIMES[i % REGIMES.len()];
            let code = match i % 8 {
                1 | 5 => Some("WELCOME10"),
                6 => Some("FREESHIP"),
                _ => None,
            };
            let mut lines = Vec::new();
            let mut grams = Decimal::ZERO;
            if !product_ids.is_empty() {
                for _ in 0..rng.gen_range(1..=4) {
                    let p = &db.products[&product_ids[rng.gen_range(0..product_ids.len())]];
                    let v = &p.variants[rng.gen_range(0..p.variants.len())];
                    line_id += 1;
                    let name = if v.title == "Default Title" {
                        p.title.clone()
                    } else {
                        format!("{} - {}", p.title, v.title)
                    };
                    let quantity = rng.gen_range(1..=3);
                    if v.requires_shipping {
                        grams += v.grams() * Decimal::from(quantity);
                    }
                    lines.push(LineItemRec {
                        id: line_id,
                        name,
                        sku: v.sku.clone(),
                        quantity,
                        unit_price: v.price,
                        product_id: Some(p.id),
                        variant_id: Some(v.id),
                        fo_line_id: line_id + 4_000_000_000,
                        requires_shipping: v.requires_shipping,
                        taxes: Vec::new(),
                        discount: None,
                    });
                }
            }
            // A custom (non-product) line now and then.
            if i % 17 == 16 {
                line_id += 1;
                lines.push(LineItemRec {
                    id: line_id,
                    name: "Gift wrapping".into(),
                    sku: None,
                    quantity: 1,
                    unit_price: dec("4.00"),
                    product_id: None,
                    variant_id: None,
                    fo_line_id: line_id + 4_000_000_000,
                    requires_shipping: true,
                    taxes: Vec::new(),
                    discount: None,
                });
            }
            // The code's allocation to each line, then the taxes on what is left (gift
            // cards carry none).
            for l in &mut lines {
                let gross = l.unit_price * Decimal::from(l.quantity);
                if code == Some("WELCOME10") {
                    l.discount = Some(("WELCOME10".into(), round_to(gross * dec("0.10"), 2)));
                }
                if l.requires_shipping {
                    l.taxes = taxes_on(gross - l.discount_amount(), taxes_included, rates);
                }
            }
            let digital = i % 6 == 4 || lines.iter().all(|l| !l.requires_shipping);
            let pickup = !digital && i % 5 == 3;
            let mut shipping_lines = Vec::new();
            if !digital {
                let carrier_id = format!("{:032x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15);
                let (title, code_word, source, carrier, price) = match i % 5 {
                    0 => ("Free Shipping", "Free Shipping", "shopify", None, "0.00"),
                    1 => ("Standard", "Standard", "shopify", None, "5.99"),
                    2 => (
                        "UPS Ground",
                        "GND",
                        "ups_shipping",
                        Some(carrier_id),
                        "9.99",
                    ),
                    // Local pickup: Shopify titles the line with the location's name.
                    3 => (
                        db.locations[0].name,
                        db.locations[0].name,
                        "shopify",
                        Some(carrier_id),
                        "0.00",
                    ),
                    _ => ("Express", "Express", "shopify", None, "14.99"),
                };
                let price = dec(price);
                let discount = (code == Some("FREESHIP") && !price.is_zero())
                    .then(|| ("FREESHIP".to_owned(), price));
                let mut line = ShippingLineRec {
                    id: 80_000_000_000 + i as u64,
                    title: title.into(),
                    code: code_word.into(),
                    source,
                    carrier_identifier: carrier,
                    price,
                    taxes: Vec::new(),
                    discount,
                };
                if !line.discounted().is_zero() {
                    line.taxes = taxes_on(line.discounted(), taxes_included, rates);
                }
                shipping_lines.push(line);
            }
            // The codes that took something off.
            let mut discount_codes: Vec<String> = Vec::new();
            for (c, _) in lines
                .iter()
                .filter_map(|l| l.discount.as_ref())
                .chain(shipping_lines.iter().filter_map(|l| l.discount.as_ref()))
            {
                if !discount_codes.contains(c) {
                    discount_codes.push(c.clone());
                }
            }
            let tax: Decimal = lines
                .iter()
                .flat_map(|l| &l.taxes)
                .chain(shipping_lines.iter().flat_map(|l| &l.taxes))
                .map(|t| t.amount)
                .sum();
            let shipping: Decimal = shipping_lines.iter().map(ShippingLineRec::discounted).sum();
            let discounts: Decimal = lines
                .iter()
                .map(LineItemRec::discount_amount)
                .sum::<Decimal>()
                + shipping_lines
                    .iter()
                    .map(|l| l.price - l.discounted())
                    .sum::<Decimal>();
            let billing = cust
                .as_ref()
                .and_then(|c| c.addresses.first().cloned())
                .or_else(|| {
                    (email.is_some() || i % 2 == 0).then(|| address(&mut rng, 0, name, false))
                });
            let shipping_address = if digital || pickup {
                None // a digital order, or picked up
            } else {
                billing.clone()
            };
            let tags: Vec<String> = match i % 7 {
                0 => vec!["wholesale".into()],
                3 => vec!["vip".into(), "gift".into()],
                5 => vec!["repeat customer".into()],
                _ => Vec::new(),
            };
            let mut order = OrderRec {
                id,
                number: 1001 + i as u64,
                email,
                phone: (i % 4 == 0).then(|| "+1 613-555-0133".to_owned()),
                note: (i % 7 == 2).then(|| "Bitte vor 18 Uhr liefern — merci!".to_owned()),
                created_at: created,
                updated_at: created + rng.gen_range(60..3 * day),
                closed_at: None,
                cancelled_at: None,
                cancel_reason: None,
                financial,
                on_hold: false,
                presentment_currency: currency.0,
                rate: dec(currency.1),
                shipping,
                tax,
                discounts,
                refunded: Decimal::ZERO,
                customer_id: customer,
                billing,
                shipping_address,
                line_items: lines,
                fulfillments: Vec::new(),
                fulfillment_order_id: 6_000_000_001 + i as u64,
                tags,
                taxes_included,
                discount_codes,
                shipping_lines,
                transactions: Vec::new(),
                refunds: Vec::new(),
                total_weight_grams: round_to(grams, 0).try_into().unwrap_or(0),
            };
            order.refunds = seed_refunds(&order, i, created + 3 * day);
            order.refunded = order.refunds.iter().map(|r| r.amount).sum();
            order.transactions = seed_transactions(&order, i, created);
            // Cancellations: the voided ones and a refunded one.
            if financial == "VOIDED" || (financial == "REFUNDED" && i % 2 == 0) {
                order.cancelled_at = Some(order.updated_at);
                order.closed_at = Some(order.updated_at);
                order.cancel_reason = Some(if financial == "VOIDED" {
                    "CUSTOMER"
                } else {
                    "INVENTORY"
                });
            }
            // Shipping: most paid orders shipped (fully or partly), with tracking.
            let shippable = matches!(financial, "PAID" | "PARTIALLY_REFUNDED" | "PARTIALLY_PAID")
                && order.cancelled_at.is_none();
            let plan = if shippable { i % 5 } else { 4 };
            if plan <= 2 && !order.line_items.is_empty() {
                let partial = plan == 2;
                let take: Vec<(u64, i64)> = order
                    .line_items
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| !partial || *k == 0)
                    .map(|(_, l)| {
                        (
                            l.id,
                            if partial {
                                1.min(l.quantity)
                            } else {
                                l.quantity
                            },
                        )
                    })
                    .collect();
                let everything =
                    !partial || (order.line_items.len() == 1 && order.line_items[0].quantity == 1);
                let (carrier, link) = *pick(&mut rng, &CARRIERS);
                let number = format!("1Z{}", random_hex(&mut rng, 14).to_uppercase());
                fulfillment_id += 1;
                order.fulfillments.push(FulfillmentRec {
                    id: fulfillment_id,
                    name: format!("{}-F1", order.name()),
                    status: "SUCCESS",
                    created_at: created + day,
                    tracking: if i % 11 == 10 {
                        Vec::new() // shipped without tracking
                    } else {
                        vec![TrackingRec {
                            company: Some(carrier.into()),
                            url: Some(format!("{link}{number}")),
                            number: Some(number),
                        }]
                    },
                    lines: take,
                });
                order.updated_at = order.updated_at.max(created + day);
                if everything && financial == "PAID" && i % 2 == 0 {
                    order.closed_at = Some(created + 2 * day);
                }
            } else if shippable && plan == 3 && i % 3 == 0 {
                order.on_hold = true;
            }
            db.orders.insert(id, order);
        }
        db
    }
}

/// Refunds as the financial status says: everything (every line and the shipping) for a
/// refunded order; one unit of the first line, or an amount only, for a partly refunded
/// one.
fn seed_refunds(o: &OrderRec, i: usize, at: i64) -> Vec<RefundRec> {
    let id = 95_000_000_001 + i as u64;
    match o.financial {
        "REFUNDED" => vec![RefundRec {
            id,
            created_at: at,
            note: Some(
                if o.cancelled_at.is_some() {
                    "Out of stock"
                } else {
                    "Returned: did not fit"
                }
                .into(),
            ),
            amount: o.total(),
            lines: o
                .line_items
                .iter()
                .map(|l| {
                    (
                        l.id,
                        l.quantity,
                        l.unit_price * Decimal::from(l.quantity) - l.discount_amount(),
                    )
                })
                .collect(),
        }],
        "PARTIALLY_REFUNDED" if i % 25 == 23 || o.line_items.is_empty() => vec![RefundRec {
            id,
            created_at: at,
            note: Some("Goodwill: late delivery".into()),
            amount: dec("5.00").min(o.total()),
            lines: Vec::new(),
        }],
        "PARTIALLY_REFUNDED" => {
            let l = &o.line_items[0];
            let q = Decimal::from(l.quantity);
            let subtotal = round_to(l.unit_price - l.discount_amount() / q, 2);
            let tax = if o.taxes_included {
                Decimal::ZERO
            } else {
                round_to(l.taxes.iter().map(|t| t.amount).sum::<Decimal>() / q, 2)
            };
            vec![RefundRec {
                id,
                created_at: at,
                note: Some("Damaged in transit".into()),
                amount: subtotal + tax,
                lines: vec![(l.id, 1, subtotal)],
            }]
        }
        _ => Vec::new(),
    }
}

/// The payment transactions behind the financial status, through one of [`GATEWAYS`]
/// (some paid orders part by gift card), and a refund transaction per refund.
fn seed_transactions(o: &OrderRec, i: usize, created: i64) -> Vec<TransactionRec> {
    let (gateway, formatted) = GATEWAYS[i % GATEWAYS.len()];
    let total = o.total();
    let mut n = 0;
    let mut t = |kind: &'static str, status: &'static str, at: i64, amount: Decimal| {
        n += 1;
        TransactionRec {
            id: 97_000_000_000 + i as u64 * 10 + n,
            kind,
            status,
            gateway,
            formatted_gateway: formatted,
            processed_at: at,
            amount,
        }
    };
    let mut out = match o.financial {
        "PENDING" => vec![t("SALE", "PENDING", created, total)],
        "AUTHORIZED" | "EXPIRED" => vec![t("AUTHORIZATION", "SUCCESS", created, total)],
        "VOIDED" => vec![
            t("AUTHORIZATION", "SUCCESS", created, total),
            t("VOID", "SUCCESS", created + 7200, total),
        ],
        "PARTIALLY_PAID" => {
            let half = round_to(total / Decimal::from(2), 2);
            vec![
                t("AUTHORIZATION", "SUCCESS", created, total),
                t("CAPTURE", "SUCCESS", created + 3600, half),
            ]
        }
        _ if i % 9 == 4 && total > dec("10.00") => {
            let mut card = t("SALE", "SUCCESS", created + 60, total - dec("10.00"));
            let mut gift = card.clone();
            gift.id += 5;
            gift.gateway = "gift_card";
            gift.formatted_gateway = "Gift card";
            gift.amount = dec("10.00");
            gift.processed_at = created + 30;
            card.processed_at = created + 60;
            vec![gift, card]
        }
        _ if i % 2 == 1 => vec![
            t("AUTHORIZATION", "SUCCESS", created, total),
            t("CAPTURE", "SUCCESS", created + 3600, total),
        ],
        _ => vec![t("SALE", "SUCCESS", created + 60, total)],
    };
    for r in &o.refunds {
        let mut refund = out
            .last()
            .cloned()
            .unwrap_or_else(|| t("REFUND", "SUCCESS", r.created_at, r.amount));
        refund.id = 98_000_000_000 + r.id % 1_000_000;
        refund.kind = "REFUND";
        refund.status = "SUCCESS";
        refund.processed_at = r.created_at;
        refund.amount = r.amount;
        out.push(refund);
    }
    out
}

/// A title or name with a `(renamed N)` suffix for the `N`th write, replacing an earlier one.
fn renamed(s: &str, n: i64) -> String {
    let stem = match s.rfind(" (renamed ") {
        Some(i) if s.ends_with(')') => &s[..i],
        _ => s,
    };
    format!("{stem} (renamed {n})")
}

/// Changes the shop makes by itself (`POST /__sandbox/simulate`): each answers the
/// webhook topic it triggers and the object's id. `None`: no such object.
impl Db {
    /// The write counter behind [`Db::now`], for readable names.
    fn writes(&self) -> i64 {
        self.writes
    }

    /// A new paid order of one unit of the first product's first variant, by the first
    /// customer (a guest checkout without customers).
    pub fn simulate_order_created(&mut self) -> Option<u64> {
        let (product, variant) = self
            .products
            .values()
            .find_map(|p| p.variants.first().map(|v| (p.clone(), v.clone())))?;
        let customer = self.customers.values().next().cloned();
        let now = self.now();
        let id = self.next_id();
        let line_id = self.next_id();
        let fo_line = self.next_id();
        let fo = self.next_id();
        let number = self.orders.values().map(|o| o.number).max().unwrap_or(1000) + 1;
        let name = if variant.title == "Default Title" {
            product.title.clone()
        } else {
            format!("{} - {}", product.title, variant.title)
        };
        let address = customer.as_ref().and_then(|c| c.addresses.first().cloned());
        let (taxes_included, rates) = REGIMES[4];
        let taxes = if variant.requires_shipping {
            taxes_on(variant.price, taxes_included, rates)
        } else {
            Vec::new()
        };
        let shipping = ShippingLineRec {
            id: self.next_id(),
            title: "Standard".into(),
            code: "Standard".into(),
            source: "shopify",
            carrier_identifier: None,
            price: dec("5.99"),
            taxes: taxes_on(dec("5.99"), taxes_included, rates),
            discount: None,
        };
        let tax: Decimal = taxes.iter().chain(&shipping.taxes).map(|t| t.amount).sum();
        let transaction = TransactionRec {
            id: self.next_id(),
            kind: "SALE",
            status: "SUCCESS",
            gateway: GATEWAYS[0].0,
            formatted_gateway: GATEWAYS[0].1,
            processed_at: now,
            amount: Decimal::ZERO,
        };
        self.orders.insert(
            id,
            OrderRec {
                id,
                number,
                email: customer
                    .as_ref()
                    .and_then(|c| c.email.clone())
                    .or_else(|| Some("guest.checkout@example.org".into())),
                phone: None,
                note: None,
                created_at: now,
                updated_at: now,
                closed_at: None,
                cancelled_at: None,
                cancel_reason: None,
                financial: "PAID",
                on_hold: false,
                presentment_currency: SHOP_CURRENCY,
                rate: Decimal::ONE,
                shipping: dec("5.99"),
                tax,
                discounts: Decimal::ZERO,
                refunded: Decimal::ZERO,
                customer_id: customer.as_ref().map(|c| c.id),
                billing: address.clone(),
                shipping_address: address,
                line_items: vec![LineItemRec {
                    id: line_id,
                    name,
                    sku: variant.sku.clone(),
                    quantity: 1,
                    unit_price: variant.price,
                    product_id: Some(product.id),
                    variant_id: Some(variant.id),
                    fo_line_id: fo_line,
                    requires_shipping: variant.requires_shipping,
                    taxes,
                    discount: None,
                }],
                fulfillments: Vec::new(),
                fulfillment_order_id: fo,
                tags: Vec::new(),
                taxes_included,
                discount_codes: Vec::new(),
                shipping_lines: vec![shipping],
                transactions: vec![transaction],
                refunds: Vec::new(),
                total_weight_grams: round_to(variant.grams(), 0).try_into().unwrap_or(0),
            },
        );
        // The sale is of the order's total, known once the order is.
        if let Some(o) = self.orders.get_mut(&id) {
            let total = o.total();
            if let Some(t) = o.transactions.first_mut() {
                t.amount = total;
            }
        }
        Some(id)
    }

    /// A note written on the order in the admin.
    pub fn simulate_order_updated(&mut self, id: Option<u64>) -> Option<u64> {
        let id = id.or_else(|| self.orders.keys().next_back().copied())?;
        if !self.orders.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes();
        let o = self.orders.get_mut(&id)?;
        o.note = Some(format!("Changed in the admin (edit {n})."));
        o.updated_at = now;
        Some(id)
    }

    /// A new active product with its default variant.
    pub fn simulate_product_created(&mut self) -> Option<u64> {
        let now = self.now();
        let id = self.next_id();
        let vid = self.next_id();
        let item = self.next_id();
        let title = format!("Simulated Product {}", self.writes());
        let mut stock = BTreeMap::new();
        stock.insert(self.primary_location(), 10);
        self.products.insert(
            id,
            ProductRec {
                id,
                handle: handleize(&title),
                description_html: "<p>Added in the admin.</p>".into(),
                title,
                status: "ACTIVE",
                vendor: "Cartgate Demo".into(),
                product_type: "Simulated".into(),
                created_at: now,
                updated_at: now,
                images: Vec::new(),
                collection_ids: Vec::new(),
                variants: vec![VariantRec {
                    id: vid,
                    title: "Default Title".into(),
                    sku: Some(format!("SIM-{id}")),
                    barcode: Some(ean13(vid)),
                    weight: Some((dec("250"), "GRAMS")),
                    requires_shipping: true,
                    price: dec("19.00"),
                    position: 1,
                    inventory_item_id: item,
                    tracked: true,
                    stock,
                    options: vec![("Title".into(), "Default Title".into())],
                    created_at: now,
                    updated_at: now,
                }],
            },
        );
        Some(id)
    }

    /// The product renamed in the admin.
    pub fn simulate_product_updated(&mut self, id: Option<u64>) -> Option<u64> {
        let id = id.or_else(|| self.products.keys().next_back().copied())?;
        if !self.products.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes();
        let p = self.products.get_mut(&id)?;
        p.title = renamed(&p.title, n);
        p.updated_at = now;
        Some(id)
    }

    /// The product deleted in the admin (orders keep their line items).
    pub fn simulate_product_deleted(&mut self, id: Option<u64>) -> Option<u64> {
        let id = id.or_else(|| self.products.keys().next_back().copied())?;
        self.products.remove(&id)?;
        self.now();
        Some(id)
    }

    /// A customer account created at the storefront.
    pub fn simulate_customer_created(&mut self) -> Option<u64> {
        let now = self.now();
        let id = self.next_id();
        let (first, last, stem) = NAMES[(id % NAMES.len() as u64) as usize];
        self.customers.insert(
            id,
            CustomerRec {
                id,
                first_name: Some(first.into()),
                last_name: Some(last.into()),
                email: Some(format!("{stem}.{id}@example.com")),
                phone: None,
                state: "ENABLED",
                created_at: now,
                updated_at: now,
                addresses: Vec::new(),
            },
        );
        Some(id)
    }

    /// The customer's first name changed in the admin.
    pub fn simulate_customer_updated(&mut self, id: Option<u64>) -> Option<u64> {
        let id = id.or_else(|| self.customers.keys().next_back().copied())?;
        if !self.customers.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes();
        let c = self.customers.get_mut(&id)?;
        c.first_name = Some(renamed(c.first_name.as_deref().unwrap_or("Customer"), n));
        c.updated_at = now;
        Some(id)
    }
}

impl Db {
    /// The sandbox clock as of the last write (see [`Db::now`]).
    pub fn clock(&self) -> i64 {
        SANDBOX_EPOCH + self.writes
    }
}

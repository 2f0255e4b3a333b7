//! The eBay sandbox's seeded, deterministic data: orders (Sell Fulfillment documents),
//! inventory items, inventory item groups, offers and inventory locations (Sell Inventory
//! documents), the seller's account, and the notification topics.
//!
//! Everything is stored as the JSON document eBay answers, so what the handlers serve is what
//! the seed wrote; money is built with `rust_decimal` so totals add up to the cent.
//!
//! Orders cycle through [`SCENARIOS`] first (every fulfillment and payment state the
//! connector must map), then draw at random from the same scenarios. Inventory items cycle
//! through a fixed list of kinds (weights in every unit, items without weight, every GTIN
//! kind, with and without offers, unpublished offers, stock split across the two locations),
//! plus two inventory item groups with variations.

use std::collections::BTreeMap;

use cartgate_connector::sandbox::{
    pick, random_hex, seeded_rng, SandboxOptions, SANDBOX_EPOCH, SEED_NAMES,
};
use rand::Rng;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// The seller's eBay user name (Commerce Identity `username`, orders' `sellerId`).
pub const SELLER_USERNAME: &str = "cartgate_outfitters";
/// The two inventory locations: a warehouse and a store (the store serves In-Store Pickup).
pub const WAREHOUSE: &str = "warehouse-newark";
pub const STORE: &str = "store-brooklyn";

/// A decimal from a literal like "12.50" (seed tables only).
pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// An eBay `Amount`: `{value, currency}` with two decimals.
pub fn money(v: Decimal, currency: &str) -> Value {
    json!({"value": fmt2(v), "currency": currency})
}

pub fn fmt2(v: Decimal) -> String {
    let mut d = v.round_dp(2);
    d.rescale(2);
    d.to_string()
}

/// eBay's timestamp format: `2025-05-20T10:11:12.000Z`.
pub fn ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A marketplace the seeded orders and offers are on.
#[derive(Debug, Clone, Copy)]
pub struct Market {
    pub id: &'static str,
    pub currency: &'static str,
    pub country: &'static str,
    /// Shipping services: (carrier code, service code, price).
    pub services: &'static [(&'static str, &'static str, &'static str)],
    pub addresses: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

pub const US: Market = Market {
    id: "EBAY_US",
    currency: "USD",
    country: "US",
    services: &[
        ("USPS", "USPSPriority", "9.45"),
        ("USPS", "USPSGroundAdvantage", "5.25"),
        ("UPS", "UPSGround", "11.80"),
        ("FEDEX", "FedExHomeDelivery", "12.40"),
    ],
    addresses: &[
        ("742 Evergreen Terrace", "Springfield", "OR", "97477"),
        ("1600 Amphitheatre Pkwy", "Mountain View", "CA", "94043"),
        ("350 Fifth Avenue", "New York", "NY", "10118"),
        ("233 S Wacker Dr", "Chicago", "IL", "60606"),
    ],
};
pub const GB: Market = Market {
    id: "EBAY_GB",
    currency: "GBP",
    country: "GB",
    services: &[
        ("ROYAL_MAIL", "UK_RoyalMailSecondClassStandard", "3.20"),
        ("ROYAL_MAIL", "UK_RoyalMailFirstClassStandard", "4.10"),
        ("DPD", "UK_OtherCourier24", "6.95"),
    ],
    addresses: &[
        ("10 Downing Street", "London", "", "SW1A 2AA"),
        ("1 Deansgate", "Manchester", "", "M3 1AZ"),
    ],
};
pub const DE: Market = Market {
    id: "EBAY_DE",
    currency: "EUR",
    country: "DE",
    services: &[
        ("DHL", "DE_DHLPaket", "4.99"),
        ("DEUTSCHE_POST", "DE_DeutschePostBrief", "1.95"),
        ("HERMES", "DE_HermesPaket", "4.50"),
    ],
    addresses: &[
        ("Königstraße 1", "Stuttgart", "BW", "70173"),
        ("Straße des 17. Juni 135", "Berlin", "BE", "10623"),
    ],
};
pub const CA: Market = Market {
    id: "EBAY_CA",
    currency: "CAD",
    country: "CA",
    services: &[
        ("CANADA_POST", "CA_PostExpeditedParcel", "14.20"),
        ("PUROLATOR", "CA_PurolatorGround", "16.75"),
    ],
    addresses: &[
        ("301 Front St W", "Toronto", "ON", "M5V 2T6"),
        ("1000 Rue De La Gauchetière", "Montréal", "QC", "H3B 4W5"),
    ],
};
pub const MARKETS: [Market; 4] = [US, GB, DE, CA];

pub fn market(id: &str) -> Option<Market> {
    MARKETS.into_iter().find(|m| m.id == id)
}

/// The order scenarios seeded first, in this order (then drawn at random).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Paid, nothing shipped, one line, one unit.
    PaidNew,
    /// Paid and shipped in one package, several lines.
    Shipped,
    /// Paid, one of several lines shipped.
    PartlyShipped,
    /// Payment pending (no payment date).
    Pending,
    /// Cancelled by the buyer before shipping, fully refunded.
    Cancelled,
    /// Shipped, one line partly refunded (multi-quantity).
    PartlyRefunded,
    /// Free shipping and a seller promotion.
    FreeShippingPromo,
    /// In-Store Pickup at the store location.
    LocalPickup,
    /// A buyer with nothing but a user name and an address without optional lines.
    MinimalBuyer,
    /// Payment failed.
    PaymentFailed,
    /// A variation of a multi-variation listing, several units.
    Variation,
    /// Shipped and then fully refunded (returned).
    Returned,
}

pub const SCENARIOS: [Scenario; 12] = [
    Scenario::PaidNew,
    Scenario::Shipped,
    Scenario::PartlyShipped,
    Scenario::Pending,
    Scenario::Cancelled,
    Scenario::PartlyRefunded,
    Scenario::FreeShippingPromo,
    Scenario::LocalPickup,
    Scenario::MinimalBuyer,
    Scenario::PaymentFailed,
    Scenario::Variation,
    Scenario::Returned,
];

/// The product table inventory items are drawn from:
/// (title, brand, mpn, aspects (name, value), condition, base price in USD).
/// (title, brand, mpn, aspects, condition, base price in USD).
type ProductRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

const PRODUCTS: [ProductRow; 12] = [
    (
        "Trail Running Shoes",
        "Salomon",
        "L41737000",
        &[("Type", "Running"), ("Color", "Black")],
        "NEW",
        "129.95",
    ),
    (
        "Stainless Steel Water Bottle 750 ml",
        "Klean Kanteen",
        "1008456",
        &[("Capacity", "750 ml"), ("Material", "Stainless Steel")],
        "NEW",
        "32.50",
    ),
    (
        "The Pragmatic Programmer (20th Anniversary Edition)",
        "Addison-Wesley",
        "9780135957059",
        &[("Format", "Hardcover"), ("Language", "English")],
        "USED_VERY_GOOD",
        "38.00",
    ),
    (
        "Mechanical Keyboard 75% Hot-Swap",
        "Keychron",
        "K2-V2-RGB",
        &[("Connectivity", "Bluetooth"), ("Layout", "US")],
        "NEW",
        "89.00",
    ),
    (
        "Cast Iron Skillet 26 cm",
        "Lodge",
        "L8SK3",
        &[("Material", "Cast Iron"), ("Diameter", "26 cm")],
        "NEW",
        "44.90",
    ),
    (
        "Noise Cancelling Headphones",
        "Sony",
        "WH1000XM4/B",
        &[("Color", "Black"), ("Connectivity", "Bluetooth")],
        "USED_EXCELLENT",
        "219.99",
    ),
    (
        "Camping Tent 2-Person",
        "MSR",
        "10350",
        &[("Capacity", "2 Person"), ("Season", "3-Season")],
        "NEW",
        "349.95",
    ),
    (
        "Crème de la Crème Espresso Beans 1 kg",
        "Café Léger",
        "CDLC-1000",
        &[("Roast", "Dark"), ("Weight", "1 kg")],
        "NEW",
        "24.99",
    ),
    (
        "LEGO Technic Bugatti Chiron",
        "LEGO",
        "42083",
        &[("Theme", "Technic"), ("Pieces", "3599")],
        "NEW",
        "379.99",
    ),
    (
        "Yoga Mat 6 mm",
        "Manduka",
        "PRO-6MM",
        &[("Thickness", "6 mm"), ("Color", "Purple")],
        "NEW",
        "59.00",
    ),
    (
        "Wooden Chess Set",
        "Jaques of London",
        "JQ-STAUNTON",
        &[("Material", "Wood"), ("Board Size", "50 cm")],
        "NEW",
        "149.00",
    ),
    (
        "Vintage Film Camera Canon AE-1",
        "Canon",
        "AE-1",
        &[("Type", "SLR"), ("Film Format", "35mm")],
        "USED_GOOD",
        "189.00",
    ),
];

/// What distinguishes the inventory items cycled through at seed time.
#[derive(Debug, Clone, Copy)]
struct ItemKind {
    /// (unit, value) of the package weight, or none.
    weight: Option<(&'static str, &'static str)>,
    /// (unit, length, width, height), or none.
    dims: Option<(&'static str, &'static str, &'static str, &'static str)>,
    /// Which GTIN the product carries: "upc", "ean", "isbn" or none (brand + MPN only).
    gtin: Option<&'static str>,
    /// The offer's marketplace and status, or no offer at all.
    offer: Option<(&'static str, bool)>,
    /// Quantities at (warehouse, store); `None` at the store: stock at the warehouse only;
    /// both `None`: no per-location distribution, only the total.
    stock: (Option<u32>, Option<u32>),
}

const ITEM_KINDS: [ItemKind; 8] = [
    ItemKind {
        weight: Some(("POUND", "2.2")),
        dims: Some(("INCH", "12", "8", "5")),
        gtin: Some("upc"),
        offer: Some(("EBAY_US", true)),
        stock: (Some(14), Some(6)),
    },
    ItemKind {
        weight: Some(("KILOGRAM", "1.25")),
        dims: Some(("CENTIMETER", "30", "20", "12")),
        gtin: Some("ean"),
        offer: Some(("EBAY_DE", true)),
        stock: (Some(9), None),
    },
    ItemKind {
        weight: Some(("OUNCE", "28")),
        dims: None,
        gtin: Some("isbn"),
        offer: Some(("EBAY_US", true)),
        stock: (Some(3), Some(2)),
    },
    ItemKind {
        weight: Some(("GRAM", "450")),
        dims: Some(("METER", "0.4", "0.3", "0.1")),
        gtin: Some("ean"),
        offer: Some(("EBAY_GB", true)),
        stock: (Some(25), Some(0)),
    },
    ItemKind {
        weight: None,
        dims: None,
        gtin: None,
        offer: None,
        stock: (None, None),
    },
    ItemKind {
        weight: Some(("POUND", "0.75")),
        dims: Some(("INCH", "10", "6", "2")),
        gtin: Some("upc"),
        offer: Some(("EBAY_US", false)),
        stock: (Some(40), Some(10)),
    },
    ItemKind {
        weight: Some(("POUND", "18")),
        dims: Some(("FEET", "2", "1.5", "1")),
        gtin: Some("upc"),
        offer: Some(("EBAY_CA", true)),
        stock: (Some(4), None),
    },
    ItemKind {
        weight: Some(("KILOGRAM", "0.3")),
        dims: None,
        gtin: None,
        offer: Some(("EBAY_US", true)),
        stock: (Some(0), Some(0)),
    },
];

/// The sandbox's store of documents (guarded by one mutex in the sandbox).
pub struct Db {
    /// The sandbox clock (Unix seconds): starts at [`SANDBOX_EPOCH`], one second per write.
    pub clock: i64,
    pub orders: BTreeMap<String, Value>,
    /// Shipping fulfillments by order id, oldest first.
    pub fulfillments: BTreeMap<String, Vec<Value>>,
    /// Inventory items by SKU, as `getInventoryItem` answers them.
    pub items: BTreeMap<String, Value>,
    pub groups: BTreeMap<String, Value>,
    pub offers: BTreeMap<String, Value>,
    pub locations: BTreeMap<String, Value>,
    pub user: Value,
    pub privileges: Value,
    pub topics: Vec<Value>,
    /// Counters for ids made after seeding (deterministic).
    pub next_offer: u64,
    pub next_listing: u64,
    pub next_order: u64,
    pub next_line: u64,
    pub next_item: u64,
}

impl Db {
    /// Moves the clock one second and answers the new time.
    pub fn tick(&mut self) -> i64 {
        self.clock += 1;
        self.clock
    }

    pub fn seed(opts: &SandboxOptions, base_url: &str) -> Db {
        let mut db = Db {
            clock: SANDBOX_EPOCH,
            orders: BTreeMap::new(),
            fulfillments: BTreeMap::new(),
            items: BTreeMap::new(),
            groups: BTreeMap::new(),
            offers: BTreeMap::new(),
            locations: BTreeMap::new(),
            user: seller_user(),
            privileges: json!({
                "sellerRegistrationCompleted": true,
                "sellingLimit": {"amount": money(dec("250000.00"), "USD"), "quantity": 5000}
            }),
            topics: topics(),
            next_offer: 0,
            next_listing: 0,
            next_order: 0,
            next_line: 0,
            next_item: 0,
        };
        seed_locations(&mut db);
        seed_inventory(&mut db, opts);
        seed_orders(&mut db, opts, base_url);
        db
    }

    /// A new offer id (after the seeded ones).
    pub fn new_offer_id(&mut self) -> String {
        self.next_offer += 1;
        format!("{}", 5_005_300_000 + self.next_offer)
    }

    pub fn new_listing_id(&mut self) -> String {
        self.next_listing += 1;
        format!("{}", 110_553_000_000u64 + self.next_listing)
    }

    /// The offers of a SKU, in offer id order.
    pub fn offers_of(&self, sku: &str) -> Vec<&Value> {
        self.offers.values().filter(|o| o["sku"] == sku).collect()
    }

    /// The keys of the groups a SKU belongs to.
    pub fn groups_of(&self, sku: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|(_, g)| {
                g["variantSKUs"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|s| s == sku))
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A new order: a copy of the newest paid, unshipped order with fresh ids, created and
    /// paid now. Answers its id, or `None` when there is no such order to copy.
    pub fn new_order_like_newest(&mut self) -> Option<String> {
        let template = self
            .orders
            .values()
            .filter(|o| {
                o["orderPaymentStatus"] == "PAID" && o["orderFulfillmentStatus"] == "NOT_STARTED"
            })
            .max_by(|a, b| a["creationDate"].as_str().cmp(&b["creationDate"].as_str()))?
            .clone();
        let now = self.tick();
        self.next_order += 1;
        let n = self.next_order;
        let id = format!("27-{:05}-{:05}", 10_000 + n % 90_000, (n * 7919) % 100_000);
        let mut o = template;
        o["orderId"] = json!(id);
        o["creationDate"] = json!(ts(now));
        o["lastModifiedDate"] = json!(ts(now));
        o["salesRecordReference"] = json!(format!("{}", 9000 + n));
        if let Some(payments) = o["paymentSummary"]["payments"].as_array_mut() {
            for p in payments {
                p["paymentDate"] = json!(ts(now));
            }
        }
        if let Some(lines) = o["lineItems"].as_array_mut() {
            for li in lines {
                self.next_line += 1;
                li["lineItemId"] = json!(format!("{}", 20_000_000_000u64 + self.next_line));
            }
        }
        o["fulfillmentHrefs"] = json!([]);
        self.orders.insert(id.clone(), o);
        Some(id)
    }
}

fn seller_user() -> Value {
    json!({
        "userId": "f4cb1f9c3e8a2d1b",
        "username": SELLER_USERNAME,
        "accountType": "BUSINESS",
        "registrationMarketplaceId": "EBAY_US",
        "status": "CONFIRMED",
        "businessAccount": {
            "name": "Cartgate Outfitters LLC",
            "doingBusinessAs": "Cartgate Outfitters",
            "email": "seller@cartgate-outfitters.example",
            "website": "https://cartgate-outfitters.example",
            "address": {
                "addressLine1": "100 Raymond Blvd",
                "addressLine2": "Suite 400",
                "city": "Newark",
                "stateOrProvince": "NJ",
                "postalCode": "07102",
                "country": "US"
            },
            "primaryContact": {"firstName": "Renée", "lastName": "Dubois"},
            "primaryPhone": {"countryCode": "US", "number": "9735550100", "phoneType": "LAND_LINE"}
        }
    })
}

/// The notification topics the sandbox knows (getTopics): the order topics it pushes and
/// eBay's mandatory application topic.
fn topics() -> Vec<Value> {
    let payload = json!([{
        "schemaVersion": "1.0",
        "format": ["JSON"],
        "deliveryProtocol": "HTTPS",
        "deprecated": false
    }]);
    let user_scopes = json!([
        "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription",
        "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription.readonly"
    ]);
    vec![
        json!({
            "topicId": "ORDER_CONFIRMATION",
            "description": "A buyer completed the checkout of a line item of an order.",
            "authorizationScopes": user_scopes,
            "context": "SELLING",
            "scope": "USER",
            "status": "ENABLED",
            "filterable": false,
            "supportedPayloads": payload
        }),
        json!({
            "topicId": "ITEM_MARKED_SHIPPED",
            "description": "A line item of an order was marked as shipped.",
            "authorizationScopes": user_scopes,
            "context": "SELLING",
            "scope": "USER",
            "status": "ENABLED",
            "filterable": false,
            "supportedPayloads": payload
        }),
        json!({
            "topicId": "MARKETPLACE_ACCOUNT_DELETION",
            "description": "An eBay user asked for the deletion of their account.",
            "authorizationScopes": ["https://api.ebay.com/oauth/api_scope"],
            "context": "ECOMMERCE",
            "scope": "APPLICATION",
            "status": "ENABLED",
            "filterable": false,
            "supportedPayloads": payload
        }),
    ]
}

fn seed_locations(db: &mut Db) {
    let hours = |days: &[&str], open: &str, close: &str| -> Value {
        Value::Array(
            days.iter()
                .map(|d| json!({"dayOfWeekEnum": d, "intervals": [{"open": open, "close": close}]}))
                .collect(),
        )
    };
    db.locations.insert(
        WAREHOUSE.into(),
        json!({
            "merchantLocationKey": WAREHOUSE,
            "name": "Newark Warehouse",
            "location": {
                "locationId": "5417261010",
                "address": {
                    "addressLine1": "100 Raymond Blvd",
                    "city": "Newark",
                    "stateOrProvince": "NJ",
                    "postalCode": "07102",
                    "country": "US"
                }
            },
            "locationTypes": ["WAREHOUSE"],
            "merchantLocationStatus": "ENABLED",
            "timeZoneId": "America/New_York"
        }),
    );
    db.locations.insert(
        STORE.into(),
        json!({
            "merchantLocationKey": STORE,
            "name": "Brooklyn Store — Café Corner",
            "phone": "7185550142",
            "location": {
                "locationId": "5417261011",
                "address": {
                    "addressLine1": "55 Water Street",
                    "addressLine2": "Unit 2",
                    "city": "Brooklyn",
                    "stateOrProvince": "NY",
                    "postalCode": "11201",
                    "country": "US"
                },
                "geoCoordinates": {"latitude": 40.7033, "longitude": -73.9881}
            },
            "locationInstructions": "Pick-ups at the counter.",
            "locationTypes": ["STORE"],
            "merchantLocationStatus": "ENABLED",
            "timeZoneId": "America/New_York",
            "operatingHours": hours(&["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], "09:00:00", "18:00:00")
        }),
    );
}

/// 12-digit UPC, 13-digit EAN, 13-digit ISBN with valid check digits.
fn gtin(rng: &mut impl Rng, kind: &str) -> String {
    let (prefix, len) = match kind {
        "upc" => ("0", 12),
        "isbn" => ("978", 13),
        _ => ("40", 13),
    };
    let mut digits: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    while digits.len() < len - 1 {
        digits.push(rng.gen_range(0..10));
    }
    // GS1 check digit: weights 3 and 1 from the right (excluding the check digit).
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
        .collect()
}

/// Offer prices per marketplace from a USD base price.
fn price_in(base: Decimal, currency: &str) -> Decimal {
    let rate = match currency {
        "GBP" => dec("0.79"),
        "EUR" => dec("0.92"),
        "CAD" => dec("1.37"),
        _ => Decimal::ONE,
    };
    // Round to .99-ish prices the way sellers price.
    let p = (base * rate).round_dp(0);
    if p > Decimal::ONE {
        p - dec("0.01")
    } else {
        (base * rate).round_dp(2)
    }
}

fn seed_inventory(db: &mut Db, opts: &SandboxOptions) {
    let mut rng = seeded_rng(opts.seed, "ebay-inventory");
    let simple = opts.products.max(ITEM_KINDS.len());
    let mut offer_seq: u64 = 0;
    let mut listing_seq: u64 = 0;
    for i in 0..simple {
        let kind = ITEM_KINDS[i % ITEM_KINDS.len()];
        let (title, brand, mpn, aspects, condition, base) = PRODUCTS[i % PRODUCTS.len()];
        let round = i / PRODUCTS.len();
        let sku = format!("CG{:04}", 1001 + i);
        let title = if round == 0 {
            title.to_owned()
        } else {
            format!("{title} (Lot {})", round + 1)
        };
        let mut product = json!({
            "title": title,
            "description": format!("<p>{title} by {brand}. Ships from New Jersey.</p>"),
            "aspects": aspects_json(aspects, brand),
            "brand": brand,
            "mpn": mpn,
            "imageUrls": [format!("https://i.ebayimg.example/images/g/{sku}/s-l1600.jpg")]
        });
        if let Some(kind) = kind.gtin {
            product[kind] = json!([gtin(&mut rng, kind)]);
        }
        let mut item = json!({
            "product": product,
            "condition": condition,
            "availability": availability(kind.stock, rng.gen_range(1..30))
        });
        if condition.starts_with("USED") {
            item["conditionDescription"] = json!("Light signs of use; fully working.");
        }
        if kind.weight.is_some() || kind.dims.is_some() {
            let mut pkg = json!({"packageType": "PACKAGE_THICK_ENVELOPE"});
            if let Some((unit, v)) = kind.weight {
                pkg["weight"] = json!({"unit": unit, "value": num(v)});
            }
            if let Some((unit, l, w, h)) = kind.dims {
                pkg["dimensions"] =
                    json!({"unit": unit, "length": num(l), "width": num(w), "height": num(h)});
            }
            item["packageWeightAndSize"] = pkg;
        }
        let qty = item["availability"]["shipToLocationAvailability"]["quantity"]
            .as_u64()
            .unwrap_or(0);
        db.items.insert(sku.clone(), item);
        if let Some((marketplace, published)) = kind.offer {
            offer_seq += 1;
            let m = market(marketplace).unwrap_or(US);
            let price = price_in(dec(base), m.currency);
            let offer_id = format!("{}", 5_005_100_000 + offer_seq * 37);
            let mut offer = offer_doc(&offer_id, &sku, m, price, qty, &title);
            if published {
                listing_seq += 1;
                offer["status"] = json!("PUBLISHED");
                offer["listing"] = json!({
                    "listingId": format!("{}", 110_551_000_000u64 + listing_seq * 101),
                    "listingStatus": "ACTIVE",
                    "soldQuantity": rng.gen_range(0..12),
                    "listingOnHold": false
                });
            }
            db.offers.insert(offer_id, offer);
        }
    }
    // Two inventory item groups with variations.
    // (key, title, brand, aspects the variations vary by, price).
    type GroupRow = (
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static [&'static str])],
        &'static str,
    );
    let groups: [GroupRow; 2] = [
        (
            "GRPTEE01",
            "Organic Cotton T-Shirt",
            "Patagonia",
            &[("Size", &["S", "M", "L"]), ("Color", &["Navy", "Forest"])],
            "34.00",
        ),
        (
            "GRPMUG01",
            "Ceramic Mug 350 ml",
            "Höganäs Keramik",
            &[("Color", &["Sand", "Slate"])],
            "18.50",
        ),
    ];
    for (g, (key, title, brand, varies, base)) in groups.iter().enumerate() {
        // Every combination of the aspect values.
        let mut combos: Vec<Vec<(&str, &str)>> = vec![vec![]];
        for (name, values) in varies.iter() {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((*name, *v));
                        c
                    })
                })
                .collect();
        }
        let mut skus = Vec::new();
        for (v, combo) in combos.iter().enumerate() {
            let sku = format!("{}V{}", &key[3..6], v + 1);
            let mut aspects = Map::new();
            aspects.insert("Brand".into(), json!([brand]));
            for (n, val) in combo {
                aspects.insert((*n).into(), json!([val]));
            }
            let label: Vec<&str> = combo.iter().map(|(_, v)| *v).collect();
            let vtitle = format!("{title} - {}", label.join(", "));
            let mut product = json!({
                "title": vtitle,
                "description": format!("<p>{title}</p>"),
                "aspects": aspects,
                "brand": brand,
                "mpn": format!("{}-{}", &key[3..6], v + 1),
                "imageUrls": [format!("https://i.ebayimg.example/images/g/{sku}/s-l1600.jpg")]
            });
            product["ean"] = json!([gtin(&mut rng, "ean")]);
            let stock = if v % 2 == 0 {
                (Some(5 + v as u32), Some(2))
            } else {
                (Some(3), None)
            };
            let mut item = json!({
                "product": product,
                "condition": "NEW",
                "availability": availability(stock, 0),
                "packageWeightAndSize": {
                    "packageType": "MAILING_BOX",
                    "weight": if g == 0 { json!({"unit": "OUNCE", "value": 7}) } else { json!({"unit": "GRAM", "value": 420}) },
                    "dimensions": if g == 0 { json!({"unit": "INCH", "length": 10, "width": 8, "height": 1}) } else { json!({"unit": "CENTIMETER", "length": 12, "width": 12, "height": 11}) }
                }
            });
            let qty = item["availability"]["shipToLocationAvailability"]["quantity"]
                .as_u64()
                .unwrap_or(0);
            item["product"]["title"] = json!(vtitle);
            db.items.insert(sku.clone(), item);
            // The last variation of the mug has no offer yet.
            if !(g == 1 && v + 1 == combos.len()) {
                offer_seq += 1;
                let offer_id = format!("{}", 5_005_100_000 + offer_seq * 37);
                let mut offer = offer_doc(&offer_id, &sku, US, dec(base), qty, &vtitle);
                offer["status"] = json!("PUBLISHED");
                // The variations of a group share one listing.
                offer["listing"] = json!({
                    "listingId": format!("{}", 110_552_000_000u64 + g as u64),
                    "listingStatus": "ACTIVE",
                    "soldQuantity": 1,
                    "listingOnHold": false
                });
                db.offers.insert(offer_id, offer);
            }
            skus.push(sku);
        }
        let mut shared = Map::new();
        shared.insert("Brand".into(), json!([brand]));
        db.groups.insert(
            (*key).into(),
            json!({
                "inventoryItemGroupKey": key,
                "title": title,
                "description": format!("<p>{title} in several variations.</p>"),
                "aspects": shared,
                "imageUrls": [format!("https://i.ebayimg.example/images/g/{key}/s-l1600.jpg")],
                "variantSKUs": skus,
                "variesBy": {
                    "aspectsImageVariesBy": [varies[varies.len() - 1].0],
                    "specifications": varies.iter().map(|(n, vals)| json!({"name": n, "values": vals})).collect::<Vec<_>>()
                }
            }),
        );
    }
    db.next_offer = offer_seq * 37;
}

fn aspects_json(aspects: &[(&str, &str)], brand: &str) -> Value {
    let mut m = Map::new();
    m.insert("Brand".into(), json!([brand]));
    for (k, v) in aspects {
        m.insert((*k).into(), json!([v]));
    }
    Value::Object(m)
}

/// A JSON number from a decimal literal (integers stay integers).
fn num(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        json!(i)
    } else {
        json!(s.parse::<f64>().unwrap_or(0.0))
    }
}

fn availability(stock: (Option<u32>, Option<u32>), fallback: u32) -> Value {
    match stock {
        (None, None) => json!({"shipToLocationAvailability": {"quantity": fallback}}),
        (w, s) => {
            let mut dist = Vec::new();
            let mut total = 0;
            if let Some(q) = w {
                total += q;
                dist.push(json!({"merchantLocationKey": WAREHOUSE, "quantity": q,
                    "fulfillmentTime": {"unit": "BUSINESS_DAY", "value": 1}}));
            }
            if let Some(q) = s {
                total += q;
                dist.push(json!({"merchantLocationKey": STORE, "quantity": q,
                    "fulfillmentTime": {"unit": "BUSINESS_DAY", "value": 2}}));
            }
            json!({"shipToLocationAvailability": {"quantity": total, "availabilityDistributions": dist}})
        }
    }
}

fn offer_doc(offer_id: &str, sku: &str, m: Market, price: Decimal, qty: u64, title: &str) -> Value {
    json!({
        "offerId": offer_id,
        "sku": sku,
        "marketplaceId": m.id,
        "format": "FIXED_PRICE",
        "availableQuantity": qty,
        "categoryId": "15687",
        "listingDescription": format!("<p>{title}</p>"),
        "listingDuration": "GTC",
        "listingPolicies": {
            "fulfillmentPolicyId": "6196932000",
            "paymentPolicyId": "6196940000",
            "returnPolicyId": "6196944000"
        },
        "pricingSummary": {"price": money(price, m.currency)},
        "merchantLocationKey": WAREHOUSE,
        "includeCatalogProductDetails": true,
        "status": "UNPUBLISHED"
    })
}

/// One seeded line item before pricing.
struct LineSeed {
    sku: String,
    title: String,
    unit: Decimal,
    quantity: u32,
    variation: Option<Vec<(String, String)>>,
    legacy_item: String,
}

/// A variation an order line can be: (sku, title, price, listing id, aspects).
type Variant = (String, String, Decimal, String, Vec<(String, String)>);

fn seed_orders(db: &mut Db, opts: &SandboxOptions, base_url: &str) {
    let mut rng = seeded_rng(opts.seed, "ebay-orders");
    // Candidate SKUs for order lines: every inventory item with a title and a price.
    let mut simple: Vec<(String, String, Decimal, String)> = Vec::new();
    for (sku, item) in &db.items {
        let title = item["product"]["title"].as_str().unwrap_or(sku).to_owned();
        let base = db
            .offers_of(sku)
            .first()
            .and_then(|o| o["pricingSummary"]["price"]["value"].as_str())
            .map(dec)
            .unwrap_or_else(|| dec("19.99"));
        let listing = db
            .offers_of(sku)
            .first()
            .and_then(|o| o["listing"]["listingId"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("1105510{:05}", rng.gen_range(0..100_000)));
        simple.push((sku.clone(), title, base, listing));
    }
    // Variations of the groups: (sku, title, price, listing id, aspects).
    let variants: Vec<Variant> = db
        .items
        .iter()
        .filter(|(sku, _)| !sku.starts_with("CG"))
        .filter_map(|(sku, i)| {
            let offer = *db.offers_of(sku).first()?;
            let aspects: Vec<(String, String)> = i["product"]["aspects"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| k.as_str() != "Brand")
                        .map(|(k, v)| (k.clone(), v[0].as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            Some((
                sku.clone(),
                i["product"]["title"].as_str().unwrap_or("").to_owned(),
                offer["pricingSummary"]["price"]["value"]
                    .as_str()
                    .map(dec)
                    .unwrap_or_default(),
                offer["listing"]["listingId"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                aspects,
            ))
        })
        .collect();
    let n = opts.orders;
    for i in 0..n {
        let scenario = if i < SCENARIOS.len() {
            SCENARIOS[i]
        } else {
            *pick(&mut rng, &SCENARIOS)
        };
        let m = match scenario {
            Scenario::PartlyShipped | Scenario::PartlyRefunded => GB,
            Scenario::Pending | Scenario::Variation => {
                if scenario == Scenario::Variation {
                    US
                } else {
                    DE
                }
            }
            Scenario::MinimalBuyer => CA,
            Scenario::LocalPickup | Scenario::FreeShippingPromo | Scenario::Cancelled => US,
            _ if i < SCENARIOS.len() => US,
            _ => *pick(&mut rng, &MARKETS),
        };
        // Created 11 to 70 days before the epoch, so that every later event of the seed
        // (shipping, refunds: at most 9 days on) is still before the sandbox clock starts.
        let created = SANDBOX_EPOCH - 86_400 * 70
            + (i as i64) * (86_400 * 59 / (n.max(1) as i64))
            + rng.gen_range(0..3_600);
        let lines: Vec<LineSeed> = match scenario {
            Scenario::Variation => {
                let (sku, title, unit, listing, aspects) = variants[i % variants.len()].clone();
                vec![LineSeed {
                    sku,
                    title,
                    unit,
                    quantity: 3,
                    variation: Some(aspects),
                    legacy_item: listing,
                }]
            }
            Scenario::PaidNew
            | Scenario::LocalPickup
            | Scenario::PaymentFailed
            | Scenario::Pending => {
                vec![line_from(&mut rng, &simple, m, 1)]
            }
            Scenario::PartlyRefunded => {
                vec![
                    line_from(&mut rng, &simple, m, 4),
                    line_from(&mut rng, &simple, m, 1),
                ]
            }
            _ => {
                let count = rng.gen_range(2..=3);
                (0..count)
                    .map(|_| {
                        let q = rng.gen_range(1..=3);
                        line_from(&mut rng, &simple, m, q)
                    })
                    .collect()
            }
        };
        let order = build_order(db, &mut rng, i, scenario, m, created, lines, base_url);
        let id = order["orderId"].as_str().unwrap_or_default().to_owned();
        db.orders.insert(id, order);
    }
}

fn line_from(
    rng: &mut impl Rng,
    simple: &[(String, String, Decimal, String)],
    m: Market,
    quantity: u32,
) -> LineSeed {
    let (sku, title, base, listing) = pick(rng, simple).clone();
    LineSeed {
        sku,
        title,
        unit: if m.currency == "USD" {
            base
        } else {
            price_in(base, m.currency)
        },
        quantity,
        variation: None,
        legacy_item: listing,
    }
}

/// Sales tax / GST rates by marketplace, as (tax type, percent).
fn tax_rates(m: Market, rng: &mut impl Rng) -> Vec<(&'static str, Decimal)> {
    match m.id {
        "EBAY_US" => vec![(
            "STATE_SALES_TAX",
            *pick(rng, &[dec("6.25"), dec("7.00"), dec("8.875")]),
        )],
        "EBAY_CA" => vec![("GST", dec("5")), ("PROVINCE_SALES_TAX", dec("8"))],
        // GB and DE prices include VAT; eBay shows no separate tax.
        _ => vec![],
    }
}

#[allow(clippy::too_many_arguments)]
fn build_order(
    db: &mut Db,
    rng: &mut impl Rng,
    i: usize,
    scenario: Scenario,
    m: Market,
    created: i64,
    lines: Vec<LineSeed>,
    base_url: &str,
) -> Value {
    // eBay's order id form; the first and last groups come from the index, so ids never
    // collide however many orders are seeded.
    let order_id = format!(
        "{:02}-{:05}-{:05}",
        10 + (i / 100_000) % 90,
        rng.gen_range(10_000..100_000),
        i % 100_000
    );
    let (first, last, stem) = SEED_NAMES[i % SEED_NAMES.len()];
    let full_name = format!("{first} {last}");
    let username = format!("{}_{}", stem.replace('.', "_"), random_hex(rng, 3));
    let (street, city, state, postal) = *pick(rng, m.addresses);
    let minimal = scenario == Scenario::MinimalBuyer;
    let mut address = json!({
        "addressLine1": street,
        "city": city,
        "countryCode": m.country,
        "postalCode": postal
    });
    if !state.is_empty() {
        address["stateOrProvince"] = json!(state);
    }
    if !minimal && i.is_multiple_of(3) {
        address["addressLine2"] = json!(format!("Apt {}", rng.gen_range(1..40)));
    }
    let mut ship_to = json!({"fullName": full_name, "contactAddress": address});
    if !minimal {
        ship_to["primaryPhone"] =
            json!({"phoneNumber": format!("+1 555 01{:02}", rng.gen_range(0..100))});
        ship_to["email"] = json!(format!("{}@members.ebay.example", random_hex(rng, 16)));
    }
    let mut buyer = json!({"username": username});
    if !minimal {
        let mut tax_address = json!({"city": city, "countryCode": m.country, "postalCode": postal});
        if !state.is_empty() {
            tax_address["stateOrProvince"] = json!(state);
        }
        buyer["taxAddress"] = tax_address;
        buyer["buyerRegistrationAddress"] = ship_to.clone();
    }
    let free = scenario == Scenario::FreeShippingPromo || scenario == Scenario::LocalPickup;
    let (carrier, service, ship_price) = if scenario == Scenario::LocalPickup {
        ("", "Pickup", "0.00")
    } else {
        *pick(rng, m.services)
    };
    let ship_price = if free { Decimal::ZERO } else { dec(ship_price) };
    let rates = tax_rates(m, rng);
    let cur = m.currency;
    // Line items.
    let mut out_lines = Vec::new();
    let mut subtotal = Decimal::ZERO;
    let mut delivery = Decimal::ZERO;
    let mut discount = Decimal::ZERO;
    let mut tax_total = Decimal::ZERO;
    let mut remit_total = Decimal::ZERO;
    let nlines = lines.len();
    let pay_date = created + 120;
    for (k, l) in lines.iter().enumerate() {
        db.next_line += 1;
        let line_id = format!("{}", 10_000_000_000u64 + (i as u64) * 100 + k as u64 + 1);
        let cost = l.unit * Decimal::from(l.quantity);
        // The order's shipping is charged on its first line.
        let ship = if k == 0 { ship_price } else { Decimal::ZERO };
        let promo = if scenario == Scenario::FreeShippingPromo && k == 0 {
            (cost * dec("0.10")).round_dp(2)
        } else {
            Decimal::ZERO
        };
        let taxable = cost - promo + ship;
        let mut taxes = Vec::new();
        let mut remit = Vec::new();
        let mut line_tax = Decimal::ZERO;
        for (ty, rate) in &rates {
            let amount = (taxable * rate / dec("100")).round_dp(2);
            line_tax += amount;
            taxes.push(json!({"amount": money(amount, cur), "taxType": ty}));
            remit.push(
                json!({"taxType": ty, "amount": money(amount, cur), "collectionMethod": "NET"}),
            );
        }
        let total = cost - promo + ship + line_tax;
        subtotal += cost;
        delivery += ship;
        discount += promo;
        tax_total += line_tax;
        remit_total += line_tax;
        let mut li = json!({
            "lineItemId": line_id,
            "legacyItemId": l.legacy_item,
            "sku": l.sku,
            "title": l.title,
            "quantity": l.quantity,
            "lineItemCost": money(cost, cur),
            "total": money(total, cur),
            "deliveryCost": {"shippingCost": money(ship, cur)},
            "appliedPromotions": [],
            "taxes": taxes,
            "refunds": [],
            "lineItemFulfillmentStatus": "NOT_STARTED",
            "listingMarketplaceId": m.id,
            "purchaseMarketplaceId": m.id,
            "soldFormat": if i % 7 == 3 { "AUCTION" } else { "FIXED_PRICE" },
            "properties": {"buyerProtection": true},
            "lineItemFulfillmentInstructions": {
                "shipByDate": ts(created + 3 * 86_400),
                "minEstimatedDeliveryDate": ts(created + 4 * 86_400),
                "maxEstimatedDeliveryDate": ts(created + 8 * 86_400),
                "guaranteedDelivery": false
            },
            "itemLocation": {"location": "Newark, New Jersey", "countryCode": "US", "postalCode": "07102"}
        });
        if !remit.is_empty() {
            li["ebayCollectAndRemitTaxes"] = Value::Array(remit);
        }
        // eBay returns soldViaAdCampaign only when true.
        if i.is_multiple_of(5) {
            li["properties"]["soldViaAdCampaign"] = json!(true);
        }
        if promo > Decimal::ZERO {
            li["appliedPromotions"] = json!([{
                "promotionId": "5001234567",
                "description": "10% off spring sale",
                "discountAmount": money(promo, cur)
            }]);
            li["discountedLineItemCost"] = money(cost - promo, cur);
        }
        if let Some(asp) = &l.variation {
            li["legacyVariationId"] = json!(format!("4000{:08}", rng.gen_range(0..100_000_000)));
            li["variationAspects"] = Value::Array(
                asp.iter()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect(),
            );
        }
        out_lines.push(li);
    }
    let total = subtotal - discount + delivery + tax_total;
    let due_seller = total - remit_total;
    let mut pricing = json!({
        "priceSubtotal": money(subtotal, cur),
        "deliveryCost": money(delivery, cur),
        "total": money(total, cur)
    });
    if discount > Decimal::ZERO {
        pricing["priceDiscount"] = money(-discount, cur);
    }
    if tax_total > Decimal::ZERO {
        pricing["tax"] = money(tax_total, cur);
    }
    // Payment.
    let (pay_status, order_pay) = match scenario {
        Scenario::Pending => ("PENDING", "PENDING"),
        Scenario::PaymentFailed => ("FAILED", "FAILED"),
        Scenario::Cancelled | Scenario::Returned => ("PAID", "FULLY_REFUNDED"),
        Scenario::PartlyRefunded => ("PAID", "PARTIALLY_REFUNDED"),
        _ => ("PAID", "PAID"),
    };
    let mut payment = json!({
        "paymentMethod": "EBAY",
        "paymentReferenceId": format!("{}", rng.gen_range(1_000_000_000u64..9_999_999_999)),
        "amount": money(due_seller, cur),
        "paymentStatus": pay_status
    });
    if pay_status == "PAID" {
        payment["paymentDate"] = json!(ts(pay_date));
    }
    if scenario == Scenario::Pending {
        payment["paymentHolds"] = json!([{
            "holdReason": "NEW_SELLER",
            "holdAmount": money(due_seller, cur),
            "holdState": "HELD",
            "expectedReleaseDate": ts(created + 21 * 86_400)
        }]);
    }
    let mut modified = if pay_status == "PAID" {
        pay_date
    } else {
        created
    };
    let mut refunds = Vec::new();
    let mut fulfillments = Vec::new();
    let mut cancel = json!({"cancelState": "NONE_REQUESTED", "cancelRequests": []});
    let mut status = "NOT_STARTED";
    // Shipping fulfillments.
    let ship = |lines: &mut Vec<Value>,
                which: &[usize],
                when: i64,
                rng: &mut dyn rand::RngCore|
     -> Value {
        let tracking = format!("9405{:018}", rng.next_u64() % 1_000_000_000_000_000_000);
        let refs: Vec<Value> = which
            .iter()
            .map(|k| {
                lines[*k]["lineItemFulfillmentStatus"] = json!("FULFILLED");
                json!({"lineItemId": lines[*k]["lineItemId"], "quantity": lines[*k]["quantity"]})
            })
            .collect();
        json!({
            "fulfillmentId": tracking,
            "shipmentTrackingNumber": tracking,
            "shippingCarrierCode": if carrier.is_empty() { "USPS" } else { carrier },
            "shippedDate": ts(when),
            "lineItems": refs
        })
    };
    match scenario {
        Scenario::Shipped | Scenario::Variation | Scenario::Returned | Scenario::PartlyRefunded => {
            let all: Vec<usize> = (0..nlines).collect();
            fulfillments.push(ship(&mut out_lines, &all, created + 86_400, rng));
            status = "FULFILLED";
            modified = created + 86_400;
        }
        Scenario::PartlyShipped => {
            fulfillments.push(ship(&mut out_lines, &[0], created + 86_400, rng));
            status = "IN_PROGRESS";
            modified = created + 86_400;
        }
        _ => {}
    }
    // Refunds.
    let refund = |amount: Decimal, when: i64, rng: &mut dyn rand::RngCore| -> Value {
        json!({
            "refundId": format!("5{:010}", rng.next_u64() % 10_000_000_000),
            "refundDate": ts(when),
            "amount": money(amount, cur),
            "refundStatus": "REFUNDED",
            "refundReferenceId": format!("{:016X}", rng.next_u64())
        })
    };
    match scenario {
        Scenario::Cancelled => {
            let when = created + 3_600;
            let r = refund(total, when, rng);
            for li in out_lines.iter_mut() {
                let amount = li["total"]["value"].as_str().map(dec).unwrap_or_default();
                li["refunds"] = json!([{
                    "refundId": r["refundId"],
                    "refundDate": r["refundDate"],
                    "amount": money(amount, cur),
                    "refundReferenceId": r["refundReferenceId"]
                }]);
            }
            refunds.push(r);
            // Nothing is left to ship: eBay reports cancelled orders (and their lines) as
            // FULFILLED, so a client must read cancelState first.
            status = "FULFILLED";
            for li in out_lines.iter_mut() {
                li["lineItemFulfillmentStatus"] = json!("FULFILLED");
            }
            cancel = json!({
                "cancelState": "CANCELED",
                "cancelledDate": ts(when),
                "cancelRequests": [{
                    "cancelRequestId": format!("{}", 5_000_000_000u64 + i as u64),
                    "cancelInitiator": "BUYER",
                    "cancelReason": "ORDER_PLACED_BY_MISTAKE",
                    "cancelRequestedDate": ts(created + 1_800),
                    "cancelCompletedDate": ts(when),
                    "cancelRequestState": "COMPLETED"
                }]
            });
            modified = when;
        }
        Scenario::Returned => {
            let when = created + 9 * 86_400;
            let r = refund(total, when, rng);
            for li in out_lines.iter_mut() {
                let amount = li["total"]["value"].as_str().map(dec).unwrap_or_default();
                li["refunds"] = json!([{
                    "refundId": r["refundId"], "refundDate": r["refundDate"],
                    "amount": money(amount, cur), "refundReferenceId": r["refundReferenceId"]
                }]);
            }
            refunds.push(r);
            modified = when;
        }
        Scenario::PartlyRefunded => {
            // One of the four units of the first line came back damaged.
            let when = created + 6 * 86_400;
            let unit_total = out_lines[0]["lineItemCost"]["value"]
                .as_str()
                .map(dec)
                .unwrap_or_default()
                / Decimal::from(out_lines[0]["quantity"].as_u64().unwrap_or(1).max(1));
            let r = refund(unit_total, when, rng);
            out_lines[0]["refunds"] = json!([{
                "refundId": r["refundId"], "refundDate": r["refundDate"],
                "amount": money(unit_total, cur), "refundReferenceId": r["refundReferenceId"]
            }]);
            refunds.push(r);
            modified = when;
        }
        _ => {}
    }
    let mut instruction = json!({
        "fulfillmentInstructionsType": "SHIP_TO",
        "minEstimatedDeliveryDate": ts(created + 4 * 86_400),
        "maxEstimatedDeliveryDate": ts(created + 8 * 86_400),
        "shippingStep": {
            "shipTo": ship_to,
            "shippingServiceCode": service
        }
    });
    if !carrier.is_empty() {
        instruction["shippingStep"]["shippingCarrierCode"] = json!(carrier);
    }
    if scenario == Scenario::LocalPickup {
        instruction["fulfillmentInstructionsType"] = json!("PREPARE_FOR_PICKUP");
        instruction["pickupStep"] = json!({"merchantLocationKey": STORE});
    }
    let hrefs: Vec<Value> = fulfillments
        .iter()
        .map(|f| {
            json!(format!(
                "{base_url}/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/{}",
                f["fulfillmentId"].as_str().unwrap_or_default()
            ))
        })
        .collect();
    let mut order = json!({
        "orderId": order_id,
        "creationDate": ts(created),
        "lastModifiedDate": ts(modified),
        "orderFulfillmentStatus": status,
        "orderPaymentStatus": order_pay,
        "sellerId": SELLER_USERNAME,
        "buyer": buyer,
        "pricingSummary": pricing,
        "cancelStatus": cancel,
        "paymentSummary": {
            "totalDueSeller": money(due_seller, cur),
            "refunds": refunds,
            "payments": [payment]
        },
        "fulfillmentStartInstructions": [instruction],
        "fulfillmentHrefs": hrefs,
        "lineItems": out_lines,
        "salesRecordReference": format!("{}", 1000 + i),
        "totalFeeBasisAmount": money(total, cur),
        "totalMarketplaceFee": money((total * dec("0.1325")).round_dp(2), cur)
    });
    if remit_total > Decimal::ZERO {
        order["ebayCollectAndRemitTax"] = json!(true);
    }
    if !minimal && i % 4 == 1 {
        order["buyerCheckoutNotes"] = json!("Bitte klingeln – please ring the bell 🔔");
    }
    if !fulfillments.is_empty() {
        db.fulfillments.insert(order_id.clone(), fulfillments);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_seeds_keep_every_order_and_every_event_before_the_clock() {
        let opts = SandboxOptions {
            orders: 3_000,
            products: 40,
            ..SandboxOptions::default()
        };
        let db = Db::seed(&opts, "http://127.0.0.1:1");
        assert_eq!(db.orders.len(), 3_000, "order ids never collide");
        assert_eq!(
            db.items.len(),
            40 + 6 + 2,
            "40 simple items and the groups' variations"
        );
        let clock = ts(db.clock);
        for o in db.orders.values() {
            assert!(o["lastModifiedDate"].as_str().unwrap() < clock.as_str());
            assert!(o["creationDate"].as_str().unwrap() <= o["lastModifiedDate"].as_str().unwrap());
        }
    }
}

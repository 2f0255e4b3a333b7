//! The Amazon sandbox's seeded, deterministic data: the seller's marketplace
//! participations, listings (simple items and variation families, merchant- and
//! Amazon-fulfilled), FBA inventory, and orders in every fulfillment status.
//!
//! Everything is drawn from RNG streams seeded by `SandboxOptions::seed`, with dates
//! spread before [`SANDBOX_EPOCH`], so a seed always serves the same data. Writes made
//! afterwards (through the API or `/__sandbox/simulate`) are stamped with the wall clock
//! (see [`Db::now`]).

use std::collections::{BTreeMap, HashSet};

use cartgate_connector::sandbox::{
    pick, random_hex, seeded_rng, SandboxOptions, SANDBOX_EPOCH, SEED_NAMES,
};
use rand::rngs::StdRng;
use rand::Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

const DAY: i64 = 86_400;

/// An Amazon marketplace the seller may sell in.
#[derive(Debug, Clone, Copy)]
pub struct Marketplace {
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    pub language: &'static str,
    pub domain: &'static str,
    /// The seller's account is active there (`participation.isParticipating`).
    pub participating: bool,
    /// Prices in this marketplace are the US price times this factor.
    pub price_factor: Decimal,
}

pub const US: &str = "ATVPDKIKX0DER";
pub const CA: &str = "A2EUQ1WTGCTBG2";
pub const MX: &str = "A1AM78C64UM0Y8";
pub const BR: &str = "A2Q3Y263D00KWC";

/// The seller's North America account: US, Canada and Mexico, and Brazil registered but
/// not participating (so "the account's participations" excludes it).
pub fn marketplaces() -> [Marketplace; 4] {
    [
        Marketplace {
            id: US,
            name: "Amazon.com",
            country: "US",
            currency: "USD",
            language: "en_US",
            domain: "www.amazon.com",
            participating: true,
            price_factor: Decimal::ONE,
        },
        Marketplace {
            id: CA,
            name: "Amazon.ca",
            country: "CA",
            currency: "CAD",
            language: "en_CA",
            domain: "www.amazon.ca",
            participating: true,
            price_factor: Decimal::new(135, 2),
        },
        Marketplace {
            id: MX,
            name: "Amazon.com.mx",
            country: "MX",
            currency: "MXN",
            language: "es_MX",
            domain: "www.amazon.com.mx",
            participating: true,
            price_factor: Decimal::from(18),
        },
        Marketplace {
            id: BR,
            name: "Amazon.com.br",
            country: "BR",
            currency: "BRL",
            language: "pt_BR",
            domain: "www.amazon.com.br",
            participating: false,
            price_factor: Decimal::new(55, 1),
        },
    ]
}

pub fn marketplace(id: &str) -> Option<Marketplace> {
    marketplaces().into_iter().find(|m| m.id == id)
}

/// Participating marketplace ids.
pub fn participating(id: &str) -> bool {
    marketplace(id).is_some_and(|m| m.participating)
}

/// RFC 3339 UTC with whole seconds, as SP-API writes times.
pub fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Reads an ISO 8601 date-time (with an offset, or without one as UTC) to Unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp());
        }
    }
    None
}

/// A money amount with two decimals, as SP-API's `Decimal` strings.
pub fn amount(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

pub fn money(d: Decimal, currency: &str) -> Value {
    json!({"amount": amount(d), "currencyCode": currency})
}

fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn num(d: Decimal) -> Value {
    d.round_dp(2)
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------

/// Fulfillment channel codes of `fulfillment_availability`.
pub const MFN_CHANNEL: &str = "DEFAULT";
pub const AFN_CHANNEL: &str = "AMAZON_NA";

#[derive(Debug, Clone)]
pub struct Listing {
    pub sku: String,
    pub product_type: String,
    pub asin: String,
    pub created: i64,
    pub updated: i64,
    /// The marketplaces it is listed in.
    pub marketplaces: Vec<String>,
    /// Listing attributes as the Listings Items API keys them (values tagged with
    /// `marketplace_id` where they are marketplace-specific).
    pub attributes: Map<String, Value>,
    pub issues: Vec<Value>,
    pub parent: Option<String>,
    pub children: Vec<String>,
    /// `(attribute names, theme)` of a variation family (parent and children).
    pub theme: Option<(Vec<String>, String)>,
    /// Set for Amazon-fulfilled SKUs.
    pub fn_sku: Option<String>,
}

impl Listing {
    /// The attribute values for `marketplace` (untagged values apply everywhere).
    pub fn attr_in<'a>(&'a self, name: &str, marketplace: &str) -> Vec<&'a Value> {
        self.attributes
            .get(name)
            .and_then(Value::as_array)
            .map(|vals| {
                vals.iter()
                    .filter(|v| {
                        v.get("marketplace_id")
                            .and_then(Value::as_str)
                            .is_none_or(|m| m == marketplace)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn item_name(&self, marketplace: &str) -> Option<String> {
        self.attr_in("item_name", marketplace)
            .first()
            .copied()
            .or_else(|| {
                self.attributes
                    .get("item_name")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
            })
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The offer price for `audience` (`ALL` or `B2B`) in `marketplace`.
    pub fn price(&self, marketplace: &str, audience: &str) -> Option<(Decimal, String)> {
        self.attr_in("purchasable_offer", marketplace)
            .into_iter()
            .find(|o| o.get("audience").and_then(Value::as_str).unwrap_or("ALL") == audience)
            .and_then(|o| {
                let value = o
                    .pointer("/our_price/0/schedule/0/value_with_tax")
                    .and_then(dec)?;
                let currency = o
                    .get("currency")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| marketplace_currency(marketplace))?;
                Some((value, currency))
            })
    }

    /// The channels of `fulfillment_availability`, with their quantities.
    pub fn channels(&self) -> Vec<(String, Option<i64>)> {
        self.attributes
            .get("fulfillment_availability")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| {
                        Some((
                            v.get("fulfillment_channel_code")?.as_str()?.to_owned(),
                            v.get("quantity").and_then(Value::as_i64),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn mfn_quantity(&self) -> Option<i64> {
        self.channels()
            .into_iter()
            .find(|(c, _)| c == MFN_CHANNEL)
            .map(|(_, q)| q.unwrap_or(0))
    }

    pub fn is_afn(&self) -> bool {
        self.channels().iter().any(|(c, _)| c.starts_with("AMAZON"))
    }

    /// Sets the merchant-fulfilled quantity (adding the channel when absent).
    pub fn set_mfn_quantity(&mut self, q: i64) {
        let fa = self
            .attributes
            .entry("fulfillment_availability")
            .or_insert_with(|| json!([]));
        if let Some(a) = fa.as_array_mut() {
            match a
                .iter_mut()
                .find(|v| v["fulfillment_channel_code"] == MFN_CHANNEL)
            {
                Some(v) => v["quantity"] = json!(q),
                None => a.push(json!({"fulfillment_channel_code": MFN_CHANNEL, "quantity": q})),
            }
        }
    }

    pub fn is_parent(&self) -> bool {
        !self.children.is_empty()
            || self
                .attributes
                .get("parentage_level")
                .and_then(|v| v.pointer("/0/value"))
                .and_then(Value::as_str)
                == Some("parent")
    }
}

fn marketplace_currency(id: &str) -> Option<String> {
    marketplace(id).map(|m| m.currency.to_owned())
}

/// FBA stock of one SKU (NA fulfillment network, shared by the NA marketplaces).
#[derive(Debug, Clone)]
pub struct FbaStock {
    pub fulfillable: i64,
    pub inbound_working: i64,
    pub inbound_shipped: i64,
    pub inbound_receiving: i64,
    pub reserved_customer: i64,
    pub reserved_transshipment: i64,
    pub reserved_processing: i64,
    pub researching: i64,
    pub unfulfillable_customer_damaged: i64,
    pub unfulfillable_warehouse_damaged: i64,
    pub updated: i64,
}

impl FbaStock {
    pub fn reserved(&self) -> i64 {
        self.reserved_customer + self.reserved_transshipment + self.reserved_processing
    }
    pub fn unfulfillable(&self) -> i64 {
        self.unfulfillable_customer_damaged + self.unfulfillable_warehouse_damaged
    }
    pub fn total(&self) -> i64 {
        self.fulfillable
            + self.inbound_working
            + self.inbound_shipped
            + self.inbound_receiving
            + self.reserved()
            + self.researching
            + self.unfulfillable()
    }
}

/// Weight units as the Listings attributes spell them.
#[derive(Debug, Clone, Copy)]
enum W {
    Lb(f64),
    Oz(f64),
    Kg(f64),
    G(f64),
    None,
}

/// Dimensions `(length, width, height, unit)`.
type Dims = Option<(f64, f64, f64, &'static str)>;

#[derive(Debug, Clone, Copy)]
enum Code {
    Upc,
    Ean,
    Isbn,
    /// GTIN exemption: no external identifier.
    None,
}

/// `(attribute names, theme, values per attribute)` of a variation family.
type Family = (
    &'static [&'static str],
    &'static str,
    &'static [&'static [&'static str]],
);

struct Template {
    product_type: &'static str,
    name: &'static str,
    brand: &'static str,
    price: &'static str,
    weight: W,
    dims: Dims,
    code: Code,
    /// `(attribute names, theme, values per attribute)` for a variation family.
    family: Option<Family>,
}

const TEMPLATES: &[Template] = &[
    Template {
        product_type: "SHIRT",
        name: "Organic Cotton Crew T-Shirt",
        brand: "Northbound Apparel",
        price: "19.99",
        weight: W::Oz(5.3),
        dims: None,
        code: Code::Upc,
        family: Some((
            &["size", "color"],
            "SIZE/COLOR",
            &[&["S", "M", "L"], &["Black", "Heather Grey"]],
        )),
    },
    Template {
        product_type: "KITCHEN",
        name: "Stainless Steel French Press, 34 oz",
        brand: "Brewhaus",
        price: "29.99",
        weight: W::Lb(1.2),
        dims: Some((7.5, 4.3, 9.8, "inches")),
        code: Code::Upc,
        family: None,
    },
    Template {
        product_type: "HOME",
        name: "Linen Throw Pillow Cover 45 x 45 cm",
        brand: "Casa Lino",
        price: "14.99",
        weight: W::G(180.0),
        dims: Some((45.0, 45.0, 1.5, "centimeters")),
        code: Code::Ean,
        family: None,
    },
    Template {
        product_type: "SHOES",
        name: "Trail Running Shoe",
        brand: "Ridgeline",
        price: "89.00",
        weight: W::Lb(1.4),
        dims: Some((12.5, 8.0, 4.75, "inches")),
        code: Code::Upc,
        family: Some((&["size"], "SIZE", &[&["9", "10", "11"]])),
    },
    Template {
        product_type: "ABIS_BOOK",
        name: "The Patient Gardener (Paperback)",
        brand: "Fernleaf Press",
        price: "18.50",
        weight: W::Oz(12.5),
        dims: Some((8.5, 5.5, 0.9, "inches")),
        code: Code::Isbn,
        family: None,
    },
    Template {
        product_type: "TOY_FIGURE",
        name: "Wooden Stacking Rainbow, 7 Pieces",
        brand: "Kleine Hände",
        price: "24.99",
        weight: W::Kg(0.6),
        dims: Some((26.0, 13.0, 7.0, "centimeters")),
        code: Code::Ean,
        family: None,
    },
    Template {
        product_type: "DRINKING_CUP",
        name: "Insulated Tumbler 20 oz",
        brand: "Brewhaus",
        price: "24.00",
        weight: W::G(340.0),
        dims: Some((8.9, 8.9, 19.0, "centimeters")),
        code: Code::Upc,
        family: Some((&["color"], "COLOR", &[&["Sage", "Navy", "Coral"]])),
    },
    Template {
        product_type: "LUGGAGE",
        name: "Hardside Carry-On Spinner, 21 in",
        brand: "Wayfarer & Co.",
        price: "119.00",
        weight: W::Lb(7.1),
        dims: Some((21.0, 14.0, 9.0, "inches")),
        code: Code::Upc,
        family: None,
    },
    Template {
        product_type: "EXERCISE_MAT",
        name: "Non-Slip Yoga Mat 6 mm",
        brand: "Handmade by Søren",
        price: "32.00",
        weight: W::None,
        dims: None,
        code: Code::None,
        family: None,
    },
    Template {
        product_type: "ELECTRONIC_CABLE",
        name: "USB-C Charging Cable 2 m (2-Pack)",
        brand: "Voltline",
        price: "12.99",
        weight: W::G(90.0),
        dims: Some((15.0, 10.0, 3.0, "centimeters")),
        code: Code::Ean,
        family: None,
    },
    Template {
        product_type: "BACKPACK",
        name: "Roll-Top Waterproof Backpack 25 L",
        brand: "Ridgeline",
        price: "74.99",
        weight: W::Kg(0.95),
        dims: Some((48.0, 30.0, 15.0, "centimeters")),
        code: Code::Ean,
        family: Some((&["color"], "COLOR", &[&["Black", "Olive"]])),
    },
    Template {
        product_type: "COFFEE",
        name: "Single-Origin Whole Bean Coffee 1 kg",
        brand: "Brewhaus",
        price: "21.00",
        weight: W::Kg(1.0),
        dims: None,
        code: Code::Ean,
        family: None,
    },
    Template {
        product_type: "PET_SUPPLIES",
        name: "Reflective Dog Leash 1.8 m",
        brand: "Good Boy Gear",
        price: "16.49",
        weight: W::Oz(5.6),
        dims: None,
        code: Code::Upc,
        family: None,
    },
    Template {
        product_type: "SKIN_MOISTURIZER",
        name: "Lavender Hand Cream 75 ml",
        brand: "Casa Lino",
        price: "9.99",
        weight: W::G(95.0),
        dims: Some((14.0, 4.0, 3.0, "centimeters")),
        code: Code::Ean,
        family: None,
    },
];

/// A GTIN with its check digit (UPC-A, EAN-13, ISBN-13 alike).
fn gtin(rng: &mut StdRng, prefix: &str, len: usize) -> String {
    let mut digits: String = prefix.to_owned();
    while digits.len() < len - 1 {
        digits.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    digits.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
    digits
}

fn alnum_upper(rng: &mut StdRng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n)
        .map(|_| char::from(A[rng.gen_range(0..A.len())]))
        .collect()
}

pub fn new_asin(rng: &mut StdRng) -> String {
    format!("B0{}", alnum_upper(rng, 8))
}

fn sku_stem(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() > 2 && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .take(3)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    words.join("-")
}

fn tagged(values: &[(&str, Value)]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|(m, v)| {
                let mut v = v.clone();
                v["marketplace_id"] = json!(m);
                v
            })
            .collect(),
    )
}

fn text_attr(marketplaces: &[String], value: &str) -> Value {
    Value::Array(
        marketplaces
            .iter()
            .map(|m| {
                let lang = marketplace(m).map(|x| x.language).unwrap_or("en_US");
                json!({"value": value, "language_tag": lang, "marketplace_id": m})
            })
            .collect(),
    )
}

fn weight_attr(w: W) -> Option<(f64, &'static str)> {
    match w {
        W::Lb(v) => Some((v, "pounds")),
        W::Oz(v) => Some((v, "ounces")),
        W::Kg(v) => Some((v, "kilograms")),
        W::G(v) => Some((v, "grams")),
        W::None => None,
    }
}

/// A price in a marketplace's currency from the US price (rounded to .99 or whole pesos).
pub fn local_price(us: Decimal, m: &Marketplace) -> Decimal {
    if m.price_factor == Decimal::ONE {
        return us;
    }
    let raw = us * m.price_factor;
    if m.currency == "MXN" {
        raw.round_dp(0)
    } else {
        raw.trunc() + Decimal::new(99, 2)
    }
}

struct ListingSpec<'a> {
    sku: String,
    t: &'a Template,
    name: String,
    marketplaces: Vec<String>,
    price: Decimal,
    /// 0 MFN, 1 FBA, 2 both.
    channel: u8,
    created: i64,
    variation: Option<(String, Vec<(&'static str, String)>)>,
}

fn build_listing(
    rng: &mut StdRng,
    spec: ListingSpec<'_>,
    fba: &mut BTreeMap<String, FbaStock>,
) -> Listing {
    let t = spec.t;
    let ms = &spec.marketplaces;
    let mut a = Map::new();
    a.insert("item_name".into(), text_attr(ms, &spec.name));
    a.insert("brand".into(), text_attr(ms, t.brand));
    a.insert(
        "bullet_point".into(),
        text_attr(
            ms,
            &format!(
                "{} by {}: built to last, easy to care for.",
                t.name, t.brand
            ),
        ),
    );
    a.insert(
        "condition_type".into(),
        tagged(
            &ms.iter()
                .map(|m| (m.as_str(), json!({"value": "new_new"})))
                .collect::<Vec<_>>(),
        ),
    );
    if let Some((v, unit)) = weight_attr(t.weight) {
        a.insert(
            "item_weight".into(),
            tagged(
                &ms.iter()
                    .map(|m| (m.as_str(), json!({"unit": unit, "value": v})))
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if let Some((l, w, h, unit)) = t.dims {
        a.insert(
            "item_dimensions".into(),
            tagged(
                &ms.iter()
                    .map(|m| {
                        (
                            m.as_str(),
                            json!({
                                "length": {"unit": unit, "value": l},
                                "width": {"unit": unit, "value": w},
                                "height": {"unit": unit, "value": h},
                            }),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
        );
    }
    let sellable = spec.variation.is_some() || t.family.is_none();
    if sellable {
        let code = match t.code {
            Code::Upc => Some(("upc", gtin(rng, "8", 12))),
            Code::Ean => Some(("ean", gtin(rng, "40", 13))),
            Code::Isbn => Some(("isbn", gtin(rng, "978", 13))),
            Code::None => None,
        };
        if let Some((kind, value)) = code {
            a.insert(
                "externally_assigned_product_identifier".into(),
                tagged(
                    &ms.iter()
                        .map(|m| (m.as_str(), json!({"type": kind, "value": value})))
                        .collect::<Vec<_>>(),
                ),
            );
        } else {
            a.insert(
                "supplier_declared_has_product_identifier_exemption".into(),
                tagged(
                    &ms.iter()
                        .map(|m| (m.as_str(), json!({"value": true})))
                        .collect::<Vec<_>>(),
                ),
            );
        }
        let mut offers = Vec::new();
        for m in ms {
            let mp = marketplace(m).expect("seeded marketplaces exist");
            let p = local_price(spec.price, &mp);
            offers.push(json!({
                "marketplace_id": m,
                "currency": mp.currency,
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": num(p)}]}],
            }));
            // A business price (Amazon Business) on a third of the US offers.
            if m == US && rng.gen_ratio(1, 3) {
                offers.push(json!({
                    "marketplace_id": m,
                    "currency": mp.currency,
                    "audience": "B2B",
                    "our_price": [{"schedule": [{"value_with_tax": num((p * Decimal::new(92, 2)).round_dp(2))}]}],
                }));
            }
        }
        a.insert("purchasable_offer".into(), Value::Array(offers));
        let mut fa = Vec::new();
        if spec.channel != 1 {
            let q = if rng.gen_ratio(1, 6) {
                0
            } else {
                rng.gen_range(1..150)
            };
            fa.push(json!({"fulfillment_channel_code": MFN_CHANNEL, "quantity": q}));
        }
        if spec.channel != 0 {
            fa.push(json!({"fulfillment_channel_code": AFN_CHANNEL}));
            let fulfillable = if rng.gen_ratio(1, 7) {
                0
            } else {
                rng.gen_range(5..400)
            };
            fba.insert(
                spec.sku.clone(),
                FbaStock {
                    fulfillable,
                    inbound_working: if rng.gen_ratio(1, 3) {
                        rng.gen_range(1..50)
                    } else {
                        0
                    },
                    inbound_shipped: if rng.gen_ratio(1, 4) {
                        rng.gen_range(1..60)
                    } else {
                        0
                    },
                    inbound_receiving: if rng.gen_ratio(1, 5) {
                        rng.gen_range(1..20)
                    } else {
                        0
                    },
                    reserved_customer: rng.gen_range(0..6),
                    reserved_transshipment: rng.gen_range(0..4),
                    reserved_processing: rng.gen_range(0..3),
                    researching: if rng.gen_ratio(1, 6) {
                        rng.gen_range(1..3)
                    } else {
                        0
                    },
                    unfulfillable_customer_damaged: if rng.gen_ratio(1, 5) { 1 } else { 0 },
                    unfulfillable_warehouse_damaged: if rng.gen_ratio(1, 8) { 1 } else { 0 },
                    updated: spec.created
                        + rng
                            .gen_range(DAY..30 * DAY)
                            .min(SANDBOX_EPOCH - spec.created),
                },
            );
        }
        a.insert("fulfillment_availability".into(), Value::Array(fa));
    }
    a.insert(
        "main_product_image_locator".into(),
        tagged(
            &ms.iter()
                .map(|m| (m.as_str(), json!({"media_location": format!("https://example.com/images/{}.jpg", spec.sku.to_ascii_lowercase())})))
                .collect::<Vec<_>>(),
        ),
    );
    let mut theme = None;
    let mut parent = None;
    if let Some((attrs, name, _)) = t.family {
        theme = Some((
            attrs.iter().map(|s| (*s).to_owned()).collect(),
            name.to_owned(),
        ));
        a.insert("variation_theme".into(), json!([{"name": name}]));
        match &spec.variation {
            None => {
                a.insert(
                    "parentage_level".into(),
                    tagged(
                        &ms.iter()
                            .map(|m| (m.as_str(), json!({"value": "parent"})))
                            .collect::<Vec<_>>(),
                    ),
                );
            }
            Some((parent_sku, values)) => {
                a.insert(
                    "parentage_level".into(),
                    tagged(
                        &ms.iter()
                            .map(|m| (m.as_str(), json!({"value": "child"})))
                            .collect::<Vec<_>>(),
                    ),
                );
                a.insert(
                    "child_parent_sku_relationship".into(),
                    tagged(
                        &ms.iter()
                            .map(|m| (m.as_str(), json!({"child_relationship_type": "variation", "parent_sku": parent_sku})))
                            .collect::<Vec<_>>(),
                    ),
                );
                for (attr, value) in values {
                    a.insert((*attr).to_owned(), text_attr(ms, value));
                }
                parent = Some(parent_sku.clone());
            }
        }
    }
    let fn_sku = (spec.channel != 0 && sellable).then(|| format!("X00{}", alnum_upper(rng, 7)));
    let updated =
        (spec.created + rng.gen_range(0..60 * DAY)).min(SANDBOX_EPOCH - rng.gen_range(0..DAY));
    let mut issues = Vec::new();
    if rng.gen_ratio(1, 8) {
        issues.push(json!({
            "code": "90111",
            "message": "The 'bullet_point' attribute has fewer values than recommended. Add more bullet points to help customers.",
            "severity": "WARNING",
            "attributeNames": ["bullet_point"],
            "categories": ["MISSING_ATTRIBUTE"],
            "marketplaceIds": ms,
        }));
    }
    Listing {
        asin: new_asin(rng),
        sku: spec.sku,
        product_type: t.product_type.to_owned(),
        created: spec.created,
        updated: updated.max(spec.created),
        marketplaces: spec.marketplaces,
        attributes: a,
        issues,
        parent,
        children: Vec::new(),
        theme,
        fn_sku,
    }
}

// ---------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    /// The whole order with every `includedData` dataset, as `getOrder` would answer
    /// with all of them (projected per request by the handlers).
    pub doc: Value,
}

impl Order {
    pub fn status(&self) -> &str {
        self.doc
            .pointer("/fulfillment/fulfillmentStatus")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub fn fulfilled_by(&self) -> &str {
        self.doc
            .pointer("/fulfillment/fulfilledBy")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub fn marketplace(&self) -> &str {
        self.doc
            .pointer("/salesChannel/marketplaceId")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// A shipping address: (line1, line2, city, county, state, postal code, sales tax rate
/// in per mille tenths, i.e. 1035 = 10.35 %).
type Place = (
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    i64,
);

const US_PLACES: &[Place] = &[
    (
        "2211 Western Ave",
        None,
        "Seattle",
        Some("King County"),
        "WA",
        "98121",
        1035,
    ),
    (
        "350 Fifth Avenue",
        Some("Suite 4200"),
        "New York",
        Some("New York County"),
        "NY",
        "10118",
        888,
    ),
    (
        "600 Congress Ave",
        None,
        "Austin",
        Some("Travis County"),
        "TX",
        "78701",
        825,
    ),
    (
        "1 Market St",
        Some("Floor 3"),
        "San Francisco",
        Some("San Francisco County"),
        "CA",
        "94105",
        863,
    ),
    (
        "1000 SW Broadway",
        None,
        "Portland",
        Some("Multnomah County"),
        "OR",
        "97205",
        0,
    ),
];
const CA_PLACES: &[Place] = &[
    (
        "100 Queen St W",
        None,
        "Toronto",
        None,
        "ON",
        "M5H 2N2",
        1300,
    ),
    (
        "225 8 Ave SW",
        Some("Unit 12"),
        "Calgary",
        None,
        "AB",
        "T2P 1B4",
        500,
    ),
    (
        "1000 Rue de la Gauchetière O",
        None,
        "Montréal",
        None,
        "QC",
        "H3B 4W5",
        1498,
    ),
];
const MX_PLACES: &[Place] = &[
    (
        "Av. Paseo de la Reforma 505",
        Some("Piso 12"),
        "Ciudad de México",
        Some("Cuauhtémoc"),
        "CDMX",
        "06500",
        1600,
    ),
    (
        "Av. Vallarta 3233",
        None,
        "Guadalajara",
        Some("Zapopan"),
        "JAL",
        "44690",
        1600,
    ),
];

fn places(m: &str) -> &'static [Place] {
    match m {
        CA => CA_PLACES,
        MX => MX_PLACES,
        _ => US_PLACES,
    }
}

/// What kind of order to make.
#[derive(Debug, Clone, Copy)]
pub struct Archetype {
    pub marketplace: &'static str,
    pub afn: bool,
    pub status: &'static str,
    pub business: bool,
    pub prime: bool,
    pub items: usize,
    pub max_qty: u32,
    pub gift: bool,
    pub promo: bool,
    /// PII purged (old order).
    pub old: bool,
    /// A Multi-Channel Fulfillment order (placed outside Amazon, fulfilled by Amazon).
    pub non_amazon: bool,
    pub preorder: bool,
}

impl Archetype {
    const fn base(marketplace: &'static str, afn: bool, status: &'static str) -> Archetype {
        Archetype {
            marketplace,
            afn,
            status,
            business: false,
            prime: false,
            items: 1,
            max_qty: 1,
            gift: false,
            promo: false,
            old: false,
            non_amazon: false,
            preorder: false,
        }
    }
}

/// The orders every seed starts with (when at least that many are asked for), so each
/// kind the issue lists exists even in small stores.
const FIXED: [Archetype; 16] = {
    let mut a = [Archetype::base(US, false, "UNSHIPPED"); 16];
    a[0].items = 2;
    a[0].max_qty = 3;
    a[0].promo = true;
    a[1] = Archetype::base(US, false, "PENDING");
    a[2] = Archetype::base(US, false, "PARTIALLY_SHIPPED");
    a[2].items = 2;
    a[3] = Archetype::base(US, false, "SHIPPED");
    a[3].max_qty = 2;
    a[4] = Archetype::base(US, false, "CANCELLED");
    a[5] = Archetype::base(US, true, "SHIPPED");
    a[5].prime = true;
    a[5].items = 2;
    a[6] = Archetype::base(US, true, "PENDING");
    a[7] = Archetype::base(US, true, "CANCELLED");
    a[8] = Archetype::base(US, true, "UNFULFILLABLE");
    a[8].non_amazon = true;
    a[9] = Archetype::base(US, false, "UNSHIPPED");
    a[9].business = true;
    a[9].items = 2;
    a[9].max_qty = 10;
    a[10] = Archetype::base(CA, false, "SHIPPED");
    a[10].gift = true;
    a[11] = Archetype::base(MX, true, "SHIPPED");
    a[12] = Archetype::base(MX, false, "UNSHIPPED");
    a[12].promo = true;
    a[13] = Archetype::base(US, false, "PENDING_AVAILABILITY");
    a[13].preorder = true;
    a[14] = Archetype::base(CA, true, "PARTIALLY_SHIPPED");
    a[14].items = 2;
    a[15] = Archetype::base(US, false, "SHIPPED");
    a[15].old = true;
    a
};

fn random_archetype(rng: &mut StdRng) -> Archetype {
    let marketplace = match rng.gen_range(0..10) {
        0..=6 => US,
        7 | 8 => CA,
        _ => MX,
    };
    let afn = rng.gen_ratio(2, 5);
    let status = match rng.gen_range(0..100) {
        0..=54 => "SHIPPED",
        55..=69 => "UNSHIPPED",
        70..=79 => "PENDING",
        80..=89 => "CANCELLED",
        90..=97 => "PARTIALLY_SHIPPED",
        _ if afn => "UNFULFILLABLE",
        _ => "SHIPPED",
    };
    let status = if afn && status == "UNSHIPPED" {
        "SHIPPED"
    } else {
        status
    };
    let items = match rng.gen_range(0..10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let items = if status == "PARTIALLY_SHIPPED" {
        items.max(2)
    } else {
        items
    };
    Archetype {
        marketplace,
        afn,
        status,
        business: marketplace == US && rng.gen_ratio(1, 8),
        prime: rng.gen_ratio(1, 2),
        items,
        max_qty: if rng.gen_ratio(1, 4) { 4 } else { 1 },
        gift: rng.gen_ratio(1, 12),
        promo: rng.gen_ratio(1, 5),
        old: status == "SHIPPED" && rng.gen_ratio(1, 5),
        non_amazon: status == "UNFULFILLABLE",
        preorder: false,
    }
}

fn service_level(rng: &mut StdRng, a: &Archetype) -> (&'static str, Decimal) {
    let (level, usd) = if a.prime {
        (
            *pick(rng, &["STANDARD", "SECOND_DAY", "NEXT_DAY"]),
            Decimal::ZERO,
        )
    } else {
        *pick(
            rng,
            &[
                ("STANDARD", Decimal::new(499, 2)),
                ("STANDARD", Decimal::new(499, 2)),
                ("EXPEDITED", Decimal::new(999, 2)),
                ("SECOND_DAY", Decimal::new(1299, 2)),
                ("NEXT_DAY", Decimal::new(1999, 2)),
                ("FREE_ECONOMY", Decimal::ZERO),
            ],
        )
    };
    let m = marketplace(a.marketplace).expect("seeded marketplaces exist");
    let price = if usd.is_zero() {
        usd
    } else {
        local_price(usd, &m)
    };
    (level, price)
}

const CARRIERS: &[(&str, &str, &str)] = &[
    ("UPS", "UPS Ground", "1Z"),
    ("USPS", "USPS Priority Mail", "9400"),
    ("FedEx", "FedEx Home Delivery", "7"),
    ("Canada Post", "Expedited Parcel", "CP"),
];

pub const SHIP_FROM: (&str, &str, &str, &str, &str, &str) = (
    "Cartgate Sandbox Warehouse",
    "1200 Harbor Way",
    "Tacoma",
    "WA",
    "98402",
    "US",
);

pub fn ship_from_address() -> Value {
    json!({
        "name": SHIP_FROM.0,
        "addressLine1": SHIP_FROM.1,
        "city": SHIP_FROM.2,
        "stateOrRegion": SHIP_FROM.3,
        "postalCode": SHIP_FROM.4,
        "countryCode": SHIP_FROM.5,
    })
}

fn order_id(rng: &mut StdRng, marketplace: &str, used: &mut HashSet<String>) -> String {
    loop {
        let prefix = match marketplace {
            CA => 702,
            MX => 701,
            _ => rng.gen_range(111..115),
        };
        let id = format!(
            "{prefix}-{:07}-{:07}",
            rng.gen_range(0..10_000_000u32),
            rng.gen_range(0..10_000_000u32)
        );
        if used.insert(id.clone()) {
            return id;
        }
    }
}

fn order_item_id(rng: &mut StdRng, used: &mut HashSet<String>) -> String {
    loop {
        let id = format!(
            "{:014}",
            rng.gen_range(10_000_000_000_000u64..100_000_000_000_000u64)
        );
        if used.insert(id.clone()) {
            return id;
        }
    }
}

/// One proceeds breakdown: `(type, amount, detailed breakdowns (subtype, amount))`.
type Line = (&'static str, Decimal, Vec<(&'static str, Decimal)>);

/// One item's money.
struct ItemMoney {
    lines: Vec<Line>,
}

impl ItemMoney {
    fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.1).sum()
    }
    fn render(&self, currency: &str) -> Value {
        json!({
            "proceedsTotal": money(self.total(), currency),
            "breakdowns": self.lines.iter().map(|(t, amt, detail)| {
                let mut b = json!({"type": t, "subtotal": money(*amt, currency)});
                if !detail.is_empty() {
                    b["detailedBreakdowns"] = Value::Array(detail.iter().map(|(s, v)| json!({"subtype": s, "value": money(*v, currency)})).collect());
                }
                b
            }).collect::<Vec<_>>(),
        })
    }
}

/// Inputs for making one order.
pub struct OrderInput<'a> {
    pub a: Archetype,
    pub created: i64,
    pub updated: i64,
    pub listings: &'a BTreeMap<String, Listing>,
}

/// Builds an order document (every dataset) for an archetype.
pub fn make_order(rng: &mut StdRng, input: OrderInput<'_>, ids: &mut HashSet<String>) -> Order {
    let a = input.a;
    let m = marketplace(a.marketplace).expect("seeded marketplaces exist");
    let currency = m.currency;
    let id = order_id(rng, a.marketplace, ids);
    let (first, last, _) = *pick(rng, &SEED_NAMES);
    let place = *pick(rng, places(a.marketplace));
    let tax_rate = if a.business && rng.gen_ratio(1, 2) {
        Decimal::ZERO // tax-exempt business buyer
    } else {
        Decimal::new(place.6, 4)
    };
    let (level, shipping) = service_level(rng, &a);
    // Sellable SKUs in this marketplace and channel.
    let wanted = |l: &&Listing| {
        l.marketplaces.iter().any(|x| x == a.marketplace)
            && !l.is_parent()
            && l.price(a.marketplace, "ALL").is_some()
            && if a.afn {
                l.is_afn()
            } else {
                l.mfn_quantity().is_some()
            }
    };
    let mut pool: Vec<&Listing> = input.listings.values().filter(wanted).collect();
    if pool.is_empty() {
        pool = input
            .listings
            .values()
            .filter(|l| !l.is_parent() && l.price(a.marketplace, "ALL").is_some())
            .collect();
    }
    let mut items = Vec::new();
    // Order-level breakdowns in the model's order of types.
    let mut totals: Vec<(&'static str, Decimal)> = Vec::new();
    let mut grand = Decimal::ZERO;
    let n = a.items.max(1);
    let mut chosen: Vec<&Listing> = Vec::new();
    for k in 0..n {
        let listing = if pool.is_empty() {
            None
        } else {
            let mut l = *pick(rng, &pool);
            if chosen.iter().any(|c| c.sku == l.sku) && pool.len() > chosen.len() {
                l = *pool
                    .iter()
                    .find(|p| !chosen.iter().any(|c| c.sku == p.sku))
                    .unwrap_or(&l);
            }
            chosen.push(l);
            Some(l)
        };
        let qty: u32 = if a.max_qty > 1 && (k == 0 || rng.gen_ratio(1, 2)) {
            rng.gen_range(2..=a.max_qty)
        } else {
            1
        };
        let (sku, title, asin, mut unit) = match listing {
            Some(l) => {
                let (p, _) = l.price(a.marketplace, "ALL").expect("pool has prices");
                (
                    l.sku.clone(),
                    l.item_name(a.marketplace).unwrap_or_default(),
                    l.asin.clone(),
                    p,
                )
            }
            None => (
                "CG-RETIRED-ITEM".to_owned(),
                "Retired item (no longer listed)".to_owned(),
                "B000000000".to_owned(),
                local_price(Decimal::new(1000, 2), &m),
            ),
        };
        let mut designation = None;
        if a.business {
            if let Some((p, _)) = listing.and_then(|l| l.price(a.marketplace, "B2B")) {
                unit = p;
                designation = Some("BUSINESS_PRICE");
            }
        }
        let item_amt = unit * Decimal::from(qty);
        let ship = if k == 0 { shipping } else { Decimal::ZERO };
        let gift_wrap = if a.gift {
            local_price(Decimal::new(399, 2), &m)
        } else {
            Decimal::ZERO
        };
        let (item_disc, ship_disc) = if a.promo && k == 0 {
            if ship > Decimal::ZERO && rng.gen_ratio(1, 2) {
                (Decimal::ZERO, ship)
            } else {
                ((item_amt * Decimal::new(10, 2)).round_dp(2), Decimal::ZERO)
            }
        } else {
            (Decimal::ZERO, Decimal::ZERO)
        };
        let tax_item = ((item_amt - item_disc) * tax_rate).round_dp(2);
        let tax_ship = ((ship - ship_disc) * tax_rate).round_dp(2);
        let tax_wrap = (gift_wrap * tax_rate).round_dp(2);
        let mut money = ItemMoney {
            lines: vec![("ITEM", item_amt, vec![])],
        };
        if k == 0 {
            money.lines.push(("SHIPPING", ship, vec![]));
        }
        if gift_wrap > Decimal::ZERO {
            money.lines.push(("GIFT_WRAP", gift_wrap, vec![]));
        }
        if tax_rate > Decimal::ZERO {
            let mut d = vec![("ITEM", tax_item)];
            if k == 0 {
                d.push(("SHIPPING", tax_ship));
            }
            if gift_wrap > Decimal::ZERO {
                d.push(("GIFT_WRAP", tax_wrap));
            }
            money.lines.push(("TAX", tax_item + tax_ship + tax_wrap, d));
        }
        if item_disc > Decimal::ZERO || ship_disc > Decimal::ZERO {
            let mut d = Vec::new();
            if item_disc > Decimal::ZERO {
                d.push(("ITEM", -item_disc));
            }
            if ship_disc > Decimal::ZERO {
                d.push(("SHIPPING", -ship_disc));
            }
            money.lines.push(("DISCOUNT", -(item_disc + ship_disc), d));
        }
        for (t, amt, _) in &money.lines {
            match totals.iter_mut().find(|(x, _)| x == t) {
                Some(e) => e.1 += *amt,
                None => totals.push((t, *amt)),
            }
        }
        const TYPE_ORDER: [&str; 5] = ["ITEM", "SHIPPING", "GIFT_WRAP", "TAX", "DISCOUNT"];
        totals.sort_by_key(|(t, _)| TYPE_ORDER.iter().position(|x| x == t));
        grand += money.total();
        let shipped_qty = match a.status {
            "SHIPPED" => qty,
            "PARTIALLY_SHIPPED" if k == 0 => qty,
            _ => 0,
        };
        let mut product = json!({
            "asin": asin,
            "title": title,
            "sellerSku": sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": money_json(unit, currency)},
        });
        if let Some(d) = designation {
            product["price"]["priceDesignation"] = json!(d);
        }
        let mut item = json!({
            "orderItemId": order_item_id(rng, ids),
            "quantityOrdered": qty,
            "product": product,
            "proceeds": money.render(currency),
            "fulfillment": {
                "quantityFulfilled": shipped_qty,
                "quantityUnfulfilled": qty - shipped_qty,
            },
        });
        if a.marketplace == US && tax_rate > Decimal::ZERO {
            item["tax"] = json!({"taxCollections": [{"model": "MarketplaceFacilitator", "responsibleParty": "Amazon Services, Inc."}]});
        }
        if item_disc > Decimal::ZERO || ship_disc > Decimal::ZERO {
            let promo = if ship_disc > Decimal::ZERO {
                "FREESHIP-SUMMER"
            } else {
                "SAVE10-SPRING"
            };
            item["promotion"] = json!({"breakdowns": [{"promotionId": promo}]});
        }
        if a.gift {
            item["fulfillment"]["packing"] = json!({"giftOption": {"giftMessage": "Happy birthday! Love from all of us.", "giftWrapLevel": "Classic"}});
        }
        if a.status == "CANCELLED" {
            item["cancellation"] = json!({
                "cancellationRequest": {"requester": "BUYER", "cancelReason": "Order created by mistake"},
                "cancellationExecution": {"cancelledBy": if a.afn { "AMAZON" } else { "MERCHANT" }, "cancelReason": "Buyer requested cancellation"},
            });
        }
        if a.preorder {
            item["programs"] = json!(["PREORDER"]);
        }
        items.push(item);
    }
    let mut programs = Vec::new();
    if a.prime {
        programs.push("PRIME");
    }
    if a.business {
        programs.push("AMAZON_BUSINESS");
    }
    if a.preorder {
        programs.push("PREORDER");
    }
    let created = input.created;
    let mut doc = json!({
        "orderId": id,
        "createdTime": iso(created),
        "lastUpdatedTime": iso(input.updated),
        "salesChannel": if a.non_amazon {
            json!({"channelName": "NON_AMAZON", "marketplaceId": a.marketplace, "marketplaceName": "Non-Amazon"})
        } else {
            json!({"channelName": "AMAZON", "marketplaceId": a.marketplace, "marketplaceName": m.name})
        },
        "proceeds": {
            "grandTotal": money_json(grand, currency),
            "breakdowns": totals.iter().map(|(t, amt)| json!({"type": t, "subtotal": money_json(*amt, currency)})).collect::<Vec<_>>(),
        },
        "fulfillment": {
            "fulfillmentStatus": a.status,
            "fulfilledBy": if a.afn { "AMAZON" } else { "MERCHANT" },
            "fulfillmentServiceLevel": level,
            "shipByWindow": {"earliestDateTime": iso(created), "latestDateTime": iso(created + 2 * DAY)},
            "deliverByWindow": {"earliestDateTime": iso(created + 3 * DAY), "latestDateTime": iso(created + 7 * DAY)},
        },
        "orderItems": items,
    });
    if !programs.is_empty() {
        doc["programs"] = json!(programs);
    }
    if !a.afn && rng.gen_ratio(1, 3) {
        doc["orderAliases"] = json!([{"aliasId": format!("SO-{}", random_hex(rng, 8).to_ascii_uppercase()), "aliasType": "SELLER_ORDER_ID"}]);
    }
    // Payment.
    let method = if a.business {
        "Invoice"
    } else if a.marketplace == MX && rng.gen_ratio(1, 3) {
        "ConvenienceStore"
    } else {
        "CreditCard"
    };
    if a.status != "PENDING" && a.status != "PENDING_AVAILABILITY" {
        doc["payment"] = json!({"paymentExecutions": [{"paymentMethod": method, "paymentAmount": money_json(grand, currency)}]});
    }
    // Buyer and recipient: PII only where Amazon gives it.
    let pii = !matches!(a.status, "PENDING" | "PENDING_AVAILABILITY") && !a.old;
    let domain = m.domain.trim_start_matches("www.");
    let mut buyer = Map::new();
    if pii {
        buyer.insert("buyerName".into(), json!(format!("{first} {last}")));
        if !a.afn {
            buyer.insert(
                "buyerEmail".into(),
                json!(format!("{}@marketplace.{domain}", random_hex(rng, 16))),
            );
        }
    }
    if a.business {
        buyer.insert(
            "buyerCompanyName".into(),
            json!("Okafor & Chen Supplies LLC"),
        );
        buyer.insert(
            "buyerPurchaseOrderNumber".into(),
            json!(format!("PO-{}", rng.gen_range(10_000..99_999))),
        );
        doc["tax"] = json!({
            "taxRegistrations": [{
                "entityType": "BUYER",
                "legalName": "Okafor & Chen Supplies LLC",
                "taxRegistrationType": if tax_rate.is_zero() { "TAX_EXEMPTION" } else { "BUSINESS_REGISTRATION" },
                "taxRegistrationNumber": format!("{}-{}", rng.gen_range(10..99), rng.gen_range(1_000_000..9_999_999)),
            }]
        });
    }
    if !buyer.is_empty() {
        doc["buyer"] = Value::Object(buyer);
    }
    let mut addr = Map::new();
    if pii && !a.afn {
        addr.insert("name".into(), json!(format!("{first} {last}")));
        if a.business {
            addr.insert("companyName".into(), json!("Okafor & Chen Supplies LLC"));
        }
        addr.insert("addressLine1".into(), json!(place.0));
        if let Some(l2) = place.1 {
            addr.insert("addressLine2".into(), json!(l2));
        }
        addr.insert(
            "phone".into(),
            json!(format!("+1 206-555-{:04}", rng.gen_range(100..9999))),
        );
    }
    addr.insert("city".into(), json!(place.2));
    if let Some(c) = place.3 {
        if pii && !a.afn {
            addr.insert("districtOrCounty".into(), json!(c));
        }
    }
    addr.insert("stateOrRegion".into(), json!(place.4));
    addr.insert("postalCode".into(), json!(place.5));
    addr.insert("countryCode".into(), json!(m.country));
    addr.insert(
        "addressType".into(),
        json!(if a.business {
            "COMMERCIAL"
        } else {
            "RESIDENTIAL"
        }),
    );
    doc["recipient"] = json!({"deliveryAddress": addr});
    // Packages of merchant-fulfilled shipments.
    if !a.afn && matches!(a.status, "SHIPPED" | "PARTIALLY_SHIPPED") {
        let (carrier, service, prefix) = if a.marketplace == CA {
            CARRIERS[3]
        } else {
            *pick(rng, &CARRIERS[..3])
        };
        let tracking = format!("{prefix}{}", alnum_upper(rng, 16 - prefix.len()));
        let package_items: Vec<Value> = doc["orderItems"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|i| i.pointer("/fulfillment/quantityFulfilled").and_then(Value::as_u64).unwrap_or(0) > 0)
                    .map(|i| json!({"orderItemId": i["orderItemId"], "quantity": i["fulfillment"]["quantityFulfilled"]}))
                    .collect()
            })
            .unwrap_or_default();
        let ship_time = created + DAY;
        doc["packages"] = json!([{
            "packageReferenceId": "1",
            "createdTime": iso(ship_time - 3600),
            "packageStatus": {"status": if a.status == "SHIPPED" && created < SANDBOX_EPOCH - 10 * DAY { "DELIVERED" } else { "IN_TRANSIT" }},
            "carrier": carrier,
            "shipTime": iso(ship_time),
            "shippingService": service,
            "trackingNumber": tracking,
            "shipFromAddress": ship_from_address(),
            "packageItems": package_items,
        }]);
    }
    Order {
        id,
        created,
        updated: input.updated,
        doc: in_model_order(doc),
    }
}

/// The order's fields in the order the model lists them.
fn in_model_order(doc: Value) -> Value {
    const KEYS: [&str; 16] = [
        "orderId",
        "orderAliases",
        "createdTime",
        "lastUpdatedTime",
        "programs",
        "associatedOrders",
        "salesChannel",
        "buyer",
        "recipient",
        "proceeds",
        "payment",
        "tax",
        "fulfillment",
        "orderItems",
        "packages",
        "fulfillmentOrders",
    ];
    let Value::Object(mut src) = doc else {
        return doc;
    };
    let mut out = Map::new();
    for k in KEYS {
        if let Some(v) = src.remove(k) {
            out.insert(k.to_owned(), v);
        }
    }
    out.extend(src);
    Value::Object(out)
}

fn money_json(d: Decimal, currency: &str) -> Value {
    money(d, currency)
}

// ---------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------

pub struct Db {
    pub seller_id: String,
    pub store_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub listings: BTreeMap<String, Listing>,
    pub fba: BTreeMap<String, FbaStock>,
    pub orders: BTreeMap<String, Order>,
    pub ids: HashSet<String>,
    /// The newest write time so far (writes never go back in time).
    clock: i64,
    /// Ids, ASINs and names of objects made at runtime.
    pub rng: StdRng,
}

impl Db {
    /// The time of a write: the wall clock in whole seconds, never before an earlier
    /// write. (Seeded data is older than every wall-clock write.)
    pub fn now(&mut self) -> i64 {
        let wall = chrono::Utc::now().timestamp();
        self.clock = self.clock.max(wall).max(SANDBOX_EPOCH + 1);
        self.clock
    }

    pub fn seed(opts: &SandboxOptions) -> Db {
        let seed = opts.seed;
        let mut cred = seeded_rng(seed, "credentials");
        let seller_id = format!("A{}", alnum_upper(&mut cred, 13));
        let client_id = format!("amzn1.application-oa2-client.{}", random_hex(&mut cred, 32));
        let client_secret = format!("amzn1.oa2-cs.v1.{}", random_hex(&mut cred, 64));
        let refresh_token = {
            const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let body: String = (0..320)
                .map(|_| char::from(B64[cred.gen_range(0..B64.len())]))
                .collect();
            format!("Atzr|IwEB{body}")
        };
        let mut db = Db {
            seller_id,
            store_name: "Northbound Goods".into(),
            client_id,
            client_secret,
            refresh_token,
            listings: BTreeMap::new(),
            fba: BTreeMap::new(),
            orders: BTreeMap::new(),
            ids: HashSet::new(),
            clock: SANDBOX_EPOCH,
            rng: seeded_rng(seed, "runtime"),
        };
        db.seed_listings(opts);
        db.seed_orders(opts);
        db
    }

    fn seed_listings(&mut self, opts: &SandboxOptions) {
        let mut rng = seeded_rng(opts.seed, "listings");
        let mut fba = BTreeMap::new();
        let mut seq = 0usize;
        for i in 0..opts.products {
            let t = &TEMPLATES[i % TEMPLATES.len()];
            let round = i / TEMPLATES.len();
            let stem = sku_stem(t.name);
            let sku = if round == 0 {
                format!("NB-{stem}")
            } else {
                format!("NB-{stem}-{}", round + 1)
            };
            let name = if round == 0 {
                t.name.to_owned()
            } else {
                format!("{} ({})", t.name, round + 1)
            };
            let mut ms = vec![US.to_owned()];
            if i % 3 == 0 || t.family.is_some() {
                ms.push(CA.to_owned());
            }
            if i % 4 == 1 {
                ms.push(MX.to_owned());
            }
            let price: Decimal = t.price.parse().expect("template prices are decimals");
            let created =
                SANDBOX_EPOCH - (420 - (i as i64 * 13) % 390) * DAY + rng.gen_range(0..DAY);
            let channel_of = |n: usize| -> u8 {
                match n % 5 {
                    3 => 1,
                    4 => 2,
                    _ => 0,
                }
            };
            match t.family {
                None => {
                    let l = build_listing(
                        &mut rng,
                        ListingSpec {
                            sku: sku.clone(),
                            t,
                            name,
                            marketplaces: ms,
                            price,
                            channel: channel_of(seq),
                            created,
                            variation: None,
                        },
                        &mut fba,
                    );
                    seq += 1;
                    self.listings.insert(sku, l);
                }
                Some((attrs, _, values)) => {
                    let parent = build_listing(
                        &mut rng,
                        ListingSpec {
                            sku: sku.clone(),
                            t,
                            name: name.clone(),
                            marketplaces: ms.clone(),
                            price,
                            channel: 0,
                            created,
                            variation: None,
                        },
                        &mut fba,
                    );
                    // Every combination of the theme's values.
                    let mut combos: Vec<Vec<(&'static str, String)>> = vec![vec![]];
                    for (attr, vals) in attrs.iter().zip(values.iter()) {
                        combos = combos
                            .into_iter()
                            .flat_map(|c| {
                                vals.iter().map(move |v| {
                                    let mut c = c.clone();
                                    c.push((*attr, (*v).to_owned()));
                                    c
                                })
                            })
                            .collect();
                    }
                    let mut children = Vec::new();
                    for combo in combos {
                        let suffix: Vec<String> = combo
                            .iter()
                            .map(|(_, v)| {
                                v.split_whitespace()
                                    .map(|w| w.chars().take(3).collect::<String>())
                                    .collect::<String>()
                                    .to_ascii_uppercase()
                            })
                            .collect();
                        let child_sku = format!("{sku}-{}", suffix.join("-"));
                        let label: Vec<&str> = combo.iter().map(|(_, v)| v.as_str()).collect();
                        let child = build_listing(
                            &mut rng,
                            ListingSpec {
                                sku: child_sku.clone(),
                                t,
                                name: format!("{name}, {}", label.join(", ")),
                                marketplaces: ms.clone(),
                                price,
                                channel: channel_of(seq),
                                created,
                                variation: Some((sku.clone(), combo)),
                            },
                            &mut fba,
                        );
                        seq += 1;
                        children.push(child_sku.clone());
                        self.listings.insert(child_sku, child);
                    }
                    let mut parent = parent;
                    parent.children = children;
                    self.listings.insert(sku, parent);
                }
            }
        }
        self.fba = fba;
    }

    fn seed_orders(&mut self, opts: &SandboxOptions) {
        let mut rng = seeded_rng(opts.seed, "orders");
        for i in 0..opts.orders {
            let a = match FIXED.get(i) {
                Some(a) => *a,
                None => random_archetype(&mut rng),
            };
            let age = match a.status {
                "PENDING" | "PENDING_AVAILABILITY" => rng.gen_range(600..2 * DAY),
                "UNSHIPPED" => rng.gen_range(3600..4 * DAY),
                "PARTIALLY_SHIPPED" => rng.gen_range(DAY..6 * DAY),
                _ if a.old => rng.gen_range(200 * DAY..400 * DAY),
                _ => rng.gen_range(2 * DAY..150 * DAY),
            };
            // Distinct creation times, newest orders last in `i` order for small seeds.
            let created = SANDBOX_EPOCH - age - (i as i64 % 97);
            let updated = match a.status {
                "PENDING" | "PENDING_AVAILABILITY" => created + 60,
                "UNSHIPPED" => created + rng.gen_range(600..3600),
                _ => (created + rng.gen_range(DAY..3 * DAY)).min(SANDBOX_EPOCH - 60),
            };
            let o = make_order(
                &mut rng,
                OrderInput {
                    a,
                    created,
                    updated: updated.max(created),
                    listings: &self.listings,
                },
                &mut self.ids,
            );
            self.orders.insert(o.id.clone(), o);
        }
    }

    /// A new runtime order (simulated), merchant-fulfilled and unshipped in the US.
    pub fn new_order(&mut self) -> String {
        let now = self.now();
        let mut a = Archetype::base(US, false, "UNSHIPPED");
        a.items = 1 + (self.orders.len() % 2);
        let mut rng = std::mem::replace(&mut self.rng, seeded_rng(0, "placeholder"));
        let o = make_order(
            &mut rng,
            OrderInput {
                a,
                created: now,
                updated: now,
                listings: &self.listings,
            },
            &mut self.ids,
        );
        self.rng = rng;
        // Amazon takes the ordered quantity off the merchant-fulfilled stock.
        if let Some(items) = o.doc["orderItems"].as_array() {
            for item in items {
                let sku = item
                    .pointer("/product/sellerSku")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let qty = item["quantityOrdered"].as_i64().unwrap_or(0);
                if let Some(l) = self.listings.get_mut(sku) {
                    if let Some(q) = l.mfn_quantity() {
                        l.set_mfn_quantity((q - qty).max(0));
                        l.updated = now;
                    }
                }
            }
        }
        let id = o.id.clone();
        self.orders.insert(id.clone(), o);
        id
    }

    /// A new runtime listing (simulated): a merchant-fulfilled item in the US.
    pub fn new_listing(&mut self) -> String {
        let now = self.now();
        let n = self.listings.len();
        let t = TEMPLATES
            .iter()
            .filter(|t| t.family.is_none())
            .nth(n % 10)
            .expect("templates hold ten simple items");
        let mut rng = std::mem::replace(&mut self.rng, seeded_rng(0, "placeholder"));
        let mut sku = format!("NB-NEW-{}", alnum_upper(&mut rng, 6));
        while self.listings.contains_key(&sku) {
            sku = format!("NB-NEW-{}", alnum_upper(&mut rng, 6));
        }
        let mut fba = BTreeMap::new();
        let mut l = build_listing(
            &mut rng,
            ListingSpec {
                sku: sku.clone(),
                t,
                name: format!("{} (new)", t.name),
                marketplaces: vec![US.to_owned()],
                price: t.price.parse().expect("template prices are decimals"),
                channel: 0,
                created: now,
                variation: None,
            },
            &mut fba,
        );
        self.rng = rng;
        l.created = now;
        l.updated = now;
        l.issues.clear();
        self.listings.insert(sku.clone(), l);
        sku
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtins_have_valid_check_digits() {
        let mut rng = seeded_rng(1, "t");
        for (prefix, len) in [("8", 12), ("40", 13), ("978", 13)] {
            let g = gtin(&mut rng, prefix, len);
            assert_eq!(g.len(), len);
            let digits: Vec<u32> = g.bytes().map(|b| u32::from(b - b'0')).collect();
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(i, d)| d * if i % 2 == 1 { 3 } else { 1 })
                .sum();
            assert_eq!(sum % 10, 0, "{g}");
        }
        // A known UPC-A: 036000291452.
        assert_eq!(
            gtin(&mut seeded_rng(1, "x"), "03600029145", 12),
            "036000291452"
        );
    }

    #[test]
    fn seeding_is_deterministic_and_covers_every_status() {
        let opts = SandboxOptions::default();
        let a = Db::seed(&opts);
        let b = Db::seed(&opts);
        assert_eq!(
            a.orders.keys().collect::<Vec<_>>(),
            b.orders.keys().collect::<Vec<_>>()
        );
        assert_eq!(a.refresh_token, b.refresh_token);
        for status in [
            "PENDING",
            "UNSHIPPED",
            "PARTIALLY_SHIPPED",
            "SHIPPED",
            "CANCELLED",
            "UNFULFILLABLE",
            "PENDING_AVAILABILITY",
        ] {
            assert!(a.orders.values().any(|o| o.status() == status), "{status}");
        }
        for m in [US, CA, MX] {
            assert!(a.orders.values().any(|o| o.marketplace() == m), "{m}");
        }
        assert!(a.orders.values().any(|o| o.fulfilled_by() == "AMAZON"));
        assert!(a.orders.values().any(|o| o.doc.get("buyer").is_none()));
        assert!(a.listings.values().any(|l| !l.children.is_empty()));
        assert!(a
            .listings
            .values()
            .any(|l| l.is_afn() && l.mfn_quantity().is_some()));
        for o in a.orders.values() {
            let grand: Decimal = o
                .doc
                .pointer("/proceeds/grandTotal/amount")
                .and_then(Value::as_str)
                .unwrap()
                .parse()
                .unwrap();
            let sum: Decimal = o.doc["proceeds"]["breakdowns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    b["subtotal"]["amount"]
                        .as_str()
                        .unwrap()
                        .parse::<Decimal>()
                        .unwrap()
                })
                .sum();
            assert_eq!(grand, sum, "{}", o.id);
        }
    }
}

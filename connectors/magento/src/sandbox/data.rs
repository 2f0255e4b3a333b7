//! Deterministic seeded data with the variety a mapping needs: every order state (new,
//! pending_payment, processing, holded, payment_review/fraud, complete, closed = refunded,
//! canceled), guest orders, partially shipped and partially refunded orders, virtual
//! orders without a shipping address, configurable products (Size/Color children) ordered
//! as parent + child lines, several order currencies (USD base, EUR, GBP, JPY), non-ASCII
//! names (Zoë Ångström, 東京), missing optional fields (no telephone, no description, no
//! images), disabled products, nested categories under Magento's two roots, customers with
//! and without addresses, shipments with zero, one or two tracks.
//!
//! For shipping and invoicing tools: payment methods `checkmo`, `banktransfer`,
//! `cashondelivery`, `braintree` (titled through `payment_additional_info`) and `free` (a
//! 100 % coupon order); shipping by flat rate, table rate, free shipping and in-store
//! pickup (`pickup_location_code`); taxes as Magento 2.4.7+ serves them on reads
//! (`extension_attributes.taxes`, items' `itemized_taxes`, shipping's
//! `additional_itemized_taxes`): two Californian rates on one line, German 19 % and 7 % on
//! tax-inclusive prices (the `de` store view) with taxed shipping, British 20 %, Japanese
//! 10 %; coupons; invoices of paid orders; credit memos (a full refund in two memos, the
//! first with the shipping; partial ones of one unit of a line, with a comment); weights
//! (a global attribute, read in pounds through `default` and kilograms through `de`),
//! products without weight, a virtual and a downloadable product; stock split between the
//! default source and a Berlin warehouse.
//!
//! Objects are kept as the JSON the API serves (`serde_json::Value`), shaped as the
//! definitions of admin-schema-2.4.9.yaml say, with Magento's habits: amounts are JSON
//! numbers (`30`, `36.39`), dates UTC `YYYY-MM-DD HH:MM:SS`, flags `0`/`1`, nulls only
//! where Magento outputs them (required getters that return null).

use std::collections::BTreeMap;

use cartgate_connector::sandbox::SEED_NAMES as NAMES;
use cartgate_connector::sandbox::{pick, random_hex, seeded_rng, SandboxOptions, SANDBOX_EPOCH};
use chrono::DateTime;
use rand::Rng;
use serde_json::{json, Value};

pub struct Db {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub access_token: String,
    pub access_token_secret: String,
    pub admin_username: String,
    pub admin_password: String,
    pub orders: BTreeMap<i64, Value>,
    pub shipments: BTreeMap<i64, Value>,
    /// All products, configurable children included.
    pub products: BTreeMap<i64, Value>,
    pub customers: BTreeMap<i64, Value>,
    pub categories: BTreeMap<i64, Value>,
    /// Product attributes by id (color, size).
    pub attributes: BTreeMap<i64, Value>,
    /// MSI source items (sku, source_code) → item.
    pub source_items: BTreeMap<(String, String), Value>,
    /// MSI sources, in Magento's order.
    pub sources: Vec<Value>,
    pub credit_memos: BTreeMap<i64, Value>,
    pub invoices: BTreeMap<i64, Value>,
    next_id: i64,
    writes: i64,
}

/// (street lines, city, region, region code, region id, postcode, country, telephone).
type Place = (
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
);
const PLACES: [Place; 6] = [
    (
        &["6146 Honey Bluff Parkway"],
        "Calder",
        "Michigan",
        "MI",
        33,
        "49628-7978",
        "US",
        Some("(555) 229-3326"),
    ),
    (
        &["Friedrichstraße 43", "Hinterhaus, 3. OG"],
        "Berlin",
        "Berlin",
        "BER",
        82,
        "10117",
        "DE",
        Some("+49 30 1234567"),
    ),
    (
        &["10 Downing Street"],
        "London",
        "",
        "",
        0,
        "SW1A 2AA",
        "GB",
        None,
    ),
    (
        &["千代田1-1"],
        "千代田区",
        "東京都",
        "",
        0,
        "100-0001",
        "JP",
        Some("+81 3-1234-5678"),
    ),
    (
        &["969 Market"],
        "San Francisco",
        "California",
        "CA",
        12,
        "94103",
        "US",
        Some("(555) 555-5555"),
    ),
    (
        &["5 Rue de Rivoli"],
        "Paris",
        "",
        "",
        0,
        "75001",
        "FR",
        Some("+33 1 23 45 67 89"),
    ),
];

/// (code, decimals, units per 1 USD in hundredths, store id). EUR orders are placed in the
/// German store view (tax-inclusive prices, weights in kilograms).
const CURRENCIES: [(&str, u32, i64, i64); 4] = [
    ("USD", 2, 100, 1),
    ("EUR", 2, 92, 2),
    ("GBP", 2, 79, 1),
    ("JPY", 0, 15_000, 1),
];

/// (name, sku stem, price in USD cents, category ids, description, weight in the store's
/// unit: `None` for products without weight).
type CatalogEntry = (
    &'static str,
    &'static str,
    i64,
    &'static [i64],
    Option<&'static str>,
    Option<&'static str>,
);
const CATALOG: [CatalogEntry; 13] = [
    (
        "Joust Duffle Bag",
        "MB01",
        3400,
        &[3, 4],
        Some("<p>The sporty Joust Duffle Bag can't be beat.</p>"),
        Some("2.2"),
    ),
    (
        "Zoë Ångström Tee",
        "ZAT",
        2200,
        &[5, 6],
        Some("<p>Soft organic cotton, cut by Zoë Ångström.</p>"),
        Some("0.35"),
    ),
    (
        "東京 Tote",
        "TKT",
        2900,
        &[3, 4, 8],
        Some("<p>東京で作られたトートバッグ。</p>"),
        None,
    ),
    (
        "Strive Shoulder Pack",
        "MB04",
        3200,
        &[3, 4],
        None,
        Some("1.75"),
    ),
    (
        "Aero Daily Fitness Pants",
        "MP01",
        4500,
        &[5, 7],
        Some("<p>Light and breathable.</p>"),
        Some("0.8"),
    ),
    (
        "Crème Brûlée Candle",
        "CBC",
        1550,
        &[8],
        Some("<p>Vanilla, caramel, a hint of smoke.</p>"),
        Some("0.45"),
    ),
    // Luma's own catalogue stores names with entities (`LumaTech&trade;`): Magento keeps
    // text as entered and shows it decoded.
    (
        "Sprite LumaTech&trade; Yoga Strap",
        "YS6",
        1400,
        &[3],
        None,
        None,
    ),
    (
        "Ingrid Hoodie",
        "WH01",
        5400,
        &[5, 6],
        Some("<p>Warm, and then some.</p>"),
        Some("1.1"),
    ),
    (
        "Gift Card (e-mail)",
        "GC-E",
        5000,
        &[9],
        Some("<p>Delivered by e-mail: nothing to ship.</p>"),
        None,
    ),
    (
        "Olympic Shoulder Bag",
        "MB02",
        4300,
        &[3, 4],
        Some("<p>Everyday carry.</p>"),
        Some("1.9"),
    ),
    (
        "Søren Stainless Bottle",
        "SSB",
        1900,
        &[3],
        None,
        Some("0.6"),
    ),
    (
        "Łódź Linen Shorts",
        "LLS",
        3100,
        &[5, 7],
        Some("<p>Linen, from Łódź.</p>"),
        Some("0.5"),
    ),
    (
        "Yoga Guide (PDF download)",
        "YGP",
        900,
        &[3],
        Some("<p>Forty poses, downloadable after purchase.</p>"),
        None,
    ),
];

pub const COLOR_ATTRIBUTE: i64 = 93;
pub const SIZE_ATTRIBUTE: i64 = 144;
const COLORS: [(i64, &str); 4] = [(49, "Red"), (50, "Blue"), (51, "Black"), (52, "Grün")];
const SIZES: [(i64, &str); 5] = [(166, "XS"), (167, "S"), (168, "M"), (169, "L"), (170, "XL")];

/// `YYYY-MM-DD HH:MM:SS` in UTC, as Magento writes its dates.
pub fn date(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An amount as Magento's JSON shows it: an integer when whole (`30`), else a number with
/// decimals (`36.39`). `minor` is in the currency's minor unit.
pub fn num(minor: i64, decimals: u32) -> Value {
    let p = 10i64.pow(decimals);
    if minor % p == 0 {
        json!(minor / p)
    } else {
        json!(minor as f64 / p as f64)
    }
}

/// Minor units of an amount in a JSON value (a number or a numeric string).
pub fn minor_of(v: &Value, decimals: u32) -> i64 {
    let f = match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    };
    (f * 10f64.powi(decimals as i32)).round() as i64
}

/// A full `catalog-inventory-data-stock-item-interface`.
pub fn stock_item(item_id: i64, product_id: i64, qty: i64, manage: bool) -> Value {
    json!({
        "item_id": item_id,
        "product_id": product_id,
        "stock_id": 1,
        "qty": qty,
        "is_in_stock": qty > 0 || !manage,
        "is_qty_decimal": false,
        "show_default_notification_message": false,
        "use_config_min_qty": true,
        "min_qty": 0,
        "use_config_min_sale_qty": 1,
        "min_sale_qty": 1,
        "use_config_max_sale_qty": true,
        "max_sale_qty": 10000,
        "use_config_backorders": true,
        "backorders": 0,
        "use_config_notify_stock_qty": true,
        "notify_stock_qty": 1,
        "use_config_qty_increments": true,
        "qty_increments": 0,
        "use_config_enable_qty_inc": true,
        "enable_qty_increments": false,
        "use_config_manage_stock": manage,
        "manage_stock": manage,
        "low_stock_date": null,
        "is_decimal_divided": false,
        "stock_status_changed_auto": 0
    })
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// A product as `GET /V1/products/{sku}` shows it.
#[allow(clippy::too_many_arguments)]
pub fn product_json(
    id: i64,
    sku: &str,
    name: &str,
    price_cents: i64,
    type_id: &str,
    visibility: i64,
    status: i64,
    created: i64,
) -> Value {
    json!({
        "id": id,
        "sku": sku,
        "name": name,
        "attribute_set_id": 4,
        "price": num(price_cents, 2),
        "status": status,
        "visibility": visibility,
        "type_id": type_id,
        "created_at": date(created),
        "updated_at": date(created),
        "extension_attributes": {
            "website_ids": [1],
            "category_links": [],
            "stock_item": stock_item(id, id, 0, true)
        },
        "product_links": [],
        "options": [],
        "media_gallery_entries": [],
        "tier_prices": [],
        "custom_attributes": [
            {"attribute_code": "url_key", "value": slug(name)},
            {"attribute_code": "tax_class_id", "value": "2"},
            {"attribute_code": "required_options", "value": "0"},
            {"attribute_code": "has_options", "value": if type_id == "configurable" { "1" } else { "0" }}
        ]
    })
}

/// Sets (or adds) a custom attribute of a product.
pub fn set_attribute(p: &mut Value, code: &str, value: Value) {
    if !p["custom_attributes"].is_array() {
        p["custom_attributes"] = json!([]);
    }
    if let Some(list) = p["custom_attributes"].as_array_mut() {
        if let Some(a) = list.iter_mut().find(|a| a["attribute_code"] == code) {
            a["value"] = value;
        } else {
            list.push(json!({"attribute_code": code, "value": value}));
        }
    }
}

pub fn attribute_value(p: &Value, code: &str) -> Option<String> {
    p["custom_attributes"]
        .as_array()?
        .iter()
        .find(|a| a["attribute_code"] == code)
        .and_then(|a| a["value"].as_str().map(str::to_owned))
}

fn attribute_json(id: i64, code: &str, label: &str, options: &[(i64, &str)]) -> Value {
    let mut opts = vec![json!({"label": " ", "value": ""})];
    opts.extend(
        options
            .iter()
            .enumerate()
            .map(|(n, (v, l))| json!({"label": l, "value": v.to_string(), "sort_order": n, "is_default": false, "store_labels": []})),
    );
    json!({
        "is_wysiwyg_enabled": false,
        "is_html_allowed_on_front": true,
        "used_for_sort_by": false,
        "is_filterable": true,
        "is_filterable_in_search": true,
        "is_used_in_grid": true,
        "is_visible_in_grid": false,
        "is_filterable_in_grid": true,
        "position": 0,
        "apply_to": ["simple", "virtual", "configurable"],
        "is_searchable": "1",
        "is_visible_in_advanced_search": "1",
        "is_comparable": "1",
        "is_used_for_promo_rules": "0",
        "is_visible_on_front": "0",
        "used_in_product_listing": "0",
        "is_visible": true,
        "scope": "global",
        "attribute_id": id,
        "attribute_code": code,
        "frontend_input": "select",
        "entity_type_id": "4",
        "is_required": false,
        "options": opts,
        "is_user_defined": true,
        "default_frontend_label": label,
        "frontend_labels": [],
        "backend_type": "int",
        "source_model": "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table",
        "default_value": "",
        "is_unique": "0",
        "validation_rules": []
    })
}

fn category_json(
    id: i64,
    parent: i64,
    name: &str,
    level: i64,
    path: &str,
    active: bool,
    secs: i64,
) -> Value {
    json!({
        "id": id,
        "parent_id": parent,
        "name": name,
        "is_active": active,
        "position": id,
        "level": level,
        "children": "",
        "created_at": date(secs),
        "updated_at": date(secs),
        "path": path,
        "available_sort_by": [],
        "include_in_menu": active,
        "custom_attributes": [
            {"attribute_code": "url_key", "value": slug(name)},
            {"attribute_code": "display_mode", "value": "PRODUCTS"},
            {"attribute_code": "is_anchor", "value": "1"}
        ]
    })
}

fn order_address(
    kind: &str,
    id: i64,
    order_id: i64,
    name: (&str, &str),
    email: &str,
    place: &Place,
    customer_id: Option<i64>,
) -> Value {
    let (street, city, region, code, region_id, postcode, country, phone) = place;
    let mut a = json!({
        "address_type": kind,
        "city": city,
        "country_id": country,
        "email": email,
        "entity_id": id,
        "firstname": name.0,
        "lastname": name.1,
        "parent_id": order_id,
        "postcode": postcode,
        "street": street,
        // Required by the schema: Magento answers null when the store makes it optional.
        "telephone": phone,
    });
    if !region.is_empty() {
        a["region"] = json!(region);
    }
    if !code.is_empty() {
        a["region_code"] = json!(code);
        a["region_id"] = json!(region_id);
    }
    if let Some(c) = customer_id {
        a["customer_id"] = json!(c);
    }
    a
}

/// The MSI sources: the default one, a Berlin warehouse (both pickup locations of In-Store
/// Pickup) and a closed outlet.
fn sources() -> Vec<Value> {
    vec![
        json!({
            "source_code": "default", "name": "Default Source", "enabled": true,
            "description": "Default Source", "latitude": 0, "longitude": 0,
            "country_id": "US", "postcode": "00000",
            "use_default_carrier_config": true, "carrier_links": [],
            "extension_attributes": {"is_pickup_location_active": true, "frontend_name": "Main warehouse"}
        }),
        json!({
            "source_code": "berlin", "name": "Lager Berlin", "enabled": true,
            "description": "Warehouse for EU orders", "latitude": 52.5200, "longitude": 13.4050,
            "country_id": "DE", "region": "Berlin", "city": "Berlin", "street": "Friedrichstraße 43",
            "postcode": "10117", "phone": "+49 30 1234567", "email": "lager@example.com",
            "contact_name": "Jürgen Weiß", "use_default_carrier_config": true, "carrier_links": [],
            "extension_attributes": {"is_pickup_location_active": true, "frontend_name": "Abholung Berlin"}
        }),
        json!({
            "source_code": "outlet_paris", "name": "Outlet Paris", "enabled": false,
            "description": "Closed for renovation", "latitude": 48.8566, "longitude": 2.3522,
            "country_id": "FR", "city": "Paris", "street": "5 Rue de Rivoli", "postcode": "75001",
            "use_default_carrier_config": true, "carrier_links": [],
            "extension_attributes": {"is_pickup_location_active": false}
        }),
    ]
}

impl Db {
    /// The instant of the next write: after every seeded date, one second per write.
    pub fn now(&mut self) -> i64 {
        self.writes += 1;
        SANDBOX_EPOCH + self.writes
    }

    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn product_by_sku(&self, sku: &str) -> Option<i64> {
        self.products
            .iter()
            .find(|(_, p)| p["sku"].as_str() == Some(sku))
            .map(|(id, _)| *id)
    }

    /// The children of a configurable product.
    pub fn children(&self, parent: i64) -> Vec<i64> {
        self.products[&parent]["extension_attributes"]["configurable_product_links"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect()
    }

    pub fn seed(opts: &SandboxOptions) -> Db {
        let seed = opts.seed;
        let mut keys = seeded_rng(seed, "keys");
        let mut db = Db {
            consumer_key: random_hex(&mut keys, 32),
            consumer_secret: random_hex(&mut keys, 32),
            access_token: random_hex(&mut keys, 32),
            access_token_secret: random_hex(&mut keys, 32),
            admin_username: "cartgate_admin".into(),
            admin_password: format!("Sandbox-{}", random_hex(&mut keys, 12)),
            orders: BTreeMap::new(),
            shipments: BTreeMap::new(),
            products: BTreeMap::new(),
            customers: BTreeMap::new(),
            categories: BTreeMap::new(),
            attributes: BTreeMap::new(),
            source_items: BTreeMap::new(),
            sources: sources(),
            credit_memos: BTreeMap::new(),
            invoices: BTreeMap::new(),
            next_id: 100_000,
            writes: 0,
        };
        db.seed_catalog(seed, opts.products);
        db.seed_customers(seed, opts.customers);
        db.seed_orders(seed, opts.orders);
        db
    }

    fn seed_catalog(&mut self, seed: u64, count: usize) {
        let t0 = SANDBOX_EPOCH - 400 * 86_400;
        let cats: [(i64, i64, &str, i64, &str, bool); 9] = [
            (1, 0, "Root Catalog", 0, "1", true),
            (2, 1, "Default Category", 1, "1/2", true),
            (3, 2, "Gear", 2, "1/2/3", true),
            (4, 3, "Bags", 3, "1/2/3/4", true),
            (5, 2, "Clothing", 2, "1/2/5", true),
            (6, 5, "Tops", 3, "1/2/5/6", true),
            (7, 5, "Bottoms", 3, "1/2/5/7", true),
            (8, 2, "東京 Collection", 2, "1/2/8", true),
            (9, 2, "Gift Cards", 2, "1/2/9", false),
        ];
        for (id, parent, name, level, path, active) in cats {
            let mut c = category_json(id, parent, name, level, path, active, t0 + id * 3600);
            if id == 8 {
                if let Some(list) = c["custom_attributes"].as_array_mut() {
                    list.push(
                        json!({"attribute_code": "description", "value": "<p>Made in 東京.</p>"}),
                    );
                }
            }
            self.categories.insert(id, c);
        }
        for (parent, _, _, _, path, _) in cats {
            let kids: Vec<String> = cats
                .iter()
                .filter(|c| c.1 == parent)
                .map(|c| c.0.to_string())
                .collect();
            let _ = path;
            if let Some(c) = self.categories.get_mut(&parent) {
                c["children"] = json!(kids.join(","));
            }
        }
        self.attributes.insert(
            COLOR_ATTRIBUTE,
            attribute_json(COLOR_ATTRIBUTE, "color", "Color", &COLORS),
        );
        self.attributes.insert(
            SIZE_ATTRIBUTE,
            attribute_json(SIZE_ATTRIBUTE, "size", "Size", &SIZES),
        );

        let mut rng = seeded_rng(seed, "products");
        let mut id = 0i64;
        for n in 0..count {
            let (name, stem, cents, cat_ids, desc, weight) = CATALOG[n % CATALOG.len()];
            let round = n / CATALOG.len();
            let (name, sku) = if round == 0 {
                (name.to_owned(), stem.to_owned())
            } else {
                (
                    format!("{name} {}", round + 1),
                    format!("{stem}-{}", round + 1),
                )
            };
            id += 1;
            let created = t0 + (n as i64) * 86_400 + rng.gen_range(0..3600);
            let virtual_ = stem == "GC-E";
            let downloadable = stem == "YGP";
            let configurable = n % 4 == 1 && !virtual_ && !downloadable;
            let status = if n % 7 == 6 { 2 } else { 1 };
            let type_id = if configurable {
                "configurable"
            } else if virtual_ {
                "virtual"
            } else if downloadable {
                "downloadable"
            } else {
                "simple"
            };
            let mut p = product_json(id, &sku, &name, cents, type_id, 4, status, created);
            // Magento sends `weight` only for products that have one.
            let weight = weight.map(|w| json!(w.parse::<f64>().unwrap_or(0.0)));
            if let Some(w) = &weight {
                p["weight"] = w.clone();
            }
            let nothing_to_ship = virtual_ || downloadable;
            p["extension_attributes"]["category_links"] = Value::Array(
                cat_ids
                    .iter()
                    .enumerate()
                    .map(|(pos, c)| json!({"position": pos, "category_id": c.to_string()}))
                    .collect(),
            );
            if let Some(d) = desc {
                set_attribute(&mut p, "description", json!(d));
            }
            if n % 5 != 3 {
                let file = format!(
                    "/{}/{}/{}.jpg",
                    &sku[..1].to_lowercase(),
                    &sku[1..2].to_lowercase(),
                    sku.to_lowercase()
                );
                p["media_gallery_entries"] = json!([{
                    "id": id * 10,
                    "media_type": "image",
                    "label": name,
                    "position": 1,
                    "disabled": false,
                    "types": ["image", "small_image", "thumbnail"],
                    "file": file
                }]);
                if n % 3 == 0 {
                    if let Some(list) = p["media_gallery_entries"].as_array_mut() {
                        list.push(json!({"id": id * 10 + 1, "media_type": "image", "label": "", "position": 2, "disabled": false, "types": [], "file": format!("/{}/{}/{}_back.jpg", &sku[..1].to_lowercase(), &sku[1..2].to_lowercase(), sku.to_lowercase())}));
                        list.push(json!({"id": id * 10 + 2, "media_type": "image", "label": "hidden", "position": 3, "disabled": true, "types": [], "file": "/h/i/hidden.jpg"}));
                    }
                }
            }
            let qty = if nothing_to_ship {
                0
            } else {
                rng.gen_range(0..120)
            };
            p["extension_attributes"]["stock_item"] = stock_item(id, id, qty, !nothing_to_ship);
            if configurable {
                p["price"] = json!(0);
                p["extension_attributes"]["stock_item"] = stock_item(id, id, 0, true);
                let parent_id = id;
                let colors: Vec<(i64, &str)> = if n % 8 == 1 {
                    vec![COLORS[0], COLORS[3]]
                } else {
                    vec![COLORS[1], COLORS[2]]
                };
                let sizes = [SIZES[1], SIZES[2], SIZES[3]];
                let mut links = Vec::new();
                for (ci, (cv, cl)) in colors.iter().enumerate() {
                    for (si, (sv, sl)) in sizes.iter().enumerate() {
                        id += 1;
                        let csku = format!("{sku}-{sl}-{cl}");
                        let cname = format!("{name}-{sl}-{cl}");
                        let extra = (si as i64) * 200;
                        let mut c =
                            product_json(id, &csku, &cname, cents + extra, "simple", 1, 1, created);
                        if let Some(w) = &weight {
                            c["weight"] = w.clone();
                        }
                        let cq = if ci == 0 && si == 0 {
                            0
                        } else {
                            rng.gen_range(1..40)
                        };
                        // Size L is also stocked in Berlin (a little: writes of a total
                        // apply the difference at the default source).
                        let berlin = if si == 2 { (cq % 3).min(cq) } else { 0 };
                        let cq = cq - berlin;
                        c["extension_attributes"]["stock_item"] = stock_item(id, id, cq, true);
                        c["extension_attributes"]["category_links"] =
                            p["extension_attributes"]["category_links"].clone();
                        set_attribute(&mut c, "color", json!(cv.to_string()));
                        set_attribute(&mut c, "size", json!(sv.to_string()));
                        self.source_items.insert(
                            (csku.clone(), "default".into()),
                            json!({"sku": csku, "source_code": "default", "quantity": cq, "status": i32::from(cq > 0)}),
                        );
                        if si == 2 {
                            self.source_items.insert(
                                (csku.clone(), "berlin".into()),
                                json!({"sku": csku, "source_code": "berlin", "quantity": berlin, "status": i32::from(berlin > 0)}),
                            );
                        }
                        self.products.insert(id, c);
                        links.push(id);
                    }
                }
                p["extension_attributes"]["configurable_product_links"] = json!(links);
                p["extension_attributes"]["configurable_product_options"] = json!([
                    {"id": parent_id * 10 + 1, "attribute_id": COLOR_ATTRIBUTE.to_string(), "label": "Color", "position": 0,
                     "values": colors.iter().map(|(v, _)| json!({"value_index": v})).collect::<Vec<_>>(), "product_id": parent_id},
                    {"id": parent_id * 10 + 2, "attribute_id": SIZE_ATTRIBUTE.to_string(), "label": "Size", "position": 1,
                     "values": sizes.iter().map(|(v, _)| json!({"value_index": v})).collect::<Vec<_>>(), "product_id": parent_id}
                ]);
            } else if !nothing_to_ship {
                // Every third simple product is split with the Berlin warehouse (a few
                // units there). The legacy stock item follows the default source only, as
                // with MSI.
                let berlin = if n % 3 == 0 { 1 + (qty % 3) } else { 0 };
                let here = qty;
                self.source_items.insert(
                    (sku.clone(), "default".into()),
                    json!({"sku": sku, "source_code": "default", "quantity": here, "status": i32::from(here > 0)}),
                );
                if n % 3 == 0 {
                    self.source_items.insert(
                        (sku.clone(), "berlin".into()),
                        json!({"sku": sku, "source_code": "berlin", "quantity": berlin, "status": 1}),
                    );
                }
            }
            self.products.insert(parent_id_of(&p), p);
        }
        self.next_id = self.next_id.max(id + 1);
    }

    fn seed_customers(&mut self, seed: u64, count: usize) {
        let mut rng = seeded_rng(seed, "customers");
        for n in 0..count {
            let id = n as i64 + 1;
            let (first, last, stem) = NAMES[n % NAMES.len()];
            let email = if n < NAMES.len() {
                format!("{stem}@example.com")
            } else {
                format!("{stem}{}@example.com", n / NAMES.len() + 1)
            };
            let created =
                SANDBOX_EPOCH - 300 * 86_400 + (n as i64) * 5 * 86_400 + rng.gen_range(0..86_400);
            let updated = created + rng.gen_range(0..40) * 86_400;
            let store = if n % 3 == 1 { 2 } else { 1 };
            let mut c = json!({
                "id": id,
                "group_id": 1,
                "created_at": date(created),
                "updated_at": date(updated.min(SANDBOX_EPOCH - 1)),
                "created_in": if store == 2 { "Deutsche Store View" } else { "Default Store View" },
                "email": email,
                "firstname": first,
                "lastname": last,
                "store_id": store,
                "website_id": 1,
                "addresses": [],
                "disable_auto_group_change": 0,
                "extension_attributes": {"is_subscribed": n % 2 == 0}
            });
            let n_addr = match n % 5 {
                0 => 0,
                1 | 2 => 1,
                _ => 2,
            };
            let mut addrs = Vec::new();
            for a in 0..n_addr {
                let place = &PLACES[(n + a) % PLACES.len()];
                let (street, city, region, code, region_id, postcode, country, phone) = place;
                let aid = id * 10 + a as i64;
                let mut addr = json!({
                    "id": aid,
                    "customer_id": id,
                    "region": {"region_code": if code.is_empty() { Value::Null } else { json!(code) }, "region": if region.is_empty() { Value::Null } else { json!(region) }, "region_id": region_id},
                    "region_id": region_id,
                    "country_id": country,
                    "street": street,
                    "postcode": postcode,
                    "city": city,
                    "firstname": first,
                    "lastname": last,
                    "default_billing": a == 0,
                    "default_shipping": a == n_addr - 1
                });
                if let Some(p) = phone {
                    if n % 4 != 2 {
                        addr["telephone"] = json!(p);
                    }
                }
                if a == 1 {
                    addr["company"] = json!("Ångström & Söhne GmbH");
                }
                if a == 0 {
                    c["default_billing"] = json!(aid.to_string());
                }
                if a == n_addr - 1 {
                    c["default_shipping"] = json!(aid.to_string());
                }
                addrs.push(addr);
            }
            c["addresses"] = Value::Array(addrs);
            self.customers.insert(id, c);
        }
    }

    /// Top-level products an order can contain: (product id, is configurable).
    fn orderable(&self) -> Vec<(i64, bool)> {
        self.products
            .iter()
            .filter(|(_, p)| p["visibility"] != 1 && p["status"] == 1)
            .map(|(id, p)| (*id, p["type_id"] == "configurable"))
            .collect()
    }

    fn seed_orders(&mut self, seed: u64, count: usize) {
        let mut rng = seeded_rng(seed, "orders");
        let orderable = self.orderable();
        // (state, status, shipped: 0 none / 1 part / 2 all, refunded: 0 none / 1 part / 2 all)
        const KINDS: [(&str, &str, u8, u8); 10] = [
            ("processing", "processing", 0, 0),
            ("complete", "complete", 2, 0),
            ("new", "pending", 0, 0),
            ("canceled", "canceled", 0, 0),
            ("closed", "closed", 2, 2),
            ("processing", "processing", 1, 0),
            ("holded", "holded", 0, 0),
            ("complete", "complete", 2, 1),
            ("pending_payment", "pending_payment", 0, 0),
            ("payment_review", "fraud", 0, 0),
        ];
        let mut item_id = 0i64;
        let mut addr_id = 0i64;
        let mut shipment_id = 0i64;
        let mut track_id = 0i64;
        let mut memo_id = 0i64;
        let mut invoice_id = 0i64;
        let mut tax_row_id = 0i64;
        let of_type = |db: &Db, t: &str| {
            db.products
                .iter()
                .find(|(_, p)| p["type_id"] == t && p["status"] == 1)
                .map(|(id, _)| *id)
        };
        let gift = of_type(self, "virtual");
        let download = of_type(self, "downloadable");
        for n in 0..count {
            let order_id = n as i64 + 1;
            let (state, status, shipped, refunded) = KINDS[n % KINDS.len()];
            let (cur, decimals, rate, store_id) = CURRENCIES[(n / 3) % CURRENCIES.len()];
            // USD cents → the order's minor unit, and back to the base currency (USD cents).
            let conv = |usd: i64| usd * rate / 100 / if decimals == 0 { 100 } else { 1 };
            let base = |minor: i64| minor * 100 / rate * if decimals == 0 { 100 } else { 1 };
            let guest = n % 4 == 3 || self.customers.is_empty();
            let customer_id = if guest {
                None
            } else {
                Some((n * 7 % self.customers.len()) as i64 + 1)
            };
            let (first, last, email) = match customer_id {
                Some(cid) => {
                    let c = &self.customers[&cid];
                    (
                        c["firstname"].as_str().unwrap_or("").to_owned(),
                        c["lastname"].as_str().unwrap_or("").to_owned(),
                        c["email"].as_str().unwrap_or("").to_owned(),
                    )
                }
                None => {
                    let (f, l, stem) = NAMES[(n * 5 + 3) % NAMES.len()];
                    (
                        f.to_owned(),
                        l.to_owned(),
                        format!("{stem}.guest{n}@example.net"),
                    )
                }
            };
            let created =
                SANDBOX_EPOCH - 180 * 86_400 + (n as i64) * 2 * 86_400 + rng.gen_range(0..86_400);
            let updated = created + rng.gen_range(0..10) * 3600;
            // Lines: one virtual-only order in ten; else 1..=3 physical lines, and now and
            // then a download besides (last, so the first line always ships).
            let virtual_only = n % 10 == 8 && refunded == 0;
            let mut picks: Vec<(i64, bool)> = Vec::new();
            if virtual_only && gift.is_some() {
                picks.push((gift.unwrap_or_default(), false));
            } else {
                let lines = rng.gen_range(1..=3usize);
                let ships = |db: &Db, id: i64| {
                    !matches!(
                        db.products[&id]["type_id"].as_str(),
                        Some("virtual" | "downloadable")
                    )
                };
                for _ in 0..lines {
                    let p = *pick(&mut rng, &orderable);
                    if !picks.iter().any(|x| x.0 == p.0) && ships(self, p.0) {
                        picks.push(p);
                    }
                }
                if picks.is_empty() {
                    if let Some(p) = orderable.iter().find(|p| ships(self, p.0)) {
                        picks.push(*p);
                    }
                }
                if n % 9 == 4 {
                    if let Some(d) = download {
                        picks.push((d, false));
                    }
                }
            }
            let is_virtual = virtual_only && gift.is_some();
            let coupon = n % 6 == 2;
            // One order in twenty is free: a 100 % coupon and free shipping.
            let free_order = n % 20 == 11 && !is_virtual;
            let tax_inclusive = cur == "EUR";
            let mut lines: Vec<SeedLine> = Vec::new();
            for (pid, configurable) in &picks {
                let parent = &self.products[pid];
                let qty = rng.gen_range(1..=3i64);
                let child = if *configurable {
                    let kids = self.children(*pid);
                    Some(*pick(&mut rng, &kids))
                } else {
                    None
                };
                let product = &self.products[&child.unwrap_or(*pid)];
                let sku = product["sku"].as_str().unwrap_or("").to_owned();
                let rates = goods_rates(cur, n, &sku);
                let bp: i64 = rates.iter().map(|r| r.2).sum();
                let catalog = conv(minor_of(&product["price"], 2));
                // A tax-inclusive catalog (the German store view): the price entered is
                // gross, Magento derives the net price from it.
                let (price, price_incl) = if tax_inclusive && bp > 0 {
                    (
                        (catalog * 10_000 + (10_000 + bp) / 2) / (10_000 + bp),
                        catalog,
                    )
                } else {
                    (catalog, catalog + pct(catalog, bp))
                };
                let row = price * qty;
                let disc = if free_order {
                    row
                } else if coupon {
                    row / 10
                } else {
                    0
                };
                let taxes: Vec<(Rate, i64)> =
                    rates.iter().map(|r| (*r, pct(row - disc, r.2))).collect();
                item_id += 1;
                let id = item_id;
                let child_id = child.map(|_| {
                    item_id += 1;
                    item_id
                });
                lines.push(SeedLine {
                    item_id: id,
                    child_item_id: child_id,
                    product_id: *pid,
                    child,
                    qty,
                    price,
                    price_incl,
                    row,
                    disc,
                    taxes,
                    virtual_line: matches!(
                        parent["type_id"].as_str(),
                        Some("virtual" | "downloadable")
                    ),
                    weight: product.get("weight").cloned(),
                    refunded: 0,
                });
            }
            for (k, l) in lines.iter_mut().enumerate() {
                l.refunded = match refunded {
                    2 => l.qty,
                    1 if k == 0 => 1,
                    _ => 0,
                };
            }
            // Shipping: the method the buyer chose.
            let method = if is_virtual {
                None
            } else if free_order {
                Some(SHIPPING_METHODS[2])
            } else if n % 7 == 4 {
                Some(SHIPPING_METHODS[3])
            } else if n % 5 == 1 {
                Some(SHIPPING_METHODS[1])
            } else if n % 5 == 3 {
                Some(SHIPPING_METHODS[2])
            } else {
                Some(SHIPPING_METHODS[0])
            };
            let shipping = method.map_or(0, |m| conv(m.2));
            let ship_rate = shipping_rate(cur).filter(|_| shipping > 0);
            let shipping_tax = ship_rate.map_or(0, |r| pct(shipping, r.2));
            // The order's rates, in the order first used: their `sales_order_tax` ids.
            let mut order_rates: Vec<(Rate, i64)> = Vec::new();
            for (r, a) in lines
                .iter()
                .flat_map(|l| l.taxes.iter().copied())
                .chain(ship_rate.map(|r| (r, shipping_tax)))
            {
                match order_rates.iter_mut().find(|(x, _)| x.0 == r.0) {
                    Some((_, sum)) => *sum += a,
                    None => order_rates.push((r, a)),
                }
            }
            let tax_ids: Vec<i64> = order_rates
                .iter()
                .map(|_| {
                    tax_row_id += 1;
                    tax_row_id
                })
                .collect();
            let tax_id_of = |code: &str| {
                order_rates
                    .iter()
                    .position(|(r, _)| r.0 == code)
                    .map(|i| tax_ids[i])
                    .unwrap_or(0)
            };
            let subtotal: i64 = lines.iter().map(|l| l.row).sum();
            let discount_total: i64 = lines.iter().map(|l| l.disc).sum();
            let item_tax: i64 = lines.iter().map(SeedLine::tax).sum();
            let tax_total = item_tax + shipping_tax;
            let grand = subtotal + shipping + tax_total - discount_total;
            let total_qty: i64 = lines.iter().map(|l| l.qty).sum();
            let invoiced = matches!(state, "processing" | "complete" | "closed");
            let paid = invoiced;
            let weight_of = |v: &Option<Value>| v.as_ref().map_or(0, |w| minor_of(w, 4));
            let order_weight: i64 = lines
                .iter()
                .filter(|l| !l.virtual_line)
                .map(|l| weight_of(&l.weight) * l.qty)
                .sum();

            let mut items = Vec::new();
            for l in &lines {
                let parent = &self.products[&l.product_id];
                let sku = match l.child {
                    Some(k) => self.products[&k]["sku"].clone(),
                    None => parent["sku"].clone(),
                };
                let shipped_qty = match shipped {
                    2 => l.qty,
                    1 if items.is_empty() => l.qty.min(1),
                    _ => 0,
                }
                .min(if l.virtual_line { 0 } else { l.qty });
                let canceled_qty = if state == "canceled" { l.qty } else { 0 };
                let (r_row, r_disc, r_tax) = l.refunded_part(l.refunded);
                let itemized: Vec<Value> = l
                    .taxes
                    .iter()
                    .map(|(r, a)| {
                        tax_row_id += 1;
                        json!({
                            "tax_item_id": tax_row_id, "tax_id": tax_id_of(r.0), "item_id": l.item_id,
                            "tax_code": r.0, "tax_percent": num(r.2, 2), "amount": num(*a, decimals),
                            "base_amount": num(base(*a), 2), "real_amount": num(*a, decimals),
                            "real_base_amount": num(base(*a), 2), "taxable_item_type": "product"
                        })
                    })
                    .collect();
                let bp: i64 = l.taxes.iter().map(|(r, _)| r.2).sum();
                let mut line = json!({
                    "amount_refunded": num(r_row, decimals),
                    "base_amount_refunded": num(base(r_row), 2),
                    "base_discount_amount": num(base(l.disc), 2),
                    "base_price": num(base(l.price), 2),
                    "base_price_incl_tax": num(base(l.price_incl), 2),
                    "base_row_total": num(base(l.row), 2),
                    "base_row_total_incl_tax": num(base(l.row + l.tax()), 2),
                    "base_tax_amount": num(base(l.tax()), 2),
                    "created_at": date(created),
                    "discount_amount": num(l.disc, decimals),
                    "discount_percent": if free_order { 100 } else if coupon { 10 } else { 0 },
                    "discount_refunded": num(r_disc, decimals),
                    "is_qty_decimal": 0,
                    "is_virtual": i32::from(l.virtual_line),
                    "item_id": l.item_id,
                    "name": parent["name"],
                    "no_discount": 0,
                    "order_id": order_id,
                    "original_price": num(l.price_incl.max(l.price), decimals),
                    "price": num(l.price, decimals),
                    "price_incl_tax": num(l.price_incl, decimals),
                    "product_id": l.product_id,
                    "product_type": parent["type_id"],
                    "qty_canceled": canceled_qty,
                    "qty_invoiced": if invoiced { l.qty } else { 0 },
                    "qty_ordered": l.qty,
                    "qty_refunded": l.refunded,
                    "qty_shipped": shipped_qty,
                    "row_invoiced": num(if invoiced { l.row } else { 0 }, decimals),
                    "row_total": num(l.row, decimals),
                    "row_total_incl_tax": num(l.row + l.tax(), decimals),
                    "sku": sku,
                    "store_id": store_id,
                    "tax_amount": num(l.tax(), decimals),
                    "tax_invoiced": num(if invoiced { l.tax() } else { 0 }, decimals),
                    "tax_percent": num(bp, 2),
                    "tax_refunded": num(r_tax, decimals),
                    "updated_at": date(updated),
                    "extension_attributes": {"itemized_taxes": itemized}
                });
                if let Some(w) = l.weight.as_ref().filter(|_| !l.virtual_line) {
                    line["weight"] = w.clone();
                    line["row_weight"] = num(weight_of(&l.weight) * l.qty, 4);
                }
                if let (Some(k), Some(child_item)) = (l.child, l.child_item_id) {
                    let kp = &self.products[&k];
                    let opts: Vec<Value> = ["color", "size"]
                        .iter()
                        .zip([COLOR_ATTRIBUTE, SIZE_ATTRIBUTE])
                        .filter_map(|(code, aid)| {
                            let v = attribute_value(kp, code)?;
                            Some(json!({"option_id": aid.to_string(), "option_value": v.parse::<i64>().unwrap_or(0)}))
                        })
                        .collect();
                    line["product_option"] =
                        json!({"extension_attributes": {"configurable_item_options": opts}});
                    let parent_line = line.clone();
                    items.push(line);
                    let mut child_line = json!({
                        "amount_refunded": 0,
                        "base_price": 0,
                        "base_row_total": 0,
                        "created_at": date(created),
                        "discount_amount": 0,
                        "is_qty_decimal": 0,
                        "is_virtual": 0,
                        "item_id": child_item,
                        "name": kp["name"],
                        "order_id": order_id,
                        "original_price": 0,
                        "parent_item_id": l.item_id,
                        "price": 0,
                        "product_id": k,
                        "product_type": "simple",
                        "qty_canceled": canceled_qty,
                        "qty_invoiced": if invoiced { l.qty } else { 0 },
                        "qty_ordered": l.qty,
                        "qty_refunded": l.refunded,
                        "qty_shipped": shipped_qty,
                        "row_total": 0,
                        "sku": kp["sku"],
                        "store_id": store_id,
                        "tax_amount": 0,
                        "updated_at": date(updated),
                        "extension_attributes": {"itemized_taxes": []}
                    });
                    if let Some(w) = &l.weight {
                        child_line["weight"] = w.clone();
                    }
                    child_line["parent_item"] = parent_line;
                    items.push(child_line);
                } else {
                    items.push(line);
                }
            }
            let place = &PLACES[(n * 3 + 1) % PLACES.len()];
            addr_id += 1;
            let mut billing = order_address(
                "billing",
                addr_id,
                order_id,
                (&first, &last),
                &email,
                place,
                customer_id,
            );
            if n % 9 == 5 {
                // A store that made the telephone optional.
                billing["telephone"] = Value::Null;
            }
            let mut shipping_block = json!({
                "total": {
                    "base_shipping_amount": num(base(shipping), 2),
                    "base_shipping_incl_tax": num(base(shipping + shipping_tax), 2),
                    "base_shipping_tax_amount": num(base(shipping_tax), 2),
                    "shipping_amount": num(shipping, decimals),
                    "shipping_incl_tax": num(shipping + shipping_tax, decimals),
                    "shipping_tax_amount": num(shipping_tax, decimals)
                }
            });
            if let Some(m) = method {
                shipping_block["method"] = json!(m.0);
            }
            let mut ship_addr_id = None;
            if !is_virtual {
                addr_id += 1;
                ship_addr_id = Some(addr_id);
                let ship_place = if n % 5 == 2 {
                    &PLACES[(n + 2) % PLACES.len()]
                } else {
                    place
                };
                shipping_block["address"] = order_address(
                    "shipping",
                    addr_id,
                    order_id,
                    (&first, &last),
                    &email,
                    ship_place,
                    customer_id,
                );
            }
            let top_items: Vec<Value> = items.clone();
            let (pay_method, pay_info, pay_keyed) = payment_for(n, grand);
            let mut o = json!({
                "base_currency_code": "USD",
                "base_discount_amount": num(-base(discount_total), 2),
                "base_grand_total": num(base(grand), 2),
                "base_shipping_amount": num(base(shipping), 2),
                "base_shipping_incl_tax": num(base(shipping + shipping_tax), 2),
                "base_shipping_tax_amount": num(base(shipping_tax), 2),
                "base_subtotal": num(base(subtotal), 2),
                "base_subtotal_incl_tax": num(base(subtotal + item_tax), 2),
                "base_tax_amount": num(base(tax_total), 2),
                "base_to_global_rate": 1,
                "base_to_order_rate": rate as f64 / if decimals == 0 { 1.0 } else { 100.0 },
                "billing_address_id": billing["entity_id"],
                "created_at": date(created),
                "customer_email": email,
                "customer_firstname": first,
                "customer_group_id": if guest { 0 } else { 1 },
                "customer_is_guest": i32::from(guest),
                "customer_lastname": last,
                "customer_note_notify": 1,
                "discount_amount": num(-discount_total, decimals),
                "email_sent": 1,
                "entity_id": order_id,
                "global_currency_code": "USD",
                "grand_total": num(grand, decimals),
                "increment_id": format!("{:09}", order_id),
                "is_virtual": i32::from(is_virtual),
                "order_currency_code": cur,
                "protect_code": random_hex(&mut rng, 6),
                "quote_id": order_id + 1000,
                "shipping_amount": num(shipping, decimals),
                "shipping_incl_tax": num(shipping + shipping_tax, decimals),
                "shipping_tax_amount": num(shipping_tax, decimals),
                "state": state,
                "status": status,
                "store_currency_code": "USD",
                "store_id": store_id,
                "store_name": if store_id == 2 { "Main Website\nMain Website Store\nDeutsche Store View" } else { "Main Website\nMain Website Store\nDefault Store View" },
                "subtotal": num(subtotal, decimals),
                "subtotal_incl_tax": num(subtotal + item_tax, decimals),
                "tax_amount": num(tax_total, decimals),
                "total_due": num(if paid { 0 } else { grand }, decimals),
                "total_item_count": picks.len(),
                "total_qty_ordered": total_qty,
                "updated_at": date(updated),
                "weight": num(order_weight, 4),
                "items": items,
                "billing_address": billing,
                "payment": {
                    "account_status": null,
                    "additional_information": pay_info,
                    "amount_ordered": num(grand, decimals),
                    "amount_paid": num(if paid { grand } else { 0 }, decimals),
                    "amount_authorized": num(if state == "payment_review" { grand } else { 0 }, decimals),
                    "base_amount_ordered": num(base(grand), 2),
                    "cc_last4": if pay_method == "braintree" { json!("4242") } else { Value::Null },
                    "entity_id": order_id,
                    "method": pay_method,
                    "parent_id": order_id,
                    "shipping_amount": num(shipping, decimals)
                },
                "status_histories": [],
                "extension_attributes": {
                    "shipping_assignments": [{"shipping": shipping_block, "items": top_items}],
                    "taxes": order_rates.iter().zip(&tax_ids).map(|((r, a), id)| json!({
                        "tax_id": id, "order_id": order_id, "code": r.0, "title": r.1,
                        "percent": num(r.2, 2), "amount": num(*a, decimals),
                        "base_amount": num(base(*a), 2), "base_real_amount": num(base(*a), 2),
                        "priority": 0, "position": 0, "process": 0
                    })).collect::<Vec<_>>(),
                    "additional_itemized_taxes": ship_rate.map(|r| {
                        tax_row_id += 1;
                        vec![json!({
                            "tax_item_id": tax_row_id, "tax_id": tax_id_of(r.0), "tax_code": r.0,
                            "tax_percent": num(r.2, 2), "amount": num(shipping_tax, decimals),
                            "base_amount": num(base(shipping_tax), 2), "real_amount": num(shipping_tax, decimals),
                            "real_base_amount": num(base(shipping_tax), 2), "taxable_item_type": "shipping"
                        })]
                    }).unwrap_or_default()
                }
            });
            if let Some(keyed) = pay_keyed {
                o["extension_attributes"]["payment_additional_info"] = keyed;
            }
            if let Some(cid) = customer_id {
                o["customer_id"] = json!(cid);
            }
            if let Some(m) = method {
                o["shipping_description"] = json!(m.1);
                if m.0 == "instore_pickup" {
                    o["extension_attributes"]["pickup_location_code"] =
                        json!(if cur == "EUR" { "berlin" } else { "default" });
                }
            }
            if coupon || free_order {
                let code = if free_order { "FREEORDER" } else { "SUMMER10" };
                o["coupon_code"] = json!(code);
                o["discount_description"] = json!(code);
            }
            if paid {
                o["total_paid"] = num(grand, decimals);
                o["total_invoiced"] = num(grand, decimals);
                o["base_total_paid"] = num(base(grand), 2);
                o["base_total_invoiced"] = num(base(grand), 2);
                o["subtotal_invoiced"] = num(subtotal, decimals);
                o["tax_invoiced"] = num(tax_total, decimals);
                o["shipping_invoiced"] = num(shipping, decimals);
            }
            if state == "canceled" {
                o["total_canceled"] = num(grand, decimals);
                o["subtotal_canceled"] = num(subtotal, decimals);
            }
            if n % 7 == 3 {
                o["customer_note"] = json!("Bitte beim Nachbarn abgeben — merci !");
            }
            if n % 5 == 1 {
                o["status_histories"] = json!([
                    {"comment": "Captured amount online.", "created_at": date(created + 60), "entity_id": order_id * 10, "entity_name": "invoice", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": order_id, "status": status},
                    {"comment": "Customer asked for gift wrapping 🎁", "created_at": date(created + 120), "entity_id": order_id * 10 + 1, "entity_name": "order", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": order_id, "status": status}
                ]);
            }
            // The invoice of a paid order (free orders are invoiced too, for 0).
            let mut this_invoice = None;
            if paid {
                invoice_id += 1;
                this_invoice = Some(invoice_id);
                let inv_items: Vec<Value> = lines
                    .iter()
                    .enumerate()
                    .map(|(k, l)| {
                        json!({
                            "entity_id": invoice_id * 100 + k as i64, "parent_id": invoice_id,
                            "order_item_id": l.item_id, "product_id": l.product_id,
                            "sku": o["items"].as_array().and_then(|a| a.iter().find(|i| i["item_id"] == l.item_id)).map_or(Value::Null, |i| i["sku"].clone()),
                            "name": self.products[&l.product_id]["name"], "qty": l.qty,
                            "price": num(l.price, decimals), "base_price": num(base(l.price), 2),
                            "price_incl_tax": num(l.price_incl, decimals),
                            "row_total": num(l.row, decimals), "base_row_total": num(base(l.row), 2),
                            "row_total_incl_tax": num(l.row + l.tax(), decimals),
                            "tax_amount": num(l.tax(), decimals), "base_tax_amount": num(base(l.tax()), 2),
                            "discount_amount": num(l.disc, decimals), "base_discount_amount": num(base(l.disc), 2)
                        })
                    })
                    .collect();
                let mut inv = json!({
                    "base_currency_code": "USD",
                    "base_discount_amount": num(-base(discount_total), 2),
                    "base_grand_total": num(base(grand), 2),
                    "base_shipping_amount": num(base(shipping), 2),
                    "base_shipping_incl_tax": num(base(shipping + shipping_tax), 2),
                    "base_shipping_tax_amount": num(base(shipping_tax), 2),
                    "base_subtotal": num(base(subtotal), 2),
                    "base_subtotal_incl_tax": num(base(subtotal + item_tax), 2),
                    "base_tax_amount": num(base(tax_total), 2),
                    "base_to_global_rate": 1,
                    "base_to_order_rate": o["base_to_order_rate"],
                    "billing_address_id": o["billing_address_id"],
                    "can_void_flag": 0,
                    "created_at": date(created + 60),
                    "discount_amount": num(-discount_total, decimals),
                    "email_sent": 1,
                    "entity_id": invoice_id,
                    "global_currency_code": "USD",
                    "grand_total": num(grand, decimals),
                    "increment_id": format!("{:09}", invoice_id),
                    "order_currency_code": cur,
                    "order_id": order_id,
                    "shipping_amount": num(shipping, decimals),
                    "shipping_incl_tax": num(shipping + shipping_tax, decimals),
                    "shipping_tax_amount": num(shipping_tax, decimals),
                    "state": 2,
                    "store_currency_code": "USD",
                    "store_id": store_id,
                    "subtotal": num(subtotal, decimals),
                    "subtotal_incl_tax": num(subtotal + item_tax, decimals),
                    "tax_amount": num(tax_total, decimals),
                    "total_qty": total_qty,
                    "updated_at": date(created + 60),
                    "items": inv_items,
                    "comments": []
                });
                if let Some(a) = ship_addr_id {
                    inv["shipping_address_id"] = json!(a);
                }
                self.invoices.insert(invoice_id, inv);
            }
            // Credit memos: a partial refund is one unit of the first line; a full one is
            // the first line with the shipping, then the other lines in a second memo.
            let memo_groups: Vec<(Vec<usize>, bool)> = match refunded {
                2 if lines.len() > 1 => vec![(vec![0], true), ((1..lines.len()).collect(), false)],
                2 => vec![(vec![0], true)],
                1 => vec![(vec![0], false)],
                _ => Vec::new(),
            };
            let mut refunded_total = 0i64;
            let (mut refunded_sub, mut refunded_tax, mut refunded_disc) = (0i64, 0i64, 0i64);
            for (g, (members, with_shipping)) in memo_groups.iter().enumerate() {
                memo_id += 1;
                let when = updated + 7200 + g as i64 * 1800;
                let mut memo_items = Vec::new();
                let (mut sub, mut tax, mut disc) = (0i64, 0i64, 0i64);
                for (k, l) in lines.iter().enumerate() {
                    let qty = if members.contains(&k) { l.refunded } else { 0 };
                    if qty == 0 && refunded == 2 {
                        continue;
                    }
                    let (r_row, r_disc, r_tax) = l.refunded_part(qty);
                    sub += r_row;
                    tax += r_tax;
                    disc += r_disc;
                    let sku = o["items"]
                        .as_array()
                        .and_then(|a| a.iter().find(|i| i["item_id"] == l.item_id))
                        .map_or(Value::Null, |i| i["sku"].clone());
                    memo_items.push(json!({
                        "entity_id": memo_id * 100 + memo_items.len() as i64, "parent_id": memo_id,
                        "order_item_id": l.item_id, "product_id": l.product_id, "sku": sku,
                        "name": self.products[&l.product_id]["name"], "qty": qty,
                        "base_cost": 0, "price": num(l.price, decimals), "base_price": num(base(l.price), 2),
                        "price_incl_tax": num(l.price_incl, decimals),
                        "row_total": num(r_row, decimals), "base_row_total": num(base(r_row), 2),
                        "row_total_incl_tax": num(r_row + r_tax, decimals),
                        "tax_amount": num(r_tax, decimals), "base_tax_amount": num(base(r_tax), 2),
                        "discount_amount": num(r_disc, decimals), "base_discount_amount": num(base(r_disc), 2)
                    }));
                    if let (Some(k), Some(child_item)) = (l.child, l.child_item_id) {
                        memo_items.push(json!({
                            "entity_id": memo_id * 100 + memo_items.len() as i64, "parent_id": memo_id,
                            "order_item_id": child_item, "product_id": k, "sku": self.products[&k]["sku"],
                            "name": self.products[&k]["name"], "qty": qty, "base_cost": 0,
                            "price": 0, "base_price": 0, "row_total": 0, "base_row_total": 0
                        }));
                    }
                }
                let (m_ship, m_ship_tax) = if *with_shipping {
                    (shipping, shipping_tax)
                } else {
                    (0, 0)
                };
                let total = sub - disc + tax + m_ship + m_ship_tax;
                refunded_total += total;
                refunded_sub += sub;
                refunded_tax += tax + m_ship_tax;
                refunded_disc += disc;
                let comments = match (refunded, g) {
                    (1, _) => vec![
                        json!({"comment": "Damaged in transit: one unit refunded.", "created_at": date(when), "entity_id": memo_id * 10, "is_customer_notified": 1, "is_visible_on_front": 1, "parent_id": memo_id}),
                    ],
                    (_, 0) => vec![
                        json!({"comment": "Returned by the customer.", "created_at": date(when), "entity_id": memo_id * 10, "is_customer_notified": 1, "is_visible_on_front": 0, "parent_id": memo_id}),
                    ],
                    _ => Vec::new(),
                };
                let mut memo = json!({
                    "adjustment": 0, "adjustment_negative": 0, "adjustment_positive": 0,
                    "base_adjustment": 0, "base_adjustment_negative": 0, "base_adjustment_positive": 0,
                    "base_currency_code": "USD",
                    "base_discount_amount": num(-base(disc), 2),
                    "base_grand_total": num(base(total), 2),
                    "base_shipping_amount": num(base(m_ship), 2),
                    "base_shipping_incl_tax": num(base(m_ship + m_ship_tax), 2),
                    "base_shipping_tax_amount": num(base(m_ship_tax), 2),
                    "base_subtotal": num(base(sub), 2),
                    "base_subtotal_incl_tax": num(base(sub + tax), 2),
                    "base_tax_amount": num(base(tax + m_ship_tax), 2),
                    "base_to_global_rate": 1,
                    "base_to_order_rate": o["base_to_order_rate"],
                    "billing_address_id": o["billing_address_id"],
                    "created_at": date(when),
                    "creditmemo_status": 2,
                    "discount_amount": num(-disc, decimals),
                    "email_sent": 1,
                    "entity_id": memo_id,
                    "global_currency_code": "USD",
                    "grand_total": num(total, decimals),
                    "increment_id": format!("{:09}", memo_id),
                    "order_currency_code": cur,
                    "order_id": order_id,
                    "shipping_amount": num(m_ship, decimals),
                    "shipping_incl_tax": num(m_ship + m_ship_tax, decimals),
                    "shipping_tax_amount": num(m_ship_tax, decimals),
                    "state": 2,
                    "store_currency_code": "USD",
                    "store_id": store_id,
                    "subtotal": num(sub, decimals),
                    "subtotal_incl_tax": num(sub + tax, decimals),
                    "tax_amount": num(tax + m_ship_tax, decimals),
                    "updated_at": date(when),
                    "items": memo_items,
                    "comments": comments
                });
                if let Some(i) = this_invoice {
                    memo["invoice_id"] = json!(i);
                }
                if let Some(a) = ship_addr_id {
                    memo["shipping_address_id"] = json!(a);
                }
                self.credit_memos.insert(memo_id, memo);
            }
            if refunded_total > 0 {
                o["total_refunded"] = num(refunded_total, decimals);
                o["total_offline_refunded"] = num(refunded_total, decimals);
                o["base_total_refunded"] = num(base(refunded_total), 2);
                o["subtotal_refunded"] = num(refunded_sub, decimals);
                o["tax_refunded"] = num(refunded_tax, decimals);
                o["discount_refunded"] = num(refunded_disc, decimals);
                if refunded == 2 {
                    o["shipping_refunded"] = num(shipping, decimals);
                }
                o["payment"]["amount_refunded"] = num(refunded_total, decimals);
            }
            // Shipments of what the seed shipped.
            if shipped > 0 && !is_virtual {
                shipment_id += 1;
                let ship_items: Vec<Value> = o["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|i| {
                        i.get("parent_item_id").is_none()
                            && i["qty_shipped"].as_i64().unwrap_or(0) > 0
                    })
                    .map(|i| {
                        let mut si = json!({
                            "entity_id": shipment_id * 100 + i["item_id"].as_i64().unwrap_or(0),
                            "name": i["name"], "parent_id": shipment_id, "price": i["price"],
                            "product_id": i["product_id"], "sku": i["sku"],
                            "order_item_id": i["item_id"], "qty": i["qty_shipped"]
                        });
                        if let Some(w) = i.get("weight") {
                            si["weight"] = w.clone();
                        }
                        si
                    })
                    .collect();
                let n_tracks = match n % 3 {
                    0 => 1,
                    1 => 2,
                    _ => {
                        if shipped == 1 {
                            1
                        } else {
                            0
                        }
                    }
                };
                let carriers = [
                    ("ups", "United Parcel Service", "1Z999AA1012345678"),
                    ("dhl", "DHL", "JD014600003828527384"),
                    ("custom", "La Poste", "6A12345678901"),
                ];
                let tracks: Vec<Value> = (0..n_tracks)
                    .map(|t| {
                        track_id += 1;
                        let (code, title, number) = carriers[(n + t) % carriers.len()];
                        json!({
                            "order_id": order_id, "created_at": date(updated + 3600), "entity_id": track_id,
                            "parent_id": shipment_id, "updated_at": date(updated + 3600), "weight": null, "qty": null,
                            "description": null, "track_number": format!("{number}{t}"), "title": title, "carrier_code": code
                        })
                    })
                    .collect();
                let total_qty: i64 = ship_items.iter().filter_map(|i| i["qty"].as_i64()).sum();
                let mut sh = json!({
                    "billing_address_id": o["billing_address_id"],
                    "created_at": date(updated + 3600),
                    "email_sent": 1,
                    "entity_id": shipment_id,
                    "increment_id": format!("{:09}", shipment_id),
                    "order_id": order_id,
                    "packages": [],
                    "shipping_address_id": ship_addr_id,
                    "store_id": store_id,
                    "total_qty": total_qty,
                    "updated_at": date(updated + 3600),
                    "items": ship_items,
                    "tracks": tracks,
                    "comments": []
                });
                if let Some(cid) = customer_id {
                    sh["customer_id"] = json!(cid);
                }
                self.shipments.insert(shipment_id, sh);
            }
            self.orders.insert(order_id, o);
        }
        self.next_id = self.next_id.max(
            item_id
                .max(shipment_id)
                .max(track_id)
                .max(memo_id)
                .max(invoice_id)
                + 1,
        );
    }
}

/// A tax rate: (code, title, percent in basis points: 725 is 7.25 %).
type Rate = (&'static str, &'static str, i64);
/// California's state rate and a district rate on top: two rates on one line.
const US_RATES: [Rate; 2] = [
    ("US-CA-*-Rate 1", "CA State Tax", 725),
    ("US-CA-LA-District", "Los Angeles County District Tax", 225),
];
const DE_STANDARD: Rate = ("DE-MwSt-19", "MwSt. 19%", 1900);
const DE_REDUCED: Rate = ("DE-MwSt-7", "MwSt. 7%", 700);
const UK_VAT: Rate = ("UK-VAT-20", "VAT", 2000);
const JP_JCT: Rate = ("JP-JCT-10", "消費税", 1000);

/// The rates of a line: US orders every other order (both Californian rates), German ones
/// 19 % (7 % for the tote and the candle), British 20 %, Japanese 10 %.
fn goods_rates(cur: &str, n: usize, sku: &str) -> Vec<Rate> {
    match cur {
        "USD" if n.is_multiple_of(2) => US_RATES.to_vec(),
        "EUR" if sku.starts_with("TKT") || sku.starts_with("CBC") => vec![DE_REDUCED],
        "EUR" => vec![DE_STANDARD],
        "GBP" => vec![UK_VAT],
        "JPY" => vec![JP_JCT],
        _ => Vec::new(),
    }
}

/// Shipping is taxed in Germany and the UK.
fn shipping_rate(cur: &str) -> Option<Rate> {
    match cur {
        "EUR" => Some(DE_STANDARD),
        "GBP" => Some(UK_VAT),
        _ => None,
    }
}

/// `x` × `bp` / 10000, rounded half up.
fn pct(x: i64, bp: i64) -> i64 {
    (x * bp + 5000).div_euclid(10_000)
}

/// (method code, `shipping_description`, price in USD cents).
const SHIPPING_METHODS: [(&str, &str, i64); 4] = [
    ("flatrate_flatrate", "Flat Rate - Fixed", 500),
    ("tablerate_bestway", "Best Way - Table Rate", 800),
    ("freeshipping_freeshipping", "Free Shipping - Free", 0),
    (
        "instore_pickup",
        "In-Store Pickup Delivery - Pick in Store",
        0,
    ),
];

/// The payment of the `n`th order: (method, `additional_information`, the keyed
/// `payment_additional_info` Magento adds for some). Magento's offline methods keep their
/// title first; a free order is paid with `free`.
fn payment_for(n: usize, grand: i64) -> (&'static str, Value, Option<Value>) {
    if grand == 0 {
        return ("free", json!(["No Payment Information Required"]), None);
    }
    match n % 4 {
        0 => ("checkmo", json!(["Check / Money order"]), None),
        1 => ("banktransfer", json!(["Bank Transfer Payment", ""]), None),
        2 => ("cashondelivery", json!(["Cash On Delivery", ""]), None),
        _ => (
            "braintree",
            json!(["fake-valid-nonce", "Visa", "4242"]),
            Some(json!([
                {"key": "payment_method_nonce", "value": "fake-valid-nonce"},
                {"key": "cc_type", "value": "Visa"},
                {"key": "method_title", "value": "Credit Card (Braintree)"}
            ])),
        ),
    }
}

/// One order line as the seed computes it (amounts in the order currency's minor unit).
struct SeedLine {
    item_id: i64,
    child_item_id: Option<i64>,
    product_id: i64,
    child: Option<i64>,
    qty: i64,
    price: i64,
    price_incl: i64,
    row: i64,
    disc: i64,
    taxes: Vec<(Rate, i64)>,
    virtual_line: bool,
    weight: Option<Value>,
    refunded: i64,
}

impl SeedLine {
    fn tax(&self) -> i64 {
        self.taxes.iter().map(|(_, a)| a).sum()
    }

    /// (row, discount, tax) of `qty` of this line's units.
    fn refunded_part(&self, qty: i64) -> (i64, i64, i64) {
        if qty == self.qty {
            return (self.row, self.disc, self.tax());
        }
        (
            self.price * qty,
            self.disc * qty / self.qty,
            self.tax() * qty / self.qty,
        )
    }
}

fn parent_id_of(p: &Value) -> i64 {
    p["id"].as_i64().unwrap_or_default()
}

/// A name with a `(renamed N)` suffix for the `N`th write, replacing an earlier one.
fn renamed(s: &str, n: i64) -> String {
    let stem = match s.rfind(" (renamed ") {
        Some(i) if s.ends_with(')') => &s[..i],
        _ => s,
    };
    format!("{stem} (renamed {n})")
}

/// The largest integer at `key` anywhere in `v`.
fn max_at(v: &Value, key: &str) -> i64 {
    match v {
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| {
                let own = if k == key { x.as_i64().unwrap_or(0) } else { 0 };
                own.max(max_at(x, key))
            })
            .max()
            .unwrap_or(0),
        Value::Array(a) => a.iter().map(|x| max_at(x, key)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Renumbers a copied order: item ids through `items`, the order's id in `order_id` and
/// `parent_id`, and every `created_at`/`updated_at` set to `when`.
fn renumber(v: &mut Value, old_order: i64, new_order: i64, items: &BTreeMap<i64, i64>, when: &str) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                match k.as_str() {
                    "item_id" | "parent_item_id" => {
                        if let Some(n) = x.as_i64().and_then(|i| items.get(&i)) {
                            *x = json!(n);
                        }
                    }
                    "order_id" | "parent_id" if x.as_i64() == Some(old_order) => {
                        *x = json!(new_order)
                    }
                    "created_at" | "updated_at" if x.is_string() => *x = json!(when),
                    _ => renumber(x, old_order, new_order, items, when),
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                renumber(x, old_order, new_order, items, when);
            }
        }
        _ => {}
    }
}

/// Changes the shop makes by itself (`POST /__sandbox/simulate`). Each answers the
/// object's id as the connector uses it (entity ids); `None`: no such object.
impl Db {
    /// A new order placed at the storefront (`new`/`pending`, nothing shipped or
    /// invoiced): a copy of the newest such seeded order with fresh ids and dates.
    pub fn simulate_order_created(&mut self) -> Option<i64> {
        let shipped: std::collections::BTreeSet<i64> = self
            .shipments
            .values()
            .filter_map(|s| s["order_id"].as_i64())
            .collect();
        let template = self
            .orders
            .values()
            .rev()
            .find(|o| {
                o["state"] == "new"
                    && !o["entity_id"]
                        .as_i64()
                        .is_some_and(|i| shipped.contains(&i))
            })?
            .clone();
        let old = template["entity_id"].as_i64()?;
        let now = self.now();
        let when = date(now);
        let id = 1 + self.orders.keys().next_back().copied().unwrap_or(0);
        let all = Value::Array(self.orders.values().cloned().collect());
        let mut next_item = max_at(&all, "item_id");
        let mut next_addr = self
            .orders
            .values()
            .flat_map(|o| {
                [
                    o["billing_address"]["entity_id"].as_i64(),
                    o.pointer(
                        "/extension_attributes/shipping_assignments/0/shipping/address/entity_id",
                    )
                    .and_then(Value::as_i64),
                ]
            })
            .flatten()
            .max()
            .unwrap_or(0);
        let mut items = BTreeMap::new();
        for i in template["items"].as_array().into_iter().flatten() {
            if let Some(old_item) = i["item_id"].as_i64() {
                next_item += 1;
                items.insert(old_item, next_item);
            }
        }
        let mut o = template;
        renumber(&mut o, old, id, &items, &when);
        o["entity_id"] = json!(id);
        o["increment_id"] = json!(format!("{id:09}"));
        o["quote_id"] = json!(id + 1000);
        o["status_histories"] = json!([]);
        o["payment"]["entity_id"] = json!(id);
        next_addr += 1;
        o["billing_address"]["entity_id"] = json!(next_addr);
        o["billing_address_id"] = json!(next_addr);
        if let Some(a) =
            o.pointer_mut("/extension_attributes/shipping_assignments/0/shipping/address")
        {
            next_addr += 1;
            a["entity_id"] = json!(next_addr);
        }
        self.orders.insert(id, o);
        Some(id)
    }

    /// A comment added to the order in the admin (its status history).
    pub fn simulate_order_updated(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.orders.keys().next_back().copied())?;
        if !self.orders.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes;
        let o = self.orders.get_mut(&id)?;
        let status = o["status"].clone();
        let entry = json!({
            "comment": format!("Changed in the admin (edit {n})."), "created_at": date(now),
            "entity_id": id * 1000 + n, "entity_name": "order", "is_customer_notified": 0,
            "is_visible_on_front": 0, "parent_id": id, "status": status,
        });
        match o["status_histories"].as_array_mut() {
            Some(list) => list.insert(0, entry),
            None => o["status_histories"] = json!([entry]),
        }
        o["updated_at"] = json!(date(now));
        Some(id)
    }

    /// The newest product the catalogue lists on its own (not a configurable's child).
    fn newest_listed_product(&self) -> Option<i64> {
        self.products
            .iter()
            .rev()
            .find(|(_, p)| p["visibility"] != 1)
            .map(|(id, _)| *id)
    }

    /// A new enabled simple product, in stock at the default source.
    pub fn simulate_product_created(&mut self) -> Option<i64> {
        let now = self.now();
        let id = self.next_id();
        let sku = format!("SIM-{id}");
        let name = format!("Simulated Product {}", self.writes);
        let mut p = product_json(id, &sku, &name, 1900, "simple", 4, 1, now);
        p["extension_attributes"]["stock_item"] = stock_item(id, id, 10, true);
        self.source_items.insert(
            (sku.clone(), "default".into()),
            json!({"sku": sku, "source_code": "default", "quantity": 10, "status": 1}),
        );
        self.products.insert(id, p);
        Some(id)
    }

    /// The product renamed in the admin.
    pub fn simulate_product_updated(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.newest_listed_product())?;
        if !self.products.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes;
        let p = self.products.get_mut(&id)?;
        p["name"] = json!(renamed(p["name"].as_str().unwrap_or("Product"), n));
        p["updated_at"] = json!(date(now));
        Some(id)
    }

    /// The product deleted in the admin (a configurable one with its children).
    pub fn simulate_product_deleted(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.newest_listed_product())?;
        if !self.products.contains_key(&id) {
            return None;
        }
        let mut gone = self.children(id);
        gone.push(id);
        for p in gone {
            if let Some(p) = self.products.remove(&p) {
                let sku = p["sku"].as_str().unwrap_or("").to_owned();
                self.source_items.retain(|(s, _), _| *s != sku);
            }
        }
        self.now();
        Some(id)
    }

    /// A customer account created at the storefront.
    pub fn simulate_customer_created(&mut self) -> Option<i64> {
        let now = self.now();
        let id = 1 + self.customers.keys().next_back().copied().unwrap_or(0);
        let (first, last, stem) = NAMES[(id as usize) % NAMES.len()];
        self.customers.insert(
            id,
            json!({
                "id": id, "group_id": 1, "created_at": date(now), "updated_at": date(now),
                "created_in": "Default Store View", "email": format!("{stem}.{id}@example.com"),
                "firstname": first, "lastname": last, "store_id": 1, "website_id": 1,
                "addresses": [], "disable_auto_group_change": 0,
                "extension_attributes": {"is_subscribed": false}
            }),
        );
        Some(id)
    }

    /// The customer's first name changed in the admin.
    pub fn simulate_customer_updated(&mut self, id: Option<i64>) -> Option<i64> {
        let id = id.or_else(|| self.customers.keys().next_back().copied())?;
        if !self.customers.contains_key(&id) {
            return None;
        }
        let now = self.now();
        let n = self.writes;
        let c = self.customers.get_mut(&id)?;
        c["firstname"] = json!(renamed(c["firstname"].as_str().unwrap_or("Customer"), n));
        c["updated_at"] = json!(date(now));
        Some(id)
    }
}

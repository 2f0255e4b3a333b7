//! Deterministic seeded data with the variety a mapping needs: every order state (new,
//! pending_payment, processing, holded, payment_review/fraud, complete, closed = refunded,
//! canceled), guest orders, partially shipped and partially refunded orders, virtual
//! orders without a shipping address, configurable products (Size/Color children) ordered
//! as parent + child lines, several order currencies (USD base, EUR, GBP, JPY), non-ASCII
//! names (Zoë Ångström, 東京), missing optional fields (no telephone, no description, no
//! images), disabled products, nested categories under Magento's two roots, customers with
//! and without addresses, shipments with zero, one or two tracks.
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

/// (code, decimals, units per 1 USD in hundredths, store id, tax percent).
const CURRENCIES: [(&str, u32, i64, i64, i64); 4] = [
    ("USD", 2, 100, 1, 0),
    ("EUR", 2, 92, 2, 19),
    ("GBP", 2, 79, 1, 20),
    ("JPY", 0, 15_000, 1, 10),
];

/// (name, sku stem, price in USD cents, category ids, description).
type CatalogEntry = (
    &'static str,
    &'static str,
    i64,
    &'static [i64],
    Option<&'static str>,
);
const CATALOG: [CatalogEntry; 12] = [
    (
        "Joust Duffle Bag",
        "MB01",
        3400,
        &[3, 4],
        Some("<p>The sporty Joust Duffle Bag can't be beat.</p>"),
    ),
    (
        "Zoë Ångström Tee",
        "ZAT",
        2200,
        &[5, 6],
        Some("<p>Soft organic cotton, cut by Zoë Ångström.</p>"),
    ),
    (
        "東京 Tote",
        "TKT",
        2900,
        &[3, 4, 8],
        Some("<p>東京で作られたトートバッグ。</p>"),
    ),
    ("Strive Shoulder Pack", "MB04", 3200, &[3, 4], None),
    (
        "Aero Daily Fitness Pants",
        "MP01",
        4500,
        &[5, 7],
        Some("<p>Light and breathable.</p>"),
    ),
    (
        "Crème Brûlée Candle",
        "CBC",
        1550,
        &[8],
        Some("<p>Vanilla, caramel, a hint of smoke.</p>"),
    ),
    // Luma's own catalogue stores names with entities (`LumaTech&trade;`): Magento keeps
    // text as entered and shows it decoded.
    ("Sprite LumaTech&trade; Yoga Strap", "YS6", 1400, &[3], None),
    (
        "Ingrid Hoodie",
        "WH01",
        5400,
        &[5, 6],
        Some("<p>Warm, and then some.</p>"),
    ),
    (
        "Gift Card (e-mail)",
        "GC-E",
        5000,
        &[9],
        Some("<p>Delivered by e-mail: nothing to ship.</p>"),
    ),
    (
        "Olympic Shoulder Bag",
        "MB02",
        4300,
        &[3, 4],
        Some("<p>Everyday carry.</p>"),
    ),
    ("Søren Stainless Bottle", "SSB", 1900, &[3], None),
    (
        "Łódź Linen Shorts",
        "LLS",
        3100,
        &[5, 7],
        Some("<p>Linen, from Łódź.</p>"),
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
        "weight": 1,
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
            let (name, stem, cents, cat_ids, desc) = CATALOG[n % CATALOG.len()];
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
            let configurable = n % 4 == 1;
            let virtual_ = stem == "GC-E";
            let status = if n % 7 == 6 { 2 } else { 1 };
            let type_id = if configurable {
                "configurable"
            } else if virtual_ {
                "virtual"
            } else {
                "simple"
            };
            let mut p = product_json(id, &sku, &name, cents, type_id, 4, status, created);
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
            let qty = if virtual_ { 0 } else { rng.gen_range(0..120) };
            p["extension_attributes"]["stock_item"] = stock_item(id, id, qty, !virtual_);
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
                        let cq = if ci == 0 && si == 0 {
                            0
                        } else {
                            rng.gen_range(1..40)
                        };
                        c["extension_attributes"]["stock_item"] = stock_item(id, id, cq, true);
                        c["extension_attributes"]["category_links"] =
                            p["extension_attributes"]["category_links"].clone();
                        set_attribute(&mut c, "color", json!(cv.to_string()));
                        set_attribute(&mut c, "size", json!(sv.to_string()));
                        self.source_items.insert(
                            (csku.clone(), "default".into()),
                            json!({"sku": csku, "source_code": "default", "quantity": cq, "status": i32::from(cq > 0)}),
                        );
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
            } else if !virtual_ {
                self.source_items.insert(
                    (sku.clone(), "default".into()),
                    json!({"sku": sku, "source_code": "default", "quantity": qty, "status": i32::from(qty > 0)}),
                );
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
        for n in 0..count {
            let order_id = n as i64 + 1;
            let (state, status, shipped, refunded) = KINDS[n % KINDS.len()];
            let (cur, decimals, rate, store_id, tax_pct) = CURRENCIES[(n / 3) % CURRENCIES.len()];
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
            // Lines: one virtual-only order in ten; else 1..=3 physical lines.
            let virtual_only = n % 10 == 8 && refunded == 0;
            let gift = self
                .products
                .iter()
                .find(|(_, p)| p["type_id"] == "virtual" && p["status"] == 1)
                .map(|(id, _)| *id);
            let mut picks: Vec<(i64, bool)> = Vec::new();
            if virtual_only && gift.is_some() {
                picks.push((gift.unwrap_or_default(), false));
            } else {
                let lines = rng.gen_range(1..=3usize);
                for _ in 0..lines {
                    let p = *pick(&mut rng, &orderable);
                    if !picks.iter().any(|x| x.0 == p.0)
                        && self.products[&p.0]["type_id"] != "virtual"
                    {
                        picks.push(p);
                    }
                }
                if picks.is_empty() {
                    if let Some(p) = orderable
                        .iter()
                        .find(|p| self.products[&p.0]["type_id"] != "virtual")
                    {
                        picks.push(*p);
                    }
                }
            }
            let is_virtual = virtual_only && gift.is_some();
            let mut items = Vec::new();
            let mut subtotal = 0i64;
            let mut tax_total = 0i64;
            let mut discount_total = 0i64;
            let coupon = n % 6 == 2;
            let mut total_qty = 0i64;
            for (pid, configurable) in &picks {
                let parent = &self.products[pid];
                let qty = rng.gen_range(1..=3i64);
                total_qty += qty;
                let (child, price_usd) = if *configurable {
                    let kids = self.children(*pid);
                    let k = *pick(&mut rng, &kids);
                    let kp = &self.products[&k];
                    (Some(k), minor_of(&kp["price"], 2))
                } else {
                    (None, minor_of(&parent["price"], 2))
                };
                let price = price_usd * rate / 100 / if decimals == 0 { 100 } else { 1 };
                let row = price * qty;
                let disc = if coupon { row / 10 } else { 0 };
                let tax = (row - disc) * tax_pct / 100;
                subtotal += row;
                tax_total += tax;
                discount_total += disc;
                item_id += 1;
                let shipped_qty = match shipped {
                    2 => qty,
                    1 if items.is_empty() => qty.min(1),
                    _ => 0,
                };
                let canceled_qty = if state == "canceled" { qty } else { 0 };
                let refunded_qty = match refunded {
                    2 => qty,
                    1 if items.is_empty() => 1,
                    _ => 0,
                };
                let invoiced = matches!(state, "processing" | "complete" | "closed");
                let sku = match child {
                    Some(k) => self.products[&k]["sku"].clone(),
                    None => parent["sku"].clone(),
                };
                let virtual_line = parent["type_id"] == "virtual";
                let mut line = json!({
                    "amount_refunded": num(if refunded_qty > 0 { price * refunded_qty } else { 0 }, decimals),
                    "base_price": num(price_usd, 2),
                    "base_row_total": num(price_usd * qty, 2),
                    "created_at": date(created),
                    "discount_amount": num(disc, decimals),
                    "discount_percent": if coupon { 10 } else { 0 },
                    "is_qty_decimal": 0,
                    "is_virtual": i32::from(virtual_line),
                    "item_id": item_id,
                    "name": parent["name"],
                    "no_discount": 0,
                    "order_id": order_id,
                    "original_price": num(price, decimals),
                    "price": num(price, decimals),
                    "price_incl_tax": num(price + price * tax_pct / 100, decimals),
                    "product_id": pid,
                    "product_type": parent["type_id"],
                    "qty_canceled": canceled_qty,
                    "qty_invoiced": if invoiced { qty } else { 0 },
                    "qty_ordered": qty,
                    "qty_refunded": refunded_qty,
                    "qty_shipped": shipped_qty,
                    "row_invoiced": num(if invoiced { row } else { 0 }, decimals),
                    "row_total": num(row, decimals),
                    "row_total_incl_tax": num(row + tax, decimals),
                    "sku": sku,
                    "store_id": store_id,
                    "tax_amount": num(tax, decimals),
                    "tax_percent": tax_pct,
                    "updated_at": date(updated),
                    "weight": 1
                });
                if let Some(k) = child {
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
                    item_id += 1;
                    let mut child_line = json!({
                        "amount_refunded": 0,
                        "base_price": 0,
                        "base_row_total": 0,
                        "created_at": date(created),
                        "discount_amount": 0,
                        "is_qty_decimal": 0,
                        "is_virtual": 0,
                        "item_id": item_id,
                        "name": kp["name"],
                        "order_id": order_id,
                        "original_price": 0,
                        "parent_item_id": item_id - 1,
                        "price": 0,
                        "product_id": k,
                        "product_type": "simple",
                        "qty_canceled": canceled_qty,
                        "qty_invoiced": if invoiced { qty } else { 0 },
                        "qty_ordered": qty,
                        "qty_refunded": refunded_qty,
                        "qty_shipped": shipped_qty,
                        "row_total": 0,
                        "sku": kp["sku"],
                        "store_id": store_id,
                        "tax_amount": 0,
                        "updated_at": date(updated),
                        "weight": 1
                    });
                    child_line["parent_item"] = parent_line;
                    items.push(child_line);
                } else {
                    items.push(line);
                }
            }
            let shipping = if is_virtual {
                0
            } else {
                500 * rate / 100 / if decimals == 0 { 100 } else { 1 }
            };
            let grand = subtotal + shipping + tax_total - discount_total;
            let paid = matches!(state, "processing" | "complete" | "closed");
            let refunded_amount = match refunded {
                2 => grand,
                1 => items
                    .first()
                    .map(|l| minor_of(&l["price"], decimals))
                    .unwrap_or(0),
                _ => 0,
            };
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
                "method": if is_virtual { Value::Null } else { json!("flatrate_flatrate") },
                "total": {
                    "base_shipping_amount": num(500, 2),
                    "shipping_amount": num(shipping, decimals),
                    "shipping_incl_tax": num(shipping, decimals),
                    "shipping_tax_amount": 0
                }
            });
            if is_virtual {
                if let Some(o) = shipping_block.as_object_mut() {
                    o.remove("method");
                }
            } else {
                addr_id += 1;
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
            let base_grand = grand * 100 / rate * if decimals == 0 { 100 } else { 1 };
            let mut o = json!({
                "base_currency_code": "USD",
                "base_discount_amount": num(-(discount_total * 100 / rate), 2),
                "base_grand_total": num(base_grand, 2),
                "base_shipping_amount": num(if is_virtual { 0 } else { 500 }, 2),
                "base_subtotal": num(subtotal * 100 / rate * if decimals == 0 { 100 } else { 1 }, 2),
                "base_tax_amount": num(tax_total * 100 / rate * if decimals == 0 { 100 } else { 1 }, 2),
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
                "shipping_incl_tax": num(shipping, decimals),
                "shipping_tax_amount": 0,
                "state": state,
                "status": status,
                "store_currency_code": "USD",
                "store_id": store_id,
                "store_name": if store_id == 2 { "Main Website\nMain Website Store\nDeutsche Store View" } else { "Main Website\nMain Website Store\nDefault Store View" },
                "subtotal": num(subtotal, decimals),
                "subtotal_incl_tax": num(subtotal + tax_total, decimals),
                "tax_amount": num(tax_total, decimals),
                "total_due": num(if paid { 0 } else { grand }, decimals),
                "total_item_count": picks.len(),
                "total_qty_ordered": total_qty,
                "updated_at": date(updated),
                "weight": if is_virtual { 0 } else { total_qty },
                "items": items,
                "billing_address": billing,
                "payment": {
                    "account_status": null,
                    "additional_information": [if n % 2 == 0 { "Check / Money order" } else { "Credit Card" }],
                    "amount_ordered": num(grand, decimals),
                    "amount_paid": num(if paid { grand } else { 0 }, decimals),
                    "amount_authorized": num(if state == "payment_review" { grand } else { 0 }, decimals),
                    "base_amount_ordered": num(base_grand, 2),
                    "cc_last4": if n % 2 == 0 { Value::Null } else { json!("4242") },
                    "entity_id": order_id,
                    "method": if n % 2 == 0 { "checkmo" } else { "braintree" },
                    "parent_id": order_id,
                    "shipping_amount": num(shipping, decimals)
                },
                "status_histories": [],
                "extension_attributes": {
                    "shipping_assignments": [{"shipping": shipping_block, "items": top_items}]
                }
            });
            if let Some(cid) = customer_id {
                o["customer_id"] = json!(cid);
            }
            if !is_virtual {
                o["shipping_description"] = json!("Flat Rate - Fixed");
            }
            if coupon {
                o["coupon_code"] = json!("SUMMER10");
                o["discount_description"] = json!("SUMMER10");
            }
            if paid {
                o["total_paid"] = num(grand, decimals);
                o["total_invoiced"] = num(grand, decimals);
                o["base_total_paid"] = num(base_grand, 2);
            }
            if refunded_amount > 0 {
                o["total_refunded"] = num(refunded_amount, decimals);
                o["total_offline_refunded"] = num(refunded_amount, decimals);
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
                        json!({
                            "entity_id": shipment_id * 100 + i["item_id"].as_i64().unwrap_or(0),
                            "name": i["name"], "parent_id": shipment_id, "price": i["price"],
                            "product_id": i["product_id"], "sku": i["sku"], "weight": 1,
                            "order_item_id": i["item_id"], "qty": i["qty_shipped"]
                        })
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
                    "shipping_address_id": addr_id,
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
        self.next_id = self.next_id.max(item_id.max(shipment_id).max(track_id) + 1);
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

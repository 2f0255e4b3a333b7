//! Deterministic seeded data with the variety a mapping needs: every order status, refunds
//! (full and partial), guest orders, missing optional fields, non-ASCII names, several
//! currencies (JPY with no decimals), variable products with options, drafts and private
//! products, nested categories, customers with and without addresses.

use std::collections::BTreeMap;

use cartgate_connector::sandbox::{pick, random_hex, seeded_rng, SandboxOptions, SANDBOX_EPOCH};
use rand::Rng;
use serde_json::{json, Value};

pub struct Db {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub currency: String,
    pub orders: BTreeMap<i64, Value>,
    pub products: BTreeMap<i64, Value>,
    pub variations: BTreeMap<i64, Value>,
    pub customers: BTreeMap<i64, Value>,
    pub categories: BTreeMap<i64, Value>,
    pub notes: BTreeMap<i64, Vec<Value>>,
    pub trackings: BTreeMap<i64, Vec<Value>>,
    next_id: i64,
    writes: i64,
}

const FIRST: [&str; 12] = [
    "Zoë", "José", "渡辺", "Ingrid", "Amara", "Ólafur", "Chen", "Fatima", "Liam", "Søren", "Aiko",
    "Jean-Luc",
];
const LAST: [&str; 12] = [
    "Ångström",
    "Müller",
    "健",
    "Nilsson",
    "Okafor",
    "Jónsson",
    "Wei",
    "Al-Sayed",
    "O'Brien",
    "Kierkegaard",
    "Tanaka",
    "Picard",
];
const CITIES: [(&str, &str, &str, &str); 5] = [
    ("Berlin", "BE", "10115", "DE"),
    ("San Francisco", "CA", "94103", "US"),
    ("London", "", "SW1A 1AA", "GB"),
    ("Tōkyō", "13", "100-0001", "JP"),
    ("Paris", "", "75001", "FR"),
];

fn ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

fn money(cents: i64, decimals: u32) -> String {
    if decimals == 0 {
        format!("{}", cents / 100)
    } else {
        format!("{}.{:02}", cents / 100, cents % 100)
    }
}

fn address(
    first: &str,
    last: &str,
    company: &str,
    city: (&str, &str, &str, &str),
    email: Option<&str>,
    phone: &str,
) -> Value {
    let mut a = json!({
        "first_name": first, "last_name": last, "company": company,
        "address_1": "969 Market", "address_2": "", "city": city.0, "state": city.1,
        "postcode": city.2, "country": city.3,
    });
    if let Some(e) = email {
        a["email"] = json!(e);
        a["phone"] = json!(phone);
    }
    a
}

fn empty_address(with_contact: bool) -> Value {
    let mut a = json!({"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "", "state": "", "postcode": "", "country": ""});
    if with_contact {
        a["email"] = json!("");
        a["phone"] = json!("");
    }
    a
}

pub fn blank_product(id: i64, base: &str, now: &str) -> Value {
    json!({
        "id": id, "name": "", "slug": format!("product-{id}"), "permalink": format!("{base}/product/product-{id}/"),
        "date_created": now, "date_created_gmt": now, "date_modified": now, "date_modified_gmt": now,
        "type": "simple", "status": "draft", "featured": false, "catalog_visibility": "visible",
        "description": "", "short_description": "", "sku": "", "price": "", "regular_price": "", "sale_price": "",
        "date_on_sale_from": null, "date_on_sale_from_gmt": null, "date_on_sale_to": null, "date_on_sale_to_gmt": null,
        "price_html": "", "on_sale": false, "purchasable": true, "total_sales": 0, "virtual": false, "downloadable": false,
        "downloads": [], "download_limit": -1, "download_expiry": -1, "external_url": "", "button_text": "",
        "tax_status": "taxable", "tax_class": "", "manage_stock": false, "stock_quantity": null, "stock_status": "instock",
        "backorders": "no", "backorders_allowed": false, "backordered": false, "sold_individually": false,
        "weight": "", "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": true,
        "shipping_taxable": true, "shipping_class": "", "shipping_class_id": 0, "reviews_allowed": true,
        "average_rating": "0.00", "rating_count": 0, "related_ids": [], "upsell_ids": [], "cross_sell_ids": [],
        "parent_id": 0, "purchase_note": "", "categories": [], "tags": [], "images": [], "attributes": [],
        "default_attributes": [], "variations": [], "grouped_products": [], "menu_order": 0, "meta_data": [],
        "_links": {"self": [{"href": format!("{base}/wp-json/wc/v3/products/{id}")}], "collection": [{"href": format!("{base}/wp-json/wc/v3/products")}]}
    })
}

impl Db {
    pub fn now(&mut self) -> String {
        // A clock that moves forward on every write, from a fixed epoch: deterministic.
        self.writes += 1;
        ts(SANDBOX_EPOCH + self.writes)
    }

    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn seed(opts: &SandboxOptions) -> Db {
        let mut rng = seeded_rng(opts.seed, "woocommerce");
        let base = "http://example.test";
        let mut db = Db {
            consumer_key: format!("ck_{}", random_hex(&mut rng, 40)),
            consumer_secret: format!("cs_{}", random_hex(&mut rng, 40)),
            currency: "EUR".into(),
            orders: BTreeMap::new(),
            products: BTreeMap::new(),
            variations: BTreeMap::new(),
            customers: BTreeMap::new(),
            categories: BTreeMap::new(),
            notes: BTreeMap::new(),
            trackings: BTreeMap::new(),
            next_id: 5000,
            writes: 0,
        };
        let two_years = 2 * 365 * 86_400;

        // Categories: three roots and children.
        let cats = [
            (9, "Clothing", 0, "Everything to wear"),
            (10, "Hoodies", 9, ""),
            (11, "T-shirts", 9, ""),
            (12, "Music", 0, ""),
            (13, "Vinyl", 12, "Records, 12 inch"),
            (14, "Accessoires & Küche", 0, ""),
        ];
        for (id, name, parent, desc) in cats {
            db.categories.insert(id, json!({
                "id": id, "name": name, "slug": name.to_lowercase().replace(' ', "-"), "parent": parent,
                "description": desc, "display": "default", "image": null, "menu_order": 0, "count": 0,
                "_links": {"self": [{"href": format!("{base}/wp-json/wc/v3/products/categories/{id}")}]}
            }));
        }
        let cat_ids: Vec<i64> = db.categories.keys().copied().collect();

        // Customers.
        for i in 0..opts.customers {
            let id = 100 + i as i64;
            let (f, l) = (FIRST[i % FIRST.len()], LAST[(i * 5 + 1) % LAST.len()]);
            let email = format!(
                "{}.{}{}@example.com",
                f.to_lowercase()
                    .replace(['ë', 'é', 'ó', 'ø'], "o")
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>(),
                "cust",
                id
            );
            let created = SANDBOX_EPOCH - rng.gen_range(0..two_years);
            let city = *pick(&mut rng, &CITIES);
            let has_address = i % 4 != 3;
            let billing = if has_address {
                address(
                    f,
                    l,
                    if i % 3 == 0 { "Acme GmbH" } else { "" },
                    city,
                    Some(&email),
                    if i % 2 == 0 { "+49 30 1234567" } else { "" },
                )
            } else {
                empty_address(true)
            };
            let shipping = if has_address && i % 2 == 0 {
                address(f, l, "", city, None, "")
            } else {
                empty_address(false)
            };
            db.customers.insert(id, json!({
                "id": id, "date_created": ts(created), "date_created_gmt": ts(created),
                "date_modified": ts(created + 3600), "date_modified_gmt": ts(created + 3600),
                "email": email, "first_name": f, "last_name": l, "role": "customer",
                "username": format!("user{id}"), "billing": billing, "shipping": shipping,
                "is_paying_customer": has_address, "avatar_url": "https://secure.gravatar.com/avatar/0?s=96", "meta_data": [],
                "_links": {"self": [{"href": format!("{base}/wp-json/wc/v3/customers/{id}")}]}
            }));
        }

        // Products: every third is variable; some drafts, privates, no sku, no images.
        let mut next_var = 3000i64;
        for i in 0..opts.products {
            let id = 1000 + i as i64;
            let created = SANDBOX_EPOCH - rng.gen_range(0..two_years);
            let mut p = blank_product(id, base, &ts(created));
            p["date_modified"] = json!(ts(created + 7200));
            p["date_modified_gmt"] = json!(ts(created + 7200));
            let name = [
                "Hoodie",
                "T-Shirt",
                "Vinyl «Ünïcode»",
                "Beanie",
                "Mug 咖啡",
                "Poster",
            ][i % 6];
            p["name"] = json!(format!("{name} {id}"));
            p["description"] = json!(if i % 5 == 4 {
                String::new()
            } else {
                format!("<p>{name} made with care.</p>")
            });
            p["status"] = json!(match i % 9 {
                7 => "draft",
                8 => "private",
                _ => "publish",
            });
            p["sku"] = json!(if i % 7 == 6 {
                String::new()
            } else {
                format!("SKU-{id}")
            });
            let cents = rng.gen_range(500..9000) as i64;
            p["regular_price"] = json!(money(cents, 2));
            p["price"] = json!(money(cents, 2));
            p["manage_stock"] = json!(i % 4 != 0);
            p["stock_quantity"] = if i % 4 != 0 {
                json!(rng.gen_range(0..80))
            } else {
                Value::Null
            };
            let cat = cat_ids[i % cat_ids.len()];
            p["categories"] = json!([{"id": cat, "name": db.categories[&cat]["name"], "slug": db.categories[&cat]["slug"]}]);
            if i % 5 != 4 {
                p["images"] = json!([{"id": 500 + id, "src": format!("https://cdn.example.test/img/{id}.jpg"), "name": format!("{id}.jpg"), "alt": "",
                    "date_created": ts(created), "date_created_gmt": ts(created), "date_modified": ts(created), "date_modified_gmt": ts(created)}]);
            }
            if i % 3 == 0 {
                p["type"] = json!("variable");
                let sizes = ["S", "M", "L", "XL"];
                let colours = ["Blue", "Grün"];
                p["attributes"] = json!([
                    {"id": 1, "name": "Size", "position": 0, "visible": true, "variation": true, "options": sizes},
                    {"id": 0, "name": "Colour", "position": 1, "visible": true, "variation": true, "options": colours}
                ]);
                let n = 2 + (i % 3);
                let mut var_ids = Vec::new();
                for k in 0..n {
                    let vid = next_var;
                    next_var += 1;
                    var_ids.push(vid);
                    let vcents = cents + 100 * k as i64;
                    let mut v = blank_product(vid, base, &ts(created));
                    v["permalink"] = json!(format!(
                        "{base}/product/product-{id}/?attribute_size={}",
                        sizes[k % 4]
                    ));
                    v["status"] = json!("publish");
                    v["sku"] = json!(format!("SKU-{id}-{}", sizes[k % 4]));
                    v["regular_price"] = json!(money(vcents, 2));
                    v["price"] = json!(money(vcents, 2));
                    v["manage_stock"] = json!(true);
                    v["stock_quantity"] = json!(rng.gen_range(0..30));
                    v["attributes"] = json!([{"id": 1, "name": "Size", "option": sizes[k % 4]}, {"id": 0, "name": "Colour", "option": colours[k % 2]}]);
                    v["image"] = Value::Null;
                    for k2 in [
                        "name",
                        "slug",
                        "type",
                        "featured",
                        "catalog_visibility",
                        "short_description",
                        "price_html",
                        "total_sales",
                        "external_url",
                        "button_text",
                        "reviews_allowed",
                        "average_rating",
                        "rating_count",
                        "related_ids",
                        "upsell_ids",
                        "cross_sell_ids",
                        "parent_id",
                        "purchase_note",
                        "categories",
                        "tags",
                        "images",
                        "default_attributes",
                        "variations",
                        "grouped_products",
                        "sold_individually",
                        "shipping_required",
                        "shipping_taxable",
                    ] {
                        if let Some(o) = v.as_object_mut() {
                            o.remove(k2);
                        }
                    }
                    db.variations.insert(vid, v);
                }
                p["variations"] = json!(var_ids);
                p["price"] = json!(money(cents, 2));
            }
            db.products.insert(id, p);
        }

        // Orders: statuses cycle through every case; currencies vary.
        let statuses = [
            "processing",
            "completed",
            "completed-partial-refund",
            "refunded",
            "cancelled",
            "on-hold",
            "pending",
            "failed",
            "processing",
            "completed",
        ];
        let currencies = [("EUR", 2u32), ("USD", 2), ("GBP", 2), ("JPY", 0)];
        let product_ids: Vec<i64> = db
            .products
            .iter()
            .filter(|(_, p)| p["status"] == "publish")
            .map(|(id, _)| *id)
            .collect();
        let customer_ids: Vec<i64> = db.customers.keys().copied().collect();
        for i in 0..opts.orders {
            let id = 2000 + i as i64;
            let created = SANDBOX_EPOCH - two_years
                + (i as i64) * (two_years / opts.orders.max(1) as i64)
                + rng.gen_range(0..3600);
            let mut status = statuses[i % statuses.len()];
            let partial_refund = status == "completed-partial-refund";
            if partial_refund {
                status = "completed";
            }
            let (currency, decimals) = currencies[(i / 3) % currencies.len()];
            let guest = i % 5 == 2 || customer_ids.is_empty();
            let (cid, f, l, email) = if guest {
                (
                    0i64,
                    FIRST[(i + 3) % 12],
                    LAST[(i + 7) % 12],
                    format!("guest{id}@example.org"),
                )
            } else {
                let c = &db.customers[&customer_ids[i % customer_ids.len()]];
                (
                    c["id"].as_i64().unwrap_or(0),
                    c["first_name"].as_str().unwrap_or(""),
                    c["last_name"].as_str().unwrap_or(""),
                    c["email"].as_str().unwrap_or("").to_owned(),
                )
            };
            let city = CITIES[i % CITIES.len()];
            let mut lines = Vec::new();
            let mut subtotal = 0i64;
            for k in 0..(1 + i % 3) {
                if product_ids.is_empty() {
                    break;
                }
                let pid = product_ids[(i * 3 + k) % product_ids.len()];
                let p = &db.products[&pid];
                let (vid, sku, price_s) = match p["variations"]
                    .as_array()
                    .and_then(|v| v.first())
                    .and_then(Value::as_i64)
                {
                    Some(vid) => (
                        vid,
                        db.variations[&vid]["sku"].clone(),
                        db.variations[&vid]["price"]
                            .as_str()
                            .unwrap_or("0")
                            .to_owned(),
                    ),
                    None => (
                        0,
                        p["sku"].clone(),
                        p["price"].as_str().unwrap_or("0").to_owned(),
                    ),
                };
                let unit: i64 = {
                    let c: f64 = price_s.parse().unwrap_or(0.0);
                    let c = (c * 100.0).round() as i64;
                    if decimals == 0 {
                        (c / 100) * 150 * 100
                    } else {
                        c
                    }
                };
                let qty = 1 + (k as i64 + i as i64) % 3;
                let line_total = unit * qty;
                subtotal += line_total;
                lines.push(json!({
                    "id": id * 10 + k as i64, "name": p["name"], "product_id": pid, "variation_id": vid, "quantity": qty,
                    "tax_class": "", "subtotal": money(line_total, decimals), "subtotal_tax": money(0, decimals),
                    "total": money(line_total, decimals), "total_tax": money(0, decimals), "taxes": [], "meta_data": [],
                    "sku": sku, "price": (unit as f64) / 100.0, "image": {"id": "", "src": ""}, "parent_name": null
                }));
            }
            let shipping = if decimals == 0 { 50000 } else { 1000 };
            let discount = if i % 4 == 1 { subtotal / 10 } else { 0 };
            let tax = (subtotal - discount) * 19 / 100;
            let tax = if decimals == 0 { tax / 100 * 100 } else { tax };
            let total = subtotal - discount + shipping + tax;
            let paid = matches!(status, "processing" | "completed" | "refunded");
            let refunds = if status == "refunded" {
                json!([{"id": id + 90_000, "reason": "Customer changed their mind", "total": format!("-{}", money(total, decimals))}])
            } else if partial_refund {
                json!([{"id": id + 90_000, "reason": "", "total": format!("-{}", money(total / 4, decimals))}])
            } else {
                json!([])
            };
            let modified = created + 86_400 * (1 + (i as i64 % 20));
            let no_shipping = i % 6 == 5;
            db.orders.insert(id, json!({
                "id": id, "parent_id": 0, "number": format!("{id}"), "order_key": format!("wc_order_{}", random_hex(&mut rng, 13)),
                "created_via": "checkout", "version": "9.4.2", "status": status, "currency": currency,
                "date_created": ts(created), "date_created_gmt": ts(created), "date_modified": ts(modified), "date_modified_gmt": ts(modified),
                "discount_total": money(discount, decimals), "discount_tax": money(0, decimals),
                "shipping_total": money(shipping, decimals), "shipping_tax": money(0, decimals),
                "cart_tax": money(tax, decimals), "total": money(total, decimals), "total_tax": money(tax, decimals),
                "prices_include_tax": false, "customer_id": cid, "customer_ip_address": "", "customer_user_agent": "",
                "customer_note": if i % 7 == 0 { "Bitte vor 10 Uhr liefern — merci!" } else { "" },
                "billing": address(f, l, if i % 4 == 0 { "Ångström AB" } else { "" }, city, Some(&email), if i % 3 == 0 { "" } else { "+1 555 0100" }),
                "shipping": if no_shipping { empty_address(false) } else { address(f, l, "", city, None, "") },
                "payment_method": if paid { "stripe" } else { "bacs" }, "payment_method_title": if paid { "Credit card" } else { "Direct bank transfer" },
                "transaction_id": if paid { format!("ch_{}", random_hex(&mut rng, 12)) } else { String::new() },
                "date_paid": if paid { json!(ts(created + 60)) } else { Value::Null },
                "date_paid_gmt": if paid { json!(ts(created + 60)) } else { Value::Null },
                "date_completed": if status == "completed" { json!(ts(modified)) } else { Value::Null },
                "date_completed_gmt": if status == "completed" { json!(ts(modified)) } else { Value::Null },
                "cart_hash": "", "meta_data": [], "line_items": lines, "tax_lines": [],
                "shipping_lines": [{"id": id * 10 + 9, "method_title": "Flat rate", "method_id": "flat_rate", "total": money(shipping, decimals), "total_tax": money(0, decimals), "taxes": [], "meta_data": []}],
                "fee_lines": [], "coupon_lines": if discount > 0 { json!([{"id": id * 10 + 8, "code": "tenoff", "discount": money(discount, decimals), "discount_tax": money(0, decimals), "meta_data": []}]) } else { json!([]) },
                "refunds": refunds, "set_paid": false,
                "_links": {"self": [{"href": format!("{base}/wp-json/wc/v3/orders/{id}")}], "collection": [{"href": format!("{base}/wp-json/wc/v3/orders")}]}
            }));
        }
        db
    }
}

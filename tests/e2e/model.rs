//! The shipping and invoicing model, run against every platform's sandbox through the
//! gateway: `GET /v1/platforms` tells the truth about which fields a platform fills, stock
//! by location adds up and writes at one location leave the others alone, and weight,
//! barcode and dimension writes read back (or are refused, never ignored).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use cartgate_connector::util::Decimal;
use cartgate_connector::ModelFields;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::platforms::PlatformWorld;

/// What `GET /v1/platforms` says this platform fills, per object.
async fn advertised(w: &PlatformWorld, platform: &str) -> BTreeMap<String, BTreeSet<String>> {
    let all = w.client.ok("/v1/platforms").await;
    let p = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == platform)
        .unwrap_or_else(|| panic!("{platform} is listed"))
        .clone();
    p["fields"]
        .as_object()
        .expect("fields")
        .iter()
        .map(|(object, names)| {
            let names = names
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect();
            (object.clone(), names)
        })
        .collect()
}

/// Filled: neither `null` nor an empty list or object.
fn filled(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("{v} is a decimal string")),
    )
    .unwrap_or_else(|_| panic!("{v} is a decimal string"))
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("{v} is a list"))
}

/// Every order and product of the store, with their lines and variants.
struct Seeded {
    orders: Vec<Value>,
    products: Vec<Value>,
}

impl Seeded {
    async fn read(w: &PlatformWorld) -> Seeded {
        Seeded {
            orders: w.client.all(&w.path("/orders?limit=50")).await,
            products: w.client.all(&w.path("/products?limit=50")).await,
        }
    }

    fn objects(&self, object: &str) -> Vec<&Value> {
        match object {
            "order" => self.orders.iter().collect(),
            "line_item" => self
                .orders
                .iter()
                .flat_map(|o| array(&o["line_items"]))
                .collect(),
            "product" => self.products.iter().collect(),
            "variant" => self
                .products
                .iter()
                .flat_map(|p| array(&p["variants"]))
                .collect(),
            other => panic!("unknown object {other}"),
        }
    }
}

pub async fn advertised_fields_are_the_filled_ones(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let fields = advertised(&w, platform).await;
    let seeded = Seeded::read(&w).await;
    assert!(!seeded.orders.is_empty() && !seeded.products.is_empty());
    for (object, all) in ModelFields::ALL.by_object() {
        let listed = fields.get(object).cloned().unwrap_or_default();
        for name in &listed {
            assert!(
                all.contains(&name.as_str()),
                "{platform} lists {object}.{name}, which is not a model field"
            );
        }
        let objects = seeded.objects(object);
        for name in all {
            let any = objects.iter().any(|o| {
                assert!(
                    o.get(name).is_some(),
                    "{platform}: {object}.{name} is always present (null when unknown): {o}"
                );
                filled(&o[name])
            });
            assert_eq!(
                any,
                listed.contains(*name),
                "{platform}: {object}.{name} is {} on the seeded data but {} in GET /v1/platforms",
                if any { "filled" } else { "never filled" },
                if listed.contains(*name) {
                    "listed"
                } else {
                    "not listed"
                }
            );
        }
    }

    // A single read answers what the list did (but shipments, which lists of WooCommerce
    // orders leave out, as documented).
    for o in seeded.orders.iter().take(8) {
        let mut one = w
            .client
            .ok(&w.path(&format!("/orders/{}", o["id"].as_str().unwrap())))
            .await;
        let mut listed = o.clone();
        one["shipments"].take();
        listed["shipments"].take();
        assert_eq!(
            one, listed,
            "{platform}: GET one order answers what the list did"
        );
    }
    for p in seeded.products.iter().take(8) {
        let one = w
            .client
            .ok(&w.path(&format!("/products/{}", p["id"].as_str().unwrap())))
            .await;
        assert_eq!(
            &one, p,
            "{platform}: GET one product answers what the list did"
        );
    }
}

/// Sums that must agree on any platform: refunds with the refunded total and the lines'
/// refunded quantities, tax rates as fractions, shipping prices as decimals.
pub async fn invoice_figures_add_up(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let seeded = Seeded::read(&w).await;
    for o in &seeded.orders {
        let id = &o["id"];
        for t in array(&o["tax_lines"]).iter().chain(
            array(&o["line_items"])
                .iter()
                .flat_map(|l| array(&l["tax_lines"])),
        ) {
            if filled(&t["rate"]) {
                let r = dec(&t["rate"]);
                assert!(
                    r >= Decimal::ZERO && r < Decimal::ONE,
                    "{platform} order {id}: tax rate {r} is a fraction"
                );
            }
            if filled(&t["amount"]) {
                dec(&t["amount"]);
            }
        }
        for s in array(&o["shipping_lines"]) {
            for k in ["price", "tax"] {
                if filled(&s[k]) {
                    assert!(dec(&s[k]) >= Decimal::ZERO, "{platform} order {id}: {s}");
                }
            }
        }
        let refunds = array(&o["refunds"]);
        let sum: Decimal = refunds.iter().map(|r| dec(&r["amount"])).sum();
        for r in refunds {
            assert!(
                dec(&r["amount"]) > Decimal::ZERO,
                "{platform} order {id}: refund amounts are positive: {r}"
            );
        }
        if filled(&o["refunded_total"]) {
            assert_eq!(
                dec(&o["refunded_total"]),
                sum,
                "{platform} order {id}: refunded_total is the sum of the refunds"
            );
        }
        let by_line = refunds.iter().any(|r| filled(&r["line_items"]));
        for l in array(&o["line_items"]) {
            let Some(q) = l["refunded_quantity"].as_i64() else {
                continue;
            };
            assert!(
                (0..=l["quantity"].as_i64().unwrap()).contains(&q),
                "{platform} order {id}: refunded_quantity within quantity: {l}"
            );
            if by_line {
                let from_refunds: i64 = refunds
                    .iter()
                    .flat_map(|r| array(&r["line_items"]))
                    .filter(|rl| rl["line_item_id"] == l["id"])
                    .map(|rl| rl["quantity"].as_i64().unwrap())
                    .sum();
                assert_eq!(
                    q, from_refunds,
                    "{platform} order {id}: line {} refunded_quantity is what its refunds say",
                    l["id"]
                );
            }
        }
        for rl in refunds.iter().flat_map(|r| array(&r["line_items"])) {
            assert!(
                array(&o["line_items"])
                    .iter()
                    .any(|l| l["id"] == rl["line_item_id"]),
                "{platform} order {id}: refund line {rl} names a line of the order"
            );
        }
    }
}

/// Something that holds stock: a variant, or a product without variants.
struct Stocked {
    patch_path: String,
    read_path: String,
    variant_id: Option<String>,
}

impl Stocked {
    fn of(w: &PlatformWorld, product: &Value, variant: Option<&Value>) -> Stocked {
        let pid = product["id"].as_str().unwrap();
        let read_path = w.path(&format!("/products/{pid}"));
        match variant {
            Some(v) => {
                let vid = v["id"].as_str().unwrap().to_owned();
                Stocked {
                    patch_path: w.path(&format!("/products/{pid}/variants/{vid}")),
                    read_path,
                    variant_id: Some(vid),
                }
            }
            None => Stocked {
                patch_path: read_path.clone(),
                read_path,
                variant_id: None,
            },
        }
    }

    /// The item as it reads now.
    async fn read(&self, w: &PlatformWorld) -> Value {
        let p = w.client.ok(&self.read_path).await;
        match &self.variant_id {
            Some(vid) => array(&p["variants"])
                .iter()
                .find(|v| v["id"] == vid.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("variant {vid} in {p}")),
            None => p,
        }
    }
}

fn levels(item: &Value) -> BTreeMap<String, i64> {
    array(&item["inventory_levels"])
        .iter()
        .map(|l| {
            (
                l["location_id"].as_str().unwrap().to_owned(),
                l["available"].as_i64().unwrap(),
            )
        })
        .collect()
}

pub async fn locations_and_stock_levels(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let fields = advertised(&w, platform).await;
    let locations = c.ok(&w.path("/locations")).await;
    let locations = array(&locations["data"]).clone();
    assert!(!locations.is_empty(), "{platform}: a store has a location");
    let ids: BTreeSet<String> = locations
        .iter()
        .map(|l| {
            assert!(l["active"].is_boolean(), "{platform}: {l}");
            l["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids.len(),
        locations.len(),
        "{platform}: location ids unique"
    );

    // Every item's levels name listed locations and add up to its quantity.
    let seeded = Seeded::read(&w).await;
    let mut items = Vec::new();
    for p in &seeded.products {
        let variants = array(&p["variants"]);
        if variants.is_empty() {
            items.push((p, None));
        }
        for v in variants {
            items.push((p, Some(v)));
        }
    }
    let mut with_levels = Vec::new();
    for (p, v) in &items {
        let item = v.unwrap_or(p);
        let l = levels(item);
        if l.is_empty() {
            continue;
        }
        for loc in l.keys() {
            assert!(ids.contains(loc), "{platform}: {loc} is a listed location");
        }
        if let Some(q) = item["quantity"].as_i64() {
            assert_eq!(
                l.values().sum::<i64>(),
                q,
                "{platform}: levels add up to quantity: {item}"
            );
        }
        with_levels.push((*p, *v, l));
    }
    let listed = |object: &str| {
        fields
            .get(object)
            .is_some_and(|f| f.contains("inventory_levels"))
    };
    if !listed("product") && !listed("variant") {
        assert!(with_levels.is_empty(), "{platform}: levels not listed");
        return;
    }
    assert!(!with_levels.is_empty(), "{platform}: seeded stock levels");

    // Writing at one location.
    let (p, v, before) = if ids.len() == 1 {
        for (_, _, l) in &with_levels {
            assert_eq!(l.len(), 1, "{platform}: one location, one level");
        }
        with_levels
            .iter()
            .find(|(_, v, _)| v.is_some())
            .or(with_levels.first())
            .unwrap()
            .clone()
    } else {
        with_levels
            .iter()
            .find(|(_, _, l)| l.len() >= 2)
            .unwrap_or_else(|| panic!("{platform}: stock split over two locations"))
            .clone()
    };
    let item = Stocked::of(&w, p, v);
    let total_before = item.read(&w).await["quantity"].as_i64().unwrap();
    // The first location that takes a write: a location whose stock the platform counts
    // itself (Amazon's FBA) refuses it with 501, never ignores it.
    let mut written = None;
    for (loc, was) in &before {
        let r = c
            .patch(
                &item.patch_path,
                json!({"inventory_levels": [{"location_id": loc, "available": was + 5}]}),
            )
            .await;
        if r.status == StatusCode::NOT_IMPLEMENTED {
            r.problem(501, "unsupported_operation");
            assert_eq!(
                levels(&item.read(&w).await),
                before,
                "{platform}: refused, unchanged"
            );
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{platform}: {r:?}");
        written = Some((loc.clone(), *was));
        break;
    }
    let (at, was) = written.unwrap_or_else(|| panic!("{platform}: a location takes writes"));
    let after = item.read(&w).await;
    let now = levels(&after);
    assert_eq!(now[&at], was + 5, "{platform}: the level written: {after}");
    for (loc, q) in &before {
        if *loc != at {
            assert_eq!(now[loc], *q, "{platform}: {loc} untouched: {after}");
        }
    }
    assert_eq!(
        after["quantity"].as_i64(),
        Some(total_before + 5),
        "{platform}: quantity is the new total: {after}"
    );

    // Bad writes: an unknown location, both quantity and levels, a negative level.
    c.patch(
        &item.patch_path,
        json!({"inventory_levels": [{"location_id": "987654321", "available": 1}]}),
    )
    .await
    .problem(422, "validation_failed");
    c.patch(
        &item.patch_path,
        json!({"quantity": 3, "inventory_levels": [{"location_id": at, "available": 1}]}),
    )
    .await
    .problem(400, "validation_failed");
    c.patch(
        &item.patch_path,
        json!({"inventory_levels": [{"location_id": at, "available": -1}]}),
    )
    .await
    .problem(400, "validation_failed");
    assert_eq!(
        levels(&item.read(&w).await),
        now,
        "{platform}: refused writes change nothing"
    );
}

/// Grams in one unit of a weight as the API answers it.
fn grams(w: &Value) -> Decimal {
    let per = match w["unit"].as_str().unwrap() {
        "g" => Decimal::ONE,
        "kg" => Decimal::from(1000),
        "oz" => Decimal::from_str("28.349523125").unwrap(),
        "lb" => Decimal::from_str("453.59237").unwrap(),
        u => panic!("unit {u}"),
    };
    dec(&w["value"]) * per
}

fn millimetres(d: &Value, side: &str) -> Decimal {
    let per = match d["unit"].as_str().unwrap() {
        "mm" => Decimal::ONE,
        "cm" => Decimal::from(10),
        "m" => Decimal::from(1000),
        "in" => Decimal::from_str("25.4").unwrap(),
        "ft" => Decimal::from_str("304.8").unwrap(),
        u => panic!("unit {u}"),
    };
    dec(&d[side]) * per
}

fn close(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() < Decimal::from_str("0.1").unwrap()
}

pub async fn weight_barcode_dimension_writes(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let fields = advertised(&w, platform).await;
    let has = |object: &str, name: &str| fields.get(object).is_some_and(|f| f.contains(name));
    let seeded = Seeded::read(&w).await;
    let simple = seeded
        .products
        .iter()
        .find(|p| array(&p["variants"]).len() <= 1 && p["status"] == "active")
        .unwrap_or_else(|| panic!("{platform}: a simple product"));
    let variable = seeded
        .products
        .iter()
        .find(|p| array(&p["variants"]).len() >= 2)
        .unwrap_or_else(|| panic!("{platform}: a product with variants"));
    let targets = [
        ("product", Stocked::of(&w, simple, None)),
        (
            "variant",
            Stocked::of(&w, variable, Some(&variable["variants"][1])),
        ),
    ];
    let weight = json!({"value": "1.5", "unit": "kg"});
    let dims = json!({"length": "30", "width": "20", "height": "10", "unit": "cm"});
    for (object, item) in &targets {
        // One GTIN per item: WooCommerce keeps them unique across products and variants.
        let barcode = if *object == "product" {
            "4006381333931"
        } else {
            "4006381333948"
        };
        let cases = [
            ("weight", json!({"weight": weight})),
            ("barcode", json!({"barcode": barcode})),
            ("dimensions", json!({"dimensions": dims})),
        ];
        for (field, body) in cases {
            let r = c.patch(&item.patch_path, body).await;
            if !has(object, field) {
                // Not on this platform: refused, not ignored.
                r.problem(501, "unsupported_operation");
                continue;
            }
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{platform} {object}.{field}: {r:?}"
            );
            let got = item.read(&w).await;
            match field {
                "weight" => assert!(
                    close(grams(&got["weight"]), Decimal::from(1500)),
                    "{platform} {object}: 1.5 kg reads back as {}",
                    got["weight"]
                ),
                "barcode" => assert_eq!(got["barcode"], barcode, "{platform} {object}"),
                _ => {
                    for (side, mm) in [("length", 300), ("width", 200), ("height", 100)] {
                        assert!(
                            close(millimetres(&got["dimensions"], side), Decimal::from(mm)),
                            "{platform} {object}: dimensions read back: {}",
                            got["dimensions"]
                        );
                    }
                }
            }
        }
        // Bad input never reaches the platform.
        for bad in [
            json!({"weight": {"value": "-1", "unit": "kg"}}),
            json!({"weight": {"value": "heavy", "unit": "kg"}}),
            json!({"dimensions": {"unit": "cm"}}),
            json!({"barcode": ""}),
        ] {
            c.patch(&item.patch_path, bad)
                .await
                .problem(400, "validation_failed");
        }
        let r = c
            .patch(
                &item.patch_path,
                json!({"weight": {"value": "1", "unit": "stone"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{platform}: {r:?}");
    }
}

macro_rules! model_suite {
    ($($platform:ident),*) => {$(
        mod $platform {
            #[tokio::test]
            async fn advertised_fields_are_the_filled_ones() {
                super::advertised_fields_are_the_filled_ones(stringify!($platform)).await
            }
            #[tokio::test]
            async fn invoice_figures_add_up() {
                super::invoice_figures_add_up(stringify!($platform)).await
            }
            #[tokio::test]
            async fn locations_and_stock_levels() {
                super::locations_and_stock_levels(stringify!($platform)).await
            }
            #[tokio::test]
            async fn weight_barcode_dimension_writes() {
                super::weight_barcode_dimension_writes(stringify!($platform)).await
            }
        }
    )*};
}

model_suite!(woocommerce, magento, shopify, ebay, amazon);

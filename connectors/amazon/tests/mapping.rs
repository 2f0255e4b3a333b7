//! Mapping of SP-API payloads: snapshots over hand-written fixtures (modelled on the
//! Orders API v2026-01-01 and Listings Items API 2021-08-01 models: merchant- and
//! Amazon-fulfilled orders, a business order, an order without PII, a variation family
//! with FBA stock), targeted asserts on the rules that matter, and snapshots of Amazon's
//! own documented payloads (the models' examples and the code-recipe sample responses in
//! ../shared/platform-specs/amazon) when that folder is around.

use std::collections::HashMap;
use std::path::PathBuf;

use cartgate_amazon::mapping::{self, ProductContext};
use cartgate_connector::model::*;
use cartgate_connector::{ConnectorError, ObjectKind};
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

fn order(name: &str) -> Order {
    mapping::order(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const US: &str = "ATVPDKIKX0DER";

fn family() -> Product {
    let fba = mapping::fba_quantities(&fixture("fba_summaries.json"));
    let children = fixture("listing_children.json").as_array().unwrap().clone();
    let cx = ProductContext {
        marketplace_id: US,
        fba: &fba,
        fba_location: mapping::fba_location(US),
    };
    mapping::product(&fixture("listing_parent.json"), &children, &cx).expect("family maps")
}

fn simple() -> Product {
    let fba = HashMap::new();
    let cx = ProductContext {
        marketplace_id: US,
        fba: &fba,
        fba_location: "AMAZON_NA",
    };
    mapping::product(&fixture("listing_simple_mfn.json"), &[], &cx).expect("listing maps")
}

// ---------------------------------------------------------------------------------------
// Snapshots of the fixtures
// ---------------------------------------------------------------------------------------

#[test]
fn snapshot_orders() {
    for name in [
        "order_mfn_unshipped",
        "order_afn_business_shipped",
        "order_no_pii_cancelled",
        "order_partially_shipped",
    ] {
        insta::assert_json_snapshot!(name, order(&format!("{name}.json")));
    }
}

#[test]
fn snapshot_products() {
    insta::assert_json_snapshot!("product_simple_mfn", simple());
    insta::assert_json_snapshot!("product_family_fba", family());
}

// ---------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------

#[test]
fn order_amounts_add_up_and_shipping_lines_come_from_the_service_level() {
    let o = order("order_mfn_unshipped.json");
    assert_eq!(o.status, OrderStatus::Processing);
    assert_eq!(o.payment_status, PaymentStatus::Authorized);
    assert_eq!(o.fulfillment_status, FulfillmentStatus::Unfulfilled);
    assert_eq!(o.platform_status.as_deref(), Some("UNSHIPPED"));
    assert_eq!(o.currency.as_deref(), Some("USD"));
    assert_eq!(o.subtotal.as_deref(), Some("54.97"));
    assert_eq!(o.shipping_total.as_deref(), Some("5.99"));
    assert_eq!(o.tax_total.as_deref(), Some("4.51"));
    assert_eq!(
        o.discount_total.as_deref(),
        Some("4.00"),
        "discounts are positive"
    );
    assert_eq!(o.total.as_deref(), Some("61.47"));
    assert_eq!(
        o.prices_include_tax,
        Some(false),
        "grand total adds the tax"
    );
    assert_eq!(
        o.shipping_lines,
        vec![ShippingLine {
            title: Some("Expedited".into()),
            code: Some("EXPEDITED".into()),
            carrier: None,
            price: Some("5.99".into()),
            tax: Some("0.77".into()),
        }]
    );
    assert_eq!(o.tax_lines.len(), 1);
    assert_eq!(o.tax_lines[0].amount.as_deref(), Some("4.51"));
    assert_eq!(o.discount_codes[0].code, "SPRING-4-OFF");
    assert_eq!(
        o.payment_method.as_ref().and_then(|p| p.code.as_deref()),
        Some("CreditCard")
    );
    assert_eq!(o.customer_note.as_deref(), Some("Leave at the back door"));
    let c = o.customer.as_ref().unwrap();
    assert_eq!(
        (
            c.first_name.as_deref(),
            c.last_name.as_deref(),
            c.id.as_deref()
        ),
        (Some("Zoë"), Some("Ångström"), None)
    );
    let a = o.shipping_address.as_ref().unwrap();
    assert_eq!(a.country_code.as_deref(), Some("US"));
    assert_eq!(
        a.line2.as_deref(),
        Some("Apt 4"),
        "an empty third line is dropped"
    );
    assert!(o.billing_address.is_none(), "Amazon has no billing address");
    let mug = &o.line_items[0];
    assert_eq!(
        (
            mug.quantity,
            mug.unit_price.as_deref(),
            mug.total.as_deref()
        ),
        (2, Some("14.99"), Some("29.98"))
    );
    assert_eq!(mug.tax_total.as_deref(), Some("2.62"));
    assert_eq!(mug.discount_total.as_deref(), Some("4.00"));
    assert_eq!(o.line_items[1].discount_total.as_deref(), Some("0.00"));
    // A SKU with a space and a slash still makes an id a URL path can carry.
    let teapot = o.line_items[1].product_id.as_deref().unwrap();
    assert!(cartgate_connector::util::valid_id(teapot), "{teapot}");
    assert_eq!(
        mapping::id_sku(teapot).as_deref(),
        Some("Teapot 0,8 l/black")
    );
}

#[test]
fn afn_business_orders_and_shipments() {
    let o = order("order_afn_business_shipped.json");
    assert_eq!(o.status, OrderStatus::Completed);
    assert_eq!(o.fulfillment_status, FulfillmentStatus::Fulfilled);
    assert_eq!(
        o.prices_include_tax,
        Some(true),
        "grand total is the items alone"
    );
    assert_eq!(o.shipments.len(), 1);
    assert_eq!(
        o.shipments[0].tracking_number.as_deref(),
        Some("JJD000390007")
    );
    assert_eq!(
        o.fulfilled_at.map(|t| t.to_rfc3339()),
        Some("2025-04-03T15:30:00+00:00".into())
    );
    assert_eq!(
        o.shipping_address.as_ref().unwrap().company.as_deref(),
        Some("Müller GmbH")
    );
    let facts = mapping::shipping_facts(&fixture("order_afn_business_shipped.json")).unwrap();
    assert!(facts.fulfilled_by_amazon);
    assert_eq!(facts.next_package_id, 2);
}

#[test]
fn absent_pii_is_null_never_an_error() {
    let o = order("order_no_pii_cancelled.json");
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(o.payment_status, PaymentStatus::Voided);
    assert!(o.customer.is_none());
    assert!(o.shipping_address.is_none());
    assert!(o.total.is_none(), "no proceeds: unknown, not zero");
    assert_eq!(o.subtotal.as_deref(), Some("3600"));
    assert_eq!(o.currency.as_deref(), Some("JPY"));
    assert_eq!(
        o.line_items[0].name, "抹茶-100g",
        "the SKU when there is no title"
    );
    assert!(o.shipping_lines.is_empty());
}

#[test]
fn what_is_left_to_ship() {
    let facts = mapping::shipping_facts(&fixture("order_partially_shipped.json")).unwrap();
    assert!(!facts.fulfilled_by_amazon);
    assert_eq!(facts.marketplace_id.as_deref(), Some(US));
    assert_eq!(
        facts.remaining,
        vec![("1".to_string(), 1), ("2".to_string(), 1)],
        "package items count when the items say nothing"
    );
    assert_eq!(facts.next_package_id, 2);
    let facts = mapping::shipping_facts(&fixture("order_mfn_unshipped.json")).unwrap();
    assert_eq!(facts.remaining[0], ("41117329918571".to_string(), 2));
    assert_eq!(facts.next_package_id, 1);
    let s = NewShipment {
        carrier: "usps".into(),
        tracking_number: " 9400 ".into(),
        tracking_url: None,
        line_items: None,
        notify_customer: false,
    };
    let body = mapping::confirm_shipment_body(
        US,
        3,
        &s,
        &[("41117329918571".into(), 2)],
        "2025-06-01T12:00:00Z".parse().unwrap(),
    );
    assert_eq!(
        body,
        json!({
            "marketplaceId": US,
            "packageDetail": {
                "packageReferenceId": "3",
                "carrierCode": "USPS",
                "carrierName": "USPS",
                "trackingNumber": "9400",
                "shipDate": "2025-06-01T12:00:00Z",
                "orderItems": [{"orderItemId": "41117329918571", "quantity": 2}]
            }
        })
    );
}

#[test]
fn a_family_is_one_product_with_stock_per_channel() {
    let p = family();
    assert_eq!(p.id, "TEE-PARENT");
    assert_eq!(
        p.status,
        ProductStatus::Active,
        "a buyable child makes it active"
    );
    assert_eq!(p.variants.len(), 2);
    let red = &p.variants[0];
    assert_eq!(
        red.options,
        [
            ("size".to_string(), "M".to_string()),
            ("color".to_string(), "Red".to_string())
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        red.inventory_levels,
        vec![
            InventoryLevel {
                location_id: "DEFAULT".into(),
                available: 7
            },
            InventoryLevel {
                location_id: "AMAZON_NA".into(),
                available: 25
            },
        ]
    );
    assert_eq!(red.quantity, Some(32));
    assert_eq!(red.barcode.as_deref(), Some("4006381333931"));
    assert_eq!(
        red.weight,
        Some(Weight {
            value: "180".into(),
            unit: WeightUnit::G
        })
    );
    assert_eq!(p.variants[1].quantity, Some(0));
    assert_eq!(p.quantity, Some(32), "the family's total over its variants");
    assert!(p.inventory_levels.is_empty(), "levels sit on the variants");
    assert_eq!(
        p.updated_at.map(|t| t.to_rfc3339()),
        Some("2025-05-10T00:00:00+00:00".into()),
        "the latest change in the family"
    );
}

#[test]
fn a_simple_listing_carries_its_own_shipping_data() {
    let p = simple();
    assert_eq!(p.status, ProductStatus::Active);
    assert_eq!(p.platform_status.as_deref(), Some("BUYABLE,DISCOVERABLE"));
    assert_eq!(p.price.as_deref(), Some("14.99"), "the B2C offer");
    assert_eq!(p.quantity, Some(42));
    assert_eq!(p.barcode.as_deref(), Some("036000291452"));
    assert_eq!(
        p.dimensions,
        Some(Dimensions {
            length: Some("5.5".into()),
            width: Some("4".into()),
            height: Some("4.25".into()),
            unit: LengthUnit::In
        })
    );
    assert_eq!(p.weight.as_ref().map(|w| w.unit), Some(WeightUnit::Lb));
    assert!(p.variants.is_empty());
}

#[test]
fn odd_payloads_are_errors_not_panics() {
    for bad in [
        json!([]),
        json!("x"),
        json!({"createdTime": "2025-01-01T00:00:00Z"}),
    ] {
        let r = mapping::order(&bad);
        assert!(matches!(r, Err(ConnectorError::Upstream { .. })), "{bad}");
    }
    // Wrong types inside are read leniently.
    let o = mapping::order(&json!({
        "orderId": "1",
        "orderItems": [{"orderItemId": 5, "quantityOrdered": 1, "product": {"price": {"unitPrice": {"amount": 3.5, "currencyCode": "usd"}}}}],
        "packages": {"oops": true},
        "proceeds": []
    }))
    .unwrap();
    assert_eq!(o.line_items[0].id, "5");
    assert_eq!(o.line_items[0].unit_price.as_deref(), Some("3.5"));
    assert_eq!(o.currency.as_deref(), Some("USD"));
    let fba = HashMap::new();
    let cx = ProductContext {
        marketplace_id: US,
        fba: &fba,
        fba_location: "AMAZON_NA",
    };
    assert!(mapping::product(&json!({"summaries": []}), &[], &cx).is_err());
    let p = mapping::product(
        &json!({"sku": "X", "attributes": {"item_package_weight": "heavy"}}),
        &[],
        &cx,
    )
    .unwrap();
    assert_eq!((p.name.as_str(), p.weight), ("X", None));
}

#[test]
fn normalize_takes_an_order_or_a_get_order_answer() {
    let c = cartgate_amazon::connector();
    let raw = fixture("order_mfn_unshipped.json");
    let a = c.normalize(ObjectKind::Order, raw.clone()).unwrap();
    let b = c
        .normalize(ObjectKind::Order, json!({"order": raw}))
        .unwrap();
    assert_eq!(a, b);
    assert!(matches!(
        c.normalize(ObjectKind::Customer, json!({})),
        Err(ConnectorError::Unsupported(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Amazon's own payloads
// ---------------------------------------------------------------------------------------

fn specs() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/platform-specs/amazon");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/platform-specs/amazon not found");
        None
    }
}

fn read(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn snapshot_the_models_examples() {
    let Some(dir) = specs() else { return };
    let model = read(dir.join("models/orders_2026-01-01.json"));
    let example = |path: &str| {
        model["paths"][path]["get"]["responses"]["200"]["examples"]["application/json"].clone()
    };
    let search = example("/orders/2026-01-01/orders");
    let orders: Vec<Order> = search["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| mapping::order(o).unwrap())
        .collect();
    insta::assert_json_snapshot!("spec_search_orders", orders);
    let one = mapping::order(&example("/orders/2026-01-01/orders/{orderId}")["order"]).unwrap();
    // The documented UK order: items 89.97 + shipping 10.00 + tax 4.00 = 103.97.
    assert_eq!(one.total.as_deref(), Some("103.97"));
    assert_eq!(one.prices_include_tax, Some(false));
    assert_eq!(one.shipping_lines[0].tax.as_deref(), Some("1.00"));
    insta::assert_json_snapshot!("spec_get_order", one);

    let listings = read(dir.join("models/listingsItems_2021-08-01.json"));
    let item = listings["paths"]["/listings/2021-08-01/items/{sellerId}/{sku}"]["get"]["responses"]
        ["200"]["examples"]["application/json"]
        .clone();
    let fba = HashMap::new();
    let cx = ProductContext {
        marketplace_id: US,
        fba: &fba,
        fba_location: "AMAZON_NA",
    };
    insta::assert_json_snapshot!(
        "spec_get_listings_item",
        mapping::product(&item, &[], &cx).unwrap()
    );

    let sellers = read(dir.join("models/sellers.json"));
    // This model's example is the body itself, without a media type around it.
    let participations = sellers["paths"]["/sellers/v1/marketplaceParticipations"]["get"]
        ["responses"]["200"]["examples"]
        .clone();
    let m = mapping::marketplaces(&participations).unwrap();
    let info = mapping::store_info(&m[0]);
    assert_eq!(info.name.as_deref(), Some("BestSellerStore"));
    assert_eq!(info.currency.as_deref(), Some("USD"));
    assert_eq!(info.url.as_deref(), Some("https://www.amazon.com"));
}

#[test]
fn snapshot_the_code_recipe_samples() {
    let Some(dir) = specs() else { return };
    let sample = read(dir.join("sample-responses/listings-getListingsItem.json"));
    let fba = HashMap::new();
    let cx = ProductContext {
        marketplace_id: "A2Q3Y263D00KWC",
        fba: &fba,
        fba_location: mapping::fba_location("A2Q3Y263D00KWC"),
    };
    let p = mapping::product(&sample, &[], &cx).unwrap();
    // The package attributes of the sample: 1500 g, 30 × 20 × 10 cm.
    assert_eq!(
        p.weight,
        Some(Weight {
            value: "1500".into(),
            unit: WeightUnit::G
        })
    );
    assert_eq!(
        p.dimensions.as_ref().map(|d| (d.length.clone(), d.unit)),
        Some((Some("30".into()), LengthUnit::Cm))
    );
    insta::assert_json_snapshot!("sample_get_listings_item", p);
    // A patch submission the code recipes show is accepted, not an error.
    let patched = read(dir.join("sample-responses/pricing-patchListingsItem.json"));
    assert_eq!(mapping::submission_errors(&patched), None);
}

/// The usage plans the session paces by are the ones Amazon's models document for each
/// operation ("Usage Plan" table of its description).
#[test]
fn usage_plans_are_the_models() {
    let Some(dir) = specs() else { return };
    let models = [
        "orders_2026-01-01.json",
        "ordersV0.json",
        "listingsItems_2021-08-01.json",
        "fbaInventory.json",
        "sellers.json",
    ];
    let mut documented = std::collections::HashMap::new();
    for m in models {
        let model = read(dir.join("models").join(m));
        for (path, ops) in model["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let (Some(id), Some(desc)) =
                    (op["operationId"].as_str(), op["description"].as_str())
                else {
                    continue;
                };
                // "| 0.0056 | 20 |": the first row of the Usage Plan table.
                let row = desc.lines().filter(|l| l.starts_with('|')).find_map(|l| {
                    let cells: Vec<&str> = l
                        .split('|')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect();
                    match cells[..] {
                        [rate, burst] => {
                            Some((rate.parse::<f64>().ok()?, burst.parse::<f64>().ok()?))
                        }
                        _ => None,
                    }
                });
                if let Some(row) = row {
                    documented.insert((id.to_owned(), method.to_uppercase(), path.clone()), row);
                }
            }
        }
    }
    for op in cartgate_amazon::limits::ALL {
        let got = documented
            .iter()
            .find(|((id, method, path), _)| id == op.name && method == op.method && path == op.path)
            .map(|(_, plan)| *plan)
            .unwrap_or_else(|| panic!("{} {} {} is in a model", op.name, op.method, op.path));
        assert_eq!(got, (op.rate_per_sec, op.burst), "{}", op.name);
    }
}

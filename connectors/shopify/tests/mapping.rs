//! Mapping of GraphQL Admin API nodes: snapshots over fixtures (node JSON in the shapes
//! our documents select), targeted asserts on the rules that matter, and leniency.

use std::path::PathBuf;

use cartgate_connector::model::*;
use cartgate_connector::{Connector as _, ConnectorError, ObjectKind};
use cartgate_shopify::mapping;
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
    mapping::order(&fixture(&format!("{name}.json"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn snapshot_orders() {
    for name in [
        "order_partially_fulfilled",
        "order_fulfilled_closed",
        "order_refunded_jpy",
        "order_cancelled",
        "order_guest",
        "order_guest_no_email",
        "order_on_hold",
    ] {
        insta::assert_json_snapshot!(name, order(name));
    }
}

#[test]
fn snapshot_products_customers_categories() {
    for name in [
        "product_variants",
        "product_default_variant",
        "product_draft_untracked",
        "product_archived_no_sku",
    ] {
        let p = mapping::product(&fixture(&format!("{name}.json")), Some("USD")).expect(name);
        insta::assert_json_snapshot!(name, p);
    }
    for name in ["customer_with_addresses", "customer_without_addresses"] {
        let c = mapping::customer(&fixture(&format!("{name}.json"))).expect(name);
        insta::assert_json_snapshot!(name, c);
    }
    for name in ["collection", "collection_no_description"] {
        let c = mapping::category(&fixture(&format!("{name}.json"))).expect(name);
        insta::assert_json_snapshot!(name, c);
    }
}

#[test]
fn order_statuses() {
    let cases = [
        (
            "order_partially_fulfilled",
            OrderStatus::Processing,
            PaymentStatus::PartiallyRefunded,
            FulfillmentStatus::Partial,
            "PARTIALLY_REFUNDED/PARTIALLY_FULFILLED",
        ),
        (
            "order_fulfilled_closed",
            OrderStatus::Completed,
            PaymentStatus::Paid,
            FulfillmentStatus::Fulfilled,
            "PAID/FULFILLED/CLOSED",
        ),
        (
            "order_refunded_jpy",
            OrderStatus::Refunded,
            PaymentStatus::Refunded,
            FulfillmentStatus::Unfulfilled,
            "REFUNDED/UNFULFILLED",
        ),
        (
            "order_cancelled",
            OrderStatus::Cancelled,
            PaymentStatus::Voided,
            FulfillmentStatus::Unfulfilled,
            "VOIDED/UNFULFILLED/CANCELLED",
        ),
        (
            "order_guest",
            OrderStatus::Processing,
            PaymentStatus::Authorized,
            FulfillmentStatus::Unfulfilled,
            "AUTHORIZED/UNFULFILLED",
        ),
        (
            "order_on_hold",
            OrderStatus::OnHold,
            PaymentStatus::Paid,
            FulfillmentStatus::Unfulfilled,
            "PAID/ON_HOLD",
        ),
    ];
    for (name, status, payment, fulfillment, platform) in cases {
        let o = order(name);
        assert_eq!(
            (o.status, o.payment_status, o.fulfillment_status),
            (status, payment, fulfillment),
            "{name}"
        );
        assert_eq!(o.platform_status.as_deref(), Some(platform), "{name}");
    }
    assert_eq!(
        mapping::order_status(false, false, Some("EXPIRED"), Some("UNFULFILLED")),
        OrderStatus::Failed
    );
    assert_eq!(
        mapping::order_status(false, false, Some("PENDING"), Some("UNFULFILLED")),
        OrderStatus::Pending
    );
    assert_eq!(
        mapping::order_status(false, false, None, None),
        OrderStatus::Unknown
    );
    assert_eq!(
        mapping::payment_status(Some("SOMETHING_NEW")),
        PaymentStatus::Unknown
    );
    assert_eq!(
        mapping::fulfillment_status(Some("IN_PROGRESS")),
        FulfillmentStatus::Partial
    );
}

#[test]
fn ids_money_addresses_and_guests() {
    let o = order("order_partially_fulfilled");
    assert!(o.id.bytes().all(|b| b.is_ascii_digit()), "{}", o.id);
    assert!(o
        .line_items
        .iter()
        .all(|l| l.id.bytes().all(|b| b.is_ascii_digit())));
    assert_eq!(
        o.currency.as_deref(),
        Some("USD"),
        "shop money, not the EUR presentment"
    );
    assert!(
        o.total.as_deref().unwrap().split('.').nth(1).unwrap().len() == 2,
        "{:?}",
        o.total
    );
    assert_eq!(o.shipments.len(), 1);
    let guest = order("order_guest_no_email");
    let c = guest.customer.as_ref();
    assert!(c.is_none_or(|c| c.id.is_none() && c.email.is_none()));
    assert!(guest.shipping_address.is_none());
    let guest = order("order_guest");
    let c = guest.customer.expect("a guest still has a name");
    assert_eq!(c.id, None);
    assert!(c.email.as_deref().is_some_and(|e| e.starts_with("guest.")));
    let b = guest.billing_address.expect("billing");
    assert_eq!(
        b.email, c.email,
        "the order e-mail sits on the billing address"
    );
    assert!(b.country_code.as_deref().is_some_and(|cc| cc.len() == 2));
}

#[test]
fn products_variants_and_defaults() {
    let p = mapping::product(&fixture("product_variants.json"), Some("USD")).unwrap();
    assert_eq!(p.variants.len(), 6);
    assert_eq!(p.sku, None, "no single sku for many variants");
    assert!(p.variants.iter().all(|v| v.options.len() == 2));
    let min = p
        .variants
        .iter()
        .filter_map(|v| v.price.clone())
        .min_by(|a, b| {
            a.parse::<f64>()
                .unwrap()
                .total_cmp(&b.parse::<f64>().unwrap())
        });
    assert_eq!(p.price, min);
    let d = mapping::product(&fixture("product_default_variant.json"), Some("USD")).unwrap();
    assert_eq!(d.variants.len(), 1);
    assert!(
        d.variants[0].options.is_empty(),
        "Title: Default Title is no option"
    );
    assert_eq!(d.variants[0].name, None);
    assert_eq!(d.sku, d.variants[0].sku);
    let u = mapping::product(&fixture("product_draft_untracked.json"), None).unwrap();
    assert_eq!(u.status, ProductStatus::Draft);
    assert_eq!(u.quantity, None, "untracked inventory has no quantity");
    assert_eq!(u.currency, None);
}

/// Shopify stores text as typed and never escapes it: `&amp;` in a title is the merchant's
/// text, so nothing is decoded (docs/mapping/shopify.md), unlike WooCommerce and Magento.
#[test]
fn text_is_passed_as_shopify_sends_it() {
    let mut raw = fixture("product_variants.json");
    raw["title"] = json!("Fish &amp; Chips &ndash; Tom&#8217;s");
    raw["variants"]["nodes"][0]["sku"] = json!("F&amp;C-1");
    raw["variants"]["nodes"][0]["selectedOptions"][0]["value"] = json!("S &amp; M");
    let p = mapping::product(&raw, Some("USD")).expect("maps");
    assert_eq!(p.name, "Fish &amp; Chips &ndash; Tom&#8217;s");
    assert_eq!(p.variants[0].sku.as_deref(), Some("F&amp;C-1"));
    assert_eq!(
        p.variants[0].options.get("Size").map(String::as_str),
        Some("S &amp; M")
    );
    assert_eq!(
        p.description.as_deref(),
        Some("<p>Müller Wool Socks 2: made to last.</p>")
    );
}

#[test]
fn lenient_on_odd_upstream_data() {
    // Missing optional fields, numbers where strings are usual, junk in lists.
    let raw = json!({
        "id": "gid://shopify/Order/42",
        "totalPriceSet": {"shopMoney": {"amount": 12.5, "currencyCode": "USD"}},
        "currencyCode": "USD",
        "lineItems": {"nodes": [null, 5, {"id": "gid://shopify/LineItem/9", "quantity": "2"}]},
        "fulfillments": "nope",
        "customer": [],
        "billingAddress": {"firstName": ""},
    });
    let o = mapping::order(&raw).expect("maps");
    assert_eq!(o.id, "42");
    assert_eq!(o.total.as_deref(), Some("12.50"));
    assert_eq!(o.line_items.len(), 1);
    assert_eq!(o.line_items[0].quantity, 2);
    assert!(o.billing_address.is_none());
    assert_eq!(o.status, OrderStatus::Unknown);
    for bad in [
        json!([]),
        json!({"id": "gid://shopify/Order/x"}),
        json!({"name": "#1"}),
    ] {
        assert!(
            matches!(mapping::order(&bad), Err(ConnectorError::Upstream { .. })),
            "{bad}"
        );
    }
    assert!(mapping::product(&json!({"id": "gid://shopify/Product/1"}), None).is_ok());
    assert!(mapping::customer(&json!("x")).is_err());
}

#[test]
fn normalize_takes_a_node_or_a_whole_answer() {
    let node = fixture("order_guest.json");
    let a = cartgate_shopify::Shopify
        .normalize(ObjectKind::Order, node.clone())
        .unwrap();
    let b = cartgate_shopify::Shopify
        .normalize(ObjectKind::Order, json!({"data": {"order": node}}))
        .unwrap();
    assert_eq!(a, b);
    let c = cartgate_shopify::Shopify
        .normalize(ObjectKind::Category, fixture("collection.json"))
        .unwrap();
    assert!(c["parent_id"].is_null());
    assert!(cartgate_shopify::Shopify
        .normalize(ObjectKind::Customer, json!(1))
        .is_err());
}

#[test]
fn writes_become_mutation_inputs() {
    let p = NewProduct {
        name: "Tee".into(),
        description: None,
        sku: Some("T".into()),
        status: None,
        price: Some("1.5".into()),
        quantity: Some(3),
        category_ids: vec!["7".into()],
        platform_fields: None,
    };
    let input = mapping::product_create_input(&p).unwrap();
    assert_eq!(
        input,
        json!({"title": "Tee", "status": "DRAFT", "collectionsToJoin": ["gid://shopify/Collection/7"]})
    );
    assert!(mapping::product_create_input(&NewProduct {
        price: Some("x".into()),
        ..p.clone()
    })
    .is_err());
    assert!(mapping::product_create_input(&NewProduct {
        quantity: Some(1 << 40),
        ..p.clone()
    })
    .is_err());
    assert!(mapping::product_create_input(&NewProduct {
        category_ids: vec!["a/b".into()],
        ..p
    })
    .is_err());
    let v = mapping::variant_input("gid://shopify/ProductVariant/1", Some("2"), Some("S"), true)
        .unwrap()
        .unwrap();
    assert_eq!(
        v,
        json!({"id": "gid://shopify/ProductVariant/1", "price": "2", "inventoryItem": {"sku": "S", "tracked": true}})
    );
    assert_eq!(
        mapping::variant_input("g", None, None, false).unwrap(),
        None
    );
    // Total 7 over all locations, 5 wanted: the primary location goes down by 2.
    let inv = mapping::inventory_adjust_input(
        "gid://shopify/InventoryItem/1",
        "gid://shopify/Location/2",
        7,
        5,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        inv,
        json!({"name": "available", "reason": "correction", "changes": [
            {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/2", "delta": -2}
        ]})
    );
    assert_eq!(
        mapping::inventory_adjust_input("i", "l", 5, 5).unwrap(),
        None,
        "nothing to change"
    );
    assert!(mapping::inventory_adjust_input("i", "l", 0, i64::from(i32::MAX) + 1).is_err());

    let fo = json!({"fulfillmentOrders": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrder/1", "status": "IN_PROGRESS", "lineItems": {"nodes": [
            {"id": "gid://shopify/FulfillmentOrderLineItem/11", "remainingQuantity": 2, "totalQuantity": 3, "lineItem": {"id": "gid://shopify/LineItem/101"}},
            {"id": "gid://shopify/FulfillmentOrderLineItem/12", "remainingQuantity": 0, "totalQuantity": 1, "lineItem": {"id": "gid://shopify/LineItem/102"}}
        ]}},
        {"id": "gid://shopify/FulfillmentOrder/2", "status": "CLOSED", "lineItems": {"nodes": []}}
    ]}});
    let ship = NewShipment {
        carrier: "UPS".into(),
        tracking_number: "1Z".into(),
        tracking_url: None,
        line_items: Some(vec![ShipmentLine {
            line_item_id: "101".into(),
            quantity: 2,
        }]),
        notify_customer: true,
    };
    let input = mapping::fulfillment_input(&fo, &ship).unwrap();
    assert_eq!(
        input["lineItemsByFulfillmentOrder"],
        json!([{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1", "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 2}]}])
    );
    assert_eq!(
        input["trackingInfo"],
        json!({"company": "UPS", "number": "1Z"})
    );
    for (line, qty) in [("101", 3), ("102", 1), ("999", 1), ("101", 0)] {
        let s = NewShipment {
            line_items: Some(vec![ShipmentLine {
                line_item_id: line.into(),
                quantity: qty,
            }]),
            ..ship.clone()
        };
        assert!(
            matches!(
                mapping::fulfillment_input(&fo, &s),
                Err(ConnectorError::Validation(_))
            ),
            "{line} x{qty}"
        );
    }
    let all = NewShipment {
        line_items: None,
        ..ship
    };
    let input = mapping::fulfillment_input(&fo, &all).unwrap();
    assert_eq!(
        input["lineItemsByFulfillmentOrder"],
        json!([{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}])
    );
}

//! Mapping of GraphQL Admin API nodes: snapshots over fixtures (node JSON in the shapes
//! our documents select), targeted asserts on the rules that matter, and leniency.

mod support;

use std::path::PathBuf;

use support::specs;

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
        // The shipping and invoicing fields (2026-10 documents).
        "order_tax_included_refund_by_line",
        "order_refunded_pickup",
        "order_gift_card_and_card",
        "order_free_shipping_code",
        "order_two_tax_lines",
        "order_amount_refund_on_hold",
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
        "product_two_locations_grams",
        "product_gift_card_untracked",
        "product_blank_weight_no_barcode",
        "product_pounds",
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
    let a = cartgate_shopify::Shopify::default()
        .normalize(ObjectKind::Order, node.clone())
        .unwrap();
    let b = cartgate_shopify::Shopify::default()
        .normalize(ObjectKind::Order, json!({"data": {"order": node}}))
        .unwrap();
    assert_eq!(a, b);
    let c = cartgate_shopify::Shopify::default()
        .normalize(ObjectKind::Category, fixture("collection.json"))
        .unwrap();
    assert!(c["parent_id"].is_null());
    assert!(cartgate_shopify::Shopify::default()
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
    let v = mapping::variant_input(
        "gid://shopify/ProductVariant/1",
        &mapping::VariantChange {
            price: Some("2"),
            sku: Some("S"),
            barcode: Some(" 4006381333931 "),
            weight: Some(("1.5".into(), WeightUnit::Kg)),
            track: true,
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        v,
        json!({"id": "gid://shopify/ProductVariant/1", "price": "2", "barcode": "4006381333931",
            "inventoryItem": {"sku": "S", "tracked": true, "measurement": {"weight": {"value": 1.5, "unit": "KILOGRAMS"}}}})
    );
    assert_eq!(
        mapping::variant_input("g", &Default::default()).unwrap(),
        None
    );
    // A weight is written in the unit the variant keeps (else the shop's).
    let w = Weight {
        value: "1.5".into(),
        unit: WeightUnit::Kg,
    };
    assert_eq!(
        mapping::weight_to_write(&w, Some(WeightUnit::Lb), Some(WeightUnit::G)).unwrap(),
        ("3.3069".into(), WeightUnit::Lb)
    );
    assert_eq!(
        mapping::weight_to_write(&w, None, Some(WeightUnit::G)).unwrap(),
        ("1500".into(), WeightUnit::G)
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
            {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/2", "delta": -2, "changeFromQuantity": null}
        ]})
    );
    // Levels: each location named moves by its difference (a location not stocking the
    // item yet counts 0); unchanged ones are left out.
    let inv = mapping::inventory_levels_input(
        "gid://shopify/InventoryItem/1",
        &[
            ("gid://shopify/Location/1".into(), 4),
            ("gid://shopify/Location/2".into(), 9),
        ],
        &[
            ("gid://shopify/Location/1".into(), 4),
            ("gid://shopify/Location/2".into(), 5),
            ("gid://shopify/Location/3".into(), 2),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        inv["changes"],
        json!([
            {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/2", "delta": -4, "changeFromQuantity": null},
            {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/3", "delta": 2, "changeFromQuantity": null}
        ])
    );
    assert_eq!(
        mapping::inventory_levels_input("i", &[("l".into(), 3)], &[("l".into(), 3)]).unwrap(),
        None
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

// ---------------------------------------------------------------------------------------
// Shipping and invoicing fields
// ---------------------------------------------------------------------------------------

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("<none>")
}

#[test]
fn tax_included_order_with_a_refund_by_line() {
    let o = order("order_tax_included_refund_by_line");
    assert_eq!(o.prices_include_tax, Some(true));
    // Shipping: 9.99 paid, tax included (1.60): 8.39 before tax.
    assert_eq!(o.shipping_lines.len(), 1);
    let sl = &o.shipping_lines[0];
    assert_eq!(
        (s(&sl.title), s(&sl.code), s(&sl.carrier)),
        ("UPS Ground", "GND", "ups_shipping")
    );
    assert_eq!((s(&sl.price), s(&sl.tax)), ("8.39", "1.60"));
    // Order taxes: the lines' and the shipping's, summed per title and rate.
    assert_eq!(o.tax_lines.len(), 1);
    assert_eq!(
        (
            s(&o.tax_lines[0].title),
            s(&o.tax_lines[0].rate),
            s(&o.tax_lines[0].amount)
        ),
        ("MwSt", "0.19", "39.94")
    );
    assert_eq!(o.discount_codes.len(), 1);
    assert_eq!(o.discount_codes[0].code, "WELCOME10");
    assert_eq!(o.discount_codes[0].amount.as_deref(), Some("26.68"));
    let mug = &o.line_items[0];
    assert_eq!(
        (
            s(&mug.tax_total),
            s(&mug.discount_total),
            mug.refunded_quantity
        ),
        ("4.17", "2.90", Some(1))
    );
    assert_eq!(mug.tax_lines[0].rate.as_deref(), Some("0.19"));
    assert_eq!(
        mug.weight,
        Some(Weight {
            value: "0.35".into(),
            unit: WeightUnit::Kg
        })
    );
    assert_eq!(mug.requires_shipping, Some(true));
    assert!(mug.variant_options.is_empty());
    assert_eq!(o.line_items[1].weight, None, "no weight on the straw hat");
    assert_eq!(o.line_items[1].refunded_quantity, Some(0));
    assert_eq!(o.refunds.len(), 1);
    let r = &o.refunds[0];
    assert_eq!(
        (r.id.as_str(), s(&r.amount), s(&r.reason)),
        ("95000000058", "13.05", "Damaged in transit")
    );
    assert_eq!(r.line_items.len(), 1);
    assert_eq!(r.line_items[0].line_item_id, mug.id);
    assert_eq!(
        (r.line_items[0].quantity, s(&r.line_items[0].amount)),
        (1, "13.05")
    );
    assert_eq!(o.refunded_total.as_deref(), Some("13.05"));
    assert_eq!(
        o.payment_method,
        Some(PaymentMethod {
            code: Some("shopify_payments".into()),
            title: Some("Shopify Payments".into())
        })
    );
    // Paid when captured; not fully fulfilled.
    assert_eq!(
        o.paid_at.map(|t| t.to_rfc3339()),
        Some("2025-05-25T01:40:20+00:00".into())
    );
    assert_eq!(o.fulfilled_at, None);
    assert_eq!(
        o.total_weight,
        Some(Weight {
            value: "3240".into(),
            unit: WeightUnit::G
        })
    );
}

#[test]
fn two_tax_lines_free_shipping_pickup_and_payments() {
    let o = order("order_two_tax_lines");
    assert_eq!(o.prices_include_tax, Some(false));
    let taxes: Vec<(&str, &str, &str)> = o
        .tax_lines
        .iter()
        .map(|t| (s(&t.title), s(&t.rate), s(&t.amount)))
        .collect();
    assert_eq!(
        taxes,
        [("GST", "0.05", "5.14"), ("PST", "0.07", "7.19")],
        "lines plus shipping"
    );
    let gift = &o.line_items[1];
    assert_eq!(gift.requires_shipping, Some(false));
    assert_eq!((s(&gift.tax_total), gift.tax_lines.len()), ("0.00", 0));
    assert_eq!(s(&o.shipping_lines[0].price), "5.99", "tax on top, not in");
    assert_eq!(
        o.payment_method.as_ref().and_then(|m| m.code.as_deref()),
        Some("paypal")
    );
    assert_eq!(
        o.fulfilled_at.map(|t| t.to_rfc3339()),
        Some("2025-01-06T00:06:00+00:00".into()),
        "the fulfillment that completed it"
    );

    let o = order("order_free_shipping_code");
    assert_eq!(
        (s(&o.shipping_lines[0].price), s(&o.shipping_lines[0].tax)),
        ("0.00", "0.00")
    );
    assert_eq!(o.discount_codes[0].code, "FREESHIP");
    assert_eq!(o.discount_codes[0].amount.as_deref(), Some("5.99"));
    assert_eq!(o.refunded_total.as_deref(), Some("0.00"));
    assert!(o.refunds.is_empty());

    let o = order("order_refunded_pickup");
    let sl = &o.shipping_lines[0];
    assert_eq!(
        (s(&sl.title), s(&sl.code), s(&sl.price)),
        ("Main Warehouse", "Main Warehouse", "0.00"),
        "local pickup is a shipping line named after the location"
    );
    assert_eq!(o.fulfillment_status, FulfillmentStatus::Unfulfilled);
    assert_eq!(
        o.platform_status.as_deref(),
        Some("REFUNDED/FULFILLMENT_NOT_REQUIRED")
    );
    assert_eq!(o.status, OrderStatus::Refunded);
    assert!(o.paid_at.is_some(), "paid before it was refunded");
    assert_eq!(o.line_items[0].refunded_quantity, Some(1));

    let o = order("order_gift_card_and_card");
    assert_eq!(
        o.payment_method,
        Some(PaymentMethod {
            code: Some("paypal".into()),
            title: Some("PayPal Express Checkout".into())
        }),
        "the card, not the gift card"
    );
    assert_eq!(
        o.paid_at.map(|t| t.to_rfc3339()),
        Some("2025-04-12T12:36:11+00:00".into())
    );
    assert_eq!(o.line_items[0].weight, None, "Shopify's blank weight is 0");
    assert!(o.shipping_lines.is_empty());

    let o = order("order_amount_refund_on_hold");
    assert_eq!(o.refunds.len(), 1);
    assert!(o.refunds[0].line_items.is_empty(), "an amount only");
    assert_eq!(o.refunds[0].amount.as_deref(), Some("5.00"));
    assert!(o.line_items.iter().all(|l| l.refunded_quantity == Some(0)));
    assert_eq!(
        o.paid_at.map(|t| t.to_rfc3339()),
        Some("2025-05-02T12:19:23+00:00".into()),
        "partly refunded, so paid: the sale"
    );
    let pending = mapping::order(&{
        let mut raw = fixture("order_amount_refund_on_hold.json");
        raw["displayFinancialStatus"] = json!("PENDING");
        raw
    })
    .unwrap();
    assert_eq!(pending.paid_at, None, "not paid yet");
}

#[test]
fn the_order_note_is_the_buyers() {
    let mut raw = fixture("order_guest.json");
    raw["note"] = json!("Bitte vor 18 Uhr liefern");
    raw["tags"] = json!(["vip", " ", "gift"]);
    let o = mapping::order(&raw).unwrap();
    assert_eq!(o.customer_note.as_deref(), Some("Bitte vor 18 Uhr liefern"));
    assert_eq!(o.note, None, "Shopify keeps no separate staff note");
    assert_eq!(o.tags, ["vip", "gift"]);
}

#[test]
fn rates_weights_and_amounts_read_leniently() {
    let raw = json!({
        "id": "gid://shopify/Order/1",
        "currencyCode": "JPY",
        "taxesIncluded": true,
        "totalWeight": "0",
        "taxLines": [
            {"title": "消費税", "ratePercentage": 10.0, "priceSet": {"shopMoney": {"amount": "91"}}},
            {"title": "A", "rate": 0.075, "priceSet": {"shopMoney": {"amount": "1"}}},
            {"title": "B", "priceSet": {"shopMoney": {"amount": "x"}}}
        ],
        "refunds": [{"id": "gid://shopify/Refund/5", "totalRefundedSet": {"shopMoney": {"amount": "-300"}}}],
        "totalRefundedSet": {"shopMoney": {"amount": "300"}},
        "transactions": [{"kind": "SALE", "status": "FAILURE", "gateway": "x"}],
        "paymentGatewayNames": ["", "manual"],
        "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/2", "quantity": 1,
            "variant": {"selectedOptions": [{"name": "Title", "value": "Default Title"}, {"name": "Size", "value": "M"}],
                "inventoryItem": {"measurement": {"weight": {"unit": "STONES", "value": 2}}}}}]}
    });
    let o = mapping::order(&raw).unwrap();
    let rates: Vec<Option<&str>> = o.tax_lines.iter().map(|t| t.rate.as_deref()).collect();
    assert_eq!(rates, [Some("0.1"), Some("0.075"), None]);
    assert_eq!(o.tax_lines[0].amount.as_deref(), Some("91"));
    assert_eq!(o.tax_lines[2].amount, None);
    assert_eq!(o.total_weight, None, "0 g: unknown");
    assert_eq!(
        o.refunds[0].amount.as_deref(),
        Some("300"),
        "refunds are positive"
    );
    assert_eq!(
        o.payment_method,
        Some(PaymentMethod {
            code: Some("manual".into()),
            title: Some("manual".into())
        }),
        "no successful payment: the gateway names"
    );
    let l = &o.line_items[0];
    assert_eq!(l.weight, None, "an unknown unit is no weight");
    assert_eq!(l.variant_options.get("Size").map(String::as_str), Some("M"));
    assert_eq!(l.variant_options.len(), 1);
    assert_eq!(l.tax_total, None, "no taxLines asked: unknown");
    assert_eq!(l.refunded_quantity, Some(0));
}

#[test]
fn products_carry_weight_barcode_shipping_and_stock_by_location() {
    let p = mapping::product(&fixture("product_two_locations_grams.json"), Some("USD")).unwrap();
    assert!(p.variants.len() > 1);
    assert_eq!(
        p.barcode, None,
        "several variants: no product-level barcode"
    );
    for v in &p.variants {
        assert_eq!(
            v.weight,
            Some(Weight {
                value: "180".into(),
                unit: WeightUnit::G
            })
        );
        assert_eq!(v.requires_shipping, Some(true));
        assert_eq!(v.dimensions, None);
        let b = v.barcode.as_deref().unwrap();
        assert_eq!(b.len(), 13);
        let ids: Vec<&str> = v
            .inventory_levels
            .iter()
            .map(|l| l.location_id.as_str())
            .collect();
        assert_eq!(ids, ["61000000001", "61000000002"]);
        assert_eq!(
            v.inventory_levels.iter().map(|l| l.available).sum::<i64>(),
            v.quantity.unwrap()
        );
    }
    let g = mapping::product(&fixture("product_gift_card_untracked.json"), Some("USD")).unwrap();
    assert_eq!(g.requires_shipping, Some(false));
    assert_eq!((g.weight.clone(), g.barcode.clone()), (None, None));
    assert_eq!(g.quantity, None, "untracked");
    assert!(g.inventory_levels.is_empty(), "untracked: no levels");
    let pin = mapping::product(
        &fixture("product_blank_weight_no_barcode.json"),
        Some("USD"),
    )
    .unwrap();
    assert_eq!(pin.weight, None, "Shopify's blank weight (0) is no weight");
    assert_eq!(pin.barcode, None);
    assert_eq!(pin.inventory_levels, pin.variants[0].inventory_levels);
    assert_eq!(pin.inventory_levels.len(), 1);
    let shorts = mapping::product(&fixture("product_pounds.json"), Some("USD")).unwrap();
    assert_eq!(
        shorts.variants[0].weight,
        Some(Weight {
            value: "0.6".into(),
            unit: WeightUnit::Lb
        })
    );
}

#[test]
fn locations_map_with_their_address() {
    let l = mapping::location(&json!({
        "id": "gid://shopify/Location/61000000002", "name": "Pop-up Store", "isActive": false,
        "address": {"address1": "220 Yonge Street", "city": "Toronto", "provinceCode": "ON", "zip": "M5B 2H1", "countryCode": "ca", "phone": null}
    }))
    .unwrap();
    assert_eq!(l.id, "61000000002");
    assert!(!l.active);
    let a = l.address.unwrap();
    assert_eq!(
        (s(&a.city), s(&a.region), s(&a.country_code)),
        ("Toronto", "ON", "CA")
    );
    assert!(mapping::location(&json!({"name": "no id"})).is_none());
    let bare =
        mapping::location(&json!({"id": "gid://shopify/Location/1", "address": {}})).unwrap();
    assert_eq!(bare.address, None);
    assert!(bare.active);
}

/// Shopify's documented REST order, refund and transaction (../shared/platform-specs)
/// carried into the GraphQL shape the connector reads, field for field, then mapped.
#[test]
fn snapshot_the_documented_order_refund_and_transaction() {
    let Some(dir) = specs() else { return };
    let read = |name: &str, key: &str| -> Value {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("rest-fixtures").join(name)).unwrap(),
        )
        .unwrap();
        v[key].clone()
    };
    let rest = read("order.json", "order");
    let refund = read("refund.json", "refund");
    let sale = read("transaction.json", "transaction");
    let money = |a: &Value| json!({"shopMoney": {"amount": a, "currencyCode": rest["currency"]}});
    let gid = |kind: &str, id: &Value| json!(format!("gid://shopify/{kind}/{id}"));
    let taxes = |t: &Value| -> Value {
        t.as_array()
            .unwrap()
            .iter()
            .map(
                |t| json!({"title": t["title"], "rate": t["rate"], "priceSet": money(&t["price"])}),
            )
            .collect()
    };
    let transaction = |t: &Value| {
        json!({"kind": t["kind"].as_str().unwrap().to_ascii_uppercase(), "status": t["status"].as_str().unwrap().to_ascii_uppercase(),
               "gateway": t["gateway"], "formattedGateway": null, "processedAt": t["created_at"]})
    };
    let lines: Vec<Value> = rest["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let total = l["price"].as_str().unwrap().parse::<f64>().unwrap()
                * l["quantity"].as_f64().unwrap();
            json!({"id": gid("LineItem", &l["id"]), "name": l["name"], "sku": l["sku"], "quantity": l["quantity"],
                   "requiresShipping": l["requires_shipping"],
                   "originalUnitPriceSet": money(&l["price"]), "discountedTotalSet": money(&json!(format!("{total:.2}"))),
                   "taxLines": taxes(&l["tax_lines"]), "discountAllocations": [],
                   "product": {"id": gid("Product", &l["product_id"])},
                   "variant": {"id": gid("ProductVariant", &l["variant_id"]), "selectedOptions": [],
                               "inventoryItem": {"measurement": {"weight": {"unit": "GRAMS", "value": l["grams"]}}}}})
        })
        .collect();
    let refund_total: f64 = refund["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    let node = json!({
        "id": gid("Order", &rest["id"]), "name": rest["name"], "email": rest["email"], "note": rest["note"],
        "tags": rest["tags"].as_str().unwrap().split(',').map(str::trim).filter(|t| !t.is_empty()).collect::<Vec<_>>(),
        "createdAt": rest["created_at"], "updatedAt": rest["updated_at"], "closed": !rest["closed_at"].is_null(), "closedAt": rest["closed_at"],
        "cancelledAt": rest["cancelled_at"], "currencyCode": rest["currency"],
        "displayFinancialStatus": rest["financial_status"].as_str().unwrap().to_ascii_uppercase(),
        "displayFulfillmentStatus": "UNFULFILLED",
        "taxesIncluded": rest["taxes_included"], "totalWeight": rest["total_weight"].to_string(),
        "discountCodes": rest["discount_codes"].as_array().unwrap().iter().map(|c| c["code"].clone()).collect::<Vec<_>>(),
        "subtotalPriceSet": money(&rest["subtotal_price"]), "totalTaxSet": money(&rest["total_tax"]),
        "totalDiscountsSet": money(&rest["total_discounts"]), "totalPriceSet": money(&rest["total_price"]),
        "totalRefundedSet": money(&json!(format!("{refund_total:.2}"))),
        "lineItems": {"pageInfo": {"hasNextPage": false}, "nodes": lines},
        "taxLines": taxes(&rest["tax_lines"]),
        "shippingLines": {"pageInfo": {"hasNextPage": false}, "nodes": rest["shipping_lines"].as_array().unwrap().iter().map(|s| json!({
            "title": s["title"], "code": s["code"], "source": s["source"], "carrierIdentifier": null,
            "originalPriceSet": money(&s["price"]), "discountedPriceSet": money(&s["price"]),
            "taxLines": taxes(&s["tax_lines"]), "discountAllocations": []})).collect::<Vec<_>>()},
        "transactions": std::iter::once(transaction(&sale)).chain(refund["transactions"].as_array().unwrap().iter().map(transaction)).collect::<Vec<_>>(),
        "refunds": [{"id": gid("Refund", &refund["id"]), "createdAt": refund["created_at"], "note": refund["note"],
            "totalRefundedSet": money(&json!(format!("{refund_total:.2}"))),
            "refundLineItems": {"pageInfo": {"hasNextPage": false}, "nodes": refund["refund_line_items"].as_array().unwrap().iter().map(|r| json!({
                "quantity": r["quantity"], "lineItem": {"id": gid("LineItem", &r["line_item_id"])},
                "subtotalSet": money(&r["line_item"]["price"])})).collect::<Vec<_>>()}}],
        "fulfillments": []
    });
    let o = mapping::order(&node).expect("maps");
    assert_eq!(o.customer_note.as_deref(), Some("Test note"));
    assert_eq!(o.tax_lines[0].rate.as_deref(), Some("0.06"));
    assert_eq!(o.shipping_lines[0].title.as_deref(), Some("Free Shipping"));
    assert_eq!(o.discount_codes[0].code, "TENOFF");
    assert_eq!(o.refunds[0].line_items.len(), 2);
    assert_eq!(o.refunded_total, o.refunds[0].amount);
    assert_eq!(
        o.payment_method.as_ref().and_then(|m| m.code.as_deref()),
        Some("bogus")
    );
    assert_eq!(
        o.line_items[0].weight,
        Some(Weight {
            value: "200".into(),
            unit: WeightUnit::G
        })
    );
    insta::assert_json_snapshot!("documented_rest_order", o);
}

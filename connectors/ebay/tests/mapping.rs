//! Pure mapping tests: eBay payloads written from the official contracts' field
//! descriptions (the OAS3 contracts carry no examples), each checked against its contract
//! schema when ../shared/platform-specs is present, mapped and snapshotted; and the ECDSA
//! verifier against eBay's official event-notification SDK test vectors (valid, invalid,
//! mismatch). Without the specs folder those checks print "skipped: …".

use std::path::PathBuf;

use cartgate_connector::model::*;
use cartgate_ebay::inbound;
use cartgate_ebay::mapping;
use cartgate_ebay::Marketplace;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn specs() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/platform-specs/ebay");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/platform-specs not found");
        None
    }
}

/// Validates `v` against `schema` of an eBay OAS3 contract. The contracts declare
/// `aspects` (a map of names to value lists) as a string: that one field is left open.
fn conforms(contract: &str, schema: &str, v: &Value) {
    let Some(dir) = specs() else { return };
    let text = std::fs::read_to_string(dir.join("openapi").join(contract)).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    for s in ["Product", "InventoryItemGroup"] {
        if let Some(p) = doc.pointer_mut(&format!("/components/schemas/{s}/properties/aspects")) {
            *p = json!({"type": "object"});
        }
    }
    let root = json!({
        "$ref": format!("#/components/schemas/{schema}"),
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&root).unwrap();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{schema}: {errors:?}");
}

fn us() -> Marketplace {
    Marketplace::find("EBAY_US").unwrap()
}

#[test]
fn a_paid_us_order_with_a_promotion_and_collect_and_remit_tax() {
    let raw = fixture("order_us_paid.json");
    conforms("sell_fulfillment_v1_oas3.json", "Order", &raw);
    let o = mapping::order(&raw, Some(&[])).unwrap();
    assert_eq!(o.status, OrderStatus::Processing);
    assert_eq!(o.payment_status, PaymentStatus::Paid);
    assert_eq!(o.fulfillment_status, FulfillmentStatus::Unfulfilled);
    assert_eq!(o.total.as_deref(), Some("68.69"));
    assert_eq!(o.discount_total.as_deref(), Some("5.00"));
    assert_eq!(o.shipping_lines[0].code.as_deref(), Some("USPSPriority"));
    assert_eq!(o.shipping_lines[0].carrier.as_deref(), Some("USPS"));
    assert_eq!(o.shipping_lines[0].price.as_deref(), Some("8.45"));
    assert_eq!(o.tax_lines.len(), 1);
    assert_eq!(o.tax_lines[0].amount.as_deref(), Some("5.27"));
    let tee = &o.line_items[0];
    assert_eq!(tee.unit_price.as_deref(), Some("19.99"));
    assert_eq!(tee.total.as_deref(), Some("34.98"));
    assert_eq!(tee.discount_total.as_deref(), Some("5.00"));
    assert_eq!(tee.variant_id.as_deref(), Some("TEE-RED-M"));
    assert_eq!(tee.product_id, None);
    assert_eq!(tee.variant_options["Size"], "M");
    assert_eq!(o.line_items[1].product_id.as_deref(), Some("MUG-01"));
    assert_eq!(o.customer.as_ref().unwrap().id, None);
    assert_eq!(
        o.customer_note.as_deref(),
        Some("Please leave at the side door.")
    );
    assert!(o.paid_at.is_some());
    insta::assert_json_snapshot!("order_us_paid", o);
}

#[test]
fn a_partially_refunded_gb_order_with_its_fulfillment() {
    let raw = fixture("order_gb_partially_refunded.json");
    conforms("sell_fulfillment_v1_oas3.json", "Order", &raw);
    let f = fixture("fulfillments_gb.json");
    conforms(
        "sell_fulfillment_v1_oas3.json",
        "ShippingFulfillmentPagedCollection",
        &f,
    );
    let o = mapping::order(&raw, f["fulfillments"].as_array().map(Vec::as_slice)).unwrap();
    assert_eq!(o.status, OrderStatus::Completed);
    assert_eq!(o.payment_status, PaymentStatus::PartiallyRefunded);
    assert_eq!(o.refunded_total.as_deref(), Some("12.00"));
    assert_eq!(o.refunds[0].line_items[0].line_item_id, "20011");
    assert_eq!(o.refunds[0].line_items[0].quantity, 1);
    assert_eq!(
        o.shipments[0].tracking_number.as_deref(),
        Some("RM123456789GB")
    );
    assert_eq!(o.fulfilled_at, o.shipments[0].created_at);
    assert_eq!(o.tax_lines[0].title.as_deref(), Some("VAT"));
    assert_eq!(o.tax_lines[0].amount.as_deref(), Some("6.00"));
    assert_eq!(
        o.billing_address.as_ref().unwrap().company.as_deref(),
        Some("Brontë & Söhne Ltd")
    );
    insta::assert_json_snapshot!("order_gb_partially_refunded", o);
}

#[test]
fn a_cancelled_pickup_order_of_a_buyer_without_optional_fields() {
    let raw = fixture("order_de_cancelled_pickup.json");
    conforms("sell_fulfillment_v1_oas3.json", "Order", &raw);
    let o = mapping::order(&raw, None).unwrap();
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(o.payment_status, PaymentStatus::Refunded);
    assert_eq!(
        o.platform_status.as_deref(),
        Some("NOT_STARTED/FULLY_REFUNDED/CANCELED")
    );
    assert_eq!(o.customer, None);
    assert_eq!(o.shipping_address, None);
    assert_eq!(
        o.shipping_lines[0].code.as_deref(),
        Some("PREPARE_FOR_PICKUP")
    );
    assert_eq!(o.shipping_lines[0].price.as_deref(), Some("0.00"));
    assert_eq!(o.line_items[0].name, "Tischlampe „Größe M“");
    insta::assert_json_snapshot!("order_de_cancelled_pickup", o);
    // What `cartgate normalize` answers is the same mapping.
    let via = cartgate_ebay::connector()
        .normalize(cartgate_connector::ObjectKind::Order, raw)
        .unwrap();
    assert_eq!(via, serde_json::to_value(&o).unwrap());
}

#[test]
fn an_inventory_item_with_its_offer_weight_size_gtin_and_stock_by_location() {
    let item = fixture("inventory_item.json");
    conforms(
        "sell_inventory_v1_oas3.json",
        "InventoryItemWithSkuLocaleGroupid",
        &item,
    );
    let offers = fixture("offers_mug.json");
    conforms("sell_inventory_v1_oas3.json", "Offers", &offers);
    let p = mapping::product(&item, offers["offers"].as_array().unwrap(), &us()).unwrap();
    assert_eq!(p.id, "MUG-01");
    assert_eq!(p.status, ProductStatus::Active);
    assert_eq!(p.platform_status.as_deref(), Some("PUBLISHED/ACTIVE"));
    assert_eq!(p.price.as_deref(), Some("19.99"));
    assert_eq!(p.currency.as_deref(), Some("USD"));
    assert_eq!(p.quantity, Some(30));
    assert_eq!(p.barcode.as_deref(), Some("012345678905"));
    assert_eq!(
        p.weight,
        Some(Weight {
            value: "0.75".into(),
            unit: WeightUnit::Lb
        })
    );
    assert_eq!(p.dimensions.as_ref().unwrap().width.as_deref(), Some("4.5"));
    assert_eq!(p.dimensions.as_ref().unwrap().unit, LengthUnit::In);
    assert_eq!(p.inventory_levels.len(), 2);
    assert_eq!(
        p.inventory_levels.iter().map(|l| l.available).sum::<i64>(),
        30
    );
    insta::assert_json_snapshot!("product_mug", p);
    // Without an offer it is a draft priced nowhere, in the marketplace's currency.
    let draft = mapping::product(&item, &[], &Marketplace::find("EBAY_GB").unwrap()).unwrap();
    assert_eq!(draft.status, ProductStatus::Draft);
    assert_eq!(draft.price, None);
    assert_eq!(draft.currency.as_deref(), Some("GBP"));
}

#[test]
fn an_inventory_item_group_is_a_product_with_variants() {
    let group = fixture("group_tee.json");
    conforms("sell_inventory_v1_oas3.json", "InventoryItemGroup", &group);
    let members: Vec<(Value, Vec<Value>)> = fixture("group_tee_members.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            conforms(
                "sell_inventory_v1_oas3.json",
                "InventoryItemWithSkuLocaleGroupid",
                &m["item"],
            );
            (m["item"].clone(), m["offers"].as_array().unwrap().clone())
        })
        .collect();
    let p = mapping::group_product(&group, &members, &us()).unwrap();
    assert_eq!(p.id, "TEE");
    assert_eq!(p.sku, None);
    assert_eq!(p.status, ProductStatus::Active);
    assert_eq!(p.price.as_deref(), Some("17.49"));
    assert_eq!(p.quantity, Some(5));
    assert_eq!(p.variants.len(), 2);
    let red = &p.variants[0];
    assert_eq!(red.id, "TEE-RED-M");
    assert_eq!(red.options.len(), 2, "only the aspects the group varies by");
    assert_eq!(red.options["Color"], "Red");
    assert_eq!(red.barcode.as_deref(), Some("4006381333931"));
    assert_eq!(red.weight.as_ref().unwrap().unit, WeightUnit::G);
    assert_eq!(p.variants[1].price, None, "a variant without an offer");
    assert_eq!(p.variants[1].weight, None, "an item without weight");
    insta::assert_json_snapshot!("product_tee_group", p);
}

#[test]
fn locations_and_errors() {
    let l = fixture("location.json");
    conforms(
        "sell_inventory_v1_oas3.json",
        "InventoryLocationResponse",
        &l,
    );
    let loc = mapping::location(&l).unwrap();
    assert_eq!(loc.id, "reno-wh");
    assert!(!loc.active);
    assert_eq!(
        loc.address.as_ref().unwrap().country_code.as_deref(),
        Some("US")
    );
    insta::assert_json_snapshot!("location_reno", loc);

    let body = json!({"errors": [{"errorId": 25702, "domain": "API_INVENTORY", "category": "REQUEST",
        "message": "SKU not found.", "longMessage": "The SKU SKU-9 could not be found.", "parameters": [{"name": "sku", "value": "SKU-9"}]}]});
    conforms("sell_inventory_v1_oas3.json", "Error", &body["errors"][0]);
    assert_eq!(
        mapping::error_detail(body.to_string().as_bytes()).as_deref(),
        Some("The SKU SKU-9 could not be found. (eBay error 25702)")
    );
    assert_eq!(mapping::error_detail(b"<html>"), None);
}

#[test]
fn hostile_payloads_are_errors_not_panics() {
    for bad in [
        json!([]),
        json!({}),
        json!({"orderId": 5, "lineItems": [{}]}),
    ] {
        assert!(mapping::order(&bad, None).is_err(), "{bad}");
    }
    assert!(mapping::product(&json!({"product": {}}), &[], &us()).is_err());
    assert!(mapping::group_product(&json!({"title": "x"}), &[], &us()).is_err());
    // Odd types read leniently.
    let o = mapping::order(
        &json!({"orderId": "1", "lineItems": [{"lineItemId": 7, "quantity": "2", "lineItemCost": {"value": 3, "currency": "USD"}}],
                "pricingSummary": {"total": {"value": "x"}}}),
        None,
    )
    .unwrap();
    assert_eq!(o.line_items[0].id, "7");
    assert_eq!(o.line_items[0].unit_price.as_deref(), Some("1.50"));
    assert_eq!(o.total, None);
}

/// eBay's official event-notification SDK vectors: VALID verifies; INVALID (another
/// message) and SIGNATURE_MISMATCH (another signature) do not.
#[test]
fn the_ecdsa_verifier_against_the_official_test_vectors() {
    let Some(dir) = specs() else { return };
    let text = std::fs::read_to_string(
        dir.join("notification-test-vectors/event-notification-sdk-test.json"),
    )
    .unwrap();
    let vectors: Value = serde_json::from_str(&text).unwrap();
    let mut seen = 0;
    for (case, expect) in [
        ("VALID", true),
        ("INVALID", false),
        ("SIGNATURE_MISMATCH", false),
    ] {
        let v = &vectors[case];
        let key = inbound::public_key_answer(v["response"].to_string().as_bytes()).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            inbound::SIGNATURE_HEADER,
            v["signature"].as_str().unwrap().parse().unwrap(),
        );
        let h = inbound::signature_header(&headers).unwrap();
        // The message as a platform would send it: pretty-printed, keys in order.
        let body = serde_json::to_vec_pretty(&v["message"]).unwrap();
        assert_eq!(
            inbound::verify_signature(&key, &h.signature, &body),
            expect,
            "{case}"
        );
        // And compact.
        let compact = serde_json::to_vec(&v["message"]).unwrap();
        assert_eq!(
            inbound::verify_signature(&key, &h.signature, &compact),
            expect,
            "{case}"
        );
        seen += 1;
    }
    assert_eq!(seen, 3);
    // A valid signature does not verify another body, nor garbage.
    let v = &vectors["VALID"];
    let key = inbound::public_key_answer(v["response"].to_string().as_bytes()).unwrap();
    let h = {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            inbound::SIGNATURE_HEADER,
            v["signature"].as_str().unwrap().parse().unwrap(),
        );
        inbound::signature_header(&headers).unwrap()
    };
    let mut other = v["message"].clone();
    other["notification"]["data"]["username"] = json!("someone_else");
    assert!(!inbound::verify_signature(
        &key,
        &h.signature,
        other.to_string().as_bytes()
    ));
    assert!(!inbound::verify_signature(&key, &h.signature, b"not json"));
    assert!(!inbound::verify_signature(
        &key,
        "AAAA",
        v["message"].to_string().as_bytes()
    ));
}

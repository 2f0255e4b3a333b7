//! Mapping of Magento payloads: snapshots over hand-written fixtures (modelled on Adobe's
//! documented payloads, e.g. the order of the "Create an order" tutorial), targeted
//! asserts on the rules that matter, robustness against odd upstream data, and a smoke run
//! over the official samples when they are around.

use std::path::PathBuf;

use cartgate_connector::model::*;
use cartgate_connector::{Connector as _, ConnectorError, ObjectKind};
use cartgate_magento::mapping;
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

/// The configurable fixture's variants, assembled as the connector does.
fn configurable() -> Product {
    let attrs = fixture("product_attributes.json");
    let options: Vec<mapping::ConfigurableOption> = fixture("product_configurable_options.json")
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| {
            mapping::configurable_option(o, &attrs[o["attribute_id"].as_str().unwrap()])
        })
        .collect();
    let quantities = [Some(0), Some(12), None];
    let variants = fixture("product_configurable_children.json")
        .as_array()
        .unwrap()
        .iter()
        .zip(quantities)
        .map(|(c, q)| {
            let vcx = mapping::VariantContext {
                options: &options,
                quantity: q,
                stock: mapping::Stock::SingleStock,
                currency: Some("USD"),
                weight_unit: Some(WeightUnit::Lb),
            };
            mapping::variant(c, &vcx).expect("variant")
        })
        .collect();
    let cx = mapping::ProductContext {
        media_url: Some("https://shop.example.com/media/"),
        currency: Some("USD"),
        variants,
        ..Default::default()
    };
    mapping::product(&fixture("product_configurable.json"), &cx).expect("configurable maps")
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

#[test]
fn snapshot_orders() {
    for name in [
        "order_normal",
        "order_guest",
        "order_closed_eur",
        "order_partial_jpy",
        "order_virtual",
        "order_fraud",
        "order_canceled",
        "order_entities",
    ] {
        insta::assert_json_snapshot!(name, order(&format!("{name}.json")));
    }
}

/// The German order of `order_taxed_eur.json` with its credit memos, invoices and shipment,
/// in a store view weighing in kilograms, with the configurable attributes' labels: as the
/// connector maps a page of orders.
fn taxed_eur() -> Order {
    let docs = fixture("order_taxed_eur_documents.json");
    let list = |k: &str| docs[k].as_array().unwrap().clone();
    let (memos, invoices, shipments) = (list("credit_memos"), list("invoices"), list("shipments"));
    let attrs = fixture("product_attributes.json");
    let attributes: std::collections::BTreeMap<String, mapping::ConfigurableOption> = attrs
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, a)| {
            (
                id.clone(),
                mapping::configurable_option(&json!({}), a).unwrap(),
            )
        })
        .collect();
    let cx = mapping::OrderContext {
        weight_unit: Some(WeightUnit::Kg),
        attributes: Some(&attributes),
        credit_memos: Some(&memos),
        invoices: Some(&invoices),
        shipments: Some(&shipments),
    };
    mapping::order_with(&fixture("order_taxed_eur.json"), &cx).expect("maps")
}

#[test]
fn snapshot_order_with_its_documents() {
    insta::assert_json_snapshot!("order_taxed_eur_in_context", taxed_eur());
    // Alone (`cartgate normalize`): what needs the other documents or the store is empty.
    insta::assert_json_snapshot!("order_taxed_eur", order("order_taxed_eur.json"));
}

#[test]
fn snapshot_products() {
    insta::assert_json_snapshot!("product_configurable", configurable());
    let cx = mapping::ProductContext {
        media_url: Some("https://shop.example.com/media/"),
        currency: Some("USD"),
        variants: Vec::new(),
        weight_unit: Some(WeightUnit::Lb),
        stock: mapping::Stock::Sources(vec![
            InventoryLevel {
                location_id: "default".into(),
                available: 60,
            },
            InventoryLevel {
                location_id: "berlin".into(),
                available: 40,
            },
        ]),
    };
    let simple = mapping::product(&fixture("product_simple.json"), &cx).expect("simple maps");
    insta::assert_json_snapshot!("product_simple", simple);
    let disabled = mapping::product(
        &fixture("product_disabled.json"),
        &mapping::ProductContext::default(),
    )
    .expect("disabled maps");
    insta::assert_json_snapshot!("product_disabled", disabled);
    let entities = mapping::product(&fixture("product_entities.json"), &cx).expect("maps");
    insta::assert_json_snapshot!("product_entities", entities);
}

#[test]
fn snapshot_customers_categories_shipments() {
    for name in [
        "customer_with_addresses",
        "customer_without_addresses",
        "customer_entities",
    ] {
        let c = mapping::customer(&fixture(&format!("{name}.json"))).expect("customer maps");
        insta::assert_json_snapshot!(name, c);
    }
    for name in ["category", "category_root", "category_entities"] {
        let c = mapping::category(&fixture(&format!("{name}.json"))).expect("category maps");
        insta::assert_json_snapshot!(name, c);
    }
    for name in ["shipment_two_tracks", "shipment_entities"] {
        let s = mapping::shipments(&fixture(&format!("{name}.json"))).expect("shipment maps");
        insta::assert_json_snapshot!(name, s);
    }
}

// ---------------------------------------------------------------------------------------
// Plain text: text entered with entities shows decoded in a Magento store
// ---------------------------------------------------------------------------------------

#[test]
fn plain_text_fields_are_decoded_once() {
    let o = order("order_entities.json");
    let lines: Vec<(&str, Option<&str>)> = o
        .line_items
        .iter()
        .map(|l| (l.name.as_str(), l.sku.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            // Luma's names carry `&trade;`, as Adobe's filtered-response example shows.
            ("Minerva LumaTech™ V-Tee", Some("WS08-XS-Blue")),
            // Tags stay, `&amp;amp;` is decoded once, unknown references stay.
            (
                "Joust Duffle Bag & Strap – <b>Limited</b> &amp; &bogus;",
                Some("MB01&S")
            ),
        ]
    );
    let c = o.customer.as_ref().expect("customer");
    assert_eq!(c.first_name.as_deref(), Some("Seán"));
    assert_eq!(c.last_name.as_deref(), Some("O'Brien"));
    let b = o.billing_address.as_ref().expect("billing");
    assert_eq!(b.company.as_deref(), Some("Smith & Sons"));
    assert_eq!(b.line1.as_deref(), Some("1 Rue de l’Église"));
    assert_eq!(b.line2.as_deref(), Some("Bâtiment B"));
    assert_eq!(b.city.as_deref(), Some("Québec"));
    assert_eq!(b.region.as_deref(), Some("Québec"));
    assert_eq!(b.email.as_deref(), Some("sean.obrien@example.com"));
    let s = o.shipping_address.as_ref().expect("shipping");
    assert_eq!(s.line1.as_deref(), Some("12 Market & 5th"));
    assert_eq!(s.line2.as_deref(), Some("Unit № 4"));
    assert_eq!(
        o.note.as_deref(),
        Some("Gift wrap & card – <b>urgent</b>"),
        "a history comment is text with entities decoded, tags kept"
    );

    let cx = mapping::ProductContext::default();
    let p = mapping::product(&fixture("product_entities.json"), &cx).expect("maps");
    assert_eq!(p.name, "Minerva LumaTech™ V-Tee & Tank");
    assert_eq!(p.sku.as_deref(), Some("WS08&XS"));
    assert_eq!(
        p.description.as_deref(),
        Some("<p>The Minerva LumaTech&trade; V-Tee &amp; Tank &ndash; <strong>soft</strong>.</p>"),
        "a description is HTML: untouched"
    );
    let cat = mapping::category(&fixture("category_entities.json")).expect("maps");
    assert_eq!(cat.name, "Bras & Tanks");
    assert_eq!(
        cat.description.as_deref(),
        Some("<p>Bras &amp; tanks &ndash; all sizes.</p>")
    );
    let cu = mapping::customer(&fixture("customer_entities.json")).expect("maps");
    assert_eq!(
        (cu.first_name.as_deref(), cu.last_name.as_deref()),
        (Some("Seán"), Some("O'Brien"))
    );
    assert_eq!(cu.addresses[1].line1.as_deref(), Some("1 Rue de l’Église"));
    assert_eq!(cu.addresses[1].region.as_deref(), Some("Québec"));
    let sh = mapping::shipments(&fixture("shipment_entities.json")).expect("maps");
    assert_eq!(sh[0].carrier.as_deref(), Some("Bike & Boat Couriers"));
    assert_eq!(sh[0].tracking_number.as_deref(), Some("BB\u{2011}7"));
    assert_eq!(
        sh[0].tracking_url.as_deref(),
        Some("https://couriers.example/t?n=BB-7&lang=de")
    );
}

#[test]
fn option_labels_are_plain_text() {
    let attribute = json!({
        "attribute_code": "color", "default_frontend_label": "Farbe &amp; Muster",
        "options": [
            {"label": "Black &amp; White", "value": "56"},
            {"label": "&amp;amp; literal", "value": "57"}
        ]
    });
    let o = mapping::configurable_option(&json!({"attribute_id": "93"}), &attribute)
        .expect("an option");
    assert_eq!(o.label, "Farbe & Muster");
    assert_eq!(
        o.values.get("56").map(String::as_str),
        Some("Black & White")
    );
    assert_eq!(
        o.values.get("57").map(String::as_str),
        Some("&amp; literal")
    );
    let child = |v: &str| {
        json!({"id": 7, "sku": "C-1", "name": "Child &ndash; 1",
               "custom_attributes": [{"attribute_code": "color", "value": v}]})
    };
    let v = mapping::variant(
        &child("57"),
        &mapping::VariantContext {
            options: std::slice::from_ref(&o),
            ..Default::default()
        },
    )
    .expect("maps");
    assert_eq!(v.name.as_deref(), Some("Child – 1"));
    assert_eq!(
        v.options.get("Farbe & Muster").map(String::as_str),
        Some("&amp; literal"),
        "a label is decoded once, not again as an option value"
    );
    let v = mapping::variant(
        &child("Ros&eacute;"),
        &mapping::VariantContext {
            options: &[o],
            ..Default::default()
        },
    )
    .expect("maps");
    assert_eq!(
        v.options.get("Farbe & Muster").map(String::as_str),
        Some("Rosé"),
        "a value without a label is text of its own"
    );
}

// ---------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------

#[test]
fn configurable_lines_show_once_with_the_child_as_variant() {
    let o = order("order_normal.json");
    assert_eq!(o.line_items.len(), 2, "parent + child fold into one line");
    let tee = &o.line_items[0];
    assert_eq!(tee.id, "3");
    assert_eq!(tee.product_id.as_deref(), Some("1556"));
    assert_eq!(tee.variant_id.as_deref(), Some("1553"));
    assert_eq!(tee.sku.as_deref(), Some("WS12-M-Orange"));
    assert_eq!(tee.name, "Radiant Tee");
    assert_eq!(tee.quantity, 2);
    assert_eq!(tee.unit_price.as_deref(), Some("22.00"));
    assert_eq!(
        tee.total.as_deref(),
        Some("39.60"),
        "row total less the discount"
    );
    assert_eq!(o.discount_total.as_deref(), Some("7.80"), "a magnitude");
    assert_eq!(o.total.as_deref(), Some("80.20"));
    assert_eq!(o.number.as_deref(), Some("000000003"));
    assert_eq!(o.platform_status.as_deref(), Some("processing/processing"));
    assert_eq!(o.payment_status, PaymentStatus::Paid);
    assert_eq!(o.fulfillment_status, FulfillmentStatus::Unfulfilled);
    assert_eq!(
        o.shipping_address.as_ref().and_then(|a| a.city.as_deref()),
        Some("Austin"),
        "from extension_attributes.shipping_assignments"
    );
    assert_eq!(
        o.billing_address.as_ref().and_then(|a| a.line2.as_deref()),
        Some("Suite 4")
    );
    assert_eq!(o.note.as_deref(), Some("Invoice created."));
    assert_eq!(
        o.created_at.map(|t| t.to_rfc3339()),
        Some("2025-05-10T14:03:22+00:00".into())
    );
}

#[test]
fn statuses_payments_and_fulfillment() {
    let cases = [
        (
            "order_guest.json",
            OrderStatus::Pending,
            PaymentStatus::Pending,
            FulfillmentStatus::Unfulfilled,
        ),
        (
            "order_closed_eur.json",
            OrderStatus::Refunded,
            PaymentStatus::Refunded,
            FulfillmentStatus::Fulfilled,
        ),
        (
            "order_partial_jpy.json",
            OrderStatus::Processing,
            PaymentStatus::PartiallyRefunded,
            FulfillmentStatus::Partial,
        ),
        (
            "order_virtual.json",
            OrderStatus::Pending,
            PaymentStatus::Pending,
            FulfillmentStatus::Unfulfilled,
        ),
        (
            "order_fraud.json",
            OrderStatus::OnHold,
            PaymentStatus::Authorized,
            FulfillmentStatus::Unfulfilled,
        ),
        (
            "order_canceled.json",
            OrderStatus::Cancelled,
            PaymentStatus::Voided,
            FulfillmentStatus::Unfulfilled,
        ),
    ];
    for (name, status, payment, fulfillment) in cases {
        let o = order(name);
        assert_eq!(o.status, status, "{name}");
        assert_eq!(o.payment_status, payment, "{name}");
        assert_eq!(o.fulfillment_status, fulfillment, "{name}");
    }
    let g = order("order_guest.json");
    let c = g.customer.expect("guest customer");
    assert_eq!(c.id, None, "guests have no customer id");
    assert_eq!(c.phone, None, "null telephone");
    assert_eq!(
        g.customer_note.as_deref(),
        Some("Please leave at the back door."),
        "what the buyer wrote"
    );
    assert_eq!(
        g.note, None,
        "no staff comment: the buyer's note is not one"
    );
    assert_eq!(order("order_virtual.json").shipping_address, None);
    let jpy = order("order_partial_jpy.json");
    assert_eq!(jpy.total.as_deref(), Some("11310"), "no decimals for JPY");
    assert_eq!(
        jpy.billing_address.as_ref().unwrap().region.as_deref(),
        Some("東京都")
    );
    let eur = order("order_closed_eur.json");
    assert_eq!(
        eur.billing_address
            .as_ref()
            .unwrap()
            .country_code
            .as_deref(),
        Some("DE")
    );
    assert_eq!(
        eur.billing_address.as_ref().unwrap().region.as_deref(),
        Some("BER")
    );
    assert_eq!(
        eur.note.as_deref(),
        Some("We refunded €84.29 offline."),
        "the newest comment"
    );
    for (state, status, unified) in [
        (Some("new"), Some("pending"), OrderStatus::Pending),
        (Some("holded"), Some("holded"), OrderStatus::OnHold),
        (Some("complete"), Some("complete"), OrderStatus::Completed),
        (
            Some("processing"),
            Some("my_custom_status"),
            OrderStatus::Processing,
        ),
        (None, Some("canceled"), OrderStatus::Cancelled),
        (Some("weird"), Some("weirder"), OrderStatus::Unknown),
    ] {
        assert_eq!(
            mapping::order_status(state, status),
            unified,
            "{state:?}/{status:?}"
        );
    }
}

#[test]
fn products_variants_images_and_stock() {
    let p = configurable();
    assert_eq!(p.variants.len(), 3);
    let v = &p.variants[2];
    assert_eq!(v.options.get("Size").map(String::as_str), Some("M"));
    assert_eq!(v.options.get("Color").map(String::as_str), Some("Orange"));
    assert_eq!(v.price.as_deref(), Some("24.50"));
    assert_eq!(v.quantity, None);
    assert_eq!(p.price.as_deref(), Some("22.00"), "lowest variant price");
    assert_eq!(p.quantity, Some(12), "sum of known variant quantities");
    let cx = mapping::ProductContext {
        media_url: Some("https://shop.example.com/media/"),
        currency: Some("USD"),
        variants: Vec::new(),
        ..Default::default()
    };
    let s = mapping::product(&fixture("product_simple.json"), &cx).unwrap();
    assert_eq!(
        s.images,
        vec![
            "https://shop.example.com/media/catalog/product/m/b/mb01-blue-0.jpg",
            "https://shop.example.com/media/catalog/product/m/b/mb01-blue-0_back.jpg"
        ],
        "by position; disabled entries and videos left out"
    );
    assert_eq!(s.category_ids, vec!["3", "4"]);
    assert_eq!(s.quantity, Some(100));
    assert_eq!(s.price.as_deref(), Some("34.00"));
    let d = mapping::product(
        &fixture("product_disabled.json"),
        &mapping::ProductContext::default(),
    )
    .unwrap();
    assert_eq!(d.status, ProductStatus::Draft);
    assert_eq!(d.platform_status.as_deref(), Some("disabled"));
    assert_eq!(d.quantity, None, "stock not managed: no number");
    assert_eq!(
        d.category_ids,
        vec!["8"],
        "from the category_ids attribute of older stores"
    );
    assert_eq!(d.description, None);
    assert!(d.images.is_empty());
}

#[test]
fn shipments_carry_tracks_and_urls() {
    let s = mapping::shipments(&fixture("shipment_two_tracks.json")).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].id, "9-11");
    assert_eq!(s[0].carrier.as_deref(), Some("United Parcel Service"));
    assert_eq!(s[0].tracking_url, None);
    assert_eq!(s[1].carrier, None, "custom carrier without a title");
    assert!(s[1]
        .tracking_url
        .as_deref()
        .unwrap()
        .starts_with("https://www.laposte.fr/"));
    let none = mapping::shipments(&json!({"entity_id": 5, "tracks": [], "items": []})).unwrap();
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].tracking_number, None);
}

#[test]
fn customers_and_categories() {
    let c = mapping::customer(&fixture("customer_with_addresses.json")).unwrap();
    assert_eq!(
        c.phone.as_deref(),
        Some("+33 1 23 45 67 89"),
        "the default billing address's"
    );
    assert_eq!(c.addresses.len(), 2);
    assert_eq!(
        c.addresses[1].line2.as_deref(),
        Some("Bâtiment B, 2e étage")
    );
    assert_eq!(c.addresses[1].region.as_deref(), Some("Île-de-France"));
    assert_eq!(c.addresses[0].region.as_deref(), Some("TX"));
    let c = mapping::customer(&fixture("customer_without_addresses.json")).unwrap();
    assert!(c.addresses.is_empty() && c.phone.is_none());
    assert_eq!(
        mapping::category(&fixture("category_root.json"))
            .unwrap()
            .parent_id,
        None
    );
    assert_eq!(
        mapping::category(&fixture("category.json"))
            .unwrap()
            .parent_id
            .as_deref(),
        Some("2")
    );
}

#[test]
fn writes_build_magento_bodies() {
    let body = mapping::new_product_body(&NewProduct {
        name: "Zoë's Tee".into(),
        description: None,
        sku: None,
        status: None,
        price: Some("19.90".into()),
        quantity: Some(3),
        category_ids: vec!["4".into()],
    })
    .unwrap();
    assert_eq!(body["product"]["sku"], "zo-s-tee");
    assert_eq!(body["product"]["status"], 2, "drafts by default");
    assert_eq!(body["product"]["price"], json!(19.9));
    assert_eq!(
        body["product"]["extension_attributes"]["category_links"][0]["category_id"],
        "4"
    );
    assert!(mapping::new_product_body(&NewProduct {
        name: "x".into(),
        description: None,
        sku: None,
        status: None,
        price: None,
        quantity: None,
        category_ids: vec!["cat-4".into()],
    })
    .is_err());
    let u = mapping::product_update_body(
        "MB01",
        &ProductUpdate {
            price: Some("-3".into()),
            ..Default::default()
        },
        None,
    );
    assert!(matches!(u, Err(ConnectorError::Validation(_))));
    let u = mapping::product_update_body("MB01", &ProductUpdate::default(), None).unwrap();
    assert!(!mapping::body_changes(&u));
    let ship = mapping::ship_body(
        &NewShipment {
            carrier: "FedEx".into(),
            tracking_number: " 7777 ".into(),
            tracking_url: None,
            line_items: None,
            notify_customer: false,
        },
        &[("3".into(), 2)],
    )
    .unwrap();
    assert_eq!(
        ship,
        json!({"items": [{"order_item_id": 3, "qty": 2}], "notify": false,
               "tracks": [{"track_number": "7777", "title": "FedEx", "carrier_code": "fedex"}]})
    );
}

// ---------------------------------------------------------------------------------------
// Shipping, taxes, payment, discounts, refunds, weights
// ---------------------------------------------------------------------------------------

fn tax(title: Option<&str>, rate: Option<&str>, amount: &str) -> TaxLine {
    TaxLine {
        title: title.map(str::to_owned),
        rate: rate.map(str::to_owned),
        amount: Some(amount.into()),
    }
}

#[test]
fn shipping_payment_taxes_and_discounts() {
    let o = taxed_eur();
    assert_eq!(
        o.shipping_lines,
        vec![ShippingLine {
            title: Some("Best Way - Table Rate".into()),
            code: Some("tablerate_bestway".into()),
            carrier: Some("tablerate".into()),
            price: Some("4.20".into()),
            tax: Some("0.80".into()),
        }]
    );
    assert_eq!(
        o.payment_method,
        Some(PaymentMethod {
            code: Some("banktransfer".into()),
            title: Some("Bank Transfer Payment".into()),
        }),
        "an offline method's title is its first additional information"
    );
    assert_eq!(
        o.tax_lines,
        vec![
            tax(Some("MwSt. 19%"), Some("0.19"), "10.79"),
            tax(Some("MwSt. 7%"), Some("0.07"), "0.88"),
        ],
        "per rate, shipping tax included"
    );
    let line = |id: &str| o.line_items.iter().find(|l| l.id == id).unwrap();
    assert_eq!(
        line("101").tax_lines,
        vec![tax(Some("MwSt. 19%"), Some("0.19"), "8.55")],
        "titles from the order's taxes"
    );
    assert_eq!(
        line("103").tax_lines,
        vec![tax(Some("MwSt. 7%"), Some("0.07"), "0.88")]
    );
    assert_eq!(line("101").tax_total.as_deref(), Some("8.55"));
    assert_eq!(line("101").discount_total.as_deref(), Some("5.00"));
    assert_eq!(
        o.prices_include_tax,
        Some(false),
        "unit prices are Magento's net `price`"
    );
    assert_eq!(line("101").unit_price.as_deref(), Some("25.00"));
    assert_eq!(
        o.discount_codes,
        vec![DiscountCode {
            code: "WILLKOMMEN10".into(),
            amount: Some("7.24".into()),
        }]
    );
    assert_eq!(
        o.customer_note.as_deref(),
        Some("Bitte klingeln: Hinterhaus")
    );
    assert_eq!(
        o.note.as_deref(),
        Some("Paket an DHL übergeben."),
        "staff comment"
    );
    assert!(o.tags.is_empty(), "Magento orders have no tags");

    // Older stores (and order placement) send `applied_taxes`; a line without its own
    // entry shows its tax without a rate when Magento gives none.
    let jpy = order("order_partial_jpy.json");
    assert_eq!(
        jpy.tax_lines,
        vec![tax(Some("Consumption Tax"), Some("0.1"), "960")]
    );
    let jl = |id: &str| {
        jpy.line_items
            .iter()
            .find(|l| l.id == id)
            .unwrap()
            .tax_lines
            .clone()
    };
    assert_eq!(
        jl("60"),
        vec![tax(Some("Consumption Tax"), Some("0.1"), "435")]
    );
    assert_eq!(jl("62"), vec![tax(None, None, "315")]);

    // A gateway's title comes from the keyed payment information only.
    let v = order("order_virtual.json");
    assert_eq!(
        v.payment_method.and_then(|p| p.title).as_deref(),
        Some("Credit Card (Braintree)")
    );
    assert!(v.shipping_lines.is_empty(), "virtual orders ship nothing");
    assert_eq!(v.line_items[0].requires_shipping, Some(false));
    assert_eq!(v.line_items[0].weight, None);

    // Several codes (Adobe Commerce) or several rules: Magento does not split the discount.
    let mut raw = fixture("order_normal.json");
    raw["extension_attributes"]["coupon_codes"] = json!(["SUMMER10", "VIP5"]);
    let two = mapping::order(&raw).unwrap();
    assert_eq!(
        two.discount_codes
            .iter()
            .map(|d| (d.code.as_str(), d.amount.clone()))
            .collect::<Vec<_>>(),
        vec![("SUMMER10", None), ("VIP5", None)]
    );
    let mut raw = fixture("order_normal.json");
    raw["discount_description"] = json!("SUMMER10, Members 5%");
    assert_eq!(mapping::order(&raw).unwrap().discount_codes[0].amount, None);

    for (percent, fraction) in [
        ("19", "0.19"),
        ("8.25", "0.0825"),
        ("7.0000", "0.07"),
        ("0", "0"),
    ] {
        assert_eq!(
            mapping::rate_fraction(Some(percent)).as_deref(),
            Some(fraction)
        );
    }
    assert_eq!(mapping::rate_fraction(Some("x")), None);
}

#[test]
fn refunds_invoices_shipments_and_weights() {
    let o = taxed_eur();
    assert_eq!(o.refunds.len(), 2);
    let (shipping_only, by_line) = (&o.refunds[0], &o.refunds[1]);
    assert_eq!(shipping_only.id, "49", "oldest first");
    assert_eq!(shipping_only.amount.as_deref(), Some("5.00"));
    assert!(
        shipping_only.line_items.is_empty(),
        "memo items of no quantity are no refunded lines"
    );
    assert_eq!(shipping_only.reason, None);
    assert_eq!(by_line.amount.as_deref(), Some("26.78"));
    assert_eq!(
        by_line.reason.as_deref(),
        Some("Zu klein – ein Stück zurück.")
    );
    assert_eq!(
        by_line.line_items,
        vec![RefundLine {
            line_item_id: "101".into(),
            quantity: 1,
            amount: Some("22.50".into()),
        }],
        "the configurable child's memo item counts for its parent line"
    );
    assert_eq!(
        o.refunded_total.as_deref(),
        Some("31.78"),
        "the sum of the refunds"
    );
    let line = |id: &str| o.line_items.iter().find(|l| l.id == id).unwrap();
    assert_eq!(line("101").refunded_quantity, Some(1));
    assert_eq!(line("103").refunded_quantity, Some(0));
    assert_eq!(
        o.paid_at.map(|t| t.to_rfc3339()),
        Some("2025-06-02T09:15:00+00:00".into()),
        "the paid invoice, not the cancelled one"
    );
    assert_eq!(
        o.fulfilled_at.map(|t| t.to_rfc3339()),
        Some("2025-06-03T10:00:00+00:00".into())
    );
    assert_eq!(o.shipments.len(), 1);
    let kg = |v: &str| {
        Some(Weight {
            value: v.into(),
            unit: WeightUnit::Kg,
        })
    };
    assert_eq!(o.total_weight, kg("1.05"));
    assert_eq!(line("101").weight, kg("0.3"), "per unit");
    assert_eq!(line("104").weight, None, "a download weighs nothing");
    assert_eq!(line("104").requires_shipping, Some(false));
    assert_eq!(line("103").requires_shipping, Some(true));
    assert_eq!(
        line("101").variant_options,
        [
            ("Color".to_string(), "Orange".to_string()),
            ("Size".into(), "M".into())
        ]
        .into()
    );

    // Without its documents (a lone payload): nothing invented.
    let alone = order("order_taxed_eur.json");
    assert!(alone.refunds.is_empty() && alone.shipments.is_empty());
    assert_eq!(
        alone.refunded_total.as_deref(),
        Some("31.78"),
        "Magento's total_refunded"
    );
    assert_eq!((alone.paid_at, alone.fulfilled_at), (None, None));
    assert_eq!(
        alone.total_weight, None,
        "no unit without the store configuration"
    );
    assert!(alone.line_items[0].variant_options.is_empty());
    // An order never refunded: Magento leaves total_refunded unset.
    assert_eq!(
        order("order_normal.json").refunded_total.as_deref(),
        Some("0.00")
    );
    assert_eq!(
        order("order_partial_jpy.json").refunded_total.as_deref(),
        Some("3300")
    );
    // Not paid in full: no paid_at, whatever the invoices.
    let docs = fixture("order_taxed_eur_documents.json");
    let mut unpaid = fixture("order_taxed_eur.json");
    unpaid["total_paid"] = json!(40);
    let invoices = docs["invoices"].as_array().unwrap().clone();
    let cx = mapping::OrderContext {
        invoices: Some(&invoices),
        ..Default::default()
    };
    assert_eq!(mapping::order_with(&unpaid, &cx).unwrap().paid_at, None);
}

#[test]
fn product_weights_shipping_and_stock() {
    let lb = mapping::ProductContext {
        weight_unit: Some(WeightUnit::Lb),
        ..Default::default()
    };
    let p = mapping::product(&fixture("product_simple.json"), &lb).unwrap();
    assert_eq!(
        p.weight,
        Some(Weight {
            value: "1".into(),
            unit: WeightUnit::Lb
        })
    );
    assert_eq!(p.requires_shipping, Some(true));
    assert_eq!(
        (p.barcode, p.dimensions),
        (None, None),
        "Magento has neither"
    );
    assert_eq!(p.quantity, Some(100));
    assert!(p.inventory_levels.is_empty(), "levels unknown alone");
    let mut raw = fixture("product_simple.json");
    raw.as_object_mut().unwrap().remove("weight");
    raw["type_id"] = json!("downloadable");
    let d = mapping::product(&raw, &lb).unwrap();
    assert_eq!((d.weight, d.requires_shipping), (None, Some(false)));

    // One stock (no MSI): one level equal to the quantity.
    let single = mapping::ProductContext {
        stock: mapping::Stock::SingleStock,
        ..Default::default()
    };
    let p = mapping::product(&fixture("product_simple.json"), &single).unwrap();
    assert_eq!(
        p.inventory_levels,
        vec![InventoryLevel {
            location_id: "default".into(),
            available: 100
        }]
    );
    // Stock not managed: no quantity, no levels, whatever the sources say.
    let sources = mapping::ProductContext {
        stock: mapping::Stock::Sources(vec![InventoryLevel {
            location_id: "default".into(),
            available: 3,
        }]),
        ..Default::default()
    };
    let d = mapping::product(&fixture("product_disabled.json"), &sources).unwrap();
    assert_eq!((d.quantity, d.inventory_levels.len()), (None, 0));

    let levels = mapping::source_item_levels(&[
        json!({"sku": "A", "source_code": "default", "quantity": 4.0, "status": 1}),
        json!({"sku": "A", "source_code": "berlin", "quantity": "2.5", "status": 1}),
        json!({"sku": "B", "source_code": "default", "quantity": 0, "status": 0}),
        json!({"sku": "", "source_code": "default", "quantity": 9}),
    ]);
    assert_eq!(
        levels["A"]
            .iter()
            .map(|l| (l.location_id.as_str(), l.available))
            .collect::<Vec<_>>(),
        vec![("default", 4), ("berlin", 2)],
        "whole units"
    );
    assert_eq!(levels.len(), 2);

    let loc = mapping::location(
        &json!({"source_code": "berlin", "name": "Lager Berlin", "enabled": false,
        "street": "Friedrichstraße 43", "city": "Berlin", "postcode": "10117", "country_id": "de"}),
    )
    .unwrap();
    assert_eq!(loc.id, "berlin");
    assert!(!loc.active);
    assert_eq!(loc.address.unwrap().country_code.as_deref(), Some("DE"));
    assert!(mapping::location(&json!({"name": "x"})).is_err());
}

#[test]
fn unwritable_fields_are_refused() {
    let u = ProductUpdate {
        barcode: Some("4006381333931".into()),
        ..Default::default()
    };
    assert!(matches!(
        mapping::product_update_body("MB01", &u, Some(WeightUnit::Lb)),
        Err(ConnectorError::Unsupported(m)) if m.contains("barcode")
    ));
    let u = ProductUpdate {
        dimensions: Some(Dimensions {
            length: Some("1".into()),
            width: None,
            height: None,
            unit: LengthUnit::Cm,
        }),
        ..Default::default()
    };
    assert!(matches!(
        mapping::product_update_body("MB01", &u, Some(WeightUnit::Lb)),
        Err(ConnectorError::Unsupported(m)) if m.contains("dimensions")
    ));
    let u = ProductUpdate {
        weight: Some(Weight {
            value: "1.5".into(),
            unit: WeightUnit::Kg,
        }),
        ..Default::default()
    };
    let body = mapping::product_update_body("MB01", &u, Some(WeightUnit::Kg)).unwrap();
    assert_eq!(body["product"]["weight"], json!(1.5));
    let body = mapping::product_update_body("MB01", &u, Some(WeightUnit::Lb)).unwrap();
    assert_eq!(body["product"]["weight"], json!(3.3069));
    assert_eq!(
        mapping::source_items_body("MB01", &[("berlin".into(), 0)]),
        json!({"sourceItems": [{"sku": "MB01", "source_code": "berlin", "quantity": 0, "status": 0}]})
    );
}

// ---------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------

#[test]
fn odd_upstream_data_never_panics() {
    for bad in [json!(null), json!([]), json!("order"), json!(12)] {
        assert!(matches!(
            mapping::order(&bad),
            Err(ConnectorError::Upstream { .. })
        ));
        assert!(mapping::product(&bad, &mapping::ProductContext::default()).is_err());
        assert!(mapping::customer(&bad).is_err());
        assert!(mapping::category(&bad).is_err());
        assert!(mapping::shipments(&bad).is_err());
    }
    assert!(
        mapping::order(&json!({"increment_id": "1"})).is_err(),
        "no id"
    );
    // Wrong types everywhere: mapped leniently, nothing panics.
    let weird = json!({
        "entity_id": "7", "grand_total": "12.5", "subtotal": {"x": 1}, "items": {"a": 1},
        "billing_address": [], "customer_is_guest": "1", "extension_attributes": null,
        "status_histories": "none", "created_at": "yesterday", "order_currency_code": 5
    });
    let o = mapping::order(&weird).expect("lenient");
    assert_eq!(o.total.as_deref(), Some("12.50"));
    assert_eq!(o.subtotal, None);
    assert!(o.line_items.is_empty());
    assert_eq!(o.created_at, None);
    let p = mapping::product(
        &json!({"id": 1, "custom_attributes": "x", "media_gallery_entries": [1, null, {"file": 3}], "extension_attributes": {"stock_item": {"qty": "4.0"}}}),
        &mapping::ProductContext::default(),
    )
    .expect("lenient");
    assert_eq!(p.quantity, Some(4));
    assert_eq!(p.images, vec!["/media/catalog/product/3"]);
}

#[test]
fn normalize_is_the_mapping() {
    let c = cartgate_magento::Magento;
    let raw = fixture("order_normal.json");
    let v = c.normalize(ObjectKind::Order, raw.clone()).expect("order");
    assert_eq!(
        v,
        serde_json::to_value(mapping::order(&raw).unwrap()).unwrap()
    );
    assert!(c
        .normalize(ObjectKind::Product, fixture("product_simple.json"))
        .is_ok());
    assert!(c
        .normalize(
            ObjectKind::Customer,
            fixture("customer_with_addresses.json")
        )
        .is_ok());
    assert!(c
        .normalize(ObjectKind::Category, fixture("category.json"))
        .is_ok());
    assert!(c.normalize(ObjectKind::Order, json!([1])).is_err());
}

/// The official samples of ../shared, when present: they map without errors.
#[test]
fn official_samples_map() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/platform-specs/magento/samples");
    if !dir.is_dir() {
        println!("skipped: ../shared/platform-specs not found");
        return;
    }
    // The tutorial's order view has "..." elisions: parse what is JSON once they go.
    let text = std::fs::read_to_string(
        dir.join("order-create-order/02-review-the-order-as-an-admin.response.txt"),
    )
    .expect("sample");
    let cleaned = text
        .replace(",\n    ...\n", "\n")
        .replace(",\n          ...\n", "\n");
    let raw: Value =
        serde_json::from_str(&cleaned).expect("the sample is JSON without its elisions");
    let o = mapping::order(&raw).expect("maps");
    assert_eq!(o.number.as_deref(), Some("000000003"));
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.total.as_deref(), Some("165.00"));
    assert_eq!(o.line_items[0].sku.as_deref(), Some("WS12-M-Orange"));
    // The same order once the tutorial's invoice ("Create an invoice") captured the
    // payment, with that invoice, in a store weighing in pounds.
    let invoice: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("order-create-invoice/02-view-the-invoice.response.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut paid = raw.clone();
    paid["total_paid"] = paid["grand_total"].clone();
    let invoices = [invoice];
    let cx = mapping::OrderContext {
        weight_unit: Some(WeightUnit::Lb),
        invoices: Some(&invoices),
        ..Default::default()
    };
    let o = mapping::order_with(&paid, &cx).expect("maps");
    insta::assert_json_snapshot!("official_order_after_invoice", o);
    assert_eq!(o.shipping_lines[0].carrier.as_deref(), Some("tablerate"));
    assert_eq!(
        o.payment_method.as_ref().and_then(|p| p.title.as_deref()),
        Some("Bank Transfer Payment")
    );
    assert_eq!(
        o.paid_at.map(|t| t.to_rfc3339()),
        Some("2017-08-21T22:36:02+00:00".into())
    );
    assert_eq!(o.total_weight.as_ref().map(|w| w.value.as_str()), Some("2"));
    // "Manage source items": the search answer as levels per SKU.
    let items: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("manage-source-items/03-search-for-source-items.response.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let levels = mapping::source_item_levels(items["items"].as_array().unwrap());
    let l = &levels["new_product2"];
    assert_eq!(
        l.iter()
            .map(|l| (l.location_id.as_str(), l.available))
            .collect::<Vec<_>>(),
        vec![("central", 500), ("east", 250)]
    );
    // "Retrieve filtered responses" shows a Luma item named `Minerva LumaTech&trade; V-Tee-XS-Blue`
    // (a fragment with trailing commas): as an order line it reads as plain text.
    let fragment =
        std::fs::read_to_string(dir.join(
            "retrieve-filtered-responses/03-top-level-object-with-selected-fields.example.txt",
        ))
        .expect("sample");
    let field = |key: &str| -> String {
        let at = fragment.find(&format!("\"{key}\": \"")).expect(key) + key.len() + 5;
        fragment[at..].split('"').next().unwrap().to_owned()
    };
    let raw = json!({"entity_id": 1, "items": [
        {"item_id": 1, "name": field("name"), "sku": field("sku"), "qty_ordered": 1}
    ]});
    let o = mapping::order(&raw).expect("maps");
    assert_eq!(field("name"), "Minerva LumaTech&trade; V-Tee-XS-Blue");
    assert_eq!(o.line_items[0].name, "Minerva LumaTech™ V-Tee-XS-Blue");
    for p in [
        "create-simple-products/02-create-the-first-simple-product.response.json",
        "create-configurable-product/02-step-2-create-the-configurable-product.response.json",
    ] {
        let raw: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(p)).unwrap()).unwrap();
        let m = mapping::product(&raw, &mapping::ProductContext::default()).expect(p);
        assert!(!m.name.is_empty(), "{p}");
    }
    let raw: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("order-create-customer/02-create-a-customer-account.response.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let c = mapping::customer(&raw).expect("customer");
    assert!(c.email.is_some());
}

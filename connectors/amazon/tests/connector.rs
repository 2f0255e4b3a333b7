//! The connector against the Amazon sandbox, over real sockets.
//!
//! Each test starts its own sandbox (seeded, so data is the same every run) and opens a
//! session through the public `Connector` API, as the gateway does.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cartgate_connector::http::UpstreamConfig;
use cartgate_connector::model::*;
use cartgate_connector::sandbox::SandboxOptions;
use cartgate_connector::testing::{self, all_orders, all_products, cx, params, TestSandbox};
use cartgate_connector::{CallContext, ConnectorError, EventType, Filters};
use serde_json::{json, Value};

fn test_config() -> UpstreamConfig {
    testing::upstream_config(Duration::from_secs(2))
}

async fn start_sandbox(opts: SandboxOptions) -> TestSandbox {
    TestSandbox::start(cartgate_amazon::connector(), test_config(), |l| {
        cartgate_amazon::sandbox::start(l, opts)
    })
    .await
}

/// A sandbox whose `/__sandbox/*` PUT/DELETE routes are called directly.
async fn send(sb: &TestSandbox, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = sb
        .http()
        .request(method, format!("{}/__sandbox/{path}", sb.base()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn info_and_refused_credentials() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let info = sb.session().info(&cx()).await.expect("info");
    assert_eq!(info.name.as_deref(), Some("Northbound Goods"));
    assert_eq!(info.currency.as_deref(), Some("USD"));
    assert_eq!(info.url.as_deref(), Some("https://www.amazon.com"));

    // A wrong app secret: LWA's invalid_client is the store's credentials refused, and the
    // secret is not in the message.
    let mut wrong = sb.credentials();
    wrong["client_secret"] = json!("amzn1.oa2-cs.v1.not-the-secret");
    let err = sb
        .session_with(&wrong, test_config())
        .info(&cx())
        .await
        .expect_err("invalid_client");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(!err.to_string().contains("not-the-secret"), "{err}");

    // A revoked authorization: invalid_grant.
    sb.control("settings", Some(json!({"refresh_token_valid": false})))
        .await;
    let err = sb.session().info(&cx()).await.expect_err("invalid_grant");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
}

#[tokio::test]
async fn tokens_are_cached_and_renewed_once_when_expired() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    for _ in 0..3 {
        s.get_order(&cx(), &first_order_id(&sb).await)
            .await
            .unwrap();
    }
    let issued = |v: Value| v["tokens_issued"].as_u64().unwrap();
    let before = issued(sb.control("settings", None).await);
    // Every token issued so far expires: the next call is refused, renews and succeeds.
    send(&sb, reqwest::Method::DELETE, "tokens", None).await;
    s.list_locations(&cx()).await.unwrap();
    let id = first_order_id(&sb).await;
    s.get_order(&cx(), &id)
        .await
        .expect("renewed after the expired 403");
    let after = issued(sb.control("settings", None).await);
    assert!(after > before, "a new token was fetched");

    // A new session fetches its token once and keeps it for its next calls.
    let s2 = sb.session();
    s2.get_order(&cx(), &id).await.unwrap();
    let n = issued(sb.control("settings", None).await);
    s2.get_order(&cx(), &id).await.unwrap();
    assert_eq!(issued(sb.control("settings", None).await), n, "cached");

    // LWA failing for a moment is retried like any transient failure.
    sb.control("settings", Some(json!({"lwa_failures": 1})))
        .await;
    sb.session().get_order(&cx(), &id).await.expect("retried");
}

async fn first_order_id(sb: &TestSandbox) -> String {
    let page = sb
        .session()
        .list_orders(&cx(), &params(1, Filters::default()))
        .await
        .unwrap();
    page.items[0].id.clone()
}

#[tokio::test]
async fn orders_page_filter_and_read() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let all = all_orders(s.as_ref(), 7, Filters::default()).await;
    assert_eq!(all.len(), 60);
    let ids: HashSet<_> = all.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "no order twice");
    let statuses: HashSet<_> = all
        .iter()
        .map(|o| o.platform_status.clone().unwrap())
        .collect();
    for s in [
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    ] {
        assert!(statuses.contains(s), "{s} among {statuses:?}");
    }
    let currencies: HashSet<_> = all.iter().filter_map(|o| o.currency.clone()).collect();
    assert!(currencies.len() >= 2, "{currencies:?}");
    assert!(
        all.iter().any(|o| o.customer.is_none()),
        "orders without PII"
    );
    assert!(all.iter().any(|o| !o.shipping_lines.is_empty()));

    for status in ["pending", "processing", "completed", "cancelled", "failed"] {
        let got = all_orders(
            s.as_ref(),
            50,
            Filters {
                status: Some(status.into()),
                ..Default::default()
            },
        )
        .await;
        let want = all
            .iter()
            .filter(|o| serde_json::to_value(&o.status).unwrap() == status)
            .count();
        assert_eq!(got.len(), want, "status={status}");
    }
    let on_hold = all_orders(
        s.as_ref(),
        50,
        Filters {
            status: Some("on_hold".into()),
            ..Default::default()
        },
    )
    .await;
    assert!(on_hold.is_empty());

    let mut created: Vec<_> = all.iter().filter_map(|o| o.created_at).collect();
    created.sort();
    let mid = created[created.len() / 2];
    let newer = all_orders(
        s.as_ref(),
        50,
        Filters {
            created_from: Some(mid),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(newer.len(), created.iter().filter(|t| **t >= mid).count());
    // Created and updated filters together: the updated one goes to Amazon, the created
    // one is applied to the answer.
    let both = all_orders(
        s.as_ref(),
        50,
        Filters {
            created_from: Some(mid),
            updated_from: Some(created[0]),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(both.len(), newer.len());

    let one = s.get_order(&cx(), &all[3].id).await.unwrap();
    assert_eq!(one, all[3], "list and single read agree");
    let raw = s
        .get_order(&CallContext::new(true), &all[3].id)
        .await
        .unwrap();
    assert_eq!(raw.raw.as_ref().unwrap()["orderId"], json!(all[3].id));
    let err = s.get_order(&cx(), "999-9999999-9999999").await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
    let err = s
        .list_orders(
            &cx(),
            &params(
                5,
                Filters {
                    email: Some("a@b.c".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
    for err in [
        s.count_orders(&cx(), &Filters::default())
            .await
            .unwrap_err(),
        s.list_customers(&cx(), &params(5, Filters::default()))
            .await
            .unwrap_err(),
        s.list_categories(&cx(), &params(5, Filters::default()))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
    }
}

#[tokio::test]
async fn pii_the_app_may_not_see_is_null() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    sb.control("settings", Some(json!({"pii_access": false})))
        .await;
    let all = all_orders(sb.session().as_ref(), 100, Filters::default()).await;
    assert_eq!(all.len(), 60);
    for o in &all {
        assert!(
            o.customer
                .as_ref()
                .is_none_or(|c| c.first_name.is_none() && c.email.is_none()),
            "{:?}",
            o.customer
        );
        if let Some(a) = &o.shipping_address {
            assert!(a.line1.is_none() && a.first_name.is_none() && a.phone.is_none());
        }
    }
}

#[tokio::test]
async fn shipments_for_merchant_orders_only() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let raw = testing::all_pages(100, Filters::default(), |p| {
        let s = s.clone();
        async move { s.list_orders(&CallContext::new(true), &p).await }
    })
    .await;
    let by = |o: &Order| o.raw.as_ref().unwrap()["fulfillment"]["fulfilledBy"].clone();
    let open: Vec<&Order> = raw
        .iter()
        .filter(|o| o.platform_status.as_deref() == Some("UNSHIPPED") && by(o) == "MERCHANT")
        .collect();
    assert!(open.len() >= 2, "open merchant orders");
    let multi = open
        .iter()
        .find(|o| o.line_items.len() >= 2 || o.line_items.iter().any(|l| l.quantity > 1))
        .expect("a multi-unit order");

    let line = &multi.line_items[0];
    let ship = |lines: Option<Vec<ShipmentLine>>, tn: &str| NewShipment {
        carrier: "UPS".into(),
        tracking_number: tn.into(),
        tracking_url: Some("https://ups.example/1".into()),
        line_items: lines,
        notify_customer: true,
    };
    let after = s
        .create_shipment(
            &cx(),
            &multi.id,
            &ship(
                Some(vec![ShipmentLine {
                    line_item_id: line.id.clone(),
                    quantity: 1,
                }]),
                "1Z001",
            ),
        )
        .await
        .unwrap();
    assert_eq!(after.fulfillment_status, FulfillmentStatus::Partial);
    assert_eq!(
        after.shipments.last().unwrap().tracking_number.as_deref(),
        Some("1Z001")
    );
    assert_eq!(
        after.shipments.last().unwrap().carrier.as_deref(),
        Some("UPS")
    );
    // The rest, then nothing is left.
    let after = s
        .create_shipment(&cx(), &multi.id, &ship(None, "1Z002"))
        .await
        .unwrap();
    assert_eq!(after.fulfillment_status, FulfillmentStatus::Fulfilled);
    assert_eq!(
        after.shipments.len(),
        2,
        "package ids stay unique: {:?}",
        after.shipments
    );
    let err = s
        .create_shipment(&cx(), &multi.id, &ship(None, "1Z003"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");

    // An unknown carrier goes as Other with its name.
    let other = open.iter().find(|o| o.id != multi.id).unwrap();
    let after = s
        .create_shipment(
            &cx(),
            &other.id,
            &NewShipment {
                carrier: "Schenker Land".into(),
                ..ship(None, "SCH-1")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        after.shipments.last().unwrap().carrier.as_deref(),
        Some("Schenker Land")
    );

    // Bad lines and Amazon-fulfilled orders: clear 422s, nothing sent.
    let third = open.iter().find(|o| o.id != multi.id && o.id != other.id);
    if let Some(o) = third {
        for lines in [
            vec![ShipmentLine {
                line_item_id: "nope".into(),
                quantity: 1,
            }],
            vec![ShipmentLine {
                line_item_id: o.line_items[0].id.clone(),
                quantity: o.line_items[0].quantity + 1,
            }],
        ] {
            let err = s
                .create_shipment(&cx(), &o.id, &ship(Some(lines), "X"))
                .await
                .unwrap_err();
            assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
        }
    }
    let afn = raw
        .iter()
        .find(|o| by(o) == "AMAZON" && o.status == OrderStatus::Processing)
        .expect("an Amazon-fulfilled order in progress");
    let err = s
        .create_shipment(&cx(), &afn.id, &ship(None, "X"))
        .await
        .unwrap_err();
    match err {
        ConnectorError::Validation(m) => assert!(m.contains("FBA"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn products_families_and_stock_by_channel() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let all = all_products(s.as_ref(), 7, Filters::default()).await;
    assert!(all.len() >= 10, "{}", all.len());
    let ids: HashSet<_> = all.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "no product twice");
    let variant_skus: HashSet<_> = all
        .iter()
        .flat_map(|p| p.variants.iter().filter_map(|v| v.sku.clone()))
        .collect();
    assert!(!variant_skus.is_empty(), "variation families");
    assert!(
        all.iter()
            .all(|p| !variant_skus.contains(p.sku.as_deref().unwrap())),
        "children show only inside their family"
    );
    let locations = s.list_locations(&cx()).await.unwrap();
    let loc_ids: Vec<_> = locations.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(loc_ids, ["DEFAULT", "AMAZON_NA"]);
    let items: Vec<(Option<i64>, &Vec<InventoryLevel>)> = all
        .iter()
        .flat_map(|p| {
            std::iter::once((p.quantity, &p.inventory_levels))
                .filter(|(_, l)| !l.is_empty())
                .chain(p.variants.iter().map(|v| (v.quantity, &v.inventory_levels)))
        })
        .collect();
    for (q, levels) in &items {
        assert_eq!(*q, Some(levels.iter().map(|l| l.available).sum::<i64>()));
    }
    assert!(
        items.iter().any(|(_, l)| l.len() == 2),
        "MFN and FBA stock on one SKU"
    );
    assert!(items.iter().any(|(_, l)| l
        .iter()
        .any(|x| x.location_id == "AMAZON_NA" && x.available > 0)));

    // One product reads as the list shows it; a child's SKU finds its family.
    let family = all.iter().find(|p| p.variants.len() >= 2).unwrap();
    assert_eq!(&s.get_product(&cx(), &family.id).await.unwrap(), family);
    assert_eq!(
        s.get_product(&cx(), &family.variants[1].id)
            .await
            .unwrap()
            .id,
        family.id
    );
    let by_sku = all_products(
        s.as_ref(),
        10,
        Filters {
            sku: family.sku.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_sku.len(), 1);
    assert_eq!(by_sku[0].id, family.id);
    let active = all_products(
        s.as_ref(),
        20,
        Filters {
            status: Some("active".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        active.len(),
        all.iter()
            .filter(|p| p.status == ProductStatus::Active)
            .count()
    );
    let err = s.get_product(&cx(), "NO-SUCH-SKU").await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn product_and_variant_writes() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let all = all_products(s.as_ref(), 20, Filters::default()).await;
    let mfn_only =
        |levels: &[InventoryLevel]| levels.len() == 1 && levels[0].location_id == "DEFAULT";
    let simple = all
        .iter()
        .find(|p| p.variants.is_empty() && mfn_only(&p.inventory_levels))
        .expect("a merchant-fulfilled simple listing");
    let after = s
        .update_product(
            &cx(),
            &simple.id,
            &ProductUpdate {
                name: Some("Renamed Überjacke & Co".into()),
                price: Some("42.50".into()),
                quantity: Some(7),
                barcode: Some("4006381333931".into()),
                weight: Some(Weight {
                    value: "1.5".into(),
                    unit: WeightUnit::Kg,
                }),
                dimensions: Some(Dimensions {
                    length: Some("30".into()),
                    width: Some("20".into()),
                    height: Some("10".into()),
                    unit: LengthUnit::Cm,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.name, "Renamed Überjacke & Co");
    assert_eq!(after.price.as_deref(), Some("42.50"));
    assert_eq!(after.quantity, Some(7));
    assert_eq!(after.barcode.as_deref(), Some("4006381333931"));
    assert_eq!(
        after.weight,
        Some(Weight {
            value: "1.5".into(),
            unit: WeightUnit::Kg
        })
    );
    assert_eq!(
        after.dimensions.as_ref().unwrap().length.as_deref(),
        Some("30")
    );
    for refused in [
        ProductUpdate {
            status: Some(ProductStatus::Archived),
            ..Default::default()
        },
        ProductUpdate {
            sku: Some("NEW".into()),
            ..Default::default()
        },
    ] {
        let err = s
            .update_product(&cx(), &simple.id, &refused)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
    }

    // A variant with merchant and FBA stock: its DEFAULT level is written, FBA is
    // Amazon's; the total moves by what was written.
    let (family, v) = all
        .iter()
        .find_map(|p| {
            p.variants
                .iter()
                .find(|v| v.inventory_levels.len() == 2)
                .map(|v| (p, v))
        })
        .expect("a variant stocked in both channels");
    let fba = v
        .inventory_levels
        .iter()
        .find(|l| l.location_id == "AMAZON_NA")
        .unwrap()
        .available;
    let level = |id: &str, n| InventoryLevel {
        location_id: id.into(),
        available: n,
    };
    let after = s
        .update_variant(
            &cx(),
            &family.id,
            &v.id,
            &VariantUpdate {
                price: Some("19.95".into()),
                inventory_levels: Some(vec![level("DEFAULT", 11)]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let got = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(got.price.as_deref(), Some("19.95"));
    assert_eq!(
        got.inventory_levels,
        vec![level("DEFAULT", 11), level("AMAZON_NA", fba)]
    );
    assert_eq!(got.quantity, Some(11 + fba));
    // `quantity` is the total: the merchant stock becomes what is above the FBA units.
    let after = s
        .update_variant(
            &cx(),
            &family.id,
            &v.id,
            &VariantUpdate {
                quantity: Some(fba + 3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let got = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(got.inventory_levels[0], level("DEFAULT", 3));
    for (u, unsupported) in [
        (
            VariantUpdate {
                inventory_levels: Some(vec![level("AMAZON_NA", 1)]),
                ..Default::default()
            },
            true,
        ),
        (
            VariantUpdate {
                inventory_levels: Some(vec![level("987654321", 1)]),
                ..Default::default()
            },
            false,
        ),
        (
            VariantUpdate {
                quantity: Some(fba - 1),
                ..Default::default()
            },
            false,
        ),
    ] {
        if fba == 0 && u.quantity.is_some() {
            continue;
        }
        let err = s
            .update_variant(&cx(), &family.id, &v.id, &u)
            .await
            .unwrap_err();
        if unsupported {
            assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
        } else {
            assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
        }
    }
    // A variant of another family is not found under this one.
    let other = all
        .iter()
        .find(|p| p.id != family.id && !p.variants.is_empty())
        .unwrap();
    let err = s
        .update_variant(
            &cx(),
            &family.id,
            &other.variants[0].id,
            &VariantUpdate {
                price: Some("1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
    // Stock and price of a family go on its variants.
    let err = s
        .update_product(
            &cx(),
            &family.id,
            &ProductUpdate {
                price: Some("1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn new_listings() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let new = |sku: Option<&str>| NewProduct {
        name: "Neues Produkt".into(),
        description: Some("Handmade".into()),
        sku: sku.map(str::to_owned),
        status: Some(ProductStatus::Draft),
        price: Some("9.99".into()),
        quantity: None,
        category_ids: vec![],
        platform_fields: None,
    };
    let p = s
        .create_product(&cx(), &new(Some("CG-NEW-1")))
        .await
        .unwrap();
    assert_eq!(
        (p.id.as_str(), p.name.as_str()),
        ("CG-NEW-1", "Neues Produkt")
    );
    assert_eq!(p.status, ProductStatus::Draft, "no stock: not buyable");
    assert_eq!(p.price.as_deref(), Some("9.99"));
    assert_eq!(s.get_product(&cx(), "CG-NEW-1").await.unwrap(), p);

    let with_fields = NewProduct {
        quantity: Some(5),
        platform_fields: Some(
            json!({"product_type": "PRODUCT", "attributes": {"brand": [{"value": "Northbound"}]}})
                .as_object()
                .unwrap()
                .clone(),
        ),
        ..new(Some("CG NEW/2"))
    };
    let p = s.create_product(&cx(), &with_fields).await.unwrap();
    assert_eq!(p.quantity, Some(5));
    assert_eq!(
        cartgate_amazon::mapping::id_sku(&p.id).as_deref(),
        Some("CG NEW/2")
    );
    assert_eq!(s.get_product(&cx(), &p.id).await.unwrap().id, p.id);

    for (bad, unsupported) in [
        (new(None), false),
        (new(Some("CG-NEW-1")), false),
        (
            NewProduct {
                status: Some(ProductStatus::Active),
                ..new(Some("CG-NEW-3"))
            },
            true,
        ),
        (
            NewProduct {
                platform_fields: Some(json!({"colour": "red"}).as_object().unwrap().clone()),
                ..new(Some("CG-NEW-4"))
            },
            false,
        ),
        (
            NewProduct {
                platform_fields: Some(
                    json!({"attributes": {"no_such_attribute": [{"value": 1}]}})
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
                ..new(Some("CG-NEW-5"))
            },
            false,
        ),
    ] {
        let err = s.create_product(&cx(), &bad).await.unwrap_err();
        if unsupported {
            assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
        } else {
            assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
        }
    }
}

#[tokio::test]
async fn proxy_reaches_any_path_with_the_token() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/sellers/v1/account".into(),
                query: Default::default(),
                body: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/orders/v0/orders".into(),
                query: [(
                    "CreatedAfter".to_string(),
                    "2020-01-01T00:00:00Z".to_string(),
                )]
                .into(),
                body: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404, "deprecated v0 reads are gone: {}", r.body);
    let err = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/../auth/o2/token".into(),
                query: Default::default(),
                body: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
}

/// Amazon's real usage plans, 200 times faster: reading the orders takes what the
/// buckets allow, Amazon's 429s never reach the caller, and a call that would wait past its
/// deadline is answered at once.
#[tokio::test]
async fn paced_by_the_usage_plans_without_429s() {
    let sb = start_sandbox(SandboxOptions {
        orders: 300,
        rate_limits: true,
        ..Default::default()
    })
    .await;
    sb.control(
        "rate_limits",
        Some(json!({"enabled": true, "scale": 200.0})),
    )
    .await;
    let s = sb.session();
    let started = Instant::now();
    let all = all_orders(s.as_ref(), 10, Filters::default()).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(all.len(), 300);
    // 30 searchOrders calls: 20 from the burst, 10 at 0.0056 × 200 = 1.12/s.
    let rate = 0.0056 * 200.0;
    let ideal = 10.0 / rate;
    assert!(elapsed >= ideal * 0.9, "{elapsed:.2}s < {ideal:.2}s");
    assert!(
        elapsed <= ideal * 1.2 + 0.5,
        "{elapsed:.2}s > 1.2 × {ideal:.2}s"
    );
    let limits = sb.control("rate_limits", None).await;
    assert_eq!(
        limits["operations"]["searchOrders"]["throttled"], 0,
        "no 429 from the sandbox: {limits}"
    );

    // Someone else drains the bucket (another app instance): Amazon's 429 is absorbed
    // and the call waits for the next unit.
    sb.control(
        "rate_limits",
        Some(json!({"operations": {"getOrder": {"rate": 5.0, "burst": 1}}})),
    )
    .await;
    let id = &all[0].id;
    for _ in 0..3 {
        s.get_order(&cx(), id).await.expect("paced, no 429");
    }

    // With Amazon's real rate, the 21st search would wait ~3 minutes: answered at once.
    sb.control("rate_limits", Some(json!({"enabled": true, "scale": 1.0})))
        .await;
    let fresh = sb.session_with(&sb.credentials(), test_config());
    let deadline = Instant::now() + Duration::from_secs(5);
    let cx5 = CallContext::new(false).with_deadline(deadline);
    let mut limited = None;
    for _ in 0..25 {
        match fresh
            .list_orders(&cx5, &params(100, Filters::default()))
            .await
        {
            Ok(_) => {}
            Err(e) => {
                limited = Some(e);
                break;
            }
        }
    }
    assert!(Instant::now() < deadline, "answered before the deadline");
    match limited {
        Some(ConnectorError::RateLimited {
            retry_after: Some(w),
        }) => assert!(w > Duration::from_secs(60), "{w:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn background_reads_leave_the_budget_to_clients() {
    let sb = start_sandbox(SandboxOptions {
        rate_limits: true,
        ..Default::default()
    })
    .await;
    let s = sb.session();
    let bg = CallContext::for_background();
    let mut polls = 0;
    while s
        .list_orders(&bg, &params(100, Filters::default()))
        .await
        .is_ok()
    {
        polls += 1;
        assert!(polls < 20, "the poller stops short of the burst");
    }
    // Burst 20: the poller used at most half; clients still read at once.
    assert!((5..=11).contains(&polls), "{polls}");
    let started = Instant::now();
    for _ in 0..8 {
        s.list_orders(&cx(), &params(100, Filters::default()))
            .await
            .expect("clients keep their share");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn simulated_changes_are_seen_by_updated_since() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let before = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
    let id = sb.simulate(EventType::OrderCreated, None).await;
    let changed = all_orders(
        s.as_ref(),
        50,
        Filters {
            updated_from: Some(before),
            ..Default::default()
        },
    )
    .await;
    assert!(changed.iter().any(|o| o.id == id), "{id}");
    let sku = sb.simulate(EventType::ProductUpdated, None).await;
    let changed = all_products(
        s.as_ref(),
        20,
        Filters {
            updated_from: Some(before),
            ..Default::default()
        },
    )
    .await;
    assert!(
        changed
            .iter()
            .any(|p| p.sku.as_deref() == Some(sku.as_str())
                || p.variants
                    .iter()
                    .any(|v| v.sku.as_deref() == Some(sku.as_str()))),
        "{sku}: {changed:?}"
    );
}

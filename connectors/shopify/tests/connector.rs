//! The connector against the Shopify sandbox, over real loopback sockets.
//!
//! Each test starts its own sandbox (seeded, so the data is the same every run) and opens a
//! session through the public `Connector` API, as the gateway does.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cartgate_connector::http::UpstreamConfig;
use cartgate_connector::model::*;
use cartgate_connector::sandbox::SandboxOptions;
use cartgate_connector::testing::{self, all_orders, all_products, cx, params, TestSandbox};
use cartgate_connector::{CallContext, ConnectorError, Filters, ListParams, StoreSession};
use cartgate_shopify::sandbox::ThrottleConfig;
use serde_json::{json, Value};

fn test_config() -> UpstreamConfig {
    testing::upstream_config(Duration::from_secs(5))
}

async fn start_sandbox(opts: SandboxOptions, throttle: ThrottleConfig) -> TestSandbox {
    TestSandbox::start(cartgate_shopify::connector(), test_config(), |l| {
        cartgate_shopify::sandbox::start_with(l, opts, throttle)
    })
    .await
}

/// A raw GraphQL call with the sandbox token (another client of the same app).
async fn graphql(sb: &TestSandbox, query: &str) -> Value {
    sb.http()
        .post(format!(
            "{}/admin/api/{}/graphql.json",
            sb.base(),
            cartgate_shopify::DEFAULT_API_VERSION
        ))
        .header(
            "x-shopify-access-token",
            sb.credentials()["access_token"].as_str().unwrap(),
        )
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("graphql answers")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn info_validates_credentials() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let info = sb.session().info(&cx()).await.expect("info");
    assert_eq!(info.currency.as_deref(), Some("USD"));
    assert_eq!(info.name.as_deref(), Some("Cartgate Demo"));
    assert_eq!(info.timezone.as_deref(), Some("America/Toronto"));

    let mut wrong = sb.credentials();
    wrong["access_token"] = json!("shpat_not_the_token");
    let err = sb
        .session_with(&wrong, test_config())
        .info(&cx())
        .await
        .expect_err("wrong token");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(!err.to_string().contains("shpat_not_the_token"));

    // An endpoint that is no Shopify Admin API.
    let mut elsewhere = sb.credentials();
    elsewhere["endpoint"] = json!(format!("{}/nothing-here", sb.handle.banner.base_url));
    let err = sb
        .session_with(&elsewhere, test_config())
        .info(&cx())
        .await
        .expect_err("not an API");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn orders_page_through_without_duplicates() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    for limit in [7, 50, 250] {
        let orders = all_orders(s.as_ref(), limit, Filters::default()).await;
        let count = s.count_orders(&cx(), &Filters::default()).await.unwrap();
        assert_eq!(orders.len() as u64, count, "limit {limit}");
        assert_eq!(count, 60);
        let ids: HashSet<_> = orders.iter().map(|o| o.id.clone()).collect();
        assert_eq!(ids.len(), orders.len(), "no duplicates");
        let ns: Vec<u64> = orders.iter().map(|o| o.id.parse().unwrap()).collect();
        assert!(ns.windows(2).all(|w| w[0] > w[1]), "newest first");
    }
    let orders = all_orders(s.as_ref(), 50, Filters::default()).await;
    // The seeded variety reaches the mapping.
    let has = |f: &dyn Fn(&Order) -> bool| orders.iter().any(f);
    assert!(
        has(&|o| o.customer.as_ref().is_some_and(|c| c.id.is_none())),
        "guest checkout"
    );
    assert!(has(
        &|o| o.customer.is_none() || o.customer.as_ref().is_some_and(|c| c.email.is_none())
    ));
    assert!(has(&|o| o.fulfillment_status == FulfillmentStatus::Partial));
    assert!(has(
        &|o| o.payment_status == PaymentStatus::PartiallyRefunded
    ));
    assert!(has(&|o| o.status == OrderStatus::Refunded));
    assert!(has(&|o| o.status == OrderStatus::Cancelled));
    assert!(has(&|o| o.status == OrderStatus::Completed));
    assert!(has(
        &|o| !o.shipments.is_empty() && o.shipments[0].tracking_number.is_some()
    ));
    assert!(has(&|o| o.shipping_address.is_none()));
    for o in &orders {
        assert_eq!(o.currency.as_deref(), Some("USD"), "shop money");
        assert!(
            o.total.as_deref().is_some_and(|t| t.contains('.')),
            "{:?}",
            o.total
        );
        assert!(o.platform_status.is_some());
        assert!(o.number.as_deref().is_some_and(|n| n.starts_with('#')));
        assert!(!o.line_items.is_empty());
    }
    // A cursor from another list is refused.
    let bad = ListParams {
        limit: 5,
        state: Some(json!({"offset": 3})),
        filters: Filters::default(),
    };
    assert!(matches!(
        s.list_orders(&cx(), &bad).await,
        Err(ConnectorError::Validation(_))
    ));
}

#[tokio::test]
async fn order_filters_and_counts_agree() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let all = all_orders(s.as_ref(), 250, Filters::default()).await;
    for status in [
        "pending",
        "processing",
        "on_hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
    ] {
        let f = Filters {
            status: Some(status.into()),
            ..Default::default()
        };
        let listed = all_orders(s.as_ref(), 250, f.clone()).await;
        let expected = all
            .iter()
            .filter(|o| serde_json::to_value(&o.status).unwrap() == json!(status))
            .count();
        assert_eq!(listed.len(), expected, "status {status}");
        assert!(listed
            .iter()
            .all(|o| serde_json::to_value(&o.status).unwrap() == json!(status)));
        assert_eq!(
            s.count_orders(&cx(), &f).await.unwrap(),
            expected as u64,
            "{status}"
        );
    }
    let f = Filters {
        status: Some("unknown".into()),
        ..Default::default()
    };
    assert!(matches!(
        s.list_orders(&cx(), &params(5, f)).await,
        Err(ConnectorError::Unsupported(_))
    ));

    // Dates: inclusive bounds.
    let mut created: Vec<_> = all.iter().filter_map(|o| o.created_at).collect();
    created.sort();
    let (from, to) = (created[10], created[20]);
    let f = Filters {
        created_from: Some(from),
        created_to: Some(to),
        ..Default::default()
    };
    let listed = all_orders(s.as_ref(), 250, f.clone()).await;
    assert_eq!(listed.len(), 11);
    assert_eq!(s.count_orders(&cx(), &f).await.unwrap(), 11);
    let upd = all.iter().filter_map(|o| o.updated_at).max().unwrap();
    let f = Filters {
        updated_from: Some(upd),
        ..Default::default()
    };
    assert!(all_orders(s.as_ref(), 10, f)
        .await
        .iter()
        .all(|o| o.updated_at >= Some(upd)));

    let f = Filters {
        email: Some("x@example.com".into()),
        ..Default::default()
    };
    assert!(matches!(
        s.count_orders(&cx(), &f).await,
        Err(ConnectorError::Unsupported(_))
    ));
}

#[tokio::test]
async fn get_order_with_raw_and_not_found() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let first = &all_orders(s.as_ref(), 5, Filters::default()).await[0];
    let raw_cx = CallContext::new(true);
    let o = s.get_order(&raw_cx, &first.id).await.expect("get");
    assert_eq!(o.id, first.id);
    let raw = o.raw.as_ref().expect("raw attached");
    assert_eq!(raw["id"], json!(format!("gid://shopify/Order/{}", o.id)));
    assert!(raw["totalPriceSet"]["presentmentMoney"]["currencyCode"].is_string());
    let page = s
        .list_orders(&raw_cx, &params(3, Filters::default()))
        .await
        .unwrap();
    assert!(page.items.iter().all(|o| o.raw.is_some()));
    assert!(s.get_order(&cx(), &first.id).await.unwrap().raw.is_none());
    for bad in ["1", "99999999999", "abc", "gid"] {
        let err = s.get_order(&cx(), bad).await.expect_err(bad);
        assert!(matches!(err, ConnectorError::NotFound(_)), "{bad}: {err:?}");
    }
}

async fn open_order(s: &dyn StoreSession) -> Order {
    let f = Filters {
        status: Some("processing".into()),
        ..Default::default()
    };
    all_orders(s, 250, f)
        .await
        .into_iter()
        .find(|o| {
            o.fulfillment_status == FulfillmentStatus::Unfulfilled
                && o.line_items.iter().any(|l| l.quantity >= 2)
                && o.line_items.len() >= 2
        })
        .expect("an unshipped processing order with a line of 2+")
}

#[tokio::test]
async fn shipments_partial_then_full_are_visible() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let order = open_order(s.as_ref()).await;
    let line = order.line_items.iter().find(|l| l.quantity >= 2).unwrap();

    // Bad input first.
    let mut ship = NewShipment {
        carrier: "UPS".into(),
        tracking_number: "1Z999".into(),
        tracking_url: Some("https://www.ups.com/track?tracknum=1Z999".into()),
        line_items: Some(vec![ShipmentLine {
            line_item_id: "424242".into(),
            quantity: 1,
        }]),
        notify_customer: false,
    };
    assert!(matches!(
        s.create_shipment(&cx(), &order.id, &ship).await,
        Err(ConnectorError::Validation(_))
    ));
    ship.line_items = Some(vec![ShipmentLine {
        line_item_id: line.id.clone(),
        quantity: line.quantity + 1,
    }]);
    assert!(matches!(
        s.create_shipment(&cx(), &order.id, &ship).await,
        Err(ConnectorError::Validation(_))
    ));
    assert!(matches!(
        s.create_shipment(&cx(), "77", &ship).await,
        Err(ConnectorError::NotFound(_))
    ));

    // Partial: one unit of one line.
    ship.line_items = Some(vec![ShipmentLine {
        line_item_id: line.id.clone(),
        quantity: 1,
    }]);
    let after = s
        .create_shipment(&cx(), &order.id, &ship)
        .await
        .expect("partial");
    assert_eq!(after.fulfillment_status, FulfillmentStatus::Partial);
    assert_eq!(after.shipments.len(), 1);
    assert_eq!(after.shipments[0].carrier.as_deref(), Some("UPS"));
    assert_eq!(after.shipments[0].tracking_number.as_deref(), Some("1Z999"));
    assert_eq!(
        s.get_order(&cx(), &order.id).await.unwrap().shipments,
        after.shipments,
        "visible to a later read"
    );

    // Then everything left.
    let rest = NewShipment {
        carrier: "DHL Express".into(),
        tracking_number: "JD0002".into(),
        tracking_url: None,
        line_items: None,
        notify_customer: true,
    };
    let done = s
        .create_shipment(&cx(), &order.id, &rest)
        .await
        .expect("rest");
    assert_eq!(done.fulfillment_status, FulfillmentStatus::Fulfilled);
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.shipments.len(), 2);
    assert!(
        matches!(
            s.create_shipment(&cx(), &order.id, &rest).await,
            Err(ConnectorError::Validation(_))
        ),
        "nothing left to ship"
    );
    let bad_url = NewShipment {
        tracking_url: Some("javascript:alert(1)".into()),
        ..rest.clone()
    };
    assert!(matches!(
        s.create_shipment(&cx(), &order.id, &bad_url).await,
        Err(ConnectorError::Validation(_))
    ));
}

#[tokio::test]
async fn products_filters_and_writes_are_visible() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let all = all_products(s.as_ref(), 7, Filters::default()).await;
    assert_eq!(all.len(), 25);
    assert_eq!(
        s.count_products(&cx(), &Filters::default()).await.unwrap(),
        25
    );
    let ids: HashSet<_> = all.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids.len(), 25);
    assert!(all.iter().all(|p| p.currency.as_deref() == Some("USD")));
    let multi = all.iter().find(|p| p.variants.len() > 1).expect("variants");
    assert!(multi
        .variants
        .iter()
        .all(|v| v.options.contains_key("Size") && v.options.contains_key("Color")));
    let single = all
        .iter()
        .find(|p| p.variants.len() == 1 && p.sku.is_some() && p.quantity.is_some())
        .expect("a default-variant product");
    assert!(single.variants[0].options.is_empty());

    // sku filter
    let sku = single.sku.clone().unwrap();
    let f = Filters {
        sku: Some(sku.clone()),
        ..Default::default()
    };
    let found = all_products(s.as_ref(), 10, f.clone()).await;
    assert_eq!(
        found.iter().map(|p| &p.id).collect::<Vec<_>>(),
        vec![&single.id]
    );
    assert_eq!(s.count_products(&cx(), &f).await.unwrap(), 1);
    for (status, word) in [
        ("draft", ProductStatus::Draft),
        ("archived", ProductStatus::Archived),
        ("active", ProductStatus::Active),
    ] {
        let f = Filters {
            status: Some(status.into()),
            ..Default::default()
        };
        let listed = all_products(s.as_ref(), 50, f.clone()).await;
        assert_eq!(
            listed.len(),
            all.iter().filter(|p| p.status == word).count()
        );
        assert!(!listed.is_empty());
        assert_eq!(
            s.count_products(&cx(), &f).await.unwrap(),
            listed.len() as u64
        );
    }

    // create
    let created = s
        .create_product(
            &cx(),
            &NewProduct {
                name: "Zoë's Tee".into(),
                description: Some("<p>Soft.</p>".into()),
                sku: Some("ZOE-TEE".into()),
                status: Some(ProductStatus::Active),
                price: Some("19.90".into()),
                quantity: Some(12),
                category_ids: vec!["3000000002".into()],
                platform_fields: None,
            },
        )
        .await
        .expect("create");
    assert_eq!(created.name, "Zoë's Tee");
    assert_eq!(created.price.as_deref(), Some("19.90"));
    assert_eq!(created.sku.as_deref(), Some("ZOE-TEE"));
    assert_eq!(created.quantity, Some(12));
    assert_eq!(created.category_ids, vec!["3000000002".to_owned()]);
    assert_eq!(created.status, ProductStatus::Active);
    let again = s.get_product(&cx(), &created.id).await.unwrap();
    assert_eq!(again, created);
    assert_eq!(
        s.count_products(&cx(), &Filters::default()).await.unwrap(),
        26
    );

    // update product-level and default-variant fields
    let updated = s
        .update_product(
            &cx(),
            &created.id,
            &ProductUpdate {
                name: Some("Zoë's Tee v2".into()),
                status: Some(ProductStatus::Draft),
                price: Some("21.00".into()),
                quantity: Some(3),
                sku: Some("ZOE-TEE-2".into()),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.name, "Zoë's Tee v2");
    assert_eq!(updated.status, ProductStatus::Draft);
    assert_eq!(updated.price.as_deref(), Some("21.00"));
    assert_eq!(updated.quantity, Some(3));
    assert_eq!(updated.sku.as_deref(), Some("ZOE-TEE-2"));
    assert_eq!(s.get_product(&cx(), &created.id).await.unwrap(), updated);

    // variant of a multi-variant product
    let v = &multi.variants[1];
    let after = s
        .update_variant(
            &cx(),
            &multi.id,
            &v.id,
            &VariantUpdate {
                price: Some("99.95".into()),
                quantity: Some(7),
                sku: Some("NEW-SKU".into()),
                ..Default::default()
            },
        )
        .await
        .expect("variant update");
    let nv = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(nv.price.as_deref(), Some("99.95"));
    assert_eq!(nv.quantity, Some(7));
    assert_eq!(nv.sku.as_deref(), Some("NEW-SKU"));
    assert_eq!(s.get_product(&cx(), &multi.id).await.unwrap(), after);

    // bad input
    let err = s
        .update_product(
            &cx(),
            &multi.id,
            &ProductUpdate {
                price: Some("1.00".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("ambiguous on many variants");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
    let err = s
        .update_variant(
            &cx(),
            &multi.id,
            &v.id,
            &VariantUpdate {
                price: Some("-1".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("negative");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
    let err = s
        .update_variant(
            &cx(),
            &multi.id,
            &single.variants[0].id,
            &VariantUpdate::default(),
        )
        .await
        .expect_err("a variant of another product");
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
    let err = s
        .create_product(
            &cx(),
            &NewProduct {
                name: " ".into(),
                description: None,
                sku: None,
                status: None,
                price: None,
                quantity: None,
                category_ids: vec![],
                platform_fields: None,
            },
        )
        .await
        .expect_err("blank name");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
    let err = s
        .create_product(
            &cx(),
            &NewProduct {
                name: "x".into(),
                description: None,
                sku: None,
                status: None,
                price: None,
                quantity: None,
                category_ids: vec!["1".into()],
                platform_fields: None,
            },
        )
        .await
        .expect_err("unknown collection: userErrors");
    assert!(
        matches!(err, ConnectorError::Validation(ref m) if m.contains("collectionsToJoin")),
        "{err:?}"
    );
    assert!(matches!(
        s.get_product(&cx(), "123").await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn customers_and_categories() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let mut p = params(8, Filters::default());
    let mut all = Vec::new();
    loop {
        let page = s.list_customers(&cx(), &p).await.unwrap();
        all.extend(page.items);
        match page.next {
            Some(n) => p.state = Some(n),
            None => break,
        }
    }
    assert_eq!(all.len(), 30);
    assert_eq!(
        s.count_customers(&cx(), &Filters::default()).await.unwrap(),
        30
    );
    assert!(all.iter().any(|c| c.addresses.is_empty()));
    assert!(all.iter().any(|c| c.addresses.len() == 2));
    assert!(all.iter().any(|c| c.first_name.as_deref() == Some("Zoë")));
    let one = all.iter().find(|c| c.email.is_some()).unwrap();
    let f = Filters {
        email: Some(one.email.clone().unwrap()),
        ..Default::default()
    };
    let found = s
        .list_customers(&cx(), &params(10, f.clone()))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].id, one.id);
    assert_eq!(s.count_customers(&cx(), &f).await.unwrap(), 1);
    assert_eq!(&s.get_customer(&cx(), &one.id).await.unwrap(), one);
    assert!(matches!(
        s.get_customer(&cx(), "5").await,
        Err(ConnectorError::NotFound(_))
    ));
    let f = Filters {
        sku: Some("x".into()),
        ..Default::default()
    };
    assert!(matches!(
        s.list_customers(&cx(), &params(10, f)).await,
        Err(ConnectorError::Unsupported(_))
    ));

    let cats = s
        .list_categories(&cx(), &params(4, Filters::default()))
        .await
        .unwrap();
    assert_eq!(cats.items.len(), 4);
    let rest = s
        .list_categories(
            &cx(),
            &ListParams {
                limit: 4,
                state: cats.next.clone(),
                filters: Filters::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next.is_none());
    assert!(cats
        .items
        .iter()
        .chain(&rest.items)
        .all(|c| c.parent_id.is_none()));
    let c = s.get_category(&cx(), &cats.items[0].id).await.unwrap();
    assert_eq!(c, cats.items[0]);
    assert!(matches!(
        s.get_category(&cx(), "9").await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn proxy_passes_graphql_through() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "POST".into(),
                path: "/graphql.json".into(),
                query: Default::default(),
                body: Some(json!({"query": "query { shop { name } }"})),
            },
        )
        .await
        .expect("proxy");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["shop"]["name"], "Cartgate Demo");
    assert!(r.body["extensions"]["cost"]["requestedQueryCost"].is_number());
    let err = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/orders.json".into(),
                query: Default::default(),
                body: None,
            },
        )
        .await
        .expect_err("only graphql");
    assert!(matches!(err, ConnectorError::Validation(_)));
}

#[tokio::test]
async fn transient_faults_are_retried() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    sb.control(
        "faults",
        Some(json!({"kind": "server_error", "count": 2, "status": 503})),
    )
    .await;
    let page = s
        .list_orders(&cx(), &params(5, Filters::default()))
        .await
        .expect("retried");
    assert_eq!(page.items.len(), 5);
    sb.control("faults", Some(json!({"kind": "truncated", "count": 1})))
        .await;
    s.get_product(&cx(), "8000000001")
        .await
        .expect("a cut answer is retried");
    sb.control("faults", Some(json!({"kind": "rate_limited", "count": 1})))
        .await;
    s.count_customers(&cx(), &Filters::default())
        .await
        .expect("a 429 is retried");
    // A mutation is not retried on a 5xx: it fails (it may have run).
    sb.control(
        "faults",
        Some(json!({"kind": "server_error", "count": 1, "status": 502})),
    )
    .await;
    let err = s
        .update_product(
            &cx(),
            "8000000001",
            &ProductUpdate {
                name: Some("X".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        err.is_err() || err.is_ok(),
        "either way the session keeps working"
    );
    sb.control(
        "faults",
        Some(json!({"kind": "server_error", "status": 500})),
    )
    .await;
    let started = Instant::now();
    let err = s.info(&cx()).await.expect_err("a lasting outage");
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test]
async fn throttled_answers_are_recovered_from() {
    let throttle = ThrottleConfig {
        enabled: true,
        maximum_available: 1000.0,
        restore_rate: 200.0,
    };
    let sb = start_sandbox(SandboxOptions::default(), throttle).await;
    let s = sb.session();
    // Someone else (another client of the same app) drains the bucket behind the
    // session's back, so the session's first call meets THROTTLED.
    let mut left = f64::MAX;
    for _ in 0..20 {
        let v = graphql(
            &sb,
            "query { orders(first: 60) { nodes { id customer { id } } } }",
        )
        .await;
        left = v["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
            .as_f64()
            .unwrap_or(left);
        if left < 300.0 {
            break;
        }
    }
    assert!(left < 300.0, "bucket drained: {left}");
    let page = s
        .list_orders(&cx(), &params(5, Filters::default()))
        .await
        .expect("no THROTTLED surfaces");
    assert_eq!(page.items.len(), 5);
    // Then the session paces itself: more pages, no error.
    let page = s
        .list_orders(
            &cx(),
            &ListParams {
                limit: 5,
                state: page.next,
                filters: Filters::default(),
            },
        )
        .await
        .expect("paced");
    assert_eq!(page.items.len(), 5);
}

/// With the bucket on, reading 500 orders in pages of 50 surfaces no error and takes at
/// most 1.2× what the bucket allows.
///
/// The bound: a query must find its requested cost in the bucket, and is charged its
/// actual cost. For the last request `k` to go at time `t`, the bucket must have held
/// `requested_k` after the earlier requests were charged:
/// `B - Σ_{i<k} actual_i + R·t ≥ requested_k`, so
/// `ideal = max(0, Σ_{i<k} actual_i + requested_k - B) / R`.
#[tokio::test]
async fn throttled_reading_of_500_orders_keeps_to_the_bucket() {
    let throttle = ThrottleConfig {
        enabled: true,
        maximum_available: 1000.0,
        restore_rate: 3000.0,
    };
    let opts = SandboxOptions {
        orders: 500,
        ..Default::default()
    };
    let sb = start_sandbox(opts, throttle).await;
    let s = sb.session();
    let started = Instant::now();
    let mut p = params(50, Filters::default());
    let mut n = 0;
    loop {
        let page = s.list_orders(&cx(), &p).await.expect("no error surfaces");
        n += page.items.len();
        match page.next {
            Some(next) => p.state = Some(next),
            None => break,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(n, 500);
    // What the sandbox's bucket charged: the walk is all this sandbox has served.
    let t: Value = sb.control("throttle", None).await;
    let costs: Vec<(f64, f64)> = t["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    assert!(costs.len() > 10, "the walk took many requests");
    let (last_req, last_act) = *costs.last().unwrap();
    let charged_before: f64 = costs.iter().map(|c| c.1).sum::<f64>() - last_act;
    let ideal =
        ((charged_before + last_req - throttle.maximum_available).max(0.0)) / throttle.restore_rate;
    let ratio = elapsed / ideal.max(1e-9);
    println!(
        "throttle: 500 orders in {} requests, total actual cost {:.0}, bucket {} @ {}/s: elapsed {elapsed:.2}s, ideal {ideal:.2}s, ratio {ratio:.3}",
        costs.len(),
        charged_before + last_act,
        throttle.maximum_available,
        throttle.restore_rate
    );
    assert!(
        ideal > 1.0,
        "the bucket must actually bind: ideal {ideal:.2}s"
    );
    assert!(
        elapsed >= ideal * 0.95,
        "faster than the bucket allows? {elapsed:.2}s < {ideal:.2}s"
    );
    assert!(
        ratio <= 1.2,
        "elapsed {elapsed:.2}s > 1.2 × ideal {ideal:.2}s"
    );
}

#[tokio::test]
async fn a_token_without_write_scopes_is_permission_denied_not_auth_failed() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let product = s
        .list_products(&cx(), &params(1, Filters::default()))
        .await
        .expect("list")
        .items
        .remove(0);
    sb.control("access", Some(json!({"read_only": true}))).await;
    let err = s
        .update_product(
            &cx(),
            &product.id,
            &ProductUpdate {
                name: Some("Not allowed".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("no write_products scope");
    assert!(
        matches!(&err, ConnectorError::PermissionDenied(m) if m.contains("write_products")),
        "{err:?}"
    );
    s.get_product(&cx(), &product.id)
        .await
        .expect("reads still work");
}

/// The unified `quantity` is the total over all locations: writing it brings the total to
/// the value asked for, even when another location holds stock.
#[tokio::test]
async fn a_quantity_written_reads_back_on_a_shop_with_several_locations() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let product = s
        .list_products(&cx(), &params(50, Filters::default()))
        .await
        .expect("list")
        .items
        .into_iter()
        .find(|p| p.variants.len() > 1)
        .expect("a product with variants");
    let variant = &product.variants[0];
    let raw = s
        .get_product(&CallContext::new(true), &product.id)
        .await
        .unwrap();
    let item = raw.raw.as_ref().unwrap()["variants"]["nodes"][0]["inventoryItem"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another app stocks 5 at the second location.
    let stocked = graphql(
        &sb,
        &format!(
            r#"mutation {{ inventoryAdjustQuantities(input: {{name: "available", reason: "received",
                changes: [{{inventoryItemId: "{item}", locationId: "gid://shopify/Location/61000000002", delta: 5, changeFromQuantity: null}}]}})
                @idempotent(key: "another-app-1") {{ userErrors {{ code message }} }} }}"#
        ),
    )
    .await;
    assert_eq!(
        stocked["data"]["inventoryAdjustQuantities"]["userErrors"],
        json!([]),
        "{stocked}"
    );
    let before = variant.quantity.unwrap_or(0) + 5;
    let p = s.get_product(&cx(), &product.id).await.unwrap();
    assert_eq!(p.variants[0].quantity, Some(before));

    for wanted in [7, 2, 7] {
        let after = s
            .update_variant(
                &cx(),
                &product.id,
                &variant.id,
                &VariantUpdate {
                    quantity: Some(wanted),
                    ..Default::default()
                },
            )
            .await
            .expect("variant update");
        let v = after.variants.iter().find(|x| x.id == variant.id).unwrap();
        assert_eq!(v.quantity, Some(wanted), "the total reads back");
        let again = s.get_product(&cx(), &product.id).await.unwrap();
        assert_eq!(again.variants[0].quantity, Some(wanted));
    }
}

// ---------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------

mod webhooks {
    use super::*;
    use cartgate_connector::testing::{Received, WebhookReceiver};
    use cartgate_connector::{EventType, Inbound, InboundEvent};

    const WAIT: Duration = Duration::from_secs(10);

    fn topic_of(t: EventType) -> &'static str {
        match t {
            EventType::OrderCreated => "orders/create",
            EventType::OrderUpdated => "orders/updated",
            EventType::ProductCreated => "products/create",
            EventType::ProductUpdated => "products/update",
            EventType::ProductDeleted => "products/delete",
            EventType::CustomerCreated => "customers/create",
            EventType::CustomerUpdated => "customers/update",
        }
    }

    fn canonical(sb: &TestSandbox) -> Value {
        cartgate_shopify::connector()
            .parse_credentials(&sb.credentials())
            .expect("sandbox credentials")
    }

    fn verify(creds: &Value, r: &Received) -> cartgate_connector::Result<Inbound> {
        cartgate_shopify::connector().verify_inbound(creds, None, &r.headers, &r.body)
    }

    fn event(creds: &Value, r: &Received) -> InboundEvent {
        match verify(creds, r).expect("the sandbox's webhook verifies") {
            Inbound::Event(e) => e,
            Inbound::Ignored => panic!("an event, not ignored"),
        }
    }

    async fn next_topic(rx: &WebhookReceiver, topic: &str, id: &str) -> Received {
        rx.next_where(WAIT, |r| {
            r.header("x-shopify-topic") == Some(topic)
                && r.json()["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(id)
        })
        .await
        .unwrap_or_else(|| panic!("no {topic} webhook for {id}"))
    }

    #[tokio::test]
    async fn registered_webhooks_deliver_verifiable_events_until_unregistered() {
        let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
        let s = sb.session();
        let creds = canonical(&sb);
        assert!(cartgate_shopify::connector().native_webhooks(&creds));
        let rx = WebhookReceiver::start().await;

        let ids = s
            .register_webhooks(&cx(), &rx.url, "unused by Shopify")
            .await
            .expect("registers");
        assert_eq!(ids.len(), 7, "{ids:?}");
        assert!(ids
            .iter()
            .all(|id| id.starts_with("gid://shopify/WebhookSubscription/")));
        // Registering again (a retry after a crash) reuses what is there.
        let again = s
            .register_webhooks(&cx(), &rx.url, "unused")
            .await
            .expect("registers again");
        assert_eq!(again, ids);

        // Every event type, made in the shop: created objects first, then changed.
        let mut made = std::collections::HashMap::new();
        for t in EventType::ALL {
            let target = match t {
                EventType::OrderUpdated => made.get(&EventType::OrderCreated).cloned(),
                EventType::ProductUpdated | EventType::ProductDeleted => {
                    made.get(&EventType::ProductCreated).cloned()
                }
                EventType::CustomerUpdated => made.get(&EventType::CustomerCreated).cloned(),
                _ => None,
            };
            let id = sb.simulate(t, target.as_deref()).await;
            if let Some(target) = &target {
                assert_eq!(&id, target);
            }
            made.insert(t, id.clone());
            let got = next_topic(&rx, topic_of(t), &id).await;
            let e = event(&creds, &got);
            assert_eq!(e.event_type, t);
            assert_eq!(e.object_id, id);
            assert_eq!(
                Some(e.delivery_id.as_str()),
                got.header("x-shopify-webhook-id")
            );
            assert!(e.occurred_at.is_some());
            assert_eq!(e.data, None, "Shopify events are read fresh");
            // The id is the one the connector reads the object with.
            match t.resource() {
                _ if t == EventType::ProductDeleted => {
                    let err = s.get_product(&cx(), &id).await.expect_err("deleted");
                    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
                }
                cartgate_connector::webhook::Resource::Order => {
                    assert_eq!(s.get_order(&cx(), &id).await.expect("order").id, id)
                }
                cartgate_connector::webhook::Resource::Product => {
                    assert_eq!(s.get_product(&cx(), &id).await.expect("product").id, id)
                }
                cartgate_connector::webhook::Resource::Customer => {
                    assert_eq!(s.get_customer(&cx(), &id).await.expect("customer").id, id)
                }
            }
            if t == EventType::CustomerUpdated {
                let c = s.get_customer(&cx(), &id).await.unwrap();
                assert!(c.first_name.unwrap_or_default().contains("renamed"));
            }
        }

        // A shipment added through the connector is an orders/updated.
        let order = made[&EventType::OrderCreated].clone();
        s.create_shipment(
            &cx(),
            &order,
            &NewShipment {
                carrier: "UPS".into(),
                tracking_number: "1Z999".into(),
                tracking_url: None,
                line_items: None,
                notify_customer: false,
            },
        )
        .await
        .expect("ships");
        let got = next_topic(&rx, "orders/updated", &order).await;
        let e = event(&creds, &got);
        assert_eq!(
            (e.event_type, e.object_id.as_str()),
            (EventType::OrderUpdated, order.as_str())
        );
        assert_eq!(got.json()["fulfillment_status"], "fulfilled");

        // Forgeries: a changed body, another app's secret.
        let mut tampered = got.clone();
        let mut body = tampered.body.to_vec();
        let at = body.iter().position(|b| b.is_ascii_digit()).unwrap();
        body[at] = if body[at] == b'9' { b'8' } else { b'9' };
        tampered.body = body.into();
        assert!(matches!(
            verify(&creds, &tampered),
            Err(ConnectorError::InvalidSignature(_))
        ));
        let mut other = creds.clone();
        other["api_secret_key"] = json!("shpss_another_app");
        assert!(matches!(
            verify(&other, &got),
            Err(ConnectorError::InvalidSignature(_))
        ));

        // Unregistered: no more deliveries. Unregistering twice is fine.
        s.unregister_webhooks(&cx(), &ids)
            .await
            .expect("unregisters");
        s.unregister_webhooks(&cx(), &ids)
            .await
            .expect("missing ids are fine");
        let listed = graphql(&sb, "{ webhookSubscriptions(first: 10) { nodes { id } } }").await;
        assert_eq!(listed["data"]["webhookSubscriptions"]["nodes"], json!([]));
        sb.outbox_idle(WAIT).await;
        rx.drain().await;
        let before = sb.outbox().await.queued;
        sb.simulate(EventType::OrderUpdated, Some(&order)).await;
        sb.simulate(EventType::ProductCreated, None).await;
        assert_eq!(sb.outbox().await.queued, before, "nothing queued");
        assert!(rx.next(Duration::from_millis(300)).await.is_none());
    }

    #[tokio::test]
    async fn registration_errors_are_validation_and_leave_nothing_behind() {
        let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
        let s = sb.session();
        // The schema's URL scalar refuses it: nothing registered.
        let bad = url::Url::parse("ftp://127.0.0.1/x").unwrap();
        let err = s
            .register_webhooks(&cx(), &bad, "")
            .await
            .expect_err("not http");
        assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
        let listed = graphql(&sb, "{ webhookSubscriptions(first: 10) { nodes { id } } }").await;
        assert_eq!(listed["data"]["webhookSubscriptions"]["nodes"], json!([]));
        let err = s
            .unregister_webhooks(&cx(), &["12".into()])
            .await
            .expect_err("not a subscription id");
        assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
        // Subscribing needs read scopes only: a read-only token may.
        sb.control("access", Some(json!({"read_only": true}))).await;
        let rx = WebhookReceiver::start().await;
        let ids = s
            .register_webhooks(&cx(), &rx.url, "")
            .await
            .expect("read scopes suffice");
        assert_eq!(ids.len(), 7);
    }
}

// ---------------------------------------------------------------------------------------
// Shipping and invoicing fields, stock by location, weight and barcode writes
// ---------------------------------------------------------------------------------------

/// Upstream queries the sandbox has executed since the last `PUT /__sandbox/throttle`.
async fn queries_run(sb: &TestSandbox) -> usize {
    let t: Value = sb.control("throttle", None).await;
    t["charges"].as_array().unwrap().len()
}

async fn reset_counts(sb: &TestSandbox) {
    sb.http()
        .put(format!("{}/__sandbox/throttle", sb.base()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn orders_carry_shipping_taxes_payments_and_refunds_without_extra_calls() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    reset_counts(&sb).await;
    let mut p = params(60, Filters::default());
    let mut orders = Vec::new();
    let mut pages = 0;
    loop {
        let page = s.list_orders(&cx(), &p).await.unwrap();
        pages += 1;
        orders.extend(page.items);
        match page.next {
            Some(n) => p.state = Some(n),
            None => break,
        }
    }
    assert_eq!(orders.len(), 60);
    // Only the list's own queries (four orders fit one query's cost), none per order: no
    // seeded order outgrows a list's nested pages, so none is read again.
    let upstream = queries_run(&sb).await;
    assert!(
        upstream <= 60 / 4,
        "{upstream} queries for {pages} pages of 60 orders"
    );
    let has = |f: &dyn Fn(&Order) -> bool| orders.iter().any(f);
    assert!(has(&|o| o.prices_include_tax == Some(true)));
    assert!(has(&|o| o.prices_include_tax == Some(false)));
    assert!(has(&|o| o.tax_lines.len() == 2), "GST and PST");
    assert!(has(&|o| o
        .shipping_lines
        .iter()
        .any(|l| l.title.as_deref() == Some("Main Warehouse"))));
    assert!(has(&|o| o
        .shipping_lines
        .iter()
        .any(|l| l.carrier.as_deref() == Some("ups_shipping"))));
    assert!(has(&|o| o
        .discount_codes
        .iter()
        .any(|c| c.code == "FREESHIP")));
    assert!(has(&|o| o.refunds.iter().any(|r| r.line_items.is_empty())));
    assert!(has(&|o| o.refunds.iter().any(|r| !r.line_items.is_empty())));
    assert!(has(&|o| o
        .payment_method
        .as_ref()
        .and_then(|m| m.code.as_deref())
        == Some("Cash on Delivery (COD)")));
    assert!(has(&|o| o.paid_at.is_some()));
    assert!(has(&|o| o.fulfilled_at.is_some()));
    assert!(has(&|o| !o.tags.is_empty()));
    assert!(has(&|o| o.customer_note.is_some()));
    assert!(has(&|o| o
        .line_items
        .iter()
        .any(|l| l.requires_shipping == Some(false))));
    assert!(has(&|o| o
        .line_items
        .iter()
        .any(|l| !l.variant_options.is_empty())));
    assert!(has(&|o| o.total_weight.is_some()));
    for o in &orders {
        assert_eq!(o.note, None, "Shopify has no staff note");
        assert!(o.refunded_total.is_some());
        // A list answers what a single read does.
        let one = s.get_order(&cx(), &o.id).await.unwrap();
        assert_eq!(&one, o, "order {}", o.id);
    }
}

/// An order whose nested lists do not fit a list's small pages is read again on its own,
/// so lists and single reads agree.
#[tokio::test]
async fn an_order_with_many_refund_lines_reads_whole_in_a_list() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let orders = all_orders(s.as_ref(), 60, Filters::default()).await;
    // The fully refunded order with the most lines.
    let big = orders
        .iter()
        .filter(|o| o.payment_status == PaymentStatus::Refunded)
        .max_by_key(|o| o.refunds.iter().map(|r| r.line_items.len()).sum::<usize>())
        .unwrap();
    let lines: usize = big.refunds.iter().map(|r| r.line_items.len()).sum();
    assert_eq!(lines, big.line_items.len(), "every line refunded");
    assert!(lines >= 3, "{lines}");
}

#[tokio::test]
async fn locations_and_stock_levels_are_read_and_written_per_location() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let locations = s.list_locations(&cx()).await.unwrap();
    let ids: Vec<&str> = locations.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["61000000001", "61000000002"]);
    assert_eq!(locations[0].name.as_deref(), Some("Main Warehouse"));
    let a = locations[1].address.as_ref().unwrap();
    assert_eq!(
        (a.city.as_deref(), a.country_code.as_deref()),
        (Some("Toronto"), Some("CA"))
    );
    assert!(locations.iter().all(|l| l.active));

    let products = all_products(s.as_ref(), 50, Filters::default()).await;
    let (product, variant) = products
        .iter()
        .flat_map(|p| p.variants.iter().map(move |v| (p, v)))
        .find(|(_, v)| v.inventory_levels.len() == 2)
        .expect("stock split over both locations");
    let before: Vec<i64> = variant
        .inventory_levels
        .iter()
        .map(|l| l.available)
        .collect();
    assert_eq!(before.iter().sum::<i64>(), variant.quantity.unwrap());
    // Set the pop-up store's stock: the warehouse's stays.
    let after = s
        .update_variant(
            &cx(),
            &product.id,
            &variant.id,
            &VariantUpdate {
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: "61000000002".into(),
                    available: before[1] + 7,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let v = after.variants.iter().find(|x| x.id == variant.id).unwrap();
    let now: Vec<i64> = v.inventory_levels.iter().map(|l| l.available).collect();
    assert_eq!(now, [before[0], before[1] + 7]);
    assert_eq!(v.quantity, Some(before[0] + before[1] + 7));
    // An unknown location changes nothing.
    let err = s
        .update_variant(
            &cx(),
            &product.id,
            &variant.id,
            &VariantUpdate {
                inventory_levels: Some(vec![
                    InventoryLevel {
                        location_id: "61000000001".into(),
                        available: 1,
                    },
                    InventoryLevel {
                        location_id: "987654321".into(),
                        available: 1,
                    },
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Validation(ref m) if m.contains("987654321")),
        "{err:?}"
    );
    let again = s.get_product(&cx(), &product.id).await.unwrap();
    let v = again.variants.iter().find(|x| x.id == variant.id).unwrap();
    assert_eq!(
        v.inventory_levels[0].available, before[0],
        "nothing written"
    );

    // A single-variant product stocked at the warehouse only: the pop-up store starts
    // stocking it (the product-level PATCH reaches its one variant).
    let single = products
        .iter()
        .find(|p| p.variants.len() == 1 && p.quantity.is_some() && p.inventory_levels.len() == 1)
        .expect("a simple product at one location");
    let q = single.quantity.unwrap();
    let after = s
        .update_product(
            &cx(),
            &single.id,
            &ProductUpdate {
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: "61000000002".into(),
                    available: 4,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.inventory_levels.len(), 2);
    assert_eq!(after.quantity, Some(q + 4));
    assert_eq!(after.inventory_levels, after.variants[0].inventory_levels);
}

#[tokio::test]
async fn weight_and_barcode_writes_read_back_in_the_stores_unit() {
    let sb = start_sandbox(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let s = sb.session();
    let products = all_products(s.as_ref(), 50, Filters::default()).await;
    let kg = |v: &str| Weight {
        value: v.into(),
        unit: WeightUnit::Kg,
    };
    // A variant weighed in grams keeps grams.
    let tee = products
        .iter()
        .find(|p| p.name == "Classic Tee")
        .expect("the tee");
    let v = &tee.variants[1];
    assert_eq!(v.weight.as_ref().map(|w| w.unit), Some(WeightUnit::G));
    let after = s
        .update_variant(
            &cx(),
            &tee.id,
            &v.id,
            &VariantUpdate {
                weight: Some(kg("1.5")),
                barcode: Some("4006381333931".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let w = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(
        w.weight,
        Some(Weight {
            value: "1500".into(),
            unit: WeightUnit::G
        })
    );
    assert_eq!(w.barcode.as_deref(), Some("4006381333931"));
    assert_eq!(
        after.variants[0].weight, tee.variants[0].weight,
        "others untouched"
    );
    // A product without a weight gets the shop's unit (kilograms).
    let hat = products.iter().find(|p| p.name == "Straw Hat").unwrap();
    assert_eq!(hat.weight, None);
    let after = s
        .update_product(
            &cx(),
            &hat.id,
            &ProductUpdate {
                weight: Some(Weight {
                    value: "12".into(),
                    unit: WeightUnit::Oz,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.weight, Some(kg("0.3402")));
    // Dimensions: Shopify has none; refused before anything is written.
    let err = s
        .update_product(
            &cx(),
            &hat.id,
            &ProductUpdate {
                barcode: Some("123".into()),
                dimensions: Some(Dimensions {
                    length: Some("1".into()),
                    width: None,
                    height: None,
                    unit: LengthUnit::Cm,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
    let again = s.get_product(&cx(), &hat.id).await.unwrap();
    assert_ne!(again.barcode.as_deref(), Some("123"));
    // Per-variant fields on a product with variants: set them per variant.
    let err = s
        .update_product(
            &cx(),
            &tee.id,
            &ProductUpdate {
                barcode: Some("123".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
}

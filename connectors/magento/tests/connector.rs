//! The connector against the Magento sandbox, over real sockets.
//!
//! Each test starts its own sandbox (seeded, so data is the same every run) and opens a
//! session through the public `Connector` API, as the gateway does.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cartgate_connector::http::UpstreamConfig;
use cartgate_connector::model::*;
use cartgate_connector::sandbox::SandboxOptions;
use cartgate_connector::testing::{self, all_orders, all_products, cx, params, TestSandbox};
use cartgate_connector::{CallContext, ConnectorError, Filters, ListParams};
use serde_json::json;

fn test_config() -> UpstreamConfig {
    testing::upstream_config(Duration::from_secs(2))
}

async fn start_sandbox(opts: SandboxOptions) -> TestSandbox {
    TestSandbox::start(cartgate_magento::connector(), test_config(), |l| {
        cartgate_magento::sandbox::start(l, opts)
    })
    .await
}

#[tokio::test]
async fn info_validates_credentials() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let info = sb.session().info(&cx()).await.expect("info");
    assert_eq!(info.currency.as_deref(), Some("USD"));
    assert_eq!(info.name.as_deref(), Some("Cartgate Sandbox Store"));
    assert_eq!(info.timezone.as_deref(), Some("America/Los_Angeles"));

    let mut de = sb.credentials();
    de["store_code"] = json!("de");
    let info = sb
        .session_with(&de, test_config())
        .info(&cx())
        .await
        .expect("de");
    assert_eq!(info.timezone.as_deref(), Some("Europe/Berlin"));

    let mut nope = sb.credentials();
    nope["store_code"] = json!("fr");
    let err = sb
        .session_with(&nope, test_config())
        .info(&cx())
        .await
        .expect_err("no such store view");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");

    // A wrong consumer secret makes a wrong signature: 401 → AuthFailed, secret not echoed.
    let mut wrong = sb.credentials();
    wrong["consumer_secret"] = json!("not-the-consumer-secret");
    let err = sb
        .session_with(&wrong, test_config())
        .info(&cx())
        .await
        .expect_err("bad signature");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(!err.to_string().contains("not-the-consumer-secret"));
    assert!(err.to_string().contains("Magento_Backend::store"), "{err}");
}

#[tokio::test]
async fn bearer_and_admin_tokens() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let creds = sb.credentials();
    // The integration's access token alone, as a bearer token.
    let bearer = json!({"url": creds["url"], "access_token": creds["access_token"]});
    let s = sb.session_with(&bearer, test_config());
    assert_eq!(
        s.count_orders(&cx(), &Filters::default())
            .await
            .expect("count"),
        60
    );
    // A store that refuses standalone bearer tokens.
    sb.control(
        "settings",
        Some(json!({"bearer_integration_tokens": false})),
    )
    .await;
    let err = s
        .count_orders(&cx(), &Filters::default())
        .await
        .expect_err("refused");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");

    // Admin user and password: one token exchange, reused.
    let settings = sb.control("settings", None).await;
    let admin = json!({
        "url": creds["url"],
        "username": settings["admin"]["username"],
        "password": settings["admin"]["password"],
    });
    let s = sb.session_with(&admin, test_config());
    for _ in 0..3 {
        s.count_customers(&cx(), &Filters::default())
            .await
            .expect("count");
    }
    assert_eq!(sb.control("settings", None).await["admin_tokens_issued"], 1);

    // Tokens that expire sooner than the session believes: the 401 renews it once.
    sb.control("settings", Some(json!({"admin_token_lifetime_seconds": 1})))
        .await;
    let s = sb.session_with(&admin, test_config());
    s.count_customers(&cx(), &Filters::default())
        .await
        .expect("first");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    s.count_customers(&cx(), &Filters::default())
        .await
        .expect("renewed after 401");
    assert_eq!(sb.control("settings", None).await["admin_tokens_issued"], 3);

    // A lifetime known from the credentials: renewed before it ends, without a 401.
    sb.control(
        "settings",
        Some(json!({"admin_token_lifetime_seconds": 3600})),
    )
    .await;
    let mut short = admin.clone();
    short["token_lifetime_minutes"] = json!(1);
    let s = sb.session_with(&short, test_config());
    s.count_customers(&cx(), &Filters::default())
        .await
        .expect("count");
    assert_eq!(sb.control("settings", None).await["admin_tokens_issued"], 4);

    // A wrong password is the store's auth failure; the password is never echoed.
    let mut wrong = admin.clone();
    wrong["password"] = json!("hunter2-wrong");
    let err = sb
        .session_with(&wrong, test_config())
        .info(&cx())
        .await
        .expect_err("wrong password");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[tokio::test]
async fn orders_page_through_without_duplicates() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let orders = all_orders(s.as_ref(), 7, Filters::default()).await;
    let count = s
        .count_orders(&cx(), &Filters::default())
        .await
        .expect("count");
    assert_eq!(count, 60);
    assert_eq!(orders.len() as u64, count, "stops by total_count");
    let ids: HashSet<_> = orders.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids.len(), orders.len(), "no duplicates");
    // Lists carry the shipments (one search per page), as single reads do.
    let shipped = orders
        .iter()
        .find(|o| o.fulfillment_status == FulfillmentStatus::Fulfilled && !o.shipments.is_empty())
        .expect("a listed order with its shipments");
    assert_eq!(
        &s.get_order(&cx(), &shipped.id).await.expect("one"),
        shipped,
        "a single read answers what the list did"
    );
    let ids: Vec<i64> = orders.iter().map(|o| o.id.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest (highest id) first"
    );

    let big = s
        .list_orders(&cx(), &params(250, Filters::default()))
        .await
        .expect("big page");
    assert_eq!(big.items.len() as u64, count);
    assert!(big.next.is_none());

    // Variety the mapping must handle.
    let st = |x: OrderStatus| orders.iter().any(|o| o.status == x);
    for x in [
        OrderStatus::Pending,
        OrderStatus::Processing,
        OrderStatus::OnHold,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ] {
        assert!(st(x.clone()), "{x:?}");
    }
    assert!(
        orders
            .iter()
            .any(|o| o.customer.as_ref().is_some_and(|c| c.id.is_none())),
        "guests"
    );
    assert!(
        orders.iter().any(|o| o.shipping_address.is_none()),
        "virtual orders"
    );
    assert!(orders
        .iter()
        .any(|o| o.fulfillment_status == FulfillmentStatus::Partial));
    assert!(orders
        .iter()
        .any(|o| o.payment_status == PaymentStatus::PartiallyRefunded));
    let currencies: HashSet<_> = orders.iter().filter_map(|o| o.currency.clone()).collect();
    assert!(currencies.len() >= 4, "{currencies:?}");
    // A configurable line shows once, carrying the child as its variant.
    let conf = orders
        .iter()
        .flat_map(|o| &o.line_items)
        .find(|l| l.variant_id.is_some())
        .expect("a configurable line");
    assert_ne!(conf.variant_id, conf.product_id);

    // include=raw attaches the platform payload.
    let raw = s
        .list_orders(&CallContext::new(true), &params(1, Filters::default()))
        .await
        .expect("raw page");
    assert!(raw.items[0]
        .raw
        .as_ref()
        .is_some_and(|r| r.get("items").is_some()));
}

#[tokio::test]
async fn filters_narrow_and_counts_match() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let total = s
        .count_orders(&cx(), &Filters::default())
        .await
        .expect("count");
    for status in ["completed", "pending", "on_hold", "refunded", "cancelled"] {
        let f = Filters {
            status: Some(status.into()),
            ..Default::default()
        };
        let found = all_orders(s.as_ref(), 5, f.clone()).await;
        assert!(
            !found.is_empty() && (found.len() as u64) < total,
            "{status}"
        );
        let word = serde_json::to_value(&found[0].status).unwrap();
        assert!(
            found
                .iter()
                .all(|o| serde_json::to_value(&o.status).unwrap() == status),
            "{status}: {word}"
        );
        assert_eq!(
            s.count_orders(&cx(), &f).await.expect("count"),
            found.len() as u64
        );
    }
    let err = s
        .count_orders(
            &cx(),
            &Filters {
                status: Some("failed".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("no failed orders in Magento");
    assert!(matches!(err, ConnectorError::Unsupported(_)));

    let mut times: Vec<_> = all_orders(s.as_ref(), 100, Filters::default())
        .await
        .iter()
        .filter_map(|o| o.created_at)
        .collect();
    times.sort();
    let mid = times[times.len() / 2];
    let recent = Filters {
        created_from: Some(mid),
        ..Default::default()
    };
    let newer = all_orders(s.as_ref(), 100, recent.clone()).await;
    assert_eq!(
        newer.len(),
        times.iter().filter(|t| **t >= mid).count(),
        "inclusive"
    );
    assert!(newer.iter().all(|o| o.created_at.is_some_and(|t| t >= mid)));
    let older = Filters {
        created_to: Some(mid),
        ..Default::default()
    };
    assert_eq!(
        s.count_orders(&cx(), &older).await.expect("count") as usize,
        times.iter().filter(|t| **t <= mid).count()
    );
    let updated = Filters {
        updated_from: Some(mid),
        ..Default::default()
    };
    assert!(s.count_orders(&cx(), &updated).await.expect("count") > 0);

    let err = s
        .count_orders(
            &cx(),
            &Filters {
                email: Some("a@b.c".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("no email filter on orders");
    assert!(matches!(err, ConnectorError::Unsupported(_)));

    // Products: sku and status; customers: email.
    let products = all_products(s.as_ref(), 10, Filters::default()).await;
    assert_eq!(products.len(), 25, "children are variants, not products");
    assert_eq!(
        s.count_products(&cx(), &Filters::default())
            .await
            .expect("count"),
        25
    );
    let sku = Filters {
        sku: Some("MB01".into()),
        ..Default::default()
    };
    let one = all_products(s.as_ref(), 10, sku).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].sku.as_deref(), Some("MB01"));
    let drafts = Filters {
        status: Some("draft".into()),
        ..Default::default()
    };
    let d = all_products(s.as_ref(), 10, drafts).await;
    assert!(!d.is_empty() && d.iter().all(|p| p.status == ProductStatus::Draft));
    assert!(matches!(
        s.count_products(
            &cx(),
            &Filters {
                status: Some("archived".into()),
                ..Default::default()
            }
        )
        .await,
        Err(ConnectorError::Unsupported(_))
    ));
    let email = Filters {
        email: Some("zoe.angstrom@example.com".into()),
        ..Default::default()
    };
    let c = s
        .list_customers(&cx(), &params(10, email.clone()))
        .await
        .expect("customers");
    assert_eq!(c.items.len(), 1);
    assert_eq!(c.items[0].first_name.as_deref(), Some("Zoë"));
    assert_eq!(s.count_customers(&cx(), &email).await.expect("count"), 1);
}

#[tokio::test]
async fn get_order_and_shipments_are_visible_afterwards() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let orders = all_orders(s.as_ref(), 100, Filters::default()).await;
    // A seeded complete order with two tracks.
    let shipped = orders
        .iter()
        .find(|o| o.status == OrderStatus::Completed)
        .expect("completed order");
    let full = s.get_order(&cx(), &shipped.id).await.expect("get");
    assert!(!full.shipments.is_empty());
    assert_eq!(full.number, shipped.number);

    // An open order with two lines or more: ship one unit of one line, then the rest.
    let open = orders
        .iter()
        .find(|o| {
            o.status == OrderStatus::Processing
                && o.fulfillment_status == FulfillmentStatus::Unfulfilled
                && o.line_items.iter().map(|l| l.quantity).sum::<i64>() > 1
        })
        .expect("an open order with several units");
    let line = &open.line_items[0];
    let partial = NewShipment {
        carrier: "UPS".into(),
        tracking_number: "1Z-PARTIAL".into(),
        tracking_url: Some("https://www.ups.com/track?tracknum=1Z-PARTIAL".into()),
        line_items: Some(vec![ShipmentLine {
            line_item_id: line.id.clone(),
            quantity: 1,
        }]),
        notify_customer: true,
    };
    let after = s
        .create_shipment(&cx(), &open.id, &partial)
        .await
        .expect("ship part");
    assert_eq!(after.fulfillment_status, FulfillmentStatus::Partial);
    let sh = after
        .shipments
        .iter()
        .find(|x| x.tracking_number.as_deref() == Some("1Z-PARTIAL"))
        .expect("visible on the order");
    assert_eq!(sh.carrier.as_deref(), Some("UPS"));
    assert_eq!(
        sh.tracking_url.as_deref(),
        Some("https://www.ups.com/track?tracknum=1Z-PARTIAL")
    );

    // Too many units of a line, an unknown line: the client's error, nothing shipped.
    let too_many = NewShipment {
        line_items: Some(vec![ShipmentLine {
            line_item_id: line.id.clone(),
            quantity: line.quantity + 5,
        }]),
        ..partial.clone()
    };
    assert!(matches!(
        s.create_shipment(&cx(), &open.id, &too_many).await,
        Err(ConnectorError::Validation(_))
    ));

    let rest = NewShipment {
        carrier: "La Poste".into(),
        tracking_number: "6A-REST".into(),
        tracking_url: None,
        line_items: None,
        notify_customer: false,
    };
    let done = s
        .create_shipment(&cx(), &open.id, &rest)
        .await
        .expect("ship the rest");
    assert_eq!(done.fulfillment_status, FulfillmentStatus::Fulfilled);
    assert_eq!(done.status, OrderStatus::Completed);
    assert!(done.shipments.len() >= 2);
    let again = s.get_order(&cx(), &open.id).await.expect("get");
    assert_eq!(again.shipments, done.shipments);
    // Nothing left: refused.
    assert!(matches!(
        s.create_shipment(&cx(), &open.id, &rest).await,
        Err(ConnectorError::Validation(_))
    ));

    // Not found and odd ids.
    for id in ["999999", "abc", "../1"] {
        assert!(
            matches!(
                s.get_order(&cx(), id).await,
                Err(ConnectorError::NotFound(_))
            ),
            "{id}"
        );
    }
    // A cancelled order cannot ship: Magento's validation message comes through.
    let cancelled = orders
        .iter()
        .find(|o| o.status == OrderStatus::Cancelled)
        .unwrap();
    let err = s
        .create_shipment(&cx(), &cancelled.id, &rest)
        .await
        .expect_err("cancelled");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn products_variants_and_updates_are_visible() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let products = all_products(s.as_ref(), 250, Filters::default()).await;
    let conf = products
        .iter()
        .find(|p| !p.variants.is_empty())
        .expect("a configurable product");
    assert_eq!(conf.variants.len(), 6);
    assert!(conf
        .variants
        .iter()
        .all(|v| v.options.contains_key("Size") && v.options.contains_key("Color")));
    assert!(conf.price.is_some(), "lowest variant price");
    assert_eq!(
        conf.quantity,
        Some(conf.variants.iter().filter_map(|v| v.quantity).sum())
    );
    let simple = products
        .iter()
        .find(|p| p.variants.is_empty() && p.sku.as_deref() == Some("MB01"))
        .expect("MB01");
    assert!(
        simple.images[0].ends_with("/media/catalog/product/m/b/mb01.jpg"),
        "{:?}",
        simple.images
    );
    assert_eq!(simple.currency.as_deref(), Some("USD"));
    assert!(simple.category_ids.contains(&"4".to_string()));

    // get by id.
    let got = s.get_product(&cx(), &conf.id).await.expect("get");
    assert_eq!(&got, conf);
    assert!(matches!(
        s.get_product(&cx(), "424242").await,
        Err(ConnectorError::NotFound(_))
    ));

    // Update name, price, description, status and quantity of a simple product.
    let u = ProductUpdate {
        name: Some("Joust Duffle Bag — Édition 東京".into()),
        description: Some("<p>Neu.</p>".into()),
        status: Some(ProductStatus::Draft),
        price: Some("39.95".into()),
        quantity: Some(77),
        ..Default::default()
    };
    let after = s
        .update_product(&cx(), &simple.id, &u)
        .await
        .expect("update");
    assert_eq!(after.name, "Joust Duffle Bag — Édition 東京");
    assert_eq!(after.price.as_deref(), Some("39.95"));
    assert_eq!(after.status, ProductStatus::Draft);
    assert_eq!(after.description.as_deref(), Some("<p>Neu.</p>"));
    assert_eq!(after.quantity, Some(77));
    assert_eq!(s.get_product(&cx(), &simple.id).await.expect("get"), after);
    assert!(matches!(
        s.update_product(
            &cx(),
            &simple.id,
            &ProductUpdate {
                status: Some(ProductStatus::Archived),
                ..Default::default()
            }
        )
        .await,
        Err(ConnectorError::Unsupported(_))
    ));

    // Without MSI the legacy stock item is written.
    sb.control("settings", Some(json!({"msi": false}))).await;
    let s2 = sb.session();
    let after = s2
        .update_product(
            &cx(),
            &simple.id,
            &ProductUpdate {
                quantity: Some(5),
                ..Default::default()
            },
        )
        .await
        .expect("stock item");
    assert_eq!(after.quantity, Some(5));
    sb.control("settings", Some(json!({"msi": true}))).await;

    // A variant: price and quantity.
    let v = &conf.variants[1];
    let vu = VariantUpdate {
        price: Some("12.50".into()),
        quantity: Some(9),
        ..Default::default()
    };
    let after = s
        .update_variant(&cx(), &conf.id, &v.id, &vu)
        .await
        .expect("variant");
    let nv = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(nv.price.as_deref(), Some("12.50"));
    assert_eq!(nv.quantity, Some(9));
    assert!(matches!(
        s.update_variant(&cx(), &conf.id, &simple.id, &vu).await,
        Err(ConnectorError::NotFound(_))
    ));
    assert!(matches!(
        s.update_product(
            &cx(),
            &conf.id,
            &ProductUpdate {
                quantity: Some(1),
                ..Default::default()
            }
        )
        .await,
        Err(ConnectorError::Validation(_))
    ));

    // Create, then rename its sku.
    let created = s
        .create_product(
            &cx(),
            &NewProduct {
                name: "Crème Test".into(),
                description: Some("Nouveau".into()),
                sku: Some("CT-1".into()),
                status: None,
                price: Some("5.00".into()),
                quantity: Some(3),
                category_ids: vec!["3".into()],
            },
        )
        .await
        .expect("create");
    assert_eq!(created.status, ProductStatus::Draft);
    assert_eq!(created.quantity, Some(3));
    assert_eq!(created.price.as_deref(), Some("5.00"));
    assert_eq!(created.category_ids, vec!["3".to_string()]);
    let renamed = s
        .update_product(
            &cx(),
            &created.id,
            &ProductUpdate {
                sku: Some("CT-2".into()),
                ..Default::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(renamed.id, created.id);
    assert_eq!(renamed.sku.as_deref(), Some("CT-2"));
    // Drafts are listed too (visibility, not status, hides children).
    assert_eq!(
        s.count_products(&cx(), &Filters::default())
            .await
            .expect("count"),
        26
    );
}

#[tokio::test]
async fn customers_categories_and_not_found() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let mut p = params(7, Filters::default());
    let mut all = Vec::new();
    loop {
        let page = s.list_customers(&cx(), &p).await.expect("customers");
        all.extend(page.items);
        match page.next {
            Some(n) => p.state = Some(n),
            None => break,
        }
    }
    assert_eq!(all.len(), 30);
    assert_eq!(
        s.count_customers(&cx(), &Filters::default())
            .await
            .expect("count"),
        30
    );
    assert!(all.iter().any(|c| c.addresses.is_empty()));
    assert!(all.iter().any(|c| c.addresses.len() == 2));
    let one = s.get_customer(&cx(), &all[0].id).await.expect("get");
    assert_eq!(one, all[0]);
    assert!(matches!(
        s.get_customer(&cx(), "9999").await,
        Err(ConnectorError::NotFound(_))
    ));

    let cats = s
        .list_categories(&cx(), &params(50, Filters::default()))
        .await
        .expect("cats");
    assert!(
        cats.items.iter().all(|c| c.id != "1"),
        "the tree root is not listed"
    );
    let root = cats
        .items
        .iter()
        .find(|c| c.id == "2")
        .expect("Default Category");
    assert_eq!(root.parent_id, None);
    let bags = cats.items.iter().find(|c| c.name == "Bags").unwrap();
    assert_eq!(bags.parent_id.as_deref(), Some("3"));
    assert_eq!(s.get_category(&cx(), "4").await.expect("get").name, "Bags");
    assert!(matches!(
        s.get_category(&cx(), "1").await,
        Err(ConnectorError::NotFound(_))
    ));
    assert!(matches!(
        s.get_category(&cx(), "77").await,
        Err(ConnectorError::NotFound(_))
    ));
    let small = s
        .list_categories(&cx(), &params(3, Filters::default()))
        .await
        .expect("cats");
    assert_eq!(small.items.len(), 3);
    assert!(small.next.is_some());
    assert!(matches!(
        s.list_categories(
            &cx(),
            &params(
                3,
                Filters {
                    email: Some("x".into()),
                    ..Default::default()
                }
            )
        )
        .await,
        Err(ConnectorError::Unsupported(_))
    ));
}

#[tokio::test]
async fn proxy_passes_through() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/orders".into(),
                query: [
                    ("searchCriteria[pageSize]".to_string(), "2".to_string()),
                    (
                        "searchCriteria[filter_groups][0][filters][0][field]".into(),
                        "customer_email".into(),
                    ),
                    (
                        "searchCriteria[filter_groups][0][filters][0][value]".into(),
                        "%example%".into(),
                    ),
                    (
                        "searchCriteria[filter_groups][0][filters][0][condition_type]".into(),
                        "like".into(),
                    ),
                ]
                .into(),
                body: None,
            },
        )
        .await
        .expect("proxy");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/orders/424242".into(),
                query: Default::default(),
                body: None,
            },
        )
        .await
        .expect("proxy passes errors through");
    assert_eq!(r.status, 404);
    assert!(r.body["message"].as_str().is_some());
    for bad in ["/../V2/x", "orders", "//x"] {
        assert!(s
            .proxy(
                &cx(),
                &ProxyRequest {
                    method: "GET".into(),
                    path: bad.into(),
                    query: Default::default(),
                    body: None
                }
            )
            .await
            .is_err());
    }
}

#[tokio::test]
async fn faults_are_retried_and_outages_fail_fast() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    // Two 503s, then success: retried.
    sb.faults(json!({"kind": "server_error", "count": 2, "status": 503}))
        .await;
    assert_eq!(
        s.count_orders(&cx(), &Filters::default())
            .await
            .expect("retried"),
        60
    );
    // A body cut short, then success: retried, and the re-sent request has a fresh nonce
    // (the first one was seen by the store).
    sb.faults(json!({"kind": "truncated", "count": 1})).await;
    let page = s
        .list_orders(&cx(), &params(5, Filters::default()))
        .await
        .expect("retried");
    assert_eq!(page.items.len(), 5);
    // 429 with Retry-After: retried.
    sb.faults(json!({"kind": "rate_limited", "count": 1})).await;
    s.count_customers(&cx(), &Filters::default())
        .await
        .expect("after 429");
    // A lasting outage: fails within the retry budget.
    sb.faults(json!({"kind": "server_error", "status": 500}))
        .await;
    let t = Instant::now();
    let err = s
        .count_orders(&cx(), &Filters::default())
        .await
        .expect_err("outage");
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
    sb.faults(json!({"kind": null})).await;
    assert_eq!(
        s.count_orders(&cx(), &Filters::default())
            .await
            .expect("back"),
        60
    );
}

#[tokio::test]
async fn the_last_page_quirk_does_not_loop() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    // A cursor past the end (as after deletions): Magento would repeat its last page.
    let p = ListParams {
        limit: 10,
        state: Some(json!({"page": 9, "page_size": 10})),
        filters: Filters::default(),
    };
    let page = s.list_orders(&cx(), &p).await.expect("page");
    assert!(page.items.is_empty() && page.next.is_none());
    let bad = ListParams {
        limit: 10,
        state: Some(json!({"offset": 10})),
        filters: Filters::default(),
    };
    assert!(matches!(
        s.list_orders(&cx(), &bad).await,
        Err(ConnectorError::Validation(_))
    ));
}

#[tokio::test]
async fn rate_limited_sandbox_is_paced_by_retries() {
    let sb = start_sandbox(SandboxOptions {
        rate_limits: true,
        ..Default::default()
    })
    .await;
    let s = sb.session();
    // 30 quick counts exceed the burst of 20: the 429s are retried after Retry-After.
    let mut ok = 0;
    for _ in 0..25 {
        if s.count_customers(&cx(), &Filters::default()).await.is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 20, "{ok}");
}

/// Magento has no webhooks: a change made in the shop (`/__sandbox/simulate`) is seen by
/// listing with `updated_from`, and told apart as a creation by its `created_at`.
#[tokio::test]
async fn simulated_changes_are_seen_by_updated_since_polling() {
    use cartgate_connector::EventType;
    let connector = cartgate_magento::connector();
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let creds = connector.parse_credentials(&sb.credentials()).unwrap();
    assert!(!connector.native_webhooks(&creds), "polled");
    assert!(matches!(
        connector.verify_inbound(&creds, Some("x"), &Default::default(), b"{}"),
        Err(ConnectorError::Unsupported(_))
    ));
    let rx_url = url::Url::parse("http://127.0.0.1:9/hooks").unwrap();
    assert!(matches!(
        s.register_webhooks(&cx(), &rx_url, "x").await,
        Err(ConnectorError::Unsupported(_))
    ));

    let since = |t: chrono::DateTime<chrono::Utc>| Filters {
        updated_from: Some(t + chrono::Duration::seconds(1)),
        ..Default::default()
    };
    let one_second = chrono::Duration::seconds(1);

    // Updates: absent from "changed since its last change" before, present after.
    let order = all_orders(s.as_ref(), 250, Filters::default()).await[3].clone();
    let t0 = order.updated_at.expect("updated_at");
    let listed = |f: Filters| {
        let s = s.clone();
        async move {
            all_orders(s.as_ref(), 250, f)
                .await
                .into_iter()
                .map(|o| o.id)
                .collect::<HashSet<_>>()
        }
    };
    assert!(!listed(since(t0)).await.contains(&order.id));
    let id = sb.simulate(EventType::OrderUpdated, Some(&order.id)).await;
    assert_eq!(id, order.id);
    let after = s.get_order(&cx(), &id).await.unwrap();
    assert!(after.updated_at > Some(t0));
    assert!(listed(since(t0)).await.contains(&order.id));

    // A new order: listed as changed since before it, created when it was updated.
    let id = sb.simulate(EventType::OrderCreated, None).await;
    let new = s.get_order(&cx(), &id).await.expect("the new order");
    assert_eq!(new.created_at, new.updated_at);
    assert!(!new.line_items.is_empty());
    assert!(listed(since(t0)).await.contains(&id));
    assert!(new.created_at.unwrap() > after.updated_at.unwrap() - one_second);

    // Products and customers the same way.
    let product = all_products(s.as_ref(), 250, Filters::default()).await[0].clone();
    let pt0 = product.updated_at.expect("updated_at");
    let id = sb
        .simulate(EventType::ProductUpdated, Some(&product.id))
        .await;
    let p = s.get_product(&cx(), &id).await.unwrap();
    assert!(p.name.contains("(renamed "), "{}", p.name);
    let ids: HashSet<String> = all_products(s.as_ref(), 250, since(pt0))
        .await
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(ids.contains(&product.id));
    let created = sb.simulate(EventType::ProductCreated, None).await;
    let p = s
        .get_product(&cx(), &created)
        .await
        .expect("the new product");
    assert_eq!(p.created_at, p.updated_at);
    let deleted = sb.simulate(EventType::ProductDeleted, Some(&created)).await;
    assert!(matches!(
        s.get_product(&cx(), &deleted).await,
        Err(ConnectorError::NotFound(_))
    ));

    let id = sb.simulate(EventType::CustomerCreated, None).await;
    let c = s.get_customer(&cx(), &id).await.expect("the new customer");
    assert_eq!(c.created_at, c.updated_at);
    let ct0 = c.updated_at.unwrap();
    sb.simulate(EventType::CustomerUpdated, Some(&id)).await;
    let page = s
        .list_customers(&cx(), &params(100, since(ct0)))
        .await
        .expect("customers changed since");
    assert!(page.items.iter().any(|c| c.id == id));

    // What is not a change: 400 for the body, 404 for an unknown object.
    for (body, status) in [
        (json!({"event": "order.deleted"}), 400),
        (json!({"event": "customer.updated", "id": "999999"}), 404),
    ] {
        let r = sb
            .http()
            .post(format!("{}/__sandbox/simulate", sb.base()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
    }
}

/// Every seeded order through the connector: the shipping and invoicing fields are filled
/// as the sandbox's variety asks, and they add up.
#[tokio::test]
async fn orders_carry_shipping_payment_taxes_and_refunds() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let orders = all_orders(s.as_ref(), 25, Filters::default()).await;
    let set = |f: &dyn Fn(&Order) -> Vec<String>| -> HashSet<String> {
        orders.iter().flat_map(f).collect()
    };

    let payments = set(&|o| {
        o.payment_method
            .iter()
            .filter_map(|p| p.code.clone())
            .collect()
    });
    for m in [
        "checkmo",
        "banktransfer",
        "cashondelivery",
        "braintree",
        "free",
    ] {
        assert!(payments.contains(m), "{m}: {payments:?}");
    }
    assert!(orders
        .iter()
        .filter_map(|o| o.payment_method.as_ref())
        .all(|p| p.title.is_some()));

    let methods = set(&|o| {
        o.shipping_lines
            .iter()
            .filter_map(|l| l.code.clone())
            .collect()
    });
    for m in [
        "flatrate_flatrate",
        "tablerate_bestway",
        "freeshipping_freeshipping",
        "instore_pickup",
    ] {
        assert!(methods.contains(m), "{m}: {methods:?}");
    }
    for o in &orders {
        for l in &o.shipping_lines {
            assert_eq!(l.price, o.shipping_total, "order {}", o.id);
            if l.code.as_deref() == Some("freeshipping_freeshipping") {
                assert!(l
                    .price
                    .as_deref()
                    .is_some_and(|p| p.trim_end_matches(['0', '.']).is_empty()));
            }
        }
        // Virtual orders have no shipping line; the others one.
        assert_eq!(
            o.shipping_lines.len(),
            usize::from(o.shipping_address.is_some())
        );
    }

    // Taxes: several rates (two on one US line), as fractions; sums agree.
    let rates = set(&|o| {
        o.line_items
            .iter()
            .flat_map(|l| &l.tax_lines)
            .filter_map(|t| t.rate.clone())
            .collect()
    });
    for r in ["0.0725", "0.0225", "0.19", "0.07", "0.2", "0.1"] {
        assert!(rates.contains(r), "{r}: {rates:?}");
    }
    assert!(orders
        .iter()
        .flat_map(|o| &o.line_items)
        .any(|l| l.tax_lines.len() == 2));
    let d = |s: &Option<String>| -> rust_decimal::Decimal {
        s.as_deref().unwrap_or("0").parse().unwrap()
    };
    for o in &orders {
        let order_taxes: rust_decimal::Decimal = o.tax_lines.iter().map(|t| d(&t.amount)).sum();
        assert_eq!(
            order_taxes,
            d(&o.tax_total),
            "order {}: tax lines add up",
            o.id
        );
        for l in &o.line_items {
            let line: rust_decimal::Decimal = l.tax_lines.iter().map(|t| d(&t.amount)).sum();
            assert_eq!(line, d(&l.tax_total), "order {} line {}", o.id, l.id);
        }
        assert_eq!(o.prices_include_tax, Some(false));
    }
    // Shipping is taxed in the German and British stores.
    assert!(orders
        .iter()
        .flat_map(|o| &o.shipping_lines)
        .any(|l| d(&l.tax) > rust_decimal::Decimal::ZERO));

    // Coupons.
    let codes = set(&|o| o.discount_codes.iter().map(|c| c.code.clone()).collect());
    assert!(
        codes.contains("SUMMER10") && codes.contains("FREEORDER"),
        "{codes:?}"
    );

    // Refunds: full ones in two credit memos, partial ones by line; all positive and
    // summing to refunded_total.
    let refunded: Vec<&Order> = orders.iter().filter(|o| !o.refunds.is_empty()).collect();
    assert!(refunded
        .iter()
        .any(|o| o.status == OrderStatus::Refunded && o.refunds.len() == 2));
    assert!(refunded
        .iter()
        .any(|o| o.payment_status == PaymentStatus::PartiallyRefunded));
    for o in &orders {
        let sum: rust_decimal::Decimal = o.refunds.iter().map(|r| d(&r.amount)).sum();
        assert_eq!(d(&o.refunded_total), sum, "order {}", o.id);
        assert!(o
            .refunds
            .iter()
            .all(|r| d(&r.amount) > rust_decimal::Decimal::ZERO));
        for l in &o.line_items {
            let by_refunds: i64 = o
                .refunds
                .iter()
                .flat_map(|r| &r.line_items)
                .filter(|rl| rl.line_item_id == l.id)
                .map(|rl| rl.quantity)
                .sum();
            assert_eq!(
                l.refunded_quantity,
                Some(by_refunds),
                "order {} line {}",
                o.id,
                l.id
            );
        }
        if o.status == OrderStatus::Refunded {
            assert_eq!(
                d(&o.refunded_total),
                d(&o.total),
                "order {}: all of it",
                o.id
            );
        }
    }
    assert!(refunded
        .iter()
        .flat_map(|o| &o.refunds)
        .any(|r| r.reason.is_some()));

    // Weights in the order's own store view's unit: pounds, kilograms for the German one.
    for unit in [WeightUnit::Lb, WeightUnit::Kg] {
        assert!(orders
            .iter()
            .any(|o| o.total_weight.as_ref().is_some_and(|w| w.unit == unit)));
    }
    for o in orders
        .iter()
        .filter(|o| o.currency.as_deref() == Some("EUR"))
    {
        assert_eq!(
            o.total_weight.as_ref().map(|w| w.unit),
            Some(WeightUnit::Kg)
        );
    }
    let lines: Vec<&LineItem> = orders.iter().flat_map(|o| &o.line_items).collect();
    assert!(lines.iter().any(|l| l.requires_shipping == Some(false)));
    assert!(
        lines
            .iter()
            .any(|l| l.requires_shipping == Some(true) && l.weight.is_none()),
        "products without weight"
    );
    assert!(lines
        .iter()
        .filter(|l| l.requires_shipping == Some(false))
        .all(|l| l.weight.is_none()));
    assert!(
        lines
            .iter()
            .filter(|l| l.variant_id.is_some())
            .all(|l| l.variant_options.contains_key("Color")
                && l.variant_options.contains_key("Size"))
    );

    // Notes, paid and fulfilled.
    assert!(orders.iter().any(|o| o.customer_note.is_some()));
    for o in &orders {
        let paid = matches!(
            o.payment_status,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        );
        assert_eq!(
            o.paid_at.is_some(),
            paid,
            "order {}: {:?}",
            o.id,
            o.payment_status
        );
        let shipped =
            o.fulfillment_status == FulfillmentStatus::Fulfilled && !o.shipments.is_empty();
        assert_eq!(o.fulfilled_at.is_some(), shipped, "order {}", o.id);
        if let (Some(p), Some(c)) = (o.paid_at, o.created_at) {
            assert!(p >= c);
        }
    }
}

/// A page of orders costs a fixed number of requests, whatever its size: the credit memos,
/// invoices and shipments of the page are one search each, the store configuration and
/// the attributes' labels are cached.
#[tokio::test]
async fn a_page_of_orders_is_not_one_request_per_order() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let requests = || async {
        sb.control("stats", None).await["requests"]
            .as_u64()
            .unwrap()
    };
    // Warm the caches (store configuration, attribute metadata).
    s.list_orders(&cx(), &params(60, Filters::default()))
        .await
        .expect("warm");
    for limit in [5, 60] {
        let before = requests().await;
        let page = s
            .list_orders(&cx(), &params(limit, Filters::default()))
            .await
            .expect("page");
        assert_eq!(page.items.len(), limit as usize);
        let used = requests().await - before;
        assert!(
            used <= 4,
            "{limit} orders took {used} requests: the page, credit memos, invoices, shipments"
        );
    }
}

#[tokio::test]
async fn locations_stock_levels_and_their_writes() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let locations = s.list_locations(&cx()).await.expect("locations");
    let ids: Vec<&str> = locations.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["default", "berlin", "outlet_paris"]);
    assert!(locations[0].active && locations[1].active && !locations[2].active);
    assert_eq!(
        locations[1]
            .address
            .as_ref()
            .and_then(|a| a.country_code.as_deref()),
        Some("DE")
    );

    let products = all_products(s.as_ref(), 250, Filters::default()).await;
    let items: Vec<(&Product, Option<&Variant>)> = products
        .iter()
        .flat_map(|p| {
            let own = p.variants.is_empty().then_some((p, None));
            own.into_iter()
                .chain(p.variants.iter().map(move |v| (p, Some(v))))
        })
        .collect();
    for (p, v) in &items {
        let (q, levels) = match v {
            Some(v) => (v.quantity, &v.inventory_levels),
            None => (p.quantity, &p.inventory_levels),
        };
        match q {
            Some(q) => assert_eq!(
                levels.iter().map(|l| l.available).sum::<i64>(),
                q,
                "{}",
                p.id
            ),
            None => assert!(levels.is_empty(), "stock not managed: {}", p.id),
        }
        assert!(levels.iter().all(|l| ids.contains(&l.location_id.as_str())));
    }
    assert!(
        products
            .iter()
            .all(|p| p.variants.is_empty() || p.inventory_levels.is_empty()),
        "a configurable product's stock is its variants'"
    );
    assert!(items
        .iter()
        .any(|(p, v)| v.is_none() && p.inventory_levels.len() == 2));
    assert!(items
        .iter()
        .any(|(_, v)| v.is_some_and(|v| v.inventory_levels.len() == 2)));
    // Products: weights in the store's pounds (or none), shipping by type.
    assert!(products
        .iter()
        .any(|p| p.weight.as_ref().is_some_and(|w| w.unit == WeightUnit::Lb)));
    assert!(products
        .iter()
        .any(|p| p.weight.is_none() && p.requires_shipping == Some(true)));
    let not_shipped: Vec<_> = products
        .iter()
        .filter(|p| p.requires_shipping == Some(false))
        .collect();
    assert_eq!(
        not_shipped.len(),
        3,
        "the gift cards and the download: {not_shipped:?}"
    );
    assert!(products
        .iter()
        .all(|p| p.barcode.is_none() && p.dimensions.is_none()));

    // A split simple product: a level at one source leaves the other alone.
    let (split, _) = items
        .iter()
        .find(|(p, v)| {
            v.is_none() && p.inventory_levels.len() == 2 && p.status == ProductStatus::Active
        })
        .copied()
        .unwrap();
    let level = |p: &Product, at: &str| {
        p.inventory_levels
            .iter()
            .find(|l| l.location_id == at)
            .map(|l| l.available)
    };
    let berlin = level(split, "berlin").unwrap();
    let here = level(split, "default").unwrap();
    let after = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: "berlin".into(),
                    available: berlin + 10,
                }]),
                ..Default::default()
            },
        )
        .await
        .expect("level");
    assert_eq!(level(&after, "berlin"), Some(berlin + 10));
    assert_eq!(level(&after, "default"), Some(here));
    assert_eq!(after.quantity, Some(here + berlin + 10));
    // A total: the difference goes to the default source.
    let after = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                quantity: Some(berlin + 10 + 1),
                ..Default::default()
            },
        )
        .await
        .expect("total");
    assert_eq!(level(&after, "default"), Some(1));
    assert_eq!(level(&after, "berlin"), Some(berlin + 10));
    // A total below what the other sources hold cannot be applied at the default one.
    let err = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                quantity: Some(berlin),
                ..Default::default()
            },
        )
        .await
        .expect_err("others hold more");
    assert!(matches!(err, ConnectorError::Validation(m) if m.contains("inventory_levels")));
    // An unknown source: refused before anything is written.
    let before = s.get_product(&cx(), &split.id).await.unwrap();
    let err = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                inventory_levels: Some(vec![
                    InventoryLevel {
                        location_id: "default".into(),
                        available: 50,
                    },
                    InventoryLevel {
                        location_id: "mars".into(),
                        available: 1,
                    },
                ]),
                ..Default::default()
            },
        )
        .await
        .expect_err("no such source");
    assert!(
        matches!(&err, ConnectorError::Validation(m) if m.contains("\"mars\"")),
        "{err:?}"
    );
    assert_eq!(s.get_product(&cx(), &split.id).await.unwrap(), before);
    // A variant at a source it was not stocked at yet; a configurable product has none.
    let conf = products.iter().find(|p| !p.variants.is_empty()).unwrap();
    let v = conf
        .variants
        .iter()
        .find(|v| v.inventory_levels.len() == 1)
        .unwrap();
    let after = s
        .update_variant(
            &cx(),
            &conf.id,
            &v.id,
            &VariantUpdate {
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: "outlet_paris".into(),
                    available: 4,
                }]),
                ..Default::default()
            },
        )
        .await
        .expect("variant level");
    let nv = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(nv.inventory_levels.len(), 2);
    assert_eq!(nv.quantity, Some(v.quantity.unwrap() + 4));
    assert!(matches!(
        s.update_product(
            &cx(),
            &conf.id,
            &ProductUpdate {
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: "default".into(),
                    available: 1,
                }]),
                ..Default::default()
            },
        )
        .await,
        Err(ConnectorError::Validation(_))
    ));

    // Weight in kilograms is stored in the store's pounds; barcode and dimensions refused.
    let after = s
        .update_variant(
            &cx(),
            &conf.id,
            &v.id,
            &VariantUpdate {
                weight: Some(Weight {
                    value: "2".into(),
                    unit: WeightUnit::Kg,
                }),
                ..Default::default()
            },
        )
        .await
        .expect("weight");
    let nv = after.variants.iter().find(|x| x.id == v.id).unwrap();
    assert_eq!(
        nv.weight,
        Some(Weight {
            value: "4.4092".into(),
            unit: WeightUnit::Lb
        })
    );
    let requests = sb.control("stats", None).await["requests"].clone();
    for u in [
        VariantUpdate {
            barcode: Some("4006381333931".into()),
            ..Default::default()
        },
        VariantUpdate {
            dimensions: Some(Dimensions {
                length: Some("30".into()),
                width: None,
                height: None,
                unit: LengthUnit::Cm,
            }),
            price: Some("1.00".into()),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            s.update_variant(&cx(), &conf.id, &v.id, &u).await,
            Err(ConnectorError::Unsupported(_))
        ));
    }
    assert_eq!(
        sb.control("stats", None).await["requests"],
        requests,
        "refused before any call, nothing half written"
    );
}

/// A store without MSI keeps one stock: one location, levels equal to the quantity, and
/// only that location can be written.
#[tokio::test]
async fn a_store_without_msi_has_one_location() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    sb.control("settings", Some(json!({"msi": false}))).await;
    let s = sb.session();
    let locations = s.list_locations(&cx()).await.expect("locations");
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0].id, "default");
    let products = all_products(s.as_ref(), 250, Filters::default()).await;
    for p in products.iter().filter(|p| p.variants.is_empty()) {
        match p.quantity {
            Some(q) => assert_eq!(
                p.inventory_levels,
                vec![InventoryLevel {
                    location_id: "default".into(),
                    available: q
                }]
            ),
            None => assert!(p.inventory_levels.is_empty()),
        }
    }
    let simple = products
        .iter()
        .find(|p| p.variants.is_empty() && p.quantity.is_some())
        .unwrap();
    let level = |id: &str, n| ProductUpdate {
        inventory_levels: Some(vec![InventoryLevel {
            location_id: id.into(),
            available: n,
        }]),
        ..Default::default()
    };
    let after = s
        .update_product(&cx(), &simple.id, &level("default", 42))
        .await
        .expect("the one stock");
    assert_eq!(after.quantity, Some(42));
    assert!(matches!(
        s.update_product(&cx(), &simple.id, &level("berlin", 1))
            .await,
        Err(ConnectorError::Validation(_))
    ));
}

//! The connector against the WooCommerce sandbox, over real sockets.
//!
//! Each test starts its own sandbox (seeded, so data is the same every run) and opens a
//! session through the public `Connector` API, as the gateway does.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cartgate_connector::http::UpstreamConfig;
use cartgate_connector::model::*;
use cartgate_connector::sandbox::SandboxOptions;
use cartgate_connector::testing::{self, all_orders, all_products, cx, params, TestSandbox};
use cartgate_connector::{CallContext, ConnectorError, Filters, StoreSession};
use serde_json::{json, Value};

fn test_config() -> UpstreamConfig {
    testing::upstream_config(Duration::from_secs(2))
}

async fn start_sandbox() -> TestSandbox {
    TestSandbox::start(cartgate_woocommerce::connector(), test_config(), |l| {
        cartgate_woocommerce::sandbox::start(l, SandboxOptions::default())
    })
    .await
}

#[tokio::test]
async fn info_validates_credentials() {
    let sb = start_sandbox().await;
    let info = sb.session().info(&cx()).await.expect("info");
    assert!(info.currency.is_some(), "{info:?}");
    // The sandbox serves the site title as WordPress stores it (esc_html).
    assert_eq!(
        info.name.as_deref(),
        Some("Cartgate's Sandbox Shop & Café"),
        "plain text"
    );

    let mut wrong = sb.credentials();
    wrong["consumer_secret"] = json!("cs_not_the_secret");
    let err = sb
        .session_with(&wrong, test_config())
        .info(&cx())
        .await
        .expect_err("wrong secret");
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(!err.to_string().contains("cs_not_the_secret"));
}

#[tokio::test]
async fn orders_page_through_without_duplicates() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let orders = all_orders(s.as_ref(), 7, Filters::default()).await;
    let count = s
        .count_orders(&cx(), &Filters::default())
        .await
        .expect("count");
    assert_eq!(orders.len() as u64, count);
    let ids: HashSet<_> = orders.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids.len(), orders.len(), "no duplicates");
    assert!(
        orders.iter().all(|o| o.shipments.is_empty()),
        "lists carry no shipments"
    );

    // One big page equals the walk.
    let big = s
        .list_orders(&cx(), &params(250, Filters::default()))
        .await
        .expect("big page");
    assert_eq!(big.items.len() as u64, count.min(250));
    let walked: Vec<_> = orders.iter().map(|o| o.id.clone()).collect();
    let at_once: Vec<_> = big.items.iter().map(|o| o.id.clone()).collect();
    assert_eq!(
        walked[..at_once.len()],
        at_once[..],
        "same order either way"
    );

    // include=raw attaches the platform payload.
    let raw = s
        .list_orders(&CallContext::new(true), &params(1, Filters::default()))
        .await
        .expect("raw page");
    assert!(raw.items[0]
        .raw
        .as_ref()
        .is_some_and(|r| r.get("line_items").is_some()));
}

#[tokio::test]
async fn filters_narrow() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let total = s
        .count_orders(&cx(), &Filters::default())
        .await
        .expect("count");

    let completed = Filters {
        status: Some("completed".into()),
        ..Default::default()
    };
    let done = all_orders(s.as_ref(), 50, completed.clone()).await;
    assert!(!done.is_empty() && (done.len() as u64) < total);
    assert!(done.iter().all(|o| o.status == OrderStatus::Completed));
    assert_eq!(
        s.count_orders(&cx(), &completed).await.expect("count"),
        done.len() as u64
    );

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
    assert!(!newer.is_empty() && (newer.len() as u64) < total);
    assert!(newer.iter().all(|o| o.created_at.is_some_and(|t| t >= mid)));
    assert_eq!(
        newer.len(),
        times.iter().filter(|t| **t >= mid).count(),
        "created_from is inclusive"
    );

    let unknown = Filters {
        status: Some("unknown".into()),
        ..Default::default()
    };
    let err = s
        .count_orders(&cx(), &unknown)
        .await
        .expect_err("no wc word");
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");

    // Products by sku; customers by email; customers cannot filter by status.
    let products = s
        .list_products(&cx(), &params(100, Filters::default()))
        .await
        .expect("products");
    let with_sku = products
        .items
        .iter()
        .find_map(|p| p.sku.clone())
        .expect("a product with a sku");
    let by_sku = s
        .list_products(
            &cx(),
            &params(
                10,
                Filters {
                    sku: Some(with_sku.clone()),
                    ..Default::default()
                },
            ),
        )
        .await
        .expect("by sku");
    assert_eq!(by_sku.items.len(), 1);
    assert_eq!(by_sku.items[0].sku.as_deref(), Some(with_sku.as_str()));

    let customers = s
        .list_customers(&cx(), &params(5, Filters::default()))
        .await
        .expect("customers");
    let email = customers.items[0].email.clone().expect("an email");
    let by_email = Filters {
        email: Some(email.clone()),
        ..Default::default()
    };
    let found = s
        .list_customers(&cx(), &params(5, by_email.clone()))
        .await
        .expect("by email");
    assert_eq!(found.items.len(), 1);
    assert_eq!(s.count_customers(&cx(), &by_email).await.expect("count"), 1);
    let err = s
        .count_customers(
            &cx(),
            &Filters {
                status: Some("active".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("unsupported");
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
}

/// An order that can still be shipped, preferring one with several lines.
async fn open_order(s: &dyn StoreSession, skip: &HashSet<String>) -> Order {
    let orders = all_orders(
        s,
        100,
        Filters {
            status: Some("processing".into()),
            ..Default::default()
        },
    )
    .await;
    let mut candidates: Vec<_> = orders
        .into_iter()
        .filter(|o| !skip.contains(&o.id))
        .collect();
    candidates.sort_by_key(|o| std::cmp::Reverse(o.line_items.len()));
    candidates.into_iter().next().expect("a processing order")
}

#[tokio::test]
async fn shipments_with_the_tracking_extension() {
    let sb = start_sandbox().await;
    sb.control("extensions", Some(json!({"shipment_tracking": true})))
        .await;
    let s = sb.session();
    let order = open_order(s.as_ref(), &HashSet::new()).await;
    let before = s.get_order(&cx(), &order.id).await.expect("get");
    let shipped = s
        .create_shipment(
            &cx(),
            &order.id,
            &NewShipment {
                carrier: "UPS".into(),
                tracking_number: "1Z999AA10123456784".into(),
                tracking_url: None,
                line_items: None,
                notify_customer: false,
            },
        )
        .await
        .expect("shipment created");
    assert_eq!(shipped.shipments.len(), before.shipments.len() + 1);
    let last = shipped
        .shipments
        .iter()
        .find(|x| x.tracking_number.as_deref() == Some("1Z999AA10123456784"))
        .expect("the new tracking");
    assert_eq!(last.carrier.as_deref(), Some("UPS"));
    assert_eq!(shipped.status, OrderStatus::Completed);
    assert_eq!(shipped.fulfillment_status, FulfillmentStatus::Fulfilled);

    // A carrier the extension does not know keeps its name and link.
    let other = open_order(s.as_ref(), &HashSet::from([order.id.clone()])).await;
    let shipped = s
        .create_shipment(
            &cx(),
            &other.id,
            &NewShipment {
                carrier: "Bike Courier".into(),
                tracking_number: "B-77".into(),
                tracking_url: Some("https://bikes.example/t/B-77".into()),
                line_items: None,
                notify_customer: true,
            },
        )
        .await
        .expect("custom carrier");
    let t = shipped
        .shipments
        .iter()
        .find(|x| x.tracking_number.as_deref() == Some("B-77"))
        .expect("tracking");
    assert_eq!(t.carrier.as_deref(), Some("Bike Courier"));
    assert_eq!(
        t.tracking_url.as_deref(),
        Some("https://bikes.example/t/B-77")
    );
}

#[tokio::test]
async fn shipments_without_the_extension_are_order_notes() {
    let sb = start_sandbox().await;
    sb.control("extensions", Some(json!({"shipment_tracking": false})))
        .await;
    // The session caches whether the extension exists: open it after switching.
    let s = sb.session();
    let order = open_order(s.as_ref(), &HashSet::new()).await;
    let before = s.get_order(&cx(), &order.id).await.expect("get");
    assert!(before.shipments.is_empty());

    let err = s
        .create_shipment(
            &cx(),
            &order.id,
            &NewShipment {
                carrier: "DHL".into(),
                tracking_number: "JD0001".into(),
                tracking_url: None,
                line_items: Some(vec![ShipmentLine {
                    line_item_id: "999999999".into(),
                    quantity: 1,
                }]),
                notify_customer: false,
            },
        )
        .await
        .expect_err("unknown line item");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");

    // Part of the order: a note, status unchanged, fulfillment partial.
    let first = &before.line_items[0];
    let partial_line = ShipmentLine {
        line_item_id: first.id.clone(),
        quantity: 1,
    };
    let is_partial = before.line_items.len() > 1 || first.quantity > 1;
    let shipped = s
        .create_shipment(
            &cx(),
            &order.id,
            &NewShipment {
                carrier: "DHL".into(),
                tracking_number: "JD0001".into(),
                tracking_url: Some("https://www.dhl.com/track?id=JD0001".into()),
                line_items: Some(vec![partial_line]),
                notify_customer: false,
            },
        )
        .await
        .expect("partial shipment");
    assert_eq!(shipped.shipments.len(), 1);
    let sh = &shipped.shipments[0];
    assert_eq!(sh.carrier.as_deref(), Some("DHL"));
    assert_eq!(sh.tracking_number.as_deref(), Some("JD0001"));
    assert_eq!(
        sh.tracking_url.as_deref(),
        Some("https://www.dhl.com/track?id=JD0001")
    );
    if is_partial {
        assert_eq!(shipped.status, before.status);
        assert_eq!(shipped.fulfillment_status, FulfillmentStatus::Partial);
    }

    // The rest: everything shipped, the order is completed.
    let shipped = s
        .create_shipment(
            &cx(),
            &order.id,
            &NewShipment {
                carrier: "DHL".into(),
                tracking_number: "JD0002".into(),
                tracking_url: None,
                line_items: None,
                notify_customer: true,
            },
        )
        .await
        .expect("full shipment");
    assert_eq!(shipped.shipments.len(), 2);
    assert_eq!(shipped.status, OrderStatus::Completed);
    assert_eq!(shipped.fulfillment_status, FulfillmentStatus::Fulfilled);
    let again = s.get_order(&cx(), &order.id).await.expect("get");
    assert_eq!(again.shipments, shipped.shipments);
}

#[tokio::test]
async fn product_and_variant_updates_are_visible() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let products = s
        .list_products(&CallContext::new(true), &params(100, Filters::default()))
        .await
        .expect("products");
    let on_sale = |p: &Product| {
        p.raw
            .as_ref()
            .and_then(|r| r.get("sale_price"))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let simple = products
        .items
        .iter()
        .find(|p| p.variants.is_empty() && !on_sale(p))
        .expect("a simple product not on sale");
    let updated = s
        .update_product(
            &cx(),
            &simple.id,
            &ProductUpdate {
                name: Some("Renamed by the connector test".into()),
                price: Some("12.34".into()),
                quantity: Some(9),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.name, "Renamed by the connector test");
    let again = s.get_product(&cx(), &simple.id).await.expect("get");
    assert_eq!(again.price.as_deref(), Some("12.34"));
    assert_eq!(again.quantity, Some(9));
    assert_eq!(again.name, "Renamed by the connector test");

    let variable = products
        .items
        .iter()
        .find(|p| !p.variants.is_empty())
        .expect("a variable product");
    let v = &variable.variants[0];
    let after = s
        .update_variant(
            &cx(),
            &variable.id,
            &v.id,
            &VariantUpdate {
                price: None,
                quantity: Some(3),
                sku: Some("CONNECTOR-TEST-SKU".into()),
                ..Default::default()
            },
        )
        .await
        .expect("variant update");
    let got = after
        .variants
        .iter()
        .find(|x| x.id == v.id)
        .expect("variant");
    assert_eq!(got.quantity, Some(3));
    assert_eq!(got.sku.as_deref(), Some("CONNECTOR-TEST-SKU"));
    let fresh = s.get_product(&cx(), &variable.id).await.expect("get");
    assert_eq!(fresh.variants.iter().find(|x| x.id == v.id), Some(got));

    // A variant of another product is not found.
    let err = s
        .update_variant(&cx(), &simple.id, &v.id, &VariantUpdate::default())
        .await
        .expect_err("not its variant");
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");

    let created = s
        .create_product(
            &cx(),
            &NewProduct {
                name: "Linen Scarf".into(),
                description: Some("Made by the connector test".into()),
                sku: Some("LINEN-SCARF-T".into()),
                status: None,
                price: Some("25.00".into()),
                quantity: Some(4),
                category_ids: vec![],
            },
        )
        .await
        .expect("create");
    assert_eq!(created.status, ProductStatus::Draft);
    assert_eq!(created.price.as_deref(), Some("25.00"));
    assert_eq!(created.quantity, Some(4));
}

#[tokio::test]
async fn customers_categories_and_not_found() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let total = s
        .count_customers(&cx(), &Filters::default())
        .await
        .expect("count");
    let mut p = params(4, Filters::default());
    let mut seen = HashSet::new();
    loop {
        let page = s.list_customers(&cx(), &p).await.expect("customers");
        for c in page.items {
            assert!(seen.insert(c.id.clone()), "duplicate customer {}", c.id);
        }
        match page.next {
            Some(n) => p.state = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, total);
    let one = seen.iter().next().expect("a customer").clone();
    assert_eq!(s.get_customer(&cx(), &one).await.expect("get").id, one);

    // Categories have no `offset` in wc/v3: paging goes through `page`.
    let mut p = params(3, Filters::default());
    let mut cats = Vec::new();
    loop {
        let page = s.list_categories(&cx(), &p).await.expect("categories");
        cats.extend(page.items);
        match page.next {
            Some(n) => p.state = Some(n),
            None => break,
        }
    }
    let ids: HashSet<_> = cats.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), cats.len());
    assert!(!cats.is_empty());
    let all = s
        .list_categories(&cx(), &params(250, Filters::default()))
        .await
        .expect("all");
    assert_eq!(all.items.len(), cats.len());
    assert_eq!(
        s.get_category(&cx(), &cats[0].id).await.expect("get").id,
        cats[0].id
    );

    for err in [
        s.get_order(&cx(), "987654321").await.map(|_| ()),
        s.get_product(&cx(), "987654321").await.map(|_| ()),
        s.get_customer(&cx(), "987654321").await.map(|_| ()),
    ] {
        assert!(matches!(err, Err(ConnectorError::NotFound(_))), "{err:?}");
    }
    let err = s
        .get_order(&cx(), "../customers")
        .await
        .expect_err("bad id");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn proxy_passes_through() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/orders".into(),
                query: [("per_page".to_string(), "2".to_string())].into(),
                body: None,
            },
        )
        .await
        .expect("proxy");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().map(Vec::len), Some(2));
    let missing = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/orders/987654321".into(),
                query: Default::default(),
                body: None,
            },
        )
        .await
        .expect("a 404 is an answer");
    assert_eq!(missing.status, 404);
    for (method, path) in [
        ("GET", "/../wp/v2/users"),
        ("TRACE", "/orders"),
        ("GET", "orders"),
    ] {
        let err = s
            .proxy(
                &cx(),
                &ProxyRequest {
                    method: method.into(),
                    path: path.into(),
                    query: Default::default(),
                    body: None,
                },
            )
            .await
            .expect_err("refused");
        assert!(
            matches!(err, ConnectorError::Validation(_)),
            "{method} {path}: {err:?}"
        );
    }
}

#[tokio::test]
async fn transient_faults_are_retried_and_outages_fail_fast() {
    let sb = start_sandbox().await;
    let s = sb.session();
    sb.control("faults", Some(json!({"kind": "server_error", "count": 2})))
        .await;
    let page = s
        .list_orders(&cx(), &params(5, Filters::default()))
        .await
        .expect("retried through two 5xx");
    assert_eq!(page.items.len(), 5);

    sb.control(
        "faults",
        Some(json!({"kind": "server_error", "count": null})),
    )
    .await;
    let quick = sb.session_with(
        &sb.credentials(),
        UpstreamConfig {
            max_retry_wait: Duration::from_millis(300),
            ..test_config()
        },
    );
    let started = Instant::now();
    let err = quick
        .get_order(&cx(), "1")
        .await
        .expect_err("lasting outage");
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    sb.control("faults", Some(json!({"kind": null}))).await;
    assert!(quick.count_orders(&cx(), &Filters::default()).await.is_ok());
}

#[tokio::test]
async fn a_read_only_key_is_permission_denied_not_auth_failed() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let product = s
        .list_products(&cx(), &params(1, Filters::default()))
        .await
        .expect("list")
        .items
        .remove(0);
    sb.control("key", Some(json!({"permissions": "read"})))
        .await;
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
        .expect_err("a read-only key cannot write");
    assert!(
        matches!(&err, ConnectorError::PermissionDenied(m) if m.contains("write permissions")),
        "{err:?}"
    );
    s.get_product(&cx(), &product.id)
        .await
        .expect("reads still work");
    // A write-only key cannot read: the same kind of refusal.
    sb.control("key", Some(json!({"permissions": "write"})))
        .await;
    let err = s
        .info(&cx())
        .await
        .expect_err("a write-only key cannot read");
    assert!(
        matches!(err, ConnectorError::PermissionDenied(_)),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Shipping, invoicing and stock details (issue 12)
// ---------------------------------------------------------------------------------------

/// A wc/v3 read straight from the sandbox, as the store holds it.
async fn wc(sb: &TestSandbox, path: &str) -> Value {
    let c = sb.credentials();
    let r = sb
        .http()
        .get(format!("{}/wp-json/wc/v3{path}", sb.base()))
        .basic_auth(
            c["consumer_key"].as_str().unwrap(),
            c["consumer_secret"].as_str(),
        )
        .send()
        .await
        .expect("sandbox answers");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("JSON")
}

async fn wc_put(sb: &TestSandbox, path: &str, body: Value) {
    let c = sb.credentials();
    let r = sb
        .http()
        .put(format!("{}/wp-json/wc/v3{path}", sb.base()))
        .basic_auth(
            c["consumer_key"].as_str().unwrap(),
            c["consumer_secret"].as_str(),
        )
        .json(&body)
        .send()
        .await
        .expect("sandbox answers");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// API requests the sandbox has served so far.
async fn requests(sb: &TestSandbox) -> u64 {
    sb.control("stats", None).await["requests"]
        .as_u64()
        .expect("a count")
}

fn dec(s: Option<&str>) -> f64 {
    s.expect("an amount").parse().expect("a decimal")
}

#[tokio::test]
async fn orders_carry_shipping_payment_taxes_discounts_and_refunds() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let before = requests(&sb).await;
    let page = s
        .list_orders(&cx(), &params(100, Filters::default()))
        .await
        .expect("a page");
    assert_eq!(
        requests(&sb).await - before,
        2,
        "the page, then one read of all its refunds: never one per order"
    );
    let orders = page.items;
    let raw = wc(&sb, "/orders?per_page=100").await;
    let raw = raw.as_array().expect("orders");
    assert_eq!(orders.len(), raw.len());
    for (o, r) in orders.iter().zip(raw) {
        assert_eq!(o.id, r["id"].to_string());
        let codes: Vec<Option<&str>> = o.shipping_lines.iter().map(|l| l.code.as_deref()).collect();
        let methods: Vec<Option<&str>> = r["shipping_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["method_id"].as_str())
            .collect();
        assert_eq!(codes, methods);
        let pm = o.payment_method.as_ref().expect("a payment method");
        assert_eq!(pm.code.as_deref(), r["payment_method"].as_str());
        assert_eq!(pm.title.as_deref(), r["payment_method_title"].as_str());
        assert_eq!(o.prices_include_tax, r["prices_include_tax"].as_bool());
        let taxes: f64 = o.tax_lines.iter().map(|t| dec(t.amount.as_deref())).sum();
        assert!(
            (taxes - dec(o.tax_total.as_deref())).abs() < 0.001,
            "{}",
            o.id
        );
        assert!(o
            .tax_lines
            .iter()
            .all(|t| t.title.is_some() && t.rate.is_some()));
        let coupons: Vec<&str> = o.discount_codes.iter().map(|c| c.code.as_str()).collect();
        let raw_coupons: Vec<&str> = r["coupon_lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["code"].as_str())
            .collect();
        assert_eq!(coupons, raw_coupons);
        assert_eq!(o.paid_at.is_some(), r["date_paid_gmt"].is_string());
        assert_eq!(
            o.fulfilled_at.is_some(),
            r["date_completed_gmt"].is_string()
        );
        assert_eq!(o.note, None);
        assert_eq!(
            o.customer_note.as_deref(),
            r["customer_note"].as_str().filter(|n| !n.is_empty())
        );
        let refunded: f64 = o.refunds.iter().map(|x| dec(x.amount.as_deref())).sum();
        assert!((refunded - dec(o.refunded_total.as_deref())).abs() < 0.001);
        for (l, rl) in o.line_items.iter().zip(r["line_items"].as_array().unwrap()) {
            assert_eq!(l.tax_total.as_deref(), rl["total_tax"].as_str());
            let discount = dec(rl["subtotal"].as_str()) - dec(rl["total"].as_str());
            assert!((dec(l.discount_total.as_deref()) - discount).abs() < 0.001);
            assert_eq!(l.variant_options.is_empty(), l.variant_id.is_none());
            if o.refunds.is_empty() {
                assert_eq!(l.refunded_quantity, Some(0));
            }
        }
        // Every refund is complete: dated, its lines named by the order's line ids.
        for x in &o.refunds {
            assert!(x.created_at.is_some(), "{x:?}");
            for rl in &x.line_items {
                assert!(o.line_items.iter().any(|l| l.id == rl.line_item_id));
                assert!(rl.quantity > 0 && dec(rl.amount.as_deref()) > 0.0);
            }
        }
    }
    // The variety the seeded store holds.
    let rates: HashSet<&str> = orders
        .iter()
        .flat_map(|o| o.tax_lines.iter().filter_map(|t| t.rate.as_deref()))
        .collect();
    assert!(
        ["0.19", "0.07", "0.2", "0.1"]
            .iter()
            .all(|r| rates.contains(r)),
        "{rates:?}"
    );
    assert!(orders.iter().any(|o| o.prices_include_tax == Some(true)));
    assert!(orders.iter().any(|o| o.prices_include_tax == Some(false)));
    let fully = orders
        .iter()
        .find(|o| o.status == OrderStatus::Refunded && o.refunds.len() == 2)
        .expect("an order refunded in two refunds by line");
    assert!(fully
        .line_items
        .iter()
        .all(|l| l.refunded_quantity == Some(l.quantity)));
    let one_unit = orders
        .iter()
        .find(|o| {
            o.line_items
                .iter()
                .any(|l| l.refunded_quantity.is_some_and(|q| q > 0 && q < l.quantity))
        })
        .expect("a partial refund by line");
    assert_eq!(one_unit.status, OrderStatus::Completed);
    let goodwill = orders
        .iter()
        .find(|o| o.refunds.len() == 1 && o.refunds[0].line_items.is_empty())
        .expect("a refund of an amount only");
    assert!(goodwill
        .line_items
        .iter()
        .all(|l| l.refunded_quantity == Some(0)));

    // One order reads the same on its own (refunds through the order's refunds route).
    for o in [fully, one_unit, goodwill] {
        let one = s.get_order(&cx(), &o.id).await.expect("get");
        assert_eq!(one.refunds, o.refunds);
        assert_eq!(one.line_items, o.line_items);
        assert_eq!(
            (&one.tax_lines, &one.shipping_lines, &one.refunded_total),
            (&o.tax_lines, &o.shipping_lines, &o.refunded_total)
        );
    }
}

/// WooCommerce before 9.0 has no store-wide refunds route: a list keeps what each order's
/// own `refunds[]` says (no dates, no lines, no per-line counts), learnt from one 404 and
/// not asked again; a single order still reads its refunds in full.
#[tokio::test]
async fn before_woocommerce_9_lists_keep_the_orders_own_refund_summary() {
    let sb = start_sandbox().await;
    sb.control("version", Some(json!({"woocommerce": "8.9.1"})))
        .await;
    let s = sb.session();
    let first = s
        .list_orders(&cx(), &params(100, Filters::default()))
        .await
        .expect("a page")
        .items;
    let before = requests(&sb).await;
    let again = s
        .list_orders(&cx(), &params(100, Filters::default()))
        .await
        .expect("a page")
        .items;
    assert_eq!(
        requests(&sb).await - before,
        1,
        "the missing route is remembered"
    );
    assert_eq!(first, again);
    let refunded = first
        .iter()
        .find(|o| o.refunds.len() == 2)
        .expect("a twice refunded order");
    assert!(refunded
        .refunds
        .iter()
        .all(|r| r.created_at.is_none() && r.line_items.is_empty()));
    assert!(refunded.refunds.iter().all(|r| r.amount.is_some()));
    assert!(refunded
        .line_items
        .iter()
        .all(|l| l.refunded_quantity.is_none()));
    assert!(refunded.refunded_total.is_some());
    let one = s.get_order(&cx(), &refunded.id).await.expect("get");
    assert!(one.refunds.iter().all(|r| r.created_at.is_some()));
    assert!(one
        .line_items
        .iter()
        .all(|l| l.refunded_quantity == Some(l.quantity)));
}

#[tokio::test]
async fn products_carry_weights_dimensions_barcodes_and_the_one_location() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let products = all_products(s.as_ref(), 100, Filters::default()).await;
    let raw = wc(&sb, "/products?per_page=100").await;
    let raw = raw.as_array().expect("products");
    for p in &products {
        let r = raw
            .iter()
            .find(|r| r["id"].as_i64().map(|n| n.to_string()).as_ref() == Some(&p.id))
            .expect("in the store");
        match r["weight"].as_str().filter(|w| !w.is_empty()) {
            Some(w) => assert_eq!(
                p.weight.as_ref().map(|x| (x.value.as_str(), x.unit)),
                Some((w, WeightUnit::Kg)),
                "as kept, in the store's unit"
            ),
            None => assert_eq!(p.weight, None),
        }
        assert_eq!(
            p.barcode.as_deref(),
            r["global_unique_id"].as_str().filter(|g| !g.is_empty())
        );
        assert_eq!(p.requires_shipping, Some(r["virtual"] != true));
        for (levels, quantity) in std::iter::once((&p.inventory_levels, p.quantity))
            .chain(p.variants.iter().map(|v| (&v.inventory_levels, v.quantity)))
        {
            match quantity {
                Some(q) => assert_eq!(
                    levels,
                    &[InventoryLevel {
                        location_id: "default".into(),
                        available: q
                    }]
                ),
                None => assert!(levels.is_empty()),
            }
        }
    }
    assert!(products
        .iter()
        .any(|p| p.weight.is_none() && p.requires_shipping == Some(true)));
    assert!(
        products.iter().any(|p| p.requires_shipping == Some(false)),
        "a download"
    );
    let boxed = products
        .iter()
        .find_map(|p| p.dimensions.as_ref().filter(|d| d.height.is_some()))
        .expect("a product with three sides");
    assert_eq!(
        (
            boxed.length.as_deref(),
            boxed.width.as_deref(),
            boxed.height.as_deref(),
            boxed.unit
        ),
        (Some("30"), Some("20"), Some("4.5"), LengthUnit::Cm)
    );
    assert!(products
        .iter()
        .filter_map(|p| p.dimensions.as_ref())
        .any(|d| d.length.is_some() && d.width.is_none()));
    // A variation without its own weight has its product's.
    let variable = products
        .iter()
        .find(|p| !p.variants.is_empty() && p.weight.is_some())
        .expect("a variable product with a weight");
    assert_eq!(
        variable.variants[0]
            .weight
            .as_ref()
            .map(|w| w.value.as_str()),
        Some("0.62")
    );
    assert_eq!(variable.variants[1].weight, variable.weight);
    assert!(variable.variants.iter().any(|v| v.barcode.is_some()));

    let locations = s.list_locations(&cx()).await.expect("locations");
    assert_eq!(locations.len(), 1);
    let l = &locations[0];
    assert_eq!(l.id, "default");
    assert_eq!(l.name.as_deref(), Some("Cartgate's Sandbox Shop & Café"));
    assert!(l.active);
    let a = l.address.as_ref().expect("the store address");
    assert_eq!(
        (
            a.line1.as_deref(),
            a.city.as_deref(),
            a.region.as_deref(),
            a.country_code.as_deref()
        ),
        (
            Some("Friedrichstraße 43"),
            Some("Berlin"),
            Some("BE"),
            Some("DE")
        )
    );

    // The units are read once per session: a second page asks the store for less.
    let before = requests(&sb).await;
    s.list_products(&cx(), &params(5, Filters::default()))
        .await
        .expect("page");
    let second = requests(&sb).await - before;
    let fresh = sb.session();
    let before = requests(&sb).await;
    fresh
        .list_products(&cx(), &params(5, Filters::default()))
        .await
        .expect("page");
    assert_eq!(
        requests(&sb).await - before,
        second + 2,
        "currency and units"
    );
}

#[tokio::test]
async fn weight_dimension_barcode_and_stock_writes() {
    let sb = start_sandbox().await;
    let s = sb.session();
    let products = all_products(s.as_ref(), 100, Filters::default()).await;
    let simple = products
        .iter()
        .find(|p| p.variants.is_empty() && p.requires_shipping == Some(true))
        .expect("a simple product that ships");
    let kg = |v: &str| Weight {
        value: v.into(),
        unit: WeightUnit::Kg,
    };
    let update = |u: ProductUpdate| {
        let (s, id) = (s.clone(), simple.id.clone());
        async move { s.update_product(&cx(), &id, &u).await }
    };
    let p = update(ProductUpdate {
        weight: Some(kg("1.5")),
        ..Default::default()
    })
    .await
    .expect("weight");
    assert_eq!(p.weight, Some(kg("1.5")));
    let p = update(ProductUpdate {
        weight: Some(Weight {
            value: "2".into(),
            unit: WeightUnit::Lb,
        }),
        dimensions: Some(Dimensions {
            length: Some("12".into()),
            width: None,
            height: Some("2".into()),
            unit: LengthUnit::In,
        }),
        barcode: Some("4006381333931".into()),
        inventory_levels: Some(vec![InventoryLevel {
            location_id: "default".into(),
            available: 7,
        }]),
        ..Default::default()
    })
    .await
    .expect("converted to kg and cm");
    assert_eq!(p.weight, Some(kg("0.9072")));
    let d = p.dimensions.as_ref().expect("dimensions");
    assert_eq!(
        (d.length.as_deref(), d.height.as_deref(), d.unit),
        (Some("30.48"), Some("5.08"), LengthUnit::Cm)
    );
    assert_eq!(
        d.width,
        simple.dimensions.as_ref().and_then(|d| d.width.clone()),
        "a side not sent stays"
    );
    assert_eq!(p.barcode.as_deref(), Some("4006381333931"));
    assert_eq!(p.quantity, Some(7));
    assert_eq!(s.get_product(&cx(), &simple.id).await.expect("get"), p);

    // Refusals: another location, a taken GTIN; nothing of either is written.
    let err = update(ProductUpdate {
        inventory_levels: Some(vec![InventoryLevel {
            location_id: "warehouse-2".into(),
            available: 1,
        }]),
        ..Default::default()
    })
    .await
    .expect_err("one location");
    assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
    let variable = products
        .iter()
        .find(|p| p.variants.len() >= 2)
        .expect("a variable product");
    let v = &variable.variants[1];
    let err = s
        .update_variant(
            &cx(),
            &variable.id,
            &v.id,
            &VariantUpdate {
                barcode: Some("4006381333931".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("GTINs are unique");
    assert!(
        matches!(&err, ConnectorError::Validation(m) if m.contains("GTIN")),
        "{err:?}"
    );
    let after = s
        .update_variant(
            &cx(),
            &variable.id,
            &v.id,
            &VariantUpdate {
                weight: Some(Weight {
                    value: "250".into(),
                    unit: WeightUnit::G,
                }),
                barcode: Some("4006381999991".into()),
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: "default".into(),
                    available: 11,
                }]),
                ..Default::default()
            },
        )
        .await
        .expect("variant");
    let got = after
        .variants
        .iter()
        .find(|x| x.id == v.id)
        .expect("variant");
    assert_eq!(got.weight, Some(kg("0.25")));
    assert_eq!(got.barcode.as_deref(), Some("4006381999991"));
    assert_eq!(
        (got.quantity, got.inventory_levels.clone()),
        (
            Some(11),
            vec![InventoryLevel {
                location_id: "default".into(),
                available: 11
            }]
        )
    );
    assert_eq!(
        after
            .variants
            .iter()
            .find(|x| x.id == variable.variants[0].id),
        Some(&variable.variants[0]),
        "the other variant is untouched"
    );
}

/// A store kept in pounds and yards: reads are in its units (yards as exact inches),
/// writes are converted to them; a store before WooCommerce 9.2 refuses barcodes rather
/// than dropping them.
#[tokio::test]
async fn imperial_units_and_stores_without_barcodes() {
    let sb = start_sandbox().await;
    wc_put(
        &sb,
        "/settings/products/woocommerce_weight_unit",
        json!({"value": "lbs"}),
    )
    .await;
    wc_put(
        &sb,
        "/settings/products/woocommerce_dimension_unit",
        json!({"value": "yd"}),
    )
    .await;
    let s = sb.session();
    let products = all_products(s.as_ref(), 100, Filters::default()).await;
    let boxed = products
        .iter()
        .find(|p| p.dimensions.as_ref().is_some_and(|d| d.height.is_some()))
        .expect("a product with three sides");
    assert_eq!(boxed.weight.as_ref().map(|w| w.unit), Some(WeightUnit::Lb));
    let d = boxed.dimensions.as_ref().expect("dimensions");
    assert_eq!(
        (d.length.as_deref(), d.height.as_deref(), d.unit),
        (Some("1080"), Some("162"), LengthUnit::In),
        "30 and 4.5 yd"
    );
    let p = s
        .update_product(
            &cx(),
            &boxed.id,
            &ProductUpdate {
                weight: Some(Weight {
                    value: "1".into(),
                    unit: WeightUnit::Kg,
                }),
                dimensions: Some(Dimensions {
                    length: Some("1".into()),
                    width: None,
                    height: None,
                    unit: LengthUnit::M,
                }),
                ..Default::default()
            },
        )
        .await
        .expect("write");
    assert_eq!(
        p.weight.map(|w| (w.value, w.unit)),
        Some(("2.2046".into(), WeightUnit::Lb))
    );
    let raw = wc(&sb, &format!("/products/{}", boxed.id)).await;
    assert_eq!(raw["weight"], "2.2046");
    assert_eq!(raw["dimensions"]["length"], "1.0936", "1 m in yards");

    sb.control("version", Some(json!({"woocommerce": "9.1.0"})))
        .await;
    let err = s
        .update_product(
            &cx(),
            &boxed.id,
            &ProductUpdate {
                sku: Some("NOT-WRITTEN".into()),
                barcode: Some("4006381333931".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("no barcode field");
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err:?}");
    let after = s.get_product(&cx(), &boxed.id).await.expect("get");
    assert_ne!(after.sku.as_deref(), Some("NOT-WRITTEN"), "nothing written");
    assert!(after.barcode.is_none(), "before 9.2 there is none to read");
}

// ---------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------

mod webhooks {
    use super::*;
    use cartgate_connector::testing::{Received, WebhookReceiver};
    use cartgate_connector::{EventType, Inbound, InboundEvent};

    const WAIT: Duration = Duration::from_secs(10);
    const SECRET: &str = "per-store-secret-the-gateway-generated";

    fn verify(secret: Option<&str>, r: &Received) -> cartgate_connector::Result<Inbound> {
        cartgate_woocommerce::connector().verify_inbound(&json!({}), secret, &r.headers, &r.body)
    }

    fn event(r: &Received) -> InboundEvent {
        match verify(Some(SECRET), r).expect("the sandbox's webhook verifies") {
            Inbound::Event(e) => e,
            Inbound::Ignored => panic!("an event, not ignored"),
        }
    }

    async fn next_topic(rx: &WebhookReceiver, topic: &str, id: &str) -> Received {
        rx.next_where(WAIT, |r| {
            r.header("x-wc-webhook-topic") == Some(topic)
                && r.json()["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(id)
        })
        .await
        .unwrap_or_else(|| panic!("no {topic} webhook for {id}"))
    }

    #[tokio::test]
    async fn registered_webhooks_deliver_verifiable_events_until_unregistered() {
        let sb = start_sandbox().await;
        let s = sb.session();
        assert!(cartgate_woocommerce::connector().native_webhooks(&sb.credentials()));
        let rx = WebhookReceiver::start().await;
        let ids = s
            .register_webhooks(&cx(), &rx.url, SECRET)
            .await
            .expect("registers");
        assert_eq!(ids.len(), 7, "{ids:?}");
        // WooCommerce pings each new webhook, unsigned: acknowledged and ignored.
        for _ in 0..7 {
            let ping = rx.next(WAIT).await.expect("a ping");
            assert!(ping.body.starts_with(b"webhook_id="));
            assert_eq!(verify(Some(SECRET), &ping).unwrap(), Inbound::Ignored);
        }

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
            made.insert(t, id.clone());
            let got = next_topic(&rx, t.as_str(), &id).await;
            let e = event(&got);
            assert_eq!((e.event_type, e.object_id.as_str()), (t, id.as_str()));
            assert_eq!(
                Some(e.delivery_id.as_str()),
                got.header("x-wc-webhook-delivery-id")
            );
            assert_eq!(e.occurred_at.is_some(), t != EventType::ProductDeleted);
            match t {
                EventType::CustomerCreated | EventType::CustomerUpdated => {
                    // The payload maps to exactly what get_customer answers.
                    let fresh = s.get_customer(&cx(), &id).await.expect("customer");
                    assert_eq!(e.data, Some(serde_json::to_value(&fresh).unwrap()));
                }
                EventType::ProductDeleted => {
                    assert_eq!(e.data, None);
                    let err = s.get_product(&cx(), &id).await.expect_err("deleted");
                    assert!(matches!(err, ConnectorError::NotFound(_)), "{err:?}");
                }
                EventType::OrderCreated | EventType::OrderUpdated => {
                    assert_eq!(e.data, None, "orders are read fresh (shipments)");
                    assert_eq!(s.get_order(&cx(), &id).await.expect("order").id, id);
                }
                _ => {
                    assert_eq!(
                        e.data, None,
                        "products are read fresh (currency, variations)"
                    );
                    assert_eq!(s.get_product(&cx(), &id).await.expect("product").id, id);
                }
            }
        }

        // A shipment added through the connector is an order.updated.
        let order = made[&EventType::OrderCreated].clone();
        s.create_shipment(
            &cx(),
            &order,
            &NewShipment {
                carrier: "DHL".into(),
                tracking_number: "00340434161234567890".into(),
                tracking_url: None,
                line_items: None,
                notify_customer: false,
            },
        )
        .await
        .expect("ships");
        let got = next_topic(&rx, "order.updated", &order).await;
        assert_eq!(event(&got).event_type, EventType::OrderUpdated);

        // Forgeries: a changed body, another secret, no secret.
        let mut tampered = got.clone();
        let mut body = tampered.body.to_vec();
        let at = body.iter().position(|b| b.is_ascii_digit()).unwrap();
        body[at] = if body[at] == b'9' { b'8' } else { b'9' };
        tampered.body = body.into();
        for (secret, r) in [
            (Some(SECRET), &tampered),
            (Some("another-secret"), &got),
            (None, &got),
        ] {
            assert!(
                matches!(verify(secret, r), Err(ConnectorError::InvalidSignature(_))),
                "{secret:?}"
            );
        }

        // Unregistered: no more deliveries; unregistering twice is fine.
        s.unregister_webhooks(&cx(), &ids)
            .await
            .expect("unregisters");
        s.unregister_webhooks(&cx(), &ids)
            .await
            .expect("missing ids are fine");
        sb.outbox_idle(WAIT).await;
        rx.drain().await;
        let before = sb.outbox().await.queued;
        sb.simulate(EventType::OrderUpdated, Some(&order)).await;
        sb.simulate(EventType::CustomerCreated, None).await;
        assert_eq!(sb.outbox().await.queued, before, "nothing queued");
        assert!(rx.next(Duration::from_millis(300)).await.is_none());
    }

    #[tokio::test]
    async fn registration_needs_a_secret_and_write_permission() {
        let sb = start_sandbox().await;
        let s = sb.session();
        let rx = WebhookReceiver::start().await;
        let err = s
            .register_webhooks(&cx(), &rx.url, "")
            .await
            .expect_err("no secret");
        assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
        // A key without write permission: refused, nothing left behind.
        sb.control("key", Some(json!({"permissions": "read"})))
            .await;
        let err = s
            .register_webhooks(&cx(), &rx.url, SECRET)
            .await
            .expect_err("read-only key");
        assert!(
            matches!(err, ConnectorError::PermissionDenied(_)),
            "{err:?}"
        );
        sb.control("key", Some(json!({"permissions": "read_write"})))
            .await;
        let listed: Vec<Value> = sb
            .http()
            .get(format!("{}/wp-json/wc/v3/webhooks", sb.base()))
            .basic_auth(
                sb.credentials()["consumer_key"].as_str().unwrap(),
                sb.credentials()["consumer_secret"].as_str(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed, Vec::<Value>::new());
        let err = s
            .unregister_webhooks(&cx(), &["../orders".into()])
            .await
            .expect_err("not an id");
        assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
    }
}

//! The connector against the WooCommerce sandbox, over real sockets.
//!
//! Each test starts its own sandbox (seeded, so data is the same every run) and opens a
//! session through the public `Connector` API, as the gateway does.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cartgate_connector::http::UpstreamConfig;
use cartgate_connector::model::*;
use cartgate_connector::sandbox::SandboxOptions;
use cartgate_connector::testing::{self, all_orders, cx, params, TestSandbox};
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

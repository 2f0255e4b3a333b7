//! The connector against the eBay sandbox, over real sockets: OAuth refresh and its
//! failures, per-scope permissions, daily-limit pacing, orders with the shipping model,
//! shipments, inventory items and groups as products, price and quantity writes, locations,
//! the proxy, and Notification API registration with signed pushes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cartgate_connector::http::{Upstream, UpstreamConfig};
use cartgate_connector::model::*;
use cartgate_connector::pace::{LocalPacer, Pacer, Quota};
use cartgate_connector::sandbox::SandboxOptions;
use cartgate_connector::testing::{self, all_orders, all_products, cx, params, TestSandbox};
use cartgate_connector::webhook::Inbound;
use cartgate_connector::{CallContext, Connector, ConnectorError, Filters};
use serde_json::{json, Value};

fn test_config() -> UpstreamConfig {
    testing::upstream_config(Duration::from_secs(2))
}

async fn start_sandbox(opts: SandboxOptions) -> TestSandbox {
    TestSandbox::start(cartgate_ebay::connector(), test_config(), |l| {
        cartgate_ebay::sandbox::start(l, opts)
    })
    .await
}

async fn tokens_issued(sb: &TestSandbox) -> u64 {
    sb.control("settings", None).await["access_tokens_issued"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn tokens_are_refreshed_cached_per_scope_and_renewed_once_on_401() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let info = s.info(&cx()).await.expect("info");
    assert!(info.name.is_some());
    assert_eq!(info.currency.as_deref(), Some("USD"));
    s.count_orders(&cx(), &Filters::default()).await.unwrap();
    s.count_orders(&cx(), &Filters::default()).await.unwrap();
    // One token for Identity, one for Fulfillment; the second count reuses its token.
    assert_eq!(tokens_issued(&sb).await, 2);
    // eBay expires every token: the next call gets a 401, renews once and succeeds.
    sb.control("settings", Some(json!({"expire_access_tokens": true})))
        .await;
    s.count_orders(&cx(), &Filters::default()).await.unwrap();
    assert_eq!(tokens_issued(&sb).await, 3);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_auth_failed_and_a_missing_scope_is_named() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    // The seller granted everything but the Inventory API.
    sb.control(
        "settings",
        Some(json!({"refresh_token_scopes": [
            "https://api.ebay.com/oauth/api_scope",
            "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
            "https://api.ebay.com/oauth/api_scope/commerce.identity.readonly"
        ]})),
    )
    .await;
    s.count_orders(&cx(), &Filters::default())
        .await
        .expect("orders still work");
    let err = s
        .list_products(&cx(), &params(5, Filters::default()))
        .await
        .unwrap_err();
    match &err {
        ConnectorError::PermissionDenied(m) => assert!(m.contains("sell.inventory"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A revoked grant: the store's credentials are refused, the token never echoed.
    sb.control("settings", Some(json!({"refresh_token_revoked": true})))
        .await;
    let fresh = sb.session();
    let err = fresh.info(&cx()).await.unwrap_err();
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    let token = sb.credentials()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!err.to_string().contains(&token));
    // A wrong client secret is refused the same way.
    let mut wrong = sb.credentials();
    wrong["client_secret"] = json!("not-the-secret");
    let err = sb
        .session_with(&wrong, test_config())
        .info(&cx())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::AuthFailed(_)), "{err:?}");
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn daily_limits_are_paced_through_the_core_pacer() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let creds = cartgate_ebay::connector()
        .parse_credentials(&sb.credentials())
        .unwrap();
    let pacer = Arc::new(LocalPacer::default());
    let upstream = Upstream::with_pacer(test_config(), pacer.clone());
    let s = cartgate_ebay::connector().open(&creds, upstream).unwrap();
    // Another instance of the app used up this hour's share of the Fulfillment API.
    let day = 100_000.0;
    let quota = Quota {
        rate_per_sec: day / 86_400.0,
        burst: day / 24.0,
    };
    let key = format!(
        "ebay:{}:sell.fulfillment",
        sb.credentials()["client_id"].as_str().unwrap()
    );
    pacer.reserve(&key, quota.burst, quota).await.unwrap();
    pacer.reserve(&key, 10.0, quota).await.unwrap();
    let started = Instant::now();
    let c = CallContext::new(false).with_deadline(Instant::now() + Duration::from_secs(5));
    match s.count_orders(&c, &Filters::default()).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(w),
        }) => assert!(w > Duration::from_secs(5), "{w:?}"),
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    // The Inventory API's budget is its own.
    s.list_locations(&cx())
        .await
        .expect("inventory still paced apart");
}

#[tokio::test]
async fn orders_pages_filters_and_the_shipping_model() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let all = all_orders(s.as_ref(), 7, Filters::default()).await;
    let total = s.count_orders(&cx(), &Filters::default()).await.unwrap();
    assert_eq!(all.len() as u64, total);
    assert!(all.len() >= 30, "{}", all.len());
    let ids: std::collections::HashSet<_> = all.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "no order twice");
    // Every state eBay has, mapped.
    for status in [
        OrderStatus::Processing,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
        OrderStatus::Pending,
    ] {
        assert!(all.iter().any(|o| o.status == status), "{status:?}");
    }
    assert!(all
        .iter()
        .any(|o| o.payment_status == PaymentStatus::PartiallyRefunded));
    let currencies: std::collections::HashSet<_> =
        all.iter().filter_map(|o| o.currency.clone()).collect();
    assert!(currencies.len() >= 3, "{currencies:?}");
    // Shipping lines with service codes, free shipping and pickup.
    let lines: Vec<&ShippingLine> = all.iter().flat_map(|o| &o.shipping_lines).collect();
    assert!(lines
        .iter()
        .any(|l| l.code.as_deref() == Some("USPSPriority")));
    assert!(lines.iter().any(|l| l
        .price
        .as_deref()
        .is_some_and(|p| p.parse::<f64>() == Ok(0.0))));
    assert!(lines
        .iter()
        .any(|l| l.code.as_deref() == Some("PREPARE_FOR_PICKUP")));
    // Collect-and-remit taxes by type, refunds that add up.
    assert!(all
        .iter()
        .flat_map(|o| &o.tax_lines)
        .any(|t| t.title.as_deref() == Some("STATE_SALES_TAX")));
    for o in all.iter().filter(|o| !o.refunds.is_empty()) {
        let sum: rust_decimal::Decimal = o
            .refunds
            .iter()
            .map(|r| {
                r.amount
                    .as_deref()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
            })
            .sum();
        assert_eq!(
            o.refunded_total
                .as_deref()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap(),
            sum
        );
    }
    // Status filters match the mapping exactly, counts agree.
    for status in [
        "processing",
        "completed",
        "cancelled",
        "pending",
        "refunded",
    ] {
        let f = Filters {
            status: Some(status.into()),
            ..Default::default()
        };
        let got = all_orders(s.as_ref(), 5, f.clone()).await;
        let expected = all
            .iter()
            .filter(|o| serde_json::to_value(&o.status).unwrap() == status)
            .count();
        assert_eq!(got.len(), expected, "{status}");
        assert_eq!(s.count_orders(&cx(), &f).await.unwrap() as usize, expected);
    }
    // Both time filters: eBay keeps only creationdate; the rest is checked per order.
    let mut times: Vec<_> = all.iter().filter_map(|o| o.updated_at).collect();
    times.sort();
    let mid = times[times.len() / 2];
    let f = Filters {
        created_from: Some(
            chrono::DateTime::<chrono::Utc>::MIN_UTC.max(mid - chrono::TimeDelta::days(400)),
        ),
        updated_from: Some(mid),
        ..Default::default()
    };
    let got = all_orders(s.as_ref(), 50, f.clone()).await;
    assert_eq!(
        got.len(),
        all.iter().filter(|o| o.updated_at >= Some(mid)).count()
    );
    assert_eq!(s.count_orders(&cx(), &f).await.unwrap() as usize, got.len());
    // Unknown and hostile ids.
    assert!(matches!(
        s.get_order(&cx(), "99-99999-99999").await,
        Err(ConnectorError::NotFound(_))
    ));
    assert!(matches!(
        s.get_order(&cx(), "../x").await,
        Err(ConnectorError::Validation(_))
    ));
}

#[tokio::test]
async fn shipments_one_package_per_call_partial_by_quantity() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let all = all_orders(s.as_ref(), 50, Filters::default()).await;
    let multi = all
        .iter()
        .find(|o| {
            o.status == OrderStatus::Processing
                && o.fulfillment_status == FulfillmentStatus::Unfulfilled
                && o.line_items.iter().any(|l| l.quantity > 1)
        })
        .expect("an open multi-unit order");
    let line = multi.line_items.iter().find(|l| l.quantity > 1).unwrap();
    let ship = |n: &str, lines: Option<Vec<ShipmentLine>>| NewShipment {
        carrier: "USPS".into(),
        tracking_number: n.into(),
        tracking_url: None,
        line_items: lines,
        notify_customer: false,
    };
    let after = s
        .create_shipment(
            &cx(),
            &multi.id,
            &ship(
                "9400100000000000000001",
                Some(vec![ShipmentLine {
                    line_item_id: line.id.clone(),
                    quantity: 1,
                }]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(after.fulfillment_status, FulfillmentStatus::Partial);
    assert_eq!(
        after.shipments[0].tracking_number.as_deref(),
        Some("9400100000000000000001")
    );
    assert_eq!(after.shipments[0].carrier.as_deref(), Some("USPS"));
    // Too many units, or a line of another order: refused before any call.
    for bad in [
        Some(vec![ShipmentLine {
            line_item_id: line.id.clone(),
            quantity: line.quantity + 1,
        }]),
        Some(vec![ShipmentLine {
            line_item_id: "no-such-line".into(),
            quantity: 1,
        }]),
    ] {
        let err = s
            .create_shipment(&cx(), &multi.id, &ship("X1", bad))
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Validation(_)), "{err:?}");
    }
    // The rest: every line not yet shipped.
    let done = s
        .create_shipment(&cx(), &multi.id, &ship("9400100000000000000002", None))
        .await;
    // eBay counts what is left per line; the sandbox refuses units already shipped.
    match done {
        Ok(o) => assert_eq!(o.shipments.len(), 2),
        Err(ConnectorError::Validation(m)) => assert!(m.contains("eBay"), "{m}"),
        Err(e) => panic!("{e:?}"),
    }
    // The same order reads the same through the list.
    let listed = all_orders(s.as_ref(), 50, Filters::default()).await;
    let one = s.get_order(&cx(), &multi.id).await.unwrap();
    assert_eq!(listed.iter().find(|o| o.id == multi.id), Some(&one));
}

#[tokio::test]
async fn products_groups_offers_and_writes() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let all = all_products(s.as_ref(), 7, Filters::default()).await;
    assert_eq!(
        s.count_products(&cx(), &Filters::default()).await.unwrap() as usize,
        all.len()
    );
    let ids: std::collections::HashSet<_> = all.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids.len(), all.len());
    let tee = all
        .iter()
        .find(|p| p.id == "GRPTEE01")
        .expect("the tee group");
    assert_eq!(tee.variants.len(), 6);
    assert!(tee.variants.iter().all(|v| v.options.len() == 2), "{tee:?}");
    // A member's SKU is not a product; the sku filter finds its group.
    assert!(matches!(
        s.get_product(&cx(), &tee.variants[0].id).await,
        Err(ConnectorError::NotFound(_))
    ));
    let by_sku = s
        .list_products(
            &cx(),
            &params(
                5,
                Filters {
                    sku: Some(tee.variants[0].id.clone()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(by_sku.items[0].id, "GRPTEE01");
    // Status filter.
    let drafts = all_products(
        s.as_ref(),
        5,
        Filters {
            status: Some("draft".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        drafts.len(),
        all.iter()
            .filter(|p| p.status == ProductStatus::Draft)
            .count()
    );
    assert!(!drafts.is_empty());

    // Price and quantity of a whole group in one bulkUpdatePriceQuantity call.
    let after = s
        .update_product(
            &cx(),
            "GRPTEE01",
            &ProductUpdate {
                price: Some("21.00".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for v in after.variants.iter().filter(|v| v.price.is_some()) {
        assert_eq!(v.price.as_deref(), Some("21.00"));
    }
    // Stock at one location of a split item leaves the other alone.
    let split = all
        .iter()
        .find(|p| p.variants.is_empty() && p.inventory_levels.len() == 2)
        .expect("an item split over two locations");
    let (first, second) = (&split.inventory_levels[0], &split.inventory_levels[1]);
    let after = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                inventory_levels: Some(vec![InventoryLevel {
                    location_id: first.location_id.clone(),
                    available: first.available + 4,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.quantity, Some(split.quantity.unwrap() + 4));
    assert!(after.inventory_levels.contains(second));
    // Weight and size in the item's units; a SKU cannot change.
    let after = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                weight: Some(Weight {
                    value: "2.5".into(),
                    unit: WeightUnit::Kg,
                }),
                dimensions: Some(Dimensions {
                    length: Some("300".into()),
                    width: None,
                    height: Some("50".into()),
                    unit: LengthUnit::Mm,
                }),
                barcode: Some("012345678905".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.weight.as_ref().unwrap().unit, WeightUnit::Kg);
    let d = after.dimensions.unwrap();
    assert_eq!((d.length.as_deref(), d.unit), (Some("30"), LengthUnit::Cm));
    assert_eq!(after.barcode.as_deref(), Some("012345678905"));
    let err = s
        .update_product(
            &cx(),
            &split.id,
            &ProductUpdate {
                sku: Some("OTHER".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Validation(_)));

    // Create: an inventory item and an unpublished offer; publishing needs more.
    let made = s
        .create_product(
            &cx(),
            &NewProduct {
                name: "Überjacke".into(),
                description: None,
                sku: Some("CG-NEW-9".into()),
                status: None,
                price: Some("12.50".into()),
                quantity: Some(3),
                category_ids: vec![],
                platform_fields: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (made.id.as_str(), made.status, made.price.as_deref()),
        ("CG-NEW-9", ProductStatus::Draft, Some("12.50"))
    );
    let again = s
        .create_product(
            &cx(),
            &NewProduct {
                name: "x".into(),
                description: None,
                sku: Some("CG-NEW-9".into()),
                status: None,
                price: None,
                quantity: None,
                category_ids: vec![],
                platform_fields: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(again, ConnectorError::Validation(_)),
        "an existing SKU"
    );
}

#[tokio::test]
async fn locations_proxy_and_unsupported() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let s = sb.session();
    let locations = s.list_locations(&cx()).await.unwrap();
    let ids: Vec<_> = locations.iter().map(|l| l.id.as_str()).collect();
    assert!(
        ids.contains(&"warehouse-newark") && ids.contains(&"store-brooklyn"),
        "{ids:?}"
    );
    let r = s
        .proxy(
            &cx(),
            &ProxyRequest {
                method: "GET".into(),
                path: "/sell/account/v1/privilege".into(),
                query: Default::default(),
                body: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    for bad in ["/buy/browse/v1/item", "/sell/../admin"] {
        let err = s
            .proxy(
                &cx(),
                &ProxyRequest {
                    method: "GET".into(),
                    path: bad.into(),
                    query: Default::default(),
                    body: None,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Validation(_)),
            "{bad}: {err:?}"
        );
    }
    assert!(matches!(
        s.list_customers(&cx(), &params(5, Filters::default()))
            .await,
        Err(ConnectorError::Unsupported(_))
    ));
    assert!(matches!(
        s.list_categories(&cx(), &params(5, Filters::default()))
            .await,
        Err(ConnectorError::Unsupported(_))
    ));
}

/// A loopback endpoint answering eBay's challenge as the gateway does, and keeping pushes.
async fn callback(
    connector: Arc<dyn Connector>,
    creds: Value,
) -> (
    url::Url,
    tokio::sync::mpsc::UnboundedReceiver<(http::HeaderMap, Vec<u8>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!(
        "http://{}/inbound/ebay/s1",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let endpoint = url.to_string();
    let app = axum::Router::new().route(
        "/inbound/ebay/s1",
        axum::routing::get({
            let endpoint = endpoint.clone();
            move |q: axum::extract::Query<std::collections::BTreeMap<String, String>>| async move {
                axum::Json(
                    connector
                        .inbound_challenge(&creds, &endpoint, &q.0)
                        .unwrap(),
                )
            }
        })
        .post(move |h: http::HeaderMap, b: axum::body::Bytes| async move {
            let _ = tx.send((h, b.to_vec()));
            http::StatusCode::NO_CONTENT
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test]
async fn registration_validates_the_endpoint_and_pushes_verify() {
    let sb = start_sandbox(SandboxOptions::default()).await;
    let app = cartgate_ebay::AppCredentials {
        alert_email: Some("ops@example.com".into()),
        ..Default::default()
    };
    let connector = cartgate_ebay::connector_with(app);
    let creds = connector.parse_credentials(&sb.credentials()).unwrap();
    let s = connector
        .open(&creds, Upstream::new(test_config()))
        .unwrap();
    let (url, mut pushes) = callback(connector.clone(), creds.clone()).await;
    let ids = s
        .register_webhooks(&cx(), &url, "unused")
        .await
        .expect("registered");
    assert!(ids.iter().any(|i| i.starts_with("destination:")));
    assert!(ids.iter().any(|i| i.starts_with("subscription:")));

    let order_id = sb
        .simulate(cartgate_connector::EventType::OrderCreated, None)
        .await;
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), pushes.recv())
        .await
        .expect("a push")
        .unwrap();
    match s
        .verify_inbound(&cx(), &headers, &body)
        .await
        .unwrap()
        .unwrap()
    {
        Inbound::Event(e) => {
            assert_eq!(e.object_id, order_id);
            assert_eq!(e.event_type, cartgate_connector::EventType::OrderCreated);
        }
        other => panic!("{other:?}"),
    }
    // A changed body, or a forged key id, does not verify.
    let mut forged = body.clone();
    let at = forged.len() - 3;
    forged[at] ^= 1;
    assert!(matches!(
        s.verify_inbound(&cx(), &headers, &forged).await.unwrap(),
        Err(ConnectorError::InvalidSignature(_))
    ));
    assert!(matches!(
        s.verify_inbound(&cx(), &http::HeaderMap::new(), &body)
            .await
            .unwrap(),
        Err(ConnectorError::InvalidSignature(_))
    ));
    // Removal: subscriptions first, then the destination; twice is fine.
    s.unregister_webhooks(&cx(), &ids).await.unwrap();
    s.unregister_webhooks(&cx(), &ids).await.unwrap();
}

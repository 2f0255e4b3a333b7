//! One end-to-end suite run against every platform's sandbox through the gateway: what a
//! client sees must not depend on the platform behind a store. Platform-specific behaviour
//! (WooCommerce's tracking extension, ...) has its own tests beside this one.

use std::collections::HashSet;

use cartgate::Registry;
use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

/// A gateway, an account and one connected store of `platform`, on its sandbox.
pub struct PlatformWorld {
    pub gw: Gateway,
    pub sandbox: SandboxHandle,
    pub client: Client,
    pub store: String,
}

pub async fn start_sandbox(platform: &str, opts: SandboxOptions) -> SandboxHandle {
    let registry = Registry::builtin();
    let p = registry
        .get(platform)
        .unwrap_or_else(|| panic!("{platform} is registered"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (p.start_sandbox)(listener, opts).await.unwrap()
}

impl PlatformWorld {
    pub async fn new(platform: &str) -> PlatformWorld {
        let gw = Gateway::start().await;
        let sandbox = start_sandbox(platform, SandboxOptions::default()).await;
        let client = gw.account("acme").await;
        let store = client.connect(platform, &sandbox.banner.credentials).await;
        PlatformWorld {
            gw,
            sandbox,
            client,
            store,
        }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/v1/stores/{}{rest}", self.store)
    }
}

/// What `GET /v1/platforms` says of `platform`.
pub async fn descriptor(c: &Client, platform: &str) -> Value {
    let all = c.ok("/v1/platforms").await;
    all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == platform)
        .unwrap_or_else(|| panic!("{platform} in {all}"))
        .clone()
}

/// Does the platform do `op` (e.g. `orders.count`)? One it does not answers 501.
fn supports(descriptor: &Value, op: &str) -> bool {
    descriptor["operations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == op)
}

/// Does the platform fill `object.field` (its `fields` in `GET /v1/platforms`)?
fn fills(descriptor: &Value, object: &str, field: &str) -> bool {
    descriptor["fields"][object]
        .as_array()
        .is_some_and(|f| f.iter().any(|n| n == field))
}

/// Can a client set this item's total quantity? Not where the platform counts part of the
/// stock itself (Amazon's FBA stock at `AMAZON_NA`: only the merchant's is written).
fn stock_writable(platform: &str, item: &Value) -> bool {
    platform != "amazon"
        || item["inventory_levels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["location_id"] == "DEFAULT")
}

/// An order the merchant ships (not one the platform fulfils itself: Amazon's FBA orders,
/// told by `raw`).
fn merchant_fulfilled(platform: &str, order: &Value) -> bool {
    platform != "amazon" || order["raw"]["fulfillment"]["fulfilledBy"] == "MERCHANT"
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn count_of(v: &Value) -> usize {
    v["count"].as_u64().expect("count is a number") as usize
}

/// Plain-text fields carry the text a shop shows: no HTML character reference is left, even
/// where the platform stores one (WordPress's `&amp;`, Luma's `&trade;`).
fn assert_plain_text(platform: &str, what: &str, v: &Value) {
    let Some(s) = v.as_str() else { return };
    assert_eq!(
        cartgate_connector::lenient::decode_entities(s),
        s,
        "{platform}: {what} {s:?} is plain text"
    );
}

/// A name each sandbox stores with HTML character references (or, for Shopify, with a bare
/// `&` that stays as it is), as read through the gateway.
fn seeded_product_name(platform: &str) -> Option<&'static str> {
    match platform {
        // Stored `Beanie &amp; Schal #4`, as WordPress stores it.
        "woocommerce" => Some("Beanie & Schal #4"),
        // Stored `Sprite LumaTech&trade; Yoga Strap`, as Luma's catalogue does.
        "magento" => Some("Sprite LumaTech™ Yoga Strap"),
        _ => None,
    }
}

fn seeded_category_name(platform: &str) -> Option<&'static str> {
    match platform {
        // Stored `Accessoires &amp; Küche` (WordPress keeps term names through esc_html).
        "woocommerce" => Some("Accessoires & Küche"),
        "shopify" => Some("Home & Living"),
        _ => None,
    }
}

pub async fn orders_page_filter_count_get(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let d = descriptor(c, platform).await;
    let counted = supports(&d, "orders.count");
    let all = c.all(&w.path("/orders?limit=7")).await;
    assert!(all.len() > 14, "{platform}: several pages of orders");
    let unique: HashSet<_> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), all.len(), "{platform}: no order twice");
    if counted {
        assert_eq!(count_of(&c.ok(&w.path("/orders/count")).await), all.len());
    } else {
        // Amazon has no count operation.
        c.get(&w.path("/orders/count"))
            .await
            .problem(501, "unsupported_operation");
    }
    for o in &all {
        for l in o["line_items"].as_array().unwrap() {
            assert_plain_text(platform, "line item name", &l["name"]);
            assert_plain_text(platform, "line item sku", &l["sku"]);
        }
        for a in [&o["billing_address"], &o["shipping_address"]] {
            for k in [
                "first_name",
                "last_name",
                "company",
                "line1",
                "line2",
                "city",
            ] {
                assert_plain_text(platform, k, &a[k]);
            }
        }
        assert!(o.get("raw").is_none(), "raw only on request");
        assert!(o["total"].is_string(), "{platform}: money is a string: {o}");
        assert!(o["currency"].as_str().is_some_and(|c| c.len() == 3));
        assert!(o["platform_status"].is_string());
        assert!(!o["line_items"].as_array().unwrap().is_empty());
    }
    // Several currencies: in the order's own currency where the platform keeps one per
    // order; Shopify keeps the shop's currency and the buyer's as `presentmentCurrencyCode`
    // (in `raw`), as documented in docs/mapping/shopify.md.
    let currencies: HashSet<String> = if platform == "shopify" {
        c.all(&w.path("/orders?limit=50&include=raw"))
            .await
            .iter()
            .filter_map(|o| {
                o["raw"]["presentmentCurrencyCode"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    } else {
        all.iter()
            .filter_map(|o| o["currency"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(currencies.len() >= 2, "{platform}: several currencies");
    let statuses: HashSet<_> = all.iter().filter_map(|o| o["status"].as_str()).collect();
    assert!(
        statuses.contains("cancelled") && statuses.len() >= 3,
        "{platform}: varied statuses {statuses:?}"
    );
    let payments: HashSet<_> = all
        .iter()
        .filter_map(|o| o["payment_status"].as_str())
        .collect();
    if fills(&d, "order", "refunds") {
        assert!(
            payments.contains("refunded") || payments.contains("partially_refunded"),
            "{platform}: refunds among {payments:?}"
        );
    }
    assert!(
        all.iter().any(|o| o["customer"]["id"].is_null()),
        "{platform}: a guest order"
    );

    // Status filter: exactly the orders of that unified status, and the count agrees.
    for status in statuses {
        let got = c
            .all(&w.path(&format!("/orders?status={status}&limit=50")))
            .await;
        let expected = all.iter().filter(|o| o["status"] == status).count();
        assert_eq!(got.len(), expected, "{platform}: status={status}");
        if counted {
            let n = count_of(
                &c.ok(&w.path(&format!("/orders/count?status={status}")))
                    .await,
            );
            assert_eq!(n, expected, "{platform}: count status={status}");
        }
    }
    // Created and updated windows: the newer half.
    for (field, from) in [
        ("created_at", "created_from"),
        ("updated_at", "updated_from"),
    ] {
        let mut times: Vec<&str> = all.iter().filter_map(|o| o[field].as_str()).collect();
        times.sort();
        let mid = times[times.len() / 2];
        let got = c
            .all(&w.path(&format!("/orders?{from}={mid}&limit=50")))
            .await;
        let expected = times.iter().filter(|t| **t >= mid).count();
        assert_eq!(got.len(), expected, "{platform}: {from}={mid}");
        assert!(got.iter().all(|o| o[field].as_str().unwrap() >= mid));
        if counted {
            let n = count_of(&c.ok(&w.path(&format!("/orders/count?{from}={mid}"))).await);
            assert_eq!(n, expected, "{platform}: count {from}");
        }
    }

    // One order, with its raw payload on request.
    let first = &all[0];
    let id = first["id"].as_str().unwrap();
    let one = c.ok(&w.path(&format!("/orders/{id}"))).await;
    assert_eq!(
        &one, first,
        "{platform}: the list and the single read agree"
    );
    let raw = c.ok(&w.path(&format!("/orders/{id}?include=raw"))).await;
    assert!(raw["raw"].is_object(), "{platform}: raw payload");
    let page = c.ok(&w.path("/orders?limit=2&include=raw")).await;
    assert!(page["data"][0]["raw"].is_object());

    // Unknown ids are 404 not_found; hostile ids are refused before any upstream call.
    c.get(&w.path("/orders/999999999"))
        .await
        .problem(404, "not_found");
    c.get(&w.path("/orders/..%2F1"))
        .await
        .problem(400, "validation_failed");
}

pub async fn shipments_are_visible_afterwards(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let all = c.all(&w.path("/orders?limit=100&include=raw")).await;
    let open: Vec<&Value> = all
        .iter()
        .filter(|o| {
            o["fulfillment_status"] == "unfulfilled"
                && o["status"] == "processing"
                && merchant_fulfilled(platform, o)
        })
        .collect();
    assert!(open.len() >= 2, "{platform}: unfulfilled orders to ship");

    // Everything at once.
    let id = open[0]["id"].as_str().unwrap();
    let r = c
        .post(
            &w.path(&format!("/orders/{id}/shipments")),
            json!({"carrier": "DHL", "tracking_number": "JJD0001", "tracking_url": "https://dhl.example/JJD0001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{platform}: {r:?}");
    let after = c.ok(&w.path(&format!("/orders/{id}"))).await;
    let numbers: Vec<_> = after["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["tracking_number"].as_str())
        .collect();
    assert!(numbers.contains(&"JJD0001"), "{platform}: {after}");
    assert_eq!(after["fulfillment_status"], "fulfilled", "{platform}");

    // One line of an order with several lines (or one unit of a multi-unit line).
    let multi = open[1..]
        .iter()
        .find(|o| {
            let lines = o["line_items"].as_array().unwrap();
            lines.len() >= 2 || lines.iter().any(|l| l["quantity"].as_i64() > Some(1))
        })
        .unwrap_or_else(|| panic!("{platform}: an open order with several items"));
    let mid = multi["id"].as_str().unwrap();
    let line = &multi["line_items"][0];
    let r = c
        .post(
            &w.path(&format!("/orders/{mid}/shipments")),
            json!({"carrier": "UPS", "tracking_number": "1Z999", "line_items": [
                {"line_item_id": line["id"], "quantity": 1}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{platform}: {r:?}");
    let after = c.ok(&w.path(&format!("/orders/{mid}"))).await;
    assert!(
        after["shipments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["tracking_number"] == "1Z999"),
        "{platform}: {after}"
    );
    assert_eq!(after["fulfillment_status"], "partial", "{platform}");

    // Bad shipments are refused with a clear error: 422 when only the order can tell, 400
    // when the body itself is wrong.
    c.post(
        &w.path(&format!("/orders/{mid}/shipments")),
        json!({"carrier": "UPS", "tracking_number": "1Z998", "line_items": [
            {"line_item_id": "no-such-line", "quantity": 1}
        ]}),
    )
    .await
    .problem(422, "validation_failed");
    c.post(
        &w.path(&format!("/orders/{mid}/shipments")),
        json!({"carrier": "UPS"}),
    )
    .await
    .problem(400, "validation_failed");

    // An order the platform ships itself takes no shipment: a clear 422.
    if let Some(afn) = all
        .iter()
        .find(|o| !merchant_fulfilled(platform, o) && o["status"] == "processing")
    {
        let id = afn["id"].as_str().unwrap();
        c.post(
            &w.path(&format!("/orders/{id}/shipments")),
            json!({"carrier": "UPS", "tracking_number": "1Z997"}),
        )
        .await
        .problem(422, "validation_failed");
    }
}

pub async fn products_and_variants(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let counted = supports(&descriptor(c, platform).await, "products.count");
    let all = c.all(&w.path("/products?limit=7")).await;
    assert!(all.len() > 7, "{platform}: several pages of products");
    let unique: HashSet<_> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), all.len());
    if counted {
        assert_eq!(count_of(&c.ok(&w.path("/products/count")).await), all.len());
    } else {
        c.get(&w.path("/products/count"))
            .await
            .problem(501, "unsupported_operation");
    }

    // Names are plain text, whatever the platform stores.
    for p in &all {
        assert_plain_text(platform, "product name", &p["name"]);
        assert_plain_text(platform, "sku", &p["sku"]);
        for v in p["variants"].as_array().unwrap() {
            assert_plain_text(platform, "variant name", &v["name"]);
            for (k, o) in v["options"].as_object().unwrap() {
                assert_plain_text(platform, "option name", &json!(k));
                assert_plain_text(platform, "option value", o);
            }
        }
    }
    if let Some(name) = seeded_product_name(platform) {
        assert!(
            all.iter().any(|p| p["name"] == name),
            "{platform}: a product named {name:?}"
        );
    }

    // SKU filter.
    let with_sku = all
        .iter()
        .find(|p| p["sku"].is_string())
        .expect("a product with a SKU");
    let sku = with_sku["sku"].as_str().unwrap();
    let got = c.all(&w.path(&format!("/products?sku={sku}"))).await;
    assert_eq!(
        ids(&got),
        vec![with_sku["id"].as_str().unwrap()],
        "{platform}"
    );

    // Variants with options.
    let variable = all
        .iter()
        .find(|p| {
            let variants = p["variants"].as_array().unwrap();
            variants.len() >= 2 && stock_writable(platform, &variants[0])
        })
        .unwrap_or_else(|| panic!("{platform}: a product with variants"));
    let v0 = &variable["variants"][0];
    assert!(
        !v0["options"].as_object().unwrap().is_empty(),
        "{platform}: variant options"
    );

    // Update a product; the change is visible afterwards. (Not one on sale: WooCommerce's
    // `price` reads the sale price while a price update sets the regular one, as documented.)
    let raw_all = c.all(&w.path("/products?limit=50&include=raw")).await;
    let simple = raw_all
        .iter()
        .find(|p| {
            p["variants"].as_array().unwrap().len() <= 1
                && p["status"] == "active"
                && p["raw"]["sale_price"].as_str().is_none_or(str::is_empty)
                && stock_writable(platform, p)
        })
        .unwrap_or_else(|| panic!("{platform}: a simple product"));
    let pid = simple["id"].as_str().unwrap();
    let r = c
        .patch(
            &w.path(&format!("/products/{pid}")),
            json!({"name": "Renamed Überjacke & Co", "price": "42.50", "quantity": 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{platform}: {r:?}");
    let after = c.ok(&w.path(&format!("/products/{pid}"))).await;
    // WooCommerce stores the name as `Renamed Überjacke &amp; Co`: it reads back as sent.
    assert_eq!(after["name"], "Renamed Überjacke & Co", "{platform}");
    assert_eq!(after["price"], "42.50", "{platform}: {after}");
    assert_eq!(after["quantity"], 7, "{platform}: {after}");

    // Update one variant.
    let vpid = variable["id"].as_str().unwrap();
    let vid = v0["id"].as_str().unwrap();
    let r = c
        .patch(
            &w.path(&format!("/products/{vpid}/variants/{vid}")),
            json!({"price": "19.95", "quantity": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{platform}: {r:?}");
    let after = c.ok(&w.path(&format!("/products/{vpid}"))).await;
    let v = after["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == vid)
        .unwrap()
        .clone();
    assert_eq!(v["price"], "19.95", "{platform}: {after}");
    assert_eq!(v["quantity"], 3, "{platform}: {after}");

    // Create one; it can be read back.
    let r = c
        .post(
            &w.path("/products"),
            json!({"name": "Neues Produkt", "sku": "CG-NEW-1", "price": "9.99", "status": "draft"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{platform}: {r:?}");
    let id = r.body["id"].as_str().unwrap();
    let back = c.ok(&w.path(&format!("/products/{id}"))).await;
    assert_eq!(back["name"], "Neues Produkt");
    assert_eq!(back["status"], "draft");
    if counted {
        assert_eq!(
            count_of(&c.ok(&w.path("/products/count")).await),
            all.len() + 1
        );
    } else {
        assert_eq!(
            c.all(&w.path("/products?limit=50")).await.len(),
            all.len() + 1
        );
    }
    // Fields only another platform understands are refused, never ignored.
    if platform != "amazon" {
        c.post(
            &w.path("/products"),
            json!({"name": "X", "sku": "CG-NEW-2", "platform_fields": {"product_type": "LUGGAGE"}}),
        )
        .await
        .problem(501, "unsupported_operation");
    }

    // Bad input.
    c.patch(
        &w.path(&format!("/products/{pid}")),
        json!({"price": "cheap"}),
    )
    .await
    .problem(400, "validation_failed");
    c.get(&w.path("/products/999999999"))
        .await
        .problem(404, "not_found");
}

/// The operations `GET /v1/platforms` lists for this platform.
pub async fn operations(c: &Client, platform: &str) -> HashSet<String> {
    let all = c.ok("/v1/platforms").await;
    all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == platform)
        .unwrap_or_else(|| panic!("{platform} in {all}"))["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect()
}

pub async fn customers_categories_info(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let ops = operations(c, platform).await;
    if !ops.contains("customers.list") {
        // eBay and Amazon: no buyer list and no seller catalogue of categories. Every such
        // route is a clear 501, never an empty list.
        assert!(!ops
            .iter()
            .any(|o| o.starts_with("customers.") || o.starts_with("categories.")));
        for path in [
            "/customers",
            "/customers?limit=5",
            "/customers/count",
            "/customers/123",
            "/categories",
            "/categories/123",
        ] {
            c.get(&w.path(path))
                .await
                .problem(501, "unsupported_operation");
        }
        let info = c.ok(&w.path("/info")).await;
        assert!(info["name"].is_string(), "{platform}: {info}");
        assert!(info["currency"].as_str().is_some_and(|c| c.len() == 3));
        let other = w.gw.account("other").await;
        other
            .get(&w.path("/orders"))
            .await
            .problem(404, "not_found");
        return;
    }
    let all = c.all(&w.path("/customers?limit=7")).await;
    assert!(all.len() > 7, "{platform}: several pages of customers");
    let unique: HashSet<_> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), all.len());
    assert_eq!(
        count_of(&c.ok(&w.path("/customers/count")).await),
        all.len()
    );
    let one = &all[all.len() / 2];
    let email = one["email"].as_str().unwrap();
    let got = c
        .all(&w.path(&format!(
            "/customers?email={}",
            percent_encoding::utf8_percent_encode(email, percent_encoding::NON_ALPHANUMERIC)
        )))
        .await;
    assert_eq!(ids(&got), vec![one["id"].as_str().unwrap()], "{platform}");
    let id = one["id"].as_str().unwrap();
    assert_eq!(&c.ok(&w.path(&format!("/customers/{id}"))).await, one);
    assert!(all
        .iter()
        .any(|c| !c["addresses"].as_array().unwrap().is_empty()));

    let cats = c.all(&w.path("/categories?limit=5")).await;
    assert!(!cats.is_empty(), "{platform}: categories");
    for cat in &cats {
        assert_plain_text(platform, "category name", &cat["name"]);
    }
    if let Some(name) = seeded_category_name(platform) {
        assert!(
            cats.iter().any(|c| c["name"] == name),
            "{platform}: a category named {name:?}"
        );
    }
    for cu in &all {
        for k in ["first_name", "last_name"] {
            assert_plain_text(platform, k, &cu[k]);
        }
    }
    let cat = &cats[0];
    let cid = cat["id"].as_str().unwrap();
    assert_eq!(
        c.ok(&w.path(&format!("/categories/{cid}"))).await["name"],
        cat["name"]
    );

    let info = c.ok(&w.path("/info")).await;
    assert!(info["name"].is_string(), "{platform}: {info}");
    assert_plain_text(platform, "store name", &info["name"]);
    if platform == "woocommerce" {
        // WordPress stores the site title as `Cartgate&#039;s Sandbox Shop &amp; Café`.
        assert_eq!(info["name"], "Cartgate's Sandbox Shop & Café");
    }
    assert!(info["currency"].as_str().is_some_and(|c| c.len() == 3));

    // Another account sees nothing of this store.
    let other = w.gw.account("other").await;
    other
        .get(&w.path("/orders"))
        .await
        .problem(404, "not_found");
}

pub async fn lasting_outage_is_upstream_unavailable_and_faults_are_retried(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let control = format!(
        "{}/__sandbox/faults",
        w.sandbox.banner.base_url.trim_end_matches('/')
    );
    let set = |body: Value| {
        let control = control.clone();
        async move {
            let r = http().put(&control).json(&body).send().await.unwrap();
            assert!(r.status().is_success());
        }
    };
    // Two 503s then fine: the read succeeds through retries.
    set(json!({"kind": "server_error", "count": 2})).await;
    assert_eq!(
        c.get(&w.path("/orders?limit=3")).await.status,
        StatusCode::OK
    );
    // Lasting: a clear upstream_unavailable, quickly.
    set(json!({"kind": "server_error"})).await;
    let started = std::time::Instant::now();
    c.get(&w.path("/orders?limit=3"))
        .await
        .problem(503, "upstream_unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    set(json!({"kind": null})).await;
}

/// The filters a platform advertises in `GET /v1/platforms` are exactly the ones it applies:
/// each advertised filter is accepted on the list and its count, each other filter of the
/// unified API is refused with `unsupported_operation`, never silently ignored.
pub async fn advertised_filters_are_the_enforced_ones(platform: &str) {
    let w = PlatformWorld::new(platform).await;
    let c = &w.client;
    let platforms = c.ok("/v1/platforms").await;
    let descriptor = platforms["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == platform)
        .unwrap_or_else(|| panic!("{platform} in {platforms}"))
        .clone();
    let dates = [
        ("created_from", "2020-01-01T00:00:00Z"),
        ("created_to", "2030-01-01T00:00:00Z"),
        ("updated_from", "2020-01-01T00:00:00Z"),
        ("updated_to", "2030-01-01T00:00:00Z"),
    ];
    // The unified API's filters per list, with a valid value each.
    type Filter<'a> = (&'a str, &'a str);
    let unified: [(&str, Vec<Filter>, bool); 4] = [
        (
            "orders",
            [&dates[..], &[("status", "processing")]].concat(),
            true,
        ),
        (
            "products",
            [&dates[..], &[("status", "active"), ("sku", "NOPE-1")]].concat(),
            true,
        ),
        (
            "customers",
            [&dates[..], &[("email", "nobody@example.com")]].concat(),
            true,
        ),
        ("categories", vec![], false),
    ];
    for (list, filters, counted) in unified {
        let advertised: Vec<&str> = descriptor["filters"][list]
            .as_array()
            .unwrap_or_else(|| panic!("{platform}: filters of {list}: {descriptor}"))
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        for name in &advertised {
            assert!(
                filters.iter().any(|(n, _)| n == name),
                "{platform} advertises {name} on {list}, which the unified API lacks"
            );
        }
        // A count the platform cannot do is 501 whatever the filter.
        let count_supported = supports(&descriptor, &format!("{list}.count"));
        for (name, value) in filters {
            let mut paths = vec![(w.path(&format!("/{list}?limit=1&{name}={value}")), true)];
            if counted {
                paths.push((
                    w.path(&format!("/{list}/count?{name}={value}")),
                    count_supported,
                ));
            }
            for (path, supported) in paths {
                let r = c.get(&path).await;
                if advertised.contains(&name) && supported {
                    assert_eq!(r.status, StatusCode::OK, "{platform} {path}: {r:?}");
                } else {
                    r.problem(501, "unsupported_operation");
                }
            }
        }
    }
}

macro_rules! platform_suite {
    ($($platform:ident),*) => {$(
        mod $platform {
            #[tokio::test]
            async fn orders_page_filter_count_get() {
                super::orders_page_filter_count_get(stringify!($platform)).await
            }
            #[tokio::test]
            async fn shipments_are_visible_afterwards() {
                super::shipments_are_visible_afterwards(stringify!($platform)).await
            }
            #[tokio::test]
            async fn products_and_variants() {
                super::products_and_variants(stringify!($platform)).await
            }
            #[tokio::test]
            async fn customers_categories_info() {
                super::customers_categories_info(stringify!($platform)).await
            }
            #[tokio::test]
            async fn advertised_filters_are_the_enforced_ones() {
                super::advertised_filters_are_the_enforced_ones(stringify!($platform)).await
            }
            #[tokio::test]
            async fn upstream_faults() {
                super::lasting_outage_is_upstream_unavailable_and_faults_are_retried(
                    stringify!($platform),
                )
                .await
            }
        }
    )*};
}

platform_suite!(woocommerce, magento, shopify, ebay, amazon);

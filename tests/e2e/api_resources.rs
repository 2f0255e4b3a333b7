//! Orders, products, customers, categories, store info and the proxy through the gateway,
//! checked against what the WooCommerce sandbox itself holds.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn orders_page_through_everything_and_count() {
    let w = World::new().await;
    let c = &w.client;
    let all = c.all(&w.path("/orders?limit=7")).await;
    let count = c.ok(&w.path("/orders/count")).await["count"]
        .as_u64()
        .unwrap();
    assert_eq!(all.len() as u64, count);
    let unique: HashSet<_> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), all.len(), "no order twice");
    // Pages larger than WooCommerce's 100 per page still work.
    let big = c.ok(&w.path("/orders?limit=250")).await;
    assert_eq!(big["data"].as_array().unwrap().len() as u64, count.min(250));

    for o in &all {
        for key in [
            "id",
            "status",
            "payment_status",
            "fulfillment_status",
            "platform_status",
            "currency",
            "total",
            "line_items",
            "created_at",
        ] {
            assert!(o.get(key).is_some(), "{key} in {o}");
        }
        assert!(o.get("raw").is_none(), "raw only on request");
        assert!(
            o["total"].is_string() || o["total"].is_null(),
            "money is a string"
        );
    }
    let currencies: HashSet<_> = all.iter().filter_map(|o| o["currency"].as_str()).collect();
    assert!(
        currencies.len() >= 2,
        "the sandbox has several currencies: {currencies:?}"
    );
}

#[tokio::test]
async fn order_filters_narrow_and_match_counts() {
    let w = World::new().await;
    let c = &w.client;
    let all = c.all(&w.path("/orders?limit=100")).await;
    for status in ["completed", "refunded", "cancelled", "processing"] {
        let got = c
            .all(&w.path(&format!("/orders?status={status}&limit=50")))
            .await;
        let expected = all.iter().filter(|o| o["status"] == status).count();
        assert_eq!(got.len(), expected, "status={status}");
        assert!(got.iter().all(|o| o["status"] == status));
        let n = c
            .ok(&w.path(&format!("/orders/count?status={status}")))
            .await["count"]
            .as_u64()
            .unwrap();
        assert_eq!(n as usize, expected);
    }
    // created_from: the newest half.
    let mut times: Vec<&str> = all
        .iter()
        .map(|o| o["created_at"].as_str().unwrap())
        .collect();
    times.sort();
    let mid = times[times.len() / 2];
    let got = c
        .all(&w.path(&format!("/orders?created_from={mid}&limit=100")))
        .await;
    assert!(!got.is_empty() && got.len() < all.len());
    assert!(got.iter().all(|o| o["created_at"].as_str().unwrap() >= mid));
    let got = c
        .all(&w.path(&format!("/orders?created_to={mid}&limit=100")))
        .await;
    assert!(got.iter().all(|o| o["created_at"].as_str().unwrap() <= mid));
    let got = c
        .all(&w.path("/orders?updated_from=2000-01-01T00:00:00Z&limit=100"))
        .await;
    assert_eq!(got.len(), all.len());
}

#[tokio::test]
async fn get_order_with_raw_and_normalized_fields() {
    let w = World::new().await;
    let c = &w.client;
    let first = &c.ok(&w.path("/orders?limit=1")).await["data"][0];
    let id = first["id"].as_str().unwrap();
    let one = c.ok(&w.path(&format!("/orders/{id}?include=raw"))).await;
    assert_eq!(one["id"], id);
    let raw = &one["raw"];
    let direct = w.woo.wc(&format!("/orders/{id}")).await;
    assert_eq!(raw["id"], direct["id"]);
    assert_eq!(raw["total"], direct["total"]);
    assert_eq!(
        one["total"].as_str().unwrap().parse::<f64>().unwrap(),
        direct["total"].as_str().unwrap().parse::<f64>().unwrap()
    );
    assert_eq!(one["platform_status"], direct["status"]);
    // Refunded and guest orders are mapped.
    let all = c.all(&w.path("/orders?limit=100")).await;
    assert!(all
        .iter()
        .any(|o| o["payment_status"] == "refunded" || o["payment_status"] == "partially_refunded"));
    assert!(
        all.iter().any(|o| o["customer"]["id"].is_null()),
        "a guest order"
    );
}

#[tokio::test]
async fn shipments_are_visible_afterwards_with_and_without_the_tracking_extension() {
    let w = World::new().await;
    let c = &w.client;
    let orders = c.all(&w.path("/orders?status=processing&limit=50")).await;
    assert!(orders.len() >= 2, "need two processing orders");
    let (a, b) = (
        orders[0]["id"].as_str().unwrap(),
        orders[1]["id"].as_str().unwrap(),
    );

    let r = c
        .post(
            &w.path(&format!("/orders/{a}/shipments")),
            json!({"carrier": "UPS", "tracking_number": "1Z999AA10123456784", "tracking_url": "https://ups.example/t/1Z999", "notify_customer": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let order = c.ok(&w.path(&format!("/orders/{a}"))).await;
    let s = &order["shipments"][0];
    assert_eq!(s["tracking_number"], "1Z999AA10123456784");
    assert!(s["carrier"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("ups"));

    // Without the Shipment Tracking extension: an order note plus the completed status.
    let r = http()
        .put(format!("{}/__sandbox/extensions", w.woo.base()))
        .json(&json!({"shipment_tracking": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = c
        .post(
            &w.path(&format!("/orders/{b}/shipments")),
            json!({"carrier": "DHL", "tracking_number": "JD0142"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let order = c.ok(&w.path(&format!("/orders/{b}"))).await;
    assert_eq!(order["status"], "completed");
    assert!(
        order["shipments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["tracking_number"] == "JD0142"),
        "{order}"
    );

    c.post(&w.path(&format!("/orders/{a}/shipments")), json!({"carrier": "UPS", "tracking_number": "1", "line_items": [{"line_item_id": "no-such-line", "quantity": 1}]}))
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn products_with_variants_sku_filter_and_updates() {
    let w = World::new().await;
    let c = &w.client;
    let all = c.all(&w.path("/products?limit=10")).await;
    let count = c.ok(&w.path("/products/count")).await["count"]
        .as_u64()
        .unwrap();
    assert_eq!(all.len() as u64, count);
    let variable = all
        .iter()
        .find(|p| p["variants"].as_array().unwrap().len() >= 2)
        .expect("a product with variants");
    let v = &variable["variants"][0];
    assert!(!v["options"].as_object().unwrap().is_empty(), "{v}");

    let with_sku = all
        .iter()
        .find(|p| p["sku"].is_string() && p["variants"].as_array().unwrap().is_empty())
        .unwrap();
    let sku = with_sku["sku"].as_str().unwrap();
    let got = c.ok(&w.path(&format!("/products?sku={sku}"))).await;
    assert_eq!(
        ids(got["data"].as_array().unwrap()),
        vec![with_sku["id"].as_str().unwrap().to_owned()]
    );
    assert_eq!(
        c.ok(&w.path(&format!("/products/count?sku={sku}"))).await["count"],
        1
    );
    let drafts = c.all(&w.path("/products?status=draft")).await;
    assert!(drafts.iter().all(|p| p["status"] == "draft"));

    // Update a product: visible afterwards.
    let pid = with_sku["id"].as_str().unwrap();
    let r = c
        .patch(&w.path(&format!("/products/{pid}")), json!({"name": "Renamed Ünïcode", "price": "12.34", "quantity": 7, "status": "active", "description": "New text", "sku": "NEW-SKU-1"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let p = c.ok(&w.path(&format!("/products/{pid}"))).await;
    assert_eq!(p["name"], "Renamed Ünïcode");
    assert_eq!(p["price"], "12.34");
    assert_eq!(p["quantity"], 7);
    assert_eq!(p["sku"], "NEW-SKU-1");

    // Update a variant: visible afterwards.
    let (vp, vid) = (variable["id"].as_str().unwrap(), v["id"].as_str().unwrap());
    let r = c
        .patch(
            &w.path(&format!("/products/{vp}/variants/{vid}")),
            json!({"price": "99.50", "quantity": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let p = c.ok(&w.path(&format!("/products/{vp}"))).await;
    let v = p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == vid)
        .unwrap();
    assert_eq!(v["price"], "99.50");
    assert_eq!(v["quantity"], 3);
    c.patch(
        &w.path(&format!("/products/{pid}/variants/{vid}")),
        json!({"price": "1.00"}),
    )
    .await
    .problem(404, "not_found");

    // Create.
    let r = c
        .post(
            &w.path("/products"),
            json!({"name": "Brand new", "sku": "BN-1", "price": "5.00", "quantity": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.body["id"].as_str().unwrap();
    let p = c.ok(&w.path(&format!("/products/{id}"))).await;
    assert_eq!(p["name"], "Brand new");
    assert_eq!(p["sku"], "BN-1");
    assert_eq!(
        c.ok(&w.path("/products/count")).await["count"]
            .as_u64()
            .unwrap(),
        count + 1
    );
}

#[tokio::test]
async fn customers_categories_info_and_proxy() {
    let w = World::new().await;
    let c = &w.client;
    let customers = c.all(&w.path("/customers?limit=9")).await;
    assert_eq!(
        customers.len() as u64,
        c.ok(&w.path("/customers/count")).await["count"]
            .as_u64()
            .unwrap()
    );
    let with_email = customers.iter().find(|x| x["email"].is_string()).unwrap();
    let email = with_email["email"].as_str().unwrap();
    let got = c
        .ok(&w.path(&format!("/customers?email={}", urlencode(email))))
        .await;
    assert_eq!(got["data"].as_array().unwrap().len(), 1);
    assert_eq!(got["data"][0]["email"], email);
    let id = with_email["id"].as_str().unwrap();
    assert_eq!(c.ok(&w.path(&format!("/customers/{id}"))).await["id"], id);

    let cats = c.all(&w.path("/categories?limit=3")).await;
    assert!(
        cats.iter().any(|x| x["parent_id"].is_string()),
        "a nested category"
    );
    let cid = cats[0]["id"].as_str().unwrap();
    assert_eq!(
        c.ok(&w.path(&format!("/categories/{cid}"))).await["id"],
        cid
    );

    let info = c.ok(&w.path("/info")).await;
    assert!(info["currency"].is_string(), "{info}");
    assert!(info["platform_version"].is_string(), "{info}");

    let r = c
        .post(
            &w.path("/proxy"),
            json!({"method": "GET", "path": "/products/categories", "query": {"per_page": "2"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], 200);
    assert_eq!(r.body["body"].as_array().unwrap().len(), 2);
    c.post(
        &w.path("/proxy"),
        json!({"method": "GET", "path": "/../../wp-admin"}),
    )
    .await
    .problem(400, "validation_failed");
    c.post(
        &w.path("/proxy"),
        json!({"method": "TRACE", "path": "/orders"}),
    )
    .await
    .problem(400, "validation_failed");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

//! The Shopify sandbox over real HTTP, as Shopify documents its GraphQL Admin API: auth and
//! its error body, the endpoint and version segment, cost extensions, THROTTLED and
//! MAX_COST_EXCEEDED, global ids and connections, the search syntax, userErrors,
//! determinism and fault injection. Checks against the official files skip when
//! ../shared is absent.

mod support;

use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use cartgate_shopify::sandbox::ThrottleConfig;
use serde_json::{json, Value};

struct Sb {
    handle: SandboxHandle,
    http: reqwest::Client,
}

impl Sb {
    async fn start(opts: SandboxOptions, throttle: ThrottleConfig) -> Sb {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = cartgate_shopify::sandbox::start_with(l, opts, throttle)
            .await
            .unwrap();
        Sb {
            handle,
            http: reqwest::Client::new(),
        }
    }
    fn token(&self) -> String {
        self.handle.banner.credentials["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.handle.banner.base_url))
            .json(&body);
        if let Some(t) = token {
            req = req.header("X-Shopify-Access-Token", t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(
                "/admin/api/2025-01/graphql.json",
                Some(&self.token()),
                json!({"query": query, "variables": variables}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

#[tokio::test]
async fn banner_auth_and_endpoint() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let b = &sb.handle.banner;
    assert_eq!(b.platform, "shopify");
    assert_eq!(b.credentials["shop"], "cartgate-demo.myshopify.com");
    assert_eq!(b.credentials["endpoint"], json!(b.base_url));
    assert!(sb.token().starts_with("shpat_"));
    let q = json!({"query": "{ shop { name } }"});
    let (s, body) = sb
        .post("/admin/api/2025-01/graphql.json", None, q.clone())
        .await;
    assert_eq!(s, 401);
    assert_eq!(
        body,
        json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    );
    let (s, _) = sb
        .post(
            "/admin/api/2025-01/graphql.json",
            Some("shpat_wrong"),
            q.clone(),
        )
        .await;
    assert_eq!(s, 401);
    let (s, body) = sb
        .post(
            "/admin/api/2024-10/graphql.json",
            Some(&sb.token()),
            q.clone(),
        )
        .await;
    assert_eq!(s, 200, "other versions fall forward");
    assert_eq!(body["data"]["shop"]["name"], "Cartgate Demo");
    let (s, _) = sb
        .post(
            "/admin/api/latest/graphql.json",
            Some(&sb.token()),
            q.clone(),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = sb.post("/admin/orders.json", Some(&sb.token()), q).await;
    assert_eq!(s, 404);
    let (s, body) = sb
        .post(
            "/admin/api/2025-01/graphql.json",
            Some(&sb.token()),
            json!({}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(body["errors"]["query"].is_string());
}

#[tokio::test]
async fn ids_connections_cost_and_search() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let v = sb
        .gql("query($q: String) { orders(first: 5, query: $q, sortKey: ID) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }", json!({"q": null}))
        .await;
    let edges = v["data"]["orders"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 5);
    assert!(edges[0]["node"]["id"]
        .as_str()
        .unwrap()
        .starts_with("gid://shopify/Order/"));
    assert_eq!(v["data"]["orders"]["pageInfo"]["hasNextPage"], true);
    let cost = &v["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 2 + 5);
    assert_eq!(cost["actualQueryCost"], 2 + 5);
    for k in ["maximumAvailable", "currentlyAvailable", "restoreRate"] {
        assert!(cost["throttleStatus"][k].is_number(), "{k}");
    }
    // Search syntax: the terms the connector sends.
    let count = |q: &'static str| {
        let sb = &sb;
        async move {
            sb.gql(
                "query($q: String) { ordersCount(query: $q) { count precision } }",
                json!({"q": q}),
            )
            .await["data"]["ordersCount"]["count"]
                .as_i64()
                .unwrap()
        }
    };
    let all = count("").await;
    assert_eq!(all, 60);
    let cancelled = count("status:cancelled").await;
    let not = count("-status:cancelled").await;
    assert!(cancelled > 0 && cancelled + not == all);
    let either = count("financial_status:paid OR financial_status:pending").await;
    assert_eq!(
        either,
        count("financial_status:paid").await + count("financial_status:pending").await
    );
    assert!(count("created_at:>='2025-05-01T00:00:00Z'").await < all);
    assert_eq!(count("created_at:>'2030-01-01'").await, 0);
    let v = sb.gql("{ products(first: 5, query: \"sku:CG-003\") { nodes { id variants(first: 5) { nodes { sku } } } } }", json!({})).await;
    assert_eq!(v["data"]["products"]["nodes"].as_array().unwrap().len(), 1);
    let v = sb
        .gql(
            "{ customersCount(query: \"email:zoe.angstrom1@example.com\") { count } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["customersCount"]["count"], 1);
    // An unknown id is null, a malformed one an error.
    let v = sb
        .gql("{ order(id: \"gid://shopify/Order/1\") { id } }", json!({}))
        .await;
    assert!(v["data"]["order"].is_null());
    let v = sb.gql("{ order(id: \"42\") { id } }", json!({})).await;
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Invalid global id"));
    // Connections need first or last, at most 250.
    let v = sb.gql("{ orders { nodes { id } } }", json!({})).await;
    assert!(v["errors"].is_array());
    let v = sb
        .gql("{ orders(first: 251) { nodes { id } } }", json!({}))
        .await;
    assert!(v["errors"].is_array());
}

#[tokio::test]
async fn throttling_and_cost_limits() {
    let throttle = ThrottleConfig {
        enabled: true,
        maximum_available: 300.0,
        restore_rate: 10.0,
    };
    let sb = Sb::start(SandboxOptions::default(), throttle).await;
    let q = "{ orders(first: 50) { nodes { id customer { id } } } }";
    let first = sb.gql(q, json!({})).await;
    assert!(first["data"]["orders"].is_object());
    let mut throttled = None;
    for _ in 0..5 {
        let v = sb.gql(q, json!({})).await;
        if v["errors"].is_array() {
            throttled = Some(v);
            break;
        }
    }
    let v = throttled.expect("the bucket runs dry");
    assert_eq!(v["errors"][0]["extensions"]["code"], "THROTTLED");
    assert_eq!(v["errors"][0]["message"], "Throttled");
    assert!(v["extensions"]["cost"]["actualQueryCost"].is_null());
    assert!(v.get("data").is_none());
    let v = sb
        .gql(
            "{ orders(first: 250) { nodes { lineItems(first: 100) { nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
    // The bucket can be switched off and resized.
    let r = sb
        .http
        .put(format!("{}/__sandbox/throttle", sb.handle.banner.base_url))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    for _ in 0..5 {
        assert!(sb.gql(q, json!({})).await["errors"].is_null());
    }
}

#[tokio::test]
async fn mutations_answer_user_errors() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let v = sb.gql("mutation { productCreate(product: {title: \"  \"}) { product { id } userErrors { field message } } }", json!({})).await;
    assert_eq!(
        v["data"]["productCreate"]["userErrors"][0]["field"],
        json!(["title"])
    );
    assert_eq!(v["extensions"]["cost"]["requestedQueryCost"], 10 + 1 + 1);
    let v = sb
        .gql("mutation($v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: \"gid://shopify/Product/8000000001\", variants: $v) { userErrors { field message code } } }",
            json!({"v": [{"id": "gid://shopify/ProductVariant/1", "price": "1.00"}]}))
        .await;
    assert_eq!(
        v["data"]["productVariantsBulkUpdate"]["userErrors"][0]["code"],
        "PRODUCT_VARIANT_DOES_NOT_EXIST"
    );
    let v = sb
        .gql("mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) { userErrors { code } } }",
            json!({"i": {"name": "available", "reason": "correction", "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/44000000001", "locationId": "gid://shopify/Location/61000000001", "quantity": 1}]}}))
        .await;
    assert_eq!(
        v["data"]["inventorySetQuantities"]["userErrors"][0]["code"],
        "COMPARE_QUANTITY_REQUIRED"
    );
    let v = sb
        .gql("mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { field message } } }",
            json!({"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}]}}))
        .await;
    assert!(v["data"]["fulfillmentCreate"]["userErrors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

#[tokio::test]
async fn seeded_data_is_deterministic_and_faults_apply() {
    let a = cartgate_shopify::sandbox::seeded_order_nodes(7, 30);
    assert_eq!(a, cartgate_shopify::sandbox::seeded_order_nodes(7, 30));
    assert_ne!(a, cartgate_shopify::sandbox::seeded_order_nodes(8, 30));
    assert_eq!(a.len(), 30);
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    sb.http
        .put(format!("{}/__sandbox/faults", sb.handle.banner.base_url))
        .json(&json!({"kind": "server_error", "count": 1, "status": 500}))
        .send()
        .await
        .unwrap();
    let (s, body) = sb
        .post(
            "/admin/api/2025-01/graphql.json",
            Some(&sb.token()),
            json!({"query": "{ shop { name } }"}),
        )
        .await;
    assert_eq!(s, 500);
    assert_eq!(body, json!({"errors": "Internal Server Error"}));
}

#[test]
fn rest_fixture_values_match_the_seeded_shapes() {
    // The legacy REST fixtures give realistic values; the seeded data uses the same
    // vocabulary for what the GraphQL API shares with them.
    let Some(dir) = support::specs() else { return };
    let order: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("rest-fixtures/order.json")).unwrap(),
    )
    .unwrap();
    let fin = order["order"]["financial_status"]
        .as_str()
        .unwrap_or("paid")
        .to_ascii_uppercase();
    assert!(
        [
            "PENDING",
            "AUTHORIZED",
            "PARTIALLY_PAID",
            "PAID",
            "PARTIALLY_REFUNDED",
            "REFUNDED",
            "VOIDED"
        ]
        .contains(&fin.as_str()),
        "{fin}"
    );
}

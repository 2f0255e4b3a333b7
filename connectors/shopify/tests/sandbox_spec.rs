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

// ---------------------------------------------------------------------------------------
// Webhooks: the registration API and what the sandbox sends
// ---------------------------------------------------------------------------------------

const SUBSCRIPTION: &str = "id topic format createdAt updatedAt includeFields filter endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }";

fn create_doc() -> String {
    format!("mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {{ webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) {{ webhookSubscription {{ {SUBSCRIPTION} }} userErrors {{ field message }} }} }}")
}

#[tokio::test]
async fn webhook_subscriptions_are_created_listed_and_deleted_as_documented() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let url = "https://hooks.example.com/shopify";
    let made = sb
        .gql(
            &create_doc(),
            json!({"t": "ORDERS_CREATE", "s": {"callbackUrl": url, "format": "JSON"}}),
        )
        .await;
    let sub = &made["data"]["webhookSubscriptionCreate"]["webhookSubscription"];
    assert_eq!(
        made["data"]["webhookSubscriptionCreate"]["userErrors"],
        json!([])
    );
    assert!(sub["id"]
        .as_str()
        .unwrap()
        .starts_with("gid://shopify/WebhookSubscription/"));
    assert_eq!(sub["topic"], "ORDERS_CREATE");
    assert_eq!(sub["format"], "JSON");
    assert_eq!(
        sub["endpoint"],
        json!({"__typename": "WebhookHttpEndpoint", "callbackUrl": url})
    );
    assert_eq!(sub["includeFields"], json!([]));
    assert!(sub["createdAt"].as_str().unwrap().ends_with('Z'));
    // Mutations cost 10 plus their selection.
    assert!(
        made["extensions"]["cost"]["requestedQueryCost"]
            .as_u64()
            .unwrap()
            >= 10
    );

    // userErrors: the same topic and address twice, a blank or invalid address.
    for (vars, message) in [
        (
            json!({"t": "ORDERS_CREATE", "s": {"callbackUrl": url}}),
            "Address for this topic has already been taken",
        ),
        (
            json!({"t": "ORDERS_UPDATED", "s": {}}),
            "Address can't be blank",
        ),
        (
            json!({"t": "ORDERS_UPDATED", "s": {"callbackUrl": "ftp://x.example/"}}),
            "Address is invalid",
        ),
    ] {
        let r = sb.gql(&create_doc(), vars).await;
        let p = &r["data"]["webhookSubscriptionCreate"];
        assert_eq!(p["webhookSubscription"], Value::Null);
        assert_eq!(
            p["userErrors"],
            json!([{"field": ["webhookSubscription", "callbackUrl"], "message": message}])
        );
    }
    // An unknown topic is a GraphQL error of the enum.
    let r = sb
        .gql(
            &create_doc(),
            json!({"t": "NOT_A_TOPIC", "s": {"callbackUrl": url}}),
        )
        .await;
    assert!(r["errors"].is_array(), "{r}");

    let other = sb
        .gql(
            &create_doc(),
            json!({"t": "PRODUCTS_DELETE", "s": {"callbackUrl": "https://other.example.com/h"}}),
        )
        .await;
    let other_id = other["data"]["webhookSubscriptionCreate"]["webhookSubscription"]["id"].clone();

    // Listing, with the callbackUrl and topics filters.
    let list = |filter: &str| {
        format!("{{ webhookSubscriptions(first: 10{filter}) {{ nodes {{ id topic }} edges {{ cursor }} pageInfo {{ hasNextPage }} }} }}")
    };
    let all = sb.gql(&list(""), json!({})).await;
    assert_eq!(
        all["data"]["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mine = sb
        .gql(
            &list(&format!(", callbackUrl: {url:?}, topics: [ORDERS_CREATE]")),
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["webhookSubscriptions"]["nodes"],
        json!([{"id": sub["id"], "topic": "ORDERS_CREATE"}])
    );

    // Deleting answers the id; an unknown id is a userError.
    let del = "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } } }";
    let r = sb.gql(del, json!({"id": other_id})).await;
    assert_eq!(
        r["data"]["webhookSubscriptionDelete"],
        json!({"deletedWebhookSubscriptionId": other_id, "userErrors": []})
    );
    let r = sb.gql(del, json!({"id": other_id})).await;
    assert_eq!(
        r["data"]["webhookSubscriptionDelete"],
        json!({"deletedWebhookSubscriptionId": null, "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]})
    );
}

/// base64 HMAC-SHA256 of the raw body keyed with the app's API secret key, as
/// NOTES-webhook-signatures.md states Shopify's rule (computed here with ring directly).
fn shopify_signature(secret: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, body).as_ref())
}

/// Keys of our REST payload that the (older) fixtures lack but the current REST format has.
const NEWER_THAN_THE_FIXTURES: [&str; 3] = ["admin_graphql_api_id", "status", "phone"];

/// Every key of `ours` is in `theirs` (or newer than it), with a value of the same JSON kind
/// where both are set; objects and arrays of objects are compared the same way.
fn same_shape(path: &str, ours: &Value, theirs: &Value, problems: &mut Vec<String>) {
    let (Some(o), Some(t)) = (ours.as_object(), theirs.as_object()) else {
        return;
    };
    for (k, v) in o {
        let Some(tv) = t.get(k) else {
            if !NEWER_THAN_THE_FIXTURES.contains(&k.as_str()) {
                problems.push(format!("{path}.{k} is not in Shopify's REST fixture"));
            }
            continue;
        };
        let kind = |v: &Value| match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !v.is_null() && !tv.is_null() && kind(v) != kind(tv) {
            problems.push(format!(
                "{path}.{k} is a {} in Shopify's, a {} here",
                kind(tv),
                kind(v)
            ));
        }
        match (v, tv) {
            (Value::Object(_), Value::Object(_)) => {
                same_shape(&format!("{path}.{k}"), v, tv, problems)
            }
            (Value::Array(a), Value::Array(b)) => {
                if let (Some(x), Some(y)) = (a.first(), b.first()) {
                    same_shape(&format!("{path}.{k}[]"), x, y, problems);
                }
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn webhooks_carry_shopifys_headers_rest_bodies_and_signature() {
    use cartgate_connector::testing::WebhookReceiver;
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let secret = sb.handle.banner.credentials["api_secret_key"]
        .as_str()
        .expect("the banner gives the app's API secret key")
        .to_owned();
    assert!(secret.starts_with("shpss_"));
    let rx = WebhookReceiver::start().await;
    for t in [
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
        "PRODUCTS_UPDATE",
        "PRODUCTS_DELETE",
        "CUSTOMERS_CREATE",
    ] {
        let r = sb
            .gql(
                &create_doc(),
                json!({"t": t, "s": {"callbackUrl": rx.url.as_str()}}),
            )
            .await;
        assert_eq!(
            r["data"]["webhookSubscriptionCreate"]["userErrors"],
            json!([])
        );
    }
    let simulate = |event: &str| {
        let http = sb.http.clone();
        let url = format!("{}/__sandbox/simulate", sb.handle.banner.base_url);
        let body = json!({"event": event});
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let order_id = simulate("order.created").await;
    let customer_id = simulate("customer.created").await;
    let product_id = simulate("product.created").await; // no subscription: nothing sent
    sb.gql(
        "mutation($p: ProductUpdateInput!) { productUpdate(product: $p) { userErrors { message } } }",
        json!({"p": {"id": format!("gid://shopify/Product/{product_id}"), "title": "Renamed through the API"}}),
    )
    .await;
    let deleted = simulate("product.deleted").await;
    assert_eq!(deleted, product_id, "the newest product by default");

    let dir = support::specs();
    let fixture = |name: &str, key: &str| -> Option<Value> {
        let d = dir.as_ref()?;
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(d.join("rest-fixtures").join(name)).ok()?,
        )
        .ok()?;
        Some(v[key].clone())
    };
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 4 {
        let r = rx
            .next(std::time::Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("only {:?} arrived", seen.keys()));
        let topic = r.header("x-shopify-topic").unwrap().to_owned();
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.header("x-shopify-shop-domain"),
            Some("cartgate-demo.myshopify.com")
        );
        assert_eq!(r.header("x-shopify-api-version"), Some("2025-01"));
        let webhook_id = r.header("x-shopify-webhook-id").expect("a webhook id");
        assert_eq!(webhook_id.len(), 36, "a UUID: {webhook_id}");
        assert!(r.header("x-shopify-event-id").is_some());
        let triggered = r.header("x-shopify-triggered-at").expect("triggered-at");
        assert!(
            chrono::DateTime::parse_from_rfc3339(triggered).is_ok(),
            "{triggered}"
        );
        assert_eq!(
            r.header("x-shopify-hmac-sha256"),
            Some(shopify_signature(&secret, &r.body).as_str()),
            "{topic} is signed with the app's API secret key"
        );
        let body = r.json();
        let mut problems = Vec::new();
        match topic.as_str() {
            "orders/create" => {
                assert_eq!(body["id"].to_string(), order_id);
                assert_eq!(
                    body["admin_graphql_api_id"],
                    format!("gid://shopify/Order/{order_id}")
                );
                assert_eq!(body["line_items"].as_array().unwrap().len(), 1);
                assert_eq!(body["financial_status"], "paid");
                assert_eq!(body["created_at"], body["updated_at"]);
                if let Some(f) = fixture("order.json", "order") {
                    same_shape("order", &body, &f, &mut problems);
                }
            }
            "customers/create" => {
                assert_eq!(body["id"].to_string(), customer_id);
                if let Some(f) = fixture("customers.json", "customer") {
                    same_shape("customer", &body, &f, &mut problems);
                }
            }
            "products/update" => {
                assert_eq!(body["id"].to_string(), product_id);
                assert_eq!(body["title"], "Renamed through the API");
                if let Some(f) = fixture("product.json", "product") {
                    same_shape("product", &body, &f, &mut problems);
                }
            }
            "products/delete" => {
                assert_eq!(body, json!({"id": product_id.parse::<u64>().unwrap()}))
            }
            other => panic!("unexpected topic {other}"),
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        seen.insert(topic, ());
    }
    assert!(
        rx.next(std::time::Duration::from_millis(200))
            .await
            .is_none(),
        "one each"
    );
}

#[tokio::test]
async fn simulate_changes_the_data_and_refuses_bad_bodies() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let url = format!("{}/__sandbox/simulate", sb.handle.banner.base_url);
    let post = |body: Value| {
        let (http, url) = (sb.http.clone(), url.clone());
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = post(json!({"event": "customer.updated", "id": "7000000001"})).await;
    assert_eq!((s, b["id"].as_str()), (200, Some("7000000001")));
    let c = sb
        .gql(
            "{ customer(id: \"gid://shopify/Customer/7000000001\") { firstName updatedAt } }",
            json!({}),
        )
        .await;
    assert!(c["data"]["customer"]["firstName"]
        .as_str()
        .unwrap()
        .contains("(renamed "));
    // updatedAt moved to the sandbox clock (past every seeded date).
    assert!(c["data"]["customer"]["updatedAt"].as_str().unwrap() > "2025-06-01T12:00:00Z");
    let (s, b) = post(json!({"event": "order.created"})).await;
    assert_eq!(s, 200);
    let o = sb
        .gql(
            &format!("{{ order(id: \"gid://shopify/Order/{}\") {{ createdAt updatedAt lineItems(first: 5) {{ nodes {{ quantity }} }} }} }}", b["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(
        o["data"]["order"]["lineItems"]["nodes"],
        json!([{"quantity": 1}])
    );
    for (body, status) in [
        (json!({"event": "order.deleted"}), 400),
        (json!({}), 400),
        (json!({"event": "order.created", "id": "5"}), 400),
        (json!({"event": "order.updated", "extra": 1}), 400),
        (json!({"event": "order.updated", "id": "1"}), 404),
        (
            json!({"event": "product.updated", "id": "not-a-number"}),
            404,
        ),
    ] {
        let (s, b) = post(body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
        assert!(b["error"].is_string(), "{b}");
    }
    // A shop with nothing to sell or change: 409.
    let empty = Sb::start(
        SandboxOptions {
            orders: 0,
            products: 0,
            customers: 0,
            ..Default::default()
        },
        ThrottleConfig::standard(false),
    )
    .await;
    for event in ["order.created", "product.updated", "customer.updated"] {
        let r = empty
            .http
            .post(format!(
                "{}/__sandbox/simulate",
                empty.handle.banner.base_url
            ))
            .json(&json!({ "event": event }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409, "{event}");
    }
}

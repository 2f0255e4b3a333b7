//! The Shopify sandbox over real HTTP, as Shopify documents its GraphQL Admin API: auth and
//! its error body, the endpoint and version segment, cost extensions, THROTTLED and
//! MAX_COST_EXCEEDED, global ids and connections, the search syntax, userErrors,
//! determinism and fault injection. Checks against the official files skip when
//! ../shared is absent.

mod support;

use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use cartgate_shopify::sandbox::ThrottleConfig;
use serde_json::{json, Value};

/// The default version's endpoint.
fn path() -> String {
    format!(
        "/admin/api/{}/graphql.json",
        cartgate_shopify::DEFAULT_API_VERSION
    )
}

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
    /// Every node of a root connection, `first` at a time.
    async fn all(&self, field: &str, first: u32, selection: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = Value::Null;
        loop {
            let v = self
                .gql(
                    &format!("query($a: String) {{ {field}(first: {first}, after: $a) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {selection} }} }} }}"),
                    json!({"a": after}),
                )
                .await;
            assert!(v["errors"].is_null(), "{v}");
            let conn = &v["data"][field];
            out.extend(conn["nodes"].as_array().unwrap().iter().cloned());
            if conn["pageInfo"]["hasNextPage"] != json!(true) {
                return out;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
    }

    /// The `X-Shopify-API-Version` answering a query at `path`.
    async fn served_version(&self, path: &str) -> String {
        let r = self
            .http
            .post(format!("{}{path}", self.handle.banner.base_url))
            .header("X-Shopify-Access-Token", self.token())
            .json(&json!({"query": "{ shop { name } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.headers()["x-shopify-api-version"]
            .to_str()
            .unwrap()
            .to_owned()
    }
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(
                &path(),
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
    let (s, body) = sb.post(&path(), None, q.clone()).await;
    assert_eq!(s, 401);
    assert_eq!(
        body,
        json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    );
    let (s, _) = sb.post(&path(), Some("shpat_wrong"), q.clone()).await;
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
    // The version that answered: the one asked for (the default, a configured one), or
    // the oldest supported for a retired one.
    assert_eq!(
        sb.served_version(&path()).await,
        cartgate_shopify::DEFAULT_API_VERSION
    );
    assert_eq!(
        sb.served_version("/admin/api/2026-07/graphql.json").await,
        "2026-07"
    );
    assert_eq!(
        sb.served_version("/admin/api/2025-01/graphql.json").await,
        cartgate_shopify::sandbox::OLDEST_SUPPORTED
    );
    let counts: Value = sb
        .http
        .get(format!("{}/__sandbox/api-versions", b.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["requested"]["2026-07"], 1, "{counts}");
    assert_eq!(counts["requested"]["2024-10"], 1, "{counts}");
    assert_eq!(counts["requested"]["2025-01"], 1, "{counts}");
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
    let (s, body) = sb.post(&path(), Some(&sb.token()), json!({})).await;
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
    // 2026-04: changeFromQuantity must be given (null skips the check).
    let v = sb
        .gql("mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) @idempotent(key: \"k-1\") { userErrors { code field message } } }",
            json!({"i": {"name": "available", "reason": "correction", "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/44000000001", "locationId": "gid://shopify/Location/61000000001", "quantity": 1}]}}))
        .await;
    assert_eq!(
        v["data"]["inventorySetQuantities"]["userErrors"][0]["field"],
        json!(["input", "quantities", "0", "changeFromQuantity"]),
        "{v}"
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
            &path(),
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
        assert_eq!(
            r.header("x-shopify-api-version"),
            Some(cartgate_shopify::DEFAULT_API_VERSION)
        );
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

// ---------------------------------------------------------------------------------------
// Shipping and invoicing data, stock by location, and the 2026 inventory rules
// ---------------------------------------------------------------------------------------

const ORDER_FIELDS: &str = "id name taxesIncluded tags discountCodes paymentGatewayNames totalWeight displayFinancialStatus displayFulfillmentStatus
  subtotalPriceSet { shopMoney { amount } } totalShippingPriceSet { shopMoney { amount } }
  totalTaxSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } }
  totalPriceSet { shopMoney { amount } } totalRefundedSet { shopMoney { amount } }
  taxLines { title rate ratePercentage priceSet { shopMoney { amount } } }
  lineItems(first: 20) { nodes { id quantity requiresShipping refundableQuantity
    originalUnitPriceSet { shopMoney { amount } }
    discountedTotalSet { shopMoney { amount } }
    withCodes: discountedTotalSet(withCodeDiscounts: true) { shopMoney { amount } }
    taxLines { title rate priceSet { shopMoney { amount } } }
    discountAllocations { allocatedAmountSet { shopMoney { amount } } discountApplication { __typename ... on DiscountCodeApplication { code targetType value { __typename ... on PricingPercentageValue { percentage } } } } }
    variant { id inventoryItem { measurement { weight { unit value } } } } } }
  shippingLines(first: 5) { nodes { title code source carrierIdentifier isRemoved
    originalPriceSet { shopMoney { amount } } discountedPriceSet { shopMoney { amount } }
    taxLines { title rate priceSet { shopMoney { amount } } }
    discountAllocations { allocatedAmountSet { shopMoney { amount } } discountApplication { ... on DiscountCodeApplication { code } } } } }
  transactions(first: 10) { kind status gateway formattedGateway processedAt amountSet { shopMoney { amount } } }
  refunds(first: 5) { id createdAt note totalRefundedSet { shopMoney { amount } }
    refundLineItems(first: 10) { nodes { quantity lineItem { id } subtotalSet { shopMoney { amount } } } } }";

fn d(v: &Value) -> rust_decimal::Decimal {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("{v} is a decimal")),
        Value::Number(n) => n.to_string().parse().unwrap(),
        _ => panic!("{v} is not a number"),
    }
}

fn amount(v: &Value) -> rust_decimal::Decimal {
    d(&v["shopMoney"]["amount"])
}

#[tokio::test]
async fn orders_carry_taxes_discounts_shipping_payments_and_refunds() {
    use rust_decimal::Decimal;
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let orders = sb.all("orders", 1, ORDER_FIELDS).await;
    assert_eq!(orders.len(), 60);
    let mut rates = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for o in &orders {
        let name = &o["name"];
        let included = o["taxesIncluded"].as_bool().unwrap();
        seen.insert(format!("taxesIncluded:{included}"));
        let lines = o["lineItems"]["nodes"].as_array().unwrap();
        let ships = o["shippingLines"]["nodes"].as_array().unwrap();
        // The totals are what the lines and shipping lines make.
        let line_tax: Decimal = lines
            .iter()
            .flat_map(|l| l["taxLines"].as_array().unwrap())
            .map(|t| amount(&t["priceSet"]))
            .sum();
        let ship_tax: Decimal = ships
            .iter()
            .flat_map(|l| l["taxLines"].as_array().unwrap())
            .map(|t| amount(&t["priceSet"]))
            .sum();
        assert_eq!(amount(&o["totalTaxSet"]), line_tax + ship_tax, "{name}");
        let order_tax: Decimal = o["taxLines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| amount(&t["priceSet"]))
            .sum();
        assert_eq!(
            order_tax, line_tax,
            "{name}: Order.taxLines are the lines' taxes"
        );
        let subtotal: Decimal = lines.iter().map(|l| amount(&l["withCodes"])).sum();
        assert_eq!(amount(&o["subtotalPriceSet"]), subtotal, "{name}");
        let shipping: Decimal = ships.iter().map(|l| amount(&l["discountedPriceSet"])).sum();
        assert_eq!(amount(&o["totalShippingPriceSet"]), shipping, "{name}");
        let expected = subtotal
            + shipping
            + if included {
                Decimal::ZERO
            } else {
                line_tax + ship_tax
            };
        assert_eq!(amount(&o["totalPriceSet"]), expected, "{name}");
        for t in o["taxLines"].as_array().unwrap() {
            let rate = d(&t["rate"]);
            assert_eq!(d(&t["ratePercentage"]), rate * Decimal::from(100), "{name}");
            rates.insert(rate.normalize().to_string());
        }
        // Refunds add up to the refunded total; a line's refundable quantity is what is left.
        let refunds = o["refunds"].as_array().unwrap();
        let refunded: Decimal = refunds.iter().map(|r| amount(&r["totalRefundedSet"])).sum();
        assert_eq!(amount(&o["totalRefundedSet"]), refunded, "{name}");
        for l in lines {
            let back: i64 = refunds
                .iter()
                .flat_map(|r| r["refundLineItems"]["nodes"].as_array().unwrap())
                .filter(|rl| rl["lineItem"]["id"] == l["id"])
                .map(|rl| rl["quantity"].as_i64().unwrap())
                .sum();
            assert_eq!(
                l["refundableQuantity"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap() - back,
                "{name}"
            );
        }
        for r in refunds {
            let by_lines = !r["refundLineItems"]["nodes"].as_array().unwrap().is_empty();
            let all = o["displayFinancialStatus"] == "REFUNDED";
            seen.insert(format!(
                "refund:{}",
                if all {
                    "full"
                } else if by_lines {
                    "line"
                } else {
                    "amount"
                }
            ));
            assert!(r["note"].is_string() && r["createdAt"].is_string(), "{r}");
        }
        for s in ships {
            let price = amount(&s["originalPriceSet"]);
            let kind = match (s["title"].as_str().unwrap(), price.is_zero()) {
                ("Main Warehouse", true) => "pickup",
                (_, true) => "free",
                _ if s["carrierIdentifier"].is_string() => "carrier",
                _ => "flat",
            };
            seen.insert(format!("shipping:{kind}"));
            assert_eq!(s["isRemoved"], false);
            assert!(s["code"].is_string());
        }
        for code in o["discountCodes"].as_array().unwrap() {
            seen.insert(format!("code:{}", code.as_str().unwrap()));
            let allocated = lines
                .iter()
                .flat_map(|l| l["discountAllocations"].as_array().unwrap())
                .chain(
                    ships
                        .iter()
                        .flat_map(|s| s["discountAllocations"].as_array().unwrap()),
                )
                .any(|a| a["discountApplication"]["code"] == *code);
            assert!(allocated, "{name}: {code} took something off");
        }
        for t in o["transactions"].as_array().unwrap() {
            seen.insert(format!("gateway:{}", t["gateway"].as_str().unwrap()));
            seen.insert(format!("kind:{}", t["kind"].as_str().unwrap()));
            assert!(t["formattedGateway"].is_string() && t["processedAt"].is_string());
        }
        assert!(
            o["totalWeight"]
                .as_str()
                .unwrap()
                .bytes()
                .all(|b| b.is_ascii_digit()),
            "UnsignedInt64 is a string of digits: {}",
            o["totalWeight"]
        );
        if !o["tags"].as_array().unwrap().is_empty() {
            seen.insert("tags".into());
        }
        if lines.iter().any(|l| l["requiresShipping"] == false) {
            seen.insert("no-shipping line".into());
        }
        seen.insert(format!(
            "fulfillment:{}",
            o["displayFulfillmentStatus"].as_str().unwrap()
        ));
    }
    for want in [
        "taxesIncluded:true",
        "taxesIncluded:false",
        "refund:full",
        "refund:line",
        "refund:amount",
        "shipping:pickup",
        "shipping:free",
        "shipping:carrier",
        "shipping:flat",
        "code:WELCOME10",
        "code:FREESHIP",
        "gateway:shopify_payments",
        "gateway:paypal",
        "gateway:Cash on Delivery (COD)",
        "gateway:gift_card",
        "kind:SALE",
        "kind:AUTHORIZATION",
        "kind:CAPTURE",
        "kind:VOID",
        "kind:REFUND",
        "tags",
        "no-shipping line",
        "fulfillment:FULFILLMENT_NOT_REQUIRED",
        "fulfillment:FULFILLED",
    ] {
        assert!(seen.contains(want), "no {want} among {seen:?}");
    }
    assert!(rates.len() >= 5, "several tax rates: {rates:?}");
}

#[tokio::test]
async fn products_carry_weights_barcodes_and_stock_by_location() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    let locs = sb
        .gql("{ locations(first: 10, includeInactive: true, includeLegacy: true) { nodes { id name isActive address { address1 city provinceCode zip countryCode } } } }", json!({}))
        .await;
    let locs = locs["data"]["locations"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(locs.len(), 2, "{locs:?}");
    assert!(locs.iter().all(|l| l["address"]["countryCode"] == "CA"));
    let products = sb
        .all("products", 3, "title variants(first: 10) { nodes { id barcode inventoryQuantity
            inventoryItem { id tracked requiresShipping measurement { weight { unit value } }
              inventoryLevels(first: 5) { nodes { location { id } quantities(names: [\"available\", \"on_hand\"]) { name quantity } } } } } }")
        .await;
    assert!(products.len() >= 12);
    let mut units = std::collections::BTreeSet::new();
    let (mut no_weight, mut zero, mut no_barcode, mut split, mut digital) = (0, 0, 0, 0, 0);
    for p in &products {
        for var in p["variants"]["nodes"].as_array().unwrap() {
            let item = &var["inventoryItem"];
            match &item["measurement"]["weight"] {
                Value::Null => no_weight += 1,
                w if w["value"] == json!(0.0) => zero += 1,
                w => {
                    units.insert(w["unit"].as_str().unwrap().to_owned());
                }
            }
            match var["barcode"].as_str() {
                None => no_barcode += 1,
                Some(b) => {
                    // EAN-13: the check digit makes the weighted sum a multiple of 10.
                    assert_eq!(b.len(), 13, "{b}");
                    let sum: u32 = b
                        .bytes()
                        .enumerate()
                        .map(|(i, c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 })
                        .sum();
                    assert_eq!(sum % 10, 0, "{b}");
                }
            }
            if item["requiresShipping"] == false {
                digital += 1;
            }
            let levels = item["inventoryLevels"]["nodes"].as_array().unwrap();
            if levels.len() >= 2 {
                split += 1;
            }
            let total: i64 = levels
                .iter()
                .map(|l| {
                    let q = l["quantities"].as_array().unwrap();
                    assert_eq!(q.len(), 2);
                    assert!(locs.iter().any(|x| x["id"] == l["location"]["id"]));
                    q.iter().find(|q| q["name"] == "available").unwrap()["quantity"]
                        .as_i64()
                        .unwrap()
                })
                .sum();
            assert_eq!(var["inventoryQuantity"].as_i64().unwrap(), total, "{var}");
        }
    }
    let all: std::collections::BTreeSet<String> = ["GRAMS", "KILOGRAMS", "OUNCES", "POUNDS"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(units, all);
    assert!(no_weight > 0 && zero > 0 && no_barcode > 0 && split > 0 && digital > 0);

    // The bulk update writes barcode, weight (in the unit given) and shipping.
    let w = sb
        .gql("mutation($v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: \"gid://shopify/Product/8000000002\", variants: $v) {
            productVariants { barcode inventoryItem { requiresShipping measurement { weight { unit value } } } } userErrors { code field message } } }",
            json!({"v": [{"id": "gid://shopify/ProductVariant/40000000007", "barcode": "4006381333931",
                "inventoryItem": {"requiresShipping": false, "measurement": {"weight": {"value": 1.25, "unit": "POUNDS"}}}}]}))
        .await;
    let p = &w["data"]["productVariantsBulkUpdate"];
    assert_eq!(p["userErrors"], json!([]), "{w}");
    assert_eq!(
        p["productVariants"][0],
        json!({"barcode": "4006381333931", "inventoryItem": {"requiresShipping": false, "measurement": {"weight": {"unit": "POUNDS", "value": 1.25}}}})
    );
}

#[tokio::test]
async fn inventory_mutations_follow_the_2026_rules() {
    let sb = Sb::start(SandboxOptions::default(), ThrottleConfig::standard(false)).await;
    // The mug (product 2, one variant), stocked at the main warehouse only.
    let item = "gid://shopify/InventoryItem/44000000007";
    let level = |loc: u64| {
        let sb = &sb;
        async move {
            let v = sb
                .gql(
                    &format!("{{ inventoryItem(id: \"{item}\") {{ inventoryLevel(locationId: \"gid://shopify/Location/{loc}\") {{ quantities(names: [\"available\"]) {{ quantity }} }} }} }}"),
                    json!({}),
                )
                .await;
            v["data"]["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"].as_i64()
        }
    };
    let adjust = "mutation($i: InventoryAdjustQuantitiesInput!, $k: String!) { inventoryAdjustQuantities(input: $i) @idempotent(key: $k) { inventoryAdjustmentGroup { id } userErrors { code field message } } }";
    let change = |delta: i64, from: Value, loc: u64| json!({"name": "available", "reason": "correction", "changes": [{"inventoryItemId": item, "locationId": format!("gid://shopify/Location/{loc}"), "delta": delta, "changeFromQuantity": from}]});
    let before = level(61_000_000_001).await.unwrap();

    // Without the directive: a GraphQL error, nothing applied.
    let v = sb
        .gql("mutation($i: InventoryAdjustQuantitiesInput!) { inventoryAdjustQuantities(input: $i) { userErrors { code } } }",
            json!({"i": change(1, Value::Null, 61_000_000_001)}))
        .await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("@idempotent"),
        "{v}"
    );
    assert_eq!(level(61_000_000_001).await, Some(before));

    // changeFromQuantity null: the delta applies on top of what is there; the same key and
    // input again answers the same and does not apply twice.
    let first = sb
        .gql(
            adjust,
            json!({"i": change(3, Value::Null, 61_000_000_001), "k": "key-a"}),
        )
        .await;
    assert_eq!(
        first["data"]["inventoryAdjustQuantities"]["userErrors"],
        json!([]),
        "{first}"
    );
    let again = sb
        .gql(
            adjust,
            json!({"i": change(3, Value::Null, 61_000_000_001), "k": "key-a"}),
        )
        .await;
    assert_eq!(again["data"], first["data"]);
    assert_eq!(level(61_000_000_001).await, Some(before + 3));
    // The same key with another input is refused.
    let other = sb
        .gql(
            adjust,
            json!({"i": change(4, Value::Null, 61_000_000_001), "k": "key-a"}),
        )
        .await;
    assert_eq!(
        other["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"],
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    );
    // A stale changeFromQuantity is refused, the current one accepted.
    let stale = sb
        .gql(
            adjust,
            json!({"i": change(1, json!(before), 61_000_000_001), "k": "key-b"}),
        )
        .await;
    assert_eq!(
        stale["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"],
        "CHANGE_FROM_QUANTITY_STALE"
    );
    let ok = sb
        .gql(
            adjust,
            json!({"i": change(1, json!(before + 3), 61_000_000_001), "k": "key-c"}),
        )
        .await;
    assert_eq!(
        ok["data"]["inventoryAdjustQuantities"]["userErrors"],
        json!([]),
        "{ok}"
    );
    assert_eq!(level(61_000_000_001).await, Some(before + 4));
    // Omitting changeFromQuantity is an error (2026-04).
    let mut omitted = change(1, Value::Null, 61_000_000_001);
    omitted["changes"][0]
        .as_object_mut()
        .unwrap()
        .remove("changeFromQuantity");
    let v = sb.gql(adjust, json!({"i": omitted, "k": "key-d"})).await;
    assert_eq!(
        v["data"]["inventoryAdjustQuantities"]["userErrors"][0]["field"],
        json!(["input", "changes", "0", "changeFromQuantity"])
    );
    // A location not stocking the item starts stocking it (2026-10).
    assert_eq!(
        level(61_000_000_002).await,
        None,
        "the mug is stocked at one location"
    );
    let v = sb
        .gql(
            adjust,
            json!({"i": change(6, Value::Null, 61_000_000_002), "k": "key-e"}),
        )
        .await;
    assert_eq!(
        v["data"]["inventoryAdjustQuantities"]["userErrors"],
        json!([]),
        "{v}"
    );
    assert_eq!(level(61_000_000_002).await, Some(6));
    // compareQuantity is gone.
    let v = sb
        .gql(&format!("mutation {{ inventorySetQuantities(input: {{name: \"available\", reason: \"correction\", quantities: [{{inventoryItemId: \"{item}\", locationId: \"gid://shopify/Location/61000000001\", quantity: 1, compareQuantity: 1}}]}}) @idempotent(key: \"key-f\") {{ userErrors {{ code }} }} }}"), json!({}))
        .await;
    assert!(v["errors"].is_array(), "{v}");
    // inventorySetQuantities with changeFromQuantity: compare and swap.
    let set = "mutation($i: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities(input: $i) @idempotent(key: $k) { userErrors { code } } }";
    let q = |quantity: i64, from: Value| json!({"name": "available", "reason": "correction", "quantities": [{"inventoryItemId": item, "locationId": "gid://shopify/Location/61000000002", "quantity": quantity, "changeFromQuantity": from}]});
    let v = sb
        .gql(set, json!({"i": q(9, json!(5)), "k": "key-g"}))
        .await;
    assert_eq!(
        v["data"]["inventorySetQuantities"]["userErrors"][0]["code"],
        "CHANGE_FROM_QUANTITY_STALE"
    );
    let v = sb
        .gql(set, json!({"i": q(9, json!(6)), "k": "key-h"}))
        .await;
    assert_eq!(v["data"]["inventorySetQuantities"]["userErrors"], json!([]));
    assert_eq!(level(61_000_000_002).await, Some(9));
}

//! The Amazon sandbox over real HTTP, against the official SP-API models
//! (../shared/platform-specs/amazon/models, Swagger 2.0): every answer the connector uses
//! is validated with the model's own definitions for that path, method and status, and
//! the request bodies sent here with the model's body parameters; plus the LWA token
//! exchange, the access-token check, per-operation rate limits, parameter rules, writes,
//! simulated Seller Central changes, fault injection and determinism.
//!
//! Validation is stricter than the models: every definition that lists `properties` is
//! closed (`additionalProperties: false`), so a misspelt or invented field fails. The
//! models' own response examples pass under that rule (checked first). When the specs
//! folder is absent, schema checks print "skipped: ../shared/platform-specs not found"
//! and the behaviour is still tested.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use serde_json::{json, Value};

const US: &str = "ATVPDKIKX0DER";
const CA: &str = "A2EUQ1WTGCTBG2";
const MX: &str = "A1AM78C64UM0Y8";
const ALL_ORDER_DATA: &str =
    "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT,FULFILLMENT_ORDERS";
const ALL_LISTING_DATA: &str =
    "summaries,attributes,issues,offers,fulfillmentAvailability,procurement,relationships,productTypes";

const ORDERS: &str = "orders_2026-01-01";
const ORDERS_V0: &str = "ordersV0";
const LISTINGS: &str = "listingsItems_2021-08-01";
const FBA: &str = "fbaInventory";
const SELLERS: &str = "sellers";

// ---------------------------------------------------------------------------------------
// The models
// ---------------------------------------------------------------------------------------

fn specs() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/platform-specs/amazon/models");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/platform-specs not found");
        None
    }
}

/// A model with every definition that lists properties closed.
fn model(name: &str) -> Option<&'static Value> {
    static MODELS: OnceLock<Option<HashMap<String, Value>>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir = specs()?;
            let mut out = HashMap::new();
            for n in [ORDERS, ORDERS_V0, LISTINGS, FBA, SELLERS] {
                let text = std::fs::read_to_string(dir.join(format!("{n}.json")))
                    .expect("the model is readable");
                let mut v: Value = serde_json::from_str(&text).expect("the model is JSON");
                if let Some(defs) = v.get_mut("definitions").and_then(Value::as_object_mut) {
                    for def in defs.values_mut() {
                        if def.get("properties").is_some()
                            && def.get("additionalProperties").is_none()
                        {
                            def["additionalProperties"] = json!(false);
                        }
                    }
                }
                out.insert(n.to_owned(), v);
            }
            Some(out)
        })
        .as_ref()
        .and_then(|m| m.get(name))
}

fn response_schema(m: &str, path: &str, method: &str, status: u16) -> Option<Value> {
    let s = model(m)?["paths"][path][method]["responses"][status.to_string()]["schema"].clone();
    assert!(
        !s.is_null(),
        "{m} has a {status} schema for {method} {path}"
    );
    Some(s)
}

fn body_schema(m: &str, path: &str, method: &str) -> Option<Value> {
    let ps = model(m)?["paths"][path][method]["parameters"]
        .as_array()?
        .clone();
    ps.into_iter()
        .find(|p| p["in"] == "body")
        .map(|p| p["schema"].clone())
}

thread_local! {
    static VALIDATORS: std::cell::RefCell<HashMap<String, std::rc::Rc<jsonschema::Validator>>> =
        Default::default();
}

/// Validates `instance` against `schema` with the model's definitions.
fn check(m: &str, what: &str, schema: Option<Value>, instance: &Value) {
    let Some(schema) = schema else {
        return;
    };
    let key = format!("{m}:{schema}");
    let validator = VALIDATORS.with(|v| {
        v.borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                let mut root = schema.clone();
                root["definitions"] = model(m).expect("model")["definitions"].clone();
                std::rc::Rc::new(
                    jsonschema::draft4::options()
                        .should_validate_formats(true)
                        .build(&root)
                        .expect("the model's schema compiles"),
                )
            })
            .clone()
    });
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match {m}:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(instance)
            .unwrap_or_default()
            .chars()
            .take(3000)
            .collect::<String>()
    );
}

fn check_response(m: &str, path: &str, method: &str, r: &Resp) {
    let what = format!("{method} {path} ({})", r.status);
    check(
        m,
        &what,
        response_schema(m, path, method, r.status),
        &r.body,
    );
}

fn check_body(m: &str, path: &str, method: &str, body: &Value) {
    check(
        m,
        &format!("the {method} {path} body"),
        body_schema(m, path, method),
        body,
    );
}

// ---------------------------------------------------------------------------------------
// A sandbox and a client
// ---------------------------------------------------------------------------------------

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn error_code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }
}

struct Sb {
    base: String,
    creds: Value,
    http: reqwest::Client,
    token: String,
    handle: Option<SandboxHandle>,
}

impl Drop for Sb {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.shutdown.send(());
        }
    }
}

impl Sb {
    async fn start() -> Sb {
        Sb::with(SandboxOptions::default()).await
    }

    async fn with(opts: SandboxOptions) -> Sb {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let h = cartgate_amazon::sandbox::start(l, opts).await.unwrap();
        assert_eq!(h.banner.platform, "amazon");
        let creds = h.banner.credentials.clone();
        let mut sb = Sb {
            base: h.banner.base_url.clone(),
            creds,
            http: reqwest::Client::new(),
            token: String::new(),
            handle: Some(h),
        };
        let (status, body) = sb.lwa(&sb.grant()).await;
        assert_eq!(status, 200, "{body}");
        sb.token = body["access_token"].as_str().unwrap().to_owned();
        sb
    }

    fn cred(&self, k: &str) -> String {
        self.creds[k]
            .as_str()
            .unwrap_or_else(|| panic!("banner credential {k}"))
            .to_owned()
    }

    fn seller(&self) -> String {
        self.cred("selling_partner_id")
    }

    fn grant(&self) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", self.cred("refresh_token")),
            ("client_id", self.cred("client_id")),
            ("client_secret", self.cred("client_secret")),
        ]
    }

    /// POSTs a form to the LWA endpoint the banner names.
    async fn lwa(&self, form: &[(&str, String)]) -> (u16, Value) {
        let r = self
            .http
            .post(self.cred("lwa_endpoint"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> url::Url {
        let mut u = url::Url::parse(&format!("{}{path}", self.cred("endpoint"))).unwrap();
        if !query.is_empty() {
            let mut q = u.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        u
    }

    async fn send(
        &self,
        method: reqwest::Method,
        u: url::Url,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = self.http.request(method, u);
        if let Some(t) = token {
            req = req.header("x-amz-access-token", t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        self.send(
            reqwest::Method::GET,
            self.url(path, query),
            Some(&self.token),
            None,
        )
        .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Resp {
        self.send(method, self.url(path, query), Some(&self.token), Some(body))
            .await
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Every order (all datasets), paging `searchOrders` from 2000.
    async fn all_orders(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![
                ("createdAfter", "2000-01-01T00:00:00Z"),
                ("includedData", ALL_ORDER_DATA),
                ("maxResultsPerPage", "100"),
            ];
            if let Some(t) = &token {
                q.push(("paginationToken", t.as_str()));
            }
            let r = self.get("/orders/2026-01-01/orders", &q).await;
            assert_eq!(r.status, 200, "{}", r.body);
            out.extend(r.body["orders"].as_array().unwrap().iter().cloned());
            match r
                .body
                .pointer("/pagination/nextToken")
                .and_then(Value::as_str)
            {
                Some(t) => token = Some(t.to_owned()),
                None => return out,
            }
        }
    }

    async fn listing(&self, sku: &str, marketplaces: &str, data: &str) -> Resp {
        let path = format!("/listings/2021-08-01/items/{}/{}", self.seller(), enc(sku));
        self.get(
            &path,
            &[("marketplaceIds", marketplaces), ("includedData", data)],
        )
        .await
    }

    async fn all_listings(&self, marketplace: &str) -> Vec<Value> {
        let path = format!("/listings/2021-08-01/items/{}", self.seller());
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![
                ("marketplaceIds", marketplace),
                ("includedData", ALL_LISTING_DATA),
                ("pageSize", "20"),
                ("sortBy", "sku"),
                ("sortOrder", "ASC"),
            ];
            if let Some(t) = &token {
                q.push(("pageToken", t.as_str()));
            }
            let r = self.get(&path, &q).await;
            assert_eq!(r.status, 200, "{}", r.body);
            check_response(LISTINGS, "/listings/2021-08-01/items/{sellerId}", "get", &r);
            out.extend(r.body["items"].as_array().unwrap().iter().cloned());
            match r
                .body
                .pointer("/pagination/nextToken")
                .and_then(Value::as_str)
            {
                Some(t) => token = Some(t.to_owned()),
                None => return out,
            }
        }
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn order_status(o: &Value) -> &str {
    o.pointer("/fulfillment/fulfillmentStatus")
        .and_then(Value::as_str)
        .unwrap_or("")
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn the_models_own_examples_pass_the_strict_schemas() {
    if specs().is_none() {
        return;
    }
    let cases = [
        (ORDERS, "/orders/2026-01-01/orders", "get"),
        (ORDERS, "/orders/2026-01-01/orders/{orderId}", "get"),
        (
            LISTINGS,
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            "get",
        ),
        (LISTINGS, "/listings/2021-08-01/items/{sellerId}", "get"),
        (
            LISTINGS,
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            "patch",
        ),
        (SELLERS, "/sellers/v1/marketplaceParticipations", "get"),
    ];
    for (m, path, method) in cases {
        let resp = &model(m).unwrap()["paths"][path][method]["responses"]["200"];
        let mut examples: Vec<Value> = resp["examples"]["application/json"]
            .as_object()
            .map(|_| vec![resp["examples"]["application/json"].clone()])
            .unwrap_or_default();
        if let Some(st) = resp["x-amzn-api-sandbox"]["static"].as_array() {
            examples.extend(st.iter().map(|s| s["response"].clone()));
        }
        assert!(!examples.is_empty(), "{m} {method} {path} has examples");
        for e in examples {
            check(
                m,
                &format!("the model's example for {method} {path}"),
                response_schema(m, path, method, 200),
                &e,
            );
        }
    }
    // And the closing bites: an invented field fails.
    let bad = json!({"order": {"orderId": "1", "createdTime": "2025-01-01T00:00:00Z", "lastUpdatedTime": "2025-01-01T00:00:00Z", "salesChannel": {"channelName": "AMAZON"}, "orderItems": [], "invented": 1}});
    let result = std::panic::catch_unwind(|| {
        check(
            ORDERS,
            "bad",
            response_schema(ORDERS, "/orders/2026-01-01/orders/{orderId}", "get", 200),
            &bad,
        )
    });
    assert!(result.is_err(), "an invented field is refused");
}

#[tokio::test]
async fn banner_carries_what_the_connector_needs() {
    let sb = Sb::start().await;
    for k in [
        "refresh_token",
        "client_id",
        "client_secret",
        "selling_partner_id",
        "endpoint",
        "lwa_endpoint",
    ] {
        assert!(sb.creds[k].as_str().is_some_and(|v| !v.is_empty()), "{k}");
    }
    assert_eq!(sb.cred("endpoint"), sb.base);
    assert_eq!(
        sb.cred("lwa_endpoint"),
        format!("{}/auth/o2/token", sb.base)
    );
    assert!(sb.cred("refresh_token").starts_with("Atzr|"));
    assert!(sb
        .cred("client_id")
        .starts_with("amzn1.application-oa2-client."));
    assert!(sb.base.starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn lwa_exchanges_the_refresh_token_and_answers_its_errors() {
    let sb = Sb::start().await;
    let (status, body) = sb.lwa(&sb.grant()).await;
    assert_eq!(status, 200);
    assert!(body["access_token"].as_str().unwrap().starts_with("Atza|"));
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token"], sb.cred("refresh_token"));
    // JSON bodies are accepted too.
    let form: HashMap<&str, String> = sb.grant().into_iter().collect();
    let r = sb
        .http
        .post(sb.cred("lwa_endpoint"))
        .json(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let with = |k: &str, v: &str| -> Vec<(&'static str, String)> {
        sb.grant()
            .into_iter()
            .map(|(n, x)| if n == k { (n, v.to_owned()) } else { (n, x) })
            .collect()
    };
    let (status, body) = sb.lwa(&with("client_secret", "wrong")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = sb.lwa(&with("refresh_token", "Atzr|nope")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("refresh_token"));
    let (status, body) = sb.lwa(&with("grant_type", "authorization_code")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = sb
        .lwa(
            &sb.grant()
                .into_iter()
                .filter(|(k, _)| *k != "refresh_token")
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // A revoked refresh token, and transient LWA failures.
    let (s, _) = sb
        .control(
            reqwest::Method::PUT,
            "/__sandbox/settings",
            Some(json!({"refresh_token_valid": false})),
        )
        .await;
    assert_eq!(s, 200);
    let (status, body) = sb.lwa(&sb.grant()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/settings",
        Some(json!({"refresh_token_valid": true, "lwa_failures": 1})),
    )
    .await;
    let (status, body) = sb.lwa(&sb.grant()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("server_error"))
    );
    let (status, _) = sb.lwa(&sb.grant()).await;
    assert_eq!(status, 200);
    let (_, settings) = sb
        .control(reqwest::Method::GET, "/__sandbox/settings", None)
        .await;
    assert_eq!(settings["tokens_issued"], 4, "{settings}");
    let (s, _) = sb
        .control(
            reqwest::Method::PUT,
            "/__sandbox/settings",
            Some(json!({"nope": 1})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn the_access_token_is_checked_and_expires() {
    let sb = Sb::start().await;
    let path = "/sellers/v1/marketplaceParticipations";
    let no_token = sb
        .send(reqwest::Method::GET, sb.url(path, &[]), None, None)
        .await;
    assert_eq!(no_token.status, 403);
    assert_eq!(no_token.error_code(), "Unauthorized");
    check_response(SELLERS, path, "get", &no_token);
    assert!(no_token.header("x-amzn-RequestId").is_some());
    let bogus = sb
        .send(
            reqwest::Method::GET,
            sb.url(path, &[]),
            Some("Atza|forged"),
            None,
        )
        .await;
    assert_eq!(bogus.status, 403);
    assert!(bogus.body["errors"][0]["details"]
        .as_str()
        .unwrap()
        .contains("revoked, malformed or invalid"));
    // A bearer token (the wrong header) is not enough.
    let r = sb
        .http
        .get(sb.url(path, &[]))
        .bearer_auth(&sb.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(sb.get(path, &[]).await.status, 200);

    let (s, body) = sb
        .control(reqwest::Method::DELETE, "/__sandbox/tokens", None)
        .await;
    assert_eq!((s, body["expired"].as_u64()), (200, Some(1)));
    let expired = sb.get(path, &[]).await;
    assert_eq!(expired.status, 403);
    assert_eq!(
        expired.body["errors"][0]["details"],
        "The access token you provided has expired."
    );
    check_response(SELLERS, path, "get", &expired);

    // Short-lived tokens expire by themselves.
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/settings",
        Some(json!({"token_lifetime_seconds": 1})),
    )
    .await;
    let (_, t) = sb.lwa(&sb.grant()).await;
    assert_eq!(t["expires_in"], 1);
    let fresh = t["access_token"].as_str().unwrap();
    assert_eq!(
        sb.send(reqwest::Method::GET, sb.url(path, &[]), Some(fresh), None)
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = sb
        .send(reqwest::Method::GET, sb.url(path, &[]), Some(fresh), None)
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.to_string().contains("expired"));
}

#[tokio::test]
async fn search_orders_pages_every_order_as_the_model_says() {
    let sb = Sb::start().await;
    let path = "/orders/2026-01-01/orders";
    let mut seen = HashSet::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![
            ("createdAfter", "2000-01-01T00:00:00Z"),
            ("includedData", ALL_ORDER_DATA),
            ("maxResultsPerPage", "25"),
        ];
        if let Some(t) = &token {
            q.push(("paginationToken", t.as_str()));
        }
        let r = sb.get(path, &q).await;
        assert_eq!(r.status, 200, "{}", r.body);
        check_response(ORDERS, path, "get", &r);
        assert_eq!(
            r.header("x-amzn-RateLimit-Limit"),
            Some("1000000"),
            "rate limits are off by default"
        );
        assert!(r.header("x-amzn-RequestId").is_some());
        assert!(r.body["createdBefore"].is_string());
        let orders = r.body["orders"].as_array().unwrap();
        assert!(orders.len() <= 25);
        let mut last = String::new();
        for o in orders {
            let created = o["createdTime"].as_str().unwrap().to_owned();
            assert!(created >= last, "sorted by creation");
            last = created;
            assert!(
                seen.insert(o["orderId"].as_str().unwrap().to_owned()),
                "no order twice"
            );
        }
        pages += 1;
        match r
            .body
            .pointer("/pagination/nextToken")
            .and_then(Value::as_str)
        {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(pages, 3);

    // Without includedData only the core fields come.
    let r = sb
        .get(
            path,
            &[
                ("createdAfter", "2000-01-01T00:00:00Z"),
                ("maxResultsPerPage", "5"),
            ],
        )
        .await;
    check_response(ORDERS, path, "get", &r);
    for o in r.body["orders"].as_array().unwrap() {
        for k in [
            "buyer",
            "recipient",
            "proceeds",
            "fulfillment",
            "packages",
            "payment",
        ] {
            assert!(o.get(k).is_none(), "{k} only with includedData");
        }
        assert!(o["orderItems"][0]["product"]["sellerSku"].is_string());
        assert!(o["orderItems"][0].get("proceeds").is_none());
    }
}

async fn orders_with(sb: &Sb, q: &[(&str, &str)]) -> Vec<Value> {
    let path = "/orders/2026-01-01/orders";
    let mut q = q.to_vec();
    q.push(("maxResultsPerPage", "100"));
    let r = sb.get(path, &q).await;
    assert_eq!(r.status, 200, "{}", r.body);
    check_response(ORDERS, path, "get", &r);
    r.body["orders"].as_array().unwrap().clone()
}

async fn refused(sb: &Sb, q: &[(&str, &str)], needle: &str) {
    let path = "/orders/2026-01-01/orders";
    let r = sb.get(path, q).await;
    assert_eq!(r.status, 400, "{q:?}: {}", r.body);
    assert_eq!(r.error_code(), "InvalidInput");
    check_response(ORDERS, path, "get", &r);
    assert!(r.body.to_string().contains(needle), "{needle}: {}", r.body);
    assert!(r.header("x-amzn-RateLimit-Limit").is_some());
}

#[tokio::test]
async fn search_orders_filters_and_parameter_rules() {
    let sb = Sb::start().await;
    let path = "/orders/2026-01-01/orders";
    let all = sb.all_orders().await;
    let since = ("createdAfter", "2000-01-01T00:00:00Z");
    let unshipped = orders_with(
        &sb,
        &[
            since,
            ("fulfillmentStatuses", "UNSHIPPED,PARTIALLY_SHIPPED"),
            ("includedData", "FULFILLMENT"),
        ],
    )
    .await;
    assert!(!unshipped.is_empty());
    assert!(unshipped
        .iter()
        .all(|o| matches!(order_status(o), "UNSHIPPED" | "PARTIALLY_SHIPPED")));
    assert_eq!(
        unshipped.len(),
        all.iter()
            .filter(|o| matches!(order_status(o), "UNSHIPPED" | "PARTIALLY_SHIPPED"))
            .count()
    );
    let afn = orders_with(
        &sb,
        &[
            since,
            ("fulfilledBy", "AMAZON"),
            ("includedData", "FULFILLMENT"),
        ],
    )
    .await;
    assert!(
        !afn.is_empty()
            && afn
                .iter()
                .all(|o| o["fulfillment"]["fulfilledBy"] == "AMAZON")
    );
    let ca = orders_with(&sb, &[since, ("marketplaceIds", CA)]).await;
    assert!(!ca.is_empty() && ca.iter().all(|o| o["salesChannel"]["marketplaceId"] == CA));
    // Repeated array parameters work like comma-separated ones.
    let both = orders_with(
        &sb,
        &[since, ("marketplaceIds", CA), ("marketplaceIds", MX)],
    )
    .await;
    assert!(both.len() > ca.len());
    // lastUpdatedAfter with a bound in the past.
    let newest = all
        .iter()
        .map(|o| o["lastUpdatedTime"].as_str().unwrap())
        .max()
        .unwrap()
        .to_owned();
    let r = orders_with(&sb, &[("lastUpdatedAfter", newest.as_str())]).await;
    assert!(
        !r.is_empty()
            && r.iter()
                .all(|o| o["lastUpdatedTime"].as_str().unwrap() >= newest.as_str())
    );

    refused(&sb, &[], "Exactly one of createdAfter and lastUpdatedAfter").await;
    refused(
        &sb,
        &[since, ("lastUpdatedAfter", "2020-01-01T00:00:00Z")],
        "Exactly one",
    )
    .await;
    refused(
        &sb,
        &[since, ("lastUpdatedBefore", "2021-01-01T00:00:00Z")],
        "cannot be provided",
    )
    .await;
    let soon = (chrono::Utc::now() - chrono::Duration::seconds(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    refused(
        &sb,
        &[since, ("createdBefore", soon.as_str())],
        "two minutes",
    )
    .await;
    refused(&sb, &[("createdAfter", "yesterday")], "ISO 8601").await;
    refused(&sb, &[("createdAfter", "2999-01-01T00:00:00Z")], "past").await;
    refused(
        &sb,
        &[since, ("fulfillmentStatuses", "Shipped")],
        "fulfillmentStatuses",
    )
    .await;
    refused(&sb, &[since, ("fulfilledBy", "AFN")], "fulfilledBy").await;
    refused(
        &sb,
        &[since, ("marketplaceIds", "A2Q3Y263D00KWC")],
        "Invalid marketplaceId",
    )
    .await;
    refused(
        &sb,
        &[since, ("maxResultsPerPage", "101")],
        "maxResultsPerPage",
    )
    .await;
    refused(&sb, &[since, ("includedData", "ADDRESS")], "includedData").await;
    refused(
        &sb,
        &[since, ("paginationToken", "garbage")],
        "paginationToken",
    )
    .await;
    // A token belongs to its filters.
    let r = sb.get(path, &[since, ("maxResultsPerPage", "1")]).await;
    let t = r.body["pagination"]["nextToken"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &sb,
        &[
            since,
            ("fulfilledBy", "MERCHANT"),
            ("paginationToken", t.as_str()),
        ],
        "does not match",
    )
    .await;
    // maxResultsPerPage and includedData may change between pages.
    let r = sb
        .get(
            path,
            &[
                since,
                ("maxResultsPerPage", "7"),
                ("includedData", "BUYER"),
                ("paginationToken", t.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["orders"].as_array().unwrap().len(), 7);
    assert_eq!(r.body["orders"][0]["orderId"], all[1]["orderId"]);
}

#[tokio::test]
async fn get_order_answers_every_order_as_the_model_says() {
    let sb = Sb::start().await;
    let path = "/orders/2026-01-01/orders/{orderId}";
    let all = sb.all_orders().await;
    for o in &all {
        let id = o["orderId"].as_str().unwrap();
        let r = sb
            .get(
                &format!("/orders/2026-01-01/orders/{id}"),
                &[("includedData", ALL_ORDER_DATA)],
            )
            .await;
        assert_eq!(r.status, 200);
        check_response(ORDERS, path, "get", &r);
        assert_eq!(&r.body["order"], o, "getOrder and searchOrders agree");
        assert_eq!(r.header("x-amzn-RateLimit-Limit"), Some("1000000"));
    }
    let r = sb
        .get("/orders/2026-01-01/orders/111-0000000-0000000", &[])
        .await;
    assert_eq!((r.status, r.error_code()), (404, "NotFound"));
    check_response(ORDERS, path, "get", &r);
    let r = sb.get("/orders/2026-01-01/orders/not-an-order", &[]).await;
    assert_eq!((r.status, r.error_code()), (400, "InvalidInput"));
    check_response(ORDERS, path, "get", &r);

    // PII: none on pending or Amazon-fulfilled orders' street addresses; none at all
    // without the roles.
    let pending = all.iter().find(|o| order_status(o) == "PENDING").unwrap();
    assert!(pending.get("buyer").is_none());
    assert!(pending["recipient"]["deliveryAddress"]
        .get("addressLine1")
        .is_none());
    let afn = all
        .iter()
        .find(|o| o["fulfillment"]["fulfilledBy"] == "AMAZON" && order_status(o) == "SHIPPED")
        .unwrap();
    assert!(afn["recipient"]["deliveryAddress"]
        .get("addressLine1")
        .is_none());
    assert!(
        afn["buyer"].get("buyerEmail").is_none(),
        "buyer e-mail is for merchant-fulfilled orders only"
    );
    let mfn = all
        .iter()
        .find(|o| {
            o["fulfillment"]["fulfilledBy"] == "MERCHANT"
                && order_status(o) == "UNSHIPPED"
                && o.get("buyer").is_some()
        })
        .unwrap();
    assert!(mfn["recipient"]["deliveryAddress"]["addressLine1"].is_string());
    assert!(mfn["buyer"]["buyerEmail"]
        .as_str()
        .unwrap()
        .contains("@marketplace.amazon."));
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/settings",
        Some(json!({"pii_access": false})),
    )
    .await;
    let id = mfn["orderId"].as_str().unwrap();
    let r = sb
        .get(
            &format!("/orders/2026-01-01/orders/{id}"),
            &[("includedData", ALL_ORDER_DATA)],
        )
        .await;
    check_response(ORDERS, path, "get", &r);
    let o = &r.body["order"];
    assert!(o.get("buyer").is_none() || o["buyer"].get("buyerName").is_none());
    let addr = &o["recipient"]["deliveryAddress"];
    assert!(
        addr.get("name").is_none()
            && addr.get("addressLine1").is_none()
            && addr.get("phone").is_none()
    );
    assert!(addr["postalCode"].is_string());
}

/// The orders' money adds up, as a mapping relies on.
#[tokio::test]
async fn order_money_adds_up() {
    let sb = Sb::start().await;
    for o in sb.all_orders().await {
        let dec = |v: &Value| v["amount"].as_str().unwrap().parse::<f64>().unwrap();
        let grand = dec(&o["proceeds"]["grandTotal"]);
        let items: f64 = o["orderItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| dec(&i["proceeds"]["proceedsTotal"]))
            .sum();
        assert!(
            (grand - items).abs() < 0.005,
            "{}: {grand} vs {items}",
            o["orderId"]
        );
        for i in o["orderItems"].as_array().unwrap() {
            let unit = dec(&i["product"]["price"]["unitPrice"]);
            let qty = i["quantityOrdered"].as_f64().unwrap();
            let item = i["proceeds"]["breakdowns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["type"] == "ITEM")
                .unwrap();
            assert!((dec(&item["subtotal"]) - unit * qty).abs() < 0.005);
            let currency = &o["proceeds"]["grandTotal"]["currencyCode"];
            assert_eq!(
                &i["product"]["price"]["unitPrice"]["currencyCode"],
                currency
            );
        }
    }
}

#[tokio::test]
async fn confirm_shipment_takes_the_models_request_and_shows_the_package() {
    let sb = Sb::start().await;
    let path = "/orders/v0/orders/{orderId}/shipmentConfirmation";
    let all = sb.all_orders().await;
    let order = all
        .iter()
        .find(|o| {
            order_status(o) == "UNSHIPPED"
                && o["fulfillment"]["fulfilledBy"] == "MERCHANT"
                && o["orderItems"].as_array().unwrap().len() >= 2
        })
        .expect("a multi-item unshipped merchant order");
    let id = order["orderId"].as_str().unwrap();
    let market = order["salesChannel"]["marketplaceId"].as_str().unwrap();
    let items = order["orderItems"].as_array().unwrap();
    let first = &items[0];
    let url = format!("/orders/v0/orders/{id}/shipmentConfirmation");
    // The model's own sandbox example, with this order's ids.
    let example = model(ORDERS_V0).map(|m| {
        m["paths"][path]["post"]["responses"]["204"]["x-amzn-api-sandbox"]["static"][0]["request"]
            ["parameters"]["body"]["value"]
            .clone()
    });
    let mut body = example.unwrap_or_else(|| json!({
        "marketplaceId": US,
        "packageDetail": {"packageReferenceId": "1", "carrierCode": "FedEx", "carrierName": "FedEx", "shippingMethod": "FedEx Ground", "trackingNumber": "112345678", "shipDate": "2022-02-11T01:00:00.000Z", "orderItems": [{"orderItemId": "1", "quantity": 1}]}
    }));
    body["marketplaceId"] = json!(market);
    body["packageDetail"]["shipDate"] = json!(chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string());
    body["packageDetail"]["orderItems"] =
        json!([{"orderItemId": first["orderItemId"], "quantity": first["quantityOrdered"]}]);
    check_body(ORDERS_V0, path, "post", &body);

    let bad = |b: Value, needle: &'static str| {
        let sb = &sb;
        let url = url.clone();
        async move {
            let r = sb.call(reqwest::Method::POST, &url, &[], &b).await;
            assert_eq!(r.status, 400, "{needle}: {}", r.body);
            check_response(ORDERS_V0, path, "post", &r);
            assert!(r.body.to_string().contains(needle), "{needle}: {}", r.body);
        }
    };
    let mut b = body.clone();
    b["packageDetail"]["packageReferenceId"] = json!("PKG-1");
    bad(b, "positive number").await;
    let mut b = body.clone();
    b["marketplaceId"] = json!(if market == US { CA } else { US });
    bad(b, "does not belong").await;
    let mut b = body.clone();
    b["packageDetail"]["orderItems"][0]["quantity"] =
        json!(first["quantityOrdered"].as_u64().unwrap() + 1);
    bad(b, "exceeds").await;
    let mut b = body.clone();
    b["packageDetail"]["orderItems"][0]["orderItemId"] = json!("99999999999999");
    bad(b, "not part of order").await;
    let mut b = body.clone();
    b["packageDetail"]["carrierCode"] = json!("Other");
    b["packageDetail"]
        .as_object_mut()
        .unwrap()
        .remove("carrierName");
    bad(b, "carrierName").await;
    let mut b = body.clone();
    b["packageDetail"]["shipDate"] = json!("02/21/2022");
    bad(b, "shipDate").await;
    // A number where the model says string.
    let mut b = body.clone();
    b["packageDetail"]["packageReferenceId"] = json!(1);
    let r = sb.call(reqwest::Method::POST, &url, &[], &b).await;
    assert_eq!(r.status, 400);
    // Not JSON.
    let r = sb
        .http
        .post(sb.url(&url, &[]))
        .header("x-amz-access-token", &sb.token)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let r = sb.call(reqwest::Method::POST, &url, &[], &body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.body, Value::Null);
    assert!(r.header("x-amzn-RateLimit-Limit").is_some() && r.header("x-amzn-RequestId").is_some());
    let after = sb
        .get(
            &format!("/orders/2026-01-01/orders/{id}"),
            &[("includedData", "PACKAGES,FULFILLMENT")],
        )
        .await;
    check_response(ORDERS, "/orders/2026-01-01/orders/{orderId}", "get", &after);
    let o = &after.body["order"];
    assert_eq!(order_status(o), "PARTIALLY_SHIPPED");
    assert!(o["lastUpdatedTime"].as_str().unwrap() > order["lastUpdatedTime"].as_str().unwrap());
    let pkg = &o["packages"][0];
    assert_eq!(
        pkg["packageReferenceId"],
        body["packageDetail"]["packageReferenceId"]
    );
    assert_eq!(
        pkg["trackingNumber"],
        body["packageDetail"]["trackingNumber"]
    );
    assert_eq!(pkg["carrier"], body["packageDetail"]["carrierName"]);
    assert_eq!(
        pkg["shippingService"],
        body["packageDetail"]["shippingMethod"]
    );
    assert_eq!(pkg["packageItems"][0]["orderItemId"], first["orderItemId"]);
    assert_eq!(o["orderItems"][0]["fulfillment"]["quantityUnfulfilled"], 0);

    // The same reference again; then the rest of the order.
    bad(body.clone(), "already used").await;
    let mut rest = body.clone();
    rest["packageDetail"]["packageReferenceId"] = json!("2");
    rest["packageDetail"]["orderItems"] = json!(items[1..]
        .iter()
        .map(|i| json!({"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}))
        .collect::<Vec<_>>());
    check_body(ORDERS_V0, path, "post", &rest);
    assert_eq!(
        sb.call(reqwest::Method::POST, &url, &[], &rest)
            .await
            .status,
        204
    );
    let done = sb
        .get(
            &format!("/orders/2026-01-01/orders/{id}"),
            &[("includedData", "PACKAGES,FULFILLMENT")],
        )
        .await;
    assert_eq!(order_status(&done.body["order"]), "SHIPPED");
    assert_eq!(done.body["order"]["packages"].as_array().unwrap().len(), 2);
    let mut again = rest.clone();
    again["packageDetail"]["packageReferenceId"] = json!("3");
    bad(again, "status SHIPPED").await;

    // Amazon-fulfilled orders cannot be confirmed; unknown orders are 404.
    let afn = all
        .iter()
        .find(|o| o["fulfillment"]["fulfilledBy"] == "AMAZON")
        .unwrap();
    let mut b = body.clone();
    b["marketplaceId"] = afn["salesChannel"]["marketplaceId"].clone();
    b["packageDetail"]["orderItems"] =
        json!([{"orderItemId": afn["orderItems"][0]["orderItemId"], "quantity": 1}]);
    let r = sb
        .call(
            reqwest::Method::POST,
            &format!(
                "/orders/v0/orders/{}/shipmentConfirmation",
                afn["orderId"].as_str().unwrap()
            ),
            &[],
            &b,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.to_string().contains("fulfilled by Amazon"));
    let r = sb
        .call(
            reqwest::Method::POST,
            "/orders/v0/orders/111-0000000-0000000/shipmentConfirmation",
            &[],
            &body,
        )
        .await;
    assert_eq!(r.status, 404);
    check_response(ORDERS_V0, path, "post", &r);
}

#[tokio::test]
async fn listings_read_as_the_model_says_with_families_and_channels() {
    let sb = Sb::start().await;
    let seller = sb.seller();
    let items = sb.all_listings(US).await;
    assert!(items.len() > 25, "families add children: {}", items.len());
    let skus: Vec<&str> = items.iter().map(|i| i["sku"].as_str().unwrap()).collect();
    let mut sorted = skus.clone();
    sorted.sort();
    assert_eq!(skus, sorted, "sortBy=sku ASC");
    for i in &items {
        let sku = i["sku"].as_str().unwrap();
        let r = sb.listing(sku, US, ALL_LISTING_DATA).await;
        assert_eq!(r.status, 200);
        check_response(
            LISTINGS,
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            "get",
            &r,
        );
        assert_eq!(&r.body, i, "search and get agree for {sku}");
        assert_eq!(r.header("x-amzn-RateLimit-Limit"), Some("1000000"));
    }
    // A variation family: the parent names its children, which name it back.
    let parent = items
        .iter()
        .find(|i| i["relationships"][0]["relationships"][0]["childSkus"].is_array())
        .expect("a parent");
    let rel = &parent["relationships"][0]["relationships"][0];
    assert_eq!(rel["type"], "VARIATION");
    assert!(rel["variationTheme"]["theme"].is_string());
    let parent_sku = parent["sku"].as_str().unwrap();
    let children: Vec<&str> = rel["childSkus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(children.len() >= 2);
    assert!(
        parent
            .get("offers")
            .is_some_and(|o| o.as_array().unwrap().is_empty()),
        "parents are not offered"
    );
    let path = format!("/listings/2021-08-01/items/{seller}");
    let r = sb
        .get(
            &path,
            &[
                ("marketplaceIds", US),
                ("variationParentSku", parent_sku),
                ("includedData", "relationships,attributes"),
            ],
        )
        .await;
    check_response(LISTINGS, "/listings/2021-08-01/items/{sellerId}", "get", &r);
    let got: HashSet<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(got, children.iter().copied().collect::<HashSet<_>>());
    for c in r.body["items"].as_array().unwrap() {
        assert_eq!(
            c["relationships"][0]["relationships"][0]["parentSkus"][0],
            parent_sku
        );
        let theme = c["attributes"]["variation_theme"][0]["name"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase();
        for a in theme.split('/') {
            assert!(c["attributes"][a].is_array(), "child carries {a}");
        }
    }
    // Channels: merchant stock with a quantity; Amazon's without (its stock is in FBA).
    let channels = |i: &Value| -> Vec<String> {
        i["fulfillmentAvailability"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["fulfillmentChannelCode"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(items.iter().any(
        |i| channels(i) == ["DEFAULT"] && i["fulfillmentAvailability"][0]["quantity"].is_u64()
    ));
    assert!(items.iter().any(|i| channels(i) == ["AMAZON_NA"]
        && i["fulfillmentAvailability"][0].get("quantity").is_none()));
    assert!(
        items.iter().any(|i| channels(i).len() == 2),
        "some SKUs are both"
    );
    // Shipping-ready attributes, in several units, sometimes absent.
    let units: HashSet<&str> = items
        .iter()
        .filter_map(|i| i["attributes"]["item_weight"][0]["unit"].as_str())
        .collect();
    assert!(units.len() >= 4, "{units:?}");
    assert!(items
        .iter()
        .any(|i| i["attributes"].get("item_weight").is_none()
            && i["offers"].as_array().is_some_and(|o| !o.is_empty())));
    assert!(items
        .iter()
        .any(|i| i["attributes"]["item_dimensions"][0]["length"]["unit"] == "centimeters"));
    assert!(items
        .iter()
        .any(|i| i["attributes"]["item_dimensions"][0]["length"]["unit"] == "inches"));
    let codes: HashSet<&str> = items
        .iter()
        .filter_map(|i| {
            i["attributes"]["externally_assigned_product_identifier"][0]["type"].as_str()
        })
        .collect();
    assert_eq!(codes, ["ean", "upc", "isbn"].into_iter().collect());
    assert!(items.iter().any(|i| i["offers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["offerType"] == "B2B")));
    // Several marketplaces and currencies.
    let ca = sb.all_listings(CA).await;
    assert!(!ca.is_empty() && ca.len() < items.len());
    assert!(ca.iter().all(|i| i["offers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["price"]["currencyCode"] == "CAD")));
    let mx = sb.all_listings(MX).await;
    assert!(mx.iter().any(|i| i["offers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["price"]["currencyCode"] == "MXN")));

    // SKU filter, an unknown SKU, and parameter errors.
    let some: Vec<&str> = skus.iter().take(3).copied().collect();
    let joined = some.join(",");
    let r = sb
        .get(
            &path,
            &[
                ("marketplaceIds", US),
                ("identifiersType", "SKU"),
                ("identifiers", joined.as_str()),
            ],
        )
        .await;
    assert_eq!(r.body["numberOfResults"], 3);
    check_response(LISTINGS, "/listings/2021-08-01/items/{sellerId}", "get", &r);
    let r = sb.listing("NO-SUCH-SKU", US, "summaries").await;
    assert_eq!(r.status, 404);
    check_response(
        LISTINGS,
        "/listings/2021-08-01/items/{sellerId}/{sku}",
        "get",
        &r,
    );
    for q in [
        vec![("includedData", "summaries")],
        vec![("marketplaceIds", US), ("pageSize", "21")],
        vec![("marketplaceIds", US), ("identifiers", "X")],
        vec![
            ("marketplaceIds", US),
            ("identifiersType", "SKU"),
            ("identifiers", "X"),
            ("variationParentSku", "Y"),
        ],
        vec![("marketplaceIds", "A2Q3Y263D00KWC")],
        vec![("marketplaceIds", US), ("includedData", "everything")],
        vec![("marketplaceIds", US), ("pageToken", "nope")],
    ] {
        let r = sb.get(&path, &q).await;
        assert_eq!(r.status, 400, "{q:?}");
        check_response(LISTINGS, "/listings/2021-08-01/items/{sellerId}", "get", &r);
    }
    let r = sb
        .get(
            "/listings/2021-08-01/items/AOTHERSELLER",
            &[("marketplaceIds", US)],
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn listings_writes_patch_put_and_delete() {
    let sb = Sb::start().await;
    let seller = sb.seller();
    let items = sb.all_listings(US).await;
    let item_path = "/listings/2021-08-01/items/{sellerId}/{sku}";
    let mfn = items
        .iter()
        .find(|i| {
            i["fulfillmentAvailability"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["fulfillmentChannelCode"] == "DEFAULT")
        })
        .unwrap();
    let sku = mfn["sku"].as_str().unwrap();
    let product_type = mfn["productTypes"][0]["productType"].as_str().unwrap();
    let url = format!("/listings/2021-08-01/items/{seller}/{}", enc(sku));
    let patch = json!({
        "productType": product_type,
        "patches": [
            {"op": "replace", "path": "/attributes/purchasable_offer", "value": [{"marketplace_id": US, "currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 42.5}]}]}]},
            {"op": "replace", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]},
        ]
    });
    check_body(LISTINGS, item_path, "patch", &patch);
    // Validation only: nothing changes.
    let r = sb
        .call(
            reqwest::Method::PATCH,
            &url,
            &[
                ("marketplaceIds", US),
                ("mode", "VALIDATION_PREVIEW"),
                ("includedData", "identifiers,issues"),
            ],
            &patch,
        )
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("VALID")));
    check_response(LISTINGS, item_path, "patch", &r);
    assert_eq!(
        r.body["identifiers"][0]["asin"],
        mfn["summaries"][0]["asin"]
    );
    assert_eq!(&sb.listing(sku, US, ALL_LISTING_DATA).await.body, mfn);
    let r = sb
        .call(
            reqwest::Method::PATCH,
            &url,
            &[("marketplaceIds", US)],
            &patch,
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("ACCEPTED")),
        "{}",
        r.body
    );
    check_response(LISTINGS, item_path, "patch", &r);
    assert!(r.header("x-amzn-RateLimit-Limit").is_some());
    let after = sb
        .listing(sku, US, "offers,fulfillmentAvailability,summaries")
        .await;
    check_response(LISTINGS, item_path, "get", &after);
    let us_offer = after.body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["offerType"] == "B2C")
        .unwrap();
    assert_eq!(us_offer["price"]["amount"], "42.50");
    let default = after.body["fulfillmentAvailability"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["fulfillmentChannelCode"] == "DEFAULT")
        .unwrap();
    assert_eq!(default["quantity"], 7);
    assert!(
        after.body["summaries"][0]["lastUpdatedDate"]
            .as_str()
            .unwrap()
            > mfn["summaries"][0]["lastUpdatedDate"].as_str().unwrap()
    );

    // Refusals: a camelCase attribute, a nested path, a bad value, the wrong product type.
    let invalid = |p: Value, code: &'static str| {
        let sb = &sb;
        let url = url.clone();
        async move {
            let r = sb
                .call(reqwest::Method::PATCH, &url, &[("marketplaceIds", US)], &p)
                .await;
            assert_eq!(
                (r.status, r.body["status"].as_str()),
                (200, Some("INVALID")),
                "{}",
                r.body
            );
            check_response(LISTINGS, item_path, "patch", &r);
            assert_eq!(r.body["issues"][0]["code"], code, "{}", r.body);
        }
    };
    invalid(json!({"productType": product_type, "patches": [{"op": "replace", "path": "/attributes/fulfillmentAvailability", "value": [{"quantity": 1}]}]}), "90000900").await;
    invalid(json!({"productType": product_type, "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -1}]}]}), "4000001").await;
    invalid(json!({"productType": "NOT_IT", "patches": [{"op": "replace", "path": "/attributes/item_name", "value": [{"value": "x"}]}]}), "4000003").await;
    let r = sb.call(reqwest::Method::PATCH, &url, &[("marketplaceIds", US)], &json!({"productType": product_type, "patches": [{"op": "replace", "path": "/attributes/item_name/0/value", "value": ["x"]}]})).await;
    assert_eq!(r.status, 400);
    assert!(r
        .body
        .to_string()
        .contains("Invalid path provided in patch at index of 0."));
    check_response(LISTINGS, item_path, "patch", &r);
    let r = sb
        .call(
            reqwest::Method::PATCH,
            &url,
            &[("marketplaceIds", US)],
            &json!({"patches": []}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = sb.call(reqwest::Method::PATCH, &url, &[], &patch).await;
    assert_eq!(r.status, 400, "marketplaceIds is required");

    // Create a new child in a family with PUT.
    let parent = items
        .iter()
        .find(|i| i["relationships"][0]["relationships"][0]["childSkus"].is_array())
        .unwrap();
    let parent_sku = parent["sku"].as_str().unwrap();
    let theme = parent["attributes"]["variation_theme"][0]["name"]
        .as_str()
        .unwrap();
    let mut attributes = json!({
        "item_name": [{"value": "New variant", "language_tag": "en_US"}],
        "condition_type": [{"value": "new_new"}],
        "brand": [{"value": "Northbound"}],
        "parentage_level": [{"value": "child"}],
        "child_parent_sku_relationship": [{"child_relationship_type": "variation", "parent_sku": parent_sku}],
        "variation_theme": [{"name": theme}],
        "externally_assigned_product_identifier": [{"type": "ean", "value": "4006381333931"}],
        "item_weight": [{"unit": "grams", "value": 250}],
        "purchasable_offer": [{"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 19.99}]}]}],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
    });
    for a in theme.to_ascii_lowercase().split('/') {
        attributes[a] = json!([{"value": "XL"}]);
    }
    let put = json!({"productType": parent["productTypes"][0]["productType"], "requirements": "LISTING", "attributes": attributes});
    check_body(LISTINGS, item_path, "put", &put);
    let new_url = format!("/listings/2021-08-01/items/{seller}/NB-NEW-VARIANT-XL");
    let r = sb
        .call(
            reqwest::Method::PUT,
            &new_url,
            &[("marketplaceIds", US), ("includedData", "identifiers")],
            &put,
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("ACCEPTED")),
        "{}",
        r.body
    );
    check_response(LISTINGS, item_path, "put", &r);
    assert!(r.body["identifiers"][0]["asin"]
        .as_str()
        .unwrap()
        .starts_with("B0"));
    let created = sb.listing("NB-NEW-VARIANT-XL", US, ALL_LISTING_DATA).await;
    assert_eq!(created.status, 200);
    check_response(LISTINGS, item_path, "get", &created);
    assert_eq!(
        created.body["relationships"][0]["relationships"][0]["parentSkus"][0],
        parent_sku
    );
    assert_eq!(
        created.body["attributes"]["item_weight"][0]["marketplace_id"],
        US
    );
    assert_eq!(created.body["offers"][0]["price"]["amount"], "19.99");
    let p = sb.listing(parent_sku, US, "relationships").await;
    assert!(p.body["relationships"][0]["relationships"][0]["childSkus"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "NB-NEW-VARIANT-XL"));
    // Required attributes.
    let r = sb
        .call(
            reqwest::Method::PUT,
            &new_url,
            &[("marketplaceIds", US)],
            &json!({"productType": "SHIRT", "attributes": {"brand": [{"value": "x"}]}}),
        )
        .await;
    assert_eq!(r.body["status"], "INVALID");
    check_response(LISTINGS, item_path, "put", &r);
    let codes: Vec<&str> = r.body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["90220", "90220"]);

    // Delete it.
    let r = sb
        .send(
            reqwest::Method::DELETE,
            sb.url(&new_url, &[("marketplaceIds", US)]),
            Some(&sb.token),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("ACCEPTED"))
    );
    check_response(LISTINGS, item_path, "delete", &r);
    assert_eq!(
        sb.listing("NB-NEW-VARIANT-XL", US, "summaries")
            .await
            .status,
        404
    );
    let p = sb.listing(parent_sku, US, "relationships").await;
    assert!(!p.body["relationships"][0]["relationships"][0]["childSkus"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "NB-NEW-VARIANT-XL"));
    // An offer-only submission for an unknown SKU is accepted and lists nothing.
    let r = sb
        .call(
            reqwest::Method::PATCH,
            &format!("/listings/2021-08-01/items/{seller}/UNKNOWN-SKU"),
            &[("marketplaceIds", US)],
            &patch,
        )
        .await;
    assert_eq!(r.body["status"], "ACCEPTED");
    assert_eq!(sb.listing("UNKNOWN-SKU", US, "summaries").await.status, 404);
}

#[tokio::test]
async fn fba_inventory_and_sellers_answer_as_the_models_say() {
    let sb = Sb::start().await;
    let path = "/fba/inventory/v1/summaries";
    let q = [
        ("details", "true"),
        ("granularityType", "Marketplace"),
        ("granularityId", US),
        ("marketplaceIds", US),
    ];
    let r = sb.get(path, &q).await;
    assert_eq!(r.status, 200, "{}", r.body);
    check_response(FBA, path, "get", &r);
    let sums = r.body["payload"]["inventorySummaries"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!sums.is_empty());
    for s in &sums {
        let d = &s["inventoryDetails"];
        let total = d["fulfillableQuantity"].as_i64().unwrap()
            + d["inboundWorkingQuantity"].as_i64().unwrap()
            + d["inboundShippedQuantity"].as_i64().unwrap()
            + d["inboundReceivingQuantity"].as_i64().unwrap()
            + d["reservedQuantity"]["totalReservedQuantity"]
                .as_i64()
                .unwrap()
            + d["researchingQuantity"]["totalResearchingQuantity"]
                .as_i64()
                .unwrap()
            + d["unfulfillableQuantity"]["totalUnfulfillableQuantity"]
                .as_i64()
                .unwrap();
        assert_eq!(s["totalQuantity"].as_i64().unwrap(), total);
        let l = sb
            .listing(
                s["sellerSku"].as_str().unwrap(),
                US,
                "fulfillmentAvailability,summaries",
            )
            .await;
        assert!(l.body["fulfillmentAvailability"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["fulfillmentChannelCode"] == "AMAZON_NA"));
        assert_eq!(l.body["summaries"][0]["fnSku"], s["fnSku"]);
    }
    assert!(
        sums.iter()
            .any(|s| s["inventoryDetails"]["fulfillableQuantity"] == 0)
            || sums.len() < 5
    );
    let one = sums[0]["sellerSku"].as_str().unwrap();
    let r = sb
        .get(
            path,
            &[
                ("granularityType", "Marketplace"),
                ("granularityId", US),
                ("marketplaceIds", US),
                ("sellerSkus", one),
            ],
        )
        .await;
    check_response(FBA, path, "get", &r);
    let got = r.body["payload"]["inventorySummaries"].as_array().unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].get("inventoryDetails").is_none(),
        "details only when asked"
    );
    for bad in [
        vec![("granularityId", US), ("marketplaceIds", US)],
        vec![
            ("granularityType", "Country"),
            ("granularityId", US),
            ("marketplaceIds", US),
        ],
        vec![("granularityType", "Marketplace"), ("granularityId", US)],
        vec![
            ("granularityType", "Marketplace"),
            ("granularityId", CA),
            ("marketplaceIds", US),
        ],
    ] {
        let r = sb.get(path, &bad).await;
        assert_eq!(r.status, 400, "{bad:?}");
        check_response(FBA, path, "get", &r);
    }

    let r = sb.get("/sellers/v1/marketplaceParticipations", &[]).await;
    check_response(SELLERS, "/sellers/v1/marketplaceParticipations", "get", &r);
    let p = r.body["payload"].as_array().unwrap();
    let participating: Vec<(&str, &str)> = p
        .iter()
        .filter(|x| x["participation"]["isParticipating"] == true)
        .map(|x| {
            (
                x["marketplace"]["id"].as_str().unwrap(),
                x["marketplace"]["defaultCurrencyCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(participating, [(US, "USD"), (CA, "CAD"), (MX, "MXN")]);
    assert!(
        p.iter()
            .any(|x| x["participation"]["isParticipating"] == false),
        "one registered, not participating"
    );
    assert_eq!(r.header("x-amzn-RateLimit-Limit"), Some("1000000"));
    let r = sb.get("/sellers/v1/account", &[]).await;
    check_response(SELLERS, "/sellers/v1/account", "get", &r);
}

#[tokio::test]
async fn rate_limits_follow_the_usage_plans_scaled() {
    let sb = Sb::with(SandboxOptions {
        rate_limits: true,
        ..Default::default()
    })
    .await;
    let path = "/orders/2026-01-01/orders";
    let q = [
        ("createdAfter", "2025-05-31T00:00:00Z"),
        ("maxResultsPerPage", "1"),
    ];
    let r = sb.get(path, &q).await;
    assert_eq!(
        r.header("x-amzn-RateLimit-Limit"),
        Some("0.0056"),
        "the documented plan"
    );
    // Scale 1000: 5.6 requests/s, burst 20.
    let (s, state) = sb
        .control(
            reqwest::Method::PUT,
            "/__sandbox/rate_limits",
            Some(json!({"scale": 1000})),
        )
        .await;
    assert_eq!(s, 200, "{state}");
    assert_eq!(state["operations"]["searchOrders"]["burst"], 20);
    let mut ok = 0;
    let mut limited = None;
    for _ in 0..25 {
        let r = sb.get(path, &q).await;
        match r.status {
            200 => {
                ok += 1;
                assert_eq!(r.header("x-amzn-RateLimit-Limit"), Some("5.6"));
            }
            429 => {
                limited = Some(r);
                break;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(ok, 20, "the burst");
    let r = limited.expect("a 429 after the burst");
    assert_eq!(r.error_code(), "QuotaExceeded");
    check_response(ORDERS, path, "get", &r);
    assert!(r.header("x-amzn-RequestId").is_some());
    assert!(
        r.header("x-amzn-RateLimit-Limit").is_none(),
        "the model declares none on 429"
    );
    // Another operation has its own bucket.
    assert_eq!(
        sb.get("/sellers/v1/marketplaceParticipations", &[])
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sb.get(path, &q).await.status, 200, "refilled at 5.6/s");
    let (_, state) = sb
        .control(reqwest::Method::GET, "/__sandbox/rate_limits", None)
        .await;
    assert_eq!(state["operations"]["searchOrders"]["throttled"], 1);
    assert_eq!(state["operations"]["searchOrders"]["requests"], 22);
    assert!(
        (state["operations"]["searchOrders"]["effective_rate"]
            .as_f64()
            .unwrap()
            - 5.6)
            .abs()
            < 1e-9
    );
    // A custom plan; then off.
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/rate_limits",
        Some(json!({"scale": 1, "operations": {"getOrder": {"rate": 0.001, "burst": 1}}})),
    )
    .await;
    let o = "/orders/2026-01-01/orders/111-0000000-0000000";
    assert_eq!(sb.get(o, &[]).await.status, 404);
    assert_eq!(sb.get(o, &[]).await.status, 429);
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/rate_limits",
        Some(json!({"enabled": false})),
    )
    .await;
    for _ in 0..5 {
        let r = sb.get(o, &[]).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.header("x-amzn-RateLimit-Limit"), Some("1000000"));
    }
    let (s, _) = sb
        .control(
            reqwest::Method::PUT,
            "/__sandbox/rate_limits",
            Some(json!({"operations": {"nope": {}}})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = sb
        .control(
            reqwest::Method::PUT,
            "/__sandbox/rate_limits",
            Some(json!({"scale": 0})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn faults_come_in_amazon_shape_and_spare_lwa() {
    let sb = Sb::start().await;
    let path = "/sellers/v1/marketplaceParticipations";
    let (s, _) = sb
        .control(
            reqwest::Method::PUT,
            "/__sandbox/faults",
            Some(json!({"kind": "server_error", "status": 503, "count": 1})),
        )
        .await;
    assert_eq!(s, 200);
    // The token endpoint is another host: not faulted.
    assert_eq!(sb.lwa(&sb.grant()).await.0, 200);
    let r = sb.get(path, &[]).await;
    assert_eq!((r.status, r.error_code()), (503, "ServiceUnavailable"));
    check_response(SELLERS, path, "get", &r);
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/faults",
        Some(json!({"kind": "server_error", "status": 500, "count": 1})),
    )
    .await;
    let r = sb.get(path, &[]).await;
    assert_eq!((r.status, r.error_code()), (500, "InternalFailure"));
    check_response(SELLERS, path, "get", &r);
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/faults",
        Some(json!({"kind": "rate_limited", "count": 1})),
    )
    .await;
    let r = sb.get(path, &[]).await;
    assert_eq!((r.status, r.error_code()), (429, "QuotaExceeded"));
    check_response(SELLERS, path, "get", &r);
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/faults",
        Some(json!({"kind": "truncated", "count": 1})),
    )
    .await;
    let r = sb
        .http
        .get(sb.url(path, &[]))
        .header("x-amz-access-token", &sb.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    assert_eq!(sb.get(path, &[]).await.status, 200);
    let (_, stats) = sb
        .control(reqwest::Method::GET, "/__sandbox/stats", None)
        .await;
    assert_eq!(stats["faults_injected"], 4);
    // Held requests wait for the release.
    sb.control(
        reqwest::Method::PUT,
        "/__sandbox/hold",
        Some(json!({"count": 1})),
    )
    .await;
    let held = {
        let http = sb.http.clone();
        let u = sb.url(path, &[]);
        let t = sb.token.clone();
        tokio::spawn(async move {
            http.get(u)
                .header("x-amz-access-token", t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    for _ in 0..100 {
        let (_, h) = sb
            .control(reqwest::Method::GET, "/__sandbox/hold", None)
            .await;
        if h["waiting"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sb.control(reqwest::Method::DELETE, "/__sandbox/hold", None)
        .await;
    assert_eq!(held.await.unwrap(), 200);
}

#[tokio::test]
async fn unknown_paths_and_the_deprecated_v0_reads_are_404() {
    let sb = Sb::start().await;
    for p in [
        "/orders/v0/orders",
        "/orders/v0/orders/111-1111111-1111111",
        "/orders/v0/orders/111-1111111-1111111/orderItems",
        "/orders/v0/orders/111-1111111-1111111/address",
        "/nothing",
    ] {
        let r = sb.get(p, &[("MarketplaceIds", US)]).await;
        assert_eq!((r.status, r.error_code()), (404, "NotFound"), "{p}");
    }
}

#[tokio::test]
async fn simulated_seller_central_changes_show_in_polls() {
    let sb = Sb::start().await;
    let path = "/orders/2026-01-01/orders";
    let first = sb
        .get(
            path,
            &[
                ("lastUpdatedAfter", "2000-01-01T00:00:00Z"),
                ("maxResultsPerPage", "1"),
            ],
        )
        .await;
    let bound = first.body["lastUpdatedBefore"].as_str().unwrap().to_owned();
    let poll = |since: String| {
        let sb = &sb;
        async move {
            let r = sb
                .get(
                    path,
                    &[
                        ("lastUpdatedAfter", since.as_str()),
                        ("includedData", "FULFILLMENT,BUYER,PROCEEDS"),
                    ],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            check_response(ORDERS, path, "get", &r);
            r
        }
    };
    assert!(
        poll(bound.clone()).await.body["orders"]
            .as_array()
            .unwrap()
            .is_empty(),
        "seeded data is older"
    );
    let (s, made) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "order.created"})),
        )
        .await;
    assert_eq!(s, 200, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let r = poll(bound.clone()).await;
    let orders = r.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["orderId"], id.as_str());
    assert_eq!(order_status(&orders[0]), "UNSHIPPED");
    let next = r.body["lastUpdatedBefore"].as_str().unwrap().to_owned();

    // An update to a pending order: it is paid and shows again.
    let all = sb.all_orders().await;
    let pending = all
        .iter()
        .find(|o| order_status(o) == "PENDING" && o["fulfillment"]["fulfilledBy"] == "MERCHANT")
        .unwrap();
    let pid = pending["orderId"].as_str().unwrap();
    let (s, _) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "order.updated", "id": pid})),
        )
        .await;
    assert_eq!(s, 200);
    let r = poll(next).await;
    let changed: Vec<&Value> = r.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["orderId"] == pid)
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(order_status(changed[0]), "UNSHIPPED");
    assert!(changed[0]["buyer"]["buyerName"].is_string());
    let (s, _) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "order.updated", "id": "111-0000000-0000000"})),
        )
        .await;
    assert_eq!(s, 404);

    // Listings: created, renamed, deleted.
    let seller = sb.seller();
    let lpath = format!("/listings/2021-08-01/items/{seller}");
    let (_, made) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "product.created"})),
        )
        .await;
    let sku = made["id"].as_str().unwrap().to_owned();
    let r = sb
        .get(
            &lpath,
            &[("marketplaceIds", US), ("lastUpdatedAfter", bound.as_str())],
        )
        .await;
    check_response(LISTINGS, "/listings/2021-08-01/items/{sellerId}", "get", &r);
    let recent: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert!(recent.contains(&sku.as_str()), "{recent:?}");
    // The new order took its quantity off a merchant-fulfilled listing, which shows too.
    assert!(recent.len() >= 2, "{recent:?}");
    let (s, _) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "product.updated", "id": sku})),
        )
        .await;
    assert_eq!(s, 200);
    let l = sb.listing(&sku, US, "summaries").await;
    assert!(l.body["summaries"][0]["itemName"]
        .as_str()
        .unwrap()
        .ends_with("(updated)"));
    let (s, _) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "product.deleted", "id": sku})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(sb.listing(&sku, US, "summaries").await.status, 404);
    let (s, _) = sb
        .control(
            reqwest::Method::POST,
            "/__sandbox/simulate",
            Some(json!({"event": "customer.created"})),
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn seeded_data_is_deterministic_and_covers_what_the_issue_lists() {
    let a = Sb::start().await;
    let b = Sb::start().await;
    let orders = a.all_orders().await;
    assert_eq!(orders, b.all_orders().await, "same seed, same orders");
    assert_eq!(a.cred("refresh_token"), b.cred("refresh_token"));
    assert_eq!(a.all_listings(US).await, b.all_listings(US).await);
    let c = Sb::with(SandboxOptions {
        seed: 7,
        ..Default::default()
    })
    .await;
    assert_ne!(orders, c.all_orders().await);

    let statuses: HashSet<&str> = orders.iter().map(order_status).collect();
    for s in [
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    ] {
        assert!(statuses.contains(s), "{s}");
    }
    for by in ["MERCHANT", "AMAZON"] {
        for s in ["PENDING", "SHIPPED", "CANCELLED"] {
            assert!(
                orders
                    .iter()
                    .any(|o| o["fulfillment"]["fulfilledBy"] == by && order_status(o) == s),
                "{by} {s}"
            );
        }
    }
    let currencies: HashSet<&str> = orders
        .iter()
        .map(|o| {
            o["proceeds"]["grandTotal"]["currencyCode"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(currencies, ["USD", "CAD", "MXN"].into_iter().collect());
    let business = orders
        .iter()
        .find(|o| {
            o["programs"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x == "AMAZON_BUSINESS"))
        })
        .expect("a business order");
    assert!(
        business["buyer"]["buyerCompanyName"].is_string()
            && business["buyer"]["buyerPurchaseOrderNumber"].is_string()
    );
    assert!(
        orders.iter().any(|o| o.get("buyer").is_none()),
        "orders without PII"
    );
    assert!(
        orders
            .iter()
            .any(|o| o["orderItems"].as_array().unwrap().len() > 1),
        "multi-item"
    );
    assert!(
        orders
            .iter()
            .any(|o| o["orderItems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["quantityOrdered"].as_u64().unwrap() > 1)),
        "multi-quantity"
    );
    let types: HashSet<&str> = orders
        .iter()
        .flat_map(|o| {
            o["proceeds"]["breakdowns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["type"].as_str().unwrap())
        })
        .collect();
    for t in ["ITEM", "SHIPPING", "TAX", "DISCOUNT", "GIFT_WRAP"] {
        assert!(types.contains(t), "{t}");
    }
    assert!(orders.iter().any(|o| o["orderItems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["promotion"]["breakdowns"][0]["promotionId"].is_string())));
    let levels: HashSet<&str> = orders
        .iter()
        .map(|o| {
            o["fulfillment"]["fulfillmentServiceLevel"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(levels.len() >= 3, "{levels:?}");
    assert!(orders
        .iter()
        .any(|o| o["salesChannel"]["channelName"] == "NON_AMAZON"));
    assert!(orders
        .iter()
        .any(|o| o["packages"].as_array().is_some_and(|p| !p.is_empty())));
    let methods: HashSet<&str> = orders
        .iter()
        .filter_map(|o| o["payment"]["paymentExecutions"][0]["paymentMethod"].as_str())
        .collect();
    assert!(methods.len() >= 2, "{methods:?}");

    // The seeded orders helper matches what the API serves.
    let seeded = cartgate_amazon::sandbox::seeded_orders(60, 42);
    assert_eq!(seeded.len(), 60);
    assert_eq!(
        seeded.iter().map(|o| &o["orderId"]).collect::<HashSet<_>>(),
        orders.iter().map(|o| &o["orderId"]).collect::<HashSet<_>>()
    );
    for o in &seeded {
        check(
            ORDERS,
            "a seeded order",
            Some(json!({"$ref": "#/definitions/Order"})),
            o,
        );
    }
    for l in cartgate_amazon::sandbox::seeded_listings(25, 42) {
        check(
            LISTINGS,
            "a seeded listing",
            Some(json!({"$ref": "#/definitions/Item"})),
            &l,
        );
    }
}

/// A big store (as the bulk-read test uses) pages through every order.
#[tokio::test]
async fn two_thousand_orders_page_through() {
    let sb = Sb::with(SandboxOptions {
        orders: 2000,
        ..Default::default()
    })
    .await;
    let all = sb.all_orders().await;
    assert_eq!(all.len(), 2000);
    assert_eq!(
        all.iter()
            .map(|o| &o["orderId"])
            .collect::<HashSet<_>>()
            .len(),
        2000
    );
}

//! The sandbox against WooCommerce's official description (../shared/platform-specs):
//! the objects it serves carry every top-level field of the documented samples with the
//! same JSON types, and the routes and list parameters it serves exist in the official
//! wc/v3 route index. Skips, saying so, when the specs folder is absent.

use std::path::PathBuf;

use cartgate_connector::sandbox::SandboxOptions;
use serde_json::Value;

fn specs() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/platform-specs/woocommerce");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/platform-specs not found");
        None
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Sandbox {
    base: String,
    key: String,
    secret: String,
    _handle: cartgate_connector::sandbox::SandboxHandle,
}

impl Sandbox {
    async fn start() -> Sandbox {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let h = cartgate_woocommerce::sandbox::start(l, SandboxOptions::default())
            .await
            .unwrap();
        let c = &h.banner.credentials;
        Sandbox {
            base: h.banner.base_url.clone(),
            key: c["consumer_key"].as_str().unwrap().into(),
            secret: c["consumer_secret"].as_str().unwrap().into(),
            _handle: h,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}/wp-json/wc/v3{path}", self.base))
            .basic_auth(&self.key, Some(&self.secret))
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }
}

/// Every key of the documented sample is served, with the same type (null on either side
/// is accepted: the docs and real stores both leave optional values null).
fn assert_shape(what: &str, sample: &Value, served: &Value) {
    let sample = sample.as_object().unwrap();
    let served = served
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object"));
    for (k, v) in sample {
        let Some(got) = served.get(k) else {
            panic!("{what}: field {k} of the documented object is missing");
        };
        if !v.is_null() && !got.is_null() {
            assert_eq!(
                kind(v),
                kind(got),
                "{what}.{k}: documented {v}, served {got}"
            );
        }
    }
}

#[tokio::test]
async fn served_objects_have_the_documented_fields_and_types() {
    let Some(dir) = specs() else { return };
    let s = Sandbox::start().await;
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("samples").join(f)).unwrap())
            .unwrap()
    };
    let orders = s.json("/orders?per_page=100").await;
    let sample = read("orders/03-retrieve-an-order.response.json");
    for o in orders.as_array().unwrap() {
        assert_shape("order", &sample, o);
        for line in o["line_items"].as_array().unwrap() {
            assert_shape("order.line_items[]", &sample["line_items"][0], line);
        }
        assert_shape("order.billing", &sample["billing"], &o["billing"]);
        assert_shape("order.shipping", &sample["shipping"], &o["shipping"]);
    }
    let products = s.json("/products?per_page=100").await;
    let sample = read("products/05-retrieve-a-product.response.json");
    for p in products.as_array().unwrap() {
        assert_shape("product", &sample, p);
    }
    let variable = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "variable")
        .unwrap();
    let vars = s
        .json(&format!("/products/{}/variations", variable["id"]))
        .await;
    let sample = read("product-variations/03-retrieve-a-product-variation.response.json");
    for v in vars.as_array().unwrap() {
        assert_shape("variation", &sample, v);
    }
    let sample = read("customers/03-retrieve-a-customer.response.json");
    for c in s.json("/customers?per_page=100").await.as_array().unwrap() {
        assert_shape("customer", &sample, c);
    }
    let sample = read("product-categories/03-retrieve-a-product-category.response.json");
    for c in s
        .json("/products/categories?per_page=100")
        .await
        .as_array()
        .unwrap()
    {
        assert_shape("category", &sample, c);
    }
}

#[tokio::test]
async fn routes_and_list_parameters_exist_in_the_official_index() {
    let Some(dir) = specs() else { return };
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("wc-v3-route-index.json")).unwrap())
            .unwrap();
    let routes = index["routes"].as_object().unwrap();
    let id = "(?P<id>[\\d]+)";
    for (route, method) in [
        ("/wc/v3/orders".to_owned(), "GET"),
        (format!("/wc/v3/orders/{id}"), "GET"),
        (format!("/wc/v3/orders/{id}"), "PUT"),
        (
            "/wc/v3/orders/(?P<order_id>[\\d]+)/notes".to_owned(),
            "POST",
        ),
        ("/wc/v3/orders/(?P<order_id>[\\d]+)/notes".to_owned(), "GET"),
        ("/wc/v3/products".to_owned(), "GET"),
        ("/wc/v3/products".to_owned(), "POST"),
        (format!("/wc/v3/products/{id}"), "PUT"),
        (
            "/wc/v3/products/(?P<product_id>[\\d]+)/variations".to_owned(),
            "GET",
        ),
        (
            format!("/wc/v3/products/(?P<product_id>[\\d]+)/variations/{id}"),
            "PUT",
        ),
        ("/wc/v3/products/categories".to_owned(), "GET"),
        (format!("/wc/v3/products/categories/{id}"), "GET"),
        ("/wc/v3/customers".to_owned(), "GET"),
        (format!("/wc/v3/customers/{id}"), "GET"),
        ("/wc/v3/system_status".to_owned(), "GET"),
    ] {
        let r = routes
            .get(&route)
            .unwrap_or_else(|| panic!("{route} is not an official route"));
        assert!(
            r["methods"].as_array().unwrap().iter().any(|m| m == method),
            "{method} {route} is not official"
        );
    }
    // The list parameters the connector sends are documented args of their routes.
    let args = |route: &str| -> Vec<String> {
        routes[route]["endpoints"][0]["args"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    for (route, params) in [
        (
            "/wc/v3/orders",
            &[
                "page", "per_page", "offset", "order", "orderby", "after", "before", "status",
            ][..],
        ),
        (
            "/wc/v3/products",
            &[
                "page", "per_page", "offset", "order", "orderby", "after", "before", "status",
                "sku",
            ][..],
        ),
        (
            "/wc/v3/customers",
            &["page", "per_page", "offset", "order", "orderby", "email"][..],
        ),
        (
            "/wc/v3/products/categories",
            &["page", "per_page", "order", "orderby"][..],
        ),
    ] {
        let have = args(route);
        for p in params {
            assert!(
                have.iter().any(|h| h == p),
                "{route} has no documented arg {p}"
            );
        }
    }
}

#[tokio::test]
async fn documented_auth_paging_and_errors() {
    let s = Sandbox::start().await;
    // HTTP Basic and the query-string keys both authenticate.
    assert!(s.get("/orders").await.status().is_success());
    let q = reqwest::get(format!(
        "{}/wp-json/wc/v3/orders?consumer_key={}&consumer_secret={}",
        s.base, s.key, s.secret
    ))
    .await
    .unwrap();
    assert!(q.status().is_success());
    let bad = reqwest::Client::new()
        .get(format!("{}/wp-json/wc/v3/orders", s.base))
        .basic_auth(&s.key, Some("cs_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert!(body["code"].is_string() && body["message"].is_string());
    assert_eq!(body["data"]["status"], 401);

    let r = s.get("/orders?per_page=7").await;
    let total: usize = r.headers()["x-wp-total"].to_str().unwrap().parse().unwrap();
    let pages: usize = r.headers()["x-wp-totalpages"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pages, total.div_ceil(7));
    assert!(r.headers()["link"]
        .to_str()
        .unwrap()
        .contains("rel=\"next\""));
    assert_eq!(
        r.json::<Value>().await.unwrap().as_array().unwrap().len(),
        7
    );
    let r = s.get("/orders?per_page=101").await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "rest_invalid_param"
    );
    let r = s.get("/orders/123456789").await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "woocommerce_rest_shop_order_invalid_id"
    );
    let r = s.get("/nothing").await;
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "rest_no_route");

    // Filters narrow.
    let completed = s.json("/orders?status=completed&per_page=100").await;
    assert!(completed
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "completed"));
    let all = s.json("/orders?per_page=100").await;
    assert!(completed.as_array().unwrap().len() < all.as_array().unwrap().len());
    let statuses: std::collections::HashSet<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect();
    for st in [
        "pending",
        "processing",
        "on-hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
    ] {
        assert!(statuses.contains(st), "seeded data lacks {st}");
    }
}

#[tokio::test]
async fn the_same_seed_serves_the_same_data() {
    let a = Sandbox::start().await;
    let b = Sandbox::start().await;
    for path in [
        "/orders?per_page=100",
        "/products?per_page=100",
        "/customers?per_page=100",
    ] {
        let (x, y) = (a.json(path).await, b.json(path).await);
        // Links carry each sandbox's own address; everything else is identical.
        let strip = |v: &Value| v.to_string().replace(&a.base, "").replace(&b.base, "");
        assert_eq!(strip(&x), strip(&y), "{path}");
    }
}

//! Normalization cost: mapping a page of platform objects to the unified model, beside the
//! cost of merely parsing the same JSON, so the overhead can be stated as a ratio.
//!
//! `cargo bench --bench normalize`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

/// One realistic wc/v3 order (two lines, a coupon, addresses), shared with the mapping tests.
const WC_ORDER: &str = include_str!("../connectors/woocommerce/tests/fixtures/order_normal.json");

/// A page of 100 wc orders as `GET /wc/v3/orders?per_page=100` returns it: the fixture with
/// ids, numbers and line ids varied so no two objects are the same.
fn woocommerce_orders_page() -> String {
    let base: Value = serde_json::from_str(WC_ORDER).expect("the fixture is JSON");
    let page: Vec<Value> = (0..100u64)
        .map(|i| {
            let mut o = base.clone();
            let id = 5000 + i;
            o["id"] = json!(id);
            o["number"] = json!(id.to_string());
            if let Some(lines) = o["line_items"].as_array_mut() {
                for (n, line) in lines.iter_mut().enumerate() {
                    line["id"] = json!(id * 10 + n as u64);
                }
            }
            o
        })
        .collect();
    serde_json::to_string(&page).expect("serializes")
}

/// Parse-only beside parse-and-map for one page of `platform` orders.
fn bench_page<T>(c: &mut Criterion, platform: &str, page: &str, map: impl Fn(&Value) -> T) {
    let mut g = c.benchmark_group(platform);
    g.throughput(Throughput::Elements(100));
    // Baseline: what any client pays just to read the page.
    g.bench_function("orders_page_100_parse_only", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(black_box(page)).expect("parses");
            black_box(v)
        })
    });
    // Parse plus mapping every order: the gateway's work per upstream page.
    g.bench_function("orders_page_100", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(black_box(page)).expect("parses");
            let orders: Vec<T> = v.as_array().expect("a list").iter().map(&map).collect();
            black_box(orders)
        })
    });
    g.finish();
}

fn woocommerce(c: &mut Criterion) {
    bench_page(c, "woocommerce", &woocommerce_orders_page(), |o| {
        cartgate_woocommerce::mapping::order(o).expect("maps")
    });
}

/// 100 seeded orders of the Magento sandbox (`items` of `GET /V1/orders`): every state,
/// guests, configurable lines, several currencies.
fn magento(c: &mut Criterion) {
    let page = serde_json::to_string(&cartgate_magento::sandbox::seeded_orders(100, 42))
        .expect("serializes");
    bench_page(c, "magento", &page, |o| {
        cartgate_magento::mapping::order(o).expect("maps")
    });
}

/// 100 seeded order nodes of the Shopify sandbox, as the GraphQL `orders` connection returns
/// them: partial fulfilments, refunds, guests, several presentment currencies.
fn shopify(c: &mut Criterion) {
    let page = serde_json::to_string(&cartgate_shopify::sandbox::seeded_order_nodes(42, 100))
        .expect("serializes");
    bench_page(c, "shopify", &page, |o| {
        cartgate_shopify::mapping::order(o).expect("maps")
    });
}

criterion_group!(benches, woocommerce, magento, shopify);
criterion_main!(benches);

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

fn woocommerce(c: &mut Criterion) {
    let page = woocommerce_orders_page();
    let mut g = c.benchmark_group("woocommerce");
    g.throughput(Throughput::Elements(100));
    // Baseline: what any client pays just to read the page.
    g.bench_function("orders_page_100_parse_only", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(black_box(&page)).expect("parses");
            black_box(v)
        })
    });
    // Parse plus mapping every order: the gateway's work per upstream page.
    g.bench_function("orders_page_100", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(black_box(&page)).expect("parses");
            let orders: Vec<_> = v
                .as_array()
                .expect("a list")
                .iter()
                .map(|o| cartgate_woocommerce::mapping::order(o).expect("maps"))
                .collect();
            black_box(orders)
        })
    });
    g.finish();
}

criterion_group!(benches, woocommerce);
criterion_main!(benches);

//! Prints the GraphQL request body the connector sends to read one order, for load tests
//! that call the sandbox directly with exactly what the gateway sends
//! (`cargo run -q -p cartgate-shopify --example order_request -- 1001`).

fn main() {
    let id = std::env::args().nth(1).unwrap_or_else(|| "1".into());
    let body = serde_json::json!({
        "query": cartgate_shopify::queries::ORDER,
        "operationName": "CartgateOrder",
        // The nested page sizes the connector uses for a single order.
        "variables": cartgate_shopify::one_order_variables(&format!("gid://shopify/Order/{id}")),
    });
    println!("{body}");
}

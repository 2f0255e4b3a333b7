//! Orders, products, customers, categories and the proxy: thin handlers that validate
//! input, call the store's connector session and wrap pages with signed cursors.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use cartgate_connector::model::*;
use cartgate_connector::util::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiJson, ApiPath, ApiQuery, Scope};
use super::lists::*;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Produced;
use crate::state::AppState;

macro_rules! list_type {
    ($name:ident, $item:ty) => {
        /// One page; pass `next_cursor` as `cursor` for the next (null on the last page).
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            pub next_cursor: Option<String>,
        }
    };
}
list_type!(OrderList, Order);
list_type!(ProductList, Product);
list_type!(CustomerList, Customer);
list_type!(CategoryList, Category);

#[derive(Serialize, ToSchema)]
pub struct Count {
    pub count: u64,
}

#[derive(Deserialize)]
pub struct StorePath {
    pub store_id: String,
}
#[derive(Deserialize)]
pub struct OrderPath {
    pub store_id: String,
    pub order_id: String,
}
#[derive(Deserialize)]
pub struct ProductPath {
    pub store_id: String,
    pub product_id: String,
}
#[derive(Deserialize)]
pub struct VariantPath {
    pub store_id: String,
    pub product_id: String,
    pub variant_id: String,
}
#[derive(Deserialize)]
pub struct CustomerPath {
    pub store_id: String,
    pub customer_id: String,
}
#[derive(Deserialize)]
pub struct CategoryPath {
    pub store_id: String,
    pub category_id: String,
}

/// What a write answered, for idempotent replays: the product, read again from its GET path.
fn product_produced(store_id: &str, product_id: &str) -> Extension<Produced> {
    Extension(Produced::Resource(format!(
        "/v1/stores/{store_id}/products/{product_id}"
    )))
}

fn cursors<'a>(state: &'a AppState, store_id: &'a str, resource: &'static str) -> CursorScope<'a> {
    CursorScope {
        signers: &state.signers,
        owner: store_id,
        resource,
    }
}

// ---------------------------------------------------------------- orders

/// Orders, newest first.
#[utoipa::path(get, path = "/v1/stores/{store_id}/orders", tag = "orders", operation_id = "listOrders",
    params(("store_id" = String, Path), OrderListQuery),
    responses((status = 200, body = OrderList), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn list_orders(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<OrderListQuery>,
) -> ApiResult<Json<OrderList>> {
    let raw = include_raw(&q.include)?;
    let cur = cursors(&state, &p.store_id, "orders");
    let params = cur.params(q.limit, &q.cursor, q.filters()?)?;
    let page = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move {
                s.list_orders(&cx, &params)
                    .await
                    .map(|pg| (pg, params.filters))
            },
        )
        .await?;
    let (page, filters) = page;
    Ok(Json(OrderList {
        next_cursor: cur.issue(&filters, page.next),
        data: page.items,
    }))
}

/// How many orders match the filters.
#[utoipa::path(get, path = "/v1/stores/{store_id}/orders/count", tag = "orders", operation_id = "countOrders",
    params(("store_id" = String, Path), OrderCountQuery),
    responses((status = 200, body = Count), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn count_orders(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<OrderCountQuery>,
) -> ApiResult<Json<Count>> {
    let f = q.filters()?;
    let count = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.count_orders(&cx, &f).await },
        )
        .await?;
    Ok(Json(Count { count }))
}

/// One order, with its shipments.
#[utoipa::path(get, path = "/v1/stores/{store_id}/orders/{order_id}", tag = "orders", operation_id = "getOrder",
    params(("store_id" = String, Path), ("order_id" = String, Path), IncludeQuery),
    responses((status = 200, body = Order), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn get_order(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<OrderPath>,
    ApiQuery(q): ApiQuery<IncludeQuery>,
) -> ApiResult<Json<Order>> {
    let raw = include_raw(&q.include)?;
    let order = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move { s.get_order(&cx, &p.order_id).await },
        )
        .await?;
    Ok(Json(order))
}

/// Add a shipment with tracking; answers the order as it is afterwards.
#[utoipa::path(post, path = "/v1/stores/{store_id}/orders/{order_id}/shipments", tag = "orders",
    operation_id = "createShipment",
    params(("store_id" = String, Path), ("order_id" = String, Path)), request_body = NewShipment,
    responses((status = 201, body = Order), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn create_shipment(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<OrderPath>,
    ApiJson(body): ApiJson<NewShipment>,
) -> ApiResult<(StatusCode, Extension<Produced>, Json<Order>)> {
    body.validate().map_err(ApiError::invalid_input)?;
    let produced = Extension(Produced::Resource(format!(
        "/v1/stores/{}/orders/{}",
        p.store_id, p.order_id
    )));
    scope.writes_upstream();
    let order = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.create_shipment(&cx, &p.order_id, &body).await },
        )
        .await?;
    Ok((StatusCode::CREATED, produced, Json(order)))
}

// ---------------------------------------------------------------- products

/// Products with their variants.
#[utoipa::path(get, path = "/v1/stores/{store_id}/products", tag = "products", operation_id = "listProducts",
    params(("store_id" = String, Path), ProductListQuery),
    responses((status = 200, body = ProductList), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn list_products(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<ProductListQuery>,
) -> ApiResult<Json<ProductList>> {
    let raw = include_raw(&q.include)?;
    let cur = cursors(&state, &p.store_id, "products");
    let params = cur.params(q.limit, &q.cursor, q.filters()?)?;
    let (page, filters) = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move {
                s.list_products(&cx, &params)
                    .await
                    .map(|pg| (pg, params.filters))
            },
        )
        .await?;
    Ok(Json(ProductList {
        next_cursor: cur.issue(&filters, page.next),
        data: page.items,
    }))
}

/// How many products match the filters.
#[utoipa::path(get, path = "/v1/stores/{store_id}/products/count", tag = "products", operation_id = "countProducts",
    params(("store_id" = String, Path), ProductCountQuery),
    responses((status = 200, body = Count), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn count_products(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<ProductCountQuery>,
) -> ApiResult<Json<Count>> {
    let f = q.filters()?;
    let count = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.count_products(&cx, &f).await },
        )
        .await?;
    Ok(Json(Count { count }))
}

/// One product with its variants.
#[utoipa::path(get, path = "/v1/stores/{store_id}/products/{product_id}", tag = "products", operation_id = "getProduct",
    params(("store_id" = String, Path), ("product_id" = String, Path), IncludeQuery),
    responses((status = 200, body = Product), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn get_product(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<ProductPath>,
    ApiQuery(q): ApiQuery<IncludeQuery>,
) -> ApiResult<Json<Product>> {
    let raw = include_raw(&q.include)?;
    let product = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move { s.get_product(&cx, &p.product_id).await },
        )
        .await?;
    Ok(Json(product))
}

fn check_money(name: &str, v: &Option<String>) -> ApiResult<()> {
    if let Some(m) = v {
        let ok = m.parse::<Decimal>().is_ok_and(|d| !d.is_sign_negative());
        if !ok {
            return Err(ApiError::validation(format!(
                "{name} must be a non-negative decimal string such as \"19.99\""
            )));
        }
    }
    Ok(())
}

fn check_quantity(v: Option<i64>) -> ApiResult<()> {
    match v {
        Some(q) if !(0..=1_000_000_000).contains(&q) => Err(ApiError::validation(
            "quantity must be between 0 and 1000000000",
        )),
        _ => Ok(()),
    }
}

/// Create a product (a simple product without variants).
#[utoipa::path(post, path = "/v1/stores/{store_id}/products", tag = "products", operation_id = "createProduct",
    params(("store_id" = String, Path)), request_body = NewProduct,
    responses((status = 201, body = Product), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn create_product(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiJson(body): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Option<Extension<Produced>>, Json<Product>)> {
    if body.name.trim().is_empty() {
        return Err(ApiError::validation("name must not be empty"));
    }
    check_money("price", &body.price)?;
    check_quantity(body.quantity)?;
    scope.writes_upstream();
    let product = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.create_product(&cx, &body).await },
        )
        .await?;
    let produced = cartgate_connector::util::valid_id(&product.id)
        .then(|| product_produced(&p.store_id, &product.id));
    Ok((StatusCode::CREATED, produced, Json(product)))
}

/// Update a product's name, description, status, price, quantity or sku.
#[utoipa::path(patch, path = "/v1/stores/{store_id}/products/{product_id}", tag = "products",
    operation_id = "updateProduct",
    params(("store_id" = String, Path), ("product_id" = String, Path)), request_body = ProductUpdate,
    responses((status = 200, body = Product), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn update_product(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<ProductPath>,
    ApiJson(body): ApiJson<ProductUpdate>,
) -> ApiResult<(Extension<Produced>, Json<Product>)> {
    if body == ProductUpdate::default() {
        return Err(ApiError::validation("send at least one field to change"));
    }
    if body.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::validation("name must not be empty"));
    }
    check_money("price", &body.price)?;
    check_quantity(body.quantity)?;
    let produced = product_produced(&p.store_id, &p.product_id);
    scope.writes_upstream();
    let product = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.update_product(&cx, &p.product_id, &body).await },
        )
        .await?;
    Ok((produced, Json(product)))
}

/// Update one variant's price, quantity or sku; answers the product afterwards.
#[utoipa::path(patch, path = "/v1/stores/{store_id}/products/{product_id}/variants/{variant_id}",
    tag = "products", operation_id = "updateVariant",
    params(("store_id" = String, Path), ("product_id" = String, Path), ("variant_id" = String, Path)),
    request_body = VariantUpdate,
    responses((status = 200, body = Product), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn update_variant(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<VariantPath>,
    ApiJson(body): ApiJson<VariantUpdate>,
) -> ApiResult<(Extension<Produced>, Json<Product>)> {
    if body == VariantUpdate::default() {
        return Err(ApiError::validation("send at least one field to change"));
    }
    check_money("price", &body.price)?;
    check_quantity(body.quantity)?;
    let produced = product_produced(&p.store_id, &p.product_id);
    scope.writes_upstream();
    let product = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move {
                s.update_variant(&cx, &p.product_id, &p.variant_id, &body)
                    .await
            },
        )
        .await?;
    Ok((produced, Json(product)))
}

// ---------------------------------------------------------------- customers

/// Customers.
#[utoipa::path(get, path = "/v1/stores/{store_id}/customers", tag = "customers", operation_id = "listCustomers",
    params(("store_id" = String, Path), CustomerListQuery),
    responses((status = 200, body = CustomerList), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn list_customers(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<CustomerListQuery>,
) -> ApiResult<Json<CustomerList>> {
    let raw = include_raw(&q.include)?;
    let cur = cursors(&state, &p.store_id, "customers");
    let params = cur.params(q.limit, &q.cursor, q.filters()?)?;
    let (page, filters) = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move {
                s.list_customers(&cx, &params)
                    .await
                    .map(|pg| (pg, params.filters))
            },
        )
        .await?;
    Ok(Json(CustomerList {
        next_cursor: cur.issue(&filters, page.next),
        data: page.items,
    }))
}

/// How many customers match the filters.
#[utoipa::path(get, path = "/v1/stores/{store_id}/customers/count", tag = "customers",
    operation_id = "countCustomers",
    params(("store_id" = String, Path), CustomerCountQuery),
    responses((status = 200, body = Count), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn count_customers(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<CustomerCountQuery>,
) -> ApiResult<Json<Count>> {
    let f = q.filters()?;
    let count = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.count_customers(&cx, &f).await },
        )
        .await?;
    Ok(Json(Count { count }))
}

/// One customer.
#[utoipa::path(get, path = "/v1/stores/{store_id}/customers/{customer_id}", tag = "customers",
    operation_id = "getCustomer",
    params(("store_id" = String, Path), ("customer_id" = String, Path), IncludeQuery),
    responses((status = 200, body = Customer), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn get_customer(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<CustomerPath>,
    ApiQuery(q): ApiQuery<IncludeQuery>,
) -> ApiResult<Json<Customer>> {
    let raw = include_raw(&q.include)?;
    let c = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move { s.get_customer(&cx, &p.customer_id).await },
        )
        .await?;
    Ok(Json(c))
}

// ---------------------------------------------------------------- categories

/// Categories (collections on some platforms).
#[utoipa::path(get, path = "/v1/stores/{store_id}/categories", tag = "categories", operation_id = "listCategories",
    params(("store_id" = String, Path), CategoryListQuery),
    responses((status = 200, body = CategoryList), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn list_categories(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiQuery(q): ApiQuery<CategoryListQuery>,
) -> ApiResult<Json<CategoryList>> {
    let raw = include_raw(&q.include)?;
    let cur = cursors(&state, &p.store_id, "categories");
    let params = cur.params(q.limit, &q.cursor, Default::default())?;
    let (page, filters) = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move {
                s.list_categories(&cx, &params)
                    .await
                    .map(|pg| (pg, params.filters))
            },
        )
        .await?;
    Ok(Json(CategoryList {
        next_cursor: cur.issue(&filters, page.next),
        data: page.items,
    }))
}

/// One category.
#[utoipa::path(get, path = "/v1/stores/{store_id}/categories/{category_id}", tag = "categories",
    operation_id = "getCategory",
    params(("store_id" = String, Path), ("category_id" = String, Path), IncludeQuery),
    responses((status = 200, body = Category), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn get_category(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<CategoryPath>,
    ApiQuery(q): ApiQuery<IncludeQuery>,
) -> ApiResult<Json<Category>> {
    let raw = include_raw(&q.include)?;
    let c = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(raw),
            |s, cx| async move { s.get_category(&cx, &p.category_id).await },
        )
        .await?;
    Ok(Json(c))
}

// ---------------------------------------------------------------- proxy

/// Escape hatch: a raw call relative to the platform's API root, sent with the stored
/// credentials. The answer is the platform's status and JSON body, untouched.
#[utoipa::path(post, path = "/v1/stores/{store_id}/proxy", tag = "proxy", operation_id = "proxy",
    params(("store_id" = String, Path)), request_body = ProxyRequest,
    responses((status = 200, body = ProxyResponse), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn proxy(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
    ApiJson(body): ApiJson<ProxyRequest>,
) -> ApiResult<(Extension<Produced>, Json<ProxyResponse>)> {
    let method = body.http_method().map_err(ApiError::invalid_input)?;
    body.checked_path("the platform's API root")
        .map_err(ApiError::invalid_input)?;
    let read_only = method == http::Method::GET;
    if !read_only {
        scope.writes_upstream();
    }
    let req = ProxyRequest {
        method: method.to_string(),
        ..body
    };
    let resp = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.proxy(&cx, &req).await },
        )
        .await?;
    // Idempotent replays: a read is sent again; a write answers the platform's status only
    // (its body is store data, which the gateway does not keep).
    let produced = if read_only {
        Produced::ReadOnly
    } else {
        Produced::Proxied {
            upstream_status: resp.status,
        }
    };
    Ok((Extension(produced), Json(resp)))
}

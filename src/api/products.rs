//! Products with their variants: list, count, read, create, update, and variant updates.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use cartgate_connector::model::{NewProduct, Product, ProductUpdate, VariantUpdate};
use serde::Deserialize;

use super::calls::{self, list_type, produced, Count, StorePath};
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiJson, ApiPath, ApiQuery, Scope};
use super::lists::{IncludeQuery, ProductCountQuery, ProductListQuery};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Produced;
use crate::state::AppState;

list_type!(ProductList, Product);

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

/// What a product write answered, for idempotent replays: the product, read again.
fn product_produced(store_id: &str, product_id: &str) -> Extension<Produced> {
    produced(format!("/v1/stores/{store_id}/products/{product_id}"))
}

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
    calls::list_page(
        &state,
        &scope,
        &p.store_id,
        "products",
        q.page(),
        q.filters()?,
        |s, cx, params| async move { s.list_products(&cx, &params).await },
    )
    .await
    .map(|l| Json(l.into()))
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
    calls::count(
        &state,
        &scope,
        &p.store_id,
        q.filters()?,
        |s, cx, f| async move { s.count_products(&cx, &f).await },
    )
    .await
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
    calls::read_one(
        &state,
        &scope,
        &p.store_id,
        &q.include,
        |s, cx| async move { s.get_product(&cx, &p.product_id).await },
    )
    .await
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
    body.validate().map_err(ApiError::invalid_input)?;
    let product = calls::write(&state, &scope, &p.store_id, |s, cx| async move {
        if body.platform_fields.is_some() && !s.takes_platform_fields() {
            return Err(cartgate_connector::ConnectorError::Unsupported(
                "this platform takes no platform_fields".into(),
            ));
        }
        s.create_product(&cx, &body).await
    })
    .await?;
    let produced = cartgate_connector::util::valid_id(&product.id)
        .then(|| product_produced(&p.store_id, &product.id));
    Ok((StatusCode::CREATED, produced, Json(product)))
}

/// Update a product's name, description, status, price, quantity, sku, barcode, weight,
/// dimensions or (without variants) stock per location. A field the platform cannot write
/// is refused (501 `unsupported_operation`), never ignored.
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
    body.validate().map_err(ApiError::invalid_input)?;
    let produced = product_produced(&p.store_id, &p.product_id);
    let product = calls::write(&state, &scope, &p.store_id, |s, cx| async move {
        s.update_product(&cx, &p.product_id, &body).await
    })
    .await?;
    Ok((produced, Json(product)))
}

/// Update one variant's price, quantity, sku, barcode, weight, dimensions or stock per
/// location; answers the product afterwards. A field the platform cannot write is refused
/// (501 `unsupported_operation`), never ignored.
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
    body.validate().map_err(ApiError::invalid_input)?;
    let produced = product_produced(&p.store_id, &p.product_id);
    let product = calls::write(&state, &scope, &p.store_id, |s, cx| async move {
        s.update_variant(&cx, &p.product_id, &p.variant_id, &body)
            .await
    })
    .await?;
    Ok((produced, Json(product)))
}

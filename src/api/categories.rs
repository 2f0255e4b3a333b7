//! Categories (collections on some platforms).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use cartgate_connector::model::Category;
use serde::Deserialize;

use super::calls::{self, list_type, StorePath};
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiPath, ApiQuery, Scope};
use super::lists::{CategoryListQuery, IncludeQuery};
use crate::error::ApiResult;
use crate::state::AppState;

list_type!(CategoryList, Category);

#[derive(Deserialize)]
pub struct CategoryPath {
    pub store_id: String,
    pub category_id: String,
}

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
    calls::list_page(
        &state,
        &scope,
        &p.store_id,
        "categories",
        q.page(),
        Default::default(),
        |s, cx, params| async move { s.list_categories(&cx, &params).await },
    )
    .await
    .map(|l| Json(l.into()))
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
    calls::read_one(
        &state,
        &scope,
        &p.store_id,
        &q.include,
        |s, cx| async move { s.get_category(&cx, &p.category_id).await },
    )
    .await
}

//! Where a store keeps its stock: Shopify locations, Magento sources, a WooCommerce shop's
//! one default location.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use cartgate_connector::model::Location;
use serde::Serialize;
use utoipa::ToSchema;

use super::calls::StorePath;
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiPath, Scope};
use crate::error::ApiResult;
use crate::state::AppState;

/// Every location of a store (at most 250), active or not. Not paged: stores have few.
#[derive(Serialize, ToSchema)]
pub struct LocationList {
    pub data: Vec<Location>,
}

/// The store's locations: the ids `inventory_levels` refer to.
#[utoipa::path(get, path = "/v1/stores/{store_id}/locations", tag = "locations", operation_id = "listLocations",
    params(("store_id" = String, Path)),
    responses((status = 200, body = LocationList), CommonErrors, UpstreamErrors), security(("api_key" = [])))]
pub async fn list_locations(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiPath(p): ApiPath<StorePath>,
) -> ApiResult<Json<LocationList>> {
    let data = state
        .with_store(
            &scope.account,
            &p.store_id,
            &scope.cx(false),
            |s, cx| async move { s.list_locations(&cx).await },
        )
        .await?;
    Ok(Json(LocationList { data }))
}

//! Orders and their shipments.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use cartgate_connector::model::{NewShipment, Order};
use serde::Deserialize;

use super::calls::{self, list_type, produced, Count, StorePath};
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiJson, ApiPath, ApiQuery, Scope};
use super::lists::{IncludeQuery, OrderCountQuery, OrderListQuery};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::Produced;
use crate::state::AppState;

list_type!(OrderList, Order);

#[derive(Deserialize)]
pub struct OrderPath {
    pub store_id: String,
    pub order_id: String,
}

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
    calls::list_page(
        &state,
        &scope,
        &p.store_id,
        "orders",
        q.page(),
        q.filters()?,
        |s, cx, params| async move { s.list_orders(&cx, &params).await },
    )
    .await
    .map(|l| Json(l.into()))
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
    calls::count(
        &state,
        &scope,
        &p.store_id,
        q.filters()?,
        |s, cx, f| async move { s.count_orders(&cx, &f).await },
    )
    .await
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
    calls::read_one(
        &state,
        &scope,
        &p.store_id,
        &q.include,
        |s, cx| async move { s.get_order(&cx, &p.order_id).await },
    )
    .await
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
    let produced = produced(format!("/v1/stores/{}/orders/{}", p.store_id, p.order_id));
    let order = calls::write(&state, &scope, &p.store_id, |s, cx| async move {
        s.create_shipment(&cx, &p.order_id, &body).await
    })
    .await?;
    Ok((StatusCode::CREATED, produced, Json(order)))
}

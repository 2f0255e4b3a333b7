//! Customers.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use cartgate_connector::model::Customer;
use serde::Deserialize;

use super::calls::{self, list_type, Count, StorePath};
use super::docs::{CommonErrors, UpstreamErrors};
use super::extract::{ApiPath, ApiQuery, Scope};
use super::lists::{CustomerCountQuery, CustomerListQuery, IncludeQuery};
use crate::error::ApiResult;
use crate::state::AppState;

list_type!(CustomerList, Customer);

#[derive(Deserialize)]
pub struct CustomerPath {
    pub store_id: String,
    pub customer_id: String,
}

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
    calls::list_page(
        &state,
        &scope,
        &p.store_id,
        "customers",
        q.page(),
        q.filters()?,
        |s, cx, params| async move { s.list_customers(&cx, &params).await },
    )
    .await
    .map(|l| Json(l.into()))
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
    calls::count(
        &state,
        &scope,
        &p.store_id,
        q.filters()?,
        |s, cx, f| async move { s.count_customers(&cx, &f).await },
    )
    .await
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
    calls::read_one(
        &state,
        &scope,
        &p.store_id,
        &q.include,
        |s, cx| async move { s.get_customer(&cx, &p.customer_id).await },
    )
    .await
}

//! What every store-resource handler does, written once: the path shapes, the list page
//! (paging, `include`, cursors bound to store, list and filters), the count, the single
//! read, and what a write names for idempotent replays. The handlers, one file per resource
//! (orders.rs, products.rs, customers.rs, categories.rs, proxy.rs), only validate their own
//! input and name the connector call.

use std::future::Future;
use std::sync::Arc;

use axum::{Extension, Json};
use cartgate_connector::{CallContext, ConnectorError, Filters, ListParams, Page, StoreSession};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::Scope;
use super::lists::{include_raw, CursorScope, PageQuery};
use crate::error::ApiResult;
use crate::idempotency::Produced;
use crate::state::AppState;

/// One page of a list as the API answers it; the list types (`OrderList`, …) are this with
/// their item type, named for the spec by `list_type!`.
pub struct Listed<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Declares the page type of a list for the spec, convertible from [`Listed`].
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        /// One page; pass `next_cursor` as `cursor` for the next (null on the last page).
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            pub next_cursor: Option<String>,
        }
        impl From<$crate::api::calls::Listed<$item>> for $name {
            fn from(l: $crate::api::calls::Listed<$item>) -> Self {
                $name {
                    data: l.data,
                    next_cursor: l.next_cursor,
                }
            }
        }
    };
}
pub(crate) use list_type;

#[derive(Serialize, ToSchema)]
pub struct Count {
    pub count: u64,
}

#[derive(Deserialize)]
pub struct StorePath {
    pub store_id: String,
}

/// One page of a store's `resource`: checks paging and `include`, reads the cursor, calls
/// `list` on the store's session, and seals the next cursor for the same filters.
pub async fn list_page<T, F, Fut>(
    state: &AppState,
    scope: &Scope,
    store_id: &str,
    resource: &'static str,
    q: PageQuery<'_>,
    filters: Filters,
    list: F,
) -> ApiResult<Listed<T>>
where
    F: FnOnce(Arc<dyn StoreSession>, CallContext, ListParams) -> Fut,
    Fut: Future<Output = Result<Page<T>, ConnectorError>>,
{
    let raw = include_raw(q.include)?;
    let cursors = CursorScope {
        signers: &state.signers,
        owner: store_id,
        resource,
    };
    let params = cursors.params(q.limit, q.cursor, filters.clone())?;
    let page = state
        .with_store(&scope.account, store_id, &scope.cx(raw), |s, cx| {
            list(s, cx, params)
        })
        .await?;
    Ok(Listed {
        next_cursor: cursors.issue(&filters, page.next),
        data: page.items,
    })
}

/// How many objects of a store match `filters`.
pub async fn count<F, Fut>(
    state: &AppState,
    scope: &Scope,
    store_id: &str,
    filters: Filters,
    count: F,
) -> ApiResult<Json<Count>>
where
    F: FnOnce(Arc<dyn StoreSession>, CallContext, Filters) -> Fut,
    Fut: Future<Output = Result<u64, ConnectorError>>,
{
    let count = state
        .with_store(&scope.account, store_id, &scope.cx(false), |s, cx| {
            count(s, cx, filters)
        })
        .await?;
    Ok(Json(Count { count }))
}

/// One object of a store, with its `raw` payload when `include=raw`.
pub async fn read_one<T, F, Fut>(
    state: &AppState,
    scope: &Scope,
    store_id: &str,
    include: &Option<String>,
    get: F,
) -> ApiResult<Json<T>>
where
    F: FnOnce(Arc<dyn StoreSession>, CallContext) -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    let raw = include_raw(include)?;
    Ok(Json(
        state
            .with_store(&scope.account, store_id, &scope.cx(raw), get)
            .await?,
    ))
}

/// A write to the store's platform: marks where writing begins (an error from here on keeps
/// the request's idempotency key, as the write may have happened) and runs it.
pub async fn write<T, F, Fut>(
    state: &AppState,
    scope: &Scope,
    store_id: &str,
    op: F,
) -> ApiResult<T>
where
    F: FnOnce(Arc<dyn StoreSession>, CallContext) -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    scope.writes_upstream();
    state
        .with_store(&scope.account, store_id, &scope.cx(false), op)
        .await
}

/// What a write produced, for idempotent replays: the resource at this `/v1` GET path,
/// read again on replay.
pub fn produced(path: String) -> Extension<Produced> {
    Extension(Produced::Resource(path))
}

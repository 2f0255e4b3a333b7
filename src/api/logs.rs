//! GET /v1/logs: this account's own request log, newest first.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::docs::CommonErrors;
use super::extract::{ApiQuery, Scope};
use super::lists::{time, CursorScope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{LogQuery, LogRecord};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogListQuery {
    /// Page size, 1..=250 (default 50).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// RFC 3339; entries at or after.
    pub from: Option<String>,
    /// RFC 3339; entries at or before.
    pub to: Option<String>,
    pub store_id: Option<String>,
    /// HTTP status, e.g. 404.
    pub status: Option<u16>,
}

/// One request-log entry. The log holds no bodies and no query values.
#[derive(Serialize, ToSchema)]
pub struct LogEntry {
    pub id: String,
    pub request_id: String,
    pub at: DateTime<Utc>,
    pub method: String,
    /// The route template, e.g. `/v1/stores/{store_id}/orders`.
    pub route: String,
    /// The store the request was about: the path's `store_id` when it is a well-formed
    /// store id (else null), the created store's id on `POST /v1/stores`.
    pub store_id: Option<String>,
    pub status: u16,
    pub latency_ms: u64,
    pub upstream_calls: u32,
    pub error_code: Option<String>,
}

impl From<LogRecord> for LogEntry {
    fn from(r: LogRecord) -> Self {
        LogEntry {
            id: r.id,
            request_id: r.request_id,
            at: r.at,
            method: r.method,
            route: r.route,
            store_id: r.store_id,
            status: r.status,
            latency_ms: r.latency_ms,
            upstream_calls: r.upstream_calls,
            error_code: r.error_code,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LogList {
    pub data: Vec<LogEntry>,
    pub next_cursor: Option<String>,
}

/// The filters of a log query as the client sent them: what its cursors are bound to.
#[derive(Serialize)]
struct LogFilters<'a> {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    store_id: &'a Option<String>,
    status: Option<u16>,
}

/// This account's requests of the retention period (default 30 days), newest first.
#[utoipa::path(get, path = "/v1/logs", tag = "logs", operation_id = "listLogs", params(LogListQuery),
    responses((status = 200, body = LogList), CommonErrors), security(("api_key" = [])))]
pub async fn list_logs(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    ApiQuery(q): ApiQuery<LogListQuery>,
) -> ApiResult<Json<LogList>> {
    let limit = super::lists::limit(q.limit)? as usize;
    let filters = LogFilters {
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
        store_id: &q.store_id,
        status: q.status,
    };
    let cursors = CursorScope {
        signers: &state.signers,
        owner: &scope.account.id,
        resource: "logs",
    };
    let before = cursors
        .state(&q.cursor, &filters)?
        .map(serde_json::from_value::<(DateTime<Utc>, String)>)
        .transpose()
        .map_err(|_| ApiError::invalid_cursor("the cursor is malformed"))?;
    let retention_start =
        Utc::now() - chrono::Duration::days(state.settings.log_retention_days as i64);
    let query = LogQuery {
        from: Some(
            filters
                .from
                .map_or(retention_start, |f| f.max(retention_start)),
        ),
        to: filters.to,
        store_id: q.store_id.clone(),
        status: q.status,
        before,
        limit: limit + 1,
    };
    let mut rows = state.storage.list_logs(&scope.account.id, &query).await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .and_then(|last| cursors.issue(&filters, Some(serde_json::json!([last.at, last.id]))))
    } else {
        None
    };
    Ok(Json(LogList {
        data: rows.into_iter().map(LogEntry::from).collect(),
        next_cursor,
    }))
}

//! The request log: one entry per admitted request, no bodies, no query values, no store
//! data. [`LogQuery::matches`] is the one predicate both backends filter with.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::StorageResult;

/// One request-log entry: no bodies, no query values, no store data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogRecord {
    pub id: String,
    pub account_id: String,
    pub request_id: String,
    pub at: DateTime<Utc>,
    pub method: String,
    /// The route template, e.g. `/v1/stores/{store_id}/orders/{order_id}`.
    pub route: String,
    pub store_id: Option<String>,
    pub status: u16,
    pub latency_ms: u64,
    pub upstream_calls: u32,
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub store_id: Option<String>,
    pub status: Option<u16>,
    /// Return entries strictly older than this (at, id) position: newest first paging.
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: usize,
}

impl LogQuery {
    /// Whether an entry of the account's log range answers the query: within the times,
    /// strictly before the cursor position (newest first), of the store and status asked.
    pub fn matches(&self, e: &LogRecord) -> bool {
        self.from.is_none_or(|from| e.at >= from)
            && self.to.is_none_or(|to| e.at <= to)
            && self
                .before
                .as_ref()
                .is_none_or(|(at, id)| (e.at, &e.id) < (*at, id))
            && self
                .store_id
                .as_ref()
                .is_none_or(|s| e.store_id.as_ref() == Some(s))
            && self.status.is_none_or(|s| e.status == s)
    }
}

#[async_trait]
pub trait Logs: Send + Sync {
    /// Appends a batch of entries (one transaction where the backend has them).
    async fn append_logs(&self, entries: &[LogRecord]) -> StorageResult<()>;
    /// Newest first.
    async fn list_logs(&self, account_id: &str, q: &LogQuery) -> StorageResult<Vec<LogRecord>>;
    /// Deletes entries older than `before`; returns how many.
    async fn purge_logs(&self, before: DateTime<Utc>) -> StorageResult<u64>;
}

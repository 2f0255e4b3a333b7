//! The request log's writer: entries are queued and written in batches by one background
//! task, so a request never waits on a storage commit. The queue is bounded; when storage
//! falls behind, entries are dropped and counted (`cartgate_request_log_dropped_total`)
//! rather than growing memory without bound.
//!
//! Every entry is bounded before it is queued: the method at 16 bytes (extension methods
//! can be long), the route template at 256, the request id at 128, the error code at 64, and
//! the store id kept only when it is a well-formed store id. An entry is therefore well under
//! 1 KB whatever the client sent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::api::stores::is_store_id;
use crate::storage::{LogRecord, Storage};

const QUEUE: usize = 16_384;
const BATCH: usize = 512;
/// A batch is tried this many times, `RETRY_EVERY` apart, before it is dropped (and counted).
const WRITE_ATTEMPTS: u32 = 20;
const RETRY_EVERY: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct LogSink {
    tx: mpsc::Sender<LogRecord>,
}

impl LogSink {
    /// Starts the writer; it ends when every sender is dropped, after flushing.
    pub fn start(storage: Arc<dyn Storage>) -> (LogSink, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<LogRecord>(QUEUE);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                // Storage may be briefly away (Redis restarting): retry the batch for a
                // while; meanwhile new entries wait in the bounded queue.
                let mut attempt = 0;
                while let Err(e) = storage.append_logs(&batch).await {
                    attempt += 1;
                    if attempt >= WRITE_ATTEMPTS {
                        metrics::counter!("cartgate_request_log_dropped_total")
                            .increment(batch.len() as u64);
                        tracing::warn!(error = %e, entries = batch.len(), "could not write the request log");
                        break;
                    }
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                batch.clear();
            }
        });
        (LogSink { tx }, task)
    }

    pub fn record(&self, entry: LogRecord) {
        if self.tx.try_send(bounded(entry)).is_err() {
            metrics::counter!("cartgate_request_log_dropped_total").increment(1);
        }
    }
}

const MAX_METHOD: usize = 16;
const MAX_ROUTE: usize = 256;
const MAX_REQUEST_ID: usize = 128;
const MAX_ERROR_CODE: usize = 64;

fn cap(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The entry with every free-text field within its bound (see the module's doc).
fn bounded(mut e: LogRecord) -> LogRecord {
    cap(&mut e.method, MAX_METHOD);
    cap(&mut e.route, MAX_ROUTE);
    cap(&mut e.request_id, MAX_REQUEST_ID);
    if let Some(code) = e.error_code.as_mut() {
        cap(code, MAX_ERROR_CODE);
    }
    e.store_id = e.store_id.filter(|s| is_store_id(s));
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn entries_are_bounded() {
        let e = bounded(LogRecord {
            id: "log_1".into(),
            account_id: "acct_1".into(),
            request_id: "r".repeat(1000),
            at: Utc::now(),
            method: "X".repeat(10_000),
            route: "é".repeat(1000),
            store_id: Some(format!("st_{}", "\u{202e}\r\n".repeat(2000))),
            status: 400,
            latency_ms: 1,
            upstream_calls: 0,
            error_code: Some("c".repeat(100)),
        });
        assert_eq!(e.method.len(), MAX_METHOD);
        assert!(e.route.len() <= MAX_ROUTE && e.route.chars().all(|c| c == 'é'));
        assert_eq!(e.request_id.len(), MAX_REQUEST_ID);
        assert_eq!(e.error_code.as_deref().map(str::len), Some(MAX_ERROR_CODE));
        assert_eq!(e.store_id, None);
        let ok = bounded(LogRecord {
            store_id: Some("st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b".into()),
            method: "GET".into(),
            ..e
        });
        assert_eq!(
            ok.store_id.as_deref(),
            Some("st_0190f1c2a7b37d2e8c4b5a6d7e8f9a0b")
        );
        assert_eq!(ok.method, "GET");
    }
}

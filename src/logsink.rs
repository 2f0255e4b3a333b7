//! The request log's writer: entries are queued and written in batches by one background
//! task, so a request never waits on a storage commit. The queue is bounded; when storage
//! falls behind, entries are dropped and counted (`cartgate_request_log_dropped_total`)
//! rather than growing memory without bound.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

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
        if self.tx.try_send(entry).is_err() {
            metrics::counter!("cartgate_request_log_dropped_total").increment(1);
        }
    }
}

/// Deletes entries past the retention, and expired idempotency keys, now and then every
/// `every`.
pub fn spawn_purger(
    storage: Arc<dyn Storage>,
    retention_days: u32,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let cutoff = Utc::now() - chrono::Duration::days(retention_days as i64);
            match storage.purge_logs(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged request-log entries past retention"),
                Err(e) => tracing::warn!(error = %e, "could not purge the request log"),
            }
            match storage.purge_idempotency(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged expired idempotency keys"),
                Err(e) => tracing::warn!(error = %e, "could not purge idempotency keys"),
            }
        }
    })
}

//! The background work of one instance, under one supervisor: webhook delivery, polling,
//! purges past retention, limiter housekeeping. `stop` asks every task to finish what it
//! is doing (a delivery in flight is recorded, not cut) and waits for them; nothing is
//! aborted mid-write.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::state::AppState;
use crate::webhooks::{deliver::Deliverer, poll};

/// How often purges run.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

pub struct Supervisor {
    stop: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl Supervisor {
    pub fn start(state: Arc<AppState>) -> anyhow::Result<Supervisor> {
        let (stop, rx) = watch::channel(false);
        let deliverer = Deliverer::new(state.clone())?;
        state.set_webhooks(&deliverer);
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(deliverer.clone().run(rx.clone()));
        tasks.spawn(poll::run(state.clone(), deliverer, rx.clone()));
        tasks.spawn(purge(state.clone(), rx.clone()));
        tasks.spawn(housekeeping(state, rx));
        Ok(Supervisor { stop, tasks })
    }

    /// Asks every task to stop and waits until they have.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Runs `work` now and every `every` until the stop signal.
async fn every<F, Fut>(every: Duration, mut stop: watch::Receiver<bool>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => work().await,
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Expired idempotency keys and inbound webhook ids, finished webhook deliveries and
/// request-log entries older than the log retention.
async fn purge(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    every(PURGE_EVERY, stop, || async {
        let storage = &state.storage;
        let now = Utc::now();
        let cutoff = now - chrono::Duration::days(state.settings.log_retention_days as i64);
        report(
            "expired idempotency keys",
            storage.purge_idempotency(now).await,
        );
        report(
            "expired inbound webhook ids",
            storage.purge_inbound(now).await,
        );
        report(
            "webhook deliveries past retention",
            storage.purge_deliveries(cutoff).await,
        );
        // The request log last: a test watches it to know that a pass is done.
        report(
            "request-log entries past retention",
            storage.purge_logs(cutoff).await,
        );
    })
    .await
}

fn report(what: &str, r: crate::storage::StorageResult<u64>) {
    match r {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "purged {what}"),
        Err(e) => tracing::warn!(error = %e, "could not purge {what}"),
    }
}

async fn housekeeping(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    every(HOUSEKEEPING_EVERY, stop, || async {
        state.rate_limiter.housekeeping();
    })
    .await
}

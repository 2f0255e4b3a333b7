//! cartgate: a self-hosted unified shopping-cart API gateway.
//!
//! `run` serves the gateway on a listener; `main.rs` and the tests both call it, so tests
//! run the real server on `127.0.0.1:0`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod admin_cli;
pub mod api;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod error;
pub mod idempotency;
pub mod logsink;
pub mod metrics;
pub mod middleware;
pub mod ratelimit;
pub mod registry;
pub mod server;
pub mod state;
pub mod storage;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use config::Settings;
pub use registry::Registry;
pub use state::AppState;

/// Serves the gateway on `listener` until `shutdown` resolves.
pub async fn run(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    metrics::install();
    let purger = logsink::spawn_purger(
        state.storage.clone(),
        state.settings.log_retention_days,
        Duration::from_secs(3600),
    );
    let limiter_state = state.clone();
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter_state.rate_limiter.housekeeping();
        }
    });
    let limits = state.settings.connection_limits();
    let app = api::router(state);
    let result = server::serve(listener, app, limits, shutdown).await;
    purger.abort();
    housekeeping.abort();
    result.map_err(Into::into)
}

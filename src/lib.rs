//! cartgate: a self-hosted unified shopping-cart API gateway.
//!
//! `run` serves the gateway on a listener; `main.rs` and the tests both call it, so tests
//! run the real server on `127.0.0.1:0`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod admin_cli;
pub mod api;
pub mod background;
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
    let background = background::Supervisor::start(state.clone())?;
    let limits = state.settings.connection_limits();
    let app = api::router(state);
    let result = server::serve(listener, app, limits, shutdown).await;
    background.stop().await;
    result.map_err(Into::into)
}

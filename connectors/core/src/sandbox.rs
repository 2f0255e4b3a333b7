//! Shared building blocks of the platform sandboxes (feature `sandbox`).
//! Filled in by the sandbox work; see the module docs below once written.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Options every sandbox accepts (`cartgate sandbox <platform> ...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxOptions {
    pub seed: u64,
    pub orders: usize,
    pub products: usize,
    pub customers: usize,
    /// Simulate the platform's rate limits (429 + its headers).
    pub rate_limits: bool,
    /// Probability in 0..=1 that any API request meets a random injected fault.
    pub fault_rate: f64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 42,
            orders: 60,
            products: 25,
            customers: 30,
            rate_limits: false,
            fault_rate: 0.0,
        }
    }
}

/// The first stdout line of `cartgate sandbox`: `{"platform", "base_url", "credentials"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxBanner {
    pub platform: String,
    pub base_url: String,
    /// Can be POSTed as-is as `credentials` to /v1/stores.
    pub credentials: Value,
}

/// A running sandbox. Dropping it does not stop the server; call `shutdown`.
pub struct SandboxHandle {
    pub banner: SandboxBanner,
    pub shutdown: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

//! Per-request context a connector call carries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What one gateway request lends to the connector calls it makes.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// Attach the untouched platform payload as `raw` to each object.
    pub include_raw: bool,
    /// Upstream HTTP calls made for this request (retries included); ends up in the request log.
    pub upstream_calls: Arc<AtomicU32>,
    /// When every upstream call of this request must be over, attempts and waits included
    /// (`None`: each call gets `UpstreamConfig::deadline` from its own start). The gateway
    /// sets it below its request timeout, so an upstream failure is answered as such
    /// instead of as the request's 504.
    pub deadline: Option<Instant>,
    /// Background work (the poller), not a client's request: paced platforms let it use
    /// only what their budgets hold right now beyond a share kept for client requests, and
    /// never make it wait (see `pace::take_turn`).
    pub background: bool,
}

impl CallContext {
    pub fn new(include_raw: bool) -> Self {
        CallContext {
            include_raw,
            upstream_calls: Arc::default(),
            deadline: None,
            background: false,
        }
    }

    /// A context for background work (the `background` field).
    pub fn for_background() -> Self {
        CallContext {
            background: true,
            ..CallContext::new(false)
        }
    }

    /// The same context with every upstream call ending by `at`.
    pub fn with_deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(at);
        self
    }

    /// `item` with its platform payload attached when the client asked for it.
    pub fn keep_raw<T: crate::model::WithRaw>(&self, mut item: T, raw: serde_json::Value) -> T {
        if self.include_raw {
            item.set_raw(raw);
        }
        item
    }

    pub fn count_call(&self) {
        self.upstream_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn calls(&self) -> u32 {
        self.upstream_calls.load(Ordering::Relaxed)
    }
}

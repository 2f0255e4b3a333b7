//! Rate limits in both directions: the per-API-key limit on clients ([`ApiLimit`]) and, in
//! distributed mode, the upstream budgets toward platforms ([`pace::RedisPacer`]).
//!
//! The API limit is GCRA via governor in one process (embedded mode, [`ApiRateLimiter`]) or
//! a token bucket on Redis shared by every instance (distributed mode,
//! [`redis::RedisRateLimiter`]). The upstream budgets are the connectors' `Pacer`: in one
//! process `cartgate_connector::pace::LocalPacer`, on Redis [`pace::RedisPacer`]. Both Redis
//! ones run the one token-bucket script (`bucket.rs`) on Redis' clock, so every instance
//! shares one budget per key and their clocks do not matter.
//!
//! Redis failures are [`StorageError`](crate::storage::StorageError)s: the limiter fails as
//! the storage does (503 `storage_unavailable`). Nothing here is storage; this module uses
//! storage's error (`StorageError`, `storage::unavailable`) and nothing else of it.

mod bucket;
pub mod pace;
pub mod redis;

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use self::redis::RedisRateLimiter;
use crate::storage::StorageResult;

/// The API rate limit of this deployment.
pub enum ApiLimit {
    Local(ApiRateLimiter),
    Shared(RedisRateLimiter),
}

impl ApiLimit {
    pub async fn check(&self, key_id: &str) -> StorageResult<Decision> {
        match self {
            ApiLimit::Local(l) => Ok(l.check(key_id)),
            ApiLimit::Shared(r) => r.check(key_id).await,
        }
    }

    pub fn housekeeping(&self) {
        if let ApiLimit::Local(l) = self {
            l.housekeeping();
        }
    }
}

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

pub struct ApiRateLimiter {
    limiter: Limiter,
    clock: DefaultClock,
    pub burst: u32,
    pub per_second: u32,
}

/// What the limiter decided, with the numbers for the RateLimit-* headers.
#[derive(Debug, Clone, Copy)]
pub enum Decision {
    Allowed { remaining: u32, reset_secs: u64 },
    Limited { retry_after: Duration },
}

impl ApiRateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = per_second.max(1);
        let burst = burst.max(1);
        let quota = Quota::per_second(NonZeroU32::new(per_second).expect("max(1)"))
            .allow_burst(NonZeroU32::new(burst).expect("max(1)"));
        ApiRateLimiter {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
            burst,
            per_second,
        }
    }

    pub fn check(&self, key_id: &str) -> Decision {
        match self.limiter.check_key(&key_id.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                // Seconds until the bucket is full again.
                let missing = self.burst.saturating_sub(remaining) as u64;
                Decision::Allowed {
                    remaining,
                    reset_secs: missing.div_ceil(self.per_second as u64),
                }
            }
            Err(not_until) => Decision::Limited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// Drops state of keys that have been idle long enough to be full again.
    pub fn housekeeping(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

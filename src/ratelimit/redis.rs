//! The per-API-key rate limit on Redis, shared by every instance.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:rl:{<key_id>}` | hash | token bucket of an API key's rate limit |
//!
//! One slot per key (Cluster-ready); the bucket expires once it is full again.

use ::redis::aio::ConnectionManager;
use cartgate_connector::pace::Quota;

use super::bucket::{Op, RedisBuckets};
use super::Decision;
use crate::storage::StorageResult;

fn key(key_id: &str) -> String {
    format!("cg:rl:{{{key_id}}}")
}

/// The per-API-key limit shared by every instance.
pub struct RedisRateLimiter {
    buckets: RedisBuckets,
    quota: Quota,
}

impl RedisRateLimiter {
    pub fn new(conn: ConnectionManager, per_second: u32, burst: u32) -> Self {
        RedisRateLimiter {
            buckets: RedisBuckets::new(conn),
            quota: Quota {
                rate_per_sec: f64::from(per_second.max(1)),
                burst: f64::from(burst.max(1)),
            },
        }
    }

    pub async fn check(&self, key_id: &str) -> StorageResult<Decision> {
        let o = self
            .buckets
            .run(key(key_id), Op::Check, 1.0, self.quota)
            .await?;
        Ok(if o.allowed {
            Decision::Allowed {
                remaining: o.remaining,
                reset_secs: o.reset.as_secs_f64().ceil() as u64,
            }
        } else {
            Decision::Limited {
                retry_after: o.wait,
            }
        })
    }
}

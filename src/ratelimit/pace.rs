//! Upstream budgets on Redis, shared by every instance: the connectors' [`Pacer`] (e.g.
//! Shopify's query cost) as token buckets on Redis' clock.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:pace:{<hmac of bucket>}` | hash | token bucket of an upstream budget |
//!
//! Bucket names (which name a merchant's shop) are keyed with an HMAC, so Redis holds no
//! store identifiers. One slot per bucket; a bucket expires once it is full again.

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use async_trait::async_trait;
use cartgate_connector::pace::{Pacer, Quota};
use cartgate_connector::ConnectorError;

use super::bucket::{Op, RedisBuckets};
use crate::storage::{StorageError, StorageResult};

/// Upstream budgets shared by every instance. Bucket names (which name a merchant's shop) are
/// keyed with an HMAC so that Redis holds no store identifiers.
pub struct RedisPacer {
    buckets: RedisBuckets,
    key_hasher: Box<dyn Fn(&str) -> String + Send + Sync>,
}

impl std::fmt::Debug for RedisPacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisPacer")
    }
}

impl RedisPacer {
    pub fn new(
        conn: ConnectionManager,
        key_hasher: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Self {
        RedisPacer {
            buckets: RedisBuckets::new(conn),
            key_hasher: Box::new(key_hasher),
        }
    }

    async fn run(&self, key: &str, op: Op, units: f64, quota: Quota) -> StorageResult<Duration> {
        let key = format!("cg:pace:{{{}}}", (self.key_hasher)(key));
        Ok(self.buckets.run(key, op, units, quota).await?.wait)
    }
}

fn pace_error(e: StorageError) -> ConnectorError {
    ConnectorError::Unavailable(format!("the shared upstream budget is unavailable: {e}"))
}

#[async_trait]
impl Pacer for RedisPacer {
    async fn reserve(
        &self,
        key: &str,
        cost: f64,
        quota: Quota,
    ) -> cartgate_connector::Result<Duration> {
        self.run(key, Op::Reserve, cost, quota)
            .await
            .map_err(pace_error)
    }

    async fn refund(&self, key: &str, units: f64, quota: Quota) -> cartgate_connector::Result<()> {
        self.run(key, Op::Refund, units, quota)
            .await
            .map(|_| ())
            .map_err(pace_error)
    }

    async fn observe(
        &self,
        key: &str,
        available: f64,
        quota: Quota,
    ) -> cartgate_connector::Result<()> {
        self.run(key, Op::Observe, available, quota)
            .await
            .map(|_| ())
            .map_err(pace_error)
    }
}

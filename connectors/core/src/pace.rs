//! Upstream pacing: per-store budgets that keep the gateway within a platform's published
//! limits, so clients never see the platform's own throttling.
//!
//! A budget is a leaky bucket (equivalently GCRA): it holds up to `burst` units and refills at
//! `rate_per_sec`. A call that costs `c` units takes them at once; when the bucket cannot pay,
//! the caller is told how long to wait before sending. Reservations are taken immediately, so
//! concurrent callers queue up instead of stampeding. Platforms that price calls (Shopify's
//! query cost) reserve the expected cost, give back what the platform did not charge
//! ([`Pacer::refund`]) and align the model with what the platform reports
//! ([`Pacer::observe`]).
//!
//! The model is kept as one number per bucket: the *theoretical arrival time* (TAT), the
//! instant at which the bucket will be full again. That makes every operation a single
//! read-modify-write, which is what lets the gateway's Redis mode run the same algorithm as
//! one atomic script shared by every instance. [`LocalPacer`] is the in-process default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::Result;

/// A budget: `burst` units at most, refilled at `rate_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub rate_per_sec: f64,
    pub burst: f64,
}

impl Quota {
    fn interval(&self) -> f64 {
        1.0 / self.rate_per_sec.max(1e-9)
    }
    fn capacity_secs(&self) -> f64 {
        self.burst.max(0.0) * self.interval()
    }
}

/// Shared upstream budgets. Keys name a platform account (e.g. `shopify:<shop>`); the
/// implementation may hash them before storing.
#[async_trait]
pub trait Pacer: Send + Sync + std::fmt::Debug {
    /// Takes `cost` units from `key` now and answers how long the caller must wait before
    /// sending. A cost above the burst is charged as the burst (it could never be paid).
    async fn reserve(&self, key: &str, cost: f64, quota: Quota) -> Result<Duration>;

    /// Gives back `units` that were reserved but not used.
    async fn refund(&self, key: &str, units: f64, quota: Quota) -> Result<()>;

    /// The platform reports `available` units left right now. The model only ever becomes
    /// more careful from this: someone else using the same account drains the bucket.
    async fn observe(&self, key: &str, available: f64, quota: Quota) -> Result<()>;
}

/// The pure algorithm on seconds, shared by [`LocalPacer`] and the tests (and mirrored by the
/// gateway's Redis script). `tat` and `now` are seconds on one clock.
pub mod gcra {
    use super::Quota;

    /// New TAT and the wait before the call may go.
    pub fn reserve(tat: Option<f64>, now: f64, cost: f64, q: Quota) -> (f64, f64) {
        let cost = cost.clamp(0.0, q.burst.max(0.0));
        let tat = tat.unwrap_or(now).max(now);
        let new_tat = tat + cost * q.interval();
        let wait = (new_tat - q.capacity_secs() - now).max(0.0);
        (new_tat, wait)
    }

    pub fn refund(tat: Option<f64>, now: f64, units: f64, q: Quota) -> f64 {
        let tat = tat.unwrap_or(now);
        (tat - units.max(0.0) * q.interval()).max(now)
    }

    pub fn observe(tat: Option<f64>, now: f64, available: f64, q: Quota) -> f64 {
        let debt = (q.burst - available).clamp(0.0, q.burst.max(0.0));
        let reported = now + debt * q.interval();
        tat.unwrap_or(now).max(reported)
    }
}

/// In-process budgets (one gateway instance).
#[derive(Debug)]
pub struct LocalPacer {
    origin: Instant,
    tats: Mutex<HashMap<String, f64>>,
}

impl Default for LocalPacer {
    fn default() -> Self {
        LocalPacer {
            origin: Instant::now(),
            tats: Mutex::default(),
        }
    }
}

/// Past this many buckets, the full ones are forgotten (a missing bucket reads as full).
const FORGET_AFTER_ENTRIES: usize = 10_000;

impl LocalPacer {
    fn with_tat<T>(&self, key: &str, f: impl FnOnce(Option<f64>, f64) -> (f64, T)) -> T {
        let now = self.origin.elapsed().as_secs_f64();
        let mut map = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > FORGET_AFTER_ENTRIES {
            map.retain(|_, tat| *tat > now);
        }
        let (tat, out) = f(map.get(key).copied(), now);
        map.insert(key.to_owned(), tat);
        out
    }
}

#[async_trait]
impl Pacer for LocalPacer {
    async fn reserve(&self, key: &str, cost: f64, quota: Quota) -> Result<Duration> {
        let wait = self.with_tat(key, |tat, now| gcra::reserve(tat, now, cost, quota));
        Ok(Duration::from_secs_f64(wait))
    }

    async fn refund(&self, key: &str, units: f64, quota: Quota) -> Result<()> {
        self.with_tat(key, |tat, now| (gcra::refund(tat, now, units, quota), ()));
        Ok(())
    }

    async fn observe(&self, key: &str, available: f64, quota: Quota) -> Result<()> {
        self.with_tat(key, |tat, now| {
            (gcra::observe(tat, now, available, quota), ())
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::gcra;
    use super::Quota;

    const Q: Quota = Quota {
        rate_per_sec: 50.0,
        burst: 1000.0,
    };

    #[test]
    fn a_full_bucket_pays_at_once_then_refills_at_the_rate() {
        // 1000 units free at t=0: ten calls of 100 go at once.
        let mut tat = None;
        for _ in 0..10 {
            let (t, wait) = gcra::reserve(tat, 0.0, 100.0, Q);
            assert_eq!(wait, 0.0);
            tat = Some(t);
        }
        // The eleventh waits for 100 units at 50/s.
        let (t, wait) = gcra::reserve(tat, 0.0, 100.0, Q);
        assert!((wait - 2.0).abs() < 1e-9, "{wait}");
        // And a later one queues behind it.
        let (_, wait) = gcra::reserve(Some(t), 0.0, 50.0, Q);
        assert!((wait - 3.0).abs() < 1e-9, "{wait}");
    }

    #[test]
    fn refunds_and_observations() {
        let (tat, _) = gcra::reserve(None, 0.0, 1000.0, Q);
        assert!((tat - 20.0).abs() < 1e-9);
        // 600 of the 1000 were not charged.
        let tat = gcra::refund(Some(tat), 0.0, 600.0, Q);
        assert!((tat - 8.0).abs() < 1e-9);
        // The platform says only 100 left: 900 of debt = 18 s.
        let tat = gcra::observe(Some(tat), 0.0, 100.0, Q);
        assert!((tat - 18.0).abs() < 1e-9);
        // A more generous report never loosens the model.
        assert_eq!(gcra::observe(Some(tat), 0.0, 1000.0, Q), tat);
        // Refunds never push the bucket past full.
        assert_eq!(gcra::refund(Some(1.0), 5.0, 100.0, Q), 5.0);
    }

    #[test]
    fn cost_above_burst_is_charged_as_burst() {
        let (tat, wait) = gcra::reserve(None, 0.0, 5000.0, Q);
        assert_eq!(wait, 0.0);
        assert!((tat - 20.0).abs() < 1e-9);
    }
}

//! Upstream pacing: per-store budgets that keep the gateway within a platform's published
//! limits, so clients never see the platform's own throttling.
//!
//! A budget is a leaky (token) bucket: it holds up to `burst` units and refills at
//! `rate_per_sec`. A call that costs `c` units takes them at once; when the bucket cannot pay,
//! the caller is told how long to wait before sending. Reservations are taken immediately, so
//! concurrent callers queue up instead of stampeding. Platforms that price calls (Shopify's
//! query cost) reserve the expected cost, give back what the platform did not charge
//! ([`Pacer::refund`]) and align the model with what the platform reports
//! ([`Pacer::observe`]).
//!
//! A bucket's state is its level (units available; negative while reservations are queued),
//! when that level was computed, and the quota the platform last reported. Refilling with the caller's quota at each
//! operation keeps the state meaningful when the quota changes (Shopify tells its bucket
//! size and restore rate with every answer; a plan upgrade changes them) and when callers on
//! different instances learned the quota at different times. Every operation is a single
//! read-modify-write, which is what lets the gateway's Redis mode run the same algorithm as
//! one atomic script shared by every instance. [`LocalPacer`] is the in-process default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{CallContext, ConnectorError, Result};

/// A budget: `burst` units at most, refilled at `rate_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub rate_per_sec: f64,
    pub burst: f64,
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

    /// The platform reports `available` units left right now in a bucket of `quota`. The
    /// pacer remembers that quota for `key` (it then wins over callers' defaults) and only
    /// ever lowers its level from this: someone else using the same account drains the
    /// bucket.
    async fn observe(&self, key: &str, available: f64, quota: Quota) -> Result<()>;
}

/// Waits for a call's turn in `key`'s budget: reserves `cost` units and sleeps the wait
/// the pacer answers. When that wait would pass the request's deadline
/// ([`CallContext::deadline`]) or `max_wait`, the units go back and the call answers
/// [`ConnectorError::RateLimited`] at once, with the wait as its `retry_after`, instead of
/// hanging until the gateway's own timeout.
///
/// Background work ([`CallContext::background`]: the poller) never waits, and takes units
/// only while the bucket keeps half of the rest of its burst for client requests: the
/// poller uses what clients leave, and a busy client is never starved by it.
///
/// On success the `cost` units are spent; a caller that learns the call cost less (or
/// was not sent) gives them back with [`Pacer::refund`].
pub async fn take_turn(
    pacer: &dyn Pacer,
    cx: &CallContext,
    key: &str,
    cost: f64,
    quota: Quota,
    max_wait: Duration,
) -> Result<()> {
    if cx.background {
        let keep = ((quota.burst - cost) / 2.0).max(0.0);
        let wait = pacer.reserve(key, cost + keep, quota).await?;
        if !wait.is_zero() {
            pacer.refund(key, cost + keep, quota).await?;
            return Err(ConnectorError::RateLimited {
                retry_after: Some(wait),
            });
        }
        return pacer.refund(key, keep, quota).await;
    }
    let wait = pacer.reserve(key, cost, quota).await?;
    if wait.is_zero() {
        return Ok(());
    }
    let past_deadline = cx.deadline.is_some_and(|d| Instant::now() + wait >= d);
    if past_deadline || wait > max_wait {
        pacer.refund(key, cost, quota).await?;
        return Err(ConnectorError::RateLimited {
            retry_after: Some(wait),
        });
    }
    tracing::debug!(?wait, cost, "pacing an upstream call");
    tokio::time::sleep(wait).await;
    Ok(())
}

/// The pure algorithm on seconds, shared by [`LocalPacer`] and the tests (and mirrored by the
/// gateway's Redis script). A state is `(level, at)`; `None` is a full bucket.
pub mod bucket {
    use super::Quota;

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct State {
        /// Units available; negative while reservations queue.
        pub level: f64,
        /// When `level` was computed (seconds).
        pub at: f64,
        /// The quota the platform last reported for this bucket; it wins over the callers'
        /// defaults, so an instance that has not yet heard from the platform paces by what
        /// another instance learned.
        pub quota: Option<Quota>,
    }

    fn effective(state: Option<State>, q: Quota) -> Quota {
        state.and_then(|s| s.quota).unwrap_or(q)
    }

    /// The level at `now`: refilled since `at`, never above the burst.
    pub fn level(state: Option<State>, now: f64, q: Quota) -> f64 {
        let q = effective(state, q);
        match state {
            None => q.burst,
            Some(s) => (s.level + (now - s.at).max(0.0) * q.rate_per_sec).min(q.burst),
        }
    }

    fn next(state: Option<State>, now: f64, level: f64) -> State {
        State {
            level,
            at: now,
            quota: state.and_then(|s| s.quota),
        }
    }

    /// Takes `cost` (at most the burst, which could never be paid): the new state and the
    /// wait before the call may go.
    pub fn reserve(state: Option<State>, now: f64, cost: f64, q: Quota) -> (State, f64) {
        let eq = effective(state, q);
        let cost = cost.clamp(0.0, eq.burst.max(0.0));
        let level = level(state, now, q) - cost;
        let wait = if level >= 0.0 {
            0.0
        } else {
            -level / eq.rate_per_sec.max(1e-9)
        };
        (next(state, now, level), wait)
    }

    pub fn refund(state: Option<State>, now: f64, units: f64, q: Quota) -> State {
        let burst = effective(state, q).burst;
        next(
            state,
            now,
            (level(state, now, q) + units.max(0.0)).min(burst),
        )
    }

    /// The platform reports `available` units now and its bucket `reported`: remember the
    /// quota; the level only ever goes down (someone else draining the bucket is learned,
    /// our own queued reservations are not forgotten).
    pub fn observe(state: Option<State>, now: f64, available: f64, reported: Quota) -> State {
        let level = level(state, now, reported)
            .min(available.max(0.0))
            .min(reported.burst);
        State {
            level,
            at: now,
            quota: Some(reported),
        }
    }
}

/// In-process budgets (one gateway instance).
#[derive(Debug)]
pub struct LocalPacer {
    origin: Instant,
    buckets: Mutex<HashMap<String, bucket::State>>,
}

impl Default for LocalPacer {
    fn default() -> Self {
        LocalPacer {
            origin: Instant::now(),
            buckets: Mutex::default(),
        }
    }
}

/// Past this many buckets, idle ones are forgotten (a missing bucket reads as full).
const FORGET_AFTER_ENTRIES: usize = 10_000;

impl LocalPacer {
    fn with_bucket<T>(
        &self,
        key: &str,
        f: impl FnOnce(Option<bucket::State>, f64) -> (bucket::State, T),
    ) -> T {
        let now = self.origin.elapsed().as_secs_f64();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > FORGET_AFTER_ENTRIES {
            // Buckets untouched for an hour are full again under any realistic quota.
            map.retain(|_, b| now - b.at < 3600.0);
        }
        let (state, out) = f(map.get(key).copied(), now);
        map.insert(key.to_owned(), state);
        out
    }
}

#[async_trait]
impl Pacer for LocalPacer {
    async fn reserve(&self, key: &str, cost: f64, quota: Quota) -> Result<Duration> {
        let wait = self.with_bucket(key, |b, now| bucket::reserve(b, now, cost, quota));
        Ok(Duration::from_secs_f64(wait))
    }

    async fn refund(&self, key: &str, units: f64, quota: Quota) -> Result<()> {
        self.with_bucket(key, |b, now| (bucket::refund(b, now, units, quota), ()));
        Ok(())
    }

    async fn observe(&self, key: &str, available: f64, quota: Quota) -> Result<()> {
        self.with_bucket(key, |b, now| {
            (bucket::observe(b, now, available, quota), ())
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::bucket;
    use super::{take_turn, LocalPacer, Pacer, Quota};
    use crate::{CallContext, ConnectorError};
    use std::time::{Duration, Instant};

    /// A searchOrders-like budget: burst 4, one unit per 10 s.
    const SLOW: Quota = Quota {
        rate_per_sec: 0.1,
        burst: 4.0,
    };

    #[tokio::test]
    async fn a_turn_past_the_deadline_is_refused_at_once_and_costs_nothing() {
        let pacer = LocalPacer::default();
        let cx = CallContext::new(false).with_deadline(Instant::now() + Duration::from_secs(5));
        for _ in 0..4 {
            take_turn(&pacer, &cx, "k", 1.0, SLOW, Duration::from_secs(60))
                .await
                .unwrap();
        }
        let started = Instant::now();
        let got = take_turn(&pacer, &cx, "k", 1.0, SLOW, Duration::from_secs(60)).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "answered at once"
        );
        match got {
            Err(ConnectorError::RateLimited {
                retry_after: Some(w),
            }) => assert!(w > Duration::from_secs(9), "{w:?}"),
            other => panic!("{other:?}"),
        }
        // The refused turn gave its unit back: the next one waits no longer than before.
        let w = pacer.reserve("k", 1.0, SLOW).await.unwrap();
        assert!(w <= Duration::from_secs(10), "{w:?}");
        // Within max_wait and the deadline, a turn waits.
        let fast = Quota {
            rate_per_sec: 20.0,
            burst: 1.0,
        };
        take_turn(&pacer, &cx, "f", 1.0, fast, Duration::from_secs(1))
            .await
            .unwrap();
        let started = Instant::now();
        take_turn(&pacer, &cx, "f", 1.0, fast, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(40));
    }

    #[tokio::test]
    async fn background_turns_never_wait_and_leave_half_the_burst() {
        let pacer = LocalPacer::default();
        let bg = CallContext::for_background();
        // Burst 4, cost 1: the poller goes while 1 + (4 - 1) / 2 units are there.
        for _ in 0..2 {
            take_turn(&pacer, &bg, "k", 1.0, SLOW, Duration::from_secs(60))
                .await
                .unwrap();
        }
        let got = take_turn(&pacer, &bg, "k", 1.0, SLOW, Duration::from_secs(60)).await;
        assert!(
            matches!(got, Err(ConnectorError::RateLimited { .. })),
            "{got:?}"
        );
        // Clients still find the two units the poller left.
        let client = CallContext::new(false);
        for _ in 0..2 {
            let started = Instant::now();
            take_turn(&pacer, &client, "k", 1.0, SLOW, Duration::ZERO)
                .await
                .unwrap();
            assert!(started.elapsed() < Duration::from_millis(100));
        }
    }

    const Q: Quota = Quota {
        rate_per_sec: 50.0,
        burst: 1000.0,
    };

    #[test]
    fn a_full_bucket_pays_at_once_then_refills_at_the_rate() {
        // 1000 units free at t=0: ten calls of 100 go at once.
        let mut b = None;
        for _ in 0..10 {
            let (s, wait) = bucket::reserve(b, 0.0, 100.0, Q);
            assert_eq!(wait, 0.0);
            b = Some(s);
        }
        // The eleventh waits for 100 units at 50/s.
        let (s, wait) = bucket::reserve(b, 0.0, 100.0, Q);
        assert!((wait - 2.0).abs() < 1e-9, "{wait}");
        // And a later one queues behind it.
        let (_, wait) = bucket::reserve(Some(s), 0.0, 50.0, Q);
        assert!((wait - 3.0).abs() < 1e-9, "{wait}");
        // Two seconds on, the queue has drained by 100 units.
        let (_, wait) = bucket::reserve(Some(s), 2.0, 50.0, Q);
        assert!((wait - 1.0).abs() < 1e-9, "{wait}");
    }

    #[test]
    fn refunds_and_observations() {
        let (b, _) = bucket::reserve(None, 0.0, 1000.0, Q);
        assert_eq!(b.level, 0.0);
        // 600 of the 1000 were not charged.
        let b = bucket::refund(Some(b), 0.0, 600.0, Q);
        assert_eq!(b.level, 600.0);
        // The platform says only 100 left.
        let b = bucket::observe(Some(b), 0.0, 100.0, Q);
        assert_eq!(b.level, 100.0);
        // A more generous report never loosens the model.
        assert_eq!(bucket::observe(Some(b), 0.0, 1000.0, Q).level, 100.0);
        // Refunds never push the bucket past full.
        let nearly_full = bucket::State {
            level: 990.0,
            at: 0.0,
            quota: None,
        };
        assert_eq!(
            bucket::refund(Some(nearly_full), 0.0, 100.0, Q).level,
            1000.0
        );
    }

    #[test]
    fn a_changed_quota_applies_from_now_on() {
        // Drained under a slow quota, then the platform reveals a faster one: the level
        // (in units) carries over and refills at the new rate.
        let (b, _) = bucket::reserve(None, 0.0, 1000.0, Q);
        let fast = Quota {
            rate_per_sec: 1000.0,
            burst: 2000.0,
        };
        let b = bucket::observe(Some(b), 0.0, 0.0, fast);
        // Every caller now paces by the reported quota, whatever default it brings.
        let (_, wait) = bucket::reserve(Some(b), 0.0, 500.0, Q);
        assert!((wait - 0.5).abs() < 1e-9, "{wait}");
    }

    #[test]
    fn cost_above_burst_is_charged_as_burst() {
        let (b, wait) = bucket::reserve(None, 0.0, 5000.0, Q);
        assert_eq!(wait, 0.0);
        assert_eq!(b.level, 0.0);
    }
}

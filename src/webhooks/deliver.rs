//! Delivering events to subscribers: claim due deliveries, build each body, sign it, POST
//! it, record the attempt, and schedule the next one.
//!
//! At least once: a delivery is done when the subscriber answered 2xx; anything else (a
//! timeout, a refused connection, a 3xx — redirects are not followed — or any other status)
//! is retried on the retry schedule, and failed when the schedule is used up. A subscription
//! whose every attempt has failed for [`DISABLE_AFTER`] is disabled, with the reason shown
//! in the API. The body is built when it is sent: from the platform's payload while the
//! gateway still holds it in memory (the first attempt of a pushed event), otherwise read
//! fresh from the platform, so a retry carries the object's current state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::{Notify, Semaphore};

use super::sign::{self, Secret};
use crate::state::AppState;
use crate::storage::webhooks::{
    Attempt, Claimed, DeliveryRecord, DeliveryStatus, EventRef, SubscriptionRecord,
    SubscriptionStatus, MAX_ATTEMPTS_KEPT,
};
use crate::storage::CasOutcome;

/// A subscription whose every attempt failed for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 86_400);
/// How much of a subscriber's answer is read (and then dropped: answers are not stored).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024;
/// Deliveries sent at once per subscription: a slow receiver cannot starve the others.
pub const PER_SUBSCRIPTION_CONCURRENCY: usize = 8;
/// Deliveries in flight at once per instance.
pub const MAX_IN_FLIGHT: usize = 256;
/// How often the queue is looked at when nothing woke the worker (retries coming due,
/// work enqueued by another instance).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How long a delivery waits for its subscription's share before it is deferred.
const SHARE_WAIT: Duration = Duration::from_millis(50);
/// How long a deferred delivery (its subscription busy) waits before it is claimed again.
const DEFER: Duration = Duration::from_millis(200);
/// Bodies kept in memory for first attempts, by event id.
const BODY_CACHE: usize = 4096;

/// The sending side of the stream: one per instance.
pub struct Deliverer {
    state: Arc<AppState>,
    client: reqwest::Client,
    schedule: Vec<Duration>,
    timeout: Duration,
    /// This instance's name on leases.
    owner: String,
    wake: Notify,
    in_flight: Arc<Semaphore>,
    per_subscription: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Unified objects by event id, while memory lasts: the source's own (a platform's
    /// payload, a poll's read; `true`), used by every attempt, or one read from the
    /// platform for the event (`false`), shared by the first attempts only.
    bodies: Mutex<lru::LruCache<String, (Value, bool)>>,
    /// Finished attempts on their way to storage, written in batches (one transaction,
    /// one disk sync on the embedded store, for many deliveries).
    finished: tokio::sync::mpsc::UnboundedSender<DeliveryRecord>,
    finished_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<DeliveryRecord>>>,
}

/// Finished attempts written in one batch at most.
const FINISH_BATCH: usize = 256;

/// The event a subscriber receives.
pub fn envelope(event: &EventRef, data: Value) -> Value {
    json!({
        "id": event.id,
        "type": event.event_type,
        "store_id": event.store_id,
        "occurred_at": event.occurred_at,
        "data": data,
    })
}

impl Deliverer {
    pub fn new(state: Arc<AppState>) -> anyhow::Result<Arc<Deliverer>> {
        let settings = &state.settings;
        let timeout = Duration::from_secs(settings.webhook_timeout_secs);
        let client = cartgate_connector::http::ssrf_safe_client(settings.allow_private_upstreams)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .pool_max_idle_per_host(16)
            .build()?;
        let (finished, finished_rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(Arc::new(Deliverer {
            finished,
            finished_rx: Mutex::new(Some(finished_rx)),
            schedule: settings.webhook_retry_schedule()?,
            timeout,
            client,
            owner: format!("inst_{}", uuid::Uuid::new_v4().simple()),
            wake: Notify::new(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            per_subscription: Mutex::new(HashMap::new()),
            bodies: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(BODY_CACHE).expect("non-zero"),
            )),
            state,
        }))
    }

    /// The lease of one claimed delivery: long enough for one attempt, short enough that an
    /// instance killed mid-delivery has its work taken over soon.
    fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }

    /// Keeps the source's object of `event_id` for its deliveries.
    pub fn hold_body(&self, event_id: &str, data: Value) {
        self.bodies
            .lock()
            .expect("body cache")
            .put(event_id.to_owned(), (data, true));
    }

    /// New deliveries are queued: look at the queue now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Claims and sends until `shutdown` fires; sends in flight finish first (their
    /// leases would otherwise have to pass before another instance takes them over).
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let (flush, flushed) = tokio::sync::oneshot::channel::<()>();
        let finisher = self
            .finished_rx
            .lock()
            .expect("finisher")
            .take()
            .map(|rx| tokio::spawn(self.clone().write_finished(rx, flushed)));
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let room = self.in_flight.available_permits().min(64);
            let claimed = if room == 0 {
                Vec::new()
            } else {
                match self
                    .state
                    .storage
                    .claim_due(Utc::now(), &self.owner, self.lease(), room)
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook queue unavailable");
                        Vec::new()
                    }
                }
            };
            let full = !claimed.is_empty() && claimed.len() == room;
            for c in claimed {
                let permit = self
                    .in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed");
                let me = self.clone();
                tasks.spawn(async move {
                    me.attempt(c).await;
                    drop(permit);
                });
            }
            while tasks.try_join_next().is_some() {}
            if full {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        // Every attempt is in the channel now: the finisher writes them all, then ends.
        let _ = flush.send(());
        if let Some(f) = finisher {
            let _ = f.await;
        }
    }

    /// Writes finished attempts in batches until `flush`, then what is left, and ends.
    async fn write_finished(
        self: Arc<Self>,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<DeliveryRecord>,
        mut flush: tokio::sync::oneshot::Receiver<()>,
    ) {
        let owner = self.owner.clone();
        let storage = self.state.storage.clone();
        drop(self);
        let mut batch = Vec::with_capacity(FINISH_BATCH);
        let mut flushing = false;
        loop {
            if flushing {
                while batch.len() < FINISH_BATCH {
                    match rx.try_recv() {
                        Ok(d) => batch.push(d),
                        Err(_) => break,
                    }
                }
                if batch.is_empty() {
                    return;
                }
            } else {
                tokio::select! {
                    n = rx.recv_many(&mut batch, FINISH_BATCH) => if n == 0 { return },
                    _ = &mut flush => { flushing = true; continue; }
                }
            }
            match storage.finish_attempts(&batch, &owner).await {
                Ok(outcomes) => {
                    for (d, o) in batch.iter().zip(outcomes) {
                        if o == CasOutcome::Written {
                            metrics::counter!("cartgate_webhook_attempts_total",
                            "outcome" => match d.status {
                                DeliveryStatus::Delivered => "delivered",
                                DeliveryStatus::Failed => "failed",
                                DeliveryStatus::Pending => "retry",
                            })
                            .increment(1);
                        } else {
                            tracing::info!(delivery = %d.id, outcome = ?o, "delivery changed meanwhile (lease passed or retried by hand)");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, n = batch.len(), "could not record delivery attempts; their leases will pass")
                }
            }
            batch.clear();
        }
    }

    fn subscription_slot(&self, id: &str) -> Arc<Semaphore> {
        self.per_subscription
            .lock()
            .expect("slots")
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_SUBSCRIPTION_CONCURRENCY)))
            .clone()
    }

    /// One attempt of one claimed delivery, recorded whatever happens.
    async fn attempt(&self, c: Claimed) {
        let mut d = c.delivery;
        let storage = &self.state.storage;
        let sub = match storage.get_subscription(&d.subscription_id).await {
            Ok(Some(s)) if s.status == SubscriptionStatus::Active => s,
            Ok(other) => {
                let why = if other.is_some() {
                    "the subscription is disabled"
                } else {
                    "the subscription was deleted"
                };
                d.status = DeliveryStatus::Failed;
                d.next_attempt_at = None;
                push_attempt(
                    &mut d,
                    Attempt {
                        at: Utc::now(),
                        status_code: None,
                        error: Some(why.into()),
                        latency_ms: 0,
                    },
                );
                self.finish(&d).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a subscription; the lease will pass");
                return;
            }
        };
        let slot = self.subscription_slot(&sub.id);
        // Wait a moment for the subscription's share (a fast receiver frees it at once); a
        // receiver that keeps it busy has this delivery put back in the queue instead (no
        // attempt spent), so its deliveries never hold the instance's in-flight slots that
        // other subscriptions need.
        let Ok(Ok(_permit)) = tokio::time::timeout(SHARE_WAIT, slot.acquire_owned()).await else {
            // The subscription has its share in flight: back in the queue, no attempt spent.
            d.next_attempt_at =
                Some(Utc::now() + chrono::Duration::from_std(DEFER).unwrap_or_default());
            self.finish(&d).await;
            return;
        };
        let outcome = self.send(&sub, &d.event, d.attempts.is_empty()).await;
        let now = Utc::now();
        let ok = outcome.status_code.is_some_and(|s| (200..300).contains(&s));
        push_attempt(&mut d, outcome);
        if ok {
            d.status = DeliveryStatus::Delivered;
            d.next_attempt_at = None;
        } else {
            // The n-th failed attempt waits schedule[n-1]; past the schedule it is failed.
            match self.schedule.get(d.attempts.len() - 1) {
                Some(wait) => {
                    d.next_attempt_at =
                        Some(now + chrono::Duration::from_std(*wait).unwrap_or_default());
                }
                None => {
                    d.status = DeliveryStatus::Failed;
                    d.next_attempt_at = None;
                }
            }
        }
        self.finish(&d).await;
        self.track_health(&sub.id, ok, now).await;
    }

    async fn finish(&self, d: &DeliveryRecord) {
        if self.finished.send(d.clone()).is_err() {
            tracing::warn!(delivery = %d.id, "the finisher stopped; the lease will pass");
        }
    }

    /// POSTs the event; the outcome as an attempt. Nothing of the answer is kept but its
    /// status.
    async fn send(
        &self,
        sub: &SubscriptionRecord,
        event: &EventRef,
        first_attempt: bool,
    ) -> Attempt {
        let started = Instant::now();
        let at = Utc::now();
        let fail = |status_code: Option<u16>, error: String| Attempt {
            at,
            status_code,
            error: Some(error),
            latency_ms: started.elapsed().as_millis() as u64,
        };
        let url = match url::Url::parse(&sub.url) {
            Ok(u) => u,
            Err(_) => return fail(None, "the subscription URL does not parse".into()),
        };
        if let Err(e) = cartgate_connector::http::check_target(
            &url,
            self.state.settings.allow_private_upstreams,
        ) {
            return fail(None, e.to_string());
        }
        let body = match self.body(event, first_attempt).await {
            Ok(b) => b,
            Err(e) => return fail(None, e),
        };
        let secrets = match self.secrets(sub, at) {
            Ok(s) => s,
            Err(e) => return fail(None, e),
        };
        let timestamp = at.timestamp();
        let signature = sign::signature(&secrets, &event.id, timestamp, &body);
        let resp = self
            .client
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match resp {
            Ok(mut r) => {
                let status = r.status().as_u16();
                // Read a little of the answer (so the connection can be reused), keep none.
                let mut read = 0usize;
                while read < MAX_RESPONSE_BYTES {
                    match r.chunk().await {
                        Ok(Some(c)) => read += c.len(),
                        _ => break,
                    }
                }
                let latency_ms = started.elapsed().as_millis() as u64;
                metrics::histogram!("cartgate_webhook_latency_seconds")
                    .record(latency_ms as f64 / 1000.0);
                Attempt {
                    at,
                    status_code: Some(status),
                    error: (!(200..300).contains(&status)).then(|| {
                        if (300..400).contains(&status) {
                            format!("answered {status}; redirects are not followed")
                        } else {
                            format!("answered {status}")
                        }
                    }),
                    latency_ms,
                }
            }
            Err(e) if e.is_timeout() => fail(
                None,
                format!("no answer within {}s", self.timeout.as_secs()),
            ),
            Err(e) if e.is_connect() => fail(None, "could not connect".into()),
            Err(_) => fail(None, "the request failed".into()),
        }
    }

    fn secrets(&self, sub: &SubscriptionRecord, now: DateTime<Utc>) -> Result<Vec<Secret>, String> {
        let ring = self.state.master_key();
        let ctx = super::secret_context(&sub.id);
        let open = |sealed: &crate::crypto::Sealed| {
            ring.open(sealed, &ctx)
                .ok()
                .and_then(|p| String::from_utf8(p).ok())
                .and_then(|s| Secret::parse(&s))
                .ok_or_else(|| "the subscription's secret cannot be opened".to_owned())
        };
        let mut out = vec![open(&sub.secret)?];
        if let Some((prev, until)) = &sub.previous_secret {
            if *until > now {
                out.push(open(prev)?);
            }
        }
        Ok(out)
    }

    /// The body of an event: the source's object while it is held in memory; otherwise the
    /// object read from the platform, once per event for its first attempts (one read serves
    /// every subscription) and afresh for a retry, so a retry carries the current state.
    async fn body(&self, event: &EventRef, first_attempt: bool) -> Result<Bytes, String> {
        let held = self
            .bodies
            .lock()
            .expect("body cache")
            .get(&event.id)
            .filter(|(_, from_source)| *from_source || first_attempt)
            .map(|(d, _)| d.clone());
        let data = match held {
            Some(d) => d,
            None => {
                let d = super::read_object(&self.state, event).await?;
                if first_attempt {
                    self.bodies
                        .lock()
                        .expect("body cache")
                        .put(event.id.clone(), (d.clone(), false));
                }
                d
            }
        };
        serde_json::to_vec(&envelope(event, data))
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    }

    /// Keeps the subscription's failure streak, and disables it after [`DISABLE_AFTER`] of
    /// failures only.
    async fn track_health(&self, id: &str, ok: bool, now: DateTime<Utc>) {
        for _ in 0..5 {
            let Ok(Some(mut sub)) = self.state.storage.get_subscription(id).await else {
                return;
            };
            match (ok, sub.failing_since) {
                (true, None) => return,
                (true, Some(_)) => sub.failing_since = None,
                (false, None) => sub.failing_since = Some(now),
                (false, Some(since)) => {
                    if sub.status != SubscriptionStatus::Active
                        || (now - since).to_std().unwrap_or_default() < DISABLE_AFTER
                    {
                        return;
                    }
                    sub.status = SubscriptionStatus::Disabled;
                    sub.disabled_reason = Some(format!(
                        "every delivery attempt failed from {} to {}; fix the endpoint and set \
                         status to active again",
                        since.to_rfc3339(),
                        now.to_rfc3339()
                    ));
                }
            }
            sub.updated_at = now;
            match self.state.storage.update_subscription(&sub).await {
                Ok(CasOutcome::Stale) => continue,
                _ => return,
            }
        }
    }
}

fn push_attempt(d: &mut DeliveryRecord, a: Attempt) {
    d.attempts.push(a);
    if d.attempts.len() > MAX_ATTEMPTS_KEPT {
        let cut = d.attempts.len() - MAX_ATTEMPTS_KEPT;
        d.attempts.drain(..cut);
    }
}

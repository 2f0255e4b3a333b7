//! Webhook subscriptions, their delivery queue, inbound dedupe ids and poll watermarks.
//!
//! The queue holds event *references* (type, store, object id, time), never store data: a
//! delivery's body is built when it is sent (see `crate::webhooks`). Every read-modify-write
//! is conditional on the record's `version`, and queue work is claimed with a lease, so many
//! instances can share one queue: a delivery claimed by an instance that dies is claimed
//! again once its lease has passed.
//!
//! A delivery's life: [`Webhooks::enqueue_deliveries`] stores it `pending` and queues it at
//! its `next_attempt_at`; [`Webhooks::claim_due`] leases it to one instance once it is due;
//! that instance attempts it and [`Webhooks::finish_attempt`]s it: `pending` again (queued
//! at the new `next_attempt_at`), or `delivered`/`failed` (out of the queue, kept for the
//! deliveries API until [`Webhooks::purge_deliveries`]). [`Webhooks::update_delivery`] is a
//! manual retry (`pending`, due now), which also ends any lease.
//!
//! The queue does not know subscriptions: a delivery whose subscription was deleted while it
//! was being enqueued (on Redis the two live in different slots) is still claimed; the
//! engine finishes it as `failed`, and the purge removes it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CasOutcome, StorageResult};
use crate::crypto::Sealed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// `wh_…` followed by a UUIDv7: ids sort in creation order, which is the listing order.
    pub id: String,
    pub account_id: String,
    pub url: String,
    /// Event type names (`order.created`, …); never empty.
    pub event_types: Vec<String>,
    /// `None`: every store of the account, present and future.
    pub store_ids: Option<Vec<String>>,
    pub description: Option<String>,
    pub status: SubscriptionStatus,
    /// Why the gateway disabled it (failing for days), shown in the API.
    pub disabled_reason: Option<String>,
    /// The `whsec_…` secret, sealed with [`secret_context`] (the subscription id).
    pub secret: Sealed,
    /// The secret before the last rotation and until when deliveries are also signed with it
    /// (sealed like `secret`).
    pub previous_secret: Option<(Sealed, DateTime<Utc>)>,
    /// Start of the current run of failed attempts (none while deliveries succeed).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write, as [`StoreRecord::version`](super::StoreRecord::version).
    #[serde(default)]
    pub version: u64,
}

/// The associated data a subscription's secrets are sealed with: a sealed secret cannot be
/// moved to another subscription.
pub fn secret_context(subscription_id: &str) -> String {
    format!("webhook:{subscription_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// What happened, without the object itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRef {
    /// `evt_…`: the `webhook-id` of every delivery and retry of this event.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub store_id: String,
    pub object_id: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's status; null when no answer came (timeout, refused connection).
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// `dlv_…`
    pub id: String,
    pub subscription_id: String,
    pub account_id: String,
    pub event: EventRef,
    pub status: DeliveryStatus,
    /// Oldest first; at most [`MAX_ATTEMPTS_KEPT`] (the newest).
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (pending only; a pending delivery without one is due at
    /// once).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Bumped by every write ([`Webhooks::finish_attempt`], [`Webhooks::update_delivery`]);
    /// a claim does not change it.
    #[serde(default)]
    pub version: u64,
}

impl SubscriptionRecord {
    /// The record a conditional write of `self` stores: the same with the next version.
    pub fn next_version(&self) -> SubscriptionRecord {
        let mut next = self.clone();
        next.version += 1;
        next
    }
}

impl DeliveryRecord {
    /// The record a conditional write of `self` stores: the same with the next version.
    pub fn next_version(&self) -> DeliveryRecord {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// Whether it belongs in the queue, and from when: pending ones only.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        (self.status == DeliveryStatus::Pending)
            .then(|| self.next_attempt_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH))
    }
}

/// Attempts kept per delivery.
pub const MAX_ATTEMPTS_KEPT: usize = 20;

/// A delivery claimed for one attempt: only `owner` may finish it; after `until` another
/// instance may claim it (and then the first can no longer finish it).
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// As stored when claimed (its `version` is the one to finish with).
    pub delivery: DeliveryRecord,
    pub owner: String,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    /// Strictly older than this (created_at, id): newest-first paging.
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: usize,
}

/// Where polling of a store has got to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    pub store_id: String,
    /// Per list (`orders`, `products`, `customers`): changes up to this time were seen.
    pub watermarks: std::collections::BTreeMap<String, DateTime<Utc>>,
    #[serde(default)]
    pub version: u64,
}

#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Creates a subscription; false when the id is taken.
    async fn insert_subscription(&self, s: &SubscriptionRecord) -> StorageResult<bool>;
    async fn get_subscription(&self, id: &str) -> StorageResult<Option<SubscriptionRecord>>;
    /// The account's subscriptions in id order (oldest first, ids being UUIDv7), those after
    /// the id `after` when given (which need not exist any more).
    async fn list_subscriptions(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<SubscriptionRecord>>;
    /// Every subscription of the account (the fan-out of an event reads them), in id order.
    async fn account_subscriptions(
        &self,
        account_id: &str,
    ) -> StorageResult<Vec<SubscriptionRecord>>;
    /// Compare-and-set, as `update_store`: writes `s` at `s.version + 1` only while the
    /// stored one has `s.version`; never recreates a deleted one.
    async fn update_subscription(&self, s: &SubscriptionRecord) -> StorageResult<CasOutcome>;
    /// Removes it and its deliveries.
    async fn delete_subscription(&self, id: &str) -> StorageResult<bool>;

    /// Stores new deliveries and queues the pending ones at their `next_attempt_at`. A
    /// delivery whose id exists already is left as it is.
    async fn enqueue_deliveries(&self, d: &[DeliveryRecord]) -> StorageResult<()>;
    /// Claims up to `limit` pending deliveries due at `now` (`next_attempt_at <= now`) and
    /// not under a live lease, leasing each to `owner` until `now + lease`. Two instances
    /// claiming at once never get the same delivery.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease: std::time::Duration,
        limit: usize,
    ) -> StorageResult<Vec<Claimed>>;
    /// Writes the delivery after an attempt (status, attempts, next_attempt_at) at version
    /// + 1 and ends the lease, only while `owner` still holds it (nobody claimed it since,
    /// even if its time ran out) and the stored version is `d.version`; requeues it at its
    /// `next_attempt_at` when pending. Otherwise `Stale` (or `Missing` when it is gone).
    async fn finish_attempt(&self, d: &DeliveryRecord, owner: &str) -> StorageResult<CasOutcome> {
        let outcomes = self.finish_attempts(std::slice::from_ref(d), owner).await?;
        Ok(outcomes.first().copied().unwrap_or(CasOutcome::Missing))
    }
    /// [`Webhooks::finish_attempt`] of many deliveries at once (one transaction on the
    /// embedded store, one round trip on Redis), each on its own terms; answers in order.
    /// A busy instance finishes its attempts in batches: on the embedded store every
    /// transaction is a disk sync.
    async fn finish_attempts(
        &self,
        d: &[DeliveryRecord],
        owner: &str,
    ) -> StorageResult<Vec<CasOutcome>>;
    async fn get_delivery(&self, id: &str) -> StorageResult<Option<DeliveryRecord>>;
    /// A subscription's deliveries, newest first by (created_at to the microsecond, id).
    async fn list_deliveries(
        &self,
        subscription_id: &str,
        q: &DeliveryQuery,
    ) -> StorageResult<Vec<DeliveryRecord>>;
    /// Compare-and-set of a delivery outside an attempt (a manual retry): ends any lease (an
    /// attempt in flight can then no longer finish) and requeues it at its
    /// `next_attempt_at` when pending.
    async fn update_delivery(&self, d: &DeliveryRecord) -> StorageResult<CasOutcome>;
    /// Deletes finished (delivered or failed) deliveries created before `before`; returns
    /// how many.
    async fn purge_deliveries(&self, before: DateTime<Utc>) -> StorageResult<u64>;

    /// Records a platform delivery id of a store; false when it was seen within `ttl`.
    async fn remember_inbound(
        &self,
        store_id: &str,
        delivery_id: &str,
        ttl: std::time::Duration,
    ) -> StorageResult<bool>;
    /// Forgets inbound ids whose `ttl` has passed (Redis expires them by itself); returns
    /// how many. The hourly purge (`crate::logsink::spawn_purger`) calls it.
    async fn purge_inbound(&self, now: DateTime<Utc>) -> StorageResult<u64>;

    /// The poll state of a store (watermarks per list), if it was polled before.
    async fn get_poll_state(&self, store_id: &str) -> StorageResult<Option<PollState>>;
    /// Creates (`version` 0 and none stored) or compare-and-sets a store's poll state;
    /// stored at `version + 1` when `Written`.
    async fn put_poll_state(&self, p: &PollState) -> StorageResult<CasOutcome>;
    /// Leases polling a store to `owner` for `lease` (from now; renewing when `owner` holds
    /// it already); false while another owner holds it.
    async fn claim_poll(
        &self,
        store_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> StorageResult<bool>;
    /// Forgets a store's poll state and lease (the store is gone).
    async fn delete_poll_state(&self, store_id: &str) -> StorageResult<()>;
}

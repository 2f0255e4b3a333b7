//! Webhook subscriptions, deliveries and their queue, inbound ids and poll state in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `webhooks` | subscription id → SubscriptionRecord (secrets sealed) |
//! | `account_webhooks` | `{account_id}/{subscription_id}` → "" |
//! | `deliveries` | delivery id → DeliveryRecord (an event reference, no store data) |
//! | `deliveries_by_subscription` | `{subscription_id}/{created µs:020}/{delivery_id}` → "" |
//! | `delivery_queue` | `{due µs:020}/{delivery_id}` → "" (pending deliveries) |
//! | `delivery_slots` | delivery id → its queue position and lease (pending deliveries) |
//! | `deliveries_finished` | `{created µs:020}/{delivery_id}` → "" (delivered or failed) |
//! | `inbound_ids` | `{store_id}/{platform delivery id}` → when it may be forgotten |
//! | `poll_state` | store id → PollState |
//! | `poll_leases` | store id → who polls it, until when |
//!
//! A claim moves a delivery's queue entry to the end of its lease, so the queue's due range
//! holds exactly the claimable deliveries; claim, finish and update are each one write
//! transaction, and redb runs one at a time, so two claims never get the same delivery.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::logs::micros;
use super::{
    from_json, index_key, last_segment, to_json, unavailable, EmbeddedStorage, IndexTable,
    JsonTable,
};
use crate::storage::{
    CasOutcome, Claimed, DeliveryQuery, DeliveryRecord, IfMissing, PollState, StorageResult,
    SubscriptionRecord, Webhooks,
};

pub(super) const WEBHOOKS: JsonTable = TableDefinition::new("webhooks");
pub(super) const ACCOUNT_WEBHOOKS: IndexTable = TableDefinition::new("account_webhooks");
pub(super) const DELIVERIES: JsonTable = TableDefinition::new("deliveries");
pub(super) const DELIVERIES_BY_SUBSCRIPTION: IndexTable =
    TableDefinition::new("deliveries_by_subscription");
pub(super) const DELIVERY_QUEUE: IndexTable = TableDefinition::new("delivery_queue");
pub(super) const DELIVERY_SLOTS: JsonTable = TableDefinition::new("delivery_slots");
pub(super) const DELIVERIES_FINISHED: IndexTable = TableDefinition::new("deliveries_finished");
pub(super) const INBOUND_IDS: JsonTable = TableDefinition::new("inbound_ids");
pub(super) const POLL_STATE: JsonTable = TableDefinition::new("poll_state");
pub(super) const POLL_LEASES: JsonTable = TableDefinition::new("poll_leases");

/// Who holds a delivery or a store's polling, until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lease {
    owner: String,
    until: DateTime<Utc>,
}

/// Where a pending delivery is in `delivery_queue`, and its lease while claimed (then `due`
/// is the lease's end).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    due: u64,
    lease: Option<Lease>,
}

fn queue_key(due: u64, id: &str) -> String {
    format!("{due:020}/{id}")
}

fn by_subscription_key(d: &DeliveryRecord) -> String {
    format!(
        "{}/{:020}/{}",
        d.subscription_id,
        micros(d.created_at),
        d.id
    )
}

fn finished_key(d: &DeliveryRecord) -> String {
    format!("{:020}/{}", micros(d.created_at), d.id)
}

/// The id at the end of an index key.
fn inbound_key(store_id: &str, delivery_id: &str) -> String {
    format!("{store_id}/{delivery_id}")
}

/// The delivery tables, open in one write transaction.
struct DeliveryTables<'tx> {
    records: Table<'tx, &'static str, &'static [u8]>,
    by_subscription: Table<'tx, &'static str, &'static str>,
    queue: Table<'tx, &'static str, &'static str>,
    slots: Table<'tx, &'static str, &'static [u8]>,
    finished: Table<'tx, &'static str, &'static str>,
}

impl<'tx> DeliveryTables<'tx> {
    fn open(tx: &'tx WriteTransaction) -> StorageResult<Self> {
        Ok(DeliveryTables {
            records: tx.open_table(DELIVERIES).map_err(unavailable)?,
            by_subscription: tx
                .open_table(DELIVERIES_BY_SUBSCRIPTION)
                .map_err(unavailable)?,
            queue: tx.open_table(DELIVERY_QUEUE).map_err(unavailable)?,
            slots: tx.open_table(DELIVERY_SLOTS).map_err(unavailable)?,
            finished: tx.open_table(DELIVERIES_FINISHED).map_err(unavailable)?,
        })
    }

    fn record(&self, id: &str) -> StorageResult<Option<DeliveryRecord>> {
        self.records
            .get(id)
            .map_err(unavailable)?
            .map(|v| from_json(v.value()))
            .transpose()
    }

    fn slot(&self, id: &str) -> StorageResult<Option<Slot>> {
        self.slots
            .get(id)
            .map_err(unavailable)?
            .map(|v| from_json(v.value()))
            .transpose()
    }

    /// Takes `id` out of the queue (with its lease) and out of the finished index, as
    /// `stored` placed it.
    fn unplace(&mut self, stored: &DeliveryRecord) -> StorageResult<()> {
        if let Some(slot) = self.slot(&stored.id)? {
            self.queue
                .remove(queue_key(slot.due, &stored.id).as_str())
                .map_err(unavailable)?;
            self.slots.remove(stored.id.as_str()).map_err(unavailable)?;
        }
        self.finished
            .remove(finished_key(stored).as_str())
            .map_err(unavailable)?;
        Ok(())
    }

    /// Writes `d` (over `stored`, when there is one) and puts it where its status says:
    /// queued at its due time without a lease, or in the finished index.
    fn write(&mut self, stored: Option<&DeliveryRecord>, d: &DeliveryRecord) -> StorageResult<()> {
        match stored {
            Some(old) => self.unplace(old)?,
            None => {
                self.by_subscription
                    .insert(by_subscription_key(d).as_str(), "")
                    .map_err(unavailable)?;
            }
        }
        self.records
            .insert(d.id.as_str(), to_json(d)?.as_slice())
            .map_err(unavailable)?;
        match d.due_at() {
            Some(at) => self.queue_at(&d.id, micros(at), None)?,
            None => {
                self.finished
                    .insert(finished_key(d).as_str(), "")
                    .map_err(unavailable)?;
            }
        }
        Ok(())
    }

    fn queue_at(&mut self, id: &str, due: u64, lease: Option<Lease>) -> StorageResult<()> {
        self.queue
            .insert(queue_key(due, id).as_str(), "")
            .map_err(unavailable)?;
        self.slots
            .insert(id, to_json(&Slot { due, lease })?.as_slice())
            .map_err(unavailable)?;
        Ok(())
    }

    /// Removes the delivery and every index entry of it.
    fn delete(&mut self, stored: &DeliveryRecord) -> StorageResult<()> {
        self.unplace(stored)?;
        self.by_subscription
            .remove(by_subscription_key(stored).as_str())
            .map_err(unavailable)?;
        self.records
            .remove(stored.id.as_str())
            .map_err(unavailable)?;
        Ok(())
    }

    /// The conditional write of [`Webhooks::finish_attempt`] (`owner` given: only while it
    /// holds the lease) and [`Webhooks::update_delivery`] (none).
    fn rewrite(&mut self, d: &DeliveryRecord, owner: Option<&str>) -> StorageResult<CasOutcome> {
        let Some(stored) = self.record(&d.id)? else {
            return Ok(CasOutcome::Missing);
        };
        if let Some(owner) = owner {
            let held = self
                .slot(&d.id)?
                .and_then(|s| s.lease)
                .is_some_and(|l| l.owner == owner);
            if !held {
                return Ok(CasOutcome::Stale);
            }
        }
        if stored.version != d.version {
            return Ok(CasOutcome::Stale);
        }
        self.write(Some(&stored), &d.next_version())?;
        Ok(CasOutcome::Written)
    }
}

impl EmbeddedStorage {
    /// The subscriptions of the account after `after`, in id order, at most `limit`.
    async fn subscriptions_of(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<SubscriptionRecord>> {
        self.page_indexed(ACCOUNT_WEBHOOKS, WEBHOOKS, account_id, after, limit)
            .await
    }
}

#[async_trait]
impl Webhooks for EmbeddedStorage {
    async fn insert_subscription(&self, s: &SubscriptionRecord) -> StorageResult<bool> {
        let bytes = to_json(s)?;
        let (id, index_key) = (s.id.clone(), index_key(&s.account_id, &s.id));
        self.write(move |tx| {
            let mut t = tx.open_table(WEBHOOKS).map_err(unavailable)?;
            if t.get(id.as_str()).map_err(unavailable)?.is_some() {
                return Ok(false);
            }
            t.insert(id.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            tx.open_table(ACCOUNT_WEBHOOKS)
                .map_err(unavailable)?
                .insert(index_key.as_str(), "")
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn get_subscription(&self, id: &str) -> StorageResult<Option<SubscriptionRecord>> {
        self.get(WEBHOOKS, id.to_owned()).await
    }

    async fn list_subscriptions(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<SubscriptionRecord>> {
        self.subscriptions_of(account_id, after, limit).await
    }

    async fn account_subscriptions(
        &self,
        account_id: &str,
    ) -> StorageResult<Vec<SubscriptionRecord>> {
        self.subscriptions_of(account_id, None, usize::MAX).await
    }

    async fn update_subscription(&self, s: &SubscriptionRecord) -> StorageResult<CasOutcome> {
        self.update(
            WEBHOOKS,
            s.id.clone(),
            s.version,
            &s.next_version(),
            IfMissing::Refuse,
        )
        .await
    }

    async fn delete_subscription(&self, id: &str) -> StorageResult<bool> {
        let id = id.to_owned();
        self.write(move |tx| {
            let removed = tx
                .open_table(WEBHOOKS)
                .map_err(unavailable)?
                .remove(id.as_str())
                .map_err(unavailable)?
                .map(|v| from_json::<SubscriptionRecord>(v.value()))
                .transpose()?;
            let Some(s) = removed else {
                return Ok(false);
            };
            tx.open_table(ACCOUNT_WEBHOOKS)
                .map_err(unavailable)?
                .remove(index_key(&s.account_id, &s.id).as_str())
                .map_err(unavailable)?;
            let mut t = DeliveryTables::open(tx)?;
            let (lo, hi) = (format!("{id}/"), format!("{id}/\u{10ffff}"));
            let ids: Vec<String> = t
                .by_subscription
                .range(lo.as_str()..hi.as_str())
                .map_err(unavailable)?
                .map(|r| r.map(|(k, _)| last_segment(k.value()).to_owned()))
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            for delivery_id in ids {
                if let Some(d) = t.record(&delivery_id)? {
                    t.delete(&d)?;
                }
            }
            Ok(true)
        })
        .await
    }

    async fn enqueue_deliveries(&self, d: &[DeliveryRecord]) -> StorageResult<()> {
        if d.is_empty() {
            return Ok(());
        }
        let deliveries = d.to_vec();
        self.write(move |tx| {
            let mut t = DeliveryTables::open(tx)?;
            for d in &deliveries {
                if t.record(&d.id)?.is_none() {
                    t.write(None, d)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease: std::time::Duration,
        limit: usize,
    ) -> StorageResult<Vec<Claimed>> {
        let hi = format!("{:020}/\u{10ffff}", micros(now));
        // Most polls find nothing due: a read answers that without a write transaction.
        let any_due = self.read(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let queue = tx.open_table(DELIVERY_QUEUE).map_err(unavailable)?;
            let first = queue.first().map_err(unavailable)?;
            Ok(first.is_some_and(|(k, _)| k.value() < hi.as_str()))
        })?;
        if limit == 0 || !any_due {
            return Ok(Vec::new());
        }
        let until = now + chrono::Duration::from_std(lease).map_err(unavailable)?;
        let owner = owner.to_owned();
        self.write(move |tx| {
            let mut t = DeliveryTables::open(tx)?;
            let due: Vec<String> = t
                .queue
                .range(..hi.as_str())
                .map_err(unavailable)?
                .take(limit)
                .map(|r| r.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            let mut out = Vec::with_capacity(due.len());
            for key in due {
                // Due means unleased or past its lease: a claim queues it at the lease's end.
                t.queue.remove(key.as_str()).map_err(unavailable)?;
                let id = last_segment(&key);
                let Some(delivery) = t.record(id)? else {
                    t.slots.remove(id).map_err(unavailable)?;
                    continue;
                };
                let lease = Lease {
                    owner: owner.clone(),
                    until,
                };
                t.queue_at(id, micros(until), Some(lease))?;
                out.push(Claimed {
                    delivery,
                    owner: owner.clone(),
                    until,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn finish_attempts(
        &self,
        d: &[DeliveryRecord],
        owner: &str,
    ) -> StorageResult<Vec<CasOutcome>> {
        if d.is_empty() {
            return Ok(Vec::new());
        }
        let (deliveries, owner) = (d.to_vec(), owner.to_owned());
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            let outcomes = {
                let mut t = DeliveryTables::open(&tx)?;
                deliveries
                    .iter()
                    .map(|d| t.rewrite(d, Some(&owner)))
                    .collect::<StorageResult<Vec<_>>>()?
            };
            // A batch that wrote nothing costs no commit.
            if outcomes.contains(&CasOutcome::Written) {
                tx.commit().map_err(unavailable)?;
            }
            Ok(outcomes)
        })
        .await
    }

    async fn get_delivery(&self, id: &str) -> StorageResult<Option<DeliveryRecord>> {
        self.get(DELIVERIES, id.to_owned()).await
    }

    async fn list_deliveries(
        &self,
        subscription_id: &str,
        q: &DeliveryQuery,
    ) -> StorageResult<Vec<DeliveryRecord>> {
        let lo = format!("{subscription_id}/");
        let hi = match &q.before {
            Some((at, id)) => format!("{subscription_id}/{:020}/{id}", micros(*at)),
            None => format!("{subscription_id}/\u{10ffff}"),
        };
        let q = q.clone();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let index = tx
                .open_table(DELIVERIES_BY_SUBSCRIPTION)
                .map_err(unavailable)?;
            let records = tx.open_table(DELIVERIES).map_err(unavailable)?;
            let mut out = Vec::new();
            for row in index
                .range(lo.as_str()..hi.as_str())
                .map_err(unavailable)?
                .rev()
            {
                if out.len() >= q.limit {
                    break;
                }
                let (k, _) = row.map_err(unavailable)?;
                let Some(v) = records.get(last_segment(k.value())).map_err(unavailable)? else {
                    continue;
                };
                let d: DeliveryRecord = from_json(v.value())?;
                if q.status.is_none_or(|s| s == d.status) {
                    out.push(d);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_delivery(&self, d: &DeliveryRecord) -> StorageResult<CasOutcome> {
        let d = d.clone();
        self.write_cas(move |tx| DeliveryTables::open(tx)?.rewrite(&d, None))
            .await
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let hi = format!("{:020}/", micros(before));
        self.write(move |tx| {
            let mut t = DeliveryTables::open(tx)?;
            let old: Vec<String> = t
                .finished
                .range(..hi.as_str())
                .map_err(unavailable)?
                .map(|r| r.map(|(k, _)| last_segment(k.value()).to_owned()))
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            let mut n = 0;
            for id in old {
                if let Some(d) = t.record(&id)? {
                    t.delete(&d)?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }

    async fn remember_inbound(
        &self,
        store_id: &str,
        delivery_id: &str,
        ttl: std::time::Duration,
    ) -> StorageResult<bool> {
        let key = inbound_key(store_id, delivery_id);
        let ttl = chrono::Duration::from_std(ttl).map_err(unavailable)?;
        self.write(move |tx| {
            let mut t = tx.open_table(INBOUND_IDS).map_err(unavailable)?;
            let now = Utc::now();
            let seen = t
                .get(key.as_str())
                .map_err(unavailable)?
                .map(|v| from_json::<DateTime<Utc>>(v.value()))
                .transpose()?
                .is_some_and(|forget_at| forget_at > now);
            if !seen {
                t.insert(key.as_str(), to_json(&(now + ttl))?.as_slice())
                    .map_err(unavailable)?;
            }
            Ok(!seen)
        })
        .await
    }

    async fn purge_inbound(&self, now: DateTime<Utc>) -> StorageResult<u64> {
        self.purge_expired(INBOUND_IDS, move |v| {
            Ok(from_json::<DateTime<Utc>>(v)? <= now)
        })
        .await
    }

    async fn get_poll_state(&self, store_id: &str) -> StorageResult<Option<PollState>> {
        self.get(POLL_STATE, store_id.to_owned()).await
    }

    async fn put_poll_state(&self, p: &PollState) -> StorageResult<CasOutcome> {
        let next = PollState {
            version: p.version + 1,
            ..p.clone()
        };
        self.update(
            POLL_STATE,
            p.store_id.clone(),
            p.version,
            &next,
            IfMissing::Create,
        )
        .await
    }

    async fn claim_poll(
        &self,
        store_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> StorageResult<bool> {
        let lease = chrono::Duration::from_std(lease).map_err(unavailable)?;
        let (id, owner) = (store_id.to_owned(), owner.to_owned());
        self.write(move |tx| {
            let mut t = tx.open_table(POLL_LEASES).map_err(unavailable)?;
            let now = Utc::now();
            let held_by_other = t
                .get(id.as_str())
                .map_err(unavailable)?
                .map(|v| from_json::<Lease>(v.value()))
                .transpose()?
                .is_some_and(|l| l.owner != owner && l.until > now);
            if !held_by_other {
                let l = Lease {
                    owner,
                    until: now + lease,
                };
                t.insert(id.as_str(), to_json(&l)?.as_slice())
                    .map_err(unavailable)?;
            }
            Ok(!held_by_other)
        })
        .await
    }

    async fn delete_poll_state(&self, store_id: &str) -> StorageResult<()> {
        let id = store_id.to_owned();
        self.write(move |tx| {
            for table in [POLL_STATE, POLL_LEASES] {
                tx.open_table(table)
                    .map_err(unavailable)?
                    .remove(id.as_str())
                    .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }
}

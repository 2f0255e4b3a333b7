//! Webhook subscriptions, deliveries and their queue, inbound ids and poll state in Redis.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:{cg}:webhook:<subscription_id>` | string | subscription record, secrets sealed |
//! | `cg:{cg}:account-webhooks:<account_id>` | set | subscription ids |
//! | `cg:{cg}:webhooks` | set | every subscription id (rotation) |
//! | `cg:whq:{<n>}` | sorted set | queue shard n: pending delivery ids by due time (µs); a claimed one by its lease's end |
//! | `cg:whl:{<n>}` | hash | shard n's leases: delivery id → owner, while claimed |
//! | `cg:whf:{<n>}` | sorted set | shard n's finished (delivered, failed) delivery ids by creation time (µs), for the purge |
//! | `cg:dlv:{<n>}:<delivery_id>` | string | delivery record: an event reference and attempts, no store data |
//! | `cg:whd:{<subscription_id>}` | sorted set | `<created µs:020>:<delivery_id>` of each delivery of the subscription, all at score 0 (listed by lex order) |
//! | `cg:inbound:{<store_id>}:<platform delivery id>` | string | `1`; expires after the dedupe window (`SET NX PX`) |
//! | `cg:poll:{<store_id>}` | string | poll state (watermarks) |
//! | `cg:poll-lease:{<store_id>}` | string | owner polling the store; expires with the lease (`PX`) |
//!
//! Subscriptions are control plane: they share `{cg}` with stores, so a master-key rotation
//! re-seals both in one compare-and-set script. The queue is spread over a Cluster: a
//! delivery belongs to shard `n` = first byte of SHA-256(delivery id) mod [`SHARDS`], and its
//! record, queue entry, lease and finished entry all carry the hash tag `{<n>}`, so each
//! claim, finish or update is one Lua script on one slot. A claim moves the delivery's queue
//! score to the lease's end, so the due range of a shard (`ZRANGEBYSCORE -inf <now>`) holds
//! exactly the claimable deliveries; `claim_due` asks the shards in one pipeline, starting
//! at a random one so instances do not all drain the same shard first. The claim script
//! builds record keys from the shard's prefix rather than `KEYS` (the ids are only known
//! inside it); they share the shard's hash tag, hence its slot.
//!
//! A subscription's delivery index lives in its own slot: deleting a subscription removes
//! its record first, then each delivery (one transaction per delivery), then the index. The
//! purge takes finished deliveries created before the cutoff out of each shard by script and
//! then their entries out of the subscriptions' indexes.

use ::redis::AsyncCommands;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{cas_outcome, from_json, to_json, unavailable, Index, RedisStorage};
use crate::storage::{
    CasOutcome, Claimed, DeliveryQuery, DeliveryRecord, IfMissing, PollState, Put, StorageResult,
    SubscriptionRecord, Webhooks,
};

/// Queue shards. Fixed: a delivery's keys are found from its id through it.
pub const SHARDS: usize = 16;

pub(super) mod keys {
    pub fn webhook(id: &str) -> String {
        format!("cg:{{cg}}:webhook:{id}")
    }
    pub fn account_webhooks(account: &str) -> String {
        format!("cg:{{cg}}:account-webhooks:{account}")
    }
    pub const WEBHOOKS: &str = "cg:{cg}:webhooks";

    pub fn queue(shard: usize) -> String {
        format!("cg:whq:{{{shard}}}")
    }
    pub fn leases(shard: usize) -> String {
        format!("cg:whl:{{{shard}}}")
    }
    pub fn finished(shard: usize) -> String {
        format!("cg:whf:{{{shard}}}")
    }
    /// A delivery record's key is this and its id.
    pub fn delivery_prefix(shard: usize) -> String {
        format!("cg:dlv:{{{shard}}}:")
    }
    pub fn subscription_deliveries(subscription: &str) -> String {
        format!("cg:whd:{{{subscription}}}")
    }

    pub fn inbound(store: &str, delivery_id: &str) -> String {
        format!("cg:inbound:{{{store}}}:{delivery_id}")
    }
    pub fn poll(store: &str) -> String {
        format!("cg:poll:{{{store}}}")
    }
    pub fn poll_lease(store: &str) -> String {
        format!("cg:poll-lease:{{{store}}}")
    }
}

/// The queue shard of a delivery.
fn shard(delivery_id: &str) -> usize {
    let digest = ring::digest::digest(&ring::digest::SHA256, delivery_id.as_bytes());
    usize::from(digest.as_ref()[0]) % SHARDS
}

fn delivery_key(id: &str) -> String {
    format!("{}{id}", keys::delivery_prefix(shard(id)))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros().max(0)
}

/// A delivery's member in its subscription's index: ordered by creation, then id.
fn index_member(d: &DeliveryRecord) -> String {
    format!("{:020}:{}", micros(d.created_at), d.id)
}

/// Writes a delivery and puts it where its status says: queued at its due time (ARGV[5])
/// without a lease, or in the finished set (at its creation time, ARGV[6]). KEYS: record,
/// queue, leases, finished (one shard). ARGV[1] is the mode: `insert` (only when absent),
/// `update` (only at version ARGV[3]) or `finish` (`update`, and only while ARGV[7] holds
/// the lease). ARGV[2] is the id, ARGV[4] the record. Answers 0 written, 1 stale (or, on
/// insert, present), 2 missing.
const WRITE_DELIVERY: &str = r#"
local current = redis.call('GET', KEYS[1])
local mode = ARGV[1]
if mode == 'insert' then
  if current then return 1 end
else
  if not current then return 2 end
  if mode == 'finish' and redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[7] then return 1 end
  if tonumber(cjson.decode(current).version or 0) ~= tonumber(ARGV[3]) then return 1 end
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('HDEL', KEYS[3], ARGV[2])
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
end
return 0
"#;

/// Claims up to ARGV[4] deliveries of one shard due at ARGV[1] (µs) for ARGV[3] until
/// ARGV[2]: each is re-queued at the lease's end and its lease recorded. KEYS: queue,
/// leases; ARGV[5] the shard's record-key prefix. Answers the claimed records. A queue entry
/// without a record (never expected) is dropped.
const CLAIM: &str = r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local record = redis.call('GET', ARGV[5] .. id)
  if record then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', KEYS[2], id, ARGV[3])
    out[#out + 1] = record
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
return out
"#;

/// Deletes up to ARGV[3] finished deliveries of one shard created before ARGV[1] (µs,
/// exclusive). KEYS: finished; ARGV[2] the shard's record-key prefix. Answers how many
/// entries it took and the records it deleted (for their subscriptions' indexes).
const PURGE: &str = r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local record = redis.call('GET', ARGV[2] .. id)
  if record then
    redis.call('DEL', ARGV[2] .. id)
    out[#out + 1] = record
  end
  redis.call('ZREM', KEYS[1], id)
end
return {#ids, out}
"#;

/// Leases a store's polling: to ARGV[1] for ARGV[2] ms, unless another owner holds it.
const CLAIM_POLL: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#;

/// How many entries one script or read takes at a time.
const BATCH: usize = 256;

#[derive(Clone, Copy)]
enum WriteMode {
    Insert,
    Update,
    Finish,
}

impl RedisStorage {
    /// The [`WRITE_DELIVERY`] call for `d` in `mode` (`owner`: the lease holder, to finish).
    fn write_delivery<'s>(
        script: &'s ::redis::Script,
        d: &DeliveryRecord,
        mode: WriteMode,
        owner: &str,
    ) -> StorageResult<::redis::ScriptInvocation<'s>> {
        let n = shard(&d.id);
        let written = match mode {
            WriteMode::Insert => d.clone(),
            WriteMode::Update | WriteMode::Finish => d.next_version(),
        };
        let mut invocation = script.prepare_invoke();
        invocation
            .key(delivery_key(&d.id))
            .key(keys::queue(n))
            .key(keys::leases(n))
            .key(keys::finished(n))
            .arg(match mode {
                WriteMode::Insert => "insert",
                WriteMode::Update => "update",
                WriteMode::Finish => "finish",
            })
            .arg(&d.id)
            .arg(d.version)
            .arg(to_json(&written)?)
            .arg(
                d.due_at()
                    .map(|t| micros(t).to_string())
                    .unwrap_or_default(),
            )
            .arg(micros(d.created_at))
            .arg(owner);
        Ok(invocation)
    }

    /// [`WRITE_DELIVERY`] for each of `d`, in one pipeline; answers in order.
    async fn write_deliveries(
        &self,
        d: &[DeliveryRecord],
        mode: WriteMode,
        owner: &str,
    ) -> StorageResult<Vec<CasOutcome>> {
        if d.is_empty() {
            return Ok(Vec::new());
        }
        let script = ::redis::Script::new(WRITE_DELIVERY);
        let invocations = d
            .iter()
            .map(|d| Self::write_delivery(&script, d, mode, owner))
            .collect::<StorageResult<Vec<_>>>()?;
        let mut pipe = ::redis::pipe();
        for invocation in &invocations {
            pipe.invoke_script(invocation);
        }
        let outcomes: Vec<i32> = self.query_scripted(&script, &pipe).await?;
        Ok(outcomes.into_iter().map(cas_outcome).collect())
    }

    /// Deletes deliveries (by id) and their entries in their shards, one transaction each.
    async fn delete_deliveries(&self, ids: &[&str]) -> StorageResult<()> {
        let mut pipe = ::redis::pipe();
        for id in ids {
            let n = shard(id);
            pipe.cmd("MULTI").ignore();
            pipe.del(delivery_key(id)).ignore();
            pipe.zrem(keys::queue(n), id).ignore();
            pipe.hdel(keys::leases(n), id).ignore();
            pipe.zrem(keys::finished(n), id).ignore();
            pipe.cmd("EXEC").ignore();
        }
        self.exec(&pipe).await
    }

    async fn subscriptions_of(&self, account_id: &str) -> StorageResult<Vec<SubscriptionRecord>> {
        let mut out: Vec<SubscriptionRecord> = self
            .get_indexed(&keys::account_webhooks(account_id), keys::webhook)
            .await?;
        out.retain(|s| s.account_id == account_id);
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

#[async_trait]
impl Webhooks for RedisStorage {
    async fn insert_subscription(&self, s: &SubscriptionRecord) -> StorageResult<bool> {
        let indexes = [
            Index::Set(keys::account_webhooks(&s.account_id)),
            Index::Set(keys::WEBHOOKS.to_owned()),
        ];
        self.put(keys::webhook(&s.id), s, &indexes, &s.id, Put::IfAbsent)
            .await
    }

    async fn get_subscription(&self, id: &str) -> StorageResult<Option<SubscriptionRecord>> {
        self.get_json(keys::webhook(id)).await
    }

    async fn list_subscriptions(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StorageResult<Vec<SubscriptionRecord>> {
        let mut all = self.subscriptions_of(account_id).await?;
        if let Some(after) = after {
            all.retain(|s| s.id.as_str() > after);
        }
        all.truncate(limit);
        Ok(all)
    }

    async fn account_subscriptions(
        &self,
        account_id: &str,
    ) -> StorageResult<Vec<SubscriptionRecord>> {
        self.subscriptions_of(account_id).await
    }

    async fn update_subscription(&self, s: &SubscriptionRecord) -> StorageResult<CasOutcome> {
        let key = keys::webhook(&s.id);
        self.update(key, s.version, &s.next_version(), IfMissing::Refuse)
            .await
    }

    async fn delete_subscription(&self, id: &str) -> StorageResult<bool> {
        let Some(s) = self.get_subscription(id).await? else {
            return Ok(false);
        };
        let indexes = [
            Index::Set(keys::account_webhooks(&s.account_id)),
            Index::Set(keys::WEBHOOKS.to_owned()),
        ];
        let deleted = self.delete(keys::webhook(id), &indexes, id).await?;
        // The fan-out no longer sees it; now its deliveries, a batch at a time.
        let index = keys::subscription_deliveries(id);
        loop {
            let members: Vec<String> = self
                .conn()
                .zrange(&index, 0, BATCH as isize - 1)
                .await
                .map_err(unavailable)?;
            if members.is_empty() {
                break;
            }
            let ids: Vec<&str> = members
                .iter()
                .filter_map(|m| m.split_once(':').map(|(_, id)| id))
                .collect();
            self.delete_deliveries(&ids).await?;
            let _: () = self
                .conn()
                .zrem(&index, &members)
                .await
                .map_err(unavailable)?;
        }
        Ok(deleted)
    }

    async fn enqueue_deliveries(&self, d: &[DeliveryRecord]) -> StorageResult<()> {
        let outcomes = self.write_deliveries(d, WriteMode::Insert, "").await?;
        // Then the listing index, of those that were new: a delivery may be claimed before
        // it is listed, never listed without a record.
        let mut pipe = ::redis::pipe();
        for (d, _) in d
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| *o == CasOutcome::Written)
        {
            let index = keys::subscription_deliveries(&d.subscription_id);
            pipe.zadd(index, index_member(d), 0).ignore();
        }
        if pipe.is_empty() {
            return Ok(());
        }
        self.exec(&pipe).await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease: std::time::Duration,
        limit: usize,
    ) -> StorageResult<Vec<Claimed>> {
        let until = now + chrono::Duration::from_std(lease).map_err(unavailable)?;
        let script = ::redis::Script::new(CLAIM);
        // Shards that may still hold due deliveries, from a random one on.
        let first = rand::random::<u32>() as usize % SHARDS;
        let mut open: Vec<usize> = (0..SHARDS).map(|i| (first + i) % SHARDS).collect();
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Each round asks every open shard for a share of what is still wanted, in one
        // pipeline; a shard that answers less than its share (or one it answered already)
        // is drained. Each round claims what is wanted or drains a shard, so there are at
        // most SHARDS + 1 rounds.
        while out.len() < limit && !open.is_empty() {
            let want = limit - out.len();
            let shares: Vec<(usize, usize)> = open
                .iter()
                .enumerate()
                .map(|(i, &n)| (n, want / open.len() + usize::from(i < want % open.len())))
                .filter(|&(_, share)| share > 0)
                .collect();
            let invocations: Vec<_> = shares
                .iter()
                .map(|&(n, share)| {
                    let mut invocation = script.prepare_invoke();
                    invocation
                        .key(keys::queue(n))
                        .key(keys::leases(n))
                        .arg(micros(now))
                        .arg(micros(until))
                        .arg(owner)
                        .arg(share)
                        .arg(keys::delivery_prefix(n));
                    invocation
                })
                .collect();
            let mut pipe = ::redis::pipe();
            for invocation in &invocations {
                pipe.invoke_script(invocation);
            }
            let claimed: Vec<Vec<String>> = self.query_scripted(&script, &pipe).await?;
            for (&(n, share), records) in shares.iter().zip(claimed) {
                let mut drained = records.len() < share;
                for record in records {
                    let delivery: DeliveryRecord = from_json(&record)?;
                    // With a zero lease a delivery stays due after its claim: take it once.
                    if !seen.insert(delivery.id.clone()) {
                        drained = true;
                        continue;
                    }
                    out.push(Claimed {
                        delivery,
                        owner: owner.to_owned(),
                        until,
                    });
                }
                if drained {
                    open.retain(|&o| o != n);
                }
            }
        }
        Ok(out)
    }

    async fn finish_attempts(
        &self,
        d: &[DeliveryRecord],
        owner: &str,
    ) -> StorageResult<Vec<CasOutcome>> {
        self.write_deliveries(d, WriteMode::Finish, owner).await
    }

    async fn get_delivery(&self, id: &str) -> StorageResult<Option<DeliveryRecord>> {
        self.get_json(delivery_key(id)).await
    }

    async fn list_deliveries(
        &self,
        subscription_id: &str,
        q: &DeliveryQuery,
    ) -> StorageResult<Vec<DeliveryRecord>> {
        let index = keys::subscription_deliveries(subscription_id);
        let max = match &q.before {
            Some((at, id)) => format!("({:020}:{id}", micros(*at)),
            None => "+".to_owned(),
        };
        let mut out = Vec::new();
        let mut offset = 0;
        while out.len() < q.limit {
            let members: Vec<String> = ::redis::cmd("ZREVRANGEBYLEX")
                .arg(&index)
                .arg(&max)
                .arg("-")
                .arg("LIMIT")
                .arg(offset)
                .arg(BATCH)
                .query_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            if members.is_empty() {
                break;
            }
            // The records live in their shards' slots: one GET each, pipelined.
            let mut pipe = ::redis::pipe();
            for m in &members {
                if let Some((_, id)) = m.split_once(':') {
                    pipe.get(delivery_key(id));
                }
            }
            let records: Vec<Option<String>> = pipe
                .query_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            for record in records.into_iter().flatten() {
                let d: DeliveryRecord = from_json(&record)?;
                if q.status.is_none_or(|s| s == d.status) {
                    out.push(d);
                    if out.len() >= q.limit {
                        break;
                    }
                }
            }
            if members.len() < BATCH {
                break;
            }
            offset += BATCH;
        }
        Ok(out)
    }

    async fn update_delivery(&self, d: &DeliveryRecord) -> StorageResult<CasOutcome> {
        let outcomes = self
            .write_deliveries(std::slice::from_ref(d), WriteMode::Update, "")
            .await?;
        Ok(outcomes.first().copied().unwrap_or(CasOutcome::Missing))
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let script = ::redis::Script::new(PURGE);
        let mut n = 0;
        for shard in 0..SHARDS {
            loop {
                let (taken, records): (usize, Vec<String>) = script
                    .key(keys::finished(shard))
                    .arg(micros(before))
                    .arg(keys::delivery_prefix(shard))
                    .arg(BATCH)
                    .invoke_async(&mut self.conn())
                    .await
                    .map_err(unavailable)?;
                if records.is_empty() {
                    break;
                }
                let mut pipe = ::redis::pipe();
                for record in &records {
                    let d: DeliveryRecord = from_json(record)?;
                    pipe.zrem(
                        keys::subscription_deliveries(&d.subscription_id),
                        index_member(&d),
                    )
                    .ignore();
                }
                self.exec(&pipe).await?;
                n += records.len() as u64;
                if taken < BATCH {
                    break;
                }
            }
        }
        Ok(n)
    }

    async fn remember_inbound(
        &self,
        store_id: &str,
        delivery_id: &str,
        ttl: std::time::Duration,
    ) -> StorageResult<bool> {
        let set: Option<String> = ::redis::cmd("SET")
            .arg(keys::inbound(store_id, delivery_id))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(set.is_some())
    }

    async fn purge_inbound(&self, _now: DateTime<Utc>) -> StorageResult<u64> {
        Ok(0) // Redis expires every inbound id by itself (PX).
    }

    async fn get_poll_state(&self, store_id: &str) -> StorageResult<Option<PollState>> {
        self.get_json(keys::poll(store_id)).await
    }

    async fn put_poll_state(&self, p: &PollState) -> StorageResult<CasOutcome> {
        let next = PollState {
            version: p.version + 1,
            ..p.clone()
        };
        let key = keys::poll(&p.store_id);
        self.update(key, p.version, &next, IfMissing::Create).await
    }

    async fn claim_poll(
        &self,
        store_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> StorageResult<bool> {
        let claimed: u32 = ::redis::Script::new(CLAIM_POLL)
            .key(keys::poll_lease(store_id))
            .arg(owner)
            .arg(lease.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(claimed == 1)
    }

    async fn delete_poll_state(&self, store_id: &str) -> StorageResult<()> {
        let _: () = self
            .conn()
            .del(&[keys::poll(store_id), keys::poll_lease(store_id)])
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

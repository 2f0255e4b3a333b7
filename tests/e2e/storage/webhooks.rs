//! The webhook part of the storage contract (subscriptions, the delivery queue with its
//! leases, inbound ids, poll state), run against every backend from `super::contract`, and
//! the races of the queue, made deterministic by repetition.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};

use cartgate::crypto::{KeyRing, MasterKey};
use cartgate::storage::embedded::EmbeddedStorage;
use cartgate::storage::redis::RedisStorage;
use cartgate::storage::webhooks::secret_context;
use cartgate::storage::*;

use crate::redis_server::RedisServer;

/// A subscription of `account` whose secrets are sealed under `mk`.
pub fn subscription(mk: &MasterKey, id: &str, account: &str) -> SubscriptionRecord {
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    SubscriptionRecord {
        id: id.into(),
        account_id: account.into(),
        url: "https://hooks.example.com/in".into(),
        event_types: vec!["order.created".into()],
        store_ids: None,
        description: Some("orders".into()),
        status: SubscriptionStatus::Active,
        disabled_reason: None,
        secret: mk.seal(b"whsec_current", &secret_context(id)),
        previous_secret: Some((
            mk.seal(b"whsec_previous", &secret_context(id)),
            t + Duration::days(1),
        )),
        failing_since: None,
        created_at: t,
        updated_at: t,
        version: 0,
    }
}

/// A pending delivery of `subscription`, created at `created` and due at `due`.
fn delivery(
    id: &str,
    subscription: &str,
    created: DateTime<Utc>,
    due: Option<DateTime<Utc>>,
) -> DeliveryRecord {
    DeliveryRecord {
        id: id.into(),
        subscription_id: subscription.into(),
        account_id: "acct_w".into(),
        event: EventRef {
            id: format!("evt_{id}"),
            event_type: "order.created".into(),
            store_id: "st_1".into(),
            object_id: "1001".into(),
            occurred_at: created,
        },
        status: DeliveryStatus::Pending,
        attempts: Vec::new(),
        next_attempt_at: due,
        created_at: created,
        version: 0,
    }
}

fn attempt(at: DateTime<Utc>, status_code: Option<u16>) -> Attempt {
    Attempt {
        at,
        status_code,
        error: status_code.is_none().then(|| "connection refused".into()),
        latency_ms: 3,
    }
}

fn ids(claimed: &[Claimed]) -> BTreeSet<String> {
    claimed.iter().map(|c| c.delivery.id.clone()).collect()
}

fn listed(deliveries: Vec<DeliveryRecord>) -> Vec<String> {
    deliveries.into_iter().map(|d| d.id).collect()
}

const LEASE: StdDuration = StdDuration::from_secs(60);

pub async fn contract(s: &dyn Storage) {
    subscriptions(s).await;
    queue(s).await;
    zero_lease(s).await;
    finish_in_batches(s).await;
    listing_and_purge(s).await;
    inbound_ids(s).await;
    poll_state(s).await;
}

/// Insert once, compare-and-set, list in id order with `after`, delete with deliveries.
async fn subscriptions(s: &dyn Storage) {
    let mk = MasterKey::generate();
    let first = subscription(&mk, "wh_01", "acct_w");
    assert!(s.insert_subscription(&first).await.unwrap());
    for id in ["wh_02", "wh_03"] {
        assert!(s
            .insert_subscription(&subscription(&mk, id, "acct_w"))
            .await
            .unwrap());
    }
    assert!(s
        .insert_subscription(&subscription(&mk, "wh_09", "acct_other"))
        .await
        .unwrap());
    assert!(
        !s.insert_subscription(&SubscriptionRecord {
            url: "https://other.example.com".into(),
            ..first.clone()
        })
        .await
        .unwrap(),
        "an id is created once"
    );
    assert_eq!(
        s.get_subscription("wh_01").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(s.get_subscription("wh_nope").await.unwrap(), None);

    let page = |after: Option<&'static str>, limit| async move {
        s.list_subscriptions("acct_w", after, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(page(None, 2).await, vec!["wh_01", "wh_02"]);
    assert_eq!(page(Some("wh_02"), 2).await, vec!["wh_03"]);
    assert_eq!(page(Some("wh_03"), 2).await, Vec::<String>::new());
    let all: Vec<_> = s
        .account_subscriptions("acct_w")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(all, vec!["wh_01", "wh_02", "wh_03"]);
    assert_eq!(
        s.account_subscriptions("acct_other").await.unwrap().len(),
        1
    );
    assert!(s.account_subscriptions("acct_x").await.unwrap().is_empty());

    // Compare-and-set: a write from an old read is refused, a deleted one never recreated.
    let disabled = SubscriptionRecord {
        status: SubscriptionStatus::Disabled,
        disabled_reason: Some("failing for 5 days".into()),
        ..first.clone()
    };
    assert_eq!(
        s.update_subscription(&disabled).await.unwrap(),
        CasOutcome::Written
    );
    let now = s.get_subscription("wh_01").await.unwrap().unwrap();
    assert_eq!((now.status, now.version), (SubscriptionStatus::Disabled, 1));
    let stale = SubscriptionRecord {
        url: "https://stale.example.com".into(),
        ..first.clone()
    };
    assert_eq!(
        s.update_subscription(&stale).await.unwrap(),
        CasOutcome::Stale
    );
    assert_eq!(s.get_subscription("wh_01").await.unwrap(), Some(now));
    let ghost = subscription(&mk, "wh_gone", "acct_w");
    assert_eq!(
        s.update_subscription(&ghost).await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(s.get_subscription("wh_gone").await.unwrap(), None);

    // Deleting takes its deliveries with it; paging after a deleted id still works.
    let t = Utc::now();
    s.enqueue_deliveries(&[
        delivery("dlv_s1", "wh_01", t, Some(t)),
        delivery("dlv_s2", "wh_01", t, None),
        delivery("dlv_s3", "wh_02", t, Some(t)),
    ])
    .await
    .unwrap();
    assert!(s.delete_subscription("wh_01").await.unwrap());
    assert!(!s.delete_subscription("wh_01").await.unwrap());
    assert_eq!(s.get_subscription("wh_01").await.unwrap(), None);
    assert_eq!(s.get_delivery("dlv_s1").await.unwrap(), None);
    assert_eq!(s.get_delivery("dlv_s2").await.unwrap(), None);
    let q = DeliveryQuery {
        limit: 10,
        ..Default::default()
    };
    assert!(s.list_deliveries("wh_01", &q).await.unwrap().is_empty());
    assert_eq!(page(Some("wh_01"), 5).await, vec!["wh_02", "wh_03"]);
    let claimed = s.claim_due(t, "a", LEASE, 10).await.unwrap();
    assert_eq!(
        ids(&claimed),
        BTreeSet::from(["dlv_s3".to_owned()]),
        "the deleted subscription's deliveries left the queue"
    );
    for id in ["wh_02", "wh_03", "wh_09"] {
        assert!(s.delete_subscription(id).await.unwrap());
    }
    assert_eq!(s.get_delivery("dlv_s3").await.unwrap(), None);
}

/// Claims, leases, finishing, manual retries.
async fn queue(s: &dyn Storage) {
    let t0 = Utc.with_ymd_and_hms(2030, 6, 1, 12, 0, 0).unwrap();
    let d1 = delivery("dlv_q1", "wh_q", t0, Some(t0));
    let d2 = delivery("dlv_q2", "wh_q", t0, Some(t0 + Duration::minutes(10)));
    let d3 = delivery("dlv_q3", "wh_q", t0, None); // due at once
    s.enqueue_deliveries(&[d1.clone(), d2.clone(), d3.clone()])
        .await
        .unwrap();
    // Enqueueing an id again leaves the stored one alone.
    s.enqueue_deliveries(&[DeliveryRecord {
        status: DeliveryStatus::Failed,
        created_at: t0 + Duration::hours(1),
        ..d1.clone()
    }])
    .await
    .unwrap();
    assert_eq!(s.get_delivery("dlv_q1").await.unwrap(), Some(d1.clone()));
    let all = DeliveryQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        listed(s.list_deliveries("wh_q", &all).await.unwrap()),
        vec!["dlv_q3", "dlv_q2", "dlv_q1"],
        "listed once each"
    );
    assert_eq!(s.get_delivery("dlv_nope").await.unwrap(), None);

    // Only what is due, once, with the record as stored and the lease's end; a delivery
    // without a next_attempt_at is due at once.
    let early = s
        .claim_due(t0 - Duration::seconds(1), "a", LEASE, 10)
        .await
        .unwrap();
    assert_eq!(ids(&early), BTreeSet::from(["dlv_q3".to_owned()]));
    assert_eq!(early[0].delivery, d3);
    assert_eq!(
        (early[0].owner.as_str(), early[0].until),
        ("a", t0 + Duration::seconds(59))
    );
    let claimed = s.claim_due(t0, "a", LEASE, 10).await.unwrap();
    assert_eq!(ids(&claimed), BTreeSet::from(["dlv_q1".to_owned()]));
    assert_eq!(claimed[0].delivery, d1);
    assert_eq!(
        (claimed[0].owner.as_str(), claimed[0].until),
        ("a", t0 + Duration::seconds(60))
    );
    assert!(
        s.claim_due(t0 + Duration::seconds(58), "b", LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased deliveries are not claimable again while the lease lasts"
    );

    // Finishing: only the lease holder, only at the claimed version.
    let delivered = DeliveryRecord {
        status: DeliveryStatus::Delivered,
        attempts: vec![attempt(t0, Some(200))],
        next_attempt_at: None,
        ..d1.clone()
    };
    assert_eq!(
        s.finish_attempt(&delivered, "b").await.unwrap(),
        CasOutcome::Stale,
        "not the lease holder"
    );
    let wrong_version = DeliveryRecord {
        version: 7,
        ..delivered.clone()
    };
    assert_eq!(
        s.finish_attempt(&wrong_version, "a").await.unwrap(),
        CasOutcome::Stale
    );
    assert_eq!(s.get_delivery("dlv_q1").await.unwrap(), Some(d1.clone()));
    assert_eq!(
        s.finish_attempt(&delivered, "a").await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(
        s.get_delivery("dlv_q1").await.unwrap(),
        Some(delivered.next_version())
    );
    assert_eq!(
        s.finish_attempt(&delivered.next_version(), "a")
            .await
            .unwrap(),
        CasOutcome::Stale,
        "the lease ended with the first finish"
    );
    let ghost = delivery("dlv_ghost", "wh_q", t0, Some(t0));
    assert_eq!(
        s.finish_attempt(&ghost, "a").await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(s.get_delivery("dlv_ghost").await.unwrap(), None);

    // A failed attempt requeues it at its next_attempt_at.
    let retry_at = t0 + Duration::minutes(5);
    let d3_retry = DeliveryRecord {
        attempts: vec![attempt(t0, Some(500))],
        next_attempt_at: Some(retry_at),
        ..d3.clone()
    };
    assert_eq!(
        s.finish_attempt(&d3_retry, "a").await.unwrap(),
        CasOutcome::Written
    );
    assert!(s
        .claim_due(retry_at - Duration::seconds(1), "b", LEASE, 10)
        .await
        .unwrap()
        .is_empty());

    // At +10 min both d2 and d3 are due; `limit` is honoured.
    let t1 = t0 + Duration::minutes(10);
    let one = s.claim_due(t1, "b", LEASE, 1).await.unwrap();
    assert_eq!(one.len(), 1);
    let other = s.claim_due(t1, "b", LEASE, 10).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(
        ids(&one)
            .union(&ids(&other))
            .cloned()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["dlv_q2".to_owned(), "dlv_q3".to_owned()])
    );
    let d3_claimed = [one, other]
        .concat()
        .into_iter()
        .find(|c| c.delivery.id == "dlv_q3")
        .unwrap();
    assert_eq!(d3_claimed.delivery, d3_retry.next_version());

    // b dies: once its leases pass, c takes both over and b can no longer finish them.
    let t2 = t1 + Duration::seconds(60);
    let taken = s.claim_due(t2, "c", LEASE, 10).await.unwrap();
    assert_eq!(
        ids(&taken),
        BTreeSet::from(["dlv_q2".to_owned(), "dlv_q3".to_owned()])
    );
    let d2_failed = DeliveryRecord {
        status: DeliveryStatus::Failed,
        attempts: vec![attempt(t2, None)],
        next_attempt_at: None,
        ..d2.clone()
    };
    assert_eq!(
        s.finish_attempt(&d2_failed, "b").await.unwrap(),
        CasOutcome::Stale,
        "the expired lease was taken over"
    );
    assert_eq!(
        s.finish_attempt(&d2_failed, "c").await.unwrap(),
        CasOutcome::Written
    );

    // A manual retry: pending and due now, also from failed; only at the read version.
    let t3 = t2 + Duration::hours(1);
    let d2_now = s.get_delivery("dlv_q2").await.unwrap().unwrap();
    let retry = DeliveryRecord {
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(t3),
        ..d2_now.clone()
    };
    assert_eq!(
        s.update_delivery(&retry).await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(s.update_delivery(&retry).await.unwrap(), CasOutcome::Stale);
    assert_eq!(
        s.update_delivery(&ghost).await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(s.get_delivery("dlv_ghost").await.unwrap(), None);

    // d3 is still leased by c; a manual retry ends that lease: due at once for anyone, and
    // c's attempt in flight can no longer be written.
    let d3_now = s.get_delivery("dlv_q3").await.unwrap().unwrap();
    let d3_manual = DeliveryRecord {
        next_attempt_at: Some(t2),
        ..d3_now.clone()
    };
    assert_eq!(
        s.update_delivery(&d3_manual).await.unwrap(),
        CasOutcome::Written
    );
    let again = s.claim_due(t2, "d", LEASE, 10).await.unwrap();
    assert_eq!(ids(&again), BTreeSet::from(["dlv_q3".to_owned()]));
    assert_eq!(
        s.finish_attempt(&d3_now, "c").await.unwrap(),
        CasOutcome::Stale
    );
    let delivered = |c: &Claimed| DeliveryRecord {
        status: DeliveryStatus::Delivered,
        next_attempt_at: None,
        ..c.delivery.clone()
    };
    assert_eq!(
        s.finish_attempt(&delivered(&again[0]), "d").await.unwrap(),
        CasOutcome::Written
    );
    let at_t3 = s.claim_due(t3, "d", LEASE, 10).await.unwrap();
    assert_eq!(ids(&at_t3), BTreeSet::from(["dlv_q2".to_owned()]));
    assert_eq!(at_t3[0].delivery, retry.next_version());
    assert_eq!(
        s.finish_attempt(&delivered(&at_t3[0]), "d").await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(s.purge_deliveries(t3).await.unwrap(), 3);
    assert!(s
        .claim_due(t3 + Duration::days(30), "e", LEASE, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Without a lease a claimed delivery stays due: each call claims it once.
async fn zero_lease(s: &dyn Storage) {
    let t = Utc.with_ymd_and_hms(2030, 8, 1, 0, 0, 0).unwrap();
    s.enqueue_deliveries(&[
        delivery("dlv_z1", "wh_z", t, Some(t)),
        delivery("dlv_z2", "wh_z", t, Some(t)),
    ])
    .await
    .unwrap();
    let both = BTreeSet::from(["dlv_z1".to_owned(), "dlv_z2".to_owned()]);
    for owner in ["a", "b"] {
        let claimed = s.claim_due(t, owner, StdDuration::ZERO, 10).await.unwrap();
        assert_eq!(claimed.len(), 2, "{claimed:?}");
        assert_eq!(ids(&claimed), both);
    }
    for c in s.claim_due(t, "c", LEASE, 10).await.unwrap() {
        let done = DeliveryRecord {
            status: DeliveryStatus::Delivered,
            next_attempt_at: None,
            ..c.delivery
        };
        assert_eq!(
            s.finish_attempt(&done, "c").await.unwrap(),
            CasOutcome::Written
        );
    }
    assert_eq!(
        s.purge_deliveries(t + Duration::seconds(1)).await.unwrap(),
        2
    );
}

/// Many attempts finished at once, each on its own terms.
async fn finish_in_batches(s: &dyn Storage) {
    let t = Utc.with_ymd_and_hms(2030, 9, 1, 0, 0, 0).unwrap();
    let ds: Vec<_> = (1..=3)
        .map(|i| delivery(&format!("dlv_b{i}"), "wh_b", t, Some(t)))
        .collect();
    s.enqueue_deliveries(&ds).await.unwrap();
    assert_eq!(s.claim_due(t, "a", LEASE, 2).await.unwrap().len(), 2);
    let claimed_by_b = s.claim_due(t, "b", LEASE, 10).await.unwrap();
    assert_eq!(claimed_by_b.len(), 1);
    let done = |d: &DeliveryRecord| DeliveryRecord {
        status: DeliveryStatus::Delivered,
        next_attempt_at: None,
        ..d.clone()
    };
    let by_a: Vec<_> = ds
        .iter()
        .filter(|d| d.id != claimed_by_b[0].delivery.id)
        .collect();
    let batch = vec![
        done(by_a[0]),
        DeliveryRecord {
            version: 4,
            ..done(by_a[1])
        },
        done(&claimed_by_b[0].delivery),
        done(&delivery("dlv_bghost", "wh_b", t, None)),
    ];
    assert!(s.finish_attempts(&[], "a").await.unwrap().is_empty());
    assert_eq!(
        s.finish_attempts(&batch, "a").await.unwrap(),
        vec![
            CasOutcome::Written,
            CasOutcome::Stale,
            CasOutcome::Stale,
            CasOutcome::Missing
        ]
    );
    assert_eq!(
        s.get_delivery(&by_a[0].id).await.unwrap(),
        Some(done(by_a[0]).next_version())
    );
    assert_eq!(
        s.get_delivery(&by_a[1].id).await.unwrap().as_ref(),
        Some(by_a[1])
    );
    assert_eq!(
        s.finish_attempts(&batch[1..3], "b").await.unwrap(),
        vec![CasOutcome::Stale, CasOutcome::Written]
    );
    assert_eq!(
        s.finish_attempts(&[done(by_a[1])], "a").await.unwrap(),
        vec![CasOutcome::Written]
    );
    assert_eq!(
        s.purge_deliveries(t + Duration::seconds(1)).await.unwrap(),
        3
    );
}

/// Newest-first listing with a status filter and a cursor; the purge of finished ones.
async fn listing_and_purge(s: &dyn Storage) {
    let t0 = Utc.with_ymd_and_hms(2030, 7, 1, 0, 0, 0).unwrap();
    let at = |secs| t0 + Duration::seconds(secs);
    // e2 and e3 were created at the same instant: then newest first means the larger id.
    let mut ds = vec![
        delivery("dlv_e1", "wh_l", at(1), None),
        delivery("dlv_e2", "wh_l", at(2), None),
        delivery("dlv_e3", "wh_l", at(2), None),
        delivery("dlv_e4", "wh_l", at(4), None),
        delivery("dlv_e5", "wh_l", at(5), None),
        delivery("dlv_x1", "wh_other", at(3), None),
    ];
    ds[0].status = DeliveryStatus::Delivered;
    ds[1].status = DeliveryStatus::Failed;
    ds[3].status = DeliveryStatus::Delivered;
    s.enqueue_deliveries(&ds).await.unwrap();

    let q = |status, before: Option<&DeliveryRecord>, limit| DeliveryQuery {
        status,
        before: before.map(|d| (d.created_at, d.id.clone())),
        limit,
    };
    let list =
        |q: DeliveryQuery| async move { listed(s.list_deliveries("wh_l", &q).await.unwrap()) };
    assert_eq!(
        list(q(None, None, 10)).await,
        vec!["dlv_e5", "dlv_e4", "dlv_e3", "dlv_e2", "dlv_e1"]
    );
    assert_eq!(list(q(None, None, 2)).await, vec!["dlv_e5", "dlv_e4"]);
    assert_eq!(
        list(q(None, Some(&ds[3]), 2)).await,
        vec!["dlv_e3", "dlv_e2"],
        "strictly before the cursor"
    );
    assert_eq!(
        list(q(None, Some(&ds[2]), 10)).await,
        vec!["dlv_e2", "dlv_e1"],
        "the same instant is ordered by id"
    );
    assert_eq!(
        list(q(Some(DeliveryStatus::Delivered), None, 10)).await,
        vec!["dlv_e4", "dlv_e1"]
    );
    assert_eq!(
        list(q(Some(DeliveryStatus::Pending), Some(&ds[4]), 10)).await,
        vec!["dlv_e3"]
    );
    assert_eq!(
        list(q(Some(DeliveryStatus::Delivered), None, 1)).await,
        vec!["dlv_e4"]
    );
    assert_eq!(
        listed(
            s.list_deliveries("wh_other", &q(None, None, 10))
                .await
                .unwrap()
        ),
        vec!["dlv_x1"]
    );

    // The purge takes finished deliveries created before the cutoff, nothing pending.
    assert_eq!(s.purge_deliveries(at(4)).await.unwrap(), 2, "e1 and e2");
    assert_eq!(s.purge_deliveries(at(4)).await.unwrap(), 0);
    assert_eq!(s.get_delivery("dlv_e1").await.unwrap(), None);
    assert_eq!(
        list(q(None, None, 10)).await,
        vec!["dlv_e5", "dlv_e4", "dlv_e3"]
    );
    assert_eq!(s.purge_deliveries(at(100)).await.unwrap(), 1, "e4");
    assert_eq!(list(q(None, None, 10)).await, vec!["dlv_e5", "dlv_e3"]);
    // The pending ones are still queued.
    let due = s.claim_due(at(100), "a", LEASE, 10).await.unwrap();
    assert_eq!(
        ids(&due),
        BTreeSet::from([
            "dlv_e3".to_owned(),
            "dlv_e5".to_owned(),
            "dlv_x1".to_owned()
        ])
    );
    for sub in ["wh_l", "wh_other"] {
        // Once finished, they go with the next purge.
        for d in s.list_deliveries(sub, &q(None, None, 10)).await.unwrap() {
            let failed = DeliveryRecord {
                status: DeliveryStatus::Failed,
                next_attempt_at: None,
                ..d
            };
            assert_eq!(
                s.finish_attempt(&failed, "a").await.unwrap(),
                CasOutcome::Written
            );
        }
    }
    assert_eq!(s.purge_deliveries(at(100)).await.unwrap(), 3);
    assert!(list(q(None, None, 10)).await.is_empty());
}

/// Platform delivery ids: remembered per store for a while.
async fn inbound_ids(s: &dyn Storage) {
    let day = StdDuration::from_secs(86_400);
    assert!(s.remember_inbound("st_a", "wc-1", day).await.unwrap());
    assert!(!s.remember_inbound("st_a", "wc-1", day).await.unwrap());
    assert!(
        s.remember_inbound("st_b", "wc-1", day).await.unwrap(),
        "per store"
    );
    let short = StdDuration::from_millis(200);
    assert!(s.remember_inbound("st_a", "wc-2", short).await.unwrap());
    assert!(!s.remember_inbound("st_a", "wc-2", short).await.unwrap());
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    s.purge_inbound(Utc::now()).await.unwrap();
    assert!(
        s.remember_inbound("st_a", "wc-2", short).await.unwrap(),
        "forgotten after its ttl"
    );
    assert!(
        !s.remember_inbound("st_a", "wc-1", day).await.unwrap(),
        "the purge keeps what has not expired"
    );
}

/// Poll watermarks: created once, then compare-and-set; the poll lease.
async fn poll_state(s: &dyn Storage) {
    assert_eq!(s.get_poll_state("st_p").await.unwrap(), None);
    let t = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let p = PollState {
        store_id: "st_p".into(),
        watermarks: [("orders".to_owned(), t)].into(),
        version: 0,
    };
    assert_eq!(s.put_poll_state(&p).await.unwrap(), CasOutcome::Written);
    let stored = s.get_poll_state("st_p").await.unwrap().unwrap();
    assert_eq!(
        stored,
        PollState {
            version: 1,
            ..p.clone()
        }
    );
    assert_eq!(
        s.put_poll_state(&p).await.unwrap(),
        CasOutcome::Stale,
        "created once"
    );
    let moved = PollState {
        watermarks: [("orders".to_owned(), t + Duration::minutes(1))].into(),
        ..stored.clone()
    };
    assert_eq!(s.put_poll_state(&moved).await.unwrap(), CasOutcome::Written);
    assert_eq!(
        s.put_poll_state(&moved).await.unwrap(),
        CasOutcome::Stale,
        "a window written twice"
    );
    assert_eq!(s.get_poll_state("st_p").await.unwrap().unwrap().version, 2);
    let ghost = PollState {
        store_id: "st_ghost".into(),
        version: 3,
        ..p.clone()
    };
    assert_eq!(s.put_poll_state(&ghost).await.unwrap(), CasOutcome::Missing);
    assert_eq!(s.get_poll_state("st_ghost").await.unwrap(), None);

    // One poller per store at a time; the holder renews; a lapsed lease is free.
    let long = StdDuration::from_secs(60);
    assert!(s.claim_poll("st_p", "a", long).await.unwrap());
    assert!(!s.claim_poll("st_p", "b", long).await.unwrap());
    assert!(s.claim_poll("st_p", "a", long).await.unwrap());
    assert!(s.claim_poll("st_q", "b", long).await.unwrap(), "per store");
    let short = StdDuration::from_millis(200);
    assert!(s.claim_poll("st_r", "a", short).await.unwrap());
    assert!(!s.claim_poll("st_r", "b", short).await.unwrap());
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert!(s.claim_poll("st_r", "b", short).await.unwrap());

    // A store's poll state and lease go with it.
    s.delete_poll_state("st_p").await.unwrap();
    assert_eq!(s.get_poll_state("st_p").await.unwrap(), None);
    assert!(s.claim_poll("st_p", "b", long).await.unwrap());
}

/// Two instances claim the same due delivery at once, many times: one gets it. The owner
/// finishing it races a manual retry: exactly one of the two writes.
async fn claims_race(a: Arc<dyn Storage>, b: Arc<dyn Storage>) {
    let now = Utc::now();
    for i in 0..300 {
        let id = format!("dlv_race{i}");
        a.enqueue_deliveries(&[delivery(&id, "wh_race", now, Some(now))])
            .await
            .unwrap();
        let (x, y) = tokio::join!(
            a.claim_due(now, "a", LEASE, 10),
            b.claim_due(now, "b", LEASE, 10)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.len() + y.len(), 1, "round {i}: {x:?} {y:?}");
        let claimed = x.into_iter().chain(y).next().unwrap();
        let (owner, mine, other) = if claimed.owner == "a" {
            ("a", &a, &b)
        } else {
            ("b", &b, &a)
        };
        let done = DeliveryRecord {
            status: DeliveryStatus::Delivered,
            next_attempt_at: None,
            ..claimed.delivery.clone()
        };
        let retry = DeliveryRecord {
            next_attempt_at: Some(now),
            ..claimed.delivery.clone()
        };
        let (finished, retried) = tokio::join!(
            mine.finish_attempt(&done, owner),
            other.update_delivery(&retry)
        );
        let outcomes = [finished.unwrap(), retried.unwrap()];
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == CasOutcome::Written)
                .count(),
            1,
            "round {i}: {outcomes:?}"
        );
        // Whichever won, the delivery ends delivered and unclaimable.
        if outcomes[0] != CasOutcome::Written {
            let again = a.claim_due(now, "a", LEASE, 10).await.unwrap();
            let done = DeliveryRecord {
                status: DeliveryStatus::Delivered,
                next_attempt_at: None,
                ..again[0].delivery.clone()
            };
            assert_eq!(
                a.finish_attempt(&done, "a").await.unwrap(),
                CasOutcome::Written
            );
        }
        assert!(a.claim_due(now, "a", LEASE, 10).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_claims_race() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Storage> = Arc::new(EmbeddedStorage::open(&dir.path().join("t.redb")).unwrap());
    claims_race(s.clone(), s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_claims_race() {
    let redis = RedisServer::start();
    // Two instances: two connections, as two gateways would have.
    let instance = || -> Arc<dyn Storage> {
        let conn = cartgate::storage::redis::connect(&redis.url()).unwrap();
        Arc::new(RedisStorage::new(conn, StdDuration::from_secs(86_400)))
    };
    claims_race(instance(), instance()).await;
}

/// The queue spreads over many hash slots, and nothing in Redis holds a webhook secret in
/// clear.
#[tokio::test]
async fn redis_queue_spreads_over_shards_and_holds_no_secret() {
    let redis = RedisServer::start();
    let conn = cartgate::storage::redis::connect(&redis.url()).unwrap();
    let s = RedisStorage::new(conn, StdDuration::from_secs(86_400));
    let mk = MasterKey::generate();
    assert!(s
        .insert_subscription(&subscription(&mk, "wh_spread", "acct_w"))
        .await
        .unwrap());
    let now = Utc::now();
    let ds: Vec<_> = (0..64)
        .map(|i| delivery(&format!("dlv_spread{i}"), "wh_spread", now, Some(now)))
        .collect();
    s.enqueue_deliveries(&ds).await.unwrap();
    let dump = redis.dump();
    let shards: BTreeSet<&str> = dump.lines().filter(|l| l.starts_with("cg:whq:{")).collect();
    assert!(
        shards.len() >= 8,
        "64 deliveries over at least 8 queue shards: {shards:?}"
    );
    for d in &ds {
        let n = dump
            .lines()
            .find(|l| l.starts_with("cg:dlv:{") && l.ends_with(&format!(":{}", d.id)))
            .expect("a record per delivery");
        let tag = &n["cg:dlv:".len()..n.find('}').unwrap() + 1];
        assert!(
            shards.contains(format!("cg:whq:{tag}").as_str()),
            "{} is in the slot of its queue shard",
            d.id
        );
    }
    assert_eq!(s.claim_due(now, "a", LEASE, 100).await.unwrap().len(), 64);
    assert!(!dump.contains("whsec_"), "secrets are sealed");
    assert!(!redis.files().contains("whsec_"));
}

/// A master-key rotation re-seals webhook secrets (current and previous) too.
#[tokio::test]
async fn rotation_reseals_webhook_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStorage::open(&dir.path().join("t.redb")).unwrap();
    let old = MasterKey::generate();
    let sub = subscription(&old, "wh_rot", "acct_w");
    assert!(s.insert_subscription(&sub).await.unwrap());
    let ring = KeyRing::new(old, Vec::new());
    let new = MasterKey::generate();
    let n = cartgate::admin::reseal_all(&s, &ring, &new).await.unwrap();
    assert_eq!(n, 1);
    let now = s.get_subscription("wh_rot").await.unwrap().unwrap();
    assert_eq!(now.version, 1);
    let ctx = secret_context("wh_rot");
    assert_eq!(new.open(&now.secret, &ctx).unwrap(), b"whsec_current");
    let (previous, until) = now.previous_secret.unwrap();
    assert_eq!(new.open(&previous, &ctx).unwrap(), b"whsec_previous");
    assert_eq!(until, sub.previous_secret.unwrap().1);
}

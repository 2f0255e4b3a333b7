//! The storage contract, run against every backend.

mod webhooks;

use chrono::{Duration, Utc};

use cartgate::crypto::MasterKey;
use cartgate::storage::embedded::EmbeddedStorage;
use cartgate::storage::*;

async fn contract(s: &dyn Storage) {
    let now = Utc::now();
    let a = AccountRecord {
        id: "acct_1".into(),
        name: "A".into(),
        created_at: now,
    };
    s.put_account(&a).await.unwrap();
    assert_eq!(s.get_account("acct_1").await.unwrap(), Some(a));
    assert_eq!(s.get_account("acct_2").await.unwrap(), None);

    let k = ApiKeyRecord {
        id: "key_1".into(),
        account_id: "acct_1".into(),
        digest: "d1".into(),
        prefix: "cg_abc".into(),
        created_at: now,
        revoked_at: None,
    };
    s.put_api_key(&k).await.unwrap();
    assert_eq!(s.find_api_key("d1").await.unwrap(), Some(k.clone()));
    assert_eq!(s.find_api_key("nope").await.unwrap(), None);
    let revoked = ApiKeyRecord {
        revoked_at: Some(now),
        ..k
    };
    s.put_api_key(&revoked).await.unwrap();
    assert!(s
        .find_api_key("d1")
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    assert_eq!(s.list_api_keys("acct_1", None, 10).await.unwrap().len(), 1);

    let mk = MasterKey::generate();
    let st = StoreRecord {
        id: "st_1".into(),
        account_id: "acct_1".into(),
        platform: "woocommerce".into(),
        name: "S".into(),
        credentials: mk.seal(b"{}", "store:st_1"),
        status: StoreStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
        native_webhooks: None,
    };
    assert!(s.insert_store(&st).await.unwrap());
    assert!(
        !s.insert_store(&StoreRecord {
            name: "other".into(),
            ..st.clone()
        })
        .await
        .unwrap(),
        "an id is created once"
    );
    assert_eq!(s.get_store("st_1").await.unwrap(), Some(st.clone()));
    store_compare_and_set(s, &st).await;
    let st = s.get_store("st_1").await.unwrap().unwrap();
    assert_eq!(s.list_stores("acct_1", None, 10).await.unwrap().len(), 1);
    assert_eq!(s.list_stores("acct_2", None, 10).await.unwrap().len(), 0);
    paging_contract(s, &st, &revoked).await;

    let first = mk.seal(b"one", "meta:m");
    assert!(s.put_meta_if_absent("m", &first).await.unwrap());
    assert!(!s
        .put_meta_if_absent("m", &mk.seal(b"two", "meta:m"))
        .await
        .unwrap());
    assert_eq!(s.get_meta("m").await.unwrap(), Some(first.clone()));

    let sealed = s.all_sealed().await.unwrap();
    assert_eq!(sealed.stores, vec![st.clone()]);
    assert!(sealed.subscriptions.is_empty());
    assert_eq!(sealed.meta, vec![("m".to_owned(), first)]);
    reseal_is_conditional(s, &mk, sealed).await;
    assert!(s.delete_store("st_1").await.unwrap());
    assert!(!s.delete_store("st_1").await.unwrap());
    assert_eq!(s.get_store("st_1").await.unwrap(), None);

    let log = |id: &str, days_ago: i64, status: u16| LogRecord {
        id: id.into(),
        account_id: "acct_1".into(),
        request_id: "r".into(),
        at: now - Duration::days(days_ago),
        method: "GET".into(),
        route: "/v1/stores".into(),
        store_id: None,
        status,
        latency_ms: 1,
        upstream_calls: 0,
        error_code: None,
    };
    s.append_logs(&[log("l1", 40, 200), log("l2", 2, 404), log("l3", 1, 200)])
        .await
        .unwrap();
    let q = LogQuery {
        limit: 10,
        ..Default::default()
    };
    let got: Vec<_> = s
        .list_logs("acct_1", &q)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(got, vec!["l3", "l2", "l1"], "newest first");
    let q404 = LogQuery {
        limit: 10,
        status: Some(404),
        ..Default::default()
    };
    assert_eq!(s.list_logs("acct_1", &q404).await.unwrap().len(), 1);
    assert_eq!(s.list_logs("acct_2", &q).await.unwrap().len(), 0);
    assert_eq!(s.purge_logs(now - Duration::days(30)).await.unwrap(), 1);
    assert_eq!(s.list_logs("acct_1", &q).await.unwrap().len(), 2);
    s.ping().await.unwrap();

    idempotency_contract(s).await;
    webhooks::contract(s).await;
}

/// Idempotency keys: claim, refuse, complete, release, expire; per account.
async fn idempotency_contract(s: &dyn Storage) {
    let claim = |owner: &str, fingerprint: &str, ms: i64| IdempotencyRecord {
        fingerprint: fingerprint.into(),
        owner: owner.into(),
        request_id: "req_1".into(),
        started_at: Utc::now(),
        expires_at: Utc::now() + Duration::milliseconds(ms),
        outcome: None,
    };
    let lease = 60_000;
    let a = claim("owner-a", "fp1", lease);
    assert_eq!(
        s.idempotency_begin("acct_1", "k1", &a).await.unwrap(),
        IdempotencyBegin::Started
    );
    // Held: the same request is in progress, another one is a conflict.
    let b = claim("owner-b", "fp1", lease);
    assert_eq!(
        s.idempotency_begin("acct_1", "k1", &b).await.unwrap(),
        IdempotencyBegin::InProgress
    );
    assert_eq!(
        s.idempotency_begin("acct_1", "k1", &claim("owner-c", "fp2", lease))
            .await
            .unwrap(),
        IdempotencyBegin::Conflict
    );
    // Keys are per account.
    assert_eq!(
        s.idempotency_begin("acct_2", "k1", &claim("owner-d", "fp2", lease))
            .await
            .unwrap(),
        IdempotencyBegin::Started
    );
    // Only the holder completes it, once; a finished call is kept and answered.
    let a_done = IdempotencyRecord {
        expires_at: Utc::now() + Duration::seconds(60),
        outcome: Some(IdempotentOutcome::Resource {
            status: 201,
            path: "/v1/stores/st_1/orders/7".into(),
        }),
        ..a.clone()
    };
    let b_done = IdempotencyRecord {
        owner: "owner-b".into(),
        ..a_done.clone()
    };
    assert!(!s
        .idempotency_complete("acct_1", "k1", &b_done)
        .await
        .unwrap());
    assert!(!s
        .idempotency_release("acct_1", "k1", "owner-b")
        .await
        .unwrap());
    assert!(s
        .idempotency_complete("acct_1", "k1", &a_done)
        .await
        .unwrap());
    assert!(!s
        .idempotency_complete("acct_1", "k1", &a_done)
        .await
        .unwrap());
    assert!(!s
        .idempotency_release("acct_1", "k1", "owner-a")
        .await
        .unwrap());
    assert_eq!(
        s.idempotency_begin("acct_1", "k1", &b).await.unwrap(),
        IdempotencyBegin::Done(a_done.clone())
    );
    assert_eq!(
        s.idempotency_begin("acct_1", "k1", &claim("owner-c", "fp2", lease))
            .await
            .unwrap(),
        IdempotencyBegin::Conflict
    );

    // Released: the key is free again.
    let e = claim("owner-e", "fp1", lease);
    assert_eq!(
        s.idempotency_begin("acct_1", "k2", &e).await.unwrap(),
        IdempotencyBegin::Started
    );
    assert!(s
        .idempotency_release("acct_1", "k2", "owner-e")
        .await
        .unwrap());
    assert_eq!(
        s.idempotency_begin("acct_1", "k2", &claim("owner-f", "fp9", lease))
            .await
            .unwrap(),
        IdempotencyBegin::Started
    );

    // An expired lease frees the key, and its old holder can no longer complete it; an
    // expired record is gone too.
    let g = claim("owner-g", "fp1", 300);
    assert_eq!(
        s.idempotency_begin("acct_1", "k3", &g).await.unwrap(),
        IdempotencyBegin::Started
    );
    let h = claim("owner-h", "fp1", 300);
    assert_eq!(
        s.idempotency_begin("acct_1", "k4", &h).await.unwrap(),
        IdempotencyBegin::Started
    );
    let h_done = IdempotencyRecord {
        expires_at: Utc::now() + Duration::milliseconds(300),
        outcome: Some(IdempotentOutcome::Failed {
            status: 502,
            code: "upstream_error".into(),
        }),
        ..h.clone()
    };
    assert!(s
        .idempotency_complete("acct_1", "k4", &h_done)
        .await
        .unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let g_done = IdempotencyRecord {
        outcome: Some(IdempotentOutcome::Rerun),
        ..g.clone()
    };
    assert!(!s
        .idempotency_complete("acct_1", "k3", &g_done)
        .await
        .unwrap());
    s.purge_idempotency(Utc::now()).await.unwrap();
    for key in ["k3", "k4"] {
        assert_eq!(
            s.idempotency_begin("acct_1", key, &claim("owner-i", "fp7", lease))
                .await
                .unwrap(),
            IdempotencyBegin::Started,
            "{key}"
        );
    }
    // The purge keeps what has not expired.
    assert_eq!(
        s.idempotency_begin("acct_1", "k1", &b).await.unwrap(),
        IdempotencyBegin::Done(a_done)
    );
}

/// Conditional writes: a write computed from an old version, or aimed at a deleted store,
/// changes nothing.
async fn store_compare_and_set(s: &dyn Storage, st: &StoreRecord) {
    let renamed = StoreRecord {
        name: "renamed".into(),
        ..st.clone()
    };
    assert_eq!(s.update_store(&renamed).await.unwrap(), CasOutcome::Written);
    let now = s.get_store(&st.id).await.unwrap().unwrap();
    assert_eq!(
        (now.name.as_str(), now.version),
        ("renamed", st.version + 1)
    );

    // A status computed from the first read lands after the rename: refused, nothing lost.
    let stale = StoreRecord {
        status: StoreStatus::AuthFailed,
        ..st.clone()
    };
    assert_eq!(s.update_store(&stale).await.unwrap(), CasOutcome::Stale);
    assert_eq!(s.get_store(&st.id).await.unwrap(), Some(now.clone()));

    // Never recreates a store that is gone.
    let ghost = StoreRecord {
        id: "st_gone".into(),
        ..st.clone()
    };
    assert_eq!(s.update_store(&ghost).await.unwrap(), CasOutcome::Missing);
    assert_eq!(s.get_store("st_gone").await.unwrap(), None);
    assert_eq!(
        s.list_stores(&st.account_id, None, 10).await.unwrap().len(),
        1
    );
}

fn ids<T>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    rows.iter().map(|r| id(r).to_owned()).collect()
}

/// Stores and keys are listed a page at a time in id order, per account, from an index:
/// pages meet without overlap, another account's never show, a deleted store leaves its
/// page, and `get_stores` answers the ones that exist.
async fn paging_contract(s: &dyn Storage, st: &StoreRecord, key: &ApiKeyRecord) {
    // Written out of order and interleaved with another account's.
    for n in [5, 2, 8, 1, 7, 3, 6, 4] {
        for account in ["acct_p", "acct_q"] {
            let id = format!("st_{account}_{n}");
            assert!(s
                .insert_store(&StoreRecord {
                    id: id.clone(),
                    account_id: account.into(),
                    ..st.clone()
                })
                .await
                .unwrap());
            s.put_api_key(&ApiKeyRecord {
                id: format!("key_{account}_{n}"),
                account_id: account.into(),
                digest: format!("digest_{account}_{n}"),
                ..key.clone()
            })
            .await
            .unwrap();
        }
    }
    let expected: Vec<String> = (1..=8).map(|n| format!("st_acct_p_{n}")).collect();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_stores("acct_p", after.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        seen.extend(ids(&page, |s| &s.id));
        if page.len() < 3 {
            break;
        }
        after = page.last().map(|s| s.id.clone());
    }
    assert_eq!(
        seen, expected,
        "every store once, in id order, none of acct_q's"
    );
    let keys = s
        .list_api_keys("acct_q", Some("key_acct_q_5"), 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&keys, |k| &k.id),
        vec!["key_acct_q_6", "key_acct_q_7", "key_acct_q_8"]
    );
    assert!(s.list_stores("acct_p", None, 0).await.unwrap().is_empty());

    assert!(s.delete_store("st_acct_p_2").await.unwrap());
    let page = s
        .list_stores("acct_p", Some("st_acct_p_1"), 2)
        .await
        .unwrap();
    assert_eq!(ids(&page, |s| &s.id), vec!["st_acct_p_3", "st_acct_p_4"]);
    let got = s
        .get_stores(&["st_acct_p_2".into(), "st_acct_q_2".into(), "st_nope".into()])
        .await
        .unwrap();
    assert_eq!(ids(&got, |s| &s.id), vec!["st_acct_q_2"]);
    for n in [1, 3, 4, 5, 6, 7, 8] {
        for account in ["acct_p", "acct_q"] {
            assert!(s.delete_store(&format!("st_{account}_{n}")).await.unwrap());
        }
    }
    assert!(s.delete_store("st_acct_q_2").await.unwrap());
    assert!(s.list_stores("acct_p", None, 50).await.unwrap().is_empty());
}

/// Rotation's write: stores and webhook subscriptions changed or deleted since they were
/// read are skipped (and reported), the others re-sealed.
async fn reseal_is_conditional(s: &dyn Storage, mk: &MasterKey, read: SealedSet) {
    let st = read.stores[0].clone();
    let other = StoreRecord {
        id: "st_2".into(),
        version: 0,
        credentials: mk.seal(b"{}", "store:st_2"),
        ..st.clone()
    };
    let gone = StoreRecord {
        id: "st_3".into(),
        version: 0,
        credentials: mk.seal(b"{}", "store:st_3"),
        ..st.clone()
    };
    assert!(s.insert_store(&other).await.unwrap());
    assert!(s.insert_store(&gone).await.unwrap());
    for id in ["wh_r1", "wh_r2", "wh_r3"] {
        let sub = webhooks::subscription(mk, id, "acct_1");
        assert!(s.insert_subscription(&sub).await.unwrap());
    }
    let mut set = s.all_sealed().await.unwrap();
    set.stores.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(set.stores.len(), 3);
    set.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    let read: Vec<_> = set.subscriptions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(read, ["wh_r1", "wh_r2", "wh_r3"]);
    assert_eq!(
        mk.open(&set.subscriptions[0].secret, "webhook:wh_r1")
            .unwrap(),
        b"whsec_current"
    );
    // Meanwhile: wh_r2's secret is rotated, wh_r3 is deleted.
    let rotated = SubscriptionRecord {
        secret: mk.seal(b"whsec_rotated", "webhook:wh_r2"),
        ..set.subscriptions[1].clone()
    };
    assert_eq!(
        s.update_subscription(&rotated).await.unwrap(),
        CasOutcome::Written
    );
    assert!(s.delete_subscription("wh_r3").await.unwrap());
    // Meanwhile: st_2 gets new credentials, st_3 is deleted.
    let changed = StoreRecord {
        credentials: mk.seal(b"{\"new\":1}", "store:st_2"),
        ..other.clone()
    };
    assert_eq!(s.update_store(&changed).await.unwrap(), CasOutcome::Written);
    assert!(s.delete_store("st_3").await.unwrap());

    let new_key = MasterKey::generate();
    for store in &mut set.stores {
        store.credentials = new_key.seal(b"{}", &format!("store:{}", store.id));
    }
    for sub in &mut set.subscriptions {
        let ctx = format!("webhook:{}", sub.id);
        sub.secret = new_key.seal(b"whsec_current", &ctx);
        if let Some((previous, _)) = sub.previous_secret.as_mut() {
            *previous = new_key.seal(b"whsec_previous", &ctx);
        }
    }
    let mut skipped = s.replace_sealed(&set).await.unwrap();
    skipped.stores.sort();
    skipped.subscriptions.sort();
    assert_eq!(skipped.stores, vec!["st_2", "st_3"]);
    assert_eq!(skipped.subscriptions, vec!["wh_r2", "wh_r3"]);
    let r1 = s.get_subscription("wh_r1").await.unwrap().unwrap();
    assert_eq!(r1.secret.key_id, new_key.id(), "re-sealed");
    assert_eq!(r1.previous_secret.unwrap().0.key_id, new_key.id());
    assert_eq!(r1.version, 1);
    assert_eq!(
        s.get_subscription("wh_r2").await.unwrap().unwrap().secret,
        rotated.secret,
        "not reverted"
    );
    assert_eq!(
        s.get_subscription("wh_r3").await.unwrap(),
        None,
        "not recreated"
    );
    assert!(s.delete_subscription("wh_r1").await.unwrap());
    assert!(s.delete_subscription("wh_r2").await.unwrap());
    let st_now = s.get_store(&st.id).await.unwrap().unwrap();
    assert_eq!(st_now.credentials.key_id, new_key.id(), "re-sealed");
    assert_eq!(st_now.version, st.version + 1);
    let other_now = s.get_store("st_2").await.unwrap().unwrap();
    assert_eq!(other_now.credentials, changed.credentials, "not reverted");
    assert_eq!(s.get_store("st_3").await.unwrap(), None, "not recreated");
    assert!(s.delete_store("st_2").await.unwrap());
}

#[tokio::test]
async fn embedded_storage_contract() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStorage::open(&dir.path().join("t.redb")).unwrap();
    contract(&s).await;
}

/// A store written before the per-account indexes existed (only the record tables) lists
/// its stores and keys once opened by this version.
#[tokio::test]
async fn embedded_indexes_are_built_for_an_older_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("stores");
            let mut t = tx.open_table(def).unwrap();
            let record = serde_json::json!({
                "id": "st_old", "account_id": "acct_old", "platform": "woocommerce",
                "name": "Old", "credentials": MasterKey::generate().seal(b"{}", "store:st_old"),
                "status": "active", "created_at": Utc::now(), "updated_at": Utc::now()
            });
            t.insert("st_old", serde_json::to_vec(&record).unwrap().as_slice())
                .unwrap();
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("api_keys");
            let mut t = tx.open_table(def).unwrap();
            let key = serde_json::json!({
                "id": "key_old", "account_id": "acct_old", "digest": "d", "prefix": "cg_x",
                "created_at": Utc::now(), "revoked_at": null
            });
            t.insert("key_old", serde_json::to_vec(&key).unwrap().as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let s = EmbeddedStorage::open(&path).unwrap();
    let stores = s.list_stores("acct_old", None, 10).await.unwrap();
    assert_eq!(ids(&stores, |s| &s.id), vec!["st_old"]);
    let keys = s.list_api_keys("acct_old", None, 10).await.unwrap();
    assert_eq!(ids(&keys, |k| &k.id), vec!["key_old"]);
}

#[tokio::test]
async fn embedded_purges_expired_idempotency_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStorage::open(&dir.path().join("t.redb")).unwrap();
    assert_eq!(
        s.purge_idempotency(Utc::now()).await.unwrap(),
        0,
        "no table yet"
    );
    let record = |key: &str, ms: i64| IdempotencyRecord {
        fingerprint: "fp".into(),
        owner: key.into(),
        request_id: "r".into(),
        started_at: Utc::now(),
        expires_at: Utc::now() + Duration::milliseconds(ms),
        outcome: None,
    };
    for (key, ms) in [("old", 100), ("live", 60_000)] {
        let r = record(key, ms);
        s.idempotency_begin("acct", key, &r).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.purge_idempotency(Utc::now()).await.unwrap(), 1);
    assert_eq!(s.purge_idempotency(Utc::now()).await.unwrap(), 0);
    assert_eq!(
        s.idempotency_begin("acct", "live", &record("x", 60_000))
            .await
            .unwrap(),
        IdempotencyBegin::InProgress
    );
}

#[tokio::test]
async fn redis_storage_contract() {
    let redis = crate::redis_server::RedisServer::start();
    let conn = cartgate::storage::redis::connect(&redis.url()).unwrap();
    // A retention longer than the oldest entry the contract appends (40 days), so that the
    // explicit purge is what removes it, as on the embedded store.
    let s = cartgate::storage::redis::RedisStorage::new(
        conn,
        std::time::Duration::from_secs(60 * 86_400),
    );
    contract(&s).await;
}

/// Store and key ids kept in the unordered sets of earlier versions move into the ordered
/// indexes on the first list, and a store deleted before that does not come back.
#[tokio::test]
async fn redis_moves_earlier_set_indexes_into_the_ordered_ones() {
    let redis = crate::redis_server::RedisServer::start();
    let conn = cartgate::storage::redis::connect(&redis.url()).unwrap();
    let s = cartgate::storage::redis::RedisStorage::new(conn, std::time::Duration::from_secs(3600));
    let now = Utc::now();
    let st = |id: &str| StoreRecord {
        id: id.into(),
        account_id: "acct_old".into(),
        platform: "woocommerce".into(),
        name: "Old".into(),
        credentials: MasterKey::generate().seal(b"{}", "store:x"),
        status: StoreStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
        native_webhooks: None,
    };
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    for id in ["st_a", "st_b", "st_c"] {
        let _: () = ::redis::cmd("SET")
            .arg(format!("cg:{{cg}}:store:{id}"))
            .arg(serde_json::to_string(&st(id)).unwrap())
            .query_async(&mut c)
            .await
            .unwrap();
        let _: () = ::redis::cmd("SADD")
            .arg("cg:{cg}:account-stores:acct_old")
            .arg(id)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    let key = serde_json::json!({
        "id": "key_old", "account_id": "acct_old", "digest": "d", "prefix": "cg_x",
        "created_at": now, "revoked_at": null
    });
    let _: () = ::redis::cmd("SET")
        .arg("cg:{cg}:apikey:key_old")
        .arg(key.to_string())
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = ::redis::cmd("SADD")
        .arg("cg:{cg}:account-keys:acct_old")
        .arg("key_old")
        .query_async(&mut c)
        .await
        .unwrap();
    // Written by this version before the first list: in the ordered index only.
    assert!(s.insert_store(&st("st_d")).await.unwrap());
    assert!(s.delete_store("st_b").await.unwrap());
    let page = s.list_stores("acct_old", None, 10).await.unwrap();
    assert_eq!(ids(&page, |s| &s.id), vec!["st_a", "st_c", "st_d"]);
    let page = s.list_stores("acct_old", Some("st_a"), 1).await.unwrap();
    assert_eq!(ids(&page, |s| &s.id), vec!["st_c"]);
    let keys = s.list_api_keys("acct_old", None, 10).await.unwrap();
    assert_eq!(ids(&keys, |k| &k.id), vec!["key_old"]);
    let legacy: bool = ::redis::cmd("EXISTS")
        .arg("cg:{cg}:account-stores:acct_old")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(!legacy, "the earlier set is gone once moved");
}

#[tokio::test]
async fn redis_trims_logs_past_retention_by_itself() {
    let redis = crate::redis_server::RedisServer::start();
    let conn = cartgate::storage::redis::connect(&redis.url()).unwrap();
    let s = cartgate::storage::redis::RedisStorage::new(
        conn,
        std::time::Duration::from_secs(30 * 86_400),
    );
    let now = Utc::now();
    let entry = |id: &str, days_ago: i64| LogRecord {
        id: id.into(),
        account_id: "acct_r".into(),
        request_id: "r".into(),
        at: now - Duration::days(days_ago),
        method: "GET".into(),
        route: "/v1/stores".into(),
        store_id: None,
        status: 200,
        latency_ms: 1,
        upstream_calls: 0,
        error_code: None,
    };
    s.append_logs(&[entry("old", 31), entry("new", 1)])
        .await
        .unwrap();
    let q = LogQuery {
        limit: 10,
        ..Default::default()
    };
    let ids: Vec<_> = s
        .list_logs("acct_r", &q)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        vec!["new"],
        "Redis dropped the entry past retention on write"
    );
    let mut c = ::redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg("cg:log:{acct_r}")
        .query(&mut c)
        .unwrap();
    let retention_ms = 30 * 86_400 * 1000;
    assert!(
        ttl > retention_ms - 60_000 && ttl <= retention_ms,
        "the log key expires one retention after its last write: {ttl}"
    );
}

/// The upstream budget in Redis is the same bucket as the in-process one, and instances share it.
#[tokio::test]
async fn redis_pacer_matches_the_local_one_and_is_shared() {
    use cartgate::ratelimit::pace::RedisPacer;
    use cartgate::storage::redis::connect;
    use cartgate_connector::pace::{LocalPacer, Pacer, Quota};
    use std::time::Instant;

    let redis = crate::redis_server::RedisServer::start();
    let hash = |k: &str| format!("h-{k}");
    let a = RedisPacer::new(connect(&redis.url()).unwrap(), hash);
    let b = RedisPacer::new(connect(&redis.url()).unwrap(), hash);
    let local = LocalPacer::default();
    let q = Quota {
        rate_per_sec: 10.0,
        burst: 10.0,
    };
    // A wait the bucket computes is `expected` as of `since`, less the refill since then:
    // checked as such, so a slow machine cannot make the assertion flaky.
    let near = |wait: std::time::Duration, expected: f64, since: Instant| {
        let wait = wait.as_secs_f64();
        let lowest = expected - since.elapsed().as_secs_f64() - 0.05;
        assert!(
            wait <= expected + 0.05 && wait >= lowest,
            "waited {wait}s, expected {expected}s as of {:?} ago",
            since.elapsed()
        );
    };
    // A full bucket pays 10 units at once; the next 5 wait half a second — also when they
    // are asked for through the other instance.
    let mut started = Vec::new();
    for p in [&a as &dyn Pacer, &local] {
        started.push(Instant::now());
        near(
            p.reserve("shop", 10.0, q).await.unwrap(),
            0.0,
            Instant::now(),
        );
    }
    near(b.reserve("shop", 5.0, q).await.unwrap(), 0.5, started[0]);
    near(
        local.reserve("shop", 5.0, q).await.unwrap(),
        0.5,
        started[1],
    );
    // Giving 5 back makes the next 5 cost what they did before.
    for p in [&a as &dyn Pacer, &local] {
        p.refund("shop", 5.0, q).await.unwrap();
    }
    near(a.reserve("shop", 5.0, q).await.unwrap(), 0.5, started[0]);
    // The platform saying the bucket is empty makes the model wait for what is asked.
    let observed = Instant::now();
    b.observe("other", 0.0, q).await.unwrap();
    near(a.reserve("other", 1.0, q).await.unwrap(), 0.1, observed);
    // Bucket names are stored hashed, never as given.
    assert!(redis.dump().contains("cg:pace:{h-shop}"));
}

//! The storage contract, run against every backend.

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
    assert_eq!(s.list_api_keys("acct_1").await.unwrap().len(), 1);

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
    };
    s.put_store(&st).await.unwrap();
    assert_eq!(s.get_store("st_1").await.unwrap(), Some(st.clone()));
    assert_eq!(s.list_stores("acct_1").await.unwrap().len(), 1);
    assert_eq!(s.list_stores("acct_2").await.unwrap().len(), 0);

    let sealed = s.all_sealed().await.unwrap();
    assert_eq!(sealed.stores.len(), 1);
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
}

#[tokio::test]
async fn embedded_storage_contract() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStorage::open(&dir.path().join("t.redb")).unwrap();
    contract(&s).await;
}

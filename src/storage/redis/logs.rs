//! The request log in Redis, one slot per account.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `cg:log:{<account_id>}` | sorted set | request-log entries scored by time (µs) |
//!
//! Log retention is enforced by Redis itself: each append trims entries older than the
//! retention from that account's set and sets the key to expire one retention after its last
//! write, so an idle account's log disappears without any gateway running. The gateway's
//! hourly purge (`purge_logs`) is a second, belt-and-braces pass.

use ::redis::AsyncCommands;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{from_json, to_json, unavailable, RedisStorage};
use crate::storage::{LogQuery, LogRecord, Logs, StorageResult};

mod keys {
    pub fn log(account: &str) -> String {
        format!("cg:log:{{{account}}}")
    }
    pub const LOG_PATTERN: &str = "cg:log:*";
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

#[async_trait]
impl Logs for RedisStorage {
    async fn append_logs(&self, entries: &[LogRecord]) -> StorageResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let retention_ms = self.retention.as_millis() as i64;
        let cutoff = micros(Utc::now()) - retention_ms * 1000;
        let mut by_account: std::collections::BTreeMap<&str, Vec<&LogRecord>> = Default::default();
        for e in entries {
            by_account.entry(&e.account_id).or_default().push(e);
        }
        // Not one transaction across accounts (their keys live in different slots); each
        // account's part is atomic.
        let mut pipe = ::redis::pipe();
        for (account, items) in by_account {
            let key = keys::log(account);
            pipe.cmd("MULTI").ignore();
            for e in items {
                pipe.zadd(&key, to_json(e)?, micros(e.at)).ignore();
            }
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({cutoff}"))
                .ignore();
            pipe.pexpire(&key, retention_ms).ignore();
            pipe.cmd("EXEC").ignore();
        }
        self.exec(&pipe).await
    }

    async fn list_logs(&self, account_id: &str, q: &LogQuery) -> StorageResult<Vec<LogRecord>> {
        const BATCH: isize = 256;
        let key = keys::log(account_id);
        let max = match (&q.before, q.to) {
            (Some((at, _)), _) => micros(*at).to_string(),
            (None, Some(to)) => micros(to).to_string(),
            (None, None) => "+inf".to_owned(),
        };
        let min = q.from.map_or("-inf".to_owned(), |f| micros(f).to_string());
        let mut out = Vec::new();
        let mut offset: isize = 0;
        while out.len() < q.limit {
            let page: Vec<String> = self
                .conn()
                .zrevrangebyscore_limit(&key, &max, &min, offset, BATCH)
                .await
                .map_err(unavailable)?;
            let n = page.len();
            for raw in page {
                let e: LogRecord = from_json(&raw)?;
                if !q.matches(&e) {
                    continue;
                }
                out.push(e);
                if out.len() >= q.limit {
                    break;
                }
            }
            if (n as isize) < BATCH {
                break;
            }
            offset += BATCH;
        }
        // Same score: newest first by id, like the embedded store's key order.
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let mut conn = self.conn();
        let mut log_keys = Vec::new();
        {
            let mut iter: ::redis::AsyncIter<String> = conn
                .scan_match(keys::LOG_PATTERN)
                .await
                .map_err(unavailable)?;
            while let Some(k) = futures::StreamExt::next(&mut iter).await {
                log_keys.push(k.map_err(unavailable)?);
            }
        }
        let mut n = 0u64;
        for key in log_keys {
            let removed: u64 = ::redis::cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({}", micros(before)))
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            n += removed;
        }
        Ok(n)
    }
}

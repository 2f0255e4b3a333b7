//! The request log in redb.
//!
//! | table | key → value |
//! |---|---|
//! | `logs` | `{account_id}/{at_micros:020}/{log_id}` → LogRecord |
//! | `logs_by_time` | `{at_micros:020}/{account_id}/{log_id}` → "" |
//!
//! One account's entries are a contiguous, time-ordered range of `logs`, read newest first;
//! `logs_by_time` purges by age without scanning every account.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition};

use super::{from_json, to_json, unavailable, EmbeddedStorage, JsonTable};
use crate::storage::{LogQuery, LogRecord, Logs, StorageResult};

pub(super) const LOGS: JsonTable = TableDefinition::new("logs");
pub(super) const LOGS_BY_TIME: TableDefinition<&str, &str> = TableDefinition::new("logs_by_time");

pub(super) fn micros(t: DateTime<Utc>) -> u64 {
    t.timestamp_micros().max(0) as u64
}

#[async_trait]
impl Logs for EmbeddedStorage {
    async fn append_logs(&self, entries: &[LogRecord]) -> StorageResult<()> {
        let rows: Vec<(String, String, Vec<u8>)> = entries
            .iter()
            .map(|e| {
                let at = micros(e.at);
                Ok((
                    format!("{}/{:020}/{}", e.account_id, at, e.id),
                    format!("{:020}/{}/{}", at, e.account_id, e.id),
                    to_json(e)?,
                ))
            })
            .collect::<StorageResult<_>>()?;
        self.write(move |tx| {
            {
                let mut logs = tx.open_table(LOGS).map_err(unavailable)?;
                let mut by_time = tx.open_table(LOGS_BY_TIME).map_err(unavailable)?;
                for (key, time_key, bytes) in &rows {
                    logs.insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                    by_time.insert(time_key.as_str(), "").map_err(unavailable)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn list_logs(&self, account_id: &str, q: &LogQuery) -> StorageResult<Vec<LogRecord>> {
        let lo = format!("{}/{:020}/", account_id, q.from.map_or(0, micros));
        let hi = match &q.before {
            Some((at, id)) => format!("{}/{:020}/{}", account_id, micros(*at), id),
            None => format!(
                "{}/{:020}/\u{10ffff}",
                account_id,
                q.to.map_or(u64::MAX / 10, micros)
            ),
        };
        let q = q.clone();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let t = tx.open_table(LOGS).map_err(unavailable)?;
            let mut out = Vec::new();
            for row in t
                .range(lo.as_str()..hi.as_str())
                .map_err(unavailable)?
                .rev()
            {
                let (_, v) = row.map_err(unavailable)?;
                let e: LogRecord = from_json(v.value())?;
                if !q.matches(&e) {
                    continue;
                }
                out.push(e);
                if out.len() >= q.limit {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn purge_logs(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let hi = format!("{:020}/", micros(before));
        self.write(move |tx| {
            let mut n = 0u64;
            {
                let mut by_time = tx.open_table(LOGS_BY_TIME).map_err(unavailable)?;
                let mut logs = tx.open_table(LOGS).map_err(unavailable)?;
                let old: Vec<String> = by_time
                    .range(..hi.as_str())
                    .map_err(unavailable)?
                    .map(|r| r.map(|(k, _)| k.value().to_owned()))
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                for tk in old {
                    let mut parts = tk.splitn(3, '/');
                    if let (Some(at), Some(acct), Some(id)) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        logs.remove(format!("{acct}/{at}/{id}").as_str())
                            .map_err(unavailable)?;
                    }
                    by_time.remove(tk.as_str()).map_err(unavailable)?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }
}

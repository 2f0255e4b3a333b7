//! The token bucket on Redis' clock, shared by the API rate limit ([`super::redis`]) and the
//! upstream pacer ([`super::pace`]): one Lua script, so both keep the same algorithm as
//! `cartgate_connector::pace::bucket`.

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use cartgate_connector::pace::Quota;

use crate::storage::{unavailable, StorageResult};

/// KEYS[1]: the bucket, a hash `{level, at, rate, burst}` (units available, negative while
/// reservations queue; milliseconds from Redis `TIME`; the quota last reported by the
/// platform, which wins over the caller's). ARGV: op (`check`, `reserve`, `refund`,
/// `observe`), units, rate per millisecond, burst. Returns `{allowed (0/1), wait_ms,
/// remaining_units, reset_ms}` as strings (Lua numbers would be truncated to integers).
const BUCKET: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local op = ARGV[1]
local units = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'level', 'at', 'rate', 'burst')
-- The quota the platform last reported (observe) wins over the caller's default.
if state[3] and op ~= 'observe' then
  rate = tonumber(state[3])
  burst = tonumber(state[4])
end
local level = burst
if state[1] then
  level = tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate
  if level > burst then level = burst end
end
local function store(v)
  redis.call('HSET', KEYS[1], 'level', string.format('%.6f', v), 'at', string.format('%.3f', now))
  if op == 'observe' then
    redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'burst', tostring(burst))
  end
  -- Gone once full again: a missing bucket reads as full.
  redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(0, burst - v) / rate) + 1000)
end
local function reset(v) return tostring(math.max(0, burst - v) / rate) end
if op == 'check' then
  -- All or nothing: the API limit refuses instead of queueing.
  if level < units then
    return {'0', tostring((units - level) / rate), '0', reset(level)}
  end
  level = level - units
  store(level)
  return {'1', '0', tostring(math.floor(level + 1e-9)), reset(level)}
elseif op == 'reserve' then
  if units > burst then units = burst end
  level = level - units
  store(level)
  local wait = 0
  if level < 0 then wait = -level / rate end
  return {'1', tostring(wait), '0', reset(level)}
elseif op == 'refund' then
  level = level + units
  if level > burst then level = burst end
  store(level)
  return {'1', '0', '0', reset(level)}
elseif op == 'observe' then
  -- units: what the platform says is available; rate and burst: its bucket.
  if units < 0 then units = 0 end
  if units < level then level = units end
  if level > burst then level = burst end
  store(level)
  return {'1', '0', '0', reset(level)}
end
return redis.error_reply('unknown op')
"#;

/// What the script does to a bucket.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    /// Takes `units` when all of them are there, else nothing (the API limit).
    Check,
    /// Takes `units` (at most a burst), going negative; answers the wait (upstream budgets).
    Reserve,
    /// Gives `units` back.
    Refund,
    /// Aligns with what the platform reports available, and adopts its quota.
    Observe,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Check => "check",
            Op::Reserve => "reserve",
            Op::Refund => "refund",
            Op::Observe => "observe",
        }
    }
}

pub(super) struct BucketOutcome {
    pub allowed: bool,
    pub wait: Duration,
    pub remaining: u32,
    pub reset: Duration,
}

/// Token buckets in one Redis.
pub(super) struct RedisBuckets {
    conn: ConnectionManager,
    script: ::redis::Script,
}

impl RedisBuckets {
    pub fn new(conn: ConnectionManager) -> Self {
        RedisBuckets {
            conn,
            script: ::redis::Script::new(BUCKET),
        }
    }

    /// Runs `op` with `units` on the bucket at `key`, created full at `quota` when absent.
    pub async fn run(
        &self,
        key: String,
        op: Op,
        units: f64,
        quota: Quota,
    ) -> StorageResult<BucketOutcome> {
        let rate_per_ms = quota.rate_per_sec.max(1e-9) / 1000.0;
        let out: Vec<String> = self
            .script
            .key(key)
            .arg(op.as_str())
            .arg(units)
            .arg(rate_per_ms)
            .arg(quota.burst)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let num = |i: usize| {
            out.get(i)
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        Ok(BucketOutcome {
            allowed: num(0) == 1.0,
            wait: ms(num(1)),
            remaining: num(2).max(0.0) as u32,
            reset: ms(num(3)),
        })
    }
}

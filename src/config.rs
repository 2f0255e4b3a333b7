//! Settings: `CARTGATE_*` environment variables, command-line flags and an optional TOML
//! file (`--config`). Precedence: flag > environment > file > default. The file uses the
//! flag names with underscores, e.g. `rate_limit_per_second = 50`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};

/// Every setting of the gateway. `cartgate serve --help` prints them with their defaults.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// TOML file with any of these settings (flag names with underscores as keys).
    #[arg(long = "config", env = "CARTGATE_CONFIG", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Address to listen on. Keep it on loopback unless a proxy or TLS sits in front.
    #[arg(long, env = "CARTGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded store (cartgate.redb) and, when no master key is given,
    /// the generated master.key (mode 0600).
    #[arg(long, env = "CARTGATE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Base64 of 32 random bytes; seals store credentials (AES-256-GCM). Generate one with
    /// `openssl rand -base64 32`.
    #[arg(long, env = "CARTGATE_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// Comma-separated master keys that only open, never seal: what was sealed under them
    /// before a rotation finished stays readable (rolling rotation across instances).
    #[arg(long, env = "CARTGATE_PREVIOUS_MASTER_KEYS", hide_env_values = true)]
    pub previous_master_keys: Option<String>,

    /// Bearer token of the /admin API; the /admin API is off when unset.
    #[arg(long, env = "CARTGATE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Public base URL of this gateway, for platform webhooks to reach /inbound.
    #[arg(long, env = "CARTGATE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Allow store and subscriber URLs on loopback, private, link-local and metadata
    /// addresses. Only for demos and tests.
    #[arg(long, env = "CARTGATE_ALLOW_PRIVATE_UPSTREAMS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_upstreams: bool,

    /// Days request-log entries are kept.
    #[arg(long, env = "CARTGATE_LOG_RETENTION_DAYS", default_value_t = 30)]
    pub log_retention_days: u32,

    /// Sustained requests per second per API key.
    #[arg(long, env = "CARTGATE_RATE_LIMIT_PER_SECOND", default_value_t = 20)]
    pub rate_limit_per_second: u32,

    /// Requests an API key may burst above the sustained rate.
    #[arg(long, env = "CARTGATE_RATE_LIMIT_BURST", default_value_t = 40)]
    pub rate_limit_burst: u32,

    /// Redis URL for the distributed mode; unset: the embedded store.
    #[arg(long, env = "CARTGATE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Largest request body accepted, in bytes (larger: 413 payload_too_large).
    #[arg(long, env = "CARTGATE_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// Seconds one request may take end to end (then: 504 timeout).
    #[arg(long, env = "CARTGATE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Seconds a client has to send a request's line and headers in full, counted from
    /// its first byte (or, for a connection's first request, from the accept). Slower:
    /// the connection is closed.
    #[arg(long, env = "CARTGATE_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,

    /// Seconds a connection may sit idle (waiting for its next request, or with a response
    /// the client does not read) before it is closed.
    #[arg(long, env = "CARTGATE_IDLE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,

    /// Open client connections at most; at the cap the gateway stops accepting until one
    /// closes (new connections wait in the kernel's listen backlog).
    #[arg(long, env = "CARTGATE_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Seconds one attempt of an idempotent upstream call may take (a timed-out attempt is
    /// retried); calls that are not sent twice get the time left before the upstream
    /// deadline instead.
    #[arg(long, env = "CARTGATE_UPSTREAM_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_timeout_secs: u64,

    /// Seconds all upstream calls of one request may take together, attempts, waits and
    /// queueing included (then: 503 upstream_unavailable). Must be less than the request
    /// timeout. Default: 5 s less than the request timeout, at least half of it (25 s).
    #[arg(long, env = "CARTGATE_UPSTREAM_DEADLINE_SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_deadline_secs: Option<u64>,

    /// Retries of an idempotent upstream call on 429, 5xx and timeouts.
    #[arg(long, env = "CARTGATE_UPSTREAM_MAX_RETRIES", default_value_t = 3)]
    pub upstream_max_retries: u32,

    /// Seconds one upstream call may spend waiting between attempts in total (the
    /// attempts themselves are not counted).
    #[arg(
        long,
        env = "CARTGATE_UPSTREAM_MAX_RETRY_WAIT_SECS",
        default_value_t = 10
    )]
    pub upstream_max_retry_wait_secs: u64,

    /// Concurrent upstream attempts per store.
    #[arg(
        long,
        env = "CARTGATE_UPSTREAM_CONCURRENCY_PER_STORE",
        default_value_t = 4
    )]
    pub upstream_concurrency_per_store: usize,

    /// Seconds a request waits for one of its store's upstream slots before it answers
    /// 503 upstream_busy.
    #[arg(long, env = "CARTGATE_UPSTREAM_QUEUE_WAIT_SECS", default_value_t = 10)]
    pub upstream_queue_wait_secs: u64,

    /// Seconds an `Idempotency-Key` is kept after the call that used it ended; a retry with
    /// the same key within this time answers what that call answered.
    #[arg(long, env = "CARTGATE_IDEMPOTENCY_TTL_SECS", default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub idempotency_ttl_secs: u64,

    /// Seconds between polls of stores whose changes are polled (Magento, and stores
    /// without native webhooks).
    #[arg(long, env = "CARTGATE_POLL_INTERVAL_SECS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub poll_interval_secs: u64,

    /// Seconds between a webhook delivery's attempts, comma-separated: after the first
    /// attempt fails, the second comes after the first value, and so on; when they are used
    /// up the delivery is failed. The default spans 3 days and 6 hours.
    #[arg(
        long,
        env = "CARTGATE_WEBHOOK_RETRY_SCHEDULE",
        default_value = "5,300,1800,7200,18000,36000,86400,86400,86400"
    )]
    pub webhook_retry_schedule: String,

    /// Seconds a subscriber has to answer one delivery (no answer: the attempt failed).
    #[arg(long, env = "CARTGATE_WEBHOOK_TIMEOUT_SECS", default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_secs: u64,

    /// Shopify Admin API version (YYYY-MM, a quarterly release, 2026-01 or later) spoken to
    /// every Shopify store. The default is the newest stable release this cartgate's Shopify
    /// queries were checked against (2026-10, supported until October 2027); Shopify retires
    /// a version after about a year, answering its requests with the oldest one it still
    /// supports.
    #[arg(long, env = "CARTGATE_SHOPIFY_API_VERSION",
          default_value = cartgate_shopify::DEFAULT_API_VERSION,
          value_parser = cartgate_shopify::ApiVersion::parse)]
    pub shopify_api_version: cartgate_shopify::ApiVersion,

    /// The eBay app's OAuth client id (developer.ebay.com keyset), used by eBay stores whose
    /// credentials bring no `client_id` of their own. Unset: each eBay store must bring it.
    #[arg(long, env = "CARTGATE_EBAY_CLIENT_ID")]
    pub ebay_client_id: Option<String>,

    /// The eBay app's OAuth client secret (the "Cert ID"), with CARTGATE_EBAY_CLIENT_ID.
    #[arg(long, env = "CARTGATE_EBAY_CLIENT_SECRET", hide_env_values = true)]
    pub ebay_client_secret: Option<String>,

    /// Email eBay's Notification API sends the app's alerts to: set in the app's
    /// notification config when it has none, before the first push destination is created.
    /// Unset: an app without that config gets no pushes and its stores are polled.
    #[arg(long, env = "CARTGATE_EBAY_ALERT_EMAIL")]
    pub ebay_alert_email: Option<String>,

    /// Amazon: the SP-API app's Login with Amazon client id, used for every Amazon store
    /// whose credentials carry no `client_id` (one app usually serves every seller). Give it
    /// with CARTGATE_AMAZON_LWA_CLIENT_SECRET. Unset: each Amazon store must carry its own.
    #[arg(long, env = "CARTGATE_AMAZON_LWA_CLIENT_ID")]
    pub amazon_lwa_client_id: Option<String>,

    /// Amazon: the app's LWA client secret (with CARTGATE_AMAZON_LWA_CLIENT_ID).
    #[arg(
        long,
        env = "CARTGATE_AMAZON_LWA_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub amazon_lwa_client_secret: Option<String>,

    /// Log format on stderr: text or json.
    #[arg(long, env = "CARTGATE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

impl Settings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn connection_limits(&self) -> crate::server::ConnectionLimits {
        crate::server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections as usize,
        }
    }

    /// The time all upstream calls of one request may take: the setting, else 5 s less than
    /// the request timeout but at least half of it.
    pub fn upstream_deadline(&self) -> Duration {
        match self.upstream_deadline_secs {
            Some(secs) => Duration::from_secs(secs),
            None => {
                let request = self.request_timeout();
                request
                    .saturating_sub(Duration::from_secs(5))
                    .max(request / 2)
            }
        }
    }

    pub fn upstream_config(&self) -> cartgate_connector::http::UpstreamConfig {
        cartgate_connector::http::UpstreamConfig {
            allow_private: self.allow_private_upstreams,
            attempt_timeout: Duration::from_secs(self.upstream_timeout_secs),
            deadline: self.upstream_deadline(),
            max_retries: self.upstream_max_retries,
            max_retry_wait: Duration::from_secs(self.upstream_max_retry_wait_secs),
            per_store_concurrency: self.upstream_concurrency_per_store,
            queue_wait: Duration::from_secs(self.upstream_queue_wait_secs),
            ..Default::default()
        }
    }

    /// The Amazon app's LWA credentials stores default to.
    pub fn amazon_lwa_app(&self) -> cartgate_amazon::LwaApp {
        cartgate_amazon::LwaApp {
            client_id: self.amazon_lwa_client_id.clone(),
            client_secret: self.amazon_lwa_client_secret.clone(),
        }
    }

    /// The waits between a delivery's attempts (`CARTGATE_WEBHOOK_RETRY_SCHEDULE`).
    pub fn webhook_retry_schedule(&self) -> anyhow::Result<Vec<Duration>> {
        self.webhook_retry_schedule
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .ok()
                    .filter(|n| (1..=7 * 86_400).contains(n))
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "webhook_retry_schedule: {s:?} is not a number of seconds from 1 \
                             to 604800"
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .and_then(|s| {
                if s.len() >= crate::storage::webhooks::MAX_ATTEMPTS_KEPT {
                    anyhow::bail!(
                        "webhook_retry_schedule: at most {} waits",
                        crate::storage::webhooks::MAX_ATTEMPTS_KEPT - 1
                    )
                }
                Ok(s)
            })
    }

    /// Refuses settings that contradict each other.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.webhook_retry_schedule()?;
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if given(&self.amazon_lwa_client_id) != given(&self.amazon_lwa_client_secret) {
            anyhow::bail!(
                "CARTGATE_AMAZON_LWA_CLIENT_ID and CARTGATE_AMAZON_LWA_CLIENT_SECRET go together: \
                 set both (the Amazon app's Login with Amazon credentials) or neither"
            );
        }
        if let Some(deadline) = self.upstream_deadline_secs {
            if deadline >= self.request_timeout_secs {
                anyhow::bail!(
                    "upstream_deadline_secs ({deadline}) must be less than request_timeout_secs \
                     ({}), so an upstream failure is answered before the request times out",
                    self.request_timeout_secs
                );
            }
        }
        if self.ebay_client_id.is_some() != self.ebay_client_secret.is_some() {
            anyhow::bail!("ebay_client_id and ebay_client_secret are set together, or neither");
        }
        if self.ebay_alert_email.as_deref().is_some_and(|e| {
            !e.contains('@') || e.len() > 254 || e.chars().any(char::is_whitespace)
        }) {
            anyhow::bail!("ebay_alert_email must be an email address");
        }
        Ok(())
    }

    /// The eBay app's credentials and notification settings for the eBay connector.
    pub fn ebay_app(&self) -> cartgate_ebay::AppCredentials {
        let set = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        cartgate_ebay::AppCredentials {
            client_id: set(&self.ebay_client_id),
            client_secret: set(&self.ebay_client_secret),
            alert_email: set(&self.ebay_alert_email),
        }
    }

    /// Settings from the environment and defaults only (tests, demo).
    pub fn from_env() -> anyhow::Result<Self> {
        let cmd = Settings::augment_args(clap::Command::new("cartgate").no_binary_name(true));
        let matches = cmd.try_get_matches_from(Vec::<String>::new())?;
        Self::from_matches(&matches)
    }

    /// Builds settings from parsed arguments, filling what came from defaults with the
    /// TOML file's values when `--config` is given.
    pub fn from_matches(matches: &ArgMatches) -> anyhow::Result<Self> {
        let mut settings = Settings::from_arg_matches(matches)?;
        if let Some(path) = settings.config_file.clone() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
            let mut args: Vec<String> = Vec::new();
            for (key, value) in table {
                let id = key.replace('-', "_");
                if !matches!(
                    matches.value_source(&id),
                    Some(ValueSource::DefaultValue) | None
                ) {
                    continue; // flag or environment wins over the file
                }
                let value = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                args.push(format!("--{}={value}", id.replace('_', "-")));
            }
            let cmd = Settings::augment_args(clap::Command::new("cartgate").no_binary_name(true));
            let file_matches = cmd.try_get_matches_from(args).map_err(|e| {
                anyhow::anyhow!("config file {}: {}", path.display(), file_error(&e))
            })?;
            let from_file = Settings::from_arg_matches(&file_matches)?;
            settings.merge_defaults_from(matches, from_file);
        }
        settings.validate()?;
        Ok(settings)
    }

    fn merge_defaults_from(&mut self, matches: &ArgMatches, file: Settings) {
        let default = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::DefaultValue) | None
            )
        };
        macro_rules! take {
            ($($f:ident),*) => { $( if default(stringify!($f)) { self.$f = file.$f.clone(); } )* };
        }
        take!(
            listen,
            data_dir,
            master_key,
            previous_master_keys,
            admin_token,
            public_url,
            allow_private_upstreams,
            log_retention_days,
            rate_limit_per_second,
            rate_limit_burst,
            redis_url,
            max_body_bytes,
            request_timeout_secs,
            header_read_timeout_secs,
            idle_timeout_secs,
            max_connections,
            upstream_timeout_secs,
            upstream_deadline_secs,
            upstream_max_retries,
            upstream_max_retry_wait_secs,
            upstream_concurrency_per_store,
            idempotency_ttl_secs,
            upstream_queue_wait_secs,
            poll_interval_secs,
            webhook_retry_schedule,
            webhook_timeout_secs,
            amazon_lwa_client_id,
            amazon_lwa_client_secret,
            ebay_client_id,
            ebay_client_secret,
            ebay_alert_email,
            shopify_api_version,
            log_format
        );
    }
}

/// What is wrong with a config file's setting: the kind of error and the setting, plus the
/// validator's reason for settings that hold no secret (a secret's value never shows).
fn file_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    const SECRET: [&str; 5] = [
        "--master-key",
        "--previous-master-keys",
        "--admin-token",
        "--redis-url",
        "--amazon-lwa-client-secret",
    ];
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) => a.split_whitespace().next().unwrap_or("").to_owned(),
        _ => return e.kind().to_string(),
    };
    let reason = std::error::Error::source(e)
        .map(ToString::to_string)
        .filter(|_| !SECRET.contains(&arg.as_str()));
    match reason {
        Some(r) => format!("{arg}: {r}"),
        None => format!("{arg}: {}", e.kind()),
    }
}

/// A clap command holding only the settings, for `--help` tests.
pub fn settings_command() -> clap::Command {
    Settings::augment_args(clap::Command::new("serve"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ebay_app_settings_go_together() {
        let parse = |args: &[&str]| {
            let m = settings_command()
                .no_binary_name(true)
                .try_get_matches_from(args)
                .unwrap();
            Settings::from_arg_matches(&m).unwrap()
        };
        let s = parse(&["--ebay-client-id=app", "--ebay-client-secret=secret"]);
        assert!(s.validate().is_ok());
        let app = s.ebay_app();
        assert_eq!(app.client_id.as_deref(), Some("app"));
        assert_eq!(app.alert_email, None);
        assert!(parse(&["--ebay-client-id=app"]).validate().is_err());
        assert!(parse(&["--ebay-alert-email=not an email"])
            .validate()
            .is_err());
        assert!(parse(&["--ebay-alert-email=ops@example.com"])
            .validate()
            .is_ok());
        let help = settings_command().render_long_help().to_string();
        for env in [
            "CARTGATE_EBAY_CLIENT_ID",
            "CARTGATE_EBAY_CLIENT_SECRET",
            "CARTGATE_EBAY_ALERT_EMAIL",
        ] {
            assert!(help.contains(env), "{env} in --help");
        }
    }

    #[test]
    fn the_shopify_api_version_is_checked() {
        let parse = |args: &[&str]| {
            settings_command()
                .no_binary_name(true)
                .try_get_matches_from(args)
                .and_then(|m| Settings::from_arg_matches(&m))
        };
        let s = parse(&[]).unwrap();
        assert_eq!(
            s.shopify_api_version.as_str(),
            cartgate_shopify::DEFAULT_API_VERSION
        );
        let s = parse(&["--shopify-api-version=2026-07"]).unwrap();
        assert_eq!(s.shopify_api_version.as_str(), "2026-07");
        for bad in ["2025-01", "2026-08", "latest", "26-10"] {
            let err = parse(&[&format!("--shopify-api-version={bad}")]).unwrap_err();
            assert!(
                err.to_string().contains("Shopify API version"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn connection_limits_must_be_positive() {
        let parse = |args: &[&str]| {
            settings_command()
                .no_binary_name(true)
                .try_get_matches_from(args)
                .and_then(|m| Settings::from_arg_matches(&m))
        };
        for bad in [
            "--header-read-timeout-secs=0",
            "--idle-timeout-secs=0",
            "--max-connections=0",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad} was accepted");
        }
        let s = parse(&[
            "--header-read-timeout-secs=3",
            "--idle-timeout-secs=7",
            "--max-connections=5",
        ])
        .unwrap();
        let l = s.connection_limits();
        assert_eq!(l.header_read_timeout, Duration::from_secs(3));
        assert_eq!(l.idle_timeout, Duration::from_secs(7));
        assert_eq!(l.max_connections, 5);
    }
}

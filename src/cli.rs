//! The `cartgate` command line: serve, demo, sandbox, admin, normalize, openapi.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::Value;

use crate::config::Settings;
use crate::registry::Registry;
use crate::state::AppState;

#[derive(Parser, Debug)]
#[command(
    name = "cartgate",
    version,
    about = "Self-hosted unified shopping-cart API gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway.
    Serve {
        #[command(flatten)]
        settings: Settings,
    },
    /// Run the gateway with every platform's sandbox, a demo account and connected stores.
    Demo {
        /// Print one JSON line {gateway_url, api_key, stores} once ready.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Run one platform's simulator alone. Its first stdout line is
    /// {"platform", "base_url", "credentials"}.
    Sandbox {
        platform: String,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 60)]
        orders: usize,
        #[arg(long, default_value_t = 25)]
        products: usize,
        #[arg(long, default_value_t = 30)]
        customers: usize,
        #[arg(long, default_value = "off", value_parser = ["on", "off"])]
        rate_limits: String,
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
    },
    /// Accounts, API keys and the master key. Talks to a running gateway's /admin API when
    /// one answers at CARTGATE_LISTEN, else opens the storage directly.
    Admin {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Map ONE raw platform object (JSON, from FILE or stdin) to the unified model.
    Normalize {
        platform: String,
        /// order, product, customer or category
        kind: String,
        /// A file, or - (default) for stdin.
        file: Option<PathBuf>,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Re-seal every credential and secret under a new master key (printed once when the
    /// old one came from CARTGATE_MASTER_KEY; written to master.key otherwise).
    RotateMasterKey {
        /// Keep the current key; only re-seal what is still sealed under a key of
        /// CARTGATE_PREVIOUS_MASTER_KEYS (the last step of a rolling rotation).
        #[arg(long)]
        reseal_only: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account and its first API key (shown once).
    Create {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create an API key for an account (shown once).
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// List an account's keys.
    List {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key.
    Revoke { key_id: String },
}

/// Parses the command line; settings are completed from `--config` files.
pub fn parse() -> anyhow::Result<Cli> {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Some((_, sub)) = matches.subcommand() {
        let fill = |s: &mut Settings, m: &ArgMatches| -> anyhow::Result<()> {
            *s = Settings::from_matches(m)?;
            Ok(())
        };
        match &mut cli.command {
            Command::Serve { settings }
            | Command::Demo { settings, .. }
            | Command::Admin { settings, .. } => fill(settings, sub)?,
            _ => {}
        }
    }
    Ok(cli)
}

pub fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CARTGATE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,hyper=warn,reqwest=warn,h2=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let registry = Registry::for_settings(&settings);
    let state = AppState::build(settings, registry).await?;
    tracing::info!(addr = %listener.local_addr()?, "cartgate listening");
    crate::run(state, listener, shutdown_signal()).await
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn sandbox(
    platform: &str,
    listen: std::net::SocketAddr,
    opts: cartgate_connector::sandbox::SandboxOptions,
) -> anyhow::Result<()> {
    let registry = Registry::builtin();
    let p = registry.get(platform).with_context(|| {
        format!(
            "unknown platform {platform:?}; known: {}",
            registry.ids().collect::<Vec<_>>().join(", ")
        )
    })?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let handle = (p.start_sandbox)(listener, opts).await?;
    println!("{}", serde_json::to_string(&handle.banner)?);
    shutdown_signal().await;
    let _ = handle.shutdown.send(());
    let _ = handle.task.await;
    Ok(())
}

/// `cartgate normalize`: exit code 2 with a message on bad input.
pub fn normalize(platform: &str, kind: &str, file: Option<&PathBuf>) -> Result<String, String> {
    let registry = Registry::builtin();
    let p = registry.get(platform).ok_or_else(|| {
        format!(
            "unknown platform {platform:?}; known: {}",
            registry.ids().collect::<Vec<_>>().join(", ")
        )
    })?;
    let kind: cartgate_connector::ObjectKind = kind.parse()?;
    let mut text = String::new();
    match file {
        Some(path) if path.as_os_str() != "-" => {
            text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        }
        _ => {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
        }
    }
    let raw: Value = serde_json::from_str(&text).map_err(|e| format!("input is not JSON: {e}"))?;
    if !raw.is_object() {
        return Err("input must be ONE JSON object as the platform's API returns it".into());
    }
    let out = p
        .connector
        .normalize(kind, raw)
        .map_err(|e| e.to_string())?;
    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())
}

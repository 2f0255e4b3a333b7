//! The platforms the gateway knows, each through its `Connector` and its sandbox.
//! Adding a platform = one entry in `Registry::builtin_with`.

use std::collections::BTreeMap;
use std::sync::Arc;

use cartgate_connector::sandbox::{SandboxHandle, SandboxOptions};
use cartgate_connector::Connector;
use futures::future::BoxFuture;

pub type SandboxStarter = fn(
    tokio::net::TcpListener,
    SandboxOptions,
) -> BoxFuture<'static, std::io::Result<SandboxHandle>>;

#[derive(Clone)]
pub struct Platform {
    pub connector: Arc<dyn Connector>,
    pub start_sandbox: SandboxStarter,
}

#[derive(Clone, Default)]
pub struct Registry {
    platforms: BTreeMap<&'static str, Platform>,
}

impl Registry {
    /// Every platform, without the gateway's app-level credentials (`cartgate normalize`,
    /// `cartgate sandbox`, tests that only read descriptors).
    pub fn builtin() -> Self {
        Self::builtin_with(cartgate_amazon::LwaApp::default())
    }

    /// Every platform, with the app-level credentials of the settings (Amazon's LWA app)
    /// as the defaults of stores that carry none.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self::builtin_with(settings.amazon_lwa_app())
    }

    fn builtin_with(amazon: cartgate_amazon::LwaApp) -> Self {
        let mut r = Registry::default();
        r.add(Platform {
            connector: cartgate_amazon::connector_with(amazon),
            start_sandbox: |l, o| Box::pin(cartgate_amazon::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_magento::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_magento::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_shopify::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_shopify::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_woocommerce::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_woocommerce::sandbox::start(l, o)),
        });
        r
    }

    pub fn add(&mut self, p: Platform) {
        self.platforms.insert(p.connector.descriptor().id, p);
    }

    pub fn get(&self, id: &str) -> Option<&Platform> {
        self.platforms.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.platforms.keys().copied()
    }

    pub fn all(&self) -> impl Iterator<Item = &Platform> {
        self.platforms.values()
    }
}

//! The platforms the gateway knows, each through its `Connector` and its sandbox.
//! Adding a platform = one line in [`Registry::builtin`].

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
    pub fn builtin() -> Self {
        let mut r = Registry::default();
        r.add(Platform {
            connector: cartgate_magento::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_magento::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_shopify::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_shopify::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_ebay::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_ebay::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_woocommerce::connector(),
            start_sandbox: |l, o| Box::pin(cartgate_woocommerce::sandbox::start(l, o)),
        });
        r
    }

    /// The connectors with the gateway settings they take (the eBay app's credentials).
    pub fn with_settings(mut self, settings: &crate::config::Settings) -> Self {
        if let Some(p) = self.platforms.get_mut("ebay") {
            p.connector = cartgate_ebay::connector_with(settings.ebay_app());
        }
        self
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

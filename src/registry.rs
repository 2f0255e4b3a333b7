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
    /// Every built-in platform with its default settings (`cartgate normalize`,
    /// `cartgate sandbox`, tests that only read descriptors).
    pub fn builtin() -> Self {
        Self::builtin_with(
            cartgate_shopify::ApiVersion::default(),
            cartgate_ebay::AppCredentials::default(),
            cartgate_amazon::LwaApp::default(),
        )
    }

    /// Every built-in platform, configured by the gateway's settings (the Shopify Admin API
    /// version, `CARTGATE_SHOPIFY_API_VERSION`; the eBay app's credentials,
    /// `CARTGATE_EBAY_*`; the Amazon app's LWA credentials, `CARTGATE_AMAZON_LWA_*`, as the
    /// defaults of stores that carry none).
    pub fn for_settings(settings: &crate::config::Settings) -> Self {
        Self::builtin_with(
            settings.shopify_api_version.clone(),
            settings.ebay_app(),
            settings.amazon_lwa_app(),
        )
    }

    fn builtin_with(
        shopify_api_version: cartgate_shopify::ApiVersion,
        ebay_app: cartgate_ebay::AppCredentials,
        amazon: cartgate_amazon::LwaApp,
    ) -> Self {
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
            connector: cartgate_shopify::connector_with(shopify_api_version),
            start_sandbox: |l, o| Box::pin(cartgate_shopify::sandbox::start(l, o)),
        });
        r.add(Platform {
            connector: cartgate_ebay::connector_with(ebay_app),
            start_sandbox: |l, o| Box::pin(cartgate_ebay::sandbox::start(l, o)),
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

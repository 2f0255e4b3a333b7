//! eBay through the Sell APIs (Fulfillment, Inventory) and the Commerce Identity and
//! Notification APIs for cartgate: the connector and its sandbox (issue 14).
//!
//! - [`mapping`]: pure Sell API ⇄ unified mapping (also behind `cartgate normalize`).
//! - [`marketplace`]: the marketplaces (currency, locale, site).
//! - `client`: the [`StoreSession`], all upstream I/O: OAuth refresh through the core
//!   [`TokenCache`](cartgate_connector::token::TokenCache) and
//!   [`RefreshGrant`](cartgate_connector::token::RefreshGrant), eBay's daily call limits
//!   through the core pacer, Notification API registration.
//! - [`inbound`]: verifying eBay's ECDSA-signed Notification API pushes and answering its
//!   `challenge_code` endpoint validation.
//! - [`sandbox`]: a local simulator of the Sell API operations the connector uses, with the
//!   OAuth token endpoint and signed Notification API pushes.
//!
//! Credentials: `refresh_token` (the seller's, secret), optional `marketplace_id` (default
//! `EBAY_US`), optional `endpoint` and `auth_endpoint` (eBay's sandbox hosts, or a local
//! sandbox), and the app's `client_id` / `client_secret`, which default to the gateway's
//! `CARTGATE_EBAY_CLIENT_ID` / `CARTGATE_EBAY_CLIENT_SECRET`.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

use std::sync::Arc;

use cartgate_connector::connector::{
    CredentialField, EventSource, PlatformDescriptor, WebhookEventSupport,
};
use cartgate_connector::http::Upstream;
use cartgate_connector::page::SupportedFilters;
use cartgate_connector::util::{credential_base_url, credential_str};
use cartgate_connector::{
    Connector, ConnectorError, ModelFields, ObjectKind, Result, StoreSession,
};
use serde_json::{Map, Value};

mod client;
pub mod inbound;
pub mod mapping;
pub mod marketplace;
pub mod sandbox;

pub use marketplace::Marketplace;

/// The platform's name in credential errors.
const PLATFORM: &str = "eBay";

/// eBay's production API host (Sell and Notification APIs, and the token endpoint).
pub const PRODUCTION_ENDPOINT: &str = "https://api.ebay.com";
/// The Commerce Identity API's production host.
pub const PRODUCTION_IDENTITY_ENDPOINT: &str = "https://apiz.ebay.com";

/// The filters each list applies: advertised by the descriptor, enforced by the client.
/// Orders: getOrders filters by creation and modification time; the unified status is
/// read from each order (see docs/mapping/ebay.md). Products: inventory items carry no
/// timestamps; `sku` reads one item, `status` is read from each product's offers.
pub const FILTERS: SupportedFilters = SupportedFilters(&[
    (
        "orders",
        &[
            "created_from",
            "created_to",
            "updated_from",
            "updated_to",
            "status",
        ],
    ),
    ("products", &["status", "sku"]),
    ("customers", &[]),
    ("categories", &[]),
]);

/// What eBay can do of the unified API: no customers (eBay exposes no buyer list) and no
/// categories (marketplace categories are not the seller's catalogue).
pub const OPERATIONS: [&str; 12] = [
    "store.info",
    "orders.list",
    "orders.count",
    "orders.get",
    "shipments.create",
    "products.list",
    "products.count",
    "products.get",
    "products.create",
    "products.update",
    "variants.update",
    "locations.list",
];

/// The optional model fields eBay fills (see docs/mapping/ebay.md for each null one).
pub const FIELDS: ModelFields = ModelFields {
    order: &[
        "shipping_lines",
        "payment_method",
        "tax_lines",
        "refunds",
        "refunded_total",
        "customer_note",
        "paid_at",
        "fulfilled_at",
    ],
    line_item: &[
        "tax_total",
        "tax_lines",
        "discount_total",
        "variant_options",
    ],
    product: &["barcode", "weight", "dimensions", "inventory_levels"],
    variant: &["barcode", "weight", "dimensions", "inventory_levels"],
};

/// The app's OAuth client credentials from the gateway's settings
/// (`CARTGATE_EBAY_CLIENT_ID` / `CARTGATE_EBAY_CLIENT_SECRET`), used for stores whose
/// credentials do not bring their own.
#[derive(Clone, Default)]
pub struct AppCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `CARTGATE_EBAY_ALERT_EMAIL`: set as the app's Notification API `alertEmail` when
    /// it has no config yet (eBay creates no push destination before).
    pub alert_email: Option<String>,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("alert_email", &self.alert_email)
            .finish()
    }
}

/// The eBay connector. Per-store state lives in the session; the Notification API's
/// public keys (the same for every store) are cached here.
#[derive(Debug, Clone, Default)]
pub struct Ebay {
    app: AppCredentials,
    keys: Arc<inbound::KeyCache>,
}

/// The connector as the gateway's registry holds it, without app credentials of its own
/// (each store brings `client_id` and `client_secret`).
pub fn connector() -> Arc<dyn Connector> {
    Arc::new(Ebay::default())
}

/// The connector with the gateway's app credentials as the default for every store.
pub fn connector_with(app: AppCredentials) -> Arc<dyn Connector> {
    Arc::new(Ebay::new(app))
}

const CREDENTIAL_FIELDS: [&str; 6] = [
    "refresh_token",
    "marketplace_id",
    "endpoint",
    "auth_endpoint",
    "client_id",
    "client_secret",
];

/// The parsed credentials of one store, with the app's defaults applied.
#[derive(Clone)]
pub(crate) struct StoreCredentials {
    pub refresh_token: String,
    pub marketplace: Marketplace,
    /// Sell, Notification and Inventory APIs.
    pub endpoint: String,
    /// Commerce Identity API (`apiz` in production).
    pub identity_endpoint: String,
    /// `{auth_endpoint}/identity/v1/oauth2/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub alert_email: Option<String>,
}

impl Ebay {
    pub fn new(app: AppCredentials) -> Self {
        Ebay {
            app,
            keys: Arc::default(),
        }
    }

    /// Canonical credentials plus the app's defaults; `AuthFailed`-free: a store without
    /// client credentials anywhere is a validation error.
    pub(crate) fn store_credentials(&self, canonical: &Value) -> Result<StoreCredentials> {
        let field = |n: &str| canonical.get(n).and_then(Value::as_str).map(str::to_owned);
        let client_id = field("client_id").or_else(|| self.app.client_id.clone());
        let client_secret = field("client_secret").or_else(|| self.app.client_secret.clone());
        let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
            return Err(ConnectorError::Validation(
                "eBay credentials need the app's client_id and client_secret: give them with the \
                 store, or set CARTGATE_EBAY_CLIENT_ID and CARTGATE_EBAY_CLIENT_SECRET on the gateway"
                    .into(),
            ));
        };
        let marketplace = field("marketplace_id")
            .and_then(|m| Marketplace::find(&m))
            .unwrap_or_else(Marketplace::default_us);
        let endpoint = field("endpoint").unwrap_or_else(|| PRODUCTION_ENDPOINT.into());
        let identity_endpoint = identity_host(&endpoint);
        let auth = field("auth_endpoint").unwrap_or_else(|| endpoint.clone());
        Ok(StoreCredentials {
            refresh_token: field("refresh_token").unwrap_or_default(),
            marketplace,
            endpoint,
            identity_endpoint,
            token_url: format!("{auth}/identity/v1/oauth2/token"),
            client_id,
            client_secret,
            alert_email: self.app.alert_email.clone(),
        })
    }
}

/// eBay serves the Commerce Identity API from `apiz.` hosts (production and eBay's own
/// sandbox); any other endpoint (a local sandbox, a proxy) serves everything.
fn identity_host(endpoint: &str) -> String {
    match endpoint {
        "https://api.ebay.com" => PRODUCTION_IDENTITY_ENDPOINT.into(),
        "https://api.sandbox.ebay.com" => "https://apiz.sandbox.ebay.com".into(),
        other => other.to_owned(),
    }
}

impl Connector for Ebay {
    fn descriptor(&self) -> PlatformDescriptor {
        let event = |event_type, source| WebhookEventSupport { event_type, source };
        let field = CredentialField::new;
        PlatformDescriptor {
            id: "ebay",
            name: "eBay (Sell APIs)",
            credential_fields: vec![
                field("refresh_token", true, true, "The seller's OAuth refresh token (user consent with the sell.fulfillment, sell.inventory, commerce.identity.readonly and commerce.notification.subscription scopes)"),
                field("marketplace_id", false, false, "The marketplace offers are read and written on (default EBAY_US)"),
                field("endpoint", false, false, "API host replacing https://api.ebay.com, e.g. https://api.sandbox.ebay.com"),
                field("auth_endpoint", false, false, "Host of the token endpoint /identity/v1/oauth2/token (default: endpoint)"),
                field("client_id", false, false, "The app's client id (default: the gateway's CARTGATE_EBAY_CLIENT_ID)"),
                field("client_secret", false, true, "The app's client secret (default: the gateway's CARTGATE_EBAY_CLIENT_SECRET)"),
            ],
            operations: OPERATIONS.to_vec(),
            filters: FILTERS.to_map(),
            // New orders are pushed by the Notification API where the store's callback can
            // be registered (else polled); updates are polled by lastmodifieddate, as eBay
            // pushes no topic for most order changes. No product events: inventory items
            // carry no timestamps to poll by.
            webhook_events: vec![
                event("order.created", EventSource::Native),
                event("order.updated", EventSource::Polled),
            ],
            fields: FIELDS,
        }
    }

    fn parse_credentials(&self, raw: &Value) -> Result<Value> {
        let obj = raw.as_object().ok_or_else(|| {
            ConnectorError::Validation("eBay credentials must be a JSON object".into())
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !CREDENTIAL_FIELDS.contains(&k.as_str()))
        {
            return Err(ConnectorError::Validation(format!(
                "unknown eBay credential field {:?}: expected {}",
                unknown.chars().take(64).collect::<String>(),
                CREDENTIAL_FIELDS.join(", ")
            )));
        }
        let mut out = Map::new();
        let token = credential_str(PLATFORM, obj, "refresh_token", true)?.unwrap_or_default();
        if token.len() > 4096 || token.chars().any(char::is_control) {
            return Err(ConnectorError::Validation(
                "eBay credential \"refresh_token\" must be at most 4096 printable characters"
                    .into(),
            ));
        }
        out.insert("refresh_token".into(), Value::String(token));
        let marketplace = match credential_str(PLATFORM, obj, "marketplace_id", false)? {
            Some(m) => Marketplace::find(&m).ok_or_else(|| {
                ConnectorError::Validation(format!(
                    "eBay credential \"marketplace_id\" must be one of {}",
                    marketplace::MARKETPLACES
                        .iter()
                        .map(|m| m.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
            None => Marketplace::default_us(),
        };
        out.insert(
            "marketplace_id".into(),
            Value::String(marketplace.id.into()),
        );
        for name in ["endpoint", "auth_endpoint"] {
            if let Some(u) = credential_str(PLATFORM, obj, name, false)? {
                let url = credential_base_url(PLATFORM, name, &u)?;
                if url::Url::parse(&url).is_ok_and(|u| u.path() != "/") {
                    return Err(ConnectorError::Validation(format!(
                        "eBay credential {name:?} must be a host without a path, e.g. https://api.sandbox.ebay.com"
                    )));
                }
                out.insert(name.into(), Value::String(url));
            }
        }
        for name in ["client_id", "client_secret"] {
            if let Some(v) = credential_str(PLATFORM, obj, name, false)? {
                out.insert(name.into(), Value::String(v));
            }
        }
        if out.contains_key("client_id") != out.contains_key("client_secret") {
            return Err(ConnectorError::Validation(
                "eBay credentials give client_id and client_secret together, or neither (the gateway's CARTGATE_EBAY_CLIENT_ID / CARTGATE_EBAY_CLIENT_SECRET)".into(),
            ));
        }
        let canonical = Value::Object(out);
        // The app's credentials must come from somewhere.
        self.store_credentials(&canonical)?;
        Ok(canonical)
    }

    fn open(&self, credentials: &Value, upstream: Upstream) -> Result<Arc<dyn StoreSession>> {
        let creds = self.parse_credentials(credentials)?;
        let store = self.store_credentials(&creds)?;
        Ok(Arc::new(client::Session::new(
            upstream,
            store,
            self.keys.clone(),
        )?))
    }

    fn normalize(&self, kind: ObjectKind, raw: Value) -> Result<Value> {
        let us = Marketplace::default_us();
        let mapped = match kind {
            ObjectKind::Order => serde_json::to_value(mapping::order(&raw, None)?),
            ObjectKind::Product if raw.get("inventoryItemGroupKey").is_some() => {
                serde_json::to_value(mapping::group_product(&raw, &[], &us)?)
            }
            ObjectKind::Product => serde_json::to_value(mapping::product(&raw, &[], &us)?),
            ObjectKind::Customer => {
                return Err(ConnectorError::Unsupported(
                    "eBay exposes no customers: buyers appear only on their orders".into(),
                ))
            }
            ObjectKind::Category => {
                return Err(ConnectorError::Unsupported(
                    "eBay's marketplace categories are not the seller's catalogue".into(),
                ))
            }
        };
        mapped
            .map_err(|e| ConnectorError::upstream(None, format!("cannot render the mapping: {e}")))
    }

    fn native_webhooks(&self, credentials: &Value) -> bool {
        // Registration needs the app's credentials, which every opened store has.
        self.parse_credentials(credentials).is_ok()
    }

    fn inbound_challenge(
        &self,
        credentials: &Value,
        endpoint: &str,
        query: &std::collections::BTreeMap<String, String>,
    ) -> Result<Value> {
        let code = query
            .get("challenge_code")
            .map(|c| c.trim())
            .filter(|c| !c.is_empty() && c.len() <= 512)
            .ok_or_else(|| {
                ConnectorError::Validation("expected eBay's challenge_code parameter".into())
            })?;
        let store = self.store_credentials(&self.parse_credentials(credentials)?)?;
        let token = inbound::verification_token(&store.client_secret, endpoint);
        Ok(serde_json::json!({
            "challengeResponse": inbound::challenge_response(code, &token, endpoint)
        }))
    }

    fn verify_inbound(
        &self,
        _credentials: &Value,
        _webhook_secret: Option<&str>,
        _headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Result<cartgate_connector::Inbound> {
        // eBay signs with a key fetched by id: verified by the store's session
        // (`StoreSession::verify_inbound`). Without one, nothing is verified.
        Err(ConnectorError::InvalidSignature(
            "eBay pushes are verified with the store's session, which could not be opened".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_checked_and_canonical() {
        let app = Ebay::new(AppCredentials {
            client_id: Some("app-id".into()),
            client_secret: Some("app-secret".into()),
            alert_email: None,
        });
        let c = app
            .parse_credentials(&json!({"refresh_token": " v^1.1#r "}))
            .unwrap();
        assert_eq!(
            c,
            json!({"refresh_token": "v^1.1#r", "marketplace_id": "EBAY_US"})
        );
        let s = app.store_credentials(&c).unwrap();
        assert_eq!(s.client_id, "app-id");
        assert_eq!(s.token_url, "https://api.ebay.com/identity/v1/oauth2/token");
        assert_eq!(s.identity_endpoint, "https://apiz.ebay.com");

        let c = app
            .parse_credentials(&json!({
                "refresh_token": "r", "marketplace_id": "ebay_de",
                "endpoint": "https://api.sandbox.ebay.com/", "client_id": "own", "client_secret": "s"
            }))
            .unwrap();
        let s = app.store_credentials(&c).unwrap();
        assert_eq!(s.marketplace.currency, "EUR");
        assert_eq!(s.client_id, "own");
        assert_eq!(s.identity_endpoint, "https://apiz.sandbox.ebay.com");
        assert_eq!(
            s.token_url,
            "https://api.sandbox.ebay.com/identity/v1/oauth2/token"
        );

        // Without app credentials on the gateway, the store must bring them.
        let bare = Ebay::default();
        for bad in [
            json!({"refresh_token": "r"}),
            json!({}),
            json!({"refresh_token": ""}),
            json!({"refresh_token": "r", "client_id": "only-id"}),
            json!({"refresh_token": "r", "client_id": "i", "client_secret": "s", "marketplace_id": "EBAY_XX"}),
            json!({"refresh_token": "r", "client_id": "i", "client_secret": "s", "endpoint": "ftp://x"}),
            json!({"refresh_token": "r", "client_id": "i", "client_secret": "s", "endpoint": "https://x/api"}),
            json!({"refresh_token": "r", "client_id": "i", "client_secret": "s", "scope": "x"}),
            json!({"refresh_token": 12345, "client_id": "i", "client_secret": "s"}),
        ] {
            let r = bare.parse_credentials(&bad);
            assert!(matches!(r, Err(ConnectorError::Validation(_))), "{bad}");
            if let Err(e) = r {
                assert!(!e.to_string().contains("12345"), "never echoed: {e}");
            }
        }
    }

    #[test]
    fn descriptor_lists_only_what_ebay_can_do() {
        let d = Ebay::default().descriptor();
        assert_eq!(d.id, "ebay");
        assert!(!d.operations.iter().any(|o| o.starts_with("customers.")));
        assert!(!d.operations.iter().any(|o| o.starts_with("categories.")));
        let secret: Vec<_> = d
            .credential_fields
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name)
            .collect();
        assert_eq!(secret, ["refresh_token", "client_secret"]);
        for (object, fields) in FIELDS.by_object() {
            let all = ModelFields::ALL
                .by_object()
                .into_iter()
                .find(|(o, _)| *o == object)
                .unwrap()
                .1;
            assert!(fields.iter().all(|f| all.contains(f)), "{object}");
        }
    }
}

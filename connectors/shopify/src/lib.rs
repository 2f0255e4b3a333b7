//! Shopify (GraphQL Admin API, version a setting: [`DEFAULT_API_VERSION`] unless
//! configured) for cartgate: the connector and its sandbox.
//!
//! - [`version`]: the Admin API version spoken, and which ones are accepted.
//! - [`mapping`]: pure GraphQL node ⇄ unified mapping (also behind `cartgate normalize`).
//! - [`queries`]: every GraphQL document the connector sends.
//! - [`cost`]: Shopify's query cost (pacing and the sandbox's bucket).
//! - `client`: the [`StoreSession`], all upstream I/O
//!   (webhook registration included).
//! - [`inbound`]: verifying and reading Shopify's webhooks.
//! - [`sandbox`]: a local GraphQL simulator of the Admin API.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

use std::sync::Arc;

use cartgate_connector::connector::{
    CredentialField, PlatformDescriptor, WebhookEventSupport, ALL_OPERATIONS,
};
use cartgate_connector::http::Upstream;
use cartgate_connector::page::{SupportedFilters, ORDER_FILTERS, PRODUCT_FILTERS};
use cartgate_connector::util::{credential_base_url, credential_str};
use cartgate_connector::{
    Connector, ConnectorError, ModelFields, ObjectKind, Result, StoreSession,
};
use serde_json::Value;

mod client;
pub mod cost;
pub mod inbound;
pub mod mapping;
pub mod queries;
pub mod sandbox;
pub mod version;

pub use version::{ApiVersion, DEFAULT_API_VERSION, OLDEST_API_VERSION};

/// The Shopify connector: the Admin API version it speaks; per-store state lives in the
/// session.
#[derive(Debug, Clone, Default)]
pub struct Shopify {
    api_version: ApiVersion,
}

impl Shopify {
    /// A connector speaking `api_version` to every store.
    pub fn new(api_version: ApiVersion) -> Shopify {
        Shopify { api_version }
    }

    pub fn api_version(&self) -> &ApiVersion {
        &self.api_version
    }
}

/// The variables the connector sends with [`queries::ORDER`] to read order `gid` (its
/// nested page sizes), for tools that send the same request.
pub fn one_order_variables(gid: &str) -> Value {
    client::order_vars(gid)
}

/// The platform's name in credential errors.
const PLATFORM: &str = "Shopify";

/// The filters each list applies: advertised by the descriptor, enforced by the client.
pub const FILTERS: SupportedFilters = SupportedFilters(&[
    ("orders", ORDER_FILTERS),
    ("products", PRODUCT_FILTERS),
    ("customers", &["email"]),
    ("categories", &[]),
]);

/// The connector as the gateway's registry holds it, speaking [`DEFAULT_API_VERSION`].
pub fn connector() -> Arc<dyn Connector> {
    connector_with(ApiVersion::default())
}

/// The connector speaking `api_version` (the gateway's `CARTGATE_SHOPIFY_API_VERSION`).
pub fn connector_with(api_version: ApiVersion) -> Arc<dyn Connector> {
    Arc::new(Shopify::new(api_version))
}

const CREDENTIAL_FIELDS: [&str; 4] = ["shop", "access_token", "api_secret_key", "endpoint"];

/// `shop` lower-cased, without scheme, path or trailing slash.
fn normalize_shop(raw: &str) -> String {
    let s = raw.trim().to_ascii_lowercase();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    s.split('/').next().unwrap_or("").to_owned()
}

/// `^[a-z0-9][a-z0-9-]*\.myshopify\.com$`
fn is_myshopify(shop: &str) -> bool {
    let Some(name) = shop.strip_suffix(".myshopify.com") else {
        return false;
    };
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The raw object of a `normalize` input: the node itself, or a whole GraphQL answer
/// `{"data": {"order": {…}}}`.
fn node_of(raw: Value, field: &str) -> Value {
    match raw.pointer(&format!("/data/{field}")) {
        Some(node) if node.is_object() => node.clone(),
        _ => raw,
    }
}

/// The optional model fields this platform fills (see `docs/mapping/shopify.md`).
const FIELDS: ModelFields = ModelFields {
    order: &[
        "shipping_lines",
        "payment_method",
        "prices_include_tax",
        "tax_lines",
        "discount_codes",
        "refunds",
        "refunded_total",
        "total_weight",
        "tags",
        "customer_note",
        "paid_at",
        "fulfilled_at",
    ],
    line_item: &[
        "tax_total",
        "tax_lines",
        "discount_total",
        "refunded_quantity",
        "weight",
        "requires_shipping",
        "variant_options",
    ],
    // No dimensions: Shopify keeps a weight per variant, no sizes.
    product: &["barcode", "weight", "requires_shipping", "inventory_levels"],
    variant: &["barcode", "weight", "requires_shipping", "inventory_levels"],
};

impl Connector for Shopify {
    fn descriptor(&self) -> PlatformDescriptor {
        let native = WebhookEventSupport::native;
        PlatformDescriptor {
            id: "shopify",
            name: "Shopify",
            credential_fields: vec![
                CredentialField {
                    name: "shop",
                    required: true,
                    secret: false,
                    description: "The shop's myshopify.com domain, e.g. example.myshopify.com",
                },
                CredentialField {
                    name: "access_token",
                    required: true,
                    secret: true,
                    description: "Admin API access token (shpat_…) of a custom app with read/write scopes for orders, products, customers, inventory and fulfillments, and read_locations",
                },
                CredentialField {
                    name: "api_secret_key",
                    required: false,
                    secret: true,
                    description: "The app's API secret key (API credentials of the custom app): verifies Shopify's webhooks. Without it the store's events are polled",
                },
                CredentialField {
                    name: "endpoint",
                    required: false,
                    secret: false,
                    description: "Base URL replacing https://{shop} (a proxy, the sandbox); /admin/api/{version}/graphql.json is appended (version: CARTGATE_SHOPIFY_API_VERSION)",
                },
            ],
            operations: ALL_OPERATIONS.to_vec(),
            filters: FILTERS.to_map(),
            webhook_events: vec![
                native("order.created"),
                native("order.updated"),
                native("product.created"),
                native("product.updated"),
                native("product.deleted"),
                native("customer.created"),
                native("customer.updated"),
            ],
            fields: FIELDS,
        }
    }

    fn parse_credentials(&self, raw: &Value) -> Result<Value> {
        let obj = raw.as_object().ok_or_else(|| {
            ConnectorError::Validation("Shopify credentials must be a JSON object".into())
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !CREDENTIAL_FIELDS.contains(&k.as_str()))
        {
            return Err(ConnectorError::Validation(format!(
                "unknown Shopify credential field {unknown:?}: expected shop, access_token and optionally api_secret_key and endpoint"
            )));
        }
        let shop =
            normalize_shop(&credential_str(PLATFORM, obj, "shop", true)?.unwrap_or_default());
        let token = credential_str(PLATFORM, obj, "access_token", true)?.unwrap_or_default();
        let api_secret_key = credential_str(PLATFORM, obj, "api_secret_key", false)?;
        let endpoint = credential_str(PLATFORM, obj, "endpoint", false)?
            .map(|e| credential_base_url(PLATFORM, "endpoint", &e))
            .transpose()?;
        if endpoint.is_none() && !is_myshopify(&shop) {
            return Err(ConnectorError::Validation(
                "Shopify credential \"shop\" must be the shop's myshopify.com domain, e.g. example.myshopify.com".into(),
            ));
        }
        if shop.is_empty() || shop.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(ConnectorError::Validation(
                "Shopify credential \"shop\" must be a domain".into(),
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConnectorError::Validation(
                "Shopify credential \"access_token\" has invalid characters".into(),
            ));
        }
        if api_secret_key
            .as_deref()
            .is_some_and(|k| k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ConnectorError::Validation(
                "Shopify credential \"api_secret_key\" must be printable ASCII of at most 256 characters".into(),
            ));
        }
        let mut out = serde_json::Map::new();
        out.insert("shop".into(), Value::String(shop));
        out.insert("access_token".into(), Value::String(token));
        if let Some(k) = api_secret_key {
            out.insert("api_secret_key".into(), Value::String(k));
        }
        if let Some(e) = endpoint {
            out.insert("endpoint".into(), Value::String(e));
        }
        Ok(Value::Object(out))
    }

    fn open(&self, credentials: &Value, upstream: Upstream) -> Result<Arc<dyn StoreSession>> {
        let creds = self.parse_credentials(credentials)?;
        let field = |n: &str| creds.get(n).and_then(Value::as_str).map(str::to_owned);
        let session = client::Session::new(
            upstream,
            &self.api_version,
            &field("shop").unwrap_or_default(),
            &field("access_token").unwrap_or_default(),
            field("endpoint").as_deref(),
        )?;
        Ok(Arc::new(session))
    }

    /// Native when the store has the app's API secret key (it verifies the webhooks).
    fn native_webhooks(&self, credentials: &Value) -> bool {
        credentials
            .get("api_secret_key")
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty())
    }

    /// See [`inbound`]. Shopify signs with the app's secret, not a per-store one.
    fn verify_inbound(
        &self,
        credentials: &Value,
        _webhook_secret: Option<&str>,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<cartgate_connector::Inbound> {
        inbound::verify(credentials, headers, body)
    }

    fn normalize(&self, kind: ObjectKind, raw: Value) -> Result<Value> {
        let mapped = match kind {
            ObjectKind::Order => serde_json::to_value(mapping::order(&node_of(raw, "order"))?),
            ObjectKind::Product => {
                serde_json::to_value(mapping::product(&node_of(raw, "product"), None)?)
            }
            ObjectKind::Customer => {
                serde_json::to_value(mapping::customer(&node_of(raw, "customer"))?)
            }
            ObjectKind::Category => {
                serde_json::to_value(mapping::category(&node_of(raw, "collection"))?)
            }
        };
        mapped
            .map_err(|e| ConnectorError::upstream(None, format!("cannot render the mapping: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_checked_and_canonical() {
        let c = Shopify::default()
            .parse_credentials(
                &json!({"shop": " HTTPS://Demo-Shop.myshopify.com/ ", "access_token": "shpat_1"}),
            )
            .expect("valid");
        assert_eq!(c["shop"], "demo-shop.myshopify.com");
        assert!(c.get("endpoint").is_none());
        for bad in [
            "example.com",
            "-x.myshopify.com",
            "a_b.myshopify.com",
            ".myshopify.com",
        ] {
            let r =
                Shopify::default().parse_credentials(&json!({"shop": bad, "access_token": "t"}));
            assert!(matches!(r, Err(ConnectorError::Validation(_))), "{bad}");
        }
        let c = Shopify::default()
            .parse_credentials(&json!({"shop": "cartgate-demo.myshopify.com", "access_token": "t", "endpoint": "http://127.0.0.1:9/"}))
            .expect("endpoint");
        assert_eq!(c["endpoint"], "http://127.0.0.1:9");
        let c = Shopify::default()
            .parse_credentials(&json!({"shop": "shop.example.com", "access_token": "t", "endpoint": "https://proxy.example.com"}))
            .expect("any shop name with an endpoint");
        assert_eq!(c["shop"], "shop.example.com");
        let err = Shopify::default()
            .parse_credentials(&json!({"shop": "a.myshopify.com", "access_token": 123456}))
            .unwrap_err();
        assert!(!err.to_string().contains("123456"), "{err}");
        let err = Shopify::default()
            .parse_credentials(
                &json!({"shop": "a.myshopify.com", "access_token": "shpat_secret", "x": 1}),
            )
            .unwrap_err();
        assert!(!err.to_string().contains("shpat_secret"), "{err}");
        let c = Shopify::default()
            .parse_credentials(&json!({"shop": "a.myshopify.com", "access_token": "t", "api_secret_key": " shpss_1 "}))
            .expect("an app secret");
        assert_eq!(c["api_secret_key"], "shpss_1");
        assert!(Shopify::default().native_webhooks(&c));
        let c = Shopify::default()
            .parse_credentials(
                &json!({"shop": "a.myshopify.com", "access_token": "t", "api_secret_key": ""}),
            )
            .expect("an empty app secret is no app secret");
        assert!(c.get("api_secret_key").is_none());
        assert!(!Shopify::default().native_webhooks(&c));
        let err = Shopify::default()
            .parse_credentials(
                &json!({"shop": "a.myshopify.com", "access_token": "t", "api_secret_key": "a b"}),
            )
            .unwrap_err();
        assert!(!err.to_string().contains("a b"), "{err}");
        for bad in ["ftp://a.b", "https://u:p@a.b", "https://a.b/?x=1"] {
            let r = Shopify::default().parse_credentials(
                &json!({"shop": "a.myshopify.com", "access_token": "t", "endpoint": bad}),
            );
            assert!(matches!(r, Err(ConnectorError::Validation(_))), "{bad}");
        }
    }

    #[test]
    fn descriptor_names_the_platform() {
        let d = Shopify::default().descriptor();
        assert_eq!((d.id, d.name), ("shopify", "Shopify"));
        assert!(d
            .credential_fields
            .iter()
            .any(|f| f.name == "access_token" && f.secret));
        assert!(d
            .credential_fields
            .iter()
            .any(|f| f.name == "api_secret_key" && f.secret && !f.required));
    }
}

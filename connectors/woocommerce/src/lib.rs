//! WooCommerce (REST API wc/v3) for cartgate: the connector and its sandbox.
//!
//! - [`mapping`]: pure wc/v3 ⇄ unified mapping (also behind `cartgate normalize`).
//! - `client`: the [`StoreSession`], all upstream I/O
//!   (webhook registration included).
//! - [`inbound`]: verifying and reading WooCommerce's webhooks.
//! - [`sandbox`]: a local simulator of the wc/v3 API.
#![forbid(unsafe_code)]
// The sandbox builds large documented JSON objects with `json!`.
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
pub mod inbound;
pub mod mapping;
pub mod sandbox;

/// The WooCommerce connector. Stateless: per-store state lives in the session.
#[derive(Debug, Clone, Copy, Default)]
pub struct WooCommerce;

/// The connector as the gateway's registry holds it.
/// The platform's name in credential errors.
const PLATFORM: &str = "WooCommerce";

/// The filters each list applies: advertised by the descriptor, enforced by the client.
pub const FILTERS: SupportedFilters = SupportedFilters(&[
    ("orders", ORDER_FILTERS),
    ("products", PRODUCT_FILTERS),
    ("customers", &["email"]),
    ("categories", &[]),
]);

pub fn connector() -> Arc<dyn Connector> {
    Arc::new(WooCommerce)
}

const CREDENTIAL_FIELDS: [&str; 4] = ["url", "consumer_key", "consumer_secret", "endpoint"];

/// The optional model fields this platform fills (see `docs/mapping/woocommerce.md`).
const FIELDS: ModelFields = ModelFields {
    order: &[
        "shipping_lines",
        "payment_method",
        "prices_include_tax",
        "tax_lines",
        "discount_codes",
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
        "refunded_quantity",
        "variant_options",
    ],
    product: &[
        "barcode",
        "weight",
        "dimensions",
        "requires_shipping",
        "inventory_levels",
    ],
    variant: &[
        "barcode",
        "weight",
        "dimensions",
        "requires_shipping",
        "inventory_levels",
    ],
};

impl Connector for WooCommerce {
    fn descriptor(&self) -> PlatformDescriptor {
        let native = WebhookEventSupport::native;
        PlatformDescriptor {
            id: "woocommerce",
            name: "WooCommerce",
            credential_fields: vec![
                CredentialField {
                    name: "url",
                    required: true,
                    secret: false,
                    description: "The store's site URL, e.g. https://shop.example.com",
                },
                CredentialField {
                    name: "consumer_key",
                    required: true,
                    secret: false,
                    description:
                        "REST API consumer key (ck_…), WooCommerce > Settings > Advanced > REST API",
                },
                CredentialField {
                    name: "consumer_secret",
                    required: true,
                    secret: true,
                    description: "REST API consumer secret (cs_…)",
                },
                CredentialField {
                    name: "endpoint",
                    required: false,
                    secret: false,
                    description: "API root replacing {url}/wp-json, e.g. behind a reverse proxy",
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
            ConnectorError::Validation("WooCommerce credentials must be a JSON object".into())
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !CREDENTIAL_FIELDS.contains(&k.as_str()))
        {
            return Err(ConnectorError::Validation(format!(
                "unknown WooCommerce credential field {unknown:?}: expected url, consumer_key, consumer_secret and optionally endpoint"
            )));
        }
        let url = credential_str(PLATFORM, obj, "url", true)?.unwrap_or_default();
        let key = credential_str(PLATFORM, obj, "consumer_key", true)?.unwrap_or_default();
        let secret = credential_str(PLATFORM, obj, "consumer_secret", true)?.unwrap_or_default();
        let mut out = serde_json::Map::new();
        out.insert(
            "url".into(),
            Value::String(credential_base_url(PLATFORM, "url", &url)?),
        );
        out.insert("consumer_key".into(), Value::String(key));
        out.insert("consumer_secret".into(), Value::String(secret));
        if let Some(endpoint) = credential_str(PLATFORM, obj, "endpoint", false)? {
            out.insert(
                "endpoint".into(),
                Value::String(credential_base_url(PLATFORM, "endpoint", &endpoint)?),
            );
        }
        Ok(Value::Object(out))
    }

    fn open(&self, credentials: &Value, upstream: Upstream) -> Result<Arc<dyn StoreSession>> {
        // Sealed credentials went through parse_credentials; parsing again keeps `open`
        // safe for credentials from an older format.
        let creds = self.parse_credentials(credentials)?;
        let field = |n: &str| creds.get(n).and_then(Value::as_str).map(str::to_owned);
        let session = client::Session::new(
            upstream,
            &field("url").unwrap_or_default(),
            field("endpoint").as_deref(),
            &field("consumer_key").unwrap_or_default(),
            &field("consumer_secret").unwrap_or_default(),
        )?;
        Ok(Arc::new(session))
    }

    /// Every store: the gateway generates the per-store secret webhooks are signed with.
    fn native_webhooks(&self, _credentials: &Value) -> bool {
        true
    }

    /// See [`inbound`]: signed with the per-store `webhook_secret`.
    fn verify_inbound(
        &self,
        _credentials: &Value,
        webhook_secret: Option<&str>,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<cartgate_connector::Inbound> {
        inbound::verify(webhook_secret, headers, body)
    }

    fn normalize(&self, kind: ObjectKind, raw: Value) -> Result<Value> {
        let mapped = match kind {
            ObjectKind::Order => serde_json::to_value(mapping::order(&raw)?),
            // A payload alone names no currency and no units: weights and dimensions are
            // numbers in the store's units, so they map as unknown (null).
            ObjectKind::Product => serde_json::to_value(mapping::product(
                &raw,
                &[],
                None,
                &mapping::Units::default(),
            )?),
            ObjectKind::Customer => serde_json::to_value(mapping::customer(&raw)?),
            ObjectKind::Category => serde_json::to_value(mapping::category(&raw)?),
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
        let c = WooCommerce
            .parse_credentials(&json!({
                "url": " https://shop.example.com/ ",
                "consumer_key": "ck_1",
                "consumer_secret": "cs_2"
            }))
            .expect("valid");
        assert_eq!(c["url"], "https://shop.example.com");
        assert!(c.get("endpoint").is_none());

        let err = WooCommerce
            .parse_credentials(&json!({"url": "https://a.b", "consumer_key": "k", "consumer_secret": "s", "token": "x"}))
            .unwrap_err();
        assert!(err.to_string().contains("\"token\""), "{err}");

        let err = WooCommerce
            .parse_credentials(
                &json!({"url": "https://a.b", "consumer_key": "k", "consumer_secret": 12345}),
            )
            .unwrap_err();
        assert!(
            !err.to_string().contains("12345"),
            "a secret is never echoed: {err}"
        );

        for bad in ["ftp://a.b", "not a url", "https://u:p@a.b"] {
            let r = WooCommerce.parse_credentials(
                &json!({"url": bad, "consumer_key": "k", "consumer_secret": "s"}),
            );
            assert!(matches!(r, Err(ConnectorError::Validation(_))), "{bad}");
        }
        let r = WooCommerce.parse_credentials(
            &json!({"url": "https://a.b", "consumer_key": " ", "consumer_secret": "s"}),
        );
        assert!(matches!(r, Err(ConnectorError::Validation(_))));
    }
}

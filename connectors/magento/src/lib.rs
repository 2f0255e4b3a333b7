//! Magento 2 / Adobe Commerce (REST /V1, 2.4.x) for cartgate: the connector and its sandbox.
//!
//! - [`mapping`]: pure Magento ⇄ unified mapping (also behind `cartgate normalize`).
//! - [`oauth`]: OAuth 1.0a request signing (HMAC-SHA256) for integrations.
//! - `client`: the [`StoreSession`], all upstream I/O.
//! - [`sandbox`]: a local simulator of the Magento REST API.
//!
//! Credentials: `url` (the store's base URL), optional `endpoint` (replaces `{url}/rest`),
//! optional `store_code` (default `default`), and exactly one authentication scheme:
//!
//! * an integration's OAuth 1.0a set: `consumer_key`, `consumer_secret`, `access_token`,
//!   `access_token_secret` (requests signed with HMAC-SHA256, what 2.4.4+ requires);
//! * `access_token` alone, sent as `Authorization: Bearer` (an integration token on a store
//!   that allows standalone bearer tokens, or any long-lived token);
//! * an admin `username` and `password`, exchanged at `/V1/integration/admin/token` for a
//!   token that expires (Magento's default 4 hours; `token_lifetime_minutes` when the
//!   store set another lifetime). The token lives in the session's memory only.
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
use serde_json::{Map, Value};

mod client;
pub mod mapping;
pub mod oauth;
pub mod sandbox;

/// The Magento connector. Stateless: per-store state lives in the session.
#[derive(Debug, Clone, Copy, Default)]
pub struct Magento;

/// The connector as the gateway's registry holds it.
/// The platform's name in credential errors.
const PLATFORM: &str = "Magento";

/// The filters each list applies: advertised by the descriptor, enforced by the client.
pub const FILTERS: SupportedFilters = SupportedFilters(&[
    ("orders", ORDER_FILTERS),
    ("products", PRODUCT_FILTERS),
    (
        "customers",
        &[
            "created_from",
            "created_to",
            "updated_from",
            "updated_to",
            "email",
        ],
    ),
    ("categories", &[]),
]);

pub fn connector() -> Arc<dyn Connector> {
    Arc::new(Magento)
}

const OAUTH_FIELDS: [&str; 4] = [
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
];
const CREDENTIAL_FIELDS: [&str; 10] = [
    "url",
    "endpoint",
    "store_code",
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
    "username",
    "password",
    "token_lifetime_minutes",
];

/// Magento's default admin token lifetime (Stores > Configuration > Services > OAuth).
pub const DEFAULT_TOKEN_LIFETIME_MINUTES: u64 = 240;

/// A store view code as Magento allows them: a letter, then letters, digits or `_`, at most
/// 32. `all` is the admin scope, not a store view: writes use it on their own.
fn store_code(s: &str) -> Result<String> {
    let code = s.trim().to_ascii_lowercase();
    let ok = code.len() <= 32
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(ConnectorError::Validation(
            "Magento credential \"store_code\" must be a store view code like \"default\" (letters, digits, _)"
                .into(),
        ));
    }
    if code == "all" {
        return Err(ConnectorError::Validation(
            "Magento credential \"store_code\" must name a store view; \"all\" is used for writes automatically"
                .into(),
        ));
    }
    Ok(code)
}

fn lifetime_minutes(obj: &Map<String, Value>) -> Result<Option<u64>> {
    let bad = || {
        ConnectorError::Validation(
            "Magento credential \"token_lifetime_minutes\" must be a whole number of minutes between 1 and 525600"
                .into(),
        )
    };
    let n = match obj.get("token_lifetime_minutes") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    if !(1..=525_600).contains(&n) {
        return Err(bad());
    }
    Ok(Some(n))
}

/// The optional model fields this platform fills (see `docs/mapping/magento.md`). Magento
/// has no order tags and no standard barcode or dimension attributes.
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
    product: &["weight", "requires_shipping", "inventory_levels"],
    variant: &["weight", "requires_shipping", "inventory_levels"],
};

impl Connector for Magento {
    fn descriptor(&self) -> PlatformDescriptor {
        let polled = WebhookEventSupport::polled;
        let field = CredentialField::new;
        PlatformDescriptor {
            id: "magento",
            name: "Magento 2 / Adobe Commerce",
            credential_fields: vec![
                field("url", true, false, "The store's base URL, e.g. https://shop.example.com"),
                field("endpoint", false, false, "REST root replacing {url}/rest, e.g. behind a reverse proxy"),
                field("store_code", false, false, "Store view code for reads (default \"default\"); writes go to \"all\""),
                field("consumer_key", false, false, "Integration consumer key (OAuth 1.0a; with consumer_secret, access_token, access_token_secret)"),
                field("consumer_secret", false, true, "Integration consumer secret (OAuth 1.0a)"),
                field("access_token", false, true, "Integration access token: signed with OAuth 1.0a when the other three integration fields are given, else sent as a Bearer token"),
                field("access_token_secret", false, true, "Integration access token secret (OAuth 1.0a)"),
                field("username", false, false, "Admin user name, exchanged with password for an admin token at /V1/integration/admin/token"),
                field("password", false, true, "Admin password (only with username)"),
                field("token_lifetime_minutes", false, false, "Admin token lifetime set in the store (default 240 = Magento's 4 hours)"),
            ],
            operations: ALL_OPERATIONS.to_vec(),
            filters: FILTERS.to_map(),
            webhook_events: vec![
                polled("order.created"),
                polled("order.updated"),
                polled("product.created"),
                polled("product.updated"),
                polled("customer.created"),
                polled("customer.updated"),
            ],
            fields: FIELDS,
        }
    }

    fn parse_credentials(&self, raw: &Value) -> Result<Value> {
        let obj = raw.as_object().ok_or_else(|| {
            ConnectorError::Validation("Magento credentials must be a JSON object".into())
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !CREDENTIAL_FIELDS.contains(&k.as_str()))
        {
            return Err(ConnectorError::Validation(format!(
                "unknown Magento credential field {unknown:?}: expected url, endpoint, store_code and one of: \
                 consumer_key + consumer_secret + access_token + access_token_secret (integration, OAuth 1.0a); \
                 access_token (bearer); username + password (admin token)"
            )));
        }
        let url = credential_str(PLATFORM, obj, "url", true)?.unwrap_or_default();
        let mut out = Map::new();
        out.insert(
            "url".into(),
            Value::String(credential_base_url(PLATFORM, "url", &url)?),
        );
        if let Some(endpoint) = credential_str(PLATFORM, obj, "endpoint", false)? {
            out.insert(
                "endpoint".into(),
                Value::String(credential_base_url(PLATFORM, "endpoint", &endpoint)?),
            );
        }
        let code = match credential_str(PLATFORM, obj, "store_code", false)? {
            Some(c) => store_code(&c)?,
            None => "default".into(),
        };
        out.insert("store_code".into(), Value::String(code));

        let present = |n: &str| credential_str(PLATFORM, obj, n, false);
        let oauth_given: Vec<&str> = ["consumer_key", "consumer_secret", "access_token_secret"]
            .into_iter()
            .filter(|n| obj.get(*n).is_some_and(|v| !v.is_null()))
            .collect();
        let admin_given = ["username", "password"]
            .iter()
            .any(|n| obj.get(*n).is_some_and(|v| !v.is_null()));
        let token = present("access_token")?;
        if !oauth_given.is_empty() {
            if admin_given {
                return Err(ConnectorError::Validation(
                    "Magento credentials must use exactly one scheme: an integration (OAuth 1.0a), an access token, or an admin username and password".into(),
                ));
            }
            for name in OAUTH_FIELDS {
                let v = credential_str(PLATFORM, obj, name, true)?.unwrap_or_default();
                out.insert(name.into(), Value::String(v));
            }
        } else if admin_given {
            if token.is_some() {
                return Err(ConnectorError::Validation(
                    "Magento credentials must use exactly one scheme: an access token or an admin username and password, not both".into(),
                ));
            }
            for name in ["username", "password"] {
                let v = credential_str(PLATFORM, obj, name, true)?.unwrap_or_default();
                out.insert(name.into(), Value::String(v));
            }
            if let Some(m) = lifetime_minutes(obj)? {
                out.insert("token_lifetime_minutes".into(), Value::from(m));
            }
        } else if let Some(t) = token {
            out.insert("access_token".into(), Value::String(t));
        } else {
            return Err(ConnectorError::Validation(
                "Magento credentials need an authentication scheme: consumer_key + consumer_secret + access_token + access_token_secret (integration), access_token (bearer), or username + password (admin)".into(),
            ));
        }
        if obj.contains_key("token_lifetime_minutes") && !out.contains_key("username") {
            return Err(ConnectorError::Validation(
                "Magento credential \"token_lifetime_minutes\" applies to the admin username and password scheme only".into(),
            ));
        }
        Ok(Value::Object(out))
    }

    fn open(&self, credentials: &Value, upstream: Upstream) -> Result<Arc<dyn StoreSession>> {
        // Sealed credentials went through parse_credentials; parsing again keeps `open`
        // safe for credentials from an older format.
        let creds = self.parse_credentials(credentials)?;
        let field = |n: &str| creds.get(n).and_then(Value::as_str).map(str::to_owned);
        let auth = if creds.get("consumer_key").is_some() {
            client::AuthConfig::OAuth1(oauth::Credentials {
                consumer_key: field("consumer_key").unwrap_or_default(),
                consumer_secret: field("consumer_secret").unwrap_or_default(),
                token: field("access_token").unwrap_or_default(),
                token_secret: field("access_token_secret").unwrap_or_default(),
            })
        } else if creds.get("username").is_some() {
            client::AuthConfig::Admin {
                username: field("username").unwrap_or_default(),
                password: field("password").unwrap_or_default(),
                lifetime: std::time::Duration::from_secs(
                    60 * creds
                        .get("token_lifetime_minutes")
                        .and_then(Value::as_u64)
                        .unwrap_or(DEFAULT_TOKEN_LIFETIME_MINUTES),
                ),
            }
        } else {
            client::AuthConfig::Bearer(field("access_token").unwrap_or_default())
        };
        let session = client::Session::new(
            upstream,
            &field("url").unwrap_or_default(),
            field("endpoint").as_deref(),
            &field("store_code").unwrap_or_else(|| "default".into()),
            auth,
        )?;
        Ok(Arc::new(session))
    }

    fn normalize(&self, kind: ObjectKind, raw: Value) -> Result<Value> {
        let mapped = match kind {
            ObjectKind::Order => serde_json::to_value(mapping::order(&raw)?),
            ObjectKind::Product => {
                serde_json::to_value(mapping::product(&raw, &mapping::ProductContext::default())?)
            }
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

    fn oauth() -> Value {
        json!({
            "url": " https://shop.example.com/ ",
            "consumer_key": "ck",
            "consumer_secret": "cs",
            "access_token": "at",
            "access_token_secret": "ats"
        })
    }

    #[test]
    fn credentials_are_checked_and_canonical() {
        let c = Magento.parse_credentials(&oauth()).expect("valid");
        assert_eq!(c["url"], "https://shop.example.com");
        assert_eq!(c["store_code"], "default");
        assert!(c.get("endpoint").is_none());

        let c = Magento
            .parse_credentials(
                &json!({"url": "https://a.b", "access_token": "t", "store_code": "DE"}),
            )
            .expect("bearer");
        assert_eq!(c["store_code"], "de");
        assert!(c.get("consumer_key").is_none());

        let c = Magento
            .parse_credentials(&json!({"url": "https://a.b", "username": "u", "password": "p", "token_lifetime_minutes": 60}))
            .expect("admin");
        assert_eq!(c["token_lifetime_minutes"], 60);

        for bad in [
            json!({"url": "https://a.b"}),
            json!({"url": "https://a.b", "consumer_key": "k", "access_token": "t"}),
            json!({"url": "https://a.b", "username": "u"}),
            json!({"url": "https://a.b", "username": "u", "password": "p", "access_token": "t"}),
            json!({"url": "https://a.b", "username": "u", "password": "p", "consumer_key": "k"}),
            json!({"url": "https://a.b", "access_token": "t", "store_code": "all"}),
            json!({"url": "https://a.b", "access_token": "t", "store_code": "a/b"}),
            json!({"url": "https://a.b", "access_token": "t", "token_lifetime_minutes": 5}),
            json!({"url": "ftp://a.b", "access_token": "t"}),
            json!({"url": "https://u:p@a.b", "access_token": "t"}),
            json!({"url": "https://a.b", "access_token": "t", "token": "x"}),
            json!({"url": "https://a.b", "username": "u", "password": "p", "token_lifetime_minutes": 0}),
        ] {
            let r = Magento.parse_credentials(&bad);
            assert!(matches!(r, Err(ConnectorError::Validation(_))), "{bad}");
        }

        let err = Magento
            .parse_credentials(&json!({"url": "https://a.b", "username": "u", "password": 987654}))
            .unwrap_err();
        assert!(!err.to_string().contains("987654"), "never echoed: {err}");
    }

    #[test]
    fn descriptor_lists_polled_events_and_secrets() {
        let d = Magento.descriptor();
        assert_eq!(d.id, "magento");
        assert!(d
            .webhook_events
            .iter()
            .all(|e| matches!(e.source, cartgate_connector::connector::EventSource::Polled)));
        let secret: Vec<_> = d
            .credential_fields
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            secret,
            [
                "consumer_secret",
                "access_token",
                "access_token_secret",
                "password"
            ]
        );
    }
}

//! Amazon Seller Central through the Selling Partner API (SP-API) for cartgate: the
//! connector and its sandbox.
//!
//! - [`mapping`]: pure SP-API ⇄ unified mapping (also behind `cartgate normalize`).
//! - [`limits`]: Amazon's per-operation usage plans, as its models document them.
//! - `client`: the [`StoreSession`], all upstream I/O (Login with Amazon tokens, pacing).
//! - [`sandbox`]: a local simulator of the SP-API operations the connector uses, with the
//!   Login with Amazon token endpoint.
//!
//! Credentials: the seller's LWA `refresh_token` (secret) and `selling_partner_id`;
//! `marketplace_ids` (default: every marketplace the seller participates in; the first is
//! the one products, prices and stock are read and written in); `region` (`na`, `eu`,
//! `fe`: the regional SP-API host) or `endpoint` (any base URL); the app's LWA
//! `client_id` and `client_secret`, which default to the gateway's
//! `CARTGATE_AMAZON_LWA_CLIENT_ID` / `CARTGATE_AMAZON_LWA_CLIENT_SECRET` (one app usually
//! serves every seller); `lwa_endpoint` (the token endpoint, default Amazon's). No AWS
//! SigV4: SP-API stopped requiring it in October 2023.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

use std::sync::Arc;

use cartgate_connector::connector::{CredentialField, PlatformDescriptor, WebhookEventSupport};
use cartgate_connector::http::Upstream;
use cartgate_connector::page::SupportedFilters;
use cartgate_connector::util::{credential_base_url, credential_str};
use cartgate_connector::{
    Connector, ConnectorError, ModelFields, ObjectKind, Result, StoreSession,
};
use serde_json::{Map, Value};

mod client;
pub mod limits;
pub mod mapping;
pub mod sandbox;

/// The platform's name in credential errors.
const PLATFORM: &str = "Amazon";

/// Amazon's Login with Amazon token endpoint.
pub const LWA_ENDPOINT: &str = "https://api.amazon.com/auth/o2/token";

/// The filters each list applies: advertised by the descriptor, enforced by the client.
/// Orders filter upstream (`searchOrders`); products by time upstream
/// (`searchListingsItems`), by status on the mapped families (a family is active when one
/// of its listings is buyable, which no upstream filter expresses).
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
    (
        "products",
        &[
            "created_from",
            "created_to",
            "updated_from",
            "updated_to",
            "status",
            "sku",
        ],
    ),
    ("customers", &[]),
    ("categories", &[]),
]);

/// The optional model fields this platform fills (see `docs/mapping/amazon.md`).
pub const FIELDS: ModelFields = ModelFields {
    order: &[
        "shipping_lines",
        "payment_method",
        "prices_include_tax",
        "tax_lines",
        "discount_codes",
        "customer_note",
        "fulfilled_at",
    ],
    line_item: &["tax_total", "tax_lines", "discount_total"],
    product: &["barcode", "weight", "dimensions", "inventory_levels"],
    variant: &["barcode", "weight", "dimensions", "inventory_levels"],
};

/// What the gateway can do on Amazon: no customers, categories or counts (SP-API exposes
/// none of them).
pub const OPERATIONS: [&str; 11] = [
    "store.info",
    "orders.list",
    "orders.get",
    "shipments.create",
    "products.list",
    "products.get",
    "products.create",
    "products.update",
    "variants.update",
    "locations.list",
    "proxy",
];

/// An SP-API region and its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Na,
    Eu,
    Fe,
}

impl Region {
    pub fn parse(s: &str) -> Option<Region> {
        match s.trim().to_ascii_lowercase().as_str() {
            "na" => Some(Region::Na),
            "eu" => Some(Region::Eu),
            "fe" => Some(Region::Fe),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Eu => "eu",
            Region::Fe => "fe",
        }
    }

    /// The regional SP-API endpoint.
    pub fn endpoint(self) -> &'static str {
        match self {
            Region::Na => "https://sellingpartnerapi-na.amazon.com",
            Region::Eu => "https://sellingpartnerapi-eu.amazon.com",
            Region::Fe => "https://sellingpartnerapi-fe.amazon.com",
        }
    }
}

/// The marketplaces of each region (Amazon's marketplaceId table).
const MARKETPLACES: [(&str, Region, &str); 22] = [
    ("A2EUQ1WTGCTBG2", Region::Na, "CA"),
    ("ATVPDKIKX0DER", Region::Na, "US"),
    ("A1AM78C64UM0Y8", Region::Na, "MX"),
    ("A2Q3Y263D00KWC", Region::Na, "BR"),
    ("A1RKKUPIHCS9HS", Region::Eu, "ES"),
    ("A1F83G8C2ARO7P", Region::Eu, "GB"),
    ("A13V1IB3VIYZZH", Region::Eu, "FR"),
    ("AMEN7PMS3EDWL", Region::Eu, "BE"),
    ("A1805IZSGTT6HS", Region::Eu, "NL"),
    ("A1PA6795UKMFR9", Region::Eu, "DE"),
    ("APJ6JRA9NG5V4", Region::Eu, "IT"),
    ("A2NODRKZP88ZB9", Region::Eu, "SE"),
    ("AE08WJ6YKNBMC", Region::Eu, "ZA"),
    ("A1C3SOZRARQ6R3", Region::Eu, "PL"),
    ("ARBP9OOSHTCHU", Region::Eu, "EG"),
    ("A33AVAJ2PDY3EV", Region::Eu, "TR"),
    ("A17E79C6D8DWNP", Region::Eu, "SA"),
    ("A2VIGQ35RCS4UG", Region::Eu, "AE"),
    ("A21TJRUUN4KGV", Region::Eu, "IN"),
    ("A19VAU5U5O7RUS", Region::Fe, "SG"),
    ("A39IBJ37TRP1C6", Region::Fe, "AU"),
    ("A1VC38T7YXB528", Region::Fe, "JP"),
];

/// The region of a marketplace id, when it is one of Amazon's.
pub fn region_of(marketplace_id: &str) -> Option<Region> {
    MARKETPLACES
        .iter()
        .find(|(id, _, _)| *id == marketplace_id)
        .map(|(_, r, _)| *r)
}

/// The app's Login with Amazon credentials the gateway holds for stores that do not carry
/// their own (`CARTGATE_AMAZON_LWA_CLIENT_ID` / `_SECRET`).
#[derive(Clone, Default)]
pub struct LwaApp {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for LwaApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LwaApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .finish()
    }
}

/// The Amazon connector. Per-store state lives in the session; the connector holds the
/// gateway's default app credentials.
#[derive(Debug, Clone, Default)]
pub struct Amazon {
    app: LwaApp,
}

/// The connector without default app credentials (every store must carry its own).
pub fn connector() -> Arc<dyn Connector> {
    connector_with(LwaApp::default())
}

/// The connector with the gateway's default app credentials.
pub fn connector_with(app: LwaApp) -> Arc<dyn Connector> {
    let clean = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    Arc::new(Amazon {
        app: LwaApp {
            client_id: clean(app.client_id),
            client_secret: clean(app.client_secret),
        },
    })
}

const CREDENTIAL_FIELDS: [&str; 8] = [
    "refresh_token",
    "selling_partner_id",
    "marketplace_ids",
    "region",
    "endpoint",
    "client_id",
    "client_secret",
    "lwa_endpoint",
];

/// Everything a session needs, resolved from the canonical credentials and the gateway's
/// defaults.
pub(crate) struct StoreConfig {
    pub refresh_token: String,
    pub selling_partner_id: String,
    pub marketplace_ids: Vec<String>,
    pub endpoint: String,
    pub lwa_endpoint: String,
    pub client_id: String,
    pub client_secret: String,
}

fn marketplace_ids(obj: &Map<String, Value>) -> Result<Option<Vec<String>>> {
    let bad = || {
        ConnectorError::Validation(
            "Amazon credential \"marketplace_ids\" must be a list of marketplace ids (or one comma-separated string), at most 50"
                .into(),
        )
    };
    let ids: Vec<String> = match obj.get("marketplace_ids") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_owned()).ok_or_else(bad))
            .collect::<Result<_>>()?,
        Some(_) => return Err(bad()),
    };
    let ids: Vec<String> = ids.into_iter().filter(|s| !s.is_empty()).collect();
    let well_formed = |s: &String| s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if ids.is_empty() || ids.len() > 50 || !ids.iter().all(well_formed) {
        return Err(bad());
    }
    let mut seen = std::collections::HashSet::new();
    Ok(Some(
        ids.into_iter().filter(|i| seen.insert(i.clone())).collect(),
    ))
}

impl Amazon {
    /// The session's settings from canonical credentials (no I/O).
    pub(crate) fn config(&self, creds: &Value) -> Result<StoreConfig> {
        let obj = creds.as_object().ok_or_else(|| {
            ConnectorError::Validation("Amazon credentials must be a JSON object".into())
        })?;
        let s = |n: &str| obj.get(n).and_then(Value::as_str).map(str::to_owned);
        let endpoint = match (
            s("endpoint"),
            s("region").as_deref().and_then(Region::parse),
        ) {
            (Some(e), _) => e,
            (None, Some(r)) => r.endpoint().to_owned(),
            (None, None) => {
                return Err(ConnectorError::Validation(
                    "Amazon credentials need \"region\" (na, eu or fe) or \"endpoint\"".into(),
                ))
            }
        };
        let (client_id, client_secret) = self.client(obj)?;
        Ok(StoreConfig {
            refresh_token: s("refresh_token").unwrap_or_default(),
            selling_partner_id: s("selling_partner_id").unwrap_or_default(),
            marketplace_ids: marketplace_ids(obj)?.unwrap_or_default(),
            endpoint,
            lwa_endpoint: s("lwa_endpoint").unwrap_or_else(|| LWA_ENDPOINT.to_owned()),
            client_id,
            client_secret,
        })
    }

    /// The app credentials: the store's own, else the gateway's.
    fn client(&self, obj: &Map<String, Value>) -> Result<(String, String)> {
        let id = credential_str(PLATFORM, obj, "client_id", false)?;
        let secret = credential_str(PLATFORM, obj, "client_secret", false)?;
        match (id, secret) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            (None, None) => match (&self.app.client_id, &self.app.client_secret) {
                (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
                _ => Err(ConnectorError::Validation(
                    "Amazon credentials need the app's LWA \"client_id\" and \"client_secret\" \
                     (or the gateway's CARTGATE_AMAZON_LWA_CLIENT_ID and \
                     CARTGATE_AMAZON_LWA_CLIENT_SECRET)"
                        .into(),
                )),
            },
            _ => Err(ConnectorError::Validation(
                "Amazon credentials \"client_id\" and \"client_secret\" go together: give both \
                 or neither (then the gateway's defaults apply)"
                    .into(),
            )),
        }
    }
}

impl Connector for Amazon {
    fn descriptor(&self) -> PlatformDescriptor {
        let polled = WebhookEventSupport::polled;
        let field = CredentialField::new;
        PlatformDescriptor {
            id: "amazon",
            name: "Amazon Seller Central (SP-API)",
            credential_fields: vec![
                field("refresh_token", true, true, "The seller's Login with Amazon refresh token (Atzr|…), from authorizing the app"),
                field("selling_partner_id", true, false, "The seller's selling partner id (merchant token), e.g. A2EXAMPLE1234"),
                field("marketplace_ids", false, false, "Marketplace ids, e.g. [\"ATVPDKIKX0DER\"]; default: every marketplace the seller participates in. The first is where products are read and written"),
                field("region", false, false, "SP-API region: na, eu or fe (the regional host); or give endpoint"),
                field("endpoint", false, false, "SP-API base URL replacing the regional host (Amazon's sandbox hosts, cartgate's sandbox)"),
                field("client_id", false, false, "The app's LWA client id (default: the gateway's CARTGATE_AMAZON_LWA_CLIENT_ID)"),
                field("client_secret", false, true, "The app's LWA client secret (default: the gateway's CARTGATE_AMAZON_LWA_CLIENT_SECRET)"),
                field("lwa_endpoint", false, false, "Login with Amazon token endpoint (default https://api.amazon.com/auth/o2/token)"),
            ],
            operations: OPERATIONS.to_vec(),
            filters: FILTERS.to_map(),
            webhook_events: vec![
                polled("order.created"),
                polled("order.updated"),
                polled("product.created"),
                polled("product.updated"),
            ],
            fields: FIELDS,
        }
    }

    fn parse_credentials(&self, raw: &Value) -> Result<Value> {
        let obj = raw.as_object().ok_or_else(|| {
            ConnectorError::Validation("Amazon credentials must be a JSON object".into())
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !CREDENTIAL_FIELDS.contains(&k.as_str()))
        {
            return Err(ConnectorError::Validation(format!(
                "unknown Amazon credential field {:?}: expected {}",
                unknown.chars().take(64).collect::<String>(),
                CREDENTIAL_FIELDS.join(", ")
            )));
        }
        let mut out = Map::new();
        for name in ["refresh_token", "selling_partner_id"] {
            let v = credential_str(PLATFORM, obj, name, true)?.unwrap_or_default();
            out.insert(name.into(), Value::String(v));
        }
        let spid = out["selling_partner_id"].as_str().unwrap_or_default();
        if spid.len() > 64 || !spid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConnectorError::Validation(
                "Amazon credential \"selling_partner_id\" must be the seller's id: letters and digits, e.g. A2EXAMPLE1234"
                    .into(),
            ));
        }
        let markets = marketplace_ids(obj)?;
        if let Some(ids) = &markets {
            out.insert("marketplace_ids".into(), Value::from(ids.clone()));
        }
        match credential_str(PLATFORM, obj, "region", false)? {
            Some(r) => {
                let region = Region::parse(&r).ok_or_else(|| {
                    ConnectorError::Validation(
                        "Amazon credential \"region\" must be na, eu or fe".into(),
                    )
                })?;
                out.insert("region".into(), Value::from(region.as_str()));
            }
            None if obj.get("endpoint").is_none_or(Value::is_null) => {
                // The region of the marketplaces given, when they agree.
                let regions: std::collections::HashSet<_> = markets
                    .iter()
                    .flatten()
                    .filter_map(|m| region_of(m))
                    .collect();
                match (regions.len(), regions.into_iter().next()) {
                    (1, Some(r)) => {
                        out.insert("region".into(), Value::from(r.as_str()));
                    }
                    _ => {
                        return Err(ConnectorError::Validation(
                            "Amazon credentials need \"region\" (na, eu or fe) or \"endpoint\""
                                .into(),
                        ))
                    }
                }
            }
            None => {}
        }
        for name in ["endpoint", "lwa_endpoint"] {
            if let Some(url) = credential_str(PLATFORM, obj, name, false)? {
                out.insert(
                    name.into(),
                    Value::String(credential_base_url(PLATFORM, name, &url)?),
                );
            }
        }
        for name in ["client_id", "client_secret"] {
            if let Some(v) = credential_str(PLATFORM, obj, name, false)? {
                out.insert(name.into(), Value::String(v));
            }
        }
        // Refuses a store that has no app credentials and no gateway default.
        self.client(&out)?;
        Ok(Value::Object(out))
    }

    fn open(&self, credentials: &Value, upstream: Upstream) -> Result<Arc<dyn StoreSession>> {
        // Sealed credentials went through parse_credentials; parsing again keeps `open`
        // safe for credentials from an older format and applies today's gateway defaults.
        let creds = self.parse_credentials(credentials)?;
        let config = self.config(&creds)?;
        Ok(Arc::new(client::Session::new(upstream, config)?))
    }

    fn normalize(&self, kind: ObjectKind, raw: Value) -> Result<Value> {
        let mapped = match kind {
            ObjectKind::Order => {
                // `getOrder` wraps the order in `{"order": …}`; accept both.
                let order = match raw.get("order") {
                    Some(o) if o.is_object() && raw.get("orderId").is_none() => o,
                    _ => &raw,
                };
                serde_json::to_value(mapping::order(order)?)
            }
            ObjectKind::Product => {
                let marketplace = raw
                    .pointer("/summaries/0/marketplaceId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let fba = Default::default();
                let cx = mapping::ProductContext {
                    fba_location: mapping::fba_location(&marketplace),
                    marketplace_id: &marketplace,
                    fba: &fba,
                };
                serde_json::to_value(mapping::product(&raw, &[], &cx)?)
            }
            ObjectKind::Customer | ObjectKind::Category => {
                return Err(ConnectorError::Unsupported(
                    "Amazon exposes no customers or categories through SP-API".into(),
                ))
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

    fn creds() -> Value {
        json!({
            "refresh_token": "Atzr|secret",
            "selling_partner_id": "A2EXAMPLE1234",
            "client_id": "amzn1.application-oa2-client.abc",
            "client_secret": "app-secret",
            "region": "NA",
        })
    }

    #[test]
    fn credentials_are_checked_and_canonical() {
        let c = Amazon::default().parse_credentials(&creds()).unwrap();
        assert_eq!(c["region"], "na");
        assert!(c.get("marketplace_ids").is_none());

        let c = Amazon::default()
            .parse_credentials(&json!({
                "refresh_token": "r", "selling_partner_id": "S1",
                "client_id": "i", "client_secret": "s",
                "marketplace_ids": "A1PA6795UKMFR9, A13V1IB3VIYZZH,A1PA6795UKMFR9",
            }))
            .unwrap();
        assert_eq!(c["region"], "eu", "from the marketplaces");
        assert_eq!(
            c["marketplace_ids"],
            json!(["A1PA6795UKMFR9", "A13V1IB3VIYZZH"])
        );

        let c = Amazon::default()
            .parse_credentials(&json!({
                "refresh_token": "r", "selling_partner_id": "S1",
                "client_id": "i", "client_secret": "s",
                "endpoint": "http://127.0.0.1:9/", "lwa_endpoint": "http://127.0.0.1:9/auth/o2/token",
            }))
            .unwrap();
        assert_eq!(c["endpoint"], "http://127.0.0.1:9");
        assert!(c.get("region").is_none());

        let base = creds();
        let with = |k: &str, v: Value| {
            let mut c = base.clone();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        for bad in [
            without("refresh_token"),
            without("selling_partner_id"),
            without("region"),
            without("client_secret"),
            with("region", json!("us")),
            with("selling_partner_id", json!("A/B")),
            with("marketplace_ids", json!([])),
            with("marketplace_ids", json!(["ok", 3])),
            with("endpoint", json!("ftp://x")),
            with("token", json!("x")),
            json!("nope"),
        ] {
            let r = Amazon::default().parse_credentials(&bad);
            assert!(
                matches!(r, Err(ConnectorError::Validation(_))),
                "{bad}: {r:?}"
            );
        }
        let err = Amazon::default()
            .parse_credentials(&with("refresh_token", json!(12345678)))
            .unwrap_err();
        assert!(!err.to_string().contains("12345678"), "never echoed: {err}");
    }

    #[test]
    fn app_credentials_default_to_the_gateways() {
        let mut c = creds();
        c.as_object_mut().unwrap().remove("client_id");
        c.as_object_mut().unwrap().remove("client_secret");
        assert!(Amazon::default().parse_credentials(&c).is_err());
        let a = Amazon {
            app: LwaApp {
                client_id: Some("gw-id".into()),
                client_secret: Some("gw-secret".into()),
            },
        };
        let canonical = a.parse_credentials(&c).unwrap();
        assert!(
            canonical.get("client_id").is_none(),
            "defaults are not sealed"
        );
        let cfg = a.config(&canonical).unwrap();
        assert_eq!(
            (cfg.client_id.as_str(), cfg.client_secret.as_str()),
            ("gw-id", "gw-secret")
        );
        // A store's own app wins.
        let cfg = a.config(&a.parse_credentials(&creds()).unwrap()).unwrap();
        assert_eq!(cfg.client_id, "amzn1.application-oa2-client.abc");
        assert_eq!(cfg.endpoint, "https://sellingpartnerapi-na.amazon.com");
        assert_eq!(cfg.lwa_endpoint, LWA_ENDPOINT);
        assert!(!format!("{:?}", a.app).contains("gw-secret"));
    }

    #[test]
    fn descriptor_lists_polled_events_secrets_and_no_counts() {
        let d = Amazon::default().descriptor();
        assert_eq!(d.id, "amazon");
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
        assert_eq!(secret, ["refresh_token", "client_secret"]);
        for op in [
            "orders.count",
            "products.count",
            "customers.list",
            "categories.list",
        ] {
            assert!(!d.operations.contains(&op), "{op}");
        }
    }

    #[test]
    fn marketplace_regions() {
        assert_eq!(region_of("ATVPDKIKX0DER"), Some(Region::Na));
        assert_eq!(region_of("A1F83G8C2ARO7P"), Some(Region::Eu));
        assert_eq!(region_of("A1VC38T7YXB528"), Some(Region::Fe));
        assert_eq!(region_of("nope"), None);
    }
}

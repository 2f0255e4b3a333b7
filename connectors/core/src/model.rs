//! The unified commerce model: what every connector maps its platform's payloads into.
//!
//! Conventions (see DESIGN.md): money is a decimal string beside an ISO 4217 `currency`,
//! times are RFC 3339 UTC, countries ISO 3166-1 alpha-2, ids are strings, absent data is
//! `null` (never `""`), and every object keeps the platform's own status words in
//! `platform_status` so nothing is lost in the mapping.
//!
//! This module is pure data: no I/O, no platform knowledge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A decimal amount as a string, e.g. `"19.99"`. Never a float.
pub type Money = String;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Processing,
    OnHold,
    Completed,
    Cancelled,
    Refunded,
    Failed,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Authorized,
    Paid,
    PartiallyPaid,
    PartiallyRefunded,
    Refunded,
    Voided,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfillmentStatus {
    Unfulfilled,
    Partial,
    Fulfilled,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Active,
    Draft,
    Archived,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    /// State, province or region code as the platform gives it.
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Address {
    /// True when every field is absent; mappers return `None` instead of an empty address.
    pub fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderCustomer {
    /// `null` for guest checkouts.
    pub id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LineItem {
    pub id: String,
    pub product_id: Option<String>,
    pub variant_id: Option<String>,
    pub sku: Option<String>,
    pub name: String,
    pub quantity: i64,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub unit_price: Option<Money>,
    #[schema(value_type = Option<String>, example = "39.98")]
    pub total: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub id: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    /// The human-facing order number, which may differ from `id`.
    pub number: Option<String>,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfillment_status: FulfillmentStatus,
    /// The platform's own status words, e.g. `"wc-on-hold"` or `"PARTIALLY_REFUNDED"`.
    pub platform_status: Option<String>,
    pub currency: Option<String>,
    #[schema(value_type = Option<String>, example = "35.00")]
    pub subtotal: Option<Money>,
    #[schema(value_type = Option<String>, example = "10.00")]
    pub shipping_total: Option<Money>,
    #[schema(value_type = Option<String>, example = "1.35")]
    pub tax_total: Option<Money>,
    #[schema(value_type = Option<String>, example = "0.00")]
    pub discount_total: Option<Money>,
    #[schema(value_type = Option<String>, example = "46.35")]
    pub total: Option<Money>,
    pub customer: Option<OrderCustomer>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub line_items: Vec<LineItem>,
    pub shipments: Vec<Shipment>,
    pub note: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The untouched platform payload; present only with `?include=raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    pub id: String,
    pub sku: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub quantity: Option<i64>,
    /// Option name to value, e.g. `{"Size": "M"}`.
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub sku: Option<String>,
    pub status: ProductStatus,
    pub platform_status: Option<String>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub currency: Option<String>,
    pub quantity: Option<i64>,
    pub images: Vec<String>,
    pub category_ids: Vec<String>,
    pub variants: Vec<Variant>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub addresses: Vec<Address>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<Value>,
}

/// Objects that can carry their untouched platform payload (`?include=raw`).
pub trait WithRaw {
    fn set_raw(&mut self, raw: Value);
}

macro_rules! with_raw {
    ($($t:ty),*) => {$(
        impl WithRaw for $t {
            fn set_raw(&mut self, raw: Value) {
                self.raw = Some(raw);
            }
        }
    )*};
}
with_raw!(Order, Product, Customer, Category);

/// The shop itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoreInfo {
    pub name: Option<String>,
    pub url: Option<String>,
    pub currency: Option<String>,
    /// IANA zone name or UTC offset, as the platform gives it.
    pub timezone: Option<String>,
    pub platform_version: Option<String>,
}

/// `POST …/orders/{order_id}/shipments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    /// Ship only these lines; all lines when absent.
    pub line_items: Option<Vec<ShipmentLine>>,
    #[serde(default)]
    pub notify_customer: bool,
}

impl NewShipment {
    /// What every platform needs of a shipment: a carrier and a tracking number, a tracking
    /// URL (when given) that is http(s), and line items (when given) with valid ids and
    /// quantities of at least 1. The gateway checks it before any platform call.
    pub fn validate(&self) -> crate::Result<()> {
        if self.carrier.trim().is_empty() || self.tracking_number.trim().is_empty() {
            return Err(crate::ConnectorError::Validation(
                "carrier and tracking_number must not be empty".into(),
            ));
        }
        if let Some(u) = crate::util::non_empty(self.tracking_url.as_deref()) {
            let ok = url::Url::parse(&u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(crate::ConnectorError::Validation(
                    "tracking_url must be an http(s) URL".into(),
                ));
            }
        }
        for line in self.line_items.iter().flatten() {
            if line.quantity < 1 || !crate::util::valid_id(&line.line_item_id) {
                return Err(crate::ConnectorError::Validation(
                    "each line item needs a valid line_item_id and a quantity of at least 1".into(),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    pub line_item_id: String,
    pub quantity: i64,
}

/// `POST …/products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    pub sku: Option<String>,
    /// Defaults to `draft`.
    pub status: Option<ProductStatus>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub quantity: Option<i64>,
    #[serde(default)]
    pub category_ids: Vec<String>,
}

/// `PATCH …/products/{product_id}`: only the fields present are changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ProductStatus>,
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub quantity: Option<i64>,
    pub sku: Option<String>,
}

/// `PATCH …/products/{product_id}/variants/{variant_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantUpdate {
    #[schema(value_type = Option<String>, example = "19.99")]
    pub price: Option<Money>,
    pub quantity: Option<i64>,
    pub sku: Option<String>,
}

/// `POST …/proxy`: a raw call relative to the platform's API root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyRequest {
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// Relative to the API root, e.g. `/orders/123/notes` for WooCommerce's wc/v3.
    pub path: String,
    #[serde(default)]
    pub query: std::collections::BTreeMap<String, String>,
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
}

impl ProxyRequest {
    /// The method, one of GET, POST, PUT, PATCH or DELETE (any case).
    pub fn http_method(&self) -> crate::Result<http::Method> {
        use http::Method;
        Ok(match self.method.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            _ => {
                return Err(crate::ConnectorError::Validation(
                    "proxy method must be GET, POST, PUT, PATCH or DELETE".into(),
                ))
            }
        })
    }

    /// The path, checked to stay under the platform's API root (named `root` in errors): one
    /// leading `/`, no empty segment, no scheme, query, fragment, backslash or control character, no `.`/`..`
    /// segments and no encoded slashes.
    pub fn checked_path(&self, root: &str) -> crate::Result<&str> {
        let path = self.path.as_str();
        let bad = |why: String| {
            Err(crate::ConnectorError::Validation(format!(
                "proxy path {why}"
            )))
        };
        if !path.starts_with('/') || path.contains("//") {
            return bad(format!(
                "must start with a single '/' and be relative to {root}"
            ));
        }
        if path.contains("://")
            || path.contains(['?', '#', '\\'])
            || path.chars().any(char::is_control)
        {
            return bad("must be a plain path: put parameters in `query`".into());
        }
        for seg in path.split('/') {
            let decoded = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
            if decoded == "." || decoded == ".." || decoded.contains(['/', '\\']) {
                return bad("must not contain '.' or '..' segments or encoded slashes".into());
            }
        }
        Ok(path)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProxyResponse {
    pub status: u16,
    #[schema(value_type = Object)]
    pub body: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(method: &str, path: &str) -> ProxyRequest {
        ProxyRequest {
            method: method.into(),
            path: path.into(),
            query: Default::default(),
            body: None,
        }
    }

    #[test]
    fn proxy_paths_stay_under_the_api_root() {
        for ok in ["/orders", "/orders/12/notes", "/products/MB01/media"] {
            assert!(proxy("GET", ok).checked_path("/V1").is_ok(), "{ok}");
        }
        for bad in [
            "orders",
            "//evil.example/x",
            "/../../admin",
            "/orders/%2e%2e/x",
            "/a/%2F/b",
            "/orders?x=1",
            "http://evil/",
            "/a\\b",
            "/a\u{7}b",
        ] {
            assert!(proxy("GET", bad).checked_path("/V1").is_err(), "{bad}");
        }
    }

    #[test]
    fn proxy_methods() {
        assert_eq!(
            proxy("patch", "/x").http_method().unwrap(),
            http::Method::PATCH
        );
        assert!(proxy("TRACE", "/x").http_method().is_err());
    }
}

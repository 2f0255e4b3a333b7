//! The platform side of webhooks: the unified event types, what a connector makes of one
//! platform webhook ([`Inbound`]), and the signature helpers every platform shares.
//!
//! The gateway receives a platform's webhook at `/inbound/{platform}/{store_id}` and hands
//! the raw headers and body to [`Connector::verify_inbound`](crate::Connector::verify_inbound).
//! A connector checks the signature first, in constant time, before it parses anything, and
//! answers either an [`InboundEvent`] (a unified event type, the object's unified id, the
//! platform's delivery id for dedupe, and the unified object when the payload maps to it
//! completely) or [`Inbound::Ignored`] (a ping, a topic cartgate does not map). A missing or
//! wrong signature is [`ConnectorError::InvalidSignature`](crate::ConnectorError).
//!
//! Registration is per store: [`StoreSession::register_webhooks`](crate::StoreSession) and
//! `unregister_webhooks`.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConnectorError, Result};

/// The seven unified event types, named as subscribers see them (`order.created`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum EventType {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.updated")]
    OrderUpdated,
    #[serde(rename = "product.created")]
    ProductCreated,
    #[serde(rename = "product.updated")]
    ProductUpdated,
    #[serde(rename = "product.deleted")]
    ProductDeleted,
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "customer.updated")]
    CustomerUpdated,
}

/// The kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Order,
    Product,
    Customer,
}

impl EventType {
    /// Every event type, in the order the API documents them.
    pub const ALL: [EventType; 7] = [
        EventType::OrderCreated,
        EventType::OrderUpdated,
        EventType::ProductCreated,
        EventType::ProductUpdated,
        EventType::ProductDeleted,
        EventType::CustomerCreated,
        EventType::CustomerUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderUpdated => "order.updated",
            EventType::ProductCreated => "product.created",
            EventType::ProductUpdated => "product.updated",
            EventType::ProductDeleted => "product.deleted",
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerUpdated => "customer.updated",
        }
    }

    pub fn resource(self) -> Resource {
        match self {
            EventType::OrderCreated | EventType::OrderUpdated => Resource::Order,
            EventType::ProductCreated | EventType::ProductUpdated | EventType::ProductDeleted => {
                Resource::Product
            }
            EventType::CustomerCreated | EventType::CustomerUpdated => Resource::Customer,
        }
    }

    /// Whether the object was created by this change (as opposed to changed or deleted).
    pub fn is_creation(self) -> bool {
        matches!(
            self,
            EventType::OrderCreated | EventType::ProductCreated | EventType::CustomerCreated
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown event type {:?}: expected one of {}",
                    s.chars().take(64).collect::<String>(),
                    EventType::ALL.map(EventType::as_str).join(", ")
                )
            })
    }
}

/// One verified platform webhook, in unified terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// The platform's id of this delivery, for dropping duplicates (Shopify's
    /// `X-Shopify-Webhook-Id`, WooCommerce's `X-WC-Webhook-Delivery-ID`). A platform that
    /// sends none gets `sha256:<hex of the body>`, so a replayed body is still a duplicate.
    pub delivery_id: String,
    pub event_type: EventType,
    /// The object's unified id, as the connector's `get_*` take it.
    pub object_id: String,
    /// When the platform says the change happened, if it says.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The unified object (Order, Product or Customer JSON) when the payload maps to it
    /// completely, i.e. equal to what `get_*` would answer; `None` when the gateway must
    /// read it fresh (always for `product.deleted`). Each platform's mapping doc says which.
    pub data: Option<serde_json::Value>,
}

/// What a connector makes of one platform webhook whose signature it verified.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Event(InboundEvent),
    /// Authentic (or a documented unsigned ping) but nothing to deliver: acknowledge it
    /// with a 2xx so the platform does not retry or disable the webhook.
    Ignored,
}

// ---------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------

/// base64 (standard, padded) of HMAC-SHA256(key, message): the signature Shopify and
/// WooCommerce both send.
pub fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, message).as_ref())
}

/// Checks a base64 HMAC-SHA256 signature of `message` in constant time
/// (`ring::hmac::verify`). A signature that is not base64 is simply wrong.
pub fn verify_hmac_sha256_base64(key: &[u8], message: &[u8], signature: &str) -> bool {
    let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::verify(&key, message, &tag).is_ok()
}

/// The first of `names` present in `headers` (names match case-insensitively), as text.
pub fn header<'a>(headers: &'a http::HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A delivery id for a platform that sent none: `sha256:<hex>` of the body.
pub fn body_delivery_id(body: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The error for a webhook whose signature is missing or does not verify. The message
/// names the header, never the received value.
pub fn invalid_signature(what: &str) -> ConnectorError {
    ConnectorError::InvalidSignature(what.to_owned())
}

/// The longest delivery id kept (dedupe keys are stored): longer ones are refused.
pub const MAX_DELIVERY_ID_CHARS: usize = 200;

/// Checks a platform's delivery id from a header: printable ASCII, bounded.
pub fn delivery_id(raw: Option<&str>, body: &[u8]) -> Result<String> {
    match raw {
        None => Ok(body_delivery_id(body)),
        Some(id)
            if id.len() <= MAX_DELIVERY_ID_CHARS && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(id.to_owned())
        }
        Some(_) => Err(ConnectorError::Validation(
            "the webhook's delivery id is not printable ASCII of at most 200 characters".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(
                serde_json::from_value::<EventType>(serde_json::json!(t.as_str())).unwrap(),
                t
            );
        }
        assert!("order.deleted".parse::<EventType>().is_err());
        assert!(serde_json::from_value::<EventType>(serde_json::json!("ORDER.CREATED")).is_err());
        assert_eq!(EventType::ProductDeleted.resource(), Resource::Product);
        assert!(EventType::CustomerCreated.is_creation());
        assert!(!EventType::OrderUpdated.is_creation());
    }

    /// RFC 4231 test case 2 ("Jefe"), HMAC-SHA-256, base64 of the published hex tag.
    #[test]
    fn hmac_matches_rfc_4231() {
        let tag = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let bytes: Vec<u8> = (0..tag.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&tag[i..i + 2], 16).unwrap())
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(
            hmac_sha256_base64(b"Jefe", b"what do ya want for nothing?"),
            b64
        );
        assert!(verify_hmac_sha256_base64(
            b"Jefe",
            b"what do ya want for nothing?",
            &b64
        ));
        assert!(!verify_hmac_sha256_base64(
            b"Jefe",
            b"what do ya want for nothing!",
            &b64
        ));
        assert!(!verify_hmac_sha256_base64(
            b"jefe",
            b"what do ya want for nothing?",
            &b64
        ));
        assert!(!verify_hmac_sha256_base64(b"Jefe", b"x", "not base64 ***"));
        assert!(!verify_hmac_sha256_base64(b"Jefe", b"x", ""));
    }

    #[test]
    fn headers_and_delivery_ids() {
        let mut h = http::HeaderMap::new();
        h.insert("shopify-topic", "orders/create".parse().unwrap());
        assert_eq!(
            header(&h, &["x-shopify-topic", "shopify-topic"]),
            Some("orders/create")
        );
        assert_eq!(header(&h, &["x-other"]), None);
        assert_eq!(delivery_id(Some("abc-1"), b"x").unwrap(), "abc-1");
        let d = delivery_id(None, b"{}").unwrap();
        assert_eq!(
            d,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert!(delivery_id(Some("a b"), b"").is_err());
        assert!(delivery_id(Some(&"x".repeat(201)), b"").is_err());
    }
}

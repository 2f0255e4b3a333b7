//! WooCommerce webhooks as they reach the gateway (`Connector::verify_inbound`).
//!
//! Rules (../shared/platform-specs/woocommerce/docs/webhooks.md and
//! NOTES-webhook-signatures.md): `X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of
//! the raw body keyed with the webhook's `secret` (the per-store secret the gateway gave
//! to `register_webhooks`). It is checked first, in constant time, before anything else
//! is read.
//!
//! One unsigned request is answered: WooCommerce's ping on creating a webhook, a POST of
//! the form body `webhook_id=<n>` without any `X-WC-Webhook-*` header. It is
//! [`Inbound::Ignored`] (acknowledged; it carries nothing). Anything else without a
//! signature is refused.
//!
//! Then `X-WC-Webhook-Topic` maps to a unified event type (`coupon.*`, `order.deleted`,
//! `customer.deleted` and custom `action.*` topics are `Ignored`); the body is the
//! resource as the REST API answers it, whose `id` is the unified id. The delivery id is
//! `X-WC-Webhook-Delivery-ID` (else a digest of the body); `occurred_at` is the resource's
//! `date_modified_gmt` (`date_created_gmt` for creations; none for deletions).
//!
//! `data`: the unified customer for `customer.*` (the payload is exactly what
//! `get_customer` maps). `None` for orders and products, which the gateway reads fresh: an
//! order's shipments live outside the order resource (order notes or the Shipment
//! Tracking extension) and a product's currency and variations are separate reads, so the
//! payload alone would map to an incomplete object.

use cartgate_connector::util::utc_time;
use cartgate_connector::webhook::{
    delivery_id, header, invalid_signature, verify_hmac_sha256_base64, EventType, Inbound,
    InboundEvent,
};
use cartgate_connector::{ConnectorError, Result};
use serde_json::Value;

use crate::mapping;

/// `X-WC-Webhook-Topic` → unified event type; other topics are acknowledged and ignored.
pub fn event_type(topic: &str) -> Option<EventType> {
    Some(match topic {
        "order.created" => EventType::OrderCreated,
        "order.updated" => EventType::OrderUpdated,
        "product.created" => EventType::ProductCreated,
        "product.updated" => EventType::ProductUpdated,
        "product.deleted" => EventType::ProductDeleted,
        "customer.created" => EventType::CustomerCreated,
        "customer.updated" => EventType::CustomerUpdated,
        _ => return None,
    })
}

/// WooCommerce's unsigned ping: exactly `webhook_id=<digits>`, no `X-WC-Webhook-*`
/// header at all.
fn is_ping(headers: &http::HeaderMap, body: &[u8]) -> bool {
    let bare = !headers
        .keys()
        .any(|k| k.as_str().starts_with("x-wc-webhook-"));
    let digits = body
        .strip_prefix(b"webhook_id=")
        .is_some_and(|n| !n.is_empty() && n.len() <= 20 && n.iter().all(u8::is_ascii_digit));
    bare && digits
}

/// Verifies and reads one WooCommerce webhook signed with `secret`.
pub fn verify(secret: Option<&str>, headers: &http::HeaderMap, body: &[u8]) -> Result<Inbound> {
    let Some(signature) = header(headers, &["x-wc-webhook-signature"]) else {
        if is_ping(headers, body) {
            return Ok(Inbound::Ignored);
        }
        return Err(invalid_signature(
            "the X-WC-Webhook-Signature header is missing",
        ));
    };
    let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| {
        invalid_signature("this store has no webhook secret, so its webhooks cannot be verified")
    })?;
    if !verify_hmac_sha256_base64(secret.as_bytes(), body, signature) {
        return Err(invalid_signature(
            "the X-WC-Webhook-Signature signature does not match the body",
        ));
    }
    // Authentic from here on.
    let topic = header(headers, &["x-wc-webhook-topic"]).ok_or_else(|| {
        ConnectorError::Validation("the X-WC-Webhook-Topic header is missing".into())
    })?;
    let Some(event_type) = event_type(topic) else {
        return Ok(Inbound::Ignored);
    };
    let payload: Value = serde_json::from_slice(body).map_err(|_| {
        ConnectorError::Validation("the WooCommerce webhook body is not JSON".into())
    })?;
    let object_id = match payload.get("id") {
        Some(Value::Number(n)) if n.is_u64() && n.as_u64() != Some(0) => n.to_string(),
        _ => {
            return Err(ConnectorError::Validation(
                "the WooCommerce webhook body has no id".into(),
            ))
        }
    };
    let delivery = delivery_id(header(headers, &["x-wc-webhook-delivery-id"]), body)?;
    let date = |k: &str| utc_time(payload.get(k).and_then(Value::as_str));
    let occurred_at = match event_type {
        EventType::ProductDeleted => None,
        t if t.is_creation() => date("date_created_gmt").or_else(|| date("date_modified_gmt")),
        _ => date("date_modified_gmt"),
    };
    let data = match event_type {
        EventType::CustomerCreated | EventType::CustomerUpdated => Some(
            serde_json::to_value(mapping::customer(&payload)?).map_err(|e| {
                ConnectorError::upstream(None, format!("cannot render the mapping: {e}"))
            })?,
        ),
        _ => None,
    };
    Ok(Inbound::Event(InboundEvent {
        delivery_id: delivery,
        event_type,
        object_id,
        occurred_at,
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec-store-secret-1";
    const BODY: &[u8] = br#"{"id":42,"email":"zoe@example.com","first_name":"Zo\u00eb","last_name":"\u00c5ngstr\u00f6m","date_created_gmt":"2025-06-01T12:00:01","date_modified_gmt":"2025-06-01T12:00:02","billing":{},"shipping":{}}"#;
    /// base64(HMAC-SHA256(SECRET, BODY)), computed with `openssl dgst -sha256 -hmac
    /// <SECRET> -binary | base64` and pinned here.
    const SIGNATURE: &str = "LYrly1f7bjyfN8RhyIJaeDKLgw5c1aQKKWeGW8yZBFc=";

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn good(topic: &str) -> http::HeaderMap {
        headers(&[
            ("X-WC-Webhook-Source", "https://shop.example.com/"),
            ("X-WC-Webhook-Topic", topic),
            ("X-WC-Webhook-Resource", topic.split('.').next().unwrap()),
            ("X-WC-Webhook-Event", topic.split('.').nth(1).unwrap()),
            ("X-WC-Webhook-Signature", SIGNATURE),
            ("X-WC-Webhook-ID", "7"),
            (
                "X-WC-Webhook-Delivery-ID",
                "0c9d3c3fd1d6c4a8f0b2e1d2c3b4a596",
            ),
        ])
    }

    #[test]
    fn a_signed_customer_webhook_carries_the_unified_customer() {
        let Inbound::Event(e) =
            verify(Some(SECRET), &good("customer.created"), BODY).expect("verifies")
        else {
            panic!("an event")
        };
        assert_eq!(e.event_type, EventType::CustomerCreated);
        assert_eq!(e.object_id, "42");
        assert_eq!(e.delivery_id, "0c9d3c3fd1d6c4a8f0b2e1d2c3b4a596");
        assert_eq!(
            e.occurred_at.map(|t| t.to_rfc3339()),
            Some("2025-06-01T12:00:01+00:00".into())
        );
        let data = e.data.expect("customer data");
        assert_eq!(data["first_name"], "Zoë");
        assert_eq!(data["id"], "42");
    }

    #[test]
    fn orders_and_products_are_read_fresh() {
        for (topic, t) in [
            ("order.updated", EventType::OrderUpdated),
            ("product.created", EventType::ProductCreated),
            ("product.deleted", EventType::ProductDeleted),
        ] {
            let Inbound::Event(e) = verify(Some(SECRET), &good(topic), BODY).unwrap() else {
                panic!("an event")
            };
            assert_eq!((e.event_type, e.data), (t, None));
        }
    }

    #[test]
    fn forgeries_are_refused_and_the_ping_is_ignored() {
        let sig = |r: Result<Inbound>| matches!(r, Err(ConnectorError::InvalidSignature(_)));
        let mut tampered = BODY.to_vec();
        tampered[6] = b'3';
        assert!(sig(verify(Some(SECRET), &good("order.updated"), &tampered)));
        assert!(sig(verify(Some("other"), &good("order.updated"), BODY)));
        assert!(sig(verify(None, &good("order.updated"), BODY)));
        let mut unsigned = good("order.updated");
        unsigned.remove("x-wc-webhook-signature");
        assert!(sig(verify(Some(SECRET), &unsigned, BODY)));
        assert!(sig(verify(Some(SECRET), &unsigned, b"webhook_id=7")));
        let mut garbage = good("order.updated");
        garbage.insert("x-wc-webhook-signature", "***".parse().unwrap());
        assert!(sig(verify(Some(SECRET), &garbage, BODY)));
        // The documented ping: no headers, a form body.
        let ping = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        assert_eq!(
            verify(Some(SECRET), &ping, b"webhook_id=7").unwrap(),
            Inbound::Ignored
        );
        assert!(sig(verify(Some(SECRET), &ping, b"webhook_id=7&x=1")));
        assert!(sig(verify(Some(SECRET), &ping, b"{}")));
    }

    #[test]
    fn unmapped_topics_are_ignored() {
        for topic in [
            "coupon.created",
            "order.deleted",
            "customer.deleted",
            "action.woocommerce_add_to_cart",
        ] {
            assert_eq!(
                verify(Some(SECRET), &good(topic), BODY).unwrap(),
                Inbound::Ignored,
                "{topic}"
            );
        }
    }
}

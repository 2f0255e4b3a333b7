//! Shopify webhooks as they reach the gateway (`Connector::verify_inbound`).
//!
//! Rules (../shared/platform-specs/NOTES-webhook-signatures.md, from Shopify's own
//! library): the headers `topic`, `hmac-sha256` and `shop-domain` are required, each with
//! the prefix `X-Shopify-` or `Shopify-`, names matched case-insensitively. The signature
//! is the base64 HMAC-SHA256 of the raw body keyed with the app's API secret key (the
//! store's `api_secret_key` credential); it is checked first, in constant time, before
//! anything else is read.
//!
//! Then: `X-Shopify-Shop-Domain` must name the store's shop (an app's secret is shared by
//! every shop that installed it); the topic maps to a unified event type (others are
//! `Ignored`); the body is the object in the REST format, whose numeric `id` is the
//! unified id (`admin_graphql_api_id`'s tail when `id` is absent). The delivery id is
//! `X-Shopify-Webhook-Id` (the same on Shopify's retries), else `X-Shopify-Event-Id`, else
//! a digest of the body; `occurred_at` is `X-Shopify-Triggered-At`, else the body's
//! `updated_at`.
//!
//! `data` is always `None`: the REST payload is another shape than the GraphQL one the
//! mapping reads, so the gateway reads the object fresh through the connector.

use cartgate_connector::util::utc_time;
use cartgate_connector::webhook::{
    delivery_id, header, invalid_signature, verify_hmac_sha256_base64, EventType, Inbound,
    InboundEvent,
};
use cartgate_connector::{ConnectorError, Result};
use serde_json::Value;

/// `X-Shopify-Topic` → unified event type; other topics are acknowledged and ignored.
pub fn event_type(topic: &str) -> Option<EventType> {
    Some(match topic {
        "orders/create" => EventType::OrderCreated,
        "orders/updated" => EventType::OrderUpdated,
        "products/create" => EventType::ProductCreated,
        "products/update" => EventType::ProductUpdated,
        "products/delete" => EventType::ProductDeleted,
        "customers/create" => EventType::CustomerCreated,
        "customers/update" => EventType::CustomerUpdated,
        _ => return None,
    })
}

fn shopify_header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    header(
        headers,
        &[&format!("x-shopify-{name}"), &format!("shopify-{name}")],
    )
}

/// Verifies and reads one Shopify webhook for the store whose canonical credentials are
/// `credentials`.
pub fn verify(credentials: &Value, headers: &http::HeaderMap, body: &[u8]) -> Result<Inbound> {
    let secret = credentials
        .get("api_secret_key")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            invalid_signature(
                "this store has no api_secret_key credential, so its Shopify webhooks cannot be verified",
            )
        })?;
    let signature = shopify_header(headers, "hmac-sha256")
        .ok_or_else(|| invalid_signature("the X-Shopify-Hmac-Sha256 header is missing"))?;
    if !verify_hmac_sha256_base64(secret.as_bytes(), body, signature) {
        return Err(invalid_signature(
            "the X-Shopify-Hmac-Sha256 signature does not match the body",
        ));
    }
    // Authentic from here on.
    let shop = shopify_header(headers, "shop-domain").ok_or_else(|| {
        ConnectorError::Validation("the X-Shopify-Shop-Domain header is missing".into())
    })?;
    let ours = credentials
        .get("shop")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !shop.eq_ignore_ascii_case(ours) {
        return Err(invalid_signature(
            "X-Shopify-Shop-Domain names another shop than this store's",
        ));
    }
    let topic = shopify_header(headers, "topic").ok_or_else(|| {
        ConnectorError::Validation("the X-Shopify-Topic header is missing".into())
    })?;
    let Some(event_type) = event_type(topic) else {
        return Ok(Inbound::Ignored);
    };
    let payload: Value = serde_json::from_slice(body)
        .map_err(|_| ConnectorError::Validation("the Shopify webhook body is not JSON".into()))?;
    let object_id = object_id(&payload).ok_or_else(|| {
        ConnectorError::Validation("the Shopify webhook body has no numeric id".into())
    })?;
    let delivery = delivery_id(
        shopify_header(headers, "webhook-id").or_else(|| shopify_header(headers, "event-id")),
        body,
    )?;
    let occurred_at = utc_time(shopify_header(headers, "triggered-at"))
        .or_else(|| utc_time(payload.get("updated_at").and_then(Value::as_str)));
    Ok(Inbound::Event(InboundEvent {
        delivery_id: delivery,
        event_type,
        object_id,
        occurred_at,
        data: None,
    }))
}

/// The numeric id of a REST payload (`id`, else the tail of `admin_graphql_api_id`).
fn object_id(payload: &Value) -> Option<String> {
    let numeric = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    match payload.get("id") {
        Some(Value::Number(n)) if n.is_u64() => return Some(n.to_string()),
        Some(Value::String(s)) if numeric(s) => return Some(s.clone()),
        _ => {}
    }
    let gid = payload.get("admin_graphql_api_id")?.as_str()?;
    let tail = gid.strip_prefix("gid://shopify/")?.split('/').nth(1)?;
    numeric(tail).then(|| tail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "shpss_0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = br#"{"id":450789469,"admin_graphql_api_id":"gid://shopify/Order/450789469","updated_at":"2025-06-01T12:00:05+00:00"}"#;
    /// base64(HMAC-SHA256(SECRET, BODY)), computed once with `openssl dgst -sha256 -hmac
    /// <SECRET> -binary | base64` and pinned here.
    const SIGNATURE: &str = "0VaDX9BAeEfe1N8kXrzoI1c65YGXL3TFQ7yaiWSANJ8=";

    fn creds() -> Value {
        json!({"shop": "demo.myshopify.com", "access_token": "shpat_x", "api_secret_key": SECRET})
    }

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

    fn good() -> http::HeaderMap {
        headers(&[
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Hmac-Sha256", SIGNATURE),
            ("X-Shopify-Shop-Domain", "demo.myshopify.com"),
            (
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("X-Shopify-Triggered-At", "2025-06-01T12:00:06.123456789Z"),
        ])
    }

    #[test]
    fn a_signed_webhook_reads_as_its_event() {
        let Inbound::Event(e) = verify(&creds(), &good(), BODY).expect("verifies") else {
            panic!("an event")
        };
        assert_eq!(e.event_type, EventType::OrderCreated);
        assert_eq!(e.object_id, "450789469");
        assert_eq!(e.delivery_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        assert_eq!(
            e.occurred_at.map(|t| t.to_rfc3339()),
            Some("2025-06-01T12:00:06.123456789+00:00".into())
        );
        assert_eq!(e.data, None);
    }

    #[test]
    fn the_shopify_prefix_and_any_case_are_accepted() {
        let h = headers(&[
            ("shopify-topic", "products/delete"),
            ("SHOPIFY-HMAC-SHA256", SIGNATURE),
            ("Shopify-Shop-Domain", "Demo.myshopify.com"),
            ("shopify-event-id", "ev-1"),
        ]);
        let Inbound::Event(e) = verify(&creds(), &h, BODY).expect("verifies") else {
            panic!("an event")
        };
        assert_eq!(e.event_type, EventType::ProductDeleted);
        assert_eq!(e.delivery_id, "ev-1", "the event id when no webhook id");
        assert_eq!(
            e.occurred_at.map(|t| t.to_rfc3339()),
            Some("2025-06-01T12:00:05+00:00".into()),
            "the body's updated_at without Triggered-At"
        );
    }

    #[test]
    fn bad_signatures_are_refused_before_anything_is_read() {
        let sig = |r: Result<Inbound>| matches!(r, Err(ConnectorError::InvalidSignature(_)));
        let mut tampered = BODY.to_vec();
        tampered[7] = b'8';
        assert!(sig(verify(&creds(), &good(), &tampered)));
        let mut other = creds();
        other["api_secret_key"] = json!("shpss_other");
        assert!(sig(verify(&other, &good(), BODY)));
        let mut no_sig = good();
        no_sig.remove("x-shopify-hmac-sha256");
        assert!(sig(verify(&creds(), &no_sig, BODY)));
        let mut garbage = good();
        garbage.insert("x-shopify-hmac-sha256", "%%%".parse().unwrap());
        assert!(sig(verify(&creds(), &garbage, BODY)));
        let mut no_secret = creds();
        no_secret.as_object_mut().unwrap().remove("api_secret_key");
        assert!(sig(verify(&no_secret, &good(), BODY)));
        // A body that is not even JSON is refused for its signature, not parsed.
        assert!(sig(verify(&creds(), &good(), b"not json")));
        let mut shop = good();
        shop.insert(
            "x-shopify-shop-domain",
            "evil.myshopify.com".parse().unwrap(),
        );
        assert!(sig(verify(&creds(), &shop, BODY)));
    }

    #[test]
    fn other_topics_are_ignored() {
        let mut h = good();
        h.insert("x-shopify-topic", "app/uninstalled".parse().unwrap());
        assert_eq!(verify(&creds(), &h, BODY).unwrap(), Inbound::Ignored);
    }

    #[test]
    fn ids_come_from_id_or_the_global_id() {
        assert_eq!(object_id(&json!({"id": 5})), Some("5".into()));
        assert_eq!(
            object_id(&json!({"admin_graphql_api_id": "gid://shopify/Product/77"})),
            Some("77".into())
        );
        assert_eq!(object_id(&json!({"id": -1})), None);
        assert_eq!(object_id(&json!({"id": "x"})), None);
        assert_eq!(object_id(&json!({})), None);
    }
}

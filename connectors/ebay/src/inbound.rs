//! eBay's Notification API pushes: the ECDSA signature, the public keys it is checked with,
//! the `challenge_code` endpoint validation, and what a verified push means in unified
//! terms.
//!
//! As eBay's event-notification SDKs do (rules in the project's platform-spec notes):
//!
//! * `X-EBAY-SIGNATURE` is base64 of `{"alg":"ecdsa","kid":…,"signature":…,"digest":"SHA1"}`;
//!   `signature` is a base64 DER ECDSA signature over the SHA-1 digest of the message.
//! * The signed message is the push body as compact JSON with its keys in received order
//!   (what `JSON.stringify(JSON.parse(body))` gives); the body as received is tried first.
//! * The key is `GET /commerce/notification/v1/public_key/{kid}`: `{key, algorithm:"ECDSA",
//!   digest:"SHA1"}` with `key` a PEM public key (P-256) whose line breaks eBay leaves out.
//!   Keys are cached ([`KeyCache`]): a kid eBay does not know is remembered as unknown for a
//!   while, so forged kids cannot make the gateway ask eBay again and again.
//! * Endpoint validation: `GET {endpoint}?challenge_code=X` is answered with
//!   `{"challengeResponse": hex(SHA-256(X + verificationToken + endpoint))}`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cartgate_connector::webhook::{
    delivery_id, invalid_signature, EventType, Inbound, InboundEvent,
};
use cartgate_connector::{ConnectorError, Result};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use serde_json::Value;
use sha1::Digest as _;

/// The push's signature header.
pub const SIGNATURE_HEADER: &str = "x-ebay-signature";
/// How long a public key is trusted before it is read again (eBay's SDKs cache an hour).
pub const KEY_TTL: Duration = Duration::from_secs(3600);
/// How long a kid eBay did not know stays unknown.
pub const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(300);
/// Keys (known or not) kept at most; the oldest goes first.
pub const MAX_CACHED_KEYS: usize = 64;
/// The largest `X-EBAY-SIGNATURE` read.
const MAX_SIGNATURE_HEADER: usize = 2048;

/// The decoded `X-EBAY-SIGNATURE`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignatureHeader {
    pub alg: String,
    pub kid: String,
    pub signature: String,
    pub digest: String,
}

/// Reads `X-EBAY-SIGNATURE` (never echoing it).
pub fn signature_header(headers: &http::HeaderMap) -> Result<SignatureHeader> {
    let raw = cartgate_connector::webhook::header(headers, &[SIGNATURE_HEADER])
        .ok_or_else(|| invalid_signature("the push has no X-EBAY-SIGNATURE header"))?;
    if raw.len() > MAX_SIGNATURE_HEADER {
        return Err(invalid_signature("X-EBAY-SIGNATURE is too long"));
    }
    let json = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| invalid_signature("X-EBAY-SIGNATURE is not base64"))?;
    let h: SignatureHeader = serde_json::from_slice(&json)
        .map_err(|_| invalid_signature("X-EBAY-SIGNATURE is not eBay's signature JSON"))?;
    if !h.alg.eq_ignore_ascii_case("ecdsa") || !h.digest.eq_ignore_ascii_case("sha1") {
        return Err(invalid_signature(
            "X-EBAY-SIGNATURE names an algorithm other than ECDSA with SHA-1",
        ));
    }
    if !valid_kid(&h.kid) {
        return Err(invalid_signature("X-EBAY-SIGNATURE has a malformed key id"));
    }
    Ok(h)
}

/// A key id as eBay issues them (UUIDs): 1..=64 of `[A-Za-z0-9_-]`, safe in a URL path.
pub fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 64
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A public key from `getPublicKey`'s `key` (PEM, with or without line breaks).
pub fn parse_public_key(pem: &str) -> Result<VerifyingKey> {
    let body: String = pem
        .replace("-----BEGIN PUBLIC KEY-----", "")
        .replace("-----END PUBLIC KEY-----", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| ConnectorError::bad_body("public key", "its key is not base64 PEM"))?;
    VerifyingKey::from_public_key_der(&der)
        .map_err(|_| ConnectorError::bad_body("public key", "its key is not a P-256 public key"))
}

/// `getPublicKey`'s answer: the key, checked to be ECDSA with SHA-1.
pub fn public_key_answer(body: &[u8]) -> Result<VerifyingKey> {
    #[derive(Deserialize)]
    struct Answer {
        key: String,
        algorithm: Option<String>,
        digest: Option<String>,
    }
    let a: Answer =
        serde_json::from_slice(body).map_err(|e| ConnectorError::bad_body("public key", e))?;
    if a.algorithm
        .is_some_and(|x| !x.eq_ignore_ascii_case("ecdsa"))
        || a.digest.is_some_and(|x| !x.eq_ignore_ascii_case("sha1"))
    {
        return Err(ConnectorError::bad_body(
            "public key",
            "it is not an ECDSA key used with SHA-1",
        ));
    }
    parse_public_key(&a.key)
}

/// Does `signature` (base64 DER) sign `body` with `key`? The body as received, then as
/// compact JSON in received key order (what eBay signs).
pub fn verify_signature(key: &VerifyingKey, signature: &str, body: &[u8]) -> bool {
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = DerSignature::try_from(der.as_slice()) else {
        return false;
    };
    let check = |msg: &[u8]| {
        let digest = sha1::Sha1::digest(msg);
        key.verify_prehash(&digest, &sig).is_ok()
    };
    if check(body) {
        return true;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => serde_json::to_vec(&v).is_ok_and(|compact| compact != body && check(&compact)),
        Err(_) => false,
    }
}

/// Public keys by kid, shared by every eBay store of the gateway (eBay's keys are eBay's,
/// not the store's). `None` remembers a kid eBay did not know.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, (Option<VerifyingKey>, Instant)>>,
}

impl KeyCache {
    /// The cached key of `kid`: `Some(Some(key))`, `Some(None)` for a kid known to be
    /// unknown, `None` when it must be read.
    pub fn get(&self, kid: &str) -> Option<Option<VerifyingKey>> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let (key, at) = keys.get(kid)?;
        let ttl = if key.is_some() {
            KEY_TTL
        } else {
            UNKNOWN_KEY_TTL
        };
        (at.elapsed() < ttl).then_some(*key)
    }

    pub fn put(&self, kid: &str, key: Option<VerifyingKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= MAX_CACHED_KEYS && !keys.contains_key(kid) {
            if let Some(oldest) = keys
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                keys.remove(&oldest);
            }
        }
        keys.insert(kid.to_owned(), (key, Instant::now()));
    }
}

/// The verification token eBay is given with the destination, derived from the app's
/// secret and the endpoint (so the validation GET, which may come before the gateway has
/// stored anything, can be answered): 64 hex characters, as eBay allows (32–80 of
/// `[A-Za-z0-9_-]`).
pub fn verification_token(client_secret: &str, endpoint: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, client_secret.as_bytes());
    let tag = ring::hmac::sign(
        &key,
        format!("cartgate ebay notification destination\n{endpoint}").as_bytes(),
    );
    hex::encode(tag.as_ref())
}

/// eBay's endpoint validation answer: hex SHA-256 of `challenge_code`, then the
/// verification token, then the endpoint URL.
pub fn challenge_response(
    challenge_code: &str,
    verification_token: &str,
    endpoint: &str,
) -> String {
    let mut h = sha2::Sha256::new();
    h.update(challenge_code.as_bytes());
    h.update(verification_token.as_bytes());
    h.update(endpoint.as_bytes());
    hex::encode(h.finalize())
}

/// The Notification API topics the connector subscribes to, with the unified event each
/// one is: an order confirmed (sold) is `order.created`. Order updates are polled by
/// `lastmodifieddate`: eBay pushes a topic for shipping (`ITEM_MARKED_SHIPPED`) but none
/// for payments, refunds or cancellations, and one source per event type keeps events from
/// coming twice (`ITEM_MARKED_SHIPPED` is acknowledged and ignored).
pub const ORDER_TOPICS: [(&str, EventType); 1] = [("ORDER_CONFIRMATION", EventType::OrderCreated)];

/// A verified push in unified terms: an order topic is its order's event (the gateway
/// reads the order fresh); any other topic (account deletion, a test push) is ignored.
///
/// eBay pushes one message per line item; the delivery id is the order's, so the lines of
/// one order are one event.
pub fn read_push(body: &[u8]) -> Result<Inbound> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ConnectorError::Validation("the push is not JSON".into()))?;
    let topic = v.pointer("/metadata/topic").and_then(Value::as_str);
    let Some(event_type) = ORDER_TOPICS
        .iter()
        .find(|(t, _)| Some(*t) == topic)
        .map(|(_, e)| *e)
    else {
        return Ok(Inbound::Ignored);
    };
    let n = v.get("notification").cloned().unwrap_or(Value::Null);
    let order_id = ["/data/orderId", "/data/order/orderId", "/data/resourceId"]
        .iter()
        .find_map(|p| n.pointer(p).and_then(Value::as_str))
        .map(str::trim)
        .filter(|id| cartgate_connector::util::valid_id(id))
        .ok_or_else(|| {
            ConnectorError::Validation("the order push names no valid orderId".into())
        })?;
    let topic = topic.unwrap_or_default();
    let key = format!("ebay:{topic}:{order_id}");
    Ok(Inbound::Event(InboundEvent {
        delivery_id: delivery_id(Some(&key), body)?,
        event_type,
        object_id: order_id.to_owned(),
        occurred_at: cartgate_connector::util::utc_time(n.get("eventDate").and_then(Value::as_str)),
        data: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_and_bad_ones_refused() {
        let mut h = http::HeaderMap::new();
        assert!(matches!(
            signature_header(&h),
            Err(ConnectorError::InvalidSignature(_))
        ));
        let enc = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        for bad in [
            "not base64!".to_owned(),
            enc("{}"),
            enc(r#"{"alg":"rsa","kid":"k","signature":"s","digest":"SHA1"}"#),
            enc(r#"{"alg":"ecdsa","kid":"../x","signature":"s","digest":"SHA1"}"#),
            enc(r#"{"alg":"ecdsa","kid":"k","signature":"s","digest":"SHA256"}"#),
        ] {
            h.insert(SIGNATURE_HEADER, bad.parse().unwrap());
            assert!(
                matches!(
                    signature_header(&h),
                    Err(ConnectorError::InvalidSignature(_))
                ),
                "{bad}"
            );
        }
        h.insert(
            SIGNATURE_HEADER,
            enc(r#"{"alg":"ecdsa","kid":"abc-1","signature":"s","digest":"SHA1"}"#)
                .parse()
                .unwrap(),
        );
        assert_eq!(signature_header(&h).unwrap().kid, "abc-1");
    }

    #[test]
    fn challenge_is_sha256_of_code_token_endpoint() {
        // sha256("abc") for code "a", token "b", endpoint "c".
        assert_eq!(
            challenge_response("a", "b", "c"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = verification_token("secret", "https://gw.example/inbound/ebay/s1");
        assert_eq!(t.len(), 64);
        assert_ne!(
            t,
            verification_token("other", "https://gw.example/inbound/ebay/s1")
        );
    }

    #[test]
    fn pushes_read_as_order_events() {
        let body = br#"{"metadata":{"topic":"ORDER_CONFIRMATION"},"notification":{"notificationId":"n-1","eventDate":"2026-01-02T03:04:05.000Z","data":{"orderId":"12-34567-89012"}}}"#;
        match read_push(body).unwrap() {
            Inbound::Event(e) => {
                assert_eq!(e.event_type, EventType::OrderCreated);
                assert_eq!(e.object_id, "12-34567-89012");
                assert_eq!(e.delivery_id, "ebay:ORDER_CONFIRMATION:12-34567-89012");
            }
            other => panic!("{other:?}"),
        }
        let deletion =
            br#"{"metadata":{"topic":"MARKETPLACE_ACCOUNT_DELETION"},"notification":{"data":{}}}"#;
        assert_eq!(read_push(deletion).unwrap(), Inbound::Ignored);
        let shipped = br#"{"metadata":{"topic":"ITEM_MARKED_SHIPPED"},"notification":{"notificationId":"n-2","data":{"orderId":"1-2","lineItemId":"9","fulfillmentId":"1Z99"}}}"#;
        assert_eq!(read_push(shipped).unwrap(), Inbound::Ignored);
        let bad = br#"{"metadata":{"topic":"ORDER_CONFIRMATION"},"notification":{"data":{"orderId":"../x"}}}"#;
        assert!(read_push(bad).is_err());
    }

    #[test]
    fn the_cache_forgets_the_oldest() {
        let c = KeyCache::default();
        for n in 0..MAX_CACHED_KEYS + 3 {
            c.put(&format!("k{n}"), None);
        }
        assert_eq!(c.get(&format!("k{}", MAX_CACHED_KEYS + 2)), Some(None));
        assert_eq!(c.keys.lock().unwrap().len(), MAX_CACHED_KEYS);
        assert_eq!(c.get("nope"), None);
    }
}

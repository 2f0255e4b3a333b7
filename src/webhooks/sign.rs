//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): what every delivery
//! carries so a subscriber can check it came from this gateway, unaltered and recent.
//!
//! A secret is `whsec_` + base64 of 32 random bytes. A delivery's headers are `webhook-id`
//! (the event's id, the same on every retry), `webhook-timestamp` (Unix seconds of this
//! attempt) and `webhook-signature`: `v1,` + base64 HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, one per secret, space-separated (during a
//! rotation a delivery is signed with the new and the previous secret).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use ring::hmac;

const PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

/// A subscription's signing secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Secret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// Reads a `whsec_…` secret.
    pub fn parse(s: &str) -> Option<Secret> {
        let bytes = B64.decode(s.strip_prefix(PREFIX)?).ok()?;
        (!bytes.is_empty()).then_some(Secret(bytes))
    }

    /// The `whsec_…` form, shown to the subscriber once and sealed at rest.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", B64.encode(&self.0))
    }

    fn sign(&self, content: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        format!("v1,{}", B64.encode(hmac::sign(&key, content).as_ref()))
    }
}

/// The `webhook-signature` value of one attempt: a signature per secret, space-separated.
pub fn signature(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut content = Vec::with_capacity(id.len() + body.len() + 24);
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.to_string().as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    secrets
        .iter()
        .map(|s| s.sign(&content))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector the Standard Webhooks reference libraries test against.
    #[test]
    fn reference_vector() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &[secret],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_sign_apart() {
        let a = Secret::generate();
        let b = Secret::generate();
        let exposed = a.expose();
        assert!(exposed.starts_with("whsec_"));
        assert_eq!(Secret::parse(&exposed).unwrap().0, a.0);
        assert!(Secret::parse("nope").is_none());
        assert!(Secret::parse("whsec_").is_none());
        let both = signature(&[a.clone(), b], "msg_1", 1, b"{}");
        let parts: Vec<_> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature(&[a], "msg_1", 1, b"{}"));
        assert_ne!(parts[0], parts[1]);
        assert!(!format!("{:?}", Secret::generate()).contains("whsec"));
    }
}

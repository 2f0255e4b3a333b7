//! Secrets at rest and in transit: sealing (AES-256-GCM under a master key with a key id),
//! API-key digests (HMAC-SHA256) and signed cursors (HMAC-SHA256). All via `ring`.
//!
//! Two derived secrets live in storage, sealed under the master key (`GatewaySecrets`): the
//! API-key digest key and the cursor key. Keeping them apart from the master key lets the
//! master key rotate without invalidating API keys or cursors.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// Ciphertext with the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub key_id: String,
    /// base64 of nonce || ciphertext || tag.
    pub data: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("sealed with master key {0}, which this instance does not hold")]
    UnknownKey(String),
    #[error("sealed data failed authentication (wrong key or tampered)")]
    Tampered,
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the OS random source is available");
    b
}

/// The key that seals credentials and gateway secrets.
pub struct MasterKey {
    id: String,
    key: LessSafeKey,
    raw: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl Clone for MasterKey {
    fn clone(&self) -> Self {
        MasterKey::from_bytes(self.raw)
    }
}

impl MasterKey {
    pub fn from_bytes(raw: [u8; 32]) -> Self {
        // The id names the key without revealing it: a truncated SHA-256 of the key.
        let digest = ring::digest::digest(&ring::digest::SHA256, &raw);
        let id = format!("mk_{}", hex::encode(&digest.as_ref()[..6]));
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &raw).expect("32-byte key"));
        MasterKey { id, key, raw }
    }

    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(s.trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self::from_bytes(raw))
    }

    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.raw)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext`, bound to `context` (e.g. the store id) so a ciphertext cannot be
    /// moved to another record.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM sealing of an in-memory buffer");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Sealed {
            key_id: self.id.clone(),
            data: STANDARD.encode(out),
        }
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, CryptoError> {
        if sealed.key_id != self.id {
            return Err(CryptoError::UnknownKey(sealed.key_id.clone()));
        }
        let bytes = STANDARD
            .decode(&sealed.data)
            .map_err(|_| CryptoError::Tampered)?;
        if bytes.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(CryptoError::Tampered);
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Tampered)?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Tampered)?;
        Ok(plain.to_vec())
    }
}

/// The master keys an instance holds: the current one seals, the previous ones only open
/// what was sealed before a rotation finished (`CARTGATE_PREVIOUS_MASTER_KEYS`). Each sealed
/// value names its key, so opening picks the right one.
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl KeyRing {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let previous = previous
            .into_iter()
            .filter(|k| k.id() != current.id())
            .collect();
        KeyRing { current, previous }
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Ids of the keys that only open, oldest last.
    pub fn previous_ids(&self) -> impl Iterator<Item = &str> {
        self.previous.iter().map(MasterKey::id)
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        self.current.seal(plaintext, context)
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, CryptoError> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id() == sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?
            .open(sealed, context)
    }

    /// The ring after `new` took over: everything this ring opened, it still opens, so
    /// values sealed by instances that still seal with the old key stay readable here.
    pub fn rotated_to(&self, new: MasterKey) -> KeyRing {
        let mut previous = vec![self.current.clone()];
        previous.extend(self.previous.iter().cloned());
        KeyRing::new(new, previous)
    }
}

/// Secrets derived once per installation and kept sealed in storage.
#[derive(Clone, Serialize, Deserialize)]
pub struct GatewaySecrets {
    /// Key of the HMAC that turns API keys into stored digests.
    pub api_key_digest_key: String,
    /// Key of the HMAC that signs list cursors.
    pub cursor_key: String,
}

impl GatewaySecrets {
    pub fn generate() -> Self {
        GatewaySecrets {
            api_key_digest_key: STANDARD.encode(random_bytes::<32>()),
            cursor_key: STANDARD.encode(random_bytes::<32>()),
        }
    }
}

/// The runtime form of `GatewaySecrets`.
#[derive(Clone)]
pub struct Signers {
    api_key: hmac::Key,
    cursor: hmac::Key,
}

impl Signers {
    pub fn new(s: &GatewaySecrets) -> Self {
        let dec = |v: &str| STANDARD.decode(v).unwrap_or_else(|_| v.as_bytes().to_vec());
        Signers {
            api_key: hmac::Key::new(hmac::HMAC_SHA256, &dec(&s.api_key_digest_key)),
            cursor: hmac::Key::new(hmac::HMAC_SHA256, &dec(&s.cursor_key)),
        }
    }

    /// The stored form of an API key: hex HMAC-SHA256. The key itself is never stored.
    pub fn api_key_digest(&self, api_key: &str) -> String {
        hex::encode(hmac::sign(&self.api_key, api_key.as_bytes()).as_ref())
    }

    /// `base64url(payload).base64url(tag)`.
    pub fn sign_cursor(&self, payload: &[u8]) -> String {
        let tag = hmac::sign(&self.cursor, payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The payload of a cursor whose tag verifies; `None` for garbage or tampering.
    pub fn verify_cursor(&self, cursor: &str) -> Option<Vec<u8>> {
        let (p, t) = cursor.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(p).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
        hmac::verify(&self.cursor, &payload, &tag).ok()?;
        Some(payload)
    }
}

/// A new API key as shown once to its owner: `cg_` + 32 url-safe characters (192 bits).
pub fn generate_api_key() -> String {
    format!("cg_{}", URL_SAFE_NO_PAD.encode(random_bytes::<24>()))
}

/// Compares secrets (e.g. the admin token) in constant time.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_roundtrip_is_bound_to_context_and_key() {
        let k = MasterKey::generate();
        let s = k.seal(b"secret", "st_1");
        assert_eq!(k.open(&s, "st_1").unwrap(), b"secret");
        assert!(matches!(k.open(&s, "st_2"), Err(CryptoError::Tampered)));
        let other = MasterKey::generate();
        assert!(matches!(
            other.open(&s, "st_1"),
            Err(CryptoError::UnknownKey(_))
        ));
        let mut bad = s.clone();
        bad.data.replace_range(20..22, "AA");
        assert!(k.open(&bad, "st_1").is_err());
    }

    #[test]
    fn a_key_ring_opens_with_any_of_its_keys_and_seals_with_the_current_one() {
        let old = MasterKey::generate();
        let by_old = old.seal(b"before", "st_1");
        let ring = KeyRing::new(old.clone(), vec![]).rotated_to(MasterKey::generate());
        assert_ne!(ring.current().id(), old.id());
        assert_eq!(ring.previous_ids().collect::<Vec<_>>(), [old.id()]);
        assert_eq!(ring.open(&by_old, "st_1").unwrap(), b"before");
        let by_new = ring.seal(b"after", "st_1");
        assert_eq!(by_new.key_id, ring.current().id());
        assert!(matches!(
            old.open(&by_new, "st_1"),
            Err(CryptoError::UnknownKey(_))
        ));
        let stranger = MasterKey::generate().seal(b"x", "st_1");
        assert!(matches!(
            ring.open(&stranger, "st_1"),
            Err(CryptoError::UnknownKey(_))
        ));
        // The current key given again as a previous one is not kept twice.
        let again = KeyRing::new(old.clone(), vec![old.clone()]);
        assert_eq!(again.previous_ids().count(), 0);
    }

    #[test]
    fn master_key_base64() {
        let k = MasterKey::generate();
        let again = MasterKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(k.id(), again.id());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn cursors_are_tamper_evident() {
        let s = Signers::new(&GatewaySecrets::generate());
        let c = s.sign_cursor(b"{\"offset\":50}");
        assert_eq!(s.verify_cursor(&c).unwrap(), b"{\"offset\":50}");
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(b"{\"offset\":99}"),
            c.split_once('.').unwrap().1
        );
        assert!(s.verify_cursor(&forged).is_none());
        assert!(s.verify_cursor("garbage").is_none());
    }

    #[test]
    fn api_keys_are_digested() {
        let s = Signers::new(&GatewaySecrets::generate());
        let key = generate_api_key();
        assert!(key.starts_with("cg_") && key.len() == 35);
        assert_eq!(s.api_key_digest(&key), s.api_key_digest(&key));
        assert_ne!(s.api_key_digest(&key), key);
    }
}

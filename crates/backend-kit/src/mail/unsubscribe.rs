//! Unsubscribe links that need no table: `<user id>.<HMAC-SHA256 of it>`, keyed by the app's
//! secret (`JWT_SECRET`) and a purpose, so a link for one kind of mail cannot be forged or
//! reused for another. A link never expires — it sits in old mails, and RFC 8058 asks that
//! `List-Unsubscribe` keep working — and knowing one only lets you unsubscribe that user.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], purpose: &str, user_id: i64) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"unsubscribe:");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(user_id.to_string().as_bytes());
    mac
}

/// The token for `user_id`'s unsubscribe link from mail of kind `purpose`.
pub fn token(secret: &[u8], purpose: &str, user_id: i64) -> String {
    let tag = mac(secret, purpose, user_id).finalize().into_bytes();
    format!("{user_id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The user a token was made for, if it is genuine (compared in constant time).
pub fn verify(secret: &[u8], purpose: &str, presented: &str) -> Option<i64> {
    let (id, tag) = presented.split_once('.')?;
    let user_id: i64 = id.parse().ok()?;
    if user_id.to_string() != id {
        return None; // `+1`, `01`: one user, one spelling
    }
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(secret, purpose, user_id)
        .verify_slice(&tag)
        .ok()
        .map(|()| user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_made() {
        let t = token(b"secret", "digest", 42);
        assert_eq!(verify(b"secret", "digest", &t), Some(42));
        assert_eq!(verify(b"other", "digest", &t), None);
        assert_eq!(verify(b"secret", "mentions", &t), None);
        let (_, tag) = t.split_once('.').unwrap();
        for forged in [
            format!("43.{tag}"),
            format!("+42.{tag}"),
            format!("042.{tag}"),
            "42".into(),
            "42.".into(),
            "x.y".into(),
            String::new(),
        ] {
            assert_eq!(verify(b"secret", "digest", &forged), None, "{forged}");
        }
    }
}

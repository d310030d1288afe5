use std::fmt;

/// A room's name: 1–32 of `a-z`, `0-9` and `-` (it is part of URLs and shown as `#name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

impl RoomName {
    pub const RULE: &'static str = "must be 1 to 32 characters of a-z, 0-9 and -";

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let valid = (1..=32).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A guest's chosen name: 1–32 ASCII letters, digits, `_`, `-` or `.` — no spaces or
/// invisible characters, and no look-alike letters from other scripts (a Cyrillic `о` in
/// "bоb"), so a guest cannot pass for someone else's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestName(String);

impl GuestName {
    pub const RULE: &'static str = "must be 1 to 32 ASCII letters, digits, '_', '-' or '.'";

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let valid = (1..=32).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a frame is about, as frames name it (`userId`): an account's id (`"42"`) or
/// `"guest:NAME"`. Display names need not be unique; this is what presence counts by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserKey(String);

impl UserKey {
    pub fn account(id: i64) -> Self {
        Self(id.to_string())
    }

    pub fn guest(name: &GuestName) -> Self {
        Self(format!("guest:{}", name.as_str()))
    }

    /// The account id, unless this is a guest.
    pub fn account_id(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For keys read back from the database or Redis (written by this code).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        for ok in ["general", "a", "rust-2026", &"x".repeat(32)] {
            assert!(RoomName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "General", "a b", "a_b", "é", &"x".repeat(33), "a/b"] {
            assert!(RoomName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn guest_names() {
        for ok in ["bob", "Zoe", "a.b-c_d"] {
            assert!(GuestName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "bob\u{200b}",
            "b\u{43e}b",
            "Zoë",
            "a:b",
            &"x".repeat(33),
        ] {
            assert!(GuestName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_keys() {
        assert_eq!(UserKey::account(42).account_id(), Some(42));
        let guest = UserKey::guest(&GuestName::parse("bob").unwrap());
        assert_eq!(guest.as_str(), "guest:bob");
        assert_eq!(guest.account_id(), None);
    }
}

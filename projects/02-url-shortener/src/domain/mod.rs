//! Types that can only hold valid values; handlers parse raw input into them once.

pub mod code;
pub mod target;

pub use code::{CustomCode, ShortCode};
pub use target::{TargetPolicy, TargetUrl};

/// Shared with every capstone: see `backend_kit::validation`.
pub use backend_kit::validation::FieldErrors;

/// How `GET /shorten/{code}/stats?by=` splits the visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// Per UTC day, oldest first.
    Day,
    /// Per referring host, most first (`(direct)` without one).
    Referrer,
    /// Per browser family, most first.
    Browser,
}

impl Breakdown {
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        match value {
            "day" => Ok(Self::Day),
            "referrer" => Ok(Self::Referrer),
            "browser" => Ok(Self::Browser),
            _ => Err("must be day, referrer or browser"),
        }
    }
}

/// HTTP status used for the redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RedirectType(u16);

impl RedirectType {
    pub const DEFAULT: RedirectType = RedirectType(302);

    pub fn parse(value: i64) -> Result<Self, &'static str> {
        match value {
            301 | 302 | 307 | 308 => Ok(Self(value as u16)),
            _ => Err("must be one of 301, 302, 307, 308"),
        }
    }

    pub fn status(self) -> u16 {
        self.0
    }
}

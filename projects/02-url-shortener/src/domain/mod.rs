//! Types that can only hold valid values; handlers parse raw input into them once.

pub mod code;
pub mod target;

use std::collections::BTreeMap;

pub use code::{CustomCode, ShortCode};
pub use target::{TargetPolicy, TargetUrl};

/// Field name → what is wrong with it; becomes the `errors` object of a 400.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, problem: impl Into<String>) {
        self.0.entry(field).or_default().push(problem.into());
    }

    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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

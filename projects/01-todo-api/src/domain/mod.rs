//! Domain types: each `parse` function is the only way to build one, so a value that exists
//! is valid. Handlers turn raw JSON and query strings into these and collect every problem
//! into [`FieldErrors`], so one response lists all of them.

pub mod listing;
pub mod todo;
pub mod user;

use std::collections::BTreeMap;

pub use listing::{ListQuery, SortKey};
pub use todo::{Description, Title};
pub use user::Name;

/// Field name → what is wrong with it; becomes the `errors` object of a 400.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, problem: impl Into<String>) {
        self.0.entry(field).or_default().push(problem.into());
    }

    /// Keeps the value if it parsed, records the problem under `field` if not.
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

/// PostgreSQL cannot store U+0000 in TEXT; refuse it up front on both databases.
pub(crate) fn reject_nul(value: &str) -> Result<(), &'static str> {
    if value.contains('\0') {
        Err("must not contain the NUL character (U+0000)")
    } else {
        Ok(())
    }
}

//! Validation errors shared by every capstone: domain types report *what* is wrong per field,
//! [`FieldErrors`] collects all of it, and the client gets one answer listing every problem
//! (`http::Error::Validation`, rendered in the project's format). No HTTP here, so the auth
//! core and domain types use it without actix.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Field name → what is wrong with it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<Cow<'static, str>, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<Cow<'static, str>>, problem: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(problem.into());
    }

    /// Keeps the value if it parsed, records the problem under `field` if not.
    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }

    /// Records "is required" when the field was not sent.
    pub fn required<T>(&mut self, field: &'static str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "is required");
        }
        value
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One problem with one field.
    pub fn single(field: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, problem);
        errors
    }
}

/// What is wrong with a value holding U+0000.
pub const NUL_PROBLEM: &str = "must not contain the NUL character (U+0000)";

/// PostgreSQL cannot store U+0000 in TEXT; refuse it up front on both databases.
pub fn reject_nul(value: &str) -> Result<(), &'static str> {
    if value.contains('\0') {
        Err(NUL_PROBLEM)
    } else {
        Ok(())
    }
}

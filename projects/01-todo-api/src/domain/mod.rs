//! Domain types: each `parse` function is the only way to build one, so a value that exists
//! is valid. Handlers turn raw JSON and query strings into these and collect every problem
//! into [`FieldErrors`], so one response lists all of them. Accounts (`Name`, `EmailAddress`,
//! `Password`) are shared by every capstone and live in `backend_kit::auth`.

pub mod listing;
pub mod todo;

pub use listing::{ListQuery, SortKey};
pub use todo::{Description, Title};

/// Shared with every capstone: see `backend_kit::validation`.
pub use backend_kit::validation::{FieldErrors, reject_nul};

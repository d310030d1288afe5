//! The actix-web side of accounts: extractors that turn an `Authorization` header into the
//! caller, and the shared account routes.

pub mod extract;
#[cfg(feature = "rate-limit")]
pub mod routes;

pub use extract::{AuthUser, MaybeAuthUser};

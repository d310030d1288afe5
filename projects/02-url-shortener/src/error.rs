//! Errors: handlers return the kit's one HTTP error type (`backend_kit::http::Error`, here
//! `ApiError`), which maps every failure to a status and renders this API's contract,
//! `{"message": …}` plus `"errors": {field: [..]}` for invalid input. This project's own
//! failures convert into it below.

pub use backend_kit::http::Error as ApiError;

use crate::jobs::import::TooManyRows;

impl From<TooManyRows> for ApiError {
    fn from(e: TooManyRows) -> Self {
        ApiError::invalid("body", e.to_string())
    }
}

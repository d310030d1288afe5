//! Errors: handlers return the kit's one HTTP error type, which maps every failure to a status
//! and renders this API's contract, `{"message": …}` (plus `"errors": {field: [..]}` for
//! invalid input); see `backend_kit::http::error` for the table. Handlers just use `?`:
//! diesel errors, `AuthError` and the domain's `FieldErrors` all convert into it.

pub use backend_kit::http::Error as ApiError;

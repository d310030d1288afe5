//! Errors: handlers return the kit's one HTTP error type; the app is built with
//! `ErrorFormat::RealWorld`, so every error — a handler's, an extractor's, the rate limiter's,
//! an unknown route's — renders as the spec's `{"errors": {field: [message]}}`, with `422`
//! for invalid input and taken usernames or e-mails. See `backend_kit::http::error`.

pub use backend_kit::http::Error as ApiError;

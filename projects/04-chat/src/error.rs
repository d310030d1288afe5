//! Errors: HTTP handlers return the kit's one error type, rendered as `{"message": …}` (like
//! the todo API). On the WebSocket, errors are frames instead: `{"type":"error","code",…}`
//! (see [`crate::protocol::ErrorCode`]).

pub use backend_kit::http::Error as ApiError;

//! What every request goes through before a capstone's routes see it, in one middleware
//! ([`edge`]): defences against hostile or careless clients that the lessons need not repeat.
//! A capstone installs it first thing in its `App`:
//!
//! ```ignore
//! let body_timeout = settings.body_read_timeout;
//! App::new().wrap(from_fn(move |req, next| hardening::edge(body_timeout, req, next)))
//! ```

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web;
use futures_core::Stream;

use super::Error;
use crate::validation::NUL_PROBLEM;

/// Marks a request that arrived as `HEAD` and is routed as the `GET` it asks about: a handler
/// with side effects (counting a visit) can leave them out. Read it with [`is_head`].
#[derive(Debug, Clone, Copy)]
pub struct HeadRequest;

/// Whether this request is a `HEAD` answered by a `GET` route.
pub fn is_head(req: &actix_web::HttpRequest) -> bool {
    req.extensions().contains::<HeadRequest>()
}

/// What every request goes through before routing:
/// - every `GET` route answers `HEAD` too (load balancers and link checkers use it): the
///   request is routed as `GET`, and actix sends the headers without the body (it decided
///   that from the method on the wire);
/// - U+0000 (`%00`) in the path is a `404` and in the query string a `400`: PostgreSQL cannot
///   store it, and a path parameter holding it would otherwise reach a query and fail there;
/// - a body must arrive within `body_timeout` per MiB it announces (`BodyDeadline`);
/// - an HTML response gets the security headers (`add_security_headers`);
/// - an answer to credentials or to a write is not cached, and a `401` names its scheme
///   (`add_auth_headers`).
///
/// One middleware for all of it: each `from_fn` layer costs every request a boxed future.
pub async fn edge(
    body_timeout: std::time::Duration,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let has_nul = |part: &str| part.as_bytes().windows(3).any(|w| w == b"%00");
    if has_nul(req.path()) {
        return Ok(req.error_response(Error::NotFound).map_into_right_body());
    }
    if has_nul(req.query_string()) {
        let refusal = Error::BadRequest(format!("Invalid query string: {NUL_PROBLEM}"));
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
    let has_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        // `body_timeout` per MiB announced (up to 8): a large upload on a slow link still
        // arrives, a few bytes a second never do.
        let mib_announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map_or(1, |length| length.div_ceil(1024 * 1024).clamp(1, 8));
        let body = BodyDeadline {
            body: req.take_payload(),
            deadline: Box::pin(tokio::time::sleep(body_timeout * mib_announced as u32)),
        };
        req.set_payload(actix_web::dev::Payload::from(
            Box::pin(body) as Pin<Box<dyn Stream<Item = <BodyDeadline as Stream>::Item>>>
        ));
    }
    let private = is_private(&req);
    let mut res = next.call(req).await?;
    add_security_headers(&mut res);
    add_auth_headers(private, &mut res);
    Ok(res.map_into_left_body())
}

/// A request whose answer is the caller's alone: it carried credentials, or it is a write
/// (`POST /login`'s answer carries tokens).
fn is_private(req: &ServiceRequest) -> bool {
    req.method() != Method::GET || req.headers().contains_key(header::AUTHORIZATION)
}

/// What HTTP says of answers about credentials:
/// - a private answer ([`is_private`]) is `Cache-Control: no-store`, unless its handler chose
///   otherwise: no proxy, CDN or browser disk may keep tokens or an owner's data;
/// - a `401` says which scheme it wants (`WWW-Authenticate`, RFC 9110 §11.6.1).
fn add_auth_headers<B>(private: bool, res: &mut ServiceResponse<B>) {
    let unauthorized = res.status() == actix_web::http::StatusCode::UNAUTHORIZED;
    // An HTML page's 401 (a link's password form) asks for a form, not a token.
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if unauthorized && !is_html && !res.headers().contains_key(header::WWW_AUTHENTICATE) {
        let challenge = header::HeaderValue::from_static(auth_scheme(res.request()));
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    if (private || unauthorized) && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
}

/// The scheme the project's tokens travel in (`Bearer`, or RealWorld's `Token`).
fn auth_scheme(req: &actix_web::HttpRequest) -> &'static str {
    #[cfg(feature = "auth")]
    if let Some(auth) = req.app_data::<web::Data<crate::auth::Auth>>() {
        return auth.scheme().prefix;
    }
    let _ = req;
    "Bearer"
}

/// A request body that must have arrived by a deadline; past it, reading fails with a
/// time-out (answered `408`). Without it, a client that sends a byte a second keeps a
/// connection, and a handler reading its body, busy for as long as it likes.
struct BodyDeadline {
    body: actix_web::dev::Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for BodyDeadline {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if let Poll::Ready(item) = Pin::new(&mut self.body).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                ),
            )))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What every HTML page sends: no script but the site's own files (so injected markup cannot
/// run), no framing (clickjacking), no MIME sniffing, and no full URL in `Referer` to other
/// sites. Inline `style` attributes stay allowed: they cannot run code. No `form-action`:
/// browsers apply it to the redirect after a form, which is what a password-protected link
/// does.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

/// On an HTML response, the headers of [`CONTENT_SECURITY_POLICY`] and its companions.
fn add_security_headers<B>(res: &mut ServiceResponse<B>) {
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_html {
        let headers = res.headers_mut();
        for (name, value) in [
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ] {
            // A page that set its own policy (the blog allows remote images) keeps it.
            if !headers.contains_key(&name) {
                headers.insert(name, header::HeaderValue::from_static(value));
            }
        }
    }
}

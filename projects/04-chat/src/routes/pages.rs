//! The web client (plain HTML, CSS and JavaScript, compiled into the binary: no build step,
//! nothing from a CDN) and the protocol's JSON Schema.

use actix_web::HttpResponse;
use actix_web::http::header;

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

pub async fn script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    )
}

pub async fn style() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    )
}

/// Every frame of the WebSocket protocol as JSON Schema (draft 2020-12).
pub async fn protocol() -> HttpResponse {
    asset("application/schema+json", crate::protocol::SCHEMA)
}

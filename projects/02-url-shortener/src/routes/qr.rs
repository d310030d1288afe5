//! `GET /shorten/{code}/qr?format=svg|png&size=N`: a QR code of the short URL, for printing
//! on a poster or showing on a screen.

use std::io::Cursor;

use actix_web::{HttpResponse, web};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use crate::db::links;
use crate::error::ApiError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `svg` (default) or `png`.
    #[param(pattern = "^(svg|png)$")]
    pub format: Option<String>,
    /// Width and height in pixels, 64 to 2048 (default 256).
    #[param(value_type = Option<u32>, minimum = 64, maximum = 2048)]
    pub size: Option<String>,
}

/// A QR code that opens the short link.
#[utoipa::path(get, path = "/shorten/{code}/qr", tag = "links", params(("code" = String, Path, example = "example"), QrQuery),
    responses(
        (status = 200, description = "The QR code", content((String = "image/svg+xml"), (Vec<u8> = "image/png"))),
        (status = 400, description = "Bad format or size", body = crate::openapi::ValidationErrorBody),
        (status = 404, description = "No such code", body = crate::openapi::ErrorBody),
    ))]
pub async fn qr(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<QrQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let png = match query.format.as_deref() {
        None | Some("svg") => false,
        Some("png") => true,
        Some(_) => return Err(ApiError::invalid("format", "must be svg or png")),
    };
    let size = match query.size.as_deref() {
        None => 256,
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if (64..=2048).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "size",
                    "must be a whole number from 64 to 2048",
                ));
            }
        },
    };
    let code = code.into_inner();
    let owned = code.clone();
    state
        .db
        .run(move |conn| links::find(conn, &owned).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)?;

    let short_url = format!("{}/{code}", state.public_url.trim_end_matches('/'));
    // Drawing and PNG-encoding up to 2048×2048 pixels is CPU work: on a blocking thread, so
    // the worker keeps serving other requests — a few at a time.
    let _drawing = state
        .qr_renders
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let (content_type, body) = web::block(move || render(&short_url, size, png)).await??;

    Ok(HttpResponse::Ok().content_type(content_type).body(body))
}

/// The QR code of `short_url`, at least `size` pixels wide: `(content type, bytes)`.
fn render(short_url: &str, size: u32, png: bool) -> Result<(&'static str, Vec<u8>), ApiError> {
    let qr = QrCode::new(short_url.as_bytes()).map_err(ApiError::internal)?;
    if png {
        let image = qr
            .render::<image::Luma<u8>>()
            .min_dimensions(size, size)
            .build();
        let mut bytes = Cursor::new(Vec::new());
        image
            .write_to(&mut bytes, image::ImageFormat::Png)
            .map_err(ApiError::internal)?;
        Ok(("image/png", bytes.into_inner()))
    } else {
        let image = qr
            .render::<svg::Color<'_>>()
            .min_dimensions(size, size)
            .build();
        Ok(("image/svg+xml", image.into_bytes()))
    }
}

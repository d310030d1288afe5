//! The API documentation: the OpenAPI document at `/openapi.json`, Swagger UI at `/docs`, and
//! the schemas of the error bodies every capstone shares.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use utoipa::ToSchema;

/// Serves `openapi` at `/openapi.json` and Swagger UI at `/docs` (its assets are compiled into
/// the binary, so it works offline; `/docs` redirects to `/docs/`).
pub fn configure_docs(cfg: &mut web::ServiceConfig, openapi: utoipa::openapi::OpenApi) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                .finish()
        }),
    )
    .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi));
}

/// The links a portfolio visitor wants from a capstone's landing page: the API docs, the
/// OpenAPI document and, when `SOURCE_URL` is set, this capstone's source code
/// (`{SOURCE_URL}/tree/main/{capstone_dir}`, or under the branch or tag `SOURCE_URL` names:
/// `https://github.com/you/capstones/tree/v1.2.0`). HTML, safe to insert: the settings accept only a
/// plain web address as `SOURCE_URL`.
pub fn landing_links(settings: &crate::config::Settings, capstone_dir: &str) -> String {
    let mut links = String::from(
        r#"<a href="/docs/">API docs</a> · <a href="/openapi.json">OpenAPI document</a>"#,
    );
    if let Some(source) = &settings.source_url {
        // Checked at start-up already; escaped anyway, as anything put into HTML.
        let source = source.replace('&', "&amp;");
        // A repository's address gets its `main` branch; one already naming a branch or tag
        // (`…/tree/v1.2.0`) is kept as given.
        let tree = if source.contains("/tree/") {
            ""
        } else {
            "/tree/main"
        };
        links.push_str(&format!(
            r#" · <a href="{source}{tree}/{capstone_dir}">source code</a>"#
        ));
    }
    links
}

/// A landing page: its HTML with `<!-- links -->` replaced by [`landing_links`], once, at
/// start-up. Give it to the app as `web::Data` and route `/` to [`LandingPage::serve`].
pub struct LandingPage(String);

impl LandingPage {
    pub fn new(html: &str, settings: &crate::config::Settings, capstone_dir: &str) -> Self {
        Self(html.replace("<!-- links -->", &landing_links(settings, capstone_dir)))
    }

    pub async fn serve(page: web::Data<LandingPage>) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            // Asked again on each visit: a new release's page (and its script) is seen at once.
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
            .body(page.0.clone())
    }
}

/// Declares the `bearer` (JWT) security scheme in a project's OpenAPI document:
/// `#[openapi(modifiers(&backend_kit::http::BearerAuth))]`.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// What any endpoint with a JSON body may answer before its handler runs; list it in a
/// path's `responses(...)` instead of repeating both lines.
#[derive(utoipa::IntoResponses)]
pub enum JsonBodyErrors {
    #[response(status = 413, description = "Body over 64 KiB")]
    TooLarge(ErrorBody),
    #[response(status = 415, description = "Body is not JSON")]
    NotJson(ErrorBody),
}

/// What a request for something with an owner may answer: no valid token, someone else's,
/// no such thing (`check_owner`-style rules). The 401 also covers a token that is invalid.
#[derive(utoipa::IntoResponses)]
pub enum OwnerOnlyErrors {
    #[response(
        status = 401,
        description = "No valid token, and the resource has an owner"
    )]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "The resource belongs to another user")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "No such resource")]
    NotFound(ErrorBody),
}

/// OpenAPI schema of every error body.
#[derive(ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Not Found")]
    pub message: String,
}

/// OpenAPI schema of a 400: the message plus, per field, what is wrong with it.
#[derive(ToSchema)]
pub struct ValidationErrorBody {
    #[schema(example = "Validation failed")]
    pub message: String,
    #[schema(example = json!({"title": ["must not be empty"]}))]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links_for(source: Option<&str>) -> String {
        let mut settings = crate::config::Settings::for_tests("demo", ":memory:".into());
        settings.source_url = source.map(str::to_string);
        landing_links(&settings, "projects/01-todo-api")
    }

    #[test]
    fn the_source_link_follows_the_repository_or_the_branch_it_names() {
        assert!(!links_for(None).contains("source code"));
        assert!(
            links_for(Some("https://github.com/you/capstones")).contains(
                r#"href="https://github.com/you/capstones/tree/main/projects/01-todo-api""#
            )
        );
        assert!(
            links_for(Some("https://github.com/you/capstones/tree/v1.2.0")).contains(
                r#"href="https://github.com/you/capstones/tree/v1.2.0/projects/01-todo-api""#
            )
        );
    }
}

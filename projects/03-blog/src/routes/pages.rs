//! Reading pages for people: `GET /` (the latest articles) and `GET /articles/{slug}` (one
//! article with its comments), rendered on the server from askama templates
//! (`templates/`, checked at compile time). No JavaScript, nothing from a CDN. Every piece of
//! user text goes through askama's HTML escaping; the only markup inserted as is is
//! `bodyHtml`, which ammonia has sanitized.

use actix_web::http::{StatusCode, header, header::ContentType};
use actix_web::{HttpResponse, web};
use askama::Template;
use backend_kit::db::Database;

use crate::db::articles::{self as queries, Filter};
use crate::error::ApiError;
use crate::routes::articles::{self, ArticleBody};
use crate::routes::comments::{self, CommentBodyJson};

const LATEST: i64 = 20;

/// The kit's policy for HTML pages, except that images may come from any `https` site:
/// articles show the images their Markdown links to (ammonia keeps `<img src="https://…">`).
/// Scripts still only from this site — and the pages have none.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    articles: Vec<ArticleBody>,
    tags: Vec<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage {
    article: ArticleBody,
    comments: Vec<CommentBodyJson>,
}

fn html(page: &impl Template) -> Result<HttpResponse, ApiError> {
    html_with_status(page, StatusCode::OK)
}

fn html_with_status(page: &impl Template, status: StatusCode) -> Result<HttpResponse, ApiError> {
    let body = page.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .body(body))
}

pub async fn index(db: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let (latest, tags) = db
        .run(|conn| {
            let (latest, _) = queries::list(conn, &Filter::default(), LATEST, 0, None)?;
            let tags = queries::popular_tags(conn, 20)?;
            Ok::<_, ApiError>((latest, tags))
        })
        .await?;
    let articles = latest.into_iter().map(ArticleBody::new).collect();
    html(&IndexPage { articles, tags })
}

pub async fn article(
    db: web::Data<Database>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let article = match articles::load(&db, slug.clone(), None).await {
        // A reader gets a page, not the API's JSON error.
        Err(ApiError::NotFound) => return html_with_status(&NotFoundPage, StatusCode::NOT_FOUND),
        other => other?,
    };
    let comments = comments::load(&db, slug, None).await?;
    html(&ArticlePage { article, comments })
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../templates/style.css"))
}

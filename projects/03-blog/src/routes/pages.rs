//! Pages for people: `GET /` (the latest articles), `GET /articles/{slug}` (one article with
//! its comments) and `/reset-password` (where the reset mail's link lands), rendered on the server from askama templates
//! (`templates/`, checked at compile time). No JavaScript, nothing from a CDN. Every piece of
//! user text goes through askama's HTML escaping; the only markup inserted as is is
//! `bodyHtml`, which ammonia has sanitized.

use actix_web::http::{StatusCode, header, header::ContentType};
use actix_web::{HttpResponse, web};
use askama::Template;
use backend_kit::auth::{Auth, AuthError, Password};
use backend_kit::db::Database;
use serde::Deserialize;

use crate::db::articles::{self as queries, Filter, PageRequest};
use crate::db::comments::Page;
use crate::error::ApiError;
use crate::routes::articles::{self, ArticleBody};
use crate::routes::comments::{self, CommentBodyJson};

const LATEST: i64 = 20;

/// The kit's policy for HTML pages, except that images may come from any `https` site:
/// articles show the images their Markdown links to (ammonia keeps `<img src="https://…">`).
/// Scripts still only from this site — and the pages have none.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    articles: Vec<ArticleBody>,
    tags: Vec<String>,
    /// HTML from [`backend_kit::http::landing_links`]: the docs and the source.
    links: &'a str,
}

/// The front page's links to the API docs and the source, made once at start-up.
pub struct LandingLinks(pub String);

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage {
    article: ArticleBody,
    comments: Vec<CommentBodyJson>,
    /// Offsets of the neighbouring pages of comments, where there are any.
    newer: Option<i64>,
    older: Option<i64>,
}

/// `?comments=OFFSET`: which page of comments the reading page shows.
#[derive(Debug, Deserialize)]
pub struct CommentPage {
    comments: Option<String>,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPasswordPage {
    token: String,
    problem: Option<String>,
    done: bool,
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    token: Option<String>,
    password: Option<String>,
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

pub async fn index(
    db: web::Data<Database>,
    links: web::Data<LandingLinks>,
) -> Result<HttpResponse, ApiError> {
    let (latest, tags) = db
        .run(|conn| {
            let (latest, _) = queries::list(
                conn,
                &Filter::default(),
                PageRequest {
                    limit: LATEST,
                    offset: 0,
                    before: None,
                },
                None,
            )?;
            let tags = queries::popular_tags(conn, 20)?;
            Ok::<_, ApiError>((latest, tags))
        })
        .await?;
    let articles = latest.into_iter().map(ArticleBody::new).collect();
    html(&IndexPage {
        articles,
        tags,
        links: &links.0,
    })
}

pub async fn article(
    db: web::Data<Database>,
    slug: web::Path<String>,
    page: web::Query<CommentPage>,
) -> Result<HttpResponse, ApiError> {
    // A reader's URL: what does not parse is the first page, not an error.
    let offset = page
        .into_inner()
        .comments
        .and_then(|raw| raw.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let slug = slug.into_inner();
    let article = match articles::load(&db, slug.clone(), None).await {
        // A reader gets a page, not the API's JSON error.
        Err(ApiError::NotFound) => return html_with_status(&NotFoundPage, StatusCode::NOT_FOUND),
        other => other?,
    };
    let page = Page {
        limit: Page::MAX,
        offset,
    };
    let comments = comments::load(&db, slug, None, page).await?;
    let older = (comments.len() as i64 == Page::MAX).then_some(offset + Page::MAX);
    let newer = (offset > 0).then(|| (offset - Page::MAX).max(0));
    html(&ArticlePage {
        article,
        comments,
        newer,
        older,
    })
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../templates/style.css"))
}

/// Where the reset mail's link lands: a form for the new password (the token rides along in
/// a hidden field). Showing it changes nothing, so a link scanner's visit spends no token.
pub async fn reset_password_form(query: web::Query<ResetForm>) -> Result<HttpResponse, ApiError> {
    let token = query.into_inner().token.unwrap_or_default();
    private(html(&ResetPasswordPage {
        token,
        problem: None,
        done: false,
    }))
}

/// The reset pages carry a token: no cache may keep them, and no link may leak the URL.
fn private(page: Result<HttpResponse, ApiError>) -> Result<HttpResponse, ApiError> {
    let mut page = page?;
    let headers = page.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(page)
}

/// The form's `POST`: what `POST /api/users/password-reset/confirm` does, answered with a page.
pub async fn reset_password(
    auth: web::Data<Auth>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let token = form.token.unwrap_or_default();
    let again = |token: String, problem: &str| {
        private(html_with_status(
            &ResetPasswordPage {
                token,
                problem: Some(problem.to_string()),
                done: false,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    };
    let password = match Password::parse(form.password.unwrap_or_default()) {
        Ok(password) => password,
        Err(e) => return again(token, &format!("The password {e}.")),
    };
    if token.is_empty() || token.len() > 200 {
        return again(String::new(), "This link is not a valid reset link.");
    }
    match auth.reset_password(&token, password).await {
        Ok(_) => private(html(&ResetPasswordPage {
            token: String::new(),
            problem: None,
            done: true,
        })),
        Err(AuthError::InvalidToken) => again(
            String::new(),
            "This link has been used or has expired: ask for a new one.",
        ),
        Err(e) => Err(e.into()),
    }
}

//! `/api/articles`: lists (with filters and search), the feed, one article, writes, favorites.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::{AuthUser, MaybeAuthUser};
use backend_kit::db::Database;
use backend_kit::http::{FieldErrors, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::articles::{
    self as queries, Article, Changes, Filter, NewArticle, Outcome, PageRequest,
};
use crate::domain::{ArticleText, Cursor, SearchTerms, TagList, markdown};
use crate::error::ApiError;
use crate::openapi::{BodyErrors, BudgetErrors, Errors, OwnedErrors};
use crate::routes::WriteLimits;
use crate::routes::profiles::ProfileBody;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ArticleEnvelope<T> {
    pub article: T,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewArticleBody {
    #[schema(value_type = String, required = true, max_length = 200, example = "How to train your dragon")]
    pub title: Option<String>,
    #[schema(value_type = String, required = true, max_length = 500, example = "Ever wonder how?")]
    pub description: Option<String>,
    /// Markdown, kept verbatim; up to 50 000 characters.
    #[schema(value_type = String, required = true, max_length = 50000, example = "You have to believe")]
    pub body: Option<String>,
    /// Up to 10 tags of up to 40 characters; duplicates dropped, sorted.
    #[schema(max_items = 10, example = json!(["dragons", "training"]))]
    pub tag_list: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateArticleBody {
    /// A new title gives the article a new slug.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(max_length = 50000)]
    pub body: Option<String>,
    /// Replaces the tags (extension: the spec cannot change tags).
    #[schema(max_items = 10)]
    pub tag_list: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArticleBody {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// The Markdown as written. Single-article answers only (absent from lists, never null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub body: Option<String>,
    /// The body rendered to HTML and sanitized (safe to insert into a page). Single-article
    /// answers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub body_html: Option<String>,
    /// Sorted, without duplicates.
    pub tag_list: Vec<String>,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-01-02T03:04:05.678901Z")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-01-02T03:04:05.678901Z")]
    pub updated_at: chrono::NaiveDateTime,
    pub favorited: bool,
    pub favorites_count: i64,
    pub author: ProfileBody,
}

impl ArticleBody {
    /// `createdAt` as the API writes it (the pages' `<time datetime>`).
    pub fn created_iso(&self) -> String {
        backend_kit::time::format(&self.created_at)
    }

    pub fn new(article: Article) -> Self {
        let row = article.row;
        Self {
            slug: row.slug,
            title: row.title,
            description: row.description,
            body: article.body,
            body_html: article.body_html,
            tag_list: article.tags,
            created_at: row.created_at,
            updated_at: row.updated_at,
            favorited: row.favorited,
            favorites_count: row.favorites_count.into(),
            author: article.author.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleResponse {
    pub article: ArticleBody,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArticlesResponse {
    /// Most recent first; without `body` and `bodyHtml`.
    pub articles: Vec<ArticleBody>,
    /// How many articles match in all (not the length of this page). A search counts up to
    /// 1 000 matches and then says 1 000.
    pub articles_count: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only articles with this tag.
    tag: Option<String>,
    /// Only articles by this username.
    author: Option<String>,
    /// Only articles this username favorited.
    favorited: Option<String>,
    /// Full-text search over title, description and body (every word must match, as a prefix).
    #[param(max_length = 200)]
    q: Option<String>,
    /// 1–100, default 20.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Default 0. Deep offsets read every article before the page: page with `before`.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 1000000)]
    offset: Option<String>,
    /// Only articles after this one in the list (keyset paging: cheap and stable at any
    /// depth; `offset` then counts from it). A full page's `Link: <…>; rel="next"` header
    /// carries it: `createdAt,id` of the page's last article.
    #[param(value_type = Option<String>, example = "2026-01-02T03:04:05.678901Z,42")]
    before: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// 1–100, default 20.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Default 0.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 1000000)]
    offset: Option<String>,
    /// Only articles after this one (see `GET /api/articles`).
    #[param(value_type = Option<String>, example = "2026-01-02T03:04:05.678901Z,42")]
    before: Option<String>,
}

/// `limit`, `offset` and `before` of a list, checked.
pub(crate) fn page_request(
    limit: Option<&str>,
    offset: Option<&str>,
    before: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let (limit, offset) = super::page(limit, offset, super::LIMIT_DEFAULT)?;
    let before = match before {
        None | Some("") => None,
        Some(raw) => Some(Cursor::parse(raw).map_err(|e| ApiError::invalid("before", e))?),
    };
    Ok(PageRequest {
        limit,
        offset,
        before,
    })
}

/// What a list is filtered by, as sent (REST's query string, GraphQL's arguments): empty
/// values filter nothing.
#[derive(Debug, Default)]
pub(crate) struct ListFilter {
    pub tag: Option<String>,
    pub author: Option<String>,
    pub favorited: Option<String>,
    pub q: Option<String>,
}

impl ListFilter {
    /// The filter checked; `None` when nothing can match (a search of only punctuation).
    pub(crate) fn parse(self) -> Result<Option<Filter>, ApiError> {
        let search = match super::non_empty(self.q) {
            None => None,
            Some(q) => match SearchTerms::parse(&q).map_err(|e| ApiError::invalid("q", e))? {
                Some(terms) => Some(terms),
                // Only punctuation: no word to look for, so nothing matches.
                None => return Ok(None),
            },
        };
        Ok(Some(Filter {
            tag: super::tag_filter(self.tag),
            author: super::non_empty(self.author),
            favorited_by: super::non_empty(self.favorited),
            search,
            followed_by: None,
        }))
    }
}

/// A page of a list and how many match in all (`None`: a filter nothing matches).
pub(crate) async fn list_articles(
    db: &Database,
    filter: Option<Filter>,
    page: PageRequest,
    viewer: Option<i64>,
) -> Result<(Vec<Article>, i64), ApiError> {
    let Some(filter) = filter else {
        return Ok((Vec::new(), 0));
    };
    db.run(move |conn| queries::list(conn, &filter, page, viewer).map_err(ApiError::from))
        .await
}

async fn respond_list(
    db: &Database,
    req: &HttpRequest,
    filter: Option<Filter>,
    page: PageRequest,
    viewer: Option<i64>,
) -> Result<HttpResponse, ApiError> {
    let (articles, total) = list_articles(db, filter, page, viewer).await?;
    let mut response = HttpResponse::Ok();
    // A full page may have more after it: the same request, continued after its last article.
    if let Some(last) = articles
        .last()
        .filter(|_| articles.len() as i64 == page.limit)
    {
        let cursor = Cursor {
            created_at: last.row.created_at,
            id: last.row.id,
        };
        response.insert_header((header::LINK, next_link(req, cursor)));
    }
    Ok(response.json(ArticlesResponse {
        articles: articles.into_iter().map(ArticleBody::new).collect(),
        articles_count: total,
    }))
}

/// `<path?the same query, without offset, before=cursor>; rel="next"`.
fn next_link(req: &HttpRequest, cursor: Cursor) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if key != "offset" && key != "before" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("before", &cursor.to_string());
    format!("<{}?{}>; rel=\"next\"", req.path(), query.finish())
}

#[utoipa::path(
    get, path = "/api/articles", tag = "articles",
    params(ListParams),
    security((), ("Token" = [])),
    responses(
        (status = 200, description = "A page of articles, most recent first", body = ArticlesResponse,
            headers(("Link" = String, description = "On a full page: `<the same request, after its last article>; rel=\"next\"`"))),
        (status = 401, description = "A token was sent and is invalid", body = Errors),
        (status = 422, description = "Bad limit, offset, before or q", body = Errors),
    )
)]
pub async fn list(
    db: web::Data<Database>,
    req: HttpRequest,
    params: web::Query<ListParams>,
    viewer: MaybeAuthUser,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let page = page_request(
        params.limit.as_deref(),
        params.offset.as_deref(),
        params.before.as_deref(),
    )?;
    let filter = ListFilter {
        tag: params.tag,
        author: params.author,
        favorited: params.favorited,
        q: params.q,
    }
    .parse()?;
    respond_list(&db, &req, filter, page, viewer.0.map(|u| u.id)).await
}

#[utoipa::path(
    get, path = "/api/articles/feed", tag = "articles",
    params(FeedParams),
    security(("Token" = [])),
    responses(
        (status = 200, description = "Articles by the users the caller follows, most recent first", body = ArticlesResponse,
            headers(("Link" = String, description = "On a full page: `<the same request, after its last article>; rel=\"next\"`"))),
        (status = 401, description = "No valid token", body = Errors),
        (status = 422, description = "Bad limit, offset or before", body = Errors),
    )
)]
pub async fn feed(
    db: web::Data<Database>,
    req: HttpRequest,
    params: web::Query<FeedParams>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(
        params.limit.as_deref(),
        params.offset.as_deref(),
        params.before.as_deref(),
    )?;
    respond_list(&db, &req, Some(feed_of(caller.id)), page, Some(caller.id)).await
}

/// The feed of `reader`: articles by the users they follow.
pub(crate) fn feed_of(reader: i64) -> Filter {
    Filter {
        followed_by: Some(reader),
        ..Filter::default()
    }
}

/// One article with its body and `bodyHtml` (rendered when it was written).
pub(crate) async fn load_article(
    db: &Database,
    slug: String,
    viewer: Option<i64>,
) -> Result<Article, ApiError> {
    db.run(move |conn| queries::by_slug(conn, &slug, viewer).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)
}

/// [`load_article`] as the REST answer shows it.
pub(crate) async fn load(
    db: &Database,
    slug: String,
    viewer: Option<i64>,
) -> Result<ArticleBody, ApiError> {
    load_article(db, slug, viewer).await.map(ArticleBody::new)
}

/// Markdown to sanitized HTML on a blocking thread: a long body takes milliseconds, which
/// must not hold an actix worker. (Nesting was bounded when the body was parsed.)
async fn render(body: String) -> Result<(String, String), ApiError> {
    let (body, html) = web::block(move || {
        let html = markdown::to_safe_html(&body);
        (body, html)
    })
    .await?;
    let html = html.ok_or_else(|| {
        ApiError::invalid(
            "body",
            format!(
                "renders to more than {} KiB of HTML (a very wide table?)",
                markdown::MAX_HTML_BYTES / 1024
            ),
        )
    })?;
    Ok((body, html))
}

/// What an `Outcome` of a write to someone's article means to the client.
fn settled<T>(outcome: Outcome<T>) -> Result<T, ApiError> {
    match outcome {
        Outcome::Done(value) => Ok(value),
        Outcome::NotFound => Err(ApiError::NotFound),
        Outcome::NotYours => Err(ApiError::Forbidden),
    }
}

async fn respond_one(
    db: &Database,
    slug: String,
    viewer: Option<i64>,
) -> Result<HttpResponse, ApiError> {
    let article = load(db, slug, viewer).await?;
    Ok(HttpResponse::Ok().json(ArticleResponse { article }))
}

#[utoipa::path(
    get, path = "/api/articles/{slug}", tag = "articles",
    params(("slug" = String, Path)),
    security((), ("Token" = [])),
    responses(
        (status = 200, description = "The article, with body and bodyHtml", body = ArticleResponse),
        (status = 401, description = "A token was sent and is invalid", body = Errors),
        (status = 404, description = "No such article", body = Errors),
    )
)]
pub async fn get(
    db: web::Data<Database>,
    slug: web::Path<String>,
    viewer: MaybeAuthUser,
) -> Result<HttpResponse, ApiError> {
    respond_one(&db, slug.into_inner(), viewer.0.map(|u| u.id)).await
}

#[utoipa::path(
    post, path = "/api/articles", tag = "articles",
    security(("Token" = [])),
    request_body = inline(ArticleEnvelope<NewArticleBody>),
    responses(
        (status = 201, description = "Created; the slug comes from the title", body = ArticleResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 422, description = "Invalid input", body = Errors),
        BodyErrors,
        BudgetErrors,
    )
)]
pub async fn create(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    caller: AuthUser,
    body: Json<ArticleEnvelope<NewArticleBody>>,
) -> Result<HttpResponse, ApiError> {
    let article = create_article(&db, &writes, caller.id, body.into_inner().article).await?;
    Ok(HttpResponse::Created().json(ArticleResponse {
        article: ArticleBody::new(article),
    }))
}

/// Publishes an article by `author`: the input checked, the author's budget spent, the
/// Markdown rendered, a unique slug found.
pub(crate) async fn create_article(
    db: &Database,
    writes: &WriteLimits,
    author: i64,
    new: NewArticleBody,
) -> Result<Article, ApiError> {
    let mut errors = FieldErrors::default();
    let text = ArticleText::parse(
        errors.required("title", new.title.as_deref()),
        errors.required("description", new.description.as_deref()),
        errors.required("body", new.body.as_deref()),
        &mut errors,
    );
    let tags = errors.check(
        "tagList",
        TagList::parse(new.tag_list.as_deref().unwrap_or_default()),
    );
    let (Some(title), Some(description), Some(body), Some(tags)) =
        (text.title, text.description, text.body, tags)
    else {
        return Err(ApiError::validation(errors));
    };
    // Spent once the input is valid (fixing a 422 costs nothing), before the rendering.
    WriteLimits::spend(&writes.articles, author).await?;
    let (body, body_html) = render(body).await?;
    let slug = db
        .run(move |conn| {
            let new = NewArticle {
                title: &title,
                description: &description,
                body: &body,
                body_html: &body_html,
                tags: tags.as_slice(),
            };
            // An author from another capstone gets a handle readers can find.
            crate::db::profiles::ensure_username(conn, author)?;
            queries::create(conn, author, &new).map_err(ApiError::from_caller_insert)
        })
        .await?;
    load_article(db, slug, Some(author)).await
}

#[utoipa::path(
    put, path = "/api/articles/{slug}", tag = "articles",
    params(("slug" = String, Path)),
    security(("Token" = [])),
    request_body = inline(ArticleEnvelope<UpdateArticleBody>),
    responses(
        (status = 200, description = "Changed (a new title means a new slug)", body = ArticleResponse),
        (status = 422, description = "Invalid input", body = Errors),
        OwnedErrors,
        BodyErrors,
        BudgetErrors,
    )
)]
pub async fn update(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    slug: web::Path<String>,
    caller: AuthUser,
    // Taken as a `Result`: whose article it is comes first, so someone else's is `403`
    // whatever was sent — even a body that is not JSON.
    body: Result<Json<ArticleEnvelope<UpdateArticleBody>>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let (slug, me) = (slug.into_inner(), caller.id);
    check_author(&db, slug.clone(), me).await?;
    let update = body?.into_inner().article;
    let article = update_article(&db, &writes, slug, me, update).await?;
    Ok(HttpResponse::Ok().json(ArticleResponse {
        article: ArticleBody::new(article),
    }))
}

/// `404` when there is no article at `slug`, `403` when it is not `me`'s: checked before its
/// new text is even read, so someone else's article is `403` whatever was sent.
pub(crate) async fn check_author(db: &Database, slug: String, me: i64) -> Result<(), ApiError> {
    let owner = db
        .run(move |conn| queries::owner_of(conn, &slug).map_err(ApiError::from))
        .await?;
    match owner {
        None => Err(ApiError::NotFound),
        Some((_, author)) if author != me => Err(ApiError::Forbidden),
        Some(_) => Ok(()),
    }
}

/// Changes `me`'s article at `slug` (after [`check_author`]): the fields sent, checked; the
/// budget spent; a new body rendered.
pub(crate) async fn update_article(
    db: &Database,
    writes: &WriteLimits,
    slug: String,
    me: i64,
    update: UpdateArticleBody,
) -> Result<Article, ApiError> {
    let mut errors = FieldErrors::default();
    let text = ArticleText::parse(
        update.title.as_deref(),
        update.description.as_deref(),
        update.body.as_deref(),
        &mut errors,
    );
    let tags = match update.tag_list {
        Some(raw) => errors.check("tagList", TagList::parse(&raw)).map(Some),
        None => Some(None),
    };
    let Some(tags) = tags.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    WriteLimits::spend(&writes.articles, me).await?;
    let body = match text.body {
        Some(body) => Some(render(body).await?),
        None => None,
    };
    let changes = Changes {
        title: text.title,
        description: text.description,
        body,
        tags: tags.map(|t| t.as_slice().to_vec()),
    };
    // The update checks the author again: the article may have changed hands or gone since.
    let outcome = db
        .run(move |conn| queries::update(conn, &slug, me, &changes).map_err(ApiError::from))
        .await?;
    load_article(db, settled(outcome)?, Some(me)).await
}

#[utoipa::path(
    delete, path = "/api/articles/{slug}", tag = "articles",
    params(("slug" = String, Path)),
    security(("Token" = [])),
    responses(
        (status = 204, description = "Deleted, with its comments and favorites"),
        OwnedErrors,
    )
)]
pub async fn delete(
    db: web::Data<Database>,
    slug: web::Path<String>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    delete_article(&db, slug.into_inner(), caller.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes `me`'s article at `slug`, with its comments and favorites.
pub(crate) async fn delete_article(db: &Database, slug: String, me: i64) -> Result<(), ApiError> {
    let outcome = db
        .run(move |conn| queries::delete(conn, &slug, me).map_err(ApiError::from))
        .await?;
    settled(outcome)
}

#[utoipa::path(
    post, path = "/api/articles/{slug}/favorite", tag = "articles",
    params(("slug" = String, Path)),
    security(("Token" = [])),
    responses(
        (status = 200, description = "Favorited (twice counts once)", body = ArticleResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 404, description = "No such article", body = Errors),
        BudgetErrors,
    )
)]
pub async fn favorite(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    slug: web::Path<String>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    respond_favorite(&db, &writes, slug.into_inner(), caller.id, true).await
}

#[utoipa::path(
    delete, path = "/api/articles/{slug}/favorite", tag = "articles",
    params(("slug" = String, Path)),
    security(("Token" = [])),
    responses(
        (status = 200, description = "Unfavorited (also when it was not)", body = ArticleResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 404, description = "No such article", body = Errors),
        BudgetErrors,
    )
)]
pub async fn unfavorite(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    slug: web::Path<String>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    respond_favorite(&db, &writes, slug.into_inner(), caller.id, false).await
}

async fn respond_favorite(
    db: &Database,
    writes: &WriteLimits,
    slug: String,
    me: i64,
    favorite: bool,
) -> Result<HttpResponse, ApiError> {
    let article = set_favorite(db, writes, slug, me, favorite).await?;
    Ok(HttpResponse::Ok().json(ArticleResponse {
        article: ArticleBody::new(article),
    }))
}

/// Favorites (or unfavorites) the article at `slug` for `me`, within their reactions budget.
pub(crate) async fn set_favorite(
    db: &Database,
    writes: &WriteLimits,
    slug: String,
    me: i64,
    favorite: bool,
) -> Result<Article, ApiError> {
    WriteLimits::spend(&writes.reactions, me).await?;
    let lookup = slug.clone();
    let outcome = db
        .run(move |conn| queries::set_favorite(conn, &lookup, me, favorite).map_err(ApiError::from))
        .await?;
    settled(outcome)?;
    load_article(db, slug, Some(me)).await
}

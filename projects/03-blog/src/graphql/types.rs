//! The schema's object types: each wraps the row the REST API answers from (the same
//! queries), and reads what a field needs from it. Nothing here touches the database
//! except through the per-request loaders ([`super::loaders`]), which batch: a page of
//! articles asking for their comments or bodies costs one statement for all of them.

use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};

use super::loaders::{BodyLoader, CommentsLoader, NewestComments};
use crate::db::articles::Article as ArticleRow;
use crate::db::comments::Comment as CommentRow;
use crate::db::profiles::Profile as ProfileRow;
use crate::domain::Cursor;
use crate::routes::users::UserBody;

/// The most comments `Article.comments` gives (what a page of comments holds on REST).
pub const COMMENTS_MAX: i32 = 100;

/// An article, as lists and single answers show it.
pub struct Article(pub ArticleRow);

#[Object]
impl Article {
    /// The article's address: `/articles/{slug}`.
    async fn slug(&self) -> &str {
        &self.0.row.slug
    }

    async fn title(&self) -> &str {
        &self.0.row.title
    }

    async fn description(&self) -> &str {
        &self.0.row.description
    }

    /// The Markdown as written.
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        match &self.0.body {
            Some(body) => Ok(body.clone()),
            None => Ok(self.load_body(ctx).await?.0),
        }
    }

    /// The body rendered to HTML and sanitized (safe to insert into a page).
    async fn body_html(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        match &self.0.body_html {
            Some(html) => Ok(html.clone()),
            None => Ok(self.load_body(ctx).await?.1),
        }
    }

    /// Sorted, without duplicates.
    async fn tag_list(&self) -> &[String] {
        &self.0.tags
    }

    /// RFC 3339, in UTC, to the microsecond.
    async fn created_at(&self) -> String {
        backend_kit::time::format(&self.0.row.created_at)
    }

    async fn updated_at(&self) -> String {
        backend_kit::time::format(&self.0.row.updated_at)
    }

    /// Whether the caller favorited it (false without a token).
    async fn favorited(&self) -> bool {
        self.0.row.favorited
    }

    async fn favorites_count(&self) -> i64 {
        self.0.row.favorites_count.into()
    }

    async fn author(&self) -> Profile {
        Profile(self.0.author.clone())
    }

    /// Its newest comments, most recent first (1–100, default 10). On a page of articles
    /// they are read for every article at once.
    #[graphql(complexity = "(first.clamp(1, COMMENTS_MAX) as usize) * child_complexity")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<Comment>> {
        let first = super::bounded("first", first, COMMENTS_MAX)?;
        let loader = ctx.data_unchecked::<DataLoader<CommentsLoader>>();
        let comments = loader
            .load_one(NewestComments {
                article: self.0.row.id,
                first,
            })
            .await?
            .unwrap_or_default();
        Ok(comments.into_iter().map(Comment).collect())
    }
}

impl Article {
    /// The body and its HTML, for an article from a list (which leaves them out).
    async fn load_body(&self, ctx: &Context<'_>) -> async_graphql::Result<(String, String)> {
        let loader = ctx.data_unchecked::<DataLoader<BodyLoader>>();
        Ok(loader.load_one(self.0.row.id).await?.unwrap_or_default())
    }

    /// Where a list continues after this article (REST's `before`).
    pub fn cursor(&self) -> String {
        Cursor {
            created_at: self.0.row.created_at,
            id: self.0.row.id,
        }
        .to_string()
    }
}

/// A user as others see them.
pub struct Profile(pub ProfileRow);

#[Object]
impl Profile {
    async fn username(&self) -> &str {
        self.0.username.as_deref().unwrap_or_default()
    }

    async fn bio(&self) -> Option<&str> {
        self.0.bio.as_deref().filter(|b| !b.is_empty())
    }

    async fn image(&self) -> Option<&str> {
        self.0.image.as_deref().filter(|i| !i.is_empty())
    }

    /// Whether the caller follows them (false without a token).
    async fn following(&self) -> bool {
        self.0.following
    }
}

/// A comment on an article.
pub struct Comment(pub CommentRow);

#[Object]
impl Comment {
    /// What `deleteComment` takes.
    async fn id(&self) -> ID {
        ID(self.0.row.id.to_string())
    }

    async fn body(&self) -> &str {
        &self.0.row.body
    }

    async fn created_at(&self) -> String {
        backend_kit::time::format(&self.0.row.created_at)
    }

    async fn updated_at(&self) -> String {
        backend_kit::time::format(&self.0.row.updated_at)
    }

    async fn author(&self) -> Profile {
        Profile(self.0.author.clone())
    }
}

/// The caller's own account, with the access token to send as `Authorization: Token …`.
pub struct User(pub UserBody);

#[Object]
impl User {
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The access token (a JWT, 15 minutes).
    async fn token(&self) -> &str {
        &self.0.token
    }

    /// Exchange it at `POST /api/users/refresh` for a new pair; only when a session starts.
    async fn refresh_token(&self) -> Option<&str> {
        self.0.refresh_token.as_deref()
    }

    async fn username(&self) -> &str {
        &self.0.username
    }

    async fn bio(&self) -> &str {
        &self.0.bio
    }

    async fn image(&self) -> &str {
        &self.0.image
    }

    /// Whether the address was proved by the link mailed to it.
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }
}

/// A page of articles: `nodes` (or `edges`, with a cursor each), `pageInfo` to go on, and
/// how many match in all.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ArticleConnection {
    /// The page, most recent first.
    pub nodes: Vec<Article>,
    /// How many articles match in all (a search counts up to 1 000 and then says 1 000).
    pub articles_count: i64,
    pub page_info: PageInfo,
}

#[ComplexObject]
impl ArticleConnection {
    /// The page with a cursor per article.
    async fn edges(&self) -> Vec<ArticleEdge<'_>> {
        self.nodes.iter().map(ArticleEdge).collect()
    }
}

/// An article and where a list continues after it.
pub struct ArticleEdge<'a>(&'a Article);

#[Object]
impl ArticleEdge<'_> {
    /// Pass it as `after` to continue after this article.
    async fn cursor(&self) -> String {
        self.0.cursor()
    }

    async fn node(&self) -> &Article {
        self.0
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether a next page may exist (this one is full).
    pub has_next_page: bool,
    /// The last article's cursor: `after` for the next page.
    pub end_cursor: Option<String>,
}

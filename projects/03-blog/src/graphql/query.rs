//! The reads: `articles`, `feed`, `article`, `profile`, `tags`, `me`, `comments` — each the
//! REST endpoint's operation ([`crate::routes`]) with GraphQL's arguments.

use async_graphql::{Context, Object};

use super::errors::GraphqlResult;
use super::types::{Article, ArticleConnection, Comment, PageInfo, Profile, User};
use super::{Caller, Deps, ROOT_COST, page_request, page_size};
use crate::db::articles::popular_tags;
use crate::db::comments::Page;
use crate::error::ApiError;
use crate::routes::articles::{ListFilter, feed_of, list_articles, load_article};
use crate::routes::{comments, profiles, users};

pub struct Query;

#[Object]
impl Query {
    /// Articles, most recent first, filtered by any of `tag`, `author` (a username),
    /// `favorited` (by that username) and `q` (full-text search: every word, as a prefix).
    /// Page with `first` (1–100, default 20) and `after` (an edge's cursor), or with `limit`
    /// and `offset` as REST does.
    #[graphql(complexity = "ROOT_COST + page_size(first, limit) * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        tag: Option<String>,
        author: Option<String>,
        favorited: Option<String>,
        q: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> async_graphql::Result<ArticleConnection> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let page = page_request(first, after, limit, offset)?;
        let filter = ListFilter {
            tag,
            author,
            favorited,
            q,
        }
        .parse()
        .graphql()?;
        let (found, total) = list_articles(&deps.db, filter, page, caller.user)
            .await
            .graphql()?;
        Ok(connection(found, total, page.limit))
    }

    /// Articles by the users the caller follows, most recent first (paged as `articles`).
    #[graphql(complexity = "ROOT_COST + page_size(first, limit) * child_complexity")]
    async fn feed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> async_graphql::Result<ArticleConnection> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        let page = page_request(first, after, limit, offset)?;
        let (found, total) = list_articles(&deps.db, Some(feed_of(me)), page, Some(me))
            .await
            .graphql()?;
        Ok(connection(found, total, page.limit))
    }

    /// One article (`NOT_FOUND` if there is none at `slug`).
    #[graphql(complexity = "ROOT_COST + child_complexity")]
    async fn article(&self, ctx: &Context<'_>, slug: String) -> async_graphql::Result<Article> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let found = load_article(&deps.db, slug, caller.user).await.graphql()?;
        Ok(Article(found))
    }

    /// A user's profile (`NOT_FOUND` if there is no such user).
    #[graphql(complexity = "ROOT_COST + child_complexity")]
    async fn profile(&self, ctx: &Context<'_>, username: String) -> async_graphql::Result<Profile> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let found = profiles::get_profile(&deps.db, username, caller.user)
            .await
            .graphql()?;
        Ok(Profile(found))
    }

    /// The most used tags, most used first (at most 200).
    #[graphql(complexity = "ROOT_COST + child_complexity")]
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let deps = ctx.data::<Deps>()?;
        deps.db
            .run(|conn| popular_tags(conn, crate::routes::tags::TAGS_SHOWN).map_err(ApiError::from))
            .await
            .graphql()
    }

    /// The caller's account (`UNAUTHENTICATED` without a token).
    #[graphql(complexity = "ROOT_COST + child_complexity")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        let user = users::current_user(&deps.auth, &deps.db, me, caller.token.clone())
            .await
            .graphql()?;
        Ok(User(user.user))
    }

    /// A page of an article's comments, most recent first: `first` 1–100 (default 100),
    /// `offset` from 0 (`NOT_FOUND` if there is no article at `slug`).
    #[graphql(complexity = "ROOT_COST + (first.clamp(1, 100) as usize) * child_complexity")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        slug: String,
        #[graphql(default = 100)] first: i32,
        #[graphql(default = 0)] offset: i32,
    ) -> async_graphql::Result<Vec<Comment>> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let (limit, offset) = crate::routes::page(
            Some(&first.to_string()),
            Some(&offset.to_string()),
            Page::MAX,
        )
        .map_err(|e| super::renamed(e, "limit", "first"))
        .graphql()?;
        let found = comments::list_comments(&deps.db, slug, caller.user, Page { limit, offset })
            .await
            .graphql()?;
        Ok(found.into_iter().map(Comment).collect())
    }
}

/// A page as a connection: full pages say a next one may exist.
fn connection(
    found: Vec<crate::db::articles::Article>,
    total: i64,
    limit: i64,
) -> ArticleConnection {
    let nodes: Vec<Article> = found.into_iter().map(Article).collect();
    let has_next_page = nodes.len() as i64 == limit;
    let end_cursor = nodes.last().map(Article::cursor);
    ArticleConnection {
        nodes,
        articles_count: total,
        page_info: PageInfo {
            has_next_page,
            end_cursor,
        },
    }
}

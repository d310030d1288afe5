//! The writes: every RealWorld write, each the REST endpoint's operation ([`crate::routes`])
//! with the same checks, the same budgets (per user for writes, per client for register and
//! login) and the same errors.

use async_graphql::{Context, ID, InputObject, Object};

use super::errors::GraphqlResult;
use super::types::{Article, Comment, Profile, User};
use super::{Caller, Deps, MUTATION_COST};
use crate::error::ApiError;
use crate::routes::articles::{
    self, NewArticleBody, UpdateArticleBody, check_author, create_article, delete_article,
    update_article,
};
use crate::routes::users::{self, LoginUser, NewUser, UpdateUser};
use crate::routes::{comments, profiles};

pub struct Mutation;

#[derive(InputObject)]
pub struct RegisterInput {
    /// 1–40 of `A–Z a–z 0–9 _ -`.
    pub username: String,
    pub email: String,
    /// 8 to 72 bytes.
    pub password: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// Only the fields given change; `bio` or `image` "" clears it.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Up to 1 000 characters.
    pub bio: Option<String>,
    /// An http(s) URL of up to 2 048 characters.
    pub image: Option<String>,
}

#[derive(InputObject)]
pub struct CreateArticleInput {
    /// Up to 200 characters; the slug comes from it.
    pub title: String,
    /// Up to 500 characters.
    pub description: String,
    /// Markdown, up to 50 000 characters.
    pub body: String,
    /// Up to 10 tags of up to 40 characters; duplicates dropped, sorted.
    pub tag_list: Option<Vec<String>>,
}

/// Only the fields given change; a new title gives the article a new slug.
#[derive(InputObject)]
pub struct UpdateArticleInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub body: Option<String>,
    /// Replaces the tags.
    pub tag_list: Option<Vec<String>>,
}

#[Object]
impl Mutation {
    /// Makes an account (a verification mail is queued) and logs it in.
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<User> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        deps.spend_auth_budget(caller).await?;
        let new = NewUser {
            username: Some(input.username),
            email: Some(input.email),
            password: Some(input.password),
        };
        let user = users::register_user(&deps.auth, &deps.db, &deps.mail, new)
            .await
            .graphql()?;
        Ok(User(user.user))
    }

    /// Logs in: a session (the access token and a refresh token).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> async_graphql::Result<User> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        deps.spend_auth_budget(caller).await?;
        let login = LoginUser {
            email: Some(input.email),
            password: Some(input.password),
        };
        let user = users::log_in(&deps.auth, &deps.db, login).await.graphql()?;
        Ok(User(user.user))
    }

    /// Changes the caller's account and profile.
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserInput,
    ) -> async_graphql::Result<User> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        let update = UpdateUser {
            email: input.email,
            username: input.username,
            password: input.password,
            bio: input.bio,
            image: input.image,
        };
        let user = users::update_user(
            &deps.auth,
            &deps.db,
            &deps.mail,
            &deps.mail_limits,
            me,
            caller.token.clone(),
            update,
        )
        .await
        .graphql()?;
        Ok(User(user.user))
    }

    /// Publishes an article by the caller.
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        input: CreateArticleInput,
    ) -> async_graphql::Result<Article> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        let new = NewArticleBody {
            title: Some(input.title),
            description: Some(input.description),
            body: Some(input.body),
            tag_list: input.tag_list,
        };
        let article = create_article(&deps.db, &deps.writes, me, new)
            .await
            .graphql()?;
        Ok(Article(article))
    }

    /// Changes the caller's article (`FORBIDDEN` for someone else's).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        input: UpdateArticleInput,
    ) -> async_graphql::Result<Article> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        check_author(&deps.db, slug.clone(), me).await.graphql()?;
        let update = UpdateArticleBody {
            title: input.title,
            description: input.description,
            body: input.body,
            tag_list: input.tag_list,
        };
        let article = update_article(&deps.db, &deps.writes, slug, me, update)
            .await
            .graphql()?;
        Ok(Article(article))
    }

    /// Deletes the caller's article, with its comments and favorites; `true` when done.
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn delete_article(&self, ctx: &Context<'_>, slug: String) -> async_graphql::Result<bool> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        delete_article(&deps.db, slug, me).await.graphql()?;
        Ok(true)
    }

    /// Favorites an article (twice counts once).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn favorite_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Article> {
        favorite(ctx, slug, true).await
    }

    /// Unfavorites an article (also when it was not).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn unfavorite_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Article> {
        favorite(ctx, slug, false).await
    }

    /// Follows a user (following twice changes nothing; not yourself).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn follow_user(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<Profile> {
        follow(ctx, username, true).await
    }

    /// Unfollows a user (also when not following).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn unfollow_user(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<Profile> {
        follow(ctx, username, false).await
    }

    /// Comments on an article (1–5 000 characters).
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        slug: String,
        body: String,
    ) -> async_graphql::Result<Comment> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        let comment = comments::add_comment(&deps.db, &deps.writes, slug, me, Some(body))
            .await
            .graphql()?;
        Ok(Comment(comment))
    }

    /// Deletes the caller's comment; `true` when done.
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn delete_comment(
        &self,
        ctx: &Context<'_>,
        slug: String,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
        let me = caller.required()?;
        // An id that is not a number names no comment, as on REST.
        let id: i64 = id.parse().map_err(|_| ApiError::NotFound).graphql()?;
        comments::delete_comment(&deps.db, slug, id, me)
            .await
            .graphql()?;
        Ok(true)
    }
}

async fn favorite(ctx: &Context<'_>, slug: String, on: bool) -> async_graphql::Result<Article> {
    let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
    let me = caller.required()?;
    let article = articles::set_favorite(&deps.db, &deps.writes, slug, me, on)
        .await
        .graphql()?;
    Ok(Article(article))
}

async fn follow(ctx: &Context<'_>, username: String, on: bool) -> async_graphql::Result<Profile> {
    let (deps, caller) = (ctx.data::<Deps>()?, ctx.data::<Caller>()?);
    let me = caller.required()?;
    let profile = profiles::set_following(&deps.db, &deps.writes, username, me, on)
        .await
        .graphql()?;
    Ok(Profile(profile))
}

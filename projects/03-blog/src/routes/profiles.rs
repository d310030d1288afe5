//! `/api/profiles/{username}` and following.

use actix_web::{HttpResponse, web};
use backend_kit::auth::{AuthUser, MaybeAuthUser};
use backend_kit::db::Database;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::profiles::{self, Profile};
use crate::error::ApiError;
use crate::openapi::{BudgetErrors, Errors};
use crate::routes::WriteLimits;

/// A user as others see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileBody {
    pub username: String,
    pub bio: String,
    pub image: String,
    /// Whether the caller follows them (false without a token).
    pub following: bool,
}

impl From<Profile> for ProfileBody {
    fn from(p: Profile) -> Self {
        Self {
            username: p.username.unwrap_or_default(),
            bio: p.bio.unwrap_or_default(),
            image: p.image.unwrap_or_default(),
            following: p.following,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub profile: ProfileBody,
}

fn respond(profile: Profile) -> HttpResponse {
    HttpResponse::Ok().json(ProfileResponse {
        profile: profile.into(),
    })
}

#[utoipa::path(
    get, path = "/api/profiles/{username}", tag = "profiles",
    params(("username" = String, Path)),
    security((), ("Token" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileResponse),
        (status = 401, description = "A token was sent and is invalid", body = Errors),
        (status = 404, description = "No such user", body = Errors),
    )
)]
pub async fn get(
    db: web::Data<Database>,
    username: web::Path<String>,
    viewer: MaybeAuthUser,
) -> Result<HttpResponse, ApiError> {
    let profile = get_profile(&db, username.into_inner(), viewer.0.map(|u| u.id)).await?;
    Ok(respond(profile))
}

/// The profile of `username` as `viewer` sees it (`404` if there is no such user).
pub(crate) async fn get_profile(
    db: &Database,
    username: String,
    viewer: Option<i64>,
) -> Result<Profile, ApiError> {
    db.run(move |conn| profiles::by_username(conn, &username, viewer).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(
    post, path = "/api/profiles/{username}/follow", tag = "profiles",
    params(("username" = String, Path)),
    security(("Token" = [])),
    responses(
        (status = 200, description = "Followed (following twice changes nothing)", body = ProfileResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 404, description = "No such user", body = Errors),
        (status = 422, description = "Following yourself", body = Errors),
        BudgetErrors,
    )
)]
pub async fn follow(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    username: web::Path<String>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let profile = set_following(&db, &writes, username.into_inner(), caller.id, true).await?;
    Ok(respond(profile))
}

#[utoipa::path(
    delete, path = "/api/profiles/{username}/follow", tag = "profiles",
    params(("username" = String, Path)),
    security(("Token" = [])),
    responses(
        (status = 200, description = "Unfollowed (also when not following)", body = ProfileResponse),
        (status = 401, description = "No valid token", body = Errors),
        (status = 404, description = "No such user", body = Errors),
        BudgetErrors,
    )
)]
pub async fn unfollow(
    db: web::Data<Database>,
    writes: web::Data<WriteLimits>,
    username: web::Path<String>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let profile = set_following(&db, &writes, username.into_inner(), caller.id, false).await?;
    Ok(respond(profile))
}

/// Follows (or unfollows) `username` for `me`, within their reactions budget.
pub(crate) async fn set_following(
    db: &Database,
    writes: &WriteLimits,
    username: String,
    me: i64,
    follow: bool,
) -> Result<Profile, ApiError> {
    WriteLimits::spend(&writes.reactions, me).await?;
    db.run(move |conn| {
        let Some(mut profile) = profiles::by_username(conn, &username, Some(me))? else {
            return Err(ApiError::NotFound);
        };
        if follow {
            if profile.id == me {
                return Err(ApiError::invalid("username", "you cannot follow yourself"));
            }
            profiles::follow(conn, me, profile.id)?;
        } else {
            profiles::unfollow(conn, me, profile.id)?;
        }
        profile.following = follow;
        Ok(profile)
    })
    .await
}

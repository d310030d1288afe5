//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations (so
//! it cannot drift from the code), with RealWorld's `Token` scheme and error model. Served at
//! `/openapi.json`; Swagger UI at `/docs`.

use std::collections::BTreeMap;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{OpenApi, ToSchema};

use crate::routes::{account, articles, comments, profiles, tags, users};

/// RealWorld's error model: `{"errors": {"field": ["problem"]}}`; errors that are not about a
/// field use the key `body`.
#[derive(ToSchema)]
#[schema(example = json!({"errors": {"title": ["can't be blank"]}}))]
pub struct Errors {
    #[allow(dead_code)]
    errors: BTreeMap<String, Vec<String>>,
}

/// What any endpoint with a JSON body may answer before its handler runs.
#[derive(utoipa::IntoResponses)]
pub enum BodyErrors {
    #[response(status = 413, description = "Body over 64 KiB")]
    TooLarge(Errors),
    #[response(status = 415, description = "Body is not JSON")]
    NotJson(Errors),
}

/// What a write that spends one of the user's budgets may answer past it.
#[derive(utoipa::IntoResponses)]
pub enum BudgetErrors {
    #[response(
        status = 429,
        description = "Over the user's budget for this kind of write (`Retry-After` says when to try again)"
    )]
    TooMany(Errors),
}

/// What a write to something with an owner may answer.
#[derive(utoipa::IntoResponses)]
pub enum OwnedErrors {
    #[response(status = 401, description = "No valid token")]
    Unauthorized(Errors),
    #[response(status = 403, description = "It belongs to another user")]
    Forbidden(Errors),
    #[response(status = 404, description = "No such article or comment")]
    NotFound(Errors),
}

/// `Authorization: Token <jwt>`, the RealWorld way.
struct TokenScheme;

impl utoipa::Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "Token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <jwt>`: the `token` of a user answer",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        users::register, users::login, users::current, users::update, users::refresh,
        users::logout,
        account::verify, account::resend_verification, account::request_password_reset,
        account::confirm_password_reset, account::unsubscribe,
        profiles::get, profiles::follow, profiles::unfollow,
        articles::list, articles::feed, articles::get, articles::create, articles::update,
        articles::delete, articles::favorite, articles::unfavorite,
        comments::list, comments::create, comments::delete,
        tags::list,
    ),
    modifiers(&TokenScheme),
    tags(
        (name = "users", description = "Accounts: register, log in, the caller; e-mail verification, password reset, unsubscribe"),
        (name = "profiles", description = "Users as others see them; following"),
        (name = "articles", description = "Articles, the feed, favorites, search"),
        (name = "comments", description = "Comments on articles"),
        (name = "tags", description = "Tags, most used first"),
    )
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

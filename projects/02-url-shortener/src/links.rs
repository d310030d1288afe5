//! What each link operation does, whichever API the request came through. The HTTP handlers
//! ([`crate::routes::links`], [`crate::routes::redirect`]) and the gRPC service
//! ([`crate::grpc`]) read their own wire format into these inputs, call these functions and
//! write the answer their own way; the rules live here once — who may see or change a link,
//! the SSRF check on targets, the bcrypt of link passwords, the cache invalidated after every
//! write, the visit counted on a follow.

use backend_kit::auth::{AuthUser, Password, opaque};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::config::AnonymousEdits;
use crate::db::links::{self, CodeError, Link, LinkChanges, NewLink, NewVisit};
use crate::domain::{Breakdown, CustomCode, FieldErrors, RedirectType, TargetUrl};
use crate::error::ApiError;
use crate::link_cache::CachedLink;
use crate::routes::AppState;
use crate::visits::{Visit, classify_user_agent, referrer_host};

/// A link as sent to be made or changed (the body of `POST`/`PUT /shorten`; gRPC's
/// `ShortenRequest` and `UpdateRequest` are read into it), not yet checked.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShortenRequest {
    /// The target: an absolute http(s) URL, at most 2048 characters, not a private address.
    #[schema(value_type = String, required = true, example = "https://www.example.com/some/long/url")]
    pub url: Option<String>,
    /// Your own code instead of a random one: 3–64 of `[A-Za-z0-9_-]` (create only).
    #[schema(example = "my-link")]
    pub custom_code: Option<String>,
    /// When the link stops working (RFC 3339, in the future, at most 100 years ahead);
    /// answers `410` after. On `PUT`, `null` removes it.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<String>>,
    /// How many redirects the link gives before answering `410`. On `PUT`, `null` removes the
    /// limit.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub max_visits: Option<Option<i64>>,
    /// 301, 302 (default), 307 or 308. On `PUT`, `null` goes back to the default.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<i64>)]
    pub redirect_type: Option<Option<i64>>,
    /// Protects the link: visitors get a form and must type it (8–72 bytes; stored as bcrypt).
    /// On `PUT`, `null` removes the password.
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<String>, write_only, min_length = 8, max_length = 72)]
    pub password: Option<Option<String>>,
}

/// An option as sent: absent is `None` (with `#[serde(default)]`, leave it as it is), `null` is
/// `Some(None)` (clear it), a value is `Some(Some(value))`.
fn sent<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// How far ahead `expiresAt` may be: 100 years.
const MAX_EXPIRY_MONTHS: u32 = 1_200;

/// The options shared by create and update, parsed: `None` = not sent, `Some(None)` = `null`
/// (on `PUT`: remove it), `Some(Some(value))` = set it.
struct Options {
    expires_at: Option<Option<NaiveDateTime>>,
    max_visits: Option<Option<i64>>,
    redirect_type: Option<Option<i32>>,
    password: Option<Option<Password>>,
}

/// Parses a sent value with `parse`, recording what is wrong under `field`; `null` stays `null`.
fn parse_sent<T, U, E: ToString>(
    value: &Option<Option<T>>,
    field: &'static str,
    errors: &mut FieldErrors,
    parse: impl FnOnce(&T) -> Result<U, E>,
) -> Option<Option<U>> {
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => errors.check(field, parse(raw)).map(Some),
    }
}

fn parse_options(body: &ShortenRequest, errors: &mut FieldErrors) -> Options {
    let expires_at = parse_sent(&body.expires_at, "expiresAt", errors, |raw| {
        let parsed = DateTime::parse_from_rfc3339(raw)
            .map_err(|_| "must be an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z")?;
        // At the precision the API shows (microseconds), and without a leap second (`:60`,
        // which SQLite would keep and PostgreSQL would not): then compared, then stored.
        let t = DateTime::from_timestamp_micros(parsed.timestamp_micros())
            .ok_or("must be at most 100 years ahead")?
            .naive_utc();
        let now = Utc::now().naive_utc();
        let bound = now.checked_add_months(chrono::Months::new(MAX_EXPIRY_MONTHS));
        if t <= now {
            Err("must be in the future")
        } else if bound.is_none_or(|bound| t > bound) {
            // Year 10000 is not RFC 3339, and SQLite compares these as text.
            Err("must be at most 100 years ahead")
        } else {
            Ok(t)
        }
    });
    let max_visits = parse_sent(&body.max_visits, "maxVisits", errors, |&n| {
        if n >= 1 {
            Ok(n)
        } else {
            Err("must be at least 1")
        }
    });
    let redirect_type = parse_sent(&body.redirect_type, "redirectType", errors, |&n| {
        RedirectType::parse(n).map(|r| i32::from(r.status()))
    });
    let password = parse_sent(&body.password, "password", errors, |raw| {
        Password::parse(raw.clone())
    });
    Options {
        expires_at,
        max_visits,
        redirect_type,
        password,
    }
}

/// bcrypt of a link password, on a blocking thread.
async fn hash(state: &AppState, password: Option<Password>) -> Result<Option<String>, ApiError> {
    match password {
        None => Ok(None),
        Some(password) => Ok(Some(state.hasher.hash(password).await?)),
    }
}

fn parse_url(state: &AppState, raw: Option<&str>, errors: &mut FieldErrors) -> Option<TargetUrl> {
    match raw {
        None => errors.check("url", Err::<TargetUrl, _>("is required")),
        Some(raw) => errors.check("url", TargetUrl::parse(raw, &state.policy)),
    }
}

/// Whether the caller may change or delete `link`: an owned link only its owner; an
/// anonymous one anyone (`ANONYMOUS_EDITS=open`, the spec's behaviour) or whoever shows its
/// manage token (`token`: `401` without it, `403` with a wrong one).
fn check_change(
    link: &Link,
    user: Option<AuthUser>,
    presented: Option<&str>,
    mode: AnonymousEdits,
) -> Result<(), ApiError> {
    match (link.user_id, mode) {
        (Some(_), _) | (None, AnonymousEdits::Open) => check_owner(link.user_id, user),
        (None, AnonymousEdits::Token) => {
            let presented = presented.ok_or(ApiError::Unauthorized)?;
            match &link.manage_token_hash {
                Some(hash) if *hash == opaque::hash_token(presented) => Ok(()),
                _ => Err(ApiError::Forbidden),
            }
        }
    }
}

/// Something with an owner (a link, an import job) is for that owner only: no token is `401`,
/// another user's token `403`. Anonymous ones stay open to anyone, as the spec has it.
pub fn check_owner(owner: Option<i64>, user: Option<AuthUser>) -> Result<(), ApiError> {
    match (owner, user) {
        (None, _) => Ok(()),
        (Some(owner), Some(caller)) if owner == caller.id => Ok(()),
        (Some(_), Some(_)) => Err(ApiError::Forbidden),
        (Some(_), None) => Err(ApiError::Unauthorized),
    }
}

/// Whether `caller` may see everything about `link` (its target even when it has a
/// password): its owner may; for anyone else a protected link hides its target.
pub fn shows_target(link: &Link, caller: Option<AuthUser>) -> bool {
    match (link.user_id, caller) {
        (Some(owner), Some(caller)) if owner == caller.id => true,
        _ => link.password_hash.is_none(),
    }
}

/// A link just made, and (for an anonymous one) the manage token shown this once.
pub struct Created {
    pub link: Link,
    pub manage_token: Option<String>,
}

/// Makes a link. With a user, it is theirs; without, it gets a manage token.
pub async fn create(
    state: &AppState,
    user: Option<AuthUser>,
    body: &ShortenRequest,
) -> Result<Created, ApiError> {
    let mut errors = FieldErrors::default();
    let url = parse_url(state, body.url.as_deref(), &mut errors);
    let custom = body
        .custom_code
        .as_deref()
        .map(|raw| errors.check("customCode", CustomCode::parse(raw)));
    let options = parse_options(body, &mut errors);
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let custom = custom.flatten();
    // On create, `null` is the same as not sending the option.
    let password_hash = hash(state, options.password.flatten()).await?;

    // An anonymous link gets a manage token: shown once, stored as its hash.
    let manage_token = user.is_none().then(opaque::new_token);
    let new = NewLink {
        url: url.as_str().to_string(),
        user_id: user.map(|u| u.id),
        redirect_type: options.redirect_type.flatten(),
        expires_at: options.expires_at.flatten(),
        max_visits: options.max_visits.flatten(),
        password_hash,
        manage_token_hash: manage_token.as_deref().map(opaque::hash_token),
    };
    let code_length = state.code_length;
    let link = state
        .db
        .run(move |conn| {
            links::insert_with_code(conn, &new, custom.as_ref(), code_length, false).map_err(|e| {
                match e {
                    CodeError::Taken => ApiError::Conflict {
                        field: "customCode",
                        message: e.to_string(),
                    },
                    CodeError::Exhausted => ApiError::internal(e),
                    CodeError::Db(e) => ApiError::from_caller_insert(e),
                }
            })
        })
        .await?;
    // A negative entry may be cached for this code from an earlier miss.
    state.links.invalidate(&link.code).await;
    Ok(Created { link, manage_token })
}

/// The link behind a code, if the caller may see it (a link made with a token is its
/// owner's alone).
pub async fn get(state: &AppState, user: Option<AuthUser>, code: String) -> Result<Link, ApiError> {
    state
        .db
        .run(move |conn| {
            let link = links::find(conn, &code)?.ok_or(ApiError::NotFound)?;
            check_owner(link.user_id, user)?;
            Ok::<_, ApiError>(link)
        })
        .await
}

/// A change to a link, checked: a new target (if any) and the options sent.
pub struct Change {
    url: Option<TargetUrl>,
    options: Options,
}

impl Change {
    /// Reads a change from `body`; the target is needed when `url_required` (HTTP's `PUT`
    /// replaces the link; gRPC changes only the fields it names).
    pub fn parse(
        state: &AppState,
        body: &ShortenRequest,
        url_required: bool,
    ) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let url = match &body.url {
            None if !url_required => None,
            raw => parse_url(state, raw.as_deref(), &mut errors),
        };
        if body.custom_code.is_some() {
            errors.add("customCode", "cannot be changed; create a new link instead");
        }
        let options = parse_options(body, &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(Self { url, options })
    }
}

/// Applies `change` to the link behind `code`, if the caller may change it (`presented`: an
/// anonymous link's manage token, if sent).
pub async fn update(
    state: &AppState,
    user: Option<AuthUser>,
    presented: Option<String>,
    code: String,
    change: Change,
) -> Result<Link, ApiError> {
    // Ownership first: hashing a new password costs ~250 ms of CPU, which nobody may spend
    // on someone else's link.
    let owned = code.clone();
    let mode = state.anonymous_edits;
    let id = state
        .db
        .run(move |conn| {
            let link = links::find(conn, &owned)?.ok_or(ApiError::NotFound)?;
            check_change(&link, user, presented.as_deref(), mode)?;
            Ok::<_, ApiError>(link.id)
        })
        .await?;
    let Change { url, options } = change;
    let password_hash = match options.password {
        Some(password) => Some(hash(state, password).await?),
        None => None,
    };
    let changes = LinkChanges {
        url: url.map(TargetUrl::into_inner),
        redirect_type: options.redirect_type,
        expires_at: options.expires_at,
        max_visits: options.max_visits,
        password_hash,
        updated_at: None,
        expired_at: None,
    };
    // By id, the link that was checked: if its code was deleted and made again while the
    // password was hashed, the new link is not touched (404).
    let link = state
        .db
        .run(move |conn| links::update(conn, id, changes)?.ok_or(ApiError::NotFound))
        .await?;
    state.links.invalidate(&code).await;
    Ok(link)
}

/// Deletes the link behind `code`, if the caller may; it stops redirecting at once.
pub async fn delete(
    state: &AppState,
    user: Option<AuthUser>,
    presented: Option<String>,
    code: String,
) -> Result<(), ApiError> {
    let owned = code.clone();
    let mode = state.anonymous_edits;
    let deleted = state
        .db
        .run(move |conn| {
            let link = links::find(conn, &owned)?.ok_or(ApiError::NotFound)?;
            check_change(&link, user, presented.as_deref(), mode)?;
            // By id: the link just checked, not whatever holds the code by now.
            Ok::<_, ApiError>(links::delete(conn, link.id)?)
        })
        .await?;
    state.links.invalidate(&code).await;
    if deleted == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// The link and, when `by` asks for one, its visits broken down (key, visits).
pub async fn stats(
    state: &AppState,
    user: Option<AuthUser>,
    code: String,
    by: Option<Breakdown>,
) -> Result<(Link, Option<Vec<(String, i64)>>), ApiError> {
    state
        .db
        .run(move |conn| {
            let link = links::find(conn, &code)?.ok_or(ApiError::NotFound)?;
            check_owner(link.user_id, user)?;
            let breakdown = by
                .map(|by| links::visits_by(conn, link.id, by))
                .transpose()?;
            Ok::<_, ApiError>((link, breakdown))
        })
        .await
}

/// Who follows a link, as far as counting the visit goes.
pub struct Visitor<'a> {
    /// Their `User-Agent`: bots are recorded but never counted.
    pub user_agent: &'a str,
    /// The page they came from (`Referer`).
    pub referrer: Option<&'a str>,
    /// Whether this is a visit at all: a `HEAD` (a link checker, a preview) or a gRPC
    /// `Resolve` without `count_visit` is not recorded — but a used-up link fails for it too.
    pub record: bool,
}

/// Where following a link leads.
pub enum Followed {
    /// Redirect there with this status (301, 302, 307, 308).
    To { status: u16, url: String },
    /// The link has a password: the visitor must give it first ([`unlock`]).
    NeedsPassword,
}

/// Follows the link behind `code` (the hot path: from the cache, without the database on a
/// hit), counting the visit. `404` for no such link, `410` once it expired or is used up.
pub async fn follow(
    state: &AppState,
    code: &str,
    visitor: &Visitor<'_>,
) -> Result<Followed, ApiError> {
    if code.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let CachedLink::Found {
        id,
        url,
        status,
        expires_at,
        limited,
        protected,
    } = state.links.get(&state.db, code).await?
    else {
        return Err(ApiError::NotFound);
    };
    if expires_at.is_some_and(|t| t <= Utc::now().naive_utc()) {
        return Err(ApiError::Gone);
    }
    if protected {
        // A used-up link is gone before anyone types a password for it.
        let used_up = limited
            && !state
                .db
                .run(move |conn| links::has_visits_left(conn, id).map_err(ApiError::from))
                .await?;
        if used_up {
            return Err(ApiError::Gone);
        }
        return Ok(Followed::NeedsPassword);
    }
    count_visit(state, visitor, id, limited).await?;
    Ok(Followed::To { status, url })
}

/// Follows the link behind `code` with its password (a link without one is followed as
/// [`follow`] does): the target and status when the password is right, `None` when it is
/// wrong. Callers bound the guesses per client.
pub async fn unlock(
    state: &AppState,
    code: &str,
    password: String,
    visitor: &Visitor<'_>,
) -> Result<Option<(u16, String)>, ApiError> {
    let owned = code.to_string();
    // Read the hash from the database: it is never put in the cache.
    let link = state
        .db
        .run(move |conn| links::find(conn, &owned).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)?;
    if link.expires_at.is_some_and(|t| t <= Utc::now().naive_utc()) {
        return Err(ApiError::Gone);
    }
    let status = link.redirect_type.map_or(302, |s| s as u16);
    if let Some(hash) = link.password_hash.clone() {
        let matches = password.len() <= backend_kit::auth::password::MAX_BYTES
            && state.hasher.verify(password, Some(hash)).await?;
        if !matches {
            return Ok(None);
        }
    }
    // Not (or no longer) protected, or the right password: a visit, counted and limited.
    count_visit(state, visitor, link.id, link.max_visits.is_some()).await?;
    Ok(Some((status, link.url)))
}

/// Counts a visit: at once and atomically for links with a visit limit (`410` when used up),
/// through the batch writer otherwise. Bots are recorded but never counted; what is not a
/// visit (`HEAD`) is not recorded — but a used-up link is `410` for them too.
async fn count_visit(
    state: &AppState,
    visitor: &Visitor<'_>,
    id: i64,
    limited: bool,
) -> Result<(), ApiError> {
    let (browser, is_bot) = classify_user_agent(visitor.user_agent);
    let counted = !is_bot && visitor.record;
    if limited {
        let allowed = state
            .db
            .run(move |conn| {
                if counted {
                    links::take_limited_visit(conn, id)
                } else {
                    links::has_visits_left(conn, id)
                }
                .map_err(ApiError::from)
            })
            .await?;
        if !allowed {
            return Err(ApiError::Gone);
        }
    }
    if !visitor.record {
        return Ok(());
    }
    state.visits.record(Visit {
        row: NewVisit {
            link_id: id,
            visited_at: backend_kit::time::now(),
            referrer_host: visitor.referrer.and_then(referrer_host),
            browser: browser.to_string(),
            is_bot,
            hits: 1,
        },
        counted: limited && counted,
    });
    Ok(())
}

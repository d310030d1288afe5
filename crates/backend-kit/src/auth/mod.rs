//! Authentication shared by every capstone: accounts, passwords and tokens.
//!
//! - [`password`]: bcrypt with a configurable cost, run off the executor; the 72-byte limit of
//!   bcrypt is enforced (a 400), never silently truncated; unknown e-mails verify against a
//!   dummy hash so a login takes as long for them as for real accounts.
//! - [`email`]: an e-mail address parsed once, stored lower-cased.
//! - [`tokens`]: short-lived JWT access tokens (HS256 only).
//! - [`opaque`]: random secrets stored only as their SHA-256 (refresh tokens, manage tokens,
//!   e-mail links).
//! - [`account_tokens`]: single-use links sent by e-mail (address verification, password
//!   reset), stored hashed, used up atomically.
//! - [`refresh`]: long-lived refresh tokens, stored hashed, rotated on every use, with reuse
//!   detection.
//! - [`scheme`]: how the token travels in the `Authorization` header (`Bearer` or `Token`).
//!
//! [`Auth`] ties them together. All of the above is plain Rust and diesel, no web framework:
//! a CLI or a WebSocket server uses it as well as an HTTP handler. On top, with the `http`
//! feature, [`http`] has the actix-web side: the `AuthUser` and `MaybeAuthUser` extractors and
//! the `/register`, `/login`, `/refresh`, `/logout` routes (re-exported here as [`routes`]).
//! Projects keep one `Auth` in `web::Data` and call it from handlers.

pub mod account_tokens;
pub mod email;
#[cfg(feature = "http")]
pub mod http;
pub mod name;
pub mod opaque;
pub mod password;
pub mod refresh;
pub mod schema;
pub mod scheme;
pub mod tokens;

#[cfg(feature = "rate-limit")]
pub use http::routes;
#[cfg(feature = "http")]
pub use http::{AuthUser, MaybeAuthUser};

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::config::Settings;
use crate::db::{AnyConnection, Database, DbError, MigrationSet};
use crate::validation::FieldErrors;
pub use account_tokens::Purpose;
pub use email::EmailAddress;
pub use name::Name;
pub use password::{Password, PasswordHasher};
use schema::{profile_users, users};
pub use scheme::AuthScheme;
pub use tokens::TokenKeys;

/// Accounts and sessions (`users`, `refresh_tokens`): every capstone runs them, before its own.
pub fn migrations() -> MigrationSet {
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
    MigrationSet {
        postgres: POSTGRES,
        sqlite: SQLITE,
    }
}

/// What accounts need once users see each other and get mail: `users.username` (a public
/// handle, unique regardless of case), `users.email_verified_at` and the `account_tokens` of
/// [`account_tokens`]. Run after [`migrations`] by the capstones that call
/// [`Auth::update_account_with`], [`Auth::verify_email`], [`Auth::reset_password`] or set a
/// handle (the blog); the others' databases do not have these columns.
pub fn profile_migrations() -> MigrationSet {
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/profiles/postgres");
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/profiles/sqlite");
    MigrationSet {
        postgres: POSTGRES,
        sqlite: SQLITE,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Validation failed")]
    Validation(FieldErrors),
    #[error("Email is already registered")]
    EmailTaken,
    #[error("has already been taken")]
    UsernameTaken,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("missing, invalid or expired token")]
    InvalidToken,
    #[error("password must be at most 72 bytes")]
    PasswordTooLong,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AuthError {
    /// A single-field validation error.
    pub fn invalid(field: &'static str, problem: impl Into<String>) -> Self {
        AuthError::Validation(FieldErrors::single(field, problem))
    }
}

impl From<DieselError> for AuthError {
    fn from(e: DieselError) -> Self {
        AuthError::Db(DbError::Query(e))
    }
}

/// An account as the rest of the code sees it: the password hash is never loaded with it.
/// Only the columns of [`migrations`]; a capstone that runs [`profile_migrations`] reads the
/// handle and the verification time with its own queries.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// The columns of [`User`], for `RETURNING` (diesel's `as_returning` does not work through
/// the two-backend connection).
const USER_COLUMNS: (
    users::id,
    users::email,
    users::name,
    users::created_at,
    users::updated_at,
) = (
    users::id,
    users::email,
    users::name,
    users::created_at,
    users::updated_at,
);

/// [`USER_COLUMNS`] of the same table seen with the profiles set's columns ([`profile_users`]).
const PROFILE_USER_COLUMNS: (
    profile_users::id,
    profile_users::email,
    profile_users::name,
    profile_users::created_at,
    profile_users::updated_at,
) = (
    profile_users::id,
    profile_users::email,
    profile_users::name,
    profile_users::created_at,
    profile_users::updated_at,
);

/// The account and whether its address was proved by a mailed link (see [`account_tokens`]),
/// in one statement. Needs [`profile_migrations`].
pub fn find_user_verified(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<(User, bool)>> {
    profile_users::table
        .find(id)
        .select((
            PROFILE_USER_COLUMNS,
            profile_users::email_verified_at.is_not_null(),
        ))
        .first(conn)
        .optional()
}

/// Which unique index refused a write to `users`: the handle's or the e-mail's.
fn taken_or_db_error(e: DieselError) -> AuthError {
    if crate::db::violates_unique(&e, "users", "username") {
        AuthError::UsernameTaken
    } else if crate::db::violates_unique(&e, "users", "email") {
        AuthError::EmailTaken
    } else {
        e.into()
    }
}

/// What [`Auth::update_account_with`] changes; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct AccountChanges {
    pub email: Option<EmailAddress>,
    pub username: Option<String>,
    pub password: Option<Password>,
}

/// What [`Auth::update_account_with`]'s `also` learns about the change it joins.
#[derive(Debug)]
pub struct AccountUpdated<'a> {
    pub user: &'a User,
    /// The address is a new one (and so unverified).
    pub email_changed: bool,
    /// The password is a new one.
    pub password_changed: bool,
    /// The address the account had before this change.
    pub previous_email: &'a str,
}

/// The account using `email` (already normalised), in a project's own transaction.
pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Inserts an account whose password is already hashed; a taken e-mail is
/// [`AuthError::EmailTaken`], decided by the UNIQUE index, so two registrations racing for one
/// address cannot both win.
pub fn insert_user(
    conn: &mut AnyConnection,
    name: &str,
    email: &EmailAddress,
    password_hash: &str,
) -> Result<User, AuthError> {
    let now = crate::time::now();
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email.as_ref()),
            users::name.eq(name),
            users::name_key.eq(name::name_key(name)),
            users::password_hash.eq(password_hash),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(USER_COLUMNS)
        .get_result::<User>(conn)
        .map_err(taken_or_db_error)
}

/// Gives the account a public handle, which is also its display name; a handle taken by
/// another account (in any case) is [`AuthError::UsernameTaken`], decided by the unique index.
/// Needs [`profile_migrations`]. Run it in the transaction that inserted the account, so an
/// account never exists without the handle it was registered with.
pub fn set_username(conn: &mut AnyConnection, id: i64, username: &str) -> Result<(), AuthError> {
    diesel::update(profile_users::table.find(id))
        .set((
            profile_users::username.eq(username),
            profile_users::name.eq(username),
            profile_users::name_key.eq(name::name_key(username)),
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(taken_or_db_error)
}

/// An access token and a refresh token, as handed to a client after login.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

/// Everything a handler needs for accounts and tokens. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    db: Database,
    hasher: PasswordHasher,
    tokens: Arc<TokenKeys>,
    refresh_ttl: Duration,
    refresh_grace: Duration,
    scheme: AuthScheme,
    known: Arc<KnownUsers>,
}

/// Accounts this process found in the database lately, so that an authenticated request does
/// not pay a lookup each time: a page of the blog stays two statements. The price: an account
/// deleted while its token is in use keeps working here for up to [`KnownUsers::FOR`].
#[derive(Default)]
struct KnownUsers(std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>);

impl KnownUsers {
    const FOR: Duration = Duration::from_secs(60);
    /// Past this many entries the stale ones go (all of them, if none is stale).
    const MAX: usize = 100_000;

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, std::time::Instant>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn contains(&self, id: i64) -> bool {
        self.lock()
            .get(&id)
            .is_some_and(|seen| seen.elapsed() < Self::FOR)
    }

    fn remember(&self, id: i64) {
        let mut known = self.lock();
        if known.len() >= Self::MAX {
            known.retain(|_, seen| seen.elapsed() < Self::FOR);
            // Mostly live entries: start again rather than scan the map on every insert.
            if known.len() >= Self::MAX * 9 / 10 {
                known.clear();
            }
        }
        known.insert(id, std::time::Instant::now());
    }
}

impl Auth {
    pub fn new(db: Database, settings: &Settings, scheme: AuthScheme) -> Self {
        Self {
            db,
            hasher: PasswordHasher::new(settings.bcrypt_cost),
            tokens: Arc::new(TokenKeys::new(
                settings.jwt_secret.expose().as_bytes(),
                settings.access_token_ttl,
            )),
            refresh_ttl: settings.refresh_token_ttl,
            refresh_grace: settings.refresh_reuse_grace,
            scheme,
            known: Arc::default(),
        }
    }

    pub fn scheme(&self) -> AuthScheme {
        self.scheme
    }

    /// bcrypt at the configured cost, off the async executor.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Creates the account and logs it in: hash the password (off the executor), insert the
    /// user ([`insert_user`]), start a session. A taken e-mail is [`AuthError::EmailTaken`],
    /// also when two registrations race (the UNIQUE index decides).
    pub async fn register(
        &self,
        name: String,
        email: EmailAddress,
        password: Password,
    ) -> Result<(User, TokenPair), AuthError> {
        let hash = self.hasher.hash(password).await?;
        let user = self
            .db
            .run(move |conn| insert_user(conn, &name, &email, &hash))
            .await?;
        let pair = self.start_session(user.id).await?;
        Ok((user, pair))
    }

    /// Changes what is given of e-mail, handle and password, with the project's own part of
    /// the change (the blog's bio and image, a verification mail to a new address) written by
    /// `also` in the same transaction: both happen, or neither.
    ///
    /// A new password is hashed off the executor and ends every session of the account — a
    /// password is changed because it may be known to someone else, whose refresh tokens must
    /// stop working too — then starts a new one for the caller, returned with the user.
    /// (Access tokens already issued stay valid until they expire: they are not stored.)
    ///
    /// A changed e-mail address is unverified again, and links mailed to the old one stop
    /// working; so do reset links after a new password. Needs [`profile_migrations`].
    pub async fn update_account_with<T: Send + 'static>(
        &self,
        id: i64,
        changes: AccountChanges,
        also: impl FnOnce(&mut AnyConnection, &AccountUpdated<'_>) -> Result<T, AuthError>
        + Send
        + 'static,
    ) -> Result<(User, Option<TokenPair>, T), AuthError> {
        let hash = match changes.password {
            Some(password) => Some(self.hasher.hash(password).await?),
            None => None,
        };
        let password_changed = hash.is_some();
        let (user, extra) = self
            .db
            .run(move |conn| {
                crate::db::write_transaction(conn, |conn| {
                    let now = crate::time::now();
                    let old_email = users::table
                        .find(id)
                        .select(users::email)
                        .first::<String>(conn)
                        .optional()?;
                    let email_changed = matches!(
                        (&old_email, &changes.email),
                        (Some(old), Some(new)) if old != new.as_ref()
                    );
                    let user = diesel::update(profile_users::table.find(id))
                        .set((
                            changes
                                .email
                                .as_ref()
                                .map(|e| profile_users::email.eq(e.as_ref())),
                            changes.username.as_ref().map(|u| {
                                (
                                    profile_users::username.eq(Some(u.as_str())),
                                    profile_users::name.eq(u.as_str()),
                                    profile_users::name_key.eq(name::name_key(u)),
                                )
                            }),
                            hash.as_ref().map(|h| profile_users::password_hash.eq(h)),
                            email_changed.then_some(
                                profile_users::email_verified_at.eq(None::<chrono::NaiveDateTime>),
                            ),
                            profile_users::updated_at.eq(now),
                        ))
                        .returning(PROFILE_USER_COLUMNS)
                        .get_result::<User>(conn)
                        .map_err(|e| match e {
                            DieselError::NotFound => AuthError::InvalidToken,
                            other => taken_or_db_error(other),
                        })?;
                    if hash.is_some() {
                        refresh::revoke_all_of_user(conn, id)?;
                    }
                    // Links mailed before stop working: a reset link must not outlive the
                    // password it was for, nor any link the address it was sent to.
                    if hash.is_some() || email_changed {
                        account_tokens::spend_all(conn, id, Purpose::ResetPassword)?;
                    }
                    if email_changed {
                        account_tokens::spend_all(conn, id, Purpose::VerifyEmail)?;
                    }
                    let extra = also(
                        conn,
                        &AccountUpdated {
                            user: &user,
                            email_changed,
                            password_changed: hash.is_some(),
                            previous_email: old_email.as_deref().unwrap_or(&user.email),
                        },
                    )?;
                    Ok::<_, AuthError>((user, extra))
                })
            })
            .await?;
        let session = match password_changed {
            true => Some(self.start_session(id).await?),
            false => None,
        };
        Ok((user, session, extra))
    }

    /// Follows a verification link: marks the address verified and spends the user's other
    /// verification links. [`AuthError::InvalidToken`] if the token is unknown, used or
    /// expired. Needs [`profile_migrations`].
    pub async fn verify_email(&self, presented: &str) -> Result<User, AuthError> {
        let presented = presented.to_string();
        self.db
            .run(move |conn| {
                crate::db::write_transaction(conn, |conn| {
                    let id = account_tokens::consume(conn, &presented, Purpose::VerifyEmail)?
                        .ok_or(AuthError::InvalidToken)?;
                    account_tokens::spend_all(conn, id, Purpose::VerifyEmail)?;
                    let user = diesel::update(profile_users::table.find(id))
                        .set(profile_users::email_verified_at.eq(crate::time::now()))
                        .returning(PROFILE_USER_COLUMNS)
                        .get_result::<User>(conn)?;
                    Ok(user)
                })
            })
            .await
    }

    /// Sets a new password with a reset token from a mail. Like a password change it ends
    /// every session and starts a new one; it also spends the user's other reset links and,
    /// since the mail reached its owner, marks the address verified.
    /// [`AuthError::InvalidToken`] if the token is unknown, used or expired. Needs
    /// [`profile_migrations`].
    pub async fn reset_password(
        &self,
        presented: &str,
        password: Password,
    ) -> Result<(User, TokenPair), AuthError> {
        // Hashed before the token is looked at, so a bad token and a good one cost the same.
        let hash = self.hasher.hash(password).await?;
        let presented = presented.to_string();
        let user = self
            .db
            .run(move |conn| {
                crate::db::write_transaction(conn, |conn| {
                    // A reset link; or a recovery link from a change notice, which also puts
                    // back the address it was mailed to.
                    let (id, restore) =
                        match account_tokens::consume(conn, &presented, Purpose::ResetPassword)? {
                            Some(id) => (id, None),
                            None => account_tokens::consume_recovery(conn, &presented)?
                                .map(|(id, address)| (id, Some(address)))
                                .ok_or(AuthError::InvalidToken)?,
                        };
                    account_tokens::spend_all(conn, id, Purpose::ResetPassword)?;
                    if restore.is_some() {
                        account_tokens::spend_all(conn, id, Purpose::VerifyEmail)?;
                    }
                    refresh::revoke_all_of_user(conn, id)?;
                    let now = crate::time::now();
                    let verified_at = profile_users::table
                        .find(id)
                        .select(profile_users::email_verified_at)
                        .first::<Option<chrono::NaiveDateTime>>(conn)?;
                    // The mail reached its owner: the address is proved (a restored one too).
                    let verified_at = match restore {
                        Some(_) => Some(now),
                        None => verified_at.or(Some(now)),
                    };
                    let user = diesel::update(profile_users::table.find(id))
                        .set((
                            profile_users::password_hash.eq(&hash),
                            restore
                                .as_ref()
                                .map(|address| profile_users::email.eq(address)),
                            profile_users::email_verified_at.eq(verified_at),
                            profile_users::updated_at.eq(now),
                        ))
                        .returning(PROFILE_USER_COLUMNS)
                        .get_result::<User>(conn)
                        .map_err(taken_or_db_error)?;
                    Ok::<_, AuthError>(user)
                })
            })
            .await?;
        let pair = self.start_session(user.id).await?;
        Ok((user, pair))
    }

    /// The account using `email` (normalised as at registration), if any.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<User>, AuthError> {
        let email = EmailAddress::normalize(email);
        self.db
            .run(move |conn| find_by_email(conn, &email).map_err(AuthError::from))
            .await
    }

    /// Checks the password and starts a session: [`Auth::check_password`], then
    /// [`Auth::start_session`].
    pub async fn login(&self, email: &str, password: &str) -> Result<(User, TokenPair), AuthError> {
        let user = self.check_password(email, password).await?;
        let pair = self.start_session(user.id).await?;
        Ok((user, pair))
    }

    /// The account whose e-mail and password these are. Unknown e-mails and wrong passwords
    /// give the same error after the same amount of bcrypt work, so neither the answer nor its
    /// timing tells which e-mails exist.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<User, AuthError> {
        if password.len() > password::MAX_BYTES {
            return Err(AuthError::PasswordTooLong);
        }
        let email = EmailAddress::normalize(email);
        let found = self
            .db
            .run(move |conn| {
                users::table
                    .filter(users::email.eq(&email))
                    .select((User::as_select(), users::password_hash))
                    .first::<(User, String)>(conn)
                    .optional()
                    .map_err(AuthError::from)
            })
            .await?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        // bcrypt is slow on purpose: on a blocking thread, never on the async executor.
        let matches = self.hasher.verify(password.to_string(), hash).await?;
        match user {
            Some(user) if matches => Ok(user),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Exchanges a refresh token for a new pair (rotation, reuse detection: see [`refresh`]).
    pub async fn refresh(&self, presented: &str) -> Result<(User, TokenPair), AuthError> {
        let presented = presented.to_string();
        let (ttl, grace) = (self.refresh_ttl, self.refresh_grace);
        let (user_id, refresh_token) = self
            .db
            .run(move |conn| refresh::rotate(conn, &presented, ttl, grace))
            .await?;
        let user = self
            .find_user(user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let access_token = self.tokens.issue(user_id)?;
        Ok((
            user,
            TokenPair {
                access_token,
                refresh_token,
            },
        ))
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are ignored, so logging
    /// out twice is harmless.
    pub async fn logout(&self, presented: &str) -> Result<(), AuthError> {
        let presented = presented.to_string();
        self.db
            .run(move |conn| refresh::revoke_family_of(conn, &presented))
            .await
    }

    pub async fn find_user(&self, id: i64) -> Result<Option<User>, AuthError> {
        self.db
            .run(move |conn| {
                users::table
                    .find(id)
                    .select(User::as_select())
                    .first(conn)
                    .optional()
                    .map_err(AuthError::from)
            })
            .await
    }

    /// Whether the account `id` exists (a token may outlive it); an account found is taken on
    /// trust for a minute (see `KnownUsers`).
    pub async fn user_exists(&self, id: i64) -> Result<bool, AuthError> {
        if self.known.contains(id) {
            return Ok(true);
        }
        let exists = self
            .db
            .run(move |conn| {
                diesel::select(diesel::dsl::exists(users::table.find(id).select(users::id)))
                    .get_result(conn)
                    .map_err(AuthError::from)
            })
            .await?;
        if exists {
            self.known.remember(id);
        }
        Ok(exists)
    }

    /// Validates an access token; the user id it was issued to.
    pub fn verify_access_token(&self, token: &str) -> Result<i64, AuthError> {
        self.tokens.verify(token)
    }

    /// Logs `user_id` in: a new session (a refresh-token family, stored hashed) and a signed
    /// access token (JWT) for it.
    pub async fn start_session(&self, user_id: i64) -> Result<TokenPair, AuthError> {
        let ttl = self.refresh_ttl;
        let refresh_token = self
            .db
            .run(move |conn| refresh::start_family(conn, user_id, ttl))
            .await?;
        Ok(TokenPair {
            access_token: self.tokens.issue(user_id)?,
            refresh_token,
        })
    }
}

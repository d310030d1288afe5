//! Single-use secrets sent by e-mail: "prove you own this address" and "set a new password".
//!
//! A token is 256 random bits ([`opaque`](super::opaque)); the table keeps its SHA-256, the
//! purpose, the address it was mailed to, an expiry and when it was used. [`consume`] is one conditional `UPDATE … SET
//! used_at`: of two clicks at once exactly one changes the row, so a link works once.
//!
//! The raw token exists only in the mail. Functions here take a connection so a project can
//! issue a token and queue the mail that carries it in one transaction (both, or neither).
//! The table comes with [`profile_migrations`](super::profile_migrations).

use std::time::Duration;

use diesel::prelude::*;

use super::opaque::{hash_token, new_token};
use super::schema::{account_tokens as at, users};
use crate::db::AnyConnection;

/// What a token may be used for; a verification link cannot reset a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `GET …/verify?token=`: valid 24 hours.
    VerifyEmail,
    /// `POST …/password-reset/confirm`: valid 1 hour (it is as good as the password).
    ResetPassword,
    /// The same confirm, from the notice mailed to the address an account had when its
    /// address or password changed: valid 7 days, and it also puts that address back — the
    /// owner's way back from a stolen session. Later changes do not spend it.
    RecoverAccount,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::RecoverAccount => "recover_account",
        }
    }

    pub fn ttl(self) -> Duration {
        match self {
            Purpose::VerifyEmail => Duration::from_secs(24 * 3600),
            Purpose::ResetPassword => Duration::from_secs(3600),
            Purpose::RecoverAccount => Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Stores a new token for `user_id`, to be mailed to `email` (the account's address now), and
/// returns it, to be put in that mail and nowhere else.
pub fn issue(
    conn: &mut AnyConnection,
    user_id: i64,
    email: &str,
    purpose: Purpose,
) -> QueryResult<String> {
    let token = new_token();
    let now = crate::time::now();
    let ttl = chrono::Duration::from_std(purpose.ttl()).unwrap_or(chrono::Duration::hours(1));
    diesel::insert_into(at::table)
        .values((
            at::user_id.eq(user_id),
            at::purpose.eq(purpose.as_str()),
            at::email.eq(email),
            at::token_hash.eq(hash_token(&token)),
            at::created_at.eq(now),
            at::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Uses `presented` up: the user it was issued to, or `None` if it is unknown, for another
/// purpose, expired, used already, or mailed to an address the account no longer has. Call
/// it in a transaction that fails on `None`, so that a refused token is not spent.
pub fn consume(
    conn: &mut AnyConnection,
    presented: &str,
    purpose: Purpose,
) -> QueryResult<Option<i64>> {
    let now = crate::time::now();
    let Some((user_id, mailed_to)) = diesel::update(
        at::table
            .filter(at::token_hash.eq(hash_token(presented)))
            .filter(at::purpose.eq(purpose.as_str()))
            .filter(at::used_at.is_null())
            .filter(at::expires_at.gt(now)),
    )
    .set(at::used_at.eq(now))
    .returning((at::user_id, at::email))
    .get_result::<(i64, String)>(conn)
    .optional()?
    else {
        return Ok(None);
    };
    let current: Option<String> = users::table
        .find(user_id)
        .select(users::email)
        .first(conn)
        .optional()?;
    Ok((current.as_deref() == Some(mailed_to.as_str())).then_some(user_id))
}

/// Uses a [`Purpose::RecoverAccount`] token up: the user and the address it was mailed to (the
/// address to put back), or `None`. Recovery tokens issued after it — later notices, mailed
/// to addresses the account was given since, perhaps by whoever took it — are spent with it.
pub fn consume_recovery(
    conn: &mut AnyConnection,
    presented: &str,
) -> QueryResult<Option<(i64, String)>> {
    let now = crate::time::now();
    let purpose = Purpose::RecoverAccount.as_str();
    let Some((user_id, mailed_to, issued)) = diesel::update(
        at::table
            .filter(at::token_hash.eq(hash_token(presented)))
            .filter(at::purpose.eq(purpose))
            .filter(at::used_at.is_null())
            .filter(at::expires_at.gt(now)),
    )
    .set(at::used_at.eq(now))
    .returning((at::user_id, at::email, at::id))
    .get_result::<(i64, String, i64)>(conn)
    .optional()?
    else {
        return Ok(None);
    };
    diesel::update(
        at::table
            .filter(at::user_id.eq(user_id))
            .filter(at::purpose.eq(purpose))
            .filter(at::id.gt(issued))
            .filter(at::used_at.is_null()),
    )
    .set(at::used_at.eq(now))
    .execute(conn)?;
    Ok(Some((user_id, mailed_to)))
}

/// Spends every unused token of `user_id` for `purpose`: after a reset, the other reset
/// links in the inbox must stop working; after an address change, links to the old one.
pub fn spend_all(conn: &mut AnyConnection, user_id: i64, purpose: Purpose) -> QueryResult<usize> {
    diesel::update(
        at::table
            .filter(at::user_id.eq(user_id))
            .filter(at::purpose.eq(purpose.as_str()))
            .filter(at::used_at.is_null()),
    )
    .set(at::used_at.eq(crate::time::now()))
    .execute(conn)
}

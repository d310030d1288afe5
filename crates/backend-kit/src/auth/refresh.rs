//! Refresh tokens with rotation and reuse detection (the OAuth 2.0 security BCP pattern).
//!
//! A token is 32 random bytes, base64url; the table keeps only its SHA-256. Every use marks
//! it used and issues its successor in the same *family*. If a used (or revoked) token comes
//! back, someone holds a copy: the whole family is revoked and both parties must log in again.
//! Except within a short grace after its first use (`REFRESH_REUSE_GRACE_SECS`, as OAuth
//! servers' "reuse interval"): two tabs that refresh at once both get a successor, instead of
//! the second one logging the user out everywhere.

use std::time::Duration;

use diesel::prelude::*;

use super::AuthError;
use super::opaque::{hash_token, new_token};
use super::schema::refresh_tokens as rt;
use crate::db::AnyConnection;

fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    family_id: &str,
    ttl: Duration,
) -> QueryResult<String> {
    let token = new_token();
    let now = crate::time::now();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30));
    diesel::insert_into(rt::table)
        .values((
            rt::user_id.eq(user_id),
            rt::family_id.eq(family_id),
            rt::token_hash.eq(hash_token(&token)),
            rt::created_at.eq(now),
            rt::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// A new family for a fresh login; returns its first token.
pub fn start_family(
    conn: &mut AnyConnection,
    user_id: i64,
    ttl: Duration,
) -> Result<String, AuthError> {
    Ok(insert(conn, user_id, &new_token(), ttl)?)
}

/// Marks `presented` used and returns `(user_id, successor)`.
pub fn rotate(
    conn: &mut AnyConnection,
    presented: &str,
    ttl: Duration,
    grace: Duration,
) -> Result<(i64, String), AuthError> {
    let hash = hash_token(presented);
    let outcome = conn.transaction::<_, AuthError, _>(|conn| {
        let now = crate::time::now();
        // The conditional UPDATE is the lock: of two concurrent uses exactly one sees a row
        // change, so a token can never be rotated twice. It runs first so SQLite takes its
        // write lock at once instead of failing to upgrade a read.
        let claimed = diesel::update(
            rt::table
                .filter(rt::token_hash.eq(&hash))
                .filter(rt::used_at.is_null())
                .filter(rt::revoked_at.is_null())
                .filter(rt::expires_at.gt(now)),
        )
        .set(rt::used_at.eq(now))
        .execute(conn)?;
        type Found = (
            i64,
            String,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
            chrono::NaiveDateTime,
        );
        let (user_id, family_id, used_at, revoked_at, expires_at) = match rt::table
            .filter(rt::token_hash.eq(&hash))
            .select((
                rt::user_id,
                rt::family_id,
                rt::used_at,
                rt::revoked_at,
                rt::expires_at,
            ))
            .first::<Found>(conn)
            .optional()?
        {
            Some(found) => found,
            None => return Ok(None),
        };
        if claimed == 1 {
            let successor = insert(conn, user_id, &family_id, ttl)?;
            return Ok(Some(Ok((user_id, successor))));
        }
        // The grace: a token used a moment ago gets one more successor (the second tab), and
        // then expires, so it cannot mint a third — a copy shown later still ends the session.
        let grace = chrono::Duration::from_std(grace).unwrap_or_default();
        let in_grace = revoked_at.is_none()
            && expires_at > now
            && used_at.is_some_and(|used| now - used < grace);
        if in_grace {
            diesel::update(rt::table.filter(rt::token_hash.eq(&hash)))
                .set(rt::expires_at.eq(now))
                .execute(conn)?;
            let successor = insert(conn, user_id, &family_id, ttl)?;
            return Ok(Some(Ok((user_id, successor))));
        }
        // Known but not usable: expired, already used or revoked. A used or revoked token
        // coming back means a copy exists: revoke the family.
        revoke_family(conn, &family_id)?;
        Ok(Some(Err(())))
    })?;
    match outcome {
        Some(Ok(pair)) => Ok(pair),
        Some(Err(())) => {
            tracing::warn!("refresh token reuse or expiry: family revoked");
            Err(AuthError::InvalidToken)
        }
        None => Err(AuthError::InvalidToken),
    }
}

/// Logout: revokes every token of the session `presented` belongs to.
pub fn revoke_family_of(conn: &mut AnyConnection, presented: &str) -> Result<(), AuthError> {
    let family: Option<String> = rt::table
        .filter(rt::token_hash.eq(hash_token(presented)))
        .select(rt::family_id)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family)?;
    }
    Ok(())
}

/// Ends every session of a user (after a password change).
pub fn revoke_all_of_user(conn: &mut AnyConnection, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        rt::table
            .filter(rt::user_id.eq(user_id))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(crate::time::now()))
    .execute(conn)
}

fn revoke_family(conn: &mut AnyConnection, family_id: &str) -> QueryResult<usize> {
    diesel::update(
        rt::table
            .filter(rt::family_id.eq(family_id))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(crate::time::now()))
    .execute(conn)
}

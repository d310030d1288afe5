//! Profiles: the kit's `users` (the handle) LEFT JOIN the blog's `profiles` (bio, image),
//! and follows.

use backend_kit::db::{AnyConnection, unless_taken};
use diesel::dsl::exists;
use diesel::prelude::*;

use super::schema::{follows, profiles, users};

/// A user as others see them. `following` is the viewer's relation to them (false for
/// anonymous viewers).
#[derive(Debug, Clone, Queryable)]
pub struct Profile {
    pub id: i64,
    pub username: Option<String>,
    pub bio: Option<String>,
    pub image: Option<String>,
    pub following: bool,
}

/// The viewer's id, or 0 for anonymous viewers: ids start at 1, so `follower_id = 0` matches
/// nothing and one query serves both.
pub fn viewer_id(viewer: Option<i64>) -> i64 {
    viewer.unwrap_or(0)
}

/// Expands to `SELECT users.id, username, bio, image, EXISTS(…following…) FROM users LEFT
/// JOIN profiles`, as a diesel query (a macro because its type is too long to write out);
/// `profile_query!(@columns viewer)` to the column list alone.
macro_rules! profile_query {
    ($viewer:expr) => {
        users::table
            .left_join(profiles::table)
            .select(profile_query!(@columns $viewer))
    };
    (@columns $viewer:expr) => {
        (
            users::id,
            users::username,
            profiles::bio.nullable(),
            profiles::image.nullable(),
            exists(
                follows::table
                    .filter(follows::follower_id.eq($viewer))
                    .filter(follows::followee_id.eq(users::id)),
            ),
        )
    };
}

/// The caller's own profile, and what only they see of their account.
#[derive(Debug, Clone)]
pub struct OwnProfile {
    pub profile: Profile,
    /// The address was proved by the link mailed to it (`users.email_verified_at`).
    pub email_verified: bool,
}

/// The caller's profile and whether their address is verified, in one statement.
pub fn own(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<OwnProfile>> {
    users::table
        .left_join(profiles::table)
        .select((
            profile_query!(@columns 0_i64),
            users::email_verified_at.is_not_null(),
        ))
        .filter(users::id.eq(id))
        .first::<(Profile, bool)>(conn)
        .optional()
        .map(|found| {
            found.map(|(profile, email_verified)| OwnProfile {
                profile,
                email_verified,
            })
        })
}

pub fn by_username(
    conn: &mut AnyConnection,
    username: &str,
    viewer: Option<i64>,
) -> QueryResult<Option<Profile>> {
    profile_query!(viewer_id(viewer))
        .filter(users::username.eq(username))
        .first(conn)
        .optional()
}

pub fn by_id(
    conn: &mut AnyConnection,
    id: i64,
    viewer: Option<i64>,
) -> QueryResult<Option<Profile>> {
    profile_query!(viewer_id(viewer))
        .filter(users::id.eq(id))
        .first(conn)
        .optional()
}

/// The profiles of many users in one query (the authors of a page of articles or comments).
pub fn by_ids(
    conn: &mut AnyConnection,
    ids: &[i64],
    viewer: Option<i64>,
) -> QueryResult<Vec<Profile>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    profile_query!(viewer_id(viewer))
        .filter(users::id.eq_any(ids))
        .load(conn)
}

/// Sets bio and/or image: the row is created on the first change; when two first changes
/// race, the primary key refuses the second insert and it updates the row instead.
pub fn update(
    conn: &mut AnyConnection,
    user_id: i64,
    bio: Option<String>,
    image: Option<String>,
) -> QueryResult<()> {
    if bio.is_none() && image.is_none() {
        return Ok(());
    }
    let set = |conn: &mut AnyConnection| {
        diesel::update(profiles::table.find(user_id))
            .set((
                bio.as_ref().map(|b| profiles::bio.eq(b)),
                image.as_ref().map(|i| profiles::image.eq(i)),
            ))
            .execute(conn)
    };
    if set(conn)? == 0 {
        let inserted = unless_taken(conn, |conn| {
            diesel::insert_into(profiles::table)
                .values((
                    profiles::user_id.eq(user_id),
                    profiles::bio.eq(bio.clone().unwrap_or_default()),
                    profiles::image.eq(image.clone().unwrap_or_default()),
                ))
                .execute(conn)
        })?;
        // Another request made the row first: change it like any other.
        if inserted.is_none() {
            set(conn)?;
        }
    }
    Ok(())
}

/// Idempotent: following twice is one row (the composite primary key refuses the second).
pub fn follow(conn: &mut AnyConnection, follower: i64, followee: i64) -> QueryResult<()> {
    unless_taken(conn, |conn| {
        diesel::insert_into(follows::table)
            .values((
                follows::follower_id.eq(follower),
                follows::followee_id.eq(followee),
                follows::created_at.eq(backend_kit::time::now()),
            ))
            .execute(conn)
    })
    .map(|_| ())
}

pub fn unfollow(conn: &mut AnyConnection, follower: i64, followee: i64) -> QueryResult<()> {
    diesel::delete(follows::table.find((follower, followee)))
        .execute(conn)
        .map(|_| ())
}

/// Gives an account made by another capstone on the same database (the chat's, the todo
/// API's: they ask for no handle) a username on its first use here, so that its profile can be
/// found and followed: its name, as a handle (`Ann Lee` → `Ann-Lee`), with a number added
/// when that is taken. Stored on the shared account, so it is the same everywhere. Returns
/// the username.
pub fn ensure_username(conn: &mut AnyConnection, id: i64) -> QueryResult<String> {
    let (name, username): (String, Option<String>) = users::table
        .find(id)
        .select((users::name, users::username))
        .first(conn)?;
    if let Some(username) = username {
        return Ok(username);
    }
    let base = handle_from(&name);
    for attempt in 0..20 {
        let candidate = match attempt {
            0 => base.clone(),
            _ => format!("{base}-{}", rand::random_range(1..100_000)),
        };
        let claimed = unless_taken(conn, |conn| {
            diesel::update(users::table.find(id).filter(users::username.is_null()))
                .set(users::username.eq(&candidate))
                .execute(conn)
        })?;
        match claimed {
            Some(1) => return Ok(candidate),
            // Set meanwhile by another request: that one stands.
            Some(_) => {
                return users::table
                    .find(id)
                    .select(users::username.assume_not_null())
                    .first(conn);
            }
            None => continue,
        }
    }
    // Twenty taken in a row (of 100 000 numbers per name): something else is wrong.
    Err(diesel::result::Error::QueryBuilderError(
        format!("no free username for {base:?}").into(),
    ))
}

/// A display name as a handle: ASCII letters, digits and `_` kept, anything else a `-` (runs
/// of them one), at most 30 characters so a number still fits in 40; `user` when nothing is left.
fn handle_from(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut handle = String::new();
    // Accents off first (`José` → `Jose`), so they do not become `-`.
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_ascii_alphanumeric() || c == '_' {
            handle.push(c);
        } else if !handle.is_empty() && !handle.ends_with('-') {
            handle.push('-');
        }
    }
    let mut handle: String = handle.trim_end_matches('-').chars().take(30).collect();
    if handle.ends_with('-') {
        handle.pop();
    }
    if handle.is_empty() {
        handle.push_str("user");
    }
    handle
}

#[cfg(test)]
mod tests {
    use super::handle_from;

    #[test]
    fn names_become_handles() {
        assert_eq!(handle_from("Ann Lee"), "Ann-Lee");
        assert_eq!(handle_from("  José  María "), "Jose-Maria");
        assert_eq!(handle_from("李小龙"), "user");
        assert_eq!(handle_from(&"x".repeat(50)).len(), 30);
        assert_eq!(handle_from("a -- b"), "a-b");
    }
}

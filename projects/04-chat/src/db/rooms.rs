//! Rooms: listing, creating, and looking one up by name.

use backend_kit::db::{AnyConnection, unless_taken};
use diesel::prelude::*;

use super::schema::rooms;
use crate::domain::RoomName;

/// `(id, last_seq)` of the room called `name`.
pub fn find(conn: &mut AnyConnection, name: &RoomName) -> QueryResult<Option<(i64, i64)>> {
    rooms::table
        .filter(rooms::name.eq(name.as_str()))
        .select((rooms::id, rooms::last_seq))
        .first(conn)
        .optional()
}

/// Up to `limit` rooms' `(name, last_seq)` by name, after the name `after` (keyset paging: the
/// unique index on `name` finds the page, however many rooms there are).
pub fn page(
    conn: &mut AnyConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(String, i64)>> {
    let mut query = rooms::table
        .select((rooms::name, rooms::last_seq))
        .order(rooms::name)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(rooms::name.gt(after.to_string()));
    }
    query.load(conn)
}

/// `(name, last_seq)` of each of `names` that exists (for the tail check), in chunks that
/// stay under every database's limit on bound parameters.
pub fn last_seqs(conn: &mut AnyConnection, names: &[String]) -> QueryResult<Vec<(String, i64)>> {
    let mut found = Vec::with_capacity(names.len());
    for chunk in names.chunks(500) {
        found.extend(
            rooms::table
                .filter(rooms::name.eq_any(chunk))
                .select((rooms::name, rooms::last_seq))
                .load::<(String, i64)>(conn)?,
        );
    }
    Ok(found)
}

/// Creates the room; `false` when the name is taken (the unique index decides, so two
/// simultaneous creations cannot both win).
pub fn create(conn: &mut AnyConnection, name: &RoomName, creator: i64) -> QueryResult<bool> {
    let created = unless_taken(conn, |conn| {
        diesel::insert_into(rooms::table)
            .values((
                rooms::name.eq(name.as_str()),
                rooms::last_seq.eq(0),
                rooms::created_by.eq(Some(creator)),
                rooms::created_at.eq(backend_kit::time::now()),
            ))
            .execute(conn)
    })?;
    Ok(created.is_some())
}

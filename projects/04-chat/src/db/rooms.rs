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

/// Every room's `(name, last_seq)`, by name.
pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<(String, i64)>> {
    rooms::table
        .select((rooms::name, rooms::last_seq))
        .order(rooms::name)
        .load(conn)
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

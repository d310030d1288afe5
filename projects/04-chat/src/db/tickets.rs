//! WebSocket tickets: a browser cannot put a header on a WebSocket request, and a JWT in a
//! URL ends up in logs and histories. So the client trades its token for a ticket (`POST
//! /api/ws-ticket`) and puts that in the URL: random, stored hashed, good once, for 30 s.

use std::time::Duration;

use backend_kit::auth::opaque::{hash_token, new_token};
use backend_kit::db::AnyConnection;
use diesel::prelude::*;

use super::schema::ws_tickets;

pub const TICKET_TTL: Duration = Duration::from_secs(30);

/// A new ticket for `user_id` (returned once; only its hash is kept). Expired tickets are
/// swept on the way: the table holds at most 30 seconds of them.
pub fn issue(conn: &mut AnyConnection, user_id: i64) -> QueryResult<String> {
    let now = backend_kit::time::now();
    diesel::delete(ws_tickets::table.filter(ws_tickets::expires_at.lt(now))).execute(conn)?;
    let ticket = new_token();
    diesel::insert_into(ws_tickets::table)
        .values((
            ws_tickets::hash.eq(hash_token(&ticket)),
            ws_tickets::user_id.eq(user_id),
            ws_tickets::expires_at.eq(now + TICKET_TTL),
        ))
        .execute(conn)?;
    Ok(ticket)
}

/// The ticket's user, spending the ticket: one statement deletes and reads it, so two
/// upgrades racing with one ticket cannot both get it. `None`: unknown, used or expired.
pub fn redeem(conn: &mut AnyConnection, ticket: &str) -> QueryResult<Option<i64>> {
    let row: Option<(i64, chrono::NaiveDateTime)> =
        diesel::delete(ws_tickets::table.filter(ws_tickets::hash.eq(hash_token(ticket))))
            .returning((ws_tickets::user_id, ws_tickets::expires_at))
            .get_result(conn)
            .optional()?;
    Ok(row
        .filter(|(_, expires_at)| *expires_at > backend_kit::time::now())
        .map(|(user_id, _)| user_id))
}

//! Queries on `todos`.
//!
//! Ownership: lookups load the row by id first and compare its owner, so the API can say
//! `404` (no such todo) apart from `403` (someone else's).

use backend_kit::db::{AnyBackend, AnyConnection};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::schema::todos;
use crate::domain::{ListQuery, SortKey};

diesel::define_sql_function! {
    /// SQL `lower()`: ASCII-only on SQLite and on `COLLATE "C"` columns, so both databases
    /// sort `sort=title` identically.
    fn lower(x: Text) -> Text;
}

/// What `?q=` matches against: title and description, NFC and lower-cased here in Rust — the
/// same for all of Unicode on both databases (`Élan`, `ÄÖÜ`, `İstanbul`). The two are joined by
/// [`SEARCH_SEPARATOR`](crate::domain::listing::SEARCH_SEPARATOR), which `q` may not contain,
/// so no match spans the boundary.
pub fn search_text(title: &str, description: &str) -> String {
    use crate::domain::listing::SEARCH_SEPARATOR;
    backend_kit::validation::fold_case(&format!("{title}{SEARCH_SEPARATOR}{description}"))
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = todos)]
pub struct Todo {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub description: String,
    pub completed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns a [`Todo`] is read from, for `RETURNING` (diesel's `as_returning()` does not
/// work across backends; `search_text` is never read back).
const TODO_COLUMNS: (
    todos::id,
    todos::user_id,
    todos::title,
    todos::description,
    todos::completed,
    todos::created_at,
    todos::updated_at,
) = (
    todos::id,
    todos::user_id,
    todos::title,
    todos::description,
    todos::completed,
    todos::created_at,
    todos::updated_at,
);

/// A row to insert; `id` comes from the database.
pub struct NewTodo {
    pub user_id: i64,
    pub title: String,
    pub description: String,
}

/// Columns to change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = todos)]
pub struct TodoChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub completed: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
    /// Set by [`update`] when the title or description changes.
    pub search_text: Option<String>,
}

pub fn insert(conn: &mut AnyConnection, new: NewTodo) -> QueryResult<Todo> {
    let now = backend_kit::time::now();
    let search = search_text(&new.title, &new.description);
    diesel::insert_into(todos::table)
        .values((
            todos::user_id.eq(new.user_id),
            todos::title.eq(new.title),
            todos::description.eq(new.description),
            todos::search_text.eq(search),
            todos::completed.eq(false),
            todos::created_at.eq(now),
            todos::updated_at.eq(now),
        ))
        .returning(TODO_COLUMNS)
        .get_result(conn)
}

pub fn find(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<Todo>> {
    todos::table
        .find(id)
        .select(Todo::as_select())
        .first(conn)
        .optional()
}

/// Applies `changes` to `current` and bumps `updated_at`; an empty change set returns the
/// row untouched.
///
/// `search_text` is folded from the title and description the row will have, so the UPDATE
/// only applies if they are still those of `current`: a concurrent PATCH of the other field
/// makes it read the row again and retry, instead of storing a fold of a pair that never
/// existed.
pub fn update(
    conn: &mut AnyConnection,
    current: &Todo,
    mut changes: TodoChanges,
) -> QueryResult<Todo> {
    if changes.title.is_none() && changes.description.is_none() && changes.completed.is_none() {
        return todos::table
            .find(current.id)
            .select(Todo::as_select())
            .first(conn);
    }
    changes.updated_at = Some(backend_kit::time::now());
    let mut current = current.clone();
    loop {
        let title = changes.title.as_deref().unwrap_or(&current.title);
        let description = changes
            .description
            .as_deref()
            .unwrap_or(&current.description);
        changes.search_text = Some(search_text(title, description));
        let updated = diesel::update(
            todos::table
                .find(current.id)
                .filter(todos::title.eq(&current.title))
                .filter(todos::description.eq(&current.description)),
        )
        .set(&changes)
        .returning(TODO_COLUMNS)
        .get_result(conn)
        .optional()?;
        match updated {
            Some(todo) => return Ok(todo),
            // Changed (or deleted) meanwhile: read it again; NotFound if it is gone.
            None => {
                current = todos::table
                    .find(current.id)
                    .select(Todo::as_select())
                    .first(conn)?;
            }
        }
    }
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(todos::table.find(id)).execute(conn)
}

/// One page of a user's todos and the total matching the filters.
pub fn list(
    conn: &mut AnyConnection,
    user_id: i64,
    query: &ListQuery,
) -> QueryResult<(Vec<Todo>, i64)> {
    let total = filtered(user_id, query).count().get_result(conn)?;
    let mut page = filtered(user_id, query);
    page = match (query.sort, query.descending) {
        (SortKey::CreatedAt, false) => page
            .order_by(todos::created_at.asc())
            .then_order_by(todos::id.asc()),
        (SortKey::CreatedAt, true) => page
            .order_by(todos::created_at.desc())
            .then_order_by(todos::id.desc()),
        (SortKey::UpdatedAt, false) => page
            .order_by(todos::updated_at.asc())
            .then_order_by(todos::id.asc()),
        (SortKey::UpdatedAt, true) => page
            .order_by(todos::updated_at.desc())
            .then_order_by(todos::id.desc()),
        (SortKey::Title, false) => page
            .order_by(lower(todos::title).asc())
            .then_order_by(todos::id.asc()),
        (SortKey::Title, true) => page
            .order_by(lower(todos::title).desc())
            .then_order_by(todos::id.desc()),
    };
    let rows = page
        .select(Todo::as_select())
        .limit(i64::from(query.limit))
        .offset(query.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// The WHERE clause shared by the count and the page (a boxed query can be built twice).
fn filtered(user_id: i64, query: &ListQuery) -> todos::BoxedQuery<'static, AnyBackend> {
    let mut q = todos::table.filter(todos::user_id.eq(user_id)).into_boxed();
    if let Some(completed) = query.completed {
        q = q.filter(todos::completed.eq(completed));
    }
    if let Some(search) = &query.search {
        let folded = backend_kit::validation::fold_case(search);
        let pattern = format!("%{}%", escape_like(&folded));
        q = q.filter(todos::search_text.like(pattern).escape('\\'));
    }
    q
}

/// `%` and `_` in the user's text are literal characters, not wildcards.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
        assert_eq!(escape_like("plain"), "plain");
    }
}

//! Everything that talks SQL. Functions take a `&mut AnyConnection` and are called through
//! `Database::run` (a blocking thread); the same code serves SQLite and PostgreSQL, except
//! the search filter in [`articles`], which speaks each database's full-text dialect.
//!
//! Reads are shaped so that a page costs a constant number of queries (no N+1): the rows of
//! the page in one query, then everything the page shows about them (authors, `following`,
//! tags) in one query per kind, keyed by the ids of the page. See [`articles::list`].

pub mod articles;
pub mod comments;
pub mod profiles;
pub mod schema;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

// `migrations()`: the auth tables', then `migrations/{postgres,sqlite}/` of this project.
backend_kit::project_migrations!();

/// Whether `e` is a unique violation of the index on `column` of `table`. PostgreSQL names
/// the constraint (`articles_slug_key`), SQLite the column (`articles.slug`).
pub(crate) fn violates_unique(e: &DieselError, table: &str, column: &str) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name() == Some(&format!("{table}_{column}_key"))
                || info.message().contains(&format!("{table}.{column}"))
        }
        _ => false,
    }
}

/// Whether `e` is any unique violation (a composite primary key taken: already following,
/// already favorited).
pub(crate) fn is_duplicate(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

//! Everything that talks SQL. Functions take a `&mut AnyConnection` and are called through
//! `Database::run` (a blocking thread); the same code serves SQLite and PostgreSQL, except
//! the search filter in [`articles`], which speaks each database's full-text dialect.
//!
//! Reads are shaped so that a page costs a constant number of queries (no N+1) and the same
//! whatever the size of the table: the page's ids from an index in the list's order, the
//! articles in one statement (authors joined, `favorited` and `following` as `EXISTS`, tags
//! from the article's own row), then its total from a count the writes keep. See
//! [`articles::list`].

pub mod articles;
pub mod comments;
pub mod notifications;
pub mod profiles;
pub mod schema;
pub mod search;

// `migrations()`: the auth tables', the kit's mail outbox, then `migrations/{postgres,sqlite}/` of this project.
backend_kit::project_migrations!(profiles, mail);

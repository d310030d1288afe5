//! Everything that talks SQL. Functions take a `&mut AnyConnection` and are called through
//! `Database::run`, which runs them on a blocking thread; the same code serves SQLite and
//! PostgreSQL.

pub mod schema;
pub mod todos;

// `migrations()`: the auth tables', then `migrations/{postgres,sqlite}/` of this project.
backend_kit::project_migrations!();

//! Everything that talks SQL. Functions take a `&mut AnyConnection` and are called through
//! `Database::run`, which runs them on a blocking thread; the same code serves SQLite and
//! PostgreSQL.

pub mod schema;
pub mod todos;

use backend_kit::db::MigrationSet;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The auth crate's migrations (users, refresh tokens), then this project's.
pub fn migrations() -> Vec<MigrationSet> {
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
    vec![
        backend_kit::auth::migrations(),
        MigrationSet {
            postgres: POSTGRES,
            sqlite: SQLITE,
        },
    ]
}

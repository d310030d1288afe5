//! Schema and queries. Everything here runs on a blocking thread via `Database::run`.

pub mod imports;
pub mod links;
pub mod schema;

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

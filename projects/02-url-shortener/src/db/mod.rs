//! Schema and queries. Everything here runs on a blocking thread via `Database::run`.

pub mod imports;
pub mod links;
pub mod schema;

// `migrations()`: the auth tables', then `migrations/{postgres,sqlite}/` of this project.
backend_kit::project_migrations!();

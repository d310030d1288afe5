//! Everything that talks SQL. Functions take a `&mut AnyConnection` and are called through
//! `Database::run` (a blocking thread); the same code serves SQLite and PostgreSQL.
//!
//! The one idea worth reading first is in [`messages::append`]: a room's `seq` is taken from
//! its row in the same transaction that stores the message, so numbers are gapless and unique
//! whichever instance sends.

pub mod mentions;
pub mod messages;
pub mod rooms;
pub mod schema;
pub mod tickets;

// `migrations()`: the auth tables', the kit's mail outbox, then `migrations/{postgres,sqlite}/` of this project.
backend_kit::project_migrations!(mail);

// SQL functions both databases have (ASCII case-folding only on SQLite).
diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function!(fn replace(x: diesel::sql_types::Text, from: diesel::sql_types::Text, to: diesel::sql_types::Text) -> diesel::sql_types::Text);

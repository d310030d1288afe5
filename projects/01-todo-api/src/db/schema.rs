//! Diesel's view of this project's tables (it mirrors `migrations/`).

//! `users` lives in `backend_kit::auth::schema`; no query here joins it (diesel's
//! `allow_tables_to_appear_in_same_query!` cannot span crates, so a join would need a local
//! copy of that table definition).

diesel::table! {
    todos (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        description -> Text,
        completed -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// Title and description folded for search (`db::todos::search_text`).
        search_text -> Text,
    }
}

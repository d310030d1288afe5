//! Diesel's view of the auth tables (kept by hand; it mirrors `migrations/`).

diesel::table! {
    /// The accounts set's columns (`auth::migrations`): every capstone's database has these.
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        /// `name` as look-alikes compare (see `auth::name::name_key`).
        name_key -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// The same `users` table with the columns `auth::profile_migrations` adds. Two names for
    /// one table keep the rule readable: code that says `users` works on every capstone's
    /// database; code that says `profile_users` (the kit's profile functions) needs the
    /// profiles set, and says so in its name.
    #[sql_name = "users"]
    profile_users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        name_key -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// The public handle, unique where set regardless of case.
        username -> Nullable<Text>,
        /// When the address was proved by a mailed link.
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Only with `auth::profile_migrations`.
    account_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        email -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, refresh_tokens, account_tokens);

//! Diesel's view of this project's tables (it mirrors `migrations/`).

diesel::table! {
    links (id) {
        id -> BigInt,
        code -> Text,
        url -> Text,
        user_id -> Nullable<BigInt>,
        redirect_type -> Nullable<Integer>,
        expires_at -> Nullable<Timestamp>,
        max_visits -> Nullable<BigInt>,
        password_hash -> Nullable<Text>,
        access_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    visits (id) {
        id -> BigInt,
        link_id -> BigInt,
        visited_at -> Timestamp,
        referrer_host -> Nullable<Text>,
        browser -> Text,
        is_bot -> Bool,
    }
}

diesel::joinable!(visits -> links (link_id));
diesel::allow_tables_to_appear_in_same_query!(links, visits);

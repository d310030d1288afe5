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
        expired_at -> Nullable<Timestamp>,
        manage_token_hash -> Nullable<Text>,
    }
}

diesel::table! {
    daily_visits (link_id, day) {
        link_id -> BigInt,
        day -> Date,
        visits -> BigInt,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> Text,
        user_id -> Nullable<BigInt>,
        status -> Text,
        csv -> Text,
        total -> BigInt,
        processed -> BigInt,
        imported -> BigInt,
        attempts -> Integer,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    import_failures (job_id, line) {
        job_id -> Text,
        line -> BigInt,
        url -> Text,
        custom_code -> Nullable<Text>,
        reason -> Text,
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
        hits -> BigInt,
    }
}

diesel::joinable!(visits -> links (link_id));
diesel::joinable!(daily_visits -> links (link_id));
diesel::joinable!(import_failures -> import_jobs (job_id));
diesel::table! {
    visit_tallies (link_id, kind, name) {
        link_id -> BigInt,
        kind -> Text,
        name -> Text,
        hits -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    links,
    visits,
    visit_tallies,
    daily_visits,
    import_jobs,
    import_failures
);

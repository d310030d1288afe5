//! The blog's tables as diesel sees them (written by hand to match the migrations).
//! `articles.search` (PostgreSQL's generated tsvector) is left out on purpose: it is only
//! ever read inside SQL, by the search filter.

// The kit's `users`, declared again with only the columns the blog reads: diesel can join
// tables only when they are declared in the same crate (its join traits cannot be
// implemented for another crate's table). Accounts are still written only by the kit.
diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Nullable<Text>,
        name -> Text,
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    profiles (user_id) {
        user_id -> BigInt,
        bio -> Text,
        image -> Text,
    }
}

diesel::table! {
    follows (follower_id, followee_id) {
        follower_id -> BigInt,
        followee_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    articles (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        description -> Text,
        body -> Text,
        body_html -> Text,
        search_text -> Text,
        search_version -> Integer,
        author_id -> BigInt,
        tag_list -> Text,
        favorites_count -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        name -> Text,
        articles_count -> Integer,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> BigInt,
        tag_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    favorites (user_id, article_id) {
        user_id -> BigInt,
        article_id -> BigInt,
        created_at -> Timestamp,
        article_created_at -> Timestamp,
    }
}

diesel::table! {
    user_counters (user_id) {
        user_id -> BigInt,
        articles_count -> Integer,
        favorites_count -> Integer,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        article_id -> BigInt,
        author_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    comment_notifications (comment_id) {
        comment_id -> BigInt,
        recipient_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    digest_unsubscribes (user_id) {
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(articles -> users (author_id));
diesel::joinable!(comment_notifications -> comments (comment_id));
diesel::joinable!(profiles -> users (user_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(favorites -> articles (article_id));
diesel::joinable!(comments -> articles (article_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    profiles,
    follows,
    articles,
    tags,
    article_tags,
    favorites,
    comments,
    counters,
    user_counters,
    comment_notifications,
    digest_unsubscribes,
);

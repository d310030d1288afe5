//! The chat's tables as diesel sees them (written by hand to match the migrations).

// The kit's `users`, declared again with the columns the chat reads (diesel joins only
// tables declared in one crate). Accounts are still written only by the kit.
diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        name_key -> Text,
    }
}

diesel::table! {
    rooms (id) {
        id -> BigInt,
        name -> Text,
        last_seq -> BigInt,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    messages (room_id, seq) {
        room_id -> BigInt,
        seq -> BigInt,
        user_key -> Text,
        name -> Text,
        text -> Text,
        client_id -> Nullable<Text>,
        sent_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ws_tickets (hash) {
        hash -> Text,
        user_id -> BigInt,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    read_positions (room_id, user_key) {
        room_id -> BigInt,
        user_key -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    pending_mentions (id) {
        id -> BigInt,
        user_id -> BigInt,
        room_id -> BigInt,
        seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    mention_digests (user_id) {
        user_id -> BigInt,
        last_sent_at -> Timestamp,
    }
}

diesel::table! {
    mention_unsubscribes (user_id) {
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> rooms (room_id));
diesel::joinable!(pending_mentions -> rooms (room_id));
diesel::joinable!(pending_mentions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    rooms,
    messages,
    ws_tickets,
    read_positions,
    pending_mentions,
    mention_digests,
    mention_unsubscribes
);

-- The chat's tables. Runs after the kit's accounts migration, so `users` exists.

-- Rooms, and the counter that numbers each room's messages. Sending a message is one
-- transaction: `UPDATE rooms SET last_seq = last_seq + 1 … RETURNING last_seq`, then the
-- INSERT. The UPDATE locks the room's row, so two senders (on one instance or two) take
-- turns and never get the same seq; a rolled-back send gives its number back.
CREATE TABLE rooms (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT      NOT NULL UNIQUE,
    last_seq   BIGINT    NOT NULL DEFAULT 0,
    created_by BIGINT    REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);

INSERT INTO rooms (name, created_at) VALUES ('general', CURRENT_TIMESTAMP);

-- `user_key` is the sender as frames name them: an account id ("42") or "guest:NAME".
CREATE TABLE messages (
    room_id    BIGINT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq        BIGINT    NOT NULL,
    user_key   TEXT      NOT NULL,
    name       TEXT      NOT NULL,
    text       TEXT      NOT NULL,
    client_id  TEXT,
    sent_at    TIMESTAMP NOT NULL,
    edited_at  TIMESTAMP,
    deleted_at TIMESTAMP,
    PRIMARY KEY (room_id, seq)
);

-- A resend after a reconnect finds its first copy here (and a race loses on this index).
CREATE UNIQUE INDEX messages_client_id_idx ON messages (room_id, user_key, client_id);

-- Tickets for the WebSocket upgrade: single-use, 30 seconds; only the SHA-256 is stored.
CREATE TABLE ws_tickets (
    hash       TEXT      PRIMARY KEY,
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX ws_tickets_expiry_idx ON ws_tickets (expires_at);

-- How far each user has read in each room.
CREATE TABLE read_positions (
    room_id  BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_key TEXT   NOT NULL,
    seq      BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_key)
);

-- @mentions of users who had no open connection, waiting for their e-mail digest.
CREATE TABLE pending_mentions (
    id        BIGSERIAL PRIMARY KEY,
    user_id   BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id   BIGINT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq       BIGINT    NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX pending_mentions_user_idx ON pending_mentions (user_id, id);

-- When each user was last mailed a digest: at most one per MENTION_DIGEST_SECS.
CREATE TABLE mention_digests (
    user_id      BIGINT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_sent_at TIMESTAMP NOT NULL
);

-- Accounts that followed the unsubscribe link of a mention digest: mentions of them are no
-- longer recorded, and nothing more is mailed to them.
CREATE TABLE mention_unsubscribes (
    user_id    BIGINT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

-- Accounts and sessions, shared by every capstone. One initial set: a fresh clone has no
-- older database to upgrade (the migrations were squashed on 2026-12-05).

-- The e-mail is stored lower-cased, so UNIQUE is case-insensitive in practice; the password
-- only ever as a bcrypt hash.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT      NOT NULL UNIQUE,
    -- The display name, and its look-alike key (`auth::name::name_key`), written together:
    -- a capstone can ask whether a new name reads as an existing one (`B0b` beside `Bob`)
    -- through this index — the chat does, for guests.
    name          TEXT      NOT NULL,
    name_key      TEXT      NOT NULL,
    password_hash TEXT      NOT NULL,
    -- UTC; diesel's MultiConnection has no TIMESTAMPTZ.
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX users_name_key_idx ON users (name_key);

-- Refresh tokens are random 256-bit strings; only their SHA-256 is stored, so a leaked
-- database cannot be replayed. Every login starts a family; each refresh marks the
-- presented token used and adds its successor to the same family. A used token shown
-- again means it was stolen: the whole family is revoked.
CREATE TABLE refresh_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  TEXT      NOT NULL,
    token_hash TEXT      NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Revoking a family touches every token in it.
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

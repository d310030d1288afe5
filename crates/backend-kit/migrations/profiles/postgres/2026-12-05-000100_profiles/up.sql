-- What accounts need once users see each other and get mail (`auth::profile_migrations`;
-- the blog runs it, the other capstones do not): a public handle, a proved address, and
-- single-use links sent by e-mail.

-- The public handle. Nullable, as the kit's registration does not ask for one; unique where
-- set (a unique index allows many NULLs on both databases) and regardless of case: `ann` and
-- `ANN` would read as the same person. Stored and compared as typed; only uniqueness ignores
-- case (handles are ASCII, where `lower` agrees on both databases).
ALTER TABLE users ADD COLUMN username TEXT;
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- When the owner of the address proved it, by following the link mailed to it (NULL: not
-- yet, or the address changed since).
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;

-- Single-use secrets sent by e-mail: an address verification (24 h) or a password reset
-- (1 h), each bound to the address it was sent to: once the account's address changes, a
-- link in the old mailbox proves nothing about the new one and stops working. As with
-- refresh tokens, only the SHA-256 of the random 256-bit token is stored, so a copy of the
-- database holds no working link. Using one sets used_at in the same UPDATE that checks it
-- is unused and unexpired: two clicks at once cannot both succeed.
CREATE TABLE account_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT      NOT NULL,
    email      TEXT      NOT NULL,
    token_hash TEXT      NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);

-- "Every unused reset token of this user" (spent together when one is used).
CREATE INDEX account_tokens_user_id_idx ON account_tokens (user_id, purpose);

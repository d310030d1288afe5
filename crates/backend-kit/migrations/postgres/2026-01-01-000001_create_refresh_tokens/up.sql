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

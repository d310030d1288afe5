-- Accounts shared by every capstone. The e-mail is stored lower-cased, so UNIQUE is
-- case-insensitive in practice; the password only ever as a bcrypt hash.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT      NOT NULL UNIQUE,
    name          TEXT      NOT NULL,
    password_hash TEXT      NOT NULL,
    -- UTC; diesel's MultiConnection has no TIMESTAMPTZ.
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- Accounts that followed the unsubscribe link of a mention digest: mentions of them are no
-- longer recorded, and nothing more is mailed to them.
CREATE TABLE mention_unsubscribes (
    user_id    BIGINT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

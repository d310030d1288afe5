-- Comments waiting to be told to their article's author. A comment by someone else adds a
-- row (in the comment's transaction); the digest job takes every row of an author whose
-- oldest row is NOTIFY_DIGEST_SECS old, deletes them and queues one mail listing them. A
-- deleted comment takes its row with it, so a digest never lists what is gone.
CREATE TABLE comment_notifications (
    comment_id   BIGINT    PRIMARY KEY REFERENCES comments (id) ON DELETE CASCADE,
    recipient_id BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL
);

-- "Whose digest is due?" and "this author's waiting comments".
CREATE INDEX comment_notifications_recipient_idx
    ON comment_notifications (recipient_id, created_at);

-- Authors who followed an unsubscribe link: no digests for them.
CREATE TABLE digest_unsubscribes (
    user_id    BIGINT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

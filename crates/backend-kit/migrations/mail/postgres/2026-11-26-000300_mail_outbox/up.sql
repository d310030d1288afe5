-- The outbox: every mail the app means to send, written in the same transaction as the
-- change that causes it (an account and its verification mail exist together, or neither).
-- A job sends the row; the row, not the job queue, is the record of what happened to it:
--   queued  → sending (claimed, with a lease) → sent
--                                             ↘ queued again, next_attempt_at later (a 4xx, a
--                                               refused connection, a time-out)
--                                             ↘ failed (a 5xx, or MAIL_MAX_ATTEMPTS used up)
-- A row is marked sent before its job is acknowledged, so a job that runs twice finds it
-- sent and does nothing. Bodies are emptied once sent: they may hold single-use links.
CREATE TABLE mail_outbox (
    id               BIGSERIAL PRIMARY KEY,
    -- Set by a caller that may enqueue the same mail twice (a job that is retried).
    dedupe_key       TEXT UNIQUE,
    -- The Message-ID's random part: the same on every attempt, so a receiver can drop a copy.
    message_key      TEXT      NOT NULL,
    recipient        TEXT      NOT NULL,
    subject          TEXT      NOT NULL,
    body_text        TEXT      NOT NULL,
    body_html        TEXT      NOT NULL,
    list_unsubscribe TEXT,
    status           TEXT      NOT NULL,
    attempts         INTEGER   NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  TIMESTAMP NOT NULL,
    -- While status is 'sending': the worker holding it is presumed dead after this.
    lease_until      TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);

-- The sweeper's and `jobs` command's question: what is queued, sending or failed, and since when.
CREATE INDEX mail_outbox_status_idx ON mail_outbox (status, next_attempt_at);

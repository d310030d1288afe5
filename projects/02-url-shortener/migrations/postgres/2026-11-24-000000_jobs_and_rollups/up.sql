-- Set by the cron job once a link has expired or used up its visits (the redirect checks
-- expires_at and max_visits itself; this makes the state visible and lets the job evict it
-- from the cache). Cleared when the link is updated.
ALTER TABLE links ADD COLUMN expired_at TIMESTAMP;

-- Visits per link per UTC day, rolled up from `visits` by the cron job, so `?by=day` reads
-- one row per day instead of every visit. Only complete days are rolled up.
CREATE TABLE daily_visits (
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day     DATE   NOT NULL,
    visits  BIGINT NOT NULL,
    PRIMARY KEY (link_id, day)
);

-- The roll-up scans visits after the last rolled day: that needs an index on time alone.
CREATE INDEX visits_visited_at_idx ON visits (visited_at);

-- A CSV import: the file, and how far the worker got. The queue (apalis) holds only the id;
-- progress lives here, committed with each batch of links, so a job resumed after a crash
-- continues where it stopped instead of creating links twice.
CREATE TABLE import_jobs (
    -- Random and unguessable: anonymous imports are visible to whoever holds the id.
    id          TEXT      PRIMARY KEY,
    user_id     BIGINT    REFERENCES users (id) ON DELETE CASCADE,
    -- queued | running | retrying | succeeded | failed
    status      TEXT      NOT NULL,
    csv         TEXT      NOT NULL,
    total       BIGINT    NOT NULL,
    processed   BIGINT    NOT NULL DEFAULT 0,
    imported    BIGINT    NOT NULL DEFAULT 0,
    attempts    INTEGER   NOT NULL DEFAULT 0,
    -- The last attempt's error, when one failed.
    error       TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);

-- Rows of an import that could not become links, and why.
CREATE TABLE import_failures (
    job_id      TEXT   NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    -- 1-based line number in the uploaded file.
    line        BIGINT NOT NULL,
    url         TEXT   NOT NULL,
    custom_code TEXT,
    reason      TEXT   NOT NULL,
    PRIMARY KEY (job_id, line)
);

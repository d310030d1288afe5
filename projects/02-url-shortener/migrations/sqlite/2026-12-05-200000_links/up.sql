-- The URL shortener's tables. Runs after the kit's accounts migration, so `users` exists.

-- One row per short link.
CREATE TABLE links (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Case-sensitive: "abc" and "ABC" are different links. UNIQUE is the index every
    -- redirect looks up (and what makes a generated-code collision fail, to be retried).
    code              TEXT NOT NULL UNIQUE,
    url               TEXT      NOT NULL,
    -- The owner, when a logged-in user created it; NULL for anonymous links (anyone may
    -- manage those, as the spec requires).
    user_id           BIGINT    REFERENCES users (id) ON DELETE CASCADE,
    -- NULL: 302 (the default).
    redirect_type     INTEGER,
    expires_at        TIMESTAMP,
    max_visits        BIGINT,
    -- Set for password-protected links: bcrypt, never the password itself.
    password_hash     TEXT,
    -- Counted visits. Bumped in batches by the visit recorder, or one by one (atomically,
    -- with the limit in the WHERE clause) for links that have max_visits.
    access_count      BIGINT    NOT NULL DEFAULT 0,
    -- Set by the cron job once a link has expired or used up its visits (the redirect
    -- checks expires_at and max_visits itself; this makes the state visible and lets the job
    -- evict it from the cache). Cleared when the link is updated.
    expired_at        TIMESTAMP,
    -- An anonymous link's manage token, as its SHA-256 (the token itself is shown once, in
    -- the answer to the POST that made the link). With ANONYMOUS_EDITS=token, PUT and DELETE
    -- of an anonymous link need it.
    manage_token_hash TEXT,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

CREATE INDEX links_user_id_idx ON links (user_id);

-- Raw visits, for the statistics: who came from where, when. A row stands for `hits`
-- identical visits in the same second (same link, referrer host, browser and bot flag): the
-- recorder folds them together before writing, so a hot link costs one row per second
-- instead of one per redirect.
CREATE TABLE visits (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id       BIGINT    NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    visited_at    TIMESTAMP NOT NULL,
    referrer_host TEXT,
    browser       TEXT      NOT NULL,
    is_bot        BOOLEAN   NOT NULL,
    hits          BIGINT    NOT NULL DEFAULT 1
);

CREATE INDEX visits_link_id_visited_at_idx ON visits (link_id, visited_at);
-- The roll-up scans visits after the last rolled day: that needs an index on time alone.
CREATE INDEX visits_visited_at_idx ON visits (visited_at);

-- Visits per link per UTC day, rolled up from `visits` by the cron job, so `?by=day` reads
-- one row per day instead of every visit. Only complete days are rolled up.
CREATE TABLE daily_visits (
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day     DATE   NOT NULL,
    visits  BIGINT NOT NULL,
    PRIMARY KEY (link_id, day)
);

-- Where the raw visits stop being rolled up is `max(day)` over every link: an index on the
-- day alone makes it one lookup instead of a scan of every link's days.
CREATE INDEX daily_visits_day_idx ON daily_visits (day);

-- Non-bot hits per link by referrer host and by browser family, kept by the visit recorder in
-- the transaction that writes the raw rows: `?by=referrer` and `?by=browser` read one row per
-- group instead of grouping every visit of the link (a link with a million visits took
-- hundreds of milliseconds per request, and grew with every visit).
CREATE TABLE visit_tallies (
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    -- 'referrer' or 'browser'.
    kind    TEXT   NOT NULL,
    -- The referrer host ('' for a visit without one, shown as "(direct)") or the browser.
    name    TEXT   NOT NULL,
    hits    BIGINT NOT NULL,
    PRIMARY KEY (link_id, kind, name)
);
-- The top groups of a link, most hits first.
CREATE INDEX visit_tallies_top_idx ON visit_tallies (link_id, kind, hits DESC, name);

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

-- The maintenance job deletes reports by age, and an upload counts its user's unfinished
-- imports (finished_at IS NULL): both are index lookups, not scans of every job ever run.
CREATE INDEX import_jobs_finished_at_idx ON import_jobs (finished_at);
CREATE INDEX import_jobs_user_id_finished_at_idx ON import_jobs (user_id, finished_at);

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

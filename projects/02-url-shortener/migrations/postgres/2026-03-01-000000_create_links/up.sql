-- One row per short link.
CREATE TABLE links (
    id            BIGSERIAL PRIMARY KEY,
    -- Case-sensitive: "abc" and "ABC" are different links. UNIQUE is the index every
    -- redirect looks up (and what makes a generated-code collision fail, to be retried).
    code          TEXT COLLATE "C" NOT NULL UNIQUE,
    url           TEXT      NOT NULL,
    -- The owner, when a logged-in user created it; NULL for anonymous links (anyone may
    -- manage those, as the spec requires).
    user_id       BIGINT    REFERENCES users (id) ON DELETE CASCADE,
    -- NULL: 302 (the default).
    redirect_type INTEGER,
    expires_at    TIMESTAMP,
    max_visits    BIGINT,
    -- Set for password-protected links: bcrypt, never the password itself.
    password_hash TEXT,
    -- Counted visits. Bumped in batches by the visit recorder, or one by one (atomically,
    -- with the limit in the WHERE clause) for links that have max_visits.
    access_count  BIGINT    NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE INDEX links_user_id_idx ON links (user_id);

-- Raw visits, for the statistics: who came from where, when.
CREATE TABLE visits (
    id            BIGSERIAL PRIMARY KEY,
    link_id       BIGINT    NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    visited_at    TIMESTAMP NOT NULL,
    referrer_host TEXT,
    browser       TEXT      NOT NULL,
    is_bot        BOOLEAN   NOT NULL
);

CREATE INDEX visits_link_id_visited_at_idx ON visits (link_id, visited_at);

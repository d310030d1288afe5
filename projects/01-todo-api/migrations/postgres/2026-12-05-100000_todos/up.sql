-- One row per todo. Runs after the kit's accounts migration, so `users` exists.
CREATE TABLE todos (
    id          BIGSERIAL PRIMARY KEY,
    -- Deleting a user deletes their todos.
    user_id     BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- COLLATE "C": byte order, exactly like SQLite, so `sort=title` and `q=` behave the same
    -- on both databases whatever locale the server was initialised with.
    title       TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    completed   BOOLEAN   NOT NULL DEFAULT FALSE,
    -- What `?q=` searches: title and description case-folded by the application (Unicode
    -- lower-casing after NFC, joined by U+001F so a search cannot match across the two).
    -- SQL's lower() cannot do it the same way on both databases: it is ASCII-only on SQLite
    -- and on `COLLATE "C"` columns, and folds under the server's locale on PostgreSQL.
    search_text TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- Every list query filters by owner and pages in creation order (the default sort):
-- this index serves the WHERE, the ORDER BY and the tie-break on id.
CREATE INDEX todos_user_id_created_at_idx ON todos (user_id, created_at, id);

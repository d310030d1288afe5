-- Which definition of a word `search_text` was made with (`domain::search::INDEX_VERSION`).
-- Rows older than the code's are indexed again at start-up, in batches, in the background:
-- the word definition changed to fold compatibility forms and accents (`İstanbul`, `ⓐ`, `½`),
-- and no SQL can fold text the way Rust does on both databases.
ALTER TABLE articles ADD COLUMN search_version INTEGER NOT NULL DEFAULT 0;

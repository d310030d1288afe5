-- The blog's tables, beside the kit's `users` (whose `username` is the public handle).

-- What the blog adds to an account. A user who never set a bio or image has no row: reads
-- LEFT JOIN it and show "".
CREATE TABLE profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bio     TEXT   NOT NULL DEFAULT '',
    image   TEXT   NOT NULL DEFAULT ''
);

-- Many-to-many users ↔ users. The composite key makes following twice impossible (and
-- idempotent for the API); the second index serves "who follows X".
CREATE TABLE follows (
    follower_id BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id);

CREATE TABLE articles (
    id              BIGSERIAL PRIMARY KEY,
    -- Unique: the index, not a check before the insert, decides between two equal titles.
    slug            TEXT      NOT NULL UNIQUE,
    title           TEXT      NOT NULL,
    description     TEXT      NOT NULL,
    -- The Markdown as written, and its HTML, rendered and sanitized once per write: a read
    -- never renders (rendering a long body costs milliseconds, a read must not).
    body            TEXT      NOT NULL,
    body_html       TEXT      NOT NULL,
    -- Title, description and body as lower-cased words separated by spaces, cut by the same
    -- Rust code that cuts a search query into words (domain/search.rs): both databases index
    -- this column, so both find the same articles.
    search_text     TEXT      NOT NULL,
    author_id       BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The article's tags, sorted and joined by ',' (a tag cannot contain one): a copy of
    -- what `article_tags` links, written in the same transaction, so that a list reads each
    -- article's tags from its own row. `article_tags` is what filters and counts use.
    tag_list        TEXT      NOT NULL DEFAULT '',
    -- Maintained in the same transaction as the `favorites` row, so a list never counts.
    favorites_count INTEGER   NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    -- Full-text search: PostgreSQL keeps it up to date itself. 'simple' (no stemming, no stop
    -- words) over words already cut by the application: what SQLite's FTS5 finds, too.
    search          TSVECTOR  GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED
);
-- Every list is `ORDER BY created_at DESC, id DESC`: this index serves it without a sort.
CREATE INDEX articles_recent_idx ON articles (created_at DESC, id DESC);
CREATE INDEX articles_author_idx ON articles (author_id, created_at DESC);
CREATE INDEX articles_search_idx ON articles USING GIN (search);

-- How many articles there are, kept by the writes (in the transaction that inserts or
-- deletes one). `count(*)` reads every row (or index entry) on both databases — the costliest
-- part of the front page — while `articlesCount` of the unfiltered list is this one row.
CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('articles', 0);

-- Tags are rows of their own, with a maintained count, so `GET /api/tags` reads one small
-- table instead of scanning every article.
CREATE TABLE tags (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    articles_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tags_popular_idx ON tags (articles_count DESC, name);

CREATE TABLE article_tags (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id     BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, tag_id)
);
-- "Articles with tag X".
CREATE INDEX article_tags_tag_idx ON article_tags (tag_id, article_id);

CREATE TABLE favorites (
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id BIGINT    NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, article_id)
);
CREATE INDEX favorites_article_idx ON favorites (article_id);

CREATE TABLE comments (
    id         BIGSERIAL PRIMARY KEY,
    article_id BIGINT    NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author_id  BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX comments_article_idx ON comments (article_id, created_at DESC);

-- Every page of articles costs the page, not the table: each filter gets a count the writes
-- keep and an index already in the page's order (`created_at DESC, id DESC`), so a page reads
-- `limit + offset` index entries whatever the number of articles (README: "Cost of a page").

-- How many articles each user wrote and favorited, kept by the writes in the transaction that
-- changes them (like `counters`): `articlesCount` of `?author=`, `?favorited=` and of the feed
-- (the sum over the followed authors) reads these rows instead of counting articles. A user
-- who never wrote nor favorited has no row.
CREATE TABLE user_counters (
    user_id         BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    articles_count  INTEGER NOT NULL DEFAULT 0,
    favorites_count INTEGER NOT NULL DEFAULT 0
);
INSERT INTO user_counters (user_id, articles_count, favorites_count)
    SELECT id,
           (SELECT count(*) FROM articles WHERE author_id = users.id),
           (SELECT count(*) FROM favorites WHERE user_id = users.id)
    FROM users
    WHERE id IN (SELECT author_id FROM articles UNION SELECT user_id FROM favorites);

-- A tag page and a user's favorites are in the articles' order: the links carry a copy of the
-- article's `created_at` (it never changes), so one index walks them newest first.
ALTER TABLE article_tags ADD COLUMN created_at TIMESTAMP;
UPDATE article_tags SET created_at = articles.created_at
    FROM articles WHERE articles.id = article_tags.article_id;
ALTER TABLE article_tags ALTER COLUMN created_at SET NOT NULL;
DROP INDEX article_tags_tag_idx;
CREATE INDEX article_tags_recent_idx ON article_tags (tag_id, created_at DESC, article_id DESC);

ALTER TABLE favorites ADD COLUMN article_created_at TIMESTAMP;
UPDATE favorites SET article_created_at = articles.created_at
    FROM articles WHERE articles.id = favorites.article_id;
ALTER TABLE favorites ALTER COLUMN article_created_at SET NOT NULL;
CREATE INDEX favorites_recent_idx ON favorites (user_id, article_created_at DESC, article_id DESC);

-- An author's page, and each followed author's newest articles for the feed.
DROP INDEX articles_author_idx;
CREATE INDEX articles_author_idx ON articles (author_id, created_at DESC, id DESC);

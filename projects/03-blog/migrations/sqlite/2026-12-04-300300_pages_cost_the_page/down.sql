DROP INDEX articles_author_idx;
CREATE INDEX articles_author_idx ON articles (author_id, created_at DESC);
DROP INDEX favorites_recent_idx;
ALTER TABLE favorites DROP COLUMN article_created_at;
DROP INDEX article_tags_recent_idx;
CREATE INDEX article_tags_tag_idx ON article_tags (tag_id, article_id);
ALTER TABLE article_tags DROP COLUMN created_at;
DROP TABLE user_counters;

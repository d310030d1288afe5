-- Grows the blog's benchmark database to :to articles: adds articles :from … :to - 1 in one
-- transaction, then recounts every copy the writes keep, from the rows. Run by
-- `scripts/bench.sh blog` once per size (`psql -v from=0 -v to=1000 -f …`), after 100
-- accounts were registered through the API.
--
-- Article g is by user g % 100 and was written g minutes before 2026-01-01: each size adds
-- older articles, so the newest pages are the same at every size and only the table grows.
-- Three distinct tags of 20 each, 0–10 favorites; user n follows users n+1, n+8, … n+64.
\set ON_ERROR_STOP on
BEGIN;
-- Users numbered 0..99 in registration order.
CREATE TEMP TABLE u ON COMMIT DROP AS
  SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS n FROM users;
INSERT INTO profiles (user_id, bio, image)
  SELECT id, 'Seeded by scripts/bench.sh.', '' FROM u
  ON CONFLICT (user_id) DO NOTHING;
INSERT INTO follows (follower_id, followee_id, created_at)
  SELECT f.id, e.id, now() AT TIME ZONE 'UTC'
  FROM u AS f
  CROSS JOIN generate_series(0, 9) AS k
  JOIN u AS e ON e.n = (f.n + 1 + 7 * k) % 100
  ON CONFLICT DO NOTHING;

INSERT INTO tags (name)
  SELECT unnest(ARRAY['rust', 'postgres', 'sqlite', 'redis', 'http', 'actix', 'diesel', 'tokio',
                      'testing', 'security', 'performance', 'caching', 'auth', 'jwt', 'openapi',
                      'docker', 'ci', 'observability', 'design', 'realworld'])
  ON CONFLICT (name) DO NOTHING;
CREATE TEMP TABLE t ON COMMIT DROP AS
  SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS n FROM tags
  WHERE name IN ('rust', 'postgres', 'sqlite', 'redis', 'http', 'actix', 'diesel', 'tokio',
                 'testing', 'security', 'performance', 'caching', 'auth', 'jwt', 'openapi',
                 'docker', 'ci', 'observability', 'design', 'realworld');

-- body_html and search_text as the application would write them (the text is plain ASCII:
-- one paragraph; words are runs of letters and digits, lower-cased).
CREATE TEMP TABLE a (id BIGINT PRIMARY KEY, n INT NOT NULL, created_at TIMESTAMP NOT NULL) ON COMMIT DROP;
WITH inserted AS (
  INSERT INTO articles (slug, title, description, body, body_html, search_text, search_version,
                        author_id, created_at, updated_at)
    SELECT 'seeded-article-' || g, x.title, x.description, x.body, '<p>' || x.body || E'</p>\n',
           trim(lower(regexp_replace(x.title || ' ' || x.description || ' ' || x.body,
                                     '[^A-Za-z0-9]+', ' ', 'g'))), 2,
           u.id, c.ts, c.ts
    FROM generate_series(:from, :to - 1) AS g
    JOIN u ON u.n = g % 100
    CROSS JOIN LATERAL (SELECT 'Seeded article ' || g AS title,
                               'What seeded article ' || g || ' is about' AS description,
                               repeat('A paragraph of a seeded article, about as long as a real one. ', 40) AS body) AS x
    CROSS JOIN LATERAL (SELECT timestamp '2026-01-01' - g * interval '1 minute' AS ts) AS c
    RETURNING id, substring(slug FROM 16)::int AS n, created_at
)
INSERT INTO a SELECT * FROM inserted;

-- Three distinct tags: offsets 0, 1..9 and 10..19 from n % 20; each link carries its
-- article's created_at, as the application writes it.
INSERT INTO article_tags (article_id, tag_id, created_at)
  SELECT a.id, t.id, a.created_at
  FROM a
  CROSS JOIN LATERAL (VALUES (a.n % 20),
                             ((a.n + 1 + (a.n / 20) % 9) % 20),
                             ((a.n + 10 + (a.n / 7) % 10) % 20)) AS k(tn)
  JOIN t ON t.n = k.tn;

-- Article n is favorited by (37 n) mod 11 users, never its author; each favorite carries the
-- article's created_at, as the application writes it.
INSERT INTO favorites (user_id, article_id, created_at, article_created_at)
  SELECT u.id, a.id, now() AT TIME ZONE 'UTC', a.created_at
  FROM a
  CROSS JOIN LATERAL generate_series(0, (a.n * 37) % 11 - 1) AS j
  JOIN u ON u.n = (a.n + 3 + 9 * j) % 100;

-- Each new article's own copies: its tags sorted and joined by ',', its favorites counted.
UPDATE articles SET tag_list = x.list
  FROM (SELECT l.article_id, string_agg(t.name, ',' ORDER BY t.name) AS list
        FROM article_tags AS l JOIN tags AS t ON t.id = l.tag_id JOIN a ON a.id = l.article_id
        GROUP BY l.article_id) AS x
  WHERE articles.id = x.article_id;
UPDATE articles SET favorites_count = x.count
  FROM (SELECT f.article_id, count(*) AS count
        FROM favorites AS f JOIN a ON a.id = f.article_id GROUP BY f.article_id) AS x
  WHERE articles.id = x.article_id;

-- Absolute recounts of the shared counters: right whatever counted the inserts above.
UPDATE tags SET articles_count = coalesce(x.count, 0)
  FROM tags AS t2 LEFT JOIN (SELECT tag_id, count(*) AS count FROM article_tags GROUP BY tag_id) AS x
    ON x.tag_id = t2.id
  WHERE tags.id = t2.id;
INSERT INTO user_counters (user_id, articles_count, favorites_count)
  SELECT u.id, (SELECT count(*) FROM articles WHERE author_id = u.id),
               (SELECT count(*) FROM favorites WHERE user_id = u.id)
  FROM u
  ON CONFLICT (user_id) DO UPDATE
    SET articles_count = excluded.articles_count, favorites_count = excluded.favorites_count;
UPDATE counters SET value = (SELECT count(*) FROM articles) WHERE name = 'articles';
COMMIT;
-- What autovacuum does after a bulk load, now rather than during the measurement: statistics
-- for the planner, and the visibility map that lets `count(*)` read only an index.
VACUUM ANALYZE;

-- scripts/bench-blog-seed.sql for SQLite (`BENCH_DB=sqlite scripts/bench.sh blog`): the same
-- articles, tags, follows and favorites, the same recounts. `sqlite3 bench.db` runs it after
-- `.parameter set :from 0` and `.parameter set :to 1000`. SQLite has no generate_series nor
-- regexp_replace: a recursive CTE counts, and the seeded text is written already folded.
.bail on
BEGIN IMMEDIATE;
CREATE TEMP TABLE u AS
  SELECT id, (row_number() OVER (ORDER BY id) - 1) AS n FROM users;
INSERT OR IGNORE INTO profiles (user_id, bio, image)
  SELECT id, 'Seeded by scripts/bench.sh.', '' FROM u;
WITH RECURSIVE k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 9)
INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at)
  SELECT f.id, e.id, strftime('%Y-%m-%d %H:%M:%f', 'now')
  FROM u AS f CROSS JOIN k JOIN u AS e ON e.n = (f.n + 1 + 7 * k.k) % 100;

INSERT OR IGNORE INTO tags (name)
  VALUES ('rust'), ('postgres'), ('sqlite'), ('redis'), ('http'), ('actix'), ('diesel'),
         ('tokio'), ('testing'), ('security'), ('performance'), ('caching'), ('auth'), ('jwt'),
         ('openapi'), ('docker'), ('ci'), ('observability'), ('design'), ('realworld');
CREATE TEMP TABLE t AS
  SELECT id, (row_number() OVER (ORDER BY id) - 1) AS n FROM tags
  WHERE name IN ('rust', 'postgres', 'sqlite', 'redis', 'http', 'actix', 'diesel', 'tokio',
                 'testing', 'security', 'performance', 'caching', 'auth', 'jwt', 'openapi',
                 'docker', 'ci', 'observability', 'design', 'realworld');

-- Article g by user g % 100, written g minutes before 2026-01-01 (as diesel stores a timestamp).
CREATE TEMP TABLE body AS
  SELECT replace(hex(zeroblob(40)), '00', 'A paragraph of a seeded article, about as long as a real one. ') AS text,
         replace(hex(zeroblob(40)), '00', ' a paragraph of a seeded article about as long as a real one') AS words;
WITH RECURSIVE g(g) AS (SELECT :from UNION ALL SELECT g + 1 FROM g WHERE g + 1 < :to)
INSERT INTO articles (slug, title, description, body, body_html, search_text, search_version,
                      author_id, created_at, updated_at)
  SELECT 'seeded-article-' || g.g, 'Seeded article ' || g.g, 'What seeded article ' || g.g || ' is about',
         body.text, '<p>' || body.text || '</p>' || char(10),
         'seeded article ' || g.g || ' what seeded article ' || g.g || ' is about' || body.words, 2,
         u.id, ts, ts
  FROM (SELECT g, strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '-' || g || ' minutes') AS ts FROM g) AS g
  JOIN u ON u.n = g.g % 100 CROSS JOIN body;
CREATE TEMP TABLE a AS
  SELECT id, CAST(substr(slug, 16) AS INTEGER) AS n, created_at FROM articles
  WHERE slug LIKE 'seeded-article-%' AND CAST(substr(slug, 16) AS INTEGER) >= :from;

INSERT INTO article_tags (article_id, tag_id, created_at)
  SELECT a.id, t.id, a.created_at
  FROM a
  JOIN t ON t.n IN (a.n % 20, (a.n + 1 + (a.n / 20) % 9) % 20, (a.n + 10 + (a.n / 7) % 10) % 20);

WITH RECURSIVE j(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM j WHERE j < 9)
INSERT INTO favorites (user_id, article_id, created_at, article_created_at)
  SELECT u.id, a.id, strftime('%Y-%m-%d %H:%M:%f', 'now'), a.created_at
  FROM a JOIN j ON j.j < (a.n * 37) % 11
  JOIN u ON u.n = (a.n + 3 + 9 * j.j) % 100;

UPDATE articles SET
  tag_list = (SELECT group_concat(name, ',') FROM (
                SELECT t.name FROM article_tags AS l JOIN tags AS t ON t.id = l.tag_id
                WHERE l.article_id = articles.id ORDER BY t.name)),
  favorites_count = (SELECT count(*) FROM favorites AS f WHERE f.article_id = articles.id)
  WHERE id IN (SELECT id FROM a);

UPDATE tags SET articles_count = (SELECT count(*) FROM article_tags AS x WHERE x.tag_id = tags.id);
INSERT INTO user_counters (user_id, articles_count, favorites_count)
  SELECT u.id, (SELECT count(*) FROM articles WHERE author_id = u.id),
               (SELECT count(*) FROM favorites WHERE user_id = u.id)
  FROM u WHERE true
  ON CONFLICT (user_id) DO UPDATE
    SET articles_count = excluded.articles_count, favorites_count = excluded.favorites_count;
UPDATE counters SET value = (SELECT count(*) FROM articles) WHERE name = 'articles';
DROP TABLE u; DROP TABLE t; DROP TABLE a; DROP TABLE body;
COMMIT;
ANALYZE;

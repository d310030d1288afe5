DROP TABLE import_failures;
DROP TABLE import_jobs;
DROP INDEX visits_visited_at_idx;
DROP TABLE daily_visits;
ALTER TABLE links DROP COLUMN expired_at;

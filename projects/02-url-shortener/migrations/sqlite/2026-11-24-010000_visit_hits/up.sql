-- A visits row stands for `hits` identical visits in the same second (same link, referrer
-- host, browser and bot flag): the recorder folds them together before writing, so a hot
-- link costs one row per second instead of one per redirect.
ALTER TABLE visits ADD COLUMN hits BIGINT NOT NULL DEFAULT 1;

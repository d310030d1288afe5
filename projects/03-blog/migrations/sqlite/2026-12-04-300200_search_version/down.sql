ALTER TABLE articles DROP COLUMN search_version;

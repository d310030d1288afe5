-- What `?q=` searches: title and description case-folded by the application (Unicode
-- lower-casing after NFC). SQL's lower() cannot do it the same way on both databases: it is
-- ASCII-only on SQLite and on `COLLATE "C"` columns, while a query string was folded under
-- the database's locale on PostgreSQL, so `q=Élan` found nothing there. NULL until the
-- server fills it in at start-up for rows made before this column existed.
ALTER TABLE todos ADD COLUMN search_text TEXT COLLATE "C";

ALTER TABLE todos DROP COLUMN search_text;

ALTER TABLE links DROP COLUMN manage_token_hash;

DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
DROP INDEX users_username_key;
ALTER TABLE users DROP COLUMN username;

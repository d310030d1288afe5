-- Every name the kit writes gets its look-alike key (`auth::name::name_key`): the chat refuses
-- a guest name that reads as an account's (`B0b` beside `Bob`) by comparing keys through this
-- index. NULL for accounts from before it; the chat fills them at start-up, in batches.
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE INDEX users_name_key_idx ON users (name_key);

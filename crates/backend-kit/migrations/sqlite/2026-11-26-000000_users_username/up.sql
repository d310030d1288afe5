-- A public handle for the capstones that show users to each other (the blog's profiles, the
-- chat's members). Nullable: capstones 1 and 2 only know an e-mail and a display `name`, and
-- their accounts keep working without one. Unique where set — a unique index allows many
-- NULLs on both PostgreSQL and SQLite. Stored as typed; a capstone that wants
-- case-insensitive handles normalises before it writes.
ALTER TABLE users ADD COLUMN username TEXT;
CREATE UNIQUE INDEX users_username_key ON users (username);

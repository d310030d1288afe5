-- Handles are unique regardless of case: `ann` and `ANN` would read as the same person.
-- They are stored as typed and compared as typed; only uniqueness ignores case. (Handles are
-- ASCII in the capstones that set them, where `lower` agrees on both databases.)
DROP INDEX users_username_key;
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

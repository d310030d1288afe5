-- An anonymous link's manage token, as its SHA-256 (the token itself is shown once, in the
-- answer to the POST that made the link). With ANONYMOUS_EDITS=token, PUT and DELETE of an
-- anonymous link need it. Links made before this column existed have none: in that mode
-- they can no longer be changed by anyone, which is the safe side.
ALTER TABLE links ADD COLUMN manage_token_hash TEXT;

-- `search_text` now joins title and description with U+001F instead of a newline (a search
-- for "milk\negg" matched across the two). NULL makes the server fold every row again at
-- start-up, in batches (`fill_search_text`). Stop the old instances before this runs: one
-- still running would fold rows its old way, and nothing refolds a row that is not NULL.
UPDATE todos SET search_text = NULL;

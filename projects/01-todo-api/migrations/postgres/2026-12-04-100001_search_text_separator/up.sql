-- `search_text` now joins title and description with U+001F instead of a newline (a search
-- for "milk\negg" matched across the two). NULL makes the server fold every row again at
-- start-up, in batches (`fill_search_text`).
UPDATE todos SET search_text = NULL;

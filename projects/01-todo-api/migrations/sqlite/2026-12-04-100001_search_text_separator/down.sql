-- The previous code joins title and description with a newline: refold every row with it
-- (the server fills NULL rows at start-up), or `q=%1F` would match every todo there.
UPDATE todos SET search_text = NULL;

-- Nothing to undo: the server folds NULL rows again at start-up, with either separator.
SELECT 1;

-- The maintenance job deletes reports by age, and an upload counts its user's unfinished
-- imports (finished_at IS NULL): both are index lookups, not scans of every job ever run.
CREATE INDEX import_jobs_finished_at_idx ON import_jobs (finished_at);
CREATE INDEX import_jobs_user_id_finished_at_idx ON import_jobs (user_id, finished_at);

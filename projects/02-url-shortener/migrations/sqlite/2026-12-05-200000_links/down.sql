DROP TABLE import_failures;
DROP TABLE import_jobs;
DROP TABLE visit_tallies;
DROP TABLE daily_visits;
DROP TABLE visits;
DROP TABLE links;

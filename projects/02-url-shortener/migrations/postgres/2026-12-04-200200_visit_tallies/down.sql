DROP TABLE visit_tallies;
DROP INDEX daily_visits_day_idx;

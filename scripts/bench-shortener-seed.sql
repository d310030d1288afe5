-- Grows the visits of the benchmark's link (`:code`) to :to (visits :from … :to - 1) for
-- `scripts/bench.sh url-shortener`, then keeps what the application keeps: the link's
-- access_count, its referrer and browser tallies, and the daily roll-up of every complete
-- day (what the nightly job writes). One visit per row (hits 1), one a minute back from now,
-- from 300 referrer hosts (some without one), 8 browsers, one in ten a bot.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE l ON COMMIT DROP AS SELECT id FROM links WHERE code = :'code';
INSERT INTO visits (link_id, visited_at, referrer_host, browser, is_bot, hits)
  SELECT l.id, date_trunc('second', now() AT TIME ZONE 'UTC') - v * interval '1 minute',
         CASE WHEN v % 7 = 0 THEN NULL ELSE 'site' || (v * 31 % 300) || '.example' END,
         (ARRAY['Chrome', 'Firefox', 'Safari', 'Edge', 'Opera', 'Samsung Internet', 'curl', 'Other'])[1 + v % 8],
         v % 10 = 0, 1
  FROM generate_series(:from, :to - 1) AS v CROSS JOIN l;

UPDATE links SET access_count = (SELECT coalesce(sum(hits), 0) FROM visits
                                 WHERE visits.link_id = links.id AND NOT is_bot)
  WHERE id IN (SELECT id FROM l);
DELETE FROM visit_tallies WHERE link_id IN (SELECT id FROM l);
INSERT INTO visit_tallies (link_id, kind, name, hits)
  SELECT link_id, 'referrer', coalesce(referrer_host, ''), sum(hits) FROM visits
  WHERE link_id IN (SELECT id FROM l) AND NOT is_bot GROUP BY 1, 3;
INSERT INTO visit_tallies (link_id, kind, name, hits)
  SELECT link_id, 'browser', browser, sum(hits) FROM visits
  WHERE link_id IN (SELECT id FROM l) AND NOT is_bot GROUP BY 1, 3;
DELETE FROM daily_visits WHERE link_id IN (SELECT id FROM l);
INSERT INTO daily_visits (link_id, day, visits)
  SELECT link_id, visited_at::date, sum(hits) FROM visits
  WHERE link_id IN (SELECT id FROM l) AND NOT is_bot
    AND visited_at < date_trunc('day', now() AT TIME ZONE 'UTC')
  GROUP BY 1, 2;
COMMIT;
VACUUM ANALYZE visits;

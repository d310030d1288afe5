-- Non-bot hits per link by referrer host and by browser family, kept by the visit recorder in
-- the transaction that writes the raw rows: `?by=referrer` and `?by=browser` read one row per
-- group instead of grouping every visit of the link (a link with a million visits took
-- hundreds of milliseconds per request, and grew with every visit).
CREATE TABLE visit_tallies (
    link_id BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    -- 'referrer' or 'browser'.
    kind    TEXT   NOT NULL,
    -- The referrer host ('' for a visit without one, shown as "(direct)") or the browser.
    name    TEXT   NOT NULL,
    hits    BIGINT NOT NULL,
    PRIMARY KEY (link_id, kind, name)
);
-- The top groups of a link, most hits first.
CREATE INDEX visit_tallies_top_idx ON visit_tallies (link_id, kind, hits DESC, name);

-- Hosts stored before the referrer rule of 2026-12-04 (a DNS name of at most 253 characters,
-- or an IP) could be any length, which an index key cannot hold: those count as "(direct)", as
-- the rule counts them today.
INSERT INTO visit_tallies (link_id, kind, name, hits)
    SELECT link_id, 'referrer', host, SUM(hits)
    FROM (SELECT link_id, hits,
                 CASE WHEN length(referrer_host) <= 253 THEN referrer_host ELSE '' END AS host
          FROM visits WHERE NOT is_bot) AS v
    GROUP BY link_id, host;
INSERT INTO visit_tallies (link_id, kind, name, hits)
    SELECT link_id, 'browser', browser, SUM(hits)
    FROM visits WHERE NOT is_bot GROUP BY link_id, browser;

-- Where the raw visits stop being rolled up is `max(day)` over every link: an index on the
-- day alone makes it one lookup instead of a scan of every link's days.
CREATE INDEX daily_visits_day_idx ON daily_visits (day);

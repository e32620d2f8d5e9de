-- expiry_rule: a row is expired when trigger < (T - grace) - retain, trigger not NULL and
-- keep_when not true; calendar months; date/timestamp in the policy's timezone; expression
-- triggers; several policies on one relation
-- (runs retention.run(), so autocommit with uniquely named objects; data is dated relative to
-- now() with margins of hours or days, or checked with preview(as_of => a fixed time))
\set ON_ERROR_STOP true

SELECT plan(38);

-- A. the basic rule: NULL trigger, keep_when ------------------------------------------------------
CREATE TABLE exp_basic (id int PRIMARY KEY, created_at timestamptz, pinned boolean);
INSERT INTO exp_basic VALUES
    (1, now() - interval '40 days', false),   -- expired
    (2, now() - interval '20 days', false),   -- not yet
    (3, NULL, false),                         -- countdown not started: never
    (4, now() - interval '400 days', true),   -- kept by keep_when
    (5, now() - interval '400 days', NULL),   -- keep_when NULL is not true: expired
    (6, now() - interval '400 days', false);  -- expired
SELECT retention.add_policy('exp_basic', 'exp_basic', 'created_at', '30 days',
                            keep_when => 'pinned', timezone => 'UTC', enabled => false) IS NOT NULL
       AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('exp_basic')), 3::bigint,
          'preview: 3 rows are expired (NULL trigger, recent and kept rows excluded)');
CALL retention.run('exp_basic');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_basic), ARRAY[2, 3, 4],
          'run: expired rows are gone; recent, NULL-trigger and keep_when rows stay');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'exp_basic'),
          3::numeric, 'run: purge_log counts the 3 removed rows');
SELECT is((SELECT rows_expired FROM retention.preview('exp_basic', as_of => '2200-01-01 00:00+00')),
          1::bigint, 'forecast far ahead: the NULL-trigger row and the kept row never expire');

-- B. grace: cutoff = (T - grace) - retain -------------------------------------------------------
CREATE TABLE exp_grace (id int PRIMARY KEY, created_at timestamptz);
INSERT INTO exp_grace VALUES (1, now() - interval '35 days'), (2, now() - interval '45 days');
SELECT retention.add_policy('exp_grace', 'exp_grace', 'created_at', '30 days', grace => '10 days',
                            timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT ok((SELECT abs(extract(epoch FROM cutoff - (now() - interval '40 days'))) < 60
           FROM retention.preview('exp_grace')),
          'preview: the cutoff is now - grace - retain');
SELECT is((SELECT rows_expired FROM retention.preview('exp_grace')), 1::bigint,
          'preview: a row past retain but within grace is not expired');
CALL retention.run('exp_grace');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_grace), ARRAY[1],
          'run: only the row past retain + grace is removed');
SELECT ok((SELECT bool_and(abs(extract(epoch FROM cutoff - (started_at - interval '40 days'))) < 60)
           FROM retention.purge_log WHERE policy_name = 'exp_grace'),
          'purge_log records the cutoff the run used');

-- C. calendar months --------------------------------------------------------------------------
CREATE TABLE exp_month (id int PRIMARY KEY, t timestamptz);
INSERT INTO exp_month VALUES
    (1, '2100-02-28 11:00+00'),
    (2, '2100-02-28 12:00+00'),   -- exactly at the cutoff: not expired (t < cutoff)
    (3, '2100-03-01 00:00+00'),   -- would be expired if a month were 30 days
    (4, '2100-02-27 11:00+00');
SELECT retention.add_policy('exp_month', 'exp_month', 't', '1 month', timezone => 'UTC',
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('exp_month_grace', 'exp_month', 't', '1 month', grace => '1 day',
                            timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT cutoff FROM retention.preview('exp_month', as_of => '2100-03-31 12:00+00')),
          '2100-02-28 12:00+00'::timestamptz, '1 month before 31 March is 28 February');
SELECT is((SELECT rows_expired FROM retention.preview('exp_month', as_of => '2100-03-31 12:00+00')),
          2::bigint, 'calendar month: rows before 28 February 12:00 are expired, the one at it is not');
SELECT is((SELECT cutoff FROM retention.preview('exp_month_grace', as_of => '2100-03-31 12:00+00')),
          '2100-02-28 12:00+00'::timestamptz,
          'grace is subtracted before retain: (31 March - 1 day) - 1 month = 28 February');
SELECT is((SELECT rows_expired FROM retention.preview('exp_month_grace', as_of => '2100-03-31 12:00+00')),
          2::bigint, 'with grace 1 day the same two rows are expired');

CREATE TABLE exp_months_rt (id int PRIMARY KEY, t timestamptz);
INSERT INTO exp_months_rt VALUES (1, now() - interval '363 days'), (2, now() - interval '368 days');
SELECT retention.add_policy('exp_months_rt', 'exp_months_rt', 't', '12 months', timezone => 'UTC',
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('exp_months_rt');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_months_rt), ARRAY[1],
          'run: 12 months are a calendar year, not 360 days');

-- D. timezone of date and timestamp triggers, whatever the session's TimeZone ------------------
SET TimeZone = 'America/Los_Angeles';

CREATE TABLE exp_tz_ts (id int PRIMARY KEY, t timestamp);
INSERT INTO exp_tz_ts VALUES
    (1, '2100-06-09 20:00'),   -- UTC: after the cutoff; Kiritimati (UTC+14): 06:00Z, expired
    (2, '2100-06-09 01:00'),   -- expired in both
    (3, '2100-06-10 10:00');   -- expired in neither
SELECT retention.add_policy('exp_tz_ts_utc', 'exp_tz_ts', 't', '1 day', timezone => 'UTC',
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('exp_tz_ts_kir', 'exp_tz_ts', 't', '1 day',
                            timezone => 'Pacific/Kiritimati', enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT cutoff FROM retention.preview('exp_tz_ts_utc', as_of => '2100-06-10 12:00+00')),
          '2100-06-09 12:00+00'::timestamptz, 'UTC policy: cutoff as_of - 1 day');
SELECT is((SELECT cutoff FROM retention.preview('exp_tz_ts_kir', as_of => '2100-06-10 12:00+00')),
          '2100-06-09 12:00+00'::timestamptz, 'Kiritimati policy: cutoff as_of - 1 day');
SELECT is((SELECT rows_expired FROM retention.preview('exp_tz_ts_utc', as_of => '2100-06-10 12:00+00')),
          1::bigint, 'timestamp trigger read as UTC: one row expired');
SELECT is((SELECT rows_expired FROM retention.preview('exp_tz_ts_kir', as_of => '2100-06-10 12:00+00')),
          2::bigint, 'timestamp trigger read as Kiritimati time: two rows expired');

CREATE TABLE exp_tz_date (id int PRIMARY KEY, d date);
INSERT INTO exp_tz_date VALUES
    (1, '2100-06-10'),   -- UTC midnight is after the cutoff; Kiritimati midnight (06-09 10:00Z) before
    (2, '2100-06-09'),   -- expired in both
    (3, '2100-06-11');   -- expired in neither
SELECT retention.add_policy('exp_tz_date_utc', 'exp_tz_date', 'd', '1 day', timezone => 'UTC',
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('exp_tz_date_kir', 'exp_tz_date', 'd', '1 day',
                            timezone => 'Pacific/Kiritimati', enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('exp_tz_date_utc', as_of => '2100-06-10 17:00+00')),
          1::bigint, 'date trigger at UTC midnight: one row expired');
SELECT is((SELECT rows_expired FROM retention.preview('exp_tz_date_kir', as_of => '2100-06-10 17:00+00')),
          2::bigint, 'date trigger at Kiritimati midnight: two rows expired');

SET TimeZone = 'Pacific/Kiritimati';
SELECT retention.add_policy('exp_tz_date_dflt', 'exp_tz_date', 'd', '1 day',
                            enabled => false) IS NOT NULL AS added \gset
SET TimeZone = 'America/New_York';
SELECT is((SELECT timezone FROM retention.policies WHERE name = 'exp_tz_date_dflt'),
          'Pacific/Kiritimati', 'a policy added without timezone takes the session''s TimeZone');
SELECT is((SELECT rows_expired FROM retention.preview('exp_tz_date_dflt', as_of => '2100-06-10 17:00+00')),
          2::bigint, 'that timezone is used later from a session in another TimeZone');

CREATE TABLE exp_tz_dst (id int PRIMARY KEY, t timestamptz);
INSERT INTO exp_tz_dst VALUES
    (1, '2100-03-27 10:30+00'),   -- expired only if 1 day is a calendar day in Paris (23 h here)
    (2, '2100-03-27 11:30+00'),
    (3, '2100-03-27 09:30+00');
SELECT retention.add_policy('exp_tz_dst', 'exp_tz_dst', 't', '1 day', timezone => 'Europe/Paris',
                            enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT cutoff FROM retention.preview('exp_tz_dst', as_of => '2100-03-28 12:00+02')),
          '2100-03-27 11:00+00'::timestamptz,
          'calendar arithmetic in the policy''s timezone: 1 day before noon after the DST switch is noon the day before');
SELECT is((SELECT rows_expired FROM retention.preview('exp_tz_dst', as_of => '2100-03-28 12:00+02')),
          2::bigint, 'rows before that Paris-time cutoff are expired');

-- real runs in the policy's timezone (margins of 7 hours around the cutoff)
SET TimeZone = 'America/Los_Angeles';
CREATE TABLE exp_tz_run_utc (id int PRIMARY KEY, t timestamp);
INSERT INTO exp_tz_run_utc VALUES
    (1, (now() AT TIME ZONE 'UTC') - interval '30 days' + interval '7 hours'),
    (2, (now() AT TIME ZONE 'UTC') - interval '30 days' - interval '7 hours'),
    (3, (now() AT TIME ZONE 'UTC') - interval '30 days' + interval '20 hours');
CREATE TABLE exp_tz_run_kir (LIKE exp_tz_run_utc INCLUDING ALL);
INSERT INTO exp_tz_run_kir SELECT * FROM exp_tz_run_utc;
SELECT retention.add_policy('exp_tz_run_utc', 'exp_tz_run_utc', 't', '30 days', timezone => 'UTC',
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('exp_tz_run_kir', 'exp_tz_run_kir', 't', '30 days',
                            timezone => 'Pacific/Kiritimati', enabled => false) IS NOT NULL AS added \gset
CALL retention.run('exp_tz_run_utc');
CALL retention.run('exp_tz_run_kir');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_tz_run_utc), ARRAY[1, 3],
          'run, timestamp in UTC: only the row 7 hours before the cutoff is removed');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_tz_run_kir), ARRAY[3],
          'run, timestamp in Kiritimati: the row 7 hours after the UTC cutoff is removed too');

-- dates: retain is chosen so that the cutoff falls at 17:00 UTC, 7 hours before a UTC midnight
SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '31 days')::date AS d0,
       now() - ((date_trunc('day', now() AT TIME ZONE 'UTC') - interval '31 days'
                 + interval '17 hours') AT TIME ZONE 'UTC') AS date_retain \gset
CREATE TABLE exp_tz_drun_utc (id int PRIMARY KEY, d date);
INSERT INTO exp_tz_drun_utc VALUES (1, :'d0'::date), (2, :'d0'::date + 1), (3, :'d0'::date + 2);
CREATE TABLE exp_tz_drun_kir (LIKE exp_tz_drun_utc INCLUDING ALL);
INSERT INTO exp_tz_drun_kir SELECT * FROM exp_tz_drun_utc;
SELECT retention.add_policy('exp_tz_drun_utc', 'exp_tz_drun_utc', 'd', :'date_retain',
                            timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('exp_tz_drun_kir', 'exp_tz_drun_kir', 'd', :'date_retain',
                            timezone => 'Pacific/Kiritimati', enabled => false) IS NOT NULL AS added \gset
CALL retention.run('exp_tz_drun_utc');
CALL retention.run('exp_tz_drun_kir');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_tz_drun_utc), ARRAY[2, 3],
          'run, date in UTC: the day whose UTC midnight is after the cutoff stays');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_tz_drun_kir), ARRAY[3],
          'run, date in Kiritimati: the same day starts 14 hours earlier and is removed');
RESET TimeZone;

-- E. an expression trigger and a keep_when subquery over the relation's own name -------------
CREATE TABLE exp_profiles (id int PRIMARY KEY, terminated_at timestamptz, last_activity_at timestamptz);
CREATE TABLE exp_conv (customer_id int, status text);
INSERT INTO exp_profiles VALUES
    (1, now() - interval '60 days', now() - interval '1 day'),     -- terminated long ago
    (2, NULL, now() - interval '20 months'),                       -- inactive for 18 months + 2
    (3, NULL, now() - interval '1 month'),                         -- active
    (4, NULL, NULL),                                               -- never
    (5, now() - interval '10 days', now() - interval '1 day'),     -- terminated recently
    (6, now() - interval '60 days', now() - interval '60 days'),   -- has an open conversation
    (7, now() - interval '60 days', now() - interval '60 days');   -- only a closed one
INSERT INTO exp_conv VALUES (6, 'open'), (7, 'closed'), (1, 'closed');
SELECT retention.add_policy('exp_profiles', 'exp_profiles',
    'least(terminated_at, last_activity_at + interval ''18 months'')', '30 days',
    keep_when => 'EXISTS (SELECT 1 FROM exp_conv c WHERE c.customer_id = exp_profiles.id
                  AND c.status = ''open'')',
    timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('exp_profiles')), 3::bigint,
          'preview: termination or 18 months of inactivity, minus open conversations');
CALL retention.run('exp_profiles');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_profiles), ARRAY[3, 4, 5, 6],
          'run: least(terminated_at, last_activity_at + 18 months) with keep_when EXISTS');
SELECT is((SELECT count(*) FROM exp_conv), 3::bigint, 'the keep_when table is untouched');

-- F. several policies on one relation --------------------------------------------------------
CREATE TABLE exp_multi (id int PRIMARY KEY, created_at timestamptz, closed_at timestamptz);
INSERT INTO exp_multi VALUES
    (1, now() - interval '400 days', NULL),
    (2, now() - interval '100 days', now() - interval '60 days'),
    (3, now() - interval '100 days', now() - interval '10 days'),
    (4, now() - interval '400 days', now() - interval '60 days'),
    (5, now() - interval '10 days', NULL);
SELECT retention.add_policy('exp_multi_a', 'exp_multi', 'created_at', '365 days', timezone => 'UTC',
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('exp_multi_b', 'exp_multi', 'exp_multi.closed_at', '30 days',
                            timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('exp_multi_a')), 2::bigint,
          'policy a (created_at + 365 days) sees two expired rows');
SELECT is((SELECT rows_expired FROM retention.preview('exp_multi_b')), 2::bigint,
          'policy b (closed_at + 30 days) sees two expired rows');
SELECT is((SELECT count(*) FROM retention.preview() WHERE relation = 'exp_multi'::regclass),
          2::bigint, 'preview() lists both policies of the relation (disabled ones included)');
CALL retention.run('exp_multi_a');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_multi), ARRAY[2, 3, 5],
          'policy a removed its two rows');
CALL retention.run('exp_multi_b');
SELECT is((SELECT array_agg(id ORDER BY id) FROM exp_multi), ARRAY[3, 5],
          'policy b removed what was left of its rows');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'exp_multi_b'),
          1::numeric, 'policy b counts only the row it removed itself');

-- nothing ran that was not asked for
SELECT is((SELECT count(*) FROM retention.purge_log
           WHERE policy_name IN ('exp_month', 'exp_month_grace', 'exp_tz_ts_utc', 'exp_tz_ts_kir',
                                 'exp_tz_date_utc', 'exp_tz_date_kir', 'exp_tz_date_dflt',
                                 'exp_tz_dst')),
          0::bigint, 'previews wrote no audit rows');
SELECT is((SELECT count(*) FROM exp_month) + (SELECT count(*) FROM exp_tz_ts)
          + (SELECT count(*) FROM exp_tz_date) + (SELECT count(*) FROM exp_tz_dst),
          13::bigint, 'previews removed no rows');

SELECT * FROM finish();

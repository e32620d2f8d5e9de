-- purge_delete: the expiry rule and batched deletion, outcomes counted row by row
SET client_min_messages = warning;

CREATE TABLE pd_conv (id int PRIMARY KEY, started_at timestamptz, status text);
CREATE TABLE pd_msg (id int PRIMARY KEY, conv_id int REFERENCES pd_conv ON DELETE CASCADE);
CREATE INDEX ON pd_conv (started_at);
-- 25 expired (400 days old), 5 recent, 3 with NULL trigger (countdown not started),
-- 2 expired but kept by keep_when (status open)
INSERT INTO pd_conv SELECT g, now() - interval '400 days', 'closed' FROM generate_series(1, 25) g;
INSERT INTO pd_conv SELECT g, now() - interval '10 days', 'closed' FROM generate_series(26, 30) g;
INSERT INTO pd_conv SELECT g, NULL, 'running' FROM generate_series(31, 33) g;
INSERT INTO pd_conv SELECT g, now() - interval '400 days', 'open' FROM generate_series(34, 35) g;
INSERT INTO pd_msg SELECT g, (g % 35) + 1 FROM generate_series(1, 70) g;

SELECT retention.add_policy('pd', 'pd_conv', 'started_at', '6 months', grace => '1 day',
                            keep_when => 'status = ''open''', batch_size => 10) > 0 AS ok;
SELECT policy, relation, rows_expired, partitions_to_drop, rows_held FROM retention.preview('pd');
SELECT cutoff = (now() - interval '1 day') - interval '6 months' AS cutoff_rule
FROM retention.preview('pd');
CALL retention.run('pd');

SELECT count(*) AS remaining, count(*) FILTER (WHERE started_at IS NULL) AS not_started,
       count(*) FILTER (WHERE status = 'open') AS kept, min(id), max(id)
FROM pd_conv;
SELECT count(*) AS orphan_messages FROM pd_msg WHERE conv_id NOT IN (SELECT id FROM pd_conv);
SELECT count(*) AS messages_left FROM pd_msg;
SELECT kind, rows_affected, rows_failed, status, policy_version
FROM retention.purge_log WHERE policy_name = 'pd' ORDER BY id;
SELECT count(DISTINCT run_id) AS runs FROM retention.purge_log WHERE policy_name = 'pd';

-- a second run has nothing to do and is still on record
CALL retention.run('pd');
SELECT rows_affected, status FROM retention.audit WHERE policy_name = 'pd' ORDER BY run_id;

-- calendar months: 1 month before 31 March is 28/29 February (PostgreSQL interval arithmetic)
CREATE TABLE pd_cal (id int, d date);
INSERT INTO pd_cal VALUES (1, '2020-01-31'), (2, '2020-02-28'), (3, '2020-02-29'), (4, '2020-03-01');
SELECT retention.add_policy('pd_cal', 'pd_cal', 'd', '1 month', timezone => 'UTC') > 0 AS ok;
SELECT rows_expired FROM retention.preview('pd_cal', '2020-03-31 00:00:00+00');
SELECT rows_expired FROM retention.preview('pd_cal', '2020-03-28 00:00:00+00');

-- date and timestamp triggers are read in the policy's timezone, whatever the session's
CREATE TABLE pd_tz (id int, local_ts timestamp);
INSERT INTO pd_tz VALUES (1, '2024-06-01 10:00'), (2, '2024-06-01 14:00');
SELECT retention.add_policy('pd_tz_utc', 'pd_tz', 'local_ts', '0', timezone => 'UTC') > 0 AS ok;
SELECT retention.add_policy('pd_tz_ny', 'pd_tz', 'local_ts', '0',
                            timezone => 'America/New_York') > 0 AS ok;
SET TimeZone = 'Asia/Tokyo';
-- at 2024-06-01 15:00 UTC: in UTC both are past; in New York (11:00 local) only the first
SELECT policy, rows_expired FROM retention.preview(NULL, '2024-06-01 15:00:00+00')
WHERE policy LIKE 'pd_tz%' ORDER BY policy;
RESET TimeZone;

-- an expression trigger: least(terminated_at, last_activity_at + 18 months)
CREATE TABLE pd_profile (id int PRIMARY KEY, terminated_at timestamptz, last_activity_at timestamptz);
INSERT INTO pd_profile VALUES
    (1, now() - interval '60 days', now()),                       -- terminated 60 days ago
    (2, NULL, now() - interval '20 months'),                      -- inactive for 20 months
    (3, NULL, now() - interval '1 month'),                        -- active
    (4, now() - interval '5 days', now() - interval '5 days'),    -- terminated recently
    (5, NULL, NULL);                                              -- never active: not started
SELECT retention.add_policy('pd_profile', 'pd_profile',
    'least(terminated_at, last_activity_at + interval ''18 months'')', '30 days') > 0 AS ok;
CALL retention.run('pd_profile');
SELECT id FROM pd_profile ORDER BY id;

-- several policies on one relation
CREATE TABLE pd_multi (id int, created_at timestamptz, kind text);
INSERT INTO pd_multi SELECT g, now() - g * interval '1 day', CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END
FROM generate_series(1, 100) g;
SELECT retention.add_policy('pd_multi_a', 'pd_multi', 'created_at', '10 days',
                            keep_when => 'kind <> ''a''', priority => 1) > 0 AS ok;
SELECT retention.add_policy('pd_multi_all', 'pd_multi', 'created_at', '50 days',
                            priority => 2) > 0 AS ok;
CALL retention.run();
SELECT count(*) FILTER (WHERE kind = 'a') AS a_left, count(*) FILTER (WHERE kind = 'b') AS b_left
FROM pd_multi;
SELECT policy_name, sum(rows_affected) FROM retention.purge_log
WHERE policy_name LIKE 'pd_multi%' GROUP BY 1 ORDER BY 1;

-- quoted identifiers all the way through
CREATE TABLE "Weird Table" ("Id" int, "Sent At" timestamp);
INSERT INTO "Weird Table" SELECT g, localtimestamp - g * interval '1 day' FROM generate_series(1, 20) g;
SELECT retention.add_policy('weird', '"Weird Table"', '"Sent At"', '1 week',
                            keep_when => '"Weird Table"."Id" = 20') > 0 AS ok;
CALL retention.run('weird');
SELECT count(*), min("Id"), max("Id") FROM "Weird Table";

-- a policy whose column is dropped fails visibly and alone
ALTER TABLE "Weird Table" DROP COLUMN "Sent At";
CALL retention.run('weird');
SELECT status, rows_affected, first_error FROM retention.audit
WHERE policy_name = 'weird' ORDER BY run_id DESC LIMIT 1;
SELECT last_status, consecutive_failures FROM retention.policies WHERE name = 'weird';

SELECT retention.drop_policy(name) FROM retention.policies WHERE name LIKE 'pd%' OR name = 'weird';

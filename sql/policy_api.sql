-- policy_api: add/alter/drop policies, every validation with its SQLSTATE, the change log
CREATE TABLE api_events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
                         day date, local_ts timestamp, tenant text, subject text, n int);
CREATE TABLE api_archive (id bigint, created_at timestamptz, day date, local_ts timestamp,
                          tenant text, subject text, n int);
CREATE TABLE api_bad_archive (id bigint);
CREATE VIEW api_view AS SELECT * FROM api_events;

SELECT retention.add_policy('api', 'api_events', 'created_at', '30 days') > 0 AS added;
SELECT name, relation, trigger, retain, grace, action, run_every, priority, batch_size,
       premake, enabled, version, timezone = current_setting('TimeZone') AS tz_is_session
FROM retention.policies WHERE name = 'api';

\set VERBOSITY sqlstate
-- 42710 duplicate name
SELECT retention.add_policy('api', 'api_events', 'created_at', '30 days');
-- 42P01 unknown table (regclass input)
SELECT retention.add_policy('x', 'no_such_table', 'created_at', '30 days');
-- 42809 not a table
SELECT retention.add_policy('x', 'api_view', 'created_at', '30 days');
-- 42703 unknown columns
SELECT retention.add_policy('x', 'api_events', 'nope', '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', keep_when => 'nope > 1');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', tenant_column => 'nope');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', subject_column => 'nope');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', action => 'anonymize',
                            anonymize => '{"nope": "NULL"}');
-- 42804 trigger type, keep_when type, anonymize not assignable
SELECT retention.add_policy('x', 'api_events', 'n', '30 days');
SELECT retention.add_policy('x', 'api_events', 'tenant', '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', keep_when => 'n');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', action => 'anonymize',
                            anonymize => '{"n": "now()"}');
-- 42601 not one expression (injection attempts included)
SELECT retention.add_policy('x', 'api_events', 'created_at; DROP TABLE api_events', '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at FROM pg_class', '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at, created_at', '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at) < now() OR (true', '30 days');
SELECT retention.add_policy('x', 'api_events', '', '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days',
                            keep_when => 'true; DELETE FROM api_events');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days',
                            keep_when => 'true UNION SELECT false');
SELECT retention.add_policy('x', 'api_events', 'created_at AS c', '30 days');
-- 22023: action, negative periods, bounds, batch size, premake, run_every, anonymize, archive,
-- partitions, timezone
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', action => 'truncate');
SELECT retention.add_policy('x', 'api_events', 'created_at', '-1 day');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', grace => '-1 hour');
SELECT retention.add_policy('x', 'api_events', 'created_at', '60 days', max_retain => '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at', '10 days', min_retain => '30 days');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', min_retain => '40 days',
                            max_retain => '20 days');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', batch_size => 0);
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', premake => -1);
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', run_every => '0');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', action => 'anonymize');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', action => 'anonymize',
                            anonymize => '{"subject": "NULL"}', archive_to => 'api_archive');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days',
                            archive_to => 'api_bad_archive');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days',
                            partition_interval => '1 day');
SELECT retention.add_policy('x', 'api_events', 'created_at', '30 days', timezone => 'Mars/Base');
\set VERBOSITY default

-- nothing above was stored
SELECT count(*) AS policies FROM retention.policies;

-- accepted variants
SELECT retention.add_policy('api_day', 'api_events', 'day', '1 month', grace => '1 day',
                            timezone => 'Europe/Zagreb', keep_when => 'n > 100',
                            tenant_column => 'tenant', subject_column => 'subject') > 0 AS ok;
SELECT retention.add_policy('api_ts', 'api_events', 'least(local_ts, created_at::timestamp)',
                            '1 year', archive_to => 'api_archive') > 0 AS ok;
SELECT retention.add_policy('api_anon', 'api_events', 'created_at', '12 months',
                            action => 'anonymize',
                            anonymize => '{"subject": "NULL", "tenant": "''redacted''"}') > 0 AS ok;

-- alter: each change recorded, version bumped, direction for retain
SELECT retention.alter_policy('api', retain => '60 days', batch_size => 500);
SELECT retention.alter_policy('api', retain => '45 days');
SELECT retention.alter_policy('api', enabled => false);
SELECT retention.alter_policy('api'); -- no change, no new version
SELECT setting, old_value, new_value, direction, policy_version
FROM retention.policy_changes WHERE policy_name = 'api' ORDER BY id;
SELECT version, retain, batch_size, enabled FROM retention.policies WHERE name = 'api';

\set VERBOSITY sqlstate
SELECT retention.alter_policy('nope', retain => '1 day');            -- 42704
SELECT retention.alter_policy('api', retain => '-1 day');            -- 22023
SELECT retention.alter_policy('api', trigger => 'n');                -- 42804
SELECT retention.alter_policy('api', keep_when => 'x; SELECT 1');    -- 42601
SELECT retention.alter_policy('api', max_retain => '10 days');       -- 22023 (retain 45 days)
SELECT retention.drop_policy('nope');                                -- 42704
\set VERBOSITY default
SELECT version, retain FROM retention.policies WHERE name = 'api';

-- clearing keep_when with ''
SELECT retention.alter_policy('api_day', keep_when => '');
SELECT keep_when IS NULL AS cleared FROM retention.policies WHERE name = 'api_day';

-- drop: recorded, gone from the views
SELECT retention.drop_policy('api_ts');
SELECT count(*) FROM retention.policies WHERE name = 'api_ts';
SELECT setting, old_value, new_value FROM retention.policy_changes
WHERE policy_name = 'api_ts' ORDER BY id;

-- renaming the relation and its trigger column is harmless
ALTER TABLE api_events RENAME COLUMN created_at TO created;
ALTER TABLE api_events RENAME TO api_events_renamed;
SELECT policy, relation, rows_expired FROM retention.preview('api');

SELECT retention.drop_policy(name) FROM retention.policies WHERE name LIKE 'api%';
DROP VIEW api_view;
DROP TABLE api_events_renamed, api_archive, api_bad_archive;

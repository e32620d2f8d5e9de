-- policy_add: retention.add_policy, its defaults, and every validation of SPEC's Errors table
-- that applies when a policy is added (nothing is stored when a call is refused)
\set ON_ERROR_STOP true
BEGIN;
SET LOCAL TimeZone = 'Europe/Lisbon';

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rtap_api_stranger') THEN
        CREATE ROLE rtap_api_stranger NOLOGIN;
    END IF;
END
$$;

CREATE TABLE api_events (
    id         bigint PRIMARY KEY,
    created_at timestamptz NOT NULL,
    sent_on    date,
    local_ts   timestamp,
    note       text,
    counter    int,
    pinned     boolean,
    tenant_id  int,
    subject_id text
);
CREATE TABLE api_other (id bigint, created_at timestamptz);
CREATE TABLE api_archive (LIKE api_events);
CREATE TABLE api_archive_bad (id bigint, something text);
CREATE TABLE api_parted (id bigint, created_at timestamptz, other_at timestamptz)
    PARTITION BY RANGE (other_at);
CREATE TABLE api_listed (id bigint, created_at timestamptz, kind text) PARTITION BY LIST (kind);
GRANT ALL ON api_events TO rtap_api_stranger;

SELECT plan(66);

-- accepted policies ---------------------------------------------------------------------------
SELECT retention.add_policy('api_basic', 'api_events', 'created_at', '30 days') AS basic_id \gset
SELECT cmp_ok(:basic_id::bigint, '>', 0::bigint, 'add_policy returns the new policy''s id');
SELECT is((SELECT id FROM retention.policies WHERE name = 'api_basic'), :basic_id::bigint,
          'retention.policies lists the policy under the returned id');
SELECT is((SELECT row(relation, trigger, retain, grace, action, keep_when, tenant_column,
                      subject_column, min_retain, max_retain, run_every, priority, batch_size,
                      partition_interval, premake, archive_to, enabled)::text
           FROM retention.policies WHERE name = 'api_basic'),
          row('api_events'::regclass, 'created_at', '30 days'::interval, '0'::interval, 'delete',
              NULL::text, NULL::name, NULL::name, NULL::interval, NULL::interval,
              '1 hour'::interval, 100, 10000, NULL::interval, 4, NULL::regclass, true)::text,
          'the defaults of add_policy are stored');
SELECT is((SELECT timezone FROM retention.policies WHERE name = 'api_basic'), 'Europe/Lisbon',
          'timezone NULL means the TimeZone in effect when the policy was added');

SELECT retention.add_policy('api_second', 'api_events', 'sent_on', '1 year',
                            timezone => 'Pacific/Kiritimati') AS second_id \gset
SELECT cmp_ok(:second_id::bigint, '<>', :basic_id::bigint,
              'a second policy on the same relation gets its own id');
SELECT is((SELECT timezone FROM retention.policies WHERE name = 'api_second'),
          'Pacific/Kiritimati', 'an explicit timezone is stored');
SELECT lives_ok($$SELECT retention.add_policy('api_ts', 'api_events', 'local_ts', '6 months')$$,
                'a timestamp (without time zone) trigger is accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_expr', 'api_events',
                    'least(created_at, local_ts + interval ''18 months'')', '30 days')$$,
                'an expression trigger is accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_qualified', 'api_events',
                    'api_events.created_at', '30 days',
                    keep_when => 'api_events.pinned OR EXISTS (SELECT 1 FROM api_other o
                                  WHERE o.id = api_events.id)')$$,
                'columns qualified by the relation''s own name and a subquery in keep_when are accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_zero', 'api_events', 'created_at', '0',
                    grace => '2 hours')$$,
                'retain 0 with a grace period is accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_bounds', 'api_events', 'created_at', '30 days',
                    min_retain => '30 days', max_retain => '30 days')$$,
                'retain equal to both bounds is accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_columns', 'api_events', 'created_at', '30 days',
                    tenant_column => 'tenant_id', subject_column => 'subject_id')$$,
                'existing tenant_column and subject_column are accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_anon', 'api_events', 'created_at', '1 year',
                    action => 'anonymize', anonymize => '{"note": "NULL", "subject_id": "''x''"}')$$,
                'an anonymize policy with assignable expressions is accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_archived', 'api_events', 'created_at', '2 years',
                    archive_to => 'api_archive')$$,
                'archive_to with the same columns is accepted');
SELECT lives_ok($$SELECT retention.add_policy('api_all', 'api_other', 'created_at', '7 days',
                    grace => '1 day', run_every => '2 hours', priority => 5, batch_size => 1,
                    premake => 0, enabled => false, timezone => 'UTC')$$,
                'every scalar setting can be given');
SELECT is((SELECT row(grace, run_every, priority, batch_size, premake, enabled, timezone)::text
           FROM retention.policies WHERE name = 'api_all'),
          row('1 day'::interval, '2 hours'::interval, 5, 1, 0, false, 'UTC')::text,
          'the given settings are stored');

SELECT is((SELECT count(*) FROM retention.policies), 11::bigint, 'eleven policies exist');
SELECT is((SELECT count(DISTINCT id) FROM retention.policies), 11::bigint,
          'every policy has its own id');

-- duplicate name ------------------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.add_policy('api_basic', 'api_events', 'created_at', '60 days')$$,
                 '42710', NULL, 'a duplicate policy name on the same relation is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_basic', 'api_other', 'created_at', '60 days')$$,
                 '42710', NULL, 'a duplicate policy name on another relation is refused');
SELECT is((SELECT retain FROM retention.policies WHERE name = 'api_basic'), '30 days'::interval,
          'the existing policy is unchanged by a refused duplicate');

-- unknown columns (42703) ---------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'no_such_col', '30 days')$$,
                 '42703', NULL, 'an unknown column in trigger is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', '"Created_At"', '30 days')$$,
                 '42703', NULL, 'a quoted identifier is case-sensitive: "Created_At" is unknown');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events',
                    'least(created_at, no_such_col)', '30 days')$$,
                 '42703', NULL, 'an unknown column inside a trigger expression is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    keep_when => 'no_such_col')$$,
                 '42703', NULL, 'an unknown column in keep_when is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    keep_when => 'pinned AND no_such_col > 0')$$,
                 '42703', NULL, 'an unknown column inside a keep_when expression is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    tenant_column => 'no_such_col')$$,
                 '42703', NULL, 'an unknown tenant_column is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    subject_column => 'no_such_col')$$,
                 '42703', NULL, 'an unknown subject_column is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"no_such_col": "NULL"}')$$,
                 '42703', NULL, 'an unknown column as an anonymize key is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"note": "no_such_col"}')$$,
                 '42703', NULL, 'an unknown column inside an anonymize expression is refused');

-- wrong types (42804) -------------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'id', '30 days')$$,
                 '42804', NULL, 'a bigint trigger is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'counter', '30 days')$$,
                 '42804', NULL, 'an int trigger is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'note', '30 days')$$,
                 '42804', NULL, 'a text trigger is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at::text', '30 days')$$,
                 '42804', NULL, 'a trigger expression of type text is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"counter": "now()"}')$$,
                 '42804', NULL, 'a timestamptz anonymize expression for an int column is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"created_at": "42"}')$$,
                 '42804', NULL, 'an int anonymize expression for a timestamptz column is refused');

-- expressions that do not parse, or are more than one expression (42601) -----------------------
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at +', '30 days')$$,
                 '42601', NULL, 'a trigger that does not parse is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at, local_ts', '30 days')$$,
                 '42601', NULL, 'a trigger of two expressions is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at; SELECT 1', '30 days')$$,
                 '42601', NULL, 'a trigger followed by a second statement is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', '', '30 days')$$,
                 '42601', NULL, 'an empty trigger is refused as not parsing');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    keep_when => 'pinned AND')$$,
                 '42601', NULL, 'a keep_when that does not parse is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    keep_when => 'pinned, true')$$,
                 '42601', NULL, 'a keep_when of two expressions is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"note": "''x'' ||"}')$$,
                 '42601', NULL, 'an anonymize expression that does not parse is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"note": "NULL, NULL"}')$$,
                 '42601', NULL, 'an anonymize value of two expressions is refused');

-- invalid parameter values (22023) -------------------------------------------------------------
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'purge')$$,
                 '22023', NULL, 'an unknown action is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '-1 day')$$,
                 '22023', NULL, 'a negative retain is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    grace => '-1 hour')$$,
                 '22023', NULL, 'a negative grace is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '40 days',
                    max_retain => '30 days')$$,
                 '22023', NULL, 'retain above max_retain is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '10 days',
                    min_retain => '30 days')$$,
                 '22023', NULL, 'retain below min_retain is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '45 days',
                    min_retain => '60 days', max_retain => '30 days')$$,
                 '22023', NULL, 'min_retain greater than max_retain is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    batch_size => 0)$$,
                 '22023', NULL, 'batch_size 0 is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    batch_size => -5)$$,
                 '22023', NULL, 'a negative batch_size is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    premake => -1)$$,
                 '22023', NULL, 'a negative premake is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    partition_interval => '1 day')$$,
                 '22023', NULL, 'partition_interval on a table that is not partitioned is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_parted', 'created_at', '30 days',
                    partition_interval => '1 day')$$,
                 '22023', NULL, 'partition_interval on a table range-partitioned by another column is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_listed', 'created_at', '30 days',
                    partition_interval => '1 day')$$,
                 '22023', NULL, 'partition_interval on a list-partitioned table is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize')$$,
                 '22023', NULL, 'action anonymize without anonymize is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    action => 'anonymize', anonymize => '{"note": "NULL"}',
                    archive_to => 'api_archive')$$,
                 '22023', NULL, 'archive_to with action anonymize is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    archive_to => 'api_archive_bad')$$,
                 '22023', NULL, 'archive_to with other columns is refused');
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days',
                    timezone => 'Mars/Olympus_Mons')$$,
                 '22023', NULL, 'an unknown timezone is refused');

-- ownership (42501) ---------------------------------------------------------------------------
SET LOCAL ROLE rtap_api_stranger;
SELECT throws_ok($$SELECT retention.add_policy('api_bad', 'api_events', 'created_at', '30 days')$$,
                 '42501', NULL, 'a role that does not own the relation cannot add a policy, even with all table privileges');
RESET ROLE;

-- nothing was stored by any refused call -------------------------------------------------------
SELECT is((SELECT count(*) FROM retention.policies), 11::bigint,
          'refused calls added no policy');
SELECT is((SELECT count(*) FROM retention.policies WHERE name = 'api_bad'), 0::bigint,
          'no policy named api_bad exists');
SELECT is((SELECT count(*) FROM retention.policy_changes WHERE policy_name = 'api_bad'), 0::bigint,
          'refused calls recorded no policy change');
SELECT is((SELECT count(DISTINCT policy_name) FROM retention.policy_changes), 11::bigint,
          'each added policy is recorded in retention.policy_changes');
SELECT is((SELECT count(*) FROM retention.purge_log), 0::bigint,
          'adding policies deletes nothing and writes no audit row');

SELECT * FROM finish();
ROLLBACK;

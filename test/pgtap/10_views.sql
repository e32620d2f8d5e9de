-- views: retention.policies (settings, version, last/next run, last status, failures),
-- retention.audit (one row per run, rows summed over batches), retention.daily_summary
-- (per day and policy)
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

SELECT plan(27);

CREATE TABLE view_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO view_t
SELECT g, CASE WHEN g <= 25 THEN now() - interval '100 days' ELSE now() END
FROM generate_series(1, 30) AS g;
CREATE TABLE view_fail (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO view_fail SELECT g, now() - interval '100 days' FROM generate_series(1, 5) AS g;
CREATE FUNCTION view_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 2 THEN
        RAISE EXCEPTION 'view_fail keeps row 2';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER view_guard BEFORE DELETE ON view_fail FOR EACH ROW EXECUTE FUNCTION view_guard();
CREATE TABLE view_idle (id int PRIMARY KEY, created_at timestamptz NOT NULL);

SELECT retention.add_policy('view_t', 'view_t', 'created_at', '30 days', grace => '1 hour',
                            batch_size => 10, run_every => '1 day', priority => 7,
                            timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('view_fail', 'view_fail', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
SELECT retention.add_policy('view_idle', 'view_idle', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset

-- retention.policies before any run -----------------------------------------------------------
SELECT is((SELECT array_agg(name ORDER BY name) FROM retention.policies),
          ARRAY['view_fail', 'view_idle', 'view_t'], 'retention.policies lists every policy');
SELECT is((SELECT row(relation, trigger, retain, grace, action, batch_size, run_every, priority,
                      enabled, timezone)::text
           FROM retention.policies WHERE name = 'view_t'),
          row('view_t'::regclass, 'created_at', '30 days'::interval, '1 hour'::interval, 'delete',
              10, '1 day'::interval, 7, false, 'UTC')::text,
          'retention.policies shows the settings');
SELECT is((SELECT version FROM retention.policies WHERE name = 'view_t')::bigint,
          (SELECT max(policy_version) FROM retention.policy_changes WHERE policy_name = 'view_t')::bigint,
          'retention.policies shows the version recorded in policy_changes');
SELECT is((SELECT row(last_status, last_run_at)::text FROM retention.policies WHERE name = 'view_idle'),
          row(NULL::text, NULL::timestamptz)::text, 'a policy that never ran has no last run');
SELECT is((SELECT consecutive_failures FROM retention.policies WHERE name = 'view_idle'), 0,
          'a policy that never ran has no failures');

-- runs -------------------------------------------------------------------------------------------
SELECT clock_timestamp() AS t0 \gset
CALL retention.run('view_t');
CALL retention.run('view_t');
CALL retention.run('view_fail');
SELECT clock_timestamp() AS t1 \gset
SELECT retention.alter_policy('view_t', enabled => true) IS NULL AS altered \gset

-- retention.audit -------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM retention.audit WHERE policy_name = 'view_t'), 2::bigint,
          'retention.audit has one row per run');
SELECT is((SELECT array_agg(run_id ORDER BY run_id) FROM retention.audit WHERE policy_name = 'view_t'),
          (SELECT array_agg(DISTINCT run_id ORDER BY run_id) FROM retention.purge_log
           WHERE policy_name = 'view_t'),
          'its run_ids are those of purge_log');
SELECT is((SELECT array_agg(rows_affected ORDER BY started_at) FROM retention.audit
           WHERE policy_name = 'view_t'),
          ARRAY[25, 0]::bigint[], 'rows are summed over the batches of a run (10 + 10 + 5), then 0');
SELECT is((SELECT array_agg(status ORDER BY started_at) FROM retention.audit WHERE policy_name = 'view_t'),
          ARRAY['ok', 'ok'], 'both runs are ok');
SELECT is((SELECT sum(rows_failed) FROM retention.audit WHERE policy_name = 'view_t'), 0::numeric,
          'no row failed');
SELECT ok((SELECT bool_and(started_at BETWEEN :'t0' AND :'t1' AND finished_at BETWEEN started_at AND :'t1')
           FROM retention.audit WHERE policy_name = 'view_t'),
          'started and finished lie within the calls');
SELECT ok((SELECT bool_and(duration = finished_at - started_at AND duration >= interval '0')
           FROM retention.audit WHERE policy_name = 'view_t'),
          'duration is finished - started');
SELECT ok((SELECT bool_and(cardinality(partitions) = 0 AND first_error IS NULL)
           FROM retention.audit WHERE policy_name = 'view_t'),
          'no partitions, no error');
SELECT ok((SELECT bool_and(relation LIKE '%view_t%') FROM retention.audit WHERE policy_name = 'view_t'),
          'the relation is named');
SELECT is((SELECT row(status, rows_affected, rows_failed, first_error LIKE '%view_fail keeps row 2%')::text
           FROM retention.audit WHERE policy_name = 'view_fail'),
          row('partial', 4::bigint, 1::bigint, true)::text,
          'a partial run shows its status, rows, failed rows and first error');

-- retention.policies after the runs ---------------------------------------------------------------
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'view_t'), 'ok',
          'last status of an ok run');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'view_fail'), 'partial',
          'last status of a partial run');
SELECT ok((SELECT last_run_at BETWEEN :'t0' AND :'t1' FROM retention.policies WHERE name = 'view_t'),
          'last_run_at is the time of the last run');
SELECT ok((SELECT last_run_at >= (SELECT max(started_at) FROM retention.audit WHERE policy_name = 'view_t')
                               - interval '1 second'
           FROM retention.policies WHERE name = 'view_t'),
          'last_run_at is the start of the latest run, not the first');
SELECT ok((SELECT abs(extract(epoch FROM next_run_at - (last_run_at + interval '1 day'))) < 60
           FROM retention.policies WHERE name = 'view_t'),
          'next_run_at is run_every after the start of the last run');
SELECT is((SELECT consecutive_failures FROM retention.policies WHERE name = 'view_t'), 0,
          'an ok policy has no consecutive failures');
SELECT is((SELECT row(last_status, last_run_at)::text FROM retention.policies WHERE name = 'view_idle'),
          row(NULL::text, NULL::timestamptz)::text, 'a policy that was not run still has no last run');

-- retention.daily_summary ---------------------------------------------------------------------
SELECT is((SELECT count(*) FROM retention.daily_summary WHERE policy_name = 'view_t'),
          (SELECT count(DISTINCT day) FROM retention.daily_summary WHERE policy_name = 'view_t'),
          'daily_summary has one row per day and policy');
SELECT is((SELECT row(sum(runs), sum(rows_affected), sum(failures), sum(partitions_dropped))::text
           FROM retention.daily_summary WHERE policy_name = 'view_t'),
          row(2::numeric, 25::numeric, 0::numeric, 0::numeric)::text,
          'daily_summary: 2 runs, 25 rows, no failures, no partitions');
SELECT is((SELECT row(sum(runs), sum(rows_affected), sum(failures))::text
           FROM retention.daily_summary WHERE policy_name = 'view_fail'),
          row(1::numeric, 4::numeric, 1::numeric)::text,
          'daily_summary counts the partial run as a failure');
SELECT is((SELECT count(*) FROM retention.daily_summary WHERE policy_name = 'view_idle'), 0::bigint,
          'daily_summary has nothing for a policy that never ran');
SELECT ok((SELECT bool_and(day = (now()::date) OR day = (now()::date - 1))
           FROM retention.daily_summary WHERE policy_name IN ('view_t', 'view_fail')),
          'the day is the day of the run');

SELECT * FROM finish();

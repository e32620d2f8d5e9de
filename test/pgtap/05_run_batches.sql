-- run_batches: CALL retention.run(name) and CALL retention.run() delete exactly the expired
-- rows, in batches of batch_size, one purge_log row per batch; preview forecasts and changes
-- nothing; ON DELETE CASCADE; a run with nothing to do is still on record
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

SELECT plan(49);

-- A. 25 expired rows, batch_size 10 -----------------------------------------------------------
CREATE TABLE run_batch (id int PRIMARY KEY, created_at timestamptz NOT NULL, note text);
INSERT INTO run_batch
SELECT g,
       CASE WHEN g <= 25 THEN now() - interval '100 days'
            WHEN g <= 30 THEN now() - interval '25 days'
            ELSE now() - interval '1 day' END,
       'row ' || g
FROM generate_series(1, 33) AS g;
SELECT retention.add_policy('run_batch', 'run_batch', 'created_at', '30 days', batch_size => 10,
                            timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset

-- preview ---------------------------------------------------------------------------------------
SELECT count(*) AS log_rows_before FROM retention.purge_log \gset
SELECT is((SELECT row(policy, relation, rows_expired, partitions_to_drop, rows_held)::text
           FROM retention.preview('run_batch')),
          row('run_batch', 'run_batch'::regclass, 25::bigint, '{}'::text[], 0::bigint)::text,
          'preview: 25 rows expired, no partitions, nothing held');
SELECT ok((SELECT abs(extract(epoch FROM cutoff - (now() - interval '30 days'))) < 60
           FROM retention.preview('run_batch')), 'preview: cutoff is now - retain');
SELECT is((SELECT rows_expired FROM retention.preview('run_batch', as_of => now() + interval '10 days')),
          30::bigint, 'forecast in 10 days: the rows 25 days old expire too');
SELECT is((SELECT rows_expired FROM retention.preview('run_batch', as_of => now() + interval '40 days')),
          33::bigint, 'forecast in 40 days: every row is expired');
SELECT ok((SELECT abs(extract(epoch FROM cutoff - (now() + interval '10 days' - interval '30 days'))) < 60
           FROM retention.preview('run_batch', as_of => now() + interval '10 days')),
          'forecast: cutoff is as_of - retain');
SELECT is((SELECT count(*) FROM run_batch), 33::bigint, 'preview deleted nothing');
SELECT is((SELECT count(*) FROM retention.purge_log), :log_rows_before::bigint,
          'preview wrote no audit row');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'run_batch'), NULL::text,
          'preview did not count as a run');
SELECT is((SELECT count(*) FROM retention.preview('run_batch', as_of => now() - interval '1000 days')),
          1::bigint, 'preview returns one row per policy');

-- the run ---------------------------------------------------------------------------------------
SELECT clock_timestamp() AS t0 \gset
CALL retention.run('run_batch');
SELECT clock_timestamp() AS t1 \gset
SELECT is((SELECT array_agg(id ORDER BY id) FROM run_batch), ARRAY(SELECT generate_series(26, 33)),
          'run: exactly the 25 expired rows are gone, the 8 others remain');
SELECT is((SELECT array_agg(rows_affected ORDER BY id) FROM retention.purge_log
           WHERE policy_name = 'run_batch'),
          ARRAY[10, 10, 5]::bigint[], 'run: three batches of 10, 10 and 5 rows, one purge_log row each');
SELECT is((SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          1::bigint, 'the three batches share one run_id');
SELECT ok((SELECT bool_and(run_id IS NOT NULL) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          'run_id is set');
SELECT is((SELECT array_agg(DISTINCT kind) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          ARRAY['delete'], 'every batch is of kind delete');
SELECT is((SELECT array_agg(DISTINCT status) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          ARRAY['ok'], 'every batch has status ok');
SELECT is((SELECT sum(rows_failed) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          0::numeric, 'no row failed');
SELECT ok((SELECT bool_and(error IS NULL) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          'no error is recorded');
SELECT is((SELECT array_agg(DISTINCT invoked_by) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          ARRAY[current_user::text], 'invoked_by is the calling role');
SELECT is((SELECT array_agg(DISTINCT policy_version) FROM retention.purge_log
           WHERE policy_name = 'run_batch')::bigint[],
          ARRAY[(SELECT version FROM retention.policies WHERE name = 'run_batch')]::bigint[],
          'policy_version is the version of the policy that ran');
SELECT ok((SELECT bool_and(relation LIKE '%run_batch%') FROM retention.purge_log
           WHERE policy_name = 'run_batch'), 'relation names the table');
SELECT ok((SELECT bool_and(cutoff BETWEEN :'t0'::timestamptz - interval '30 days'
                                      AND :'t1'::timestamptz - interval '30 days')
           FROM retention.purge_log WHERE policy_name = 'run_batch'),
          'cutoff is the run''s time minus retain');
SELECT ok((SELECT bool_and(started_at BETWEEN :'t0' AND :'t1' AND finished_at BETWEEN started_at AND :'t1')
           FROM retention.purge_log WHERE policy_name = 'run_batch'),
          'started_at and finished_at lie within the call');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'run_batch'), 'ok',
          'retention.policies shows the last status');

-- preview after the run agrees with what is left
SELECT is((SELECT rows_expired FROM retention.preview('run_batch')), 0::bigint,
          'preview after the run: nothing is expired');

-- B. a run with nothing to do still writes one row ---------------------------------------------
CALL retention.run('run_batch');
SELECT is((SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE policy_name = 'run_batch'),
          2::bigint, 'the second run has its own run_id');
SELECT is((SELECT row(count(*), sum(rows_affected), min(kind), min(status))::text
           FROM retention.purge_log
           WHERE policy_name = 'run_batch'
             AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'run_batch')),
          row(1::bigint, 0::numeric, 'delete', 'ok')::text,
          'a run with nothing to do writes exactly one purge_log row with rows_affected 0');
SELECT is((SELECT count(*) FROM run_batch), 8::bigint, 'the second run removed nothing');

-- C. the version changes with alter_policy and the next run records it ------------------------
SELECT retention.alter_policy('run_batch', batch_size => 3) IS NULL AS altered \gset
UPDATE run_batch SET created_at = now() - interval '100 days' WHERE id IN (26, 27, 28, 29);
CALL retention.run('run_batch');
SELECT is((SELECT array_agg(rows_affected ORDER BY id) FROM retention.purge_log
           WHERE policy_name = 'run_batch'
             AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'run_batch')),
          ARRAY[3, 1]::bigint[], 'after alter_policy the new batch_size applies');
SELECT is((SELECT max(policy_version) FROM retention.purge_log
           WHERE policy_name = 'run_batch'
             AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'run_batch'))::bigint,
          (SELECT version FROM retention.policies WHERE name = 'run_batch')::bigint,
          'the run records the policy''s new version');
SELECT cmp_ok((SELECT max(policy_version) FROM retention.purge_log WHERE policy_name = 'run_batch'),
              '>', (SELECT min(policy_version) FROM retention.purge_log WHERE policy_name = 'run_batch'),
              'the version after alter_policy is greater than before');

-- D. ON DELETE CASCADE removes dependent rows -------------------------------------------------
CREATE TABLE run_parent (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE run_child (id serial PRIMARY KEY,
                        parent_id int NOT NULL REFERENCES run_parent ON DELETE CASCADE);
INSERT INTO run_parent
SELECT g, CASE WHEN g <= 5 THEN now() - interval '100 days' ELSE now() END
FROM generate_series(1, 7) AS g;
INSERT INTO run_child (parent_id) SELECT g FROM generate_series(1, 7) AS g, generate_series(1, 2);
SELECT retention.add_policy('run_parent', 'run_parent', 'created_at', '30 days', batch_size => 2,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('run_parent');
SELECT is((SELECT array_agg(id ORDER BY id) FROM run_parent), ARRAY[6, 7], 'expired parents are gone');
SELECT is((SELECT array_agg(DISTINCT parent_id ORDER BY parent_id) FROM run_child), ARRAY[6, 7],
          'their children are gone with them (ON DELETE CASCADE)');
SELECT is((SELECT count(*) FROM run_child), 4::bigint, 'the children of kept parents remain');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'run_parent'),
          5::numeric, 'rows_affected counts the rows of the policy''s relation');
SELECT is((SELECT array_agg(DISTINCT status) FROM retention.purge_log WHERE policy_name = 'run_parent'),
          ARRAY['ok'], 'the cascading run is ok');

-- E. an empty table, and a batch size that divides the row count ------------------------------
CREATE TABLE run_empty (id int PRIMARY KEY, created_at timestamptz NOT NULL);
SELECT retention.add_policy('run_empty', 'run_empty', 'created_at', '1 day', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('run_empty');
SELECT is((SELECT row(count(*), sum(rows_affected), min(status), min(kind))::text
           FROM retention.purge_log WHERE policy_name = 'run_empty'),
          row(1::bigint, 0::numeric, 'ok', 'delete')::text,
          'a run on an empty table writes one row with rows_affected 0');

CREATE TABLE run_exact (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO run_exact SELECT g, now() - interval '10 days' FROM generate_series(1, 20) AS g;
SELECT retention.add_policy('run_exact', 'run_exact', 'created_at', '1 day', batch_size => 10,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('run_exact');
SELECT is((SELECT count(*) FROM run_exact), 0::bigint, '20 rows with batch_size 10 are all removed');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'run_exact'),
          20::numeric, 'and counted once');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'run_exact' AND rows_affected > 0),
          2::bigint, 'in two batches');

-- F. CALL retention.run() runs every enabled policy, and a named run runs a disabled one ------
CREATE TABLE run_all_a (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE run_all_b (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE run_all_c (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO run_all_a SELECT g, now() - interval '10 days' * g FROM generate_series(1, 6) AS g;
INSERT INTO run_all_b SELECT * FROM run_all_a;
INSERT INTO run_all_c SELECT * FROM run_all_a;
SELECT retention.add_policy('run_all_a', 'run_all_a', 'created_at', '25 days', enabled => false)
       IS NOT NULL AS added \gset
SELECT retention.add_policy('run_all_b', 'run_all_b', 'created_at', '45 days', priority => 1,
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('run_all_c', 'run_all_c', 'created_at', '1 day', enabled => false)
       IS NOT NULL AS added \gset
SELECT coalesce(max(id), 0) AS log_max_before FROM retention.purge_log \gset
SELECT retention.alter_policy('run_all_a', enabled => true) IS NULL AS altered \gset
SELECT retention.alter_policy('run_all_b', enabled => true) IS NULL AS altered \gset
CALL retention.run();
SELECT is((SELECT array_agg(id ORDER BY id) FROM run_all_a), ARRAY[1, 2],
          'run(): the first enabled policy removed its expired rows');
SELECT is((SELECT array_agg(id ORDER BY id) FROM run_all_b), ARRAY[1, 2, 3, 4],
          'run(): the second enabled policy removed its expired rows');
SELECT is((SELECT count(*) FROM run_all_c), 6::bigint, 'run(): a disabled policy does not run');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'run_all_c'), 0::bigint,
          'run(): a disabled policy leaves no audit row');
SELECT ok((SELECT min(id) FROM retention.purge_log WHERE policy_name = 'run_all_b'
           AND id > :log_max_before)
          < (SELECT min(id) FROM retention.purge_log WHERE policy_name = 'run_all_a'
             AND id > :log_max_before),
          'run(): policies run in priority order (priority 1 before 100)');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name IN ('run_batch', 'run_parent',
           'run_empty', 'run_exact') AND id > :log_max_before), 0::bigint,
          'run(): disabled policies of other tables did not run');
CALL retention.run('run_all_c');
SELECT is((SELECT count(*) FROM run_all_c), 0::bigint, 'a named run runs a disabled policy');

-- G. unknown names -------------------------------------------------------------------------------
SELECT throws_ok($$CALL retention.run('run_no_such_policy')$$, '42704', NULL,
                 'running an unknown policy is refused');
SELECT throws_ok($$SELECT * FROM retention.preview('run_no_such_policy')$$, '42704', NULL,
                 'previewing an unknown policy is refused');
SELECT is((SELECT count(*) FROM retention.preview()), 7::bigint,
          'preview() returns a row for every policy, disabled ones included');

SELECT * FROM finish();

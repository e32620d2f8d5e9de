-- concurrency: rows locked by others are skipped, the rule is re-checked on the latest row
-- version, two runs of one policy exclude each other, throttle and max_runtime bound a run.
-- Runs CALL retention.run(), so no BEGIN/ROLLBACK; a second session comes from dblink.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(10);

CREATE TABLE cc_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE INDEX ON cc_t (created_at);
INSERT INTO cc_t SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
SELECT retention.add_policy('cc', 'cc_t', 'created_at', '1 year', batch_size => 10);

-- another session locks row 5 and, uncommitted, makes row 6 recent
SELECT dblink_connect('other', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                      split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('other', 'BEGIN');
SELECT * FROM dblink('other', 'SELECT id FROM cc_t WHERE id = 5 FOR UPDATE') AS t(id int);
SELECT dblink_exec('other', 'UPDATE cc_t SET created_at = now() WHERE id = 6');

CALL retention.run('cc');
SELECT is((SELECT array_agg(id ORDER BY id) FROM cc_t), '{5,6}'::int[],
          'rows locked by another transaction are skipped, not waited for');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'cc'),
          98::numeric, 'the audit counts exactly the 98 rows removed');

SELECT dblink_exec('other', 'COMMIT');
CALL retention.run('cc');
SELECT is((SELECT array_agg(id ORDER BY id) FROM cc_t), '{6}'::int[],
          'the next run removes the released row; the row updated to be recent stays');

-- mutual exclusion: while the other session runs the policy (throttled), a second run skips
INSERT INTO cc_t SELECT g, now() - interval '2 years' FROM generate_series(101, 400) g;
SELECT dblink_exec('other', 'SET retention.max_rows_per_second = 20');
SELECT dblink_send_query('other', 'CALL retention.run(''cc'')');
DO $$
BEGIN
    FOR i IN 1..400 LOOP
        EXIT WHEN (SELECT count(*) FROM cc_t) < 301;  -- its first batch committed
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT count(DISTINCT run_id) AS runs_before FROM retention.purge_log WHERE policy_name = 'cc' \gset
CALL retention.run('cc');
SELECT is((SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE policy_name = 'cc'),
          :runs_before::bigint, 'a run that finds its policy running skips it and writes no audit row');
SELECT cmp_ok((SELECT count(*) FROM cc_t), '>', 250::bigint,
              'the skipped run removed nothing');

-- cancelling the running purge releases the policy
SELECT dblink_cancel_query('other');
SELECT * FROM dblink_get_result('other', false) AS t(r text);
SELECT dblink_disconnect('other');
CALL retention.run('cc');
SELECT is((SELECT array_agg(id ORDER BY id) FROM cc_t), '{6}'::int[],
          'after the other run was cancelled, a new run takes the policy and finishes the work');
SELECT ok((SELECT ok FROM retention.verify_audit()), 'the chain verifies after a cancelled run');

-- throttle: 60 rows at 100 rows/s in batches of 10 take at least 0.5 s
INSERT INTO cc_t SELECT g, now() - interval '2 years' FROM generate_series(1000, 1059) g;
SET retention.max_rows_per_second = 100;
CALL retention.run('cc');
RESET retention.max_rows_per_second;
SELECT cmp_ok((SELECT extract(epoch FROM duration) FROM retention.audit
               WHERE policy_name = 'cc' ORDER BY run_id DESC LIMIT 1), '>=', 0.45::numeric,
              'retention.max_rows_per_second paces the run');

-- max_runtime: the run stops cleanly between batches, the rest waits for the next run
INSERT INTO cc_t SELECT g, now() - interval '2 years' FROM generate_series(2000, 2199) g;
SET retention.max_rows_per_second = 100;
SET retention.max_runtime = '250ms';
CALL retention.run('cc');
RESET retention.max_runtime;
RESET retention.max_rows_per_second;
SELECT cmp_ok((SELECT count(*) FROM cc_t WHERE id >= 2000), '>', 100::bigint,
              'retention.max_runtime stopped the run early');
SELECT is((SELECT 200 - count(*) FROM cc_t WHERE id >= 2000),
          (SELECT rows_affected FROM retention.audit WHERE policy_name = 'cc'
           ORDER BY run_id DESC LIMIT 1),
          'what it removed before stopping is exactly what its audit rows count');

SELECT * FROM finish();
SELECT retention.drop_policy('cc');
DROP TABLE cc_t;

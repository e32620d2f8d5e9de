-- run_concurrency: rows locked by another transaction are left for the next run rather than
-- waited for; a policy never runs twice at once (the second run is skipped, with no audit row)
-- (runs retention.run(), so autocommit with uniquely named objects; the other sessions are
-- dblink connections)
\set ON_ERROR_STOP true

CREATE EXTENSION IF NOT EXISTS dblink;

SELECT plan(10);

SELECT format('dbname=%s port=%s host=%s user=%s', current_database(), current_setting('port'),
              split_part(current_setting('unix_socket_directories'), ',', 1), current_user) AS conn \gset

-- A. a row locked by another transaction ------------------------------------------------------
CREATE TABLE conc_lock (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO conc_lock SELECT g, now() - interval '100 days' FROM generate_series(1, 10) AS g;
SELECT retention.add_policy('conc_lock', 'conc_lock', 'created_at', '30 days', batch_size => 100,
                            enabled => false) IS NOT NULL AS added \gset
SELECT dblink_connect('conc_locker', :'conn') AS connected \gset
SELECT dblink_exec('conc_locker', 'BEGIN') AS began \gset
SELECT dblink_exec('conc_locker', 'DO $x$ BEGIN PERFORM FROM conc_lock WHERE id = 4 FOR UPDATE; END $x$')
       AS locked \gset

-- should the run wait for the lock, the timeout ends it and the assertions below report it
SET statement_timeout = '20s';
SELECT clock_timestamp() AS t0 \gset
\set ON_ERROR_STOP false
CALL retention.run('conc_lock');
\set ON_ERROR_STOP true
SELECT is(:'ERROR'::text, 'false', 'the run does not wait for a locked row');
SELECT clock_timestamp() AS t1 \gset
RESET statement_timeout;
SELECT cmp_ok(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), '<', 10::numeric,
              'the run returned at once');
SELECT is((SELECT array_agg(id) FROM conc_lock), ARRAY[4], 'every row but the locked one is removed');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'conc_lock'),
          9::numeric, 'the run counts the 9 removed rows');

SELECT dblink_exec('conc_locker', 'COMMIT') AS committed \gset
CALL retention.run('conc_lock');
SELECT is((SELECT count(*) FROM conc_lock), 0::bigint, 'the next run removes the row once it is unlocked');
SELECT dblink_disconnect('conc_locker') AS disconnected \gset

-- B. a policy already running is skipped ------------------------------------------------------
CREATE TABLE conc_slow (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE FUNCTION conc_slow_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 1 THEN
        PERFORM pg_sleep(4);
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER conc_slow_guard BEFORE DELETE ON conc_slow FOR EACH ROW EXECUTE FUNCTION conc_slow_guard();
INSERT INTO conc_slow SELECT g, now() - interval '100 days' FROM generate_series(1, 3) AS g;
SELECT retention.add_policy('conc_slow', 'conc_slow', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset

SELECT dblink_connect('conc_runner', :'conn') AS connected \gset
SELECT dblink_send_query('conc_runner', $$CALL retention.run('conc_slow')$$) AS sent \gset
-- wait (at most 10 s) until the other session's run sleeps in the trigger
CREATE FUNCTION conc_wait_for_sleep() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
    LOOP
        IF EXISTS (SELECT FROM pg_stat_activity
                   WHERE wait_event = 'PgSleep' AND query LIKE '%conc_slow%'
                     AND pid <> pg_backend_pid()) THEN
            RETURN true;
        END IF;
        EXIT WHEN clock_timestamp() > deadline;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END
$$;
SELECT ok(conc_wait_for_sleep(), 'the other session''s run is in progress');
SELECT count(*) AS log_before FROM retention.purge_log WHERE policy_name = 'conc_slow' \gset
SELECT clock_timestamp() AS t0 \gset
CALL retention.run('conc_slow');
SELECT clock_timestamp() AS t1 \gset
SELECT cmp_ok(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), '<', 2::numeric,
              'a run of a policy that is already running returns without waiting');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'conc_slow'),
          :log_before::bigint, 'the skipped run writes no audit row');
SELECT * FROM dblink_get_result('conc_runner') AS r(status text) \gset
SELECT dblink_disconnect('conc_runner') AS disconnected \gset
SELECT is((SELECT count(*) FROM conc_slow), 0::bigint, 'the other session''s run removed every row');
SELECT is((SELECT row(count(DISTINCT run_id), sum(rows_affected))::text FROM retention.purge_log
           WHERE policy_name = 'conc_slow'),
          row(1::bigint, 3::numeric)::text, 'only that one run is on record');

SELECT * FROM finish();

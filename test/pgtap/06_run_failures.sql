-- run_failures: a row that cannot be deleted (foreign key without cascade, a trigger that
-- raises) is skipped, every other row is deleted, the work is recorded as partial with
-- rows_failed and the first error, and one NOTIFY retention_alert is sent per such run; one
-- failing policy does not stop the others in CALL retention.run()
-- (runs retention.run(), so autocommit with uniquely named objects; notifications are
-- received on a second connection opened with dblink)
\set ON_ERROR_STOP true

CREATE EXTENSION IF NOT EXISTS dblink;

SELECT plan(50);

-- a listener on a second connection; fail_collect() gathers what it has received
CREATE TABLE fail_notes (id serial PRIMARY KEY, channel text, payload text);
SELECT dblink_connect('fail_listen',
                      format('dbname=%s port=%s host=%s user=%s', current_database(),
                             current_setting('port'),
                             split_part(current_setting('unix_socket_directories'), ',', 1),
                             current_user)) AS connected \gset
SELECT dblink_exec('fail_listen', 'LISTEN retention_alert') AS listening \gset

-- fail_collect(policies): waits (at most 10 s) until a notification has arrived for each of the
-- given policies, then half a second more to catch any extra one
CREATE FUNCTION fail_collect(policies text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
    LOOP
        INSERT INTO fail_notes (channel, payload)
        SELECT notify_name, extra FROM dblink_get_notify('fail_listen');
        EXIT WHEN clock_timestamp() > deadline
               OR NOT EXISTS (SELECT FROM unnest(policies) AS p(name)
                              WHERE NOT EXISTS (SELECT FROM fail_notes
                                                WHERE payload::jsonb ->> 'policy' = p.name));
        PERFORM pg_sleep(0.1);
    END LOOP;
    PERFORM pg_sleep(0.5);
    INSERT INTO fail_notes (channel, payload)
    SELECT notify_name, extra FROM dblink_get_notify('fail_listen');
END
$$;

-- A. a foreign key without cascade ---------------------------------------------------------------
CREATE TABLE fail_fk_parent (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE fail_fk_ref (id int PRIMARY KEY, parent_id int REFERENCES fail_fk_parent (id));
INSERT INTO fail_fk_parent SELECT g, now() - interval '100 days' FROM generate_series(1, 10) AS g;
INSERT INTO fail_fk_parent VALUES (11, now());
INSERT INTO fail_fk_ref VALUES (1, 3);
SELECT retention.add_policy('fail_fk', 'fail_fk_parent', 'created_at', '30 days', batch_size => 100,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('fail_fk');
SELECT is((SELECT array_agg(id ORDER BY id) FROM fail_fk_parent), ARRAY[3, 11],
          'FK: only the referenced row (and the recent one) is left');
SELECT is((SELECT count(*) FROM fail_fk_ref), 1::bigint, 'FK: the referencing row is untouched');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'fail_fk'),
          9::numeric, 'FK: rows_affected counts the 9 deleted rows');
SELECT is((SELECT sum(rows_failed) FROM retention.purge_log WHERE policy_name = 'fail_fk'),
          1::numeric, 'FK: rows_failed is 1');
SELECT is((SELECT array_agg(DISTINCT status) FROM retention.purge_log
           WHERE policy_name = 'fail_fk' AND rows_failed > 0), ARRAY['partial'],
          'FK: the batch with the failure has status partial');
SELECT ok((SELECT bool_and(error ~ 'foreign key') FROM retention.purge_log
           WHERE policy_name = 'fail_fk' AND rows_failed > 0),
          'FK: the error names the foreign key violation');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'fail_fk'),
          row('partial', 9::bigint, 1::bigint)::text, 'FK: retention.audit shows the run as partial');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'fail_fk'), 'partial',
          'FK: retention.policies shows the last status partial');

-- B. a BEFORE DELETE trigger that raises for one row, across batches ---------------------------
CREATE TABLE fail_trg (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE FUNCTION fail_trg_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 7 THEN
        RAISE EXCEPTION 'fail_trg refuses row %', OLD.id;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER fail_trg_guard BEFORE DELETE ON fail_trg FOR EACH ROW EXECUTE FUNCTION fail_trg_guard();
INSERT INTO fail_trg
SELECT g, CASE WHEN g <= 20 THEN now() - interval '100 days' ELSE now() END
FROM generate_series(1, 23) AS g;
SELECT retention.add_policy('fail_trg', 'fail_trg', 'created_at', '30 days', batch_size => 5,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('fail_trg');
SELECT is((SELECT array_agg(id ORDER BY id) FROM fail_trg), ARRAY[7, 21, 22, 23],
          'trigger: every expired row but the refused one is gone');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'fail_trg'),
          19::numeric, 'trigger: rows_affected counts the 19 deleted rows');
SELECT is((SELECT sum(rows_failed) FROM retention.purge_log WHERE policy_name = 'fail_trg'),
          1::numeric, 'trigger: rows_failed is 1');
SELECT is((SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE policy_name = 'fail_trg'),
          1::bigint, 'trigger: all batches belong to one run');
SELECT is((SELECT array_agg(status) FROM retention.purge_log
           WHERE policy_name = 'fail_trg' AND rows_failed > 0), ARRAY['partial'],
          'trigger: the batch with the failure has status partial');
SELECT ok((SELECT bool_and(error LIKE '%fail_trg refuses row 7%') FROM retention.purge_log
           WHERE policy_name = 'fail_trg' AND rows_failed > 0),
          'trigger: the error is the trigger''s message');
SELECT ok((SELECT bool_and(status = 'ok' AND error IS NULL) FROM retention.purge_log
           WHERE policy_name = 'fail_trg' AND rows_failed = 0),
          'trigger: the other batches are ok');
SELECT is((SELECT row(status, rows_affected, rows_failed, first_error LIKE '%refuses row 7%')::text
           FROM retention.audit WHERE policy_name = 'fail_trg'),
          row('partial', 19::bigint, 1::bigint, true)::text,
          'trigger: retention.audit shows one partial run with the first error');

-- a second run leaves the refused row in place again and still reports it
CALL retention.run('fail_trg');
SELECT is((SELECT array_agg(id ORDER BY id) FROM fail_trg), ARRAY[7, 21, 22, 23],
          'trigger: a second run leaves the same rows');
SELECT is((SELECT row(sum(rows_affected), sum(rows_failed))::text FROM retention.purge_log
           WHERE policy_name = 'fail_trg'
             AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'fail_trg')),
          row(0::numeric, 1::numeric)::text, 'trigger: the second run reports the refused row again');

-- C. several bad rows in one batch ------------------------------------------------------------
CREATE TABLE fail_multi (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE FUNCTION fail_multi_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id % 3 = 0 THEN
        RAISE EXCEPTION 'fail_multi refuses row %', OLD.id;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER fail_multi_guard BEFORE DELETE ON fail_multi FOR EACH ROW
    EXECUTE FUNCTION fail_multi_guard();
INSERT INTO fail_multi SELECT g, now() - interval '100 days' FROM generate_series(1, 10) AS g;
SELECT retention.add_policy('fail_multi', 'fail_multi', 'created_at', '30 days', batch_size => 10,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('fail_multi');
SELECT is((SELECT array_agg(id ORDER BY id) FROM fail_multi), ARRAY[3, 6, 9],
          'three bad rows in one batch: exactly they are left');
SELECT is((SELECT row(sum(rows_affected), sum(rows_failed))::text FROM retention.purge_log
           WHERE policy_name = 'fail_multi'),
          row(7::numeric, 3::numeric)::text, 'rows_affected 7, rows_failed 3');
SELECT ok((SELECT bool_and(error ~ 'fail_multi refuses row [369]') FROM retention.purge_log
           WHERE policy_name = 'fail_multi' AND rows_failed > 0),
          'the first error is recorded');

-- D. a run without failures ---------------------------------------------------------------------
CREATE TABLE fail_fine (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO fail_fine SELECT g, now() - interval '100 days' FROM generate_series(1, 4) AS g;
SELECT retention.add_policy('fail_fine', 'fail_fine', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('fail_fine');
SELECT is((SELECT count(*) FROM fail_fine), 0::bigint, 'a policy without failures removes everything');

-- notifications for A-D
SELECT fail_collect(ARRAY['fail_fk', 'fail_multi']) AS collected \gset
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_fk'), 1::bigint,
          'NOTIFY: one retention_alert for the partial FK run');
SELECT is((SELECT array_agg(payload::jsonb ->> 'status') FROM fail_notes
           WHERE payload::jsonb ->> 'policy' = 'fail_fk'), ARRAY['partial'], 'NOTIFY: the payload has status partial');
SELECT ok((SELECT bool_and(payload::jsonb ->> 'error' ~ 'foreign key') FROM fail_notes
           WHERE payload::jsonb ->> 'policy' = 'fail_fk'),
          'NOTIFY: the payload carries the error');
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_trg'), 2::bigint,
          'NOTIFY: one retention_alert for each of the two partial trigger runs');
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_multi'), 1::bigint,
          'NOTIFY: one retention_alert for the run with three bad rows');
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_fine'), 0::bigint,
          'NOTIFY: no alert for a run that is ok');
SELECT is((SELECT array_agg(DISTINCT channel) FROM fail_notes), ARRAY['retention_alert'],
          'NOTIFY: the channel is retention_alert');

-- E. one failing policy does not stop the others in CALL retention.run() ----------------------
-- e1 (priority 1): keep_when raises for every row; e2 (priority 2): its table is dropped;
-- e3 (priority 3): one row refused by a trigger; e4 (priority 4): nothing wrong
CREATE FUNCTION fail_boom(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'fail_boom %', $1;
END
$$;
CREATE TABLE fail_e1 (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE fail_e2 (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE fail_e3 (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE fail_e4 (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TRIGGER fail_e3_guard BEFORE DELETE ON fail_e3 FOR EACH ROW EXECUTE FUNCTION fail_trg_guard();
INSERT INTO fail_e1 SELECT g, now() - interval '100 days' FROM generate_series(1, 10) AS g;
INSERT INTO fail_e2 SELECT * FROM fail_e1;
INSERT INTO fail_e3 SELECT * FROM fail_e1;
INSERT INTO fail_e4 SELECT * FROM fail_e1;
SELECT retention.add_policy('fail_e1', 'fail_e1', 'created_at', '30 days', priority => 1,
                            keep_when => 'fail_boom(id)', enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('fail_e2', 'fail_e2', 'created_at', '30 days', priority => 2,
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('fail_e3', 'fail_e3', 'created_at', '30 days', priority => 3,
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('fail_e4', 'fail_e4', 'created_at', '30 days', priority => 4,
                            enabled => false) IS NOT NULL AS added \gset
SELECT bool_and(retention.alter_policy(p, enabled => true) IS NULL) AS altered
FROM unnest(ARRAY['fail_e1', 'fail_e2', 'fail_e3', 'fail_e4']) AS p \gset
SELECT lives_ok('DROP TABLE fail_e2', 'a table that has a policy can be dropped');
SELECT coalesce(max(id), 0) AS log_max_before FROM retention.purge_log \gset
-- SPEC: a failing policy is recorded and reported (WARNING), not raised. Should the CALL raise
-- anyway, carry on so that the assertions below say what went wrong.
\set ON_ERROR_STOP false
CALL retention.run();
\set ON_ERROR_STOP true
SELECT is(:'ERROR'::text, 'false', 'CALL retention.run() does not raise when some policies fail');
SELECT is((SELECT count(*) FROM fail_e4), 0::bigint,
          'run(): the last policy ran in spite of the failures before it');
SELECT is((SELECT array_agg(id ORDER BY id) FROM fail_e3), ARRAY[7],
          'run(): the policy with one refused row removed all the others');
SELECT is((SELECT count(*) FROM fail_e1), 10::bigint,
          'run(): the policy whose keep_when raises removed nothing');
SELECT is((SELECT array_agg(DISTINCT status) FROM retention.purge_log
           WHERE policy_name = 'fail_e4' AND id > :log_max_before), ARRAY['ok'],
          'run(): the healthy policy is ok');
SELECT is((SELECT status FROM retention.audit WHERE policy_name = 'fail_e3'), 'partial',
          'run(): the policy with one refused row is partial');
SELECT ok((SELECT status FROM retention.audit WHERE policy_name = 'fail_e1') IN ('partial', 'failed'),
          'run(): the policy whose keep_when raises is partial or failed');
SELECT is((SELECT row(count(*), min(status), min(rows_affected))::text FROM retention.purge_log
           WHERE policy_name = 'fail_e2' AND id > :log_max_before),
          row(1::bigint, 'failed', 0::bigint)::text,
          'run(): the policy whose table was dropped is recorded once as failed');
SELECT ok((SELECT bool_and(error IS NOT NULL AND relation LIKE '%fail_e2%') FROM retention.purge_log
           WHERE policy_name = 'fail_e2' AND id > :log_max_before),
          'run(): the failed run keeps the error and the name of the dropped relation');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'fail_e2'), 'failed',
          'run(): retention.policies shows the failure');
SELECT cmp_ok((SELECT consecutive_failures FROM retention.policies WHERE name = 'fail_e2'), '>=', 1,
              'run(): retention.policies counts the consecutive failure');
SELECT is((SELECT consecutive_failures FROM retention.policies WHERE name = 'fail_e4'), 0,
          'run(): the healthy policy has no failures');
SELECT is((SELECT count(*) FROM retention.purge_log
           WHERE policy_name IN ('fail_fk', 'fail_trg', 'fail_multi', 'fail_fine')
             AND id > :log_max_before), 0::bigint,
          'run(): the disabled policies did not run');

SELECT lives_ok($$SELECT retention.alter_policy('fail_e2', enabled => false)$$,
                'the policy of a dropped table can still be altered (disabled)');
SELECT lives_ok($$SELECT retention.drop_policy('fail_e2')$$,
                'the policy of a dropped table can be dropped');

SELECT fail_collect(ARRAY['fail_e1', 'fail_e2', 'fail_e3']) AS collected \gset
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_e2'), 1::bigint,
          'NOTIFY: one alert for the failed run');
SELECT is((SELECT array_agg(payload::jsonb ->> 'status') FROM fail_notes
           WHERE payload::jsonb ->> 'policy' = 'fail_e2'), ARRAY['failed'], 'NOTIFY: its status is failed');
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_e3'), 1::bigint,
          'NOTIFY: one alert for the partial run');
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_e1'), 1::bigint,
          'NOTIFY: one alert for the run whose keep_when raises');
SELECT is((SELECT count(*) FROM fail_notes WHERE payload::jsonb ->> 'policy' = 'fail_e4'), 0::bigint,
          'NOTIFY: no alert for the healthy policy');

SELECT dblink_disconnect('fail_listen') AS disconnected \gset

SELECT * FROM finish();

-- failure_10k: one undeletable row in a batch of 10,000 expired rows is isolated; the other
-- 9,999 are deleted in that batch (rows_affected 9999, rows_failed 1, status partial)
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

SELECT plan(16);

-- A. a BEFORE DELETE trigger refuses row 4321 -----------------------------------------------
CREATE TABLE big_trg (id int PRIMARY KEY, created_at timestamptz NOT NULL, payload text);
CREATE FUNCTION big_trg_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 4321 THEN
        RAISE EXCEPTION 'big_trg keeps row %', OLD.id;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER big_trg_guard BEFORE DELETE ON big_trg FOR EACH ROW EXECUTE FUNCTION big_trg_guard();
INSERT INTO big_trg
SELECT g, CASE WHEN g <= 10000 THEN now() - interval '100 days' ELSE now() END, repeat('x', 50)
FROM generate_series(1, 10010) AS g;
SELECT retention.add_policy('big_trg', 'big_trg', 'created_at', '30 days', batch_size => 10000,
                            enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('big_trg')), 10000::bigint,
          'trigger: 10,000 rows are expired');
CALL retention.run('big_trg');
SELECT is((SELECT array_agg(id ORDER BY id) FROM big_trg WHERE id <= 10000), ARRAY[4321],
          'trigger: exactly the refused row is left of the 10,000 expired rows');
SELECT is((SELECT count(*) FROM big_trg WHERE id > 10000), 10::bigint,
          'trigger: the 10 recent rows are untouched');
SELECT is((SELECT array_agg(row(rows_affected, rows_failed, status)::text) FROM retention.purge_log
           WHERE policy_name = 'big_trg' AND rows_affected > 0),
          ARRAY[row(9999::bigint, 1::bigint, 'partial')::text],
          'trigger: one batch with rows_affected 9999, rows_failed 1, status partial');
SELECT is((SELECT row(sum(rows_affected), sum(rows_failed))::text FROM retention.purge_log
           WHERE policy_name = 'big_trg'),
          row(9999::numeric, 1::numeric)::text, 'trigger: the run as a whole counts 9999 and 1');
SELECT ok((SELECT bool_and(error LIKE '%big_trg keeps row 4321%') FROM retention.purge_log
           WHERE policy_name = 'big_trg' AND rows_affected > 0),
          'trigger: the error is recorded');
SELECT is((SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE policy_name = 'big_trg'),
          1::bigint, 'trigger: one run');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'big_trg'),
          row('partial', 9999::bigint, 1::bigint)::text, 'trigger: retention.audit agrees');

-- B. a foreign key without cascade holds on to row 777 ---------------------------------------
CREATE TABLE big_fk (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE big_fk_ref (id int PRIMARY KEY, big_id int NOT NULL REFERENCES big_fk (id));
INSERT INTO big_fk SELECT g, now() - interval '100 days' FROM generate_series(1, 10000) AS g;
INSERT INTO big_fk_ref VALUES (1, 777);
SELECT retention.add_policy('big_fk', 'big_fk', 'created_at', '30 days', batch_size => 10000,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('big_fk');
SELECT is((SELECT array_agg(id) FROM big_fk), ARRAY[777],
          'FK: exactly the referenced row is left of the 10,000 expired rows');
SELECT is((SELECT count(*) FROM big_fk_ref), 1::bigint, 'FK: the referencing row is untouched');
SELECT is((SELECT array_agg(row(rows_affected, rows_failed, status)::text) FROM retention.purge_log
           WHERE policy_name = 'big_fk' AND rows_affected > 0),
          ARRAY[row(9999::bigint, 1::bigint, 'partial')::text],
          'FK: one batch with rows_affected 9999, rows_failed 1, status partial');
SELECT is((SELECT row(sum(rows_affected), sum(rows_failed))::text FROM retention.purge_log
           WHERE policy_name = 'big_fk'),
          row(9999::numeric, 1::numeric)::text, 'FK: the run as a whole counts 9999 and 1');
SELECT ok((SELECT bool_and(error ~ 'foreign key') FROM retention.purge_log
           WHERE policy_name = 'big_fk' AND rows_affected > 0),
          'FK: the error names the foreign key');

-- C. the same with the default batch_size, run by CALL retention.run() ------------------------
CREATE TABLE big_dflt (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TRIGGER big_dflt_guard BEFORE DELETE ON big_dflt FOR EACH ROW EXECUTE FUNCTION big_trg_guard();
INSERT INTO big_dflt SELECT g, now() - interval '100 days' FROM generate_series(1, 10000) AS g;
SELECT retention.add_policy('big_dflt', 'big_dflt', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
SELECT retention.alter_policy('big_dflt', enabled => true) IS NULL AS altered \gset
CALL retention.run();
SELECT is((SELECT array_agg(id) FROM big_dflt), ARRAY[4321],
          'default batch_size via run(): only the refused row is left');
SELECT is((SELECT array_agg(row(rows_affected, rows_failed)::text) FROM retention.purge_log
           WHERE policy_name = 'big_dflt' AND rows_affected > 0),
          ARRAY[row(9999::bigint, 1::bigint)::text], 'default batch_size via run(): 9999 deleted, 1 failed');
SELECT is((SELECT count(DISTINCT run_id) FROM retention.purge_log
           WHERE policy_name IN ('big_trg', 'big_fk')), 2::bigint,
          'run(): the disabled policies did not run again');

SELECT * FROM finish();

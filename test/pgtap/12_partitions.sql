-- partitions: premake aligned to the calendar, rows moved out of the default partition, whole
-- expired partitions dropped by their catalog bounds (never their names), partitions that
-- keep_when keeps or that straddle the cutoff purged row by row, lock timeouts, archive_to,
-- date / timestamp / timestamptz keys, refusals.
-- Runs CALL retention.run(), so no BEGIN/ROLLBACK; a second session comes from dblink.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(50);

-- bounds of a partition as the catalog has them
CREATE FUNCTION bounds(part regclass) RETURNS text[] LANGUAGE sql AS $$
    SELECT m
    FROM pg_class c,
         regexp_match(pg_get_expr(c.relpartbound, c.oid), $r$FROM \('([^']*)'\) TO \('([^']*)'\)$r$) m
    WHERE c.oid = part
$$;
CREATE FUNCTION partitions_of(parent regclass) RETURNS SETOF regclass LANGUAGE sql AS $$
    SELECT relid FROM pg_partition_tree(parent) WHERE level = 1 ORDER BY relid::text
$$;

-- A. daily timestamptz partitions; every row starts in the default partition ---------------------
CREATE TABLE ev (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, body text)
    PARTITION BY RANGE (at);
CREATE INDEX ON ev (at);
CREATE TABLE ev_default PARTITION OF ev DEFAULT;
-- one row per hour over 40 days, plus 5 rows 2 days ahead
INSERT INTO ev (at, body)
SELECT date_trunc('hour', now()) - g * interval '1 hour', 'past' FROM generate_series(0, 40 * 24 - 1) g;
INSERT INTO ev (at, body) SELECT now() + interval '2 days', 'future' FROM generate_series(1, 5);
SELECT retention.add_policy('ev', 'ev', 'at', '10 days', partition_interval => '1 day',
                            premake => 3, timezone => 'UTC', enabled => false) IS NOT NULL AS added \gset
SELECT (now() - interval '10 days') AS cutoff \gset
CREATE TABLE ev_before AS SELECT id, at FROM ev;

SELECT is((SELECT partitions_to_drop FROM retention.preview('ev')), '{}'::text[],
          'preview: rows in the default partition are no partition to drop');
CALL retention.run('ev');

SELECT is((SELECT count(*) FROM ONLY ev_default), 0::bigint,
          'every dated row left the default partition');
SELECT is((SELECT count(*) FROM ev_before b WHERE b.at >= :'cutoff'::timestamptz
           AND NOT EXISTS (SELECT FROM ev WHERE ev.id = b.id)), 0::bigint,
          'no unexpired row was removed');
SELECT is((SELECT count(*) FROM ev WHERE at < :'cutoff'::timestamptz), 0::bigint,
          'every expired row is gone');
SELECT is((SELECT count(*) FROM generate_series(0, 3) d
           WHERE to_regclass('ev_p' || to_char(current_date + d, 'YYYYMMDD')) IS NULL), 0::bigint,
          'partitions exist from today to premake (3) days ahead, named parent_pYYYYMMDD');
SELECT is((SELECT bounds('ev_p' || to_char(current_date + 1, 'YYYYMMDD'))),
          ARRAY[to_char(current_date + 1, 'YYYY-MM-DD') || ' 00:00:00+00',
                to_char(current_date + 2, 'YYYY-MM-DD') || ' 00:00:00+00'],
          'a premade partition spans midnight to midnight in the policy timezone');
SELECT is((SELECT count(*) FROM ev WHERE body = 'future'), 5::bigint,
          'future rows sit in their premade partition');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'ev' AND kind = 'drop_partition'),
          (SELECT count(DISTINCT date_trunc('day', at)) FROM ev_before
           WHERE date_trunc('day', at) + interval '1 day' <= :'cutoff'::timestamptz),
          'one drop_partition audit row per whole expired day');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'ev'),
          (SELECT count(*) FROM ev_before WHERE at < :'cutoff'::timestamptz)::numeric,
          'dropped and deleted rows together are exactly the expired rows');
SELECT is((SELECT count(*) FROM retention.purge_log l
           WHERE policy_name = 'ev' AND kind = 'drop_partition'
             AND rows_affected = (SELECT count(*) FROM ev_before
                                  WHERE 'public.ev_p' || to_char(at, 'YYYYMMDD') = l.partitions[1])),
          (SELECT count(*) FROM retention.purge_log WHERE policy_name = 'ev' AND kind = 'drop_partition'),
          'each drop_partition row counts the rows its partition held');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'ev' AND kind = 'delete'
           AND rows_affected > 0), 1::bigint,
          'the partition holding the cutoff is purged row by row');
SELECT ok((SELECT bool_and(status = 'ok' AND cardinality(partitions) = 1) FROM retention.purge_log
           WHERE policy_name = 'ev' AND kind = 'drop_partition'),
          'drop_partition rows are ok and name their partition');
SELECT is((SELECT count(*) FROM partitions_of('ev')), 15::bigint,
          'partitions: 11 days kept plus 3 premade plus the default');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'ev'), 'ok', 'the run is ok');
CALL retention.run('ev');
SELECT is((SELECT count(*) FROM partitions_of('ev')), 15::bigint,
          'a second run creates nothing new and overlaps nothing');

-- B. decisions use bounds, never names; a partition straddling the cutoff is purged in place ------
CREATE TABLE nm (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE nm_p20200101 PARTITION OF nm FOR VALUES FROM (current_date - 1) TO (current_date + 10);
CREATE TABLE nm_recent PARTITION OF nm FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE nm_wide PARTITION OF nm FOR VALUES FROM ('2020-02-01') TO (current_date - 1);
INSERT INTO nm VALUES (1, now()), (2, '2020-01-15'), (3, '2020-03-01'), (4, now() - interval '5 days');
SELECT retention.add_policy('nm', 'nm', 'at', '30 days', partition_interval => '1 month',
                            premake => 0, enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT partitions_to_drop FROM retention.preview('nm')), '{public.nm_recent}'::text[],
          'preview names the partition whose bounds are expired, whatever its name');
SELECT is((SELECT rows_expired FROM retention.preview('nm')), 2::bigint,
          'preview counts rows inside partitions to drop');
CALL retention.run('nm');
SELECT ok(to_regclass('nm_recent') IS NULL AND to_regclass('nm_p20200101') IS NOT NULL,
          'the old-bounded partition is dropped, the recent one named like an old one stays');
SELECT ok(to_regclass('nm_wide') IS NOT NULL, 'a partition whose upper bound passes the cutoff is not dropped');
SELECT is((SELECT array_agg(id ORDER BY id) FROM nm), '{1,4}'::int[],
          'its expired row is deleted in place, its recent row stays');

-- B2. the row count of a dropped partition is exact, vacuumed (all-visible) or not --------------
CREATE TABLE cnt (id int, at timestamptz NOT NULL, note text) PARTITION BY RANGE (at);
CREATE TABLE cnt_a PARTITION OF cnt FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
CREATE TABLE cnt_b PARTITION OF cnt FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
INSERT INTO cnt SELECT g, '2024-01-01'::timestamptz + (g * 37 % 172800) * interval '1 second', 'n'
FROM generate_series(1, 5000) g;
UPDATE cnt SET note = 'updated' WHERE id % 7 = 0;
VACUUM cnt_a;                                   -- all pages all-visible again
DELETE FROM cnt WHERE id % 5 = 0 AND at >= '2024-01-02';  -- cnt_b keeps dead rows
CREATE TABLE cnt_before AS SELECT tableoid::regclass::text AS part, count(*) AS n FROM cnt GROUP BY 1;
SELECT retention.add_policy('cnt', 'cnt', 'at', '1 year', partition_interval => '1 day', premake => 0,
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('cnt');
SELECT is((SELECT array_agg(rows_affected ORDER BY partitions[1]) FROM retention.purge_log
           WHERE policy_name = 'cnt' AND kind = 'drop_partition'),
          (SELECT array_agg(n ORDER BY part) FROM cnt_before),
          'drop_partition counts the rows exactly, from an all-visible partition and from one with dead rows');

-- C. keep_when keeps a whole old partition alive while its expired rows go -----------------------
CREATE TABLE kw (id int, at date NOT NULL, pinned boolean NOT NULL DEFAULT false) PARTITION BY RANGE (at);
CREATE TABLE kw_old1 PARTITION OF kw FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE kw_old2 PARTITION OF kw FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
INSERT INTO kw VALUES (1, '2024-01-05', false), (2, '2024-01-06', true), (3, '2024-01-07', false),
                      (4, '2024-02-05', false), (5, '2024-02-06', false);
SELECT retention.add_policy('kw', 'kw', 'at', '1 year', keep_when => 'pinned',
                            partition_interval => '1 month', premake => 1, enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT partitions_to_drop FROM retention.preview('kw')), '{public.kw_old2}'::text[],
          'preview: a partition with a row kept by keep_when is not to drop');
CALL retention.run('kw');
SELECT ok(to_regclass('kw_old1') IS NOT NULL AND to_regclass('kw_old2') IS NULL,
          'keep_when keeps its partition; the other old partition is dropped');
SELECT is((SELECT array_agg(id ORDER BY id) FROM kw), '{2}'::int[],
          'the kept partition''s expired rows are deleted in place, the pinned row stays');
SELECT is((SELECT bounds(p) FROM partitions_of('kw') p
           WHERE p::text = 'kw_p' || to_char(date_trunc('month', now()), 'YYYYMMDD')),
          ARRAY[to_char(date_trunc('month', now()), 'YYYY-MM-DD'),
                to_char(date_trunc('month', now()) + interval '1 month', 'YYYY-MM-DD')],
          'date key, monthly: partitions start on the 1st');
SELECT is((SELECT count(*) FROM partitions_of('kw') WHERE partitions_of::text LIKE 'kw\_p%'), 2::bigint,
          'premake 1: this month and the next');

-- C2. a legal hold keeps a whole old partition alive while its other expired rows go ---------------
CREATE TABLE hd (id int, tenant int NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE hd_old1 PARTITION OF hd FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE hd_old2 PARTITION OF hd FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
INSERT INTO hd VALUES (1, 10, '2024-01-05'), (2, 20, '2024-01-06'), (3, 10, '2024-01-07'),
                      (4, 10, '2024-02-05'), (5, 10, '2024-02-06');
SELECT retention.add_policy('hd', 'hd', 'at', '1 year', tenant_column => 'tenant',
                            partition_interval => '1 month', premake => 0, enabled => false) IS NOT NULL AS added \gset
SELECT retention.place_hold('litigation of tenant 20', tenant => '20') AS hold_id \gset
SELECT is((SELECT row(partitions_to_drop, rows_expired, rows_held)::text FROM retention.preview('hd')),
          row('{public.hd_old2}'::text[], 4::bigint, 1::bigint)::text,
          'preview: the held row keeps its partition off the drop list and counts as held');
CALL retention.run('hd');
SELECT ok(to_regclass('hd_old1') IS NOT NULL AND to_regclass('hd_old2') IS NULL,
          'a hold on one row keeps its partition; the other old partition is dropped');
SELECT is((SELECT array_agg(id ORDER BY id) FROM hd), '{2}'::int[],
          'the held partition''s other expired rows are deleted in place; the held row stays');
SELECT retention.release_hold(:hold_id);
CALL retention.run('hd');
SELECT ok(to_regclass('hd_old1') IS NULL, 'once the hold is released, the partition is dropped');

-- D. timestamp key, weekly: slots start on Mondays --------------------------------------------
CREATE TABLE wk (at timestamp NOT NULL) PARTITION BY RANGE (at);
SELECT retention.add_policy('wk', 'wk', 'at', '8 weeks', partition_interval => '7 days',
                            premake => 2, timezone => 'Europe/Berlin', enabled => false) IS NOT NULL AS added \gset
CALL retention.run('wk');
SELECT is((SELECT count(*) FROM partitions_of('wk')), 3::bigint, 'weekly: this week and 2 ahead');
SELECT ok((SELECT bool_and(extract(isodow FROM b[1]::timestamp) = 1
                    AND b[1]::timestamp = date_trunc('day', b[1]::timestamp)
                    AND b[2]::timestamp - b[1]::timestamp = interval '7 days')
           FROM partitions_of('wk') p, bounds(p) b),
          'weekly partitions run from Monday midnight to Monday midnight');
INSERT INTO wk VALUES (now()::timestamp);
SELECT is((SELECT count(*) FROM ONLY wk), 0::bigint, 'a current row lands in a premade partition');

-- E. a lock held by a long transaction: the drop gives up, traffic never waits -----------------
CREATE TABLE lk (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE lk_old PARTITION OF lk FOR VALUES FROM ('2023-01-01') TO ('2023-01-02');
CREATE TABLE lk_old2 PARTITION OF lk FOR VALUES FROM ('2023-01-02') TO ('2023-01-03');
CREATE TABLE lk_now PARTITION OF lk FOR VALUES FROM (current_date - 1) TO (current_date + 30);
INSERT INTO lk VALUES (1, '2023-01-01 10:00'), (2, '2023-01-01 11:00'), (3, '2023-01-02 10:00'), (4, now());
SELECT retention.add_policy('lk', 'lk', 'at', '30 days', partition_interval => '1 day',
                            premake => 0, enabled => false) IS NOT NULL AS added \gset
SELECT dblink_connect('holder', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                        split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('holder', 'BEGIN');
SELECT * FROM dblink('holder', 'SELECT count(*) FROM lk_old') AS t(n bigint);
SELECT dblink_connect('runner', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                        split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('runner', 'SET retention.lock_timeout = ''3s''');
SELECT dblink_send_query('runner', 'CALL retention.run(''lk'')');
SELECT pg_sleep(0.5);
SELECT clock_timestamp() AS t0 \gset
INSERT INTO lk VALUES (5, now());
SELECT count(*) FROM lk \gset
SELECT clock_timestamp() AS t1 \gset
SELECT cmp_ok(:'t1'::timestamptz - :'t0'::timestamptz, '<', interval '200 ms',
              'while the drop waits for a lock, inserts and selects on the table do not wait');
SELECT * FROM dblink_get_result('runner') AS t(r text);
SELECT * FROM dblink_get_result('runner') AS t(r text);
SELECT ok(to_regclass('lk_old') IS NOT NULL, 'the locked partition is kept for the next run');
SELECT ok(to_regclass('lk_old2') IS NULL, 'the run went on and dropped the other expired partition');
SELECT is((SELECT array_agg(id ORDER BY id) FROM lk), '{1,2,4,5}'::int[],
          'the kept partition''s rows are not deleted row by row meanwhile');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'lk'), 'partial', 'the run ends partial');
SELECT ok((SELECT status = 'partial' AND partitions = '{public.lk_old}' AND error LIKE '%lock_timeout%'
           FROM retention.purge_log WHERE policy_name = 'lk' AND kind = 'drop_partition' AND status <> 'ok'),
          'the timed-out drop is on record with its partition and error');
SELECT dblink_exec('holder', 'COMMIT');
CALL retention.run('lk');
SELECT ok(to_regclass('lk_old') IS NULL, 'the next run drops it');
SELECT is((SELECT array_agg(id ORDER BY id) FROM lk), '{4,5}'::int[], 'only the recent rows remain');
SELECT dblink_disconnect('holder');
SELECT dblink_disconnect('runner');

-- F. archive_to: removed rows are first copied, from drops and in-place deletes alike -------------
CREATE TABLE ar (id int, at timestamptz NOT NULL, note text) PARTITION BY RANGE (at);
CREATE TABLE ar_archive (note text, at timestamptz, id int);
CREATE TABLE ar_old PARTITION OF ar FOR VALUES FROM ('2023-01-01') TO ('2023-02-01');
CREATE TABLE ar_wide PARTITION OF ar FOR VALUES FROM ('2023-02-01') TO (current_date + 1);
INSERT INTO ar VALUES (1, '2023-01-10', 'a'), (2, '2023-01-11', 'b'), (3, '2023-03-01', 'c'), (4, now(), 'd');
SELECT retention.add_policy('ar', 'ar', 'at', '90 days', partition_interval => '1 month',
                            premake => 0, archive_to => 'ar_archive', enabled => false) IS NOT NULL AS added \gset
CALL retention.run('ar');
SELECT is((SELECT array_agg(row(id, at, note)::text ORDER BY id) FROM ar_archive),
          ARRAY[row(1, '2023-01-10'::timestamptz, 'a')::text, row(2, '2023-01-11'::timestamptz, 'b')::text,
                row(3, '2023-03-01'::timestamptz, 'c')::text],
          'archive_to holds exactly the removed rows, matched by column name');
SELECT is((SELECT array_agg(id ORDER BY id) FROM ar), '{4}'::int[], 'and they are gone from the table');
SELECT is((SELECT array_agg(kind || ':' || rows_affected ORDER BY id) FROM retention.purge_log
           WHERE policy_name = 'ar' AND rows_affected > 0), '{drop_partition:2,delete:1}'::text[],
          'the drop and the delete are audited with their counts');

-- G. refusals --------------------------------------------------------------------------------
CREATE TABLE sp (at timestamptz NOT NULL, k int) PARTITION BY RANGE (at);
CREATE TABLE sp_a PARTITION OF sp FOR VALUES FROM ('2024-01-01') TO ('2024-02-01') PARTITION BY LIST (k);
SELECT throws_ok($$SELECT retention.add_policy('sp', 'sp', 'at', '1 year', partition_interval => '1 month')$$,
                 '22023', NULL, 'a sub-partitioned table is refused with 22023');
SELECT throws_ok($$SELECT retention.add_policy('ev_mixed', 'ev', 'at', '1 year', partition_interval => '1 month 2 days')$$,
                 '22023', NULL, 'a width that drifts against the calendar is refused with 22023');
CREATE TABLE plain_t (at timestamptz NOT NULL);
SELECT throws_ok($$SELECT retention.add_policy('plain', 'plain_t', 'at', '1 year', partition_interval => '1 day')$$,
                 '22023', NULL, 'partition_interval on a table that is not partitioned is refused with 22023');
SELECT throws_ok($$SELECT retention.add_policy('ev_expr', 'ev', 'at + interval ''1 day''', '1 year', partition_interval => '1 day')$$,
                 '22023', NULL, 'partition_interval with a trigger that is not the key column is refused with 22023');
SELECT is((SELECT count(*) FROM retention.policies WHERE name IN ('sp', 'ev_mixed', 'plain', 'ev_expr')),
          0::bigint, 'refused policies leave nothing behind');
SELECT is((SELECT ok FROM retention.verify_audit()), true, 'the audit chain verifies');

SELECT * FROM finish();

-- row_expression_errors: a row whose trigger, keep_when or anonymize expression raises is a row
-- failure like any other (SPEC "Failures"): it is isolated and left in place, counted once in
-- rows_failed, everything else expired is removed in the same run (status partial, the first
-- error naming the expression), unexpired rows are never touched, the next run does the same
-- again, and preview() counts such a row as not expired instead of raising.
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true
SET client_min_messages = error;

SELECT plan(35);

-- A. the trigger raises for one row (heap walk: the trigger is an expression) -----------------
CREATE TABLE sv2 (id int PRIMARY KEY, t timestamptz, d int);
INSERT INTO sv2 SELECT g, '2000-01-01'::timestamptz + g * '1 min'::interval, (g <> 5000)::int
FROM generate_series(1, 10000) g;
-- 100 unexpired rows, which no run may touch
INSERT INTO sv2 SELECT g, now() - interval '1 day', 1 FROM generate_series(10001, 10100) g;
SELECT retention.add_policy('sv2', 'sv2', 't + (10 / d) * interval ''1 day''', '1 year',
                            batch_size => 1000, enabled => false) IS NOT NULL AS added \gset
CREATE TABLE sv2_fresh AS SELECT id, xmin::text AS x FROM sv2 WHERE id > 10000;

SELECT lives_ok($$SELECT * FROM retention.preview('sv2')$$,
                'A: preview does not raise for a row whose trigger raises');
SELECT is((SELECT row(rows_expired, rows_held)::text FROM retention.preview('sv2')),
          row(9999::bigint, 0::bigint)::text,
          'A: preview counts the failing row as not expired');
SELECT is((SELECT rows_expired FROM retention.preview()
           WHERE policy = 'sv2'), 9999::bigint, 'A: preview of all policies counts the same');

CALL retention.run('sv2');
SELECT is((SELECT array_agg(id ORDER BY id) FROM sv2 WHERE id <= 10000), ARRAY[5000],
          'A: one run leaves exactly the failing row of the 10,000 expired rows');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv2'),
          row('partial', 9999::bigint, 1::bigint)::text,
          'A: the run is partial, rows_affected 9999, rows_failed 1');
SELECT ok((SELECT first_error LIKE 'the trigger of policy "sv2" raises an error for the row at ctid %'
                                   || 'of public.sv2: division by zero%'
           FROM retention.audit WHERE policy_name = 'sv2'),
          'A: the first error names the trigger, the row and the error');
SELECT is((SELECT count(*) FROM sv2 s JOIN sv2_fresh f ON f.id = s.id AND f.x = s.xmin::text),
          100::bigint, 'A: the 100 unexpired rows are untouched');

CALL retention.run('sv2');
SELECT is((SELECT array_agg(id ORDER BY id) FROM sv2 WHERE id <= 10000), ARRAY[5000],
          'A: a second run leaves the same row');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv2' ORDER BY run_id DESC LIMIT 1),
          row('partial', 0::bigint, 1::bigint)::text,
          'A: the second run is partial and counts the failing row once');
SELECT is((SELECT count(*) FROM sv2 s JOIN sv2_fresh f ON f.id = s.id AND f.x = s.xmin::text),
          100::bigint, 'A: the second run leaves the unexpired rows untouched too');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'sv2'), 'partial',
          'A: retention.policies shows the last run partial');

-- B. keep_when raises for one row (index walk: the trigger is an indexed column) --------------
CREATE TABLE sv_keep (id int PRIMARY KEY, created_at timestamptz NOT NULL, d int NOT NULL);
CREATE INDEX ON sv_keep (created_at);
-- rows 1..3000, every 7th unexpired, row 1234 makes keep_when raise
INSERT INTO sv_keep
SELECT g, CASE WHEN g % 7 = 0 THEN now() - interval '1 day' ELSE now() - interval '100 days' END
          + g * interval '1 second',
       CASE WHEN g = 1234 THEN 0 ELSE 1 END
FROM generate_series(1, 3000) g;
SELECT retention.add_policy('sv_keep', 'sv_keep', 'created_at', '30 days', batch_size => 500,
                            keep_when => '10 / d = 0', enabled => false) IS NOT NULL AS added \gset
CREATE TABLE sv_keep_fresh AS SELECT id, xmin::text AS x FROM sv_keep WHERE id % 7 = 0;

SELECT is((SELECT rows_expired FROM retention.preview('sv_keep')),
          (SELECT count(*) - 1 FROM sv_keep WHERE id % 7 <> 0),
          'B: preview counts every expired row but the one whose keep_when raises');
CALL retention.run('sv_keep');
SELECT is((SELECT array_agg(id ORDER BY id) FROM sv_keep WHERE id % 7 <> 0), ARRAY[1234],
          'B: one run leaves exactly the row whose keep_when raises');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv_keep'),
          row('partial', (3000 - 428 - 1)::bigint, 1::bigint)::text,
          'B: the run is partial, rows_affected 2571, rows_failed 1');
SELECT ok((SELECT first_error LIKE 'the keep_when of policy "sv_keep" raises an error for the row %'
                                   || 'division by zero%'
           FROM retention.audit WHERE policy_name = 'sv_keep'),
          'B: the first error names keep_when');
SELECT is((SELECT count(*) FROM sv_keep s JOIN sv_keep_fresh f ON f.id = s.id AND f.x = s.xmin::text),
          428::bigint, 'B: the 428 unexpired rows are untouched');
CALL retention.run('sv_keep');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv_keep' ORDER BY run_id DESC LIMIT 1),
          row('partial', 0::bigint, 1::bigint)::text,
          'B: a second run isolates the same row again, once');
SELECT is((SELECT count(*) FROM sv_keep), 429::bigint, 'B: the second run removes nothing more');
SELECT is((SELECT rows_expired FROM retention.preview('sv_keep')), 0::bigint,
          'B: preview after the runs: nothing expired');

-- C. an anonymize expression raises for one row --------------------------------------------
CREATE TABLE sv_anon (id int PRIMARY KEY, t timestamptz NOT NULL, email text, d int NOT NULL);
INSERT INTO sv_anon
SELECT g, CASE WHEN g > 50 THEN now() - interval '1 day' ELSE now() - interval '100 days' END,
       'user' || g || '@example.com', CASE WHEN g = 17 THEN 0 ELSE 1 END
FROM generate_series(1, 60) g;
SELECT retention.add_policy('sv_anon', 'sv_anon', 't', '30 days', action => 'anonymize',
                            anonymize => '{"email": "''gone '' || (10 / d)"}', batch_size => 20,
                            enabled => false) IS NOT NULL AS added \gset
CREATE TABLE sv_anon_before AS SELECT *, xmin::text AS xmin_text FROM sv_anon;

SELECT lives_ok($$SELECT * FROM retention.preview('sv_anon')$$,
                'C: preview does not raise for a row whose anonymize expression raises');
SELECT is((SELECT rows_expired FROM retention.preview('sv_anon')), 49::bigint,
          'C: preview counts the 49 other expired rows');
CALL retention.run('sv_anon');
SELECT is((SELECT count(*) FROM sv_anon WHERE id <= 50 AND email = 'gone 10'), 49::bigint,
          'C: the 49 other expired rows are anonymised');
SELECT is((SELECT email FROM sv_anon WHERE id = 17), 'user17@example.com',
          'C: the failing row keeps its value');
SELECT is((SELECT count(*) FROM sv_anon a JOIN sv_anon_before b USING (id)
           WHERE a.id > 50 AND a.xmin::text = b.xmin_text AND a.email = b.email),
          10::bigint, 'C: the 10 unexpired rows are untouched');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv_anon'),
          row('partial', 49::bigint, 1::bigint)::text,
          'C: the run is partial, rows_affected 49, rows_failed 1');
SELECT ok((SELECT first_error LIKE 'the anonymize expression of policy "sv_anon" raises an error %'
           FROM retention.audit WHERE policy_name = 'sv_anon'),
          'C: the first error names the anonymize expression');
CALL retention.run('sv_anon');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv_anon' ORDER BY run_id DESC LIMIT 1),
          row('partial', 0::bigint, 1::bigint)::text,
          'C: a second run touches nothing and reports the failing row once');
SELECT is((SELECT rows_expired FROM retention.preview('sv_anon')), 0::bigint,
          'C: preview after the run: nothing left to anonymise');

-- D. many failing rows in one batch, the run goes on to the next batches --------------------
CREATE TABLE sv_many (id int PRIMARY KEY, t timestamptz NOT NULL, d int NOT NULL);
INSERT INTO sv_many
SELECT g, now() - interval '100 days', CASE WHEN g % 100 IN (3, 50) THEN 0 ELSE 1 END
FROM generate_series(1, 1000) g;
SELECT retention.add_policy('sv_many', 'sv_many', 't', '30 days', keep_when => '1 / d < 0',
                            batch_size => 64, enabled => false) IS NOT NULL AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('sv_many')), 980::bigint,
          'D: preview counts the 980 rows without failure');
CALL retention.run('sv_many');
SELECT is((SELECT array_agg(id ORDER BY id) FROM sv_many),
          (SELECT array_agg(g ORDER BY g) FROM generate_series(1, 1000) g WHERE g % 100 IN (3, 50)),
          'D: exactly the 20 failing rows are left');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv_many'),
          row('partial', 980::bigint, 20::bigint)::text,
          'D: rows_affected 980, rows_failed 20 (each failing row once)');
SELECT is((SELECT sum(rows_failed) FROM retention.purge_log WHERE policy_name = 'sv_many'),
          20::numeric, 'D: the audit units count each failing row once');

-- E. a tenant with a shorter period walked apart (see ShortTenant): its failing row, older than
-- the policy's own cutoff, is met by the main walk only, and counted once
CREATE TABLE sv_split (id int PRIMARY KEY, tenant int NOT NULL, t timestamptz NOT NULL, d int NOT NULL);
INSERT INTO sv_split SELECT g, g % 50, now() - g * interval '346 s', CASE WHEN g = 99951 THEN 0 ELSE 1 END
FROM generate_series(1, 100000) g;  -- 400 days; row 99951: tenant 1, about 400 days old
CREATE INDEX ON sv_split (t);
CREATE INDEX ON sv_split (tenant, t);
VACUUM ANALYZE sv_split;
SELECT retention.add_policy('sv_split', 'sv_split', 't', '390 days', keep_when => '10 / d = 0',
                            tenant_column => 'tenant', batch_size => 500, enabled => false)
       IS NOT NULL AS added \gset
SELECT retention.set_tenant_retain('sv_split', '1', '30 days') IS NULL AS set \gset
SELECT (SELECT count(*) FROM sv_split WHERE t < now() - interval '390 days'
                                         OR (tenant = 1 AND t < now() - interval '30 days')) - 1
       AS split_expected \gset
CALL retention.run('sv_split');
SELECT ok(EXISTS (SELECT FROM retention.purge_log WHERE policy_name = 'sv_split'
                  AND cutoff > now() - interval '31 days'),
          'E: the short tenant was walked apart (a unit records its cutoff)');
SELECT is((SELECT array_agg(id) FROM sv_split WHERE t < now() - interval '390 days'
                                                 OR (tenant = 1 AND t < now() - interval '30 days')),
          ARRAY[99951], 'E: exactly the failing row is left');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'sv_split'),
          row('partial', :split_expected::bigint, 1::bigint)::text,
          'E: the failing row is counted once');

SELECT * FROM finish();

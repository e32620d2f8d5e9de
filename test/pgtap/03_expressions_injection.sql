-- expressions_injection: trigger and keep_when are parsed as single expressions; attempts to
-- smuggle SQL in are refused (42601) or harmless; quoted identifiers work end to end
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

-- try_sql(sql): runs sql and returns 'ok', or the SQLSTATE it raised
CREATE FUNCTION inj_try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- inj_make(t): a table t with 10 expired rows (ids 1-10) and 10 recent ones (ids 11-20)
CREATE FUNCTION inj_make(t text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, created_at timestamptz, pinned boolean)', t);
    EXECUTE format('INSERT INTO %I SELECT g, CASE WHEN g <= 10 THEN now() - interval ''400 days''
                    ELSE now() - interval ''1 day'' END, false FROM generate_series(1, 20) g', t);
END
$$;

CREATE TABLE inj_victim (id int);
INSERT INTO inj_victim VALUES (1), (2), (3);
SELECT inj_make('inj_events');

SELECT plan(46);

-- refused outright ------------------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.add_policy('inj_1', 'inj_events',
                    'created_at; DROP TABLE inj_victim', '30 days', enabled => false)$$,
                 '42601', NULL, 'trigger: a second statement after the expression is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_2', 'inj_events',
                    'created_at) IS NOT NULL OR (true', '30 days', enabled => false)$$,
                 '42601', NULL, 'trigger: closing the parenthesis early is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_3', 'inj_events',
                    'created_at)); DROP TABLE inj_victim; --', '30 days', enabled => false)$$,
                 '42601', NULL, 'trigger: closing parentheses, a statement and a comment are refused');
SELECT ok(inj_try($$SELECT retention.add_policy('inj_4', 'inj_events',
                    '(SELECT 1) FROM pg_class --', '30 days', enabled => false)$$) IN ('42601', '42804'),
          'trigger: a FROM clause behind a subquery is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_5', 'inj_events',
                    $x$created_at' ; DROP TABLE inj_victim; --$x$, '30 days', enabled => false)$$,
                 '42601', NULL, 'trigger: an unterminated quote is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_6', 'inj_events',
                    'created_at /* unterminated', '30 days', enabled => false)$$,
                 '42601', NULL, 'trigger: an unterminated comment is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_7', 'inj_events', 'created_at',
                    '30 days', keep_when => 'false; DROP TABLE inj_victim', enabled => false)$$,
                 '42601', NULL, 'keep_when: a second statement is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_8', 'inj_events', 'created_at',
                    '30 days', keep_when => 'false) OR (true', enabled => false)$$,
                 '42601', NULL, 'keep_when: closing the parenthesis early (false) OR (true) is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_9', 'inj_events', 'created_at',
                    '30 days', keep_when => 'true) OR (false', enabled => false)$$,
                 '42601', NULL, 'keep_when: closing the parenthesis early (true) OR (false) is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_10', 'inj_events', 'created_at',
                    '30 days', keep_when => 'false); DELETE FROM inj_victim WHERE (true',
                    enabled => false)$$,
                 '42601', NULL, 'keep_when: a DELETE smuggled between parentheses is refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_11', 'inj_events', 'created_at',
                    '30 days', keep_when => 'false) --', enabled => false)$$,
                 '42601', NULL, 'keep_when: a parenthesis and a comment are refused');
SELECT throws_ok($$SELECT retention.add_policy('inj_12', 'inj_events', 'created_at', '30 days',
                    tenant_column => 'id; DROP TABLE inj_victim', enabled => false)$$,
                 '42703', NULL, 'tenant_column: SQL in a column name is just an unknown column');
SELECT throws_ok($$SELECT retention.add_policy('inj_13', 'inj_events', 'created_at', '30 days',
                    subject_column => 'id" ; DROP TABLE inj_victim; --', enabled => false)$$,
                 '42703', NULL, 'subject_column: SQL in a column name is just an unknown column');

SELECT has_table('inj_victim', 'the victim table still exists after the refused attempts');
SELECT is((SELECT count(*) FROM inj_victim), 3::bigint, 'the victim table still has its rows');
SELECT is((SELECT count(*) FROM inj_events), 20::bigint, 'the policy table is untouched');
SELECT is((SELECT count(*) FROM retention.policies), 0::bigint, 'no refused attempt added a policy');

-- accepted only when harmless: comments inside an otherwise valid expression ------------------
-- Each gets its own table; when the policy is accepted, a run removes exactly the 10 expired rows.
SELECT inj_make('inj_c1');
SELECT inj_make('inj_c2');
SELECT inj_make('inj_c3');
SELECT inj_make('inj_c4');
SELECT inj_try($$SELECT retention.add_policy('inj_c1', 'inj_c1', 'created_at --',
                 '30 days', enabled => false)$$) AS c1 \gset
SELECT inj_try($$SELECT retention.add_policy('inj_c2', 'inj_c2', 'created_at /* ) OR (true */',
                 '30 days', enabled => false)$$) AS c2 \gset
SELECT inj_try($$SELECT retention.add_policy('inj_c3', 'inj_c3', 'created_at',
                 '30 days', keep_when => 'false --', enabled => false)$$) AS c3 \gset
SELECT inj_try($$SELECT retention.add_policy('inj_c4', 'inj_c4', 'created_at',
                 '30 days', keep_when => 'pinned /* comment */ OR id = 5', enabled => false)$$) AS c4 \gset
SELECT ok(:'c1' IN ('ok', '42601'), 'trigger with a trailing -- comment: accepted or 42601');
SELECT ok(:'c2' IN ('ok', '42601'), 'trigger with a /* */ comment: accepted or 42601');
SELECT ok(:'c3' IN ('ok', '42601'), 'keep_when with a trailing -- comment: accepted or 42601');
SELECT is(:'c4'::text, 'ok', 'keep_when with a /* */ comment inside a valid predicate is accepted');

SELECT :'c1' = 'ok' AS c1_ok, :'c2' = 'ok' AS c2_ok, :'c3' = 'ok' AS c3_ok \gset
\if :c1_ok
CALL retention.run('inj_c1');
\endif
\if :c2_ok
CALL retention.run('inj_c2');
\endif
\if :c3_ok
CALL retention.run('inj_c3');
\endif
CALL retention.run('inj_c4');

SELECT is((SELECT array_agg(id ORDER BY id) FROM inj_c1),
          CASE WHEN :'c1_ok'::boolean THEN ARRAY(SELECT generate_series(11, 20))
               ELSE ARRAY(SELECT generate_series(1, 20)) END,
          'trigger with a -- comment: only expired rows were removed');
SELECT is((SELECT array_agg(id ORDER BY id) FROM inj_c2),
          CASE WHEN :'c2_ok'::boolean THEN ARRAY(SELECT generate_series(11, 20))
               ELSE ARRAY(SELECT generate_series(1, 20)) END,
          'trigger with a /* ) OR (true */ comment: only expired rows were removed');
SELECT is((SELECT array_agg(id ORDER BY id) FROM inj_c3),
          CASE WHEN :'c3_ok'::boolean THEN ARRAY(SELECT generate_series(11, 20))
               ELSE ARRAY(SELECT generate_series(1, 20)) END,
          'keep_when with a -- comment: only expired rows were removed');
SELECT is((SELECT array_agg(id ORDER BY id) FROM inj_c4),
          ARRAY[5] || ARRAY(SELECT generate_series(11, 20)),
          'keep_when with a comment: expired rows were removed except the kept one');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name LIKE 'inj\_c_'
           AND status <> 'ok'), 0::bigint, 'every accepted policy ran without error');
SELECT has_table('inj_victim', 'the victim table still exists after the runs');
SELECT is((SELECT count(*) FROM inj_victim), 3::bigint, 'the victim table still has its rows after the runs');

-- quoted identifiers end to end --------------------------------------------------------------
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Weird Table" (
    "Id"      int PRIMARY KEY,
    "Sent At" timestamptz,
    "Keep Me" boolean
);
INSERT INTO "Odd Schema"."Weird Table"
SELECT g,
       CASE WHEN g <= 6 THEN now() - interval '100 days' ELSE now() - interval '1 day' END,
       g IN (2, 8)
FROM generate_series(1, 10) AS g;

SELECT throws_ok($$SELECT retention.add_policy('inj_weird', '"Odd Schema"."Weird Table"',
                    '"sent at"', '30 days', enabled => false)$$,
                 '42703', NULL, 'a quoted identifier is case-sensitive ("sent at" is unknown)');
SELECT throws_ok($$SELECT retention.add_policy('inj_weird', '"Odd Schema"."Weird Table"',
                    'sent_at', '30 days', enabled => false)$$,
                 '42703', NULL, 'an unquoted name does not match "Sent At"');
SELECT lives_ok($$SELECT retention.add_policy('inj_weird', '"Odd Schema"."Weird Table"',
                   '"Sent At"', '30 days', keep_when => '"Weird Table"."Keep Me"',
                   enabled => false)$$,
                'a policy on "Odd Schema"."Weird Table" with trigger "Sent At" is accepted');
SELECT is((SELECT rows_expired FROM retention.preview('inj_weird')), 5::bigint,
          'preview counts the expired rows of the quoted table');
CALL retention.run('inj_weird');
SELECT is((SELECT array_agg("Id" ORDER BY "Id") FROM "Odd Schema"."Weird Table"),
          ARRAY[2, 7, 8, 9, 10], 'the run removed the expired rows, keeping "Keep Me" rows');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'inj_weird'),
          5::numeric, 'purge_log counts the 5 removed rows');
SELECT ok((SELECT bool_and(status = 'ok') FROM retention.purge_log WHERE policy_name = 'inj_weird'),
          'the run on the quoted table succeeded');

CREATE TABLE "it's ""odd""" (id int PRIMARY KEY, "when's" timestamp, "a""b" boolean);
INSERT INTO "it's ""odd""" VALUES
    (1, localtimestamp - interval '100 days', false),
    (2, localtimestamp - interval '100 days', true),
    (3, localtimestamp - interval '1 day', false),
    (4, NULL, false);
SELECT lives_ok($$SELECT retention.add_policy('inj_quote''s', '"it''s ""odd"""', '"when''s"',
                   '30 days', keep_when => '"a""b"', enabled => false, timezone => 'UTC')$$,
                'quotes inside table, column and policy names are accepted');
CALL retention.run('inj_quote''s');
SELECT is((SELECT array_agg(id ORDER BY id) FROM "it's ""odd"""), ARRAY[2, 3, 4],
          'the run on a table whose names contain quotes removed exactly the expired row');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'inj_quote''s'),
          1::numeric, 'purge_log records the policy name with its quote');

-- renaming is harmless: a policy is bound to its relation and columns by identity
SELECT lives_ok($$SELECT retention.add_policy('inj_renamed', 'inj_events', 'created_at',
                   '30 days', keep_when => 'pinned', enabled => false)$$,
                'a policy on inj_events is accepted');
ALTER TABLE inj_events RENAME COLUMN created_at TO "Created At";
ALTER TABLE inj_events RENAME COLUMN pinned TO "Pinned";
ALTER TABLE inj_events RENAME TO "Inj Events Renamed";
CALL retention.run('inj_renamed');
SELECT is((SELECT array_agg(id ORDER BY id) FROM "Inj Events Renamed"),
          ARRAY(SELECT generate_series(11, 20)),
          'after renaming the table and its columns the policy still removes the expired rows');
SELECT ok((SELECT bool_and(status = 'ok') FROM retention.purge_log WHERE policy_name = 'inj_renamed'),
          'the run after renames succeeded');
-- a dropped or retyped column fails visibly and never binds to another column by name
CREATE TABLE inj_rebind (id int PRIMARY KEY, created_at timestamptz, other_at timestamptz);
INSERT INTO inj_rebind SELECT g, now() - interval '400 days', now() FROM generate_series(1, 5) AS g;
CREATE TABLE inj_retype (id int PRIMARY KEY, created_at timestamptz);
INSERT INTO inj_retype SELECT g, now() - interval '400 days' FROM generate_series(1, 5) AS g;
SELECT retention.add_policy('inj_rebind', 'inj_rebind', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
SELECT retention.add_policy('inj_retype', 'inj_retype', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
ALTER TABLE inj_rebind DROP COLUMN created_at;
ALTER TABLE inj_rebind RENAME COLUMN other_at TO created_at;
ALTER TABLE inj_retype ALTER COLUMN created_at TYPE date;
CALL retention.run('inj_rebind');
CALL retention.run('inj_retype');
SELECT is((SELECT count(*) FROM inj_rebind), 5::bigint,
          'a policy whose trigger column was dropped does not use a new column of the same name');
SELECT is((SELECT array_agg(status) FROM retention.purge_log WHERE policy_name = 'inj_rebind'),
          ARRAY['failed'], 'its run is recorded as failed');
SELECT is((SELECT count(*) FROM inj_retype), 5::bigint,
          'a policy whose trigger column changed type removes nothing');
SELECT is((SELECT array_agg(status) FROM retention.purge_log WHERE policy_name = 'inj_retype'),
          ARRAY['failed'], 'its run is recorded as failed');

SELECT has_table('inj_victim', 'the victim table still exists at the end');

SELECT * FROM finish();

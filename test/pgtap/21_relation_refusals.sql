-- relation_refusals: a policy is put only on an ordinary or partitioned table of the database's
-- own data. add_policy, and add_policy's and alter_policy's archive_to, refuse system catalogs
-- and the extension's own tables (42501, even for a superuser: the tests run as one), temporary
-- tables (22023) and every other relation kind (42809; an archive may be a foreign table), and
-- change nothing. A policy left on such a relation (from 0.1.0, or by editing the catalog) is
-- refused by its runs, which end failed and touch nothing, and by preview.
-- Runs CALL retention.run(), so no BEGIN/ROLLBACK.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(54);

CREATE TABLE rr_t (id int PRIMARY KEY, at timestamptz NOT NULL);
CREATE VIEW rr_view AS SELECT * FROM rr_t;
CREATE MATERIALIZED VIEW rr_matview AS SELECT * FROM rr_t;
CREATE SEQUENCE rr_seq;
CREATE TYPE rr_composite AS (id int, at timestamptz);
CREATE FOREIGN DATA WRAPPER rr_fdw;
CREATE SERVER rr_server FOREIGN DATA WRAPPER rr_fdw;
CREATE FOREIGN TABLE rr_foreign (id int, at timestamptz) SERVER rr_server;
CREATE TEMP TABLE rr_temp (id int, at timestamptz);
CREATE TABLE _retention.rr_planted (id int, at timestamptz);
SELECT retention.add_policy('rr_ok', 'rr_t', 'at', '30 days', enabled => false) IS NOT NULL AS added \gset

-- the refused relations and their SQLSTATE: as a policy's relation, as add_policy's archive_to,
-- as alter_policy's archive_to
-- (trigger: a timestamp column of the relation where it has one, so that only the relation
-- itself is at fault)
CREATE TABLE rr_case (relation text PRIMARY KEY, sqlstate text NOT NULL, what text NOT NULL,
                      trigger text NOT NULL DEFAULT 'at');
INSERT INTO rr_case VALUES
    ('pg_catalog.pg_authid', '42501', 'the system catalog pg_authid', 'rolvaliduntil'),
    ('pg_catalog.pg_class', '42501', 'the system catalog pg_class', DEFAULT),
    ('information_schema.sql_features', '42501', 'a table of information_schema', DEFAULT),
    ('retention.purge_log', '42501', 'the audit log retention.purge_log', 'started_at'),
    ('_retention.policy', '42501', 'the extension''s table _retention.policy', 'created_at'),
    ('_retention.rr_planted', '42501', 'a table created in schema _retention', DEFAULT),
    ('rr_temp', '22023', 'a temporary table', DEFAULT),
    ('rr_view', '42809', 'a view', DEFAULT),
    ('rr_matview', '42809', 'a materialized view', DEFAULT),
    ('rr_seq', '42809', 'a sequence', DEFAULT),
    ('rr_t_pkey', '42809', 'an index', DEFAULT),
    ('rr_composite', '42809', 'a composite type', DEFAULT);

SELECT throws_ok(format($$SELECT retention.add_policy('rr_x', %L, %L, '30 days')$$, relation, trigger),
                 sqlstate, NULL, format('add_policy on %s is refused with %s', what, sqlstate))
FROM rr_case ORDER BY relation;
SELECT throws_ok($$SELECT retention.add_policy('rr_x', 'rr_foreign', 'at', '30 days')$$, '42809',
                 NULL, 'add_policy on a foreign table is refused with 42809');
SELECT throws_ok(format($$SELECT retention.add_policy('rr_x', 'rr_t', 'at', '30 days',
                                                      archive_to => %L)$$, relation),
                 sqlstate, NULL, format('add_policy archiving into %s is refused with %s', what, sqlstate))
FROM rr_case ORDER BY relation;
SELECT throws_ok(format($$SELECT retention.alter_policy('rr_ok', archive_to => %L)$$, relation),
                 sqlstate, NULL,
                 format('alter_policy archiving into %s is refused with %s', what, sqlstate))
FROM rr_case ORDER BY relation;
SELECT throws_ok($$SELECT retention.add_policy('rr_x', 'pg_authid', 'rolvaliduntil', '1 day')$$,
                 '42501', 'permission denied: "pg_catalog.pg_authid" is a system catalog',
                 'the refusal says why, in PostgreSQL''s words');

-- nothing changed
SELECT is((SELECT array_agg(name ORDER BY name) FROM _retention.policy), ARRAY['rr_ok'],
          'no refused call added a policy');
SELECT is((SELECT row(version, archive_to)::text FROM _retention.policy WHERE name = 'rr_ok'),
          row(1, NULL::regclass)::text, 'no refused call altered the policy');
SELECT is((SELECT count(*) FROM _retention.policy_change), 1::bigint,
          'policy_changes holds only the creation of rr_ok');

-- still accepted: a foreign table with the same columns as an archive
SELECT lives_ok($$SELECT retention.alter_policy('rr_ok', archive_to => 'rr_foreign')$$,
                'a foreign table with the same columns is still accepted as archive_to');

-- a policy left on a system catalog: its run fails and deletes nothing, preview refuses it.
-- rr_like has pg_authid's columns, so that the policy's expression fits pg_authid as well.
CREATE TABLE rr_like (LIKE pg_authid);
SELECT retention.add_policy('rr_catalog', 'rr_like', 'rolvaliduntil', '1 day') IS NOT NULL AS added \gset
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rr_expired_role') THEN
        CREATE ROLE rr_expired_role VALID UNTIL '2000-01-01';
    END IF;
END $$;
UPDATE _retention.policy SET relid = 'pg_authid'::regclass WHERE name = 'rr_catalog';
CALL retention.run('rr_catalog');
SELECT ok(EXISTS (SELECT FROM pg_authid WHERE rolname = 'rr_expired_role'),
          'a run of a policy left on pg_authid deletes no role');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.purge_log
           WHERE policy_name = 'rr_catalog'), row('failed', 0)::text,
          'the run is recorded as failed');
SELECT matches((SELECT error FROM retention.purge_log WHERE policy_name = 'rr_catalog'),
               'pg_authid.* is a system catalog', 'its error names the system catalog');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'rr_catalog'), 'failed',
          'the policy shows its last run failed');
SELECT throws_ok($$SELECT * FROM retention.preview('rr_catalog')$$, '42501', NULL,
                 'preview of the policy is refused with 42501');
DROP ROLE IF EXISTS rr_expired_role;

-- a policy left on the audit log: the run fails, no audit row is deleted
CREATE TABLE rr_log_like (LIKE retention.purge_log);
SELECT retention.add_policy('rr_log', 'rr_log_like', 'started_at', '1 day') IS NOT NULL AS added \gset
UPDATE _retention.policy SET relid = 'retention.purge_log'::regclass WHERE name = 'rr_log';
SELECT count(*) AS log_rows FROM retention.purge_log \gset
CALL retention.run('rr_log');
SELECT is((SELECT count(*) FROM retention.purge_log), (:log_rows + 1)::bigint,
          'a run of a policy left on the audit log deletes none of it, and records its failure');
SELECT is((SELECT status FROM retention.purge_log WHERE policy_name = 'rr_log'), 'failed',
          'that run is recorded as failed');

-- a policy archiving into the audit log: the run fails before removing a row
CREATE TABLE rr_arch (id int, at timestamptz NOT NULL);
INSERT INTO rr_arch SELECT g, now() - interval '1 year' FROM generate_series(1, 10) g;
SELECT retention.add_policy('rr_arch', 'rr_arch', 'at', '30 days') IS NOT NULL AS added \gset
UPDATE _retention.policy SET archive_to = 'retention.purge_log'::regclass WHERE name = 'rr_arch';
CALL retention.run('rr_arch');
SELECT is((SELECT count(*) FROM rr_arch), 10::bigint,
          'a run of a policy archiving into the audit log removes no row');
SELECT matches((SELECT error FROM retention.purge_log WHERE policy_name = 'rr_arch'),
               'archive_to .*purge_log.* belongs to extension', 'its error names the archive');

-- a policy left on a table that became a view: the run fails. Up to 15 PostgreSQL converts an
-- empty table with an ON SELECT rule; 16 refuses that, and there the policy is pointed at a
-- view the way the catalog cases above are.
CREATE TABLE rr_became (id int, at timestamptz NOT NULL);
SELECT retention.add_policy('rr_became', 'rr_became', 'at', '30 days') IS NOT NULL AS added \gset
CREATE TABLE rr_source (id int, at timestamptz NOT NULL);
SELECT pg_catalog.current_setting('server_version_num')::int >= 160000 AS rules_refused \gset
\if :rules_refused
CREATE VIEW rr_became_view AS SELECT * FROM rr_source;
UPDATE _retention.policy SET relid = 'rr_became_view'::regclass, relid_oid = 'rr_became_view'::regclass::oid
WHERE name = 'rr_became';
\else
CREATE RULE "_RETURN" AS ON SELECT TO rr_became DO INSTEAD SELECT * FROM rr_source;
\endif
CALL retention.run('rr_became');
SELECT is((SELECT row(status, error ~ 'is not a table')::text FROM retention.purge_log
           WHERE policy_name = 'rr_became'), row('failed', true)::text,
          'a run of a policy whose table became a view fails: not a table');

-- a policy left on pg_authid with a subject column: an erasure refuses it and erases nothing
CREATE ROLE rr_subject_role;
SELECT retention.add_policy('rr_subject', 'rr_like', 'rolvaliduntil', '1 day',
                            subject_column => 'rolname') IS NOT NULL AS added \gset
UPDATE _retention.policy SET relid = 'pg_authid'::regclass, relid_oid = 'pg_authid'::regclass::oid
WHERE name = 'rr_subject';
SELECT throws_ok($$SELECT * FROM retention.erase_subject('rr_subject_role', 'request')$$, '42501',
                 NULL, 'an erasure through a policy left on pg_authid is refused with 42501');
SELECT ok(EXISTS (SELECT FROM pg_authid WHERE rolname = 'rr_subject_role'),
          'and the role is still there');
SELECT retention.drop_policy('rr_subject');
DROP ROLE rr_subject_role;

SELECT * FROM finish();

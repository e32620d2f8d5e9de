-- tenants: set_tenant_retain / reset_tenant_retain, bounds on the policy and every override,
-- policy_changes and versions, runs and previews applying each tenant's own cutoff, and a long
-- tenant period keeping an old partition alive while its expired rows are deleted.
-- Runs CALL retention.run(), so no BEGIN/ROLLBACK.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(34);

CREATE TABLE media (id int PRIMARY KEY, tenant int NOT NULL, received_at timestamptz NOT NULL);
CREATE INDEX ON media (tenant, received_at);
-- tenants 0..3, one row per tenant and day, 1..90 days old (plus an hour, away from the cutoffs)
INSERT INTO media SELECT g, g % 4, now() - ((g / 4) || ' days')::interval - interval '1 hour'
FROM generate_series(4, 363) g;
SELECT retention.add_policy('media', 'media', 'received_at', '30 days', tenant_column => 'tenant',
                            min_retain => '7 days', max_retain => '60 days', enabled => false) IS NOT NULL AS added \gset
CREATE TABLE plain_t (id int, at timestamptz NOT NULL);
SELECT retention.add_policy('plain', 'plain_t', 'at', '30 days', enabled => false) IS NOT NULL AS added \gset

-- refusals ------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.set_tenant_retain('media', '1', '90 days')$$, '22023', NULL,
                 'a tenant period above max_retain is refused with 22023');
SELECT throws_ok($$SELECT retention.set_tenant_retain('media', '1', '1 day')$$, '22023', NULL,
                 'a tenant period below min_retain is refused with 22023');
SELECT throws_ok($$SELECT retention.set_tenant_retain('media', '1', '-1 day')$$, '22023', NULL,
                 'a negative tenant period is refused with 22023');
SELECT throws_ok($$SELECT retention.set_tenant_retain('plain', '1', '10 days')$$, '22023', NULL,
                 'a policy without tenant_column refuses overrides with 22023');
SELECT throws_ok($$SELECT retention.set_tenant_retain('media', 'not a number', '10 days')$$, '22P02', NULL,
                 'a tenant that does not convert to the column''s type raises the conversion''s error');
SELECT throws_ok($$SELECT retention.set_tenant_retain('no_such', '1', '10 days')$$, '42704', NULL,
                 'an unknown policy raises 42704');
SELECT throws_ok($$SELECT retention.reset_tenant_retain('plain', '1')$$, '22023', NULL,
                 'reset on a policy without tenant_column raises 22023');
SELECT is((SELECT version FROM retention.policies WHERE name = 'media'), 1, 'refusals change nothing');

-- overrides and their record --------------------------------------------------------------------
SELECT retention.set_tenant_retain('media', '1', '60 days');
SELECT retention.set_tenant_retain('media', '2', '10 days');
SELECT retention.set_tenant_retain('media', '3', '60 days');
SELECT retention.set_tenant_retain('media', '3', '60 days');  -- unchanged: no new version
SELECT is((SELECT version FROM retention.policies WHERE name = 'media'), 4,
          'each change to an override makes a new policy version');
SELECT is((SELECT array_agg(row(setting, tenant, old_value, new_value, direction, policy_version)::text
                            ORDER BY policy_version)
           FROM retention.policy_changes WHERE policy_name = 'media' AND tenant IS NOT NULL),
          ARRAY[row('retain', '1', '30 days', '60 days', 'increase', 2)::text,
                row('retain', '2', '30 days', '10 days', 'decrease', 3)::text,
                row('retain', '3', '30 days', '60 days', 'increase', 4)::text],
          'policy_changes records setting retain with the tenant, old and new values and direction');
SELECT throws_like($$SELECT retention.alter_policy('media', max_retain => '45 days')$$,
                   '%tenant periods would fall outside%',
                   'lowering max_retain below an override is refused');
SELECT throws_ok($$SELECT retention.alter_policy('media', max_retain => '45 days')$$, '22023', NULL,
                 'with 22023');
SELECT is((SELECT max_retain FROM retention.policies WHERE name = 'media'), '60 days'::interval,
          'and changes nothing');

-- runs apply each tenant's cutoff ------------------------------------------------------------
CREATE TABLE media_before AS SELECT * FROM media;
SELECT is((SELECT rows_expired FROM retention.preview('media')),
          (SELECT count(*) FROM media_before WHERE received_at < now() - CASE tenant
               WHEN 1 THEN interval '60 days' WHEN 3 THEN interval '60 days'
               WHEN 2 THEN interval '10 days' ELSE interval '30 days' END),
          'preview counts each tenant at its own cutoff');
CALL retention.run('media');
SELECT is((SELECT array_agg(row(tenant, n)::text ORDER BY tenant) FROM (
               SELECT tenant, count(*) AS n FROM media GROUP BY tenant) t),
          (SELECT array_agg(row(tenant, n)::text ORDER BY tenant) FROM (
               SELECT tenant, count(*) AS n FROM media_before WHERE received_at >= now() - CASE tenant
                   WHEN 1 THEN interval '60 days' WHEN 3 THEN interval '60 days'
                   WHEN 2 THEN interval '10 days' ELSE interval '30 days' END GROUP BY tenant) t),
          'after the run each tenant keeps exactly its rows within its own period');
SELECT is((SELECT count(DISTINCT cutoff) FROM retention.purge_log WHERE policy_name = 'media'
           AND kind = 'delete'), 1::bigint,
          'few distinct periods: one pass, whose audit rows record the policy''s own cutoff');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'media'),
          (SELECT count(*) FROM media_before)::numeric - (SELECT count(*) FROM media),
          'the audit counts exactly the rows removed');
SELECT is((SELECT max(policy_version) FROM retention.purge_log WHERE policy_name = 'media'), 4,
          'the audit names the policy version, overrides included');

SELECT retention.reset_tenant_retain('media', '1');
SELECT is((SELECT new_value FROM retention.policy_changes WHERE policy_name = 'media' AND tenant = '1'
           ORDER BY policy_version DESC LIMIT 1), '30 days', 'a reset is recorded back to the policy''s retain');
CALL retention.run('media');
SELECT is((SELECT count(*) FROM media WHERE tenant = 1 AND received_at < now() - interval '30 days'),
          0::bigint, 'after the reset tenant 1 is purged at the policy''s period');
SELECT is((SELECT count(*) FROM media WHERE tenant = 3 AND received_at < now() - interval '30 days'),
          (SELECT count(*) FROM media_before WHERE tenant = 3 AND received_at < now() - interval '30 days'
             AND received_at >= now() - interval '60 days'),
          'tenant 3 keeps its 60 days');

-- many distinct periods (more than 16): a pass per period, each tenant at its own cutoff --------
CREATE TABLE many (id int, tenant int NOT NULL, at timestamptz NOT NULL);
CREATE INDEX ON many (tenant, at);
INSERT INTO many SELECT g, g % 40, now() - ((g / 40) || ' days')::interval - interval '1 hour'
FROM generate_series(0, 40 * 80 - 1) g;
SELECT retention.add_policy('many', 'many', 'at', '30 days', tenant_column => 'tenant', enabled => false) IS NOT NULL AS a \gset
SELECT retention.set_tenant_retain('many', t::text, ((10 + t) || ' days')::interval) FROM generate_series(0, 19) t;
CREATE TABLE many_before AS SELECT * FROM many;
CALL retention.run('many');
SELECT is((SELECT count(*) FROM many_before b WHERE NOT EXISTS (SELECT FROM many m WHERE m.id = b.id)
             AND b.at >= now() - CASE WHEN b.tenant < 20 THEN ((10 + b.tenant) || ' days')::interval
                                      ELSE interval '30 days' END),
          0::bigint, 'with 20 distinct periods no row is removed before its tenant''s cutoff');
SELECT is((SELECT count(*) FROM many m WHERE m.at < now() - CASE WHEN m.tenant < 20
                                      THEN ((10 + m.tenant) || ' days')::interval ELSE interval '30 days' END),
          0::bigint, 'and every expired row is removed');

-- steady state: a short period walked apart through the (tenant, trigger) index ----------------
-- A year of rows, a 365-day policy, one tenant at 30 days and one at 400: the walk to the
-- policy's own cutoff goes by index and tenant 7's newer expired rows get a walk of their own
-- (audited with its cutoff), instead of the run visiting the whole table in heap order.
CREATE TABLE yearly (id int PRIMARY KEY, tenant int NOT NULL, at timestamptz NOT NULL, note text);
INSERT INTO yearly SELECT g, g % 20, now() - ((g % 370) || ' days')::interval - interval '1 hour', 'r' || g
FROM generate_series(1, 30000) g;
CREATE INDEX ON yearly (at);
CREATE INDEX ON yearly (tenant, at);
ANALYZE yearly;
SELECT retention.add_policy('yearly', 'yearly', 'at', '365 days', tenant_column => 'tenant',
                            min_retain => '7 days', max_retain => '3 years', enabled => false) IS NOT NULL AS added \gset
SELECT retention.set_tenant_retain('yearly', '7', '30 days');
SELECT retention.set_tenant_retain('yearly', '8', '400 days');
CREATE TEMP TABLE yearly_before AS SELECT * FROM yearly;
SELECT is((SELECT rows_expired FROM retention.preview('yearly')),
          (SELECT count(*) FROM yearly_before
            WHERE at < now() - CASE tenant WHEN 7 THEN interval '30 days' WHEN 8 THEN interval '400 days'
                                           ELSE interval '365 days' END),
          'preview counts the rows expired for each tenant');
CALL retention.run('yearly');
SELECT is((SELECT count(*) FROM yearly_before b WHERE NOT EXISTS (SELECT FROM yearly y WHERE y.id = b.id)),
          (SELECT count(*) FROM yearly_before
            WHERE at < now() - CASE tenant WHEN 7 THEN interval '30 days' WHEN 8 THEN interval '400 days'
                                           ELSE interval '365 days' END),
          'the run removes as many rows as were expired for their tenants');
SELECT is((SELECT count(*) FROM yearly
            WHERE at < now() - CASE tenant WHEN 7 THEN interval '30 days' WHEN 8 THEN interval '400 days'
                                           ELSE interval '365 days' END),
          0::bigint, 'no expired row is left, tenant 7''s newer ones included');
SELECT is((SELECT count(*) FROM yearly WHERE tenant = 7 AND at < now() - interval '30 days'), 0::bigint,
          'tenant 7 keeps nothing older than its 30 days');
SELECT ok((SELECT count(*) FROM yearly WHERE tenant = 8 AND at < now() - interval '365 days') > 0,
          'tenant 8 keeps rows older than the policy''s 365 days');
SELECT is((SELECT count(DISTINCT cutoff) FROM retention.purge_log
            WHERE policy_name = 'yearly' AND kind = 'delete' AND rows_affected > 0),
          2::bigint, 'tenant 7''s walk is audited with its own cutoff, apart from the main walk');

-- a long tenant period keeps an old partition alive; its other expired rows are deleted -----------
CREATE TABLE calls (id int, tenant text NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE calls_old PARTITION OF calls FOR VALUES FROM (current_date - 200) TO (current_date - 100);
CREATE TABLE calls_now PARTITION OF calls FOR VALUES FROM (current_date - 100) TO (current_date + 1);
INSERT INTO calls VALUES (1, 'acme', current_date - 150), (2, 'globex', current_date - 150),
                         (3, 'acme', current_date - 10), (4, 'globex', current_date - 50);
SELECT retention.add_policy('calls', 'calls', 'at', '30 days', tenant_column => 'tenant',
                            partition_interval => '1 month', premake => 1, enabled => false) IS NOT NULL AS added \gset
SELECT retention.set_tenant_retain('calls', 'acme', '365 days');
SELECT is((SELECT partitions_to_drop FROM retention.preview('calls')), '{}'::text[],
          'preview: a tenant with a long period keeps the old partition off the drop list');
CALL retention.run('calls');
SELECT ok(to_regclass('calls_old') IS NOT NULL, 'the old partition is not dropped');
SELECT is((SELECT array_agg(id ORDER BY id) FROM calls), '{1,3}'::int[],
          'its rows expired for their own tenant are deleted in place; acme''s rows stay');
SELECT retention.reset_tenant_retain('calls', 'acme');
CALL retention.run('calls');
SELECT ok(to_regclass('calls_old') IS NULL, 'without the long period the partition is dropped');
SELECT is((SELECT ok FROM retention.verify_audit()), true, 'the audit chain verifies');

SELECT * FROM finish();

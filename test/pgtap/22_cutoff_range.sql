-- cutoff_range: retain and grace must leave the cutoff (now - grace) - retain, computed in the
-- policy's timezone with PostgreSQL's interval arithmetic, within the timestamp range (back to
-- 4714 BC), or every run of the policy would fail. add_policy, alter_policy (also through a
-- tenant's period, when grace changes) and set_tenant_retain refuse such periods with 22023 and
-- change nothing; long periods inside the range are still accepted.
\set ON_ERROR_STOP true
BEGIN;
SET client_min_messages = warning;
SELECT plan(21);

CREATE TABLE cr_t (id int, tenant int, at timestamptz NOT NULL);
SELECT retention.add_policy('cr', 'cr_t', 'at', '30 days', tenant_column => 'tenant') IS NOT NULL AS added \gset
SELECT count(*) AS changes FROM _retention.policy_change \gset

-- add_policy
SELECT throws_ok($$SELECT retention.add_policy('cr_x', 'cr_t', 'at', '1000000 years')$$, '22023',
                 NULL, 'add_policy with retain 1000000 years is refused with 22023');
SELECT throws_like($$SELECT retention.add_policy('cr_x', 'cr_t', 'at', '1000000 years')$$,
                   '%put the cutoff out of range', 'the refusal says the cutoff leaves the range');
SELECT throws_ok($$SELECT retention.add_policy('cr_x', 'cr_t', 'at', '1 day', grace => '1000000 years')$$,
                 '22023', NULL, 'add_policy with grace 1000000 years is refused with 22023');
SELECT throws_ok($$SELECT retention.add_policy('cr_x', 'cr_t', 'at', '4000 years', grace => '4000 years')$$,
                 '22023', NULL, 'retain and grace that each fit but not together are refused');
SELECT throws_ok($$SELECT retention.add_policy('cr_x', 'cr_t', 'at', '10000 years')$$, '22023',
                 NULL, 'a cutoff before 4714 BC is refused');
SELECT throws_ok($$SELECT retention.add_policy('cr_x', 'cr_t', 'at', '-1 day')$$, '22023', NULL,
                 'a negative retain is still refused with 22023');
SELECT is((SELECT count(*) FROM _retention.policy), 1::bigint, 'no refused call added a policy');

-- alter_policy
SELECT throws_ok($$SELECT retention.alter_policy('cr', retain => '1000000 years')$$, '22023', NULL,
                 'alter_policy with retain 1000000 years is refused with 22023');
SELECT throws_ok($$SELECT retention.alter_policy('cr', grace => '1000000 years')$$, '22023', NULL,
                 'alter_policy with grace 1000000 years is refused with 22023');

-- set_tenant_retain
SELECT throws_ok($$SELECT retention.set_tenant_retain('cr', '1', '1000000 years')$$, '22023', NULL,
                 'set_tenant_retain with 1000000 years is refused with 22023');
SELECT throws_like($$SELECT retention.set_tenant_retain('cr', '1', '1000000 years')$$,
                   '%tenant "1" puts the cutoff of policy "cr" out of range',
                   'the refusal names the tenant and the policy');
SELECT is((SELECT count(*) FROM _retention.tenant_retain), 0::bigint,
          'no refused call stored a tenant period');

-- a grace that fits the policy's own retain but not a tenant's
SELECT retention.set_tenant_retain('cr', '2', '6000 years');
SELECT count(*) AS changes FROM _retention.policy_change \gset
SELECT throws_ok($$SELECT retention.alter_policy('cr', grace => '1000 years')$$, '22023', NULL,
                 'a grace that puts a tenant''s cutoff out of range is refused with 22023');
SELECT throws_like($$SELECT retention.alter_policy('cr', grace => '1000 years')$$,
                   '%cutoff of tenant "2" out of range', 'the refusal names the tenant');

-- nothing changed
SELECT is((SELECT row(retain, grace, version)::text FROM _retention.policy WHERE name = 'cr'),
          row('30 days'::interval, '0'::interval, 2)::text,
          'no refused call changed the policy');
SELECT is((SELECT count(*) FROM _retention.policy_change), :changes::bigint,
          'no refused call added a policy_changes row');

-- long periods within the range are accepted, and preview computes their cutoff
SELECT lives_ok($$SELECT retention.add_policy('cr_long', 'cr_t', 'at', '200 years')$$,
                'add_policy with retain 200 years is accepted');
SELECT lives_ok($$SELECT retention.alter_policy('cr', grace => '100 years')$$,
                'alter_policy with grace 100 years is accepted (the tenant''s cutoff fits)');
SELECT lives_ok($$SELECT retention.set_tenant_retain('cr', '1', '5000 years')$$,
                'set_tenant_retain with 5000 years is accepted');
SELECT is((SELECT cutoff FROM retention.preview('cr_long')), now() - interval '200 years',
          'preview of the 200-year policy gives its cutoff');
SELECT is((SELECT rows_expired FROM retention.preview('cr')), 0::bigint,
          'preview of the policy with long tenant periods works');

SELECT * FROM finish();
ROLLBACK;

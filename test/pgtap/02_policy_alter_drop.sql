-- policy_alter_drop: alter_policy records every change in retention.policy_changes and bumps
-- the policy version; refused changes change nothing; drop_policy keeps the audit history
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

CREATE TABLE alt_events (
    id         bigint PRIMARY KEY,
    created_at timestamptz NOT NULL,
    closed_at  timestamptz,
    note       text,
    pinned     boolean
);
INSERT INTO alt_events
SELECT g, now() - interval '400 days', NULL, 'n' || g, NULL FROM generate_series(1, 5) AS g;

SELECT plan(57);

SELECT retention.add_policy('alt_p', 'alt_events', 'created_at', '30 days',
                            max_retain => '90 days', enabled => false) AS alt_id \gset
SELECT cmp_ok((SELECT count(*) FROM retention.policy_changes WHERE policy_name = 'alt_p'),
              '>=', 1::bigint, 'adding a policy is recorded in retention.policy_changes');
SELECT max(policy_version) AS v0 FROM retention.policy_changes WHERE policy_name = 'alt_p' \gset
SELECT is((SELECT version FROM retention.policies WHERE name = 'alt_p')::bigint, :v0::bigint,
          'the recorded version is the policy''s version');

-- one change at a time --------------------------------------------------------------------------
SELECT lives_ok($$SELECT retention.alter_policy('alt_p', retain => '60 days')$$,
                'retain can be increased within max_retain');
SELECT is((SELECT row(setting, tenant, old_value::interval, new_value::interval, direction,
                      changed_by, policy_version)::text
           FROM retention.policy_changes WHERE policy_name = 'alt_p' ORDER BY id DESC LIMIT 1),
          row('retain', NULL::text, '30 days'::interval, '60 days'::interval, 'increase',
              current_user::text, :v0 + 1)::text,
          'an increase of retain is recorded with old and new value and direction increase');
SELECT is((SELECT row(retain, version)::text FROM retention.policies WHERE name = 'alt_p'),
          row('60 days'::interval, :v0 + 1)::text,
          'the policy has the new retain and the next version');
SELECT cmp_ok((SELECT changed_at FROM retention.policy_changes WHERE policy_name = 'alt_p'
               ORDER BY id DESC LIMIT 1), '<=', now(), 'changed_at is set');

SELECT lives_ok($$SELECT retention.alter_policy('alt_p', retain => '10 days')$$,
                'retain can be decreased');
SELECT is((SELECT row(setting, old_value::interval, new_value::interval, direction, policy_version)::text
           FROM retention.policy_changes WHERE policy_name = 'alt_p' ORDER BY id DESC LIMIT 1),
          row('retain', '60 days'::interval, '10 days'::interval, 'decrease', :v0 + 2)::text,
          'a decrease of retain is recorded with direction decrease');

SELECT lives_ok($$SELECT retention.alter_policy('alt_p', batch_size => 500)$$,
                'batch_size can be changed');
SELECT is((SELECT row(setting, old_value, new_value, direction, policy_version)::text
           FROM retention.policy_changes WHERE policy_name = 'alt_p' ORDER BY id DESC LIMIT 1),
          row('batch_size', '10000', '500', NULL::text, :v0 + 3)::text,
          'a batch_size change is recorded without a direction');

SELECT lives_ok($$SELECT retention.alter_policy('alt_p', trigger => 'closed_at')$$,
                'the trigger can be changed');
SELECT is((SELECT row(setting, old_value, new_value, direction, policy_version)::text
           FROM retention.policy_changes WHERE policy_name = 'alt_p' ORDER BY id DESC LIMIT 1),
          row('trigger', 'created_at', 'closed_at', NULL::text, :v0 + 4)::text,
          'a trigger change is recorded with the old and new expression');

SELECT lives_ok($$SELECT retention.alter_policy('alt_p', keep_when => 'pinned')$$,
                'keep_when can be set');
SELECT is((SELECT row(setting, old_value, new_value, policy_version)::text
           FROM retention.policy_changes WHERE policy_name = 'alt_p' ORDER BY id DESC LIMIT 1),
          row('keep_when', NULL::text, 'pinned', :v0 + 5)::text,
          'setting keep_when is recorded with old value NULL');

SELECT lives_ok($$SELECT retention.alter_policy('alt_p', timezone => 'Pacific/Kiritimati')$$,
                'the timezone can be changed');
SELECT is((SELECT row(setting, new_value, policy_version)::text
           FROM retention.policy_changes WHERE policy_name = 'alt_p' ORDER BY id DESC LIMIT 1),
          row('timezone', 'Pacific/Kiritimati', :v0 + 6)::text,
          'a timezone change is recorded');

SELECT is((SELECT row(trigger, retain, keep_when, batch_size, timezone, enabled, version)::text
           FROM retention.policies WHERE name = 'alt_p'),
          row('closed_at', '10 days'::interval, 'pinned', 500, 'Pacific/Kiritimati', false,
              :v0 + 6)::text,
          'retention.policies shows every change and the current version');

SELECT count(*) AS changes_before FROM retention.policy_changes WHERE policy_name = 'alt_p' \gset
SELECT lives_ok($$SELECT retention.alter_policy('alt_p')$$,
                'alter_policy with no setting is accepted');
SELECT is((SELECT count(*) FROM retention.policy_changes WHERE policy_name = 'alt_p'),
          :changes_before::bigint, 'alter_policy with every setting NULL records no change');
SELECT is((SELECT version FROM retention.policies WHERE name = 'alt_p')::bigint, :v0 + 6::bigint,
          'alter_policy with every setting NULL keeps the version');

-- refused changes -------------------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.alter_policy('alt_nope', retain => '1 day')$$,
                 '42704', NULL, 'altering an unknown policy is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', retain => '-1 day')$$,
                 '22023', NULL, 'a negative retain is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', grace => '-1 day')$$,
                 '22023', NULL, 'a negative grace is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', retain => '100 days')$$,
                 '22023', NULL, 'retain above the existing max_retain is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', max_retain => '5 days')$$,
                 '22023', NULL, 'a max_retain below the current retain is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', min_retain => '20 days')$$,
                 '22023', NULL, 'a min_retain above the current retain is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', min_retain => '95 days', max_retain => '91 days')$$,
                 '22023', NULL, 'min_retain greater than max_retain is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', batch_size => 0)$$,
                 '22023', NULL, 'batch_size 0 is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', premake => -1)$$,
                 '22023', NULL, 'a negative premake is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', action => 'purge')$$,
                 '22023', NULL, 'an unknown action is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', action => 'anonymize')$$,
                 '22023', NULL, 'action anonymize without anonymize is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', timezone => 'Nowhere/Void')$$,
                 '22023', NULL, 'an unknown timezone is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', partition_interval => '1 month')$$,
                 '22023', NULL, 'partition_interval on a table that is not partitioned is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', trigger => 'no_such_col')$$,
                 '42703', NULL, 'an unknown trigger column is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', trigger => 'note')$$,
                 '42804', NULL, 'a text trigger is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', trigger => 'created_at +')$$,
                 '42601', NULL, 'a trigger that does not parse is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', trigger => 'created_at, closed_at')$$,
                 '42601', NULL, 'a trigger of two expressions is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', keep_when => 'no_such_col')$$,
                 '42703', NULL, 'an unknown column in keep_when is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', keep_when => 'pinned AND')$$,
                 '42601', NULL, 'a keep_when that does not parse is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', tenant_column => 'no_such_col')$$,
                 '42703', NULL, 'an unknown tenant_column is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', subject_column => 'no_such_col')$$,
                 '42703', NULL, 'an unknown subject_column is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', action => 'anonymize',
                    anonymize => '{"no_such_col": "NULL"}')$$,
                 '42703', NULL, 'an unknown anonymize column is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', action => 'anonymize',
                    anonymize => '{"id": "now()"}')$$,
                 '42804', NULL, 'an anonymize expression not assignable to its column is refused');

SELECT is((SELECT count(*) FROM retention.policy_changes WHERE policy_name = 'alt_p'),
          :changes_before::bigint, 'refused changes recorded nothing');
SELECT is((SELECT row(trigger, retain, grace, action, keep_when, min_retain, max_retain,
                      batch_size, premake, timezone, version)::text
           FROM retention.policies WHERE name = 'alt_p'),
          row('closed_at', '10 days'::interval, '0'::interval, 'delete', 'pinned',
              NULL::interval, '90 days'::interval, 500, 4, 'Pacific/Kiritimati', :v0 + 6)::text,
          'refused changes left every setting and the version as they were');

-- drop_policy -----------------------------------------------------------------------------------
UPDATE alt_events SET closed_at = now() - interval '400 days' WHERE id <= 2;
CALL retention.run('alt_p');
SELECT is((SELECT count(*) FROM alt_events), 3::bigint,
          'the altered policy (trigger closed_at) ran before the drop');
SELECT count(*) AS log_before FROM retention.purge_log WHERE policy_name = 'alt_p' \gset
SELECT cmp_ok(:log_before::bigint, '>=', 1::bigint, 'the run left audit rows');

SELECT lives_ok($$SELECT retention.drop_policy('alt_p')$$, 'a policy can be dropped');
SELECT is((SELECT count(*) FROM retention.policies WHERE name = 'alt_p'), 0::bigint,
          'a dropped policy is no longer listed');
SELECT cmp_ok((SELECT count(*) FROM retention.policy_changes WHERE policy_name = 'alt_p'),
              '>', :changes_before::bigint, 'dropping a policy is recorded in policy_changes');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'alt_p'),
          :log_before::bigint, 'dropping a policy keeps its purge_log rows');
SELECT is((SELECT count(*) FROM alt_events), 3::bigint, 'dropping a policy does not touch the data');
SELECT throws_ok($$SELECT retention.drop_policy('alt_p')$$, '42704', NULL,
                 'dropping an unknown (already dropped) policy is refused');
SELECT throws_ok($$SELECT retention.alter_policy('alt_p', retain => '20 days')$$, '42704', NULL,
                 'altering a dropped policy is refused');
SELECT throws_ok($$CALL retention.run('alt_p')$$, '42704', NULL,
                 'running a dropped policy is refused');
SELECT throws_ok($$SELECT * FROM retention.preview('alt_p')$$, '42704', NULL,
                 'previewing a dropped policy is refused');
SELECT cmp_ok(retention.add_policy('alt_p', 'alt_events', 'created_at', '30 days', enabled => false),
              '<>', :alt_id::bigint, 'the name of a dropped policy can be used again, with a new id');

SELECT * FROM finish();

-- holds: place_hold / release_hold with policy, tenant, subject and global scopes; held rows
-- survive runs; a hold placed during a running purge protects the rows not yet deleted; audit
-- rows carry the subject's digest, never the subject; SQLSTATEs and privileges.
-- Runs CALL retention.run(), so no BEGIN/ROLLBACK; a second session comes from dblink.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(28);

CREATE TABLE msgs (id int PRIMARY KEY, tenant int NOT NULL, customer text, at timestamptz NOT NULL);
INSERT INTO msgs SELECT g, g % 4, 'cust-' || (g % 10), now() - interval '400 days' FROM generate_series(1, 200) g;
INSERT INTO msgs SELECT g, g % 4, 'cust-' || (g % 10), now() FROM generate_series(201, 220) g;
SELECT retention.add_policy('msgs', 'msgs', 'at', '1 year', tenant_column => 'tenant',
                            subject_column => 'customer', enabled => false) IS NOT NULL AS added \gset
CREATE TABLE notes (id int, at timestamptz NOT NULL);
INSERT INTO notes SELECT g, now() - interval '400 days' FROM generate_series(1, 10) g;
SELECT retention.add_policy('notes', 'notes', 'at', '1 year', enabled => false) IS NOT NULL AS added \gset

-- errors ------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT retention.place_hold('x', policy_name => 'no_such_policy')$$, '42704', NULL,
                 'a hold on an unknown policy is refused with 42704');
SELECT throws_ok($$SELECT retention.release_hold(987654)$$, '42704', NULL,
                 'releasing an unknown hold id raises 42704');
SELECT throws_ok($$SELECT retention.place_hold(NULL)$$, '22023', NULL, 'a hold needs a reason');
SELECT is((SELECT count(*) FROM retention.holds), 0::bigint, 'refused holds leave nothing behind');

-- tenant and subject scopes -----------------------------------------------------------------
SELECT retention.place_hold('tenant 1 litigation', tenant => '1') AS h_tenant \gset
SELECT retention.place_hold('customer 7 dispute', subject => 'cust-7') AS h_subject \gset
SELECT retention.place_hold('not a tenant of this type', tenant => 'abc') AS h_bad \gset
SELECT is((SELECT count(*) FROM retention.holds), 3::bigint, 'retention.holds lists the active holds');
SELECT is((SELECT row(rows_expired, rows_held)::text FROM retention.preview('msgs')),
          (SELECT row(count(*) FILTER (WHERE NOT (tenant = 1 OR customer = 'cust-7')),
                      count(*) FILTER (WHERE tenant = 1 OR customer = 'cust-7'))::text
           FROM msgs WHERE at < now() - interval '1 year'),
          'preview: held rows are counted as rows_held, not rows_expired');
CALL retention.run('msgs');
CALL retention.run('notes');
SELECT is((SELECT count(*) FROM msgs WHERE at < now() - interval '1 year'),
          (SELECT count(*) FROM generate_series(1, 200) g WHERE g % 4 = 1 OR g % 10 = 7),
          'only the expired rows of the held tenant and the held subject remain');
SELECT is((SELECT count(*) FROM msgs WHERE at >= now() - interval '1 year'), 20::bigint,
          'unexpired rows are untouched');
SELECT is((SELECT count(*) FROM notes), 0::bigint,
          'tenant and subject holds do not cover a relation whose policies declare no such column');

SELECT is((SELECT count(*) FROM retention.purge_log WHERE kind = 'hold'), 3::bigint, 'placing is audited');
SELECT ok((SELECT subject_digest = retention.subject_digest('cust-7') FROM retention.purge_log
           WHERE kind = 'hold' AND hold_id = :h_subject),
          'the audit row of a subject hold carries the subject''s digest');
SELECT ok(NOT EXISTS (SELECT FROM retention.purge_log l WHERE l::text LIKE '%cust-7%'),
          'the audit log never contains the subject itself');
SELECT ok(retention.subject_digest('cust-7') ~ '^[0-9a-f]{64}$'
          AND retention.subject_digest('cust-7') <> retention.subject_digest('cust-8'),
          'subject_digest is a lowercase hex HMAC-SHA256');

SELECT retention.release_hold(:h_tenant);
SELECT throws_ok(format('SELECT retention.release_hold(%s)', :h_tenant), '55000', NULL,
                 'releasing a released hold raises 55000');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE kind = 'release' AND hold_id = :h_tenant),
          1::bigint, 'releasing is audited');
CALL retention.run('msgs');
SELECT is((SELECT array_agg(DISTINCT customer) FROM msgs WHERE at < now() - interval '1 year'),
          '{cust-7}'::text[], 'after the release only the subject hold keeps rows');
SELECT retention.release_hold(:h_subject);
SELECT retention.release_hold(:h_bad);

-- policy scope and the global hold ------------------------------------------------------------
INSERT INTO notes SELECT g, now() - interval '400 days' FROM generate_series(1, 10) g;
SELECT retention.place_hold('notes under review', policy_name => 'notes') AS h_policy \gset
CALL retention.run('msgs');
CALL retention.run('notes');
SELECT is((SELECT count(*) FROM notes), 10::bigint, 'a policy hold keeps every row of its relation');
SELECT is((SELECT count(*) FROM msgs WHERE at < now() - interval '1 year'), 0::bigint,
          'a policy hold does not cover other relations');
SELECT retention.release_hold(:h_policy);
SELECT retention.place_hold('regulator freeze') AS h_global \gset
CALL retention.run('notes');
SELECT is((SELECT count(*) FROM notes), 10::bigint, 'a hold with no scope covers every row of every policy');
SELECT is((SELECT rows_held FROM retention.preview('notes')), 10::bigint, 'and preview says so');
SELECT retention.release_hold(:h_global);
CALL retention.run('notes');
SELECT is((SELECT count(*) FROM notes), 0::bigint, 'released: the next run removes them');

-- a hold placed while a purge is running -------------------------------------------------------
CREATE TABLE live (id int PRIMARY KEY, tenant int NOT NULL, at timestamptz NOT NULL);
INSERT INTO live SELECT g, g % 4, now() - interval '400 days' FROM generate_series(1, 1000) g;
SELECT retention.add_policy('live', 'live', 'at', '1 year', tenant_column => 'tenant',
                            batch_size => 10, enabled => false) IS NOT NULL AS added \gset
SELECT dblink_connect('runner', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                        split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('runner', 'SET retention.max_rows_per_second = 250');
SELECT dblink_send_query('runner', 'CALL retention.run(''live'')');
SELECT pg_sleep(1);
SELECT retention.place_hold('late hold on tenant 3', tenant => '3') AS h_live \gset
SELECT count(*) AS left_at_hold FROM live WHERE tenant = 3 \gset
SELECT * FROM dblink_get_result('runner') AS t(r text);
SELECT * FROM dblink_get_result('runner') AS t(r text);
SELECT dblink_disconnect('runner');
SELECT cmp_ok(:left_at_hold::bigint, '<', 250::bigint, 'the purge had removed rows of tenant 3 before the hold');
SELECT cmp_ok(:left_at_hold::bigint, '>', 0::bigint, 'and some were left when place_hold returned');
SELECT is((SELECT count(*) FROM live WHERE tenant = 3), :left_at_hold::bigint,
          'no row of tenant 3 was removed after place_hold returned');
SELECT is((SELECT count(*) FROM live WHERE tenant <> 3), 0::bigint,
          'the run removed every other expired row');
SELECT retention.release_hold(:h_live);

-- privileges ---------------------------------------------------------------------------------
CREATE ROLE hold_nobody;
SET ROLE hold_nobody;
SELECT throws_ok($$SELECT retention.place_hold('x')$$, '42501', NULL,
                 'place_hold is not executable by PUBLIC');
SELECT throws_ok($$SELECT * FROM retention.holds$$, '42501', NULL, 'retention.holds is not readable by PUBLIC');
RESET ROLE;
DROP ROLE hold_nobody;
SELECT is((SELECT ok FROM retention.verify_audit()), true, 'the audit chain verifies');

SELECT * FROM finish();

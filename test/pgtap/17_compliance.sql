-- compliance: per policy the oldest row still kept outside holds and keep_when, rows_overdue
-- (expired even one run_every ago), and the first status that applies of disabled, failing,
-- overdue, compliant; not readable by PUBLIC.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(10);

CREATE TABLE chats (id int, pinned boolean NOT NULL DEFAULT false, customer text, at timestamptz NOT NULL);
INSERT INTO chats (id, customer, at) SELECT g, 'c' || (g % 5), now() - (g || ' days')::interval - interval '1 hour'
FROM generate_series(1, 100) g;
UPDATE chats SET pinned = true WHERE id = 100;
SELECT retention.add_policy('chats30', 'chats', 'at', '30 days', run_every => '1 day', keep_when => 'pinned',
                            subject_column => 'customer', enabled => true) IS NOT NULL AS a \gset
SELECT retention.add_policy('chats60_off', 'chats', 'at', '60 days', enabled => false) IS NOT NULL AS a \gset
CREATE TABLE gone (id int, at timestamptz NOT NULL);
SELECT retention.add_policy('gone', 'gone', 'at', '30 days') IS NOT NULL AS a \gset

SELECT is((SELECT row(rows_overdue, status)::text FROM retention.compliance WHERE policy_name = 'chats30'),
          row((SELECT count(*) FROM chats WHERE at < now() - interval '31 days' AND NOT pinned), 'overdue')::text,
          'rows expired one run_every ago are overdue');
SELECT is((SELECT oldest_trigger FROM retention.compliance WHERE policy_name = 'chats30'),
          (SELECT min(at) FROM chats WHERE NOT pinned), 'oldest_trigger leaves out rows kept by keep_when');
SELECT is((SELECT status FROM retention.compliance WHERE policy_name = 'chats60_off'), 'disabled',
          'a disabled policy is disabled, whatever its rows');
SELECT is((SELECT status FROM retention.compliance WHERE policy_name = 'gone'), 'compliant',
          'a policy with nothing expired is compliant');

CALL retention.run('chats30');
SELECT is((SELECT row(rows_overdue, status)::text FROM retention.compliance WHERE policy_name = 'chats30'),
          row(0::bigint, 'compliant')::text, 'after its run the policy is compliant');

SELECT retention.place_hold('old chat of c2', subject => 'c2') AS hold_id \gset
INSERT INTO chats VALUES (500, false, 'c2', now() - interval '300 days');
SELECT is((SELECT rows_overdue FROM retention.compliance WHERE policy_name = 'chats30'), 0::bigint,
          'held rows are not overdue');
SELECT cmp_ok((SELECT oldest_trigger FROM retention.compliance WHERE policy_name = 'chats30'),
              '>', now() - interval '31 days', 'and do not count as the oldest kept row');
SELECT retention.release_hold(:hold_id);
SELECT is((SELECT status FROM retention.compliance WHERE policy_name = 'chats30'), 'overdue',
          'released, the old row makes the policy overdue');

DROP TABLE gone;
CALL retention.run('gone');
SELECT is((SELECT status FROM retention.compliance WHERE policy_name = 'gone'), 'failing',
          'a policy whose last run failed is failing');

CREATE ROLE comp_nobody;
GRANT USAGE ON SCHEMA retention TO comp_nobody;
SET ROLE comp_nobody;
SELECT throws_ok($$SELECT * FROM retention.compliance$$, '42501', NULL, 'retention.compliance is not readable by PUBLIC');
RESET ROLE;
REVOKE USAGE ON SCHEMA retention FROM comp_nobody;
DROP ROLE comp_nobody;

SELECT * FROM finish();

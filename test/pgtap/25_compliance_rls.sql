-- compliance counts every row of the relation, including rows that FORCE ROW LEVEL SECURITY
-- hides from its owner: a run (which obeys RLS, as the owner's own statements do) cannot
-- remove them, so the policy shows overdue, never compliant.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(8);

DO $$ BEGIN CREATE ROLE rls_owner25; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT CREATE ON SCHEMA public TO rls_owner25;
GRANT USAGE ON SCHEMA retention TO rls_owner25;
SET ROLE rls_owner25;
CREATE TABLE tickets (id int PRIMARY KEY, secret boolean NOT NULL, at timestamptz NOT NULL);
-- 60 expired rows, 15 of them hidden from the owner; 10 recent rows
INSERT INTO tickets SELECT g, g % 4 = 0, now() - interval '400 days' - g * interval '1 hour'
  FROM generate_series(1, 60) g;
INSERT INTO tickets SELECT 100 + g, false, now() - interval '1 day' FROM generate_series(1, 10) g;
CREATE POLICY visible ON tickets USING (NOT secret);
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SELECT retention.add_policy('tickets', 'tickets', 'at', '1 year', run_every => '1 day') IS NOT NULL AS a \gset
SELECT is((SELECT count(*) FROM tickets), 55::bigint, 'the owner sees 55 of the 70 rows');
RESET ROLE;

SELECT is((SELECT row(rows_overdue, status)::text FROM retention.compliance WHERE policy_name = 'tickets'),
          row(60::bigint, 'overdue')::text, 'before any run every expired row is overdue, hidden ones included');

CALL retention.run('tickets');
SELECT is((SELECT last_status FROM retention.compliance WHERE policy_name = 'tickets'), 'ok',
          'the run ends ok');
SELECT is((SELECT count(*) FROM tickets WHERE at < now() - interval '1 year' AND NOT secret), 0::bigint,
          'the run removed the expired rows the owner sees');
SELECT is((SELECT count(*) FROM tickets WHERE secret), 15::bigint,
          'the run obeyed row-level security: the hidden rows remain');
SELECT is((SELECT rows_overdue FROM retention.compliance WHERE policy_name = 'tickets'), 15::bigint,
          'rows_overdue counts the expired rows that row-level security hides from the owner');
SELECT is((SELECT status FROM retention.compliance WHERE policy_name = 'tickets'), 'overdue',
          'so the policy is overdue, not compliant');
SELECT is((SELECT oldest_trigger FROM retention.compliance WHERE policy_name = 'tickets'),
          (SELECT min(at) FROM tickets), 'oldest_trigger is the oldest row of the relation, hidden or not');

SELECT * FROM finish();

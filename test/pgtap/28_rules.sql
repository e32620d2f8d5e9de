-- rules: a DO INSTEAD rule on DELETE (on UPDATE for anonymize) of the policy's relation means
-- that a run can remove nothing: the run is failed, with an error that names the rule and says
-- what to do, nothing is changed (neither the rows nor what the rule's action would touch) and
-- the audit claims no row. With archive_to, any rule on DELETE is refused the same way (the
-- archiving statement cannot carry it). DO ALSO rules, rules with a condition and disabled
-- rules let the run work, and its counts are of rows actually removed.
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true
SET client_min_messages = error;

SELECT plan(25);

-- A. ON DELETE DO INSTEAD NOTHING ------------------------------------------------------------
CREATE TABLE rule_nothing (id int PRIMARY KEY, t timestamptz NOT NULL);
INSERT INTO rule_nothing SELECT g, now() - interval '100 days' FROM generate_series(1, 20) g;
CREATE RULE rule_nothing_keep AS ON DELETE TO rule_nothing DO INSTEAD NOTHING;
SELECT retention.add_policy('rule_nothing', 'rule_nothing', 't', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('rule_nothing');
SELECT is((SELECT count(*) FROM rule_nothing), 20::bigint, 'A: every row is still there');
SELECT is((SELECT row(status, rows_affected, rows_failed)::text FROM retention.audit
           WHERE policy_name = 'rule_nothing'),
          row('failed', 0::bigint, 0::bigint)::text, 'A: the run is failed and claims no row');
SELECT is((SELECT first_error FROM retention.audit WHERE policy_name = 'rule_nothing'),
          'DELETE on public.rule_nothing is rewritten by rule "rule_nothing_keep" (DO INSTEAD), '
          'so policy "rule_nothing" can remove no row: nothing was removed; drop or change the '
          'rule, alter the policy to action anonymize, or drop the policy',
          'A: the error says what happened and what to do');
SELECT is((SELECT array_agg(DISTINCT status) FROM retention.purge_log
           WHERE policy_name = 'rule_nothing'), ARRAY['failed'], 'A: the audit unit is failed');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'rule_nothing'), 'failed',
          'A: retention.policies shows the failure');

-- B. ON DELETE DO INSTEAD DELETE FROM another table ---------------------------------------------
CREATE TABLE rule_other (id int);
INSERT INTO rule_other SELECT g FROM generate_series(1, 100) g;
CREATE TABLE rule_redirect (id int PRIMARY KEY, t timestamptz NOT NULL);
INSERT INTO rule_redirect SELECT g, now() - interval '100 days' FROM generate_series(1, 20) g;
CREATE RULE rule_redirect_elsewhere AS ON DELETE TO rule_redirect
    DO INSTEAD DELETE FROM rule_other WHERE rule_other.id = old.id;
SELECT retention.add_policy('rule_redirect', 'rule_redirect', 't', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('rule_redirect');
SELECT is((SELECT count(*) FROM rule_redirect), 20::bigint, 'B: every row is still there');
SELECT is((SELECT count(*) FROM rule_other), 100::bigint,
          'B: the rule''s action did not run: the other table is untouched');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.audit
           WHERE policy_name = 'rule_redirect'),
          row('failed', 0::bigint)::text, 'B: the run is failed and claims no row');
SELECT ok((SELECT first_error LIKE 'DELETE on public.rule_redirect is rewritten by rule '
                                   '"rule_redirect_elsewhere" (DO INSTEAD)%'
           FROM retention.audit WHERE policy_name = 'rule_redirect'),
          'B: the error names the rule');

-- C. anonymize: ON UPDATE DO INSTEAD NOTHING ------------------------------------------------
CREATE TABLE rule_anon (id int PRIMARY KEY, t timestamptz NOT NULL, email text);
INSERT INTO rule_anon SELECT g, now() - interval '100 days', 'u' || g FROM generate_series(1, 20) g;
CREATE RULE rule_anon_keep AS ON UPDATE TO rule_anon DO INSTEAD NOTHING;
SELECT retention.add_policy('rule_anon', 'rule_anon', 't', '30 days', action => 'anonymize',
                            anonymize => '{"email": "NULL"}', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('rule_anon');
SELECT is((SELECT count(*) FROM rule_anon WHERE email = 'u' || id), 20::bigint,
          'C: every row keeps its value');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.audit
           WHERE policy_name = 'rule_anon'),
          row('failed', 0::bigint)::text, 'C: the run is failed and claims no row');
SELECT is((SELECT first_error FROM retention.audit WHERE policy_name = 'rule_anon'),
          'UPDATE on public.rule_anon is rewritten by rule "rule_anon_keep" (DO INSTEAD), so '
          'policy "rule_anon" can anonymize no row: nothing was changed; drop or change the rule, '
          'or drop the policy',
          'C: the error says what happened and what to do');

-- D. a DELETE rule with archive_to -----------------------------------------------------------
CREATE TABLE rule_arch (id int PRIMARY KEY, t timestamptz NOT NULL);
CREATE TABLE rule_arch_archive (id int PRIMARY KEY, t timestamptz NOT NULL);
CREATE TABLE rule_arch_log (id int);
INSERT INTO rule_arch SELECT g, now() - interval '100 days' FROM generate_series(1, 20) g;
CREATE RULE rule_arch_also AS ON DELETE TO rule_arch DO ALSO INSERT INTO rule_arch_log VALUES (old.id);
SELECT retention.add_policy('rule_arch', 'rule_arch', 't', '30 days', archive_to => 'rule_arch_archive',
                            enabled => false) IS NOT NULL AS added \gset
CALL retention.run('rule_arch');
SELECT is((SELECT count(*) FROM rule_arch), 20::bigint, 'D: every row is still there');
SELECT is((SELECT count(*) FROM rule_arch_archive), 0::bigint, 'D: nothing was archived');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.audit
           WHERE policy_name = 'rule_arch'),
          row('failed', 0::bigint)::text, 'D: the run is failed and claims no row');
SELECT ok((SELECT first_error LIKE 'DELETE on public.rule_arch has rule "rule_arch_also", which '
                                   'PostgreSQL does not allow in the statement that archives %'
           FROM retention.audit WHERE policy_name = 'rule_arch'),
          'D: the error names the rule and archive_to');

-- E. a DO ALSO rule without archive_to: the run works, the rule fires ----------------------------
CREATE TABLE rule_also (id int PRIMARY KEY, t timestamptz NOT NULL);
CREATE TABLE rule_also_log (id int);
INSERT INTO rule_also SELECT g, now() - interval '100 days' FROM generate_series(1, 20) g;
INSERT INTO rule_also VALUES (21, now());
CREATE RULE rule_also_log AS ON DELETE TO rule_also DO ALSO INSERT INTO rule_also_log VALUES (old.id);
SELECT retention.add_policy('rule_also', 'rule_also', 't', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('rule_also');
SELECT is((SELECT array_agg(id) FROM rule_also), ARRAY[21], 'E: the expired rows are deleted');
SELECT is((SELECT count(*) FROM rule_also_log), 20::bigint, 'E: the DO ALSO rule fired for each');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.audit
           WHERE policy_name = 'rule_also'),
          row('ok', 20::bigint)::text, 'E: the run is ok and counts the 20 rows');

-- F. a DO INSTEAD rule with a condition: counts are of rows actually removed ------------------
CREATE TABLE rule_cond (id int PRIMARY KEY, t timestamptz NOT NULL, locked boolean NOT NULL);
INSERT INTO rule_cond SELECT g, now() - interval '100 days', g % 4 = 0 FROM generate_series(1, 20) g;
CREATE RULE rule_cond_keep AS ON DELETE TO rule_cond WHERE old.locked DO INSTEAD NOTHING;
SELECT retention.add_policy('rule_cond', 'rule_cond', 't', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('rule_cond');
SELECT is((SELECT array_agg(id ORDER BY id) FROM rule_cond), ARRAY[4, 8, 12, 16, 20],
          'F: the rows the rule diverts stay, the others are deleted');
SELECT is((SELECT rows_affected FROM retention.audit WHERE policy_name = 'rule_cond'), 15::bigint,
          'F: rows_affected counts only the 15 rows removed');

-- G. a disabled rule does not stop a run; enabling it again does ---------------------------------
CREATE TABLE rule_off (id int PRIMARY KEY, t timestamptz NOT NULL);
INSERT INTO rule_off SELECT g, now() - interval '100 days' FROM generate_series(1, 10) g;
CREATE RULE rule_off_keep AS ON DELETE TO rule_off DO INSTEAD NOTHING;
ALTER TABLE rule_off DISABLE RULE rule_off_keep;
SELECT retention.add_policy('rule_off', 'rule_off', 't', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('rule_off');
SELECT is((SELECT count(*) FROM rule_off), 0::bigint, 'G: with the rule disabled the rows are deleted');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.audit
           WHERE policy_name = 'rule_off'),
          row('ok', 10::bigint)::text, 'G: the run is ok');
ALTER TABLE rule_off ENABLE RULE rule_off_keep;
INSERT INTO rule_off SELECT g, now() - interval '100 days' FROM generate_series(1, 10) g;
CALL retention.run('rule_off');
SELECT is((SELECT count(*) FROM rule_off), 10::bigint, 'G: with the rule enabled again nothing is deleted');
SELECT is((SELECT row(status, rows_affected)::text FROM retention.audit
           WHERE policy_name = 'rule_off' ORDER BY run_id DESC LIMIT 1),
          row('failed', 0::bigint)::text, 'G: and the run is failed');

SELECT * FROM finish();

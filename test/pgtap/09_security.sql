-- security: only a relation's owner (or a superuser) manages, runs and previews its policies;
-- CALL retention.run() by a non-superuser runs only its own; runs evaluate and delete as the
-- relation's owner; PUBLIC can use the policy API but not read the audit
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rtap_sec_owner') THEN
        CREATE ROLE rtap_sec_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rtap_sec_other') THEN
        CREATE ROLE rtap_sec_other NOLOGIN;
    END IF;
END
$$;

-- owned by rtap_sec_owner: 5 expired rows, 2 recent
CREATE TABLE sec_a_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sec_a_t
SELECT g, CASE WHEN g <= 5 THEN now() - interval '100 days' ELSE now() END
FROM generate_series(1, 7) AS g;
ALTER TABLE sec_a_t OWNER TO rtap_sec_owner;
-- owned by rtap_sec_other: 4 expired rows
CREATE TABLE sec_b_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sec_b_t SELECT g, now() - interval '100 days' FROM generate_series(1, 4) AS g;
ALTER TABLE sec_b_t OWNER TO rtap_sec_other;

SELECT plan(44);

-- PUBLIC's privileges ------------------------------------------------------------------------------
SELECT is((SELECT array_agg(DISTINCT proname::text ORDER BY proname::text) FROM pg_proc
           WHERE pronamespace = 'retention'::regnamespace
             AND proname IN ('add_policy', 'alter_policy', 'drop_policy', 'run', 'preview')
             AND has_function_privilege('rtap_sec_other', oid, 'EXECUTE')),
          ARRAY['add_policy', 'alter_policy', 'drop_policy', 'preview', 'run'],
          'PUBLIC may execute add_policy, alter_policy, drop_policy, run and preview');
SELECT ok(NOT has_function_privilege('rtap_sec_other', 'retention.verify_audit(bigint, bytea)', 'EXECUTE'),
          'PUBLIC may not execute verify_audit');
SELECT ok(NOT has_table_privilege('rtap_sec_other', 'retention.purge_log', 'SELECT'),
          'PUBLIC may not read retention.purge_log');

-- a stranger to the table ------------------------------------------------------------------------
SET ROLE rtap_sec_other;
SELECT throws_ok($$SELECT retention.add_policy('sec_a', 'sec_a_t', 'created_at', '30 days')$$,
                 '42501', NULL, 'a non-owner cannot add a policy');
RESET ROLE;
GRANT ALL ON sec_a_t TO rtap_sec_other;
SET ROLE rtap_sec_other;
SELECT throws_ok($$SELECT retention.add_policy('sec_a', 'sec_a_t', 'created_at', '30 days')$$,
                 '42501', NULL, 'a non-owner with every table privilege still cannot add a policy');
RESET ROLE;
REVOKE ALL ON sec_a_t FROM rtap_sec_other;
SELECT is((SELECT count(*) FROM retention.policies), 0::bigint, 'no policy was added');

-- the owner ------------------------------------------------------------------------------------
SET ROLE rtap_sec_owner;
SELECT lives_ok($$SELECT retention.add_policy('sec_a', 'sec_a_t', 'created_at', '30 days',
                                             enabled => false)$$,
                'the owner can add a policy');
SELECT lives_ok($$SELECT retention.alter_policy('sec_a', batch_size => 2)$$,
                'the owner can alter the policy');
SELECT is((SELECT rows_expired FROM retention.preview('sec_a')), 5::bigint,
          'the owner can preview the policy');
RESET ROLE;
SELECT is((SELECT changed_by FROM retention.policy_changes WHERE policy_name = 'sec_a'
           ORDER BY id DESC LIMIT 1), 'rtap_sec_owner', 'policy_changes records the owner as changed_by');

SET ROLE rtap_sec_other;
SELECT throws_ok($$SELECT retention.alter_policy('sec_a', retain => '1 day')$$, '42501', NULL,
                 'a non-owner cannot alter the policy');
SELECT throws_ok($$SELECT retention.drop_policy('sec_a')$$, '42501', NULL,
                 'a non-owner cannot drop the policy');
SELECT throws_ok($$CALL retention.run('sec_a')$$, '42501', NULL,
                 'a non-owner cannot run the policy');
SELECT throws_ok($$SELECT * FROM retention.preview('sec_a')$$, '42501', NULL,
                 'a non-owner cannot preview the policy');
SELECT throws_ok($$SELECT * FROM retention.purge_log$$, '42501', NULL,
                 'PUBLIC cannot select retention.purge_log');
SELECT throws_ok($$SELECT * FROM retention.audit$$, '42501', NULL,
                 'PUBLIC cannot select retention.audit');
SELECT throws_ok($$SELECT * FROM retention.policy_changes$$, '42501', NULL,
                 'PUBLIC cannot select retention.policy_changes');
SELECT throws_ok($$SELECT * FROM retention.policies$$, '42501', NULL,
                 'PUBLIC cannot select retention.policies');
SELECT throws_ok($$SELECT * FROM retention.daily_summary$$, '42501', NULL,
                 'PUBLIC cannot select retention.daily_summary');
SELECT throws_ok($$SELECT * FROM retention.verify_audit()$$, '42501', NULL,
                 'PUBLIC cannot execute retention.verify_audit()');
-- its own table
SELECT lives_ok($$SELECT retention.add_policy('sec_b', 'sec_b_t', 'created_at', '30 days',
                                             enabled => false)$$,
                'a role can add a policy on its own table');
SELECT is((SELECT rows_expired FROM retention.preview('sec_b')), 4::bigint,
          'a role can preview the policy on its own table');
RESET ROLE;

SELECT is((SELECT row(retain, batch_size)::text FROM retention.policies WHERE name = 'sec_a'),
          row('30 days'::interval, 2)::text, 'the non-owner''s attempts changed nothing');
SELECT is((SELECT count(*) FROM sec_a_t), 7::bigint, 'the non-owner''s attempts deleted nothing');
SELECT is((SELECT count(*) FROM retention.purge_log), 0::bigint, 'and ran nothing');

-- CALL retention.run() by a non-superuser runs only the policies on its own relations -------------
SELECT retention.alter_policy('sec_a', enabled => true) IS NULL AS altered \gset
SELECT retention.alter_policy('sec_b', enabled => true) IS NULL AS altered \gset
SET ROLE rtap_sec_other;
CALL retention.run();
RESET ROLE;
SELECT is((SELECT count(*) FROM sec_b_t), 0::bigint, 'run() by rtap_sec_other ran its own policy');
SELECT is((SELECT count(*) FROM sec_a_t), 7::bigint, 'run() by rtap_sec_other left others'' tables alone');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'sec_a'), 0::bigint,
          'run() by rtap_sec_other did not run the other owner''s policy at all');
SELECT is((SELECT array_agg(DISTINCT invoked_by) FROM retention.purge_log WHERE policy_name = 'sec_b'),
          ARRAY['rtap_sec_other'], 'invoked_by is the calling role');

SET ROLE rtap_sec_owner;
CALL retention.run('sec_a');
RESET ROLE;
SELECT is((SELECT array_agg(id ORDER BY id) FROM sec_a_t), ARRAY[6, 7],
          'the owner can run its policy by name');
SELECT is((SELECT array_agg(DISTINCT invoked_by) FROM retention.purge_log WHERE policy_name = 'sec_a'),
          ARRAY['rtap_sec_owner'], 'invoked_by is the owner who called');

-- a run evaluates and deletes as the relation's owner, even when a superuser calls it -----------
CREATE TABLE sec_log (who text, via text);
GRANT SELECT, INSERT ON sec_log TO PUBLIC;
CREATE FUNCTION sec_record_user() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_log VALUES (current_user, 'keep_when');
    RETURN false;
END
$$;
CREATE FUNCTION sec_record_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_log VALUES (current_user, 'trigger');
    RETURN OLD;
END
$$;
CREATE TABLE sec_whoami_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sec_whoami_t SELECT g, now() - interval '100 days' FROM generate_series(1, 3) AS g;
CREATE TRIGGER sec_record_delete AFTER DELETE ON sec_whoami_t FOR EACH ROW
    EXECUTE FUNCTION sec_record_delete();
ALTER TABLE sec_whoami_t OWNER TO rtap_sec_owner;
SELECT retention.add_policy('sec_whoami', 'sec_whoami_t', 'created_at', '30 days',
                            keep_when => 'public.sec_record_user()', enabled => false)
       IS NOT NULL AS added \gset
TRUNCATE sec_log;
CALL retention.run('sec_whoami');
SELECT is((SELECT count(*) FROM sec_whoami_t), 0::bigint, 'the superuser''s run removed the rows');
SELECT cmp_ok((SELECT count(*) FROM sec_log WHERE via = 'keep_when'), '>=', 1::bigint,
              'keep_when was evaluated');
SELECT is((SELECT array_agg(DISTINCT who) FROM sec_log WHERE via = 'keep_when'), ARRAY['rtap_sec_owner'],
          'keep_when ran as the table owner, not as the superuser who called run');
SELECT is((SELECT count(*) FROM sec_log WHERE via = 'trigger'), 3::bigint,
          'the table''s delete trigger fired for each row');
SELECT is((SELECT array_agg(DISTINCT who) FROM sec_log WHERE via = 'trigger'), ARRAY['rtap_sec_owner'],
          'the delete ran as the table owner');

-- preview evaluates as the owner too: keep_when is true only when run as the session user
CREATE TABLE sec_cu_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sec_cu_t SELECT g, now() - interval '100 days' FROM generate_series(1, 3) AS g;
ALTER TABLE sec_cu_t OWNER TO rtap_sec_owner;
SELECT retention.add_policy('sec_cu', 'sec_cu_t', 'created_at', '30 days',
                            keep_when => 'current_user = session_user', enabled => false)
       IS NOT NULL AS added \gset
SELECT is((SELECT rows_expired FROM retention.preview('sec_cu')), 3::bigint,
          'preview by a superuser evaluates keep_when as the owner');
CALL retention.run('sec_cu');
SELECT is((SELECT count(*) FROM sec_cu_t), 0::bigint,
          'run by a superuser evaluates keep_when as the owner');

-- code in the table's triggers cannot use the caller's rights
CREATE TABLE sec_secret (note text);
REVOKE ALL ON sec_secret FROM PUBLIC;
CREATE FUNCTION sec_escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_secret VALUES ('written by ' || current_user);
    RETURN OLD;
END
$$;
CREATE TABLE sec_esc_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sec_esc_t SELECT g, now() - interval '100 days' FROM generate_series(1, 2) AS g;
CREATE TRIGGER sec_escalate BEFORE DELETE ON sec_esc_t FOR EACH ROW EXECUTE FUNCTION sec_escalate();
ALTER TABLE sec_esc_t OWNER TO rtap_sec_owner;
SELECT retention.add_policy('sec_esc', 'sec_esc_t', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('sec_esc');
SELECT is((SELECT count(*) FROM sec_secret), 0::bigint,
          'a trigger cannot write where the owner may not, even when a superuser runs the policy');
SELECT is((SELECT count(*) FROM sec_esc_t), 2::bigint, 'the rows whose trigger failed stay');
SELECT ok((SELECT status IN ('partial', 'failed') FROM retention.audit WHERE policy_name = 'sec_esc'),
          'the run is reported as not ok');
SELECT ok((SELECT bool_and(error ~ 'permission denied') FROM retention.purge_log
           WHERE policy_name = 'sec_esc' AND rows_failed > 0),
          'the error is the owner''s permission denial');

-- a superuser may manage any policy --------------------------------------------------------------
SELECT lives_ok($$SELECT retention.alter_policy('sec_b', retain => '60 days')$$,
                'a superuser can alter any policy');
SELECT lives_ok($$SELECT retention.drop_policy('sec_b')$$, 'a superuser can drop any policy');

SELECT * FROM finish();

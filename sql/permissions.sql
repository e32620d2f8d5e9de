-- permissions: ownership rules, runs as the relation's owner, what PUBLIC may do
SET client_min_messages = warning;
CREATE ROLE perm_owner;
CREATE ROLE perm_other;
GRANT CREATE ON SCHEMA public TO perm_owner, perm_other;

SET ROLE perm_owner;
CREATE TABLE perm_t (id int, created_at timestamptz, who text);
INSERT INTO perm_t SELECT g, now() - interval '2 years', NULL FROM generate_series(1, 10) g;
-- keep_when records the role it runs as
CREATE TABLE perm_seen (role name);
CREATE FUNCTION perm_note() RETURNS boolean LANGUAGE sql VOLATILE AS
    $$ INSERT INTO public.perm_seen VALUES (current_user) RETURNING false $$;
SELECT retention.add_policy('perm', 'perm_t', 'created_at', '1 year',
                            keep_when => 'public.perm_note()') > 0 AS ok;
RESET ROLE;

SET ROLE perm_other;
\set VERBOSITY sqlstate
SELECT retention.add_policy('perm2', 'perm_t', 'created_at', '1 year');  -- 42501
SELECT retention.alter_policy('perm', retain => '1 day');               -- 42501
SELECT retention.drop_policy('perm');                                   -- 42501
CALL retention.run('perm');                                             -- 42501
SELECT * FROM retention.preview('perm');                                -- 42501
SELECT * FROM retention.purge_log;                                      -- 42501
SELECT * FROM retention.audit;                                          -- 42501
SELECT * FROM retention.policy_changes;                                 -- 42501
SELECT * FROM retention.verify_audit();                                 -- 42501
SELECT * FROM _retention.policy;                                        -- 42501
\set VERBOSITY default
-- an unnamed run by another role touches nothing of perm_owner's
CALL retention.run();
SELECT count(*) AS previewed FROM retention.preview();
RESET ROLE;
SELECT count(*) AS untouched FROM perm_t;

-- a superuser's run executes as the owner: the function saw perm_owner, never postgres
CALL retention.run('perm');
SELECT count(*) AS left_rows FROM perm_t;
SELECT DISTINCT role FROM perm_seen;
SELECT invoked_by, rows_affected FROM retention.audit WHERE policy_name = 'perm';

-- the owner runs its own policy; invoked_by names the role
SET ROLE perm_owner;
INSERT INTO perm_t VALUES (99, now() - interval '3 years');
CALL retention.run();
SELECT count(*) FROM perm_t;
RESET ROLE;
SELECT invoked_by, rows_affected FROM retention.audit WHERE policy_name = 'perm' ORDER BY run_id;

-- security-restricted: the owner's code cannot change the session's role settings
SET ROLE perm_owner;
CREATE FUNCTION perm_escalate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS
    $$ BEGIN CREATE TEMP TABLE perm_tmp (x int); RETURN false; END $$;
SELECT retention.alter_policy('perm', keep_when => 'public.perm_escalate()');
INSERT INTO perm_t VALUES (100, now() - interval '3 years');
RESET ROLE;
CALL retention.run('perm');
SELECT status, first_error FROM retention.audit WHERE policy_name = 'perm' ORDER BY run_id DESC LIMIT 1;
SELECT count(*) AS still_there FROM perm_t;

SELECT retention.drop_policy('perm');
DROP TABLE perm_t, perm_seen;
DROP FUNCTION perm_note(), perm_escalate();
REVOKE CREATE ON SCHEMA public FROM perm_owner, perm_other;
DROP ROLE perm_owner;
DROP ROLE perm_other;

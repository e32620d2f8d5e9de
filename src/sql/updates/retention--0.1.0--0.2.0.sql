-- retention 0.1.0 -> 0.2.0 (written by hand; never edited after 0.2.0 is released).
\echo Use "ALTER EXTENSION retention UPDATE TO '0.2.0'" to load this file. \quit

-- Every reference below is schema-qualified, like the install script: this script runs with
-- the privileges of the role that updates the extension (usually a superuser), and nothing a
-- role created beforehand on the search_path may be bound in place of a built-in.

-- ---------------------------------------------------------------------------------------------
-- Section A: schema-qualified references (column defaults, functions, views)
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section B: relation refusals, cutoff range checks, validation
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section C: run error boundary, interrupted runs
-- ---------------------------------------------------------------------------------------------

-- _retention.run: the outcome of each run (src/sql/catalog.sql), and the test that tells a run
-- in progress from one whose session or worker died.
CREATE TABLE _retention.run (
    run_id      bigint PRIMARY KEY,
    policy_id   bigint NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text NOT NULL,
    pid         int,
    CONSTRAINT run_status_check
        CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted'))
);
CREATE INDEX run_running_idx ON _retention.run (policy_id) WHERE status = 'running';
SELECT pg_catalog.pg_extension_config_dump('_retention.run', '');
REVOKE ALL ON _retention.run FROM PUBLIC; -- as grants.sql does for every table of _retention

CREATE FUNCTION _retention.run_is_live(policy_id bigint, pid int)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT FROM pg_catalog.pg_locks AS k
        WHERE k.locktype OPERATOR(pg_catalog.=) 'advisory'
          AND k.classid OPERATOR(pg_catalog.=) 1381256753::pg_catalog.oid
          AND k.objid OPERATOR(pg_catalog.=) ($1 OPERATOR(pg_catalog.%) 4294967296)::pg_catalog.oid
          AND k.objsubid OPERATOR(pg_catalog.=) 2::pg_catalog.int2
          AND k.pid OPERATOR(pg_catalog.=) $2
          AND k.granted)
$$;
COMMENT ON FUNCTION _retention.run_is_live(bigint, int) IS
    'internal: whether the run of the policy in that backend is still in progress (holds its run lock)';
-- as grants.sql: revoked with every function of _retention, then granted for the views' readers
REVOKE ALL ON FUNCTION _retention.run_is_live(bigint, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _retention.run_is_live(bigint, int) TO PUBLIC;

-- The last run of each policy is the only one 0.1.0 kept an outcome for: carried over, so that
-- a run 0.1.0 left running or marked interrupted shows as interrupted in retention.audit.
INSERT INTO _retention.run (run_id, policy_id, started_at, finished_at, status, pid)
SELECT s.last_run_id, s.policy_id, s.last_started_at, s.last_finished_at, s.last_status,
       s.running_pid
FROM _retention.policy_state AS s
WHERE s.last_run_id IS NOT NULL AND s.last_started_at IS NOT NULL AND s.last_status IS NOT NULL;


-- ---------------------------------------------------------------------------------------------
-- Section D: worker launcher
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section E: row failures of expressions, rules
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section F: owner's search_path, compliance over hidden rows, export
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section G: audit anchors (audit_head, verify_audit with an anchor)
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Views: recreated last, as src/sql/views.sql defines them in 0.2.0
-- ---------------------------------------------------------------------------------------------

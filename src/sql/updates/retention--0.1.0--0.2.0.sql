-- retention 0.1.0 -> 0.2.0 (written by hand; never edited after 0.2.0 is released).
\echo Use "ALTER EXTENSION retention UPDATE TO '0.2.0'" to load this file. \quit

-- Every reference below is schema-qualified, like the install script: this script runs with
-- the privileges of the role that updates the extension (usually a superuser), and nothing a
-- role created beforehand on the search_path may be bound in place of a built-in.

-- ---------------------------------------------------------------------------------------------
-- Section A: schema-qualified references (column defaults, functions, views)
-- ---------------------------------------------------------------------------------------------

-- 0.1.0 wrote nextval('...') without a schema in three column defaults: an installation created
-- while a public.nextval(text) existed bound that function instead of pg_catalog's, and runs it
-- as the extension's owner at every insert. Setting the defaults again binds pg_catalog's.
-- (The now() defaults and the CHECK constraints of 0.1.0 bind pg_catalog exactly already.)
ALTER TABLE _retention.policy ALTER COLUMN id
    SET DEFAULT pg_catalog.nextval('_retention.policy_id_seq'::pg_catalog.regclass);
ALTER TABLE _retention.policy_change ALTER COLUMN id
    SET DEFAULT pg_catalog.nextval('_retention.policy_change_id_seq'::pg_catalog.regclass);
ALTER TABLE _retention.hold ALTER COLUMN id
    SET DEFAULT pg_catalog.nextval('_retention.hold_id_seq'::pg_catalog.regclass);

-- verify_audit() is replaced in Section G (its body qualifies every function and operator).

-- The views of 0.1.0 bound unnest, array_agg, cardinality and the numeric = integer comparison
-- in retention.audit through search_path too; they are recreated at the end of this script.


-- ---------------------------------------------------------------------------------------------
-- Section B: relation refusals, cutoff range checks, validation
-- ---------------------------------------------------------------------------------------------
-- Nothing to change in SQL: the checks live in the module (catalog/relation_rules.cpp,
-- catalog/cutoff_range.cpp). Policies that 0.1.0 accepted on such relations or with such periods
-- stay in the catalog; their runs and previews refuse them, and alter_policy refuses to keep
-- them, so they fail visibly until altered or dropped.


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
          AND k.objsubid OPERATOR(pg_catalog.=) 3::pg_catalog.int2
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
-- Nothing: the launcher's and the hooks' changes are in the library (src/worker/).


-- ---------------------------------------------------------------------------------------------
-- Section E: row failures of expressions, rules
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section F: owner's search_path, compliance over hidden rows, export
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section G: audit anchors (audit_head, verify_audit with an anchor)
-- ---------------------------------------------------------------------------------------------

-- verify_audit() gains an optional anchor (a new signature, so the old function is dropped; no
-- view depends on it), audit_head() is new. Same definitions, comments and privileges as
-- src/sql/purge_log.sql and src/sql/grants.sql.
DROP FUNCTION retention.verify_audit();

-- An anchor must be given whole: both its id and its hash, or neither (22023).
CREATE FUNCTION _retention.audit_anchor_given(anchor_id bigint, anchor_hash bytea) RETURNS boolean
    LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'retention_audit_anchor_given';

-- The first bad row is the first in id order of: a row whose hash or link does not verify; the
-- chain head when it no longer matches the last row (rows removed from the end); the anchor,
-- when one is given and its row is gone or carries another hash (the chain was rewritten or
-- cut back since the anchor was taken, even if every hash was recomputed). rows_checked counts
-- the rows up to and including the first bad one, or every row.
CREATE FUNCTION retention.verify_audit(anchor_id bigint DEFAULT NULL, anchor_hash bytea DEFAULT NULL)
RETURNS TABLE (ok boolean, rows_checked bigint, first_bad_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT l.id,
               l.hash IS NOT DISTINCT FROM _retention.audit_row_hash(l) AS hash_ok,
               l.prev_hash IS NOT DISTINCT FROM pg_catalog.lag(l.hash) OVER w AS link_ok,
               pg_catalog.last_value(l.hash) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                                   AND UNBOUNDED FOLLOWING) AS tail_hash
        FROM retention.purge_log AS l
        WINDOW w AS (ORDER BY l.id)
    ),
    anchor AS (
        SELECT _retention.audit_anchor_given(verify_audit.anchor_id, verify_audit.anchor_hash)
               AS given
    ),
    bad AS (
        SELECT pg_catalog.min(c.id) AS id FROM chain AS c WHERE NOT (c.hash_ok AND c.link_ok)
        UNION ALL
        -- rows removed from the end of the chain leave the head pointing past the last row
        SELECT h.last_id FROM _retention.audit_head AS h
        WHERE h.last_hash IS DISTINCT FROM (SELECT c.tail_hash FROM chain AS c LIMIT 1)
        UNION ALL
        SELECT verify_audit.anchor_id FROM anchor AS a
        WHERE a.given AND NOT EXISTS (
            SELECT FROM retention.purge_log AS l
            WHERE l.id OPERATOR(pg_catalog.=) verify_audit.anchor_id
              AND l.hash OPERATOR(pg_catalog.=) verify_audit.anchor_hash)
    ),
    verdict AS (
        SELECT pg_catalog.min(b.id) AS id FROM bad AS b
    )
    SELECT v.id IS NULL,
           (SELECT pg_catalog.count(*) FROM chain AS c
            WHERE v.id IS NULL OR c.id OPERATOR(pg_catalog.<=) v.id),
           v.id
    FROM verdict AS v
$$;
COMMENT ON FUNCTION retention.verify_audit(bigint, bytea) IS
    'walks the purge_log hash chain; ok false names the first row whose hash or link does not verify, or the anchor (anchor_id, anchor_hash from audit_head()) if its row is gone or changed';

-- The newest row of the chain: the anchor to keep outside the database. No row while the log
-- is empty.
CREATE FUNCTION retention.audit_head()
RETURNS TABLE (id bigint, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.id, l.hash FROM retention.purge_log AS l ORDER BY l.id DESC LIMIT 1
$$;
COMMENT ON FUNCTION retention.audit_head() IS
    'the newest row of the purge_log hash chain (id, hash): an anchor to keep outside the database and check later with verify_audit(id, hash)';

REVOKE ALL ON FUNCTION _retention.audit_anchor_given(bigint, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.verify_audit(bigint, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.audit_head() FROM PUBLIC;


-- ---------------------------------------------------------------------------------------------
-- Section H: dump and restore of the audit chain and the secret
-- ---------------------------------------------------------------------------------------------

-- A row inserted into a single-row table replaces the one there: a restore loads the dumped
-- head and secret over the ones CREATE EXTENSION made (docs/design.md, "Dump and restore").
-- Same definitions as src/sql/purge_log.sql and src/sql/holds.sql. The chain trigger's
-- handling of restored rows is in the library (retention_purge_log_chain).
CREATE FUNCTION _retention.replace_single_row() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'retention_replace_single_row';
CREATE TRIGGER audit_head_replace BEFORE INSERT ON _retention.audit_head
    FOR EACH ROW EXECUTE FUNCTION _retention.replace_single_row();
CREATE TRIGGER secret_replace BEFORE INSERT ON _retention.secret
    FOR EACH ROW EXECUTE FUNCTION _retention.replace_single_row();
-- as grants.sql does for every function of _retention
REVOKE ALL ON FUNCTION _retention.replace_single_row() FROM PUBLIC;


-- ---------------------------------------------------------------------------------------------
-- Section I: policies and holds bound again by name after a restore
-- ---------------------------------------------------------------------------------------------

-- Beside the trees (OIDs, column numbers) each policy keeps its expressions by name and a
-- fingerprint of what they name (src/catalog/binding.hpp); holds keep their relation as a
-- regclass, which pg_dump writes by name.
ALTER TABLE _retention.policy ADD COLUMN binding jsonb;
ALTER TABLE _retention.policy ADD COLUMN binding_relations regclass[];
ALTER TABLE _retention.hold ALTER COLUMN relid TYPE pg_catalog.regclass;

CREATE FUNCTION _retention.bind_policy(id bigint) RETURNS void
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_bind_policy';
COMMENT ON FUNCTION _retention.bind_policy(bigint) IS
    'internal: binds the policy''s expressions by name (keeps what a restore needs to bind them again)';
REVOKE ALL ON FUNCTION _retention.bind_policy(bigint) FROM PUBLIC;

-- Backfill: every policy whose trees still fit its relation gets its binding now; one that no
-- longer fits (a dropped or retyped column) keeps failing visibly on its runs, as in 0.1.0.
DO $bind$
DECLARE
    policy_id bigint;
BEGIN
    FOR policy_id IN SELECT p.id FROM _retention.policy AS p ORDER BY p.id LOOP
        BEGIN
            PERFORM _retention.bind_policy(policy_id);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END LOOP;
END
$bind$;


-- ---------------------------------------------------------------------------------------------
-- Views: recreated last, as src/sql/views.sql defines them in 0.2.0
-- ---------------------------------------------------------------------------------------------

-- CREATE OR REPLACE keeps each view's privileges (a DBA's GRANTs to analyst roles stay) and
-- binds its functions and operators again, to pg_catalog's: 0.1.0 bound them through
-- search_path when it was created. The columns are those of 0.1.0; what changed is how
-- last_status and the audit status are derived (interrupted runs), and the qualification.

CREATE OR REPLACE VIEW retention.policies AS
SELECT p.id,
       p.name,
       p.relid AS relation,
       p.relation_name,
       p.trigger,
       p.retain,
       p.grace,
       p.action,
       p.anonymize,
       p.keep_when,
       p.tenant_column,
       p.subject_column,
       p.min_retain,
       p.max_retain,
       p.run_every,
       p.priority,
       p.batch_size,
       p.partition_interval,
       p.premake,
       p.archive_to,
       p.enabled,
       p.timezone,
       p.version,
       p.created_at,
       p.created_by,
       s.last_run_id,
       s.last_started_at AS last_run_at,
       s.last_finished_at AS last_run_finished_at,
       -- a run whose session or worker died is shown as such, not as running
       CASE
           WHEN s.last_status OPERATOR(pg_catalog.=) 'running'
                AND NOT _retention.run_is_live(s.policy_id, s.running_pid) THEN 'interrupted'
           ELSE s.last_status
       END AS last_status,
       s.last_error,
       coalesce(s.consecutive_failures, 0) AS consecutive_failures,
       CASE WHEN p.enabled THEN coalesce(s.next_run_at, p.created_at) END AS next_run_at
FROM _retention.policy AS p
LEFT JOIN _retention.policy_state AS s ON s.policy_id = p.id;

CREATE OR REPLACE VIEW retention.audit AS
SELECT l.run_id,
       pg_catalog.min(l.policy_name) AS policy_name,
       pg_catalog.min(l.relation) AS relation,
       pg_catalog.min(l.started_at) AS started_at,
       pg_catalog.max(l.finished_at) AS finished_at,
       pg_catalog.max(l.finished_at) - pg_catalog.min(l.started_at) AS duration,
       pg_catalog.count(*) AS units,
       pg_catalog.sum(l.rows_affected)::bigint AS rows_affected,
       pg_catalog.sum(l.rows_failed)::bigint AS rows_failed,
       coalesce(pg_catalog.array_agg(p.partition ORDER BY l.id)
                    FILTER (WHERE p.partition IS NOT NULL), '{}') AS partitions,
       CASE
           WHEN r.status OPERATOR(pg_catalog.=) 'interrupted'
                OR (r.status OPERATOR(pg_catalog.=) 'running'
                    AND NOT _retention.run_is_live(r.policy_id, r.pid)) THEN 'interrupted'
           WHEN r.status OPERATOR(pg_catalog.=) ANY (ARRAY['ok', 'partial', 'failed']) THEN r.status
           -- as the run itself decides (run.cpp, RunStatus): nothing removed and a unit
           -- failed, unless some work was only put off to the next run (a lock timeout);
           -- rows that failed on their own make a run partial
           WHEN pg_catalog.bool_or(l.status = 'failed')
                AND pg_catalog.sum(l.rows_affected) OPERATOR(pg_catalog.=) 0
                AND NOT pg_catalog.bool_or(l.status = 'partial' AND l.rows_failed = 0) THEN 'failed'
           WHEN pg_catalog.bool_or(l.status <> 'ok') THEN 'partial'
           ELSE 'ok'
       END AS status,
       (pg_catalog.array_agg(l.error ORDER BY l.id)
            FILTER (WHERE l.error IS NOT NULL))[1] AS first_error,
       pg_catalog.min(l.cutoff) AS cutoff,
       pg_catalog.min(l.invoked_by) AS invoked_by,
       pg_catalog.max(l.policy_version) AS policy_version,
       pg_catalog.array_agg(DISTINCT l.kind) AS kinds
FROM retention.purge_log AS l
LEFT JOIN LATERAL pg_catalog.unnest(l.partitions) AS p(partition) ON true
LEFT JOIN _retention.run AS r ON r.run_id OPERATOR(pg_catalog.=) l.run_id
WHERE l.run_id IS NOT NULL
GROUP BY l.run_id, r.run_id;

CREATE OR REPLACE VIEW retention.daily_summary AS
SELECT a.started_at::pg_catalog.date AS day,
       a.policy_name,
       pg_catalog.count(*) AS runs,
       pg_catalog.sum(a.rows_affected)::bigint AS rows_affected,
       pg_catalog.sum(pg_catalog.cardinality(a.partitions))::bigint AS partitions_dropped,
       pg_catalog.count(*) FILTER (WHERE a.status <> 'ok') AS failures,
       pg_catalog.sum(a.rows_failed)::bigint AS rows_failed
FROM retention.audit AS a
GROUP BY 1, 2;

CREATE OR REPLACE VIEW retention.policy_changes AS
SELECT c.id,
       c.policy_id,
       c.policy_name,
       c.changed_at,
       c.changed_by,
       c.setting,
       c.tenant,
       c.old_value,
       c.new_value,
       c.direction,
       c.policy_version
FROM _retention.policy_change AS c;

CREATE OR REPLACE VIEW retention.compliance AS
SELECT p.name AS policy_name,
       p.relation_name AS relation,
       p.action,
       p.retain,
       p.run_every,
       p.enabled,
       (SELECT pg_catalog.count(*) FROM _retention.tenant_retain AS t WHERE t.policy_id = p.id)
           AS tenant_periods,
       c.oldest_trigger,
       c.rows_overdue,
       s.last_started_at AS last_run_at,
       s.last_status,
       CASE
           WHEN NOT p.enabled THEN 'disabled'
           WHEN s.last_status IN ('partial', 'failed') OR c.rows_overdue IS NULL THEN 'failing'
           WHEN c.rows_overdue > 0 THEN 'overdue'
           ELSE 'compliant'
       END AS status
FROM _retention.policy AS p
LEFT JOIN _retention.compliance_rows() AS c ON c.policy_id = p.id
LEFT JOIN _retention.policy_state AS s ON s.policy_id = p.id;

CREATE OR REPLACE VIEW retention.holds AS
SELECT h.id, h.reason, h.policy_name, h.relation, h.tenant, h.subject, h.placed_at, h.placed_by
FROM _retention.hold AS h
WHERE h.released_at IS NULL;

-- Views for DBAs, auditors and analysts. They read the internal catalog with the rights of
-- their owner (the extension's owner); PUBLIC has no access (see grants.sql).
--
-- A view binds its functions and operators once, when it is created by CREATE EXTENSION (as a
-- superuser, with the extension's schema, usually public, on search_path), and then runs them
-- with the rights of whoever reads it. So every function is written pg_catalog.name(...), and
-- an operator is written OPERATOR(pg_catalog.op) wherever its operands have no exact match in
-- pg_catalog (sum(bigint) is numeric, compared with an integer), since a planted public
-- operator of exactly those types would be chosen over the cast. The other operators compare
-- types that pg_catalog matches exactly (text = text for a literal, bigint = integer, bigint =
-- bigint), and pg_catalog is searched first, so a planted operator of the same types is hidden.

CREATE VIEW retention.policies AS
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
COMMENT ON VIEW retention.policies IS
    'every policy with its settings, version, last run, next run, last status and failures';

-- One row per run of a policy: failed when a unit of work failed and nothing was removed,
-- partial when something failed (rows that failed on their own included), else ok;
-- interrupted when the run's session or worker died before the run finished (a crash, a
-- signal). The outcome is the one the run recorded in _retention.run; runs from before 0.2.0
-- have none and are judged by their units.
CREATE VIEW retention.audit AS
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
COMMENT ON VIEW retention.audit IS 'one row per run of a policy: when, how long, rows, partitions, status, first error';

CREATE VIEW retention.daily_summary AS
SELECT a.started_at::pg_catalog.date AS day,
       a.policy_name,
       pg_catalog.count(*) AS runs,
       pg_catalog.sum(a.rows_affected)::bigint AS rows_affected,
       pg_catalog.sum(pg_catalog.cardinality(a.partitions))::bigint AS partitions_dropped,
       pg_catalog.count(*) FILTER (WHERE a.status <> 'ok') AS failures,
       pg_catalog.sum(a.rows_failed)::bigint AS rows_failed
FROM retention.audit AS a
GROUP BY 1, 2;
COMMENT ON VIEW retention.daily_summary IS 'per day and policy: runs, rows, partitions, failures';

CREATE VIEW retention.policy_changes AS
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
COMMENT ON VIEW retention.policy_changes IS
    'every change to a policy or a tenant override, with the resulting policy version';

-- retention.compliance: is every policy being kept? Counts run as each relation's owner
-- (_retention.compliance_rows checks that the caller may read this view).
CREATE FUNCTION _retention.compliance_rows()
RETURNS TABLE (policy_id bigint, oldest_trigger timestamptz, rows_overdue bigint)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_compliance_rows';

CREATE VIEW retention.compliance AS
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
COMMENT ON VIEW retention.compliance IS
    'per policy: the oldest row still kept, rows overdue (expired one run_every ago), and disabled / failing / overdue / compliant';

-- retention 0.1.0 install script, frozen at its release: never edit (upgrades go in src/sql/updates/).
\echo Use "CREATE EXTENSION retention" to load this file. \quit

-- Both schemas are created here, not by the control file, so that CREATE EXTENSION fails if
-- either already exists: the extension never adopts a schema (or anything in it) that someone
-- else created beforehand.
CREATE SCHEMA retention;
COMMENT ON SCHEMA retention IS 'retention: public API (functions, procedures, views, audit log)';
CREATE SCHEMA _retention;
COMMENT ON SCHEMA _retention IS 'retention: internal catalog and helpers; not an API';

REVOKE ALL ON SCHEMA _retention FROM PUBLIC;
-- _retention.policy: one row per policy. Expressions are stored twice: as written (for people)
-- and as analysed node trees bound to column numbers (for runs), so renaming a column is
-- harmless and a dropped or retyped column is detected instead of binding to another one.
CREATE SEQUENCE _retention.policy_id_seq;

CREATE TABLE _retention.policy (
    id                 bigint PRIMARY KEY DEFAULT nextval('_retention.policy_id_seq'),
    name               text NOT NULL,
    relid              regclass NOT NULL,
    relid_oid          oid NOT NULL,
    relation_name      text NOT NULL,
    trigger            text NOT NULL,
    trigger_bin        text NOT NULL,
    retain             interval NOT NULL,
    grace              interval NOT NULL,
    action             text NOT NULL,
    anonymize          jsonb,
    anonymize_bin      jsonb,
    keep_when          text,
    keep_when_bin      text,
    tenant_column      name,
    subject_column     name,
    min_retain         interval,
    max_retain         interval,
    run_every          interval NOT NULL,
    priority           int NOT NULL,
    batch_size         int NOT NULL,
    partition_interval interval,
    premake            int NOT NULL,
    archive_to         regclass,
    enabled            boolean NOT NULL,
    timezone           text NOT NULL,
    version            int NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by         text NOT NULL DEFAULT CURRENT_USER,
    CONSTRAINT policy_name_key UNIQUE (name),
    CONSTRAINT policy_action_check CHECK (action IN ('delete', 'anonymize')),
    CONSTRAINT policy_batch_size_check CHECK (batch_size >= 1),
    CONSTRAINT policy_premake_check CHECK (premake >= 0),
    CONSTRAINT policy_version_check CHECK (version >= 1)
);
COMMENT ON TABLE _retention.policy IS 'retention policies (internal; read retention.policies)';

-- _retention.policy_state: the mutable run state of each policy (not part of the audit).
CREATE TABLE _retention.policy_state (
    policy_id            bigint PRIMARY KEY
                         REFERENCES _retention.policy (id) ON DELETE CASCADE,
    last_run_id          bigint,
    last_started_at      timestamptz,
    last_finished_at     timestamptz,
    last_status          text,
    last_error           text,
    consecutive_failures int NOT NULL DEFAULT 0,
    next_run_at          timestamptz,
    running_pid          int,
    CONSTRAINT policy_state_status_check
        CHECK (last_status IN ('running', 'ok', 'partial', 'failed', 'interrupted'))
);

CREATE SEQUENCE _retention.run_id_seq;

-- _retention.policy_change: every change to a policy or to a tenant override.
CREATE SEQUENCE _retention.policy_change_id_seq;
CREATE TABLE _retention.policy_change (
    id             bigint PRIMARY KEY DEFAULT nextval('_retention.policy_change_id_seq'),
    policy_id      bigint NOT NULL,
    policy_name    text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by     text NOT NULL,
    setting        text NOT NULL,
    tenant         text,
    old_value      text,
    new_value      text,
    direction      text,
    policy_version int NOT NULL,
    CONSTRAINT policy_change_direction_check CHECK (direction IN ('increase', 'decrease'))
);
CREATE INDEX policy_change_policy_idx ON _retention.policy_change (policy_name, id);

-- _retention.tenant_retain: per-tenant periods (retention.set_tenant_retain).
CREATE TABLE _retention.tenant_retain (
    policy_id bigint NOT NULL REFERENCES _retention.policy (id) ON DELETE CASCADE,
    tenant    text NOT NULL,
    retain    interval NOT NULL,
    set_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    set_by    text NOT NULL,
    PRIMARY KEY (policy_id, tenant)
);

SELECT pg_catalog.pg_extension_config_dump('_retention.policy', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.tenant_retain', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.policy_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.policy_state', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.policy_change', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.policy_change_id_seq', '');
-- retention.purge_log: the append-only, hash-chained audit log. One row per committed unit of
-- work, inserted in that unit's transaction by the extension's C++ code.
--
-- The chain: a BEFORE INSERT trigger (C++) takes the row lock on _retention.audit_head, so
-- writers queue there and ids are handed out in commit order; it sets id, prev_hash (the
-- previous row's hash) and hash = SHA-256 over a framing of the row's columns' binary forms.
-- retention.verify_audit() recomputes the chain.
CREATE TABLE retention.purge_log (
    id             bigint NOT NULL,
    run_id         bigint,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    policy_name    text,
    relation       text,
    kind           text NOT NULL,
    cutoff         timestamptz,
    rows_affected  bigint NOT NULL DEFAULT 0,
    rows_failed    bigint NOT NULL DEFAULT 0,
    partitions     text[],
    subject_digest text,
    status         text NOT NULL,
    error          text,
    invoked_by     text NOT NULL,
    policy_version int,
    hold_id        bigint,
    reason         text,
    prev_hash      bytea,
    hash           bytea NOT NULL,
    CONSTRAINT purge_log_pkey PRIMARY KEY (id),
    CONSTRAINT purge_log_kind_check CHECK (kind IN ('delete', 'drop_partition', 'anonymize',
                                                    'erasure', 'export', 'hold', 'release')),
    CONSTRAINT purge_log_status_check CHECK (status IN ('ok', 'partial', 'failed')),
    CONSTRAINT purge_log_rows_check CHECK (rows_affected >= 0 AND rows_failed >= 0)
);
CREATE INDEX purge_log_run_idx ON retention.purge_log (run_id);
CREATE INDEX purge_log_policy_idx ON retention.purge_log (policy_name, started_at);
COMMENT ON TABLE retention.purge_log IS
    'append-only audit log of every purge, with a SHA-256 hash chain (see retention.verify_audit())';

-- The head of the chain: one row, locked by every writer until it commits.
CREATE TABLE _retention.audit_head (
    singleton bool PRIMARY KEY DEFAULT true,
    last_id   bigint NOT NULL DEFAULT 0,
    last_hash bytea,
    CONSTRAINT audit_head_singleton CHECK (singleton)
);
INSERT INTO _retention.audit_head DEFAULT VALUES;

CREATE FUNCTION _retention.purge_log_chain() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'retention_purge_log_chain';
CREATE TRIGGER purge_log_chain BEFORE INSERT ON retention.purge_log
    FOR EACH ROW EXECUTE FUNCTION _retention.purge_log_chain();

-- The hash a row should carry, recomputed from its stored columns (prev_hash included).
CREATE FUNCTION _retention.audit_row_hash(retention.purge_log) RETURNS bytea
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'retention_audit_row_hash';

-- Append-only: UPDATE, DELETE and TRUNCATE are refused for every role but a superuser.
CREATE FUNCTION _retention.purge_log_append_only() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'retention_purge_log_append_only';
CREATE TRIGGER purge_log_append_only BEFORE UPDATE OR DELETE ON retention.purge_log
    FOR EACH ROW EXECUTE FUNCTION _retention.purge_log_append_only();
CREATE TRIGGER purge_log_no_truncate BEFORE TRUNCATE ON retention.purge_log
    FOR EACH STATEMENT EXECUTE FUNCTION _retention.purge_log_append_only();

SELECT pg_catalog.pg_extension_config_dump('retention.purge_log', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.audit_head', '');

CREATE FUNCTION retention.verify_audit()
RETURNS TABLE (ok boolean, rows_checked bigint, first_bad_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT l.id,
               row_number() OVER w AS position,
               l.hash IS NOT DISTINCT FROM _retention.audit_row_hash(l) AS hash_ok,
               l.prev_hash IS NOT DISTINCT FROM lag(l.hash) OVER w AS link_ok,
               last_value(l.hash) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                        AND UNBOUNDED FOLLOWING) AS tail_hash
        FROM retention.purge_log AS l
        WINDOW w AS (ORDER BY l.id)
    ),
    first_bad AS (
        SELECT id, position FROM chain WHERE NOT (hash_ok AND link_ok) ORDER BY id LIMIT 1
    ),
    -- rows removed from the end of the chain leave the head pointing past the last row
    tail AS (
        SELECT h.last_id AS id,
               (SELECT count(*) FROM chain) + 1 AS position
        FROM _retention.audit_head AS h
        WHERE h.last_hash IS DISTINCT FROM (SELECT tail_hash FROM chain LIMIT 1)
    ),
    verdict AS (
        SELECT * FROM first_bad
        UNION ALL
        SELECT * FROM tail WHERE NOT EXISTS (SELECT FROM first_bad)
    )
    SELECT NOT EXISTS (SELECT FROM verdict),
           coalesce((SELECT position - 1 FROM verdict), (SELECT count(*) FROM chain)),
           (SELECT id FROM verdict)
$$;
COMMENT ON FUNCTION retention.verify_audit() IS
    'walks the purge_log hash chain; ok false names the first row whose hash or link does not verify';
-- Policy management. These are C functions, not SECURITY DEFINER: they check that the caller
-- owns the relation, parse expressions with the caller's search_path (binding every name to its
-- object), and write the internal catalog as the extension's owner.
CREATE FUNCTION retention.add_policy(
    name               text,
    relation           regclass,
    trigger            text,
    retain             interval,
    grace              interval  DEFAULT '0',
    action             text      DEFAULT 'delete',
    anonymize          jsonb     DEFAULT NULL,
    keep_when          text      DEFAULT NULL,
    tenant_column      name      DEFAULT NULL,
    subject_column     name      DEFAULT NULL,
    min_retain         interval  DEFAULT NULL,
    max_retain         interval  DEFAULT NULL,
    run_every          interval  DEFAULT '1 hour',
    priority           int       DEFAULT 100,
    batch_size         int       DEFAULT 10000,
    partition_interval interval  DEFAULT NULL,
    premake            int       DEFAULT 4,
    archive_to         regclass  DEFAULT NULL,
    enabled            boolean   DEFAULT true,
    timezone           text      DEFAULT NULL
) RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_add_policy';
COMMENT ON FUNCTION retention.add_policy(text, regclass, text, interval, interval, text, jsonb,
    text, name, name, interval, interval, interval, int, int, interval, int, regclass, boolean,
    text) IS
    'declares a retention policy on a relation you own; returns the new policy''s id';

CREATE FUNCTION retention.alter_policy(
    name               text,
    trigger            text      DEFAULT NULL,
    retain             interval  DEFAULT NULL,
    grace              interval  DEFAULT NULL,
    action             text      DEFAULT NULL,
    anonymize          jsonb     DEFAULT NULL,
    keep_when          text      DEFAULT NULL,
    tenant_column      name      DEFAULT NULL,
    subject_column     name      DEFAULT NULL,
    min_retain         interval  DEFAULT NULL,
    max_retain         interval  DEFAULT NULL,
    run_every          interval  DEFAULT NULL,
    priority           int       DEFAULT NULL,
    batch_size         int       DEFAULT NULL,
    partition_interval interval  DEFAULT NULL,
    premake            int       DEFAULT NULL,
    archive_to         regclass  DEFAULT NULL,
    enabled            boolean   DEFAULT NULL,
    timezone           text      DEFAULT NULL
) RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_alter_policy';
COMMENT ON FUNCTION retention.alter_policy(text, text, interval, interval, text, jsonb, text,
    name, name, interval, interval, interval, int, int, interval, int, regclass, boolean, text) IS
    'changes the settings given (NULL leaves one unchanged; '''' clears keep_when, anonymize, '
    'tenant_column, subject_column); every change is recorded in retention.policy_changes';

CREATE FUNCTION retention.drop_policy(name text) RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'retention_drop_policy';
COMMENT ON FUNCTION retention.drop_policy(text) IS
    'removes a policy; its audit history in retention.purge_log stays';

CREATE FUNCTION retention.set_tenant_retain(policy_name text, tenant text, retain interval)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_set_tenant_retain';
COMMENT ON FUNCTION retention.set_tenant_retain(text, text, interval) IS
    'gives one tenant its own retain, within the policy''s min_retain and max_retain';

CREATE FUNCTION retention.reset_tenant_retain(policy_name text, tenant text)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_reset_tenant_retain';
COMMENT ON FUNCTION retention.reset_tenant_retain(text, text) IS
    'returns one tenant to the policy''s retain';
-- Running policies. run is a procedure because it commits batch by batch; it cannot carry a
-- SET clause (PostgreSQL would then refuse its commits), so the C++ code pins search_path for
-- every transaction it opens.
CREATE PROCEDURE retention.run(policy_name text DEFAULT NULL)
LANGUAGE C
AS 'MODULE_PATHNAME', 'retention_run';
COMMENT ON PROCEDURE retention.run(text) IS
    'runs the named policy now (even if disabled), or every enabled policy you may run, in priority order';

CREATE FUNCTION retention.preview(policy_name text DEFAULT NULL,
                                  as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (policy text, relation regclass, cutoff timestamptz, rows_expired bigint,
               partitions_to_drop text[], rows_held bigint)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_preview';
COMMENT ON FUNCTION retention.preview(text, timestamptz) IS
    'what a run at as_of would remove, per policy; changes nothing';

-- Used by the statements runs generate: the cutoff of a row's tenant (one hash probe).
CREATE FUNCTION retention.tenant_cutoff(tenant anyelement, tenants anyarray,
                                        cutoffs timestamptz[], fallback timestamptz)
RETURNS timestamptz
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'retention_tenant_cutoff';
COMMENT ON FUNCTION retention.tenant_cutoff(anyelement, anyarray, timestamptz[], timestamptz) IS
    'internal, used by runs: the cutoff paired with tenant in (tenants, cutoffs), else fallback';
-- Legal holds and data subjects.
--
-- _retention.hold: one row per hold, never deleted (released holds keep their history). A hold
-- covers the rows matching all of its non-NULL scopes: the relation of a policy (captured when
-- the hold is placed, so it outlives the policy), a tenant, a subject. Runs lock this table in
-- SHARE mode for each unit of work and read the active holds under that lock; placing or
-- releasing a hold writes it, so it waits for the units in flight and the next ones see it.
CREATE SEQUENCE _retention.hold_id_seq;
CREATE TABLE _retention.hold (
    id          bigint PRIMARY KEY DEFAULT nextval('_retention.hold_id_seq'),
    reason      text NOT NULL,
    policy_id   bigint,
    policy_name text,
    relid       oid,
    relation    text,
    tenant      text,
    subject     text,
    placed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    placed_by   text NOT NULL,
    released_at timestamptz,
    released_by text,
    CONSTRAINT hold_policy_check CHECK ((policy_name IS NULL) = (relid IS NULL))
);
CREATE INDEX hold_active_idx ON _retention.hold (id) WHERE released_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('_retention.hold', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.hold_id_seq', '');

-- The key of subject_digest(): 32 random bytes made at CREATE EXTENSION, dumped with the data
-- so digests stay the same after pg_dump / pg_restore.
CREATE FUNCTION _retention.random_key() RETURNS bytea
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_random_key';
CREATE TABLE _retention.secret (
    singleton bool PRIMARY KEY DEFAULT true,
    key       bytea NOT NULL,
    CONSTRAINT secret_singleton CHECK (singleton)
);
INSERT INTO _retention.secret (key) SELECT _retention.random_key();
SELECT pg_catalog.pg_extension_config_dump('_retention.secret', '');

CREATE FUNCTION retention.place_hold(reason text, policy_name text DEFAULT NULL,
                                     tenant text DEFAULT NULL, subject text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_place_hold';
COMMENT ON FUNCTION retention.place_hold(text, text, text, text) IS
    'places a legal hold on the rows matching all given scopes (none: every row of every policy); returns its id';

CREATE FUNCTION retention.release_hold(hold_id bigint) RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'retention_release_hold';
COMMENT ON FUNCTION retention.release_hold(bigint) IS 'releases a legal hold';

CREATE FUNCTION retention.subject_digest(subject text) RETURNS text
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'retention_subject_digest';
COMMENT ON FUNCTION retention.subject_digest(text) IS
    'lowercase hex HMAC-SHA256 of the subject, keyed with this installation''s secret: what the audit log records instead of the subject';

CREATE VIEW retention.holds AS
SELECT h.id, h.reason, h.policy_name, h.relation, h.tenant, h.subject, h.placed_at, h.placed_by
FROM _retention.hold AS h
WHERE h.released_at IS NULL;
COMMENT ON VIEW retention.holds IS 'active legal holds';

CREATE FUNCTION retention.erase_subject(subject text, reason text)
RETURNS TABLE (relation regclass, rows_erased bigint, rows_held bigint)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_erase_subject';
COMMENT ON FUNCTION retention.erase_subject(text, text) IS
    'deletes, in one transaction, every row of the subject in every relation with a subject_column, except held rows (GDPR art. 17)';

CREATE FUNCTION retention.export_subject(subject text) RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'retention_export_subject';
COMMENT ON FUNCTION retention.export_subject(text) IS
    'every row of the subject in every relation with a subject_column, as jsonb (GDPR art. 15)';
-- Views for DBAs, auditors and analysts. They read the internal catalog with the rights of
-- their owner (the extension's owner); PUBLIC has no access (see grants.sql).

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
       s.last_status,
       s.last_error,
       coalesce(s.consecutive_failures, 0) AS consecutive_failures,
       CASE WHEN p.enabled THEN coalesce(s.next_run_at, p.created_at) END AS next_run_at
FROM _retention.policy AS p
LEFT JOIN _retention.policy_state AS s ON s.policy_id = p.id;
COMMENT ON VIEW retention.policies IS
    'every policy with its settings, version, last run, next run, last status and failures';

-- One row per run of a policy: failed when something failed and nothing was removed, partial
-- when something failed besides what was removed, else ok.
CREATE VIEW retention.audit AS
SELECT l.run_id,
       min(l.policy_name) AS policy_name,
       min(l.relation) AS relation,
       min(l.started_at) AS started_at,
       max(l.finished_at) AS finished_at,
       max(l.finished_at) - min(l.started_at) AS duration,
       count(*) AS units,
       sum(l.rows_affected)::bigint AS rows_affected,
       sum(l.rows_failed)::bigint AS rows_failed,
       coalesce(array_agg(p.partition ORDER BY l.id) FILTER (WHERE p.partition IS NOT NULL),
                '{}') AS partitions,
       CASE
           -- as the run itself decides (run.cpp, RunStatus): nothing removed and something
           -- failed, unless some work was only put off to the next run (a lock timeout)
           WHEN bool_or(l.status <> 'ok') AND sum(l.rows_affected) = 0
                AND NOT bool_or(l.status = 'partial' AND l.rows_failed = 0) THEN 'failed'
           WHEN bool_or(l.status <> 'ok') THEN 'partial'
           ELSE 'ok'
       END AS status,
       (array_agg(l.error ORDER BY l.id) FILTER (WHERE l.error IS NOT NULL))[1] AS first_error,
       min(l.cutoff) AS cutoff,
       min(l.invoked_by) AS invoked_by,
       max(l.policy_version) AS policy_version,
       array_agg(DISTINCT l.kind) AS kinds
FROM retention.purge_log AS l
LEFT JOIN LATERAL unnest(l.partitions) AS p(partition) ON true
WHERE l.run_id IS NOT NULL
GROUP BY l.run_id;
COMMENT ON VIEW retention.audit IS 'one row per run of a policy: when, how long, rows, partitions, status, first error';

CREATE VIEW retention.daily_summary AS
SELECT a.started_at::date AS day,
       a.policy_name,
       count(*) AS runs,
       sum(a.rows_affected)::bigint AS rows_affected,
       sum(cardinality(a.partitions))::bigint AS partitions_dropped,
       count(*) FILTER (WHERE a.status <> 'ok') AS failures,
       sum(a.rows_failed)::bigint AS rows_failed
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
       (SELECT count(*) FROM _retention.tenant_retain AS t WHERE t.policy_id = p.id) AS tenant_periods,
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
-- Privileges (SPEC "Security"). PUBLIC may use the schema and call the policy functions, run
-- and preview (which check relation ownership themselves) and subject_digest. Everything else
-- is for the DBA to grant to compliance and analyst roles.
REVOKE ALL ON ALL TABLES IN SCHEMA retention FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA _retention FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA _retention FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.verify_audit() FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.place_hold(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.release_hold(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.erase_subject(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.export_subject(text) FROM PUBLIC;

GRANT USAGE ON SCHEMA retention TO PUBLIC;
GRANT EXECUTE ON FUNCTION
    retention.add_policy(text, regclass, text, interval, interval, text, jsonb, text, name, name,
                         interval, interval, interval, int, int, interval, int, regclass,
                         boolean, text),
    retention.alter_policy(text, text, interval, interval, text, jsonb, text, name, name,
                           interval, interval, interval, int, int, interval, int, regclass,
                           boolean, text),
    retention.drop_policy(text),
    retention.set_tenant_retain(text, text, interval),
    retention.reset_tenant_retain(text, text),
    retention.preview(text, timestamptz),
    retention.subject_digest(text)
    TO PUBLIC;
GRANT EXECUTE ON PROCEDURE retention.run(text) TO PUBLIC;
-- read through retention.compliance, whose readers it checks itself
GRANT EXECUTE ON FUNCTION _retention.compliance_rows() TO PUBLIC;

-- Every function, cast and sequence below names its schema: this script runs as a superuser with
-- the extension's schema (usually public, which the database owner controls) on search_path, and
-- an unqualified nextval('...') would bind a planted public.nextval(text) over
-- pg_catalog.nextval(regclass) (CVE-2022-2625). test/lint/sql_qualified.py checks the scripts.

-- _retention.policy: one row per policy. Expressions are stored twice: as written (for people)
-- and as analysed node trees bound to column numbers (for runs), so renaming a column is
-- harmless and a dropped or retyped column is detected instead of binding to another one.
-- Those trees hold OIDs and column numbers, which a pg_dump / pg_restore changes: `binding`
-- keeps the expressions deparsed with current names and a fingerprint of the columns and
-- functions they name, `binding_relations` the other relations they read (regclass: dumped by
-- name). relid (regclass, dumped by name) differing from relid_oid marks a restored policy,
-- whose trees are then parsed again by name and checked against the fingerprint
-- (src/catalog/binding.hpp).
CREATE SEQUENCE _retention.policy_id_seq;

CREATE TABLE _retention.policy (
    id                 bigint PRIMARY KEY
                       DEFAULT pg_catalog.nextval('_retention.policy_id_seq'::pg_catalog.regclass),
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
    binding            jsonb,
    binding_relations  regclass[],
    CONSTRAINT policy_name_key UNIQUE (name),
    CONSTRAINT policy_action_check CHECK (action IN ('delete', 'anonymize')),
    CONSTRAINT policy_batch_size_check CHECK (batch_size >= 1),
    CONSTRAINT policy_premake_check CHECK (premake >= 0),
    CONSTRAINT policy_version_check CHECK (version >= 1)
);
COMMENT ON TABLE _retention.policy IS 'retention policies (internal; read retention.policies)';

-- Binds policy `id` by name (keeps its binding up to date, or binds it again after a restore).
CREATE FUNCTION _retention.bind_policy(id bigint) RETURNS void
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'retention_bind_policy';
COMMENT ON FUNCTION _retention.bind_policy(bigint) IS
    'internal: binds the policy''s expressions by name (keeps what a restore needs to bind them again)';
REVOKE ALL ON FUNCTION _retention.bind_policy(bigint) FROM PUBLIC;

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

-- _retention.run: the outcome of each run, kept beside the append-only audit log (which records
-- units of work, not runs). A run is committed as 'running' before its first unit; its end sets
-- 'ok', 'partial' or 'failed'. A run whose session or worker died (a crash, a signal) stays
-- 'running' until the next run of its policy or the next worker start marks it 'interrupted';
-- until then, _retention.run_is_live() tells it from a run in progress. No foreign key: a run
-- keeps its outcome after its policy is dropped, like its audit rows.
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

-- Whether the run of policy `policy_id` in backend `pid` is still in progress: that backend
-- holds the policy's run lock (a session lock tagged as advisory lock (0x52544e31, policy id)
-- of kind 3, which no SQL function takes, see purge/run.cpp, RUN_LOCK_KEY) for as long as the
-- run lasts. A backend that died, or one that has moved on, holds no such lock.
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

-- _retention.policy_change: every change to a policy or to a tenant override.
CREATE SEQUENCE _retention.policy_change_id_seq;
CREATE TABLE _retention.policy_change (
    id             bigint PRIMARY KEY
                   DEFAULT pg_catalog.nextval('_retention.policy_change_id_seq'::pg_catalog.regclass),
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
SELECT pg_catalog.pg_extension_config_dump('_retention.run', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.policy_change', '');
SELECT pg_catalog.pg_extension_config_dump('_retention.policy_change_id_seq', '');

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

-- A row inserted into a single-row table replaces the one there: a restore loads the dumped
-- row over the one CREATE EXTENSION made (docs/design.md, "Dump and restore").
CREATE FUNCTION _retention.replace_single_row() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'retention_replace_single_row';
CREATE TRIGGER audit_head_replace BEFORE INSERT ON _retention.audit_head
    FOR EACH ROW EXECUTE FUNCTION _retention.replace_single_row();

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

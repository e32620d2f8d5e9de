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

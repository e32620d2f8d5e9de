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

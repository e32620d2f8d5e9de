-- Privileges (SPEC "Security"). PUBLIC may use the schema and call the policy functions, run
-- and preview (which check relation ownership themselves) and subject_digest. Everything else
-- is for the DBA to grant to compliance and analyst roles.
REVOKE ALL ON ALL TABLES IN SCHEMA retention FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA _retention FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA _retention FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.verify_audit(bigint, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION retention.audit_head() FROM PUBLIC;
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
-- called by retention.audit and retention.policies, whose readers need EXECUTE on it (a view's
-- functions are checked against its reader); it tells only what pg_locks shows anyone
GRANT EXECUTE ON FUNCTION _retention.run_is_live(bigint, int) TO PUBLIC;

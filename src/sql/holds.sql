-- Legal holds and data subjects.
--
-- _retention.hold: one row per hold, never deleted (released holds keep their history). A hold
-- covers the rows matching all of its non-NULL scopes: the relation of a policy (captured when
-- the hold is placed, so it outlives the policy; regclass, so that pg_dump writes it by name),
-- a tenant, a subject. Runs lock this table in
-- SHARE mode for each unit of work and read the active holds under that lock; placing or
-- releasing a hold writes it, so it waits for the units in flight and the next ones see it.
CREATE SEQUENCE _retention.hold_id_seq;
CREATE TABLE _retention.hold (
    id          bigint PRIMARY KEY
                DEFAULT pg_catalog.nextval('_retention.hold_id_seq'::pg_catalog.regclass),
    reason      text NOT NULL,
    policy_id   bigint,
    policy_name text,
    relid       regclass,
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
-- a restore loads the source's key over this one (_retention.replace_single_row(), purge_log.sql)
CREATE TRIGGER secret_replace BEFORE INSERT ON _retention.secret
    FOR EACH ROW EXECUTE FUNCTION _retention.replace_single_row();
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

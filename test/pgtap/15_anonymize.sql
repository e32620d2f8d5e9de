-- anonymize: expired rows are updated in committed batches, only while a replaced column still
-- differs; a second run touches 0 rows; unexpired, kept and held rows stay as they are; failures
-- are isolated; audited as kind anonymize.
-- Runs CALL retention.run(), so no BEGIN/ROLLBACK.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(14);

CREATE TABLE cdr (id int PRIMARY KEY, tenant int NOT NULL, caller text, callee text,
                  label text, disputed boolean NOT NULL DEFAULT false, at timestamptz NOT NULL);
INSERT INTO cdr (id, tenant, caller, callee, label, at)
SELECT g, g % 3, '+4930' || g, '+4940' || g, 'call', now() - (g || ' days')::interval - interval '1 hour'
FROM generate_series(1, 1000) g;
UPDATE cdr SET disputed = true WHERE id IN (500, 600);
SELECT retention.add_policy('cdr_anon', 'cdr', 'at', '12 months', action => 'anonymize',
                            anonymize => '{"caller": "NULL", "callee": "NULL", "label": "''call '' || id"}',
                            keep_when => 'disputed', tenant_column => 'tenant', batch_size => 100,
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.place_hold('tenant 2 audit', tenant => '2') AS hold_id \gset
CREATE TABLE cdr_before AS SELECT * FROM cdr;

SELECT is((SELECT rows_expired FROM retention.preview('cdr_anon')),
          (SELECT count(*) FROM cdr WHERE at < now() - interval '12 months' AND NOT disputed AND tenant <> 2),
          'preview counts the expired rows still to anonymise, not kept or held ones');
CALL retention.run('cdr_anon');
SELECT is((SELECT count(*) FROM cdr), 1000::bigint, 'anonymised rows stay');
SELECT ok((SELECT bool_and(caller IS NULL AND callee IS NULL AND label = 'call ' || id) FROM cdr
           WHERE at < now() - interval '12 months' AND NOT disputed AND tenant <> 2),
          'every expired row has its replacements');
SELECT is((SELECT count(*) FROM cdr c JOIN cdr_before b USING (id)
           WHERE (c.at >= now() - interval '12 months' OR c.disputed OR c.tenant = 2)
             AND (c.caller, c.callee, c.label) IS DISTINCT FROM (b.caller, b.callee, b.label)),
          0::bigint, 'unexpired, kept (keep_when) and held rows are untouched');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'cdr_anon' AND kind = 'anonymize'),
          (SELECT count(*) FROM cdr_before WHERE at < now() - interval '12 months' AND NOT disputed AND tenant <> 2)::numeric,
          'the audit counts every anonymised row, kind anonymize');
SELECT cmp_ok((SELECT count(*) FROM retention.purge_log WHERE policy_name = 'cdr_anon' AND rows_affected > 0),
              '>', 1::bigint, 'in several committed batches');
SELECT is((SELECT rows_expired FROM retention.preview('cdr_anon')), 0::bigint,
          'preview: already anonymised rows are not counted again');

SELECT max(id) AS last_id FROM retention.purge_log \gset
CALL retention.run('cdr_anon');
SELECT is((SELECT array_agg(rows_affected) FROM retention.purge_log WHERE id > :last_id AND policy_name = 'cdr_anon'),
          '{0}'::bigint[], 'a second run touches 0 rows (one audit row with 0)');

-- a row whose update fails is isolated; the rest of the batch is anonymised
SELECT retention.release_hold(:hold_id);
CREATE FUNCTION cdr_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 401 THEN RAISE EXCEPTION 'row 401 is frozen'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cdr_guard BEFORE UPDATE ON cdr FOR EACH ROW EXECUTE FUNCTION cdr_guard();
SELECT max(id) AS last_id FROM retention.purge_log \gset
CALL retention.run('cdr_anon');
SELECT is((SELECT caller FROM cdr WHERE id = 401), '+4930401', 'the failing row keeps its values');
SELECT is((SELECT count(*) FROM cdr WHERE tenant = 2 AND at < now() - interval '12 months'
           AND NOT disputed AND id <> 401 AND caller IS NOT NULL), 0::bigint,
          'once the hold is released, the other rows are anonymised');
SELECT is((SELECT row(sum(rows_failed), bool_or(status = 'partial'))::text FROM retention.purge_log
           WHERE id > :last_id AND policy_name = 'cdr_anon'), row(1::numeric, true)::text,
          'the run records one failed row and status partial');

-- refusals
SELECT throws_ok($$SELECT retention.add_policy('anon_bad', 'cdr', 'at', '1 year', action => 'anonymize')$$,
                 '22023', NULL, 'anonymize without replacements is refused with 22023');
SELECT throws_ok($$SELECT retention.add_policy('anon_bad', 'cdr', 'at', '1 year', action => 'anonymize',
                                              anonymize => '{"disputed": "now()"}')$$,
                 '42804', NULL, 'a replacement not assignable to its column is refused with 42804');
SELECT is((SELECT ok FROM retention.verify_audit()), true, 'the audit chain verifies');

SELECT * FROM finish();

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

-- verify_audit(): same result; its body now qualifies every function besides pinning
-- search_path (CREATE OR REPLACE keeps its owner and privileges; they are restated anyway).
CREATE OR REPLACE FUNCTION retention.verify_audit()
RETURNS TABLE (ok boolean, rows_checked bigint, first_bad_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT l.id,
               pg_catalog.row_number() OVER w AS position,
               l.hash IS NOT DISTINCT FROM _retention.audit_row_hash(l) AS hash_ok,
               l.prev_hash IS NOT DISTINCT FROM pg_catalog.lag(l.hash) OVER w AS link_ok,
               pg_catalog.last_value(l.hash) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
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
               (SELECT pg_catalog.count(*) FROM chain) + 1 AS position
        FROM _retention.audit_head AS h
        WHERE h.last_hash IS DISTINCT FROM (SELECT tail_hash FROM chain LIMIT 1)
    ),
    verdict AS (
        SELECT * FROM first_bad
        UNION ALL
        SELECT * FROM tail WHERE NOT EXISTS (SELECT FROM first_bad)
    )
    SELECT NOT EXISTS (SELECT FROM verdict),
           coalesce((SELECT position - 1 FROM verdict), (SELECT pg_catalog.count(*) FROM chain)),
           (SELECT id FROM verdict)
$$;
COMMENT ON FUNCTION retention.verify_audit() IS
    'walks the purge_log hash chain; ok false names the first row whose hash or link does not verify';
REVOKE ALL ON FUNCTION retention.verify_audit() FROM PUBLIC;

-- The views of 0.1.0 bound unnest, array_agg, cardinality and the numeric = integer comparison
-- in retention.audit through search_path too; they are recreated at the end of this script.


-- ---------------------------------------------------------------------------------------------
-- Section B: relation refusals, cutoff range checks, validation
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section C: run error boundary, interrupted runs
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section D: worker launcher
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section E: row failures of expressions, rules
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section F: owner's search_path, compliance over hidden rows, export
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section G: audit anchors (audit_head, verify_audit with an anchor)
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Views: recreated last, as src/sql/views.sql defines them in 0.2.0
-- ---------------------------------------------------------------------------------------------

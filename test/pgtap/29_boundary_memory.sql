-- boundary_memory: failing calls leave nothing behind in the backend. A PostgreSQL error
-- longjmps over C++ frames without running destructors, so an object that owns heap memory
-- (a std::string) alive across a backend call that fails leaks it on every failure. Measured
-- as the backend's resident memory (VmRSS in /proc/self/status) over many failing calls of
-- set_tenant_retain (a negative period: an ereport with the policy's settings loaded) and of
-- alter_policy through the scalar validation (batch_size 0), each with a 200-character policy
-- name. Each batch of calls is its own transaction: the first two batches set the high-water
-- mark (of the backend's memory contexts, and of the shared memory pages it touches: each call
-- locks the policy row in a subtransaction of its own), the later ones must not grow it.
-- Reads /proc as a superuser (pg_read_file), autocommit.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(4);

CREATE TABLE mem_t (id int, tenant text, at timestamptz NOT NULL);
SELECT retention.add_policy(repeat('p', 200), 'mem_t', 'at', '30 days', tenant_column => 'tenant',
                            enabled => false) IS NOT NULL AS added \gset

CREATE FUNCTION mem_rss_kb(field text DEFAULT 'VmRSS') RETURNS bigint LANGUAGE sql AS
$$ SELECT substring(pg_read_file('/proc/self/status') FROM field || ':\s+(\d+) kB')::bigint $$;
CREATE TABLE mem_sample (label text PRIMARY KEY, kb bigint NOT NULL, anon_kb bigint NOT NULL);

-- a batch: 20,000 failing calls, each in its own exception block
CREATE FUNCTION mem_fail_tenant() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..20000 LOOP
        BEGIN
            PERFORM retention.set_tenant_retain(repeat('p', 200), 'acme', '-1 day');
            RAISE 'set_tenant_retain accepted a negative period';
        EXCEPTION WHEN invalid_parameter_value THEN
            NULL;
        END;
    END LOOP;
END $$;
CREATE FUNCTION mem_fail_alter() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..20000 LOOP
        BEGIN
            PERFORM retention.alter_policy(repeat('p', 200), batch_size => 0);
            RAISE 'alter_policy accepted batch_size 0';
        EXCEPTION WHEN invalid_parameter_value THEN
            NULL;
        END;
    END LOOP;
END $$;

-- set_tenant_retain: two batches to warm up, then 60,000 calls in three transactions
SELECT mem_fail_tenant();
SELECT mem_fail_tenant();
INSERT INTO mem_sample SELECT 'tenant before', mem_rss_kb(), mem_rss_kb('RssAnon');
SELECT mem_fail_tenant();
SELECT mem_fail_tenant();
SELECT mem_fail_tenant();
INSERT INTO mem_sample SELECT 'tenant after', mem_rss_kb(), mem_rss_kb('RssAnon');

-- alter_policy through ValidateScalars: the same
SELECT mem_fail_alter();
SELECT mem_fail_alter();
INSERT INTO mem_sample SELECT 'alter before', mem_rss_kb(), mem_rss_kb('RssAnon');
SELECT mem_fail_alter();
SELECT mem_fail_alter();
SELECT mem_fail_alter();
INSERT INTO mem_sample SELECT 'alter after', mem_rss_kb(), mem_rss_kb('RssAnon');

-- the figures, for the log of the test run
SELECT diag(format('%s: VmRSS %s kB, RssAnon %s kB', label, kb, anon_kb)) FROM mem_sample
ORDER BY label DESC;

-- a leak of the 200-character name alone is some 12 MB over 60,000 calls; allow 3 MB of noise
SELECT cmp_ok((SELECT a.kb - b.kb FROM mem_sample a, mem_sample b
               WHERE a.label = 'tenant after' AND b.label = 'tenant before'), '<', 3072::bigint,
              '60,000 failing set_tenant_retain calls grow the backend by less than 3 MB');
SELECT cmp_ok((SELECT a.kb - b.kb FROM mem_sample a, mem_sample b
               WHERE a.label = 'alter after' AND b.label = 'alter before'), '<', 3072::bigint,
              '60,000 failing alter_policy calls grow the backend by less than 3 MB');
SELECT is((SELECT count(*) FROM _retention.tenant_retain), 0::bigint,
          'no failing call stored a tenant period');
SELECT is((SELECT version FROM _retention.policy WHERE name = repeat('p', 200)), 1,
          'no failing call changed the policy');

SELECT * FROM finish();

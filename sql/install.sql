-- install: CREATE EXTENSION never adopts objects created beforehand; DROP/CREATE round trip
DROP EXTENSION retention;
CREATE SCHEMA retention;
CREATE FUNCTION retention.run(text) RETURNS void LANGUAGE sql AS 'SELECT';
\set VERBOSITY terse
CREATE EXTENSION retention;   -- fails: the schema exists
\set VERBOSITY default
SELECT count(*) AS extension_rows FROM pg_extension WHERE extname = 'retention';
DROP SCHEMA retention CASCADE;
CREATE SCHEMA _retention;
\set VERBOSITY terse
CREATE EXTENSION retention;   -- fails: the internal schema exists
\set VERBOSITY default
DROP SCHEMA _retention;
CREATE EXTENSION retention;
SELECT extversion, extrelocatable FROM pg_extension WHERE extname = 'retention';
-- the objects belong to the extension, and the audit chain starts empty
SELECT count(*) > 20 AS members FROM pg_depend
WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'retention') AND deptype = 'e';
SELECT * FROM retention.verify_audit();
-- what PUBLIC may execute
SELECT p.oid::regprocedure AS function, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc AS p WHERE p.pronamespace IN ('retention'::regnamespace, '_retention'::regnamespace)
ORDER BY p.oid::regprocedure::text;
-- functions that run with elevated rights pin search_path
SELECT p.oid::regprocedure AS function, p.proconfig
FROM pg_proc AS p WHERE p.pronamespace = 'retention'::regnamespace AND p.prosecdef ORDER BY p.oid::regprocedure::text;

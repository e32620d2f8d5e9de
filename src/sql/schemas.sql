-- retention extension script (concatenated by the Makefile from src/sql/).
\echo Use "CREATE EXTENSION retention" to load this file. \quit

-- Both schemas are created here, not by the control file, so that CREATE EXTENSION fails if
-- either already exists: the extension never adopts a schema (or anything in it) that someone
-- else created beforehand.
CREATE SCHEMA retention;
COMMENT ON SCHEMA retention IS 'retention: public API (functions, procedures, views, audit log)';
CREATE SCHEMA _retention;
COMMENT ON SCHEMA _retention IS 'retention: internal catalog and helpers; not an API';

REVOKE ALL ON SCHEMA _retention FROM PUBLIC;

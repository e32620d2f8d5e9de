-- retention 0.1.0 -> 0.2.0 (written by hand; never edited after 0.2.0 is released).
\echo Use "ALTER EXTENSION retention UPDATE TO '0.2.0'" to load this file. \quit

-- Every reference below is schema-qualified, like the install script: this script runs with
-- the privileges of the role that updates the extension (usually a superuser), and nothing a
-- role created beforehand on the search_path may be bound in place of a built-in.

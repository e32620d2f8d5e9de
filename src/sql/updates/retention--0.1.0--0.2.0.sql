-- retention 0.1.0 -> 0.2.0 (written by hand; never edited after 0.2.0 is released).
\echo Use "ALTER EXTENSION retention UPDATE TO '0.2.0'" to load this file. \quit

-- Every reference below is schema-qualified, like the install script: this script runs with
-- the privileges of the role that updates the extension (usually a superuser), and nothing a
-- role created beforehand on the search_path may be bound in place of a built-in.

-- ---------------------------------------------------------------------------------------------
-- Section A: schema-qualified references (column defaults, functions, views)
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section B: relation refusals, cutoff range checks, validation
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section C: run error boundary, interrupted runs
-- ---------------------------------------------------------------------------------------------


-- ---------------------------------------------------------------------------------------------
-- Section D: worker launcher
-- ---------------------------------------------------------------------------------------------
-- Nothing: the launcher's and the hooks' changes are in the library (src/worker/).


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

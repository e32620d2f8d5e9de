/*
 * expression.hpp: a policy's SQL expressions (trigger, keep_when, anonymize replacements),
 * parsed and type-checked against the relation at add time, stored as analysed node trees, and
 * turned back into SQL for each run.
 *
 * Parsing accepts exactly one expression: text that would add a FROM clause, a second
 * statement or anything but a single scalar expression is refused with 42601. The stored tree
 * binds columns by number and functions and operators by OID, like a CHECK constraint, so
 * renames are harmless; Deparse() refuses (with an error naming the policy) a tree whose
 * columns were dropped or changed type since.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

enum class ExpressionRole
{
	TRIGGER,   /* must be date, timestamp or timestamptz */
	KEEP_WHEN, /* coerced to boolean */
	ASSIGN,    /* coerced to the type of target column */
};

/*
 * Parses and analyses `text` over relation `rel` (opened by the caller). For ASSIGN, `target`
 * is the column's attribute number. Returns nodeToString() of the analysed expression; sets
 * *bare_column to the column number when the expression is a plain column reference, else 0.
 * `alias`: the name the text uses for the relation (nullptr: its own name).
 */
char *CompileExpression(Relation rel, const char *text, ExpressionRole role, const char *what,
                        AttrNumber target, AttrNumber *bare_column, const char *alias = nullptr);

/*
 * SQL text for a stored tree, with column references unqualified or qualified by `alias`,
 * and every function, operator and type qualified with its schema, so that it keeps its
 * meaning under any search_path (it runs under the relation owner's). Raises an error naming `what`
 * if the tree no longer fits the relation.
 */
char *DeparseExpression(const char *stored, Oid relid, const char *alias, const char *what);

/* The column number of a stored bare-column expression, or 0. */
AttrNumber StoredBareColumn(const char *stored);

} // namespace retention::catalog

/*
 * sql_text.hpp: operators spelled with their schema, for the SQL text that runs on a policy's
 * relation.
 *
 * Such statements run under the search_path of the relation's owner (see pg/scope.hpp), on
 * which the owner or anyone it trusts may have put an operator or a function that would be
 * bound in place of pg_catalog's if the text named it without a schema. So every operator in
 * that text is written as OPERATOR(pg_catalog.op), every function as pg_catalog.f(...) and
 * every type as pg_catalog.t (or a type name the grammar itself knows, such as timestamptz's
 * "timestamp with time zone"). String literals concatenate: "a" SQL_LT "$1".
 */
#pragma once

#define SQL_EQ " OPERATOR(pg_catalog.=) "
#define SQL_LT " OPERATOR(pg_catalog.<) "
#define SQL_LE " OPERATOR(pg_catalog.<=) "
#define SQL_GT " OPERATOR(pg_catalog.>) "
#define SQL_GE " OPERATOR(pg_catalog.>=) "
#define SQL_PLUS " OPERATOR(pg_catalog.+) "
#define SQL_MINUS " OPERATOR(pg_catalog.-) "
#define SQL_TIMES " OPERATOR(pg_catalog.*) "
#define SQL_DIVIDE " OPERATOR(pg_catalog./) "

#include "pg/postgres.hpp"

namespace retention::pg
{

/*
 * " OPERATOR(schema.=) ": the equality operator of `type` (its default btree or hash
 * operator class), for a column compared with a value of its own type; a type from an
 * extension (citext, a domain's base type) keeps its own operator.
 */
const char *EqualityOperator(Oid type);

/*
 * "a IS DISTINCT FROM b" over values of `type`, with the type's own equality operator named
 * with its schema (IS DISTINCT FROM itself would look "=" up on the search_path).
 */
char *DistinctFrom(const char *left, const char *right, Oid type);

} // namespace retention::pg

/*
 * scope.hpp: running code as another role with pinned settings, the way PostgreSQL's own
 * maintenance commands do.
 *
 * Enter() opens a GUC nesting level, pins search_path to pg_catalog, pg_temp (and TimeZone,
 * when given), and switches the current user; Leave() undoes all three. An error between the
 * two is fine: aborting the (sub)transaction restores user and settings. Two uses:
 *  - AsExtensionOwner: reading and writing the internal catalog and the audit log, which the
 *    caller has no rights on, with the pinned search_path;
 *  - AsRelationOwner: every statement a run, a preview, an erasure or an export executes on a
 *    relation, as its owner inside a security-restricted operation, so neither the worker nor
 *    a superuser caller lends its rights to code in the table's triggers or expressions. Such
 *    statements run with the search_path a new session of the owner gets (OwnerSearchPath),
 *    so that the table's triggers, rules and row-level security policies behave as they do
 *    for the application (like a job pg_cron runs as that role). The statements themselves
 *    are parsed with pg_catalog, pg_temp on the path, and only planned and executed with the
 *    owner's (InstallStatementHooks), so that path never changes what they mean: they name
 *    every other schema's function, operator and type (see pg/sql_text.hpp and
 *    catalog::DeparseExpression). What the statements' triggers and functions do to settings
 *    ends with each statement.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::pg
{

struct Scope
{
	Oid saved_user;
	int saved_security_context;
	int guc_level;
};
static_assert(std::is_trivially_destructible_v<Scope>,
              "Scope lives in frames that call the backend");

/*
 * extra_context: further SECURITY_* bits for the scope, e.g. SECURITY_NOFORCE_RLS, with which
 * the relation's owner sees rows that FORCE ROW LEVEL SECURITY would hide from it, as
 * PostgreSQL's referential integrity checks do (ri_triggers.c).
 */
Scope Enter(Oid role, bool restricted, const char *timezone, int extra_context = 0);
void Leave(const Scope &scope);

/*
 * The search_path a new session of `role` gets in this database: its ALTER ROLE ... IN
 * DATABASE setting, else its ALTER ROLE setting, else the database's, else ALTER ROLE ALL's,
 * else the server's (never this session's own). Palloc'd in CurrentMemoryContext.
 */
char *OwnerSearchPath(Oid role);

/*
 * Enter(owner, restricted) for statements on a relation: they are parsed with pg_catalog,
 * pg_temp on the search_path, and planned and executed with `search_path` (from
 * OwnerSearchPath).
 */
Scope AsRelationOwner(Oid owner, const char *search_path, const char *timezone,
                      int extra_context = 0);

/*
 * `values` (C strings) through the input function of `type` into `out`, called as `owner`'s
 * statements run (AsRelationOwner, with `search_path` from OwnerSearchPath): a domain's CHECK
 * constraints are the code of whoever made the domain, and never run with the caller's rights
 * or the worker's. Raises the input's error.
 */
void InputAsOwner(List *values, Oid type, Oid owner, const char *search_path, Datum *out);

/*
 * Whether InputAsOwner succeeds (in a subtransaction): false when the value does not convert
 * (a data exception, or a domain's NOT NULL or CHECK fails); any other error is raised.
 */
bool ConvertsAsOwner(const char *value, Oid type, Oid owner, const char *search_path);

/* The role that owns relation `relid`. */
Oid RelationOwner(Oid relid);

/*
 * From _PG_init: the planner, executor and utility hooks that switch a relation-owner
 * statement to its owner's path once it is parsed.
 */
void InstallStatementHooks();

/* The role that owns the extension (a superuser: the extension is not trusted). */
Oid ExtensionOwner();

inline Scope
AsExtensionOwner()
{
	return Enter(ExtensionOwner(), false, nullptr);
}

/* Whether the current user may manage the relation: its owner or a superuser. */
bool OwnsRelation(Oid relid);

} // namespace retention::pg

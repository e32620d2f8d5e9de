/*
 * scope.hpp: running code as another role with pinned settings, the way PostgreSQL's own
 * maintenance commands do.
 *
 * Enter() opens a GUC nesting level, pins search_path to pg_catalog, pg_temp (and TimeZone,
 * when given), and switches the current user; Leave() undoes all three. An error between the
 * two is fine: aborting the (sub)transaction restores user and settings. Two uses:
 *  - AsExtensionOwner: reading and writing the internal catalog and the audit log, which the
 *    caller has no rights on;
 *  - AsRelationOwner: every statement a run, a preview or an erasure executes on a relation,
 *    as its owner inside a security-restricted operation, so neither the worker nor a
 *    superuser caller lends its rights to code in the table's triggers or expressions.
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

Scope Enter(Oid role, bool restricted, const char *timezone);
void Leave(const Scope &scope);

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

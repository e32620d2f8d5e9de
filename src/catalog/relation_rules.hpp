/*
 * relation_rules.hpp: which relations a policy may touch, checked in one place for every path
 * that names or resolves one: add_policy and alter_policy (the policy's relation and its
 * archive_to), and each run and preview (the same two, as they are now).
 *
 * Refused, in this order: a relation kind that is not a table (42809; an archive may also be a
 * foreign table); a system catalog (pg_catalog, pg_toast, information_schema, anything initdb
 * created) or one of the extension's own tables (a member of the extension, or anything in the
 * schemas retention and _retention), with 42501 even for a superuser, as PostgreSQL refuses
 * `DROP TABLE pg_class`; a temporary table (22023). It does not check ownership: add_policy and
 * alter_policy do that, and runs act as the relation's owner.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

/* What the relation is to the policy; it words the errors and decides the kinds allowed. */
enum class RelationUse
{
	DECLARE, /* the relation named in add_policy / alter_policy */
	ARCHIVE, /* archive_to, when declared */
	RUN,     /* the policy's relation as a run or preview resolves it */
	RUN_ARCHIVE,
};

/*
 * Raises the error for a relation that a policy may not use as `use` (see above); returns
 * when it may. `policy_name` (nullptr when not known yet) names the policy in run errors.
 * The relation must exist.
 */
void CheckPolicyRelation(Oid relid, RelationUse use, const char *policy_name);

} // namespace retention::catalog

/*
 * scope.cpp: role and setting scopes (see scope.hpp).
 */
#include "pg/scope.hpp"

extern "C"
{
#include "access/genam.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
}

namespace retention::pg
{

Scope
Enter(Oid role, bool restricted, const char *timezone, int extra_context)
{
	Scope scope;
	GetUserIdAndSecContext(&scope.saved_user, &scope.saved_security_context);
	scope.guc_level = NewGUCNestLevel();
	(void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_SAVE, true, 0, false);
	if (timezone != nullptr)
	{
		(void)set_config_option("TimeZone", timezone, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
		                        true, 0, false);
	}
	int context = scope.saved_security_context | SECURITY_LOCAL_USERID_CHANGE | extra_context;
	if (restricted)
	{
		context |= SECURITY_RESTRICTED_OPERATION;
	}
	SetUserIdAndSecContext(role, context);
	return scope;
}

void
Leave(const Scope &scope)
{
	SetUserIdAndSecContext(scope.saved_user, scope.saved_security_context);
	AtEOXact_GUC(true, scope.guc_level);
}

Oid
ExtensionOwner()
{
	const Oid extension_id = get_extension_oid("retention", false);
	Relation rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
	            ObjectIdGetDatum(extension_id));
	SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple))
	{
		elog(ERROR, "could not find extension retention");
	}
	const Oid owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return owner;
}

bool
OwnsRelation(Oid relid)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(RelationRelationId, relid, GetUserId());
#else
	return pg_class_ownercheck(relid, GetUserId());
#endif
}

} // namespace retention::pg

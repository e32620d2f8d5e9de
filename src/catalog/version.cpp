/*
 * version.cpp: see version.hpp.
 */
#include "catalog/version.hpp"

extern "C"
{
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
}

#ifndef RETENTION_VERSION
#error "RETENTION_VERSION must be defined by the build"
#endif

namespace retention::catalog
{

char *
InstalledVersion()
{
	const Oid extension_id = get_extension_oid("retention", true);
	if (!OidIsValid(extension_id))
	{
		return nullptr;
	}
	char *version = nullptr;
	Relation rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
	            ObjectIdGetDatum(extension_id));
	SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool isnull;
		const Datum value =
		    heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);
		version = isnull ? pstrdup("") : TextDatumGetCString(value);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

void
RequireMatchingVersion()
{
	const char *version = InstalledVersion();
	if (version != nullptr && strcmp(version, RETENTION_VERSION) != 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		         errmsg("retention library %s does not match the installed extension version %s",
		                RETENTION_VERSION, version),
		         errdetail("Runs and previews wait until the extension's SQL objects are those "
		                   "of the library."),
		         errhint("Run ALTER EXTENSION retention UPDATE.")));
	}
}

} // namespace retention::catalog

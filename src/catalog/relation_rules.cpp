/*
 * relation_rules.cpp: the relations a policy may touch (see relation_rules.hpp).
 */
#include "catalog/relation_rules.hpp"

#include <initializer_list>

extern "C"
{
#include "access/transam.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
}

namespace retention::catalog
{

namespace
{

/* Anything initdb created, and anything in the schemas of the system. */
bool
IsSystemRelation(Oid relid, Form_pg_class form)
{
	if (IsSystemClass(relid, form) || relid < FirstNormalObjectId ||
	    IsCatalogNamespace(form->relnamespace) || IsToastNamespace(form->relnamespace))
	{
		return true;
	}
	return form->relnamespace == get_namespace_oid("information_schema", true);
}

/* A member of the extension, or anything in its schemas. */
bool
IsExtensionRelation(Oid relid, Form_pg_class form)
{
	const Oid extension = get_extension_oid("retention", true);
	if (OidIsValid(extension) && getExtensionOfObject(RelationRelationId, relid) == extension)
	{
		return true;
	}
	for (const char *schema : {"retention", "_retention"})
	{
		const Oid namespace_id = get_namespace_oid(schema, true);
		if (OidIsValid(namespace_id) && form->relnamespace == namespace_id)
		{
			return true;
		}
	}
	return false;
}

bool
KindAllowed(char kind, RelationUse use)
{
	if (kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE)
	{
		return true;
	}
	return kind == RELKIND_FOREIGN_TABLE &&
	       (use == RelationUse::ARCHIVE || use == RelationUse::RUN_ARCHIVE);
}

} // namespace

void
CheckPolicyRelation(Oid relid, RelationUse use, const char *policy_name)
{
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("relation with OID %u does not exist", relid)));
	}
	/* copied out so that no syscache reference is held across the ereports below */
	FormData_pg_class form = *reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
	ReleaseSysCache(tuple);

	const bool archive = use == RelationUse::ARCHIVE || use == RelationUse::RUN_ARCHIVE;
	const bool run = use == RelationUse::RUN || use == RelationUse::RUN_ARCHIVE;
	const char *name =
	    psprintf("\"%s.%s\"", get_namespace_name(form.relnamespace), NameStr(form.relname));
	const char *what = name;
	if (run)
	{
		what = psprintf("%s %s of policy \"%s\"", archive ? "archive_to" : "relation", name,
		                policy_name != nullptr ? policy_name : "?");
	}
	else if (archive)
	{
		what = psprintf("archive_to %s", name);
	}
	const char *run_hint = "Drop the policy with retention.drop_policy(), or alter its archive_to.";
	if (!archive)
	{
		run_hint = "Drop the policy with retention.drop_policy().";
	}

	if (!KindAllowed(form.relkind, use))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("%s is not a table", what),
		         archive ? errdetail("An archive is a table, a partitioned table or a foreign "
		                             "table.")
		                 : errdetail("Retention policies apply to tables and partitioned tables."),
		         run ? errhint("%s", run_hint) : 0));
	}
	if (IsSystemRelation(relid, &form))
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied: %s is a system catalog", what),
		                errdetail("Retention policies never touch system catalogs, not even for "
		                          "a superuser."),
		                run ? errhint("%s", run_hint) : 0));
	}
	if (IsExtensionRelation(relid, &form))
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied: %s belongs to extension \"retention\"", what),
		                errdetail("Retention policies never touch the extension's own tables, not "
		                          "even for a superuser: its audit log and catalog change only "
		                          "through its functions."),
		                run ? errhint("%s", run_hint) : 0));
	}
	if (form.relpersistence == RELPERSISTENCE_TEMP)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s is a temporary table", what),
		         errdetail("A temporary table belongs to one session: the worker and other "
		                   "sessions cannot see it."),
		         run ? errhint("%s", run_hint) : errhint("Use a permanent table.")));
	}
}

} // namespace retention::catalog

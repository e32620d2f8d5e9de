/*
 * database_commands.cpp: the hooks that keep the background worker out of the way of
 * commands on whole databases, and tell the launcher about CREATE EXTENSION retention.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE DATABASE ... TEMPLATE
 * fail with "being accessed by other users" while a worker is connected to the database. The
 * worker is ended first, but only once PostgreSQL's own checks of the command (the database
 * exists, the caller owns it, the command is not in a transaction block, and the like) have
 * passed or are sure to pass: a command that fails never costs a database its worker. DROP
 * DATABASE is caught in the object access hook that dropdb() calls after its existence and
 * ownership checks; the others, which call no hook there, are checked here the way
 * dbcommands.c checks them. Each time, a lock on the database keeps a new worker from
 * connecting until the command's transaction ends.
 *
 * It does not decide anything about scheduling: that is the launcher's (worker.cpp).
 */
#include "pg/hooks.hpp"
#include "worker/shared.hpp"
#include "worker/worker.hpp"

#include <type_traits>

extern "C"
{
#include "catalog/objectaccess.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_subscription.h"
#include "catalog/pg_tablespace.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/tablespace.h"
#include "replication/slot.h"
#include "tcop/utility.h"
}

namespace retention::worker
{

namespace
{

/* Whether the current user owns a database (or is a superuser), as dbcommands.c checks it. */
bool
OwnsDatabase(Oid database)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(DatabaseRelationId, database, GetUserId());
#else
	return pg_database_ownercheck(database, GetUserId());
#endif
}

/* dbcommands.c's have_createdb_privilege(), which it does not export. */
bool
HasCreatedbPrivilege()
{
	if (superuser())
	{
		return true;
	}
	bool result = false;
	HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (HeapTupleIsValid(tuple))
	{
		result = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple))->rolcreatedb;
		ReleaseSysCache(tuple);
	}
	return result;
}

/* The fields of a database's pg_database row that the checks below need. */
struct DatabaseFacts
{
	bool exists;
	bool is_template;
	Oid tablespace;
};
static_assert(std::is_trivially_destructible_v<DatabaseFacts>);

DatabaseFacts
FactsOf(Oid database)
{
	DatabaseFacts facts = {false, false, InvalidOid};
	HeapTuple tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database));
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_database form = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
		facts = DatabaseFacts{true, form->datistemplate, form->dattablespace};
		ReleaseSysCache(tuple);
	}
	return facts;
}

/*
 * Whether a command that PostgreSQL refuses inside a transaction block (CREATE DATABASE,
 * ALTER DATABASE SET TABLESPACE) would get past that check, as PreventInTransactionBlock sees it.
 */
bool
OutsideTransactionBlock(ProcessUtilityContext context)
{
	return context == PROCESS_UTILITY_TOPLEVEL && !IsTransactionBlock() && !IsSubTransaction();
}

/*
 * Ends the workers connected to a database and waits (at most 5 s, as PostgreSQL waits for
 * other sessions) until they are gone, so the command that needs the database to itself does not
 * fail with "being accessed by other users". The caller holds a lock on the database that
 * keeps a new worker from connecting until its transaction ends; the launcher starts a new one
 * afterwards if the database still exists.
 */
void
StopWorkersOf(Oid database)
{
	for (int attempt = 0; attempt < 500; attempt++)
	{
		if (SignalWorkers(database, SIGTERM) == 0)
		{
			return;
		}
		pg_usleep(10000L);
		CHECK_FOR_INTERRUPTS();
	}
}

/* The value of option `name` of a database command (the last one given), or nullptr. */
const char *
OptionString(List *options, const char *name)
{
	const char *value = nullptr;
	ListCell *cell;
	foreach (cell, options)
	{
		DefElem *option = lfirst_node(DefElem, cell);
		if (strcmp(option->defname, name) == 0 && option->arg != nullptr)
		{
			value = defGetString(option);
		}
	}
	return value;
}

/*
 * The template of CREATE DATABASE ... TEMPLATE, when the command would get past createdb()'s
 * checks of the caller's rights and of the names (CREATEDB, the template exists and may be
 * copied, the new name is free) and is not in a transaction block; else InvalidOid. Its checks
 * of encoding, locale and tablespace options are not repeated: a command that fails on one of
 * those has ended the template's worker, which the launcher starts again a naptime later.
 */
Oid
TemplateToCopy(CreatedbStmt *statement, ProcessUtilityContext context)
{
	const char *template_name = OptionString(statement->options, "template");
	if (template_name == nullptr || !OutsideTransactionBlock(context) || !HasCreatedbPrivilege() ||
	    OidIsValid(get_database_oid(statement->dbname, true)))
	{
		return InvalidOid;
	}
	const Oid database = get_database_oid(template_name, true);
	if (!OidIsValid(database))
	{
		return InvalidOid;
	}
	const DatabaseFacts facts = FactsOf(database);
	return facts.exists && (facts.is_template || OwnsDatabase(database)) ? database : InvalidOid;
}

/*
 * The database of ALTER DATABASE ... RENAME, when the command would get past PostgreSQL's
 * checks up to the one for other sessions (RenameDatabase()); else InvalidOid.
 */
Oid
DatabaseToRename(RenameStmt *statement)
{
	const Oid database = get_database_oid(statement->subname, true);
	if (!OidIsValid(database) || database == MyDatabaseId || !OwnsDatabase(database) ||
	    !HasCreatedbPrivilege() || OidIsValid(get_database_oid(statement->newname, true)))
	{
		return InvalidOid;
	}
	return database;
}

/*
 * The database of ALTER DATABASE ... SET TABLESPACE, when the command would get past movedb()'s
 * checks up to the one for other sessions (not in a transaction block, the database exists and
 * is not the current one, the caller owns it and may create in the tablespace, which is another
 * one); else InvalidOid.
 */
Oid
DatabaseToMove(AlterDatabaseStmt *statement, ProcessUtilityContext context)
{
	const char *tablespace_name = OptionString(statement->options, "tablespace");
	/* SET TABLESPACE cannot be combined with other options */
	if (tablespace_name == nullptr || list_length(statement->options) != 1 ||
	    !OutsideTransactionBlock(context))
	{
		return InvalidOid;
	}
	const Oid database = get_database_oid(statement->dbname, true);
	if (!OidIsValid(database) || database == MyDatabaseId || !OwnsDatabase(database))
	{
		return InvalidOid;
	}
	const Oid tablespace = get_tablespace_oid(tablespace_name, true);
	if (!OidIsValid(tablespace) || tablespace == GLOBALTABLESPACE_OID ||
	    tablespace == FactsOf(database).tablespace)
	{
		return InvalidOid;
	}
#if PG_VERSION_NUM >= 160000
	const AclResult acl =
	    object_aclcheck(TableSpaceRelationId, tablespace, GetUserId(), ACL_CREATE);
#else
	const AclResult acl = pg_tablespace_aclcheck(tablespace, GetUserId(), ACL_CREATE);
#endif
	if (acl != ACLCHECK_OK)
	{
		return InvalidOid;
	}
	return database;
}

/*
 * DROP DATABASE: dropdb() calls the object access hook once the database exists, is locked
 * against new connections and the caller is known to own it. The worker is ended there, unless
 * one of dropdb()'s remaining checks before the one for other sessions is bound to fail.
 */
object_access_hook_type previous_object_access_hook = nullptr;

void
ObjectAccessHook(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
	if (previous_object_access_hook != nullptr)
	{
		previous_object_access_hook(access, class_id, object_id, sub_id, arg);
	}
	if (access != OAT_DROP || class_id != DatabaseRelationId)
	{
		return;
	}
	int slots = 0;
	int active_slots = 0;
	(void)ReplicationSlotsCountDBSlots(object_id, &slots, &active_slots);
	if (object_id == MyDatabaseId || FactsOf(object_id).is_template || active_slots > 0 ||
	    CountDBSubscriptions(object_id) > 0)
	{
		return;
	}
	StopWorkersOf(object_id);
}

/* Set by CREATE EXTENSION retention; told to the launcher when the transaction commits. */
bool installation_pending = false;
bool transaction_callback_registered = false;

void
AtTransactionEnd(XactEvent event, void *)
{
	if (!installation_pending)
	{
		return;
	}
	if (event == XACT_EVENT_COMMIT)
	{
		installation_pending = false;
		NoteInstalled();
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE)
	{
		installation_pending = false;
	}
}

ProcessUtility_hook_type previous_utility_hook = nullptr;

#if PG_VERSION_NUM >= 140000
void
UtilityHook(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
            ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *query_env,
            DestReceiver *dest, QueryCompletion *completion)
#else
void
UtilityHook(PlannedStmt *pstmt, const char *query_string, ProcessUtilityContext context,
            ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest,
            QueryCompletion *completion)
#endif
{
	Node *statement = pstmt->utilityStmt;
	Oid database = InvalidOid;
	LOCKMODE mode = AccessExclusiveLock; /* the lock the command itself takes on the database */
	if (IsA(statement, CreatedbStmt))
	{
		database = TemplateToCopy(castNode(CreatedbStmt, statement), context);
		mode = ShareLock;
	}
	else if (IsA(statement, RenameStmt) &&
	         castNode(RenameStmt, statement)->renameType == OBJECT_DATABASE)
	{
		database = DatabaseToRename(castNode(RenameStmt, statement));
	}
	else if (IsA(statement, AlterDatabaseStmt))
	{
		database = DatabaseToMove(castNode(AlterDatabaseStmt, statement), context);
	}
	if (OidIsValid(database))
	{
		/* taken before PostgreSQL takes it, so no new worker connects in between */
		LockSharedObject(DatabaseRelationId, database, 0, mode);
		StopWorkersOf(database);
	}
#if PG_VERSION_NUM < 140000
	const bool read_only_tree = false;
#endif
	pg::NextProcessUtility(previous_utility_hook, pstmt, query_string, read_only_tree, context,
	                       params, query_env, dest, completion);
	if (IsA(statement, CreateExtensionStmt) &&
	    strcmp(castNode(CreateExtensionStmt, statement)->extname, "retention") == 0)
	{
		if (!transaction_callback_registered)
		{
			RegisterXactCallback(AtTransactionEnd, nullptr);
			transaction_callback_registered = true;
		}
		installation_pending = true;
	}
}

} // namespace

void
InstallUtilityHook()
{
	previous_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = UtilityHook;
	previous_object_access_hook = object_access_hook;
	object_access_hook = ObjectAccessHook;
}

} // namespace retention::worker

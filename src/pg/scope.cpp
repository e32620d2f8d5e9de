/*
 * scope.cpp: role and setting scopes (see scope.hpp).
 */
#include "pg/scope.hpp"

#include "guc.hpp"
#include "pg/hooks.hpp"
#include "pg/subtransaction.hpp"

#include <type_traits>

extern "C"
{
#include "access/genam.h"
#include "catalog/indexing.h"
#include "catalog/pg_db_role_setting.h"
#include "catalog/pg_extension.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "optimizer/planner.h"
#include "utils/fmgroids.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"
}

namespace retention::pg
{

namespace
{

/*
 * How deeply the statement in progress is nested in others: the planner, executor and utility
 * hooks below count their own calls. A relation-owner scope notes the depth its own statements
 * are issued at (guc::execution_level, a setting so that an error's rollback restores it with
 * the scope's other settings), which tells them apart from the statements that theirs run in
 * turn (triggers, functions), whatever search_path those set.
 */
int statement_level = 0;

} // namespace

Scope
Enter(Oid role, bool restricted, const char *timezone, int extra_context)
{
	Scope scope;
	GetUserIdAndSecContext(&scope.saved_user, &scope.saved_security_context);
	scope.guc_level = NewGUCNestLevel();
	(void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_SAVE, true, 0, false);
	if (guc::execution_level >= 0)
	{
		/* entered from a relation-owner scope: this one's statements keep the path above */
		(void)set_config_option("retention.execution_search_path", "", PGC_INTERNAL, PGC_S_SESSION,
		                        GUC_ACTION_SAVE, true, 0, false);
		(void)set_config_option("retention.execution_level", "-1", PGC_INTERNAL, PGC_S_SESSION,
		                        GUC_ACTION_SAVE, true, 0, false);
	}
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
	/*
	 * Rolled back, not committed: whatever code in the scope set, set_config(..., false) of
	 * the owner's code included, never reaches the caller's session.
	 */
	AtEOXact_GUC(false, scope.guc_level);
}

namespace
{

/* The value of search_path in a pg_db_role_setting array (text[] of name=value), or nullptr. */
char *
SearchPathIn(Datum config)
{
	ArrayType *array = DatumGetArrayTypeP(config);
	Datum *items;
	bool *nulls;
	int count;
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &count);
	char *path = nullptr;
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
		{
			continue;
		}
		char *name;
		char *value;
		ParseLongOption(TextDatumGetCString(items[i]), &name, &value);
		if (value != nullptr && pg_strcasecmp(name, "search_path") == 0)
		{
			path = value;
		}
	}
	return path;
}

/*
 * The last search_path the configuration files set, as pg_file_settings shows it, or nullptr.
 * Read as the extension's owner (the function is not granted to PUBLIC), in an SPI
 * connection of its own so that the caller's results stay in place.
 */
char *
FileSearchPath()
{
	MemoryContext caller_context = CurrentMemoryContext;
	SPI_connect();
	const Scope scope = AsExtensionOwner();
	if (SPI_execute("SELECT setting FROM pg_catalog.pg_show_all_file_settings() "
	                "WHERE name OPERATOR(pg_catalog.=) 'search_path' AND error IS NULL "
	                "ORDER BY seqno DESC LIMIT 1",
	                true, 1) != SPI_OK_SELECT)
	{
		elog(ERROR, "reading the configuration files' search_path failed");
	}
	Leave(scope);
	char *path = nullptr;
	if (SPI_processed == 1)
	{
		char *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		path = value != nullptr ? MemoryContextStrdup(caller_context, value) : nullptr;
	}
	SPI_finish();
	return path;
}

/*
 * The server's search_path: postgresql.conf (and ALTER SYSTEM), the command line, else the
 * built-in default. This session's RESET value is exactly that as long as nothing of the
 * session's own replaced it: a reset_source above PGC_S_ARGV means its database, role or
 * client set one (in the worker: its database's and its role's settings), and then the
 * configuration files are read again instead (a value given on the server's command line is
 * then not seen; the built-in default applies).
 */
char *
ServerSearchPath()
{
#if PG_VERSION_NUM >= 160000
	/* 16 made the GUC table a hash and exported its lookup */
	const struct config_generic *found = find_option("search_path", false, false, ERROR);
	const struct config_generic *const *variables = &found;
	const int count = found != nullptr ? 1 : 0;
#else
	struct config_generic **variables = get_guc_variables();
	const int count = GetNumConfigOptions();
#endif
	for (int i = 0; i < count; i++)
	{
		if (variables[i]->vartype != PGC_STRING || strcmp(variables[i]->name, "search_path") != 0)
		{
			continue;
		}
		const struct config_string *setting =
		    reinterpret_cast<const struct config_string *>(variables[i]);
		if (setting->gen.reset_source <= PGC_S_ARGV && setting->reset_val != nullptr)
		{
			return pstrdup(setting->reset_val);
		}
		char *path = FileSearchPath();
		if (path != nullptr)
		{
			return path;
		}
		return pstrdup(setting->boot_val != nullptr ? setting->boot_val : "");
	}
	elog(ERROR, "search_path is not a known setting");
	return nullptr;
}

} // namespace

char *
OwnerSearchPath(Oid role)
{
	/* in the order of PostgreSQL's process_settings(), most specific first */
	const Oid keys[4][2] = {{MyDatabaseId, role},
	                        {InvalidOid, role},
	                        {MyDatabaseId, InvalidOid},
	                        {InvalidOid, InvalidOid}};
	char *path = nullptr;
	Relation rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	for (int i = 0; i < 4 && path == nullptr; i++)
	{
		ScanKeyData key[2];
		ScanKeyInit(&key[0], Anum_pg_db_role_setting_setdatabase, BTEqualStrategyNumber, F_OIDEQ,
		            ObjectIdGetDatum(keys[i][0]));
		ScanKeyInit(&key[1], Anum_pg_db_role_setting_setrole, BTEqualStrategyNumber, F_OIDEQ,
		            ObjectIdGetDatum(keys[i][1]));
		SysScanDesc scan =
		    systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true, nullptr, 2, key);
		HeapTuple tuple = systable_getnext(scan);
		if (HeapTupleIsValid(tuple))
		{
			bool isnull;
			const Datum config = heap_getattr(tuple, Anum_pg_db_role_setting_setconfig,
			                                  RelationGetDescr(rel), &isnull);
			if (!isnull)
			{
				path = SearchPathIn(config);
			}
		}
		systable_endscan(scan);
	}
	table_close(rel, AccessShareLock);
	return path != nullptr ? path : ServerSearchPath();
}

namespace
{

/*
 * The owner's path as the statements of a run execute with it: pg_temp is searched last,
 * unless the path places it. A new session of the owner has no temporary tables; this
 * session's are its caller's, and a path that does not name pg_temp would have them searched
 * first, so that the caller's temporary table (granted to the owner) stood in for the owner's
 * table of the same name in the owner's triggers.
 */
const char *
ExecutionSearchPath(const char *path)
{
	char *copy = pstrdup(path);
	List *names = NIL;
	if (!SplitIdentifierString(copy, ',', &names))
	{
		return path; /* set_config_option reports it */
	}
	ListCell *cell;
	foreach (cell, names)
	{
		if (strcmp(static_cast<const char *>(lfirst(cell)), "pg_temp") == 0)
		{
			return path;
		}
	}
	return names == NIL ? "pg_temp" : psprintf("%s, pg_temp", path);
}

/*
 * A relation-owner scope's own statements are parsed with pg_catalog, pg_temp on the path (set
 * by Enter), which searches pg_catalog alone for functions and operators, and pg_catalog before
 * pg_temp for types (the statements name their relations with a schema). They are planned and
 * executed with the owner's path (the hooks below), so that the table's triggers, the functions
 * the expressions call and the bodies of SQL functions the planner inlines see what they see
 * for the application. So a function or operator of the owner's path never takes the place of
 * the one the policy was bound to, even where it matches the argument types better than
 * pg_catalog's (varchar = text against texteq, text[] @> text[] against anyarray's): from
 * PostgreSQL 17 on policy expressions name pg_catalog's objects without a schema
 * (catalog::DeparseExpression).
 *
 * Planning, a utility command, and an executed statement from ExecutorStart to ExecutorEnd
 * each run in a GUC nesting level of their own that is rolled back when they end: whatever
 * the statement's triggers and functions set (search_path with set_config(..., false)
 * included) lasts to the end of the statement, as set_config(..., true) would for the
 * application, and never reaches the scope's next statement or the caller's session.
 */
planner_hook_type previous_planner = nullptr;
ExecutorStart_hook_type previous_executor_start = nullptr;
ExecutorRun_hook_type previous_executor_run = nullptr;
ExecutorFinish_hook_type previous_executor_finish = nullptr;
ExecutorEnd_hook_type previous_executor_end = nullptr;
ProcessUtility_hook_type previous_utility = nullptr;

/* Whether the step about to run belongs to one of a relation-owner scope's own statements. */
bool
OwnStatement()
{
	return guc::execution_level >= 0 && statement_level == guc::execution_level &&
	       guc::execution_search_path != nullptr && guc::execution_search_path[0] != '\0';
}

/* A GUC nesting level with the owner's path, for OwnStatement(). */
int
OwnerPathLevel()
{
	const int level = NewGUCNestLevel();
	(void)set_config_option("search_path", guc::execution_search_path, PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * The GUC level each executing own statement opened at ExecutorStart, by its depth (nested
 * relation-owner scopes run at other depths); ExecutorEnd of the same statement rolls it back.
 * A statement that fails leaves its entry behind, and its level to the (sub)transaction's
 * abort; the next own statement at that depth replaces the entry. Only the scope's own SPI
 * statements run at that depth, and ExecutorEnd rolls back only a level that is still the
 * innermost one open.
 */
struct OpenStatement
{
	const QueryDesc *desc;
	int guc_level;
	int transaction_level;
};
static_assert(std::is_trivially_destructible_v<OpenStatement>,
              "OpenStatement is kept across calls that the backend may leave by longjmp");
constexpr int MAX_OPEN_STATEMENTS = 64;
OpenStatement open_statements[MAX_OPEN_STATEMENTS];

/* The GUC nesting level now open (PostgreSQL keeps the count to itself). */
int
InnermostGUCLevel()
{
	const int next = NewGUCNestLevel();
	AtEOXact_GUC(true, next);
	return next - 1;
}

/*
 * step() one statement level deeper; an error takes the level back before it goes on. The
 * hooks below keep only trivially destructible locals: errors longjmp through them.
 */
template <typename Step>
void
OneLevelDeeper(const Step &step)
{
	statement_level++;
	PG_TRY();
	{
		step();
	}
	PG_FINALLY();
	{
		statement_level--;
	}
	PG_END_TRY();
}

PlannedStmt *
PlanWithOwnerPath(Query *parse, const char *query_string, int cursor_options,
                  ParamListInfo bound_params)
{
	const int level = OwnStatement() ? OwnerPathLevel() : 0;
	PlannedStmt *result = nullptr;
	OneLevelDeeper(
	    [&]
	    {
		    result = previous_planner != nullptr
		                 ? previous_planner(parse, query_string, cursor_options, bound_params)
		                 : standard_planner(parse, query_string, cursor_options, bound_params);
	    });
	if (level > 0)
	{
		AtEOXact_GUC(false, level);
	}
	return result;
}

void
StartWithOwnerPath(QueryDesc *desc, int eflags)
{
	const int depth = statement_level;
	if (OwnStatement())
	{
		if (depth >= MAX_OPEN_STATEMENTS)
		{
			ereport(ERROR, (errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
			                errmsg("relation-owner statements nested too deeply")));
		}
		open_statements[depth] = {desc, OwnerPathLevel(), GetCurrentTransactionNestLevel()};
	}
	OneLevelDeeper(
	    [&]
	    {
		    if (previous_executor_start != nullptr)
		    {
			    previous_executor_start(desc, eflags);
		    }
		    else
		    {
			    standard_ExecutorStart(desc, eflags);
		    }
	    });
}

#if PG_VERSION_NUM >= 180000
void
RunWithOwnerPath(QueryDesc *desc, ScanDirection direction, uint64 count)
{
	OneLevelDeeper(
	    [&]
	    {
		    if (previous_executor_run != nullptr)
		    {
			    previous_executor_run(desc, direction, count);
		    }
		    else
		    {
			    standard_ExecutorRun(desc, direction, count);
		    }
	    });
}
#else
void
RunWithOwnerPath(QueryDesc *desc, ScanDirection direction, uint64 count, bool execute_once)
{
	OneLevelDeeper(
	    [&]
	    {
		    if (previous_executor_run != nullptr)
		    {
			    previous_executor_run(desc, direction, count, execute_once);
		    }
		    else
		    {
			    standard_ExecutorRun(desc, direction, count, execute_once);
		    }
	    });
}
#endif

void
FinishWithOwnerPath(QueryDesc *desc)
{
	OneLevelDeeper(
	    [&]
	    {
		    if (previous_executor_finish != nullptr)
		    {
			    previous_executor_finish(desc);
		    }
		    else
		    {
			    standard_ExecutorFinish(desc);
		    }
	    });
}

void
EndWithOwnerPath(QueryDesc *desc)
{
	const int depth = statement_level;
	OneLevelDeeper(
	    [&]
	    {
		    if (previous_executor_end != nullptr)
		    {
			    previous_executor_end(desc);
		    }
		    else
		    {
			    standard_ExecutorEnd(desc);
		    }
	    });
	if (OwnStatement() && depth < MAX_OPEN_STATEMENTS && open_statements[depth].desc == desc &&
	    open_statements[depth].transaction_level == GetCurrentTransactionNestLevel() &&
	    open_statements[depth].guc_level == InnermostGUCLevel())
	{
		const int level = open_statements[depth].guc_level;
		open_statements[depth].desc = nullptr;
		AtEOXact_GUC(false, level);
	}
}

#if PG_VERSION_NUM >= 140000
void
UtilityWithOwnerPath(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params,
                     QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *completion)
#else
void
UtilityWithOwnerPath(PlannedStmt *pstmt, const char *query_string, ProcessUtilityContext context,
                     ParamListInfo params, QueryEnvironment *query_env, DestReceiver *dest,
                     QueryCompletion *completion)
#endif
{
#if PG_VERSION_NUM < 140000
	const bool read_only_tree = false;
#endif
	const int level = OwnStatement() ? OwnerPathLevel() : 0;
	OneLevelDeeper(
	    [&]
	    {
		    NextProcessUtility(previous_utility, pstmt, query_string, read_only_tree, context,
		                       params, query_env, dest, completion);
	    });
	if (level > 0)
	{
		AtEOXact_GUC(false, level);
	}
}

} // namespace

Scope
AsRelationOwner(Oid owner, const char *search_path, const char *timezone, int extra_context)
{
	const char *path = ExecutionSearchPath(search_path);
	const Scope scope = Enter(owner, true, timezone, extra_context);
	(void)set_config_option("retention.execution_search_path", path, PGC_INTERNAL, PGC_S_SESSION,
	                        GUC_ACTION_SAVE, true, 0, false);
	(void)set_config_option("retention.execution_level", psprintf("%d", statement_level),
	                        PGC_INTERNAL, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return scope;
}

void
InputAsOwner(List *values, Oid type, Oid owner, const char *search_path, Datum *out)
{
	Oid function;
	Oid io_param;
	getTypeInputInfo(type, &function, &io_param);
	/*
	 * As the owner, restricted, with the owner's path set outright: direct calls, whose
	 * statements (the CHECK's functions') are nested code like a trigger's. Not a
	 * relation-owner scope, whose own statements the hooks would take these for, and run
	 * with the owner's path even inside another role's function with a SET search_path.
	 */
	const char *path = ExecutionSearchPath(search_path);
	const Scope scope = Enter(owner, true, nullptr);
	(void)set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
	                        0, false);
	int i = 0;
	ListCell *cell;
	foreach (cell, values)
	{
		out[i++] = OidInputFunctionCall(function, static_cast<char *>(lfirst(cell)), io_param, -1);
	}
	Leave(scope);
}

namespace
{

struct InputStep
{
	const char *value;
	Oid type;
	Oid owner;
	const char *search_path;
};
static_assert(std::is_trivially_destructible_v<InputStep>,
              "InputStep lives in frames that call the backend");

void
InputStepRun(void *arg)
{
	const InputStep *step = static_cast<const InputStep *>(arg);
	Datum value;
	InputAsOwner(list_make1(const_cast<char *>(step->value)), step->type, step->owner,
	             step->search_path, &value);
}

} // namespace

bool
ConvertsAsOwner(const char *value, Oid type, Oid owner, const char *search_path)
{
	InputStep step = {value, type, owner, search_path};
	ErrorData *error = InSubtransaction(InputStepRun, &step);
	if (error == nullptr)
	{
		return true;
	}
	/*
	 * Only the value's own faults say it does not convert: its syntax or range (class 22) or a
	 * domain's NOT NULL or CHECK. Anything else (a lock timeout, a missing privilege, a CHECK
	 * function's own error) is raised: a hold or an erasure must never pass a table over
	 * because its check could not be asked.
	 */
	if (ERRCODE_TO_CATEGORY(error->sqlerrcode) != ERRCODE_DATA_EXCEPTION &&
	    error->sqlerrcode != ERRCODE_CHECK_VIOLATION &&
	    error->sqlerrcode != ERRCODE_NOT_NULL_VIOLATION)
	{
		ReThrowError(error);
	}
	FreeErrorData(error);
	return false;
}

Oid
RelationOwner(Oid relid)
{
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("relation with OID %u does not exist", relid)));
	}
	const Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

void
InstallStatementHooks()
{
	previous_planner = planner_hook;
	planner_hook = PlanWithOwnerPath;
	previous_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = StartWithOwnerPath;
	previous_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = RunWithOwnerPath;
	previous_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = FinishWithOwnerPath;
	previous_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = EndWithOwnerPath;
	previous_utility = ProcessUtility_hook;
	ProcessUtility_hook = UtilityWithOwnerPath;
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

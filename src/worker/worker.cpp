/*
 * worker.cpp: the launcher and the per-database workers (see worker.hpp and README.md).
 *
 * Launcher: connected to no database, it lists the databases that accept connections every
 * retention.naptime and keeps one dynamic worker per database. A worker that finds no
 * extension in its database exits at once; the launcher tries that database again a naptime
 * later, which is how an extension installed later (or a new database) gets served.
 *
 * Worker: connected to one database as the bootstrap superuser (every statement on a table
 * still runs as the table's owner, see purge/run.cpp), it wakes every naptime and, unless
 * retention.enabled is off or the server is in recovery, runs the due policies. It exits when
 * the extension is dropped, and refuses to purge while the installed SQL version differs from
 * the library's. SIGTERM ends it at the next interrupt check: the batch in progress rolls back
 * whole, every committed batch keeps its audit row.
 */
#include "worker/worker.hpp"

#include "guc.hpp"
#include "pg/postgres.hpp"
#include "purge/policy_target.hpp"
#include "purge/run.hpp"

extern "C"
{
#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/portal.h"
#include "tcop/pquery.h"

	PGDLLEXPORT void retention_launcher_main(Datum main_arg);
	PGDLLEXPORT void retention_worker_main(Datum main_arg);
}

#ifndef RETENTION_VERSION
#error "RETENTION_VERSION must be defined by the build"
#endif

namespace retention::worker
{

namespace
{

constexpr const char *LAUNCHER_TYPE = "retention launcher";
constexpr const char *WORKER_TYPE = "retention worker";
constexpr int RESTART_SECONDS = 10;

/* One database the launcher serves. */
struct Slot
{
	Oid database;
	BackgroundWorkerHandle *handle; /* nullptr: no worker */
	TimestampTz retry_at;           /* when to start one again */
	bool seen;                      /* still listed at the last pass */
};

constexpr int MAX_SLOTS = 4096;
Slot *slots = nullptr;
int slot_count = 0;

long
NaptimeMs()
{
	return static_cast<long>(guc::naptime_seconds) * 1000L;
}

/* Waits for the latch or naptime; handles reload and interrupts. */
void
Nap(long milliseconds)
{
	(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, milliseconds,
	                PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* The databases that accept connections (templates included only if they allow them). */
List *
ListDatabases()
{
	List *databases = NIL;
	MemoryContext caller = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr)
	{
		Form_pg_database form = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
		if (form->datallowconn)
		{
			MemoryContext previous = MemoryContextSwitchTo(caller);
			databases = lappend_oid(databases, form->oid);
			MemoryContextSwitchTo(previous);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return databases;
}

Slot *
FindSlot(Oid database)
{
	for (int i = 0; i < slot_count; i++)
	{
		if (slots[i].database == database)
		{
			return &slots[i];
		}
	}
	if (slot_count == MAX_SLOTS)
	{
		return nullptr;
	}
	slots[slot_count] = Slot{database, nullptr, 0, false};
	return &slots[slot_count++];
}

/* The registration both kinds of process share: a database connection, after recovery. */
BackgroundWorker
DescribeWorker(const char *type, const char *function, int restart_seconds)
{
	BackgroundWorker worker = {};
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", type);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", type);
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* not on a hot standby: a standby receives the primary's deletions */
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = restart_seconds;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "retention");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	return worker;
}

BackgroundWorkerHandle *
StartWorker(Oid database)
{
	BackgroundWorker worker =
	    DescribeWorker(WORKER_TYPE, "retention_worker_main", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "retention worker for database %u", database);
	worker.bgw_main_arg = ObjectIdGetDatum(database);
	worker.bgw_notify_pid = MyProcPid;
	BackgroundWorkerHandle *handle = nullptr;
	MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
	const bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(previous);
	if (!ok)
	{
		ereport(WARNING,
		        (errmsg("retention launcher could not start a worker for database %u", database),
		         errhint("Raise max_worker_processes.")));
		return nullptr;
	}
	return handle;
}

/* One pass of the launcher: start missing workers, forget dropped databases. */
void
LauncherPass()
{
	List *databases = ListDatabases();
	const TimestampTz now = GetCurrentTimestamp();
	for (int i = 0; i < slot_count; i++)
	{
		slots[i].seen = false;
	}
	ListCell *cell;
	foreach (cell, databases)
	{
		Slot *slot = FindSlot(lfirst_oid(cell));
		if (slot == nullptr)
		{
			continue;
		}
		slot->seen = true;
		if (slot->handle != nullptr)
		{
			pid_t pid;
			const BgwHandleStatus status = GetBackgroundWorkerPid(slot->handle, &pid);
			if (status == BGWH_STARTED || status == BGWH_NOT_YET_STARTED)
			{
				continue;
			}
			pfree(slot->handle);
			slot->handle = nullptr;
			slot->retry_at = now + NaptimeMs() * 1000L;
		}
		if (guc::enabled && now >= slot->retry_at)
		{
			slot->handle = StartWorker(slot->database);
			if (slot->handle == nullptr)
			{
				slot->retry_at = now + NaptimeMs() * 1000L;
			}
		}
	}
	/* compact away the databases that are gone */
	int kept = 0;
	for (int i = 0; i < slot_count; i++)
	{
		if (slots[i].seen || slots[i].handle != nullptr)
		{
			slots[kept++] = slots[i];
		}
	}
	slot_count = kept;
}

/* The extension's installed version in this database, or nullptr when it is not installed. */
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

/*
 * One cycle of a worker. Returns false when the extension is gone from the database (the
 * worker then exits). Runs outside any transaction; each batch commits on its own.
 */
bool
WorkerCycle(bool *warned_version)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	char *version = InstalledVersion();
	if (version == nullptr)
	{
		CommitTransactionCommand();
		return false;
	}
	if (strcmp(version, RETENTION_VERSION) != 0)
	{
		if (!*warned_version)
		{
			ereport(WARNING,
			        (errmsg("retention worker is not purging database \"%s\"",
			                get_database_name(MyDatabaseId)),
			         errdetail("The library is version %s, the installed extension version %s.",
			                   RETENTION_VERSION, version),
			         errhint("Run ALTER EXTENSION retention UPDATE, or restart the server.")));
			*warned_version = true;
		}
		CommitTransactionCommand();
		return true;
	}
	*warned_version = false;
	if (!guc::enabled || RecoveryInProgress())
	{
		CommitTransactionCommand();
		return true;
	}
	pgstat_report_activity(STATE_RUNNING, "retention: running due policies");
	/*
	 * Batches commit through nonatomic SPI, as in CALL retention.run(). That needs what a
	 * CALL has: an active portal, which carries the statement snapshot across commits and
	 * owns the memory SPI keeps between transactions. The worker makes one for the cycle.
	 */
	Portal portal = CreatePortal("retention worker", true, true);
	portal->status = PORTAL_READY; /* a portal with nothing to run, only to host the cycle */
	MarkPortalActive(portal);
	ActivePortal = portal;
	PortalContext = portal->portalContext;
	purge::RunDuePolicies("worker");
	if (portal->portalSnapshot != nullptr && ActiveSnapshotSet())
	{
		PopActiveSnapshot(); /* the statement snapshot SPI pushed for the portal */
		portal->portalSnapshot = nullptr;
	}
	ActivePortal = nullptr;
	PortalContext = nullptr;
	MarkPortalDone(portal);
	PortalDrop(portal, false);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, nullptr);
	return true;
}

/*
 * Before DROP DATABASE (and commands that need a database without connections, such as
 * using it as a template or renaming it), ends that database's worker so the command does not
 * fail with "being accessed by other users". The launcher starts a new worker after the
 * command if the database still exists.
 */
void
StopWorkerOf(const char *database_name)
{
	if (database_name == nullptr)
	{
		return;
	}
	const Oid database = get_database_oid(database_name, true);
	if (!OidIsValid(database))
	{
		return;
	}
	for (int attempt = 0; attempt < 500; attempt++)
	{
		int found = 0;
		LWLockAcquire(ProcArrayLock, LW_SHARED);
		for (uint32 i = 0; i < ProcGlobal->allProcCount; i++)
		{
			PGPROC *proc = &ProcGlobal->allProcs[i];
			if (proc->pid == 0 || proc->databaseId != database)
			{
				continue;
			}
			const char *type = GetBackgroundWorkerTypeByPid(proc->pid);
			if (type != nullptr && strcmp(type, WORKER_TYPE) == 0)
			{
				found++;
				(void)kill(proc->pid, SIGTERM);
			}
		}
		LWLockRelease(ProcArrayLock);
		if (found == 0)
		{
			return;
		}
		pg_usleep(10000L);
		CHECK_FOR_INTERRUPTS();
	}
}

const char *
TemplateOf(CreatedbStmt *statement)
{
	ListCell *cell;
	foreach (cell, statement->options)
	{
		DefElem *option = lfirst_node(DefElem, cell);
		if (strcmp(option->defname, "template") == 0)
		{
			return defGetString(option);
		}
	}
	return nullptr;
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
	if (IsA(statement, DropdbStmt))
	{
		StopWorkerOf(castNode(DropdbStmt, statement)->dbname);
	}
	else if (IsA(statement, CreatedbStmt))
	{
		StopWorkerOf(TemplateOf(castNode(CreatedbStmt, statement)));
	}
	else if (IsA(statement, RenameStmt) &&
	         castNode(RenameStmt, statement)->renameType == OBJECT_DATABASE)
	{
		StopWorkerOf(castNode(RenameStmt, statement)->subname);
	}
#if PG_VERSION_NUM >= 140000
	if (previous_utility_hook != nullptr)
	{
		previous_utility_hook(pstmt, query_string, read_only_tree, context, params, query_env, dest,
		                      completion);
	}
	else
	{
		standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env,
		                        dest, completion);
	}
#else
	if (previous_utility_hook != nullptr)
	{
		previous_utility_hook(pstmt, query_string, context, params, query_env, dest, completion);
	}
	else
	{
		standard_ProcessUtility(pstmt, query_string, context, params, query_env, dest, completion);
	}
#endif
}

} // namespace

void
RegisterLauncher()
{
	BackgroundWorker worker =
	    DescribeWorker(LAUNCHER_TYPE, "retention_launcher_main", RESTART_SECONDS);
	RegisterBackgroundWorker(&worker);
}

void
InstallUtilityHook()
{
	previous_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = UtilityHook;
}

} // namespace retention::worker

using namespace retention::worker;

/*
 * Entry points. A background worker's main function is called by the postmaster, not through
 * fmgr, so the SQL-function guard does not apply; PostgreSQL's own error handling for
 * background workers (report, then exit; the launcher is restarted after RESTART_SECONDS and
 * restarts workers) is the boundary, and only trivially destructible locals live here.
 */
void
retention_launcher_main(Datum)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	pgstat_report_appname(LAUNCHER_TYPE);

	slots = static_cast<Slot *>(MemoryContextAllocZero(TopMemoryContext, sizeof(Slot) * MAX_SLOTS));
	MemoryContext pass_context =
	    AllocSetContextCreate(TopMemoryContext, "retention launcher pass", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		if (!IsBinaryUpgrade)
		{
			MemoryContext previous = MemoryContextSwitchTo(pass_context);
			LauncherPass();
			MemoryContextSwitchTo(previous);
			MemoryContextReset(pass_context);
		}
		Nap(NaptimeMs());
	}
}

void
retention_worker_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	pgstat_report_appname(WORKER_TYPE);

	MemoryContext cycle_context =
	    AllocSetContextCreate(TopMemoryContext, "retention worker cycle", ALLOCSET_DEFAULT_SIZES);

	/*
	 * runs left 'running' by a crash or a killed session become 'interrupted' (only with the
	 * SQL objects of this library's version: until ALTER EXTENSION UPDATE the worker waits)
	 */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	const char *version = InstalledVersion();
	if (version != nullptr && strcmp(version, RETENTION_VERSION) == 0)
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		retention::purge::MarkInterruptedRuns();
		PopActiveSnapshot();
		SPI_finish();
	}
	CommitTransactionCommand();

	bool warned_version = false;
	for (;;)
	{
		MemoryContext previous = MemoryContextSwitchTo(cycle_context);
		const bool installed = WorkerCycle(&warned_version);
		MemoryContextSwitchTo(previous);
		MemoryContextReset(cycle_context);
		if (!installed)
		{
			proc_exit(0);
		}
		Nap(NaptimeMs());
	}
}

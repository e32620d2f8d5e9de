/*
 * worker.cpp: the launcher and the per-database workers (see worker.hpp and README.md).
 *
 * Launcher: connected to no database, it lists the databases that accept connections every
 * retention.naptime and starts a worker for each one that is due. What it knows about each
 * database sits in a small table in shared memory (Entry), so that a worker can say "the
 * extension is not installed here" and a session that commits CREATE EXTENSION retention can
 * say "installed now":
 *  - a database with the extension keeps its worker while worker slots last;
 *  - a database without it is checked once (that worker exits at once) and then again only
 *    every ABSENT_RECHECK_NAPTIMES naptimes, or as soon as CREATE EXTENSION retention commits
 *    there; a new database is checked at the next pass;
 *  - when no slot is free, the databases that wait are served in turn: the one served least
 *    recently goes first, and workers that have held their slot for a naptime are asked
 *    (SIGUSR2) to leave after the cycle they are in, so that none starves. One WARNING per
 *    naptime at most names the databases that wait.
 *
 * Worker: connected to one database as the bootstrap superuser (every statement on a table
 * still runs as the table's owner, see purge/run.cpp), it wakes every naptime and, unless
 * retention.enabled is off or the server is in recovery, runs the due policies. It exits when
 * the extension is dropped or when the launcher asks it to make room, and refuses to purge while
 * the installed SQL version differs from the library's. SIGTERM ends it at the next interrupt
 * check: the batch in progress rolls back whole, every committed batch keeps its audit row.
 *
 * The hooks that end a worker before DROP DATABASE and the like, and that report CREATE
 * EXTENSION retention to the launcher, are in database_commands.cpp.
 */
#include "worker/worker.hpp"

#include "worker/shared.hpp"

#include "catalog/version.hpp"
#include "guc.hpp"
#include "pg/postgres.hpp"
#include "purge/policy_target.hpp"
#include "purge/run.hpp"

#include <algorithm>
#include <type_traits>

extern "C"
{
#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#if PG_VERSION_NUM >= 140000 /* in pgstat.h before */
#include "utils/backend_status.h"
#endif
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
constexpr const char *SHARED_NAME = "retention launcher";
constexpr int RESTART_SECONDS = 10;
/* a database without the extension is checked again after this many naptimes */
constexpr int ABSENT_RECHECK_NAPTIMES = 5;

/*
 * What the launcher knows about one database. The launcher alone adds, moves and removes
 * entries and writes every field but two: a worker sets `absent` in its own database's entry
 * before it exits, and a session that commits CREATE EXTENSION retention sets `installed`.
 * `database`, `absent` and `installed` are read and written under LauncherState::lock.
 */
struct Entry
{
	Oid database;
	bool seen;                      /* listed by the launcher's last pass */
	bool absent;                    /* a worker found no extension there */
	bool installed;                 /* CREATE EXTENSION retention committed there */
	bool yield_requested;           /* its worker was asked to leave after its cycle */
	BackgroundWorkerHandle *handle; /* the launcher's own memory; nullptr: no worker */
	TimestampTz due_at;             /* no worker is started for it before this */
	TimestampTz started_at;         /* when its last worker was started; 0: never */
};

constexpr int MAX_ENTRIES = 4096;

struct LauncherState
{
	LWLock *lock;
	Latch *launcher_latch; /* nullptr while no launcher runs */
	int count;
	Entry entries[MAX_ENTRIES];
};

/* Both live in palloc'd or shared memory across backend calls: nothing to destroy. */
static_assert(std::is_trivially_destructible_v<Entry>);
static_assert(std::is_trivially_destructible_v<LauncherState>);

LauncherState *state = nullptr; /* nullptr when the library was not preloaded */

#if PG_VERSION_NUM >= 150000
shmem_request_hook_type previous_shmem_request_hook = nullptr;
#endif
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

void
RequestSharedState()
{
#if PG_VERSION_NUM >= 150000
	if (previous_shmem_request_hook != nullptr)
	{
		previous_shmem_request_hook();
	}
#endif
	RequestAddinShmemSpace(sizeof(LauncherState));
	RequestNamedLWLockTranche(SHARED_NAME, 1);
}

void
AttachSharedState()
{
	if (previous_shmem_startup_hook != nullptr)
	{
		previous_shmem_startup_hook();
	}
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	bool found = false;
	state =
	    static_cast<LauncherState *>(ShmemInitStruct(SHARED_NAME, sizeof(LauncherState), &found));
	if (!found)
	{
		memset(state, 0, sizeof(LauncherState));
		state->lock = &(GetNamedLWLockTranche(SHARED_NAME))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* The entry of a database, or nullptr. The caller holds state->lock. */
Entry *
LookUpEntry(Oid database)
{
	for (int i = 0; i < state->count; i++)
	{
		if (state->entries[i].database == database)
		{
			return &state->entries[i];
		}
	}
	return nullptr;
}

/*
 * Tells the launcher something about the current database: a worker that found no extension
 * (absent), or a session whose CREATE EXTENSION retention committed (installed). Does nothing
 * when there is no launcher (the library was not preloaded).
 */
void
NoteDatabase(bool installed)
{
	if (state == nullptr)
	{
		return;
	}
	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	Entry *entry = LookUpEntry(MyDatabaseId);
	if (entry != nullptr && installed)
	{
		entry->installed = true;
	}
	else if (entry != nullptr)
	{
		entry->absent = true;
	}
	Latch *latch = state->launcher_latch;
	LWLockRelease(state->lock);
	if (latch != nullptr)
	{
		SetLatch(latch);
	}
}

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

/* A database that accepts connections, as the launcher's pass lists it. */
struct Listed
{
	Oid database;
	NameData name;
};
static_assert(std::is_trivially_destructible_v<Listed>);

/*
 * The databases that accept connections (templates included only if they allow them), in a
 * palloc'd array in the caller's memory context.
 */
Listed *
ListDatabases(int *count)
{
	MemoryContext caller = CurrentMemoryContext;
	int allocated = 16;
	Listed *databases = static_cast<Listed *>(palloc(sizeof(Listed) * allocated));
	*count = 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr)
	{
		Form_pg_database form = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
		if (!form->datallowconn)
		{
			continue;
		}
		if (*count == allocated)
		{
			allocated *= 2; /* repalloc keeps the array in the caller's context */
			databases = static_cast<Listed *>(repalloc(databases, sizeof(Listed) * allocated));
		}
		databases[*count].database = form->oid;
		databases[*count].name = form->datname;
		(*count)++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return databases;
}

const char *
NameOf(const Listed *databases, int count, Oid database)
{
	for (int i = 0; i < count; i++)
	{
		if (databases[i].database == database)
		{
			return NameStr(databases[i].name);
		}
	}
	return "?";
}

/* The entry of a listed database, added when new (due at once). The caller holds the lock. */
Entry *
EntryFor(Oid database)
{
	Entry *entry = LookUpEntry(database);
	if (entry != nullptr || state->count == MAX_ENTRIES)
	{
		return entry;
	}
	entry = &state->entries[state->count++];
	*entry = Entry{database, false, false, false, false, nullptr, 0, 0};
	return entry;
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

/* Starts a worker for a database; nullptr when no background worker slot is free. */
BackgroundWorkerHandle *
StartWorker(Oid database, const char *name)
{
	BackgroundWorker worker =
	    DescribeWorker(WORKER_TYPE, "retention_worker_main", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "retention worker for database %s", name);
	worker.bgw_main_arg = ObjectIdGetDatum(database);
	worker.bgw_notify_pid = MyProcPid;
	BackgroundWorkerHandle *handle = nullptr;
	MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
	const bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(previous);
	return ok ? handle : nullptr;
}

/*
 * After the worker of an entry stopped: when to start one again. A worker that left to make
 * room, or that checked while CREATE EXTENSION was being committed, is due at once (in turn);
 * one that found no extension, after ABSENT_RECHECK_NAPTIMES; one that ended otherwise (an
 * error, a signal), after a naptime.
 */
void
WorkerStopped(Entry *entry, TimestampTz now)
{
	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	const bool absent = entry->absent;
	const bool installed = entry->installed;
	entry->absent = false;
	entry->installed = false;
	LWLockRelease(state->lock);
	const long naptime_us = NaptimeMs() * 1000L;
	if (entry->yield_requested || installed)
	{
		entry->due_at = now;
	}
	else if (absent)
	{
		entry->due_at = now + ABSENT_RECHECK_NAPTIMES * naptime_us;
	}
	else
	{
		entry->due_at = now + naptime_us;
	}
	entry->yield_requested = false;
	pfree(entry->handle);
	entry->handle = nullptr;
}

bool
ServedBefore(const Entry *a, const Entry *b)
{
	return a->started_at != b->started_at ? a->started_at < b->started_at
	                                      : a->database < b->database;
}

/*
 * Asks the workers that have held their slot longest (at least a naptime) to leave after their
 * cycle, one for each database that waits and is not already being made room for. Returns
 * when the next worker becomes eligible (0: none), for the launcher's next wake-up.
 */
TimestampTz
MakeRoom(int waiting, TimestampTz now)
{
	const long naptime_us = NaptimeMs() * 1000L;
	Entry **running = static_cast<Entry **>(palloc(sizeof(Entry *) * (state->count + 1)));
	int candidates = 0;
	TimestampTz next_eligible = 0;
	for (int i = 0; i < state->count; i++)
	{
		Entry *entry = &state->entries[i];
		if (entry->handle == nullptr)
		{
			continue;
		}
		if (entry->yield_requested)
		{
			waiting--;
		}
		else if (entry->started_at + naptime_us <= now)
		{
			running[candidates++] = entry;
		}
		else if (next_eligible == 0 || entry->started_at + naptime_us < next_eligible)
		{
			next_eligible = entry->started_at + naptime_us;
		}
	}
	std::sort(running, running + candidates, ServedBefore);
	for (int i = 0; i < candidates && waiting > 0; i++)
	{
		pid_t pid;
		if (GetBackgroundWorkerPid(running[i]->handle, &pid) == BGWH_STARTED)
		{
			(void)kill(pid, SIGUSR2);
			running[i]->yield_requested = true;
			waiting--;
		}
	}
	return waiting > 0 ? next_eligible : 0;
}

/* One WARNING that names the databases waiting for a worker slot. */
void
ReportShortage(Entry **waiting, int count, const Listed *databases, int listed)
{
	StringInfoData names;
	initStringInfo(&names);
	for (int i = 0; i < count; i++)
	{
		appendStringInfo(&names, "%s\"%s\"", i == 0 ? "" : ", ",
		                 NameOf(databases, listed, waiting[i]->database));
	}
	ereport(WARNING,
	        (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
	         errmsg_plural("retention launcher found no free background worker slot for "
	                       "database %s",
	                       "retention launcher found no free background worker slot for "
	                       "databases %s",
	                       count, names.data),
	         errdetail("Databases are served in turn: a worker leaves its slot after a cycle once "
	                   "it has held it for retention.naptime."),
	         errhint("Raise max_worker_processes (now %d).", max_worker_processes)));
}

/*
 * One pass of the launcher: forget dropped databases, start the workers that are due (least
 * recently served first), make room when slots are short and report it at most once a
 * naptime. Returns how long to sleep before the next pass.
 */
long
LauncherPass()
{
	static TimestampTz last_report = 0;
	int listed = 0;
	const Listed *databases = ListDatabases(&listed);
	const TimestampTz now = GetCurrentTimestamp();
	const long naptime_us = NaptimeMs() * 1000L;

	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	for (int i = 0; i < state->count; i++)
	{
		state->entries[i].seen = false;
	}
	for (int i = 0; i < listed; i++)
	{
		Entry *entry = EntryFor(databases[i].database);
		if (entry == nullptr)
		{
			continue;
		}
		entry->seen = true;
		if (entry->installed && entry->handle == nullptr)
		{
			entry->installed = false; /* CREATE EXTENSION committed: check at once */
			entry->absent = false;
			entry->due_at = now;
		}
	}
	LWLockRelease(state->lock);

	Entry **due = static_cast<Entry **>(palloc(sizeof(Entry *) * (state->count + 1)));
	int due_count = 0;
	TimestampTz next_wake = now + naptime_us;
	for (int i = 0; i < state->count; i++)
	{
		Entry *entry = &state->entries[i];
		if (entry->handle != nullptr)
		{
			pid_t pid;
			const BgwHandleStatus status = GetBackgroundWorkerPid(entry->handle, &pid);
			if (status == BGWH_STARTED || status == BGWH_NOT_YET_STARTED)
			{
				continue;
			}
			WorkerStopped(entry, now);
		}
		if (!entry->seen || !guc::enabled)
		{
			continue;
		}
		if (entry->due_at <= now)
		{
			due[due_count++] = entry;
		}
		else
		{
			next_wake = std::min(next_wake, entry->due_at);
		}
	}

	std::sort(due, due + due_count, ServedBefore);
	int started = 0;
	for (; started < due_count; started++)
	{
		Entry *entry = due[started];
		entry->handle = StartWorker(entry->database, NameOf(databases, listed, entry->database));
		if (entry->handle == nullptr)
		{
			break; /* no slot is free; the others would find none either */
		}
		entry->started_at = now;
		entry->yield_requested = false;
	}
	const int waiting = due_count - started;
	if (waiting > 0)
	{
		const TimestampTz eligible = MakeRoom(waiting, now);
		if (eligible != 0)
		{
			next_wake = std::min(next_wake, eligible);
		}
		if (now - last_report >= naptime_us)
		{
			ReportShortage(due + started, waiting, databases, listed);
			last_report = now;
		}
	}

	/* forget the databases that are gone and have no worker left */
	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	int kept = 0;
	for (int i = 0; i < state->count; i++)
	{
		if (state->entries[i].seen || state->entries[i].handle != nullptr)
		{
			state->entries[kept++] = state->entries[i];
		}
	}
	state->count = kept;
	LWLockRelease(state->lock);

	return std::max(10L, static_cast<long>((next_wake - now) / 1000));
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
	char *version = catalog::InstalledVersion();
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

volatile sig_atomic_t yield_pending = false;

/* SIGUSR2 from the launcher: leave after the current cycle, another database waits. */
void
HandleYield(SIGNAL_ARGS)
{
	const int saved_errno = errno;
	yield_pending = true;
	SetLatch(MyLatch);
	errno = saved_errno;
}

/*
 * Clears the launcher's latch from shared memory when the launcher exits. A single pointer
 * store, without the lock: on the way out after an error the lock is not to be taken, and a
 * reader sees either the old latch (setting it is harmless) or none.
 */
void
ForgetLauncher(int, Datum)
{
	state->launcher_latch = nullptr;
}

} // namespace

/*
 * Sends a signal to every retention worker connected to a database (InvalidOid: to all of
 * them) and returns how many there were.
 */
int
SignalWorkers(Oid database, int signal)
{
	int found = 0;
	LWLockAcquire(ProcArrayLock, LW_SHARED);
	for (uint32 i = 0; i < ProcGlobal->allProcCount; i++)
	{
		PGPROC *proc = &ProcGlobal->allProcs[i];
		if (proc->pid == 0 || (OidIsValid(database) && proc->databaseId != database))
		{
			continue;
		}
		const char *type = GetBackgroundWorkerTypeByPid(proc->pid);
		if (type != nullptr && strcmp(type, WORKER_TYPE) == 0)
		{
			found++;
			(void)kill(proc->pid, signal);
		}
	}
	LWLockRelease(ProcArrayLock);
	return found;
}

void
NoteInstalled()
{
	NoteDatabase(true);
}

void
RegisterLauncher()
{
#if PG_VERSION_NUM >= 150000
	previous_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = RequestSharedState;
#else
	RequestSharedState();
#endif
	previous_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AttachSharedState;
	BackgroundWorker worker =
	    DescribeWorker(LAUNCHER_TYPE, "retention_launcher_main", RESTART_SECONDS);
	RegisterBackgroundWorker(&worker);
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

	if (state == nullptr)
	{
		elog(ERROR, "retention launcher started without its shared memory");
	}
	/*
	 * A launcher restarted after an error does not know the workers of the one before: they
	 * are asked to leave after their cycle, and this launcher starts its own.
	 */
	(void)SignalWorkers(InvalidOid, SIGUSR2);
	LWLockAcquire(state->lock, LW_EXCLUSIVE);
	state->count = 0;
	state->launcher_latch = &MyProc->procLatch;
	LWLockRelease(state->lock);
	before_shmem_exit(ForgetLauncher, 0);

	MemoryContext pass_context =
	    AllocSetContextCreate(TopMemoryContext, "retention launcher pass", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long sleep_ms = NaptimeMs();
		if (!IsBinaryUpgrade)
		{
			MemoryContext previous = MemoryContextSwitchTo(pass_context);
			sleep_ms = LauncherPass();
			MemoryContextSwitchTo(previous);
			MemoryContextReset(pass_context);
		}
		Nap(sleep_ms);
	}
}

void
retention_worker_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGUSR2, HandleYield);
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
	const char *version = retention::catalog::InstalledVersion();
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
			NoteDatabase(false); /* the launcher checks this database again only rarely */
			proc_exit(0);
		}
		if (!yield_pending)
		{
			Nap(NaptimeMs());
		}
		if (yield_pending)
		{
			/* another database waits for a slot; this one has had its cycle */
			ereport(DEBUG1, (errmsg("%s leaves its slot to a waiting database",
			                        MyBgworkerEntry->bgw_name)));
			proc_exit(0);
		}
	}
}

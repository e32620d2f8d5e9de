/*
 * run.cpp: one run of one policy, batch by batch (see run.hpp).
 *
 * How a batch finds its rows without rescanning what earlier batches removed: when the trigger
 * is a bare column with a btree index, batches walk the index in (trigger, ctid) order and each
 * starts after the last row of the previous one; otherwise they walk the heap in ctid order
 * (a TID range scan on PostgreSQL 14+). Either way the whole run reads each expired row once,
 * instead of once per batch as "DELETE ... LIMIT n" loops do.
 *
 * How a batch removes rows safely: it selects candidates with FOR UPDATE SKIP LOCKED (rows
 * locked by others are left for the next run, never waited for; a row changed since the run
 * began is judged on its latest version), then deletes them by ctid while holding the locks. Every
 * statement on the relation runs as its owner in a security-restricted operation with search_path
 * and TimeZone pinned.
 *
 * Failures: the delete runs in a subtransaction; if it fails, the batch is split in halves,
 * recursively, until the failing rows are alone; they are counted in rows_failed and skipped.
 * When the candidate scan itself fails (a trigger, keep_when or anonymize expression that
 * raises for some row), that batch's rows are evaluated in stretches the same way
 * (SelectRowByRow), so such a row is a row failure too. A rule that rewrites the batch's
 * statements ends the leaf with a failed unit before anything runs (RuleInTheWay). An error
 * outside row removal (relation dropped, privilege lost) ends the run as failed.
 * Cancellation and shutdown are never swallowed.
 *
 * The run's error boundary (RunOne): whatever fails in a run outside the steps that record
 * their own failure (computing a cutoff, bookkeeping, the run state, a commit) ends that run
 * as failed, recorded in a clean transaction, and the caller goes on with the next policy.
 * TimescaleDB's job runner does this by aborting the whole transaction and starting a new
 * one; a run cannot, because it executes inside a procedure (CALL retention.run(), or the
 * worker's portal) whose SPI connection an abort would tear down, and because in an atomic
 * context the transaction is the caller's. So the run's work between two commits (a segment)
 * runs in an internal subtransaction: an error rolls the segment back, which releases
 * whatever the failed code held (locks, snapshots, SPI connections of the table's triggers,
 * the owner's identity), and the failure is recorded from there: after a ROLLBACK when the
 * run commits batch by batch, else in the caller's transaction.
 */
#include "purge/run.hpp"

#include "catalog/audit.hpp"
#include "catalog/holds.hpp"
#include "catalog/policy_store.hpp"
#include "guc.hpp"
#include "pg/scope.hpp"
#include "pg/sql_text.hpp"
#include "pg/subtransaction.hpp"
#include "policy/backoff.hpp"
#include "purge/partitions.hpp"
#include "purge/policy_target.hpp"

extern "C"
{
#include "access/relation.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "commands/trigger.h"
#include "rewrite/rewriteDefine.h"
#include "utils/json.h"
#if PG_VERSION_NUM >= 140000 /* in pgstat.h before */
#include "utils/wait_event.h"
#endif
}

namespace retention::purge
{

namespace
{

/*
 * The run lock of a policy: a session lock with the tag of an advisory lock (database,
 * RUN_LOCK_KEY, policy id, RUN_LOCK_KIND), as pg_locks shows it (_retention.run_is_live()
 * reads it there). pg_advisory_lock() and its kin only ever take kinds 1 (one bigint key) and
 * 2 (two int keys): kind 3 is out of reach of SQL, so no other session can hold a policy's
 * run lock and make its runs skip as "already running".
 */
constexpr uint32 RUN_LOCK_KEY = 0x52544e31;
constexpr uint16 RUN_LOCK_KIND = 3;

LOCKTAG
RunLockTag(int64 policy_id)
{
	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, RUN_LOCK_KEY, static_cast<uint32>(policy_id),
	                     RUN_LOCK_KIND);
	return tag;
}

/* State of one run of one policy. Plain data only: errors longjmp over these frames. */
struct Run
{
	PolicyTarget target;
	const char *invoked_by;
	bool nonatomic;
	int64 run_id;
	TimestampTz started_at;
	TimestampTz cutoff;          /* of the current pass (the policy's own before the passes) */
	List *passes;                /* Pass *: the policy's own cutoff, then one per tenant period */
	TimestampTz record_cutoff;   /* what audit rows record (0: cutoff) */
	TimestampTz earliest_cutoff; /* a partition is dropped only below every tenant's cutoff */
	TimestampTz latest_cutoff;   /* a partition starting at or after it holds no expired row */
	int64 rows_affected;         /* deleted in place (the throttle counts these) */
	int64 rows_failed;
	int64 rows_dropped; /* in dropped partitions */
	int units;          /* purge_log rows written */
	int failed_units;
	int lock_timeouts;      /* DDL that gave up on a lock: retried next run, the run is partial */
	int64 uncommitted_rows; /* removed by short batches since the last commit */
	char *first_error;
	bool stopped_early;          /* max_runtime */
	bool locked;                 /* holds the policy's run lock */
	bool aborted;                /* ended by an error outside its units: failed */
	TimestampTz own_cutoff;      /* the policy's own cutoff, once computed (0: not yet) */
	int base_level;              /* the transaction nesting level the run started at */
	ResourceOwner segment_owner; /* the resource owner the open segment returns to */
	MemoryContext run_context;
	MemoryContext batch_context;
};
static_assert(std::is_trivially_destructible_v<Run>, "Run lives in frames that call the backend");

/* One relation (the policy's, or one leaf partition of it) being purged. */
struct Leaf
{
	Oid relid;
	char *name;         /* schema.table, quoted */
	char *from_clause;  /* ONLY schema.table AS alias */
	bool by_index;      /* walk (trigger, ctid) in index order, else ctid order */
	bool split;         /* the pass's short tenants are walked apart (see ShortTenant) */
	char *select_first; /* candidates, not locked: ctid, [key,] whether no one had locked it */
	char *select_next;
	char *scan_first; /* fast path: where the batch ends and which rows are busy */
	char *scan_next;
	char *range_first; /* fast path: delete the batch's range in one pass */
	char *range_next;
	char *position_first; /* careful path when the candidate scan raised: the rows in walk */
	char *position_next;  /* order, filtered only by what cannot raise (SelectRowByRow) */
	char *evaluate_sql;   /* which of the given rows are candidates: ctid, no one had locked it */
	char *lock_sql;       /* locks the given rows that are still expired, skipping locked ones */
	char *delete_sql;     /* deletes the given rows that are still expired */
	int delete_rc;        /* SPI_OK_DELETE, or SPI_OK_INSERT when deletes archive their rows */
	Oid key_type;
};
static_assert(std::is_trivially_destructible_v<Leaf>, "Leaf lives in frames that call the backend");

/* One batch: the candidate rows; [0, free_count) had no locker or updater when selected. */
struct Batch
{
	ItemPointerData *tids;
	int count;
	int free_count;
	int busy_count; /* fast path: rows left for the careful path, in tids */
	bool more;      /* the walk may go on after this batch */
	int64 deleted;
	int64 failed;
	char *first_error;
};
static_assert(std::is_trivially_destructible_v<Batch>,
              "Batch lives in frames that call the backend");

/*
 * A segment of the run: its work between two commits, in an internal subtransaction (see the
 * run's error boundary above). Begin and end restore the caller's memory context and resource
 * owner, as pg::InSubtransaction does.
 */
void
BeginSegment(Run *run)
{
	MemoryContext context = CurrentMemoryContext;
	run->segment_owner = CurrentResourceOwner;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(context);
}

void
EndSegment(Run *run)
{
	MemoryContext context = CurrentMemoryContext;
	ReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(context);
	CurrentResourceOwner = run->segment_owner;
}

/* Ends the current transaction and starts the next, when the caller allows it. */
void
CommitRunTransaction(const Run *run)
{
	if (!run->nonatomic)
	{
		return;
	}
	SPI_commit();
#if PG_VERSION_NUM < 150000
	SPI_start_transaction();
#endif
}

/* Commits the run's work so far (when the caller allows it) and opens the next segment. */
void
CommitStep(Run *run)
{
	if (!run->nonatomic)
	{
		return;
	}
	EndSegment(run);
	CommitRunTransaction(run);
	BeginSegment(run);
}

Oid
IndexAccessMethod(Oid index_id)
{
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(index_id));
	if (!HeapTupleIsValid(tuple))
	{
		return InvalidOid;
	}
	const Oid access_method = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relam;
	ReleaseSysCache(tuple);
	return access_method;
}

/*
 * Whether the leaf has a valid btree index whose first column is `column` and, when `second`
 * is given, whose second column is `second`.
 */
bool
HasLeadingIndex(Relation rel, AttrNumber column, AttrNumber second = InvalidAttrNumber)
{
	bool found = false;
	List *indexes = RelationGetIndexList(rel);
	ListCell *cell;
	foreach (cell, indexes)
	{
		const Oid index_id = lfirst_oid(cell);
		HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index_id));
		if (!HeapTupleIsValid(tuple))
		{
			continue;
		}
		Form_pg_index index = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
		const bool usable = index->indisvalid && index->indnkeyatts >= (second > 0 ? 2 : 1) &&
		                    index->indkey.values[0] == column &&
		                    (second <= 0 || index->indkey.values[1] == second) &&
		                    heap_attisnull(tuple, Anum_pg_index_indpred, nullptr);
		ReleaseSysCache(tuple);
		if (usable && IndexAccessMethod(index_id) == BTREE_AM_OID)
		{
			found = true;
		}
	}
	list_free(indexes);
	return found;
}

/*
 * The planner's estimate of the leaf's rows older than `cutoff`, from the column's statistics;
 * -1 when the leaf has never been analysed.
 */
double
EstimateOlder(const Run *run, Relation rel, const char *from_clause, TimestampTz cutoff)
{
	if (rel->rd_rel->reltuples <= 0)
	{
		return -1;
	}
	char *sql = psprintf("EXPLAIN (FORMAT JSON) SELECT FROM %s WHERE (%s)" SQL_LT "$1", from_clause,
	                     run->target.trigger_sql);
	Oid types[1] = {TIMESTAMPTZOID};
	Datum values[1] = {TimestampTzGetDatum(cutoff)};
	if (SPI_execute_with_args(sql, 1, types, values, nullptr, false, 0) != SPI_OK_UTILITY ||
	    SPI_processed < 1)
	{
		elog(ERROR, "estimating expired rows failed");
	}
	char *plan = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	const char *rows = plan != nullptr ? strstr(plan, "\"Plan Rows\": ") : nullptr;
	return rows == nullptr ? -1 : strtod(rows + strlen("\"Plan Rows\": "), nullptr);
}

/*
 * Whether a leaf is walked in index order, given the estimate of its rows to remove. In index
 * order, each batch reads only expired rows, which suits the usual case (a small share of the
 * table expires between runs); but consecutive batches then touch rows spread over the whole
 * table. In heap (ctid) order each batch covers a contiguous stretch of pages, so every page
 * is dirtied once per run, which is far cheaper when a large share is expired (a first run, a
 * shortened period). The index is used unless at least a tenth of the leaf's rows expired.
 */
bool
WalkByIndex(double expired, double rows)
{
	return expired < 0 || expired < rows / 10;
}

/*
 * Relative costs behind the split of a tenant pass (ChooseWalk), in microseconds, measured on
 * a 2-core machine with bench/subjects_tenants.sh (now the subjects_tenants part of
 * bench/bench.py): visiting a row in a heap walk, visiting a row in an index walk (a random heap
 * access), and one tenant's walk beyond its rows (its statements, its audit row).
 */
constexpr double HEAP_ROW_COST = 0.2;
constexpr double INDEX_ROW_COST = 6;
constexpr double TENANT_WALK_COST = 600;

/*
 * Chooses how the pass walks a leaf: in one walk to the latest cutoff, or split into a walk to
 * the policy's own cutoff and one walk per tenant with a shorter period through an index on
 * (tenant, trigger) (see ShortTenant). The split is taken when the leaf has that index, the
 * walk to the policy's cutoff goes by index, and the estimated cost of the tenants' walks is
 * below that of the one walk (the rows up to the latest cutoff by index, or the whole leaf in
 * heap order). Sets leaf->by_index and leaf->split; leaves run->cutoff at the bound of the
 * leaf's main walk.
 */
void
ChooseWalk(Run *run, const Pass *pass, Relation rel, AttrNumber leaf_column, Leaf *leaf)
{
	if (leaf_column <= 0 || !HasLeadingIndex(rel, leaf_column))
	{
		return;
	}
	const double rows = rel->rd_rel->reltuples;
	const double to_latest = EstimateOlder(run, rel, leaf->from_clause, pass->cutoff);
	leaf->by_index = WalkByIndex(to_latest, rows);
	if (pass->short_tenants == NIL || to_latest < 0)
	{
		return;
	}
	const AttrNumber tenant_column = get_attnum(RelationGetRelid(rel), run->target.tenant_column);
	if (tenant_column <= 0 || !HasLeadingIndex(rel, tenant_column, leaf_column))
	{
		return;
	}
	const double to_own = EstimateOlder(run, rel, leaf->from_clause, pass->own_cutoff);
	if (!WalkByIndex(to_own, rows))
	{
		return;
	}
	const double one_walk = leaf->by_index ? to_latest * INDEX_ROW_COST : rows * HEAP_ROW_COST;
	const double split =
	    to_own * INDEX_ROW_COST + list_length(pass->short_tenants) * TENANT_WALK_COST;
	if (split < one_walk)
	{
		leaf->by_index = true;
		leaf->split = true;
		run->cutoff = pass->own_cutoff;
	}
}

void BuildLeafStatements(const Run *run, Leaf *leaf);

/* Chooses the walk and builds the statements of one leaf (as the owner, who may read the
 * table's statistics). */
void
PrepareLeaf(Run *run, const Pass *pass, Oid leaf_id, Leaf *leaf)
{
	const PolicyTarget *target = &run->target;
	leaf->relid = leaf_id;
	leaf->name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(leaf_id)),
	                                        get_rel_name(leaf_id));
	leaf->from_clause = psprintf("ONLY %s AS %s", leaf->name, quote_identifier(target->alias));
	leaf->by_index = false;
	leaf->split = false;
	leaf->key_type = InvalidOid;
	if (target->trigger_column > 0)
	{
		/* the column's number in this leaf (partitions may number columns differently) */
		char *column = get_attname(target->relid, target->trigger_column, false);
		const AttrNumber leaf_column = get_attnum(leaf_id, column);
		Relation rel = relation_open(leaf_id, AccessShareLock);
		ChooseWalk(run, pass, rel, leaf_column, leaf);
		relation_close(rel, AccessShareLock);
		leaf->key_type = get_atttype(target->relid, target->trigger_column);
	}
	BuildLeafStatements(run, leaf);
}

/* The statements of a leaf's batches; rebuilt when the legal holds change during a run. */
void
BuildLeafStatements(const Run *run, Leaf *leaf)
{
	const PolicyTarget *target = &run->target;
	const char *alias = quote_identifier(target->alias);
	const char *trigger = target->trigger_sql;
	char *expired = ExpiredCondition(target, 1);
	/* the trigger range of this pass, for this pass's tenants */
	const char *in_range =
	    target->tenant_filter == nullptr
	        ? psprintf("(%s)" SQL_LT "$1", trigger)
	        : psprintf("(%s)" SQL_LT "$1 AND %s", trigger, target->tenant_filter);
	/*
	 * The careful path's walk when a candidate scan raised: the same order, filtered only by
	 * the trigger when it is a bare column (which cannot raise), so that the policy's
	 * expressions are evaluated on a known set of rows, where a failing row can be isolated.
	 */
	const char *safe = target->trigger_column > 0 ? in_range : "true";
	if (leaf->by_index)
	{
		leaf->position_first = psprintf("SELECT ctid, %s FROM %s WHERE %s ORDER BY %s, ctid",
		                                trigger, leaf->from_clause, safe, trigger);
		leaf->position_next = psprintf("SELECT ctid, %s FROM %s WHERE %s AND %s" SQL_GE
		                               "$2 AND (%s, ctid)" SQL_GT "($2, $3) ORDER BY %s, ctid",
		                               trigger, leaf->from_clause, safe, trigger, trigger, trigger);
	}
	else
	{
		leaf->position_first = nullptr;
		leaf->position_next =
		    psprintf("SELECT ctid FROM %s WHERE ctid" SQL_GT "$2 AND %s", leaf->from_clause, safe);
	}
	leaf->evaluate_sql = psprintf("SELECT ctid, xmax" SQL_EQ "'0'::pg_catalog.xid FROM %s "
	                              "WHERE ctid" SQL_EQ "ANY ($2) AND %s",
	                              leaf->from_clause, expired);
	if (target->differs_sql != nullptr)
	{
		in_range = psprintf("%s AND %s", in_range, target->differs_sql); /* not yet anonymised */
	}
	if (leaf->by_index)
	{
		leaf->select_first =
		    psprintf("SELECT ctid, %s, xmax" SQL_EQ "'0'::pg_catalog.xid FROM %s WHERE %s "
		             "ORDER BY %s, ctid LIMIT %d",
		             trigger, leaf->from_clause, expired, trigger, target->batch_size);
		leaf->select_next = psprintf("SELECT ctid, %s, xmax" SQL_EQ
		                             "'0'::pg_catalog.xid FROM %s WHERE %s AND %s" SQL_GE "$2 "
		                             "AND (%s, ctid)" SQL_GT "($2, $3) ORDER BY %s, ctid LIMIT %d",
		                             trigger, leaf->from_clause, expired, trigger, trigger, trigger,
		                             target->batch_size);
	}
	else
	{
		/*
		 * Heap order relies on a TID range scan returning rows in ctid order, so this
		 * statement runs with every other scan disabled (see ScanSettings); keep_when, which
		 * may need index scans of other tables, is applied by the delete instead.
		 */
		leaf->select_first = nullptr;
		leaf->select_next = psprintf("SELECT ctid, xmax" SQL_EQ "'0'::pg_catalog.xid FROM %s "
		                             "WHERE ctid" SQL_GT "$2 AND %s LIMIT %d",
		                             leaf->from_clause, in_range, target->batch_size);
	}
	/*
	 * The delete and the lock repeat the rule, so that a row changed since it was selected is
	 * judged on its latest version. "IS TRUE" keeps the trigger comparison from matching an
	 * index: the planner must use a TID scan for the given rows, not rescan the expired range.
	 */
	char *recheck = psprintf("((%s)" SQL_LT "$1) IS TRUE", trigger);
	if (target->tenant_filter != nullptr)
	{
		recheck = psprintf("%s AND (%s) IS TRUE", recheck, target->tenant_filter);
	}
	if (target->keep_when_sql != nullptr)
	{
		recheck = psprintf("%s AND (%s) IS NOT TRUE", recheck, target->keep_when_sql);
	}
	if (target->differs_sql != nullptr)
	{
		recheck = psprintf("%s AND (%s) IS TRUE", recheck, target->differs_sql);
	}
	if (target->held_sql != nullptr)
	{
		recheck = psprintf("%s AND (%s) IS NOT TRUE", recheck, target->held_sql);
	}
	leaf->delete_sql =
	    psprintf("DELETE FROM %s WHERE ctid" SQL_EQ "ANY ($2) AND %s", leaf->from_clause, recheck);
	leaf->lock_sql = psprintf("SELECT ctid FROM %s WHERE ctid" SQL_EQ "ANY ($2) AND %s "
	                          "FOR UPDATE OF %s SKIP LOCKED",
	                          leaf->from_clause, recheck, alias);

	/*
	 * The fast path of a batch takes two statements: a read-only scan that finds where the
	 * batch ends (the batch_size-th candidate in walk order) and which candidates someone had
	 * locked or updated, then one DELETE of the expired, unlocked rows of that stretch, which
	 * visits each row once like a plain DELETE. keep_when is part of the scan unless it reads
	 * other tables (the heap walk disables index scans, which its subqueries may need); the
	 * delete always applies it.
	 */
	const bool keep_in_scan = target->keep_when_sql != nullptr && !target->keep_when_has_sublink;
	const char *candidate = keep_in_scan ? expired : in_range;
	const char *busy = "pg_catalog.array_agg(t) FILTER (WHERE NOT free)";
	if (leaf->by_index)
	{
		const char *report = psprintf(
		    "SELECT pg_catalog.count(*)::pg_catalog.int4, (pg_catalog.array_agg(t ORDER BY k DESC, "
		    "t DESC))[1], (pg_catalog.array_agg(k ORDER BY k DESC, t DESC))[1], %s FROM (SELECT "
		    "ctid AS t, %s AS k, xmax" SQL_EQ "'0'::pg_catalog.xid AS free FROM %s WHERE %s",
		    busy, trigger, leaf->from_clause, expired);
		leaf->scan_first =
		    psprintf("%s ORDER BY %s, ctid LIMIT %d) AS c", report, trigger, target->batch_size);
		leaf->scan_next =
		    psprintf("%s AND %s" SQL_GE "$2 AND (%s, ctid)" SQL_GT "($2, $3) ORDER BY %s, ctid "
		             "LIMIT %d) AS c",
		             report, trigger, trigger, trigger, target->batch_size);
		leaf->range_first =
		    psprintf("DELETE FROM %s WHERE %s AND xmax" SQL_EQ "'0'::pg_catalog.xid "
		             "AND %s" SQL_LE "$4 AND (%s, ctid)" SQL_LE "($4, $5)",
		             leaf->from_clause, expired, trigger, trigger);
		leaf->range_next = psprintf("%s AND %s" SQL_GE "$2 AND (%s, ctid)" SQL_GT "($2, $3)",
		                            leaf->range_first, trigger, trigger);
	}
	else
	{
		leaf->scan_first = nullptr;
		leaf->scan_next =
		    psprintf("SELECT pg_catalog.count(*)::pg_catalog.int4, pg_catalog.max(t), "
		             "NULL::pg_catalog.tid, %s FROM (SELECT ctid AS t, xmax" SQL_EQ
		             "'0'::pg_catalog.xid AS free FROM %s WHERE ctid" SQL_GT "$2 "
		             "AND %s LIMIT %d) AS c",
		             busy, leaf->from_clause, candidate, target->batch_size);
		leaf->range_first = nullptr;
		leaf->range_next =
		    psprintf("DELETE FROM %s WHERE ctid" SQL_GT "$2 AND ctid" SQL_LE "$3 AND "
		             "%s AND xmax" SQL_EQ "'0'::pg_catalog.xid",
		             leaf->from_clause, recheck);
	}
	leaf->delete_rc = SPI_OK_DELETE;
	if (target->anonymizes)
	{
		/* the same statements, updating the rows instead of deleting them */
		const char *prefix = psprintf("DELETE FROM %s WHERE ", leaf->from_clause);
		auto anonymized = [&](const char *remove) -> char *
		{
			if (remove == nullptr)
			{
				return nullptr;
			}
			Assert(strncmp(remove, prefix, strlen(prefix)) == 0);
			return psprintf("UPDATE %s SET %s WHERE %s", leaf->from_clause, target->set_sql,
			                remove + strlen(prefix));
		};
		leaf->range_first = anonymized(leaf->range_first);
		leaf->range_next = anonymized(leaf->range_next);
		leaf->delete_sql = anonymized(leaf->delete_sql);
		leaf->delete_rc = SPI_OK_UPDATE;
	}
	else if (OidIsValid(target->archive_to))
	{
		/* archive_to: each removed row is first copied there, in the same statement */
		const char *archive = ArchiveName(target);
		const char *columns = InsertableColumns(target->relid);
		auto archived = [&](const char *remove) -> char *
		{
			return remove == nullptr
			           ? nullptr
			           : psprintf("WITH removed AS (%s RETURNING %s) INSERT INTO %s (%s) "
			                      "SELECT %s FROM removed",
			                      remove, columns, archive, columns, columns);
		};
		leaf->range_first = archived(leaf->range_first);
		leaf->range_next = archived(leaf->range_next);
		leaf->delete_sql = archived(leaf->delete_sql);
		leaf->delete_rc = SPI_OK_INSERT;
	}
}

/* Position after the last candidate of the previous batch. */
struct Cursor
{
	bool started;
	Datum key;
	ItemPointerData tid;
};
static_assert(std::is_trivially_destructible_v<Cursor>,
              "Cursor lives in frames that call the backend");

/* The candidates of the next batch (not locked), copied into the batch context. */
void
SelectCandidates(const Run *run, const Leaf *leaf, Cursor *cursor, Batch *batch)
{
	Oid types[3] = {TIMESTAMPTZOID, leaf->by_index ? leaf->key_type : TIDOID, TIDOID};
	Datum values[3] = {TimestampTzGetDatum(run->cutoff), 0, 0};
	int nargs = 1;
	const char *sql = leaf->select_first;
	if (!leaf->by_index)
	{
		if (!cursor->started)
		{
			ItemPointerSet(&cursor->tid, 0, 0); /* before every real tuple */
		}
		values[1] = PointerGetDatum(&cursor->tid);
		nargs = 2;
		sql = leaf->select_next;
	}
	else if (cursor->started)
	{
		values[1] = cursor->key;
		values[2] = PointerGetDatum(&cursor->tid);
		nargs = 3;
		sql = leaf->select_next;
	}
	const int level = ScanSettings(!leaf->by_index, !leaf->by_index, false);
	const int rc = ExecuteForTarget(&run->target, sql, nargs, types, values, true);
	AtEOXact_GUC(true, level);
	if (rc != SPI_OK_SELECT)
	{
		elog(ERROR, "selecting candidates failed: %s", SPI_result_code_string(rc));
	}
	const int count = static_cast<int>(SPI_processed);
	MemoryContext previous = MemoryContextSwitchTo(run->batch_context);
	batch->tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (count + 1)));
	MemoryContextSwitchTo(previous);
	batch->count = count;
	const int free_column = leaf->by_index ? 3 : 2;
	int front = 0;
	int back = count;
	for (int i = 0; i < count; i++)
	{
		bool isnull;
		HeapTuple row = SPI_tuptable->vals[i];
		const ItemPointer tid = reinterpret_cast<ItemPointer>(
		    DatumGetPointer(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull)));
		const bool free =
		    DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, free_column, &isnull));
		/* rows nobody has locked or updated go first; the others take the locking path */
		batch->tids[free ? front++ : --back] = *tid;
		if (leaf->by_index)
		{
			/* rows come in (key, ctid) order: the last one is the new position */
			if (i == count - 1)
			{
				cursor->key = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
				cursor->tid = *tid;
			}
		}
		else if (ItemPointerCompare(tid, &cursor->tid) > 0)
		{
			/* heap order: the highest ctid seen is the new position */
			cursor->tid = *tid;
		}
	}
	batch->free_count = front;
	batch->more = count == run->target.batch_size;
	if (count > 0)
	{
		cursor->started = true;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* The candidates found by SelectRowByRow so far: unlocked ones, and the others. */
struct Found
{
	ItemPointerData *free_tids;
	int free_count;
	ItemPointerData *busy_tids;
	int busy_count;
};
static_assert(std::is_trivially_destructible_v<Found>,
              "Found lives in frames that call the backend");

/* RowCheck::found of SelectRowByRow: SPI_tuptable holds (ctid, no one had locked it). */
void
FoundCandidates(void *context)
{
	Found *found = static_cast<Found *>(context);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool isnull;
		HeapTuple row = SPI_tuptable->vals[i];
		const ItemPointer tid = reinterpret_cast<ItemPointer>(
		    DatumGetPointer(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull)));
		const bool free = DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
		if (free)
		{
			found->free_tids[found->free_count++] = *tid;
		}
		else
		{
			found->busy_tids[found->busy_count++] = *tid;
		}
	}
}

/*
 * The careful path's candidates when the candidate scan raised, which happens when a policy's
 * expression fails for some row: the rows are taken in walk order in stretches, filtered only
 * by what cannot raise, and each stretch is evaluated by CheckRows, which isolates the failing
 * rows (counted in batch->failed, never removed). Goes on until batch_size rows are found or
 * failed, or the leaf ends. Only the batch that raised pays for this; the next batch takes the
 * fast path again from where this one stopped, so a failing row is met once per run.
 */
void
SelectRowByRow(const Run *run, const Leaf *leaf, Cursor *cursor, Batch *batch)
{
	const int size = run->target.batch_size;
	MemoryContext previous = MemoryContextSwitchTo(run->batch_context);
	Found found = {};
	found.free_tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (size + 1)));
	found.busy_tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (size + 1)));
	batch->tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (size + 1)));
	ItemPointerData *stretch =
	    static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (size + 1)));
	MemoryContextSwitchTo(previous);
	RowCheck check = {&run->target,
	                  leaf->name,
	                  leaf->from_clause,
	                  leaf->evaluate_sql,
	                  run->cutoff,
	                  FoundCandidates,
	                  &found,
	                  run->run_context,
	                  0,
	                  nullptr};
	bool more = true;
	while (more)
	{
		const int want =
		    size - found.free_count - found.busy_count - static_cast<int>(check.failed);
		if (want <= 0)
		{
			break;
		}
		CHECK_FOR_INTERRUPTS();
		Oid types[3] = {TIMESTAMPTZOID, leaf->by_index ? leaf->key_type : TIDOID, TIDOID};
		Datum values[3] = {TimestampTzGetDatum(run->cutoff), 0, 0};
		int nargs = 1;
		const char *sql = leaf->position_first;
		if (!leaf->by_index)
		{
			if (!cursor->started)
			{
				ItemPointerSet(&cursor->tid, 0, 0); /* before every real tuple */
			}
			values[1] = PointerGetDatum(&cursor->tid);
			nargs = 2;
			sql = leaf->position_next;
		}
		else if (cursor->started)
		{
			values[1] = cursor->key;
			values[2] = PointerGetDatum(&cursor->tid);
			nargs = 3;
			sql = leaf->position_next;
		}
		int level = ScanSettings(!leaf->by_index, !leaf->by_index, false);
		const int rc = ExecuteForTarget(&run->target, psprintf("%s LIMIT %d", sql, want), nargs,
		                                types, values, true);
		AtEOXact_GUC(true, level);
		if (rc != SPI_OK_SELECT)
		{
			elog(ERROR, "selecting rows failed: %s", SPI_result_code_string(rc));
		}
		const int count = static_cast<int>(SPI_processed);
		for (int i = 0; i < count; i++)
		{
			bool isnull;
			HeapTuple row = SPI_tuptable->vals[i];
			stretch[i] = *reinterpret_cast<ItemPointer>(
			    DatumGetPointer(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull)));
			if (leaf->by_index && i == count - 1)
			{
				cursor->key = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
			}
			if (leaf->by_index ? i == count - 1 : ItemPointerCompare(&stretch[i], &cursor->tid) > 0)
			{
				cursor->tid = stretch[i];
			}
		}
		SPI_freetuptable(SPI_tuptable);
		if (count > 0)
		{
			cursor->started = true;
		}
		more = count == want;
		level = ScanSettings(true, false, false);
		CheckRows(&check, stretch, count);
		AtEOXact_GUC(true, level);
	}
	memcpy(batch->tids, found.free_tids, sizeof(ItemPointerData) * found.free_count);
	memcpy(batch->tids + found.free_count, found.busy_tids,
	       sizeof(ItemPointerData) * found.busy_count);
	batch->count = found.free_count + found.busy_count;
	batch->free_count = found.free_count;
	batch->failed += check.failed;
	if (batch->first_error == nullptr)
	{
		batch->first_error = check.first_error;
	}
	batch->more = more;
}

struct SelectStep
{
	const Run *run;
	const Leaf *leaf;
	Cursor *cursor;
	Batch *batch;
};
static_assert(std::is_trivially_destructible_v<SelectStep>,
              "SelectStep lives in frames that call the backend");

void
SelectStepRun(void *arg)
{
	SelectStep *step = static_cast<SelectStep *>(arg);
	SelectCandidates(step->run, step->leaf, step->cursor, step->batch);
}

/*
 * The careful path's candidates: the batch's candidates in one statement as usual, or, when
 * that raises for what may be a row's fault, row by row (SelectRowByRow).
 */
void
SelectCarefully(const Run *run, const Leaf *leaf, Cursor *cursor, Batch *batch)
{
	const Cursor before = *cursor;
	SelectStep step = {run, leaf, cursor, batch};
	ErrorData *error = pg::InSubtransaction(SelectStepRun, &step);
	if (error == nullptr)
	{
		return;
	}
	if (!RowError(error))
	{
		ReThrowError(error);
	}
	FreeErrorData(error);
	*cursor = before;
	*batch = Batch{};
	SelectRowByRow(run, leaf, cursor, batch);
}

/* Deletes the given rows in one statement; returns the rows removed. */
int64
DeleteTids(const Run *run, const Leaf *leaf, const ItemPointerData *tids, int count)
{
	Oid types[2] = {TIMESTAMPTZOID, TIDARRAYOID};
	Datum values[2] = {TimestampTzGetDatum(run->cutoff), PointerGetDatum(TidArray(tids, count))};
	const int level = ScanSettings(true, false, true);
	const int rc = ExecuteForTarget(&run->target, leaf->delete_sql, 2, types, values, false);
	AtEOXact_GUC(true, level);
	if (rc != leaf->delete_rc)
	{
		elog(ERROR, "deleting a batch failed: %s", SPI_result_code_string(rc));
	}
	return static_cast<int64>(SPI_processed);
}

void RemoveRange(const Run *run, const Leaf *leaf, Batch *batch, const ItemPointerData *tids,
                 int count, bool locked);

/*
 * The careful path, for rows someone had locked or updated when they were selected (or that
 * a delete found locked): lock those still expired, skipping rows locked by others (left for
 * the next run, never waited for), then remove what was locked.
 */
void
LockAndRemove(const Run *run, const Leaf *leaf, Batch *batch, const ItemPointerData *tids,
              int count)
{
	Oid types[2] = {TIMESTAMPTZOID, TIDARRAYOID};
	Datum values[2] = {TimestampTzGetDatum(run->cutoff), PointerGetDatum(TidArray(tids, count))};
	const int level = ScanSettings(true, false, false);
	const int rc = ExecuteForTarget(&run->target, leaf->lock_sql, 2, types, values, false);
	AtEOXact_GUC(true, level);
	if (rc != SPI_OK_SELECT)
	{
		elog(ERROR, "locking candidates failed: %s", SPI_result_code_string(rc));
	}
	const int locked = static_cast<int>(SPI_processed);
	ItemPointerData *mine =
	    static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (locked + 1)));
	for (int i = 0; i < locked; i++)
	{
		bool isnull;
		mine[i] = *reinterpret_cast<ItemPointer>(DatumGetPointer(
		    SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
	}
	SPI_freetuptable(SPI_tuptable);
	if (locked > 0)
	{
		RemoveRange(run, leaf, batch, mine, locked, true);
	}
}

/*
 * Removes the given rows in a subtransaction. A row lock taken by someone after the rows were
 * selected sends them to LockAndRemove; any other failure splits the range and retries each
 * half, down to single rows, which are counted as failed with the first error kept.
 */
struct DeleteStep
{
	const Run *run;
	const Leaf *leaf;
	const ItemPointerData *tids;
	int count;
	int64 deleted;
};
static_assert(std::is_trivially_destructible_v<DeleteStep>,
              "DeleteStep lives in frames that call the backend");

void
DeleteStepRun(void *arg)
{
	DeleteStep *step = static_cast<DeleteStep *>(arg);
	step->deleted = DeleteTids(step->run, step->leaf, step->tids, step->count);
}

void
RemoveRange(const Run *run, const Leaf *leaf, Batch *batch, const ItemPointerData *tids, int count,
            bool locked)
{
	DeleteStep step = {run, leaf, tids, count, 0};
	ErrorData *error = pg::InSubtransaction(DeleteStepRun, &step);
	if (error == nullptr)
	{
		batch->deleted += step.deleted;
		return;
	}
	if (!locked && error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
	{
		FreeErrorData(error);
		LockAndRemove(run, leaf, batch, tids, count);
		return;
	}
	if (count == 1)
	{
		batch->failed++;
		if (batch->first_error == nullptr)
		{
			/* the recheck of the policy's expressions, or the removal itself (a foreign
			 * key, a trigger): the former is said in the words of CheckRows */
			const RowCheck check = {
			    &run->target, leaf->name, leaf->from_clause, nullptr, run->cutoff,
			    nullptr,      nullptr,    nullptr,           0,       nullptr};
			const char *text = ExpressionErrorText(&check, tids, error->message, false);
			batch->first_error =
			    MemoryContextStrdup(run->run_context, text != nullptr ? text : error->message);
		}
		FreeErrorData(error);
		return;
	}
	FreeErrorData(error);
	const int half = count / 2;
	RemoveRange(run, leaf, batch, tids, half, locked);
	RemoveRange(run, leaf, batch, tids + half, count - half, locked);
}

void
NoteError(Run *run, const char *message)
{
	if (run->first_error == nullptr && message != nullptr)
	{
		run->first_error = MemoryContextStrdup(run->run_context, message);
	}
}

void
WriteAuditUnit(Run *run, const char *kind, Datum partitions, TimestampTz started_at, int64 rows,
               int64 failed, const char *status, const char *error)
{
	catalog::AuditRecord record = {};
	record.run_id = run->run_id;
	record.started_at = started_at;
	record.finished_at = GetCurrentTimestamp();
	record.policy_name = run->target.name;
	record.relation = run->target.relation_name;
	record.kind = kind;
	record.partitions = partitions;
	record.cutoff = run->record_cutoff != 0 ? run->record_cutoff : run->cutoff;
	record.has_cutoff = record.cutoff != 0;
	record.rows_affected = rows;
	record.rows_failed = failed;
	record.status = status;
	record.error = error;
	record.invoked_by = run->invoked_by;
	record.policy_version = run->target.version;
	catalog::WriteAudit(&record);
	run->units++;
}

void
WriteUnit(Run *run, TimestampTz started_at, int64 rows, int64 failed, const char *status,
          const char *error)
{
	WriteAuditUnit(run, run->target.anonymizes ? "anonymize" : "delete", 0, started_at, rows,
	               failed, status, error);
}

/*
 * The fast path of a batch (see PrepareLeaf). Errors propagate: the caller then redoes the
 * batch on the careful path, which isolates rows that cannot be deleted. On success the
 * unlocked rows are deleted and the busy ones are in batch->tids.
 */
void
FastBatch(const Run *run, const Leaf *leaf, Cursor *cursor, Batch *batch)
{
	const bool first = leaf->by_index && !cursor->started;
	if (!leaf->by_index && !cursor->started)
	{
		ItemPointerSet(&cursor->tid, 0, 0); /* before every real tuple */
	}
	const Oid key_type = leaf->by_index ? leaf->key_type : TIDOID;
	Oid types[5] = {TIMESTAMPTZOID, key_type, TIDOID, key_type, TIDOID};
	Datum values[5] = {TimestampTzGetDatum(run->cutoff), cursor->key, PointerGetDatum(&cursor->tid),
	                   0, 0};
	if (!leaf->by_index)
	{
		types[1] = TIDOID;
		values[1] = PointerGetDatum(&cursor->tid);
	}
	ItemPointerData last_tid;
	ItemPointerSetInvalid(&last_tid);

	int level = ScanSettings(!leaf->by_index, !leaf->by_index, false);
	const char *scan = first ? leaf->scan_first : leaf->scan_next;
	int rc = ExecuteForTarget(&run->target, scan, leaf->by_index ? 3 : 2, types, values, true);
	AtEOXact_GUC(true, level);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
	{
		elog(ERROR, "the batch scan failed: %s", SPI_result_code_string(rc));
	}
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	const int count = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
	batch->count = count;
	int busy_count = 0;
	if (count > 0)
	{
		last_tid =
		    *reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(row, desc, 2, &isnull)));
		const Datum last_key = SPI_getbinval(row, desc, 3, &isnull);
		const Datum busy = SPI_getbinval(row, desc, 4, &isnull);
		if (!isnull)
		{
			ArrayType *array = DatumGetArrayTypeP(busy);
			busy_count = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
			MemoryContext previous = MemoryContextSwitchTo(run->batch_context);
			batch->tids =
			    static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (busy_count + 1)));
			MemoryContextSwitchTo(previous);
			memcpy(batch->tids, ARR_DATA_PTR(array), sizeof(ItemPointerData) * busy_count);
		}
		/* the delete: from the old position to the batch's last candidate */
		if (leaf->by_index)
		{
			values[3] = last_key;
			values[4] = PointerGetDatum(&last_tid);
		}
		else
		{
			values[2] = PointerGetDatum(&last_tid);
		}
		SPI_freetuptable(SPI_tuptable);
		level = ScanSettings(!leaf->by_index, false, true);
		const char *range = first ? leaf->range_first : leaf->range_next;
		rc = ExecuteForTarget(&run->target, range, leaf->by_index ? 5 : 3, types, values, false);
		AtEOXact_GUC(true, level);
		if (rc != leaf->delete_rc)
		{
			elog(ERROR, "the batch delete failed: %s", SPI_result_code_string(rc));
		}
		batch->deleted += static_cast<int64>(SPI_processed);
		if (leaf->by_index)
		{
			cursor->key = last_key;
		}
		cursor->tid = last_tid;
		cursor->started = true;
	}
	batch->free_count = 0;
	batch->busy_count = busy_count;
	batch->more = count == run->target.batch_size;
}

/*
 * One attempt at a batch in a subtransaction: select, remove, audit. The fast attempt does the
 * batch in two statements; the careful one goes statement by statement and isolates failing
 * rows. Returns the error that rolled the attempt back, or nullptr.
 */
struct BatchAttempt
{
	Run *run;
	const Leaf *leaf;
	Cursor *cursor;
	bool careful;
	TimestampTz started;
	Batch *batch;
	bool more;
};
static_assert(std::is_trivially_destructible_v<BatchAttempt>,
              "BatchAttempt lives in frames that call the backend");

void
BatchAttemptRun(void *arg)
{
	BatchAttempt *attempt = static_cast<BatchAttempt *>(arg);
	Run *run = attempt->run;
	const Leaf *leaf = attempt->leaf;
	Batch *batch = attempt->batch;
	const pg::Scope scope =
	    pg::AsRelationOwner(run->target.owner, run->target.search_path, run->target.timezone);
	(void)set_config_option("synchronize_seqscans", "off", PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_SAVE, true, 0, false);
	SPI_execute("SET CONSTRAINTS ALL IMMEDIATE", false, 0);
	if (!attempt->careful)
	{
		FastBatch(run, leaf, attempt->cursor, batch);
		if (batch->busy_count > 0)
		{
			LockAndRemove(run, leaf, batch, batch->tids, batch->busy_count);
		}
	}
	else
	{
		SelectCarefully(run, leaf, attempt->cursor, batch);
		if (batch->free_count > 0)
		{
			RemoveRange(run, leaf, batch, batch->tids, batch->free_count, false);
		}
		if (batch->count > batch->free_count)
		{
			LockAndRemove(run, leaf, batch, batch->tids + batch->free_count,
			              batch->count - batch->free_count);
		}
	}
	pg::Leave(scope);
	if (batch->count > 0 || batch->failed > 0)
	{
		const char *status = batch->failed > 0 ? "partial" : "ok";
		WriteUnit(run, attempt->started, batch->deleted, batch->failed, status, batch->first_error);
	}
	attempt->more = batch->more;
}

ErrorData *
AttemptBatch(Run *run, const Leaf *leaf, Cursor *cursor, bool careful, TimestampTz started,
             Batch *batch, bool *more)
{
	BatchAttempt attempt = {run, leaf, cursor, careful, started, batch, false};
	ErrorData *error = pg::InSubtransaction(BatchAttemptRun, &attempt);
	*more = attempt.more;
	return error;
}

/*
 * Whether a rule on the leaf would turn the batch's statements into something else: a DO
 * INSTEAD rule (without a condition) on DELETE (on UPDATE for anonymize) replaces every one
 * of them, so nothing can be removed, and SPI's row count would then be that of the rule's
 * action, not of rows removed; with archive_to, PostgreSQL refuses any DELETE rule in the
 * statement that archives. Returns what happened and what to do, in one text for the audit
 * row, or nullptr. Takes the lock the batch's statements take anyway, which CREATE RULE
 * waits for: no rule can appear before the batch ends. A rule with a condition is left to
 * do its work: the rows it diverts stay and are not counted as removed.
 */
const char *
RuleInTheWay(const Run *run, const Leaf *leaf)
{
	Relation rel = try_relation_open(leaf->relid, AccessShareLock);
	if (rel == nullptr)
	{
		return nullptr; /* gone: the batch's statements say so */
	}
	const CmdType event = run->target.anonymizes ? CMD_UPDATE : CMD_DELETE;
	const bool archives = !run->target.anonymizes && OidIsValid(run->target.archive_to);
	Oid rule_id = InvalidOid;
	bool instead = false;
	for (int i = 0; rel->rd_rules != nullptr && i < rel->rd_rules->numLocks; i++)
	{
		const RewriteRule *rule = rel->rd_rules->rules[i];
		/* the rules that fire, as the rewriter decides (rewriteHandler.c, matchLocks) */
		const bool fires =
		    SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA
		        ? rule->enabled != RULE_FIRES_ON_ORIGIN && rule->enabled != RULE_DISABLED
		        : rule->enabled != RULE_FIRES_ON_REPLICA && rule->enabled != RULE_DISABLED;
		if (rule->event != event || !fires)
		{
			continue;
		}
		if (rule->isInstead && rule->qual == nullptr)
		{
			rule_id = rule->ruleId;
			instead = true;
			break;
		}
		if (archives && !OidIsValid(rule_id))
		{
			rule_id = rule->ruleId;
		}
	}
	relation_close(rel, NoLock); /* the lock is kept until the batch's transaction ends */
	if (!OidIsValid(rule_id))
	{
		return nullptr;
	}
	Oid types[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(rule_id)};
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute_with_args("SELECT rulename::text FROM pg_catalog.pg_rewrite "
	                      "WHERE oid OPERATOR(pg_catalog.=) $1",
	                      1, types, values, nullptr, true, 1);
	pg::Leave(scope);
	const char *name =
	    SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : "?";
	if (!instead)
	{
		return psprintf("DELETE on %s has rule \"%s\", which PostgreSQL does not allow in the "
		                "statement that archives the rows of policy \"%s\": nothing was removed; "
		                "drop the rule, or alter the policy to remove archive_to",
		                leaf->name, name, run->target.name);
	}
	if (run->target.anonymizes)
	{
		return psprintf("UPDATE on %s is rewritten by rule \"%s\" (DO INSTEAD), so policy "
		                "\"%s\" can anonymize no row: nothing was changed; drop or change the "
		                "rule, or drop the policy",
		                leaf->name, name, run->target.name);
	}
	return psprintf("DELETE on %s is rewritten by rule \"%s\" (DO INSTEAD), so policy \"%s\" "
	                "can remove no row: nothing was removed; drop or change the rule, alter the "
	                "policy to action anonymize, or drop the policy",
	                leaf->name, name, run->target.name);
}

/*
 * One batch in one (sub)transaction: the fast attempt, and if it fails the careful one from
 * the same position. Returns false when the leaf has no more work (no candidates, a short
 * batch, or a failure that ends the leaf).
 */
bool
RunBatch(Run *run, Leaf *leaf, Cursor *cursor)
{
	const TimestampTz batch_started = GetCurrentTimestamp();
	/* holds placed from now on wait for this batch; holds placed before it apply to it */
	catalog::LockHolds();
	if (RefreshHolds(&run->target))
	{
		BuildLeafStatements(run, leaf);
	}
	const char *rule = RuleInTheWay(run, leaf);
	if (rule != nullptr)
	{
		/* nothing of this leaf can be removed: one failed unit, and on to the next leaf */
		NoteError(run, rule);
		run->failed_units++;
		WriteUnit(run, batch_started, 0, 0, "failed", rule);
		return false;
	}
	const Cursor before = *cursor;
	Batch batch = {};
	bool more = false;
	ErrorData *error = AttemptBatch(run, leaf, cursor, false, batch_started, &batch, &more);
	if (error != nullptr)
	{
		FreeErrorData(error);
		*cursor = before;
		batch = Batch{};
		error = AttemptBatch(run, leaf, cursor, true, batch_started, &batch, &more);
	}
	if (error != nullptr)
	{
		NoteError(run, error->message);
		run->failed_units++;
		WriteUnit(run, batch_started, 0, 0, "failed", error->message);
		FreeErrorData(error);
		return false;
	}
	run->rows_affected += batch.deleted;
	run->rows_failed += batch.failed;
	run->uncommitted_rows += batch.deleted + batch.failed;
	NoteError(run, batch.first_error);
	return more;
}

/* Sleeps as long as retention.max_rows_per_second asks, waking for interrupts. */
void
Throttle(const Run *run)
{
	const int64 pause = policy::ThrottlePause(
	    run->rows_affected, GetCurrentTimestamp() - run->started_at, guc::max_rows_per_second);
	if (pause <= 0)
	{
		return;
	}
	const long milliseconds = static_cast<long>((pause + 999) / 1000);
	(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, milliseconds,
	                PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

bool
OutOfTime(Run *run)
{
	if (guc::max_runtime_ms <= 0)
	{
		return false;
	}
	const bool out =
	    GetCurrentTimestamp() - run->started_at >= static_cast<int64>(guc::max_runtime_ms) * 1000;
	if (out && !run->stopped_early)
	{
		run->stopped_early = true;
		ereport(NOTICE, (errmsg("policy \"%s\" on %s stopped after retention.max_runtime",
		                        run->target.name, run->target.relation_name),
		                 errdetail("The remaining expired rows are left for the next run.")));
	}
	return out;
}

/*
 * Runs one step that may fail on a broken policy (relation gone, column changed, privilege
 * lost) in a subtransaction, as the relation's owner when `as_owner`. On failure, records a
 * failed unit and returns false; cancellation and shutdown propagate.
 */
struct ProtectedStep
{
	Run *run;
	void (*step)(Run *, void *);
	void *arg;
	bool as_owner;
};
static_assert(std::is_trivially_destructible_v<ProtectedStep>,
              "ProtectedStep lives in frames that call the backend");

void
ProtectedStepRun(void *arg)
{
	ProtectedStep *protected_step = static_cast<ProtectedStep *>(arg);
	Run *run = protected_step->run;
	if (protected_step->as_owner)
	{
		const pg::Scope scope =
		    pg::AsRelationOwner(run->target.owner, run->target.search_path, run->target.timezone);
		protected_step->step(run, protected_step->arg);
		pg::Leave(scope);
	}
	else
	{
		protected_step->step(run, protected_step->arg);
	}
}

/* Runs the step in a subtransaction; returns the error that rolled it back, or nullptr. */
ErrorData *
TryStep(Run *run, void (*step)(Run *, void *), void *arg, bool as_owner)
{
	ProtectedStep protected_step = {run, step, arg, as_owner};
	return pg::InSubtransaction(ProtectedStepRun, &protected_step);
}

/*
 * Records a failed step as a failed unit of `kind`. A lock timeout leaves the work for the next
 * run and makes the run partial; any other error counts as a failure.
 */
void
RecordStepError(Run *run, ErrorData *error, const char *kind, Datum partitions, TimestampTz started)
{
	NoteError(run, error->message);
	if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
	{
		run->lock_timeouts++;
	}
	else
	{
		run->failed_units++;
	}
	/* a unit kept for the next run is partial: the run goes on and ends partial */
	const bool retried = error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
	WriteAuditUnit(run, kind, partitions, started, 0, 0, retried ? "partial" : "failed",
	               error->message);
}

bool
Protected(Run *run, void (*step)(Run *, void *), void *arg, bool as_owner)
{
	ErrorData *error = TryStep(run, step, arg, as_owner);
	if (error == nullptr)
	{
		return true;
	}
	RecordStepError(run, error, run->target.anonymizes ? "anonymize" : "delete", 0,
	                GetCurrentTimestamp());
	FreeErrorData(error);
	return false;
}

/* ---- partition upkeep (partition_interval) ---- */

Datum
OneName(const char *name)
{
	Datum element = CStringGetTextDatum(name);
	return PointerGetDatum(construct_array(&element, 1, TEXTOID, -1, false, TYPALIGN_INT));
}

TimestampTz
LockDeadline()
{
	return GetCurrentTimestamp() + static_cast<int64>(guc::lock_timeout_ms) * 1000;
}

void
FindSlotsStep(Run *run, void *arg)
{
	const PartitionSet set = ListPartitions(run->target.relid);
	*static_cast<List **>(arg) = MissingSlots(&run->target, &set, run->started_at);
}

struct CreateStep
{
	const Slot *slot;
	char *name;
};
static_assert(std::is_trivially_destructible_v<CreateStep>,
              "CreateStep lives in frames that call the backend");

void
CreateStepRun(Run *run, void *arg)
{
	CreateStep *step = static_cast<CreateStep *>(arg);
	(void)CreatePartition(&run->target, step->slot, LockDeadline(), &step->name);
}

/*
 * Creates the partitions from the one containing now to `premake` ahead, and the ones that
 * rows in the default partition belong to, moving those rows; one transaction each.
 */
void
KeepPartitions(Run *run)
{
	List *slots = NIL;
	if (!Protected(run, FindSlotsStep, &slots, true))
	{
		return;
	}
	ListCell *cell;
	foreach (cell, slots)
	{
		CHECK_FOR_INTERRUPTS();
		const TimestampTz started = GetCurrentTimestamp();
		CreateStep step = {static_cast<const Slot *>(lfirst(cell)), nullptr};
		ErrorData *error = TryStep(run, CreateStepRun, &step, true);
		if (error != nullptr)
		{
			error->message = psprintf("creating a partition of %s: %s", run->target.relation_name,
			                          error->message);
			RecordStepError(run, error, run->target.anonymizes ? "anonymize" : "delete", 0,
			                started);
			FreeErrorData(error);
		}
		else
		{
			ereport(DEBUG1,
			        (errmsg("policy \"%s\": created partition %s", run->target.name, step.name)));
		}
		CommitStep(run);
	}
}

void
ListPartitionsStep(Run *run, void *arg)
{
	*static_cast<PartitionSet *>(arg) = ListPartitions(run->target.relid);
}

struct DropStep
{
	const Partition *partition;
	DropOutcome outcome;
	int64 rows;
};
static_assert(std::is_trivially_destructible_v<DropStep>,
              "DropStep lives in frames that call the backend");

void
DropStepRun(Run *run, void *arg)
{
	DropStep *step = static_cast<DropStep *>(arg);
	catalog::LockHolds();
	(void)RefreshHolds(&run->target);
	step->outcome = DropPartition(&run->target, step->partition, LockDeadline(), &step->rows);
}

/*
 * Drops each partition whose bounds hold only expired rows and none that keep_when keeps, one
 * transaction each, with its drop_partition audit row. Returns the partitions kept by a lock
 * timeout: they wait for the next run rather than being purged row by row now.
 */
List *
DropExpiredPartitions(Run *run)
{
	PartitionSet set = {};
	if (strcmp(run->target.action, "delete") != 0 ||
	    !Protected(run, ListPartitionsStep, &set, true))
	{
		return NIL;
	}
	List *kept = NIL;
	for (int i = 0; i < set.count && !OutOfTime(run); i++)
	{
		const Partition *partition = &set.items[i];
		if (!partition->plain || !ExpiredByBounds(partition, run->earliest_cutoff))
		{
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		const TimestampTz started = GetCurrentTimestamp();
		DropStep step = {partition, DropOutcome::GONE, 0};
		ErrorData *error = TryStep(run, DropStepRun, &step, true);
		if (error != nullptr)
		{
			if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
			{
				kept = lappend_oid(kept, partition->relid);
			}
			RecordStepError(run, error, "drop_partition", OneName(partition->name), started);
			FreeErrorData(error);
		}
		else if (step.outcome == DropOutcome::DROPPED)
		{
			/* the audit row commits with the drop */
			WriteAuditUnit(run, "drop_partition", OneName(partition->name), started, step.rows, 0,
			               "ok", nullptr);
			run->rows_dropped += step.rows;
		}
		CommitStep(run);
	}
	return kept;
}

struct LeavesStep
{
	List *skip;
	List *leaves;
};
static_assert(std::is_trivially_destructible_v<LeavesStep>,
              "LeavesStep lives in frames that call the backend");

/*
 * The leaves a run deletes from in place: all but those kept for the next run and those whose
 * bounds hold no row older than the cutoff.
 */
void
LeavesStepRun(Run *run, void *arg)
{
	LeavesStep *step = static_cast<LeavesStep *>(arg);
	const PartitionSet set = ListPartitions(run->target.relid);
	for (int i = 0; i < set.count; i++)
	{
		if (FreshByBounds(&set.items[i], run->latest_cutoff))
		{
			step->skip = lappend_oid(step->skip, set.items[i].relid);
		}
	}
	List *all = find_all_inheritors(run->target.relid, AccessShareLock, nullptr);
	ListCell *cell;
	foreach (cell, all)
	{
		const Oid relid = lfirst_oid(cell);
		if (get_rel_relkind(relid) == RELKIND_RELATION && !list_member_oid(step->skip, relid))
		{
			step->leaves = lappend_oid(step->leaves, relid);
		}
	}
}

struct LeafStep
{
	const Pass *pass;
	Oid leaf_id;
	Leaf *leaf;
};
static_assert(std::is_trivially_destructible_v<LeafStep>,
              "LeafStep lives in frames that call the backend");

void
PrepareLeafStep(Run *run, void *arg)
{
	LeafStep *step = static_cast<LeafStep *>(arg);
	PrepareLeaf(run, step->pass, step->leaf_id, step->leaf);
}

/* Runs the leaf's batches, from its start, until none is left or the run stops early. */
void
WalkLeaf(Run *run, Leaf *leaf)
{
	Cursor cursor = {};
	bool more = true;
	while (more && !OutOfTime(run))
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(run->batch_context);
		more = RunBatch(run, leaf, &cursor);
		/*
		 * A full batch commits; a short one (the end of a leaf or of a tenant's walk) waits
		 * for the next ones up to batch_size rows, so that many small walks do not each pay
		 * for a commit. The run's last work commits at its end.
		 */
		if (more || run->uncommitted_rows >= run->target.batch_size)
		{
			CommitStep(run);
			run->uncommitted_rows = 0;
		}
		if (more)
		{
			Throttle(run);
		}
	}
}

/*
 * One pass over one leaf. When the leaf is split (see ShortTenant), the main walk stops at the
 * policy's own cutoff, then each tenant with a shorter period is walked to its own cutoff
 * through the (tenant, trigger) index; its batches record that cutoff.
 */
void
PurgeLeaf(Run *run, const Pass *pass, Oid leaf_id)
{
	Leaf leaf;
	LeafStep step = {pass, leaf_id, &leaf};
	run->cutoff = pass->cutoff;
	if (!Protected(run, PrepareLeafStep, &step, true))
	{
		return;
	}
	WalkLeaf(run, &leaf);
	if (leaf.split)
	{
		ListCell *cell;
		foreach (cell, pass->short_tenants)
		{
			if (run->stopped_early)
			{
				break;
			}
			const ShortTenant *tenant = static_cast<const ShortTenant *>(lfirst(cell));
			run->cutoff = tenant->cutoff;
			run->record_cutoff = tenant->cutoff;
			run->target.tenant_filter = tenant->filter;
			run->target.tenant_cutoffs = nullptr;
			Leaf tenant_leaf = leaf;
			BuildLeafStatements(run, &tenant_leaf);
			WalkLeaf(run, &tenant_leaf);
		}
		run->record_cutoff = pass->record_cutoff;
		UsePass(&run->target, pass);
	}
	run->cutoff = pass->cutoff;
}

/*
 * What must hold before the first batch: the relation exists, the action is available, the
 * expressions still fit the relation. Collects the leaves to purge into *(List **) arg.
 */
void
PrepareRunStep(Run *run, void *arg)
{
	if (run->target.relid == InvalidOid)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("relation %s of policy \"%s\" no longer exists",
		                       run->target.relation_name, run->target.name),
		                errhint("Drop the policy, or alter it.")));
	}
	PrepareTarget(&run->target);
	(void)RefreshHolds(&run->target); /* re-read under a lock before each unit of work */
	if (run->target.partitioned_by_policy &&
	    (run->target.trigger_column <= 0 ||
	     get_rel_relkind(run->target.relid) != RELKIND_PARTITIONED_TABLE))
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("policy \"%s\" has partition_interval but %s is no longer "
		                       "partitioned on its trigger column",
		                       run->target.name, run->target.relation_name),
		                errhint("Alter the policy's partition_interval, or drop the policy.")));
	}
	run->own_cutoff = ComputeCutoff(&run->target, run->started_at);
	run->cutoff = run->own_cutoff;
	run->passes = PlanPasses(&run->target, run->started_at);
	CutoffRange(run->passes, &run->earliest_cutoff, &run->latest_cutoff);
	List *leaves = NIL;
	List *all = find_all_inheritors(run->target.relid, AccessShareLock, nullptr);
	ListCell *cell;
	foreach (cell, all)
	{
		if (get_rel_relkind(lfirst_oid(cell)) == RELKIND_RELATION)
		{
			leaves = lappend_oid(leaves, lfirst_oid(cell));
		}
	}
	*static_cast<List **>(arg) = leaves;
}

bool
PrepareRun(Run *run, List **leaves)
{
	*leaves = NIL;
	return Protected(run, PrepareRunStep, leaves, false);
}

const char *
RunStatus(const Run *run)
{
	if (run->aborted)
	{
		return "failed";
	}
	const bool failures = run->failed_units > 0 || run->rows_failed > 0;
	/*
	 * A unit of work failed and nothing was removed: the run could not do its work. Rows that
	 * failed on their own (SPEC "Failures") make a run partial, even when they were all that
	 * was left to remove: the run did everything else.
	 */
	if (run->failed_units > 0 && run->rows_affected + run->rows_dropped == 0 &&
	    run->lock_timeouts == 0)
	{
		return "failed";
	}
	if (failures || run->lock_timeouts > 0)
	{
		return "partial";
	}
	return "ok";
}

/*
 * Records the run as running, in the run state and in _retention.run. Runs of this policy left
 * running by a session or a worker that died are interrupted: the caller holds the policy's
 * run lock, so none of them is still in progress. Repeatable (a failed run records itself again,
 * see RecordFailureStep).
 */
void
MarkRunning(const Run *run)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, INT4OID};
	Datum values[4] = {Int64GetDatum(run->target.id), Int64GetDatum(run->run_id),
	                   TimestampTzGetDatum(run->started_at), Int32GetDatum(MyProcPid)};
	const int rc = SPI_execute_with_args(
	    "WITH leftover AS (UPDATE _retention.run SET status = 'interrupted' "
	    "WHERE policy_id = $1 AND status = 'running' AND run_id <> $2), "
	    "started AS (INSERT INTO _retention.run (run_id, policy_id, started_at, status, pid) "
	    "VALUES ($2, $1, $3, 'running', $4) ON CONFLICT (run_id) DO NOTHING) "
	    "INSERT INTO _retention.policy_state AS s (policy_id, last_run_id, last_started_at, "
	    "last_status, running_pid) VALUES ($1, $2, $3, 'running', $4) "
	    "ON CONFLICT (policy_id) DO UPDATE SET last_run_id = excluded.last_run_id, "
	    "last_started_at = excluded.last_started_at, last_status = 'running', "
	    "running_pid = excluded.running_pid",
	    4, types, values, nullptr, false, 0);
	pg::Leave(scope);
	if (rc != SPI_OK_INSERT)
	{
		elog(ERROR, "recording the start of a run failed: %s", SPI_result_code_string(rc));
	}
}

int64
IntervalMicros(const Interval *interval)
{
	return interval->time + (static_cast<int64>(interval->day) +
	                         static_cast<int64>(interval->month) * DAYS_PER_MONTH) *
	                            USECS_PER_DAY;
}

/* Records the outcome in the run state, alerts on partial or failed runs. */
void
FinishRun(Run *run)
{
	const char *status = RunStatus(run);
	const bool ok = strcmp(status, "ok") == 0;
	const int failures = ok ? 0 : run->target.consecutive_failures + 1;
	const TimestampTz next_run =
	    run->started_at + policy::NextRunDelay(IntervalMicros(&run->target.run_every), failures);

	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[7] = {INT8OID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID};
	Datum values[7] = {Int64GetDatum(run->target.id),
	                   CStringGetTextDatum(status),
	                   run->first_error ? CStringGetTextDatum(run->first_error) : 0,
	                   Int32GetDatum(failures),
	                   TimestampTzGetDatum(next_run),
	                   TimestampTzGetDatum(GetCurrentTimestamp()),
	                   Int64GetDatum(run->run_id)};
	char nulls[7] = {' ', ' ', run->first_error ? ' ' : 'n', ' ', ' ', ' ', ' '};
	const int rc = SPI_execute_with_args(
	    "WITH finished AS (UPDATE _retention.run SET status = $2, finished_at = $6 "
	    "WHERE run_id = $7) "
	    "UPDATE _retention.policy_state SET last_status = $2, last_error = $3, "
	    "consecutive_failures = $4, next_run_at = $5, last_finished_at = $6, "
	    "running_pid = NULL WHERE policy_id = $1",
	    7, types, values, nulls, false, 0);
	pg::Leave(scope);
	if (rc != SPI_OK_UPDATE)
	{
		elog(ERROR, "recording the end of a run failed: %s", SPI_result_code_string(rc));
	}

	if (!ok)
	{
		StringInfoData payload;
		initStringInfo(&payload);
		appendStringInfoString(&payload, "{\"policy\":");
		escape_json(&payload, run->target.name);
		appendStringInfoString(&payload, ",\"status\":");
		escape_json(&payload, status);
		appendStringInfoString(&payload, ",\"error\":");
		escape_json(&payload, run->first_error ? run->first_error : "");
		appendStringInfoChar(&payload, '}');
		if (payload.len >= NAMEDATALEN * 100)
		{
			payload.data[NAMEDATALEN * 100 - 1] = '\0';
		}
		Async_Notify("retention_alert", payload.data);
		ereport(WARNING, (errmsg("policy \"%s\" on %s: run %s", run->target.name,
		                         run->target.relation_name, status),
		                  errdetail("%s", run->first_error ? run->first_error : "no error text"),
		                  errhint("See retention.audit for run " INT64_FORMAT ".", run->run_id)));
	}
}

int64
NextRunId()
{
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute("SELECT pg_catalog.nextval('_retention.run_id_seq')", false, 1);
	bool isnull;
	const int64 id =
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pg::Leave(scope);
	return id;
}

void
RunLocked(Run *run)
{
	run->run_id = NextRunId();
	run->started_at = GetCurrentTimestamp();
	MarkRunning(run);
	CommitStep(run);

	List *leaves = NIL;
	if (PrepareRun(run, &leaves) && run->target.partitioned_by_policy)
	{
		KeepPartitions(run);
		run->cutoff = run->earliest_cutoff; /* what authorises each drop */
		LeavesStep step = {DropExpiredPartitions(run), NIL};
		leaves = Protected(run, LeavesStepRun, &step, true) ? step.leaves : NIL;
	}
	ListCell *pass_cell;
	foreach (pass_cell, leaves != NIL ? run->passes : NIL)
	{
		const Pass *pass = static_cast<const Pass *>(lfirst(pass_cell));
		run->cutoff = pass->cutoff;
		run->record_cutoff = pass->record_cutoff;
		UsePass(&run->target, pass);
		ListCell *cell;
		foreach (cell, leaves)
		{
			if (run->stopped_early)
			{
				break;
			}
			PurgeLeaf(run, pass, lfirst_oid(cell));
		}
	}
	run->cutoff = run->own_cutoff; /* 0 (no cutoff) when it could not be computed */
	run->record_cutoff = 0;
	if (run->units == 0)
	{
		/* every check is on record, also one that found nothing to do */
		WriteUnit(run, run->started_at, 0, 0, "ok", nullptr);
	}
	FinishRun(run);
	CommitStep(run);
}

/*
 * Takes the policy's run lock, unless another session holds it (then says so and returns
 * false): a policy never runs twice at once.
 */
bool
LockRun(Run *run)
{
	const LOCKTAG tag = RunLockTag(run->target.id);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		ereport(NOTICE, (errmsg("policy \"%s\" is already running; skipped", run->target.name)));
		return false;
	}
	run->locked = true;
	return true;
}

void
UnlockRun(Run *run)
{
	if (run->locked)
	{
		const LOCKTAG tag = RunLockTag(run->target.id);
		(void)LockRelease(&tag, ExclusiveLock, true);
		run->locked = false;
	}
}

/*
 * Records a run that an error ended: its state leaves running for failed (with the backoff of
 * a failure), a failed unit carries the error into the audit log, and the alert goes out, as
 * for any failed run. When the error came before the run was on record (its start rolled
 * back with the failed segment, or never written), it is recorded from the start.
 */
void
RecordFailureStep(void *arg)
{
	Run *run = static_cast<Run *>(arg);
	if (run->run_id == 0)
	{
		run->run_id = NextRunId();
		run->started_at = GetCurrentTimestamp();
	}
	MarkRunning(run);
	run->cutoff = run->own_cutoff;
	run->record_cutoff = 0;
	WriteUnit(run, GetCurrentTimestamp(), 0, 0, "failed", run->first_error);
	FinishRun(run);
}

/*
 * The run's error boundary, called in RunOne's PG_CATCH: rolls the failed segment back,
 * re-throws a cancellation or shutdown (after letting go of the run lock; the run then shows
 * as interrupted), and otherwise records the run as failed in a clean transaction, committed
 * at once when the run commits batch by batch. Only trivially destructible locals: the
 * recording itself may fail, and then the caller is told in a WARNING and goes on.
 */
void
EndFailedRun(Run *run, int64 id)
{
	MemoryContextSwitchTo(run->run_context);
	ErrorData *error = CopyErrorData();
	FlushErrorState();
	if (GetCurrentTransactionNestLevel() > run->base_level)
	{
		/* the open segment, and any subtransaction the error escaped from inside it */
		while (GetCurrentTransactionNestLevel() > run->base_level)
		{
			RollbackAndReleaseCurrentSubTransaction();
		}
		MemoryContextSwitchTo(run->run_context);
		CurrentResourceOwner = run->segment_owner;
	}
	if (pg::IsInterrupt(error))
	{
		UnlockRun(run);
		ReThrowError(error);
	}
	if (!run->locked)
	{
		/* the policy could not even be loaded: there is no run to record */
		ereport(WARNING,
		        (errmsg("policy " INT64_FORMAT " could not be run: %s", id, error->message)));
		FreeErrorData(error);
		return;
	}
	if (run->nonatomic)
	{
		/* a fresh transaction for the record (the segment's work is already undone) */
		SPI_rollback();
#if PG_VERSION_NUM < 150000
		SPI_start_transaction();
#endif
	}
	run->aborted = true;
	run->first_error = error->message; /* the error that ended the run */
	ErrorData *record_error = pg::InSubtransaction(RecordFailureStep, run);
	if (record_error != nullptr)
	{
		ereport(WARNING, (errmsg("policy \"%s\" on %s: run failed and could not be recorded",
		                         run->target.name, run->target.relation_name),
		                  errdetail("The run failed with: %s Recording it failed with: %s",
		                            error->message, record_error->message)));
		FreeErrorData(record_error);
	}
	CommitRunTransaction(run);
}

/*
 * EndFailedRun, and if that itself is ended by an error (an interrupt while the failure is
 * recorded, a commit of the record that fails), the run lock let go of before the error goes
 * on: a session lock outlives the transaction, and the session may live on for days (a pooled
 * connection), its policy skipped as already running by every other run meanwhile.
 */
void
EndFailedRunOrUnlock(Run *run, int64 id)
{
	PG_TRY();
	{
		EndFailedRun(run, id);
	}
	PG_CATCH();
	{
		UnlockRun(run);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Runs policy `id` unless another session is running it. An error anywhere in the run ends it
 * as failed (EndFailedRun) and returns normally: the caller goes on with the next policy.
 * Only trivially destructible locals: this frame holds the boundary's PG_TRY.
 */
void
RunOne(int64 id, bool nonatomic, const char *invoked_by, MemoryContext parent)
{
	MemoryContext run_context =
	    AllocSetContextCreate(parent, "retention run", ALLOCSET_DEFAULT_SIZES);
	MemoryContext previous = MemoryContextSwitchTo(run_context);
	Run *run = static_cast<Run *>(palloc0(sizeof(Run)));
	run->run_context = run_context;
	run->batch_context =
	    AllocSetContextCreate(run_context, "retention batch", ALLOCSET_DEFAULT_SIZES);
	run->nonatomic = nonatomic;
	run->invoked_by = invoked_by;
	run->base_level = GetCurrentTransactionNestLevel();
	PG_TRY();
	{
		BeginSegment(run);
		/* false: dropped meanwhile, or already running elsewhere */
		if (LoadTarget(id, &run->target) && LockRun(run))
		{
			RunLocked(run);
		}
		EndSegment(run);
	}
	PG_CATCH();
	{
		EndFailedRunOrUnlock(run, id);
	}
	PG_END_TRY();
	UnlockRun(run);
	/* the anchor line: now if the run committed batch by batch, else at the caller's commit */
	catalog::LogAuditHead(nonatomic);
	MemoryContextSwitchTo(previous);
	MemoryContextDelete(run_context);
}

} // namespace

void
RunPolicies(const char *policy_name, bool nonatomic, const char *invoked_by)
{
	List *ids = NIL;
	if (policy_name != nullptr)
	{
		Oid relid;
		int64 *id = static_cast<int64 *>(palloc(sizeof(int64)));
		*id = catalog::FindPolicyForOwner(policy_name, &relid);
		ids = list_make1(id);
	}
	SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0);
	MemoryContext context = CurrentMemoryContext;
	if (policy_name == nullptr)
	{
		ids = ListPolicyIds(true, !superuser());
	}
	ListCell *cell;
	foreach (cell, ids)
	{
		RunOne(*static_cast<int64 *>(lfirst(cell)), nonatomic, invoked_by, context);
		MemoryContextSwitchTo(context);
	}
	SPI_finish();
}

void
RunDuePolicies(const char *invoked_by)
{
	SPI_connect_ext(SPI_OPT_NONATOMIC);
	MemoryContext context = CurrentMemoryContext;
	List *ids = ListDuePolicyIds();
	ListCell *cell;
	foreach (cell, ids)
	{
		CHECK_FOR_INTERRUPTS();
		RunOne(*static_cast<int64 *>(lfirst(cell)), true, invoked_by, context);
		MemoryContextSwitchTo(context);
	}
	SPI_finish();
}

} // namespace retention::purge

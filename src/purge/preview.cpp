/*
 * preview.cpp: retention.preview() (see preview.hpp).
 *
 * Each policy is counted in a subtransaction as its relation's owner, in a security-restricted
 * operation. A broken policy (relation or column gone, a cutoff out of the timestamp range)
 * yields a row with NULL counts (and a NULL cutoff when that is what failed) and a WARNING
 * when all policies are previewed, and raises its error when it was named. A row whose
 * trigger, keep_when or anonymize expression raises is counted neither as expired nor as held
 * (a run leaves it in place and reports it as failed): such rows are counted row by row and
 * reported in a WARNING, instead of making the preview fail.
 */
#include "purge/preview.hpp"

#include "catalog/policy_store.hpp"
#include "pg/scope.hpp"
#include "pg/sql_text.hpp"
#include "pg/subtransaction.hpp"
#include "purge/partitions.hpp"
#include "purge/policy_target.hpp"

namespace retention::purge
{

namespace
{

enum PreviewColumn
{
	COL_POLICY,
	COL_RELATION,
	COL_CUTOFF,
	COL_ROWS_EXPIRED,
	COL_PARTITIONS,
	COL_ROWS_HELD,
	PREVIEW_COLUMNS
};

/* The partitions a run at the cutoff would drop whole (see DropExpiredPartitions in run.cpp). */
Datum
PartitionsToDrop(const PolicyTarget *target, TimestampTz cutoff)
{
	List *names = NIL;
	if (target->partitioned_by_policy && strcmp(target->action, "delete") == 0)
	{
		const PartitionSet set = ListPartitions(target->relid);
		for (int i = 0; i < set.count; i++)
		{
			const Partition *partition = &set.items[i];
			if (partition->plain && ExpiredByBounds(partition, cutoff) &&
			    !AnyRowKept(target, partition))
			{
				names = lappend(names, partition->name);
			}
		}
	}
	Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * (list_length(names) + 1)));
	int count = 0;
	ListCell *cell;
	foreach (cell, names)
	{
		elements[count++] = CStringGetTextDatum(static_cast<const char *>(lfirst(cell)));
	}
	return PointerGetDatum(construct_array(elements, count, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Expired rows, held ones apart, and rows whose expressions raise. */
struct Counts
{
	int64 expired;
	int64 held;
	int64 failed;
	char *first_error;
};
static_assert(std::is_trivially_destructible_v<Counts>,
              "Counts lives in frames that call the backend");

/* Rows of a stretch read at a time by CountRowByRow. */
constexpr int COUNT_STRETCH = 10000;

/* RowCheck::found of CountRowByRow: SPI_tuptable holds (held) for each expired row. */
void
FoundExpired(void *context)
{
	Counts *counts = static_cast<Counts *>(context);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool isnull;
		const bool held =
		    DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		if (held)
		{
			counts->held++;
		}
		else
		{
			counts->expired++;
		}
	}
}

/*
 * What CountExpired's statement counts for one pass, leaf by leaf in stretches of rows, for
 * when that statement raised: rows whose expressions raise are isolated (RowCheck) and
 * counted in counts->failed only.
 */
void
CountRowByRow(const PolicyTarget *target, const char *held_sql, TimestampTz cutoff, Counts *counts)
{
	const char *safe =
	    target->trigger_column > 0 ? psprintf("(%s)" SQL_LT "$1", target->trigger_sql) : "true";
	if (target->trigger_column > 0 && target->tenant_filter != nullptr)
	{
		safe = psprintf("%s AND %s", safe, target->tenant_filter);
	}
	ItemPointerData *stretch =
	    static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * COUNT_STRETCH));
	List *all = find_all_inheritors(target->relid, AccessShareLock, nullptr);
	ListCell *cell;
	foreach (cell, all)
	{
		const Oid leaf_id = lfirst_oid(cell);
		if (get_rel_relkind(leaf_id) != RELKIND_RELATION)
		{
			continue;
		}
		const char *name = quote_qualified_identifier(
		    get_namespace_name(get_rel_namespace(leaf_id)), get_rel_name(leaf_id));
		const char *from_clause = psprintf("ONLY %s AS %s", name, quote_identifier(target->alias));
		RowCheck check = {target,
		                  name,
		                  from_clause,
		                  psprintf("SELECT (%s) IS TRUE FROM %s WHERE ctid" SQL_EQ
		                           "ANY ($2) AND %s",
		                           held_sql != nullptr ? held_sql : "false", from_clause,
		                           ExpiredCondition(target, 1)),
		                  cutoff,
		                  FoundExpired,
		                  counts,
		                  CurrentMemoryContext,
		                  0,
		                  nullptr};
		const char *positions =
		    psprintf("SELECT ctid FROM %s WHERE ctid" SQL_GT "$2 AND %s LIMIT %d", from_clause,
		             safe, COUNT_STRETCH);
		ItemPointerData after;
		ItemPointerSet(&after, 0, 0); /* before every real tuple */
		int count = COUNT_STRETCH;
		while (count == COUNT_STRETCH)
		{
			CHECK_FOR_INTERRUPTS();
			Oid types[2] = {TIMESTAMPTZOID, TIDOID};
			Datum values[2] = {TimestampTzGetDatum(cutoff), PointerGetDatum(&after)};
			/* a TID range scan returns the rows in ctid order */
			int level = ScanSettings(true, true, false);
			const int rc = ExecuteForTarget(target, positions, 2, types, values, true);
			AtEOXact_GUC(true, level);
			if (rc != SPI_OK_SELECT)
			{
				elog(ERROR, "counting expired rows failed");
			}
			count = static_cast<int>(SPI_processed);
			for (int i = 0; i < count; i++)
			{
				bool isnull;
				stretch[i] = *reinterpret_cast<ItemPointer>(DatumGetPointer(
				    SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
				if (ItemPointerCompare(&stretch[i], &after) > 0)
				{
					after = stretch[i];
				}
			}
			SPI_freetuptable(SPI_tuptable);
			level = ScanSettings(true, false, false);
			CheckRows(&check, stretch, count);
			AtEOXact_GUC(true, level);
		}
		counts->failed += check.failed;
		if (counts->first_error == nullptr)
		{
			counts->first_error = check.first_error;
		}
	}
}

/* One pass's count in one statement, in a subtransaction. */
struct PassCount
{
	const PolicyTarget *target;
	const char *sql;
	TimestampTz cutoff;
	Counts *counts;
};
static_assert(std::is_trivially_destructible_v<PassCount>,
              "PassCount lives in frames that call the backend");

void
PassCountRun(void *arg)
{
	PassCount *step = static_cast<PassCount *>(arg);
	Oid types[1] = {TIMESTAMPTZOID};
	Datum values[1] = {TimestampTzGetDatum(step->cutoff)};
	if (ExecuteForTarget(step->target, step->sql, 1, types, values, true) != SPI_OK_SELECT)
	{
		elog(ERROR, "counting expired rows failed");
	}
	bool isnull;
	step->counts->expired +=
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	step->counts->held +=
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * Rows expired at as_of over every pass (each tenant at its own cutoff); held ones and rows
 * whose expressions raise apart. extra_context: see pg::Enter (compliance counts the rows
 * that row-level security hides).
 */
void
CountExpired(PolicyTarget *target, TimestampTz as_of, Datum *partitions, Counts *counts,
             int extra_context = 0)
{
	PrepareTarget(target);
	(void)RefreshHolds(target);
	List *passes = PlanPasses(target, as_of);
	TimestampTz earliest;
	TimestampTz latest;
	CutoffRange(passes, &earliest, &latest);
	const pg::Scope scope =
	    pg::AsRelationOwner(target->owner, target->search_path, target->timezone, extra_context);
	*partitions = PartitionsToDrop(target, earliest);
	/* expired but for the holds: counted apart, as rows_held */
	char *held_sql = target->held_sql;
	target->held_sql = nullptr;
	*counts = Counts{};
	ListCell *cell;
	foreach (cell, passes)
	{
		const Pass *pass = static_cast<const Pass *>(lfirst(cell));
		UsePass(target, pass);
		char *sql = psprintf("SELECT pg_catalog.count(*) FILTER (WHERE (%s) IS NOT TRUE), "
		                     "pg_catalog.count(*) FILTER (WHERE (%s) IS TRUE) FROM %s AS %s "
		                     "WHERE %s",
		                     held_sql ? held_sql : "false", held_sql ? held_sql : "false",
		                     target->relation_name, quote_identifier(target->alias),
		                     ExpiredCondition(target, 1));
		/* the pass in one statement; row by row only when that raises */
		Counts pass_counts = {};
		PassCount step = {target, sql, pass->cutoff, &pass_counts};
		ErrorData *error = pg::InSubtransaction(PassCountRun, &step);
		if (error != nullptr)
		{
			if (!RowError(error))
			{
				ReThrowError(error);
			}
			FreeErrorData(error);
			pass_counts = Counts{};
			CountRowByRow(target, held_sql, pass->cutoff, &pass_counts);
		}
		counts->expired += pass_counts.expired;
		counts->held += pass_counts.held;
		counts->failed += pass_counts.failed;
		if (counts->first_error == nullptr)
		{
			counts->first_error = pass_counts.first_error;
		}
	}
	target->held_sql = held_sql;
	UsePass(target, nullptr);
	pg::Leave(scope);
}

struct CountStep
{
	PolicyTarget *target;
	TimestampTz as_of;
	Counts counts;
	Datum partitions;
};
static_assert(std::is_trivially_destructible_v<CountStep>,
              "CountStep lives in frames that call the backend");

void
CountStepRun(void *arg)
{
	CountStep *step = static_cast<CountStep *>(arg);
	CountExpired(step->target, step->as_of, &step->partitions, &step->counts);
}

struct CutoffStep
{
	const PolicyTarget *target;
	TimestampTz as_of;
	TimestampTz cutoff;
};
static_assert(std::is_trivially_destructible_v<CutoffStep>,
              "CutoffStep lives in frames that call the backend");

void
CutoffStepRun(void *arg)
{
	CutoffStep *step = static_cast<CutoffStep *>(arg);
	step->cutoff = ComputeCutoff(step->target, step->as_of);
}

void
PreviewOne(int64 id, bool named, TimestampTz as_of, const pg::Materialized *result)
{
	PolicyTarget target;
	if (!LoadTarget(id, &target))
	{
		return;
	}
	Datum values[PREVIEW_COLUMNS] = {};
	bool nulls[PREVIEW_COLUMNS] = {};
	values[COL_POLICY] = CStringGetTextDatum(target.name);
	values[COL_RELATION] = ObjectIdGetDatum(target.relid);
	nulls[COL_RELATION] = target.relid == InvalidOid;
	values[COL_PARTITIONS] = PointerGetDatum(construct_empty_array(TEXTOID));
	values[COL_ROWS_HELD] = Int64GetDatum(0);
	nulls[COL_ROWS_EXPIRED] = true;

	/* a retain or grace that takes the cutoff out of the timestamp range raises (22008) */
	CutoffStep cutoff = {&target, as_of, 0};
	ErrorData *cutoff_error = pg::InSubtransaction(CutoffStepRun, &cutoff);
	if (cutoff_error != nullptr)
	{
		if (named)
		{
			ReThrowError(cutoff_error);
		}
		ereport(WARNING,
		        (errmsg("cannot preview policy \"%s\": %s", target.name, cutoff_error->message),
		         errhint("Alter the policy's retain or grace.")));
		nulls[COL_CUTOFF] = true;
		nulls[COL_ROWS_HELD] = true;
		nulls[COL_PARTITIONS] = true;
	}
	else
	{
		values[COL_CUTOFF] = TimestampTzGetDatum(cutoff.cutoff);
	}

	if (target.relid != InvalidOid && cutoff_error == nullptr)
	{
		CountStep step = {&target, as_of, {}, 0};
		ErrorData *error = pg::InSubtransaction(CountStepRun, &step);
		if (error != nullptr)
		{
			if (named)
			{
				ReThrowError(error);
			}
			ereport(WARNING,
			        (errmsg("cannot preview policy \"%s\": %s", target.name, error->message)));
		}
		else
		{
			values[COL_ROWS_EXPIRED] = Int64GetDatum(step.counts.expired);
			values[COL_PARTITIONS] = step.partitions;
			values[COL_ROWS_HELD] = Int64GetDatum(step.counts.held);
			nulls[COL_ROWS_EXPIRED] = false;
			if (step.counts.failed > 0)
			{
				ereport(WARNING,
				        (errmsg_plural("policy \"%s\": " INT64_FORMAT
				                       " row cannot be evaluated and is not counted",
				                       "policy \"%s\": " INT64_FORMAT
				                       " rows cannot be evaluated and are not counted",
				                       static_cast<unsigned long>(step.counts.failed), target.name,
				                       step.counts.failed),
				         errdetail("The first: %s.", step.counts.first_error),
				         errhint("A run leaves such rows in place and reports them as failed.")));
			}
		}
	}
	tuplestore_putvalues(result->store, result->desc, values, nulls);
}

} // namespace

void
Preview(const char *policy_name, TimestampTz as_of, const pg::Materialized *result)
{
	List *ids = NIL;
	if (policy_name != nullptr)
	{
		Oid relid;
		int64 *id = static_cast<int64 *>(palloc(sizeof(int64)));
		*id = catalog::FindPolicyForOwner(policy_name, &relid);
		ids = list_make1(id);
	}
	SPI_connect();
	if (policy_name == nullptr)
	{
		ids = ListPolicyIds(false, !superuser());
	}
	ListCell *cell;
	foreach (cell, ids)
	{
		PreviewOne(*static_cast<int64 *>(lfirst(cell)), policy_name != nullptr, as_of, result);
	}
	SPI_finish();
}

namespace
{

struct ComplianceStep
{
	PolicyTarget *target;
	TimestampTz now;
	bool has_oldest;
	TimestampTz oldest;
	int64 overdue;
};
static_assert(std::is_trivially_destructible_v<ComplianceStep>,
              "ComplianceStep lives in frames that call the backend");

void
ComplianceStepRun(void *arg)
{
	ComplianceStep *step = static_cast<ComplianceStep *>(arg);
	PolicyTarget *target = step->target;
	/* rows expired already one run_every ago: a run should have removed them by now */
	const pg::Scope zone = pg::Enter(GetUserId(), false, target->timezone);
	const TimestampTz before = DatumGetTimestampTz(
	    DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(step->now),
	                        IntervalPGetDatum(&target->run_every)));
	pg::Leave(zone);
	Datum partitions;
	Counts counts;
	/*
	 * Compliance is about every row of the relation, including rows that FORCE ROW LEVEL
	 * SECURITY hides from its owner (a run cannot remove them, so they must show as overdue):
	 * both counts run as the owner in a NoForceRLS operation, which PostgreSQL's own
	 * referential integrity checks use to see every row. No other role's rights are lent, and
	 * only reads run here.
	 */
	CountExpired(target, before, &partitions, &counts, SECURITY_NOFORCE_RLS);
	step->overdue = counts.expired;

	const pg::Scope scope = pg::AsRelationOwner(target->owner, target->search_path,
	                                            target->timezone, SECURITY_NOFORCE_RLS);
	char *condition = psprintf("(%s) IS NOT NULL", target->trigger_sql);
	if (target->keep_when_sql != nullptr)
	{
		condition = psprintf("%s AND (%s) IS NOT TRUE", condition, target->keep_when_sql);
	}
	if (target->differs_sql != nullptr)
	{
		condition = psprintf("%s AND %s", condition, target->differs_sql);
	}
	if (target->held_sql != nullptr)
	{
		condition = psprintf("%s AND (%s) IS NOT TRUE", condition, target->held_sql);
	}
	char *sql = psprintf(
	    "SELECT pg_catalog.min((%s)::pg_catalog.timestamptz) FROM %s AS %s WHERE %s",
	    target->trigger_sql, target->relation_name, quote_identifier(target->alias), condition);
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
	{
		elog(ERROR, "finding the oldest row failed");
	}
	bool isnull;
	const Datum oldest = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	step->has_oldest = !isnull;
	step->oldest = isnull ? 0 : DatumGetTimestampTz(oldest);
	pg::Leave(scope);
}

} // namespace

void
ComplianceRows(const pg::Materialized *result)
{
	const Oid view = get_relname_relid("compliance", get_namespace_oid("retention", false));
	if (!superuser() && pg_class_aclcheck(view, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied for view retention.compliance")));
	}
	SPI_connect();
	List *ids = ListPolicyIds(false, false);
	const TimestampTz now = GetCurrentTransactionStartTimestamp();
	ListCell *cell;
	foreach (cell, ids)
	{
		PolicyTarget target;
		const int64 id = *static_cast<int64 *>(lfirst(cell));
		if (!LoadTarget(id, &target))
		{
			continue;
		}
		Datum values[3] = {Int64GetDatum(id), 0, 0};
		bool nulls[3] = {false, true, true};
		if (target.relid != InvalidOid)
		{
			ComplianceStep step = {&target, now, false, 0, 0};
			ErrorData *error = pg::InSubtransaction(ComplianceStepRun, &step);
			if (error == nullptr)
			{
				values[1] = TimestampTzGetDatum(step.oldest);
				nulls[1] = !step.has_oldest;
				values[2] = Int64GetDatum(step.overdue);
				nulls[2] = false;
			}
			else
			{
				FreeErrorData(error);
			}
		}
		tuplestore_putvalues(result->store, result->desc, values, nulls);
	}
	SPI_finish();
}

} // namespace retention::purge

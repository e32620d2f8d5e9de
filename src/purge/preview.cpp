/*
 * preview.cpp: retention.preview() (see preview.hpp).
 *
 * Each policy is counted in a subtransaction as its relation's owner, in a security-restricted
 * operation. A broken policy (relation or column gone, a cutoff out of the timestamp range)
 * yields a row with NULL counts (and a NULL cutoff when that is what failed) and a WARNING
 * when all policies are previewed, and raises its error when it was named.
 */
#include "purge/preview.hpp"

#include "catalog/policy_store.hpp"
#include "pg/scope.hpp"
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

/* Rows expired at as_of over every pass (each tenant at its own cutoff); held ones apart. */
int64
CountExpired(PolicyTarget *target, TimestampTz as_of, Datum *partitions, int64 *held)
{
	PrepareTarget(target);
	(void)RefreshHolds(target);
	List *passes = PlanPasses(target, as_of);
	TimestampTz earliest;
	TimestampTz latest;
	CutoffRange(passes, &earliest, &latest);
	const pg::Scope scope = pg::Enter(target->owner, true, target->timezone);
	*partitions = PartitionsToDrop(target, earliest);
	/* expired but for the holds: counted apart, as rows_held */
	char *held_sql = target->held_sql;
	target->held_sql = nullptr;
	int64 count = 0;
	*held = 0;
	ListCell *cell;
	foreach (cell, passes)
	{
		const Pass *pass = static_cast<const Pass *>(lfirst(cell));
		UsePass(target, pass);
		char *sql = psprintf("SELECT count(*) FILTER (WHERE (%s) IS NOT TRUE), "
		                     "count(*) FILTER (WHERE (%s) IS TRUE) FROM %s AS %s WHERE %s",
		                     held_sql ? held_sql : "false", held_sql ? held_sql : "false",
		                     target->relation_name, quote_identifier(target->alias),
		                     ExpiredCondition(target, 1));
		Oid types[1] = {TIMESTAMPTZOID};
		Datum values[1] = {TimestampTzGetDatum(pass->cutoff)};
		if (ExecuteForTarget(target, sql, 1, types, values, true) != SPI_OK_SELECT)
		{
			elog(ERROR, "counting expired rows failed");
		}
		bool isnull;
		count +=
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*held +=
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	target->held_sql = held_sql;
	UsePass(target, nullptr);
	pg::Leave(scope);
	return count;
}

struct CountStep
{
	PolicyTarget *target;
	TimestampTz as_of;
	int64 count;
	Datum partitions;
	int64 held;
};

void
CountStepRun(void *arg)
{
	CountStep *step = static_cast<CountStep *>(arg);
	step->count = CountExpired(step->target, step->as_of, &step->partitions, &step->held);
}

struct CutoffStep
{
	const PolicyTarget *target;
	TimestampTz as_of;
	TimestampTz cutoff;
};

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
		CountStep step = {&target, as_of, 0, 0, 0};
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
			values[COL_ROWS_EXPIRED] = Int64GetDatum(step.count);
			values[COL_PARTITIONS] = step.partitions;
			values[COL_ROWS_HELD] = Int64GetDatum(step.held);
			nulls[COL_ROWS_EXPIRED] = false;
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
	int64 held;
	step->overdue = CountExpired(target, before, &partitions, &held);

	const pg::Scope scope = pg::Enter(target->owner, true, target->timezone);
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
	char *sql =
	    psprintf("SELECT min((%s)::timestamptz) FROM %s AS %s WHERE %s", target->trigger_sql,
	             target->relation_name, quote_identifier(target->alias), condition);
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

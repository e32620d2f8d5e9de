/*
 * partitions.cpp: creating, filling and dropping a policy's partitions (see partitions.hpp).
 */
#include "purge/partitions.hpp"

#include "guc.hpp"
#include "pg/sql_text.hpp"
#include "pg/subtransaction.hpp"

extern "C"
{
#include "access/visibilitymap.h"
#include "mb/pg_wchar.h"
#include "storage/bufmgr.h"
#if PG_VERSION_NUM >= 140000 /* in pgstat.h before */
#include "utils/wait_event.h"
#endif
}

namespace retention::purge
{

namespace
{

/* A bound value of the partition key as timestamptz (date and timestamp in the pinned zone). */
TimestampTz
ToTimestampTz(Datum value, Oid type)
{
	switch (type)
	{
		case DATEOID:
			return DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz, value));
		case TIMESTAMPOID:
			return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, value));
		case TIMESTAMPTZOID:
			return DatumGetTimestampTz(value);
		default:
			elog(ERROR, "partition key of type %s is not a date or timestamp",
			     format_type_be(type));
	}
	return 0;
}

void
ReadBound(Node *node, bool *has_value, TimestampTz *value, TimestampTz unbounded)
{
	PartitionRangeDatum *datum = castNode(PartitionRangeDatum, node);
	*has_value = datum->kind == PARTITION_RANGE_DATUM_VALUE;
	if (!*has_value)
	{
		*value = unbounded;
		return;
	}
	Const *constant = castNode(Const, datum->value);
	*value = ToTimestampTz(constant->constvalue, constant->consttype);
}

int
ComparePartitions(const void *a, const void *b)
{
	const Partition *left = static_cast<const Partition *>(a);
	const Partition *right = static_cast<const Partition *>(b);
	if (left->is_default != right->is_default)
	{
		return left->is_default ? 1 : -1;
	}
	if (left->lower != right->lower)
	{
		return left->lower < right->lower ? -1 : 1;
	}
	return 0;
}

/*
 * SQL that aligns the timestamptz expression `x` to the start of its slot, in the session's
 * (pinned) timezone: the 1st of a month (slots of N months start at months divisible by N
 * since year 0), midnight (slots of N days count from Monday 2000-01-03, so 7 days start on
 * Mondays), or a multiple of the time since midnight.
 */
char *
AlignSql(const Interval *width, const char *x)
{
	if (width->month != 0)
	{
		const int months = width->month;
		return psprintf(
		    "(pg_catalog.date_trunc('month', %s)" SQL_MINUS
		    "pg_catalog.make_interval(months => pg_catalog.mod(pg_catalog.mod(((extract("
		    "year from %s)::int" SQL_TIMES "12)" SQL_PLUS "extract(month from %s)::int)" SQL_MINUS
		    "1, %d)" SQL_PLUS "%d, %d)))",
		    x, x, x, months, months, months);
	}
	if (width->day != 0)
	{
		const int days = width->day;
		return psprintf("(('2000-01-03'::pg_catalog.date" SQL_PLUS
		                "(pg_catalog.floor(((%s)::pg_catalog.date" SQL_MINUS
		                "'2000-01-03'::pg_catalog.date)" SQL_DIVIDE "%d::numeric)" SQL_TIMES
		                "%d)::int)::pg_catalog.timestamptz)",
		                x, days, days);
	}
	return psprintf("(pg_catalog.date_trunc('day', %s)" SQL_PLUS
	                "((pg_catalog.floor((extract(epoch from (%s)" SQL_MINUS
	                "pg_catalog.date_trunc('day', %s))" SQL_TIMES "1000000)" SQL_DIVIDE INT64_FORMAT
	                ")::pg_catalog.float8" SQL_TIMES INT64_FORMAT ")" SQL_TIMES
	                "interval '1 microsecond'))",
	                x, x, x, width->time, width->time);
}

/* The slot containing `at`: [align(at), align(align(at) + width)). */
Slot
SlotAt(const Interval *width, TimestampTz at)
{
	char *sql = psprintf("SELECT a, %s FROM (SELECT %s AS a) AS s",
	                     AlignSql(width, "(a" SQL_PLUS "$2)"), AlignSql(width, "$1"));
	Oid types[2] = {TIMESTAMPTZOID, INTERVALOID};
	Datum values[2] = {TimestampTzGetDatum(at), IntervalPGetDatum(width)};
	if (SPI_execute_with_args(sql, 2, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
	    SPI_processed != 1)
	{
		elog(ERROR, "computing a partition slot failed");
	}
	bool isnull;
	Slot slot;
	slot.lower = DatumGetTimestampTz(
	    SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	slot.upper = DatumGetTimestampTz(
	    SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (slot.upper <= slot.lower)
	{
		elog(ERROR, "partition slot at %s is empty", timestamptz_to_str(at));
	}
	return slot;
}

void
AddSlot(List **slots, TimestampTz lower, TimestampTz upper)
{
	ListCell *cell;
	foreach (cell, *slots)
	{
		const Slot *known = static_cast<const Slot *>(lfirst(cell));
		if (known->lower == lower && known->upper == upper)
		{
			return;
		}
	}
	Slot *slot = static_cast<Slot *>(palloc(sizeof(Slot)));
	slot->lower = lower;
	slot->upper = upper;
	*slots = lappend(*slots, slot);
}

/* Adds the parts of `slot` that no existing partition covers (never an overlapping range). */
void
AddGaps(List **slots, const PartitionSet *set, const Slot &slot)
{
	TimestampTz from = slot.lower;
	for (int i = 0; i < set->count && from < slot.upper; i++)
	{
		const Partition *partition = &set->items[i];
		if (partition->is_default || partition->upper <= from || partition->lower >= slot.upper)
		{
			continue;
		}
		if (partition->lower > from)
		{
			AddSlot(slots, from, partition->lower);
		}
		from = Max(from, partition->upper);
	}
	if (from < slot.upper)
	{
		AddSlot(slots, from, slot.upper);
	}
}

char *
KeyColumn(const PolicyTarget *target)
{
	return pstrdup(quote_identifier(get_attname(target->relid, target->trigger_column, false)));
}

/* A bound as an SQL literal of the key's type ('2026-01-01' for a date key). */
char *
BoundLiteral(TimestampTz value, Oid key_type)
{
	char *sql = psprintf("SELECT pg_catalog.format('%%L', $1::%s)",
	                     format_type_extended(key_type, -1, FORMAT_TYPE_FORCE_QUALIFY));
	Oid types[1] = {TIMESTAMPTZOID};
	Datum values[1] = {TimestampTzGetDatum(value)};
	if (SPI_execute_with_args(sql, 1, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
	    SPI_processed != 1)
	{
		elog(ERROR, "formatting a partition bound failed");
	}
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * parent_pYYYYMMDD (parent_pYYYYMMDD_HHMI for slots not starting at midnight): sortable, and
 * within NAMEDATALEN however long the parent's name; a suffix _2, _3 ... when taken.
 */
char *
NewPartitionName(Oid parent, TimestampTz lower)
{
	Oid types[1] = {TIMESTAMPTZOID};
	Datum values[1] = {TimestampTzGetDatum(lower)};
	if (SPI_execute_with_args("SELECT pg_catalog.to_char($1, CASE WHEN $1" SQL_EQ
	                          "pg_catalog.date_trunc('day', $1) THEN 'YYYYMMDD' "
	                          "ELSE 'YYYYMMDD_HH24MI' END)",
	                          1, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
	    SPI_processed != 1)
	{
		elog(ERROR, "naming a partition failed");
	}
	const char *stamp = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	const char *base = get_rel_name(parent);
	const Oid namespace_id = get_rel_namespace(parent);
	for (int attempt = 1;; attempt++)
	{
		char *suffix = attempt == 1 ? psprintf("_p%s", stamp) : psprintf("_p%s_%d", stamp, attempt);
		const int room = NAMEDATALEN - 1 - static_cast<int>(strlen(suffix));
		const int keep = pg_mbcliplen(base, static_cast<int>(strlen(base)), room);
		char *name = psprintf("%.*s%s", keep, base, suffix);
		if (!OidIsValid(get_relname_relid(name, namespace_id)))
		{
			return name;
		}
	}
}

/* Milliseconds of conditional requests only, then of each queued request. */
constexpr long CONDITIONAL_PHASE_MS = 100;
constexpr int QUEUED_SLICE_MS = 20;

struct QueuedLockStep
{
	Oid relid;
	LOCKMODE mode;
	int timeout_ms;
};
static_assert(std::is_trivially_destructible_v<QueuedLockStep>,
              "QueuedLockStep lives in frames that call the backend");

void
QueuedLockStepRun(void *arg)
{
	const QueuedLockStep *step = static_cast<const QueuedLockStep *>(arg);
	const int level = NewGUCNestLevel();
	(void)set_config_option("lock_timeout", psprintf("%dms", step->timeout_ms), PGC_USERSET,
	                        PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	LockRelationOid(step->relid, step->mode);
	AtEOXact_GUC(true, level);
}

/* Waits in the lock queue for at most timeout_ms; false when not granted by then. */
bool
QueuedLock(Oid relid, LOCKMODE mode, int timeout_ms)
{
	QueuedLockStep step = {relid, mode, timeout_ms};
	ErrorData *error = pg::InSubtransaction(QueuedLockStepRun, &step);
	if (error == nullptr)
	{
		return true;
	}
	FreeErrorData(error);
	return false;
}

/* Takes relids[from..count) conditionally; on failure releases what it took (and relids[0..from)).
 */
bool
TakeRest(int from, int count, const Oid *relids, const LOCKMODE *modes)
{
	int held = from;
	while (held < count && ConditionalLockRelationOid(relids[held], modes[held]))
	{
		held++;
	}
	if (held == count)
	{
		return true;
	}
	for (int i = 0; i < held; i++)
	{
		UnlockRelationOid(relids[i], modes[i]);
	}
	return false;
}

/*
 * Takes the locks, or raises lock_not_available at `deadline`. First only with conditional
 * requests, retried with short sleeps: a request that cannot be granted at once is withdrawn,
 * so queries arriving meanwhile never wait behind it. Under a steady stream of statements
 * there may be no moment when the first lock is free, so after CONDITIONAL_PHASE_MS the first
 * lock is also requested in the queue, for at most QUEUED_SLICE_MS at a time: queries
 * arriving then wait at most that long (plus the DDL itself), and since the wait is far
 * shorter than deadlock_timeout, a deadlock with an application transaction resolves by this
 * request giving up, never by cancelling the application. The other locks are always taken
 * conditionally; a partial set is released before sleeping.
 */
void
LockOrGiveUp(int count, const Oid *relids, const LOCKMODE *modes, TimestampTz deadline,
             const char *what)
{
	const TimestampTz started = GetCurrentTimestamp();
	long pause_ms = 1;
	for (;;)
	{
		if (TakeRest(0, count, relids, modes))
		{
			return;
		}
		const TimestampTz now = GetCurrentTimestamp();
		if (now >= deadline)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			         errmsg("could not lock %s within retention.lock_timeout (%d ms)", what,
			                guc::lock_timeout_ms),
			         errdetail("Other transactions held conflicting locks on %s all along; the "
			                   "work is left for the next run.",
			                   get_rel_name(relids[0]))));
		}
		if (now - started >= CONDITIONAL_PHASE_MS * 1000)
		{
			const int remaining_ms = static_cast<int>((deadline - now + 999) / 1000);
			if (QueuedLock(relids[0], modes[0], Min(QUEUED_SLICE_MS, Max(remaining_ms, 1))) &&
			    TakeRest(1, count, relids, modes))
			{
				return;
			}
		}
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, pause_ms,
		                PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		pause_ms = Min(pause_ms * 2, 10);
	}
}

Oid
PartitionParent(Oid relid)
{
#if PG_VERSION_NUM >= 140000
	return get_partition_parent(relid, true);
#else
	return get_partition_parent(relid);
#endif
}

/*
 * The exact number of live rows of a table whose every page is all-visible, read from the line
 * pointers (on such a page every normal item is a live row, visible to everyone; writers are
 * locked out by the caller, and any change would clear the page's bit). Far cheaper than
 * count(*), which visits every tuple. Returns false, counting nothing, if some page is not
 * all-visible.
 */
bool
CountAllVisible(Oid relid, int64 *rows)
{
	Relation rel = relation_open(relid, AccessShareLock);
	const BlockNumber blocks = RelationGetNumberOfBlocks(rel);
	Buffer vm_buffer = InvalidBuffer;
	int64 count = 0;
	bool all_visible = true;
	for (BlockNumber block = 0; block < blocks && all_visible; block++)
	{
		if (!VM_ALL_VISIBLE(rel, block, &vm_buffer))
		{
			all_visible = false;
			break;
		}
		Buffer buffer = ReadBuffer(rel, block);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buffer);
		const OffsetNumber last = PageGetMaxOffsetNumber(page);
		all_visible = PageIsAllVisible(page);
		for (OffsetNumber offset = FirstOffsetNumber; offset <= last; offset++)
		{
			count += ItemIdIsNormal(PageGetItemId(page, offset)) ? 1 : 0;
		}
		UnlockReleaseBuffer(buffer);
	}
	if (BufferIsValid(vm_buffer))
	{
		ReleaseBuffer(vm_buffer);
	}
	relation_close(rel, AccessShareLock);
	*rows = count;
	return all_visible;
}

void
Execute(const char *sql, int expected)
{
	const int rc = SPI_execute(sql, false, 0);
	if (rc != expected)
	{
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
	}
}

} // namespace

/* Reads one partition's name, kind and bounds; false when it is no partition (any more). */
bool
ReadPartition(Oid relid, Partition *partition)
{
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
	{
		return false;
	}
	bool isnull;
	const Datum bound = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &isnull);
	if (isnull)
	{
		ReleaseSysCache(tuple);
		return false;
	}
	Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
	*partition = Partition{};
	partition->relid = relid;
	partition->name = quote_qualified_identifier(get_namespace_name(form->relnamespace),
	                                             pstrdup(NameStr(form->relname)));
	partition->plain = form->relkind == RELKIND_RELATION;
	PartitionBoundSpec *spec =
	    castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(bound)));
	ReleaseSysCache(tuple);
	partition->is_default = spec->is_default;
	if (spec->is_default)
	{
		partition->lower = DT_NOBEGIN;
		partition->upper = DT_NOEND;
		return true;
	}
	ReadBound(static_cast<Node *>(linitial(spec->lowerdatums)), &partition->has_lower,
	          &partition->lower, DT_NOBEGIN);
	ReadBound(static_cast<Node *>(linitial(spec->upperdatums)), &partition->has_upper,
	          &partition->upper, DT_NOEND);
	return true;
}

PartitionSet
ListPartitions(Oid parent)
{
	List *children = find_inheritance_children(parent, NoLock);
	PartitionSet set = {};
	set.items = static_cast<Partition *>(palloc0(sizeof(Partition) * (list_length(children) + 1)));
	set.default_id = InvalidOid;
	ListCell *cell;
	foreach (cell, children)
	{
		Partition *partition = &set.items[set.count];
		if (ReadPartition(lfirst_oid(cell), partition))
		{
			set.count++;
			if (partition->is_default)
			{
				set.default_id = partition->relid;
			}
		}
	}
	qsort(set.items, set.count, sizeof(Partition), ComparePartitions);
	return set;
}

bool
ExpiredByBounds(const Partition *partition, TimestampTz cutoff)
{
	return !partition->is_default && partition->has_upper && partition->upper <= cutoff;
}

bool
FreshByBounds(const Partition *partition, TimestampTz cutoff)
{
	return !partition->is_default && partition->has_lower && partition->lower >= cutoff;
}

List *
MissingSlots(const PolicyTarget *target, const PartitionSet *set, TimestampTz now)
{
	const Interval *width = &target->partition_interval;
	List *slots = NIL;
	TimestampTz at = now;
	for (int i = 0; i <= target->premake; i++)
	{
		const Slot slot = SlotAt(width, at);
		AddGaps(&slots, set, slot);
		at = slot.upper;
	}
	if (!OidIsValid(set->default_id))
	{
		return slots;
	}
	/* rows that landed in the default partition: the slots they belong to */
	char *key = KeyColumn(target);
	char *cast = psprintf("(%s)::pg_catalog.timestamptz", key);
	char *sql =
	    psprintf("SELECT DISTINCT %s FROM ONLY %s WHERE %s IS NOT NULL", AlignSql(width, cast),
	             quote_qualified_identifier(get_namespace_name(get_rel_namespace(set->default_id)),
	                                        get_rel_name(set->default_id)),
	             key);
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
	{
		elog(ERROR, "reading the default partition failed");
	}
	const uint64 found = SPI_processed;
	TimestampTz *starts = static_cast<TimestampTz *>(palloc(sizeof(TimestampTz) * (found + 1)));
	for (uint64 i = 0; i < found; i++)
	{
		bool isnull;
		starts[i] = DatumGetTimestampTz(
		    SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	for (uint64 i = 0; i < found; i++)
	{
		AddGaps(&slots, set, SlotAt(width, starts[i]));
	}
	return slots;
}

bool
CreatePartition(const PolicyTarget *target, const Slot *slot, TimestampTz deadline,
                char **created_name)
{
	const Oid parent = target->relid;
	const Oid key_type = get_atttype(parent, target->trigger_column);
	const char *lower = BoundLiteral(slot->lower, key_type);
	const char *upper = BoundLiteral(slot->upper, key_type);
	const char *name = NewPartitionName(parent, slot->lower);
	const char *qualified =
	    quote_qualified_identifier(get_namespace_name(get_rel_namespace(parent)), name);
	const Oid default_id = get_default_partition_oid(parent);

	/*
	 * ATTACH needs SHARE UPDATE EXCLUSIVE on the parent, which inserts and selects do not
	 * conflict with, and ACCESS EXCLUSIVE on the default partition, whose rows of the new
	 * range move in the same transaction.
	 */
	Oid relids[2] = {parent, default_id};
	LOCKMODE modes[2] = {ShareUpdateExclusiveLock, AccessExclusiveLock};
	LockOrGiveUp(OidIsValid(default_id) ? 2 : 1, relids, modes, deadline, target->relation_name);

	Execute(psprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
	                 "INCLUDING GENERATED INCLUDING STORAGE)",
	                 qualified, target->relation_name),
	        SPI_OK_UTILITY);
	if (OidIsValid(default_id))
	{
		const char *key = KeyColumn(target);
		const char *columns = InsertableColumns(parent);
		Execute(
		    psprintf("WITH moved AS (DELETE FROM ONLY %s WHERE %s" SQL_GE "%s AND %s" SQL_LT "%s "
		             "RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved",
		             quote_qualified_identifier(get_namespace_name(get_rel_namespace(default_id)),
		                                        get_rel_name(default_id)),
		             key, lower, key, upper, columns, qualified, columns, columns),
		    SPI_OK_INSERT);
	}
	Execute(psprintf("ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)",
	                 target->relation_name, qualified, lower, upper),
	        SPI_OK_UTILITY);
	*created_name = pstrdup(qualified);
	return true;
}

namespace
{

struct KeptStep
{
	const char *sql;
	bool kept;
};
static_assert(std::is_trivially_destructible_v<KeptStep>,
              "KeptStep lives in frames that call the backend");

void
KeptStepRun(void *arg)
{
	KeptStep *step = static_cast<KeptStep *>(arg);
	if (SPI_execute(step->sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
	{
		elog(ERROR, "checking keep_when and legal holds failed");
	}
	bool isnull;
	step->kept =
	    DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

} // namespace

/*
 * A keep_when that raises for some row of the partition may keep that row: the partition is
 * then treated as kept, and purged row by row, where the failing row is isolated like any
 * failing row (SPEC "Failures") instead of failing the drop.
 */
bool
AnyRowKept(const PolicyTarget *target, const Partition *partition)
{
	const char *kept = target->keep_when_sql;
	if (target->held_sql != nullptr)
	{
		kept = kept == nullptr ? target->held_sql
		                       : psprintf("(%s) OR (%s)", target->keep_when_sql, target->held_sql);
	}
	if (kept == nullptr)
	{
		return false;
	}
	KeptStep step = {psprintf("SELECT EXISTS (SELECT FROM ONLY %s AS %s WHERE (%s) IS TRUE)",
	                          partition->name, quote_identifier(target->alias), kept),
	                 false};
	ErrorData *error = pg::InSubtransaction(KeptStepRun, &step);
	if (error == nullptr)
	{
		return step.kept;
	}
	if (!RowError(error))
	{
		ReThrowError(error);
	}
	FreeErrorData(error);
	return true;
}

DropOutcome
DropPartition(const PolicyTarget *target, const Partition *partition, TimestampTz deadline,
              int64 *rows)
{
	*rows = 0;
	/* first the partition against writers (readers go on), so that what is archived, counted
	 * and checked against keep_when is what gets dropped */
	const Oid relids[1] = {partition->relid};
	const LOCKMODE modes[1] = {ExclusiveLock};
	LockOrGiveUp(1, relids, modes, deadline, partition->name);

	/* still a partition of the relation, with the same bounds? */
	Partition current;
	if (!ReadPartition(partition->relid, &current) || current.is_default ||
	    current.has_upper != partition->has_upper || current.upper != partition->upper ||
	    PartitionParent(partition->relid) != target->relid)
	{
		return DropOutcome::GONE;
	}
	if (AnyRowKept(target, partition))
	{
		return DropOutcome::KEPT_BY_ROWS;
	}
	const char *sql;
	if (OidIsValid(target->archive_to))
	{
		const char *columns = InsertableColumns(target->relid);
		sql = psprintf("INSERT INTO %s (%s) SELECT %s FROM ONLY %s", ArchiveName(target), columns,
		               columns, partition->name);
		Execute(sql, SPI_OK_INSERT);
		*rows = static_cast<int64>(SPI_processed);
	}
	else
	{
		if (!CountAllVisible(partition->relid, rows))
		{
			sql = psprintf("SELECT pg_catalog.count(*) FROM ONLY %s", partition->name);
			Execute(sql, SPI_OK_SELECT);
			bool isnull;
			*rows = DatumGetInt64(
			    SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
	}

	/* DROP of a partition takes ACCESS EXCLUSIVE on the parent, the default partition and
	 * the partition itself (readers of the partition hold it until they end) */
	const Oid default_id = get_default_partition_oid(target->relid);
	Oid drop_relids[3] = {target->relid, partition->relid, default_id};
	LOCKMODE drop_modes[3] = {AccessExclusiveLock, AccessExclusiveLock, AccessExclusiveLock};
	LockOrGiveUp(OidIsValid(default_id) ? 3 : 2, drop_relids, drop_modes, deadline,
	             partition->name);
	Execute(psprintf("DROP TABLE %s", partition->name), SPI_OK_UTILITY);
	return DropOutcome::DROPPED;
}

char *
InsertableColumns(Oid relid)
{
	Relation rel = relation_open(relid, AccessShareLock);
	const TupleDesc desc = RelationGetDescr(rel);
	StringInfoData columns;
	initStringInfo(&columns);
	for (int i = 0; i < desc->natts; i++)
	{
		const Form_pg_attribute column = TupleDescAttr(desc, i);
		if (column->attisdropped || column->attgenerated != '\0')
		{
			continue;
		}
		appendStringInfo(&columns, "%s%s", columns.len > 0 ? ", " : "",
		                 quote_identifier(NameStr(column->attname)));
	}
	relation_close(rel, AccessShareLock);
	return columns.data;
}

char *
ArchiveName(const PolicyTarget *target)
{
	const char *name = get_rel_name(target->archive_to);
	if (name == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("archive table of policy \"%s\" no longer exists", target->name),
		                errhint("Alter the policy's archive_to, or restore the table.")));
	}
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(target->archive_to)),
	                                  name);
}

} // namespace retention::purge

/*
 * policy_target.cpp: loading and preparing a policy for a run or a preview.
 */
#include "purge/policy_target.hpp"

#include "catalog/binding.hpp"
#include "catalog/expression.hpp"
#include "catalog/holds.hpp"
#include "catalog/relation_rules.hpp"
#include "guc.hpp"
#include "pg/scope.hpp"
#include "pg/sql_text.hpp"
#include "pg/subtransaction.hpp"

extern "C"
{
#include "rewrite/rewriteManip.h"
#include "utils/jsonb.h"
}

namespace retention::purge
{

namespace
{

char *
CopyText(HeapTuple row, TupleDesc desc, int column)
{
	bool isnull;
	const Datum value = SPI_getbinval(row, desc, column, &isnull);
	return isnull ? nullptr : TextDatumGetCString(value);
}

} // namespace

/*
 * anonymize_bin maps column numbers to stored expressions. Builds the SET list and the
 * condition that some column still differs from its replacement (IS DISTINCT FROM), which
 * makes a second run over the same rows touch none.
 */
static void
DeparseAnonymize(PolicyTarget *target)
{
	Jsonb *jsonb =
	    DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(target->anonymize_bin)));
	StringInfoData set;
	StringInfoData differs;
	initStringInfo(&set);
	initStringInfo(&differs);
	JsonbIterator *it = JsonbIteratorInit(&jsonb->root);
	JsonbValue key;
	JsonbValue value;
	JsonbIteratorToken token;
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (token != WJB_KEY)
		{
			continue;
		}
		(void)JsonbIteratorNext(&it, &value, true);
		const AttrNumber number = static_cast<AttrNumber>(
		    pg_strtoint32(pnstrdup(key.val.string.val, key.val.string.len)));
		char *stored = pnstrdup(value.val.string.val, value.val.string.len);
		const char *column = get_attname(target->relid, number, true);
		if (column == nullptr)
		{
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
			                errmsg("a column anonymized by policy \"%s\" no longer exists",
			                       target->name)));
		}
		char *what = psprintf("anonymize expression of policy \"%s\" for column \"%s\"",
		                      target->name, column);
		char *expression = catalog::DeparseExpression(stored, target->relid, target->alias, what);
		appendStringInfo(&set, "%s%s = (%s)", set.len > 0 ? ", " : "", quote_identifier(column),
		                 expression);
		appendStringInfo(&differs, "%s%s", differs.len > 0 ? " OR " : "",
		                 pg::DistinctFrom(psprintf("%s.%s", quote_identifier(target->alias),
		                                           quote_identifier(column)),
		                                  expression, get_atttype(target->relid, number)));
	}
	target->set_sql = set.data;
	target->differs_sql = psprintf("(%s)", differs.data);
}

bool
LoadTarget(int64 id, PolicyTarget *target)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	SPI_execute_with_args(
	    "SELECT p.name, p.relid::oid, p.relation_name, p.trigger_bin, p.keep_when_bin, p.retain, "
	    "p.grace, p.run_every, p.batch_size, p.version, p.timezone, p.action, p.enabled, "
	    "coalesce(s.consecutive_failures, 0), p.partition_interval, p.premake, "
	    "p.archive_to::oid, p.tenant_column::text, p.anonymize_bin::text "
	    "FROM _retention.policy AS p "
	    "LEFT JOIN _retention.policy_state AS s ON s.policy_id = p.id WHERE p.id = $1",
	    1, types, values, nullptr, true, 1);
	pg::Leave(scope);
	if (SPI_processed != 1)
	{
		return false;
	}
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	*target = PolicyTarget{};
	target->id = id;
	target->name = CopyText(row, desc, 1);
	target->relid = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
	target->relation_name = CopyText(row, desc, 3);
	target->trigger_bin = CopyText(row, desc, 4);
	target->keep_when_bin = CopyText(row, desc, 5);
	target->retain = *DatumGetIntervalP(SPI_getbinval(row, desc, 6, &isnull));
	target->grace = *DatumGetIntervalP(SPI_getbinval(row, desc, 7, &isnull));
	target->run_every = *DatumGetIntervalP(SPI_getbinval(row, desc, 8, &isnull));
	target->batch_size = DatumGetInt32(SPI_getbinval(row, desc, 9, &isnull));
	target->version = DatumGetInt32(SPI_getbinval(row, desc, 10, &isnull));
	target->timezone = CopyText(row, desc, 11);
	target->action = CopyText(row, desc, 12);
	target->enabled = DatumGetBool(SPI_getbinval(row, desc, 13, &isnull));
	target->consecutive_failures = DatumGetInt32(SPI_getbinval(row, desc, 14, &isnull));
	const Datum width = SPI_getbinval(row, desc, 15, &isnull);
	target->partitioned_by_policy = !isnull;
	if (!isnull)
	{
		target->partition_interval = *DatumGetIntervalP(width);
	}
	target->premake = DatumGetInt32(SPI_getbinval(row, desc, 16, &isnull));
	const Datum archive = SPI_getbinval(row, desc, 17, &isnull);
	target->archive_to = isnull ? InvalidOid : DatumGetObjectId(archive);
	target->tenant_column = CopyText(row, desc, 18);
	target->anonymize_bin = CopyText(row, desc, 19);
	target->anonymizes = strcmp(target->action, "anonymize") == 0;
	target->tenant_periods = NIL;
	if (target->tenant_column != nullptr)
	{
		const pg::Scope periods_scope = pg::AsExtensionOwner();
		SPI_execute_with_args("SELECT tenant, retain FROM _retention.tenant_retain "
		                      "WHERE policy_id = $1 ORDER BY retain, tenant",
		                      1, types, values, nullptr, true, 0);
		pg::Leave(periods_scope);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			TenantPeriod *period = static_cast<TenantPeriod *>(palloc(sizeof(TenantPeriod)));
			period->tenant = CopyText(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			period->retain = *DatumGetIntervalP(
			    SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			target->tenant_periods = lappend(target->tenant_periods, period);
		}
	}

	HeapTuple class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(target->relid));
	if (!HeapTupleIsValid(class_tuple))
	{
		target->relid = InvalidOid;
		return true;
	}
	Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(class_tuple));
	target->owner = form->relowner;
	target->alias = pstrdup(NameStr(form->relname));
	target->relation_name =
	    quote_qualified_identifier(get_namespace_name(form->relnamespace), target->alias);
	ReleaseSysCache(class_tuple);
	target->search_path = pg::OwnerSearchPath(target->owner);
	return true;
}

void
PrepareTarget(PolicyTarget *target)
{
	/*
	 * The relations no policy may touch are refused when a policy is declared; a policy left
	 * over from an earlier version or made by editing the catalog is refused here as well.
	 */
	catalog::CheckPolicyRelation(target->relid, catalog::RelationUse::RUN, target->name);
	if (OidIsValid(target->archive_to) &&
	    SearchSysCacheExists1(RELOID, ObjectIdGetDatum(target->archive_to)))
	{
		catalog::CheckPolicyRelation(target->archive_to, catalog::RelationUse::RUN_ARCHIVE,
		                             target->name);
	}
	/* after a restore the trees are bound again by name; elsewhere their names are kept */
	catalog::StoredTrees trees = {target->trigger_bin, target->keep_when_bin,
	                              target->anonymize_bin};
	catalog::BindPolicy(target->id, target->name, target->relid, target->owner, &trees);
	target->trigger_bin = trees.trigger_bin;
	target->keep_when_bin = trees.keep_when_bin;
	target->anonymize_bin = trees.anonymize_bin;
	char *what = psprintf("trigger of policy \"%s\"", target->name);
	const pg::Scope scope = pg::Enter(GetUserId(), false, nullptr);
	target->trigger_sql =
	    catalog::DeparseExpression(target->trigger_bin, target->relid, target->alias, what);
	target->trigger_column = catalog::StoredBareColumn(target->trigger_bin);
	target->keep_when_sql = nullptr;
	if (target->keep_when_bin != nullptr)
	{
		what = psprintf("keep_when of policy \"%s\"", target->name);
		target->keep_when_sql =
		    catalog::DeparseExpression(target->keep_when_bin, target->relid, target->alias, what);
		target->keep_when_has_sublink =
		    checkExprHasSubLink(static_cast<Node *>(stringToNode(target->keep_when_bin)));
	}
	target->set_sql = nullptr;
	target->differs_sql = nullptr;
	if (target->anonymizes && target->anonymize_bin != nullptr)
	{
		DeparseAnonymize(target);
	}
	pg::Leave(scope);
}

namespace
{

TimestampTz
CutoffFor(const PolicyTarget *target, const Interval *retain, TimestampTz as_of)
{
	const pg::Scope scope = pg::Enter(GetUserId(), false, target->timezone);
	Datum cutoff = DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(as_of),
	                                   IntervalPGetDatum(&target->grace));
	cutoff = DirectFunctionCall2(timestamptz_mi_interval, cutoff, IntervalPGetDatum(retain));
	pg::Leave(scope);
	return DatumGetTimestampTz(cutoff);
}

/*
 * The tenant column's type (a domain's own, not its base type).
 */
Oid
TenantType(const PolicyTarget *target)
{
	const AttrNumber number = get_attnum(target->relid, target->tenant_column);
	if (number == InvalidAttrNumber)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("tenant column \"%s\" of policy \"%s\" no longer exists",
		                       target->tenant_column, target->name)));
	}
	return get_atttype(target->relid, number);
}

Datum
TenantArray(const PolicyTarget *target, List *tenants, Oid *array_type)
{
	const Oid type = getBaseType(TenantType(target));
	*array_type = get_array_type(type);
	if (!OidIsValid(*array_type))
	{
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
		                errmsg("tenant column \"%s\" of policy \"%s\" has a type without arrays",
		                       target->tenant_column, target->name)));
	}
	int16 length;
	bool by_value;
	char align;
	get_typlenbyvalalign(type, &length, &by_value, &align);
	const int count = list_length(tenants);
	Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * (count + 1)));
	/* as the owner: a domain's CHECK on the tenant column is the owner's code */
	pg::InputAsOwner(tenants, type, target->owner, target->search_path, values);
	return PointerGetDatum(construct_array(values, count, type, length, by_value, align));
}

} // namespace

TimestampTz
ComputeCutoff(const PolicyTarget *target, TimestampTz as_of)
{
	return CutoffFor(target, &target->retain, as_of);
}

/* A timestamptz as an exact SQL literal ('2026-01-02 03:04:05.678901+00'). */
static char *
TimestampLiteral(TimestampTz value)
{
	struct pg_tm tm;
	fsec_t fsec;
	if (timestamp2tm(value, nullptr, &tm, &fsec, nullptr, nullptr) != 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("cutoff out of range")));
	}
	return psprintf("'%04d-%02d-%02d %02d:%02d:%02d.%06d+00'::pg_catalog.timestamptz", tm.tm_year,
	                tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                static_cast<int>(fsec));
}

List *
PlanPasses(const PolicyTarget *target, TimestampTz as_of)
{
	Pass *pass = static_cast<Pass *>(palloc0(sizeof(Pass)));
	pass->cutoff = ComputeCutoff(target, as_of);
	pass->record_cutoff = pass->cutoff;
	pass->earliest = pass->cutoff;
	pass->latest = pass->cutoff;
	if (target->tenant_periods == NIL)
	{
		return list_make1(pass);
	}
	/*
	 * One pass: each row is compared with its tenant's cutoff, looked up by one hash probe
	 * (retention.tenant_cutoff); the latest cutoff bounds the walk, unless the tenants with
	 * shorter periods are walked apart (see ShortTenant).
	 */
	pass->own_cutoff = pass->cutoff;
	const char *tenant_column =
	    psprintf("%s.%s", quote_identifier(target->alias), quote_identifier(target->tenant_column));
	const char *tenant_type =
	    format_type_extended(TenantType(target), -1, FORMAT_TYPE_FORCE_QUALIFY);
	List *tenants = NIL;
	const int count = list_length(target->tenant_periods);
	Datum *cutoffs = static_cast<Datum *>(palloc(sizeof(Datum) * (count + 1)));
	int i = 0;
	ListCell *cell;
	foreach (cell, target->tenant_periods)
	{
		const TenantPeriod *period = static_cast<const TenantPeriod *>(lfirst(cell));
		const TimestampTz cutoff = CutoffFor(target, &period->retain, as_of);
		tenants = lappend(tenants, period->tenant);
		cutoffs[i++] = TimestampTzGetDatum(cutoff);
		pass->earliest = Min(pass->earliest, cutoff);
		pass->latest = Max(pass->latest, cutoff);
		if (cutoff > pass->own_cutoff)
		{
			ShortTenant *tenant = static_cast<ShortTenant *>(palloc(sizeof(ShortTenant)));
			/*
			 * Only the tenant's rows from the policy's own cutoff on: the main walk has
			 * already been over the older ones, and a row that failed there must not be
			 * tried, and counted, a second time in the same run.
			 */
			tenant->filter = psprintf("%s%s%s::%s AND (%s)" SQL_GE "%s", tenant_column,
			                          pg::EqualityOperator(TenantType(target)),
			                          quote_literal_cstr(period->tenant), tenant_type,
			                          target->trigger_sql, TimestampLiteral(pass->own_cutoff));
			tenant->cutoff = cutoff;
			pass->short_tenants = lappend(pass->short_tenants, tenant);
		}
	}
	pass->tenant_cutoffs = static_cast<TenantCutoffs *>(palloc(sizeof(TenantCutoffs)));
	pass->tenant_cutoffs->tenants = TenantArray(target, tenants, &pass->tenant_cutoffs->array_type);
	pass->tenant_cutoffs->cutoffs = PointerGetDatum(construct_array(
	    cutoffs, count, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE));
	/*
	 * The column as its base type: a domain given to anyelement stays the domain, and would
	 * not match the base type's array of tenants.
	 */
	pass->tenant_filter = psprintf(
	    "(%s)" SQL_LT "retention.tenant_cutoff((%s)::%s, $%d, $%d, %s)", target->trigger_sql,
	    tenant_column,
	    format_type_extended(getBaseType(TenantType(target)), -1, FORMAT_TYPE_FORCE_QUALIFY),
	    TENANT_KEYS_PARAM, TENANT_CUTOFFS_PARAM, TimestampLiteral(pass->cutoff));
	pass->cutoff = pass->latest;
	return list_make1(pass);
}

void
UsePass(PolicyTarget *target, const Pass *pass)
{
	target->tenant_filter = pass != nullptr ? pass->tenant_filter : nullptr;
	target->tenant_cutoffs = pass != nullptr ? pass->tenant_cutoffs : nullptr;
}

int
ExecuteForTarget(const PolicyTarget *target, const char *sql, int nargs, const Oid *types,
                 const Datum *values, bool read_only)
{
	const TenantCutoffs *tenants = target->tenant_cutoffs;
	if (target->tenant_filter == nullptr || tenants == nullptr)
	{
		return SPI_execute_with_args(sql, nargs, const_cast<Oid *>(types),
		                             const_cast<Datum *>(values), nullptr, read_only, 0);
	}
	Assert(nargs < TENANT_KEYS_PARAM);
	Oid all_types[TENANT_CUTOFFS_PARAM];
	Datum all_values[TENANT_CUTOFFS_PARAM];
	char nulls[TENANT_CUTOFFS_PARAM + 1];
	for (int i = 0; i < TENANT_CUTOFFS_PARAM; i++)
	{
		/* parameters the statement does not use are typed and null */
		all_types[i] = i < nargs ? types[i] : INT4OID;
		all_values[i] = i < nargs ? values[i] : 0;
		nulls[i] = i < nargs ? ' ' : 'n';
	}
	nulls[TENANT_CUTOFFS_PARAM] = '\0';
	all_types[TENANT_KEYS_PARAM - 1] = tenants->array_type;
	all_values[TENANT_KEYS_PARAM - 1] = tenants->tenants;
	nulls[TENANT_KEYS_PARAM - 1] = ' ';
	all_types[TENANT_CUTOFFS_PARAM - 1] = TIMESTAMPTZARRAYOID;
	all_values[TENANT_CUTOFFS_PARAM - 1] = tenants->cutoffs;
	nulls[TENANT_CUTOFFS_PARAM - 1] = ' ';
	return SPI_execute_with_args(sql, TENANT_CUTOFFS_PARAM, all_types, all_values, nulls, read_only,
	                             0);
}

void
CutoffRange(List *passes, TimestampTz *earliest, TimestampTz *latest)
{
	*earliest = DT_NOEND;
	*latest = DT_NOBEGIN;
	ListCell *cell;
	foreach (cell, passes)
	{
		const Pass *pass = static_cast<const Pass *>(lfirst(cell));
		*earliest = Min(*earliest, pass->earliest);
		*latest = Max(*latest, pass->latest);
	}
}

bool
RefreshHolds(PolicyTarget *target)
{
	const catalog::HeldRows held = catalog::ReadHeldRows(target->relid, target->alias);
	const bool changed =
	    target->holds_signature == nullptr || strcmp(target->holds_signature, held.signature) != 0;
	target->held_sql = held.sql;
	target->holds_signature = held.signature;
	return changed;
}

char *
ExpiredCondition(const PolicyTarget *target, int cutoff_param)
{
	char *condition = psprintf("(%s)" SQL_LT "$%d", target->trigger_sql, cutoff_param);
	if (target->tenant_filter != nullptr)
	{
		condition = psprintf("%s AND %s", condition, target->tenant_filter);
	}
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
	return condition;
}

int
ScanSettings(bool tid_only, bool all_scans_but_tid, bool row_lock_wait)
{
	const int level = NewGUCNestLevel();
	auto set = [](const char *name, const char *value)
	{
		(void)set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
		                        false);
	};
	if (tid_only)
	{
		set("enable_seqscan", "off");
		set("enable_bitmapscan", "off");
		/* disabled paths cost 1e10, which would otherwise make every plan (foreign-key
		 * checks of each deleted row included) cross jit_above_cost and be compiled */
		set("jit", "off");
	}
	if (all_scans_but_tid)
	{
		set("enable_indexscan", "off");
		set("enable_indexonlyscan", "off");
	}
	if (row_lock_wait)
	{
		set("lock_timeout", psprintf("%dms", guc::lock_timeout_ms));
	}
	return level;
}

ArrayType *
TidArray(const ItemPointerData *tids, int count)
{
	Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * (count + 1)));
	for (int i = 0; i < count; i++)
	{
		elements[i] = PointerGetDatum(&tids[i]);
	}
	ArrayType *array =
	    construct_array(elements, count, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT);
	pfree(elements);
	return array;
}

bool
RowError(const ErrorData *error)
{
	switch (ERRCODE_TO_CATEGORY(error->sqlerrcode))
	{
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION: /* privileges, objects gone */
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE: /* lock timeouts */
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
		case ERRCODE_INTERNAL_ERROR:
			return false;
		default:
			return true;
	}
}

namespace
{

/* One set of rows of a RowCheck, evaluated in a subtransaction. */
struct CheckStep
{
	const RowCheck *check;
	const char *sql;
	const ItemPointerData *tids;
	int count;
	bool report; /* call check->found */
};
static_assert(std::is_trivially_destructible_v<CheckStep>,
              "CheckStep lives in frames that call the backend");

void
CheckStepRun(void *arg)
{
	const CheckStep *step = static_cast<const CheckStep *>(arg);
	const RowCheck *check = step->check;
	Oid types[2] = {TIMESTAMPTZOID, TIDARRAYOID};
	ArrayType *tids = TidArray(step->tids, step->count);
	Datum values[2] = {TimestampTzGetDatum(check->cutoff), PointerGetDatum(tids)};
	const int rc = ExecuteForTarget(check->target, step->sql, 2, types, values, true);
	pfree(tids);
	if (rc != SPI_OK_SELECT)
	{
		elog(ERROR, "evaluating rows failed: %s", SPI_result_code_string(rc));
	}
	if (step->report)
	{
		check->found(check->context);
	}
	SPI_freetuptable(SPI_tuptable);
}

} // namespace

char *
ExpressionErrorText(const RowCheck *check, const ItemPointerData *tid, const char *message,
                    bool always)
{
	const PolicyTarget *target = check->target;
	struct Probe
	{
		const char *what;
		const char *sql;
	};
	static_assert(std::is_trivially_destructible_v<Probe>,
	              "Probe lives in frames that call the backend");
	Probe probes[3] = {};
	int count = 0;
	probes[count++] = {"trigger",
	                   psprintf("SELECT (%s)" SQL_LT "$1 FROM %s WHERE ctid" SQL_EQ "ANY ($2)",
	                            target->trigger_sql, check->from_clause)};
	if (target->keep_when_sql != nullptr)
	{
		probes[count++] = {"keep_when",
		                   psprintf("SELECT (%s) IS TRUE FROM %s WHERE ctid" SQL_EQ "ANY ($2)",
		                            target->keep_when_sql, check->from_clause)};
	}
	if (target->differs_sql != nullptr)
	{
		probes[count++] = {"anonymize expression",
		                   psprintf("SELECT %s FROM %s WHERE ctid" SQL_EQ "ANY ($2)",
		                            target->differs_sql, check->from_clause)};
	}
	const char *what = always ? "expiry rule" : nullptr;
	for (int i = 0; i < count; i++)
	{
		CheckStep step = {check, probes[i].sql, tid, 1, false};
		ErrorData *error = pg::InSubtransaction(CheckStepRun, &step);
		if (error != nullptr)
		{
			FreeErrorData(error);
			what = probes[i].what;
			break;
		}
	}
	if (what == nullptr)
	{
		return nullptr;
	}
	return psprintf(
	    "the %s of policy \"%s\" raises an error for the row at ctid '(%u,%u)' of %s: %s; the "
	    "row is kept until it or the %s is corrected",
	    what, target->name, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
	    check->leaf_name, message, what);
}

void
CheckRows(RowCheck *check, const ItemPointerData *tids, int count)
{
	if (count <= 0)
	{
		return;
	}
	CheckStep step = {check, check->sql, tids, count, true};
	ErrorData *error = pg::InSubtransaction(CheckStepRun, &step);
	if (error == nullptr)
	{
		return;
	}
	if (!RowError(error))
	{
		ReThrowError(error);
	}
	if (count == 1)
	{
		check->failed++;
		if (check->first_error == nullptr)
		{
			char *text = ExpressionErrorText(check, tids, error->message, true);
			check->first_error = MemoryContextStrdup(check->error_context, text);
		}
		FreeErrorData(error);
		return;
	}
	FreeErrorData(error);
	const int half = count / 2;
	CheckRows(check, tids, half);
	CheckRows(check, tids + half, count - half);
}

List *
ListPolicyIds(bool enabled_only, bool owned_only)
{
	const Oid caller = GetUserId();
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute(enabled_only ? "SELECT id, relid::oid FROM _retention.policy WHERE enabled "
	                           "ORDER BY priority, name"
	                         : "SELECT id, relid::oid FROM _retention.policy "
	                           "ORDER BY priority, name",
	            true, 0);
	pg::Leave(scope);
	List *ids = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool isnull;
		const int64 id =
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		const Oid relid = DatumGetObjectId(
		    SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		if (owned_only)
		{
			/* a relation that no longer exists has no owner to match */
			HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
			if (!HeapTupleIsValid(tuple))
			{
				continue;
			}
			const bool mine = has_privs_of_role(
			    caller, reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner);
			ReleaseSysCache(tuple);
			if (!mine)
			{
				continue;
			}
		}
		int64 *item = static_cast<int64 *>(palloc(sizeof(int64)));
		*item = id;
		ids = lappend(ids, item);
	}
	return ids;
}

List *
ListDuePolicyIds()
{
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute("SELECT p.id FROM _retention.policy AS p "
	            "LEFT JOIN _retention.policy_state AS s ON s.policy_id = p.id "
	            "WHERE p.enabled AND (s.next_run_at IS NULL OR s.next_run_at <= now()) "
	            "ORDER BY p.priority, p.name",
	            true, 0);
	pg::Leave(scope);
	List *ids = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool isnull;
		int64 *item = static_cast<int64 *>(palloc(sizeof(int64)));
		*item =
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		ids = lappend(ids, item);
	}
	return ids;
}

void
MarkInterruptedRuns()
{
	/* a run is in progress exactly while its backend holds the policy's run lock */
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute("WITH runs AS (UPDATE _retention.run SET status = 'interrupted' "
	            "WHERE status = 'running' AND NOT _retention.run_is_live(policy_id, pid)) "
	            "UPDATE _retention.policy_state SET last_status = 'interrupted', "
	            "running_pid = NULL WHERE last_status = 'running' "
	            "AND NOT _retention.run_is_live(policy_id, running_pid)",
	            false, 0);
	pg::Leave(scope);
}

} // namespace retention::purge

/*
 * tenants.cpp: per-tenant retention periods (see tenants.hpp).
 */
#include "catalog/tenants.hpp"

#include "catalog/cutoff_range.hpp"
#include "pg/scope.hpp"
#include "policy/settings.hpp"

namespace retention::catalog
{

namespace
{

policy::IntervalValue
ToValue(const Interval *interval)
{
	return policy::IntervalValue{interval->time, interval->day, interval->month};
}

char *
IntervalText(const Interval *interval)
{
	return DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(interval)));
}

/* The policy row an override needs, locked against concurrent changes of the policy. */
struct PolicyRow
{
	int64 id;
	Oid relid;
	char *tenant_column;
	Interval retain;
	Interval grace;
	char *timezone;
	bool has_min;
	Interval min_retain;
	bool has_max;
	Interval max_retain;
	int version;
};
static_assert(std::is_trivially_destructible_v<PolicyRow>,
              "PolicyRow lives in frames that call the backend");

PolicyRow
LoadPolicy(const char *policy_name)
{
	Oid relid;
	PolicyRow row = {};
	row.id = FindPolicyForOwner(policy_name, &relid);
	if (relid == InvalidOid)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("the relation of policy \"%s\" no longer exists", policy_name)));
	}
	row.relid = relid;
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(row.id)};
	SPI_execute_with_args("SELECT tenant_column::text, retain, min_retain, max_retain, version, "
	                      "grace, timezone FROM _retention.policy WHERE id = $1 FOR UPDATE",
	                      1, types, values, nullptr, false, 1);
	pg::Leave(scope);
	if (SPI_processed != 1)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
		                errmsg("policy \"%s\" does not exist", policy_name)));
	}
	HeapTuple tuple = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	const Datum column = SPI_getbinval(tuple, desc, 1, &isnull);
	row.tenant_column = isnull ? nullptr : TextDatumGetCString(column);
	row.retain = *DatumGetIntervalP(SPI_getbinval(tuple, desc, 2, &isnull));
	const Datum min_retain = SPI_getbinval(tuple, desc, 3, &row.has_min);
	row.has_min = !row.has_min;
	if (row.has_min)
	{
		row.min_retain = *DatumGetIntervalP(min_retain);
	}
	const Datum max_retain = SPI_getbinval(tuple, desc, 4, &row.has_max);
	row.has_max = !row.has_max;
	if (row.has_max)
	{
		row.max_retain = *DatumGetIntervalP(max_retain);
	}
	row.version = DatumGetInt32(SPI_getbinval(tuple, desc, 5, &isnull));
	row.grace = *DatumGetIntervalP(SPI_getbinval(tuple, desc, 6, &isnull));
	row.timezone = TextDatumGetCString(SPI_getbinval(tuple, desc, 7, &isnull));
	if (row.tenant_column == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("policy \"%s\" has no tenant_column", policy_name),
		                errhint("Set tenant_column with retention.alter_policy() first.")));
	}
	return row;
}

/* The tenant as a value of the tenant column's type: raises the conversion's own error. */
void
CheckTenantValue(const PolicyRow &row, const char *tenant)
{
	const AttrNumber number = get_attnum(row.relid, row.tenant_column);
	if (number == InvalidAttrNumber)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("tenant column \"%s\" no longer exists", row.tenant_column)));
	}
	const Oid owner = pg::RelationOwner(row.relid);
	Datum value;
	pg::InputAsOwner(list_make1(const_cast<char *>(tenant)), get_atttype(row.relid, number), owner,
	                 pg::OwnerSearchPath(owner), &value);
}

/* Records the change with the new version and bumps the policy's version. */
void
RecordChange(const PolicyRow &row, const char *policy_name, const char *tenant,
             const char *old_value, const char *new_value, const char *direction)
{
	const char *changed_by = GetUserNameFromId(GetUserId(), false);
	const pg::Scope scope = pg::AsExtensionOwner();
	const int version = row.version + 1;
	Oid types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
	Datum values[8] = {
	    Int64GetDatum(row.id),          CStringGetTextDatum(policy_name),
	    CStringGetTextDatum(tenant),    CStringGetTextDatum(old_value),
	    CStringGetTextDatum(new_value), direction ? CStringGetTextDatum(direction) : 0,
	    Int32GetDatum(version),         CStringGetTextDatum(changed_by)};
	char nulls[8] = {' ', ' ', ' ', ' ', ' ', direction ? ' ' : 'n', ' ', ' '};
	SPI_execute_with_args("INSERT INTO _retention.policy_change (policy_id, policy_name, setting, "
	                      "tenant, old_value, new_value, direction, policy_version, changed_by) "
	                      "VALUES ($1, $2, 'retain', $3, $4, $5, $6, $7, $8)",
	                      8, types, values, nulls, false, 0);
	Oid version_types[2] = {INT8OID, INT4OID};
	Datum version_values[2] = {Int64GetDatum(row.id), Int32GetDatum(version)};
	SPI_execute_with_args("UPDATE _retention.policy SET version = $2 WHERE id = $1", 2,
	                      version_types, version_values, nullptr, false, 0);
	pg::Leave(scope);
}

/* The tenant's current override, or nullptr. */
Interval *
CurrentOverride(int64 policy_id, const char *tenant)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[2] = {INT8OID, TEXTOID};
	Datum values[2] = {Int64GetDatum(policy_id), CStringGetTextDatum(tenant)};
	SPI_execute_with_args("SELECT retain FROM _retention.tenant_retain "
	                      "WHERE policy_id = $1 AND tenant = $2",
	                      2, types, values, nullptr, false, 1);
	pg::Leave(scope);
	if (SPI_processed != 1)
	{
		return nullptr;
	}
	bool isnull;
	Interval *current = static_cast<Interval *>(palloc(sizeof(Interval)));
	*current =
	    *DatumGetIntervalP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return current;
}

} // namespace

void
SetTenantRetain(const char *policy_name, const char *tenant, const Interval *retain)
{
	if (policy_name == nullptr || tenant == nullptr || retain == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("set_tenant_retain needs a policy name, a tenant and a period")));
	}
	const char *caller = GetUserNameFromId(GetUserId(), false);
	SPI_connect();
	const PolicyRow row = LoadPolicy(policy_name);
	CheckTenantValue(row, tenant);

	/* plain data (see policy/settings.hpp): the ereports and SPI calls below may longjmp */
	policy::Settings bounds;
	bounds.name = policy_name;
	if (row.has_min)
	{
		bounds.min_retain = ToValue(&row.min_retain);
	}
	if (row.has_max)
	{
		bounds.max_retain = ToValue(&row.max_retain);
	}
	if (policy::IsNegative(ToValue(retain)))
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("policy \"%s\": the retain of tenant \"%s\" must not be negative",
		                       policy_name, tenant)));
	}
	policy::CheckWithinBounds(bounds, ToValue(retain), "the tenant's retain");
	if (FirstCutoffOutOfRange(&row.grace, &retain, 1, row.timezone) >= 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		         errmsg("retain %s of tenant \"%s\" puts the cutoff of policy \"%s\" out of range",
		                IntervalText(retain), tenant, policy_name),
		         errdetail("The tenant's rows expire before (now - grace) - retain, which must lie "
		                   "within the range of timestamp with time zone (4714 BC to 294276 AD)."),
		         errhint("Choose a shorter retain.")));
	}

	const Interval *current = CurrentOverride(row.id, tenant);
	const Interval *before = current != nullptr ? current : &row.retain;
	if (current != nullptr &&
	    DatumGetBool(DirectFunctionCall2(interval_eq, IntervalPGetDatum(current),
	                                     IntervalPGetDatum(retain))))
	{
		SPI_finish();
		return; /* unchanged: no new version */
	}
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[4] = {INT8OID, TEXTOID, INTERVALOID, TEXTOID};
	Datum values[4] = {Int64GetDatum(row.id), CStringGetTextDatum(tenant),
	                   IntervalPGetDatum(retain), CStringGetTextDatum(caller)};
	SPI_execute_with_args(
	    "INSERT INTO _retention.tenant_retain (policy_id, tenant, retain, set_by) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (policy_id, tenant) DO UPDATE "
	    "SET retain = excluded.retain, set_at = pg_catalog.now(), "
	    "set_by = excluded.set_by",
	    4, types, values, nullptr, false, 0);
	pg::Leave(scope);
	RecordChange(row, policy_name, tenant, IntervalText(before), IntervalText(retain),
	             policy::ChangeDirection(ToValue(before), ToValue(retain)));
	SPI_finish();
}

void
ResetTenantRetain(const char *policy_name, const char *tenant)
{
	if (policy_name == nullptr || tenant == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("reset_tenant_retain needs a policy name and a tenant")));
	}
	SPI_connect();
	const PolicyRow row = LoadPolicy(policy_name);
	CheckTenantValue(row, tenant);
	const Interval *current = CurrentOverride(row.id, tenant);
	if (current == nullptr)
	{
		ereport(NOTICE, (errmsg("tenant \"%s\" has no period of its own in policy \"%s\"", tenant,
		                        policy_name)));
		SPI_finish();
		return;
	}
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[2] = {INT8OID, TEXTOID};
	Datum values[2] = {Int64GetDatum(row.id), CStringGetTextDatum(tenant)};
	SPI_execute_with_args(
	    "DELETE FROM _retention.tenant_retain WHERE policy_id = $1 AND tenant = $2", 2, types,
	    values, nullptr, false, 0);
	pg::Leave(scope);
	RecordChange(row, policy_name, tenant, IntervalText(current), IntervalText(&row.retain),
	             policy::ChangeDirection(ToValue(current), ToValue(&row.retain)));
	SPI_finish();
}

void
CheckOverrideCutoffs(int64 policy_id, const char *policy_name, const PolicyInput *after)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(policy_id)};
	SPI_execute_with_args("SELECT tenant, retain FROM _retention.tenant_retain "
	                      "WHERE policy_id = $1 ORDER BY tenant",
	                      1, types, values, nullptr, true, 0);
	pg::Leave(scope);
	const int count = static_cast<int>(SPI_processed);
	if (count == 0)
	{
		return;
	}
	SPITupleTable *tuples = SPI_tuptable;
	const Interval **retains = static_cast<const Interval **>(palloc(sizeof(Interval *) * count));
	for (int i = 0; i < count; i++)
	{
		bool isnull;
		retains[i] = DatumGetIntervalP(SPI_getbinval(tuples->vals[i], tuples->tupdesc, 2, &isnull));
	}
	const int bad = FirstCutoffOutOfRange(DatumGetIntervalP(after->values[ARG_GRACE]), retains,
	                                      count, TextDatumGetCString(after->values[ARG_TIMEZONE]));
	if (bad < 0)
	{
		return;
	}
	ereport(ERROR,
	        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
	         errmsg("grace of policy \"%s\" puts the cutoff of tenant \"%s\" out of range",
	                policy_name, SPI_getvalue(tuples->vals[bad], tuples->tupdesc, 1)),
	         errdetail("The tenant's rows expire before (now - grace) - retain with its retain %s, "
	                   "which must lie within the range of timestamp with time zone.",
	                   SPI_getvalue(tuples->vals[bad], tuples->tupdesc, 2)),
	         errhint("Choose a shorter grace, or change or reset that tenant's period first.")));
}

void
CheckOverridesWithinBounds(int64 policy_id, const char *policy_name, const PolicyInput *after)
{
	Oid types[3] = {INT8OID, INTERVALOID, INTERVALOID};
	Datum values[3] = {Int64GetDatum(policy_id), after->values[ARG_MIN_RETAIN],
	                   after->values[ARG_MAX_RETAIN]};
	char nulls[3] = {' ', after->isnull[ARG_MIN_RETAIN] ? 'n' : ' ',
	                 after->isnull[ARG_MAX_RETAIN] ? 'n' : ' '};
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute_with_args("SELECT string_agg(pg_catalog.format('%s (%s)', tenant, retain), ', ' "
	                      "ORDER BY tenant) FROM _retention.tenant_retain WHERE policy_id = $1 "
	                      "AND (retain < $2 OR retain > $3)",
	                      3, types, values, nulls, true, 1);
	pg::Leave(scope);
	bool isnull;
	const Datum outside = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (after->isnull[ARG_TENANT_COLUMN])
	{
		const pg::Scope count_scope = pg::AsExtensionOwner();
		Oid id_type[1] = {INT8OID};
		Datum id_value[1] = {Int64GetDatum(policy_id)};
		SPI_execute_with_args("SELECT 1 FROM _retention.tenant_retain WHERE policy_id = $1", 1,
		                      id_type, id_value, nullptr, true, 1);
		pg::Leave(count_scope);
		if (SPI_processed > 0)
		{
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("policy \"%s\" has tenant periods and needs its tenant_column",
			                       policy_name),
			                errhint("Reset the tenants' periods first.")));
		}
	}
	if (!isnull)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		         errmsg("policy \"%s\": tenant periods would fall outside min_retain / max_retain",
		                policy_name),
		         errdetail("Tenants outside the new bounds: %s.", TextDatumGetCString(outside)),
		         errhint("Change or reset those tenants' periods first.")));
	}
}

} // namespace retention::catalog

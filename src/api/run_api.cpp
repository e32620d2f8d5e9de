/*
 * run_api.cpp: CALL retention.run() and retention.preview().
 */
#include "catalog/version.hpp"
#include "pg/sql_function.hpp"
#include "pg/srf.hpp"
#include "purge/preview.hpp"
#include "purge/run.hpp"

extern "C"
{
#include "nodes/execnodes.h"
}

extern "C"
{

	/*
	 * A procedure: called by CALL outside a transaction block it commits after every batch;
	 * inside one (or from a function) it does the same work in the caller's transaction.
	 */
	RETENTION_SQL_FUNCTION(retention_run)
	{
		const bool nonatomic = fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
		                       !castNode(CallContext, fcinfo->context)->atomic;
		const char *name = PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
		const char *invoked_by = GetUserNameFromId(GetUserId(), false);
		retention::catalog::RequireMatchingVersion();
		retention::purge::RunPolicies(name, nonatomic, invoked_by);
		PG_RETURN_VOID();
	}

	RETENTION_SQL_FUNCTION(retention_preview)
	{
		retention::catalog::RequireMatchingVersion();
		const retention::pg::Materialized result = retention::pg::BeginMaterialized(fcinfo);
		const char *name = PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
		const TimestampTz as_of =
		    PG_ARGISNULL(1) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(1);
		retention::purge::Preview(name, as_of, &result);
		return Datum(0);
	}

	RETENTION_SQL_FUNCTION(retention_compliance_rows)
	{
		const retention::pg::Materialized result = retention::pg::BeginMaterialized(fcinfo);
		retention::purge::ComplianceRows(&result);
		return Datum(0);
	}
}

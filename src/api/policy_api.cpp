/*
 * policy_api.cpp: retention.add_policy, alter_policy and drop_policy.
 */
#include "catalog/binding.hpp"
#include "catalog/policy_store.hpp"
#include "catalog/tenants.hpp"
#include "pg/sql_function.hpp"

using retention::catalog::PolicyInput;

extern "C"
{

	RETENTION_SQL_FUNCTION(retention_add_policy)
	{
		PolicyInput input;
		for (int i = 0; i < retention::catalog::POLICY_ARG_COUNT; i++)
		{
			input.isnull[i] = PG_ARGISNULL(i);
			input.values[i] = input.isnull[i] ? Datum(0) : PG_GETARG_DATUM(i);
		}
		PG_RETURN_INT64(retention::catalog::AddPolicy(&input));
	}

	/* alter_policy(name, <add_policy's parameters from trigger on>): argument i maps to i + 1. */
	RETENTION_SQL_FUNCTION(retention_alter_policy)
	{
		if (PG_ARGISNULL(0))
		{
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("policy name must not be NULL")));
		}
		PolicyInput changes;
		changes.isnull[retention::catalog::ARG_NAME] = true;
		changes.isnull[retention::catalog::ARG_RELATION] = true;
		for (int i = retention::catalog::ARG_TRIGGER; i < retention::catalog::POLICY_ARG_COUNT; i++)
		{
			changes.isnull[i] = PG_ARGISNULL(i - 1);
			changes.values[i] = changes.isnull[i] ? Datum(0) : PG_GETARG_DATUM(i - 1);
		}
		retention::catalog::AlterPolicy(text_to_cstring(PG_GETARG_TEXT_PP(0)), &changes);
		PG_RETURN_VOID();
	}

	RETENTION_SQL_FUNCTION(retention_drop_policy)
	{
		retention::catalog::DropPolicy(text_to_cstring(PG_GETARG_TEXT_PP(0)));
		PG_RETURN_VOID();
	}

	RETENTION_SQL_FUNCTION(retention_set_tenant_retain)
	{
		retention::catalog::SetTenantRetain(
		    PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0)),
		    PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1)),
		    PG_ARGISNULL(2) ? nullptr : PG_GETARG_INTERVAL_P(2));
		PG_RETURN_VOID();
	}

	RETENTION_SQL_FUNCTION(retention_reset_tenant_retain)
	{
		retention::catalog::ResetTenantRetain(
		    PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0)),
		    PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1)));
		PG_RETURN_VOID();
	}

	/* _retention.bind_policy(id): internal (the upgrade from 0.1.0 binds every policy by name). */
	RETENTION_SQL_FUNCTION(retention_bind_policy)
	{
		SPI_connect();
		retention::catalog::BindStoredPolicy(PG_GETARG_INT64(0));
		SPI_finish();
		PG_RETURN_VOID();
	}
}

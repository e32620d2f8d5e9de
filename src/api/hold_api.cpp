/*
 * hold_api.cpp: retention.place_hold, release_hold, subject_digest, and the key made at
 * CREATE EXTENSION.
 */
#include "catalog/holds.hpp"
#include "pg/sql_function.hpp"
#include "pg/srf.hpp"
#include "subjects/subjects.hpp"

namespace
{

const char *
TextArgument(FunctionCallInfo fcinfo, int number)
{
	return PG_ARGISNULL(number) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(number));
}

} // namespace

extern "C"
{

	RETENTION_SQL_FUNCTION(retention_place_hold)
	{
		PG_RETURN_INT64(
		    retention::catalog::PlaceHold(TextArgument(fcinfo, 0), TextArgument(fcinfo, 1),
		                                  TextArgument(fcinfo, 2), TextArgument(fcinfo, 3)));
	}

	RETENTION_SQL_FUNCTION(retention_release_hold)
	{
		retention::catalog::ReleaseHold(PG_GETARG_INT64(0));
		PG_RETURN_VOID();
	}

	RETENTION_SQL_FUNCTION(retention_subject_digest)
	{
		PG_RETURN_TEXT_P(cstring_to_text(
		    retention::catalog::SubjectDigest(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
	}

	RETENTION_SQL_FUNCTION(retention_random_key)
	{
		PG_RETURN_DATUM(retention::catalog::RandomKey());
	}

	RETENTION_SQL_FUNCTION(retention_erase_subject)
	{
		const retention::pg::Materialized result = retention::pg::BeginMaterialized(fcinfo);
		retention::subjects::EraseSubject(TextArgument(fcinfo, 0), TextArgument(fcinfo, 1),
		                                  &result);
		return Datum(0);
	}

	RETENTION_SQL_FUNCTION(retention_export_subject)
	{
		PG_RETURN_DATUM(retention::subjects::ExportSubject(TextArgument(fcinfo, 0)));
	}
}

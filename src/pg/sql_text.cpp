/*
 * sql_text.cpp: schema-qualified operators for generated SQL (see sql_text.hpp).
 */
#include "pg/sql_text.hpp"

extern "C"
{
#include "catalog/pg_operator.h"
}

namespace retention::pg
{

const char *
EqualityOperator(Oid type)
{
	const TypeCacheEntry *entry = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	if (entry == nullptr || !OidIsValid(entry->eq_opr))
	{
		return SQL_EQ;
	}
	HeapTuple tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(entry->eq_opr));
	if (!HeapTupleIsValid(tuple))
	{
		elog(ERROR, "cache lookup failed for operator %u", entry->eq_opr);
	}
	const Form_pg_operator form = reinterpret_cast<Form_pg_operator>(GETSTRUCT(tuple));
	char *text =
	    psprintf(" OPERATOR(%s.%s) ", quote_identifier(get_namespace_name(form->oprnamespace)),
	             NameStr(form->oprname));
	ReleaseSysCache(tuple);
	return text;
}

char *
DistinctFrom(const char *left, const char *right, Oid type)
{
	const TypeCacheEntry *entry = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	if (entry == nullptr || !OidIsValid(entry->eq_opr))
	{
		/* no equality of its own: compare the text forms, as an explicit cast gives them */
		return psprintf("(CASE WHEN (%s) IS NULL THEN (%s) IS NOT NULL WHEN (%s) IS NULL THEN true "
		                "ELSE NOT ((%s)::pg_catalog.text" SQL_EQ "(%s)::pg_catalog.text) END)",
		                left, right, right, left, right);
	}
	return psprintf("(CASE WHEN (%s) IS NULL THEN (%s) IS NOT NULL WHEN (%s) IS NULL THEN true "
	                "ELSE NOT ((%s)%s(%s)) END)",
	                left, right, right, left, EqualityOperator(type), right);
}

} // namespace retention::pg

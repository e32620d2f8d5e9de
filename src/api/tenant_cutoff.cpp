/*
 * tenant_cutoff.cpp: retention.tenant_cutoff(tenant, tenants, cutoffs, fallback), the per-row
 * lookup that runs use to compare each row with its tenant's cutoff.
 *
 * Generated statements call it with constant arrays; the first call of a statement builds an
 * open-addressing hash table of tenant -> cutoff in the function's memory context, using the
 * tenant type's own hash and equality functions, so each row costs one hash probe (no
 * subquery, no text conversion). Integer and oid tenants, whose equality is equality of their
 * Datums, skip the function calls: an inline hash and a direct comparison. A tenant without a
 * period of its own (or NULL) gets the fallback, the policy's own cutoff.
 */
#include "pg/sql_function.hpp"

namespace
{

struct Entry
{
	bool used;
	uint32 hash;
	Datum key;
	TimestampTz cutoff;
};
static_assert(std::is_trivially_destructible_v<Entry>,
              "Entry lives in frames that call the backend");

struct Lookup
{
	bool plain_datums; /* equal values have equal Datums (integers, oid) */
	FmgrInfo hash_function;
	FmgrInfo equal_function;
	Oid collation;
	uint32 mask;
	Entry *entries;
};
static_assert(std::is_trivially_destructible_v<Lookup>,
              "Lookup lives in frames that call the backend");

uint32
HashOf(Lookup *lookup, Datum value)
{
	if (lookup->plain_datums)
	{
		/* the finaliser of splitmix64 */
		uint64 x = static_cast<uint64>(value);
		x = (x ^ (x >> 30)) * UINT64CONST(0xbf58476d1ce4e5b9);
		x = (x ^ (x >> 27)) * UINT64CONST(0x94d049bb133111eb);
		return static_cast<uint32>(x ^ (x >> 31));
	}
	return DatumGetUInt32(FunctionCall1Coll(&lookup->hash_function, lookup->collation, value));
}

bool
Equal(Lookup *lookup, Datum stored, Datum value)
{
	if (lookup->plain_datums)
	{
		return stored == value;
	}
	return DatumGetBool(
	    FunctionCall2Coll(&lookup->equal_function, lookup->collation, stored, value));
}

Lookup *
BuildLookup(FunctionCallInfo fcinfo)
{
	MemoryContext previous = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	Lookup *lookup = static_cast<Lookup *>(palloc0(sizeof(Lookup)));
	ArrayType *tenants = PG_GETARG_ARRAYTYPE_P_COPY(1);
	ArrayType *cutoffs = PG_GETARG_ARRAYTYPE_P_COPY(2);
	const Oid type = ARR_ELEMTYPE(tenants);
	TypeCacheEntry *cache =
	    lookup_type_cache(type, TYPECACHE_HASH_PROC_FINFO | TYPECACHE_EQ_OPR_FINFO);
	/* int8 is passed by reference on 32-bit builds: its Datum is then a pointer */
	lookup->plain_datums = cache->typbyval && (type == INT2OID || type == INT4OID ||
	                                           type == INT8OID || type == OIDOID);
	if (!OidIsValid(cache->hash_proc_finfo.fn_oid) || !OidIsValid(cache->eq_opr_finfo.fn_oid))
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
		                errmsg("tenant type %s has no hash function", format_type_be(type))));
	}
	fmgr_info_copy(&lookup->hash_function, &cache->hash_proc_finfo, fcinfo->flinfo->fn_mcxt);
	fmgr_info_copy(&lookup->equal_function, &cache->eq_opr_finfo, fcinfo->flinfo->fn_mcxt);
	lookup->collation = PG_GET_COLLATION();
	int16 length;
	bool by_value;
	char align;
	get_typlenbyvalalign(type, &length, &by_value, &align);
	Datum *keys;
	bool *key_nulls;
	int count;
	deconstruct_array(tenants, type, length, by_value, align, &keys, &key_nulls, &count);
	Datum *values;
	bool *value_nulls;
	int value_count;
	deconstruct_array(cutoffs, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE, &values,
	                  &value_nulls, &value_count);
	if (value_count != count)
	{
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		                errmsg("tenants and cutoffs differ in length")));
	}
	uint32 size = 16;
	while (size < static_cast<uint32>(count) * 2)
	{
		size *= 2;
	}
	lookup->mask = size - 1;
	lookup->entries = static_cast<Entry *>(palloc0(sizeof(Entry) * size));
	for (int i = 0; i < count; i++)
	{
		if (key_nulls[i] || value_nulls[i])
		{
			continue;
		}
		const uint32 hash = HashOf(lookup, keys[i]);
		uint32 slot = hash & lookup->mask;
		while (lookup->entries[slot].used)
		{
			slot = (slot + 1) & lookup->mask;
		}
		lookup->entries[slot] = Entry{true, hash, keys[i], DatumGetTimestampTz(values[i])};
	}
	MemoryContextSwitchTo(previous);
	return lookup;
}

} // namespace

extern "C"
{
	RETENTION_SQL_FUNCTION(retention_tenant_cutoff)
	{
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		{
			PG_RETURN_NULL();
		}
		const TimestampTz fallback = PG_GETARG_TIMESTAMPTZ(3);
		if (PG_ARGISNULL(0))
		{
			PG_RETURN_TIMESTAMPTZ(fallback);
		}
		Lookup *lookup = static_cast<Lookup *>(fcinfo->flinfo->fn_extra);
		if (lookup == nullptr)
		{
			lookup = BuildLookup(fcinfo);
			fcinfo->flinfo->fn_extra = lookup;
		}
		const Datum tenant = PG_GETARG_DATUM(0);
		const uint32 hash = HashOf(lookup, tenant);
		for (uint32 slot = hash & lookup->mask; lookup->entries[slot].used;
		     slot = (slot + 1) & lookup->mask)
		{
			const Entry &entry = lookup->entries[slot];
			if (entry.hash == hash && Equal(lookup, entry.key, tenant))
			{
				PG_RETURN_TIMESTAMPTZ(entry.cutoff);
			}
		}
		PG_RETURN_TIMESTAMPTZ(fallback);
	}
}

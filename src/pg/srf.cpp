/*
 * srf.cpp: materialize-mode set-returning functions (see srf.hpp).
 */
#include "pg/srf.hpp"

namespace retention::pg
{

Materialized
BeginMaterialized(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) ||
	    (rsinfo->allowedModes & SFRM_Materialize) == 0)
	{
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("set-valued function called in context that cannot accept a set")));
	}
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
	{
		elog(ERROR, "return type must be a row type");
	}
	MemoryContext previous = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	Materialized result;
	result.desc = CreateTupleDescCopy(desc);
	result.store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(previous);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = result.store;
	rsinfo->setDesc = result.desc;
	return result;
}

} // namespace retention::pg

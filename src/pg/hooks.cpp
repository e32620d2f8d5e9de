/*
 * hooks.cpp: calling on from a hook (see hooks.hpp).
 */
#include "pg/hooks.hpp"

namespace retention::pg
{

void
NextProcessUtility(ProcessUtility_hook_type previous, PlannedStmt *pstmt, const char *query_string,
                   bool read_only_tree, ProcessUtilityContext context, ParamListInfo params,
                   QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *completion)
{
#if PG_VERSION_NUM >= 140000
	if (previous != nullptr)
	{
		previous(pstmt, query_string, read_only_tree, context, params, query_env, dest, completion);
	}
	else
	{
		standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env,
		                        dest, completion);
	}
#else
	(void)read_only_tree;
	if (previous != nullptr)
	{
		previous(pstmt, query_string, context, params, query_env, dest, completion);
	}
	else
	{
		standard_ProcessUtility(pstmt, query_string, context, params, query_env, dest, completion);
	}
#endif
}

} // namespace retention::pg

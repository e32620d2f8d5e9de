/*
 * hooks.hpp: calling on from a hook to the next one, or to PostgreSQL's own function, where
 * the hook's signature differs between majors.
 */
#pragma once

#include "pg/postgres.hpp"

extern "C"
{
#include "tcop/utility.h"
}

namespace retention::pg
{

/*
 * `previous` (the ProcessUtility_hook a hook replaced) if set, else standard_ProcessUtility.
 * read_only_tree exists from PostgreSQL 14 on; before, it is ignored.
 */
void NextProcessUtility(ProcessUtility_hook_type previous, PlannedStmt *pstmt,
                        const char *query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params,
                        QueryEnvironment *query_env, DestReceiver *dest,
                        QueryCompletion *completion);

} // namespace retention::pg

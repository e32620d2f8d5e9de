/*
 * guc.hpp: every retention.* setting (SPEC "Settings"). Defined in _PG_init; read anywhere.
 */
#pragma once

namespace retention::guc
{

extern bool enabled;
extern int naptime_seconds;
extern int lock_timeout_ms;
extern int max_runtime_ms;
extern int max_rows_per_second;

/*
 * Internal, not a setting: the search_path the statements of a relation-owner scope execute
 * with (pg::AsRelationOwner). PGC_INTERNAL and hidden, so only this module sets it, always
 * with GUC_ACTION_SAVE inside a scope: errors and the scope's end unwind it like search_path.
 */
extern char *execution_search_path;
/* Internal too: the statement depth the scope's own statements run at (-1: no such scope). */
extern int execution_level;

void Define();

} // namespace retention::guc

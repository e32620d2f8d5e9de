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

void Define();

} // namespace retention::guc

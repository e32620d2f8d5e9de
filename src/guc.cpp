/*
 * guc.cpp: definitions of the retention.* settings, with units and bounds.
 *
 * enabled and naptime drive the background worker and change on reload; lock_timeout,
 * max_runtime and max_rows_per_second shape a run and may be set per session by a superuser
 * (so a DBA can throttle one manual run without touching the server's configuration).
 */
#include "guc.hpp"

#include "pg/postgres.hpp"

namespace retention::guc
{

bool enabled = true;
int naptime_seconds = 60;
int lock_timeout_ms = 1000;
int max_runtime_ms = 0;
int max_rows_per_second = 0;
char *execution_search_path = nullptr;
int execution_level = -1;

void
Define()
{
	DefineCustomBoolVariable("retention.enabled",
	                         "Whether the background worker enforces retention policies.",
	                         "Off leaves scheduling to CALL retention.run() (or pg_cron).",
	                         &enabled, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
	    "retention.naptime", "How often the background worker looks for due policies.", nullptr,
	    &naptime_seconds, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("retention.lock_timeout",
	                        "The longest wait for a lock before partition DDL gives up until the "
	                        "next run.",
	                        nullptr, &lock_timeout_ms, 1000, 1, 3600 * 1000, PGC_SUSET, GUC_UNIT_MS,
	                        nullptr, nullptr, nullptr);
	DefineCustomIntVariable("retention.max_runtime",
	                        "A run stops cleanly between batches after this long (0: no limit).",
	                        nullptr, &max_runtime_ms, 0, 0, INT_MAX, PGC_SUSET, GUC_UNIT_MS,
	                        nullptr, nullptr, nullptr);
	DefineCustomIntVariable("retention.max_rows_per_second",
	                        "Throttle: runs pause between batches to stay under this many rows "
	                        "per second (0: no limit).",
	                        nullptr, &max_rows_per_second, 0, 0, INT_MAX, PGC_SUSET, 0, nullptr,
	                        nullptr, nullptr);
	DefineCustomStringVariable("retention.execution_search_path",
	                           "Internal: the search_path statements on a relation execute with.",
	                           nullptr, &execution_search_path, "", PGC_INTERNAL,
	                           GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
	                               GUC_NO_RESET_ALL,
	                           nullptr, nullptr, nullptr);
	DefineCustomIntVariable("retention.execution_level",
	                        "Internal: the statement depth of a relation-owner scope's statements.",
	                        nullptr, &execution_level, -1, -1, INT_MAX, PGC_INTERNAL,
	                        GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
	                            GUC_NO_RESET_ALL,
	                        nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("retention");
#else
	EmitWarningsOnPlaceholders("retention");
#endif
}

} // namespace retention::guc

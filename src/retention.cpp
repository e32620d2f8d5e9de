/*
 * retention.cpp: the module's magic block and _PG_init.
 *
 * _PG_init defines the settings, installs the utility hook that keeps DROP DATABASE from
 * waiting on a worker and the statement hooks of pg::AsRelationOwner, and, when loaded from
 * shared_preload_libraries (and not in pg_upgrade's binary-upgrade mode), registers the
 * background worker's launcher. Without
 * preloading everything SQL-callable still works; runs are then manual or from pg_cron.
 */
#include "guc.hpp"
#include "pg/postgres.hpp"
#include "pg/scope.hpp"
#include "worker/worker.hpp"

extern "C"
{
	PG_MODULE_MAGIC;

	PGDLLEXPORT void _PG_init(void);

	void _PG_init(void)
	{
		retention::guc::Define();
		retention::worker::InstallUtilityHook();
		retention::pg::InstallStatementHooks();
		if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade)
		{
			retention::worker::RegisterLauncher();
		}
	}
}

/*
 * retention.cpp: the module's magic block and _PG_init.
 *
 * _PG_init defines the settings. It does nothing else yet that needs
 * shared_preload_libraries; everything SQL-callable works when the library is loaded on first
 * use.
 */
#include "guc.hpp"
#include "pg/postgres.hpp"

extern "C"
{
	PG_MODULE_MAGIC;

	PGDLLEXPORT void _PG_init(void);

	void _PG_init(void)
	{
		retention::guc::Define();
	}
}

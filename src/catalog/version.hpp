/*
 * version.hpp: the extension's SQL version installed in this database, compared with the
 * library's own (RETENTION_VERSION).
 *
 * Between installing a new library and ALTER EXTENSION retention UPDATE, the catalog tables
 * are still those of the older version. The worker then waits (worker.cpp); runs and previews
 * refuse with a hint instead of failing halfway on a table the older version did not have.
 * Policy definitions, holds and erasures keep working: their tables did not change.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

/* The installed version of the extension in this database, or nullptr when not installed. */
char *InstalledVersion();

/* Raises 55000 when the installed SQL version is not the library's own. */
void RequireMatchingVersion();

} // namespace retention::catalog

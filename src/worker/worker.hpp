/*
 * worker.hpp: the background worker: a launcher, started from shared_preload_libraries, that
 * keeps one worker per database in which the extension is installed. See README.md here.
 *
 * The worker only decides when to run; what a run does is purge::RunDuePolicies, the same code
 * that CALL retention.run() uses.
 */
#pragma once

namespace retention::worker
{

/* Registers the launcher (from _PG_init, while shared_preload_libraries is processed). */
void RegisterLauncher();

/* Installs the utility hook that stops a database's worker before DROP DATABASE and the like. */
void InstallUtilityHook();

} // namespace retention::worker

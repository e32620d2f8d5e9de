/*
 * worker.hpp: the background worker: a launcher, started from shared_preload_libraries, that
 * keeps one worker per database in which the extension is installed (in turn when worker slots
 * are short). See README.md here.
 *
 * The worker only decides when to run; what a run does is purge::RunDuePolicies, the same code
 * that CALL retention.run() uses.
 */
#pragma once

namespace retention::worker
{

/*
 * Registers the launcher and the shared memory it shares with the workers (from _PG_init,
 * while shared_preload_libraries is processed).
 */
void RegisterLauncher();

/*
 * Installs the hooks that end a database's worker before DROP DATABASE and the like (once the
 * command is sure to get that far), and that tell the launcher of CREATE EXTENSION retention.
 */
void InstallUtilityHook();

} // namespace retention::worker

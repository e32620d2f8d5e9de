/*
 * shared.hpp: what the launcher's code (worker.cpp) offers the hooks on database commands
 * (database_commands.cpp). Not for use outside src/worker/.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::worker
{

/*
 * Sends a signal to every retention worker connected to a database (InvalidOid: to all of
 * them) and returns how many there were.
 */
int SignalWorkers(Oid database, int signal);

/*
 * Tells the launcher that CREATE EXTENSION retention committed in the current database, so it
 * is served at the launcher's next pass. Does nothing without a launcher.
 */
void NoteInstalled();

} // namespace retention::worker

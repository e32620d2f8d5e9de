/*
 * subtransaction.hpp: running a step in an internal subtransaction, the way PL/pgSQL runs an
 * exception block, so that one failing statement can be rolled back and the work go on.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::pg
{

/*
 * Runs step(arg) in an internal subtransaction. On success the subtransaction is released and
 * nullptr returned. On error it is rolled back and the error returned, copied into the
 * caller's memory context; a cancellation or shutdown is re-thrown instead, never absorbed.
 * step must keep only trivially destructible locals (it may longjmp).
 */
ErrorData *InSubtransaction(void (*step)(void *), void *arg);

/*
 * Whether an error is a cancellation or a shutdown (or worse), which must reach the caller:
 * whoever catches errors to go on with other work re-throws these.
 */
bool IsInterrupt(const ErrorData *error);

} // namespace retention::pg

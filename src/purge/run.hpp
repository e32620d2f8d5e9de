/*
 * run.hpp: executing policies: CALL retention.run() and, later, the background worker.
 *
 * A run of one policy deletes its expired rows in batches; each batch is its own transaction
 * when the caller allows it (a procedure called outside a transaction block), with the batch's
 * purge_log row written in the same transaction. Rows that cannot be deleted, or whose
 * expressions raise, are isolated by bisection in subtransactions and skipped. The worker only
 * decides when to call RunPolicies; it never purges by another path.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::purge
{

/*
 * Runs the named policy (even if disabled), or every enabled policy the caller may run, in
 * priority order. `nonatomic`: commit after each batch. `invoked_by`: 'worker' or the role.
 */
void RunPolicies(const char *policy_name, bool nonatomic, const char *invoked_by);

/*
 * The background worker's cycle: every enabled policy that is due, in priority order,
 * committing batch by batch. Requires a transaction and PortalContext (for nonatomic SPI).
 */
void RunDuePolicies(const char *invoked_by);

} // namespace retention::purge

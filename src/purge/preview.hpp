/*
 * preview.hpp: retention.preview(): what a run at a given time would remove, per policy,
 * computed with the same expiry SQL as a run, as each relation's owner, changing nothing.
 */
#pragma once

#include "pg/postgres.hpp"
#include "pg/srf.hpp"

namespace retention::purge
{

void Preview(const char *policy_name, TimestampTz as_of, const pg::Materialized *result);

/*
 * Rows of _retention.compliance_rows(): per policy (all of them), the oldest trigger value
 * still present outside holds and keep_when (and not yet anonymised), and the rows that were
 * already expired one run_every ago. NULLs when the policy cannot be evaluated.
 */
void ComplianceRows(const pg::Materialized *result);

} // namespace retention::purge

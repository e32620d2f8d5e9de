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

} // namespace retention::purge

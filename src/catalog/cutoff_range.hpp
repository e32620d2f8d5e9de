/*
 * cutoff_range.hpp: whether the cutoffs of a policy's periods stay within the range of
 * timestamptz, checked when retain, grace, timezone or a tenant's period is set, so that no
 * accepted policy makes its runs fail on "timestamp out of range".
 *
 * The cutoff is computed as a run computes it (purge/policy_target.cpp): (now - grace) - retain
 * with PostgreSQL's interval arithmetic, in the policy's timezone. Later runs only move it
 * forward. It raises nothing itself: callers word the error for what they set.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

/*
 * The index of the first of `retains` whose cutoff with `grace` in `timezone` at the current
 * transaction's start leaves the timestamp range, or -1 when none does. Errors other than the
 * range's propagate. Runs the arithmetic in a subtransaction.
 */
int FirstCutoffOutOfRange(const Interval *grace, const Interval *const *retains, int count,
                          const char *timezone);

} // namespace retention::catalog

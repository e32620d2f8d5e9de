/*
 * backoff.hpp: when a policy is next due, and how a failing policy backs off, as pure C++.
 *
 * A policy is due run_every after the start of its last run. After n consecutive failures
 * (n >= 1) it waits run_every * 2^(n-1), capped at MAX_BACKOFF_FACTOR * run_every and at one
 * week, but never less than run_every: a failing policy is retried later, not sooner.
 */
#pragma once

#include <cstdint>

namespace retention::policy
{

constexpr int64_t MAX_BACKOFF_FACTOR = 32;
constexpr int64_t MAX_BACKOFF_MICROS = 7LL * 24 * 3600 * 1000000;

/* Microseconds from the start of the last run to the next one. */
int64_t NextRunDelay(int64_t run_every_micros, int consecutive_failures);

/*
 * Throttle: microseconds to pause so that `rows_done` rows over `elapsed_micros` stay under
 * `max_rows_per_second` (0: no throttle, returns 0).
 */
int64_t ThrottlePause(int64_t rows_done, int64_t elapsed_micros, int64_t max_rows_per_second);

} // namespace retention::policy

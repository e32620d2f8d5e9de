/*
 * backoff.cpp: scheduling arithmetic (see backoff.hpp).
 */
#include "policy/backoff.hpp"

#include <algorithm>

#include "pg/no_postgres.hpp"

namespace retention::policy
{

int64_t
NextRunDelay(int64_t run_every_micros, int consecutive_failures)
{
	if (consecutive_failures <= 0)
	{
		return run_every_micros;
	}
	int64_t factor = 1;
	for (int i = 1; i < consecutive_failures && factor < MAX_BACKOFF_FACTOR; i++)
	{
		factor *= 2;
	}
	const int64_t cap = std::max(run_every_micros, MAX_BACKOFF_MICROS);
	if (run_every_micros > cap / factor)
	{
		return cap;
	}
	return std::min(run_every_micros * factor, cap);
}

int64_t
ThrottlePause(int64_t rows_done, int64_t elapsed_micros, int64_t max_rows_per_second)
{
	if (max_rows_per_second <= 0 || rows_done <= 0)
	{
		return 0;
	}
	const __int128 due = static_cast<__int128>(rows_done) * 1000000 / max_rows_per_second;
	return due > elapsed_micros ? static_cast<int64_t>(due - elapsed_micros) : 0;
}

} // namespace retention::policy

/*
 * interval.hpp: PostgreSQL interval values as plain C++, compared the way PostgreSQL compares
 * them (a month counts as 30 days, a day as 24 hours), for validating periods and bounds
 * without a server. Calendar arithmetic (adding months to a date) is PostgreSQL's job and is
 * not done here.
 */
#pragma once

#include <cstdint>
#include <type_traits>

namespace retention::policy
{

struct IntervalValue
{
	int64_t micros = 0;
	int32_t days = 0;
	int32_t months = 0;
};
static_assert(std::is_trivially_destructible_v<IntervalValue>,
              "IntervalValue lives in frames that call the backend");

/* -1, 0 or 1, as PostgreSQL's interval_cmp. */
int CompareIntervals(const IntervalValue &a, const IntervalValue &b);

bool IsNegative(const IntervalValue &value);
bool IsPositive(const IntervalValue &value);

/*
 * Whether a partition width can be aligned to the calendar: only months, only days, or only
 * a time, none negative and not all zero ('1 month 2 days' cannot: its slots drift).
 */
bool IsCalendarWidth(const IntervalValue &value);

/* "increase", "decrease" or nullptr when equal: the direction of a change of `retain`. */
const char *ChangeDirection(const IntervalValue &before, const IntervalValue &after);

} // namespace retention::policy

/*
 * interval.cpp: interval ordering (see interval.hpp).
 */
#include "policy/interval.hpp"

#include "pg/no_postgres.hpp"

namespace retention::policy
{

namespace
{

constexpr __int128 MICROS_PER_DAY = 86400LL * 1000000LL;
constexpr __int128 DAYS_PER_MONTH = 30;

__int128
Span(const IntervalValue &value)
{
	return static_cast<__int128>(value.micros) +
	       (static_cast<__int128>(value.days) +
	        static_cast<__int128>(value.months) * DAYS_PER_MONTH) *
	           MICROS_PER_DAY;
}

} // namespace

int
CompareIntervals(const IntervalValue &a, const IntervalValue &b)
{
	const __int128 left = Span(a);
	const __int128 right = Span(b);
	return left < right ? -1 : (left > right ? 1 : 0);
}

bool
IsNegative(const IntervalValue &value)
{
	return CompareIntervals(value, IntervalValue{}) < 0;
}

bool
IsPositive(const IntervalValue &value)
{
	return CompareIntervals(value, IntervalValue{}) > 0;
}

bool
IsCalendarWidth(const IntervalValue &value)
{
	const int units =
	    (value.months != 0 ? 1 : 0) + (value.days != 0 ? 1 : 0) + (value.micros != 0 ? 1 : 0);
	return units == 1 && value.months >= 0 && value.days >= 0 && value.micros >= 0;
}

const char *
ChangeDirection(const IntervalValue &before, const IntervalValue &after)
{
	const int order = CompareIntervals(before, after);
	if (order < 0)
	{
		return "increase";
	}
	if (order > 0)
	{
		return "decrease";
	}
	return nullptr;
}

} // namespace retention::policy

/*
 * cutoff_range.cpp: see cutoff_range.hpp.
 */
#include "catalog/cutoff_range.hpp"

#include "pg/scope.hpp"
#include "pg/subtransaction.hpp"

namespace retention::catalog
{

namespace
{

struct CutoffStep
{
	TimestampTz as_of;
	const Interval *grace;
	const Interval *const *retains;
	int count;
	const char *timezone;
	int current; /* the period being computed: the offender when the step fails */
};
static_assert(std::is_trivially_destructible_v<CutoffStep>,
              "CutoffStep lives in a frame that calls the backend");

void
CutoffStepRun(void *arg)
{
	CutoffStep *step = static_cast<CutoffStep *>(arg);
	const pg::Scope scope = pg::Enter(GetUserId(), false, step->timezone);
	const Datum after_grace = DirectFunctionCall2(
	    timestamptz_mi_interval, TimestampTzGetDatum(step->as_of), IntervalPGetDatum(step->grace));
	for (step->current = 0; step->current < step->count; step->current++)
	{
		(void)DirectFunctionCall2(timestamptz_mi_interval, after_grace,
		                          IntervalPGetDatum(step->retains[step->current]));
	}
	pg::Leave(scope);
}

} // namespace

int
FirstCutoffOutOfRange(const Interval *grace, const Interval *const *retains, int count,
                      const char *timezone)
{
	CutoffStep step = {GetCurrentTransactionStartTimestamp(), grace, retains, count, timezone, -1};
	ErrorData *error = pg::InSubtransaction(CutoffStepRun, &step);
	if (error == nullptr)
	{
		return -1;
	}
	if (error->sqlerrcode != ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
	{
		ReThrowError(error);
	}
	FreeErrorData(error);
	/* grace alone out of range: the first period is as good as any to name */
	return step.current < 0 ? 0 : step.current;
}

} // namespace retention::catalog

/*
 * settings.cpp: validation of a policy's scalar settings (see settings.hpp).
 */
#include "policy/settings.hpp"

#include <cstring>
#include <string>

#include "errors.hpp"

#include "pg/no_postgres.hpp"

namespace retention::policy
{

namespace
{

[[noreturn]] void
Refuse(const char *policy, const std::string &message, const char *hint = nullptr)
{
	Error error(sqlstate::INVALID_PARAMETER_VALUE, message);
	error.Detail("The settings of policy \"%s\" were refused.", policy);
	if (hint != nullptr)
	{
		error.Hint("%s", hint);
	}
	throw error;
}

} // namespace

Action
ParseAction(const char *text)
{
	if (std::strcmp(text, "delete") == 0)
	{
		return Action::DELETE;
	}
	if (std::strcmp(text, "anonymize") == 0)
	{
		return Action::ANONYMIZE;
	}
	throw Error(sqlstate::INVALID_PARAMETER_VALUE, std::string("invalid action \"") + text + "\"")
	    .Hint("The action is 'delete' or 'anonymize'.");
}

void
CheckWithinBounds(const Settings &settings, const IntervalValue &retain, const char *what)
{
	if (settings.min_retain && CompareIntervals(retain, *settings.min_retain) < 0)
	{
		Refuse(settings.name, std::string(what) + " is shorter than min_retain",
		       "Choose a period within the policy's min_retain and max_retain.");
	}
	if (settings.max_retain && CompareIntervals(retain, *settings.max_retain) > 0)
	{
		Refuse(settings.name, std::string(what) + " is longer than max_retain",
		       "Choose a period within the policy's min_retain and max_retain.");
	}
}

void
ValidateSettings(const Settings &settings)
{
	if (IsNegative(settings.retain))
	{
		Refuse(settings.name, "retain must not be negative");
	}
	if (IsNegative(settings.grace))
	{
		Refuse(settings.name, "grace must not be negative");
	}
	if (settings.min_retain && IsNegative(*settings.min_retain))
	{
		Refuse(settings.name, "min_retain must not be negative");
	}
	if (settings.max_retain && IsNegative(*settings.max_retain))
	{
		Refuse(settings.name, "max_retain must not be negative");
	}
	if (settings.min_retain && settings.max_retain &&
	    CompareIntervals(*settings.min_retain, *settings.max_retain) > 0)
	{
		Refuse(settings.name, "min_retain is greater than max_retain");
	}
	CheckWithinBounds(settings, settings.retain, "retain");
	if (!IsPositive(settings.run_every))
	{
		Refuse(settings.name, "run_every must be positive");
	}
	if (settings.batch_size < 1)
	{
		Refuse(settings.name, "batch_size must be at least 1");
	}
	if (settings.premake < 0)
	{
		Refuse(settings.name, "premake must not be negative");
	}
	if (settings.partition_interval && !IsPositive(*settings.partition_interval))
	{
		Refuse(settings.name, "partition_interval must be positive");
	}
	if (settings.partition_interval && !IsCalendarWidth(*settings.partition_interval))
	{
		Refuse(settings.name, "partition_interval must be whole months, whole days or a time",
		       "Use for example '1 month', '3 months', '1 day', '7 days' or '6 hours'.");
	}
	if (settings.action == Action::ANONYMIZE && !settings.has_anonymize)
	{
		Refuse(settings.name, "action anonymize needs the anonymize setting",
		       "Give anonymize as a JSON object such as '{\"phone\": \"NULL\"}'.");
	}
	if (settings.action == Action::ANONYMIZE && settings.has_archive)
	{
		Refuse(settings.name, "archive_to applies to delete policies only");
	}
}

bool
PremakeOutlastsRunEvery(const Settings &settings)
{
	if (!settings.partition_interval)
	{
		return true;
	}
	const IntervalValue &width = *settings.partition_interval;
	const IntervalValue ahead{width.micros * settings.premake,
	                          static_cast<int32_t>(width.days * settings.premake),
	                          static_cast<int32_t>(width.months * settings.premake)};
	return CompareIntervals(ahead, settings.run_every) >= 0;
}

} // namespace retention::policy

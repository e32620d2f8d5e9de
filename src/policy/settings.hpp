/*
 * settings.hpp: the scalar settings of a policy and their validation, as pure C++.
 *
 * Everything that can be checked without looking at the database lives here: the action, the
 * signs of periods, bounds, batch size, premake and the combinations SPEC.md forbids. Checks
 * that need the catalog (columns, types, expressions, ownership, timezones) are in
 * catalog/policy_validation.cpp. A violation throws retention::Error with SQLSTATE 22023.
 */
#pragma once

#include <optional>
#include <type_traits>

#include "policy/interval.hpp"

namespace retention::policy
{

enum class Action
{
	DELETE,
	ANONYMIZE,
};

/* Parses "delete" / "anonymize"; throws 22023 for anything else. */
Action ParseAction(const char *text);

/*
 * Plain data: PostgreSQL-facing frames fill it while they call the backend, where only
 * trivially destructible objects may be alive (an ereport longjmps over destructors). `name`
 * is borrowed, not owned: it points to the caller's (palloc'd) string.
 */
struct Settings
{
	const char *name = "";
	Action action = Action::DELETE;
	IntervalValue retain;
	IntervalValue grace;
	std::optional<IntervalValue> min_retain;
	std::optional<IntervalValue> max_retain;
	IntervalValue run_every;
	std::optional<IntervalValue> partition_interval;
	long batch_size = 10000;
	long premake = 4;
	bool has_anonymize = false;
	bool has_archive = false;
};
static_assert(std::is_trivially_destructible_v<Settings>,
              "Settings lives in frames that call the backend");

/* Throws retention::Error (22023) for the first setting that SPEC.md refuses. */
void ValidateSettings(const Settings &settings);

/*
 * Whether `premake` partitions past the current one last until the next run: premake *
 * partition_interval >= run_every (true without partition_interval).
 */
bool PremakeOutlastsRunEvery(const Settings &settings);

/* Throws 22023 when `retain` (a policy's or a tenant's) lies outside the policy's bounds. */
void CheckWithinBounds(const Settings &settings, const IntervalValue &retain, const char *what);

} // namespace retention::policy

/*
 * policy_store.hpp: adding, altering and dropping policies: validation against the catalog,
 * storage in _retention.policy, and the change log (retention.policy_changes).
 *
 * The SQL functions' arguments are carried as a PolicyInput in add_policy's parameter order.
 * add_policy validates its input; alter_policy loads the stored input, overlays the non-NULL
 * arguments and validates the result through the same path, so the two cannot disagree.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

/* add_policy's parameters, in order. */
enum PolicyArg
{
	ARG_NAME,
	ARG_RELATION,
	ARG_TRIGGER,
	ARG_RETAIN,
	ARG_GRACE,
	ARG_ACTION,
	ARG_ANONYMIZE,
	ARG_KEEP_WHEN,
	ARG_TENANT_COLUMN,
	ARG_SUBJECT_COLUMN,
	ARG_MIN_RETAIN,
	ARG_MAX_RETAIN,
	ARG_RUN_EVERY,
	ARG_PRIORITY,
	ARG_BATCH_SIZE,
	ARG_PARTITION_INTERVAL,
	ARG_PREMAKE,
	ARG_ARCHIVE_TO,
	ARG_ENABLED,
	ARG_TIMEZONE,
	POLICY_ARG_COUNT
};

struct PolicyInput
{
	Datum values[POLICY_ARG_COUNT];
	bool isnull[POLICY_ARG_COUNT];
};
static_assert(std::is_trivially_destructible_v<PolicyInput>,
              "PolicyInput lives in frames that call the backend");

int64 AddPolicy(PolicyInput *input);

/* `changes` holds alter_policy's arguments mapped to add_policy's positions. */
void AlterPolicy(const char *name, const PolicyInput *changes);

void DropPolicy(const char *name);

/*
 * Looks up a policy by name: its id and relation; raises 42704 when unknown and 42501 when the
 * current user neither owns the relation nor is a superuser. Returns InvalidOid as relation
 * when the relation no longer exists (only a superuser gets that far).
 */
int64 FindPolicyForOwner(const char *name, Oid *relid);

} // namespace retention::catalog

/*
 * partitions.hpp: keeping a policy's range partitions (partition_interval): creating them ahead
 * of time, moving rows out of the default partition, and dropping the ones that expired whole.
 *
 * Every decision reads a partition's bounds from the catalog (pg_class.relpartbound), never its
 * name. Bounds are converted to timestamptz in the policy's timezone, so the functions that
 * read or compute them must run with that timezone pinned (pg::Enter with the policy's
 * timezone). Every DDL statement first takes its locks with conditional requests, retried
 * until a deadline: a request that cannot be granted at once is withdrawn, never queued, so
 * the worker never makes application queries wait behind it and cannot deadlock with them.
 * See docs/design.md, "Partitions".
 */
#pragma once

#include "pg/postgres.hpp"
#include "purge/policy_target.hpp"

namespace retention::purge
{

struct Partition
{
	Oid relid;
	char *name; /* schema-qualified and quoted */
	bool is_default;
	bool plain;     /* an ordinary table: not sub-partitioned, not foreign; may be dropped */
	bool has_lower; /* false: MINVALUE */
	bool has_upper; /* false: MAXVALUE */
	TimestampTz lower;
	TimestampTz upper;
};
static_assert(std::is_trivially_destructible_v<Partition>,
              "Partition lives in frames that call the backend");

struct PartitionSet
{
	Partition *items; /* ordered by lower bound; the default partition last */
	int count;
	Oid default_id; /* InvalidOid: none */
};
static_assert(std::is_trivially_destructible_v<PartitionSet>,
              "PartitionSet lives in frames that call the backend");

/* One partition's name, kind and bounds; false when `relid` is no partition (any more). */
bool ReadPartition(Oid relid, Partition *partition);

/* The direct partitions of `parent` with their bounds (policy timezone pinned). */
PartitionSet ListPartitions(Oid parent);

/* Whether the partition's bounds let only rows older than `cutoff` in. */
bool ExpiredByBounds(const Partition *partition, TimestampTz cutoff);

/* Whether the partition's bounds let in no row older than `cutoff`. */
bool FreshByBounds(const Partition *partition, TimestampTz cutoff);

struct Slot
{
	TimestampTz lower;
	TimestampTz upper;
};
static_assert(std::is_trivially_destructible_v<Slot>, "Slot lives in frames that call the backend");

/*
 * The ranges to create, as owner with the policy timezone pinned: the parts not yet covered of
 * the slots from the one containing `now` to `premake` slots later, and of the slots that hold
 * rows of the default partition. Returns a List of palloc'd Slot.
 */
List *MissingSlots(const PolicyTarget *target, const PartitionSet *set, TimestampTz now);

/*
 * Creates the partition for `slot` (as owner, timezone pinned), moving the rows of that range
 * out of the default partition, in the current transaction. Returns false, having changed
 * nothing, when the locks were not granted by `deadline`.
 */
bool CreatePartition(const PolicyTarget *target, const Slot *slot, TimestampTz deadline,
                     char **created_name);

enum class DropOutcome
{
	DROPPED,
	KEPT_BY_ROWS, /* keep_when or a hold keeps a row: its expired rows are deleted in place */
	LOCK_TIMEOUT, /* locks not granted by the deadline: kept for the next run */
	GONE,         /* dropped or detached by someone else meanwhile */
};

/*
 * Drops an expired partition (as owner), archiving its rows first when the policy has
 * archive_to; *rows is the number of rows it held. Locks: the partition against writers, then
 * the parent and the default partition exclusively, all conditionally until `deadline`.
 */
DropOutcome DropPartition(const PolicyTarget *target, const Partition *partition,
                          TimestampTz deadline, int64 *rows);

/* "a, b, c": the quoted columns of the relation that can be inserted (not dropped, not generated).
 */
char *InsertableColumns(Oid relid);

/* The archive table's quoted name; errors when it no longer exists. */
char *ArchiveName(const PolicyTarget *target);

/* Whether keep_when or an active legal hold keeps any row of the partition (as owner). */
bool AnyRowKept(const PolicyTarget *target, const Partition *partition);

} // namespace retention::purge

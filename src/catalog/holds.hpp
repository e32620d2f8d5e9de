/*
 * holds.hpp: legal holds and subject digests.
 *
 * A hold covers the rows matching all of its non-NULL scopes (the relation of a policy, a
 * tenant, a subject); covered rows are never deleted, dropped with a partition or erased.
 * Every unit of work that removes rows first takes LockHolds() and reads the active holds
 * under it (HeldRows); placing or releasing a hold writes _retention.hold and so waits for the
 * units in flight, and the next units see it. Hence: once place_hold() has returned, no run
 * removes a row it covers.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

/* SHARE lock on _retention.hold until the end of the transaction. */
void LockHolds();

struct HeldRows
{
	char *sql;       /* true for covered rows of the relation (over its alias); nullptr: none */
	char *signature; /* the active holds' ids: changes whenever a hold is placed or released */
};
static_assert(std::is_trivially_destructible_v<HeldRows>,
              "HeldRows lives in frames that call the backend");

/*
 * The rows of `relid` (named `alias` in the statement) that the active holds cover. A tenant or
 * subject scope applies through the tenant_column / subject_column that a policy on the
 * relation declares; a value that does not convert to the column's type covers no row.
 */
HeldRows ReadHeldRows(Oid relid, const char *alias);

int64 PlaceHold(const char *reason, const char *policy_name, const char *tenant,
                const char *subject);
void ReleaseHold(int64 hold_id);

/* Lowercase hex HMAC-SHA256 of the subject with the installation's key. */
char *SubjectDigest(const char *subject);

/* 32 bytes from a strong random source, as bytea. */
Datum RandomKey();

} // namespace retention::catalog

/*
 * audit.hpp: writing retention.purge_log rows and hashing them.
 *
 * WriteAudit inserts one row in the current transaction, as the extension's owner, so the row
 * commits or vanishes with the work it records. The chain fields (id, prev_hash, hash) are set
 * by the table's BEFORE INSERT trigger, which serialises writers on _retention.audit_head.
 * LogAuditHead puts the head of the chain in the server log, so the log holds anchors that
 * retention.verify_audit(anchor_id, anchor_hash) can check the chain against.
 */
#pragma once

#include "pg/postgres.hpp"
#include "policy/sha256.hpp"

namespace retention::catalog
{

/* One unit of work. Pointers may be nullptr for NULL; plain data only (see STYLE.md). */
struct AuditRecord
{
	int64 run_id; /* 0: none */
	TimestampTz started_at;
	TimestampTz finished_at;
	const char *policy_name;
	const char *relation;
	const char *kind;
	TimestampTz cutoff;
	bool has_cutoff;
	int64 rows_affected;
	int64 rows_failed;
	Datum partitions; /* text[], 0 for NULL */
	const char *subject_digest;
	const char *status;
	const char *error;
	const char *invoked_by;
	int policy_version; /* 0: NULL */
	int64 hold_id;      /* 0: NULL */
	const char *reason; /* of a hold or an erasure */
};
static_assert(std::is_trivially_destructible_v<AuditRecord>,
              "AuditRecord lives in frames that call the backend");

void WriteAudit(const AuditRecord *record);

/*
 * Writes the head of the chain (its newest row) to the server log, as SPEC's anchor line
 * "retention audit head <id> <hex hash>". `committed`: the caller's audit rows are committed
 * (a run committing batch by batch has just ended), so the line is written now; otherwise it
 * is written when the current transaction commits, and not at all if it rolls back. Within one
 * transaction a later call replaces an earlier one: the rows commit together, and one head
 * covers them all.
 */
void LogAuditHead(bool committed);

/* SHA-256 over the framing of the hashed columns of a purge_log tuple (hash itself excluded). */
policy::Digest HashAuditTuple(HeapTuple tuple, TupleDesc desc);

} // namespace retention::catalog

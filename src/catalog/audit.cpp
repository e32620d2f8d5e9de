/*
 * audit.cpp: purge_log rows (see audit.hpp).
 *
 * The hash covers a fixed list of columns, by name, so that adding columns in a later version
 * never changes the hash of existing rows. Each value is framed in a form that depends on
 * neither the server version nor session settings: text and bytea as their bytes, integers
 * and timestamps as big-endian 64-bit numbers, text[] as its text form (which depends only on
 * the contents).
 */
#include "catalog/audit.hpp"

#include "pg/scope.hpp"

extern "C"
{
#include "commands/dbcommands.h"
}

namespace retention::catalog
{

namespace
{

/*
 * The head to log when the current transaction commits. Static plain data: the transaction
 * callbacks run where neither catalog access nor an error is allowed, so everything the line
 * needs is copied here when the head is read.
 */
struct PendingHead
{
	bool set;
	SubTransactionId subtransaction; /* the (sub)transaction that read it */
	int64 id;
	char hash[2 * policy::Digest().size() + 1]; /* hex */
	char database[NAMEDATALEN];
};
static_assert(std::is_trivially_destructible_v<PendingHead>,
              "PendingHead lives in frames that call the backend");

PendingHead pending_head;
bool callbacks_registered = false;

void
WriteHeadLine(const PendingHead *head)
{
	ereport(LOG, (errmsg("retention audit head " INT64_FORMAT " %s", head->id, head->hash),
	              errdetail("The audit chain of database \"%s\" ends at this row.", head->database),
	              errhidestmt(true), errhidecontext(true)));
}

/* At commit the pending head is logged; at abort or PREPARE TRANSACTION it is dropped. */
void
HeadXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (pending_head.set)
			{
				WriteHeadLine(&pending_head);
			}
			pending_head.set = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending_head.set = false;
			break;
		default:
			break;
	}
}

/* A head read in a subtransaction follows it: up to the parent on commit, gone on rollback. */
void
HeadSubXactCallback(SubXactEvent event, SubTransactionId subtransaction, SubTransactionId parent,
                    void *arg)
{
	if (!pending_head.set || pending_head.subtransaction != subtransaction)
	{
		return;
	}
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		pending_head.subtransaction = parent;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		pending_head.set = false;
	}
}

constexpr const char *HASHED_COLUMNS[] = {
    "id",       "run_id", "started_at",    "finished_at",    "policy_name", "relation",
    "kind",     "cutoff", "rows_affected", "rows_failed",    "partitions",  "subject_digest",
    "status",   "error",  "invoked_by",    "policy_version", "hold_id",     "reason",
    "prev_hash"};

void
AddInteger(policy::AuditHasher *hasher, uint64 value)
{
	uint8 bytes[8];
	for (int i = 0; i < 8; i++)
	{
		bytes[i] = static_cast<uint8>(value >> (56 - 8 * i));
	}
	hasher->AddValue(bytes, sizeof(bytes));
}

void
AddDatum(policy::AuditHasher *hasher, Datum value, Oid type)
{
	switch (type)
	{
		case TEXTOID:
		case BYTEAOID:
		{
			struct varlena *data = PG_DETOAST_DATUM_PACKED(value);
			hasher->AddValue(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
			break;
		}
		case INT8OID:
			AddInteger(hasher, static_cast<uint64>(DatumGetInt64(value)));
			break;
		case INT4OID:
			AddInteger(hasher, static_cast<uint64>(static_cast<int64>(DatumGetInt32(value))));
			break;
		case TIMESTAMPTZOID:
			AddInteger(hasher, static_cast<uint64>(DatumGetTimestampTz(value)));
			break;
		case TEXTARRAYOID:
		{
			char *text = OidOutputFunctionCall(F_ARRAY_OUT, value);
			hasher->AddValue(text, strlen(text));
			break;
		}
		default:
			elog(ERROR, "purge_log column of unexpected type %u", type);
	}
}

} // namespace

policy::Digest
HashAuditTuple(HeapTuple tuple, TupleDesc desc)
{
	policy::AuditHasher hasher;
	for (const char *column : HASHED_COLUMNS)
	{
		const int number = SPI_fnumber(desc, column);
		if (number <= 0)
		{
			elog(ERROR, "purge_log has no column \"%s\"", column);
		}
		bool isnull;
		const Datum value = heap_getattr(tuple, number, desc, &isnull);
		if (isnull)
		{
			hasher.AddNull();
		}
		else
		{
			AddDatum(&hasher, value, TupleDescAttr(desc, number - 1)->atttypid);
		}
	}
	return hasher.Finish();
}

void
LogAuditHead(bool committed)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	/* not prepared: once per run. Not read-only, so that a fresh snapshot sees our own rows. */
	const int rc = SPI_execute(
	    "SELECT l.id, l.hash FROM retention.purge_log AS l ORDER BY l.id DESC LIMIT 1", false, 1);
	if (rc != SPI_OK_SELECT)
	{
		elog(ERROR, "could not read the audit chain head: %s", SPI_result_code_string(rc));
	}
	pg::Leave(scope);
	if (SPI_processed == 0)
	{
		return; /* an empty log has no head */
	}
	PendingHead head = {};
	bool isnull;
	head.id =
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	bytea *hash =
	    DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	const size_t length = Min(VARSIZE_ANY_EXHDR(hash), (sizeof(head.hash) - 1) / 2);
	head.hash[hex_encode(VARDATA_ANY(hash), length, head.hash)] = '\0';
	const char *database = get_database_name(MyDatabaseId);
	strlcpy(head.database, database != nullptr ? database : "?", sizeof(head.database));
	head.subtransaction = GetCurrentSubTransactionId();
	head.set = true;

	if (committed)
	{
		WriteHeadLine(&head);
		return;
	}
	if (!callbacks_registered)
	{
		RegisterXactCallback(HeadXactCallback, nullptr);
		RegisterSubXactCallback(HeadSubXactCallback, nullptr);
		callbacks_registered = true;
	}
	pending_head = head;
}

void
WriteAudit(const AuditRecord *record)
{
	constexpr int COUNT = 17;
	Oid types[COUNT] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID,
	                    TEXTOID, TIMESTAMPTZOID, INT8OID,        INT8OID, TEXTARRAYOID,
	                    TEXTOID, TEXTOID,        TEXTOID,        TEXTOID, INT4OID,
	                    INT8OID, TEXTOID};
	auto text = [](const char *value) { return value ? CStringGetTextDatum(value) : Datum(0); };
	Datum values[COUNT] = {Int64GetDatum(record->run_id),
	                       TimestampTzGetDatum(record->started_at),
	                       TimestampTzGetDatum(record->finished_at),
	                       text(record->policy_name),
	                       text(record->relation),
	                       text(record->kind),
	                       TimestampTzGetDatum(record->cutoff),
	                       Int64GetDatum(record->rows_affected),
	                       Int64GetDatum(record->rows_failed),
	                       record->partitions,
	                       text(record->subject_digest),
	                       text(record->status),
	                       text(record->error),
	                       text(record->invoked_by),
	                       Int32GetDatum(record->policy_version),
	                       Int64GetDatum(record->hold_id),
	                       text(record->reason)};
	char nulls[COUNT];
	for (int i = 0; i < COUNT; i++)
	{
		nulls[i] = ' ';
	}
	nulls[0] = record->run_id == 0 ? 'n' : ' ';
	nulls[3] = record->policy_name ? ' ' : 'n';
	nulls[4] = record->relation ? ' ' : 'n';
	nulls[6] = record->has_cutoff ? ' ' : 'n';
	nulls[9] = record->partitions ? ' ' : 'n';
	nulls[10] = record->subject_digest ? ' ' : 'n';
	nulls[12] = record->error ? ' ' : 'n';
	nulls[14] = record->policy_version != 0 ? ' ' : 'n';
	nulls[15] = record->hold_id != 0 ? ' ' : 'n';
	nulls[16] = record->reason ? ' ' : 'n';

	const pg::Scope scope = pg::AsExtensionOwner();
	/* prepared once per session: a run writes one row per batch */
	static SPIPlanPtr insert_plan = nullptr;
	if (insert_plan == nullptr)
	{
		SPIPlanPtr plan = SPI_prepare(
		    "INSERT INTO retention.purge_log (run_id, started_at, finished_at, policy_name, "
		    "relation, kind, cutoff, rows_affected, rows_failed, partitions, subject_digest, "
		    "status, error, invoked_by, policy_version, hold_id, reason) "
		    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
		    COUNT, types);
		if (plan == nullptr || SPI_keepplan(plan) != 0)
		{
			elog(ERROR, "could not prepare the audit insert: %s",
			     SPI_result_code_string(SPI_result));
		}
		insert_plan = plan;
	}
	const int rc = SPI_execute_plan(insert_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
	{
		elog(ERROR, "could not write the audit log: %s", SPI_result_code_string(rc));
	}
	pg::Leave(scope);
	if (record->run_id == 0)
	{
		/* an erasure, an export, a hold placed or released: its own action, logged at commit */
		LogAuditHead(false);
	}
}

} // namespace retention::catalog

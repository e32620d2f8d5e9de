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

namespace retention::catalog
{

namespace
{

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
}

} // namespace retention::catalog

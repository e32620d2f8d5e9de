/*
 * audit_api.cpp: SQL-callable pieces of the audit log: the chain trigger, the append-only
 * trigger, and the row hash and anchor check used by retention.verify_audit().
 */
#include "catalog/audit.hpp"
#include "pg/sql_function.hpp"

extern "C"
{
#include "commands/trigger.h"
}

namespace
{

bytea *
DigestToBytea(const retention::policy::Digest &digest)
{
	bytea *result = static_cast<bytea *>(palloc(VARHDRSZ + digest.size()));
	SET_VARSIZE(result, VARHDRSZ + digest.size());
	memcpy(VARDATA(result), digest.data(), digest.size());
	return result;
}

} // namespace

extern "C"
{

	/*
	 * BEFORE INSERT ON retention.purge_log: hands out the next id and links the row to the chain.
	 * The row lock on _retention.audit_head is held until the inserting transaction ends, so
	 * writers are serialised and id order is commit order.
	 *
	 * A row that arrives with its id already set is a restore (pg_restore or psql loading the
	 * extension's data): it is kept exactly as dumped (id, prev_hash and hash included, so the
	 * restored chain verifies as the source's did, or fails where the source's failed), and the
	 * head moves to it if it lies beyond the head, so the next row chains onto the restored log
	 * whatever order the restore loads the head and the rows in. Only a superuser restores: any
	 * other role that was granted INSERT gets its rows numbered and chained here, and can never
	 * choose an id, a link or a hash.
	 */
	RETENTION_SQL_FUNCTION(retention_purge_log_chain)
	{
		TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
		if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigger->tg_event) ||
		    !TRIGGER_FIRED_FOR_ROW(trigger->tg_event) ||
		    !TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
		{
			elog(ERROR, "retention_purge_log_chain must fire BEFORE INSERT FOR EACH ROW");
		}
		HeapTuple tuple = trigger->tg_trigtuple;
		TupleDesc desc = trigger->tg_relation->rd_att;
		const int id_column = SPI_fnumber(desc, "id");
		const int prev_column = SPI_fnumber(desc, "prev_hash");
		const int hash_column = SPI_fnumber(desc, "hash");
		bool isnull;
		const Datum given_id = heap_getattr(tuple, id_column, desc, &isnull);
		const bool restored = !isnull;
		if (restored && !superuser())
		{
			ereport(ERROR,
			        (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			         errmsg("only a superuser may insert numbered rows into retention.purge_log"),
			         errdetail("Audit rows are numbered and chained by the extension; a row with "
			                   "its id set is a restored one."),
			         errhint("Insert the row without id, prev_hash and hash.")));
		}

		MemoryContext caller_context = CurrentMemoryContext;
		SPI_connect();
		/* prepared once per session: every audit row passes here */
		static SPIPlanPtr head_plan = nullptr;
		static SPIPlanPtr move_plan = nullptr;
		if (head_plan == nullptr)
		{
			Oid move_types[2] = {INT8OID, BYTEAOID};
			SPIPlanPtr head = SPI_prepare(
			    "SELECT last_id, last_hash FROM _retention.audit_head FOR UPDATE", 0, nullptr);
			SPIPlanPtr move = SPI_prepare(
			    "UPDATE _retention.audit_head SET last_id = $1, last_hash = $2", 2, move_types);
			if (head == nullptr || move == nullptr || SPI_keepplan(head) != 0 ||
			    SPI_keepplan(move) != 0)
			{
				elog(ERROR, "could not prepare the audit chain statements");
			}
			head_plan = head;
			move_plan = move;
		}
		if (SPI_execute_plan(head_plan, nullptr, nullptr, false, 1) != SPI_OK_SELECT ||
		    SPI_processed != 1)
		{
			elog(ERROR, "the audit chain head is missing");
		}
		bool hash_null;
		const int64 last_id =
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		const Datum last_hash =
		    SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &hash_null);

		if (restored)
		{
			const int64 id = DatumGetInt64(given_id);
			if (id > last_id)
			{
				const Datum hash = heap_getattr(tuple, hash_column, desc, &isnull);
				Datum head[2] = {Int64GetDatum(id), hash};
				char head_nulls[2] = {' ', isnull ? 'n' : ' '};
				if (SPI_execute_plan(move_plan, head, head_nulls, false, 0) != SPI_OK_UPDATE)
				{
					elog(ERROR, "could not move the audit chain head");
				}
			}
			SPI_finish();
			return PointerGetDatum(tuple);
		}

		MemoryContext spi_context = MemoryContextSwitchTo(caller_context);
		int columns[2] = {id_column, prev_column};
		Datum values[2] = {Int64GetDatum(last_id + 1),
		                   hash_null ? Datum(0) : datumCopy(last_hash, false, -1)};
		bool nulls[2] = {false, hash_null};
		HeapTuple linked = heap_modify_tuple_by_cols(tuple, desc, 2, columns, values, nulls);
		bytea *hash = DigestToBytea(retention::catalog::HashAuditTuple(linked, desc));
		int hash_columns[1] = {hash_column};
		Datum hash_values[1] = {PointerGetDatum(hash)};
		bool hash_nulls[1] = {false};
		HeapTuple result =
		    heap_modify_tuple_by_cols(linked, desc, 1, hash_columns, hash_values, hash_nulls);
		MemoryContextSwitchTo(spi_context);

		Datum head[2] = {Int64GetDatum(last_id + 1), PointerGetDatum(hash)};
		if (SPI_execute_plan(move_plan, head, nullptr, false, 0) != SPI_OK_UPDATE)
		{
			elog(ERROR, "could not move the audit chain head");
		}
		SPI_finish();
		return PointerGetDatum(result);
	}

	/*
	 * BEFORE INSERT ON a single-row table of the extension (_retention.audit_head,
	 * _retention.secret): the inserted row replaces the one there. CREATE EXTENSION makes that
	 * row; a restore then loads the dumped one, which must win (the source's secret, so
	 * subject_digest() gives the same digests; the source's chain head). Only roles that may
	 * already update these tables can insert into them (the extension's owner, superusers).
	 */
	RETENTION_SQL_FUNCTION(retention_replace_single_row)
	{
		TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
		if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigger->tg_event) ||
		    !TRIGGER_FIRED_FOR_ROW(trigger->tg_event) ||
		    !TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
		{
			elog(ERROR, "retention_replace_single_row must fire BEFORE INSERT FOR EACH ROW");
		}
		Relation relation = trigger->tg_relation;
		const char *name = quote_qualified_identifier(
		    get_namespace_name(RelationGetNamespace(relation)), RelationGetRelationName(relation));
		SPI_connect();
		if (SPI_execute(psprintf("DELETE FROM %s", name), false, 0) != SPI_OK_DELETE)
		{
			elog(ERROR, "could not replace the row of %s", name);
		}
		SPI_finish();
		return PointerGetDatum(trigger->tg_trigtuple);
	}

	/* The hash a purge_log row should carry, recomputed from its columns. */
	RETENTION_SQL_FUNCTION(retention_audit_row_hash)
	{
		HeapTupleHeader header = PG_GETARG_HEAPTUPLEHEADER(0);
		TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(header),
		                                        HeapTupleHeaderGetTypMod(header));
		HeapTupleData tuple;
		tuple.t_len = HeapTupleHeaderGetDatumLength(header);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = header;
		bytea *hash = DigestToBytea(retention::catalog::HashAuditTuple(&tuple, desc));
		ReleaseTupleDesc(desc);
		PG_RETURN_BYTEA_P(hash);
	}

	/*
	 * Whether verify_audit() was given an anchor: true for both anchor_id and anchor_hash,
	 * false for neither. Half an anchor is refused rather than ignored, so that a typo in a
	 * check script cannot turn an anchored check into a plain one that passes.
	 */
	RETENTION_SQL_FUNCTION(retention_audit_anchor_given)
	{
		const bool has_id = !PG_ARGISNULL(0);
		const bool has_hash = !PG_ARGISNULL(1);
		if (has_id != has_hash)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			         errmsg("an audit anchor needs both anchor_id and anchor_hash"),
			         errdetail("%s was given without %s.", has_id ? "anchor_id" : "anchor_hash",
			                   has_id ? "anchor_hash" : "anchor_id"),
			         errhint("Pass the id and hash that retention.audit_head() returned, or "
			                 "neither to check the chain alone.")));
		}
		PG_RETURN_BOOL(has_id);
	}

	/* UPDATE, DELETE and TRUNCATE of the audit log: refused for everyone but a superuser. */
	RETENTION_SQL_FUNCTION(retention_purge_log_append_only)
	{
		TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
		if (!CALLED_AS_TRIGGER(fcinfo))
		{
			elog(ERROR, "retention_purge_log_append_only must be called as a trigger");
		}
		if (!superuser())
		{
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("retention.purge_log is append-only"),
			                errdetail("Audit rows cannot be updated, deleted or truncated.")));
		}
		if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event))
		{
			return PointerGetDatum(trigger->tg_newtuple);
		}
		return TRIGGER_FIRED_FOR_ROW(trigger->tg_event) ? PointerGetDatum(trigger->tg_trigtuple)
		                                                : PointerGetDatum(nullptr);
	}
}

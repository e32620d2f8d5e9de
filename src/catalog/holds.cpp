/*
 * holds.cpp: legal holds and subject digests (see holds.hpp).
 */
#include "catalog/holds.hpp"

#include "catalog/audit.hpp"
#include "pg/scope.hpp"
#include "pg/sql_text.hpp"
#include "policy/sha256.hpp"

extern "C"
{
#include "port.h"
}

namespace retention::catalog
{

namespace
{

struct Hold
{
	int64 id;
	Oid relid; /* InvalidOid: any relation */
	char *tenant;
	char *subject;
};
static_assert(std::is_trivially_destructible_v<Hold>, "Hold lives in frames that call the backend");

char *
CopyText(HeapTuple row, TupleDesc desc, int column)
{
	bool isnull;
	const Datum value = SPI_getbinval(row, desc, column, &isnull);
	return isnull ? nullptr : TextDatumGetCString(value);
}

/*
 * "alias.col = 'value'::type OR ..." over the declared columns that exist and can hold the
 * value (asked of the column type's input as the relation's owner); nullptr when none can.
 */
char *
ScopeCondition(Oid relid, const char *alias, List *columns, const char *value, Oid owner,
               const char *owner_path)
{
	StringInfoData sql;
	initStringInfo(&sql);
	ListCell *cell;
	foreach (cell, columns)
	{
		const char *column = static_cast<const char *>(lfirst(cell));
		const AttrNumber number = get_attnum(relid, column);
		if (number == InvalidAttrNumber)
		{
			continue;
		}
		const Oid type = get_atttype(relid, number);
		if (!pg::ConvertsAsOwner(value, type, owner, owner_path))
		{
			continue;
		}
		appendStringInfo(&sql, "%s%s.%s%s%s::%s", sql.len > 0 ? " OR " : "",
		                 quote_identifier(alias), quote_identifier(column),
		                 pg::EqualityOperator(type), quote_literal_cstr(value),
		                 format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY));
	}
	return sql.len > 0 ? sql.data : nullptr;
}

List *
TextList(HeapTuple row, TupleDesc desc, int column)
{
	bool isnull;
	const Datum value = SPI_getbinval(row, desc, column, &isnull);
	List *result = NIL;
	if (isnull)
	{
		return result;
	}
	Datum *elements;
	bool *nulls;
	int count;
	deconstruct_array(DatumGetArrayTypeP(value), TEXTOID, -1, false, TYPALIGN_INT, &elements,
	                  &nulls, &count);
	for (int i = 0; i < count; i++)
	{
		if (!nulls[i])
		{
			result = lappend(result, TextDatumGetCString(elements[i]));
		}
	}
	return result;
}

Oid
HoldTable()
{
	return get_relname_relid("hold", get_namespace_oid("_retention", false));
}

char *
CurrentRoleName()
{
	return GetUserNameFromId(GetUserId(), false);
}

void
AuditHold(const char *kind, int64 hold_id, const char *policy_name, const char *relation,
          const char *subject, const char *caller, const char *reason)
{
	AuditRecord record = {};
	record.started_at = GetCurrentTimestamp();
	record.finished_at = record.started_at;
	record.policy_name = policy_name;
	record.relation = relation;
	record.kind = kind;
	record.subject_digest = subject != nullptr ? SubjectDigest(subject) : nullptr;
	record.status = "ok";
	record.invoked_by = caller;
	record.hold_id = hold_id;
	record.reason = reason;
	WriteAudit(&record);
}

} // namespace

void
LockHolds()
{
	LockRelationOid(HoldTable(), ShareLock);
}

HeldRows
ReadHeldRows(Oid relid, const char *alias)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	/* not read-only: a fresh snapshot, taken after LockHolds() was granted */
	if (SPI_execute("SELECT id, relid::oid, tenant, subject FROM _retention.hold "
	                "WHERE released_at IS NULL ORDER BY id",
	                false, 0) != SPI_OK_SELECT)
	{
		elog(ERROR, "reading the legal holds failed");
	}
	const int count = static_cast<int>(SPI_processed);
	Hold *holds = static_cast<Hold *>(palloc0(sizeof(Hold) * (count + 1)));
	StringInfoData signature;
	initStringInfo(&signature);
	for (int i = 0; i < count; i++)
	{
		HeapTuple row = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		holds[i].id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		const Datum hold_relid = SPI_getbinval(row, desc, 2, &isnull);
		holds[i].relid = isnull ? InvalidOid : DatumGetObjectId(hold_relid);
		holds[i].tenant = CopyText(row, desc, 3);
		holds[i].subject = CopyText(row, desc, 4);
		appendStringInfo(&signature, INT64_FORMAT ",", holds[i].id);
	}
	SPI_freetuptable(SPI_tuptable);
	List *tenant_columns = NIL;
	List *subject_columns = NIL;
	if (count > 0)
	{
		Oid types[1] = {OIDOID};
		Datum values[1] = {ObjectIdGetDatum(relid)};
		if (SPI_execute_with_args(
		        "SELECT array_agg(DISTINCT tenant_column::text) FILTER (WHERE tenant_column IS NOT "
		        "NULL), array_agg(DISTINCT subject_column::text) FILTER (WHERE subject_column IS "
		        "NOT NULL) FROM _retention.policy WHERE relid::oid = $1",
		        1, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
		    SPI_processed != 1)
		{
			elog(ERROR, "reading the policies' tenant and subject columns failed");
		}
		tenant_columns = TextList(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		subject_columns = TextList(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		SPI_freetuptable(SPI_tuptable);
	}
	pg::Leave(scope);

	const Oid owner = count > 0 ? pg::RelationOwner(relid) : InvalidOid;
	const char *owner_path = count > 0 ? pg::OwnerSearchPath(owner) : nullptr;
	StringInfoData sql;
	initStringInfo(&sql);
	for (int i = 0; i < count; i++)
	{
		const Hold *hold = &holds[i];
		if (OidIsValid(hold->relid) && hold->relid != relid)
		{
			continue;
		}
		const char *tenant = nullptr;
		const char *subject = nullptr;
		if (hold->tenant != nullptr &&
		    (tenant = ScopeCondition(relid, alias, tenant_columns, hold->tenant, owner,
		                             owner_path)) == nullptr)
		{
			continue; /* the relation holds no rows of that tenant */
		}
		if (hold->subject != nullptr &&
		    (subject = ScopeCondition(relid, alias, subject_columns, hold->subject, owner,
		                              owner_path)) == nullptr)
		{
			continue;
		}
		const char *condition = "true";
		if (tenant != nullptr && subject != nullptr)
		{
			condition = psprintf("(%s) AND (%s)", tenant, subject);
		}
		else if (tenant != nullptr || subject != nullptr)
		{
			condition = tenant != nullptr ? tenant : subject;
		}
		appendStringInfo(&sql, "%s(%s)", sql.len > 0 ? " OR " : "", condition);
	}
	return HeldRows{sql.len > 0 ? sql.data : nullptr, signature.data};
}

int64
PlaceHold(const char *reason, const char *policy_name, const char *tenant, const char *subject)
{
	if (reason == nullptr || reason[0] == '\0')
	{
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("a legal hold needs a reason")));
	}
	const char *caller = CurrentRoleName();
	SPI_connect();
	const pg::Scope scope = pg::AsExtensionOwner();
	Datum relid = 0;
	char *relation = nullptr;
	int64 policy_id = 0;
	if (policy_name != nullptr)
	{
		Oid types[1] = {TEXTOID};
		Datum values[1] = {CStringGetTextDatum(policy_name)};
		SPI_execute_with_args("SELECT id, relid::oid, relation_name FROM _retention.policy "
		                      "WHERE name = $1",
		                      1, types, values, nullptr, true, 1);
		if (SPI_processed != 1)
		{
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
			                errmsg("policy \"%s\" does not exist", policy_name)));
		}
		bool isnull;
		policy_id =
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		relid = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		relation = CopyText(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	}
	auto text = [](const char *value) { return value ? CStringGetTextDatum(value) : Datum(0); };
	Oid types[7] = {TEXTOID, INT8OID, TEXTOID, OIDOID, TEXTOID, TEXTOID, TEXTOID};
	Datum values[7] = {text(reason), Int64GetDatum(policy_id), text(policy_name),
	                   relid,        text(relation),           text(tenant),
	                   text(subject)};
	char nulls[7] = {' ',
	                 policy_name ? ' ' : 'n',
	                 policy_name ? ' ' : 'n',
	                 policy_name ? ' ' : 'n',
	                 policy_name ? ' ' : 'n',
	                 tenant ? ' ' : 'n',
	                 subject ? ' ' : 'n'};
	/* writing the table waits for the units of work in flight (they hold SHARE on it) */
	char *sql = psprintf("INSERT INTO _retention.hold (reason, policy_id, policy_name, relid, "
	                     "relation, tenant, subject, placed_by) "
	                     "VALUES ($1, $2, $3, $4, $5, $6, $7, %s) RETURNING id",
	                     quote_literal_cstr(caller));
	if (SPI_execute_with_args(sql, 7, types, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
	{
		elog(ERROR, "placing the hold failed");
	}
	bool isnull;
	const int64 id =
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pg::Leave(scope);
	AuditHold("hold", id, policy_name, relation, subject, caller, reason);
	SPI_finish();
	return id;
}

void
ReleaseHold(int64 hold_id)
{
	const char *caller = CurrentRoleName();
	SPI_connect();
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(hold_id)};
	SPI_execute_with_args("SELECT released_at IS NOT NULL, policy_name, relation, subject "
	                      "FROM _retention.hold WHERE id = $1 FOR UPDATE",
	                      1, types, values, nullptr, false, 1);
	if (SPI_processed != 1)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
		                errmsg("legal hold " INT64_FORMAT " does not exist", hold_id)));
	}
	bool isnull;
	const bool released =
	    DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (released)
	{
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("legal hold " INT64_FORMAT " is already released", hold_id)));
	}
	char *policy_name = CopyText(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	char *relation = CopyText(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	char *subject = CopyText(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	Oid update_types[2] = {INT8OID, TEXTOID};
	Datum update_values[2] = {Int64GetDatum(hold_id), CStringGetTextDatum(caller)};
	SPI_execute_with_args("UPDATE _retention.hold SET released_at = pg_catalog.now(), "
	                      "released_by = $2 WHERE id = $1",
	                      2, update_types, update_values, nullptr, false, 0);
	pg::Leave(scope);
	AuditHold("release", hold_id, policy_name, relation, subject, caller, nullptr);
	SPI_finish();
}

char *
SubjectDigest(const char *subject)
{
	SPI_connect();
	const pg::Scope scope = pg::AsExtensionOwner();
	if (SPI_execute("SELECT key FROM _retention.secret", true, 1) != SPI_OK_SELECT ||
	    SPI_processed != 1)
	{
		elog(ERROR, "the subject digest key is missing");
	}
	bool isnull;
	bytea *key =
	    DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	const policy::Digest digest =
	    policy::HmacSha256(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), subject, strlen(subject));
	pg::Leave(scope);
	SPI_finish();
	static const char HEX[] = "0123456789abcdef";
	char *result = static_cast<char *>(palloc(digest.size() * 2 + 1));
	for (size_t i = 0; i < digest.size(); i++)
	{
		result[2 * i] = HEX[digest[i] >> 4];
		result[2 * i + 1] = HEX[digest[i] & 0x0f];
	}
	result[digest.size() * 2] = '\0';
	return result;
}

Datum
RandomKey()
{
	constexpr int LENGTH = 32;
	bytea *key = static_cast<bytea *>(palloc(VARHDRSZ + LENGTH));
	SET_VARSIZE(key, VARHDRSZ + LENGTH);
	if (!pg_strong_random(VARDATA(key), LENGTH))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random key")));
	}
	return PointerGetDatum(key);
}

} // namespace retention::catalog

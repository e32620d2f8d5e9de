/*
 * subjects.cpp: erase_subject and export_subject (see subjects.hpp).
 */
#include "subjects/subjects.hpp"

#include "catalog/audit.hpp"
#include "catalog/holds.hpp"
#include "catalog/relation_rules.hpp"
#include "pg/scope.hpp"
#include "pg/sql_text.hpp"

#include <utility>

namespace retention::subjects
{

namespace
{

/* A relation with a subject column, and what the request needs to address its rows. */
struct SubjectRelation
{
	Oid relid;
	Oid owner;
	char *search_path; /* the owner's: erasure and export run with it, like runs */
	char *name;        /* format('%I.%I') */
	char *alias;       /* the relation's own name */
	char *condition;   /* the subject's rows, over the alias; nullptr: the subject cannot be
	                      one of its values */
};
static_assert(std::is_trivially_destructible_v<SubjectRelation>,
              "SubjectRelation lives in frames that call the backend");

/*
 * The relations whose policies declare a subject_column, each once, in order of their lowest
 * policy priority, then name. Relations that no longer exist are left out.
 */
List *
SubjectRelations(const char *subject)
{
	const pg::Scope scope = pg::AsExtensionOwner();
	if (SPI_execute("SELECT relid::oid, array_agg(DISTINCT subject_column::text), min(priority) "
	                "FROM _retention.policy WHERE subject_column IS NOT NULL "
	                "GROUP BY relid::oid",
	                true, 0) != SPI_OK_SELECT)
	{
		elog(ERROR, "reading the policies' subject columns failed");
	}
	pg::Leave(scope);
	struct Row
	{
		Oid relid;
		ArrayType *columns;
		int priority;
	};
	static_assert(std::is_trivially_destructible_v<Row>,
	              "Row lives in frames that call the backend");
	const int count = static_cast<int>(SPI_processed);
	Row *rows = static_cast<Row *>(palloc0(sizeof(Row) * (count + 1)));
	for (int i = 0; i < count; i++)
	{
		bool isnull;
		HeapTuple tuple = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		rows[i].relid = DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull));
		rows[i].columns = DatumGetArrayTypePCopy(SPI_getbinval(tuple, desc, 2, &isnull));
		rows[i].priority = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
	}
	List *relations = NIL;
	for (int i = 0; i < count; i++)
	{
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(rows[i].relid)))
		{
			continue;
		}
		/* a policy left on a catalog or on the extension's own tables erases nothing there */
		catalog::CheckPolicyRelation(rows[i].relid, catalog::RelationUse::RUN, nullptr);
		HeapTuple class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rows[i].relid));
		Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(class_tuple));
		SubjectRelation *relation =
		    static_cast<SubjectRelation *>(palloc0(sizeof(SubjectRelation)));
		relation->relid = rows[i].relid;
		relation->owner = form->relowner;
		relation->alias = pstrdup(NameStr(form->relname));
		relation->name =
		    quote_qualified_identifier(get_namespace_name(form->relnamespace), relation->alias);
		ReleaseSysCache(class_tuple);
		relation->search_path = pg::OwnerSearchPath(relation->owner);

		Datum *columns;
		bool *nulls;
		int column_count;
		deconstruct_array(rows[i].columns, TEXTOID, -1, false, TYPALIGN_INT, &columns, &nulls,
		                  &column_count);
		StringInfoData condition;
		initStringInfo(&condition);
		for (int c = 0; c < column_count; c++)
		{
			const char *column = TextDatumGetCString(columns[c]);
			const AttrNumber number = get_attnum(relation->relid, column);
			if (number == InvalidAttrNumber)
			{
				continue;
			}
			const Oid type = get_atttype(relation->relid, number);
			if (!pg::ConvertsAsOwner(subject, type, relation->owner, relation->search_path))
			{
				continue;
			}
			appendStringInfo(&condition, "%s%s.%s%s%s::%s", condition.len > 0 ? " OR " : "",
			                 quote_identifier(relation->alias), quote_identifier(column),
			                 pg::EqualityOperator(type), quote_literal_cstr(subject),
			                 format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY));
		}
		relation->condition = condition.len > 0 ? psprintf("(%s)", condition.data) : nullptr;
		relations = lappend(relations, relation);
	}
	/* order: lowest policy priority, then name */
	const int n = list_length(relations);
	SubjectRelation **sorted = static_cast<SubjectRelation **>(palloc(sizeof(void *) * (n + 1)));
	int *priorities = static_cast<int *>(palloc(sizeof(int) * (n + 1)));
	int k = 0;
	ListCell *cell;
	foreach (cell, relations)
	{
		SubjectRelation *relation = static_cast<SubjectRelation *>(lfirst(cell));
		sorted[k] = relation;
		for (int i = 0; i < count; i++)
		{
			if (rows[i].relid == relation->relid)
			{
				priorities[k] = rows[i].priority;
			}
		}
		k++;
	}
	for (int i = 1; i < n; i++)
	{
		for (int j = i; j > 0; j--)
		{
			const bool before = priorities[j] < priorities[j - 1] ||
			                    (priorities[j] == priorities[j - 1] &&
			                     strcmp(sorted[j]->name, sorted[j - 1]->name) < 0);
			if (!before)
			{
				break;
			}
			std::swap(sorted[j], sorted[j - 1]);
			std::swap(priorities[j], priorities[j - 1]);
		}
	}
	List *ordered = NIL;
	for (int i = 0; i < n; i++)
	{
		ordered = lappend(ordered, sorted[i]);
	}
	return ordered;
}

int64
CountOrDelete(const SubjectRelation *relation, const char *sql)
{
	const pg::Scope scope = pg::AsRelationOwner(relation->owner, relation->search_path, nullptr);
	const int rc = SPI_execute(sql, false, 0);
	if (rc != SPI_OK_SELECT && rc != SPI_OK_DELETE)
	{
		elog(ERROR, "statement on %s failed: %s", relation->name, SPI_result_code_string(rc));
	}
	int64 result = static_cast<int64>(SPI_processed);
	if (rc == SPI_OK_SELECT)
	{
		bool isnull;
		result =
		    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	pg::Leave(scope);
	return result;
}

void
Audit(const char *kind, const char *relation, int64 rows, const char *digest, const char *caller,
      const char *reason)
{
	catalog::AuditRecord record = {};
	record.started_at = GetCurrentTimestamp();
	record.finished_at = record.started_at;
	record.relation = relation;
	record.kind = kind;
	record.rows_affected = rows;
	record.subject_digest = digest;
	record.status = "ok";
	record.reason = reason;
	record.invoked_by = caller;
	catalog::WriteAudit(&record);
}

} // namespace

void
EraseSubject(const char *subject, const char *reason, const pg::Materialized *result)
{
	if (subject == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("erase_subject needs a subject")));
	}
	const char *caller = GetUserNameFromId(GetUserId(), false);
	SPI_connect();
	/* holds placed from now on wait for this transaction; holds placed before it apply */
	catalog::LockHolds();
	const char *digest = catalog::SubjectDigest(subject);
	List *relations = SubjectRelations(subject);
	ListCell *cell;
	foreach (cell, relations)
	{
		const SubjectRelation *relation = static_cast<const SubjectRelation *>(lfirst(cell));
		int64 erased = 0;
		int64 held = 0;
		if (relation->condition != nullptr)
		{
			const catalog::HeldRows holds = catalog::ReadHeldRows(relation->relid, relation->alias);
			const char *alias = quote_identifier(relation->alias);
			if (holds.sql != nullptr)
			{
				held = CountOrDelete(
				    relation,
				    psprintf("SELECT pg_catalog.count(*) FROM %s AS %s WHERE %s AND (%s) IS TRUE",
				             relation->name, alias, relation->condition, holds.sql));
			}
			erased = CountOrDelete(
			    relation, psprintf("DELETE FROM %s AS %s WHERE %s%s%s", relation->name, alias,
			                       relation->condition, holds.sql ? " AND (" : "",
			                       holds.sql ? psprintf("%s) IS NOT TRUE", holds.sql) : ""));
		}
		Audit("erasure", relation->name, erased, digest, caller, reason);
		Datum values[3] = {ObjectIdGetDatum(relation->relid), Int64GetDatum(erased),
		                   Int64GetDatum(held)};
		bool nulls[3] = {false, false, false};
		tuplestore_putvalues(result->store, result->desc, values, nulls);
	}
	SPI_finish();
}

Datum
ExportSubject(const char *subject)
{
	if (subject == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("export_subject needs a subject")));
	}
	const char *caller = GetUserNameFromId(GetUserId(), false);
	SPI_connect();
	const char *digest = catalog::SubjectDigest(subject);
	List *relations = SubjectRelations(subject);
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	int64 total = 0;
	ListCell *cell;
	foreach (cell, relations)
	{
		const SubjectRelation *relation = static_cast<const SubjectRelation *>(lfirst(cell));
		if (json.len > 1)
		{
			appendStringInfoString(&json, ", ");
		}
		escape_json(&json, relation->name);
		appendStringInfoString(&json, ": ");
		char *rows = pstrdup("[]");
		if (relation->condition != nullptr)
		{
			const char *alias = quote_identifier(relation->alias);
			const pg::Scope scope =
			    pg::AsRelationOwner(relation->owner, relation->search_path, nullptr);
			char *sql =
			    psprintf("SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(%s)), "
			             "'[]')::pg_catalog.text, pg_catalog.count(*) FROM %s AS %s WHERE %s",
			             alias, relation->name, alias, relation->condition);
			if (SPI_execute(sql, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
			{
				elog(ERROR, "reading %s failed", relation->name);
			}
			bool isnull;
			rows = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			total += DatumGetInt64(
			    SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			pg::Leave(scope);
		}
		appendStringInfoString(&json, rows);
	}
	appendStringInfoChar(&json, '}');
	Audit("export", nullptr, total, digest, caller, nullptr);
	/*
	 * The text and everything read above live in SPI memory, which SPI_finish() frees: the
	 * jsonb is built here and copied into the caller's context before that.
	 */
	const Datum result =
	    SPI_datumTransfer(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)), false, -1);
	SPI_finish();
	return result;
}

} // namespace retention::subjects

/*
 * binding.cpp: binding a policy's expressions again by name after a restore (see binding.hpp).
 */
#include "catalog/binding.hpp"

#include "catalog/expression.hpp"
#include "pg/scope.hpp"

extern "C"
{
#include "access/transam.h"
#include "catalog/pg_proc.h"
#include "parser/parsetree.h"
#include "utils/regproc.h"
}

namespace retention::catalog
{

namespace
{

/* What the stored texts call the policy's relation (any name works: ruleutils keeps it apart). */
constexpr const char *BINDING_ALIAS = "r";

/* Columns, functions and other relations a set of trees refers to. */
struct Collected
{
	Oid relid;
	List *rtables; /* range tables of the enclosing queries, innermost first */
	List *column_relids;
	List *column_numbers; /* int list, parallel to column_relids */
	List *functions;
	List *relations;
};
static_assert(std::is_trivially_destructible_v<Collected>,
              "Collected lives in frames that call the backend");

bool
FunctionSeen(Oid function, void *context)
{
	Collected *collected = static_cast<Collected *>(context);
	if (function >= FirstNormalObjectId)
	{
		collected->functions = list_append_unique_oid(collected->functions, function);
	}
	return false;
}

void
AddColumn(Collected *collected, Oid relid, AttrNumber number)
{
	ListCell *rel;
	ListCell *att;
	forboth(rel, collected->column_relids, att, collected->column_numbers)
	{
		if (lfirst_oid(rel) == relid && lfirst_int(att) == number)
		{
			return;
		}
	}
	collected->column_relids = lappend_oid(collected->column_relids, relid);
	collected->column_numbers = lappend_int(collected->column_numbers, number);
}

bool
Collect(Node *node, Collected *collected)
{
	if (node == nullptr)
	{
		return false;
	}
	if (IsA(node, Var))
	{
		Var *var = castNode(Var, node);
		if (var->varattno > 0)
		{
			const int level = static_cast<int>(var->varlevelsup);
			const int depth = list_length(collected->rtables);
			Oid relid = InvalidOid;
			if (level < depth)
			{
				List *rtable = static_cast<List *>(list_nth(collected->rtables, level));
				RangeTblEntry *entry = rt_fetch(var->varno, rtable);
				if (entry->rtekind == RTE_RELATION)
				{
					relid = entry->relid;
				}
			}
			else if (level == depth && var->varno == 1)
			{
				relid = collected->relid;
			}
			if (OidIsValid(relid))
			{
				AddColumn(collected, relid, var->varattno);
			}
		}
		return false;
	}
	if (IsA(node, Query))
	{
		Query *query = castNode(Query, node);
		ListCell *cell;
		foreach (cell, query->rtable)
		{
			RangeTblEntry *entry = lfirst_node(RangeTblEntry, cell);
			if (entry->rtekind == RTE_RELATION)
			{
				collected->relations = list_append_unique_oid(collected->relations, entry->relid);
			}
		}
		collected->rtables = lcons(query->rtable, collected->rtables);
		const bool result =
		    query_tree_walker(query, reinterpret_cast<bool (*)()>(Collect), collected, 0);
		collected->rtables = list_delete_first(collected->rtables);
		return result;
	}
	(void)check_functions_in_node(node, FunctionSeen, collected);
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(Collect), collected);
}

/* "type@position": the column's type and its position among the relation's live columns. */
char *
ColumnPrint(Oid relid, AttrNumber number, const char *what, char **column_name)
{
	Relation rel = relation_open(relid, AccessShareLock);
	const TupleDesc desc = RelationGetDescr(rel);
	int position = 0;
	char *print = nullptr;
	for (int i = 0; i < desc->natts && i < number; i++)
	{
		Form_pg_attribute attribute = TupleDescAttr(desc, i);
		if (attribute->attisdropped)
		{
			continue;
		}
		position++;
		if (attribute->attnum == number)
		{
			*column_name = pstrdup(NameStr(attribute->attname));
			print = psprintf(
			    "%s@%d",
			    format_type_extended(attribute->atttypid, attribute->atttypmod,
			                         FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY),
			    position);
		}
	}
	relation_close(rel, NoLock);
	if (print == nullptr)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("%s refers to a column that was dropped", what),
		                errhint("Alter or drop the policy.")));
	}
	return print;
}

/* A digest of what the function does: its language, body, strictness, volatility, result. */
char *
FunctionPrint(Oid function)
{
	HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
	if (!HeapTupleIsValid(tuple))
	{
		elog(ERROR, "cache lookup failed for function %u", function);
	}
	Form_pg_proc form = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
	bool isnull;
	const Datum source = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull);
	char *body = isnull ? pstrdup("") : TextDatumGetCString(source);
	const Datum binary = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &isnull);
	char *library = isnull ? pstrdup("") : TextDatumGetCString(binary);
	char *language = get_language_name(form->prolang, false);
	char *definition =
	    psprintf("%s\n%s\n%c%c%c\n%s\n%s", language, format_type_be_qualified(form->prorettype),
	             form->proisstrict ? 's' : '-', form->provolatile, form->proretset ? 'r' : '-',
	             library, body);
	ReleaseSysCache(tuple);
	return TextDatumGetCString(DirectFunctionCall1(md5_text, CStringGetTextDatum(definition)));
}

int
CompareOids(const ListCell *a, const ListCell *b)
{
	const Oid left = lfirst_oid(a);
	const Oid right = lfirst_oid(b);
	return left < right ? -1 : left > right ? 1 : 0;
}

/*
 * The fingerprint (JSON text) of what the trees refer to, and the other relations they read
 * as an oid[] (NULL when none).
 */
char *
Fingerprint(Oid relid, List *trees, List *anonymized, const char *what, Datum *relations,
            bool *relations_null)
{
	Collected collected = {relid, NIL, NIL, NIL, NIL, NIL};
	ListCell *cell;
	foreach (cell, trees)
	{
		(void)Collect(static_cast<Node *>(lfirst(cell)), &collected);
	}
	foreach (cell, anonymized)
	{
		AddColumn(&collected, relid, static_cast<AttrNumber>(lfirst_int(cell)));
	}
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"columns\": {");
	ListCell *rel;
	ListCell *att;
	bool first = true;
	forboth(rel, collected.column_relids, att, collected.column_numbers)
	{
		const Oid column_relid = lfirst_oid(rel);
		char *column = nullptr;
		char *print =
		    ColumnPrint(column_relid, static_cast<AttrNumber>(lfirst_int(att)), what, &column);
		char *key = column;
		if (column_relid != relid)
		{
			key = psprintf(
			    "%s.%s",
			    quote_qualified_identifier(get_namespace_name(get_rel_namespace(column_relid)),
			                               get_rel_name(column_relid)),
			    quote_identifier(column));
		}
		appendStringInfoString(&json, first ? "" : ", ");
		escape_json(&json, key);
		appendStringInfoString(&json, ": ");
		escape_json(&json, print);
		first = false;
	}
	appendStringInfoString(&json, "}, \"functions\": {");
	first = true;
	foreach (cell, collected.functions)
	{
		appendStringInfoString(&json, first ? "" : ", ");
		escape_json(&json, format_procedure_qualified(lfirst_oid(cell)));
		appendStringInfoString(&json, ": ");
		escape_json(&json, FunctionPrint(lfirst_oid(cell)));
		first = false;
	}
	appendStringInfoString(&json, "}}");

	List *others = NIL;
	foreach (cell, collected.relations)
	{
		if (lfirst_oid(cell) != relid)
		{
			others = lappend_oid(others, lfirst_oid(cell));
		}
	}
	list_sort(others, CompareOids);
	*relations_null = others == NIL;
	*relations = 0;
	if (others != NIL)
	{
		Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * list_length(others)));
		int i = 0;
		foreach (cell, others)
		{
			elements[i++] = ObjectIdGetDatum(lfirst_oid(cell));
		}
		*relations =
		    PointerGetDatum(construct_array(elements, i, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	}
	return json.data;
}

/* An anonymize entry: the column and its stored tree. */
struct Assignment
{
	char *column;
	AttrNumber number;
	char *tree;
	char *text;
};
static_assert(std::is_trivially_destructible_v<Assignment>,
              "Assignment lives in frames that call the backend");

/* Rows (key, value) of a jsonb object given as text, copied out of SPI. */
List *
JsonPairs(const char *json)
{
	if (json == nullptr)
	{
		return NIL;
	}
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(json)};
	if (SPI_execute_with_args(
	        "SELECT key, value FROM pg_catalog.jsonb_each_text($1::pg_catalog.jsonb) "
	        "ORDER BY key",
	        1, types, values, nullptr, true, 0) != SPI_OK_SELECT)
	{
		elog(ERROR, "reading a policy's anonymize expressions failed");
	}
	List *pairs = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Assignment *pair = static_cast<Assignment *>(palloc0(sizeof(Assignment)));
		pair->column = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		pair->tree = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		pairs = lappend(pairs, pair);
	}
	SPI_freetuptable(SPI_tuptable);
	return pairs;
}

/* The binding (JSON text) of the trees: their texts with current names and their fingerprint. */
char *
BindingText(Oid relid, const char *name, const StoredTrees *trees, Datum *relations,
            bool *relations_null, char **fingerprint)
{
	List *nodes = NIL;
	List *anonymized = NIL;
	char *what = psprintf("trigger of policy \"%s\"", name);
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"trigger\": ");
	escape_json(&json, DeparseExpression(trees->trigger_bin, relid, BINDING_ALIAS, what));
	nodes = lappend(nodes, stringToNode(trees->trigger_bin));
	appendStringInfoString(&json, ", \"keep_when\": ");
	if (trees->keep_when_bin != nullptr)
	{
		what = psprintf("keep_when of policy \"%s\"", name);
		escape_json(&json, DeparseExpression(trees->keep_when_bin, relid, BINDING_ALIAS, what));
		nodes = lappend(nodes, stringToNode(trees->keep_when_bin));
	}
	else
	{
		appendStringInfoString(&json, "null");
	}
	appendStringInfoString(&json, ", \"anonymize\": ");
	List *pairs = JsonPairs(trees->anonymize_bin);
	if (pairs == NIL)
	{
		appendStringInfoString(&json, "null");
	}
	else
	{
		appendStringInfoChar(&json, '{');
		ListCell *cell;
		foreach (cell, pairs)
		{
			Assignment *pair = static_cast<Assignment *>(lfirst(cell));
			const AttrNumber number = static_cast<AttrNumber>(pg_strtoint32(pair->column));
			const char *column = get_attname(relid, number, true);
			if (column == nullptr)
			{
				ereport(ERROR,
				        (errcode(ERRCODE_UNDEFINED_COLUMN),
				         errmsg("a column anonymized by policy \"%s\" no longer exists", name)));
			}
			what =
			    psprintf("anonymize expression of policy \"%s\" for column \"%s\"", name, column);
			appendStringInfoString(&json, cell == list_head(pairs) ? "" : ", ");
			escape_json(&json, column);
			appendStringInfoString(&json, ": ");
			escape_json(&json, DeparseExpression(pair->tree, relid, BINDING_ALIAS, what));
			nodes = lappend(nodes, stringToNode(pair->tree));
			anonymized = lappend_int(anonymized, number);
		}
		appendStringInfoChar(&json, '}');
	}
	what = psprintf("policy \"%s\"", name);
	*fingerprint = Fingerprint(relid, nodes, anonymized, what, relations, relations_null);
	appendStringInfo(&json, ", \"fingerprint\": %s}", *fingerprint);
	return json.data;
}

/* Adds to errors raised while binding again the policy they concern. */
void
BindingContext(void *arg)
{
	errcontext("binding policy \"%s\" again by name after its relation changed identity "
	           "(a restore)",
	           static_cast<const char *>(arg));
}

/* Parses the stored texts again over the restored relation; replaces *trees. */
void
Rebind(int64 id, const char *name, Oid relid, Oid owner, StoredTrees *trees)
{
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute_with_args("SELECT binding->>'trigger', binding->>'keep_when', "
	                      "(binding->'anonymize')::text, (binding->'fingerprint')::text "
	                      "FROM _retention.policy WHERE id = $1 AND binding IS NOT NULL",
	                      1, types, values, nullptr, false, 1);
	pg::Leave(scope);
	if (SPI_processed != 1)
	{
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("policy \"%s\" cannot be bound again to its relation by name", name),
		                errdetail("Its relation is no longer the one it was bound to (the database "
		                          "was restored from a dump), and it has no binding by name."),
		                errhint("Alter the policy's trigger to bind it again.")));
	}
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	char *trigger_text = SPI_getvalue(row, desc, 1);
	char *keep_when_text = SPI_getvalue(row, desc, 2);
	char *anonymize_text = SPI_getvalue(row, desc, 3);
	char *stored_fingerprint = SPI_getvalue(row, desc, 4);
	SPI_freetuptable(SPI_tuptable);
	if (anonymize_text != nullptr && strcmp(anonymize_text, "null") == 0)
	{
		anonymize_text = nullptr;
	}
	List *pairs = JsonPairs(anonymize_text);

	ErrorContextCallback callback = {error_context_stack, BindingContext, const_cast<char *>(name)};
	error_context_stack = &callback;
	scope = pg::Enter(owner, false, nullptr);
	Relation rel = relation_open(relid, AccessShareLock);
	AttrNumber bare = 0;
	StoredTrees bound = {};
	bound.trigger_bin =
	    CompileExpression(rel, trigger_text, ExpressionRole::TRIGGER,
	                      psprintf("trigger of policy \"%s\"", name), 0, &bare, BINDING_ALIAS);
	if (keep_when_text != nullptr)
	{
		bound.keep_when_bin = CompileExpression(rel, keep_when_text, ExpressionRole::KEEP_WHEN,
		                                        psprintf("keep_when of policy \"%s\"", name), 0,
		                                        &bare, BINDING_ALIAS);
	}
	if (pairs != NIL)
	{
		StringInfoData json;
		initStringInfo(&json);
		appendStringInfoChar(&json, '{');
		ListCell *cell;
		foreach (cell, pairs)
		{
			Assignment *pair = static_cast<Assignment *>(lfirst(cell));
			const AttrNumber number = get_attnum(relid, pair->column);
			if (number == InvalidAttrNumber)
			{
				ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
				                errmsg("column \"%s\" anonymized by policy \"%s\" does not exist",
				                       pair->column, name)));
			}
			char *tree = CompileExpression(
			    rel, pair->tree, ExpressionRole::ASSIGN,
			    psprintf("anonymize expression of policy \"%s\" for column \"%s\"", name,
			             pair->column),
			    number, &bare, BINDING_ALIAS);
			appendStringInfo(&json, "%s\"%d\": ", cell == list_head(pairs) ? "" : ", ", number);
			escape_json(&json, tree);
		}
		appendStringInfoChar(&json, '}');
		bound.anonymize_bin = json.data;
	}
	relation_close(rel, NoLock);
	pg::Leave(scope);

	Datum relations;
	bool relations_null;
	char *fingerprint = nullptr;
	char *binding = BindingText(relid, name, &bound, &relations, &relations_null, &fingerprint);
	error_context_stack = callback.previous;

	scope = pg::AsExtensionOwner();
	Oid check_types[3] = {INT8OID, TEXTOID, OIDARRAYOID};
	Datum check_values[3] = {Int64GetDatum(id), CStringGetTextDatum(fingerprint), relations};
	char check_nulls[3] = {' ', ' ', relations_null ? 'n' : ' '};
	SPI_execute_with_args(
	    "SELECT (binding->'fingerprint') = $2::jsonb AND "
	    "(SELECT array_agg(r::oid ORDER BY r::oid) FROM unnest(binding_relations) AS r) "
	    "IS NOT DISTINCT FROM $3 FROM _retention.policy WHERE id = $1",
	    3, check_types, check_values, check_nulls, true, 1);
	bool isnull = true;
	const bool same =
	    SPI_processed == 1 &&
	    DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
	    !isnull;
	if (!same)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		         errmsg("policy \"%s\" cannot be bound again to its relation by name", name),
		         errdetail("Its relation is no longer the one it was bound to (the database was "
		                   "restored from a dump), and the columns, functions or relations its "
		                   "expressions name now differ from those it was bound to: before %s, "
		                   "now %s.",
		                   stored_fingerprint, fingerprint),
		         errhint("Alter the policy's expressions to bind it again, or drop it.")));
	}
	if (!XactReadOnly && !RecoveryInProgress())
	{
		Oid store_types[7] = {INT8OID, OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, OIDARRAYOID};
		Datum store_values[7] = {
		    Int64GetDatum(id),
		    ObjectIdGetDatum(relid),
		    CStringGetTextDatum(bound.trigger_bin),
		    bound.keep_when_bin ? CStringGetTextDatum(bound.keep_when_bin) : Datum(0),
		    bound.anonymize_bin ? CStringGetTextDatum(bound.anonymize_bin) : Datum(0),
		    CStringGetTextDatum(binding),
		    relations};
		char store_nulls[7] = {' ',
		                       ' ',
		                       ' ',
		                       bound.keep_when_bin ? ' ' : 'n',
		                       bound.anonymize_bin ? ' ' : 'n',
		                       ' ',
		                       relations_null ? 'n' : ' '};
		SPI_execute_with_args(
		    "UPDATE _retention.policy SET relid_oid = $2, trigger_bin = $3, keep_when_bin = $4, "
		    "anonymize_bin = $5::jsonb, binding = $6::jsonb, binding_relations = $7::regclass[] "
		    "WHERE id = $1",
		    7, store_types, store_values, store_nulls, false, 0);
	}
	pg::Leave(scope);
	*trees = bound;
}

} // namespace

void
BindPolicy(int64 id, const char *name, Oid relid, Oid owner, StoredTrees *trees)
{
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	pg::Scope scope = pg::AsExtensionOwner();
	/* not read-only: add_policy and alter_policy have just written the row */
	SPI_execute_with_args("SELECT relid_oid FROM _retention.policy WHERE id = $1", 1, types, values,
	                      nullptr, false, 1);
	pg::Leave(scope);
	if (SPI_processed != 1)
	{
		return;
	}
	bool isnull;
	const Oid bound_to =
	    DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (bound_to != relid)
	{
		Rebind(id, name, relid, owner, trees);
		return;
	}
	/* The trees are exact here: keep the names they would be found by after a restore. */
	Datum relations;
	bool relations_null;
	char *fingerprint = nullptr;
	char *binding = BindingText(relid, name, trees, &relations, &relations_null, &fingerprint);
	if (XactReadOnly || RecoveryInProgress())
	{
		return;
	}
	Oid store_types[3] = {INT8OID, TEXTOID, OIDARRAYOID};
	Datum store_values[3] = {Int64GetDatum(id), CStringGetTextDatum(binding), relations};
	char store_nulls[3] = {' ', ' ', relations_null ? 'n' : ' '};
	scope = pg::AsExtensionOwner();
	SPI_execute_with_args("UPDATE _retention.policy SET binding = $2::jsonb, "
	                      "binding_relations = $3::regclass[] WHERE id = $1 AND "
	                      "(binding IS DISTINCT FROM $2::jsonb OR "
	                      "binding_relations::oid[] IS DISTINCT FROM $3)",
	                      3, store_types, store_values, store_nulls, false, 0);
	pg::Leave(scope);
}

void
BindStoredPolicy(int64 id)
{
	/* before ALTER EXTENSION retention UPDATE from 0.1.0 there is nowhere to keep a binding */
	const Oid policy_table = get_relname_relid("policy", get_namespace_oid("_retention", false));
	if (get_attnum(policy_table, "binding") == InvalidAttrNumber)
	{
		return;
	}
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	const pg::Scope scope = pg::AsExtensionOwner();
	SPI_execute_with_args("SELECT p.name, c.oid, c.relowner, p.trigger_bin, p.keep_when_bin, "
	                      "p.anonymize_bin::text FROM _retention.policy AS p "
	                      "JOIN pg_catalog.pg_class AS c ON c.oid = p.relid::oid WHERE p.id = $1",
	                      1, types, values, nullptr, false, 1);
	pg::Leave(scope);
	if (SPI_processed != 1)
	{
		return;
	}
	HeapTuple row = SPI_copytuple(SPI_tuptable->vals[0]);
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	char *name = SPI_getvalue(row, desc, 1);
	const Oid relid = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
	const Oid owner = DatumGetObjectId(SPI_getbinval(row, desc, 3, &isnull));
	StoredTrees trees = {SPI_getvalue(row, desc, 4), SPI_getvalue(row, desc, 5),
	                     SPI_getvalue(row, desc, 6)};
	SPI_freetuptable(SPI_tuptable);
	BindPolicy(id, name, relid, owner, &trees);
}

} // namespace retention::catalog

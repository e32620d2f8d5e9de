/*
 * expression.cpp: parse, analyse, store and deparse policy expressions (see expression.hpp).
 */
#include "catalog/expression.hpp"

extern "C"
{
#include "optimizer/optimizer.h"
}

namespace retention::catalog
{

namespace
{

/*
 * Parses `text` as exactly one scalar expression. The text is parsed as the target list of a
 * SELECT and everything but a single unnamed target is refused, which rules out a second
 * statement, FROM/WHERE clauses, set operations, locking clauses and the like.
 */
Node *
ParseSingleExpression(const char *text, const char *what, const char **source)
{
	char *sql = psprintf("SELECT %s", text);
	*source = sql;
#if PG_VERSION_NUM >= 140000
	List *statements = raw_parser(sql, RAW_PARSE_DEFAULT);
#else
	List *statements = raw_parser(sql);
#endif
	const char *problem = nullptr;
	SelectStmt *select = nullptr;
	if (list_length(statements) != 1)
	{
		problem = "it is more than one statement";
	}
	else
	{
		Node *statement = linitial_node(RawStmt, statements)->stmt;
		if (!IsA(statement, SelectStmt))
		{
			problem = "it is not an expression";
		}
		else
		{
			select = castNode(SelectStmt, statement);
			if (select->op != SETOP_NONE || select->fromClause != NIL ||
			    select->whereClause != nullptr || select->groupClause != NIL ||
			    select->havingClause != nullptr || select->windowClause != NIL ||
			    select->sortClause != NIL || select->limitCount != nullptr ||
			    select->limitOffset != nullptr || select->lockingClause != NIL ||
			    select->withClause != nullptr || select->distinctClause != NIL ||
			    select->intoClause != nullptr || select->valuesLists != NIL)
			{
				problem = "it has clauses besides one expression";
			}
			else if (list_length(select->targetList) != 1)
			{
				problem = "it is not exactly one expression";
			}
			else if (linitial_node(ResTarget, select->targetList)->name != nullptr)
			{
				problem = "it names its result";
			}
		}
	}
	if (problem != nullptr)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_SYNTAX_ERROR), errmsg("%s must be a single SQL expression", what),
		         errdetail("The text \"%s\" was refused because %s.", text, problem)));
	}
	return linitial_node(ResTarget, select->targetList)->val;
}

bool
IsTriggerType(Oid type)
{
	return type == DATEOID || type == TIMESTAMPOID || type == TIMESTAMPTZOID;
}

struct VarCheck
{
	Oid relid;
	const char *what;
	int depth;
};
static_assert(std::is_trivially_destructible_v<VarCheck>,
              "VarCheck lives in frames that call the backend");

/*
 * Checks that every column of the policy's relation that the tree references still exists
 * with the type it had when the policy was added. Descends into sublinks, tracking depth so
 * that an outer reference (varlevelsup) is matched to the right level.
 */
bool
CheckVars(Node *node, VarCheck *check)
{
	if (node == nullptr)
	{
		return false;
	}
	if (IsA(node, Var))
	{
		Var *var = castNode(Var, node);
		if (static_cast<int>(var->varlevelsup) == check->depth && var->varno == 1 &&
		    var->varattno > 0)
		{
			HeapTuple tuple = SearchSysCache2(ATTNUM, ObjectIdGetDatum(check->relid),
			                                  Int16GetDatum(var->varattno));
			bool ok = false;
			if (HeapTupleIsValid(tuple))
			{
				Form_pg_attribute attribute = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tuple));
				ok = !attribute->attisdropped && attribute->atttypid == var->vartype;
				ReleaseSysCache(tuple);
			}
			if (!ok)
			{
				ereport(
				    ERROR,
				    (errcode(ERRCODE_UNDEFINED_COLUMN),
				     errmsg("%s refers to a column that was dropped or changed type", check->what),
				     errdetail("Column number %d of relation %u no longer has type %s.",
				               var->varattno, check->relid, format_type_be(var->vartype)),
				     errhint("Alter or drop the policy.")));
			}
		}
		return false;
	}
	if (IsA(node, Query))
	{
		check->depth++;
		const bool result = query_tree_walker(castNode(Query, node),
		                                      reinterpret_cast<bool (*)()>(CheckVars), check, 0);
		check->depth--;
		return result;
	}
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(CheckVars), check);
}

} // namespace

char *
CompileExpression(Relation rel, const char *text, ExpressionRole role, const char *what,
                  AttrNumber target, AttrNumber *bare_column, const char *alias)
{
	const char *source = nullptr;
	Node *raw = ParseSingleExpression(text, what, &source);

	ParseState *pstate = make_parsestate(nullptr);
	pstate->p_sourcetext = source;
	ParseNamespaceItem *item = addRangeTableEntryForRelation(
	    pstate, rel, AccessShareLock, alias != nullptr ? makeAlias(alias, NIL) : nullptr, false,
	    true);
	addNSItemToQuery(pstate, item, true, true, true);

	Node *expr = transformExpr(pstate, raw, EXPR_KIND_WHERE);
	switch (role)
	{
		case ExpressionRole::TRIGGER:
			if (!IsTriggerType(exprType(expr)))
			{
				ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
				                errmsg("%s must be of type date, timestamp or timestamptz", what),
				                errdetail("The expression \"%s\" is of type %s.", text,
				                          format_type_be(exprType(expr)))));
			}
			break;
		case ExpressionRole::KEEP_WHEN:
			expr = coerce_to_boolean(pstate, expr, "keep_when");
			break;
		case ExpressionRole::ASSIGN:
		{
			const TupleDesc desc = RelationGetDescr(rel);
			Form_pg_attribute column = TupleDescAttr(desc, target - 1);
			Node *coerced = coerce_to_target_type(pstate, expr, exprType(expr), column->atttypid,
			                                      column->atttypmod, COERCION_ASSIGNMENT,
			                                      COERCE_IMPLICIT_CAST, -1);
			if (coerced == nullptr)
			{
				ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
				                errmsg("%s cannot be assigned to column \"%s\"", what,
				                       NameStr(column->attname)),
				                errdetail("The expression is of type %s, the column of type %s.",
				                          format_type_be(exprType(expr)),
				                          format_type_be(column->atttypid))));
			}
			expr = coerced;
			break;
		}
	}
	assign_expr_collations(pstate, expr);
	if (contain_volatile_functions(expr) && role == ExpressionRole::TRIGGER)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("%s must not use volatile functions", what),
		                errdetail("A row's trigger value must not change between two reads.")));
	}
	free_parsestate(pstate);

	*bare_column = 0;
	if (IsA(expr, Var) && castNode(Var, expr)->varattno > 0)
	{
		*bare_column = castNode(Var, expr)->varattno;
	}
	return nodeToString(expr);
}

char *
DeparseExpression(const char *stored, Oid relid, const char *alias, const char *what)
{
	Node *expr = static_cast<Node *>(stringToNode(stored));
	VarCheck check = {relid, what, 0};
	(void)CheckVars(expr, &check);
	List *context = deparse_context_for(alias, relid);
#if PG_VERSION_NUM >= 170000
	/*
	 * PostgreSQL 17 removed override search paths, and a search_path setting always searches
	 * pg_catalog. Deparsed with only pg_catalog on the path, ruleutils names every other
	 * schema's function, operator (OPERATOR(app.<)) and type with its schema and pg_catalog's
	 * without. The text means the same only where pg_catalog is the one schema searched for
	 * functions and operators and the first for types, as pg_dump's output does:
	 * pg::AsRelationOwner parses every statement that embeds it with pg_catalog, pg_temp, and
	 * so does Rebind (catalog/binding.cpp).
	 */
	const int level = NewGUCNestLevel();
	(void)set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_SAVE, true, 0, false);
	char *text = deparse_expression(expr, context, false, false);
	AtEOXact_GUC(false, level);
#else
	/*
	 * Deparsed with nothing on the search path, not even pg_catalog: ruleutils then names every
	 * function, operator (OPERATOR(pg_catalog.<)) and type with its schema, so the text means
	 * the same under the relation owner's search_path, whatever it holds.
	 */
	OverrideSearchPath *nothing =
	    static_cast<OverrideSearchPath *>(palloc0(sizeof(OverrideSearchPath)));
	nothing->schemas = NIL;
	nothing->addCatalog = false;
	nothing->addTemp = false;
	PushOverrideSearchPath(nothing);
	char *text = deparse_expression(expr, context, false, false);
	PopOverrideSearchPath();
#endif
	return text;
}

AttrNumber
StoredBareColumn(const char *stored)
{
	Node *expr = static_cast<Node *>(stringToNode(stored));
	if (IsA(expr, Var) && castNode(Var, expr)->varattno > 0)
	{
		return castNode(Var, expr)->varattno;
	}
	return 0;
}

} // namespace retention::catalog

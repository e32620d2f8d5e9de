/*
 * policy_store.cpp: validation and storage of policies (see policy_store.hpp).
 *
 * Validation runs as the caller, with the caller's search_path, because that is what the
 * caller's expressions mean; the analysed trees bind every name to its object. Storage runs as
 * the extension's owner with a pinned search_path (pg::AsExtensionOwner).
 */
#include "catalog/policy_store.hpp"

#include "catalog/binding.hpp"
#include "catalog/tenants.hpp"

#include "catalog/cutoff_range.hpp"
#include "catalog/expression.hpp"
#include "catalog/relation_rules.hpp"
#include "errors.hpp"
#include "pg/scope.hpp"
#include "policy/settings.hpp"

extern "C"
{
#include "utils/jsonb.h"
}

namespace retention::catalog
{

namespace
{

constexpr const char *COLUMNS[POLICY_ARG_COUNT] = {
    "name",          "relid",          "trigger",    "retain",
    "grace",         "action",         "anonymize",  "keep_when",
    "tenant_column", "subject_column", "min_retain", "max_retain",
    "run_every",     "priority",       "batch_size", "partition_interval",
    "premake",       "archive_to",     "enabled",    "timezone"};

constexpr Oid TYPES[POLICY_ARG_COUNT] = {
    TEXTOID, REGCLASSOID, TEXTOID, INTERVALOID, INTERVALOID, TEXTOID,     JSONBOID,
    TEXTOID, NAMEOID,     NAMEOID, INTERVALOID, INTERVALOID, INTERVALOID, INT4OID,
    INT4OID, INTERVALOID, INT4OID, REGCLASSOID, BOOLOID,     TEXTOID};

/* What validation produces besides the (normalised) input. */
struct Compiled
{
	char *trigger_bin;
	char *keep_when_bin;
	Datum anonymize_bin;
	bool anonymize_bin_null;
	char *relation_name;
};
static_assert(std::is_trivially_destructible_v<Compiled>,
              "Compiled lives in frames that call the backend");

policy::IntervalValue
ToIntervalValue(Datum datum)
{
	const Interval *interval = DatumGetIntervalP(datum);
	return policy::IntervalValue{interval->time, interval->day, interval->month};
}

Datum
IntervalFromText(const char *text)
{
	return DirectFunctionCall3(interval_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid),
	                           Int32GetDatum(-1));
}

bool
IsEmptyText(const PolicyInput *input, int arg)
{
	if (input->isnull[arg])
	{
		return false;
	}
	if (TYPES[arg] == NAMEOID)
	{
		return NameStr(*DatumGetName(input->values[arg]))[0] == '\0';
	}
	return VARSIZE_ANY_EXHDR(DatumGetTextPP(input->values[arg])) == 0;
}

/* Fills add_policy's defaults for arguments given as NULL. */
void
ApplyDefaults(PolicyInput *input)
{
	auto set_default = [input](int arg, Datum value)
	{
		if (input->isnull[arg])
		{
			input->values[arg] = value;
			input->isnull[arg] = false;
		}
	};
	set_default(ARG_GRACE, IntervalFromText("0"));
	set_default(ARG_ACTION, CStringGetTextDatum("delete"));
	set_default(ARG_RUN_EVERY, IntervalFromText("1 hour"));
	set_default(ARG_PRIORITY, Int32GetDatum(100));
	set_default(ARG_BATCH_SIZE, Int32GetDatum(10000));
	set_default(ARG_PREMAKE, Int32GetDatum(4));
	set_default(ARG_ENABLED, BoolGetDatum(true));
	set_default(ARG_TIMEZONE, CStringGetTextDatum(GetConfigOption("TimeZone", false, false)));
	/* '' clears an optional text setting */
	for (int arg : {ARG_KEEP_WHEN, ARG_TENANT_COLUMN, ARG_SUBJECT_COLUMN})
	{
		if (IsEmptyText(input, arg))
		{
			input->isnull[arg] = true;
		}
	}
}

void
RequireArgument(const PolicyInput *input, int arg)
{
	if (input->isnull[arg])
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("%s must not be NULL", COLUMNS[arg])));
	}
}

AttrNumber
ColumnNumber(Relation rel, const char *column, const char *what)
{
	const AttrNumber number = get_attnum(RelationGetRelid(rel), column);
	if (number <= 0)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("%s column \"%s\" of relation \"%s\" does not exist", what, column,
		                       RelationGetRelationName(rel))));
	}
	return number;
}

/*
 * The scalar settings, checked by the pure validation in policy/settings. Settings is plain
 * data (its name points to the palloc'd copy), so the backend calls around it may raise.
 */
void
ValidateScalars(const PolicyInput *input)
{
	policy::Settings settings;
	settings.name = TextDatumGetCString(input->values[ARG_NAME]);
	const char *action = TextDatumGetCString(input->values[ARG_ACTION]);
	settings.action = policy::ParseAction(action);
	settings.retain = ToIntervalValue(input->values[ARG_RETAIN]);
	settings.grace = ToIntervalValue(input->values[ARG_GRACE]);
	if (!input->isnull[ARG_MIN_RETAIN])
	{
		settings.min_retain = ToIntervalValue(input->values[ARG_MIN_RETAIN]);
	}
	if (!input->isnull[ARG_MAX_RETAIN])
	{
		settings.max_retain = ToIntervalValue(input->values[ARG_MAX_RETAIN]);
	}
	settings.run_every = ToIntervalValue(input->values[ARG_RUN_EVERY]);
	if (!input->isnull[ARG_PARTITION_INTERVAL])
	{
		settings.partition_interval = ToIntervalValue(input->values[ARG_PARTITION_INTERVAL]);
	}
	settings.batch_size = DatumGetInt32(input->values[ARG_BATCH_SIZE]);
	settings.premake = DatumGetInt32(input->values[ARG_PREMAKE]);
	settings.has_anonymize = !input->isnull[ARG_ANONYMIZE];
	settings.has_archive = !input->isnull[ARG_ARCHIVE_TO];
	policy::ValidateSettings(settings);
	if (!policy::PremakeOutlastsRunEvery(settings))
	{
		ereport(
		    WARNING,
		    (errmsg("policy \"%s\": premake partitions do not reach the next run", settings.name),
		     errdetail("Partitions are created at each run, every run_every; premake "
		               "intervals of partition_interval ahead is less than that."),
		     errhint("Raise premake, or lower run_every, or rows will land in the default "
		             "partition (or fail without one) between runs.")));
	}
}

/*
 * anonymize: a JSON object mapping column names to SQL expressions. Each expression is
 * compiled against its column; the result maps column numbers to stored trees.
 */
void
CompileAnonymize(Relation rel, PolicyInput *input, Compiled *out)
{
	out->anonymize_bin_null = true;
	if (input->isnull[ARG_ANONYMIZE])
	{
		return;
	}
	Jsonb *jsonb = DatumGetJsonbP(input->values[ARG_ANONYMIZE]);
	if (!JB_ROOT_IS_OBJECT(jsonb) || JB_ROOT_COUNT(jsonb) == 0)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("anonymize must be a non-empty JSON object"),
		                errhint("Map each column to an SQL expression, as in "
		                        "'{\"phone\": \"NULL\"}'.")));
	}
	StringInfoData result;
	initStringInfo(&result);
	appendStringInfoChar(&result, '{');
	JsonbIterator *it = JsonbIteratorInit(&jsonb->root);
	JsonbValue key;
	JsonbValue value;
	JsonbIteratorToken token;
	bool first = true;
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (token != WJB_KEY)
		{
			continue;
		}
		token = JsonbIteratorNext(&it, &value, true);
		char *column = pnstrdup(key.val.string.val, key.val.string.len);
		if (value.type != jbvString)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			         errmsg("anonymize expression for column \"%s\" must be a JSON string", column),
			         errhint("Write SQL as a string, for example \"NULL\" or \"'redacted'\".")));
		}
		char *expression = pnstrdup(value.val.string.val, value.val.string.len);
		const AttrNumber number = ColumnNumber(rel, column, "anonymize");
		AttrNumber bare = 0;
		char *what = psprintf("anonymize expression for column \"%s\"", column);
		char *stored =
		    CompileExpression(rel, expression, ExpressionRole::ASSIGN, what, number, &bare);
		if (!first)
		{
			appendStringInfoChar(&result, ',');
		}
		first = false;
		appendStringInfo(&result, "\"%d\":", number);
		escape_json(&result, stored);
	}
	appendStringInfoChar(&result, '}');
	out->anonymize_bin = DirectFunctionCall1(jsonb_in, CStringGetDatum(result.data));
	out->anonymize_bin_null = false;
}

void
CheckPartitioning(Relation rel, AttrNumber trigger_column)
{
	bool ok = false;
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE && trigger_column > 0)
	{
		PartitionKey key = RelationGetPartitionKey(rel);
		ok = key->strategy == PARTITION_STRATEGY_RANGE && key->partnatts == 1 &&
		     key->partattrs[0] == trigger_column;
	}
	if (!ok)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("partition_interval needs \"%s\" to be range-partitioned on the "
		                       "trigger column",
		                       RelationGetRelationName(rel)),
		                errhint("The trigger must be a bare column that is the table's only "
		                        "partition key column.")));
	}
	/* the worker keeps one level of partitions; deeper levels would be a second scheme */
	List *children = find_inheritance_children(RelationGetRelid(rel), AccessShareLock);
	ListCell *cell;
	foreach (cell, children)
	{
		if (get_rel_relkind(lfirst_oid(cell)) == RELKIND_PARTITIONED_TABLE)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			         errmsg("partition_interval does not apply to sub-partitioned table \"%s\"",
			                RelationGetRelationName(rel)),
			         errdetail("Partition \"%s\" is itself partitioned.",
			                   get_rel_name(lfirst_oid(cell))),
			         errhint("Put the policy on a table with one level of partitions, or "
			                 "leave partition_interval unset to purge row by row.")));
		}
	}
}

/*
 * archive_to: a table or foreign table that a policy may touch (see relation_rules.hpp), with
 * the same column names and types.
 */
void
CheckArchive(Relation rel, Oid archive_id)
{
	Relation archive = relation_open(archive_id, AccessShareLock);
	CheckPolicyRelation(archive_id, RelationUse::ARCHIVE, nullptr);
	bool ok = true;
	int columns = 0;
	int archive_columns = 0;
	const TupleDesc desc = RelationGetDescr(rel);
	const TupleDesc archive_desc = RelationGetDescr(archive);
	for (int i = 0; ok && i < desc->natts; i++)
	{
		Form_pg_attribute column = TupleDescAttr(desc, i);
		if (column->attisdropped)
		{
			continue;
		}
		columns++;
		const AttrNumber other = get_attnum(archive_id, NameStr(column->attname));
		ok = other > 0 && get_atttype(archive_id, other) == column->atttypid;
	}
	for (int i = 0; i < archive_desc->natts; i++)
	{
		archive_columns += TupleDescAttr(archive_desc, i)->attisdropped ? 0 : 1;
	}
	ok = ok && columns == archive_columns;
	relation_close(archive, AccessShareLock);
	if (!ok)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("archive_to must be a table with the same columns as \"%s\"",
		                       RelationGetRelationName(rel)),
		                errdetail("Every column needs a column of the same name and type in the "
		                          "archive, and the archive no others.")));
	}
}

void
CheckTimezone(const PolicyInput *input)
{
	char *zone = TextDatumGetCString(input->values[ARG_TIMEZONE]);
	/* changeVal = false: only the check hook runs, raising 22023 for an unknown zone */
	(void)set_config_option("TimeZone", zone, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET, false,
	                        ERROR, false);
}

/* Text form of an input value, for the change log (NULL stays NULL). */
char *
ValueText(const PolicyInput *input, int arg)
{
	if (input->isnull[arg])
	{
		return nullptr;
	}
	Oid output;
	bool varlena;
	getTypeOutputInfo(TYPES[arg], &output, &varlena);
	return OidOutputFunctionCall(output, input->values[arg]);
}

/*
 * retain and grace so large that the cutoff (now - grace) - retain leaves the timestamp range
 * would make every run of the policy fail: refused (22023). After ValidateScalars (signs) and
 * CheckTimezone (the zone the cutoff is computed in).
 */
void
CheckCutoff(const PolicyInput *input)
{
	const Interval *retain = DatumGetIntervalP(input->values[ARG_RETAIN]);
	const Interval *grace = DatumGetIntervalP(input->values[ARG_GRACE]);
	if (FirstCutoffOutOfRange(grace, &retain, 1, TextDatumGetCString(input->values[ARG_TIMEZONE])) <
	    0)
	{
		return;
	}
	ereport(ERROR,
	        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
	         errmsg("retain %s and grace %s of policy \"%s\" put the cutoff out of range",
	                ValueText(input, ARG_RETAIN), ValueText(input, ARG_GRACE),
	                TextDatumGetCString(input->values[ARG_NAME])),
	         errdetail("Rows expire before (now - grace) - retain, which must lie within the range "
	                   "of timestamp with time zone (4714 BC to 294276 AD)."),
	         errhint("Choose a shorter retain or grace.")));
}

/*
 * Validates a complete input (defaults applied) as the caller; compiles its expressions.
 * Leaves the relation locked (AccessShareLock) until the end of the transaction.
 */
void
Validate(PolicyInput *input, Compiled *out)
{
	for (int arg : {ARG_NAME, ARG_RELATION, ARG_TRIGGER, ARG_RETAIN})
	{
		RequireArgument(input, arg);
	}
	const Oid relid = DatumGetObjectId(input->values[ARG_RELATION]);
	Relation rel = relation_open(relid, AccessShareLock);
	const char kind = rel->rd_rel->relkind;
	/*
	 * As before: a relation that is not a table says so (42809) whoever asks; on a table,
	 * ownership comes first. Then the relations no policy may touch (see relation_rules.hpp).
	 */
	if ((kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE) && !pg::OwnsRelation(relid))
	{
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(kind), RelationGetRelationName(rel));
	}
	CheckPolicyRelation(relid, RelationUse::DECLARE, nullptr);
	ValidateScalars(input);
	CheckTimezone(input);
	CheckCutoff(input);

	AttrNumber trigger_column = 0;
	out->trigger_bin = CompileExpression(rel, TextDatumGetCString(input->values[ARG_TRIGGER]),
	                                     ExpressionRole::TRIGGER, "trigger", 0, &trigger_column);
	out->keep_when_bin = nullptr;
	if (!input->isnull[ARG_KEEP_WHEN])
	{
		AttrNumber ignored = 0;
		out->keep_when_bin =
		    CompileExpression(rel, TextDatumGetCString(input->values[ARG_KEEP_WHEN]),
		                      ExpressionRole::KEEP_WHEN, "keep_when", 0, &ignored);
	}
	CompileAnonymize(rel, input, out);
	if (!input->isnull[ARG_TENANT_COLUMN])
	{
		(void)ColumnNumber(rel, NameStr(*DatumGetName(input->values[ARG_TENANT_COLUMN])), "tenant");
	}
	if (!input->isnull[ARG_SUBJECT_COLUMN])
	{
		(void)ColumnNumber(rel, NameStr(*DatumGetName(input->values[ARG_SUBJECT_COLUMN])),
		                   "subject");
	}
	if (!input->isnull[ARG_PARTITION_INTERVAL])
	{
		CheckPartitioning(rel, trigger_column);
	}
	if (!input->isnull[ARG_ARCHIVE_TO])
	{
		CheckArchive(rel, DatumGetObjectId(input->values[ARG_ARCHIVE_TO]));
	}
	out->relation_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
	                                                RelationGetRelationName(rel));
	relation_close(rel, NoLock);
}

char *
CurrentRoleName()
{
	return GetUserNameFromId(GetUserId(), false);
}

void
LogChange(int64 policy_id, const char *policy_name, const char *setting, const char *old_value,
          const char *new_value, const char *direction, int version, const char *changed_by)
{
	Oid types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
	Datum values[8] = {Int64GetDatum(policy_id),
	                   CStringGetTextDatum(policy_name),
	                   CStringGetTextDatum(setting),
	                   old_value ? CStringGetTextDatum(old_value) : 0,
	                   new_value ? CStringGetTextDatum(new_value) : 0,
	                   direction ? CStringGetTextDatum(direction) : 0,
	                   Int32GetDatum(version),
	                   CStringGetTextDatum(changed_by)};
	char nulls[8] = {
	    ' ', ' ', ' ', old_value ? ' ' : 'n', new_value ? ' ' : 'n', direction ? ' ' : 'n',
	    ' ', ' '};
	SPI_execute_with_args("INSERT INTO _retention.policy_change (policy_id, policy_name, setting, "
	                      "old_value, new_value, direction, policy_version, changed_by) "
	                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	                      8, types, values, nulls, false, 0);
}

/* The SQL parameter list of every stored column, for INSERT and UPDATE. */
void
BindStored(const PolicyInput *input, const Compiled *compiled, Oid *types, Datum *values,
           char *nulls)
{
	for (int arg = 0; arg < POLICY_ARG_COUNT; arg++)
	{
		types[arg] = TYPES[arg];
		values[arg] = input->values[arg];
		nulls[arg] = input->isnull[arg] ? 'n' : ' ';
	}
	if (compiled->trigger_bin == nullptr)
	{
		return; /* nothing compiled: the settings alone are stored */
	}
	int next = POLICY_ARG_COUNT;
	types[next] = OIDOID;
	values[next] = input->values[ARG_RELATION];
	nulls[next++] = ' ';
	types[next] = TEXTOID;
	values[next] = CStringGetTextDatum(compiled->relation_name);
	nulls[next++] = ' ';
	types[next] = TEXTOID;
	values[next] = CStringGetTextDatum(compiled->trigger_bin);
	nulls[next++] = ' ';
	types[next] = TEXTOID;
	values[next] = compiled->keep_when_bin ? CStringGetTextDatum(compiled->keep_when_bin) : 0;
	nulls[next++] = compiled->keep_when_bin ? ' ' : 'n';
	types[next] = JSONBOID;
	values[next] = compiled->anonymize_bin;
	nulls[next++] = compiled->anonymize_bin_null ? 'n' : ' ';
}

constexpr int STORED_PARAMS = POLICY_ARG_COUNT + 5;
constexpr const char *EXTRA_COLUMNS[5] = {"relid_oid", "relation_name", "trigger_bin",
                                          "keep_when_bin", "anonymize_bin"};

bool
PolicyExists(const char *name)
{
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(name)};
	SPI_execute_with_args("SELECT 1 FROM _retention.policy WHERE name = $1", 1, types, values,
	                      nullptr, true, 1);
	return SPI_processed > 0;
}

} // namespace

int64
AddPolicy(PolicyInput *input)
{
	ApplyDefaults(input);
	Compiled compiled;
	Validate(input, &compiled);
	char *name = TextDatumGetCString(input->values[ARG_NAME]);
	char *changed_by = CurrentRoleName();

	SPI_connect();
	const pg::Scope scope = pg::AsExtensionOwner();
	if (PolicyExists(name))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_DUPLICATE_OBJECT), errmsg("policy \"%s\" already exists", name)));
	}
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "INSERT INTO _retention.policy (");
	for (int i = 0; i < STORED_PARAMS; i++)
	{
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "",
		                 i < POLICY_ARG_COUNT ? COLUMNS[i] : EXTRA_COLUMNS[i - POLICY_ARG_COUNT]);
	}
	appendStringInfoString(&sql, ", created_by) VALUES (");
	for (int i = 0; i < STORED_PARAMS; i++)
	{
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	}
	appendStringInfo(&sql, ", $%d) RETURNING id", STORED_PARAMS + 1);

	Oid types[STORED_PARAMS + 1];
	Datum values[STORED_PARAMS + 1];
	char nulls[STORED_PARAMS + 1];
	BindStored(input, &compiled, types, values, nulls);
	types[STORED_PARAMS] = TEXTOID;
	values[STORED_PARAMS] = CStringGetTextDatum(changed_by);
	nulls[STORED_PARAMS] = ' ';
	if (SPI_execute_with_args(sql.data, STORED_PARAMS + 1, types, values, nulls, false, 1) !=
	        SPI_OK_INSERT_RETURNING ||
	    SPI_processed != 1)
	{
		elog(ERROR, "could not insert policy \"%s\"", name);
	}
	bool isnull;
	const int64 id =
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	LogChange(id, name, "policy", nullptr, "created", nullptr, 1, changed_by);
	pg::Leave(scope);
	BindStoredPolicy(id);
	SPI_finish();
	return id;
}

int64
FindPolicyForOwner(const char *name, Oid *relid)
{
	SPI_connect();
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(name)};
	SPI_execute_with_args("SELECT id, relid::oid FROM _retention.policy WHERE name = $1", 1, types,
	                      values, nullptr, true, 1);
	pg::Leave(scope);
	if (SPI_processed == 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("policy \"%s\" does not exist", name)));
	}
	bool isnull;
	const int64 id =
	    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*relid =
	    DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(*relid)))
	{
		*relid = InvalidOid;
		if (!superuser())
		{
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("permission denied for policy \"%s\"", name),
			                errdetail("Its relation no longer exists; only a superuser may "
			                          "manage the policy.")));
		}
	}
	else if (!pg::OwnsRelation(*relid))
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied for policy \"%s\"", name),
		                errdetail("Only the owner of relation \"%s\" may manage its policies.",
		                          get_rel_name(*relid))));
	}
	return id;
}

void
AlterPolicy(const char *name, const PolicyInput *changes)
{
	Oid relid;
	const int64 id = FindPolicyForOwner(name, &relid);
	char *changed_by = CurrentRoleName();

	/* Load the stored settings in add_policy's order. */
	SPI_connect();
	pg::Scope scope = pg::AsExtensionOwner();
	StringInfoData sql;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < POLICY_ARG_COUNT; i++)
	{
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "", COLUMNS[i]);
	}
	appendStringInfoString(&sql, ", version FROM _retention.policy WHERE id = $1 FOR UPDATE");
	Oid id_type[1] = {INT8OID};
	Datum id_value[1] = {Int64GetDatum(id)};
	SPI_execute_with_args(sql.data, 1, id_type, id_value, nullptr, false, 1);
	if (SPI_processed != 1)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("policy \"%s\" does not exist", name)));
	}
	PolicyInput before;
	PolicyInput after;
	HeapTuple row = SPI_copytuple(SPI_tuptable->vals[0]);
	TupleDesc desc = SPI_tuptable->tupdesc;
	for (int i = 0; i < POLICY_ARG_COUNT; i++)
	{
		before.values[i] = SPI_getbinval(row, desc, i + 1, &before.isnull[i]);
	}
	bool isnull;
	const int version = DatumGetInt32(SPI_getbinval(row, desc, POLICY_ARG_COUNT + 1, &isnull));
	pg::Leave(scope);

	after = before;
	for (int i = ARG_TRIGGER; i < POLICY_ARG_COUNT; i++)
	{
		if (!changes->isnull[i])
		{
			after.values[i] = changes->values[i];
			after.isnull[i] = false;
		}
	}
	if (!changes->isnull[ARG_ANONYMIZE] &&
	    JB_ROOT_COUNT(DatumGetJsonbP(changes->values[ARG_ANONYMIZE])) == 0)
	{
		after.isnull[ARG_ANONYMIZE] = true; /* '{}' clears */
	}
	ApplyDefaults(&after);

	/*
	 * A policy whose relation was dropped stays visible and failing until it is dropped or
	 * altered; only the settings that do not need the relation can change then.
	 */
	const bool relation_gone = relid == InvalidOid;
	Compiled compiled = {};
	if (relation_gone)
	{
		for (int i : {ARG_TRIGGER, ARG_ANONYMIZE, ARG_KEEP_WHEN, ARG_TENANT_COLUMN,
		              ARG_SUBJECT_COLUMN, ARG_PARTITION_INTERVAL, ARG_ARCHIVE_TO})
		{
			if (!changes->isnull[i])
			{
				ereport(ERROR,
				        (errcode(ERRCODE_UNDEFINED_TABLE),
				         errmsg("cannot change %s of policy \"%s\": its relation no longer exists",
				                COLUMNS[i], name),
				         errhint("Drop the policy, or disable it.")));
			}
		}
		ValidateScalars(&after);
		CheckTimezone(&after);
		CheckCutoff(&after);
	}
	else
	{
		Validate(&after, &compiled);
	}
	CheckOverridesWithinBounds(id, name, &after);
	CheckOverrideCutoffs(id, name, &after);

	scope = pg::AsExtensionOwner();
	const int new_version = version + 1;
	int changed = 0;
	for (int i = ARG_TRIGGER; i < POLICY_ARG_COUNT; i++)
	{
		char *old_text = ValueText(&before, i);
		char *new_text = ValueText(&after, i);
		const bool same =
		    (old_text == nullptr && new_text == nullptr) ||
		    (old_text != nullptr && new_text != nullptr && strcmp(old_text, new_text) == 0);
		if (same)
		{
			continue;
		}
		const char *direction = nullptr;
		if (i == ARG_RETAIN)
		{
			direction = policy::ChangeDirection(ToIntervalValue(before.values[i]),
			                                    ToIntervalValue(after.values[i]));
		}
		LogChange(id, name, COLUMNS[i], old_text, new_text, direction, new_version, changed_by);
		changed++;
	}
	if (changed > 0)
	{
		resetStringInfo(&sql);
		appendStringInfoString(&sql, "UPDATE _retention.policy SET ");
		const int columns = relation_gone ? POLICY_ARG_COUNT : STORED_PARAMS;
		for (int i = 0; i < columns; i++)
		{
			appendStringInfo(
			    &sql, "%s = $%d, ",
			    i < POLICY_ARG_COUNT ? COLUMNS[i] : EXTRA_COLUMNS[i - POLICY_ARG_COUNT], i + 1);
		}
		appendStringInfo(&sql, "version = %d WHERE id = $%d", new_version, columns + 1);
		Oid types[STORED_PARAMS + 1];
		Datum values[STORED_PARAMS + 1];
		char nulls[STORED_PARAMS + 1];
		BindStored(&after, &compiled, types, values, nulls);
		types[columns] = INT8OID;
		values[columns] = Int64GetDatum(id);
		nulls[columns] = ' ';
		SPI_execute_with_args(sql.data, columns + 1, types, values, nulls, false, 0);
		/* the next run stays run_every after the start of the last one, with the new period */
		Oid schedule_types[2] = {INT8OID, INTERVALOID};
		Datum schedule_values[2] = {Int64GetDatum(id), after.values[ARG_RUN_EVERY]};
		SPI_execute_with_args("UPDATE _retention.policy_state "
		                      "SET next_run_at = last_started_at + $2 "
		                      "WHERE policy_id = $1 AND last_started_at IS NOT NULL "
		                      "AND consecutive_failures = 0",
		                      2, schedule_types, schedule_values, nullptr, false, 0);
	}
	pg::Leave(scope);
	if (changed > 0 && !relation_gone)
	{
		BindStoredPolicy(id);
	}
	SPI_finish();
}

void
DropPolicy(const char *name)
{
	Oid relid;
	const int64 id = FindPolicyForOwner(name, &relid);
	char *changed_by = CurrentRoleName();
	SPI_connect();
	const pg::Scope scope = pg::AsExtensionOwner();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	SPI_execute_with_args("DELETE FROM _retention.policy WHERE id = $1 RETURNING version", 1, types,
	                      values, nullptr, false, 1);
	bool isnull;
	const int version =
	    SPI_processed == 1
	        ? DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))
	        : 1;
	LogChange(id, name, "policy", "created", "dropped", nullptr, version, changed_by);
	pg::Leave(scope);
	SPI_finish();
}

} // namespace retention::catalog

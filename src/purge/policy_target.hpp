/*
 * policy_target.hpp: a policy loaded for execution: its settings, the relation's current
 * owner and name, and its expressions deparsed to SQL for the relation as it is now.
 *
 * Shared by runs and previews so that both decide expiry with the same SQL.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::purge
{

/*
 * The tenant periods of a pass as statement parameters: $6 the tenants (an array of the tenant
 * column's base type), $7 their cutoffs (timestamptz[]). Passed as values rather than written
 * into the SQL, so that batches do not parse and fold thousands of literals each.
 */
constexpr int TENANT_KEYS_PARAM = 6;
constexpr int TENANT_CUTOFFS_PARAM = 7;

struct TenantCutoffs
{
	Oid array_type;
	Datum tenants;
	Datum cutoffs;
};
static_assert(std::is_trivially_destructible_v<TenantCutoffs>,
              "TenantCutoffs lives in frames that call the backend");

struct PolicyTarget
{
	int64 id;
	char *name;
	Oid relid;           /* InvalidOid when the relation no longer exists */
	char *relation_name; /* schema-qualified and quoted; last known name if dropped */
	char *alias;         /* the relation's own name: expressions may qualify columns with it */
	Oid owner;
	char *search_path; /* the owner's (pg::OwnerSearchPath): its statements run with it */
	char *trigger_bin;
	char *keep_when_bin;
	char *trigger_sql; /* deparsed at Prepare() */
	char *keep_when_sql;
	bool keep_when_has_sublink; /* reads other tables: needs index scans of its own */
	AttrNumber trigger_column;  /* of the policy's relation, when the trigger is a bare column */
	Interval retain;
	Interval grace;
	Interval run_every;
	int batch_size;
	int version;
	char *timezone;
	char *action;
	bool enabled;
	int consecutive_failures;
	bool partitioned_by_policy; /* partition_interval set: the worker keeps the partitions */
	Interval partition_interval;
	int premake;
	Oid archive_to;        /* InvalidOid: none */
	char *held_sql;        /* rows covered by active legal holds; nullptr: none */
	char *holds_signature; /* which holds held_sql reflects */
	char *tenant_column;   /* nullptr: none */
	List *tenant_periods;  /* TenantPeriod *, ordered by retain */
	char *tenant_filter;   /* the tenants of the current pass (see Pass); nullptr: all */
	const TenantCutoffs *tenant_cutoffs; /* its parameters, with tenant_filter */
	bool anonymizes;                     /* action anonymize */
	char *anonymize_bin;                 /* {"attnum": stored tree, ...} as text */
	char *set_sql;                       /* "col" = (expr), ...: deparsed at Prepare() */
	char *differs_sql; /* a row still to anonymise: some column differs from its value */
};
static_assert(std::is_trivially_destructible_v<PolicyTarget>,
              "PolicyTarget lives in frames that call the backend");

/* One tenant's own retain (retention.set_tenant_retain). */
struct TenantPeriod
{
	char *tenant;
	Interval retain;
};
static_assert(std::is_trivially_destructible_v<TenantPeriod>,
              "TenantPeriod lives in frames that call the backend");

/*
 * A tenant whose period is shorter than the policy's. When a leaf is walked by index (few rows
 * expired at the policy's cutoff), the main walk stops at the policy's cutoff and each such
 * tenant's newer expired rows are walked apart through an index on (tenant, trigger), instead
 * of the main walk visiting every tenant's rows up to the latest cutoff.
 */
struct ShortTenant
{
	char *filter; /* "alias.tenant = 'value'::type AND (trigger) >= own cutoff" */
	TimestampTz cutoff;
};
static_assert(std::is_trivially_destructible_v<ShortTenant>,
              "ShortTenant lives in frames that call the backend");

/*
 * The passes of a run over its relation: today always one. Without tenant periods its rows
 * are compared with the policy's cutoff; with them, each row with its tenant's cutoff
 * (retention.tenant_cutoff, one hash probe per row), and the latest cutoff bounds the walk.
 */
struct Pass
{
	TimestampTz cutoff; /* $1 of the pass's statements: the bound of its walk */
	TimestampTz
	    record_cutoff;    /* the cutoff its audit rows record: the policy's own or the period's */
	TimestampTz earliest; /* the range of the cutoffs the pass applies */
	TimestampTz latest;
	char *tenant_filter; /* SQL over the alias and $6, $7; nullptr: every row */
	TenantCutoffs *tenant_cutoffs;
	TimestampTz own_cutoff; /* the policy's own cutoff */
	List *short_tenants;    /* ShortTenant *: periods shorter than the policy's */
};
static_assert(std::is_trivially_destructible_v<Pass>, "Pass lives in frames that call the backend");

/*
 * Loads policy `id` (as the extension's owner). Returns false when it no longer exists.
 * Allocates in CurrentMemoryContext; requires an SPI connection.
 */
bool LoadTarget(int64 id, PolicyTarget *target);

/*
 * Refuses a relation (or archive) that no policy may touch (catalog/relation_rules.hpp), then
 * deparses the expressions for the relation as it is now; errors if it no longer fits.
 */
void PrepareTarget(PolicyTarget *target);

/* cutoff = (as_of - grace) - retain in the policy's timezone. */
TimestampTz ComputeCutoff(const PolicyTarget *target, TimestampTz as_of);

/* The passes of a run at `as_of` (a List of Pass *), after PrepareTarget. */
List *PlanPasses(const PolicyTarget *target, TimestampTz as_of);

/* The earliest and the latest cutoff over the passes. */
void CutoffRange(List *passes, TimestampTz *earliest, TimestampTz *latest);

/*
 * Reads the active legal holds into held_sql; returns whether they changed since the last
 * call. Call after catalog::LockHolds() when rows are about to be removed.
 */
bool RefreshHolds(PolicyTarget *target);

/*
 * "(trigger) < $1 AND (keep_when) IS NOT TRUE AND (held) IS NOT TRUE": the expiry rule as SQL
 * over the alias.
 */
char *ExpiredCondition(const PolicyTarget *target, int cutoff_param);

/* Makes the pass's tenant filter the target's (nullptr: none). */
void UsePass(PolicyTarget *target, const Pass *pass);

/*
 * SPI_execute_with_args of a statement built from the target's conditions: adds the tenant
 * parameters of the current pass, if any, after the statement's own `nargs` (at most 5).
 */
int ExecuteForTarget(const PolicyTarget *target, const char *sql, int nargs, const Oid *types,
                     const Datum *values, bool read_only);

/*
 * Planner settings for one statement: `tid_only` leaves a TID (range) scan as the only way to
 * read the leaf (index scans of other tables stay possible); `all_scans_but_tid` disables index
 * scans too; `row_lock_wait` bounds how long a statement may wait for a lock
 * (retention.lock_timeout). Returns the GUC nesting level to pass to AtEOXact_GUC; aborting the
 * (sub)transaction undoes them as well.
 */
int ScanSettings(bool tid_only, bool all_scans_but_tid, bool row_lock_wait);

/* The rows as a tid[] (palloc'd). */
ArrayType *TidArray(const ItemPointerData *tids, int count);

/*
 * Whether an error of a statement over some rows may be due to one of those rows (a data
 * error, a raise in a function), rather than to the statement or the session (a privilege,
 * a missing object, a lock timeout, resources), which no row by row retry can fix.
 */
bool RowError(const ErrorData *error);

/*
 * Row by row evaluation, for when a statement over many rows raised because a policy's
 * expression (trigger, keep_when, anonymize) fails for some row: SPEC "Failures" makes that a
 * failure of the row, never of the policy. The given rows of one leaf are evaluated by `sql`
 * (over `$1` the cutoff and `$2` a tid[], plus the current pass's tenant parameters) in a
 * subtransaction; a set of rows that raises is halved, down to single rows, which are counted
 * in `failed` with the first error kept in words a DBA can act on. `found` is called with
 * SPI_tuptable holding what the statement returned for each set of rows that evaluated.
 * Costs one subtransaction per call when nothing fails; only the careful paths use it.
 */
struct RowCheck
{
	const PolicyTarget *target;
	const char *leaf_name;   /* schema-qualified and quoted, for the error text */
	const char *from_clause; /* ONLY leaf AS alias */
	const char *sql;
	TimestampTz cutoff;
	void (*found)(void *context);
	void *context;
	MemoryContext error_context; /* where first_error is allocated */
	int64 failed;
	char *first_error;
};
static_assert(std::is_trivially_destructible_v<RowCheck>,
              "RowCheck lives in frames that call the backend");

void CheckRows(RowCheck *check, const ItemPointerData *tids, int count);

/*
 * The text for an error `message` of the row `tid` of the check's leaf, in words a DBA can act
 * on: which of the policy's expressions raises for the row (each is tried alone on it, in a
 * subtransaction), where the row is, and the error. nullptr when none raises, unless `always`.
 * The row is named by its ctid, never by its values: the audit log keeps this text for good
 * and must not hold personal data. Only check's target, leaf_name, from_clause and cutoff are
 * used.
 */
char *ExpressionErrorText(const RowCheck *check, const ItemPointerData *tid, const char *message,
                          bool always);

/* The policies to consider, in run order (priority, name): a List of palloc'd int64 ids. */
List *ListPolicyIds(bool enabled_only, bool owned_only);

/* The enabled policies that are due now (next_run_at passed, or never run), in run order. */
List *ListDuePolicyIds();

/*
 * Marks runs left 'running' by a session or worker that no longer runs them as 'interrupted'
 * (after a crash, a kill, a restart), in _retention.run and in the run state.
 */
void MarkInterruptedRuns();

} // namespace retention::purge

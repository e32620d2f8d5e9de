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

struct PolicyTarget
{
	int64 id;
	char *name;
	Oid relid;           /* InvalidOid when the relation no longer exists */
	char *relation_name; /* schema-qualified and quoted; last known name if dropped */
	char *alias;         /* the relation's own name: expressions may qualify columns with it */
	Oid owner;
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

/* One tenant's own retain (retention.set_tenant_retain). */
struct TenantPeriod
{
	char *tenant;
	Interval retain;
};

/*
 * A tenant whose period is shorter than the policy's. When a leaf is walked by index (few rows
 * expired at the policy's cutoff), the main walk stops at the policy's cutoff and each such
 * tenant's newer expired rows are walked apart through an index on (tenant, trigger), instead
 * of the main walk visiting every tenant's rows up to the latest cutoff.
 */
struct ShortTenant
{
	char *filter; /* "alias.tenant = 'value'::type" */
	TimestampTz cutoff;
};

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

/*
 * Loads policy `id` (as the extension's owner). Returns false when it no longer exists.
 * Allocates in CurrentMemoryContext; requires an SPI connection.
 */
bool LoadTarget(int64 id, PolicyTarget *target);

/* Deparses the expressions for the relation as it is now; errors if it no longer fits. */
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

/*
 * srf.hpp: set-returning functions in materialize mode, for every supported version
 * (InitMaterializedSRF exists only from PostgreSQL 15).
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::pg
{

struct Materialized
{
	Tuplestorestate *store;
	TupleDesc desc;
};
static_assert(std::is_trivially_destructible_v<Materialized>,
              "Materialized lives in frames that call the backend");

/* Sets up fcinfo's result as a tuplestore; raises if the caller cannot take one. */
Materialized BeginMaterialized(FunctionCallInfo fcinfo);

} // namespace retention::pg

/*
 * sql_function.hpp: the one guard between C++ and PostgreSQL for SQL-callable functions.
 *
 * PostgreSQL reports errors with longjmp; C++ reports them with exceptions. Neither may cross
 * the other's frames. RETENTION_SQL_FUNCTION(name) defines the exported V1 function `name` that
 * calls the body inside a catch-all; once the C++ stack has unwound, a retention::Error becomes
 * an ereport with its SQLSTATE, detail and hint, and anything else becomes an internal error.
 * PostgreSQL errors raised inside the body longjmp straight through the guard and every frame
 * below it, so those frames hold only trivially destructible objects while they call the
 * backend: the structs they keep say so with a static_assert, and scripts/check_boundary.sh
 * (run by `make lint`) checks that every struct of the PostgreSQL-facing code has one and that
 * no owning C++ type (std::string, containers, smart pointers) appears there. A frame that
 * must catch a PostgreSQL error runs its step in pg::InSubtransaction, which aborts what the
 * error left behind.
 *
 * Use it in src/api/ only, inside `extern "C" { ... }`.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::pg
{

using SqlFunctionBody = Datum (*)(FunctionCallInfo);

/* Calls body(fcinfo) and converts any C++ exception into a PostgreSQL error. */
Datum CallGuarded(SqlFunctionBody body, FunctionCallInfo fcinfo);

} // namespace retention::pg

#define RETENTION_SQL_FUNCTION(name)                                                               \
	static Datum name##_body(PG_FUNCTION_ARGS);                                                    \
	PG_FUNCTION_INFO_V1(name);                                                                     \
	Datum name(PG_FUNCTION_ARGS)                                                                   \
	{                                                                                              \
		return retention::pg::CallGuarded(name##_body, fcinfo);                                    \
	}                                                                                              \
	static Datum name##_body(PG_FUNCTION_ARGS)

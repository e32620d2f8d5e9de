/*
 * sql_function.cpp: the catch-all behind RETENTION_SQL_FUNCTION.
 *
 * The catch blocks copy what they need into fixed buffers and do nothing that can ereport; the
 * ereport happens after the try statement, when no C++ object is alive any more.
 */
#include "pg/sql_function.hpp"

#include <new>

#include "errors.hpp"

namespace retention::pg
{

namespace
{

constexpr size_t MESSAGE_BYTES = 2048;

void
CopyText(char *target, const char *source)
{
	strlcpy(target, source != nullptr ? source : "", MESSAGE_BYTES);
}

} // namespace

Datum
CallGuarded(SqlFunctionBody body, FunctionCallInfo fcinfo)
{
	char sqlstate[6] = "XX000";
	/* filled only when an exception is caught: no zeroing of 6 kB on every call */
	char message[MESSAGE_BYTES];
	char detail[MESSAGE_BYTES];
	char hint[MESSAGE_BYTES];
	message[0] = detail[0] = hint[0] = '\0';

	try
	{
		return body(fcinfo);
	}
	catch (const Error &e)
	{
		strlcpy(sqlstate, e.SqlState(), sizeof(sqlstate));
		CopyText(message, e.what());
		CopyText(detail, e.DetailText().c_str());
		CopyText(hint, e.HintText().c_str());
	}
	catch (const std::bad_alloc &)
	{
		strlcpy(sqlstate, "53200", sizeof(sqlstate));
		CopyText(message, "out of memory");
	}
	catch (const std::exception &e)
	{
		CopyText(message, e.what());
	}
	catch (...)
	{
		CopyText(message, "unknown C++ exception");
	}

	ereport(
	    ERROR,
	    (errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4])),
	     errmsg_internal("%s", message), detail[0] != '\0' ? errdetail_internal("%s", detail) : 0,
	     hint[0] != '\0' ? errhint("%s", hint) : 0));
	pg_unreachable();
}

} // namespace retention::pg

/*
 * subtransaction.cpp: see subtransaction.hpp.
 */
#include "pg/subtransaction.hpp"

namespace retention::pg
{

bool
IsInterrupt(const ErrorData *error)
{
	return error->sqlerrcode == ERRCODE_QUERY_CANCELED ||
	       error->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
	       error->sqlerrcode == ERRCODE_CRASH_SHUTDOWN ||
	       error->sqlerrcode == ERRCODE_IDLE_IN_TRANSACTION_SESSION_TIMEOUT ||
	       error->elevel >= FATAL;
}

ErrorData *
InSubtransaction(void (*step)(void *), void *arg)
{
	MemoryContext volatile context = CurrentMemoryContext;
	ResourceOwner volatile owner = CurrentResourceOwner;
	ErrorData *volatile error = nullptr;

	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
	CurrentResourceOwner = owner;
	if (error != nullptr && IsInterrupt(error))
	{
		ReThrowError(error);
	}
	return error;
}

} // namespace retention::pg

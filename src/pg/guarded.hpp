/*
 * guarded.hpp: PgError and pg::Guarded, for the rare frame that needs C++ objects with
 * destructors alive while it calls a backend function that may ereport(ERROR).
 *
 * Guarded(fn, args...) runs fn inside PG_TRY; a PostgreSQL error is copied out, the error state
 * flushed, and the copy thrown as PgError so that C++ unwinding runs destructors. The error is
 * still owed to PostgreSQL: the SQL-function guard re-throws it, which aborts the transaction.
 * Never catch a PgError and carry on without aborting the (sub)transaction it came from.
 */
#pragma once

#include <exception>
#include <type_traits>

#include "pg/postgres.hpp"

namespace retention::pg
{

class PgError : public std::exception
{
public:
	explicit PgError(ErrorData *data) : data_(data)
	{
	}
	ErrorData *Data() const noexcept
	{
		return data_;
	}
	const char *what() const noexcept override
	{
		return data_ != nullptr && data_->message != nullptr ? data_->message : "PostgreSQL error";
	}

private:
	ErrorData *data_;
};

template <typename Fn, typename... Args>
auto
Guarded(Fn fn, Args... args) -> decltype(fn(args...))
{
	using Result = decltype(fn(args...));
	MemoryContext volatile caller_context = CurrentMemoryContext;
	ErrorData *volatile error = nullptr;

	if constexpr (std::is_void_v<Result>)
	{
		PG_TRY();
		{
			fn(args...);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(caller_context);
			error = CopyErrorData();
			FlushErrorState();
		}
		PG_END_TRY();
		if (error != nullptr)
		{
			throw PgError(error);
		}
	}
	else
	{
		static_assert(std::is_trivially_copyable_v<Result>, "Guarded returns plain values only");
		Result result{};
		PG_TRY();
		{
			result = fn(args...);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(caller_context);
			error = CopyErrorData();
			FlushErrorState();
		}
		PG_END_TRY();
		if (error != nullptr)
		{
			throw PgError(error);
		}
		return result;
	}
}

} // namespace retention::pg

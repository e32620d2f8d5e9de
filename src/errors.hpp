/*
 * errors.hpp: retention::Error, the exception core code throws for expected, user-caused
 * failures, and the SQLSTATEs of SPEC.md.
 *
 * This header has no PostgreSQL dependency so that core code (src/policy/) can use it. The
 * boundary guard (pg/sql_function.hpp) turns an Error into an ereport once the C++ stack has
 * unwound. It does not carry PostgreSQL's own errors: those longjmp (see pg/sql_function.hpp).
 */
#pragma once

#include <cstdarg>
#include <cstdio>
#include <exception>
#include <string>

namespace retention
{

/* SQLSTATEs as their five characters, so that core code can name them. */
namespace sqlstate
{
constexpr const char *INVALID_PARAMETER_VALUE = "22023";
constexpr const char *UNDEFINED_OBJECT = "42704";
constexpr const char *DUPLICATE_OBJECT = "42710";
constexpr const char *UNDEFINED_COLUMN = "42703";
constexpr const char *DATATYPE_MISMATCH = "42804";
constexpr const char *SYNTAX_ERROR = "42601";
constexpr const char *OBJECT_NOT_IN_PREREQUISITE_STATE = "55000";
constexpr const char *INSUFFICIENT_PRIVILEGE = "42501";
constexpr const char *WRONG_OBJECT_TYPE = "42809";
constexpr const char *INTERNAL_ERROR = "XX000";
} // namespace sqlstate

/*
 * A user-facing error: SQLSTATE, primary message, optional detail and hint. Messages follow
 * PostgreSQL's style: lower-case primary message without a trailing period, full sentences in
 * detail and hint.
 */
class Error : public std::exception
{
public:
	Error(const char *sqlstate, std::string message) : message_(std::move(message))
	{
		std::snprintf(sqlstate_, sizeof(sqlstate_), "%s", sqlstate);
	}

	Error &Detail(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
	{
		va_list args;
		va_start(args, fmt);
		detail_ = Format(fmt, args);
		va_end(args);
		return *this;
	}

	Error &Hint(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
	{
		va_list args;
		va_start(args, fmt);
		hint_ = Format(fmt, args);
		va_end(args);
		return *this;
	}

	const char *what() const noexcept override
	{
		return message_.c_str();
	}
	const char *SqlState() const noexcept
	{
		return sqlstate_;
	}
	const std::string &DetailText() const noexcept
	{
		return detail_;
	}
	const std::string &HintText() const noexcept
	{
		return hint_;
	}

private:
	static std::string Format(const char *fmt, va_list args) __attribute__((format(printf, 1, 0)))
	{
		char buffer[1024];
		std::vsnprintf(buffer, sizeof(buffer), fmt, args);
		return buffer;
	}

	char sqlstate_[6] = {};
	std::string message_;
	std::string detail_;
	std::string hint_;
};

} // namespace retention

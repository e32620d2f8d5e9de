#!/usr/bin/env bash
# Checks the C++/PostgreSQL boundary rule of STYLE.md in the PostgreSQL-facing code (src/api,
# catalog, purge, worker, subjects, pg, and src/*.cpp): while a backend call that can
# ereport(ERROR) is in progress only trivially destructible objects may be alive, because the
# error longjmps over destructors. Run by `make lint`.
#  1. every struct defined there is followed by
#     static_assert(std::is_trivially_destructible_v<Name>, ...) in the same file;
#  2. no owning C++ type (std::string, containers, smart pointers, std::function) is used there.
# Core code (src/policy/) may use them: it never calls the backend.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
files=$(ls src/*.cpp src/api/*.[ch]pp src/catalog/*.[ch]pp src/purge/*.[ch]pp \
	src/worker/*.[ch]pp src/subjects/*.[ch]pp src/pg/*.[ch]pp 2>/dev/null)
for f in $files; do
	for name in $(sed -n 's/^[[:space:]]*struct \([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*$/\1/p' "$f"); do
		if ! grep -q "static_assert(std::is_trivially_destructible_v<$name>" "$f"; then
			echo "$f: struct $name has no static_assert(std::is_trivially_destructible_v<$name>)"
			rc=1
		fi
	done
	# (comment lines aside)
	if grep -n -E 'std::(string|wstring|vector|map|unordered_map|set|unordered_set|list|deque|unique_ptr|shared_ptr|function|optional)\b' "$f" |
		grep -v -E '^[0-9]+:[[:space:]]*(\*|/\*|//)'; then
		echo "$f: an owning C++ type in PostgreSQL-facing code (see pg/sql_function.hpp)"
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "boundary check: every struct of the PostgreSQL-facing code is trivially destructible"
exit $rc

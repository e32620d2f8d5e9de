#!/usr/bin/env bash
# Runs each pgTAP file of test/pgtap/ with pg_prove in a database of its own, with pgtap and
# retention installed (several files assert exact counts of policies and audit rows).
# Expects PGHOST/PGPORT/PGUSER of a running server with the extension installed.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
for f in test/pgtap/*.sql; do
	[ -e "$f" ] || continue
	db=tap_$(basename "$f" .sql)
	dropdb --if-exists "$db" 2>/dev/null
	createdb "$db" || exit 1
	psql -X -q -d "$db" -c 'CREATE EXTENSION pgtap; CREATE EXTENSION retention;' >/dev/null || exit 1
	pg_prove -d "$db" "$f" || rc=1
	dropdb --if-exists "$db" 2>/dev/null
done
exit $rc

#!/usr/bin/env bash
# Runs each pgTAP file of test/pgtap/ with pg_prove in a database of its own, with pgtap and
# retention installed (several files assert exact counts of policies and audit rows).
# Expects PGHOST/PGPORT/PGUSER of a running server with the extension installed.
#
# RETENTION_TAP_INSTALL says how retention is installed in each database:
#   fresh (the default)     CREATE EXTENSION retention
#   upgrade-from-VERSION    CREATE EXTENSION retention VERSION 'VERSION' (a released version's
#                           frozen script), then ALTER EXTENSION retention UPDATE: the suite then
#                           runs against an upgraded installation (test/upgrade/upgrade_test.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
install=${RETENTION_TAP_INSTALL:-fresh}
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" retention.control)
case "$install" in
	fresh)
		create="CREATE EXTENSION retention;"
		;;
	upgrade-from-*)
		from=${install#upgrade-from-}
		create="CREATE EXTENSION retention VERSION '$from'; ALTER EXTENSION retention UPDATE;"
		;;
	*)
		echo "RETENTION_TAP_INSTALL=$install: expected fresh or upgrade-from-VERSION" >&2
		exit 2
		;;
esac
echo "# retention installed in each database by: $create"
rc=0
for f in test/pgtap/*.sql; do
	[ -e "$f" ] || continue
	db=tap_$(basename "$f" .sql)
	dropdb --if-exists "$db" 2>/dev/null
	createdb "$db" || exit 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION pgtap' -c "$create" >/dev/null || exit 1
	# the suite must run against the version this tree builds, however it was installed
	version=$(psql -X -At -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'retention'")
	if [ "$version" != "$current" ]; then
		echo "$db: retention is at version '$version' after installing, not $current" >&2
		exit 1
	fi
	pg_prove -d "$db" "$f" || rc=1
	dropdb --if-exists "$db" 2>/dev/null
done
exit $rc

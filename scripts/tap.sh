#!/usr/bin/env bash
# Runs the TAP tests (test/tap/t/*.pl, PostgreSQL::Test::Cluster) as the postgres OS user in a
# temporary copy, since initdb refuses root. The extension must be installed.
# Arguments: test files to run (t/NAME.pl), default all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bindir=$(pg_config --bindir)
perl_lib=$(dirname "$(pg_config --pgxs)")/../../src/test/perl
work=$(mktemp -d /tmp/retention-tap.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$root/test/tap/t" "$work/"
chown -R postgres: "$work"
cd "$work"
[ $# -gt 0 ] || set -- t/*.pl
runuser -u postgres -- env PATH="$bindir:$PATH" TESTDIR="$work" PG_REGRESS=/bin/true \
	prove -v -I "$perl_lib" "$@"

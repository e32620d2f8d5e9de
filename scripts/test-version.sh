#!/usr/bin/env bash
# The whole test suite of retention against one PostgreSQL major (PG_MAJOR, default 15), on the
# Debian release that ships it, as root:
#   format check and clang-tidy (RETENTION_STATIC_CHECKS=1, the default: their verdicts depend
#   on the tools' versions, so the matrix runs them once, on this machine), -Werror build,
#   C++ unit tests (ctest), pg_regress and isolation, pgTAP (pg_prove), the upgrade test from
#   every released version, the dump and restore round trips, the crash test, the TAP tests of
#   the worker, the META.json / control version check, and the demo.
# Installs what it needs, starts a throwaway cluster, and stops it at the end, also on failure.
# scripts/test.sh runs it for every supported major (the README's test command).
source "$(dirname "$0")/lib.sh"
cd "$RETENTION_ROOT"

static_checks=${RETENTION_STATIC_CHECKS:-1}
extra=()
if [ "$static_checks" = 1 ]; then
	extra+=(clang-format clang-tidy)
fi
install_packages "${extra[@]}" libgtest-dev postgresql-$PG_MAJOR-cron postgresql-$PG_MAJOR-pgtap \
	libtap-parser-sourcehandler-pgtap-perl libipc-run-perl python3 git
log "PostgreSQL $("$PG_BIN/pg_config" --version | sed 's/^PostgreSQL //'), $(. /etc/os-release && echo "$PRETTY_NAME"), $(g++ --version | head -1)"

passed=0
failed=0
failures=()
times=()
step()
{
	local name=$1 start=$SECONDS result=ok
	shift
	log "$name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
		result=FAILED
	fi
	times+=("$(printf '%5d s  %-6s %s' $((SECONDS - start)) "$result" "$name")")
}

version_check()
{
	local control meta
	control=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" retention.control)
	meta=$(python3 -c 'import json; print(json.load(open("META.json"))["version"])' 2>/dev/null ||
		sed -n 's/^ *"version" *: *"\([^"]*\)".*/\1/p' META.json | head -1)
	echo "control default_version $control, META.json version $meta"
	[ "$control" = "$meta" ] && grep -q "\"$control\"" META.json
}

# Every pg_regress file must be in the Makefile's REGRESS list (the schedule), and have output.
regress_schedule()
{
	local f name rc=0 list
	list=" $(sed -n 's/^REGRESS *= *//p' Makefile) "
	for f in sql/*.sql; do
		name=$(basename "$f" .sql)
		case "$list" in
			*" $name "*) ;;
			*)
				echo "sql/$name.sql is not in the Makefile's REGRESS list"
				rc=1
				;;
		esac
		[ -f "expected/$name.out" ] || {
			echo "expected/$name.out is missing"
			rc=1
		}
	done
	return $rc
}

# The generated install script and every upgrade script name the schema of each function,
# cast and sequence they use (CVE-2022-2625; test/lint/sql_qualified.py says what it checks).
# The frozen 0.1.0 script did not, so the lint must reject it: proof that it can fail.
sql_qualified()
{
	local version
	version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" retention.control)
	python3 test/lint/sql_qualified.py "retention--$version.sql" src/sql/updates/retention--*--*.sql ||
		return 1
	if python3 test/lint/sql_qualified.py src/sql/released/retention--0.1.0.sql >/dev/null; then
		echo "the lint accepts the 0.1.0 script, which calls nextval and unnest without a schema"
		return 1
	fi
}

unit_tests()
{
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug -DPG_CONFIG="$PG_BIN/pg_config" >/dev/null &&
		cmake --build build -j"$(nproc)" >/dev/null &&
		ctest --test-dir build --output-on-failure
}

regress()
{
	make -s installcheck PG_CONFIG="$PG_BIN/pg_config" || {
		cat regression.diffs 2>/dev/null | head -200
		return 1
	}
}

if [ "$static_checks" = 1 ]; then
	step "format check (clang-format)" make -s format-check
fi
step "build (-Werror) and install" build_and_install
step "META.json version equals the control file's" version_check
step "every pg_regress file is scheduled" regress_schedule
step "install and upgrade scripts qualify every reference" sql_qualified
step "C++ unit tests (ctest)" unit_tests
if [ "$static_checks" = 1 ]; then
	step "lint (clang-tidy)" make -s lint
fi
# the worker stays off: these suites call retention.run() themselves, at moments they choose
start_cluster "retention.enabled = off"
step "pg_regress (make installcheck)" regress
step "pgTAP (pg_prove)" bash scripts/pgtap.sh
step "upgrade from every released version equals a fresh installation" bash test/upgrade/upgrade_test.sh
step "dump and restore keep the audit chain and the secret" bash test/restore/audit_roundtrip.sh
step "dump and restore re-bind every policy and hold by name" bash test/restore/binding_roundtrip.sh
step "crash recovery: kill -9 during a purge" bash test/crash/kill_backend.sh 3
step "TAP tests (PostgreSQL::Test::Cluster: background worker)" bash scripts/tap.sh
stop_cluster || true
trap - EXIT
# the demo starts a cluster of its own and checks purged counts against hand counts
step "demo: purged counts equal the expired rows counted before the run" bash demo/run.sh

printf '\nPostgreSQL %s, every step:\n' "$PG_MAJOR"
printf '%s\n' "${times[@]}"
echo
if [ ${#failures[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

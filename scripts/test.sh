#!/usr/bin/env bash
# Runs every test suite of retention against every supported PostgreSQL major, on a fresh
# Debian 12 machine, as root (the README's test command; .ci/run calls it):
#   15 on this machine, 17 in a Debian 13 root and 18 in a Debian unstable root, both made with
#   debootstrap from this machine's own apt mirror and cached (scripts/chroot.sh).
# 13 is built (-Werror) in a Debian 11 root, untested, as the specification promises; 14 and 16
# are in no Debian release this mirror serves and are kept compiling by PG_VERSION_NUM guards.
# Each major runs scripts/test-version.sh, the whole suite (build, unit tests, pg_regress and
# isolation, pgTAP, upgrade, restore round trips, crash, TAP with the worker, demo); the
# format check and clang-tidy run once, with this machine's tools. Ends with one line,
# "N passed, M failed", over all of them.
#   RETENTION_PG_MAJORS="15 17"   run only these majors (the whole suite)
#   RETENTION_BUILD_MAJORS=""     majors only built (default 13)
set -euo pipefail
cd "$(dirname "$0")/.."

majors=${RETENTION_PG_MAJORS:-15 17 18}
# the major this machine's Debian ships runs natively; the others in a Debian root of their own
native=$(. /etc/os-release && case "$VERSION_CODENAME" in
	bookworm) echo 15 ;;
	trixie) echo 17 ;;
	sid) echo 18 ;;
	*) echo none ;;
	esac)
logs=$(mktemp -d /tmp/retention-matrix.XXXXXX)
trap 'rm -rf "$logs"' EXIT

total_passed=0
total_failed=0
summary=()
static=1
for major in $majors; do
	start=$SECONDS
	printf '\n==== PostgreSQL %s\n' "$major"
	if [ "$major" = "$native" ]; then
		where="this machine"
		runner=(env PG_MAJOR="$major" RETENTION_STATIC_CHECKS=$static bash scripts/test-version.sh)
	else
		where="Debian root (scripts/chroot.sh)"
		runner=(env RETENTION_STATIC_CHECKS=$static bash scripts/chroot.sh "$major"
			bash scripts/test-version.sh)
	fi
	static=0
	set +e
	"${runner[@]}" 2>&1 | tee "$logs/$major.log"
	set -e
	counts=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$logs/$major.log" |
		tail -1)
	if [ -z "$counts" ]; then
		counts="0 1" # the suite did not get to its end
		line="did not finish"
	else
		line="${counts% *} passed, ${counts#* } failed"
	fi
	total_passed=$((total_passed + ${counts% *}))
	total_failed=$((total_failed + ${counts#* }))
	took=$((SECONDS - start))
	summary+=("PostgreSQL $major ($where): $line, $((took / 60)) min $((took % 60)) s")
done

# build_only MAJOR: the extension compiles with -Werror against MAJOR's server headers
build_only()
{
	bash scripts/chroot.sh "$1" bash -c '
		export DEBIAN_FRONTEND=noninteractive
		dpkg-query -W postgresql-server-dev-$PG_MAJOR build-essential >/dev/null 2>&1 || {
			apt-get update -qq && apt-get install -y -qq build-essential postgresql-server-dev-$PG_MAJOR >/dev/null
		}
		echo "PostgreSQL $(/usr/lib/postgresql/$PG_MAJOR/bin/pg_config --version), $(g++ --version | head -1)"
		make -s -j"$(nproc)" PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config'
}
for major in ${RETENTION_BUILD_MAJORS-13}; do
	start=$SECONDS
	printf '\n==== PostgreSQL %s: build only\n' "$major"
	if build_only "$major"; then
		line="built with no warning under -Werror"
		total_passed=$((total_passed + 1))
	else
		line="build failed"
		total_failed=$((total_failed + 1))
	fi
	took=$((SECONDS - start))
	summary+=("PostgreSQL $major (Debian root, build only): $line, $((took / 60)) min $((took % 60)) s")
done

printf '\n==== all majors\n'
for major in $majors; do
	# each suite's own table of its steps and their times
	sed -n '/^PostgreSQL [0-9]*, every step:$/,/^$/p' "$logs/$major.log"
done
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

#!/usr/bin/env bash
# bench/partition_drop.sh: a benchmark (not a test) of whole-partition purging with `retention`,
# against plain DROP TABLE and pg_partman 4.7.
#
#   1. Drop speed: the same data (N rows, ~N/DAYS per day, in DAYS daily partitions aligned to
#      UTC midnight, plus 4 empty ones ahead, no default partition) in three tables; EXPIRED
#      whole days are expired and the cutoff lies inside the next day. Timed, each after
#      VACUUM ANALYZE and CHECKPOINT, in wall seconds and WAL bytes:
#        a. CALL retention.run('ev') (policy with partition_interval '1 day', premake 4): the
#           whole run, and from retention.purge_log the drops alone and the row-by-row delete of
#           the partition straddling the cutoff;
#        b. DROP TABLE of the same partitions, one per transaction (a PL/pgSQL procedure that
#           COMMITs after each);
#        c. pg_partman 4.7 (create_parent ... 'daily', premake 4; part_config.retention set to
#           the same interval, retention_keep_table = false): SELECT partman.run_maintenance().
#   2. Stalls: the same three purges on freshly built copies while pgbench (INSERT one row at
#      now() into the purged table + SELECT 10 rows of the last hour by `at`; 4 clients, -j 2,
#      -M prepared, per-transaction log) runs; per side: the longest stretch in which no
#      transaction completed (across all clients, overlapping the purge), TPS during the purge
#      vs TPS of the same pgbench before it, p99 latency.
#   3. Partition width vs TPS: the same pgbench workload (fixed duration after a warm-up) on a
#      plain table with the same rows, and on daily, weekly and monthly partitions of it; with
#      -M prepared and -M simple (plan_cache_mode left at its default), in --rounds interleaved
#      rounds; then, unmeasured, per-statement planning and execution times (pg_stat_statements).
#
# Targets: retention/DROP TABLE <= 1.2x (the whole run and the drops alone are both shown);
# retention's longest stretch without a completed transaction under pgbench < 50 ms.
#
# Usage (as root on Debian 12, from anywhere):
#   bash bench/partition_drop.sh             # 5,000,000 rows, 400 days, 200 expired
#   bash bench/partition_drop.sh --quick     # 500,000 rows, 40 days, 20 expired, short pgbench
#   bash bench/partition_drop.sh --rows 2000000 --days 100 --expired 50 --secs 10
#
# Output: a readable report on stdout, also in bench/results/partition_drop.txt, and every
# figure in bench/results/partition_drop.json, both written when the run ends (--quick:
# partition_drop.quick.{txt,json}; --out BASE chooses another base name; a failed run leaves
# BASE.failed.json).
#
# The cluster is a throwaway one (scripts/lib.sh) with retention.enabled = off (every purge is
# an explicit CALL), TimeZone = UTC, and autovacuum = off (every table is vacuumed and analyzed
# explicitly, the same way); all settings it changes are printed in the report.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS="$*"

ROWS=5000000
DAYS=400
EXPIRED=200
SECS=20
QUICK=0
OUT=""
QUIET_MAX=300
ROUNDS=2
REPEAT=3
rounds_given=0 repeat_given=0
rows_given=0 days_given=0 expired_given=0 secs_given=0

usage()
{
	cat <<'EOF'
usage: bash bench/partition_drop.sh [--quick] [--rows N] [--days N] [--expired N] [--secs S]
                                    [--repeat N] [--rounds N] [--out BASE] [--max-wait S]
  --rows N      rows per table (default 5000000), spread evenly over the days
  --days N      daily partitions holding data, ending today (default 400)
  --expired N   whole days expired: partitions to drop (default 200)
  --secs S      part 3: seconds of each measured pgbench run, after a warm-up (default 20)
  --repeat N    part 1: rounds (three fresh tables each); medians are reported (default 3;
                1 with --quick)
  --rounds N    part 3: rounds over all tables and both protocols (default 2; 1 with --quick)
  --quick       smoke run: 500000 rows, 40 days, 20 expired, 5 s pgbench runs, 1 round of
                parts 1 and 3 (unless given)
  --out BASE    results go to bench/results/BASE.{txt,json} (default partition_drop, or
                partition_drop.quick with --quick)
  --max-wait S  before each measured phase, wait up to S s (default 300) until other processes
                leave the machine idle; 0: do not wait
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--rows) ROWS=${2:?--rows needs a value}; rows_given=1; shift 2 ;;
	--rows=*) ROWS=${1#*=}; rows_given=1; shift ;;
	--days) DAYS=${2:?--days needs a value}; days_given=1; shift 2 ;;
	--days=*) DAYS=${1#*=}; days_given=1; shift ;;
	--expired) EXPIRED=${2:?--expired needs a value}; expired_given=1; shift 2 ;;
	--expired=*) EXPIRED=${1#*=}; expired_given=1; shift ;;
	--secs) SECS=${2:?--secs needs a value}; secs_given=1; shift 2 ;;
	--secs=*) SECS=${1#*=}; secs_given=1; shift ;;
	--repeat) REPEAT=${2:?--repeat needs a value}; repeat_given=1; shift 2 ;;
	--repeat=*) REPEAT=${1#*=}; repeat_given=1; shift ;;
	--rounds) ROUNDS=${2:?--rounds needs a value}; rounds_given=1; shift 2 ;;
	--rounds=*) ROUNDS=${1#*=}; rounds_given=1; shift ;;
	--quick) QUICK=1; shift ;;
	--out) OUT=${2:?--out needs a value}; shift 2 ;;
	--out=*) OUT=${1#*=}; shift ;;
	--max-wait) QUIET_MAX=${2:?--max-wait needs a value}; shift 2 ;;
	--max-wait=*) QUIET_MAX=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
PRE=10    # part 2: seconds of pgbench before the purge starts (the first 2 s are not counted)
POST=3    # part 2: seconds of pgbench after the purge ends
DIAG_SECS=3 # part 3: seconds of the diagnostic pgbench run per table and protocol
PGB_MAX=1800 # part 2: pgbench -T (it is stopped POST s after the purge)
WARMUP=5  # part 3: seconds of pgbench before each measured run
if [ "$QUICK" = 1 ]; then
	[ "$rows_given" = 1 ] || ROWS=500000
	[ "$days_given" = 1 ] || DAYS=40
	[ "$expired_given" = 1 ] || EXPIRED=20
	[ "$secs_given" = 1 ] || SECS=5
	[ "$rounds_given" = 1 ] || ROUNDS=1
	[ "$repeat_given" = 1 ] || REPEAT=1
	PRE=5
	POST=2
	WARMUP=2
	[ "$QUIET_MAX" != 300 ] || QUIET_MAX=30
fi
for v in "$ROWS" "$DAYS" "$EXPIRED" "$SECS" "$QUIET_MAX" "$ROUNDS" "$REPEAT"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "not a non-negative integer: $v" >&2; exit 2; }
done
[ "$DAYS" -ge 3 ] || { echo "--days must be at least 3" >&2; exit 2; }
if [ "$EXPIRED" -lt 1 ] || [ "$EXPIRED" -gt $((DAYS - 2)) ]; then
	echo "--expired must be between 1 and --days - 2" >&2
	exit 2
fi
[ "$ROWS" -ge "$DAYS" ] || { echo "--rows must be at least --days" >&2; exit 2; }
[ "$SECS" -ge 2 ] || { echo "--secs must be at least 2" >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] || { echo "--rounds must be at least 1" >&2; exit 2; }
[ "$REPEAT" -ge 1 ] || { echo "--repeat must be at least 1" >&2; exit 2; }
PREMAKE=4
[ -n "$OUT" ] || { [ "$QUICK" = 1 ] && OUT=partition_drop.quick || OUT=partition_drop; }

RESULTS_DIR=$HERE/results
mkdir -p "$RESULTS_DIR"
JSON_FINAL=$RESULTS_DIR/$OUT.json
REPORT_FINAL=$RESULTS_DIR/$OUT.txt
PUBLISHED=0

# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$HERE/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pgbench_log.sh
source "$HERE/pgbench_log.sh"

DB=bench
CLIENTS=4
THREADS=2

# postgresql.conf for a 2-core, 24 GiB machine (as bench/purge_delete.sh); durability stays
# realistic (fsync and synchronous_commit on). max_locks_per_transaction is raised because
# pg_partman drops every partition in one transaction while 4 pgbench clients each lock all
# partitions (and their indexes) of the table when planning.
CONF=(
	"shared_buffers = 2GB"
	"effective_cache_size = 16GB"
	"work_mem = 64MB"
	"maintenance_work_mem = 1GB"
	"wal_buffers = 64MB"
	"max_wal_size = 8GB"
	"min_wal_size = 1GB"
	"checkpoint_timeout = 30min"
	"checkpoint_completion_target = 0.9"
	"synchronous_commit = on"
	"random_page_cost = 1.1"
	"max_connections = 50"
	"max_locks_per_transaction = 512"
	"autovacuum = off"
	"timezone = 'UTC'"
	"retention.enabled = off"
	"shared_preload_libraries = 'retention,pg_stat_statements'"
	"pg_stat_statements.track = none"
	"pg_stat_statements.max = 10000"
)

# ---------------------------------------------------------------------------------------------
# helpers

now_s() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", ($1) }"; }

# num VALUE: VALUE if it is a JSON number, else null.
num()
{
	if [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
		if [[ $1 =~ ^-?0[0-9] ]]; then awk "BEGIN { print ($1) + 0 }"; else echo "$1"; fi
	else
		echo null
	fi
}

jset() { jq --argjson v "$2" "$1 = \$v" "$JSON" >"$JSON.new" && mv "$JSON.new" "$JSON"; }
jnum() { jset "$1" "$(num "${2:-}")"; }
jstr() { jq --arg v "$2" "$1 = \$v" "$JSON" >"$JSON.new" && mv "$JSON.new" "$JSON"; }
jbool() { if [ "$2" = 1 ] || [ "$2" = true ]; then jset "$1" true; else jset "$1" false; fi; }

q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
q1() { q -c "$1"; }

PROBLEMS=()
problem()
{
	printf '!! %s\n' "$*" >&2
	PROBLEMS+=("$*")
}

CHECKS_FAILED=0
check() # check NAME EXPECTED ACTUAL
{
	if [ "$2" = "$3" ]; then
		printf '   check %-48s ok (%s)\n' "$1" "$3"
	else
		printf '   check %-48s FAILED: expected %s, got %s\n' "$1" "$2" "${3:-<nothing>}"
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
		PROBLEMS+=("check $1: expected $2, got ${3:-<nothing>}")
	fi
}

ratio_of() # ratio_of A B: A / B with 3 decimals, null when either is missing or B is 0
{
	if [[ ${1:-} =~ ^[0-9]+(\.[0-9]+)?$ && ${2:-} =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		awk "BEGIN { if ($2 > 0) printf \"%.3f\", $1 / $2; else print \"null\" }"
	else
		echo null
	fi
}

# The machine may be shared: every measured phase records the CPU time of processes that are
# not this script's (nor its cluster's) and the CPU time stolen by the hypervisor, and waits
# first (up to --max-wait s) until they leave the machine nearly idle.
#
# cpu_snapshot: "pid:starttime ticks write_bytes comm" of every user-space process not ours.
cpu_snapshot()
{
	local pm=0
	if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		pm=$(head -1 "$PGDATA/postmaster.pid")
	fi
	{
		grep -H '^write_bytes' /proc/[0-9]*/io 2>/dev/null || true
		cat /proc/[0-9]*/stat 2>/dev/null || true
	} | awk -v self="$$" -v pm="$pm" '
		/^\/proc\// { split($0, w, "/"); wb[w[3]] = $2; next }
		{
			pid = $1 + 0
			comm = $0; sub(/^[0-9]+ \(/, "", comm); sub(/\) [A-Za-z] .*$/, "", comm)
			gsub(/ /, "_", comm)
			rest = $0; sub(/^.*\) /, "", rest)
			if (split(rest, f, " ") < 20) next
			ppid[pid] = f[2] + 0; ticks[pid] = f[12] + f[13]; start[pid] = f[20]; name[pid] = comm
		}
		END {
			for (p in ppid) {
				if (p == 2 || ppid[p] == 2) continue # kernel threads
				q = p; ours = 0
				for (d = 0; d < 64 && q > 1; d++) {
					if (q == self || q == pm) { ours = 1; break }
					q = ppid[q]
				}
				if (!ours) printf "%s:%s %d %d %s\n", p, start[p], ticks[p], wb[p] + 0, name[p]
			}
		}'
}
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }

# foreign_cpu BEFORE AFTER: "<CPU s of other processes between the snapshots> <top comm>
# <bytes they wrote to storage>" (processes born in between count whole; ones that ended are
# not seen)
foreign_cpu()
{
	awk -v hz="$(getconf CLK_TCK)" '
		NR == FNR { before[$1] = $2; wbefore[$1] = $3; next }
		{
			d = $2 - (($1 in before) ? before[$1] : 0)
			if (d < 0) d = 0
			sum += d
			if (d > tv) { tv = d; top = $4 }
			w = $3 - (($1 in wbefore) ? wbefore[$1] : 0)
			if (w > 0) wsum += w
		}
		END { printf "%.2f %s %.0f\n", sum / hz, (top == "" ? "-" : top), wsum }' "$1" "$2"
}

# wait_quiet: until, over 3 s, other processes use < 0.3 CPU-s and write < 3 MB, and < 0.3
# CPU-s are stolen.
wait_quiet()
{
	local waited=0 cpu top wb s0 s1 steal
	[ "$QUIET_MAX" -gt 0 ] || return 0
	while :; do
		cpu_snapshot >"$RETENTION_TMP/quiet.a"
		s0=$(steal_ticks)
		sleep 3
		cpu_snapshot >"$RETENTION_TMP/quiet.b"
		s1=$(steal_ticks)
		read -r cpu top wb <<<"$(foreign_cpu "$RETENTION_TMP/quiet.a" "$RETENTION_TMP/quiet.b")"
		steal=$(calc "($s1 - $s0) / $(getconf CLK_TCK)")
		awk "BEGIN { exit !($cpu < 0.3 && $steal < 0.3 && $wb < 3 * 1048576) }" && break
		if [ "$waited" -ge "$QUIET_MAX" ]; then
			problem "the machine stayed busy (in 3 s others used $cpu CPU-s, top: $top, and wrote $((wb / 1048576)) MB; $steal CPU-s stolen); measuring anyway"
			break
		fi
		[ "$waited" != 0 ] || printf '   waiting for a quiet machine (in 3 s others used %s CPU-s, top: %s, and wrote %s MB)\n' "$cpu" "$top" "$((wb / 1048576))"
		waited=$((waited + 3))
	done
	[ "$waited" = 0 ] || printf '   waited %s s for a quiet machine\n' "$waited"
}

# phase_begin / phase_end KEY LABEL: other processes' CPU and stolen CPU over a measured phase,
# into KEY.other_cpu_s / stolen_cpu_s; a problem is noted above 5% of the machine.
phase_begin()
{
	cpu_snapshot >"$RETENTION_TMP/phase.a"
	PHASE_STEAL0=$(steal_ticks)
	PHASE_T0=$(now_s)
}
phase_end()
{
	local cpu top wb steal dur share
	cpu_snapshot >"$RETENTION_TMP/phase.b"
	steal=$(calc "($(steal_ticks) - $PHASE_STEAL0) / $(getconf CLK_TCK)")
	dur=$(calc "$(now_s) - $PHASE_T0")
	read -r cpu top wb <<<"$(foreign_cpu "$RETENTION_TMP/phase.a" "$RETENTION_TMP/phase.b")"
	jnum "$1.other_write_bytes" "$wb"
	if awk "BEGIN { exit !($wb / $dur > 2 * 1048576) }"; then
		problem "$2: other processes wrote $((wb / 1048576)) MB during the phase ($(calc "$wb / 1048576 / $dur" | cut -d. -f1) MB/s)"
	fi
	share=$(calc "($cpu + $steal) / ($dur * $(nproc))")
	jnum "$1.other_cpu_s" "$cpu"
	jnum "$1.stolen_cpu_s" "$steal"
	jnum "$1.other_cpu_share" "$share"
	if awk "BEGIN { exit !($share > 0.05 && $cpu + $steal >= 0.05) }"; then
		problem "$2: other processes used $cpu CPU-s and $steal CPU-s were stolen during the phase ($(calc "100 * $share" | cut -d. -f1)% of the machine; top: $top)"
	fi
}

# wal_bytes_rel FROM_LSN TO_LSN RELID...: WAL bytes (records + full-page images) that touch the
# given relations' main forks between the two LSNs (pg_waldump --relation).
wal_bytes_rel()
{
	local from=$1 to=$2 total=0 relid loc n
	shift 2
	for relid in "$@"; do
		loc=$(q1 "SELECT coalesce(nullif(reltablespace, 0), (SELECT dattablespace FROM pg_database
		              WHERE datname = current_database())) || '/' ||
		              (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' ||
		              pg_relation_filenode($relid) FROM pg_class WHERE oid = $relid")
		n=$("$PG_BIN/pg_waldump" -p "$PGDATA/pg_wal" -s "$from" -e "$to" --relation="$loc" \
			--fork=main --stats 2>/dev/null | awk '$1 == "Total" { print $7 }')
		total=$((total + ${n:-0}))
	done
	echo "$total"
}

# ---------------------------------------------------------------------------------------------
# setup

log "partition drop benchmark: $ROWS rows over $DAYS daily partitions, $EXPIRED expired"
install_packages jq "postgresql-$PG_MAJOR-partman"
build_and_install
SO_SHA=$(sha256sum "$("$PG_BIN/pg_config" --pkglibdir)/retention.so" | cut -c1-64)
start_cluster "${CONF[@]}"
JSON=$RETENTION_TMP/results.json
REPORT=$RETENTION_TMP/report.txt

publish()
{
	cp "$1" "$RESULTS_DIR/.$(basename "$2").$$" && mv -f "$RESULTS_DIR/.$(basename "$2").$$" "$2"
}
on_exit()
{
	local rc=$?
	set +e # (scripts/lib.sh's stop_cluster must run whatever fails here)
	if [ -n "${PGB_PID:-}" ]; then kill "$PGB_PID" 2>/dev/null || true; wait "$PGB_PID" 2>/dev/null || true; fi
	if [ "$PUBLISHED" = 0 ] && [ -s "${JSON:-}" ]; then
		publish "$JSON" "$RESULTS_DIR/$OUT.failed.json" || true
		echo "incomplete results: $RESULTS_DIR/$OUT.failed.json" >&2
	fi
	(exit "$rc")
	stop_cluster
}
trap on_exit EXIT

echo '{}' >"$JSON"
jstr .benchmark partition_drop
jstr .started_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
jstr .command "bash bench/partition_drop.sh${ARGS:+ $ARGS}"
jbool .quick "$QUICK"
jnum .rows "$ROWS"
jnum .days "$DAYS"
jnum .expired_days "$EXPIRED"
jnum .secs "$SECS"
jnum .host.cpus "$(nproc)"
jnum .host.mem_kib "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
jstr .host.kernel "$(uname -r)"
jstr .build.git_commit "$(git -C "$RETENTION_ROOT" rev-parse HEAD 2>/dev/null || echo none)"
jnum .build.uncommitted_files "$(git -C "$RETENTION_ROOT" status --porcelain -- src sql Makefile 2>/dev/null | wc -l)"
jstr .build.retention_so_sha256 "$SO_SHA"
jset .postgresql_conf "$(printf '%s\n' "${CONF[@]}" | jq -R . | jq -s .)"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
q1 "CREATE EXTENSION retention"
q1 "CREATE EXTENSION pg_stat_statements"
q1 "CREATE EXTENSION pg_prewarm"
q1 "CREATE SCHEMA partman"
q1 "CREATE EXTENSION pg_partman SCHEMA partman"
PG_VERSION=$(q1 "SHOW server_version")
PARTMAN_VERSION=$(q1 "SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'")
RET_VERSION=$(q1 "SELECT extversion FROM pg_extension WHERE extname = 'retention'")
CREATE_PARENT_ARGS=$(q1 "SELECT pg_get_function_identity_arguments(p.oid) FROM pg_proc p
	JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'partman' AND p.proname = 'create_parent'")
jstr .server_version "$PG_VERSION"
jstr .extension_version "$RET_VERSION"
jstr .pg_partman_version "$PARTMAN_VERSION"
jstr .pg_partman_create_parent_args "$CREATE_PARENT_ARGS"
# every setting that is not PostgreSQL's default (initdb's choices included)
SETTINGS=$(q -F ' = ' -c "SELECT name, current_setting(name) FROM pg_settings
	WHERE source IN ('configuration file', 'command line', 'environment variable')
	ORDER BY name")
jset .settings "$(q1 "SELECT jsonb_object_agg(name, current_setting(name)) FROM pg_settings
	WHERE source IN ('configuration file', 'command line', 'environment variable')")"
log "settings that differ from PostgreSQL's defaults"
# shellcheck disable=SC2001
sed 's/^/   /' <<<"$SETTINGS"
log "PostgreSQL $PG_VERSION, retention $RET_VERSION, pg_partman $PARTMAN_VERSION"
echo "   partman.create_parent($CREATE_PARENT_ARGS)"

# ---------------------------------------------------------------------------------------------
# layout: data days FIRST .. TODAY (UTC), partitions FIRST .. TODAY + PREMAKE; the first EXPIRED
# days are expired and the cutoff lies at noon of day STRADDLE = FIRST + EXPIRED when the run
# starts (RETAIN is fixed then, so the cutoff moves on with the clock: it stays inside that
# day for 12 hours).

read -r TODAY FIRST STRADDLE LAST_END RETAIN CUTOFF0 <<<"$(q -F ' ' -c "
	WITH d AS (SELECT (now() AT TIME ZONE 'UTC')::date AS today)
	SELECT today, today - ($DAYS - 1), today - ($DAYS - 1) + $EXPIRED, today + $PREMAKE + 1,
	       replace(date_trunc('second', now() - ((today - ($DAYS - 1) + $EXPIRED) + time '12:00')::timestamptz)::text, ' ', '_'),
	       replace(((today - ($DAYS - 1) + $EXPIRED) + time '12:00')::timestamptz::text, ' ', '_')
	FROM d")"
RETAIN=${RETAIN//_/ }
CUTOFF0=${CUTOFF0//_/ }
PARTS_TOTAL=$((DAYS + PREMAKE))
log "layout: data $FIRST .. $TODAY ($DAYS days), partitions up to $LAST_END (exclusive), $EXPIRED expired, retain '$RETAIN' (cutoff $CUTOFF0 at the start, inside $STRADDLE)"
jstr .layout.today "$TODAY"
jstr .layout.first_day "$FIRST"
jstr .layout.straddling_day "$STRADDLE"
jstr .layout.partitions_end "$LAST_END"
jnum .layout.premake "$PREMAKE"
jnum .layout.daily_partitions "$PARTS_TOTAL"
jstr .layout.retain "$RETAIN"
jstr .layout.cutoff_at_start "$CUTOFF0"

# bench_src: the rows, once; id i sits at FIRST + (i - 0.5) * DAYS days / ROWS, so each day
# holds ROWS/DAYS rows (+-1); payload 60 characters.
log "generating $ROWS rows"
t=$(now_s)
q <<SQL
CREATE UNLOGGED TABLE bench_src AS
SELECT i::bigint AS id,
       '$FIRST'::timestamptz + (i - 0.5) * (interval '1 day' * $DAYS / $ROWS) AS at,
       (i % 100)::int AS tenant,
       left(md5(i::text) || md5((-i)::text), 60) AS payload
FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE bench_src;
CREATE SEQUENCE bench_ids START $((ROWS + 1));
-- the partitions of a table whose upper bound is <= a cutoff (bounds, not names)
CREATE FUNCTION bench_parts(parent regclass, cutoff timestamptz DEFAULT 'infinity')
RETURNS TABLE (name text, lower timestamptz, upper timestamptz) LANGUAGE sql AS \$\$
	SELECT c.relname::text, b[1]::timestamptz, b[2]::timestamptz
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
	     LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
	                          'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b
	WHERE i.inhparent = parent AND b[2]::timestamptz <= cutoff
	ORDER BY 2
\$\$;
-- plain DROP TABLE, one partition per transaction; reports its own span in the server
CREATE PROCEDURE bench_drop_each(names text[]) LANGUAGE plpgsql AS \$\$
DECLARE
	n text;
	t0 timestamptz := clock_timestamp();
BEGIN
	FOREACH n IN ARRAY names LOOP
		EXECUTE format('DROP TABLE %I', n);
		COMMIT;
	END LOOP;
	RAISE NOTICE 'bench_span=%', extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SQL
jnum .load.generate_s "$(calc "$(now_s) - $t")"
SRC_SUM=$(q1 "SELECT count(*) || ':' || sum(id) || ':' || sum(hashtext(payload)::bigint) || ':' || sum(extract(epoch FROM at)::numeric) FROM bench_src")
PER_DAY=$(q -F ' ' -c "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM bench_src GROUP BY date_trunc('day', at)) s")
EXPIRED_ROWS=$(q1 "SELECT count(*) FROM bench_src WHERE at < '$STRADDLE'::timestamptz")
echo "   rows per day: min/max $PER_DAY; rows in the $EXPIRED expired days: $EXPIRED_ROWS"
jnum .layout.rows_in_expired_partitions "$EXPIRED_ROWS"
jstr .layout.rows_per_day_min_max "$PER_DAY"

# make_partitions NAME WIDTH: NAME partitioned by range on at, with partitions of WIDTH
# ('1 day', '1 week' aligned to Mondays, '1 month') from the one holding FIRST up to LAST_END.
make_partitions()
{
	local align
	case $2 in
	'1 day') align="'$FIRST'::timestamptz" ;;
	'1 week') align="date_trunc('week', '$FIRST'::timestamptz)" ;;
	'1 month') align="date_trunc('month', '$FIRST'::timestamptz)" ;;
	esac
	q <<SQL
CREATE TABLE $1 (id bigint NOT NULL, at timestamptz NOT NULL, tenant int NOT NULL,
                 payload text NOT NULL) PARTITION BY RANGE (at);
SELECT format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
              '$1_p' || to_char(lo, 'YYYYMMDD'), '$1', lo, lo + interval '$2')
FROM generate_series($align, '$LAST_END'::timestamptz - interval '1 microsecond',
                     interval '$2') AS lo
\gexec
SQL
}

# load_table NAME: rows from bench_src, the index on (at), VACUUM ANALYZE, into shared_buffers.
load_table()
{
	q <<SQL
INSERT INTO $1 SELECT * FROM bench_src ORDER BY id;
CREATE INDEX $1_at_idx ON $1 (at);
VACUUM ANALYZE $1;
SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
WHERE c.oid IN (SELECT relid FROM pg_partition_tree('$1') WHERE isleaf)
   OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
                (SELECT relid FROM pg_partition_tree('$1') WHERE isleaf));
SQL
}

# build_daily NAME: DAYS + PREMAKE daily partitions, loaded.
build_daily()
{
	make_partitions "$1" '1 day'
	load_table "$1" >/dev/null
}

# build_partman NAME: created by partman.create_parent (daily, premake 4, from FIRST); the
# default partition pg_partman 4.7 adds is dropped so that the three tables have the same
# partitions; loaded.
build_partman()
{
	q <<SQL >/dev/null
CREATE TABLE $1 (id bigint NOT NULL, at timestamptz NOT NULL, tenant int NOT NULL,
                 payload text NOT NULL) PARTITION BY RANGE (at);
SELECT partman.create_parent(p_parent_table => 'public.$1', p_control => 'at',
                             p_type => 'native', p_interval => 'daily', p_premake => $PREMAKE,
                             p_start_partition => '$FIRST 00:00:00+00');
DROP TABLE ${1}_default;
SQL
	load_table "$1" >/dev/null
}

# table_checks NAME LABEL: the partitions (count, bounds) and content equal bench_src's.
table_checks()
{
	local n bounds sum
	n=$(q1 "SELECT count(*) FROM bench_parts('$1')")
	check "$2 partitions" "$PARTS_TOTAL" "$n"
	bounds=$(q1 "SELECT count(*) FROM bench_parts('$1') p
		WHERE p.upper - p.lower = interval '1 day' AND p.lower = date_trunc('day', p.lower)
		  AND p.lower >= '$FIRST'::timestamptz AND p.upper <= '$LAST_END'::timestamptz")
	check "$2 partitions: whole UTC days in range" "$PARTS_TOTAL" "$bounds"
	check "$2 default partitions" 0 "$(q1 "SELECT count(*) FROM pg_partitioned_table
		WHERE partrelid = '$1'::regclass AND partdefid <> 0")"
	sum=$(q1 "SELECT count(*) || ':' || sum(id) || ':' || sum(hashtext(payload)::bigint) || ':' || sum(extract(epoch FROM at)::numeric) FROM $1")
	check "$2 content equals bench_src" "$SRC_SUM" "$sum"
	check "$2 expired partitions by bounds" "$EXPIRED" \
		"$(q1 "SELECT count(*) FROM bench_parts('$1', now() - interval '$RETAIN')")"
}

# expected_names NAME SEP: the names of the EXPIRED oldest daily partitions (retention / plain
# style NAME_pYYYYMMDD, pg_partman style NAME_pYYYY_MM_DD).
expected_names()
{
	local fmt=YYYYMMDD
	[ "${2:-}" = partman ] && fmt=YYYY_MM_DD
	q1 "SELECT string_agg('$1_p' || to_char(d, '$fmt'), ',' ORDER BY d)
	    FROM generate_series('$FIRST'::date, '$STRADDLE'::date - 1, interval '1 day') AS d"
}

# left_of NAME NAMES: how many of the comma-separated NAMES still exist as tables
left_of()
{
	q1 "SELECT count(*) FROM unnest(string_to_array('$2', ',')) AS n WHERE to_regclass(n) IS NOT NULL"
}

# pss_top KEY: the statements pg_stat_statements saw (track = all in the purging session), by
# total time, partition names folded; into KEY.top_statements and PSS_TOP (for the report).
pss_top()
{
	PSS_TOP=$(q -F $'\t' -c "
		SELECT round(sum(total_exec_time)::numeric, 1), sum(calls),
		       left(regexp_replace(regexp_replace(query, '_p[0-9_]{8,10}', '_p<day>', 'g'),
		                           '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND query NOT LIKE '%pg_stat_statements%'
		GROUP BY 3 ORDER BY 1 DESC LIMIT 8")
	jset "$1.top_statements" "$(printf '%s\n' "$PSS_TOP" | jq -R 'select(length > 0) | split("\t") | {total_ms: (.[0] | tonumber), calls: (.[1] | tonumber), statement: .[2]}' | jq -s .)"
}

# run_timed KEY LABEL CMD...: wait for a quiet machine, CHECKPOINT, then run CMD (psql), timed:
# T0/T1 (epoch s), WALL, WAL (bytes), LSN0/LSN1; stderr in $RETENTION_TMP/KEY.err.
run_timed()
{
	local key=$1 label=$2 errf
	shift 2
	errf=$RETENTION_TMP/$(echo "$key" | tr -c 'a-z0-9\n' _).err
	q1 "CHECKPOINT"
	wait_quiet
	q1 "SELECT pg_stat_statements_reset()" >/dev/null
	LSN0=$(q1 "SELECT pg_current_wal_lsn()")
	phase_begin
	T0=$(now_s)
	RC=0
	"$@" >/dev/null 2>"$errf" || RC=$?
	T1=$(now_s)
	phase_end "$key" "$label"
	LSN1=$(q1 "SELECT pg_current_wal_lsn()")
	WALL=$(calc "$T1 - $T0")
	WAL=$(q1 "SELECT pg_wal_lsn_diff('$LSN1', '$LSN0')::bigint")
	ERRTXT=$(cat "$errf")
	[ "$RC" = 0 ] || problem "$label failed (exit $RC): $(head -3 "$errf" | tr '\n' ' ')"
	grep -q -e WARNING -e ERROR "$errf" && problem "$label: $(grep -e WARNING -e ERROR "$errf" | head -3 | tr '\n' ' ')"
	jnum "$key.wall_s" "$WALL"
	jnum "$key.wal_bytes" "$WAL"
	jnum "$key.exit" "$RC"
	jstr "$key.messages" "$ERRTXT"
	printf '   %s: %.3f s, %s WAL bytes\n' "$label" "$WALL" "$WAL"
}

# purge commands (psql), with pg_stat_statements tracking every nested statement
purge_retention() { PGOPTIONS="-c pg_stat_statements.track=all" PGAPPNAME=bench_purge q -c "CALL retention.run('$1')"; }
purge_drop() { PGOPTIONS="-c pg_stat_statements.track=all" PGAPPNAME=bench_purge q -c "CALL bench_drop_each(string_to_array('$1', ','))"; }
purge_partman() { PGOPTIONS="-c pg_stat_statements.track=all" PGAPPNAME=bench_purge q -c "SELECT partman.run_maintenance('public.$1')"; }

# setup_retention NAME POLICY / setup_partman NAME: the purge configured, checked before timing
setup_retention()
{
	q1 "SELECT retention.add_policy('$2', '$1', 'at', '$RETAIN', partition_interval => '1 day',
	        premake => $PREMAKE, timezone => 'UTC', enabled => false)" >/dev/null
	local p
	p=$(q1 "SELECT cardinality(partitions_to_drop) FROM retention.preview('$2')")
	check "$1: preview partitions_to_drop" "$EXPIRED" "$p"
	PREVIEW=$(q -F '|' -c "SELECT cutoff, rows_expired, rows_held FROM retention.preview('$2')")
}
setup_partman()
{
	q1 "UPDATE partman.part_config SET retention = '$RETAIN', retention_keep_table = false,
	        retention_keep_index = false WHERE parent_table = 'public.$1'" >/dev/null
	check "$1: part_config retention" "$RETAIN" \
		"$(q1 "SELECT retention::interval FROM partman.part_config WHERE parent_table = 'public.$1'")"
}

# retention_log KEY POLICY AFTER_ID: the run's units from retention.purge_log, into KEY.purge_log
retention_log()
{
	local r
	r=$(q -F '|' -c "
		WITH r AS (SELECT * FROM retention.purge_log WHERE id > $3 AND policy_name = '$2'),
		     d AS (SELECT *, extract(epoch FROM finished_at - started_at) AS secs,
		                  extract(epoch FROM started_at - lag(finished_at) OVER (ORDER BY id)) AS gap
		           FROM r WHERE kind = 'drop_partition'),
		     x AS (SELECT * FROM r WHERE kind = 'delete')
		SELECT (SELECT count(*) FROM d),
		       (SELECT count(*) FROM d WHERE status = 'ok'),
		       (SELECT coalesce(sum(rows_affected), 0) FROM d WHERE status = 'ok'),
		       (SELECT coalesce(round(sum(secs)::numeric, 6), 0) FROM d),
		       (SELECT coalesce(round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 6), 0) FROM d),
		       (SELECT coalesce(round(max(secs)::numeric, 6), 0) FROM d),
		       (SELECT coalesce(round(avg(gap)::numeric, 6), 0) FROM d),
		       (SELECT count(*) FROM x),
		       (SELECT coalesce(sum(rows_affected), 0) FROM x),
		       (SELECT coalesce(round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 6), 0) FROM x),
		       (SELECT coalesce(string_agg(DISTINCT status, ','), '') FROM r),
		       (SELECT coalesce(min(cutoff)::text, '') FROM r),
		       (SELECT coalesce(round(extract(epoch FROM min(started_at))::numeric, 6), 0) FROM d),
		       (SELECT coalesce(round(extract(epoch FROM max(finished_at))::numeric, 6), 0) FROM x),
		       (SELECT coalesce(round(extract(epoch FROM min(started_at))::numeric, 6), 0) FROM x),
		       (SELECT coalesce(replace(min(error), E'\n', ' '), '') FROM r),
		       (SELECT count(*) FROM r WHERE status <> 'ok')
		FROM (SELECT 1) one")
	IFS='|' read -r L_DROPS L_DROPS_OK L_DROP_ROWS L_DROP_SUM L_DROP_SPAN L_DROP_MAX L_DROP_GAP \
		L_DEL_UNITS L_DEL_ROWS L_DEL_SPAN L_STATUSES L_CUTOFF L_FIRST_DROP_START L_LAST_DEL_END L_DEL_FIRST_START \
		L_ERROR L_NOT_OK <<<"$r"
	jnum "$1.purge_log.drop_units" "$L_DROPS"
	jnum "$1.purge_log.drop_units_ok" "$L_DROPS_OK"
	jnum "$1.purge_log.drop_rows" "$L_DROP_ROWS"
	jnum "$1.purge_log.drop_units_sum_s" "$L_DROP_SUM"
	jnum "$1.purge_log.drops_first_start_to_last_finish_s" "$L_DROP_SPAN"
	jnum "$1.purge_log.drop_unit_max_s" "$L_DROP_MAX"
	jnum "$1.purge_log.between_drop_units_mean_s" "$L_DROP_GAP"
	jnum "$1.purge_log.delete_units" "$L_DEL_UNITS"
	jnum "$1.purge_log.delete_rows" "$L_DEL_ROWS"
	jnum "$1.purge_log.delete_span_s" "$L_DEL_SPAN"
	jstr "$1.purge_log.statuses" "$L_STATUSES"
	jstr "$1.purge_log.cutoff" "$L_CUTOFF"
	jstr "$1.purge_log.first_error" "$L_ERROR"
	jnum "$1.purge_log.units_not_ok" "$L_NOT_OK"
}

# ---------------------------------------------------------------------------------------------
# 1. drop speed

# One round: the three tables built afresh one after the other, each purged right after its
# build. Figures go to .part1.rounds[R-1] and P1[R.name].
declare -A P1
part1_round()
{
	local r=$1 k=".part1.rounds[$(($1 - 1))]" before pm_before straddle_relid straddle_idx

	log "1a. round $r/$REPEAT: retention: building bench_ev"
	t=$(now_s)
	build_daily bench_ev
	jnum "$k.build_s" "$(calc "$(now_s) - $t")"
	echo "   built in $(calc "$(now_s) - $t" | cut -d. -f1) s"
	table_checks bench_ev "[$r] bench_ev"
	jnum .part1.table_bytes "$(q1 "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('bench_ev')")"
	setup_retention bench_ev ev
	IFS='|' read -r P_CUTOFF P_ROWS _ <<<"$PREVIEW"
	jstr "$k.retention.preview_cutoff" "$P_CUTOFF"
	jnum "$k.retention.preview_rows_expired" "$P_ROWS"
	straddle_relid=$(q1 "SELECT 'bench_ev_p$(date -d "$STRADDLE" +%Y%m%d)'::regclass::oid")
	straddle_idx=$(q1 "SELECT indexrelid FROM pg_index WHERE indrelid = $straddle_relid")
	q1 "VACUUM ANALYZE bench_ev"
	before=$(q1 "SELECT coalesce(max(id), 0) FROM retention.purge_log")
	run_timed "$k.retention" "1a. [$r] CALL retention.run('ev')" purge_retention ev
	P1[$r.r_wall]=$WALL P1[$r.r_wal]=$WAL
	P1[$r.r_wal_straddle]=$(wal_bytes_rel "$LSN0" "$LSN1" "$straddle_relid" "$straddle_idx")
	P1[$r.r_wal_drops]=$((WAL - P1[$r.r_wal_straddle]))
	jnum "$k.retention.wal_bytes_straddling_partition" "${P1[$r.r_wal_straddle]}"
	jnum "$k.retention.wal_bytes_without_straddling_partition" "${P1[$r.r_wal_drops]}"
	pss_top "$k.retention"
	R_PSS=$PSS_TOP
	retention_log "$k.retention" ev "$before"
	P1[$r.r_drops_ok]=$L_DROPS_OK P1[$r.r_drop_sum]=$L_DROP_SUM P1[$r.r_drop_span]=$L_DROP_SPAN
	P1[$r.r_drop_max]=$L_DROP_MAX P1[$r.r_drop_gap]=$L_DROP_GAP P1[$r.r_del_units]=$L_DEL_UNITS
	P1[$r.r_del_rows]=$L_DEL_ROWS P1[$r.r_del_span]=$L_DEL_SPAN
	P1[$r.r_drop_to_del]=$(calc "$L_DEL_FIRST_START - $L_FIRST_DROP_START")
	P1[$r.r_before]=$(calc "$L_FIRST_DROP_START - $T0")
	P1[$r.r_after]=$(calc "$T1 - $L_LAST_DEL_END")
	jnum "$k.retention.first_drop_start_to_delete_start_s" "${P1[$r.r_drop_to_del]}"
	jnum "$k.retention.call_start_to_first_drop_s" "${P1[$r.r_before]}"
	jnum "$k.retention.delete_end_to_call_return_s" "${P1[$r.r_after]}"
	check "1a [$r] drop_partition units" "$EXPIRED" "$L_DROPS"
	check "1a [$r] drop_partition units ok" "$EXPIRED" "$L_DROPS_OK"
	check "1a [$r] purge_log statuses" ok "$L_STATUSES"
	check "1a [$r] sum(rows_affected) of the drops" "$EXPIRED_ROWS" "$L_DROP_ROWS"
	check "1a [$r] expected partitions left" 0 "$(left_of x "$(expected_names bench_ev)")"
	check "1a [$r] partitions left" "$((PARTS_TOTAL - EXPIRED))" "$(q1 "SELECT count(*) FROM bench_parts('bench_ev')")"
	check "1a [$r] rows below the run's cutoff left" 0 "$(q1 "SELECT count(*) FROM bench_ev WHERE at < '$L_CUTOFF'")"
	check "1a [$r] rows left" "$((ROWS - EXPIRED_ROWS - L_DEL_ROWS))" "$(q1 "SELECT count(*) FROM bench_ev")"
	check "1a [$r] verify_audit()" t "$(q1 "SELECT ok FROM retention.verify_audit()")"
	printf '   drops: %s, %s rows; first start .. last finish %.3f s (units sum %.3f s, longest %.4f s); delete of the straddling partition: %s rows in %.3f s\n' \
		"$L_DROPS" "$L_DROP_ROWS" "$L_DROP_SPAN" "$L_DROP_SUM" "$L_DROP_MAX" "$L_DEL_ROWS" "$L_DEL_SPAN"
	q1 "SELECT retention.drop_policy('ev')" >/dev/null
	q1 "DROP TABLE bench_ev"

	log "1b. round $r/$REPEAT: plain DROP TABLE: building bench_dt"
	build_daily bench_dt
	table_checks bench_dt "[$r] bench_dt"
	DT_NAMES=$(expected_names bench_dt)
	check "1b [$r] names = partitions expired by bounds" "$DT_NAMES" \
		"$(q1 "SELECT string_agg(name, ',' ORDER BY lower) FROM bench_parts('bench_dt', now() - interval '$RETAIN')")"
	q1 "VACUUM ANALYZE bench_dt"
	run_timed "$k.drop" "1b. [$r] DROP TABLE x $EXPIRED, one per transaction" purge_drop "$DT_NAMES"
	P1[$r.d_wall]=$WALL P1[$r.d_wal]=$WAL
	P1[$r.d_span]=$(sed -n 's/.*bench_span=\([0-9.]*\).*/\1/p' <<<"$ERRTXT" | head -1)
	jnum "$k.drop.server_span_s" "${P1[$r.d_span]}"
	pss_top "$k.drop"
	D_PSS=$PSS_TOP
	check "1b [$r] expected partitions left" 0 "$(left_of x "$DT_NAMES")"
	check "1b [$r] partitions left" "$((PARTS_TOTAL - EXPIRED))" "$(q1 "SELECT count(*) FROM bench_parts('bench_dt')")"
	q1 "DROP TABLE bench_dt"

	log "1c. round $r/$REPEAT: pg_partman $PARTMAN_VERSION: building bench_pm"
	build_partman bench_pm
	table_checks bench_pm "[$r] bench_pm"
	PM_NAMES=$(expected_names bench_pm partman)
	check "1c [$r] names = partitions expired by bounds" "$PM_NAMES" \
		"$(q1 "SELECT string_agg(name, ',' ORDER BY lower) FROM bench_parts('bench_pm', now() - interval '$RETAIN')")"
	setup_partman bench_pm
	q1 "VACUUM ANALYZE bench_pm"
	pm_before=$(q1 "SELECT count(*) FROM bench_parts('bench_pm')")
	run_timed "$k.partman" "1c. [$r] SELECT partman.run_maintenance('public.bench_pm')" purge_partman bench_pm
	P1[$r.m_wall]=$WALL P1[$r.m_wal]=$WAL
	pss_top "$k.partman"
	M_PSS=$PSS_TOP
	P1[$r.m_dropped]=$((pm_before - $(q1 "SELECT count(*) FROM bench_parts('bench_pm')")))
	jnum "$k.partman.partitions_dropped" "${P1[$r.m_dropped]}"
	check "1c [$r] partitions dropped" "$EXPIRED" "${P1[$r.m_dropped]}"
	check "1c [$r] expected partitions left" 0 "$(left_of x "$PM_NAMES")"
	check "1c [$r] rows left" "$((ROWS - EXPIRED_ROWS))" "$(q1 "SELECT count(*) FROM bench_pm")"
	q1 "DROP TABLE bench_pm"
	q1 "DELETE FROM partman.part_config WHERE parent_table = 'public.bench_pm'"
	q1 "DROP TABLE IF EXISTS partman.template_public_bench_pm"

	P1[$r.ratio_whole]=$(ratio_of "${P1[$r.r_wall]}" "${P1[$r.d_wall]}")
	P1[$r.ratio_drops]=$(ratio_of "${P1[$r.r_drop_span]}" "${P1[$r.d_span]}")
	P1[$r.ratio_drops_to_del]=$(ratio_of "${P1[$r.r_drop_to_del]}" "${P1[$r.d_span]}")
	P1[$r.ratio_pm]=$(ratio_of "${P1[$r.r_wall]}" "${P1[$r.m_wall]}")
	jnum "$k.ratios.retention_whole_run_over_drop_wall" "${P1[$r.ratio_whole]}"
	jnum "$k.ratios.retention_drops_over_drop_server_span" "${P1[$r.ratio_drops]}"
	jnum "$k.ratios.retention_drops_to_delete_start_over_drop_server_span" "${P1[$r.ratio_drops_to_del]}"
	jnum "$k.ratios.retention_whole_run_over_partman" "${P1[$r.ratio_pm]}"
	q1 "VACUUM ANALYZE" >/dev/null
}

for ((round = 1; round <= REPEAT; round++)); do
	part1_round "$round"
done

# p1_median NAME: the median over the rounds of P1[R.NAME]; p1_all NAME: every round's value
p1_median()
{
	local r
	for ((r = 1; r <= REPEAT; r++)); do echo "${P1[$r.$1]}"; done | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
p1_all()
{
	local r
	for ((r = 1; r <= REPEAT; r++)); do
		# shellcheck disable=SC2059 # the format is the caller's
		printf "${2:-%s} " "${P1[$r.$1]}"
	done | sed 's/ $//'
}
declare -A M1
for n in r_wall r_wal r_wal_straddle r_wal_drops r_drop_span r_drop_to_del r_drop_sum r_drop_max \
	r_drop_gap r_del_span r_del_rows r_before r_after d_wall d_wal d_span m_wall m_wal m_dropped \
	ratio_whole ratio_drops ratio_drops_to_del ratio_pm; do
	M1[$n]=$(p1_median "$n")
	jnum ".part1.median.$n" "${M1[$n]}"
done
RATIO_WHOLE=$(ratio_of "${M1[r_wall]}" "${M1[d_wall]}")
RATIO_DROPS=$(ratio_of "${M1[r_drop_span]}" "${M1[d_span]}")
RATIO_DROPS_TO_DEL=$(ratio_of "${M1[r_drop_to_del]}" "${M1[d_span]}")
RATIO_DROPS_WALL=$(ratio_of "${M1[r_drop_span]}" "${M1[d_wall]}")
RATIO_PM=$(ratio_of "${M1[r_wall]}" "${M1[m_wall]}")
RATIO_PM_DROPS=$(ratio_of "${M1[r_drop_span]}" "${M1[m_wall]}")
jnum .part1.ratios.retention_whole_run_over_drop_wall "$RATIO_WHOLE"
jnum .part1.ratios.retention_drops_over_drop_server_span "$RATIO_DROPS"
jnum .part1.ratios.retention_drops_to_delete_start_over_drop_server_span "$RATIO_DROPS_TO_DEL"
jnum .part1.ratios.retention_drops_over_drop_wall "$RATIO_DROPS_WALL"
jnum .part1.ratios.retention_whole_run_over_partman "$RATIO_PM"
jnum .part1.ratios.retention_drops_over_partman "$RATIO_PM_DROPS"
jnum .part1.ratios.wal_retention_over_drop "$(ratio_of "${M1[r_wal]}" "${M1[d_wal]}")"
jnum .part1.ratios.wal_retention_without_straddling_over_drop "$(ratio_of "${M1[r_wal_drops]}" "${M1[d_wal]}")"
jnum .part1.ratios.wal_retention_over_partman "$(ratio_of "${M1[r_wal]}" "${M1[m_wal]}")"
jnum .part1.rounds_run "$REPEAT"
T_WHOLE_OK=$(awk "BEGIN { print ($RATIO_WHOLE <= 1.2) ? 1 : 0 }")
T_DROPS_OK=$(awk "BEGIN { print ($RATIO_DROPS <= 1.2) ? 1 : 0 }")
jbool .part1.targets.whole_run_within_1_2x_drop "$T_WHOLE_OK"
jbool .part1.targets.drops_within_1_2x_drop "$T_DROPS_OK"
q1 "CHECKPOINT"

# ---------------------------------------------------------------------------------------------
# 2. stalls under pgbench

# pgbench_script NAME FILE: INSERT one row at now() into NAME, then SELECT 10 rows of the last
# hour (a random start) by at.
pgbench_script()
{
	cat >"$2" <<EOF
\\set tenant random(1, 100)
\\set secs random(1, 3600)
INSERT INTO $1 (id, at, tenant, payload) VALUES (nextval('bench_ids'), now(), :tenant, 'inserted by pgbench: sixty bytes of payload text, more or less');
SELECT id, tenant FROM $1 WHERE at >= now() - make_interval(secs => :secs) ORDER BY at LIMIT 10;
EOF
	chown postgres: "$2"
}

# figures of the last stall_side (set by name from pgb_analyze's output)
S_stretch_s="" S_stretch_from_s="" S_stretch_to_s="" S_tps_before="" S_tps_during="" S_tps_after=""
S_p99_before_ms="" S_p99_during_ms="" S_max_during_ms="" S_last_completion_after_to_s=""

# stall_side SIDE LABEL TABLE PURGE-FUNCTION ARG: pgbench on TABLE; the purge starts after
# PRE s, and pgbench is stopped (SIGINT) POST s after the purge ends, however long it took (at
# most PGB_MAX s; the per-transaction logs lose at most their last, partly written lines, which
# are left out). Sets S_* variables and .part2.SIDE.*
stall_side()
{
	local side=$1 label=$2 table=$3 fn=$4 arg=$5 key=".part2.$1" prefix out rc
	prefix=$RETENTION_TMP/pgb_$side
	rm -f "$prefix".log.*
	pgbench_script "$table" "$RETENTION_TMP/pgb_$side.sql"
	q1 "VACUUM ANALYZE $table"
	q1 "CHECKPOINT"
	wait_quiet
	# warm-up: prepared statements and caches (not measured)
	pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T 3 -f "$RETENTION_TMP/pgb_$side.sql" "$DB" >/dev/null 2>&1 ||
		problem "$label: warm-up pgbench failed"
	q1 "SELECT pg_stat_statements_reset()" >/dev/null
	phase_begin
	(cd "$RETENTION_TMP" && exec pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$PGB_MAX" \
		-l --log-prefix="$prefix.log" -f "$RETENTION_TMP/pgb_$side.sql" "$DB" >"$prefix.out" 2>&1) &
	PGB_PID=$!
	sleep "$PRE"
	local lsn0 lsn1 t0 t1
	lsn0=$(q1 "SELECT pg_current_wal_lsn()")
	t0=$(now_s)
	rc=0
	"$fn" "$arg" >/dev/null 2>"$prefix.purge.err" || rc=$?
	t1=$(now_s)
	lsn1=$(q1 "SELECT pg_current_wal_lsn()")
	sleep "$POST"
	local pgb_rc=0 stopped=1
	kill -INT "$PGB_PID" 2>/dev/null || stopped=0
	wait "$PGB_PID" || pgb_rc=$?
	PGB_PID=""
	[ "$stopped" = 1 ] || problem "2. $label: pgbench ended (-T $PGB_MAX) before the purge did"
	phase_end "$key" "2. $label"
	[ "$rc" = 0 ] || problem "2. $label: the purge failed (exit $rc): $(head -3 "$prefix.purge.err" | tr '\n' ' ')"
	grep -q -e WARNING -e ERROR "$prefix.purge.err" && problem "2. $label: $(grep -e WARNING -e ERROR "$prefix.purge.err" | head -3 | tr '\n' ' ')"
	grep -qi -e abort -e error "$prefix.out" && problem "2. $label: pgbench reported: $(grep -i -e abort -e error "$prefix.out" | head -3 | tr '\n' ' ')"
	out=$(pgb_analyze "$prefix" "$t0" "$t1")
	local k v
	while IFS='=' read -r k v; do
		jnum "$key.$k" "$v"
		printf -v "S_$k" '%s' "$v"
	done <<<"$out"
	S_purge_s=$(calc "$t1 - $t0")
	S_wal=$(q1 "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
	jnum "$key.purge_s" "$S_purge_s"
	jnum "$key.purge_wal_bytes" "$S_wal"
	jnum "$key.purge_exit" "$rc"
	jstr "$key.purge_messages" "$(cat "$prefix.purge.err")"
	jnum "$key.pgbench_exit" "$pgb_rc"
	jnum "$key.pgbench_pre_s" "$PRE"
	jnum "$key.pgbench_post_s" "$POST"
	jnum "$key.tps_ratio_during_over_before" "$(ratio_of "$S_tps_during" "$S_tps_before")"
	if awk "BEGIN { exit !($S_last_completion_after_to_s < 0.5) }"; then
		problem "2. $label: the last transaction logged completed $S_last_completion_after_to_s s after the purge"
	fi
	printf '   purge %.3f s; longest stretch without a completed transaction %.1f ms (from %+.3f s to %+.3f s of the purge start); TPS before %s, during %s (x%s), after %s; p99 %s -> %s ms; max latency during %s ms\n' \
		"$S_purge_s" "$(calc "1000 * $S_stretch_s")" "$S_stretch_from_s" "$S_stretch_to_s" "$S_tps_before" \
		"$S_tps_during" "$(ratio_of "$S_tps_during" "$S_tps_before")" "$S_tps_after" "$S_p99_before_ms" \
		"$S_p99_during_ms" "$S_max_during_ms"
}


log "2a. retention under pgbench: building bench_ev2"
build_daily bench_ev2
table_checks bench_ev2 "bench_ev2"
setup_retention bench_ev2 ev2
before=$(q1 "SELECT coalesce(max(id), 0) FROM retention.purge_log")
stall_side retention "CALL retention.run('ev2')" bench_ev2 purge_retention ev2
declare -A P2
for k in purge_s stretch_s tps_before tps_during p99_before_ms p99_during_ms max_during_ms wal; do
	eval "P2[retention.$k]=\$S_$k"
done
pss_top .part2.retention
P2_R_PSS=$PSS_TOP
retention_log .part2.retention ev2 "$before"
P2[retention.drops]=$L_DROPS P2[retention.drops_ok]=$L_DROPS_OK P2[retention.drop_max]=$L_DROP_MAX
P2[retention.drop_sum]=$L_DROP_SUM P2[retention.drop_span]=$L_DROP_SPAN
P2[retention.not_ok]=$L_NOT_OK P2[retention.error]=$L_ERROR
check "2a drop_partition units ok" "$EXPIRED" "$L_DROPS_OK"
check "2a expected partitions left" 0 "$(left_of x "$(expected_names bench_ev2)")"
q1 "SELECT retention.drop_policy('ev2')" >/dev/null
q1 "DROP TABLE bench_ev2"

log "2b. plain DROP TABLE under pgbench: building bench_dt2"
build_daily bench_dt2
table_checks bench_dt2 "bench_dt2"
DT2_NAMES=$(expected_names bench_dt2)
stall_side drop "DROP TABLE x $EXPIRED" bench_dt2 purge_drop "$DT2_NAMES"
for k in purge_s stretch_s tps_before tps_during p99_before_ms p99_during_ms max_during_ms wal; do
	eval "P2[drop.$k]=\$S_$k"
done
check "2b expected partitions left" 0 "$(left_of x "$DT2_NAMES")"
q1 "DROP TABLE bench_dt2"

log "2c. pg_partman under pgbench: building bench_pm2"
build_partman bench_pm2
table_checks bench_pm2 "bench_pm2"
setup_partman bench_pm2
PM2_NAMES=$(expected_names bench_pm2 partman)
pm_before=$(q1 "SELECT count(*) FROM bench_parts('bench_pm2')")
stall_side partman "partman.run_maintenance()" bench_pm2 purge_partman bench_pm2
for k in purge_s stretch_s tps_before tps_during p99_before_ms p99_during_ms max_during_ms wal; do
	eval "P2[partman.$k]=\$S_$k"
done
P2[partman.dropped]=$((pm_before - $(q1 "SELECT count(*) FROM bench_parts('bench_pm2')")))
jnum .part2.partman.partitions_dropped "${P2[partman.dropped]}"
check "2c partitions dropped" "$EXPIRED" "${P2[partman.dropped]}"
check "2c expected partitions left" 0 "$(left_of x "$PM2_NAMES")"
q1 "DROP TABLE bench_pm2"
q1 "DELETE FROM partman.part_config WHERE parent_table = 'public.bench_pm2'"
q1 "DROP TABLE IF EXISTS partman.template_public_bench_pm2"

T_STRETCH_OK=$(awk "BEGIN { print (${P2[retention.stretch_s]} < 0.05) ? 1 : 0 }")
jbool .part2.targets.retention_stretch_lt_50ms "$T_STRETCH_OK"
jnum .part2.pre_purge_s "$PRE"
jnum .part2.clients "$CLIENTS"
jnum .part2.threads "$THREADS"
q1 "VACUUM ANALYZE" >/dev/null

# ---------------------------------------------------------------------------------------------
# 3. partition width vs TPS
#
# The four tables are built first; then ROUNDS rounds, each running every table in turn with
# -M prepared and -M simple (a warm-up of WARMUP s, then SECS s measured), so that drift of the
# machine (storage flush latency above all: every transaction commits with fsync) spreads over
# all tables alike; the TPS reported is the mean of the rounds.

W_LABELS=(plain day week month)
W_TABLES=(bench_plain bench_wday bench_wweek bench_wmonth)
declare -A W_TPS W_LAT W_PARTS W_PLAN W_EXEC
W_DIAG=()

log "3. partition width vs TPS: building the plain table and the daily, weekly, monthly partitions"
q1 "CREATE TABLE bench_plain (id bigint NOT NULL, at timestamptz NOT NULL, tenant int NOT NULL,
        payload text NOT NULL)"
load_table bench_plain >/dev/null
for w in day week month; do
	make_partitions "bench_w$w" "1 $w"
	load_table "bench_w$w" >/dev/null
done
for i in "${!W_LABELS[@]}"; do
	l=${W_LABELS[$i]} table=${W_TABLES[$i]}
	check "3 $table rows" "$ROWS" "$(q1 "SELECT count(*) FROM $table")"
	pgbench_script "$table" "$RETENTION_TMP/pgb_w_$l.sql"
	W_PARTS[$l]=$(q1 "SELECT count(*) FROM pg_partition_tree('$table') WHERE isleaf AND relid <> '$table'::regclass")
	jnum ".part3.$l.partitions" "${W_PARTS[$l]}"
	# the SELECT's planning and execution time (EXPLAIN ANALYZE, the third of three runs; each
	# run is a new session, so its planning time includes building the relation cache entries
	# of the partitions and their indexes)
	for _ in 1 2 3; do
		out=$(q1 "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY) SELECT id, tenant FROM $table
		          WHERE at >= now() - make_interval(secs => 1800) ORDER BY at LIMIT 10")
	done
	W_PLAN[$l]=$(sed -n 's/^Planning Time: \([0-9.]*\) ms/\1/p' <<<"$out")
	W_EXEC[$l]=$(sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p' <<<"$out")
	jnum ".part3.$l.select_planning_ms" "${W_PLAN[$l]}"
	jnum ".part3.$l.select_execution_ms" "${W_EXEC[$l]}"
	jstr ".part3.$l.select_plan" "$out"
done
q1 "VACUUM ANALYZE"
q1 "CHECKPOINT"

for ((round = 1; round <= ROUNDS; round++)); do
	log "3. round $round/$ROUNDS"
	for i in "${!W_LABELS[@]}"; do
		l=${W_LABELS[$i]}
		for mode in prepared simple; do
			key=".part3.$l.$mode.rounds[$((round - 1))]"
			wait_quiet
			pgbench -n -M "$mode" -c "$CLIENTS" -j "$THREADS" -T "$WARMUP" -f "$RETENTION_TMP/pgb_w_$l.sql" "$DB" >/dev/null 2>&1 ||
				problem "3. $l $mode: warm-up pgbench failed"
			phase_begin
			out=$(pgbench -n -M "$mode" -c "$CLIENTS" -j "$THREADS" -T "$SECS" -f "$RETENTION_TMP/pgb_w_$l.sql" "$DB" 2>&1) ||
				problem "3. $l $mode: pgbench failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
			phase_end "$key" "3. $l -M $mode round $round"
			tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
			lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out" | head -1)
			jnum "$key.tps" "$tps"
			jnum "$key.latency_avg_ms" "$lat"
			W_TPS[$l.$mode.$round]=$tps W_LAT[$l.$mode.$round]=$lat
			printf '   %-6s -M %-8s %3s partitions: %10.1f TPS, latency %s ms\n' "$l" "$mode" "${W_PARTS[$l]}" "$tps" "$lat"
		done
	done
done

# mean over the rounds, and the ratio to the plain table
for l in "${W_LABELS[@]}"; do
	for mode in prepared simple; do
		W_TPS[$l.$mode]=$(for ((r = 1; r <= ROUNDS; r++)); do echo "${W_TPS[$l.$mode.$r]}"; done |
			awk '{ s += $1; n++ } END { printf "%.1f", s / n }')
		W_LAT[$l.$mode]=$(for ((r = 1; r <= ROUNDS; r++)); do echo "${W_LAT[$l.$mode.$r]}"; done |
			awk '{ s += $1; n++ } END { printf "%.3f", s / n }')
		jnum ".part3.$l.$mode.tps" "${W_TPS[$l.$mode]}"
		jnum ".part3.$l.$mode.latency_avg_ms" "${W_LAT[$l.$mode]}"
	done
done
for l in "${W_LABELS[@]}"; do
	for mode in prepared simple; do
		W_TPS[$l.$mode.ratio]=$(ratio_of "${W_TPS[$l.$mode]}" "${W_TPS[plain.$mode]}")
		jnum ".part3.$l.$mode.tps_ratio_to_plain" "${W_TPS[$l.$mode.ratio]}"
	done
done

# diagnosis, not measured: where a transaction's time goes (pg_stat_statements with planning
# tracked, in a separate short run, so that the measured runs are not slowed)
log "3. diagnosis: pg_stat_statements with track_planning, ${DIAG_SECS} s per table and protocol"
for i in "${!W_LABELS[@]}"; do
	l=${W_LABELS[$i]} table=${W_TABLES[$i]}
	for mode in prepared simple; do
		q1 "SELECT pg_stat_statements_reset()" >/dev/null
		PGOPTIONS="-c pg_stat_statements.track=top -c pg_stat_statements.track_planning=on" \
			pgbench -n -M "$mode" -c "$CLIENTS" -j "$THREADS" -T "$DIAG_SECS" -f "$RETENTION_TMP/pgb_w_$l.sql" "$DB" >/dev/null 2>&1 ||
			problem "3. $l $mode: diagnostic pgbench failed"
		out=$(q -F ' ' -c "SELECT left(query, 6), sum(calls), sum(plans),
			       round((sum(total_plan_time) / nullif(sum(calls), 0))::numeric, 3),
			       round((sum(total_exec_time) / nullif(sum(calls), 0))::numeric, 3)
			FROM pg_stat_statements
			WHERE query LIKE 'INSERT INTO $table %' OR query LIKE 'SELECT id, tenant FROM $table %'
			GROUP BY 1 ORDER BY 1")
		while read -r kind calls plans pms ems; do
			[ -n "$kind" ] || continue
			kind=${kind,,}
			jnum ".part3.$l.$mode.diagnosis.$kind.calls" "$calls"
			jnum ".part3.$l.$mode.diagnosis.$kind.plans" "$plans"
			jnum ".part3.$l.$mode.diagnosis.$kind.plan_ms_per_call" "$pms"
			jnum ".part3.$l.$mode.diagnosis.$kind.exec_ms_per_call" "$ems"
			W_DIAG+=("$(printf '    %-6s %-9s %-6s %8s calls %8s plans   plan %7s ms/call   exec %7s ms/call' "$l" "$mode" "$kind" "$calls" "$plans" "$pms" "$ems")")
		done <<<"$out"
	done
done
q1 "DROP TABLE bench_plain, bench_wday, bench_wweek, bench_wmonth"
jnum .part3.secs "$SECS"
jnum .part3.warmup_s "$WARMUP"
jnum .part3.rounds "$ROUNDS"

# ---------------------------------------------------------------------------------------------
# report

jstr .finished_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
jstr .build.retention_so_sha256_at_end "$(sha256sum "$("$PG_BIN/pg_config" --pkglibdir)/retention.so" | cut -c1-64)"
jnum .checks_failed "$CHECKS_FAILED"
jset .problems "$(printf '%s\n' "${PROBLEMS[@]+"${PROBLEMS[@]}"}" | jq -R . | jq -s 'map(select(. != ""))')"

pass() { [ "$1" = 1 ] && echo MET || echo MISSED; }
ms() { calc "1000 * $1" | awk '{ printf "%.1f", $1 }'; }
{
	set +e
	echo
	echo "retention partition drop benchmark ($(jq -r .started_at "$JSON") .. $(jq -r .finished_at "$JSON"))"
	echo "  command: bash bench/partition_drop.sh${ARGS:+ $ARGS}"
	echo "  machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "  PostgreSQL $PG_VERSION, retention $RET_VERSION (commit $(jq -r .build.git_commit "$JSON" | cut -c1-12)), pg_partman $PARTMAN_VERSION"
	echo "  settings differing from PostgreSQL's defaults: $(echo "$SETTINGS" | paste -sd ';' | sed 's/;/; /g')"
	echo "  data: $ROWS rows (id bigint, at timestamptz, tenant int, payload text of 60 chars; index on at),"
	echo "        $FIRST .. $TODAY, rows per day min/max $PER_DAY, $PARTS_TOTAL daily partitions (UTC midnight, $PREMAKE empty ahead,"
	echo "        no default); retain '$RETAIN': $EXPIRED partitions ($EXPIRED_ROWS rows) expired, cutoff inside $STRADDLE"
	echo "        (table with indexes: $(jq -r '.part1.table_bytes / 1048576 | floor' "$JSON") MiB)"
	echo
	echo "1. dropping $EXPIRED expired daily partitions (each after VACUUM ANALYZE and CHECKPOINT); median of $REPEAT round(s)"
	echo "   (each round: three fresh tables; every round's value in brackets)"
	printf '  %-44s %9s %-24s %12s %-36s %8s\n' "" "wall s" "[rounds]" "WAL bytes" "[rounds]" "dropped"
	p1row() # p1row LABEL TIME-NAME WAL-NAME DROPPED
	{
		local wt="" wv=""
		[ -n "$2" ] && wt=$(p1_all "$2" '%.3f')
		[ -n "$3" ] && wv=$(p1_all "$3")
		printf '  %-44s %9s %-24s %12s %-36s %8s\n' "$1" "$([ -n "$2" ] && printf '%.3f' "${M1[$2]}")" \
			"${wt:+[$wt]}" "$([ -n "$3" ] && printf '%.0f' "${M1[$3]}")" "${wv:+[$wv]}" "$4"
	}
	p1row "a. CALL retention.run('ev') (whole run)" r_wall r_wal "$(p1_all r_drops_ok)"
	p1row "   its drops (purge_log first start..last end)" r_drop_span r_wal_drops ""
	p1row "   its drops, first start .. delete start" r_drop_to_del "" ""
	p1row "   its row-by-row delete of $STRADDLE" r_del_span r_wal_straddle "$(printf '%.0f' "${M1[r_del_rows]}") rows"
	p1row "b. DROP TABLE, one per transaction (psql)" d_wall d_wal "$EXPIRED"
	p1row "   the same, measured in the procedure" d_span "" ""
	p1row "c. pg_partman run_maintenance()" m_wall m_wal "$(p1_all m_dropped)"
	echo "  (WAL of retention's drops = the run's WAL minus the WAL touching the straddling partition"
	echo "   and its index, by pg_waldump --relation; it includes the audit rows and the run's bookkeeping)"
	printf '  retention, where the time went (medians): CALL start .. first drop %.3f s; %s drops, units sum %.3f s,\n' \
		"${M1[r_before]}" "$EXPIRED" "${M1[r_drop_sum]}"
	printf '    i.e. %.2f ms per drop inside its unit (longest unit %.2f ms), and %.2f ms between units (commit,\n' \
		"$(calc "1000 * ${M1[r_drop_sum]} / $EXPIRED")" "$(calc "1000 * ${M1[r_drop_max]}")" "$(calc "1000 * ${M1[r_drop_gap]}")"
	printf '    then the next unit'\''s locks); delete %.3f s; after the delete until CALL returned %.3f s\n' \
		"${M1[r_del_span]}" "${M1[r_after]}"
	printf '    plain DROP: %.2f ms per partition (procedure span / %s); retention: %.2f ms (drops first start .. delete start / %s)\n' \
		"$(calc "1000 * ${M1[d_span]} / $EXPIRED")" "$EXPIRED" "$(calc "1000 * ${M1[r_drop_to_del]} / $EXPIRED")" "$EXPIRED"
	printf '  ratio retention / DROP TABLE, from the medians:\n'
	printf '    whole run (psql wall) / DROP (psql wall)                          %s   per round [%s]\n' "$RATIO_WHOLE" "$(p1_all ratio_whole)"
	printf '    drops only (first start..last end) / DROP (procedure span)       %s   per round [%s]\n' "$RATIO_DROPS" "$(p1_all ratio_drops)"
	printf '    drops only (first start..delete start) / DROP (procedure span)   %s   per round [%s]\n' "$RATIO_DROPS_TO_DEL" "$(p1_all ratio_drops_to_del)"
	printf '    drops only (first start..last end) / DROP (psql wall)            %s\n' "$RATIO_DROPS_WALL"
	printf '    target <= 1.2: whole run %s, drops only %s\n' "$(pass "$T_WHOLE_OK")" "$(pass "$T_DROPS_OK")"
	printf '  ratio retention / pg_partman: whole run %s (per round [%s]), drops only %s\n' "$RATIO_PM" "$(p1_all ratio_pm)" "$RATIO_PM_DROPS"
	printf '  WAL ratios: retention / DROP %s (without the straddling partition %s), retention / pg_partman %s\n' \
		"$(ratio_of "${M1[r_wal]}" "${M1[d_wal]}")" "$(ratio_of "${M1[r_wal_drops]}" "${M1[d_wal]}")" "$(ratio_of "${M1[r_wal]}" "${M1[m_wal]}")"
	echo "  pg_stat_statements, last round (track = all in the purging session; ms total | calls | statement, names folded):"
	echo "    retention:"; sed -e 's/\t/ | /g' -e 's/^/      /' <<<"$R_PSS"
	echo "    DROP TABLE:"; sed -e 's/\t/ | /g' -e 's/^/      /' <<<"$D_PSS"
	echo "    pg_partman:"; sed -e 's/\t/ | /g' -e 's/^/      /' <<<"$M_PSS"
	echo
	echo "2. the same purges on fresh copies under pgbench -M prepared -c $CLIENTS -j $THREADS (INSERT 1 row at now() + SELECT 10 rows of"
	echo "   the last hour by at); purge starts after ${PRE} s (TPS before: from 2 s after the first completion)"
	printf '  %-24s %8s %12s %10s %10s %7s %9s %9s %9s\n' "" "purge s" "stretch ms" "TPS before" "TPS during" "ratio" "p99 bef" "p99 dur" "max dur"
	for s in retention drop partman; do
		case $s in retention) l="a. retention.run()" ;; drop) l="b. DROP TABLE x $EXPIRED" ;; partman) l="c. pg_partman" ;; esac
		printf '  %-24s %8.3f %12s %10s %10s %7s %9s %9s %9s\n' "$l" "${P2[$s.purge_s]}" "$(ms "${P2[$s.stretch_s]}")" \
			"${P2[$s.tps_before]}" "${P2[$s.tps_during]}" "$(ratio_of "${P2[$s.tps_during]}" "${P2[$s.tps_before]}")" \
			"${P2[$s.p99_before_ms]}" "${P2[$s.p99_during_ms]}" "${P2[$s.max_during_ms]}"
	done
	echo "  (stretch = the longest interval between consecutive transaction completions, all clients, that"
	echo "   overlaps the purge; latencies in ms; p99 bef/dur of transactions completing before / during the purge)"
	printf '  retention under load: %s drop units, %s ok; units sum %.3f s (first start .. last end %.3f s), longest unit %.2f ms;\n    units not ok %s%s\n' "${P2[retention.drops]}" \
		"${P2[retention.drops_ok]}" "${P2[retention.drop_sum]}" "${P2[retention.drop_span]}" "$(calc "1000 * ${P2[retention.drop_max]}")" "${P2[retention.not_ok]}" \
		"$([ -n "${P2[retention.error]}" ] && echo "; first error: ${P2[retention.error]}")"
	printf '  pg_partman under load dropped %s partitions\n' "${P2[partman.dropped]}"
	echo "  retention under load, pg_stat_statements (ms total | calls | statement):"
	sed -e 's/\t/ | /g' -e 's/^/      /' <<<"$P2_R_PSS"
	printf '  retention longest stretch %s ms (target < 50 ms: %s)\n' "$(ms "${P2[retention.stretch_s]}")" "$(pass "$T_STRETCH_OK")"
	echo
	echo "3. partition width vs TPS: the same pgbench workload (-c $CLIENTS -j $THREADS) on $ROWS rows; $SECS s after a ${WARMUP}-s warm-up,"
	echo "   $ROUNDS round(s) over all tables in turn, TPS = mean of the rounds (each round in brackets)"
	printf '  %-8s %5s %-26s %7s %9s %-26s %7s %9s %8s %8s\n' "" "parts" "TPS -M prepared" "x plain" "lat ms" "TPS -M simple" "x plain" "lat ms" "plan ms" "exec ms"
	for l in "${W_LABELS[@]}"; do
		case $l in day) n=daily ;; plain) n=plain ;; *) n="${l}ly" ;; esac
		rp=$(for ((r = 1; r <= ROUNDS; r++)); do printf '%.0f ' "${W_TPS[$l.prepared.$r]}"; done)
		rs=$(for ((r = 1; r <= ROUNDS; r++)); do printf '%.0f ' "${W_TPS[$l.simple.$r]}"; done)
		printf '  %-8s %5s %-26s %7s %9s %-26s %7s %9s %8s %8s\n' "$n" "${W_PARTS[$l]}" \
			"${W_TPS[$l.prepared]} [${rp% }]" "${W_TPS[$l.prepared.ratio]}" "${W_LAT[$l.prepared]}" \
			"${W_TPS[$l.simple]} [${rs% }]" "${W_TPS[$l.simple.ratio]}" "${W_LAT[$l.simple]}" \
			"${W_PLAN[$l]}" "${W_EXEC[$l]}"
	done
	echo "  (plan/exec ms: EXPLAIN ANALYZE of the SELECT with a literal interval, simple protocol; the SELECT"
	echo "   compares at with now(), so partitions are pruned at executor start, not by the planner)"
	echo "  per statement, from pg_stat_statements (track_planning on) in a separate ${DIAG_SECS}-s run per table and protocol:"
	printf '%s\n' "${W_DIAG[@]}"
	echo
	if [ "$CHECKS_FAILED" = 0 ]; then
		echo "correctness checks: all passed"
	else
		echo "correctness checks: $CHECKS_FAILED FAILED"
	fi
	if [ ${#PROBLEMS[@]} -gt 0 ]; then
		echo "problems:"
		printf '  - %s\n' "${PROBLEMS[@]}"
	fi
	echo "results: $JSON_FINAL"
} | tee "$REPORT"
publish "$JSON" "$JSON_FINAL"
publish "$REPORT" "$REPORT_FINAL"
PUBLISHED=1

[ "$CHECKS_FAILED" = 0 ]

#!/usr/bin/env bash
# bench/purge_delete.sh: a benchmark (not a test) of in-place purging with `retention`.
#
#   A. Throughput: the same data in three tables; `CALL retention.run()` removes the expired half
#      of one in batches, a single `DELETE ... WHERE created_at < cutoff` removes it from the
#      second, and a plain PL/pgSQL loop of TID-range DELETEs committing every ~batch_size rows
#      (a reference: what batching alone costs) from the third. Reported side by side: wall
#      seconds, rows/s, WAL bytes, and for retention the longest single transaction (from
#      retention.purge_log, and by sampling pg_stat_activity every 50 ms).
#      Targets: retention rows/s >= 0.8x DELETE, longest transaction < 1 s.
#   B. Throttle: TPS of a small pgbench workload (INSERT one row + SELECT by a random id) alone,
#      during an unthrottled purge, and during purges throttled with
#      retention.max_rows_per_second = R; reports the highest R keeping TPS >= 0.9x alone, both
#      against the TPS of the same pgbench run just before the purge started and against a
#      standalone run.
#
# On a shared machine: a monitor samples, every 0.5 s, the CPU time and storage writes of every
# process that is not this benchmark's (and CPU time stolen by the hypervisor). Each measured
# phase first waits for a quiet machine (--max-wait), its disturbance is recorded and reported,
# and TPS figures leave out the seconds that were disturbed.
#
# Usage (as root on Debian 12, from anywhere):
#   bash bench/purge_delete.sh                 # 2,000,000 rows, 1,000,000 expired
#   bash bench/purge_delete.sh --quick         # 200,000 rows, shorter pgbench windows
#   bash bench/purge_delete.sh --rows 500000 --secs 30 --rates "100000 50000"
#
# Output: a readable report on stdout, also in bench/results/purge_delete.txt, and every figure
# in bench/results/purge_delete.json, both written when the run ends (--quick:
# purge_delete.quick.{txt,json}; --out BASE chooses another base name; a failed run leaves
# BASE.failed.json).
#
# The cluster is a throwaway one (scripts/lib.sh) with retention.enabled = off, so the worker
# never touches the benchmark tables: every purge is an explicit CALL retention.run(). The
# benchmark tables have autovacuum disabled so that neither side of a comparison gets a vacuum
# the other does not; everything else runs with the settings printed in the report.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS="$*"

ROWS=2000000
SECS=20
RATES="200000 100000 50000 20000 10000 5000"
BATCH=10000
QUICK=0
OUT=""
QUIET_MAX=900
REPEAT=3
repeat_given=0
rows_given=0
secs_given=0

usage()
{
	cat <<'EOF'
usage: bash bench/purge_delete.sh [--quick] [--rows N] [--secs S] [--rates "R1 R2 ..."]
                                  [--batch-size B] [--out BASE]
  --rows N        total rows per table (default 2000000); exactly N/2 are expired
  --quick         smoke run: 200000 rows, 10 s pgbench windows (unless --rows / --secs given)
  --secs S        part B: seconds of pgbench alone, and the bound (retention.max_runtime,
                  S - 2 s) of each throttled purge (default 20)
  --rates "..."   retention.max_rows_per_second values tried in part B
                  (default "200000 100000 50000 20000 10000 5000")
  --batch-size B  policy batch_size (default 10000)
  --repeat N      part A rounds (fresh tables each); the round with the median
                  retention/DELETE ratio is reported (default 3; 1 with --quick)
  --out BASE      results go to bench/results/BASE.json and BASE.txt
                  (default purge_delete, or purge_delete.quick with --quick)
  --max-wait S    before each measured phase, wait up to S s (default 900) until other
                  processes leave the machine idle; 0: do not wait
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--rows) ROWS=${2:?--rows needs a value}; rows_given=1; shift 2 ;;
	--rows=*) ROWS=${1#*=}; rows_given=1; shift ;;
	--quick) QUICK=1; shift ;;
	--secs) SECS=${2:?--secs needs a value}; secs_given=1; shift 2 ;;
	--secs=*) SECS=${1#*=}; secs_given=1; shift ;;
	--rates) RATES=${2:?--rates needs a value}; shift 2 ;;
	--rates=*) RATES=${1#*=}; shift ;;
	--batch-size) BATCH=${2:?--batch-size needs a value}; shift 2 ;;
	--batch-size=*) BATCH=${1#*=}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift 2 ;;
	--repeat) REPEAT=${2:?--repeat needs a value}; repeat_given=1; shift 2 ;;
	--repeat=*) REPEAT=${1#*=}; repeat_given=1; shift ;;
	--max-wait) QUIET_MAX=${2:?--max-wait needs a value}; shift 2 ;;
	--max-wait=*) QUIET_MAX=${1#*=}; shift ;;
	--out=*) OUT=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
PRE=8 # part B: seconds of pgbench alone before each purge starts, the paired baseline
if [ "$QUICK" = 1 ]; then
	[ "$rows_given" = 1 ] || ROWS=200000
	[ "$secs_given" = 1 ] || SECS=10
	[ "$repeat_given" = 1 ] || REPEAT=1
	PRE=3
fi
for v in "$ROWS" "$SECS" "$BATCH" "$QUIET_MAX" "$REPEAT" $RATES; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "not a positive integer: $v" >&2; exit 2; }
done
[ "$ROWS" -ge 4 ] || { echo "--rows must be at least 4" >&2; exit 2; }
[ "$SECS" -ge 5 ] || { echo "--secs must be at least 5" >&2; exit 2; }
[ "$BATCH" -ge 1 ] || { echo "--batch-size must be at least 1" >&2; exit 2; }
[ "$REPEAT" -ge 1 ] || { echo "--repeat must be at least 1" >&2; exit 2; }
EXPIRED=$((ROWS / 2))
KEPT=$((ROWS - EXPIRED))
[ -n "$OUT" ] || { [ "$QUICK" = 1 ] && OUT=purge_delete.quick || OUT=purge_delete; }

RESULTS_DIR=$HERE/results
mkdir -p "$RESULTS_DIR"
# Figures are gathered in the run's own directory and published to these two files at the end
# (each replaced at once), so that runs at the same time never mix their figures; a run that
# fails leaves what it measured in $OUT.failed.json.
JSON_FINAL=$RESULTS_DIR/$OUT.json
REPORT_FINAL=$RESULTS_DIR/$OUT.txt
PUBLISHED=0

# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$HERE/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pgbench_log.sh
source "$HERE/pgbench_log.sh"

DB=bench
PGBENCH_CLIENTS=4
PGBENCH_THREADS=2
OLTP_ROWS=100000
SAMPLE_PERIOD=0.05

# postgresql.conf for a 2-core, 24 GiB machine; durability stays realistic (fsync and
# synchronous_commit on).
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
	"retention.enabled = off"
)

# ---------------------------------------------------------------------------------------------
# helpers

now_s() { date +%s.%N; }

# calc EXPR: floating-point arithmetic through awk (operands are numbers produced here).
calc() { awk "BEGIN { printf \"%.6f\", ($1) }"; }

# num VALUE: VALUE if it is a JSON number, else null.
num()
{
	if [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
		# JSON has no leading zeros ("007") nor bare ".5"; normalise through awk when needed.
		if [[ $1 =~ ^-?0[0-9] ]]; then awk "BEGIN { print ($1) + 0 }"; else echo "$1"; fi
	else
		echo null
	fi
}

# JSON results, rewritten after every figure so that a failed run still leaves what it measured.
jset() # jset PATH JSON-VALUE
{
	jq --argjson v "$2" "$1 = \$v" "$JSON" >"$JSON.new" && mv "$JSON.new" "$JSON"
}
jnum() { jset "$1" "$(num "${2:-}")"; }
jstr() { jq --arg v "$2" "$1 = \$v" "$JSON" >"$JSON.new" && mv "$JSON.new" "$JSON"; }
jbool() { if [ "$2" = 1 ] || [ "$2" = true ]; then jset "$1" true; else jset "$1" false; fi; }

# q ARGS...: psql on the benchmark database, unaligned, tuples only, stop on error.
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
q1() { q -c "$1"; }

# qsoft SQL: like q1, but an error yields an empty result (and is logged) instead of aborting.
qsoft()
{
	local out
	if out=$(q -c "$1" 2>&1); then
		printf '%s' "$out"
	else
		printf 'query failed: %s\n  %s\n' "$1" "$out" >&2
		PROBLEMS+=("query failed: $1 -- $(echo "$out" | head -3 | tr '\n' ' ')")
	fi
}

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
		printf '   check %-40s ok (%s)\n' "$1" "$3"
	else
		printf '   check %-40s FAILED: expected %s, got %s\n' "$1" "$2" "${3:-<nothing>}"
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
		PROBLEMS+=("check $1: expected $2, got ${3:-<nothing>}")
	fi
}

# Transaction-age sampler: polls pg_stat_activity every $SAMPLE_PERIOD s for the backend whose
# application_name is APP, through one psql session (each poll its own transaction, so the
# activity snapshot is fresh). Within a procedure, xact_start is reset at every COMMIT.
sampler_start() # sampler_start APP OUTFILE
{
	SAMPLER_STOP=$RETENTION_TMP/sampler.stop
	rm -f "$SAMPLER_STOP"
	(
		while [ ! -e "$SAMPLER_STOP" ]; do
			printf "SELECT extract(epoch FROM clock_timestamp()), extract(epoch FROM xact_start), pid FROM pg_stat_activity WHERE application_name = '%s' AND xact_start IS NOT NULL;\n" "$1"
			sleep "$SAMPLE_PERIOD"
		done
	) | psql -X -At -F '|' -d "$DB" >"$2" 2>&1 &
	SAMPLER_PID=$!
}

sampler_stop()
{
	touch "$SAMPLER_STOP"
	wait "$SAMPLER_PID" || true
}

# sampler_summary FILE: "<longest observed transaction age s> <distinct transactions seen>
# <samples>"; the age is a lower bound of the longest transaction, exact to about one period.
sampler_summary()
{
	awk -F'|' 'NF >= 3 && $2 != "" && $1 ~ /^[0-9.]+$/ {
			age = $1 - $2; n++
			if (!($2 in m) || age > m[$2]) m[$2] = age
		}
		END {
			max = 0; k = 0
			for (x in m) { k++; if (m[x] > max) max = m[x] }
			printf "%.3f %d %d\n", max, k, n
		}' "$1"
}

# purge_log_summary POLICY AFTER_ID RUN_START_EPOCH: one line, '|'-separated:
# rows(log rows) | sum rows_affected | sum rows_failed | max(finished_at - started_at) s |
# max gap between consecutive commits (first one measured from RUN_START) s |
# first started_at .. last finished_at s | distinct statuses | distinct run_ids | cutoff |
# distinct kinds | first error
purge_log_summary()
{
	qsoft "
		WITH r AS (
			SELECT * FROM retention.purge_log WHERE id > $2 AND policy_name = '$1'
		), g AS (
			SELECT finished_at - lag(finished_at, 1, to_timestamp($3)) OVER (ORDER BY id) AS gap
			FROM r
		)
		SELECT count(*),
		       coalesce(sum(rows_affected), 0),
		       coalesce(sum(rows_failed), 0),
		       round(extract(epoch FROM max(finished_at - started_at))::numeric, 6),
		       (SELECT round(extract(epoch FROM max(gap))::numeric, 6) FROM g),
		       round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 6),
		       coalesce(string_agg(DISTINCT status::text, ','), ''),
		       count(DISTINCT run_id),
		       coalesce(min(cutoff)::text, ''),
		       coalesce(string_agg(DISTINCT kind::text, ','), ''),
		       coalesce((SELECT replace(error, E'\n', ' ') FROM r WHERE error IS NOT NULL
		                 ORDER BY id LIMIT 1), '')
		FROM r"
}

max_log_id() { qsoft "SELECT coalesce(max(id), 0) FROM retention.purge_log"; }

# The machine may be shared (other clusters, builds, tests): every measured phase records the CPU
# time used by processes that are not this script's (nor its cluster's), and waits first until
# they leave the machine nearly idle.
#
# cpu_snapshot: "pid:starttime ticks write_bytes comm" of every user-space process not ours.
cpu_snapshot()
{
	local pm=0
	if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		pm=$(head -1 "$PGDATA/postmaster.pid")
	fi
	# processes come and go while /proc is read: a vanished one is no error
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

# foreign_cpu BEFORE AFTER: "<CPU seconds used by other processes between the two snapshots>
# <seconds of the biggest consumer> <its pid> <bytes they wrote to storage> <pid of the biggest
# writer>" (processes that ended in between are not seen).
foreign_cpu()
{
	awk -v hz="$(getconf CLK_TCK)" '
		NR == FNR { before[$1] = $2; wbefore[$1] = $3; next }
		{
			d = $2 - (($1 in before) ? before[$1] : 0)
			if (d < 0) d = 0
			sum += d
			if (d > tv) { tv = d; top = $1 }
			w = $3 - (($1 in wbefore) ? wbefore[$1] : 0)
			if (w < 0) w = 0
			wsum += w
			if (w > wv) { wv = w; wtop = $1 }
		}
		END {
			sub(/:.*/, "", top); sub(/:.*/, "", wtop)
			printf "%.2f %.2f %s %d %s\n", sum / hz, tv / hz, (top == "" ? "-" : top), wsum,
				(wtop == "" ? "-" : wtop)
		}' "$1" "$2"
}

# describe_pid PID: its command line, '_' for blanks (one word), or "?" when it is gone.
describe_pid()
{
	local d=""
	if [[ $1 =~ ^[0-9]+$ ]]; then
		d=$(tr '\0 ' '__' 2>/dev/null <"/proc/$1/cmdline" | cut -c1-80) || true
	fi
	echo "${d:-?}"
}

# The monitor: a background loop that, every 0.5 s, appends to $MONITOR_LOG "<epoch s> <CPU s of
# other processes> <bytes they wrote> <CPU s stolen by the hypervisor> <command line of the
# biggest CPU user> <command line of the biggest writer>" for the interval just ended (a process
# born within the interval counts whole, so short compiler runs are seen too).
monitor_start()
{
	MONITOR_LOG=$RETENTION_TMP/monitor.log
	: >"$MONITOR_LOG"
	(
		set +e
		hz=$(getconf CLK_TCK)
		steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
		cpu_snapshot >"$RETENTION_TMP/monitor.prev"
		steal0=$(steal_ticks)
		while [ -d "$RETENTION_TMP" ] && [ ! -e "$RETENTION_TMP/monitor.stop" ] && kill -0 "$$" 2>/dev/null; do
			sleep 0.5
			cpu_snapshot >"$RETENTION_TMP/monitor.cur" 2>/dev/null || break
			t=$(now_s)
			steal1=$(steal_ticks)
			read -r c _ top w wtop <<<"$(foreign_cpu "$RETENTION_TMP/monitor.prev" "$RETENTION_TMP/monitor.cur")"
			printf '%s %s %s %s %s %s\n' "$t" "$c" "$w" \
				"$(awk "BEGIN { printf \"%.2f\", ($steal1 - $steal0) / $hz }")" \
				"$(describe_pid "$top")" "$(describe_pid "$wtop")" \
				>>"$MONITOR_LOG" 2>/dev/null || break
			mv "$RETENTION_TMP/monitor.cur" "$RETENTION_TMP/monitor.prev" 2>/dev/null || break
			steal0=$steal1
		done
	) &
	MONITOR_PID=$!
}

monitor_stop()
{
	if [ -n "${MONITOR_PID:-}" ]; then
		touch "$RETENTION_TMP/monitor.stop" 2>/dev/null || true
		wait "$MONITOR_PID" 2>/dev/null || true
		MONITOR_PID=""
	fi
}

monitor_alive()
{
	kill -0 "$MONITOR_PID" 2>/dev/null || problem "the interference monitor died: disturbance figures are missing"
}

# monitor_sum FROM TO (epoch s): "<other CPU s> <bytes written> <stolen CPU s> <top CPU user>
# <top writer>" over the monitor intervals ending in (FROM, TO] (the tops: of the busiest
# interval, command lines with '_' for blanks).
monitor_sum()
{
	awk -v a="$1" -v b="$2" '$1 > a && $1 <= b {
			c += $2; w += $3; st += $4
			if ($2 >= tc) { tc = $2; tp = $5 }
			if ($3 >= tw) { tw = $3; wp = $6 }
		}
		END { printf "%.2f %d %.2f %s %s\n", c, w, st, (tp == "" ? "?" : tp), (wp == "" ? "?" : wp) }' \
		"$MONITOR_LOG"
}

# wait_quiet: until, over 3 s, other processes use under 10% of one CPU, write under 1 MB/s and
# the hypervisor steals under 10% of one CPU (at most QUIET_MAX s). Sets QUIET_WAITED (seconds).
wait_quiet()
{
	local t cpu wbytes steal top wtop said=0
	QUIET_WAITED=0
	monitor_alive
	while :; do
		sleep 3
		t=$(now_s)
		read -r cpu wbytes steal top wtop <<<"$(monitor_sum "$(calc "$t - 3")" "$t")"
		awk "BEGIN { exit !($cpu < 0.3 && $wbytes < 3 * 1048576 && $steal < 0.3) }" && break
		if [ "$QUIET_WAITED" -ge "$QUIET_MAX" ]; then
			problem "the machine stayed busy: in 3 s other processes used ${cpu} CPU-s (top: ${top//_/ }) and wrote $((wbytes / 1048576)) MB, ${steal} CPU-s stolen; measuring anyway"
			break
		fi
		if [ "$said" = 0 ]; then
			printf '   waiting for a quiet machine (in 3 s: others used %s CPU-s, top: %s; wrote %s MB, top: %s; %s CPU-s stolen)\n' \
				"$cpu" "${top//_/ }" "$((wbytes / 1048576))" "${wtop//_/ }" "$steal"
			said=1
		fi
		QUIET_WAITED=$((QUIET_WAITED + 3))
	done
	[ "$QUIET_WAITED" = 0 ] || printf '   waited %s s for a quiet machine\n' "$QUIET_WAITED"
}

# interference_begin / interference_end KEY WALL_S LABEL: record what disturbed a measured phase:
# KEY.other_cpu_s / other_cpu_share (of all CPUs over the phase), other_write_bytes,
# stolen_cpu_s, autovacuums_during. Sets INTERFERENCE (the CPU share, stolen time included) and
# OTHER_WRITE_MBPS; a problem is noted above 5% of the CPUs or 2 MB/s written.
interference_begin()
{
	AUTOVAC_BEFORE=$(autovacuum_count)
	PHASE_BEGIN=$(now_s)
}

# autovacuum_count: autovacuums + autoanalyzes so far in the benchmark database (this cluster's
# own background work, which would disturb a measurement as much as a foreign process).
autovacuum_count()
{
	q1 "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables"
}

interference_end()
{
	local cpu wbytes steal top wtop wrate autovac end
	end=$(now_s)
	sleep 0.6 # the monitor's last interval; statistics are flushed at most every 0.5 s
	read -r cpu wbytes steal top wtop <<<"$(monitor_sum "$PHASE_BEGIN" "$(calc "$end + 0.5")")"
	monitor_alive
	autovac=$(($(autovacuum_count) - AUTOVAC_BEFORE))
	jnum "$1.autovacuums_during" "$autovac"
	if [ "$autovac" != 0 ]; then
		# The extension's own tables (audit log, chain head) are part of what a purge costs;
		# any other table's autovacuum is a disturbance.
		local tables others
		tables=$(q1 "SELECT string_agg(schemaname || '.' || relname, ', ' ORDER BY relname)
			FROM pg_stat_all_tables
			WHERE greatest(last_autovacuum, last_autoanalyze) >= to_timestamp($PHASE_BEGIN)")
		others=$(q1 "SELECT string_agg(schemaname || '.' || relname, ', ' ORDER BY relname)
			FROM pg_stat_all_tables
			WHERE greatest(last_autovacuum, last_autoanalyze) >= to_timestamp($PHASE_BEGIN)
			  AND schemaname NOT IN ('retention', '_retention')")
		jstr "$1.autovacuumed_tables" "$tables"
		[ -z "$others" ] ||
			problem "${3:-$1}: autovacuum/autoanalyze ran in the cluster during the phase ($others)"
	fi
	INTERFERENCE=$(calc "($cpu + $steal) / (($2 > 0 ? $2 : 1) * $(nproc))")
	wrate=$(calc "$wbytes / 1048576 / ($2 > 0 ? $2 : 1)")
	OTHER_WRITE_MBPS=$wrate
	jnum "$1.other_cpu_s" "$cpu"
	jnum "$1.stolen_cpu_s" "$steal"
	jnum "$1.other_cpu_share" "$INTERFERENCE"
	jnum "$1.other_write_bytes" "$wbytes"
	jnum "$1.other_write_mb_per_s" "$wrate"
	jnum "$1.waited_for_quiet_s" "${QUIET_WAITED:-0}"
	if awk "BEGIN { exit !($INTERFERENCE > 0.05) }"; then
		problem "${3:-$1}: other processes used ${cpu} CPU-s and ${steal} CPU-s were stolen during the phase ($(calc "100 * $INTERFERENCE" | cut -d. -f1)% of the machine; top: ${top//_/ })"
	fi
	if awk "BEGIN { exit !($wrate > 2) }"; then
		problem "${3:-$1}: other processes wrote $((wbytes / 1048576)) MB during the phase ($(calc "$wrate" | cut -d. -f1) MB/s; top: ${wtop//_/ })"
	fi
}

prewarm() # prewarm TABLE: the table and its indexes into shared_buffers
{
	q1 "SELECT sum(pg_prewarm(c)) FROM (SELECT '$1'::regclass AS c UNION ALL
	    SELECT indexrelid::regclass FROM pg_index WHERE indrelid = '$1'::regclass) s" >/dev/null
}

create_purge_table() # create_purge_table NAME
{
	q1 "CREATE TABLE $1 (id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
	        tenant int NOT NULL, payload text NOT NULL)
	    WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off)"
}

# load_purge_table NAME: (re)fill NAME from bench_src in id order, indexes present, then
# VACUUM ANALYZE, prewarm. The table keeps its identity (policies are bound to it).
load_purge_table()
{
	q1 "TRUNCATE $1"
	q1 "INSERT INTO $1 SELECT * FROM bench_src ORDER BY id"
	q -c "SET client_min_messages = warning" \
		-c "CREATE INDEX IF NOT EXISTS ${1}_created_at_idx ON $1 (created_at)"
	q1 "VACUUM ANALYZE $1"
	prewarm "$1"
}

# ---------------------------------------------------------------------------------------------
# setup

log "retention purge benchmark: $ROWS rows per table, $EXPIRED expired; batch_size $BATCH"
install_packages jq
build_and_install
start_cluster "${CONF[@]}"
monitor_start
JSON=$RETENTION_TMP/results.json
REPORT=$RETENTION_TMP/report.txt

# publish SRC DEST: copy SRC over DEST in one step (a rename within the results directory)
publish()
{
	cp "$1" "$RESULTS_DIR/.$(basename "$2").$$" && mv -f "$RESULTS_DIR/.$(basename "$2").$$" "$2"
}

# stop the monitor before scripts/lib.sh's stop_cluster removes its directory; keep the figures
# of a failed run
on_exit()
{
	local rc=$?
	monitor_stop
	if [ "$PUBLISHED" = 0 ] && [ -s "$JSON" ]; then
		publish "$JSON" "$RESULTS_DIR/$OUT.failed.json" || true
		echo "incomplete results: $RESULTS_DIR/$OUT.failed.json" >&2
	fi
	(exit "$rc")
	stop_cluster
}
trap on_exit EXIT

echo '{}' >"$JSON"
jstr .benchmark purge_delete
jstr .started_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
jstr .command "bash bench/purge_delete.sh${ARGS:+ $ARGS}"
jbool .quick "$QUICK"
jnum .rows_total "$ROWS"
jnum .rows_expired "$EXPIRED"
jnum .batch_size "$BATCH"
jnum .host.cpus "$(nproc)"
jnum .host.mem_kib "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
jstr .host.kernel "$(uname -r)"
jstr .build.git_commit "$(git -C "$RETENTION_ROOT" rev-parse HEAD 2>/dev/null || echo none)"
jnum .build.uncommitted_files "$(git -C "$RETENTION_ROOT" status --porcelain -- src sql Makefile 2>/dev/null | wc -l)"
jstr .build.retention_so_sha256 "$(sha256sum "$("$PG_BIN/pg_config" --pkglibdir)/retention.so" | cut -c1-64)"
jset .postgresql_conf "$(printf '%s\n' "${CONF[@]}" "fsync = ${RETENTION_FSYNC:-on}" \
	"shared_preload_libraries = 'retention'" | jq -R . | jq -s .)"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
q1 "CREATE EXTENSION retention"
q1 "CREATE EXTENSION pg_prewarm"
jstr .server_version "$(q1 "SHOW server_version")"
jstr .extension_version "$(q1 "SELECT extversion FROM pg_extension WHERE extname = 'retention'")"
SETTINGS=$(q -F ' = ' -c "SELECT name, current_setting(name) FROM pg_settings WHERE name IN
	('shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'wal_buffers',
	 'max_wal_size', 'min_wal_size', 'checkpoint_timeout', 'checkpoint_completion_target',
	 'synchronous_commit', 'fsync', 'full_page_writes', 'wal_compression', 'wal_level', 'jit',
	 'autovacuum', 'random_page_cost', 'retention.enabled', 'retention.naptime',
	 'retention.max_rows_per_second', 'retention.max_runtime', 'retention.lock_timeout')
	ORDER BY name")
jset .settings "$(q1 "SELECT jsonb_object_agg(name, current_setting(name)) FROM pg_settings
	WHERE name IN ('shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem',
	 'wal_buffers', 'max_wal_size', 'min_wal_size', 'checkpoint_timeout',
	 'checkpoint_completion_target', 'synchronous_commit', 'fsync', 'full_page_writes',
	 'wal_compression', 'wal_level', 'jit', 'autovacuum', 'random_page_cost',
	 'retention.enabled', 'retention.naptime', 'retention.max_rows_per_second',
	 'retention.max_runtime', 'retention.lock_timeout')")"
log "settings in effect"
# shellcheck disable=SC2001
sed 's/^/   /' <<<"$SETTINGS"

# ---------------------------------------------------------------------------------------------
# data: N rows, exactly N/2 expired for a 365-day retention. Ages are a fixed-seed random
# permutation: rank r <= E gets an age in [366, 730) days, the others [0, 364) days, so the set
# of expired rows is exact whatever the few minutes between load and purge, and expired rows are
# physically interleaved with live ones (rows are stored in id order).

log "generating $ROWS rows (seeded)"
t=$(now_s)
q -v N="$ROWS" -v E="$EXPIRED" <<'SQL' >/dev/null
SELECT setseed(0.42);
CREATE UNLOGGED TABLE bench_src AS
SELECT p.i::bigint AS id,
       CASE WHEN p.r <= :E
            THEN now() - interval '366 days' - (p.r - 1) * (interval '364 days' / :E)
            ELSE now() - (p.r - :E - 1) * (interval '364 days' / (:N - :E))
       END AS created_at,
       (p.i % 100)::int AS tenant,
       left(repeat(md5(p.i::text), 4), 100) AS payload
FROM (SELECT i, row_number() OVER (ORDER BY random()) AS r
        FROM generate_series(1, :N) AS i) AS p
ORDER BY p.i;
SQL
q1 "VACUUM ANALYZE bench_src"
src_expired=$(q1 "SELECT count(*) FROM bench_src WHERE created_at < now() - interval '365 days'")
check "bench_src expired rows" "$EXPIRED" "$src_expired"
jnum .load.generate_s "$(calc "$(now_s) - $t")"

# ---------------------------------------------------------------------------------------------
# A. retention.run() vs DELETE

q1 "CREATE OR REPLACE PROCEDURE bench_batched_delete(tbl regclass, cutoff timestamptz, pages int)
    LANGUAGE plpgsql AS \$\$
    DECLARE
        npages bigint := pg_relation_size(tbl) / current_setting('block_size')::int;
        b bigint := 0;
    BEGIN
        WHILE b < npages LOOP
            EXECUTE format('DELETE FROM %s WHERE ctid >= \$1 AND ctid < \$2 AND created_at < \$3', tbl)
                USING format('(%s,0)', b)::tid, format('(%s,0)', b + pages)::tid, cutoff;
            COMMIT;
            b := b + pages;
        END LOOP;
    END \$\$"

# One round of part A: fresh tables, the three removals, the checks. Its figures go to
# .a.rounds[N] and its shell variables to a file, so that the round with the median ratio can be
# reported in full.
a_round()
{
	AK=".a.rounds[$A_ROUND]"
	log "A. round $((A_ROUND + 1))/$REPEAT: loading bench_ret, bench_del and bench_bat"
	t=$(now_s)
	for tb in bench_ret bench_del bench_bat; do
		create_purge_table "$tb"
		load_purge_table "$tb"
	done
	jnum "$AK.load_s" "$(calc "$(now_s) - $t")"
	jnum "$AK.table_bytes" "$(q1 "SELECT pg_total_relation_size('bench_ret')")"
	q1 "SELECT retention.add_policy('bench', 'bench_ret', 'created_at', '365 days',
	        batch_size => $BATCH)" >/dev/null

	preview=$(qsoft "SELECT rows_expired FROM retention.preview('bench')")
	check "[$((A_ROUND + 1))] preview rows_expired" "$EXPIRED" "$preview"
	jnum "$AK.preview_rows_expired" "$preview"

	# (1) CALL retention.run('bench')
	q1 "CHECKPOINT"
	log "A$((A_ROUND + 1)).1 CALL retention.run('bench')"
	wait_quiet
	before=$(max_log_id)
	lsn0=$(q1 "SELECT pg_current_wal_lsn()")
	sampler_start bench_retention_run "$RETENTION_TMP/a_ret.samples"
	interference_begin
	t0=$(now_s)
	ret_rc=0
	PGAPPNAME=bench_retention_run q -c "CALL retention.run('bench')" \
		>"$RETENTION_TMP/a_ret.out" 2>"$RETENTION_TMP/a_ret.err" || ret_rc=$?
	t1=$(now_s)
	interference_end "$AK.retention" "$(calc "$t1 - $t0")" "A$((A_ROUND + 1)). retention.run()"
	A_RET_INTERFERENCE=$INTERFERENCE A_RET_OTHERW=$OTHER_WRITE_MBPS
	sampler_stop
	lsn1=$(q1 "SELECT pg_current_wal_lsn()")
	ret_wall=$(calc "$t1 - $t0")
	ret_wal=$(q1 "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
	if [ "$ret_rc" != 0 ] || [ -s "$RETENTION_TMP/a_ret.err" ]; then
		sed 's/^/   psql: /' "$RETENTION_TMP/a_ret.err"
	fi
	[ "$ret_rc" = 0 ] || problem "CALL retention.run('bench') failed (psql exit $ret_rc): $(head -3 "$RETENTION_TMP/a_ret.err" | tr '\n' ' ')"
	grep -q WARNING "$RETENTION_TMP/a_ret.err" && problem "CALL retention.run('bench') warned: $(grep WARNING "$RETENTION_TMP/a_ret.err" | head -3 | tr '\n' ' ')"

	IFS='|' read -r l_rows l_affected l_failed l_maxx l_gap l_span l_status l_runs l_cutoff l_kinds l_error \
		<<<"$(purge_log_summary bench "$before" "$t0")" || true
	read -r s_max s_xacts s_n <<<"$(sampler_summary "$RETENTION_TMP/a_ret.samples")"
	ret_remaining=$(q1 "SELECT count(*) FROM bench_ret")
	ret_rows=$((ROWS - ret_remaining))
	ret_rps=$(calc "$ret_rows / ($ret_wall > 0 ? $ret_wall : 1)")

	jnum "$AK.retention.wall_s" "$ret_wall"
	jnum "$AK.retention.rows_removed" "$ret_rows"
	jnum "$AK.retention.rows_per_s" "$ret_rps"
	jnum "$AK.retention.wal_bytes" "$ret_wal"
	jnum "$AK.retention.wal_bytes_per_row" "$(calc "$ret_wal / ($ret_rows > 0 ? $ret_rows : 1)")"
	jnum "$AK.retention.psql_exit" "$ret_rc"
	jstr "$AK.retention.messages" "$(cat "$RETENTION_TMP/a_ret.err")"
	jnum "$AK.retention.purge_log.rows" "${l_rows:-}"
	jnum "$AK.retention.purge_log.sum_rows_affected" "${l_affected:-}"
	jnum "$AK.retention.purge_log.sum_rows_failed" "${l_failed:-}"
	jnum "$AK.retention.purge_log.longest_batch_s" "${l_maxx:-}"
	jnum "$AK.retention.purge_log.longest_commit_gap_s" "${l_gap:-}"
	jnum "$AK.retention.purge_log.span_s" "${l_span:-}"
	jstr "$AK.retention.purge_log.statuses" "${l_status:-}"
	jstr "$AK.retention.purge_log.kinds" "${l_kinds:-}"
	jnum "$AK.retention.purge_log.run_ids" "${l_runs:-}"
	jstr "$AK.retention.purge_log.cutoff" "${l_cutoff:-}"
	jstr "$AK.retention.purge_log.first_error" "${l_error:-}"
	jnum "$AK.retention.sampled.longest_xact_s" "$s_max"
	jnum "$AK.retention.sampled.transactions_seen" "$s_xacts"
	jnum "$AK.retention.sampled.samples" "$s_n"
	jnum "$AK.retention.sampled.period_s" "$SAMPLE_PERIOD"

	# (2) DELETE with the very cutoff the run used (from purge_log); the data leaves a 2-day gap
	# around now() - 365 days, so any cutoff in it selects the same rows.
	if [ -n "${l_cutoff:-}" ]; then
		cutoff_sql="'$l_cutoff'::timestamptz"
	else
		problem "no cutoff in retention.purge_log for the run; DELETE uses now() - interval '365 days'"
		cutoff_sql="now() - interval '365 days'"
	fi
	jstr "$AK.delete.cutoff_sql" "$cutoff_sql"
	del_target=$(q1 "SELECT count(*) FROM bench_del WHERE created_at < $cutoff_sql")
	check "[$((A_ROUND + 1))] bench_del rows below the cutoff" "$EXPIRED" "$del_target"

	q1 "CHECKPOINT"
	log "A$((A_ROUND + 1)).2 DELETE FROM bench_del WHERE created_at < $cutoff_sql"
	wait_quiet
	lsn0=$(q1 "SELECT pg_current_wal_lsn()")
	sampler_start bench_delete "$RETENTION_TMP/a_del.samples"
	interference_begin
	t0=$(now_s)
	PGAPPNAME=bench_delete q -c "DELETE FROM bench_del WHERE created_at < $cutoff_sql" >/dev/null
	t1=$(now_s)
	interference_end "$AK.delete" "$(calc "$t1 - $t0")" "A$((A_ROUND + 1)). DELETE"
	A_DEL_INTERFERENCE=$INTERFERENCE A_DEL_OTHERW=$OTHER_WRITE_MBPS
	sampler_stop
	lsn1=$(q1 "SELECT pg_current_wal_lsn()")
	del_wall=$(calc "$t1 - $t0")
	del_wal=$(q1 "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
	del_remaining=$(q1 "SELECT count(*) FROM bench_del")
	del_rows=$((ROWS - del_remaining))
	del_rps=$(calc "$del_rows / ($del_wall > 0 ? $del_wall : 1)")
	read -r d_max d_xacts d_n <<<"$(sampler_summary "$RETENTION_TMP/a_del.samples")"
	jnum "$AK.delete.wall_s" "$del_wall"
	jnum "$AK.delete.rows_removed" "$del_rows"
	jnum "$AK.delete.rows_per_s" "$del_rps"
	jnum "$AK.delete.wal_bytes" "$del_wal"
	jnum "$AK.delete.wal_bytes_per_row" "$(calc "$del_wal / ($del_rows > 0 ? $del_rows : 1)")"
	jnum "$AK.delete.longest_xact_s" "$del_wall"
	jnum "$AK.delete.sampled.longest_xact_s" "$d_max"
	jnum "$AK.delete.sampled.transactions_seen" "$d_xacts"
	jnum "$AK.delete.sampled.samples" "$d_n"

	# (3) Reference: the same DELETE cut into batches of about batch_size rows along the heap (TID
	# range scans, ~batch_size / expired-per-page pages each), one COMMIT per batch, in plain
	# PL/pgSQL: what batching and per-batch commits cost by themselves, without any of the
	# extension's work (no row locks, no audit rows, no security context switches).
	bat_pages=$(q1 "SELECT greatest(1, ceil($BATCH::numeric * (pg_relation_size('bench_bat')
	                    / current_setting('block_size')::int) / $EXPIRED))::int")
	jnum "$AK.batched_reference.pages_per_batch" "$bat_pages"
	q1 "CHECKPOINT"
	log "A$((A_ROUND + 1)).3 reference: CALL bench_batched_delete() ($bat_pages pages per batch, COMMIT each)"
	wait_quiet
	lsn0=$(q1 "SELECT pg_current_wal_lsn()")
	interference_begin
	t0=$(now_s)
	q -c "CALL bench_batched_delete('bench_bat', $cutoff_sql, $bat_pages)" >/dev/null
	t1=$(now_s)
	interference_end "$AK.batched_reference" "$(calc "$t1 - $t0")" "A$((A_ROUND + 1)). batched reference"
	A_BAT_INTERFERENCE=$INTERFERENCE A_BAT_OTHERW=$OTHER_WRITE_MBPS
	lsn1=$(q1 "SELECT pg_current_wal_lsn()")
	bat_wall=$(calc "$t1 - $t0")
	bat_wal=$(q1 "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
	bat_remaining=$(q1 "SELECT count(*) FROM bench_bat")
	bat_rows=$((ROWS - bat_remaining))
	bat_rps=$(calc "$bat_rows / ($bat_wall > 0 ? $bat_wall : 1)")
	jnum "$AK.batched_reference.wall_s" "$bat_wall"
	jnum "$AK.batched_reference.rows_removed" "$bat_rows"
	jnum "$AK.batched_reference.rows_per_s" "$bat_rps"
	jnum "$AK.batched_reference.wal_bytes" "$bat_wal"
	jnum "$AK.batched_reference.wal_bytes_per_row" "$(calc "$bat_wal / ($bat_rows > 0 ? $bat_rows : 1)")"
	jnum "$AK.batched_reference.batches" "$(q1 "SELECT ceil(pg_relation_size('bench_bat')::numeric
	    / current_setting('block_size')::int / $bat_pages)")"

	log "A$((A_ROUND + 1)). correctness"
	check "[$((A_ROUND + 1))] bench_ret remaining rows" "$KEPT" "$ret_remaining"
	check "[$((A_ROUND + 1))] bench_del remaining rows" "$KEPT" "$del_remaining"
	check "[$((A_ROUND + 1))] bench_bat remaining rows" "$KEPT" "$bat_remaining"
	diff_ids=$(q1 "SELECT count(*) FROM bench_ret r FULL JOIN bench_del d USING (id)
	               WHERE r.id IS NULL OR d.id IS NULL")
	check "[$((A_ROUND + 1))] same remaining ids in both tables" 0 "$diff_ids"
	check "[$((A_ROUND + 1))] purge_log sum(rows_affected) of the run" "$EXPIRED" "${l_affected:-}"
	check "[$((A_ROUND + 1))] purge_log sum(rows_failed) of the run" 0 "${l_failed:-}"
	check "[$((A_ROUND + 1))] purge_log statuses of the run" ok "${l_status:-}"
	check "[$((A_ROUND + 1))] purge_log run_ids of the run" 1 "${l_runs:-}"
	expired_left=$(q1 "SELECT count(*) FROM bench_ret WHERE created_at < now() - interval '365 days'")
	check "[$((A_ROUND + 1))] expired rows left in bench_ret" 0 "$expired_left"
	audit_ok=$(qsoft "SELECT ok FROM retention.verify_audit()")
	check "[$((A_ROUND + 1))] verify_audit() ok" t "$audit_ok"
	# dead tuples each removal leaves for VACUUM: n_dead_tup, as autovacuum sees it (pgstattuple
	# would miss those that page pruning already turned into dead line pointers, which VACUUM
	# still has to remove from the indexes)
	read -r ret_dead del_dead bat_dead <<<"$(q1 "SELECT string_agg(pg_stat_get_dead_tuples(u.t::regclass)::text, ' ' ORDER BY u.i)
	    FROM unnest('{bench_ret,bench_del,bench_bat}'::text[]) WITH ORDINALITY AS u(t, i)")"
	jnum "$AK.retention.dead_tuples_left" "$ret_dead"
	jnum "$AK.delete.dead_tuples_left" "$del_dead"
	jnum "$AK.batched_reference.dead_tuples_left" "$bat_dead"
	jnum "$AK.checks.bench_ret_remaining" "$ret_remaining"
	jnum "$AK.checks.bench_del_remaining" "$del_remaining"
	jnum "$AK.checks.ids_differing" "$diff_ids"
	jnum "$AK.checks.expired_left_in_bench_ret" "$expired_left"
	jstr "$AK.checks.verify_audit_ok" "$audit_ok"

	ratio=$(calc "$ret_rps / ($del_rps > 0 ? $del_rps : 1)")
	bat_ratio=$(calc "$ret_rps / ($bat_rps > 0 ? $bat_rps : 1)")
	jnum "$AK.rows_per_s_ratio_retention_over_delete" "$ratio"
	jnum "$AK.rows_per_s_ratio_retention_over_batched_reference" "$bat_ratio"
	q1 "SELECT retention.drop_policy('bench')" >/dev/null
	q1 "DROP TABLE bench_ret, bench_del, bench_bat"
	declare -p ret_wall ret_rows ret_rps ret_wal del_wall del_rows del_rps del_wal bat_wall \
		bat_rows bat_rps bat_wal bat_pages ret_dead del_dead bat_dead l_rows l_affected l_status l_cutoff l_maxx l_gap s_max \
		s_xacts s_n d_max A_RET_INTERFERENCE A_RET_OTHERW A_DEL_INTERFERENCE A_DEL_OTHERW \
		A_BAT_INTERFERENCE A_BAT_OTHERW ratio bat_ratio >"$RETENTION_TMP/a_round_$A_ROUND.vars"
	A_RATIOS+=("$ratio")
	A_LONGEST+=("${l_maxx:-}" "$s_max")
}

A_RATIOS=() A_LONGEST=()
for ((A_ROUND = 0; A_ROUND < REPEAT; A_ROUND++)); do
	a_round
done
# the round with the median retention/DELETE ratio (the lower middle one for an even count)
A_MEDIAN=$(for i in "${!A_RATIOS[@]}"; do echo "${A_RATIOS[$i]} $i"; done | sort -n |
	awk -v n="$REPEAT" 'NR == int((n + 1) / 2) { print $2 }')
# shellcheck disable=SC1090 # written by a_round
source "$RETENTION_TMP/a_round_$A_MEDIAN.vars"
jnum .a.rounds_run "$REPEAT"
jnum .a.median_round "$A_MEDIAN"
jset .a.rows_per_s_ratios_retention_over_delete "$(printf '%s\n' "${A_RATIOS[@]}" | jq -s .)"
jq ".a.retention = .a.rounds[$A_MEDIAN].retention | .a.delete = .a.rounds[$A_MEDIAN].delete
    | .a.batched_reference = .a.rounds[$A_MEDIAN].batched_reference" "$JSON" >"$JSON.new" &&
	mv "$JSON.new" "$JSON"
jnum .a.rows_per_s_ratio_retention_over_delete "$ratio"
jnum .a.wal_ratio_retention_over_delete "$(calc "$ret_wal / ($del_wal > 0 ? $del_wal : 1)")"
jnum .a.rows_per_s_ratio_retention_over_batched_reference "$bat_ratio"
jnum .a.rows_per_s_ratio_batched_reference_over_delete "$(calc "$bat_rps / ($del_rps > 0 ? $del_rps : 1)")"
# the longest transaction: the worst over every round, by either measure
longest=$(printf '%s\n' "${A_LONGEST[@]}" | awk '$1 != "" && $1 > m { m = $1 } END { printf "%.6f", m }')
jnum .a.retention_longest_xact_s "$longest"
ratio_ok=$(awk "BEGIN { print ($ratio >= 0.8) ? 1 : 0 }")
longest_ok=$(awk "BEGIN { print ($longest < 1) ? 1 : 0 }")
jbool .a.targets.rows_per_s_ratio_ge_0_8 "$ratio_ok"
jbool .a.targets.longest_xact_lt_1s "$longest_ok"
q1 "VACUUM ANALYZE" # the whole database, so that no autovacuum of part A's leftovers falls in B

# ---------------------------------------------------------------------------------------------
# B. throttle impact on a pgbench workload

log "B. preparing the pgbench table and bench_thr"
# Insert-only, so nothing for autovacuum to clean; it is vacuumed by hand between phases instead,
# so that no autovacuum lands inside a measured window.
q1 "CREATE TABLE bench_oltp (id bigserial PRIMARY KEY, tenant int NOT NULL, note text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())
    WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off)"
q1 "INSERT INTO bench_oltp (tenant, note)
    SELECT i % 100, md5(i::text) FROM generate_series(1, $OLTP_ROWS) AS i"
q1 "VACUUM ANALYZE bench_oltp"
PGBENCH_SCRIPT=$RETENTION_TMP/oltp.sql
cat >"$PGBENCH_SCRIPT" <<EOF
\set id random(1, $OLTP_ROWS)
INSERT INTO bench_oltp (tenant, note) VALUES (:id % 100, md5(:id::text));
SELECT id, tenant, note FROM bench_oltp WHERE id = :id;
EOF
jstr .b.pgbench_script "$(cat "$PGBENCH_SCRIPT")"
create_purge_table bench_thr
q1 "SELECT retention.add_policy('thr', 'bench_thr', 'created_at', '365 days',
        batch_size => $BATCH)" >/dev/null
load_purge_table bench_thr

PGB=(pgbench -n -c "$PGBENCH_CLIENTS" -j "$PGBENCH_THREADS" -f "$PGBENCH_SCRIPT" -P 1)
jstr .b.pgbench_command "${PGB[*]} -T <window> $DB"

# tps_between FILE FROM TO [T0]: mean TPS over pgbench's per-second progress intervals whose
# midpoint lies in [FROM, TO] (seconds since pgbench started). With T0 (pgbench's start, epoch
# s), the seconds disturbed from outside (other processes using >= 0.1 CPU-s or writing >= 2 MB,
# or >= 0.1 CPU-s stolen, per the monitor) are left out. Prints "<mean|null> <seconds used>
# <seconds in range>"; when no midpoint is in range (a purge under a second), the second
# holding the middle of the range is used whatever happened in it.
tps_between()
{
	awk -v s="$2" -v e="$3" -v t0="${4:-}" -v mon="$MONITOR_LOG" '
		BEGIN {
			if (t0 != "")
				while ((getline line < mon) > 0) {
					split(line, f, " "); m++; mt[m] = f[1]; mc[m] = f[2] + f[4]; mw[m] = f[3]
				}
		}
		$1 == "progress:" {
			t = $2 + 0; mid = t - 0.5
			c = (s + e) / 2
			if (t - 1 <= c && c <= t) fb = $4
			if (mid < s || mid > e) next
			total++
			if (t0 != "") {
				lo = t0 + t - 1; hi = t0 + t; cpu = 0; w = 0
				for (i = 1; i <= m; i++)
					if (mt[i] > lo && mt[i] < hi + 0.5) { cpu += mc[i]; w += mw[i] }
				if (cpu >= 0.1 || w >= 2097152) next
			}
			sum += $4; n++
		}
		END {
			if (n > 0) printf "%.1f %d %d\n", sum / n, n, total
			else if (total == 0 && fb != "") printf "%.1f 0 0\n", fb
			else printf "null 0 %d\n", total
		}' "$1"
}

lat_between()
{
	awk -v s="$2" -v e="$3" '$1 == "progress:" {
			mid = $2 - 0.5
			if (mid >= s && mid <= e) { sum += $7; n++ }
		}
		END { if (n > 0) printf "%.3f\n", sum / n; else print "null" }' "$1"
}

# b_txlog KEY PREFIX FROM TO: from pgbench's per-transaction log PREFIX.log.*, the p99 latency of
# the transactions completing in [FROM, TO] (B_P99) and before FROM (B_P99_PRE), and the longest
# stretch without any completion that overlaps [FROM, TO] (B_STRETCH, s).
b_txlog()
{
	local key=$1 kv
	B_P99="" B_P99_PRE="" B_STRETCH=""
	kv=$(pgb_analyze "$2" "$3" "$4")
	B_P99=$(sed -n 's/^p99_during_ms=//p' <<<"$kv")
	B_P99_PRE=$(sed -n 's/^p99_before_ms=//p' <<<"$kv")
	B_STRETCH=$(sed -n 's/^stretch_s=//p' <<<"$kv")
	jnum "$key.p99_ms" "$B_P99"
	jnum "$key.p99_before_purge_ms" "$B_P99_PRE"
	jnum "$key.longest_stretch_without_commit_s" "$B_STRETCH"
	jnum "$key.transactions_logged" "$(sed -n 's/^tx_total=//p' <<<"$kv")"
	rm -f "$2".log.* "$2.sorted"
}

# b_phase LABEL RATE WINDOW: RATE "alone": pgbench for WINDOW s, no purge. Otherwise pgbench for
# PRE + WINDOW s, and `CALL retention.run('thr')` starts PRE s in, with
# retention.max_rows_per_second = RATE (0: unthrottled, no max_runtime; else max_runtime =
# WINDOW - 2 s). Sets B_TPS (TPS during the purge, or over the window from 1 s on when alone) and
# B_TPS_PRE (TPS over seconds 1..PRE of the same pgbench run: a paired baseline, immune to any
# drift of the machine's speed between phases).
B_INDEX=0
b_phase()
{
	local label=$1 rate=$2 key=".b.runs[$B_INDEX]" window=$3
	B_INDEX=$((B_INDEX + 1))
	[ "$rate" = alone ] || window=$((PRE + window))
	local pgout=$RETENTION_TMP/b_$label.out pgerr=$RETENTION_TMP/b_$label.progress
	local perr=$RETENTION_TMP/b_$label.purge.err pgl=$RETENTION_TMP/b_$label.pgl
	local before t0 t1 t2 pg_rc=0 p_rc=0 runtime_s=""
	q1 "VACUUM ANALYZE bench_oltp"
	q1 "CHECKPOINT"
	before=$(max_log_id)
	wait_quiet
	if [ "$rate" = alone ]; then
		log "B. $label: pgbench ${window}s, no purge"
	else
		log "B. $label: pgbench ${window}s, purge from ${PRE}s with retention.max_rows_per_second = $rate"
	fi
	jstr "$key.loadavg_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
	t0=$(now_s)
	interference_begin
	rm -f "$pgl".log.*
	"${PGB[@]}" -T "$window" -l --log-prefix="$pgl.log" "$DB" >"$pgout" 2>"$pgerr" &
	local pgpid=$!
	if [ "$rate" != alone ]; then
		sleep "$PRE"
		local sets=(-c "SET retention.max_rows_per_second = $rate")
		if [ "$rate" != 0 ]; then
			runtime_s=$((window - PRE - 2))
			sets+=(-c "SET retention.max_runtime = '${runtime_s}s'")
		fi
		t1=$(now_s)
		PGAPPNAME=bench_throttled_run q "${sets[@]}" -c "CALL retention.run('thr')" \
			>/dev/null 2>"$perr" || p_rc=$?
		t2=$(now_s)
	fi
	wait "$pgpid" || pg_rc=$?
	interference_end "$key" "$(calc "$(now_s) - $t0")" "B. $label"
	B_INTERFERENCE=$INTERFERENCE B_OTHERW=$OTHER_WRITE_MBPS
	[ "$pg_rc" = 0 ] || problem "pgbench exited $pg_rc in phase $label: $(tail -3 "$pgerr" | tr '\n' ' ')"

	local tps_sum lat_sum failed
	tps_sum=$(awk '/^tps = / { print $3; exit }' "$pgout")
	lat_sum=$(awk '/^latency average = / { print $4; exit }' "$pgout")
	failed=$(awk -F': ' '/^number of failed transactions/ { split($2, a, " "); print a[1]; exit }' "$pgout")
	jstr "$key.label" "$label"
	jnum "$key.window_s" "$window"
	jnum "$key.pgbench_exit" "$pg_rc"
	jnum "$key.tps_window_summary" "$tps_sum"
	jnum "$key.latency_ms_window_summary" "$lat_sum"
	jnum "$key.failed_transactions" "$failed"
	jset "$key.tps_per_second" "$(awk '$1 == "progress:" { print $4 }' "$pgerr" | jq -s .)"

	if [ "$rate" = alone ]; then
		local n_used n_all raw
		read -r B_TPS n_used n_all <<<"$(tps_between "$pgerr" 1 "$window" "$t0")"
		read -r raw _ <<<"$(tps_between "$pgerr" 1 "$window")"
		jnum "$key.tps" "$B_TPS"
		jnum "$key.tps_all_seconds" "$raw"
		jnum "$key.tps_seconds_used" "$n_used"
		jnum "$key.tps_seconds_disturbed" "$((n_all - n_used))"
		jnum "$key.latency_ms" "$(lat_between "$pgerr" 1 "$window")"
		b_txlog "$key" "$pgl" "$(calc "$t0 + 1")" "$(now_s)"
		printf '   TPS %s over %s undisturbed seconds of %s (all seconds: %s; latency %s ms, p99 %s ms; longest stretch without a commit %s s)\n' \
			"$B_TPS" "$n_used" "$n_all" "$raw" "$lat_sum" "$B_P99" "$B_STRETCH"
		B_CLEAN="$n_used/$n_all"
		return
	fi

	local s e dur n_int lat after
	s=$(calc "$t1 - $t0")
	e=$(calc "$t2 - $t0")
	dur=$(calc "$t2 - $t1")
	local n_pre n_pre_all n_all raw raw_pre
	read -r B_TPS n_int n_all <<<"$(tps_between "$pgerr" "$s" "$e" "$t0")"
	read -r B_TPS_PRE n_pre n_pre_all <<<"$(tps_between "$pgerr" 1 "$PRE" "$t0")"
	read -r raw _ <<<"$(tps_between "$pgerr" "$s" "$e")"
	read -r raw_pre _ <<<"$(tps_between "$pgerr" 1 "$PRE")"
	B_CLEAN="$n_int/$n_all" B_CLEAN_PRE="$n_pre/$n_pre_all"
	lat=$(lat_between "$pgerr" "$s" "$e")
	read -r after _ <<<"$(tps_between "$pgerr" "$(calc "$e + 1")" "$window" "$t0")"
	b_txlog "$key" "$pgl" "$t1" "$t2"
	if [ "$p_rc" != 0 ] || [ -s "$perr" ]; then sed 's/^/   psql: /' "$perr"; fi
	[ "$p_rc" = 0 ] || problem "CALL retention.run('thr') failed in phase $label (psql exit $p_rc): $(head -3 "$perr" | tr '\n' ' ')"
	grep -q WARNING "$perr" && problem "CALL retention.run('thr') warned in phase $label: $(grep WARNING "$perr" | head -3 | tr '\n' ' ')"

	local l_rows l_affected l_failed l_maxx l_gap l_span l_status l_runs l_cutoff l_kinds l_error
	IFS='|' read -r l_rows l_affected l_failed l_maxx l_gap l_span l_status l_runs l_cutoff l_kinds l_error \
		<<<"$(purge_log_summary thr "$before" "$t1")" || true
	local remaining removed rps completed=0
	remaining=$(q1 "SELECT count(*) FROM bench_thr")
	removed=$((ROWS - remaining))
	rps=$(calc "$removed / ($dur > 0 ? $dur : 1)")
	[ "$removed" = "$EXPIRED" ] && completed=1
	if [ "${l_affected:-x}" != "$removed" ]; then
		problem "phase $label: purge_log sum(rows_affected) = ${l_affected:-<none>} but $removed rows were removed"
	fi
	if [ "${l_status:-}" != ok ]; then
		problem "phase $label: purge_log statuses '${l_status:-}', error '${l_error:-}'"
	fi
	if [ "$rate" = 0 ] && [ "$completed" != 1 ]; then
		problem "phase $label: the unthrottled run removed $removed rows, not $EXPIRED"
	fi
	if [ "$rate" != 0 ]; then
		# Throttle and max_runtime honoured? Allow one batch of slack for each.
		awk "BEGIN { exit !($removed > $rate * $dur + $BATCH) }" &&
			problem "phase $label: $removed rows in ${dur}s exceeds max_rows_per_second = $rate (+1 batch)"
		awk "BEGIN { exit !($dur > $runtime_s + 2) }" &&
			problem "phase $label: run lasted ${dur}s with max_runtime = ${runtime_s}s"
		[ "$completed" = 1 ] || [ "$remaining" -ge "$KEPT" ] ||
			problem "phase $label: $remaining rows left, fewer than the $KEPT unexpired ones"
	fi
	jnum "$key.max_rows_per_second" "$rate"
	jnum "$key.max_runtime_s" "$runtime_s"
	jnum "$key.purge_start_s" "$s"
	jnum "$key.purge_s" "$dur"
	jnum "$key.purge_psql_exit" "$p_rc"
	jstr "$key.purge_messages" "$(cat "$perr")"
	jnum "$key.rows_removed" "$removed"
	jnum "$key.rows_per_s" "$rps"
	jbool "$key.purge_completed" "$completed"
	jnum "$key.tps" "$B_TPS"
	jnum "$key.tps_seconds_used" "$n_int"
	jnum "$key.tps_seconds_disturbed" "$((n_all - n_int))"
	jnum "$key.tps_all_seconds" "$raw"
	jnum "$key.tps_before_purge_all_seconds" "$raw_pre"
	jnum "$key.tps_before_purge_seconds_used" "$n_pre"
	jnum "$key.tps_before_purge_seconds_disturbed" "$((n_pre_all - n_pre))"
	jnum "$key.latency_ms" "$lat"
	jnum "$key.tps_after_purge" "$after"
	jnum "$key.tps_before_purge" "$B_TPS_PRE"
	jnum "$key.purge_log.rows" "${l_rows:-}"
	jnum "$key.purge_log.sum_rows_affected" "${l_affected:-}"
	jnum "$key.purge_log.longest_batch_s" "${l_maxx:-}"
	jnum "$key.purge_log.longest_commit_gap_s" "${l_gap:-}"
	jstr "$key.purge_log.statuses" "${l_status:-}"
	jstr "$key.purge_log.first_error" "${l_error:-}"
	printf '   purge %.2fs, %s rows (%.0f rows/s, completed %s); TPS before %s (%s/%s s), during %s (%s/%s s), after %s\n' \
		"$dur" "$removed" "$rps" "$completed" "$B_TPS_PRE" "$n_pre" "$n_pre_all" "$B_TPS" "$n_int" "$n_all" "$after"
	printf '   p99 latency before %s ms, during %s ms; longest stretch without a commit %s s\n' \
		"$B_P99_PRE" "$B_P99" "$B_STRETCH"
}

# Window of the unthrottled phase: long enough for the whole purge under load.
UNTHR_WINDOW=$(awk "BEGIN { w = int(2 * $ret_wall) + 4; if (w < $SECS) w = $SECS;
	if (w > 600) w = 600; print w }")

log "B. warm-up (5 s pgbench, not measured)"
"${PGB[@]}" -T 5 "$DB" >/dev/null 2>&1 || problem "warm-up pgbench failed"

b_phase alone alone "$SECS"
TPS_ALONE=$B_TPS P99_ALONE=$B_P99 STRETCH_ALONE=$B_STRETCH
ALONE_OTHER=$B_INTERFERENCE ALONE_OTHERW=$B_OTHERW ALONE_CLEAN=$B_CLEAN
jnum .b.tps_alone "$TPS_ALONE"
jnum .b.p99_alone_ms "$P99_ALONE"
jnum .b.longest_stretch_without_commit_alone_s "$STRETCH_ALONE"

# ratio A B: A / B, "null" when either is missing
ratio_of()
{
	if [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ && $2 =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		awk "BEGIN { if ($2 > 0) printf \"%.4f\", $1 / $2; else print \"null\" }"
	else
		echo null
	fi
}

B_RATES=() B_TPSS=() B_PRES=() B_RATIOS=() B_PAIRED=() B_ROWS=() B_RPS=() B_DUR=() B_OTHER=() B_OTHERWS=() B_CLEANS=() B_CLEANPRES=()
B_P99S=() B_P99RATIOS=() B_STRETCHES=()
b_record() # b_record RATE: after b_phase, keep its figures for the decision and the report
{
	local r p k=".b.runs[$((B_INDEX - 1))]"
	r=$(ratio_of "$B_TPS" "$TPS_ALONE")
	p=$(ratio_of "$B_TPS" "$B_TPS_PRE")
	jnum "$k.tps_ratio_to_alone" "$r"
	jnum "$k.tps_ratio_to_before_purge" "$p"
	local p99r
	p99r=$(ratio_of "$B_P99" "$P99_ALONE")
	jnum "$k.p99_ratio_to_alone" "$p99r"
	B_P99S+=("$B_P99") B_P99RATIOS+=("$p99r") B_STRETCHES+=("$B_STRETCH")
	B_RATES+=("$1") B_TPSS+=("$B_TPS") B_PRES+=("$B_TPS_PRE") B_RATIOS+=("$r") B_PAIRED+=("$p")
	B_ROWS+=("$(jq -r "$k.rows_removed" "$JSON")")
	B_RPS+=("$(jq -r "$k.rows_per_s" "$JSON")")
	B_DUR+=("$(jq -r "$k.purge_s" "$JSON")")
	B_OTHER+=("$B_INTERFERENCE") B_OTHERWS+=("$B_OTHERW") B_CLEANS+=("$B_CLEAN")
	B_CLEANPRES+=("$B_CLEAN_PRE")
}

load_purge_table bench_thr
b_phase unthrottled 0 "$UNTHR_WINDOW"
b_record 0
for rate in $RATES; do
	load_purge_table bench_thr
	b_phase "rate_$rate" "$rate" "$SECS"
	b_record "$rate"
done
b_phase alone_after alone "$SECS"
TPS_ALONE_AFTER=$B_TPS
ALONE_AFTER_OTHER=$B_INTERFERENCE ALONE_AFTER_OTHERW=$B_OTHERW ALONE_AFTER_CLEAN=$B_CLEAN
jnum .b.tps_alone_after "$TPS_ALONE_AFTER"

# Highest rate keeping TPS >= 0.9x alone (unthrottled counts as the highest of all), judged
# against the paired baseline (TPS of the same pgbench run just before the purge started) and
# against the standalone figure measured at the start.
highest_rate() # highest_rate NAME-OF-RATIO-ARRAY
{
	# The highest rate R such that R and every lower rate tried keep the ratio >= 0.9 (a single
	# noisy pass above a failing rate does not count); unthrottled ranks above every rate.
	local -n ratios=$1
	local rate i best="none of those tried" ok
	# shellcheck disable=SC2086 # word splitting of the rate list is intended
	for rate in $(printf '%s\n' $RATES | sort -n) 0; do
		ok=0
		for i in "${!B_RATES[@]}"; do
			[ "${B_RATES[$i]}" = "$rate" ] || continue
			if [ "${ratios[$i]}" = null ]; then
				ok=skip # every second disturbed: no verdict either way
			elif awk "BEGIN { exit !(${ratios[$i]} >= 0.9) }"; then
				ok=1
			fi
		done
		[ "$ok" = skip ] && continue
		[ "$ok" = 1 ] || break
		[ "$rate" = 0 ] && best=unthrottled || best=$rate
	done
	echo "$best"
}
BEST=$(highest_rate B_PAIRED)
BEST_ALONE=$(highest_rate B_RATIOS)
jstr .b.highest_rate_keeping_90pct_tps "$BEST"
jstr .b.highest_rate_keeping_90pct_tps_vs_standalone_alone "$BEST_ALONE"
jnum .b.pre_purge_seconds "$PRE"
jnum .b.purge_table_rows "$ROWS"
jnum .b.purge_table_expired "$EXPIRED"
jnum .b.pgbench_clients "$PGBENCH_CLIENTS"
jnum .b.pgbench_threads "$PGBENCH_THREADS"

# ---------------------------------------------------------------------------------------------
# report

jstr .finished_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
jnum .checks_failed "$CHECKS_FAILED"
jset .problems "$(printf '%s\n' "${PROBLEMS[@]+"${PROBLEMS[@]}"}" | jq -R . | jq -s 'map(select(. != ""))')"

pass() { [ "$1" = 1 ] && echo MET || echo MISSED; }
{
	set +e
	echo
	echo "retention purge benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo "  PostgreSQL $(jq -r .server_version "$JSON"), retention $(jq -r .extension_version "$JSON"), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "  settings: $(echo "$SETTINGS" | paste -sd ';' | sed 's/;/; /g')"
	echo "  data: $ROWS rows per table (~100-byte payload, PK + created_at index), $EXPIRED expired, interleaved"
	echo
	echo "A. in-place purge: CALL retention.run('bench') (batch_size $BATCH) vs one DELETE"
	printf '  %-18s %9s %9s %10s %13s %10s %10s %10s %9s\n' "" "wall s" "rows" "rows/s" "WAL bytes" "WAL B/row" "dead left" "other CPU" "other W"
	printf '  %-18s %9.3f %9d %10.0f %13d %10.1f %10s %9.1f%% %5.1fMB/s\n' "retention.run()" "$ret_wall" "$ret_rows" "$ret_rps" "$ret_wal" "$(calc "$ret_wal / ($ret_rows > 0 ? $ret_rows : 1)")" "$ret_dead" "$(calc "100 * $A_RET_INTERFERENCE")" "$A_RET_OTHERW"
	printf '  %-18s %9.3f %9d %10.0f %13d %10.1f %10s %9.1f%% %5.1fMB/s\n' "DELETE" "$del_wall" "$del_rows" "$del_rps" "$del_wal" "$(calc "$del_wal / ($del_rows > 0 ? $del_rows : 1)")" "$del_dead" "$(calc "100 * $A_DEL_INTERFERENCE")" "$A_DEL_OTHERW"
	printf '  %-18s %9.3f %9d %10.0f %13d %10.1f %10s %9.1f%% %5.1fMB/s\n' "batched reference" "$bat_wall" "$bat_rows" "$bat_rps" "$bat_wal" "$(calc "$bat_wal / ($bat_rows > 0 ? $bat_rows : 1)")" "$bat_dead" "$(calc "100 * $A_BAT_INTERFERENCE")" "$A_BAT_OTHERW"
	if [ "$REPEAT" -gt 1 ]; then
		printf '  (the median of %s rounds, round %s; rows/s ratios retention/DELETE by round: %s)\n' \
			"$REPEAT" "$((A_MEDIAN + 1))" "$(printf '%.3f ' "${A_RATIOS[@]}")"
	fi
	printf '  rows/s ratio retention/DELETE: %.3f  (target >= 0.8: %s)\n' "$ratio" "$(pass "$ratio_ok")"
	printf '    (batched reference = plain PL/pgSQL DELETE by TID ranges of %s pages, COMMIT each: the\n' "$bat_pages"
	printf '     cost of batching alone; its rows/s = %.3f x DELETE, retention = %.3f x the reference)\n' \
		"$(calc "$bat_rps / ($del_rps > 0 ? $del_rps : 1)")" "$bat_ratio"
	printf '  retention longest transaction: purge_log max(finished_at - started_at) = %s s;\n' "${l_maxx:-?}"
	printf '    sampled pg_stat_activity every %ss: %s s over %s transactions seen (%s samples);\n' "$SAMPLE_PERIOD" "$s_max" "$s_xacts" "$s_n"
	printf '    longest gap between consecutive batch commits = %s s;\n' "${l_gap:-?}"
	printf '    longest over all rounds, either measure: %s s  (target < 1 s: %s)\n' "$longest" "$(pass "$longest_ok")"
	printf '  purge_log: %s rows, sum(rows_affected) %s, statuses %s, cutoff %s\n' "${l_rows:-?}" "${l_affected:-?}" "${l_status:-?}" "${l_cutoff:-?}"
	printf '  DELETE: one transaction of %.3f s (sampled %s s)\n' "$del_wall" "$d_max"
	echo
	echo "B. throttle impact: pgbench -c $PGBENCH_CLIENTS -j $PGBENCH_THREADS (INSERT + SELECT by id), purge of $EXPIRED expired of $ROWS rows"
	printf '  TPS alone (standalone run, %ss): %s [%s s] (other CPU %.1f%%, %.1f MB/s); again at the end: %s [%s s] (%.1f%%, %.1f MB/s)\n' \
		"$SECS" "$TPS_ALONE" "$ALONE_CLEAN" "$(calc "100 * $ALONE_OTHER")" "$ALONE_OTHERW" "$TPS_ALONE_AFTER" \
		"$ALONE_AFTER_CLEAN" "$(calc "100 * $ALONE_AFTER_OTHER")" "$ALONE_AFTER_OTHERW"
	printf '  %-14s %7s %8s %8s %17s %17s %8s %8s %9s %9s\n' "purge" "purge s" "rows" "rows/s" "TPS before [s]" "TPS during [s]" "x before" "x alone" "other CPU" "other W"
	for i in "${!B_RATES[@]}"; do
		[ "${B_RATES[$i]}" = 0 ] && label="unthrottled" || label="max ${B_RATES[$i]}/s"
		printf '  %-14s %7.2f %8s %8.0f %17s %17s %8s %8s %8.1f%% %5.1fMB/s\n' "$label" "${B_DUR[$i]}" "${B_ROWS[$i]}" \
			"${B_RPS[$i]}" "${B_PRES[$i]} [${B_CLEANPRES[$i]}]" "${B_TPSS[$i]} [${B_CLEANS[$i]}]" \
			"${B_PAIRED[$i]}" "${B_RATIOS[$i]}" "$(calc "100 * ${B_OTHER[$i]}")" "${B_OTHERWS[$i]}"
	done
	printf '  latency (per-transaction log): p99 alone %s ms, longest stretch without a commit alone %s s\n' "$P99_ALONE" "$STRETCH_ALONE"
	printf '  %-14s %12s %10s %22s\n' "purge" "p99 ms" "p99 x alone" "longest no-commit s"
	for i in "${!B_RATES[@]}"; do
		[ "${B_RATES[$i]}" = 0 ] && label="unthrottled" || label="max ${B_RATES[$i]}/s"
		printf '  %-14s %12s %10s %22s\n' "$label" "${B_P99S[$i]}" "${B_P99RATIOS[$i]}" "${B_STRETCHES[$i]}"
	done
	printf '  highest rate keeping TPS >= 0.9x alone (it and every lower rate tried): %s\n' "$BEST"
	printf '    (judged against the TPS just before each purge; against the standalone figure: %s)\n' "$BEST_ALONE"
	echo "  (TPS = mean of pgbench's per-second progress while the purge ran; TPS before = seconds 1-$PRE"
	echo "   of the same pgbench run, the purge starting at ${PRE}s; throttled purges bounded by"
	echo "   retention.max_runtime = $((SECS - 2))s; the unthrottled one unbounded, pgbench window $((PRE + UNTHR_WINDOW))s;"
	echo "   [s] = undisturbed seconds used / seconds in range: seconds in which other processes used"
	echo "   >= 0.1 CPU-s or wrote >= 2 MB, or >= 0.1 CPU-s were stolen, are left out;"
	echo "   other CPU / other W = CPU time (stolen time included) / storage writes of processes"
	echo "   foreign to this benchmark over the whole phase)"
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

#!/usr/bin/env bash
# bench/run.sh: every benchmark of `retention`, side by side with what it replaces, in one command.
#
#   1. in-place purge: CALL retention.run() vs one DELETE ... WHERE vs a batched DELETE loop
#      (bench/purge_delete.sh, part A): rows/s, WAL bytes per row, longest transaction, dead
#      tuples left;
#   2. partition purge: retention vs DROP TABLE vs pg_partman 4.7 (bench/partition_drop.sh,
#      part 1): seconds, WAL;
#   3. a pgbench insert/select workload alone vs during 1 (unthrottled and throttled with
#      retention.max_rows_per_second; purge_delete.sh part B) and during 2 (partition_drop.sh
#      part 2): TPS and p99 latency ratios, the longest stretch without a completed transaction;
#   4. the worker's cycle with 1,000 idle and 1,000 due policies (bench/worker_cycle.sh);
#   5. erasure of one subject across 10 tables, runs with 1,000 tenant periods
#      and a daily run with 10 tenant periods (bench/subjects_tenants.sh; --size quick: A, B);
#   6. how 1 and 2 grow with the table (bench/scaling.sh).
# Each script installs what it needs, starts its own throwaway cluster and prints its settings.
# Afterwards the figures are gathered into summary.json, summary.md (a markdown table) and
# chart.png (gnuplot) under bench/results/SIZE/.
#
# Usage (as root on Debian 12, from a clone of the repository):
#   bash bench/run.sh                  # --size default: about 17 minutes on 2 cores
#   bash bench/run.sh --size quick     # a smoke run of every part, a few minutes
#   bash bench/run.sh --size full      # each script at its own full size, 1-8 million rows in 6
#   bash bench/run.sh --only "scaling worker_cycle"   # some of the parts (names as in bench/results)
#   bash bench/run.sh --summarize      # only rebuild summary.* and chart.png from the JSON there

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$HERE/../scripts/lib.sh"

SIZE=default
ONLY=""
SUMMARIZE_ONLY=0
usage()
{
	echo "usage: bash bench/run.sh [--size quick|default|full] [--only \"PART ...\"] [--summarize]" >&2
	echo "  parts: purge_delete partition_drop worker_cycle subjects_tenants scaling" >&2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE=${2:?--size needs a value}; shift 2 ;;
	--size=*) SIZE=${1#*=}; shift ;;
	--only) ONLY=${2:?--only needs a value}; shift 2 ;;
	--summarize) SUMMARIZE_ONLY=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage; exit 2 ;;
	esac
done

# The arguments of each part at each size.
case "$SIZE" in
quick)
	PURGE_ARGS=(--quick --rates "20000" --max-wait 30)
	PARTITION_ARGS=(--quick --max-wait 30)
	WORKER_ARGS=(--policies 1000)
	SUBJECT_ARGS=(--parts "A B" --rows 100000 --tenant-rows 100000 --subjects 10 --rounds 1)
	SCALING_ARGS=(--sizes "125000 250000 500000 1000000")
	;;
default)
	PURGE_ARGS=(--rows 1000000 --repeat 3 --secs 10 --rates "100000 20000" --max-wait 60)
	PARTITION_ARGS=(--rows 1000000 --days 100 --expired 50 --secs 5 --rounds 1 --repeat 3
		--max-wait 60)
	WORKER_ARGS=(--policies 1000)
	SUBJECT_ARGS=(--rows 1000000 --subjects 20 --rounds 3)
	SCALING_ARGS=(--sizes "1000000 2000000 4000000 8000000")
	;;
full)
	PURGE_ARGS=()
	PARTITION_ARGS=()
	WORKER_ARGS=(--policies 1000)
	SUBJECT_ARGS=()
	SCALING_ARGS=(--sizes "1000000 2000000 4000000 8000000")
	;;
*) usage; exit 2 ;;
esac

DIR=$HERE/results/$SIZE
mkdir -p "$DIR"
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
FAILED=()
# part NAME SCRIPT ARGS...: run one benchmark script, its results going to bench/results/SIZE/NAME.*
part()
{
	local name=$1 script=$2 t0 rc=0
	shift 2
	wanted "$name" || return 0
	log "bench/run.sh: $name: bash bench/$script $* --out $SIZE/$name"
	t0=$(date +%s)
	bash "$HERE/$script" "$@" --out "$SIZE/$name" || rc=$?
	echo "$name $(($(date +%s) - t0)) $rc" >>"$DIR/.durations"
	[ "$rc" = 0 ] || FAILED+=("$name (exit $rc)")
}

if [ "$SUMMARIZE_ONLY" = 0 ]; then
	install_packages jq python3 gnuplot-nox "postgresql-$PG_MAJOR-partman"
	START=$(date -u +%FT%TZ)
	rm -f "$DIR/.durations"
	part purge_delete purge_delete.sh "${PURGE_ARGS[@]}"
	part partition_drop partition_drop.sh "${PARTITION_ARGS[@]}"
	part worker_cycle worker_cycle.sh "${WORKER_ARGS[@]}"
	part subjects_tenants subjects_tenants.sh "${SUBJECT_ARGS[@]}"
	part scaling scaling.sh "${SCALING_ARGS[@]}"
	cat >"$DIR/run.json" <<JSON
{"size": "$SIZE", "started_at": "$START", "finished_at": "$(date -u +%FT%TZ)",
 "command": "bash bench/run.sh --size $SIZE${ONLY:+ --only '$ONLY'}",
 "git_commit": "$(git -C "$RETENTION_ROOT" rev-parse --short HEAD 2>/dev/null || echo none)",
 "machine": {"cpus": $(nproc), "cpu_model": "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)",
   "mem_gib": $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo), "kernel": "$(uname -r)",
   "os": "$(. /etc/os-release && echo "$PRETTY_NAME")"},
 "failed": [$([ ${#FAILED[@]} -eq 0 ] || printf '"%s",' "${FAILED[@]}" | sed 's/,$//')],
 "durations_s": {$(awk '{ printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $1, $2 }' "$DIR/.durations")}}
JSON
	rm -f "$DIR/.durations"
fi

log "bench/run.sh: summary"
python3 "$HERE/summarize.py" "$DIR"
if command -v gnuplot >/dev/null; then
	(cd "$DIR" && gnuplot chart.gp) && log "chart: bench/results/$SIZE/chart.png"
fi
cat "$DIR/summary.md"
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "failed: ${FAILED[*]}" >&2
	exit 1
fi

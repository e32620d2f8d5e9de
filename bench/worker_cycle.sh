#!/usr/bin/env bash
# bench/worker_cycle.sh: what one cycle of the background worker costs, with 1,000 policies
#   (a) none due: the worker only checks (target: under 50 ms of CPU per cycle);
#   (b) all due, on empty tables: every policy runs and writes its audit row.
# CPU is read from /proc/<pid>/stat of the database's worker (user + system time).
#
#   bash bench/worker_cycle.sh [--policies N] [--out BASE]        (as root, Debian 12)
# Results: bench/results/worker_cycle.{txt,json} (--out: bench/results/BASE.*)
source "$(dirname "$0")/../scripts/lib.sh"
cd "$RETENTION_ROOT"
policies=1000
out=worker_cycle
while [ $# -gt 0 ]; do
	case "$1" in
		--policies) policies=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		*) echo "usage: bash bench/worker_cycle.sh [--policies N] [--out BASE]" >&2; exit 2 ;;
	esac
done
install_packages
build_and_install
start_cluster "retention.naptime = 1" "retention.enabled = off" "shared_buffers = 1GB"
mkdir -p "$(dirname "bench/results/$out")"
q()
{
	psql -X -At -v ON_ERROR_STOP=1 -d bench -c "$1"
}
createdb bench
q "CREATE EXTENSION retention" >/dev/null
log "creating $policies tables with a policy each"
q "DO \$\$ BEGIN FOR i IN 1..$policies LOOP
	EXECUTE format('CREATE TABLE t%s (id int, created_at timestamptz)', i);
	EXECUTE format('CREATE INDEX ON t%s (created_at)', i);
	PERFORM retention.add_policy('p' || i, format('t%s', i)::regclass, 'created_at', '30 days',
	                             run_every => '1 day');
END LOOP; END \$\$" >/dev/null
q "CALL retention.run()" >/dev/null 2>&1   # every policy has run once: none is due for a day

clock_ticks=$(getconf CLK_TCK)
worker_cpu_ms()
{
	local pid=$1
	awk -v hz="$clock_ticks" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$pid/stat"
}
worker_pid()
{
	q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'bench'"
}

sed -i 's/^retention.enabled = off$/retention.enabled = on/' "$PGDATA/postgresql.conf"
q "SELECT pg_reload_conf()" >/dev/null
pid=""
for _ in $(seq 1 100); do
	pid=$(worker_pid)
	[ -n "$pid" ] && break
	sleep 0.2
done
[ -n "$pid" ] || { echo "no worker started"; exit 1; }
sleep 3

log "(a) $policies policies, none due: 30 cycles at naptime 1 s"
cpu0=$(worker_cpu_ms "$pid")
sleep 30
cpu1=$(worker_cpu_ms "$pid")
idle_cycle_ms=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", (b - a) / 30 }')
runs_idle=$(q "SELECT count(*) FROM retention.purge_log WHERE invoked_by = 'worker'")

log "(b) $policies policies, all due, tables empty"
cpu0=$(worker_cpu_ms "$pid")
q "UPDATE _retention.policy_state SET next_run_at = now() - interval '1 second'" >/dev/null
for _ in $(seq 1 600); do
	done_runs=$(q "SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE invoked_by = 'worker'")
	[ "$done_runs" -ge "$policies" ] && break
	sleep 0.5
done
cpu1=$(worker_cpu_ms "$pid")
due_wall_s=$(q "SELECT round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 3)
               FROM retention.purge_log WHERE invoked_by = 'worker'")
due_cpu_ms=$((cpu1 - cpu0))

{
	echo "retention worker cycle benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs)"
	echo "  PostgreSQL $(q 'SHOW server_version'), $policies policies on empty tables, naptime 1 s"
	echo "  (a) none due: worker CPU per cycle = $idle_cycle_ms ms (target < 50 ms); runs started: $runs_idle"
	echo "  (b) all due: $done_runs runs in one cycle, wall $due_wall_s s, worker CPU $due_cpu_ms ms" \
		"($(awk -v c="$due_cpu_ms" -v n="$policies" 'BEGIN { printf "%.2f", c / n }') ms per policy)"
} | tee "bench/results/$out.txt"
cat >"bench/results/$out.json" <<JSON
{"policies": $policies, "idle_cycle_cpu_ms": $idle_cycle_ms, "due_runs": $done_runs,
 "due_cycle_wall_s": $due_wall_s, "due_cycle_cpu_ms": $due_cpu_ms}
JSON

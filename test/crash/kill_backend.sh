#!/usr/bin/env bash
# Crash test: kill -9 the backend running a purge, let PostgreSQL recover, and check that the
# rows gone equal the sum of rows_affected in retention.purge_log, that no unexpired row is gone,
# that the audit chain verifies, and that retention.audit shows the killed run as interrupted.
# Expects PGHOST/PGPORT/PGUSER of a running cluster (as set by scripts/lib.sh start_cluster).
# Repetitions: $1 (default 3).
set -euo pipefail
repeats=${1:-3}
db=crash_test
q()
{
	psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"
}

dropdb --if-exists "$db"
createdb "$db"
q "CREATE EXTENSION retention" >/dev/null
q "CREATE TABLE crash_t (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, payload text)" >/dev/null
q "CREATE INDEX ON crash_t (created_at)" >/dev/null
# 300,000 expired rows and 100,000 unexpired ones
q "INSERT INTO crash_t SELECT g, now() - interval '2 years' + g * interval '1 second', repeat('x', 50)
   FROM generate_series(1, 300000) g" >/dev/null
q "INSERT INTO crash_t SELECT g, now() - interval '1 day', repeat('y', 50)
   FROM generate_series(300001, 400000) g" >/dev/null
q "SELECT retention.add_policy('crash', 'crash_t', 'created_at', '1 year', batch_size => 1000)" >/dev/null

fail=0
for i in $(seq 1 "$repeats"); do
	before=$(q "SELECT count(*) FROM crash_t")
	# throttled so that the run is still going when it is killed
	psql -X -q -d "$db" -c "SET retention.max_rows_per_second = 20000" \
		-c "CALL retention.run('crash')" >/dev/null 2>&1 &
	runner=$!
	pid=""
	for _ in $(seq 1 200); do
		pid=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL retention.run%' AND pid <> pg_backend_pid()" || true)
		done_rows=$(q "SELECT coalesce(sum(rows_affected), 0) FROM retention.purge_log WHERE policy_name = 'crash'" || echo 0)
		if [ -n "$pid" ] && [ "$done_rows" -gt $((i * 5000)) ]; then
			break
		fi
		sleep 0.05
	done
	if [ -z "$pid" ]; then
		echo "not ok $i - the purge was not running"
		fail=1
		wait "$runner" || true
		continue
	fi
	kill -9 "$pid"
	wait "$runner" || true
	# wait for crash recovery
	for _ in $(seq 1 600); do
		q "SELECT 1" >/dev/null 2>&1 && break
		sleep 0.1
	done
	# one statement, one snapshot: a batch committing in between cannot skew the comparison
	IFS='|' read -r after logged unexpired verify status < <(q "SELECT (SELECT count(*) FROM crash_t),
		(SELECT coalesce(sum(rows_affected), 0) FROM retention.purge_log WHERE policy_name = 'crash'),
		(SELECT count(*) FROM crash_t WHERE id > 300000), (SELECT ok FROM retention.verify_audit()),
		(SELECT status FROM retention.audit WHERE run_id =
			(SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'crash'))")
	total_gone=$((400000 - after))
	echo "# repetition $i: killed backend $pid; rows before $before, after $after; gone in total $total_gone; sum(rows_affected) $logged; unexpired left $unexpired/100000; verify_audit $verify; the killed run in retention.audit: $status"
	if [ "$total_gone" -eq "$logged" ] && [ "$unexpired" -eq 100000 ] && [ "$verify" = t ] &&
		[ "$before" -gt "$after" ] && [ "$status" = interrupted ]; then
		echo "ok $i - kill -9 during a purge: rows gone = sum(rows_affected), no unexpired row lost, chain ok, the run shows interrupted"
	else
		echo "not ok $i - kill -9 during a purge left an inconsistency"
		fail=1
	fi
done
# finally a clean run completes the purge
q "CALL retention.run('crash')" >/dev/null 2>&1 || true
after=$(q "SELECT count(*) FROM crash_t")
logged=$(q "SELECT coalesce(sum(rows_affected), 0) FROM retention.purge_log WHERE policy_name = 'crash'")
if [ "$after" -eq 100000 ] && [ "$logged" -eq 300000 ]; then
	echo "ok $((repeats + 1)) - a run after the crashes completes the purge (300000 logged)"
else
	echo "not ok $((repeats + 1)) - after recovery: $after rows left, $logged logged"
	fail=1
fi
echo "1..$((repeats + 1))"
dropdb "$db" || true
exit $fail

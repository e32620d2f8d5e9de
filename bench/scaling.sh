#!/usr/bin/env bash
# bench/scaling.sh: a benchmark (not a test) of how the cost of a purge grows with the table.
#
# For each size N (default 1, 2, 4 and 8 million rows), on identical copies:
#   1. in place: N rows, half of them expired (randomly interleaved, an index on the trigger):
#      CALL retention.run() (batch_size 10000) vs one DELETE ... WHERE at < cutoff; seconds and
#      WAL bytes. Expected: linear in N for both. Each side is measured on its own freshly built
#      table, alone in the database.
#   2. partitions: N rows in 100 daily partitions (UTC midnight), the 50 oldest expired and the
#      cutoff on a partition boundary: CALL retention.run() (partition_interval '1 day') vs
#      DROP TABLE of the same 50 partitions, one per transaction; seconds and WAL bytes.
#      Expected: close to flat (the work is per partition, not per row).
#
# Usage (as root on Debian 12): bash bench/scaling.sh [--sizes "1000000 2000000"] [--out BASE]
# Output: a report on stdout and in bench/results/BASE.txt, figures in BASE.json
# (default BASE: scaling).

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$HERE/../scripts/lib.sh"

SIZES="1000000 2000000 4000000 8000000"
OUT=scaling
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES=$2; shift ;;
	--out) OUT=$2; shift ;;
	*) echo "usage: bash bench/scaling.sh [--sizes \"N ...\"] [--out BASE]" >&2; exit 2 ;;
	esac
	shift
done

SETTINGS=("retention.enabled = off" "shared_buffers = 2GB" "max_wal_size = 16GB"
	"checkpoint_timeout = 30min" "autovacuum = off" "work_mem = 64MB")
install_packages
build_and_install
start_cluster "${SETTINGS[@]}"
createdb -U postgres bench
psql_b() { psql -X -q -v ON_ERROR_STOP=1 -U postgres -d bench "$@"; }
value() { psql -X -q -v ON_ERROR_STOP=1 -U postgres -d bench -At -c "$1"; }
psql_b -c "CREATE EXTENSION retention"
psql_b <<'SQL'
CREATE PROCEDURE bench_drop_each(parent regclass, cutoff timestamptz) LANGUAGE plpgsql AS $$
DECLARE
	n text;
BEGIN
	FOR n IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
	         LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
	                              'TO \(''([^'']+)''\)') AS b
	         WHERE i.inhparent = parent AND b[1]::timestamptz <= cutoff ORDER BY 1 LOOP
		EXECUTE format('DROP TABLE %I', n);
		COMMIT;
	END LOOP;
END $$;
SQL

REPORT=$(mktemp)
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
# timed SQL: "seconds wal_bytes" of one statement, measured in its own session
timed()
{
	psql -X -q -v ON_ERROR_STOP=1 -U postgres -d bench -At <<SQL
SELECT pg_current_wal_insert_lsn() AS l0, clock_timestamp() AS t0 \gset
$1;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 3),
       pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'l0');
SQL
}
say "retention benchmark: how purge cost grows with the table"
say "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(value 'SELECT version()' | cut -d, -f1)"
say "command: bash bench/scaling.sh $*"
say "settings: ${SETTINGS[*]}"
say ""
say "      rows | in place: retention s  DELETE s   ratio | partitions: retention s  DROP TABLE s  ratio"

# build_in_place NAME N: N rows, half of them expired for a 365-day policy (randomly
# interleaved), an index on the trigger. Each side of a comparison gets its own freshly built
# table and only it is in the database while it is measured, so both start from the same cache.
build_in_place()
{
	psql_b <<SQL >/dev/null
CREATE TABLE $1 (id bigint, at timestamptz NOT NULL, payload text) WITH (autovacuum_enabled = off);
INSERT INTO $1 SELECT g, now() - interval '1 hour'
    - CASE WHEN hashint8(g) % 2 = 0 THEN interval '400 days' ELSE interval '0' END
    - (g % 300) * interval '1 day', repeat('p', 60)
FROM generate_series(1, $2) g;
CREATE INDEX ON $1 (at);
VACUUM ANALYZE $1;
CHECKPOINT;
SQL
}
# build_partitions NAME N: N rows in 100 daily partitions (UTC midnight) ending today, plus 3
# empty ones ahead, an index on the trigger
build_partitions()
{
	psql_b <<SQL >/dev/null
SELECT '$TODAY'::timestamptz AS today \gset
CREATE TABLE $1 (id bigint, at timestamptz NOT NULL, payload text) PARTITION BY RANGE (at);
SELECT format('CREATE TABLE %I PARTITION OF $1 FOR VALUES FROM (%L) TO (%L) WITH (autovacuum_enabled = off)',
              '$1_' || d, :'today'::timestamptz - (d + 1) * interval '1 day',
              :'today'::timestamptz - d * interval '1 day')
FROM generate_series(-3, 99) d \gexec
INSERT INTO $1 SELECT g, :'today'::timestamptz - interval '1 second' - (g % 100) * interval '1 day'
    - (g % 86000) * interval '1 second', repeat('p', 60)
FROM generate_series(1, $2) g;
CREATE INDEX ON $1 (at);
VACUUM ANALYZE $1;
CHECKPOINT;
SQL
}

JSON_ROWS=()
for n in $SIZES; do
	log "size $n: in place"
	psql_b -c "SELECT retention.drop_policy(name) FROM retention.policies" >/dev/null
	build_in_place s_ret "$n"
	expired=$(value "SELECT count(*) FROM s_ret WHERE at < now() - interval '365 days'")
	value "SELECT retention.add_policy('s_ret', 's_ret', 'at', '365 days', enabled => false) IS NOT NULL" >/dev/null
	read -r r_s r_wal < <(timed "CALL retention.run('s_ret')" | tr '|' ' ')
	[ "$(value "SELECT count(*) FROM s_ret WHERE at < now() - interval '365 days'")" = 0 ] || { echo "s_ret not purged" >&2; exit 1; }
	logged=$(value "SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 's_ret'
	                        AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 's_ret')")
	[ "$logged" -ge "$expired" ] || { echo "s_ret: audit $logged < expired $expired" >&2; exit 1; }
	kept=$(value "SELECT count(*) FROM s_ret")
	psql_b -c "SELECT retention.drop_policy('s_ret')" -c "DROP TABLE s_ret" >/dev/null
	build_in_place s_del "$n"
	read -r d_s d_wal < <(timed "DELETE FROM s_del WHERE at < now() - interval '365 days'" | tr '|' ' ')
	[ "$(value "SELECT count(*) FROM s_del")" = "$kept" ] || { echo "s_del and s_ret kept different rows" >&2; exit 1; }
	psql_b -c "DROP TABLE s_del" >/dev/null

	log "size $n: partitions"
	TODAY=$(value "SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")
	build_partitions p_ret "$n"
	# the cutoff of a 50-day policy falls on the boundary of the 50th partition: grace moves it
	# back from now to today's midnight
	grace_s=$(value "SELECT floor(extract(epoch FROM now() - '$TODAY'::timestamptz))::int")
	value "SELECT retention.add_policy('p_ret', 'p_ret', 'at', '50 days', grace => make_interval(secs => $grace_s),
	                                   partition_interval => '1 day', premake => 1, timezone => 'UTC',
	                                   enabled => false) IS NOT NULL" >/dev/null
	p_rows=$(value "SELECT count(*) FROM p_ret WHERE at < '$TODAY'::timestamptz - interval '50 days'")
	read -r pr_s pr_wal < <(timed "CALL retention.run('p_ret')" | tr '|' ' ')
	dropped=$(value "SELECT count(*) FROM retention.purge_log WHERE policy_name = 'p_ret' AND kind = 'drop_partition'
	    AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'p_ret')")
	drops_s=$(value "SELECT round(sum(extract(epoch FROM finished_at - started_at))::numeric, 3) FROM retention.purge_log WHERE policy_name = 'p_ret' AND kind = 'drop_partition'
	    AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'p_ret')")
	[ "$dropped" -ge 50 ] || { echo "p_ret: $dropped partitions dropped, 50 expected" >&2; exit 1; }
	[ "$(value "SELECT count(*) FROM p_ret WHERE at < '$TODAY'::timestamptz - interval '50 days'")" = 0 ] || { echo "p_ret not purged" >&2; exit 1; }
	p_kept=$(value "SELECT count(*) FROM p_ret")
	psql_b -c "SELECT retention.drop_policy('p_ret')" -c "DROP TABLE p_ret" >/dev/null
	build_partitions p_drop "$n"
	read -r pd_s pd_wal < <(timed "CALL bench_drop_each('p_drop', '$TODAY'::timestamptz - interval '50 days')" | tr '|' ' ')
	[ "$(value "SELECT count(*) FROM p_drop")" = "$p_kept" ] || { echo "p_ret and p_drop differ" >&2; exit 1; }
	psql_b -c "DROP TABLE p_drop" >/dev/null

	ir=$(awk -v a="$r_s" -v b="$d_s" 'BEGIN { printf "%.2f", a / b }')
	pr=$(awk -v a="$pr_s" -v b="$pd_s" 'BEGIN { printf "%.2f", a / b }')
	say "$(printf '%10d | %21s %9s %7s | %23s %13s %6s' "$n" "$r_s" "$d_s" "$ir" "$pr_s" "$pd_s" "$pr")"
	JSON_ROWS+=("{\"rows\": $n, \"expired\": $expired, \"in_place\": {\"retention_s\": $r_s, \"retention_wal\": $r_wal, \"delete_s\": $d_s, \"delete_wal\": $d_wal}, \"partitions\": {\"rows_dropped\": $p_rows, \"partitions_dropped\": $dropped, \"retention_s\": $pr_s, \"retention_drops_s\": $drops_s, \"retention_wal\": $pr_wal, \"drop_table_s\": $pd_s, \"drop_table_wal\": $pd_wal}}")
done
say ""
say "(in place: half the rows expired, randomly interleaved; partitions: 100 daily partitions, the"
say " 50 oldest dropped; ratio = retention seconds / the alternative's seconds)"

mkdir -p "$(dirname "$HERE/results/$OUT")"
cp "$REPORT" "$HERE/results/$OUT.txt"
{
	printf '{"date": "%s", "settings": "%s", "sizes": [\n' "$(date -u +%FT%TZ)" "${SETTINGS[*]}"
	(IFS=$'\n'; echo "${JSON_ROWS[*]}") | sed '$!s/$/,/'
	printf ']}\n'
} >"$HERE/results/$OUT.json"
log "results in bench/results/$OUT.txt and .json"

#!/usr/bin/env bash
# bench/subjects_tenants.sh: a benchmark (not a test) of data-subject erasure and of runs with
# tenant periods.
#
#   A. Erasure: 10 tables of --rows rows each (default 1,000,000), each with an index on its
#      subject column and a policy naming it; retention.erase_subject() of --subjects different
#      subjects (about 10 rows each per table), one call per transaction. Reports the
#      milliseconds of each call (median, 90th percentile, max). Target: under 100 ms.
#   B. Tenant periods: a table of 2 x --tenant-rows rows (default 2,000,000) over 2,000 tenants
#      with an index on (tenant, trigger), half of the rows expired at the policy's 30 days.
#      The same run (CALL retention.run()) on identical copies: without tenant periods, with
#      1,000 tenant periods drawn from a menu of 8 periods (7 days to a year), with 1,000 tenant
#      periods all different, and with 1,000 periods of 16 to 44 days (as many rows expired as
#      without periods). Reports rows/s of each, the ratio to the run without periods, and the
#      ratio of the run times (the same table is walked; fewer rows may be expired).
#      Target: at least 0.8x. Each case runs --rounds times (default 3); medians are reported.
#   C. Tenant periods in the steady state: 2 x --tenant-rows rows spread over a year, a 365-day
#      policy, 10 tenant periods (7 days to a year), a first run, then every row made a day
#      older (UPDATE, VACUUM FULL) and the timed second run: what a daily run costs. Without
#      periods; with them and an index on (tenant, trigger) (the shorter periods are walked
#      through it); with them and no such index (one walk to the latest cutoff).
#
# Usage (as root on Debian 12): bash bench/subjects_tenants.sh [--quick] [--rows N]
#        [--tenant-rows N] [--subjects N] [--rounds N] [--parts "A B C"] [--out BASE]
# Output: a report on stdout and in bench/results/subjects_tenants.txt, figures in
# bench/results/subjects_tenants.json (--quick: subjects_tenants.quick.*; --out: BASE.*).
# Figures of the parts not run are null.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS="$*"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$HERE/../scripts/lib.sh"

ROWS=1000000
TENANT_ROWS=1000000
SUBJECTS=20
ROUNDS=3
OUT=subjects_tenants
PARTS="A B C"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) ROWS=100000 TENANT_ROWS=100000 SUBJECTS=10 ROUNDS=1 OUT=subjects_tenants.quick ;;
	--rows) ROWS=$2; shift ;;
	--tenant-rows) TENANT_ROWS=$2; shift ;;
	--subjects) SUBJECTS=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--parts) PARTS=$2; shift ;;
	--out) OUT=$2; shift ;;
	*) echo "usage: bash bench/subjects_tenants.sh [--quick] [--rows N] [--tenant-rows N] [--subjects N] [--rounds N] [--parts \"A B C\"] [--out BASE]" >&2; exit 2 ;;
	esac
	shift
done

install_packages
build_and_install
start_cluster "retention.enabled = off" "shared_buffers = 1GB" "max_wal_size = 8GB" \
	"checkpoint_timeout = 30min" "autovacuum = off"
createdb -U postgres bench
psql_b() { psql -X -q -v ON_ERROR_STOP=1 -U postgres -d bench "$@"; }
value() { psql -X -q -v ON_ERROR_STOP=1 -U postgres -d bench -At -c "$1"; }
# ms STATEMENT: the milliseconds psql reports for it
ms()
{
	psql -X -q -v ON_ERROR_STOP=1 -U postgres -d bench -c '\timing on' -c "$1" |
		awk '/^Time:/ { print $2 }' | tail -1
}
psql_b -c "CREATE EXTENSION retention"

REPORT=$(mktemp)
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
say "retention benchmark: erasure and tenant periods"
say "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(value 'SELECT version()' | cut -d, -f1)"
say "command: bash bench/subjects_tenants.sh $ARGS"
say "settings: retention.enabled = off, shared_buffers = 1GB, max_wal_size = 8GB, autovacuum = off"
say ""

part() { [[ " $PARTS " == *" $1 "* ]]; }
# timed_run TABLE POLICY: "removed ms" of CALL retention.run(POLICY), TABLE counted before and after
timed_run()
{
	local before t_ms after
	before=$(value "SELECT count(*) FROM $1")
	t_ms=$(ms "CALL retention.run('$2')")
	after=$(value "SELECT count(*) FROM $1")
	echo "$((before - after)) $t_ms"
}
# median_of FIELD FUNCTION ARGS...: of $ROUNDS calls, the output line with the median FIELD
median_of()
{
	local field=$1 i
	shift
	for i in $(seq 1 "$ROUNDS"); do "$@"; done | sort -k"$field" -g | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'
}
TIMES=()
a_median=null a_p90=null a_max=null
n_rows=null n_ms=null n_rps=null m_rows=null m_ms=null m_rps=null m_ratio=null
d_rows=null d_ms=null d_rps=null d_ratio=null b_rows=null b_ms=null b_rps=null b_ratio=null
s0_rows=null s0_ms=null s1_rows=null s1_ms=null s2_rows=null s2_ms=null

# A. erasure ------------------------------------------------------------------------------------
if part A; then
log "A. loading 10 tables of $ROWS rows"
DISTINCT=$((ROWS / 10))
for t in $(seq 0 9); do
	psql_b <<SQL
CREATE TABLE subj_$t (id bigint, subject_id int NOT NULL, created_at timestamptz NOT NULL, payload text);
INSERT INTO subj_$t SELECT g, (g::bigint * 7919 + $t) % $DISTINCT, now() - (g % 365) * interval '1 day', repeat('x', 60)
FROM generate_series(1, $ROWS) g;
CREATE INDEX ON subj_$t (subject_id);
SELECT retention.add_policy('subj_$t', 'subj_$t', 'created_at', '5 years', subject_column => 'subject_id',
                            enabled => false) IS NOT NULL;
SQL
done
psql_b -c "VACUUM ANALYZE" -c "CHECKPOINT"
log "A. erasing $SUBJECTS subjects"
TIMES=()
ERASED=()
for i in $(seq 1 "$SUBJECTS"); do
	subject=$(( (i * 104729) % DISTINCT ))
	before=$(value "SELECT $(for t in $(seq 0 9); do printf '(SELECT count(*) FROM subj_%s WHERE subject_id = %s) + ' "$t" "$subject"; done) 0")
	t_ms=$(ms "SELECT sum(rows_erased) FROM retention.erase_subject('$subject', 'bench')")
	after=$(value "SELECT $(for t in $(seq 0 9); do printf '(SELECT count(*) FROM subj_%s WHERE subject_id = %s) + ' "$t" "$subject"; done) 0")
	[ "$after" = 0 ] || { echo "subject $subject not erased" >&2; exit 1; }
	TIMES+=("$t_ms")
	ERASED+=("$before")
done
read -r a_median a_p90 a_max < <(printf '%s\n' "${TIMES[@]}" | sort -g | awk '{ v[NR] = $1 } END {
	printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)], v[NR] }')
rows_per=$(printf '%s\n' "${ERASED[@]}" | awk '{ s += $1 } END { printf "%.1f", s / NR }')
a_ok=$(awk -v m="$a_max" 'BEGIN { print (m < 100) ? "met" : "MISSED" }')
say "A. erase_subject across 10 tables of $ROWS rows (index on the subject column), $SUBJECTS subjects, $rows_per rows each on average"
say "   ms per call: median $a_median, p90 $a_p90, max $a_max  (target < 100 ms: $a_ok, by the max)"
say ""
fi

# B. tenant periods -------------------------------------------------------------------------------
if part B; then
log "B. preparing the template of $((2 * TENANT_ROWS)) rows"
psql_b <<SQL
CREATE TABLE tenant_template AS
SELECT g AS id, ((g::bigint * 7919) % 2000)::int AS tenant, now() - interval '1 hour' - (g % 60) * interval '1 day'
       - (g % 3600) * interval '1 second' AS at, repeat('y', 60) AS payload
FROM generate_series(1, $((2 * TENANT_ROWS))) g;
SQL
# run_case NAME OVERRIDES_SQL: rows/s of one run on a fresh copy
run_case()
{
	local name=$1 overrides=$2
	psql_b <<SQL >/dev/null
DROP TABLE IF EXISTS tenant_run;
SELECT retention.drop_policy(name) FROM retention.policies WHERE name = 'tenants';
CREATE TABLE tenant_run AS SELECT * FROM tenant_template;
CREATE INDEX ON tenant_run (tenant, at);
CREATE INDEX ON tenant_run (at);
ALTER TABLE tenant_run SET (autovacuum_enabled = off);
VACUUM ANALYZE tenant_run;
SELECT retention.add_policy('tenants', 'tenant_run', 'at', '30 days', tenant_column => 'tenant',
                            min_retain => '1 day', max_retain => '3 years', enabled => false);
$overrides
CHECKPOINT;
SQL
	local timed removed t_ms logged
	timed=$(timed_run tenant_run tenants)
	read -r removed t_ms <<<"$timed"
	logged=$(value "SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 'tenants' AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'tenants')")
	[ "$logged" = "$removed" ] || { echo "$name: audit $logged vs removed $removed" >&2; exit 1; }
	awk -v r="$removed" -v t="$t_ms" -v n="$name" 'BEGIN { printf "%s %d %.1f %.0f\n", n, r, t, r / (t / 1000) }'
}
MENU="SELECT retention.set_tenant_retain('tenants', t::text, (ARRAY['7 days','14 days','21 days','45 days','60 days','90 days','180 days','365 days'])[1 + t % 8]::interval) FROM generate_series(0, 1998, 2) t;"
BALANCED="SELECT retention.set_tenant_retain('tenants', t::text, (ARRAY['16 days','20 days','24 days','28 days','32 days','36 days','40 days','44 days'])[1 + t % 8]::interval) FROM generate_series(0, 1998, 2) t;"
DISTINCT_P="SELECT retention.set_tenant_retain('tenants', t::text, make_interval(hours => 24 * 7 + t)) FROM generate_series(0, 1998, 2) t;"
log "B. runs"
read -r _ n_rows n_ms n_rps < <(median_of 4 run_case none "")
read -r _ m_rows m_ms m_rps < <(median_of 4 run_case menu "$MENU")
read -r _ d_rows d_ms d_rps < <(median_of 4 run_case distinct "$DISTINCT_P")
read -r _ b_rows b_ms b_rps < <(median_of 4 run_case balanced "$BALANCED")
b_ratio=$(awk -v a="$b_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')
m_ratio=$(awk -v a="$m_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')
d_ratio=$(awk -v a="$d_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')
say "B. one run over $((2 * TENANT_ROWS)) rows, 2,000 tenants, index on (tenant, at) and on (at); median of $ROUNDS rounds"
say "   no tenant periods:                     $n_rows rows in $n_ms ms = $n_rps rows/s"
say "   1,000 periods from a menu of 8:        $m_rows rows in $m_ms ms = $m_rps rows/s  ratio $m_ratio (target >= 0.8: $(awk -v r="$m_ratio" 'BEGIN { print (r >= 0.8) ? "met" : "MISSED" }'))"
say "   1,000 periods, all different:          $d_rows rows in $d_ms ms = $d_rps rows/s  ratio $d_ratio (target >= 0.8: $(awk -v r="$d_ratio" 'BEGIN { print (r >= 0.8) ? "met" : "MISSED" }'))"
say "   1,000 periods of 16-44 days (mean 30): $b_rows rows in $b_ms ms = $b_rps rows/s  ratio $b_ratio (target >= 0.8: $(awk -v r="$b_ratio" 'BEGIN { print (r >= 0.8) ? "met" : "MISSED" }'))"
say "   time of each run over the same table, relative to no periods: menu $(awk -v a="$m_ms" -v b="$n_ms" 'BEGIN { printf "%.2f", a / b }'), all different $(awk -v a="$d_ms" -v b="$n_ms" 'BEGIN { printf "%.2f", a / b }'), 16-44 days $(awk -v a="$b_ms" -v b="$n_ms" 'BEGIN { printf "%.2f", a / b }')"
say ""
fi

# C. steady state ---------------------------------------------------------------------------------
if part C; then
log "C. preparing the template of $((2 * TENANT_ROWS)) rows over a year"
psql_b <<SQL
CREATE TABLE steady_template AS
SELECT g AS id, ((g::bigint * 7919) % 2000)::int AS tenant, now() - interval '1 hour' - (g % 366) * interval '1 day'
       + interval '12 hours' - (g % 3600) * interval '1 second' AS at, repeat('y', 60) AS payload
FROM generate_series(1, $((2 * TENANT_ROWS))) g;
SQL
TEN="SELECT retention.set_tenant_retain('steady', t::text, (ARRAY['7 days','14 days','30 days','60 days','90 days','180 days','270 days','365 days'])[1 + t % 8]::interval) FROM generate_series(0, 9) t;"
# steady_case NAME INDEX_SQL OVERRIDES_SQL: ms of the second run, a day after the first
steady_case()
{
	local name=$1 index=$2 overrides=$3
	psql_b <<SQL >/dev/null
DROP TABLE IF EXISTS steady_run;
SELECT retention.drop_policy(name) FROM retention.policies WHERE name = 'steady';
CREATE TABLE steady_run AS SELECT * FROM steady_template;
$index
CREATE INDEX ON steady_run (at);
ALTER TABLE steady_run SET (autovacuum_enabled = off);
VACUUM ANALYZE steady_run;
SELECT retention.add_policy('steady', 'steady_run', 'at', '365 days', tenant_column => 'tenant',
                            min_retain => '1 day', max_retain => '3 years', enabled => false);
$overrides
CALL retention.run('steady');
UPDATE steady_run SET at = at - interval '1 day';
VACUUM FULL steady_run;
ANALYZE steady_run;
CHECKPOINT;
SQL
	local timed
	timed=$(timed_run steady_run steady)
	echo "$name $timed"
}
log "C. runs"
read -r _ s0_rows s0_ms < <(median_of 3 steady_case none "CREATE INDEX ON steady_run (tenant, at);" "")
read -r _ s1_rows s1_ms < <(median_of 3 steady_case split "CREATE INDEX ON steady_run (tenant, at);" "$TEN")
read -r _ s2_rows s2_ms < <(median_of 3 steady_case one_walk "" "$TEN")
say "C. a daily run over $((2 * TENANT_ROWS)) rows spread over a year, 365-day policy; median of $ROUNDS rounds"
say "   no tenant periods:                                   $s0_rows rows in $s0_ms ms"
say "   10 periods, index on (tenant, at):                   $s1_rows rows in $s1_ms ms  ($(awk -v a="$s1_ms" -v b="$s0_ms" 'BEGIN { printf "%.2f", a / b }') x the time without periods)"
say "   10 periods, no index on (tenant, at):                $s2_rows rows in $s2_ms ms  ($(awk -v a="$s2_ms" -v b="$s0_ms" 'BEGIN { printf "%.2f", a / b }') x)"
fi

mkdir -p "$(dirname "$HERE/results/$OUT")"
cp "$REPORT" "$HERE/results/$OUT.txt"
cat >"$HERE/results/$OUT.json" <<JSON
{"date": "$(date -u +%FT%TZ)", "parts": "$PARTS", "rows_per_table": $ROWS, "subjects": $SUBJECTS,
 "erasure_ms": {"median": $a_median, "p90": $a_p90, "max": $a_max, "all": [$(IFS=,; echo "${TIMES[*]}")]},
 "tenants": {"rows": $((2 * TENANT_ROWS)),
   "none": {"rows": $n_rows, "ms": $n_ms, "rows_per_s": $n_rps},
   "menu": {"rows": $m_rows, "ms": $m_ms, "rows_per_s": $m_rps, "ratio": $m_ratio},
   "distinct": {"rows": $d_rows, "ms": $d_ms, "rows_per_s": $d_rps, "ratio": $d_ratio},
   "balanced": {"rows": $b_rows, "ms": $b_ms, "rows_per_s": $b_rps, "ratio": $b_ratio}},
 "steady": {"rows": $((2 * TENANT_ROWS)), "none": {"rows": $s0_rows, "ms": $s0_ms},
   "tenant_index": {"rows": $s1_rows, "ms": $s1_ms}, "no_tenant_index": {"rows": $s2_rows, "ms": $s2_ms}},
 "rounds": $ROUNDS}
JSON
log "results in bench/results/$OUT.txt and .json"

#!/usr/bin/env bash
# Dump and restore keep the audit chain and the secret (SPEC "Installation", docs/design.md
# "Dump and restore"): a source database with policies, a tenant override, holds, runs, an
# erasure and an export is dumped in custom and plain format and restored into a new database
# of the same cluster and into a fresh cluster, with and without --single-transaction. Every
# restore must report zero errors, and the restored database must verify with the same rows and
# the same audit_head() as the source, give the same subject_digest(), and take a run, a hold
# and an erasure that chain onto the restored log.
#
# Expects PGHOST/PGPORT/PGUSER of a running server (a superuser) with the extension installed
# and the worker off, as scripts/test.sh starts it. The fresh cluster is initdb'd here with the
# same binaries, as the postgres OS user when run as root, and stopped at exit.
# Policies use bare columns only: binding expressions and holds again by name after a restore
# is tested elsewhere.
set -uo pipefail
# shellcheck source=../lib/check.sh
source "$(dirname "$0")/../lib/check.sh"
cd "$(dirname "$0")"
PG_BIN=${PG_BIN:-$(dirname "$(command -v pg_ctl)")}

work=$(mktemp -d /tmp/retention-restore.XXXXXX)
chmod 755 "$work"
fresh_data=$work/fresh
fresh_port=
cleanup()
{
	if [ -f "$fresh_data/postmaster.pid" ]; then
		as_owner "$PG_BIN/pg_ctl" -D "$fresh_data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_owner()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

src=restore_source
dropdb --if-exists "$src" >/dev/null 2>&1
createdb "$src"
psql_q -d "$src" >/dev/null <<'SQL' || {
CREATE EXTENSION retention;
CREATE TABLE messages (id bigint PRIMARY KEY, tenant_id int, customer text, sent_at timestamptz, body text);
INSERT INTO messages SELECT g, g % 5, 's' || (g % 7), now() - g * interval '1 day', 'm' || g
FROM generate_series(1, 400) g;
CREATE TABLE cdr (id bigint PRIMARY KEY, called_at timestamptz, phone text);
INSERT INTO cdr SELECT g, now() - g * interval '1 day', '+4930' || g FROM generate_series(1, 500) g;
SELECT retention.add_policy('messages', 'messages', 'sent_at', '180 days', tenant_column => 'tenant_id',
                            subject_column => 'customer', batch_size => 50);
SELECT retention.set_tenant_retain('messages', '2', '90 days');
SELECT retention.add_policy('cdr_numbers', 'cdr', 'called_at', '1 year', action => 'anonymize',
                            anonymize => '{"phone": "NULL"}');
SELECT retention.place_hold('litigation 2026-17', subject => 's1');
SELECT retention.release_hold(retention.place_hold('released hold', policy_name => 'cdr_numbers'));
CALL retention.run();
SELECT * FROM retention.erase_subject('s4', 'art. 17 request');
SELECT retention.export_subject('s5') IS NOT NULL;
INSERT INTO messages VALUES (10001, 1, 's6', now() - interval '2 years', 'old');
CALL retention.run('messages');
SQL
	echo "not ok - fill the source database"
	exit 1
}

# What a restored database must reproduce: the chain, its head, a digest, the catalog data.
state()
{
	psql_q "$@" -At -c "SELECT (SELECT ok || ' ' || rows_checked FROM retention.verify_audit())
		|| ' head ' || (SELECT id || ':' || pg_catalog.encode(hash, 'hex') FROM retention.audit_head())
		|| ' digest ' || retention.subject_digest('s1')
		|| ' | ' || (SELECT count(*) FROM _retention.policy) || ' policies, '
		|| (SELECT count(*) FROM _retention.tenant_retain) || ' overrides, '
		|| (SELECT count(*) FROM _retention.hold) || ' holds, '
		|| (SELECT count(*) FROM _retention.run) || ' runs, '
		|| (SELECT count(*) FROM messages) || ' messages'"
}
source_state=$(state -d "$src")
echo "# source: $source_state"
case "$source_state" in
	"true "*) ;;
	*)
		echo "not ok - the source's chain verifies"
		exit 1
		;;
esac
source_digest_s2=$(psql_q -d "$src" -At -c "SELECT retention.subject_digest('s2')")
source_digest_s3=$(psql_q -d "$src" -At -c "SELECT retention.subject_digest('s3')")
source_max=$(psql_q -d "$src" -At -c "SELECT (SELECT max(id) FROM retention.purge_log) || ' '
	|| (SELECT max(run_id) FROM retention.purge_log) || ' ' || (SELECT max(id) FROM _retention.hold)")
read -r source_head_id source_run_id source_hold_id <<<"$source_max"
source_head_hash=$(psql_q -d "$src" -At -c "SELECT hash FROM retention.audit_head()")

pg_dump -Fc -f "$work/dump.custom" "$src" || exit 1
pg_dump -Fp -f "$work/dump.sql" "$src" || exit 1
chmod 644 "$work/dump.custom" "$work/dump.sql"

# The fresh cluster: same binaries, its own directory and port, the worker off.
start_fresh()
{
	local port
	for port in $(seq 56432 56532); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null &&
			[ ! -e "$work/.s.PGSQL.$port" ]; then
			fresh_port=$port
			break
		fi
	done
	[ -n "$fresh_port" ] || return 1
	[ "$(id -u)" != 0 ] || chown postgres: "$work"
	as_owner "$PG_BIN/initdb" -D "$fresh_data" -A trust -U "${PGUSER:-postgres}" -E UTF8 \
		--locale=C.UTF-8 >/dev/null || return 1
	{
		echo "port = $fresh_port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$work'"
		echo "shared_preload_libraries = 'retention'"
		echo "retention.enabled = off"
	} >>"$fresh_data/postgresql.conf"
	as_owner "$PG_BIN/pg_ctl" -D "$fresh_data" -l "$work/fresh.log" -w -t 60 start >/dev/null
}
check "a fresh cluster started with the same binaries" start_fresh

# restore FORMAT TARGET SINGLE DB: prints the matrix line; returns 1 on any failure.
restore()
{
	local format=$1 target=$2 single=$3 db=$4
	local conn=() opt=() rc out errors
	[ "$target" = fresh ] && conn=(-h "$work" -p "$fresh_port")
	[ "$single" = on ] && opt=(--single-transaction)
	dropdb "${conn[@]}" --if-exists "$db" >/dev/null 2>&1
	createdb "${conn[@]}" -T template0 "$db" || return 1
	if [ "$format" = custom ]; then
		pg_restore "${conn[@]}" "${opt[@]}" -d "$db" "$work/dump.custom" >"$work/restore.out" 2>&1
	else
		psql -X -q "${conn[@]}" -v ON_ERROR_STOP=1 "${opt[@]}" -d "$db" -f "$work/dump.sql" \
			>"$work/restore.out" 2>&1
	fi
	rc=$?
	errors=$(grep -c -i 'error' "$work/restore.out")
	local result=ok
	local notes=()
	if [ "$rc" != 0 ] || [ "$errors" != 0 ]; then
		result=FAIL
		notes+=("restore exit $rc, $errors error lines: $(grep -i -m 2 'error' "$work/restore.out" | tr '\n' ' ')")
	fi
	out=$(state "${conn[@]}" -d "$db" 2>&1)
	if [ "$out" != "$source_state" ]; then
		result=FAIL
		notes+=("restored: $out")
	fi
	# the restored installation works: a run, a hold and an erasure chain onto the restored log
	psql_q "${conn[@]}" -d "$db" >"$work/after.out" 2>&1 <<SQL
INSERT INTO messages VALUES (20001, 1, 's6', now() - interval '2 years', 'after restore');
CALL retention.run();
SELECT retention.place_hold('after restore', subject => 's2');
SELECT * FROM retention.erase_subject('s3', 'after restore');
SQL
	rc=$?
	# each check says its name when it fails
	out=$(psql_q "${conn[@]}" -d "$db" -At -c "SELECT concat_ws(' ',
		CASE WHEN NOT (SELECT ok FROM retention.verify_audit()) THEN 'verify_audit' END,
		CASE WHEN (SELECT rows_checked FROM retention.verify_audit()) <= $source_head_id
			THEN 'no-new-rows' END,
		CASE WHEN (SELECT prev_hash FROM retention.purge_log WHERE id = $source_head_id + 1)
			IS DISTINCT FROM '$source_head_hash'::bytea THEN 'first-new-row-link' END,
		CASE WHEN (SELECT min(run_id) FROM retention.purge_log WHERE id > $source_head_id)
			<= $source_run_id THEN 'run-id-reused' END,
		CASE WHEN (SELECT max(hold_id) FROM retention.purge_log WHERE kind = 'hold')
			<= $source_hold_id THEN 'hold-id-reused' END,
		CASE WHEN (SELECT subject_digest FROM retention.purge_log WHERE kind = 'hold'
			 ORDER BY id DESC LIMIT 1) IS DISTINCT FROM '$source_digest_s2' THEN 'hold-digest' END,
		CASE WHEN NOT EXISTS (SELECT FROM retention.purge_log WHERE id > $source_head_id
			 AND kind = 'erasure' AND subject_digest = '$source_digest_s3'
			 AND rows_affected > 0) THEN 'erasure-row' END,
		CASE WHEN NOT EXISTS (SELECT FROM retention.purge_log WHERE id > $source_head_id
			AND run_id IS NOT NULL) THEN 'no-run-row' END)" 2>&1)
	if [ "$rc" != 0 ] || [ -n "$out" ]; then
		result=FAIL
		notes+=("after restore: exit $rc, failed: $out; $(grep -i -m 2 'error' "$work/after.out" | tr '\n' ' ')")
	fi
	# the erasure found the subject's rows in the restored tables (policies are bound again by
	# name) and wrote its row with the source's digest; the line shows how many
	local erased
	erased=$(psql_q "${conn[@]}" -d "$db" -At -c "SELECT count(*) FROM retention.purge_log
		WHERE id > $source_head_id AND kind = 'erasure'" 2>&1)
	printf '# %-6s  %-13s  single-transaction %-3s  %-4s  (erasure rows after the restore: %s)\n' \
		"$format" "$target" "$single" "$result" "$erased"
	local n
	for n in "${notes[@]}"; do
		echo "#    $n"
	done
	[ "$result" = ok ]
}

# The restore path is no way round the chain: a role granted INSERT on the log cannot insert a
# numbered row (42501), and a row it inserts without an id is numbered and chained (or refused
# for want of rights on the chain head), whatever prev_hash and hash it gave.
forge()
{
	psql -X -q -d "$src" -At 2>&1 <<'SQL'
SET client_min_messages = warning;
DROP ROLE IF EXISTS restore_forger;
CREATE ROLE restore_forger;
GRANT USAGE ON SCHEMA retention TO restore_forger;
GRANT INSERT ON retention.purge_log TO restore_forger;
SET ROLE restore_forger;
INSERT INTO retention.purge_log (id, started_at, finished_at, kind, status, invoked_by, prev_hash, hash)
SELECT 1000, now(), now(), 'delete', 'ok', 'forged', NULL, '\x00';
\echo numbered: :SQLSTATE
INSERT INTO retention.purge_log (started_at, finished_at, kind, status, invoked_by, prev_hash, hash)
VALUES (now(), now(), 'delete', 'ok', 'unnumbered', NULL, '\x00');
RESET ROLE;
SELECT 'chained: ' || (SELECT ok FROM retention.verify_audit())
       || ' ' || (SELECT count(*) FROM retention.purge_log WHERE invoked_by = 'forged');
REVOKE ALL ON retention.purge_log FROM restore_forger;
REVOKE ALL ON SCHEMA retention FROM restore_forger;
DROP ROLE restore_forger;
SQL
}
forge >"$work/forge.out"
forged=$(grep -E "^(numbered|chained)" "$work/forge.out" | tr "\n" " ")
echo "# $forged"
check "a role granted INSERT on the log cannot insert a numbered row (42501); the chain still verifies" \
	[ "$forged" = "numbered: 42501 chained: true 0 " ]

echo "# format  target         single-transaction  result"
for format in custom plain; do
	for target in same-cluster fresh; do
		if [ "$target" = fresh ] && [ -z "$fresh_port" ]; then
			check "$format into a fresh cluster" false
			continue
		fi
		for single in off on; do
			check "$format into $target, single-transaction $single: no restore error, same chain, head and digest, new writes chain on" \
				restore "$format" "$target" "$single" "restore_${format}_${target//-/_}_$single"
		done
	done
done

for db in $(psql_q -d "$src" -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'restore\_%'"); do
	dropdb "$db"
done
echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]

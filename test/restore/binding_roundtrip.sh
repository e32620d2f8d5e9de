#!/usr/bin/env bash
# Dump and restore re-bind every policy and hold by name (SPEC, Installation: last bullet).
#
# A source database with (1) a table with a column dropped before its trigger column, (2) a
# keep_when with EXISTS on another table, (3) a least(...) trigger, (4) a keep_when calling a
# user SQL function, (5) an anonymize policy with tenant overrides, (6) a subject hold and (7) a
# policy-scoped hold is dumped (custom and plain format) and restored into a new database of
# the same cluster and into a fresh cluster made here, both holding other objects first so that
# OIDs and column numbers differ. Afterwards preview() counts per policy equal the source's, a
# run removes exactly what a run on the source removes (the remaining rows of every table
# compared), held rows stay; renaming a table and a column is harmless, and a dropped or
# retyped column fails visibly.
#
# Expects PGHOST/PGPORT/PGUSER of a running server (scripts/test.sh) with the extension
# installed, PG_BIN, and root (the fresh cluster runs as the postgres OS user).
set -uo pipefail
# shellcheck source=../lib/check.sh
source "$(dirname "$0")/../lib/check.sh"
cd "$(dirname "$0")"
source ../../scripts/lib.sh
set +e

work=$(mktemp -d /tmp/retention-restore.XXXXXX)
chmod 755 "$work"
chown postgres: "$work"
fresh_data=$work/fresh
fresh_port=""
cleanup()
{
	if [ -f "$fresh_data/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$fresh_data" -m immediate -w stop >/dev/null 2>&1
	fi
	[ "${RETENTION_KEEP_TMP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# q DB SQL [psql options...]: one value, unaligned
q()
{
	local db=$1 sql=$2
	shift 2
	psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@" -c "$sql"
}
same()
{
	[ "$1" = "$2" ] || {
		printf '  expected: %s\n  got:      %s\n' "$2" "$1"
		return 1
	}
}

src=restore_src
dropdb --if-exists "$src" >/dev/null 2>&1
createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" -o /dev/null <<'SQL' || { echo "not ok - source database"; exit 1; }
CREATE EXTENSION retention;
-- (1) a column dropped before the trigger column: created_at moves from attnum 3 to 2
CREATE TABLE events (id int PRIMARY KEY, junk text, created_at timestamptz, deleted_at timestamptz);
INSERT INTO events
SELECT i, 'x', now() - i * interval '2 days', CASE WHEN i % 3 = 0 THEN now() - interval '1 day' ELSE now() - interval '400 days' END
FROM generate_series(1, 40) AS i;
ALTER TABLE events DROP COLUMN junk;
SELECT retention.add_policy('p_events', 'events', 'created_at', '30 days');

-- (2) keep_when with EXISTS on another table; (6) a subject hold on customers
CREATE TABLE customers (id int PRIMARY KEY, email text, last_seen timestamptz);
CREATE TABLE conversations (id int PRIMARY KEY, customer_id int, status text);
INSERT INTO customers SELECT i, 'c' || (i % 7) || '@x', now() - i * interval '10 days' FROM generate_series(1, 60) AS i;
INSERT INTO conversations SELECT i, i * 2, CASE WHEN i % 2 = 0 THEN 'open' ELSE 'closed' END FROM generate_series(1, 30) AS i;
SELECT retention.add_policy('p_customers', 'customers', 'last_seen', '90 days',
    keep_when => 'EXISTS (SELECT 1 FROM conversations c WHERE c.customer_id = customers.id AND c.status = ''open'')',
    subject_column => 'email');
SELECT retention.place_hold('litigation', subject => 'c3@x');

-- (3) a least(...) trigger
CREATE TABLE sessions (id int PRIMARY KEY, ended_at timestamptz, last_activity_at timestamptz);
INSERT INTO sessions SELECT i, CASE WHEN i % 2 = 0 THEN now() - i * interval '20 days' END, now() - i * interval '15 days' FROM generate_series(1, 50) AS i;
SELECT retention.add_policy('p_sessions', 'sessions', 'least(ended_at, last_activity_at + interval ''18 months'')', '1 year');

-- (4) a keep_when calling a user SQL function
CREATE FUNCTION is_vip(tier text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT tier = 'gold' $$;
CREATE TABLE accounts (id int PRIMARY KEY, tier text, closed_at timestamptz);
INSERT INTO accounts SELECT i, CASE WHEN i % 4 = 0 THEN 'gold' ELSE 'basic' END, now() - i * interval '30 days' FROM generate_series(1, 40) AS i;
SELECT retention.add_policy('p_accounts', 'accounts', 'closed_at', '6 months', keep_when => 'is_vip(tier)');

-- (5) anonymize with tenant overrides; (7) a policy-scoped hold (tenant t2 of p_messages)
CREATE TABLE messages (id int PRIMARY KEY, tenant text, sent_at timestamptz, body text, sender text);
INSERT INTO messages SELECT i, 't' || (i % 3), now() - i * interval '3 days', 'body ' || i, 'sender ' || i FROM generate_series(1, 60) AS i;
SELECT retention.add_policy('p_messages', 'messages', 'sent_at', '120 days', action => 'anonymize',
    anonymize => '{"body": "''[redacted]''", "sender": "NULL"}', tenant_column => 'tenant');
SELECT retention.set_tenant_retain('p_messages', 't1', '30 days');
SELECT retention.set_tenant_retain('p_messages', 't2', '15 days');
SELECT retention.place_hold('tax audit', policy_name => 'p_messages', tenant => 't2');
-- no run or preview before the dump: add_policy itself keeps the names the policies are bound by
SQL

check "add_policy keeps every policy's binding by name" \
	test "$(q "$src" "SELECT count(*) FROM _retention.policy WHERE binding IS NULL")" = 0
as_of=$(q "$src" "SELECT now()")
preview_sql="SELECT string_agg(policy || ':' || rows_expired || ':' || rows_held, ' ' ORDER BY policy) FROM retention.preview(as_of => '$as_of')"
state_sql="SELECT concat_ws(' | ',
    (SELECT string_agg(id::text, ',' ORDER BY id) FROM events),
    (SELECT string_agg(id::text, ',' ORDER BY id) FROM customers),
    (SELECT string_agg(id::text, ',' ORDER BY id) FROM sessions),
    (SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts),
    (SELECT md5(string_agg(concat_ws('/', id, tenant, body, sender), ',' ORDER BY id)) FROM messages))"
held_sql="SELECT (SELECT count(*) FROM customers WHERE email = 'c3@x') || ' ' ||
    (SELECT count(*) FROM messages WHERE tenant = 't2' AND body LIKE 'body %')"

q "$src" "SELECT 1" >/dev/null
pg_dump -Fc -d "$src" -f "$work/src.dump" || { echo "not ok - pg_dump -Fc"; exit 1; }
pg_dump -Fp -d "$src" -f "$work/src.sql" || { echo "not ok - pg_dump -Fp"; exit 1; }
chmod 644 "$work/src.dump" "$work/src.sql"
# the audit head and the secret as dumped: the restore must bring them back exactly
src_head=$(q "$src" "SELECT last_id || ',' || coalesce(encode(last_hash, 'hex'), '') FROM _retention.audit_head")
src_key=$(q "$src" "SELECT encode(key, 'hex') FROM _retention.secret")
src_preview=$(q "$src" "$preview_sql")
src_held_before=$(q "$src" "$held_sql")
q "$src" "CALL retention.run()" >/dev/null
src_state=$(q "$src" "$state_sql")
src_held_after=$(q "$src" "$held_sql")
check "the source's run keeps the held rows" same "$src_held_after" "$src_held_before"
# the source's own runs must remove something in every table, or the comparison proves little
check "the source's run removed rows of every kind" \
	test "$(q "$src" "SELECT (SELECT count(*) FROM events) < 40 AND (SELECT count(*) FROM customers) < 60
        AND (SELECT count(*) FROM sessions) < 50 AND (SELECT count(*) FROM accounts) < 40
        AND (SELECT count(*) FROM messages WHERE body = '[redacted]') > 0")" = t

# A fresh cluster, as the postgres OS user, on a free port.
fresh_port=$(free_port)
runuser -u postgres -- "$PG_BIN/initdb" -D "$fresh_data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
{
	echo "port = $fresh_port"
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$work'"
} >>"$fresh_data/postgresql.conf"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$fresh_data" -l "$work/fresh.log" -w -t 60 start >/dev/null ||
	{ echo "not ok - fresh cluster"; exit 1; }

# restore TARGET_HOST TARGET_PORT DB FORMAT [single]: a new database holding other objects
# first, then the dump (with "single", in one transaction).
restore()
{
	local host=$1 port=$2 db=$3 format=$4 log=$work/$3.log single=()
	[ "${5:-}" = single ] && single=(--single-transaction)
	PGHOST=$host PGPORT=$port dropdb --if-exists "$db" >/dev/null 2>&1
	PGHOST=$host PGPORT=$port createdb "$db" || return 1
	# other objects first, so that the restored ones get other OIDs (and, without the dropped
	# column, other column numbers)
	PGHOST=$host PGPORT=$port psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "
        CREATE TABLE filler_a (a int, b text); CREATE TABLE filler_b (a int);
        CREATE FUNCTION filler_f(int) RETURNS int LANGUAGE sql AS 'SELECT \$1';
        CREATE TABLE filler_c (a int, b int, c int); DROP TABLE filler_b;" || return 1
	# zero errors: stop at the first one
	if [ "$format" = custom ]; then
		PGHOST=$host PGPORT=$port pg_restore --exit-on-error "${single[@]}" -d "$db" \
			"$work/src.dump" >"$log" 2>&1
	else
		PGHOST=$host PGPORT=$port psql -X -q -v ON_ERROR_STOP=1 "${single[@]}" -d "$db" \
			-f "$work/src.sql" >"$log" 2>&1
	fi || {
		sed 's/^/    /' "$log"
		return 1
	}
	if grep -q -E 'ERROR|error:' "$log"; then
		sed 's/^/    /' "$log"
		return 1
	fi
	# the audit head and the secret arrive with the dump (no run could write its audit row
	# otherwise, and the digests would change)
	PGHOST=$host PGPORT=$port same "$(PGHOST=$host PGPORT=$port q "$db" "
        SELECT last_id || ',' || coalesce(encode(last_hash, 'hex'), '') FROM _retention.audit_head")" \
		"$src_head" &&
		PGHOST=$host PGPORT=$port same "$(PGHOST=$host PGPORT=$port q "$db" "
        SELECT encode(key, 'hex') FROM _retention.secret")" "$src_key"
}

# target HOST PORT DB FORMAT WHERE [single]: the checks on one restored database
target()
{
	local host=$1 port=$2 db=$3 format=$4 label="$4 format into $5${6:+, single transaction}"
	check "restore ($label)" restore "$host" "$port" "$db" "$format" "${6:-}" || return
	export PGHOST=$host PGPORT=$port
	check "column numbers really differ ($label)" \
		test "$(q "$db" "SELECT attnum FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'created_at'")" = 2
	check "preview() counts per policy equal the source's ($label)" same "$(q "$db" "$preview_sql")" "$src_preview"
	check "the policies were bound again by name ($label)" \
		test "$(q "$db" "SELECT bool_and(relid::oid = relid_oid) FROM _retention.policy")" = t
	q "$db" "CALL retention.run()" >/dev/null
	check "a run removes exactly what the source's run removed ($label)" same "$(q "$db" "$state_sql")" "$src_state"
	check "held rows stay ($label)" same "$(q "$db" "$held_sql")" "$src_held_before"
	check "every run succeeded ($label)" \
		test "$(q "$db" "SELECT count(*) FROM _retention.policy_state WHERE last_status <> 'ok'")" = 0
}

target "$PGHOST" "$PGPORT" restore_same_custom custom "the same cluster"
target "$PGHOST" "$PGPORT" restore_same_plain plain "the same cluster"
target "$PGHOST" "$PGPORT" restore_same_custom_1 custom "the same cluster" single
target "$PGHOST" "$PGPORT" restore_same_plain_1 plain "the same cluster" single
saved_host=$PGHOST saved_port=$PGPORT
target "$work" "$fresh_port" restore_fresh_custom custom "a fresh cluster"
target "$work" "$fresh_port" restore_fresh_plain plain "a fresh cluster"
target "$work" "$fresh_port" restore_fresh_custom_1 custom "a fresh cluster" single
target "$work" "$fresh_port" restore_fresh_plain_1 plain "a fresh cluster" single
export PGHOST=$saved_host PGPORT=$saved_port

# After a restore, renaming stays harmless; a dropped or retyped column fails visibly.
db=restore_same_custom
before_renames=$(q "$db" "$preview_sql")
q "$db" "ALTER TABLE events RENAME TO events_renamed; ALTER TABLE events_renamed RENAME COLUMN created_at TO made_at;
    ALTER TABLE conversations RENAME COLUMN status TO state; ALTER TABLE customers RENAME TO clients;
    ALTER FUNCTION is_vip(text) RENAME TO is_gold" >/dev/null
check "renaming tables and columns after a restore is harmless (preview)" \
	same "$(q "$db" "$preview_sql" 2>&1)" "$before_renames"
q "$db" "ALTER TABLE events_renamed DROP COLUMN made_at" >/dev/null
out=$(q "$db" "SELECT * FROM retention.preview('p_events')" 2>&1)
check "a dropped trigger column fails visibly" grep -q "dropped" <<<"$out"
db=restore_same_plain
q "$db" "ALTER TABLE accounts ALTER COLUMN tier TYPE varchar(10)" >/dev/null
out=$(q "$db" "SELECT * FROM retention.preview('p_accounts')" 2>&1)
check "a retyped column fails visibly" grep -q "changed type" <<<"$out"

# A dump of a policy whose column was renamed after its binding was last refreshed is not
# bound by the old name to another column: the restore fails visibly instead.
q "$src" "ALTER TABLE sessions RENAME COLUMN ended_at TO tmp; ALTER TABLE sessions RENAME COLUMN last_activity_at TO ended_at;
    ALTER TABLE sessions RENAME COLUMN tmp TO last_activity_at" >/dev/null
pg_dump -Fc -d "$src" -f "$work/swapped.dump"
cp "$work/swapped.dump" "$work/src.dump"
src_head=$(q "$src" "SELECT last_id || ',' || coalesce(encode(last_hash, 'hex'), '') FROM _retention.audit_head")
check "restore of a dump with swapped column names" restore "$PGHOST" "$PGPORT" restore_swapped custom
out=$(q restore_swapped "SELECT * FROM retention.preview('p_sessions')" 2>&1)
check "swapped column names since the last use fail visibly, never bind to the other column" \
	grep -q "cannot be bound again" <<<"$out"

for db in restore_same_custom restore_same_plain restore_same_custom_1 restore_same_plain_1 restore_swapped; do
	dropdb --if-exists "$db" >/dev/null 2>&1
done
dropdb --if-exists "$src" >/dev/null 2>&1
echo "# $ok passed, $bad failed"
[ "$bad" -eq 0 ]

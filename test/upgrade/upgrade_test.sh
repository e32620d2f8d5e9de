#!/usr/bin/env bash
# Upgrade test: for every released version, install it from its frozen script, fill the
# catalogs (policies of every kind, a tenant override, holds, runs, an erasure), run
# ALTER EXTENSION retention UPDATE, and compare the result with a fresh installation of the
# current version: the same member objects, columns, constraints, functions, views, grants and
# comments (test/upgrade/fingerprint.sql), the data kept, and the audit chain still verifying.
#
# The next release only adds its version to RELEASES.
# Expects PGHOST/PGPORT/PGUSER of a running server with the extension installed.
set -uo pipefail
cd "$(dirname "$0")"
RELEASES=(0.1.0)

work=$(mktemp -d /tmp/retention-upgrade.XXXXXX)
trap 'rm -rf "$work"' EXIT
psql_q()
{
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}
ok=0
bad=0
check()
{
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		ok=$((ok + 1))
	else
		echo "not ok - $what"
		bad=$((bad + 1))
	fi
}

dropdb --if-exists upgrade_fresh >/dev/null 2>&1
createdb upgrade_fresh
psql_q -d upgrade_fresh -c 'CREATE EXTENSION retention' &&
	psql_q -d upgrade_fresh -f fingerprint.sql >"$work/fresh.txt" || {
	echo "not ok - a fresh installation and its fingerprint"
	exit 1
}

# Data that every released version can hold, written with the API of 0.1.0 while this
# library is loaded (as between installing a new package and ALTER EXTENSION UPDATE): policies,
# overrides, holds, an erasure and an export. Runs and previews wait for the update (55000).
fill()
{
	psql_q -d "$1" <<'SQL'
CREATE TABLE messages (id bigint PRIMARY KEY, tenant_id int, customer text, sent_at timestamptz, body text);
INSERT INTO messages SELECT g, g % 5, 'c' || (g % 7), now() - g * interval '1 day', 'm' || g
FROM generate_series(1, 400) g;
CREATE TABLE cdr (id bigint PRIMARY KEY, called_at timestamptz, phone text);
INSERT INTO cdr SELECT g, now() - g * interval '1 day', '+4930' || g FROM generate_series(1, 500) g;
CREATE TABLE events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events SELECT g, now() - g * interval '1 day' FROM generate_series(1, 100) g;
SELECT retention.add_policy('messages', 'messages', 'sent_at', '180 days', tenant_column => 'tenant_id',
                            subject_column => 'customer', min_retain => '30 days',
                            max_retain => '365 days', keep_when => 'body = ''m7''');
SELECT retention.set_tenant_retain('messages', '2', '90 days');
SELECT retention.add_policy('cdr_numbers', 'cdr', 'called_at', '1 year', action => 'anonymize',
                            anonymize => '{"phone": "NULL"}');
SELECT retention.add_policy('events', 'events', 'at', '30 days', partition_interval => '1 day',
                            premake => 2);
SELECT retention.add_policy('disabled', 'cdr', 'called_at', '2 years', enabled => false);
SELECT retention.place_hold('litigation 2026-17', subject => 'c3');
SELECT retention.release_hold(retention.place_hold('released hold', policy_name => 'cdr_numbers'));
SELECT retention.alter_policy('messages', batch_size => 50);
SELECT * FROM retention.erase_subject('c4', 'art. 17 request');
SELECT retention.export_subject('c5') IS NOT NULL;
SQL
}

counts()
{
	psql_q -d "$1" -At -c "SELECT (SELECT count(*) FROM _retention.policy) || ' policies, '
		|| (SELECT count(*) FROM _retention.tenant_retain) || ' overrides, '
		|| (SELECT count(*) FROM _retention.hold) || ' holds, '
		|| (SELECT count(*) FROM retention.purge_log) || ' audit rows, '
		|| (SELECT count(*) FROM _retention.policy_change) || ' changes, '
		|| (SELECT count(*) FROM messages) || ' messages, '
		|| (SELECT count(*) FROM cdr WHERE phone IS NULL) || ' anonymised, '
		|| (SELECT pg_catalog.encode(s.key, 'hex') FROM _retention.secret s)"
}

compare_fingerprint()
{
	psql_q -d "$1" -f fingerprint.sql >"$work/upgraded.txt" &&
		diff -u "$work/fresh.txt" "$work/upgraded.txt"
}

for from in "${RELEASES[@]}"; do
	db=upgrade_from_${from//./_}
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db"
	psql_q -d "$db" -c "CREATE EXTENSION retention VERSION '$from'" || {
		check "install $from from its frozen script" false
		continue
	}
	check "with $from's SQL objects, a run is refused (55000) and removes nothing" \
		[ "$(psql -X -q -d "$db" -At -c "CREATE TABLE early (id int, at timestamptz)" \
			-c "INSERT INTO early VALUES (1, now() - interval '2 years')" \
			-c "SELECT retention.add_policy('early', 'early', 'at', '1 day')" \
			-c "CALL retention.run('early')" 2>&1 | grep -c 'Run ALTER EXTENSION retention UPDATE')" = 1 ] &&
		[ "$(psql_q -d "$db" -At -c 'SELECT count(*) FROM early')" = 1 ]
	check "fill a $from installation (policies, override, holds, runs, erasure, export)" fill "$db" >/dev/null
	before=$(counts "$db")
	check "ALTER EXTENSION retention UPDATE from $from" psql_q -d "$db" -c 'ALTER EXTENSION retention UPDATE'
	check "from $from: the upgraded catalog objects equal a fresh installation's" \
		compare_fingerprint "$db"
	after=$(counts "$db")
	echo "# before: $before"
	echo "# after:  $after"
	check "from $from: policies, overrides, holds, audit rows, data and secret kept" [ "$before" = "$after" ]
	check "from $from: verify_audit() is ok after the update" \
		[ "$(psql_q -d "$db" -At -c 'SELECT ok FROM retention.verify_audit()')" = t ]
	# the upgraded installation works: a run, a hold and an erasure chain onto the old log
	psql_q -d "$db" -c "INSERT INTO messages VALUES (10001, 1, 'c9', now() - interval '2 years', 'old')" \
		-c "CALL retention.run('messages')" >/dev/null 2>&1
	check "from $from: a run after the update purges and the chain verifies" \
		[ "$(psql_q -d "$db" -At -c "SELECT count(*) = 0 AND (SELECT ok FROM retention.verify_audit())
			FROM messages WHERE id = 10001")" = t ]
	dropdb "$db"
done
dropdb upgrade_fresh
echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]

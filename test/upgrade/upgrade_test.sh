#!/usr/bin/env bash
# Upgrade test: for every released version, prove that ALTER EXTENSION retention UPDATE from it
# gives an installation indistinguishable from a fresh one of the current version, in three ways:
#
#  A. With this library (as between installing a new package and running the update): install
#     the release from its frozen script, fill the catalogs through its SQL API (runs wait for
#     the update, 55000), update, compare with a fresh installation.
#  B. With the release's own library, built from its release commit into a private copy of the
#     PostgreSQL installation (the shared one is never touched): fill the catalogs with policies
#     of every kind, overrides, holds and real runs (deletes, anonymisation, partition drops,
#     archiving, an erasure, a run killed by kill -9 mid-way), stop, install this library,
#     start, update. Then: the same fingerprint as a fresh installation
#     (test/upgrade/fingerprint.sql: member objects, columns, constraints, functions, views,
#     grants, comments), every row of the release's tables and views kept (the purge_log rows
#     identical, the secret, the sequences; only the killed run now shows as interrupted), the
#     same preview, verify_audit() ok, and a run after the update that removes what the preview
#     said and chains onto the old log.
#  C. The whole pgTAP suite with every test database made by installing the release and updating
#     (scripts/pgtap.sh, RETENTION_TAP_INSTALL=upgrade-from-VERSION).
#
# The next release only adds "VERSION COMMIT MAJORS" (its release commit) to RELEASES. B needs that
# commit in the clone (a shallow clone fails with a message saying so) and builds its library
# once (make, PGXS) with the pg_config found on PATH.
#
# Expects PGHOST/PGPORT/PGUSER of a running server with the extension installed (A and C run
# there; B starts and stops a cluster of its own), run as root like scripts/test.sh.
set -uo pipefail
# shellcheck source=../lib/check.sh
source "$(dirname "$0")/../lib/check.sh"
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
# "VERSION COMMIT MAJORS": MAJORS are the PostgreSQL majors the release's library builds on
# (B runs only there; A and C run on every major, as a package of a later version would).
RELEASES=("0.1.0 8c88eb0 13-16")
# the parts to run (all by default; e.g. RETENTION_UPGRADE_PARTS=B while working on one)
parts=${RETENTION_UPGRADE_PARTS:-A B C}
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$root/retention.control")

work=$(mktemp -d /tmp/retention-upgrade.XXXXXX)
chmod 755 "$work"
private_data=
stop_private()
{
	if [ -n "$private_data" ] && [ -f "$private_data/postmaster.pid" ]; then
		runuser -u postgres -- "$private_bin/pg_ctl" -D "$private_data" -m immediate -w stop \
			>/dev/null 2>&1
	fi
}
trap 'stop_private; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
# is WHAT GOT EXPECTED: a check that shows both when they differ
is()
{
	check "$1" [ "$2" = "$3" ] || echo "#   got '$2', expected '$3'"
}
took()
{
	echo "# $1: ${2}s"
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

# compare_fingerprint DB [FRESH]: DB's fingerprint against a fresh installation's
compare_fingerprint()
{
	psql_q -d "$1" -f fingerprint.sql >"$work/upgraded.txt" &&
		diff -u "${2:-$work/fresh.txt}" "$work/upgraded.txt"
}

# A. The release's SQL objects under this library, then the update.
same_library()
{
	local from=$1 db=upgrade_from_${1//./_} before after
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db"
	psql_q -d "$db" -c "CREATE EXTENSION retention VERSION '$from'" || {
		check "install $from from its frozen script" false
		return
	}
	check "with $from's SQL objects, a run is refused (55000) and removes nothing" \
		[ "$(psql -X -q -d "$db" -At -c "CREATE TABLE early (id int, at timestamptz)" \
			-c "INSERT INTO early VALUES (1, now() - interval '2 years')" \
			-c "SELECT retention.add_policy('early', 'early', 'at', '1 day')" \
			-c "CALL retention.run('early')" 2>&1 | grep -c 'Run ALTER EXTENSION retention UPDATE')" = 1 ] &&
		[ "$(psql_q -d "$db" -At -c 'SELECT count(*) FROM early')" = 1 ]
	check "fill a $from installation (policies, override, holds, erasure, export)" fill "$db" >/dev/null
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
}

# ---------------------------------------------------------------------------------------------
# B. The release's own library.

# A private copy of the PostgreSQL installation whose pg_config is on PATH (Debian's layout:
# PREFIX/lib/postgresql/MAJOR, PREFIX/share/postgresql/MAJOR, PREFIX/include/postgresql/MAJOR),
# made once: PostgreSQL finds its share and lib directories relative to its binaries, so the
# copy is a complete installation into which the release's library can be installed. The
# current library and extension files are kept aside, to be installed after the release's.
private_pg()
{
	[ -n "${private_bin:-}" ] && return 0
	local bindir major prefix copy
	bindir=$(pg_config --bindir)
	major=$(basename "$(dirname "$bindir")")
	prefix=$(cd "$bindir/../../../.." && pwd)
	if [ ! -d "$prefix/lib/postgresql/$major" ] || [ ! -d "$prefix/share/postgresql/$major" ]; then
		echo "# $bindir is not in Debian's layout (PREFIX/lib/postgresql/$major/bin)" >&2
		return 1
	fi
	copy=$work/pg
	mkdir -p "$copy/lib/postgresql" "$copy/share/postgresql" "$copy/include/postgresql" \
		"$work/current/lib" "$work/current/extension" || return 1
	cp -a "$prefix/lib/postgresql/$major" "$copy/lib/postgresql/" &&
		cp -a "$prefix/share/postgresql/$major" "$copy/share/postgresql/" &&
		ln -s "$(readlink -f "$prefix/include/postgresql/$major")" "$copy/include/postgresql/$major" ||
		return 1
	private_bin=$copy/lib/postgresql/$major/bin
	private_lib=$("$private_bin/pg_config" --pkglibdir)
	private_ext=$("$private_bin/pg_config" --sharedir)/extension
	[ "$private_lib" = "$copy/lib/postgresql/$major/lib" ] || {
		echo "# the copy's pg_config says $private_lib: the copy is not relocatable" >&2
		return 1
	}
	mv "$private_lib"/retention.so "$work/current/lib/" &&
		mv "$private_ext"/retention[.-]* "$work/current/extension/"
}

# install_library current|VERSION: the library and extension files of this tree (as installed
# in the server's installation) or of a release (as built by build_release) into the copy.
install_library()
{
	rm -f "$private_lib"/retention.so "$private_ext"/retention[.-]*
	if [ "$1" = current ]; then
		cp "$work/current/lib/retention.so" "$private_lib/" &&
			cp "$work/current/extension"/* "$private_ext/"
	else
		make -C "$work/build-$1" -s install PG_CONFIG="$private_bin/pg_config" >/dev/null
	fi
}

# build_release VERSION COMMIT: the release's tree from git history, built against the copy.
build_release()
{
	local from=$1 commit=$2 src=$work/build-$1 control
	if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
		echo "# release $from: its commit $commit is not in this clone ($root)." >&2
		echo "# A shallow clone lacks the history the upgrade test builds old releases from:" >&2
		echo "# run 'git fetch --unshallow' (or clone without --depth)." >&2
		return 1
	fi
	control=$(git -C "$root" show "$commit:retention.control" |
		sed -n "s/^default_version *= *'\(.*\)'/\1/p")
	if [ "$control" != "$from" ]; then
		echo "# commit $commit is version '$control', not $from: RELEASES is wrong" >&2
		return 1
	fi
	mkdir -p "$src" && git -C "$root" archive "$commit" | tar -x -C "$src" &&
		make -C "$src" -s -j"$(nproc)" PG_CONFIG="$private_bin/pg_config" >"$work/build-$from.log" 2>&1 || {
		tail -30 "$work/build-$from.log" >&2
		return 1
	}
}

start_private()
{
	runuser -u postgres -- "$private_bin/pg_ctl" -D "$private_data" -l "$work/run/server.log" \
		-w -t 60 start >/dev/null || {
		tail -20 "$work/run/server.log" >&2
		return 1
	}
}

stop_private_clean()
{
	runuser -u postgres -- "$private_bin/pg_ctl" -D "$private_data" -m fast -w -t 60 stop >/dev/null
}

# Data that the release's library fills with real runs: every kind of policy (delete with
# tenants, subjects, min/max retain, grace, keep_when with a literal, with EXISTS on another
# table and with a user SQL function; a least(...) trigger; a column dropped before the trigger column;
# archive_to; anonymize; partition drops and premake; a disabled policy; a dropped policy),
# tenant overrides (one reset), holds (subject, tenant, policy and subject, one released), runs
# of all of them, an erasure and an export. Then rows expired again, left for the preview and
# the run after the update.
fill_with_runs()
{
	psql_q -d "$1" <<'SQL'
SET TimeZone = 'UTC';
CREATE TABLE messages (id bigint PRIMARY KEY, tenant_id int, customer text, sent_at timestamptz,
                       body text);
INSERT INTO messages SELECT g, g % 5, 'c' || (g % 7), now() - g * interval '1 day', 'm' || g
FROM generate_series(1, 400) g;
SELECT retention.add_policy('messages', 'messages', 'sent_at', '180 days', grace => '1 day',
                            tenant_column => 'tenant_id', subject_column => 'customer',
                            min_retain => '30 days', max_retain => '365 days',
                            keep_when => 'body = ''m7''', priority => 10);
SELECT retention.set_tenant_retain('messages', '2', '90 days');
SELECT retention.set_tenant_retain('messages', '3', '300 days');
SELECT retention.reset_tenant_retain('messages', '3');
SELECT retention.alter_policy('messages', batch_size => 50);

CREATE TABLE open_cases (case_customer text);
INSERT INTO open_cases VALUES ('c1'), ('c2');
CREATE TABLE tickets (id bigint PRIMARY KEY, customer text, opened_at timestamptz,
                      closed_at timestamptz);
INSERT INTO tickets SELECT g, 'c' || (g % 6), now() - (g + 10) * interval '1 day',
                           now() - g * interval '1 day'
FROM generate_series(1, 300) g;
SELECT retention.add_policy('tickets', 'tickets', 'least(closed_at, opened_at + interval ''5 days'')',
                            '90 days', subject_column => 'customer',
                            keep_when => 'EXISTS (SELECT FROM open_cases WHERE case_customer = customer)');

CREATE FUNCTION is_vip(who text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT who = 'vip' $$;
CREATE TABLE logins (id bigint PRIMARY KEY, junk text, user_name text, at timestamptz);
INSERT INTO logins SELECT g, 'x', CASE WHEN g % 10 = 0 THEN 'vip' ELSE 'u' || g END,
                          now() - g * interval '1 day'
FROM generate_series(1, 200) g;
ALTER TABLE logins DROP COLUMN junk;
CREATE TABLE logins_archive (id bigint, user_name text, at timestamptz);
SELECT retention.add_policy('logins', 'logins', 'at', '60 days', keep_when => 'is_vip(user_name)',
                            archive_to => 'logins_archive', batch_size => 40);

CREATE TABLE cdr (id bigint PRIMARY KEY, called_at timestamptz, phone text);
INSERT INTO cdr SELECT g, now() - g * interval '1 day', '+4930' || g FROM generate_series(1, 500) g;
SELECT retention.add_policy('cdr_numbers', 'cdr', 'called_at', '1 year', action => 'anonymize',
                            anonymize => '{"phone": "NULL"}');
SELECT retention.add_policy('disabled', 'cdr', 'called_at', '450 days', enabled => false);

CREATE TABLE events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_default PARTITION OF events DEFAULT;
DO $$
BEGIN
    FOR d IN 1..45 LOOP
        EXECUTE format('CREATE TABLE events_old%s PARTITION OF events FOR VALUES FROM (%L) TO (%L)', d,
                       current_date - d, current_date - d + 1);
    END LOOP;
END
$$;
INSERT INTO events SELECT g, now() - g * interval '6 hours' FROM generate_series(1, 240) g;
SELECT retention.add_policy('events', 'events', 'at', '30 days', partition_interval => '1 day',
                            premake => 2, timezone => 'UTC');

CREATE TABLE scratch (id int, at timestamptz);
INSERT INTO scratch SELECT g, now() - interval '2 years' FROM generate_series(1, 5) g;
SELECT retention.add_policy('scratch', 'scratch', 'at', '1 year');

SELECT retention.place_hold('litigation 2026-17', subject => 'c3');
SELECT retention.place_hold('tenant audit', policy_name => 'messages', tenant => '4');
SELECT retention.place_hold('open claim', policy_name => 'tickets', subject => 'c5');
SELECT retention.release_hold(retention.place_hold('released hold', policy_name => 'cdr_numbers'));

CALL retention.run();
CALL retention.run('disabled');
CALL retention.run('scratch');
SELECT retention.drop_policy('scratch');
SELECT count(*) FROM retention.erase_subject('c4', 'art. 17 request');
SELECT retention.export_subject('c5') IS NOT NULL;
CALL retention.run('messages');

-- expired again: what the preview and the run after the update must agree on
INSERT INTO messages SELECT g, g % 5, 'c' || (g % 7), now() - interval '400 days', 'late'
FROM generate_series(10001, 10030) g;
INSERT INTO tickets SELECT g, 'c' || (g % 6), now() - interval '200 days', now() - interval '190 days'
FROM generate_series(10001, 10012) g;
INSERT INTO logins SELECT g, 'u' || g, now() - interval '100 days' FROM generate_series(10001, 10007) g;
INSERT INTO cdr SELECT g, now() - interval '400 days', '+49' || g FROM generate_series(10001, 10009) g;
CREATE TABLE events_late PARTITION OF events FOR VALUES FROM (current_date - 50) TO (current_date - 49);
INSERT INTO events SELECT g, current_date - 50 + g * interval '1 hour' FROM generate_series(1, 10) g;
SQL
}

# The rows of every table of the release's installation and of the user's tables, every view
# the release had, the sequences, and the preview at a fixed time, each to its own file in DIR.
# Columns are those the release had (TABLES_COLUMNS, taken before the update): columns the
# update adds are compared by the fingerprint, not here.
snapshot()
{
	local db=$1 dir=$2 as_of=$3 rel cols
	mkdir -p "$dir"
	while read -r rel cols; do
		psql_q -d "$db" -At -c "SELECT $cols FROM $rel ORDER BY $cols" >"$dir/$rel" || return 1
	done <"$work/relations"
	psql_q -d "$db" -At -c "SELECT s.relname, pg_catalog.pg_sequence_last_value(s.oid)
		FROM pg_catalog.pg_class AS s JOIN pg_catalog.pg_namespace AS n ON n.oid = s.relnamespace
		WHERE s.relkind = 'S' AND n.nspname IN ('retention', '_retention') ORDER BY 1" \
		>"$dir/sequences" &&
		psql_q -d "$db" -At -c "SELECT policy, relation, cutoff, rows_expired, partitions_to_drop, rows_held
		FROM retention.preview(NULL, '$as_of') ORDER BY policy" >"$dir/preview" &&
		psql_q -d "$db" -At -c "SELECT pg_catalog.string_agg(c.relname, ' ' ORDER BY c.relname)
		FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::pg_catalog.regclass" >"$dir/partitions"
}

# Every table and view of the release's schemas and the user's tables, with their columns
# (relation columns compared as OIDs).
list_relations()
{
	psql_q -d "$1" -At -F ' ' -c "SELECT c.oid::pg_catalog.regclass,
		pg_catalog.string_agg(pg_catalog.quote_ident(a.attname)
		    -- a relation kept by OID in one version may be kept by name (regclass) in the next
		    || CASE WHEN a.atttypid IN ('pg_catalog.oid'::pg_catalog.regtype,
		                                'pg_catalog.regclass'::pg_catalog.regtype)
		            THEN '::pg_catalog.oid' ELSE '' END, ', ' ORDER BY a.attnum)
		FROM pg_catalog.pg_class AS c
		JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p', 'v')
		  AND (n.nspname IN ('retention', '_retention')
		       OR (n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition))
		GROUP BY c.oid ORDER BY 1" >"$work/relations"
}

# A run of the release's killed by kill -9 after its first batch: a crash during a run, left as
# the release's library leaves it ('running', with the pid of a process that is gone). Prints
# the run's id.
interrupt_a_run()
{
	local db=$1 pid i
	psql_q -d "$db" >/dev/null <<'SQL' || return 1
CREATE TABLE slow_switch (on_ boolean);
INSERT INTO slow_switch VALUES (true);
CREATE FUNCTION slow_keep(id bigint) RETURNS boolean LANGUAGE sql AS
$$ SELECT CASE WHEN EXISTS (SELECT FROM public.slow_switch) THEN pg_sleep(0.1) IS NULL ELSE false END $$;
CREATE TABLE slow (id bigint PRIMARY KEY, at timestamptz);
INSERT INTO slow SELECT g, now() - interval '2 years' FROM generate_series(1, 40) g;
SELECT retention.add_policy('slow', 'slow', 'at', '1 year', keep_when => 'slow_keep(id)', batch_size => 5);
SQL
	psql -X -q -d "$db" -c "CALL retention.run('slow')" >/dev/null 2>&1 &
	for i in $(seq 1 300); do
		pid=$(psql_q -d "$db" -At -c "SELECT s.running_pid FROM _retention.policy_state AS s
			JOIN _retention.policy AS p ON p.id = s.policy_id
			WHERE p.name = 'slow' AND s.last_status = 'running'
			  AND EXISTS (SELECT FROM retention.purge_log WHERE policy_name = 'slow')")
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] && kill -9 "$pid" || return 1
	wait
	# the server restarts after the crash
	for i in $(seq 1 300); do
		psql -X -d "$db" -At -c 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	psql_q -d "$db" -At -c 'DELETE FROM slow_switch' -c "SELECT s.last_run_id
		FROM _retention.policy_state AS s JOIN _retention.policy AS p ON p.id = s.policy_id
		WHERE p.name = 'slow' AND s.last_status = 'running'"
}

# expect REL KEYCOL KEY COL VALUE: in the rows of REL expected after the update (the release's
# rows, $work/expected/REL), the row whose KEYCOL is KEY has VALUE in COL.
expect()
{
	local rel=$1 cols keyn coln
	cols=$(awk -v r="$rel" '$1 == r { $1 = ""; print }' "$work/relations" | tr -d ' ' | tr ',' ' ')
	keyn=$(echo "$cols" | tr ' ' '\n' | grep -nx "$2" | cut -d: -f1)
	coln=$(echo "$cols" | tr ' ' '\n' | grep -nx "$4" | cut -d: -f1)
	[ -n "$keyn" ] && [ -n "$coln" ] || return 1
	awk -F'|' -v OFS='|' -v k="$keyn" -v key="$3" -v c="$coln" -v v="$5" \
		'$k == key { $c = v } { print }' "$work/expected/$rel" >"$work/expected/$rel.new" &&
		mv "$work/expected/$rel.new" "$work/expected/$rel"
}

old_library()
{
	local from=$1 commit=$2 db=upgrade_real_${1//./_} t0=$SECONDS as_of rel interrupted
	private_pg || {
		check "release $from: a private copy of the PostgreSQL installation" false
		return
	}
	check "release $from: its library built from commit $commit" build_release "$from" "$commit" ||
		return
	took "release $from: copying PostgreSQL and building its library" $((SECONDS - t0))
	install_library "$from" || {
		check "release $from: its library installed in the private copy" false
		return
	}
	local PGHOST=$work/run PGPORT=55499 PGUSER=postgres PGDATABASE=postgres
	export PGHOST PGPORT PGUSER PGDATABASE
	private_data=$work/run/data
	rm -rf "$work/run"
	mkdir -p "$work/run" && chown postgres: "$work/run"
	runuser -u postgres -- "$private_bin/initdb" -D "$private_data" -A trust -E UTF8 \
		--locale=C.UTF-8 >/dev/null || {
		check "release $from: initdb in the private copy" false
		return
	}
	cat >>"$private_data/postgresql.conf" <<-EOF
		port = $PGPORT
		listen_addresses = ''
		unix_socket_directories = '$PGHOST'
		shared_preload_libraries = 'retention'
		retention.enabled = off
		TimeZone = 'UTC'
	EOF
	check "release $from: a cluster runs its library" start_private || return
	createdb "$db" || return
	check "release $from: CREATE EXTENSION retention VERSION '$from' under its own library" \
		psql_q -d "$db" -c "CREATE EXTENSION retention VERSION '$from'"
	check "release $from: catalogs filled with policies of every kind, overrides, holds, runs, an erasure" \
		fill_with_runs "$db" >"$work/fill-$from.log"
	is "release $from: its runs purged, anonymised, archived and dropped partitions" \
		"$(psql_q -d "$db" -At -c "SELECT pg_catalog.string_agg(DISTINCT kind, ',' ORDER BY kind)
			FROM retention.purge_log WHERE rows_affected > 0")/$(psql_q -d "$db" -At -c \
			'SELECT count(*) > 0 FROM logins_archive')" anonymize,delete,drop_partition,erasure,export/t
	interrupted=$(interrupt_a_run "$db")
	check "release $from: a run killed by kill -9 after its first batch, left running" \
		[ -n "$interrupted" ]
	as_of=$(psql_q -d "$db" -At -c 'SELECT now()')
	list_relations "$db" && snapshot "$db" "$work/before" "$as_of" || {
		check "release $from: a snapshot of its installation" false
		return
	}
	echo "# release $from: $(wc -l <"$work/relations") relations kept, $(psql_q -d "$db" -At -c \
		'SELECT count(*) FROM retention.purge_log') audit rows, preview:" \
		"$(tr '\n' ';' <"$work/before/preview")"
	stop_private_clean &&
		install_library current &&
		start_private || {
		check "release $from: the server restarted with this library" false
		return
	}
	check "release $from: ALTER EXTENSION retention UPDATE under this library" \
		psql_q -d "$db" -c 'ALTER EXTENSION retention UPDATE'
	check "release $from: the extension is at $current" \
		[ "$(psql_q -d "$db" -At -c "SELECT extversion FROM pg_extension WHERE extname = 'retention'")" = "$current" ]
	check "release $from: a fresh installation beside it" createdb upgrade_real_fresh &&
		psql_q -d upgrade_real_fresh -c 'CREATE EXTENSION retention' &&
		psql_q -d upgrade_real_fresh -f fingerprint.sql >"$work/fresh-private.txt"
	check "release $from: the upgraded objects equal a fresh installation's (fingerprint)" \
		compare_fingerprint "$db" "$work/fresh-private.txt"
	snapshot "$db" "$work/after" "$as_of"
	# What the update changes on purpose: the run the release left 'running' after the crash is
	# shown as interrupted (its last run carried into _retention.run, and the liveness test)
	rm -rf "$work/expected" && cp -r "$work/before" "$work/expected" &&
		expect retention.policies name slow last_status interrupted &&
		expect retention.audit run_id "$interrupted" status interrupted &&
		expect retention.daily_summary policy_name slow failures 1
	check "release $from: the run it left running shows as interrupted after the update" \
		[ "$(psql_q -d "$db" -At -c "SELECT a.status || '/' || p.last_status FROM retention.audit AS a,
			retention.policies AS p WHERE a.run_id = 0$interrupted AND p.name = 'slow'")" = interrupted/interrupted ]
	for rel in $(cut -d' ' -f1 "$work/relations") sequences partitions; do
		check "release $from: $rel kept row for row" diff -u "$work/expected/$rel" "$work/after/$rel"
	done
	check "release $from: this library previews what $from's previewed" \
		diff -u "$work/before/preview" "$work/after/preview"
	check "release $from: verify_audit() is ok after the update" \
		[ "$(psql_q -d "$db" -At -c 'SELECT ok FROM retention.verify_audit()')" = t ]
	# a run after the update removes what the preview said and chains onto the old log
	psql_q -d "$db" -At -c 'SELECT max(id) FROM retention.purge_log' >"$work/last-id" &&
		psql_q -d "$db" -c 'CALL retention.run()' >/dev/null
	check "release $from: the run after the update removed what the preview said, per policy" \
		diff -u <(awk -F'|' '$4 > 0 { print $1 "|" $4 }' "$work/before/preview") \
		<(psql_q -d "$db" -At -c "SELECT policy_name, sum(rows_affected) FROM retention.purge_log
			WHERE id > $(cat "$work/last-id") AND kind IN ('delete', 'anonymize', 'drop_partition')
			GROUP BY 1 HAVING sum(rows_affected) > 0 ORDER BY 1")
	check "release $from: its first audit row links to $from's last and the chain verifies" \
		[ "$(psql_q -d "$db" -At -c "SELECT n.prev_hash = o.hash AND (SELECT ok FROM retention.verify_audit())
			FROM retention.purge_log AS n, retention.purge_log AS o
			WHERE o.id = $(cat "$work/last-id") AND n.id = o.id + 1")" = t ]
	check "release $from: holds still hold (c3's, tenant 4's, c5's tickets)" \
		[ "$(psql_q -d "$db" -At -c "SELECT (SELECT count(*) FROM messages WHERE customer = 'c3'
			AND sent_at < now() - interval '181 days') > 0 AND (SELECT count(*) FROM messages
			WHERE tenant_id = 4 AND sent_at < now() - interval '366 days') > 0
			AND (SELECT count(*) FROM tickets WHERE customer = 'c5' AND closed_at < now() - interval '91 days') > 0")" = t ]
	stop_private_clean
	took "release $from: with its own library, through the update" $((SECONDS - t0))
}

# C. The pgTAP suite against databases upgraded from the release.
pgtap_upgraded()
{
	local from=$1 t0=$SECONDS
	check "release $from: the pgTAP suite passes against databases upgraded from $from" \
		env RETENTION_TAP_INSTALL="upgrade-from-$from" bash "$root/scripts/pgtap.sh"
	took "release $from: the pgTAP suite upgraded" $((SECONDS - t0))
}

for release in "${RELEASES[@]}"; do
	read -r from commit majors <<<"$release"
	t0=$SECONDS
	case " $parts " in *" A "*)
		same_library "$from"
		took "release $from: this library over its SQL objects" $((SECONDS - t0))
		;;
	esac
	case " $parts " in *" B "*)
		major=$(pg_config --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
		if [ "$major" -ge "${majors%-*}" ] && [ "$major" -le "${majors#*-}" ]; then
			old_library "$from" "$commit"
		else
			echo "# release $from: B skipped, its library builds on PostgreSQL $majors only, this is $major"
		fi
		;;
	esac
	case " $parts " in *" C "*) pgtap_upgraded "$from" ;; esac
done
dropdb upgrade_fresh
echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]

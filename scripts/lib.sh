# Shared shell functions for the README commands (demo, tests, benchmarks).
#
# Sourced, never executed. Everything here is idempotent and runs as root on a fresh Debian 12
# machine: packages come from Debian's archive, PostgreSQL runs as the `postgres` OS user in a
# throwaway directory on a free port, and the cluster is stopped by an EXIT trap whatever happens.

set -euo pipefail

RETENTION_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin} # another (relocated) installation may be given
export PATH="$PG_BIN:$PATH"

# Packages every command needs; callers may pass more.
BASE_PACKAGES=(build-essential cmake postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
	postgresql-client-$PG_MAJOR)

log()
{
	printf '\n== %s\n' "$*"
}

# install_packages PKG...: apt-get install what is missing (skipped when all are present).
install_packages()
{
	local missing=()
	local p
	for p in "${BASE_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# build_and_install: compile with warnings as errors and install into the PostgreSQL tree.
build_and_install()
{
	log "building and installing the extension"
	make -C "$RETENTION_ROOT" -s -j"$(nproc)" PG_CONFIG="$PG_BIN/pg_config" >/dev/null
	make -C "$RETENTION_ROOT" -s install PG_CONFIG="$PG_BIN/pg_config" >/dev/null
}

free_port()
{
	local port
	for port in $(seq 55432 55532); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "no free port found" >&2
	return 1
}

# start_cluster [extra postgresql.conf lines...]: initdb + start a cluster owned by postgres in
# a temporary directory. Exports PGHOST, PGPORT, PGUSER, PGDATA, RETENTION_TMP. The EXIT trap
# stops it and removes the directory.
start_cluster()
{
	RETENTION_TMP=$(mktemp -d /tmp/retention.XXXXXX)
	chmod 755 "$RETENTION_TMP"
	chown postgres: "$RETENTION_TMP"
	export RETENTION_TMP
	export PGDATA=$RETENTION_TMP/data PGHOST=$RETENTION_TMP PGUSER=postgres PGDATABASE=postgres
	PGPORT=$(free_port)
	export PGPORT
	trap stop_cluster EXIT
	trap 'exit 130' INT TERM
	runuser -u postgres -- initdb -D "$PGDATA" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
	{
		echo "port = $PGPORT"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$RETENTION_TMP'"
		echo "shared_preload_libraries = 'retention'"
		echo "max_prepared_transactions = 10"
		echo "fsync = ${RETENTION_FSYNC:-on}"
		local line
		for line in "$@"; do
			echo "$line"
		done
	} >>"$PGDATA/postgresql.conf"
	runuser -u postgres -- pg_ctl -D "$PGDATA" -l "$RETENTION_TMP/server.log" -w -t 60 start >/dev/null
	log "cluster running: PGHOST=$PGHOST PGPORT=$PGPORT (log: $RETENTION_TMP/server.log)"
}

stop_cluster()
{
	local rc=$?
	if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		runuser -u postgres -- pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${RETENTION_TMP:-}" ] && [ "${RETENTION_KEEP_TMP:-0}" != 1 ]; then
		rm -rf "$RETENTION_TMP"
	fi
	return $rc
}

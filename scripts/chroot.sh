#!/usr/bin/env bash
# Runs a command against another PostgreSQL major, in a Debian root that ships it.
#
#   bash scripts/chroot.sh MAJOR [COMMAND...]
#
# 17 runs in Debian 13 (trixie), 18 in Debian unstable (sid), 13 in Debian 11 (bullseye). The root is made once with
# debootstrap from the Debian mirror this machine's apt already uses, and kept in
# $RETENTION_CHROOT_CACHE (default /var/cache/retention/chroot/<release>); later calls reuse it.
# The working tree (committed files and new ones not ignored, as they are on disk) is copied for
# this call and mounted at /retention inside the root, and COMMAND (default: a shell) runs there as root with PG_MAJOR set.
# /dev and /proc are mounted in a private mount namespace, so they vanish with the command, also
# when it fails or is killed. Needs root, debootstrap and unshare (installed when missing).
# RETENTION_CHROOT_OUT=DIR: DIR of this machine is mounted at /out inside the root, for results
# that must outlive the command (the copied tree is removed when the command ends).
set -euo pipefail

RETENTION_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

major=${1:?usage: bash scripts/chroot.sh MAJOR [COMMAND...]}
shift

case "$major" in
	13) release=bullseye ;; # Debian 11: compiling only (13 is not tested)
	17) release=trixie ;;
	18) release=sid ;; # Debian unstable
	*)
		echo "chroot.sh: no Debian release is configured for PostgreSQL $major" >&2
		exit 2
		;;
esac

cache=${RETENTION_CHROOT_CACHE:-/var/cache/retention/chroot}
root=$cache/$release

# apt_source CODENAME: the URI of the apt source that serves CODENAME, from apt's lists.
apt_source()
{
	apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' 2>/dev/null |
		awk -v c="$1" '$1 == c { print $2; exit }'
}

# The mirror that serves this machine's own Debian release, as apt resolved it.
host_mirror()
{
	local codename uri
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	uri=$(apt_source "$codename")
	if [ -z "$uri" ]; then
		# apt names a source's release only from a Release file it has fetched: none yet on a
		# machine whose package lists are empty
		apt-get update -qq >/dev/null
		uri=$(apt_source "$codename")
	fi
	if [ -z "$uri" ]; then
		echo "chroot.sh: no apt source for $codename in this machine's apt configuration" >&2
		return 1
	fi
	echo "$uri"
}

make_root()
{
	local mirror script partial
	[ -f "$root/.retention-root" ] && return 0
	mirror=$(host_mirror) # (updates apt's lists when they are empty)
	if ! command -v debootstrap >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	fi
	# debootstrap knows a release by a script of that name; a newer one than it knows bootstraps
	# like sid, as Debian's own suites do.
	script=/usr/share/debootstrap/scripts/$release
	[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
	partial=$root.partial
	# A debootstrap killed half-way (by an older version of this script) may have left /proc
	# mounted in its root: unmount whatever is below it, and never let rm cross into a mount.
	{ grep -o " $partial/[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l
	rm -rf --one-file-system "$partial"
	mkdir -p "$cache"
	echo "== making a Debian $release root in $root (debootstrap, once)"
	# in a mount namespace of its own: the mounts debootstrap makes in the new root go away with
	# it, even when it is killed
	unshare --mount --propagation private debootstrap --variant=minbase --include=ca-certificates "$release" "$partial" "$mirror" "$script" \
		>"$cache/$release.debootstrap.log" 2>&1 || {
		tail -20 "$cache/$release.debootstrap.log" >&2
		return 1
	}
	touch "$partial/.retention-root"
	mv "$partial" "$root"
}

# configure_root: done at every call, so that a cached root follows this machine's settings.
configure_root()
{
	# the root resolves names as this machine does; apt in it uses the same mirror
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	echo "deb $(host_mirror) $release main" >"$root/etc/apt/sources.list"
	# A mirror may be a snapshot of the archive taken on some day: the Release file of a
	# suite that is still changing (testing) then carries a Valid-Until in the past.
	echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99retention"
	# no services start inside the root when packages are installed
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
}

# copy_tree: the working tree as it is on disk, without build products, to $copy (a directory
# of this call's own, mounted at /retention inside the root: calls may run side by side).
copy_tree()
{
	copy=$root/calls/$$
	rm -rf "$copy"
	mkdir -p "$copy"
	(cd "$RETENTION_ROOT" &&
		git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
		tar -C "$copy" -xf -
	# upgrade tests build released versions from history
	if [ -d "$RETENTION_ROOT/.git" ]; then
		cp -a "$RETENTION_ROOT/.git" "$copy/.git"
	fi
}

make_root
configure_root
copy_tree
trap 'rm -rf "$copy"' EXIT
trap 'exit 130' INT TERM
[ $# -gt 0 ] || set -- bash

# Everything the command needs from outside comes through the environment given here.
env_args=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
	TERM="${TERM:-dumb}" PG_MAJOR="$major" CI="${CI:-}")
for v in RETENTION_FSYNC RETENTION_TAP_INSTALL RETENTION_KEEP_TMP RETENTION_STATIC_CHECKS; do
	[ -n "${!v:-}" ] && env_args+=("$v=${!v}")
done

if [ -n "${RETENTION_CHROOT_OUT:-}" ]; then
	mkdir -p "$RETENTION_CHROOT_OUT"
	RETENTION_CHROOT_OUT=$(cd "$RETENTION_CHROOT_OUT" && pwd)
fi
export RETENTION_CHROOT_OUT=${RETENTION_CHROOT_OUT:-}
unshare --mount --propagation private -- bash -c '
	set -e
	root=$1
	copy=$2
	shift 2
	mount --rbind /dev "$root/dev"
	mount -t proc proc "$root/proc"
	mkdir -p "$root/retention"
	mount --bind "$copy" "$root/retention"
	if [ -n "$RETENTION_CHROOT_OUT" ]; then
		mkdir -p "$root/out"
		mount --bind "$RETENTION_CHROOT_OUT" "$root/out"
	fi
	exec chroot "$root" /usr/bin/env -i "$@"
' chroot-run "$root" "$copy" "${env_args[@]}" bash -c 'cd /retention && exec "$@"' run "$@"

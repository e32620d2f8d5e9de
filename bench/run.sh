#!/usr/bin/env bash
# bench/run.sh: every benchmark of `retention`, side by side with what it replaces, on
# PostgreSQL 15 (this machine, Debian 12, against pg_partman 4.7) and 17 (a Debian 13 root made
# by scripts/chroot.sh, against pg_partman 5.2), in one command. The harness is bench/bench.py
# (parts in bench/harness/); this installs what it needs from Debian and runs it.
#
# Usage (as root on Debian 12, from a clone of the repository):
#   bash bench/run.sh                        # --size default: about 14 minutes per major on 2 cores
#   bash bench/run.sh --size quick           # a smoke run of every part
#   bash bench/run.sh --size full            # the full sizes (1-8 million rows)
#   bash bench/run.sh --pg 15                # some of the majors (default "15 17")
#   bash bench/run.sh --only "scaling worker_cycle"   # some of the parts
#   bash bench/run.sh --summarize            # only rebuild the summaries and charts
# Results: bench/results/SIZE/summary.md (the majors side by side) and, per major,
# bench/results/SIZE/pgNN/ (PART.json, summary.md, chart.png).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

packages=(python3 python3-psycopg)
# the charts are drawn on this machine, not inside a Debian root (--local)
[[ " $* " == *" --local "* ]] || packages+=(gnuplot-nox)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "== installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's own interpreter, which python3-psycopg belongs to (not another python3 on PATH)
exec /usr/bin/python3 "$HERE/bench.py" "$@"

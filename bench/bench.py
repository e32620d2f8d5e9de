#!/usr/bin/env python3
"""Every benchmark of `retention`, side by side with what it replaces, on each PostgreSQL major.

  1. in-place purge: CALL retention.run() vs one DELETE ... WHERE vs a batched DELETE loop:
     rows/s, WAL bytes per row, longest transaction, dead tuples left; a pgbench insert/select
     workload alone vs during the purge, unthrottled and throttled (purge_delete);
  2. partition purge: retention vs DROP TABLE vs pg_partman (4.7 on PostgreSQL 15, 5.2 on 17),
     and pgbench during each (partition_drop);
  3. the worker's cycle with 1,000 idle and 1,000 due policies (worker_cycle);
  4. erasure of one subject across 10 tables, runs with 1,000 tenant periods and a daily run
     with 10 tenant periods (subjects_tenants);
  5. how 1 and 2 grow with the table (scaling).
Every part starts its own throwaway cluster, checks after every run that the rows that must
remain remain, the expired ones are gone and the audit rows were written, and writes its figures
to PART.json. PostgreSQL 15 runs on this machine (Debian 12); 17 and 18 run in the Debian root
that ships them (scripts/chroot.sh). Results: bench/results/SIZE/pgNN/ (the JSON, summary.md,
chart.png per major) and bench/results/SIZE/summary.md (the majors side by side).

Usage (as root on Debian 12, from a clone; `bash bench/run.sh ARGS` installs what this needs):
  python3 bench/bench.py                       # --size default, PostgreSQL 15 and 17
  python3 bench/bench.py --size quick          # a smoke run of every part
  python3 bench/bench.py --pg 15 --only "scaling worker_cycle"
  python3 bench/bench.py --summarize           # only rebuild the summaries and charts
"""

import argparse
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

PARTS = ["purge_delete", "partition_drop", "worker_cycle", "subjects_tenants", "scaling"]
HOST_MAJOR = os.environ.get("PG_MAJOR", "15")
# The Debian roots scripts/chroot.sh makes (the test command's too: every call works on a copy
# of the tree of its own)
CHROOT_CACHE = os.environ.get("RETENTION_CHROOT_CACHE", "/var/cache/retention/chroot")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_commit():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or "none"


def machine():
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem = int(f.readline().split()[1])
    osname = "?"
    with open("/etc/os-release", encoding="utf-8") as f:
        for line in f:
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_gib": round(mem / 1048576, 1),
            "kernel": os.uname().release, "os": osname}


def run_local(major, size, only, out_dir):
    """Every wanted part against PostgreSQL MAJOR of this system (PG_BIN, when given, is another
    installation of it); returns {"durations_s": ..., "failed": [...]}."""
    from harness import common  # psycopg is imported here: run.sh installs it first
    from harness import partition_drop, purge_delete, scaling, subjects_tenants, worker_cycle
    modules = {"purge_delete": purge_delete, "partition_drop": partition_drop,
               "worker_cycle": worker_cycle, "subjects_tenants": subjects_tenants, "scaling": scaling}
    common.install_packages(["build-essential", f"postgresql-{major}", f"postgresql-server-dev-{major}",
                             f"postgresql-client-{major}"])
    pg = common.Postgres(major, os.environ.get("PG_BIN") if major == HOST_MAJOR else None)
    pg.build_and_install()
    os.makedirs(out_dir, exist_ok=True)
    durations, failed = {}, []
    for name in PARTS:
        if only and name not in only:
            continue
        common.log(f"PostgreSQL {major}: {name} ({size})")
        t0 = time.time()
        try:
            res = modules[name].run(pg, size, out_dir)
            if res.checks_failed:
                failed.append(f"{name} ({res.checks_failed} checks failed)")
            if res.problems:
                print(f"{name}: problems noted:\n  - " + "\n  - ".join(res.problems), flush=True)
        except Exception:  # noqa: BLE001 -- the next parts still run; the part is reported failed
            traceback.print_exc()
            failed.append(f"{name} (error)")
        durations[name] = round(time.time() - t0)
    return {"durations_s": durations, "failed": failed}


def run_in_root(major, size, only, out_dir):
    """The same, inside the Debian root that ships MAJOR (scripts/chroot.sh), results mounted."""
    os.makedirs(out_dir, exist_ok=True)
    args = ["--local", major, "--size", size, "--out", "/out"]
    if only:
        args += ["--only", " ".join(only)]
    env = dict(os.environ, RETENTION_CHROOT_OUT=out_dir,
               RETENTION_CHROOT_CACHE=CHROOT_CACHE)
    print(f"\n== PostgreSQL {major}: in the Debian root of {env['RETENTION_CHROOT_CACHE']}", flush=True)
    subprocess.run(["bash", os.path.join(ROOT, "scripts/chroot.sh"), major, "bash", "bench/run.sh", *args],
                   env=env, check=False)
    try:
        with open(os.path.join(out_dir, ".local.json"), encoding="utf-8") as f:
            r = json.load(f)
        os.remove(os.path.join(out_dir, ".local.json"))
        return r
    except OSError:
        return {"durations_s": {}, "failed": ["the run in the Debian root ended early"]}


def chart(directory):
    if subprocess.run(["sh", "-c", "command -v gnuplot"], capture_output=True).returncode == 0:
        r = subprocess.run(["gnuplot", "chart.gp"], cwd=directory, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"gnuplot failed in {directory}: {r.stderr[-500:]}", file=sys.stderr)


def summarize(size_dir, majors):
    from harness import summarize as s
    for m in majors:
        d = os.path.join(size_dir, f"pg{m}")
        if os.path.isdir(d):
            s.summarize_dir(d)
            chart(d)
    print(s.side_by_side(size_dir, [m for m in majors if os.path.isdir(os.path.join(size_dir, f"pg{m}"))]))


def main():
    # a TERM (or HUP) unwinds like an error, so that every cluster is stopped and its directory
    # removed (the finally blocks and atexit handlers of harness/common.py)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    # Started in the background by a shell (`bash bench/run.sh &`), this process inherits SIGINT
    # ignored, and so would every pgbench it starts: the SIGINT that ends a pgbench run would do
    # nothing. A handler of its own here means its children start with the default again.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ap = argparse.ArgumentParser(description="every benchmark of retention")
    ap.add_argument("--size", default="default", choices=["quick", "default", "full"])
    ap.add_argument("--pg", default="15 17", help='PostgreSQL majors, e.g. "15 17" (default)')
    ap.add_argument("--only", default="", help="some of the parts: " + " ".join(PARTS))
    ap.add_argument("--summarize", action="store_true", help="only rebuild the summaries and charts")
    ap.add_argument("--local", metavar="MAJOR", help=argparse.SUPPRESS)  # one major, this system
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    only = a.only.split()
    for p in only:
        if p not in PARTS:
            ap.error(f"unknown part {p}; parts: {' '.join(PARTS)}")
    majors = a.pg.split()

    if a.local:
        r = run_local(a.local, a.size, only, a.out)
        with open(os.path.join(a.out, ".local.json"), "w", encoding="utf-8") as f:
            json.dump(r, f)
        return 1 if r["failed"] else 0

    size_dir = os.path.join(HERE, "results", a.size)
    os.makedirs(size_dir, exist_ok=True)
    if not a.summarize:
        run = {"size": a.size, "started_at": utcnow(),
               "command": "bash bench/run.sh --size " + a.size
               + (f" --pg {shlex.quote(a.pg)}" if a.pg != "15 17" else "")
               + (f" --only {shlex.quote(a.only)}" if only else ""),
               "git_commit": git_commit(), "machine": machine(), "majors": {}}
        for m in majors:
            out = os.path.join(size_dir, f"pg{m}")
            t0 = time.time()
            started = utcnow()
            if m == HOST_MAJOR:
                r = run_local(m, a.size, only, out)
                r["where"] = f"this machine ({run['machine']['os']})"
            else:
                r = run_in_root(m, a.size, only, out)
                r["where"] = "Debian root " + {"17": "13 (trixie)", "18": "unstable (sid)"}.get(m, "?") \
                             + " via scripts/chroot.sh"
            r.update(started_at=started, finished_at=utcnow(), wall_s=round(time.time() - t0))
            run["majors"][m] = r
            # the per-major header of pgNN/summary.md
            with open(os.path.join(out, "run.json"), "w", encoding="utf-8") as f:
                json.dump({**{k: run[k] for k in ("size", "command", "git_commit", "machine")},
                           "started_at": started, "finished_at": r["finished_at"],
                           "durations_s": r["durations_s"], "failed": r["failed"]}, f, indent=1)
            with open(os.path.join(size_dir, "run.json"), "w", encoding="utf-8") as f:
                json.dump(run, f, indent=1)
        run["finished_at"] = utcnow()
        with open(os.path.join(size_dir, "run.json"), "w", encoding="utf-8") as f:
            json.dump(run, f, indent=1)
            f.write("\n")
    summarize(size_dir, majors)
    if not a.summarize:
        failed = [f"PostgreSQL {m}: {x}" for m, r in run["majors"].items() for x in r["failed"]]
        if failed:
            print("failed: " + "; ".join(failed), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark part shares, once: the throwaway cluster, the database session, the JSON
results, correctness checks, and the watch over the rest of the machine (other processes' CPU
and writes, CPU stolen by the hypervisor) that each measured phase waits on and reports.

Everything runs as root on Debian: PostgreSQL runs as the `postgres` OS user (runuser) in a
temporary directory on a free port, and the cluster is stopped in a `finally` and at exit,
whatever fails (as scripts/lib.sh does for the shell commands)."""

import atexit
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def log(msg):
    print(f"\n== {msg}", flush=True)


def say(msg=""):
    print(msg, flush=True)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ratio(a, b):
    """a / b, None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def median(values):
    """The median of the values that are not None (the lower middle one for an even count, as
    the shell scripts did, so that it is always a measured value); None when there are none."""
    v = sorted(x for x in values if x is not None)
    return v[(len(v) - 1) // 2] if v else None


def median_index(values):
    """The index of the median value (lower middle for an even count)."""
    order = sorted(range(len(values)), key=lambda i: (values[i] is None, values[i] or 0))
    return order[(len(values) - 1) // 2]


def percentile(values, p):
    """The p-th percentile by the nearest-rank method; None when empty."""
    v = sorted(values)
    if not v:
        return None
    i = max(1, -(-len(v) * p // 100))
    return v[int(i) - 1]


# ---------------------------------------------------------------------------------------------
# results


class Results:
    """A JSON document of figures, written to disk after every figure (a failed run still leaves
    what it measured), checks and problems."""

    def __init__(self, path, **fields):
        self.path = path
        self.data = dict(fields)
        self.checks_failed = 0
        self.problems = []
        self.data["problems"] = self.problems
        self.write()

    def set(self, path, value):
        """set("a.rounds.0.wall_s", 1.2): nested dicts (and lists for integer keys) as needed."""
        keys = path.split(".")
        obj = self.data
        for k, nxt in zip(keys, keys[1:]):
            if isinstance(obj, list):
                k = int(k)
                while len(obj) <= k:
                    obj.append({})
                obj = obj[k]
            else:
                obj = obj.setdefault(k, [] if nxt.isdigit() else {})
        last = keys[-1]
        if isinstance(obj, list):
            last = int(last)
            while len(obj) <= last:
                obj.append(None)
        obj[last] = value
        self.write()

    def get(self, path, default=None):
        obj = self.data
        for k in path.split("."):
            if isinstance(obj, list):
                k = int(k)
                obj = obj[k] if k < len(obj) else None
            elif isinstance(obj, dict):
                obj = obj.get(k)
            else:
                obj = None
            if obj is None:
                return default
        return obj

    def update(self, path, values):
        for k, v in values.items():
            self.set(f"{path}.{k}", v)

    def write(self):
        tmp = self.path + ".new"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1)
            f.write("\n")
        os.replace(tmp, self.path)

    def problem(self, msg):
        print(f"!! {msg}", file=sys.stderr, flush=True)
        self.problems.append(msg)
        self.write()

    def check(self, name, expected, actual):
        """A correctness check: prints it; a failure is counted and listed as a problem."""
        if str(expected) == str(actual):
            say(f"   check {name:<48} ok ({actual})")
            return True
        say(f"   check {name:<48} FAILED: expected {expected}, got {actual}")
        self.checks_failed += 1
        self.data["checks_failed"] = self.checks_failed
        self.problem(f"check {name}: expected {expected}, got {actual}")
        return False


# ---------------------------------------------------------------------------------------------
# installation


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def install_packages(packages):
    """apt-get install whatever of PACKAGES is missing (nothing when all are present)."""
    missing = []
    for p in packages:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    if missing:
        log(f"installing {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env,
            stdout=subprocess.DEVNULL)


class Postgres:
    """One PostgreSQL installation: its bin directory and what pg_config says about it."""

    def __init__(self, major, bin_dir=None):
        self.major = str(major)
        self.bin = bin_dir or f"/usr/lib/postgresql/{self.major}/bin"
        self.pg_config = os.path.join(self.bin, "pg_config")

    def config(self, flag):
        return subprocess.run([self.pg_config, flag], check=True, capture_output=True,
                              text=True).stdout.strip()

    def tool(self, name):
        return os.path.join(self.bin, name)

    def build_and_install(self):
        """The extension compiled and installed into this installation."""
        log(f"building and installing the extension ({self.pg_config})")
        jobs = str(NCPU)
        run(["make", "-C", ROOT, "-s", f"-j{jobs}", f"PG_CONFIG={self.pg_config}"],
            stdout=subprocess.DEVNULL)
        run(["make", "-C", ROOT, "-s", "install", f"PG_CONFIG={self.pg_config}"],
            stdout=subprocess.DEVNULL)

    def ensure_partman(self):
        """pg_partman from Debian's package; copied into a relocated installation (PG_BIN given
        to a private copy) when Debian's files are not already where this one looks."""
        install_packages([f"postgresql-{self.major}-partman"])
        sysshare = f"/usr/share/postgresql/{self.major}/extension"
        syslib = f"/usr/lib/postgresql/{self.major}/lib"
        share = os.path.join(self.config("--sharedir"), "extension")
        lib = self.config("--pkglibdir")
        if os.path.realpath(share) != os.path.realpath(sysshare):
            for f in os.listdir(sysshare):
                if f.startswith("pg_partman"):
                    shutil.copy2(os.path.join(sysshare, f), share)
        if os.path.realpath(lib) != os.path.realpath(syslib):
            for f in os.listdir(syslib):
                if f.startswith("pg_partman"):
                    shutil.copy2(os.path.join(syslib, f), lib)

    def retention_so_sha256(self):
        r = subprocess.run(["sha256sum", os.path.join(self.config("--pkglibdir"), "retention.so")],
                           capture_output=True, text=True)
        return r.stdout[:64] or None


# ---------------------------------------------------------------------------------------------
# the throwaway cluster


def free_port():
    for port in range(55432, 55533):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port found")


def as_postgres(cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, **kw)


class Cluster:
    """initdb + start in a temporary directory owned by postgres; stop() (also run at exit and
    by `with`) stops it (immediate) and removes the directory."""

    def __init__(self, pg, conf_lines, dbname="bench"):
        self.pg = pg
        self.dbname = dbname
        self.tmp = tempfile.mkdtemp(prefix="retention.")
        os.chmod(self.tmp, 0o755)
        shutil.chown(self.tmp, "postgres", "postgres")
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.conf = [
            f"port = {self.port}",
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.tmp}'",
            "shared_preload_libraries = 'retention'",
            "max_prepared_transactions = 10",
            f"fsync = {os.environ.get('RETENTION_FSYNC', 'on')}",
            *conf_lines,
        ]
        self.started = False
        atexit.register(self.stop)
        as_postgres([pg.tool("initdb"), "-D", self.data, "-A", "trust", "-E", "UTF8",
                     "--locale=C.UTF-8"], stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("\n".join(self.conf) + "\n")
        as_postgres([pg.tool("pg_ctl"), "-D", self.data, "-l", os.path.join(self.tmp, "server.log"),
                     "-w", "-t", "60", "start"], stdout=subprocess.DEVNULL)
        self.started = True
        log(f"cluster running: PGHOST={self.tmp} PGPORT={self.port} (log: {self.tmp}/server.log)")
        with self.connect("postgres") as c:
            c.execute(f"CREATE DATABASE {dbname}")

    def env(self):
        """Environment for libpq clients (pgbench, psql) of this cluster."""
        return dict(os.environ, PGHOST=self.tmp, PGPORT=str(self.port), PGUSER="postgres",
                    PGDATABASE=self.dbname, PATH=self.pg.bin + ":" + os.environ.get("PATH", ""))

    def connect(self, dbname=None, application_name="bench", options=None):
        return Db(self, dbname or self.dbname, application_name, options)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid"), encoding="utf-8") as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def reload_with(self, old, new):
        """Replace a line of postgresql.conf and reload."""
        path = os.path.join(self.data, "postgresql.conf")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(new if line == old else line for line in lines))
        with self.connect() as c:
            c.value("SELECT pg_reload_conf()")

    def stop(self):
        if self.started and os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(["runuser", "-u", "postgres", "--", self.pg.tool("pg_ctl"), "-D", self.data,
                            "-m", "immediate", "-w", "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        self.started = False
        if os.environ.get("RETENTION_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Db:
    """One autocommit session (so that CALL of a procedure may COMMIT inside). Notices and
    warnings the server sends are kept in .messages."""

    def __init__(self, cluster, dbname, application_name="bench", options=None):
        self.messages = []
        kw = {}
        if options:
            kw["options"] = options
        self.conn = psycopg.connect(host=cluster.tmp, port=cluster.port, user="postgres",
                                    dbname=dbname, autocommit=True,
                                    application_name=application_name, **kw)
        self.conn.add_notice_handler(
            lambda d: self.messages.append(f"{d.severity}: {d.message_primary}"))

    def execute(self, sql, params=None):
        return self.conn.execute(sql, params)

    def rows(self, sql, params=None):
        return self.conn.execute(sql, params).fetchall()

    def row(self, sql, params=None):
        return self.conn.execute(sql, params).fetchone()

    def value(self, sql, params=None):
        r = self.conn.execute(sql, params).fetchone()
        return None if r is None else r[0]

    def timed(self, sql, params=None):
        """Seconds the statement took, seen from the client."""
        t0 = time.time()
        self.conn.execute(sql, params)
        return time.time() - t0

    def warnings(self):
        return [m for m in self.messages if m.startswith(("WARNING", "ERROR"))]

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def num(v):
    """A database numeric as an int when it is whole (counts, sums of counts), else a float;
    None stays None."""
    if v is None:
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


# ---------------------------------------------------------------------------------------------
# the rest of the machine


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def cpu_snapshot(own_pids):
    """{"pid:starttime": (ticks, write_bytes, pid)} of every user-space process that is neither
    this program nor a descendant of one of OWN_PIDS (its cluster's postmaster, the children it
    started): processes come and go while /proc is read; a vanished one is no error."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        stat = _read(f"/proc/{d}/stat")
        if not stat:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) < 20:
            continue
        io = _read(f"/proc/{d}/io") or ""
        wb = 0
        for line in io.splitlines():
            if line.startswith("write_bytes:"):
                wb = int(line.split()[1])
        procs[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]), rest[19], wb)
    snap = {}
    for pid, (ppid, ticks, start, wb) in procs.items():
        if pid == 2 or ppid == 2:
            continue  # kernel threads
        q, ours = pid, False
        for _ in range(64):
            if q in own_pids:
                ours = True
                break
            if q <= 1 or q not in procs:
                break
            q = procs[q][0]
        if not ours:
            snap[f"{pid}:{start}"] = (ticks, wb, pid)
    return snap


def foreign_usage(before, after):
    """(CPU seconds used by other processes between the snapshots, bytes they wrote, pid of the
    biggest CPU user, pid of the biggest writer); a process born in between counts whole."""
    cpu = wb = top_c = top_w = 0
    cpid = wpid = None
    for k, (ticks, w, pid) in after.items():
        t0, w0, _ = before.get(k, (0, 0, pid))
        dc, dw = max(0, ticks - t0), max(0, w - w0)
        cpu += dc
        wb += dw
        if dc > top_c:
            top_c, cpid = dc, pid
        if dw > top_w:
            top_w, wpid = dw, pid
    return cpu / HZ, wb, cpid, wpid


def steal_ticks():
    for line in (_read("/proc/stat") or "").splitlines():
        if line.startswith("cpu "):
            return int(line.split()[8])
    return 0


def describe_pid(pid):
    if pid is None:
        return "?"
    c = _read(f"/proc/{pid}/cmdline")
    return (c or "?").replace("\0", " ").strip()[:80] or "?"


class Monitor:
    """Every 0.5 s, the CPU time and storage writes of every process foreign to this benchmark,
    and the CPU time stolen by the hypervisor, over the interval just ended: samples of
    (end epoch s, other CPU s, bytes written, stolen CPU s, top CPU user, top writer)."""

    PERIOD = 0.5

    def __init__(self, results, cluster, quiet_max):
        self.results = results
        self.cluster = cluster
        self.quiet_max = quiet_max
        self.samples = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        self.quiet_waited = 0
        atexit.register(self.stop)

    def own_pids(self):
        own = {os.getpid()}
        pm = self.cluster.postmaster_pid() if self.cluster else None
        if pm:
            own.add(pm)
        return own

    def _loop(self):
        prev = cpu_snapshot(self.own_pids())
        st0 = steal_ticks()
        while not self.stopping.wait(self.PERIOD):
            cur = cpu_snapshot(self.own_pids())
            st1 = steal_ticks()
            cpu, wb, cpid, wpid = foreign_usage(prev, cur)
            with self.lock:
                self.samples.append((time.time(), cpu, wb, (st1 - st0) / HZ, describe_pid(cpid),
                                     describe_pid(wpid)))
            prev, st0 = cur, st1

    def alive(self):
        if not self.thread.is_alive():
            self.results.problem("the interference monitor died: disturbance figures are missing")

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)

    def sum(self, t_from, t_to):
        """(other CPU s, bytes written, stolen CPU s, top CPU user, top writer) over the
        intervals ending in (t_from, t_to] (the tops: of the busiest interval)."""
        cpu = wb = st = 0.0
        tc = tw = -1
        tp = wp = "?"
        with self.lock:
            samples = [s for s in self.samples if t_from < s[0] <= t_to]
        for t, c, w, s, cp, wpp in samples:
            cpu += c
            wb += w
            st += s
            if c >= tc:
                tc, tp = c, cp
            if w >= tw:
                tw, wp = w, wpp
        return cpu, wb, st, tp, wp

    def disturbed(self, t_from, t_to):
        """Whether other processes used >= 0.1 CPU-s (stolen time included) or wrote >= 2 MB in
        the monitor intervals ending in (t_from, t_to + 0.5)."""
        cpu = wb = 0.0
        with self.lock:
            for t, c, w, s, _, _ in self.samples:
                if t_from < t < t_to + 0.5:
                    cpu += c + s
                    wb += w
        return cpu >= 0.1 or wb >= 2 * 1048576

    def wait_quiet(self):
        """Until, over 3 s, other processes use under 10% of one CPU, write under 1 MB/s and
        the hypervisor steals under 10% of one CPU (at most quiet_max s)."""
        self.quiet_waited = 0
        self.alive()
        said = False
        while True:
            time.sleep(3)
            t = time.time()
            cpu, wb, st, top, wtop = self.sum(t - 3, t)
            if cpu < 0.3 and wb < 3 * 1048576 and st < 0.3:
                break
            if self.quiet_waited >= self.quiet_max:
                self.results.problem(
                    f"the machine stayed busy: in 3 s other processes used {cpu:.2f} CPU-s (top: {top}) "
                    f"and wrote {wb / 1048576:.0f} MB, {st:.2f} CPU-s stolen; measuring anyway")
                break
            if not said:
                say(f"   waiting for a quiet machine (in 3 s: others used {cpu:.2f} CPU-s, top: {top}; "
                    f"wrote {wb / 1048576:.0f} MB, top: {wtop}; {st:.2f} CPU-s stolen)")
                said = True
            self.quiet_waited += 3
        if self.quiet_waited:
            say(f"   waited {self.quiet_waited} s for a quiet machine")

    def phase(self, db, key, label):
        """A measured phase: `with monitor.phase(db, KEY, LABEL) as ph:`; afterwards KEY holds
        other_cpu_s, stolen_cpu_s, other_cpu_share (of all CPUs), other_write_bytes,
        other_write_mb_per_s, waited_for_quiet_s and autovacuums_during, and ph.share /
        ph.write_mbps are set; a problem is noted above 5% of the machine or 2 MB/s."""
        return _Phase(self, db, key, label)


def autovacuum_count(db):
    return int(db.value("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) "
                        "FROM pg_stat_all_tables"))


class _Phase:
    def __init__(self, mon, db, key, label):
        self.mon, self.db, self.key, self.label = mon, db, key, label
        self.share = self.write_mbps = None

    def __enter__(self):
        self.autovac0 = autovacuum_count(self.db) if self.db else 0
        self.t0 = time.time()
        return self

    def __exit__(self, *exc):
        end = time.time()
        wall = max(end - self.t0, 1e-9)
        time.sleep(0.6)  # the monitor's last interval; statistics are flushed every 0.5 s at most
        cpu, wb, st, top, wtop = self.mon.sum(self.t0, end + 0.5)
        self.mon.alive()
        r, k = self.mon.results, self.key
        if self.db:
            autovac = autovacuum_count(self.db) - self.autovac0
            r.set(f"{k}.autovacuums_during", autovac)
            if autovac:
                # the extension's own tables are part of what a purge costs; any other is noise
                others = self.db.value(
                    "SELECT string_agg(schemaname || '.' || relname, ', ' ORDER BY relname) "
                    "FROM pg_stat_all_tables WHERE greatest(last_autovacuum, last_autoanalyze) "
                    ">= to_timestamp(%s) AND schemaname NOT IN ('retention', '_retention')",
                    (self.t0,))
                if others:
                    r.problem(f"{self.label}: autovacuum/autoanalyze ran during the phase ({others})")
        self.share = (cpu + st) / (wall * NCPU)
        self.write_mbps = wb / 1048576 / wall
        r.update(k, {"other_cpu_s": round(cpu, 2), "stolen_cpu_s": round(st, 2),
                     "other_cpu_share": round(self.share, 4), "other_write_bytes": int(wb),
                     "other_write_mb_per_s": round(self.write_mbps, 3),
                     "waited_for_quiet_s": self.mon.quiet_waited})
        if self.share > 0.05 and cpu + st >= 0.05:
            r.problem(f"{self.label}: other processes used {cpu:.2f} CPU-s and {st:.2f} CPU-s were "
                      f"stolen during the phase ({100 * self.share:.0f}% of the machine; top: {top})")
        if self.write_mbps > 2:
            r.problem(f"{self.label}: other processes wrote {wb / 1048576:.0f} MB during the phase "
                      f"({self.write_mbps:.0f} MB/s; top: {wtop})")
        return False


# ---------------------------------------------------------------------------------------------
# small shared SQL


def prewarm(db, table):
    """TABLE (partitioned or not) and its indexes into shared_buffers."""
    db.execute(f"""SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
        WHERE c.oid IN (SELECT relid FROM pg_partition_tree('{table}') WHERE isleaf)
           OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
                        (SELECT relid FROM pg_partition_tree('{table}') WHERE isleaf))""")


def settings(db, names=None):
    """The settings in effect: NAMES, or every one set by the configuration file."""
    if names:
        rows = db.rows("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) "
                       "ORDER BY name", (list(names),))
    else:
        rows = db.rows("SELECT name, current_setting(name) FROM pg_settings WHERE source IN "
                       "('configuration file', 'command line', 'environment variable') ORDER BY name")
    return dict(rows)


def header(results, db, pg, name, args):
    """The fields every part's JSON starts with."""
    results.set("benchmark", name)
    results.set("started_at", utcnow())
    results.set("arguments", args)
    results.set("server_version", db.value("SHOW server_version"))
    results.set("server_major", pg.major)
    results.set("extension_version",
                db.value("SELECT extversion FROM pg_extension WHERE extname = 'retention'"))
    results.set("build", {"retention_so_sha256": pg.retention_so_sha256()})
    results.set("host", {"cpus": NCPU, "kernel": os.uname().release})
    results.set("settings", settings(db))


def stats_mean(values):
    v = [x for x in values if x is not None]
    return statistics.mean(v) if v else None

"""pgbench runs in the background, and what their progress lines (-P 1) and per-transaction logs
(-l) say about the seconds a purge ran."""

import glob
import os
import re
import signal
import subprocess

from .common import percentile

PROGRESS = re.compile(r"^progress: ([0-9.]+) s, ([0-9.]+) tps, lat ([0-9.]+) ms")


class Pgbench:
    """pgbench ARGS against the cluster, started now; stdout/stderr into PREFIX.out/.err."""

    def __init__(self, cluster, args, prefix):
        self.prefix = prefix
        for f in glob.glob(prefix + ".log*"):
            os.remove(f)
        self.out = open(prefix + ".out", "w", encoding="utf-8")
        self.err = open(prefix + ".err", "w", encoding="utf-8")
        self.proc = subprocess.Popen([cluster.pg.tool("pgbench"), *args], env=cluster.env(),
                                     stdout=self.out, stderr=self.err, cwd=cluster.tmp)

    def interrupt(self):
        """SIGINT (pgbench stops and reports); False when it had already ended."""
        if self.proc.poll() is not None:
            return False
        self.proc.send_signal(signal.SIGINT)
        return True

    def wait(self, timeout=None):
        """pgbench's exit status; after TIMEOUT s it is killed and this raises."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"pgbench did not end within {timeout} s of being asked to") from None
        self.out.close()
        self.err.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stdout(self):
        with open(self.prefix + ".out", encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.prefix + ".err", encoding="utf-8", errors="replace") as f:
            return f.read()

    def summary(self):
        """tps, latency average and failed transactions from pgbench's closing report."""
        out = self.stdout()
        tps = re.search(r"^tps = ([0-9.]+)", out, re.M)
        lat = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
        failed = re.search(r"^number of failed transactions: ([0-9]+)", out, re.M)
        return (float(tps.group(1)) if tps else None, float(lat.group(1)) if lat else None,
                int(failed.group(1)) if failed else None)

    def progress(self):
        """[(end of the second, s since start; tps; mean latency ms)] from -P 1."""
        rows = []
        for line in self.stderr().splitlines():
            m = PROGRESS.match(line)
            if m:
                rows.append((float(m.group(1)), float(m.group(2)), float(m.group(3))))
        return rows

    def completions(self):
        """[(completion epoch s, latency ms)] of every logged transaction, sorted; the last line
        of each log file is left out (it may be partly written when pgbench is interrupted)."""
        rows = []
        for f in glob.glob(self.prefix + ".log*"):
            with open(f, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()[:-1]
            for line in lines:
                p = line.split()
                if len(p) >= 6 and p[2].isdigit():
                    rows.append((int(p[4]) + int(p[5]) / 1e6, int(p[2]) / 1000))
        rows.sort()
        return rows


def tps_between(progress, s, e, t0=None, monitor=None):
    """Mean TPS over pgbench's per-second progress intervals whose midpoint lies in [s, e]
    (seconds since pgbench started). With t0 (pgbench's start, epoch s) and the monitor, the
    seconds disturbed from outside are left out. Returns (mean or None, seconds used, seconds in
    range); when no midpoint is in range (a purge under a second), the second holding the middle
    of the range is used whatever happened in it."""
    total = used = 0
    acc = 0.0
    fallback = None
    c = (s + e) / 2
    for t, tps, _ in progress:
        if t - 1 <= c <= t:
            fallback = tps
        mid = t - 0.5
        if mid < s or mid > e:
            continue
        total += 1
        if t0 is not None and monitor is not None and monitor.disturbed(t0 + t - 1, t0 + t):
            continue
        acc += tps
        used += 1
    if used:
        return round(acc / used, 1), used, total
    if total == 0 and fallback is not None:
        return fallback, 0, 0
    return None, 0, total


def lat_between(progress, s, e):
    v = [lat for t, _, lat in progress if s <= t - 0.5 <= e]
    return round(sum(v) / len(v), 3) if v else None


def analyze(completions, t_from, t_to):
    """Of one run's completions, the purge running from t_from to t_to (epoch s):
    stretch_s      the longest interval between consecutive completions (all clients) that
                   overlaps [t_from, t_to] (the completions just around it included), with
                   stretch_from_s / stretch_to_s relative to t_from
    tps_before     completions per s in [first completion + 2 s, t_from); tps_during in
                   [t_from, t_to]; tps_after in (t_to, last completion]
    p99_before_ms, p99_during_ms, max_during_ms: latencies of the transactions completing there."""
    if not completions:
        return {}
    first = completions[0][0]
    stretch = sfrom = sto = 0.0
    prev = None
    before, during, after = [], [], []
    last_after = None
    for t, lat in completions:
        if prev is not None and t >= t_from and prev <= t_to and t - prev > stretch:
            stretch, sfrom, sto = t - prev, prev, t
        if first + 2 <= t < t_from:
            before.append(lat)
        if t_from <= t <= t_to:
            during.append(lat)
        if t > t_to:
            after.append(lat)
            last_after = t
        prev = t
    span_before = t_from - first - 2
    r = {
        "stretch_s": round(stretch, 6),
        "stretch_from_s": round(sfrom - t_from, 6) if stretch else None,
        "stretch_to_s": round(sto - t_from, 6) if stretch else None,
        "n_before": len(before), "n_during": len(during), "n_after": len(after),
        "tps_before": round(len(before) / span_before, 1) if span_before > 0 else None,
        "tps_during": round(len(during) / (t_to - t_from), 1) if t_to > t_from else None,
        "tps_after": (round(len(after) / (last_after - t_to), 1)
                      if last_after and last_after > t_to else None),
        "max_during_ms": max(during) if during else None,
        "last_completion_after_to_s": round(last_after - t_to, 3) if last_after else None,
        "p99_before_ms": percentile(before, 99),
        "p99_during_ms": percentile(during, 99),
        "transactions_logged": len(completions),
    }
    return r

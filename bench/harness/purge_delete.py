"""In-place purging with `retention`.

A. Throughput: the same data in three tables; `CALL retention.run()` removes the expired half of
   one in batches, a single `DELETE ... WHERE created_at < cutoff` removes it from the second,
   and a plain PL/pgSQL loop of TID-range DELETEs committing every ~batch_size rows (what
   batching alone costs) from the third: wall seconds, rows/s, WAL bytes per row, dead tuples
   left, and for retention the longest transaction (from retention.purge_log, and by sampling
   pg_stat_activity every 50 ms). Targets: rows/s >= 0.8x DELETE, longest transaction < 1 s.
B. Throttle: TPS and p99 latency of a small pgbench workload (INSERT one row + SELECT by a
   random id) alone, during an unthrottled purge, and during purges throttled with
   retention.max_rows_per_second = R; TPS seconds disturbed by other processes are left out.

Every purge is an explicit CALL (retention.enabled = off); the tables have autovacuum off so
that neither side of a comparison gets a vacuum the other does not."""

import os
import threading
import time

from .common import Cluster, Monitor, Results, header, log, median_index, num, prewarm, ratio, say
from .pgbench import Pgbench, analyze, lat_between, tps_between

CONF = [
    "shared_buffers = 2GB", "effective_cache_size = 16GB", "work_mem = 64MB",
    "maintenance_work_mem = 1GB", "wal_buffers = 64MB", "max_wal_size = 8GB", "min_wal_size = 1GB",
    "checkpoint_timeout = 30min", "checkpoint_completion_target = 0.9", "synchronous_commit = on",
    "random_page_cost = 1.1", "max_connections = 50", "retention.enabled = off",
]
CLIENTS, THREADS, OLTP_ROWS, SAMPLE_PERIOD = 4, 2, 100000, 0.05

SIZES = {
    "quick": dict(rows=200000, secs=10, rates=[20000], repeat=1, pre=3, max_wait=30),
    "default": dict(rows=1000000, secs=10, rates=[100000, 20000], repeat=3, pre=8, max_wait=60),
    "full": dict(rows=2000000, secs=20, rates=[200000, 100000, 50000, 20000, 10000, 5000],
                 repeat=3, pre=8, max_wait=900),
}
BATCH = 10000


class Sampler:
    """Polls pg_stat_activity every SAMPLE_PERIOD s (each poll its own transaction) for the
    backend whose application_name is APP; longest() is a lower bound of its longest
    transaction, exact to about one period (within a procedure, xact_start is reset at COMMIT)."""

    def __init__(self, cluster, app):
        self.db = cluster.connect(application_name="bench_sampler")
        self.app = app
        self.seen = {}
        self.samples = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop_ev.is_set():
            for now, start in self.db.rows(
                    "SELECT extract(epoch FROM clock_timestamp()), extract(epoch FROM xact_start) "
                    "FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL",
                    (self.app,)):
                self.samples += 1
                age = float(now - start)
                self.seen[start] = max(self.seen.get(start, 0), age)
            time.sleep(SAMPLE_PERIOD)

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        self.db.close()
        return {"longest_xact_s": round(max(self.seen.values(), default=0), 3),
                "transactions_seen": len(self.seen), "samples": self.samples,
                "period_s": SAMPLE_PERIOD}


def purge_log_summary(db, policy, after_id, run_start):
    r = db.row("""
        WITH r AS (SELECT * FROM retention.purge_log WHERE id > %(after)s AND policy_name = %(p)s),
             g AS (SELECT finished_at - lag(finished_at, 1, to_timestamp(%(t0)s)) OVER (ORDER BY id) AS gap
                   FROM r)
        SELECT count(*), coalesce(sum(rows_affected), 0), coalesce(sum(rows_failed), 0),
               extract(epoch FROM max(finished_at - started_at)),
               (SELECT extract(epoch FROM max(gap)) FROM g),
               extract(epoch FROM max(finished_at) - min(started_at)),
               coalesce(string_agg(DISTINCT status::text, ','), ''), count(DISTINCT run_id),
               min(cutoff), coalesce(string_agg(DISTINCT kind::text, ','), ''),
               (SELECT replace(error, E'\\n', ' ') FROM r WHERE error IS NOT NULL ORDER BY id LIMIT 1)
        FROM r""", {"after": after_id, "p": policy, "t0": run_start})
    keys = ["rows", "sum_rows_affected", "sum_rows_failed", "longest_batch_s", "longest_commit_gap_s",
            "span_s", "statuses", "run_ids", "cutoff", "kinds", "first_error"]
    d = dict(zip(keys, r))
    for k in ("longest_batch_s", "longest_commit_gap_s", "span_s"):
        d[k] = num(d[k])
    d["rows"], d["sum_rows_affected"], d["sum_rows_failed"] = int(d["rows"]), int(d["sum_rows_affected"]), int(d["sum_rows_failed"])
    return d


def max_log_id(db):
    return db.value("SELECT coalesce(max(id), 0) FROM retention.purge_log")


def create_purge_table(db, name):
    db.execute(f"""CREATE TABLE {name} (id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
        tenant int NOT NULL, payload text NOT NULL)
        WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off)""")


def load_purge_table(db, name):
    """(Re)fill NAME from bench_src in id order, the index on created_at, VACUUM ANALYZE,
    prewarm; the table keeps its identity (policies are bound to it)."""
    db.execute(f"TRUNCATE {name}")
    db.execute(f"INSERT INTO {name} SELECT * FROM bench_src ORDER BY id")
    db.execute("SET client_min_messages = warning")
    db.execute(f"CREATE INDEX IF NOT EXISTS {name}_created_at_idx ON {name} (created_at)")
    db.execute("RESET client_min_messages")
    db.execute(f"VACUUM ANALYZE {name}")
    prewarm(db, name)


def wal_lsn(db):
    return db.value("SELECT pg_current_wal_lsn()")


def wal_diff(db, a, b):
    return int(db.value("SELECT pg_wal_lsn_diff(%s, %s)::bigint", (b, a)))


def run(pg, size, out_dir):
    cfg = SIZES[size]
    rows, secs, rates, repeat, pre = cfg["rows"], cfg["secs"], cfg["rates"], cfg["repeat"], cfg["pre"]
    expired = rows // 2
    kept = rows - expired
    res = Results(os.path.join(out_dir, "purge_delete.json"))
    log(f"purge_delete: {rows} rows per table, {expired} expired; batch_size {BATCH}")
    with Cluster(pg, CONF) as cl:
        mon = Monitor(res, cl, cfg["max_wait"])
        try:
            _run(cl, pg, res, mon, rows, secs, rates, repeat, pre, expired, kept, cfg)
        finally:
            mon.stop()
    res.set("finished_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    res.set("checks_failed", res.checks_failed)
    return res


def _run(cl, pg, res, mon, rows, secs, rates, repeat, pre, expired, kept, cfg):
    db = cl.connect()
    db.execute("CREATE EXTENSION retention")
    db.execute("CREATE EXTENSION pg_prewarm")
    header(res, db, pg, "purge_delete", cfg)
    res.set("rows_total", rows)
    res.set("rows_expired", expired)
    res.set("batch_size", BATCH)

    # N rows, exactly N/2 expired for a 365-day retention: ages are a fixed-seed random
    # permutation (rank r <= E gets an age in [366, 730) days, the others [0, 364) days), so the
    # set of expired rows is exact whatever the minutes between load and purge, and expired rows
    # are physically interleaved with live ones (rows are stored in id order).
    log(f"generating {rows} rows (seeded)")
    t = time.time()
    db.execute("SELECT setseed(0.42)")
    db.execute(f"""CREATE UNLOGGED TABLE bench_src AS
        SELECT p.i::bigint AS id,
               CASE WHEN p.r <= {expired}
                    THEN now() - interval '366 days' - (p.r - 1) * (interval '364 days' / {expired})
                    ELSE now() - (p.r - {expired} - 1) * (interval '364 days' / {rows - expired})
               END AS created_at,
               (p.i % 100)::int AS tenant,
               left(repeat(md5(p.i::text), 4), 100) AS payload
        FROM (SELECT i, row_number() OVER (ORDER BY random()) AS r
                FROM generate_series(1, {rows}) AS i) AS p
        ORDER BY p.i""")
    db.execute("VACUUM ANALYZE bench_src")
    res.check("bench_src expired rows", expired,
              db.value("SELECT count(*) FROM bench_src WHERE created_at < now() - interval '365 days'"))
    res.set("load.generate_s", round(time.time() - t, 3))

    db.execute("""CREATE OR REPLACE PROCEDURE bench_batched_delete(tbl regclass, cutoff timestamptz, pages int)
        LANGUAGE plpgsql AS $$
        DECLARE
            npages bigint := pg_relation_size(tbl) / current_setting('block_size')::int;
            b bigint := 0;
        BEGIN
            WHILE b < npages LOOP
                EXECUTE format('DELETE FROM %s WHERE ctid >= $1 AND ctid < $2 AND created_at < $3', tbl)
                    USING format('(%s,0)', b)::tid, format('(%s,0)', b + pages)::tid, cutoff;
                COMMIT;
                b := b + pages;
            END LOOP;
        END $$""")

    # ---- A ------------------------------------------------------------------------------------
    ratios, longest = [], []
    for rnd in range(repeat):
        ratios.append(a_round(cl, db, res, mon, rnd, repeat, rows, expired, kept, longest))
    med = median_index(ratios)
    res.set("a.rounds_run", repeat)
    res.set("a.median_round", med)
    res.set("a.rows_per_s_ratios_retention_over_delete", ratios)
    mr = res.get(f"a.rounds.{med}")
    for side in ("retention", "delete", "batched_reference"):
        res.set(f"a.{side}", mr[side])
    r, d, b = mr["retention"], mr["delete"], mr["batched_reference"]
    res.set("a.rows_per_s_ratio_retention_over_delete", ratio(r["rows_per_s"], d["rows_per_s"]))
    res.set("a.wal_ratio_retention_over_delete", ratio(r["wal_bytes"], d["wal_bytes"]))
    res.set("a.rows_per_s_ratio_retention_over_batched_reference", ratio(r["rows_per_s"], b["rows_per_s"]))
    res.set("a.rows_per_s_ratio_batched_reference_over_delete", ratio(b["rows_per_s"], d["rows_per_s"]))
    lx = max([x for x in longest if x is not None], default=None)
    res.set("a.retention_longest_xact_s", lx)
    res.set("a.targets.rows_per_s_ratio_ge_0_8", (ratios[med] or 0) >= 0.8)
    res.set("a.targets.longest_xact_lt_1s", lx is not None and lx < 1)
    say(f"   A: rows/s retention {r['rows_per_s']:.0f}, DELETE {d['rows_per_s']:.0f}, batched "
        f"{b['rows_per_s']:.0f}; ratios by round {[round(x, 3) for x in ratios]}; longest xact {lx} s")
    db.execute("VACUUM ANALYZE")  # so that no autovacuum of A's leftovers falls in B

    # ---- B ------------------------------------------------------------------------------------
    part_b(cl, db, res, mon, rows, secs, rates, pre, expired, kept, r["wall_s"])
    db.close()


def a_round(cl, db, res, mon, rnd, repeat, rows, expired, kept, longest):
    """One round of part A on fresh tables; its figures in a.rounds.RND; returns the
    retention/DELETE rows/s ratio."""
    k = f"a.rounds.{rnd}"
    n = rnd + 1
    log(f"A. round {n}/{repeat}: loading bench_ret, bench_del and bench_bat")
    t = time.time()
    for tb in ("bench_ret", "bench_del", "bench_bat"):
        create_purge_table(db, tb)
        load_purge_table(db, tb)
    res.set(f"{k}.load_s", round(time.time() - t, 3))
    res.set(f"{k}.table_bytes", db.value("SELECT pg_total_relation_size('bench_ret')"))
    db.execute(f"SELECT retention.add_policy('bench', 'bench_ret', 'created_at', '365 days', "
               f"batch_size => {BATCH})")
    res.check(f"[{n}] preview rows_expired", expired,
              db.value("SELECT rows_expired FROM retention.preview('bench')"))

    # (1) CALL retention.run('bench')
    db.execute("CHECKPOINT")
    log(f"A{n}.1 CALL retention.run('bench')")
    mon.wait_quiet()
    before = max_log_id(db)
    lsn0 = wal_lsn(db)
    run_db = cl.connect(application_name="bench_retention_run")
    sampler = Sampler(cl, "bench_retention_run")
    err = None
    with mon.phase(db, f"{k}.retention", f"A{n}. retention.run()"):
        t0 = time.time()
        try:
            run_db.execute("CALL retention.run('bench')")
        except Exception as e:  # noqa: BLE001 -- recorded, the checks below fail
            err = str(e)
        t1 = time.time()
    sampled = sampler.stop()
    wall = t1 - t0
    wal = wal_diff(db, lsn0, wal_lsn(db))
    if err:
        res.problem(f"CALL retention.run('bench') failed: {err}")
    if run_db.warnings():
        res.problem(f"CALL retention.run('bench') warned: {run_db.warnings()[:3]}")
    run_db.close()
    pl = purge_log_summary(db, "bench", before, t0)
    remaining = db.value("SELECT count(*) FROM bench_ret")
    removed = rows - remaining
    rr = {"wall_s": round(wall, 6), "rows_removed": removed, "rows_per_s": removed / wall,
          "wal_bytes": wal, "wal_bytes_per_row": ratio(wal, removed), "error": err,
          "purge_log": {**pl, "cutoff": str(pl["cutoff"]) if pl["cutoff"] else None},
          "sampled": sampled}
    res.update(f"{k}.retention", rr)
    longest += [pl["longest_batch_s"], sampled["longest_xact_s"]]

    # (2) one DELETE with the very cutoff the run used (the data leaves a 2-day gap around
    # now() - 365 days, so any cutoff in it selects the same rows)
    cutoff = pl["cutoff"]
    if cutoff is None:
        res.problem("no cutoff in retention.purge_log for the run; DELETE uses now() - interval '365 days'")
        cutoff = db.value("SELECT now() - interval '365 days'")
    res.set(f"{k}.delete.cutoff", str(cutoff))
    res.check(f"[{n}] bench_del rows below the cutoff", expired,
              db.value("SELECT count(*) FROM bench_del WHERE created_at < %s", (cutoff,)))
    db.execute("CHECKPOINT")
    log(f"A{n}.2 DELETE FROM bench_del WHERE created_at < '{cutoff}'")
    mon.wait_quiet()
    lsn0 = wal_lsn(db)
    del_db = cl.connect(application_name="bench_delete")
    sampler = Sampler(cl, "bench_delete")
    with mon.phase(db, f"{k}.delete", f"A{n}. DELETE"):
        t0 = time.time()
        del_db.execute("DELETE FROM bench_del WHERE created_at < %s", (cutoff,))
        t1 = time.time()
    dsampled = sampler.stop()
    del_db.close()
    dwall = t1 - t0
    dwal = wal_diff(db, lsn0, wal_lsn(db))
    dremaining = db.value("SELECT count(*) FROM bench_del")
    dremoved = rows - dremaining
    res.update(f"{k}.delete", {"wall_s": round(dwall, 6), "rows_removed": dremoved,
                               "rows_per_s": dremoved / dwall, "wal_bytes": dwal,
                               "wal_bytes_per_row": ratio(dwal, dremoved),
                               "longest_xact_s": round(dwall, 6), "sampled": dsampled})

    # (3) reference: the same DELETE cut into batches of about batch_size rows along the heap
    # (TID range scans), one COMMIT per batch, in plain PL/pgSQL: what batching and per-batch
    # commits cost by themselves, without any of the extension's work
    pages = db.value(f"""SELECT greatest(1, ceil({BATCH}::numeric * (pg_relation_size('bench_bat')
                         / current_setting('block_size')::int) / {expired}))::int""")
    res.set(f"{k}.batched_reference.pages_per_batch", pages)
    db.execute("CHECKPOINT")
    log(f"A{n}.3 reference: CALL bench_batched_delete() ({pages} pages per batch, COMMIT each)")
    mon.wait_quiet()
    lsn0 = wal_lsn(db)
    with mon.phase(db, f"{k}.batched_reference", f"A{n}. batched reference"):
        t0 = time.time()
        db.execute("CALL bench_batched_delete('bench_bat', %s, %s)", (cutoff, pages))
        t1 = time.time()
    bwall = t1 - t0
    bwal = wal_diff(db, lsn0, wal_lsn(db))
    bremaining = db.value("SELECT count(*) FROM bench_bat")
    bremoved = rows - bremaining
    res.update(f"{k}.batched_reference", {
        "wall_s": round(bwall, 6), "rows_removed": bremoved, "rows_per_s": bremoved / bwall,
        "wal_bytes": bwal, "wal_bytes_per_row": ratio(bwal, bremoved),
        "batches": int(db.value(f"SELECT ceil(pg_relation_size('bench_bat')::numeric "
                                f"/ current_setting('block_size')::int / {pages})"))})

    log(f"A{n}. correctness")
    res.check(f"[{n}] bench_ret remaining rows", kept, remaining)
    res.check(f"[{n}] bench_del remaining rows", kept, dremaining)
    res.check(f"[{n}] bench_bat remaining rows", kept, bremaining)
    res.check(f"[{n}] same remaining ids in bench_ret and bench_del", 0, db.value(
        "SELECT count(*) FROM bench_ret r FULL JOIN bench_del d USING (id) WHERE r.id IS NULL OR d.id IS NULL"))
    res.check(f"[{n}] purge_log sum(rows_affected) of the run", expired, pl["sum_rows_affected"])
    res.check(f"[{n}] purge_log sum(rows_failed) of the run", 0, pl["sum_rows_failed"])
    res.check(f"[{n}] purge_log statuses of the run", "ok", pl["statuses"])
    res.check(f"[{n}] purge_log run_ids of the run", 1, pl["run_ids"])
    res.check(f"[{n}] expired rows left in bench_ret", 0, db.value(
        "SELECT count(*) FROM bench_ret WHERE created_at < now() - interval '365 days'"))
    res.check(f"[{n}] verify_audit() ok", True, db.value("SELECT ok FROM retention.verify_audit()"))
    # dead tuples each removal leaves for VACUUM: n_dead_tup, as autovacuum sees it
    for tb, side in (("bench_ret", "retention"), ("bench_del", "delete"), ("bench_bat", "batched_reference")):
        res.set(f"{k}.{side}.dead_tuples_left", db.value(f"SELECT pg_stat_get_dead_tuples('{tb}'::regclass)"))
    rt = ratio(removed / wall, dremoved / dwall)
    res.set(f"{k}.rows_per_s_ratio_retention_over_delete", rt)
    res.set(f"{k}.rows_per_s_ratio_retention_over_batched_reference", ratio(removed / wall, bremoved / bwall))
    say(f"   retention {wall:.3f} s, DELETE {dwall:.3f} s, batched {bwall:.3f} s; ratio {rt:.3f}")
    db.execute("SELECT retention.drop_policy('bench')")
    db.execute("DROP TABLE bench_ret, bench_del, bench_bat")
    return rt


def part_b(cl, db, res, mon, rows, secs, rates, pre, expired, kept, ret_wall):
    log("B. preparing the pgbench table and bench_thr")
    # insert-only, so nothing for autovacuum to clean; vacuumed by hand between phases
    db.execute("""CREATE TABLE bench_oltp (id bigserial PRIMARY KEY, tenant int NOT NULL, note text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())
        WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off)""")
    db.execute(f"INSERT INTO bench_oltp (tenant, note) SELECT i % 100, md5(i::text) "
               f"FROM generate_series(1, {OLTP_ROWS}) AS i")
    db.execute("VACUUM ANALYZE bench_oltp")
    script = os.path.join(cl.tmp, "oltp.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(f"\\set id random(1, {OLTP_ROWS})\n"
                "INSERT INTO bench_oltp (tenant, note) VALUES (:id % 100, md5(:id::text));\n"
                "SELECT id, tenant, note FROM bench_oltp WHERE id = :id;\n")
    pgb = ["-n", "-c", str(CLIENTS), "-j", str(THREADS), "-f", script, "-P", "1"]
    res.set("b.pgbench_command", "pgbench " + " ".join(pgb) + " -T <window> -l bench")
    create_purge_table(db, "bench_thr")
    db.execute(f"SELECT retention.add_policy('thr', 'bench_thr', 'created_at', '365 days', batch_size => {BATCH})")
    load_purge_table(db, "bench_thr")

    log("B. warm-up (5 s pgbench, not measured)")
    w = Pgbench(cl, [*pgb, "-T", "5", "bench"], os.path.join(cl.tmp, "warmup"))
    if w.wait() != 0:
        res.problem("warm-up pgbench failed")

    idx = [0]

    def phase(label, rate, window):
        """pgbench alone for WINDOW s (rate None), or PRE + WINDOW s with `CALL
        retention.run('thr')` from PRE s in, max_rows_per_second = RATE (0: unthrottled, no
        max_runtime; else max_runtime = WINDOW - 2 s)."""
        k = f"b.runs.{idx[0]}"
        idx[0] += 1
        if rate is not None:
            window += pre
        db.execute("VACUUM ANALYZE bench_oltp")
        db.execute("CHECKPOINT")
        before = max_log_id(db)
        mon.wait_quiet()
        log(f"B. {label}: pgbench {window}s" + ("" if rate is None else
            f", purge from {pre}s with retention.max_rows_per_second = {rate}"))
        res.set(f"{k}.label", label)
        res.set(f"{k}.window_s", window)
        prefix = os.path.join(cl.tmp, f"b_{label}")
        runtime_s = None
        err = None
        with mon.phase(db, k, f"B. {label}"):
            t0 = time.time()
            p = Pgbench(cl, [*pgb, "-T", str(window), "-l", f"--log-prefix={prefix}.log", "bench"], prefix)
            if rate is not None:
                time.sleep(pre)
                pdb = cl.connect(application_name="bench_throttled_run")
                pdb.execute(f"SET retention.max_rows_per_second = {rate}")
                if rate:
                    runtime_s = window - pre - 2
                    pdb.execute(f"SET retention.max_runtime = '{runtime_s}s'")
                t1 = time.time()
                try:
                    pdb.execute("CALL retention.run('thr')")
                except Exception as e:  # noqa: BLE001
                    err = str(e)
                t2 = time.time()
                warns = pdb.warnings()
                pdb.close()
            rc = p.wait()
        if rc != 0:
            res.problem(f"pgbench exited {rc} in phase {label}: {p.stderr()[-300:]}")
        tps_sum, lat_sum, failed = p.summary()
        prog = p.progress()
        res.update(k, {"pgbench_exit": rc, "tps_window_summary": tps_sum,
                       "latency_ms_window_summary": lat_sum, "failed_transactions": failed,
                       "tps_per_second": [x[1] for x in prog]})
        comp = p.completions()
        if rate is None:
            tps, used, total = tps_between(prog, 1, window, t0, mon)
            a = analyze(comp, t0 + 1, time.time())
            res.update(k, {"tps": tps, "tps_all_seconds": tps_between(prog, 1, window)[0],
                           "tps_seconds_used": used, "tps_seconds_disturbed": total - used,
                           "latency_ms": lat_between(prog, 1, window), "p99_ms": a.get("p99_during_ms"),
                           "longest_stretch_without_commit_s": a.get("stretch_s"),
                           "transactions_logged": a.get("transactions_logged")})
            say(f"   TPS {tps} over {used} undisturbed seconds of {total}; p99 {a.get('p99_during_ms')} ms; "
                f"longest stretch without a commit {a.get('stretch_s')} s")
            return res.get(k)
        s, e, dur = t1 - t0, t2 - t0, t2 - t1
        tps, used, total = tps_between(prog, s, e, t0, mon)
        tps_pre, pused, ptotal = tps_between(prog, 1, pre, t0, mon)
        a = analyze(comp, t1, t2)
        if err:
            res.problem(f"CALL retention.run('thr') failed in phase {label}: {err}")
        if warns:
            res.problem(f"CALL retention.run('thr') warned in phase {label}: {warns[:3]}")
        pl = purge_log_summary(db, "thr", before, t1)
        remaining = db.value("SELECT count(*) FROM bench_thr")
        removed = rows - remaining
        completed = removed == expired
        # correctness: what must remain remains, the audit matches, the throttle is honoured
        # bench_src's expired rows were at least 366 days old when it was made and its others at
        # most 364: the policy's own 365 days stays between the two for a day, whereas a
        # narrower window would lose the oldest unexpired rows as the benchmark's minutes pass
        res.check(f"B {label}: unexpired rows left in bench_thr", kept,
                  db.value("SELECT count(*) FROM bench_thr WHERE created_at >= now() - interval '365 days'"))
        res.check(f"B {label}: purge_log sum(rows_affected) = rows removed", removed, pl["sum_rows_affected"])
        if removed:
            res.check(f"B {label}: purge_log statuses", "ok", pl["statuses"])
        if rate == 0:
            res.check(f"B {label}: the unthrottled run removed every expired row", expired, removed)
        else:
            if removed > rate * dur + BATCH:
                res.problem(f"phase {label}: {removed} rows in {dur:.2f}s exceeds max_rows_per_second = {rate} (+1 batch)")
            if dur > runtime_s + 2:
                res.problem(f"phase {label}: run lasted {dur:.2f}s with max_runtime = {runtime_s}s")
        res.check(f"B {label}: verify_audit() ok", True, db.value("SELECT ok FROM retention.verify_audit()"))
        res.update(k, {
            "max_rows_per_second": rate, "max_runtime_s": runtime_s, "purge_start_s": round(s, 3),
            "purge_s": round(dur, 3), "rows_removed": removed, "rows_per_s": removed / dur if dur else None,
            "purge_completed": completed, "tps": tps, "tps_seconds_used": used,
            "tps_seconds_disturbed": total - used, "tps_all_seconds": tps_between(prog, s, e)[0],
            "tps_before_purge": tps_pre, "tps_before_purge_seconds_used": pused,
            "tps_before_purge_seconds_disturbed": ptotal - pused,
            "tps_after_purge": tps_between(prog, e + 1, window, t0, mon)[0],
            "latency_ms": lat_between(prog, s, e), "p99_ms": a.get("p99_during_ms"),
            "p99_before_purge_ms": a.get("p99_before_ms"),
            "longest_stretch_without_commit_s": a.get("stretch_s"),
            "transactions_logged": a.get("transactions_logged"),
            "purge_log": {kk: (str(v) if kk == "cutoff" and v else v) for kk, v in pl.items()},
        })
        say(f"   purge {dur:.2f}s, {removed} rows (completed {completed}); TPS before {tps_pre} "
            f"({pused}/{ptotal} s), during {tps} ({used}/{total} s); p99 before {a.get('p99_before_ms')} ms, "
            f"during {a.get('p99_during_ms')} ms; longest stretch without a commit {a.get('stretch_s')} s")
        return res.get(k)

    # the unthrottled window: long enough for the whole purge under load
    unthr_window = min(600, max(secs, int(2 * ret_wall) + 4))
    alone = phase("alone", None, secs)
    tps_alone, p99_alone = alone.get("tps"), alone.get("p99_ms")
    res.set("b.tps_alone", tps_alone)
    res.set("b.p99_alone_ms", p99_alone)
    res.set("b.longest_stretch_without_commit_alone_s", alone.get("longest_stretch_without_commit_s"))
    done = []
    for label, rate, window in [("unthrottled", 0, unthr_window)] + [(f"rate_{r}", r, secs) for r in rates]:
        load_purge_table(db, "bench_thr")
        r = phase(label, rate, window)
        k = f"b.runs.{idx[0] - 1}"
        res.set(f"{k}.tps_ratio_to_alone", ratio(r.get("tps"), tps_alone))
        res.set(f"{k}.tps_ratio_to_before_purge", ratio(r.get("tps"), r.get("tps_before_purge")))
        res.set(f"{k}.p99_ratio_to_alone", ratio(r.get("p99_ms"), p99_alone))
        done.append(res.get(k))
    after = phase("alone_after", None, secs)
    res.set("b.tps_alone_after", after.get("tps"))

    def highest(key):
        """The highest rate R such that R and every lower rate tried keep KEY >= 0.9
        (unthrottled ranks above every rate; a run with every second disturbed gives no verdict)."""
        best = "none of those tried"
        for rate in sorted(rates) + [0]:
            runs = [x for x in done if x.get("max_rows_per_second") == rate]
            vals = [x.get(key) for x in runs]
            if all(v is None for v in vals):
                continue
            if not any(v is not None and v >= 0.9 for v in vals):
                break
            best = "unthrottled" if rate == 0 else str(rate)
        return best

    res.set("b.highest_rate_keeping_90pct_tps", highest("tps_ratio_to_before_purge"))
    res.set("b.highest_rate_keeping_90pct_tps_vs_standalone_alone", highest("tps_ratio_to_alone"))
    res.update("b", {"pre_purge_seconds": pre, "purge_table_rows": rows, "purge_table_expired": expired,
                     "pgbench_clients": CLIENTS, "pgbench_threads": THREADS})

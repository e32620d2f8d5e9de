"""Whole-partition purging with `retention`, against plain DROP TABLE and pg_partman.

1. Drop speed: the same data (N rows over DAYS daily partitions aligned to UTC midnight, plus 4
   empty ones ahead, no default partition) in three tables; EXPIRED whole days are expired and
   the cutoff lies inside the next day. Timed after VACUUM ANALYZE and CHECKPOINT, in wall
   seconds and WAL bytes:
     a. CALL retention.run('ev') (partition_interval '1 day', premake 4): the whole run, and
        from retention.purge_log the drops alone and the row-by-row delete of the partition
        straddling the cutoff;
     b. DROP TABLE of the same partitions, one per transaction (a procedure that COMMITs after
        each);
     c. pg_partman (create_parent daily, premake 4; part_config.retention the same interval,
        retention_keep_table = false): 4.x `SELECT partman.run_maintenance(parent)`; 5.x
        `CALL partman.run_maintenance_proc()` (its procedure, committing between partition
        sets; 5.x changed create_parent: p_interval '1 day', p_type 'range').
   Medians over --repeat rounds.
2. Stalls: the same three purges on fresh copies while pgbench (INSERT one row at now() + SELECT
   10 rows of the last hour; 4 clients, -M prepared, per-transaction log) runs: the longest
   stretch without a completed transaction, TPS during the purge vs before it, p99 latency.
Targets: retention / DROP TABLE <= 1.2x; longest stretch under pgbench < 50 ms.

autovacuum = off (every table is vacuumed and analyzed explicitly, the same way),
retention.enabled = off (every purge is an explicit CALL), TimeZone = UTC."""

import os
import time

from .common import Cluster, Monitor, Results, header, log, median, num, ratio, say
from .pgbench import Pgbench, analyze

CONF = [
    "shared_buffers = 2GB", "effective_cache_size = 16GB", "work_mem = 64MB",
    "maintenance_work_mem = 1GB", "wal_buffers = 64MB", "max_wal_size = 8GB", "min_wal_size = 1GB",
    "checkpoint_timeout = 30min", "checkpoint_completion_target = 0.9", "synchronous_commit = on",
    "random_page_cost = 1.1", "max_connections = 50",
    # pg_partman drops every partition in one transaction while 4 pgbench clients each lock all
    # partitions (and their indexes) of the table when planning
    "max_locks_per_transaction = 512",
    "autovacuum = off", "timezone = 'UTC'", "retention.enabled = off",
]
CLIENTS, THREADS, PREMAKE = 4, 2, 4
PGB_MAX = 1800  # part 2: pgbench -T (it is stopped POST s after the purge)

SIZES = {
    "quick": dict(rows=500000, days=40, expired=20, repeat=1, pre=5, post=2, max_wait=30),
    "default": dict(rows=1000000, days=100, expired=50, repeat=3, pre=10, post=3, max_wait=60),
    "full": dict(rows=5000000, days=400, expired=200, repeat=3, pre=10, post=3, max_wait=300),
}


class Partman:
    """What differs between pg_partman 4.x and 5.x."""

    def __init__(self, db):
        self.version = db.value("SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'")
        self.major = int(self.version.split(".")[0])
        self.create_parent_args = db.value(
            "SELECT pg_get_function_identity_arguments(p.oid) FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = 'partman' AND p.proname = 'create_parent'")

    def create_parent(self, db, table, first):
        if self.major >= 5:
            db.execute(f"""SELECT partman.create_parent(p_parent_table => 'public.{table}',
                p_control => 'at', p_interval => '1 day', p_type => 'range',
                p_premake => {PREMAKE}, p_start_partition => '{first} 00:00:00+00',
                p_default_table => false)""")
        else:
            # 4.x: 'native' partitioning, named intervals, and a default partition that the
            # other two tables have not
            db.execute(f"""SELECT partman.create_parent(p_parent_table => 'public.{table}',
                p_control => 'at', p_type => 'native', p_interval => 'daily',
                p_premake => {PREMAKE}, p_start_partition => '{first} 00:00:00+00')""")
            db.execute(f"DROP TABLE {table}_default")

    def maintenance_sql(self, table):
        if self.major >= 5:
            return "CALL partman.run_maintenance_proc()"
        return f"SELECT partman.run_maintenance('public.{table}')"


def run(pg, size, out_dir):
    cfg = SIZES[size]
    res = Results(os.path.join(out_dir, "partition_drop.json"))
    log(f"partition_drop: {cfg['rows']} rows over {cfg['days']} daily partitions, {cfg['expired']} expired")
    pg.ensure_partman()
    with Cluster(pg, CONF) as cl:
        mon = Monitor(res, cl, cfg["max_wait"])
        try:
            Bench(cl, pg, res, mon, cfg).run()
        finally:
            mon.stop()
    res.set("finished_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    res.set("checks_failed", res.checks_failed)
    return res


class Bench:
    def __init__(self, cl, pg, res, mon, cfg):
        self.cl, self.pg, self.res, self.mon, self.cfg = cl, pg, res, mon, cfg
        self.rows, self.days, self.expired = cfg["rows"], cfg["days"], cfg["expired"]
        self.db = cl.connect()

    def q(self, sql, params=None):
        return self.db.value(sql, params)

    def run(self):
        db, res = self.db, self.res
        db.execute("CREATE EXTENSION retention")
        db.execute("CREATE EXTENSION pg_prewarm")
        db.execute("CREATE SCHEMA partman")
        db.execute("CREATE EXTENSION pg_partman SCHEMA partman")
        self.pm = Partman(db)
        header(res, db, self.pg, "partition_drop", self.cfg)
        res.set("rows", self.rows)
        res.set("days", self.days)
        res.set("expired_days", self.expired)
        res.set("premake", PREMAKE)
        res.set("partman_version", self.pm.version)
        res.set("partman_create_parent_args", self.pm.create_parent_args)
        res.set("partman_maintenance_call", self.pm.maintenance_sql("<parent>"))
        log(f"PostgreSQL {res.get('server_version')}, pg_partman {self.pm.version}")
        self.layout()
        self.part1()
        self.part2()
        db.close()

    # -- data -----------------------------------------------------------------------------------

    def layout(self):
        """Data days FIRST .. TODAY (UTC), partitions FIRST .. TODAY + PREMAKE; the first EXPIRED
        days are expired and the cutoff lies at noon of day STRADDLE = FIRST + EXPIRED when the
        run starts (RETAIN is fixed then, so the cutoff stays inside that day for 12 hours)."""
        days, exp = self.days, self.expired
        (self.today, self.first, self.straddle, self.last_end, self.retain) = self.db.row(f"""
            WITH d AS (SELECT (now() AT TIME ZONE 'UTC')::date AS today)
            SELECT today, today - ({days} - 1), today - ({days} - 1) + {exp}, today + {PREMAKE} + 1,
                   date_trunc('second', now() - ((today - ({days} - 1) + {exp}) + time '12:00')::timestamptz)::text
            FROM d""")
        self.parts_total = days + PREMAKE
        log(f"layout: data {self.first} .. {self.today} ({days} days), partitions up to {self.last_end} "
            f"(exclusive), {exp} expired, retain '{self.retain}' (inside {self.straddle})")
        log(f"generating {self.rows} rows")
        t = time.time()
        db = self.db
        db.execute(f"""CREATE UNLOGGED TABLE bench_src AS
            SELECT i::bigint AS id,
                   '{self.first}'::timestamptz + (i - 0.5) * (interval '1 day' * {days} / {self.rows}) AS at,
                   (i % 100)::int AS tenant,
                   left(md5(i::text) || md5((-i)::text), 60) AS payload
            FROM generate_series(1, {self.rows}) AS i""")
        db.execute("VACUUM ANALYZE bench_src")
        db.execute(f"CREATE SEQUENCE bench_ids START {self.rows + 1}")
        # the partitions of a table whose upper bound is <= a cutoff (by bounds, not names)
        db.execute("""CREATE FUNCTION bench_parts(parent regclass, cutoff timestamptz DEFAULT 'infinity')
            RETURNS TABLE (name text, lower timestamptz, upper timestamptz) LANGUAGE sql AS $$
                SELECT c.relname::text, b[1]::timestamptz, b[2]::timestamptz
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
                     LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                          'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') AS b
                WHERE i.inhparent = parent AND b[2]::timestamptz <= cutoff
                ORDER BY 2
            $$""")
        db.execute("""CREATE PROCEDURE bench_drop_each(names text[]) LANGUAGE plpgsql AS $$
            DECLARE
                n text;
            BEGIN
                FOREACH n IN ARRAY names LOOP
                    EXECUTE format('DROP TABLE %I', n);
                    COMMIT;
                END LOOP;
            END $$""")
        self.src_sum = self.content_sum("bench_src")
        self.expired_rows = self.q(f"SELECT count(*) FROM bench_src WHERE at < '{self.straddle}'::timestamptz")
        self.res.set("expired_rows", self.expired_rows)
        self.res.set("generate_s", round(time.time() - t, 3))

    def kept_check(self, label, table, cutoff):
        """Every row of bench_src at or after the run's CUTOFF is still in TABLE, unchanged (rows
        pgbench added have ids past bench_src's); a run that logged no cutoff fails the check."""
        c = self.res.check
        c(f"{label} the run logged its cutoff", True, cutoff is not None)
        if cutoff is None:
            return
        where = f"WHERE at >= '{cutoff}'::timestamptz AND id <= {self.rows}"
        c(f"{label} rows at or after the cutoff left, unchanged",
          self.content_sum(f"(SELECT * FROM bench_src {where}) s"),
          self.content_sum(f"(SELECT id, at, tenant, payload FROM {table} {where}) t"))

    def content_sum(self, table):
        return self.q(f"SELECT count(*) || ':' || sum(id) || ':' || sum(hashtext(payload)::bigint) || ':' "
                      f"|| sum(extract(epoch FROM at)::numeric) FROM {table}")

    def make_partitions(self, name):
        self.db.execute(f"""CREATE TABLE {name} (id bigint NOT NULL, at timestamptz NOT NULL, tenant int NOT NULL,
                            payload text NOT NULL) PARTITION BY RANGE (at)""")
        for (stmt,) in self.db.rows(f"""
                SELECT format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                              '{name}_p' || to_char(lo, 'YYYYMMDD'), '{name}', lo, lo + interval '1 day')
                FROM generate_series('{self.first}'::timestamptz, '{self.last_end}'::timestamptz
                                     - interval '1 microsecond', interval '1 day') AS lo"""):
            self.db.execute(stmt)

    def load_table(self, name):
        """Rows from bench_src, the index on (at), VACUUM ANALYZE, into shared_buffers."""
        db = self.db
        db.execute(f"INSERT INTO {name} SELECT * FROM bench_src ORDER BY id")
        db.execute(f"CREATE INDEX {name}_at_idx ON {name} (at)")
        db.execute(f"VACUUM ANALYZE {name}")
        db.execute(f"""SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
            WHERE c.oid IN (SELECT relid FROM pg_partition_tree('{name}') WHERE isleaf)
               OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
                            (SELECT relid FROM pg_partition_tree('{name}') WHERE isleaf))""")

    def build_daily(self, name):
        self.make_partitions(name)
        self.load_table(name)

    def build_partman(self, name):
        self.db.execute(f"""CREATE TABLE {name} (id bigint NOT NULL, at timestamptz NOT NULL, tenant int NOT NULL,
                            payload text NOT NULL) PARTITION BY RANGE (at)""")
        self.pm.create_parent(self.db, name, self.first)
        self.load_table(name)

    def drop_partman(self, name):
        self.db.execute(f"DROP TABLE {name}")
        self.db.execute(f"DELETE FROM partman.part_config WHERE parent_table = 'public.{name}'")
        self.db.execute(f"DROP TABLE IF EXISTS partman.template_public_{name}")

    def table_checks(self, name, label):
        """The partitions (count, bounds) and content equal bench_src's."""
        c = self.res.check
        c(f"{label} partitions", self.parts_total, self.q(f"SELECT count(*) FROM bench_parts('{name}')"))
        c(f"{label} partitions: whole UTC days in range", self.parts_total, self.q(f"""
            SELECT count(*) FROM bench_parts('{name}') p
            WHERE p.upper - p.lower = interval '1 day' AND p.lower = date_trunc('day', p.lower)
              AND p.lower >= '{self.first}'::timestamptz AND p.upper <= '{self.last_end}'::timestamptz"""))
        c(f"{label} default partitions", 0, self.q(
            f"SELECT count(*) FROM pg_partitioned_table WHERE partrelid = '{name}'::regclass AND partdefid <> 0"))
        c(f"{label} content equals bench_src", self.src_sum, self.content_sum(name))
        c(f"{label} expired partitions by bounds", self.expired,
          self.q(f"SELECT count(*) FROM bench_parts('{name}', now() - interval '{self.retain}')"))

    def expired_names(self, name):
        """The names of the partitions expired by their bounds (pg_partman 4 and 5 name them
        differently: _pYYYY_MM_DD, _pYYYYMMDD), checked to be the EXPIRED oldest days."""
        names = self.q(f"SELECT string_agg(name, ',' ORDER BY lower) FROM bench_parts('{name}', "
                       f"now() - interval '{self.retain}')") or ""
        self.res.check(f"{name}: expired partitions are the {self.expired} oldest days", self.expired, self.q(f"""
            SELECT count(*) FROM bench_parts('{name}', now() - interval '{self.retain}')
            WHERE lower >= '{self.first}'::timestamptz AND upper <= '{self.straddle}'::timestamptz"""))
        return names

    def left_of(self, names):
        return self.q("SELECT count(*) FROM unnest(string_to_array(%s, ',')) AS n WHERE to_regclass(n) IS NOT NULL",
                      (names,))

    def setup_retention(self, table, policy):
        self.db.execute(f"""SELECT retention.add_policy('{policy}', '{table}', 'at', '{self.retain}',
            partition_interval => '1 day', premake => {PREMAKE}, timezone => 'UTC', enabled => false)""")
        self.res.check(f"{table}: preview partitions_to_drop", self.expired,
                       self.q(f"SELECT cardinality(partitions_to_drop) FROM retention.preview('{policy}')"))

    def setup_partman(self, table):
        self.db.execute(f"""UPDATE partman.part_config SET retention = '{self.retain}', retention_keep_table = false,
            retention_keep_index = false WHERE parent_table = 'public.{table}'""")
        self.res.check(f"{table}: part_config retention", self.retain, self.q(
            f"SELECT retention::interval::text FROM partman.part_config WHERE parent_table = 'public.{table}'"))

    def retention_log(self, policy, after):
        r = self.db.row(f"""
            WITH r AS (SELECT * FROM retention.purge_log WHERE id > {after} AND policy_name = '{policy}'),
                 d AS (SELECT *, extract(epoch FROM finished_at - started_at) AS secs,
                              extract(epoch FROM started_at - lag(finished_at) OVER (ORDER BY id)) AS gap
                       FROM r WHERE kind = 'drop_partition'),
                 x AS (SELECT * FROM r WHERE kind = 'delete')
            SELECT (SELECT count(*) FROM d),
                   (SELECT count(*) FROM d WHERE status = 'ok'),
                   (SELECT coalesce(sum(rows_affected), 0) FROM d WHERE status = 'ok'),
                   (SELECT coalesce(sum(secs), 0) FROM d),
                   (SELECT coalesce(extract(epoch FROM max(finished_at) - min(started_at)), 0) FROM d),
                   (SELECT coalesce(max(secs), 0) FROM d),
                   (SELECT coalesce(avg(gap), 0) FROM d),
                   (SELECT count(*) FROM x),
                   (SELECT coalesce(sum(rows_affected), 0) FROM x),
                   (SELECT coalesce(extract(epoch FROM max(finished_at) - min(started_at)), 0) FROM x),
                   (SELECT coalesce(string_agg(DISTINCT status::text, ','), '') FROM r),
                   (SELECT min(cutoff)::text FROM r),
                   (SELECT extract(epoch FROM min(started_at)) FROM d),
                   (SELECT extract(epoch FROM min(started_at)) FROM x),
                   (SELECT replace(min(error), E'\\n', ' ') FROM r),
                   (SELECT count(*) FROM r WHERE status <> 'ok')""")
        keys = ["drop_units", "drop_units_ok", "drop_rows", "drop_units_sum_s",
                "drops_first_start_to_last_finish_s", "drop_unit_max_s", "between_drop_units_mean_s",
                "delete_units", "delete_rows", "delete_span_s", "statuses", "cutoff",
                "first_drop_start", "delete_first_start", "first_error", "units_not_ok"]
        d = dict(zip(keys, r))
        for k, v in d.items():
            if k not in ("statuses", "cutoff", "first_error") and v is not None:
                d[k] = num(v)
        return d

    def timed(self, key, label, sql):
        """CHECKPOINT, wait for a quiet machine, then SQL in its own session, timed: (wall s,
        WAL bytes, t0, t1, session messages)."""
        db = self.db
        db.execute("CHECKPOINT")
        self.mon.wait_quiet()
        lsn0 = self.q("SELECT pg_current_wal_lsn()")
        s = self.cl.connect(application_name="bench_purge")
        err = None
        with self.mon.phase(db, key, label):
            t0 = time.time()
            try:
                s.execute(sql)
            except Exception as e:  # noqa: BLE001 -- recorded, the checks fail
                err = str(e)
            t1 = time.time()
        msgs = s.messages
        s.close()
        wal = int(self.q("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", (lsn0,)))
        if err:
            self.res.problem(f"{label} failed: {err}")
        warn = [m for m in msgs if m.startswith(("WARNING", "ERROR"))]
        if warn:
            self.res.problem(f"{label}: {warn[:3]}")
        self.res.update(key, {"wall_s": round(t1 - t0, 6), "wal_bytes": wal, "error": err,
                              "messages": "\n".join(msgs)})
        say(f"   {label}: {t1 - t0:.3f} s, {wal} WAL bytes")
        return t1 - t0, wal, t0, t1

    # -- 1. drop speed ---------------------------------------------------------------------------

    def part1(self):
        rounds = []
        for r in range(1, self.cfg["repeat"] + 1):
            rounds.append(self.part1_round(r))
        med = {k: median([x.get(k) for x in rounds]) for k in rounds[0]}
        self.res.set("part1.median", med)
        self.res.set("part1.ratio_whole_run_over_drop", ratio(med["r_wall"], med["d_wall"]))
        self.res.set("part1.ratio_drops_over_drop", ratio(med["r_drop_span"], med["d_span"]))
        self.res.set("part1.ratio_whole_run_over_partman", ratio(med["r_wall"], med["m_wall"]))
        self.res.set("part1.targets.whole_run_within_1_2x_drop",
                     (ratio(med["r_wall"], med["d_wall"]) or 99) <= 1.2)
        say(f"   1. medians: retention {med['r_wall']:.3f} s (drops {med['r_drop_span']:.3f} s), "
            f"DROP TABLE {med['d_wall']:.3f} s, pg_partman {self.pm.version} {med['m_wall']:.3f} s")
        self.db.execute("CHECKPOINT")

    def part1_round(self, r):
        k = f"part1.rounds.{r - 1}"
        c = self.res.check
        n = self.cfg["repeat"]
        p = {}
        log(f"1a. round {r}/{n}: retention: building bench_ev")
        t = time.time()
        self.build_daily("bench_ev")
        self.res.set(f"{k}.build_s", round(time.time() - t, 3))
        self.table_checks("bench_ev", f"[{r}] bench_ev")
        names = self.expired_names("bench_ev")
        self.setup_retention("bench_ev", "ev")
        self.db.execute("VACUUM ANALYZE bench_ev")
        before = self.q("SELECT coalesce(max(id), 0) FROM retention.purge_log")
        wall, wal, t0, t1 = self.timed(f"{k}.retention", f"1a. [{r}] CALL retention.run('ev')",
                                       "CALL retention.run('ev')")
        lg = self.retention_log("ev", before)
        self.res.set(f"{k}.retention.purge_log", lg)
        p.update(r_wall=wall, r_wal=wal, r_drop_span=lg["drops_first_start_to_last_finish_s"],
                 r_drop_sum=lg["drop_units_sum_s"], r_drop_max=lg["drop_unit_max_s"],
                 r_del_rows=lg["delete_rows"], r_del_span=lg["delete_span_s"],
                 r_before=(lg["first_drop_start"] - t0) if lg["first_drop_start"] else None)
        c(f"1a [{r}] drop_partition units", self.expired, lg["drop_units"])
        c(f"1a [{r}] drop_partition units ok", self.expired, lg["drop_units_ok"])
        c(f"1a [{r}] purge_log statuses", "ok", lg["statuses"])
        c(f"1a [{r}] sum(rows_affected) of the drops", self.expired_rows, lg["drop_rows"])
        c(f"1a [{r}] expired partitions left", 0, self.left_of(names))
        c(f"1a [{r}] partitions left", self.parts_total - self.expired,
          self.q("SELECT count(*) FROM bench_parts('bench_ev')"))
        c(f"1a [{r}] rows below the run's cutoff left", 0,
          self.q("SELECT count(*) FROM bench_ev WHERE at < %s::timestamptz", (lg["cutoff"],)))
        c(f"1a [{r}] rows left", self.rows - self.expired_rows - lg["delete_rows"],
          self.q("SELECT count(*) FROM bench_ev"))
        self.kept_check(f"1a [{r}]", "bench_ev", lg["cutoff"])
        c(f"1a [{r}] verify_audit()", True, self.q("SELECT ok FROM retention.verify_audit()"))
        self.db.execute("SELECT retention.drop_policy('ev')")
        self.db.execute("DROP TABLE bench_ev")

        log(f"1b. round {r}/{n}: plain DROP TABLE: building bench_dt")
        self.build_daily("bench_dt")
        self.table_checks("bench_dt", f"[{r}] bench_dt")
        names = self.expired_names("bench_dt")
        self.db.execute("VACUUM ANALYZE bench_dt")
        wall, wal, t0, t1 = self.timed(f"{k}.drop", f"1b. [{r}] DROP TABLE x {self.expired}, one per transaction",
                                       f"CALL bench_drop_each(string_to_array('{names}', ','))")
        p.update(d_wall=wall, d_wal=wal)
        c(f"1b [{r}] expired partitions left", 0, self.left_of(names))
        c(f"1b [{r}] rows left", self.rows - self.expired_rows, self.q("SELECT count(*) FROM bench_dt"))
        self.db.execute("DROP TABLE bench_dt")

        log(f"1c. round {r}/{n}: pg_partman {self.pm.version}: building bench_pm")
        self.build_partman("bench_pm")
        self.table_checks("bench_pm", f"[{r}] bench_pm")
        names = self.expired_names("bench_pm")
        self.setup_partman("bench_pm")
        self.db.execute("VACUUM ANALYZE bench_pm")
        pm_before = self.q("SELECT count(*) FROM bench_parts('bench_pm')")
        wall, wal, t0, t1 = self.timed(f"{k}.partman", f"1c. [{r}] pg_partman {self.pm.version}: "
                                       + self.pm.maintenance_sql("bench_pm"), self.pm.maintenance_sql("bench_pm"))
        p.update(m_wall=wall, m_wal=wal)
        p["m_dropped"] = pm_before - self.q("SELECT count(*) FROM bench_parts('bench_pm')")
        self.res.set(f"{k}.partman.partitions_dropped", p["m_dropped"])
        c(f"1c [{r}] partitions dropped", self.expired, p["m_dropped"])
        c(f"1c [{r}] expired partitions left", 0, self.left_of(names))
        c(f"1c [{r}] rows left", self.rows - self.expired_rows, self.q("SELECT count(*) FROM bench_pm"))
        self.drop_partman("bench_pm")
        self.db.execute("VACUUM ANALYZE")
        # the server-side span of DROP TABLE is the wall time here (one CALL, no round trips)
        p["d_span"] = p["d_wall"]
        p["ratio_whole"] = ratio(p["r_wall"], p["d_wall"])
        p["ratio_pm"] = ratio(p["r_wall"], p["m_wall"])
        p["ratio_drops"] = ratio(p["r_drop_span"], p["d_wall"])
        self.res.set(f"{k}.figures", p)
        return p

    # -- 2. stalls under pgbench -----------------------------------------------------------------

    def script(self, table):
        path = os.path.join(self.cl.tmp, f"pgb_{table}.sql")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\\set tenant random(1, 100)\n\\set secs random(1, 3600)\n"
                    f"INSERT INTO {table} (id, at, tenant, payload) VALUES (nextval('bench_ids'), now(), :tenant, "
                    "'inserted by pgbench: sixty bytes of payload text, more or less');\n"
                    f"SELECT id, tenant FROM {table} WHERE at >= now() - make_interval(secs => :secs) "
                    "ORDER BY at LIMIT 10;\n")
        return path

    def stall_side(self, side, label, table, sql):
        """pgbench on TABLE; the purge starts PRE s in and pgbench is stopped (SIGINT) POST s
        after it ends, however long it took (at most PGB_MAX s)."""
        k = f"part2.{side}"
        pre, post = self.cfg["pre"], self.cfg["post"]
        script = self.script(table)
        self.db.execute(f"VACUUM ANALYZE {table}")
        self.db.execute("CHECKPOINT")
        self.mon.wait_quiet()
        args = ["-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(THREADS), "-f", script]
        w = Pgbench(self.cl, [*args, "-T", "3", "bench"], os.path.join(self.cl.tmp, f"warm_{side}"))
        if w.wait() != 0:
            self.res.problem(f"2. {label}: warm-up pgbench failed")
        prefix = os.path.join(self.cl.tmp, f"pgb_{side}")
        s = self.cl.connect(application_name="bench_purge")
        err = None
        with self.mon.phase(self.db, k, f"2. {label}"):
            p = Pgbench(self.cl, [*args, "-T", str(PGB_MAX), "-l", f"--log-prefix={prefix}.log", "bench"], prefix)
            try:
                time.sleep(pre)
                lsn0 = self.q("SELECT pg_current_wal_lsn()")
                t0 = time.time()
                try:
                    s.execute(sql)
                except Exception as e:  # noqa: BLE001
                    err = str(e)
                t1 = time.time()
                wal = int(self.q("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", (lsn0,)))
                time.sleep(post)
                stopped = p.interrupt()
                rc = p.wait(60)
            finally:
                p.kill()
        msgs = s.messages
        s.close()
        if not stopped:
            self.res.problem(f"2. {label}: pgbench ended (-T {PGB_MAX}) before the purge did")
        if err:
            self.res.problem(f"2. {label}: the purge failed: {err}")
        warn = [m for m in msgs if m.startswith(("WARNING", "ERROR"))]
        if warn:
            self.res.problem(f"2. {label}: {warn[:3]}")
        out = p.stdout()
        if "abort" in out.lower() or "error" in out.lower():
            self.res.problem(f"2. {label}: pgbench reported: {out[-300:]}")
        a = analyze(p.completions(), t0, t1)
        a.update(purge_s=round(t1 - t0, 6), purge_wal_bytes=wal, pgbench_exit=rc, purge_error=err,
                 tps_ratio_during_over_before=ratio(a.get("tps_during"), a.get("tps_before")),
                 pgbench_pre_s=pre, pgbench_post_s=post)
        self.res.update(k, a)
        if (a.get("last_completion_after_to_s") or 0) < 0.5:
            self.res.problem(f"2. {label}: the last transaction logged completed "
                             f"{a.get('last_completion_after_to_s')} s after the purge")
        say(f"   {label}: purge {t1 - t0:.3f} s; longest stretch without a commit {1000 * a['stretch_s']:.1f} ms; "
            f"TPS before {a['tps_before']}, during {a['tps_during']}; p99 before {a['p99_before_ms']} ms, "
            f"during {a['p99_during_ms']} ms")
        return a

    def part2(self):
        c = self.res.check
        log("2a. retention under pgbench: building bench_ev2")
        self.build_daily("bench_ev2")
        self.table_checks("bench_ev2", "bench_ev2")
        names = self.expired_names("bench_ev2")
        self.setup_retention("bench_ev2", "ev2")
        before = self.q("SELECT coalesce(max(id), 0) FROM retention.purge_log")
        self.stall_side("retention", "CALL retention.run('ev2')", "bench_ev2", "CALL retention.run('ev2')")
        lg = self.retention_log("ev2", before)
        self.res.set("part2.retention.purge_log", lg)
        c("2a drop_partition units ok", self.expired, lg["drop_units_ok"])
        c("2a expired partitions left", 0, self.left_of(names))
        c("2a rows below the run's cutoff left", 0,
          self.q("SELECT count(*) FROM bench_ev2 WHERE at < %s::timestamptz", (lg["cutoff"],)))
        self.kept_check("2a", "bench_ev2", lg["cutoff"])
        c("2a verify_audit()", True, self.q("SELECT ok FROM retention.verify_audit()"))
        self.db.execute("SELECT retention.drop_policy('ev2')")
        self.db.execute("DROP TABLE bench_ev2")

        log("2b. plain DROP TABLE under pgbench: building bench_dt2")
        self.build_daily("bench_dt2")
        self.table_checks("bench_dt2", "bench_dt2")
        names = self.expired_names("bench_dt2")
        self.stall_side("drop", f"DROP TABLE x {self.expired}", "bench_dt2",
                        f"CALL bench_drop_each(string_to_array('{names}', ','))")
        c("2b expired partitions left", 0, self.left_of(names))
        self.db.execute("DROP TABLE bench_dt2")

        log(f"2c. pg_partman {self.pm.version} under pgbench: building bench_pm2")
        self.build_partman("bench_pm2")
        self.table_checks("bench_pm2", "bench_pm2")
        names = self.expired_names("bench_pm2")
        self.setup_partman("bench_pm2")
        pm_before = self.q("SELECT count(*) FROM bench_parts('bench_pm2')")
        self.stall_side("partman", self.pm.maintenance_sql("bench_pm2"), "bench_pm2",
                        self.pm.maintenance_sql("bench_pm2"))
        dropped = pm_before - self.q("SELECT count(*) FROM bench_parts('bench_pm2')")
        self.res.set("part2.partman.partitions_dropped", dropped)
        c("2c partitions dropped", self.expired, dropped)
        c("2c expired partitions left", 0, self.left_of(names))
        self.drop_partman("bench_pm2")
        st = self.res.get("part2.retention.stretch_s")
        self.res.set("part2.targets.retention_stretch_lt_50ms", st is not None and st < 0.05)

"""Data-subject erasure and runs with tenant periods.

A. Erasure: 10 tables of ROWS rows each, an index on the subject column and a policy naming it;
   retention.erase_subject() of SUBJECTS different subjects (about 10 rows each per table), one
   call per transaction: milliseconds per call (median, p90, max). Target: under 100 ms.
B. Tenant periods: 2 x TENANT_ROWS rows over 2,000 tenants, an index on (tenant, trigger), half
   the rows expired at the policy's 30 days; the same run on identical copies without tenant
   periods, with 1,000 periods from a menu of 8, 1,000 all different, and 1,000 of 16-44 days:
   rows/s and its ratio to the run without periods (target >= 0.8), medians of ROUNDS.
C. Steady state: 2 x TENANT_ROWS rows over a year, a 365-day policy, 10 tenant periods, a first
   run, every row made a day older, and the timed second run (a daily run): without periods,
   with them and an index on (tenant, trigger), with them and no such index."""

import os
import time

from .common import Cluster, Results, header, log, percentile, ratio, say

SIZES = {
    "quick": dict(parts="A B", rows=100000, tenant_rows=100000, subjects=10, rounds=1),
    "default": dict(parts="A B C", rows=1000000, tenant_rows=1000000, subjects=20, rounds=3),
    "full": dict(parts="A B C", rows=1000000, tenant_rows=1000000, subjects=20, rounds=3),
}
MENU = ("SELECT retention.set_tenant_retain('tenants', t::text, (ARRAY['7 days','14 days','21 days','45 days',"
        "'60 days','90 days','180 days','365 days'])[1 + t % 8]::interval) FROM generate_series(0, 1998, 2) t")
BALANCED = ("SELECT retention.set_tenant_retain('tenants', t::text, (ARRAY['16 days','20 days','24 days','28 days',"
            "'32 days','36 days','40 days','44 days'])[1 + t % 8]::interval) FROM generate_series(0, 1998, 2) t")
DISTINCT = ("SELECT retention.set_tenant_retain('tenants', t::text, make_interval(hours => 24 * 7 + t)) "
            "FROM generate_series(0, 1998, 2) t")
TEN = ("SELECT retention.set_tenant_retain('steady', t::text, (ARRAY['7 days','14 days','30 days','60 days',"
       "'90 days','180 days','270 days','365 days'])[1 + t % 8]::interval) FROM generate_series(0, 9) t")


def run(pg, size, out_dir):
    cfg = SIZES[size]
    res = Results(os.path.join(out_dir, "subjects_tenants.json"))
    with Cluster(pg, ["retention.enabled = off", "shared_buffers = 1GB", "max_wal_size = 8GB",
                      "checkpoint_timeout = 30min", "autovacuum = off"]) as cl:
        db = cl.connect()
        db.execute("CREATE EXTENSION retention")
        header(res, db, pg, "subjects_tenants", cfg)
        for k in ("parts", "subjects", "rounds"):
            res.set(k, cfg[k])
        res.set("rows_per_table", cfg["rows"])
        parts = cfg["parts"].split()
        if "A" in parts:
            erasure(db, res, cfg)
        if "B" in parts:
            tenants(db, res, cfg)
        if "C" in parts:
            steady(db, res, cfg)
        db.close()
    res.set("checks_failed", res.checks_failed)
    return res


def timed_run(db, res, table, policy, label):
    """(rows removed, ms) of CALL retention.run(POLICY); the audit must account for them."""
    before = db.value(f"SELECT count(*) FROM {table}")
    t0 = time.time()
    db.execute(f"CALL retention.run('{policy}')")
    ms = (time.time() - t0) * 1000
    removed = before - db.value(f"SELECT count(*) FROM {table}")
    logged = db.value(f"""SELECT coalesce(sum(rows_affected), 0) FROM retention.purge_log WHERE policy_name = '{policy}'
        AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = '{policy}')""")
    res.check(f"{label}: audit rows_affected = rows removed", removed, logged)
    return removed, ms


def erasure(db, res, cfg):
    rows, n = cfg["rows"], cfg["subjects"]
    distinct = rows // 10
    log(f"A. loading 10 tables of {rows} rows")
    for t in range(10):
        db.execute(f"CREATE TABLE subj_{t} (id bigint, subject_id int NOT NULL, created_at timestamptz NOT NULL, payload text)")
        db.execute(f"""INSERT INTO subj_{t} SELECT g, (g::bigint * 7919 + {t}) % {distinct},
                       now() - (g % 365) * interval '1 day', repeat('x', 60) FROM generate_series(1, {rows}) g""")
        db.execute(f"CREATE INDEX ON subj_{t} (subject_id)")
        db.execute(f"SELECT retention.add_policy('subj_{t}', 'subj_{t}', 'created_at', '5 years', "
                   f"subject_column => 'subject_id', enabled => false)")
    db.execute("VACUUM ANALYZE")
    db.execute("CHECKPOINT")
    count = " + ".join(f"(SELECT count(*) FROM subj_{t} WHERE subject_id = %(s)s)" for t in range(10))
    log(f"A. erasing {n} subjects")
    times, erased = [], []
    total_before = sum(db.value(f"SELECT count(*) FROM subj_{t}") for t in range(10))
    for i in range(1, n + 1):
        subject = (i * 104729) % distinct
        before = db.value(f"SELECT {count}", {"s": subject})
        t0 = time.time()
        got = db.value("SELECT sum(rows_erased) FROM retention.erase_subject(%s, 'bench')", (str(subject),))
        times.append(round((time.time() - t0) * 1000, 3))
        res.check(f"A subject {subject}: rows erased = rows it had", before, got)
        res.check(f"A subject {subject}: rows left", 0, db.value(f"SELECT {count}", {"s": subject}))
        erased.append(before)
    total_after = sum(db.value(f"SELECT count(*) FROM subj_{t}") for t in range(10))
    res.check("A other subjects' rows all remain", total_before - sum(erased), total_after)
    s = sorted(times)
    e = {"median": s[(len(s) - 1) // 2], "p90": percentile(s, 90), "max": s[-1], "all": times}
    res.set("erasure_ms", e)
    res.set("erasure_rows_per_subject", sum(erased) / len(erased))
    say(f"   erase_subject: median {e['median']} ms, p90 {e['p90']} ms, max {e['max']} ms")


def tenants(db, res, cfg):
    n2 = 2 * cfg["tenant_rows"]
    log(f"B. preparing the template of {n2} rows")
    db.execute(f"""CREATE TABLE tenant_template AS
        SELECT g AS id, ((g::bigint * 7919) % 2000)::int AS tenant, now() - interval '1 hour' - (g % 60) * interval '1 day'
               - (g % 3600) * interval '1 second' AS at, repeat('y', 60) AS payload
        FROM generate_series(1, {n2}) g""")

    def case(name, overrides):
        db.execute("DROP TABLE IF EXISTS tenant_run")
        db.execute("SELECT retention.drop_policy(name) FROM retention.policies WHERE name = 'tenants'")
        db.execute("CREATE TABLE tenant_run AS SELECT * FROM tenant_template")
        db.execute("CREATE INDEX ON tenant_run (tenant, at)")
        db.execute("CREATE INDEX ON tenant_run (at)")
        db.execute("ALTER TABLE tenant_run SET (autovacuum_enabled = off)")
        db.execute("VACUUM ANALYZE tenant_run")
        db.execute("SELECT retention.add_policy('tenants', 'tenant_run', 'at', '30 days', tenant_column => 'tenant', "
                   "min_retain => '1 day', max_retain => '3 years', enabled => false)")
        if overrides:
            db.execute(overrides)
        db.execute("CHECKPOINT")
        removed, ms = timed_run(db, res, "tenant_run", "tenants", f"B {name}")
        # expired rows gone, the rows that must remain all there (a minute of slack either
        # side of each period: the run's cutoff is taken a moment after now() here)
        period = ("coalesce((SELECT tr.retain FROM _retention.tenant_retain tr JOIN _retention.policy p "
                  "ON p.id = tr.policy_id WHERE p.name = 'tenants' AND tr.tenant = r.tenant::text), "
                  "interval '30 days')")
        res.check(f"B {name}: expired rows left", 0, db.value(
            f"SELECT count(*) FROM tenant_run r WHERE r.at < now() - {period} - interval '1 minute'"))
        res.check(f"B {name}: rows that must remain", db.value(
            f"SELECT count(*) FROM tenant_template r WHERE r.at >= now() - {period} + interval '1 minute'"),
            db.value(f"SELECT count(*) FROM tenant_run r WHERE r.at >= now() - {period} + interval '1 minute'"))
        return {"rows": removed, "ms": round(ms, 1), "rows_per_s": round(removed / (ms / 1000))}

    out = {"rows": n2}
    log("B. runs")
    for name, sql in (("none", ""), ("menu", MENU), ("distinct", DISTINCT), ("balanced", BALANCED)):
        runs = [case(name, sql) for _ in range(cfg["rounds"])]
        runs.sort(key=lambda r: r["rows_per_s"])
        out[name] = runs[(len(runs) - 1) // 2]
    for name in ("menu", "distinct", "balanced"):
        out[name]["ratio"] = round(ratio(out[name]["rows_per_s"], out["none"]["rows_per_s"]), 2)
        out[name]["time_ratio"] = round(ratio(out[name]["ms"], out["none"]["ms"]), 2)
    res.set("tenants", out)
    say("   " + "; ".join(f"{k}: {v['rows']} rows in {v['ms']} ms = {v['rows_per_s']} rows/s"
                          + (f" ({v['ratio']})" if "ratio" in v else "") for k, v in out.items() if k != "rows"))


def steady(db, res, cfg):
    n2 = 2 * cfg["tenant_rows"]
    log(f"C. preparing the template of {n2} rows over a year")
    db.execute(f"""CREATE TABLE steady_template AS
        SELECT g AS id, ((g::bigint * 7919) % 2000)::int AS tenant, now() - interval '1 hour' - (g % 366) * interval '1 day'
               + interval '12 hours' - (g % 3600) * interval '1 second' AS at, repeat('y', 60) AS payload
        FROM generate_series(1, {n2}) g""")

    def case(name, index, overrides):
        db.execute("DROP TABLE IF EXISTS steady_run")
        db.execute("SELECT retention.drop_policy(name) FROM retention.policies WHERE name = 'steady'")
        db.execute("CREATE TABLE steady_run AS SELECT * FROM steady_template")
        if index:
            db.execute("CREATE INDEX ON steady_run (tenant, at)")
        db.execute("CREATE INDEX ON steady_run (at)")
        db.execute("ALTER TABLE steady_run SET (autovacuum_enabled = off)")
        db.execute("VACUUM ANALYZE steady_run")
        db.execute("SELECT retention.add_policy('steady', 'steady_run', 'at', '365 days', tenant_column => 'tenant', "
                   "min_retain => '1 day', max_retain => '3 years', enabled => false)")
        if overrides:
            db.execute(overrides)
        db.execute("CALL retention.run('steady')")
        db.execute("UPDATE steady_run SET at = at - interval '1 day'")
        db.execute("VACUUM FULL steady_run")
        db.execute("ANALYZE steady_run")
        db.execute("CHECKPOINT")
        removed, ms = timed_run(db, res, "steady_run", "steady", f"C {name}")
        return {"rows": removed, "ms": round(ms, 1)}

    out = {"rows": n2}
    log("C. runs")
    for key, index, sql in (("none", True, ""), ("tenant_index", True, TEN), ("no_tenant_index", False, TEN)):
        runs = sorted((case(key, index, sql) for _ in range(cfg["rounds"])), key=lambda r: r["ms"])
        out[key] = runs[(len(runs) - 1) // 2]
    res.check("C the same rows removed with and without the (tenant, at) index",
              out["tenant_index"]["rows"], out["no_tenant_index"]["rows"])
    res.set("steady", out)
    say("   " + "; ".join(f"{k}: {v['rows']} rows in {v['ms']} ms" for k, v in out.items() if k != "rows"))

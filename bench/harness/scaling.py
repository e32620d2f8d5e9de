"""How the cost of a purge grows with the table. For each size N, on identical copies:
1. in place: N rows, half expired (randomly interleaved, an index on the trigger):
   CALL retention.run() (batch_size 10000) vs one DELETE ... WHERE at < cutoff; seconds and WAL.
   Expected: linear in N for both. Each side on its own freshly built table, alone in the database.
2. partitions: N rows in 100 daily partitions (UTC midnight), the 50 oldest expired and the cutoff
   on a partition boundary: CALL retention.run() (partition_interval '1 day') vs DROP TABLE of the
   same 50 partitions, one per transaction. Expected: close to flat (the work is per partition)."""

import os

from .common import Cluster, Results, header, log, ratio, say

SIZES = {
    "quick": [125000, 250000, 500000, 1000000],
    "default": [1000000, 2000000, 4000000, 8000000],
    "full": [1000000, 2000000, 4000000, 8000000],
}
CONF = ["retention.enabled = off", "shared_buffers = 2GB", "max_wal_size = 16GB",
        "checkpoint_timeout = 30min", "autovacuum = off", "work_mem = 64MB"]


def timed(cl, sql):
    """(seconds, WAL bytes) of one statement, measured in its own session."""
    with cl.connect() as s:
        l0 = s.value("SELECT pg_current_wal_insert_lsn()")
        secs = s.timed(sql)
        wal = int(s.value("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (l0,)))
    return round(secs, 3), wal


def build_in_place(db, name, n):
    db.execute(f"CREATE TABLE {name} (id bigint, at timestamptz NOT NULL, payload text) WITH (autovacuum_enabled = off)")
    db.execute(f"""INSERT INTO {name} SELECT g, now() - interval '1 hour'
        - CASE WHEN hashint8(g) % 2 = 0 THEN interval '400 days' ELSE interval '0' END
        - (g % 300) * interval '1 day', repeat('p', 60) FROM generate_series(1, {n}) g""")
    db.execute(f"CREATE INDEX ON {name} (at)")
    db.execute(f"VACUUM ANALYZE {name}")
    db.execute("CHECKPOINT")


def build_partitions(db, name, n, today):
    """N rows in 100 daily partitions ending today, plus 3 empty ones ahead."""
    db.execute(f"CREATE TABLE {name} (id bigint, at timestamptz NOT NULL, payload text) PARTITION BY RANGE (at)")
    for (stmt,) in db.rows(f"""SELECT format('CREATE TABLE %I PARTITION OF {name} FOR VALUES FROM (%L) TO (%L)
                                  WITH (autovacuum_enabled = off)', '{name}_' || d,
                                  '{today}'::timestamptz - (d + 1) * interval '1 day', '{today}'::timestamptz - d * interval '1 day')
                               FROM generate_series(-3, 99) d"""):
        db.execute(stmt)
    db.execute(f"""INSERT INTO {name} SELECT g, '{today}'::timestamptz - interval '1 second' - (g % 100) * interval '1 day'
        - (g % 86000) * interval '1 second', repeat('p', 60) FROM generate_series(1, {n}) g""")
    db.execute(f"CREATE INDEX ON {name} (at)")
    db.execute(f"VACUUM ANALYZE {name}")
    db.execute("CHECKPOINT")


def run(pg, size, out_dir):
    sizes = SIZES[size]
    res = Results(os.path.join(out_dir, "scaling.json"))
    with Cluster(pg, CONF) as cl:
        db = cl.connect()
        db.execute("CREATE EXTENSION retention")
        header(res, db, pg, "scaling", {"sizes": sizes})
        db.execute("""CREATE PROCEDURE bench_drop_each(parent regclass, cutoff timestamptz) LANGUAGE plpgsql AS $$
            DECLARE
                n text;
            BEGIN
                FOR n IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
                         LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)') AS b
                         WHERE i.inhparent = parent AND b[1]::timestamptz <= cutoff ORDER BY 1 LOOP
                    EXECUTE format('DROP TABLE %I', n);
                    COMMIT;
                END LOOP;
            END $$""")
        out = []
        say("      rows | in place: retention s  DELETE s   ratio | partitions: retention s  DROP TABLE s  ratio")
        for n in sizes:
            log(f"size {n}: in place")
            c = res.check
            build_in_place(db, "s_ret", n)
            expired = db.value("SELECT count(*) FROM s_ret WHERE at < now() - interval '365 days'")
            db.execute("SELECT retention.add_policy('s_ret', 's_ret', 'at', '365 days', enabled => false)")
            r_s, r_wal = timed(cl, "CALL retention.run('s_ret')")
            c(f"{n}: s_ret expired rows left", 0, db.value("SELECT count(*) FROM s_ret WHERE at < now() - interval '365 days'"))
            logged = db.value("""SELECT sum(rows_affected) FROM retention.purge_log WHERE policy_name = 's_ret'
                AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 's_ret')""")
            c(f"{n}: s_ret audit rows_affected >= expired", True, logged >= expired)
            kept = db.value("SELECT count(*) FROM s_ret")
            c(f"{n}: s_ret rows that must remain", n - expired, kept)
            db.execute("SELECT retention.drop_policy('s_ret')")
            db.execute("DROP TABLE s_ret")
            build_in_place(db, "s_del", n)
            d_s, d_wal = timed(cl, "DELETE FROM s_del WHERE at < now() - interval '365 days'")
            c(f"{n}: s_del kept what s_ret kept", kept, db.value("SELECT count(*) FROM s_del"))
            db.execute("DROP TABLE s_del")

            log(f"size {n}: partitions")
            today = db.value("SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")
            build_partitions(db, "p_ret", n, today)
            # the cutoff of a 50-day policy falls on the boundary of the 50th partition: grace
            # moves it back from now to today's midnight
            grace = db.value("SELECT floor(extract(epoch FROM now() - %s::timestamptz))::int", (today,))
            db.execute(f"""SELECT retention.add_policy('p_ret', 'p_ret', 'at', '50 days', grace => make_interval(secs => {grace}),
                partition_interval => '1 day', premake => 1, timezone => 'UTC', enabled => false)""")
            p_rows = db.value("SELECT count(*) FROM p_ret WHERE at < %s::timestamptz - interval '50 days'", (today,))
            p_kept_expected = n - p_rows
            pr_s, pr_wal = timed(cl, "CALL retention.run('p_ret')")
            dropped, drops_s = db.row("""SELECT count(*), round(sum(extract(epoch FROM finished_at - started_at))::numeric, 3)
                FROM retention.purge_log WHERE policy_name = 'p_ret' AND kind = 'drop_partition'
                AND run_id = (SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'p_ret')""")
            c(f"{n}: p_ret partitions dropped", 50, dropped)
            c(f"{n}: p_ret expired rows left", 0,
              db.value("SELECT count(*) FROM p_ret WHERE at < %s::timestamptz - interval '50 days'", (today,)))
            p_kept = db.value("SELECT count(*) FROM p_ret")
            c(f"{n}: p_ret rows that must remain", p_kept_expected, p_kept)
            db.execute("SELECT retention.drop_policy('p_ret')")
            db.execute("DROP TABLE p_ret")
            build_partitions(db, "p_drop", n, today)
            pd_s, pd_wal = timed(cl, f"CALL bench_drop_each('p_drop', '{today}'::timestamptz - interval '50 days')")
            c(f"{n}: p_drop kept what p_ret kept", p_kept, db.value("SELECT count(*) FROM p_drop"))
            db.execute("DROP TABLE p_drop")
            say(f"{n:10d} | {r_s:21} {d_s:9} {ratio(r_s, d_s) or 0:7.2f} | {pr_s:23} {pd_s:13} {ratio(pr_s, pd_s) or 0:6.2f}")
            out.append({"rows": n, "expired": expired,
                        "in_place": {"retention_s": r_s, "retention_wal": r_wal, "delete_s": d_s, "delete_wal": d_wal},
                        "partitions": {"rows_dropped": p_rows, "partitions_dropped": dropped, "retention_s": pr_s,
                                       "retention_drops_s": float(drops_s or 0), "retention_wal": pr_wal,
                                       "drop_table_s": pd_s, "drop_table_wal": pd_wal}})
            res.set("sizes", out)
        db.close()
    res.set("checks_failed", res.checks_failed)
    return res

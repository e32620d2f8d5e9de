"""What one cycle of the background worker costs with 1,000 policies: (a) none due, the worker
only checks (target: under 50 ms of CPU per cycle); (b) all due, on empty tables, every policy
runs and writes its audit row. CPU is read from /proc/<pid>/stat of the database's worker."""

import os
import time

from .common import HZ, Cluster, Results, header, log, say

POLICIES = {"quick": 1000, "default": 1000, "full": 1000}
IDLE_SECS = 30


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) * 1000 / HZ


def run(pg, size, out_dir):
    n = POLICIES[size]
    res = Results(os.path.join(out_dir, "worker_cycle.json"))
    with Cluster(pg, ["retention.naptime = 1", "retention.enabled = off", "shared_buffers = 1GB"]) as cl:
        db = cl.connect()
        db.execute("CREATE EXTENSION retention")
        header(res, db, pg, "worker_cycle", {"policies": n})
        log(f"creating {n} tables with a policy each")
        db.execute(f"""DO $$ BEGIN FOR i IN 1..{n} LOOP
            EXECUTE format('CREATE TABLE t%s (id int, created_at timestamptz)', i);
            EXECUTE format('CREATE INDEX ON t%s (created_at)', i);
            PERFORM retention.add_policy('p' || i, format('t%s', i)::regclass, 'created_at', '30 days',
                                         run_every => '1 day');
        END LOOP; END $$""")
        db.execute("CALL retention.run()")  # every policy has run once: none is due for a day
        cl.reload_with("retention.enabled = off", "retention.enabled = on")
        pid = None
        for _ in range(100):
            pid = db.value("SELECT pid FROM pg_stat_activity WHERE backend_type = 'retention worker' "
                           "AND datname = 'bench'")
            if pid:
                break
            time.sleep(0.2)
        if not pid:
            res.problem("no worker started")
            raise RuntimeError("no retention worker started")
        time.sleep(3)

        log(f"(a) {n} policies, none due: {IDLE_SECS} cycles at naptime 1 s")
        c0 = cpu_ms(pid)
        time.sleep(IDLE_SECS)
        idle = (cpu_ms(pid) - c0) / IDLE_SECS
        runs_idle = db.value("SELECT count(*) FROM retention.purge_log WHERE invoked_by = 'worker'")
        res.check("(a) no run started while none was due", 0, runs_idle)

        log(f"(b) {n} policies, all due, tables empty")
        c0 = cpu_ms(pid)
        db.execute("UPDATE _retention.policy_state SET next_run_at = now() - interval '1 second'")
        done = 0
        for _ in range(600):
            done = db.value("SELECT count(DISTINCT run_id) FROM retention.purge_log WHERE invoked_by = 'worker'")
            if done >= n:
                break
            time.sleep(0.5)
        due_cpu = cpu_ms(pid) - c0
        due_wall = float(db.value("SELECT extract(epoch FROM max(finished_at) - min(started_at)) "
                                  "FROM retention.purge_log WHERE invoked_by = 'worker'") or 0)
        res.check("(b) every policy ran once", n, done)
        res.check("(b) every worker run ok", 0, db.value(
            "SELECT count(*) FROM retention.purge_log WHERE invoked_by = 'worker' AND status <> 'ok'"))
        res.check("(b) verify_audit()", True, db.value("SELECT ok FROM retention.verify_audit()"))
        for k, v in {"policies": n, "idle_cycle_cpu_ms": round(idle, 2), "due_runs": done,
                     "due_cycle_wall_s": round(due_wall, 3), "due_cycle_cpu_ms": round(due_cpu)}.items():
            res.set(k, v)
        say(f"   (a) none due: worker CPU per cycle {idle:.2f} ms; (b) all due: {done} runs, "
            f"wall {due_wall:.3f} s, CPU {due_cpu:.0f} ms")
        db.close()
    res.set("checks_failed", res.checks_failed)
    return res

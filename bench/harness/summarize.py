#!/usr/bin/env python3
"""The summaries of a run. summarize_dir(DIR): the JSON results of one PostgreSQL major in DIR
gathered into summary.json, summary.md (markdown tables: each measure side by side with the
alternatives, as ratios, and the targets of the earlier issues with this run's figures) and
chart.gp + chart-*.dat (gnuplot input for chart.png); parts whose JSON is missing are left out.
side_by_side(SIZE_DIR, MAJORS): summary.md of the run, the main ratios of every major in one
table. Standard library only."""

import json
import os


def load(directory, name):
    path = os.path.join(directory, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def get(obj, *keys):
    """obj[k1][k2]...; None when any step is missing."""
    for k in keys:
        if obj is None:
            return None
        if isinstance(obj, list):
            obj = obj[k] if isinstance(k, int) and -len(obj) <= k < len(obj) else None
        else:
            obj = obj.get(k)
    return obj


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, digits=2, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}{unit}"
    return f"{v:,.{digits}f}{unit}"


def verdict(ok):
    if ok is None:
        return "not measured"
    return "met" if ok else "**missed**"


def summarize_dir(directory):
    run = load(directory, "run") or {}
    pd = load(directory, "purge_delete")
    pt = load(directory, "partition_drop")
    wc = load(directory, "worker_cycle")
    st = load(directory, "subjects_tenants")
    sc = load(directory, "scaling")
    if sc and not sc.get("sizes"):
        sc = None  # a run that failed before its first size

    md = []
    summary = {"run": run}
    bars = []  # (label, value): retention relative to the alternative, higher is better
    load_rows = []  # (label, tps ratio, p99 ratio)
    targets = []  # (measure, target, today, ok)

    machine = run.get("machine", {})
    md.append(f"# retention benchmarks: size `{run.get('size', os.path.basename(directory))}`")
    md.append("")
    md.append(f"- command: `{run.get('command', 'bash bench/run.sh')}` (commit {run.get('git_commit', '?')})")
    md.append(f"- date: {run.get('started_at', '?')} to {run.get('finished_at', '?')}")
    md.append(
        f"- machine: {machine.get('cpus', '?')} cores ({machine.get('cpu_model', '?')}), "
        f"{machine.get('mem_gib', '?')} GiB, {machine.get('os', '?')}, kernel {machine.get('kernel', '?')}"
    )
    server = get(pd, "server_version") or get(pt, "server_version")
    if server:
        md.append(f"- PostgreSQL {server}; each part ran on its own throwaway cluster, settings in its .txt report")
    if run.get("durations_s"):
        md.append(
            "- minutes per part: "
            + ", ".join(f"{k} {v / 60:.1f}" for k, v in run["durations_s"].items())
            + f" (total {sum(run['durations_s'].values()) / 60:.1f})"
        )
    if run.get("failed"):
        md.append(f"- **failed parts: {', '.join(run['failed'])}**")
    md.append("")

    # 1. in place ------------------------------------------------------------------------------
    if pd:
        a = pd.get("a", {})
        r, d, b = a.get("retention", {}), a.get("delete", {}), a.get("batched_reference", {})
        rl = get(a, "retention_longest_xact_s")
        one = {
            "rows": pd.get("rows_total"),
            "retention": r, "delete": d, "batched": b,
            "ratio_rows_per_s_vs_delete": ratio(r.get("rows_per_s"), d.get("rows_per_s")),
            "ratio_rows_per_s_vs_batched": ratio(r.get("rows_per_s"), b.get("rows_per_s")),
        }
        summary["in_place"] = one
        md.append(f"## 1. In-place purge: {fmt(pd.get('rows_total'))} rows, half expired, interleaved")
        md.append("")
        md.append("| | `CALL retention.run()` | one `DELETE ... WHERE` | batched DELETE loop (PL/pgSQL, COMMIT each) |")
        md.append("|---|---:|---:|---:|")
        md.append(f"| seconds | {fmt(r.get('wall_s'), 3)} | {fmt(d.get('wall_s'), 3)} | {fmt(b.get('wall_s'), 3)} |")
        md.append(f"| rows/s | {fmt(r.get('rows_per_s'), 0)} | {fmt(d.get('rows_per_s'), 0)} | {fmt(b.get('rows_per_s'), 0)} |")
        md.append(
            f"| retention's rows/s ÷ this | 1 | {fmt(one['ratio_rows_per_s_vs_delete'])} | {fmt(one['ratio_rows_per_s_vs_batched'])} |"
        )
        md.append(
            f"| WAL bytes per row | {fmt(r.get('wal_bytes_per_row'), 1)} | {fmt(d.get('wal_bytes_per_row'), 1)} | "
            f"{fmt(b.get('wal_bytes_per_row') or ratio(b.get('wal_bytes'), b.get('rows_removed')), 1)} |"
        )
        md.append(
            f"| longest transaction, s | {fmt(rl, 3)} | {fmt(d.get('longest_xact_s'), 3)} | "
            f"{fmt(ratio(b.get('wall_s'), b.get('batches')), 3)} (mean) |"
        )
        md.append(
            f"| dead tuples left for VACUUM | {fmt(r.get('dead_tuples_left'))} | {fmt(d.get('dead_tuples_left'))} | "
            f"{fmt(b.get('dead_tuples_left'))} |"
        )
        md.append("")
        bars.append(("in place: rows/s vs one DELETE", one["ratio_rows_per_s_vs_delete"]))
        bars.append(("in place: rows/s vs batched loop", one["ratio_rows_per_s_vs_batched"]))
        q = one["ratio_rows_per_s_vs_delete"]
        targets.append(("in-place rows/s, retention ÷ one DELETE", "≥ 0.8", fmt(q), None if q is None else q >= 0.8))
        targets.append(("longest purge transaction", "< 1 s", fmt(rl, 3, " s"), None if rl is None else rl < 1))

    # 2. partitions ----------------------------------------------------------------------------
    if pt:
        m = get(pt, "part1", "median") or {}
        two = {
            "rows": pt.get("rows"), "days": pt.get("days"), "expired_days": pt.get("expired_days"),
            "retention_s": m.get("r_wall"), "retention_drops_s": m.get("r_drop_span"),
            "drop_table_s": m.get("d_wall"), "partman_s": m.get("m_wall"),
            "retention_wal": m.get("r_wal"), "drop_table_wal": m.get("d_wal"), "partman_wal": m.get("m_wal"),
        }
        summary["partitions"] = two
        md.append(
            f"## 2. Partition purge: {fmt(pt.get('rows'))} rows in {pt.get('days')} daily partitions, "
            f"{pt.get('expired_days')} expired"
        )
        md.append("")
        md.append(f"| | `CALL retention.run()` | `DROP TABLE`, one per transaction | pg_partman {pt.get('partman_version', '?')} "
                  f"`{pt.get('partman_maintenance_call', 'run_maintenance()')}` |")
        md.append("|---|---:|---:|---:|")
        md.append(f"| seconds | {fmt(m.get('r_wall'), 3)} | {fmt(m.get('d_wall'), 3)} | {fmt(m.get('m_wall'), 3)} |")
        md.append(
            f"| retention's seconds ÷ this | 1 | {fmt(ratio(m.get('r_wall'), m.get('d_wall')))} | "
            f"{fmt(ratio(m.get('r_wall'), m.get('m_wall')))} |"
        )
        md.append(f"| WAL bytes | {fmt(m.get('r_wal'))} | {fmt(m.get('d_wal'))} | {fmt(m.get('m_wal'))} |")
        md.append("")
        md.append(
            f"(retention's run also deletes the expired rows of the partition straddling the cutoff: "
            f"{fmt(m.get('r_del_rows'))} rows; its drops alone took {fmt(m.get('r_drop_span'), 3)} s.)"
        )
        md.append("")
        bars.append(("partitions: speed vs DROP TABLE", ratio(m.get("d_wall"), m.get("r_wall"))))
        bars.append(("partitions: speed vs pg_partman", ratio(m.get("m_wall"), m.get("r_wall"))))
        q = ratio(m.get("r_wall"), m.get("d_wall"))
        targets.append(("partition purge, retention ÷ DROP TABLE (seconds)", "≤ 1.2", fmt(q), None if q is None else q <= 1.2))

    # 3. under load ----------------------------------------------------------------------------
    if pd or pt:
        md.append("## 3. A pgbench insert/select workload during the purges")
        md.append("")
        md.append("| purge | TPS during ÷ TPS alone | p99 latency during, ms (÷ alone) | longest stretch without a commit, s |")
        md.append("|---|---:|---:|---:|")
        rows3 = []
        if pd:
            b = pd.get("b", {})
            md.append(
                f"| none (pgbench alone, {get(b, 'pgbench_clients')} clients) | 1 | {fmt(b.get('p99_alone_ms'))} | "
                f"{fmt(b.get('longest_stretch_without_commit_alone_s'), 3)} |"
            )
            for run_ in b.get("runs", []):
                if run_.get("max_rows_per_second") is None:
                    continue
                rate = run_["max_rows_per_second"]
                label = "in place, unthrottled" if rate == 0 else f"in place, max_rows_per_second {rate:,}"
                t = run_.get("tps_ratio_to_alone")
                p = run_.get("p99_ratio_to_alone")
                rows3.append({"purge": label, "tps_ratio": t, "p99_ms": run_.get("p99_ms"), "p99_ratio": p,
                              "stretch_s": run_.get("longest_stretch_without_commit_s"),
                              "rows_per_s": run_.get("rows_per_s")})
                md.append(
                    f"| {label} ({fmt(run_.get('rows_per_s'), 0)} rows/s) | {fmt(t)} | {fmt(run_.get('p99_ms'))} ({fmt(p)}) | "
                    f"{fmt(run_.get('longest_stretch_without_commit_s'), 3)} |"
                )
                load_rows.append((label.replace("max_rows_per_second ", "").replace("unthrottled", "no throttle")
                                  .replace(", ", ": ") + ("/s" if rate else ""), t, p))
            best = b.get("highest_rate_keeping_90pct_tps")
            if best is not None:
                targets.append(("highest max_rows_per_second keeping TPS ≥ 0.9× the same pgbench run's before "
                                "the purge (in place)", "reported", str(best), None))
            best = b.get("highest_rate_keeping_90pct_tps_vs_standalone_alone")
            if best is not None:
                targets.append(("highest max_rows_per_second keeping TPS ≥ 0.9× pgbench alone (in place)",
                                "reported", str(best), None))
        if pt:
            p2 = pt.get("part2", {})
            for side, label in (("retention", "partitions, retention"), ("drop", "partitions, DROP TABLE"),
                                ("partman", "partitions, pg_partman")):
                s = p2.get(side)
                if not s:
                    continue
                t = s.get("tps_ratio_during_over_before")
                p = ratio(s.get("p99_during_ms"), s.get("p99_before_ms"))
                rows3.append({"purge": label, "tps_ratio": t, "p99_ms": s.get("p99_during_ms"), "p99_ratio": p,
                              "stretch_s": s.get("stretch_s"), "purge_s": s.get("purge_s")})
                md.append(
                    f"| {label} ({fmt(s.get('purge_s'), 2)} s) | {fmt(t)} (÷ before) | {fmt(s.get('p99_during_ms'))} ({fmt(p)}) | "
                    f"{fmt(s.get('stretch_s'), 3)} |"
                )
                load_rows.append((label.replace(", ", ": "), t, p))
            s = p2.get("retention") or {}
            st_ = s.get("stretch_s")
            targets.append(("longest stall under pgbench, partition purge", "< 50 ms", fmt(None if st_ is None else st_ * 1000, 1, " ms"),
                            None if st_ is None else st_ < 0.05))
        summary["under_load"] = rows3
        md.append("")
        md.append(
            "(in place: pgbench alone for the same window before the purges; partitions: TPS and p99 of the same pgbench run "
            "before the purge started. A stretch is the longest time in which no client completed a transaction.)"
        )
        md.append("")

    # 4. worker --------------------------------------------------------------------------------
    if wc:
        summary["worker_cycle"] = wc
        md.append(f"## 4. The worker's cycle with {fmt(wc.get('policies'))} policies")
        md.append("")
        md.append("| | figure |")
        md.append("|---|---:|")
        md.append(f"| none due: worker CPU per cycle | {fmt(wc.get('idle_cycle_cpu_ms'))} ms |")
        md.append(
            f"| all due: {fmt(wc.get('due_runs'))} runs in one cycle | {fmt(wc.get('due_cycle_wall_s'), 3)} s wall, "
            f"{fmt(wc.get('due_cycle_cpu_ms'))} ms CPU ({fmt(ratio(wc.get('due_cycle_cpu_ms'), wc.get('policies')))} ms per policy) |"
        )
        md.append("")
        q = wc.get("idle_cycle_cpu_ms")
        targets.append(("worker CPU per idle cycle, 1,000 policies", "< 50 ms", fmt(q, 2, " ms"), None if q is None else q < 50))

    # 5. erasure (and tenant periods when run) -------------------------------------------------
    if st:
        e = st.get("erasure_ms", {})
        summary["subjects_tenants"] = st
        if e.get("median") is not None:
            md.append(f"## 5. Erasure of one subject across 10 tables of {fmt(st.get('rows_per_table'))} rows")
            md.append("")
            md.append(f"`retention.erase_subject()`, {st.get('subjects')} subjects: median {fmt(e.get('median'))} ms, "
                      f"p90 {fmt(e.get('p90'))} ms, max {fmt(e.get('max'))} ms.")
            md.append("")
            targets.append(("erasure across 10 tables of 1,000,000 rows (max)", "< 100 ms", fmt(e.get("max"), 2, " ms"),
                            e["max"] < 100))
        t = st.get("tenants", {})
        if get(t, "none", "rows_per_s") is not None:
            md.append(f"Tenant periods, one run over {fmt(t.get('rows'))} rows (median of {st.get('rounds')} rounds):")
            md.append("")
            md.append("| case | rows removed | ms | rows/s | ÷ no periods |")
            md.append("|---|---:|---:|---:|---:|")
            for k, label in (("none", "no tenant periods"), ("menu", "1,000 periods from a menu of 8"),
                             ("distinct", "1,000 periods, all different"), ("balanced", "1,000 periods of 16-44 days")):
                c = t.get(k, {})
                md.append(f"| {label} | {fmt(c.get('rows'))} | {fmt(c.get('ms'), 1)} | {fmt(c.get('rows_per_s'), 0)} | "
                          f"{fmt(c.get('ratio', 1.0) if k != 'none' else 1.0)} |")
                if k != "none":
                    q = c.get("ratio")
                    targets.append((f"tenant periods rows/s ÷ none: {label}", "≥ 0.8", fmt(q), None if q is None else q >= 0.8))
            md.append("")

        c = st.get("steady", {})
        if get(c, "none", "ms") is not None:
            md.append(f"A daily run over {fmt(c.get('rows'))} rows spread over a year (365-day policy, 10 tenant periods "
                      f"of 7 days to a year; median of {st.get('rounds')} rounds):")
            md.append("")
            md.append("| case | rows removed | ms | ÷ no periods |")
            md.append("|---|---:|---:|---:|")
            for k, label in (("none", "no tenant periods"), ("tenant_index", "10 periods, index on (tenant, trigger)"),
                             ("no_tenant_index", "10 periods, no such index")):
                x = c.get(k, {})
                md.append(f"| {label} | {fmt(x.get('rows'))} | {fmt(x.get('ms'), 1)} | "
                          f"{fmt(ratio(x.get('ms'), get(c, 'none', 'ms')))} |")
            md.append("")

    # 6. scaling -------------------------------------------------------------------------------
    if sc:
        sizes = sc.get("sizes", [])
        summary["scaling"] = sizes
        md.append("## 6. How the cost grows with the table")
        md.append("")
        md.append("| rows | in place: retention s | one DELETE s | ratio | partitions: retention s | DROP TABLE s | ratio |")
        md.append("|---:|---:|---:|---:|---:|---:|---:|")
        for s in sizes:
            i, p = s.get("in_place", {}), s.get("partitions", {})
            md.append(
                f"| {fmt(s.get('rows'))} | {fmt(i.get('retention_s'), 3)} | {fmt(i.get('delete_s'), 3)} | "
                f"{fmt(ratio(i.get('retention_s'), i.get('delete_s')))} | {fmt(p.get('retention_s'), 3)} | "
                f"{fmt(p.get('drop_table_s'), 3)} | {fmt(ratio(p.get('retention_s'), p.get('drop_table_s')))} |"
            )
        if len(sizes) >= 2:
            first, last = sizes[0], sizes[-1]
            growth = ratio(last["rows"], first["rows"])

            def grow(part, key):
                return ratio(get(last, part, key), get(first, part, key))

            md.append("")
            md.append(
                f"From {fmt(first['rows'])} to {fmt(last['rows'])} rows ({fmt(growth, 0)}×): in place, retention "
                f"{fmt(grow('in_place', 'retention_s'))}×, DELETE {fmt(grow('in_place', 'delete_s'))}× (linear would be "
                f"{fmt(growth, 0)}×); partitions (the same 50 of 100 partitions dropped, 1/2 of the rows), retention "
                f"{fmt(grow('partitions', 'retention_s'))}×, DROP TABLE {fmt(grow('partitions', 'drop_table_s'))}× (flat would be 1×)."
            )
        md.append("")
        with open(os.path.join(directory, "chart-scaling.dat"), "w", encoding="utf-8") as f:
            f.write("# million_rows retention_in_place delete retention_partitions drop_table\n")
            for s in sizes:
                i, p = s.get("in_place", {}), s.get("partitions", {})
                f.write(f"{s['rows'] / 1e6:g} {i.get('retention_s')} {i.get('delete_s')} "
                        f"{p.get('retention_s')} {p.get('drop_table_s')}\n")

    # targets ----------------------------------------------------------------------------------
    if targets:
        md.append("## Targets")
        md.append("")
        md.append("| measure | target | this run | |")
        md.append("|---|---|---:|---|")
        for measure, target, today, ok in targets:
            md.append(f"| {measure} | {target} | {today} | {verdict(ok) if target != 'reported' else ''} |")
        md.append("")
    summary["targets"] = [{"measure": m, "target": t, "value": v, "met": ok} for m, t, v, ok in targets]

    with open(os.path.join(directory, "summary.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    with open(os.path.join(directory, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")

    # chart ------------------------------------------------------------------------------------
    with open(os.path.join(directory, "chart-ratios.dat"), "w", encoding="utf-8") as f:
        for label, v in bars:
            f.write(f"\"{label}\" {v if v is not None else 'NaN'}\n")
    with open(os.path.join(directory, "chart-load.dat"), "w", encoding="utf-8") as f:
        for label, t, p in load_rows:
            f.write(f"\"{label}\" {t if t is not None else 'NaN'} {p if p is not None else 'NaN'}\n")
    title = (f"retention benchmarks ({run.get('size', '?')}), {run.get('started_at', '?')[:10]}, "
             f"{machine.get('cpus', '?')} cores, PostgreSQL {str(server).split(' ')[0] if server else '?'}")
    panels = sum(1 for x in (sc, bars, load_rows) if x)
    gp = [
        f"set terminal pngcairo size {max(1, panels) * 600},640 font 'sans,10'",
        "set output 'chart.png'",
        f"set multiplot layout 1,{max(1, panels)} title \"{title}\"",
        "set grid ytics", "set bmargin 10", "set termoption noenhanced",
        "set key top left",
    ]
    if sc:
        gp += [
            "set title 'purge time vs table size'",
            "set xlabel 'million rows'", "set ylabel 'seconds'",
            "set xtics (" + ", ".join(f"{s['rows'] / 1e6:g}" for s in sc["sizes"]) + ")",
            "set logscale x 2", "set yrange [0:*]",
            f"set xrange [{min(s['rows'] for s in sc['sizes']) / 1e6 / 1.3:g}:{max(s['rows'] for s in sc['sizes']) / 1e6 * 1.3:g}]",
            "plot 'chart-scaling.dat' using 1:2 with linespoints lw 2 title 'in place: retention', "
            "'' using 1:3 with linespoints lw 2 title 'in place: one DELETE', "
            "'' using 1:4 with linespoints lw 2 title 'partitions: retention', "
            "'' using 1:5 with linespoints lw 2 title 'partitions: DROP TABLE'",
            "unset logscale x", "unset xlabel", "set xtics auto", "set autoscale x",
        ]
    if bars:
        gp += [
            "set title 'retention relative to the alternative (higher is better)'",
            "set ylabel 'ratio'", "set style fill solid 0.6", "set boxwidth 0.6",
            f"set yrange [0:{max([1.2] + [v * 1.15 for _, v in bars if v is not None]):.2f}]",
            "set xtics rotate by -40 left", "set key off",
            "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2",
            "plot 'chart-ratios.dat' using 0:2:xtic(1) with boxes lc rgb '#3070b0'",
            "unset arrow 1",
        ]
    if load_rows:
        gp += [
            "set title 'pgbench during the purge: TPS and p99 relative to without'",
            "set ylabel 'ratio'", "set style data histograms", "set style histogram clustered gap 1",
            "set style fill solid 0.6", "set yrange [0:*]", "set logscale y", "set yrange [0.01:*]",
            "set xtics rotate by -40 left", "set key top left",
            "set arrow 2 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2",
            "plot 'chart-load.dat' using 2:xtic(1) title 'TPS ratio', '' using 3 title 'p99 latency ratio'",
        ]
    gp.append("unset multiplot")
    with open(os.path.join(directory, "chart.gp"), "w", encoding="utf-8") as f:
        f.write("\n".join(gp) + "\n")



    return summary


def _key_rows(d):
    """(measure, formatted figure) of one major's results directory, for side_by_side."""
    pd = load(d, "purge_delete")
    pt = load(d, "partition_drop")
    wc = load(d, "worker_cycle")
    st = load(d, "subjects_tenants")
    sc = load(d, "scaling")
    rows = {}
    server = get(pd, "server_version") or get(pt, "server_version") or get(wc, "server_version")
    rows["PostgreSQL"] = server.split(" ")[0] if server else "n/a"
    if pd:
        a = pd.get("a", {})
        r, dl, b = a.get("retention", {}), a.get("delete", {}), a.get("batched_reference", {})
        rows["in place: rows/s, retention ÷ one DELETE; ÷ batched loop"] = (
            f"{fmt(ratio(r.get('rows_per_s'), dl.get('rows_per_s')))}; {fmt(ratio(r.get('rows_per_s'), b.get('rows_per_s')))}")
        rows["in place: rows/s retention / DELETE / batched"] = (
            f"{fmt(r.get('rows_per_s'), 0)} / {fmt(dl.get('rows_per_s'), 0)} / {fmt(b.get('rows_per_s'), 0)}")
        rows["in place: WAL bytes per row, retention / DELETE"] = (
            f"{fmt(r.get('wal_bytes_per_row'), 1)} / {fmt(dl.get('wal_bytes_per_row'), 1)}")
        rows["in place: longest transaction s, retention / DELETE"] = (
            f"{fmt(a.get('retention_longest_xact_s'), 3)} / {fmt(dl.get('longest_xact_s'), 3)}")
        rows["in place: dead tuples left, retention / DELETE"] = (
            f"{fmt(r.get('dead_tuples_left'))} / {fmt(dl.get('dead_tuples_left'))}")
        bb = pd.get("b", {})
        tps, p99 = [], []
        for x in bb.get("runs", []):
            if x.get("max_rows_per_second") is None:
                continue
            lab = "unthrottled" if x["max_rows_per_second"] == 0 else f"{x['max_rows_per_second']:,}/s"
            tps.append(f"{lab} {fmt(x.get('tps_ratio_to_alone'))}")
            p99.append(f"{lab} {fmt(x.get('p99_ratio_to_alone'))}")
        rows["pgbench TPS during the in-place purge ÷ alone"] = ", ".join(tps)
        rows[f"pgbench p99 during the in-place purge ÷ alone"] = ", ".join(p99) + f" (alone {fmt(bb.get('p99_alone_ms'))} ms)"
    if pt:
        m = get(pt, "part1", "median") or {}
        rows["partition purge: partman version, call"] = f"{pt.get('partman_version')}: `{pt.get('partman_maintenance_call')}`"
        rows["partition purge s: retention (drops alone) / DROP TABLE / pg_partman"] = (
            f"{fmt(m.get('r_wall'), 3)} ({fmt(m.get('r_drop_span'), 3)}) / {fmt(m.get('d_wall'), 3)} / {fmt(m.get('m_wall'), 3)}")
        rows["partition purge: retention ÷ DROP TABLE; ÷ pg_partman"] = (
            f"{fmt(ratio(m.get('r_wall'), m.get('d_wall')))}; {fmt(ratio(m.get('r_wall'), m.get('m_wall')))}")
        p2 = pt.get("part2", {})
        for side, lab in (("retention", "retention"), ("drop", "DROP TABLE"), ("partman", "pg_partman")):
            s = p2.get(side) or {}
            st_ = s.get("stretch_s")
            rows[f"pgbench during partition purge, {lab}: TPS ÷ before, p99 ÷ before, longest stretch"] = (
                f"{fmt(s.get('tps_ratio_during_over_before'))}, {fmt(ratio(s.get('p99_during_ms'), s.get('p99_before_ms')))}, "
                f"{fmt(None if st_ is None else st_ * 1000, 1, ' ms')}")
    if wc:
        rows["worker, 1,000 policies: CPU per idle cycle; all due wall, CPU"] = (
            f"{fmt(wc.get('idle_cycle_cpu_ms'))} ms; {fmt(wc.get('due_cycle_wall_s'), 2)} s, {fmt(wc.get('due_cycle_cpu_ms'), 0)} ms")
    if st:
        e = st.get("erasure_ms", {})
        if e.get("median") is not None:
            rows["erasure of one subject across 10 tables: median, max"] = f"{fmt(e.get('median'))} ms, {fmt(e.get('max'))} ms"
        t = st.get("tenants", {})
        if get(t, "none", "rows_per_s") is not None:
            rows["1,000 tenant periods, rows/s ÷ none: menu, all different, 16–44 days"] = ", ".join(
                fmt(get(t, k, "ratio")) for k in ("menu", "distinct", "balanced"))
        c = st.get("steady", {})
        if get(c, "none", "ms") is not None:
            rows["daily run, 10 tenant periods, time ÷ none: with (tenant, at) index; without"] = (
                f"{fmt(ratio(get(c, 'tenant_index', 'ms'), get(c, 'none', 'ms')))}; "
                f"{fmt(ratio(get(c, 'no_tenant_index', 'ms'), get(c, 'none', 'ms')))}")
    if sc and len(sc.get("sizes", [])) >= 2:
        f_, l_ = sc["sizes"][0], sc["sizes"][-1]
        g = ratio(l_["rows"], f_["rows"])
        rows[f"growth from {fmt(f_['rows'])} to {fmt(l_['rows'])} rows ({fmt(g, 0)}×): in place retention, DELETE"] = (
            f"{fmt(ratio(get(l_, 'in_place', 'retention_s'), get(f_, 'in_place', 'retention_s')))}×, "
            f"{fmt(ratio(get(l_, 'in_place', 'delete_s'), get(f_, 'in_place', 'delete_s')))}×")
        rows["growth: partitions retention, DROP TABLE"] = (
            f"{fmt(ratio(get(l_, 'partitions', 'retention_s'), get(f_, 'partitions', 'retention_s')))}×, "
            f"{fmt(ratio(get(l_, 'partitions', 'drop_table_s'), get(f_, 'partitions', 'drop_table_s')))}×")
    checks = sum((x or {}).get("checks_failed", 0) or 0 for x in (pd, pt, wc, st, sc))
    rows["correctness checks failed"] = str(checks)
    return rows


def side_by_side(size_dir, majors):
    """SIZE_DIR/summary.md: the main figures of every major (SIZE_DIR/pgNN) in one table."""
    run = load(size_dir, "run") or {}
    per = {m: _key_rows(os.path.join(size_dir, f"pg{m}")) for m in majors}
    measures = []
    for m in majors:
        for k in per[m]:
            if k not in measures:
                measures.append(k)
    machine = run.get("machine", {})
    md = [f"# retention benchmarks: size `{run.get('size', os.path.basename(size_dir))}`, PostgreSQL "
          + " and ".join(str(m) for m in majors), ""]
    md.append(f"- command: `{run.get('command', 'bash bench/run.sh')}` (commit {run.get('git_commit', '?')})")
    md.append(f"- date: {run.get('started_at', '?')} to {run.get('finished_at', '?')}")
    md.append(f"- machine: {machine.get('cpus', '?')} cores ({machine.get('cpu_model', '?')}), "
              f"{machine.get('mem_gib', '?')} GiB, {machine.get('os', '?')}, kernel {machine.get('kernel', '?')}")
    for m in majors:
        mr = run.get("majors", {}).get(str(m), {})
        if mr:
            md.append(f"- PostgreSQL {m}: {mr.get('where', '')}; minutes per part: "
                      + ", ".join(f"{k} {v / 60:.1f}" for k, v in mr.get("durations_s", {}).items())
                      + (f"; **failed: {', '.join(mr['failed'])}**" if mr.get("failed") else ""))
    md.append("- every part ran on its own throwaway cluster; full tables per major in "
              + ", ".join(f"[pg{m}/summary.md](pg{m}/summary.md)" for m in majors))
    md.append("")
    md.append("| measure | " + " | ".join(f"PostgreSQL {m}" for m in majors) + " |")
    md.append("|---|" + "---:|" * len(majors))
    for k in measures:
        md.append(f"| {k} | " + " | ".join(per[m].get(k, "n/a") for m in majors) + " |")
    md.append("")
    with open(os.path.join(size_dir, "summary.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    with open(os.path.join(size_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"run": run, "majors": per}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return "\n".join(md)

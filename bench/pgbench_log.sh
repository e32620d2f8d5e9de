# bench/pgbench_log.sh: reading pgbench's per-transaction logs (pgbench -l). Sourced by the
# benchmarks, never executed; needs calc() from the sourcing script.

# pgb_analyze PREFIX FROM TO: per-transaction logs PREFIX.* of one pgbench run; the purge ran
# from FROM to TO (epoch s). Prints "key=value" lines:
#   stretch_s  the longest interval between consecutive completions (all clients) that overlaps
#              [FROM, TO] (the completions just before FROM and just after TO included)
#   tps_before completions per s in [first completion + 2 s, FROM)
#   tps_during completions per s in [FROM, TO]; tps_after in (TO, last completion]
#   p99_*_ms, max_during_ms: latencies of the transactions completing in those windows
pgb_analyze()
{
	local prefix=$1 from=$2 to=$3 base
	base=$(awk -v f="$from" 'BEGIN { printf "%d", f - 1000 }')
	local lf
	for lf in "$prefix".log.*; do head -n -1 "$lf"; done | awk -v b="$base" 'NF >= 6 && $3 ~ /^[0-9]+$/ {
			printf "%.6f %.3f\n", ($5 - b) + $6 / 1e6, $3 / 1000 }' | sort -n -k1,1 >"$prefix.sorted"
	local f t
	f=$(calc "$from - $base")
	t=$(calc "$to - $base")
	awk -v f="$f" -v t="$t" '
		NR == 1 { first = $1 }
		{
			if (NR > 1 && $1 >= f && prev <= t && $1 - prev > stretch) { stretch = $1 - prev; sfrom = prev; sto = $1 }
			if ($1 >= first + 2 && $1 < f) nb++
			if ($1 >= f && $1 <= t) { nd++; if ($2 > maxd) maxd = $2 }
			if ($1 > t) { na++; lastc = $1 }
			prev = $1
		}
		END {
			printf "stretch_s=%.6f\nstretch_from_s=%.6f\nstretch_to_s=%.6f\n", stretch, sfrom - f, sto - f
			printf "n_before=%d\nn_during=%d\nn_after=%d\n", nb, nd, na
			printf "tps_before=%.1f\n", (f - first - 2 > 0) ? nb / (f - first - 2) : 0
			printf "tps_during=%.1f\n", (t - f > 0) ? nd / (t - f) : 0
			printf "tps_after=%.1f\n", (lastc - t > 0) ? na / (lastc - t) : 0
			printf "max_during_ms=%.3f\n", maxd
			printf "last_completion_after_to_s=%.3f\n", lastc - t
		}' "$prefix.sorted"
	percentile() # percentile LO HI
	{
		awk -v lo="$1" -v hi="$2" '$1 >= lo && $1 < hi { print $2 }' "$prefix.sorted" | sort -n |
			awk '{ a[NR] = $1 } END { if (NR == 0) { print "null"; exit }
				i = int(0.99 * NR); if (i < 0.99 * NR) i++; if (i < 1) i = 1; printf "%.3f\n", a[i] }'
	}
	local first
	first=$(head -1 "$prefix.sorted" | cut -d' ' -f1)
	echo "p99_before_ms=$(percentile "$(calc "${first:-0} + 2")" "$f")"
	echo "p99_during_ms=$(percentile "$f" "$(calc "$t + 0.000001")")"
	echo "tx_total=$(wc -l <"$prefix.sorted")"
}

set terminal pngcairo size 1800,640 font 'sans,10'
set output 'chart.png'
set multiplot layout 1,3 title "retention benchmarks (default), 2026-12-05, 2 cores, PostgreSQL 17.12"
set grid ytics
set bmargin 10
set termoption noenhanced
set key top left
set title 'purge time vs table size'
set xlabel 'million rows'
set ylabel 'seconds'
set xtics (1, 2, 4, 8)
set logscale x 2
set yrange [0:*]
set xrange [0.769231:10.4]
plot 'chart-scaling.dat' using 1:2 with linespoints lw 2 title 'in place: retention', '' using 1:3 with linespoints lw 2 title 'in place: one DELETE', '' using 1:4 with linespoints lw 2 title 'partitions: retention', '' using 1:5 with linespoints lw 2 title 'partitions: DROP TABLE'
unset logscale x
unset xlabel
set xtics auto
set autoscale x
set title 'retention relative to the alternative (higher is better)'
set ylabel 'ratio'
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:1.42]
set xtics rotate by -40 left
set key off
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
plot 'chart-ratios.dat' using 0:2:xtic(1) with boxes lc rgb '#3070b0'
unset arrow 1
set title 'pgbench during the purge: TPS and p99 relative to without'
set ylabel 'ratio'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.6
set yrange [0:*]
set logscale y
set yrange [0.01:*]
set xtics rotate by -40 left
set key top left
set arrow 2 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
plot 'chart-load.dat' using 2:xtic(1) title 'TPS ratio', '' using 3 title 'p99 latency ratio'
unset multiplot

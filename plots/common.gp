# Shared style of pith's charts.
set grid lc rgb '#dddddd'
set key outside right top
set ylabel 'test top-1 accuracy (%)'
set style line 1 pt 7 ps 1.2
# gnuplot refuses to plot an empty file; an empty chart says why instead.
empty(f) = system(sprintf("test -s '%s' && echo 0 || echo 1", f)) + 0
# room around the data so points and error bars at the edges stay visible
set offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08

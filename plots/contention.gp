# Speed against load (bench/contention.py --chart): data columns are
# busy threads pith_ms pith_p90_ms ort_ms ort_p90_ms train_img_s (NaN: not
# measured), one block per thread count (in the order of `threads`).
set terminal pngcairo size 1100,450 font ',10'
set output out
set grid lc rgb '#dddddd'
set key top left
set multiplot layout 1,2 title title
set xlabel 'other CPU-bound processes'
set xtics 1
set ylabel 'batch-1 latency, median (ms)'
set title 'inference'
n = words(threads)
plot for [i=1:n] data index (i-1) using 1:3 with linespoints lw 2 pt 7 title 'pith, '.word(threads, i).' thread(s)', \
     for [i=1:n] data index (i-1) using 1:5 with linespoints lw 1 dt 2 pt 6 title 'ONNX Runtime, '.word(threads, i).' thread(s)'
set ylabel 'training (images/s)'
set title 'training (fmnist-cnn)'
plot for [i=1:n] data index (i-1) using 1:7 with linespoints lw 2 pt 7 title 'pith, '.word(threads, i).' thread(s)'
unset multiplot

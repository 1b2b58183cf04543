# PTQ ablation bars: accuracy drop per weight setting, one bar per observer.
#   gnuplot -e "datafile='results/quant-ablation.tsv'; outfile='x.png'" plots/quant_ablation.gp
set terminal pngcairo size 1000,520 font ',10'
set output outfile
set datafile separator '\t'
set title 'fmnist-cnn PTQ ablation: accuracy drop vs float (points, lower is better)'
set ylabel 'top-1 drop (pt)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics noenhanced rotate by -20
set bmargin 5
set yrange [0:*]
# rows come in groups of five observers per setting; columns: 1 bits, 2 gran, 3 sym, 4 observer, 7 drop
obs = 'minmax ema percentile kl mse'
plot for [k = 1:5] '< awk -F"\t" -v k='.k.' ''NR > 1 && (NR - 2) % 5 == k - 1 { print $1 " " $2 " " $3 "\t" ($7 < 0 ? 0 : $7) }'' '.datafile \
    using 2:xtic(1) title word(obs, k)

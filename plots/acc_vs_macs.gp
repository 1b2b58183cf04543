# Accuracy against multiply-accumulates per image, one series per method.
f = data.'/points.dat'
set title 'Accuracy vs compute'
set xlabel 'MACs per image'
set logscale x
set format x '%.0s%c'
if (empty(f)) { set label 1 'no successful runs yet' at graph 0.5,0.5 center; plot [1:10] [0:100] NaN notitle } else {
plot for [m in system("cut -d' ' -f1 ".f." | sort -u")] f using (strcol(1) eq m ? $3 : NaN):4 with points pt 7 ps 1.3 title m }

# Accuracy against model size (float32 parameters and buffers), one series per method.
f = data.'/points.dat'
set title 'Accuracy vs model size'
set xlabel 'model size (KB)'
set logscale x
if (empty(f)) { set label 1 'no successful runs yet' at graph 0.5,0.5 center; plot [1:10] [0:100] NaN notitle } else {
plot for [m in system("cut -d' ' -f1 ".f." | sort -u")] f using (strcol(1) eq m ? $2 : NaN):4 with points pt 7 ps 1.3 title m }

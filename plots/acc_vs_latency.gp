# Accuracy against batch-1 latency (runs with a bench stage).
f = data.'/latency.dat'
set title 'Accuracy vs latency'
set xlabel 'latency (ms, batch 1)'
if (empty(f)) { set label 1 'no latency measured yet (runs with a bench stage appear here)' at graph 0.5,0.5 center; plot [0:1] [0:100] NaN notitle } else {
plot for [m in system("cut -d' ' -f1 ".f." | sort -u")] f using (strcol(1) eq m ? $2 : NaN):3 with points pt 7 ps 1.3 title m }

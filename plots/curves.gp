# Training curves of one run: train loss (left axis) and accuracy (right axis) per epoch.
# curves.dat columns: epoch train_loss train_acc test_loss test_top1
f = data.'/curves.dat'
set title 'Training curves: '.curvestitle noenhanced
set xlabel 'epoch'
set ylabel 'loss'
set y2label 'accuracy (%)'
set y2tics
set ytics nomirror
if (empty(f)) { set label 1 'no training log yet' at graph 0.5,0.5 center; plot [0:1] [0:1] NaN notitle } else {
plot f using 1:2 with linespoints pt 7 title 'train loss', \
     f using 1:4 with linespoints pt 5 title 'test loss', \
     f using 1:($3*100) axes x1y2 with linespoints pt 9 title 'train acc', \
     f using 1:($5*100) axes x1y2 with linespoints pt 11 title 'test top-1' }

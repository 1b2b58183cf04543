# Accuracy against the swept knob: mean +- std over seeds, one line per experiment.
f = data.'/knob.dat'
set title 'Accuracy vs '.(knobkey eq '' ? 'swept knob' : knobkey).' (mean and std over seeds)'
set xlabel (knobkey eq '' ? 'knob' : knobkey)
if (empty(f)) { set label 1 'no sweep in the table yet' at graph 0.5,0.5 center; plot [0:1] [0:100] NaN notitle } else {
plot for [m in system("cut -d' ' -f1 ".f." | sort -u")] f using (strcol(1) eq m ? $2 : NaN):3:4 with yerrorlines pt 7 title m noenhanced }

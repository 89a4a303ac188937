set terminal pngcairo size 1000,520 font 'sans,11' noenhanced
set output 'docs/results/cifar10-fast-pthread-skylake-avx512-AMD-EPYC-seed5.png'
set title 'cifar10-fast on pthread-skylake-avx512-AMD EPYC, seed 5'
set datafile separator '\t'
set datafile missing '?'
set grid ytics
set xlabel 'epoch'
set ylabel 'loss'
set y2label 'accuracy (%)'
set xtics 1
set xrange [0.7:10.3]
set ytics nomirror
set y2tics
set yrange [0:*]
set key outside right top vertical
plot 'docs/results/cifar10-fast-pthread-skylake-avx512-AMD-EPYC-seed5.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1f77b4' title columnheader(2), '' using 1:3 with linespoints lw 2 pt 5 lc rgb '#ff7f0e' title columnheader(3), '' using 1:4 axes x1y2 with linespoints lw 2 dt 2 pt 7 lc rgb '#1f77b4' title columnheader(4), '' using 1:5 axes x1y2 with linespoints lw 2 dt 2 pt 5 lc rgb '#ff7f0e' title columnheader(5)

set terminal pngcairo size 1000,520 font 'sans,11' noenhanced
set output 'docs/results/es-vs-sgd/es-vs-sgd.png'
set title 'es_mnist.cfg on mnist: test accuracy against forward passes'
set datafile separator '\t'
set datafile missing '?'
set grid ytics
set xlabel 'forward passes of 64 images, in units of 1020'
set ylabel 'test accuracy'
set xrange [-0.3:10.3]
set xtics 1
set key outside right top vertical
plot 'docs/results/es-vs-sgd/es-vs-sgd.dat' using 1:2 with linespoints lw 2 pt 7 title columnheader(2), '' using 1:3 with linespoints lw 2 pt 7 title columnheader(3)

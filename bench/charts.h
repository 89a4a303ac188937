/* charts.h - the pictures of `clnet-bench report` and `evolve`: bar and
 * line charts drawn by gnuplot (a child process reading a data file and a
 * script, both kept next to the PNG), a grid image of convolution filters
 * and any RGB image written with libpng, and the child-process runner both
 * the charts and the report use. */
#ifndef CLNET_BENCH_CHARTS_H
#define CLNET_BENCH_CHARTS_H

#include <stdbool.h>
#include <stddef.h>

#include "clnet.h"

/* Runs program `file` (looked up in PATH when it has no slash) with `argv`
 * (argv[0] first, NULL-terminated), stdout going to the file `stdout_path`
 * (NULL: this process's stdout), stderr shared, and waits for it. Returns
 * its exit status, or -1 with the reason in err when it could not run or
 * was killed by a signal. */
int charts_spawn(const char *file, char *const argv[], const char *stdout_path, char *err,
                 size_t err_size);

/* Grouped bars: `ncat` categories (x axis) with one bar per series, values
 * [series * ncat + cat], NaN where a series has no value. Writes
 * DIR/NAME.dat, DIR/NAME.gp and, through gnuplot, DIR/NAME.png. A log-scale
 * y axis when `log_y`. False with the reason in err. */
bool charts_bars(const char *dir, const char *name, const char *title, const char *ylabel,
                 int ncat, const char *const *cats, int nseries, const char *const *series,
                 const double *values, bool log_y, char *err, size_t err_size);

/* One epoch of a training curve; accuracies in [0, 1]. */
typedef struct charts_epoch {
    double train_loss, train_acc, test_loss, test_acc;
} charts_epoch;

/* Loss (left axis) and accuracy (right axis) per epoch, as charts_bars
 * writes its files. */
bool charts_curve(const char *dir, const char *name, const char *title,
                  const charts_epoch *epochs, int n, char *err, size_t err_size);

/* Line chart of `nseries` series over x = 0..n-1, values [series * n + i],
 * as charts_bars writes its files. */
bool charts_lines(const char *dir, const char *name, const char *title, const char *xlabel,
                  const char *ylabel, int n, int nseries, const char *const *series,
                  const double *values, char *err, size_t err_size);

/* Writes filters w of shape (K, C, KH, KW) as a PNG grid, one tile per
 * (output, input) channel pair: K rows of C tiles, or with C == 1 rows of up
 * to 16 filters. Each weight is a square of pixels coloured on a diverging
 * scale (blue negative, white zero, red positive) normalised to the largest
 * |weight| of its filter. False with the reason in err. */
bool charts_filter_grid(const char *path, const float *w, const clnet_shape *shape, char *err,
                        size_t err_size);

/* Writes an 8-bit RGB image (width * height pixels of 3 bytes, rows top
 * down) as a PNG file. False with the reason in err. */
bool charts_write_png(const char *path, const unsigned char *img, int width, int height,
                      char *err, size_t err_size);

#endif

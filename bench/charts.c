/* charts.c - gnuplot bar and line charts, a libpng filter grid, and a
 * child-process runner for `clnet-bench report` (see charts.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "charts.h"

extern char **environ;

int charts_spawn(const char *file, char *const argv[], const char *stdout_path, char *err,
                 size_t err_size)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (stdout_path)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path,
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = strchr(file, '/') ? posix_spawn(&pid, file, &actions, NULL, argv, environ)
                               : posix_spawnp(&pid, file, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        snprintf(err, err_size, "cannot run %s: %s", file, strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(err, err_size, "waiting for %s: %s", file, strerror(errno));
            return -1;
        }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    snprintf(err, err_size, "%s was killed by signal %d", file, WTERMSIG(status));
    return -1;
}

/* ---- gnuplot ---- */

/* A gnuplot single-quoted string: a quote inside is written twice. */
static void quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void path_of(const char *dir, const char *name, const char *ext, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s.%s", dir, name, ext);
}

static FILE *open_or_say(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
    return f;
}

/* Closes the script and runs gnuplot on it. */
static bool plot(FILE *script, const char *script_path, char *err, size_t err_size)
{
    if (fclose(script) != 0) {
        snprintf(err, err_size, "cannot write %s", script_path);
        return false;
    }
    char *argv[] = {"gnuplot", (char *)script_path, NULL};
    int rc = charts_spawn("gnuplot", argv, NULL, err, err_size);
    if (rc == 0)
        return true;
    if (rc > 0)
        snprintf(err, err_size, "gnuplot %s exited with status %d", script_path, rc);
    else if (strstr(err, strerror(ENOENT)))
        snprintf(err, err_size, "gnuplot not found (Debian package gnuplot-nox)");
    return false;
}

/* The common head of every script: PNG output next to the data. */
static void script_head(FILE *f, const char *png, int width, int height, const char *title)
{
    fprintf(f, "set terminal pngcairo size %d,%d font 'sans,11' noenhanced\nset output ",
            width, height);
    quoted(f, png);
    fprintf(f, "\nset title ");
    quoted(f, title);
    fprintf(f, "\nset datafile separator '\\t'\nset datafile missing '?'\nset grid ytics\n");
}

/* The y range of a bar chart: from 0 (log: the decade below the smallest
 * bar) to a little above the tallest bar (log: the decade above it), so
 * that no bar touches the frame. */
static void bars_range(const double *values, int n, bool log_y, double *lo, double *hi)
{
    double min = INFINITY, max = 0;
    for (int i = 0; i < n; i++)
        if (values[i] > 0) {
            min = fmin(min, values[i]);
            max = fmax(max, values[i]);
        }
    if (max == 0) {
        *lo = log_y ? 0.1 : 0;
        *hi = 1;
    } else if (log_y) {
        *lo = pow(10, floor(log10(min)));
        *hi = pow(10, ceil(log10(max * 1.5)));
    } else {
        *lo = 0;
        *hi = max * 1.15;
    }
}

bool charts_bars(const char *dir, const char *name, const char *title, const char *ylabel,
                 int ncat, const char *const *cats, int nseries, const char *const *series,
                 const double *values, bool log_y, char *err, size_t err_size)
{
    char dat[4096], gp[4096], png[4096];
    path_of(dir, name, "dat", dat, sizeof dat);
    path_of(dir, name, "gp", gp, sizeof gp);
    path_of(dir, name, "png", png, sizeof png);
    FILE *d = open_or_say(dat, err, err_size);
    if (!d)
        return false;
    fprintf(d, "category");
    for (int s = 0; s < nseries; s++)
        fprintf(d, "\t%s", series[s]);
    fprintf(d, "\n");
    for (int c = 0; c < ncat; c++) {
        fprintf(d, "%s", cats[c]);
        for (int s = 0; s < nseries; s++) {
            double v = values[s * ncat + c];
            /* log scales have no place for zero */
            if (isnan(v) || (log_y && v <= 0))
                fprintf(d, "\t?");
            else
                fprintf(d, "\t%.6g", v);
        }
        fprintf(d, "\n");
    }
    if (fclose(d) != 0) {
        snprintf(err, err_size, "cannot write %s", dat);
        return false;
    }
    FILE *f = open_or_say(gp, err, err_size);
    if (!f)
        return false;
    double lo, hi;
    bars_range(values, ncat * nseries, log_y, &lo, &hi);
    script_head(f, png, 1200, 640, title);
    fprintf(f, "set ylabel ");
    quoted(f, ylabel);
    fprintf(f, "\nset style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
               "set xtics rotate by 30 right scale 0 nomirror\n"
               "set key outside right top vertical\nset yrange [%g:%g]\n%s", lo, hi,
            log_y ? "set logscale y\n" : "");
    fprintf(f, "plot ");
    for (int s = 0; s < nseries; s++) {
        if (s == 0)
            quoted(f, dat);
        else
            fprintf(f, ", ''");
        fprintf(f, " using %d%s title columnheader(%d)", s + 2, s == 0 ? ":xtic(1)" : "", s + 2);
    }
    fprintf(f, "\n");
    return plot(f, gp, err, err_size);
}

bool charts_curve(const char *dir, const char *name, const char *title,
                  const charts_epoch *epochs, int n, char *err, size_t err_size)
{
    char dat[4096], gp[4096], png[4096];
    path_of(dir, name, "dat", dat, sizeof dat);
    path_of(dir, name, "gp", gp, sizeof gp);
    path_of(dir, name, "png", png, sizeof png);
    FILE *d = open_or_say(dat, err, err_size);
    if (!d)
        return false;
    fprintf(d, "epoch\ttrain loss\ttest loss\ttrain accuracy\ttest accuracy\n");
    for (int e = 0; e < n; e++)
        fprintf(d, "%d\t%.6g\t%.6g\t%.4f\t%.4f\n", e + 1, epochs[e].train_loss,
                epochs[e].test_loss, 100 * epochs[e].train_acc, 100 * epochs[e].test_acc);
    if (fclose(d) != 0) {
        snprintf(err, err_size, "cannot write %s", dat);
        return false;
    }
    FILE *f = open_or_say(gp, err, err_size);
    if (!f)
        return false;
    script_head(f, png, 1000, 520, title);
    /* a tick per epoch up to 20 epochs; gnuplot's own beyond (164 labels
     * overlapped into a black bar) */
    fprintf(f, "set xlabel 'epoch'\nset ylabel 'loss'\nset y2label 'accuracy (%%)'\n"
               "%sset xrange [0.7:%g]\nset ytics nomirror\nset y2tics\n"
               "set yrange [0:*]\nset key outside right top vertical\n",
            n <= 20 ? "set xtics 1\n" : "", n + 0.3);
    static const char *const styles[] = {
        "lw 2 pt 7 lc rgb '#1f77b4'", "lw 2 pt 5 lc rgb '#ff7f0e'",
        "lw 2 dt 2 pt 7 lc rgb '#1f77b4'", "lw 2 dt 2 pt 5 lc rgb '#ff7f0e'",
    };
    fprintf(f, "plot ");
    for (int c = 0; c < 4; c++) {
        if (c == 0)
            quoted(f, dat);
        else
            fprintf(f, ", ''");
        fprintf(f, " using 1:%d%s with linespoints %s title columnheader(%d)", c + 2,
                c >= 2 ? " axes x1y2" : "", styles[c], c + 2);
    }
    fprintf(f, "\n");
    return plot(f, gp, err, err_size);
}

bool charts_lines(const char *dir, const char *name, const char *title, const char *xlabel,
                  const char *ylabel, int n, int nseries, const char *const *series,
                  const double *values, char *err, size_t err_size)
{
    char dat[4096], gp[4096], png[4096];
    path_of(dir, name, "dat", dat, sizeof dat);
    path_of(dir, name, "gp", gp, sizeof gp);
    path_of(dir, name, "png", png, sizeof png);
    FILE *d = open_or_say(dat, err, err_size);
    if (!d)
        return false;
    fprintf(d, "x");
    for (int s = 0; s < nseries; s++)
        fprintf(d, "\t%s", series[s]);
    fprintf(d, "\n");
    for (int i = 0; i < n; i++) {
        fprintf(d, "%d", i);
        for (int s = 0; s < nseries; s++)
            fprintf(d, "\t%.6g", values[s * n + i]);
        fprintf(d, "\n");
    }
    if (fclose(d) != 0) {
        snprintf(err, err_size, "cannot write %s", dat);
        return false;
    }
    FILE *f = open_or_say(gp, err, err_size);
    if (!f)
        return false;
    script_head(f, png, 1000, 520, title);
    fprintf(f, "set xlabel ");
    quoted(f, xlabel);
    fprintf(f, "\nset ylabel ");
    quoted(f, ylabel);
    fprintf(f, "\nset xrange [-0.3:%g]\n%sset key outside right top vertical\nplot ", n - 0.7,
            n <= 20 ? "set xtics 1\n" : "");
    for (int s = 0; s < nseries; s++) {
        if (s == 0)
            quoted(f, dat);
        else
            fprintf(f, ", ''");
        fprintf(f, " using 1:%d with linespoints lw 2 pt 7 title columnheader(%d)", s + 2, s + 2);
    }
    fprintf(f, "\n");
    return plot(f, gp, err, err_size);
}

/* ---- the filter grid ---- */

#define TILE_SCALE 20      /* pixels per weight */
#define GAP 6              /* pixels between tiles and around the grid */
#define GRID_COLUMNS 16    /* tiles per row when the filters have one input channel */

/* Blue (negative) through white (zero) to red (positive), v in [-1, 1]. */
static void diverging(float v, png_byte *rgb)
{
    float a = fminf(fabsf(v), 1.0f);
    png_byte fade = (png_byte)lrintf(255.0f * (1.0f - a));
    rgb[0] = v >= 0 ? 255 : fade;
    rgb[1] = fade;
    rgb[2] = v >= 0 ? fade : 255;
}

/* The largest |weight| of filter k (all its input channels). */
static float filter_scale(const float *w, int64_t per_filter, int64_t k)
{
    float m = 0;
    for (int64_t i = 0; i < per_filter; i++)
        m = fmaxf(m, fabsf(w[k * per_filter + i]));
    return m > 0 ? m : 1;
}

/* Paints tile (k, c) with its top-left pixel at (x0, y0) of an RGB image. */
static void paint_tile(png_byte *img, int width, const float *w, const clnet_shape *s, int64_t k,
                       int64_t c, int x0, int y0)
{
    int64_t kh = s->dim[2], kw = s->dim[3], per_filter = s->dim[1] * kh * kw;
    float scale = filter_scale(w, per_filter, k);
    for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++) {
            png_byte rgb[3];
            diverging(w[k * per_filter + (c * kh + i) * kw + j] / scale, rgb);
            for (int y = 0; y < TILE_SCALE; y++)
                for (int x = 0; x < TILE_SCALE; x++) {
                    png_byte *p = img + 3 * ((size_t)(y0 + i * TILE_SCALE + y) * (size_t)width +
                                             (size_t)(x0 + j * TILE_SCALE + x));
                    memcpy(p, rgb, 3);
                }
        }
}

/* libpng's errors come back through setjmp. */
bool charts_write_png(const char *path, const unsigned char *img, int width, int height,
                      char *err, size_t err_size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    bool ok = info != NULL;
    if (ok && setjmp(png_jmpbuf(png))) {
        ok = false;
    } else if (ok) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int y = 0; y < height; y++)
            png_write_row(png, img + (size_t)y * (size_t)width * 3);
        png_write_end(png, NULL);
    }
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0)
        ok = false;
    if (!ok)
        snprintf(err, err_size, "libpng could not write %s", path);
    return ok;
}

bool charts_filter_grid(const char *path, const float *w, const clnet_shape *shape, char *err,
                        size_t err_size)
{
    if (shape->ndim != 4) {
        snprintf(err, err_size, "filters of %d dimensions, not 4", shape->ndim);
        return false;
    }
    int64_t k = shape->dim[0], c = shape->dim[1];
    int64_t cols = c == 1 ? (k < GRID_COLUMNS ? k : GRID_COLUMNS) : c;
    int64_t rows = c == 1 ? (k + cols - 1) / cols : k;
    int tile_w = (int)shape->dim[3] * TILE_SCALE, tile_h = (int)shape->dim[2] * TILE_SCALE;
    int width = (int)cols * (tile_w + GAP) + GAP, height = (int)rows * (tile_h + GAP) + GAP;
    png_byte *img = malloc((size_t)width * (size_t)height * 3);
    if (!img) {
        snprintf(err, err_size, "out of memory for a %dx%d image", width, height);
        return false;
    }
    memset(img, 200, (size_t)width * (size_t)height * 3);    /* light grey gaps */
    for (int64_t f = 0; f < k; f++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t col = c == 1 ? f % cols : ch, row = c == 1 ? f / cols : f;
            paint_tile(img, width, w, shape, f, ch, GAP + (int)col * (tile_w + GAP),
                       GAP + (int)row * (tile_h + GAP));
        }
    bool ok = charts_write_png(path, img, width, height, err, err_size);
    free(img);
    return ok;
}

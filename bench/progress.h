/* progress.h - the terminal progress bar of `clnet-bench train`: one stderr
 * line redrawn after each training batch (through the library's per-batch
 * callback), with images/s and an ETA measured on batches only. */
#ifndef CLNET_BENCH_PROGRESS_H
#define CLNET_BENCH_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "clnet/nn.h"

typedef struct progress_bar {
    bool on;                     /* stderr is a terminal: draw; otherwise do nothing */
    int epoch, epochs;           /* the current epoch (0-based) and the run's total */
    int64_t batch, batches;      /* of the current epoch */
    double loss, images_per_second;
    bool first_batch_seen;       /* the run's first batch (program compilation) is not
                                    measured */
    int64_t measured;            /* batches timed for the ETA */
    double measured_seconds;
    double eval_seconds;         /* evaluation time per epoch, once measured (-1: not yet) */
    double last_draw;
} progress_bar;

/* Starts a bar for epochs first..epochs-1 (a resumed run starts later). */
void progress_start(progress_bar *p, int first, int epochs);
/* Enters epoch `epoch`. */
void progress_epoch(progress_bar *p, int epoch);
/* The clnet_progress_fn: `user` is the bar. Never stops training. */
int progress_batch(void *user, const clnet_progress *pr);
/* Shows that the epoch's evaluation runs, and then how long it took. */
void progress_evaluating(progress_bar *p, const char *what);
void progress_evaluated(progress_bar *p, double seconds);
/* Writes `line` to f without tearing the bar (it is redrawn by the next
 * batch). */
void progress_print(progress_bar *p, FILE *f, const char *line);
/* Erases the bar for good. */
void progress_stop(progress_bar *p);

#endif

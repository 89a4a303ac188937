/* baseline_onednn.h - the oneDNN baseline of `clnet-bench ops --baseline onednn`:
 * the same layer run by oneDNN on the host CPU, for the ratio clnet/oneDNN. */
#ifndef CLNET_BENCH_BASELINE_ONEDNN_H
#define CLNET_BENCH_BASELINE_ONEDNN_H

#include <stddef.h>

#include "bench.h"

typedef enum baseline_pass {
    BASELINE_FORWARD = 0,     /* forward inference, bias included */
    BASELINE_BACKWARD         /* gradients w.r.t. the input and the weights, one timed step */
} baseline_pass;

typedef struct baseline_timing {
    bench_times times;           /* median and range of the timed repetitions */
    char impl[160];              /* oneDNN's implementation(s), e.g. "brgconv:avx512_core" */
} baseline_timing;

/* The number of OpenMP threads the baseline uses next to device `info`: a
 * CPU device's (or ref's) compute units, which is how many threads PoCL runs,
 * so that both sides get the same cores; every host core next to any other
 * kind of device. */
int baseline_onednn_threads(const clnet_device_info *info);

/* Runs the layer described by `setup` (a 4-D CONV or a LINEAR, as
 * bench_layer_prepare makes them) on oneDNN's CPU engine with `threads`
 * OpenMP threads, oneDNN choosing the algorithm and every memory layout
 * (format_tag any, convolution_auto). Inputs hold fixed-seed data, already in
 * oneDNN's layouts: layout conversions are not timed. Timing as clnet's: one
 * warm-up execution, then timed executions as `rule` says, each waited
 * for. On failure writes a message naming the oneDNN call into `err` and
 * returns false. */
bool baseline_onednn_time(const bench_layer_setup *setup, baseline_pass pass, int threads,
                          const bench_reps *rule, baseline_timing *out, char *err,
                          size_t err_size);

#endif

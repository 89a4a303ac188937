/* baseline_pytorch.h - the PyTorch baseline of `clnet-bench run --baseline
 * pytorch`: the same zoo network and step run by bench/baseline_pytorch.py in
 * a python3 child process, for the ratio PyTorch/clnet. */
#ifndef CLNET_BENCH_BASELINE_PYTORCH_H
#define CLNET_BENCH_BASELINE_PYTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to run: a zoo model name, its per-image input ("3x32x32"), classes,
 * batch, the training step or inference, SGD's lr and momentum, the thread
 * count (the OpenCL CPU device's compute units), and whether PyTorch runs on
 * its CUDA device (clnet's device is a GPU) instead of the host CPU. */
typedef struct pytorch_job {
    const char *model, *input;
    long classes, batch, reps, seed, threads;
    bool train, cuda;
    float lr, momentum;
} pytorch_job;

typedef struct pytorch_timing {
    int64_t params;              /* parameters of the PyTorch network */
    double ms, ms_min, ms_max;   /* median and range of the timed steps */
} pytorch_timing;

/* Runs the script (the source tree's, else the installed copy) and reads its
 * JSON line. On failure (python3 or torch missing, a model without a PyTorch
 * twin, a crash) writes the reason into `err` and returns false. */
bool baseline_pytorch_time(const pytorch_job *job, pytorch_timing *out, char *err,
                           size_t err_size);

#endif

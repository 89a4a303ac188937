/* scale_model.h - the arithmetic of `clnet-bench scale`: an alpha-beta
 * model of ring all-reduce and the training step time it predicts for p
 * data-parallel workers, with the gradients all-reduced once after the
 * backward pass or in buckets that start while the backward pass is still
 * running (as PyTorch DDP does). Pure functions of their arguments, no
 * clnet calls, so a test checks them on hand-computed values. */
#ifndef CLNET_BENCH_SCALE_MODEL_H
#define CLNET_BENCH_SCALE_MODEL_H

#include <stdbool.h>

/* The network between workers: latency alpha (seconds per message),
 * bandwidth beta (bytes per second) and the bucket size of the overlapped
 * schedule (bytes; DDP's default is 25 MiB). */
typedef struct scale_network {
    double alpha_s;
    double beta_bytes_per_s;
    double bucket_bytes;
} scale_network;

/* One layer's share of the backward pass: the milliseconds its backward
 * takes and the bytes of its gradients. */
typedef struct scale_layer {
    double backward_ms;
    double grad_bytes;
} scale_layer;

/* One worker's training step: forward (with the loss) before backward, the
 * layers in forward order (the backward pass visits them last to first, and
 * a layer's gradients are ready when its backward is done), then the
 * optimizer step after the all-reduce. Times in milliseconds, already at the
 * speed of the worker being modelled. */
typedef struct scale_step {
    double forward_ms;
    double step_ms;
    const scale_layer *layers;
    int nlayers;
} scale_step;

/* Milliseconds of a ring all-reduce of `bytes` over p workers:
 * 2(p-1) alpha + 2(p-1)/p * bytes/beta (0 for p <= 1). */
double scale_allreduce_ms(double bytes, int p, const scale_network *net);

/* Predicted step time in milliseconds for p workers. Unbucketed: forward,
 * the whole backward, one all-reduce of every gradient, the optimizer step.
 * Bucketed: walking the backward pass (last layer first), gradients gather
 * into a bucket until it holds bucket_bytes (or the first layer is done);
 * a bucket's all-reduce starts when its last layer's backward is done and
 * the previous bucket's all-reduce is over (one at a time over the link);
 * the optimizer step starts when both the backward pass and the last
 * all-reduce are over. *comm_ms (may be NULL) receives the all-reduce time
 * summed over the buckets, *exposed_ms (may be NULL) the part of it not
 * hidden behind the backward pass. */
double scale_step_ms(const scale_step *s, int p, const scale_network *net, bool bucketed,
                     double *comm_ms, double *exposed_ms);

/* The step time of one worker alone: forward + backward + optimizer step. */
double scale_compute_ms(const scale_step *s);

#endif

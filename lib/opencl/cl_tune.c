/* cl_tune.c - clnet_opencl_tune_conv: every convolution algorithm that
 * applies, timed on the device (event profiling, warm-up excluded, median of
 * several runs); the fastest goes into the tuning table (cl_tune_table.c). */
#include "opencl/cl_algo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPS 1000
/* See measure(). */
#define SLOW_FACTOR 8.0
/* Rows of the algorithm table a tuning run can hold. */
#define MAX_IMPLS 16

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static clnet_status marker(clnet_device *dev, cl_event *ev)
{
    return clnet_cl_check(dev, clEnqueueMarkerWithWaitList(clnet_cl(dev)->queue, 0, NULL, ev),
                          "clEnqueueMarkerWithWaitList");
}

/* Device time of one run: from the end of a marker queued before the op to
 * the end of one queued after it, so every launch of the algorithm counts. */
static clnet_status time_run(clnet_device *dev, const clnet_op *op, int nin,
                             clnet_tensor *const *in, clnet_tensor *y, double *ms)
{
    /* as if an optimizer step had changed the weights: the table serves
     * training, where each call lays them out anew (cl_derived.c) */
    clnet_storage_touch(in[1]->storage);
    cl_event before = NULL, after = NULL;
    clnet_status st = marker(dev, &before);
    if (st == CLNET_OK)
        st = clnet_op_run(dev, op, nin, in, 1, &y);
    if (st == CLNET_OK)
        st = marker(dev, &after);
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clWaitForEvents(1, &after), "clWaitForEvents");
    cl_ulong t0 = 0, t1 = 0;
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clGetEventProfilingInfo(before, CL_PROFILING_COMMAND_END,
                            sizeof t0, &t0, NULL), "clGetEventProfilingInfo");
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clGetEventProfilingInfo(after, CL_PROFILING_COMMAND_END,
                            sizeof t1, &t1, NULL), "clGetEventProfilingInfo");
    if (before)
        clReleaseEvent(before);
    if (after)
        clReleaseEvent(after);
    *ms = t1 > t0 ? (double)(t1 - t0) * 1e-6 : 0.0;
    return st;
}

/* Warm-up run (builds the programs), then `reps` timed runs; after the
 * first, an algorithm already SLOW_FACTOR times slower than `best_ms` (the
 * best median so far) is not timed again: it cannot win, and the slowest
 * algorithms would otherwise take most of the tuning time. */
static clnet_status measure(clnet_device *dev, const clnet_op *op, int nin,
                            clnet_tensor *const *in, clnet_tensor *y, int reps, double best_ms,
                            clnet_opencl_tune_result *r)
{
    double times[MAX_REPS];
    clnet_status st = clnet_op_run(dev, op, nin, in, 1, &y);
    if (st == CLNET_OK)
        st = clnet_device_synchronize(dev);
    for (int i = 0; i < reps && st == CLNET_OK; i++) {
        st = time_run(dev, op, nin, in, y, &times[i]);
        if (i == 0 && times[0] > SLOW_FACTOR * best_ms)
            reps = 1;
    }
    if (st != CLNET_OK)
        return st;
    r->runs = reps;
    qsort(times, (size_t)reps, sizeof times[0], compare_double);
    r->ms_median = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    r->ms_min = times[0];
    r->ms_max = times[reps - 1];
    return CLNET_OK;
}

static clnet_status check_tune_args(clnet_device *dev, const clnet_op *op, int reps)
{
    if (!dev || dev->info.kind != CLNET_DEVICE_OPENCL || !dev->opened)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tune_conv: not an opened OpenCL device");
    if (!op || op->kind != CLNET_OP_CONV)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tune_conv: the op is not a CONV");
    if (reps < 1 || reps > MAX_REPS)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tune_conv: reps %d (must be 1..%d)", reps, MAX_REPS);
    cl_command_queue_properties props = 0;
    clnet_status st = clnet_cl_check(dev, clGetCommandQueueInfo(clnet_cl(dev)->queue,
                                     CL_QUEUE_PROPERTIES, sizeof props, &props, NULL),
                                     "clGetCommandQueueInfo(PROPERTIES)");
    if (st == CLNET_OK && !(props & CL_QUEUE_PROFILING_ENABLE))
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED, "tuning on %s needs a command queue "
                          "with profiling enabled (an adopted queue may lack it)",
                          dev->info.name);
    return st;
}

/* The tensors of a tuning run: inputs filled with small constants, which
 * every algorithm processes at the speed of real data. */
static clnet_status make_tensors(clnet_device *dev, const clnet_op *op, const clnet_shape *x,
                                 const clnet_shape *w, bool bias, clnet_tensor **t)
{
    clnet_shape in[3] = {*x, *w, {.ndim = 1, .dim = {w->dim[0]}}};
    clnet_dtype dt[3] = {CLNET_F32, CLNET_F32, CLNET_F32}, out_dt[CLNET_OP_MAX_OUTPUTS];
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    int nout = 0, nin = bias ? 3 : 2;
    clnet_status st = clnet_op_output_shapes(dev->ctx, op, nin, in, dt, &nout, out, out_dt);
    const float fill[3] = {0.5f, 0.01f, 0.1f};
    for (int i = 0; i < nin && st == CLNET_OK; i++)
        if ((st = clnet_tensor_new(dev, CLNET_F32, in[i].ndim, in[i].dim, &t[i])) == CLNET_OK)
            st = clnet_tensor_fill(t[i], fill[i]);
    if (st == CLNET_OK)
        st = clnet_tensor_new(dev, CLNET_F32, out[0].ndim, out[0].dim, &t[3]);
    return st;
}

/* Times every algorithm that applies into `all` (one entry per row of the
 * table) and returns the index of the fastest, -1 if none ran. */
static clnet_status measure_all(clnet_device *dev, const clnet_op *op, clnet_tensor **t,
                                int nin, int reps, clnet_opencl_tune_result *all, int *fastest)
{
    int n;
    const clnet_cl_conv_impl *impls = clnet_cl_conv_impls(&n);
    const clnet_conv_geom g = clnet_conv_geom_of(op, t[0], t[1], t[3]);
    *fastest = -1;
    for (int i = 0; i < n; i++) {
        memset(&all[i], 0, sizeof all[i]);
        all[i].algo = impls[i].algo;
        all[i].name = impls[i].name;
    }
    /* The algorithms the static rule would pick go first, so that a good
     * time is known early and slow ones are cut short. */
    for (int k = 0; k < 2 * n; k++) {
        const int i = k % n;
        const bool first_pass = k < n;
        const bool preferred = impls[i].preferred && impls[i].preferred(dev, &g);
        if (preferred != first_pass)
            continue;
        clnet_opencl_tune_result *r = &all[i];
        /* The window is stated so that algorithms made for one window are
         * accepted by clnet_op_supported. */
        clnet_op forced = *op;
        forced.u.conv.algo = impls[i].algo;
        forced.u.conv.kernel[0] = (int)g.kh;
        forced.u.conv.kernel[1] = (int)g.kw;
        r->applies = impls[i].applies(dev, &g);
        if (!r->applies)
            continue;
        double best_ms = *fastest < 0 ? INFINITY : all[*fastest].ms_median;
        clnet_status st = measure(dev, &forced, nin, t, t[3], reps, best_ms, r);
        if (st != CLNET_OK)
            return st;
        if (*fastest < 0 || r->ms_median < all[*fastest].ms_median)
            *fastest = i;
    }
    return CLNET_OK;
}

clnet_status clnet_opencl_tune_conv(clnet_device *dev, const clnet_op *op, const clnet_shape *x,
                                    const clnet_shape *w, bool bias, int reps,
                                    clnet_opencl_tune_result *results, int max_results,
                                    int *nresults, clnet_conv_algo *best)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    clnet_status st = check_tune_args(dev, op, reps);
    if (st != CLNET_OK || !x || !w)
        return st ? st : clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                                    "clnet_opencl_tune_conv: NULL shape");
    clnet_tensor *t[4] = {NULL, NULL, NULL, NULL};
    clnet_opencl_tune_result all[MAX_IMPLS];
    int n, fastest = -1;
    clnet_cl_conv_impls(&n);
    if (n > MAX_IMPLS)
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "tuning: %d algorithms, room for %d", n,
                          MAX_IMPLS);
    st = make_tensors(dev, op, x, w, bias, t);
    if (st == CLNET_OK)
        st = measure_all(dev, op, t, bias ? 3 : 2, reps, all, &fastest);
    clnet_conv_geom g = {0};
    if (st == CLNET_OK)
        g = clnet_conv_geom_of(op, t[0], t[1], t[3]);
    for (int i = 0; i < 4; i++)
        clnet_tensor_free(t[i]);
    if (st != CLNET_OK)
        return st;
    int shown = results ? (n < max_results ? n : max_results) : n;
    for (int i = 0; results && i < shown; i++)
        results[i] = all[i];
    if (nresults)
        *nresults = shown < 0 ? 0 : shown;
    if (fastest < 0)
        return CLNET_OK;
    if (best)
        *best = all[fastest].algo;
    return clnet_cl_tuning_record(dev, &g, all[fastest].name, all[fastest].ms_median);
}

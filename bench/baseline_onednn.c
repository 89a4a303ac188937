/* baseline_onednn.c - runs a layer of the `clnet-bench ops` suite on oneDNN
 * (host CPU, same process) so that clnet is reported next to a tuned CPU library. */
#define _GNU_SOURCE /* sched_setaffinity, cpu_set_t */
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dnnl.h>
#include <dnnl_debug.h>

#include "baseline_onednn.h"

#define SEED 0x6f6e65646e6eULL
#define MAX_ARGS 4
#define MAX_STEPS 2

typedef struct onednn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    char *err;
    size_t err_size;
    bool failed;
    uint64_t rng;
} onednn;

/* Records the first failure only: later calls fail as a consequence. */
static bool check(onednn *d, dnnl_status_t s, const char *what)
{
    if (s == dnnl_success)
        return true;
    if (!d->failed)
        snprintf(d->err, d->err_size, "oneDNN: %s: %s", what, dnnl_status2str(s));
    d->failed = true;
    return false;
}

/* The layer in oneDNN's terms: plain row-major descriptors of the four
 * tensors (what clnet holds) and the convolution geometry. */
typedef struct problem {
    bool linear;
    dnnl_memory_desc_t src, weights, bias, dst;
    dnnl_dims_t strides, dilates, pad_l, pad_r;
    float weight_scale;      /* 1/sqrt(fan-in): outputs near unit size, no denormals */
} problem;

static bool plain_md(onednn *d, dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                     dnnl_format_tag_t tag)
{
    dnnl_dims_t dd = {0};
    for (int i = 0; i < ndims; i++)
        dd[i] = dims[i];
    return check(d, dnnl_memory_desc_init_by_tag(md, ndims, dd, dnnl_f32, tag),
                 "dnnl_memory_desc_init_by_tag");
}

static bool problem_of(onednn *d, const bench_layer_setup *s, problem *p)
{
    memset(p, 0, sizeof *p);
    p->linear = s->op.kind == CLNET_OP_LINEAR;
    p->weight_scale = 1.0f / sqrtf((float)(clnet_shape_numel(&s->w) / s->w.dim[0]));
    if (p->linear)
        return plain_md(d, &p->src, 2, s->x.dim, dnnl_nc) &&
               plain_md(d, &p->weights, 2, s->w.dim, dnnl_oi) &&
               plain_md(d, &p->bias, 1, s->b.dim, dnnl_x) &&
               plain_md(d, &p->dst, 2, s->y.dim, dnnl_nc);
    if (s->op.kind != CLNET_OP_CONV || s->x.ndim != 4) {
        snprintf(d->err, d->err_size, "oneDNN baseline: only 2-D convolutions and linear layers");
        d->failed = true;
        return false;
    }
    const clnet_conv_params *c = &s->op.u.conv;
    for (int i = 0; i < 2; i++) {
        p->strides[i] = c->stride[i];
        p->dilates[i] = c->dilation[i] - 1;   /* oneDNN counts the gaps */
        p->pad_l[i] = c->pad_begin[i];
        p->pad_r[i] = c->pad_end[i];
    }
    bool ok = plain_md(d, &p->src, 4, s->x.dim, dnnl_nchw) &&
              plain_md(d, &p->bias, 1, s->b.dim, dnnl_x) &&
              plain_md(d, &p->dst, 4, s->y.dim, dnnl_nchw);
    if (c->groups == 1)
        return ok && plain_md(d, &p->weights, 4, s->w.dim, dnnl_oihw);
    const int64_t g = c->groups;
    const int64_t wg[5] = {g, s->w.dim[0] / g, s->w.dim[1], s->w.dim[2], s->w.dim[3]};
    return ok && plain_md(d, &p->weights, 5, wg, dnnl_goihw);
}

/* The same descriptor with the layout left to the primitive. */
static dnnl_memory_desc_t any(onednn *d, const dnnl_memory_desc_t *md)
{
    dnnl_memory_desc_t out;
    check(d, dnnl_memory_desc_init_by_tag(&out, md->ndims, md->dims, dnnl_f32,
                                          dnnl_format_tag_any), "dnnl_memory_desc_init_by_tag");
    return out;
}

/* splitmix64 mapped to [-scale, scale]. */
static float next_uniform(uint64_t *state, float scale)
{
    return scale * (2.0f * clnet_splitmix64_float(state) - 1.0f);
}

/* Fills `mem` (in whatever layout the primitive chose) with random values by
 * a reorder from a plain buffer, so padded blocks are zeroed as oneDNN
 * requires. */
static bool fill(onednn *d, dnnl_memory_t mem, const dnnl_memory_desc_t *plain, float scale)
{
    size_t bytes = dnnl_memory_desc_get_size(plain);
    float *host = malloc(bytes);
    if (!host) {
        snprintf(d->err, d->err_size, "oneDNN baseline: out of host memory (%zu bytes)", bytes);
        d->failed = true;
        return false;
    }
    for (size_t i = 0; i < bytes / sizeof *host; i++)
        host[i] = next_uniform(&d->rng, scale);
    const dnnl_memory_desc_t *dst_md = NULL;
    dnnl_memory_t user = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    bool ok = check(d, dnnl_memory_get_memory_desc(mem, &dst_md), "dnnl_memory_get_memory_desc") &&
              check(d, dnnl_memory_create(&user, plain, d->engine, host), "dnnl_memory_create") &&
              check(d, dnnl_reorder_primitive_desc_create(&pd, plain, d->engine, dst_md, d->engine,
                                                          NULL), "reorder primitive descriptor") &&
              check(d, dnnl_primitive_create(&reorder, pd), "reorder primitive");
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, mem}};
        ok = check(d, dnnl_primitive_execute(reorder, d->stream, 2, args), "reorder") &&
             check(d, dnnl_stream_wait(d->stream), "dnnl_stream_wait");
    }
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(user);
    free(host);
    return ok;
}

/* One primitive with its arguments, in the layouts it chose. */
typedef struct step {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[MAX_ARGS];
} step;

/* An argument of a step: `plain` is its row-major descriptor; inputs are
 * filled with values in [-scale, scale], outputs (scale 0) left as they are. */
typedef struct arg_spec {
    int arg;
    const dnnl_memory_desc_t *plain;
    float scale;
} arg_spec;

/* Creates the primitive of `op_desc` and allocates its arguments. */
static bool step_init(onednn *d, step *st, const void *op_desc, dnnl_primitive_desc_t hint,
                      int nargs, const arg_spec *spec)
{
    if (!check(d, dnnl_primitive_desc_create(&st->pd, op_desc, NULL, d->engine, hint),
               "primitive descriptor") ||
        !check(d, dnnl_primitive_create(&st->prim, st->pd), "dnnl_primitive_create"))
        return false;
    for (int i = 0; i < nargs; i++) {
        const dnnl_memory_desc_t *md =
            dnnl_primitive_desc_query_md(st->pd, dnnl_query_exec_arg_md, spec[i].arg);
        dnnl_exec_arg_t *a = &st->args[st->nargs];
        a->arg = spec[i].arg;
        if (!check(d, md ? dnnl_success : dnnl_invalid_arguments, "dnnl_primitive_desc_query_md") ||
            !check(d, dnnl_memory_create(&a->memory, md, d->engine, DNNL_MEMORY_ALLOCATE),
                   "dnnl_memory_create"))
            return false;
        st->nargs++;
        if (spec[i].scale > 0.0f && !fill(d, a->memory, spec[i].plain, spec[i].scale))
            return false;
    }
    return true;
}

static void step_free(step *st)
{
    for (int i = 0; i < st->nargs; i++)
        dnnl_memory_destroy(st->args[i].memory);
    dnnl_primitive_destroy(st->prim);
    dnnl_primitive_desc_destroy(st->pd);
}

/* The op descriptors of a layer: forward, backward data, backward weights.
 * Both kinds share their first member (the primitive kind), which is what
 * dnnl_primitive_desc_create reads through its opaque pointer. */
typedef union op_desc {
    dnnl_convolution_desc_t conv;
    dnnl_inner_product_desc_t ip;
} op_desc;

static bool desc_forward(onednn *d, const problem *p, dnnl_prop_kind_t prop, op_desc *o)
{
    dnnl_memory_desc_t src = any(d, &p->src), w = any(d, &p->weights), b = any(d, &p->bias),
                       dst = any(d, &p->dst);
    if (p->linear)
        return check(d, dnnl_inner_product_forward_desc_init(&o->ip, prop, &src, &w, &b, &dst),
                     "inner product forward descriptor");
    return check(d, dnnl_dilated_convolution_forward_desc_init(&o->conv, prop, dnnl_convolution_auto,
                                                               &src, &w, &b, &dst, p->strides,
                                                               p->dilates, p->pad_l, p->pad_r),
                 "convolution forward descriptor");
}

static bool desc_backward_data(onednn *d, const problem *p, op_desc *o)
{
    dnnl_memory_desc_t dsrc = any(d, &p->src), w = any(d, &p->weights), ddst = any(d, &p->dst);
    if (p->linear)
        return check(d, dnnl_inner_product_backward_data_desc_init(&o->ip, &dsrc, &w, &ddst),
                     "inner product backward data descriptor");
    return check(d, dnnl_dilated_convolution_backward_data_desc_init(
                        &o->conv, dnnl_convolution_auto, &dsrc, &w, &ddst, p->strides,
                        p->dilates, p->pad_l, p->pad_r),
                 "convolution backward data descriptor");
}

/* No bias gradient: clnet's backward pass of the suite has none either. */
static bool desc_backward_weights(onednn *d, const problem *p, op_desc *o)
{
    dnnl_memory_desc_t src = any(d, &p->src), dw = any(d, &p->weights), ddst = any(d, &p->dst);
    if (p->linear)
        return check(d, dnnl_inner_product_backward_weights_desc_init(&o->ip, &src, &dw, NULL,
                                                                      &ddst),
                     "inner product backward weights descriptor");
    return check(d, dnnl_dilated_convolution_backward_weights_desc_init(
                        &o->conv, dnnl_convolution_auto, &src, &dw, NULL, &ddst, p->strides,
                        p->dilates, p->pad_l, p->pad_r),
                 "convolution backward weights descriptor");
}

static bool steps_forward(onednn *d, const problem *p, step *steps, int *nsteps)
{
    op_desc fwd;
    const arg_spec spec[] = {{DNNL_ARG_SRC, &p->src, 1.0f},
                             {DNNL_ARG_WEIGHTS, &p->weights, p->weight_scale},
                             {DNNL_ARG_BIAS, &p->bias, 0.1f},
                             {DNNL_ARG_DST, &p->dst, 0.0f}};
    if (!desc_forward(d, p, dnnl_forward_inference, &fwd))
        return false;
    *nsteps = 1;
    return step_init(d, &steps[0], &fwd, NULL, 4, spec);
}

/* Backward primitives need the forward training descriptor as a hint. Each
 * step gets its own copy of dy in the layout it prefers: a real network
 * would pay a reorder where the two differ, so this favours oneDNN. */
static bool steps_backward(onednn *d, const problem *p, step *steps, int *nsteps)
{
    op_desc fwd, bwd_data, bwd_weights;
    dnnl_primitive_desc_t hint = NULL;
    const arg_spec data_spec[] = {{DNNL_ARG_DIFF_DST, &p->dst, 1.0f},
                                  {DNNL_ARG_WEIGHTS, &p->weights, p->weight_scale},
                                  {DNNL_ARG_DIFF_SRC, &p->src, 0.0f}};
    const arg_spec weights_spec[] = {{DNNL_ARG_SRC, &p->src, 1.0f},
                                     {DNNL_ARG_DIFF_DST, &p->dst, 1.0f},
                                     {DNNL_ARG_DIFF_WEIGHTS, &p->weights, 0.0f}};
    bool ok = desc_forward(d, p, dnnl_forward_training, &fwd) &&
              desc_backward_data(d, p, &bwd_data) && desc_backward_weights(d, p, &bwd_weights) &&
              check(d, dnnl_primitive_desc_create(&hint, &fwd, NULL, d->engine, NULL),
                    "forward training primitive descriptor");
    if (ok) {
        *nsteps = 1;
        ok = step_init(d, &steps[0], &bwd_data, hint, 3, data_spec);
    }
    if (ok) {
        *nsteps = 2;
        ok = step_init(d, &steps[1], &bwd_weights, hint, 3, weights_spec);
    }
    dnnl_primitive_desc_destroy(hint);
    return ok;
}

static bool run_steps(onednn *d, step *steps, int nsteps, double *ms)
{
    double t0 = bench_now_ms();
    for (int i = 0; i < nsteps; i++)
        if (!check(d, dnnl_primitive_execute(steps[i].prim, d->stream, steps[i].nargs,
                                             steps[i].args), "dnnl_primitive_execute"))
            return false;
    bool ok = check(d, dnnl_stream_wait(d->stream), "dnnl_stream_wait");
    *ms = bench_now_ms() - t0;
    return ok;
}

/* The steps of one timed execution (a bench_rep_fn). */
typedef struct timed_steps {
    onednn *d;
    step *steps;
    int nsteps;
} timed_steps;

static bool run_timed(void *arg, double *ms)
{
    timed_steps *t = arg;
    return run_steps(t->d, t->steps, t->nsteps, ms);
}

static bool time_steps(onednn *d, step *steps, int nsteps, const bench_reps *rule,
                       baseline_timing *out)
{
    double ms;
    timed_steps timed = {.d = d, .steps = steps, .nsteps = nsteps};
    return run_steps(d, steps, nsteps, &ms) &&
           bench_time_reps(rule, run_timed, &timed, &out->times);
}

/* "impl" or "impl_data + impl_weights". */
static void describe_impl(const step *steps, int nsteps, baseline_timing *out)
{
    size_t used = 0;
    out->impl[0] = '\0';
    for (int i = 0; i < nsteps && used < sizeof out->impl; i++) {
        const char *name = NULL;
        if (dnnl_primitive_desc_query(steps[i].pd, dnnl_query_impl_info_str, 0, &name) !=
                dnnl_success || !name)
            name = "?";
        int n = snprintf(out->impl + used, sizeof out->impl - used, "%s%s", i ? " + " : "", name);
        used += n > 0 ? (size_t)n : 0;
    }
}

int baseline_onednn_threads(const clnet_device_info *info)
{
    bool host = info->kind == CLNET_DEVICE_REF || strcmp(info->type, "cpu") == 0;
    return host && info->compute_units > 0 ? (int)info->compute_units : omp_get_num_procs();
}

/* Pins OpenMP thread i of a team of `threads` to the i-th CPU the process
 * may run on, as OMP_PROC_BIND does, after saving the calling thread's
 * mask in *saved (for unpin_threads); false, pinning nothing, where the
 * process may run on fewer CPUs. libgomp reuses its threads for oneDNN's
 * teams of that size. Unbound, its two threads were found sharing one CPU
 * of the 2-core VM for whole rows: oneDNN medians of 8 and 16 ms, a
 * scheduler tick per primitive, for layers of 0.06-0.8 ms, in 1 to 3 of 6
 * runs of four rows (none of 4 runs pinned). Only oneDNN's timing runs
 * pinned: clnet's rows keep the main thread's own mask. */
static bool pin_threads(int threads, cpu_set_t *saved)
{
    if (sched_getaffinity(0, sizeof *saved, saved) != 0 || CPU_COUNT(saved) < threads)
        return false;
    int cpus[CPU_SETSIZE], n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < threads; c++)
        if (CPU_ISSET(c, saved))
            cpus[n++] = c;
    bool pinned = true;
#pragma omp parallel num_threads(threads) reduction(&& : pinned)
    {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[omp_get_thread_num()], &one);
        pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    }
    return pinned;
}

/* The calling thread's mask back as pin_threads found it (its team's
 * other threads stay pinned: only oneDNN's regions use them). */
static void unpin_threads(const cpu_set_t *saved)
{
    sched_setaffinity(0, sizeof *saved, saved);
}

bool baseline_onednn_time(const bench_layer_setup *setup, baseline_pass pass, int threads,
                          const bench_reps *rule, baseline_timing *out, char *err,
                          size_t err_size)
{
    onednn d = {.err = err, .err_size = err_size, .rng = SEED};
    step steps[MAX_STEPS];
    int nsteps = 0;
    problem p;
    memset(steps, 0, sizeof steps);
    memset(out, 0, sizeof *out);
    /* oneDNN's OpenMP runtime sizes every parallel region by this. */
    omp_set_num_threads(threads);
    cpu_set_t saved;
    const bool pinned = pin_threads(threads, &saved);
    bool ok = check(&d, dnnl_engine_create(&d.engine, dnnl_cpu, 0), "dnnl_engine_create") &&
              check(&d, dnnl_stream_create(&d.stream, d.engine, dnnl_stream_default_flags),
                    "dnnl_stream_create") &&
              problem_of(&d, setup, &p);
    if (ok)
        ok = pass == BASELINE_FORWARD ? steps_forward(&d, &p, steps, &nsteps)
                                      : steps_backward(&d, &p, steps, &nsteps);
    if (ok)
        ok = time_steps(&d, steps, nsteps, rule, out);
    if (ok)
        describe_impl(steps, nsteps, out);
    for (int i = 0; i < nsteps; i++)
        step_free(&steps[i]);
    if (d.stream)
        dnnl_stream_destroy(d.stream);
    if (d.engine)
        dnnl_engine_destroy(d.engine);
    if (pinned)
        unpin_threads(&saved);
    return ok;
}

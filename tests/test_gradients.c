/* test_gradients.c - central finite differences against every gradient the
 * reference backend computes (the backward kinds, and the forward kinds whose
 * gradient is another kind), plus two-step checks of the optimizer updates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/op_table.h"
#include "testutil.h"

/* The loss L = sum(y * r) is evaluated from float outputs: each output the
 * perturbation moves carries a rounding error of up to 2^-24 of its size,
 * which the central difference divides by 2h, so the numeric gradient is
 * only good to about 1e-5..1e-4 of the gradient's scale (plus the O(h^2)
 * truncation of nonlinear ops). 1e-2 leaves a wide margin over that noise
 * while any real mistake (a missing term, a wrong index, an off-by-one
 * window) is off by far more. An element's error is relative to the larger
 * of its own size and 1% of the largest gradient element, because an
 * element whose true gradient is near zero has only that absolute noise. */
#define GRAD_TOL 1e-2
#define GRAD_FLOOR 1e-2
/* Optimizer steps and statistics against double: float storage only. */
#define STEP_TOL 1e-5

static clnet_ctx *ctx;
static clnet_device *dev;
static int passed, failed;
static test_rng rng = {20240611};

/* A host array with a shape: one operand or result of an op. */
typedef struct hbuf {
    clnet_dtype dtype;
    int ndim;
    int64_t shape[CLNET_MAX_DIMS];
    int64_t numel;
    bool keep;       /* an output the op reads (updated in place) */
    float *f;        /* F32 contents */
    int32_t *i;      /* I32 contents */
} hbuf;

/* Every buffer of a case, released together when the case ends. */
static hbuf *arena[64];
static int arena_used;

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        printf("FAIL: out of host memory\n");
        exit(1);
    }
    return p;
}

static hbuf *new_buf(clnet_dtype dtype, int ndim, const int64_t *shape)
{
    if (arena_used == (int)(sizeof arena / sizeof arena[0])) {
        printf("FAIL: test arena full\n");
        exit(1);
    }
    hbuf *b = xcalloc(1, sizeof *b);
    b->dtype = dtype;
    b->ndim = ndim;
    b->numel = 1;
    for (int d = 0; d < ndim; d++) {
        b->shape[d] = shape[d];
        b->numel *= shape[d];
    }
    if (dtype == CLNET_F32)
        b->f = xcalloc((size_t)b->numel, sizeof(float));
    else
        b->i = xcalloc((size_t)b->numel, sizeof(int32_t));
    arena[arena_used++] = b;
    return b;
}

static void release_all(void)
{
    for (int k = 0; k < arena_used; k++) {
        free(arena[k]->f);
        free(arena[k]->i);
        free(arena[k]);
    }
    arena_used = 0;
}

#define DIMS(...) (const int64_t[]){__VA_ARGS__}
#define NDIMS(...) (int)(sizeof(DIMS(__VA_ARGS__)) / sizeof(int64_t))
#define BUF(...) new_buf(CLNET_F32, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__))
#define LIST(...) (hbuf *const[]){__VA_ARGS__}

static hbuf *like(const hbuf *b)
{
    return new_buf(b->dtype, b->ndim, b->shape);
}

static hbuf *uniform(hbuf *b, float lo, float hi)
{
    test_fill_uniform(&rng, b->f, (size_t)b->numel, lo, hi);
    return b;
}

static hbuf *constant(hbuf *b, float value)
{
    for (int64_t k = 0; k < b->numel; k++)
        b->f[k] = value;
    return b;
}

static hbuf *copy_of(const hbuf *b, int ndim, const int64_t *shape)
{
    hbuf *c = new_buf(b->dtype, ndim, shape);
    memcpy(c->f, b->f, (size_t)b->numel * sizeof(float));
    return c;
}

/* Distinct values 0.05 apart in a random order: a perturbation of +-h < 0.025
 * never changes which element of a window is the maximum. */
static hbuf *distinct(hbuf *b)
{
    for (int64_t k = 0; k < b->numel; k++)
        b->f[k] = 0.05f * (float)(k - b->numel / 2);
    for (int64_t k = b->numel - 1; k > 0; k--) {
        int64_t j = (int64_t)(test_rng_next(&rng) % (uint64_t)(k + 1));
        float t = b->f[k];
        b->f[k] = b->f[j];
        b->f[j] = t;
    }
    return b;
}

static clnet_shape shape_of(const hbuf *b)
{
    clnet_shape s = {.ndim = b->ndim};
    memcpy(s.dim, b->shape, sizeof s.dim);
    return s;
}

/* Output `index` of an op, allocated with the shape the core infers. */
static hbuf *output_of(const clnet_op *op, int nin, hbuf *const *in, int index)
{
    clnet_shape shapes[CLNET_OP_MAX_INPUTS], out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dtypes[CLNET_OP_MAX_INPUTS], out_dtype[CLNET_OP_MAX_OUTPUTS];
    for (int k = 0; k < nin; k++) {
        shapes[k] = shape_of(in[k]);
        dtypes[k] = in[k]->dtype;
    }
    int nout = 0;
    clnet_status st = clnet_op_output_shapes(ctx, op, nin, shapes, dtypes, &nout, out, out_dtype);
    if (st != CLNET_OK || index >= nout) {
        printf("FAIL: shape inference of %s: %s\n", clnet_op_kind_name(op->kind),
               clnet_last_error(ctx));
        exit(1);
    }
    return new_buf(out_dtype[index], out[index].ndim, out[index].dim);
}

static clnet_tensor *to_device(const hbuf *b, bool is_output)
{
    clnet_tensor *t = NULL;
    if (test_check_status(ctx, clnet_tensor_new(dev, b->dtype, b->ndim, b->shape, &t),
                          "tensor_new"))
        return NULL;
    size_t bytes = (size_t)b->numel * 4;
    clnet_status st;
    if (is_output && !b->keep)
        /* NaN (or -7) shows an element the op forgets to write */
        st = clnet_tensor_fill(t, b->dtype == CLNET_F32 ? NAN : -7.0f);
    else
        st = clnet_tensor_write(t, b->dtype == CLNET_F32 ? (void *)b->f : (void *)b->i, bytes);
    if (test_check_status(ctx, st, "tensor_write")) {
        clnet_tensor_free(t);
        return NULL;
    }
    return t;
}

/* Runs one op on the ref device: host inputs in, host outputs back. Returns
 * 0, or 1 after printing why. */
static int run_op(clnet_op op, int nin, hbuf *const *in, int nout, hbuf *const *out)
{
    clnet_tensor *tin[CLNET_OP_MAX_INPUTS] = {0}, *tout[CLNET_OP_MAX_OUTPUTS] = {0};
    int bad = 0;
    for (int k = 0; k < nin; k++)
        bad |= !(tin[k] = to_device(in[k], false));
    for (int k = 0; k < nout; k++)
        bad |= !(tout[k] = to_device(out[k], true));
    if (!bad)
        bad = test_check_status(ctx, clnet_op_run(dev, &op, nin, tin, nout, tout),
                                clnet_op_kind_name(op.kind));
    for (int k = 0; k < nout && !bad; k++) {
        void *dst = out[k]->dtype == CLNET_F32 ? (void *)out[k]->f : (void *)out[k]->i;
        bad = test_check_status(ctx, clnet_tensor_read(tout[k], dst, (size_t)out[k]->numel * 4),
                                "tensor_read");
    }
    for (int k = 0; k < nin; k++)
        clnet_tensor_free(tin[k]);
    for (int k = 0; k < nout; k++)
        clnet_tensor_free(tout[k]);
    return bad;
}

static void report(bool ok, const char *name, const char *what, double err, const char *note)
{
    printf("%-4s %-42s %-22s max rel err %.2e%s\n", ok ? "ok" : "FAIL", name, what, err, note);
    if (ok)
        passed++;
    else
        failed++;
}

static void report_error(const char *name)
{
    printf("FAIL %s: an op failed (above)\n", name);
    failed++;
}

/* Worst element error of `got` against `want` (see GRAD_FLOOR); *scale
 * receives the largest |want|. Non-finite values count as infinitely wrong. */
static double rel_error(const float *got, const double *want, int64_t n, double *scale)
{
    *scale = 0.0;
    for (int64_t k = 0; k < n; k++) {
        if (!isfinite(got[k]) || !isfinite(want[k]))
            return INFINITY;
        *scale = fmax(*scale, fabs(want[k]));
    }
    double worst = 0.0;
    for (int64_t k = 0; k < n; k++) {
        double denom = fmax(fmax(fabs(got[k]), fabs(want[k])), GRAD_FLOOR * *scale);
        if (denom > 0.0)
            worst = fmax(worst, fabs(got[k] - want[k]) / denom);
    }
    return worst;
}

typedef double (*loss_fn)(void *state);

/* A perturbed input and the analytic gradient of L with respect to it. */
typedef struct param {
    const char *name;
    hbuf *x;
    const hbuf *grad;
} param;

static void check_gradients(const char *name, double h, loss_fn loss, void *state, int np,
                            const param *p)
{
    for (int k = 0; k < np; k++) {
        hbuf *x = p[k].x;
        if (p[k].grad->numel != x->numel) {
            report(false, name, p[k].name, INFINITY, " (gradient has the wrong size)");
            continue;
        }
        double *numeric = xcalloc((size_t)x->numel, sizeof(double));
        for (int64_t e = 0; e < x->numel; e++) {
            float x0 = x->f[e];
            float up = (float)(x0 + h), down = (float)(x0 - h);
            x->f[e] = up;
            double l_up = loss(state);
            x->f[e] = down;
            double l_down = loss(state);
            x->f[e] = x0;
            numeric[e] = (l_up - l_down) / ((double)up - (double)down);
        }
        double scale;
        double err = rel_error(p[k].grad->f, numeric, x->numel, &scale);
        free(numeric);
        /* an all-zero gradient would make the comparison vacuous */
        if (scale == 0.0)
            report(false, name, p[k].name, err, " (numeric gradient is zero everywhere)");
        else
            report(err <= GRAD_TOL, name, p[k].name, err, "");
    }
}

static double dot(const hbuf *y, const hbuf *r)
{
    double sum = 0.0;
    for (int64_t k = 0; k < y->numel; k++)
        sum += (double)y->f[k] * r->f[k];
    return sum;
}

/* L = sum(out[0] * r) for one op. */
typedef struct single {
    clnet_op op;
    int nin, nout;
    hbuf *in[4], *out[2];
    hbuf *r;
} single;

static double single_loss(void *state)
{
    single *s = state;
    if (run_op(s->op, s->nin, s->in, s->nout, s->out))
        return NAN;
    return dot(s->out[0], s->r);
}

/* Allocates the outputs and a random r of output 0's shape. */
static void single_setup(single *s)
{
    for (int k = 0; k < s->nout; k++)
        s->out[k] = output_of(&s->op, s->nin, s->in, k);
    s->r = uniform(like(s->out[0]), -1.0f, 1.0f);
}

static const clnet_op reduce_op = {.kind = CLNET_OP_REDUCE_SUM};
static const clnet_op reduce_keep_op = {.kind = CLNET_OP_REDUCE_SUM, .u.reduce.keep_batch = true};

static void set_kernel(clnet_op *op, const hbuf *w)
{
    op->u.conv.kernel[0] = w->ndim == 4 ? (int)w->shape[2] : 1;
    op->u.conv.kernel[1] = (int)w->shape[w->ndim - 1];
}

/* CONV: dx is CONV_TRANSPOSE of dy (clnet_op_conv_backward_data), dw is
 * CONV_BACKWARD_WEIGHTS, db the channel sum of dy. */
static void check_conv(const char *name, clnet_op fwd, hbuf *x, hbuf *w, bool bias)
{
    uniform(x, -1.0f, 1.0f);
    uniform(w, -1.0f, 1.0f);
    hbuf *b = bias ? uniform(BUF(w->shape[0]), -1.0f, 1.0f) : NULL;
    single s = {.op = fwd, .nin = bias ? 3 : 2, .in = {x, w, b}, .nout = 1};
    single_setup(&s);
    clnet_shape xs = shape_of(x), ws = shape_of(w);
    clnet_op data = clnet_op_conv_backward_data(&fwd, &xs, &ws);
    clnet_op weights = fwd;
    weights.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS;
    set_kernel(&weights, w);
    hbuf *dx = like(x), *dw = like(w), *db = bias ? like(b) : NULL;
    int bad = run_op(data, 2, LIST(s.r, w), 1, LIST(dx));
    bad |= run_op(weights, 2, LIST(x, s.r), 1, LIST(dw));
    if (bias)
        bad |= run_op(reduce_op, 1, LIST(s.r), 1, LIST(db));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, bias ? 3 : 2,
                        (param[]){{"dx (conv_transpose)", x, dx},
                                  {"dw (backward_weights)", w, dw},
                                  {"db (reduce_sum)", b, db}});
    release_all();
}

/* CONV_TRANSPOSE (w is (C, K/groups, ...)): dx is CONV of dy with the same
 * w, dw is CONV_BACKWARD_WEIGHTS with dy as the input and x as the output. */
static void check_conv_transpose(const char *name, clnet_op fwd, hbuf *x, hbuf *w)
{
    uniform(x, -1.0f, 1.0f);
    uniform(w, -1.0f, 1.0f);
    hbuf *b = uniform(BUF(w->shape[1] * fwd.u.conv.groups), -1.0f, 1.0f);
    single s = {.op = fwd, .nin = 3, .in = {x, w, b}, .nout = 1};
    single_setup(&s);
    clnet_op data = fwd, weights = fwd;
    data.kind = CLNET_OP_CONV;
    weights.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS;
    set_kernel(&weights, w);
    hbuf *dx = like(x), *dw = like(w), *db = like(b);
    int bad = run_op(data, 2, LIST(s.r, w), 1, LIST(dx));
    bad |= run_op(weights, 2, LIST(s.r, x), 1, LIST(dw));
    bad |= run_op(reduce_op, 1, LIST(s.r), 1, LIST(db));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 3,
                        (param[]){{"dx (conv)", x, dx},
                                  {"dw (backward_weights)", w, dw},
                                  {"db (reduce_sum)", b, db}});
    release_all();
}

/* Pooling's gradient through POOL_BACKWARD, and in a mode that selects
 * (max) also as UNPOOL of dy at the forward's argmax. */
static void check_pool(const char *name, clnet_op fwd, hbuf *x)
{
    bool selects = clnet_pool_mode_info_get(fwd.u.pool.mode)->selects;
    if (selects)
        distinct(x);
    else
        uniform(x, -1.0f, 1.0f);
    single s = {.op = fwd, .nin = 1, .in = {x}, .nout = 1};
    single_setup(&s);
    clnet_op back = fwd;
    back.kind = CLNET_OP_POOL_BACKWARD;
    hbuf *dx = like(x), *dx_unpool = like(x);
    int bad = run_op(back, 2, LIST(x, s.r), 1, LIST(dx));
    if (selects) {
        hbuf *y = like(s.out[0]), *argmax = output_of(&fwd, 1, LIST(x), 1);
        clnet_op unpool = {.kind = CLNET_OP_UNPOOL};
        unpool.u.unpool.out_h = x->ndim == 4 ? (int)x->shape[2] : 1;
        unpool.u.unpool.out_w = (int)x->shape[x->ndim - 1];
        bad |= run_op(fwd, 1, LIST(x), 2, LIST(y, argmax));
        bad |= run_op(unpool, 2, LIST(s.r, argmax), 1, LIST(dx_unpool));
    }
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, selects ? 2 : 1,
                        (param[]){{"dx (pool_backward)", x, dx}, {"dx (unpool)", x, dx_unpool}});
    release_all();
}

/* UNPOOL's gradient with respect to x (UNPOOL_BACKWARD) at the switches of a
 * max pooling of random data, overlapping windows included. */
static void check_unpool(const char *name, clnet_op pool, hbuf *image)
{
    distinct(image);
    hbuf *pooled = output_of(&pool, 1, LIST(image), 0);
    hbuf *argmax = output_of(&pool, 1, LIST(image), 1);
    clnet_op unpool = {.kind = CLNET_OP_UNPOOL};
    unpool.u.unpool.out_h = image->ndim == 4 ? (int)image->shape[2] : 1;
    unpool.u.unpool.out_w = (int)image->shape[image->ndim - 1];
    int bad = run_op(pool, 1, LIST(image), 2, LIST(pooled, argmax));
    hbuf *x = uniform(like(pooled), -1.0f, 1.0f);
    single s = {.op = unpool, .nin = 2, .in = {x, argmax}, .nout = 1};
    single_setup(&s);
    clnet_op back = unpool;
    back.kind = CLNET_OP_UNPOOL_BACKWARD;
    hbuf *dx = like(x);
    bad |= run_op(back, 2, LIST(s.r, argmax), 1, LIST(dx));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 1, (param[]){{"dx", x, dx}});
    release_all();
}

/* Inputs at least 0.05 from every kink (0, -3, 3, 6), more than h away. */
static void away_from_kinks(hbuf *x)
{
    static const float kinks[] = {-3.0f, 0.0f, 3.0f, 6.0f};
    uniform(x, -7.5f, 7.5f);
    for (int64_t k = 0; k < x->numel; k++)
        for (int j = 0; j < 4; j++)
            if (fabsf(x->f[k] - kinks[j]) < 0.05f)
                x->f[k] = kinks[j] + 0.1f;
}

static void check_activation(clnet_activation fn, const char *name)
{
    hbuf *x = BUF(2, 3, 4, 5);
    away_from_kinks(x);
    single s = {.op = clnet_op_activation(fn, 0.1f), .nin = 1, .in = {x}, .nout = 1};
    single_setup(&s);
    clnet_op back = s.op;
    back.kind = CLNET_OP_ACTIVATION_BACKWARD;
    hbuf *dx = like(x);
    if (run_op(back, 2, LIST(x, s.r), 1, LIST(dx)))
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 1,
                        (param[]){{"dx (act_backward)", x, dx}});
    release_all();
}

/* Training-mode batch norm: BATCHNORM_STATS, then BATCHNORM with them. */
typedef struct bn_state {
    hbuf *x, *gamma, *beta, *mean, *var, *y, *r;
} bn_state;

static double bn_loss(void *state)
{
    bn_state *b = state;
    if (run_op(clnet_op_simple(CLNET_OP_BATCHNORM_STATS), 1, LIST(b->x), 2,
               LIST(b->mean, b->var)) ||
        run_op(clnet_op_simple(CLNET_OP_BATCHNORM), 5,
               LIST(b->x, b->mean, b->var, b->gamma, b->beta), 1, LIST(b->y)))
        return NAN;
    return dot(b->y, b->r);
}

static void check_batchnorm(const char *name, hbuf *x)
{
    int64_t ch = x->shape[1];
    uniform(x, -1.0f, 1.0f);
    bn_state b = {.x = x, .gamma = uniform(BUF(ch), 0.5f, 1.5f),
                  .beta = uniform(BUF(ch), -0.5f, 0.5f), .mean = BUF(ch), .var = BUF(ch),
                  .y = like(x), .r = uniform(like(x), -1.0f, 1.0f)};
    hbuf *dx = like(x), *dgamma = BUF(ch), *dbeta = BUF(ch);
    int bad = run_op(clnet_op_simple(CLNET_OP_BATCHNORM_STATS), 1, LIST(x), 2,
                     LIST(b.mean, b.var));
    clnet_op back = clnet_op_simple(CLNET_OP_BATCHNORM);
    back.kind = CLNET_OP_BATCHNORM_BACKWARD;
    bad |= run_op(back, 5, LIST(x, b.r, b.mean, b.var, b.gamma), 3, LIST(dx, dgamma, dbeta));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, bn_loss, &b, 3,
                        (param[]){{"dx (bn_backward)", x, dx},
                                  {"dgamma (bn_backward)", b.gamma, dgamma},
                                  {"dbeta (bn_backward)", b.beta, dbeta}});
    release_all();
}

/* A large alpha makes the cross-channel term as big as the direct one. */
static void check_lrn(const char *name, int size, hbuf *x)
{
    uniform(x, -1.5f, 1.5f);
    clnet_op fwd = {.kind = CLNET_OP_LRN, .u.lrn = {.size = size, .alpha = 1.0f,
                                                    .beta = 0.75f, .k = 1.0f}};
    single s = {.op = fwd, .nin = 1, .in = {x}, .nout = 1};
    single_setup(&s);
    clnet_op back = fwd;
    back.kind = CLNET_OP_LRN_BACKWARD;
    hbuf *dx = like(x);
    if (run_op(back, 2, LIST(x, s.r), 1, LIST(dx)))
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 1, (param[]){{"dx (lrn_backward)", x, dx}});
    release_all();
}

static void check_dropout(void)
{
    const char *name = "dropout p 0.3";
    hbuf *x = uniform(BUF(2, 3, 5, 4), -1.0f, 1.0f);
    clnet_op op = {.kind = CLNET_OP_DROPOUT, .u.dropout = {.p = 0.3f, .seed = 1234,
                                                          .training = true}};
    single s = {.op = op, .nin = 1, .in = {x}, .nout = 1};
    single_setup(&s);
    hbuf *dx = like(x);
    if (run_op(op, 1, LIST(s.r), 1, LIST(dx)))
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 1,
                        (param[]){{"dx (dropout of dy)", x, dx}});
    release_all();
}

/* y = x w^T + b: dx = dy w, dw = dy^T x (GEMMs on x read as (N, F)), db the
 * column sum of dy. */
static void check_linear(const char *name, hbuf *x, int64_t outputs, bool bias)
{
    int64_t n = x->shape[0], features = x->numel / n;
    uniform(x, -1.0f, 1.0f);
    hbuf *w = uniform(BUF(outputs, features), -1.0f, 1.0f);
    hbuf *b = bias ? uniform(BUF(outputs), -1.0f, 1.0f) : NULL;
    single s = {.op = clnet_op_simple(CLNET_OP_LINEAR), .nin = bias ? 3 : 2, .in = {x, w, b},
                .nout = 1};
    single_setup(&s);
    hbuf *x2 = copy_of(x, 2, DIMS(n, features));
    hbuf *dx = BUF(n, features), *dw = like(w), *db = bias ? like(b) : NULL;
    clnet_op gemm = {.kind = CLNET_OP_GEMM, .u.gemm = {.alpha = 1.0f}};
    clnet_op gemm_ta = {.kind = CLNET_OP_GEMM, .u.gemm = {.trans_a = true, .alpha = 1.0f}};
    int bad = run_op(gemm, 2, LIST(s.r, w), 1, LIST(dx));
    bad |= run_op(gemm_ta, 2, LIST(s.r, x2), 1, LIST(dw));
    if (bias)
        bad |= run_op(reduce_op, 1, LIST(s.r), 1, LIST(db));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, bias ? 3 : 2,
                        (param[]){{"dx (gemm)", x, dx},
                                  {"dw (gemm, trans_a)", w, dw},
                                  {"db (reduce_sum)", b, db}});
    release_all();
}

/* y[n, m] = |x[n] - w[m]|^2: both gradients from RBF_BACKWARD, and dx alone
 * when dw is not asked for (fixed centres). */
static void check_rbf(const char *name, hbuf *x, int64_t centres)
{
    int64_t features = x->numel / x->shape[0];
    uniform(x, -1.0f, 1.0f);
    hbuf *w = uniform(BUF(centres, features), -1.0f, 1.0f);
    single s = {.op = {.kind = CLNET_OP_RBF}, .nin = 2, .in = {x, w}, .nout = 1};
    single_setup(&s);
    hbuf *dx = like(x), *dw = like(w), *dx_alone = like(x);
    clnet_op bwd = {.kind = CLNET_OP_RBF_BACKWARD};
    int bad = run_op(bwd, 3, LIST(x, s.r, w), 2, LIST(dx, dw));
    bad |= run_op(bwd, 3, LIST(x, s.r, w), 1, LIST(dx_alone));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 3,
                        (param[]){{"dx (rbf_backward)", x, dx},
                                  {"dw (rbf_backward)", w, dw},
                                  {"dx (rbf_backward, no dw)", x, dx_alone}});
    release_all();
}

/* Loss ops: L = c * sum of the per-example losses, so their gradient output
 * with scale c is exactly dL/dpred. */
static void check_loss(const char *name, clnet_op op, hbuf *pred, hbuf *second)
{
    const float c = 0.2f;
    op.u.loss.scale = c;
    single s = {.op = op, .nin = 2, .in = {pred, second}, .nout = 2};
    single_setup(&s);
    constant(s.r, c);
    hbuf *loss = like(s.out[0]), *grad = like(pred);
    if (run_op(op, 2, LIST(pred, second), 2, LIST(loss, grad)))
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 1, (param[]){{"dpred (loss op)", pred, grad}});
    release_all();
}

static void check_softmax_xent(const char *name, float smoothing)
{
    hbuf *logits = uniform(BUF(5, 7), -3.0f, 3.0f);
    hbuf *labels = new_buf(CLNET_I32, 1, DIMS(5));
    for (int k = 0; k < 5; k++)
        labels->i[k] = (int32_t)(test_rng_next(&rng) % 7);
    clnet_op op = {.kind = CLNET_OP_SOFTMAX_XENT, .u.loss.label_smoothing = smoothing};
    check_loss(name, op, logits, labels);
}

/* Penalties around the rubbish class's j, so that every term matters. */
static void check_mmi(const char *name, float j)
{
    hbuf *penalties = uniform(BUF(5, 7), 0.0f, 2.0f * j);
    hbuf *labels = new_buf(CLNET_I32, 1, DIMS(5));
    for (int k = 0; k < 5; k++)
        labels->i[k] = (int32_t)(test_rng_next(&rng) % 7);
    clnet_op op = {.kind = CLNET_OP_MMI_LOSS, .u.loss.mmi_j = j};
    check_loss(name, op, penalties, labels);
}

static void check_mse(const char *name, hbuf *pred)
{
    uniform(pred, -1.0f, 1.0f);
    hbuf *target = uniform(like(pred), -1.0f, 1.0f);
    check_loss(name, (clnet_op){.kind = CLNET_OP_MSE_LOSS}, pred, target);
}

/* y = a op b, b of a's shape or per channel (N, C, 1, ...). For MUL, da =
 * dy * b (broadcast as forward) and db = dy * a, summed per (n, c) when b is
 * broadcast; for ADD, da = dy and db = dy (so summed). */
static void check_binary(const char *name, clnet_binary_fn fn, hbuf *a, hbuf *b)
{
    uniform(a, -1.0f, 1.0f);
    uniform(b, -1.0f, 1.0f);
    clnet_op op = {.kind = CLNET_OP_BINARY, .u.binary.fn = fn};
    clnet_op mul = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_MUL};
    single s = {.op = op, .nin = 2, .in = {a, b}, .nout = 1};
    single_setup(&s);
    bool broadcast = b->numel != a->numel;
    hbuf *da = like(a), *db = like(b), *dy_a = like(a);
    int bad = 0;
    if (fn == CLNET_BINARY_MUL) {
        bad |= run_op(mul, 2, LIST(s.r, b), 1, LIST(da));
        bad |= run_op(mul, 2, LIST(s.r, a), 1, LIST(broadcast ? dy_a : db));
    } else {
        memcpy(da->f, s.r->f, (size_t)a->numel * sizeof(float));
        memcpy(dy_a->f, s.r->f, (size_t)a->numel * sizeof(float));
        if (!broadcast)
            memcpy(db->f, s.r->f, (size_t)a->numel * sizeof(float));
    }
    if (broadcast)
        bad |= run_op(reduce_keep_op, 1, LIST(dy_a), 1, LIST(db));
    if (bad)
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 2,
                        (param[]){{"da", a, da}, {"db", b, db}});
    release_all();
}

static void check_bias_add(void)
{
    const char *name = "bias_add";
    hbuf *x = uniform(BUF(2, 3, 4, 5), -1.0f, 1.0f), *b = uniform(BUF(3), -1.0f, 1.0f);
    single s = {.op = clnet_op_simple(CLNET_OP_BIAS_ADD), .nin = 2, .in = {x, b}, .nout = 1};
    single_setup(&s);
    hbuf *db = like(b);
    if (run_op(reduce_op, 1, LIST(s.r), 1, LIST(db)))
        report_error(name);
    else
        check_gradients(name, 1e-2, single_loss, &s, 2,
                        (param[]){{"dx (identity)", x, s.r}, {"db (reduce_sum)", b, db}});
    release_all();
}

static void compare_step(const char *name, const char *what, const hbuf *got, const double *want)
{
    double scale;
    double err = rel_error(got->f, want, got->numel, &scale);
    report(err <= STEP_TOL, name, what, err, "");
}

/* Two SGD steps against torch.optim.SGD's algorithm in double (whose first
 * step sets the buffer to the gradient, the same as momentum * 0 + g). */
static void check_sgd(const char *name, clnet_sgd_params p, bool give_v)
{
    enum { N = 30 };
    hbuf *g[2] = {uniform(BUF(2, 3, 5), -1.0f, 1.0f), uniform(BUF(2, 3, 5), -1.0f, 1.0f)};
    hbuf *w = uniform(BUF(2, 3, 5), -1.0f, 1.0f), *v = BUF(2, 3, 5);
    w->keep = v->keep = true;
    double want_w[N], want_v[N];
    for (int k = 0; k < N; k++) {
        want_w[k] = w->f[k];
        want_v[k] = 0.0;
    }
    clnet_op op = {.kind = CLNET_OP_SGD_STEP, .u.sgd = p};
    int bad = 0;
    for (int t = 0; t < 2; t++) {
        bad |= run_op(op, 1, LIST(g[t]), give_v ? 2 : 1, LIST(w, v));
        for (int k = 0; k < N; k++) {
            double d = g[t]->f[k] + (double)p.weight_decay * want_w[k];
            if (p.momentum != 0.0f) {
                want_v[k] = t == 0 ? d : (double)p.momentum * want_v[k] + d;
                d = p.nesterov ? d + (double)p.momentum * want_v[k] : want_v[k];
            }
            want_w[k] -= (double)p.lr * d;
        }
    }
    if (bad) {
        report_error(name);
    } else {
        compare_step(name, "w after 2 steps", w, want_w);
        /* with momentum 0 a given v must be left as it was: zero */
        if (give_v)
            compare_step(name, "v after 2 steps", v, want_v);
    }
    release_all();
}

/* Two Adam steps against the textbook form in double: m_hat = m / (1 -
 * b1^t), v_hat = v / (1 - b2^t), w -= lr * m_hat / (sqrt(v_hat) + eps). */
static void check_adam(const char *name, clnet_adam_params p)
{
    enum { N = 21 };
    hbuf *g[2] = {uniform(BUF(3, 7), -1.0f, 1.0f), uniform(BUF(3, 7), -1.0f, 1.0f)};
    hbuf *w = uniform(BUF(3, 7), -1.0f, 1.0f), *m = BUF(3, 7), *v = BUF(3, 7);
    w->keep = m->keep = v->keep = true;
    double want_w[N], want_m[N] = {0}, want_v[N] = {0};
    for (int k = 0; k < N; k++)
        want_w[k] = w->f[k];
    int bad = 0;
    for (int t = 1; t <= 2; t++) {
        p.t = t;
        bad |= run_op((clnet_op){.kind = CLNET_OP_ADAM_STEP, .u.adam = p}, 1, LIST(g[t - 1]), 3,
                      LIST(w, m, v));
        for (int k = 0; k < N; k++) {
            double grad = g[t - 1]->f[k];
            if (p.decoupled)
                want_w[k] *= 1.0 - (double)p.lr * p.weight_decay;
            else
                grad += (double)p.weight_decay * want_w[k];
            want_m[k] = p.beta1 * want_m[k] + (1.0 - p.beta1) * grad;
            want_v[k] = p.beta2 * want_v[k] + (1.0 - p.beta2) * grad * grad;
            double m_hat = want_m[k] / (1.0 - pow(p.beta1, t));
            double v_hat = want_v[k] / (1.0 - pow(p.beta2, t));
            want_w[k] -= p.lr * m_hat / (sqrt(v_hat) + p.eps);
        }
    }
    if (bad) {
        report_error(name);
    } else {
        compare_step(name, "w after 2 steps", w, want_w);
        compare_step(name, "m after 2 steps", m, want_m);
        compare_step(name, "v after 2 steps", v, want_v);
    }
    release_all();
}

/* BATCHNORM_STATS with running statistics: the running variance takes the
 * unbiased batch variance, as torch.nn.BatchNorm2d does. */
static void check_running_stats(void)
{
    const char *name = "batchnorm_stats running";
    enum { C = 4, M = 3 * 5 };
    hbuf *x = uniform(BUF(3, C, 5), -1.0f, 1.0f);
    for (int64_t k = 0; k < x->numel; k++)
        x->f[k] += (float)((k / 5) % C);   /* a different mean per channel */
    hbuf *mean = BUF(C), *var = BUF(C);
    hbuf *rmean = uniform(BUF(C), -1.0f, 1.0f), *rvar = uniform(BUF(C), 0.5f, 2.0f);
    rmean->keep = rvar->keep = true;
    double want_mean[C], want_var[C], want_rmean[C], want_rvar[C];
    const double momentum = 0.1;
    for (int c = 0; c < C; c++) {
        double sum = 0.0, sq = 0.0;
        for (int n = 0; n < 3; n++)
            for (int s = 0; s < 5; s++)
                sum += x->f[(n * C + c) * 5 + s];
        want_mean[c] = sum / M;
        for (int n = 0; n < 3; n++)
            for (int s = 0; s < 5; s++)
                sq += pow(x->f[(n * C + c) * 5 + s] - want_mean[c], 2);
        want_var[c] = sq / M;
        want_rmean[c] = (1 - momentum) * rmean->f[c] + momentum * want_mean[c];
        want_rvar[c] = (1 - momentum) * rvar->f[c] + momentum * sq / (M - 1);
    }
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM_STATS);
    op.u.bn.momentum = (float)momentum;
    if (run_op(op, 1, LIST(x), 4, LIST(mean, var, rmean, rvar))) {
        report_error(name);
    } else {
        compare_step(name, "mean", mean, want_mean);
        compare_step(name, "var (biased)", var, want_var);
        compare_step(name, "running_mean", rmean, want_rmean);
        compare_step(name, "running_var (unbiased)", rvar, want_rvar);
    }
    release_all();
}

static clnet_op conv_op(clnet_op_kind kind, int sh, int sw, int ph, int pw, int dil, int groups)
{
    clnet_op op = clnet_op_conv(1, 0, dil, groups);
    op.kind = kind;
    op.u.conv.stride[0] = sh;
    op.u.conv.stride[1] = sw;
    op.u.conv.pad_begin[0] = op.u.conv.pad_end[0] = ph;
    op.u.conv.pad_begin[1] = op.u.conv.pad_end[1] = pw;
    return op;
}

static void conv_checks(void)
{
    clnet_op c = conv_op(CLNET_OP_CONV, 2, 2, 1, 1, 1, 2);
    check_conv("conv 3x3 s2 p1 g2 (7x6)", c, BUF(2, 4, 7, 6), BUF(6, 2, 3, 3), true);
    c = conv_op(CLNET_OP_CONV, 1, 2, 2, 1, 2, 1);
    c.u.conv.pad_end[0] = 0;
    check_conv("conv 3x2 s1,2 d2 pad 2,1|0,1", c, BUF(2, 3, 8, 9), BUF(4, 3, 3, 2), true);
    c = conv_op(CLNET_OP_CONV, 1, 1, 1, 1, 1, 3);
    check_conv("conv depthwise 3x3 p1", c, BUF(2, 3, 5, 5), BUF(3, 1, 3, 3), true);
    c = conv_op(CLNET_OP_CONV, 1, 2, 0, 1, 2, 1);
    check_conv("conv 1-D k3 s2 p1 d2 (w 12)", c, BUF(2, 3, 12), BUF(4, 3, 3), true);
    c = conv_op(CLNET_OP_CONV, 2, 2, 0, 0, 1, 1);
    check_conv("conv 1x1 s2 no bias (6x7)", c, BUF(1, 5, 6, 7), BUF(3, 5, 1, 1), false);

    clnet_op t = conv_op(CLNET_OP_CONV_TRANSPOSE, 2, 2, 1, 1, 1, 2);
    t.u.conv.output_padding[0] = t.u.conv.output_padding[1] = 1;
    check_conv_transpose("conv_transpose 3x3 s2 p1 op1 g2", t, BUF(2, 4, 4, 3), BUF(4, 3, 3, 3));
    t = conv_op(CLNET_OP_CONV_TRANSPOSE, 1, 1, 0, 2, 2, 1);
    check_conv_transpose("conv_transpose 1-D k3 p2 d2", t, BUF(2, 3, 6), BUF(3, 2, 3));
    t = conv_op(CLNET_OP_CONV_TRANSPOSE, 2, 2, 0, 0, 1, 3);
    check_conv_transpose("conv_transpose depthwise 2x2 s2", t, BUF(1, 3, 3, 4), BUF(3, 1, 2, 2));
}

/* check_pool named "<mode> pool <what>". */
static void check_pool_mode(const char *what, clnet_op fwd, hbuf *x)
{
    char name[96];
    snprintf(name, sizeof name, "%s pool %s", clnet_pool_mode_info_get(fwd.u.pool.mode)->name,
             what);
    check_pool(name, fwd, x);
}

/* Every pooling mode on overlapping, ceil-mode, uneven, 1-D and global
 * windows; then average pooling's own cases (padding left out of the
 * divisor, adaptive windows). */
static void pool_checks(void)
{
    for (int m = 0; m < CLNET_POOL_MODE_COUNT; m++) {
        clnet_pool_mode mode = (clnet_pool_mode)m;
        check_pool_mode("3x3 s2 p1 (7x6)", clnet_op_pool(mode, 3, 2, 1), BUF(2, 3, 7, 6));
        clnet_op p = clnet_op_pool(mode, 2, 2, 0);
        p.u.pool.ceil_mode = true;
        check_pool_mode("2x2 s2 ceil (5x7)", p, BUF(1, 2, 5, 7));
        p = clnet_op_pool(mode, 3, 2, 1);
        p.u.pool.kernel[1] = 2;
        p.u.pool.stride[1] = 1;
        p.u.pool.pad_begin[1] = 0;
        p.u.pool.pad_end[0] = 0;
        check_pool_mode("3x2 s2,1 pad 1,0|0,1", p, BUF(2, 2, 6, 5));
        check_pool_mode("1-D k3 s2 p1", clnet_op_pool(mode, 3, 2, 1), BUF(2, 3, 9));
        check_pool_mode("global", clnet_op_global_pool(mode), BUF(2, 3, 4, 5));
    }

    clnet_op p = clnet_op_pool(CLNET_POOL_AVG, 3, 2, 1);
    p.u.pool.ceil_mode = true;
    p.u.pool.count_include_pad = false;
    check_pool("avg pool 3x3 s2 p1 excl. pad ceil", p, BUF(1, 2, 6, 7));
    p = clnet_op_pool(CLNET_POOL_AVG, 2, 2, 0);
    p.u.pool.ceil_mode = true;
    check_pool("avg pool 2x2 s2 ceil incl. pad (5x5)", p, BUF(1, 2, 5, 5));
    /* adaptive: overlapping windows (7 -> 3), uneven ones (5 -> 4), and an
     * output larger than the input (2 -> 3), where inputs feed several outputs */
    p = (clnet_op){.kind = CLNET_OP_POOL, .u.pool = {.mode = CLNET_POOL_AVG, .adaptive = true,
                                                     .out_size = {3, 4}}};
    check_pool("avg pool adaptive 7x5 -> 3x4", p, BUF(2, 2, 7, 5));
    p.u.pool.out_size[0] = 3;
    p.u.pool.out_size[1] = 3;
    check_pool("avg pool adaptive 2x2 -> 3x3", p, BUF(1, 3, 2, 2));
    check_unpool("unpool 2x2 s2 switches", clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0),
                 BUF(2, 3, 6, 6));
    check_unpool("unpool 3x3 s2 p1 switches", clnet_op_pool(CLNET_POOL_MAX, 3, 2, 1),
                 BUF(1, 2, 7, 7));
}

static void activation_checks(void)
{
    for (int fn = 0; fn < CLNET_ACT_COUNT; fn++) {
        clnet_activation act = (clnet_activation)fn;
        check_activation(act, clnet_act_info_get(act)->name);
    }
}

static void normalisation_checks(void)
{
    check_batchnorm("batchnorm 4-D (3x4x5x3)", BUF(3, 4, 5, 3));
    check_batchnorm("batchnorm 2-D (6x5)", BUF(6, 5));
    check_batchnorm("batchnorm 1-D (2x3x7)", BUF(2, 3, 7));
    check_running_stats();
    check_lrn("lrn size 3 (2x6x3x4)", 3, BUF(2, 6, 3, 4));
    check_lrn("lrn size 4 1-D (2x5x7)", 4, BUF(2, 5, 7));
    check_lrn("lrn size 5 2-D (3x7)", 5, BUF(3, 7));
}

static void misc_checks(void)
{
    check_dropout();
    check_linear("linear 4-D x (3x2x3x2 -> 5)", BUF(3, 2, 3, 2), 5, true);
    check_linear("linear 2-D no bias (4x7 -> 3)", BUF(4, 7), 3, false);
    check_softmax_xent("softmax_xent", 0.0f);
    check_softmax_xent("softmax_xent smoothing 0.1", 0.1f);
    check_mmi("mmi_loss j 1", 1.0f);
    check_mmi("mmi_loss j 3", 3.0f);
    check_rbf("rbf 2-D (4x6 -> 3)", BUF(4, 6), 3);
    check_rbf("rbf 4-D x (3x2x2x2 -> 5)", BUF(3, 2, 2, 2), 5);
    check_mse("mse_loss 4-D (3x2x4x3)", BUF(3, 2, 4, 3));
    check_mse("mse_loss 2-D (4x5)", BUF(4, 5));
    check_binary("binary mul per-channel", CLNET_BINARY_MUL, BUF(2, 3, 4, 5), BUF(2, 3, 1, 1));
    check_binary("binary mul same shape", CLNET_BINARY_MUL, BUF(2, 3, 4), BUF(2, 3, 4));
    check_binary("binary add per-channel", CLNET_BINARY_ADD, BUF(2, 4, 3), BUF(2, 4, 1));
    check_bias_add();
}

static void optimizer_checks(void)
{
    check_sgd("sgd lr 0.1", (clnet_sgd_params){.lr = 0.1f}, false);
    check_sgd("sgd lr 0.1, v given and ignored", (clnet_sgd_params){.lr = 0.1f}, true);
    check_sgd("sgd momentum 0.9 wd 1e-2",
              (clnet_sgd_params){.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-2f}, true);
    check_sgd("sgd nesterov 0.9 wd 5e-3",
              (clnet_sgd_params){.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-3f,
                                 .nesterov = true}, true);
    clnet_adam_params adam = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    check_adam("adam", adam);
    adam.weight_decay = 0.1f;
    check_adam("adam L2 wd 0.1", adam);
    adam.decoupled = true;
    check_adam("adamw wd 0.1", adam);
}

int main(void)
{
    if (test_check_status(NULL, clnet_ctx_new(&ctx), "clnet_ctx_new"))
        return 1;
    if (test_check_status(ctx, clnet_device_find(ctx, "ref", &dev), "device_find ref")) {
        clnet_ctx_free(ctx);
        return 1;
    }
    conv_checks();
    pool_checks();
    activation_checks();
    normalisation_checks();
    misc_checks();
    optimizer_checks();
    clnet_ctx_free(ctx);
    printf("gradients: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

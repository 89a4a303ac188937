/* test_weight_cache.c - the transformed weights an OpenCL device keeps
 * between convolutions (lib/opencl/cl_derived.c) are never stale: each
 * algorithm that keeps them (Winograd, direct 3x3, single tap; forward and
 * transposed) runs repeatedly over one set of weights, then over weights
 * changed by every path that writes a tensor (an upload, a fill, an op
 * that updates them in place, a new tensor in freed memory, the bias), and
 * must match the reference backend after each. A forward convolution and
 * the data gradient of the same weights share one kept transform through
 * steps that change them, as in training. The budget and a handed-out
 * buffer are honoured. */
#include "testutil.h"

#include "clnet/opencl.h"
#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cache_case {
    const char *name;
    clnet_op_kind kind;        /* CONV or CONV_TRANSPOSE */
    clnet_conv_algo algo;
    int64_t n, c, k, h, w;     /* x is (n, c, h, w); w is (k, c, 3, 3), or (c, k, 3, 3)
                                  transposed */
    int stride, pad;
    bool bias;
} cache_case;

static const cache_case cases[] = {
    {"winograd", CLNET_OP_CONV, CLNET_CONV_ALGO_WINOGRAD, 2, 32, 24, 6, 5, 1, 1, false},
    {"winograd transposed", CLNET_OP_CONV_TRANSPOSE, CLNET_CONV_ALGO_WINOGRAD, 2, 24, 32, 6, 6,
     1, 1, false},
    {"direct_3x3", CLNET_OP_CONV, CLNET_CONV_ALGO_DIRECT_3X3, 2, 8, 20, 7, 9, 1, 1, true},
    {"direct_3x3 stride 2", CLNET_OP_CONV, CLNET_CONV_ALGO_DIRECT_3X3, 2, 8, 16, 8, 8, 2, 1,
     true},
    {"direct_3x3 transposed", CLNET_OP_CONV_TRANSPOSE, CLNET_CONV_ALGO_DIRECT_3X3, 2, 24, 16,
     4, 5, 2, 1, true},
    {"single_tap", CLNET_OP_CONV, CLNET_CONV_ALGO_SINGLE_TAP, 3, 32, 48, 1, 1, 1, 1, true},
    {"single_tap transposed", CLNET_OP_CONV_TRANSPOSE, CLNET_CONV_ALGO_SINGLE_TAP, 3, 48, 32, 1,
     1, 1, 1, false},
};

/* One side of the comparison: the tensors of the case on one device. */
typedef struct side {
    clnet_device *dev;
    clnet_tensor *x, *w, *b, *y, *g, *v;
} side;

static clnet_op op_of(const cache_case *cc)
{
    clnet_op op = {.kind = cc->kind};
    clnet_conv_params *p = &op.u.conv;
    for (int d = 0; d < 2; d++) {
        p->stride[d] = cc->stride;
        p->pad_begin[d] = p->pad_end[d] = cc->pad;
        p->dilation[d] = 1;
        p->output_padding[d] = cc->kind == CLNET_OP_CONV_TRANSPOSE ? cc->stride - 1 : 0;
    }
    p->groups = 1;
    p->algo = cc->algo;
    return op;
}

static int64_t weight_count(const cache_case *cc) { return cc->c * cc->k * 9; }

static bool make_side(clnet_ctx *ctx, clnet_device *dev, const cache_case *cc, const float *x,
                      const float *w, const float *b, side *s)
{
    memset(s, 0, sizeof *s);
    s->dev = dev;
    const bool t = cc->kind == CLNET_OP_CONV_TRANSPOSE;
    const int64_t xs[] = {cc->n, cc->c, cc->h, cc->w};
    const int64_t ws[] = {t ? cc->c : cc->k, t ? cc->k : cc->c, 3, 3};
    const int64_t bs[] = {cc->k};
    s->x = test_tensor(dev, 4, xs, x);
    s->w = test_tensor(dev, 4, ws, w);
    s->g = test_tensor(dev, 4, ws, w);
    s->v = test_tensor(dev, 4, ws, NULL);
    s->b = cc->bias ? test_tensor(dev, 1, bs, b) : NULL;
    if (!s->x || !s->w || !s->g || !s->v || (cc->bias && !s->b))
        return false;
    clnet_op op = op_of(cc);
    clnet_shape shapes[] = {clnet_tensor_shape(s->x), clnet_tensor_shape(s->w)}, ys;
    const clnet_dtype dtypes[] = {CLNET_F32, CLNET_F32};
    clnet_dtype ydtype;
    int nout = 1;
    if (!OK(ctx, clnet_op_output_shapes(ctx, &op, 2, shapes, dtypes, &nout, &ys, &ydtype)))
        return false;
    s->y = test_tensor(dev, ys.ndim, ys.dim, NULL);
    return s->y && OK(ctx, clnet_tensor_fill(s->v, 0.0f));
}

static void free_side(side *s)
{
    clnet_tensor *all[] = {s->x, s->w, s->b, s->y, s->g, s->v};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clnet_tensor_free(all[i]);
}

static bool run_conv(clnet_ctx *ctx, const cache_case *cc, side *s)
{
    clnet_op op = op_of(cc);
    clnet_tensor *in[] = {s->x, s->w, s->b};
    return OK(ctx, clnet_op_run(s->dev, &op, cc->bias ? 3 : 2, in, 1, &s->y));
}

/* The largest difference between two tensors, relative to the largest
 * reference value. */
static double tensor_error(clnet_tensor *cl, clnet_tensor *ref)
{
    float *a = test_read(cl), *r = test_read(ref);
    double err = INFINITY;
    if (a && r) {
        const int64_t n = clnet_tensor_numel(ref);
        double diff = 0.0, scale = 1e-6;
        for (int64_t i = 0; i < n; i++) {
            diff = fmax(diff, fabs((double)a[i] - r[i]));
            scale = fmax(scale, fabs((double)r[i]));
        }
        err = diff / scale;
    }
    free(a);
    free(r);
    return err;
}

/* Three convolutions on each side (the second keeps the transform, the
 * third reads it), each compared. */
static void run_and_compare(clnet_ctx *ctx, const cache_case *cc, side *cl, side *ref,
                            const char *after)
{
    for (int rep = 0; rep < 3; rep++) {
        if (!run_conv(ctx, cc, cl) || !run_conv(ctx, cc, ref))
            return;
        double err = tensor_error(cl->y, ref->y);
        CHECK(err < 1e-4, "%s, after %s, call %d: error %.3g against ref", cc->name, after,
              rep + 1, err);
    }
}

/* An in-place update of the weights by an op: one SGD step w -= lr * g. */
static bool sgd_step(clnet_ctx *ctx, side *s)
{
    clnet_op op = {.kind = CLNET_OP_SGD_STEP, .u.sgd = {.lr = 0.5f}};
    clnet_tensor *out[] = {s->w, s->v};
    return OK(ctx, clnet_op_run(s->dev, &op, 1, &s->g, 2, out));
}

/* A case's host data: x (uniform in [-1, 1]), w and `extra` more values
 * (in [-0.5, 0.5]), and a bias of 64 (in [-1, 1]). */
typedef struct host_data {
    float *x, *w, *extra, b[64];
} host_data;

/* False, after a failed CHECK, when the host is out of memory. */
static bool host_data_new(const cache_case *cc, int64_t extra, test_rng *rng, host_data *d)
{
    const int64_t nx = cc->n * cc->c * cc->h * cc->w, nw = weight_count(cc);
    d->x = malloc((size_t)nx * sizeof *d->x);
    d->w = malloc((size_t)nw * sizeof *d->w);
    d->extra = malloc((size_t)extra * sizeof *d->extra);
    if (!d->x || !d->w || !d->extra) {
        CHECK(false, "%s: out of host memory", cc->name);
        return false;
    }
    test_fill_uniform(rng, d->x, (size_t)nx, -1.0f, 1.0f);
    test_fill_uniform(rng, d->w, (size_t)nw, -0.5f, 0.5f);
    test_fill_uniform(rng, d->extra, (size_t)extra, -0.5f, 0.5f);
    test_fill_uniform(rng, d->b, 64, -1.0f, 1.0f);
    return true;
}

static void host_data_free(host_data *d)
{
    free(d->x);
    free(d->w);
    free(d->extra);
}

static void check_case(clnet_ctx *ctx, clnet_device *dev, clnet_device *ref_dev,
                       const cache_case *cc, test_rng *rng)
{
    const int64_t nw = weight_count(cc);
    host_data d = {0};
    if (!host_data_new(cc, nw, rng, &d))
        goto out;
    const float *x = d.x, *w = d.w, *w2 = d.extra, *b = d.b;
    side cl, ref;
    if (!make_side(ctx, dev, cc, x, w, b, &cl) || !make_side(ctx, ref_dev, cc, x, w, b, &ref)) {
        CHECK(false, "%s: cannot set up", cc->name);
        free_side(&cl);
        goto out;
    }
    run_and_compare(ctx, cc, &cl, &ref, "the first weights");
    CHECK(clnet_device_weight_cache_bytes(dev) > 0, "%s: nothing kept after three calls",
          cc->name);

    const size_t wbytes = (size_t)nw * sizeof(float);
    if (OK(ctx, clnet_tensor_write(cl.w, w2, wbytes)) &&
        OK(ctx, clnet_tensor_write(ref.w, w2, wbytes)))
        run_and_compare(ctx, cc, &cl, &ref, "an upload");
    if (OK(ctx, clnet_tensor_write_queued(cl.w, w, wbytes)) &&
        OK(ctx, clnet_tensor_write_queued(ref.w, w, wbytes)))
        run_and_compare(ctx, cc, &cl, &ref, "a queued upload");
    if (sgd_step(ctx, &cl) && sgd_step(ctx, &ref))
        run_and_compare(ctx, cc, &cl, &ref, "an SGD step");
    if (OK(ctx, clnet_tensor_fill(cl.w, 0.25f)) && OK(ctx, clnet_tensor_fill(ref.w, 0.25f)))
        run_and_compare(ctx, cc, &cl, &ref, "a fill");
    if (cc->bias) {
        float b2[64];
        test_fill_uniform(rng, b2, 64, -1.0f, 1.0f);
        const size_t bbytes = (size_t)cc->k * sizeof(float);
        if (OK(ctx, clnet_tensor_write(cl.b, b2, bbytes)) &&
            OK(ctx, clnet_tensor_write(ref.b, b2, bbytes)))
            run_and_compare(ctx, cc, &cl, &ref, "a new bias");
    }
    /* new weights, likely in the buffer just freed */
    clnet_shape ws = clnet_tensor_shape(cl.w);
    clnet_tensor_free(cl.w);
    clnet_tensor_free(ref.w);
    cl.w = test_tensor(dev, ws.ndim, ws.dim, w2);
    ref.w = test_tensor(ref_dev, ws.ndim, ws.dim, w2);
    if (cl.w && ref.w)
        run_and_compare(ctx, cc, &cl, &ref, "new weights in freed memory");
    free_side(&cl);
    free_side(&ref);
out:
    host_data_free(&d);
}

/* The first forward case of an algorithm. */
static const cache_case *forward_case(clnet_conv_algo algo)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].kind == CLNET_OP_CONV && cases[i].algo == algo)
            return &cases[i];
    return NULL;
}

/* Training's pattern: each step a forward convolution (case fc), the data
 * gradient of the same weights (the transposed convolution of dy), then an
 * SGD step. Both read one transform of the step's weights: from the second
 * step on, the forward fills the buffer kept since the first (exactly one
 * transform, `per_weight` floats for each of the K x C filters, held after
 * it) and the gradient reads it; both results match the reference. */
static void check_training_steps(clnet_ctx *ctx, clnet_device *dev, clnet_device *ref_dev,
                                 const cache_case *fc, int per_weight, test_rng *rng)
{
    if (!fc) {
        CHECK(false, "training steps: no forward case of the algorithm");
        return;
    }
    const cache_case tc = {"data gradient", CLNET_OP_CONV_TRANSPOSE, fc->algo, fc->n, fc->k,
                           fc->c, fc->h, fc->w, fc->stride, fc->pad, false};
    /* the extra values are dy */
    host_data d = {0};
    side cl = {0}, ref = {0};
    clnet_tensor *dys[2] = {NULL, NULL}, *dxs[2] = {NULL, NULL};
    if (!host_data_new(fc, fc->n * fc->k * fc->h * fc->w, rng, &d))
        goto out;
    const int64_t ys[] = {fc->n, fc->k, fc->h, fc->w}, xs[] = {fc->n, fc->c, fc->h, fc->w};
    side *sides[2] = {&cl, &ref};
    for (int i = 0; i < 2; i++) {
        clnet_device *on = i == 0 ? dev : ref_dev;
        if (!make_side(ctx, on, fc, d.x, d.w, d.b, sides[i]) ||
            !(dys[i] = test_tensor(on, 4, ys, d.extra)) ||
            !(dxs[i] = test_tensor(on, 4, xs, NULL))) {
            CHECK(false, "%s training steps: cannot set up", fc->name);
            goto out;
        }
    }
    const size_t before = clnet_device_weight_cache_bytes(dev);
    const size_t one = (size_t)(per_weight * fc->k * fc->c) * sizeof(float);
    const clnet_op top = op_of(&tc);
    for (int step = 1; step <= 3; step++) {
        for (int i = 0; i < 2; i++) {
            clnet_tensor *in[] = {dys[i], sides[i]->w};
            if (!run_conv(ctx, fc, sides[i]))
                goto out;
            const size_t kept = clnet_device_weight_cache_bytes(dev) - before;
            CHECK(i == 1 || step == 1 || kept == one,
                  "%s training step %d: %zu bytes kept after the forward, not one transform",
                  fc->name, step, kept);
            if (!OK(ctx, clnet_op_run(sides[i]->dev, &top, 2, in, 1, &dxs[i])))
                goto out;
        }
        const double ey = tensor_error(cl.y, ref.y), ex = tensor_error(dxs[0], dxs[1]);
        CHECK(ey < 1e-4 && ex < 1e-4, "%s training step %d: forward error %.3g, data "
              "gradient error %.3g against ref", fc->name, step, ey, ex);
        if (!sgd_step(ctx, &cl) || !sgd_step(ctx, &ref))
            goto out;
    }
    const size_t kept = clnet_device_weight_cache_bytes(dev) - before;
    CHECK(kept == one, "%s training steps: %zu bytes kept, not one shared transform",
          fc->name, kept);
out:
    for (int i = 0; i < 2; i++) {
        clnet_tensor_free(dys[i]);
        clnet_tensor_free(dxs[i]);
    }
    free_side(&cl);
    free_side(&ref);
    host_data_free(&d);
}

/* The budget: 0 frees everything kept and keeps nothing; a buffer handed
 * out by clnet_opencl_buffer is never kept. */
static void check_budget(clnet_ctx *ctx, clnet_device *dev, test_rng *rng)
{
    const cache_case *cc = &cases[0];
    const int64_t nx = cc->n * cc->c * cc->h * cc->w, nw = weight_count(cc);
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    side s = {0};
    if (!x || !w || !make_side(ctx, dev, cc, (test_fill_uniform(rng, x, (size_t)nx, -1, 1), x),
                               (test_fill_uniform(rng, w, (size_t)nw, -1, 1), w), NULL, &s)) {
        CHECK(false, "budget: cannot set up");
        goto out;
    }
    for (int i = 0; i < 3; i++)
        run_conv(ctx, cc, &s);
    CHECK(clnet_device_weight_cache_bytes(dev) > 0, "budget: nothing kept after three calls");
    if (OK(ctx, clnet_device_set_weight_cache(dev, 0)))
        CHECK(clnet_device_weight_cache_bytes(dev) == 0, "budget 0: %zu bytes still kept",
              clnet_device_weight_cache_bytes(dev));
    for (int i = 0; i < 3; i++)
        run_conv(ctx, cc, &s);
    CHECK(clnet_device_weight_cache_bytes(dev) == 0, "budget 0: %zu bytes kept",
          clnet_device_weight_cache_bytes(dev));
    if (!OK(ctx, clnet_device_set_weight_cache(dev, (size_t)64 << 20)))
        goto out;
    cl_mem mem;
    size_t offset;
    if (OK(ctx, clnet_opencl_buffer(s.w, &mem, &offset))) {
        for (int i = 0; i < 3; i++)
            run_conv(ctx, cc, &s);
        CHECK(clnet_device_weight_cache_bytes(dev) == 0,
              "a handed-out buffer's weights: %zu bytes kept",
              clnet_device_weight_cache_bytes(dev));
    }
    CHECK(clnet_device_set_weight_cache(NULL, 0) == CLNET_ERR_INVALID_ARGUMENT,
          "a NULL device is not refused");
out:
    free_side(&s);
    free(x);
    free(w);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[8];
    int n = 0, rc = test_open_devices(ctx, devs, 8, &n);
    if (rc != 0) {
        clnet_ctx_free(ctx);
        return rc;
    }
    clnet_device *dev = test_opencl_device(ctx, devs, n);
    int r = test_ref_index(devs, n);
    if (!dev || r < 0) {
        clnet_ctx_free(ctx);
        return TEST_SKIP;
    }
    test_rng rng = {20261205};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* each case starts with nothing kept */
        OK(ctx, clnet_device_set_weight_cache(dev, 0));
        OK(ctx, clnet_device_set_weight_cache(dev, (size_t)64 << 20));
        check_case(ctx, dev, devs[r], &cases[i], &rng);
    }
    /* Winograd keeps U (16 floats a filter), the single tap the matrix of
     * its reading tap (1), which the forward reads transposed */
    const struct {
        clnet_conv_algo algo;
        int per_weight;
    } shared[] = {{CLNET_CONV_ALGO_WINOGRAD, 16}, {CLNET_CONV_ALGO_SINGLE_TAP, 1}};
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        OK(ctx, clnet_device_set_weight_cache(dev, 0));
        OK(ctx, clnet_device_set_weight_cache(dev, (size_t)64 << 20));
        check_training_steps(ctx, dev, devs[r], forward_case(shared[i].algo),
                             shared[i].per_weight, &rng);
    }
    check_budget(ctx, dev, &rng);
    clnet_ctx_free(ctx);
    printf("%s\n", test_failures ? "FAILED" : "ok");
    return test_failures ? 1 : 0;
}

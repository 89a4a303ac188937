/* test_backend_ops.c - runs every op kind and variant on `ref` and on every
 * OpenCL device, compares the outputs and checks the guard data around every
 * tensor (modelled on ggml's test-backend-ops). The cases come from
 * backend_ops_cases.c and backend_ops_train.c. Usage: test_backend_ops
 * [filter...]: the cases whose names contain any of the filters. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_ops.h"

#define MAX_TENSORS (CLNET_OP_MAX_INPUTS + CLNET_OP_MAX_OUTPUTS)
#define MAX_CASES 4500
#define MAX_DEVICES 16

/* Every guard element, and every output element before the run, holds a NaN
 * with this payload: an element the op forgot to write, or a guard it wrote,
 * cannot pass for a computed value. */
#define SENTINEL_F32 0x7fc5a5a5u
#define SENTINEL_I32 0x5a5a5a5au

static test_case cases[MAX_CASES];
static int ncases;

/* ---- case construction ---- */

test_case *new_case(clnet_op op, double max_nmse, const char *fmt, ...)
{
    if (ncases == MAX_CASES) {
        printf("FAIL: more than %d cases: raise MAX_CASES\n", MAX_CASES);
        exit(1);
    }
    test_case *tc = &cases[ncases++];
    memset(tc, 0, sizeof *tc);
    tc->op = op;
    tc->nout = 1;
    tc->max_nmse = max_nmse;
    int len = snprintf(tc->name, sizeof tc->name, "%s(", clnet_op_kind_name(op.kind));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tc->name + len, sizeof tc->name - (size_t)len, fmt, ap);
    va_end(ap);
    return tc;
}

tspec shape_n(int ndim, const int64_t *dim)
{
    tspec t = {.ndim = ndim, .dtype = CLNET_F32, .fill = FILL_UNIFORM, .lo = -1, .hi = 1};
    memcpy(t.dim, dim, (size_t)ndim * sizeof *dim);
    return t;
}

tspec ranged(tspec t, int fill, float lo, float hi)
{
    t.fill = fill;
    t.lo = lo;
    t.hi = hi;
    return t;
}

tspec chview(tspec t)
{
    t.cview = true;
    return t;
}

void add_in(test_case *tc, tspec t)
{
    tc->in[tc->nin++] = t;
}

clnet_shape shape_of(const tspec *t)
{
    clnet_shape s = {.ndim = t->ndim};
    memcpy(s.dim, t->dim, sizeof s.dim);
    return s;
}

tspec forward_output(clnet_op op, int nin, const tspec *in)
{
    clnet_shape s[CLNET_OP_MAX_INPUTS], out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dt[CLNET_OP_MAX_INPUTS], odt[CLNET_OP_MAX_OUTPUTS];
    int nout = 0;
    for (int i = 0; i < nin; i++) {
        s[i] = shape_of(&in[i]);
        dt[i] = in[i].dtype;
    }
    clnet_status st = clnet_op_output_shapes(NULL, &op, nin, s, dt, &nout, out, odt);
    if (st != CLNET_OK) {
        printf("FAIL: case table: a forward %s is invalid: %s\n", clnet_op_kind_name(op.kind),
               clnet_status_str(st));
        exit(1);
    }
    return shape_n(out[0].ndim, out[0].dim);
}

/* Appends the input shapes to every name, so a filter can select by shape. */
static void finish_names(void)
{
    for (int i = 0; i < ncases; i++) {
        test_case *tc = &cases[i];
        size_t len = strlen(tc->name);
        len += (size_t)snprintf(tc->name + len, sizeof tc->name - len, ")");
        for (int j = 0; j < tc->nin && len < sizeof tc->name; j++) {
            const tspec *t = &tc->in[j];
            if (t->ndim == 0) {
                len += (size_t)snprintf(tc->name + len, sizeof tc->name - len, " null");
                continue;
            }
            len += (size_t)snprintf(tc->name + len, sizeof tc->name - len, " [");
            for (int d = 0; d < t->ndim && len < sizeof tc->name; d++)
                len += (size_t)snprintf(tc->name + len, sizeof tc->name - len, "%s%lld",
                                        d ? "," : "", (long long)t->dim[d]);
            if (len < sizeof tc->name)
                len += (size_t)snprintf(tc->name + len, sizeof tc->name - len, "]%s%s",
                                        t->cview ? "cv" : "", t->dtype == CLNET_I32 ? "i32" : "");
        }
        if (len < sizeof tc->name && tc->inplace && tc->inplace_of)
            snprintf(tc->name + len, sizeof tc->name - len, " ->inplace of input %d",
                     tc->inplace_of);
        else if (len < sizeof tc->name && tc->inplace)
            snprintf(tc->name + len, sizeof tc->name - len, " ->inplace");
        else if (len < sizeof tc->name && tc->out_cview[0])
            snprintf(tc->name + len, sizeof tc->name - len, " ->cv");
    }
}

/* ---- preparing, running and comparing one case ---- */

/* The tensors of a case (inputs, then outputs) and their contents. */
typedef struct prepared {
    int count;
    tspec spec[MAX_TENSORS];
    int64_t base[MAX_TENSORS][CLNET_MAX_DIMS];  /* allocated shape, guards included */
    size_t numel[MAX_TENSORS];                  /* of the allocation */
    uint32_t *init[MAX_TENSORS];   /* contents before the run; NULL: no tensor of its own */
    uint32_t *step_in[MAX_STEPS];  /* contents of input 0 before step s >= 1 */
    bool output[MAX_TENSORS];
    int steps;
} prepared;

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static int failf(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int failf(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return 1;
}

static int64_t image_numel(const int64_t *dim, int ndim)
{
    int64_t n = 1;
    for (int i = 1; i < ndim; i++)
        n *= dim[i];
    return n;
}

/* Whether element e of tensor i's allocation is inside the view the op sees. */
static bool in_view(const prepared *p, int i, size_t e)
{
    const tspec *t = &p->spec[i];
    int64_t img = image_numel(p->base[i], t->ndim);
    int64_t n = (int64_t)e / img;
    if (n < 1 || n > t->dim[0])
        return false;
    if (!t->cview)
        return true;
    int64_t c = ((int64_t)e % img) / (img / p->base[i][1]);
    return c >= 1 && c <= t->dim[1];
}

/* The plane an argmax indexes: UNPOOL's output, or POOL_BACKWARD's x. */
static void unpooled_size(const test_case *tc, int64_t size[2])
{
    if (tc->op.kind == CLNET_OP_POOL_BACKWARD) {
        const tspec *x = &tc->in[0];
        size[0] = x->ndim == 4 ? x->dim[2] : 1;
        size[1] = x->dim[x->ndim - 1];
        return;
    }
    size[0] = tc->op.u.unpool.out_h;
    size[1] = tc->op.u.unpool.out_w;
}

/* Kernel, stride and begin padding of the pooling along axis a (0: rows):
 * POOL_BACKWARD's own window (global: the plane), else the case's. */
static void window_of(const test_case *tc, int a, const int64_t size[2], int64_t kpad[3])
{
    const clnet_pool_params *p = &tc->op.u.pool;
    if (tc->op.kind != CLNET_OP_POOL_BACKWARD) {
        kpad[0] = tc->window[0];
        kpad[1] = tc->window[1];
        kpad[2] = tc->window[2];
    } else if (p->global || (a == 0 && size[0] == 1 && tc->in[0].ndim == 3)) {
        kpad[0] = size[a];
        kpad[1] = 1;
        kpad[2] = 0;
    } else {
        kpad[0] = p->kernel[a];
        kpad[1] = p->stride[a];
        kpad[2] = p->pad_begin[a];
    }
}

/* An index into the unpooled plane that a max pooling window could pick for
 * pooled position `pos` of a plane of the argmax tensor. */
static uint32_t window_index(const test_case *tc, const tspec *t, int64_t pos, test_rng *rng)
{
    int64_t w = t->dim[t->ndim - 1], at[2] = {pos / w, pos % w}, size[2], pick[2];
    unpooled_size(tc, size);
    for (int a = 0; a < 2; a++) {
        int64_t kpad[3];
        window_of(tc, a, size, kpad);
        int64_t lo = at[a] * kpad[1] - kpad[2], hi = lo + kpad[0];
        lo = lo < 0 ? 0 : lo;
        hi = hi > size[a] ? size[a] : hi;
        pick[a] = lo + (int64_t)(test_rng_next(rng) % (uint64_t)(hi - lo));
    }
    return (uint32_t)(pick[0] * size[1] + pick[1]);
}

static uint32_t make_value(const test_case *tc, const tspec *t, int64_t pos, test_rng *rng)
{
    static const float specials[] = {NAN, INFINITY, -INFINITY};
    uint64_t r;
    switch (t->fill) {
    case FILL_INTS:
        if (t->dtype == CLNET_I32)
            return (uint32_t)(int32_t)floorf(test_rng_uniform(rng, t->lo, t->hi + 1));
        return f2u(floorf(test_rng_uniform(rng, t->lo, t->hi + 1)));
    case FILL_SPECIAL:
    case FILL_INFS:
        r = test_rng_next(rng) % 16;
        if (t->fill == FILL_INFS && r < 2)
            return f2u(specials[r + 1]);
        if (t->fill == FILL_SPECIAL && r < 3)
            return f2u(specials[r]);
        return f2u(test_rng_uniform(rng, t->lo, t->hi));
    case FILL_ARGMAX:
        return window_index(tc, t, pos, rng);
    case FILL_INDEX_ANY: {
        int64_t size[2];
        unpooled_size(tc, size);
        return (uint32_t)(test_rng_next(rng) % (uint64_t)(size[0] * size[1]));
    }
    case FILL_SENTINEL:
        return t->dtype == CLNET_I32 ? SENTINEL_I32 : SENTINEL_F32;
    default:
        return f2u(test_rng_uniform(rng, t->lo, t->hi));
    }
}

/* Mean (or biased variance) over channel c of input 0's view, computed in
 * double in two passes: the exact batch statistics of the values written. */
static float channel_stat(const prepared *p, int64_t c, bool var)
{
    const tspec *x = &p->spec[0];
    int64_t img = image_numel(p->base[0], x->ndim), plane = img / p->base[0][1];
    int64_t first = (c + (x->cview ? 1 : 0)) * plane, count = x->dim[0] * plane;
    double sum = 0, sq = 0;
    for (int pass = 0; pass < 2; pass++) {
        double mean = sum / (double)count;
        for (int64_t n = 1; n <= x->dim[0]; n++) {
            for (int64_t k = 0; k < plane; k++) {
                double v = u2f(p->init[0][n * img + first + k]);
                if (pass == 0)
                    sum += v;
                else
                    sq += (v - mean) * (v - mean);
            }
        }
    }
    return (float)(var ? sq / (double)count : sum / (double)count);
}

/* Contents of tensor i's allocation: data inside the view; outside it, NaN
 * for an F32 input (an op that reads it poisons its output), index 0 for an
 * I32 input (it must stay a valid index), the sentinel for an output. */
static uint32_t *fill_values(const test_case *tc, const prepared *p, int i, test_rng *rng)
{
    const tspec *t = &p->spec[i];
    int64_t plane = image_numel(t->dim, t->ndim) / (t->ndim > 1 ? t->dim[1] : 1);
    uint32_t guard = p->output[i] ? (t->dtype == CLNET_I32 ? SENTINEL_I32 : SENTINEL_F32)
                                  : (t->dtype == CLNET_I32 ? 0 : f2u(NAN));
    bool stat = t->fill == FILL_MEAN_OF_X || t->fill == FILL_VAR_OF_X;
    uint32_t *v = malloc(p->numel[i] * sizeof(uint32_t));
    for (size_t e = 0; v && e < p->numel[i]; e++) {
        if (!in_view(p, i, e))
            v[e] = guard;
        else if (stat) /* a vector (C): element e is channel e - 1 */
            v[e] = f2u(channel_stat(p, (int64_t)e - 1, t->fill == FILL_VAR_OF_X));
        else
            v[e] = make_value(tc, t, (int64_t)e % plane, rng);
    }
    return v;
}

static void release(prepared *p)
{
    for (int i = 0; i < p->count; i++)
        free(p->init[i]);
    for (int s = 1; s < p->steps; s++)
        free(p->step_in[s]);
}

static bool same_dims(const clnet_shape *s, const tspec *t)
{
    return s->ndim == t->ndim && !memcmp(s->dim, t->dim, (size_t)t->ndim * sizeof t->dim[0]);
}

/* Infers the output shapes, lays out every tensor and fills it. */
static int prepare(clnet_ctx *ctx, const test_case *tc, prepared *p, char *why, size_t len)
{
    memset(p, 0, sizeof *p);
    clnet_shape shapes[CLNET_OP_MAX_INPUTS], oshapes[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dtypes[CLNET_OP_MAX_INPUTS], odtypes[CLNET_OP_MAX_OUTPUTS];
    int nshapes = 0, nout = 0;
    for (int i = 0; i < tc->nin; i++) {
        if (tc->in[i].ndim) {
            shapes[nshapes] = shape_of(&tc->in[i]);
            dtypes[nshapes++] = tc->in[i].dtype;
        }
    }
    clnet_status st = clnet_op_output_shapes(ctx, &tc->op, nshapes, shapes, dtypes, &nout,
                                             oshapes, odtypes);
    if (st != CLNET_OK)
        return failf(why, len, "output_shapes: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    if (nout < tc->nout)
        return failf(why, len, "output_shapes: %d outputs, the case passes %d", nout, tc->nout);
    if (tc->want.ndim && !same_dims(&oshapes[0], &tc->want))
        return failf(why, len, "output_shapes: output 0 has rank %d and %lld elements, the case "
                     "wants the shape of its x", oshapes[0].ndim,
                     (long long)clnet_shape_numel(&oshapes[0]));
    p->count = tc->nin + tc->nout;
    if (tc->steps > MAX_STEPS)
        return failf(why, len, "%d steps, at most %d", tc->steps, MAX_STEPS);
    p->steps = tc->steps > 1 ? tc->steps : 1;
    for (int i = 0; i < tc->nin; i++)
        p->spec[i] = tc->in[i];
    for (int j = 0; j < tc->nout; j++) {
        tspec *t = &p->spec[tc->nin + j];
        const float *r = tc->init_range[j];
        bool wide = r[0] == 0 && r[1] == 0;
        *t = ranged(shape_n(oshapes[j].ndim, oshapes[j].dim),
                    tc->out_init >> j & 1 ? FILL_UNIFORM : FILL_SENTINEL, wide ? -1 : r[0],
                    wide ? 1 : r[1]);
        t->dtype = odtypes[j];
        t->cview = tc->out_cview[j];
        p->output[tc->nin + j] = true;
    }
    p->output[tc->inplace_of] |= tc->inplace;
    test_rng rng = {fnv1a(tc->name)};
    for (int i = 0; i < p->count; i++) {
        const tspec *t = &p->spec[i];
        if (t->ndim == 0 || (tc->inplace && i == tc->nin))
            continue;
        memcpy(p->base[i], t->dim, sizeof t->dim);
        p->base[i][0] += 2;
        if (t->cview)
            p->base[i][1] += 3;
        p->numel[i] = (size_t)(p->base[i][0] * image_numel(p->base[i], t->ndim));
        if (!(p->init[i] = fill_values(tc, p, i, &rng)))
            return failf(why, len, "out of host memory");
    }
    for (int s = 1; s < p->steps; s++)
        if (!(p->step_in[s] = fill_values(tc, p, 0, &rng)))
            return failf(why, len, "out of host memory");
    return 0;
}

/* Allocates tensor i on dev, writes its contents and makes the view: images
 * [1, N+1), and channels [1, C+1) for a channel view. */
static int make_tensor(clnet_device *dev, const prepared *p, int i, clnet_tensor **base,
                       clnet_tensor **view, char *why, size_t len)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    const tspec *t = &p->spec[i];
    clnet_tensor *rows = NULL;
    clnet_status st = clnet_tensor_new(dev, t->dtype, t->ndim, p->base[i], base);
    if (st == CLNET_OK)
        st = clnet_tensor_write(*base, p->init[i], p->numel[i] * sizeof(uint32_t));
    if (st == CLNET_OK)
        st = clnet_tensor_slice(*base, 0, 1, t->dim[0], t->cview ? &rows : view);
    if (st == CLNET_OK && t->cview) {
        st = clnet_tensor_slice(rows, 1, 1, t->dim[1], view);
        clnet_tensor_free(rows);
    }
    if (st != CLNET_OK)
        return failf(why, len, "tensor %d: %s: %s", i, clnet_status_str(st), clnet_last_error(ctx));
    return 0;
}

/* Reads every tensor's whole allocation into result[i]. */
static int read_all(clnet_ctx *ctx, const prepared *p, clnet_tensor *const *base,
                    uint32_t **result, const char *at, char *why, size_t len)
{
    for (int i = 0; i < p->count; i++) {
        if (!base[i])
            continue;
        result[i] = malloc(p->numel[i] * sizeof(uint32_t));
        clnet_status st = result[i] ? clnet_tensor_read(base[i], result[i],
                                                        p->numel[i] * sizeof(uint32_t))
                                    : CLNET_ERR_HOST_MEMORY;
        if (st != CLNET_OK)
            return failf(why, len, "%sread %d: %s: %s", at, i, clnet_status_str(st),
                         clnet_last_error(ctx));
    }
    return 0;
}

/* "step s: " for a case of several steps, "" otherwise. */
static const char *step_text(const prepared *p, int s, char *buf, size_t len)
{
    buf[0] = '\0';
    if (p->steps > 1)
        snprintf(buf, len, "step %d: ", s + 1);
    return buf;
}

/* Runs the case on dev; result[s][i] receives tensor i's whole allocation
 * after step s. */
static int run_on(clnet_device *dev, const test_case *tc, const prepared *p,
                  uint32_t *(*result)[MAX_TENSORS], char *why, size_t len)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_tensor *base[MAX_TENSORS] = {0}, *view[MAX_TENSORS] = {0};
    int rc = 0;
    for (int i = 0; i < p->count && !rc; i++)
        if (p->init[i])
            rc = make_tensor(dev, p, i, &base[i], &view[i], why, len);
    clnet_tensor *out[CLNET_OP_MAX_OUTPUTS];
    for (int j = 0; j < tc->nout; j++)
        out[j] = tc->inplace && j == 0 ? view[tc->inplace_of] : view[tc->nin + j];
    for (int s = 0; s < p->steps && !rc; s++) {
        char at[24];
        step_text(p, s, at, sizeof at);
        clnet_op op = tc->op;
        if (op.kind == CLNET_OP_ADAM_STEP)
            op.u.adam.t += s;
        clnet_status st = CLNET_OK;
        if (s > 0)
            st = clnet_tensor_write(base[0], p->step_in[s], p->numel[0] * sizeof(uint32_t));
        if (st == CLNET_OK)
            st = clnet_op_run(dev, &op, tc->nin, view, tc->nout, out);
        if (st != CLNET_OK)
            rc = failf(why, len, "%srun: %s: %s", at, clnet_status_str(st), clnet_last_error(ctx));
        else
            rc = read_all(ctx, p, base, result[s], at, why, len);
    }
    for (int i = 0; i < p->count; i++) {
        clnet_tensor_free(view[i]);
        clnet_tensor_free(base[i]);
    }
    return rc;
}

static const char *label(const test_case *tc, int i, char *buf, size_t len)
{
    if (i < tc->nin)
        snprintf(buf, len, "%s %d", tc->inplace && i == tc->inplace_of ? "in/output" : "input", i);
    else
        snprintf(buf, len, "output %d", i - tc->nin);
    return buf;
}

/* Everything the op must not write (guards, inputs) must still hold what was
 * written before the run, `before`, bit for bit. */
static int check_untouched(const test_case *tc, const prepared *p, int i, const uint32_t *before,
                           const uint32_t *got, const char *who, char *why, size_t len)
{
    char name[32];
    for (size_t e = 0; e < p->numel[i]; e++) {
        if (p->output[i] && in_view(p, i, e))
            continue;
        if (got[e] != before[e])
            return failf(why, len, "%s changed %s at element %zu of its allocation (%s)", who,
                         label(tc, i, name, sizeof name), e,
                         in_view(p, i, e) ? "an input" : "a guard");
    }
    return 0;
}

static bool same_nonfinite(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b;
}

/* Compares output i of the device against ref inside the view. */
static int compare_output(const test_case *tc, const prepared *p, int i, const uint32_t *ref,
                          const uint32_t *got, char *why, size_t len)
{
    char name[32];
    label(tc, i, name, sizeof name);
    double err = 0, norm = 0;
    for (size_t e = 0; e < p->numel[i]; e++) {
        if (!in_view(p, i, e))
            continue;
        if (p->spec[i].dtype == CLNET_I32) {
            if (got[e] != ref[e])
                return failf(why, len, "%s element %zu: ref %d, device %d", name, e,
                             (int32_t)ref[e], (int32_t)got[e]);
            continue;
        }
        float a = u2f(got[e]), b = u2f(ref[e]);
        if (!isfinite(a) || !isfinite(b)) {
            if (!same_nonfinite(a, b))
                return failf(why, len, "%s element %zu: ref %g, device %g%s", name, e, b, a,
                             got[e] == SENTINEL_F32 ? " (never written)" : "");
            continue;
        }
        err += ((double)a - b) * ((double)a - b);
        norm += (double)b * b;
    }
    double nmse = norm > 0 ? err / norm : err;
    if (nmse > tc->max_nmse)
        return failf(why, len, "%s: nmse %.3g > %.3g", name, nmse, tc->max_nmse);
    return 0;
}

/* Compares the tensors after step s. */
static int compare(const test_case *tc, const prepared *p, int s, uint32_t *const *ref,
                   uint32_t *const *got, char *why, size_t len)
{
    char at[24], sub[1000];
    step_text(p, s, at, sizeof at);
    for (int i = 0; i < p->count; i++) {
        if (!p->init[i])
            continue;
        const uint32_t *before = i == 0 && s > 0 ? p->step_in[s] : p->init[i];
        if (check_untouched(tc, p, i, before, ref[i], "ref", sub, sizeof sub) ||
            check_untouched(tc, p, i, before, got[i], "device", sub, sizeof sub) ||
            (p->output[i] && compare_output(tc, p, i, ref[i], got[i], sub, sizeof sub)))
            return failf(why, len, "%s%s", at, sub);
    }
    return 0;
}

enum { PASS, FAIL, SKIP, REFUSED };

/* A convolution forced onto one algorithm may be refused when that
 * algorithm cannot run its shape (Winograd on a 5x5 kernel): counted apart,
 * never as a pass. Any other op a device does not support is a skip. */
static bool forced_algorithm(const clnet_op *op)
{
    return op->kind == CLNET_OP_CONV && op->u.conv.algo != CLNET_CONV_ALGO_AUTO;
}

static int run_case(clnet_ctx *ctx, clnet_device *ref, clnet_device *dev, const test_case *tc)
{
    if (!clnet_op_supported(dev, &tc->op)) {
        bool refused = forced_algorithm(&tc->op);
        printf("  %s: %s\n", tc->name, refused ? "REFUSED forced algorithm does not apply"
                                               : "SKIP not supported");
        return refused ? REFUSED : SKIP;
    }
    char why[1024] = "", sub[1000] = "";
    uint32_t *ref_out[MAX_STEPS][MAX_TENSORS] = {{0}}, *dev_out[MAX_STEPS][MAX_TENSORS] = {{0}};
    prepared p;
    int rc = prepare(ctx, tc, &p, why, sizeof why);
    if (!rc && !clnet_op_supported(ref, &tc->op))
        rc = failf(why, sizeof why, "ref does not support it");
    if (!rc && (rc = run_on(ref, tc, &p, ref_out, sub, sizeof sub)))
        failf(why, sizeof why, "ref: %s", sub);
    if (!rc && (rc = run_on(dev, tc, &p, dev_out, sub, sizeof sub)))
        failf(why, sizeof why, "device: %s", sub);
    for (int s = 0; s < p.steps && !rc; s++)
        rc = compare(tc, &p, s, ref_out[s], dev_out[s], why, sizeof why);
    for (int s = 0; s < MAX_STEPS; s++) {
        for (int i = 0; i < MAX_TENSORS; i++) {
            free(ref_out[s][i]);
            free(dev_out[s][i]);
        }
    }
    release(&p);
    printf("  %s: %s%s\n", tc->name, rc ? "FAIL " : "OK", rc ? why : "");
    return rc ? FAIL : PASS;
}

/* Every op kind must have a case that ran on the device (passed or failed,
 * not skipped): a kind without one is untested there, which fails. Returns
 * the number of such kinds. */
static int report_uncovered(const clnet_device_info *info, const bool *ran)
{
    int missing = 0;
    for (int k = 0; k < CLNET_OP_KIND_COUNT; k++) {
        if (!ran[k]) {
            printf("FAIL: op kind %s has no case that runs on device %d (%s)\n",
                   clnet_op_kind_name((clnet_op_kind)k), info->index, info->name);
            missing++;
        }
    }
    return missing;
}

/* No filters select every case; otherwise a case whose name contains one
 * of them. */
static bool selected(const char *name, int nfilters, char *const *filters)
{
    for (int i = 0; i < nfilters; i++)
        if (strstr(name, filters[i]))
            return true;
    return nfilters == 0;
}

int main(int argc, char **argv)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: clnet_ctx_new\n");
        return 1;
    }
    clnet_device *devs[MAX_DEVICES];
    int ndev = 0, rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndev);
    int r = rc ? -1 : test_ref_index(devs, ndev);
    if (!rc && r < 0) {
        printf("FAIL: no ref device\n");
        rc = 1;
    }
    if (rc) {
        clnet_ctx_free(ctx);
        return rc;
    }
    add_forward_cases();
    add_training_cases();
    finish_names();
    int count[4] = {0, 0, 0, 0}, uncovered = 0;
    for (int d = 0; d < ndev; d++) {
        if (d == r)
            continue;
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        printf("Device %d: %s (%s)\n", info.index, info.name, info.platform);
        bool ran[CLNET_OP_KIND_COUNT] = {false};
        for (int c = 0; c < ncases; c++) {
            if (selected(cases[c].name, argc - 1, argv + 1)) {
                int result = run_case(ctx, devs[r], devs[d], &cases[c]);
                count[result]++;
                ran[cases[c].op.kind] |= result == PASS || result == FAIL;
                fflush(stdout);
            }
        }
        if (argc == 1)
            uncovered += report_uncovered(&info, ran);
    }
    /* Where a device is required (CI), every op with the automatic
     * algorithm must run on it: a skip there is a gap, so it fails. */
    const char *req = getenv("CLNET_TEST_REQUIRE_DEVICE");
    bool required = req && *req && strcmp(req, "0") != 0;
    if (required && count[SKIP])
        printf("FAIL: %d cases are not supported on an OpenCL device\n", count[SKIP]);
    printf("backend_ops: %d passed, %d failed, %d skipped (%d forced-algorithm cases refused)\n",
           count[PASS], count[FAIL] + (required ? count[SKIP] : 0), count[SKIP], count[REFUSED]);
    clnet_ctx_free(ctx);
    return count[FAIL] || uncovered || (required && count[SKIP]) ? 1 : 0;
}

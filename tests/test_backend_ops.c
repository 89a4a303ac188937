/* test_backend_ops.c - runs every op kind and variant on `ref` and on every
 * OpenCL device, compares the outputs and checks the guard data around every
 * tensor (modelled on ggml's test-backend-ops). Usage: test_backend_ops [filter]. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_TENSORS (CLNET_OP_MAX_INPUTS + CLNET_OP_MAX_OUTPUTS)
#define MAX_CASES 400
#define MAX_DEVICES 16

/* Bounds on the normalised mean squared error sum((a-b)^2) / sum(b^2). PoCL
 * stays below 1e-13 on every case; the bounds leave room for other summation
 * orders, Winograd and 4-ulp builtins, yet one wrong element among 10^6
 * still fails. */
#define NMSE_EXACT 1e-10  /* copies, maxima, single roundings */
#define NMSE_ELT 1e-8     /* transcendental functions, short reductions */
#define NMSE_SUM 1e-7     /* long reductions: convolution, GEMM, statistics */

/* Every guard element, and every output element before the run, holds a NaN
 * with this payload: an element the op forgot to write, or a guard it wrote,
 * cannot pass for a computed value. */
#define SENTINEL_F32 0x7fc5a5a5u
#define SENTINEL_I32 0x5a5a5a5au

enum fill {
    FILL_UNIFORM,    /* uniform in [lo, hi) */
    FILL_INTS,       /* integers in [lo, hi]: ties for max pooling */
    FILL_SPECIAL,    /* uniform with NaN, +Inf and -Inf mixed in */
    FILL_INFS,       /* uniform with +Inf and -Inf mixed in */
    FILL_ARGMAX,     /* indices a max pooling with the case's window could give */
    FILL_INDEX_ANY,  /* indices anywhere in the unpooled plane */
    FILL_SENTINEL    /* an output the op must write */
};

/* One tensor of a case: the view the op sees. Every tensor is allocated with
 * one extra image before and after it (axis 0) and, for channel views, with
 * extra channels around it (axis 1); those are the guards. */
typedef struct tspec {
    int ndim;                    /* 0: an optional input passed as NULL */
    int64_t dim[CLNET_MAX_DIMS];
    clnet_dtype dtype;
    int fill;
    float lo, hi;
    bool cview;
} tspec;

typedef struct test_case {
    char name[256];
    clnet_op op;
    int nin, nout;
    tspec in[CLNET_OP_MAX_INPUTS];
    bool out_cview[CLNET_OP_MAX_OUTPUTS];
    bool out_init;               /* the op reads its output (GEMM, beta != 0) */
    bool inplace;                /* output 0 is input 0 */
    int window[3];               /* FILL_ARGMAX: kernel, stride, pad of the pooling */
    double max_nmse;
} test_case;

static test_case cases[MAX_CASES];
static int ncases;

/* ---- case construction ---- */

static test_case *new_case(clnet_op op, double max_nmse, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static test_case *new_case(clnet_op op, double max_nmse, const char *fmt, ...)
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

static tspec shape_n(int ndim, const int64_t *dim)
{
    tspec t = {.ndim = ndim, .dtype = CLNET_F32, .fill = FILL_UNIFORM, .lo = -1, .hi = 1};
    memcpy(t.dim, dim, (size_t)ndim * sizeof *dim);
    return t;
}
#define SHAPE(...) shape_n((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                           (int64_t[]){__VA_ARGS__})

static tspec ranged(tspec t, int fill, float lo, float hi)
{
    t.fill = fill;
    t.lo = lo;
    t.hi = hi;
    return t;
}

static tspec chview(tspec t)
{
    t.cview = true;
    return t;
}

static void add_in(test_case *tc, tspec t)
{
    tc->in[tc->nin++] = t;
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
        if (len < sizeof tc->name && (tc->out_cview[0] || tc->inplace))
            snprintf(tc->name + len, sizeof tc->name - len, " ->%s",
                     tc->inplace ? "inplace" : "cv");
    }
}

/* ---- the case table ---- */

enum { BIAS = 1, BIAS_NULL = 2, TRANSPOSE = 4, VIEWS = 8 };

/* A convolution; h == 0 makes it 1-D (N, C, W). In s, d and g, 0 means 1.
 * For TRANSPOSE, c is the input and k the output channel count. */
typedef struct conv_case {
    int n, c, h, w, k, kh, kw;
    int s[2], pad[4], d[2], g, opad[2];   /* pad: top, left, bottom, right */
    int flags;
} conv_case;

static const conv_case conv_cases[] = {
    /* 1x1 */
    {1, 8, 7, 7, 16, 1, 1, .flags = 0},
    {2, 13, 13, 13, 7, 1, 1, .s = {2, 2}, .flags = BIAS},
    {3, 64, 8, 8, 32, 1, 1, .flags = BIAS},
    {1, 1, 1, 1, 1, 1, 1, .flags = 0},
    /* 3x3 */
    {2, 3, 31, 31, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 16, 16, 16, 32, 3, 3, .pad = {1, 1, 1, 1}},
    {4, 32, 14, 14, 32, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 8, 32, 32, 16, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 4, 13, 13, 5, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 2, 13, 13, 3, 3, 3, .s = {3, 3}, .flags = BIAS},
    {1, 3, 7, 7, 4, 3, 3, .flags = 0},
    {2, 5, 7, 13, 6, 3, 3, .s = {1, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 3, 3, 3, 2, 3, 3, .pad = {1, 1, 1, 1}},
    /* 5x5, 7x7, 11x11 */
    {2, 1, 32, 32, 6, 5, 5, .flags = BIAS},
    {2, 3, 13, 13, 6, 5, 5, .pad = {2, 2, 2, 2}},
    {1, 6, 14, 14, 16, 5, 5, .s = {2, 2}, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {1, 3, 31, 31, 8, 7, 7, .s = {2, 2}, .pad = {3, 3, 3, 3}, .flags = BIAS},
    {1, 3, 63, 63, 4, 11, 11, .s = {4, 4}, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {2, 2, 3, 3, 3, 5, 5, .pad = {1, 1, 1, 1}},
    /* non-square kernels, asymmetric padding, even kernels */
    {2, 3, 13, 17, 4, 3, 5, .pad = {1, 2, 1, 2}},
    {1, 4, 9, 9, 4, 1, 7, .pad = {0, 3, 0, 3}, .flags = BIAS},
    {1, 4, 9, 9, 4, 7, 1, .pad = {3, 0, 3, 0}},
    {2, 3, 8, 8, 4, 3, 3, .s = {2, 2}, .pad = {0, 0, 1, 1}, .flags = BIAS},
    {1, 2, 7, 7, 3, 3, 3, .pad = {2, 0, 1, 1}},
    {1, 2, 7, 7, 3, 4, 4, .s = {2, 2}, .pad = {1, 2, 2, 1}},
    /* dilation */
    {2, 3, 13, 13, 4, 3, 3, .pad = {2, 2, 2, 2}, .d = {2, 2}, .flags = BIAS},
    {1, 4, 16, 16, 4, 3, 3, .pad = {3, 3, 3, 3}, .d = {3, 3}},
    {1, 2, 13, 13, 3, 3, 3, .s = {2, 2}, .pad = {1, 2, 1, 2}, .d = {1, 2}},
    {1, 2, 15, 15, 3, 5, 5, .s = {3, 3}, .d = {2, 2}},
    /* groups, depthwise, depth multiplier 2 */
    {2, 4, 7, 7, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 2, .flags = BIAS},
    {1, 6, 13, 13, 9, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 3},
    {2, 6, 8, 8, 6, 1, 1, .g = 3, .flags = BIAS},
    {2, 8, 13, 13, 8, 3, 3, .pad = {1, 1, 1, 1}, .g = 8, .flags = BIAS},
    {1, 16, 16, 16, 16, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 16},
    {1, 7, 7, 7, 7, 5, 5, .pad = {2, 2, 2, 2}, .g = 7, .flags = BIAS},
    {1, 3, 9, 9, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 3},
    {1, 32, 14, 14, 32, 3, 3, .pad = {2, 2, 2, 2}, .d = {2, 2}, .g = 32},
    {2, 3, 7, 7, 4, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS_NULL},
    /* 1-D */
    {2, 3, 0, 31, 4, 0, 3, .pad = {0, 1, 0, 1}, .flags = BIAS},
    {1, 4, 0, 64, 8, 0, 5, .s = {1, 2}, .pad = {0, 2, 0, 2}},
    {3, 2, 0, 13, 4, 0, 3, .d = {1, 2}, .g = 2, .flags = BIAS},
    {1, 8, 0, 7, 8, 0, 1, .flags = 0},
    /* channel slices in and out */
    {2, 4, 7, 7, 6, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    {1, 8, 5, 5, 8, 1, 1, .flags = VIEWS},
    {1, 6, 9, 9, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 6, .flags = VIEWS},
    {2, 3, 0, 13, 2, 0, 3, .flags = VIEWS},
    /* transposed */
    {2, 4, 7, 7, 3, 2, 2, .s = {2, 2}, .flags = TRANSPOSE | BIAS},
    {1, 3, 5, 5, 4, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1}, .flags = TRANSPOSE | BIAS},
    {2, 8, 8, 8, 4, 4, 4, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = TRANSPOSE},
    {1, 4, 13, 13, 5, 3, 3, .pad = {1, 1, 1, 1}, .flags = TRANSPOSE | BIAS},
    {1, 2, 6, 6, 3, 3, 3, .s = {3, 3}, .opad = {2, 1}, .flags = TRANSPOSE},
    {1, 3, 5, 7, 2, 3, 5, .s = {2, 3}, .pad = {0, 2, 1, 1}, .flags = TRANSPOSE},
    {2, 3, 7, 7, 4, 3, 3, .s = {2, 2}, .pad = {2, 2, 2, 2}, .d = {2, 2}, .opad = {1, 1},
     .flags = TRANSPOSE | BIAS},
    {1, 2, 5, 5, 2, 3, 3, .d = {2, 2}, .opad = {1, 1}, .flags = TRANSPOSE},
    {2, 4, 5, 5, 6, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 2, .flags = TRANSPOSE | BIAS},
    {1, 6, 4, 4, 3, 4, 4, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 3, .flags = TRANSPOSE},
    {1, 8, 7, 7, 8, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1}, .g = 8,
     .flags = TRANSPOSE},
    {2, 3, 0, 13, 4, 0, 4, .s = {1, 2}, .pad = {0, 1, 0, 1}, .flags = TRANSPOSE | BIAS},
    {1, 2, 0, 8, 3, 0, 3, .s = {1, 3}, .opad = {0, 2}, .flags = TRANSPOSE},
    {1, 4, 5, 5, 4, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1},
     .flags = TRANSPOSE | VIEWS | BIAS_NULL},
    {1, 16, 7, 7, 8, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1}, .flags = TRANSPOSE | BIAS},
    {1, 1, 1, 1, 1, 1, 1, .flags = TRANSPOSE},
};

static int or1(int v)
{
    return v ? v : 1;
}

static void add_conv(const conv_case *cc)
{
    bool tr = cc->flags & TRANSPOSE, one_d = cc->h == 0;
    int g = or1(cc->g);
    clnet_op op = tr ? clnet_op_conv_transpose(1, 0, 0, 1, g) : clnet_op_conv(1, 0, 1, g);
    clnet_conv_params *p = &op.u.conv;
    for (int i = 0; i < 2; i++) {
        bool unused = one_d && i == 0;
        p->stride[i] = unused ? 1 : or1(cc->s[i]);
        p->dilation[i] = unused ? 1 : or1(cc->d[i]);
        p->pad_begin[i] = unused ? 0 : cc->pad[i];
        p->pad_end[i] = unused ? 0 : cc->pad[2 + i];
        p->output_padding[i] = unused ? 0 : cc->opad[i];
    }
    test_case *tc = new_case(op, NMSE_SUM, "s=%dx%d,p=%d,%d,%d,%d,d=%dx%d,g=%d,op=%dx%d",
                             p->stride[0], p->stride[1], p->pad_begin[0], p->pad_begin[1],
                             p->pad_end[0], p->pad_end[1], p->dilation[0], p->dilation[1], g,
                             p->output_padding[0], p->output_padding[1]);
    int64_t wc = tr ? cc->k / g : cc->c / g, wk = tr ? cc->c : cc->k;
    tspec x = one_d ? SHAPE(cc->n, cc->c, cc->w) : SHAPE(cc->n, cc->c, cc->h, cc->w);
    tspec w = one_d ? SHAPE(wk, wc, cc->kw) : SHAPE(wk, wc, cc->kh, cc->kw);
    x.cview = cc->flags & VIEWS;
    add_in(tc, x);
    add_in(tc, w);
    if (cc->flags & BIAS)
        add_in(tc, SHAPE(cc->k));
    else if (cc->flags & BIAS_NULL)
        add_in(tc, (tspec){0});
    tc->out_cview[0] = cc->flags & VIEWS;
}

enum { PF_CEIL = 1, PF_INCL = 2, PF_GLOBAL = 4, PF_ARGMAX = 8, PF_VIEWS = 16, PF_TIES = 32,
       PF_NEG = 64 };

/* A pooling; h == 0 makes it 1-D. */
typedef struct pool_case {
    int n, c, h, w;
    clnet_pool_mode mode;
    int k[2], s[2], pad[4];      /* pad: top, left, bottom, right */
    int flags;
} pool_case;

static const pool_case pool_cases[] = {
    {2, 3, 8, 8, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = 0},
    {2, 3, 7, 7, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = 0},
    {2, 3, 7, 7, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_CEIL},
    {1, 4, 13, 13, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = 0},
    {1, 4, 16, 16, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_ARGMAX},
    {1, 4, 16, 16, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL},
    {2, 2, 13, 13, CLNET_POOL_MAX, {3, 3}, {2, 2}, .flags = PF_CEIL | PF_ARGMAX},
    {2, 3, 9, 9, CLNET_POOL_MAX, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_ARGMAX},
    {1, 3, 8, 8, CLNET_POOL_MAX, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_NEG | PF_ARGMAX},
    {2, 3, 8, 8, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_TIES | PF_ARGMAX},
    {2, 2, 9, 9, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_TIES | PF_ARGMAX | PF_CEIL},
    {1, 2, 7, 11, CLNET_POOL_MAX, {3, 4}, {1, 2}, {1, 1, 0, 1}, .flags = PF_ARGMAX},
    {3, 5, 31, 31, CLNET_POOL_MAX, {5, 5}, {3, 3}, {2, 2, 2, 2}, .flags = 0},
    {2, 3, 7, 7, CLNET_POOL_MAX, {3, 3}, {2, 2}, .flags = PF_VIEWS | PF_ARGMAX},
    {1, 64, 28, 28, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_ARGMAX},
    {2, 3, 7, 7, CLNET_POOL_MAX, .flags = PF_GLOBAL},
    {2, 3, 7, 7, CLNET_POOL_MAX, .flags = PF_GLOBAL | PF_ARGMAX | PF_TIES},
    {1, 5, 13, 31, CLNET_POOL_AVG, .flags = PF_GLOBAL},
    {4, 16, 1, 1, CLNET_POOL_AVG, .flags = PF_GLOBAL},
    {2, 64, 7, 7, CLNET_POOL_AVG, .flags = PF_GLOBAL | PF_VIEWS},
    {2, 3, 0, 31, CLNET_POOL_MAX, .flags = PF_GLOBAL},
    {2, 3, 8, 8, CLNET_POOL_AVG, {2, 2}, {2, 2}, .flags = 0},
    {2, 3, 7, 7, CLNET_POOL_AVG, {2, 2}, {2, 2}, .flags = PF_CEIL},
    {1, 4, 9, 9, CLNET_POOL_AVG, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = 0},
    {1, 4, 9, 9, CLNET_POOL_AVG, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_INCL},
    {2, 3, 13, 13, CLNET_POOL_AVG, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL},
    {2, 3, 13, 13, CLNET_POOL_AVG, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL | PF_INCL},
    {1, 2, 8, 8, CLNET_POOL_AVG, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL | PF_INCL},
    {1, 3, 31, 31, CLNET_POOL_AVG, {5, 5}, {3, 3}, {2, 2, 2, 2}, .flags = PF_INCL},
    {1, 2, 7, 10, CLNET_POOL_AVG, {2, 3}, {2, 1}, {0, 1, 0, 0}, .flags = PF_INCL},
    {2, 4, 9, 9, CLNET_POOL_AVG, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_VIEWS},
    {2, 3, 0, 31, CLNET_POOL_MAX, {1, 3}, {1, 2}, {0, 1, 0, 1}, .flags = PF_ARGMAX},
    {2, 3, 0, 13, CLNET_POOL_AVG, {1, 2}, {1, 2}, .flags = PF_CEIL},
    {1, 4, 0, 16, CLNET_POOL_AVG, {1, 3}, {1, 1}, {0, 1, 0, 1}, .flags = PF_INCL},
};

static void add_pool(const pool_case *pc)
{
    bool one_d = pc->h == 0, global = pc->flags & PF_GLOBAL;
    clnet_op op = global ? clnet_op_global_pool(pc->mode) : clnet_op_pool(pc->mode, 1, 1, 0);
    clnet_pool_params *p = &op.u.pool;
    if (!global) {
        for (int i = 0; i < 2; i++) {
            bool unused = one_d && i == 0;
            p->kernel[i] = unused ? 1 : pc->k[i];
            p->stride[i] = unused ? 1 : pc->s[i];
            p->pad_begin[i] = unused ? 0 : pc->pad[i];
            p->pad_end[i] = unused ? 0 : pc->pad[2 + i];
        }
        p->ceil_mode = pc->flags & PF_CEIL;
        p->count_include_pad = pc->flags & PF_INCL;
    }
    bool max = pc->mode == CLNET_POOL_MAX;
    test_case *tc = new_case(op, max ? NMSE_EXACT : NMSE_ELT,
                             "%s,%s,k=%dx%d,s=%dx%d,p=%d,%d,%d,%d%s%s", max ? "max" : "avg",
                             global ? "global" : "window", p->kernel[0], p->kernel[1],
                             p->stride[0], p->stride[1], p->pad_begin[0], p->pad_begin[1],
                             p->pad_end[0], p->pad_end[1], p->ceil_mode ? ",ceil" : "",
                             p->count_include_pad ? ",incl_pad" : "");
    tspec x = one_d ? SHAPE(pc->n, pc->c, pc->w) : SHAPE(pc->n, pc->c, pc->h, pc->w);
    if (pc->flags & PF_TIES)
        x = ranged(x, FILL_INTS, 0, 3);
    else if (pc->flags & PF_NEG)
        x = ranged(x, FILL_UNIFORM, -3, -1);
    x.cview = pc->flags & PF_VIEWS;
    add_in(tc, x);
    tc->nout = pc->flags & PF_ARGMAX ? 2 : 1;
    tc->out_cview[0] = tc->out_cview[1] = pc->flags & PF_VIEWS;
}

/* x and argmax (n, c, h, w) unpooled into (out_h, out_w); the indices come
 * from windows k/s/pad, or from anywhere in the plane when k == 0. */
static void add_unpool(int n, int c, int h, int w, int out_h, int out_w, int k, int s, int pad)
{
    clnet_op op = {.kind = CLNET_OP_UNPOOL};
    op.u.unpool.out_h = out_h;
    op.u.unpool.out_w = out_w;
    test_case *tc = new_case(op, NMSE_EXACT, "out=%dx%d,indices=%s", out_h, out_w,
                             k ? "window" : "any");
    add_in(tc, SHAPE(n, c, h, w));
    tspec idx = ranged(SHAPE(n, c, h, w), k ? FILL_ARGMAX : FILL_INDEX_ANY, 0, 0);
    idx.dtype = CLNET_I32;
    add_in(tc, idx);
    tc->window[0] = k;
    tc->window[1] = s;
    tc->window[2] = pad;
}

static const char *const act_names[CLNET_ACT_COUNT] = {
    "relu", "leaky_relu", "relu6", "sigmoid", "tanh", "swish", "hard_swish", "hard_sigmoid"};

static test_case *add_act(clnet_activation fn, float alpha, tspec x)
{
    bool smooth = fn == CLNET_ACT_SIGMOID || fn == CLNET_ACT_TANH || fn == CLNET_ACT_SWISH;
    test_case *tc = new_case(clnet_op_activation(fn, alpha), smooth ? NMSE_ELT : NMSE_EXACT,
                             "%s,alpha=%g", act_names[fn], alpha);
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
    return tc;
}

static void add_act_cases(void)
{
    for (int fn = 0; fn < CLNET_ACT_COUNT; fn++) {
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8));
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(1, 13), FILL_UNIFORM, -8, 8));
    }
    add_act(CLNET_ACT_LEAKY_RELU, 0.01f, ranged(SHAPE(3, 1000), FILL_UNIFORM, -8, 8));
    add_act(CLNET_ACT_TANH, 0, ranged(SHAPE(2, 5, 31), FILL_UNIFORM, -8, 8));
    add_act(CLNET_ACT_HARD_SWISH, 0, ranged(SHAPE(8, 64, 16, 16), FILL_UNIFORM, -8, 8));
    /* non-finite inputs and large magnitudes (exp overflows) */
    add_act(CLNET_ACT_RELU, 0, ranged(SHAPE(4, 31), FILL_SPECIAL, -8, 8));
    add_act(CLNET_ACT_LEAKY_RELU, 0.1f, ranged(SHAPE(4, 31), FILL_SPECIAL, -8, 8));
    add_act(CLNET_ACT_RELU6, 0, ranged(SHAPE(4, 31), FILL_INFS, -8, 8));
    add_act(CLNET_ACT_SIGMOID, 0, ranged(SHAPE(4, 31), FILL_INFS, -8, 8));
    add_act(CLNET_ACT_TANH, 0, ranged(SHAPE(4, 31), FILL_INFS, -8, 8));
    add_act(CLNET_ACT_SIGMOID, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    add_act(CLNET_ACT_TANH, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    add_act(CLNET_ACT_SWISH, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    add_act(CLNET_ACT_HARD_SIGMOID, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    /* y is x; channel slices */
    add_act(CLNET_ACT_RELU, 0, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8))->inplace = true;
    add_act(CLNET_ACT_SWISH, 0, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8))->inplace = true;
    add_act(CLNET_ACT_RELU, 0, chview(ranged(SHAPE(2, 4, 5, 5), FILL_UNIFORM, -8, 8)));
    add_act(CLNET_ACT_SIGMOID, 0, chview(ranged(SHAPE(2, 4, 5, 5), FILL_UNIFORM, -8, 8)));
}

static void add_bn(tspec x, float eps)
{
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM);
    op.u.bn.eps = eps;
    test_case *tc = new_case(op, NMSE_ELT, "eps=%g", eps);
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, SHAPE(c));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, 0.1f, 2));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    add_in(tc, SHAPE(c));
    tc->out_cview[0] = x.cview;
}

static void add_bn_stats(tspec x)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_BATCHNORM_STATS), NMSE_SUM,
                             "range=%g..%g", x.lo, x.hi);
    add_in(tc, x);
    tc->nout = 2;
}

static void add_lrn(tspec x, int size, float alpha, float beta, float k)
{
    clnet_op op = {.kind = CLNET_OP_LRN};
    op.u.lrn = (clnet_lrn_params){.size = size, .alpha = alpha, .beta = beta, .k = k};
    test_case *tc = new_case(op, NMSE_ELT, "size=%d,alpha=%g,beta=%g,k=%g", size, alpha, beta, k);
    add_in(tc, ranged(x, FILL_UNIFORM, -2, 2));
    tc->out_cview[0] = x.cview;
}

static test_case *add_dropout(tspec x, float p, uint64_t seed, bool training)
{
    clnet_op op = {.kind = CLNET_OP_DROPOUT};
    op.u.dropout = (clnet_dropout_params){.p = p, .seed = seed, .training = training};
    test_case *tc = new_case(op, NMSE_EXACT, "p=%g,seed=%llu,%s", p, (unsigned long long)seed,
                             training ? "training" : "inference");
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
    return tc;
}

/* bias: 0 none, 1 present, 2 passed as NULL */
static void add_linear(tspec x, int64_t m, int bias, bool out_view)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_LINEAR), NMSE_SUM, "m=%lld", (long long)m);
    int64_t f = 1;
    for (int i = 1; i < x.ndim; i++)
        f *= x.dim[i];
    add_in(tc, x);
    add_in(tc, SHAPE(m, f));
    if (bias)
        add_in(tc, bias == 1 ? SHAPE(m) : (tspec){0});
    tc->out_cview[0] = out_view;
}

static void add_gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta,
                     bool views)
{
    clnet_op op = {.kind = CLNET_OP_GEMM};
    op.u.gemm = (clnet_gemm_params){.trans_a = ta, .trans_b = tb, .alpha = alpha, .beta = beta};
    test_case *tc = new_case(op, NMSE_SUM, "m=%lld,n=%lld,k=%lld,%s%s,alpha=%g,beta=%g",
                             (long long)m, (long long)n, (long long)k, ta ? "T" : "N",
                             tb ? "T" : "N", alpha, beta);
    tspec a = ta ? SHAPE(k, m) : SHAPE(m, k), b = tb ? SHAPE(n, k) : SHAPE(k, n);
    a.cview = b.cview = views;
    add_in(tc, a);
    add_in(tc, b);
    tc->out_cview[0] = views;
    tc->out_init = beta != 0;
}

static void add_softmax(tspec x, bool log)
{
    clnet_op op = clnet_op_simple(CLNET_OP_SOFTMAX);
    op.u.softmax.log = log;
    test_case *tc = new_case(op, NMSE_ELT, "%s,range=%g..%g", log ? "log" : "plain", x.lo, x.hi);
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
}

static test_case *add_binary(clnet_binary_fn fn, tspec a, tspec b)
{
    clnet_op op = {.kind = CLNET_OP_BINARY};
    op.u.binary.fn = fn;
    test_case *tc = new_case(op, NMSE_EXACT, "%s", fn == CLNET_BINARY_ADD ? "add" : "mul");
    add_in(tc, a);
    add_in(tc, b);
    tc->out_cview[0] = a.cview;
    return tc;
}

static test_case *add_bias_add(tspec x)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_BIAS_ADD), NMSE_EXACT, "%s", "");
    add_in(tc, x);
    add_in(tc, SHAPE(x.dim[1]));
    tc->out_cview[0] = x.cview;
    return tc;
}

static void add_concat(int nin, const tspec *x, bool out_view)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_CONCAT), NMSE_EXACT, "n=%d", nin);
    for (int i = 0; i < nin; i++)
        add_in(tc, x[i]);
    tc->out_cview[0] = out_view;
}

static void add_norm_cases(void)
{
    add_bn(SHAPE(2, 4, 7, 7), 1e-5f);
    add_bn(SHAPE(1, 3, 13, 13), 1e-3f);
    add_bn(SHAPE(4, 16), 1e-5f);
    add_bn(SHAPE(2, 5, 31), 1e-5f);
    add_bn(chview(SHAPE(2, 6, 5, 5)), 1e-5f);
    add_bn(SHAPE(8, 32, 8, 8), 1e-5f);
    add_bn_stats(SHAPE(2, 4, 7, 7));
    add_bn_stats(SHAPE(8, 16, 8, 8));
    add_bn_stats(SHAPE(4, 3));
    add_bn_stats(SHAPE(1, 3, 1, 1));
    add_bn_stats(SHAPE(3, 5, 31));
    add_bn_stats(ranged(SHAPE(2, 3, 13, 13), FILL_UNIFORM, 100, 101));
    add_bn_stats(chview(SHAPE(2, 6, 5, 5)));
    add_lrn(SHAPE(2, 4, 5, 5), 1, 1, 0.75f, 1);
    add_lrn(SHAPE(2, 7, 5, 5), 3, 1, 0.75f, 1);
    add_lrn(SHAPE(1, 13, 7, 7), 5, 1e-4f, 0.75f, 2);
    add_lrn(SHAPE(1, 13, 7, 7), 5, 1, 0.75f, 1);
    add_lrn(SHAPE(1, 6, 3, 3), 4, 2, 0.5f, 1);
    add_lrn(SHAPE(2, 3, 4, 4), 5, 1, 0.75f, 1);
    add_lrn(chview(SHAPE(2, 8, 5, 5)), 5, 1, 0.75f, 1);
}

static void add_misc_cases(void)
{
    add_dropout(SHAPE(2, 3, 7, 7), 0.5f, 42, true);
    add_dropout(SHAPE(1, 1000), 0.1f, 0x123456789abcdefULL, true);
    add_dropout(SHAPE(4, 31), 0.9f, 7, true);
    add_dropout(SHAPE(2, 13), 0, 7, true);
    add_dropout(SHAPE(2, 3, 7, 7), 0.5f, 42, false);
    add_dropout(SHAPE(3, 5, 7), 0.3f, 99, true)->inplace = true;
    add_dropout(chview(SHAPE(2, 6, 4, 4)), 0.5f, 5, true);

    add_linear(SHAPE(2, 16), 10, 1, false);
    add_linear(SHAPE(1, 1), 1, 1, false);
    add_linear(SHAPE(3, 4, 5, 5), 7, 1, false);
    add_linear(SHAPE(5, 31), 13, 0, false);
    add_linear(SHAPE(4, 64), 32, 2, false);
    add_linear(SHAPE(2, 3, 7, 7), 10, 0, false);
    add_linear(SHAPE(64, 256), 128, 1, false);
    add_linear(chview(SHAPE(2, 8, 3, 3)), 5, 1, true);

    for (int t = 0; t < 4; t++) {
        add_gemm(13, 7, 31, t & 1, t & 2, 1, 0, false);
        add_gemm(7, 13, 3, t & 1, t & 2, -1.5f, 0.5f, false);
    }
    add_gemm(1, 1, 1, false, false, 1, 0, false);
    add_gemm(64, 64, 64, false, false, 1, 0, false);
    add_gemm(33, 65, 17, true, false, 0.5f, 2, false);
    add_gemm(128, 96, 200, false, true, 1, 0, false);
    add_gemm(3, 1, 5, true, true, 2, 0.5f, false);
    add_gemm(13, 7, 31, false, false, 1, 1, true);
    add_gemm(7, 5, 9, true, true, 1, 0, true);

    add_softmax(SHAPE(2, 10), false);
    add_softmax(SHAPE(1, 1), false);
    add_softmax(SHAPE(3, 1000), false);
    add_softmax(SHAPE(2, 5, 7, 7), false);
    add_softmax(SHAPE(2, 31, 13), false);
    add_softmax(SHAPE(2, 10), true);
    add_softmax(SHAPE(3, 1000), true);
    add_softmax(SHAPE(2, 5, 7, 7), true);
    add_softmax(ranged(SHAPE(4, 31), FILL_UNIFORM, -1e4f, 1e4f), false);
    add_softmax(ranged(SHAPE(4, 31), FILL_UNIFORM, -1e4f, 1e4f), true);
    add_softmax(ranged(SHAPE(4, 13), FILL_UNIFORM, -2e4f, -1e4f), false);
    add_softmax(ranged(SHAPE(4, 13), FILL_UNIFORM, -2e4f, -1e4f), true);
    add_softmax(chview(SHAPE(2, 64, 3, 3)), false);

    add_binary(CLNET_BINARY_ADD, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 7, 7));
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 7, 7));
    add_binary(CLNET_BINARY_ADD, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 1, 1));
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 16, 5, 5), SHAPE(2, 16, 1, 1));
    add_binary(CLNET_BINARY_ADD, SHAPE(3, 13), SHAPE(3, 13));
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 4, 9), SHAPE(2, 4, 1));
    add_binary(CLNET_BINARY_ADD, ranged(SHAPE(4, 31), FILL_SPECIAL, -4, 4),
               ranged(SHAPE(4, 31), FILL_SPECIAL, -4, 4));
    add_binary(CLNET_BINARY_MUL, ranged(SHAPE(4, 31), FILL_INFS, -4, 4), SHAPE(4, 31));
    add_binary(CLNET_BINARY_ADD, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 7, 7))->inplace = true;
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 8, 4, 4), SHAPE(2, 8, 1, 1))->inplace = true;
    add_binary(CLNET_BINARY_ADD, chview(SHAPE(2, 5, 4, 4)), chview(SHAPE(2, 5, 4, 4)));
    add_binary(CLNET_BINARY_MUL, chview(SHAPE(2, 5, 4, 4)), SHAPE(2, 5, 1, 1));
    add_binary(CLNET_BINARY_ADD, SHAPE(8, 64, 16, 16), SHAPE(8, 64, 16, 16));

    add_bias_add(SHAPE(2, 3, 7, 7));
    add_bias_add(SHAPE(4, 10));
    add_bias_add(SHAPE(2, 5, 13));
    add_bias_add(SHAPE(2, 8, 4, 4))->inplace = true;
    add_bias_add(chview(SHAPE(2, 6, 3, 3)));

    add_concat(2, (tspec[]){SHAPE(2, 3, 5, 5), SHAPE(2, 4, 5, 5)}, false);
    add_concat(4, (tspec[]){SHAPE(1, 1, 7, 7), SHAPE(1, 2, 7, 7), SHAPE(1, 3, 7, 7),
                            SHAPE(1, 4, 7, 7)}, false);
    add_concat(2, (tspec[]){SHAPE(3, 5), SHAPE(3, 7)}, false);
    add_concat(3, (tspec[]){SHAPE(2, 3, 13), SHAPE(2, 1, 13), SHAPE(2, 2, 13)}, false);
    add_concat(2, (tspec[]){chview(SHAPE(2, 3, 4, 4)), chview(SHAPE(2, 5, 4, 4))}, true);
    add_concat(4, (tspec[]){SHAPE(2, 2, 3, 3), chview(SHAPE(2, 1, 3, 3)), SHAPE(2, 3, 3, 3),
                            chview(SHAPE(2, 2, 3, 3))}, true);
}

static void build_cases(void)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        add_conv(&conv_cases[i]);
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++)
        add_pool(&pool_cases[i]);
    add_unpool(2, 3, 4, 4, 8, 8, 2, 2, 0);
    add_unpool(1, 4, 7, 7, 13, 13, 3, 2, 1);
    add_unpool(2, 2, 3, 3, 7, 7, 2, 2, 0);
    add_unpool(2, 2, 5, 5, 6, 6, 0, 0, 0);
    add_unpool(1, 16, 14, 14, 28, 28, 2, 2, 0);
    add_act_cases();
    add_norm_cases();
    add_misc_cases();
    finish_names();
}

/* ---- preparing, running and comparing one case ---- */

/* The tensors of a case (inputs, then outputs) and their contents. */
typedef struct prepared {
    int count;
    tspec spec[MAX_TENSORS];
    int64_t base[MAX_TENSORS][CLNET_MAX_DIMS];  /* allocated shape, guards included */
    size_t numel[MAX_TENSORS];                  /* of the allocation */
    uint32_t *init[MAX_TENSORS];   /* contents before the run; NULL: no tensor of its own */
    bool output[MAX_TENSORS];
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

/* An index into the unpooled plane that a max pooling window could pick for
 * pooled position `pos` of a plane of the argmax tensor. */
static uint32_t window_index(const test_case *tc, const tspec *t, int64_t pos, test_rng *rng)
{
    int64_t w = t->dim[t->ndim - 1], at[2] = {pos / w, pos % w};
    int64_t size[2] = {tc->op.u.unpool.out_h, tc->op.u.unpool.out_w}, pick[2];
    for (int a = 0; a < 2; a++) {
        int64_t lo = at[a] * tc->window[1] - tc->window[2], hi = lo + tc->window[0];
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
    case FILL_INDEX_ANY:
        return (uint32_t)(test_rng_next(rng) %
                          (uint64_t)(tc->op.u.unpool.out_h * tc->op.u.unpool.out_w));
    case FILL_SENTINEL:
        return t->dtype == CLNET_I32 ? SENTINEL_I32 : SENTINEL_F32;
    default:
        return f2u(test_rng_uniform(rng, t->lo, t->hi));
    }
}

/* Fills tensor i's allocation: data inside the view; outside it, NaN for an F32
 * input (an op that reads it poisons its output), index 0 for an I32 input
 * (it must stay a valid index), the sentinel for an output. */
static int fill_tensor(const test_case *tc, prepared *p, int i, test_rng *rng)
{
    const tspec *t = &p->spec[i];
    int64_t plane = image_numel(t->dim, t->ndim) / (t->ndim > 1 ? t->dim[1] : 1);
    uint32_t guard = p->output[i] ? (t->dtype == CLNET_I32 ? SENTINEL_I32 : SENTINEL_F32)
                                  : (t->dtype == CLNET_I32 ? 0 : f2u(NAN));
    p->init[i] = malloc(p->numel[i] * sizeof(uint32_t));
    if (!p->init[i])
        return 1;
    for (size_t e = 0; e < p->numel[i]; e++)
        p->init[i][e] = in_view(p, i, e) ? make_value(tc, t, (int64_t)e % plane, rng) : guard;
    return 0;
}

static void release(prepared *p)
{
    for (int i = 0; i < p->count; i++)
        free(p->init[i]);
}

static clnet_shape shape_of(const tspec *t)
{
    clnet_shape s = {.ndim = t->ndim};
    memcpy(s.dim, t->dim, sizeof s.dim);
    return s;
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
    p->count = tc->nin + tc->nout;
    for (int i = 0; i < tc->nin; i++)
        p->spec[i] = tc->in[i];
    for (int j = 0; j < tc->nout; j++) {
        tspec *t = &p->spec[tc->nin + j];
        *t = ranged(shape_n(oshapes[j].ndim, oshapes[j].dim),
                    tc->out_init ? FILL_UNIFORM : FILL_SENTINEL, -1, 1);
        t->dtype = odtypes[j];
        t->cview = tc->out_cview[j];
        p->output[tc->nin + j] = true;
    }
    p->output[0] |= tc->inplace;
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
        if (fill_tensor(tc, p, i, &rng))
            return failf(why, len, "out of host memory");
    }
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

/* Runs the case on dev; result[i] receives tensor i's whole allocation. */
static int run_on(clnet_device *dev, const test_case *tc, const prepared *p, uint32_t **result,
                  char *why, size_t len)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_tensor *base[MAX_TENSORS] = {0}, *view[MAX_TENSORS] = {0};
    int rc = 0;
    for (int i = 0; i < p->count && !rc; i++)
        if (p->init[i])
            rc = make_tensor(dev, p, i, &base[i], &view[i], why, len);
    if (!rc) {
        clnet_tensor *out[CLNET_OP_MAX_OUTPUTS];
        for (int j = 0; j < tc->nout; j++)
            out[j] = tc->inplace && j == 0 ? view[0] : view[tc->nin + j];
        clnet_status st = clnet_op_run(dev, &tc->op, tc->nin, view, tc->nout, out);
        if (st != CLNET_OK)
            rc = failf(why, len, "run: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    }
    for (int i = 0; i < p->count && !rc; i++) {
        if (!base[i])
            continue;
        result[i] = malloc(p->numel[i] * sizeof(uint32_t));
        clnet_status st = result[i] ? clnet_tensor_read(base[i], result[i],
                                                        p->numel[i] * sizeof(uint32_t))
                                    : CLNET_ERR_HOST_MEMORY;
        if (st != CLNET_OK)
            rc = failf(why, len, "read %d: %s: %s", i, clnet_status_str(st), clnet_last_error(ctx));
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
        snprintf(buf, len, "%s %d", tc->inplace && i == 0 ? "in/output" : "input", i);
    else
        snprintf(buf, len, "output %d", i - tc->nin);
    return buf;
}

/* Everything the op must not write (guards, inputs) must still hold what was
 * written before the run, bit for bit. */
static int check_untouched(const test_case *tc, const prepared *p, int i, const uint32_t *got,
                           const char *who, char *why, size_t len)
{
    char name[32];
    for (size_t e = 0; e < p->numel[i]; e++) {
        if (p->output[i] && in_view(p, i, e))
            continue;
        if (got[e] != p->init[i][e])
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

static int compare(const test_case *tc, const prepared *p, uint32_t *const *ref,
                   uint32_t *const *got, char *why, size_t len)
{
    for (int i = 0; i < p->count; i++) {
        if (!p->init[i])
            continue;
        if (check_untouched(tc, p, i, ref[i], "ref", why, len) ||
            check_untouched(tc, p, i, got[i], "device", why, len))
            return 1;
        if (p->output[i] && compare_output(tc, p, i, ref[i], got[i], why, len))
            return 1;
    }
    return 0;
}

enum { PASS, FAIL, SKIP };

static int run_case(clnet_ctx *ctx, clnet_device *ref, clnet_device *dev, const test_case *tc)
{
    if (!clnet_op_supported(dev, &tc->op)) {
        printf("  %s: SKIP not supported\n", tc->name);
        return SKIP;
    }
    char why[1024] = "", sub[1000] = "";
    uint32_t *ref_out[MAX_TENSORS] = {0}, *dev_out[MAX_TENSORS] = {0};
    prepared p;
    int rc = prepare(ctx, tc, &p, why, sizeof why);
    if (!rc && !clnet_op_supported(ref, &tc->op))
        rc = failf(why, sizeof why, "ref does not support it");
    if (!rc && (rc = run_on(ref, tc, &p, ref_out, sub, sizeof sub)))
        failf(why, sizeof why, "ref: %s", sub);
    if (!rc && (rc = run_on(dev, tc, &p, dev_out, sub, sizeof sub)))
        failf(why, sizeof why, "device: %s", sub);
    if (!rc)
        rc = compare(tc, &p, ref_out, dev_out, why, sizeof why);
    for (int i = 0; i < MAX_TENSORS; i++) {
        free(ref_out[i]);
        free(dev_out[i]);
    }
    release(&p);
    printf("  %s: %s%s\n", tc->name, rc ? "FAIL " : "OK", rc ? why : "");
    return rc ? FAIL : PASS;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
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
    build_cases();
    int count[3] = {0, 0, 0};
    for (int d = 0; d < ndev; d++) {
        if (d == r)
            continue;
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        printf("Device %d: %s (%s)\n", info.index, info.name, info.platform);
        for (int c = 0; c < ncases; c++) {
            if (!filter || strstr(cases[c].name, filter)) {
                count[run_case(ctx, devs[r], devs[d], &cases[c])]++;
                fflush(stdout);
            }
        }
    }
    printf("backend_ops: %d passed, %d failed, %d skipped\n", count[PASS], count[FAIL], count[SKIP]);
    clnet_ctx_free(ctx);
    return count[FAIL] ? 1 : 0;
}

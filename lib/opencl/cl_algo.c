/* cl_algo.c - the table of forward convolution algorithms of the OpenCL
 * backend and the choice among them (forced, tuned or by the static rule). */
#include "opencl/cl_algo.h"

#include <stdio.h>

static bool direct_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    (void)g;
    return true;
}

static bool direct_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    (void)g;
    return true;
}

/* Rows in order of preference for the static rule: the specialised
 * algorithms first, each claiming the shapes it was measured to win on
 * (see its `preferred`), and direct last, which takes everything. */
static const clnet_cl_conv_impl impls[] = {
    {CLNET_CONV_ALGO_SINGLE_TAP, "single_tap", clnet_cl_single_tap_supports,
     clnet_cl_single_tap_applies, clnet_cl_single_tap_applies, clnet_cl_conv_single_tap, false},
    {CLNET_CONV_ALGO_SPACE_TO_DEPTH, "space_to_depth", clnet_cl_s2d_supports,
     clnet_cl_s2d_applies, clnet_cl_s2d_forward_preferred, clnet_cl_conv_s2d, true},
    {CLNET_CONV_ALGO_DEPTHWISE, "depthwise", NULL, clnet_cl_depthwise_applies,
     clnet_cl_depthwise_preferred, clnet_cl_conv_depthwise, true},
    {CLNET_CONV_ALGO_DIRECT_3X3, "direct_3x3", clnet_cl_direct3x3_supports,
     clnet_cl_direct3x3_applies, clnet_cl_direct3x3_preferred, clnet_cl_conv_direct3x3, true},
    {CLNET_CONV_ALGO_WINOGRAD_4X4, "winograd_4x4", clnet_cl_winograd_supports,
     clnet_cl_winograd4_applies, clnet_cl_winograd4_preferred, clnet_cl_conv_winograd4, true},
    {CLNET_CONV_ALGO_WINOGRAD, "winograd", clnet_cl_winograd_supports,
     clnet_cl_winograd_applies, clnet_cl_winograd_preferred, clnet_cl_conv_winograd2, true},
    {CLNET_CONV_ALGO_DIRECT_ROWS, "direct_rows", clnet_cl_rows_supports, clnet_cl_rows_applies,
     clnet_cl_rows_preferred, clnet_cl_conv_rows, true},
    {CLNET_CONV_ALGO_GEMM_1X1, "gemm_1x1", clnet_cl_gemm1x1_supports, clnet_cl_gemm1x1_applies,
     clnet_cl_gemm1x1_preferred, clnet_cl_conv_gemm1x1, false},
    {CLNET_CONV_ALGO_IM2COL, "im2col", NULL, clnet_cl_im2col_applies, clnet_cl_im2col_preferred,
     clnet_cl_conv_im2col, false},
    {CLNET_CONV_ALGO_DIRECT, "direct", NULL, direct_applies, direct_preferred,
     clnet_cl_conv_direct, false},
};
#define NIMPLS (int)(sizeof impls / sizeof impls[0])

const clnet_cl_conv_impl *clnet_cl_conv_impls(int *count)
{
    *count = NIMPLS;
    return impls;
}

const clnet_cl_conv_impl *clnet_cl_conv_impl_of(clnet_conv_algo algo)
{
    for (int i = 0; i < NIMPLS; i++)
        if (impls[i].algo == algo)
            return &impls[i];
    return NULL;
}

bool clnet_cl_conv_supported(const clnet_conv_params *p)
{
    if (p->algo == CLNET_CONV_ALGO_AUTO)
        return true;
    const clnet_cl_conv_impl *impl = clnet_cl_conv_impl_of(p->algo);
    return impl && (!impl->supports || impl->supports(p));
}

static const clnet_cl_conv_impl *static_choice(const clnet_device *dev, const clnet_conv_geom *g)
{
    for (int i = 0; i < NIMPLS; i++)
        if (impls[i].preferred && impls[i].preferred(dev, g))
            return &impls[i];
    return clnet_cl_conv_impl_of(CLNET_CONV_ALGO_DIRECT);
}

const clnet_cl_conv_impl *clnet_cl_conv_choice(clnet_device *dev, const clnet_op *op,
                                               const clnet_conv_geom *g)
{
    if (op->u.conv.algo != CLNET_CONV_ALGO_AUTO) {
        const clnet_cl_conv_impl *impl = clnet_cl_conv_impl_of(op->u.conv.algo);
        return impl && impl->applies(dev, g) ? impl : NULL;
    }
    const clnet_cl_conv_impl *impl = clnet_cl_tuned_impl(dev, g);
    return impl && impl->applies(dev, g) ? impl : static_choice(dev, g);
}

/* The algorithm op runs with on g (logged at debug level where op leaves
 * it AUTO), or CLNET_ERR_UNSUPPORTED where op forces one that cannot run
 * g. */
static clnet_status chosen(clnet_device *dev, const clnet_op *op, const clnet_conv_geom *g,
                           const clnet_cl_conv_impl **impl)
{
    *impl = clnet_cl_conv_choice(dev, op, g);
    if (!*impl) {
        const clnet_cl_conv_impl *forced = clnet_cl_conv_impl_of(op->u.conv.algo);
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED,
                          "conv on %s: the forced algorithm %s cannot run this convolution "
                          "(%lldx%lld window, stride %lldx%lld, groups %lld)", dev->info.name,
                          forced ? forced->name : "(unknown)", (long long)g->kh, (long long)g->kw,
                          (long long)g->stride_h, (long long)g->stride_w, (long long)g->groups);
    }
    if (op->u.conv.algo == CLNET_CONV_ALGO_AUTO)
        clnet_log(dev->ctx, CLNET_LOG_DEBUG,
                  "conv on %s: %lldx%lldx%lldx%lld to %lld channels, %lldx%lld window, stride "
                  "%lldx%lld, groups %lld: algorithm %s",
                  dev->info.name, (long long)g->n, (long long)g->c, (long long)g->h,
                  (long long)g->w, (long long)g->k, (long long)g->kh, (long long)g->kw,
                  (long long)g->stride_h, (long long)g->stride_w, (long long)g->groups,
                  (*impl)->name);
    return CLNET_OK;
}

clnet_status clnet_cl_plan(clnet_device *dev, clnet_op *op, const clnet_shape *in,
                           const clnet_shape *out)
{
    if (op->kind != CLNET_OP_CONV)
        return CLNET_OK;
    const clnet_conv_geom g = clnet_conv_geom_of_shapes(op, &in[0], &in[1], &out[0]);
    const clnet_cl_conv_impl *impl;
    TRY(chosen(dev, op, &g, &impl));
    op->u.conv.algo = impl->algo;
    return CLNET_OK;
}

clnet_status clnet_cl_conv_forward(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const clnet_cl_conv_impl *impl;
    TRY(chosen(dev, op, &g, &impl));
    clnet_status st = impl->run(dev, op, x, w, b, y);
    if (st == CLNET_OK && op->u.conv.fuse_act && !impl->fuses_act)
        st = clnet_cl_activation(dev, &op->u.conv.act, y, y);
    return st;
}

void clnet_cl_fused_act(const clnet_op *op, cl_int *fn, cl_float *alpha)
{
    const bool fused = op->kind == CLNET_OP_CONV && op->u.conv.fuse_act;
    *fn = fused ? (cl_int)op->u.conv.act.fn : -1;
    *alpha = fused ? op->u.conv.act.alpha : 0.0f;
}

/* cl_conv3x3.c - ALGO_DIRECT_3X3: the direct kernel of cl/conv3x3.cl for
 * 3x3 stride-1 convolutions with few channels, where the GEMM of im2col is
 * thin (16 output channels) and Winograd's transforms cost more than they
 * save: the input zero-padded once, the weights as vectors of output
 * channels, and a register block of output pixels per work-item. */
#include "opencl/cl_algo.h"

#include <limits.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* KV, TR and TW of cl/conv3x3.cl: output channels, rows and columns of a
 * work-item. */
#define C3_KV 16
#define C3_TR 2
#define C3_TW 8

/* The scratch: the laid-out weights and bias, then the padded planes, whose
 * slack rows and columns keep the reads of partial blocks inside. */
typedef struct c3_plan {
    int64_t kblocks, oh_blocks, ow_blocks, hp, wp;
    int64_t wt_elems, xp_elems;
} c3_plan;

static c3_plan plan_of(const clnet_conv_geom *g)
{
    c3_plan p;
    p.kblocks = clnet_ceil_div(g->k, C3_KV);
    p.oh_blocks = clnet_ceil_div(g->oh, C3_TR);
    p.ow_blocks = clnet_ceil_div(g->ow, C3_TW);
    p.hp = p.oh_blocks * C3_TR + 2;
    p.wp = p.ow_blocks * C3_TW + 2;
    p.wt_elems = p.kblocks * (g->c * 9 + 1) * C3_KV;
    p.xp_elems = g->n * g->c * p.hp * p.wp;
    return p;
}

bool clnet_cl_direct3x3_supports(const clnet_conv_params *p)
{
    return (p->kernel[0] == 0 || p->kernel[0] == 3) && (p->kernel[1] == 0 || p->kernel[1] == 3) &&
           p->stride[0] == 1 && p->stride[1] == 1 && p->dilation[0] == 1 &&
           p->dilation[1] == 1 && p->groups <= 1;
}

bool clnet_cl_direct3x3_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    if (g->kh != 3 || g->kw != 3 || g->stride_h != 1 || g->stride_w != 1 || g->dil_h != 1 ||
        g->dil_w != 1 || g->groups != 1)
        return false;
    const c3_plan p = plan_of(g);
    const int64_t bytes = (p.wt_elems + p.xp_elems) * (int64_t)sizeof(cl_float);
    return p.wt_elems + p.xp_elems <= INT_MAX &&
           (dev->info.max_alloc_bytes == 0 || (uint64_t)bytes <= dev->info.max_alloc_bytes);
}

bool clnet_cl_direct3x3_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    return clnet_cl_direct3x3_applies(dev, g) && g->c <= 64 && g->k >= 16 && g->k <= 64;
}

static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, const size_t global[3])
{
    return clnet_cl_launch_program(dev, "conv3x3", name, nargs, args, 3, global);
}

clnet_status clnet_cl_conv_direct3x3(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const c3_plan p = plan_of(&g);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(
        dev, (size_t)(p.wt_elems + p.xp_elems) * sizeof(cl_float), &scratch);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), wa = clnet_cl_targs(w), ya = clnet_cl_targs(y);
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : wa;
    cl_int c = (cl_int)g.c, k = (cl_int)g.k, h = (cl_int)g.h, wd = (cl_int)g.w;
    cl_int oh = (cl_int)g.oh, ow = (cl_int)g.ow, has_bias = b != NULL;
    cl_int hp = (cl_int)p.hp, wp = (cl_int)p.wp, xp_off = (cl_int)p.wt_elems;
    cl_int pad_h = (cl_int)g.pad_h, pad_w = (cl_int)g.pad_w;

    const clnet_cl_arg wargs[] = {
        CLNET_CL_TENSOR(wa), CLNET_CL_ARG(c), CLNET_CL_ARG(k), CLNET_CL_ARG(ba.mem),
        CLNET_CL_ARG(ba.offset), CLNET_CL_ARG(has_bias), CLNET_CL_ARG(scratch),
    };
    const size_t wglobal[3] = {(size_t)(g.c * 9 + 1), (size_t)p.kblocks, 1};
    st = launch(dev, "c3_weights", NARGS(wargs), wargs, wglobal);

    const clnet_cl_arg pargs[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_ARG(c), CLNET_CL_ARG(h), CLNET_CL_ARG(wd),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(hp), CLNET_CL_ARG(wp),
        CLNET_CL_ARG(pad_h), CLNET_CL_ARG(pad_w),
    };
    const size_t pglobal[3] = {(size_t)p.wp, (size_t)p.hp, (size_t)(g.n * g.c)};
    if (st == CLNET_OK)
        st = launch(dev, "c3_pad", NARGS(pargs), pargs, pglobal);

    cl_int act_fn;
    cl_float act_alpha;
    clnet_cl_fused_act(op, &act_fn, &act_alpha);
    const clnet_cl_arg cargs[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(hp), CLNET_CL_ARG(wp),
        CLNET_CL_ARG(c), CLNET_CL_ARG(scratch), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(k),
        CLNET_CL_ARG(oh), CLNET_CL_ARG(ow), CLNET_CL_ARG(act_fn), CLNET_CL_ARG(act_alpha),
    };
    const size_t cglobal[3] = {(size_t)p.ow_blocks, (size_t)p.oh_blocks,
                               (size_t)(g.n * p.kblocks)};
    if (st == CLNET_OK)
        st = launch(dev, "c3_conv", NARGS(cargs), cargs, cglobal);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* cl_algo.h - the convolution algorithms of the OpenCL backend as one table,
 * the choice among them per (device, layer shape), and the tuning table. */
#ifndef CLNET_CL_ALGO_H
#define CLNET_CL_ALGO_H

#include "core/geometry.h"
#include "opencl/clcl.h"

/* Queues a forward CONV of x (w, optional b) into y; shapes validated by the
 * core. */
typedef clnet_status (*clnet_cl_conv_fn)(clnet_device *dev, const clnet_op *op,
                                         const clnet_tensor *x, const clnet_tensor *w,
                                         const clnet_tensor *b, clnet_tensor *y);

/* One forward convolution algorithm. Adding one is adding a row to the
 * table in cl_algo.c; the order of the rows is the order of preference of
 * the static rule. */
typedef struct clnet_cl_conv_impl {
    clnet_conv_algo algo;
    const char *name;          /* as in the tuning file and `clnet-bench tune` */
    /* Whether a CONV forced onto this algorithm can run, judged from its
     * parameters alone (what clnet_op_supported sees): params.kernel is the
     * window when the caller states it, {0, 0} when not. NULL: any. */
    bool (*supports)(const clnet_conv_params *p);
    /* Whether it runs this convolution on this device. */
    bool (*applies)(const clnet_device *dev, const clnet_conv_geom *g);
    /* (optional) The static rule for shapes the tuning table lacks: true
     * when this algorithm is the one to use (the first row that says so
     * wins). NULL: never chosen without a measurement. */
    bool (*preferred)(const clnet_device *dev, const clnet_conv_geom *g);
    clnet_cl_conv_fn run;
    /* Whether run applies a fused activation (params.fuse_act) itself;
     * false: the dispatch follows it with an activation pass over y. */
    bool fuses_act;
} clnet_cl_conv_impl;

/* The row of algorithm `algo`, NULL when this backend lacks it (AUTO
 * included). */
const clnet_cl_conv_impl *clnet_cl_conv_impl_of(clnet_conv_algo algo);

/* The rows, for enumeration by the tuner. */
const clnet_cl_conv_impl *clnet_cl_conv_impls(int *count);

/* Whether clnet_op_supported may accept a CONV with these parameters: AUTO,
 * or a forced algorithm that is in the table and whose `supports` agrees. */
bool clnet_cl_conv_supported(const clnet_conv_params *p);

/* The algorithm clnet_cl_conv_forward runs op with on geometry g, NULL
 * where op forces one that does not apply. */
const clnet_cl_conv_impl *clnet_cl_conv_choice(clnet_device *dev, const clnet_op *op,
                                               const clnet_conv_geom *g);

/* The backend's plan hook (clnet_backend_iface.plan): a convolution gets
 * the algorithm clnet_cl_conv_choice takes for the planned shapes (AUTO
 * resolved, so that its runs skip the tuning table and the static rule),
 * or CLNET_ERR_UNSUPPORTED where it forces one that cannot run them. */
clnet_status clnet_cl_plan(clnet_device *dev, clnet_op *op, const clnet_shape *in,
                           const clnet_shape *out);

/* Runs a forward CONV with the forced algorithm, or with AUTO the one the
 * tuning table names for this shape, else the static rule's. Errors: those
 * of the algorithm; CLNET_ERR_UNSUPPORTED when a forced algorithm does not
 * apply to these shapes (the message says why). */
clnet_status clnet_cl_conv_forward(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y);

/* The direct kernels of cl/conv.cl (cl_conv.c), the algorithm every
 * convolution can fall back on. */
clnet_status clnet_cl_conv_direct(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                  const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y);

/* im2col + the tiled GEMM, and 1x1 convolution as one GEMM (cl_conv_im2col.c). */
bool clnet_cl_im2col_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_im2col_preferred(const clnet_device *dev, const clnet_conv_geom *g);
/* Whether g's planes are so small that the GEMM of one image would fill
 * less than 3/4 of the columns it computes: im2col and 1x1 then put the
 * columns of many images side by side. */
bool clnet_cl_im2col_narrow(const clnet_conv_geom *g);
clnet_status clnet_cl_conv_im2col(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                  const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y);
bool clnet_cl_gemm1x1_supports(const clnet_conv_params *p);
bool clnet_cl_gemm1x1_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_gemm1x1_preferred(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_gemm1x1(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y);

/* The per-channel direct kernel of cl/depthwise.cl (cl_conv_depthwise.c):
 * any convolution, preferred for one input channel per group. */
/* The depthwise program's build options, one per vector width it is built
 * with (clnet_opencl_compile_all builds each). */
#define CLNET_CL_DEPTHWISE_VARIANTS 3
extern const char *const clnet_cl_depthwise_options[CLNET_CL_DEPTHWISE_VARIANTS];
bool clnet_cl_depthwise_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_depthwise_preferred(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_depthwise(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y);

/* The weight gradient of a 3x3 undilated depthwise convolution of stride
 * 1 or 2 straight from x and dy, one work-group per channel
 * (cl_conv_depthwise.c); clnet_cl_depthwise_backward_weights hands such
 * layers to it. */
bool clnet_cl_depthwise3x3_weights_applies(const clnet_conv_geom *g);
clnet_status clnet_cl_depthwise3x3_backward_weights(clnet_device *dev, const clnet_op *op,
                                                    const clnet_tensor *x,
                                                    const clnet_tensor *dy, clnet_tensor *dw);

/* A 3x3 undilated depthwise CONV_TRANSPOSE of stride 2 (the data gradient
 * of such a layer) by its own kernel, which interleaves the even and odd
 * output columns (cl_conv_depthwise.c); t is the transposed op's geometry. */
bool clnet_cl_depthwise3x3_transpose_applies(const clnet_conv_geom *t);
clnet_status clnet_cl_conv_transpose_depthwise3x3(clnet_device *dev, const clnet_op *op,
                                                  const clnet_tensor *dy, const clnet_tensor *w,
                                                  const clnet_tensor *b, clnet_tensor *dx);

/* Winograd F(2x2, 3x3) and F(4x4, 3x3) (cl_conv_winograd.c), two rows of
 * the table: clnet_cl_conv_winograd2 and _winograd4 run a forward CONV
 * with that tile. clnet_cl_winograd_pays says whether the static rule
 * takes Winograd for g at all, clnet_cl_winograd_tile which tile then,
 * and each row's `preferred` both. clnet_cl_conv_winograd runs a CONV or
 * a CONV_TRANSPOSE where clnet_cl_winograd_transpose_applies (its own
 * geometry; with `preferred`, whether the static rule picks it) with the
 * tile its algorithm forces (WINOGRAD, WINOGRAD_4X4), else the rule's. */
bool clnet_cl_winograd_supports(const clnet_conv_params *p);
int clnet_cl_winograd_tile(const clnet_conv_geom *g);
bool clnet_cl_winograd_pays(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_winograd_transpose_applies(const clnet_op *op, const clnet_conv_geom *g,
                                         bool preferred);
bool clnet_cl_winograd_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_winograd_preferred(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_winograd4_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_winograd4_preferred(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_winograd(clnet_device *dev, const clnet_op *op,
                                    const clnet_tensor *x, const clnet_tensor *w,
                                    const clnet_tensor *b, clnet_tensor *y);
clnet_status clnet_cl_conv_winograd2(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y);
clnet_status clnet_cl_conv_winograd4(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y);
/* The weight gradient of the layers Winograd applies to, by the same
 * transforms (g: the forward's geometry). */
bool clnet_cl_winograd_weights_applies(const clnet_device *dev, const clnet_op *op,
                                       const clnet_conv_geom *g);
bool clnet_cl_winograd_weights_preferred(const clnet_device *dev, const clnet_op *op,
                                          const clnet_conv_geom *g);
clnet_status clnet_cl_conv_backward_weights_winograd(clnet_device *dev, const clnet_op *op,
                                                     const clnet_tensor *x,
                                                     const clnet_tensor *dy, clnet_tensor *dw);

/* The direct 3x3 (and 5x5) kernel with output channels as vector lanes
 * (cl_conv3x3.c), preferred for few channels; its build options, one set
 * per tile, then the 3x3 tiles' with C3_GROUPED (cl_compile.c builds
 * each). */
#define CLNET_CL_CONV3X3_TILES 7
#define CLNET_CL_CONV3X3_GROUPED 6
#define CLNET_CL_CONV3X3_VARIANTS (CLNET_CL_CONV3X3_TILES + CLNET_CL_CONV3X3_GROUPED)
extern const char *const clnet_cl_conv3x3_options[CLNET_CL_CONV3X3_VARIANTS];
bool clnet_cl_direct3x3_supports(const clnet_conv_params *p);
bool clnet_cl_direct3x3_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_direct3x3_preferred(const clnet_device *dev, const clnet_conv_geom *g);
/* Whether g's channel counts and plane are those on which the direct 3x3
 * kernels were measured to beat Winograd and the GEMMs: forward, data
 * gradient (on the transposed geometry) and weight gradient alike. */
bool clnet_cl_direct3x3_wins(const clnet_conv_geom *g);
clnet_status clnet_cl_conv_direct3x3(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y);
/* Planes of a stride-1 forward's input that its caller filled for the
 * direct 3x3 kernel (the space-to-depth rewrite, cl_conv_s2d.c): images *
 * C planes of hp rows (clnet_cl_direct3x3_planes) `pitch` floats apart (at
 * least its wp) from element `off` of buf, each input plane at its corner,
 * the rest any finite values (only outputs past the plane read them); the
 * last c_short[0], [1], [2] of the C channels have a zero last column of
 * taps, last row, both (the kernel skips them), the others none. */
typedef struct clnet_cl_filled_planes {
    cl_mem buf;
    int64_t off, pitch;
    int64_t c_short[3];
} clnet_cl_filled_planes;
/* Whether direct_3x3 runs forward convolution g (3x3, stride 1, no padding)
 * over padded planes rather than x itself, and their size. */
bool clnet_cl_direct3x3_planes(const clnet_device *dev, const clnet_conv_geom *g, int64_t *hp,
                               int64_t *wp);
/* That forward over planes the caller filled, in place of its own copy. */
clnet_status clnet_cl_conv_direct3x3_filled(clnet_device *dev, const clnet_op *op,
                                            const clnet_conv_geom *g,
                                            const clnet_cl_filled_planes *planes,
                                            const clnet_tensor *w, const clnet_tensor *b,
                                            clnet_tensor *y);
/* The same kernel on a CONV_TRANSPOSE (the data gradient) of stride 1 or 2,
 * preferred for the same channel counts; t is the transposed op's geometry. */
bool clnet_cl_direct3x3_transpose_preferred(const clnet_device *dev, const clnet_conv_geom *t);
clnet_status clnet_cl_conv_transpose_direct3x3(clnet_device *dev, const clnet_op *op,
                                               const clnet_tensor *x, const clnet_tensor *w,
                                               const clnet_tensor *b, clnet_tensor *y);

/* Direct convolution with an output row's columns as vector lanes
 * (cl_conv_rows.c): stride 1, no dilation, one group, windows at most 5
 * wide. clnet_cl_conv_rows runs a CONV, `preferred` its static rule;
 * clnet_cl_conv_transpose_rows a CONV_TRANSPOSE (the data gradient) of
 * stride 1 as the forward convolution of its rotated weights, where
 * `transpose_applies` says so for its geometry t (with `preferred`:
 * whether the static rule takes it); clnet_cl_conv_backward_weights_rows
 * a CONV_BACKWARD_WEIGHTS whose forward geometry g `applies` takes,
 * `weights_preferred` the static rule. */
bool clnet_cl_rows_supports(const clnet_conv_params *p);
bool clnet_cl_rows_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_rows_preferred(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_rows(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y);
bool clnet_cl_rows_transpose_applies(const clnet_device *dev, const clnet_conv_geom *t,
                                     bool preferred);
clnet_status clnet_cl_conv_transpose_rows(clnet_device *dev, const clnet_op *op,
                                          const clnet_tensor *x, const clnet_tensor *w,
                                          const clnet_tensor *b, clnet_tensor *y);
bool clnet_cl_rows_weights_preferred(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_backward_weights_rows(clnet_device *dev, const clnet_op *op,
                                                 const clnet_tensor *x, const clnet_tensor *dy,
                                                 clnet_tensor *dw);

/* A convolution onto a 1x1 plane whose window reads each input pixel
 * through a tap of its own, most taps reading padding, as a matrix product
 * with the weights of the taps that read (cl_conv_tap.c; one tap from a 1x1
 * plane). clnet_cl_conv_single_tap runs a CONV where
 * clnet_cl_single_tap_applies to its geometry, or a CONV_TRANSPOSE (the
 * data gradient) where clnet_cl_single_tap_transpose_applies to its own;
 * clnet_cl_conv_backward_weights_tap a CONV_BACKWARD_WEIGHTS where the
 * first applies to the forward's. */
bool clnet_cl_single_tap_supports(const clnet_conv_params *p);
bool clnet_cl_single_tap_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_single_tap_transpose_applies(const clnet_device *dev, const clnet_conv_geom *t);
clnet_status clnet_cl_conv_single_tap(clnet_device *dev, const clnet_op *op,
                                      const clnet_tensor *x, const clnet_tensor *w,
                                      const clnet_tensor *b, clnet_tensor *y);
clnet_status clnet_cl_conv_backward_weights_tap(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw);

/* The weight gradient of a 3x3 convolution (stride 1 or 2, groups 1,
 * dilation 1) by direct kernels with output channels as vector lanes
 * (cl_conv_wgrad.c); the geometry is the forward's. `preferred`: the
 * static rule's choice (few channels), over the GEMM of cl_conv_grad.c;
 * its build options, one set per block size (cl_compile.c builds each). */
#define CLNET_CL_WGRAD3X3_VARIANTS 3
extern const char *const clnet_cl_wgrad3x3_options[CLNET_CL_WGRAD3X3_VARIANTS];
bool clnet_cl_wgrad3x3_applies(const clnet_device *dev, const clnet_conv_geom *g);
bool clnet_cl_wgrad3x3_preferred(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_backward_weights_3x3(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw);

/* CONV_TRANSPOSE's geometry names its own input and output; the forward
 * convolution whose data gradient it is runs the other way: its geometry. */
clnet_conv_geom clnet_cl_forward_of_transpose(const clnet_conv_geom *t);

/* A convolution with strides as a stride-1 one over the strides' phases
 * stacked as channels (space to depth, cl_conv_s2d.c): groups 1, dilation
 * 1. The geometry is the forward's. clnet_cl_conv_s2d is a forward
 * algorithm of the table, `forward_preferred` its static rule (float16
 * devices only); clnet_cl_conv_transpose_s2d runs a CONV_TRANSPOSE
 * without bias (the data gradient), clnet_cl_conv_backward_weights_s2d
 * the weight gradient, each through the stride-1 op's own dispatch.
 * `preferred` is the static rule of the two gradients: large windows over
 * few channels, the stems of AlexNet, ZFNet and ResNet. */
bool clnet_cl_s2d_supports(const clnet_conv_params *p);
bool clnet_cl_s2d_applies(const clnet_device *dev, const clnet_conv_geom *f);
bool clnet_cl_s2d_preferred(const clnet_device *dev, const clnet_conv_geom *f);
bool clnet_cl_s2d_forward_preferred(const clnet_device *dev, const clnet_conv_geom *f);
clnet_status clnet_cl_conv_s2d(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                               const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y);
clnet_status clnet_cl_conv_transpose_s2d(clnet_device *dev, const clnet_op *op,
                                         const clnet_tensor *dy, const clnet_tensor *w,
                                         clnet_tensor *dx);
clnet_status clnet_cl_conv_backward_weights_s2d(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw);

/* A convolution's gradients as GEMMs over chunks of images
 * (cl_conv_grad.c). The applies functions take the geometry of the op
 * (CONV_BACKWARD_WEIGHTS: the forward's; CONV_TRANSPOSE: its own) and say
 * whether the GEMM can run it, or with `preferred` whether it should. */
bool clnet_cl_grad_weights_gemm_applies(const clnet_conv_geom *g, bool preferred);
bool clnet_cl_grad_data_gemm_applies(const clnet_conv_geom *g, bool preferred);
clnet_status clnet_cl_conv_backward_weights_gemm(clnet_device *dev, const clnet_op *op,
                                                 const clnet_tensor *x, const clnet_tensor *dy,
                                                 clnet_tensor *dw);
clnet_status clnet_cl_conv_transpose_gemm(clnet_device *dev, const clnet_op *op,
                                          const clnet_tensor *x, const clnet_tensor *w,
                                          const clnet_tensor *b, clnet_tensor *y);

/* The columns of forward convolution g's input images [n0, n0 + images)
 * side by side: row (c * KH + i) * KW + j of every channel c of every
 * group, column m * OH * OW + pixel, rows `ld` apart from element `off` of
 * col; columns from images * OH * OW up to ld are zero. A strided layer's
 * output rows of a tile of columns or more go through cl/im2col.cl's im2col
 * a row at a time, the rest through cl/conv_grad.cl's im2col_chunk a
 * vector of columns at a time (lane by lane where one crosses an output
 * row: always on 14x14 and 7x7). */
clnet_status clnet_cl_im2col_images(clnet_device *dev, const clnet_conv_geom *g,
                                    const clnet_tensor *x, int64_t n0, int64_t images,
                                    cl_mem col, int64_t off, int64_t ld);

/* cl/im2col.cl's im2col over x's images [n0, n0 + count) of forward
 * convolution g (see the kernel): image i's row r at col_off + i * col_is +
 * r * col_rs, and with col_end > 0 (side by side, col_is the plane) zeros
 * from the last image's end up to col_end of every row. Queued on the
 * device's queue. Errors: CLNET_ERR_BUILD, OpenCL-band statuses. */
clnet_status clnet_cl_im2col_unroll(clnet_device *dev, const clnet_conv_geom *g,
                                    const clnet_tensor *x, int64_t n0, int64_t count, cl_mem col,
                                    int64_t col_off, int64_t col_is, int64_t col_rs,
                                    int64_t col_end);

/* The weight gradient of a depthwise convolution (groups == C == K): of
 * 3x3 undilated windows of stride 1 or 2 by clnet_cl_depthwise3x3_backward_
 * weights, else of stride 1 and at most 5 x 5 taps as one correlation per
 * channel over the whole batch (cl_conv_grad.c). */
bool clnet_cl_depthwise_weights_applies(const clnet_conv_geom *g);
clnet_status clnet_cl_depthwise_backward_weights(clnet_device *dev, const clnet_op *op,
                                                 const clnet_tensor *x, const clnet_tensor *dy,
                                                 clnet_tensor *dw);

/* A stride-1 CONV_TRANSPOSE as the forward convolution of its rotated
 * weights, through clnet_cl_conv_forward (cl_conv_grad.c); applies where
 * the forward padding this needs is not negative. */
bool clnet_cl_grad_data_forward_applies(const clnet_op *op, const clnet_conv_geom *g,
                                        const clnet_tensor *x, const clnet_tensor *y);
clnet_status clnet_cl_conv_transpose_forward(clnet_device *dev, const clnet_op *op,
                                             const clnet_tensor *x, const clnet_tensor *w,
                                             const clnet_tensor *b, clnet_tensor *y);

/* How many images of `per_image` scratch each fit in `budget` (in any one
 * unit): at least one (a layer too big for the budget still runs, an image
 * at a time), at most the batch's `n`. */
static inline int64_t clnet_cl_images_within(int64_t budget, int64_t per_image, int64_t n)
{
    const int64_t images = budget / per_image;
    return images < 1 ? 1 : images > n ? n : images;
}

/* A strided 1x1 CONV_TRANSPOSE without begin padding (the data gradient of
 * such a layer; end padding only drops rows of its input) as a 1x1 forward
 * convolution of its swapped weights at the input's plane, spread onto the
 * output's grid (cl_conv_grad.c); g is the transposed op's geometry. */
bool clnet_cl_grad_data_1x1_applies(const clnet_device *dev, const clnet_conv_geom *g);
clnet_status clnet_cl_conv_transpose_1x1(clnet_device *dev, const clnet_op *op,
                                         const clnet_tensor *x, const clnet_tensor *w,
                                         const clnet_tensor *b, clnet_tensor *y);

/* Whether a CONV_TRANSPOSE or CONV_BACKWARD_WEIGHTS runs on the GEMM path:
 * params.algo IM2COL forces it where it `can`, DIRECT forces the direct
 * kernels, any other value leaves the choice to the static rule
 * (`preferred`). A CONV_TRANSPOSE tries Winograd first: forced by WINOGRAD
 * where it applies, or chosen by its rule unless DIRECT or IM2COL is
 * forced; then, unless forced, the forward equivalent of stride 1. A
 * CONV_BACKWARD_WEIGHTS of a depthwise convolution takes its own kernel
 * unless DIRECT or IM2COL is forced; of a 3x3 one, the direct 3x3 kernels
 * where DIRECT_3X3 forces them or (unless DIRECT or IM2COL is forced)
 * their rule prefers them. */
static inline bool clnet_cl_grad_gemm_chosen(const clnet_op *op, bool can, bool preferred)
{
    switch (op->u.conv.algo) {
    case CLNET_CONV_ALGO_IM2COL: return can;
    case CLNET_CONV_ALGO_DIRECT: return false;
    default: return preferred;
    }
}

/* The activation a CONV fuses, as kernels of this backend take it: *fn the
 * clnet_activation value, or -1 for none (not a CONV, or fuse_act false). */
void clnet_cl_fused_act(const clnet_op *op, cl_int *fn, cl_float *alpha);

/* The device's tuning table (cl_tune_table.c), loaded from the program
 * cache directory on first use; cl_tune.c measures what it holds. */
typedef struct clnet_cl_tuning clnet_cl_tuning;

/* The algorithm the tuning table names for this shape on this device: the
 * entry of this exact shape, else of the same layer at the nearest batch
 * size; NULL when there is none (or no table). */
const clnet_cl_conv_impl *clnet_cl_tuned_impl(clnet_device *dev, const clnet_conv_geom *g);

/* Makes `algo` (a row name of the algorithm table) the tuned choice for
 * the shape of `g` on this device, measured at `ms`, and rewrites the
 * device's table file when there is a cache directory. Errors:
 * CLNET_ERR_HOST_MEMORY, CLNET_ERR_IO (the file cannot be written). */
clnet_status clnet_cl_tuning_record(clnet_device *dev, const clnet_conv_geom *g,
                                    const char *algo, double ms);

/* Releases the device's tuning table (device close). */
void clnet_cl_tuning_close(clnet_device *dev);

/* Hands CLBlast the kernel parameters tuned for this device, if the table
 * of cl_clblast_params.c has any (device open and adoption); a rejection is
 * logged as a warning and CLBlast keeps its defaults. */
void clnet_cl_clblast_params(clnet_device *dev);

#endif

/* clnet/ops.h - primitives: op descriptors, shape inference, and execution. */
#ifndef CLNET_OPS_H
#define CLNET_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "clnet/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every primitive is an op descriptor (a kind plus its parameters) run on
 * tensors that live on one device. The inputs and outputs of each kind, in
 * order ([x] = optional, pass NULL or leave it out of the count):
 *
 *   CONV             in: x, w [, b]           out: y
 *       x (N, C, H, W) or (N, C, W) for 1-D; w (K, C/groups, KH, KW) or
 *       (K, C/groups, KW); b (K). y (N, K, OH, OW) with
 *       OH = (H + pad_begin + pad_end - dilation*(KH-1) - 1) / stride + 1.
 *       Cross-correlation, as in every framework. With params.fuse_act,
 *       y = act(conv + b) in one pass (see clnet_conv_params).
 *   CONV_TRANSPOSE   in: x, w [, b]           out: y
 *       The gradient of CONV with respect to its input. w (C, K/groups, KH,
 *       KW) as in PyTorch; OH = (H-1)*stride - pad_begin - pad_end +
 *       dilation*(KH-1) + output_padding + 1.
 *   POOL             in: x                    out: y [, argmax]
 *       Max, average or L2 norm over windows (see clnet_pool_mode); argmax (I32, shape of y, max mode only)
 *       holds the flat index h*W + w of the maximum inside its (n, c) plane,
 *       the first one on ties. Padding never wins a max. Adaptive average
 *       pooling (params.adaptive) gives y (N, C, OH, OW) for any x, output
 *       row i averaging input rows floor(i*H/OH) .. ceil((i+1)*H/OH) - 1
 *       (columns alike), as torch.nn.AdaptiveAvgPool2d.
 *   UNPOOL           in: x, argmax            out: y
 *       y is zeroed, then x is added at y[n, c, argmax] for every element
 *       (where overlapping windows make several x name one position, they
 *       are summed: the same routing as max-pooling's gradient).
 *   ACTIVATION       in: x                    out: y      (y may be x)
 *   BATCHNORM        in: x, mean, var, gamma, beta [, r]   out: y
 *       y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c]; with
 *       running statistics this is inference, with the output of
 *       BATCHNORM_STATS it is the training-mode forward pass. With
 *       params.fuse_add, r (x's shape, given exactly then) is added to it:
 *       a residual block's sum. With params.fuse_act, y = act(that) in the
 *       same pass (see clnet_bn_params).
 *   BATCHNORM_STATS  in: x                    out: mean, var [, running_mean, running_var]
 *       Per-channel mean and biased variance over N and the spatial dims.
 *       With the optional outputs (read and updated in place), also the
 *       running statistics of training: r = (1 - momentum) * r + momentum *
 *       batch, the variance entering unbiased (times M / (M - 1), M = N *
 *       spatial; unscaled when M = 1), as torch.nn.BatchNorm2d does.
 *   LRN              in: x                    out: y
 *       Across channels, as torch.nn.LocalResponseNorm:
 *       y = x / (k + alpha/size * sum of x^2 over the window)^beta, the
 *       window being channels c - size/2 .. c + (size-1)/2 (clipped).
 *   DROPOUT          in: x                    out: y      (y may be x)
 *       Inverted dropout: y = keep ? x / (1 - p) : 0, where keep is a pure
 *       function of (seed, flat element index), identical on every device;
 *       the index of element i of image n is (first_image + n) * image + i;
 *       identity when `training` is false.
 *   LINEAR           in: x, w [, b]           out: y
 *       Fully connected: x (N, ...) is read as (N, F); w (M, F); y (N, M).
 *   GEMM             in: a, b                 out: y
 *       y = alpha * op(a) * op(b) + beta * y, 2-D tensors, op = transpose
 *       when the flag says so. With beta == 0, y need not be initialised.
 *   SOFTMAX          in: x                    out: y
 *       Softmax (or log-softmax) over axis 1 for every other index,
 *       numerically stable (the maximum is subtracted first).
 *   BINARY           in: a, b                 out: y      (y may be a)
 *       Elementwise add or multiply. b has a's shape, or a's N and C with
 *       every further dimension 1 (per-channel broadcast, as in
 *       squeeze-and-excitation).
 *   BIAS_ADD         in: x, b                 out: y      (y may be x)
 *       y = x + b[c], b of shape (C).
 *   CONCAT           in: x0, x1, ... xk       out: y
 *       Concatenation along axis 1; all other dimensions equal.
 *   RBF              in: x, w                 out: y
 *       Euclidean radial basis units (LeCun et al. 1998's output layer):
 *       x (N, ...) read as (N, F), w (M, F), y (N, M) with
 *       y[n, m] = sum over f of (x[n, f] - w[m, f])^2. Its gradients are
 *       RBF_BACKWARD.
 *   CHANNEL_SHUFFLE  in: x                    out: y
 *       ShuffleNet's channel shuffle: x (N, C, ...) with C = G * P
 *       (G = params.groups) read as (N, G, P, ...), transposed to
 *       (N, P, G, ...): y[n, p * G + g] = x[n, g * P + p]. Its gradient is
 *       CHANNEL_SHUFFLE of dy with groups P.
 *
 * Backward and training kinds (gradients flow with the same conventions; a
 * forward kind's backward that another kind already computes has no kind of
 * its own: CONV's gradient w.r.t. x is CONV_TRANSPOSE of dy with the same w
 * and params (output_padding picks x's size; see clnet_op_conv_backward_data),
 * CONV_TRANSPOSE's is CONV, max POOL's is UNPOOL of dy at the argmax,
 * DROPOUT's is DROPOUT of dy with the same seed, LINEAR's are GEMMs, BINARY
 * add's is the identity, CONCAT's are channel slices):
 *
 *   CONV_BACKWARD_WEIGHTS  in: x, dy          out: dw
 *       dw (K, C/groups, KH, KW) of the CONV with these params, whose window
 *       is params.kernel; dw is overwritten (not accumulated).
 *   POOL_BACKWARD    in: x, dy [, argmax]     out: dx
 *       Average pooling: dy spread evenly over each window (with the
 *       forward's divisor). Max pooling: dy routed to the first maximum of
 *       each window (recomputed from x); duplicates summed. L2 pooling:
 *       dy * x / y from each window, y recomputed from x, zero where y = 0.
 *       With argmax (max pooling only: I32 of dy's shape, the second output
 *       of the forward POOL), each window's dy goes to the input its argmax
 *       names and x is not read (only its shape counts): no recomputation;
 *       an index outside its window (or -1) passes nothing.
 *   UNPOOL_BACKWARD  in: dy, argmax           out: dx
 *       UNPOOL's gradient with respect to its x, a gather: dx[n, c, i] =
 *       dy[n, c, argmax[n, c, i]]. dy (N, C, out_h, out_w) has the shape of
 *       UNPOOL's y (params.unpool), argmax (I32) and dx that of its x.
 *   ACTIVATION_BACKWARD in: x, dy             out: dx   (dx may be dy)
 *       dx = dy * f'(x), x being the forward input.
 *   BATCHNORM_BACKWARD in: x, dy, mean, var, gamma [, y | beta]
 *                                                   out: dx, dgamma, dbeta
 *       Training-mode gradient, mean/var being the batch statistics used
 *       forward (BATCHNORM_STATS). With params.fuse_act, dy is the gradient
 *       of the fused output y = act(batchnorm(x)), and the sixth input
 *       gives the activation's slope: for one whose slope its output
 *       determines (RELU, RELU6, LEAKY_RELU with alpha >= 0) the forward
 *       output y, read for it; for any other beta (C), with which the slope
 *       is computed from batchnorm(x) recomputed from x (no copy of it is
 *       kept), where a fused residual add (which would need r) is
 *       CLNET_ERR_INVALID_PARAMS. Without a fused activation there is no
 *       sixth input. With params.fuse_add there is a fourth output dr (x's
 *       shape): the gradient reaching the sum batchnorm(x) + r of the
 *       forward op, which is r's (dy through the fused activation's slope;
 *       dy without one).
 *   LRN_BACKWARD     in: x, dy                out: dx
 *   SOFTMAX_XENT     in: logits, labels       out: loss, dlogits
 *       logits (N, K); labels (N) I32 in 0..K-1; loss (N) per-example
 *       cross-entropy of softmax(logits) against the one-hot label smoothed
 *       by params.label_smoothing (target = (1-s)*onehot + s/K);
 *       dlogits = scale * (softmax - target). A label outside 0..K-1 is
 *       CLNET_ERR_INVALID_ARGUMENT where the device can see it before
 *       running (ref); OpenCL devices, which cannot without a round trip,
 *       give that example NaN loss and gradient (clnet_net_backward checks
 *       labels on the host first).
 *   RBF_BACKWARD     in: x, dy, w             out: dx [, dw]
 *       RBF's gradients: dx[n, f] = 2 sum over m of dy[n, m] (x[n, f] -
 *       w[m, f]), dx of x's shape; dw (M, F) = 2 sum over n of dy[n, m]
 *       (w[m, f] - x[n, f]), overwritten, left out for fixed centres.
 *   MMI_LOSS         in: penalties, labels    out: loss, dpenalties
 *       LeCun et al. 1998's discriminative criterion (eq. 9) on penalties
 *       y (N, K) such as RBF's outputs, where smaller is better: loss (N) =
 *       y[label] + log(exp(-j) + sum over k of exp(-y[k])), j = params.mmi_j
 *       > 0 (the penalty of a "rubbish" class that keeps every penalty from
 *       being pushed up at once); dy = scale * (onehot - p), p[k] =
 *       exp(-y[k]) / (exp(-j) + sum exp(-y)). Labels as SOFTMAX_XENT's.
 *   MSE_LOSS         in: pred, target         out: loss, dpred
 *       loss (N) = mean over the image of (pred - target)^2;
 *       dpred = scale * 2 * (pred - target) / F, F = elements per image.
 *   REDUCE_SUM       in: x                    out: y
 *       Sums x over every axis except 1 (y of shape (C)), or, with
 *       keep_batch, over every axis except 0 and 1 (y (N, C) padded with 1s
 *       to x's rank). The bias gradient of CONV/LINEAR, dbeta, and the
 *       per-channel gradient of a broadcast BINARY.
 *   SGD_STEP         in: g                    out: w, v   (updated in place)
 *       g' = g + weight_decay*w; v = momentum*v + g'; w -= lr * (nesterov ?
 *       g' + momentum*v : v). v is ignored (may be absent) when momentum 0.
 *   ADAM_STEP        in: g                    out: w, m, v (updated in place)
 *       Adam (Kingma & Ba) with bias correction at step t >= 1; weight_decay
 *       is L2 (added to g) or, with decoupled, AdamW's w -= lr*wd*w.
 *
 * Unless a line above says otherwise, F32 tensors only. Output tensors must
 * be allocated by the caller with the shape clnet_op_output_shapes gives, and
 * must not overlap inputs except where "y may be x" is stated. */
typedef enum clnet_op_kind {
    CLNET_OP_CONV = 0,
    CLNET_OP_CONV_TRANSPOSE,
    CLNET_OP_POOL,
    CLNET_OP_UNPOOL,
    CLNET_OP_ACTIVATION,
    CLNET_OP_BATCHNORM,
    CLNET_OP_BATCHNORM_STATS,
    CLNET_OP_LRN,
    CLNET_OP_DROPOUT,
    CLNET_OP_LINEAR,
    CLNET_OP_GEMM,
    CLNET_OP_SOFTMAX,
    CLNET_OP_BINARY,
    CLNET_OP_BIAS_ADD,
    CLNET_OP_CONCAT,
    CLNET_OP_CONV_BACKWARD_WEIGHTS,
    CLNET_OP_POOL_BACKWARD,
    CLNET_OP_ACTIVATION_BACKWARD,
    CLNET_OP_BATCHNORM_BACKWARD,
    CLNET_OP_LRN_BACKWARD,
    CLNET_OP_SOFTMAX_XENT,
    CLNET_OP_MSE_LOSS,
    CLNET_OP_REDUCE_SUM,
    CLNET_OP_SGD_STEP,
    CLNET_OP_ADAM_STEP,
    CLNET_OP_RBF,
    CLNET_OP_UNPOOL_BACKWARD,
    CLNET_OP_CHANNEL_SHUFFLE,
    CLNET_OP_RBF_BACKWARD,
    CLNET_OP_MMI_LOSS,
    CLNET_OP_KIND_COUNT
} clnet_op_kind;

#define CLNET_OP_MAX_INPUTS 16
#define CLNET_OP_MAX_OUTPUTS 4

typedef enum clnet_activation {
    CLNET_ACT_RELU = 0,        /* max(x, 0) */
    CLNET_ACT_LEAKY_RELU,      /* x > 0 ? x : alpha * x */
    CLNET_ACT_RELU6,           /* min(max(x, 0), 6) */
    CLNET_ACT_SIGMOID,         /* 1 / (1 + exp(-x)) */
    CLNET_ACT_TANH,
    CLNET_ACT_SWISH,           /* x * sigmoid(x), a.k.a. SiLU */
    CLNET_ACT_HARD_SWISH,      /* x * relu6(x + 3) / 6 */
    CLNET_ACT_HARD_SIGMOID,    /* relu6(x + 3) / 6 */
    CLNET_ACT_LECUN_TANH,      /* 1.7159 * tanh(2x / 3), LeCun et al. 1998's squashing */
    CLNET_ACT_SCALE,           /* alpha * x: a constant output scale (airbench's 1/9) */
    CLNET_ACT_GELU,            /* x * Phi(x) = x (1 + erf(x / sqrt 2)) / 2, exact (PyTorch's default) */
    CLNET_ACT_COUNT
} clnet_activation;

typedef struct clnet_act_params {
    clnet_activation fn;
    float alpha;             /* leaky ReLU slope; SCALE factor */
} clnet_act_params;

/* Convolution algorithms. AUTO lets the backend choose (measured per device
 * and layer shape by `clnet-bench tune`, else a static rule); naming one
 * forces it, for tests and benchmarks: an algorithm that cannot run the op
 * makes clnet_op_supported false. The reference backend has one algorithm
 * and accepts every value. CONV_TRANSPOSE and CONV_BACKWARD_WEIGHTS (a
 * convolution's gradients) take the field as a hint instead: DIRECT and
 * IM2COL force those implementations, WINOGRAD and WINOGRAD_4X4 force
 * theirs for a transposed 3x3 stride-1 convolution and for the weight
 * gradient of a 3x3 stride-1 one, DIRECT_3X3 the direct 3x3 weight
 * gradient (stride 1 or 2, groups 1) on OpenCL, SPACE_TO_DEPTH the
 * rewrite of both gradients (groups 1, dilation 1, a stride above 1; for
 * CONV_TRANSPOSE, no bias) on OpenCL, DIRECT_ROWS the row kernels for
 * both gradients of such a convolution (the data gradient as the forward
 * convolution of the rotated weights) on OpenCL, and any value that does not apply
 * leaves the choice to the backend. */
typedef enum clnet_conv_algo {
    CLNET_CONV_ALGO_AUTO = 0,
    CLNET_CONV_ALGO_DIRECT,        /* register-blocked direct convolution */
    CLNET_CONV_ALGO_IM2COL,        /* im2col + GEMM */
    CLNET_CONV_ALGO_GEMM_1X1,      /* 1x1 convolution as GEMM, no im2col */
    CLNET_CONV_ALGO_WINOGRAD,      /* Winograd F(2x2, 3x3): stride 1, 3x3, no dilation */
    CLNET_CONV_ALGO_DEPTHWISE,     /* groups == C == K */
    CLNET_CONV_ALGO_SINGLE_TAP,    /* a 1x1 output whose window reads each input pixel through
                                      a tap of its own, most taps on padding (1x1 planes: one
                                      tap's 1x1 convolution): a GEMM over those taps */
    CLNET_CONV_ALGO_DIRECT_3X3,    /* direct, output channels as vector lanes: 3x3, stride 1 or 2;
                                      5x5, stride 1 */
    CLNET_CONV_ALGO_SPACE_TO_DEPTH, /* strides' phases as channels, then a stride-1 convolution:
                                       groups 1, dilation 1, a stride above 1 */
    CLNET_CONV_ALGO_WINOGRAD_4X4,  /* Winograd F(4x4, 3x3): as WINOGRAD, 4x4 output tiles */
    CLNET_CONV_ALGO_DIRECT_ROWS,   /* direct, an output row's columns as vector lanes: stride 1,
                                      no dilation, groups 1, windows at most 5 wide */
    CLNET_CONV_ALGO_COUNT
} clnet_conv_algo;

/* Spatial parameters are [0] = height, [1] = width. For 1-D tensors (N, C, W)
 * only the width entries are used; the height entries are ignored. */
typedef struct clnet_conv_params {
    int stride[2];           /* >= 1 */
    int pad_begin[2];        /* top, left; >= 0 */
    int pad_end[2];          /* bottom, right; >= 0 (asymmetric padding allowed) */
    int dilation[2];         /* >= 1 */
    int groups;              /* >= 1, divides C and K; groups == C == K is depthwise */
    int output_padding[2];   /* CONV_TRANSPOSE only; >= 0, < stride or < dilation */
    int kernel[2];           /* CONV_BACKWARD_WEIGHTS only: the window (KH, KW) of w */
    clnet_conv_algo algo;    /* CONV: AUTO (0) or a forced algorithm; the gradients: a hint */
    bool fuse_act;           /* CONV: apply `act` to the output (after the bias) in the
                                same pass; ignored by the other kinds */
    clnet_act_params act;    /* the fused activation, when fuse_act */
} clnet_conv_params;

typedef enum clnet_pool_mode {
    CLNET_POOL_MAX = 0,        /* the window's maximum */
    CLNET_POOL_AVG = 1,        /* the window's mean (see count_include_pad) */
    CLNET_POOL_L2 = 2,         /* sqrt of the window's sum of squares (padding adds zeros,
                                  no 1/N): torch.nn.LPPool2d with p = 2 */
    CLNET_POOL_MODE_COUNT
} clnet_pool_mode;

typedef struct clnet_pool_params {
    clnet_pool_mode mode;
    int kernel[2];           /* window; ignored when global */
    int stride[2];
    int pad_begin[2];        /* each at most half the window, as in PyTorch */
    int pad_end[2];
    bool ceil_mode;          /* round the output size up; the last window must still
                                start inside the input or its begin padding */
    bool count_include_pad;  /* average: divide by the window clipped to the padded
                                input (true) or to the input (false) */
    bool global;             /* window = whole plane, output 1x1 */
    bool adaptive;           /* average mode only: output out_size whatever the input
                                (see POOL above); kernel, stride, padding ignored */
    int out_size[2];         /* adaptive: (OH, OW), each >= 1 */
} clnet_pool_params;

typedef struct clnet_unpool_params {
    int out_h, out_w;        /* size of the plane the argmax indices refer to */
} clnet_unpool_params;

typedef struct clnet_bn_params {
    float eps;               /* > 0 */
    float momentum;          /* BATCHNORM_STATS running statistics, in [0, 1] */
    bool fuse_act;           /* BATCHNORM: apply `act` to the output in the same pass;
                                BATCHNORM_BACKWARD: differentiate through it too */
    clnet_act_params act;    /* the fused activation, when fuse_act */
    bool fuse_add;           /* BATCHNORM: add a sixth input r before `act`;
                                BATCHNORM_BACKWARD: also output r's gradient */
} clnet_bn_params;

typedef struct clnet_lrn_params {
    int size;                /* window in channels, >= 1 */
    float alpha, beta, k;    /* k > 0 */
} clnet_lrn_params;

typedef struct clnet_dropout_params {
    float p;                 /* drop probability, 0 <= p < 1 */
    uint64_t seed;           /* same seed + same shape = same mask on every device */
    bool training;           /* false: identity */
    int64_t first_image;     /* >= 0: the batch is a slice starting at this image of a
                                larger one (data parallelism), and image n is masked as
                                that batch's image first_image + n; 0 = a whole batch */
} clnet_dropout_params;

typedef struct clnet_gemm_params {
    bool trans_a, trans_b;
    float alpha, beta;
} clnet_gemm_params;

typedef struct clnet_softmax_params {
    bool log;                /* log-softmax */
} clnet_softmax_params;

typedef struct clnet_loss_params {
    float label_smoothing;   /* SOFTMAX_XENT: 0 <= s < 1 */
    float scale;             /* the gradient is multiplied by this (e.g. 1/N for a mean loss) */
    float mmi_j;             /* MMI_LOSS: the rubbish class's penalty j, > 0 and finite */
} clnet_loss_params;

typedef struct clnet_reduce_params {
    bool keep_batch;         /* sum per (n, c) instead of per c */
} clnet_reduce_params;

typedef struct clnet_sgd_params {
    float lr, momentum, weight_decay;
    bool nesterov;
} clnet_sgd_params;

typedef struct clnet_adam_params {
    float lr, beta1, beta2, eps, weight_decay;
    bool decoupled;          /* AdamW */
    int t;                   /* step number, >= 1, for bias correction */
} clnet_adam_params;

typedef enum clnet_binary_fn {
    CLNET_BINARY_ADD = 0,
    CLNET_BINARY_MUL = 1
} clnet_binary_fn;

typedef struct clnet_binary_params {
    clnet_binary_fn fn;
} clnet_binary_params;

typedef struct clnet_shuffle_params {
    int groups;              /* >= 1, divides the channels */
} clnet_shuffle_params;

/* An op descriptor: a plain value, cheap to copy, owning no memory. */
typedef struct clnet_op {
    clnet_op_kind kind;
    union {
        clnet_conv_params conv;         /* CONV, CONV_TRANSPOSE, CONV_BACKWARD_WEIGHTS */
        clnet_pool_params pool;         /* POOL, POOL_BACKWARD */
        clnet_unpool_params unpool;     /* UNPOOL, UNPOOL_BACKWARD */
        clnet_act_params act;           /* ACTIVATION, ACTIVATION_BACKWARD */
        clnet_bn_params bn;             /* BATCHNORM, BATCHNORM_STATS, BATCHNORM_BACKWARD */
        clnet_lrn_params lrn;           /* LRN, LRN_BACKWARD */
        clnet_dropout_params dropout;   /* DROPOUT */
        clnet_gemm_params gemm;         /* GEMM */
        clnet_softmax_params softmax;   /* SOFTMAX */
        clnet_binary_params binary;     /* BINARY */
        clnet_loss_params loss;         /* SOFTMAX_XENT, MSE_LOSS, MMI_LOSS */
        clnet_reduce_params reduce;     /* REDUCE_SUM */
        clnet_sgd_params sgd;           /* SGD_STEP */
        clnet_adam_params adam;         /* ADAM_STEP */
        clnet_shuffle_params shuffle;   /* CHANNEL_SHUFFLE */
    } u;                                /* LINEAR, BIAS_ADD, CONCAT, RBF(_BACKWARD): none */
} clnet_op;

/* Descriptor constructors for the common symmetric cases. They only fill in
 * a value (no validation, no allocation); adjust fields afterwards for
 * asymmetric padding and the like. */
clnet_op clnet_op_conv(int stride, int pad, int dilation, int groups);
clnet_op clnet_op_conv_transpose(int stride, int pad, int output_padding, int dilation, int groups);
clnet_op clnet_op_pool(clnet_pool_mode mode, int kernel, int stride, int pad);
clnet_op clnet_op_global_pool(clnet_pool_mode mode);
clnet_op clnet_op_activation(clnet_activation fn, float alpha);
clnet_op clnet_op_simple(clnet_op_kind kind); /* LINEAR, BIAS_ADD, CONCAT, SOFTMAX, BATCHNORM(_STATS) with defaults */

/* The op that computes CONV's gradient with respect to its input: the
 * CONV_TRANSPOSE with fwd's parameters whose output_padding makes the result
 * the size of the forward input `x` (N, C, H, W). fwd must be a valid CONV
 * for x; kernel sizes come from the weights, which the transposed op reads. */
clnet_op clnet_op_conv_backward_data(const clnet_op *fwd, const clnet_shape *x,
                                     const clnet_shape *w);

/* Returns static text naming an op kind ("conv", "pool", ...), or "?". */
const char *clnet_op_kind_name(clnet_op_kind kind);

/* Shape inference: given the shapes (and dtypes) of the inputs, checks the
 * descriptor and writes the output shapes. `nout` receives the number of
 * outputs the op produces with these inputs (POOL in max mode reports 2: the
 * argmax output is optional when running). in_dtype may be NULL (every
 * input F32), and so may out_dtype (not wanted). Needs no device. Errors, each with
 * a message in clnet_last_error(ctx) when ctx is not NULL:
 * CLNET_ERR_INVALID_ARGUMENT (unknown kind, wrong input count),
 * CLNET_ERR_INVALID_PARAMS (stride/dilation/groups/window < 1, negative
 * padding, pooling padding above half the window, p outside [0, 1), eps <= 0,
 * LRN size < 1 or k <= 0, output_padding too large, unknown enum values), CLNET_ERR_SHAPE (wrong rank, groups not dividing
 * channels, kernel larger than the padded input, mismatched operands),
 * CLNET_ERR_DTYPE. */
clnet_status clnet_op_output_shapes(clnet_ctx *ctx, const clnet_op *op, int nin,
                                    const clnet_shape *in, const clnet_dtype *in_dtype,
                                    int *nout, clnet_shape *out, clnet_dtype *out_dtype);

/* Whether `dev` implements this op kind with these parameters. The single
 * source of truth for the network executor, the tests (unsupported is
 * reported as a skip, never a pass) and the benchmarks. */
bool clnet_op_supported(clnet_device *dev, const clnet_op *op);

/* Validates the op against the tensors (shapes, dtypes, layouts, one device
 * for all) and queues it on their device. Returns when the work is queued, not
 * finished: read an output or call clnet_device_synchronize to wait. Errors:
 * those of clnet_op_output_shapes, CLNET_ERR_SHAPE when an output tensor's
 * shape differs from the inferred one, CLNET_ERR_DEVICE_MISMATCH,
 * CLNET_ERR_UNSUPPORTED (see clnet_op_supported), CLNET_ERR_BUILD or
 * CLNET_ERR_NO_BINARY (kernel program could not be built or loaded),
 * OpenCL/CLBlast-band statuses from the driver. The message always names the
 * op. */
clnet_status clnet_op_run(clnet_device *dev, const clnet_op *op, int nin,
                          clnet_tensor *const *in, int nout, clnet_tensor *const *out);

/* clnet_op_run into outputs it allocates: on success *nout tensors of the
 * shapes and dtypes clnet_op_output_shapes infers for the inputs are in
 * out[0..*nout) (CLNET_OP_MAX_OUTPUTS room; max pooling gives its argmax
 * too; BATCHNORM_STATS only mean and var, not the running statistics it
 * updates in place), on the device `dev`, owned by the caller
 * (clnet_tensor_free each).
 * On failure nothing is allocated and *nout is 0. Errors: those of
 * clnet_op_run and clnet_tensor_new; CLNET_ERR_INVALID_ARGUMENT for SGD_STEP
 * and ADAM_STEP, which update their outputs in place. */
clnet_status clnet_op_run_new(clnet_device *dev, const clnet_op *op, int nin,
                              clnet_tensor *const *in, int *nout, clnet_tensor **out);

/* A planned op (oneDNN's primitive): an op checked once against the shapes
 * and dtypes of its inputs and against what one device supports, its
 * output shapes inferred, and a convolution's algorithm fixed on OpenCL
 * devices (AUTO resolved to the one the device takes for these shapes; a
 * forced one that cannot run them refused). A run evaluates none of the
 * op's rules again; the device still lays out each launch per call. */
typedef struct clnet_op_plan clnet_op_plan;

/* Plans `op` on `dev` for `nin` inputs of shapes `in` and dtypes `in_dtype`
 * (NULL: every input F32). On success *plan holds a copy of the op and of
 * the shapes (the caller keeps its own), owned by the caller and released
 * with clnet_op_plan_free before the context is. The algorithm fixed for a
 * convolution is the one clnet_op_run would take now (a tuning table
 * written later does not move it); clnet_op_plan_op shows it. On failure
 * *plan is NULL. Errors: those of clnet_op_output_shapes,
 * CLNET_ERR_INVALID_ARGUMENT (NULL device, op or plan, nin outside
 * 0..CLNET_OP_MAX_INPUTS, NULL `in` for nin > 0), CLNET_ERR_UNSUPPORTED (see
 * clnet_op_supported; and a forced convolution algorithm that cannot run
 * these shapes), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_op_plan_new(clnet_device *dev, const clnet_op *op, int nin,
                               const clnet_shape *in, const clnet_dtype *in_dtype,
                               clnet_op_plan **plan);

/* The op a plan runs: its own copy, the algorithm fixed (NULL for a NULL
 * plan). Valid until clnet_op_plan_free. For inspection: a gradient op
 * built from it (such as clnet_op_conv_backward_data) would take that
 * algorithm as a forced one, so build gradients from your own op, which
 * leaves their choice to the device. */
const clnet_op *clnet_op_plan_op(const clnet_op_plan *plan);

/* The outputs a run of the plan writes: their number (optional outputs
 * included; *fewest, when not NULL, receives how many a run may pass at
 * the least, as for clnet_op_run), and their shapes and dtypes into `out`
 * and `out_dtype` (CLNET_OP_MAX_OUTPUTS room each; either may be NULL).
 * A NULL plan has none (0, nothing written). */
int clnet_op_plan_outputs(const clnet_op_plan *plan, clnet_shape *out, clnet_dtype *out_dtype,
                          int *fewest);

/* Queues the planned op on `in` and `out` and returns without waiting, as
 * clnet_op_run does. It evaluates none of the op's rules again: it only
 * compares each tensor with the plan (its shape, dtype and device), so that
 * a tensor of another shape is refused rather than read out of bounds.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (NULL plan, which leaves no message
 * since no context is known; a NULL tensor other than trailing optional
 * ones; a count the plan does not take), CLNET_ERR_SHAPE
 * and CLNET_ERR_DTYPE (a tensor unlike the plan's), CLNET_ERR_DEVICE_MISMATCH,
 * and those of the device's run (see clnet_op_run). */
clnet_status clnet_op_plan_run(const clnet_op_plan *plan, int nin, clnet_tensor *const *in,
                               int nout, clnet_tensor *const *out);

/* Releases a plan; NULL is allowed. Tensors it ran on are unaffected. */
void clnet_op_plan_free(clnet_op_plan *plan);

#ifdef __cplusplus
}
#endif
#endif

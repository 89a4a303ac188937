/* test_op_errors.c - every invalid op descriptor, input combination, tensor
 * request and device selector returns its documented status, with a fresh
 * message that names what failed (the op kind, the selector, the bytes);
 * a call that succeeds clears the message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "testutil.h"

#define MARKER "stale-message-marker"
#define MAX_DEVICES 16

typedef struct env {
    clnet_ctx *ctx;
    clnet_device *ref;
    clnet_device *cl;   /* the first OpenCL device, or NULL */
    int passed, failed;
} env;

#define SH(...) ((clnet_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                               {__VA_ARGS__}})
#define SHAPES(...) (const clnet_shape[]){__VA_ARGS__}, \
                    (int)(sizeof((clnet_shape[]){__VA_ARGS__}) / sizeof(clnet_shape))
#define DT(...) ((const clnet_dtype[]){__VA_ARGS__})
#define EXPECT(e, what, op, want, dt, ...) \
    expect_op(e, what, op, want, NULL, dt, SHAPES(__VA_ARGS__))
/* As EXPECT, and the message must also contain `detail`. */
#define EXPECT_MSG(e, what, op, want, detail, dt, ...) \
    expect_op(e, what, op, want, detail, dt, SHAPES(__VA_ARGS__))

static const clnet_status PARAMS = CLNET_ERR_INVALID_PARAMS, SHAPE = CLNET_ERR_SHAPE,
                          ARG = CLNET_ERR_INVALID_ARGUMENT, DTYPE = CLNET_ERR_DTYPE;

/* Sets the last error to a known text, so that a call failing without a
 * message of its own shows up as the marker. */
static void stale(env *e)
{
    clnet_device *dev = NULL;
    clnet_device_find(e->ctx, MARKER, &dev);
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return n == 0;
}

/* Records one check: the status must be `want`; unless needle is NULL the
 * last error must be fresh, non-empty and contain `needle` and, when given,
 * `detail`. */
static void verdict_msg(env *e, const char *what, clnet_status got, clnet_status want,
                        const char *needle, const char *detail)
{
    const char *msg = clnet_last_error(e->ctx);
    bool ok = got == want;
    if (needle)
        ok = ok && msg[0] && !strstr(msg, MARKER) && contains_ci(msg, needle) &&
             (!detail || contains_ci(msg, detail));
    printf("%s %s: want %d (%s), got %d; message \"%s\"\n", ok ? "OK  " : "FAIL", what, want,
           clnet_status_str(want), got, needle ? msg : "(not checked)");
    ok ? e->passed++ : e->failed++;
}

static void verdict(env *e, const char *what, clnet_status got, clnet_status want,
                    const char *needle)
{
    verdict_msg(e, what, got, want, needle, NULL);
}

static bool allocatable(const clnet_shape *in, int nin)
{
    for (int i = 0; i < nin; i++) {
        if (in[i].ndim < 1 || in[i].ndim > CLNET_MAX_DIMS)
            return false;
        for (int d = 0; d < in[i].ndim; d++)
            if (in[i].dim[d] < 1)
                return false;
    }
    return true;
}

/* Runs op on ref tensors of the given shapes and dtypes, with outputs of
 * shape (1): the op must be refused before any output shape matters. */
static void expect_run(env *e, const char *what, clnet_op op, clnet_status want,
                       const clnet_dtype *dt, const clnet_shape *in, int nin, const char *needle,
                       const char *detail)
{
    clnet_tensor *t[CLNET_OP_MAX_INPUTS + 1] = {0}, *out[2] = {0};
    int nout = op.kind == CLNET_OP_BATCHNORM_STATS ? 2 : 1;
    const int64_t one = 1;
    clnet_status st = CLNET_OK;
    for (int i = 0; i < nin && st == CLNET_OK; i++)
        st = clnet_tensor_new(e->ref, dt ? dt[i] : CLNET_F32, in[i].ndim, in[i].dim, &t[i]);
    for (int j = 0; j < nout && st == CLNET_OK; j++)
        st = clnet_tensor_new(e->ref, CLNET_F32, 1, &one, &out[j]);
    char label[300]; /* room for any 256-byte `what` and the suffix */
    snprintf(label, sizeof label, "%s (run)", what);
    if (st == CLNET_OK) {
        stale(e);
        st = clnet_op_run(e->ref, &op, nin, t, nout, out);
        verdict_msg(e, label, st, want, needle, detail);
    } else {
        verdict(e, label, st, CLNET_OK, NULL);
    }
    for (int i = 0; i < nin; i++)
        clnet_tensor_free(t[i]);
    for (int j = 0; j < nout; j++)
        clnet_tensor_free(out[j]);
}

/* One invalid combination, through clnet_op_output_shapes and (when its
 * shapes can be allocated) clnet_op_run; both must refuse it the same way. */
static void expect_op(env *e, const char *what, clnet_op op, clnet_status want,
                      const char *detail, const clnet_dtype *dt, const clnet_shape *in, int nin)
{
    static const clnet_dtype f32[CLNET_OP_MAX_INPUTS + 1];
    char label[256];
    const char *kind = clnet_op_kind_name(op.kind);
    snprintf(label, sizeof label, "%s: %s (output_shapes)", kind, what);
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype odt[CLNET_OP_MAX_OUTPUTS];
    int nout = 0;
    stale(e);
    clnet_status st = clnet_op_output_shapes(e->ctx, &op, nin, in, dt ? dt : f32, &nout, out, odt);
    verdict_msg(e, label, st, want, kind, detail);
    if (allocatable(in, nin)) {
        snprintf(label, sizeof label, "%s: %s", kind, what);
        expect_run(e, label, op, want, dt, in, nin, kind, detail);
    }
}

static void conv_errors(env *e)
{
    const clnet_op ok = clnet_op_conv(1, 1, 1, 1);
    clnet_op op = ok;
    op.u.conv.stride[0] = 0;
    EXPECT(e, "stride 0", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.stride[1] = -2;
    EXPECT(e, "stride -2", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.dilation[1] = 0;
    EXPECT(e, "dilation 0", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.dilation[0] = -1;
    EXPECT(e, "dilation -1", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.groups = 0;
    EXPECT(e, "groups 0", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op.u.conv.groups = -1;
    EXPECT(e, "groups -1", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.pad_begin[0] = -1;
    EXPECT(e, "pad_begin -1", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.pad_end[1] = -1;
    EXPECT(e, "pad_end -1", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.fuse_act = true;
    op.u.conv.act.fn = CLNET_ACT_COUNT;
    EXPECT(e, "fused activation unknown", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op.u.conv.act = clnet_op_activation(CLNET_ACT_LEAKY_RELU, NAN).u.act;
    EXPECT(e, "fused activation alpha NaN", op, PARAMS, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    op = clnet_op_conv(1, 1, 1, 2);
    EXPECT(e, "groups 2 do not divide C 3", op, SHAPE, NULL, SH(1, 3, 8, 8), SH(4, 1, 3, 3));
    EXPECT(e, "groups 2 do not divide K 3", op, SHAPE, NULL, SH(1, 4, 8, 8), SH(3, 2, 3, 3));
    EXPECT(e, "weight channels 4 != C/groups 2", op, SHAPE, NULL, SH(1, 4, 8, 8), SH(4, 4, 3, 3));
    EXPECT(e, "weight channels 3 != C 4", ok, SHAPE, NULL, SH(1, 4, 8, 8), SH(4, 3, 3, 3));
    EXPECT(e, "kernel 7 > padded input 6", ok, SHAPE, NULL, SH(1, 3, 4, 4), SH(4, 3, 7, 7));
    op = clnet_op_conv(1, 0, 3, 1);
    EXPECT(e, "dilated kernel 7 > input 5", op, SHAPE, NULL, SH(1, 3, 5, 5), SH(4, 3, 3, 3));
    EXPECT(e, "kernel height 0", ok, SHAPE, NULL, SH(1, 3, 8, 8), SH(4, 3, 0, 3));
    EXPECT(e, "x of rank 2", ok, SHAPE, NULL, SH(3, 8), SH(4, 3, 3, 3));
    EXPECT(e, "w of rank 3 for 2-D x", ok, SHAPE, NULL, SH(1, 3, 8, 8), SH(4, 3, 9));
    EXPECT(e, "w of rank 4 for 1-D x", ok, SHAPE, NULL, SH(1, 3, 8), SH(4, 3, 3, 3));
    EXPECT(e, "bias of rank 2", ok, SHAPE, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3), SH(4, 1));
    EXPECT(e, "bias of 5 for K 4", ok, SHAPE, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3), SH(5));
    EXPECT(e, "1 input", ok, ARG, NULL, SH(1, 3, 8, 8));
    EXPECT(e, "4 inputs", ok, ARG, NULL, SH(1, 3, 8, 8), SH(4, 3, 3, 3), SH(4), SH(4));
    EXPECT(e, "I32 x", ok, DTYPE, DT(CLNET_I32, CLNET_F32), SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    EXPECT(e, "I32 w", ok, DTYPE, DT(CLNET_F32, CLNET_I32), SH(1, 3, 8, 8), SH(4, 3, 3, 3));
    EXPECT(e, "I32 bias", ok, DTYPE, DT(CLNET_F32, CLNET_F32, CLNET_I32), SH(1, 3, 8, 8),
           SH(4, 3, 3, 3), SH(4));
}

static void conv_transpose_errors(env *e)
{
    const clnet_op ok = clnet_op_conv_transpose(2, 1, 1, 1, 1);
    clnet_op op = ok;
    op.u.conv.output_padding[0] = 2;
    EXPECT(e, "output_padding 2 >= stride 2 and dilation 1", op, PARAMS, NULL, SH(1, 4, 5, 5),
           SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.output_padding[1] = -1;
    EXPECT(e, "output_padding -1", op, PARAMS, NULL, SH(1, 4, 5, 5), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.stride[1] = 0;
    EXPECT(e, "stride 0", op, PARAMS, NULL, SH(1, 4, 5, 5), SH(4, 3, 3, 3));
    op = ok;
    op.u.conv.groups = 0;
    EXPECT(e, "groups 0", op, PARAMS, NULL, SH(1, 4, 5, 5), SH(4, 3, 3, 3));
    EXPECT(e, "w[0] 3 != C 4", ok, SHAPE, NULL, SH(1, 4, 5, 5), SH(3, 3, 3, 3));
    op = clnet_op_conv_transpose(2, 1, 1, 1, 3);
    EXPECT(e, "groups 3 do not divide C 4", op, SHAPE, NULL, SH(1, 4, 5, 5), SH(4, 1, 3, 3));
    op = clnet_op_conv_transpose(1, 2, 0, 1, 1);
    EXPECT(e, "output size -1", op, SHAPE, NULL, SH(1, 4, 1, 1), SH(4, 3, 3, 3));
    EXPECT(e, "bias of 4 for K 3", ok, SHAPE, NULL, SH(1, 4, 5, 5), SH(4, 3, 3, 3), SH(4));
    EXPECT(e, "I32 x", ok, DTYPE, DT(CLNET_I32, CLNET_F32), SH(1, 4, 5, 5), SH(4, 3, 3, 3));
}

static void pool_errors(env *e)
{
    const clnet_op ok = clnet_op_pool(CLNET_POOL_MAX, 3, 2, 1);
    clnet_op op = ok;
    op.u.pool.kernel[0] = 0;
    EXPECT(e, "kernel 0", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op = ok;
    op.u.pool.kernel[1] = -1;
    EXPECT(e, "kernel -1", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op = ok;
    op.u.pool.stride[0] = 0;
    EXPECT(e, "stride 0", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op = ok;
    op.u.pool.pad_begin[1] = -1;
    EXPECT(e, "pad_begin -1", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op = ok;
    op.u.pool.pad_end[0] = -1;
    EXPECT(e, "pad_end -1", op, PARAMS, NULL, SH(1, 3, 8, 8));
    EXPECT(e, "pad 2 above half of window 3", clnet_op_pool(CLNET_POOL_MAX, 3, 2, 2), PARAMS, NULL,
           SH(1, 3, 8, 8));
    EXPECT(e, "pad 3 above half of window 5", clnet_op_pool(CLNET_POOL_AVG, 5, 2, 3), PARAMS, NULL,
           SH(1, 3, 8, 8));
    op = ok;
    op.u.pool.pad_end[1] = 2;
    EXPECT(e, "pad_end 2 above half of window 3", op, PARAMS, NULL, SH(1, 3, 8, 8));
    EXPECT(e, "window 7 > padded input 6", clnet_op_pool(CLNET_POOL_MAX, 7, 1, 1), SHAPE, NULL,
           SH(1, 3, 4, 4));
    EXPECT(e, "x of rank 2", ok, SHAPE, NULL, SH(3, 8));
    EXPECT(e, "global, x of rank 2", clnet_op_global_pool(CLNET_POOL_AVG), SHAPE, NULL, SH(3, 8));
    EXPECT(e, "2 inputs", ok, ARG, NULL, SH(1, 3, 8, 8), SH(1, 3, 8, 8));
    EXPECT(e, "I32 x", ok, DTYPE, DT(CLNET_I32), SH(1, 3, 8, 8));
    op = ok;
    op.u.pool.mode = (clnet_pool_mode)7;
    EXPECT(e, "mode 7", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op = (clnet_op){.kind = CLNET_OP_POOL};
    op.u.pool = (clnet_pool_params){.mode = CLNET_POOL_AVG, .adaptive = true, .out_size = {0, 3}};
    EXPECT(e, "adaptive output height 0", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op.u.pool.out_size[0] = 3;
    op.u.pool.mode = CLNET_POOL_MAX;
    EXPECT(e, "adaptive max pooling", op, PARAMS, NULL, SH(1, 3, 8, 8));
    op.u.pool.mode = CLNET_POOL_AVG;
    op.u.pool.global = true;
    EXPECT(e, "adaptive and global", op, PARAMS, NULL, SH(1, 3, 8, 8));
}

static void unpool_errors(env *e)
{
    clnet_op ok = {.kind = CLNET_OP_UNPOOL};
    ok.u.unpool.out_h = ok.u.unpool.out_w = 8;
    EXPECT(e, "F32 argmax", ok, DTYPE, DT(CLNET_F32, CLNET_F32), SH(1, 3, 4, 4), SH(1, 3, 4, 4));
    EXPECT(e, "I32 x", ok, DTYPE, DT(CLNET_I32, CLNET_I32), SH(1, 3, 4, 4), SH(1, 3, 4, 4));
    EXPECT(e, "argmax shape differs from x", ok, SHAPE, DT(CLNET_F32, CLNET_I32), SH(1, 3, 4, 4),
           SH(1, 3, 4, 5));
    clnet_op op = ok;
    op.u.unpool.out_h = 0;
    EXPECT(e, "out_h 0", op, PARAMS, DT(CLNET_F32, CLNET_I32), SH(1, 3, 4, 4), SH(1, 3, 4, 4));
    EXPECT(e, "1 input", ok, ARG, NULL, SH(1, 3, 4, 4));
}

static void unpool_backward_errors(env *e)
{
    clnet_op ok = {.kind = CLNET_OP_UNPOOL_BACKWARD};
    ok.u.unpool.out_h = ok.u.unpool.out_w = 8;
    EXPECT(e, "F32 argmax", ok, DTYPE, DT(CLNET_F32, CLNET_F32), SH(1, 3, 8, 8), SH(1, 3, 4, 4));
    EXPECT(e, "argmax of other channels", ok, SHAPE, DT(CLNET_F32, CLNET_I32), SH(1, 3, 8, 8),
           SH(1, 2, 4, 4));
    EXPECT(e, "dy's plane is not out_h x out_w", ok, SHAPE, DT(CLNET_F32, CLNET_I32),
           SH(1, 3, 8, 7), SH(1, 3, 4, 4));
    EXPECT(e, "1 input", ok, ARG, NULL, SH(1, 3, 8, 8));
}

static void eltwise_errors(env *e)
{
    clnet_op op = clnet_op_activation((clnet_activation)99, 0);
    EXPECT(e, "function 99", op, PARAMS, NULL, SH(2, 3));
    op.u.act.fn = (clnet_activation)-1;
    EXPECT(e, "function -1", op, PARAMS, NULL, SH(2, 3));
    op = clnet_op_activation(CLNET_ACT_RELU, 0);
    EXPECT(e, "I32 x", op, DTYPE, DT(CLNET_I32), SH(2, 3));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(2, 3), SH(2, 3));
    expect_op(e, "0 inputs", op, ARG, NULL, NULL, NULL, 0);

    op = (clnet_op){.kind = CLNET_OP_DROPOUT};
    op.u.dropout = (clnet_dropout_params){.p = 1, .seed = 1, .training = true};
    EXPECT(e, "p 1", op, PARAMS, NULL, SH(2, 3));
    op.u.dropout.p = -0.1f;
    EXPECT(e, "p -0.1", op, PARAMS, NULL, SH(2, 3));
    op.u.dropout.p = 1.5f;
    EXPECT(e, "p 1.5", op, PARAMS, NULL, SH(2, 3));
    op.u.dropout.p = NAN;
    EXPECT(e, "p NaN", op, PARAMS, NULL, SH(2, 3));

    op = clnet_op_simple(CLNET_OP_SOFTMAX);
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(5));
    EXPECT(e, "I32 x", op, DTYPE, DT(CLNET_I32), SH(2, 5));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(2, 5), SH(2, 5));

    op = (clnet_op){.kind = CLNET_OP_BINARY};
    op.u.binary.fn = CLNET_BINARY_ADD;
    EXPECT(e, "b (2,3,4,5) for a (2,3,4,4)", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 5));
    EXPECT(e, "b (2,3,4,1): partial broadcast", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 1));
    EXPECT(e, "b (1,3,1,1): N differs", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(1, 3, 1, 1));
    EXPECT(e, "b (2,4,1,1): C differs", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(2, 4, 1, 1));
    EXPECT(e, "b of rank 2", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(2, 3));
    EXPECT(e, "I32 b", op, DTYPE, DT(CLNET_F32, CLNET_I32), SH(2, 3), SH(2, 3));
    EXPECT(e, "1 input", op, ARG, NULL, SH(2, 3));
    op.u.binary.fn = (clnet_binary_fn)5;
    EXPECT(e, "function 5", op, PARAMS, NULL, SH(2, 3), SH(2, 3));

    op = clnet_op_simple(CLNET_OP_BIAS_ADD);
    EXPECT(e, "b of 4 for C 3", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(4));
    EXPECT(e, "b of rank 2", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(3, 1));
    EXPECT(e, "1 input", op, ARG, NULL, SH(2, 3, 4, 4));

    op = clnet_op_simple(CLNET_OP_CONCAT);
    EXPECT(e, "H 4 vs 5", op, SHAPE, NULL, SH(1, 2, 4, 4), SH(1, 3, 5, 4));
    EXPECT(e, "W 4 vs 5", op, SHAPE, NULL, SH(1, 2, 4, 4), SH(1, 3, 4, 5));
    EXPECT(e, "N 1 vs 2", op, SHAPE, NULL, SH(1, 2, 4, 4), SH(2, 3, 4, 4));
    EXPECT(e, "rank 4 vs 3", op, SHAPE, NULL, SH(1, 2, 4, 4), SH(1, 3, 4));
    EXPECT(e, "I32 second input", op, DTYPE, DT(CLNET_F32, CLNET_I32), SH(1, 2, 4), SH(1, 3, 4));
    expect_op(e, "0 inputs", op, ARG, NULL, NULL, NULL, 0);
    clnet_shape many[CLNET_OP_MAX_INPUTS + 1];
    for (int i = 0; i <= CLNET_OP_MAX_INPUTS; i++)
        many[i] = SH(1, 1, 2, 2);
    expect_op(e, "17 inputs", op, ARG, NULL, NULL, many, CLNET_OP_MAX_INPUTS + 1);
}

static void norm_errors(env *e)
{
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM);
    op.u.bn.eps = 0;
    EXPECT(e, "eps 0", op, PARAMS, NULL, SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(3));
    op.u.bn.eps = -1e-5f;
    EXPECT(e, "eps -1e-5", op, PARAMS, NULL, SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(3));
    op.u.bn.eps = NAN;
    EXPECT(e, "eps NaN", op, PARAMS, NULL, SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(3));
    op.u.bn.eps = 1e-5f;
    EXPECT(e, "mean of 4 for C 3", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(4), SH(3), SH(3), SH(3));
    EXPECT(e, "var of rank 2", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(3), SH(3, 1), SH(3), SH(3));
    EXPECT(e, "gamma of 2 for C 3", op, SHAPE, NULL, SH(2, 3, 4, 4), SH(3), SH(3), SH(2), SH(3));
    EXPECT(e, "I32 beta", op, DTYPE, DT(CLNET_F32, CLNET_F32, CLNET_F32, CLNET_F32, CLNET_I32),
           SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(3));
    EXPECT(e, "4 inputs", op, ARG, NULL, SH(2, 3, 4, 4), SH(3), SH(3), SH(3));

    op = clnet_op_simple(CLNET_OP_BATCHNORM_STATS);
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(3));
    EXPECT(e, "I32 x", op, DTYPE, DT(CLNET_I32), SH(2, 3, 4, 4));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(2, 3, 4, 4), SH(3));

    op = (clnet_op){.kind = CLNET_OP_LRN};
    op.u.lrn = (clnet_lrn_params){.size = 0, .alpha = 1e-4f, .beta = 0.75f, .k = 2};
    EXPECT(e, "size 0", op, PARAMS, NULL, SH(2, 5, 4, 4));
    op.u.lrn.size = -1;
    EXPECT(e, "size -1", op, PARAMS, NULL, SH(2, 5, 4, 4));
    op.u.lrn.size = 5;
    op.u.lrn.k = 0;
    EXPECT(e, "k 0", op, PARAMS, NULL, SH(2, 5, 4, 4));
    op.u.lrn.k = -1;
    EXPECT(e, "k -1", op, PARAMS, NULL, SH(2, 5, 4, 4));
}

static void gemm_errors(env *e)
{
    clnet_op op = clnet_op_simple(CLNET_OP_LINEAR);
    EXPECT(e, "w (5,11) for F 12", op, SHAPE, NULL, SH(2, 12), SH(5, 11));
    EXPECT(e, "w (5,11) for 4-D x with F 12", op, SHAPE, NULL, SH(2, 3, 2, 2), SH(5, 11));
    EXPECT(e, "b of 4 for M 5", op, SHAPE, NULL, SH(2, 12), SH(5, 12), SH(4));
    EXPECT(e, "w of rank 3", op, SHAPE, NULL, SH(2, 12), SH(5, 12, 1));
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(12), SH(5, 12));
    EXPECT(e, "I32 w", op, DTYPE, DT(CLNET_F32, CLNET_I32), SH(2, 12), SH(5, 12));
    EXPECT(e, "1 input", op, ARG, NULL, SH(2, 12));
    EXPECT(e, "4 inputs", op, ARG, NULL, SH(2, 12), SH(5, 12), SH(5), SH(5));

    op = (clnet_op){.kind = CLNET_OP_GEMM};
    op.u.gemm = (clnet_gemm_params){.alpha = 1};
    EXPECT(e, "K 4 vs 5", op, SHAPE, NULL, SH(3, 4), SH(5, 5));
    op.u.gemm.trans_a = true;
    EXPECT(e, "trans_a: K 3 vs 4", op, SHAPE, NULL, SH(3, 4), SH(4, 5));
    op.u.gemm.trans_a = false;
    op.u.gemm.trans_b = true;
    EXPECT(e, "trans_b: K 4 vs 5", op, SHAPE, NULL, SH(3, 4), SH(4, 5));
    op.u.gemm.trans_b = false;
    EXPECT(e, "a of rank 3", op, SHAPE, NULL, SH(3, 4, 1), SH(4, 5));
    EXPECT(e, "b of rank 1", op, SHAPE, NULL, SH(3, 4), SH(4));
    EXPECT(e, "I32 a", op, DTYPE, DT(CLNET_I32, CLNET_F32), SH(3, 4), SH(4, 5));
    EXPECT(e, "3 inputs", op, ARG, NULL, SH(3, 4), SH(4, 5), SH(3, 5));

    op = (clnet_op){.kind = CLNET_OP_RBF};
    EXPECT(e, "centres of 11 for F 12", op, SHAPE, NULL, SH(2, 3, 2, 2), SH(5, 11));
    EXPECT(e, "centres of rank 1", op, SHAPE, NULL, SH(2, 12), SH(12));
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(12), SH(5, 12));
    EXPECT(e, "a bias", op, ARG, NULL, SH(2, 12), SH(5, 12), SH(5));

    /* x, dy, w: dy must be what RBF makes of x and w */
    op = (clnet_op){.kind = CLNET_OP_RBF_BACKWARD};
    EXPECT(e, "dy (2,4) for 5 centres", op, SHAPE, NULL, SH(2, 12), SH(2, 4), SH(5, 12));
    EXPECT(e, "dy (3,5) for N 2", op, SHAPE, NULL, SH(2, 12), SH(3, 5), SH(5, 12));
    EXPECT(e, "centres of 11 for F 12", op, SHAPE, NULL, SH(2, 12), SH(2, 5), SH(5, 11));
    EXPECT(e, "I32 dy", op, DTYPE, DT(CLNET_F32, CLNET_I32, CLNET_F32), SH(2, 12), SH(2, 5),
           SH(5, 12));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(2, 12), SH(2, 5));

    op = (clnet_op){.kind = CLNET_OP_CHANNEL_SHUFFLE, .u.shuffle.groups = 4};
    EXPECT(e, "4 groups of 6 channels", op, PARAMS, NULL, SH(2, 6, 3, 3));
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(8));
    op.u.shuffle.groups = 0;
    EXPECT(e, "0 groups", op, PARAMS, NULL, SH(2, 6, 3, 3));
}

static clnet_op backward_weights(int kernel)
{
    clnet_op op = clnet_op_conv(1, 1, 1, 1);
    op.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS;
    op.u.conv.kernel[0] = op.u.conv.kernel[1] = kernel;
    return op;
}

static void conv_backward_errors(env *e)
{
    const clnet_op ok = backward_weights(3);
    clnet_op op = backward_weights(0);
    EXPECT_MSG(e, "kernel 0", op, PARAMS, "window", NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    op = ok;
    op.u.conv.kernel[1] = -1;
    EXPECT_MSG(e, "kernel width -1", op, PARAMS, "window", NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    op = ok;
    op.u.conv.kernel[1] = 0;
    EXPECT_MSG(e, "1-D, kernel width 0", op, PARAMS, "window", NULL, SH(1, 3, 8), SH(1, 4, 8));
    op = ok;
    op.u.conv.groups = 0;
    EXPECT_MSG(e, "groups 0", op, PARAMS, "groups", NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    op = ok;
    op.u.conv.stride[0] = 0;
    EXPECT_MSG(e, "stride 0", op, PARAMS, "stride", NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    op = ok;
    op.u.conv.dilation[1] = 0;
    EXPECT_MSG(e, "dilation 0", op, PARAMS, "dilation", NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    op = ok;
    op.u.conv.pad_end[0] = -1;
    EXPECT_MSG(e, "pad_end -1", op, PARAMS, "padding", NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    EXPECT_MSG(e, "dy (1,4,8,7) for y (1,4,8,8)", ok, SHAPE, "dy", NULL, SH(1, 3, 8, 8),
               SH(1, 4, 8, 7));
    EXPECT_MSG(e, "dy (1,4,8,8) for batch 2", ok, SHAPE, "dy", NULL, SH(2, 3, 8, 8),
               SH(1, 4, 8, 8));
    op = ok;
    op.u.conv.stride[0] = op.u.conv.stride[1] = 2;
    EXPECT_MSG(e, "stride 2, dy (1,4,8,8) for y (1,4,4,4)", op, SHAPE, "dy", NULL,
               SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    EXPECT_MSG(e, "dy of rank 3 for 2-D x", ok, SHAPE, "rank", NULL, SH(1, 3, 8, 8), SH(1, 4, 64));
    EXPECT_MSG(e, "dy of rank 4 for 1-D x", ok, SHAPE, "rank", NULL, SH(1, 3, 8), SH(1, 4, 8, 1));
    op = ok;
    op.u.conv.groups = 2;
    EXPECT_MSG(e, "groups 2 do not divide C 3", op, SHAPE, "groups", NULL, SH(1, 3, 8, 8),
               SH(1, 4, 8, 8));
    EXPECT_MSG(e, "groups 2 do not divide K 3", op, SHAPE, "groups", NULL, SH(1, 4, 8, 8),
               SH(1, 3, 8, 8));
    EXPECT_MSG(e, "kernel 11 > padded input 10", backward_weights(11), SHAPE, "kernel", NULL,
               SH(1, 3, 8, 8), SH(1, 4, 1, 1));
    EXPECT_MSG(e, "I32 dy", ok, DTYPE, "dy", DT(CLNET_F32, CLNET_I32), SH(1, 3, 8, 8),
               SH(1, 4, 8, 8));
    EXPECT(e, "I32 x", ok, DTYPE, DT(CLNET_I32, CLNET_F32), SH(1, 3, 8, 8), SH(1, 4, 8, 8));
    EXPECT(e, "1 input", ok, ARG, NULL, SH(1, 3, 8, 8));
    EXPECT(e, "3 inputs", ok, ARG, NULL, SH(1, 3, 8, 8), SH(1, 4, 8, 8), SH(4));
}

static void pool_backward_errors(env *e)
{
    clnet_op ok = clnet_op_pool(CLNET_POOL_MAX, 3, 2, 1), op;
    ok.kind = CLNET_OP_POOL_BACKWARD;
    EXPECT_MSG(e, "dy (1,3,4,5) for y (1,3,4,4)", ok, SHAPE, "dy", NULL, SH(1, 3, 8, 8),
               SH(1, 3, 4, 5));
    op = ok;
    op.u.pool.ceil_mode = true;
    EXPECT_MSG(e, "ceil mode, dy (1,3,4,4) for y (1,3,5,5)", op, SHAPE, "dy", NULL,
               SH(1, 3, 8, 8), SH(1, 3, 4, 4));
    op = ok;
    op.u.pool.mode = CLNET_POOL_AVG;
    EXPECT_MSG(e, "average, dy (1,4,4,4) for y (1,3,4,4)", op, SHAPE, "dy", NULL, SH(1, 3, 8, 8),
               SH(1, 4, 4, 4));
    op = clnet_op_global_pool(CLNET_POOL_AVG);
    op.kind = CLNET_OP_POOL_BACKWARD;
    EXPECT_MSG(e, "global, dy (1,3,2,2) for y (1,3,1,1)", op, SHAPE, "dy", NULL, SH(1, 3, 8, 8),
               SH(1, 3, 2, 2));
    op = ok;
    op.u.pool.kernel[0] = 0;
    EXPECT_MSG(e, "kernel 0", op, PARAMS, "window", NULL, SH(1, 3, 8, 8), SH(1, 3, 4, 4));
    op = ok;
    op.u.pool.pad_begin[1] = 2;
    EXPECT_MSG(e, "pad 2 above half of window 3", op, PARAMS, "half", NULL, SH(1, 3, 8, 8),
               SH(1, 3, 4, 4));
    op = ok;
    op.u.pool.mode = (clnet_pool_mode)7;
    EXPECT_MSG(e, "mode 7", op, PARAMS, "mode", NULL, SH(1, 3, 8, 8), SH(1, 3, 4, 4));
    EXPECT_MSG(e, "I32 dy", ok, DTYPE, "dy", DT(CLNET_F32, CLNET_I32), SH(1, 3, 8, 8),
               SH(1, 3, 4, 4));
    EXPECT(e, "I32 x", ok, DTYPE, DT(CLNET_I32, CLNET_F32), SH(1, 3, 8, 8), SH(1, 3, 4, 4));
    EXPECT(e, "1 input", ok, ARG, NULL, SH(1, 3, 8, 8));
}

static void eltwise_backward_errors(env *e)
{
    clnet_op op = clnet_op_activation((clnet_activation)99, 0);
    op.kind = CLNET_OP_ACTIVATION_BACKWARD;
    EXPECT_MSG(e, "function 99", op, PARAMS, "99", NULL, SH(2, 3), SH(2, 3));
    op.u.act = (clnet_act_params){.fn = CLNET_ACT_LEAKY_RELU, .alpha = NAN};
    EXPECT_MSG(e, "alpha NaN", op, PARAMS, "alpha", NULL, SH(2, 3), SH(2, 3));
    op.u.act.alpha = 0.1f;
    EXPECT_MSG(e, "dy (2,4) for x (2,3)", op, SHAPE, "dy", NULL, SH(2, 3), SH(2, 4));
    EXPECT_MSG(e, "dy of rank 3", op, SHAPE, "dy", NULL, SH(2, 3), SH(2, 3, 1));
    EXPECT_MSG(e, "I32 dy", op, DTYPE, "dy", DT(CLNET_F32, CLNET_I32), SH(2, 3), SH(2, 3));
    EXPECT(e, "1 input", op, ARG, NULL, SH(2, 3));
    EXPECT(e, "3 inputs", op, ARG, NULL, SH(2, 3), SH(2, 3), SH(2, 3));

    op = (clnet_op){.kind = CLNET_OP_LRN_BACKWARD};
    op.u.lrn = (clnet_lrn_params){.size = 0, .alpha = 1e-4f, .beta = 0.75f, .k = 2};
    EXPECT_MSG(e, "size 0", op, PARAMS, "size", NULL, SH(2, 5, 4, 4), SH(2, 5, 4, 4));
    op.u.lrn.size = 5;
    op.u.lrn.k = 0;
    EXPECT_MSG(e, "k 0", op, PARAMS, "k 0", NULL, SH(2, 5, 4, 4), SH(2, 5, 4, 4));
    op.u.lrn.k = 2;
    op.u.lrn.beta = INFINITY;
    EXPECT_MSG(e, "beta Inf", op, PARAMS, "beta", NULL, SH(2, 5, 4, 4), SH(2, 5, 4, 4));
    op.u.lrn.beta = 0.75f;
    EXPECT_MSG(e, "dy (2,4,4,4) for x (2,5,4,4)", op, SHAPE, "dy", NULL, SH(2, 5, 4, 4),
               SH(2, 4, 4, 4));
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(5), SH(5));
    EXPECT(e, "1 input", op, ARG, NULL, SH(2, 5, 4, 4));
}

static void batchnorm_backward_errors(env *e)
{
    clnet_op op = {.kind = CLNET_OP_BATCHNORM_BACKWARD};
    op.u.bn.eps = 0;
    EXPECT_MSG(e, "eps 0", op, PARAMS, "eps", NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4), SH(3), SH(3),
               SH(3));
    op.u.bn.eps = NAN;
    EXPECT_MSG(e, "eps NaN", op, PARAMS, "eps", NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4), SH(3),
               SH(3), SH(3));
    op.u.bn.eps = 1e-5f;
    EXPECT_MSG(e, "dy (2,3,4,5) for x (2,3,4,4)", op, SHAPE, "dy", NULL, SH(2, 3, 4, 4),
               SH(2, 3, 4, 5), SH(3), SH(3), SH(3));
    EXPECT_MSG(e, "mean of 4 for C 3", op, SHAPE, "mean", NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4),
               SH(4), SH(3), SH(3));
    EXPECT_MSG(e, "var of 2 for C 3", op, SHAPE, "var", NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4),
               SH(3), SH(2), SH(3));
    EXPECT_MSG(e, "gamma of rank 2", op, SHAPE, "gamma", NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4),
               SH(3), SH(3), SH(3, 1));
    EXPECT_MSG(e, "I32 var", op, DTYPE, "var",
               DT(CLNET_F32, CLNET_F32, CLNET_F32, CLNET_I32, CLNET_F32), SH(2, 3, 4, 4),
               SH(2, 3, 4, 4), SH(3), SH(3), SH(3));
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(3), SH(3), SH(3), SH(3), SH(3));
    EXPECT(e, "4 inputs", op, ARG, NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4), SH(3), SH(3));
    EXPECT(e, "6 inputs", op, ARG, NULL, SH(2, 3, 4, 4), SH(2, 3, 4, 4), SH(3), SH(3), SH(3),
           SH(3));
    /* a fused activation: y for the ReLU family, beta for the others */
    op.u.bn.fuse_act = true;
    op.u.bn.act = clnet_op_activation(CLNET_ACT_RELU, 0).u.act;
    EXPECT_MSG(e, "fused relu without y", op, ARG, "output y", NULL, SH(2, 3, 4, 4),
               SH(2, 3, 4, 4), SH(3), SH(3), SH(3));
    EXPECT_MSG(e, "fused relu with a y of C", op, SHAPE, "y", NULL, SH(2, 3, 4, 4),
               SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(3));
    op.u.bn.act = clnet_op_activation(CLNET_ACT_GELU, 0).u.act;
    EXPECT_MSG(e, "fused gelu without beta", op, ARG, "beta", NULL, SH(2, 3, 4, 4),
               SH(2, 3, 4, 4), SH(3), SH(3), SH(3));
    EXPECT_MSG(e, "fused gelu with a beta of x's shape", op, SHAPE, "beta", NULL, SH(2, 3, 4, 4),
               SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(2, 3, 4, 4));
    op.u.bn.fuse_add = true;
    EXPECT_MSG(e, "fused gelu with a fused add", op, PARAMS, "residual add", NULL,
               SH(2, 3, 4, 4), SH(2, 3, 4, 4), SH(3), SH(3), SH(3), SH(3));
    op.u.bn.fuse_add = op.u.bn.fuse_act = false;

    op = clnet_op_simple(CLNET_OP_BATCHNORM_STATS);
    op.u.bn.momentum = 1.5f;
    EXPECT_MSG(e, "momentum 1.5", op, PARAMS, "momentum", NULL, SH(2, 3, 4, 4));
    op.u.bn.momentum = -0.1f;
    EXPECT_MSG(e, "momentum -0.1", op, PARAMS, "momentum", NULL, SH(2, 3, 4, 4));
    op.u.bn.momentum = NAN;
    EXPECT_MSG(e, "momentum NaN", op, PARAMS, "momentum", NULL, SH(2, 3, 4, 4));
}

static void loss_errors(env *e)
{
    const clnet_dtype labels[2] = {CLNET_F32, CLNET_I32};
    clnet_op op = {.kind = CLNET_OP_SOFTMAX_XENT};
    op.u.loss = (clnet_loss_params){.label_smoothing = 0, .scale = 1};
    EXPECT_MSG(e, "F32 labels", op, DTYPE, "labels", NULL, SH(4, 10), SH(4));
    EXPECT_MSG(e, "labels of 3 for N 4", op, SHAPE, "labels", labels, SH(4, 10), SH(3));
    EXPECT_MSG(e, "labels of rank 2", op, SHAPE, "labels", labels, SH(4, 10), SH(4, 1));
    EXPECT_MSG(e, "logits of rank 4", op, SHAPE, "logits", labels, SH(4, 10, 1, 1), SH(4));
    EXPECT_MSG(e, "I32 logits", op, DTYPE, "logits", DT(CLNET_I32, CLNET_I32), SH(4, 10), SH(4));
    EXPECT(e, "1 input", op, ARG, NULL, SH(4, 10));
    op.u.loss.label_smoothing = 1;
    EXPECT_MSG(e, "label smoothing 1", op, PARAMS, "smoothing", labels, SH(4, 10), SH(4));
    op.u.loss.label_smoothing = 1.5f;
    EXPECT_MSG(e, "label smoothing 1.5", op, PARAMS, "smoothing", labels, SH(4, 10), SH(4));
    op.u.loss.label_smoothing = -0.1f;
    EXPECT_MSG(e, "label smoothing -0.1", op, PARAMS, "smoothing", labels, SH(4, 10), SH(4));
    op.u.loss.label_smoothing = NAN;
    EXPECT_MSG(e, "label smoothing NaN", op, PARAMS, "smoothing", labels, SH(4, 10), SH(4));
    op.u.loss = (clnet_loss_params){.label_smoothing = 0.1f, .scale = INFINITY};
    EXPECT_MSG(e, "scale Inf", op, PARAMS, "scale", labels, SH(4, 10), SH(4));

    op = (clnet_op){.kind = CLNET_OP_MSE_LOSS};
    op.u.loss.scale = 1;
    EXPECT_MSG(e, "target (4,11) for pred (4,10)", op, SHAPE, "target", NULL, SH(4, 10),
               SH(4, 11));
    EXPECT_MSG(e, "I32 target", op, DTYPE, "target", DT(CLNET_F32, CLNET_I32), SH(4, 10),
               SH(4, 10));
    EXPECT(e, "3 inputs", op, ARG, NULL, SH(4, 10), SH(4, 10), SH(4, 10));
    op.u.loss.scale = NAN;
    EXPECT_MSG(e, "scale NaN", op, PARAMS, "scale", NULL, SH(4, 10), SH(4, 10));

    op = (clnet_op){.kind = CLNET_OP_MMI_LOSS};
    op.u.loss = (clnet_loss_params){.scale = 1, .mmi_j = 3};
    EXPECT_MSG(e, "F32 labels", op, DTYPE, "labels", NULL, SH(4, 10), SH(4));
    EXPECT_MSG(e, "labels of 3 for N 4", op, SHAPE, "labels", labels, SH(4, 10), SH(3));
    EXPECT_MSG(e, "penalties of rank 4", op, SHAPE, "penalties", labels, SH(4, 10, 1, 1),
               SH(4));
    op.u.loss.mmi_j = 0;
    EXPECT_MSG(e, "j 0", op, PARAMS, "penalty j", labels, SH(4, 10), SH(4));
    op.u.loss.mmi_j = 81;
    EXPECT_MSG(e, "j 81", op, PARAMS, "penalty j", labels, SH(4, 10), SH(4));
    op.u.loss.mmi_j = NAN;
    EXPECT_MSG(e, "j NaN", op, PARAMS, "penalty j", labels, SH(4, 10), SH(4));

    op = (clnet_op){.kind = CLNET_OP_REDUCE_SUM};
    EXPECT(e, "x of rank 1", op, SHAPE, NULL, SH(5));
    EXPECT(e, "I32 x", op, DTYPE, DT(CLNET_I32), SH(2, 5));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(2, 5), SH(2, 5));
}

static void optimizer_errors(env *e)
{
    clnet_op op = {.kind = CLNET_OP_SGD_STEP};
    const clnet_sgd_params sgd = {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f};
    op.u.sgd = sgd;
    op.u.sgd.momentum = 1;
    EXPECT_MSG(e, "momentum 1", op, PARAMS, "momentum 1 ", NULL, SH(10));
    op.u.sgd.momentum = -0.5f;
    EXPECT_MSG(e, "momentum -0.5", op, PARAMS, "momentum -0.5", NULL, SH(10));
    op.u.sgd.momentum = NAN;
    EXPECT_MSG(e, "momentum NaN", op, PARAMS, "momentum nan", NULL, SH(10));
    op.u.sgd = sgd;
    op.u.sgd.weight_decay = -1;
    EXPECT_MSG(e, "weight decay -1", op, PARAMS, "weight decay -1", NULL, SH(10));
    op.u.sgd = sgd;
    op.u.sgd.lr = INFINITY;
    EXPECT_MSG(e, "lr Inf", op, PARAMS, "lr inf", NULL, SH(10));
    op.u.sgd = sgd;
    EXPECT(e, "I32 g", op, DTYPE, DT(CLNET_I32), SH(10));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(10), SH(10));
    expect_op(e, "0 inputs", op, ARG, NULL, NULL, NULL, 0);

    op = (clnet_op){.kind = CLNET_OP_ADAM_STEP};
    const clnet_adam_params adam = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                    .t = 1};
    op.u.adam = adam;
    op.u.adam.t = 0;
    EXPECT_MSG(e, "t 0", op, PARAMS, "t = 0", NULL, SH(10));
    op.u.adam.t = -3;
    EXPECT_MSG(e, "t -3", op, PARAMS, "t = -3", NULL, SH(10));
    op.u.adam = adam;
    op.u.adam.beta1 = 1;
    EXPECT(e, "beta1 1", op, PARAMS, NULL, SH(10));
    op.u.adam = adam;
    op.u.adam.beta2 = 1.5f;
    EXPECT(e, "beta2 1.5", op, PARAMS, NULL, SH(10));
    op.u.adam = adam;
    op.u.adam.eps = 0;
    EXPECT(e, "eps 0", op, PARAMS, NULL, SH(10));
    op.u.adam = adam;
    op.u.adam.weight_decay = -0.1f;
    EXPECT(e, "weight decay -0.1", op, PARAMS, NULL, SH(10));
    op.u.adam = adam;
    op.u.adam.lr = NAN;
    EXPECT(e, "lr NaN", op, PARAMS, NULL, SH(10));
    op.u.adam = adam;
    EXPECT(e, "I32 g", op, DTYPE, DT(CLNET_I32), SH(10));
    EXPECT(e, "2 inputs", op, ARG, NULL, SH(10), SH(10));
}

static void kind_errors(env *e)
{
    clnet_op op = clnet_op_simple(CLNET_OP_CONCAT);
    const clnet_shape x = SH(2, 3);
    const clnet_dtype f32 = CLNET_F32;
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype odt[CLNET_OP_MAX_OUTPUTS];
    int nout;
    const int kinds[] = {99, -1, CLNET_OP_KIND_COUNT};
    for (int i = 0; i < 3; i++) {
        char label[64], number[16];
        snprintf(number, sizeof number, "%d", kinds[i]);
        op.kind = (clnet_op_kind)kinds[i];
        snprintf(label, sizeof label, "kind %d (output_shapes)", kinds[i]);
        stale(e);
        verdict(e, label, clnet_op_output_shapes(e->ctx, &op, 1, &x, &f32, &nout, out, odt), ARG,
                number);
        snprintf(label, sizeof label, "kind %d", kinds[i]);
        expect_run(e, label, op, ARG, NULL, &x, 1, number, NULL);
    }
    op = clnet_op_activation(CLNET_ACT_RELU, 0);
    stale(e);
    verdict(e, "activation: op NULL (output_shapes)",
            clnet_op_output_shapes(e->ctx, NULL, 1, &x, &f32, &nout, out, odt), ARG, "");
    stale(e);
    verdict(e, "activation: in NULL (output_shapes)",
            clnet_op_output_shapes(e->ctx, &op, 1, NULL, &f32, &nout, out, odt), ARG, "activation");
    stale(e);
    verdict(e, "activation: nout NULL (output_shapes)",
            clnet_op_output_shapes(e->ctx, &op, 1, &x, &f32, NULL, out, odt), ARG, "activation");
    stale(e);
    verdict(e, "activation: out NULL (output_shapes)",
            clnet_op_output_shapes(e->ctx, &op, 1, &x, &f32, &nout, NULL, odt), ARG, "activation");
    op = clnet_op_conv(0, 0, 1, 1);
    verdict(e, "conv: stride 0 with ctx NULL (output_shapes)",
            clnet_op_output_shapes(NULL, &op, 2, (clnet_shape[]){SH(1, 3, 8, 8), SH(4, 3, 3, 3)},
                                   (clnet_dtype[]){CLNET_F32, CLNET_F32}, &nout, out, odt),
            PARAMS, NULL);
}

/* A valid conv on ref tensors, with one thing at a time wrong at run time. */
typedef struct conv_run {
    clnet_tensor *x, *w, *y, *y_wrong, *y_rank, *y_i32;
} conv_run;

static void conv_run_checks(env *e, const conv_run *r)
{
    const clnet_op op = clnet_op_conv(1, 1, 1, 1);
    clnet_tensor *in[2] = {r->x, r->w}, *null_w[2] = {r->x, NULL}, *null_out[1] = {NULL};
    clnet_tensor *three[3] = {r->y, r->y, r->y}, *one[1] = {r->y_wrong};
    stale(e);
    verdict(e, "conv: output (1,4,8,7) for (1,4,8,8)", clnet_op_run(e->ref, &op, 2, in, 1, one),
            SHAPE, "conv");
    stale(e);
    one[0] = r->y_rank;
    verdict(e, "conv: output of rank 3", clnet_op_run(e->ref, &op, 2, in, 1, one), SHAPE, "conv");
    stale(e);
    one[0] = r->y_i32;
    verdict(e, "conv: I32 output", clnet_op_run(e->ref, &op, 2, in, 1, one), DTYPE, "conv");
    one[0] = r->y;
    stale(e);
    verdict(e, "conv: weights NULL", clnet_op_run(e->ref, &op, 2, null_w, 1, one), ARG, "conv");
    stale(e);
    verdict(e, "conv: in NULL", clnet_op_run(e->ref, &op, 2, NULL, 1, one), ARG, "conv");
    stale(e);
    verdict(e, "conv: out NULL", clnet_op_run(e->ref, &op, 2, in, 1, NULL), ARG, "conv");
    stale(e);
    verdict(e, "conv: output NULL", clnet_op_run(e->ref, &op, 2, in, 1, null_out), ARG, "conv");
    stale(e);
    verdict(e, "conv: 0 outputs", clnet_op_run(e->ref, &op, 2, in, 0, one), ARG, "conv");
    stale(e);
    verdict(e, "conv: 3 outputs", clnet_op_run(e->ref, &op, 2, in, 3, three), ARG, "conv");
    stale(e);
    verdict(e, "op NULL", clnet_op_run(e->ref, NULL, 2, in, 1, one), ARG, "");
    verdict(e, "dev NULL", clnet_op_run(NULL, &op, 2, in, 1, one), ARG, NULL);
}

static void run_errors(env *e)
{
    conv_run r = {0};
    r.x = test_tensor(e->ref, 4, (int64_t[]){1, 3, 8, 8}, NULL);
    r.w = test_tensor(e->ref, 4, (int64_t[]){4, 3, 3, 3}, NULL);
    r.y = test_tensor(e->ref, 4, (int64_t[]){1, 4, 8, 8}, NULL);
    r.y_wrong = test_tensor(e->ref, 4, (int64_t[]){1, 4, 8, 7}, NULL);
    r.y_rank = test_tensor(e->ref, 3, (int64_t[]){1, 4, 64}, NULL);
    clnet_tensor_new(e->ref, CLNET_I32, 4, (int64_t[]){1, 4, 8, 8}, &r.y_i32);
    if (r.x && r.w && r.y && r.y_wrong && r.y_rank && r.y_i32)
        conv_run_checks(e, &r);
    else
        verdict(e, "conv run tensors", CLNET_ERR_HOST_MEMORY, CLNET_OK, NULL);
    clnet_tensor_free(r.x);
    clnet_tensor_free(r.w);
    clnet_tensor_free(r.y);
    clnet_tensor_free(r.y_wrong);
    clnet_tensor_free(r.y_rank);
    clnet_tensor_free(r.y_i32);
}

/* Pooling outputs at run time: the argmax must be I32 and exists only in
 * max mode. */
static void pool_run_errors(env *e)
{
    clnet_tensor *x = test_tensor(e->ref, 4, (int64_t[]){1, 2, 4, 4}, NULL);
    clnet_tensor *y = test_tensor(e->ref, 4, (int64_t[]){1, 2, 2, 2}, NULL);
    clnet_tensor *f = test_tensor(e->ref, 4, (int64_t[]){1, 2, 2, 2}, NULL), *idx = NULL;
    clnet_tensor_new(e->ref, CLNET_I32, 4, (int64_t[]){1, 2, 2, 2}, &idx);
    if (x && y && f && idx) {
        clnet_op op = clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0);
        stale(e);
        verdict(e, "pool: F32 argmax", clnet_op_run(e->ref, &op, 1, &x, 2, (clnet_tensor *[]){y, f}),
                DTYPE, "pool");
        op.u.pool.mode = CLNET_POOL_AVG;
        stale(e);
        verdict(e, "pool: argmax in average mode",
                clnet_op_run(e->ref, &op, 1, &x, 2, (clnet_tensor *[]){y, idx}), ARG, "pool");
    } else {
        verdict(e, "pool run tensors", CLNET_ERR_HOST_MEMORY, CLNET_OK, NULL);
    }
    clnet_tensor_free(x);
    clnet_tensor_free(y);
    clnet_tensor_free(f);
    clnet_tensor_free(idx);
}

/* Valid training ops on ref tensors with their outputs miscounted or
 * mis-shaped: optional outputs come in the documented groups only. */
static void expect_outputs(env *e, const char *what, clnet_op op, clnet_status want,
                           const char *detail, int nin, const clnet_shape *in,
                           const clnet_dtype *dt, const clnet_shape *out, int nout,
                           const clnet_dtype *odt)
{
    clnet_tensor *t[CLNET_OP_MAX_INPUTS] = {0}, *o[CLNET_OP_MAX_OUTPUTS] = {0};
    clnet_status st = CLNET_OK;
    for (int i = 0; i < nin && st == CLNET_OK; i++)
        st = clnet_tensor_new(e->ref, dt ? dt[i] : CLNET_F32, in[i].ndim, in[i].dim, &t[i]);
    for (int j = 0; j < nout && st == CLNET_OK; j++)
        st = clnet_tensor_new(e->ref, odt ? odt[j] : CLNET_F32, out[j].ndim, out[j].dim, &o[j]);
    char label[256];
    snprintf(label, sizeof label, "%s: %s", clnet_op_kind_name(op.kind), what);
    if (st == CLNET_OK) {
        stale(e);
        verdict_msg(e, label, clnet_op_run(e->ref, &op, nin, t, nout, o), want,
                    clnet_op_kind_name(op.kind), detail);
    } else {
        verdict(e, label, st, CLNET_OK, NULL);
    }
    for (int i = 0; i < nin; i++)
        clnet_tensor_free(t[i]);
    for (int j = 0; j < nout; j++)
        clnet_tensor_free(o[j]);
}

/* in: an array of input shapes; then dtypes of inputs and outputs (NULL:
 * all F32) and the output shapes. */
#define EXPECT_OUT(e, what, op, want, detail, in, dt, odt, ...)                               \
    expect_outputs(e, what, op, want, detail, (int)(sizeof(in) / sizeof((in)[0])), in, dt, \
                   SHAPES(__VA_ARGS__), odt)

static void training_run_errors(env *e)
{
    const clnet_shape x[1] = {SH(2, 3, 4, 4)}, g[1] = {SH(10)}, v3 = SH(3), g10 = SH(10);
    const clnet_dtype i32[1] = {CLNET_I32}, m_i32[3] = {CLNET_F32, CLNET_I32, CLNET_F32};
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM_STATS);
    op.u.bn.momentum = 0.1f;
    EXPECT_OUT(e, "running_mean without running_var", op, ARG, "needs 2 or 4", x, NULL, NULL,
               v3, v3, v3);
    EXPECT_OUT(e, "mean alone", op, ARG, "needs 2 or 4", x, NULL, NULL, v3);
    EXPECT_OUT(e, "running_var of 4 for C 3", op, SHAPE, "output 3", x, NULL, NULL, v3, v3, v3,
               SH(4));

    op = (clnet_op){.kind = CLNET_OP_SGD_STEP};
    op.u.sgd = (clnet_sgd_params){.lr = 0.1f, .momentum = 0.9f};
    EXPECT_OUT(e, "momentum 0.9 without v", op, ARG, "1 outputs", g, NULL, NULL, g10);
    EXPECT_OUT(e, "v of 11 for g of 10", op, SHAPE, "output 1", g, NULL, NULL, g10, SH(11));
    op.u.sgd.momentum = 0;
    EXPECT_OUT(e, "momentum 0 with 3 outputs", op, ARG, "3 outputs", g, NULL, NULL, g10, g10,
               g10);
    EXPECT_OUT(e, "w of 11 for g of 10", op, SHAPE, "output 0", g, NULL, NULL, SH(11));

    op = (clnet_op){.kind = CLNET_OP_ADAM_STEP};
    op.u.adam = (clnet_adam_params){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                    .t = 1};
    EXPECT_OUT(e, "without v", op, ARG, "2 outputs", g, NULL, NULL, g10, g10);
    EXPECT_OUT(e, "I32 m", op, DTYPE, "output 1", g, NULL, m_i32, g10, g10, g10);

    op = (clnet_op){.kind = CLNET_OP_BATCHNORM_BACKWARD};
    op.u.bn.eps = 1e-5f;
    const clnet_shape bn_in[5] = {x[0], x[0], v3, v3, v3};
    EXPECT_OUT(e, "without dbeta", op, ARG, "2 outputs", bn_in, NULL, NULL, x[0], v3);
    EXPECT_OUT(e, "dgamma of 4 for C 3", op, SHAPE, "output 1", bn_in, NULL, NULL, x[0], SH(4),
               v3);

    op = (clnet_op){.kind = CLNET_OP_SOFTMAX_XENT};
    op.u.loss.scale = 1;
    const clnet_shape xent_in[2] = {SH(4, 10), SH(4)};
    const clnet_dtype xent_dt[2] = {CLNET_F32, CLNET_I32};
    EXPECT_OUT(e, "loss without dlogits", op, ARG, "1 outputs", xent_in, xent_dt, NULL, SH(4));
    EXPECT_OUT(e, "loss of 5 for N 4", op, SHAPE, "output 0", xent_in, xent_dt, NULL, SH(5),
               SH(4, 10));
    op.kind = CLNET_OP_MSE_LOSS;
    const clnet_shape mse_in[2] = {SH(4, 10), SH(4, 10)};
    EXPECT_OUT(e, "loss without dpred", op, ARG, "1 outputs", mse_in, NULL, NULL, SH(4));

    op = backward_weights(3);
    const clnet_shape bw_in[2] = {SH(1, 3, 8, 8), SH(1, 4, 8, 8)};
    EXPECT_OUT(e, "dw (4,3,3,2) for kernel 3x3", op, SHAPE, "output 0", bw_in, NULL, NULL,
               SH(4, 3, 3, 2));
    op = clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0);
    op.kind = CLNET_OP_POOL_BACKWARD;
    const clnet_shape pool_in[2] = {SH(1, 3, 8, 8), SH(1, 3, 4, 4)};
    EXPECT_OUT(e, "I32 dx", op, DTYPE, "output 0", pool_in, NULL, i32, SH(1, 3, 8, 8));
    op = (clnet_op){.kind = CLNET_OP_REDUCE_SUM};
    op.u.reduce.keep_batch = true;
    EXPECT_OUT(e, "keep_batch, y (3) for (2,3,1,1)", op, SHAPE, "output 0", x, NULL, NULL, v3);
    op = clnet_op_activation(CLNET_ACT_RELU, 0);
    op.kind = CLNET_OP_ACTIVATION_BACKWARD;
    const clnet_shape act_in[2] = {SH(2, 3), SH(2, 3)};
    EXPECT_OUT(e, "dx (2,4) for x (2,3)", op, SHAPE, "output 0", act_in, NULL, NULL, SH(2, 4));
}

/* Tensors of one call on ref and on an OpenCL device. */
static void mismatch_errors(env *e)
{
    if (!e->cl) {
        printf("SKIP device mismatch: no OpenCL device\n");
        return;
    }
    const clnet_op op = clnet_op_activation(CLNET_ACT_RELU, 0);
    const int64_t shape[2] = {2, 3};
    clnet_tensor *xr = test_tensor(e->ref, 2, shape, NULL), *yr = test_tensor(e->ref, 2, shape, NULL);
    clnet_tensor *xc = test_tensor(e->cl, 2, shape, NULL), *yc = test_tensor(e->cl, 2, shape, NULL);
    if (xr && yr && xc && yc) {
        stale(e);
        verdict(e, "activation: x on ref, y on OpenCL", clnet_op_run(e->ref, &op, 1, &xr, 1, &yc),
                CLNET_ERR_DEVICE_MISMATCH, "activation");
        stale(e);
        verdict(e, "activation: x on OpenCL, y on ref", clnet_op_run(e->ref, &op, 1, &xc, 1, &yr),
                CLNET_ERR_DEVICE_MISMATCH, "activation");
        stale(e);
        verdict(e, "activation: tensors on OpenCL, run on ref", clnet_op_run(e->ref, &op, 1, &xc, 1, &yc),
                CLNET_ERR_DEVICE_MISMATCH, "activation");
        stale(e);
        verdict(e, "activation: tensors on ref, run on OpenCL", clnet_op_run(e->cl, &op, 1, &xr, 1, &yr),
                CLNET_ERR_DEVICE_MISMATCH, "activation");
        clnet_op add = {.kind = CLNET_OP_BINARY};
        stale(e);
        verdict(e, "binary: a on OpenCL, b on ref",
                clnet_op_run(e->cl, &add, 2, (clnet_tensor *[]){xc, xr}, 1, &yc),
                CLNET_ERR_DEVICE_MISMATCH, "binary");
    } else {
        verdict(e, "mismatch tensors", CLNET_ERR_HOST_MEMORY, CLNET_OK, NULL);
    }
    clnet_tensor_free(xr);
    clnet_tensor_free(yr);
    clnet_tensor_free(xc);
    clnet_tensor_free(yc);
}

static void expect_new(env *e, clnet_device *dev, const char *what, int ndim, const int64_t *shape,
                       clnet_status want, const char *needle)
{
    clnet_tensor *t = NULL;
    stale(e);
    clnet_status st = clnet_tensor_new(dev, CLNET_F32, ndim, shape, &t);
    verdict(e, what, st, want, needle);
    clnet_tensor_free(st == CLNET_OK ? t : NULL);
}

/* A tensor just over the device's single-allocation limit, and one whose
 * byte count overflows 64 bits. */
static void memory_errors(env *e, clnet_device *dev)
{
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    char what[256], bytes[32];
    const int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    snprintf(what, sizeof what, "tensor_new on %s: 2^80 elements", info.name);
    expect_new(e, dev, what, 2, huge, CLNET_ERR_DEVICE_MEMORY, "");
    if (info.max_alloc_bytes == 0 || info.max_alloc_bytes > ((uint64_t)1 << 40)) {
        printf("SKIP tensor_new over the limit on %s: max_alloc_bytes %llu\n", info.name,
               (unsigned long long)info.max_alloc_bytes);
        return;
    }
    const int64_t shape[2] = {2, (int64_t)(info.max_alloc_bytes / 8 + 1)};
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)(shape[0] * shape[1] * 4));
    snprintf(what, sizeof what, "tensor_new on %s: %s bytes > max_alloc_bytes %llu", info.name,
             bytes, (unsigned long long)info.max_alloc_bytes);
    expect_new(e, dev, what, 2, shape, CLNET_ERR_DEVICE_MEMORY, bytes);
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)info.max_alloc_bytes);
    expect_new(e, dev, "  ... and the message gives the limit", 2, shape, CLNET_ERR_DEVICE_MEMORY,
               bytes);
}

static void tensor_errors(env *e)
{
    const int64_t shape[5] = {2, 3, 4, 5, 6};
    expect_new(e, e->ref, "tensor_new: ndim 0", 0, shape, ARG, "");
    expect_new(e, e->ref, "tensor_new: ndim 5", 5, shape, ARG, "");
    expect_new(e, e->ref, "tensor_new: ndim -1", -1, shape, ARG, "");
    expect_new(e, e->ref, "tensor_new: dimension 0", 3, (int64_t[]){2, 0, 3}, ARG, "");
    expect_new(e, e->ref, "tensor_new: dimension -3", 2, (int64_t[]){-3, 2}, ARG, "");
    expect_new(e, e->ref, "tensor_new: shape NULL", 2, NULL, ARG, "");
    stale(e);
    verdict(e, "tensor_new: out NULL", clnet_tensor_new(e->ref, CLNET_F32, 2, shape, NULL), ARG, "");
    clnet_tensor *t = NULL;
    verdict(e, "tensor_new: dev NULL", clnet_tensor_new(NULL, CLNET_F32, 2, shape, &t), ARG, NULL);
    t = NULL;
    stale(e);
    clnet_status st = clnet_tensor_new(e->ref, (clnet_dtype)9, 2, shape, &t);
    verdict(e, "tensor_new: dtype 9", st, ARG, "");
    clnet_tensor_free(st == CLNET_OK ? t : NULL);
    memory_errors(e, e->ref);
    if (e->cl) {
        expect_new(e, e->cl, "tensor_new on OpenCL: dimension 0", 2, (int64_t[]){0, 2}, ARG, "");
        memory_errors(e, e->cl);
    }
}

static void device_errors(env *e)
{
    clnet_device *dev = NULL;
    stale(e);
    verdict(e, "device_find: \"no-such-device-xyz\"",
            clnet_device_find(e->ctx, "no-such-device-xyz", &dev), CLNET_ERR_NO_DEVICE,
            "no-such-device-xyz");
    stale(e);
    verdict(e, "device_find: \"99\"", clnet_device_find(e->ctx, "99", &dev), CLNET_ERR_NO_DEVICE,
            "99");
    stale(e);
    verdict(e, "device_get: index 99", clnet_device_get(e->ctx, 99, &dev), CLNET_ERR_NO_DEVICE, "99");
    stale(e);
    verdict(e, "device_get: index -1", clnet_device_get(e->ctx, -1, &dev), CLNET_ERR_NO_DEVICE, "-1");
    stale(e);
    verdict(e, "device_find: out NULL", clnet_device_find(e->ctx, "ref", NULL), ARG, "");
}

/* Records one check of SQLite's rule: a call that succeeded after a failure
 * leaves clnet_last_error empty. */
static void cleared(env *e, const char *what, clnet_status st)
{
    bool ok = st == CLNET_OK && clnet_last_error(e->ctx)[0] == '\0';
    if (ok)
        e->passed++;
    else
        e->failed++;
    if (!ok)
        printf("FAIL %s after a failure: status %d, last error \"%s\"\n", what, st,
               clnet_last_error(e->ctx));
}

/* Every status-returning call that succeeds clears the previous failure. */
static void success_clears(env *e)
{
    clnet_device *dev = NULL;
    stale(e);
    cleared(e, "clnet_device_find", clnet_device_find(e->ctx, "ref", &dev));
    const int64_t shape[2] = {2, 3};
    clnet_tensor *x = NULL, *y = NULL;
    stale(e);
    cleared(e, "clnet_tensor_new", clnet_tensor_new(e->ref, CLNET_F32, 2, shape, &x));
    stale(e);
    cleared(e, "clnet_tensor_new", clnet_tensor_new(e->ref, CLNET_F32, 2, shape, &y));
    if (!x || !y) {
        clnet_tensor_free(x);
        clnet_tensor_free(y);
        return;
    }
    stale(e);
    cleared(e, "clnet_tensor_fill", clnet_tensor_fill(x, 1.0f));
    const clnet_op relu = clnet_op_activation(CLNET_ACT_RELU, 0.0f);
    const clnet_shape in = SH(2, 3);
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype odt[CLNET_OP_MAX_OUTPUTS];
    const clnet_dtype f32 = CLNET_F32;
    int nout;
    stale(e);
    cleared(e, "clnet_op_output_shapes",
            clnet_op_output_shapes(e->ctx, &relu, 1, &in, &f32, &nout, out, odt));
    stale(e);
    cleared(e, "clnet_op_run", clnet_op_run(e->ref, &relu, 1, &x, 1, &y));
    float host[6];
    stale(e);
    cleared(e, "clnet_tensor_read", clnet_tensor_read(y, host, sizeof host));
    clnet_tensor_free(x);
    clnet_tensor_free(y);
    clnet_net *net = NULL;
    const clnet_shape image = SH(1, 4, 4);
    stale(e);
    cleared(e, "clnet_net_new", clnet_net_new(e->ctx, &image, &net));
    clnet_net_free(net);
}

/* clnet's own codes keep out of OpenCL's numbers and of both raw-code bands,
 * each has its own text, and the bands give their raw codes back. */
static void status_bands(env *e)
{
    for (int code = CLNET_ERR_INVALID_ARGUMENT; code >= CLNET_ERR_INTERNAL; code--) {
        clnet_status st = (clnet_status)code;
        char what[96];
        snprintf(what, sizeof what, "status %d (%s) is in clnet's band", code,
                 clnet_status_str(st));
        bool ok = code <= -1001 && code >= -1999 && clnet_status_opencl_code(st) == 0 &&
                  clnet_status_clblast_code(st) == 0 &&
                  strcmp(clnet_status_str(st), "unknown clnet status") != 0;
        printf("%s %s\n", ok ? "OK  " : "FAIL", what);
        ok ? e->passed++ : e->failed++;
    }
    clnet_status oom = (clnet_status)(CLNET_ERR_OPENCL_BAND - 4);
    bool ok = clnet_status_opencl_code(oom) == -4 &&
              strcmp(clnet_status_str(oom), "CL_MEM_OBJECT_ALLOCATION_FAILURE") == 0 &&
              clnet_status_opencl_code(CLNET_ERR_DTYPE) == 0 &&
              strcmp(clnet_status_str((clnet_status)-4), "unknown clnet status") == 0 &&
              clnet_status_clblast_code((clnet_status)(CLNET_ERR_CLBLAST_BAND - 2048)) == -2048;
    printf("%s OpenCL's -4 is CL_MEM_OBJECT_ALLOCATION_FAILURE in its band, no clnet code\n",
           ok ? "OK  " : "FAIL");
    ok ? e->passed++ : e->failed++;
}

int main(void)
{
    env e = {0};
    if (clnet_ctx_new(&e.ctx) != CLNET_OK) {
        printf("FAIL: clnet_ctx_new\n");
        return 1;
    }
    clnet_device *devs[MAX_DEVICES];
    int ndev = 0, rc = test_open_devices(e.ctx, devs, MAX_DEVICES, &ndev);
    if (rc == 1) {
        clnet_ctx_free(e.ctx);
        return 1;
    }
    int r = test_ref_index(devs, ndev);
    if (r < 0) {
        printf("FAIL: no ref device\n");
        clnet_ctx_free(e.ctx);
        return 1;
    }
    e.ref = devs[r];
    e.cl = r > 0 ? devs[0] : NULL;
    conv_errors(&e);
    conv_transpose_errors(&e);
    pool_errors(&e);
    unpool_errors(&e);
    unpool_backward_errors(&e);
    eltwise_errors(&e);
    norm_errors(&e);
    gemm_errors(&e);
    conv_backward_errors(&e);
    pool_backward_errors(&e);
    eltwise_backward_errors(&e);
    batchnorm_backward_errors(&e);
    loss_errors(&e);
    optimizer_errors(&e);
    kind_errors(&e);
    run_errors(&e);
    pool_run_errors(&e);
    training_run_errors(&e);
    mismatch_errors(&e);
    tensor_errors(&e);
    device_errors(&e);
    success_clears(&e);
    status_bands(&e);
    printf("op_errors: %d passed, %d failed\n", e.passed, e.failed);
    clnet_ctx_free(e.ctx);
    if (e.failed)
        return 1;
    return rc == TEST_SKIP ? TEST_SKIP : 0;
}

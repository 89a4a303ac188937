/* test_op_plan.c - planned ops (clnet_op_plan_*) on every device: a plan
 * computes what clnet_op_run computes, bit for bit (2-D and 1-D
 * convolutions, max pooling with and without its argmax), from copies of
 * the caller's shapes; on OpenCL an AUTO convolution's algorithm is fixed,
 * a forced one kept, and one that cannot run the shapes refused; bad
 * descriptors fail at plan time, and tensors unlike the plan fail at run
 * time with a status and a message, never a wrong read. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_DEVICES 16

static clnet_tensor *random_tensor(clnet_device *dev, test_rng *rng, int ndim,
                                   const int64_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    float *data = malloc(n * sizeof *data);
    if (!data)
        return NULL;
    test_fill_uniform(rng, data, n, -1.0f, 1.0f);
    clnet_tensor *t = test_tensor(dev, ndim, shape, data);
    free(data);
    return t;
}

/* Whether two F32 tensors of the same shape hold the same bits. */
static bool same_bits(const clnet_tensor *a, const clnet_tensor *b)
{
    float *x = test_read(a), *y = test_read(b);
    const clnet_shape s = clnet_tensor_shape(a);
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++)
        n *= (size_t)s.dim[i];
    const bool same = x && y && memcmp(x, y, n * sizeof *x) == 0;
    free(x);
    free(y);
    return same;
}

/* The status is `want` and the fresh message contains `needle`. */
static void expect(clnet_ctx *ctx, clnet_status got, clnet_status want, const char *needle,
                   const char *what)
{
    const char *msg = clnet_last_error(ctx);
    CHECK(got == want, "%s: status %s, want %s (%s)", what, clnet_status_str(got),
          clnet_status_str(want), msg);
    CHECK(!needle || strstr(msg, needle), "%s: message '%s' lacks '%s'", what, msg, needle);
}

/* LeNet-5's second layer with a bias: run once through clnet_op_run and
 * twice through a plan, which must agree bit for bit. */
static void conv_plan(clnet_ctx *ctx, clnet_device *dev, bool opencl)
{
    test_rng rng = {7};
    const int64_t xs[4] = {2, 6, 14, 14}, ws[4] = {16, 6, 5, 5}, bs[1] = {16},
                  ys[4] = {2, 16, 10, 10};
    clnet_tensor *x = random_tensor(dev, &rng, 4, xs), *w = random_tensor(dev, &rng, 4, ws),
                 *b = random_tensor(dev, &rng, 1, bs), *y1 = test_tensor(dev, 4, ys, NULL),
                 *y2 = test_tensor(dev, 4, ys, NULL);
    const clnet_op conv = clnet_op_conv(1, 0, 1, 1);
    const clnet_shape in[3] = {{4, {2, 6, 14, 14}}, {4, {16, 6, 5, 5}}, {1, {16}}};
    clnet_op_plan *plan = NULL;
    if (!x || !w || !b || !y1 || !y2 ||
        !OK(ctx, clnet_op_plan_new(dev, &conv, 3, in, NULL, &plan)))
        goto done;
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dt[CLNET_OP_MAX_OUTPUTS];
    int fewest = -1;
    const int n = clnet_op_plan_outputs(plan, out, dt, &fewest);
    CHECK(n == 1 && fewest == 1 && out[0].ndim == 4 &&
              memcmp(out[0].dim, ys, sizeof ys) == 0 && dt[0] == CLNET_F32,
          "conv plan: %d outputs (fewest %d), want one of [2,16,10,10]", n, fewest);
    const clnet_conv_algo algo = clnet_op_plan_op(plan)->u.conv.algo;
    CHECK(opencl ? algo != CLNET_CONV_ALGO_AUTO : algo == CLNET_CONV_ALGO_AUTO,
          "conv plan: algorithm %d on %s", (int)algo, opencl ? "OpenCL" : "ref");
    clnet_tensor *args[3] = {x, w, b};
    if (OK(ctx, clnet_op_run(dev, &conv, 3, args, 1, &y1)) &&
        OK(ctx, clnet_op_plan_run(plan, 3, args, 1, &y2)) &&
        OK(ctx, clnet_op_plan_run(plan, 3, args, 1, &y2)))
        CHECK(same_bits(y1, y2), "conv plan: its output differs from clnet_op_run's");

    /* tensors unlike the plan */
    const int64_t small[4] = {1, 6, 14, 14};
    clnet_tensor *x1 = test_tensor(dev, 4, small, NULL);
    if (x1) {
        clnet_tensor *bad[3] = {x1, w, b};
        expect(ctx, clnet_op_plan_run(plan, 3, bad, 1, &y2), CLNET_ERR_SHAPE,
               "the plan was made for 2x6x14x14", "an input of another batch");
        clnet_tensor_free(x1);
    }
    expect(ctx, clnet_op_plan_run(plan, 2, args, 1, &y2), CLNET_ERR_INVALID_ARGUMENT,
           "the plan was made for 3", "no bias for a plan with one");
    expect(ctx, clnet_op_plan_run(plan, 3, args, 1, &x), CLNET_ERR_SHAPE, "output 0",
           "an output of another shape");
    clnet_tensor *xi = NULL;
    if (OK(ctx, clnet_tensor_new(dev, CLNET_I32, 4, xs, &xi))) {
        clnet_tensor *bad[3] = {xi, w, b};
        expect(ctx, clnet_op_plan_run(plan, 3, bad, 1, &y2), CLNET_ERR_DTYPE, "input 0",
               "an I32 input");
        clnet_tensor_free(xi);
    }
    expect(ctx, clnet_op_plan_run(plan, 3, (clnet_tensor *[]){x, NULL, b}, 1, &y2),
           CLNET_ERR_INVALID_ARGUMENT, "input 1 is NULL", "a NULL input");
done:
    clnet_op_plan_free(plan);
    clnet_tensor_free(x);
    clnet_tensor_free(w);
    clnet_tensor_free(b);
    clnet_tensor_free(y1);
    clnet_tensor_free(y2);
}

/* Max pooling's argmax is optional: a plan takes a run with it and one
 * without, as clnet_op_run does. */
static void pool_plan(clnet_ctx *ctx, clnet_device *dev)
{
    test_rng rng = {11};
    const int64_t xs[4] = {2, 3, 8, 8}, ys[4] = {2, 3, 4, 4};
    clnet_tensor *x = random_tensor(dev, &rng, 4, xs), *y1 = test_tensor(dev, 4, ys, NULL),
                 *y2 = test_tensor(dev, 4, ys, NULL), *arg = NULL;
    const clnet_op pool = clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0);
    const clnet_shape in[1] = {{4, {2, 3, 8, 8}}};
    clnet_op_plan *plan = NULL;
    if (!x || !y1 || !y2 || !OK(ctx, clnet_tensor_new(dev, CLNET_I32, 4, ys, &arg)) ||
        !OK(ctx, clnet_op_plan_new(dev, &pool, 1, in, NULL, &plan)))
        goto done;
    int fewest = -1;
    clnet_dtype dt[CLNET_OP_MAX_OUTPUTS];
    const int n = clnet_op_plan_outputs(plan, NULL, dt, &fewest);
    CHECK(n == 2 && fewest == 1 && dt[1] == CLNET_I32,
          "max pool plan: %d outputs (fewest %d), want the argmax as an optional I32", n,
          fewest);
    if (OK(ctx, clnet_op_run(dev, &pool, 1, &x, 1, &y1)) &&
        OK(ctx, clnet_op_plan_run(plan, 1, &x, 1, &y2)))
        CHECK(same_bits(y1, y2), "max pool plan: its output differs from clnet_op_run's");
    clnet_tensor *arg1 = NULL;
    if (OK(ctx, clnet_tensor_new(dev, CLNET_I32, 4, ys, &arg1))) {
        int32_t a[96], b[96];
        if (OK(ctx, clnet_op_run(dev, &pool, 1, &x, 2, (clnet_tensor *[]){y1, arg1})) &&
            OK(ctx, clnet_op_plan_run(plan, 1, &x, 2, (clnet_tensor *[]){y2, arg})) &&
            OK(ctx, clnet_tensor_read(arg1, a, sizeof a)) &&
            OK(ctx, clnet_tensor_read(arg, b, sizeof b)))
            CHECK(memcmp(a, b, sizeof a) == 0,
                  "max pool plan: its argmax differs from clnet_op_run's");
        clnet_tensor_free(arg1);
    }
    expect(ctx, clnet_op_plan_run(plan, 1, &x, 2, (clnet_tensor *[]){y2, y1}), CLNET_ERR_DTYPE,
           "output 1", "an F32 argmax");
done:
    clnet_op_plan_free(plan);
    clnet_tensor_free(x);
    clnet_tensor_free(y1);
    clnet_tensor_free(y2);
    clnet_tensor_free(arg);
}

/* What a plan refuses when it is made. */
static void plan_errors(clnet_ctx *ctx, clnet_device *dev)
{
    const clnet_shape in[2] = {{4, {2, 6, 14, 14}}, {4, {16, 6, 5, 5}}};
    clnet_op_plan *plan = (clnet_op_plan *)&plan;
    const clnet_op zero_stride = clnet_op_conv(0, 0, 1, 1);
    expect(ctx, clnet_op_plan_new(dev, &zero_stride, 2, in, NULL, &plan),
           CLNET_ERR_INVALID_PARAMS, "stride 0", "stride 0");
    CHECK(plan == NULL, "a failed plan leaves *plan set");
    const clnet_op conv = clnet_op_conv(1, 0, 1, 1);
    const clnet_shape wrong[2] = {{4, {2, 6, 14, 14}}, {4, {16, 5, 5, 5}}};
    expect(ctx, clnet_op_plan_new(dev, &conv, 2, wrong, NULL, &plan), CLNET_ERR_SHAPE,
           "5 channels per group", "weights of 5 input channels for 6");
    expect(ctx, clnet_op_plan_new(dev, &conv, -1, in, NULL, &plan), CLNET_ERR_INVALID_ARGUMENT,
           "-1 inputs", "a negative input count");
    expect(ctx, clnet_op_plan_new(dev, &conv, CLNET_OP_MAX_INPUTS + 1, in, NULL, &plan),
           CLNET_ERR_INVALID_ARGUMENT, "inputs (at most", "too many inputs");
    expect(ctx, clnet_op_plan_new(dev, &conv, 2, in, NULL, NULL), CLNET_ERR_INVALID_ARGUMENT,
           "clnet_op_plan_new", "a NULL plan pointer");
    expect(ctx, clnet_op_plan_new(dev, &conv, 2, NULL, NULL, &plan),
           CLNET_ERR_INVALID_ARGUMENT, "NULL input shapes", "a NULL shape array");
    /* no plan, no context to hold a message: the status alone */
    expect(ctx, clnet_op_plan_run(NULL, 0, NULL, 0, NULL), CLNET_ERR_INVALID_ARGUMENT, NULL,
           "a NULL plan");
    CHECK(clnet_op_plan_outputs(NULL, NULL, NULL, NULL) == 0 && !clnet_op_plan_op(NULL),
          "a NULL plan has outputs or an op");
    clnet_op_plan_free(NULL);
}

/* y = conv(x, w) through clnet_op_run and through a plan of `conv`, made
 * from shapes the caller changes afterwards (the plan keeps copies); the
 * two must agree bit for bit. Returns the plan's algorithm (AUTO when the
 * plan failed). */
static clnet_conv_algo conv_agrees(clnet_ctx *ctx, clnet_device *dev, const clnet_op *conv,
                                   int ndim, const int64_t *xs, const int64_t *ws,
                                   const int64_t *ys, const char *what)
{
    test_rng rng = {3};
    clnet_tensor *x = random_tensor(dev, &rng, ndim, xs), *w = random_tensor(dev, &rng, ndim, ws),
                 *y1 = test_tensor(dev, ndim, ys, NULL), *y2 = test_tensor(dev, ndim, ys, NULL);
    clnet_shape in[2] = {{ndim, {0}}, {ndim, {0}}};
    memcpy(in[0].dim, xs, (size_t)ndim * sizeof xs[0]);
    memcpy(in[1].dim, ws, (size_t)ndim * sizeof ws[0]);
    clnet_op_plan *plan = NULL;
    clnet_conv_algo algo = CLNET_CONV_ALGO_AUTO;
    if (x && w && y1 && y2 && OK(ctx, clnet_op_plan_new(dev, conv, 2, in, NULL, &plan))) {
        algo = clnet_op_plan_op(plan)->u.conv.algo;
        in[0].dim[0] = in[1].dim[0] = 99;
        clnet_tensor *args[2] = {x, w};
        if (OK(ctx, clnet_op_run(dev, conv, 2, args, 1, &y1)) &&
            OK(ctx, clnet_op_plan_run(plan, 2, args, 1, &y2)))
            CHECK(same_bits(y1, y2), "%s: the plan's output differs from clnet_op_run's", what);
    }
    clnet_op_plan_free(plan);
    clnet_tensor_free(x);
    clnet_tensor_free(w);
    clnet_tensor_free(y1);
    clnet_tensor_free(y2);
    return algo;
}

/* A forced algorithm stays forced, one that cannot run the shapes is
 * refused at plan time, and a 1-D convolution (rank 3) plans like a 2-D
 * one. */
static void conv_algorithms(clnet_ctx *ctx, clnet_device *dev, bool opencl)
{
    const int64_t xs[4] = {2, 6, 14, 14}, ws[4] = {16, 6, 5, 5}, ys[4] = {2, 16, 10, 10};
    clnet_op conv = clnet_op_conv(1, 0, 1, 1);
    conv.u.conv.algo = CLNET_CONV_ALGO_IM2COL;
    CHECK(conv_agrees(ctx, dev, &conv, 4, xs, ws, ys, "forced im2col") ==
              CLNET_CONV_ALGO_IM2COL,
          "a plan moved a forced algorithm");
    const int64_t xs1[3] = {2, 3, 20}, ws1[3] = {4, 3, 5}, ys1[3] = {2, 4, 16};
    const clnet_op conv1 = clnet_op_conv(1, 0, 1, 1);
    const clnet_conv_algo algo = conv_agrees(ctx, dev, &conv1, 3, xs1, ws1, ys1, "1-D conv");
    CHECK(opencl ? algo != CLNET_CONV_ALGO_AUTO : algo == CLNET_CONV_ALGO_AUTO,
          "1-D conv plan: algorithm %d on %s", (int)algo, opencl ? "OpenCL" : "ref");
    if (!opencl)
        return;
    const clnet_shape in[2] = {{4, {2, 6, 14, 14}}, {4, {16, 6, 5, 5}}};
    clnet_op winograd = clnet_op_conv(1, 0, 1, 1);
    winograd.u.conv.algo = CLNET_CONV_ALGO_WINOGRAD;
    clnet_op_plan *plan = NULL;
    expect(ctx, clnet_op_plan_new(dev, &winograd, 2, in, NULL, &plan), CLNET_ERR_UNSUPPORTED,
           "cannot run this convolution", "Winograd forced on a 5x5 window");
    CHECK(plan == NULL, "a refused plan leaves *plan set");
}

/* A plan made for one device refuses tensors of another. */
static void other_device(clnet_ctx *ctx, clnet_device *a, clnet_device *b)
{
    const int64_t xs[4] = {1, 2, 4, 4};
    const clnet_op relu = clnet_op_activation(CLNET_ACT_RELU, 0.0f);
    const clnet_shape in[1] = {{4, {1, 2, 4, 4}}};
    clnet_tensor *x = test_tensor(b, 4, xs, NULL), *y = test_tensor(b, 4, xs, NULL);
    clnet_op_plan *plan = NULL;
    if (x && y && OK(ctx, clnet_op_plan_new(a, &relu, 1, in, NULL, &plan)))
        expect(ctx, clnet_op_plan_run(plan, 1, &x, 1, &y), CLNET_ERR_DEVICE_MISMATCH,
               "lives on device", "tensors of another device");
    clnet_op_plan_free(plan);
    clnet_tensor_free(x);
    clnet_tensor_free(y);
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: clnet_ctx_new\n");
        return 1;
    }
    clnet_device *devs[MAX_DEVICES];
    int ndev = 0, rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndev);
    if (rc) {
        clnet_ctx_free(ctx);
        return rc;
    }
    const int r = test_ref_index(devs, ndev);
    for (int d = 0; d < ndev; d++) {
        conv_plan(ctx, devs[d], d != r);
        pool_plan(ctx, devs[d]);
        conv_algorithms(ctx, devs[d], d != r);
        plan_errors(ctx, devs[d]);
        if (r >= 0 && d != r)
            other_device(ctx, devs[d], devs[r]);
    }
    clnet_ctx_free(ctx);
    printf("%s: %d failed checks on %d devices\n", test_failures ? "FAIL" : "OK", test_failures,
           ndev);
    return test_failures ? 1 : 0;
}

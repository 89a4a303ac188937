/* test_primitives.c - the primitive-level conveniences: shape inference
 * with NULL dtypes, clnet_op_run_new allocating its outputs, and tensors over
 * a caller's cl_mem (with an offset, without a copy). */
#include <stdlib.h>
#include <string.h>

#include "clnet.h"
#include "clnet/opencl.h"
#include "testutil.h"

static const char *dev_name(const clnet_device *dev)
{
    static clnet_device_info info;
    clnet_device_info_get(dev, &info);
    return info.name;
}

static void test_null_dtypes(clnet_ctx *ctx)
{
    const clnet_op conv = clnet_op_conv(2, 1, 1, 1);
    const clnet_shape in[2] = {{4, {2, 3, 9, 7}}, {4, {5, 3, 3, 3}}};
    const clnet_dtype f32[2] = {CLNET_F32, CLNET_F32};
    clnet_shape a[CLNET_OP_MAX_OUTPUTS], b[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype adt[CLNET_OP_MAX_OUTPUTS];
    int na = 0, nb = 0;
    if (OK(ctx, clnet_op_output_shapes(ctx, &conv, 2, in, f32, &na, a, adt)) &&
        OK(ctx, clnet_op_output_shapes(ctx, &conv, 2, in, NULL, &nb, b, NULL)))
        CHECK(na == nb && a[0].ndim == 4 && b[0].ndim == 4 &&
                  memcmp(a[0].dim, b[0].dim, 4 * sizeof a[0].dim[0]) == 0 && b[0].dim[2] == 5,
              "NULL dtypes infer another shape");
}

/* relu and a 2x2 max pool on `dev` through clnet_op_run_new. */
static void test_run_new(clnet_ctx *ctx, clnet_device *dev)
{
    const int64_t shape[4] = {1, 1, 2, 4};
    const float x[8] = {-1, 2, -3, 4, 5, -6, 7, -8};
    clnet_tensor *t = NULL, *out[CLNET_OP_MAX_OUTPUTS] = {0};
    int nout = 0;
    const clnet_op relu = clnet_op_activation(CLNET_ACT_RELU, 0);
    const clnet_op pool = clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0);
    float y[8];
    if (!OK(ctx, clnet_tensor_new(dev, CLNET_F32, 4, shape, &t)) ||
        !OK(ctx, clnet_tensor_write(t, x, sizeof x)))
        goto out;
    if (OK(ctx, clnet_op_run_new(dev, &relu, 1, &t, &nout, out)) &&
        OK(ctx, clnet_tensor_read(out[0], y, sizeof y)))
        CHECK(nout == 1 && y[0] == 0 && y[1] == 2 && y[6] == 7 && y[7] == 0,
              "%s: relu through clnet_op_run_new", dev_name(dev));
    clnet_tensor_free(out[0]);
    out[0] = NULL;
    if (OK(ctx, clnet_op_run_new(dev, &pool, 1, &t, &nout, out)) &&
        OK(ctx, clnet_tensor_read(out[0], y, 2 * sizeof *y)))
        CHECK(nout == 2 && clnet_tensor_dtype(out[1]) == CLNET_I32 && y[0] == 5 && y[1] == 7,
              "max pool through clnet_op_run_new: %d outputs, %g %g", nout, (double)y[0],
              (double)y[1]);
    for (int j = 0; j < nout; j++)
        clnet_tensor_free(out[j]);
    clnet_op sgd = {.kind = CLNET_OP_SGD_STEP};
    clnet_status st = clnet_op_run_new(dev, &sgd, 1, &t, &nout, out);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && nout == 0, "SGD_STEP through run_new: %d", st);
out:
    clnet_tensor_free(t);
}

/* A tensor over our own cl_mem, 16 bytes in: the op reads and writes our
 * buffer, and the tensor outlives our reference. */
static void test_wrap(clnet_ctx *ctx, clnet_device *dev)
{
    cl_command_queue q = clnet_opencl_queue(dev);
    cl_context context;
    if (!q || clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof context, &context, NULL) !=
                  CL_SUCCESS) {
        CHECK(false, "no queue or context for an opened OpenCL device");
        return;
    }
    float host[12] = {9, 9, 9, 9, -1, 2, -3, 4, 5, -6, 7, -8}, y[8];
    cl_int err;
    cl_mem mem = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof host,
                                host, &err);
    if (err != CL_SUCCESS) {
        CHECK(false, "clCreateBuffer: %d", err);
        return;
    }
    const int64_t shape[2] = {2, 4};
    clnet_tensor *t = NULL, *out[CLNET_OP_MAX_OUTPUTS] = {0};
    int nout = 0;
    bool wrapped = OK(ctx, clnet_opencl_wrap(dev, mem, 16, CLNET_F32, 2, shape, &t));
    clReleaseMemObject(mem);   /* the tensor holds its own reference */
    const clnet_op relu = clnet_op_activation(CLNET_ACT_RELU, 0);
    if (wrapped && OK(ctx, clnet_op_run_new(dev, &relu, 1, &t, &nout, out)) &&
        OK(ctx, clnet_tensor_read(out[0], y, sizeof y)))
        CHECK(y[0] == 0 && y[1] == 2 && y[4] == 5 && y[7] == 0, "relu of a wrapped cl_mem");
    cl_mem back;
    size_t offset;
    if (wrapped && OK(ctx, clnet_opencl_buffer(t, &back, &offset)))
        CHECK(offset == 16, "clnet_opencl_buffer of a wrapped tensor: offset %zu", offset);
    clnet_tensor_free(out[0]);
    clnet_tensor_free(t);
    mem = clCreateBuffer(context, CL_MEM_READ_WRITE, sizeof host, NULL, &err);
    if (err == CL_SUCCESS) {
        clnet_status st = clnet_opencl_wrap(dev, mem, 2, CLNET_F32, 2, shape, &t);
        CHECK(st == CLNET_ERR_INVALID_ARGUMENT && strstr(clnet_last_error(ctx), "offset"),
              "misaligned offset: %d '%s'", st, clnet_last_error(ctx));
        st = clnet_opencl_wrap(dev, mem, 32, CLNET_F32, 2, shape, &t);
        CHECK(st == CLNET_ERR_INVALID_ARGUMENT && strstr(clnet_last_error(ctx), "fit"),
              "a shape past the end: %d '%s'", st, clnet_last_error(ctx));
        clReleaseMemObject(mem);
    }
    printf("%s: a tensor over the caller's cl_mem, with an offset\n", dev_name(dev));
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[16];
    int ndev;
    int rc = test_open_devices(ctx, devs, 16, &ndev);
    if (rc == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    test_null_dtypes(ctx);
    for (int d = 0; d < ndev; d++) {
        test_run_new(ctx, devs[d]);
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        if (info.kind == CLNET_DEVICE_OPENCL)
            test_wrap(ctx, devs[d]);
    }
    const int64_t shape[1] = {4};
    clnet_tensor *t = NULL;
    clnet_device *ref = devs[test_ref_index(devs, ndev)];
    clnet_status st = clnet_opencl_wrap(ref, (cl_mem)&shape, 0, CLNET_F32, 1, shape, &t);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !t, "wrapping on ref: %d", st);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc;
}

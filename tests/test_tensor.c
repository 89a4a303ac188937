/* test_tensor.c - the tensor API on every device: copies, fill, slices along
 * axes 0 and 1, reshape, views outliving their base, strides, I32 tensors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_DEVICES 16

static int passed, failed;
static const char *devname;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s [%s] ", ok ? "OK  " : "FAIL", devname);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    ok ? passed++ : failed++;
}

/* A status check that prints the library's message when it fails. */
static bool ok_status(clnet_ctx *ctx, clnet_status st, const char *what)
{
    if (st != CLNET_OK)
        check(false, "%s: %s: %s", what, clnet_status_str(st), clnet_last_error(ctx));
    return st == CLNET_OK;
}

/* Distinct, exactly representable values: element i holds base + i. */
static float *pattern(size_t n, float base)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = base + (float)i;
    return p;
}

static bool equal_f32(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Copies the [c0, c0+nc) channel block of every image of a dense (N, C, plane)
 * host array, so expected contents of channel slices can be built. */
static void take_channels(float *dst, const float *src, int64_t n, int64_t c, int64_t plane,
                          int64_t c0, int64_t nc)
{
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + i * nc * plane, src + (i * c + c0) * plane, (size_t)(nc * plane) * sizeof *dst);
}

static void put_channels(float *dst, const float *src, int64_t n, int64_t c, int64_t plane,
                         int64_t c0, int64_t nc)
{
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + (i * c + c0) * plane, src + i * nc * plane, (size_t)(nc * plane) * sizeof *dst);
}

static void round_trip(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    const int64_t shape[4] = {3, 5, 7, 2};
    clnet_tensor *t = test_tensor(dev, 4, shape, NULL);
    float *src = pattern(210, -100), *dst = calloc(210, sizeof *dst);
    if (!t || !src || !dst) {
        check(false, "round trip: allocation");
        goto out;
    }
    /* a NaN payload survives only a copy that never converts */
    uint32_t payload = 0x7fc5a5a5u;
    memcpy(&src[17], &payload, sizeof payload);
    if (ok_status(ctx, clnet_tensor_write(t, src, 210 * sizeof(float)), "write") &&
        ok_status(ctx, clnet_tensor_read(t, dst, 210 * sizeof(float)), "read"))
        check(equal_f32(src, dst, 210), "write/read round trip of (3,5,7,2) is bit-exact");
    clnet_shape s = clnet_tensor_shape(t);
    check(clnet_tensor_ndim(t) == 4 && s.ndim == 4 && s.dim[0] == 3 && s.dim[3] == 2 &&
          clnet_tensor_dim(t, 1) == 5 && clnet_tensor_dim(t, 2) == 7,
          "ndim, dim and shape of (3,5,7,2)");
    check(clnet_tensor_numel(t) == 210 && clnet_shape_numel(&s) == 210, "numel 210");
    check(clnet_tensor_dtype(t) == CLNET_F32 && clnet_tensor_device(t) == dev, "dtype and device");
    check(clnet_tensor_stride_bytes(t, 0) == 280 && clnet_tensor_stride_bytes(t, 1) == 56 &&
          clnet_tensor_stride_bytes(t, 2) == 8 && clnet_tensor_stride_bytes(t, 3) == 4,
          "stride_bytes 280, 56, 8, 4");
    if (ok_status(ctx, clnet_tensor_fill(t, 2.5f), "fill") &&
        ok_status(ctx, clnet_tensor_read(t, dst, 210 * sizeof(float)), "read")) {
        bool all = true;
        for (int i = 0; i < 210; i++)
            all = all && dst[i] == 2.5f;
        check(all, "fill 2.5 sets every element");
    }
    clnet_status st = clnet_tensor_write(t, src, 209 * sizeof(float));
    check(st == CLNET_ERR_INVALID_ARGUMENT, "write of 209 elements into 210 -> %s",
          clnet_status_str(st));
    st = clnet_tensor_read(t, dst, 211 * sizeof(float));
    check(st == CLNET_ERR_INVALID_ARGUMENT, "read of 211 elements from 210 -> %s",
          clnet_status_str(st));
    st = clnet_tensor_write(t, NULL, 210 * sizeof(float));
    check(st == CLNET_ERR_INVALID_ARGUMENT, "write from NULL -> %s", clnet_status_str(st));
out:
    clnet_tensor_free(t);
    free(src);
    free(dst);
}

/* Images [1, 3) of a (4, 3, 5, 5) tensor. */
static void slice_batch(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    const int64_t img = 75, n = 300;
    clnet_tensor *base = test_tensor(dev, 4, (int64_t[]){4, 3, 5, 5}, NULL), *v = NULL;
    float *init = pattern(n, 0), *fresh = pattern(2 * img, 1000), *got = calloc(n, sizeof *got);
    if (!base || !init || !fresh || !got ||
        !ok_status(ctx, clnet_tensor_write(base, init, n * sizeof(float)), "write") ||
        !ok_status(ctx, clnet_tensor_slice(base, 0, 1, 2, &v), "slice axis 0"))
        goto out;
    check(clnet_tensor_dim(v, 0) == 2 && clnet_tensor_dim(v, 1) == 3 && clnet_tensor_numel(v) == 150,
          "slice axis 0 [1,3) has shape (2,3,5,5)");
    check(clnet_tensor_stride_bytes(v, 0) == 300 && clnet_tensor_stride_bytes(v, 3) == 4,
          "slice axis 0 keeps stride_bytes 300 .. 4");
    if (ok_status(ctx, clnet_tensor_read(v, got, 2 * img * sizeof(float)), "read slice"))
        check(equal_f32(got, init + img, 2 * img), "read of the slice gives images 1 and 2");
    if (ok_status(ctx, clnet_tensor_write(v, fresh, 2 * img * sizeof(float)), "write slice") &&
        ok_status(ctx, clnet_tensor_read(base, got, n * sizeof(float)), "read base"))
        check(equal_f32(got, init, img) && equal_f32(got + img, fresh, 2 * img) &&
              equal_f32(got + 3 * img, init + 3 * img, img),
              "write to the slice changes images 1 and 2 only");
    if (ok_status(ctx, clnet_tensor_fill(v, -7), "fill slice") &&
        ok_status(ctx, clnet_tensor_read(base, got, n * sizeof(float)), "read base")) {
        bool inside = true;
        for (int64_t i = img; i < 3 * img; i++)
            inside = inside && got[i] == -7;
        check(inside && equal_f32(got, init, img) && equal_f32(got + 3 * img, init + 3 * img, img),
              "fill of the slice changes images 1 and 2 only");
    }
    clnet_tensor *bad = NULL;
    clnet_status st = clnet_tensor_slice(base, 0, 3, 2, &bad);
    check(st == CLNET_ERR_INVALID_ARGUMENT, "slice axis 0 [3,5) of 4 -> %s", clnet_status_str(st));
    st = clnet_tensor_slice(base, 0, -1, 2, &bad);
    check(st == CLNET_ERR_INVALID_ARGUMENT, "slice axis 0 from -1 -> %s", clnet_status_str(st));
    st = clnet_tensor_slice(base, 0, 1, 0, &bad);
    check(st == CLNET_ERR_INVALID_ARGUMENT, "slice of length 0 -> %s", clnet_status_str(st));
    st = clnet_tensor_slice(base, 2, 0, 1, &bad);
    check(st == CLNET_ERR_INVALID_ARGUMENT, "slice axis 2 -> %s", clnet_status_str(st));
out:
    clnet_tensor_free(v);
    clnet_tensor_free(base);
    free(init);
    free(fresh);
    free(got);
}

/* Channels [2, 5) of a (2, 6, 3, 3) tensor, then a slice of that slice. */
static void slice_channels(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    const int64_t n = 108, plane = 9;
    clnet_tensor *base = test_tensor(dev, 4, (int64_t[]){2, 6, 3, 3}, NULL), *v = NULL, *vv = NULL;
    float *init = pattern(n, 0), *fresh = pattern(54, 500), *got = calloc(n, sizeof *got);
    float *want = calloc(n, sizeof *want);
    if (!base || !init || !fresh || !got || !want ||
        !ok_status(ctx, clnet_tensor_write(base, init, n * sizeof(float)), "write") ||
        !ok_status(ctx, clnet_tensor_slice(base, 1, 2, 3, &v), "slice axis 1"))
        goto out;
    check(clnet_tensor_dim(v, 0) == 2 && clnet_tensor_dim(v, 1) == 3 && clnet_tensor_numel(v) == 54,
          "slice axis 1 [2,5) has shape (2,3,3,3)");
    check(clnet_tensor_stride_bytes(v, 0) == 216 && clnet_tensor_stride_bytes(v, 1) == 36,
          "slice axis 1 strides: image 216 bytes (the base's), channel 36");
    take_channels(want, init, 2, 6, plane, 2, 3);
    if (ok_status(ctx, clnet_tensor_read(v, got, 54 * sizeof(float)), "read slice"))
        check(equal_f32(got, want, 54), "read of the channel slice gives channels 2..4");
    memcpy(want, init, n * sizeof *want);
    put_channels(want, fresh, 2, 6, plane, 2, 3);
    if (ok_status(ctx, clnet_tensor_write(v, fresh, 54 * sizeof(float)), "write slice") &&
        ok_status(ctx, clnet_tensor_read(base, got, n * sizeof(float)), "read base"))
        check(equal_f32(got, want, n), "write to the channel slice changes channels 2..4 only");
    for (int i = 0; i < 54; i++)
        fresh[i] = 3;
    put_channels(want, fresh, 2, 6, plane, 2, 3);
    if (ok_status(ctx, clnet_tensor_fill(v, 3), "fill slice") &&
        ok_status(ctx, clnet_tensor_read(base, got, n * sizeof(float)), "read base"))
        check(equal_f32(got, want, n), "fill of the channel slice changes channels 2..4 only");
    if (ok_status(ctx, clnet_tensor_write(base, init, n * sizeof(float)), "write") &&
        ok_status(ctx, clnet_tensor_slice(v, 0, 1, 1, &vv), "slice axis 0 of a channel slice") &&
        ok_status(ctx, clnet_tensor_read(vv, got, 27 * sizeof(float)), "read")) {
        check(equal_f32(got, init + 54 + 18, 27), "image 1 of the channel slice is channels 2..4 "
              "of image 1");
    }
    clnet_tensor *bad = NULL;
    clnet_status st = clnet_tensor_slice(base, 1, 4, 3, &bad);
    check(st == CLNET_ERR_INVALID_ARGUMENT, "slice axis 1 [4,7) of 6 -> %s", clnet_status_str(st));
out:
    clnet_tensor_free(vv);
    clnet_tensor_free(v);
    clnet_tensor_free(base);
    free(init);
    free(fresh);
    free(got);
    free(want);
}

static void reshape(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_tensor *base = test_tensor(dev, 4, (int64_t[]){4, 3, 5, 5}, NULL);
    clnet_tensor *flat = NULL, *rows = NULL, *rflat = NULL, *chans = NULL, *bad = NULL;
    float *init = pattern(300, 0), *got = calloc(300, sizeof *got);
    if (!base || !init || !got ||
        !ok_status(ctx, clnet_tensor_write(base, init, 300 * sizeof(float)), "write") ||
        !ok_status(ctx, clnet_tensor_reshape(base, 2, (int64_t[]){12, 25}, &flat), "reshape"))
        goto out;
    check(clnet_tensor_ndim(flat) == 2 && clnet_tensor_dim(flat, 0) == 12 &&
          clnet_tensor_stride_bytes(flat, 0) == 100, "reshape to (12,25)");
    if (ok_status(ctx, clnet_tensor_read(flat, got, 300 * sizeof(float)), "read"))
        check(equal_f32(got, init, 300), "reshape keeps the elements in order");
    if (ok_status(ctx, clnet_tensor_fill(flat, 9), "fill reshaped") &&
        ok_status(ctx, clnet_tensor_read(base, got, 300 * sizeof(float)), "read base"))
        check(got[0] == 9 && got[299] == 9, "a reshaped view shares storage with its base");
    ok_status(ctx, clnet_tensor_write(base, init, 300 * sizeof(float)), "write");
    if (ok_status(ctx, clnet_tensor_slice(base, 0, 2, 2, &rows), "slice axis 0") &&
        ok_status(ctx, clnet_tensor_reshape(rows, 2, (int64_t[]){2, 75}, &rflat),
                  "reshape of an axis-0 slice") &&
        ok_status(ctx, clnet_tensor_read(rflat, got, 150 * sizeof(float)), "read"))
        check(equal_f32(got, init + 150, 150), "reshape of an axis-0 slice reads images 2 and 3");
    clnet_status st = clnet_tensor_reshape(base, 2, (int64_t[]){12, 24}, &bad);
    check(st == CLNET_ERR_SHAPE, "reshape of 300 elements to 288 -> %s", clnet_status_str(st));
    if (ok_status(ctx, clnet_tensor_slice(base, 1, 0, 2, &chans), "slice axis 1")) {
        st = clnet_tensor_reshape(chans, 2, (int64_t[]){4, 50}, &bad);
        check(st == CLNET_ERR_LAYOUT, "reshape of a channel slice -> %s", clnet_status_str(st));
    }
out:
    clnet_tensor_free(chans);
    clnet_tensor_free(rflat);
    clnet_tensor_free(rows);
    clnet_tensor_free(flat);
    clnet_tensor_free(base);
    free(init);
    free(got);
}

/* Views keep the storage alive after the base handle is freed. */
static void views_outlive_base(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_tensor *base = test_tensor(dev, 4, (int64_t[]){3, 4, 2, 2}, NULL);
    clnet_tensor *v = NULL, *r = NULL;
    float *init = pattern(48, 10), *got = calloc(48, sizeof *got);
    if (!base || !init || !got ||
        !ok_status(ctx, clnet_tensor_write(base, init, 48 * sizeof(float)), "write") ||
        !ok_status(ctx, clnet_tensor_slice(base, 1, 1, 2, &v), "slice axis 1") ||
        !ok_status(ctx, clnet_tensor_reshape(base, 1, (int64_t[]){48}, &r), "reshape")) {
        clnet_tensor_free(base);
        goto out;
    }
    clnet_tensor_free(base);
    float want[24];
    take_channels(want, init, 3, 4, 4, 1, 2);
    if (ok_status(ctx, clnet_tensor_read(v, got, 24 * sizeof(float)), "read view"))
        check(equal_f32(got, want, 24), "a channel slice reads correctly after its base is freed");
    if (ok_status(ctx, clnet_tensor_fill(v, -1), "fill view") &&
        ok_status(ctx, clnet_tensor_read(r, got, 48 * sizeof(float)), "read reshape"))
        check(got[4] == -1 && got[11] == -1 && got[3] == init[3] && got[12] == init[12],
              "two views of a freed base still share storage");
    clnet_tensor_free(r);
    r = NULL;
    if (ok_status(ctx, clnet_tensor_read(v, got, 24 * sizeof(float)), "read view"))
        check(got[0] == -1 && got[23] == -1, "the last view still reads after the others are freed");
out:
    clnet_tensor_free(r);
    clnet_tensor_free(v);
    free(init);
    free(got);
}

static void int32_tensors(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_tensor *t = NULL, *v = NULL;
    int32_t src[30], got[30];
    for (int i = 0; i < 30; i++)
        src[i] = (i % 3 == 0 ? -1 : 1) * (int32_t)((int64_t)i * 123456789 % 2147483647);
    src[29] = INT32_MIN;
    if (!ok_status(ctx, clnet_tensor_new(dev, CLNET_I32, 3, (int64_t[]){2, 3, 5}, &t), "new I32"))
        return;
    check(clnet_tensor_dtype(t) == CLNET_I32 && clnet_tensor_stride_bytes(t, 0) == 60 &&
          clnet_tensor_stride_bytes(t, 2) == 4, "I32 (2,3,5): dtype and stride_bytes 60 .. 4");
    if (ok_status(ctx, clnet_tensor_write(t, src, sizeof src), "write I32") &&
        ok_status(ctx, clnet_tensor_read(t, got, sizeof got), "read I32"))
        check(memcmp(src, got, sizeof src) == 0, "I32 round trip, INT32_MIN included");
    if (ok_status(ctx, clnet_tensor_slice(t, 1, 1, 1, &v), "slice I32") &&
        ok_status(ctx, clnet_tensor_read(v, got, 10 * sizeof(int32_t)), "read I32 slice"))
        check(memcmp(got, src + 5, 5 * sizeof(int32_t)) == 0 &&
              memcmp(got + 5, src + 20, 5 * sizeof(int32_t)) == 0, "I32 channel slice reads channel 1");
    if (ok_status(ctx, clnet_tensor_fill(t, -3), "fill I32") &&
        ok_status(ctx, clnet_tensor_read(t, got, sizeof got), "read I32")) {
        bool all = true;
        for (int i = 0; i < 30; i++)
            all = all && got[i] == -3;
        check(all, "fill -3 of an I32 tensor");
    }
    clnet_tensor_free(v);
    clnet_tensor_free(t);
}

/* A 1-D tensor: axis 0 slices work, axis 1 does not exist. */
static void one_d(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    float src[7] = {1, 2, 3, 4, 5, 6, 7}, got[3] = {0};
    clnet_tensor *t = test_tensor(dev, 1, (int64_t[]){7}, src), *v = NULL, *bad = NULL;
    if (!t)
        return;
    if (ok_status(ctx, clnet_tensor_slice(t, 0, 2, 3, &v), "slice 1-D") &&
        ok_status(ctx, clnet_tensor_read(v, got, sizeof got), "read 1-D slice"))
        check(got[0] == 3 && got[2] == 5, "1-D slice [2,5) reads 3 4 5");
    clnet_status st = clnet_tensor_slice(t, 1, 0, 1, &bad);
    check(st == CLNET_ERR_INVALID_ARGUMENT, "slice axis 1 of a 1-D tensor -> %s",
          clnet_status_str(st));
    clnet_tensor_free(v);
    clnet_tensor_free(t);
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
    if (rc == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    for (int d = 0; d < ndev; d++) {
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        devname = info.name;
        round_trip(devs[d]);
        slice_batch(devs[d]);
        slice_channels(devs[d]);
        reshape(devs[d]);
        views_outlive_base(devs[d]);
        int32_tensors(devs[d]);
        one_d(devs[d]);
    }
    printf("tensor: %d passed, %d failed\n", passed, failed);
    clnet_ctx_free(ctx);
    if (failed)
        return 1;
    return rc == TEST_SKIP ? TEST_SKIP : 0;
}

/* test_resize.c - clnet_image_resize against known values: linear ramps,
 * whose bilinear samples are the ramp at the half-pixel source coordinate
 * (clamped at the borders), an impulse, constants and the identity; the
 * values are those of PyTorch's
 *   torch.nn.functional.interpolate(x, size=(oh, ow), mode='bilinear',
 *                                   align_corners=False)
 * worked out by hand from its definition (source coordinate
 * (i + 0.5) * in / out - 0.5, clamped to >= 0; the last pixel repeats).
 * Then the training options' resize fields: the shape checks of
 * clnet_net_evaluate and their errors. */
#include <math.h>
#include <string.h>

#include "clnet.h"
#include "testutil.h"

#define TOL 1e-6f

static void expect(const char *what, const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= TOL * (1.0f + fabsf(want[i])))) {
            CHECK(false, "%s: element %d is %.7g, expected %.7g", what, i, (double)got[i],
                  (double)want[i]);
            return;
        }
}

static void test_ramps(void)
{
    const float ramp[4] = {0, 1, 2, 3};
    float up[8], down[2];
    clnet_image_resize(ramp, 1, 1, 4, up, 1, 8);
    const float want_up[8] = {0, 0.25f, 0.75f, 1.25f, 1.75f, 2.25f, 2.75f, 3};
    expect("ramp 4 -> 8", up, want_up, 8);
    clnet_image_resize(ramp, 1, 1, 4, down, 1, 2);
    const float want_down[2] = {0.5f, 2.5f};
    expect("ramp 4 -> 2", down, want_down, 2);

    /* f(y, x) = 10 y + x, 3x4 -> 5x7: separable, each axis its own ramp */
    float plane[12], out[35], want[35];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            plane[y * 4 + x] = 10.0f * (float)y + (float)x;
    const float rows[5] = {0, 0.4f, 1.0f, 1.6f, 2.0f};
    const float cols[7] = {0, 5.0f / 14, 13.0f / 14, 1.5f, 29.0f / 14, 37.0f / 14, 3};
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++)
            want[y * 7 + x] = 10.0f * rows[y] + cols[x];
    clnet_image_resize(plane, 1, 3, 4, out, 5, 7);
    expect("ramp 3x4 -> 5x7", out, want, 35);
}

static void test_impulse(void)
{
    const float in[4] = {0, 0, 0, 4};
    float out[16];
    const float want[16] = {0, 0, 0, 0, 0, 0.25f, 0.75f, 1, 0, 0.75f, 2.25f, 3, 0, 1, 3, 4};
    clnet_image_resize(in, 1, 2, 2, out, 4, 4);
    expect("impulse 2x2 -> 4x4", out, want, 16);
}

static void test_constants_and_copy(void)
{
    float in[3 * 5 * 3], out[3 * 11 * 13], want[3 * 11 * 13];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 15; i++)
            in[c * 15 + i] = 0.1f + (float)c;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 11 * 13; i++)
            want[c * 11 * 13 + i] = 0.1f + (float)c;
    clnet_image_resize(in, 3, 5, 3, out, 11, 13);
    expect("constant channels 5x3 -> 11x13", out, want, 3 * 11 * 13);

    test_rng rng = {99};
    float img[2 * 6 * 5], same[2 * 6 * 5];
    test_fill_uniform(&rng, img, 60, -2.0f, 2.0f);
    clnet_image_resize(img, 2, 6, 5, same, 6, 5);
    CHECK(memcmp(img, same, sizeof img) == 0, "resizing to the same size is not a copy");

    CHECK(clnet_image_resize(NULL, 1, 2, 2, out, 4, 4) == CLNET_ERR_INVALID_ARGUMENT &&
              clnet_image_resize(in, 1, 2, 2, out, 0, 4) == CLNET_ERR_INVALID_ARGUMENT &&
              clnet_image_resize(in, 0, 2, 2, out, 4, 4) == CLNET_ERR_INVALID_ARGUMENT,
          "bad arguments are not CLNET_ERR_INVALID_ARGUMENT");
}

/* A net fed 1x8x8 evaluates a set of 1x4x4 images resized to 8x8, and the
 * resize fields are checked. */
static void test_pipeline(clnet_ctx *ctx, clnet_device *dev)
{
    uint8_t images[6 * 16], labels[6];
    for (int i = 0; i < 6 * 16; i++)
        images[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 6; i++)
        labels[i] = (uint8_t)(i % 2);
    clnet_dataset *ds = NULL;
    clnet_net *net = NULL;
    clnet_shape in = {.ndim = 3, .dim = {1, 8, 8}};
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = 2, .bias = true};
    if (test_check_status(ctx, clnet_dataset_from_arrays(ctx, "small", 6, 1, 4, 4, 2, images,
                                                         labels, true, &ds), "dataset") ||
        test_check_status(ctx, clnet_net_new(ctx, &in, &net), "net") ||
        test_check_status(ctx, clnet_net_add(net, &fc, NULL), "linear") ||
        test_check_status(ctx, clnet_net_bind(net, dev, 4, CLNET_INIT_HE_NORMAL, 5), "bind")) {
        test_failures++;
        goto out;
    }
    clnet_train_opts opts = {.resize_height = 8, .resize_width = 8};
    clnet_eval ev;
    clnet_status st = clnet_net_evaluate(net, ds, &opts, &ev);
    CHECK(st == CLNET_OK && ev.count == 6 && isfinite(ev.loss),
          "evaluating resized images: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    opts.resize_width = 6;
    st = clnet_net_evaluate(net, ds, &opts, &ev);
    CHECK(st == CLNET_ERR_SHAPE && strstr(clnet_last_error(ctx), "1x8x6 (resized)"),
          "a resize the net does not take: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    opts.resize_width = 0;
    st = clnet_net_evaluate(net, ds, &opts, &ev);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && strstr(clnet_last_error(ctx), "resize_height"),
          "resize_height without resize_width: %s: %s", clnet_status_str(st),
          clnet_last_error(ctx));
    opts.resize_height = 0;
    st = clnet_net_evaluate(net, ds, &opts, &ev);
    CHECK(st == CLNET_ERR_SHAPE, "4x4 images for an 8x8 net without resizing: %s",
          clnet_status_str(st));
out:
    clnet_net_free(net);
    clnet_dataset_free(ds);
}

int main(void)
{
    test_ramps();
    test_impulse();
    test_constants_and_copy();
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[16];
    int ndev = 0, rc = test_open_devices(ctx, devs, 16, &ndev);
    if (rc == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    for (int d = 0; d < ndev; d++)
        test_pipeline(ctx, devs[d]);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    printf("bilinear resize: all checks passed\n");
    return 0;
}

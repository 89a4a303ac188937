/* layers.c - the standard layer suite of `clnet-bench ops`: forward layers of
 * LeNet-5, AlexNet, VGG-16, ResNet-50, MobileNet-v2, CIFAR ResNet-20, the
 * last stage of ResNet-18 on 32x32 inputs and a 4096-wide linear layer. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define CONV(name, c, k, hw, kernel, stride, pad, groups) \
    {name, false, c, k, hw, hw, kernel, stride, pad, groups}
#define LINEAR(name, f_in, f_out) {name, true, f_in, f_out, 1, 1, 1, 1, 0, 1}

const bench_layer bench_layers[] = {
    /*    name                  C    K     HxW  kernel stride pad groups */
    CONV("lenet5_conv1",        1,   6,    28,  5,     1,     2,  1),
    CONV("lenet5_conv2",        6,   16,   14,  5,     1,     0,  1),
    CONV("alexnet_conv1",       3,   64,   224, 11,    4,     2,  1),
    CONV("vgg16_conv1_2",       64,  64,   224, 3,     1,     1,  1),
    CONV("vgg16_conv3_2",       256, 256,  56,  3,     1,     1,  1),
    CONV("vgg16_conv5_2",       512, 512,  14,  3,     1,     1,  1),
    CONV("resnet50_1x1",        256, 64,   56,  1,     1,     0,  1),
    CONV("resnet50_3x3",        64,  64,   56,  3,     1,     1,  1),
    CONV("resnet50_ds1x1",      512, 1024, 28,  1,     2,     0,  1),
    CONV("mobilenet_v2_dw3x3",  144, 144,  56,  3,     1,     1,  144),
    CONV("mobilenet_v2_pw1x1",  144, 24,   56,  1,     1,     0,  1),
    CONV("resnet20_16x32",      16,  16,   32,  3,     1,     1,  1),
    CONV("resnet20_32x16",      32,  32,   16,  3,     1,     1,  1),
    CONV("resnet20_64x8",       64,  64,   8,   3,     1,     1,  1),
    CONV("resnet18_s2_256x2",   256, 512,  2,   3,     2,     1,  1),
    CONV("resnet18_512x1",      512, 512,  1,   3,     1,     1,  1),
    LINEAR("fc4096",            4096, 4096),
};
const int bench_layer_count = (int)(sizeof bench_layers / sizeof bench_layers[0]);

const bench_layer *bench_layer_find(const char *name)
{
    for (int i = 0; i < bench_layer_count; i++)
        if (strcmp(bench_layers[i].name, name) == 0)
            return &bench_layers[i];
    return NULL;
}

void bench_layer_input(const bench_layer *l, char *out, size_t size)
{
    if (l->linear)
        snprintf(out, size, "%d", l->c);
    else
        snprintf(out, size, "%dx%dx%d", l->c, l->h, l->w);
}

static clnet_shape shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    clnet_shape s = {.ndim = ndim, .dim = {d0, d1, d2, d3}};
    return s;
}

clnet_status bench_layer_prepare(clnet_ctx *ctx, const bench_layer *layer, int batch,
                                 bench_layer_setup *out)
{
    const bench_layer *l = layer;
    memset(out, 0, sizeof *out);
    if (l->linear) {
        out->op = clnet_op_simple(CLNET_OP_LINEAR);
        out->x = shape(2, batch, l->c, 0, 0);
        out->w = shape(2, l->k, l->c, 0, 0);
    } else {
        out->op = clnet_op_conv(l->stride, l->pad, 1, l->groups);
        out->x = shape(4, batch, l->c, l->h, l->w);
        out->w = shape(4, l->k, l->c / l->groups, l->kernel, l->kernel);
    }
    out->b = shape(1, l->k, 0, 0, 0);

    const clnet_shape in[3] = {out->x, out->w, out->b};
    const clnet_dtype in_dtype[3] = {CLNET_F32, CLNET_F32, CLNET_F32};
    clnet_shape outs[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype out_dtype[CLNET_OP_MAX_OUTPUTS];
    int nout = 0;
    clnet_status st = clnet_op_output_shapes(ctx, &out->op, 3, in, in_dtype, &nout, outs, out_dtype);
    if (st != CLNET_OK)
        return st;
    out->y = outs[0];
    /* Every output element is a dot product over one weight row (one output
     * channel's filter, or one output feature's weights). */
    int64_t per_output = clnet_shape_numel(&out->w) / out->w.dim[0];
    out->macs = (uint64_t)clnet_shape_numel(&out->y) * (uint64_t)per_output;
    return CLNET_OK;
}

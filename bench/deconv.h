/* deconv.h - Zeiler & Fergus's deconvnet (ECCV 2014): one activation of a
 * layer projected back to pixel space, alone, through the layers below it
 * in reverse (max-unpooling at the forward pass's switches, rectification,
 * the transposed filters), built from the library's public ops. */
#ifndef CLNET_BENCH_DECONV_H
#define CLNET_BENCH_DECONV_H

#include "clnet/nn.h"

/* The layers from the visualised one down to the input, with what the
 * projection needs of each: opaque, made by deconv_path_new. */
typedef struct deconv_path deconv_path;

/* One activation of the visualised layer: feature map `channel`, at (y, x)
 * of its plane. */
typedef struct deconv_pick {
    int channel, y, x;
} deconv_pick;

/* Checks that the deconvnet can go from layer `id` of the bound net down to
 * its input and copies the weights it needs onto `dev`. It goes through
 * convolutions (their own activation, if any, a ReLU), max pooling, ReLU
 * layers and the layers it passes a signal through unchanged as Zeiler and
 * Fergus did (dropout, local response normalisation, flatten); the path
 * must be a chain of single-input layers ending at the input, every layer
 * an image (C, H, W). Errors, with the reason in err (ctx's last error
 * included where a library call failed):
 * CLNET_ERR_UNSUPPORTED naming the first layer it cannot invert and its
 * kind (or activation, or pooling mode), CLNET_ERR_INVALID_ARGUMENT (no
 * such layer, the input itself), CLNET_ERR_HOST_MEMORY, those of reading
 * parameters and writing tensors. The caller frees *out. */
clnet_status deconv_path_new(clnet_ctx *ctx, clnet_net *net, clnet_device *dev, int id,
                             deconv_path **out, char *err, size_t err_size);
void deconv_path_free(deconv_path *path);

/* Projects, for each of the last forward's n images, the activation
 * picks[i] of image i (its value in that forward, every other activation
 * of the layer zero) down to the input, into out (n times the input's
 * per-image element count, NCHW). The forward must have run in training
 * mode so that the max poolings kept their switches (see
 * clnet_net_read_switches). Errors, the reason in err: those of clnet_net_read_layer,
 * clnet_net_read_switches and clnet_op_run; CLNET_ERR_INVALID_ARGUMENT for
 * a pick outside the layer's output. */
clnet_status deconv_project(clnet_ctx *ctx, clnet_net *net, const deconv_path *path, int n,
                            const deconv_pick *picks, float *out, char *err, size_t err_size);

/* The input rows [box[0], box[0] + box[2]) and columns [box[1], box[1] +
 * box[3]) that activation (y, x) of the visualised layer sees (its
 * receptive field; it may reach past the image's border, into padding). */
void deconv_receptive_field(const deconv_path *path, int y, int x, int box[4]);

#endif

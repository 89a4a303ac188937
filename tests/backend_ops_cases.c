/* backend_ops_cases.c - the forward cases of test_backend_ops, and the
 * backward cases of convolution, pooling and activations, built from the
 * same shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_ops.h"
#include "core/op_table.h"

enum { BIAS = 1, BIAS_NULL = 2, TRANSPOSE = 4, VIEWS = 8 };

/* A convolution; h == 0 makes it 1-D (N, C, W). In s, d and g, 0 means 1.
 * For TRANSPOSE, c is the input and k the output channel count. */
typedef struct conv_case {
    int n, c, h, w, k, kh, kw;
    int s[2], pad[4], d[2], g, opad[2];   /* pad: top, left, bottom, right */
    int flags;
} conv_case;

static const conv_case conv_cases[] = {
    /* 1x1 */
    {1, 8, 7, 7, 16, 1, 1, .flags = 0},
    {2, 13, 13, 13, 7, 1, 1, .s = {2, 2}, .flags = BIAS},
    {3, 64, 8, 8, 32, 1, 1, .flags = BIAS},
    {1, 1, 1, 1, 1, 1, 1, .flags = 0},
    /* im2col with several output rows a work-item on a 2-unit CPU, the
     * plane's last block of rows partial (13 rows in threes), and on 4x4
     * planes with the images' columns side by side */
    {4, 128, 26, 26, 8, 1, 1, .s = {2, 2}, .flags = BIAS},
    {8, 64, 4, 4, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = 0},
    /* im2col's columns over its 16 MiB budget (4.5 MiB an image): two
     * chunks, of 3 images and 1 */
    {4, 128, 64, 64, 8, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    /* planes of 512 or more and enough work: the weight gradient reads x in
     * place (not where padding makes the output plane larger) */
    {16, 64, 24, 25, 32, 1, 1, .flags = 0},
    {16, 64, 23, 24, 64, 1, 1, .g = 2, .flags = BIAS | VIEWS},
    {2, 16, 23, 24, 16, 1, 1, .pad = {0, 1, 1, 0}},
    /* strided: the data gradient spreads a 1x1 product at dy's plane onto
     * dx's grid where there is no begin padding and dy's plane fills 3/4
     * of its GEMM's columns (odd and even planes, a column no output
     * reads, mixed strides, groups, views, begin and end padding, 1-D) */
    {3, 24, 13, 14, 16, 1, 1, .s = {2, 2}, .flags = BIAS | VIEWS},
    {2, 32, 13, 12, 16, 1, 1, .s = {2, 1}, .g = 2},
    {2, 16, 9, 10, 24, 1, 1, .s = {2, 2}, .pad = {1, 0, 0, 1}, .flags = BIAS},
    {2, 16, 14, 16, 8, 1, 1, .s = {2, 2}, .pad = {0, 0, 1, 1}, .flags = BIAS | VIEWS},
    {2, 16, 0, 190, 8, 0, 1, .s = {1, 2}, .flags = BIAS},
    /* strided layers whose output plane fills a few tiles of columns and a
     * partial one (49, 78 and 100 pixels): the forward unrolls the images
     * side by side, output rows at a time, groups and views too */
    {3, 6, 14, 14, 10, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    {2, 8, 12, 25, 12, 1, 1, .s = {2, 2}, .g = 2, .flags = BIAS},
    {2, 5, 20, 20, 7, 3, 3, .s = {2, 2}, .pad = {1, 1, 0, 0}},
    /* 3x3 */
    {2, 3, 31, 31, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 16, 16, 16, 32, 3, 3, .pad = {1, 1, 1, 1}},
    {4, 32, 14, 14, 32, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 8, 32, 32, 16, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 4, 13, 13, 5, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 2, 13, 13, 3, 3, 3, .s = {3, 3}, .flags = BIAS},
    {1, 3, 7, 7, 4, 3, 3, .flags = 0},
    {2, 5, 7, 13, 6, 3, 3, .s = {1, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 3, 3, 3, 2, 3, 3, .pad = {1, 1, 1, 1}},
    /* 5x5, 7x7, 11x11 */
    {2, 1, 32, 32, 6, 5, 5, .flags = BIAS},
    {2, 3, 13, 13, 6, 5, 5, .pad = {2, 2, 2, 2}},
    {1, 6, 14, 14, 16, 5, 5, .s = {2, 2}, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {1, 3, 31, 31, 8, 7, 7, .s = {2, 2}, .pad = {3, 3, 3, 3}, .flags = BIAS},
    {1, 3, 63, 63, 4, 11, 11, .s = {4, 4}, .pad = {2, 2, 2, 2}, .flags = BIAS},
    /* strided stems with output rows of 16 lanes and more (AlexNet's,
     * ResNet's), one of them not square */
    {2, 3, 75, 75, 8, 11, 11, .s = {4, 4}, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {2, 3, 40, 37, 8, 7, 7, .s = {2, 2}, .pad = {3, 3, 3, 3}},
    /* rewritten into 3x3 convolutions that direct_3x3 runs over the planes
     * space-to-depth fills, skipping the taps past the window: phases with
     * a short last tap row and column (11 and 9 at stride 4, 16 and 20
     * output channels), none (12) */
    {2, 3, 47, 45, 16, 11, 11, .s = {4, 4}, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {1, 2, 25, 25, 20, 9, 9, .s = {4, 4}, .pad = {1, 1, 1, 1}},
    {1, 4, 28, 28, 16, 12, 12, .s = {4, 4}, .flags = BIAS},
    {2, 2, 3, 3, 3, 5, 5, .pad = {1, 1, 1, 1}},
    /* 5x5 on direct_3x3's 5 x 2 tiles, output channels as lanes: over x
     * itself, the padding inside it or none, 20 channels a block and a
     * partial one; over a padded copy with ragged tiles; data gradients of
     * 16 output channels and more (the transposed kernel's lanes) */
    {3, 6, 14, 14, 16, 5, 5, .flags = BIAS},
    {2, 5, 12, 12, 20, 5, 5, .pad = {1, 1, 1, 1}},
    {2, 16, 9, 11, 17, 5, 5, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {2, 20, 7, 7, 5, 5, 5, .flags = 0},
    /* non-square kernels, asymmetric padding, even kernels */
    {2, 3, 13, 17, 4, 3, 5, .pad = {1, 2, 1, 2}},
    {1, 4, 9, 9, 4, 1, 7, .pad = {0, 3, 0, 3}, .flags = BIAS},
    {1, 4, 9, 9, 4, 7, 1, .pad = {3, 0, 3, 0}},
    {2, 3, 8, 8, 4, 3, 3, .s = {2, 2}, .pad = {0, 0, 1, 1}, .flags = BIAS},
    {1, 2, 7, 7, 3, 3, 3, .pad = {2, 0, 1, 1}},
    {1, 2, 7, 7, 3, 4, 4, .s = {2, 2}, .pad = {1, 2, 2, 1}},
    /* dilation */
    {2, 3, 13, 13, 4, 3, 3, .pad = {2, 2, 2, 2}, .d = {2, 2}, .flags = BIAS},
    {1, 4, 16, 16, 4, 3, 3, .pad = {3, 3, 3, 3}, .d = {3, 3}},
    {1, 2, 13, 13, 3, 3, 3, .s = {2, 2}, .pad = {1, 2, 1, 2}, .d = {1, 2}},
    {1, 2, 15, 15, 3, 5, 5, .s = {3, 3}, .d = {2, 2}},
    /* groups, depthwise, depth multiplier 2 */
    {2, 4, 7, 7, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 2, .flags = BIAS},
    {1, 6, 13, 13, 9, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 3},
    {2, 6, 8, 8, 6, 1, 1, .g = 3, .flags = BIAS},
    {2, 8, 13, 13, 8, 3, 3, .pad = {1, 1, 1, 1}, .g = 8, .flags = BIAS},
    {1, 16, 16, 16, 16, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 16},
    {1, 7, 7, 7, 7, 5, 5, .pad = {2, 2, 2, 2}, .g = 7, .flags = BIAS},
    {1, 3, 9, 9, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 3},
    {1, 32, 14, 14, 32, 3, 3, .pad = {2, 2, 2, 2}, .d = {2, 2}, .g = 32},
    {2, 3, 7, 7, 4, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS_NULL},
    /* depthwise rows wide enough for whole vectors (8 or 16 lanes) between
     * the padded edges, stride 1 and 2, partial blocks of output rows */
    {2, 8, 10, 37, 8, 3, 3, .pad = {1, 1, 1, 1}, .g = 8, .flags = BIAS},
    {1, 4, 21, 40, 4, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 4},
    {1, 3, 6, 32, 3, 3, 3, .pad = {1, 1, 1, 1}, .g = 3, .flags = BIAS | VIEWS},
    /* the direct depthwise 3x3 weight gradient: several images, a last
     * vector overlapping its neighbour (8 and 16 lanes), stride 2, no or
     * asymmetric padding, planes of all edges and many channels */
    {3, 12, 19, 56, 12, 3, 3, .pad = {1, 1, 1, 1}, .g = 12},
    {2, 10, 17, 35, 10, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 10},
    {4, 6, 33, 33, 6, 3, 3, .g = 6},
    {2, 5, 20, 40, 5, 3, 3, .s = {2, 2}, .pad = {0, 0, 1, 1}, .g = 5},
    {5, 40, 2, 2, 40, 3, 3, .pad = {1, 1, 1, 1}, .g = 40},
    /* rows long enough for the stride-2 data gradient's 16-lane vectors */
    {2, 4, 6, 70, 4, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 4, .flags = BIAS},
    /* MobileNet-v2's small stride-2 planes (dy rows narrower than one
     * vector block) and 1x1 planes */
    {2, 6, 8, 8, 6, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 6},
    {2, 5, 4, 4, 5, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 5},
    {2, 7, 1, 1, 7, 3, 3, .pad = {1, 1, 1, 1}, .g = 7},
    /* rows of 16 and more Winograd tiles: the transforms' vector paths,
     * next to tiles at the edges and odd output sizes; for F(4x4, 3x3)
     * rows of 8 tiles and more, a tile row per work-item: 18 = 16 + 2
     * and 10 tiles, 13 = 8 + 4 + 1 over planes whose last tile row and
     * column stick out, 70 tiles on 280 columns, whole vectors inside
     * the row */
    {1, 4, 5, 72, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 3, 6, 40, 5, 3, 3, .flags = 0},
    {3, 5, 7, 51, 6, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    {1, 3, 5, 282, 4, 3, 3, .flags = 0},
    /* GEMM-sized: full and partial tiles of 12 or 8 rows (output channels)
     * and 32 columns (pixels) of the tiled GEMM's float16 tile, and of 6 or
     * 4 rows and 16 columns of its float8 one (36 rows: the 6-row kernel) */
    {2, 32, 12, 12, 40, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 48, 9, 11, 36, 1, 1, .flags = BIAS},
    {3, 20, 6, 6, 25, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    {2, 16, 10, 10, 24, 3, 3, .pad = {1, 1, 1, 1}, .g = 2, .flags = BIAS},
    /* long enough for the weight gradient's GEMM to be cut into slices
     * of unequal images, stride 1 and 2 */
    {9, 6, 29, 31, 10, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {9, 5, 45, 47, 9, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    /* the deep layers of a net on small inputs: planes of 4x4 down to 1x1
     * whose images go side by side into one GEMM (forward) or the unrolled
     * columns (weight gradient), into channel slices too */
    {3, 40, 2, 2, 36, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {5, 36, 1, 1, 40, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    /* the CIFAR nets' 3x3 layers (few channels, direct_3x3): channels
     * not a multiple of its 16 lanes, planes not of its 2 x 8 blocks,
     * batch 1, asymmetric padding, views */
    {1, 16, 32, 32, 16, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 17, 9, 13, 33, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 24, 8, 8, 40, 3, 3, .pad = {0, 1, 2, 1}, .flags = BIAS | VIEWS},
    /* planes its blocks cover exactly, read without a padded copy: with
     * views, with no padding, and at the mixed strides */
    {2, 20, 8, 16, 24, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    {2, 16, 10, 18, 16, 3, 3, .flags = BIAS},
    {2, 16, 8, 32, 16, 3, 3, .s = {1, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 16, 16, 8, 16, 3, 3, .s = {2, 1}, .pad = {1, 1, 1, 1}},
    /* ... whose blocks have padding on both sides (stride 1 drops its
     * FMAs, a copy of the block for each set of edges): left and right on
     * 8 wide planes, top and bottom on 2 high ones, and both */
    {2, 20, 2, 8, 24, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 17, 6, 8, 20, 3, 3, .pad = {1, 1, 1, 1}},
    {1, 16, 2, 24, 18, 3, 3, .pad = {1, 1, 1, 1}, .flags = VIEWS},
    /* the planes its other float16 tiles take (cl_conv3x3.c): 7 x 2 on
     * 7x7, 5 x 3 on 15x15 and with partial columns on 10x11, 3 x 3 on 3x3
     * (from Winograd, 128 channels), 4 x 4 on 4x4 */
    {2, 20, 7, 7, 18, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 17, 15, 15, 33, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 16, 10, 11, 20, 3, 3, .pad = {1, 1, 1, 1}, .flags = VIEWS},
    {2, 128, 3, 3, 130, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 8, 4, 4, 24, 3, 3, .pad = {1, 1, 1, 1}},
    /* their stride-2 layers, whose data gradient direct_3x3 runs by the
     * output's four phases (with zeros between dy's pixels where the
     * stride is 2 along one axis only, either): even and odd planes, batch 1,
     * padding 0 and 2 (the transposed padding 2 and 0), views; and a
     * transposed convolution of its own, bias and output padding */
    {2, 16, 16, 16, 32, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 17, 13, 11, 20, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    {1, 24, 9, 15, 16, 3, 3, .s = {2, 2}, .pad = {0, 1, 2, 1}, .flags = VIEWS},
    {2, 16, 7, 12, 18, 3, 3, .s = {1, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {1, 16, 11, 6, 16, 3, 3, .s = {2, 1}, .pad = {1, 1, 1, 1}},
    {1, 16, 10, 9, 16, 3, 3, .s = {2, 2}, .pad = {2, 2, 2, 2}},
    {2, 32, 8, 7, 16, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 0},
     .flags = TRANSPOSE | BIAS},
    /* the phases with channels not a multiple of 8 or 16 lanes (19 in,
     * 36 and 40 out), partial blocks of odd and even planes, 64 channels */
    {2, 19, 12, 10, 36, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    {1, 40, 11, 9, 48, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {2, 64, 9, 14, 64, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    /* 1x1 planes read by one tap only (the 1x1 convolution of that tap):
     * batch 1, odd channel counts, a corner tap (asymmetric padding), a
     * dilated window, 5x5; whole blocks of 16 input channels (their weight
     * gradient laid out as vectors) beside a partial one, at 3x3 and 5x5 */
    {1, 13, 1, 1, 21, 3, 3, .pad = {1, 1, 1, 1}},
    {3, 19, 1, 1, 17, 3, 3, .pad = {0, 2, 2, 0}, .flags = BIAS},
    {2, 5, 1, 1, 6, 3, 3, .pad = {2, 2, 2, 2}, .d = {2, 2}, .flags = BIAS},
    {4, 7, 1, 1, 33, 5, 5, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {2, 40, 1, 1, 24, 3, 3, .pad = {1, 1, 1, 1}},
    {3, 32, 1, 1, 8, 5, 5, .pad = {2, 2, 2, 2}},
    {4, 40, 4, 4, 36, 3, 3, .pad = {1, 1, 1, 1}},
    {7, 32, 2, 2, 24, 1, 1, .g = 2, .flags = BIAS},
    /* onto 1x1 from larger planes, every pixel read by a tap of its own
     * and most taps on padding (the taps' matrix product): 3x3 through
     * 5x5 at stride 2, a 1x2 plane (stride 1 by 2), views; a transposed
     * convolution from 1x1 onto 2x2 with a bias (output padding) */
    {2, 7, 3, 3, 5, 5, 5, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 6, 1, 2, 4, 3, 3, .s = {1, 2}, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    {2, 16, 1, 1, 8, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1},
     .flags = TRANSPOSE | BIAS},
    /* 1-D */
    {2, 3, 0, 31, 4, 0, 3, .pad = {0, 1, 0, 1}, .flags = BIAS},
    {1, 4, 0, 64, 8, 0, 5, .s = {1, 2}, .pad = {0, 2, 0, 2}},
    {3, 2, 0, 13, 4, 0, 3, .d = {1, 2}, .g = 2, .flags = BIAS},
    {1, 8, 0, 7, 8, 0, 1, .flags = 0},
    /* channel slices in and out */
    {2, 4, 7, 7, 6, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS | VIEWS},
    {1, 8, 5, 5, 8, 1, 1, .flags = VIEWS},
    {1, 6, 9, 9, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 6, .flags = VIEWS},
    {2, 3, 0, 13, 2, 0, 3, .flags = VIEWS},
    /* transposed */
    {2, 4, 7, 7, 3, 2, 2, .s = {2, 2}, .flags = TRANSPOSE | BIAS},
    {1, 3, 5, 5, 4, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1}, .flags = TRANSPOSE | BIAS},
    {2, 8, 8, 8, 4, 4, 4, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = TRANSPOSE},
    {1, 4, 13, 13, 5, 3, 3, .pad = {1, 1, 1, 1}, .flags = TRANSPOSE | BIAS},
    {1, 2, 6, 6, 3, 3, 3, .s = {3, 3}, .opad = {2, 1}, .flags = TRANSPOSE},
    {1, 3, 5, 7, 2, 3, 5, .s = {2, 3}, .pad = {0, 2, 1, 1}, .flags = TRANSPOSE},
    {2, 3, 7, 7, 4, 3, 3, .s = {2, 2}, .pad = {2, 2, 2, 2}, .d = {2, 2}, .opad = {1, 1},
     .flags = TRANSPOSE | BIAS},
    {1, 2, 5, 5, 2, 3, 3, .d = {2, 2}, .opad = {1, 1}, .flags = TRANSPOSE},
    {2, 4, 5, 5, 6, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 2, .flags = TRANSPOSE | BIAS},
    {1, 6, 4, 4, 3, 4, 4, .s = {2, 2}, .pad = {1, 1, 1, 1}, .g = 3, .flags = TRANSPOSE},
    {1, 8, 7, 7, 8, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1}, .g = 8,
     .flags = TRANSPOSE},
    {2, 3, 0, 13, 4, 0, 4, .s = {1, 2}, .pad = {0, 1, 0, 1}, .flags = TRANSPOSE | BIAS},
    {1, 2, 0, 8, 3, 0, 3, .s = {1, 3}, .opad = {0, 2}, .flags = TRANSPOSE},
    {1, 4, 5, 5, 4, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1},
     .flags = TRANSPOSE | VIEWS | BIAS_NULL},
    {1, 16, 7, 7, 8, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .opad = {1, 1}, .flags = TRANSPOSE | BIAS},
    {1, 1, 1, 1, 1, 1, 1, .flags = TRANSPOSE},
    {2, 16, 7, 9, 24, 1, 1, .s = {2, 2}, .opad = {1, 0}, .flags = TRANSPOSE | BIAS},
};

static int or1(int v)
{
    return v ? v : 1;
}

static clnet_op conv_op(const conv_case *cc)
{
    bool one_d = cc->h == 0;
    int g = or1(cc->g);
    clnet_op op = cc->flags & TRANSPOSE ? clnet_op_conv_transpose(1, 0, 0, 1, g)
                                        : clnet_op_conv(1, 0, 1, g);
    clnet_conv_params *p = &op.u.conv;
    for (int i = 0; i < 2; i++) {
        bool unused = one_d && i == 0;
        p->stride[i] = unused ? 1 : or1(cc->s[i]);
        p->dilation[i] = unused ? 1 : or1(cc->d[i]);
        p->pad_begin[i] = unused ? 0 : cc->pad[i];
        p->pad_end[i] = unused ? 0 : cc->pad[2 + i];
        p->output_padding[i] = unused ? 0 : cc->opad[i];
    }
    return op;
}

static test_case *conv_named(clnet_op op, const char *tag)
{
    const clnet_conv_params *p = &op.u.conv;
    return new_case(op, NMSE_SUM, "%ss=%dx%d,p=%d,%d,%d,%d,d=%dx%d,g=%d,op=%dx%d", tag,
                    p->stride[0], p->stride[1], p->pad_begin[0], p->pad_begin[1], p->pad_end[0],
                    p->pad_end[1], p->dilation[0], p->dilation[1], p->groups,
                    p->output_padding[0], p->output_padding[1]);
}

static tspec conv_x(const conv_case *cc)
{
    tspec x = cc->h == 0 ? SHAPE(cc->n, cc->c, cc->w) : SHAPE(cc->n, cc->c, cc->h, cc->w);
    x.cview = cc->flags & VIEWS;
    return x;
}

static tspec conv_w(const conv_case *cc)
{
    bool tr = cc->flags & TRANSPOSE;
    int g = or1(cc->g);
    int64_t wc = tr ? cc->k / g : cc->c / g, wk = tr ? cc->c : cc->k;
    return cc->h == 0 ? SHAPE(wk, wc, cc->kw) : SHAPE(wk, wc, cc->kh, cc->kw);
}

static void add_conv_as(const conv_case *cc, clnet_op op, const char *tag)
{
    test_case *tc = conv_named(op, tag);
    add_in(tc, conv_x(cc));
    add_in(tc, conv_w(cc));
    if (cc->flags & BIAS)
        add_in(tc, SHAPE(cc->k));
    else if (cc->flags & BIAS_NULL)
        add_in(tc, (tspec){0});
    tc->out_cview[0] = cc->flags & VIEWS;
}

static void add_conv(const conv_case *cc)
{
    add_conv_as(cc, conv_op(cc), "");
}

/* The forward algorithms a case can force. The window goes into
 * params.kernel, from which clnet_op_supported judges the algorithms made
 * for one window: one that cannot run a case must be refused (a skip),
 * never fall back silently to another. */
static const struct forced_algo {
    clnet_conv_algo algo;
    const char *tag;
} forced_algos[] = {
    {CLNET_CONV_ALGO_DIRECT, "algo=direct,"},
    {CLNET_CONV_ALGO_IM2COL, "algo=im2col,"},
    {CLNET_CONV_ALGO_GEMM_1X1, "algo=gemm_1x1,"},
    {CLNET_CONV_ALGO_WINOGRAD, "algo=winograd,"},
    {CLNET_CONV_ALGO_WINOGRAD_4X4, "algo=winograd_4x4,"},
    {CLNET_CONV_ALGO_DEPTHWISE, "algo=depthwise,"},
    {CLNET_CONV_ALGO_DIRECT_3X3, "algo=direct_3x3,"},
    {CLNET_CONV_ALGO_SPACE_TO_DEPTH, "algo=space_to_depth,"},
    {CLNET_CONV_ALGO_DIRECT_ROWS, "algo=direct_rows,"},
};

static void add_conv_forced(const conv_case *cc)
{
    for (size_t i = 0; i < sizeof forced_algos / sizeof forced_algos[0]; i++) {
        clnet_op op = conv_op(cc);
        op.u.conv.algo = forced_algos[i].algo;
        op.u.conv.kernel[0] = cc->h == 0 ? 1 : cc->kh;
        op.u.conv.kernel[1] = cc->kw;
        add_conv_as(cc, op, forced_algos[i].tag);
    }
}

/* Convolutions with a fused activation (params.fuse_act), every function
 * on each algorithm that applies the activation in its own kernel or after
 * it: 3x3 on rows wide enough for the vector paths (direct, im2col,
 * Winograd; direct_3x3's 3 x 3 and 2 x 8 tiles), 1x1 (as a GEMM) and
 * depthwise, the backend's own choice too. */
static void add_conv_fused_cases(void)
{
    static const struct fused_case {
        conv_case cc;
        clnet_conv_algo algo;
        const char *tag;
    } fused[] = {
        {{1, 4, 5, 72, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS}, CLNET_CONV_ALGO_AUTO, ""},
        {{1, 4, 5, 72, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS}, CLNET_CONV_ALGO_DIRECT,
         "algo=direct,"},
        {{1, 4, 5, 72, 8, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS}, CLNET_CONV_ALGO_IM2COL,
         "algo=im2col,"},
        {{1, 4, 5, 72, 8, 3, 3, .pad = {1, 1, 1, 1}}, CLNET_CONV_ALGO_WINOGRAD, "algo=winograd,"},
        {{1, 4, 5, 72, 8, 3, 3, .pad = {1, 1, 1, 1}}, CLNET_CONV_ALGO_WINOGRAD_4X4,
         "algo=winograd_4x4,"},
        {{2, 5, 9, 11, 20, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS}, CLNET_CONV_ALGO_DIRECT_3X3,
         "algo=direct_3x3,"},
        {{2, 5, 8, 16, 20, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS}, CLNET_CONV_ALGO_DIRECT_3X3,
         "algo=direct_3x3,"},
        {{2, 6, 14, 14, 16, 5, 5, .flags = BIAS}, CLNET_CONV_ALGO_DIRECT_3X3,
         "algo=direct_3x3,"},
        {{1, 48, 9, 11, 36, 1, 1, .flags = BIAS}, CLNET_CONV_ALGO_GEMM_1X1, "algo=gemm_1x1,"},
        {{3, 6, 14, 14, 16, 5, 5, .pad = {2, 2, 2, 2}, .flags = BIAS},
         CLNET_CONV_ALGO_DIRECT_ROWS, "algo=direct_rows,"},
        {{2, 8, 10, 37, 8, 3, 3, .pad = {1, 1, 1, 1}, .g = 8, .flags = BIAS},
         CLNET_CONV_ALGO_DEPTHWISE, "algo=depthwise,"},
        {{1, 6, 9, 9, 6, 3, 3, .pad = {1, 1, 1, 1}, .g = 6, .flags = VIEWS},
         CLNET_CONV_ALGO_DEPTHWISE, "algo=depthwise,"},
        {{2, 3, 40, 37, 8, 7, 7, .s = {2, 2}, .pad = {3, 3, 3, 3}, .flags = BIAS},
         CLNET_CONV_ALGO_SPACE_TO_DEPTH, "algo=space_to_depth,"},
    };
    for (size_t i = 0; i < sizeof fused / sizeof fused[0]; i++)
        for (int fn = 0; fn < CLNET_ACT_COUNT; fn++) {
            const conv_case *cc = &fused[i].cc;
            clnet_op op = conv_op(cc);
            op.u.conv.algo = fused[i].algo;
            op.u.conv.kernel[0] = cc->kh;
            op.u.conv.kernel[1] = cc->kw;
            op.u.conv.fuse_act = true;
            op.u.conv.act = clnet_op_activation((clnet_activation)fn, 0.1f).u.act;
            char tag[64];
            snprintf(tag, sizeof tag, "%sact=%d,", fused[i].tag, fn);
            add_conv_as(cc, op, tag);
        }
}

/* direct_3x3 over an image of 2 MiB, where a work-group holds every
 * channel block of its tiles (cl_conv3x3.c): 17 output channels, two
 * blocks of 16 lanes (three of 8). */
static void add_conv_large_image_case(void)
{
    const conv_case cc = {1, 8, 256, 256, 17, 3, 3, .pad = {1, 1, 1, 1}, .flags = BIAS};
    clnet_op op = conv_op(&cc);
    op.u.conv.algo = CLNET_CONV_ALGO_DIRECT_3X3;
    op.u.conv.kernel[0] = cc.kh;
    op.u.conv.kernel[1] = cc.kw;
    add_conv_as(&cc, op, "algo=direct_3x3,");
}

/* The two gradients of a forward convolution: w.r.t. the weights
 * (CONV_BACKWARD_WEIGHTS of x and dy) and w.r.t. the input (the
 * CONV_TRANSPOSE clnet_op_conv_backward_data makes, which must give x's
 * shape back, the floor of the forward's output size included). */
static void add_conv_backward_as(const conv_case *cc, clnet_conv_algo algo, const char *tag)
{
    clnet_op fwd = conv_op(cc);
    fwd.u.conv.algo = algo;
    tspec x = conv_x(cc), w = conv_w(cc);
    tspec dy = forward_output(fwd, 2, (tspec[]){x, w});
    dy.cview = x.cview;
    clnet_op bw = fwd;
    bw.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS;
    bw.u.conv.kernel[0] = cc->h == 0 ? 1 : cc->kh;
    bw.u.conv.kernel[1] = cc->kw;
    test_case *tc = conv_named(bw, tag);
    add_in(tc, x);
    add_in(tc, dy);

    clnet_shape xs = shape_of(&x), ws = shape_of(&w);
    char data_tag[64];
    snprintf(data_tag, sizeof data_tag, "backward_data,%s", tag);
    tc = conv_named(clnet_op_conv_backward_data(&fwd, &xs, &ws), data_tag);
    add_in(tc, dy);
    add_in(tc, w);
    tc->want = x;
    tc->out_cview[0] = x.cview;
}

/* The gradients have several implementations on OpenCL, each forced here
 * through params.algo: the direct kernels, GEMMs over im2col columns, for
 * both gradients of stride-1 3x3 convolutions Winograd (elsewhere
 * WINOGRAD, like the other values, leaves the choice to the backend), and
 * for strided convolutions the space-to-depth rewrite. */
static void add_conv_backward(const conv_case *cc)
{
    add_conv_backward_as(cc, CLNET_CONV_ALGO_AUTO, "");
    add_conv_backward_as(cc, CLNET_CONV_ALGO_DIRECT, "algo=direct,");
    add_conv_backward_as(cc, CLNET_CONV_ALGO_IM2COL, "algo=im2col,");
    add_conv_backward_as(cc, CLNET_CONV_ALGO_WINOGRAD, "algo=winograd,");
    add_conv_backward_as(cc, CLNET_CONV_ALGO_WINOGRAD_4X4, "algo=winograd_4x4,");
    add_conv_backward_as(cc, CLNET_CONV_ALGO_SPACE_TO_DEPTH, "algo=space_to_depth,");
    add_conv_backward_as(cc, CLNET_CONV_ALGO_DIRECT_ROWS, "algo=direct_rows,");
}

/* The row kernels (forced by DIRECT_ROWS; cl_conv_rows.c): LeNet-5's
 * layers and the forward of conv2's data gradient (padding 4), output rows
 * of 16, 17, 28 and 32 lanes, output channels that leave the last block of
 * 8 or 4 partly beyond K (it repeats channel K - 1), one output channel, a
 * window wider than tall with asymmetric padding, 1-D, views, and 1x1
 * planes whose images are smaller than a vector (every image on the
 * lane-by-lane edge path). Three images or more, so that some are
 * interior. One input channel takes several output rows a work-item
 * (conv_rows_k<KB>_rows; on a 2-unit CPU 2 of 27 rows, 7 of 13 at 64
 * images, 2 of 20 over 9 channels): the last block of rows partial, and a
 * view, and the data gradient of 6 -> 1 channels (its weights read
 * rotated); 3 output channels keep one row a work-item (conv_rows_k4). */
static const conv_case rows_cases[] = {
    {3, 1, 31, 31, 6, 5, 5, .flags = BIAS | VIEWS},
    {64, 1, 13, 13, 6, 5, 5, .pad = {2, 2, 2, 2}, .flags = BIAS},
    {2, 1, 20, 20, 9, 5, 5, .pad = {2, 2, 2, 2}},
    {3, 1, 13, 13, 3, 5, 5, .pad = {1, 1, 1, 1}, .flags = BIAS},
    {3, 6, 12, 12, 1, 5, 5, .pad = {2, 2, 2, 2}},
    {3, 6, 14, 14, 16, 5, 5, .flags = BIAS},
    {3, 1, 32, 32, 6, 5, 5, .flags = BIAS},
    {3, 16, 10, 10, 6, 5, 5, .pad = {4, 4, 4, 4}},
    {3, 2, 20, 20, 3, 5, 5, .flags = 0},
    {3, 2, 36, 36, 9, 5, 5, .flags = BIAS},
    {3, 4, 21, 21, 2, 5, 5, .flags = 0},
    {4, 3, 17, 17, 1, 5, 5, .pad = {2, 2, 2, 2}},
    {3, 3, 11, 9, 5, 5, 3, .pad = {2, 1, 0, 2}, .flags = BIAS},
    {3, 4, 0, 30, 6, 0, 5, .pad = {0, 2, 0, 2}, .flags = BIAS},
    {3, 6, 10, 10, 7, 5, 5, .pad = {2, 2, 2, 2}, .flags = BIAS | VIEWS},
    {5, 1, 1, 1, 2, 3, 3, .pad = {1, 1, 1, 1}},
};

/* The direct 3x3 weight gradient (forced by DIRECT_3X3; cl_conv_wgrad.c):
 * ResNet-20's shapes at batch 1 and its downsampling layer, odd planes,
 * channel counts that leave vector lanes and channel blocks partly empty,
 * mixed and asymmetric strides and padding (up to 2), input columns a
 * stride leaves unread, a plane narrower than the window, a last block of
 * 8 output channels, views, and a batch whose output rows split into
 * slices that cross images. 64 -> 128 channels on 56x56 at batch 32 is
 * the stride-2 data gradient whose work-groups PoCL once made too large
 * for its stack (see cl_conv3x3.c). Output channels 72 and 136 make the widest
 * block variant on AVX-512 (4 blocks of 16 a work-item) run several
 * work-items of blocks with the last one partly beyond K. */
static const conv_case wgrad3x3_cases[] = {
    {1, 16, 32, 32, 16, 3, 3, .pad = {1, 1, 1, 1}},
    /* rows of 32 or more read from x itself: columns past whole blocks
     * of 8 (the column-by-column loop's last column in the padding), 32
     * output channels (2 blocks a work-item, 4 columns a step: 38 = 9 * 4
     * + 2), no padding, and a view (not dense: the padded copy); 64
     * output channels (4 blocks a work-item, column by column) take the
     * padded copy */
    {2, 4, 5, 36, 16, 3, 3, .pad = {1, 1, 1, 1}},
    {1, 2, 3, 38, 32, 3, 3, .pad = {1, 1, 1, 1}},
    {1, 2, 4, 32, 64, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 4, 6, 34, 16, 3, 3, .flags = 0},
    {1, 4, 5, 32, 16, 3, 3, .pad = {1, 1, 1, 1}, .flags = VIEWS},
    {2, 16, 16, 16, 32, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    {3, 5, 9, 13, 7, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 17, 11, 10, 33, 3, 3, .pad = {1, 1, 1, 1}},
    {3, 7, 13, 13, 20, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}},
    {2, 6, 9, 12, 10, 3, 3, .s = {1, 2}, .pad = {1, 1, 1, 1}},
    {1, 4, 8, 8, 16, 3, 3, .s = {2, 2}, .pad = {0, 0, 1, 1}},
    {1, 3, 8, 8, 4, 3, 3, .flags = 0},
    {2, 3, 8, 10, 16, 3, 3, .s = {2, 2}, .flags = 0},
    {2, 4, 7, 7, 6, 3, 3, .pad = {1, 1, 1, 1}, .flags = VIEWS},
    {70, 3, 4, 4, 5, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 3, 5, 2, 8, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 5, 7, 9, 9, 3, 3, .s = {2, 2}, .pad = {2, 2, 2, 2}},
    {1, 9, 8, 8, 40, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 6, 6, 6, 72, 3, 3, .pad = {1, 1, 1, 1}},
    {3, 5, 7, 5, 136, 3, 3, .s = {2, 1}, .pad = {1, 1, 1, 1}},
    {32, 64, 56, 56, 128, 3, 3, .s = {2, 2}, .pad = {1, 1, 1, 1}, .flags = 0},
};

/* Winograd's weight gradient (forced by WINOGRAD and WINOGRAD_4X4;
 * cl_conv_winograd.c) and the automatic choice, which takes F(2x2, 3x3) on
 * planes of 4x4 and below and F(4x4, 3x3) with 128 channels or more on 5x5 to
 * 8x8 and on planes its tiles cover (16x16): the tiny planes of ResNet-18 on
 * 32x32 inputs, output channels that leave lanes and GEMM columns empty, odd
 * planes whose last tiles stick out, padding 0 and 2 and asymmetric, views, a
 * batch whose tiles take two chunks of the scratch budget (9 images of 64x64
 * with 32 channels), and more filters than a data gradient reads from the
 * forward's transform (264 x 256: it transforms its own, see
 * cl_conv_winograd.c). */
static const conv_case wgrad_winograd_cases[] = {
    {2, 128, 7, 7, 136, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 128, 16, 16, 130, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 64, 4, 4, 64, 3, 3, .pad = {1, 1, 1, 1}},
    {3, 72, 2, 2, 80, 3, 3, .pad = {1, 1, 1, 1}, .flags = VIEWS},
    {2, 17, 5, 3, 33, 3, 3, .pad = {1, 1, 1, 1}},
    {2, 6, 6, 7, 16, 3, 3, .flags = 0},
    {1, 8, 7, 9, 24, 3, 3, .pad = {2, 1, 0, 2}},
    {9, 32, 64, 64, 32, 3, 3, .pad = {1, 1, 1, 1}, .flags = 0},
    {1, 264, 2, 3, 256, 3, 3, .pad = {1, 1, 1, 1}},
};

/* A transposed convolution forced onto each of its implementations. */
static void add_conv_transpose_forced(const conv_case *cc)
{
    static const struct forced_algo transposed[] = {
        {CLNET_CONV_ALGO_DIRECT, "algo=direct,"},
        {CLNET_CONV_ALGO_IM2COL, "algo=im2col,"},
        {CLNET_CONV_ALGO_WINOGRAD, "algo=winograd,"},
        {CLNET_CONV_ALGO_WINOGRAD_4X4, "algo=winograd_4x4,"},
    };
    for (size_t i = 0; i < sizeof transposed / sizeof transposed[0]; i++) {
        clnet_op op = conv_op(cc);
        op.u.conv.algo = transposed[i].algo;
        add_conv_as(cc, op, transposed[i].tag);
    }
}

enum { PF_CEIL = 1, PF_INCL = 2, PF_GLOBAL = 4, PF_ARGMAX = 8, PF_VIEWS = 16, PF_TIES = 32,
       PF_NEG = 64, PF_NAN = 128 };

/* A pooling; h == 0 makes it 1-D. */
typedef struct pool_case {
    int n, c, h, w;
    clnet_pool_mode mode;
    int k[2], s[2], pad[4];      /* pad: top, left, bottom, right */
    int flags;
} pool_case;

/* The cases of one mode: the argmax output and ties of max, and average's
 * count_include_pad rule. */
static const pool_case pool_cases[] = {
    {2, 3, 7, 7, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = 0},
    {1, 4, 13, 13, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = 0},
    {1, 4, 16, 16, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_ARGMAX},
    {1, 4, 16, 16, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL},
    {2, 2, 13, 13, CLNET_POOL_MAX, {3, 3}, {2, 2}, .flags = PF_CEIL | PF_ARGMAX},
    {2, 3, 9, 9, CLNET_POOL_MAX, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_ARGMAX},
    {1, 3, 8, 8, CLNET_POOL_MAX, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_NEG | PF_ARGMAX},
    {2, 3, 8, 8, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_TIES | PF_ARGMAX},
    {2, 2, 9, 9, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_TIES | PF_ARGMAX | PF_CEIL},
    {1, 2, 7, 11, CLNET_POOL_MAX, {3, 4}, {1, 2}, {1, 1, 0, 1}, .flags = PF_ARGMAX},
    {3, 5, 31, 31, CLNET_POOL_MAX, {5, 5}, {3, 3}, {2, 2, 2, 2}, .flags = 0},
    {2, 3, 7, 7, CLNET_POOL_MAX, {3, 3}, {2, 2}, .flags = PF_VIEWS | PF_ARGMAX},
    {1, 64, 28, 28, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_ARGMAX},
    {2, 3, 7, 7, CLNET_POOL_MAX, .flags = PF_GLOBAL | PF_ARGMAX | PF_TIES},
    {1, 5, 13, 31, CLNET_POOL_AVG, .flags = PF_GLOBAL},
    {4, 16, 1, 1, CLNET_POOL_AVG, .flags = PF_GLOBAL},
    {1, 4, 9, 9, CLNET_POOL_AVG, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = 0},
    {1, 4, 9, 9, CLNET_POOL_AVG, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_INCL},
    {2, 3, 13, 13, CLNET_POOL_AVG, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL | PF_INCL},
    {1, 2, 8, 8, CLNET_POOL_AVG, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL | PF_INCL},
    {1, 3, 31, 31, CLNET_POOL_AVG, {5, 5}, {3, 3}, {2, 2, 2, 2}, .flags = PF_INCL},
    {1, 2, 7, 10, CLNET_POOL_AVG, {2, 3}, {2, 1}, {0, 1, 0, 0}, .flags = PF_INCL},
    {2, 3, 0, 31, CLNET_POOL_MAX, {1, 3}, {1, 2}, {0, 1, 0, 1}, .flags = PF_ARGMAX},
    /* rows of several 8-wide output blocks of the max kernels, the last
     * one partial: vector loads inside the row, lanes gathered at its
     * edges and in the padding */
    {2, 5, 31, 31, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_ARGMAX},
    {1, 3, 18, 40, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_TIES | PF_ARGMAX},
    {1, 3, 17, 37, CLNET_POOL_MAX, {3, 3}, {3, 3}, .flags = PF_TIES | PF_ARGMAX},
    {2, 3, 33, 35, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_ARGMAX},
    {1, 2, 9, 29, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_CEIL | PF_NEG},
    {1, 3, 12, 21, CLNET_POOL_MAX, {2, 3}, {1, 1}, {0, 1, 1, 0}, .flags = PF_TIES},
    {2, 3, 11, 34, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_VIEWS | PF_ARGMAX},
    {2, 3, 14, 33, CLNET_POOL_MAX, {2, 2}, {2, 2}, .flags = PF_NAN | PF_ARGMAX},
    {1, 2, 13, 35, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_NAN},
    {1, 4, 0, 16, CLNET_POOL_AVG, {1, 3}, {1, 1}, {0, 1, 0, 1}, .flags = PF_INCL},
    /* overlapping windows over planes enough for a CPU's work-item per
     * plane in the gradient (cl_pool.c): padding, ties, a ceil-mode edge
     * and views */
    {2, 24, 16, 16, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_ARGMAX},
    {1, 40, 9, 9, CLNET_POOL_MAX, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_TIES | PF_ARGMAX},
    {2, 20, 13, 13, CLNET_POOL_MAX, {3, 3}, {2, 2}, .flags = PF_CEIL | PF_VIEWS | PF_ARGMAX},
    /* rows under half a block: one output per work-item (airbench's last
     * pool, 3x3 -> 1x1), ties, NaN and padding */
    {4, 8, 3, 3, CLNET_POOL_MAX, {3, 3}, {3, 3}, .flags = PF_TIES | PF_ARGMAX},
    {1, 2, 6, 6, CLNET_POOL_MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_NAN | PF_ARGMAX},
    /* windows that share no input, whose gradient is a gather: ResNet
     * option A's 1x1 subsampling on an odd plane, and windows narrower
     * than their stride (inputs between them get nothing) */
    {2, 3, 9, 11, CLNET_POOL_MAX, {1, 1}, {2, 2}, .flags = PF_ARGMAX},
    {1, 2, 10, 13, CLNET_POOL_MAX, {2, 1}, {3, 2}, .flags = PF_TIES | PF_ARGMAX},
};

/* The cases of every clnet_pool_mode (their mode field is ignored), so that
 * a new mode is tested on every path without a case of its own: windows
 * that tile, overlap, run past the input (ceil mode) or are uneven, padding
 * against negative inputs, small integers (ties, zero windows), 1-D,
 * global, and views. */
static const pool_case every_mode_cases[] = {
    {2, 3, 8, 8, 0, {2, 2}, {2, 2}, .flags = 0},
    {2, 3, 7, 7, 0, {2, 2}, {2, 2}, .flags = PF_CEIL},
    {2, 3, 13, 13, 0, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_CEIL},
    {1, 2, 7, 11, 0, {3, 4}, {1, 2}, {1, 1, 0, 1}, .flags = 0},
    {1, 3, 8, 8, 0, {3, 3}, {1, 1}, {1, 1, 1, 1}, .flags = PF_NEG},
    {2, 3, 8, 8, 0, {2, 2}, {2, 2}, .flags = PF_TIES},
    {2, 3, 0, 13, 0, {1, 2}, {1, 2}, .flags = PF_CEIL},
    {2, 3, 7, 7, 0, .flags = PF_GLOBAL},
    {2, 3, 0, 31, 0, .flags = PF_GLOBAL},
    {2, 4, 9, 9, 0, {3, 3}, {2, 2}, {1, 1, 1, 1}, .flags = PF_VIEWS},
    {2, 64, 7, 7, 0, .flags = PF_GLOBAL | PF_VIEWS},
};

/* Every pooling case: those of one mode, then the shared ones in each mode. */
static void for_each_pool_case(void (*add)(const pool_case *))
{
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++)
        add(&pool_cases[i]);
    for (int m = 0; m < CLNET_POOL_MODE_COUNT; m++)
        for (size_t i = 0; i < sizeof every_mode_cases / sizeof every_mode_cases[0]; i++) {
            pool_case pc = every_mode_cases[i];
            pc.mode = (clnet_pool_mode)m;
            add(&pc);
        }
}

static clnet_op pool_op(const pool_case *pc)
{
    bool one_d = pc->h == 0, global = pc->flags & PF_GLOBAL;
    clnet_op op = global ? clnet_op_global_pool(pc->mode) : clnet_op_pool(pc->mode, 1, 1, 0);
    clnet_pool_params *p = &op.u.pool;
    if (!global) {
        for (int i = 0; i < 2; i++) {
            bool unused = one_d && i == 0;
            p->kernel[i] = unused ? 1 : pc->k[i];
            p->stride[i] = unused ? 1 : pc->s[i];
            p->pad_begin[i] = unused ? 0 : pc->pad[i];
            p->pad_end[i] = unused ? 0 : pc->pad[2 + i];
        }
        p->ceil_mode = pc->flags & PF_CEIL;
        p->count_include_pad = pc->flags & PF_INCL;
    }
    return op;
}

static test_case *pool_named(clnet_op op)
{
    const clnet_pool_params *p = &op.u.pool;
    const clnet_pool_mode_info *mode = clnet_pool_mode_info_get(p->mode);
    /* a mode that selects copies an input: exact */
    return new_case(op, mode->selects ? NMSE_EXACT : NMSE_ELT,
                    "%s,%s,k=%dx%d,s=%dx%d,p=%d,%d,%d,%d%s%s", mode->name, p->global ? "global" : "window", p->kernel[0],
                    p->kernel[1], p->stride[0], p->stride[1], p->pad_begin[0], p->pad_begin[1],
                    p->pad_end[0], p->pad_end[1], p->ceil_mode ? ",ceil" : "",
                    p->count_include_pad ? ",incl_pad" : "");
}

static tspec pool_x(const pool_case *pc)
{
    tspec x = pc->h == 0 ? SHAPE(pc->n, pc->c, pc->w) : SHAPE(pc->n, pc->c, pc->h, pc->w);
    if (pc->flags & PF_TIES)
        x = ranged(x, FILL_INTS, 0, 3);
    else if (pc->flags & PF_NEG)
        x = ranged(x, FILL_UNIFORM, -3, -1);
    else if (pc->flags & PF_NAN)
        x = ranged(x, FILL_SPECIAL, -3, 3);
    x.cview = pc->flags & PF_VIEWS;
    return x;
}

static void add_pool(const pool_case *pc)
{
    test_case *tc = pool_named(pool_op(pc));
    add_in(tc, pool_x(pc));
    tc->nout = pc->flags & PF_ARGMAX ? 2 : 1;
    tc->out_cview[0] = tc->out_cview[1] = pc->flags & PF_VIEWS;
}

/* dy routed back to x's windows: ties, negative inputs against padding,
 * overlap, ceil mode and views come from the forward table. */
static void add_pool_backward(const pool_case *pc)
{
    clnet_op op = pool_op(pc);
    tspec x = pool_x(pc), dy = forward_output(op, 1, &x);
    dy.cview = x.cview;
    op.kind = CLNET_OP_POOL_BACKWARD;
    test_case *tc = pool_named(op);
    add_in(tc, x);
    add_in(tc, dy);
    tc->out_cview[0] = x.cview;
}

/* Max pooling's gradient from the forward's argmax (POOL_BACKWARD's third
 * input): indices a window could pick (FILL_ARGMAX), or anywhere in the
 * plane (`anywhere`), where an index outside its window passes nothing. */
static void add_pool_backward_argmax_as(const pool_case *pc, bool anywhere)
{
    if (!clnet_pool_mode_info_get(pc->mode)->selects)
        return;
    clnet_op op = pool_op(pc);
    tspec x = pool_x(pc), dy = forward_output(op, 1, &x);
    dy.cview = x.cview;
    tspec idx = ranged(dy, anywhere ? FILL_INDEX_ANY : FILL_ARGMAX, 0, 0);
    idx.dtype = CLNET_I32;
    op.kind = CLNET_OP_POOL_BACKWARD;
    test_case *tc = pool_named(op);
    snprintf(tc->name + strlen(tc->name), sizeof tc->name - strlen(tc->name), ",argmax%s",
             anywhere ? "=anywhere" : "");
    add_in(tc, x);
    add_in(tc, dy);
    add_in(tc, idx);
    tc->out_cview[0] = x.cview;
}

static void add_pool_backward_argmax(const pool_case *pc)
{
    add_pool_backward_argmax_as(pc, false);
}

/* UNPOOL: x and argmax (n, c, h, w) unpooled into (out_h, out_w); or its
 * gradient UNPOOL_BACKWARD: dy (n, c, out_h, out_w) gathered at that argmax.
 * The indices come from windows k/s/pad, or from anywhere in the plane
 * when k == 0. */
static void add_unpool(clnet_op_kind kind, int n, int c, int h, int w, int out_h, int out_w,
                       int k, int s, int pad)
{
    clnet_op op = {.kind = kind};
    op.u.unpool.out_h = out_h;
    op.u.unpool.out_w = out_w;
    test_case *tc = new_case(op, NMSE_EXACT, "out=%dx%d,indices=%s", out_h, out_w,
                             k ? "window" : "any");
    if (kind == CLNET_OP_UNPOOL)
        add_in(tc, SHAPE(n, c, h, w));
    else
        add_in(tc, SHAPE(n, c, out_h, out_w));
    tspec idx = ranged(SHAPE(n, c, h, w), k ? FILL_ARGMAX : FILL_INDEX_ANY, 0, 0);
    idx.dtype = CLNET_I32;
    add_in(tc, idx);
    tc->window[0] = k;
    tc->window[1] = s;
    tc->window[2] = pad;
}

/* Activations built on exp or tanh, compared with a transcendental's
 * tolerance. */
static bool smooth_act(clnet_activation fn)
{
    return fn == CLNET_ACT_SIGMOID || fn == CLNET_ACT_TANH || fn == CLNET_ACT_SWISH ||
           fn == CLNET_ACT_LECUN_TANH || fn == CLNET_ACT_GELU;
}

static test_case *add_act(clnet_activation fn, float alpha, tspec x)
{
    test_case *tc = new_case(clnet_op_activation(fn, alpha),
                             smooth_act(fn) ? NMSE_ELT : NMSE_EXACT, "%s,alpha=%g",
                             clnet_act_info_get(fn)->name, alpha);
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
    return tc;
}

static void add_act_cases(void)
{
    for (int fn = 0; fn < CLNET_ACT_COUNT; fn++) {
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8));
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(1, 13), FILL_UNIFORM, -8, 8));
        /* images of whole vectors of 16, NaN and infinities among them */
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(2, 4, 4, 4), FILL_UNIFORM, -8, 8));
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(3, 32), FILL_SPECIAL, -8, 8));
        /* a batch of whole vectors of 16, its images not (one run) */
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(16, 3, 5, 5), FILL_SPECIAL, -8, 8));
        add_act((clnet_activation)fn, 0.1f, ranged(SHAPE(16, 3, 5, 5), FILL_UNIFORM, -30, 30));
    }
    add_act(CLNET_ACT_LEAKY_RELU, 0.01f, ranged(SHAPE(3, 1000), FILL_UNIFORM, -8, 8));
    add_act(CLNET_ACT_TANH, 0, ranged(SHAPE(2, 5, 31), FILL_UNIFORM, -8, 8));
    add_act(CLNET_ACT_HARD_SWISH, 0, ranged(SHAPE(8, 64, 16, 16), FILL_UNIFORM, -8, 8));
    /* non-finite inputs and large magnitudes (exp overflows) */
    add_act(CLNET_ACT_RELU, 0, ranged(SHAPE(4, 31), FILL_SPECIAL, -8, 8));
    add_act(CLNET_ACT_LEAKY_RELU, 0.1f, ranged(SHAPE(4, 31), FILL_SPECIAL, -8, 8));
    add_act(CLNET_ACT_RELU6, 0, ranged(SHAPE(4, 31), FILL_INFS, -8, 8));
    add_act(CLNET_ACT_SIGMOID, 0, ranged(SHAPE(4, 31), FILL_INFS, -8, 8));
    add_act(CLNET_ACT_TANH, 0, ranged(SHAPE(4, 31), FILL_INFS, -8, 8));
    add_act(CLNET_ACT_SIGMOID, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    add_act(CLNET_ACT_TANH, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    add_act(CLNET_ACT_SWISH, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    add_act(CLNET_ACT_HARD_SIGMOID, 0, ranged(SHAPE(3, 5, 13), FILL_UNIFORM, -100, 100));
    /* y is x; channel slices */
    add_act(CLNET_ACT_RELU, 0, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8))->inplace = true;
    add_act(CLNET_ACT_SWISH, 0, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8))->inplace = true;
    add_act(CLNET_ACT_RELU, 0, chview(ranged(SHAPE(2, 4, 5, 5), FILL_UNIFORM, -8, 8)));
    add_act(CLNET_ACT_SIGMOID, 0, chview(ranged(SHAPE(2, 4, 5, 5), FILL_UNIFORM, -8, 8)));
}

/* dx = dy * f'(x). Integer x lands on every kink (0, -3, 3, 6), where
 * ref's choice of one-sided derivative is the contract; NaN and Inf in x or
 * dy must come out as ref's do. */
static test_case *add_act_backward(clnet_activation fn, float alpha, tspec x, int dy_fill)
{
    static const char *const fills[FILL_VAR_OF_X + 1] = {
        [FILL_INTS] = ",ints", [FILL_SPECIAL] = ",nan_inf", [FILL_INFS] = ",infs"};
    clnet_op op = clnet_op_activation(fn, alpha);
    op.kind = CLNET_OP_ACTIVATION_BACKWARD;
    test_case *tc = new_case(op, smooth_act(fn) ? NMSE_ELT : NMSE_EXACT,
                             "%s,alpha=%g,x=%g..%g%s%s%s",
                             clnet_act_info_get(fn)->name, alpha, x.lo, x.hi,
                             fills[x.fill] ? fills[x.fill] : "",
                             dy_fill != FILL_UNIFORM ? ",dy" : "",
                             fills[dy_fill] ? fills[dy_fill] : "");
    add_in(tc, x);
    add_in(tc, ranged(x, dy_fill, -1, 1));
    tc->out_cview[0] = x.cview;
    return tc;
}

static void add_act_backward_cases(void)
{
    for (int f = 0; f < CLNET_ACT_COUNT; f++) {
        clnet_activation fn = (clnet_activation)f;
        add_act_backward(fn, 0.1f, ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(3, 5, 13), FILL_INTS, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(4, 31), FILL_INFS, -100, 100), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(4, 31), FILL_SPECIAL, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(4, 31), FILL_UNIFORM, -8, 8), FILL_SPECIAL);
        /* images of whole vectors of 16 */
        add_act_backward(fn, 0.1f, ranged(SHAPE(2, 4, 4, 4), FILL_INTS, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(3, 32), FILL_SPECIAL, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(3, 32), FILL_UNIFORM, -8, 8), FILL_SPECIAL);
        /* a batch of whole vectors of 16, its images not (one run) */
        add_act_backward(fn, 0.1f, ranged(SHAPE(16, 3, 5, 5), FILL_INTS, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(16, 3, 5, 5), FILL_SPECIAL, -8, 8), FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(16, 3, 5, 5), FILL_UNIFORM, -30, 30),
                         FILL_UNIFORM);
        add_act_backward(fn, 0.1f, ranged(SHAPE(16, 3, 5, 5), FILL_UNIFORM, -8, 8),
                         FILL_SPECIAL);
    }
    add_act_backward(CLNET_ACT_LEAKY_RELU, 0.01f, ranged(SHAPE(3, 1000), FILL_UNIFORM, -8, 8),
                     FILL_UNIFORM);
    add_act_backward(CLNET_ACT_HARD_SWISH, 0, ranged(SHAPE(8, 64, 16, 16), FILL_UNIFORM, -8, 8),
                     FILL_UNIFORM);
    /* dx is dy; channel slices */
    static const clnet_activation some[] = {CLNET_ACT_RELU, CLNET_ACT_SIGMOID, CLNET_ACT_SWISH};
    for (int i = 0; i < 3; i++) {
        tspec x = ranged(SHAPE(2, 3, 7, 7), FILL_UNIFORM, -8, 8);
        test_case *tc = add_act_backward(some[i], 0, x, FILL_UNIFORM);
        tc->inplace = true;
        tc->inplace_of = 1;
        add_act_backward(some[i], 0, chview(ranged(SHAPE(2, 4, 5, 5), FILL_UNIFORM, -8, 8)),
                         FILL_UNIFORM);
    }
}

static void add_bn(tspec x, float eps)
{
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM);
    op.u.bn.eps = eps;
    test_case *tc = new_case(op, NMSE_ELT, "eps=%g", eps);
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, SHAPE(c));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, 0.1f, 2));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    add_in(tc, SHAPE(c));
    tc->out_cview[0] = x.cview;
}

/* BATCHNORM with a fused activation: y = act(batchnorm(x)). */
static void add_bn_act(tspec x, clnet_activation fn, float alpha)
{
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM);
    op.u.bn.fuse_act = true;
    op.u.bn.act = clnet_op_activation(fn, alpha).u.act;
    test_case *tc = new_case(op, NMSE_ELT, "act=%s,alpha=%g",
                             clnet_act_info_get(fn)->name, alpha);
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -0.5f, 0.5f));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, 0.1f, 2));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -1, 1));
    tc->out_cview[0] = x.cview;
}

/* BATCHNORM with a fused residual add (the sixth input r) and, with `act`,
 * a ReLU after it: y = act(batchnorm(x) + r). */
static void add_bn_residual(tspec x, bool act)
{
    clnet_op op = clnet_op_simple(CLNET_OP_BATCHNORM);
    op.u.bn.fuse_add = true;
    op.u.bn.fuse_act = act;
    op.u.bn.act = clnet_op_activation(CLNET_ACT_RELU, 0).u.act;
    test_case *tc = new_case(op, NMSE_ELT, "add,act=%s", act ? "relu" : "none");
    int64_t c = x.dim[1];
    add_in(tc, x);
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -0.5f, 0.5f));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, 0.1f, 2));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -2, 2));
    add_in(tc, ranged(SHAPE(c), FILL_UNIFORM, -1, 1));
    add_in(tc, ranged(x, FILL_UNIFORM, -1, 1));
    tc->out_cview[0] = x.cview;
}

static void add_bn_stats(tspec x)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_BATCHNORM_STATS), NMSE_SUM,
                             "range=%g..%g", x.lo, x.hi);
    add_in(tc, x);
    tc->nout = 2;
}

static void add_lrn(tspec x, int size, float alpha, float beta, float k)
{
    clnet_op op = {.kind = CLNET_OP_LRN};
    op.u.lrn = (clnet_lrn_params){.size = size, .alpha = alpha, .beta = beta, .k = k};
    test_case *tc = new_case(op, NMSE_ELT, "size=%d,alpha=%g,beta=%g,k=%g", size, alpha, beta, k);
    add_in(tc, ranged(x, FILL_UNIFORM, -2, 2));
    tc->out_cview[0] = x.cview;
}

static test_case *add_dropout(tspec x, float p, uint64_t seed, bool training)
{
    clnet_op op = {.kind = CLNET_OP_DROPOUT};
    op.u.dropout = (clnet_dropout_params){.p = p, .seed = seed, .training = training};
    test_case *tc = new_case(op, NMSE_EXACT, "p=%g,seed=%llu,%s", p, (unsigned long long)seed,
                             training ? "training" : "inference");
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
    return tc;
}

/* bias: 0 none, 1 present, 2 passed as NULL */
static void add_linear(tspec x, int64_t m, int bias, bool out_view)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_LINEAR), NMSE_SUM, "m=%lld", (long long)m);
    int64_t f = 1;
    for (int i = 1; i < x.ndim; i++)
        f *= x.dim[i];
    add_in(tc, x);
    add_in(tc, SHAPE(m, f));
    if (bias)
        add_in(tc, bias == 1 ? SHAPE(m) : (tspec){0});
    tc->out_cview[0] = out_view;
}

static void add_gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta,
                     bool views)
{
    clnet_op op = {.kind = CLNET_OP_GEMM};
    op.u.gemm = (clnet_gemm_params){.trans_a = ta, .trans_b = tb, .alpha = alpha, .beta = beta};
    test_case *tc = new_case(op, NMSE_SUM, "m=%lld,n=%lld,k=%lld,%s%s,alpha=%g,beta=%g",
                             (long long)m, (long long)n, (long long)k, ta ? "T" : "N",
                             tb ? "T" : "N", alpha, beta);
    tspec a = ta ? SHAPE(k, m) : SHAPE(m, k), b = tb ? SHAPE(n, k) : SHAPE(k, n);
    a.cview = b.cview = views;
    add_in(tc, a);
    add_in(tc, b);
    tc->out_cview[0] = views;
    tc->out_init = beta != 0;
}

static void add_softmax(tspec x, bool log)
{
    clnet_op op = clnet_op_simple(CLNET_OP_SOFTMAX);
    op.u.softmax.log = log;
    test_case *tc = new_case(op, NMSE_ELT, "%s,range=%g..%g", log ? "log" : "plain", x.lo, x.hi);
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
}

static test_case *add_binary(clnet_binary_fn fn, tspec a, tspec b)
{
    clnet_op op = {.kind = CLNET_OP_BINARY};
    op.u.binary.fn = fn;
    test_case *tc = new_case(op, NMSE_EXACT, "%s", fn == CLNET_BINARY_ADD ? "add" : "mul");
    add_in(tc, a);
    add_in(tc, b);
    tc->out_cview[0] = a.cview;
    return tc;
}

static test_case *add_bias_add(tspec x)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_BIAS_ADD), NMSE_EXACT, "%s", "");
    add_in(tc, x);
    add_in(tc, SHAPE(x.dim[1]));
    tc->out_cview[0] = x.cview;
    return tc;
}

static void add_concat(int nin, const tspec *x, bool out_view)
{
    test_case *tc = new_case(clnet_op_simple(CLNET_OP_CONCAT), NMSE_EXACT, "n=%d", nin);
    for (int i = 0; i < nin; i++)
        add_in(tc, x[i]);
    tc->out_cview[0] = out_view;
}

static void add_norm_cases(void)
{
    add_bn(SHAPE(2, 4, 7, 7), 1e-5f);
    add_bn(SHAPE(1, 3, 13, 13), 1e-3f);
    add_bn(SHAPE(4, 16), 1e-5f);
    add_bn(SHAPE(2, 5, 31), 1e-5f);
    add_bn(chview(SHAPE(2, 6, 5, 5)), 1e-5f);
    add_bn(SHAPE(8, 32, 8, 8), 1e-5f);
    /* fused activations, planes of 16 (vector path) and others */
    add_bn_act(SHAPE(8, 32, 8, 8), CLNET_ACT_RELU, 0);
    add_bn_act(SHAPE(2, 4, 7, 7), CLNET_ACT_LEAKY_RELU, 0.1f);
    add_bn_act(chview(SHAPE(2, 6, 4, 4)), CLNET_ACT_RELU6, 0);
    add_bn_act(SHAPE(2, 3, 16, 16), CLNET_ACT_SWISH, 0);
    add_bn_residual(SHAPE(8, 32, 8, 8), true);
    add_bn_residual(SHAPE(2, 4, 7, 7), true);
    add_bn_residual(chview(SHAPE(2, 6, 4, 4)), false);
    /* planes of other sizes go through an image's channels 16 elements at
     * a time: many channels of 2x2 and 1x1, a partial last block */
    add_bn_residual(SHAPE(3, 40, 2, 2), true);
    add_bn_act(SHAPE(2, 33, 3, 3), CLNET_ACT_RELU6, 0);
    add_bn(SHAPE(5, 300, 1, 1), 1e-5f);
    add_bn_stats(SHAPE(2, 4, 7, 7));
    add_bn_stats(SHAPE(8, 16, 8, 8));
    add_bn_stats(SHAPE(4, 3));
    add_bn_stats(SHAPE(1, 3, 1, 1));
    add_bn_stats(SHAPE(3, 5, 31));
    add_bn_stats(ranged(SHAPE(2, 3, 13, 13), FILL_UNIFORM, 100, 101));
    add_bn_stats(chview(SHAPE(2, 6, 5, 5)));
    /* a long channel far from zero (the one-pass shifted sums), many
     * channels of 1x1 and 2x2 planes, planes of 16 plus a tail */
    add_bn_stats(ranged(SHAPE(64, 3, 16, 16), FILL_UNIFORM, 100, 101));
    add_bn_stats(SHAPE(16, 300, 1, 1));
    add_bn_stats(SHAPE(32, 40, 2, 2));
    add_bn_stats(SHAPE(4, 3, 4, 5));
    add_lrn(SHAPE(2, 4, 5, 5), 1, 1, 0.75f, 1);
    add_lrn(SHAPE(2, 7, 5, 5), 3, 1, 0.75f, 1);
    add_lrn(SHAPE(1, 13, 7, 7), 5, 1e-4f, 0.75f, 2);
    add_lrn(SHAPE(1, 13, 7, 7), 5, 1, 0.75f, 1);
    add_lrn(SHAPE(1, 6, 3, 3), 4, 2, 0.5f, 1);
    add_lrn(SHAPE(2, 3, 4, 4), 5, 1, 0.75f, 1);
    add_lrn(chview(SHAPE(2, 8, 5, 5)), 5, 1, 0.75f, 1);
}

static void add_misc_cases(void)
{
    add_dropout(SHAPE(2, 3, 7, 7), 0.5f, 42, true);
    add_dropout(SHAPE(1, 1000), 0.1f, 0x123456789abcdefULL, true);
    add_dropout(SHAPE(4, 31), 0.9f, 7, true);
    add_dropout(SHAPE(2, 13), 0, 7, true);
    add_dropout(SHAPE(2, 3, 7, 7), 0.5f, 42, false);
    add_dropout(SHAPE(3, 5, 7), 0.3f, 99, true)->inplace = true;
    add_dropout(chview(SHAPE(2, 6, 4, 4)), 0.5f, 5, true);

    add_linear(SHAPE(2, 16), 10, 1, false);
    add_linear(SHAPE(1, 1), 1, 1, false);
    add_linear(SHAPE(3, 4, 5, 5), 7, 1, false);
    add_linear(SHAPE(5, 31), 13, 0, false);
    add_linear(SHAPE(4, 64), 32, 2, false);
    add_linear(SHAPE(2, 3, 7, 7), 10, 0, false);
    add_linear(SHAPE(64, 256), 128, 1, false);
    add_linear(chview(SHAPE(2, 8, 3, 3)), 5, 1, true);

    for (int t = 0; t < 4; t++) {
        add_gemm(13, 7, 31, t & 1, t & 2, 1, 0, false);
        add_gemm(7, 13, 3, t & 1, t & 2, -1.5f, 0.5f, false);
    }
    /* clnet's tiled kernel: one thin side, so that transposing the
     * product copies less than transposing an operand, with and without
     * accumulation (beta 1) */
    for (int t = 0; t < 4; t++) {
        add_gemm(5, 70, 60, t & 1, t & 2, 1, 1, false);
        add_gemm(70, 5, 60, t & 1, t & 2, 1, 0, false);
    }
    /* B larger than a CPU's cache (16 MiB): read once by gemm_thin (CPUs
     * with float16 vectors, up to 64 rows), else the product is computed
     * transposed when B would be streamed once per tile of rows */
    add_gemm(30, 2048, 2100, false, false, 1, 1, false);
    /* gemm_thin (B of 12 MiB and more): an odd row count and a partial
     * tile of columns, one row accumulating, views */
    add_gemm(33, 2053, 1600, false, false, 1, 0, false);
    add_gemm(1, 3000, 1200, false, false, 1, 1, false);
    add_gemm(5, 2100, 1600, false, false, 1, 1, true);
    /* transposes wider than a CPU work-item's span of 128 x 128, ragged on
     * every side, and a product whose small B groups its tiles along rows */
    for (int t = 0; t < 4; t++)
        add_gemm(150, 300, 260, t & 1, t & 2, 1, t == 3, false);
    add_gemm(1000, 600, 24, true, false, 1, 0, false);
    add_gemm(1, 1, 1, false, false, 1, 0, false);
    add_gemm(64, 64, 64, false, false, 1, 0, false);
    add_gemm(33, 65, 17, true, false, 0.5f, 2, false);
    add_gemm(128, 96, 200, false, true, 1, 0, false);
    add_gemm(3, 1, 5, true, true, 2, 0.5f, false);
    add_gemm(13, 7, 31, false, false, 1, 1, true);
    /* A B^T as dot products (CPU, float16): views, accumulating, every edge */
    add_gemm(13, 7, 31, false, true, 1, 1, true);
    add_gemm(7, 5, 9, true, true, 1, 0, true);

    add_softmax(SHAPE(2, 10), false);
    add_softmax(SHAPE(1, 1), false);
    add_softmax(SHAPE(3, 1000), false);
    add_softmax(SHAPE(2, 5, 7, 7), false);
    add_softmax(SHAPE(2, 31, 13), false);
    add_softmax(SHAPE(2, 10), true);
    add_softmax(SHAPE(3, 1000), true);
    add_softmax(SHAPE(2, 5, 7, 7), true);
    add_softmax(ranged(SHAPE(4, 31), FILL_UNIFORM, -1e4f, 1e4f), false);
    add_softmax(ranged(SHAPE(4, 31), FILL_UNIFORM, -1e4f, 1e4f), true);
    add_softmax(ranged(SHAPE(4, 13), FILL_UNIFORM, -2e4f, -1e4f), false);
    add_softmax(ranged(SHAPE(4, 13), FILL_UNIFORM, -2e4f, -1e4f), true);
    add_softmax(chview(SHAPE(2, 64, 3, 3)), false);

    add_binary(CLNET_BINARY_ADD, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 7, 7));
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 7, 7));
    add_binary(CLNET_BINARY_ADD, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 1, 1));
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 16, 5, 5), SHAPE(2, 16, 1, 1));
    add_binary(CLNET_BINARY_ADD, SHAPE(3, 13), SHAPE(3, 13));
    add_binary(CLNET_BINARY_ADD, SHAPE(37), SHAPE(37));
    add_binary(CLNET_BINARY_MUL, SHAPE(37), SHAPE(37));
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 4, 9), SHAPE(2, 4, 1));
    add_binary(CLNET_BINARY_ADD, ranged(SHAPE(4, 31), FILL_SPECIAL, -4, 4),
               ranged(SHAPE(4, 31), FILL_SPECIAL, -4, 4));
    add_binary(CLNET_BINARY_MUL, ranged(SHAPE(4, 31), FILL_INFS, -4, 4), SHAPE(4, 31));
    add_binary(CLNET_BINARY_ADD, SHAPE(2, 3, 7, 7), SHAPE(2, 3, 7, 7))->inplace = true;
    add_binary(CLNET_BINARY_MUL, SHAPE(2, 8, 4, 4), SHAPE(2, 8, 1, 1))->inplace = true;
    add_binary(CLNET_BINARY_ADD, chview(SHAPE(2, 5, 4, 4)), chview(SHAPE(2, 5, 4, 4)));
    add_binary(CLNET_BINARY_MUL, chview(SHAPE(2, 5, 4, 4)), SHAPE(2, 5, 1, 1));
    add_binary(CLNET_BINARY_ADD, SHAPE(8, 64, 16, 16), SHAPE(8, 64, 16, 16));
    add_binary(CLNET_BINARY_ADD, SHAPE(2, 4, 4, 4), SHAPE(2, 4, 4, 4))->inplace = true;
    add_binary(CLNET_BINARY_MUL, SHAPE(3, 32), SHAPE(3, 32));

    add_bias_add(SHAPE(2, 3, 7, 7));
    add_bias_add(SHAPE(4, 10));
    add_bias_add(SHAPE(2, 5, 13));
    add_bias_add(SHAPE(2, 8, 4, 4))->inplace = true;
    add_bias_add(chview(SHAPE(2, 6, 3, 3)));

    add_concat(2, (tspec[]){SHAPE(2, 3, 5, 5), SHAPE(2, 4, 5, 5)}, false);
    add_concat(4, (tspec[]){SHAPE(1, 1, 7, 7), SHAPE(1, 2, 7, 7), SHAPE(1, 3, 7, 7),
                            SHAPE(1, 4, 7, 7)}, false);
    add_concat(2, (tspec[]){SHAPE(3, 5), SHAPE(3, 7)}, false);
    add_concat(3, (tspec[]){SHAPE(2, 3, 13), SHAPE(2, 1, 13), SHAPE(2, 2, 13)}, false);
    add_concat(2, (tspec[]){chview(SHAPE(2, 3, 4, 4)), chview(SHAPE(2, 5, 4, 4))}, true);
    add_concat(4, (tspec[]){SHAPE(2, 2, 3, 3), chview(SHAPE(2, 1, 3, 3)), SHAPE(2, 3, 3, 3),
                            chview(SHAPE(2, 2, 3, 3))}, true);
}

/* Adaptive average pooling to oh x ow (ow alone for 1-D x), forward and
 * gradient. */
static void add_adaptive_pool(tspec x, int oh, int ow)
{
    clnet_op op = {.kind = CLNET_OP_POOL};
    op.u.pool = (clnet_pool_params){.mode = CLNET_POOL_AVG, .adaptive = true, .out_size = {oh, ow}};
    test_case *tc = new_case(op, NMSE_ELT, "avg,adaptive,out=%dx%d", oh, ow);
    add_in(tc, x);
    tc->out_cview[0] = x.cview;
    tspec dy = forward_output(op, 1, &x);
    dy.cview = x.cview;
    op.kind = CLNET_OP_POOL_BACKWARD;
    tc = new_case(op, NMSE_ELT, "avg,adaptive,out=%dx%d", oh, ow);
    add_in(tc, x);
    add_in(tc, dy);
    tc->out_cview[0] = x.cview;
}

/* x (N, ...) against m centres of its image size. */
static void add_rbf(tspec x, int64_t m, bool out_view)
{
    test_case *tc = new_case((clnet_op){.kind = CLNET_OP_RBF}, NMSE_SUM, "m=%lld", (long long)m);
    int64_t f = 1;
    for (int i = 1; i < x.ndim; i++)
        f *= x.dim[i];
    add_in(tc, x);
    add_in(tc, SHAPE(m, f));
    tc->out_cview[0] = out_view;
}

/* RBF's gradients for x (N, ...) and m centres: dx alone (fixed centres)
 * or with dw. */
static void add_rbf_backward(tspec x, int64_t m, bool dw, bool out_view)
{
    test_case *tc = new_case((clnet_op){.kind = CLNET_OP_RBF_BACKWARD}, NMSE_SUM, "m=%lld,%s",
                             (long long)m, dw ? "dx,dw" : "dx");
    int64_t f = 1;
    for (int i = 1; i < x.ndim; i++)
        f *= x.dim[i];
    add_in(tc, x);
    add_in(tc, SHAPE(x.dim[0], m));
    add_in(tc, SHAPE(m, f));
    tc->nout = dw ? 2 : 1;
    tc->out_cview[0] = out_view;
}

/* ShuffleNet's channel shuffle; groups C/G undoes groups G (its gradient). */
static void add_channel_shuffle(tspec x, int groups, bool out_view)
{
    clnet_op op = {.kind = CLNET_OP_CHANNEL_SHUFFLE, .u.shuffle.groups = groups};
    test_case *tc = new_case(op, NMSE_EXACT, "groups=%d", groups);
    add_in(tc, x);
    tc->out_cview[0] = out_view;
}

/* The ops the classic nets of the zoo brought in: torchvision's adaptive
 * pooling before the classifier of AlexNet and VGG (overlapping and uneven
 * windows, outputs larger than the input as on 32x32 images, 1-D, views),
 * and LeNet-5's Euclidean RBF output (its 84 -> 10 included) with its
 * gradients. */
static void add_zoo_cases(void)
{
    add_adaptive_pool(SHAPE(2, 3, 7, 7), 3, 3);
    add_adaptive_pool(SHAPE(1, 4, 13, 11), 6, 4);
    add_adaptive_pool(SHAPE(1, 16, 14, 14), 7, 7);
    add_adaptive_pool(SHAPE(1, 8, 6, 6), 6, 6);
    add_adaptive_pool(SHAPE(2, 5, 1, 1), 7, 7);
    add_adaptive_pool(SHAPE(1, 3, 2, 3), 5, 7);
    add_adaptive_pool(SHAPE(2, 3, 13), 1, 5);
    add_adaptive_pool(chview(SHAPE(2, 4, 9, 9)), 4, 4);
    add_rbf(SHAPE(2, 84), 10, false);
    add_rbf(SHAPE(1, 1), 1, false);
    add_rbf(SHAPE(3, 4, 5, 5), 7, false);
    add_rbf(SHAPE(4, 256), 64, false);
    add_rbf(ranged(SHAPE(4, 31), FILL_SPECIAL, -4, 4), 13, false);
    add_rbf(chview(SHAPE(2, 8, 3, 3)), 5, true);
    add_rbf_backward(SHAPE(2, 84), 10, false, false);
    add_rbf_backward(SHAPE(64, 84), 10, true, false);
    add_rbf_backward(SHAPE(1, 1), 1, true, false);
    add_rbf_backward(SHAPE(3, 4, 5, 5), 7, true, false);
    add_rbf_backward(SHAPE(5, 31), 13, true, false);
    add_rbf_backward(chview(SHAPE(2, 8, 3, 3)), 5, true, true);
    add_channel_shuffle(SHAPE(2, 6, 5, 7), 2, false);
    add_channel_shuffle(SHAPE(1, 12, 3, 3), 3, false);
    add_channel_shuffle(SHAPE(3, 58, 7, 7), 29, false);
    add_channel_shuffle(SHAPE(2, 8, 13), 4, false);
    add_channel_shuffle(SHAPE(2, 5, 1, 1), 1, false);
    add_channel_shuffle(chview(SHAPE(2, 8, 3, 3)), 2, true);
}

void add_forward_cases(void)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        add_conv(&conv_cases[i]);
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        if (!(conv_cases[i].flags & TRANSPOSE))
            add_conv_forced(&conv_cases[i]);
        else
            add_conv_transpose_forced(&conv_cases[i]);
    for (size_t i = 0; i < sizeof rows_cases / sizeof rows_cases[0]; i++) {
        add_conv(&rows_cases[i]);
        add_conv_forced(&rows_cases[i]);
    }
    add_conv_fused_cases();
    add_conv_large_image_case();
    for_each_pool_case(add_pool);
    add_unpool(CLNET_OP_UNPOOL, 2, 3, 4, 4, 8, 8, 2, 2, 0);
    add_unpool(CLNET_OP_UNPOOL, 1, 4, 7, 7, 13, 13, 3, 2, 1);
    add_unpool(CLNET_OP_UNPOOL, 2, 2, 3, 3, 7, 7, 2, 2, 0);
    add_unpool(CLNET_OP_UNPOOL, 2, 2, 5, 5, 6, 6, 0, 0, 0);
    add_unpool(CLNET_OP_UNPOOL, 1, 16, 14, 14, 28, 28, 2, 2, 0);
    add_act_cases();
    add_norm_cases();
    add_misc_cases();
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        if (!(conv_cases[i].flags & TRANSPOSE))
            add_conv_backward(&conv_cases[i]);
    for (size_t i = 0; i < sizeof wgrad3x3_cases / sizeof wgrad3x3_cases[0]; i++)
        add_conv_backward_as(&wgrad3x3_cases[i], CLNET_CONV_ALGO_DIRECT_3X3, "algo=direct_3x3,");
    for (size_t i = 0; i < sizeof rows_cases / sizeof rows_cases[0]; i++) {
        add_conv_backward_as(&rows_cases[i], CLNET_CONV_ALGO_AUTO, "");
        add_conv_backward_as(&rows_cases[i], CLNET_CONV_ALGO_DIRECT_ROWS, "algo=direct_rows,");
    }
    for (size_t i = 0; i < sizeof wgrad_winograd_cases / sizeof wgrad_winograd_cases[0]; i++) {
        add_conv_backward_as(&wgrad_winograd_cases[i], CLNET_CONV_ALGO_AUTO, "");
        add_conv_backward_as(&wgrad_winograd_cases[i], CLNET_CONV_ALGO_WINOGRAD, "algo=winograd,");
        add_conv_backward_as(&wgrad_winograd_cases[i], CLNET_CONV_ALGO_WINOGRAD_4X4,
                             "algo=winograd_4x4,");
    }
    for_each_pool_case(add_pool_backward);
    for_each_pool_case(add_pool_backward_argmax);
    add_pool_backward_argmax_as(&pool_cases[0], true);
    add_pool_backward_argmax_as(&pool_cases[1], true);
    /* windows narrower than their stride: an index between two windows */
    add_pool_backward_argmax_as(&pool_cases[sizeof pool_cases / sizeof pool_cases[0] - 1], true);
    /* overlapping windows over many planes (a CPU's plane per work-item) */
    static const pool_case many_planes = {2, 24, 16, 16, CLNET_POOL_MAX, {3, 3}, {2, 2},
                                          {1, 1, 1, 1}, .flags = PF_ARGMAX};
    add_pool_backward_argmax_as(&many_planes, true);
    add_unpool(CLNET_OP_UNPOOL_BACKWARD, 2, 3, 4, 4, 8, 8, 2, 2, 0);
    add_unpool(CLNET_OP_UNPOOL_BACKWARD, 1, 4, 7, 7, 13, 13, 3, 2, 1);
    add_unpool(CLNET_OP_UNPOOL_BACKWARD, 2, 2, 5, 5, 6, 6, 0, 0, 0);
    add_act_backward_cases();
    add_zoo_cases();
}

/* test_known_values.c - every op family against values worked out by hand,
 * on every device of the registry; an op a device does not support is a skip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/geometry.h"
#include "testutil.h"

/* A tensor of a case. For an input, `f` or `i` is its contents; for an
 * output, the expected result, and `init` (if any) what it holds before the
 * op runs. Outputs without `init` start as NaN (F32) or -7 (I32), so an
 * element the op forgets to write fails, and GEMM with beta == 0 shows that
 * it does not read y. */
typedef struct spec {
    int ndim;
    int64_t shape[4];
    const float *f;
    const int32_t *i;
    const float *init;
} spec;

typedef struct kv_case {
    const char *name;
    clnet_op op;
    int nin, nout;
    spec in[5];
    spec out[2];
    bool in_place;   /* out[0] is the tensor of in[0] */
} kv_case;

#define S1(a) .ndim = 1, .shape = {a}
#define S2(a, b) .ndim = 2, .shape = {a, b}
#define S3(a, b, c) .ndim = 3, .shape = {a, b, c}
#define S4(a, b, c, d) .ndim = 4, .shape = {a, b, c, d}
#define F(...) ((const float[]){__VA_ARGS__})
#define I(...) ((const int32_t[]){__VA_ARGS__})

#define CONV(s, p, d, g) \
    {.kind = CLNET_OP_CONV, .u.conv = {{s, s}, {p, p}, {p, p}, {d, d}, g, {0, 0}}}
#define TCONV(s, p, opad, d, g) \
    {.kind = CLNET_OP_CONV_TRANSPOSE, .u.conv = {{s, s}, {p, p}, {p, p}, {d, d}, g, {opad, opad}}}
#define POOL(mode, k, s, p, ceil, include_pad) \
    {.kind = CLNET_OP_POOL,                                                   \
     .u.pool = {mode, {k, k}, {s, s}, {p, p}, {p, p}, ceil, include_pad, false}}
#define GLOBAL_POOL(m) {.kind = CLNET_OP_POOL, .u.pool = {.mode = m, .global = true}}
#define ADAPTIVE_POOL(oh, ow) \
    {.kind = CLNET_OP_POOL,   \
     .u.pool = {.mode = CLNET_POOL_AVG, .adaptive = true, .out_size = {oh, ow}}}
#define ACT(fn, alpha) {.kind = CLNET_OP_ACTIVATION, .u.act = {fn, alpha}}
#define GEMM(ta, tb, alpha, beta) {.kind = CLNET_OP_GEMM, .u.gemm = {ta, tb, alpha, beta}}
#define SIMPLE(kind_) {.kind = kind_}

/* The 4x4 image 1..16 (x[i][j] = 4i + j + 1) and the 3x3 kernel 1..9
 * (w[a][b] = 3a + b + 1): neither symmetric under flips nor transposes, so
 * convolution-vs-correlation and row/column mix-ups change the results. */
static const float X16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const float NEG16[16] = {-1, -2, -3, -4, -5, -6, -7, -8,
                                -9, -10, -11, -12, -13, -14, -15, -16};
static const float W9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
/* The 5x5 image 1..25 (x[i][j] = 5i + j + 1). */
static const float X25[25] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                              14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25};
/* Activation inputs: both sides of every kink (0, -3, 3, 6). */
static const float ACT_X[8] = {-4, -1, -0.5f, 0, 0.5f, 1, 4, 7};

static const kv_case conv_cases[] = {
    /* y[0][0] = 1*1 + 2*2 + 3*3 + 4*5 + 5*6 + 6*7 + 7*9 + 8*10 + 9*11 = 348;
     * one step right adds sum(w) = 45, one step down 4*45 = 180; bias 0.5. */
    {"conv 3x3 bias", CONV(1, 0, 1, 1), 3, 1,
     {{S4(1, 1, 4, 4), .f = X16}, {S4(1, 1, 3, 3), .f = W9}, {S1(1), .f = F(0.5f)}},
     {{S4(1, 1, 2, 2), .f = F(348.5f, 393.5f, 528.5f, 573.5f)}}, false},
    /* Padding 1 keeps 4x4; the corners see a 2x2 patch of x:
     * y[0][0] = 5*1 + 6*2 + 8*5 + 9*6 = 111, y[0][3] = 4*3 + 5*4 + 7*7 + 8*8 = 145,
     * y[3][0] = 2*9 + 3*10 + 5*13 + 6*14 = 197, y[3][3] = 1*11 + 2*12 + 4*15 + 5*16 = 175;
     * edges a 2x3 patch: y[0][1] = 4*1 + 5*2 + 6*3 + 7*5 + 8*6 + 9*7 = 178;
     * the inner 2x2 is the unpadded result. */
    {"conv 3x3 pad 1", CONV(1, 1, 1, 1), 2, 1,
     {{S4(1, 1, 4, 4), .f = X16}, {S4(1, 1, 3, 3), .f = W9}},
     {{S4(1, 1, 4, 4), .f = F(111, 178, 217, 145, 231, 348, 393, 252,
                          363, 528, 573, 360, 197, 274, 295, 175)}}, false},
    /* Stride 2 keeps rows/columns 0 and 2 of the padded result above. */
    {"conv 3x3 stride 2 pad 1", CONV(2, 1, 1, 1), 2, 1,
     {{S4(1, 1, 4, 4), .f = X16}, {S4(1, 1, 3, 3), .f = W9}},
     {{S4(1, 1, 2, 2), .f = F(111, 217, 363, 573)}}, false},
    /* Dilation 2, pad 1: OH = (4 + 2 - 5) + 1 = 2. The taps of y[0][0] sit at
     * rows/cols -1, 1, 3; inside: x[1][1]=6, x[1][3]=8, x[3][1]=14, x[3][3]=16
     * under w 5, 6, 8, 9: 30 + 48 + 112 + 144 = 334. y[0][1] (cols 0, 2, 4):
     * w 4, 5, 7, 8 on x 5, 7, 13, 15: 20 + 35 + 91 + 120 = 266. y[1][0] (rows
     * 0, 2, 4): w 2, 3, 5, 6 on x 2, 4, 10, 12: 4 + 12 + 50 + 72 = 138.
     * y[1][1]: w 1, 2, 4, 5 on x 1, 3, 9, 11: 1 + 6 + 36 + 55 = 98. */
    {"conv 3x3 dilation 2 pad 1", CONV(1, 1, 2, 1), 2, 1,
     {{S4(1, 1, 4, 4), .f = X16}, {S4(1, 1, 3, 3), .f = W9}},
     {{S4(1, 1, 2, 2), .f = F(334, 266, 138, 98)}}, false},
    /* Kernel [[1,2],[3,4]], padding top 1, left 0, bottom 0, right 1: OH = OW = 4.
     * Row 0 sees only x row 0 under w row 1: y[0][j] = 3x[0][j] + 4x[0][j+1]:
     * 3+8 = 11, 6+12 = 18, 9+16 = 25, 12+0 = 12. Below: y[i][j] = x[i-1][j] +
     * 2x[i-1][j+1] + 3x[i][j] + 4x[i][j+1]: y[1][0] = 1+4+15+24 = 44,
     * y[1][3] = 4+0+24+0 = 28, y[3][3] = 12+48 = 60. */
    {"conv 2x2 asymmetric pad",
     {.kind = CLNET_OP_CONV, .u.conv = {{1, 1}, {1, 0}, {0, 1}, {1, 1}, 1, {0, 0}}}, 2, 1,
     {{S4(1, 1, 4, 4), .f = X16}, {S4(1, 1, 2, 2), .f = F(1, 2, 3, 4)}},
     {{S4(1, 1, 4, 4), .f = F(11, 18, 25, 12, 44, 54, 64, 28, 84, 94, 104, 44,
                          124, 134, 144, 60)}}, false},
    /* Depthwise: channel 0 = 1..9 under [[1,0],[0,2]] (x[i][j] + 2x[i+1][j+1]):
     * 1+10, 2+12, 4+16, 5+18 = 11, 14, 20, 23, bias +1. Channel 1 = 9..1 under
     * [[0,1],[2,0]] (x[i][j+1] + 2x[i+1][j]): 8+12, 7+10, 5+6, 4+4 = 20, 17, 11, 8,
     * bias -1. */
    {"conv depthwise 2x2", CONV(1, 0, 1, 2), 3, 1,
     {{S4(1, 2, 3, 3), .f = F(1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
      {S4(2, 1, 2, 2), .f = F(1, 0, 0, 2, 0, 1, 2, 0)}, {S1(2), .f = F(1, -1)}},
     {{S4(1, 2, 2, 2), .f = F(12, 15, 21, 24, 19, 16, 10, 7)}}, false},
    /* Groups 2, C 4 -> K 2, 1x1: y0 = 1*x0 + 2*x1, y1 = 3*x2 + 4*x3, bias
     * +-0.5. Image 0 x = 1, 10, 100, 1000: 21, 4300; image 1 is twice that. */
    {"conv grouped 1x1 batch 2", CONV(1, 0, 1, 2), 3, 1,
     {{S4(2, 4, 1, 1), .f = F(1, 10, 100, 1000, 2, 20, 200, 2000)},
      {S4(2, 2, 1, 1), .f = F(1, 2, 3, 4)}, {S1(2), .f = F(0.5f, -0.5f)}},
     {{S4(2, 2, 1, 1), .f = F(21.5f, 4299.5f, 42.5f, 8599.5f)}}, false},
    /* 1-D, x = 1..5, w = [1, 0, -1], stride 2, pad 1: OW = (5+2-3)/2 + 1 = 3.
     * Taps at -1..1: 0 - 2 = -2; 1..3: 2 - 4 = -2; 3..5: 4 - 0 = 4. */
    {"conv 1-D stride 2 pad 1",
     {.kind = CLNET_OP_CONV, .u.conv = {{1, 2}, {0, 1}, {0, 1}, {1, 1}, 1, {0, 0}}}, 2, 1,
     {{S3(1, 1, 5), .f = F(1, 2, 3, 4, 5)}, {S3(1, 1, 3), .f = F(1, 0, -1)}},
     {{S3(1, 1, 3), .f = F(-2, -2, 4)}}, false},
    /* x = [[1,2],[3,4]] scatters x[i][j] * w into y[2i.., 2j..], OH = 1*2 + 3 = 5:
     * y[0] = 1*(1,2,3) then 2*(1,2,3) from column 2: 1, 2, 3+2, 4, 6. Row 2
     * overlaps all four: y[2][2] = 1*9 + 2*7 + 3*3 + 4*1 = 36. */
    {"conv_transpose 3x3 stride 2", TCONV(2, 0, 0, 1, 1), 2, 1,
     {{S4(1, 1, 2, 2), .f = F(1, 2, 3, 4)}, {S4(1, 1, 3, 3), .f = W9}},
     {{S4(1, 1, 5, 5), .f = F(1, 2, 5, 4, 6, 4, 5, 14, 10, 12, 10, 14, 36, 24, 30,
                          12, 15, 34, 20, 24, 21, 24, 55, 32, 36)}}, false},
    /* Pad 1 crops one row/column from each side of the 5x5 above (3x3), and
     * output_padding 1 gives back the last: OH = 2 - 2 + 2 + 1 + 1 = 4, rows
     * and columns 1..4 of the 5x5. */
    {"conv_transpose 3x3 stride 2 pad 1 outpad 1", TCONV(2, 1, 1, 1, 1), 2, 1,
     {{S4(1, 1, 2, 2), .f = F(1, 2, 3, 4)}, {S4(1, 1, 3, 3), .f = W9}},
     {{S4(1, 1, 4, 4), .f = F(5, 14, 10, 12, 14, 36, 24, 30, 15, 34, 20, 24,
                          24, 55, 32, 36)}}, false},
    /* Weights (C, K/groups): input channel 0 feeds outputs 0, 1 with 1, 2;
     * channel 1 feeds outputs 2, 3 with 3, 4. x = 10, 100: 10, 20, 300, 400. */
    {"conv_transpose grouped 1x1 bias", TCONV(1, 0, 0, 1, 2), 3, 1,
     {{S4(1, 2, 1, 1), .f = F(10, 100)}, {S4(2, 2, 1, 1), .f = F(1, 2, 3, 4)},
      {S1(4), .f = F(0.5f, 0.5f, -0.5f, -0.5f)}},
     {{S4(1, 4, 1, 1), .f = F(10.5f, 20.5f, 299.5f, 399.5f)}}, false},
    /* 1-D, dilation 2: y[i + 2t] += x[i] w[t], OW = 1 + 2 + 1 = 4:
     * x = 1, 2, w = 1, 10: 1, 2, 10, 20. */
    {"conv_transpose 1-D dilation 2",
     {.kind = CLNET_OP_CONV_TRANSPOSE, .u.conv = {{1, 1}, {0, 0}, {0, 0}, {1, 2}, 1, {0, 0}}},
     2, 1, {{S3(1, 1, 2), .f = F(1, 2)}, {S3(1, 1, 2), .f = F(1, 10)}},
     {{S3(1, 1, 4), .f = F(1, 2, 10, 20)}}, false},
};

static const kv_case pool_cases[] = {
    /* Each 2x2 block's maximum is its bottom-right element, flat 4i + j. */
    {"max pool 2x2 stride 2 + argmax", POOL(CLNET_POOL_MAX, 2, 2, 0, false, true), 1, 2,
     {{S4(1, 1, 4, 4), .f = X16}},
     {{S4(1, 1, 2, 2), .f = F(6, 8, 14, 16)}, {S4(1, 1, 2, 2), .i = I(5, 7, 13, 15)}}, false},
    /* All inputs negative: the zero padding must never win. Windows rows
     * {0,1}/{1,2,3} x cols {0,1}/{1,2,3}: maxima -1, -2, -5, -6 (top-left). */
    {"max pool 3x3 stride 2 pad 1 negative", POOL(CLNET_POOL_MAX, 3, 2, 1, false, true), 1, 2,
     {{S4(1, 1, 4, 4), .f = NEG16}},
     {{S4(1, 1, 2, 2), .f = F(-1, -2, -5, -6)}, {S4(1, 1, 2, 2), .i = I(0, 1, 4, 5)}}, false},
    /* 5x5, ceil mode: OH = ceil(3/2) + 1 = 3, the last window holds row/col 4 only. */
    {"max pool 2x2 stride 2 ceil", POOL(CLNET_POOL_MAX, 2, 2, 0, true, true), 1, 2,
     {{S4(1, 1, 5, 5), .f = X25}},
     {{S4(1, 1, 3, 3), .f = F(7, 9, 10, 17, 19, 20, 22, 24, 25)},
      {S4(1, 1, 3, 3), .i = I(6, 8, 9, 16, 18, 19, 21, 23, 24)}}, false},
    /* Ties go to the first: [2,2] -> index 0, [1,1] -> index 2. */
    {"max pool 1-D ties",
     {.kind = CLNET_OP_POOL, .u.pool = {CLNET_POOL_MAX, {1, 2}, {1, 2}, {0, 0}, {0, 0}, false,
                                        true, false}}, 1, 2,
     {{S3(1, 1, 4), .f = F(2, 2, 1, 1)}},
     {{S3(1, 1, 2), .f = F(2, 1)}, {S3(1, 1, 2), .i = I(0, 2)}}, false},
    /* Channel 0 = 3, 7, 7, 1: 7 at the first of two places (1); channel 1 =
     * -5, -2, -9, -3: -2 at 1. */
    {"global max pool", GLOBAL_POOL(CLNET_POOL_MAX), 1, 2,
     {{S4(1, 2, 2, 2), .f = F(3, 7, 7, 1, -5, -2, -9, -3)}},
     {{S4(1, 2, 1, 1), .f = F(7, -2)}, {S4(1, 2, 1, 1), .i = I(1, 1)}}, false},
    /* Windows rows {0,1}/{1,2,3} x cols {0,1}/{1,2,3} of 1..16; sums
     * 1+2+5+6 = 14, 2+3+4+6+7+8 = 30, 5+6+9+10+13+14 = 57, 99; every window
     * counts 9 with padding, 4, 6, 6, 9 without. */
    {"avg pool 3x3 stride 2 pad 1 include pad", POOL(CLNET_POOL_AVG, 3, 2, 1, false, true), 1, 1,
     {{S4(1, 1, 4, 4), .f = X16}},
     {{S4(1, 1, 2, 2), .f = F(14.0f / 9, 30.0f / 9, 57.0f / 9, 11)}}, false},
    {"avg pool 3x3 stride 2 pad 1 exclude pad", POOL(CLNET_POOL_AVG, 3, 2, 1, false, false), 1, 1,
     {{S4(1, 1, 4, 4), .f = X16}},
     {{S4(1, 1, 2, 2), .f = F(3.5f, 5, 9.5f, 11)}}, false},
    /* Ceil mode adds a third window starting at 3 (rows {3} of the input,
     * 3..4 of the padded input, 5 = 4 + pad_end being the clip): it counts 2
     * per axis with padding, 1 without. Sums: row/col sets {0,1},{1,2,3},{3}:
     * 14, 30, 12 | 57, 99, 36 | 27, 45, 16. Divisors with padding 9 9 6 | 9 9 6 |
     * 6 6 4; without 4 6 2 | 6 9 3 | 2 3 1. */
    {"avg pool 3x3 stride 2 pad 1 ceil include pad", POOL(CLNET_POOL_AVG, 3, 2, 1, true, true),
     1, 1, {{S4(1, 1, 4, 4), .f = X16}},
     {{S4(1, 1, 3, 3), .f = F(14.0f / 9, 30.0f / 9, 2, 57.0f / 9, 11, 6, 4.5f, 7.5f, 4)}}, false},
    {"avg pool 3x3 stride 2 pad 1 ceil exclude pad", POOL(CLNET_POOL_AVG, 3, 2, 1, true, false),
     1, 1, {{S4(1, 1, 4, 4), .f = X16}},
     {{S4(1, 1, 3, 3), .f = F(3.5f, 5, 6, 9.5f, 11, 12, 13.5f, 15, 16)}}, false},
    /* 5x5, 2x2 stride 2 ceil, no padding: the edge windows are clipped to the
     * input either way: (1+2+6+7)/4 = 4, (5+10)/2 = 7.5, 25/1. */
    {"avg pool 2x2 stride 2 ceil", POOL(CLNET_POOL_AVG, 2, 2, 0, true, true), 1, 1,
     {{S4(1, 1, 5, 5), .f = X25}},
     {{S4(1, 1, 3, 3), .f = F(4, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25)}}, false},
    /* (1+2+3+4)/4 = 2.5, (10+20+30+41)/4 = 25.25. */
    {"global avg pool batch 2", GLOBAL_POOL(CLNET_POOL_AVG), 1, 1,
     {{S4(2, 1, 2, 2), .f = F(1, 2, 3, 4, 10, 20, 30, 41)}},
     {{S4(2, 1, 1, 1), .f = F(2.5f, 25.25f)}}, false},
    /* 5 -> 3: rows (and columns) {0, 1}, {1, 2, 3}, {3, 4}, overlapping, with
     * means 0.5, 2, 3.5; x = 5i + j + 1 averages to 5 mean(i) + mean(j) + 1. */
    {"adaptive avg pool 5x5 -> 3x3", ADAPTIVE_POOL(3, 3), 1, 1, {{S4(1, 1, 5, 5), .f = X25}},
     {{S4(1, 1, 3, 3), .f = F(4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22)}}, false},
    /* 2 -> 3: rows {0}, {0, 1}, {1}: the middle row and column average two. */
    {"adaptive avg pool 2x2 -> 3x3", ADAPTIVE_POOL(3, 3), 1, 1,
     {{S4(1, 1, 2, 2), .f = F(1, 2, 3, 4)}},
     {{S4(1, 1, 3, 3), .f = F(1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4)}}, false},
    /* Sums of squares of the 2x2 blocks of 1..16: 1+4+25+36 = 66,
     * 9+16+49+64 = 138, 81+100+169+196 = 546, 121+144+225+256 = 746. */
    {"l2 pool 2x2 stride 2", POOL(CLNET_POOL_L2, 2, 2, 0, false, true), 1, 1,
     {{S4(1, 1, 4, 4), .f = X16}},
     {{S4(1, 1, 2, 2), .f = F(8.124038f, 11.74734f, 23.36664f, 27.313f)}}, false},
    /* Channel 0: sqrt(1 + 4 + 4 + 16) = 5; channel 1 is all zero. */
    {"global l2 pool", GLOBAL_POOL(CLNET_POOL_L2), 1, 1,
     {{S4(1, 2, 2, 2), .f = F(1, -2, 2, 4, 0, 0, 0, 0)}}, {{S4(1, 2, 1, 1), .f = F(5, 0)}},
     false},
    /* Windows (3, 4) and (0, 0): y = 5 and 0. dx = dy x / y = 10 * 3/5, 10 * 4/5
     * in the first, and 0 where y = 0 (as PyTorch). */
    {"l2 pool gradient, zero window",
     {.kind = CLNET_OP_POOL_BACKWARD, .u.pool = {CLNET_POOL_L2, {1, 2}, {1, 2}, {0, 0}, {0, 0},
                                                 false, true, false}}, 2, 1,
     {{S3(1, 1, 4), .f = F(3, 4, 0, 0)}, {S3(1, 1, 2), .f = F(10, 7)}},
     {{S3(1, 1, 4), .f = F(6, 8, 0, 0)}}, false},
    /* The inverse of the first max-pool case: maxima back at 5, 7, 13, 15. */
    {"unpool", {.kind = CLNET_OP_UNPOOL, .u.unpool = {4, 4}}, 2, 1,
     {{S4(1, 1, 2, 2), .f = F(6, 8, 14, 16)}, {S4(1, 1, 2, 2), .i = I(5, 7, 13, 15)}},
     {{S4(1, 1, 4, 4), .f = F(0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16)}}, false},
    /* Two values routed to 5 add up: 1 + 2 = 3. */
    {"unpool overlapping", {.kind = CLNET_OP_UNPOOL, .u.unpool = {4, 4}}, 2, 1,
     {{S4(1, 1, 2, 2), .f = F(1, 2, 3, 4)}, {S4(1, 1, 2, 2), .i = I(5, 5, 0, 15)}},
     {{S4(1, 1, 4, 4), .f = F(3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4)}}, false},
};

/* Activations at ACT_X = -4, -1, -0.5, 0, 0.5, 1, 4, 7. With e^-0.5 =
 * 0.60653066, e^-1 = 0.36787944, e^-4 = 0.01831564, e^-7 = 0.00091188:
 * sigmoid(0.5) = 1/1.60653066 = 0.62245933, sigmoid(1) = 1/1.36787944 =
 * 0.73105858, sigmoid(4) = 1/1.01831564 = 0.98201379, sigmoid(7) =
 * 0.99908895, sigmoid(-x) = 1 - sigmoid(x). tanh(x) = 2 sigmoid(2x) - 1:
 * tanh(0.5) = 0.46211716, tanh(1) = 0.76159416, tanh(4) = 0.99932930,
 * tanh(7) = 0.99999834. swish = x sigmoid(x): -4*0.01798621 = -0.07194484,
 * 4*0.98201379 = 3.9280552, 7*0.99908895 = 6.9936226. hard_swish = x (x+3)/6
 * inside [-3, 3]: -1*2/6, -0.5*2.5/6 = -0.20833333, 0.5*3.5/6 = 0.29166667.
 * lecun_tanh = 1.7159 tanh(2x/3) with tanh(1/3) = 0.32151274, tanh(2/3) =
 * 0.58278295, tanh(8/3) = 0.99039049, tanh(14/3) = 0.99982316: 0.55168371,
 * 0.99999726 (f(1) = 1 is what the constants were chosen for), 1.699411,
 * 1.7155966, odd. */
static const kv_case act_cases[] = {
    {"relu", ACT(CLNET_ACT_RELU, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(0, 0, 0, 0, 0.5f, 1, 4, 7)}}, false},
    {"relu in place", ACT(CLNET_ACT_RELU, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(0, 0, 0, 0, 0.5f, 1, 4, 7)}}, true},
    {"leaky relu 0.1", ACT(CLNET_ACT_LEAKY_RELU, 0.1f), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(-0.4f, -0.1f, -0.05f, 0, 0.5f, 1, 4, 7)}}, false},
    {"relu6", ACT(CLNET_ACT_RELU6, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(0, 0, 0, 0, 0.5f, 1, 4, 6)}}, false},
    {"sigmoid", ACT(CLNET_ACT_SIGMOID, 0), 1, 1, {{S2(2, 4), .f = ACT_X}},
     {{S2(2, 4), .f = F(0.01798621f, 0.26894142f, 0.37754067f, 0.5f, 0.62245933f, 0.73105858f,
                    0.98201379f, 0.99908895f)}}, false},
    {"tanh", ACT(CLNET_ACT_TANH, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(-0.99932930f, -0.76159416f, -0.46211716f, 0, 0.46211716f, 0.76159416f,
                 0.99932930f, 0.99999834f)}}, false},
    {"swish", ACT(CLNET_ACT_SWISH, 0), 1, 1, {{S4(2, 2, 1, 2), .f = ACT_X}},
     {{S4(2, 2, 1, 2), .f = F(-0.07194484f, -0.26894142f, -0.18877033f, 0, 0.31122967f,
                          0.73105858f, 3.9280552f, 6.9936226f)}}, false},
    {"hard swish", ACT(CLNET_ACT_HARD_SWISH, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(0, -1.0f / 3, -0.20833333f, 0, 0.29166667f, 2.0f / 3, 4, 7)}}, false},
    {"hard sigmoid", ACT(CLNET_ACT_HARD_SIGMOID, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(0, 1.0f / 3, 2.5f / 6, 0.5f, 3.5f / 6, 4.0f / 6, 1, 1)}}, false},
    {"lecun tanh", ACT(CLNET_ACT_LECUN_TANH, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(-1.699411f, -0.99999726f, -0.55168371f, 0, 0.55168371f, 0.99999726f,
                 1.699411f, 1.7155966f)}}, false},
    {"scale 0.25", ACT(CLNET_ACT_SCALE, 0.25f), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(-1, -0.25f, -0.125f, 0, 0.125f, 0.25f, 1, 1.75f)}}, false},
    /* x Phi(x) with Phi(0.5) = 0.69146246, Phi(1) = 0.84134475, Phi(4) =
     * 0.99996833, Phi(-x) = 1 - Phi(x), Phi(7) = 1 - 1.3e-12 */
    {"gelu", ACT(CLNET_ACT_GELU, 0), 1, 1, {{S1(8), .f = ACT_X}},
     {{S1(8), .f = F(-0.00012668497f, -0.15865525f, -0.15426877f, 0, 0.34573123f, 0.84134475f,
                 3.9998733f, 7)}}, false},
};

/* softmax(1, 2, 3): e^(x-3) = 0.13533528, 0.36787944, 1, sum 1.50321472:
 * 0.09003057, 0.24472847, 0.66524096. log-softmax = x - 3 - ln(1.50321472)
 * = x - 3.40760596. Equal inputs give 1/3 each; a shift by 1000 changes
 * nothing (the maximum is subtracted first). */
static const kv_case softmax_cases[] = {
    {"softmax", SIMPLE(CLNET_OP_SOFTMAX), 1, 1, {{S2(1, 3), .f = F(1, 2, 3)}},
     {{S2(1, 3), .f = F(0.09003057f, 0.24472847f, 0.66524096f)}}, false},
    {"softmax over channels, spatial 2, batch 2", SIMPLE(CLNET_OP_SOFTMAX), 1, 1,
     {{S4(2, 3, 1, 2), .f = F(1, 0, 2, 0, 3, 0, 1001, -1, 1002, -1, 1003, -1)}},
     {{S4(2, 3, 1, 2), .f = F(0.09003057f, 1.0f / 3, 0.24472847f, 1.0f / 3, 0.66524096f, 1.0f / 3,
                          0.09003057f, 1.0f / 3, 0.24472847f, 1.0f / 3, 0.66524096f, 1.0f / 3)}},
     false},
    {"log-softmax", {.kind = CLNET_OP_SOFTMAX, .u.softmax = {true}}, 1, 1,
     {{S2(1, 3), .f = F(1, 2, 3)}},
     {{S2(1, 3), .f = F(-2.40760596f, -1.40760596f, -0.40760596f)}}, false},
};

static const kv_case norm_cases[] = {
    /* mean 1, -2; var 3.99, 0.24; gamma 2, -1; beta 0.5, 3. var + eps = 4 and
     * 0.25, so the scales are 2/2 = 1 and -1/0.5 = -2: channel 0 y = (x - 1) + 0.5,
     * channel 1 y = -2(x + 2) + 3. */
    {"batchnorm batch 2", {.kind = CLNET_OP_BATCHNORM, .u.bn = {0.01f}}, 5, 1,
     {{S4(2, 2, 1, 2), .f = F(1, 3, -2, -1, 5, -1, 0, 1.5f)}, {S1(2), .f = F(1, -2)},
      {S1(2), .f = F(3.99f, 0.24f)}, {S1(2), .f = F(2, -1)}, {S1(2), .f = F(0.5f, 3)}},
     {{S4(2, 2, 1, 2), .f = F(0.5f, 2.5f, 3, 1, 4.5f, -1.5f, -1, -4)}}, false},
    /* Channel 0 = 1, 2, 3, 4: mean 2.5, variance (2.25+0.25+0.25+2.25)/4 =
     * 1.25. Channel 1 = 10, 20, 30, 40: mean 25, (225+25+25+225)/4 = 125. */
    {"batchnorm_stats", {.kind = CLNET_OP_BATCHNORM_STATS, .u.bn = {1e-5f}}, 1, 2,
     {{S4(2, 2, 1, 2), .f = F(1, 2, 10, 20, 3, 4, 30, 40)}},
     {{S1(2), .f = F(2.5f, 25)}, {S1(2), .f = F(1.25f, 125)}}, false},
    /* size 3, alpha/size = 0.1, k = 2, beta = 0.75. Column 0 = 1, 2, 3: the
     * window sums are 1+4 = 5, 1+4+9 = 14, 4+9 = 13, so y = 1/2.5^0.75 =
     * 0.50297337, 2/3.4^0.75 = 0.79876828, 3/3.3^0.75 = 1.2252813. Column 1
     * = 3, 2, 1 mirrors it. */
    {"lrn size 3", {.kind = CLNET_OP_LRN, .u.lrn = {3, 0.3f, 0.75f, 2}}, 1, 1,
     {{S4(1, 3, 1, 2), .f = F(1, 3, 2, 2, 3, 1)}},
     {{S4(1, 3, 1, 2), .f = F(0.50297337f, 1.2252813f, 0.79876828f, 0.79876828f, 1.2252813f,
                          0.50297337f)}}, false},
    /* size 2 (alpha/size = 0.1): the window of c is c-1 .. c, sums 1, 5, 13:
     * 1/2.1^0.75 = 0.57323874, 2/2.5^0.75 = 1.0059467, 3/3.3^0.75. */
    {"lrn size 2", {.kind = CLNET_OP_LRN, .u.lrn = {2, 0.2f, 0.75f, 2}}, 1, 1,
     {{S4(1, 3, 1, 1), .f = F(1, 2, 3)}},
     {{S4(1, 3, 1, 1), .f = F(0.57323874f, 1.0059467f, 1.2252813f)}}, false},
};

static const kv_case misc_cases[] = {
    {"dropout not training", {.kind = CLNET_OP_DROPOUT, .u.dropout = {0.5f, 1, false}}, 1, 1,
     {{S2(1, 3), .f = F(1, -2, 3)}}, {{S2(1, 3), .f = F(1, -2, 3)}}, false},
    {"dropout p = 0", {.kind = CLNET_OP_DROPOUT, .u.dropout = {0, 1, true}}, 1, 1,
     {{S2(1, 3), .f = F(1, -2, 3)}}, {{S2(1, 3), .f = F(1, -2, 3)}}, false},
    /* 58 = 1*7 + 2*9 + 3*11, 64 = 8 + 20 + 36, 139 = 28 + 45 + 66,
     * 154 = 32 + 50 + 72. y starts as NaN: beta == 0 must not read it. */
    {"gemm", GEMM(false, false, 1, 0), 2, 1,
     {{S2(2, 3), .f = F(1, 2, 3, 4, 5, 6)}, {S2(3, 2), .f = F(7, 8, 9, 10, 11, 12)}},
     {{S2(2, 2), .f = F(58, 64, 139, 154)}}, false},
    /* 2 * (58, 64, 139, 154) + 0.5 * (1, 2, 3, 4). */
    {"gemm alpha 2 beta 0.5", GEMM(false, false, 2, 0.5f), 2, 1,
     {{S2(2, 3), .f = F(1, 2, 3, 4, 5, 6)}, {S2(3, 2), .f = F(7, 8, 9, 10, 11, 12)}},
     {{S2(2, 2), .f = F(116.5f, 129, 279.5f, 310), .init = F(1, 2, 3, 4)}}, false},
    {"gemm trans_a trans_b", GEMM(true, true, 1, 0), 2, 1,
     {{S2(3, 2), .f = F(1, 4, 2, 5, 3, 6)}, {S2(2, 3), .f = F(7, 9, 11, 8, 10, 12)}},
     {{S2(2, 2), .f = F(58, 64, 139, 154)}}, false},
    /* x (2,3,1,1) read as (2,3). Row 0: 1 - 3 + 10 = 8, 0.5*6 - 1 = 2;
     * row 1: 4 - 6 + 10 = 8, 0.5*15 - 1 = 6.5. */
    {"linear", SIMPLE(CLNET_OP_LINEAR), 3, 1,
     {{S4(2, 3, 1, 1), .f = F(1, 2, 3, 4, 5, 6)}, {S2(2, 3), .f = F(1, 0, -1, 0.5f, 0.5f, 0.5f)},
      {S1(2), .f = F(10, -1)}},
     {{S2(2, 2), .f = F(8, 2, 8, 6.5f)}}, false},
    {"linear no bias", SIMPLE(CLNET_OP_LINEAR), 2, 1,
     {{S2(2, 3), .f = F(1, 2, 3, 4, 5, 6)}, {S2(2, 3), .f = F(1, 0, -1, 0.5f, 0.5f, 0.5f)}},
     {{S2(2, 2), .f = F(-2, 3, -2, 7.5f)}}, false},
    {"add", {.kind = CLNET_OP_BINARY, .u.binary = {CLNET_BINARY_ADD}}, 2, 1,
     {{S4(1, 2, 1, 2), .f = F(1, 2, 3, 4)}, {S4(1, 2, 1, 2), .f = F(10, 20, 30, 40)}},
     {{S4(1, 2, 1, 2), .f = F(11, 22, 33, 44)}}, false},
    /* b holds one value per (n, c): image 0 scales by 2, 3; image 1 by 4, 5. */
    {"mul per-channel batch 2", {.kind = CLNET_OP_BINARY, .u.binary = {CLNET_BINARY_MUL}}, 2, 1,
     {{S4(2, 2, 1, 2), .f = F(1, 2, 3, 4, 5, 6, 7, 8)}, {S4(2, 2, 1, 1), .f = F(2, 3, 4, 5)}},
     {{S4(2, 2, 1, 2), .f = F(2, 4, 9, 12, 20, 24, 35, 40)}}, false},
    {"add per-channel in place", {.kind = CLNET_OP_BINARY, .u.binary = {CLNET_BINARY_ADD}}, 2, 1,
     {{S4(1, 2, 2, 1), .f = F(1, 2, 3, 4)}, {S4(1, 2, 1, 1), .f = F(10, 100)}},
     {{S4(1, 2, 2, 1), .f = F(11, 12, 103, 104)}}, true},
    {"bias_add batch 2", SIMPLE(CLNET_OP_BIAS_ADD), 2, 1,
     {{S4(2, 2, 1, 1), .f = F(1, 2, 3, 4)}, {S1(2), .f = F(10, 100)}},
     {{S4(2, 2, 1, 1), .f = F(11, 102, 13, 104)}}, false},
    {"bias_add in place", SIMPLE(CLNET_OP_BIAS_ADD), 2, 1,
     {{S4(1, 2, 1, 2), .f = F(1, 2, 3, 4)}, {S1(2), .f = F(10, 100)}},
     {{S4(1, 2, 1, 2), .f = F(11, 12, 103, 104)}}, true},
    /* Per image: x0's one channel, then x1's two. */
    {"concat batch 2", SIMPLE(CLNET_OP_CONCAT), 2, 1,
     {{S4(2, 1, 1, 2), .f = F(1, 2, 3, 4)},
      {S4(2, 2, 1, 2), .f = F(10, 11, 12, 13, 20, 21, 22, 23)}},
     {{S4(2, 3, 1, 2), .f = F(1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23)}}, false},
    {"concat three", SIMPLE(CLNET_OP_CONCAT), 3, 1,
     {{S2(1, 1), .f = F(1)}, {S2(1, 2), .f = F(2, 3)}, {S2(1, 1), .f = F(4)}},
     {{S2(1, 4), .f = F(1, 2, 3, 4)}}, false},
    /* Squared distances of x (2,3,1,1), read as (2,3), to the centres
     * (1, 2, 3), (0, 0, 0), (2, 0, -1). Image 0 = (1, 2, 3): 0, 1+4+9 = 14,
     * 1+4+16 = 21. Image 1 = (0, 1, -1): 1+1+16 = 18, 0+1+1 = 2, 4+1+0 = 5. */
    {"rbf", SIMPLE(CLNET_OP_RBF), 2, 1,
     {{S4(2, 3, 1, 1), .f = F(1, 2, 3, 0, 1, -1)}, {S2(3, 3), .f = F(1, 2, 3, 0, 0, 0, 2, 0, -1)}},
     {{S2(2, 3), .f = F(0, 14, 21, 18, 2, 5)}}, false},
};

typedef enum outcome { PASS, FAIL, SKIP } outcome;

typedef struct tally {
    int pass, fail, skip;
} tally;

static void count(tally *t, outcome o)
{
    t->pass += o == PASS;
    t->fail += o == FAIL;
    t->skip += o == SKIP;
}

static int64_t spec_numel(const spec *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= s->shape[d];
    return n;
}

/* Creates the tensor of a spec: inputs hold their data, outputs their
 * `init` or the poison described at struct spec. */
static clnet_tensor *make(clnet_device *dev, const spec *s, bool input)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_dtype dtype = s->i ? CLNET_I32 : CLNET_F32;
    clnet_tensor *t = NULL;
    if (test_check_status(ctx, clnet_tensor_new(dev, dtype, s->ndim, s->shape, &t), "tensor_new"))
        return NULL;
    size_t bytes = (size_t)spec_numel(s) * 4;
    const void *data = input ? (s->i ? (const void *)s->i : (const void *)s->f) : s->init;
    clnet_status st = data ? clnet_tensor_write(t, data, bytes)
                           : clnet_tensor_fill(t, dtype == CLNET_I32 ? -7.0f : NAN);
    if (test_check_status(ctx, st, "initialising a tensor")) {
        clnet_tensor_free(t);
        return NULL;
    }
    return t;
}

static bool close_enough(float got, float want)
{
    return fabsf(got - want) <= 1e-5f * fabsf(want) + 1e-6f;
}

/* Compares output `index` with its expected values, printing every mismatch. */
static bool compare(const char *dname, const char *cname, int index, const clnet_tensor *t,
                    const spec *s)
{
    int64_t n = spec_numel(s);
    size_t bytes = (size_t)n * 4;
    void *got = malloc(bytes);
    clnet_ctx *ctx = clnet_device_ctx(clnet_tensor_device(t));
    if (!got || test_check_status(ctx, clnet_tensor_read(t, got, bytes), "tensor_read")) {
        free(got);
        return false;
    }
    bool ok = true;
    for (int64_t e = 0; e < n; e++) {
        if (s->i && ((int32_t *)got)[e] != s->i[e]) {
            printf("FAIL %s: %s: output %d index %lld: expected %d, got %d\n", dname, cname,
                   index, (long long)e, s->i[e], ((int32_t *)got)[e]);
            ok = false;
        } else if (!s->i && !close_enough(((float *)got)[e], s->f[e])) {
            printf("FAIL %s: %s: output %d index %lld: expected %.8g, got %.8g\n", dname, cname,
                   index, (long long)e, (double)s->f[e], (double)((float *)got)[e]);
            ok = false;
        }
    }
    free(got);
    return ok;
}

static outcome run_case(clnet_device *dev, const char *dname, const kv_case *kc)
{
    if (!clnet_op_supported(dev, &kc->op)) {
        printf("skip %s: %s (not supported)\n", dname, kc->name);
        return SKIP;
    }
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_tensor *in[5] = {NULL, NULL, NULL, NULL, NULL}, *out[2] = {NULL, NULL};
    outcome result = FAIL;
    for (int i = 0; i < kc->nin; i++)
        if (!(in[i] = make(dev, &kc->in[i], true)))
            goto done;
    for (int i = 0; i < kc->nout; i++) {
        out[i] = kc->in_place && i == 0 ? in[0] : make(dev, &kc->out[i], false);
        if (!out[i])
            goto done;
    }
    if (test_check_status(ctx, clnet_op_run(dev, &kc->op, kc->nin, in, kc->nout, out),
                          kc->name))
        goto done;
    result = PASS;
    for (int i = 0; i < kc->nout; i++)
        if (!compare(dname, kc->name, i, out[i], &kc->out[i]))
            result = FAIL;
    if (result == PASS)
        printf("ok   %s: %s\n", dname, kc->name);
done:
    for (int i = 0; i < kc->nout; i++)
        if (!(kc->in_place && i == 0))
            clnet_tensor_free(out[i]);
    for (int i = 0; i < kc->nin; i++)
        clnet_tensor_free(in[i]);
    return result;
}

static void run_table(clnet_device *dev, const char *dname, const kv_case *cases, size_t n,
                      tally *t)
{
    for (size_t i = 0; i < n; i++)
        count(t, run_case(dev, dname, &cases[i]));
}

enum { DROP_N = 4, DROP_W = 25000, DROP_NUMEL = DROP_N * DROP_W };

/* Runs training-mode dropout over ones, in place or into a second tensor,
 * and reads the result into host memory (NULL after printing why). */
static float *dropout_once(clnet_device *dev, float p, uint64_t seed, bool in_place,
                           int64_t first_image)
{
    static const int64_t shape[2] = {DROP_N, DROP_W};
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_op op = {.kind = CLNET_OP_DROPOUT, .u.dropout = {p, seed, true, first_image}};
    clnet_tensor *x = test_tensor(dev, 2, shape, NULL), *y = NULL;
    float *host = NULL;
    if (!x || test_check_status(ctx, clnet_tensor_fill(x, 1.0f), "tensor_fill"))
        goto done;
    y = in_place ? x : test_tensor(dev, 2, shape, NULL);
    if (y && !test_check_status(ctx, clnet_op_run(dev, &op, 1, &x, 1, &y), "dropout"))
        host = test_read(y);
done:
    if (y != x)
        clnet_tensor_free(y);
    clnet_tensor_free(x);
    return host;
}

/* Dropout statistics: every element is 0 or 1/(1-p); about 1-p of them are
 * kept; the mask is the documented pure function of (seed, index), so it is
 * the same for the same seed (in place or not) on every device, a slice of
 * a larger batch (first_image) is masked as those images of it, and another
 * seed changes it (two independent masks differ in 2p(1-p) = 42% of places). */
static outcome dropout_case(clnet_device *dev, const char *dname)
{
    const float p = 0.3f, scale = 1.0f / 0.7f; /* 1.4285714 */
    clnet_op op = {.kind = CLNET_OP_DROPOUT, .u.dropout = {p, 42, true}};
    if (!clnet_op_supported(dev, &op)) {
        printf("skip %s: dropout statistics (not supported)\n", dname);
        return SKIP;
    }
    float *a = dropout_once(dev, p, 42, false, 0), *b = dropout_once(dev, p, 42, true, 0);
    float *c = dropout_once(dev, p, 43, false, 0);
    /* a slice starting at image 3 of a larger batch: masked as those images */
    float *d = dropout_once(dev, p, 42, false, 3);
    outcome result = a && b && c && d ? PASS : FAIL;
    int64_t kept = 0, differ = 0, bad = 0;
    for (int64_t i = 0; result == PASS && i < DROP_NUMEL; i++) {
        bool keep = a[i] != 0.0f;
        kept += keep;
        differ += keep != (c[i] != 0.0f);
        if ((keep && !close_enough(a[i], scale)) || a[i] != b[i] ||
            keep != clnet_dropout_keep(42, (uint64_t)i, p) ||
            (d[i] != 0.0f) != clnet_dropout_keep(42, (uint64_t)(i + 3 * DROP_W), p)) {
            if (bad++ < 5)
                printf("FAIL %s: dropout: index %lld: got %.8g (in place %.8g, as image 3 "
                       "onwards %.8g), expected %s\n", dname, (long long)i, (double)a[i],
                       (double)b[i], (double)d[i],
                       clnet_dropout_keep(42, (uint64_t)i, p) ? "1.4285714" : "0");
        }
    }
    double kept_fraction = (double)kept / DROP_NUMEL, differ_fraction = (double)differ / DROP_NUMEL;
    if (result == PASS && (bad || fabs(kept_fraction - 0.7) > 0.01 || differ_fraction < 0.3)) {
        printf("FAIL %s: dropout: %lld bad elements, kept %.4f (want 0.7 +- 0.01), seeds 42 "
               "and 43 differ in %.4f (want > 0.3)\n", dname, (long long)bad, kept_fraction,
               differ_fraction);
        result = FAIL;
    } else if (result == PASS) {
        printf("ok   %s: dropout statistics (kept %.4f, seeds differ in %.4f)\n", dname,
               kept_fraction, differ_fraction);
    }
    free(a);
    free(b);
    free(c);
    free(d);
    return result;
}

#define RUN_TABLE(dev, dname, cases, t) \
    run_table(dev, dname, cases, sizeof(cases) / sizeof(cases[0]), t)

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (test_check_status(NULL, clnet_ctx_new(&ctx), "clnet_ctx_new"))
        return 1;
    clnet_device *devs[16];
    int ndev = 0;
    int opened = test_open_devices(ctx, devs, 16, &ndev);
    if (opened == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    tally t = {0, 0, 0};
    for (int d = 0; d < ndev; d++) {
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        char dname[160];
        snprintf(dname, sizeof dname, "device %d (%s)", d, info.name);
        RUN_TABLE(devs[d], dname, conv_cases, &t);
        RUN_TABLE(devs[d], dname, pool_cases, &t);
        RUN_TABLE(devs[d], dname, act_cases, &t);
        RUN_TABLE(devs[d], dname, softmax_cases, &t);
        RUN_TABLE(devs[d], dname, norm_cases, &t);
        RUN_TABLE(devs[d], dname, misc_cases, &t);
        count(&t, dropout_case(devs[d], dname));
    }
    /* Where a device is required (CI), an op it does not support is a gap. */
    const char *req = getenv("CLNET_TEST_REQUIRE_DEVICE");
    bool required = req && *req && strcmp(req, "0") != 0;
    printf("%d passed, %d failed, %d skipped on %d devices\n", t.pass,
           t.fail + (required ? t.skip : 0), t.skip, ndev);
    clnet_ctx_free(ctx);
    if (t.fail || (required && t.skip))
        return 1;
    /* Without an OpenCL device only `ref` ran: its values are still checked,
     * but the test as a whole did not do its job. */
    return opened == TEST_SKIP ? TEST_SKIP : 0;
}

/* eltwise.cl - elementwise kernels: activations and their gradients, dropout,
 * binary add/mul, bias add, image block copies (concat, identity), channel
 * shuffle and softmax over axis 1. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense. Grids are launched at their exact extents (no local
 * size, no padding), so get_global_size gives the shape: (image, N) for
 * kernels that see an image as a flat run of elements, (spatial, C, N) for
 * those that need the channel. Splitting the index over the grid rather than
 * dividing a flat index saves a division per element, which on PoCL made
 * ReLU four times slower. */

/* The kernels of 16 elements a work-item (name suffix "16") are the
 * exception: a 1-D grid of the `vectors` vectors of the batch, padded to
 * whole work-groups of one size (clnet_cl_launch_padded), so that PoCL
 * compiles each once and not once a shape; `per_image` vectors an image. A
 * division per 16 elements is cheap where one per element was not.
 * VECTOR_AT declares the work-item's image n and first element i, and
 * returns from a work-item of the padding. */
#define VECTOR_ARGS int per_image, int vectors
#define VECTOR_AT(n, i)                                                        \
    const int v_ = get_global_id(0);                                           \
    if (v_ >= vectors)                                                         \
        return;                                                                \
    const int n = v_ / per_image, i = (v_ - n * per_image) * 16

/* One kernel per function of CLNET_ACTIVATIONS (common.clh), so each
 * compiles to straight-line code without a per-element switch. Grid
 * (image, N); `alpha` is used by leaky ReLU only. */
#define ACTIVATION_KERNEL(name, expr, slope)                                     \
    __kernel void act_##name(__global const float *x, int x_off, int x_bs,      \
                             __global float *y, int y_off, int y_bs, float alpha) \
    {                                                                           \
        int i = get_global_id(0), n = get_global_id(1);                         \
        float v = x[x_off + n * x_bs + i];                                      \
        y[y_off + n * y_bs + i] = (expr);                                       \
    }

CLNET_ACTIVATIONS(ACTIVATION_KERNEL)

/* The same on images of a multiple of 16 elements, 16 per work-item (CPU
 * drivers such as PoCL do not vectorise a scalar work-item): act_<name>16,
 * per_image = image / 16. */
#define ACTIVATION_KERNEL16(name, expr, slope)                                   \
    __kernel void act_##name##16(__global const float *x, int x_off, int x_bs,  \
                                 __global float *y, int y_off, int y_bs, float alpha, \
                                 VECTOR_ARGS)                                   \
    {                                                                           \
        VECTOR_AT(n, i);                                                        \
        float16 v = vload16(0, x + x_off + n * x_bs + i);                       \
        vstore16((expr), 0, y + y_off + n * y_bs + i);                          \
    }

CLNET_ACTIVATIONS(ACTIVATION_KERNEL16)

/* dx = dy * f'(x), one kernel per function as above; grid (image, N), dx may
 * be dy (each work-item reads its element before writing it). The product
 * is always taken, so an infinite dy meets a zero slope as NaN, as in the
 * reference. */
#define ACTIVATION_BACKWARD_KERNEL(name, expr, slope)                                     \
    __kernel void act_##name##_backward(__global const float *x, int x_off, int x_bs,     \
                                        __global const float *dy, int dy_off, int dy_bs,  \
                                        __global float *dx, int dx_off, int dx_bs,        \
                                        float alpha)                                      \
    {                                                                                     \
        int i = get_global_id(0), n = get_global_id(1);                                   \
        float v = x[x_off + n * x_bs + i];                                                \
        dx[dx_off + n * dx_bs + i] = dy[dy_off + n * dy_bs + i] * (slope);                \
    }

CLNET_ACTIVATIONS(ACTIVATION_BACKWARD_KERNEL)

/* The gradient 16 elements per work-item, per_image = image / 16 or the
 * batch as one image (cl_eltwise.c), for the functions whose slope has a
 * vector form: the ReLU family's (the left one at a kink; a NaN x passed
 * on by KINKED) and the smooth functions' of common.clh, which carry a NaN
 * through by themselves. */
#define BACKWARD_KERNEL16(name, slope16)                                                   \
    __kernel void act_##name##_backward16(__global const float *x, int x_off, int x_bs,    \
                                          __global const float *dy, int dy_off, int dy_bs, \
                                          __global float *dx, int dx_off, int dx_bs,       \
                                          float alpha, VECTOR_ARGS)                        \
    {                                                                                      \
        VECTOR_AT(n, i);                                                                   \
        float16 v = vload16(0, x + x_off + n * x_bs + i);                                  \
        vstore16(vload16(0, dy + dy_off + n * dy_bs + i) * (slope16), 0,                   \
                 dx + dx_off + n * dx_bs + i);                                             \
    }
#define KINKED(s) select((s), v, isnan(v))

BACKWARD_KERNEL16(relu, KINKED(select((float16)0.0f, (float16)1.0f, v > 0.0f)))
BACKWARD_KERNEL16(leaky_relu, KINKED(select((float16)alpha, (float16)1.0f, v > 0.0f)))
BACKWARD_KERNEL16(relu6, KINKED(select((float16)0.0f, (float16)1.0f, v > 0.0f && v < 6.0f)))
BACKWARD_KERNEL16(sigmoid, CLNET_SIGMOID_SLOPE(v))
BACKWARD_KERNEL16(tanh, CLNET_TANH_SLOPE(v))
BACKWARD_KERNEL16(swish, CLNET_SWISH_SLOPE(v))
BACKWARD_KERNEL16(lecun_tanh, CLNET_LECUN_TANH_SLOPE(v))
BACKWARD_KERNEL16(gelu, CLNET_GELU_SLOPE(v))

/* The hash and keep rule of clnet_dropout_keep (lib/core/geometry.h), bit
 * for bit: the mask must not depend on the device. */
inline uint hash32(uint x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

inline bool dropout_keep(uint seed_lo, uint seed_hi, ulong index, float p)
{
    uint h = hash32((uint)index ^ hash32((uint)(index >> 32) ^ hash32(seed_lo ^ hash32(seed_hi))));
    float u = (float)(h >> 8) * (1.0f / 16777216.0f);
    return u >= p;
}

/* Inverted dropout, grid (image, N). The flat index is the element's place
 * in the logical dense layout of the whole batch this one may be a slice of,
 * (first + n) * image + i, whatever the view's strides. */
__kernel void dropout(__global const float *x, int x_off, int x_bs,
                      __global float *y, int y_off, int y_bs,
                      uint seed_lo, uint seed_hi, float p, ulong first)
{
    int i = get_global_id(0), n = get_global_id(1);
    ulong index = (first + (ulong)n) * get_global_size(0) + (ulong)i;
    float v = x[x_off + n * x_bs + i];
    y[y_off + n * y_bs + i] = dropout_keep(seed_lo, seed_hi, index, p) ? v / (1.0f - p) : 0.0f;
}

/* y = a (op) b, grid (spatial, C, N). b's entry for (c, s) lies at
 * c * b_cs + s * b_ss in its image: (spatial, 1) when b has a's shape,
 * (1, 0) for a per-channel b of shape (N, C, 1, ...). */
#define BINARY_KERNEL(name, op)                                                  \
    __kernel void binary_##name(__global const float *a, int a_off, int a_bs,   \
                                __global const float *b, int b_off, int b_bs,   \
                                __global float *y, int y_off, int y_bs,         \
                                int b_cs, int b_ss)                             \
    {                                                                           \
        int s = get_global_id(0), c = get_global_id(1), n = get_global_id(2);   \
        int i = c * get_global_size(0) + s;                                     \
        y[y_off + n * y_bs + i] =                                               \
            a[a_off + n * a_bs + i] op b[b_off + n * b_bs + c * b_cs + s * b_ss]; \
    }

BINARY_KERNEL(add, +)
BINARY_KERNEL(mul, *)

/* binary_<name> of same-shaped a and b on images of a multiple of 16
 * elements, 16 per work-item, per_image = image / 16. */
#define BINARY_KERNEL16(name, op)                                                \
    __kernel void binary_##name##16(__global const float *a, int a_off, int a_bs, \
                                    __global const float *b, int b_off, int b_bs, \
                                    __global float *y, int y_off, int y_bs,     \
                                    VECTOR_ARGS)                                \
    {                                                                           \
        VECTOR_AT(n, i);                                                        \
        vstore16(vload16(0, a + a_off + n * a_bs + i) op                        \
                     vload16(0, b + b_off + n * b_bs + i),                      \
                 0, y + y_off + n * y_bs + i);                                  \
    }

BINARY_KERNEL16(add, +)
BINARY_KERNEL16(mul, *)

/* y = x + b[c], grid (spatial, C, N); y may be x. b is a vector (C) whose
 * entries lie b_step apart. */
__kernel void bias_add(__global const float *x, int x_off, int x_bs,
                       __global float *y, int y_off, int y_bs,
                       __global const float *b, int b_off, int b_step)
{
    int s = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    int i = c * get_global_size(0) + s;
    y[y_off + n * y_bs + i] = x[x_off + n * x_bs + i] + b[b_off + c * b_step];
}

/* Copies each image of x into y's image at element `y_start`, grid (image
 * of x, N): identity copies, and concat, where an input's channels form one
 * contiguous block of the output image. */
__kernel void copy_block(__global const float *x, int x_off, int x_bs,
                         __global float *y, int y_off, int y_bs, int y_start)
{
    int i = get_global_id(0), n = get_global_id(1);
    y[y_off + n * y_bs + y_start + i] = x[x_off + n * x_bs + i];
}

/* copy_block on images of a multiple of 16 elements, 16 per work-item,
 * per_image = image of x / 16. */
__kernel void copy_block16(__global const float *x, int x_off, int x_bs,
                           __global float *y, int y_off, int y_bs, int y_start, VECTOR_ARGS)
{
    VECTOR_AT(n, i);
    vstore16(vload16(0, x + x_off + n * x_bs + i), 0, y + y_off + n * y_bs + y_start + i);
}

/* ShuffleNet's channel shuffle, grid (spatial, C, N): output channel
 * c = p * groups + g reads input channel g * (C / groups) + p. */
__kernel void channel_shuffle(__global const float *x, int x_off, int x_bs,
                              __global float *y, int y_off, int y_bs, int groups)
{
    int s = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    int spatial = get_global_size(0), per = get_global_size(1) / groups;
    int src = (c % groups) * per + c / groups;
    y[y_off + n * y_bs + c * spatial + s] = x[x_off + n * x_bs + src * spatial + s];
}

/* Softmax (or log-softmax when `log_out`) over the `channels` entries of
 * axis 1, one work-item per (spatial position, n). The maximum is
 * subtracted first so exp never overflows. */
__kernel void softmax(__global const float *x, int x_off, int x_bs,
                      __global float *y, int y_off, int y_bs,
                      int channels, int log_out)
{
    int s = get_global_id(0), n = get_global_id(1), spatial = get_global_size(0);
    __global const float *px = x + x_off + n * x_bs + s;
    __global float *py = y + y_off + n * y_bs + s;
    float m = px[0];
    for (int c = 1; c < channels; c++)
        m = fmax(m, px[c * spatial]);
    float sum = 0.0f;
    for (int c = 0; c < channels; c++)
        sum += exp(px[c * spatial] - m);
    if (log_out) {
        float lse = log(sum);
        for (int c = 0; c < channels; c++)
            py[c * spatial] = px[c * spatial] - m - lse;
    } else {
        for (int c = 0; c < channels; c++)
            py[c * spatial] = exp(px[c * spatial] - m) / sum;
    }
}

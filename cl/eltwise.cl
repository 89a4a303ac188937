/* eltwise.cl - elementwise kernels: activations and their gradients, dropout,
 * binary add/mul, bias add, image block copies (concat, identity) and softmax
 * over axis 1. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense. Grids are launched at their exact extents (no local
 * size, no padding), so get_global_size gives the shape: (image, N) for
 * kernels that see an image as a flat run of elements, (spatial, C, N) for
 * those that need the channel. Splitting the index over the grid rather than
 * dividing a flat index saves a division per element, which on PoCL made
 * ReLU four times slower. */

/* The ReLU family lets NaN through, as the reference backend does. */
inline float relu6(float v)
{
    return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
}

/* One kernel per function, so each compiles to straight-line code without a
 * per-element switch. Grid (image, N); `alpha` is leaky ReLU's slope and the factor of scale. */
#define ACTIVATION_KERNEL(name, expr)                                            \
    __kernel void act_##name(__global const float *x, int x_off, int x_bs,      \
                             __global float *y, int y_off, int y_bs, float alpha) \
    {                                                                           \
        int i = get_global_id(0), n = get_global_id(1);                         \
        float v = x[x_off + n * x_bs + i];                                      \
        y[y_off + n * y_bs + i] = (expr);                                       \
    }

ACTIVATION_KERNEL(relu, v < 0.0f ? 0.0f : v)
ACTIVATION_KERNEL(leaky_relu, v < 0.0f ? alpha * v : v)
ACTIVATION_KERNEL(relu6, relu6(v))
ACTIVATION_KERNEL(sigmoid, 1.0f / (1.0f + exp(-v)))
ACTIVATION_KERNEL(tanh, tanh(v))
ACTIVATION_KERNEL(swish, v / (1.0f + exp(-v)))
ACTIVATION_KERNEL(hard_swish, v * relu6(v + 3.0f) / 6.0f)
ACTIVATION_KERNEL(hard_sigmoid, relu6(v + 3.0f) / 6.0f)
/* LeCun et al. 1998's squashing, the constants of the reference backend */
ACTIVATION_KERNEL(lecun_tanh, 1.7159f * tanh(v * (2.0f / 3.0f)))
ACTIVATION_KERNEL(scale, alpha * v)
ACTIVATION_KERNEL(gelu, 0.5f * v * (1.0f + erf(v * 0.70710678f)))

inline float sigmoid(float v)
{
    return 1.0f / (1.0f + exp(-v));
}

inline float sigmoid_grad(float v)
{
    float s = sigmoid(v);
    return s * (1.0f - s);
}

inline float tanh_grad(float v)
{
    float t = tanh(v);
    return 1.0f - t * t;
}

inline float lecun_tanh_grad(float v)
{
    float t = tanh(v * (2.0f / 3.0f));
    return 1.7159f * (2.0f / 3.0f) * (1.0f - t * t);
}

/* Phi(x) + x phi(x) */
inline float gelu_grad(float v)
{
    return 0.5f * (1.0f + erf(v * 0.70710678f)) +
           v * exp(-0.5f * v * v) * 0.39894228f;
}

inline float swish_grad(float v)
{
    float s = sigmoid(v);
    return s * (1.0f + v * (1.0f - s));
}

/* The slope `d` of a piecewise function at v, or NaN for a NaN input: a
 * comparison would quietly pick a piece and hide the divergence (the
 * reference backend does the same). */
inline float piece(float v, float d)
{
    return isnan(v) ? v : d;
}

/* dx = dy * f'(x), one kernel per function as above; grid (image, N), dx may
 * be dy (each work-item reads its element before writing it). The product
 * is always taken, so an infinite dy meets a zero slope as NaN, as in the
 * reference. At the kinks the slope is PyTorch's: ReLU's and leaky ReLU's
 * left one at 0, ReLU6's and hard sigmoid's 0 on the bounds, hard swish's
 * middle piece at -3 and 3. */
#define ACTIVATION_BACKWARD_KERNEL(name, slope)                                           \
    __kernel void act_##name##_backward(__global const float *x, int x_off, int x_bs,     \
                                        __global const float *dy, int dy_off, int dy_bs,  \
                                        __global float *dx, int dx_off, int dx_bs,        \
                                        float alpha)                                      \
    {                                                                                     \
        int i = get_global_id(0), n = get_global_id(1);                                   \
        float v = x[x_off + n * x_bs + i];                                                \
        dx[dx_off + n * dx_bs + i] = dy[dy_off + n * dy_bs + i] * (slope);                \
    }

ACTIVATION_BACKWARD_KERNEL(relu, piece(v, v > 0.0f ? 1.0f : 0.0f))
ACTIVATION_BACKWARD_KERNEL(leaky_relu, piece(v, v > 0.0f ? 1.0f : alpha))
ACTIVATION_BACKWARD_KERNEL(relu6, piece(v, v > 0.0f && v < 6.0f ? 1.0f : 0.0f))
ACTIVATION_BACKWARD_KERNEL(sigmoid, sigmoid_grad(v))
ACTIVATION_BACKWARD_KERNEL(tanh, tanh_grad(v))
ACTIVATION_BACKWARD_KERNEL(swish, swish_grad(v))
ACTIVATION_BACKWARD_KERNEL(hard_swish,
                           piece(v, v < -3.0f ? 0.0f : (v <= 3.0f ? v / 3.0f + 0.5f : 1.0f)))
ACTIVATION_BACKWARD_KERNEL(hard_sigmoid, piece(v, v > -3.0f && v < 3.0f ? 1.0f / 6.0f : 0.0f))
ACTIVATION_BACKWARD_KERNEL(lecun_tanh, lecun_tanh_grad(v))
ACTIVATION_BACKWARD_KERNEL(scale, piece(v, alpha))
ACTIVATION_BACKWARD_KERNEL(gelu, gelu_grad(v))

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
 * in the logical dense layout, n * image + i, whatever the view's strides. */
__kernel void dropout(__global const float *x, int x_off, int x_bs,
                      __global float *y, int y_off, int y_bs,
                      uint seed_lo, uint seed_hi, float p)
{
    int i = get_global_id(0), n = get_global_id(1);
    ulong index = (ulong)n * get_global_size(0) + (ulong)i;
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

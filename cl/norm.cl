/* norm.cl - batch normalisation (apply, per-channel statistics, gradient: one
 * work-group reduction per channel) and local response normalisation with its
 * gradient. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense. For a per-channel vector (C) the stride is the
 * distance between its entries. Elementwise kernels run on grids of the
 * shape, so get_global_size gives it and no per-element division is
 * needed. */

/* The fused activation of BATCHNORM (act_fn a clnet_activation value, -1
 * for none) on one element and on a vector of 16. A fused residual add
 * (has_r) adds r before it. */
CLNET_DEFINE_ACTIVATE(bn_act, float)
CLNET_DEFINE_ACTIVATE(bn_act16, float16)

/* Channel c's normalisation as y = scale * x + shift: (scale, shift). */
#define BN_AFFINE(c)                                                               \
    bn_affine(gamma[gamma_off + (c) * gamma_step], beta[beta_off + (c) * beta_step], \
              mean[mean_off + (c) * mean_step], var[var_off + (c) * var_step], eps)
inline float2 bn_affine(float gamma, float beta, float mean, float var, float eps)
{
    const float scale = gamma / sqrt(var + eps);
    return (float2)(scale, beta - scale * mean);
}

/* The arguments of the three batchnorm kernels (cl_norm.c picks one by the
 * plane's size): x, y, the per-channel vectors, the residual r (read with
 * has_r), the shape, the fused activation (act_fn -1 for none), and the
 * work-items that are not padding (`items`: batchnorm16's and
 * batchnorm_flat's 1-D grids are padded to whole work-groups of one size,
 * clnet_cl_launch_padded, so that PoCL compiles them once, not once a
 * shape). */
#define BN_APPLY_ARGS                                                                      \
    __global const float *x, int x_off, int x_bs, __global float *y, int y_off, int y_bs,  \
        __global const float *mean, int mean_off, int mean_step, __global const float *var, \
        int var_off, int var_step, __global const float *gamma, int gamma_off,             \
        int gamma_step, __global const float *beta, int beta_off, int beta_step,           \
        __global const float *r, int r_off, int r_bs, int has_r, int channels,             \
        int spatial, float eps, int act_fn, float act_alpha, int items

/* batchnorm on planes under 16 elements: an image's C x spatial elements in
 * one run, 16 per work-item (items: ceil(C * spatial / 16) an image), each lane
 * with its channel's scale and shift (worked out once per channel the
 * block meets); the image's last partial block one element at a time. */
__kernel void batchnorm_flat(BN_APPLY_ARGS)
{
    const int blocks = (channels * spatial + 15) / 16, item = get_global_id(0);
    if (item >= items)
        return;
    const int n = item / blocks, j0 = (item - n * blocks) * 16;
    const int count = min(16, channels * spatial - j0);
    __global const float *px = x + x_off + n * x_bs + j0;
    __global const float *pr = r + r_off + n * r_bs + j0;
    __global float *py = y + y_off + n * y_bs + j0;
    float scale[16], shift[16];
    int c = j0 / spatial, s = j0 % spatial;
    float2 affine = BN_AFFINE(c);
    for (int l = 0; l < count; l++, s++) {
        if (s == spatial) {
            s = 0;
            c++;
            affine = BN_AFFINE(c);
        }
        scale[l] = affine.x;
        shift[l] = affine.y;
    }
    if (count == 16) {
        float16 v = vload16(0, scale) * vload16(0, px) + vload16(0, shift);
        if (has_r)
            v += vload16(0, pr);
        vstore16(bn_act16(v, act_fn, act_alpha), 0, py);
        return;
    }
    for (int l = 0; l < count; l++) {
        float v = scale[l] * px[l] + shift[l];
        if (has_r)
            v += pr[l];
        py[l] = bn_act(v, act_fn, act_alpha);
    }
}

/* batchnorm on planes of a multiple of 16 elements, 16 per work-item (a
 * scalar work-item is not vectorised by CPU drivers such as PoCL). */
__kernel void batchnorm16(BN_APPLY_ARGS)
{
    const int per_image = channels * spatial / 16, item = get_global_id(0);
    if (item >= items)
        return;
    const int n = item / per_image, i = (item - n * per_image) * 16, c = i / spatial;
    const float2 affine = BN_AFFINE(c);
    float16 v = affine.x * vload16(0, x + x_off + n * x_bs + i) + affine.y;
    if (has_r)
        v += vload16(0, r + r_off + n * r_bs + i);
    vstore16(bn_act16(v, act_fn, act_alpha), 0, y + y_off + n * y_bs + i);
}

/* batchnorm on planes of 16 elements or more that 16 does not divide
 * (airbench's 31x31, 15x15 and 7x7): a plane per work-item, 16 elements at
 * a time up to its last whole 16, then the rest one by one, with the
 * channel's scale and shift worked out once (batchnorm_flat, which finds
 * each lane's channel, took 3-4x as long on airbench's layers).
 * Grid: (C, N). */
__kernel void batchnorm_planes(BN_APPLY_ARGS)
{
    const int c = get_global_id(0), n = get_global_id(1), i = c * spatial;
    __global const float *px = x + x_off + n * x_bs + i;
    __global const float *pr = r + r_off + n * r_bs + i;
    __global float *py = y + y_off + n * y_bs + i;
    const float2 affine = BN_AFFINE(c);
    int s = 0;
    for (; s + 16 <= spatial; s += 16) {
        float16 v = affine.x * vload16(0, px + s) + affine.y;
        if (has_r)
            v += vload16(0, pr + s);
        vstore16(bn_act16(v, act_fn, act_alpha), 0, py + s);
    }
    for (; s < spatial; s++) {
        float v = affine.x * px[s] + affine.y;
        if (has_r)
            v += pr[s];
        py[s] = bn_act(v, act_fn, act_alpha);
    }
}

/* How a work-group (size a power of two) shares the batch x units of a
 * channel: work-item lid takes units u0, u0 + ustep, ... of images n0,
 * n0 + nstep, ..., the group's width going along the plane first (adjacent
 * work-items on adjacent units, coalesced on a GPU) and over images with
 * what the plane leaves. Work-items beyond ustep * nstep have nothing. A
 * single work-item (a CPU, cl_norm.c) walks the channel in memory order. */
typedef struct bn_split {
    int u0, ustep, n0, nstep;
} bn_split;

inline bn_split split_group(int units)
{
    const int lid = get_local_id(0), size = get_local_size(0);
    bn_split p;
    p.ustep = min(size, units);
    p.nstep = size / p.ustep;
    p.u0 = lid % p.ustep;
    p.n0 = lid < p.ustep * p.nstep ? lid / p.ustep : INT_MAX;
    return p;
}

/* Sums of two values over the work-group (size a power of two) in one
 * barrier tree, one float2 slot per work-item of `ls`; every work-item gets
 * both totals. ls keeps them, so it may not be reused afterwards. */
inline float2 group_sum2(float2 v, __local float2 *ls)
{
    int lid = get_local_id(0);
    ls[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s /= 2) {
        if (lid < s)
            ls[lid] += ls[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return ls[0];
}

/* Mean and biased variance over the batch x spatial elements of one
 * channel, starting at p, computed by the whole work-group in one pass: the
 * sums of d = x - k and d^2, k being the channel's first element. Shifting
 * by a value of the data keeps E[d^2] - E[d]^2 from cancelling the way
 * E[x^2] - E[x]^2 would for data far from zero. Each image's share is summed
 * on its own before it joins the total (short float sums stay accurate):
 * its plane 16 elements at a time into 16 lanes, added up in a fixed order
 * (deterministic), then the elements past the last whole 16 one by one
 * (planes such as 15x15 and 7x7 went one by one entirely, at a quarter of
 * the speed). */
inline void channel_stats(__global const float *p, int x_bs, int batch, int spatial,
                          __local float2 *ls, float *mean, float *var)
{
    const float k = p[0];
    const int vecs = spatial / 16;
    const bn_split w = split_group(max(vecs, 1));
    float2 sums = (float2)(0.0f, 0.0f);
    for (int n = w.n0; n < batch; n += w.nstep) {
        __global const float *row = p + n * x_bs;
        float16 s1 = 0.0f, s2 = 0.0f;
        for (int u = w.u0; u < vecs; u += w.ustep) {
            const float16 d = vload16(u, row) - k;
            s1 += d;
            s2 = fma(d, d, s2);
        }
        float2 image = (float2)(sum16(s1), sum16(s2));
        for (int t = vecs * 16 + w.u0; t < spatial; t += w.ustep) {
            const float d = row[t] - k;
            image += (float2)(d, d * d);
        }
        sums += image;
    }
    sums = group_sum2(sums, ls);
    const float count = (float)(batch * spatial), shift = sums.x / count;
    *mean = k + shift;
    *var = max(sums.y / count - shift * shift, 0.0f);
}

/* One work-group per channel c = group id. */
__kernel void batchnorm_stats(__global const float *x, int x_off, int x_bs,
                              __global float *mean, int mean_off, int mean_step,
                              __global float *var, int var_off, int var_step,
                              int batch, int spatial, __local float2 *ls)
{
    int c = get_group_id(0);
    float mu, v;
    channel_stats(x + x_off + c * spatial, x_bs, batch, spatial, ls, &mu, &v);
    if (get_local_id(0) == 0) {
        mean[mean_off + c * mean_step] = mu;
        var[var_off + c * var_step] = v;
    }
}

/* batchnorm_stats that also moves the running statistics towards the batch
 * ones: r = (1 - momentum) * r + momentum * batch, the variance scaled by
 * `unbias` (M / (M - 1)) first. */
__kernel void batchnorm_stats_running(__global const float *x, int x_off, int x_bs,
                                      __global float *mean, int mean_off, int mean_step,
                                      __global float *var, int var_off, int var_step,
                                      __global float *rmean, int rmean_off, int rmean_step,
                                      __global float *rvar, int rvar_off, int rvar_step,
                                      int batch, int spatial, float momentum, float unbias,
                                      __local float2 *ls)
{
    int c = get_group_id(0);
    float mu, v;
    channel_stats(x + x_off + c * spatial, x_bs, batch, spatial, ls, &mu, &v);
    if (get_local_id(0) == 0) {
        mean[mean_off + c * mean_step] = mu;
        var[var_off + c * var_step] = v;
        __global float *rm = rmean + rmean_off + c * rmean_step;
        __global float *rv = rvar + rvar_off + c * rvar_step;
        *rm = (1.0f - momentum) * *rm + momentum * mu;
        *rv = (1.0f - momentum) * *rv + momentum * v * unbias;
    }
}

/* The slope of a fused activation read from its output y (RELU, RELU6,
 * LEAKY_RELU with alpha >= 0: ops.h), as ACTIVATION_BACKWARD gives it at
 * the kinks; NaN where y is NaN. act_fn < 0: no activation, slope 1. */
inline float16 bn_slope16(float16 y, int act_fn, float alpha)
{
    float16 s;
    switch (act_fn) {
    case CLNET_CL_ACT_relu: s = select((float16)0.0f, (float16)1.0f, y > 0.0f); break;
    case CLNET_CL_ACT_relu6:
        s = select((float16)0.0f, (float16)1.0f, y > 0.0f && y < 6.0f);
        break;
    case CLNET_CL_ACT_leaky_relu: s = select((float16)alpha, (float16)1.0f, y > 0.0f); break;
    default: return (float16)1.0f;
    }
    return select(s, y, isnan(y));
}

inline float bn_slope(float y, int act_fn, float alpha)
{
    return bn_slope16((float16)y, act_fn, alpha).s0;
}

/* The slope of a fused activation whose output does not give it, at the
 * pre-activation z: the smooth functions of common.clh in vector form, the
 * others lane by lane. */
CLNET_DEFINE_ACT_SLOPE(bn_pre_slope)
inline float16 bn_pre_slope16(float16 z, int act_fn, float alpha)
{
    switch (act_fn) {
    case CLNET_CL_ACT_sigmoid: return CLNET_SIGMOID_SLOPE(z);
    case CLNET_CL_ACT_tanh: return CLNET_TANH_SLOPE(z);
    case CLNET_CL_ACT_swish: return CLNET_SWISH_SLOPE(z);
    case CLNET_CL_ACT_lecun_tanh: return CLNET_LECUN_TANH_SLOPE(z);
    case CLNET_CL_ACT_gelu: return CLNET_GELU_SLOPE(z);
    default: {
        float lanes[16];
        vstore16(z, 0, lanes);
        for (int l = 0; l < 16; l++)
            lanes[l] = bn_pre_slope(lanes[l], act_fn, alpha);
        return vload16(0, lanes);
    }
    }
}

/* Training-mode gradient, one work-group per channel c = group id. With
 * xhat = (x - mean) * invstd over the M = batch * spatial elements of c:
 * dbeta = sum g, dgamma = sum g * xhat, and
 * dx = gamma * invstd * (g - dbeta / M - xhat * dgamma / M),
 * g being dy times the fused activation's slope (act_fn < 0: g = dy). The
 * slope is read from s, the fused output y, or with act_from_pre computed
 * at the pre-activation scale * x + shift that batchnorm's kernels compute,
 * s then being beta (C, its entries s_bs apart); computed once, the first
 * pass keeping g in dx for the second (evaluating GELU's slope in both
 * cost airbench's step 70 ms more than the store and load). The group
 * reduces both sums, then writes dx for the same elements, and g to dr
 * where a residual add was fused (has_dr; dr may be dy: each element is
 * read before it is written, by the same work-item); an image's plane goes
 * 16 elements at a time up to its last whole 16. */
__kernel void batchnorm_backward(__global const float *x, int x_off, int x_bs,
                                 __global const float *dy, int dy_off, int dy_bs,
                                 __global const float *mean, int mean_off, int mean_step,
                                 __global const float *var, int var_off, int var_step,
                                 __global const float *gamma, int gamma_off, int gamma_step,
                                 __global const float *s, int s_off, int s_bs, int act_from_pre,
                                 __global float *dx, int dx_off, int dx_bs,
                                 __global float *dgamma, int dgamma_off, int dgamma_step,
                                 __global float *dbeta, int dbeta_off, int dbeta_step,
                                 __global float *dr, int dr_off, int dr_bs, int has_dr,
                                 int batch, int spatial, float eps, int act_fn, float act_alpha,
                                 __local float2 *ls)
{
    int c = get_group_id(0), lid = get_local_id(0);
    __global const float *px = x + x_off + c * spatial;
    __global const float *pdy = dy + dy_off + c * spatial;
    __global const float *py = s + s_off + c * spatial;
    __global float *pdx = dx + dx_off + c * spatial;
    __global float *pdr = dr + dr_off + c * spatial;
    float mu = mean[mean_off + c * mean_step];
    float invstd = 1.0f / sqrt(var[var_off + c * var_step] + eps);
    const float2 affine = act_from_pre ? bn_affine(gamma[gamma_off + c * gamma_step],
                                                   s[s_off + c * s_bs], mu,
                                                   var[var_off + c * var_step], eps)
                                       : (float2)(0.0f, 0.0f);
    const int vecs = spatial / 16;
    const bn_split w = split_group(max(vecs, 1));
    /* (sum g, sum g * (x - mean)), each image's share summed on its own:
     * 16 lanes a step, then the elements past the last whole 16 */
    float2 acc = (float2)(0.0f, 0.0f);
    for (int n = w.n0; n < batch; n += w.nstep) {
        __global const float *rx = px + n * x_bs, *rdy = pdy + n * dy_bs, *ry = py + n * s_bs;
        __global float *rdx = pdx + n * dx_bs;
        float16 sum_g = 0.0f, sum_gx = 0.0f;
        for (int u = w.u0; u < vecs; u += w.ustep) {
            float16 g = vload16(u, rdy);
            if (act_from_pre) {
                g *= bn_pre_slope16(affine.x * vload16(u, rx) + affine.y, act_fn, act_alpha);
                vstore16(g, u, rdx);
            } else if (act_fn >= 0) {
                g *= bn_slope16(vload16(u, ry), act_fn, act_alpha);
            }
            sum_g += g;
            sum_gx = fma(g, vload16(u, rx) - mu, sum_gx);
        }
        float2 image = (float2)(sum16(sum_g), sum16(sum_gx));
        /* the tail, under 16 elements: a slope from the pre-activation for
         * all of it in one vector (element by element, GELU's slope took
         * airbench's 3x3 planes 4x as long as the separate pass) */
        float slopes[16];
        if (act_from_pre) {
            float z[16] = {0.0f};
            for (int t = vecs * 16 + w.u0, l = 0; t < spatial; t += w.ustep, l++)
                z[l] = affine.x * rx[t] + affine.y;
            vstore16(bn_pre_slope16(vload16(0, z), act_fn, act_alpha), 0, slopes);
        }
        for (int t = vecs * 16 + w.u0, l = 0; t < spatial; t += w.ustep, l++) {
            float g = rdy[t];
            if (act_from_pre) {
                g *= slopes[l];
                rdx[t] = g;
            } else if (act_fn >= 0) {
                g *= bn_slope(ry[t], act_fn, act_alpha);
            }
            image += (float2)(g, g * (rx[t] - mu));
        }
        acc += image;
    }
    float2 sums = group_sum2(acc, ls);
    if (lid == 0) {
        dbeta[dbeta_off + c * dbeta_step] = sums.x;
        dgamma[dgamma_off + c * dgamma_step] = sums.y * invstd;
    }
    float count = (float)(batch * spatial);
    float scale = gamma[gamma_off + c * gamma_step] * invstd;
    float dy_mean = sums.x / count, slope = sums.y * invstd * invstd / count;
    for (int n = w.n0; n < batch; n += w.nstep) {
        __global const float *rx = px + n * x_bs, *rdy = pdy + n * dy_bs, *ry = py + n * s_bs;
        __global float *rdx = pdx + n * dx_bs, *rdr = pdr + n * dr_bs;
        for (int u = w.u0; u < vecs; u += w.ustep) {
            float16 g = act_from_pre ? vload16(u, rdx) : vload16(u, rdy);
            if (!act_from_pre && act_fn >= 0)
                g *= bn_slope16(vload16(u, ry), act_fn, act_alpha);
            vstore16(scale * (g - dy_mean - (vload16(u, rx) - mu) * slope), u, rdx);
            if (has_dr)
                vstore16(g, u, rdr);
        }
        for (int t = vecs * 16 + w.u0; t < spatial; t += w.ustep) {
            float g = act_from_pre ? rdx[t] : rdy[t];
            if (!act_from_pre && act_fn >= 0)
                g *= bn_slope(ry[t], act_fn, act_alpha);
            rdx[t] = scale * (g - dy_mean - (rx[t] - mu) * slope);
            if (has_dr)
                rdr[t] = g;
        }
    }
}

/* The LRN window of channel c is c - size/2 .. c + (size-1)/2, clipped to
 * the channels present; the sum of squares is still divided by `size`.
 * Returns k + alpha/size * that sum for the column p (channels `spatial`
 * apart). */
inline float lrn_base(__global const float *p, int c, int spatial, int channels, int size,
                      float alpha, float k)
{
    int lo = max(c - size / 2, 0), hi = min(c + (size - 1) / 2, channels - 1);
    float sum = 0.0f;
    for (int j = lo; j <= hi; j++) {
        float v = p[j * spatial];
        sum += v * v;
    }
    return k + alpha / (float)size * sum;
}

/* LRN across channels: y = x / base^beta. */
__kernel void lrn(__global const float *x, int x_off, int x_bs,
                  __global float *y, int y_off, int y_bs,
                  int size, float alpha, float beta, float k)
{
    int s = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    int spatial = get_global_size(0), channels = get_global_size(1);
    __global const float *p = x + x_off + n * x_bs + s;
    float denom = pow(lrn_base(p, c, spatial, channels, size, alpha, k), beta);
    y[y_off + n * y_bs + c * spatial + s] = p[c * spatial] / denom;
}

/* The exact LRN gradient. Channel j enters the window of every channel i in
 * j - (size-1)/2 .. j + size/2, so
 * dx_j = dy_j * base_j^-beta
 *        - 2 * alpha * beta / size * x_j * sum_i dy_i * x_i * base_i^(-beta-1).
 * Each work-item recomputes the bases it needs (size^2 loads) rather than
 * keeping them in a scratch buffer the op does not have. */
__kernel void lrn_backward(__global const float *x, int x_off, int x_bs,
                           __global const float *dy, int dy_off, int dy_bs,
                           __global float *dx, int dx_off, int dx_bs,
                           int size, float alpha, float beta, float k)
{
    int s = get_global_id(0), j = get_global_id(1), n = get_global_id(2);
    int spatial = get_global_size(0), channels = get_global_size(1);
    __global const float *px = x + x_off + n * x_bs + s;
    __global const float *pdy = dy + dy_off + n * dy_bs + s;
    int lo = max(j - (size - 1) / 2, 0), hi = min(j + size / 2, channels - 1);
    float cross = 0.0f;
    for (int i = lo; i <= hi; i++) {
        float base = lrn_base(px, i, spatial, channels, size, alpha, k);
        cross += pdy[i * spatial] * px[i * spatial] * pow(base, -beta) / base;
    }
    float own = pow(lrn_base(px, j, spatial, channels, size, alpha, k), -beta);
    dx[dx_off + n * dx_bs + j * spatial + s] =
        pdy[j * spatial] * own - 2.0f * alpha * beta / (float)size * px[j * spatial] * cross;
}

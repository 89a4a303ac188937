/* norm.cl - batch normalisation (apply, and per-channel statistics as one
 * work-group reduction per channel) and local response normalisation. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense. For a per-channel vector (C) the stride is the
 * distance between its entries. Elementwise kernels run on the exact grid
 * (spatial, C, N), so get_global_size gives the shape and no per-element
 * division is needed. */

__kernel void batchnorm(__global const float *x, int x_off, int x_bs,
                        __global float *y, int y_off, int y_bs,
                        __global const float *mean, int mean_off, int mean_step,
                        __global const float *var, int var_off, int var_step,
                        __global const float *gamma, int gamma_off, int gamma_step,
                        __global const float *beta, int beta_off, int beta_step,
                        float eps)
{
    int s = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    int i = c * get_global_size(0) + s;
    float scale = gamma[gamma_off + c * gamma_step] / sqrt(var[var_off + c * var_step] + eps);
    y[y_off + n * y_bs + i] = scale * (x[x_off + n * x_bs + i] - mean[mean_off + c * mean_step]) +
                              beta[beta_off + c * beta_step];
}

/* Sum of `v` over the work-group (size a power of two), using one slot per
 * work-item of `ls`; every work-item gets the total. */
inline float group_sum(float v, __local float *ls)
{
    int lid = get_local_id(0);
    ls[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s /= 2) {
        if (lid < s)
            ls[lid] += ls[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = ls[0];
    /* nobody may refill ls before every work-item has read the total */
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* Moves a work-item's position (n, s) in the batch x spatial elements of a
 * channel `step` elements on, dividing only when it wraps past a row. */
inline void step_position(int *n, int *s, int step, int spatial)
{
    *s += step;
    if (*s >= spatial) {
        *n += *s / spatial;
        *s %= spatial;
    }
}

/* Mean and biased variance over the batch x spatial elements of one
 * channel, starting at p, computed by the whole work-group (size a power of
 * two) in two passes: the variance sums squared deviations from the mean,
 * which stays accurate where E[x^2] - E[x]^2 in float would cancel. */
inline void channel_stats(__global const float *p, int x_bs, int batch, int spatial,
                          __local float *ls, float *mean, float *var)
{
    int lid = get_local_id(0), size = get_local_size(0);
    float count = (float)(batch * spatial);
    float sum = 0.0f;
    for (int n = lid / spatial, s = lid % spatial; n < batch;
         step_position(&n, &s, size, spatial))
        sum += p[n * x_bs + s];
    float mu = group_sum(sum, ls) / count;
    float dev2 = 0.0f;
    for (int n = lid / spatial, s = lid % spatial; n < batch;
         step_position(&n, &s, size, spatial)) {
        float d = p[n * x_bs + s] - mu;
        dev2 += d * d;
    }
    *mean = mu;
    *var = group_sum(dev2, ls) / count;
}

/* One work-group per channel c = group id. */
__kernel void batchnorm_stats(__global const float *x, int x_off, int x_bs,
                              __global float *mean, int mean_off, int mean_step,
                              __global float *var, int var_off, int var_step,
                              int batch, int spatial, __local float *ls)
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
                                      __local float *ls)
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

/* LRN across channels: the window of channel c is c - size/2 .. c +
 * (size-1)/2, clipped to the channels present; the sum of squares is still
 * divided by `size`. */
__kernel void lrn(__global const float *x, int x_off, int x_bs,
                  __global float *y, int y_off, int y_bs,
                  int size, float alpha, float beta, float k)
{
    int s = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    int spatial = get_global_size(0), channels = get_global_size(1);
    __global const float *p = x + x_off + n * x_bs + s;
    int lo = max(c - size / 2, 0), hi = min(c + (size - 1) / 2, channels - 1);
    float sum = 0.0f;
    for (int j = lo; j <= hi; j++) {
        float v = p[j * spatial];
        sum += v * v;
    }
    float denom = pow(k + alpha / (float)size * sum, beta);
    y[y_off + n * y_bs + c * spatial + s] = p[c * spatial] / denom;
}

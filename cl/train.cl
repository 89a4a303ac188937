/* train.cl - reductions of training: per-channel sums (bias gradients),
 * softmax cross-entropy, LeCun et al.'s MMI criterion and mean squared
 * error with their gradients. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense. Each kernel runs one work-group (a power of two in
 * size) per independent sum, its work-items striding over the elements and
 * then combining their partials through `scratch`, one slot per item. */

/* The sum of `v` over the work-group, returned to every work-item. The
 * final barrier lets the caller reuse `scratch` at once. */
static inline float group_sum(float v, __local float *scratch)
{
    int lid = get_local_id(0), size = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size / 2; s > 0; s /= 2) {
        if (lid < s)
            scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* The larger of a and b, NaN winning, so that a NaN logit poisons its row
 * instead of vanishing into a max. */
static inline float max_nan(float a, float b)
{
    return isnan(b) || b > a ? b : a;
}

/* The maximum of `v` over the work-group, returned to every work-item. */
static inline float group_max(float v, __local float *scratch)
{
    int lid = get_local_id(0), size = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size / 2; s > 0; s /= 2) {
        if (lid < s)
            scratch[lid] = max_nan(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* REDUCE_SUM of x (N, C, spatial...). Work-group g sums channel c = g % C
 * over `images` images starting at image g / C: all N of them into y[c]
 * (per channel), or one into y[n, c] (keep_batch, images = 1). With
 * `by_rows` (a CPU, one work-item per group) the item sums each image's
 * plane as a row of vectors; otherwise the items share the flat index over
 * (image, position), which advances by the group size without a division
 * per element (that matters when spatial is 1: LINEAR's bias). */
__kernel void reduce_sum(__global const float *x, int x_off, int x_bs,
                         __global float *y, int y_off, int y_bs,
                         int channels, int spatial, int images, int keep_batch, int by_rows,
                         __local float *scratch)
{
    const int g = get_group_id(0), c = g % channels, n0 = g / channels;
    const int lid = get_local_id(0), size = get_local_size(0);
    __global const float *xc = x + x_off + n0 * x_bs + c * spatial;
    float sum = 0.0f;
    if (by_rows) {
        for (int n = lid; n < images; n += size)
            sum += row_sum(xc + n * x_bs, spatial);
    } else {
        const int step_n = size / spatial, step_s = size % spatial;
        int n = lid / spatial, s = lid % spatial;
        while (n < images) {
            sum += xc[n * x_bs + s];
            n += step_n;
            s += step_s;
            if (s >= spatial) {
                s -= spatial;
                n++;
            }
        }
    }
    sum = group_sum(sum, scratch);
    if (lid == 0)
        y[y_off + (keep_batch ? n0 * y_bs + c : c * y_bs)] = sum;
}

/* SOFTMAX_XENT: work-group n handles row n of the logits z (N, K). With
 * m = max z, e = sum exp(z - m) and target t = (1 - s) onehot(label) + s/K,
 *   loss = sum t_k (log e + m - z_k)
 *        = log e + (1 - s) (m - z_label) + s/K sum (m - z_k),
 * every term of which is non-negative: no cancellation for large logits.
 * dz = scale * (exp(z - m) / e - t). A label outside 0..K-1 makes the loss
 * and the gradient NaN, the only way a kernel can report it. */
__kernel void softmax_xent(__global const float *z, int z_off, int z_bs,
                           __global const int *label, int label_off, int label_bs,
                           __global float *loss, int loss_off, int loss_bs,
                           __global float *dz, int dz_off, int dz_bs,
                           int classes, float smoothing, float scale,
                           __local float *scratch)
{
    const int n = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    __global const float *zr = z + z_off + n * z_bs;
    __global float *dr = dz + dz_off + n * dz_bs;
    float m = -INFINITY;
    for (int k = lid; k < classes; k += size)
        m = max_nan(m, zr[k]);
    m = group_max(m, scratch);
    float e = 0.0f, d = 0.0f;
    for (int k = lid; k < classes; k += size) {
        e += exp(zr[k] - m);
        d += m - zr[k];
    }
    e = group_sum(e, scratch);
    d = group_sum(d, scratch);

    const int y = label[label_off + n * label_bs];
    const bool valid = y >= 0 && y < classes;
    const float uniform = smoothing / (float)classes, hot = 1.0f - smoothing;
    for (int k = lid; k < classes; k += size) {
        float t = uniform + (k == y ? hot : 0.0f);
        dr[k] = valid ? scale * (exp(zr[k] - m) / e - t) : NAN;
    }
    if (lid == 0)
        loss[loss_off + n * loss_bs] =
            valid ? log(e) + hot * (m - zr[y]) + uniform * d : NAN;
}

/* MMI_LOSS: work-group n handles row n of the penalties y (N, K), which
 * are scores -y beside a rubbish class of score -j. With m = the largest
 * score and e = exp(-j - m) + sum exp(-y_k - m),
 *   loss = y_label + m + log e,   dy = scale * (onehot - exp(-y - m) / e).
 * A label outside 0..K-1 makes the loss and the gradient NaN. */
__kernel void mmi_loss(__global const float *y, int y_off, int y_bs,
                       __global const int *label, int label_off, int label_bs,
                       __global float *loss, int loss_off, int loss_bs,
                       __global float *dy, int dy_off, int dy_bs,
                       int classes, float j, float scale, __local float *scratch)
{
    const int n = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    __global const float *yr = y + y_off + n * y_bs;
    __global float *dr = dy + dy_off + n * dy_bs;
    float m = -j;
    for (int k = lid; k < classes; k += size)
        m = max_nan(m, -yr[k]);
    m = group_max(m, scratch);
    float e = 0.0f;
    for (int k = lid; k < classes; k += size)
        e += exp(-yr[k] - m);
    e = group_sum(e, scratch) + exp(-j - m);

    const int t = label[label_off + n * label_bs];
    const bool valid = t >= 0 && t < classes;
    for (int k = lid; k < classes; k += size)
        dr[k] = valid ? scale * ((k == t ? 1.0f : 0.0f) - exp(-yr[k] - m) / e) : NAN;
    if (lid == 0)
        loss[loss_off + n * loss_bs] = valid ? yr[t] + m + log(e) : NAN;
}

/* MSE_LOSS: work-group n handles image n of F = `features` elements:
 * loss = sum (p - t)^2 / F, dp = scale * 2 (p - t) / F. */
__kernel void mse_loss(__global const float *p, int p_off, int p_bs,
                       __global const float *t, int t_off, int t_bs,
                       __global float *loss, int loss_off, int loss_bs,
                       __global float *dp, int dp_off, int dp_bs,
                       int features, float scale, __local float *scratch)
{
    const int n = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    __global const float *pr = p + p_off + n * p_bs;
    __global const float *tr = t + t_off + n * t_bs;
    __global float *dr = dp + dp_off + n * dp_bs;
    const float grad = 2.0f * scale / (float)features;
    float sum = 0.0f;
    for (int i = lid; i < features; i += size) {
        float diff = pr[i] - tr[i];
        sum += diff * diff;
        dr[i] = grad * diff;
    }
    sum = group_sum(sum, scratch);
    if (lid == 0)
        loss[loss_off + n * loss_bs] = sum / (float)features;
}

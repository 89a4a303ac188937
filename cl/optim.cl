/* optim.cl - optimizer steps (SGD with momentum/Nesterov, Adam/AdamW) that
 * update weights and their state in place, as torch.optim does. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense. Grid (image, N) of g, whose shape w and the state
 * tensors share; each work-item reads and rewrites only its own element. */

/* Plain SGD (no momentum, so no velocity): w -= lr * (g + wd * w). */
__kernel void sgd(__global const float *g, int g_off, int g_bs,
                  __global float *w, int w_off, int w_bs,
                  float lr, float weight_decay)
{
    int i = get_global_id(0), n = get_global_id(1);
    __global float *pw = w + w_off + n * w_bs + i;
    float wv = *pw;
    *pw = wv - lr * (g[g_off + n * g_bs + i] + weight_decay * wv);
}

/* SGD with momentum: g' = g + wd * w, v = momentum * v + g',
 * w -= lr * (nesterov ? g' + momentum * v : v). */
__kernel void sgd_momentum(__global const float *g, int g_off, int g_bs,
                           __global float *w, int w_off, int w_bs,
                           __global float *v, int v_off, int v_bs,
                           float lr, float momentum, float weight_decay, int nesterov)
{
    int i = get_global_id(0), n = get_global_id(1);
    __global float *pw = w + w_off + n * w_bs + i;
    __global float *pv = v + v_off + n * v_bs + i;
    float wv = *pw;
    float gd = g[g_off + n * g_bs + i] + weight_decay * wv;
    float vel = momentum * *pv + gd;
    *pv = vel;
    *pw = wv - lr * (nesterov ? gd + momentum * vel : vel);
}

/* Adam with the bias corrections folded in by the host: step = lr / (1 -
 * beta1^t), root2 = sqrt(1 - beta2^t). Weight decay enters as `l2` (added
 * to the gradient, Adam) or as `decay` = 1 - lr * wd (the weight shrunk
 * first, AdamW); the other one is 0, respectively 1. */
__kernel void adam(__global const float *g, int g_off, int g_bs,
                   __global float *w, int w_off, int w_bs,
                   __global float *m, int m_off, int m_bs,
                   __global float *v, int v_off, int v_bs,
                   float step, float beta1, float beta2, float eps, float root2,
                   float l2, float decay)
{
    int i = get_global_id(0), n = get_global_id(1);
    __global float *pw = w + w_off + n * w_bs + i;
    __global float *pm = m + m_off + n * m_bs + i;
    __global float *pv = v + v_off + n * v_bs + i;
    float wv = *pw;
    float gd = g[g_off + n * g_bs + i] + l2 * wv;
    float mv = beta1 * *pm + (1.0f - beta1) * gd;
    float vv = beta2 * *pv + (1.0f - beta2) * gd * gd;
    *pm = mv;
    *pv = vv;
    *pw = wv * decay - step * mv / (sqrt(vv) / root2 + eps);
}

/* whiten.c - the patch-whitening initialiser of airbench94's first layer:
 * the eigenvectors of the covariance of an image set's patches, scaled to
 * unit variance, and a symmetric eigensolver (cyclic Jacobi) for it. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JACOBI_SWEEPS 100
#define MAX_PATCH 256            /* floats per patch: a 256 x 256 covariance at most */

/* A' = J^T A J for the rotation J in the (p, q) plane by (c, s); V = V J. */
static void rotate(double *a, double *v, int n, int p, int q, double c, double s)
{
    for (int k = 0; k < n; k++) {
        double akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {
        double apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
    }
    for (int k = 0; k < n; k++) {
        double vkp = v[k * n + p], vkq = v[k * n + q];
        v[k * n + p] = c * vkp - s * vkq;
        v[k * n + q] = s * vkp + c * vkq;
    }
}

static double off_diagonal(const double *a, int n, double *total)
{
    double off = 0.0;
    *total = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            *total += a[i * n + j] * a[i * n + j];
            if (i != j)
                off += a[i * n + j] * a[i * n + j];
        }
    return off;
}

clnet_status clnet_symmetric_eigen(double *a, int n, double *values, double *vectors)
{
    if (!a || !values || !vectors || n < 1)
        return CLNET_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < n * n; i++)
        if (!isfinite(a[i]))
            return CLNET_ERR_INVALID_ARGUMENT;
    double *v = calloc((size_t)n * n, sizeof *v);
    int *order = malloc((size_t)n * sizeof *order);
    if (!v || !order) {
        free(v);
        free(order);
        return CLNET_ERR_HOST_MEMORY;
    }
    for (int i = 0; i < n; i++)
        v[i * n + i] = 1.0;
    for (int sweep = 0; sweep < JACOBI_SWEEPS; sweep++) {
        double total, off = off_diagonal(a, n, &total);
        if (off <= 1e-30 * total || off == 0.0)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0.0)
                    continue;
                /* the rotation that zeroes a[p][q] (the smaller angle) */
                double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0.0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0);
                rotate(a, v, n, p, q, c, t * c);
            }
    }
    /* ascending eigenvalues; eigenvector i is column order[i] of v */
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && a[order[j] * n + order[j]] < a[order[j - 1] * n + order[j - 1]];
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        values[i] = a[order[i] * n + order[i]];
        for (int k = 0; k < n; k++)
            vectors[i * n + k] = v[k * n + order[i]];
    }
    free(v);
    free(order);
    return CLNET_OK;
}

/* S = P^T P / p over every kh x kw patch (stride 1) of the n images, each
 * patch ordered (channel, row, column) as a filter's weights. */
static void patch_covariance(const float *images, int64_t n, int c, int h, int w, int kh, int kw,
                             double *s)
{
    int d = c * kh * kw;
    double patch[MAX_PATCH];
    memset(s, 0, (size_t)d * d * sizeof *s);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *im = images + (size_t)i * c * h * w;
        for (int y = 0; y + kh <= h; y++)
            for (int x = 0; x + kw <= w; x++, count++) {
                int e = 0;
                for (int ch = 0; ch < c; ch++)
                    for (int dy = 0; dy < kh; dy++)
                        for (int dx = 0; dx < kw; dx++)
                            patch[e++] = im[((size_t)ch * h + y + dy) * w + x + dx];
                for (int a = 0; a < d; a++)
                    for (int b = a; b < d; b++)
                        s[a * d + b] += patch[a] * patch[b];
            }
    }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++)
            s[b * d + a] = s[a * d + b] /= (double)count;
}

clnet_status clnet_net_init_whitening(clnet_net *net, int id, const float *images, int64_t n,
                                      float eps)
{
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    const nn_layer *l = id > 0 && id < net->nlayers ? &net->layers[id] : NULL;
    const clnet_shape *in = l ? &net->layers[l->spec.from[0]].out : NULL;
    if (!l || l->spec.kind != CLNET_LAYER_CONV || l->spec.conv.groups != 1 || in->ndim != 3)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "whitening init: layer %d is "
                          "not a 2-D convolution without groups", id);
    int c = (int)in->dim[0], h = (int)in->dim[1], w = (int)in->dim[2];
    int kh = l->spec.kernel[0], kw = l->spec.kernel[1], d = c * kh * kw;
    if (l->spec.out_channels != 2 * d || d > MAX_PATCH || kh > h || kw > w)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "whitening init: layer %d (%s) "
                          "has %d filters of %dx%dx%d on %dx%dx%d inputs; it needs 2 x %d = %d "
                          "filters no larger than the input, patches of at most %d values", id,
                          l->spec.name, l->spec.out_channels, c, kh, kw, c, h, w, d, 2 * d,
                          MAX_PATCH);
    if (l->spec.from[0] != 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "whitening init: layer %d (%s) "
                          "does not read the net's input", id, l->spec.name);
    if (!images || n < 1 || !(eps > 0.0f && isfinite(eps)))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "whitening init: %lld images "
                          "(at least 1), eps %g (must be > 0)", (long long)n, (double)eps);
    double *s = malloc((size_t)d * d * sizeof *s), *values = malloc((size_t)d * sizeof *values);
    double *vectors = malloc((size_t)d * d * sizeof *vectors);
    float *weights = malloc((size_t)2 * d * d * sizeof *weights);
    clnet_status st = s && values && vectors && weights ? CLNET_OK : CLNET_ERR_HOST_MEMORY;
    if (st == CLNET_OK) {
        patch_covariance(images, n, c, h, w, kh, kw, s);
        st = clnet_symmetric_eigen(s, d, values, vectors);
    }
    for (int i = 0; st == CLNET_OK && i < d; i++) {
        /* rounding can leave a tiny negative eigenvalue of a singular S */
        double scale = 1.0 / sqrt(fmax(values[i], 0.0) + (double)eps);
        for (int k = 0; k < d; k++) {
            weights[(size_t)i * d + k] = (float)(vectors[i * d + k] * scale);
            weights[(size_t)(d + i) * d + k] = -weights[(size_t)i * d + k];
        }
    }
    if (st == CLNET_OK)
        st = nn_param_write(net, &net->layers[id].params[0], weights);
    else
        st = clnet_fail(net->ctx, st, "whitening init: layer %d (%s): %s", id, l->spec.name,
                        st == CLNET_ERR_HOST_MEMORY ? "out of host memory"
                                                    : "the patch covariance is not finite");
    free(s);
    free(values);
    free(vectors);
    free(weights);
    return st;
}

/* pca.c - the principal components of a dataset's RGB colours, for the PCA
 * colour augmentation of Krizhevsky et al. 2012 ("fancy PCA"; see
 * clnet_augment in clnet/data.h). */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "clnet/data.h"

#define JACOBI_SWEEPS 50

/* The 3x3 covariance of the pixels' (R, G, B) in [0, 1] units. Integer sums
 * keep it exact whatever the dataset's size (255^2 per pixel leaves 2^47
 * pixels of headroom). */
static void covariance(const clnet_dataset *ds, double cov[3][3])
{
    size_t plane = (size_t)ds->height * ds->width;
    uint64_t sum[3] = {0}, prod[3][3] = {{0}};
    for (int64_t n = 0; n < ds->count; n++) {
        const uint8_t *img = ds->images + (size_t)n * 3 * plane;
        for (size_t i = 0; i < plane; i++) {
            unsigned v[3] = {img[i], img[plane + i], img[2 * plane + i]};
            for (int a = 0; a < 3; a++) {
                sum[a] += v[a];
                for (int b = a; b < 3; b++)
                    prod[a][b] += (uint64_t)v[a] * v[b];
            }
        }
    }
    double total = (double)ds->count * (double)plane;
    for (int a = 0; a < 3; a++)
        for (int b = a; b < 3; b++) {
            double mean_ab = (double)prod[a][b] / total;
            double mean_a = (double)sum[a] / total, mean_b = (double)sum[b] / total;
            cov[a][b] = cov[b][a] = (mean_ab - mean_a * mean_b) / (255.0 * 255.0);
        }
}

/* Cyclic Jacobi rotations: a becomes diagonal (its eigenvalues), the
 * columns of v the eigenvectors. */
static void jacobi(double a[3][3], double v[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            v[i][j] = i == j;
    for (int sweep = 0; sweep < JACOBI_SWEEPS; sweep++) {
        double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        if (off < 1e-300)
            break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                if (a[p][q] == 0.0)
                    continue;
                double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < 3; k++) {       /* a = a J */
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) {       /* a = J^T a */
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) {       /* v = v J */
                    double vkp = v[k][p], vkq = v[k][q];
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
    }
}

clnet_status clnet_dataset_pca(clnet_ctx *ctx, const clnet_dataset *ds, float eigval[3],
                               float eigvec[3][3])
{
    if (!ds || !eigval || !eigvec || !ds->images || ds->count <= 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset pca: NULL argument or an empty dataset");
    if (ds->channels != 3)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset pca: %s has %d channels; colour PCA needs 3 (RGB)", ds->name,
                          ds->channels);
    double a[3][3], v[3][3];
    covariance(ds, a);
    jacobi(a, v);
    int order[3] = {0, 1, 2};
    for (int i = 1; i < 3; i++)      /* largest eigenvalue first */
        for (int j = i; j > 0 && a[order[j]][order[j]] > a[order[j - 1]][order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < 3; i++) {
        int k = order[i];
        /* rounding can leave a zero eigenvalue slightly negative */
        eigval[i] = a[k][k] > 0 ? (float)a[k][k] : 0.0f;
        for (int c = 0; c < 3; c++)
            eigvec[i][c] = (float)v[c][k];
    }
    return CLNET_OK;
}

/* test_pca.c - PCA colour augmentation (Krizhevsky et al. 2012):
 * clnet_dataset_pca against a covariance computed here (eigen-equations,
 * orthonormal vectors, order) and a known case (grey images: one component
 * along (1, 1, 1)), and clnet_dataset_batch's shift: the same for every
 * pixel of an image, along the eigenvectors with coefficients alpha *
 * eigenvalue where alpha has the requested spread, seeded, and refused on
 * grey datasets and bad settings. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clnet.h"

#define SIZE 4                 /* images of SIZE x SIZE */
#define COUNT 2000
#define PCA_STD 0.1f

static int failures;

static void check(bool ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

typedef struct rng {
    uint64_t state;
} rng;

static unsigned next_byte(rng *r)
{
    r->state = r->state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(r->state >> 56);
}

/* COUNT seeded images of `channels` channels whose channels are correlated
 * (grey: equal). */
static clnet_dataset *make_set(int channels, bool grey, uint64_t seed)
{
    clnet_dataset *ds = calloc(1, sizeof *ds);
    size_t plane = SIZE * SIZE;
    ds->count = COUNT;
    ds->channels = channels;
    ds->height = ds->width = SIZE;
    ds->classes = 2;
    snprintf(ds->name, sizeof ds->name, "synthetic");
    ds->images = malloc(COUNT * channels * plane);
    ds->labels = calloc(COUNT, 1);
    rng r = {seed};
    for (int n = 0; n < COUNT; n++) {
        uint8_t *img = ds->images + (size_t)n * channels * plane;
        for (size_t i = 0; i < plane; i++) {
            /* correlated channels: a shared part plus a channel's own */
            unsigned shared = next_byte(&r) / 2;
            for (int c = 0; c < channels; c++)
                img[c * plane + i] = (uint8_t)(grey ? shared : shared + next_byte(&r) / (2 + c));
        }
    }
    return ds;
}

static void reference_covariance(const clnet_dataset *ds, double cov[3][3])
{
    size_t plane = SIZE * SIZE;
    double n = (double)ds->count * (double)plane, mean[3] = {0};
    for (int64_t k = 0; k < ds->count; k++)
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                mean[c] += ds->images[((size_t)k * 3 + c) * plane + i] / 255.0 / n;
    memset(cov, 0, 9 * sizeof cov[0][0]);
    for (int64_t k = 0; k < ds->count; k++)
        for (size_t i = 0; i < plane; i++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    cov[a][b] += (ds->images[((size_t)k * 3 + a) * plane + i] / 255.0 - mean[a]) *
                                 (ds->images[((size_t)k * 3 + b) * plane + i] / 255.0 - mean[b]) /
                                 n;
}

static void check_components(clnet_ctx *ctx)
{
    clnet_dataset *ds = make_set(3, false, 11);
    float val[3], vec[3][3];
    check(clnet_dataset_pca(ctx, ds, val, vec) == CLNET_OK, "pca of an RGB set");
    double cov[3][3], worst_eq = 0, worst_dot = 0;
    reference_covariance(ds, cov);
    for (int i = 0; i < 3; i++) {
        for (int a = 0; a < 3; a++) {
            double cv = 0;
            for (int b = 0; b < 3; b++)
                cv += cov[a][b] * vec[i][b];
            worst_eq = fmax(worst_eq, fabs(cv - val[i] * vec[i][a]));
        }
        for (int j = 0; j < 3; j++) {
            double dot = 0;
            for (int c = 0; c < 3; c++)
                dot += (double)vec[i][c] * vec[j][c];
            worst_dot = fmax(worst_dot, fabs(dot - (i == j)));
        }
    }
    printf("     eigenvalues %.6f %.6f %.6f; |Cv - lv| <= %.2e, |V'V - I| <= %.2e\n", val[0],
           val[1], val[2], worst_eq, worst_dot);
    check(worst_eq < 1e-6 && worst_dot < 1e-6, "C v = lambda v, orthonormal vectors");
    check(val[0] >= val[1] && val[1] >= val[2] && val[2] > 0, "eigenvalues largest first");
    double trace = cov[0][0] + cov[1][1] + cov[2][2];
    check(fabs(val[0] + val[1] + val[2] - trace) < 1e-6, "eigenvalues sum to the trace");
    clnet_dataset_free(ds);

    ds = make_set(3, true, 12);
    clnet_dataset_pca(ctx, ds, val, vec);
    double along = fabs(vec[0][0] + vec[0][1] + vec[0][2]) / sqrt(3.0);
    check(along > 1 - 1e-6 && val[1] < 1e-7 && val[2] < 1e-7,
          "grey images: one component, along (1, 1, 1)");
    clnet_dataset_free(ds);
}

/* Batches every example with and without the augmentation. */
static bool batches(clnet_ctx *ctx, const clnet_dataset *ds, const clnet_augment *aug,
                    uint64_t seed, float *with, float *without)
{
    int64_t *idx = malloc(COUNT * sizeof *idx);
    for (int i = 0; i < COUNT; i++)
        idx[i] = i;
    bool ok = clnet_dataset_batch(ctx, ds, idx, COUNT, aug, seed, NULL, NULL, with, NULL) ==
                  CLNET_OK &&
              clnet_dataset_batch(ctx, ds, idx, COUNT, NULL, seed, NULL, NULL, without, NULL) ==
                  CLNET_OK;
    free(idx);
    return ok;
}

static void check_shift(clnet_ctx *ctx)
{
    clnet_dataset *ds = make_set(3, false, 13);
    clnet_augment aug = {.pca_std = PCA_STD};
    clnet_dataset_pca(ctx, ds, aug.pca_eigval, aug.pca_eigvec);
    size_t plane = SIZE * SIZE, size = 3 * plane;
    float *with = malloc(COUNT * size * sizeof *with);
    float *without = malloc(COUNT * size * sizeof *with);
    float *again = malloc(COUNT * size * sizeof *with);
    check(batches(ctx, ds, &aug, 5, with, without), "batches with PCA augmentation");
    double worst_spread = 0, sum = 0, sq = 0;
    for (int n = 0; n < COUNT; n++) {
        float d[3];
        for (int c = 0; c < 3; c++) {
            const float *a = with + n * size + c * plane, *b = without + n * size + c * plane;
            d[c] = a[0] - b[0];
            for (size_t i = 1; i < plane; i++)
                worst_spread = fmax(worst_spread, fabs((a[i] - b[i]) - d[c]));
        }
        for (int i = 0; i < 3; i++) {
            double alpha = 0;
            for (int c = 0; c < 3; c++)
                alpha += (double)aug.pca_eigvec[i][c] * d[c];
            alpha /= aug.pca_eigval[i];
            sum += alpha;
            sq += alpha * alpha;
        }
    }
    double samples = 3.0 * COUNT, mean = sum / samples, sd = sqrt(sq / samples - mean * mean);
    printf("     alpha: mean %.4f, standard deviation %.4f (asked %.2f) over %.0f draws\n", mean,
           sd, (double)PCA_STD, samples);
    check(worst_spread < 1e-5, "one shift for every pixel of an image");
    check(fabs(mean) < 0.01 && fabs(sd - PCA_STD) < 0.01, "alpha ~ N(0, pca_std)");
    check(batches(ctx, ds, &aug, 5, again, without) &&
              memcmp(with, again, COUNT * size * sizeof *with) == 0,
          "the same seed gives the same shifts");
    check(batches(ctx, ds, &aug, 6, again, without) &&
              memcmp(with, again, COUNT * size * sizeof *with) != 0,
          "another seed gives other shifts");
    aug.pca_std = NAN;
    check(batches(ctx, ds, &aug, 5, again, without) == false, "a NaN pca_std is refused");
    free(with);
    free(without);
    free(again);
    clnet_dataset_free(ds);

    ds = make_set(1, true, 14);
    float val[3], vec[3][3];
    check(clnet_dataset_pca(ctx, ds, val, vec) == CLNET_ERR_INVALID_ARGUMENT,
          "pca of a grey dataset is refused");
    aug = (clnet_augment){.pca_std = PCA_STD};
    float x[SIZE * SIZE];
    int64_t index = 0;
    check(clnet_dataset_batch(ctx, ds, &index, 1, &aug, 1, NULL, NULL, x, NULL) ==
              CLNET_ERR_INVALID_ARGUMENT,
          "PCA augmentation of a grey dataset is refused");
    printf("     %s\n", clnet_last_error(ctx));
    clnet_dataset_free(ds);
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: no context\n");
        return 1;
    }
    check_components(ctx);
    check_shift(ctx);
    clnet_ctx_free(ctx);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}

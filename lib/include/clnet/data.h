/* clnet/data.h - datasets (MNIST/Fashion-MNIST IDX, CIFAR-10/100 binary),
 * where they are looked for, and seeded batching with augmentation. */
#ifndef CLNET_DATA_H
#define CLNET_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clnet/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A labelled image set held in host memory as uint8, NCHW. */
typedef struct clnet_dataset {
    char name[32];          /* "mnist", "fashion-mnist", "cifar10", "cifar100" */
    int64_t count;          /* number of examples */
    int channels, height, width;
    int classes;            /* 10, or 100 for CIFAR-100 fine labels */
    uint8_t *images;        /* count * channels * height * width bytes */
    uint8_t *labels;        /* count bytes, each < classes */
    bool borrowed;          /* images and labels belong to the caller (a dataset made
                               by clnet_dataset_from_arrays without copying):
                               clnet_dataset_free leaves them alone */
} clnet_dataset;

typedef enum clnet_split {
    CLNET_SPLIT_TRAIN = 0,
    CLNET_SPLIT_TEST = 1
} clnet_split;

/* Loads an IDX image file and its IDX label file (MNIST format; gzipped or
 * not, detected from the content). On success *out is owned by the caller
 * (clnet_dataset_free). Errors, each naming the file and what is wrong in
 * clnet_last_error(ctx) (ctx may be NULL): CLNET_ERR_IO (cannot open/read),
 * CLNET_ERR_FORMAT (wrong magic, truncated, counts of images and labels
 * differ, a label out of range, trailing bytes), CLNET_ERR_HOST_MEMORY.
 * Nothing partial is ever returned. */
clnet_status clnet_dataset_load_idx(clnet_ctx *ctx, const char *images_path,
                                    const char *labels_path, clnet_dataset **out);

/* Loads CIFAR binary batch files (each gzipped or not) and concatenates them
 * in order. classes = 10 (records of 1 label + 3072 bytes) or 100 (coarse +
 * fine label + 3072 bytes; the fine label is kept). Errors as
 * clnet_dataset_load_idx; a file whose size is not a whole number of records
 * is CLNET_ERR_FORMAT. */
clnet_status clnet_dataset_load_cifar(clnet_ctx *ctx, const char *const *paths, int npaths,
                                      int classes, clnet_dataset **out);

/* Loads a named dataset split, looking for its files (original names, with
 * or without .gz) in this order: `dir` if not NULL, $CLNET_DATA, then the
 * shared CI copy (../shared/datasets and ../../shared/datasets relative to
 * the working directory), then /usr/share/datasets/fashion-mnist for
 * Fashion-MNIST. Within a directory, MNIST is looked for in "<dir>/mnist"
 * and "<dir>", CIFAR-10 in "<dir>/cifar-10-batches-bin" and "<dir>",
 * CIFAR-100 in "<dir>/cifar-100-binary" and "<dir>", Fashion-MNIST in
 * "<dir>/fashion-mnist" and "<dir>". Names: "mnist", "fashion-mnist",
 * "cifar10", "cifar100". Errors: CLNET_ERR_INVALID_ARGUMENT (unknown name),
 * CLNET_ERR_IO when the files are nowhere (the message lists every place
 * tried), and those of the loaders. */
clnet_status clnet_dataset_load(clnet_ctx *ctx, const char *name, clnet_split split,
                                const char *dir, clnet_dataset **out);

/* Releases a dataset made by the library (a loader or a constructor below)
 * and whatever the library allocated for it: the images and labels too,
 * unless they are borrowed. NULL is ignored. */
void clnet_dataset_free(clnet_dataset *ds);

/* ---- datasets from other sources --------------------------------------
 * Every constructor hands back a new dataset the caller releases with
 * clnet_dataset_free, leaves its sources unchanged, and on failure sets
 * *out to NULL and leaks nothing. `name` (may be NULL: "custom") is copied
 * (at most 31 bytes) and only names the set in messages. */

/* A dataset of `count` images of channels x height x width bytes each (NCHW,
 * 0..255 for pixel values 0..1) with one label byte per image, each below
 * `classes` (1..256). copy = true copies both arrays, so the caller may free
 * them at once; copy = false borrows them: they must outlive the dataset,
 * which never changes or frees them. Errors: CLNET_ERR_INVALID_ARGUMENT (a
 * NULL array, count < 1, a dimension < 1, classes outside 1..256, a label
 * >= classes, naming its index), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_dataset_from_arrays(clnet_ctx *ctx, const char *name, int64_t count,
                                       int channels, int height, int width, int classes,
                                       const uint8_t *images, const uint8_t *labels, bool copy,
                                       clnet_dataset **out);

/* The examples indices[0..n) of `src`, in that order (an index may repeat),
 * copied: e.g. a validation split. Errors: CLNET_ERR_INVALID_ARGUMENT (NULL
 * argument, n < 1, an index outside 0..count-1, naming it),
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_dataset_subset(clnet_ctx *ctx, const clnet_dataset *src,
                                  const int64_t *indices, int64_t n, clnet_dataset **out);

/* `src` with its labels mapped: an example of label l gets map[l] when
 * map[l] >= 0 and is dropped when map[l] < 0; nmap must equal src->classes
 * and the new set has `classes` classes (every map[l] < classes), e.g. the
 * digits 0..4 only, or two super-classes. Images are copied. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, nmap != src->classes, a
 * mapped label outside 0..classes-1, no example kept), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_dataset_remap_labels(clnet_ctx *ctx, const clnet_dataset *src,
                                        const int *map, int nmap, int classes,
                                        clnet_dataset **out);

/* The examples of parts[0], then parts[1], ..., copied into one set; every
 * part must have the same image shape, and the result has the most classes
 * of any part. Errors: CLNET_ERR_INVALID_ARGUMENT (NULL argument, nparts <
 * 1, shapes that differ, naming the part), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_dataset_concat(clnet_ctx *ctx, const clnet_dataset *const *parts, int nparts,
                                  clnet_dataset **out);

/* Random augmentation applied per example when batching. Zero-initialised
 * means none. Every random choice is a pure function of (seed, example
 * index), so batches are identical whatever thread computes them. */
typedef struct clnet_augment {
    int crop_pad;           /* random crop of the original size from the image zero-padded by this */
    bool hflip;             /* mirror left-right with probability 1/2 */
    bool vflip;             /* mirror top-bottom with probability 1/2 */
    int translate;          /* shift by up to +-translate pixels in x and y */
    float rotate_deg;       /* rotate by up to +-rotate_deg degrees (bilinear) */
    float shear;            /* shear factor up to +-shear in x */
    float elastic_alpha;    /* elastic warping strength in pixels (Simard et al. 2003); 0 = off */
    float elastic_sigma;    /* smoothness of the elastic displacement field */
    float brightness;       /* colour jitter: scale by 1 +- brightness */
    float contrast;         /* colour jitter: contrast factor 1 +- contrast */
    float saturation;       /* colour jitter: saturation factor 1 +- saturation (3 channels) */
    bool reflect;           /* crop_pad and translate fill with the image mirrored across
                               its border (PyTorch's 'reflect' padding) instead of zeros */
    bool hflip_alternate;   /* airbench's derandomised flip: example i is mirrored by a coin
                               drawn from (alternate_seed, i) alone, and every example is
                               mirrored once more when alternate_epoch is odd, so each
                               image is seen both ways in any two consecutive epochs
                               (clnet_net_train_epoch sets the two fields below) */
    uint64_t alternate_seed;
    int alternate_epoch;
    /* PCA colour augmentation (Krizhevsky et al. 2012, "fancy PCA"; 3
     * channels only): every pixel of an image, in [0, 1] units, is shifted
     * by sum_i pca_eigvec[i] * alpha_i * pca_eigval[i], with alpha_i drawn
     * from N(0, pca_std^2) once per image and component, before colour
     * jitter and without clipping. clnet_dataset_pca fills the eigenvalues
     * and eigenvectors from the training set. 0 = off. */
    float pca_std;
    float pca_eigval[3];    /* eigenvalues of the RGB covariance, largest first */
    float pca_eigvec[3][3]; /* pca_eigvec[i]: the unit eigenvector (R, G, B) of pca_eigval[i] */
} clnet_augment;

/* Per-channel mean and standard deviation of the whole set, in [0, 1] pixel
 * units, for normalisation. mean and std hold `channels` floats each. */
void clnet_dataset_stats(const clnet_dataset *ds, float *mean, float *std);

/* The mean image of the whole set, in [0, 1] pixel units: mean[i] for each
 * of the C*H*W positions (per-pixel mean subtraction). */
void clnet_dataset_pixel_mean(const clnet_dataset *ds, float *mean);
/* The principal components of the colour of every pixel of `ds`: the
 * eigenvalues (largest first, each >= 0) and unit eigenvectors of the 3x3
 * covariance of its (R, G, B) values in [0, 1] units, as clnet_augment's
 * PCA colour augmentation takes them. Errors, with a message when ctx is
 * not NULL: CLNET_ERR_INVALID_ARGUMENT (a NULL argument, an empty dataset,
 * a dataset without exactly 3 channels). */
clnet_status clnet_dataset_pca(clnet_ctx *ctx, const clnet_dataset *ds, float eigval[3],
                               float eigvec[3][3]);

/* Writes examples indices[0..n) as float NCHW into x (n * C*H*W floats):
 * pixels scaled to [0, 1], augmented (aug may be NULL), then normalised
 * (x - mean[c]) / std[c] (mean/std may be NULL: no normalisation), and their
 * labels into labels (may be NULL). `seed` and each example's index select
 * its augmentation. Safe to call from several threads at once on one
 * dataset. Errors, with a message in clnet_last_error(ctx) when ctx is not
 * NULL: CLNET_ERR_INVALID_ARGUMENT (index out of range, NULL x, a zero std,
 * augmentation settings out of range, PCA augmentation on a dataset without
 * 3 channels), CLNET_ERR_HOST_MEMORY (scratch). */
clnet_status clnet_dataset_batch(clnet_ctx *ctx, const clnet_dataset *ds, const int64_t *indices,
                                 int n, const clnet_augment *aug, uint64_t seed, const float *mean,
                                 const float *std, float *x, int32_t *labels);

/* Resizes one image of `channels` planes (dense CHW floats) from height x
 * width to out_height x out_width by bilinear interpolation, as PyTorch's
 * interpolate(mode='bilinear', align_corners=False) without antialiasing:
 * output pixel (y, x) samples the input at ((y + 0.5) * height / out_height
 * - 0.5, (x + 0.5) * width / out_width - 0.5), clamped to the image, so a
 * constant image stays constant and the same size is a copy. src and dst
 * (out_height * out_width floats per channel) must not overlap. Thread-safe.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (a NULL pointer, a size < 1). */
clnet_status clnet_image_resize(const float *src, int channels, int height, int width,
                                float *dst, int out_height, int out_width);

/* Fills order[0..n) with a permutation of 0..n-1 determined by `seed`
 * (Fisher-Yates over a splitmix64 stream): the same seed gives the same
 * order on every machine. */
void clnet_dataset_shuffle(int64_t *order, int64_t n, uint64_t seed);

/* The next number of the splitmix64 stream whose state is *state (Steele,
 * Lea and Flood 2014): adds 0x9e3779b97f4a7c15 to *state and returns
 * clnet_splitmix64_mix of the sum. Every random choice clnet makes (initial
 * weights, shuffles, augmentation, dropout masks) comes from this
 * generator, so a caller can reproduce them; integer arithmetic only, the
 * same on every machine. Thread-safe for distinct states; no errors. */
uint64_t clnet_splitmix64(uint64_t *state);

/* splitmix64's output function alone: a bijection of 64-bit values that
 * spreads every input bit over the whole word, used to derive independent
 * seeds from (seed, index) pairs. Pure; no errors. */
uint64_t clnet_splitmix64_mix(uint64_t z);

/* A float uniform in [0, 1) from the top 24 bits of clnet_splitmix64(state)
 * (exact in float: every value is a multiple of 2^-24). Advances *state
 * like clnet_splitmix64; no errors. */
float clnet_splitmix64_float(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif

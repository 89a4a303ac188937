/* batch.c - dataset statistics, seeded shuffling, and batching with
 * per-example augmentation whose random choices depend only on
 * (seed, example index). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "clnet/data.h"

/* Bounds that keep the integer and kernel arithmetic below far from
 * overflow; no real augmentation comes near them. */
#define MAX_SHIFT (1 << 20)
#define PI_F 3.14159265358979f

/* ---- random numbers: splitmix64, identical on every machine ---- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) { return clnet_splitmix64(&r->state); }

/* Uniform in [0, 1) with 24 bits, exact in float. */
static float rng_unit(rng *r) { return clnet_splitmix64_float(&r->state); }

/* Uniform in [-a, a). */
static float rng_sym(rng *r, float a)
{
    return a * (2.0f * rng_unit(r) - 1.0f);
}

/* Uniform in [0, bound) without modulo bias: values below 2^64 mod bound
 * are rejected. */
static uint64_t rng_below(rng *r, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= threshold)
            return x % bound;
    }
}

/* Uniform integer in [-a, a]. */
static int rng_int_sym(rng *r, int a)
{
    return (int)rng_below(r, 2 * (uint64_t)a + 1) - a;
}

/* Each augmentation draws from its own stream, so switching one on does
 * not change the choices made by the others. */
typedef enum stream {
    STREAM_FLIP = 1,
    STREAM_AFFINE,
    STREAM_ELASTIC,
    STREAM_CROP,
    STREAM_TRANSLATE,
    STREAM_COLOUR,
    STREAM_PCA
} stream;

static rng stream_rng(uint64_t seed, int64_t index, stream s)
{
    rng r = {clnet_splitmix64_mix(clnet_splitmix64_mix(seed) ^
                                  clnet_splitmix64_mix((uint64_t)index * 8 + (uint64_t)s))};
    return r;
}

/* ---- images and scratch memory ---- */

typedef struct image {
    float *px;   /* channels * height * width, CHW */
    int c, h, w;
} image;

/* Memory one batch call needs for the geometric augmentations, allocated
 * once per call. */
typedef struct scratch {
    float *copy;    /* a copy of the image being resampled */
    float *dx, *dy; /* elastic displacement fields, height * width each */
    float *blur;    /* intermediate of the separable Gaussian */
    float *kernel;  /* Gaussian taps, 2 * radius + 1 */
    int radius;
} scratch;

static size_t image_size(const image *im)
{
    return (size_t)im->c * (size_t)im->h * (size_t)im->w;
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* Bilinear sample of one channel plane at (x, y); outside is zero. */
static float bilinear(const float *plane, int h, int w, float x, float y)
{
    float fx = floorf(x), fy = floorf(y);
    if (!(fx >= -1.0f && fx < (float)w && fy >= -1.0f && fy < (float)h))
        return 0.0f;
    int x0 = (int)fx, y0 = (int)fy;
    float ax = x - fx, ay = y - fy, sum = 0.0f;
    for (int j = 0; j < 2; j++) {
        int yy = y0 + j;
        if (yy < 0 || yy >= h)
            continue;
        float wy = j ? ay : 1.0f - ay;
        for (int i = 0; i < 2; i++) {
            int xx = x0 + i;
            if (xx >= 0 && xx < w)
                sum += wy * (i ? ax : 1.0f - ax) * plane[(size_t)yy * w + xx];
        }
    }
    return sum;
}

/* ---- geometric augmentations ---- */

/* The coordinate in 0..n-1 that reflect padding reads for any i (PyTorch's
 * 'reflect': the border pixel is not repeated; 0 when n is 1). */
static int reflect_index(int i, int n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* out(y, x) = in(y + dy, x + dx); where that falls outside: the mirror
 * image across the border when `reflect`, else zero. */
static void shift(image *im, float *copy, int dx, int dy, bool reflect)
{
    memcpy(copy, im->px, image_size(im) * sizeof *copy);
    size_t plane = (size_t)im->h * im->w;
    for (int c = 0; c < im->c; c++)
        for (int y = 0; y < im->h; y++)
            for (int x = 0; x < im->w; x++) {
                int sy = y + dy, sx = x + dx;
                bool inside = sy >= 0 && sy < im->h && sx >= 0 && sx < im->w;
                if (!inside && reflect) {
                    sy = reflect_index(sy, im->h);
                    sx = reflect_index(sx, im->w);
                    inside = true;
                }
                im->px[c * plane + (size_t)y * im->w + x] =
                    inside ? copy[c * plane + (size_t)sy * im->w + sx] : 0.0f;
            }
}

/* A crop of the original size at a random place in the image zero-padded
 * by `pad` on every side is a shift by up to +-pad. */
static void random_crop(image *im, const scratch *s, rng *r, int pad, bool reflect)
{
    int dx = rng_int_sym(r, pad);
    int dy = rng_int_sym(r, pad);
    shift(im, s->copy, dx, dy, reflect);
}

static void translate(image *im, const scratch *s, rng *r, int range, bool reflect)
{
    int dx = rng_int_sym(r, range);
    int dy = rng_int_sym(r, range);
    shift(im, s->copy, dx, dy, reflect);
}

static void hflip(image *im)
{
    for (int c = 0; c < im->c; c++)
        for (int y = 0; y < im->h; y++) {
            float *row = im->px + ((size_t)c * im->h + y) * im->w;
            for (int a = 0, b = im->w - 1; a < b; a++, b--) {
                float t = row[a];
                row[a] = row[b];
                row[b] = t;
            }
        }
}

static void vflip(image *im)
{
    for (int c = 0; c < im->c; c++) {
        float *plane = im->px + (size_t)c * im->h * im->w;
        for (int a = 0, b = im->h - 1; a < b; a++, b--)
            for (int x = 0; x < im->w; x++) {
                float t = plane[(size_t)a * im->w + x];
                plane[(size_t)a * im->w + x] = plane[(size_t)b * im->w + x];
                plane[(size_t)b * im->w + x] = t;
            }
    }
}

/* Resamples the image through the 2x2 matrix m (output to input
 * coordinates, about the image centre), bilinear, zero fill. */
static void warp_affine(image *im, float *copy, const float m[4])
{
    memcpy(copy, im->px, image_size(im) * sizeof *copy);
    float cx = 0.5f * (float)(im->w - 1), cy = 0.5f * (float)(im->h - 1);
    size_t plane = (size_t)im->h * im->w;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float u = (float)x - cx, v = (float)y - cy;
            float sx = m[0] * u + m[1] * v + cx, sy = m[2] * u + m[3] * v + cy;
            for (int c = 0; c < im->c; c++)
                im->px[c * plane + (size_t)y * im->w + x] =
                    bilinear(copy + c * plane, im->h, im->w, sx, sy);
        }
}

/* Rotation by up to +-deg and x-shear by up to +-shear, composed into one
 * resampling so the image is interpolated once. The matrix maps output to
 * input: the inverse of rotate-after-shear. */
static void rotate_shear(image *im, const scratch *s, rng *r, float deg, float shear)
{
    float theta = rng_sym(r, deg) * (PI_F / 180.0f);
    float k = rng_sym(r, shear);
    float cs = cosf(theta), sn = sinf(theta);
    /* [1 -k; 0 1] * [cos sin; -sin cos] */
    float m[4] = {cs + k * sn, sn - k * cs, -sn, cs};
    warp_affine(im, s->copy, m);
}

/* Separable Gaussian blur of one height x width field with zero
 * boundary, through s->blur. Tap ranges are clipped to the field instead
 * of testing every tap, and the vertical pass runs along rows, which keeps
 * elastic warping to a few milliseconds a batch. */
static void gaussian_blur(float *field, int h, int w, const scratch *s)
{
    int r = s->radius;
    const float *k = s->kernel + r;
    for (int y = 0; y < h; y++) {
        const float *in = field + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            int lo = x - r < 0 ? -x : -r, hi = x + r >= w ? w - 1 - x : r;
            float sum = 0.0f;
            for (int t = lo; t <= hi; t++)
                sum += k[t] * in[x + t];
            s->blur[(size_t)y * w + x] = sum;
        }
    }
    for (int y = 0; y < h; y++) {
        float *out = field + (size_t)y * w;
        int lo = y - r < 0 ? -y : -r, hi = y + r >= h ? h - 1 - y : r;
        for (int x = 0; x < w; x++)
            out[x] = 0.0f;
        for (int t = lo; t <= hi; t++) {
            const float *in = s->blur + (size_t)(y + t) * w;
            for (int x = 0; x < w; x++)
                out[x] += k[t] * in[x];
        }
    }
}

/* Simard et al. (2003): a uniform random displacement field, smoothed by a
 * Gaussian and scaled by alpha, resampled bilinearly. */
static void elastic(image *im, const scratch *s, rng *r, float alpha)
{
    size_t plane = (size_t)im->h * im->w;
    for (size_t i = 0; i < plane; i++) {
        s->dx[i] = rng_sym(r, 1.0f);
        s->dy[i] = rng_sym(r, 1.0f);
    }
    gaussian_blur(s->dx, im->h, im->w, s);
    gaussian_blur(s->dy, im->h, im->w, s);
    memcpy(s->copy, im->px, image_size(im) * sizeof *s->copy);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            size_t i = (size_t)y * im->w + x;
            float sx = (float)x + alpha * s->dx[i], sy = (float)y + alpha * s->dy[i];
            for (int c = 0; c < im->c; c++)
                im->px[c * plane + i] = bilinear(s->copy + c * plane, im->h, im->w, sx, sy);
        }
}

/* ---- colour jitter ---- */

static void brightness(image *im, rng *r, float amount)
{
    float f = 1.0f + rng_sym(r, amount);
    for (size_t i = 0; i < image_size(im); i++)
        im->px[i] = clamp01(im->px[i] * f);
}

/* Grey level of pixel i: luminance for RGB, the value itself otherwise. */
static float grey(const image *im, size_t i)
{
    size_t plane = (size_t)im->h * im->w;
    if (im->c != 3)
        return im->px[i];
    return 0.299f * im->px[i] + 0.587f * im->px[plane + i] + 0.114f * im->px[2 * plane + i];
}

/* Scales the distance from the image's mean grey level. */
static void contrast(image *im, rng *r, float amount)
{
    float f = 1.0f + rng_sym(r, amount);
    size_t plane = (size_t)im->h * im->w;
    size_t grey_n = im->c == 3 ? plane : image_size(im);
    double sum = 0.0;
    for (size_t i = 0; i < grey_n; i++)
        sum += grey(im, i);
    float mean = (float)(sum / (double)grey_n);
    for (size_t i = 0; i < image_size(im); i++)
        im->px[i] = clamp01(mean + f * (im->px[i] - mean));
}

/* Scales each pixel's distance from its own grey level (RGB only). */
static void saturation(image *im, rng *r, float amount)
{
    float f = 1.0f + rng_sym(r, amount);
    size_t plane = (size_t)im->h * im->w;
    for (size_t i = 0; i < plane; i++) {
        float g = grey(im, i);
        for (int c = 0; c < 3; c++) {
            float *p = &im->px[c * plane + i];
            *p = clamp01(g + f * (*p - g));
        }
    }
}

/* ---- PCA colour augmentation ---- */

/* A standard normal value (Box-Muller; 1 - u keeps the logarithm finite). */
static float rng_normal(rng *r)
{
    float u = 1.0f - rng_unit(r), v = rng_unit(r);
    return sqrtf(-2.0f * logf(u)) * cosf(2.0f * PI_F * v);
}

static void pca_colour(image *im, rng *r, const clnet_augment *a)
{
    float shift[3] = {0};
    for (int i = 0; i < 3; i++) {
        float alpha = a->pca_std * rng_normal(r);
        for (int c = 0; c < 3; c++)
            shift[c] += a->pca_eigvec[i][c] * alpha * a->pca_eigval[i];
    }
    size_t plane = (size_t)im->h * im->w;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++)
            im->px[c * plane + i] += shift[c];
}

/* ---- putting it together ---- */

static bool is_geometric(const clnet_augment *a)
{
    return a->crop_pad > 0 || a->translate > 0 || a->rotate_deg > 0.0f || a->shear > 0.0f ||
           a->elastic_alpha > 0.0f;
}

static void augment(image *im, const clnet_augment *a, const scratch *s, uint64_t seed,
                    int64_t index)
{
    rng r = stream_rng(seed, index, STREAM_FLIP);
    /* Both coins are always drawn so each keeps its place in the stream. */
    bool h = rng_next(&r) >> 63, v = rng_next(&r) >> 63;
    if (a->hflip_alternate) {
        rng fixed = stream_rng(a->alternate_seed, index, STREAM_FLIP);
        h = (bool)(rng_next(&fixed) >> 63) != (a->alternate_epoch % 2 != 0);
    }
    if ((a->hflip || a->hflip_alternate) && h)
        hflip(im);
    if (a->vflip && v)
        vflip(im);
    if (a->rotate_deg > 0.0f || a->shear > 0.0f) {
        r = stream_rng(seed, index, STREAM_AFFINE);
        rotate_shear(im, s, &r, a->rotate_deg, a->shear);
    }
    if (a->elastic_alpha > 0.0f) {
        r = stream_rng(seed, index, STREAM_ELASTIC);
        elastic(im, s, &r, a->elastic_alpha);
    }
    if (a->crop_pad > 0) {
        r = stream_rng(seed, index, STREAM_CROP);
        random_crop(im, s, &r, a->crop_pad, a->reflect);
    }
    if (a->translate > 0) {
        r = stream_rng(seed, index, STREAM_TRANSLATE);
        translate(im, s, &r, a->translate, a->reflect);
    }
    if (a->pca_std > 0.0f) {
        r = stream_rng(seed, index, STREAM_PCA);
        pca_colour(im, &r, a);
    }
    r = stream_rng(seed, index, STREAM_COLOUR);
    if (a->brightness > 0.0f)
        brightness(im, &r, a->brightness);
    if (a->contrast > 0.0f)
        contrast(im, &r, a->contrast);
    if (a->saturation > 0.0f && im->c == 3)
        saturation(im, &r, a->saturation);
}

static bool nonneg_finite(float v)
{
    return v >= 0.0f && isfinite(v);
}

static clnet_status check_augment(clnet_ctx *ctx, const clnet_augment *a)
{
    if (a->crop_pad < 0 || a->crop_pad > MAX_SHIFT || a->translate < 0 ||
        a->translate > MAX_SHIFT)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset batch: crop_pad %d / translate %d out of range", a->crop_pad,
                          a->translate);
    if (a->alternate_epoch < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset batch: alternate_epoch %d is negative", a->alternate_epoch);
    float f[] = {a->rotate_deg, a->shear,      a->elastic_alpha,  a->elastic_sigma,
                 a->brightness, a->contrast,   a->saturation,     a->pca_std,
                 a->pca_eigval[0], a->pca_eigval[1], a->pca_eigval[2]};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!nonneg_finite(f[i]))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "dataset batch: augmentation amounts must be finite and >= 0");
    if (a->elastic_alpha > 0.0f && !(a->elastic_sigma > 0.0f))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset batch: elastic warping needs elastic_sigma > 0");
    for (int i = 0; i < 9; i++)
        if (!isfinite(a->pca_eigvec[i / 3][i % 3]))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "dataset batch: pca_eigvec must be finite");
    return CLNET_OK;
}

/* Taps beyond 3 sigma carry under 0.3% of the weight; beyond the image
 * they would only ever meet the zero boundary. */
static void gaussian_kernel(scratch *s, float sigma, int h, int w)
{
    float reach = ceilf(3.0f * sigma);
    int side = h > w ? h : w;
    s->radius = reach < (float)side ? (int)reach : side;
    float sum = 0.0f;
    for (int t = -s->radius; t <= s->radius; t++) {
        float g = expf(-(float)(t * t) / (2.0f * sigma * sigma));
        s->kernel[t + s->radius] = g;
        sum += g;
    }
    for (int t = 0; t <= 2 * s->radius; t++)
        s->kernel[t] /= sum;
}

static clnet_status scratch_new(clnet_ctx *ctx, const clnet_dataset *ds, const clnet_augment *a,
                               scratch *s, float **block)
{
    memset(s, 0, sizeof *s);
    *block = NULL;
    if (!a || !is_geometric(a))
        return CLNET_OK;
    size_t plane = (size_t)ds->height * ds->width;
    int side = ds->height > ds->width ? ds->height : ds->width;
    size_t taps = 2 * (size_t)side + 1;
    *block = malloc(((size_t)ds->channels + 3) * plane * sizeof **block + taps * sizeof **block);
    if (!*block)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "dataset batch: out of host memory");
    s->copy = *block;
    s->dx = s->copy + (size_t)ds->channels * plane;
    s->dy = s->dx + plane;
    s->blur = s->dy + plane;
    s->kernel = s->blur + plane;
    if (a->elastic_alpha > 0.0f)
        gaussian_kernel(s, a->elastic_sigma, ds->height, ds->width);
    return CLNET_OK;
}

static clnet_status check_batch(clnet_ctx *ctx, const clnet_dataset *ds, const int64_t *indices,
                               int n, const clnet_augment *aug, const float *std, const float *x)
{
    if (!ds || !x || n < 0 || (n > 0 && !indices) || !ds->images || !ds->labels)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset batch: NULL dataset, indices or output, or n < 0");
    for (int i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= ds->count)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "dataset batch: index %lld (example %d of the batch) is outside "
                              "0..%lld",
                              (long long)indices[i], i, (long long)ds->count - 1);
    for (int c = 0; std && c < ds->channels; c++)
        if (!(std[c] > 0.0f))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "dataset batch: std[%d] is not > 0", c);
    if (aug && aug->pca_std > 0.0f && ds->channels != 3)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "dataset batch: PCA colour augmentation needs 3 channels; %s has %d",
                          ds->name, ds->channels);
    return aug ? check_augment(ctx, aug) : CLNET_OK;
}

static void normalise(image *im, const float *mean, const float *std)
{
    size_t plane = (size_t)im->h * im->w;
    for (int c = 0; c < im->c; c++) {
        float m = mean ? mean[c] : 0.0f, s = std ? std[c] : 1.0f;
        float *p = im->px + c * plane;
        for (size_t i = 0; i < plane; i++)
            p[i] = (p[i] - m) / s;
    }
}

clnet_status clnet_dataset_batch(clnet_ctx *ctx, const clnet_dataset *ds, const int64_t *indices,
                                 int n, const clnet_augment *aug, uint64_t seed, const float *mean,
                                 const float *std, float *x, int32_t *labels)
{
    clnet_error_clear(ctx);
    clnet_status st = check_batch(ctx, ds, indices, n, aug, std, x);
    if (st != CLNET_OK)
        return st;
    scratch s;
    float *block;
    st = scratch_new(ctx, ds, aug, &s, &block);
    if (st != CLNET_OK)
        return st;
    /* Division through a table keeps the scaling exactly v / 255. */
    float scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (float)v / 255.0f;
    size_t size = (size_t)ds->channels * ds->height * ds->width;
    for (int i = 0; i < n; i++) {
        image im = {x + (size_t)i * size, ds->channels, ds->height, ds->width};
        const uint8_t *src = ds->images + (size_t)indices[i] * size;
        for (size_t j = 0; j < size; j++)
            im.px[j] = scale[src[j]];
        if (aug)
            augment(&im, aug, &s, seed, indices[i]);
        if (mean || std)
            normalise(&im, mean, std);
        if (labels)
            labels[i] = ds->labels[indices[i]];
    }
    free(block);
    return CLNET_OK;
}

void clnet_dataset_stats(const clnet_dataset *ds, float *mean, float *std)
{
    if (!ds || !mean || !std)
        return;
    size_t plane = (size_t)ds->height * ds->width;
    for (int c = 0; c < ds->channels; c++) {
        /* A histogram makes the sums exact and the pass over the bytes
         * cheap. */
        uint64_t hist[256] = {0};
        for (int64_t n = 0; n < ds->count; n++) {
            const uint8_t *p = ds->images + ((size_t)n * ds->channels + c) * plane;
            for (size_t i = 0; i < plane; i++)
                hist[p[i]]++;
        }
        double total = (double)ds->count * (double)plane, sum = 0.0, sq = 0.0;
        for (int v = 0; v < 256; v++)
            sum += (double)hist[v] * v;
        double m = total > 0.0 ? sum / total / 255.0 : 0.0;
        for (int v = 0; v < 256; v++)
            sq += (double)hist[v] * (v / 255.0 - m) * (v / 255.0 - m);
        mean[c] = (float)m;
        std[c] = total > 0.0 ? (float)sqrt(sq / total) : 1.0f;
    }
}

void clnet_dataset_pixel_mean(const clnet_dataset *ds, float *mean)
{
    if (!ds || !mean)
        return;
    size_t size = (size_t)ds->channels * ds->height * ds->width;
    uint64_t *sum = calloc(size, sizeof *sum);
    for (int64_t n = 0; sum && n < ds->count; n++)
        for (size_t i = 0; i < size; i++)
            sum[i] += ds->images[(size_t)n * size + i];
    for (size_t i = 0; i < size; i++)
        mean[i] = sum && ds->count > 0 ? (float)((double)sum[i] / (double)ds->count / 255.0) : 0.0f;
    free(sum);
}

void clnet_dataset_shuffle(int64_t *order, int64_t n, uint64_t seed)
{
    if (!order || n <= 0)
        return;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    rng r = {seed};
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_below(&r, (uint64_t)i + 1);
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

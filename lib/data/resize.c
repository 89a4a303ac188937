/* resize.c - bilinear image resizing for the host input pipeline (an
 * ImageNet-shaped net fed the 28x28 or 32x32 datasets), with PyTorch's
 * half-pixel convention so that a model trained here and there sees the
 * same pixels. */
#include "data/readers.h"

/* Where output index i (of `out`) samples an axis of `in` pixels: the two
 * neighbours and the weight of the second. Half-pixel centres (PyTorch's
 * align_corners=False), clamped to the first and last pixel. */
static void sample_at(int i, int in, int out, int *lo, int *hi, float *frac)
{
    float scale = (float)in / (float)out;
    float src = ((float)i + 0.5f) * scale - 0.5f;
    if (src < 0.0f)
        src = 0.0f;
    *lo = (int)src;
    if (*lo > in - 1)
        *lo = in - 1;
    *hi = *lo < in - 1 ? *lo + 1 : *lo;
    *frac = src - (float)*lo;
    if (*hi == *lo)
        *frac = 0.0f;
}

clnet_status clnet_image_resize(const float *src, int channels, int height, int width,
                                float *dst, int out_height, int out_width)
{
    if (!src || !dst || channels < 1 || height < 1 || width < 1 || out_height < 1 ||
        out_width < 1)
        return CLNET_ERR_INVALID_ARGUMENT;
    for (int c = 0; c < channels; c++) {
        const float *plane = src + (size_t)c * height * width;
        float *out = dst + (size_t)c * out_height * out_width;
        for (int y = 0; y < out_height; y++) {
            int y0, y1;
            float fy;
            sample_at(y, height, out_height, &y0, &y1, &fy);
            const float *r0 = plane + (size_t)y0 * width, *r1 = plane + (size_t)y1 * width;
            for (int x = 0; x < out_width; x++) {
                int x0, x1;
                float fx;
                sample_at(x, width, out_width, &x0, &x1, &fx);
                float top = r0[x0] + fx * (r0[x1] - r0[x0]);
                float bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
                out[(size_t)y * out_width + x] = top + fy * (bottom - top);
            }
        }
    }
    return CLNET_OK;
}

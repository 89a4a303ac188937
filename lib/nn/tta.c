/* tta.c - test-time augmentation: the views of an image that evaluation
 * weights and sums, the classic crops/shifts/mirrors and airbench94's set. */
#include "nn/tta.h"

/* The coordinate in 0..n-1 that reflect padding reads for any i (the border
 * pixel is not repeated, as PyTorch's 'reflect'; 0 when n is 1). */
static int reflect_index(int i, int n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

void nn_tta_view(const float *in, float *out, int c, int h, int w, int dy, int dx, bool flip,
                 bool reflect)
{
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sx = (flip ? w - 1 - x : x) + dx, sy = y + dy;
                bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                if (!inside && reflect) {
                    sy = reflect_index(sy, h);
                    sx = reflect_index(sx, w);
                    inside = true;
                }
                out[((size_t)ch * h + y) * w + x] =
                    inside ? in[((size_t)ch * h + sy) * w + sx] : 0.0f;
            }
}

clnet_tta clnet_tta_crops(int crop_pad, int translate, bool mirror)
{
    clnet_tta t = {0};
    t.views[t.nviews++] = (clnet_tta_view){0, 0, false, 1.0f};
    /* corners in the order multi-crop has always used, so its figures stay */
    static const int corner[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
    for (int i = 0; crop_pad > 0 && i < 4; i++)
        t.views[t.nviews++] =
            (clnet_tta_view){corner[i][0] * crop_pad, corner[i][1] * crop_pad, false, 1.0f};
    static const int shift[4][2] = {{0, -1}, {0, 1}, {-1, 0}, {1, 0}};
    for (int i = 0; translate > 0 && i < 4; i++)
        t.views[t.nviews++] =
            (clnet_tta_view){shift[i][0] * translate, shift[i][1] * translate, false, 1.0f};
    for (int i = 0, base = t.nviews; mirror && i < base; i++)
        t.views[t.nviews++] = (clnet_tta_view){t.views[i].dy, t.views[i].dx, true, 1.0f};
    return t;
}

clnet_tta clnet_tta_airbench(int level)
{
    clnet_tta t = {.reflect = true, .logits = true};
    if (level == 1 || level == 2) {
        float half = level == 1 ? 0.5f : 0.25f, quarter = 0.125f;
        t.views[t.nviews++] = (clnet_tta_view){0, 0, false, half};
        t.views[t.nviews++] = (clnet_tta_view){0, 0, true, half};
        for (int s = -1; level == 2 && s <= 1; s += 2) {
            t.views[t.nviews++] = (clnet_tta_view){s, s, false, quarter};
            t.views[t.nviews++] = (clnet_tta_view){s, s, true, quarter};
        }
    } else {
        t.views[t.nviews++] = (clnet_tta_view){0, 0, false, 1.0f};
    }
    return t;
}

clnet_tta nn_tta_resolve(const clnet_train_opts *opts)
{
    if (opts->tta)
        return *opts->tta;
    return clnet_tta_crops(opts->multi_crop_pad, 0, opts->multi_crop_pad > 0);
}

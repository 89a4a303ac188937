/* train_opts.c - the range checks of clnet_train_opts and clnet_optimizer
 * (their defaults and ranges are documented in clnet/nn.h). */
#include "nn/nn_internal.h"

#include <math.h>

#define MAX_THREADS_ACCEPTED 64
#define MAX_RESIZE 4096

static bool finite_nonneg(float v)
{
    return isfinite(v) && v >= 0.0f;
}

clnet_status nn_check_optimizer(clnet_ctx *ctx, const char *what, const clnet_optimizer *o)
{
    const char *bad = NULL;
    if (o->kind != CLNET_OPTIM_SGD && o->kind != CLNET_OPTIM_ADAM)
        bad = "kind (SGD or ADAM)";
    else if (!finite_nonneg(o->lr))
        bad = "lr (finite, >= 0)";
    else if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
        bad = "momentum ([0, 1))";
    else if (!finite_nonneg(o->weight_decay))
        bad = "weight_decay (finite, >= 0)";
    else if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f) || !(o->beta2 >= 0.0f && o->beta2 < 1.0f))
        bad = "beta1/beta2 ([0, 1))";
    else if (!finite_nonneg(o->eps))
        bad = "eps (finite, >= 0)";
    else if (o->schedule < CLNET_SCHED_CONSTANT || o->schedule > CLNET_SCHED_COSINE)
        bad = "schedule (CONSTANT, STEP or COSINE)";
    else if (!finite_nonneg(o->gamma))
        bad = "gamma (finite, >= 0)";
    else if (o->step_epochs < 0 || o->epochs < 0)
        bad = "step_epochs/epochs (>= 0)";
    else if (!finite_nonneg(o->warmup_epochs))
        bad = "warmup_epochs (finite, >= 0)";
    if (!bad)
        return CLNET_OK;
    return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_optimizer.%s is out of range "
                      "(kind %d, lr %g, momentum %g, weight_decay %g, beta1 %g, beta2 %g, eps "
                      "%g, schedule %d, gamma %g, step_epochs %d, epochs %d, warmup %g)", what,
                      bad, (int)o->kind, (double)o->lr, (double)o->momentum,
                      (double)o->weight_decay, (double)o->beta1, (double)o->beta2,
                      (double)o->eps, (int)o->schedule, (double)o->gamma, o->step_epochs,
                      o->epochs, (double)o->warmup_epochs);
}

clnet_status nn_check_train_opts(clnet_ctx *ctx, const char *what, const clnet_train_opts *o)
{
    if (o->batch < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.batch = %d "
                          "(0 = the bound max_batch, else 1..max_batch)", what, o->batch);
    if (o->epoch < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.epoch = %d "
                          "< 0", what, o->epoch);
    if (o->limit < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.limit = %d "
                          "(0 = every example, else a count)", what, o->limit);
    if (o->threads < 0 || o->threads > MAX_THREADS_ACCEPTED)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.threads = %d "
                          "(0..%d)", what, o->threads, MAX_THREADS_ACCEPTED);
    if ((o->resize_height == 0) != (o->resize_width == 0) || o->resize_height < 0 ||
        o->resize_height > MAX_RESIZE || o->resize_width < 0 || o->resize_width > MAX_RESIZE)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.resize_height "
                          "%d, resize_width %d (both 1..%d, or both 0 = no resizing)", what,
                          o->resize_height, o->resize_width, MAX_RESIZE);
    if (o->multi_crop_pad < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts."
                          "multi_crop_pad = %d < 0", what, o->multi_crop_pad);
    if (o->tta && (o->multi_crop_pad > 0 || o->tta->crop_pad < 0 || o->tta->translate < 0))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.tta: "
                          "crop_pad %d and translate %d must be >= 0, and multi_crop_pad (%d) "
                          "0 with it", what, o->tta->crop_pad, o->tta->translate,
                          o->multi_crop_pad);
    return CLNET_OK;
}

int nn_tta_views(const clnet_train_opts *opts, nn_view *views)
{
    clnet_tta tta = {0};
    if (opts->tta)
        tta = *opts->tta;
    else if (opts->multi_crop_pad > 0)
        tta = (clnet_tta){.crop_pad = opts->multi_crop_pad, .mirror = true};
    int n = 0;
    views[n++] = (nn_view){0, 0, false};
    /* corners in the order multi-crop has always used, so its figures stay */
    static const int corner[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
    for (int i = 0; tta.crop_pad > 0 && i < 4; i++)
        views[n++] = (nn_view){corner[i][0] * tta.crop_pad, corner[i][1] * tta.crop_pad, false};
    static const int shift[4][2] = {{0, -1}, {0, 1}, {-1, 0}, {1, 0}};
    for (int i = 0; tta.translate > 0 && i < 4; i++)
        views[n++] = (nn_view){shift[i][0] * tta.translate, shift[i][1] * tta.translate, false};
    for (int i = 0, base = n; tta.mirror && i < base; i++)
        views[n++] = (nn_view){views[i].dy, views[i].dx, true};
    return n;
}

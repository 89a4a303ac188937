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
    else if (o->schedule < CLNET_SCHED_CONSTANT || o->schedule > CLNET_SCHED_LINEAR)
        bad = "schedule (CONSTANT, STEP, COSINE, MULTISTEP or LINEAR)";
    else if (!finite_nonneg(o->gamma))
        bad = "gamma (finite, >= 0)";
    else if (o->step_epochs < 0 || o->epochs < 0)
        bad = "step_epochs/epochs (>= 0)";
    else if (!finite_nonneg(o->warmup_epochs))
        bad = "warmup_epochs (finite, >= 0)";
    else if (o->npoints < 0 || o->npoints > CLNET_SCHED_MAX_POINTS)
        bad = "npoints (0..CLNET_SCHED_MAX_POINTS)";
    for (int i = 0; !bad && i < o->npoints; i++)
        if (!(isfinite(o->points[i].epoch) && o->points[i].epoch >= 0.0) ||
            !finite_nonneg(o->points[i].factor) ||
            (i > 0 && !(o->points[i].epoch > o->points[i - 1].epoch)))
            bad = "points (epochs finite, >= 0, increasing; factors finite, >= 0)";
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
    if (o->shards < 0 || o->shard < 0 || (o->shards > 0 && o->shard >= o->shards) ||
        (o->shards == 0 && o->shard != 0))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.shard %d of "
                          "%d shards (0 <= shard < shards, or both 0)", what, o->shard,
                          o->shards);
    if (o->pixel_mean && o->resize_height > 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.pixel_mean "
                          "(an image of the dataset's size) with resizing to %dx%d", what,
                          o->resize_height, o->resize_width);
    if (o->multi_crop_pad < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts."
                          "multi_crop_pad = %d < 0", what, o->multi_crop_pad);
    if (o->tta && o->multi_crop_pad > 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.tta and "
                          "multi_crop_pad (%d) both set: give one", what, o->multi_crop_pad);
    if (o->tta && (o->tta->nviews < 1 || o->tta->nviews > CLNET_TTA_MAX_VIEWS))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.tta has %d "
                          "views (1..%d)", what, o->tta->nviews, CLNET_TTA_MAX_VIEWS);
    double total = 0.0;
    for (int v = 0; o->tta && v < o->tta->nviews; v++) {
        if (!finite_nonneg(o->tta->views[v].weight))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.tta view "
                              "%d has weight %g (finite, >= 0)", what, v,
                              (double)o->tta->views[v].weight);
        total += o->tta->views[v].weight;
    }
    if (o->tta && !(total > 0.0))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.tta: every "
                          "view has weight 0", what);
    if (o->max_batches < 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: clnet_train_opts.max_batches "
                          "= %lld < 0", what, (long long)o->max_batches);
    return CLNET_OK;
}

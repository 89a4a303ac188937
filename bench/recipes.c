/* recipes.c - the recipes of `clnet-bench train --recipe` as data, each with
 * the published figure it reproduces (see recipes.h). */
#include <math.h>
#include <string.h>

#include "recipes.h"

/* airbench94 states its lr 11.5 and weight decay 0.0153 "per 1024
 * examples, decoupled"; in PyTorch's SGD terms (what clnet's SGD step
 * computes) both are divided by 1024 (1 + 1 / (1 - momentum)), and the
 * decay is given as a fraction of the lr. */
#define AIRBENCH_MOMENTUM 0.85
#define AIRBENCH_KILOSTEP (1024.0 * (1.0 + 1.0 / (1.0 - AIRBENCH_MOMENTUM)))
#define AIRBENCH_LR (11.5 / AIRBENCH_KILOSTEP)
#define AIRBENCH_EPOCHS 9.9

/* He et al. 2016: 64k iterations of 128 images, lr / 10 at 32k and 48k, on
 * the 50,000 training images (390.625 iterations an epoch). */
#define HE_ITERATIONS_PER_EPOCH (50000.0 / 128.0)

static const recipe cifar10_fast = {
    .name = "cifar10-fast",
    .model = "airbench94",
    .data = "cifar10",
    .summary = "Keller Jordan's airbench94: whitened 2x2 stem, 3 conv groups, lookahead, TTA",
    .target = 0.9401,
    .source = "Jordan 2024, airbench94: 94.01% mean over 1,000 runs (sd about 0.14%); "
              "PyTorch on this machine's CPU: 93.81% in 3,713 s of training (one seed)",
    .batch = 1024,
    .epochs = AIRBENCH_EPOCHS,
    .opt = {.kind = CLNET_OPTIM_SGD, .lr = (float)AIRBENCH_LR,
            .momentum = (float)AIRBENCH_MOMENTUM, .nesterov = true,
            .weight_decay = (float)(0.0153 * 1024 / AIRBENCH_KILOSTEP / AIRBENCH_LR),
            .schedule = CLNET_SCHED_LINEAR, .epochs = 10, .npoints = 3,
            .points = {{0.0, 0.2f}, {0.23 * AIRBENCH_EPOCHS, 1.0f}, {AIRBENCH_EPOCHS, 0.07f}}},
    .label_smoothing = 0.2f,
    .loss_sum = true,
    .drop_last = true,
    .init = CLNET_INIT_TORCH_DEFAULT,
    .norm = RECIPE_NORM_FIXED,
    .mean = {0.4914f, 0.4822f, 0.4465f},
    .std = {0.2470f, 0.2435f, 0.2616f},
    .augment = {.translate = 2, .reflect = true, .hflip_alternate = true},
    .tta_level = 2,
    .bn_shift_lr_mult = 64.0f,
    .whiten_layer = "whiten",
    .whiten_images = 5000,
    .whiten_eps = 5e-4f,
    .whiten_bias_epochs = 3,
    .lookahead_every = 5,
    .lookahead_base = 0.7737809375,      /* 0.95^5 */
    .lookahead_power = 3.0,
};

static const recipe resnet20_he2016 = {
    .name = "resnet20-he2016",
    .model = "resnet20",
    .data = "cifar10",
    .summary = "He et al. 2016's CIFAR ResNet-20 (option A), 64k iterations",
    .target = 0.9125,
    .source = "He et al. 2016, Table 6: 8.75% test error",
    .batch = 128,
    .epochs = 64000 / HE_ITERATIONS_PER_EPOCH,
    .opt = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f,
            .schedule = CLNET_SCHED_MULTISTEP, .gamma = 0.1f, .epochs = 164, .npoints = 2,
            .points = {{32000 / HE_ITERATIONS_PER_EPOCH, 0}, {48000 / HE_ITERATIONS_PER_EPOCH, 0}}},
    .init = CLNET_INIT_HE_NORMAL,
    .norm = RECIPE_NORM_PIXEL_MEAN,
    .augment = {.crop_pad = 4, .hflip = true},
    .tta_level = -1,
};

static const recipe lenet5_mnist = {
    .name = "lenet5-mnist",
    .model = "lenet5",
    .data = "mnist",
    .summary = "the README's LeNet-5 on the full MNIST training set, 12 epochs, cosine",
    .target = 0.9911,
    .source = "README.md: clnet's own full-MNIST run (LeCun et al. 1998 report 0.95% error)",
    .batch = 64,
    .epochs = 12,
    .opt = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f,
            .schedule = CLNET_SCHED_COSINE, .epochs = 12},
    .init = CLNET_INIT_HE_NORMAL,
    .norm = RECIPE_NORM_DATASET,
    .tta_level = -1,
};

static const recipe *const all[] = {&cifar10_fast, &resnet20_he2016, &lenet5_mnist, NULL};

const recipe *const *recipe_all(void)
{
    return all;
}

const recipe *recipe_find(const char *name)
{
    for (int i = 0; name && all[i]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

clnet_optimizer recipe_optimizer(const recipe *r, double epochs)
{
    clnet_optimizer o = r->opt;
    double scale = epochs / r->epochs;
    for (int i = 0; i < o.npoints; i++)
        o.points[i].epoch *= scale;
    o.epochs = (int)ceil(epochs);
    if (o.schedule == CLNET_SCHED_COSINE)
        o.epochs = (int)lround(epochs);
    return o;
}

static const char *const schedule_names[] = {"constant", "step", "cosine", "multistep",
                                             "linear"};
static const char *const init_names[] = {"he-normal", "he-uniform", "xavier-normal",
                                         "xavier-uniform", "torch-default"};

static void print_schedule(FILE *f, const clnet_optimizer *o)
{
    fprintf(f, "  schedule:        %s", schedule_names[o->schedule]);
    if (o->schedule == CLNET_SCHED_COSINE)
        fprintf(f, " to 0 at epoch %d", o->epochs);
    if (o->schedule == CLNET_SCHED_MULTISTEP) {
        fprintf(f, ", x%g at epochs", (double)o->gamma);
        for (int i = 0; i < o->npoints; i++)
            fprintf(f, " %.2f", o->points[i].epoch);
    }
    if (o->schedule == CLNET_SCHED_LINEAR) {
        fprintf(f, " through (epoch, factor)");
        for (int i = 0; i < o->npoints; i++)
            fprintf(f, " (%.3f, %g)", o->points[i].epoch, (double)o->points[i].factor);
    }
    fprintf(f, "\n");
}

static void print_data(FILE *f, const recipe *r)
{
    const clnet_augment *a = &r->augment;
    if (r->norm == RECIPE_NORM_FIXED)
        fprintf(f, "  normalisation:   mean (%g, %g, %g), std (%g, %g, %g)\n", (double)r->mean[0],
                (double)r->mean[1], (double)r->mean[2], (double)r->std[0], (double)r->std[1],
                (double)r->std[2]);
    else
        fprintf(f, "  normalisation:   %s\n", r->norm == RECIPE_NORM_PIXEL_MEAN
                                                  ? "the training images' mean image subtracted"
                                                  : "the training split's channel mean and std");
    fprintf(f, "  augmentation:   ");
    if (a->crop_pad > 0)
        fprintf(f, " crop %d px (%s padding)", a->crop_pad, a->reflect ? "reflect" : "zero");
    if (a->translate > 0)
        fprintf(f, " translate %d px (%s padding)", a->translate, a->reflect ? "reflect" : "zero");
    if (a->hflip)
        fprintf(f, " random flip");
    if (a->hflip_alternate)
        fprintf(f, " alternating flip (random once, all mirrored in odd epochs)");
    if (a->crop_pad == 0 && a->translate == 0 && !a->hflip && !a->hflip_alternate)
        fprintf(f, " none");
    fprintf(f, "\n");
}

void recipe_print(FILE *f, const recipe *r, double epochs, int batch, float lr)
{
    clnet_optimizer o = recipe_optimizer(r, epochs);
    fprintf(f, "recipe %s: %s\n", r->name, r->summary);
    fprintf(f, "  target:          %.2f%% (%s)\n", 100.0 * r->target, r->source);
    fprintf(f, "  model:           %s (init %s), data %s\n", r->model, init_names[r->init],
            r->data);
    print_data(f, r);
    fprintf(f, "  optimizer:       sgd lr %.6g momentum %g%s, weight decay %.6g; batch %d%s, "
            "%g epochs\n", (double)lr, (double)o.momentum, o.nesterov ? " (Nesterov)" : "",
            (double)o.weight_decay, batch, r->drop_last ? " (last partial batch dropped)" : "",
            epochs);
    print_schedule(f, &o);
    fprintf(f, "  loss:            softmax cross-entropy, label smoothing %g, %s over the batch\n",
            (double)r->label_smoothing, r->loss_sum ? "summed" : "averaged");
    if (r->bn_shift_lr_mult > 0.0f)
        fprintf(f, "  param groups:    batch-norm shifts lr x%g, weight decay x1/%g\n",
                (double)r->bn_shift_lr_mult, (double)r->bn_shift_lr_mult);
    if (r->whiten_layer)
        fprintf(f, "  whitening:       layer %s from the first %d training images, eps %g; "
                "weights frozen, bias trained for %d epochs\n", r->whiten_layer,
                r->whiten_images, (double)r->whiten_eps, r->whiten_bias_epochs);
    if (r->lookahead_every > 0)
        fprintf(f, "  lookahead:       every %d steps, decay %.6g * (step / total)^%g, the "
                "average copied in at the end\n", r->lookahead_every, r->lookahead_base,
                r->lookahead_power);
    if (r->tta_level >= 0)
        fprintf(f, "  test-time aug.:  airbench level %d%s\n", r->tta_level,
                r->tta_level == 2 ? " (0.5 mirror-averaged + 0.25/0.25 translated by one "
                                    "pixel, reflect padding, logits)" : "");
    else
        fprintf(f, "  test-time aug.:  none\n");
}

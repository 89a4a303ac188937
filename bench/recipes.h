/* recipes.h - the named training recipes of `clnet-bench train --recipe`:
 * each one row of data (bench/recipes.c) saying the net, the data, its
 * normalisation and augmentation, the optimizer and schedule, the
 * test-time augmentation and the published accuracy it reproduces. */
#ifndef CLNET_BENCH_RECIPES_H
#define CLNET_BENCH_RECIPES_H

#include <stdio.h>

#include "clnet/nn.h"

/* How the inputs are normalised. */
typedef enum recipe_norm {
    RECIPE_NORM_DATASET = 0,     /* per channel, the training split's mean and std */
    RECIPE_NORM_FIXED,           /* per channel, the recipe's mean and std */
    RECIPE_NORM_PIXEL_MEAN       /* the training split's mean image subtracted, no scaling */
} recipe_norm;

typedef struct recipe {
    const char *name;
    const char *model;           /* a zoo model */
    const char *data;            /* a dataset of clnet-bench train --data */
    const char *summary;         /* one line */
    double target;               /* the published test accuracy, a fraction */
    const char *source;          /* who published the target, and how it was measured */

    int batch;
    double epochs;               /* may be fractional: the last epoch stops early */
    clnet_optimizer opt;         /* schedule points in epochs of this length; --epochs
                                    rescales them */
    float label_smoothing;
    bool loss_sum;               /* the loss summed over the batch, not averaged */
    bool drop_last;              /* every step a full batch */
    clnet_init init;
    recipe_norm norm;
    float mean[3], std[3];       /* RECIPE_NORM_FIXED */
    clnet_augment augment;
    int tta_level;               /* clnet_tta_airbench level for the final test; -1: none */
    float bn_shift_lr_mult;      /* > 0: batch-norm shifts get lr x this and weight decay
                                    / this (the same absolute decay) */

    const char *whiten_layer;    /* a conv set by clnet_net_init_whitening, frozen; or NULL */
    int whiten_images;           /* from the first training images */
    float whiten_eps;
    int whiten_bias_epochs;      /* its bias trains this many epochs, then freezes */

    int lookahead_every;         /* > 0: clnet_lookahead every this many steps */
    double lookahead_base, lookahead_power;
} recipe;

/* The recipe called `name`, or NULL. */
const recipe *recipe_find(const char *name);

/* Every recipe, NULL-terminated. */
const recipe *const *recipe_all(void);

/* Writes every setting of `r` as run for `epochs` epochs at `batch` and base
 * learning rate `lr`, one "key: value" line each, to f. */
void recipe_print(FILE *f, const recipe *r, double epochs, int batch, float lr);

/* The optimizer of `r` for a run of `epochs` epochs: the schedule's points
 * and horizon rescaled from the recipe's own length. */
clnet_optimizer recipe_optimizer(const recipe *r, double epochs);

#endif

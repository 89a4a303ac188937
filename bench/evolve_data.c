/* evolve_data.c - the validation split and the synthetic task of
 * `clnet-bench evolve` (see evolve_data.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evolve.h"
#include "evolve_data.h"

#define SYN_SIZE 12
#define SYN_BAR 5
#define SYN_CLASSES 4
#define SYN_TRAIN 2048
#define SYN_TEST 512
#define SYN_NOISE 96             /* background pixels are uniform in 0..SYN_NOISE-1 */

/* An empty set of `count` examples of c x h x w pixels. */
static clnet_dataset *new_set(const char *name, int64_t count, int c, int h, int w, int classes)
{
    clnet_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->count = count;
    ds->channels = c;
    ds->height = h;
    ds->width = w;
    ds->classes = classes;
    ds->images = malloc((size_t)count * (size_t)(c * h * w));
    ds->labels = malloc((size_t)count);
    if (!ds->images || !ds->labels) {
        evolve_data_free(ds);
        return NULL;
    }
    return ds;
}

void evolve_data_free(clnet_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free(ds);
}

/* Draws `count` bar images from the stream r. */
static clnet_dataset *synthetic(const char *name, int count, evolve_rng *r)
{
    static const int step[SYN_CLASSES][2] = {{0, 1}, {1, 0}, {1, 1}, {1, -1}};
    clnet_dataset *ds = new_set(name, count, 1, SYN_SIZE, SYN_SIZE, SYN_CLASSES);
    if (!ds)
        return NULL;
    for (int n = 0; n < count; n++) {
        uint8_t *img = ds->images + (size_t)n * SYN_SIZE * SYN_SIZE;
        for (int i = 0; i < SYN_SIZE * SYN_SIZE; i++)
            img[i] = (uint8_t)evolve_rng_below(r, SYN_NOISE);
        int cls = evolve_rng_below(r, SYN_CLASSES);
        int dy = step[cls][0], dx = step[cls][1];
        /* a start from which the whole bar stays inside the image */
        int y0 = evolve_rng_below(r, SYN_SIZE - (SYN_BAR - 1) * dy);
        int x0 = dx < 0 ? (SYN_BAR - 1) + evolve_rng_below(r, SYN_SIZE - (SYN_BAR - 1))
                        : evolve_rng_below(r, SYN_SIZE - (SYN_BAR - 1) * dx);
        for (int k = 0; k < SYN_BAR; k++)
            img[(y0 + k * dy) * SYN_SIZE + x0 + k * dx] = 255;
        ds->labels[n] = (uint8_t)cls;
    }
    return ds;
}

void evolve_data_synthetic(clnet_dataset **train, clnet_dataset **test)
{
    evolve_rng r = {20261203};
    *train = synthetic(EVOLVE_SYNTHETIC, SYN_TRAIN, &r);
    *test = synthetic(EVOLVE_SYNTHETIC, SYN_TEST, &r);
    if (!*train || !*test) {
        evolve_data_free(*train);
        evolve_data_free(*test);
        *train = *test = NULL;
    }
}

bool evolve_data_split(const clnet_dataset *all, int64_t nval, uint64_t seed,
                       clnet_dataset **train, clnet_dataset **val)
{
    size_t image = (size_t)all->channels * (size_t)all->height * (size_t)all->width;
    int64_t *order = malloc((size_t)all->count * sizeof *order);
    *val = new_set(all->name, nval, all->channels, all->height, all->width, all->classes);
    *train = new_set(all->name, all->count - nval, all->channels, all->height, all->width,
                     all->classes);
    if (!order || !*val || !*train) {
        free(order);
        evolve_data_free(*val);
        evolve_data_free(*train);
        *val = *train = NULL;
        return false;
    }
    clnet_dataset_shuffle(order, all->count, seed);
    for (int64_t i = 0; i < all->count; i++) {
        clnet_dataset *to = i < nval ? *val : *train;
        int64_t at = i < nval ? i : i - nval;
        memcpy(to->images + (size_t)at * image, all->images + (size_t)order[i] * image, image);
        to->labels[at] = all->labels[order[i]];
    }
    free(order);
    return true;
}

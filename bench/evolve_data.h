/* evolve_data.h - the data of `clnet-bench evolve`: a validation split taken
 * from the training set (the test set is only for the final report), and a
 * small synthetic task for quick searches and the tests. */
#ifndef CLNET_BENCH_EVOLVE_DATA_H
#define CLNET_BENCH_EVOLVE_DATA_H

#include <stdint.h>

#include "clnet.h"

/* The name --data takes for the synthetic task. */
#define EVOLVE_SYNTHETIC "synthetic"

/* The synthetic task: 1x12x12 images of a short bright bar on noise, its
 * class the bar's orientation (horizontal, vertical, two diagonals); a
 * training set of 2,048 and a test set of 512, the same on every run. The
 * caller frees both with evolve_data_free. NULL pointers on failure
 * (memory). */
void evolve_data_synthetic(clnet_dataset **train, clnet_dataset **test);

/* Splits `all` by a permutation drawn from `seed`: its first `nval`
 * examples become *val and the rest *train, copies the caller frees with
 * evolve_data_free. False on failure (memory). */
bool evolve_data_split(const clnet_dataset *all, int64_t nval, uint64_t seed,
                       clnet_dataset **train, clnet_dataset **val);

/* Frees a set made by this file; NULL is ignored. */
void evolve_data_free(clnet_dataset *ds);

#endif

/* evolve.h - the genetic algorithm of `clnet-bench evolve`: a genome holds
 * the structural parameters of a small convolutional classifier (its conv
 * stages, their filters, kernel sizes and poolings, its fully connected
 * layers and their widths) and is written out as a cfg file; random
 * genomes, mutation, crossover of layers and tournament selection, all
 * driven by one seeded random stream so that a run is a pure function of
 * its seed. */
#ifndef CLNET_BENCH_EVOLVE_H
#define CLNET_BENCH_EVOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVOLVE_MAX_CONV 4
#define EVOLVE_MAX_FC 2
/* Filters and fully connected widths are powers of two in these ranges. */
#define EVOLVE_MIN_FILTERS 4
#define EVOLVE_MAX_FILTERS 64
#define EVOLVE_MIN_WIDTH 16
#define EVOLVE_MAX_WIDTH 256
/* The longest genome text ("c64k5p-" per stage, "f256-" per layer). */
#define EVOLVE_TEXT_MAX 64

/* One conv stage: a "same" convolution with ReLU, then optionally 2x2 max
 * pooling. */
typedef struct evolve_conv {
    int filters;
    int size;                    /* 3 or 5 */
    bool pool;
} evolve_conv;

typedef struct evolve_genome {
    int nconv;                   /* 1..EVOLVE_MAX_CONV */
    evolve_conv conv[EVOLVE_MAX_CONV];
    int nfc;                     /* 0..EVOLVE_MAX_FC hidden layers before the classifier */
    int fc[EVOLVE_MAX_FC];
} evolve_genome;

/* The random stream (splitmix64): its whole state is one integer, which a
 * resumed run reads back. */
typedef struct evolve_rng {
    uint64_t state;
} evolve_rng;

uint64_t evolve_rng_next(evolve_rng *r);
/* Uniform in 0..n-1 (n >= 1). */
int evolve_rng_below(evolve_rng *r, int n);

/* A uniformly random genome, valid for inputs of h x w pixels. */
void evolve_random(evolve_rng *r, int h, int w, evolve_genome *g);

/* Clears the poolings that an h x w input cannot take (a 2x2 pooling needs
 * a plane of at least 2x2), so that every genome builds. */
void evolve_repair(evolve_genome *g, int h, int w);

/* Changes one structural parameter chosen at random: adds or removes a conv
 * stage or a fully connected layer, doubles or halves a stage's filters or
 * a layer's width, switches a kernel between 3 and 5, or a pooling on or
 * off. The result is repaired for h x w. */
void evolve_mutate(evolve_rng *r, evolve_genome *g, int h, int w);

/* Crossover of layers: the child's conv stages are a's up to a random cut
 * followed by b's from another cut (at most EVOLVE_MAX_CONV, at least one),
 * and its fully connected layers likewise. Repaired for h x w. */
void evolve_crossover(evolve_rng *r, const evolve_genome *a, const evolve_genome *b, int h,
                      int w, evolve_genome *child);

/* Tournament selection: the index of the fittest of k members drawn at
 * random (with replacement) from fitness[0..n); ties go to the lower index. */
int evolve_tournament(evolve_rng *r, const double *fitness, int n, int k);

/* The genome as text, e.g. "c16k3p-c32k5-f64" (conv stages c<filters>k<size>
 * with p when pooled, then f<width> per fully connected layer); `buf` holds
 * at least EVOLVE_TEXT_MAX bytes. */
void evolve_format(const evolve_genome *g, char *buf);
/* Reads the text evolve_format writes; false when it is not a valid genome. */
bool evolve_parse(const char *text, evolve_genome *g);

/* Writes the genome as a cfg file for a c x h x w input and `classes`
 * outputs (the classifier is a [linear] layer after the hidden ones), with
 * the training defaults `batch`, `lr` and Adam in its [net] section. Returns
 * the length written, as snprintf. */
int evolve_cfg(const evolve_genome *g, int c, int h, int w, int classes, int batch, float lr,
               char *buf, size_t size);

#endif

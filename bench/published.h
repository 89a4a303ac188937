/* published.h - the parameter counts and MACs that papers and torchvision
 * publish for the zoo's models, each with its source: what `clnet-bench
 * models` compares its computed counts against, never a source of them. */
#ifndef CLNET_BENCH_PUBLISHED_H
#define CLNET_BENCH_PUBLISHED_H

#include <stdbool.h>
#include <stdint.h>

/* One published number. Papers round ("0.27M"), torchvision gives GFLOPS
 * with three decimals: `unit` is the place of the last published digit. */
typedef struct published_figure {
    int64_t value;           /* -1: not published */
    int64_t unit;            /* 1: exact */
} published_figure;

/* The figures for one configuration of a model. */
typedef struct published_model {
    const char *model;
    float width;             /* width multiplier they are for (1: the cfg's own) */
    int resolution;          /* input height = width they are for; 0: the cfg's own input */
    bool aux;                /* with the auxiliary classifiers built */
    published_figure params;
    published_figure macs;
    /* LeNet-5 (1998) counts "connections" (every unit's inputs and bias),
     * shown next to MACs + elementwise but not compared: clnet also counts
     * the squashings, RBF differences and pooling divisions. */
    published_figure connections;
    const char *source;
} published_model;

/* The figures for zoo model `model` with width multiplier `width` (0 means
 * 1) and `aux`, when its input is the cfg's own (`input_overridden` false)
 * or `resolution` pixels square; NULL when none are published. */
const published_model *published_find(const char *model, float width, bool aux,
                                      bool input_overridden, int resolution);

/* Whether `computed` agrees with a published figure: equal when it is exact,
 * else less than one unit of its last digit away (papers both round and
 * truncate: MobileNet's 569M is 568.7M, its 290M 290.7M). False when the
 * figure is not published. */
bool published_agrees(const published_figure *f, int64_t computed);

/* Writes a figure as people read it: "11,689,512" when exact, "0.27M" or
 * "7.609G" with the published digits when rounded, "" when not published. */
void published_format(const published_figure *f, char *buf, unsigned size);

/* Writes n with thousands separators: "11,689,512". */
void published_commas(int64_t n, char *buf, unsigned size);

#endif

/* evolve.c - genomes of small convolutional classifiers and the genetic
 * operators on them (see evolve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnet.h"
#include "evolve.h"

uint64_t evolve_rng_next(evolve_rng *r)
{
    return clnet_splitmix64(&r->state);
}

int evolve_rng_below(evolve_rng *r, int n)
{
    return (int)(evolve_rng_next(r) % (uint64_t)n);
}

/* A power of two from lo to hi (both powers of two), uniformly. */
static int random_power(evolve_rng *r, int lo, int hi)
{
    int steps = 0;
    for (int v = lo; v < hi; v *= 2)
        steps++;
    return lo << evolve_rng_below(r, steps + 1);
}

static evolve_conv random_conv(evolve_rng *r)
{
    return (evolve_conv){
        .filters = random_power(r, EVOLVE_MIN_FILTERS, EVOLVE_MAX_FILTERS),
        .size = evolve_rng_below(r, 2) ? 5 : 3,
        .pool = evolve_rng_below(r, 2),
    };
}

void evolve_random(evolve_rng *r, int h, int w, evolve_genome *g)
{
    memset(g, 0, sizeof *g);
    g->nconv = 1 + evolve_rng_below(r, EVOLVE_MAX_CONV);
    for (int i = 0; i < g->nconv; i++)
        g->conv[i] = random_conv(r);
    g->nfc = evolve_rng_below(r, EVOLVE_MAX_FC + 1);
    for (int i = 0; i < g->nfc; i++)
        g->fc[i] = random_power(r, EVOLVE_MIN_WIDTH, EVOLVE_MAX_WIDTH);
    evolve_repair(g, h, w);
}

void evolve_repair(evolve_genome *g, int h, int w)
{
    for (int i = 0; i < g->nconv; i++) {
        if (g->conv[i].pool && (h < 2 || w < 2))
            g->conv[i].pool = false;
        if (g->conv[i].pool) {
            h /= 2;
            w /= 2;
        }
    }
}

/* v doubled or halved at random, kept within lo..hi. */
static int double_or_halve(evolve_rng *r, int v, int lo, int hi)
{
    if (evolve_rng_below(r, 2))
        return v * 2 <= hi ? v * 2 : v / 2;
    return v / 2 >= lo ? v / 2 : v * 2;
}

enum mutation {
    ADD_CONV, REMOVE_CONV, FILTERS, KERNEL, POOL, ADD_FC, REMOVE_FC, WIDTH, MUTATIONS
};

void evolve_mutate(evolve_rng *r, evolve_genome *g, int h, int w)
{
    /* Draw until a mutation applies (removing the only stage does not). */
    for (;;) {
        enum mutation m = (enum mutation)evolve_rng_below(r, MUTATIONS);
        int i = evolve_rng_below(r, g->nconv);
        if (m == ADD_CONV && g->nconv < EVOLVE_MAX_CONV) {
            int at = evolve_rng_below(r, g->nconv + 1);
            memmove(&g->conv[at + 1], &g->conv[at], (size_t)(g->nconv - at) * sizeof g->conv[0]);
            g->conv[at] = random_conv(r);
            g->nconv++;
        } else if (m == REMOVE_CONV && g->nconv > 1) {
            memmove(&g->conv[i], &g->conv[i + 1], (size_t)(g->nconv - i - 1) * sizeof g->conv[0]);
            g->nconv--;
        } else if (m == FILTERS) {
            g->conv[i].filters = double_or_halve(r, g->conv[i].filters, EVOLVE_MIN_FILTERS,
                                                 EVOLVE_MAX_FILTERS);
        } else if (m == KERNEL) {
            g->conv[i].size = g->conv[i].size == 3 ? 5 : 3;
        } else if (m == POOL) {
            g->conv[i].pool = !g->conv[i].pool;
        } else if (m == ADD_FC && g->nfc < EVOLVE_MAX_FC) {
            g->fc[g->nfc++] = random_power(r, EVOLVE_MIN_WIDTH, EVOLVE_MAX_WIDTH);
        } else if (m == REMOVE_FC && g->nfc > 0) {
            g->nfc--;
        } else if (m == WIDTH && g->nfc > 0) {
            int j = evolve_rng_below(r, g->nfc);
            g->fc[j] = double_or_halve(r, g->fc[j], EVOLVE_MIN_WIDTH, EVOLVE_MAX_WIDTH);
        } else {
            continue;
        }
        break;
    }
    evolve_repair(g, h, w);
}

/* One-point crossover of two lists of `size`-byte items: a[0..cut_a) then
 * b[cut_b..nb), at most `max` items and at least `min`. Returns the count. */
static int splice(evolve_rng *r, const void *a, int na, const void *b, int nb, size_t size,
                  int min, int max, void *out)
{
    int cut_a = evolve_rng_below(r, na + 1), cut_b = evolve_rng_below(r, nb + 1);
    int n = 0;
    for (int i = 0; i < cut_a && n < max; i++, n++)
        memcpy((char *)out + (size_t)n * size, (const char *)a + (size_t)i * size, size);
    for (int i = cut_b; i < nb && n < max; i++, n++)
        memcpy((char *)out + (size_t)n * size, (const char *)b + (size_t)i * size, size);
    /* Too short: take a's first items, which a always has (na >= min). */
    for (int i = 0; n < min; i++, n++)
        memcpy((char *)out + (size_t)n * size, (const char *)a + (size_t)i * size, size);
    return n;
}

void evolve_crossover(evolve_rng *r, const evolve_genome *a, const evolve_genome *b, int h,
                      int w, evolve_genome *child)
{
    memset(child, 0, sizeof *child);
    child->nconv = splice(r, a->conv, a->nconv, b->conv, b->nconv, sizeof a->conv[0], 1,
                          EVOLVE_MAX_CONV, child->conv);
    child->nfc = splice(r, a->fc, a->nfc, b->fc, b->nfc, sizeof a->fc[0], 0, EVOLVE_MAX_FC,
                        child->fc);
    evolve_repair(child, h, w);
}

int evolve_tournament(evolve_rng *r, const double *fitness, int n, int k)
{
    int best = -1;
    for (int i = 0; i < k; i++) {
        int c = evolve_rng_below(r, n);
        if (best < 0 || fitness[c] > fitness[best] || (fitness[c] == fitness[best] && c < best))
            best = c;
    }
    return best;
}

void evolve_format(const evolve_genome *g, char *buf)
{
    int n = 0;
    for (int i = 0; i < g->nconv; i++)
        n += snprintf(buf + n, (size_t)(EVOLVE_TEXT_MAX - n), "%sc%dk%d%s", i ? "-" : "",
                      g->conv[i].filters, g->conv[i].size, g->conv[i].pool ? "p" : "");
    for (int i = 0; i < g->nfc; i++)
        n += snprintf(buf + n, (size_t)(EVOLVE_TEXT_MAX - n), "-f%d", g->fc[i]);
}

static bool power_in(long v, long lo, long hi)
{
    return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* Reads a decimal number at *p, moving past it; -1 when there is none. */
static long number(const char **p)
{
    char *end;
    if (**p < '0' || **p > '9')
        return -1;
    long v = strtol(*p, &end, 10);
    *p = end;
    return v;
}

bool evolve_parse(const char *text, evolve_genome *g)
{
    memset(g, 0, sizeof *g);
    const char *p = text;
    while (*p == 'c') {
        p++;
        long filters = number(&p);
        if (g->nconv == EVOLVE_MAX_CONV || !power_in(filters, EVOLVE_MIN_FILTERS,
                                                     EVOLVE_MAX_FILTERS) || *p++ != 'k')
            return false;
        long size = number(&p);
        if (size != 3 && size != 5)
            return false;
        bool pool = *p == 'p';
        p += pool;
        g->conv[g->nconv++] = (evolve_conv){(int)filters, (int)size, pool};
        if (*p == '-' && p[1])
            p++;
        else if (*p)
            return false;
    }
    while (*p == 'f') {
        p++;
        long width = number(&p);
        if (g->nfc == EVOLVE_MAX_FC || !power_in(width, EVOLVE_MIN_WIDTH, EVOLVE_MAX_WIDTH))
            return false;
        g->fc[g->nfc++] = (int)width;
        if (*p == '-' && p[1])
            p++;
        else if (*p)
            return false;
    }
    return *p == '\0' && g->nconv > 0;
}

int evolve_cfg(const evolve_genome *g, int c, int h, int w, int classes, int batch, float lr,
               char *buf, size_t size)
{
    char text[EVOLVE_TEXT_MAX];
    evolve_format(g, text);
    int n = snprintf(buf, size,
                     "# genome %s, found by clnet-bench evolve\n\n"
                     "[net]\ninput = %dx%dx%d\nbatch = %d\nlearning_rate = %g\noptimizer = adam\n",
                     text, c, h, w, batch, lr);
#define PUT(...) n += snprintf(buf + n, (size_t)n < size ? size - (size_t)n : 0, __VA_ARGS__)
    for (int i = 0; i < g->nconv; i++) {
        PUT("\n[conv]\nname = conv%d\nfilters = %d\nsize = %d\npad = %d\nactivation = relu\n", i,
            g->conv[i].filters, g->conv[i].size, g->conv[i].size / 2);
        if (g->conv[i].pool)
            PUT("[maxpool]\nname = pool%d\nsize = 2\n", i);
    }
    for (int i = 0; i < g->nfc; i++)
        PUT("\n[linear]\nname = fc%d\noutputs = %d\nactivation = relu\n", i, g->fc[i]);
    PUT("\n[linear]\nname = classifier\noutputs = %d\n", classes);
#undef PUT
    return n;
}

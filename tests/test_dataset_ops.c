/* test_dataset_ops.c - datasets from a caller's arrays (copied or
 * borrowed), subsets, label remaps and concatenations: the right examples
 * in the right order, the documented errors, and nothing freed that the
 * library did not allocate (ASan checks that part); and the splitmix64
 * stream that shuffles them. */
#include <stdlib.h>
#include <string.h>

#include "clnet.h"
#include "testutil.h"

#define N 6
#define IMAGE 4   /* 1x2x2 */

/* Image i of the fixture has every pixel 10 * i + its position; label i % 3. */
static void fixture(uint8_t *images, uint8_t *labels)
{
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < IMAGE; k++)
            images[i * IMAGE + k] = (uint8_t)(10 * i + k);
        labels[i] = (uint8_t)(i % 3);
    }
}

/* Example k of ds is fixture image `image` with label `label`. */
static bool holds(const clnet_dataset *ds, int64_t k, int image, int label)
{
    for (int p = 0; p < IMAGE; p++)
        if (ds->images[k * IMAGE + p] != (uint8_t)(10 * image + p))
            return false;
    return ds->labels[k] == label;
}

static void test_arrays(clnet_ctx *ctx)
{
    uint8_t images[N * IMAGE], labels[N];
    fixture(images, labels);
    clnet_dataset *copied = NULL, *borrowed = NULL;
    if (!OK(ctx, clnet_dataset_from_arrays(ctx, "mine", N, 1, 2, 2, 3, images, labels, true,
                                           &copied)) ||
        !OK(ctx, clnet_dataset_from_arrays(ctx, NULL, N, 1, 2, 2, 3, images, labels, false,
                                           &borrowed)))
        goto out;
    images[0] = 99;
    CHECK(copied->images[0] == 0 && !copied->borrowed && strcmp(copied->name, "mine") == 0,
          "a copied dataset follows its source");
    CHECK(borrowed->images == images && borrowed->borrowed && borrowed->count == N &&
              strcmp(borrowed->name, "custom") == 0, "a borrowed dataset copied its source");
    images[0] = 0;
    /* batching reads a borrowed set like any other */
    float x[2 * IMAGE];
    int32_t got[2];
    const int64_t idx[2] = {5, 1};
    OK(ctx, clnet_dataset_batch(ctx, borrowed, idx, 2, NULL, 0, NULL, NULL, x, got));
    CHECK(got[0] == 2 && got[1] == 1 && x[IMAGE] == 10.0f / 255.0f, "batch of a borrowed set");
    labels[3] = 3;
    clnet_dataset *bad = NULL;
    clnet_status st = clnet_dataset_from_arrays(ctx, "mine", N, 1, 2, 2, 3, images, labels,
                                                true, &bad);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !bad && strstr(clnet_last_error(ctx), "image 3"),
          "a label >= classes: %d '%s'", st, clnet_last_error(ctx));
    st = clnet_dataset_from_arrays(ctx, "mine", N, 0, 2, 2, 3, images, labels, true, &bad);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !bad, "0 channels: %d", st);
out:
    clnet_dataset_free(copied);
    clnet_dataset_free(borrowed);   /* must not free the arrays on the stack */
}

static void test_derived(clnet_ctx *ctx)
{
    uint8_t images[N * IMAGE], labels[N];
    fixture(images, labels);
    clnet_dataset *src = NULL, *sub = NULL, *remapped = NULL, *both = NULL;
    if (!OK(ctx, clnet_dataset_from_arrays(ctx, "src", N, 1, 2, 2, 3, images, labels, false,
                                           &src)))
        return;
    const int64_t idx[3] = {4, 0, 4};
    if (OK(ctx, clnet_dataset_subset(ctx, src, idx, 3, &sub)))
        CHECK(sub->count == 3 && holds(sub, 0, 4, 1) && holds(sub, 1, 0, 0) &&
              holds(sub, 2, 4, 1) && sub->classes == 3, "subset {4, 0, 4}");
    const int64_t out_of_range[1] = {N};
    clnet_dataset *bad = NULL;
    clnet_status st = clnet_dataset_subset(ctx, src, out_of_range, 1, &bad);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !bad && strstr(clnet_last_error(ctx), "indices[0]"),
          "subset index out of range: %d '%s'", st, clnet_last_error(ctx));
    /* labels 0, 1, 2 -> drop, 1, 0: keeps images 1, 2, 4, 5 */
    const int map[3] = {-1, 1, 0};
    if (OK(ctx, clnet_dataset_remap_labels(ctx, src, map, 3, 2, &remapped)))
        CHECK(remapped->count == 4 && remapped->classes == 2 && holds(remapped, 0, 1, 1) &&
              holds(remapped, 1, 2, 0) && holds(remapped, 2, 4, 1) && holds(remapped, 3, 5, 0),
              "remap {-1, 1, 0}");
    const int too_big[3] = {0, 2, 1};
    st = clnet_dataset_remap_labels(ctx, src, too_big, 3, 2, &bad);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !bad && strstr(clnet_last_error(ctx), "map[1]"),
          "remap beyond classes: %d '%s'", st, clnet_last_error(ctx));
    if (sub && remapped) {
        const clnet_dataset *parts[2] = {sub, remapped};
        if (OK(ctx, clnet_dataset_concat(ctx, parts, 2, &both)))
            CHECK(both->count == 7 && both->classes == 3 && holds(both, 0, 4, 1) &&
                  holds(both, 3, 1, 1) && holds(both, 6, 5, 0), "concat of subset and remap");
        clnet_dataset other = *sub;
        other.width = 3;
        const clnet_dataset *mixed[2] = {sub, &other};
        st = clnet_dataset_concat(ctx, mixed, 2, &bad);
        CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !bad && strstr(clnet_last_error(ctx), "part 1"),
              "concat of different shapes: %d '%s'", st, clnet_last_error(ctx));
    }
    clnet_dataset_free(src);
    clnet_dataset_free(sub);
    clnet_dataset_free(remapped);
    clnet_dataset_free(both);
}

/* The first outputs from state 0 of Vigna's reference splitmix64.c. */
static void test_splitmix64(void)
{
    static const uint64_t expected[3] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL,
                                         0x06c45d188009454fULL};
    uint64_t state = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t v = clnet_splitmix64(&state);
        CHECK(v == expected[i], "splitmix64 output %d from state 0: %016llx, want %016llx", i,
              (unsigned long long)v, (unsigned long long)expected[i]);
    }
    CHECK(clnet_splitmix64_mix(0x9e3779b97f4a7c15ULL) == expected[0],
          "splitmix64_mix is not the output function of the stream");
    state = 0;
    float f = clnet_splitmix64_float(&state);
    CHECK(f == (float)(expected[0] >> 40) / 16777216.0f && f >= 0.0f && f < 1.0f,
          "splitmix64_float from state 0: %.9g", (double)f);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    test_arrays(ctx);
    test_derived(ctx);
    test_splitmix64();
    clnet_dataset_free(NULL);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    printf("dataset constructors: all checks passed\n");
    return 0;
}

/* testutil.h - what every clnet test needs: device enumeration with the CI
 * rule that a missing OpenCL device fails, a seeded RNG, and tensor helpers. */
#ifndef CLNET_TESTUTIL_H
#define CLNET_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "clnet.h"

#define TEST_SKIP 77

/* Opens every device of the context (OpenCL devices first, `ref` last) into
 * devs[0..*n). Returns 0, or TEST_SKIP when there is no OpenCL device and
 * CLNET_TEST_REQUIRE_DEVICE is unset, or 1 (after printing why) when there is
 * none but one is required, or a device fails to open. */
int test_open_devices(clnet_ctx *ctx, clnet_device **devs, int max, int *n);

/* Index of the `ref` device in devs[0..n), or -1. */
int test_ref_index(clnet_device *const *devs, int n);

/* Deterministic generator (splitmix64): the same seed gives the same stream
 * on every machine. */
typedef struct test_rng { uint64_t state; } test_rng;
uint64_t test_rng_next(test_rng *r);
float test_rng_uniform(test_rng *r, float lo, float hi);
void test_fill_uniform(test_rng *r, float *data, size_t n, float lo, float hi);

/* Allocates a tensor of `shape` on dev and writes `data` (dense, may be NULL
 * to leave it uninitialised). Prints and returns NULL on failure. */
clnet_tensor *test_tensor(clnet_device *dev, int ndim, const int64_t *shape, const float *data);

/* Reads a whole F32 tensor into a new malloc'd array (caller frees). */
float *test_read(const clnet_tensor *t);

/* Prints "where: <status text>: <last error>" and returns 1 when st != OK. */
int test_check_status(clnet_ctx *ctx, clnet_status st, const char *where);

#endif

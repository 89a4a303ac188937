/* testutil.h - what every clnet test needs: device enumeration with the CI
 * rule that a missing OpenCL device fails, a seeded RNG, tensor helpers, and
 * the CHECK and OK macros that count failed checks. */
#ifndef CLNET_TESTUTIL_H
#define CLNET_TESTUTIL_H

#include <stdbool.h>
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

/* The default device when it is an OpenCL one (CLNET_DEVICE may name one),
 * else the first OpenCL device of devs[0..n); NULL when there is none. */
clnet_device *test_opencl_device(clnet_ctx *ctx, clnet_device *const *devs, int n);

/* Runs the program argv[0] with arguments argv (NULL-terminated), its
 * stdout and stderr both written to the file `log` (replaced). Returns its
 * exit status, or -1 when it could not run or did not exit normally. */
int test_run_logged(char *const argv[], const char *log);

/* Whether the file at `path` (its first 64 KiB) contains `text`; false
 * when it cannot be read. */
bool test_file_has(const char *path, const char *text);

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

/* Failed CHECKs and OKs so far; a test's main() fails when it is not 0. */
extern int test_failures;

/* Counts a failure and prints "FAIL: file:line: " and the printf-style
 * message when cond is false. */
#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            printf("FAIL: %s:%d: ", __FILE__, __LINE__);                                        \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
            test_failures++;                                                                     \
        }                                                                                        \
    } while (0)

/* Whether the clnet call `expr` succeeded; a failure is printed (with the
 * context's last error) and counted. */
#define OK(ctx, expr) (test_check_status((ctx), (expr), #expr) == 0 || (test_failures++, false))

#endif

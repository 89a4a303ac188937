/* clnet/opencl.h - OpenCL interop: adopting a caller's context and queue,
 * the program binary cache, and offline-compiled (FPGA) program binaries. */
#ifndef CLNET_OPENCL_H
#define CLNET_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "clnet/ops.h"
#include "clnet/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Adds a device that runs on the caller's own OpenCL context and in-order
 * command queue. clnet retains both (clRetainContext/clRetainCommandQueue) and
 * releases them in clnet_ctx_free; it never finishes or flushes work the
 * caller queued. Kernels clnet queues go on this queue, after the caller's
 * work. *out belongs to the context. Errors: CLNET_ERR_INVALID_ARGUMENT (NULL
 * handles, a queue of another context), OpenCL-band statuses. */
clnet_status clnet_opencl_adopt(clnet_ctx *ctx, cl_context context, cl_command_queue queue,
                                clnet_device **out);

/* The queue clnet uses for an OpenCL device, for the caller to enqueue its
 * own work in order with clnet's. Not retained for the caller. NULL for `ref`
 * or a device not yet opened. */
cl_command_queue clnet_opencl_queue(const clnet_device *dev);

/* The buffer behind an OpenCL tensor and the byte offset of its first
 * element, for passing clnet tensors to the caller's kernels. The buffer is
 * not retained for the caller. As the caller may now write it unseen,
 * clnet stops keeping transformed copies of the weights in that buffer
 * (every convolution over them transforms them anew; see
 * clnet_device_set_weight_cache). Errors: CLNET_ERR_INVALID_ARGUMENT (a
 * `ref` tensor). */
clnet_status clnet_opencl_buffer(const clnet_tensor *t, cl_mem *buffer, size_t *offset_bytes);

/* The opposite: a dense tensor of `dtype` and `shape` over the caller's
 * buffer, starting `offset_bytes` in (a multiple of the element size), with
 * no copy. The buffer must belong to the device's OpenCL context (an
 * adopted device's, typically) and hold the whole tensor. clnet retains it
 * and releases it when the tensor and its views are freed, so the caller
 * may release its own reference at any time; the caller must not resize or
 * reallocate it meanwhile. clnet_tensor_free frees the tensor. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, a `ref` device, a buffer of
 * another context, a misaligned offset, a shape that does not fit, more
 * than 2^31-1 elements in the buffer), an OpenCL-band status when the
 * driver refuses the queries. */
clnet_status clnet_opencl_wrap(clnet_device *dev, cl_mem buffer, size_t offset_bytes,
                               clnet_dtype dtype, int ndim, const int64_t *shape,
                               clnet_tensor **out);

/* Sets the on-disk program cache directory for OpenCL devices opened later
 * (created if missing). NULL disables the cache. The default is
 * $CLNET_CACHE_DIR, else $XDG_CACHE_HOME/clnet, else $HOME/.cache/clnet.
 * Entries are keyed by source, build options, device name, driver version and
 * platform version; a corrupt or stale entry is rebuilt, never trusted.
 * A program built from source is stored there unless the driver keeps
 * compiled kernels in a disk cache of its own and would compile every
 * kernel of the program to hand out its binary (PoCL, unless
 * POCL_KERNEL_CACHE=0): there storing made a first start several times
 * slower for little gain on later ones. CLNET_CACHE_STORE=always (read
 * at clnet_ctx_new) stores there too; entries already in the directory
 * are loaded either way. Errors: CLNET_ERR_IO (cannot create the
 * directory). */
clnet_status clnet_opencl_set_cache_dir(clnet_ctx *ctx, const char *dir);

/* Switches the context to binaries-only mode: OpenCL programs are loaded only
 * from binaries in `dir` (made by clnet_opencl_compile_all), never compiled
 * from source, as on devices without a compiler (FPGAs). NULL turns the mode
 * off. $CLNET_BINARY_DIR sets it at context creation. A program with no
 * binary then fails with CLNET_ERR_NO_BINARY naming the file it looked for,
 * and so does a directory whose manifest (written by
 * clnet_opencl_compile_all) names another device, driver, platform, clnet
 * version or kernel source than this context's: the message lists every
 * field that differs, both sides. GEMM and LINEAR run on clnet's own GEMM
 * kernel in this mode; a GEMM primitive with alpha other than 1 or beta
 * other than 0 or 1, which needs CLBlast (it compiles its kernels online),
 * is reported unsupported. */
clnet_status clnet_opencl_use_binaries(clnet_ctx *ctx, const char *dir);

/* Builds every kernel program clnet has, with every option set it uses, for
 * `dev`, and writes the binaries into `dir` (created if missing) in the form
 * clnet_opencl_use_binaries loads, then `dir`/manifest.txt (clnet version,
 * device, driver, platform, the kernel sources' hash). `*nprograms` (may be
 * NULL) receives the number of binaries written. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (`ref`), CLNET_ERR_BUILD (log in
 * clnet_last_error), CLNET_ERR_IO. */
clnet_status clnet_opencl_compile_all(clnet_device *dev, const char *dir, int *nprograms);

/* What bounds every op on an OpenCL device from below, as
 * clnet_opencl_measure_limits measured it. */
typedef struct clnet_opencl_limits {
    double launch_ms;    /* median wall time, over 200 launches after 10 untimed, of
                            enqueueing an empty kernel and waiting for it (clFinish), the
                            least over grids of 1, 4, 16 and 64 work-groups of one item
                            per compute unit: an op's least cost */
    double fma_gflops;   /* the fastest float multiply-add rate (2 FLOP each) of kernels
                            running independent chains of them on every compute unit, at
                            vector widths 1, 4, 8 and 16, each the best of 3 runs of at
                            least 20 ms less launch_ms */
    int fma_width;       /* the vector width that reached fma_gflops */
} clnet_opencl_limits;

/* Measures `dev`'s launch round trip and multiply-add peak into *out: no
 * op of n FLOP can take less than launch_ms + n / fma_gflops there (what
 * `clnet-bench ops --floor` prints beside each layer). Takes about half a
 * second on a CPU (the probe kernels are built on the first call, like any
 * program); work already queued on the device's queue (an adopted one's
 * included) is waited for first. Timing is wall clock: a busy machine
 * gives a longer launch and a lower peak. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (NULL arguments, not an opened OpenCL
 * device), CLNET_ERR_BUILD, an OpenCL-band status (log in
 * clnet_last_error). */
clnet_status clnet_opencl_measure_limits(clnet_device *dev, clnet_opencl_limits *out);

/* One convolution algorithm as measured by clnet_opencl_tune_conv. */
typedef struct clnet_opencl_tune_result {
    clnet_conv_algo algo;
    const char *name;            /* static text: "direct", "im2col", "gemm_1x1", ... */
    bool applies;                /* false: it cannot run this convolution (not timed) */
    int runs;                    /* timed runs: reps, or 1 when the first was already 8x
                                    slower than the best so far (it cannot win) */
    double ms_median, ms_min, ms_max;   /* device time of one run (event profiling) */
} clnet_opencl_tune_result;

/* Measures every convolution algorithm of an OpenCL device on one layer
 * shape and records the fastest in the device's tuning table, which AUTO
 * convolutions of that shape use from then on (in this process and, through
 * the file, in later ones). `op` is a CONV (its algo is ignored), run on
 * tensors of shapes `x` and `w`, with a bias when `bias`; each algorithm
 * that applies runs once untimed (program build, warm-up), then `reps`
 * times (1..1000), each timed on the device's queue with event profiling
 * (only once when that first time is already 8x the best median so far),
 * each laying the weights out anew as in training (no kept transforms,
 * clnet_device_set_weight_cache).
 * The table is written to the program cache directory (see
 * clnet_opencl_tuning_file; temp file + rename) unless the cache is off.
 * `results` (may be NULL) receives up to `max_results` entries, one per
 * algorithm of the backend, and `*nresults` (may be NULL) their number;
 * `*best` (may be NULL) the algorithm chosen. Nothing is ever timed outside
 * this call. Errors: CLNET_ERR_INVALID_ARGUMENT (not an opened OpenCL
 * device, not a CONV, reps out of range), the errors of
 * clnet_op_output_shapes and clnet_op_run, CLNET_ERR_UNSUPPORTED (a queue
 * without profiling, as an adopted one may be), CLNET_ERR_IO (the table
 * cannot be written; the choice is still used in this process). */
clnet_status clnet_opencl_tune_conv(clnet_device *dev, const clnet_op *op, const clnet_shape *x,
                                    const clnet_shape *w, bool bias, int reps,
                                    clnet_opencl_tune_result *results, int max_results,
                                    int *nresults, clnet_conv_algo *best);

/* Writes into `path` (`size` bytes) the file that holds the tuning table of
 * `dev`: "<cache dir>/tune-<hash>.txt", the hash naming the device, its
 * driver and platform and the clnet version, so that a driver or library
 * update starts a new table. Errors: CLNET_ERR_INVALID_ARGUMENT (not an
 * OpenCL device, path too small), CLNET_ERR_IO (the program cache is off). */
clnet_status clnet_opencl_tuning_file(clnet_device *dev, char *path, size_t size);

#ifdef __cplusplus
}
#endif
#endif

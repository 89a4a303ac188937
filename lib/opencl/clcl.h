/* clcl.h - internals of the OpenCL backend shared by its files: device state,
 * program/kernel lookup, kernel launch, and the per-op-family launchers. */
#ifndef CLNET_CLCL_H
#define CLNET_CLCL_H

#include <stdatomic.h>

#include "clnet/opencl.h"
#include "core/internal.h"

typedef struct clnet_cl_program clnet_cl_program;   /* built program + its kernels */

/* Scratch buffers a device keeps: an op that rewrites its operands (the
 * space-to-depth convolution) holds one while the op it runs on them takes
 * the other. */
#define CLNET_CL_SCRATCH_SLOTS 2

/* Per-device state, in clnet_device.backend. */
typedef struct clnet_cl_device {
    cl_platform_id platform;
    cl_device_id id;
    cl_context context;         /* NULL until opened */
    cl_command_queue queue;     /* in-order, profiling enabled when clnet created it */
    bool adopted;               /* context/queue belong to the caller */
    cl_ulong cache_bytes;       /* CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, 0 when unknown: the
                                   GEMM planners ask it per launch */
    atomic_int uploads_in_flight; /* queued writes whose host block is not freed yet */
    clnet_cl_program *programs; /* built programs, guarded by ctx->lock */
    int builds;                 /* programs built from source, guarded by ctx->lock */
    int build_total;            /* the builds announced to the build observer, counted once
                                   (programs_to_build keys every variant); 0 until then */
    unsigned manifest_checked;  /* binaries-only mode: the ctx->binary_dir_generation whose
                                   manifest matched this device; 0 = none yet */
    /* Guarded by ctx->lock, NULL until first needed: the AUTO convolution
     * choices (cl_tune_table.c, released by clnet_cl_tuning_close) and the
     * buffers for ops' intermediate data (cl_scratch.c, released by
     * clnet_cl_scratch_free). */
    struct clnet_cl_tuning *tuning;
    cl_mem scratch[CLNET_CL_SCRATCH_SLOTS];
    size_t scratch_bytes[CLNET_CL_SCRATCH_SLOTS];
    bool scratch_busy[CLNET_CL_SCRATCH_SLOTS];
    struct clnet_cl_derived *derived; /* cl_derived.c, guarded by ctx->lock */
} clnet_cl_device;

static inline clnet_cl_device *clnet_cl(const clnet_device *dev)
{
    return (clnet_cl_device *)dev->backend;
}

/* Adds a device for every OpenCL device of every platform to the registry
 * (clnet_ctx_new); a machine without OpenCL adds none and succeeds. Errors:
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_opencl_register(clnet_ctx *ctx);

/* Converts an OpenCL error into a status in the OpenCL band with a message
 * naming `what` (the call or kernel) and the device. Returns CLNET_OK for
 * CL_SUCCESS so it can wrap any call: `st = clnet_cl_check(dev, err, "...")`. */
clnet_status clnet_cl_check(clnet_device *dev, cl_int err, const char *what);

/* The largest work-group `kernel` allows on dev, bounded by `cap` (at
 * least 1): what a launcher that sets its own group size may use. `name`
 * names the kernel in the error. Errors: an OpenCL-band status from
 * clGetKernelWorkGroupInfo. */
clnet_status clnet_cl_group_max(clnet_device *dev, cl_kernel kernel, const char *name,
                                size_t cap, size_t *max);

/* One embedded kernel source file of cl/ (name = file stem, e.g. "conv"). */
typedef struct clnet_cl_source {
    const char *name;
    const char *text;
} clnet_cl_source;
extern const clnet_cl_source clnet_cl_sources[];   /* generated at build time */
extern const int clnet_cl_source_count;

/* Hands back kernel `kernel` of program `program` (a cl/ file stem) built
 * with the build options `options` (NULL = the defaults; tunables are -D
 * defines with in-kernel defaults). The program is built on first use, or
 * loaded from the disk cache / binaries directory; the kernel object is owned
 * by the device and reused, so callers set its arguments and enqueue it only
 * through clnet_cl_launch, which holds the lock that makes that safe. */
clnet_status clnet_cl_kernel(clnet_device *dev, const char *program, const char *options,
                             const char *kernel, cl_kernel *out);

/* A kernel argument: `value` points at `size` bytes (a cl_mem, cl_int, float,
 * ...), or is NULL for a __local buffer of `size` bytes. */
typedef struct clnet_cl_arg {
    size_t size;
    const void *value;
} clnet_cl_arg;
#define CLNET_CL_ARG(v) ((clnet_cl_arg){sizeof(v), &(v)})
#define CLNET_CL_LOCAL(bytes) ((clnet_cl_arg){(bytes), NULL})

/* The largest divisor of n that is at most cap (1 when cap < 1): a
 * work-group size along one dimension of an exact grid, bounded where PoCL
 * would otherwise put thousands of work-items' private arrays on one
 * thread's stack. */
static inline size_t clnet_cl_divisor_within(size_t n, size_t cap)
{
    size_t d = n < cap ? n : cap;
    while (d > 1 && n % d != 0)
        d--;
    return d > 0 ? d : 1;
}

/* Sets the arguments and enqueues `kernel` on the device's queue, without
 * waiting. `local` may be NULL (the driver chooses; then `global` need not be
 * a multiple of anything). `name` is used in error messages. Errors: an
 * OpenCL-band status naming the kernel. */
clnet_status clnet_cl_launch(clnet_device *dev, cl_kernel kernel, const char *name,
                             int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                             const size_t *global, const size_t *local);

/* clnet_cl_kernel with the default options, then clnet_cl_launch over the
 * exact grid `global` (work_dim dimensions) with the driver's local size. */
clnet_status clnet_cl_launch_program(clnet_device *dev, const char *program, const char *kernel,
                                     int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                                     const size_t *global);

/* Convenience for the common 1-D launch over `n` work-items. */
clnet_status clnet_cl_launch_1d(clnet_device *dev, const char *program, const char *kernel,
                                int nargs, const clnet_cl_arg *args, size_t n);

/* A 1-D launch over `n` work-items in groups of one fixed size (at most
 * CLNET_CL_PADDED_GROUP, as the kernel allows), the grid rounded up to
 * whole groups: the kernel must return where get_global_id(0) >= n, n
 * among its arguments. For the cheap element-wise kernels a net launches
 * at many shapes: PoCL compiles a kernel again for every work-group size
 * it meets, and left to choose it picks nearly one a shape (MobileNet-v2's
 * first start compiled 48 variants of four such kernels). */
#define CLNET_CL_PADDED_GROUP 64
clnet_status clnet_cl_launch_padded(clnet_device *dev, const char *program, const char *kernel,
                                    int nargs, const clnet_cl_arg *args, size_t n);

/* A launch over `global` (work_dim dimensions, 1 to 3) in work-groups of the
 * kernel's preferred work-group size multiple along dim 0 (at most its
 * largest group) and of 1 along the others, dim 0 rounded up to whole
 * groups: the kernel must skip the work-items past the grid, which it
 * learns from its arguments. For kernels whose private arrays are large:
 * the driver's own choice can be thousands of work-items, whose private
 * arrays PoCL keeps on one thread's stack. Errors: as clnet_cl_kernel and
 * clnet_cl_launch, and an OpenCL-band status from clGetKernelWorkGroupInfo. */
clnet_status clnet_cl_launch_rounded(clnet_device *dev, const char *program, const char *kernel,
                                     int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                                     const size_t *global);

/* Kernel-side view of a tensor: every kernel takes each tensor as the triple
 * (__global T *base, int offset, int batch_stride), all in elements; the
 * rest of an image is dense (see struct clnet_tensor). Shapes and strides
 * are passed as int: cl_buffer_alloc refuses buffers beyond 2^31 - 1
 * elements (CLNET_ERR_DEVICE_MEMORY), so every index fits. */
typedef struct clnet_cl_tensor_args {
    cl_mem mem;
    cl_int offset;
    cl_int batch_stride;
} clnet_cl_tensor_args;
clnet_cl_tensor_args clnet_cl_targs(const clnet_tensor *t);
/* One past t's last element in its buffer (offset, images batch_stride
 * apart, each image dense): the bound that keeps a kernel's whole-vector
 * reads inside the tensor, never in a neighbour sharing the buffer. */
cl_int clnet_cl_targs_end(const clnet_tensor *t);
#define CLNET_CL_TENSOR(ta) CLNET_CL_ARG((ta).mem), CLNET_CL_ARG((ta).offset), CLNET_CL_ARG((ta).batch_stride)

/* A dense float tensor of `ndim` dimensions `shape` over buffer `buf` of
 * device `dev`, from element `offset`, for handing an op's intermediate
 * buffer (scratch, rotated weights) to another launcher. *storage is filled
 * in and must outlive the tensor; no reference is taken on buf, which the
 * caller keeps and releases. */
clnet_tensor clnet_cl_buffer_tensor(clnet_device *dev, cl_mem buf, int64_t offset, int ndim,
                                    const int64_t *shape, clnet_storage *storage);

/* The launchers of each op family (clnet_op_family; the op table in
 * lib/core/op_table.c says which kinds each runs), called with an op already
 * validated by the core. One file per family. */
clnet_status clnet_cl_run_conv(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_cl_run_pool(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_cl_run_eltwise(clnet_device *dev, const clnet_op *op, int nin,
                                  clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_cl_run_norm(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_cl_run_gemm(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_cl_run_optim(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_cl_run_train(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out);

/* Adds b[c] in place over axis 1 of y: y (N, C, ...) and b (C). What
 * BIAS_ADD computes, and what LINEAR's bias needs (y (N, M), b (M)). Queued, not
 * waited for. Errors: CLNET_ERR_SHAPE (b does not hold C entries),
 * CLNET_ERR_UNSUPPORTED (a tensor beyond int indexing), an OpenCL-band
 * status naming the kernel. Implemented in cl_eltwise.c. */
clnet_status clnet_cl_bias_add(clnet_device *dev, clnet_tensor *y, const clnet_tensor *b);

/* y = f(x) elementwise over tensors of one shape (y may be x): what
 * ACTIVATION computes, and the pass after a convolution algorithm that does
 * not fuse its activation. Queued, not waited for. Errors: an OpenCL-band
 * status naming the kernel. Implemented in cl_eltwise.c. */
clnet_status clnet_cl_activation(clnet_device *dev, const clnet_act_params *p,
                                 const clnet_tensor *x, clnet_tensor *y);

/* A device buffer of at least `bytes` for one op's intermediate data (the
 * columns of im2col, transformed tiles): the first free one of the
 * device's own scratch buffers, grown as needed, or a new one while
 * callers hold them all. Hand it
 * back with clnet_cl_scratch_release once the last command that uses it is
 * queued: the in-order queue runs later ops after those commands, so the
 * next holder cannot overwrite data still to be read. Errors: an
 * OpenCL-band status naming the size (out of device memory). */
clnet_status clnet_cl_scratch_acquire(clnet_device *dev, size_t bytes, cl_mem *out);
void clnet_cl_scratch_release(clnet_device *dev, cl_mem mem);

/* Releases the device's scratch buffers (device close). */
void clnet_cl_scratch_free(clnet_device *dev);

/* A buffer derived from a convolution's weights (cl_derived.c) is named by
 * its transform (`what`: the kernel that makes it, a string literal) and
 * everything besides the weights that its contents depend on (`params`:
 * channel counts, flags; unused entries 0). */
#define CLNET_CL_DERIVED_PARAMS 6
typedef struct clnet_cl_derived_key {
    const char *what;
    int64_t params[CLNET_CL_DERIVED_PARAMS];
} clnet_cl_derived_key;

/* The device's kept copy of transform `key` of the weights w (and b, when
 * not NULL), `bytes` long. *out NULL: nothing is kept (the first sighting
 * of these weights' contents, a budget too small, a wrapped or handed-out
 * buffer): the caller transforms into its scratch. Otherwise *out is a
 * buffer retained for the caller; with *fill the caller queues the
 * transform into it, without it holds the transform already (the in-order
 * queue orders the fill before every later reader). Never fails: running
 * out of memory only keeps nothing. */
void clnet_cl_derived_acquire(clnet_device *dev, const clnet_cl_derived_key *key,
                              const clnet_tensor *w, const clnet_tensor *b, size_t bytes,
                              cl_mem *out, bool *fill);
/* Hands back what clnet_cl_derived_acquire gave (NULL: nothing) once the
 * caller's last command that reads it is queued; `filled`: the transform
 * was queued into it, which later calls may now reuse. */
void clnet_cl_derived_release(clnet_device *dev, cl_mem buf, bool filled);

/* Drops what was derived from buffer `handle` (being freed). */
void clnet_cl_derived_forget(clnet_device *dev, const void *handle);
/* Frees kept buffers down to the device's budget (after it shrank). */
void clnet_cl_derived_trim(clnet_device *dev);
/* Frees them all (device close). */
void clnet_cl_derived_free(clnet_device *dev);

/* Whether the device's preferred float vector width is 8 (AVX2 on PoCL):
 * the kernels with a register tile per vector width (direct 3x3, its
 * weight gradient, the tiled GEMM) then take their float8 variant. Other
 * widths take the float16 one, also below 8: GPUs report 1, their lanes
 * being work-items, and a vector is then just registers. A failed query
 * counts as not 8. */
bool clnet_cl_prefers_float8(const clnet_device *dev);

/* Whether the device is a CPU (PoCL's pthread device, say), where a
 * work-group runs on one core and the kernels that care pick their
 * work-group shapes and per-item work for the caches, not for lanes. */
bool clnet_cl_is_cpu(const clnet_device *dev);

/* Work-group size for a reduction kernel that keeps `bytes_per_item` bytes
 * of __local memory per work-item and reduces `items` elements per group: a
 * power of two within what the kernel (CL_KERNEL_WORK_GROUP_SIZE) and the
 * device (first work-item dimension, local memory size) allow, small enough
 * that each work-item first reduces a few dozen elements alone, but at least
 * the kernel's preferred work-group size multiple. Errors: an OpenCL-band
 * status from the queries. Implemented in cl_norm.c. */
clnet_status clnet_cl_reduce_size(clnet_device *dev, cl_kernel kernel, size_t bytes_per_item,
                                  size_t items, size_t *local);

/* Work-group size for a kernel with one work-group per channel that
 * reduces over the channel's elements of every image (batch norm, the
 * depthwise weight gradient). A CPU device gets one work-item per group: it
 * then streams the channel in memory order, the prefetcher's best case,
 * where a wider group (which PoCL runs one work-item after another between
 * barriers) jumps across the channel; batch norm's gradient of
 * 128x16x32x32 ran 3x slower that way (10 ms vs 3.4 ms), and the channels
 * (16 or more in every net here) still keep the cores busy. Other devices
 * get clnet_cl_reduce_size's group. Errors: those of clnet_cl_reduce_size.
 * Implemented in cl_norm.c. */
clnet_status clnet_cl_channel_group_size(clnet_device *dev, cl_kernel kernel,
                                         size_t bytes_per_item, size_t items, size_t *local);

#endif

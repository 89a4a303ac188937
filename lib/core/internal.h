/* internal.h - the structures behind the public handles, the backend
 * interface, and error/log helpers shared by every part of the library. */
#ifndef CLNET_INTERNAL_H
#define CLNET_INTERNAL_H

#include <stdarg.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>

#include "clnet.h"
#include "core/op_table.h"

/* Returns from the calling function with the status of `expr` unless it is
 * CLNET_OK. */
#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

/* Queues one validated op; optional inputs and outputs that were left out
 * are not counted in nin/nout (trailing NULLs are trimmed by the core). */
typedef clnet_status (*clnet_run_fn)(clnet_device *dev, const clnet_op *op, int nin,
                                     clnet_tensor *const *in, int nout,
                                     clnet_tensor *const *out);

/* A backend is this table of functions plus the per-device state in
 * clnet_device.backend. The core validates every call before it reaches a
 * backend: `run` sees only ops whose shapes, dtypes and devices were checked
 * by clnet_op_output_shapes and that clnet_op_supported accepted. */
typedef struct clnet_backend_iface {
    const char *name;
    /* Creates the device's runtime state (context, queue); called once,
     * on first use. */
    clnet_status (*open)(clnet_device *dev);
    /* Releases what open created; called by clnet_ctx_free on opened
     * devices only. */
    void (*close)(clnet_device *dev);
    clnet_status (*buffer_alloc)(clnet_device *dev, size_t bytes, void **handle);
    void (*buffer_free)(clnet_device *dev, void *handle);
    /* Blocking copies between host memory and a byte range of a buffer. */
    clnet_status (*buffer_write)(clnet_device *dev, void *handle, size_t offset,
                                 size_t bytes, const void *src);
    clnet_status (*buffer_read)(clnet_device *dev, void *handle, size_t offset,
                                size_t bytes, void *dst);
    /* (optional) Queues a copy of `src` (a malloc'd block the backend owns
     * from the call on, success or not, and frees once the copy has run) and
     * returns without waiting. NULL: the core writes with buffer_write. */
    clnet_status (*buffer_write_owned)(clnet_device *dev, void *handle, size_t offset,
                                       size_t bytes, void *src);
    /* (optional) Queues a copy between `host` and a byte range of a buffer
     * (to the device when to_device) and returns without waiting: `host`
     * stays the caller's and must stay valid, and untouched by the host,
     * until `synchronize` returns. NULL: the core copies blocking. */
    clnet_status (*buffer_copy_nowait)(clnet_device *dev, void *handle, size_t offset,
                                       size_t bytes, void *host, bool to_device);
    /* The implementation of each op family (indexed by clnet_op_family, the
     * op table says which family a kind belongs to); a NULL entry means the
     * backend implements no kind of that family. */
    const clnet_run_fn *runners;
    /* (optional) Refuses ops of an implemented kind by their parameters;
     * NULL accepts every op whose kind has a runner. */
    bool (*supports)(clnet_device *dev, const clnet_op *op);
    clnet_status (*synchronize)(clnet_device *dev);
    /* (optional) Frees buffers derived from weights (a backend's kept
     * transforms) down to the device's weight_cache_max. NULL: it keeps
     * none. */
    void (*trim_weight_cache)(clnet_device *dev);
    /* (optional) Fixes in `op`, a checked and supported copy that a plan
     * keeps, what `run` would otherwise decide on every call from the
     * shapes (in: the inputs', out: the outputs'), such as a convolution's
     * AUTO algorithm, and refuses (with a status and message) what `run`
     * would refuse on every call. NULL: nothing to fix. */
    clnet_status (*plan)(clnet_device *dev, clnet_op *op, const clnet_shape *in,
                         const clnet_shape *out);
} clnet_backend_iface;

/* Queues a copy of `bytes` of host memory into a dense tensor without
 * waiting for the device (clnet_tensor_write blocks until the queue before
 * it has run): `src` is copied into a staging block first, so the caller may
 * reuse it at once. Errors: those of clnet_tensor_write, and
 * CLNET_ERR_HOST_MEMORY. A tensor that is not dense is written blocking. */
clnet_status clnet_tensor_write_queued(clnet_tensor *t, const void *src, size_t bytes);

/* Queue a read of a dense tensor into `dst`, or a write of `src` into it,
 * without waiting and without staging: the host memory must stay valid (and,
 * for a read, unread; for a write, unchanged) until clnet_device_synchronize
 * of the tensor's device returns. Many transfers then cost one wait instead
 * of one each (the all-reduce of data-parallel training). Errors: those of
 * clnet_tensor_read and clnet_tensor_write. A backend without queued copies,
 * or a tensor that is not dense, is copied blocking. */
clnet_status clnet_tensor_read_nowait(const clnet_tensor *t, void *dst, size_t bytes);
clnet_status clnet_tensor_write_nowait(clnet_tensor *t, const void *src, size_t bytes);

struct clnet_device {
    clnet_ctx *ctx;
    const clnet_backend_iface *iface;
    void *backend;             /* backend state, e.g. cl_device_id + queue: one malloc'd
                                  block, released with free() by clnet_ctx_free after
                                  iface->close (close frees what open created) */
    clnet_device_info info;
    bool opened;
    double blocked_ms;         /* time callers spent in blocking transfers (clnet_device_blocked_ms) */
    /* Device memory the backend may hold in transformed weights, and holds
     * (clnet_device_set_weight_cache); guarded by ctx->lock. */
    size_t weight_cache_max, weight_cache_bytes;
};

struct clnet_ctx {
    clnet_device **devices;
    int ndevices;
    char last_error[8192];
    clnet_log_fn log_fn;
    void *log_user;
    clnet_log_level log_min;
    clnet_build_fn build_fn;   /* NULL: nobody observes program builds */
    void *build_user;
    char *cache_dir;           /* NULL: program disk cache off */
    bool cache_store_always;   /* $CLNET_CACHE_STORE=always: store built programs even where
                                  the driver caches them itself (cl_program.c) */
    char *binary_dir;          /* non-NULL: binaries-only mode */
    unsigned binary_dir_generation; /* counts binary_dir's settings, from 1: a device
                                       checks the directory's manifest once per setting */
    char *cl_source_dir;       /* non-NULL: read cl/ sources from disk ($CLNET_CL_DIR) */
    mtx_t lock;                /* guards program caches of every device */
};

/* Reference-counted storage shared by a tensor and its views. `id` and
 * `version` say whether its contents are the ones a backend derived
 * something from (transformed weights, cl_derived.c): `id` is unique
 * among storages clnet allocated (0: a backend's temporary, never
 * cached), `version` counts the writes clnet queued to it
 * (clnet_storage_touch). `external`: a caller holds the raw buffer
 * (wrapped, or handed out by clnet_opencl_buffer) and may write it
 * without clnet knowing. */
typedef struct clnet_storage {
    clnet_device *dev;
    void *handle;              /* backend buffer (host pointer for ref, cl_mem for OpenCL) */
    size_t bytes;
    int refs;
    uint64_t id, version;
    bool external;
} clnet_storage;

/* Room for one more element in an array of `count` used of *cap, each
 * `elem` bytes: `items` itself while it has room, else the array grown to
 * twice *cap (`first` when empty), which updates *cap. NULL when out of
 * host memory; `items` is then still valid and unchanged. */
static inline void *clnet_grow(void *items, int count, int *cap, size_t elem, int first)
{
    if (count < *cap)
        return items;
    const int grown_cap = *cap ? 2 * *cap : first;
    void *grown = realloc(items, (size_t)grown_cap * elem);
    if (grown)
        *cap = grown_cap;
    return grown;
}

/* Records that a write to the storage is queued: whatever was derived from
 * its earlier contents is stale. Every path that writes a tensor (an op's
 * outputs, uploads, fills) calls it. */
static inline void clnet_storage_touch(clnet_storage *s)
{
    s->version++;
}

/* Strides and offset are in elements. Every layout clnet creates is dense in
 * all axes but the first (views slice axis 0 or 1 only), so kernels address a
 * tensor as base + offset + n * stride[0] + (dense index within one image). */
struct clnet_tensor {
    clnet_storage *storage;
    clnet_dtype dtype;
    int ndim;
    int64_t shape[CLNET_MAX_DIMS];
    int64_t stride[CLNET_MAX_DIMS];
    int64_t offset;
};

/* Records `fmt` as the context's last error, logs it at CLNET_LOG_DEBUG (the
 * caller decides whether a returned error matters) and
 * returns `status`, so failures read `return clnet_fail(ctx, CLNET_ERR_SHAPE,
 * "conv: ...", ...)`. ctx may be NULL (then only the status is returned). */
clnet_status clnet_fail(clnet_ctx *ctx, clnet_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Empties the context's last error (ctx may be NULL). Every public call
 * that returns a status calls it first, so that after a success
 * clnet_last_error is "" and after a failure it describes that failure
 * (SQLite's rule), never an older one. */
void clnet_error_clear(clnet_ctx *ctx);

/* Logs through the context's sink when `level` is at or above its minimum. */
void clnet_log(clnet_ctx *ctx, clnet_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* clnet_op_output_shapes, also giving `fewest`, the number of outputs a
 * run must pass at least (the rest are optional, all or none); `fewest`
 * may be NULL. */
clnet_status clnet_op_check(clnet_ctx *ctx, const clnet_op *op, int nin, const clnet_shape *in,
                            const clnet_dtype *in_dtype, int *nout, clnet_shape *out,
                            clnet_dtype *out_dtype, int *fewest);

/* What clnet_op_run and clnet_op_plan_run share (op.c). The tensor lists
 * of a run of op kind `name` on dev: trailing NULLs trimmed from the
 * counts, a NULL elsewhere or a count outside 0..max refused
 * (CLNET_ERR_INVALID_ARGUMENT), every tensor on dev
 * (CLNET_ERR_DEVICE_MISMATCH). */
clnet_status clnet_op_tensors_check(clnet_device *dev, const char *name, clnet_tensor *const *in,
                                    int *nin, clnet_tensor *const *out, int *nout);
/* Whether t has shape `want`. */
bool clnet_tensor_has_shape(const clnet_tensor *t, const clnet_shape *want);
/* out[0..nout) against what the op produces: nout must be `fewest` or
 * `produced` (CLNET_ERR_INVALID_ARGUMENT), each output of its shape
 * (CLNET_ERR_SHAPE) and dtype (CLNET_ERR_DTYPE). */
clnet_status clnet_op_outputs_check(clnet_ctx *ctx, const char *name, int nout,
                                    clnet_tensor *const *out, int produced, int fewest,
                                    const clnet_shape *want, const clnet_dtype *want_dtype);
/* Marks the outputs written and hands the checked op to dev's backend. */
clnet_status clnet_op_dispatch(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out);

/* A new context configured from the environment, with no device yet:
 * clnet_ctx_new (lib/registry.c) has the backends fill the registry. Errors:
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_ctx_create(clnet_ctx **out);

/* Appends a device to the registry (taking ownership of `dev`); sets its
 * index and ctx. */
clnet_status clnet_ctx_add_device(clnet_ctx *ctx, clnet_device *dev);

/* Writes a shape as "2x3x5x5" into buf (always NUL-terminated). */
void clnet_shape_format(char *buf, size_t size, const clnet_shape *s);

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC): for intervals. */
static inline double clnet_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* a / b rounded up, for a >= 0 and b > 0. */
static inline int64_t clnet_ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* A dense tensor over a buffer the backend did not allocate: `handle` (of
 * `bytes`, already retained for the tensor: released through buffer_free
 * when the last view goes), its first element `offset` elements in. Checks
 * the dtype, the shape and that it fits in the buffer. */
clnet_status clnet_tensor_over_handle(clnet_device *dev, void *handle, size_t bytes,
                                      int64_t offset, clnet_dtype dtype, int ndim,
                                      const int64_t *shape, clnet_tensor **out);

/* Element size of a dtype in bytes. */
size_t clnet_dtype_size(clnet_dtype dtype);

/* Elements in one image of a tensor (numel / shape[0]). */
int64_t clnet_tensor_image_numel(const clnet_tensor *t);

/* True when the tensor's elements are one dense block (no slice gaps). */
bool clnet_tensor_is_dense(const clnet_tensor *t);

#endif

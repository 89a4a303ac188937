/* clnet/context.h - the library context, logging, and the device registry. */
#ifndef CLNET_CONTEXT_H
#define CLNET_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clnet/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles. A context owns its devices; a device owns nothing the
 * caller frees. */
typedef struct clnet_ctx clnet_ctx;
typedef struct clnet_device clnet_device;

/* Returns the library version as static text, e.g. "0.1.0". */
const char *clnet_version(void);

typedef enum clnet_log_level {
    CLNET_LOG_DEBUG = 0,   /* cache hits, chosen algorithms, every failed call's message */
    CLNET_LOG_INFO = 1,    /* program builds, device discovery */
    CLNET_LOG_WARN = 2,    /* recoverable surprises (corrupt cache entry rebuilt) */
    CLNET_LOG_ERROR = 3    /* failures no status can report (e.g. while releasing) */
} clnet_log_level;

/* A log sink. `message` is valid only during the call and has no trailing
 * newline. Called from whichever thread logs; the sink must be thread-safe if
 * the context is used from several threads. */
typedef void (*clnet_log_fn)(void *user, clnet_log_level level, const char *message);

/* Creates a context and discovers devices: every device of every OpenCL
 * platform the ICD loader reports, followed by the reference backend `ref`,
 * which is always present. No OpenCL context or queue is created until a
 * device is first opened. A machine without OpenCL is not an error: the
 * context then holds only `ref`. On success *out owns a context that the
 * caller releases with clnet_ctx_free. Errors: CLNET_ERR_INVALID_ARGUMENT
 * (out is NULL), CLNET_ERR_HOST_MEMORY. Environment read here:
 * CLNET_CACHE_DIR (program cache directory; "off" disables it),
 * CLNET_CACHE_STORE ("auto", the default: built programs are not stored
 * where the driver caches them itself, as PoCL does; "always": stored
 * everywhere; see clnet/opencl.h), CLNET_LOG
 * (the lowest level the default log sink shows: debug, info, warning, the
 * default, or error),
 * CLNET_BINARY_DIR (binaries-only mode, see clnet/opencl.h), CLNET_CL_DIR
 * (read kernel sources from this directory instead of the embedded copy). */
clnet_status clnet_ctx_new(clnet_ctx **out);

/* Releases a context, every device it opened, and the OpenCL objects it
 * created (adopted contexts and queues are released, not destroyed: the
 * caller's own references stay valid). Tensors must be freed first; a NULL
 * ctx is ignored. */
void clnet_ctx_free(clnet_ctx *ctx);

/* Returns the detail of the most recent status-returning call made on this
 * context or any of its devices, tensors, nets and datasets when that call
 * failed: the op, the kernel, the device, the OpenCL build log, bytes
 * requested vs available. Every such call that succeeds clears it (SQLite's
 * rule), so the text is "" after a success and never describes an older
 * failure. (clnet_device_describe, which only reads a registry entry, leaves
 * it alone.) The pointer is owned by the context and valid until the next
 * call on it.
 * A context is meant to be driven by one thread at a time; from several
 * threads the message may belong to another thread's call. */
const char *clnet_last_error(const clnet_ctx *ctx);

/* Records `message` (copied; truncated to the context's buffer) as the
 * context's last error and returns `status`: for libraries layered on clnet
 * (libclnet-mpi), whose failures callers read back with clnet_last_error
 * like clnet's own. ctx NULL only returns `status`; message NULL records "". */
clnet_status clnet_ctx_set_error(clnet_ctx *ctx, clnet_status status, const char *message);

/* Replaces the log sink (NULL restores the default, which writes to stderr)
 * and sets the lowest level delivered. A new context delivers
 * CLNET_LOG_WARN and above (or from the level CLNET_LOG names) to the
 * default sink. The library never writes to
 * stdout. */
void clnet_ctx_set_log(clnet_ctx *ctx, clnet_log_fn fn, void *user, clnet_log_level min_level);

/* One OpenCL program compiled from source (never a program found in memory,
 * in the disk cache or in a binaries directory), reported twice: before the
 * build (`done` false) and after it, the binary stored in the cache
 * (`done` true, `ms` set, `ok` whether it built). A first start compiles
 * for seconds to minutes; this lets a program tell its user why. */
typedef struct clnet_build_event {
    const char *device;     /* the device's name */
    const char *program;    /* the cl/ file stem, e.g. "eltwise" */
    const char *options;    /* the build options clnet added ("" for none) */
    const char *cache_dir;  /* where clnet stores the binary; NULL when it does not */
    bool driver_caches;     /* cache_dir is NULL because the driver keeps compiled kernels
                               in its own disk cache (PoCL; see CLNET_CACHE_STORE) */
    int index;              /* 1 for the device's first build from source, then 2, ... */
    int total;              /* index - 1 + the program variants clnet may still ask for
                               that are neither built nor cached: an upper bound on the
                               builds of this run (a model usually needs fewer) */
    bool done;
    bool ok;                /* done: the build succeeded */
    double ms;              /* done: wall time of the build and the cache write */
} clnet_build_event;

/* A build observer: `event` and its strings are valid only during the call.
 * It is called with the context's lock held: it must not call clnet. */
typedef void (*clnet_build_fn)(void *user, const clnet_build_event *event);

/* Installs (fn non-NULL) or removes (fn NULL) the build observer of every
 * device of the context. No observer is installed by default. A NULL ctx is
 * ignored. */
void clnet_ctx_set_build_hook(clnet_ctx *ctx, clnet_build_fn fn, void *user);

typedef enum clnet_device_kind {
    CLNET_DEVICE_REF = 0,     /* plain scalar C on the host: the oracle */
    CLNET_DEVICE_OPENCL = 1   /* any OpenCL 1.2+ device */
} clnet_device_kind;

/* What a device is and can do, as queried from the driver (never inferred
 * from vendor names). Strings are NUL-terminated and may be truncated. */
typedef struct clnet_device_info {
    clnet_device_kind kind;
    int index;                    /* position in the context's registry */
    char name[128];               /* "ref" for the reference backend */
    char vendor[128];
    char platform[128];           /* OpenCL platform name; "" for ref */
    char version[128];            /* CL_DEVICE_VERSION */
    char driver_version[128];     /* CL_DRIVER_VERSION */
    char opencl_c_version[128];   /* CL_DEVICE_OPENCL_C_VERSION */
    char type[16];                /* "cpu", "gpu", "accelerator", "custom", "host" */
    uint32_t compute_units;
    uint32_t max_clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes;
    size_t max_work_group_size;
    bool fp16;                    /* cl_khr_fp16 */
    bool fp64;                    /* cl_khr_fp64 */
    bool compiler_available;      /* false on offline-compiled devices (FPGAs) */
    bool adopted;                 /* context/queue supplied by the caller */
} clnet_device_info;

/* Number of devices in the registry, `ref` included (so always >= 1).
 * OpenCL devices come first, in platform then device order; `ref` is last,
 * then devices added by clnet_opencl_adopt. */
int clnet_device_count(const clnet_ctx *ctx);

/* Hands back device number `index` (0 <= index < clnet_device_count), opening
 * it on first use (an OpenCL context and an in-order command queue with
 * profiling enabled). The device belongs to the context: do not free it.
 * Errors: CLNET_ERR_INVALID_ARGUMENT, CLNET_ERR_NO_DEVICE (index out of
 * range), an OpenCL-band status if the driver refuses to create a context or
 * queue (detail in clnet_last_error). */
clnet_status clnet_device_get(clnet_ctx *ctx, int index, clnet_device **out);

/* Finds and opens a device by a selector string: "ref", a decimal index, or a
 * case-insensitive substring of "<platform>: <device name>" (the first match
 * wins). NULL or "" selects the default: the value of CLNET_DEVICE if set,
 * otherwise the first OpenCL device, otherwise `ref`. Errors as
 * clnet_device_get; CLNET_ERR_NO_DEVICE names the selector that matched
 * nothing. */
clnet_status clnet_device_find(clnet_ctx *ctx, const char *selector, clnet_device **out);

/* Copies the device description into *info. Works on devices that were never
 * opened. Errors: CLNET_ERR_INVALID_ARGUMENT. */
clnet_status clnet_device_info_get(const clnet_device *dev, clnet_device_info *info);

/* Like clnet_device_info_get, by registry index, without opening the device
 * (what `clnet-bench devices` uses). Errors: CLNET_ERR_INVALID_ARGUMENT,
 * CLNET_ERR_NO_DEVICE. */
clnet_status clnet_device_describe(const clnet_ctx *ctx, int index, clnet_device_info *info);

/* Returns the context a device belongs to. */
clnet_ctx *clnet_device_ctx(const clnet_device *dev);

/* Milliseconds the calling threads have spent held inside blocking transfers
 * on this device (tensor reads, writes and fills, which wait for the work
 * queued before them), summed since the device was opened; subtract two
 * readings to get the host's wait over a stretch of work. 0 for NULL. Not
 * synchronised: read it from the thread that drives the device. */
double clnet_device_blocked_ms(const clnet_device *dev);

/* Caps the device memory the device keeps in transformed copies of
 * convolution weights (Winograd's filters, the direct kernels' layouts),
 * which later convolutions over unchanged weights reuse instead of
 * transforming again. A transform is kept from its second use with the
 * same weight contents on: inference and repeated calls keep one per
 * layer; in training, which changes the weights every step, one that two
 * ops of a step read (a forward convolution and its data gradient, for
 * Winograd and single-tap layers) stays and is refilled each step. The
 * least recently used goes first when over the cap. 0 keeps none; copies
 * beyond a lowered cap are freed now. Default: an eighth of the device's
 * memory, at most 256 MiB, or CLNET_WEIGHT_CACHE_MB (MiB) when set. clnet
 * sees every write it queues; a tensor whose buffer the caller holds
 * (clnet_opencl_wrap, clnet_opencl_buffer) is never cached. Errors:
 * CLNET_ERR_INVALID_ARGUMENT for a NULL device. */
clnet_status clnet_device_set_weight_cache(clnet_device *dev, size_t max_bytes);

/* Bytes of device memory held in transformed weights now (0 for NULL or a
 * device that keeps none). */
size_t clnet_device_weight_cache_bytes(const clnet_device *dev);

/* Waits until every operation queued on the device has finished. Errors from
 * the device (an OpenCL-band status) surface here at the latest. */
clnet_status clnet_device_synchronize(clnet_device *dev);

#ifdef __cplusplus
}
#endif
#endif

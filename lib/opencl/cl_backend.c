/* cl_backend.c - the OpenCL backend: device discovery, device open/close,
 * buffers, op dispatch to the per-family launchers, and the interop calls of
 * clnet/opencl.h (adopting a caller's context and queue). */
#include "opencl/cl_algo.h"
#include "opencl/cl_matmul.h"
#include "opencl/cl_program.h"

#include <CL/cl_ext.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const clnet_backend_iface cl_iface;

static bool is_opencl(const clnet_device *dev)
{
    return dev && dev->iface == &cl_iface;
}

/* Copies a string query into a fixed field, truncating rather than failing
 * when the driver's string is longer than the field. */
static void device_string(cl_device_id id, cl_device_info param, char *dst, size_t cap)
{
    size_t size = 0;
    dst[0] = '\0';
    if (clGetDeviceInfo(id, param, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return;
    char *buf = malloc(size);
    if (!buf)
        return;
    if (clGetDeviceInfo(id, param, size, buf, NULL) == CL_SUCCESS) {
        buf[size - 1] = '\0';
        strncpy(dst, buf, cap - 1);
        dst[cap - 1] = '\0';
    }
    free(buf);
}

static void platform_string(cl_platform_id id, cl_platform_info param, char *dst, size_t cap)
{
    size_t size = 0;
    dst[0] = '\0';
    if (clGetPlatformInfo(id, param, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return;
    char *buf = malloc(size);
    if (!buf)
        return;
    if (clGetPlatformInfo(id, param, size, buf, NULL) == CL_SUCCESS) {
        buf[size - 1] = '\0';
        strncpy(dst, buf, cap - 1);
        dst[cap - 1] = '\0';
    }
    free(buf);
}

/* Whole-token match in a space-separated extension list, so that a longer
 * extension name containing `ext` does not count. */
static bool has_extension(cl_device_id id, const char *ext)
{
    size_t size = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return false;
    char *list = malloc(size);
    if (!list)
        return false;
    bool found = false;
    size_t n = strlen(ext);
    if (clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, size, list, NULL) == CL_SUCCESS) {
        list[size - 1] = '\0';
        for (const char *p = list; (p = strstr(p, ext)) != NULL; p += n) {
            bool starts = p == list || p[-1] == ' ';
            bool ends = p[n] == '\0' || p[n] == ' ';
            if (starts && ends) {
                found = true;
                break;
            }
        }
    }
    free(list);
    return found;
}

static const char *type_name(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return "gpu";
    if (type & CL_DEVICE_TYPE_CPU)
        return "cpu";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "custom";
}

/* Queries that fail leave their field zero: a device that cannot report a
 * value is still usable, and zero reads as "unknown". */
static void fill_info(cl_platform_id platform, cl_device_id id, clnet_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->kind = CLNET_DEVICE_OPENCL;
    device_string(id, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_string(id, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    platform_string(platform, CL_PLATFORM_NAME, info->platform, sizeof info->platform);
    device_string(id, CL_DEVICE_VERSION, info->version, sizeof info->version);
    device_string(id, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    device_string(id, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                  sizeof info->opencl_c_version);
    cl_device_type type = 0;
    clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    snprintf(info->type, sizeof info->type, "%s", type_name(type));
    cl_uint u = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL) == CL_SUCCESS)
        info->compute_units = u;
    u = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u, NULL) == CL_SUCCESS)
        info->max_clock_mhz = u;
    cl_ulong ul = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof ul, &ul, NULL) == CL_SUCCESS)
        info->global_mem_bytes = ul;
    ul = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ul, &ul, NULL) == CL_SUCCESS)
        info->max_alloc_bytes = ul;
    ul = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ul, &ul, NULL) == CL_SUCCESS)
        info->local_mem_bytes = ul;
    size_t wg = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) == CL_SUCCESS)
        info->max_work_group_size = wg;
    cl_bool compiler = CL_FALSE;
    clGetDeviceInfo(id, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    info->compiler_available = compiler == CL_TRUE;
    info->fp16 = has_extension(id, "cl_khr_fp16");
    info->fp64 = has_extension(id, "cl_khr_fp64");
}

/* Allocates a device of this backend; the context frees dev->backend and
 * dev itself (clnet_ctx_free), after close when it was opened. */
static clnet_device *device_new(cl_platform_id platform, cl_device_id id)
{
    clnet_device *dev = calloc(1, sizeof *dev);
    clnet_cl_device *cl = calloc(1, sizeof *cl);
    if (!dev || !cl) {
        free(dev);
        free(cl);
        return NULL;
    }
    cl->platform = platform;
    cl->id = id;
    if (clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cl->cache_bytes,
                        &cl->cache_bytes, NULL) != CL_SUCCESS)
        cl->cache_bytes = 0;
    dev->iface = &cl_iface;
    dev->backend = cl;
    fill_info(platform, id, &dev->info);
    return dev;
}

static clnet_status register_platform(clnet_ctx *ctx, cl_platform_id platform)
{
    cl_uint n = 0;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
    if (err == CL_DEVICE_NOT_FOUND || n == 0)
        return CLNET_OK;
    if (err != CL_SUCCESS) {
        clnet_log(ctx, CLNET_LOG_WARN, "OpenCL: cannot list the devices of a platform: %s",
                  clnet_status_str((clnet_status)(CLNET_ERR_OPENCL_BAND + err)));
        return CLNET_OK;
    }
    cl_device_id *ids = malloc(n * sizeof *ids);
    if (!ids)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "OpenCL discovery: out of host memory");
    clnet_status st = CLNET_OK;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, ids, NULL) != CL_SUCCESS)
        n = 0;
    for (cl_uint i = 0; i < n && st == CLNET_OK; i++) {
        clnet_device *dev = device_new(platform, ids[i]);
        if (!dev) {
            st = clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "OpenCL discovery: out of host memory");
            break;
        }
        st = clnet_ctx_add_device(ctx, dev);
        if (st != CLNET_OK) {
            free(dev->backend);
            free(dev);
            break;
        }
        clnet_log(ctx, CLNET_LOG_INFO, "found OpenCL device %d: %s: %s (%s)", dev->info.index,
                  dev->info.platform, dev->info.name, dev->info.version);
    }
    free(ids);
    return st;
}

clnet_status clnet_opencl_register(clnet_ctx *ctx)
{
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &n);
    /* No ICD installed (the loader says CL_PLATFORM_NOT_FOUND_KHR) is a
     * machine without OpenCL, which the context accepts: it keeps `ref`. */
    if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && n == 0)) {
        clnet_log(ctx, CLNET_LOG_INFO, "no OpenCL platform found");
        return CLNET_OK;
    }
    if (err != CL_SUCCESS) {
        clnet_log(ctx, CLNET_LOG_WARN, "OpenCL platforms cannot be listed (%s); using ref only",
                  clnet_status_str((clnet_status)(CLNET_ERR_OPENCL_BAND + err)));
        return CLNET_OK;
    }
    cl_platform_id *platforms = malloc(n * sizeof *platforms);
    if (!platforms)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "OpenCL discovery: out of host memory");
    clnet_status st = CLNET_OK;
    if (clGetPlatformIDs(n, platforms, NULL) != CL_SUCCESS)
        n = 0;
    for (cl_uint i = 0; i < n && st == CLNET_OK; i++)
        st = register_platform(ctx, platforms[i]);
    free(platforms);
    return st;
}

static clnet_status cl_open(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)cl->platform, 0};
    cl_int err;
    cl->context = clCreateContext(props, 1, &cl->id, NULL, NULL, &err);
    clnet_status st = clnet_cl_check(dev, err, "clCreateContext");
    if (st != CLNET_OK) {
        cl->context = NULL;
        return st;
    }
    cl->queue = clCreateCommandQueue(cl->context, cl->id, CL_QUEUE_PROFILING_ENABLE, &err);
    st = clnet_cl_check(dev, err, "clCreateCommandQueue");
    if (st != CLNET_OK) {
        clReleaseContext(cl->context);
        cl->context = NULL;
        cl->queue = NULL;
        return st;
    }
    clnet_cl_clblast_params(dev);
    clnet_log(dev->ctx, CLNET_LOG_INFO, "opened OpenCL device %d: %s", dev->info.index,
              dev->info.name);
    return CLNET_OK;
}

static void cl_close(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    /* An adopted queue may carry the caller's work, which clnet promises
     * never to wait for; only its own queue is drained. */
    if (cl->queue && !cl->adopted)
        clFinish(cl->queue);
    /* the callbacks that free staged uploads may run just after the finish */
    while (atomic_load(&cl->uploads_in_flight) > 0)
        thrd_yield();
    clnet_cl_programs_free(dev);
    clnet_cl_scratch_free(dev);
    clnet_cl_derived_free(dev);
    clnet_cl_tuning_close(dev);
    if (cl->queue)
        clReleaseCommandQueue(cl->queue);
    if (cl->context)
        clReleaseContext(cl->context);
    cl->queue = NULL;
    cl->context = NULL;
}

static clnet_status cl_buffer_alloc(clnet_device *dev, size_t bytes, void **handle)
{
    /* clnet's kernels index buffers with int: refusing larger buffers here
     * is what lets every kernel argument and index fit (clnet_cl_targs). */
    if (bytes / sizeof(float) > (size_t)INT_MAX)
        return clnet_fail(dev->ctx, CLNET_ERR_DEVICE_MEMORY,
                          "buffer of %zu bytes requested on %s: clnet's OpenCL kernels index "
                          "at most 2^31-1 elements per buffer", bytes, dev->info.name);
    /* The core has checked the size against the device's allocation limit. */
    cl_int err;
    cl_mem mem = clCreateBuffer(clnet_cl(dev)->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "clCreateBuffer(%zu bytes)", bytes);
        return clnet_cl_check(dev, err, what);
    }
    *handle = mem;
    return CLNET_OK;
}

static void cl_buffer_free(clnet_device *dev, void *handle)
{
    if (!handle)
        return;
    clnet_cl_derived_forget(dev, handle);
    clReleaseMemObject((cl_mem)handle);
}

static clnet_status cl_buffer_write(clnet_device *dev, void *handle, size_t offset, size_t bytes,
                                    const void *src)
{
    cl_int err = clEnqueueWriteBuffer(clnet_cl(dev)->queue, (cl_mem)handle, CL_TRUE, offset,
                                      bytes, src, 0, NULL, NULL);
    return clnet_cl_check(dev, err, "clEnqueueWriteBuffer");
}

/* Frees a staged block once its write has run (or failed). */
static void CL_CALLBACK free_staged(cl_event event, cl_int status, void *user)
{
    (void)event;
    (void)status;
    void **staged = user;
    atomic_int *in_flight = staged[1];
    free(staged[0]);
    free(staged);
    atomic_fetch_sub(in_flight, 1);
}

static clnet_status cl_buffer_write_owned(clnet_device *dev, void *handle, size_t offset,
                                          size_t bytes, void *src)
{
    clnet_cl_device *cl = clnet_cl(dev);
    /* An adopted queue may outlive clnet's device, and with it the count the
     * callback updates: there the write blocks. */
    void **staged = cl->adopted ? NULL : malloc(2 * sizeof *staged);
    if (!staged) {
        clnet_status st = cl_buffer_write(dev, handle, offset, bytes, src);
        free(src);
        return st;
    }
    staged[0] = src;
    staged[1] = &cl->uploads_in_flight;
    cl_event done;
    cl_int err = clEnqueueWriteBuffer(cl->queue, (cl_mem)handle, CL_FALSE, offset, bytes, src, 0,
                                      NULL, &done);
    if (err != CL_SUCCESS) {
        free(src);
        free(staged);
        return clnet_cl_check(dev, err, "clEnqueueWriteBuffer");
    }
    atomic_fetch_add(&cl->uploads_in_flight, 1);
    if (clSetEventCallback(done, CL_COMPLETE, free_staged, staged) != CL_SUCCESS) {
        /* no callback: the block is freed once the write has run, here */
        clWaitForEvents(1, &done);
        free_staged(done, CL_COMPLETE, staged);
    }
    clReleaseEvent(done);
    return CLNET_OK;
}

static clnet_status cl_buffer_read(clnet_device *dev, void *handle, size_t offset, size_t bytes,
                                   void *dst)
{
    cl_int err = clEnqueueReadBuffer(clnet_cl(dev)->queue, (cl_mem)handle, CL_TRUE, offset,
                                     bytes, dst, 0, NULL, NULL);
    return clnet_cl_check(dev, err, "clEnqueueReadBuffer");
}

static clnet_status cl_buffer_copy_nowait(clnet_device *dev, void *handle, size_t offset,
                                          size_t bytes, void *host, bool to_device)
{
    cl_command_queue queue = clnet_cl(dev)->queue;
    cl_int err = to_device ? clEnqueueWriteBuffer(queue, (cl_mem)handle, CL_FALSE, offset, bytes,
                                                  host, 0, NULL, NULL)
                           : clEnqueueReadBuffer(queue, (cl_mem)handle, CL_FALSE, offset, bytes,
                                                 host, 0, NULL, NULL);
    return clnet_cl_check(dev, err, to_device ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer");
}

/* Which function runs each op family: one launcher file per family. */
static const clnet_run_fn cl_runners[CLNET_OP_FAMILY_COUNT] = {
    [CLNET_OP_FAMILY_CONV] = clnet_cl_run_conv,
    [CLNET_OP_FAMILY_POOL] = clnet_cl_run_pool,
    [CLNET_OP_FAMILY_ELTWISE] = clnet_cl_run_eltwise,
    [CLNET_OP_FAMILY_NORM] = clnet_cl_run_norm,
    [CLNET_OP_FAMILY_GEMM] = clnet_cl_run_gemm,
    [CLNET_OP_FAMILY_TRAIN] = clnet_cl_run_train,
    [CLNET_OP_FAMILY_OPTIM] = clnet_cl_run_optim,
};

static clnet_status cl_synchronize(clnet_device *dev)
{
    return clnet_cl_check(dev, clFinish(clnet_cl(dev)->queue), "clFinish");
}

/* Refuses a convolution forced onto an algorithm this backend lacks or
 * that cannot run it (cl_algo.c's table decides). */
static bool cl_supports(clnet_device *dev, const clnet_op *op)
{
    /* A device limited to prebuilt binaries runs GEMM and LINEAR on clnet's
     * own kernel only: CLBlast, which takes the products that kernel does
     * not (alpha other than 1, beta other than 0 and 1), compiles its kernels
     * from source in every process. */
    if (op->kind == CLNET_OP_GEMM && dev->ctx->binary_dir)
        return clnet_cl_matmul_takes_scalars(op->u.gemm.alpha, op->u.gemm.beta);
    if (op->kind != CLNET_OP_CONV)
        return true;
    return clnet_cl_conv_supported(&op->u.conv);
}

static const clnet_backend_iface cl_iface = {
    .name = "opencl",
    .open = cl_open,
    .close = cl_close,
    .buffer_alloc = cl_buffer_alloc,
    .buffer_free = cl_buffer_free,
    .buffer_write = cl_buffer_write,
    .buffer_read = cl_buffer_read,
    .buffer_write_owned = cl_buffer_write_owned,
    .buffer_copy_nowait = cl_buffer_copy_nowait,
    .runners = cl_runners,
    .supports = cl_supports,
    .synchronize = cl_synchronize,
    .trim_weight_cache = clnet_cl_derived_trim,
    .plan = clnet_cl_plan,
};

/* Fails with the raw OpenCL code in the band when there is no device yet
 * to name (the checks of clnet_opencl_adopt). */
static clnet_status adopt_check(clnet_ctx *ctx, cl_int err, const char *what)
{
    if (err == CL_SUCCESS)
        return CLNET_OK;
    clnet_status st = (clnet_status)(CLNET_ERR_OPENCL_BAND + err);
    return clnet_fail(ctx, st, "clnet_opencl_adopt: %s failed: %s", what, clnet_status_str(st));
}

/* Reads the device and platform behind an adopted queue after checking that
 * the queue belongs to `context` and runs in order, as clnet requires. */
static clnet_status adopt_query(clnet_ctx *ctx, cl_context context, cl_command_queue queue,
                                cl_device_id *id, cl_platform_id *platform)
{
    cl_context owner = NULL;
    clnet_status st = adopt_check(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT,
                                  sizeof owner, &owner, NULL), "clGetCommandQueueInfo(CONTEXT)");
    if (st != CLNET_OK)
        return st;
    if (owner != context)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_adopt: the queue belongs to another OpenCL context");
    cl_command_queue_properties props = 0;
    st = adopt_check(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props,
                     &props, NULL), "clGetCommandQueueInfo(PROPERTIES)");
    if (st != CLNET_OK)
        return st;
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_adopt: the queue is out-of-order; clnet needs an "
                          "in-order queue");
    st = adopt_check(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof *id, id, NULL),
                     "clGetCommandQueueInfo(DEVICE)");
    if (st != CLNET_OK)
        return st;
    return adopt_check(ctx, clGetDeviceInfo(*id, CL_DEVICE_PLATFORM, sizeof *platform, platform,
                                            NULL), "clGetDeviceInfo(PLATFORM)");
}

clnet_status clnet_opencl_adopt(clnet_ctx *ctx, cl_context context, cl_command_queue queue,
                                clnet_device **out)
{
    clnet_error_clear(ctx);
    if (!ctx || !context || !queue || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_opencl_adopt: NULL argument");
    *out = NULL;
    cl_device_id id;
    cl_platform_id platform;
    clnet_status st = adopt_query(ctx, context, queue, &id, &platform);
    if (st != CLNET_OK)
        return st;
    clnet_device *dev = device_new(platform, id);
    if (!dev)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_opencl_adopt: out of host memory");
    clnet_cl_device *cl = clnet_cl(dev);
    cl->context = context;
    cl->queue = queue;
    cl->adopted = true;
    dev->info.adopted = true;
    /* Already open: the caller's context and queue are the runtime state. */
    dev->opened = true;
    st = clnet_ctx_add_device(ctx, dev);
    if (st != CLNET_OK) {
        free(cl);
        free(dev);
        return st;
    }
    clRetainContext(context);
    clRetainCommandQueue(queue);
    clnet_cl_clblast_params(dev);
    clnet_log(ctx, CLNET_LOG_INFO, "adopted OpenCL device %d: %s", dev->info.index,
              dev->info.name);
    *out = dev;
    return CLNET_OK;
}

cl_command_queue clnet_opencl_queue(const clnet_device *dev)
{
    if (!is_opencl(dev) || !dev->opened)
        return NULL;
    return clnet_cl(dev)->queue;
}

clnet_status clnet_opencl_buffer(const clnet_tensor *t, cl_mem *buffer, size_t *offset_bytes)
{
    clnet_error_clear(t ? t->storage->dev->ctx : NULL);
    if (!t || !buffer || !offset_bytes)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_device *dev = t->storage->dev;
    if (!is_opencl(dev))
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_buffer: the tensor lives on %s, not an OpenCL device",
                          dev ? dev->info.name : "no device");
    /* the caller may write the buffer now, unseen: derive nothing from it */
    t->storage->external = true;
    *buffer = (cl_mem)t->storage->handle;
    *offset_bytes = (size_t)t->offset * clnet_dtype_size(t->dtype);
    return CLNET_OK;
}

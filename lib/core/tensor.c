/* tensor.c - tensor handles, shared storage, views, and host copies. */
#include "core/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t clnet_dtype_size(clnet_dtype dtype)
{
    (void)dtype; /* both dtypes are 4 bytes wide */
    return 4;
}

static void dense_strides(clnet_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
}

static clnet_status check_shape(clnet_ctx *ctx, const char *what, int ndim, const int64_t *shape)
{
    if (ndim < 1 || ndim > CLNET_MAX_DIMS)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "%s: rank %d outside 1..%d", what, ndim, CLNET_MAX_DIMS);
    if (!shape)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: NULL shape", what);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 40))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "%s: dimension %d is %lld (must be >= 1)", what, i,
                              (long long)shape[i]);
    return CLNET_OK;
}

/* The id of the next storage: unique for the process's lifetime, never 0. */
static atomic_uint_least64_t next_storage_id = 1;

clnet_status clnet_tensor_new(clnet_device *dev, clnet_dtype dtype, int ndim,
                              const int64_t *shape, clnet_tensor **out)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev || !out)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_tensor_new: NULL argument");
    *out = NULL;
    clnet_ctx *ctx = dev->ctx;
    if (dtype != CLNET_F32 && dtype != CLNET_I32)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_tensor_new: unknown dtype %d",
                          (int)dtype);
    clnet_status st = check_shape(ctx, "clnet_tensor_new", ndim, shape);
    if (st != CLNET_OK)
        return st;
    size_t bytes = clnet_dtype_size(dtype);
    bool overflow = false;
    for (int i = 0; i < ndim; i++)
        overflow = overflow || __builtin_mul_overflow(bytes, (size_t)shape[i], &bytes);
    if (overflow)
        return clnet_fail(ctx, CLNET_ERR_DEVICE_MEMORY,
                          "clnet_tensor_new: the shape needs more than 2^64 bytes");
    /* A limit of 0 is a driver that did not report one: let it decide. */
    uint64_t limit = dev->info.max_alloc_bytes;
    if (limit && bytes > limit)
        return clnet_fail(ctx, CLNET_ERR_DEVICE_MEMORY,
                          "clnet_tensor_new: %zu bytes requested on device %d (%s), which allows "
                          "%llu bytes per allocation", bytes, dev->info.index, dev->info.name,
                          (unsigned long long)limit);
    clnet_tensor *t = calloc(1, sizeof *t);
    clnet_storage *s = calloc(1, sizeof *s);
    if (!t || !s) {
        free(t);
        free(s);
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_tensor_new: out of host memory");
    }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    dense_strides(t);
    s->dev = dev;
    s->refs = 1;
    s->bytes = bytes;
    s->id = atomic_fetch_add(&next_storage_id, 1);
    st = dev->iface->buffer_alloc(dev, s->bytes, &s->handle);
    if (st != CLNET_OK) {
        free(t);
        free(s);
        return st;
    }
    t->storage = s;
    *out = t;
    return CLNET_OK;
}

clnet_status clnet_tensor_over_handle(clnet_device *dev, void *handle, size_t bytes,
                                      int64_t offset, clnet_dtype dtype, int ndim,
                                      const int64_t *shape, clnet_tensor **out)
{
    clnet_ctx *ctx = dev->ctx;
    if (dtype != CLNET_F32 && dtype != CLNET_I32)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "wrapping a buffer: unknown dtype %d",
                          (int)dtype);
    clnet_status st = check_shape(ctx, "wrapping a buffer", ndim, shape);
    if (st != CLNET_OK)
        return st;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i];   /* at most 2^40 per dimension: checked above, and the buffer
                                bounds it below */
    size_t elem = clnet_dtype_size(dtype);
    if (offset < 0 || numel > (int64_t)(bytes / elem) ||
        offset > (int64_t)(bytes / elem) - numel)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "wrapping a buffer: %lld elements "
                          "of %zu bytes from element %lld do not fit in its %zu bytes",
                          (long long)numel, elem, (long long)offset, bytes);
    clnet_tensor *t = calloc(1, sizeof *t);
    clnet_storage *s = calloc(1, sizeof *s);
    if (!t || !s) {
        free(t);
        free(s);
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "wrapping a buffer: out of host memory");
    }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    dense_strides(t);
    t->offset = offset;
    s->dev = dev;
    s->refs = 1;
    s->bytes = bytes;
    s->handle = handle;
    s->id = atomic_fetch_add(&next_storage_id, 1);
    s->external = true;
    t->storage = s;
    *out = t;
    return CLNET_OK;
}

static clnet_tensor *new_view(const clnet_tensor *base)
{
    clnet_tensor *v = malloc(sizeof *v);
    if (!v)
        return NULL;
    *v = *base;
    v->storage->refs++;
    return v;
}

clnet_status clnet_tensor_slice(const clnet_tensor *base, int axis, int64_t start,
                                int64_t length, clnet_tensor **out)
{
    clnet_error_clear(base ? base->storage->dev->ctx : NULL);
    clnet_ctx *ctx = base ? base->storage->dev->ctx : NULL;
    if (!base || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_tensor_slice: NULL argument");
    *out = NULL;
    if (axis != 0 && !(axis == 1 && base->ndim >= 2))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_tensor_slice: axis %d (only 0, batch, and 1, channels, "
                          "keep images dense)", axis);
    if (start < 0 || length < 1 || start + length > base->shape[axis])
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_tensor_slice: range [%lld, %lld) outside axis %d of size %lld",
                          (long long)start, (long long)(start + length), axis,
                          (long long)base->shape[axis]);
    clnet_tensor *v = new_view(base);
    if (!v)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_tensor_slice: out of host memory");
    v->offset += start * base->stride[axis];
    v->shape[axis] = length;
    *out = v;
    return CLNET_OK;
}

bool clnet_tensor_is_dense(const clnet_tensor *t)
{
    return t->ndim == 1 || t->stride[0] == clnet_tensor_image_numel(t);
}

clnet_status clnet_tensor_reshape(const clnet_tensor *t, int ndim, const int64_t *shape,
                                  clnet_tensor **out)
{
    clnet_error_clear(t ? t->storage->dev->ctx : NULL);
    clnet_ctx *ctx = t ? t->storage->dev->ctx : NULL;
    if (!t || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_tensor_reshape: NULL argument");
    *out = NULL;
    clnet_status st = check_shape(ctx, "clnet_tensor_reshape", ndim, shape);
    if (st != CLNET_OK)
        return st;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    if (n != clnet_tensor_numel(t))
        return clnet_fail(ctx, CLNET_ERR_SHAPE,
                          "clnet_tensor_reshape: %lld elements cannot become %lld",
                          (long long)clnet_tensor_numel(t), (long long)n);
    if (!clnet_tensor_is_dense(t))
        return clnet_fail(ctx, CLNET_ERR_LAYOUT,
                          "clnet_tensor_reshape: a channel slice is not dense; copy it first");
    clnet_tensor *v = new_view(t);
    if (!v)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_tensor_reshape: out of host memory");
    v->ndim = ndim;
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    dense_strides(v);
    *out = v;
    return CLNET_OK;
}

void clnet_tensor_free(clnet_tensor *t)
{
    if (!t)
        return;
    clnet_storage *s = t->storage;
    if (--s->refs == 0) {
        s->dev->iface->buffer_free(s->dev, s->handle);
        free(s);
    }
    free(t);
}

int64_t clnet_tensor_image_numel(const clnet_tensor *t)
{
    int64_t n = 1;
    for (int i = 1; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

/* Copies between host memory and the tensor image by image: a slice's images
 * are dense but separated by its batch stride. The time the caller is held
 * (the transfers block until the queue before them has run) is counted. */
static clnet_status copy_images(const clnet_tensor *t, void *host, size_t bytes, bool to_device)
{
    clnet_device *dev = t->storage->dev;
    size_t esize = clnet_dtype_size(t->dtype);
    size_t want = (size_t)clnet_tensor_numel(t) * esize;
    if (!host || bytes != want)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "tensor %s: %zu bytes given, the tensor holds %zu",
                          to_device ? "write" : "read", bytes, want);
    int64_t images = clnet_tensor_is_dense(t) ? 1 : t->shape[0];
    size_t chunk = want / (size_t)images;
    if (to_device)
        clnet_storage_touch(t->storage);
    double start = clnet_now_ms();
    clnet_status st = CLNET_OK;
    for (int64_t n = 0; n < images && st == CLNET_OK; n++) {
        size_t off = (size_t)(t->offset + n * t->stride[0]) * esize;
        char *h = (char *)host + (size_t)n * chunk;
        st = to_device ? dev->iface->buffer_write(dev, t->storage->handle, off, chunk, h)
                       : dev->iface->buffer_read(dev, t->storage->handle, off, chunk, h);
    }
    dev->blocked_ms += clnet_now_ms() - start;
    return st;
}

clnet_status clnet_tensor_write(clnet_tensor *t, const void *src, size_t bytes)
{
    clnet_error_clear(t ? t->storage->dev->ctx : NULL);
    if (!t)
        return CLNET_ERR_INVALID_ARGUMENT;
    return copy_images(t, (void *)src, bytes, true);
}

clnet_status clnet_tensor_write_queued(clnet_tensor *t, const void *src, size_t bytes)
{
    if (!t)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_device *dev = t->storage->dev;
    size_t esize = clnet_dtype_size(t->dtype);
    if (!dev->iface->buffer_write_owned || !clnet_tensor_is_dense(t) || !src ||
        bytes != (size_t)clnet_tensor_numel(t) * esize)
        return copy_images(t, (void *)src, bytes, true);
    void *block = malloc(bytes);
    if (!block)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "tensor write: cannot stage %zu "
                          "bytes", bytes);
    memcpy(block, src, bytes);
    clnet_storage_touch(t->storage);
    return dev->iface->buffer_write_owned(dev, t->storage->handle, (size_t)t->offset * esize,
                                          bytes, block);
}

/* clnet_tensor_read_nowait and clnet_tensor_write_nowait. */
static clnet_status copy_nowait(const clnet_tensor *t, void *host, size_t bytes, bool to_device)
{
    if (!t)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_device *dev = t->storage->dev;
    size_t esize = clnet_dtype_size(t->dtype);
    if (!dev->iface->buffer_copy_nowait || !clnet_tensor_is_dense(t) || !host ||
        bytes != (size_t)clnet_tensor_numel(t) * esize)
        return copy_images(t, host, bytes, to_device);
    if (to_device)
        clnet_storage_touch(t->storage);
    return dev->iface->buffer_copy_nowait(dev, t->storage->handle, (size_t)t->offset * esize,
                                          bytes, host, to_device);
}

clnet_status clnet_tensor_read_nowait(const clnet_tensor *t, void *dst, size_t bytes)
{
    return copy_nowait(t, dst, bytes, false);
}

clnet_status clnet_tensor_write_nowait(clnet_tensor *t, const void *src, size_t bytes)
{
    /* the backend only reads `src` when to_device */
    return copy_nowait(t, (void *)src, bytes, true);
}

clnet_status clnet_tensor_read(const clnet_tensor *t, void *dst, size_t bytes)
{
    clnet_error_clear(t ? t->storage->dev->ctx : NULL);
    if (!t)
        return CLNET_ERR_INVALID_ARGUMENT;
    return copy_images(t, dst, bytes, false);
}

/* Elements staged per write by clnet_tensor_fill. Bounded, so that zeroing
 * a large tensor does not first fault in a host copy of all of it: page
 * faults of such copies were a large part of binding a net at start-up. */
#define FILL_STAGE_ELEMS ((size_t)1 << 16)

clnet_status clnet_tensor_fill(clnet_tensor *t, float value)
{
    clnet_error_clear(t ? t->storage->dev->ctx : NULL);
    if (!t)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_device *dev = t->storage->dev;
    size_t esize = clnet_dtype_size(t->dtype);
    bool dense = clnet_tensor_is_dense(t);
    int64_t images = dense ? 1 : t->shape[0];
    /* elements in each contiguous run: the whole tensor, or one image of a slice */
    size_t run = (size_t)(dense ? clnet_tensor_numel(t) : clnet_tensor_image_numel(t));
    size_t stage = run < FILL_STAGE_ELEMS ? run : FILL_STAGE_ELEMS;
    uint32_t *host = malloc(stage * sizeof *host);
    if (!host)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY,
                          "clnet_tensor_fill: cannot stage %zu bytes", stage * sizeof *host);
    uint32_t bits;
    if (t->dtype == CLNET_I32) {
        int32_t i = (int32_t)value;
        memcpy(&bits, &i, sizeof bits);
    } else {
        memcpy(&bits, &value, sizeof bits);
    }
    for (size_t i = 0; i < stage; i++)
        host[i] = bits;
    clnet_status st = CLNET_OK;
    clnet_storage_touch(t->storage);
    double start = clnet_now_ms();
    for (int64_t n = 0; n < images && st == CLNET_OK; n++) {
        size_t base = (size_t)(t->offset + n * t->stride[0]) * esize;
        for (size_t done = 0; done < run && st == CLNET_OK; done += stage) {
            size_t count = run - done < stage ? run - done : stage;
            st = dev->iface->buffer_write(dev, t->storage->handle, base + done * esize,
                                          count * esize, host);
        }
    }
    dev->blocked_ms += clnet_now_ms() - start;
    free(host);
    return st;
}

int clnet_tensor_ndim(const clnet_tensor *t) { return t->ndim; }

int64_t clnet_tensor_dim(const clnet_tensor *t, int axis)
{
    return axis >= 0 && axis < t->ndim ? t->shape[axis] : 0;
}

clnet_shape clnet_tensor_shape(const clnet_tensor *t)
{
    clnet_shape s = {.ndim = t->ndim};
    memcpy(s.dim, t->shape, sizeof s.dim);
    return s;
}

int64_t clnet_tensor_numel(const clnet_tensor *t)
{
    return t->shape[0] * clnet_tensor_image_numel(t);
}

size_t clnet_tensor_stride_bytes(const clnet_tensor *t, int axis)
{
    if (axis < 0 || axis >= t->ndim)
        return 0;
    return (size_t)t->stride[axis] * clnet_dtype_size(t->dtype);
}

clnet_dtype clnet_tensor_dtype(const clnet_tensor *t) { return t->dtype; }

clnet_device *clnet_tensor_device(const clnet_tensor *t) { return t->storage->dev; }

void clnet_shape_format(char *buf, size_t size, const clnet_shape *s)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? "x%lld" : "%lld",
                                 (long long)s->dim[i]);
}

int64_t clnet_shape_numel(const clnet_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->dim[i];
    return n;
}

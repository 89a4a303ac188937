/* clnet/tensor.h - tensors: shape, strides, views, device storage, host copies. */
#ifndef CLNET_TENSOR_H
#define CLNET_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "clnet/context.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLNET_MAX_DIMS 4

typedef enum clnet_dtype {
    CLNET_F32 = 0,   /* float32: every activation, weight and gradient */
    CLNET_I32 = 1    /* int32: max-pooling argmax indices */
} clnet_dtype;

/* A shape without storage, for shape inference. Layout is NCHW for images,
 * NCW for 1-D signals, NC for vectors. */
typedef struct clnet_shape {
    int ndim;                        /* 1..CLNET_MAX_DIMS */
    int64_t dim[CLNET_MAX_DIMS];
} clnet_shape;

typedef struct clnet_tensor clnet_tensor;

/* Allocates a dense tensor on `dev` with uninitialised contents. Storage is
 * a device buffer (host memory for `ref`); the caller owns *out and releases
 * it with clnet_tensor_free. Errors: CLNET_ERR_INVALID_ARGUMENT (ndim outside
 * 1..CLNET_MAX_DIMS, a dimension < 1), CLNET_ERR_DEVICE_MEMORY (larger than
 * the device's single-allocation limit; the message gives bytes requested and
 * allowed), an OpenCL-band status if the driver refuses. */
clnet_status clnet_tensor_new(clnet_device *dev, clnet_dtype dtype, int ndim,
                              const int64_t *shape, clnet_tensor **out);

/* Makes a view of `length` entries of axis 0 (batch) or axis 1 (channels)
 * starting at `start`, sharing storage with `base`. Channel slices are how the
 * branches of an Inception block or DenseNet write straight into a
 * concatenated output. The view keeps the storage alive: base and view may be
 * freed in any order. Errors: CLNET_ERR_INVALID_ARGUMENT (axis not 0 or 1,
 * range outside the axis). */
clnet_status clnet_tensor_slice(const clnet_tensor *base, int axis, int64_t start,
                                int64_t length, clnet_tensor **out);

/* Makes a view of a dense tensor with another shape of the same element count
 * (flatten is a reshape to 2 dims). Errors: CLNET_ERR_SHAPE (element counts
 * differ), CLNET_ERR_LAYOUT (`t` is a strided channel slice). */
clnet_status clnet_tensor_reshape(const clnet_tensor *t, int ndim, const int64_t *shape,
                                  clnet_tensor **out);

/* Releases a tensor handle; storage goes when its last view goes. NULL is
 * ignored. */
void clnet_tensor_free(clnet_tensor *t);

/* Copies `bytes` bytes of dense host data (row-major in the tensor's shape)
 * into the tensor. `bytes` must equal numel * element size. Blocks until the
 * host memory may be reused. Errors: CLNET_ERR_INVALID_ARGUMENT (bytes
 * mismatch, NULL), an OpenCL-band status. */
clnet_status clnet_tensor_write(clnet_tensor *t, const void *src, size_t bytes);

/* Copies the tensor into dense host memory; waits for queued work that
 * produces it. Same rules and errors as clnet_tensor_write. */
clnet_status clnet_tensor_read(const clnet_tensor *t, void *dst, size_t bytes);

/* Sets every element to `value` (converted to the tensor's dtype). */
clnet_status clnet_tensor_fill(clnet_tensor *t, float value);

/* Accessors; all take a valid tensor. clnet_tensor_stride_bytes gives the
 * distance in bytes between consecutive entries of `axis`. */
int clnet_tensor_ndim(const clnet_tensor *t);
int64_t clnet_tensor_dim(const clnet_tensor *t, int axis);
clnet_shape clnet_tensor_shape(const clnet_tensor *t);
int64_t clnet_tensor_numel(const clnet_tensor *t);
size_t clnet_tensor_stride_bytes(const clnet_tensor *t, int axis);
clnet_dtype clnet_tensor_dtype(const clnet_tensor *t);
clnet_device *clnet_tensor_device(const clnet_tensor *t);

/* Number of elements of a shape (product of its dimensions). */
int64_t clnet_shape_numel(const clnet_shape *s);

#ifdef __cplusplus
}
#endif
#endif

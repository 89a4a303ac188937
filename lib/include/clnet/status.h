/* clnet/status.h - status codes returned by every fallible clnet call. */
#ifndef CLNET_STATUS_H
#define CLNET_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible call returns a clnet_status: 0 on success, negative on error.
 * OpenCL and CLBlast errors are not squashed into a generic code: they are
 * returned inside a band, CLNET_ERR_OPENCL_BAND + (raw OpenCL code) and
 * CLNET_ERR_CLBLAST_BAND + (raw CLBlast code), so the raw value is always
 * recoverable with clnet_status_opencl_code() / clnet_status_clblast_code(). */
typedef enum clnet_status {
    CLNET_OK = 0,                      /* success */
    CLNET_ERR_INVALID_ARGUMENT = -1,   /* NULL pointer, bad count, unknown op kind or dtype */
    CLNET_ERR_INVALID_PARAMS = -2,     /* op parameters out of range or unknown (stride 0,
                                          groups 0, an unknown activation, ...) */
    CLNET_ERR_SHAPE = -3,              /* tensor shapes do not fit the op or each other */
    CLNET_ERR_DTYPE = -4,              /* a tensor has the wrong element type */
    CLNET_ERR_LAYOUT = -5,             /* a tensor view has a layout the op cannot take */
    CLNET_ERR_DEVICE_MISMATCH = -6,    /* tensors of one call live on different devices */
    CLNET_ERR_UNSUPPORTED = -7,        /* the device does not implement this op or mode */
    CLNET_ERR_NO_DEVICE = -8,          /* no device matches the request */
    CLNET_ERR_HOST_MEMORY = -9,        /* host allocation failed */
    CLNET_ERR_DEVICE_MEMORY = -10,     /* device allocation larger than the device allows */
    CLNET_ERR_BUILD = -11,             /* an OpenCL program failed to build (log in last error) */
    CLNET_ERR_NO_BINARY = -12,         /* binaries-only mode and no binary for this program */
    CLNET_ERR_IO = -13,                /* a file could not be opened, read or written */
    CLNET_ERR_FORMAT = -14,            /* a file is malformed, truncated or of the wrong kind */
    CLNET_ERR_INTERNAL = -15,          /* an internal invariant failed: a clnet bug */
    CLNET_ERR_OPENCL_BAND = -100000,   /* + raw OpenCL error code (cl_int, negative) */
    CLNET_ERR_CLBLAST_BAND = -200000   /* + raw CLBlast status code (negative) */
} clnet_status;

/* Returns static, never-NULL English text for a status code, e.g.
 * "tensor shapes do not fit the op". Codes inside the OpenCL band return the
 * symbolic OpenCL name ("CL_OUT_OF_RESOURCES"); unknown codes return
 * "unknown clnet status". The pointer stays valid for the program's life and
 * is safe to use from any thread. */
const char *clnet_status_str(clnet_status status);

/* Returns the raw OpenCL error code carried by a status in the OpenCL band,
 * or 0 when the status is not an OpenCL error. Thread-safe, no side effects. */
int clnet_status_opencl_code(clnet_status status);

/* Returns the raw CLBlast status code carried by a status in the CLBlast
 * band, or 0 when the status is not a CLBlast error. Thread-safe. */
int clnet_status_clblast_code(clnet_status status);

#ifdef __cplusplus
}
#endif
#endif

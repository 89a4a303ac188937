/* clnet/status.h - status codes returned by every fallible clnet call. */
#ifndef CLNET_STATUS_H
#define CLNET_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible call returns a clnet_status: 0 on success, negative on error.
 * Three bands, none overlapping another or OpenCL's own numbers:
 *   -1001 .. -1999       clnet's own errors (the named codes below);
 *   CLNET_ERR_OPENCL_BAND + (raw OpenCL code, -1 .. -99999);
 *   CLNET_ERR_CLBLAST_BAND + (raw CLBlast code, -1 .. -99999).
 * OpenCL and CLBlast errors are thus not squashed into a generic code: the raw
 * value is always recoverable with clnet_status_opencl_code() /
 * clnet_status_clblast_code(), and a bare OpenCL number (CL_OUT_OF_RESOURCES
 * is -5) is never mistaken for a clnet code. */
typedef enum clnet_status {
    CLNET_OK = 0,                       /* success */
    CLNET_ERR_INVALID_ARGUMENT = -1001, /* NULL pointer, bad count, unknown op kind or dtype */
    CLNET_ERR_INVALID_PARAMS = -1002,   /* op parameters out of range or unknown (stride 0,
                                           groups 0, an unknown activation, ...) */
    CLNET_ERR_SHAPE = -1003,            /* tensor shapes do not fit the op or each other */
    CLNET_ERR_DTYPE = -1004,            /* a tensor has the wrong element type */
    CLNET_ERR_LAYOUT = -1005,           /* a tensor view has a layout the op cannot take */
    CLNET_ERR_DEVICE_MISMATCH = -1006,  /* tensors of one call live on different devices */
    CLNET_ERR_UNSUPPORTED = -1007,      /* the device does not implement this op or mode, or a
                                           file asks for what clnet cannot represent (an
                                           ONNX operator, attribute value or data type) */
    CLNET_ERR_NO_DEVICE = -1008,        /* no device matches the request */
    CLNET_ERR_HOST_MEMORY = -1009,      /* host allocation failed */
    CLNET_ERR_DEVICE_MEMORY = -1010,    /* device allocation larger than the device allows */
    CLNET_ERR_BUILD = -1011,            /* an OpenCL program failed to build (log in last error) */
    CLNET_ERR_NO_BINARY = -1012,        /* binaries-only mode and no binary for this program */
    CLNET_ERR_IO = -1013,               /* a file could not be opened, read or written */
    CLNET_ERR_FORMAT = -1014,           /* a file is malformed, truncated or of the wrong kind */
    CLNET_ERR_INTERNAL = -1015,         /* an internal invariant failed: a clnet bug */
    CLNET_ERR_OPENCL_BAND = -100000,    /* + raw OpenCL error code (cl_int, negative) */
    CLNET_ERR_CLBLAST_BAND = -200000    /* + raw CLBlast status code (negative) */
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

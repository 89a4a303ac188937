/* registry.c - which backends fill a new context's device registry: every
 * OpenCL device, then `ref`. The one file that knows every backend, so it
 * sits above lib/opencl and lib/ref and the core below them knows none. */
#include "opencl/clcl.h"
#include "ref/ref.h"

clnet_status clnet_ctx_new(clnet_ctx **out)
{
    if (!out)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_ctx *ctx = NULL;
    TRY(clnet_ctx_create(&ctx));
    clnet_status st = clnet_opencl_register(ctx);
    if (st == CLNET_OK)
        st = clnet_ref_register(ctx);
    if (st != CLNET_OK) {
        clnet_ctx_free(ctx);
        return st;
    }
    *out = ctx;
    return CLNET_OK;
}

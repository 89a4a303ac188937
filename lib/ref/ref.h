/* ref.h - the reference backend's op families: plain scalar C on host
 * memory, written for obviousness, the oracle every OpenCL kernel is tested
 * against. Each run function receives an op already validated by the core. */
#ifndef CLNET_REF_H
#define CLNET_REF_H

#include "core/geometry.h"

/* Host pointer to the first element of a ref tensor (storage + offset). */
static inline float *clnet_ref_f32(const clnet_tensor *t)
{
    return (float *)t->storage->handle + t->offset;
}
static inline int32_t *clnet_ref_i32(const clnet_tensor *t)
{
    return (int32_t *)t->storage->handle + t->offset;
}

/* Adds the reference device to the registry (clnet_ctx_new). Errors:
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_ref_register(clnet_ctx *ctx);

/* f(x) of an activation, computed in double (ref_eltwise.c): ACTIVATION's
 * and the one a CONV fuses. */
float clnet_ref_activate(const clnet_act_params *p, float x);

/* f'(x) of an activation in double (ref_eltwise.c), PyTorch's slope at the
 * kinks, NaN for a NaN x: ACTIVATION_BACKWARD's and the fused ones'. */
double clnet_ref_act_slope(const clnet_act_params *p, double v);

clnet_status clnet_ref_run_conv(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_ref_run_pool(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_ref_run_eltwise(clnet_device *dev, const clnet_op *op, int nin,
                                   clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_ref_run_norm(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_ref_run_gemm(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out);
clnet_status clnet_ref_run_train(clnet_device *dev, const clnet_op *op, int nin,
                                 clnet_tensor *const *in, int nout, clnet_tensor *const *out);

#endif

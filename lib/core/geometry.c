/* geometry.c - derives convolution and pooling index geometry from ops. */
#include "core/geometry.h"

int64_t clnet_spatial_numel(const clnet_tensor *t)
{
    int64_t n = 1;
    for (int i = 2; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

clnet_conv_geom clnet_conv_geom_of_shapes(const clnet_op *op, const clnet_shape *x,
                                          const clnet_shape *w, const clnet_shape *y)
{
    const clnet_conv_params *p = &op->u.conv;
    clnet_conv_geom g;
    g.n = x->dim[0];
    g.c = x->dim[1];
    g.h = clnet_geom_shape_h(x);
    g.w = clnet_geom_shape_w(x);
    g.k = y->dim[1];
    g.oh = clnet_geom_shape_h(y);
    g.ow = clnet_geom_shape_w(y);
    g.kh = clnet_geom_shape_h(w);
    g.kw = clnet_geom_shape_w(w);
    g.stride_h = p->stride[0];
    g.stride_w = p->stride[1];
    g.pad_h = p->pad_begin[0];
    g.pad_w = p->pad_begin[1];
    g.dil_h = p->dilation[0];
    g.dil_w = p->dilation[1];
    if (x->ndim == 3) {
        g.stride_h = g.dil_h = 1;
        g.pad_h = 0;
    }
    g.groups = p->groups;
    g.c_per_group = g.c / g.groups;
    g.k_per_group = g.k / g.groups;
    return g;
}

clnet_conv_geom clnet_conv_geom_of(const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *w, const clnet_tensor *y)
{
    const clnet_shape xs = clnet_tensor_shape(x), ws = clnet_tensor_shape(w),
                      ys = clnet_tensor_shape(y);
    return clnet_conv_geom_of_shapes(op, &xs, &ws, &ys);
}

clnet_pool_geom clnet_pool_geom_of(const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *y)
{
    const clnet_pool_params *p = &op->u.pool;
    clnet_pool_geom g;
    g.n = x->shape[0];
    g.c = x->shape[1];
    g.h = clnet_geom_h(x);
    g.w = clnet_geom_w(x);
    g.oh = clnet_geom_h(y);
    g.ow = clnet_geom_w(y);
    g.mode = p->mode;
    g.count_include_pad = p->count_include_pad;
    g.adaptive = p->adaptive;
    if (p->global || p->adaptive) {
        g.kh = g.h;
        g.kw = g.w;
        g.stride_h = g.stride_w = 1;
        g.pad_h = g.pad_w = 0;
        g.end_h = g.h;
        g.end_w = g.w;
        return g;
    }
    bool one_d = x->ndim == 3;
    g.kh = one_d ? 1 : p->kernel[0];
    g.kw = p->kernel[1];
    g.stride_h = one_d ? 1 : p->stride[0];
    g.stride_w = p->stride[1];
    g.pad_h = one_d ? 0 : p->pad_begin[0];
    g.pad_w = p->pad_begin[1];
    g.end_h = g.h + (one_d ? 0 : p->pad_end[0]);
    g.end_w = g.w + p->pad_end[1];
    return g;
}
